//! A JSON object kept as its fields in file order, each value as its original bytes, so that a
//! rewrite keeps unknown fields, field order and untouched values exactly as they were.

use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

/// One JSONL line's object.
#[derive(Clone, Debug, Default)]
pub struct Fields {
    entries: Vec<(String, Box<RawValue>)>,
}

impl Fields {
    /// Parses one line; the line must be a JSON object.
    pub fn parse(line: &str) -> Result<Fields, String> {
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))
    }

    /// The raw JSON text of a field.
    pub fn raw(&self, name: &str) -> Option<&str> {
        self.entries
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.get())
    }

    /// Parses a field's value; `None` when the field is absent.
    pub fn value(&self, name: &str) -> Option<serde_json::Value> {
        // A RawValue is always valid JSON, so parsing it back cannot fail.
        self.raw(name).and_then(|r| serde_json::from_str(r).ok())
    }

    /// A string field, `Ok(None)` when absent or null; `Err` names the wrong type.
    pub fn opt_str(&self, name: &str) -> Result<Option<String>, String> {
        match self.value(name) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(serde_json::Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(format!("`{name}` must be a string, got {other}")),
        }
    }

    /// A required string field.
    pub fn req_str(&self, name: &str) -> Result<String, String> {
        match self.value(name) {
            Some(serde_json::Value::String(s)) => Ok(s),
            None => Err(format!("missing `{name}`")),
            Some(other) => Err(format!("`{name}` must be a string, got {other}")),
        }
    }

    /// Sets a field, keeping its position when it exists, appending it otherwise.
    pub fn set(&mut self, name: &str, value: &serde_json::Value) {
        let raw = RawValue::from_string(value.to_string()).unwrap_or_else(|_| null());
        match self.entries.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = raw,
            None => self.entries.push((name.to_owned(), raw)),
        }
    }

    /// Sets a field to JSON text produced by [`Fields::write_json`] (valid by construction).
    pub(crate) fn set_raw(&mut self, name: &str, json: String) {
        let raw = RawValue::from_string(json).unwrap_or_else(|_| null());
        match self.entries.iter_mut().find(|(k, _)| k == name) {
            Some(slot) => slot.1 = raw,
            None => self.entries.push((name.to_owned(), raw)),
        }
    }

    /// Appends the compact JSON text of the object (no newline).
    pub fn write_json(&self, out: &mut String) {
        out.push('{');
        for (i, (k, v)) in self.entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // Serialising a str cannot fail.
            out.push_str(&serde_json::to_string(k).unwrap_or_default());
            out.push(':');
            out.push_str(v.get());
        }
        out.push('}');
    }

    /// The field names in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|(k, _)| k.as_str())
    }
}

fn null() -> Box<RawValue> {
    RawValue::from_string("null".to_owned()).unwrap_or_default()
}

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut entries: Vec<(String, Box<RawValue>)> = Vec::new();
                while let Some(k) = map.next_key::<String>()? {
                    let v: Box<RawValue> = map.next_value()?;
                    // JSON.parse semantics: a repeated key keeps the last value.
                    match entries.iter_mut().find(|(ek, _)| *ek == k) {
                        Some(slot) => slot.1 = v,
                        None => entries.push((k, v)),
                    }
                }
                Ok(Fields { entries })
            }
        }
        d.deserialize_map(V).map_err(de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_order_and_unknown_fields() {
        let line = r#"{"z":1,"personId":"x","nested":{"b":2,"a":[1, 2]},"n":1.50}"#;
        let mut f = Fields::parse(line).unwrap();
        let mut out = String::new();
        f.write_json(&mut out);
        assert_eq!(out, line);
        f.set("personId", &serde_json::json!("y"));
        f.set("new", &serde_json::json!(null));
        out.clear();
        f.write_json(&mut out);
        assert_eq!(
            out,
            r#"{"z":1,"personId":"y","nested":{"b":2,"a":[1, 2]},"n":1.50,"new":null}"#
        );
    }

    #[test]
    fn rejects_non_objects() {
        assert!(Fields::parse("[1]").is_err());
        assert!(Fields::parse("{").is_err());
    }
}
