//! Opening the bare data repo, resolving branches, reading sheets.

use crate::config::{SheetConfig, SheetError};
use gix::ObjectId;
use serde_json::{Map, Value};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Everything that can go wrong between us and the data repo.
#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("data repo {0} does not exist")]
    /// The path does not exist.
    NotFound(PathBuf),
    #[error(
        "data repo {path} is not a bare repository ({why}); nothing was read or changed. \
         Make a bare clone with `git clone --bare <url> <path>` and pass that path"
    )]
    /// The path is not a bare repository; nothing was read.
    NotBare {
        /// The path.
        path: PathBuf,
        /// What it is instead.
        why: String,
    },
    /// The repository could not be opened.
    #[error("cannot open data repo {path}: {message}")]
    Open {
        /// The path.
        path: PathBuf,
        /// What git said.
        message: String,
    },
    /// None of the parent branches asked for exists.
    #[error("none of {tried} exists in {path}")]
    NoParent {
        /// The repo.
        path: PathBuf,
        /// The branches tried.
        tried: String,
    },
    /// A ref could not be read or moved.
    #[error("ref {name}: {message}")]
    Ref {
        /// The ref.
        name: String,
        /// What git said.
        message: String,
    },
    /// An object could not be read or decoded.
    #[error("object {id}: {message}")]
    Object {
        /// The object.
        id: ObjectId,
        /// What went wrong.
        message: String,
    },
    /// The branch moved since the transaction began (compare-and-swap lost).
    #[error("branch {name} moved from {expected} to {actual} while we worked; nothing was written")]
    ParentMoved {
        /// The branch.
        name: String,
        /// The tip the transaction began from.
        expected: String,
        /// The tip found instead.
        actual: String,
    },
    #[error("sheet `{0}` has no config in .gitsheets/ of this tree")]
    /// A tree has no config for the sheet asked for.
    NoSheet(String),
    #[error(transparent)]
    /// A sheet's config or record is unusable.
    Sheet(#[from] SheetError),
    /// Objects could not be written.
    #[error("writing objects into {path}: {source}")]
    Io {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

/// A bare data repo, opened after checking that it is bare.
pub struct DataRepo {
    pub(crate) repo: gix::Repository,
    path: PathBuf,
    /// Whole objects of the packs, read without gix ([`crate::packread`]).
    packs: std::cell::RefCell<crate::packread::Packs>,
}

/// Where a write starts: the ref it will move, what that ref holds now (for the
/// compare-and-swap), and the commit the new commits build on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parent {
    /// `refs/heads/<branch>`: the ref the write moves (created by the first commit).
    pub target_ref: String,
    /// The target ref's value now; `None` when it does not exist yet.
    pub expected: Option<ObjectId>,
    /// The commit new commits are parented on.
    pub base: ObjectId,
    /// The ref `base` came from (the target ref itself, `origin/<branch>`, or a base ref).
    pub base_ref: String,
}

/// One record read from a sheet.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRecord {
    /// Path from the repo root, e.g. `people/alice.toml`.
    pub path: String,
    /// The record's blob.
    pub blob: ObjectId,
    /// The record's fields.
    pub record: Map<String, Value>,
}

impl StoredRecord {
    /// The record as the closure check reads it, in `sheet`.
    pub fn reference<'a>(&'a self, sheet: &'a str) -> crate::closure::RecordRef<'a> {
        crate::closure::RecordRef {
            sheet,
            path: &self.path,
            record: &self.record,
        }
    }
}

/// All records of a sheet, plus every file that could not be read as one (never dropped
/// silently).
#[derive(Debug, Default)]
pub struct SheetRead {
    /// The records, in path order.
    pub records: Vec<StoredRecord>,
    /// Files that could not be read as records.
    pub errors: Vec<SheetError>,
}

impl SheetRead {
    /// Each file with its decoding: the records, and the errors listed (never dropped).
    fn of(
        files: Vec<BlobEntry>,
        decoded: Vec<Result<Map<String, Value>, SheetError>>,
    ) -> SheetRead {
        let mut out = SheetRead::default();
        out.records.reserve(files.len());
        for (f, result) in files.into_iter().zip(decoded) {
            match result {
                Ok(record) => out.records.push(StoredRecord {
                    path: f.path,
                    blob: f.id,
                    record,
                }),
                Err(e) => out.errors.push(e),
            }
        }
        out
    }
}

