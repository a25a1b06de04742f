//! `template::` — render minijinja templates resolved through the override layers.

use std::sync::Arc;

use rhai::{Dynamic, Module};

use super::api::ApiModule;
use super::host::{fail, Host};

fn ctx(v: &Dynamic) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(super::from_dynamic(v)))
}

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new("Render minijinja templates (`templates/`, overridable in `.wego/templates/`).");
    let h = host.clone();
    m.func(
        "render",
        &["name: &str", "context: Map", "String"],
        "Render the template `name` (e.g. `\"flux/kustomization.yaml.j2\"`) with `context`.\n\nUndefined variables are errors. Filters: `toyaml`, `quote`, `dns_label`.\nErrors: the template is missing or fails; the message points at template:line:col.\n\nExample: `let y = template::render(\"wego/app.yaml.j2\", #{ app: app });`",
        move |name: &str, c: Dynamic| h.renderer.render(name, ctx(&c)).map_err(|e| fail_t(&e)),
    );
    let h = host.clone();
    m.func(
        "render_str",
        &["source: &str", "context: Map", "String"],
        "Render template text given inline.\n\nExample: `template::render_str(\"hello {{ who }}\", #{ who: \"world\" })`",
        move |src: &str, c: Dynamic| h.renderer.render_str("<inline template>", src, ctx(&c)).map_err(|e| fail_t(&e)),
    );
    let h = host.clone();
    m.func(
        "exists",
        &["name: &str", "bool"],
        "Whether a template `name` exists in any layer.\n\nExample: `if template::exists(\"my/extra.yaml.j2\") { ... }`",
        move |name: &str| {
            h.layers
                .resolve(crate::layers::Kind::Template, name)
                .map(|r| r.is_some())
                .map_err(|e| fail("template::exists", e, None))
        },
    );
    m.build()
}

fn fail_t(e: &crate::render::TemplateError) -> Box<rhai::EvalAltResult> {
    Box::new(rhai::EvalAltResult::ErrorRuntime(e.to_message("template").into(), rhai::Position::NONE))
}
