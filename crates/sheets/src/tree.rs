//! Building a new tree from a parent tree: replace whole directories (sheet roots), put,
//! remove and read single files. Only the directories on a changed path are re-encoded;
//! everything else keeps its object id, so every other path stays byte-identical.

use crate::config::{SheetConfig, SheetError};
use crate::pack::ObjectSink;
use crate::repo::{DataRepo, RepoError};
use gix::ObjectId;
use gix::object::Kind;
use serde_json::{Map, Value};
use std::collections::BTreeMap;

const MODE_TREE: u32 = 0o40000;
const MODE_BLOB: u32 = 0o100644;

/// A tree being edited, on top of an optional parent tree in the repo.
pub struct TreeEdit<'r> {
    repo: &'r DataRepo,
    pub(crate) sink: ObjectSink,
    root: Dir,
}

#[derive(Clone, Default)]
struct Dir {
    /// The tree this directory was loaded from, and is still equal to while not `dirty`.
    base: Option<ObjectId>,
    children: Option<BTreeMap<Vec<u8>, Node>>,
    dirty: bool,
}

#[derive(Clone)]
enum Node {
    Leaf { mode: u32, id: ObjectId },
    Dir(Dir),
}

/// Per-path differences between two trees.
#[derive(Debug, Default, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FileChanges {
    /// Paths added.
    pub added: Vec<String>,
    /// Paths whose content changed.
    pub modified: Vec<String>,
    /// Paths deleted.
    pub deleted: Vec<String>,
}

impl FileChanges {
    /// True when nothing changed.
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.modified.is_empty() && self.deleted.is_empty()
    }
}

/// Why an edit cannot be made.
#[derive(Debug, thiserror::Error)]
pub enum EditError {
    #[error("path {0:?} is not a valid repo path (empty, `.`, `..` or NUL segment)")]
    /// A path that cannot be in a git tree.
    BadPath(String),
    #[error("two files would be written at {0}")]
    /// Two files would be written at one path.
    Duplicate(String),
    #[error("{0} is a file where a directory is needed, or the reverse")]
    /// A file where a directory is needed, or the reverse.
    Conflict(String),
    #[error(transparent)]
    /// The repo could not be read.
    Repo(#[from] RepoError),
    #[error(transparent)]
    /// A sheet's config or record is unusable.
    Sheet(#[from] SheetError),
}

/// RFC 7396 JSON merge patch: objects merge recursively, `null` removes, anything else
/// replaces.
pub fn merge_patch(target: &mut Map<String, Value>, patch: &Map<String, Value>) {
    for (key, value) in patch {
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Object(p) => {
                let slot = target
                    .entry(key.clone())
                    .or_insert_with(|| Value::Object(Map::new()));
                if !slot.is_object() {
                    *slot = Value::Object(Map::new());
                }
                if let Value::Object(t) = slot {
                    merge_patch(t, p);
                }
            }
            other => {
                target.insert(key.clone(), other.clone());
            }
        }
    }
}

fn split(path: &str) -> Result<Vec<&str>, EditError> {
    let parts: Vec<&str> = path.split('/').collect();
    if parts
        .iter()
        .any(|p| p.is_empty() || *p == "." || *p == ".." || p.contains('\0'))
    {
        return Err(EditError::BadPath(path.to_owned()));
    }
    Ok(parts)
}

impl<'r> TreeEdit<'r> {
    /// Start from `tree` (or from nothing).
    pub fn new(repo: &'r DataRepo, tree: Option<ObjectId>) -> Self {
        Self {
            repo,
            sink: ObjectSink::default(),
            root: Dir {
                base: tree,
                children: if tree.is_none() {
                    Some(BTreeMap::new())
                } else {
                    None
                },
                dirty: tree.is_none(),
            },
        }
    }

    /// The repo the edit writes into.
    pub fn repo(&self) -> &'r DataRepo {
        self.repo
    }

    /// Replace the directory at `path` (e.g. a sheet root) with exactly `files` (paths relative
    /// to it). An empty `files` removes the directory, as gitsheets writes no empty subtrees.
    pub fn replace_dir(
        &mut self,
        path: &str,
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
    ) -> Result<(), EditError> {
        self.replace_dir_with(path, files, [])
    }

