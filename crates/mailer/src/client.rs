//! The Resend HTTP client: `POST /emails/batch` with an `Idempotency-Key`, paced under a request
//! rate, retrying 429 and 5xx (honouring `Retry-After`), timeouts and connection errors with the
//! same key, so a retry can never send twice.

use std::fmt;
use std::thread;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The documented batch limit of `POST /emails/batch`.
pub const MAX_BATCH: usize = 100;
/// The documented idempotency key limit.
pub const MAX_KEY_LEN: usize = 256;
/// Resend's production API.
pub const DEFAULT_API_BASE: &str = "https://api.resend.com";

/// The API key. It is only ever written into the `Authorization` header: `Debug` and `Display`
/// print `[redacted]`, and [`ApiKey::redact`] scrubs it from any text that came back from the
/// server before that text is shown.
#[derive(Clone)]
pub struct ApiKey(String);

impl ApiKey {
    /// `None` for a missing or blank key.
    pub fn new(key: Option<String>) -> Option<ApiKey> {
        key.map(|k| k.trim().to_owned())
            .filter(|k| !k.is_empty())
            .map(ApiKey)
    }

    /// `text` with the key replaced by `[redacted]`, for anything printed or logged.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.0, "[redacted]")
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([redacted])")
    }
}

/// Pacing and retry settings.
#[derive(Clone, Debug)]
pub struct ClientOptions {
    /// `https://api.resend.com`, or another Resend-compatible endpoint.
    pub api_base: String,
    /// Requests per second at most (Resend's default team limit is 2).
    pub rate: f64,
    /// First backoff after a 5xx or a transport error; doubles each time.
    pub backoff: Duration,
    /// Longest backoff between two attempts.
    pub max_backoff: Duration,
    /// Attempts after the first for 5xx and transport errors.
    pub max_retries: u32,
    /// 429s absorbed per batch before giving up on it.
    pub max_throttled: u32,
    /// A `Retry-After` longer than this stops the run (a daily quota, not a burst).
    pub max_wait: Duration,
    /// Whole-request timeout.
    pub timeout: Duration,
}

impl Default for ClientOptions {
    fn default() -> Self {
        ClientOptions {
            api_base: DEFAULT_API_BASE.into(),
            rate: 2.0,
            backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(60),
            max_retries: 6,
            max_throttled: 100,
            max_wait: Duration::from_secs(300),
            timeout: Duration::from_secs(60),
        }
    }
}

/// What became of one batch request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted: the email ids in request order (empty if the body could not be read).
    Accepted {
        /// Resend's email ids.
        ids: Vec<String>,
        /// Requests it took.
        attempts: u32,
    },
    /// Refused for good (a 4xx other than 401/403/429): nothing was sent.
    Rejected {
        /// The HTTP status.
        status: u16,
        /// Resend's error name.
        name: String,
        /// Resend's message.
        message: String,
    },
    /// 409 `invalid_idempotent_request`: Resend already holds this key with another payload
    /// (within its 24 hours), so these recipients were almost certainly mailed already.
    KeyConflict {
        /// Resend's message.
        message: String,
    },
    /// 401 or 403: the key is missing or wrong; stop everything.
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// Resend's error name.
        name: String,
        /// Resend's message.
        message: String,
    },
    /// Retries exhausted on 5xx or transport errors, or the server asked to wait longer than
    /// `max_wait`: whether anything was sent is unknown (the intent stays open for a re-run).
    GaveUp {
        /// Why it gave up.
        reason: String,
        /// True when the whole run must stop (a quota, not this request).
        stop_run: bool,
    },
}

/// Blocking client; one request at a time.
pub struct Client {
    agent: ureq::Agent,
    key: ApiKey,
    opts: ClientOptions,
    last_start: Option<Instant>,
    not_before: Option<Instant>,
    /// Total HTTP attempts, for the report.
    pub requests: u64,
    /// 429 responses seen, for the report.
    pub throttled: u64,
}

