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
pub const SKIP_REASONS: &[&str] = &[
    "noUsername",
    "noEmail",
    "badId",
    "noPersonMatch",
    "ambiguousMatch",
    "notLegacyPerson",
    "deletedPerson",
    "duplicatePersonId",
    "invalidEmail",
];

/// What happened to one CSV row. Serialised as one NDJSON line (`v` is added by the caller).
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct RowResult {
    pub line: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub username: String,
    /// `imported` (something written), `unchanged` or `skipped`.
    pub outcome: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub joined_by: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub person_id: Option<String>,
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
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    pub run_at: String,
    pub dry_run: bool,
    pub input_rows: usize,
    pub profiles_created: usize,
    pub profiles_kept: usize,
    pub credentials_created: usize,
    pub credentials_replaced: usize,
    pub credentials_unchanged: usize,
    pub credentials_kept_used: usize,
    pub credentials_kept_argon2id: usize,
    pub rows_without_password: usize,
    pub unrecognised_hash_rows: usize,
    pub duplicate_email_rows: usize,
    /// Count per skip reason, every reason listed (0 when none).
    pub skipped: BTreeMap<&'static str, usize>,
    pub profiles_location: Option<String>,
    pub credentials_location: Option<String>,
}

/// Merges `rows` into the tables (in memory; the caller saves unless it is a dry run).
pub fn import(
    rows: &[CsvRow],
    people: &[Person],
    profiles: &mut Table<Profile>,
    creds: &mut Table<Credential>,
    run_at: &str,
) -> (ImportReport, Vec<RowResult>) {
    let by_slug: HashMap<&str, &Person> = people.iter().map(|p| (p.slug.as_str(), p)).collect();
    let mut by_legacy: HashMap<i64, Vec<&Person>> = HashMap::new();
    for p in people {
        if let Some(l) = p.legacy_id {
            by_legacy.entry(l).or_default().push(p);
        }
    }
    // `<stem>-<n>` slugs: the importer's de-duplication suffixes.
    let mut suffixed: HashMap<&str, Vec<&str>> = HashMap::new();
    for p in people {
        if let Some((stem, n)) = p.slug.rsplit_once('-')
            && n.parse::<u32>().is_ok_and(|n| n >= 2)
            && !n.starts_with('0')
        {
            suffixed.entry(stem).or_default().push(&p.slug);
        }
    }
    let base_of = |r: &CsvRow| translate::normalize_person_slug(&r.username);
    let mut rows_per_base: HashMap<String, usize> = HashMap::new();
    for r in rows
        .iter()
        .filter(|r| r.id.is_none() && !r.username.is_empty())
    {
        *rows_per_base.entry(base_of(r)).or_default() += 1;
    }
    let mut email_owner: HashMap<String, String> = profiles
        .iter()
        .map(|p| (p.email().to_owned(), p.person_id().to_owned()))
        .collect();

    let mut report = ImportReport {
        run_at: run_at.to_owned(),
        input_rows: rows.len(),
        skipped: SKIP_REASONS.iter().map(|r| (*r, 0)).collect(),
        ..ImportReport::default()
    };
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut results = Vec::with_capacity(rows.len());
    for row in rows {
        let mut res = RowResult {
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
        };
        let skip = |mut res: RowResult, reason: &'static str, report: &mut ImportReport| {
            res.reason = Some(reason);
            *report.skipped.entry(reason).or_default() += 1;
            res
        };
        if row.id.is_none() && row.username.is_empty() {
            results.push(skip(res, "noUsername", &mut report));
            continue;
        }
        if row.email.is_empty() {
            results.push(skip(res, "noEmail", &mut report));
            continue;
        }
        // Join.
        let person: &Person = if let Some(id) = &row.id {
            res.joined_by = Some("id");
            let Ok(legacy) = id.parse::<i64>() else {
                results.push(skip(res, "badId", &mut report));
                continue;
            };
            match by_legacy.get(&legacy).map(Vec::as_slice) {
                None | Some([]) => {
                    results.push(skip(res, "noPersonMatch", &mut report));
                    continue;
                }
                Some([one]) => one,
                Some(many) => {
                    res.candidates = many.iter().map(|p| p.slug.clone()).collect();
                    results.push(skip(res, "ambiguousMatch", &mut report));
                    continue;
                }
            }
        } else {
            res.joined_by = Some("username");
            let base = base_of(row);
            let exact = by_slug.get(base.as_str()).copied();
            let others = suffixed
                .get(base.as_str())
                .map(Vec::as_slice)
                .unwrap_or_default();
            let mut candidates: Vec<String> = exact.iter().map(|p| p.slug.clone()).collect();
            candidates.extend(others.iter().map(|s| (*s).to_owned()));
            match exact {
                None if candidates.is_empty() => {
                    results.push(skip(res, "noPersonMatch", &mut report));
                    continue;
                }
                Some(p)
                    if others.is_empty() && rows_per_base.get(&base).copied().unwrap_or(0) <= 1 =>
                {
                    p
                }
                _ => {
                    res.candidates = candidates;
                    results.push(skip(res, "ambiguousMatch", &mut report));
                    continue;
                }
            }
        };
        res.person_id = Some(person.id.clone());
        res.slug = Some(person.slug.clone());
        // A Person created after cutover (no legacyId) only shares the slug by chance: a legacy
        // credential must never attach to it.
        if person.legacy_id.is_none() {
            results.push(skip(res, "notLegacyPerson", &mut report));
            continue;
        }
        if person.deleted {
            results.push(skip(res, "deletedPerson", &mut report));
            continue;
        }
        if seen.contains_key(&person.id) {
            results.push(skip(res, "duplicatePersonId", &mut report));
            continue;
        }
        seen.insert(person.id.clone(), row.line);
        if !is_email(&row.email) {
            results.push(skip(res, "invalidEmail", &mut report));
            continue;
        }
        let email = row.email.to_lowercase();
        res.duplicate_email = email_owner
            .get(&email)
            .is_some_and(|owner| *owner != person.id);
        report.duplicate_email_rows += usize::from(res.duplicate_email);

        let mut wrote = false;
        if profiles.contains(&person.id) {
            res.profile = Some("kept");
            report.profiles_kept += 1;
        } else {
            match Profile::new(&person.id, &email, run_at) {
                Ok(p) => {
                    profiles.upsert(p);
                    email_owner
                        .entry(email)
                        .or_insert_with(|| person.id.clone());
                    res.profile = Some("created");
                    report.profiles_created += 1;
                    wrote = true;
                }
                Err(_) => {
                    results.push(skip(res, "invalidEmail", &mut report));
                    continue;
                }
            }
        }
        res.credential = Some(if row.password.is_empty() {
            report.rows_without_password += 1;
            "noPassword"
        } else if HashFormat::of(&row.password) == HashFormat::Unrecognised {
            report.unrecognised_hash_rows += 1;
            "unrecognisedHashFormat"
        } else {
            match creds.get(&person.id) {
                Some(c) if c.last_used_at().is_some() => {
                    report.credentials_kept_used += 1;
                    "keptUsed"
                }
                Some(c) if c.hash_format() == HashFormat::Argon2id => {
                    report.credentials_kept_argon2id += 1;
                    "keptArgon2id"
                }
                Some(c) if c.password_hash() == row.password => {
                    report.credentials_unchanged += 1;
                    "unchanged"
                }
                existing => match Credential::new(&person.id, &row.password, run_at) {
                    Ok(c) => {
                        let replaced = existing.is_some();
                        creds.upsert(c);
                        wrote = true;
                        if replaced {
                            report.credentials_replaced += 1;
                            "replaced"
                        } else {
                            report.credentials_created += 1;
                            "created"
                        }
                    }
                    // Unreachable for a non-empty hash of a known format and a valid id.
                    Err(_) => "unrecognisedHashFormat",
                },
            }
        });
        res.outcome = if wrote { "imported" } else { "unchanged" };
        results.push(res);
    }
    (report, results)
}
