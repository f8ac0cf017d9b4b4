//! Cutover control (`reference/F` §3, DESIGN "Cutover control"): the pre-flight checklist a machine
//! can check, the point-of-no-return watch, and the partial-write rollback.
//!
//! - [`preflight`]: each checklist item a [`check::Check`] with pass/fail and its evidence
//!   ([`dns`] TTLs, the private bucket's versioning, the T-3 dry-run report, [`saml`] metadata and
//!   its certificate, the GitHub OAuth `redirect_uri`, the data repo and the private store).
//! - [`baseline`]: the T-0 tips (`--since`, `--private-baseline`, or a t0-delta report).
//! - [`writes`]: every write since T-0 that is not the importer's or the prune's, from the runtime
//!   branch fetched from its remote ([`remote`]) and the private store's history.
//! - [`watch`] and [`rollback`]: the point of no return, the export and the compare-and-swap reset.

#![deny(missing_docs)]

pub mod baseline;
pub mod check;
pub mod command;
pub mod dns;
pub mod preflight;
pub mod private;
pub mod remote;
pub mod rollback;
pub mod saml;
pub mod watch;
pub mod writes;

/// Errors that stop a command (exit 2). Failed checks are not errors: they are reported.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags that cannot work together or are missing.
    #[error("{0}")]
    Usage(String),
    /// The data repo could not be opened or read.
    #[error(transparent)]
    Repo(#[from] sheets::RepoError),
    /// The private store could not be read.
    #[error(transparent)]
    Store(#[from] private_store::Error),
    /// A file could not be read or written.
    #[error("{path}: {message}")]
    File {
        /// The file.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// The runtime branch could not be fetched from its remote.
    #[error("fetching {branch} from remote {remote}: {message}")]
    Fetch {
        /// The remote.
        remote: String,
        /// The branch.
        branch: String,
        /// What git said.
        message: String,
    },
    /// The repo or the export is not in a state the command can safely act on; nothing changed.
    #[error("{0}")]
    Refused(String),
}

impl cli::Fatal for Error {}

impl Error {
    pub(crate) fn file(path: &std::path::Path, e: impl std::fmt::Display) -> Error {
        Error::File {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }
}

/// Seconds since the epoch as the tools write times (`2026-08-15T12:00:00.000Z`).
pub fn iso(seconds: i64) -> String {
    jiff::Timestamp::from_second(seconds)
        .map(cli::clock::iso)
        .unwrap_or_else(|_| seconds.to_string())
}