/// The error body Resend sends: `{"statusCode", "message", "name"}`.
fn error_parts(body: &str) -> (String, String) {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let name = v
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
        .to_owned();
    let message = v
        .get("message")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or_else(|| body.chars().take(200).collect());
    (name, message)
}

fn header_secs(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<Duration> {
    let v = resp.headers().get(name)?.to_str().ok()?.trim();
    let secs: f64 = v.parse().ok()?;
    (secs.is_finite() && secs >= 0.0).then(|| Duration::from_secs_f64(secs))
}

fn retry_after_header(resp: &ureq::http::Response<ureq::Body>) -> Option<Duration> {
    let v = resp.headers().get("retry-after")?.to_str().ok()?;
    ::cli::retry_after::parse(v, std::time::SystemTime::now())
}

impl Client {
    /// A client with its own HTTP agent (status codes are answers, not errors).
    pub fn new(key: ApiKey, opts: ClientOptions) -> Client {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(opts.timeout))
            .timeout_connect(Some(Duration::from_secs(10)))
            .user_agent(concat!("laddr-cutover-mailer/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Client {
            agent,
            key,
            opts,
            last_start: None,
            not_before: None,
            requests: 0,
            throttled: 0,
        }
    }

    /// The options the client was made with.
    pub fn options(&self) -> &ClientOptions {
        &self.opts
    }

    /// Scrubs the key out of text that came from the server.
    pub fn redact(&self, text: &str) -> String {
        self.key.redact(text)
    }

    /// Waits until the next request may start: the pacing interval since the last one, and
    /// any wait the server asked for.
    fn pace(&mut self) {
        let mut until = self.not_before.take();
        if let Some(last) = self.last_start
            && self.opts.rate > 0.0
        {
            let next = last + Duration::from_secs_f64(1.0 / self.opts.rate);
            until = Some(until.map_or(next, |u| u.max(next)));
        }
        if let Some(u) = until {
            let now = Instant::now();
            if u > now {
                thread::sleep(u - now);
            }
        }
        self.last_start = Some(Instant::now());
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.opts
            .backoff
            .saturating_mul(factor)
            .min(self.opts.max_backoff)
    }

    /// One request with pacing and retries: 429 waits (`Retry-After`, else backoff) up to
    /// `max_throttled` times; a 5xx, a transport error or a status `retry_also` accepts is
    /// retried up to `max_retries` times. Any other answer is returned.
    fn call(
        &mut self,
        send: &dyn Fn(&ureq::Agent) -> Result<ureq::http::Response<ureq::Body>, ureq::Error>,
        retry_also: &dyn Fn(u16, &str) -> bool,
        log: &mut dyn FnMut(&str),
    ) -> Answer {
        let mut attempts = 0u32;
        let mut failures = 0u32;
        let mut throttles = 0u32;
        loop {
            self.pace();
            attempts += 1;
            self.requests += 1;
            let (why, retry_after) = match send(&self.agent) {
                Ok(resp) => {
                    let (status, retry_after, text) = self.read(resp);
                    let (name, message) = error_parts(&text);
                    if status == 429 {
                        self.throttled += 1;
                        throttles += 1;
                        match self.throttle_wait(retry_after, throttles, &name) {
                            Ok(wait) => {
                                log(&format!(
                                    "throttled (429 {name}); waiting {} ms as Retry-After asks",
                                    wait.as_millis()
                                ));
                                self.not_before = Some(Instant::now() + wait);
                                continue;
                            }
                            Err(reason) => {
                                return Answer::GaveUp {
                                    reason,
                                    stop_run: true,
                                };
                            }
                        }
                    }
                    if status < 500 && !retry_also(status, &name) {
                        return Answer::Done {
                            status,
                            text,
                            attempts,
                        };
                    }
                    let why = if status >= 500 {
                        format!("{status} {name}: {message}")
                    } else {
                        format!("{status} {name}")
                    };
                    (why, retry_after)
                }
                Err(e) => (self.key.redact(&e.to_string()), None),
            };
            failures += 1;
            if failures > self.opts.max_retries {
                return Answer::GaveUp {
                    reason: format!("{why} (gave up after {attempts} attempts)"),
                    stop_run: false,
                };
            }
            let wait = match retry_after {
                Some(w) if w <= self.opts.max_wait => w.max(self.backoff(failures)),
                _ => self.backoff(failures),
            };
            log(&format!(
                "{why}; retrying with the same Idempotency-Key in {} ms",
                wait.as_millis()
            ));
            self.not_before = Some(Instant::now() + wait);
        }
    }

    /// Status, `Retry-After` and the body (the key scrubbed out) of a response; an empty
    /// rate-limit window (`ratelimit-remaining: 0`) delays the next request until its reset.
    fn read(
        &mut self,
        mut resp: ureq::http::Response<ureq::Body>,
    ) -> (u16, Option<Duration>, String) {
        let status = resp.status().as_u16();
        if resp
            .headers()
            .get("ratelimit-remaining")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() == "0")
            && let Some(reset) = header_secs(&resp, "ratelimit-reset")
            && reset <= self.opts.max_wait
        {
            self.not_before = Some(Instant::now() + reset);
        }
        let retry_after = retry_after_header(&resp);
        let text = resp
            .body_mut()
            .with_config()
            .limit(10 << 20)
            .read_to_string()
            .unwrap_or_default();
        (status, retry_after, self.key.redact(&text))
    }

    /// How long to wait after the `throttles`th 429, or why to stop.
    fn throttle_wait(
        &self,
        retry_after: Option<Duration>,
        throttles: u32,
        name: &str,
    ) -> Result<Duration, String> {
        let wait = retry_after.unwrap_or_else(|| self.backoff(throttles));
        if wait > self.opts.max_wait {
            return Err(format!(
                "429 {name}: Resend asks to wait {}s, longer than --max-wait; re-run later",
                wait.as_secs()
            ));
        }
        if throttles > self.opts.max_throttled {
            return Err(format!(
                "429 {name}: still throttled after {throttles} waits"
            ));
        }
        Ok(wait)
    }

    /// Sends one batch (`body` is the JSON array) under `key`, retrying as documented.
    /// `log` receives human progress lines (already free of the API key).
    pub fn send_batch(&mut self, body: &[u8], key: &str, log: &mut dyn FnMut(&str)) -> Outcome {
        let url = format!("{}/emails/batch", self.opts.api_base.trim_end_matches('/'));
        let auth = format!("Bearer {}", self.key.0);
        let send = |agent: &ureq::Agent| {
            agent
                .post(&url)
                .header("Authorization", &auth)
                .header("Content-Type", "application/json")
                .header("Idempotency-Key", key)
                .send(body)
        };
        // Resend is still working on the first request with this key: ask again.
        let concurrent =
            |status: u16, name: &str| status == 409 && name == "concurrent_idempotent_requests";
        let (status, text, attempts) = match self.call(&send, &concurrent, log) {
            Answer::Done {
                status,
                text,
                attempts,
            } => (status, text, attempts),
            Answer::GaveUp { reason, stop_run } => return Outcome::GaveUp { reason, stop_run },
        };
        if (200..300).contains(&status) {
            let ids = serde_json::from_str::<Value>(&text)
                .ok()
                .and_then(|v| {
                    v.get("data")?
                        .as_array()?
                        .iter()
                        .map(|d| d.get("id").and_then(Value::as_str).map(str::to_owned))
                        .collect::<Option<Vec<String>>>()
                })
                .unwrap_or_default();
            return Outcome::Accepted { ids, attempts };
        }
        let (name, message) = error_parts(&text);
        match status {
            401 | 403 => Outcome::Unauthorized {
                status,
                name,
                message,
            },
            409 if name == "invalid_idempotent_request" => Outcome::KeyConflict { message },
            _ => Outcome::Rejected {
                status,
                name,
                message,
            },
        }
    }

    /// `GET /emails/{id}`: the email's `last_event`, paced and retried like a send.
    pub fn get_email(&mut self, id: &str, log: &mut dyn FnMut(&str)) -> Lookup {
        let url = format!(
            "{}/emails/{}",
            self.opts.api_base.trim_end_matches('/'),
            url_segment(id)
        );
        let auth = format!("Bearer {}", self.key.0);
        let send = |agent: &ureq::Agent| agent.get(&url).header("Authorization", &auth).call();
        let (status, text) = match self.call(&send, &|_, _| false, log) {
            Answer::Done { status, text, .. } => (status, text),
            Answer::GaveUp { reason, stop_run } => return Lookup::GaveUp { reason, stop_run },
        };
        let (name, message) = error_parts(&text);
        match status {
            200..=299 => {
                let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                let s = |k: &str| v.get(k).and_then(Value::as_str).map(str::to_owned);
                Lookup::Found {
                    last_event: s("last_event"),
                    created_at: s("created_at"),
                }
            }
            401 | 403 => Lookup::Unauthorized {
                status,
                name,
                message,
            },
            _ => Lookup::Failed {
                status,
                name,
                message,
            },
        }
    }
}

