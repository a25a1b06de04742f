//! Objects trimmed to the fields a caller keeps, while they are decoded: a field nobody reads
//! (`managedFields`, a CRD's schema, a Deployment's pod template) is skipped by the parser and
//! never allocated, so an object costs what is kept of it, not what the server stores.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// Dotted paths to keep, as a tree (`metadata.name` and `metadata.labels` share `metadata`).
/// A path crossing an array keeps that field of every element, as kubectl's
/// `{.spec.versions[*].name}`; an element without it stays as an empty object, so positions hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Keep {
    /// Keep this value whole.
    all: bool,
    fields: BTreeMap<String, Keep>,
}

impl Keep {
    /// `paths`, with `apiVersion` and `kind` always; no paths keeps everything.
    pub fn new<S: AsRef<str>>(paths: &[S]) -> Self {
        if paths.is_empty() {
            return Keep { all: true, fields: BTreeMap::new() };
        }
        Keep::default().with(&["apiVersion", "kind"]).with(paths)
    }

    /// These paths as well.
    pub fn with<S: AsRef<str>>(mut self, paths: &[S]) -> Self {
        for p in paths {
            self.add(p.as_ref());
        }
        self
    }

    /// One path more, given as its keys (for keys that hold dots).
    pub fn with_parts(mut self, parts: &[&str]) -> Self {
        self.add_parts(parts.iter().copied());
        self
    }

    fn add(&mut self, path: &str) {
        self.add_parts(path.split('.'));
    }

    fn add_parts<'a>(&mut self, parts: impl Iterator<Item = &'a str>) {
        let mut node = self;
        for part in parts.filter(|s| !s.is_empty()) {
            if node.all {
                return;
            }
            node = node.fields.entry(part.to_string()).or_default();
        }
        node.all = true;
        node.fields.clear();
    }

    /// An object already decoded, trimmed to these paths (for one decoded with more).
    pub fn trim(&self, o: Value) -> Value {
        if self.all {
            return o;
        }
        self.object().deserialize(o).ok().flatten().unwrap_or_else(|| Value::Object(Map::new()))
    }

    /// The seed that decodes one object trimmed to these paths (an object whatever it holds).
    pub fn object(&self) -> Trim<'_> {
        Trim { keep: self, always: true }
    }
}

/// Decodes one value keeping what its [`Keep`] says. `None` where trimming leaves nothing of an
/// object that holds none of the paths (so no empty `status: {}` appears), unless `always`.
pub struct Trim<'a> {
    keep: &'a Keep,
    always: bool,
}

impl Trim<'_> {
    fn nothing(&self) -> Option<Value> {
        self.always.then(|| Value::Object(Map::new()))
    }
}

impl<'de> DeserializeSeed<'de> for Trim<'_> {
    type Value = Option<Value>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        if self.keep.all {
            return Value::deserialize(d).map(Some);
        }
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Trim<'_> {
    type Value = Option<Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    // A path going on below a scalar (or null) does not exist.
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(self.nothing())
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(self.nothing())
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(self.nothing())
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(self.nothing())
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(self.nothing())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(self.nothing())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(v) = seq.next_element_seed(self.keep.object())? {
            out.push(v.unwrap_or_default());
        }
        Ok(Some(Value::Array(out)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Map::new();
        while let Some(field) = map.next_key_seed(Field(&self.keep.fields))? {
            match field {
                Some((name, keep)) => {
                    if let Some(v) = map.next_value_seed(Trim { keep, always: false })? {
                        out.insert(name, v);
                    }
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(if out.is_empty() { self.nothing() } else { Some(Value::Object(out)) })
    }
}

/// A key of an object: its name and what to keep under it, or `None` when nothing is (then the
/// key is never copied out of the input).
struct Field<'a>(&'a BTreeMap<String, Keep>);

impl<'de, 'a> DeserializeSeed<'de> for Field<'a> {
    type Value = Option<(String, &'a Keep)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'a> Visitor<'_> for Field<'a> {
    type Value = Option<(String, &'a Keep)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_str<E>(self, name: &str) -> Result<Self::Value, E> {
        Ok(self.0.get_key_value(name).map(|(k, keep)| (k.clone(), keep)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn decode(text: &str, keep: &Keep) -> Value {
        let mut d = serde_json::Deserializer::from_reader(text.as_bytes());
        keep.object().deserialize(&mut d).unwrap().unwrap()
    }

    #[test]
    fn keeps_only_the_asked_paths() {
        let o = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "managedFields": [1, 2], "labels": {"l": "v"}},
                       "spec": {"big": "x"}, "status": {"conditions": [{"type": "Ready"}], "other": 1}});
        let keep =
            Keep::new(&["metadata.name", "metadata.labels", "status.conditions", "missing.x", "spec.big.deeper"]);
        let want = json!({"apiVersion": "v1", "kind": "X", "metadata": {"name": "a", "labels": {"l": "v"}},
                          "status": {"conditions": [{"type": "Ready"}]}});
        assert_eq!(decode(&o.to_string(), &keep), want, "decoded from text");
        assert_eq!(keep.trim(o.clone()), want, "trimmed after decoding");
        assert_eq!(Keep::new::<&str>(&[]).trim(o.clone()), o, "nothing to keep: everything");
        assert_eq!(decode(&o.to_string(), &Keep::new::<&str>(&[])), o);
        assert_eq!(
            Keep::new(&["metadata", "metadata.name"]).trim(o.clone())["metadata"],
            o["metadata"],
            "a whole field wins"
        );
    }

    #[test]
    fn a_path_through_an_array_keeps_that_field_of_each_element() {
        let crd = json!({"spec": {"versions": [{"name": "v1", "served": true, "schema": {"big": 1}}, {"name": "v0", "served": false}, {"schema": 1}, 3]}});
        let keep = Keep::new(&["spec.versions.name", "spec.versions.served"]);
        let want =
            json!({"spec": {"versions": [{"name": "v1", "served": true}, {"name": "v0", "served": false}, {}, {}]}});
        assert_eq!(decode(&crd.to_string(), &keep), want);
        assert_eq!(keep.trim(crd), want);
    }

    #[test]
    fn more_paths_then_fewer() {
        let o = json!({"kind": "K", "spec": {"group": "g", "scope": "Namespaced"}, "metadata": {"name": "n"}});
        let keep = Keep::new(&["metadata.name"]);
        let wider = keep.clone().with(&["spec.group"]);
        let decoded = decode(&o.to_string(), &wider);
        assert_eq!(decoded, json!({"kind": "K", "spec": {"group": "g"}, "metadata": {"name": "n"}}));
        assert_eq!(keep.trim(decoded), json!({"kind": "K", "metadata": {"name": "n"}}));
        assert_eq!(decode("3", &keep), json!({}), "not an object: nothing of it is kept");
    }
}
