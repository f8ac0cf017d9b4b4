//! The paging client.
//!
//! Resources are fetched side by side ([`Client::fetch_all`]), every request taking one of the
//! `concurrency` slots. Per resource: page 0 gives `total`; the remaining pages are fetched by
//! up to `concurrency` workers; if the last of them is full, a sequential tail reads on until a
//! short page, whose `total` is the one the row count is checked against. Every request is
//! `sort=ID&dir=ASC` with a positive `limit`, so rows inserted during the run land after the
//! pages already read. Each page after the first re-reads the row before it: if that row's ID
//! changed, rows were deleted while paging and positions shifted, so the resource is read again
//! from the start (twice at most, then reported). Rows are deduplicated on `ID` and written in ID order.
//!
//! Failure handling per request: network errors, timeouts, truncated or non-JSON bodies, 5xx,
//! 429 and `success:false` are retried with exponential backoff (or the server's
//! `Retry-After`). A 500 carrying laddr's "Failed to encode json data" error means one row of the
//! page cannot be encoded: the range is bisected until that single row is isolated, and every
//! other row is kept.

use std::collections::BTreeMap;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::value::RawValue;

use crate::gate::Gate;
use crate::report::{LostRow, MalformedRow, ResourceReport};
use crate::retry::{RetryPolicy, retry_after};
use crate::wire::{Envelope, find_pii, minify};
use lines::{End, Resource, write_end, write_line};

/// The largest page body accepted (a 200-row page of 10 kB bios is about 2 MB).
const MAX_BODY: u64 = 512 * 1024 * 1024;

/// How to fetch.
#[derive(Debug, Clone)]
pub struct Options {
    /// `https://codeforphilly.org`, or any base URL such as `http://127.0.0.1:8080`.
    pub base_url: String,
    /// Rows asked for per page (`limit`).
    pub page_size: u64,
    /// Requests in flight at once, across the resources fetched together ([`Client::fetch_all`]).
    pub concurrency: usize,
    /// Minimum gap between two requests of one request slot (see `concurrency`).
    pub delay: Duration,
    /// Whole-request timeout (connect, send, headers and body).
    pub timeout: Duration,
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first retry's backoff; it doubles per retry.
    pub retry_base: Duration,
    /// The longest backoff between retries.
    pub retry_max: Duration,
    /// The `User-Agent` header sent.
    pub user_agent: String,
    /// Keep every raw page here (and replay from it when `offline`).
    pub cache_dir: Option<PathBuf>,
    /// Read pages only from `cache_dir`, never the network.
    pub offline: bool,
    /// Stop each resource after this many rows (lowest IDs); disables the total check.
    pub limit: Option<u64>,
    /// More lost rows than this in one resource is treated as a broken server, not bad rows.
    pub max_bad_rows: usize,
}

