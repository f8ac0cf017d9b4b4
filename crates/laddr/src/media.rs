//! The media fetch: laddr media bytes into a [`MediaDir`], one [`MediaLine`] per medium.
//!
//! laddr's `/media/<id>[/<variant>]` answers ANY `If-None-Match` or `If-Modified-Since` with a
//! blind 304 and `Accept: application/json` with the Media record as JSON (`reference/A` §3),
//! so every request here is unconditional and sends no JSON `Accept`; a 304 or a JSON body is
//! a failure, never a cue to keep something. Media are immutable by ID: an ID already in the
//! directory is not fetched again. Retries follow the pager's [`RetryPolicy`]; a body over the
//! size cap is refused without being stored.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lines::{MediaFailure, MediaLine, MediaMeta};
use media::MediaDir;
use serde::Serialize;

use crate::client::{FetchError, Options, write_atomic};
use crate::retry::{RetryPolicy, retry_after};

/// The default size cap: 20 MB.
pub const DEFAULT_MAX_BYTES: u64 = 20 * 1024 * 1024;

/// How to fetch media.
#[derive(Debug, Clone)]
pub struct MediaOptions {
    /// The source's base URL; media come from `<base>/media/<id>/original`.
    pub base_url: String,
    /// Parallel requests.
    pub concurrency: usize,
    /// Per-request timeout (connect to last body byte).
    pub timeout: Duration,
    /// The pager's retry policy.
    pub retry: RetryPolicy,
    /// User-Agent header.
    pub user_agent: String,
    /// The largest body stored.
    pub max_bytes: u64,
    /// Read only the media directory, never the network.
    pub offline: bool,
    /// Where a run records its failure lines (`<cache-dir>/media-failures.ndjson`), so an
    /// offline replay repeats them byte for byte instead of saying `not in cache`.
    pub failures: Option<PathBuf>,
}

impl MediaOptions {
    /// The media options of a page client's options (same source, timeout, retries, agent).
    pub fn of(opts: &Options, concurrency: usize, max_bytes: u64) -> MediaOptions {
        MediaOptions {
            base_url: opts.base_url.trim_end_matches('/').to_owned(),
            concurrency,
            timeout: opts.timeout,
            retry: opts.retry_policy(),
            user_agent: opts.user_agent.clone(),
            max_bytes,
            offline: opts.offline,
            failures: opts
                .cache_dir
                .as_ref()
                .map(|c| c.join("media-failures.ndjson")),
        }
    }
}

/// One medium that could not be stored, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedMedia {
    /// laddr's media ID.
    pub id: u64,
    /// The URL tried.
    pub url: String,
    /// Why it failed.
    pub reason: String,
    /// Bytes received (or announced, for a body over the cap) before giving up.
    pub bytes: u64,
}

/// The `media` object of the `--json` report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaReport {
    /// Media the rows reference.
    pub referenced: u64,
    /// Media downloaded and stored this run.
    pub fetched: u64,
    /// Media already in the directory (not requested).
    pub already_present: u64,
    /// Media not stored, by ID.
    pub failed: Vec<FailedMedia>,
    /// HTTP requests made, retries included.
    pub requests: u64,
    /// Requests retried.
    pub retries: u64,
    /// Bytes stored this run.
    pub bytes_fetched: u64,
    /// How long the media took.
    pub duration_ms: u64,
}

/// Progress callback: media done so far, media referenced.
pub type MediaProgress = dyn Fn(u64, u64) + Send + Sync;

/// What became of one medium.
enum Outcome {
    Present(MediaMeta),
    Fetched(MediaMeta),
    Failed { reason: String, bytes: u64 },
}

/// Why one attempt did not give bytes.
enum AttemptError {
    /// Worth another attempt under the retry policy.
    Retry {
        reason: String,
        retry_after: Option<Duration>,
    },
    /// Final for this medium.
    Fail { reason: String, bytes: u64 },
}

#[derive(Default)]
struct Counters {
    requests: AtomicU64,
    retries: AtomicU64,
    done: AtomicU64,
}

/// Fetches media into one directory.
pub struct MediaFetcher {
    opts: MediaOptions,
    agent: Option<ureq::Agent>,
    dir: MediaDir,
    /// Offline: the failures the online run recorded, by ID.
    recorded: BTreeMap<u64, String>,
}

