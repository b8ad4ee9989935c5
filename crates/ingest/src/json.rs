//! The parsed form of one vendor document: a JSON tree that borrows its strings from the record.
//!
//! Adapters and the indicator extractor read every record once, so the tree is built for reading:
//! strings without escapes point into the record's text instead of being copied, and an object is
//! one vector of entries sorted by key (looked up by binary search) instead of a tree of map nodes.
//! Building and dropping `serde_json::Value` was a quarter of the normalization time
//! (docs/performance.md); this tree is parsed by the same serde_json parser, so errors, the nesting
//! limit and number handling are unchanged.
//!
//! Semantics match `serde_json::Value` with its default map: keys iterate in byte order, and of
//! duplicate keys the last one wins.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
pub use serde_json::Number;
use serde_json::Value;

/// A JSON value whose strings borrow from the text it was parsed from where they can.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Json<'a> {
    #[default]
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// Objects up to this many keys are searched by a linear scan.
const LINEAR_LOOKUP: usize = 32;

/// A JSON object: entries sorted by key, keys unique.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a> {
    entries: Vec<(Cow<'a, str>, Json<'a>)>,
    /// Some key holds a `.` (flattened documents such as `{"kibana.alert.rule.name": ..}`).
    dotted: bool,
}

impl<'a> Object<'a> {
    /// Builds an object from entries in any order; of duplicate keys the last one wins.
    pub fn from_entries(mut entries: Vec<(Cow<'a, str>, Json<'a>)>) -> Self {
        if !entries.is_sorted_by(|a, b| a.0 < b.0) {
            // Stable, so equal keys stay in document order and the last of each run is kept.
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            if entries.windows(2).any(|w| w[0].0 == w[1].0) {
                let mut kept: Vec<(Cow<'a, str>, Json<'a>)> = Vec::with_capacity(entries.len());
                for e in entries {
                    match kept.last_mut() {
                        Some(last) if last.0 == e.0 => *last = e,
                        _ => kept.push(e),
                    }
                }
                entries = kept;
            }
        }
        let dotted = entries.iter().any(|(k, _)| k.as_bytes().contains(&b'.'));
        Self { entries, dotted }
    }

    /// Whether some key holds a `.`: path lookups need not try flattened keys when none does.
    pub fn has_dotted_keys(&self) -> bool {
        self.dotted
    }

    pub fn new() -> Self {
        Self::default()
    }

    /// Where `key` is. Vendor objects are mostly small and their keys differ in length, so a scan
    /// that compares lengths first beats a binary search of byte comparisons up to a few dozen keys.
    fn position(&self, key: &str) -> Option<usize> {
        if self.entries.len() <= LINEAR_LOOKUP {
            self.entries
                .iter()
                .position(|(k, _)| k.len() == key.len() && k.as_bytes() == key.as_bytes())
        } else {
            self.entries
                .binary_search_by(|(k, _)| k.as_ref().cmp(key))
                .ok()
        }
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.position(key).map(|i| &self.entries[i].1)
    }

    pub fn get_mut(&mut self, key: &str) -> Option<&mut Json<'a>> {
        self.position(key).map(|i| &mut self.entries[i].1)
    }

    /// Sets `key`, replacing its value when present.
    pub fn insert(&mut self, key: Cow<'a, str>, value: Json<'a>) {
        match self.entries.binary_search_by(|(k, _)| k.as_ref().cmp(&key)) {
            Ok(i) => self.entries[i].1 = value,
            Err(i) => {
                self.dotted |= key.as_bytes().contains(&b'.');
                self.entries.insert(i, (key, value));
            }
        }
    }

    pub fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Json<'a>)> {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }

    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_ref())
    }

    pub fn values(&self) -> impl Iterator<Item = &Json<'a>> {
        self.entries.iter().map(|(_, v)| v)
    }

    /// An owned copy that borrows nothing.
    pub fn into_owned(self) -> Object<'static> {
        Object {
            entries: self
                .entries
                .into_iter()
                .map(|(k, v)| (Cow::Owned(k.into_owned()), v.into_owned()))
                .collect(),
            dotted: self.dotted,
        }
    }
}