impl Options {
    /// The retry policy of `retries`, `retry_base` and `retry_max`.
    pub fn retry_policy(&self) -> RetryPolicy {
        RetryPolicy {
            retries: self.retries,
            base: self.retry_base,
            max: self.retry_max,
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options {
            base_url: "https://codeforphilly.org".to_string(),
            page_size: 200,
            concurrency: 1,
            delay: Duration::from_millis(250),
            timeout: Duration::from_secs(60),
            retries: 5,
            retry_base: Duration::from_millis(500),
            retry_max: Duration::from_secs(30),
            user_agent: concat!("laddr-fetch/", env!("CARGO_PKG_VERSION")).to_string(),
            cache_dir: None,
            offline: false,
            limit: None,
            max_bad_rows: 20,
        }
    }
}

/// A fatal error: the run cannot produce a trustworthy result.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// A page failed on every attempt.
    #[error("GET {url}: {reason} (gave up after {attempts} attempt(s))")]
    Page {
        /// The page's URL.
        url: String,
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        reason: String,
    },
    #[error(
        "PII guard: [{resource}] row ID {id} from {url} carries `{field}`; the request was not anonymous. Nothing was written."
    )]
    /// A row carried a private field: the request was not anonymous.
    Pii {
        /// The resource fetched.
        resource: Resource,
        /// The row's ID.
        id: String,
        /// The private field found.
        field: String,
        /// The page the row came from.
        url: String,
    },
    #[error(
        "[{resource}] {count} rows could not be encoded by the server (limit {limit}); the server looks broken"
    )]
    /// More rows lost in one resource than `max_bad_rows` allows.
    TooManyLost {
        /// The resource fetched.
        resource: Resource,
        /// Rows lost.
        count: usize,
        /// The `max_bad_rows` limit.
        limit: usize,
    },
    #[error(
        "offline: no cached page {path} for {url} (fetch online with the same --cache-dir and --page-size first)"
    )]
    /// An offline run found no cached page for a URL.
    OfflineMissing {
        /// Where the page would be cached.
        path: PathBuf,
        /// The page's URL.
        url: String,
    },
    /// The page cache could not be read or written.
    #[error("cache {path}: {source}")]
    Cache {
        /// The cache file.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// A cached page is not a laddr list response.
    #[error("cached page {path} is not a valid laddr page: {reason}")]
    CacheCorrupt {
        /// The cache file.
        path: PathBuf,
        /// Why it does not parse.
        reason: String,
    },
    /// The options contradict each other or are out of range.
    #[error("invalid options: {0}")]
    Options(String),
    /// Stopped because another resource fetched at the same time failed.
    #[error("[{0}] stopped: another resource failed")]
    Cancelled(Resource),
}

/// One resource's rows (by ID) and report.
#[derive(Debug)]
pub struct Fetched {
    /// The resource fetched.
    pub resource: Resource,
    /// The raw rows, keyed by laddr ID.
    pub rows: BTreeMap<i64, Box<RawValue>>,
    /// What happened while fetching it.
    pub report: ResourceReport,
    /// Fetched with a row limit (`--limit`): deliberately partial, never complete.
    pub limited: bool,
}

impl Fetched {
    /// True when these rows are the whole resource: nothing lost, malformed or shifted, the
    /// count matches the server's total, and no row limit cut it short.
    pub fn complete(&self) -> bool {
        self.report.ok() && !self.limited
    }

    /// The resource's end line values.
    pub fn end(&self) -> End {
        End {
            rows: self.rows.len() as u64,
            total: self.report.total,
            complete: self.complete(),
        }
    }

    /// Write the rows as laddr-fetch NDJSON lines, in ID order, then the end line.
    pub fn write_ndjson(&self, w: &mut impl Write) -> io::Result<()> {
        for row in self.rows.values() {
            write_line(w, self.resource.name(), row)?;
        }
        write_end(w, self.resource.name(), &self.end())
    }
}

/// Progress callback: resource, rows received so far, expected total.
pub type ProgressFn = dyn Fn(Resource, u64, Option<u64>) + Send + Sync;

/// The paging client.
pub struct Client {
    opts: Options,
    agent: Option<ureq::Agent>,
    progress: Option<Box<ProgressFn>>,
    /// The `concurrency` request slots, shared by every resource.
    gate: Gate,
    /// Set when one resource of [`Client::fetch_all`] failed: the others stop asking.
    cancelled: AtomicBool,
}

/// A row as it came off a page.
enum RowIn {
    Keyed(i64, Box<RawValue>),
    Malformed(String),
}

struct PageData {
    total: u64,
    rows: Vec<RowIn>,
}

/// What one attempt produced, before retry policy.
enum AttemptError {
    Network(String),
    Status {
        status: u16,
        detail: String,
        retry_after: Option<Duration>,
    },
    /// laddr's json_encode failure: deterministic, not retried, bisected.
    Unencodable(String),
    Invalid(String),
    Fatal(FetchError),
}

type PageResults = Vec<Option<Result<(RangeOut, bool), FetchError>>>;

/// Fresh attempts at a resource after rows shifted under the pager.
const MAX_RESTARTS: u64 = 2;

/// A range result after bisection.
#[derive(Default)]
struct RangeOut {
    rows: Vec<(u64, RowIn, String)>,
    lost: Vec<(u64, String, String)>,
    total: Option<u64>,
    /// Positions covered: rows received plus rows lost.
    slots: u64,
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    pages: AtomicU64,
    seen: AtomicU64,
    lost: AtomicUsize,
}