impl MediaFetcher {
    /// A fetcher for these options into `dir`.
    pub fn new(opts: MediaOptions, dir: MediaDir) -> Result<MediaFetcher, FetchError> {
        if opts.concurrency == 0 {
            return Err(FetchError::Options(
                "--media-concurrency must be at least 1".into(),
            ));
        }
        let agent = (!opts.offline).then(|| {
            // No `accept` default and no conditional headers: laddr answers both with
            // something other than the bytes.
            let config = ureq::Agent::config_builder()
                .http_status_as_error(false)
                .timeout_global(Some(opts.timeout))
                .user_agent(opts.user_agent.as_str())
                .max_idle_connections_per_host(opts.concurrency * 2)
                .build();
            ureq::Agent::new_with_config(config)
        });
        let recorded = match (&opts.failures, opts.offline) {
            (Some(path), true) => read_failures(path)?,
            _ => BTreeMap::new(),
        };
        Ok(MediaFetcher {
            opts,
            agent,
            dir,
            recorded,
        })
    }

    /// Online with a failures file: record this run's failure lines there.
    fn record_failures(&self, lines: &[MediaLine]) -> Result<(), FetchError> {
        let (Some(path), false) = (&self.opts.failures, self.opts.offline) else {
            return Ok(());
        };
        let mut out = Vec::new();
        for line in lines.iter().filter(|l| matches!(l, MediaLine::Failed(_))) {
            // Writing into a Vec cannot fail.
            let _ = lines::write_media_line(&mut out, line);
        }
        write_atomic(path, &out)
    }

    /// `<base>/media/<id>/original`-style URL of a media path.
    pub fn url(&self, url_path: &str) -> String {
        format!("{}{url_path}", self.opts.base_url)
    }

    /// Every `(id, url_path)` wanted: the ones already in the directory are taken as they
    /// are, the others fetched by `concurrency` workers. The lines come back by ID ascending.
    pub fn fetch_all(
        &self,
        wanted: &[(u64, String)],
        progress: Option<&MediaProgress>,
    ) -> Result<(Vec<MediaLine>, MediaReport), FetchError> {
        let started = Instant::now();
        let mut wanted: Vec<(u64, String)> = wanted.to_vec();
        wanted.sort_unstable();
        wanted.dedup_by_key(|w| w.0);
        let ctr = Counters::default();
        let total = wanted.len() as u64;
        let workers = self.opts.concurrency.max(1);
        let outcomes = ::cli::par::map(&wanted, workers, |(id, path)| {
            let outcome = self.one(*id, &self.url(path), &ctr);
            let done = ctr.done.fetch_add(1, Ordering::Relaxed) + 1;
            if let Some(p) = progress {
                p(done, total);
            }
            outcome
        });
        let mut report = MediaReport {
            referenced: total,
            requests: ctr.requests.load(Ordering::Relaxed),
            retries: ctr.retries.load(Ordering::Relaxed),
            ..MediaReport::default()
        };
        let lines = wanted
            .iter()
            .zip(outcomes)
            .map(|((id, path), outcome)| line_of(*id, self.url(path), outcome, &mut report))
            .collect::<Vec<_>>();
        self.record_failures(&lines)?;
        report.duration_ms = started.elapsed().as_millis() as u64;
        Ok((lines, report))
    }

