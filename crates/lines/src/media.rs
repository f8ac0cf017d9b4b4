//! laddr-fetch's media lines (version 1, additive to the row and end lines): one per media
//! item the rows reference, after every resource's rows and end lines, by media id ascending.
//!
//! ```text
//! {"v":1,"media":{"id":555,"url":"https://codeforphilly.org/media/555/original","contentType":"image/png","size":1234,"sha256":"…"}}
//! {"v":1,"media":{"id":556,"url":"https://codeforphilly.org/media/556/original","error":"HTTP 404"}}
//! ```
//!
//! A stored item's bytes are in the media directory (`crates/media`) under its id; the line
//! says nothing about whether this run fetched them or found them already there, so a re-run
//! and an `--offline` replay write the same bytes.

use std::io::{self, Write};

use serde::{Deserialize, Serialize};

use crate::{LineError, Versioned};

/// A stored media item: where it came from and what its bytes are. Also the media
/// directory's sidecar (`DIR/<id>.json`, behind `"v":1`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaMeta {
    /// laddr's media ID.
    pub id: u64,
    /// The URL the bytes were fetched from.
    pub url: String,
    /// The `Content-Type` laddr served them with.
    pub content_type: String,
    /// The number of bytes.
    pub size: u64,
    /// The bytes' SHA-256, lowercase hex.
    pub sha256: String,
}

/// A media item that could not be fetched (nothing is stored for it).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MediaFailure {
    /// laddr's media ID.
    pub id: u64,
    /// The URL tried.
    pub url: String,
    /// Why it failed (`HTTP 404`, `over the 20971520-byte cap`, `not in cache`, …).
    pub error: String,
}

/// The `media` object of one media line: stored or failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaLine {
    /// The bytes are in the media directory.
    Stored(MediaMeta),
    /// Nothing was stored.
    Failed(MediaFailure),
}

impl MediaLine {
    /// The media ID.
    pub fn id(&self) -> u64 {
        match self {
            MediaLine::Stored(m) => m.id,
            MediaLine::Failed(f) => f.id,
        }
    }

    /// The URL fetched (or tried).
    pub fn url(&self) -> &str {
        match self {
            MediaLine::Stored(m) => &m.url,
            MediaLine::Failed(f) => &f.url,
        }
    }
}

#[derive(Serialize)]
struct Wrapped<'a, T: Serialize> {
    media: &'a T,
}

/// Write one media line (with its trailing newline):
/// `{"v":1,"media":{"id":…,"url":…,"contentType":…,"size":…,"sha256":…}}` or
/// `{"v":1,"media":{"id":…,"url":…,"error":…}}`.
pub fn write_media_line(w: &mut impl Write, line: &MediaLine) -> io::Result<()> {
    match line {
        MediaLine::Stored(m) => crate::write_json_line(w, &Versioned::new(&Wrapped { media: m })),
        MediaLine::Failed(f) => crate::write_json_line(w, &Versioned::new(&Wrapped { media: f })),
    }
}

/// The `media` object of a line whose version was already checked: an `error` key makes it
/// a failure, otherwise every [`MediaMeta`] field must be there. Unknown keys are ignored.
pub(crate) fn parse_media(media: &str) -> Result<MediaLine, LineError> {
    #[derive(Deserialize)]
    struct Probe {
        error: Option<serde_json::Value>,
    }
    let probe: Probe = serde_json::from_str(media).map_err(LineError::Json)?;
    let line = if probe.error.is_some() {
        MediaLine::Failed(serde_json::from_str(media).map_err(LineError::Json)?)
    } else {
        MediaLine::Stored(serde_json::from_str(media).map_err(LineError::Json)?)
    };
    Ok(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{LaddrLine, parse_laddr_line};

    fn round_trip(line: MediaLine, text: &str) {
        let mut out = Vec::new();
        write_media_line(&mut out, &line).unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), format!("{text}\n"));
        match parse_laddr_line(text).unwrap() {
            Some(LaddrLine::Media(read)) => assert_eq!(read, line),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn stored_and_failed_lines_round_trip_byte_for_byte() {
        round_trip(
            MediaLine::Stored(MediaMeta {
                id: 555,
                url: "https://codeforphilly.org/media/555/original".into(),
                content_type: "image/png".into(),
                size: 1234,
                sha256: "ab".repeat(32),
            }),
            &format!(
                r#"{{"v":1,"media":{{"id":555,"url":"https://codeforphilly.org/media/555/original","contentType":"image/png","size":1234,"sha256":"{}"}}}}"#,
                "ab".repeat(32)
            ),
        );
        round_trip(
            MediaLine::Failed(MediaFailure {
                id: 556,
                url: "https://codeforphilly.org/media/556/original".into(),
                error: "HTTP 404".into(),
            }),
            r#"{"v":1,"media":{"id":556,"url":"https://codeforphilly.org/media/556/original","error":"HTTP 404"}}"#,
        );
    }

    #[test]
    fn bad_media_lines_are_refused() {
        for bad in [
            r#"{"v":1,"media":{"id":1,"url":"u"}}"#,
            r#"{"v":1,"media":{"id":"x","url":"u","error":"e"}}"#,
            r#"{"v":1,"media":[]}"#,
            r#"{"v":2,"media":{"id":1,"url":"u","error":"e"}}"#,
            r#"{"v":1,"resource":"people","media":{"id":1,"url":"u","error":"e"}}"#,
        ] {
            assert!(parse_laddr_line(bad).is_err(), "{bad}");
        }
    }
}