    /// [`Self::replace_dir`] with, besides the new `files`, `blobs` the repo already holds
    /// (kept files, attachments carried over): put in by id, never read or rewritten.
    pub fn replace_dir_with(
        &mut self,
        path: &str,
        files: impl IntoIterator<Item = (String, Vec<u8>)>,
        blobs: impl IntoIterator<Item = (String, ObjectId)>,
    ) -> Result<(), EditError> {
        let mut fresh = Dir {
            base: None,
            children: Some(BTreeMap::new()),
            dirty: true,
        };
        let (mut paths, bytes): (Vec<String>, Vec<Vec<u8>>) = files.into_iter().unzip();
        let mut ids = self.sink.add_all(Kind::Blob, bytes);
        for (rel, id) in blobs {
            paths.push(rel);
            ids.push(id);
        }
        for (rel, id) in paths.iter().zip(ids) {
            let parts = split(rel)?;
            insert_new(&mut fresh, &parts, id).map_err(|e| match e {
                EditError::Duplicate(_) => EditError::Duplicate(format!("{path}/{rel}")),
                other => other,
            })?;
        }
        let empty = fresh.children.as_ref().is_some_and(BTreeMap::is_empty);
        if path.is_empty() {
            self.root = fresh;
            return Ok(());
        }
        let parts = split(path)?;
        let (last, parents) = parts
            .split_last()
            .ok_or_else(|| EditError::BadPath(path.into()))?;
        let TreeEdit { repo, sink, root } = self;
        let dir = descend(root, parents, true, repo, sink)?
            .ok_or_else(|| EditError::Conflict(path.to_owned()))?;
        let children = dir
            .children
            .as_mut()
            .ok_or_else(|| EditError::Conflict(path.into()))?;
        if empty {
            children.remove(last.as_bytes());
        } else {
            children.insert(last.as_bytes().to_vec(), Node::Dir(fresh));
        }
        dir.dirty = true;
        self.prune_empty(parents);
        Ok(())
    }

    /// Write (or overwrite) one file.
    pub fn put(&mut self, path: &str, bytes: Vec<u8>) -> Result<ObjectId, EditError> {
        let parts = split(path)?;
        let id = self.sink.add(Kind::Blob, bytes);
        let (last, parents) = parts
            .split_last()
            .ok_or_else(|| EditError::BadPath(path.into()))?;
        let TreeEdit { repo, sink, root } = self;
        let dir = descend(root, parents, true, repo, sink)?
            .ok_or_else(|| EditError::Conflict(path.to_owned()))?;
        let children = dir
            .children
            .as_mut()
            .ok_or_else(|| EditError::Conflict(path.into()))?;
        if let Some(Node::Dir(_)) = children.get(last.as_bytes()) {
            return Err(EditError::Conflict(path.to_owned()));
        }
        children.insert(
            last.as_bytes().to_vec(),
            Node::Leaf {
                mode: MODE_BLOB,
                id,
            },
        );
        dir.dirty = true;
        Ok(id)
    }

    /// Remove a file or a whole directory. Returns whether anything was there. Directories
    /// left empty are removed too.
    pub fn remove(&mut self, path: &str) -> Result<bool, EditError> {
        self.remove_with_sibling(path, None)
    }

    /// Delete a record file and its attachment folder (`<path without extension>/`).
    /// Returns whether the record existed.
    pub fn delete_record(&mut self, path: &str) -> Result<bool, EditError> {
        let Some((stem, ext)) = path.rsplit_once('.') else {
            return self.remove(path);
        };
        if stem.is_empty() || stem.ends_with('/') {
            return self.remove(path);
        }
        match split(stem) {
            // The record and its folder sit side by side: one walk down for both.
            Ok(folder) if !ext.contains('/') => {
                let name = folder
                    .last()
                    .ok_or_else(|| EditError::BadPath(path.into()))?;
                self.remove_with_sibling(path, Some(name))
            }
            // The dot is in a folder name (the "stem" is another path), or a bad stem.
            _ => {
                let removed = self.remove(path)?;
                self.remove(stem)?;
                Ok(removed)
            }
        }
    }

