//! The NDJSON inputs of a run: recipient lines (`mailer select` output) and the rollback
//! export's affected-member lines (`docs/ndjson.md`, "affected members").

use std::io::{self, BufRead};

use serde::Deserialize;
use serde_json::Value;

use crate::Error;
use crate::select::{LINE_VERSION, Reason, Recipient, RecipientIn, Skipped};

/// Opens `source` (a path, or `-` for stdin) for line reading; the name is for errors.
pub fn open_lines(source: &str) -> Result<(String, Box<dyn BufRead>), Error> {
    if source == "-" {
        return Ok(("stdin".into(), Box::new(io::stdin().lock())));
    }
    let f = std::fs::File::open(source).map_err(|e| Error::io(source, e))?;
    Ok((source.to_owned(), Box::new(io::BufReader::new(f))))
}

/// Every non-blank line of `reader` as `(line number, text)`.
fn numbered(name: &str, reader: Box<dyn BufRead>) -> Result<Vec<(usize, String)>, Error> {
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::io(name, e))?;
        if !line.trim().is_empty() {
            out.push((i + 1, line));
        }
    }
    Ok(out)
}

/// An unreadable input line, named by file and line number.
fn bad_line(name: &str, line: usize, message: String) -> Error {
    Error::BadLine {
        path: name.to_owned(),
        line,
        message,
    }
}

/// Recipient lines from `source`; bad addresses are left out with a reason, a line that is
/// not a recipient stops the run.
pub fn read_recipients(source: &str, skipped: &mut Vec<Skipped>) -> Result<Vec<Recipient>, Error> {
    let (name, reader) = open_lines(source)?;
    let mut out = Vec::new();
    for (line_no, line) in numbered(&name, reader)? {
        let bad = |message: String| bad_line(&name, line_no, message);
        let parsed: RecipientIn = serde_json::from_str(&line).map_err(|e| {
            bad(format!(
                "not a recipient line ({{personId, slug, email, fullName}}): {e}"
            ))
        })?;
        if parsed.v.is_some_and(|v| v != u64::from(LINE_VERSION)) {
            return Err(bad(format!(
                "line format version {} is not supported (this mailer reads {LINE_VERSION})",
                parsed.v.unwrap_or_default()
            )));
        }
        let r = parsed.recipient;
        let email = r.email.to_lowercase();
        if email.ends_with(".invalid") || !private_store::validate::is_email(&email) {
            skipped.push(Skipped {
                person_id: r.person_id.clone(),
                reason: Reason::InvalidEmail,
                slug: Some(r.slug.clone()),
                duplicate_of: None,
            });
            continue;
        }
        out.push(r);
    }
    Ok(out)
}

/// One discarded write of an affected member.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Write {
    /// What was written: a data-repo record path (`project-updates/…toml`) or a private-store
    /// object (`profiles.jsonl`).
    pub path: String,
    /// When (ISO 8601), if known.
    #[serde(default)]
    pub at: Option<String>,
}

/// One affected-member line of the rollback export:
/// `{"v":1,"personId":…,"slug":…,"writes":[{"path":…,"at":…},…]}`. No email: the mailer looks
/// addresses up in the private store.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Affected {
    /// Line format version.
    pub v: u64,
    /// The affected Person.
    pub person_id: String,
    /// The Person's slug.
    pub slug: String,
    /// The writes the rollback discarded.
    pub writes: Vec<Write>,
}

/// The affected-member line version this mailer reads.
pub const AFFECTED_VERSION: u64 = 1;

impl Affected {
    /// One human line per write, for the `{{writes}}` variable.
    pub fn write_lines(&self) -> Vec<String> {
        self.writes
            .iter()
            .map(|w| match &w.at {
                Some(at) => format!("- {} ({at})", w.path),
                None => format!("- {}", w.path),
            })
            .collect()
    }
}

/// The affected-member lines of `source` (a path or `-`). Any line that is not one (another
/// version, a missing key, an email field that must not be there) stops the run: an apology
/// must not silently miss a member.
pub fn read_affected(source: &str) -> Result<Vec<Affected>, Error> {
    let (name, reader) = open_lines(source)?;
    let mut out = Vec::new();
    for (line_no, line) in numbered(&name, reader)? {
        let bad = |message: String| bad_line(&name, line_no, message);
        let v: Value = serde_json::from_str(&line).map_err(|e| bad(format!("not JSON: {e}")))?;
        if v.get("v").and_then(Value::as_u64) != Some(AFFECTED_VERSION) {
            return Err(bad(format!(
                "not an affected-member line of version {AFFECTED_VERSION} (`v` must be {AFFECTED_VERSION})"
            )));
        }
        let a: Affected = serde_json::from_value(v).map_err(|e| {
            bad(format!(
                "not an affected-member line ({{v, personId, slug, writes}}): {e}"
            ))
        })?;
        out.push(a);
    }
    Ok(out)
}

/// laddr `people.ID` → `Username` from `laddr-fetch` NDJSON (the reader `reconcile nameids`
/// uses).
pub fn read_usernames(
    source: &str,
) -> Result<std::collections::HashMap<i64, Option<String>>, Error> {
    let (name, reader) = open_lines(source)?;
    reconcile::nameids::read_laddr_usernames(&name, reader).map_err(|e| Error::Usage(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn affected_lines_are_strict() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a.ndjson");
        std::fs::write(
            &p,
            "{\"v\":1,\"personId\":\"p1\",\"slug\":\"ann\",\"writes\":[{\"path\":\"people/ann.toml\",\"at\":\"2026-08-15T12:00:00Z\",\"commit\":\"abc\"}]}\n\n",
        )
        .unwrap();
        let a = read_affected(p.to_str().unwrap()).unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].write_lines(),
            ["- people/ann.toml (2026-08-15T12:00:00Z)"]
        );
        std::fs::write(
            &p,
            "{\"v\":2,\"personId\":\"p1\",\"slug\":\"a\",\"writes\":[]}\n",
        )
        .unwrap();
        let e = read_affected(p.to_str().unwrap()).unwrap_err().to_string();
        assert!(
            e.contains(":1: not an affected-member line of version 1"),
            "{e}"
        );
        std::fs::write(&p, "{\"v\":1,\"slug\":\"a\",\"writes\":[]}\n").unwrap();
        assert!(read_affected(p.to_str().unwrap()).is_err());
    }
}