/// An id as one path segment: anything but `A-Za-z0-9-_.` percent-encoded.
fn url_segment(id: &str) -> String {
    id.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// The final answer to a request after retries.
enum Answer {
    Done {
        status: u16,
        text: String,
        attempts: u32,
    },
    GaveUp {
        reason: String,
        stop_run: bool,
    },
}

/// What `GET /emails/{id}` said.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// The email; `last_event` is Resend's latest delivery event (`delivered`, `bounced`, …).
    Found {
        /// Resend's latest delivery event.
        last_event: Option<String>,
        /// When the email was sent (Resend's `created_at`).
        created_at: Option<String>,
    },
    /// 401/403: stop.
    Unauthorized {
        /// The HTTP status.
        status: u16,
        /// Resend's error name.
        name: String,
        /// Resend's message.
        message: String,
    },
    /// Another 4xx (a 404 for an id Resend does not know).
    Failed {
        /// The HTTP status.
        status: u16,
        /// Resend's error name.
        name: String,
        /// Resend's message.
        message: String,
    },
    /// Retries exhausted, or a wait longer than `max_wait`.
    GaveUp {
        /// Why it gave up.
        reason: String,
        /// True when the whole run must stop (a quota, not this request).
        stop_run: bool,
    },
}

/// The per-recipient key: `<campaign>/<personId>`.
pub fn recipient_key(campaign: &str, person_id: &str) -> String {
    format!("{campaign}/{person_id}")
}

