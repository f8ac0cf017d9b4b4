//! The NDJSON line contract the laddr-cutover tools exchange, in one place: the laddr
//! resources ([`Resource`]), the laddr-fetch row, end and `--totals` lines ([`laddr`]) and media
//! lines ([`media`]), probe
//! specs and results ([`probe`]), spam-prune's pruned lines ([`prune`]), sheet-write's
//! `--emit-records` lines ([`records`]) and the `{"v":1,…}` envelope reconcile's lines share
//! ([`Versioned`]). Every reader refuses a line of another version; every writer writes the
//! bytes `docs/ndjson.md` shows.
//!
//! ```
//! use lines::{LaddrLine, Resource, parse_laddr_line};
//! let line = r#"{"v":1,"resource":"people","end":{"rows":2,"total":2,"complete":true}}"#;
//! match parse_laddr_line(line).unwrap() {
//!     Some(LaddrLine::End(Resource::People, end)) => assert!(end.complete),
//!     other => panic!("{other:?}"),
//! }
//! ```

#![deny(missing_docs)]

pub mod laddr;
pub mod media;
pub mod probe;
pub mod prune;
pub mod records;
pub mod resource;

use std::io::{self, Write};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use laddr::{
    End, LaddrLine, Line, OwnedLine, ReadError, RowLine, Totals, parse_laddr_line,
    read_laddr_lines, write_end, write_line, write_totals,
};
pub use media::{MediaFailure, MediaLine, MediaMeta, write_media_line};
pub use resource::Resource;

/// The version every line format here has (`"v":1`).
pub const LINE_VERSION: u32 = 1;

/// Why one line could not be read.
#[derive(Debug)]
pub enum LineError {
    /// Not JSON, or JSON of the wrong shape for a typed line.
    Json(serde_json::Error),
    /// JSON, but not a line of this format (wrong version, unknown resource, …).
    Shape(String),
}

impl std::fmt::Display for LineError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineError::Json(e) => write!(f, "invalid JSON: {e}"),
            LineError::Shape(what) => f.write_str(what),
        }
    }
}

impl std::error::Error for LineError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            LineError::Json(e) => Some(e),
            LineError::Shape(_) => None,
        }
    }
}

/// `v` must be the integer [`LINE_VERSION`].
pub(crate) fn check_version(v: Option<&Value>) -> Result<(), LineError> {
    match v.and_then(Value::as_u64) {
        Some(n) if n == u64::from(LINE_VERSION) => Ok(()),
        Some(other) => Err(LineError::Shape(format!(
            "unsupported line version v={other} (this reads v={LINE_VERSION})"
        ))),
        None => Err(LineError::Shape("missing or non-integer \"v\"".to_owned())),
    }
}

/// A line's fields behind `"v":1`: serialises as `{"v":1,<the fields of line>}`.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Versioned<'a, T: Serialize> {
    /// Always [`LINE_VERSION`].
    pub v: u8,
    /// The line's own fields, flattened after `v`.
    #[serde(flatten)]
    pub line: &'a T,
}

impl<'a, T: Serialize> Versioned<'a, T> {
    /// `line` behind the current version.
    pub fn new(line: &'a T) -> Self {
        Versioned { v: 1, line }
    }
}

/// Write `value` as one JSON line (with its trailing newline), keys in struct order.
pub fn write_json_line(w: &mut impl Write, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *w, value)?;
    w.write_all(b"\n")
}

/// Read one `{"v":1,…}` line as `T` (which ignores or keeps `v` as it likes): the version is
/// checked first, so a line of another version is refused by its version, not its shape.
pub fn parse_versioned<T: DeserializeOwned>(text: &str) -> Result<T, LineError> {
    #[derive(Deserialize)]
    struct Version {
        v: Option<Value>,
    }
    let version: Version = serde_json::from_str(text).map_err(LineError::Json)?;
    check_version(version.v.as_ref())?;
    serde_json::from_str(text).map_err(LineError::Json)
}
