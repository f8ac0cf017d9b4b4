//! `reconcile drain-legacy`: the T+180 deletion of legacy credentials of unclaimed Persons.
//!
//! A credential is deleted when its Person exists, is not GitHub-linked, the credential was
//! imported before the cutoff and it was never used (`lastUsedAt` unset). A used credential is
//! never deleted: its owner is active on the password path.

use std::collections::{BTreeMap, HashMap};

use private_store::{Credential, Table};
use serde::Serialize;

use crate::Error;
use crate::people::Person;

/// Parses an age such as `180d`, `4w` or `36h` into seconds.
pub fn parse_age(s: &str) -> Result<i64, Error> {
    ::cli::duration::parse(s, ::cli::duration::AGE)
        .ok()
        .and_then(|d| i64::try_from(d.as_secs()).ok())
        .ok_or_else(|| {
            Error::Usage(format!(
                "--older-than {s:?}: expected a number and a unit d, w or h, e.g. 180d"
            ))
        })
}

/// One credential's decision; one NDJSON line.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DrainLine {
    /// The credential's Person id.
    pub person_id: String,
    /// The Person's slug, when the branch has the Person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// When the credential was imported.
    pub imported_at: String,
    /// `delete` (dry run), `deleted` (applied) or `keep`.
    pub action: &'static str,
    /// For `delete`: `unclaimed`. For `keep`: `claimed`, `usedSinceCutover`, `tooRecent`,
    /// `noPerson` or `unparsableImportedAt`.
    pub reason: &'static str,
}

/// The drain's machine report.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DrainReport {
    /// When the drain ran (ISO).
    pub run_at: String,
    /// Credentials imported before this time may be deleted (ISO).
    pub cutoff: String,
    /// True when deletions were written (`--apply`).
    pub apply: bool,
    /// Legacy credentials in the store before the run.
    pub legacy_password_count: usize,
    /// Credentials the drain deletes, or would.
    pub to_delete: usize,
    /// Credentials deleted.
    pub deleted: usize,
    /// Credentials kept, per reason.
    pub kept: BTreeMap<&'static str, usize>,
}

/// Decides for every credential (file order) and, with `apply`, removes the drained ones from
/// the table (the caller saves it).
pub fn drain(
    people: &[Person],
    creds: &mut Table<Credential>,
    now: jiff::Timestamp,
    older_than_secs: i64,
    apply: bool,
) -> Result<(DrainReport, Vec<DrainLine>), Error> {
    let cutoff = now
        .checked_sub(jiff::SignedDuration::from_secs(older_than_secs))
        .map_err(|e| Error::Usage(format!("--older-than is too large: {e}")))?;
    let by_id: HashMap<&str, &Person> = people.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut report = DrainReport {
        run_at: crate::iso(now),
        cutoff: crate::iso(cutoff),
        apply,
        legacy_password_count: creds.len(),
        to_delete: 0,
        deleted: 0,
        kept: BTreeMap::new(),
    };
    let mut lines = Vec::new();
    for c in creds.iter() {
        let person = by_id.get(c.person_id()).copied();
        let imported: Option<jiff::Timestamp> = c.imported_at().parse().ok();
        let decision = match (person, imported) {
            (None, _) => Err("noPerson"),
            (Some(p), _) if p.claimed() => Err("claimed"),
            _ if c.last_used_at().is_some() => Err("usedSinceCutover"),
            (_, None) => Err("unparsableImportedAt"),
            (_, Some(t)) if t >= cutoff => Err("tooRecent"),
            _ => Ok("unclaimed"),
        };
        let (action, reason) = match decision {
            Ok(r) => {
                report.to_delete += 1;
                (if apply { "deleted" } else { "delete" }, r)
            }
            Err(r) => {
                *report.kept.entry(r).or_default() += 1;
                ("keep", r)
            }
        };
        lines.push(DrainLine {
            person_id: c.person_id().to_owned(),
            slug: person.map(|p| p.slug.clone()),
            imported_at: c.imported_at().to_owned(),
            action,
            reason,
        });
    }
    if apply {
        for l in lines.iter().filter(|l| l.action == "deleted") {
            if creds.remove(&l.person_id).is_some() {
                report.deleted += 1;
            }
        }
    }
    Ok((report, lines))
}

#[cfg(test)]
mod tests {
    #[test]
    fn ages() {
        assert_eq!(super::parse_age("180d").unwrap(), 180 * 86_400);
        assert_eq!(super::parse_age("2w").unwrap(), 14 * 86_400);
        assert_eq!(super::parse_age("36h").unwrap(), 36 * 3_600);
        for bad in ["", "d", "180", "180m", "-1d", "1.5d"] {
            assert!(super::parse_age(bad).is_err(), "{bad}");
        }
    }
}
