//! `reconcile import-credentials`: merge the laddr credentials export into the private store.
//!
//! Differences from the reference importer (`reference/D` §4), on purpose:
//! - join on `ID` = `legacyId` when the export has it, else on the username normalised exactly as
//!   `sheet-write` normalises slugs ([`translate::normalize_person_slug`]); a username whose slug
//!   could belong to more than one laddr user (two rows normalise alike, or the repo holds a
//!   de-duplicated `<slug>-<n>`) is reported as ambiguous, never guessed, and a Person without a
//!   `legacyId` (created after cutover) is never matched;
//! - merge into the existing store instead of replacing it: an existing profile is kept (the
//!   API may have refreshed its email), and a credential is never replaced once used
//!   (`lastUsedAt`) or rehashed (argon2id);
//! - hashes of no known format are not imported; every skip is reported, per row.
//!
//! No email and no hash ever leaves this module except into the store tables.

use std::collections::{BTreeMap, HashMap};

use private_store::{Credential, HashFormat, Profile, Table, validate::is_email};
use serde::Serialize;

use crate::csvin::CsvRow;
use crate::people::Person;

/// Why a row was not imported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    /// The row has no username.
    NoUsername,
    /// The row has no email.
    NoEmail,
    /// The row's `ID` is not an integer.
    BadId,
    /// No Person matches the row.
    NoPersonMatch,
    /// More than one Person matches the row.
    AmbiguousMatch,
    /// The matched Person was not imported from laddr.
    NotLegacyPerson,
    /// The matched Person is soft-deleted.
    DeletedPerson,
    /// Another row matched the same Person.
    DuplicatePersonId,
    /// The email is not valid.
    InvalidEmail,
}

impl SkipReason {
    /// Every reason, in the order the report has always listed them.
    pub const ALL: [SkipReason; 9] = [
        SkipReason::NoUsername,
        SkipReason::NoEmail,
        SkipReason::BadId,
        SkipReason::NoPersonMatch,
        SkipReason::AmbiguousMatch,
        SkipReason::NotLegacyPerson,
        SkipReason::DeletedPerson,
        SkipReason::DuplicatePersonId,
        SkipReason::InvalidEmail,
    ];

    /// The name in NDJSON lines and the report.
    pub fn as_str(self) -> &'static str {
        match self {
            SkipReason::NoUsername => "noUsername",
            SkipReason::NoEmail => "noEmail",
            SkipReason::BadId => "badId",
            SkipReason::NoPersonMatch => "noPersonMatch",
            SkipReason::AmbiguousMatch => "ambiguousMatch",
            SkipReason::NotLegacyPerson => "notLegacyPerson",
            SkipReason::DeletedPerson => "deletedPerson",
            SkipReason::DuplicatePersonId => "duplicatePersonId",
            SkipReason::InvalidEmail => "invalidEmail",
        }
    }

    /// A skip a person has to look at (exit 1), as opposed to an expected one (a pruned
    /// person, a row without email).
    pub fn needs_attention(self) -> bool {
        matches!(self, SkipReason::AmbiguousMatch | SkipReason::BadId)
    }
}

/// What happened to one CSV row. Serialised as one NDJSON line (`v` is added by the caller).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RowResult {
    /// The row's line in the CSV.
    pub line: u64,
    /// The row's `ID` cell.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The row's username.
    pub username: String,
    /// `imported` (something written), `unchanged` or `skipped`.
    pub outcome: &'static str,
    /// Why the row was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    /// How the row was matched to its Person.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_by: Option<&'static str>,
    /// The matched Person's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
    /// The matched Person's slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// `created` or `kept`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub profile: Option<&'static str>,
    /// `created`, `replaced`, `unchanged`, `keptUsed`, `keptArgon2id`, `noPassword` or
    /// `unrecognisedHashFormat` (not imported).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credential: Option<&'static str>,
    /// The row's email already belongs to another Person's profile (the email is not shown).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub duplicate_email: bool,
    /// For `ambiguousMatch`: the slugs it could be.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
}

