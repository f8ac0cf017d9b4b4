//! The rewrite's public data repo: a **bare** git repository of gitsheets sheets.
//!
//! - [`toml`]: the canonical TOML bytes gitsheets 1.4.1 writes, and a reader.
//! - [`template`] and [`config`]: sheet configs from `.gitsheets/`, path rendering, record files.
//! - [`repo`]: opening a bare repo (refusing anything else before touching it), resolving the
//!   branch to write, reading every record of a sheet fast.
//! - [`tree`]: building a new tree from a parent by replacing sheet roots, deleting records
//!   with their attachments, and patching fields; every other path stays byte-identical.
//! - [`write`]: commits and the compare-and-swap ref update; new objects go into one pack.
//! - [`closure`]: referential closure, every id field resolving to a record of the tree.
//! - [`people`]: the one view of a public Person (claimed, deleted…) every tool reads.
//! - [`merge`]: merging a branch into another at record granularity (fast-forward, or a
//!   three-way merge that stops with the conflicting paths and writes nothing).

#![deny(missing_docs)]

pub mod closure;
pub mod config;
pub mod merge;
mod pack;
mod packread;
pub mod par;
pub mod people;
pub mod repo;
pub mod template;
pub mod toml;
mod toml_scan;
pub mod tree;
pub mod write;

pub use closure::{Dangling, RecordRef};
pub use config::{Format, SheetConfig, SheetError};
pub use gix::ObjectId;
pub use merge::{MergeOutcome, merge_branch};
pub use repo::{BlobEntry, DataRepo, Parent, RepoError, StoredRecord, TreeRecords};
pub use template::{PathError, PathTemplate};
pub use tree::TreeEdit;
pub use write::{CommitSpec, Signature, Transaction, WriteOutcome};

/// The id `data` has as a git blob: what a tree entry holding those bytes names.
pub fn blob_id(data: &[u8]) -> ObjectId {
    pack::object_id(gix::object::Kind::Blob, data)
}
