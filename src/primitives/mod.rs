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
    serde_json::to_value(Data(v)).unwrap_or(serde_json::Value::Null)
}

/// A script value as data to serialize, written as [`from_dynamic`] converts it, without
/// building a copy first (a report of 10,000 apps streams out).
pub struct Data<'a>(pub &'a Dynamic);

impl serde::Serialize for Data<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        let v = self.0;
        if let Some(m) = v.read_lock::<rhai::Map>() {
            let mut out = s.serialize_map(Some(m.len()))?;
            for (k, v) in m.iter() {
                out.serialize_entry(k.as_str(), &Data(v))?;
            }
            return out.end();
        }
        if let Some(a) = v.read_lock::<rhai::Array>() {
            let mut out = s.serialize_seq(Some(a.len()))?;
            for x in a.iter() {
                out.serialize_element(&Data(x))?;
            }
            return out.end();
        }
        if let Some(secret) = v.read_lock::<keys::Secret>() {
            return s.serialize_str(secret.expose());
        }
        match rhai::serde::from_dynamic::<serde_json::Value>(v) {
            Ok(x) => x.serialize(s),
            Err(_) => s.serialize_str(&v.to_string()),
        }
    }
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
