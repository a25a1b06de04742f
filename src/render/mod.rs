//! The template environment: minijinja with wego's layered loader and YAML-safe filters.

mod filters;

use std::sync::{Arc, Mutex};

use minijinja::{Environment, UndefinedBehavior, Value};

use crate::layers::{Kind, Layers};

/// A template failure with enough to point at the offending expression (the script API shows
/// it as an error whose frame is the template line).
#[derive(Debug, Clone)]
pub struct TemplateError {
    pub message: String,
    pub file: String,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub source_line: Option<String>,
    pub help: Option<String>,
}

/// Renders templates resolved through the same layers as scripts.
pub struct Renderer {
    env: Mutex<Environment<'static>>,
    layers: Arc<Layers>,
    /// The longest text a render may produce or take inline (`limits.maxStringSize`).
    max_size: usize,
}

impl Renderer {
    pub fn new(layers: Arc<Layers>) -> Self {
        Self::with_limits(layers, &crate::config::Limits::default())
    }

    /// Templates are data, not code: they reach no file or network (the loader only serves
    /// layer files, which stay inside their layer), and they run under the same limits as
    /// scripts — fuel from `limits.maxOperations`, sizes from `limits.maxStringSize`.
    pub fn with_limits(layers: Arc<Layers>, limits: &crate::config::Limits) -> Self {
        let limits = limits.clamped();
        let mut env = Environment::new();
        env.set_fuel(Some(limits.max_operations));
        env.set_undefined_behavior(UndefinedBehavior::Strict);
        env.set_debug(true);
        // YAML is whitespace-sensitive: keep the template's own trailing newline.
        env.set_syntax(
            minijinja::syntax::SyntaxConfig::builder().keep_trailing_newline(true).build().expect("default syntax"),
        );
        let l = layers.clone();
        env.set_loader(move |name| {
            l.resolve(Kind::Template, name)
                .map(|r| r.map(|r| r.text))
                .map_err(|e| minijinja::Error::new(minijinja::ErrorKind::InvalidOperation, e.to_string()))
        });
        filters::register(&mut env);
        Renderer { env: Mutex::new(env), layers, max_size: limits.max_string_size }
    }

    fn too_large(&self, file: &str, what: &str) -> TemplateError {
        TemplateError {
            message: format!("the {what} is larger than {} bytes", self.max_size),
            file: file.to_string(),
            line: None,
            column: None,
            source_line: None,
            help: Some("if this is legitimate, raise `limits.maxStringSize` in your wego config".into()),
        }
    }

    /// Forget loaded templates, e.g. after the repo layer changed.
    pub fn reload(&self) {
        self.env.lock().expect("template env").clear_templates();
    }

    /// Render the template `name` with `ctx`.
    pub fn render(&self, name: &str, ctx: Value) -> Result<String, TemplateError> {
        let env = self.env.lock().expect("template env");
        let result = env.get_template(name).and_then(|t| t.render(ctx));
        let out = result.map_err(|e| self.describe(e, name, None))?;
        if out.len() > self.max_size {
            return Err(self.too_large(name, "output"));
        }
        Ok(out)
    }

    /// Render a template given as text; `label` names it in errors.
    pub fn render_str(&self, label: &str, source: &str, ctx: Value) -> Result<String, TemplateError> {
        if source.len() > self.max_size {
            return Err(self.too_large(label, "template"));
        }
        let env = self.env.lock().expect("template env");
        let result = env.template_from_named_str(label, source).and_then(|t| t.render(ctx));
        let out = result.map_err(|e| self.describe(e, label, Some(source)))?;
        if out.len() > self.max_size {
            return Err(self.too_large(label, "output"));
        }
        Ok(out)
    }

    fn describe(&self, e: minijinja::Error, name: &str, inline: Option<&str>) -> TemplateError {
        let file_name = e.name().unwrap_or(name).to_string();
        let resolved = if inline.is_some() && file_name == name {
            None
        } else {
            self.layers.resolve(Kind::Template, &file_name).ok().flatten()
        };
        let text = e
            .template_source()
            .map(str::to_string)
            .or_else(|| resolved.as_ref().map(|r| r.text.clone()))
            .or_else(|| inline.map(str::to_string));
        let file = resolved.map(|r| r.display).unwrap_or(file_name.clone());
        let (line, column) = match (e.range(), &text) {
            (Some(r), Some(t)) if r.start <= t.len() => {
                let before = &t[..r.start];
                let line = before.matches('\n').count() + 1;
                let col = before.rsplit('\n').next().map(|s| s.chars().count() + 1).unwrap_or(1);
                (Some(line), Some(col))
            }
            _ => (e.line(), None),
        };
        let source_line = match (line, &text) {
            (Some(l), Some(t)) => t.lines().nth(l - 1).map(str::to_string),
            _ => None,
        };
        let kind = e.kind();
        let mut message = match e.detail() {
            Some(d) => format!("{kind}: {d}"),
            None => kind.to_string(),
        };
        let help = match kind {
            minijinja::ErrorKind::UndefinedError => {
                Some("every variable must be passed in the context; use `x | default(...)` for optional ones".into())
            }
            minijinja::ErrorKind::TemplateNotFound => {
                message = format!("template `{file_name}` not found");
                Some("`wego templates list` shows the templates and where each comes from".into())
            }
            minijinja::ErrorKind::SyntaxError => Some("fix the template syntax at the marked position".into()),
            minijinja::ErrorKind::OutOfFuel => {
                message = "the template did too much work (out of fuel)".into();
                Some("if this is legitimate, raise `limits.maxOperations` in your wego config".into())
            }
            _ => None,
        };
        TemplateError { message, file, line, column, source_line, help }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r() -> Renderer {
        Renderer::new(Arc::new(Layers::builtin_only()))
    }

    #[test]
    fn undefined_is_an_error_with_location() {
        let e = r().render_str("t.j2", "a: 1\nb: {{ nope.x }}\n", Value::from(())).unwrap_err();
        assert_eq!((e.line, e.column), (Some(2), Some(7)));
        assert!(e.message.contains("undefined"), "{}", e.message);
    }

    #[test]
    fn endless_templates_run_out_of_fuel() {
        let e = r()
            .render_str(
                "t",
                "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
                Value::from(()),
            )
            .unwrap_err();
        assert!(e.message.contains("fuel"), "{}", e.message);
    }

    #[test]
    fn trailing_newline_kept() {
        assert_eq!(r().render_str("t", "a: 1\n", Value::from(())).unwrap(), "a: 1\n");
    }
}
