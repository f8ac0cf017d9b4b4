//! The media fetch: laddr media bytes into a [`MediaDir`], one [`MediaLine`] per medium.
//!
//! laddr's `/media/<id>[/<variant>]` answers ANY `If-None-Match` or `If-Modified-Since` with a
//! blind 304 and `Accept: application/json` with the Media record as JSON (`reference/A` §3),
//! so every request here is unconditional and sends no JSON `Accept`; a 304 or a JSON body is
//! a failure, never a cue to keep something. Media are immutable by ID: an ID already in the
//! directory is not fetched again. Retries follow the pager's [`RetryPolicy`]; a body over the
//! size cap is refused without being stored. A failure is recorded in the directory
//! ([`media::FailureRecord`]) so the next run into it (the T-0 delta after the T-1 import)
//! does not pay for it again: a permanent one is not requested, a transient one gets one
//! attempt without retries, unless [`MediaOptions::retry_failed`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use lines::{MediaFailure, MediaLine, MediaMeta};
use media::{FailureRecord, MediaDir};
use serde::Serialize;

use crate::client::{FetchError, Options};
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
    /// Ask again, with the full retry policy, for media an earlier run into the same
    /// directory failed on (by default a permanent failure is not requested again and a
    /// transient one gets a single attempt).
    pub retry_failed: bool,
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
            retry_failed: false,
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
    /// Failed for good in an earlier run into the same directory, so not requested again.
    pub earlier: bool,
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
    /// Of `failed`, those with `earlier`: media an earlier run found permanently broken (an HTTP 4xx, a JSON
    /// answer, a body over the cap), not requested again.
    pub known_failed: u64,
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
    Failed {
        reason: String,
        bytes: u64,
        /// Asking again would give the same answer.
        permanent: bool,
    },
    /// Failed for good in an earlier run; not requested.
    KnownFailed(String),
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
        Ok(MediaFetcher { opts, agent, dir })
    }

    /// The media directory.
    pub fn dir(&self) -> &std::path::Path {
        self.dir.path()
    }

    /// `<base>/media/<id>/original`-style URL of a media path.
    pub fn url(&self, url_path: &str) -> String {
        format!("{}{url_path}", self.opts.base_url)
    }

    /// Every `(id, url_path)` wanted: the ones already in the directory are taken as they
    /// are, the others fetched by `concurrency` workers. The lines come back by ID ascending.
    /// Nothing here is fatal: a medium that cannot be had is a failed line and counted.
    pub fn fetch_all(
        &self,
        wanted: &[(u64, String)],
        progress: Option<&MediaProgress>,
    ) -> (Vec<MediaLine>, MediaReport) {
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
        report.duration_ms = started.elapsed().as_millis() as u64;
        (lines, report)
    }

    /// One medium: from the directory if it is there, else (online) from the network, as
    /// far as an earlier failure recorded in the directory allows.
    fn one(&self, id: u64, url: &str, ctr: &Counters) -> Outcome {
        if self.opts.offline {
            return self.replay(id);
        }
        if let Some(meta) = self.dir.present(id) {
            return Outcome::Present(meta);
        }
        // An unreadable record counts as none: the medium is asked for again.
        let earlier = self.dir.failure(id).ok().flatten();
        let retry = match earlier.filter(|_| !self.opts.retry_failed) {
            Some(f) if f.permanent => return Outcome::KnownFailed(f.error),
            // The run that recorded it retried in full: one more attempt, no more.
            Some(_) => RetryPolicy {
                retries: 0,
                ..self.opts.retry
            },
            None => self.opts.retry,
        };
        let outcome = self.download(id, url, &retry, ctr);
        if let Outcome::Failed {
            reason, permanent, ..
        } = &outcome
        {
            let record = FailureRecord {
                id,
                url: url.to_owned(),
                error: reason.clone(),
                permanent: *permanent,
            };
            // Unrecorded, the medium is only asked for again next time.
            let _ = self.dir.put_failure(&record);
        }
        outcome
    }

    /// Offline: the stored medium, else the failure an online run recorded.
    fn replay(&self, id: u64) -> Outcome {
        let failed = |reason: String| Outcome::Failed {
            reason,
            bytes: 0,
            permanent: false,
        };
        match self.dir.get(id) {
            Ok(Some((meta, _))) => Outcome::Present(meta),
            Ok(None) => match self.dir.failure(id) {
                Ok(Some(f)) => failed(f.error),
                Ok(None) => failed("not in cache".into()),
                Err(e) => failed(e.to_string()),
            },
            Err(e) => failed(e.to_string()),
        }
    }

    /// GET `url` under `retry` and store the bytes.
    fn download(&self, id: u64, url: &str, retry: &RetryPolicy, ctr: &Counters) -> Outcome {
        let mut attempt = 0;
        loop {
            attempt += 1;
            ctr.requests.fetch_add(1, Ordering::Relaxed);
            match self.attempt(url) {
                Ok((content_type, bytes)) => return self.store(id, url, &content_type, &bytes),
                Err(AttemptError::Fail { reason, bytes }) => {
                    return Outcome::Failed {
                        reason,
                        bytes,
                        permanent: true,
                    };
                }
                Err(AttemptError::Retry {
                    reason,
                    retry_after,
                }) => {
                    if !retry.wait(attempt, retry_after, id) {
                        return Outcome::Failed {
                            reason: format!("{reason} (gave up after {attempt} attempt(s))"),
                            bytes: 0,
                            permanent: false,
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
                permanent: false,
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
        Outcome::KnownFailed(reason) => {
            report.known_failed += 1;
            failed_line(id, url, reason, 0, true, report)
        }
        Outcome::Failed { reason, bytes, .. } => failed_line(id, url, reason, bytes, false, report),
    }
}

fn failed_line(
    id: u64,
    url: String,
    reason: String,
    bytes: u64,
    earlier: bool,
    report: &mut MediaReport,
) -> MediaLine {
    report.failed.push(FailedMedia {
        id,
        url: url.clone(),
        reason: reason.clone(),
        bytes,
        earlier,
    });
    MediaLine::Failed(MediaFailure {
        id,
        url,
        error: reason,
    })
}