impl<'b, 'a> IntoIterator for &'b Object<'a> {
    type Item = (&'b str, &'b Json<'a>);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'b, (Cow<'a, str>, Json<'a>)>,
        fn(&'b (Cow<'a, str>, Json<'a>)) -> (&'b str, &'b Json<'a>),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

impl<'a> Json<'a> {
    /// Parses `text`; strings without escapes borrow from it.
    pub fn parse(text: &'a str) -> serde_json::Result<Self> {
        serde_json::from_str(text)
    }

    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.as_object()?.get(key)
    }

    /// Takes the value, leaving `Null`.
    pub fn take(&mut self) -> Json<'a> {
        std::mem::take(self)
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Self::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_object(&self) -> Option<&Object<'a>> {
        match self {
            Self::Object(o) => Some(o),
            _ => None,
        }
    }

    pub fn as_array(&self) -> Option<&Vec<Json<'a>>> {
        match self {
            Self::Array(a) => Some(a),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Self::Number(n) => n.as_u64(),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Self::Number(n) => n.as_i64(),
            _ => None,
        }
    }

    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Number(n) => n.as_f64(),
            _ => None,
        }
    }

    pub fn as_bool(&self) -> Option<bool> {
        match self {
            Self::Bool(b) => Some(*b),
            _ => None,
        }
    }

    pub fn is_null(&self) -> bool {
        matches!(self, Self::Null)
    }

    pub fn is_object(&self) -> bool {
        matches!(self, Self::Object(_))
    }

    pub fn is_array(&self) -> bool {
        matches!(self, Self::Array(_))
    }

    pub fn is_string(&self) -> bool {
        matches!(self, Self::String(_))
    }

    pub fn is_number(&self) -> bool {
        matches!(self, Self::Number(_))
    }

    /// An owned copy that borrows nothing.
    pub fn into_owned(self) -> Json<'static> {
        match self {
            Self::Null => Json::Null,
            Self::Bool(b) => Json::Bool(b),
            Self::Number(n) => Json::Number(n),
            Self::String(s) => Json::String(Cow::Owned(s.into_owned())),
            Self::Array(a) => Json::Array(a.into_iter().map(Json::into_owned).collect()),
            Self::Object(o) => Json::Object(o.into_owned()),
        }
    }

    /// The same value as a `serde_json::Value`.
    pub fn to_value(&self) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => Value::Bool(*b),
            Self::Number(n) => Value::Number(n.clone()),
            Self::String(s) => Value::String(s.to_string()),
            Self::Array(a) => Value::Array(a.iter().map(Json::to_value).collect()),
            Self::Object(o) => Value::Object(
                o.iter()
                    .map(|(k, v)| (k.to_owned(), v.to_value()))
                    .collect(),
            ),
        }
    }
}

impl From<&Value> for Json<'static> {
    fn from(v: &Value) -> Self {
        match v {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::String(Cow::Owned(s.clone())),
            Value::Array(a) => Json::Array(a.iter().map(Json::from).collect()),
            Value::Object(o) => Json::Object(Object::from_entries(
                o.iter()
                    .map(|(k, v)| (Cow::Owned(k.clone()), Json::from(v)))
                    .collect(),
            )),
        }
    }
}

impl From<Value> for Json<'static> {
    fn from(v: Value) -> Self {
        Json::from(&v)
    }
}

impl fmt::Display for Json<'_> {
    /// Compact JSON text.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.to_value(), f)
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Sized for a typical vendor alert, so the stacks rarely grow.
        let mut stacks = Stacks {
            entries: Vec::with_capacity(64),
            items: Vec::with_capacity(32),
        };
        JsonSeed {
            stacks: &mut stacks,
        }
        .deserialize(d)
    }
}