    /// One medium: from the directory if it is there, else (online) from the network.
    fn one(&self, id: u64, url: &str, ctr: &Counters) -> Outcome {
        if self.opts.offline {
            return match self.dir.get(id) {
                Ok(Some((meta, _))) => Outcome::Present(meta),
                Ok(None) => Outcome::Failed {
                    reason: self
                        .recorded
                        .get(&id)
                        .cloned()
                        .unwrap_or_else(|| "not in cache".into()),
                    bytes: 0,
                },
                Err(e) => Outcome::Failed {
                    reason: e.to_string(),
                    bytes: 0,
                },
            };
        }
        if self.dir.contains(id)
            && let Ok(Some(meta)) = self.dir.meta(id)
        {
            return Outcome::Present(meta);
        }
        let mut attempt = 0;
        loop {
            attempt += 1;
            ctr.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(url) {
                Ok((content_type, bytes)) => return self.store(id, url, &content_type, &bytes),
                Err(AttemptError::Fail { reason, bytes }) => {
                    return Outcome::Failed { reason, bytes };
                }
                Err(AttemptError::Retry {
                    reason,
                    retry_after,
                }) => {
                    if !self.opts.retry.wait(attempt, retry_after, id) {
                        return Outcome::Failed {
                            reason: format!("{reason} (gave up after {attempt} attempt(s))"),
                            bytes: 0,
                        };
                    }
                    ctr.retries.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn store(&self, id: u64, url: &str, content_type: &str, bytes: &[u8]) -> Outcome {
        let meta = media::meta_for(id, url, content_type, bytes);
        match self.dir.put(&meta, bytes) {
            Ok(()) => Outcome::Fetched(meta),
            Err(e) => Outcome::Failed {
                reason: format!("not stored: {e}"),
                bytes: bytes.len() as u64,
            },
        }
    }

    /// One unconditional GET: the content type and the bytes of a 2xx that is not JSON.
    fn attempt(&self, url: &str) -> Result<(String, Vec<u8>), AttemptError> {
        let Some(agent) = &self.agent else {
            return Err(fail("no HTTP client in offline mode", 0));
        };
        let mut resp = agent.get(url).call().map_err(|e| AttemptError::Retry {
            reason: format!("network error: {e}"),
            retry_after: None,
        })?;
        let status = resp.status().as_u16();
        if RetryPolicy::retryable_status(status) {
            return Err(AttemptError::Retry {
                reason: format!("HTTP {status}"),
                retry_after: retry_after(&resp),
            });
        }
        if status == 304 {
            return Err(fail(
                "HTTP 304 (a conditional answer to an unconditional request)",
                0,
            ));
        }
        if !(200..300).contains(&status) {
            return Err(fail(&format!("HTTP {status}"), 0));
        }
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type =
            header("content-type").unwrap_or_else(|| "application/octet-stream".into());
        let cap = self.opts.max_bytes;
        if let Some(len) = header("content-length").and_then(|l| l.trim().parse::<u64>().ok())
            && len > cap
        {
            return Err(fail(&format!("over the {cap}-byte cap ({len} bytes)"), len));
        }
        let bytes = match resp.body_mut().with_config().limit(cap).read_to_vec() {
            Ok(bytes) => bytes,
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                return Err(fail(&format!("over the {cap}-byte cap"), cap));
            }
            Err(e) => {
                return Err(AttemptError::Retry {
                    reason: format!("reading body: {e}"),
                    retry_after: None,
                });
            }
        };
        if content_type.contains("json") || bytes.starts_with(b"{\"") {
            return Err(fail(
                &format!("JSON instead of bytes (Content-Type {content_type})"),
                bytes.len() as u64,
            ));
        }
        Ok((content_type, bytes))
    }
}

fn fail(reason: &str, bytes: u64) -> AttemptError {
    AttemptError::Fail {
        reason: reason.to_owned(),
        bytes,
    }
}

/// The line of one outcome, counted into `report`.
fn line_of(id: u64, url: String, outcome: Outcome, report: &mut MediaReport) -> MediaLine {
    match outcome {
        Outcome::Present(meta) => {
            report.already_present += 1;
            MediaLine::Stored(meta)
        }
        Outcome::Fetched(meta) => {
            report.fetched += 1;
            report.bytes_fetched += meta.size;
            MediaLine::Stored(meta)
        }
        Outcome::Failed { reason, bytes } => {
            report.failed.push(FailedMedia {
                id,
                url: url.clone(),
                reason: reason.clone(),
                bytes,
            });
            MediaLine::Failed(MediaFailure {
                id,
                url,
                error: reason,
            })
        }
    }
}

/// The failure lines an online run recorded (none when the file is missing).
fn read_failures(path: &std::path::Path) -> Result<BTreeMap<u64, String>, FetchError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(source) => {
            return Err(FetchError::Cache {
                path: path.to_path_buf(),
                source,
            });
        }
    };
    let mut out = BTreeMap::new();
    for line in lines::read_laddr_lines(text.as_bytes()) {
        match line {
            Ok((_, lines::LaddrLine::Media(MediaLine::Failed(f)))) => {
                out.insert(f.id, f.error);
            }
            Ok(_) => {}
            Err(e) => {
                return Err(FetchError::CacheCorrupt {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                });
            }
        }
    }
    Ok(out)
}
