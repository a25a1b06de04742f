//! `feature::` — feature flags for experimental functions (config `features:`, `WEGO_FEATURES`).

use std::sync::Arc;

use rhai::{Array, Dynamic, Module};

use super::api::ApiModule;
use super::host::Host;

pub fn module(host: &Arc<Host>) -> Module {
    let mut m = ApiModule::new("Feature flags for experimental functions.");
    let h = host.clone();
    m.func(
        "enabled",
        &["name: &str", "bool"],
        "Whether the experimental feature `name` is enabled (config `features:` or `WEGO_FEATURES=a,b`).\n\nExample: `if feature::enabled(\"image-automation\") { ... }`",
        move |name: &str| h.config().features.iter().any(|f| f == name),
    );
    let h = host.clone();
    m.func("list", &["Array"], "The enabled features.\n\nExample: `print(feature::list());`", move || -> Array {
        h.config().features.iter().map(|f| Dynamic::from(f.clone())).collect()
    });
    m.build()
}