/// Entries and items of the objects and arrays being read, innermost last. Each object or array is
/// moved out in one exactly sized vector when it ends, so no vector grows while a document is read.
struct Stacks<'de> {
    entries: Vec<(Cow<'de, str>, Json<'de>)>,
    items: Vec<Json<'de>>,
}

struct JsonSeed<'s, 'de> {
    stacks: &'s mut Stacks<'de>,
}

impl<'de> DeserializeSeed<'de> for JsonSeed<'_, 'de> {
    type Value = Json<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for JsonSeed<'_, 'de> {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(v.into()))
    }

    fn visit_f64<E>(self, v: f64) -> Result<Json<'de>, E> {
        Ok(Number::from_f64(v).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(v)))
    }

    fn visit_str<E>(self, v: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v.to_owned())))
    }

    fn visit_string<E>(self, v: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(v)))
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Json<'de>, D::Error> {
        self.deserialize(d)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let start = self.stacks.items.len();
        while let Some(item) = seq.next_element_seed(JsonSeed {
            stacks: &mut *self.stacks,
        })? {
            self.stacks.items.push(item);
        }
        Ok(Json::Array(self.stacks.items.drain(start..).collect()))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let start = self.stacks.entries.len();
        while let Some(key) = map.next_key_seed(KeySeed)? {
            let value = map.next_value_seed(JsonSeed {
                stacks: &mut *self.stacks,
            })?;
            self.stacks.entries.push((key, value));
        }
        Ok(Json::Object(Object::from_entries(
            self.stacks.entries.drain(start..).collect(),
        )))
    }
}

/// Reads an object key, borrowing it when the parser can.
struct KeySeed;

impl<'de> DeserializeSeed<'de> for KeySeed {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn strings_without_escapes_are_borrowed() {
        let text = r#"{"b":"plain","a":"esc\"aped","c":[1,-2,2.5,true,null]}"#;
        let j = Json::parse(text).unwrap();
        let o = j.as_object().unwrap();
        assert!(matches!(
            o.get("b"),
            Some(Json::String(Cow::Borrowed("plain")))
        ));
        assert!(matches!(o.get("a"), Some(Json::String(Cow::Owned(_)))));
        assert_eq!(o.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(j.to_value(), serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn duplicate_keys_last_wins_like_serde_json() {
        let text = r#"{"k":1,"z":0,"k":2,"a":{"x":1,"x":"two"},"k":3}"#;
        let j = Json::parse(text).unwrap();
        assert_eq!(j.get("k").and_then(Json::as_u64), Some(3));
        assert_eq!(j.as_object().unwrap().len(), 3);
        assert_eq!(j.to_value(), serde_json::from_str::<Value>(text).unwrap());
    }

    #[test]
    fn nesting_limit_is_serde_jsons() {
        let deep = format!("{}{}", "[".repeat(1000), "]".repeat(1000));
        let e = Json::parse(&deep).unwrap_err();
        assert!(e.to_string().contains("recursion limit"), "{e}");
    }

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1e12f64..1e12).prop_map(Value::from),
            "\\PC{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-d\"\\\\é]{0,3}", inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
    }

    proptest! {
        /// Parsing any document gives the same value serde_json does, duplicate keys included.
        #[test]
        fn parse_agrees_with_serde_json(v in arb_value(), dup in any::<bool>()) {
            let mut text = serde_json::to_string(&v).unwrap();
            if dup && text.starts_with("{\"") {
                // Repeat the first key at the end with another value.
                let key_end = text[1..].find("\":").map(|i| i + 1);
                if let Some(end) = key_end {
                    let key = text[1..=end].to_owned();
                    text.pop();
                    let sep = if text.len() > 1 { "," } else { "" };
                    text = format!("{text}{sep}{key}:\"dup\"}}");
                }
            }
            let expected: Result<Value, _> = serde_json::from_str(&text);
            let got = Json::parse(&text);
            prop_assert_eq!(got.map(|j| j.to_value()).ok(), expected.ok());
        }
    }
}
