//! Commits on top of a [`Parent`], and the one compare-and-swap ref update that publishes
//! them. Several commits (one per sheet) can be chained in one transaction; nothing is
//! visible until [`Transaction::finish`], and a branch that moved meanwhile aborts it with
//! every ref as it was and the pack it wrote removed again.

use crate::repo::{DataRepo, Parent, RepoError};
use crate::tree::{EditError, TreeEdit};
use gix::ObjectId;
use gix::object::Kind;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};
use std::time::{SystemTime, UNIX_EPOCH};

/// Author and committer of the commits written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signature {
    /// The name.
    pub name: String,
    /// The email address.
    pub email: String,
    /// Seconds since the epoch.
    pub time: i64,
    /// Offset from UTC in minutes.
    pub offset_minutes: i32,
}

impl Default for Signature {
    /// The identity the rewrite's API commits as, at the current time, in UTC.
    fn default() -> Self {
        let time = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        Self {
            name: "Code for Philly API".into(),
            email: "api@users.noreply.codeforphilly.org".into(),
            time,
            offset_minutes: 0,
        }
    }
}

impl Signature {
    fn git_time(&self) -> String {
        let sign = if self.offset_minutes < 0 { '-' } else { '+' };
        let m = self.offset_minutes.unsigned_abs();
        format!("{} {sign}{:02}{:02}", self.time, m / 60, m % 60)
    }

    fn git_line(&self) -> String {
        format!("{} <{}> {}", self.name, self.email, self.git_time())
    }
}

/// A commit message: a subject and body, then `Key: value` trailers after a blank line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CommitSpec {
    /// The commit message (before the trailers).
    pub message: String,
    /// Trailers (key, value) appended to the message, e.g. `Action`.
    pub trailers: Vec<(String, String)>,
}

impl CommitSpec {
    /// A commit with `message` and no trailers.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            trailers: Vec::new(),
        }
    }

    /// The spec with one more trailer.
    pub fn trailer(mut self, key: &str, value: impl Into<String>) -> Self {
        self.trailers.push((key.to_owned(), value.into()));
        self
    }

    /// The message as gitsheets builds it: trimmed, a blank line, the trailers, one final
    /// newline. Newlines inside a trailer value would forge more trailers, so they become
    /// spaces.
    pub fn render(&self) -> String {
        let mut out = self.message.trim_end().to_owned();
        if !self.trailers.is_empty() {
            out.push_str("\n\n");
            let lines: Vec<String> = self
                .trailers
                .iter()
                .map(|(k, v)| format!("{k}: {}", v.replace(['\r', '\n'], " ")))
                .collect();
            out.push_str(&lines.join("\n"));
        }
        out.push('\n');
        out
    }
}

/// What a finished transaction did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOutcome {
    /// The ref the transaction moves.
    pub target_ref: String,
    /// The ref's value before (None: it did not exist).
    pub old: Option<ObjectId>,
    /// The ref's value now; equal to `old` when nothing was committed.
    pub new: Option<ObjectId>,
    /// The commits made, oldest first.
    pub commits: Vec<ObjectId>,
    /// Objects written into the new pack.
    pub objects_written: usize,
}

/// A chain of commits on top of a parent, published at once by [`Transaction::finish`].
pub struct Transaction<'r> {
    edit: TreeEdit<'r>,
    parent: Parent,
    /// The commit new commits build on; `None` for a first (root) commit.
    tip: Option<ObjectId>,
    tip_tree: ObjectId,
    base_tree: ObjectId,
    commits: Vec<ObjectId>,
    signature: Signature,
}

impl<'r> Transaction<'r> {
    /// Begins a transaction on `parent`'s tree.
    pub fn begin(repo: &'r DataRepo, parent: Parent) -> Result<Self, RepoError> {
        let base_tree = repo.tree_of(parent.base)?;
        Ok(Self {
            edit: TreeEdit::new(repo, Some(base_tree)),
            tip: Some(parent.base),
            tip_tree: base_tree,
            base_tree,
            parent,
            commits: Vec::new(),
            signature: Signature::default(),
        })
    }

    /// Start a branch with no history: the first commit is a root commit, and the ref must
    /// not exist when the transaction finishes.
    pub fn begin_root(repo: &'r DataRepo, branch: &str) -> Result<Self, RepoError> {
        let target_ref = format!("refs/heads/{branch}");
        if let Some(id) = repo.resolve(&target_ref)? {
            return Err(RepoError::ParentMoved {
                name: target_ref,
                expected: "(no branch)".into(),
                actual: id.to_string(),
            });
        }
        // The empty tree; its object goes into the pack with the first commit.
        let mut edit = TreeEdit::new(repo, None);
        let base_tree = edit.write().map_err(|e| RepoError::Object {
            id: crate::pack::object_id(Kind::Tree, b""),
            message: e.to_string(),
        })?;
        let empty = base_tree;
        Ok(Self {
            edit,
            tip: None,
            tip_tree: base_tree,
            base_tree,
            parent: Parent {
                target_ref: target_ref.clone(),
                expected: None,
                base: empty,
                base_ref: target_ref,
            },
            commits: Vec::new(),
            signature: Signature::default(),
        })
    }

    /// The transaction with commits signed by `signature`.
    pub fn with_signature(mut self, signature: Signature) -> Self {
        self.signature = signature;
        self
    }

