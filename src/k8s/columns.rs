//! Objects read as rows, as kubectl's `-o custom-columns`: each object becomes one flat map of
//! named values picked by path. A row is one small map where the object it comes from is a tree
//! of them, which is what a list of 10,000 objects costs in a script.

use serde_json::{Map, Value};

use super::keep::Keep;

/// One step of a path: a key of an object or an element of an array.
#[derive(Debug, Clone, PartialEq)]
enum Step {
    Key(String),
    Index(usize),
}

/// Named columns, each a path or paths tried in turn (the first with a value wins).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Columns(Vec<(String, Vec<Vec<Step>>)>);

impl Columns {
    /// A column more: `paths` in their written form (see [`parse`]).
    pub fn add(&mut self, name: &str, paths: &[String]) -> Result<(), String> {
        if paths.is_empty() {
            return Err(format!("column `{name}` has no path"));
        }
        let parsed =
            paths.iter().map(|p| parse(p).map_err(|e| format!("column `{name}`: {e}"))).collect::<Result<_, _>>()?;
        self.0.push((name.to_string(), parsed));
        Ok(())
    }

    /// What to keep of each object while it is decoded: every column's paths (an array index
    /// keeps that field of each element).
    pub fn keep(&self) -> Keep {
        let mut keep = Keep::default();
        for (_, paths) in &self.0 {
            for path in paths {
                let keys: Vec<&str> = path
                    .iter()
                    .filter_map(|s| match s {
                        Step::Key(k) => Some(k.as_str()),
                        Step::Index(_) => None,
                    })
                    .collect();
                keep = keep.with_parts(&keys);
            }
        }
        keep
    }

    /// The row of `object`: each column's value, `null` where none of its paths has one.
    pub fn row(&self, object: &Value) -> Value {
        let row = self.0.iter().map(|(name, paths)| {
            let v = paths.iter().find_map(|p| at(object, p).filter(|v| has_value(v))).cloned().unwrap_or(Value::Null);
            (name.clone(), v)
        });
        Value::Object(row.collect::<Map<_, _>>())
    }
}

fn has_value(v: &Value) -> bool {
    !(v.is_null() || v.as_str() == Some(""))
}

fn at<'a>(mut v: &'a Value, path: &[Step]) -> Option<&'a Value> {
    for step in path {
        v = match step {
            Step::Key(k) => v.as_object()?.get(k)?,
            Step::Index(i) => v.as_array()?.get(*i)?,
        };
    }
    Some(v)
}