/// A sheet's attachments by the path of the record that owns them.
pub type Attachments = BTreeMap<String, Vec<BlobEntry>>;

/// A file in a tree walk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// Path from the tree's root.
    pub path: String,
    /// The blob.
    pub id: ObjectId,
    /// The git file mode (e.g. `0o100644`).
    pub mode: u32,
}

impl DataRepo {
    /// Open a bare data repo. A work tree, a `.git` directory of one, or a path holding a
    /// `.git` subfolder is refused before anything is read or changed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, RepoError> {
        let path = path.as_ref().to_path_buf();
        if !path.exists() {
            return Err(RepoError::NotFound(path));
        }
        let not_bare = |why: &str| RepoError::NotBare {
            path: path.clone(),
            why: why.to_owned(),
        };
        if path.join(".git").exists() {
            return Err(not_bare("it has a .git subfolder: it is a work tree"));
        }
        if !path.join("HEAD").is_file() || !path.join("objects").is_dir() {
            return Err(not_bare(
                "it has no HEAD file and objects/ folder of its own",
            ));
        }
        let mut repo =
            gix::open_opts(&path, gix::open::Options::isolated()).map_err(|e| RepoError::Open {
                path: path.clone(),
                message: e.to_string(),
            })?;
        if !repo.is_bare() || repo.workdir().is_some() {
            return Err(not_bare("its config says it has a work tree"));
        }
        repo.object_cache_size(Some(64 << 20));
        let packs = std::cell::RefCell::new(crate::packread::Packs::open(&path));
        Ok(Self { repo, path, packs })
    }

    /// Create a new, empty bare repository at `path` (which must not exist or be empty) and
    /// open it. Its HEAD is gix's default; we never change it.
    pub fn init_bare(path: impl AsRef<Path>) -> Result<Self, RepoError> {
        let path = path.as_ref();
        gix::init_bare(path).map_err(|e| RepoError::Open {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Self::open(path)
    }

    /// The repo's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The parents of a commit.
    pub fn parents_of(&self, commit: ObjectId) -> Result<Vec<ObjectId>, RepoError> {
        let (kind, data) = self.read_object(commit)?;
        if kind != gix::object::Kind::Commit {
            return Err(RepoError::Object {
                id: commit,
                message: format!("is a {kind}, not a commit"),
            });
        }
        Ok(
            gix::objs::CommitRefIter::from_bytes(&data, gix::hash::Kind::Sha1)
                .parent_ids()
                .collect(),
        )
    }

    /// Every ancestor of `commit`, itself included.
    pub fn ancestors(&self, commit: ObjectId) -> Result<HashSet<ObjectId>, RepoError> {
        let mut seen = HashSet::new();
        let mut todo = vec![commit];
        while let Some(c) = todo.pop() {
            if seen.insert(c) {
                todo.extend(self.parents_of(c)?);
            }
        }
        Ok(seen)
    }

    /// The best common ancestor of two commits (one that is not an ancestor of another common
    /// ancestor), or `None` for unrelated histories.
    pub fn merge_base(&self, a: ObjectId, b: ObjectId) -> Result<Option<ObjectId>, RepoError> {
        let of_a = self.ancestors(a)?;
        let of_b = self.ancestors(b)?;
        // Every ancestor of a common commit is common, so the best ones are the common
        // commits that are no common commit's parent.
        let common: HashSet<ObjectId> = of_a.intersection(&of_b).copied().collect();
        let mut is_parent = HashSet::new();
        for &c in &common {
            is_parent.extend(self.parents_of(c)?);
        }
        let mut best: Vec<ObjectId> = common.difference(&is_parent).copied().collect();
        best.sort();
        Ok(best.into_iter().next())
    }

    /// Resolve a ref name to the commit it points at, if it exists.
    pub fn resolve(&self, name: &str) -> Result<Option<ObjectId>, RepoError> {
        let err = |message: String| RepoError::Ref {
            name: name.to_owned(),
            message,
        };
        let Some(mut r) = self
            .repo
            .try_find_reference(name)
            .map_err(|e| err(e.to_string()))?
        else {
            return Ok(None);
        };
        let id = r.peel_to_id().map_err(|e| err(e.to_string()))?;
        Ok(Some(id.detach()))
    }

    /// The branch to write and what to build on: `refs/heads/<branch>`, else
    /// `refs/remotes/origin/<branch>`, else the first of `bases` that exists (each tried as
    /// `refs/heads/<b>` then `refs/remotes/origin/<b>`, or as a full ref name).
    pub fn parent_for(&self, branch: &str, bases: &[&str]) -> Result<Parent, RepoError> {
        let target_ref = format!("refs/heads/{branch}");
        let expected = self.resolve(&target_ref)?;
        if let Some(id) = expected {
            return Ok(Parent {
                target_ref: target_ref.clone(),
                expected,
                base: id,
                base_ref: target_ref,
            });
        }
        let mut tried = vec![target_ref.clone()];
        let mut candidates = vec![format!("refs/remotes/origin/{branch}")];
        for b in bases {
            if b.starts_with("refs/") {
                candidates.push((*b).to_owned());
            } else {
                candidates.push(format!("refs/heads/{b}"));
                candidates.push(format!("refs/remotes/origin/{b}"));
            }
        }
        for name in candidates {
            if let Some(id) = self.resolve(&name)? {
                return Ok(Parent {
                    target_ref,
                    expected: None,
                    base: id,
                    base_ref: name,
                });
            }
            tried.push(name);
        }
        Err(RepoError::NoParent {
            path: self.path.clone(),
            tried: tried.join(", "),
        })
    }

    /// The tree of a commit.
    pub fn tree_of(&self, commit: ObjectId) -> Result<ObjectId, RepoError> {
        let obj = self.read_object(commit)?;
        if obj.0 != gix::object::Kind::Commit {
            return Err(RepoError::Object {
                id: commit,
                message: format!("is a {}, not a commit", obj.0),
            });
        }
        let mut c = gix::objs::CommitRefIter::from_bytes(&obj.1, gix::hash::Kind::Sha1);
        c.tree_id().map_err(|e| RepoError::Object {
            id: commit,
            message: e.to_string(),
        })
    }

    /// Read any object's kind and bytes.
    pub fn read_object(&self, id: ObjectId) -> Result<(gix::object::Kind, Vec<u8>), RepoError> {
        let mut out = Vec::new();
        if let Some(kind) = self.packs.borrow_mut().read(&id, &mut out) {
            return Ok((kind, out));
        }
        let obj = self.repo.find_object(id).map_err(|e| RepoError::Object {
            id,
            message: e.to_string(),
        })?;
        Ok((obj.kind, obj.data.clone()))
    }

    /// True when the object store holds `id`.
    pub fn has_object(&self, id: ObjectId) -> bool {
        self.repo.has_object(id)
    }

    /// [`Self::has_object`] for many ids in a row: a lookup that never rescans the object
    /// directories on a miss. gix's default re-reads `objects/pack` for every id it does not
    /// find, which for the tens of thousands of new objects of a write costs more than
    /// compressing them. A pack another writer adds meanwhile can only make an object look
    /// missing, and it is then written once more: never lost.
    pub fn object_lookup(&self) -> impl Fn(&ObjectId) -> bool + use<> {
        use gix::objs::Exists;
        let mut odb = self.repo.objects.clone();
        odb.refresh_never();
        move |id| id.is_empty_tree() || odb.exists(id)
    }

    /// Read a blob at `path` in `tree`, if there is one.
    pub fn blob_at(&self, tree: ObjectId, path: &str) -> Result<Option<Vec<u8>>, RepoError> {
        let mut current = tree;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            let Some((mode, id)) = self.tree_entry(current, part)? else {
                return Ok(None);
            };
            let is_tree = mode == 0o40000;
            match (parts.peek().is_some(), is_tree) {
                (true, true) => current = id,
                (false, false) => return Ok(Some(self.read_object(id)?.1)),
                _ => return Ok(None),
            }
        }
        Ok(None)
    }

    /// The subtree at `path` (no leading or trailing slash; empty for the tree itself).
    pub fn subtree(&self, tree: ObjectId, path: &str) -> Result<Option<ObjectId>, RepoError> {
        let mut current = tree;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            match self.tree_entry(current, part)? {
                Some((0o40000, id)) => current = id,
                _ => return Ok(None),
            }
        }
        Ok(Some(current))
    }

    fn tree_entry(&self, tree: ObjectId, name: &str) -> Result<Option<(u32, ObjectId)>, RepoError> {
        let (_, data) = self.read_object(tree)?;
        for entry in gix::objs::TreeRefIter::from_bytes(&data, gix::hash::Kind::Sha1) {
            let entry = entry.map_err(|e| RepoError::Object {
                id: tree,
                message: e.to_string(),
            })?;
            if entry.filename == name.as_bytes() {
                return Ok(Some((entry.mode.value() as u32, entry.oid.to_owned())));
            }
        }
        Ok(None)
    }

    /// Every blob under `prefix` in `tree`, depth first in tree order, with paths from the
    /// repo root. The subtrees of the top folder are walked on every core (the evaluations
    /// sheet has one per person), in the same order.
    pub fn walk_blobs(&self, tree: ObjectId, prefix: &str) -> Result<Vec<BlobEntry>, RepoError> {
        let Some(start) = self.subtree(tree, prefix)? else {
            return Ok(Vec::new());
        };
        let at = prefix.trim_matches('/');
        let (_, data) = self.read_object(start)?;
        let mut top = Vec::new();
        for_each_entry(start, &data, at, |entry| {
            top.push(entry);
            Ok(())
        })?;
        let subtrees = top.iter().filter(|e| e.mode == TREE_MODE).count();
        let path = self.path.as_path();
        let walked = crate::par::map_balanced(
            &top,
            || ChunkReader::new(path),
            |reader, chunk| {
                let mut read = |id| reader.read(id, <[u8]>::to_vec);
                chunk
                    .iter()
                    .map(|entry| -> Result<Vec<BlobEntry>, RepoError> {
                        let mut out = Vec::new();
                        if entry.mode == TREE_MODE {
                            walk_into(&mut read, entry.id, &entry.path, &mut out)?;
                        } else {
                            out.push(entry.clone());
                        }
                        Ok(out)
                    })
                    .collect()
            },
        );
        let mut out = Vec::with_capacity(top.len() - subtrees);
        for part in walked {
            out.extend(part?);
        }
        Ok(out)
    }

    /// The sheet configs in `.gitsheets/` of `tree`, by sheet name.
    pub fn sheet_configs(
        &self,
        tree: ObjectId,
    ) -> Result<BTreeMap<String, SheetConfig>, RepoError> {
        let mut configs = BTreeMap::new();
        for entry in self.walk_blobs(tree, ".gitsheets")? {
            let Some(name) = entry
                .path
                .strip_prefix(".gitsheets/")
                .and_then(|n| n.strip_suffix(".toml"))
            else {
                continue;
            };
            if name.contains('/') {
                continue; // e.g. .gitsheets/schemas/…
            }
            let bytes = self.read_object(entry.id)?.1;
            let text = String::from_utf8_lossy(&bytes);
            configs.insert(name.to_owned(), SheetConfig::parse(name, &text)?);
        }
        Ok(configs)
    }

    /// The config of one sheet in `tree`.
    pub fn sheet_config(&self, tree: ObjectId, sheet: &str) -> Result<SheetConfig, RepoError> {
        self.sheet_configs(tree)?
            .remove(sheet)
            .ok_or_else(|| RepoError::NoSheet(sheet.to_owned()))
    }

    /// The record files of a sheet: blobs at exactly the template's depth below the root, with
    /// the sheet's extension. Attachments (deeper, or other extensions) are not records.
    pub fn record_files(
        &self,
        tree: ObjectId,
        config: &SheetConfig,
    ) -> Result<Vec<BlobEntry>, RepoError> {
        let mut files = self.walk_blobs(tree, &config.root)?;
        let is_record = record_file_rule(config);
        files.retain(|f| is_record(&f.path));
        Ok(files)
    }

    /// The attachments of a sheet's records (`reference/B` §1.5): every blob under a record's
    /// folder (its path without the extension, e.g. `people/alice/` of `people/alice.toml`)
    /// that is not itself a record, by the record's path; the nearest record folder owns a
    /// blob. Blobs under no record folder are not listed.
    pub fn attachments(
        &self,
        tree: ObjectId,
        config: &SheetConfig,
    ) -> Result<Attachments, RepoError> {
        Ok(self.records_and_attachments(tree, config)?.1)
    }

    /// [`Self::record_files`] and [`Self::attachments`] from one walk of the sheet's tree, for
    /// a reader that needs both (sheet-write reads every owned sheet this way).
    pub fn records_and_attachments(
        &self,
        tree: ObjectId,
        config: &SheetConfig,
    ) -> Result<(Vec<BlobEntry>, Attachments), RepoError> {
        let is_record = record_file_rule(config);
        let ext = format!(".{}", config.extension());
        let (records, others): (Vec<BlobEntry>, Vec<BlobEntry>) = self
            .walk_blobs(tree, &config.root)?
            .into_iter()
            .partition(|f| is_record(&f.path));
        let folders: HashMap<&str, &str> = records
            .iter()
            .filter_map(|r| Some((r.path.strip_suffix(&ext)?, r.path.as_str())))
            .collect();
        let mut out = Attachments::new();
        for blob in others {
            let owner = blob
                .path
                .match_indices('/')
                .rev()
                .find_map(|(i, _)| folders.get(&blob.path[..i]));
            if let Some(record) = owner {
                out.entry((*record).to_owned()).or_default().push(blob);
            }
        }
        Ok((records, out))
    }

    /// Read every record of a sheet at `tree`. Files that do not parse are listed in
    /// `errors`, never dropped silently.
    pub fn read_sheet(&self, tree: ObjectId, config: &SheetConfig) -> Result<SheetRead, RepoError> {
        let files = self.record_files(tree, config)?;
        let mut decoded = Vec::with_capacity(files.len());
        for f in &files {
            let bytes = self.read_object(f.id)?.1;
            decoded.push(config.decode(&f.path, &bytes));
        }
        Ok(SheetRead::of(files, decoded))
    }

    /// `f` of every item and the bytes of its blob (`id_of`), the blobs read on every core;
    /// in the order of `items`. Any blob that cannot be read fails the whole call.
    pub fn map_blobs<T: Sync, R: Send>(
        &self,
        items: &[T],
        id_of: impl Fn(&T) -> ObjectId + Sync,
        f: impl Fn(&T, &[u8]) -> R + Sync,
    ) -> Result<Vec<R>, RepoError> {
        let path = self.path.as_path();
        crate::par::map_balanced(
            items,
            || ChunkReader::new(path),
            |reader, chunk| {
                chunk
                    .iter()
                    .map(|item| reader.read(id_of(item), |bytes| f(item, bytes)))
                    .collect()
            },
        )
        .into_iter()
        .collect()
    }

    /// Read the records of `files` (from [`DataRepo::record_files`]) keeping only `keys`, the
    /// blobs read and decoded on every core; in the order of `files`. Files that do not parse
    /// are listed in `errors`, never dropped silently.
    pub fn read_records_keys(
        &self,
        files: Vec<BlobEntry>,
        config: &SheetConfig,
        keys: &[&str],
    ) -> Result<SheetRead, RepoError> {
        let decoded = self.map_blobs(
            &files,
            |f| f.id,
            |f, bytes| config.decode_keys(&f.path, bytes, keys),
        )?;
        Ok(SheetRead::of(files, decoded))
    }

    /// Read every record of a sheet at a branch (or any ref name).
    pub fn read_sheet_at(&self, reference: &str, sheet: &str) -> Result<SheetRead, RepoError> {
        let commit = self.resolve(reference)?.ok_or_else(|| RepoError::Ref {
            name: reference.to_owned(),
            message: "does not exist".into(),
        })?;
        let tree = self.tree_of(commit)?;
        let config = self.sheet_config(tree, sheet)?;
        self.read_sheet(tree, &config)
    }
}

