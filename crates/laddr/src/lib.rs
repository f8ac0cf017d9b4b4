//! laddr's JSON list API, client side: the envelope ([`wire`]), the robust paging client
//! ([`Client`]) and its report ([`report`]). The resources and the laddr-fetch NDJSON lines
//! are the `lines` crate's ([`Resource`], [`write_line`], [`End`]), re-exported here.
//!
//! ```no_run
//! use laddr::{Client, Options, Resource};
//! let client = Client::new(Options { base_url: "http://127.0.0.1:8080".into(), ..Options::default() })?;
//! let tags = client.fetch(Resource::Tags)?;
//! tags.write_ndjson(&mut std::io::stdout().lock()).unwrap();
//! assert!(tags.report.ok());
//! # Ok::<(), laddr::FetchError>(())
//! ```

#![deny(missing_docs)]

pub mod bench;
pub mod client;
mod gate;
pub mod media;
pub mod report;
pub mod retry;
pub mod wire;

pub use client::{Client, FetchError, Fetched, Options};
pub use lines::{
    End, LINE_VERSION, Line, OwnedLine, Resource, Totals, write_end, write_line, write_totals,
};
pub use media::{MediaFetcher, MediaOptions, MediaReport};
pub use report::{LostRow, Report, ResourceReport};
