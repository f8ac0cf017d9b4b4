//! laddr-fetch NDJSON lines → rows grouped by resource (any input order is accepted; the
//! translator imposes the processing order of B §2.0).
//!
//! Three line shapes are read: rows (`{"v":1,"resource":…,"row":{…}}`), laddr-fetch's end
//! line after each resource's rows (`{"v":1,"resource":…,"end":{"rows":n,"total":n|null,
//! "complete":bool}}`, recorded in [`Input::ends`]), and `laddr-fetch --totals` lines
//! (`{"v":1,"resource":…,"total":n}`, ignored). Anything else is an error naming the line.

use std::collections::BTreeMap;
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

/// A resource's end line: what laddr-fetch says it wrote for that resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct End {
    /// Rows written for the resource (checked against the rows read).
    pub rows: u64,
    /// The server's `total`, when laddr-fetch saw one.
    pub total: Option<u64>,
    /// True only when the resource came back whole (no lost rows, no `--limit`).
    pub complete: bool,
}

/// One parsed line that carries something: a row or a resource's end line.
#[derive(Debug, Clone)]
pub enum Parsed {
    Row(InputLine),
    End(Resource, End),
}

#[derive(Deserialize)]
struct Envelope {
    v: Option<Value>,
    resource: Option<Value>,
    row: Option<Box<RawValue>>,
    end: Option<Value>,
    total: Option<Value>,
}

/// Parse one NDJSON line, keeping only rows. Blank lines, end lines and `laddr-fetch
/// --totals` lines give `Ok(None)`; use [`parse_record`] (or [`Input::read`]) to see end lines.
pub fn parse_line(text: &str, line: u64) -> Result<Option<InputLine>, InputError> {
    Ok(match parse_record(text, line)? {
        Some(Parsed::Row(l)) => Some(l),
        _ => None,
    })
}

/// Parse one NDJSON line. Blank lines and `laddr-fetch --totals` lines
/// (`{"v":1,"resource":…,"total":n}`) give `Ok(None)`. Unknown keys besides `v`, `resource`,
/// `row` and `end` are ignored (forward compatible); a different `v`, a line with both `row`
/// and `end`, or one with neither (and no `total`) is an error.
pub fn parse_record(text: &str, line: u64) -> Result<Option<Parsed>, InputError> {
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
    match (env.row, env.end) {
        (Some(_), Some(_)) => Err(shape(
            "a line holds either \"row\" or \"end\", not both".to_owned(),
        )),
        (None, Some(end)) => parse_end(&end)
            .map(|end| Some(Parsed::End(resource, end)))
            .map_err(|what| shape(format!("end line of {}: {what}", resource.as_str()))),
        (None, None) if env.total.is_some() => Ok(None),
        (Some(row), None) if row.get().starts_with('{') => {
            Ok(Some(Parsed::Row(InputLine { resource, row })))
        }
        _ => Err(shape("\"row\" must be a JSON object".to_owned())),
    }
}

/// `{"rows":n,"total":n|null,"complete":bool}`; a missing `total` reads as null.
fn parse_end(end: &Value) -> Result<End, String> {
    let Some(obj) = end.as_object() else {
        return Err("\"end\" must be a JSON object".to_owned());
    };
    let rows = obj
        .get("rows")
        .and_then(Value::as_u64)
        .ok_or("\"end.rows\" must be a non-negative integer")?;
    let total = match obj.get("total") {
        None | Some(Value::Null) => None,
        Some(t) => Some(
            t.as_u64()
                .ok_or("\"end.total\" must be a non-negative integer or null")?,
        ),
    };
    let complete = obj
        .get("complete")
        .and_then(Value::as_bool)
        .ok_or("\"end.complete\" must be true or false")?;
    if complete && total.is_some_and(|t| t != rows) {
        return Err(format!(
            "says complete, but rows {rows} differ from total {}",
            total.unwrap_or_default()
        ));
    }
    Ok(End {
        rows,
        total,
        complete,
    })
}

