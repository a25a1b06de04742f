//! `yaml::` — multi-document YAML in and out (serde-saphyr, YAML 1.2 booleans).

use rhai::{Array, Dynamic, Module};

use super::api::api_module;
use super::host::fail;

/// Limits against hostile YAML (alias bombs, deep nesting stay guarded), sized for
/// Kubernetes work: a stream of thousands of objects is normal.
fn budget() -> serde_saphyr::Budget {
    let mut b = serde_saphyr::Budget::default();
    b.max_documents = 200_000;
    b.max_nodes = 50_000_000;
    b.max_events = 100_000_000;
    b
}

/// Parse every non-empty document of `text`.
pub fn parse_all(text: &str) -> Result<Vec<serde_json::Value>, String> {
    let opts = serde_saphyr::options! { strict_booleans: true, budget: Some(budget()) };
    let docs: Vec<serde_json::Value> =
        serde_saphyr::from_multiple_with_options(text, opts).map_err(|e| first_line(&e.to_string()))?;
    Ok(docs.into_iter().filter(|d| !d.is_null()).collect())
}

/// serde-saphyr's messages carry their own snippet of the input; keep the cause and position.
fn first_line(msg: &str) -> String {
    let line = msg.lines().next().unwrap_or(msg);
    line.strip_prefix("error: ").unwrap_or(line).to_string()
}

/// Serialize one value as a YAML document (no leading `---`).
pub fn to_string<T: serde::Serialize>(v: &T) -> Result<String, String> {
    serde_saphyr::to_string(v).map_err(|e| e.to_string())
}

/// Serialize values as a multi-document stream, each starting with `---`.
pub fn to_string_all(docs: &[serde_json::Value]) -> Result<String, String> {
    let mut out = String::new();
    for d in docs {
        out.push_str("---\n");
        out.push_str(&to_string(d)?);
        if !out.ends_with('\n') {
            out.push('\n');
        }
    }
    Ok(out)
}

pub fn module() -> Module {
    api_module! {
        //! Parse and print YAML (multi-document streams; comments are not kept).

        /// Parse a multi-document YAML stream into an array of values (empty documents skipped).
        ///
        /// Errors: invalid YAML, with line and column.
        ///
        /// Example: `let objs = yaml::parse_all(fs::read("app.yaml"));`
        fn parse_all(text: &str) -> Array {
            let docs = parse_all(text).map_err(|e| fail("yaml::parse_all", e, None))?;
            Ok(docs.iter().map(super::to_dynamic).collect())
        }

        /// Parse a single YAML document.
        ///
        /// Example: `let cfg = yaml::parse("a: 1"); print(cfg.a);`
        fn parse(text: &str) -> Dynamic {
            let mut docs = parse_all(text).map_err(|e| fail("yaml::parse", e, None))?;
            match docs.len() {
                0 => Ok(Dynamic::UNIT),
                1 => Ok(super::to_dynamic(&docs.remove(0))),
                n => Err(fail("yaml::parse", format!("expected one document, found {n}"), Some("use yaml::parse_all"))),
            }
        }

        /// Print a value as YAML. An array prints as a multi-document stream (`---` before each), anything else as one
        /// document.
        ///
        /// Example: `print(yaml::to_string([#{a: 1}, #{b: 2}]));`
        fn to_string(value: Dynamic) -> String {
            let r = if value.is_array() {
                to_string_all(&value.cast::<Array>().iter().map(super::from_dynamic).collect::<Vec<_>>())
            } else {
                to_string(&super::from_dynamic(&value))
            };
            r.map_err(|e| fail("yaml::to_string", e, None))
        }

        /// Print a value as exactly one YAML document, even when it is an array.
        ///
        /// Example: `print(yaml::to_doc([1, 2]));`
        fn to_doc(value: Dynamic) -> String {
            to_string(&super::from_dynamic(&value)).map_err(|e| fail("yaml::to_doc", e, None))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn multi_doc_round_trip() {
        let docs = super::parse_all("---\na: 1\n---\n---\nb: \"yes\"\nc: yes\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["b"], "yes");
        assert_eq!(docs[1]["c"], "yes", "YAML 1.2: yes is a string");
        let out = super::to_string_all(&docs).unwrap();
        assert_eq!(super::parse_all(&out).unwrap(), docs);
    }
}

#[cfg(test)]
mod stream_tests {
    #[test]
    fn thousands_of_documents_parse() {
        let text: String = (0..5000).map(|i| format!("---\nkind: ConfigMap\nmetadata: {{name: c{i}}}\n")).collect();
        assert_eq!(super::parse_all(&text).unwrap().len(), 5000);
    }
}
