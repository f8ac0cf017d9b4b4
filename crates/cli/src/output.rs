//! What a tool writes: NDJSON lines on stdout and the `--json=FILE` report.

use std::io::{self, BufWriter, StdoutLock, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

/// Writing stdout failed. [`OutputError::Closed`] is the reader going away (`| head`), which
/// [`crate::finish`] turns into a quiet exit 0.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// The reader closed the pipe.
    #[error("stdout closed")]
    Closed,
    /// Any other write error.
    #[error("writing stdout: {0}")]
    Io(io::Error),
    /// A line could not be encoded as JSON.
    #[error("encoding an output line: {0}")]
    Encode(serde_json::Error),
}

impl From<io::Error> for OutputError {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            OutputError::Closed
        } else {
            OutputError::Io(e)
        }
    }
}

/// Buffered NDJSON: one JSON value per line.
pub struct Ndjson<W: Write> {
    out: BufWriter<W>,
}

impl Ndjson<StdoutLock<'static>> {
    /// NDJSON on stdout with a 64 KiB buffer.
    pub fn stdout() -> Self {
        Ndjson::new(io::stdout().lock())
    }

    /// NDJSON on stdout with a buffer of `capacity` bytes (large outputs).
    pub fn stdout_with_capacity(capacity: usize) -> Self {
        Ndjson {
            out: BufWriter::with_capacity(capacity, io::stdout().lock()),
        }
    }
}

impl<W: Write> Ndjson<W> {
    /// NDJSON on any writer, with a 64 KiB buffer.
    pub fn new(w: W) -> Self {
        Ndjson {
            out: BufWriter::with_capacity(1 << 16, w),
        }
    }

    /// One value as one line.
    pub fn line<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), OutputError> {
        // Encode first so a closed pipe keeps its io kind (serde_json would wrap it).
        let mut line = serde_json::to_vec(value).map_err(OutputError::Encode)?;
        line.push(b'\n');
        Ok(self.out.write_all(&line)?)
    }

    /// Bytes already in line form (e.g. rows kept exactly as a server sent them).
    pub fn write_with(
        &mut self,
        write: impl FnOnce(&mut BufWriter<W>) -> io::Result<()>,
    ) -> Result<(), OutputError> {
        Ok(write(&mut self.out)?)
    }

    /// Flush now, for lines a reader should see as they happen (a watch's rounds).
    pub fn flush(&mut self) -> Result<(), OutputError> {
        Ok(self.out.flush()?)
    }

    /// Flush what is buffered; call once at the end.
    pub fn finish(mut self) -> Result<(), OutputError> {
        Ok(self.out.flush()?)
    }
}

/// The `--json=FILE` report could not be written (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The report did not encode.
    #[error("encoding the report: {0}")]
    Encode(serde_json::Error),
    /// The file could not be written.
    #[error("writing {}: {source}", path.display())]
    Write {
        /// The report file.
        path: PathBuf,
        /// What went wrong.
        source: io::Error,
    },
}

/// Writes `report` to `path` as pretty JSON plus a newline (the reference's report format);
/// does nothing without a path. Serialises the value itself, so struct field order is kept.
pub fn write_report<T: Serialize + ?Sized>(
    path: Option<&Path>,
    report: &T,
) -> Result<(), ReportError> {
    let Some(path) = path else {
        return Ok(());
    };
    let mut text = serde_json::to_string_pretty(report).map_err(ReportError::Encode)?;
    text.push('\n');
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// Writes an HTML page (`--html=FILE`) rendered by `render`; does nothing without a path, so
/// a run without the flag renders nothing. A failed write is the same error as the JSON's.
pub fn write_page(path: Option<&Path>, render: impl FnOnce() -> String) -> Result<(), ReportError> {
    let Some(path) = path else {
        return Ok(());
    };
    std::fs::write(path, render()).map_err(|source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe whose reader has gone away.
    struct ClosedPipe;

    impl Write for ClosedPipe {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
        fn flush(&mut self) -> io::Result<()> {
            Err(io::ErrorKind::BrokenPipe.into())
        }
    }

    #[derive(Serialize)]
    struct Row {
        v: u8,
        name: &'static str,
    }

    #[test]
    fn lines_are_one_value_each() {
        let mut buf = Vec::new();
        let mut out = Ndjson::new(&mut buf);
        out.line(&Row { v: 1, name: "a" }).unwrap();
        out.line(&serde_json::json!({"b": [1, 2]})).unwrap();
        out.write_with(|w| w.write_all(b"{\"raw\":true}\n"))
            .unwrap();
        out.finish().unwrap();
        assert_eq!(
            String::from_utf8(buf).unwrap(),
            "{\"v\":1,\"name\":\"a\"}\n{\"b\":[1,2]}\n{\"raw\":true}\n"
        );
    }

    #[test]
    fn a_closed_pipe_is_told_apart_from_other_errors() {
        let mut out = Ndjson::new(ClosedPipe);
        out.line(&Row { v: 1, name: "a" }).unwrap(); // buffered
        assert!(matches!(out.finish(), Err(OutputError::Closed)));
        let other = OutputError::from(io::Error::other("disk full"));
        assert!(matches!(other, OutputError::Io(_)));
        assert_eq!(other.to_string(), "writing stdout: disk full");
    }

    #[test]
    fn report_is_pretty_json_with_a_newline_in_field_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        write_report(Some(&path), &Row { v: 1, name: "z" }).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "{\n  \"v\": 1,\n  \"name\": \"z\"\n}\n");
        write_report(None, &Row { v: 1, name: "z" }).unwrap();
        let missing = dir.path().join("no-such-dir/report.json");
        let e = write_report(Some(&missing), &Row { v: 1, name: "z" }).unwrap_err();
        assert!(e.to_string().starts_with("writing "), "{e}");
        assert!(e.to_string().contains("no-such-dir/report.json"), "{e}");
    }

    #[test]
    fn a_page_is_rendered_only_when_asked_and_a_failed_write_names_the_file() {
        write_page(None, || unreachable!("no --html: nothing renders")).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.html");
        write_page(Some(&path), || "<p>page</p>".into()).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "<p>page</p>");
        let missing = dir.path().join("no-such-dir/report.html");
        let e = write_page(Some(&missing), String::new).unwrap_err();
        assert!(e.to_string().contains("no-such-dir/report.html"), "{e}");
    }
}
