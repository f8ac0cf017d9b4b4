//! laddr-fetch NDJSON lines → rows grouped by resource (the resources' rows may come in any
//! order; the translator imposes the processing order of B §2.0).
//!
//! Four line shapes are read: rows (`{"v":1,"resource":…,"row":{…}}`), laddr-fetch's end
//! line after each resource's rows (`{"v":1,"resource":…,"end":{"rows":n,"total":n|null,
//! "complete":bool}}`, recorded in [`Input::ends`]), its media lines after all of them
//! (`{"v":1,"media":{…}}`, [`MediaLines`]), and `laddr-fetch --totals` lines
//! (`{"v":1,"resource":…,"total":n}`, ignored). Anything else, or a row or end line after a
//! media line, is an error naming the line.

use std::collections::BTreeMap;
use std::io::BufRead;

use lines::{LaddrLine, LineError, ReadError, parse_laddr_line, read_laddr_lines};
use serde_json::Value;
use serde_json::value::RawValue;

pub use lines::{End, Resource, RowLine as InputLine};

/// The line format version this crate reads.
pub const LINE_VERSION: u64 = lines::LINE_VERSION as u64;

/// A bad input line; always names the line number (1-based).
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// A line that is not JSON.
    #[error("input line {line}: invalid JSON: {source}")]
    Json {
        /// The line's number.
        line: u64,
        /// The parser's error.
        source: serde_json::Error,
    },
    /// A JSON line that is neither a row nor an end line.
    #[error("input line {line}: {what}")]
    Shape {
        /// The line's number.
        line: u64,
        /// What is wrong with it.
        what: String,
    },
    /// The input could not be read.
    #[error("reading input after line {line}: {source}")]
    Io {
        /// The last line read.
        line: u64,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl InputError {
    fn of_line(line: u64, error: LineError) -> InputError {
        match error {
            LineError::Json(source) => InputError::Json { line, source },
            LineError::Shape(what) => InputError::Shape { line, what },
        }
    }
}

impl From<ReadError> for InputError {
    fn from(e: ReadError) -> InputError {
        match e {
            ReadError::Io { after_line, source } => InputError::Io {
                line: after_line,
                source,
            },
            ReadError::Line { line, error } => InputError::of_line(line, error),
        }
    }
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

/// One parsed line that carries something: a row or a resource's end line.
#[derive(Debug, Clone)]
pub enum Parsed {
    /// A laddr row.
    Row(InputLine),
    /// A resource's end line.
    End(Resource, End),
}

impl Parsed {
    /// The translator's view of a laddr-fetch line: `--totals` lines carry nothing for it.
    fn of(line: LaddrLine) -> Option<Parsed> {
        match line {
            LaddrLine::Row(row) => Some(Parsed::Row(row)),
            LaddrLine::End(resource, end) => Some(Parsed::End(resource, end)),
            // Media lines are the media step's (sheet-write --media-dir), not the translator's.
            LaddrLine::Totals(_) | LaddrLine::Media(_) => None,
        }
    }
}

/// Parse one NDJSON line, keeping only rows. Blank lines, end lines and `laddr-fetch
/// --totals` lines give `Ok(None)`; use [`parse_record`] (or [`Input::read`]) to see end lines.
pub fn parse_line(text: &str, line: u64) -> Result<Option<InputLine>, InputError> {
    Ok(match parse_record(text, line)? {
        Some(Parsed::Row(l)) => Some(l),
        _ => None,
    })
}

/// Parse one NDJSON line by the laddr-fetch contract ([`lines::parse_laddr_line`]). Blank
/// lines and `laddr-fetch --totals` lines (`{"v":1,"resource":…,"total":n}`) give `Ok(None)`.
pub fn parse_record(text: &str, line: u64) -> Result<Option<Parsed>, InputError> {
    parse_laddr_line(text)
        .map(|parsed| parsed.and_then(Parsed::of))
        .map_err(|e| InputError::of_line(line, e))
}

/// All rows, bucketed by resource, each bucket in input order, and the end lines read.
#[derive(Debug, Default, Clone)]
pub struct Input {
    buckets: [Vec<Row>; Resource::ALL.len()],
    ends: BTreeMap<Resource, End>,
    /// The input line of each end line, for naming a row that comes after it.
    end_lines: BTreeMap<Resource, u64>,
    /// laddr-fetch's media lines, by media ID (read with the rows by [`Input::read`]).
    media: MediaLines,
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
        let name = resource.name();
        if let Some(first) = self.end_lines.get(&resource) {
            return Err(second_end_line(line, resource, *first));
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

    /// How many rows the input holds.
    pub fn len(&self) -> usize {
        self.buckets.iter().map(Vec::len).sum()
    }

    /// True when the input holds no row.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Read a whole NDJSON stream; the first bad line is an error naming its number.
    pub fn read<R: BufRead>(reader: R) -> Result<Input, InputError> {
        let mut rows = None;
        let media = Input::read_rows_first(reader, |input| rows = Some(input))?;
        let mut input = rows.unwrap_or_default();
        input.media = media;
        Ok(input)
    }

    /// Read a laddr-fetch stream whose media lines follow its rows (laddr-fetch writes the
    /// rows, then fetches the media): `rows(input)` is called once, as soon as the rows are
    /// complete (every resource's end line read, or the first media line, or the end of the
    /// stream), so their translation can start while the media lines are still to come.
    /// What follows must be media lines; they are returned. The first bad line, before or
    /// after the hand-over, is an error naming its number (`rows` is not called when it
    /// comes before).
    pub fn read_rows_first<R: BufRead>(
        reader: R,
        rows: impl FnOnce(Input),
    ) -> Result<MediaLines, InputError> {
        let mut lines = read_laddr_lines(reader);
        let mut input = Input::default();
        let mut media = MediaLines::new();
        let mut first_media = None;
        for read in lines.by_ref() {
            let (line_no, line) = read?;
            if let LaddrLine::Media(m) = line {
                media.insert(m.id(), m);
                first_media = Some(line_no);
                break;
            }
            input.take(line_no, line)?;
            if input.ends.len() == Resource::ALL.len() {
                break;
            }
        }
        let end_lines = input.end_lines.clone();
        rows(input);
        for read in lines {
            let (line_no, line) = read?;
            match line {
                LaddrLine::Media(m) => {
                    first_media.get_or_insert(line_no);
                    media.insert(m.id(), m);
                }
                other => refuse_after_rows(other, line_no, &end_lines, first_media)?,
            }
        }
        Ok(media)
    }

    /// One row or end line of the rows part of the stream.
    fn take(&mut self, line_no: u64, line: LaddrLine) -> Result<(), InputError> {
        match Parsed::of(line) {
            Some(Parsed::Row(l)) => {
                if let Some(end) = self.end_lines.get(&l.resource) {
                    return Err(row_after_end(line_no, l.resource, *end));
                }
                self.push_raw(l.resource, l.row, Some(line_no));
                Ok(())
            }
            Some(Parsed::End(resource, end)) => self.push_end(resource, end, line_no),
            None => Ok(()),
        }
    }

    /// The media lines read with the rows ([`Input::read`]); empty for
    /// [`Input::read_rows_first`], which returns them.
    pub fn media_lines(&self) -> &MediaLines {
        &self.media
    }
}

/// laddr-fetch's media lines, by media ID: the media step reads why an item is missing.
pub type MediaLines = BTreeMap<u64, lines::MediaLine>;

fn row_after_end(line: u64, resource: Resource, end: u64) -> InputError {
    InputError::Shape {
        line,
        what: format!("a row of {resource} after its end line (line {end})"),
    }
}

fn second_end_line(line: u64, resource: Resource, first: u64) -> InputError {
    InputError::Shape {
        line,
        what: format!("a second end line for {resource} (the first is line {first})"),
    }
}

/// A line after the rows were handed over: only media lines (and `--totals` lines, which
/// carry nothing) may come there.
fn refuse_after_rows(
    line: LaddrLine,
    line_no: u64,
    end_lines: &BTreeMap<Resource, u64>,
    first_media: Option<u64>,
) -> Result<(), InputError> {
    let shape = |what: String| InputError::Shape {
        line: line_no,
        what,
    };
    let after_media = |what: &str| {
        let media = first_media.map_or(String::new(), |m| format!(" (line {m})"));
        shape(format!(
            "{what} after laddr-fetch's media lines{media}: its rows and end lines come first"
        ))
    };
    match Parsed::of(line) {
        None => Ok(()),
        Some(Parsed::Row(l)) => Err(match end_lines.get(&l.resource) {
            Some(end) => row_after_end(line_no, l.resource, *end),
            None => after_media(&format!("a row of {}", l.resource)),
        }),
        Some(Parsed::End(resource, _)) => Err(match end_lines.get(&resource) {
            Some(first) => second_end_line(line_no, resource, *first),
            None => after_media(&format!("the end line of {resource}")),
        }),
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

    /// Every resource's end line, `people` with one row before it.
    fn complete_rows() -> String {
        let mut text = String::from("{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":10}}\n");
        for r in Resource::ALL {
            let rows = u64::from(r == Resource::People);
            text.push_str(&format!(
                "{{\"v\":1,\"resource\":\"{r}\",\"end\":{{\"rows\":{rows},\"total\":{rows},\"complete\":true}}}}\n"
            ));
        }
        text
    }

    const MEDIA: &str = "{\"v\":1,\"media\":{\"id\":556,\"url\":\"https://codeforphilly.org/media/556/original\",\"error\":\"HTTP 404\"}}\n";

    /// Bytes that may only be read once `handed` is set.
    struct AfterHandOver {
        handed: std::sync::Arc<std::sync::atomic::AtomicBool>,
        bytes: std::io::Cursor<Vec<u8>>,
    }

    impl std::io::Read for AfterHandOver {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            use std::sync::atomic::Ordering;
            assert!(
                self.handed.load(Ordering::SeqCst),
                "read past the rows before handing them over"
            );
            self.bytes.read(buf)
        }
    }

    #[test]
    fn rows_are_handed_over_before_the_media_lines_are_read() {
        use std::sync::atomic::Ordering;
        let handed = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let later = AfterHandOver {
            handed: handed.clone(),
            bytes: std::io::Cursor::new(MEDIA.as_bytes().to_vec()),
        };
        let text = complete_rows();
        let reader = std::io::Read::chain(text.as_bytes(), std::io::BufReader::new(later));
        let mut rows = None;
        let media = Input::read_rows_first(reader, |input| {
            handed.store(true, Ordering::SeqCst);
            rows = Some(input);
        })
        .unwrap();
        let rows = rows.unwrap();
        assert_eq!(rows.rows(Resource::People).len(), 1);
        assert_eq!(rows.ends().len(), Resource::ALL.len());
        assert!(rows.media_lines().is_empty());
        assert_eq!(media.keys().copied().collect::<Vec<_>>(), [556]);
    }

    #[test]
    fn read_keeps_the_media_lines_with_the_rows() {
        let text = complete_rows() + MEDIA;
        let input = Input::read(text.as_bytes()).unwrap();
        assert!(input.media_lines().contains_key(&556));
        assert_eq!(input.rows(Resource::People).len(), 1);
    }

    #[test]
    fn a_partial_stream_is_handed_over_at_its_first_media_line() {
        let rows = "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n";
        let text = format!("{rows}{MEDIA}{MEDIA}");
        let mut seen = 0;
        let media = Input::read_rows_first(text.as_bytes(), |input| seen = input.len()).unwrap();
        assert_eq!((seen, media.len()), (1, 1));
    }

    #[test]
    fn only_media_lines_may_follow_the_hand_over() {
        let row = |r: &str| format!("{{\"v\":1,\"resource\":\"{r}\",\"row\":{{\"ID\":2}}}}\n");
        let cases = [
            (
                format!("{}{MEDIA}{}", row("tags"), row("projects")),
                "input line 3: a row of projects after laddr-fetch's media lines (line 2)",
            ),
            (
                complete_rows() + &row("tags"),
                "a row of tags after its end line",
            ),
            (
                complete_rows()
                    + MEDIA
                    + "{\"v\":1,\"resource\":\"tags\",\"end\":{\"rows\":0,\"total\":0,\"complete\":true}}\n",
                "a second end line for tags",
            ),
            (
                complete_rows() + MEDIA + "{\"v\":1,\"media\":",
                "invalid JSON",
            ),
        ];
        for (text, want) in cases {
            let mut called = false;
            let e = Input::read_rows_first(text.as_bytes(), |_| called = true)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e:?} lacks {want:?}");
            assert!(called, "the rows were complete before the bad line: {e}");
            assert!(Input::read(text.as_bytes()).is_err());
        }
    }

    #[test]
    fn a_bad_row_stops_the_read_before_any_hand_over() {
        let text = "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\nnot json\n";
        let mut called = false;
        let e = Input::read_rows_first(text.as_bytes(), |_| called = true).unwrap_err();
        assert!(e.to_string().starts_with("input line 2:"), "{e}");
        assert!(!called);
    }
}
