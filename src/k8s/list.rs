//! Lists as the server pages them (`limit`/`continue`, as kubectl's `--chunk-size`), trimmed to
//! the fields the caller keeps, several kinds at once. Each page is decoded and trimmed before
//! the next is asked for, so memory follows the page size and the kept fields, not the
//! whole list as the server stores it (`managedFields` alone is often half of an object).

use kube::api::ListParams;
use kube::core::Request;
use kube::Client;
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{kinds, Kind, KubeError, KubeState};

/// What kubectl asks for per page by default.
pub const DEFAULT_CHUNK_SIZE: u32 = 500;

/// One list to fetch.
#[derive(Debug, Clone)]
pub struct ListSpec {
    pub api_version: String,
    pub kind: String,
    /// Empty: all namespaces (or a cluster-scoped kind).
    pub namespace: String,
    pub labels: Option<String>,
    pub fields: Option<String>,
    /// Dotted paths to keep (`metadata.name`, `status.conditions`); empty keeps everything.
    /// `apiVersion` and `kind` are always kept.
    pub keep: Vec<String>,
    /// Objects per request; 0 asks for the whole list in one.
    pub chunk_size: u32,
}

impl ListSpec {
    pub fn new(api_version: &str, kind: &str, namespace: &str) -> Self {
        ListSpec {
            api_version: api_version.into(),
            kind: kind.into(),
            namespace: namespace.into(),
            labels: None,
            fields: None,
            keep: vec![],
            chunk_size: DEFAULT_CHUNK_SIZE,
        }
    }
}

#[derive(Deserialize)]
struct Page {
    #[serde(default)]
    metadata: PageMeta,
    #[serde(default)]
    items: Vec<Value>,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue", default)]
    next: Option<String>,
}

/// What one list gave: the converted objects and, for a CRD list, the kinds it serves.
type Fetched<T> = (Vec<T>, Vec<((String, String), Kind)>);

impl KubeState {
    /// Fetch every list at once (one connection each), passing each object through `convert`
    /// as its page is decoded; the lists come back in the order of `specs`.
    pub async fn list_many<T, F>(&self, specs: &[ListSpec], convert: F) -> Result<Vec<Vec<T>>, KubeError>
    where
        T: Send + 'static,
        F: Fn(Value) -> T + Send + Sync + Clone + 'static,
    {
        let client = self.client().await?;
        let mut tasks = Vec::with_capacity(specs.len());
        for s in specs {
            let k = self.require_kind(&s.api_version, &s.kind).await?;
            let url = self.api(&k, Some(&s.namespace)).await?.resource_url().to_string();
            tasks.push(tokio::spawn(fetch(client.clone(), url, s.clone(), convert.clone())));
        }
        let mut out = Vec::with_capacity(tasks.len());
        for (task, s) in tasks.into_iter().zip(specs) {
            let what = format!("{} ({})", s.kind, s.api_version);
            let fetched = task.await.map_err(|e| KubeError::new(format!("cannot list {what}: {e}"), None))?;
            let (items, learned) = fetched.map_err(|e| self.explain(e, "list", &what))?;
            self.learn(learned);
            out.push(items);
        }
        Ok(out)
    }
}

async fn fetch<T, F: Fn(Value) -> T>(
    client: Client,
    url: String,
    s: ListSpec,
    convert: F,
) -> Result<Fetched<T>, kube::Error> {
    let crd_list = kinds::is_crd(&s.api_version, &s.kind);
    let (mut out, mut learned) = (Vec::new(), Vec::new());
    let mut next: Option<String> = None;
    loop {
        let mut lp = ListParams::default();
        if let Some(l) = &s.labels {
            lp = lp.labels(l);
        }
        if let Some(f) = &s.fields {
            lp = lp.fields(f);
        }
        if s.chunk_size > 0 {
            lp = lp.limit(s.chunk_size);
        }
        if let Some(c) = &next {
            lp = lp.continue_token(c);
        }
        let req = Request::new(url.as_str()).list(&lp).map_err(kube::Error::BuildRequest)?;
        let page: Page = client.request(req).await?;
        out.reserve(page.items.len());
        for mut item in page.items {
            if let Some(m) = item.as_object_mut() {
                for (key, value) in [("apiVersion", &s.api_version), ("kind", &s.kind)] {
                    if m.get(key).is_none_or(Value::is_null) {
                        m.insert(key.into(), Value::String(value.clone()));
                    }
                }
            }
            if crd_list {
                learned.extend(kinds::served_by(&item));
            }
            out.push(convert(project(item, &s.keep)));
        }
        match page.metadata.next.filter(|c| !c.is_empty()) {
            Some(c) => next = Some(c),
            None => break,
        }
    }
    Ok((out, learned))
}

/// `o` with only `apiVersion`, `kind` and the paths in `keep` (all of it when empty). A path
/// crossing an array keeps that field of every element, as kubectl's `{.spec.versions[*].name}`.
pub fn project(mut o: Value, keep: &[String]) -> Value {
    if keep.is_empty() {
        return o;
    }
    let mut out = Value::Object(Map::new());
    for p in ["apiVersion", "kind"].into_iter().chain(keep.iter().map(String::as_str)) {
        let parts: Vec<&str> = p.split('.').filter(|s| !s.is_empty()).collect();
        if let Some(v) = pick(&mut o, &parts) {
            merge(&mut out, v);
        }
    }
    out
}

/// Take the value at `parts` out of `v`, wrapped in the objects (and arrays) leading to it.
fn pick(v: &mut Value, parts: &[&str]) -> Option<Value> {
    let Some((first, rest)) = parts.split_first() else { return Some(v.take()) };
    match v {
        Value::Object(m) => {
            let inner = pick(m.get_mut(*first)?, rest)?;
            Some(Value::Object(Map::from_iter([(first.to_string(), inner)])))
        }
        Value::Array(items) => {
            Some(Value::Array(items.iter_mut().map(|e| pick(e, parts).unwrap_or(Value::Object(Map::new()))).collect()))
        }
        _ => None,
    }
}

/// Merge `v` into `out`: objects key by key, arrays of the same length element by element.
fn merge(out: &mut Value, v: Value) {
    match (out, v) {
        (Value::Object(o), Value::Object(m)) => {
            for (k, x) in m {
                match o.get_mut(&k) {
                    Some(existing) => merge(existing, x),
                    None => {
                        o.insert(k, x);
                    }
                }
            }
        }
        (Value::Array(o), Value::Array(a)) if o.len() == a.len() => {
            for (e, x) in o.iter_mut().zip(a) {
                merge(e, x);
            }
        }
        (out, v) => *out = v,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn project_keeps_only_the_asked_paths() {
        let o = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "managedFields": [1, 2], "labels": {"l": "v"}},
                       "spec": {"big": "x"}, "status": {"conditions": [{"type": "Ready"}], "other": 1}});
        let keep =
            ["metadata.name".to_string(), "metadata.labels".into(), "status.conditions".into(), "missing.x".into()];
        assert_eq!(
            project(o.clone(), &keep),
            json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "labels": {"l": "v"}},
                   "status": {"conditions": [{"type": "Ready"}]}})
        );
        assert_eq!(project(o.clone(), &[]), o, "nothing to keep: everything");
        let crd = json!({"spec": {"versions": [{"name": "v1", "served": true, "schema": {"big": 1}}, {"name": "v0", "served": false}]}});
        let keep = ["spec.versions.name".to_string(), "spec.versions.served".into()];
        assert_eq!(
            project(crd, &keep),
            json!({"spec": {"versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false}]}}),
            "a path through an array keeps that field of each element"
        );
    }
}
