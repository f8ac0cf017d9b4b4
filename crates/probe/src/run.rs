//! `probe run`: issue each spec's GET against the target (redirects never followed), judge it
//! against its expectation, with a per-request timeout, bounded concurrency, pacing under the
//! target's rate limit, `Retry-After` honoured on 429, and a short wait on 503 for warm-up.

use std::collections::{BTreeMap, VecDeque};
use std::io;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use crate::spec::{Counted, Judge, Observed, ProbeSpec, was_counted};

/// Bodies larger than this are cut (SAML metadata and API records are a few KB).
const MAX_BODY: u64 = 4 << 20;

/// How to run probes.
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Base URL of the target, e.g. `https://staging.example.org` (a trailing `/` is ignored).
    pub target: String,
    /// Whole-request timeout per attempt (connect to last body byte).
    pub timeout: Duration,
    /// Probes in flight at once.
    pub concurrency: usize,
    /// At most this many counted requests in any `rate_window` (stay under the target's 60).
    pub rate_limit: u32,
    /// The window `rate_limit` counts in.
    pub rate_window: Duration,
    /// 429s one probe may wait out (honouring `Retry-After`) before it is judged throttled.
    pub max_throttle_retries: u32,
    /// Longest `Retry-After` honoured; a longer one fails the probe rather than stall the run.
    pub max_retry_after: Duration,
    /// How long a warm-up probe (`/api/health/ready`) keeps retrying a 503.
    pub ready_wait: Duration,
    /// Pause between warm-up retries.
    pub ready_interval: Duration,
    /// The `User-Agent` sent.
    pub user_agent: String,
    /// Connect to these addresses for these `host:port`s (curl's `--resolve`), keeping the
    /// URL's host for `Host`, TLS SNI and certificate checks: probing a deployment before
    /// the DNS flip.
    pub resolve: Vec<Pin>,
}

/// One `--resolve HOST:PORT:ADDR` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pin {
    /// The URL's host.
    pub host: String,
    /// The URL's port.
    pub port: u16,
    /// The address to connect to instead.
    pub addr: std::net::IpAddr,
}

impl std::str::FromStr for Pin {
    type Err = String;
    fn from_str(s: &str) -> Result<Pin, String> {
        let bad =
            || format!("{s:?} is not HOST:PORT:ADDR (e.g. codeforphilly.org:443:203.0.113.7)");
        let (host, rest) = s.split_once(':').ok_or_else(bad)?;
        let (port, addr) = rest.split_once(':').ok_or_else(bad)?;
        let addr = addr.trim_start_matches('[').trim_end_matches(']');
        Ok(Pin {
            host: host.to_ascii_lowercase(),
            port: port.parse().map_err(|_| bad())?,
            addr: addr.parse().map_err(|_| bad())?,
        })
    }
}

/// Resolves pinned `host:port`s to their address and everything else through DNS.
#[derive(Debug)]
struct PinnedResolver {
    pins: Vec<Pin>,
    dns: ureq::unversioned::resolver::DefaultResolver,
}

impl ureq::unversioned::resolver::Resolver for PinnedResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let host = uri.host().unwrap_or("").to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(match uri.scheme_str() {
            Some("https") => 443,
            _ => 80,
        });
        if let Some(pin) = self.pins.iter().find(|p| p.host == host && p.port == port) {
            let mut out = self.empty();
            out.push(std::net::SocketAddr::new(pin.addr, port));
            return Ok(out);
        }
        self.dns.resolve(uri, config, timeout)
    }
}

impl RunOptions {
    /// Options for probing `target`, with the defaults.
    pub fn new(target: impl Into<String>) -> RunOptions {
        RunOptions {
            target: target.into(),
            timeout: Duration::from_secs(10),
            concurrency: 4,
            rate_limit: 50,
            rate_window: Duration::from_secs(60),
            max_throttle_retries: 5,
            max_retry_after: Duration::from_secs(120),
            ready_wait: Duration::from_secs(30),
            ready_interval: Duration::from_secs(1),
            user_agent: format!("laddr-cutover-probe/{}", env!("CARGO_PKG_VERSION")),
            resolve: Vec::new(),
        }
    }
}

pub use lines::probe::ProbeResult;

/// Why a run could not start.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The target is not an http(s) base URL.
    #[error("target {0:?} must be an http:// or https:// base URL")]
    BadTarget(String),
    /// A spec's path does not start with `/`.
    #[error("probe {name}: path {path:?} must start with /")]
    BadPath {
        /// The probe.
        name: String,
        /// Its path.
        path: String,
    },
}

/// The end of a run.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// One per spec, in spec order (fewer when the sink stopped the run).
    pub results: Vec<ProbeResult>,
    /// The sink refused a result (e.g. a closed stdout): the run stopped early.
    pub stopped: bool,
}

/// At most `limit` counted request starts in any `window`, shared by all workers, plus a
/// shared pause after a 429.
struct Pacer {
    limit: usize,
    window: Duration,
    starts: Mutex<VecDeque<Instant>>,
    paused_until: Mutex<Option<Instant>>,
}