/// Resend takes one `Idempotency-Key` per request, batch or not. A batch of one uses the
/// recipient's own key; a larger batch uses `<campaign>/batch-<sha1 of its recipients' keys>`,
/// which is the same whenever the same recipients are sent together again.
pub fn request_key(campaign: &str, recipient_keys: &[String]) -> String {
    use sha1::{Digest, Sha1};
    if let [only] = recipient_keys {
        return only.clone();
    }
    let mut h = Sha1::new();
    for k in recipient_keys {
        h.update(k.as_bytes());
        h.update(b"\n");
    }
    let digest = h.finalize();
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("{campaign}/batch-{hex}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_never_printed() {
        let k = ApiKey::new(Some("re_secret".into())).unwrap();
        assert_eq!(format!("{k:?}"), "ApiKey([redacted])");
        assert_eq!(k.redact("bad key re_secret!"), "bad key [redacted]!");
        assert!(ApiKey::new(Some("  ".into())).is_none());
        assert!(ApiKey::new(None).is_none());
    }

    #[test]
    fn request_keys() {
        let a = recipient_key("t90-reminder", "p1");
        let b = recipient_key("t90-reminder", "p2");
        assert_eq!(a, "t90-reminder/p1");
        assert_eq!(request_key("t90-reminder", std::slice::from_ref(&a)), a);
        let k = request_key("t90-reminder", &[a.clone(), b.clone()]);
        assert!(
            k.starts_with("t90-reminder/batch-") && k.len() == 19 + 40,
            "{k}"
        );
        assert_eq!(k, request_key("t90-reminder", &[a.clone(), b.clone()]));
        assert_ne!(k, request_key("t90-reminder", &[b, a]));
    }
}
