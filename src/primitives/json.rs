//! `json::` — JSON in and out.

use rhai::{Dynamic, Module};

use super::api::api_module;
use super::host::fail;

pub fn module() -> Module {
    api_module! {
        //! Parse and print JSON.

        /// Parse JSON text.
        ///
        /// Example: `let v = json::parse("{\"a\": 1}");`
        fn parse(text: &str) -> Dynamic {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| fail("json::parse", e, None))?;
            Ok(super::to_dynamic(&v))
        }

        /// Print a value as pretty JSON (keys sorted, stable).
        ///
        /// Example: `print(json::to_string(#{a: 1}));`
        fn to_string(value: Dynamic) -> String {
            serde_json::to_string_pretty(&super::from_dynamic(&value)).map_err(|e| fail("json::to_string", e, None))
        }

        /// Print a value as JSON on one line.
        ///
        /// Example: `json::to_compact([1, 2])`
        fn to_compact(value: Dynamic) -> String {
            serde_json::to_string(&super::from_dynamic(&value)).map_err(|e| fail("json::to_compact", e, None))
        }
    }
}
