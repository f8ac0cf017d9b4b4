//! The rewrite's private store (`reference/D` §1–2): `profiles.jsonl` and `legacy-passwords.jsonl`
//! in a directory or an S3-compatible bucket.
//!
//! Differences from the reference, on purpose:
//! - an unknown `STORAGE_BACKEND` is an error, not a silent fallback to the filesystem;
//! - unknown fields, field order and untouched values survive a rewrite byte for byte;
//! - a write is refused when the object changed since it was read (S3: `If-Match` on the ETag
//!   read, or `If-None-Match: *` when it was absent; directory: the bytes are compared again just
//!   before an atomic rename), so a concurrent writer makes the tool stop with nothing overwritten.
//!
//! ```no_run
//! use private_store::{PrivateStore, Profile};
//! let store = PrivateStore::from_env()?;
//! let profiles = store.load::<Profile>()?;
//! println!("{} profiles", profiles.len());
//! # Ok::<(), private_store::Error>(())
//! ```

#![deny(missing_docs)]

mod backend;
mod fields;
mod records;
mod table;
pub mod validate;
mod versions;

#[cfg(feature = "test-support")]
pub mod testing;

use std::path::PathBuf;

pub use backend::{S3Config, Version};
pub use fields::Fields;
pub use records::{Credential, HashFormat, Newsletter, Profile, Record};
pub use table::Table;
pub use versions::ObjectVersion;

use backend::{Backend, S3Backend};

/// Errors of the private store. Messages name the file or object and, for a bad line, the line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The store's settings are missing or contradictory.
    #[error("{0}")]
    Config(String),
    /// A line of a table that does not parse or validate.
    #[error("{location}:{line}: {reason}")]
    BadLine {
        /// The file or object the line is in.
        location: String,
        /// The line's number, from 1.
        line: usize,
        /// Why the line was refused.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{location}: {source}")]
    Io {
        /// The file.
        location: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// An S3 request failed.
    #[error("{location}: {message}")]
    S3 {
        /// The bucket and key.
        location: String,
        /// What the server or client said.
        message: String,
    },
    /// The object changed between read and write (the conditional put refused).
    #[error(
        "{location} changed since it was read (another writer is active?); nothing was written"
    )]
    Conflict {
        /// The object that changed.
        location: String,
    },
}

/// A handle on the private store; [`PrivateStore::load`] reads one object, [`PrivateStore::save`]
/// writes it back whole.
pub struct PrivateStore {
    backend: Backend,
}

impl PrivateStore {
    /// A store in a directory (the `filesystem` backend).
    pub fn directory(path: impl Into<PathBuf>) -> PrivateStore {
        PrivateStore {
            backend: Backend::Dir(path.into()),
        }
    }

    /// A store in an S3-compatible bucket, path-style.
    pub fn s3(config: &S3Config) -> Result<PrivateStore, Error> {
        Ok(PrivateStore {
            backend: Backend::S3(Box::new(S3Backend::new(config)?)),
        })
    }

    /// Configured from the process environment (see [`PrivateStore::from_lookup`]).
    pub fn from_env() -> Result<PrivateStore, Error> {
        PrivateStore::from_lookup(|k| std::env::var(k).ok())
    }

    /// Configured from `STORAGE_BACKEND` (`filesystem` with `CFP_PRIVATE_STORAGE_PATH`, or `s3`
    /// with `S3_ENDPOINT`, `S3_BUCKET`, `S3_ACCESS_KEY_ID`, `S3_SECRET_ACCESS_KEY`, `S3_REGION`),
    /// looked up through `var`. Any other backend value, or a missing variable, is an error.
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<PrivateStore, Error> {
        let get = |name: &'static str, backend: &str| {
            var(name).filter(|v| !v.is_empty()).ok_or_else(|| {
                Error::Config(format!("{name} must be set when STORAGE_BACKEND={backend}"))
            })
        };
        match var("STORAGE_BACKEND").as_deref() {
            Some("filesystem") => Ok(PrivateStore::directory(get(
                "CFP_PRIVATE_STORAGE_PATH",
                "filesystem",
            )?)),
            Some("s3") => PrivateStore::s3(&S3Config {
                endpoint: get("S3_ENDPOINT", "s3")?,
                bucket: get("S3_BUCKET", "s3")?,
                access_key_id: get("S3_ACCESS_KEY_ID", "s3")?,
                secret_access_key: get("S3_SECRET_ACCESS_KEY", "s3")?,
                region: get("S3_REGION", "s3")?,
            }),
            None | Some("") => Err(Error::Config(
                "STORAGE_BACKEND must be set to `filesystem` or `s3`".into(),
            )),
            Some(other) => Err(Error::Config(format!(
                "unknown STORAGE_BACKEND {other:?} (expected `filesystem` or `s3`)"
            ))),
        }
    }

    /// Where an object lives, for messages: a path, or `s3 <endpoint>/<bucket>/<key>`.
    pub fn location(&self, key: &str) -> String {
        self.backend.location(key)
    }

    /// Reads and validates all records of `R::FILE`. An absent object is an empty table.
    pub fn load<R: Record>(&self) -> Result<Table<R>, Error> {
        let (bytes, version) = self.backend.read(R::FILE)?;
        Table::parse(self.location(R::FILE), bytes.as_deref(), version)
    }

    /// Writes the whole table back in one atomic write, only if the object is unchanged since it
    /// was loaded (or last saved); otherwise [`Error::Conflict`] and nothing is written.
    pub fn save<R: Record>(&self, table: &mut Table<R>) -> Result<(), Error> {
        table.version = self
            .backend
            .write(R::FILE, &table.to_bytes(), &table.version)?;
        Ok(())
    }

    /// Whether this store is an S3 bucket (which keeps object versions) rather than a directory.
    pub fn is_s3(&self) -> bool {
        matches!(self.backend, Backend::S3(_))
    }

    /// The bucket's versioning status (`Enabled`, `Suspended`, or empty when it was never
    /// enabled); `None` for a directory store.
    pub fn versioning_status(&self) -> Result<Option<String>, Error> {
        match &self.backend {
            Backend::S3(s3) => s3.versioning().map(Some),
            Backend::Dir(_) => Ok(None),
        }
    }

    /// Every version (and delete marker) of `key`, newest first; `None` for a directory store.
    pub fn versions(&self, key: &str) -> Result<Option<Vec<ObjectVersion>>, Error> {
        match &self.backend {
            Backend::S3(s3) => s3.versions(key).map(Some),
            Backend::Dir(_) => Ok(None),
        }
    }

    /// The bytes of one version of `key` (S3 only; a directory store has no versions).
    pub fn read_version(&self, key: &str, version_id: &str) -> Result<Vec<u8>, Error> {
        match &self.backend {
            Backend::S3(s3) => s3.get_version(key, version_id),
            Backend::Dir(_) => Err(Error::Config(format!(
                "{}: a directory store keeps no versions",
                self.location(key)
            ))),
        }
    }

    /// The raw bytes of any object (e.g. `password-tokens.jsonl`), `None` when absent. Our tools
    /// never write the objects they do not own.
    pub fn read_raw(&self, key: &str) -> Result<Option<Vec<u8>>, Error> {
        Ok(self.backend.read(key)?.0)
    }
}
