//! Lists as the server pages them (`limit`/`continue`, as kubectl's `--chunk-size`), trimmed to
//! the fields the caller keeps, several kinds at once. A page is decoded as it arrives, one item
//! at a time, each trimmed while it is parsed (see [`super::keep`]), so memory follows the kept
//! fields, not the page nor the list as the server stores it (`managedFields` alone is often
//! half of an object).

use std::fmt;
use std::io::{self, BufReader, Read};

use futures_util::io::{AsyncBufRead, AsyncBufReadExt};
use kube::api::ListParams;
use kube::core::Request;
use kube::Client;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::Value;
use tokio::sync::mpsc;

use super::columns::Columns;
use super::keep::Keep;
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
    /// Each object as one flat row of these columns (see [`Columns`]); without `keep`, only
    /// what they read is decoded.
    pub columns: Option<Columns>,
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
            columns: None,
        }
    }
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

/// How many chunks of a body may wait between the connection and its decoder.
const CHUNKS_IN_FLIGHT: usize = 8;

/// What the decoder of a list's pages needs, shared by its pages.
struct Decoder<F> {
    api_version: String,
    kind: String,
    /// What the caller keeps, and what is decoded: for a CRD list also the fields that say
    /// which kinds it serves, trimmed away once read.
    keep: Keep,
    decoded: Keep,
    crd_list: bool,
    columns: Option<Columns>,
    convert: F,
}

/// Every page of one list. Each page's body streams from the connection into a decoder on a
/// blocking thread, which trims and converts one item at a time: no page is ever held whole,
/// neither as text nor as JSON values.
async fn fetch<T, F>(client: Client, url: String, s: ListSpec, convert: F) -> Result<Fetched<T>, kube::Error>
where
    T: Send + 'static,
    F: Fn(Value) -> T + Send + Sync + 'static,
{
    let crd_list = kinds::is_crd(&s.api_version, &s.kind);
    let keep = match &s.columns {
        Some(c) if s.keep.is_empty() => c.keep(),
        _ => Keep::new(&s.keep),
    };
    let decoded = if crd_list { keep.clone().with(&kinds::SERVED_BY) } else { keep.clone() };
    let dec = std::sync::Arc::new(Decoder {
        api_version: s.api_version.clone(),
        kind: s.kind.clone(),
        keep,
        decoded,
        crd_list,
        columns: s.columns.clone(),
        convert,
    });
    let mut fetched: Fetched<T> = (Vec::new(), Vec::new());
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
        let body = client.request_stream(req).await?;
        let (tx, rx) = mpsc::channel(CHUNKS_IN_FLIGHT);
        let d = dec.clone();
        let decoding = tokio::task::spawn_blocking(move || {
            let token = decode_page(BufReader::new(Chunks { rx, chunk: Vec::new(), at: 0 }), &d, &mut fetched);
            (fetched, token)
        });
        let pumped = pump(Box::pin(body), tx).await;
        let (back, token) = decoding.await.map_err(|e| kube::Error::Service(Box::new(e)))?;
        fetched = back;
        // A connection that failed mid-body is the cause; the decoder only saw the text stop.
        pumped.map_err(kube::Error::ReadEvents)?;
        match token.map_err(kube::Error::SerdeError)?.filter(|c| !c.is_empty()) {
            Some(c) => next = Some(c),
            None => break,
        }
    }
    Ok(fetched)
}

/// Copy a body into `tx` as it arrives, until it ends or the decoder stops reading.
async fn pump(mut body: std::pin::Pin<Box<impl AsyncBufRead>>, tx: mpsc::Sender<Vec<u8>>) -> io::Result<()> {
    loop {
        let chunk = body.fill_buf().await?.to_vec();
        if chunk.is_empty() {
            return Ok(());
        }
        body.consume_unpin(chunk.len());
        if tx.send(chunk).await.is_err() {
            // The decoder gave up on this text; its error says why.
            return Ok(());
        }
    }
}

/// A body's chunks as they arrive, read on the decoder's thread.
struct Chunks {
    rx: mpsc::Receiver<Vec<u8>>,
    chunk: Vec<u8>,
    at: usize,
}

impl Read for Chunks {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while self.at == self.chunk.len() {
            match self.rx.blocking_recv() {
                Some(c) => (self.chunk, self.at) = (c, 0),
                None => return Ok(0),
            }
        }
        let n = buf.len().min(self.chunk.len() - self.at);
        buf[..n].copy_from_slice(&self.chunk[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

/// Decode one page from `r`, adding its items to `fetched`; the page's continue token.
fn decode_page<T, F: Fn(Value) -> T>(
    r: impl Read,
    dec: &Decoder<F>,
    fetched: &mut Fetched<T>,
) -> serde_json::Result<Option<String>> {
    let (out, learned) = fetched;
    let mut each = |mut item: Value| {
        if dec.crd_list {
            learned.extend(kinds::served_by(&item));
        }
        // A row picks its columns itself: no `apiVersion`/`kind`, nothing to trim.
        if let Some(c) = &dec.columns {
            out.push((dec.convert)(c.row(&item)));
            return;
        }
        if let Some(m) = item.as_object_mut() {
            for (key, value) in [("apiVersion", &dec.api_version), ("kind", &dec.kind)] {
                if m.get(key).is_none_or(Value::is_null) {
                    m.insert(key.into(), Value::String(value.clone()));
                }
            }
        }
        if dec.crd_list {
            item = dec.keep.trim(item);
        }
        out.push((dec.convert)(item));
    };
    let mut d = serde_json::Deserializer::from_reader(r);
    let token = Page { keep: &dec.decoded, each: &mut each }.deserialize(&mut d)?;
    d.end()?;
    Ok(token)
}

/// A list page (`{"metadata": {"continue": ...}, "items": [...]}`): each item goes to `each` as
/// soon as it is decoded; the continue token is what is left.
struct Page<'a, E> {
    keep: &'a Keep,
    each: &'a mut E,
}

#[derive(Deserialize, Default)]
struct PageMeta {
    #[serde(rename = "continue", default)]
    next: Option<String>,
}

impl<'de, E: FnMut(Value)> DeserializeSeed<'de> for Page<'_, E> {
    type Value = Option<String>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, E: FnMut(Value)> Visitor<'de> for Page<'_, E> {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut next = None;
        while let Some(key) = map.next_key::<String>()? {
            match key.as_str() {
                "metadata" => next = map.next_value::<Option<PageMeta>>()?.and_then(|m| m.next),
                "items" => map.next_value_seed(Items { keep: self.keep, each: &mut *self.each })?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(next)
    }
}

/// A page's `items`, handed on one by one.
struct Items<'a, E> {
    keep: &'a Keep,
    each: &'a mut E,
}

impl<'de, E: FnMut(Value)> DeserializeSeed<'de> for Items<'_, E> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, E: FnMut(Value)> Visitor<'de> for Items<'_, E> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of objects")
    }

