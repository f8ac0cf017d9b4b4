//! Who gets the T+90 reminder (`reference/D` §5), with the reason for everyone left out.
//!
//! Rules, in order, first match wins, over Persons in the data repo's order: soft-deleted →
//! `deleted`; GitHub-linked → `github-linked`; no private profile → `no-private-profile`; email
//! on the `.invalid` TLD → `invalid-email`; with `--exclude-active-passwords`, a credential used
//! since cutover (`lastUsedAt` set) → `active-password`; an email already chosen for an earlier
//! Person (case-insensitive) → `duplicate-email`. Everyone else is a recipient.

use std::collections::HashMap;
use std::path::Path;

use private_store::{Credential, Profile, Table};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Error;

/// The Person fields the mailer uses (`reference/D` §2.4).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub slug: String,
    pub full_name: Option<String>,
    /// Soft-deleted (`deletedAt` set).
    pub deleted: bool,
    /// Claimed (GitHub-linked) when set; 0 counts as unset, as in the reference.
    pub github_user_id: Option<i64>,
}

impl Person {
    /// From a `people/<slug>.toml` record; `what` (its path) names it in errors.
    pub fn from_record(what: &str, r: &Map<String, Value>) -> Result<Person, Error> {
        let bad = |m: String| Error::BadPerson {
            what: what.to_owned(),
            message: m,
        };
        let req = |k: &str| match r.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(bad(format!("`{k}` is missing or not a string"))),
        };
        let github_user_id = match r.get("githubUserId") {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) => Some(
                n.as_i64()
                    .ok_or_else(|| bad("`githubUserId` is not an integer".into()))?,
            ),
            Some(_) => return Err(bad("`githubUserId` is not an integer".into())),
        };
        // Falsy values (absent, null, false, "") mean "not deleted", as in the reference.
        let deleted = !matches!(
            r.get("deletedAt"),
            None | Some(Value::Null) | Some(Value::Bool(false))
        ) && r.get("deletedAt").and_then(Value::as_str) != Some("");
        Ok(Person {
            id: req("id")?,
            slug: req("slug")?,
            full_name: r.get("fullName").and_then(Value::as_str).map(str::to_owned),
            deleted,
            github_user_id: github_user_id.filter(|&g| g != 0),
        })
    }
}

/// All Persons of the `people` sheet at `branch`, deleted ones included, in the repo's order.
/// A file that cannot be read as a Person stops the run: a mailout must not skip people silently.
pub fn load_people(repo_path: &Path, branch: &str) -> Result<Vec<Person>, Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    let read = repo.read_sheet_at(branch, "people")?;
    if let Some(first) = read.errors.first() {
        return Err(Error::Sheet(format!(
            "{} file(s) of the people sheet at {branch} cannot be read; first: {first}",
            read.errors.len()
        )));
    }
    read.records
        .iter()
        .map(|s| Person::from_record(&s.path, &s.record))
        .collect()
}

/// One recipient: the reference's shape, and the NDJSON line `mailer select` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    pub person_id: String,
    pub slug: String,
    pub email: String,
    pub full_name: Option<String>,
}

/// Version of the NDJSON lines (`v`).
pub const LINE_VERSION: u8 = 1;

/// A recipient as an NDJSON line: `{"v":1,"personId",…}`.
#[derive(Serialize)]
pub struct RecipientLine<'a> {
    pub v: u8,
    #[serde(flatten)]
    pub recipient: &'a Recipient,
}

/// A recipient line as read back (`v` absent or 1).
#[derive(Deserialize)]
pub struct RecipientIn {
    pub v: Option<u64>,
    #[serde(flatten)]
    pub recipient: Recipient,
}

/// Why a Person gets no mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    Deleted,
    GithubLinked,
    NoPrivateProfile,
    InvalidEmail,
    ActivePassword,
    DuplicateEmail,
    /// `mailer send` only: the sent-log already has this person (or this address).
    AlreadySent,
    /// `mailer send` only: the same personId twice in the input.
    DuplicatePerson,
}

/// A Person left out, and why. `duplicateOf` names the Person who keeps the address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub person_id: String,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duplicate_of: Option<String>,
}

#[derive(Clone, Debug, Default)]
pub struct Selection {
    pub recipients: Vec<Recipient>,
    pub skipped: Vec<Skipped>,
}

/// Options of the selection.
#[derive(Clone, Copy, Debug, Default)]
pub struct SelectOptions {
    /// Leave out people whose legacy credential has `lastUsedAt` (they sign in already).
    pub exclude_active_passwords: bool,
}

/// Applies the rules to `people` in order. `credentials` is only read with
/// `exclude_active_passwords`.
pub fn select(
    people: &[Person],
    profiles: &Table<Profile>,
    credentials: Option<&Table<Credential>>,
    opts: SelectOptions,
) -> Selection {
    let mut out = Selection::default();
    // Lowercased address → the personId that keeps it.
    let mut by_email: HashMap<String, String> = HashMap::new();
    for p in people {
        let skip = |reason: Reason, duplicate_of: Option<String>| Skipped {
            person_id: p.id.clone(),
            reason,
            slug: Some(p.slug.clone()),
            duplicate_of,
        };
        if p.deleted {
            out.skipped.push(skip(Reason::Deleted, None));
            continue;
        }
        if p.github_user_id.is_some() {
            out.skipped.push(skip(Reason::GithubLinked, None));
            continue;
        }
        let Some(profile) = profiles.get(&p.id) else {
            out.skipped.push(skip(Reason::NoPrivateProfile, None));
            continue;
        };
        let email = profile.email().to_lowercase();
        if email.ends_with(".invalid") {
            out.skipped.push(skip(Reason::InvalidEmail, None));
            continue;
        }
        if opts.exclude_active_passwords
            && credentials
                .and_then(|c| c.get(&p.id))
                .is_some_and(|c| c.last_used_at().is_some())
        {
            out.skipped.push(skip(Reason::ActivePassword, None));
            continue;
        }
        if let Some(first) = by_email.get(&email) {
            out.skipped
                .push(skip(Reason::DuplicateEmail, Some(first.clone())));
            continue;
        }
        by_email.insert(email.clone(), p.id.clone());
        out.recipients.push(Recipient {
            person_id: p.id.clone(),
            slug: p.slug.clone(),
            email,
            full_name: p.full_name.clone(),
        });
    }
    out
}
