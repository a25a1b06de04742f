//! `json::` — JSON in and out.

use rhai::{Dynamic, Module};

use super::api::ApiModule;
use super::host::fail;

pub fn module() -> Module {
    let mut m = ApiModule::new("Parse and print JSON.");
    m.func(
        "parse",
        &["text: &str", "Dynamic"],
        "Parse JSON text.\n\nExample: `let v = json::parse(\"{\\\"a\\\": 1}\");`",
        |text: &str| -> Result<Dynamic, Box<rhai::EvalAltResult>> {
            let v: serde_json::Value = serde_json::from_str(text).map_err(|e| fail("json::parse", e, None))?;
            Ok(super::to_dynamic(&v))
        },
    );
    m.func(
        "to_string",
        &["value: Dynamic", "String"],
        "Print a value as pretty JSON (keys sorted, stable).\n\nExample: `print(json::to_string(#{a: 1}));`",
        |v: Dynamic| {
            serde_json::to_string_pretty(&super::from_dynamic(&v)).map_err(|e| fail("json::to_string", e, None))
        },
    );
    m.func(
        "to_compact",
        &["value: Dynamic", "String"],
        "Print a value as JSON on one line.\n\nExample: `json::to_compact([1, 2])`",
        |v: Dynamic| serde_json::to_string(&super::from_dynamic(&v)).map_err(|e| fail("json::to_compact", e, None)),
    );
    m.build()
}
