//! `feature::` — feature flags for experimental functions (config `features:`, `WEGO_FEATURES`).

use std::sync::Arc;

use rhai::{Array, Dynamic, Module};

use super::api::api_module;
use super::host::Host;

pub fn module(host: &Arc<Host>) -> Module {
    api_module! {
        let h = host;
        //! Feature flags for experimental functions.

        /// Whether the experimental feature `name` is enabled (config `features:` or `WEGO_FEATURES=a,b`).
        ///
        /// Example: `if feature::enabled("image-automation") { ... }`
        fn enabled(name: &str) -> bool {
            Ok(h.config().features.iter().any(|f| f == name))
        }

        /// The enabled features.
        ///
        /// Example: `print(feature::list());`
        fn list() -> Array {
            Ok(h.config().features.iter().map(|f| Dynamic::from(f.clone())).collect())
        }
    }
}
