//! The public Person fields these tools use (`reference/D` §2.4), read from the data repo.

use serde_json::{Map, Value};

use crate::Error;

/// One `people/<slug>.toml` record, reduced to what reconcile needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    pub id: String,
    pub slug: String,
    /// laddr `people.ID`.
    pub legacy_id: Option<i64>,
    /// Soft-deleted (`deletedAt` set).
    pub deleted: bool,
    /// GitHub-linked ("claimed") when set.
    pub github_user_id: Option<i64>,
    pub slack_saml_name_id: Option<String>,
}

impl Person {
    /// Builds a Person from a record; `what` names the record in errors (its path).
    pub fn from_record(what: &str, r: &Map<String, Value>) -> Result<Person, Error> {
        let bad = |m: String| Error::BadPerson {
            what: what.to_owned(),
            message: m,
        };
        let req = |k: &str| match r.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(bad(format!("`{k}` is missing or not a string"))),
        };
        let int = |k: &str| match r.get(k) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Number(n)) => n
                .as_i64()
                .map(Some)
                .ok_or_else(|| bad(format!("`{k}` is not an integer"))),
            Some(_) => Err(bad(format!("`{k}` is not an integer"))),
        };
        let deleted = !matches!(
            r.get("deletedAt"),
            None | Some(Value::Null) | Some(Value::Bool(false))
        ) && r.get("deletedAt").and_then(Value::as_str) != Some("");
        Ok(Person {
            id: req("id")?,
            slug: req("slug")?,
            legacy_id: int("legacyId")?,
            deleted,
            // `githubUserId` 0 is falsy in the reference, i.e. not linked.
            github_user_id: int("githubUserId")?.filter(|&g| g != 0),
            slack_saml_name_id: match r.get("slackSamlNameId") {
                Some(Value::String(s)) => Some(s.clone()),
                _ => None,
            },
        })
    }

    pub fn claimed(&self) -> bool {
        self.github_user_id.is_some()
    }
}

/// All Persons of the `people` sheet at `branch` of the bare repo at `repo_path`, deleted ones
/// included. A file that cannot be read as a Person is an error (a gate must not skip data).
pub fn load_people(repo_path: &std::path::Path, branch: &str) -> Result<Vec<Person>, Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    let read = repo.read_sheet_at(branch, "people")?;
    if let Some(first) = read.errors.first() {
        return Err(Error::Sheet(format!(
            "{} file(s) of the people sheet cannot be read; first: {first}",
            read.errors.len()
        )));
    }
    read.records
        .iter()
        .map(|s| Person::from_record(&s.path, &s.record))
        .collect()
}

/// Every id field of the records at `branch` that resolves to no record ([`sheets::closure`]).
/// A file that cannot be read is an error: its references could not be checked.
pub fn dangling_references(
    repo_path: &std::path::Path,
    branch: &str,
) -> Result<Vec<sheets::Dangling>, Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    let commit = repo
        .resolve(branch)?
        .ok_or_else(|| Error::Sheet(format!("branch {branch} does not exist in the data repo")))?;
    let (dangling, unreadable) = repo.dangling_references(repo.tree_of(commit)?)?;
    if let Some(first) = unreadable.first() {
        return Err(Error::Sheet(format!(
            "{} record file(s) cannot be read, so their references cannot be checked; first: {first}",
            unreadable.len()
        )));
    }
    Ok(dangling)
}