    /// [`Self::remove`] of `path` and, if given, of `sibling` in the same folder, with one
    /// walk down: whether `path` was there.
    fn remove_with_sibling(
        &mut self,
        path: &str,
        sibling: Option<&str>,
    ) -> Result<bool, EditError> {
        let parts = split(path)?;
        let (last, parents) = parts
            .split_last()
            .ok_or_else(|| EditError::BadPath(path.into()))?;
        let TreeEdit { repo, sink, root } = self;
        let Some(dir) = descend(root, parents, false, repo, sink)? else {
            return Ok(false);
        };
        let Some(children) = dir.children.as_mut() else {
            return Ok(false);
        };
        let removed = children.remove(last.as_bytes()).is_some();
        let removed_sibling = sibling.is_some_and(|s| children.remove(s.as_bytes()).is_some());
        if removed || removed_sibling {
            // Every directory above the removed entries changes too.
            self.mark_dirty(parents);
            self.prune_empty(parents);
        }
        Ok(removed)
    }

    /// Apply an RFC 7396 merge patch (`null` removes a key) to the record at `path`, in the
    /// sheet's format. Returns `false` when there is no record there or nothing changed.
    pub fn patch_record(
        &mut self,
        config: &SheetConfig,
        path: &str,
        patch: &Map<String, Value>,
    ) -> Result<bool, EditError> {
        let Some(bytes) = self.get(path)? else {
            return Ok(false);
        };
        let mut record = config.decode(path, &bytes)?;
        merge_patch(&mut record, patch);
        let new_bytes = config.encode(&record)?;
        if new_bytes == bytes {
            return Ok(false);
        }
        self.put(path, new_bytes)?;
        Ok(true)
    }

    /// The bytes of the file at `path`, if there is one.
    pub fn get(&mut self, path: &str) -> Result<Option<Vec<u8>>, EditError> {
        let parts = split(path)?;
        let (last, parents) = parts
            .split_last()
            .ok_or_else(|| EditError::BadPath(path.into()))?;
        let TreeEdit { repo, sink, root } = self;
        let Some(dir) = descend(root, parents, false, repo, sink)? else {
            return Ok(None);
        };
        match dir.children.as_ref().and_then(|c| c.get(last.as_bytes())) {
            Some(Node::Leaf { id, .. }) => {
                let id = *id;
                Ok(Some(read(repo, sink, id)?.1))
            }
            _ => Ok(None),
        }
    }

    /// Merge `theirs` into the edited tree (ours), against their common `base` tree. On
    /// success the edited tree becomes the merge result and the files that came back (deleted
    /// by ours, changed by theirs) are returned; on conflict it is left as it was and the
    /// conflicting paths are returned.
    pub fn merge(
        &mut self,
        base: Option<ObjectId>,
        theirs: ObjectId,
    ) -> Result<Result<Vec<String>, Vec<String>>, EditError> {
        let ours = self.write()?;
        let mut notes = MergeNotes::default();
        let merged = merge_trees(
            self.repo,
            &mut self.sink,
            base,
            Some(ours),
            Some(theirs),
            "",
            &mut notes,
        )?;
        if !notes.conflicts.is_empty() {
            return Ok(Err(notes.conflicts));
        }
        let readded = notes.readded;
        self.root = match merged {
            Some(id) => Dir {
                base: Some(id),
                children: None,
                dirty: false,
            },
            None => Dir {
                base: None,
                children: Some(BTreeMap::new()),
                dirty: true,
            },
        };
        Ok(Ok(readded))
    }

    /// Encode every changed directory and return the root tree id.
    pub fn write(&mut self) -> Result<ObjectId, EditError> {
        write_dir(&mut self.root, &mut self.sink)
    }

    /// Which files differ between two trees (either may be only in this edit's new objects),
    /// limited to the directory `prefix` (empty for all).
    pub fn diff(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        prefix: &str,
    ) -> Result<FileChanges, EditError> {
        let sub = |tree: Option<ObjectId>| -> Result<Option<ObjectId>, EditError> {
            let Some(mut t) = tree else { return Ok(None) };
            for part in prefix.split('/').filter(|p| !p.is_empty()) {
                match entries(self.repo, &self.sink, t)?.remove(part.as_bytes()) {
                    Some((MODE_TREE, id)) => t = id,
                    _ => return Ok(None),
                }
            }
            Ok(Some(t))
        };
        let mut changes = FileChanges::default();
        diff_into(
            self,
            sub(old)?,
            sub(new)?,
            prefix.trim_matches('/'),
            &mut changes,
        )?;
        Ok(changes)
    }

