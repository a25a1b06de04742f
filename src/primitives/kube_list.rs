//! What `kube::list`, `kube::list_many`, `kube::events` and `kube::to_events` do (kube.rs
//! declares them): reading many objects, paged, trimmed to the fields a script uses, several
//! kinds at once.

use rhai::{Array, Dynamic, EvalAltResult, Map};
use serde_json::Value;

use super::host::{fail, Host};
use crate::k8s::columns::Columns;
use crate::k8s::list::{ListSpec, DEFAULT_CHUNK_SIZE};

type R<T> = Result<T, Box<EvalAltResult>>;

/// A list spec from a script's options map.
pub fn spec(prim: &str, api_version: &str, kind: &str, opts: &Map) -> R<ListSpec> {
    let mut s = ListSpec::new(api_version, kind, &super::opt_str(opts, "namespace").unwrap_or_default());
    s.labels = super::opt_str(opts, "labels");
    s.fields = super::opt_str(opts, "fields");
    if let Some(keep) = opts.get("keep").filter(|k| !k.is_unit()) {
        let Some(paths) = keep.read_lock::<Array>() else {
            return Err(fail(prim, format!("`keep` must be an array of dotted paths, got {}", keep.type_name()), None));
        };
        s.keep = paths.iter().map(|p| p.to_string()).collect();
    }
    if let Some(n) = opts.get("chunk_size").filter(|n| !n.is_unit()) {
        let n = n.as_int().ok().filter(|n| (0..=i64::from(u32::MAX)).contains(n)).ok_or_else(|| {
            fail(
                prim,
                format!("`chunk_size` must be a whole number from 0, got {n}"),
                Some("0 asks for the whole list at once"),
            )
        })?;
        s.chunk_size = n as u32;
    }
    if let Some(c) = opts.get("columns").filter(|c| !c.is_unit()) {
        s.columns = Some(columns(prim, c)?);
    }
    Ok(s)
}

/// The `columns` option: a map of column names to a path or an array of paths tried in turn.
pub fn columns(prim: &str, spec: &Dynamic) -> R<Columns> {
    const HELP: &str = "a column is a path such as \"metadata.name\", \"status.history[0].chartVersion\" or \"metadata.labels['app.kubernetes.io/name']\", or an array of paths (the first with a value wins)";
    let Some(map) = spec.read_lock::<Map>() else {
        return Err(fail(
            prim,
            format!("`columns` must be a map of names to paths, got {}", spec.type_name()),
            Some(HELP),
        ));
    };
    let mut out = Columns::default();
    for (name, paths) in map.iter() {
        let paths = if let Some(list) = paths.read_lock::<Array>() {
            list.iter().map(|p| p.clone().into_string().ok()).collect::<Option<Vec<_>>>()
        } else {
            paths.clone().into_string().ok().map(|p| vec![p])
        };
        let Some(paths) = paths else {
            return Err(fail(prim, format!("column `{name}` must be a path or an array of paths"), Some(HELP)));
        };
        out.add(name, &paths).map_err(|e| fail(prim, e, Some(HELP)))?;
    }
    Ok(out)
}

pub fn list_many(h: &Host, specs: Vec<ListSpec>, prim: &str) -> R<Vec<Array>> {
    h.block_on(h.kube.list_many(&specs, |v| super::to_dynamic(&v))).map_err(|e| super::kube::err(prim, e))
}

/// What `kube::list_many` does with its entries (maps of `api_version`, `kind` and options).
pub fn list_all(h: &Host, lists: &Array) -> R<Array> {
    let prim = "kube::list_many";
    let mut specs = Vec::with_capacity(lists.len());
    for (i, l) in lists.iter().enumerate() {
        let Some(opts) = l.read_lock::<Map>() else {
            return Err(fail(prim, format!("entry #{} is a {}, not a map", i + 1, l.type_name()), None));
        };
        let (Some(av), Some(kind)) = (super::opt_str(&opts, "api_version"), super::opt_str(&opts, "kind")) else {
            return Err(fail(prim, format!("entry #{} needs `api_version` and `kind`", i + 1), None));
        };
        specs.push(spec(prim, &av, &kind, &opts)?);
    }
    Ok(list_many(h, specs, prim)?.into_iter().map(Dynamic::from).collect())
}

/// What `kube::events` does: one list of Events, shaped.
pub fn events(h: &Host, opts: &Map) -> R<Array> {
    let s = event_spec(opts);
    let items = h.block_on(h.kube.list(s)).map_err(|e| super::kube::err("kube::events", e))?;
    Ok(shape_events(items, opts))
}

