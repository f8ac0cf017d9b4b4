//! `reconcile`: the public data repo against the private store.
//!
//! - [`check`]: the T-1 gate and weekly check (`reference/D` §3 plus the categories it misses);
//! - [`import`]: merge the laddr credentials CSV into the store (`reference/D` §4, fixed);
//! - [`drain`]: the T+180 deletion of unclaimed credentials;
//! - [`nameids`]: Slack NameID continuity against laddr usernames;
//! - [`page`]: the check as an HTML page (`--html`).
//!
//! Each works on plain inputs ([`people::Person`] lists and store tables) so the binary only
//! wires the data repo, the store and the output together.

#![deny(missing_docs)]

pub mod check;
pub mod cli;
pub mod csvin;
pub mod drain;
pub mod import;
pub mod nameids;
pub mod page;
pub mod people;

/// Errors that stop a run (exit 2). Messages name the record, file or object involved.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The private store could not be read or written.
    #[error(transparent)]
    Store(#[from] private_store::Error),
    /// The data repo could not be opened or read.
    #[error(transparent)]
    Repo(Box<sheets::RepoError>),
    /// The branch or its people sheet could not be read.
    #[error("{0}")]
    Sheet(String),
    /// A Person record that does not parse.
    #[error("{what}: {message}")]
    BadPerson {
        /// The record's path.
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// The input file is unusable.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// Flags that cannot work together or are missing.
    #[error("{0}")]
    Usage(String),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The underlying error.
        source: std::io::Error,
    },
}

impl From<sheets::people::BadPerson> for Error {
    fn from(b: sheets::people::BadPerson) -> Self {
        Error::BadPerson {
            what: b.what,
            message: b.message,
        }
    }
}

impl From<sheets::people::PeopleError> for Error {
    fn from(e: sheets::people::PeopleError) -> Self {
        use sheets::people::PeopleError as P;
        match e {
            P::Repo(e) => e.into(),
            P::Bad(b) => b.into(),
            unreadable @ P::Unreadable { .. } => Error::Sheet(unreadable.to_string()),
        }
    }
}

impl From<sheets::RepoError> for Error {
    fn from(e: sheets::RepoError) -> Self {
        Error::Repo(Box::new(e))
    }
}

pub use ::cli::clock::{iso, now_iso};

/// 32 CSPRNG bytes, base64url without padding (43 characters): an unsubscribe token.
pub fn new_token() -> Result<String, Error> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| Error::Usage(format!("no system randomness: {e}")))?;
    Ok(base64url(&b))
}

fn base64url(bytes: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, &b)| acc | (u32::from(b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64url_matches_known_vectors() {
        assert_eq!(super::base64url(b"f"), "Zg");
        assert_eq!(super::base64url(b"fo"), "Zm8");
        assert_eq!(super::base64url(b"foo"), "Zm9v");
        assert_eq!(super::base64url(&[0xfb, 0xff]), "-_8");
        let t = super::new_token().unwrap();
        assert!(private_store::validate::is_unsubscribe_token(&t), "{t}");
    }

    #[test]
    fn iso_has_milliseconds() {
        let t: jiff::Timestamp = "2026-08-15T12:00:00Z".parse().unwrap();
        assert_eq!(super::iso(t), "2026-08-15T12:00:00.000Z");
    }
}