    /// Mark the root and every (already loaded) directory on `parents` as changed.
    fn mark_dirty(&mut self, parents: &[&str]) {
        let mut dir = &mut self.root;
        dir.dirty = true;
        for p in parents {
            match dir.children.as_mut().and_then(|c| c.get_mut(p.as_bytes())) {
                Some(Node::Dir(d)) => {
                    d.dirty = true;
                    dir = d;
                }
                _ => return,
            }
        }
    }

    /// Drop directories on `parents` that became empty (deepest first).
    fn prune_empty(&mut self, parents: &[&str]) {
        for depth in (1..=parents.len()).rev() {
            let (last, upper) = parents[..depth].split_last().unwrap_or((&"", &[]));
            let mut dir = &mut self.root;
            for p in upper {
                match dir.children.as_mut().and_then(|c| c.get_mut(p.as_bytes())) {
                    Some(Node::Dir(d)) => dir = d,
                    _ => return,
                }
            }
            let Some(children) = dir.children.as_mut() else {
                return;
            };
            let is_empty = matches!(
                children.get(last.as_bytes()),
                Some(Node::Dir(Dir { children: Some(c), .. })) if c.is_empty()
            );
            if !is_empty {
                return;
            }
            children.remove(last.as_bytes());
            dir.dirty = true;
        }
    }
}

fn read(repo: &DataRepo, sink: &ObjectSink, id: ObjectId) -> Result<(Kind, Vec<u8>), RepoError> {
    match sink.get(&id) {
        Some((kind, data)) => Ok((kind, data.to_vec())),
        None => repo.read_object(id),
    }
}

/// The entries of a tree object: name → (mode, id).
fn entries(
    repo: &DataRepo,
    sink: &ObjectSink,
    tree: ObjectId,
) -> Result<BTreeMap<Vec<u8>, (u32, ObjectId)>, RepoError> {
    entries_as(repo, sink, tree, |mode, id| (mode, id))
}

/// The entries of a tree object, each made into a `T`, by name. Collected then built in one
/// go (a sort of an almost sorted list): the people folder has tens of thousands.
fn entries_as<T>(
    repo: &DataRepo,
    sink: &ObjectSink,
    tree: ObjectId,
    make: impl Fn(u32, ObjectId) -> T,
) -> Result<BTreeMap<Vec<u8>, T>, RepoError> {
    let (_, data) = read(repo, sink, tree)?;
    let mut out = Vec::new();
    for entry in gix::objs::TreeRefIter::from_bytes(&data, gix::hash::Kind::Sha1) {
        let entry = entry.map_err(|e| RepoError::Object {
            id: tree,
            message: e.to_string(),
        })?;
        let mode = entry.mode.value() as u32;
        out.push((entry.filename.to_vec(), make(mode, entry.oid.to_owned())));
    }
    Ok(out.into_iter().collect())
}

fn load<'d>(
    dir: &'d mut Dir,
    repo: &DataRepo,
    sink: &ObjectSink,
) -> Result<&'d mut BTreeMap<Vec<u8>, Node>, RepoError> {
    if dir.children.is_none() {
        let children = match dir.base {
            Some(base) => entries_as(repo, sink, base, |mode, id| {
                if mode == MODE_TREE {
                    Node::Dir(Dir {
                        base: Some(id),
                        children: None,
                        dirty: false,
                    })
                } else {
                    Node::Leaf { mode, id }
                }
            })?,
            None => BTreeMap::new(),
        };
        dir.children = Some(children);
    }
    Ok(dir.children.get_or_insert_with(BTreeMap::new))
}

/// Walk down `parts`, loading trees on the way; with `create`, make missing directories.
/// Every directory on the way is marked dirty when `create` is set (it is about to change).
fn descend<'d>(
    dir: &'d mut Dir,
    parts: &[&str],
    create: bool,
    repo: &DataRepo,
    sink: &ObjectSink,
) -> Result<Option<&'d mut Dir>, EditError> {
    load(dir, repo, sink)?;
    if create {
        dir.dirty = true;
    }
    let Some((first, rest)) = parts.split_first() else {
        return Ok(Some(dir));
    };
    let children = load(dir, repo, sink)?;
    if !children.contains_key(first.as_bytes()) {
        if !create {
            return Ok(None);
        }
        children.insert(first.as_bytes().to_vec(), Node::Dir(Dir::default()));
    }
    match children.get_mut(first.as_bytes()) {
        Some(Node::Dir(d)) => descend(d, rest, create, repo, sink),
        Some(Node::Leaf { .. }) if create => Err(EditError::Conflict(first.to_string())),
        _ => Ok(None),
    }
}

