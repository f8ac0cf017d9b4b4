//! The public Person (`people/<slug>.toml`) as the tools read it (`reference/D` §2.4): one
//! view, so "claimed", "deleted" and the other fields mean the same in every tool.
//!
//! The reference tests fields for JavaScript truthiness: `githubUserId` 0 and a `deletedAt` of
//! `false` or `""` are unset.

use serde_json::{Map, Value};

use crate::{DataRepo, ObjectId, RepoError, SheetConfig, SheetError, StoredRecord, TreeRecords};

/// A Person record reduced to the fields the tools use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Person {
    /// The Person's id.
    pub id: String,
    /// The Person's slug.
    pub slug: String,
    /// The Person's full name, when set.
    pub full_name: Option<String>,
    /// laddr `people.ID`.
    pub legacy_id: Option<i64>,
    /// Soft-deleted (`deletedAt` set).
    pub deleted: bool,
    /// GitHub-linked ("claimed") when set; see [`github_user_id`].
    pub github_user_id: Option<i64>,
    /// `user`, `staff` or `administrator` (absent means `user`).
    pub account_level: Option<String>,
    /// The Slack SAML NameID, when set.
    pub slack_saml_name_id: Option<String>,
}

/// A record that cannot be read as a Person: `what` names it (its path).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{what}: {message}")]
pub struct BadPerson {
    /// The record (its path).
    pub what: String,
    /// What is wrong with it.
    pub message: String,
}

/// Why the people of a branch could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PeopleError {
    #[error(transparent)]
    /// The branch could not be read.
    Repo(#[from] RepoError),
    /// Files of the sheet that do not decode: a gate or a mailout must not skip people.
    #[error("{count} file(s) of the people sheet at {branch} cannot be read; first: {first}")]
    Unreadable {
        /// How many files.
        count: usize,
        /// The branch read.
        branch: String,
        /// The first file's error.
        first: String,
    },
    #[error(transparent)]
    /// A record that cannot be read as a Person.
    Bad(#[from] BadPerson),
}

/// `githubUserId`, the one rule for "GitHub-linked": absent, null and 0 (falsy in the
/// reference) are not linked; any other integer is; anything else is an error.
pub fn github_user_id(r: &Map<String, Value>) -> Result<Option<i64>, String> {
    Ok(int_field(r, "githubUserId")?.filter(|&g| g != 0))
}

/// `deletedAt` truthy: absent, null, `false` and `""` mean "not deleted".
pub fn is_deleted(r: &Map<String, Value>) -> bool {
    !matches!(
        r.get("deletedAt"),
        None | Some(Value::Null) | Some(Value::Bool(false))
    ) && r.get("deletedAt").and_then(Value::as_str) != Some("")
}

/// An `accountLevel` of staff or administrator.
pub fn is_staff_level(account_level: Option<&str>) -> bool {
    matches!(account_level, Some("staff" | "administrator"))
}

fn int_field(r: &Map<String, Value>, k: &str) -> Result<Option<i64>, String> {
    match r.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| format!("`{k}` is not an integer")),
        Some(_) => Err(format!("`{k}` is not an integer")),
    }
}

fn opt_str(r: &Map<String, Value>, k: &str) -> Option<String> {
    r.get(k).and_then(Value::as_str).map(str::to_owned)
}

impl Person {
    /// Reads a Person from a record; `what` names the record in errors (its path). `id` and
    /// `slug` must be non-empty strings, `legacyId` and `githubUserId` integers when set.
    pub fn from_record(what: &str, r: &Map<String, Value>) -> Result<Person, BadPerson> {
        let bad = |message: String| BadPerson {
            what: what.to_owned(),
            message,
        };
        let req = |k: &str| match r.get(k) {
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            _ => Err(bad(format!("`{k}` is missing or not a string"))),
        };
        Ok(Person {
            id: req("id")?,
            slug: req("slug")?,
            full_name: opt_str(r, "fullName"),
            legacy_id: int_field(r, "legacyId").map_err(bad)?,
            deleted: is_deleted(r),
            github_user_id: github_user_id(r).map_err(bad)?,
            account_level: opt_str(r, "accountLevel"),
            slack_saml_name_id: opt_str(r, "slackSamlNameId"),
        })
    }

    /// Claimed: the account is linked to GitHub.
    pub fn claimed(&self) -> bool {
        self.github_user_id.is_some()
    }

    /// `accountLevel` staff or administrator.
    pub fn is_staff(&self) -> bool {
        is_staff_level(self.account_level.as_deref())
    }
}

/// The fields of a person record [`Person::from_record`] reads: all a tool reads of one.
pub const PERSON_FIELDS: [&str; 8] = [
    "id",
    "slug",
    "fullName",
    "legacyId",
    "deletedAt",
    "githubUserId",
    "accountLevel",
    "slackSamlNameId",
];