impl Client {
    /// A client for these options; refuses options that cannot work.
    pub fn new(opts: Options) -> Result<Client, FetchError> {
        if opts.page_size == 0 {
            return Err(FetchError::Options("--page-size must be positive".into()));
        }
        if opts.concurrency == 0 {
            return Err(FetchError::Options(
                "--concurrency must be at least 1".into(),
            ));
        }
        if opts.offline && opts.cache_dir.is_none() {
            return Err(FetchError::Options("--offline needs --cache-dir".into()));
        }
        let http_url =
            opts.base_url.starts_with("http://") || opts.base_url.starts_with("https://");
        if !opts.offline && !http_url {
            return Err(FetchError::Options(format!(
                "source URL {:?} must start with http:// or https://",
                opts.base_url
            )));
        }
        let agent = (!opts.offline).then(|| {
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(opts.timeout))
                .user_agent(opts.user_agent.as_str())
                .accept("application/json")
                .max_idle_connections_per_host(opts.concurrency.max(1) * 2)
                .build();
            ureq::Agent::new_with_config(config)
        });
        Ok(Client {
            gate: Gate::new(opts.concurrency, Resource::ALL.len(), opts.delay),
            opts,
            agent,
            progress: None,
            cancelled: AtomicBool::new(false),
        })
    }

    /// Report progress (rows so far against the expected total) as pages arrive.
    pub fn with_progress(mut self, f: Box<ProgressFn>) -> Client {
        self.progress = Some(f);
        self
    }

    /// The options the client runs with.
    pub fn options(&self) -> &Options {
        &self.opts
    }

    fn base(&self) -> &str {
        self.opts.base_url.trim_end_matches('/')
    }

    /// The exact URL of one page.
    pub fn page_url(&self, r: Resource, offset: u64, limit: u64) -> String {
        let include = r
            .include()
            .map(|i| format!("&include={i}"))
            .unwrap_or_default();
        format!(
            "{}{}?format=json{include}&limit={limit}&offset={offset}&sort=ID&dir=ASC",
            self.base(),
            r.path()
        )
    }

    fn totals_url(&self, r: Resource) -> String {
        format!(
            "{}{}?format=json&limit=1&offset=0&sort=ID&dir=ASC",
            self.base(),
            r.path()
        )
    }

    fn cache_path(&self, r: Resource, name: &str) -> Option<PathBuf> {
        self.opts
            .cache_dir
            .as_ref()
            .map(|d| d.join(r.name()).join(name))
    }

    /// The server's `total` for a resource (one `limit=1` request, no includes).
    pub fn total(&self, r: Resource) -> Result<u64, FetchError> {
        let url = self.totals_url(r);
        let ctr = Counters::default();
        let cache = self.cache_path(r, "totals.json");
        match self.get_page(r, &url, cache, &ctr, 0) {
            Ok(p) => Ok(p.total),
            Err(AttemptError::Fatal(e)) => Err(e),
            Err(other) => Err(FetchError::Page {
                url,
                attempts: 1,
                reason: describe(&other),
            }),
        }
    }

    /// Fetch every row of one resource.
    pub fn fetch(&self, r: Resource) -> Result<Fetched, FetchError> {
        let started = Instant::now();
        let ctr = Counters::default();
        let mut restarts = 0;
        loop {
            ctr.lost.store(0, Ordering::SeqCst);
            ctr.seen.store(0, Ordering::SeqCst);
            let acc = self.fetch_once(r, &ctr)?;
            if acc.shifted.is_some() && restarts < MAX_RESTARTS {
                // Rows were deleted while paging: positions moved under us. Start over.
                restarts += 1;
                continue;
            }
            let mut f = self.finish(r, acc, &ctr, started);
            f.report.restarts = restarts;
            return Ok(f);
        }
    }

    /// Fetch `resources` side by side, sharing the `concurrency` request slots (a free slot
    /// goes to the earliest resource in the list's order), and hand each to `done` in the
    /// list's order as soon as it and those before it are in. The first failure stops the
    /// others at their next request and is the error returned; `done` sees nothing after it.
    pub fn fetch_all(
        &self,
        resources: &[Resource],
        mut done: impl FnMut(&Fetched),
    ) -> Result<Vec<Fetched>, FetchError> {
        thread::scope(|s| {
            let (tx, rx) = mpsc::channel();
            for (i, r) in resources.iter().enumerate() {
                let tx = tx.clone();
                s.spawn(move || {
                    // The receiver outlives every sender in this scope.
                    let _ = tx.send((i, self.fetch(*r)));
                });
            }
            drop(tx);
            let mut ready = BTreeMap::new();
            let mut out = Vec::with_capacity(resources.len());
            let mut failed = None;
            for (i, result) in rx {
                match result {
                    Ok(f) => {
                        ready.insert(i, f);
                    }
                    Err(e) if failed.is_none() => {
                        self.cancelled.store(true, Ordering::SeqCst);
                        failed = Some(e);
                    }
                    Err(_) => {}
                }
                while let Some(f) = ready.remove(&out.len()) {
                    if failed.is_none() {
                        done(&f);
                    }
                    out.push(f);
                }
            }
            match failed {
                Some(e) => Err(e),
                None => Ok(out),
            }
        })
    }

    /// Page `i` of a resource: page 0 is `[0, ps)`; later pages also re-read the row before
    /// them (`[i*ps-1, ps+1)`) so a shift (rows deleted while paging) shows up as a changed ID.
    fn page_range(i: u64, ps: u64) -> (u64, u64) {
        if i == 0 {
            (0, ps)
        } else {
            (i * ps - 1, ps + 1)
        }
    }

    fn fetch_page(
        &self,
        r: Resource,
        i: u64,
        ps: u64,
        ctr: &Counters,
    ) -> Result<(RangeOut, bool), FetchError> {
        let (offset, limit) = Client::page_range(i, ps);
        let out = self.fetch_range(r, offset, limit, ctr)?;
        let full = out.slots == limit;
        Ok((out, full))
    }

    fn fetch_once(&self, r: Resource, ctr: &Counters) -> Result<Acc, FetchError> {
        let ps = match self.opts.limit {
            Some(n) => self.opts.page_size.min(n.max(1)),
            None => self.opts.page_size,
        };
        let mut acc = Acc::default();

        let (first, mut full) = self.fetch_page(r, 0, ps, ctr)?;
        let t0 = first.total;
        acc.add(first, 0);
        self.report_progress(r, ctr, t0);

        if let Some(n) = self.opts.limit {
            let mut i = 1;
            while (acc.rows.len() as u64) < n && full {
                let (next, f) = self.fetch_page(r, i, ps, ctr)?;
                full = f;
                acc.add(next, i);
                self.report_progress(r, ctr, t0);
                i += 1;
            }
            while acc.rows.len() as u64 > n {
                acc.rows.pop_last();
            }
        } else if full {
            // Pages 1..n from page 0's total go out in parallel; only if the last of them is
            // full (rows were added meanwhile, or total is a multiple of the page size) does a
            // sequential tail read on to the first short page.
            let n_pages = t0.unwrap_or(0).div_ceil(ps).max(1);
            let mut i = 1;
            let mut tail = true;
            if n_pages >= 2 {
                let outs = self.fetch_pages_parallel(r, 1..n_pages, ps, t0, ctr)?;
                tail = outs.last().is_none_or(|(_, full)| *full);
                for (page, (out, _)) in (1..).zip(outs) {
                    acc.add(out, page);
                }
                i = n_pages;
            }
            while tail {
                let (next, f) = self.fetch_page(r, i, ps, ctr)?;
                tail = f;
                acc.add(next, i);
                self.report_progress(r, ctr, t0);
                i += 1;
            }
        }
        Ok(acc)
    }

    fn report_progress(&self, r: Resource, ctr: &Counters, total: Option<u64>) {
        if let Some(p) = &self.progress {
            p(r, ctr.seen.load(Ordering::Relaxed), total);
        }
    }

    fn fetch_pages_parallel(
        &self,
        r: Resource,
        pages: std::ops::Range<u64>,
        ps: u64,
        t0: Option<u64>,
        ctr: &Counters,
    ) -> Result<Vec<(RangeOut, bool)>, FetchError> {
        let pages: Vec<u64> = pages.collect();
        let next = AtomicUsize::new(0);
        let abort = AtomicBool::new(false);
        let results: Mutex<PageResults> = Mutex::new((0..pages.len()).map(|_| None).collect());
        let workers = self.opts.concurrency.min(pages.len()).max(1);
        thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        if i >= pages.len() || abort.load(Ordering::SeqCst) {
                            break;
                        }
                        let res = self.fetch_page(r, pages[i], ps, ctr);
                        if res.is_err() {
                            abort.store(true, Ordering::SeqCst);
                        }
                        self.report_progress(r, ctr, t0);
                        if let Ok(mut slots) = results.lock() {
                            slots[i] = Some(res);
                        }
                    }
                });
            }
        });
        let results = results.into_inner().unwrap_or_default();
        let mut out = Vec::with_capacity(results.len());
        // Report the first failure in page order; pages skipped after an abort are None.
        for res in results.into_iter().flatten() {
            out.push(res?);
        }
        if out.len() != pages.len() {
            return Err(FetchError::Options(
                "internal: a page worker stopped early".into(),
            ));
        }
        Ok(out)
    }

    /// Fetch `[offset, offset+limit)`, bisecting around rows the server cannot encode.
    fn fetch_range(
        &self,
        r: Resource,
        offset: u64,
        limit: u64,
        ctr: &Counters,
    ) -> Result<RangeOut, FetchError> {
        let url = self.page_url(r, offset, limit);
        let cache = self.cache_path(r, &format!("limit-{limit}-offset-{offset}.json"));
        match self.get_page(r, &url, cache, ctr, offset) {
            Ok(page) => {
                ctr.pages.fetch_add(1, Ordering::Relaxed);
                ctr.seen
                    .fetch_add(page.rows.len() as u64, Ordering::Relaxed);
                let slots = page.rows.len() as u64;
                Ok(RangeOut {
                    rows: page
                        .rows
                        .into_iter()
                        .enumerate()
                        .map(|(i, row)| (offset + i as u64, row, url.clone()))
                        .collect(),
                    lost: Vec::new(),
                    total: Some(page.total),
                    slots,
                })
            }
            Err(AttemptError::Unencodable(detail)) => {
                if limit == 1 {
                    let lost = ctr.lost.fetch_add(1, Ordering::SeqCst) + 1;
                    if lost > self.opts.max_bad_rows {
                        return Err(FetchError::TooManyLost {
                            resource: r,
                            count: lost,
                            limit: self.opts.max_bad_rows,
                        });
                    }
                    return Ok(RangeOut {
                        lost: vec![(offset, url, detail)],
                        slots: 1,
                        ..RangeOut::default()
                    });
                }
                let half = limit / 2;
                let mut a = self.fetch_range(r, offset, half, ctr)?;
                if a.slots < half {
                    return Ok(a);
                }
                let b = self.fetch_range(r, offset + half, limit - half, ctr)?;
                a.rows.extend(b.rows);
                a.lost.extend(b.lost);
                a.slots += b.slots;
                a.total = b.total.or(a.total);
                Ok(a)
            }
            Err(AttemptError::Fatal(e)) => Err(e),
            Err(other) => Err(FetchError::Page {
                url,
                attempts: 1,
                reason: describe(&other),
            }),
        }
    }

    /// One page with the retry policy, cache and offline replay applied.
    fn get_page(
        &self,
        r: Resource,
        url: &str,
        cache: Option<PathBuf>,
        ctr: &Counters,
        offset: u64,
    ) -> Result<PageData, AttemptError> {
        if self.opts.offline {
            ctr.requests.fetch_add(1, Ordering::Relaxed);
            return self.replay(r, url, cache);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            let slot = self.gate.enter(rank(r));
            // Checked once the slot is ours: a request that queued before another resource
            // failed does not go out after it.
            if self.cancelled.load(Ordering::SeqCst) {
                return Err(AttemptError::Fatal(FetchError::Cancelled(r)));
            }
            ctr.requests.fetch_add(1, Ordering::Relaxed);
            let body = self.attempt(url);
            drop(slot);
            let result = body.and_then(|body| {
                let page = parse_page(r, url, &body)?;
                Ok((page, body))
            });
            let err = match result {
                Ok((page, body)) => {
                    if let Some(path) = &cache {
                        // A reused cache dir must not replay an older run's verdict.
                        let _ = fs::remove_file(path.with_extension("unencodable"));
                        write_atomic(path, body.as_bytes()).map_err(AttemptError::Fatal)?;
                    }
                    return Ok(page);
                }
                Err(AttemptError::Unencodable(detail)) => {
                    if let Some(path) = &cache {
                        let _ = fs::remove_file(path);
                        write_atomic(&path.with_extension("unencodable"), detail.as_bytes())
                            .map_err(AttemptError::Fatal)?;
                    }
                    return Err(AttemptError::Unencodable(detail));
                }
                Err(AttemptError::Fatal(e)) => return Err(AttemptError::Fatal(e)),
                Err(e) => e,
            };
            let (retryable, retry_after) = match &err {
                AttemptError::Status {
                    status,
                    retry_after,
                    ..
                } => (RetryPolicy::retryable_status(*status), *retry_after),
                _ => (true, None),
            };
            if !retryable || !self.opts.retry_policy().wait(attempt, retry_after, offset) {
                return Err(AttemptError::Fatal(FetchError::Page {
                    url: url.to_string(),
                    attempts: attempt,
                    reason: describe(&err),
                }));
            }
            ctr.retries.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn replay(
        &self,
        r: Resource,
        url: &str,
        cache: Option<PathBuf>,
    ) -> Result<PageData, AttemptError> {
        let Some(path) = cache else {
            return Err(AttemptError::Fatal(FetchError::Options(
                "--offline needs --cache-dir".into(),
            )));
        };
        let bad = path.with_extension("unencodable");
        if bad.exists() {
            let detail = fs::read_to_string(&bad).map_err(|e| {
                AttemptError::Fatal(FetchError::Cache {
                    path: bad.clone(),
                    source: e,
                })
            })?;
            return Err(AttemptError::Unencodable(detail));
        }
        let body = match fs::read_to_string(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                return Err(AttemptError::Fatal(FetchError::OfflineMissing {
                    path,
                    url: url.to_string(),
                }));
            }
            Err(e) => return Err(AttemptError::Fatal(FetchError::Cache { path, source: e })),
        };
        parse_page(r, url, &body).map_err(|e| match e {
            AttemptError::Fatal(f) => AttemptError::Fatal(f),
            other => AttemptError::Fatal(FetchError::CacheCorrupt {
                path,
                reason: describe(&other),
            }),
        })
    }

    fn attempt(&self, url: &str) -> Result<String, AttemptError> {
        let Some(agent) = &self.agent else {
            return Err(AttemptError::Fatal(FetchError::Options(
                "no HTTP client in offline mode".into(),
            )));
        };
        let mut resp = agent
            .get(url)
            .header("Accept", "application/json")
            .call()
            .map_err(|e| AttemptError::Network(e.to_string()))?;
        let status = resp.status().as_u16();
        let retry_after = retry_after(&resp);
        let bytes = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| AttemptError::Network(format!("reading body: {e}")))?;
        let body = String::from_utf8(bytes)
            .map_err(|_| AttemptError::Invalid("body is not valid UTF-8".into()))?;
        if (200..300).contains(&status) {
            return Ok(body);
        }
        if status == 500 && is_encode_failure(&body) {
            return Err(AttemptError::Unencodable(format!(
                "HTTP 500: {}",
                snippet(&body)
            )));
        }
        Err(AttemptError::Status {
            status,
            detail: snippet(&body),
            retry_after,
        })
    }

    fn finish(&self, r: Resource, acc: Acc, ctr: &Counters, started: Instant) -> Fetched {
        let mut report = ResourceReport {
            resource: r.name().to_string(),
            pages: ctr.pages.load(Ordering::Relaxed),
            requests: ctr.requests.load(Ordering::Relaxed),
            rows: acc.rows.len() as u64,
            total: acc.last_total,
            retries: ctr.retries.load(Ordering::Relaxed),
            duplicates: acc.duplicates,
            malformed: acc.malformed,
            ..ResourceReport::default()
        };
        for (pos, (url, error)) in acc.lost {
            report.lost.push(LostRow {
                position: pos,
                url,
                prev_id: acc.positions.range(..pos).next_back().map(|(_, id)| *id),
                next_id: acc.positions.range(pos + 1..).next().map(|(_, id)| *id),
                error,
            });
        }
        if self.opts.limit.is_none() {
            let accounted = report.rows + report.lost.len() as u64 + report.malformed.len() as u64;
            match acc.last_total {
                Some(t) if t == accounted => {}
                Some(t) => {
                    report.total_mismatch = Some(format!(
                        "received {} rows ({} lost, {} malformed) but the server's total is {t}",
                        report.rows,
                        report.lost.len(),
                        report.malformed.len()
                    ))
                }
                None => {
                    report.total_mismatch = Some("the server never reported a total".to_string())
                }
            }
        }
        if let Some((pos, before, after)) = acc.shifted {
            report.shifted = Some(format!(
                "rows shifted while paging (deleted during the run?): position {pos} held ID {before}, then ID {after}; {MAX_RESTARTS} fresh attempts did not give a stable read"
            ));
        }
        report.duration_ms = started.elapsed().as_millis() as u64;
        Fetched {
            resource: r,
            rows: acc.rows,
            report,
            limited: self.opts.limit.is_some(),
        }
    }
}

