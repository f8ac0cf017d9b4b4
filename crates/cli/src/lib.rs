//! `cli`: what every tool binary of the workspace shares, so each `main.rs` only wires.
//!
//! - [`exit`]: the 0/1/2 exit policy and [`exit::finish`], the one place a fatal error is
//!   printed (`tool: error: message`) and a closed stdout becomes a quiet exit 0;
//! - [`output`]: buffered NDJSON on stdout and the `--json=FILE` report writer;
//! - [`repo`]: the `--data-repo` / `CFP_DATA_REPO_PATH` flag and its one missing message;
//! - [`clock`]: the ISO 8601 clock as JavaScript's `toISOString` writes it;
//! - [`duration`]: `250ms`, `2s`, `180d`-style durations;
//! - [`retry_after`]: the HTTP `Retry-After` header, seconds or HTTP-date;
//! - [`version`]: the commit the tools were built from, for `--version`.

#![deny(missing_docs)]

pub mod clock;
pub mod duration;
pub mod exit;
pub mod output;
pub mod par;
pub mod repo;
pub mod retry_after;
pub mod version;

pub use exit::{Exit, Fatal, finish};
pub use output::{Ndjson, OutputError, ReportError, write_page, write_report};
pub use repo::{DATA_BRANCH_ENV, DATA_REPO_ENV, MissingDataRepo, data_repo};
pub use version::VERSION;
