//! laddr's list envelope (`reference/A` §1), parsed leniently: handler extras, `conditions`
//! and unknown keys are ignored; `limit`/`offset` may be an int or `false`; rows stay raw.

use serde::Deserialize;
use serde_json::value::RawValue;

/// A list response. `data` borrows each row's bytes from the body.
#[derive(Debug, Deserialize)]
pub struct Envelope<'a> {
    /// laddr's success flag.
    pub success: Option<bool>,
    /// laddr's error message, on failure.
    pub message: Option<String>,
    /// The rows, raw.
    #[serde(borrow)]
    pub data: Option<Vec<&'a RawValue>>,
    /// The server's row count, as sent.
    pub total: Option<serde_json::Value>,
}

impl Envelope<'_> {
    /// `total` as a non-negative integer (laddr sends an int; a digit string is tolerated).
    pub fn total(&self) -> Option<u64> {
        match self.total.as_ref()? {
            serde_json::Value::Number(n) => n.as_u64(),
            serde_json::Value::String(s) => s.parse().ok(),
            _ => None,
        }
    }
}

/// Just enough of a row to key it: the integer `ID`.
#[derive(Debug, Deserialize)]
pub struct RowKey {
    /// The row's laddr ID.
    #[serde(rename = "ID")]
    pub id: i64,
}

/// Fields that only an authenticated view of laddr carries. Their presence anywhere in a row
/// means the request was not anonymous (`reference/A` §3, §7).
pub const PII_FIELDS: [&str; 4] = ["Email", "Phone", "BirthDate", "Password"];

/// The first PII field name found at any depth of `v`, with its JSON path.
pub fn find_pii(v: &serde_json::Value) -> Option<String> {
    fn walk(v: &serde_json::Value, path: &mut Vec<String>) -> Option<String> {
        match v {
            serde_json::Value::Object(m) => {
                for (k, x) in m {
                    if PII_FIELDS.contains(&k.as_str()) {
                        path.push(k.clone());
                        return Some(path.join("."));
                    }
                    path.push(k.clone());
                    if let Some(p) = walk(x, path) {
                        return Some(p);
                    }
                    path.pop();
                }
                None
            }
            serde_json::Value::Array(a) => {
                for (i, x) in a.iter().enumerate() {
                    path.push(i.to_string());
                    if let Some(p) = walk(x, path) {
                        return Some(p);
                    }
                    path.pop();
                }
                None
            }
            _ => None,
        }
    }
    walk(v, &mut Vec::new())
}

/// Remove JSON whitespace outside strings, keeping every string byte (and escape) as sent.
/// laddr never pretty-prints, but a row must fit on one NDJSON line whatever the source does.
pub fn minify(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut in_str = false;
    let mut escaped = false;
    for c in raw.chars() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '"' {
            in_str = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_tolerates_false_and_extras() {
        let body = r#"{"membersTotal":3,"success":true,"data":[{"ID":2},{"ID":1}],"conditions":["x"],"total":2,"limit":false,"offset":false}"#;
        let e: Envelope = serde_json::from_str(body).unwrap();
        assert_eq!(e.total(), Some(2));
        assert_eq!(e.data.unwrap()[1].get(), r#"{"ID":1}"#);
    }

    #[test]
    fn pii_found_when_nested() {
        let v: serde_json::Value =
            serde_json::from_str(r#"{"ID":1,"Author":{"ID":2,"Email":"a@b"}}"#).unwrap();
        assert_eq!(find_pii(&v).as_deref(), Some("Author.Email"));
        let v: serde_json::Value = serde_json::from_str(r#"{"ID":1,"About":"Email me"}"#).unwrap();
        assert_eq!(find_pii(&v), None);
    }

    #[test]
    fn minify_keeps_strings() {
        assert_eq!(
            minify("{ \"a b\" :\n [1, \"x\\\" y\"] }"),
            "{\"a b\":[1,\"x\\\" y\"]}"
        );
    }
}
