//! `template::` — render minijinja templates resolved through the override layers.

use std::sync::Arc;

use rhai::{Map, Module};

use super::api::api_module;
use super::host::{fail, Host};
use crate::diagnostics::{Diagnostic, Location};
use crate::render::TemplateError;

fn ctx(context: Map) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(super::from_dynamic(&context.into())))
}

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Render minijinja templates (`templates/`, overridable in `.wego/templates/`).

        /// Render the template `name` (e.g. `"flux/kustomization.yaml.j2"`) with `context`.
        ///
        /// Undefined variables are errors. Filters: `toyaml`, `quote`, `dns_label`.\
        /// Errors: the template is missing or fails; the message points at template:line:col.
        ///
        /// Example: `let y = template::render("wego/app.yaml.j2", #{ app: app });`
        fn render(name: &str, context: Map) -> String {
            h.renderer.render(name, ctx(context)).map_err(|e| fail_t(&e))
        }

        /// Render template text given inline.
        ///
        /// Example: `template::render_str("hello {{ who }}", #{ who: "world" })`
        fn render_str(source: &str, context: Map) -> String {
            h.renderer.render_str("<inline template>", source, ctx(context)).map_err(|e| fail_t(&e))
        }

        /// Whether a template `name` exists in any layer.
        ///
        /// Example: `if template::exists("my/extra.yaml.j2") { ... }`
        fn exists(name: &str) -> bool {
            let found = h.layers.resolve(crate::layers::Kind::Template, name);
            found.map(|r| r.is_some()).map_err(|e| fail("template::exists", e, None))
        }
    }
}

/// A template's failure, its frame pointing into the template.
fn fail_t(e: &TemplateError) -> Box<rhai::EvalAltResult> {
    let mut d = Diagnostic::new(format!("template: {}", e.message));
    let (file, line, column, text) = (e.file.clone(), e.line, e.column.unwrap_or(1), e.source_line.clone());
    d.location = Some(Location { file, line, column, text });
    d.help = e.help.clone();
    d.raise()
}
