//! The T-0 tips everything after is measured against: the runtime branch's post-import commit and
//! the private store as it was then (a directory copy, or a time for a versioned bucket). Given
//! as `--since` (+ `--private-baseline`, `--private-since`) or read from a t0-delta report.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::Error;

/// What was true at T-0.
#[derive(Debug, Clone)]
pub struct Baseline {
    /// The runtime branch's tip right after the import, merge and prune.
    pub since: gix::ObjectId,
    /// The runtime branch named by the t0-delta report, if read from one.
    pub branch: Option<String>,
    /// Directory backend: the copy of the `.jsonl` files taken at T-0.
    pub private_dir: Option<PathBuf>,
    /// Versions of private objects written after this moment are post-T-0 writes.
    pub private_at: jiff::Timestamp,
}

impl Baseline {
    /// From flags. `private_since` (ISO 8601) defaults to the commit time of `since`.
    pub fn from_flags(
        repo: &sheets::DataRepo,
        since: &str,
        private_dir: Option<PathBuf>,
        private_since: Option<&str>,
    ) -> Result<Baseline, Error> {
        let since = resolve_commit(repo, since)?;
        let private_at = match private_since {
            Some(t) => parse_time("--private-since", t)?,
            None => commit_time(repo, since)?,
        };
        Ok(Baseline {
            since,
            branch: None,
            private_dir,
            private_at,
        })
    }

    /// From a `cargo xtask t0-delta` report: `refs.runtimeAfter`, `runtimeBranch` and
    /// `privateBaseline` (`{"at", "dir"}`; older reports without it fall back to the commit time).
    pub fn from_t0_report(repo: &sheets::DataRepo, path: &Path) -> Result<Baseline, Error> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::file(path, e))?;
        let report: Value = serde_json::from_str(&text).map_err(|e| Error::file(path, e))?;
        let since = report["refs"]["runtimeAfter"].as_str().ok_or_else(|| {
            Error::file(
                path,
                "no refs.runtimeAfter: not a t0-delta report, or it did not merge",
            )
        })?;
        let since = resolve_commit(repo, since)?;
        let private_at = match report["privateBaseline"]["at"].as_str() {
            Some(t) => parse_time("privateBaseline.at", t)?,
            None => commit_time(repo, since)?,
        };
        Ok(Baseline {
            since,
            branch: report["runtimeBranch"].as_str().map(str::to_owned),
            private_dir: report["privateBaseline"]["dir"].as_str().map(PathBuf::from),
            private_at,
        })
    }
}

/// A full commit id or a ref name, which must name a commit in the repo.
pub fn resolve_commit(repo: &sheets::DataRepo, text: &str) -> Result<gix::ObjectId, Error> {
    let id = match gix::ObjectId::from_hex(text.as_bytes()) {
        Ok(id) => Some(id),
        Err(_) => repo.resolve(text)?,
    };
    let id = id.ok_or_else(|| {
        Error::Usage(format!(
            "--since {text:?}: not a full commit id or a ref of {}",
            repo.path().display()
        ))
    })?;
    repo.tree_of(id)?;
    Ok(id)
}

/// The committer time of a commit.
pub fn commit_time(repo: &sheets::DataRepo, id: gix::ObjectId) -> Result<jiff::Timestamp, Error> {
    let seconds = crate::writes::CommitInfo::read(repo, id)?.time;
    jiff::Timestamp::from_second(seconds)
        .map_err(|e| Error::Usage(format!("commit {id} has time {seconds}: {e}")))
}

pub(crate) fn parse_time(what: &str, text: &str) -> Result<jiff::Timestamp, Error> {
    text.parse::<jiff::Timestamp>()
        .map_err(|e| Error::Usage(format!("{what} {text:?} is not an ISO 8601 time: {e}")))
}
