//! `reconcile nameids`: Slack SAML continuity. Slack knows each member by their laddr `Username`
//! (the NameID before cutover); after cutover the IdP sends `slackSamlNameId`, so the two must be
//! byte-for-byte equal or the member lands in a new, empty Slack account.

use std::collections::HashMap;
use std::io::BufRead;

use lines::{LaddrLine, ReadError, Resource, read_laddr_lines};
use serde::Serialize;
use serde_json::Value;

use crate::Error;
use crate::people::Person;

/// laddr `people.ID` → `Username`, from `laddr-fetch` NDJSON read by the line contract
/// ([`lines::parse_laddr_line`]); rows of other resources, end lines and `--totals` lines are
/// skipped. A contact-only row (no `Username`: it never signed in, so Slack has no NameID for
/// it) maps to `None`.
pub fn read_laddr_usernames(
    name: &str,
    input: impl BufRead,
) -> Result<HashMap<i64, Option<String>>, Error> {
    let mut out = HashMap::new();
    for read in read_laddr_lines(input) {
        let err = |line: u64, m: String| Error::Input {
            path: name.to_owned(),
            message: format!("line {line}: {m}"),
        };
        let (line, parsed) = read.map_err(|e| match e {
            ReadError::Io { after_line, source } => err(after_line + 1, source.to_string()),
            ReadError::Line {
                line,
                error: lines::LineError::Json(e),
            } => err(line, format!("not JSON: {e}")),
            ReadError::Line { line, error } => {
                err(line, format!("not a laddr-fetch v1 line: {error}"))
            }
        })?;
        let LaddrLine::Row(row) = parsed else {
            continue;
        };
        if row.resource != Resource::People {
            continue;
        }
        let row = row
            .object()
            .map_err(|e| err(line, format!("not JSON: {e}")))?;
        let id = match row.get("ID") {
            Some(Value::Number(n)) => n.as_i64(),
            Some(Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        }
        .ok_or_else(|| err(line, "people row without a numeric `ID`".into()))?;
        let username = match row.get("Username") {
            Some(Value::String(u)) if !u.is_empty() => Some(u.clone()),
            _ => None,
        };
        out.insert(id, username);
    }
    Ok(out)
}

/// One finding; one NDJSON line.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NameIdFinding {
    /// `mismatch`, `missingNameId`, `noLaddrUser` or `duplicateNameId`.
    pub problem: &'static str,
    /// The Person's id.
    pub person_id: String,
    /// The Person's slug.
    pub slug: String,
    /// The Person's laddr `people.ID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<i64>,
    /// The Person's Slack SAML NameID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slack_saml_name_id: Option<String>,
    /// The laddr username the NameID should equal.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub laddr_username: Option<String>,
    /// For `duplicateNameId`: the other Persons holding the same NameID.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub also: Vec<String>,
}

/// Checks live Persons: every one with a `legacyId` whose laddr row has a `Username` must carry
/// it as `slackSamlNameId`, and no two live Persons may share a NameID.
pub fn check_nameids(
    people: &[Person],
    laddr: &HashMap<i64, Option<String>>,
) -> Vec<NameIdFinding> {
    let live: Vec<&Person> = people.iter().filter(|p| !p.deleted).collect();
    let mut out = Vec::new();
    let finding = |problem, p: &Person| NameIdFinding {
        problem,
        person_id: p.id.clone(),
        slug: p.slug.clone(),
        legacy_id: p.legacy_id,
        slack_saml_name_id: p.slack_saml_name_id.clone(),
        laddr_username: p.legacy_id.and_then(|l| laddr.get(&l).cloned().flatten()),
        also: vec![],
    };
    for p in &live {
        let Some(legacy) = p.legacy_id else { continue };
        match (laddr.get(&legacy), &p.slack_saml_name_id) {
            (None, _) => out.push(finding("noLaddrUser", p)),
            // Contact-only laddr row: no account, so no Slack NameID to keep.
            (Some(None), _) => {}
            (Some(Some(u)), Some(n)) if u != n => out.push(finding("mismatch", p)),
            (Some(Some(_)), None) => out.push(finding("missingNameId", p)),
            _ => {}
        }
    }
    let mut by_name: HashMap<&str, Vec<&Person>> = HashMap::new();
    for p in &live {
        if let Some(n) = &p.slack_saml_name_id {
            by_name.entry(n.as_str()).or_default().push(p);
        }
    }
    for p in &live {
        let Some(n) = &p.slack_saml_name_id else {
            continue;
        };
        let holders = &by_name[n.as_str()];
        if holders.len() > 1 {
            let mut f = finding("duplicateNameId", p);
            f.also = holders
                .iter()
                .filter(|o| o.id != p.id)
                .map(|o| o.slug.clone())
                .collect();
            out.push(f);
        }
    }
    out
}
