//! laddr's JSON list API, client side: the resources ([`Resource`]), the envelope
//! ([`wire`]), the laddr-fetch NDJSON line ([`line`]), the robust paging client ([`Client`])
//! and its report ([`report`]).
//!
//! ```no_run
//! use laddr::{Client, Options, Resource};
//! let client = Client::new(Options { base_url: "http://127.0.0.1:8080".into(), ..Options::default() })?;
//! let tags = client.fetch(Resource::Tags)?;
//! tags.write_ndjson(&mut std::io::stdout().lock()).unwrap();
//! assert!(tags.report.ok());
//! # Ok::<(), laddr::FetchError>(())
//! ```

pub mod bench;
pub mod client;
pub mod line;
pub mod report;
pub mod resource;
pub mod wire;

pub use client::{Client, FetchError, Fetched, Options};
pub use line::{End, LINE_VERSION, Line, OwnedLine, write_end, write_line};
pub use report::{LostRow, Report, ResourceReport};
pub use resource::Resource;
