//! The public Person as reconcile reads it: the one view, [`sheets::people::Person`], with its
//! rules (`githubUserId` 0 is not linked, a falsy `deletedAt` is not deleted) defined there.

use crate::Error;

pub use sheets::people::Person;

/// All Persons of the `people` sheet at `branch` of the bare repo at `repo_path`, deleted ones
/// included. A file that cannot be read as a Person is an error (a gate must not skip data).
pub fn load_people(repo_path: &std::path::Path, branch: &str) -> Result<Vec<Person>, Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    Ok(sheets::people::load_people(&repo, branch)?)
}

/// The dangling references of a branch ([`sheets::closure`]), or why they cannot be known: a
/// record file that cannot be read (its references could not be checked).
pub type Dangling = Result<Vec<sheets::Dangling>, Error>;

/// [`load_people`] and the branch's dangling references from one read of the branch. The
/// people come (or fail) first; the references' outcome is handed back for the caller to
/// report after its own reads (the private store's errors come before it).
pub fn load_people_and_dangling(
    repo_path: &std::path::Path,
    branch: &str,
) -> Result<(Vec<Person>, Dangling), Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    let (people, records) = sheets::people::load_people_and_references(&repo, branch)?;
    let dangling = match records.errors.first() {
        Some(first) => Err(Error::Sheet(format!(
            "{} record file(s) cannot be read, so their references cannot be checked; first: {first}",
            records.errors.len()
        ))),
        None => Ok(records.dangling()),
    };
    Ok((people, dangling))
}
