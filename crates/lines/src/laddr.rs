//! The laddr-fetch lines (version 1): rows, one end line per resource, `--totals` lines and,
//! after all of them, the media lines ([`crate::media`]).
//!
//! ```text
//! {"v":1,"resource":"people","row":{...the row exactly as laddr sent it...}}
//! {"v":1,"resource":"people","end":{"rows":4211,"total":4212,"complete":false}}
//! {"v":1,"resource":"people","total":4212}
//! {"v":1,"media":{"id":555,"url":"…","contentType":"image/png","size":1234,"sha256":"…"}}
//! ```
//!
//! `row` holds laddr's bytes verbatim (PHP escapes such as `\/` and `\u00e9` included), so
//! nothing is lost or re-encoded between the source and the next tool. The end line lets a
//! reader tell a whole resource from one that lost rows (or was cut short with `--limit`).

use std::io::{self, BufRead, Write};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::media::{MediaLine, parse_media};
use crate::{LineError, Resource, check_version};

/// One row line, borrowing its row. Deserialize with `serde_json::from_str::<Line>(line)`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line<'a> {
    /// The line format version, [`crate::LINE_VERSION`].
    pub v: u32,
    /// The resource's line name ([`Resource::name`]).
    pub resource: &'a str,
    /// The row exactly as laddr sent it.
    #[serde(borrow)]
    pub row: &'a RawValue,
}

/// An owned row line, for readers that keep rows around.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnedLine {
    /// The line format version, [`crate::LINE_VERSION`].
    pub v: u32,
    /// The resource's line name ([`Resource::name`]).
    pub resource: String,
    /// The row exactly as laddr sent it.
    pub row: Box<RawValue>,
}

/// The closing line of one resource: how many rows were written, the server's `total` (if one
/// was seen) and whether the resource came back whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    /// Row lines written for the resource just above.
    pub rows: u64,
    /// The server's `total` on the last page read; `None` if none was seen.
    pub total: Option<u64>,
    /// True only when the resource came back whole (no lost rows, no `--limit`).
    pub complete: bool,
}

/// A `laddr-fetch --totals` line: one resource's total as the server reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Totals {
    /// The resource counted.
    pub resource: Resource,
    /// laddr's `total`.
    pub total: u64,
}

/// Write one row line (with its trailing newline). `row` must be one JSON value without
/// newlines, which any `RawValue` taken from a laddr page is (JSON strings cannot hold raw
/// newlines, and PHP's `json_encode` emits no whitespace).
pub fn write_line(w: &mut impl Write, resource: &str, row: &RawValue) -> io::Result<()> {
    w.write_all(b"{\"v\":1,\"resource\":\"")?;
    w.write_all(resource.as_bytes())?;
    w.write_all(b"\",\"row\":")?;
    w.write_all(row.get().as_bytes())?;
    w.write_all(b"}\n")
}

/// Write one end line (with its trailing newline), byte-stable:
/// `{"v":1,"resource":"<name>","end":{"rows":<n>,"total":<n|null>,"complete":<bool>}}`.
pub fn write_end(w: &mut impl Write, resource: &str, end: &End) -> io::Result<()> {
    let total = end
        .total
        .map_or_else(|| "null".to_string(), |t| t.to_string());
    writeln!(
        w,
        "{{\"v\":1,\"resource\":\"{resource}\",\"end\":{{\"rows\":{},\"total\":{total},\"complete\":{}}}}}",
        end.rows, end.complete
    )
}

/// Write one `--totals` line (with its trailing newline): `{"v":1,"resource":"<name>","total":<n>}`.
pub fn write_totals(w: &mut impl Write, totals: &Totals) -> io::Result<()> {
    writeln!(
        w,
        "{{\"v\":1,\"resource\":\"{}\",\"total\":{}}}",
        totals.resource.name(),
        totals.total
    )
}

/// A row line as read: the resource and the row's JSON text (validated, an object).
#[derive(Debug, Clone)]
pub struct RowLine {
    /// The resource the row belongs to.
    pub resource: Resource,
    /// The `row` object's JSON text, byte for byte as in the line.
    pub row: Box<RawValue>,
}

impl RowLine {
    /// The row as a JSON object (for readers that look into fields).
    pub fn object(&self) -> Result<Map<String, Value>, serde_json::Error> {
        serde_json::from_str(self.row.get())
    }
}

