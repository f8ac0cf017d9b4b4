//! The laddr credentials export: `Username`, `Email`, `Password` and optionally `ID`, header in
//! any order, extra columns ignored. Quoted fields (`""` or `\"` inside quotes), a UTF-8 BOM,
//! CRLF line ends and quoted multi-line fields are all accepted.

use crate::Error;

/// One data row. `Username`, `Email` and `ID` are trimmed; `Password` is kept as is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvRow {
    /// 1-based line of the row's start; the header is line 1.
    pub line: u64,
    /// The `ID` cell (laddr `people.ID`), when the column exists and the cell is not empty.
    pub id: Option<String>,
    /// The `Username` cell.
    pub username: String,
    /// The `Email` cell.
    pub email: String,
    /// The `Password` cell (a hash).
    pub password: String,
}

/// Parses the export; `name` (the path) is used in errors.
pub fn parse(name: &str, bytes: &[u8]) -> Result<Vec<CsvRow>, Error> {
    let err = |message: String| Error::Input {
        path: name.to_owned(),
        message,
    };
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // CRLF → LF first: csv's record positions drift on CRLF files, and we report line numbers.
    let normalised = crlf_to_lf(bytes);
    let bytes = normalised.as_slice();
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .double_quote(true)
        .escape(Some(b'\\'))
        .from_reader(bytes);
    let headers = rdr
        .headers()
        .map_err(|e| err(format!("line 1: {e}")))?
        .clone();
    let col = |want: &str| headers.iter().position(|h| h.trim() == want);
    let (Some(user), Some(mail), Some(pass)) = (col("Username"), col("Email"), col("Password"))
    else {
        let have: Vec<&str> = headers.iter().map(str::trim).collect();
        return Err(err(format!(
            "line 1: the header must name the columns Username, Email and Password (case-sensitive); it has {have:?}"
        )));
    };
    let id = col("ID");
    let mut lines = LineCounter::default();
    let mut rows = Vec::new();
    for rec in rdr.records() {
        let rec = rec.map_err(|e| {
            let line = e
                .position()
                .map_or(0, |p| LineCounter::default().line_of(bytes, p.byte()));
            err(format!("line {line}: {e}"))
        })?;
        // From the byte offset: csv's own line counter skips blank lines.
        let line = rec.position().map_or(0, |p| lines.line_of(bytes, p.byte()));
        // A blank line parses as one empty field: skip it as the reference does.
        if rec.len() == 1 && rec.get(0).is_some_and(|f| f.trim().is_empty()) {
            continue;
        }
        let cell = |i: usize| rec.get(i).unwrap_or("");
        rows.push(CsvRow {
            line,
            id: id
                .map(|i| cell(i).trim().to_owned())
                .filter(|s| !s.is_empty()),
            username: cell(user).trim().to_owned(),
            email: cell(mail).trim().to_owned(),
            password: cell(pass).to_owned(),
        });
    }
    Ok(rows)
}

fn crlf_to_lf(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    for (i, &b) in bytes.iter().enumerate() {
        if !(b == b'\r' && bytes.get(i + 1) == Some(&b'\n')) {
            out.push(b);
        }
    }
    out
}

/// Line numbers from byte offsets, counted forward from the previous offset (records come in
/// order), so a whole file costs one pass.
#[derive(Default)]
struct LineCounter {
    offset: usize,
    line: u64,
}

impl LineCounter {
    /// The 1-based line of a record that csv places at `offset`, which may be the start of
    /// blank lines before it.
    fn line_of(&mut self, bytes: &[u8], offset: u64) -> u64 {
        let mut end = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(bytes.len());
        while bytes.get(end) == Some(&b'\n') {
            end += 1;
        }
        let end = end.min(bytes.len());
        if end < self.offset {
            *self = LineCounter::default();
        }
        self.line += bytes[self.offset..end]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        self.offset = end;
        self.line + 1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(line: u64, id: Option<&str>, u: &str, e: &str, p: &str) -> CsvRow {
        CsvRow {
            line,
            id: id.map(str::to_owned),
            username: u.into(),
            email: e.into(),
            password: p.into(),
        }
    }

    #[test]
    fn plain_quoted_any_order_extra_columns() {
        let text = "Email,Extra,Password,Username\n\"a@x.org\",zz,\"7746451f\",\"hhutch\"\n b@x.org ,,\" $2y$10$abc\", bob \n";
        assert_eq!(
            parse("t.csv", text.as_bytes()).unwrap(),
            [
                row(2, None, "hhutch", "a@x.org", "7746451f"),
                row(3, None, "bob", "b@x.org", " $2y$10$abc")
            ]
        );
    }

    #[test]
    fn bom_crlf_backslash_and_doubled_quotes_and_id() {
        let text = "\u{feff}\"ID\",\"Username\",\"Email\",\"Password\"\r\n\"7\",\"o\\\"neil\",\"o@x.org\",\"h\"\r\n\r\n\"8\",\"q\"\"uote\",\"q@x.org\",\"\"\r\n";
        assert_eq!(
            parse("t.csv", text.as_bytes()).unwrap(),
            [
                row(2, Some("7"), "o\"neil", "o@x.org", "h"),
                row(4, Some("8"), "q\"uote", "q@x.org", "")
            ]
        );
    }

    #[test]
    fn missing_column_is_an_error_naming_the_file() {
        let e = parse("/in/x.csv", b"username,Email,Password\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/in/x.csv: line 1:") && e.contains("Username"),
            "{e}"
        );
    }
}