#[derive(Default)]
struct Acc {
    rows: BTreeMap<i64, Box<RawValue>>,
    positions: BTreeMap<u64, i64>,
    lost: BTreeMap<u64, (String, String)>,
    malformed: Vec<MalformedRow>,
    duplicates: u64,
    last_total: Option<u64>,
    /// The first position whose row changed between two page reads, with both IDs.
    shifted: Option<(u64, i64, i64)>,
}

impl Acc {
    fn add(&mut self, out: RangeOut, page: u64) {
        if page > 0 && out.slots == 0 && self.shifted.is_none() {
            // Even the re-read row before this page is gone: rows were deleted.
            let pos = self.positions.keys().next_back().copied().unwrap_or(0);
            let id = self.positions.get(&pos).copied().unwrap_or(0);
            self.shifted = Some((pos, id, id));
        }
        for (pos, row, url) in out.rows {
            match row {
                RowIn::Keyed(id, raw) => {
                    match self.positions.get(&pos) {
                        // The overlap row, re-read as expected.
                        Some(prev) if *prev == id => continue,
                        Some(prev) => {
                            if self.shifted.is_none() {
                                self.shifted = Some((pos, *prev, id));
                            }
                        }
                        None => {
                            self.positions.insert(pos, id);
                        }
                    }
                    match self.rows.entry(id) {
                        std::collections::btree_map::Entry::Occupied(_) => self.duplicates += 1,
                        std::collections::btree_map::Entry::Vacant(v) => {
                            v.insert(raw);
                        }
                    }
                }
                RowIn::Malformed(excerpt) => {
                    if !self.malformed.iter().any(|m| m.position == pos) {
                        self.malformed.push(MalformedRow {
                            position: pos,
                            url,
                            excerpt,
                        });
                    }
                }
            }
        }
        for (pos, url, err) in out.lost {
            self.lost.entry(pos).or_insert((url, err));
        }
        if out.total.is_some() {
            self.last_total = out.total;
        }
    }
}