/// All Persons of the `people` sheet at `branch`, deleted ones included, in the repo's order.
/// A file that cannot be read, or read as a Person, is an error. Only [`PERSON_FIELDS`] are
/// read, on every core, without building documents where the text allows.
pub fn load_people(repo: &DataRepo, branch: &str) -> Result<Vec<Person>, PeopleError> {
    let (tree, config) = people_sheet(repo, branch)?;
    let files = repo.record_files(tree, &config)?;
    let read = repo.read_records_keys(files, &config, &PERSON_FIELDS)?;
    let errors: Vec<&SheetError> = read.errors.iter().collect();
    persons(branch, &read.records, &errors)
}

/// [`load_people`] and every record of every sheet at `branch` reduced to the fields the
/// closure check reads ([`DataRepo::read_tree_references`]), from one read of the branch: a
/// tool that needs both reads each blob once.
pub fn load_people_and_references(
    repo: &DataRepo,
    branch: &str,
) -> Result<(Vec<Person>, TreeRecords), PeopleError> {
    let (tree, _) = people_sheet(repo, branch)?;
    let configs = repo.sheet_configs(tree)?;
    let records = repo.read_tree_fields(tree, &configs, &|config| {
        let people = config.name == "people";
        Box::new(move |field| {
            crate::closure::is_checked_field(field, Some(&config.references))
                || people && PERSON_FIELDS.contains(&field)
        })
    })?;
    let errors: Vec<&SheetError> = records
        .errors
        .iter()
        .zip(&records.error_sheets)
        .filter(|(_, sheet)| sheet.as_str() == "people")
        .map(|(e, _)| e)
        .collect();
    let people = persons(branch, &records.sheets["people"], &errors)?;
    Ok((people, records))
}

/// The tree of `branch` and its `people` sheet config, with the errors a missing branch or
/// sheet gives.
fn people_sheet(repo: &DataRepo, branch: &str) -> Result<(ObjectId, SheetConfig), RepoError> {
    let commit = repo.resolve(branch)?.ok_or_else(|| RepoError::Ref {
        name: branch.to_owned(),
        message: "does not exist".into(),
    })?;
    let tree = repo.tree_of(commit)?;
    let config = repo.sheet_config(tree, "people")?;
    Ok((tree, config))
}

/// The Persons of the people sheet's records, or the first reason they cannot all be read.
fn persons(
    branch: &str,
    records: &[StoredRecord],
    errors: &[&SheetError],
) -> Result<Vec<Person>, PeopleError> {
    if let Some(first) = errors.first() {
        return Err(PeopleError::Unreadable {
            count: errors.len(),
            branch: branch.to_owned(),
            first: first.to_string(),
        });
    }
    let people = records
        .iter()
        .map(|s| Person::from_record(&s.path, &s.record))
        .collect::<Result<_, _>>()?;
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    fn person(extra: Value) -> Result<Person, BadPerson> {
        let mut r = rec(json!({"id": "019e4021-2053-7493-ac00-d3752f9f8652", "slug": "ann"}));
        r.extend(rec(extra));
        Person::from_record("people/ann.toml", &r)
    }

    /// `githubUserId = 0` is unclaimed in every tool (spam-prune used to count it as linked).
    #[test]
    fn github_user_id_zero_is_not_linked() {
        assert_eq!(
            person(json!({"githubUserId": 0})).map(|p| p.claimed()),
            Ok(false)
        );
        assert_eq!(
            person(json!({"githubUserId": null})).map(|p| p.claimed()),
            Ok(false)
        );
        assert_eq!(person(json!({})).map(|p| p.claimed()), Ok(false));
        let linked = person(json!({"githubUserId": 4242}));
        assert_eq!(linked.as_ref().map(|p| p.github_user_id), Ok(Some(4242)));
        assert_eq!(linked.map(|p| p.claimed()), Ok(true));
    }

    #[test]
    fn a_github_user_id_that_is_not_an_integer_names_the_record() {
        for bad in [json!("4242"), json!(1.5), json!(true)] {
            let err = person(json!({"githubUserId": bad})).err();
            assert_eq!(
                err.map(|e| e.to_string()),
                Some("people/ann.toml: `githubUserId` is not an integer".to_owned())
            );
        }
    }

    #[test]
    fn deleted_is_truthiness() {
        for (v, deleted) in [
            (json!(null), false),
            (json!(false), false),
            (json!(""), false),
            (json!("2024-01-01T00:00:00.000Z"), true),
        ] {
            assert_eq!(
                person(json!({"deletedAt": v})).map(|p| p.deleted),
                Ok(deleted)
            );
        }
    }

    #[test]
    fn required_fields_and_staff() {
        let err = Person::from_record("people/x.toml", &rec(json!({"slug": "x"}))).err();
        assert_eq!(
            err.map(|e| e.to_string()),
            Some("people/x.toml: `id` is missing or not a string".to_owned())
        );
        assert_eq!(
            person(json!({"accountLevel": "administrator"})).map(|p| p.is_staff()),
            Ok(true)
        );
        assert_eq!(
            person(json!({"accountLevel": "user"})).map(|p| p.is_staff()),
            Ok(false)
        );
    }
}
