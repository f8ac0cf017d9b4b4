//! NDJSON on stdout and the `--json=FILE` report.

use std::io::{self, BufWriter, Write};
use std::path::Path;

use serde_json::Value;

use crate::Error;

/// Buffered NDJSON lines. A closed reader (`| head`) surfaces as `BrokenPipe`, which the binary
/// turns into a quiet exit 0.
pub struct Ndjson<W: Write> {
    out: BufWriter<W>,
}

impl<W: Write> Ndjson<W> {
    pub fn new(w: W) -> Self {
        Ndjson {
            out: BufWriter::new(w),
        }
    }

    pub fn line(&mut self, v: &Value) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, v)?;
        self.out.write_all(b"\n")
    }

    pub fn finish(mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// Writes a report as pretty JSON plus a newline (the reference's report format).
/// Serialises the value itself (not a `Value`), so struct field order is kept.
pub fn write_report<T: serde::Serialize>(path: &Path, report: &T) -> Result<(), Error> {
    let mut text =
        serde_json::to_string_pretty(report).map_err(|e| Error::Usage(format!("report: {e}")))?;
    text.push('\n');
    std::fs::write(path, text).map_err(|e| Error::Io {
        path: path.display().to_string(),
        source: e,
    })
}
