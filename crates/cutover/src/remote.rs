//! The runtime branch as its remote has it: the push remote of the branch, and a fetch of that
//! one branch with gix into `refs/remotes/<remote>/<branch>` (what `git fetch <remote> <branch>`
//! would do), so the watch sees what the rewrite's push daemon published.

use std::path::Path;

use gix::remote::Direction;

use crate::Error;

/// The remote the runtime branch is pushed to: `branch.<b>.pushRemote`, `remote.pushDefault`,
/// `branch.<b>.remote`, else the only remote or `origin`. `None` when there is none.
pub fn push_remote(repo_path: &Path, branch: &str) -> Result<Option<(String, String)>, Error> {
    let repo = open(repo_path)?;
    let name = repo
        .branch_remote_name(branch, Direction::Push)
        .map(|n| n.as_bstr().to_string())
        .or_else(|| {
            repo.remote_default_name(Direction::Push)
                .map(|n| n.to_string())
        });
    let Some(name) = name else { return Ok(None) };
    Ok(remote_url(repo_path, &name)?.map(|u| (name, u)))
}

/// The push URL of the remote `name`, if it is configured.
pub fn remote_url(repo_path: &Path, name: &str) -> Result<Option<String>, Error> {
    let repo = open(repo_path)?;
    Ok(repo
        .try_find_remote(name)
        .and_then(Result::ok)
        .and_then(|r| r.url(Direction::Push).map(|u| u.to_bstring().to_string())))
}

/// Fetches `refs/heads/<branch>` from `remote` into `refs/remotes/<remote>/<branch>` and returns
/// the fetched tip.
pub fn fetch_branch(repo_path: &Path, remote: &str, branch: &str) -> Result<gix::ObjectId, Error> {
    let err = |message: String| Error::Fetch {
        remote: remote.to_owned(),
        branch: branch.to_owned(),
        message,
    };
    let repo = open(repo_path)?;
    let spec = format!("+refs/heads/{branch}:refs/remotes/{remote}/{branch}");
    let found = repo
        .find_remote(remote)
        .map_err(|e| err(e.to_string()))?
        .with_refspecs(Some(spec.as_str()), Direction::Fetch)
        .map_err(|e| err(e.to_string()))?;
    let connection = found
        .connect(Direction::Fetch)
        .map_err(|e| err(e.to_string()))?;
    connection
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| err(e.to_string()))?
        .receive(gix::progress::Discard, &gix::interrupt::IS_INTERRUPTED)
        .map_err(|e| err(e.to_string()))?;
    let tracking = format!("refs/remotes/{remote}/{branch}");
    sheets::DataRepo::open(repo_path)?
        .resolve(&tracking)?
        .ok_or_else(|| err(format!("the remote has no branch {branch}")))
}

fn open(repo_path: &Path) -> Result<gix::Repository, Error> {
    gix::open_opts(repo_path, gix::open::Options::isolated()).map_err(|e| Error::file(repo_path, e))
}
