//! `mailer`: the cutover's member emails (T-7 announcement, T+90 reminder, T+180 drain notice,
//! rollback apology), sent through the Resend API exactly once per (campaign, person), and
//! their bounces read back.
//!
//! The pieces, each usable alone:
//! - [`campaign`]: the four campaigns as data;
//! - [`select`]: who gets each campaign's mail, with a reason for everyone left out;
//! - [`recipients`]: the NDJSON inputs (recipient lines, the rollback's affected members);
//! - [`content`]: subject, text and HTML from three templates, values HTML-escaped, samples;
//! - [`sentlog`]: the durable, fsync'd, locked sent-log with write-ahead batch intents;
//! - [`client`]: the Resend HTTP client (batch endpoint, `Idempotency-Key`, pacing, backoff);
//! - [`send`]: the send loop tying them together, one result per recipient;
//! - [`bounces`]: delivery status per campaign from `GET /emails/{id}`;
//! - [`cli`] and [`app`]: the command line and the subcommands' phases.
//!
//! Exactly-once, in layers: the sent-log is consulted before every batch (people already mailed
//! are never sent again); each batch is written to the log as an *intent* (its idempotency key
//! and exact body) before it is sent, so a run killed between "Resend accepted it" and "we
//! logged it" replays the very same request with the same key on the next run, which Resend
//! answers from its idempotency store without sending anything.

#![deny(missing_docs)]

pub mod app;
pub mod bounces;
pub mod campaign;
pub mod cli;
pub mod client;
pub mod content;
pub mod recipients;
pub mod report;
pub mod select;
pub mod send;
pub mod sentlog;

/// Errors that stop a run (exit 2). Per-recipient send failures are not errors: they are
/// results.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Flags that cannot work together or are missing.
    #[error("{0}")]
    Usage(String),
    /// The data repo could not be opened or read.
    #[error(transparent)]
    Repo(#[from] sheets::RepoError),
    /// The people sheet could not be read.
    #[error("data repo: {0}")]
    Sheet(String),
    /// A record that cannot be read as a Person.
    #[error("{what}: {message}")]
    BadPerson {
        /// The record (its path).
        what: String,
        /// What is wrong with it.
        message: String,
    },
    /// The private store could not be read.
    #[error("private store: {0}")]
    Store(#[from] private_store::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line of an NDJSON input that cannot be read.
    #[error("{path}:{line}: {message}")]
    BadLine {
        /// The file.
        path: String,
        /// The line number (from 1).
        line: usize,
        /// What is wrong with it.
        message: String,
    },
    /// Another mailer process holds the sent-log.
    #[error(
        "sent-log {path} is locked by another mailer process; wait for it to finish (two senders could mail people twice)"
    )]
    Locked {
        /// The sent-log.
        path: String,
    },
    /// A template that cannot be read or used.
    #[error("template {path}: {message}")]
    Template {
        /// The template file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
    /// stdout failed or was closed.
    #[error(transparent)]
    Output(#[from] ::cli::OutputError),
    /// `--json` could not be written.
    #[error(transparent)]
    Report(#[from] ::cli::ReportError),
    /// Resend refused the API key: nothing more is sent.
    #[error("Resend refused the API key ({status} {name}): {message}; nothing more was sent")]
    Auth {
        /// The HTTP status (401 or 403).
        status: u16,
        /// Resend's error name.
        name: String,
        /// Resend's message.
        message: String,
    },
}

impl Error {
    /// [`Error::Io`] for `path`.
    pub fn io(path: impl std::fmt::Display, source: std::io::Error) -> Error {
        Error::Io {
            path: path.to_string(),
            source,
        }
    }
}

/// ISO 8601 UTC with milliseconds, as the reference writes timestamps (the workspace's clock).
pub use ::cli::clock::iso;

impl ::cli::Fatal for Error {
    fn stdout_closed(&self) -> bool {
        matches!(self, Error::Output(::cli::OutputError::Closed))
    }
}
