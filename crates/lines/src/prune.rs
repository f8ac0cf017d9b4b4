//! spam-prune's line (version 1): one per person the run prunes (or would prune).
//!
//! ```text
//! {"v":1,"slug":"cheap-seo","id":"019e…","legacyId":10234,"path":"people/cheap-seo.toml",
//!  "verdicts":[{"evaluator":"heuristic-v1","verdict":"spam","confidence":0.93}],"atRisk":[],
//!  "cascade":{"attachments":0,…},"dangling":{},"dryRun":true}
//! ```
//!
//! Fields are declared in line order, so a line read and written again has the same bytes.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{LineError, parse_versioned};

/// One pruned (or, in a dry run, to-be-pruned) person.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PrunedLine {
    /// The line format version, [`crate::LINE_VERSION`].
    pub v: u64,
    /// The person's slug on the branch.
    pub slug: String,
    /// The person's uuid; null when the record has none.
    pub id: Option<String>,
    /// The laddr `ID` as the record holds it (an integer, or null).
    pub legacy_id: Value,
    /// The record file removed, e.g. `people/alice.toml`.
    pub path: String,
    /// The confident spam verdicts that decided it.
    pub verdicts: Vec<Verdict>,
    /// Classes the person is in: `staff`, `github`, `authors`, `maintainers`.
    pub at_risk: Vec<String>,
    /// What the same commit removes or changes with the person.
    pub cascade: Cascade,
    /// References to the person left in place, by kind (only non-zero kinds).
    pub dangling: BTreeMap<String, usize>,
    /// True when nothing was written.
    pub dry_run: bool,
}

/// One evaluation that decided a prune.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    /// The evaluation file name without `.toml` (`heuristic-v1`, `human:chris`).
    pub evaluator: String,
    /// `spam`, `legit`, `uncertain`, or null for a verdict string that is none of them.
    pub verdict: Option<String>,
    /// Absent for a record without one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// Per-person cascade counts.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cascade {
    /// Files in the person's attachment folder (`people/<slug>/…`).
    pub attachments: usize,
    /// Project memberships deleted.
    pub memberships: usize,
    /// Help-wanted interest records deleted.
    pub help_wanted_interest: usize,
    /// Tag assignments of the person deleted.
    pub person_tag_assignments: usize,
    /// Project updates whose `authorId` is removed.
    pub project_updates_author_nulled: usize,
}

/// Read one pruned line (version checked first).
pub fn parse_pruned(text: &str) -> Result<PrunedLine, LineError> {
    parse_versioned(text)
}
