//! The host API scripts see, one module per domain.

pub mod api;
pub mod checkpoint;
pub mod clock;
pub mod exec;
pub mod feature;
pub mod flux;
pub mod fs;
pub mod git;
pub mod host;
pub mod json;
pub mod keys;
pub mod kube;
pub mod kube_list;
pub mod kube_watch;
pub mod log;
pub mod prompt;
pub mod provider;
pub mod template;
pub mod term;
pub mod testing;
pub mod text;
pub mod time;
pub mod wego;
pub mod yaml;

use std::sync::Arc;

use rhai::{Dynamic, Engine};

use host::Host;

/// Register every primitive module into `engine`.
pub fn register_all(engine: &mut Engine, host: &Arc<Host>) {
    let modules = [
        ("log", log::module(host)),
        ("template", template::module(host)),
        ("yaml", yaml::module()),
        ("json", json::module()),
        ("fs", fs::module(host)),
        ("exec", exec::module(host)),
        ("feature", feature::module(host)),
        ("term", term::module(host)),
        ("text", text::module()),
        ("wego", wego::module(host)),
        ("checkpoint", checkpoint::module(host)),
        ("kube", kube::module(host)),
        ("flux", flux::module(host)),
        ("time", time::module()),
        ("keys", keys::module()),
        ("git", git::module(host)),
        ("provider", provider::module(host)),
        ("test", testing::module()),
    ];
    for (name, m) in modules {
        engine.register_static_module(name, m.into());
    }
    wego::register_globals(engine);
    host::register_error_type(engine);
    testing::register_globals(engine);
    keys::register_types(engine);
    log::register_types(engine);
    git::register_types(engine);
    provider::register_types(engine);
}

/// JSON-like data into a script value.
pub fn to_dynamic(v: &serde_json::Value) -> Dynamic {
    rhai::serde::to_dynamic(v).unwrap_or(Dynamic::UNIT)
}

/// A script value into JSON-like data. A `Secret` gives up its value here (this is where data
/// is written); other custom types and functions become their text.
pub fn from_dynamic(v: &Dynamic) -> serde_json::Value {
    use serde_json::Value;
    if let Some(m) = v.read_lock::<rhai::Map>() {
        return Value::Object(m.iter().map(|(k, v)| (k.to_string(), from_dynamic(v))).collect());
    }
    if let Some(a) = v.read_lock::<rhai::Array>() {
        return Value::Array(a.iter().map(from_dynamic).collect());
    }
    if let Some(s) = v.read_lock::<keys::Secret>() {
        return Value::String(s.expose().to_string());
    }
    rhai::serde::from_dynamic(v).unwrap_or_else(|_| Value::String(v.to_string()))
}

/// A number of seconds a script gave as an int or a float.
pub fn seconds(v: &Dynamic) -> Option<f64> {
    v.as_float().ok().or_else(|| v.as_int().ok().map(|i| i as f64))
}

/// The `progress` option: a `Step` (from `log::step`) that a long call reports how far it is to.
pub fn opt_step(opts: &rhai::Map) -> Option<crate::progress::Step> {
    opts.get("progress").and_then(|v| v.clone().try_cast::<crate::progress::Step>())
}

/// Look up `key` in an options map, as a string.
pub fn opt_str(opts: &rhai::Map, key: &str) -> Option<String> {
    opts.get(key).filter(|v| !v.is_unit()).map(|v| v.to_string())
}

/// Look up `key` in an options map, as a bool (default `false`).
pub fn opt_bool(opts: &rhai::Map, key: &str) -> bool {
    opts.get(key).and_then(|v| v.as_bool().ok()).unwrap_or(false)
}
