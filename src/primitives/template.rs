//! `template::` — render minijinja templates resolved through the override layers.

use std::sync::Arc;

use rhai::{Map, Module};

use super::api::api_module;
use super::host::{fail, Host};

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

fn fail_t(e: &crate::render::TemplateError) -> Box<rhai::EvalAltResult> {
    Box::new(rhai::EvalAltResult::ErrorRuntime(e.to_message("template").into(), rhai::Position::NONE))
}