impl Pacer {
    fn new(limit: u32, window: Duration) -> Pacer {
        Pacer {
            limit: limit.max(1) as usize,
            window,
            starts: Mutex::new(VecDeque::new()),
            paused_until: Mutex::new(None),
        }
    }

    /// Block until a counted request may start, and record it.
    fn acquire(&self) {
        loop {
            let pause = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(until) = pause {
                let now = Instant::now();
                if until > now {
                    thread::sleep(until - now);
                    continue;
                }
            }
            let wait = {
                let mut starts = self.starts.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                while starts
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= self.window)
                {
                    starts.pop_front();
                }
                if starts.len() < self.limit {
                    starts.push_back(now);
                    return;
                }
                match starts.front() {
                    Some(first) => (*first + self.window).saturating_duration_since(now),
                    None => Duration::ZERO,
                }
            };
            thread::sleep(wait.max(Duration::from_millis(1)));
        }
    }

    /// Record a request the target counted although we did not expect it to (e.g. an
    /// unknown legacy URL that fell through to the SPA).
    fn charge(&self) {
        let mut starts = self.starts.lock().unwrap_or_else(|e| e.into_inner());
        starts.push_back(Instant::now());
    }

    /// Nobody sends a counted request before `until`.
    fn pause(&self, until: Instant) {
        let mut p = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
        if p.is_none_or(|t| t < until) {
            *p = Some(until);
        }
    }
}

enum Attempt {
    Response {
        seen: Observed,
        retry_after: Option<Duration>,
    },
    Failed(String),
}

struct Runner<'a> {
    agent: ureq::Agent,
    base: String,
    opts: &'a RunOptions,
    pacer: Pacer,
}

impl Runner<'_> {
    fn attempt(&self, spec: &ProbeSpec, url: &str) -> Attempt {
        let resp = match self.agent.get(url).call() {
            Ok(r) => r,
            Err(ureq::Error::Timeout(_)) => {
                return Attempt::Failed(format!("timed out after {:?}", self.opts.timeout));
            }
            Err(e) => return Attempt::Failed(e.to_string()),
        };
        let mut resp = resp;
        let header = |name: &str| {
            resp.headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let status = resp.status().as_u16();
        let location = header("location");
        let content_type = header("content-type");
        let retry_after = header("retry-after")
            .and_then(|v| ::cli::retry_after::parse(&v, std::time::SystemTime::now()));
        let body = if spec.expect.needs_body() {
            match resp.body_mut().with_config().limit(MAX_BODY).read_to_vec() {
                Ok(b) => b,
                Err(e) => return Attempt::Failed(format!("HTTP {status}, reading body: {e}")),
            }
        } else {
            // Drain what is there so the connection can be reused; its content is not judged.
            let _ = resp.body_mut().with_config().limit(MAX_BODY).read_to_vec();
            Vec::new()
        };
        Attempt::Response {
            seen: Observed {
                status,
                location,
                content_type,
                body,
            },
            retry_after,
        }
    }

    fn probe(&self, spec: &ProbeSpec) -> ProbeResult {
        let url = format!("{}{}", self.base, spec.path);
        let started = Instant::now();
        let mut attempts = 0u32;
        let mut throttled = 0u32;
        let mut warming = 0u32;
        let mut last_ms;
        let expect_counted = spec.counted();
        let (status, location, outcome) = loop {
            if expect_counted {
                self.pacer.acquire();
            }
            attempts += 1;
            let sent = Instant::now();
            let attempt = self.attempt(spec, &url);
            last_ms = sent.elapsed().as_millis() as u64;
            match attempt {
                Attempt::Failed(why) => break (None, None, Err(why)),
                Attempt::Response { seen, retry_after } => {
                    if !expect_counted && was_counted(&spec.path, seen.status) {
                        self.pacer.charge();
                    }
                    if seen.status == 429 && spec.expect.status != 429 {
                        let wait =
                            retry_after.unwrap_or(Duration::from_secs(1 << throttled.min(5)));
                        if throttled >= self.opts.max_throttle_retries {
                            let why = format!(
                                "throttled: still 429 after waiting out {throttled} Retry-After"
                            );
                            break (Some(429), seen.location, Err(why));
                        }
                        if wait > self.opts.max_retry_after {
                            let why = format!(
                                "throttled: Retry-After {}s is over the {}s limit",
                                wait.as_secs(),
                                self.opts.max_retry_after.as_secs()
                            );
                            break (Some(429), seen.location, Err(why));
                        }
                        throttled += 1;
                        self.pacer.pause(Instant::now() + wait);
                        thread::sleep(wait);
                        continue;
                    }
                    if seen.status == 503 && spec.expect.warmup && spec.expect.status != 503 {
                        if started.elapsed() + self.opts.ready_interval <= self.opts.ready_wait {
                            warming += 1;
                            thread::sleep(self.opts.ready_interval);
                            continue;
                        }
                        let why = format!(
                            "still 503 after {} attempts over {:.1}s of warm-up",
                            attempts,
                            started.elapsed().as_secs_f64()
                        );
                        break (Some(503), seen.location, Err(why));
                    }
                    let verdict = spec.expect.check(&seen);
                    break (Some(seen.status), seen.location, verdict);
                }
            }
        };
        let mut notes = Vec::new();
        let ok = match outcome {
            Ok(()) => true,
            Err(why) => {
                notes.push(why);
                false
            }
        };
        if warming > 0 {
            notes.push(format!("answered 503 (warming) {warming} times first"));
        }
        if throttled > 0 {
            notes.push(format!("waited out {throttled} 429 Retry-After"));
        }
        ProbeResult {
            v: crate::spec::SPEC_VERSION,
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            url,
            status,
            expected: spec.expect.clone(),
            ok,
            duration_ms: last_ms,
            note: (!notes.is_empty()).then(|| notes.join("; ")),
            location,
            attempts,
            throttled,
        }
    }
}

