//! The public Person fields reconcile uses (`reference/D` §2.4). They are read, with their
//! rules (`githubUserId` 0 is not linked, a falsy `deletedAt` is not deleted), by the one view
//! in [`sheets::people`]; this is that view narrowed to reconcile's fields.

use serde_json::{Map, Value};

use crate::Error;

/// One `people/<slug>.toml` record, reduced to what reconcile needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// The Person's id.
    pub id: String,
    /// The Person's slug.
    pub slug: String,
    /// laddr `people.ID`.
    pub legacy_id: Option<i64>,
    /// Soft-deleted (`deletedAt` set).
    pub deleted: bool,
    /// GitHub-linked ("claimed") when set.
    pub github_user_id: Option<i64>,
    /// The Slack SAML NameID, when set.
    pub slack_saml_name_id: Option<String>,
}

impl From<sheets::people::Person> for Person {
    fn from(p: sheets::people::Person) -> Self {
        Person {
            id: p.id,
            slug: p.slug,
            legacy_id: p.legacy_id,
            deleted: p.deleted,
            github_user_id: p.github_user_id,
            slack_saml_name_id: p.slack_saml_name_id,
        }
    }
}

impl Person {
    /// Builds a Person from a record; `what` names the record in errors (its path).
    pub fn from_record(what: &str, r: &Map<String, Value>) -> Result<Person, Error> {
        Ok(sheets::people::Person::from_record(what, r)?.into())
    }

    /// True when the Person is GitHub-linked.
    pub fn claimed(&self) -> bool {
        self.github_user_id.is_some()
    }
}

/// All Persons of the `people` sheet at `branch` of the bare repo at `repo_path`, deleted ones
/// included. A file that cannot be read as a Person is an error (a gate must not skip data).
pub fn load_people(repo_path: &std::path::Path, branch: &str) -> Result<Vec<Person>, Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    let people = sheets::people::load_people(&repo, branch)?;
    Ok(people.into_iter().map(Person::from).collect())
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