    fn visit_unit<Er>(self) -> Result<(), Er> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        while let Some(item) = seq.next_element_seed(self.keep.object())? {
            (self.each)(item.unwrap_or_default());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(text: &str, keep: &[&str], crd_list: bool) -> (Vec<Value>, Option<String>, usize) {
        let keep = Keep::new(keep);
        let decoded = if crd_list { keep.clone().with(&kinds::SERVED_BY) } else { keep.clone() };
        let dec = Decoder {
            api_version: "x/v1".into(),
            kind: "X".into(),
            keep,
            decoded,
            crd_list,
            columns: None,
            convert: |v| v,
        };
        let mut fetched = (Vec::new(), Vec::new());
        let token = decode_page(text.as_bytes(), &dec, &mut fetched).unwrap();
        (fetched.0, token, fetched.1.len())
    }

    #[test]
    fn a_page_is_decoded_item_by_item_and_trimmed() {
        let page = json!({"kind": "XList", "apiVersion": "x/v1", "metadata": {"resourceVersion": "7", "continue": "abc"},
                          "items": [{"metadata": {"name": "a", "managedFields": [{"big": 1}]}, "spec": {"s": 1}},
                                    {"apiVersion": null, "metadata": {"name": "b"}, "status": {}}]});
        let (items, token, _) = decode(&page.to_string(), &["metadata.name", "status"], false);
        assert_eq!(token.as_deref(), Some("abc"));
        assert_eq!(
            items,
            vec![
                json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "a"}}),
                json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "b"}, "status": {}})
            ],
            "apiVersion and kind filled in where the list leaves them out"
        );
        let (items, token, _) = decode(r#"{"metadata": {}, "items": null}"#, &[], false);
        assert!(items.is_empty() && token.is_none());
        let err = decode_page(
            &b"{\"items\": [{}, "[..],
            &Decoder {
                api_version: String::new(),
                kind: String::new(),
                keep: Keep::default(),
                decoded: Keep::default(),
                crd_list: false,
                columns: None,
                convert: |v| v,
            },
            &mut (vec![], vec![]),
        );
        assert!(err.is_err(), "a body cut short is an error, not a shorter list");
    }

    #[test]
    fn with_columns_each_item_is_a_flat_row() {
        let mut columns = Columns::default();
        columns.add("name", &["metadata.name".into()]).unwrap();
        columns.add("ready", &["status.conditions[0].status".into(), "status.phase".into()]).unwrap();
        let spec = ListSpec { columns: Some(columns), ..ListSpec::new("x/v1", "X", "") };
        let keep = spec.columns.as_ref().unwrap().keep();
        let dec = Decoder {
            api_version: "x/v1".into(),
            kind: "X".into(),
            decoded: keep.clone(),
            keep,
            crd_list: false,
            columns: spec.columns,
            convert: |v| v,
        };
        let page = json!({"items": [{"metadata": {"name": "a", "uid": "u"}, "status": {"conditions": [{"status": "True", "type": "Ready"}]}},
                                    {"metadata": {"name": "b"}, "status": {"phase": "Pending"}}]});
        let mut fetched = (Vec::new(), Vec::new());
        decode_page(page.to_string().as_bytes(), &dec, &mut fetched).unwrap();
        assert_eq!(fetched.0, vec![json!({"name": "a", "ready": "True"}), json!({"name": "b", "ready": "Pending"})]);
    }

    #[test]
    fn a_crd_list_teaches_kinds_and_keeps_only_what_was_asked() {
        let crd = json!({"metadata": {"name": "apps.wego.weave.works"},
            "spec": {"group": "wego.weave.works", "scope": "Namespaced", "names": {"kind": "App", "plural": "apps"},
                     "versions": [{"name": "v1alpha1", "served": true, "schema": {"big": 1}}]},
            "status": {"conditions": [{"type": "Established", "status": "True"}]}});
        let page = json!({"items": [crd]}).to_string();
        let (items, _, learned) = decode(&page, &["metadata.name", "spec.versions.name"], true);
        assert_eq!(learned, 1, "the kind the CRD serves is learnt from fields the caller did not keep");
        assert_eq!(
            items[0],
            json!({"apiVersion": "x/v1", "kind": "X", "metadata": {"name": "apps.wego.weave.works"},
                   "spec": {"versions": [{"name": "v1alpha1"}]}})
        );
    }
}
