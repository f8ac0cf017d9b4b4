//! sheet-write's `--emit-records` line (version 1): one translated record with its path.
//!
//! ```text
//! {"v":1,"sheet":"people","path":"people/alice.toml","record":{"id":"0190…","legacyId":10,…}}
//! ```

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{LineError, parse_versioned};

/// One emitted record. The keys are written sorted (`path`, `record`, `sheet`, `v`), the
/// order sheet-write has always written them in; `record`'s keys are sorted too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordLine<'a> {
    /// The record's file path in the repo; `""` when no repo was given.
    pub path: &'a str,
    /// The record exactly as it is serialised.
    pub record: Value,
    /// The sheet name.
    pub sheet: &'a str,
    /// The line format version, [`crate::LINE_VERSION`].
    pub v: u32,
}

/// An owned [`RecordLine`], as read back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OwnedRecordLine {
    /// The record's file path in the repo; `""` when no repo was given.
    pub path: String,
    /// The record exactly as it is serialised.
    pub record: Value,
    /// The sheet name.
    pub sheet: String,
    /// The line format version, [`crate::LINE_VERSION`].
    pub v: u32,
}

impl<'a> RecordLine<'a> {
    /// A line of the current version.
    pub fn new(sheet: &'a str, path: &'a str, record: Value) -> Self {
        RecordLine {
            path,
            record,
            sheet,
            v: crate::LINE_VERSION,
        }
    }
}

/// Read one `--emit-records` line (version checked first).
pub fn parse_record_line(text: &str) -> Result<OwnedRecordLine, LineError> {
    parse_versioned(text)
}
