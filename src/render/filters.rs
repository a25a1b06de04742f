//! Filters that make it impossible for a value to break out of its place in a YAML document.

use minijinja::value::{Value, ValueKind};
use minijinja::{Environment, Error, ErrorKind};

pub fn register(env: &mut Environment<'static>) {
    env.add_filter("toyaml", toyaml);
    env.add_filter("quote", quote);
    env.add_filter("dns_label", dns_label);
}

/// Any value as a YAML flow value on one line: strings double-quoted with JSON escapes
/// (valid YAML), maps and lists as JSON (a YAML subset). `yes`, `on`, `1.0`, `: x`, newlines
/// and `{{` all stay plain data.
fn toyaml(v: Value) -> Result<Value, Error> {
    let json = match v.kind() {
        ValueKind::Undefined => return Err(undefined("toyaml")),
        ValueKind::None => "null".to_string(),
        _ => serde_json::to_string(&v).map_err(|e| Error::new(ErrorKind::InvalidOperation, e.to_string()))?,
    };
    Ok(Value::from_safe_string(json))
}

/// A value as a double-quoted YAML string (numbers and booleans become strings).
fn quote(v: Value) -> Result<Value, Error> {
    if v.is_undefined() {
        return Err(undefined("quote"));
    }
    let s = match v.as_str() {
        Some(s) => s.to_string(),
        None => v.to_string(),
    };
    Ok(Value::from_safe_string(serde_json::to_string(&s).expect("string serializes")))
}

/// Strict mode lets undefined values into filters; a missing value must not become `null`.
fn undefined(filter: &str) -> Error {
    Error::new(ErrorKind::UndefinedError, format!("the value given to `{filter}` is undefined"))
}

/// Lowercase DNS-1123 label: other characters become `-`, trimmed, at most 63 characters.
fn dns_label(v: Value) -> String {
    crate::text::dns_label(&v.to_string(), 63)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_values_stay_data() {
        let mut env = Environment::new();
        register(&mut env);
        let hostile = "x\nkind: Secret\n# {{ 1 }}: yes";
        let out = env
            .render_str("name: {{ v | toyaml }}\nq: {{ v | quote }}\n", minijinja::context! { v => hostile })
            .unwrap();
        let parsed: serde_json::Value = serde_saphyr::from_str(&out).unwrap();
        assert_eq!(parsed["name"], hostile);
        assert_eq!(parsed["q"], hostile);
        let out = env.render_str("a: {{ v | toyaml }}", minijinja::context! { v => "yes" }).unwrap();
        assert_eq!(out, "a: \"yes\"");
    }
}