/// One laddr-fetch line that carries something.
#[derive(Debug, Clone)]
pub enum LaddrLine {
    /// `{"v":1,"resource":…,"row":{…}}`
    Row(RowLine),
    /// `{"v":1,"resource":…,"end":{…}}`, already checked ([`End`] rules).
    End(Resource, End),
    /// `{"v":1,"resource":…,"total":n}` (`laddr-fetch --totals`).
    Totals(Totals),
    /// `{"v":1,"media":{…}}`, after every resource's rows ([`crate::media`]).
    Media(MediaLine),
}

#[derive(Deserialize)]
struct Envelope {
    v: Option<Value>,
    resource: Option<Value>,
    row: Option<Box<RawValue>>,
    end: Option<Value>,
    total: Option<Value>,
    media: Option<Box<RawValue>>,
}

/// Parse one laddr-fetch line; a blank line gives `Ok(None)`. Unknown keys are ignored
/// (forward compatible); a line with `media` is a media line ([`crate::media`]); another `v`, an unknown resource, a line with both `row` and `end`
/// or with none of `row`, `end` and `total`, a `row` that is not an object and an end line
/// that breaks the [`End`] rules are errors.
pub fn parse_laddr_line(text: &str) -> Result<Option<LaddrLine>, LineError> {
    if text.trim().is_empty() {
        return Ok(None);
    }
    let env: Envelope = serde_json::from_str(text).map_err(LineError::Json)?;
    check_version(env.v.as_ref())?;
    if let Some(media) = &env.media {
        if env.resource.is_some() {
            return Err(shape("a media line has no \"resource\""));
        }
        return parse_media(media.get()).map(|m| Some(LaddrLine::Media(m)));
    }
    let resource = match &env.resource {
        Some(Value::String(s)) => Resource::from_name(s)
            .ok_or_else(|| LineError::Shape(format!("unknown resource \"{s}\"")))?,
        _ => return Err(shape("missing or non-string \"resource\"")),
    };
    let line = match (env.row, env.end) {
        (Some(_), Some(_)) => {
            return Err(shape("a line holds either \"row\" or \"end\", not both"));
        }
        (None, Some(end)) => parse_end(&end)
            .map(|end| LaddrLine::End(resource, end))
            .map_err(|what| LineError::Shape(format!("end line of {resource}: {what}")))?,
        (None, None) if env.total.is_some() => LaddrLine::Totals(Totals {
            resource,
            total: env
                .total
                .as_ref()
                .and_then(Value::as_u64)
                .ok_or_else(|| shape("\"total\" must be a non-negative integer"))?,
        }),
        (Some(row), None) if row.get().starts_with('{') => {
            LaddrLine::Row(RowLine { resource, row })
        }
        _ => return Err(shape("\"row\" must be a JSON object")),
    };
    Ok(Some(line))
}

fn shape(what: &str) -> LineError {
    LineError::Shape(what.to_owned())
}

/// `{"rows":n,"total":n|null,"complete":bool}`; a missing `total` reads as null. An end line
/// that says complete must have rows = total.
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

/// Why a stream of laddr-fetch lines could not be read.
#[derive(Debug)]
pub enum ReadError {
    /// Reading failed after this many lines.
    Io {
        /// Lines read before the failure.
        after_line: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// A line (1-based) that is not a laddr-fetch line.
    Line {
        /// The 1-based line number.
        line: u64,
        /// What is wrong with it.
        error: LineError,
    },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::Io { after_line, source } => {
                write!(f, "reading after line {after_line}: {source}")
            }
            ReadError::Line { line, error } => write!(f, "line {line}: {error}"),
        }
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::Line { error, .. } => Some(error),
        }
    }
}

/// Read laddr-fetch lines from a stream: each non-blank line with its 1-based number, or the
/// first error (the iterator may be continued, but callers stop at the first error).
pub fn read_laddr_lines<R: BufRead>(
    input: R,
) -> impl Iterator<Item = Result<(u64, LaddrLine), ReadError>> {
    input
        .lines()
        .zip(1u64..)
        .filter_map(|(text, line)| match text {
            Err(source) => Some(Err(ReadError::Io {
                after_line: line - 1,
                source,
            })),
            Ok(text) => parse_laddr_line(&text)
                .map_err(|error| ReadError::Line { line, error })
                .transpose()
                .map(|parsed| parsed.map(|l| (line, l))),
        })
}