/// Which paths (from the repo root) are a sheet's record files: exactly the template's depth
/// below the root, with the sheet's extension, never under `.gitsheets/`. Attachments (deeper,
/// or other extensions) are not records.
fn record_file_rule(config: &SheetConfig) -> impl Fn(&str) -> bool + '_ {
    let ext = format!(".{}", config.extension());
    let root_depth = if config.root.is_empty() {
        0
    } else {
        config.root.split('/').count()
    };
    let depth = root_depth + config.path.depth();
    move |path| {
        path.ends_with(&ext)
            && path.split('/').count() == depth
            && !(config.root.is_empty() && path.starts_with(".gitsheets/"))
    }
}

/// Which fields of a sheet's records [`DataRepo::read_tree_fields`] keeps.
pub type FieldFilter<'a> = Box<dyn Fn(&str) -> bool + Sync + 'a>;

/// A tree entry's mode for a subtree.
const TREE_MODE: u32 = 0o40000;

/// Objects read on one thread of a parallel job: whole objects of the packs are inflated into
/// one reused buffer; the rest (deltas, loose objects) through a gix handle of the thread's own
/// (gix handles are per thread: built without its `parallel` feature), opened when first
/// needed.
struct ChunkReader<'a> {
    path: &'a Path,
    packs: crate::packread::Packs,
    buf: Vec<u8>,
    local: Option<gix::Repository>,
}

