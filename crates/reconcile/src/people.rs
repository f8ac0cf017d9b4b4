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

/// What [`dangling_references`] gives: the dangling references, or why they cannot be known.
pub type Dangling = Result<Vec<sheets::Dangling>, Error>;

/// [`load_people`] and [`dangling_references`] from one read of the branch. The people come
/// (or fail) first, as a separate [`load_people`] would; the dangling references' outcome is
/// handed back for the caller to report where [`dangling_references`] would have failed.
pub fn load_people_and_dangling(
    repo_path: &std::path::Path,
    branch: &str,
) -> Result<(Vec<Person>, Dangling), Error> {
    let repo = sheets::DataRepo::open(repo_path)?;
    let (people, records) = sheets::people::load_people_and_references(&repo, branch)?;
    let dangling = match records.errors.first() {
        Some(first) => Err(unreadable(records.errors.len(), first)),
        None => Ok(records.dangling()),
    };
    Ok((people, dangling))
}

fn unreadable(count: usize, first: &sheets::SheetError) -> Error {
    Error::Sheet(format!(
        "{count} record file(s) cannot be read, so their references cannot be checked; first: {first}"
    ))
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
        return Err(self::unreadable(unreadable.len(), first));
    }
    Ok(dangling)
}