/// All rows, bucketed by resource, each bucket in input order, and the end lines read.
#[derive(Debug, Default, Clone)]
pub struct Input {
    buckets: [Vec<Row>; 6],
    ends: BTreeMap<Resource, End>,
    /// The input line of each end line, for naming a row that comes after it.
    end_lines: BTreeMap<Resource, u64>,
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

    /// The end line of each resource that had one (laddr-fetch writes one per resource;
    /// hand-made input usually has none). Its `rows` matched the rows read when it was read.
    pub fn ends(&self) -> &BTreeMap<Resource, End> {
        &self.ends
    }

    /// Resources with rows but no end line while other resources have one: laddr-fetch output
    /// cut short (its last resources' end lines never arrived). Empty for input without any
    /// end line.
    pub fn without_end(&self) -> Vec<Resource> {
        if self.ends.is_empty() {
            return Vec::new();
        }
        Resource::ALL
            .into_iter()
            .filter(|r| !self.rows(*r).is_empty() && !self.ends.contains_key(r))
            .collect()
    }

    /// Record a resource's end line read at input line `line`: its `rows` must equal the rows
    /// read so far for the resource, and a resource has one end line.
    pub fn push_end(&mut self, resource: Resource, end: End, line: u64) -> Result<(), InputError> {
        let shape = |what: String| InputError::Shape { line, what };
        let name = resource.as_str();
        if let Some(first) = self.end_lines.get(&resource) {
            return Err(shape(format!(
                "a second end line for {name} (the first is line {first})"
            )));
        }
        let read = self.rows(resource).len() as u64;
        if end.rows != read {
            return Err(shape(format!(
                "the end line of {name} says {} rows, but {read} were read: the input was cut \
                 or edited",
                end.rows
            )));
        }
        self.ends.insert(resource, end);
        self.end_lines.insert(resource, line);
        Ok(())
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
            match parse_record(&text, line_no)? {
                Some(Parsed::Row(l)) => {
                    if let Some(end) = input.end_lines.get(&l.resource) {
                        return Err(InputError::Shape {
                            line: line_no,
                            what: format!(
                                "a row of {} after its end line (line {end})",
                                l.resource.as_str()
                            ),
                        });
                    }
                    input.push_raw(l.resource, l.row, Some(line_no));
                }
                Some(Parsed::End(resource, end)) => input.push_end(resource, end, line_no)?,
                None => {}
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
    fn parses_end_lines() {
        let end = |text: &str| match parse_record(text, 2).unwrap() {
            Some(Parsed::End(r, e)) => (r, e),
            other => panic!("{other:?}"),
        };
        assert_eq!(
            end(r#"{"v":1,"resource":"people","end":{"rows":40,"total":41,"complete":false}}"#),
            (
                Resource::People,
                End {
                    rows: 40,
                    total: Some(41),
                    complete: false
                }
            )
        );
        assert_eq!(
            end(r#"{"v":1,"resource":"blog","end":{"rows":7,"total":null,"complete":false}}"#).1,
            End {
                rows: 7,
                total: None,
                complete: false
            }
        );
        // Rows-only callers skip end lines, as they skip --totals lines.
        let text = r#"{"v":1,"resource":"tags","end":{"rows":0,"total":0,"complete":true}}"#;
        assert!(parse_line(text, 3).unwrap().is_none());
        assert!(
            parse_record(r#"{"v":1,"resource":"tags","total":3}"#, 4)
                .unwrap()
                .is_none()
        );
        for (text, want) in [
            (
                r#"{"v":1,"resource":"tags","end":{"total":1,"complete":true}}"#,
                "input line 9: end line of tags: \"end.rows\" must be a non-negative integer",
            ),
            (
                r#"{"v":1,"resource":"tags","end":{"rows":1,"total":1,"complete":"yes"}}"#,
                "input line 9: end line of tags: \"end.complete\" must be true or false",
            ),
            (
                r#"{"v":1,"resource":"tags","end":{"rows":1,"total":-1,"complete":false}}"#,
                "input line 9: end line of tags: \"end.total\" must be a non-negative integer or null",
            ),
            (
                r#"{"v":1,"resource":"tags","end":[1]}"#,
                "input line 9: end line of tags: \"end\" must be a JSON object",
            ),
            (
                r#"{"v":1,"resource":"tags","end":{"rows":4,"total":5,"complete":true}}"#,
                "input line 9: end line of tags: says complete, but rows 4 differ from total 5",
            ),
            (
                r#"{"v":1,"resource":"tags","row":{},"end":{"rows":0,"total":0,"complete":true}}"#,
                "input line 9: a line holds either \"row\" or \"end\", not both",
            ),
            (
                r#"{"v":1,"resource":"tags"}"#,
                "input line 9: \"row\" must be a JSON object",
            ),
            (
                r#"{"v":2,"resource":"tags","end":{"rows":0,"total":0,"complete":true}}"#,
                "input line 9: unsupported line version v=2 (this reads v=1)",
            ),
        ] {
            assert_eq!(
                parse_record(text, 9).unwrap_err().to_string(),
                want,
                "{text}"
            );
        }
    }

    #[test]
    fn read_records_end_lines_and_checks_their_counts() {
        let text = concat!(
            "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n",
            "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":2}}\n",
            "{\"v\":1,\"resource\":\"tags\",\"end\":{\"rows\":2,\"total\":2,\"complete\":true}}\n",
            "{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":10}}\n",
            "{\"v\":1,\"resource\":\"people\",\"end\":{\"rows\":1,\"total\":2,\"complete\":false}}\n",
            "{\"v\":1,\"resource\":\"project-buzz\",\"end\":{\"rows\":0,\"total\":0,\"complete\":true}}\n",
        );
        let input = Input::read(text.as_bytes()).unwrap();
        assert_eq!(input.len(), 3);
        let ends: Vec<_> = input.ends().iter().map(|(r, e)| (*r, *e)).collect();
        assert_eq!(
            ends,
            [
                (
                    Resource::Tags,
                    End {
                        rows: 2,
                        total: Some(2),
                        complete: true
                    }
                ),
                (
                    Resource::People,
                    End {
                        rows: 1,
                        total: Some(2),
                        complete: false
                    }
                ),
                (
                    Resource::ProjectBuzz,
                    End {
                        rows: 0,
                        total: Some(0),
                        complete: true
                    }
                ),
            ]
        );
        assert!(input.without_end().is_empty());

        // A pipe cut inside a resource: fewer rows than its end line says.
        let cut = text.replace("{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":2}}\n", "");
        let e = Input::read(cut.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            e,
            "input line 2: the end line of tags says 2 rows, but 1 were read: the input was cut or edited"
        );
        // A pipe cut before a resource's end line: the rows have no end line.
        let cut: String = text.lines().take(4).map(|l| format!("{l}\n")).collect();
        let input = Input::read(cut.as_bytes()).unwrap();
        assert_eq!(input.without_end(), [Resource::People]);
        // Two end lines, or a row after the end line, are not one laddr-fetch run.
        let twice = format!(
            "{text}{}\n",
            r#"{"v":1,"resource":"tags","end":{"rows":2,"total":2,"complete":true}}"#
        );
        let e = Input::read(twice.as_bytes()).unwrap_err().to_string();
        assert_eq!(
            e,
            "input line 7: a second end line for tags (the first is line 3)"
        );
        let late = format!("{text}{}\n", r#"{"v":1,"resource":"tags","row":{"ID":3}}"#);
        let e = Input::read(late.as_bytes()).unwrap_err().to_string();
        assert_eq!(e, "input line 7: a row of tags after its end line (line 3)");
    }

    #[test]
    fn input_without_end_lines_has_no_ends() {
        let text = "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n";
        let input = Input::read(text.as_bytes()).unwrap();
        assert!(input.ends().is_empty());
        assert!(input.without_end().is_empty());
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