/// Run `specs` against the target. `sink` gets each result in spec order as soon as it and
/// all before it are done; when it fails (a closed stdout) the run stops early.
pub fn run(
    specs: &[ProbeSpec],
    opts: &RunOptions,
    sink: impl FnMut(&ProbeResult) -> io::Result<()>,
) -> Result<RunOutcome, RunError> {
    Prober::new(opts)?.run(specs, sink)
}

/// A runner that lives across several runs (`probe watch`'s rounds): one connection pool and
/// one pacer, so the rate budget spans every round, not each one alone.
pub struct Prober<'a> {
    runner: Runner<'a>,
}

impl<'a> Prober<'a> {
    /// A prober for `opts`, checking the target URL first.
    pub fn new(opts: &'a RunOptions) -> Result<Prober<'a>, RunError> {
        let base = opts.target.trim_end_matches('/').to_owned();
        if !(base.starts_with("http://") || base.starts_with("https://")) {
            return Err(RunError::BadTarget(opts.target.clone()));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(opts.timeout))
            .user_agent(opts.user_agent.as_str())
            .max_idle_connections_per_host(opts.concurrency.clamp(1, 64) * 2)
            .build();
        let agent = if opts.resolve.is_empty() {
            ureq::Agent::new_with_config(config)
        } else {
            ureq::Agent::with_parts(
                config,
                ureq::unversioned::transport::DefaultConnector::new(),
                PinnedResolver {
                    pins: opts.resolve.clone(),
                    dns: Default::default(),
                },
            )
        };
        Ok(Prober {
            runner: Runner {
                agent,
                base,
                opts,
                pacer: Pacer::new(opts.rate_limit, opts.rate_window),
            },
        })
    }

    /// Run `specs` as [`run`] does, under this prober's pacer.
    pub fn run(
        &self,
        specs: &[ProbeSpec],
        mut sink: impl FnMut(&ProbeResult) -> io::Result<()>,
    ) -> Result<RunOutcome, RunError> {
        if let Some(bad) = specs.iter().find(|s| !s.path.starts_with('/')) {
            return Err(RunError::BadPath {
                name: bad.name.clone(),
                path: bad.path.clone(),
            });
        }
        let workers = self.runner.opts.concurrency.clamp(1, 64);
        let runner = &self.runner;
        let next = AtomicUsize::new(0);
        let stop = AtomicBool::new(false);
        let mut outcome = RunOutcome::default();
        thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<(usize, ProbeResult)>();
            for _ in 0..workers.min(specs.len().max(1)) {
                let tx = tx.clone();
                let (next, stop) = (&next, &stop);
                scope.spawn(move || {
                    while !stop.load(Ordering::SeqCst) {
                        let i = next.fetch_add(1, Ordering::SeqCst);
                        let Some(spec) = specs.get(i) else { break };
                        if tx.send((i, runner.probe(spec))).is_err() {
                            break;
                        }
                    }
                });
            }
            drop(tx);
            // Re-order: emit result i once 0..i are out.
            let mut pending = BTreeMap::new();
            let mut emitted = 0usize;
            for (i, result) in rx {
                pending.insert(i, result);
                while let Some(r) = pending.remove(&emitted) {
                    emitted += 1;
                    if !outcome.stopped && sink(&r).is_err() {
                        outcome.stopped = true;
                        stop.store(true, Ordering::SeqCst);
                    }
                    outcome.results.push(r);
                }
                if outcome.stopped {
                    break;
                }
            }
        });
        Ok(outcome)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pacer_admits_limit_then_waits_for_the_window() {
        let p = Pacer::new(3, Duration::from_millis(200));
        let t0 = Instant::now();
        for _ in 0..4 {
            p.acquire();
        }
        // The fourth start had to wait for the first to leave the window.
        assert!(t0.elapsed() >= Duration::from_millis(200));
    }

    #[test]
    fn resolve_pins_parse() {
        let pin: Pin = "CodeForPhilly.org:443:203.0.113.7".parse().unwrap();
        assert_eq!(pin.host, "codeforphilly.org");
        assert_eq!(pin.port, 443);
        assert_eq!(pin.addr.to_string(), "203.0.113.7");
        let v6: Pin = "x.test:80:[::1]".parse().unwrap();
        assert!(v6.addr.is_ipv6());
        assert!("x.test:443".parse::<Pin>().is_err());
    }
}