/// The `--json` report.
/// The import's machine report.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// When the import ran (ISO).
    pub run_at: String,
    /// True when nothing was written.
    pub dry_run: bool,
    /// Rows read from the CSV.
    pub input_rows: usize,
    /// Profiles created.
    pub profiles_created: usize,
    /// Profiles already there and kept.
    pub profiles_kept: usize,
    /// Credentials created.
    pub credentials_created: usize,
    /// Credentials replaced with a new hash.
    pub credentials_replaced: usize,
    /// Credentials already holding the row's hash.
    pub credentials_unchanged: usize,
    /// Credentials kept because they were used since import.
    pub credentials_kept_used: usize,
    /// Credentials kept because they already hold an Argon2id hash.
    pub credentials_kept_argon2id: usize,
    /// Rows with an empty password.
    pub rows_without_password: usize,
    /// Rows whose hash is in no known format (not imported).
    pub unrecognised_hash_rows: usize,
    /// Rows whose email belongs to another Person's profile.
    pub duplicate_email_rows: usize,
    /// Count per skip reason, every reason listed (0 when none).
    pub skipped: BTreeMap<&'static str, usize>,
    /// Where the profiles table is.
    pub profiles_location: Option<String>,
    /// Where the credentials table is.
    pub credentials_location: Option<String>,
}

impl ImportReport {
    /// Rows a person has to look at: skips that [`SkipReason::needs_attention`], and hashes of
    /// no known format. Any makes the run exit 1.
    pub fn needs_attention(&self) -> usize {
        let skipped: usize = SkipReason::ALL
            .iter()
            .filter(|r| r.needs_attention())
            .map(|r| self.skipped.get(r.as_str()).copied().unwrap_or(0))
            .sum();
        skipped + self.unrecognised_hash_rows
    }

    fn skip(&mut self, mut res: RowResult, reason: SkipReason) -> RowResult {
        res.reason = Some(reason.as_str());
        *self.skipped.entry(reason.as_str()).or_default() += 1;
        res
    }
}

/// Merges `rows` into the tables (in memory; the caller saves unless it is a dry run).
pub fn import(
    rows: &[CsvRow],
    people: &[Person],
    profiles: &mut Table<Profile>,
    creds: &mut Table<Credential>,
    run_at: &str,
) -> (ImportReport, Vec<RowResult>) {
    let index = Index::new(people, rows);
    let mut state = Merge {
        profiles,
        creds,
        run_at,
        email_owner: HashMap::new(),
        seen: HashMap::new(),
        report: ImportReport {
            run_at: run_at.to_owned(),
            input_rows: rows.len(),
            skipped: SkipReason::ALL.iter().map(|r| (r.as_str(), 0)).collect(),
            ..ImportReport::default()
        },
    };
    state.email_owner = state
        .profiles
        .iter()
        .map(|p| (p.email().to_owned(), p.person_id().to_owned()))
        .collect();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let mut res = RowResult::new(row);
        let result = match index.join(row, &mut res) {
            Ok(person) => state.merge(row, person, res),
            Err(reason) => state.report.skip(res, reason),
        };
        results.push(result);
    }
    (state.report, results)
}

impl RowResult {
    fn new(row: &CsvRow) -> RowResult {
        RowResult {
            line: row.line,
            id: row.id.clone(),
            username: row.username.clone(),
            outcome: "skipped",
            reason: None,
            joined_by: None,
            person_id: None,
            slug: None,
            profile: None,
            credential: None,
            duplicate_email: false,
            candidates: vec![],
        }
    }
}

/// The Persons, looked up the ways a CSV row can join them.
struct Index<'a> {
    by_slug: HashMap<&'a str, &'a Person>,
    by_legacy: HashMap<i64, Vec<&'a Person>>,
    /// `<stem>-<n>` slugs: the importer's de-duplication suffixes.
    suffixed: HashMap<&'a str, Vec<&'a str>>,
    /// How many ID-less rows normalise to each slug.
    rows_per_base: HashMap<String, usize>,
}