fn parse_page(r: Resource, url: &str, body: &str) -> Result<PageData, AttemptError> {
    let env: Envelope = serde_json::from_str(body).map_err(|e| {
        AttemptError::Invalid(format!("response is not JSON ({e}): {}", snippet(body)))
    })?;
    if env.success != Some(true) {
        return Err(AttemptError::Invalid(format!(
            "success:false: {}",
            env.message.as_deref().unwrap_or("(no message)")
        )));
    }
    let total = env.total().ok_or_else(|| {
        AttemptError::Invalid("envelope has no non-negative integer total".into())
    })?;
    let data = env
        .data
        .ok_or_else(|| AttemptError::Invalid("envelope has no data array".into()))?;
    let mut rows = Vec::with_capacity(data.len());
    let mut last_id: Option<i64> = None;
    for raw in data {
        let value: serde_json::Value = serde_json::from_str(raw.get())
            .map_err(|e| AttemptError::Invalid(format!("row is not JSON: {e}")))?;
        if let Some(field) = find_pii(&value) {
            return Err(AttemptError::Fatal(FetchError::Pii {
                resource: r,
                id: value
                    .get("ID")
                    .map(|v| v.to_string())
                    .unwrap_or_else(|| "?".into()),
                field,
                url: url.to_string(),
            }));
        }
        let text = raw.get();
        let boxed = if text.contains(['\n', '\r']) {
            RawValue::from_string(minify(text))
        } else {
            RawValue::from_string(text.to_string())
        }
        .map_err(|e| AttemptError::Invalid(format!("row is not JSON: {e}")))?;
        match value.get("ID").and_then(serde_json::Value::as_i64) {
            Some(id) => {
                // Stable paging rests on the server honouring sort=ID&dir=ASC; check it.
                if let Some(prev) = last_id.filter(|prev| *prev >= id) {
                    return Err(AttemptError::Fatal(FetchError::Page {
                        url: url.to_string(),
                        attempts: 1,
                        reason: format!(
                            "rows are not in ascending ID order (ID {prev} before ID {id}); the server ignored sort=ID&dir=ASC, so paging would not be stable"
                        ),
                    }));
                }
                last_id = Some(id);
                rows.push(RowIn::Keyed(id, boxed))
            }
            None => rows.push(RowIn::Malformed(text.chars().take(200).collect())),
        }
    }
    Ok(PageData { total, rows })
}

