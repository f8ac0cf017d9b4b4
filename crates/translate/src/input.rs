//! laddr-fetch NDJSON lines → rows grouped by resource (any input order is accepted; the
//! translator imposes the processing order of B §2.0).

use std::io::BufRead;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

/// The laddr resources `laddr-fetch` emits (the `resource` field of a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Tags,
    People,
    Projects,
    ProjectUpdates,
    ProjectBuzz,
    Blog,
}

impl Resource {
    /// Processing order (B §2.0).
    pub const ALL: [Resource; 6] = [
        Resource::Tags,
        Resource::People,
        Resource::Projects,
        Resource::ProjectUpdates,
        Resource::ProjectBuzz,
        Resource::Blog,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Resource::Tags => "tags",
            Resource::People => "people",
            Resource::Projects => "projects",
            Resource::ProjectUpdates => "project-updates",
            Resource::ProjectBuzz => "project-buzz",
            Resource::Blog => "blog",
        }
    }

    pub fn from_name(s: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

/// The line format version this crate reads.
pub const LINE_VERSION: u64 = 1;

/// A bad input line; always names the line number (1-based).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("input line {line}: invalid JSON: {source}")]
    Json {
        line: u64,
        source: serde_json::Error,
    },
    #[error("input line {line}: {what}")]
    Shape { line: u64, what: String },
    #[error("reading input after line {line}: {source}")]
    Io { line: u64, source: std::io::Error },
}

/// One laddr row with where it came from. The row is kept as its (validated) JSON text and
/// parsed only when translated, so a full snapshot costs about its own size in memory.
#[derive(Debug, Clone)]
pub struct Row {
    /// The 1-based input line, when it came from NDJSON.
    pub line: Option<u64>,
    /// The laddr row as sent (a JSON object).
    pub raw: Box<RawValue>,
}

impl Row {
    /// The row as a JSON value.
    pub fn value(&self) -> Result<Value, serde_json::Error> {
        serde_json::from_str(self.raw.get())
    }
}

/// One parsed line: `{"v":1,"resource":"…","row":{…}}`.
#[derive(Debug, Clone)]
pub struct InputLine {
    pub resource: Resource,
    /// The `row` object's JSON text.
    pub row: Box<RawValue>,
}

#[derive(Deserialize)]
struct Envelope {
    v: Option<Value>,
    resource: Option<Value>,
    row: Option<Box<RawValue>>,
    total: Option<Value>,
}

/// Parse one NDJSON line. Blank lines and `laddr-fetch --totals` lines
/// (`{"v":1,"resource":…,"total":n}`) give `Ok(None)`. Unknown keys besides `v`, `resource`
/// and `row` are ignored (forward compatible); a different `v` is an error.
pub fn parse_line(text: &str, line: u64) -> Result<Option<InputLine>, InputError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let shape = |what: String| InputError::Shape { line, what };
    let env: Envelope =
        serde_json::from_str(text).map_err(|source| InputError::Json { line, source })?;
    match env.v.as_ref().and_then(Value::as_u64) {
        Some(LINE_VERSION) => {}
        Some(other) => {
            return Err(shape(format!(
                "unsupported line version v={other} (this reads v=1)"
            )));
        }
        None => return Err(shape("missing or non-integer \"v\"".to_owned())),
    }
    let resource = match &env.resource {
        Some(Value::String(s)) => {
            Resource::from_name(s).ok_or_else(|| shape(format!("unknown resource \"{s}\"")))?
        }
        _ => return Err(shape("missing or non-string \"resource\"".to_owned())),
    };
    match env.row {
        None if env.total.is_some() => Ok(None),
        Some(row) if row.get().starts_with('{') => Ok(Some(InputLine { resource, row })),
        _ => Err(shape("\"row\" must be a JSON object".to_owned())),
    }
}

/// All rows, bucketed by resource, each bucket in input order.
#[derive(Debug, Default, Clone)]
pub struct Input {
    buckets: [Vec<Row>; 6],
}

impl Input {
    /// Add a row (for callers that build rows themselves).
    pub fn push(&mut self, resource: Resource, value: Value, line: Option<u64>) {
        // Serialising a Value cannot fail (string keys only).
        if let Ok(raw) = serde_json::value::to_raw_value(&value) {
            self.push_raw(resource, raw, line);
        }
    }

    /// Add a row given as JSON text (as [`parse_line`] returns it).
    pub fn push_raw(&mut self, resource: Resource, raw: Box<RawValue>, line: Option<u64>) {
        self.buckets[resource as usize].push(Row { line, raw });
    }

    /// The rows of one resource, in input order.
    pub fn rows(&self, resource: Resource) -> &[Row] {
        &self.buckets[resource as usize]
    }

    /// Keep at most `n` rows per resource (the reference's `--limit`).
    pub fn truncate_each(&mut self, n: usize) {
        for b in &mut self.buckets {
            b.truncate(n);
        }
    }

    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read a whole NDJSON stream; the first bad line is an error naming its number.
    pub fn read<R: BufRead>(reader: R) -> Result<Input, InputError> {
        let mut input = Input::default();
        let mut line_no = 0u64;
        for text in reader.lines() {
            let text = text.map_err(|source| InputError::Io {
                line: line_no,
                source,
            })?;
            line_no += 1;
            if let Some(l) = parse_line(&text, line_no)? {
                input.push_raw(l.resource, l.row, Some(line_no));
            }
        }
        Ok(input)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lines_and_names_bad_ones() {
        let l = parse_line(r#"{"v":1,"resource":"project-buzz","row":{"ID":800}}"#, 3)
            .unwrap()
            .unwrap();
        assert_eq!(l.resource, Resource::ProjectBuzz);
        assert_eq!(l.row.get(), r#"{"ID":800}"#);
        assert!(parse_line("  ", 4).unwrap().is_none());
        assert!(
            parse_line(r#"{"v":1,"resource":"tags","total":1017}"#, 5)
                .unwrap()
                .is_none()
        );
        // laddr's PHP escapes are kept verbatim in the row text.
        let l = parse_line(r#"{"v":1,"resource":"tags","row":{"T":"a\/b \u00e9"}}"#, 6)
            .unwrap()
            .unwrap();
        assert_eq!(l.row.get(), r#"{"T":"a\/b \u00e9"}"#);
        let e = parse_line("{nope", 7).unwrap_err().to_string();
        assert!(e.starts_with("input line 7: invalid JSON"), "{e}");
        let e = parse_line(r#"{"v":2,"resource":"tags","row":{}}"#, 8)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "input line 8: unsupported line version v=2 (this reads v=1)"
        );
        let e = parse_line(r#"{"v":1,"resource":"members","row":{}}"#, 9)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "input line 9: unknown resource \"members\"");
        let e = parse_line(r#"{"v":1,"resource":"tags","row":[]}"#, 10)
            .unwrap_err()
            .to_string();
        assert_eq!(e, "input line 10: \"row\" must be a JSON object");
    }

    #[test]
    fn reads_any_order_into_buckets() {
        let text = concat!(
            "{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":10}}\n",
            "\n",
            "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n",
            "{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":20}}\n",
        );
        let input = Input::read(text.as_bytes()).unwrap();
        assert_eq!(input.len(), 3);
        let people: Vec<_> = input
            .rows(Resource::People)
            .iter()
            .map(|r| (r.line, r.value().unwrap()["ID"].clone()))
            .collect();
        assert_eq!(people, [(Some(1), 10.into()), (Some(4), 20.into())]);
        assert_eq!(input.rows(Resource::Tags)[0].line, Some(3));
    }
}