impl<'a> Index<'a> {
    fn new(people: &'a [Person], rows: &[CsvRow]) -> Index<'a> {
        let by_slug = people.iter().map(|p| (p.slug.as_str(), p)).collect();
        let mut by_legacy: HashMap<i64, Vec<&Person>> = HashMap::new();
        for p in people {
            if let Some(l) = p.legacy_id {
                by_legacy.entry(l).or_default().push(p);
            }
        }
        let mut suffixed: HashMap<&str, Vec<&str>> = HashMap::new();
        for p in people {
            if let Some((stem, n)) = p.slug.rsplit_once('-')
                && n.parse::<u32>().is_ok_and(|n| n >= 2)
                && !n.starts_with('0')
            {
                suffixed.entry(stem).or_default().push(&p.slug);
            }
        }
        let mut rows_per_base: HashMap<String, usize> = HashMap::new();
        for r in rows
            .iter()
            .filter(|r| r.id.is_none() && !r.username.is_empty())
        {
            *rows_per_base.entry(base_of(r)).or_default() += 1;
        }
        Index {
            by_slug,
            by_legacy,
            suffixed,
            rows_per_base,
        }
    }

    /// The one Person a row belongs to, or why there is none (`res` learns how it joined and,
    /// when ambiguous, the candidates).
    fn join(&self, row: &CsvRow, res: &mut RowResult) -> Result<&'a Person, SkipReason> {
        if row.id.is_none() && row.username.is_empty() {
            return Err(SkipReason::NoUsername);
        }
        if row.email.is_empty() {
            return Err(SkipReason::NoEmail);
        }
        match &row.id {
            Some(id) => self.join_by_id(id, res),
            None => self.join_by_username(row, res),
        }
    }

    fn join_by_id(&self, id: &str, res: &mut RowResult) -> Result<&'a Person, SkipReason> {
        res.joined_by = Some("id");
        let legacy = id.parse::<i64>().map_err(|_| SkipReason::BadId)?;
        match self.by_legacy.get(&legacy).map(Vec::as_slice) {
            None | Some([]) => Err(SkipReason::NoPersonMatch),
            Some([one]) => Ok(one),
            Some(many) => {
                res.candidates = many.iter().map(|p| p.slug.clone()).collect();
                Err(SkipReason::AmbiguousMatch)
            }
        }
    }

    fn join_by_username(
        &self,
        row: &CsvRow,
        res: &mut RowResult,
    ) -> Result<&'a Person, SkipReason> {
        res.joined_by = Some("username");
        let base = base_of(row);
        let exact = self.by_slug.get(base.as_str()).copied();
        let others = self
            .suffixed
            .get(base.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let mut candidates: Vec<String> = exact.iter().map(|p| p.slug.clone()).collect();
        candidates.extend(others.iter().map(|s| (*s).to_owned()));
        match exact {
            None if candidates.is_empty() => Err(SkipReason::NoPersonMatch),
            Some(p)
                if others.is_empty()
                    && self.rows_per_base.get(&base).copied().unwrap_or(0) <= 1 =>
            {
                Ok(p)
            }
            _ => {
                res.candidates = candidates;
                Err(SkipReason::AmbiguousMatch)
            }
        }
    }
}

/// The username normalised exactly as `sheet-write` normalises slugs.
fn base_of(row: &CsvRow) -> String {
    translate::normalize_person_slug(&row.username)
}

/// The tables being merged into, and what the run has seen so far.
struct Merge<'t> {
    profiles: &'t mut Table<Profile>,
    creds: &'t mut Table<Credential>,
    run_at: &'t str,
    email_owner: HashMap<String, String>,
    /// Person ids already given a row (the line that claimed each).
    seen: HashMap<String, u64>,
    report: ImportReport,
}