fn insert_new(dir: &mut Dir, parts: &[&str], id: ObjectId) -> Result<(), EditError> {
    let Some((first, rest)) = parts.split_first() else {
        return Ok(());
    };
    let children = dir.children.get_or_insert_with(BTreeMap::new);
    if rest.is_empty() {
        return match children.entry(first.as_bytes().to_vec()) {
            std::collections::btree_map::Entry::Occupied(_) => {
                Err(EditError::Duplicate(parts.join("/")))
            }
            std::collections::btree_map::Entry::Vacant(slot) => {
                slot.insert(Node::Leaf {
                    mode: MODE_BLOB,
                    id,
                });
                Ok(())
            }
        };
    }
    // A directory already there (most files share theirs) is found without a key copy.
    if !children.contains_key(first.as_bytes()) {
        let dir = Dir {
            base: None,
            children: Some(BTreeMap::new()),
            dirty: true,
        };
        children.insert(first.as_bytes().to_vec(), Node::Dir(dir));
    }
    let Some(entry) = children.get_mut(first.as_bytes()) else {
        return Err(EditError::Conflict(first.to_string()));
    };
    match entry {
        Node::Dir(d) => insert_new(d, rest, id),
        Node::Leaf { .. } => Err(EditError::Conflict(first.to_string())),
    }
}

fn write_dir(dir: &mut Dir, sink: &mut ObjectSink) -> Result<ObjectId, EditError> {
    if !dir.dirty
        && let Some(base) = dir.base
    {
        return Ok(base);
    }
    let mut items: Vec<(Vec<u8>, u32, ObjectId)> = Vec::new();
    if let Some(children) = dir.children.as_mut() {
        for (name, node) in children.iter_mut() {
            match node {
                Node::Leaf { mode, id } => items.push((name.clone(), *mode, *id)),
                Node::Dir(d) => {
                    let is_empty_new =
                        d.base.is_none() && d.children.as_ref().is_none_or(BTreeMap::is_empty);
                    if is_empty_new {
                        continue;
                    }
                    let id = write_dir(d, sink)?;
                    items.push((name.clone(), MODE_TREE, id));
                }
            }
        }
    }
    let data = encode_tree(items);
    let id = sink.add(Kind::Tree, data);
    dir.base = Some(id);
    dir.dirty = false;
    Ok(id)
}

/// What a merge found besides its result.
#[derive(Default)]
struct MergeNotes {
    conflicts: Vec<String>,
    readded: Vec<String>,
}

/// A tree object's bytes; git orders entries as if directory names ended with `/`.
fn encode_tree(mut items: Vec<(Vec<u8>, u32, ObjectId)>) -> Vec<u8> {
    items.sort_by(|a, b| {
        let ka =
            a.0.iter()
                .copied()
                .chain((a.1 == MODE_TREE).then_some(b'/'));
        let kb =
            b.0.iter()
                .copied()
                .chain((b.1 == MODE_TREE).then_some(b'/'));
        ka.cmp(kb)
    });
    let mut data = Vec::with_capacity(items.len() * 40);
    for (name, mode, id) in &items {
        match *mode {
            MODE_BLOB => data.extend_from_slice(b"100644"),
            MODE_TREE => data.extend_from_slice(b"40000"),
            other => data.extend_from_slice(format!("{other:o}").as_bytes()),
        }
        data.push(b' ');
        data.extend_from_slice(name);
        data.push(0);
        data.extend_from_slice(id.as_bytes());
    }
    data
}

