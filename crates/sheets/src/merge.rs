//! Merging one branch into another (the import branch into the runtime branch), the way the
//! T-0 delta needs it: fast-forward when possible, otherwise a three-way merge at record
//! granularity, and on any conflict nothing written and every conflicting path named.

use crate::repo::{DataRepo, RepoError};
use crate::tree::EditError;
use crate::write::{CommitSpec, Signature, Transaction};
use gix::ObjectId;

/// What a merge did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The target already contains the source: nothing to do.
    UpToDate {
        /// The target's tip.
        tip: ObjectId,
    },
    /// The target branch did not exist: it now points at the source.
    Created {
        /// The new tip.
        tip: ObjectId,
    },
    /// The target was an ancestor of the source: it now points at the source.
    FastForward {
        /// The target's old tip.
        from: ObjectId,
        /// Its new tip (the source's).
        to: ObjectId,
    },
    /// A merge commit with the target and the source as parents.
    Merged {
        /// The target's old tip.
        from: ObjectId,
        /// The merge commit.
        commit: ObjectId,
        /// The merge base, when there is one.
        base: Option<ObjectId>,
        /// Records the target had deleted and the source changed since: they are back (the
        /// spam prune after every merge decides on them again).
        readded: Vec<String>,
    },
    /// Both sides changed these paths differently; nothing was written.
    Conflicts {
        /// The conflicting paths.
        paths: Vec<String>,
    },
}

impl MergeOutcome {
    /// The target branch's tip after the merge (`None` on conflict).
    pub fn tip(&self) -> Option<ObjectId> {
        match self {
            MergeOutcome::UpToDate { tip } | MergeOutcome::Created { tip } => Some(*tip),
            MergeOutcome::FastForward { to, .. } => Some(*to),
            MergeOutcome::Merged { commit, .. } => Some(*commit),
            MergeOutcome::Conflicts { .. } => None,
        }
    }
}

impl MergeOutcome {
    /// The outcome as a report value: `{"outcome": "fast-forward", "from": …, "to": …}`,
    /// `{"outcome": "conflicts", "paths": […]}`, … (commit ids as hex strings).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::json;
        match self {
            MergeOutcome::UpToDate { tip } => {
                json!({"outcome": "up-to-date", "tip": tip.to_string()})
            }
            MergeOutcome::Created { tip } => json!({"outcome": "created", "tip": tip.to_string()}),
            MergeOutcome::FastForward { from, to } => {
                json!({"outcome": "fast-forward", "from": from.to_string(), "to": to.to_string()})
            }
            MergeOutcome::Merged {
                from,
                commit,
                base,
                readded,
            } => json!({
                "outcome": "merged",
                "from": from.to_string(),
                "commit": commit.to_string(),
                "base": base.map(|b| b.to_string()),
                "readded": readded,
            }),
            MergeOutcome::Conflicts { paths } => json!({"outcome": "conflicts", "paths": paths}),
        }
    }
}

/// What happened to the import branch after a conflicting T-0 merge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImportUndo {
    /// The merge did not conflict (or the import branch was already at its old tip).
    NotNeeded,
    /// The import branch is back at the tip it had before the run.
    Restored {
        /// The tip it is back at.
        to: ObjectId,
    },
    /// The import branch did not exist before the run; it is left at the new import.
    NoEarlierTip,
    /// Putting it back failed (the branch moved meanwhile, or the ref could not be written).
    Failed {
        /// The tip it should be back at.
        to: ObjectId,
        /// Why it is not.
        error: String,
    },
}

/// The T-0 merge (runbook T-0 0:01): merge `refs/heads/<import_branch>` into
/// `refs/heads/<runtime_branch>`. On a conflict nothing is merged, and the import branch is
/// moved back to `import_before` (its tip before this run's import) by compare-and-swap, so
/// the run leaves every ref as it found it.
pub fn merge_import(
    repo: &DataRepo,
    import_branch: &str,
    import_before: Option<ObjectId>,
    runtime_branch: &str,
    signature: &Signature,
) -> Result<(MergeOutcome, ImportUndo), EditError> {
    let import_ref = format!("refs/heads/{import_branch}");
    let outcome = merge_branch(repo, &import_ref, runtime_branch, signature)?;
    if !matches!(outcome, MergeOutcome::Conflicts { .. }) {
        return Ok((outcome, ImportUndo::NotNeeded));
    }
    let Some(before) = import_before else {
        return Ok((outcome, ImportUndo::NoEarlierTip));
    };
    let now = repo.resolve(&import_ref).ok().flatten();
    if now == Some(before) {
        return Ok((outcome, ImportUndo::NotNeeded));
    }
    let undo = match repo.update_ref(
        &import_ref,
        now,
        before,
        signature,
        "t0-delta: merge conflict, import undone",
    ) {
        Ok(()) => ImportUndo::Restored { to: before },
        Err(e) => ImportUndo::Failed {
            to: before,
            error: e.to_string(),
        },
    };
    Ok((outcome, undo))
}

/// Merge the commit `source_ref` points at into `refs/heads/<into>`; every ref update is
/// compare-and-swap.
pub fn merge_branch(
    repo: &DataRepo,
    source_ref: &str,
    into: &str,
    signature: &Signature,
) -> Result<MergeOutcome, EditError> {
    let source = repo.resolve(source_ref)?.ok_or_else(|| RepoError::Ref {
        name: source_ref.to_owned(),
        message: "does not exist".into(),
    })?;
    let target_ref = format!("refs/heads/{into}");
    let Some(target) = repo.resolve(&target_ref)? else {
        repo.update_ref(
            &target_ref,
            None,
            source,
            signature,
            &format!("merge {source_ref}: created"),
        )?;
        return Ok(MergeOutcome::Created { tip: source });
    };
    if source == target || repo.ancestors(target)?.contains(&source) {
        return Ok(MergeOutcome::UpToDate { tip: target });
    }
    if repo.ancestors(source)?.contains(&target) {
        repo.update_ref(
            &target_ref,
            Some(target),
            source,
            signature,
            &format!("merge {source_ref}: fast-forward"),
        )?;
        return Ok(MergeOutcome::FastForward {
            from: target,
            to: source,
        });
    }
    let base = repo.merge_base(source, target)?;
    let base_tree = base.map(|b| repo.tree_of(b)).transpose()?;
    let source_tree = repo.tree_of(source)?;
    let parent = repo.parent_for(into, &[])?;
    let mut tx = Transaction::begin(repo, parent)?.with_signature(signature.clone());
    let readded = match tx.edit().merge(base_tree, source_tree)? {
        Ok(readded) => readded,
        Err(paths) => return Ok(MergeOutcome::Conflicts { paths }),
    };
    let short = source_ref.trim_start_matches("refs/heads/");
    let spec = CommitSpec::new(format!("merge {short} into {into}"))
        .trailer("Action", "merge")
        .trailer("Merge-Source", format!("{source_ref} {source}"));
    let commit = tx
        .commit_with_parents(&spec, &[source])?
        .ok_or_else(|| RepoError::Ref {
            name: target_ref.clone(),
            message: "merge produced no commit".into(),
        })?;
    tx.finish()?;
    Ok(MergeOutcome::Merged {
        from: target,
        commit,
        base,
        readded,
    })
}