impl Merge<'_> {
    /// A joined row: the Person checks, then the profile, then the credential.
    fn merge(&mut self, row: &CsvRow, person: &Person, mut res: RowResult) -> RowResult {
        res.person_id = Some(person.id.clone());
        res.slug = Some(person.slug.clone());
        // A Person created after cutover (no legacyId) only shares the slug by chance: a legacy
        // credential must never attach to it.
        if person.legacy_id.is_none() {
            return self.report.skip(res, SkipReason::NotLegacyPerson);
        }
        if person.deleted {
            return self.report.skip(res, SkipReason::DeletedPerson);
        }
        if self.seen.contains_key(&person.id) {
            return self.report.skip(res, SkipReason::DuplicatePersonId);
        }
        self.seen.insert(person.id.clone(), row.line);
        if !is_email(&row.email) {
            return self.report.skip(res, SkipReason::InvalidEmail);
        }
        let email = row.email.to_lowercase();
        res.duplicate_email = self
            .email_owner
            .get(&email)
            .is_some_and(|owner| *owner != person.id);
        self.report.duplicate_email_rows += usize::from(res.duplicate_email);
        let Some(profile_written) = self.profile(person, email, &mut res) else {
            return self.report.skip(res, SkipReason::InvalidEmail);
        };
        let (credential, credential_written) = self.credential(row, person);
        res.credential = Some(credential);
        res.outcome = if profile_written || credential_written {
            "imported"
        } else {
            "unchanged"
        };
        res
    }

    /// Keep an existing profile, else create one. `Some(written)`, or `None` when the email
    /// does not make a valid profile.
    fn profile(&mut self, person: &Person, email: String, res: &mut RowResult) -> Option<bool> {
        if self.profiles.contains(&person.id) {
            res.profile = Some("kept");
            self.report.profiles_kept += 1;
            return Some(false);
        }
        let p = Profile::new(&person.id, &email, self.run_at).ok()?;
        self.profiles.upsert(p);
        self.email_owner
            .entry(email)
            .or_insert_with(|| person.id.clone());
        res.profile = Some("created");
        self.report.profiles_created += 1;
        Some(true)
    }

    /// The credential's outcome, and whether it was written. A used or rehashed credential is
    /// never replaced.
    fn credential(&mut self, row: &CsvRow, person: &Person) -> (&'static str, bool) {
        let report = &mut self.report;
        if row.password.is_empty() {
            report.rows_without_password += 1;
            return ("noPassword", false);
        }
        if HashFormat::of(&row.password) == HashFormat::Unrecognised {
            report.unrecognised_hash_rows += 1;
            return ("unrecognisedHashFormat", false);
        }
        match self.creds.get(&person.id) {
            Some(c) if c.last_used_at().is_some() => {
                report.credentials_kept_used += 1;
                ("keptUsed", false)
            }
            Some(c) if c.hash_format() == HashFormat::Argon2id => {
                report.credentials_kept_argon2id += 1;
                ("keptArgon2id", false)
            }
            Some(c) if c.password_hash() == row.password => {
                report.credentials_unchanged += 1;
                ("unchanged", false)
            }
            existing => {
                let replaced = existing.is_some();
                match Credential::new(&person.id, &row.password, self.run_at) {
                    Ok(c) => {
                        self.creds.upsert(c);
                        if replaced {
                            report.credentials_replaced += 1;
                            ("replaced", true)
                        } else {
                            report.credentials_created += 1;
                            ("created", true)
                        }
                    }
                    // Unreachable for a non-empty hash of a known format and a valid id.
                    Err(_) => ("unrecognisedHashFormat", false),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attention_is_ambiguous_or_bad_ids_and_unknown_hashes() {
        let attention: Vec<&str> = SkipReason::ALL
            .iter()
            .filter(|r| r.needs_attention())
            .map(|r| r.as_str())
            .collect();
        assert_eq!(attention, ["badId", "ambiguousMatch"]);
        let mut report = ImportReport {
            skipped: SkipReason::ALL.iter().map(|r| (r.as_str(), 0)).collect(),
            ..ImportReport::default()
        };
        report.skipped.insert("noPersonMatch", 4);
        report.skipped.insert("noEmail", 2);
        assert_eq!(report.needs_attention(), 0, "expected skips only");
        report.skipped.insert("ambiguousMatch", 1);
        report.unrecognised_hash_rows = 2;
        assert_eq!(report.needs_attention(), 3);
    }
}