    /// The parent the transaction started from.
    pub fn parent(&self) -> &Parent {
        &self.parent
    }

    /// The tree the transaction started from.
    pub fn base_tree(&self) -> ObjectId {
        self.base_tree
    }

    /// The tree of the last commit made (or the base tree).
    pub fn tip_tree(&self) -> ObjectId {
        self.tip_tree
    }

    /// The commits made so far, in order.
    pub fn commits(&self) -> &[ObjectId] {
        &self.commits
    }

    /// The tree being edited.
    pub fn edit(&mut self) -> &mut TreeEdit<'r> {
        &mut self.edit
    }

    /// Commit the edited tree on the current tip. No commit (and `None`) when the tree equals
    /// the tip's tree.
    pub fn commit(&mut self, spec: &CommitSpec) -> Result<Option<ObjectId>, EditError> {
        self.commit_with_parents(spec, &[])
    }

    /// Commit with `others` as further parents after the tip (a merge commit). A merge is
    /// committed even when its tree equals the tip's (it records the other history).
    pub fn commit_with_parents(
        &mut self,
        spec: &CommitSpec,
        others: &[ObjectId],
    ) -> Result<Option<ObjectId>, EditError> {
        let tree = self.edit.write()?;
        if tree == self.tip_tree && others.is_empty() && self.tip.is_some() {
            return Ok(None);
        }
        let sig = self.signature.git_line();
        let mut body = format!("tree {tree}\n");
        for parent in self.tip.iter().chain(others) {
            body.push_str(&format!("parent {parent}\n"));
        }
        body.push_str(&format!(
            "author {sig}\ncommitter {sig}\n\n{}",
            spec.render()
        ));
        let id = self.edit.sink.add(Kind::Commit, body.into_bytes());
        self.tip = Some(id);
        self.tip_tree = tree;
        self.commits.push(id);
        Ok(Some(id))
    }

    /// Write the new objects as one pack and move the ref from the value it had when the
    /// transaction began to the last commit. A ref that moved meanwhile aborts with
    /// [`RepoError::ParentMoved`], the ref untouched and the pack removed.
    pub fn finish(self) -> Result<WriteOutcome, RepoError> {
        let repo = self.edit.repo();
        let mut outcome = WriteOutcome {
            target_ref: self.parent.target_ref.clone(),
            old: self.parent.expected,
            new: self.parent.expected,
            commits: self.commits.clone(),
            objects_written: 0,
        };
        if self.commits.is_empty() {
            return Ok(outcome);
        }
        let objects_dir = repo.path().join("objects");
        let known = repo.object_lookup();
        let pack = self
            .edit
            .sink
            .write_pack(&objects_dir, |id| !known(id))
            .map_err(|source| RepoError::Io {
                path: objects_dir.clone(),
                source,
            })?;
        let result = self.update_ref(repo);
        if result.is_err()
            && let Some(p) = pack.as_ref().filter(|p| p.created)
        {
            let _ = std::fs::remove_file(&p.idx);
            let _ = std::fs::remove_file(&p.pack);
        }
        result?;
        outcome.objects_written = pack.map_or(0, |p| p.objects);
        outcome.new = self.tip;
        Ok(outcome)
    }

    fn update_ref(&self, repo: &DataRepo) -> Result<(), RepoError> {
        let Some(tip) = self.tip else {
            return Ok(());
        };
        repo.update_ref(
            &self.parent.target_ref,
            self.parent.expected,
            tip,
            &self.signature,
            &format!("sheets: {} commit(s)", self.commits.len()),
        )
    }
}

impl DataRepo {
    /// Compare-and-swap `name` from `expected` (`None`: must not exist) to `new`. A ref that
    /// holds anything else is left alone and reported as [`RepoError::ParentMoved`].
    pub fn update_ref(
        &self,
        name: &str,
        expected: Option<ObjectId>,
        new: ObjectId,
        signature: &Signature,
        log_message: &str,
    ) -> Result<(), RepoError> {
        let ref_err = |message: String| RepoError::Ref {
            name: name.to_owned(),
            message,
        };
        let previous = match expected {
            Some(id) => PreviousValue::MustExistAndMatch(gix::refs::Target::Object(id)),
            None => PreviousValue::MustNotExist,
        };
        let edit = RefEdit {
            change: Change::Update {
                log: LogChange {
                    mode: RefLog::AndReference,
                    force_create_reflog: false,
                    message: log_message.replace('\n', " ").into(),
                },
                expected: previous,
                new: gix::refs::Target::Object(new),
            },
            name: name
                .try_into()
                .map_err(|e: gix::validate::reference::name::Error| ref_err(e.to_string()))?,
            deref: false,
        };
        let time = signature.git_time();
        let committer = gix::actor::SignatureRef {
            name: signature.name.as_str().into(),
            email: signature.email.as_str().into(),
            time: &time,
        };
        match self.repo.edit_references_as([edit], Some(committer)) {
            Ok(_) => Ok(()),
            Err(e) => {
                let actual = self.resolve(name)?;
                if actual != expected {
                    Err(RepoError::ParentMoved {
                        name: name.to_owned(),
                        expected: show(expected),
                        actual: show(actual),
                    })
                } else {
                    Err(ref_err(e.to_string()))
                }
            }
        }
    }
}

fn show(id: Option<ObjectId>) -> String {
    id.map_or_else(|| "(no branch)".to_owned(), |id| id.to_string())
}