impl<'a> ChunkReader<'a> {
    fn new(path: &'a Path) -> Self {
        ChunkReader {
            path,
            packs: crate::packread::Packs::open(path),
            buf: Vec::new(),
            local: None,
        }
    }

    /// `f` of the bytes of object `id`.
    fn read<R>(&mut self, id: ObjectId, f: impl FnOnce(&[u8]) -> R) -> Result<R, RepoError> {
        if self.packs.read(&id, &mut self.buf).is_some() {
            return Ok(f(&self.buf));
        }
        let repo = match &mut self.local {
            Some(repo) => repo,
            slot @ None => slot.insert(
                gix::open_opts(self.path, gix::open::Options::isolated()).map_err(|e| {
                    RepoError::Open {
                        path: self.path.to_path_buf(),
                        message: e.to_string(),
                    }
                })?,
            ),
        };
        let obj = repo.find_object(id).map_err(|e| RepoError::Object {
            id,
            message: e.to_string(),
        })?;
        Ok(f(&obj.data))
    }
}

/// Every entry of the tree object `data` (object `id`, at path `at`), in order, with its path
/// from the repo root.
fn for_each_entry(
    id: ObjectId,
    data: &[u8],
    at: &str,
    mut f: impl FnMut(BlobEntry) -> Result<(), RepoError>,
) -> Result<(), RepoError> {
    for entry in gix::objs::TreeRefIter::from_bytes(data, gix::hash::Kind::Sha1) {
        let entry = entry.map_err(|e| RepoError::Object {
            id,
            message: e.to_string(),
        })?;
        let name = String::from_utf8_lossy(entry.filename);
        let mut path = String::with_capacity(at.len() + 1 + name.len());
        if !at.is_empty() {
            path.push_str(at);
            path.push('/');
        }
        path.push_str(&name);
        f(BlobEntry {
            path,
            id: entry.oid.to_owned(),
            mode: entry.mode.value() as u32,
        })?;
    }
    Ok(())
}