/// The Event list `kube::events` asks for: filtered by the server where a field selector can.
fn event_spec(opts: &Map) -> ListSpec {
    let mut s = ListSpec::new("v1", "Event", &super::opt_str(opts, "namespace").unwrap_or_default());
    let mut fields = Vec::new();
    if let Some(k) = super::opt_str(opts, "involved_kind") {
        fields.push(format!("involvedObject.kind={k}"));
    }
    if let Some(n) = super::opt_str(opts, "involved_name") {
        fields.push(format!("involvedObject.name={n}"));
    }
    let types = types(opts);
    if types.len() == 1 {
        fields.push(format!("type={}", types[0]));
    }
    if !fields.is_empty() {
        s.fields = Some(fields.join(","));
    }
    s.chunk_size = DEFAULT_CHUNK_SIZE;
    s
}

fn types(opts: &Map) -> Vec<String> {
    opts.get("types")
        .and_then(|t| t.clone().try_cast::<Array>())
        .map(|a| a.iter().map(|t| t.to_string()).collect())
        .unwrap_or_default()
}

fn event_time(e: &Value) -> String {
    ["/lastTimestamp", "/eventTime", "/series/lastObservedTime", "/firstTimestamp", "/metadata/creationTimestamp"]
        .iter()
        .find_map(|p| e.pointer(p).and_then(Value::as_str).filter(|s| !s.is_empty()))
        .unwrap_or_default()
        .to_string()
}

/// Filter by type and time, newest first, at most `limit`, in the shape scripts read.
pub fn shape_events(items: Vec<Value>, opts: &Map) -> Array {
    let types = types(opts);
    let since = super::opt_str(opts, "since").unwrap_or_default();
    let mut out: Vec<(String, Value)> = items
        .into_iter()
        .filter(|e| types.is_empty() || types.iter().any(|t| e["type"] == t.as_str()))
        .map(|e| (event_time(&e), e))
        .filter(|(t, _)| since.is_empty() || super::time::after(t, &since))
        .collect();
    out.sort_by(|a, b| super::time::cmp(&b.0, &a.0));
    if let Some(limit) = opts.get("limit").and_then(|l| l.as_int().ok()) {
        out.truncate(limit.max(0) as usize);
    }
    out.into_iter()
        .map(|(time, e)| {
            let v = serde_json::json!({
                "type": e["type"],
                "reason": e["reason"],
                "message": e["message"],
                "time": time,
                "count": e["count"],
                "source": e.pointer("/source/component").cloned().or_else(|| e.get("reportingComponent").cloned()).unwrap_or(Value::Null),
                "involved": {
                    "kind": e.pointer("/involvedObject/kind"),
                    "name": e.pointer("/involvedObject/name"),
                    "namespace": e.pointer("/involvedObject/namespace"),
                },
            });
            super::to_dynamic(&v)
        })
        .collect()
}

/// What `kube::index` does: each element under its `key`, the last one winning.
pub fn index(list: Array, key: &str) -> Map {
    let mut out = Map::new();
    for (k, item) in keyed(list, key) {
        out.insert(k, item);
    }
    out
}

/// What `kube::group` does: the elements under their `key`, in list order.
pub fn group(list: Array, key: &str) -> Map {
    let mut out = Map::new();
    for (k, item) in keyed(list, key) {
        let g = out.entry(k).or_insert_with(|| Dynamic::from_array(Array::new()));
        if let Some(mut g) = g.write_lock::<Array>() {
            g.push(item);
        }
    }
    out
}

/// The elements of `list` (maps) with a non-empty `key`, with that key's text.
fn keyed(list: Array, key: &str) -> impl Iterator<Item = (rhai::Identifier, Dynamic)> + use<'_> {
    list.into_iter().filter_map(move |item| {
        let k = item.read_lock::<Map>().and_then(|m| m.get(key).filter(|v| !v.is_unit()).map(|v| v.to_string()));
        k.map(|k| (k.into(), item))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(app: Option<&str>, n: i64) -> Dynamic {
        let mut m = Map::new();
        if let Some(a) = app {
            m.insert("app".into(), a.into());
        }
        m.insert("n".into(), n.into());
        m.into()
    }

    #[test]
    fn index_keeps_the_last_and_group_keeps_all_in_order() {
        let list = || vec![row(Some("a"), 1), row(None, 2), row(Some("b"), 3), row(Some("a"), 4), Dynamic::from(5_i64)];
        let n = |d: &Dynamic| d.read_lock::<Map>().unwrap()["n"].as_int().unwrap();
        let by = index(list(), "app");
        assert_eq!(by.keys().map(|k| k.as_str()).collect::<Vec<_>>(), ["a", "b"], "no key or not a map: no entry");
        assert_eq!(n(&by["a"]), 4, "the last one wins");
        let grouped = group(list(), "app");
        let ns = |k: &str| grouped[k].read_lock::<Array>().unwrap().iter().map(n).collect::<Vec<_>>();
        assert_eq!((ns("a"), ns("b")), (vec![1, 4], vec![3]));
        assert_eq!(grouped.len(), 2);
    }
}