/// A resource's place in foreign-key order: its priority for request slots.
fn rank(r: Resource) -> usize {
    Resource::ALL.iter().position(|x| *x == r).unwrap_or(0)
}

/// laddr's encode failure (`reference/A` §1): "Failed to encode json data, json_last_error=5".
fn is_encode_failure(body: &str) -> bool {
    body.contains("json_last_error") || body.contains("Failed to encode json")
}

fn describe(e: &AttemptError) -> String {
    match e {
        AttemptError::Network(d) => format!("network error: {d}"),
        AttemptError::Status { status, detail, .. } => format!("HTTP {status}: {detail}"),
        AttemptError::Unencodable(d) => format!("server could not encode the page: {d}"),
        AttemptError::Invalid(d) => d.clone(),
        AttemptError::Fatal(f) => f.to_string(),
    }
}

/// The first 200 characters of a body, on one line.
fn snippet(body: &str) -> String {
    let s: String = body
        .chars()
        .take(200)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if body.chars().count() > 200 {
        format!("{s}…")
    } else {
        s
    }
}

/// Write a cache file atomically (temp file, fsync, rename).
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), FetchError> {
    let err = |e| FetchError::Cache {
        path: path.to_path_buf(),
        source: e,
    };
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(err)?;
    }
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    {
        let mut f = fs::File::create(&tmp).map_err(err)?;
        f.write_all(bytes).map_err(err)?;
        f.sync_all().map_err(err)?;
    }
    fs::rename(&tmp, path).map_err(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn page_url_matches_reference_shape() {
        let c = Client::new(Options {
            base_url: "http://127.0.0.1:1/".into(),
            ..Options::default()
        })
        .unwrap();
        assert_eq!(
            c.page_url(Resource::Projects, 400, 200),
            "http://127.0.0.1:1/projects?format=json&include=Tags%2CMemberships&limit=200&offset=400&sort=ID&dir=ASC"
        );
        assert_eq!(
            c.page_url(Resource::Blog, 0, 5),
            "http://127.0.0.1:1/blog?format=json&include=*&limit=5&offset=0&sort=ID&dir=ASC"
        );
    }
}