/// Every blob below the tree `tree` (at path `at`), depth first in tree order, its objects
/// read through `read`.
fn walk_into(
    read: &mut impl FnMut(ObjectId) -> Result<Vec<u8>, RepoError>,
    tree: ObjectId,
    at: &str,
    out: &mut Vec<BlobEntry>,
) -> Result<(), RepoError> {
    let data = read(tree)?;
    for_each_entry(tree, &data, at, |entry| {
        if entry.mode == TREE_MODE {
            walk_into(read, entry.id, &entry.path, out)
        } else {
            out.push(entry);
            Ok(())
        }
    })
}

/// Every record of a tree, read for the closure check.
#[derive(Debug, Default)]
pub struct TreeRecords {
    /// sheet name → its records.
    pub sheets: BTreeMap<String, Vec<StoredRecord>>,
    /// `[gitsheet.references]` of every config in the tree.
    pub declared: crate::closure::DeclaredReferences,
    /// Files that could not be read as records (never dropped silently).
    pub errors: Vec<SheetError>,
    /// The sheet of each of `errors`, in the same order.
    pub error_sheets: Vec<String>,
    /// Per sheet, the files under its root that are not records (attachments, other
    /// extensions or depths), in tree order; filled by [`DataRepo::read_tree_fields`].
    pub other_files: BTreeMap<String, Vec<BlobEntry>>,
}

