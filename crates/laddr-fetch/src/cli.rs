//! The `laddr-fetch` command line: its flags, its top-level error, and the options, report
//! and resource list they give.

use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use laddr::{FetchError, MediaOptions, Options, Report, Resource};

const AFTER_HELP: &str = "\
Output: one line per row, {\"v\":1,\"resource\":\"<name>\",\"row\":<the row exactly as laddr sent it>},
ordered by resource (tags, people, projects, project-updates, project-buzz, blog) and by ID.
After each resource's rows, one end line:
{\"v\":1,\"resource\":\"<name>\",\"end\":{\"rows\":<rows written>,\"total\":<server total or null>,\"complete\":<bool>}}
complete is true only when the resource came back whole (false when rows were lost, and always
with --limit), so a reader such as sheet-write can refuse to take a partial fetch as a snapshot.
With --totals: {\"v\":1,\"resource\":\"<name>\",\"total\":<n>} per resource.
With --media-dir (or --cache-dir), after the last end line, one line per referenced medium by ID:
{\"v\":1,\"media\":{\"id\":<n>,\"url\":<fetched from>,\"contentType\":…,\"size\":<n>,\"sha256\":…}} or
{\"v\":1,\"media\":{\"id\":<n>,\"url\":…,\"error\":<why nothing was stored>}}

Exit codes: 0 every resource complete; 1 ran, but rows were lost (a page laddr could not encode),
malformed, or did not add up to the server's total, or a medium failed; 2 usage or fatal error (nothing is written).

Examples:
  laddr-fetch > laddr.ndjson
  laddr-fetch --concurrency 4 --cache-dir cache/t-1 --json=fetch-report.json > t-1.ndjson
  laddr-fetch --offline --cache-dir cache/t-1 > t-1-replay.ndjson
  laddr-fetch --totals
  laddr-fetch --source-url http://127.0.0.1:8080 --resources tags,people --limit 50 | head";

/// Fetch laddr's public JSON list endpoints as NDJSON, exactly once per row.
#[derive(Debug, Parser)]
#[command(name = "laddr-fetch", version = ::cli::VERSION, about, after_help = AFTER_HELP)]
pub struct Cli {
    /// laddr host, fetched over https.
    #[arg(long, default_value = "codeforphilly.org")]
    pub source_host: String,
    /// Any base URL instead of https://<source-host> (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    pub source_url: Option<String>,
    /// Comma-separated resources to fetch (default: all six).
    #[arg(long, value_delimiter = ',')]
    pub resources: Vec<Resource>,
    /// Rows per page (laddr has no maximum; keep it modest).
    #[arg(long, default_value_t = 200)]
    pub page_size: u64,
    /// Page requests in flight at once, for the whole run: the resources are fetched side by
    /// side and share them (the earliest resource in foreign-key order first).
    #[arg(long, default_value_t = 1)]
    pub concurrency: usize,
    /// Minimum gap between two requests of one `--concurrency` slot, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub delay_ms: u64,
    /// Per-request timeout (connect to last body byte), in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub timeout_ms: u64,
    /// Retries per request on network errors, timeouts, bad bodies, 5xx, 429 and success:false.
    #[arg(long, default_value_t = 5)]
    pub retries: u32,
    /// First retry backoff in milliseconds (doubles per retry, with jitter).
    #[arg(long, default_value_t = 500)]
    pub retry_base_ms: u64,
    /// Largest backoff in milliseconds (a server's Retry-After is honoured as sent).
    #[arg(long, default_value_t = 30_000)]
    pub retry_max_ms: u64,
    /// User-Agent header.
    #[arg(long, default_value = concat!("laddr-fetch/", env!("CARGO_PKG_VERSION")))]
    pub user_agent: String,
    /// Keep every raw page in DIR (for --offline replay and comparing runs).
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Replay --cache-dir without any network access; output is byte-identical.
    #[arg(long, requires = "cache_dir")]
    pub offline: bool,
    /// Download the media the rows reference (member photos, blog images) into DIR, by media
    /// ID; media already there are not fetched again. Default with --cache-dir: <cache>/media.
    #[arg(long, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// Parallel media requests.
    #[arg(long, default_value_t = 8, value_name = "N")]
    pub media_concurrency: usize,
    /// Ask again for media an earlier run into the same media directory failed on. Without
    /// it, one that failed for good (HTTP 4xx, a JSON answer, over the cap; laddr's media
    /// never change) is not requested again, and one given up after retries gets one attempt,
    /// so a T-0 re-run does not wait on the T-1 run's broken media.
    #[arg(long)]
    pub media_retry_failed: bool,
    /// The largest medium stored, in bytes (a larger one is a failure line).
    #[arg(long, default_value_t = laddr::media::DEFAULT_MAX_BYTES, value_name = "BYTES")]
    pub media_max_bytes: u64,
    /// Print only each resource's total.
    #[arg(long)]
    pub totals: bool,
    /// At most N rows per resource (lowest IDs); skips the total check.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Treat more than N unencodable rows in one resource as a fatal server failure.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub max_bad_rows: usize,
    /// Write a machine report (per resource: pages, rows, total, retries, duration, problems).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short)]
    pub quiet: bool,
}

impl Cli {
    /// The base URL: `--source-url`, else `https://<source-host>`.
    pub fn base_url(&self) -> String {
        self.source_url
            .clone()
            .unwrap_or_else(|| format!("https://{}", self.source_host))
    }

    /// The resources asked for, in fetch order, each once (default: all).
    pub fn resources(&self) -> Vec<Resource> {
        if self.resources.is_empty() {
            return Resource::ALL.to_vec();
        }
        let mut r = self.resources.clone();
        r.sort();
        r.dedup();
        r
    }

    /// Where media go: `--media-dir`, else `<--cache-dir>/media`, else nowhere (no media).
    pub fn media_dir(&self) -> Option<PathBuf> {
        self.media_dir
            .clone()
            .or_else(|| self.cache_dir.as_ref().map(|c| c.join("media")))
    }

    /// The media fetch's options (same source, timeout, retries and User-Agent as the pages).
    pub fn media_options(&self) -> MediaOptions {
        MediaOptions {
            retry_failed: self.media_retry_failed,
            ..MediaOptions::of(
                &self.options(),
                self.media_concurrency,
                self.media_max_bytes,
            )
        }
    }

    /// The client's options.
    pub fn options(&self) -> Options {
        Options {
            base_url: self.base_url(),
            page_size: self.page_size,
            concurrency: self.concurrency,
            delay: Duration::from_millis(self.delay_ms),
            timeout: Duration::from_millis(self.timeout_ms),
            retries: self.retries,
            retry_base: Duration::from_millis(self.retry_base_ms),
            retry_max: Duration::from_millis(self.retry_max_ms),
            user_agent: self.user_agent.clone(),
            cache_dir: self.cache_dir.clone(),
            offline: self.offline,
            limit: self.limit,
            max_bad_rows: self.max_bad_rows,
        }
    }

    /// The report before anything is fetched.
    pub fn new_report(&self) -> Report {
        Report {
            tool: "laddr-fetch".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            source: self.base_url(),
            offline: self.offline,
            ..Report::default()
        }
    }
}

::cli::failure! {
    /// Everything that ends `laddr-fetch` with exit 2 (or, for a closed stdout, a quiet 0).
    pub enum Failure {
        /// The fetch stopped; nothing was written to stdout.
        #[error("{0}")]
        Fetch(#[from] FetchError),
        /// The media directory could not be opened.
        #[error("{0}")]
        Media(#[from] media::MediaError),
    }
}
