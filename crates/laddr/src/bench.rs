//! The fetch benchmark behind `cargo xtask bench`: fetch every resource from a base URL
//! in-process and measure rows per second.

use std::time::{Duration, Instant};

use crate::client::{Client, FetchError, Options};
use lines::Resource;

/// One measured run.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchBench {
    /// Parallel page requests per resource.
    pub concurrency: usize,
    /// Rows fetched.
    pub rows: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
}

impl FetchBench {
    /// Throughput of the run.
    pub fn rows_per_sec(&self) -> f64 {
        self.rows as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Fetch all six resources from `base_url` with `concurrency` workers, no politeness delay,
/// and the default page size; output is discarded. Use a loopback fixture server with page
/// latency (see `fixtures::laddr_server`) to compare sequential and parallel paging.
pub fn fetch_all(base_url: &str, concurrency: usize) -> Result<FetchBench, FetchError> {
    let client = Client::new(Options {
        base_url: base_url.to_string(),
        concurrency,
        delay: Duration::ZERO,
        ..Options::default()
    })?;
    let started = Instant::now();
    let mut rows = 0;
    let mut requests = 0;
    for r in Resource::ALL {
        let f = client.fetch(r)?;
        rows += f.report.rows;
        requests += f.report.requests;
    }
    Ok(FetchBench {
        concurrency,
        rows,
        requests,
        elapsed: started.elapsed(),
    })
}
