//! The point of no return: has any write that is not the importer's or the prune's landed since
//! T-0? One observation per round; `--follow` repeats it until the first such write.

use std::path::PathBuf;

use private_store::PrivateStore;

use crate::Error;
use crate::baseline::Baseline;
use crate::writes::{self, Write};

/// Where to look.
#[derive(Debug, Clone)]
pub struct Source {
    /// The bare data repo.
    pub data_repo: PathBuf,
    /// The runtime branch.
    pub branch: String,
    /// The remote to fetch it from; `None`: the branch's push remote.
    pub remote: Option<String>,
    /// Fetch the branch from its remote first (otherwise read the local branch).
    pub fetch: bool,
}

/// What one look found.
#[derive(Debug, Clone)]
pub struct Observation {
    /// When the look was taken (ISO).
    pub at: String,
    /// The ref read (`refs/remotes/<remote>/<branch>` after a fetch, else `refs/heads/<branch>`).
    pub read_ref: String,
    /// The remote fetched from, if any.
    pub remote: Option<String>,
    /// The branch's tip seen.
    pub tip: gix::ObjectId,
    /// Commits since T-0 made by the importer, the merge or the prune.
    pub harmless_commits: usize,
    /// Every other write since T-0, oldest first.
    pub writes: Vec<Write>,
}

impl Observation {
    /// The first write that is not the importer's or the prune's.
    pub fn first(&self) -> Option<&Write> {
        self.writes.first()
    }

    /// One line for the round.
    pub fn line(&self, round: usize) -> String {
        let tip = &self.tip.to_string()[..12];
        let head = format!(
            "{} round {round}: {} at {tip}, {} import/prune commit(s) since T-0",
            self.at, self.read_ref, self.harmless_commits
        );
        match self.first() {
            None => format!("{head}, no other write: harmless, rollback is still clean"),
            Some(w) => format!(
                "{head}, {} write(s): POINT OF NO RETURN CROSSED; first: {}",
                self.writes.len(),
                describe(w)
            ),
        }
    }
}

/// `2026-08-15T12:10:00Z created private-store profiles.jsonl#<id>` (+ commit and author).
pub fn describe(w: &Write) -> String {
    let mut s = format!("{} {} {} {}", w.time, w.kind, w.source, w.record);
    if let Some(c) = &w.commit {
        s.push_str(&format!(" (commit {}", &c[..c.len().min(12)]));
        if let Some(a) = &w.author {
            s.push_str(&format!(" by {a}"));
        }
        s.push(')');
    }
    s
}

/// Looks once: fetches the runtime branch (when asked), lists the commits since T-0 and the
/// private store's changes.
pub fn observe(
    source: &Source,
    baseline: &Baseline,
    store: Option<&PrivateStore>,
) -> Result<Observation, Error> {
    let (read_ref, remote, tip) = runtime_tip(source)?;
    let repo = sheets::DataRepo::open(&source.data_repo)?;
    let commits = writes::commits_since(&repo, baseline.since, tip)?;
    let mut harmless = 0;
    let mut found = Vec::new();
    for c in &commits {
        if c.is_harmless() {
            harmless += 1;
            continue;
        }
        let mut w = writes::commit_writes(&repo, c)?;
        if w.is_empty() {
            w.push(empty_commit(c));
        }
        found.extend(w);
    }
    if let Some(store) = store {
        found.extend(crate::private::changes(store, baseline)?);
    }
    writes::sort_by_time(&mut found);
    Ok(Observation {
        at: cli::clock::now_iso(),
        read_ref,
        remote,
        tip,
        harmless_commits: harmless,
        writes: found,
    })
}

/// The ref to read, the remote fetched from, and its tip.
fn runtime_tip(source: &Source) -> Result<(String, Option<String>, gix::ObjectId), Error> {
    let local = format!("refs/heads/{}", source.branch);
    if !source.fetch {
        let repo = sheets::DataRepo::open(&source.data_repo)?;
        let tip = repo
            .resolve(&local)?
            .ok_or_else(|| Error::Usage(format!("branch {} does not exist", source.branch)))?;
        return Ok((local, None, tip));
    }
    let remote = match &source.remote {
        Some(r) => r.clone(),
        None => crate::remote::push_remote(&source.data_repo, &source.branch)?
            .map(|(name, _)| name)
            .ok_or_else(|| {
                Error::Usage(format!(
                    "branch {} has no push remote: pass --remote=NAME, or --no-fetch to read the local branch",
                    source.branch
                ))
            })?,
    };
    let tip = crate::remote::fetch_branch(&source.data_repo, &remote, &source.branch)?;
    Ok((
        format!("refs/remotes/{remote}/{}", source.branch),
        Some(remote),
        tip,
    ))
}

/// A commit that changes no file is still a write on the branch.
fn empty_commit(c: &writes::CommitInfo) -> Write {
    Write {
        v: 1,
        source: "data-repo",
        kind: "changed",
        record: "(no file changed)".into(),
        time: crate::iso(c.author_time),
        commit: Some(c.id.to_string()),
        author: Some(c.author.clone()),
        person_id: None,
        slug: None,
        before: None,
        after: None,
    }
}