/// Three-way merge of trees at file granularity: a side's change wins when the other side
/// left that path as it was in `base`; both sides changing one file differently is a
/// conflict. A record is one file, so two versions of one record are never mixed line by
/// line. One case is not a conflict: a file ours deleted and theirs changed comes back
/// (listed in `readded`) — the runtime branch pruned a record the import changed since, and
/// the prune that follows every merge decides on it again. Returns the merged tree (`None`
/// when empty).
fn merge_trees(
    repo: &DataRepo,
    sink: &mut ObjectSink,
    base: Option<ObjectId>,
    ours: Option<ObjectId>,
    theirs: Option<ObjectId>,
    at: &str,
    notes: &mut MergeNotes,
) -> Result<Option<ObjectId>, EditError> {
    if ours == theirs || base == theirs {
        return Ok(ours);
    }
    if base == ours {
        return Ok(theirs);
    }
    let list = |sink: &ObjectSink,
                t: Option<ObjectId>|
     -> Result<BTreeMap<Vec<u8>, (u32, ObjectId)>, EditError> {
        Ok(match t {
            Some(t) => entries(repo, sink, t)?,
            None => BTreeMap::new(),
        })
    };
    let (b, o, t) = (list(sink, base)?, list(sink, ours)?, list(sink, theirs)?);
    let mut names: Vec<&Vec<u8>> = b.keys().chain(o.keys()).chain(t.keys()).collect();
    names.sort();
    names.dedup();
    let mut items = Vec::new();
    for name in names {
        let (eb, eo, et) = (
            b.get(name).copied(),
            o.get(name).copied(),
            t.get(name).copied(),
        );
        let path = if at.is_empty() {
            String::from_utf8_lossy(name).into_owned()
        } else {
            format!("{at}/{}", String::from_utf8_lossy(name))
        };
        let chosen = if eo == et || eb == et {
            eo
        } else if eb == eo {
            et
        } else {
            let tree =
                |e: Option<(u32, ObjectId)>| e.filter(|(m, _)| *m == MODE_TREE).map(|(_, id)| id);
            let all_trees = [eb, eo, et].iter().flatten().all(|(m, _)| *m == MODE_TREE);
            if all_trees {
                merge_trees(repo, sink, tree(eb), tree(eo), tree(et), &path, notes)?
                    .map(|id| (MODE_TREE, id))
            } else if eo.is_none() && eb.is_some() {
                notes.readded.push(path);
                et
            } else {
                notes.conflicts.push(path);
                eo
            }
        };
        if let Some((mode, id)) = chosen {
            items.push((name.clone(), mode, id));
        }
    }
    if items.is_empty() {
        return Ok(None);
    }
    Ok(Some(sink.add(Kind::Tree, encode_tree(items))))
}

fn diff_into(
    edit: &TreeEdit<'_>,
    old: Option<ObjectId>,
    new: Option<ObjectId>,
    at: &str,
    out: &mut FileChanges,
) -> Result<(), EditError> {
    if old == new {
        return Ok(());
    }
    let list = |t: Option<ObjectId>| -> Result<BTreeMap<Vec<u8>, (u32, ObjectId)>, EditError> {
        Ok(match t {
            Some(t) => entries(edit.repo, &edit.sink, t)?,
            None => BTreeMap::new(),
        })
    };
    let (old_entries, new_entries) = (list(old)?, list(new)?);
    let mut names: Vec<&Vec<u8>> = old_entries.keys().chain(new_entries.keys()).collect();
    names.sort();
    names.dedup();
    for name in names {
        let o = old_entries.get(name);
        let n = new_entries.get(name);
        // Most entries of a big sheet folder are the same on both sides: no path for them.
        if o == n {
            continue;
        }
        let path = if at.is_empty() {
            String::from_utf8_lossy(name).into_owned()
        } else {
            format!("{at}/{}", String::from_utf8_lossy(name))
        };
        let tree_of =
            |e: Option<&(u32, ObjectId)>| e.filter(|(m, _)| *m == MODE_TREE).map(|(_, id)| *id);
        let blob_of = |e: Option<&(u32, ObjectId)>| e.filter(|(m, _)| *m != MODE_TREE).copied();
        diff_into(edit, tree_of(o), tree_of(n), &path, out)?;
        match (blob_of(o), blob_of(n)) {
            (None, Some(_)) => out.added.push(path),
            (Some(_), None) => out.deleted.push(path),
            (Some(a), Some(b)) if a != b => out.modified.push(path),
            _ => {}
        }
    }
    Ok(())
}