/// A path as kubectl's JSONPath writes one, without the braces: keys joined by dots, `[N]` for
/// an array's element, `['key']` (or `["key"]`) for a key holding dots or slashes:
/// `status.history[0].chartVersion`, `metadata.labels['app.kubernetes.io/name']`. A leading dot
/// is allowed.
fn parse(text: &str) -> Result<Vec<Step>, String> {
    let bad = |why: &str| format!("`{text}` is not a path: {why}");
    let mut steps = Vec::new();
    let mut rest = text.strip_prefix('.').unwrap_or(text);
    while !rest.is_empty() {
        if let Some(inner) = rest.strip_prefix('[') {
            let close = inner.find(']').ok_or_else(|| bad("a `[` is not closed"))?;
            let quoted = inner.starts_with('\'') || inner.starts_with('"');
            if quoted {
                let q = &inner[..1];
                let end = inner[1..].find(q).ok_or_else(|| bad("a quoted key is not closed"))? + 1;
                if !inner[end + 1..].starts_with(']') {
                    return Err(bad("a quoted key must be followed by `]`"));
                }
                steps.push(Step::Key(inner[1..end].to_string()));
                rest = &inner[end + 2..];
            } else {
                let n = inner[..close]
                    .trim()
                    .parse()
                    .map_err(|_| bad("`[...]` holds an index (0, 1, ...) or a quoted key"))?;
                steps.push(Step::Index(n));
                rest = &inner[close + 1..];
            }
            rest = rest.strip_prefix('.').unwrap_or(rest);
            continue;
        }
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        if end == 0 {
            return Err(bad("an empty key (two dots in a row)"));
        }
        steps.push(Step::Key(rest[..end].to_string()));
        rest = &rest[end..];
        if let Some(r) = rest.strip_prefix('.') {
            if r.is_empty() {
                return Err(bad("it ends with a dot"));
            }
            rest = r;
        }
    }
    if steps.is_empty() {
        return Err(bad("it is empty"));
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn columns(spec: &[(&str, &[&str])]) -> Columns {
        let mut c = Columns::default();
        for (name, paths) in spec {
            c.add(name, &paths.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap();
        }
        c
    }

    #[test]
    fn paths_are_written_as_kubectl_writes_them() {
        use Step::*;
        let k = |s: &str| Key(s.to_string());
        assert_eq!(parse("metadata.name").unwrap(), vec![k("metadata"), k("name")]);
        assert_eq!(
            parse(".status.history[0].chartVersion").unwrap(),
            vec![k("status"), k("history"), Index(0), k("chartVersion")]
        );
        assert_eq!(
            parse("metadata.labels['app.kubernetes.io/name']").unwrap(),
            vec![k("metadata"), k("labels"), k("app.kubernetes.io/name")]
        );
        assert_eq!(parse(r#"a["b.c"].d"#).unwrap(), vec![k("a"), k("b.c"), k("d")]);
        assert_eq!(parse("a[1][2]").unwrap(), vec![k("a"), Index(1), Index(2)]);
        for (bad, why) in [
            ("", "empty"),
            ("a..b", "two dots"),
            ("a.", "ends with a dot"),
            ("a[0", "not closed"),
            ("a['b]", "quoted key is not closed"),
            ("a['b'x]", "followed by `]`"),
            ("a[x]", "holds an index"),
        ] {
            let e = parse(bad).unwrap_err();
            assert!(e.contains(why) && e.contains(&format!("`{bad}`")), "{bad}: {e}");
        }
    }

    #[test]
    fn a_row_holds_each_columns_first_value() {
        let o = json!({"metadata": {"name": "web", "labels": {"wego.weave.works/app": "w"}},
                       "status": {"history": [{"chartVersion": "1.2"}], "lastAttemptedRevision": "", "x": null},
                       "involved": {"kind": "K"}});
        let c = columns(&[
            ("name", &["metadata.name"]),
            ("app", &["metadata.labels['wego.weave.works/app']"]),
            ("chart", &["status.history[0].chartVersion"]),
            ("later", &["status.history[1].chartVersion", "status.lastAttemptedRevision", "status.x", "involved"]),
            ("missing", &["spec.nothing", "status.history[9]"]),
        ]);
        assert_eq!(
            c.row(&o),
            json!({"name": "web", "app": "w", "chart": "1.2", "later": {"kind": "K"}, "missing": null}),
            "null and empty text count as no value; a map stays whole"
        );
        assert_eq!(c.row(&json!(3)), json!({"name": null, "app": null, "chart": null, "later": null, "missing": null}));
    }

    #[test]
    fn what_is_decoded_is_what_the_columns_read() {
        let c = columns(&[("app", &["metadata.labels['a.b/c']"]), ("v", &["status.history[0].chartVersion", "spec"])]);
        let o = json!({"apiVersion": "v1", "kind": "K", "metadata": {"name": "n", "labels": {"a.b/c": "x", "d": "y"}},
                       "spec": {"s": 1}, "status": {"history": [{"chartVersion": "1", "digest": "d"}, {"chartVersion": "0"}], "big": 1}});
        assert_eq!(
            c.keep().trim(o),
            json!({"metadata": {"labels": {"a.b/c": "x"}}, "spec": {"s": 1},
                   "status": {"history": [{"chartVersion": "1"}, {"chartVersion": "0"}]}})
        );
        assert!(Columns::default().add("x", &[]).unwrap_err().contains("no path"));
        assert!(Columns::default().add("x", &["a..b".into()]).unwrap_err().starts_with("column `x`: `a..b`"));
    }
}
