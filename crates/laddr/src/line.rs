//! The laddr-fetch NDJSON line (version 1), the contract other tools read:
//!
//! ```text
//! {"v":1,"resource":"people","row":{...the row exactly as laddr sent it...}}
//! ```
//!
//! `row` holds laddr's bytes verbatim (PHP escapes such as `\/` and `\u00e9` included), so
//! nothing is lost or re-encoded between the source and the next tool.
//!
//! After each resource's rows comes one end line, so a reader can tell a whole resource from
//! one that lost rows (or was cut short with `--limit`) instead of taking the rows it got as
//! the whole snapshot:
//!
//! ```text
//! {"v":1,"resource":"people","end":{"rows":4211,"total":4212,"complete":false}}
//! ```

use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// The current line format version.
pub const LINE_VERSION: u32 = 1;

/// One output line, borrowing its row. Deserialize with `serde_json::from_str::<Line>(line)`.
#[derive(Debug, Serialize, Deserialize)]
pub struct Line<'a> {
    pub v: u32,
    pub resource: &'a str,
    #[serde(borrow)]
    pub row: &'a RawValue,
}

/// An owned line, for readers that keep rows around.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OwnedLine {
    pub v: u32,
    pub resource: String,
    pub row: Box<RawValue>,
}

/// Write one line (with its trailing newline). `row` must be one JSON value without newlines,
/// which any `RawValue` taken from a laddr page is (JSON strings cannot hold raw newlines, and
/// PHP's `json_encode` emits no whitespace).
pub fn write_line(w: &mut impl Write, resource: &str, row: &RawValue) -> io::Result<()> {
    w.write_all(b"{\"v\":1,\"resource\":\"")?;
    w.write_all(resource.as_bytes())?;
    w.write_all(b"\",\"row\":")?;
    w.write_all(row.get().as_bytes())?;
    w.write_all(b"}\n")
}

/// The closing line of one resource: how many rows were written, the server's `total` (if one
/// was seen) and whether the resource came back whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    pub rows: u64,
    pub total: Option<u64>,
    pub complete: bool,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_then_read_keeps_row_bytes() {
        let row = RawValue::from_string(r#"{"ID":1,"Title":"a\/b \u00e9"}"#.to_string()).unwrap();
        let mut out = Vec::new();
        write_line(&mut out, "tags", &row).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1,\"Title\":\"a\\/b \\u00e9\"}}\n"
        );
        let line: Line = serde_json::from_str(text.trim_end()).unwrap();
        assert_eq!((line.v, line.resource), (1, "tags"));
        assert_eq!(line.row.get(), row.get());
        let owned: OwnedLine = serde_json::from_str(&text).unwrap();
        assert_eq!(owned.row.get(), row.get());
    }

    #[test]
    fn end_line_bytes() {
        let mut out = Vec::new();
        let end = End {
            rows: 40,
            total: Some(41),
            complete: false,
        };
        write_end(&mut out, "people", &end).unwrap();
        let end0 = End {
            rows: 0,
            total: None,
            complete: true,
        };
        write_end(&mut out, "project-buzz", &end0).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text,
            "{\"v\":1,\"resource\":\"people\",\"end\":{\"rows\":40,\"total\":41,\"complete\":false}}\n\
             {\"v\":1,\"resource\":\"project-buzz\",\"end\":{\"rows\":0,\"total\":null,\"complete\":true}}\n"
        );
        // Round-trips through serde as the same values.
        let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        let back: End = serde_json::from_value(first["end"].clone()).unwrap();
        assert_eq!(back, end);
    }
}