impl TreeRecords {
    /// The dangling references among these records ([`crate::closure::check`]).
    pub fn dangling(&self) -> Vec<crate::closure::Dangling> {
        self.dangling_to(&|_| true)
    }

    /// [`TreeRecords::dangling`], only the references whose value `only` accepts
    /// ([`crate::closure::check_values`]).
    pub fn dangling_to(&self, only: &dyn Fn(&str) -> bool) -> Vec<crate::closure::Dangling> {
        let refs: Vec<crate::closure::RecordRef<'_>> = self
            .sheets
            .iter()
            .flat_map(|(sheet, records)| records.iter().map(move |r| r.reference(sheet)))
            .collect();
        let names = self.sheets.keys().map(String::as_str).collect();
        crate::closure::check_values(&refs, &names, &self.declared, only)
    }
}

impl DataRepo {
    /// Read every record of every sheet configured in `tree`.
    pub fn read_tree_records(&self, tree: ObjectId) -> Result<TreeRecords, RepoError> {
        let mut out = TreeRecords::default();
        for (name, config) in self.sheet_configs(tree)? {
            let read = self.read_sheet(tree, &config)?;
            out.error_sheets
                .extend(std::iter::repeat_n(name.clone(), read.errors.len()));
            out.errors.extend(read.errors);
            if !config.references.is_empty() {
                out.declared.insert(name.clone(), config.references.clone());
            }
            out.sheets.insert(name, read.records);
        }
        Ok(out)
    }

    /// Every record of every sheet configured in `tree`, reduced to the fields the closure
    /// check reads ([`crate::closure::is_checked_field`]): what [`Self::read_tree_records`]
    /// gives for [`TreeRecords::dangling`], errors included, with the blobs of all sheets read
    /// on every core in one pass and without building documents.
    pub fn read_tree_references(&self, tree: ObjectId) -> Result<TreeRecords, RepoError> {
        let configs = self.sheet_configs(tree)?;
        self.read_tree_fields(tree, &configs, &|config| {
            Box::new(|field| crate::closure::is_checked_field(field, Some(&config.references)))
        })
    }

    /// The records of the sheets `configs` names (configs of `tree`), each reduced to the
    /// fields its filter (`filter_for(config)`) accepts, all sheets' blobs read on every core
    /// in one pass. With every config of the tree and at least the fields the closure check
    /// reads ([`crate::closure::is_checked_field`]), the records check as
    /// [`Self::read_tree_references`]'s do ([`crate::closure::check`] passes over any other
    /// field): one read serves a tool that needs a few fields of its own and the check.
    pub fn read_tree_fields(
        &self,
        tree: ObjectId,
        configs: &BTreeMap<String, SheetConfig>,
        filter_for: &dyn Fn(&SheetConfig) -> FieldFilter<'_>,
    ) -> Result<TreeRecords, RepoError> {
        let sheets: Vec<(&String, &SheetConfig, FieldFilter<'_>)> = configs
            .iter()
            .map(|(name, config)| (name, config, filter_for(config)))
            .collect();
        let mut files = Vec::new();
        let mut other_files = BTreeMap::new();
        for (name, config, filter) in &sheets {
            let is_record = record_file_rule(config);
            let (records, others): (Vec<BlobEntry>, Vec<BlobEntry>) = self
                .walk_blobs(tree, &config.root)?
                .into_iter()
                .partition(|f| is_record(&f.path));
            files.extend(records.into_iter().map(|f| (*name, *config, filter, f)));
            other_files.insert((*name).clone(), others);
        }
        let decoded = self.map_blobs(
            &files,
            |(.., f)| f.id,
            |(_, config, filter, f), bytes| config.decode_where(&f.path, bytes, &***filter),
        )?;
        let mut out = TreeRecords {
            other_files,
            ..TreeRecords::default()
        };
        for (name, config) in configs {
            if !config.references.is_empty() {
                out.declared.insert(name.clone(), config.references.clone());
            }
        }
        // The files come sheet by sheet, in the configs' order.
        let mut read = files.into_iter().zip(decoded).peekable();
        for (name, ..) in &sheets {
            let mut records = Vec::new();
            while let Some(((_, _, _, f), result)) =
                read.next_if(|((n, ..), _)| std::ptr::eq(*n, *name))
            {
                match result {
                    Ok(record) => records.push(StoredRecord {
                        path: f.path,
                        blob: f.id,
                        record,
                    }),
                    Err(e) => {
                        out.errors.push(e);
                        out.error_sheets.push((*name).clone());
                    }
                }
            }
            out.sheets.insert((*name).clone(), records);
        }
        Ok(out)
    }

    /// Every reference in `tree` that resolves to no record ([`crate::closure`]), plus the
    /// files that could not be read (their references cannot be checked).
    pub fn dangling_references(
        &self,
        tree: ObjectId,
    ) -> Result<(Vec<crate::closure::Dangling>, Vec<SheetError>), RepoError> {
        let records = self.read_tree_references(tree)?;
        Ok((records.dangling(), records.errors))
    }
}
