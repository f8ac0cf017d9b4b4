//! The one retry policy of every laddr request, JSON pages and media bytes alike: network
//! errors, timeouts, 408, 429 and 5xx are retried up to `retries` times, waiting the server's
//! `Retry-After` when it sends one, else an exponential backoff with deterministic jitter.

use std::thread;
use std::time::{Duration, SystemTime};

/// Never sleep longer than this for one `Retry-After`.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// How often and how long to retry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub retries: u32,
    /// The first retry's backoff; it doubles per retry.
    pub base: Duration,
    /// The longest backoff (a `Retry-After` is honoured as sent, up to [`MAX_RETRY_AFTER`]).
    pub max: Duration,
}

impl RetryPolicy {
    /// True for the HTTP statuses worth another attempt: 408, 429 and 5xx.
    pub fn retryable_status(status: u16) -> bool {
        status == 429 || status == 408 || status >= 500
    }

    /// After retryable failure number `attempt` (1-based): how long to wait before the next
    /// attempt, or `None` when the attempts are used up. `salt` spreads the jitter of
    /// parallel requests.
    pub fn next_wait(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        salt: u64,
    ) -> Option<Duration> {
        if attempt > self.retries {
            return None;
        }
        Some(match retry_after {
            Some(d) => d.min(MAX_RETRY_AFTER),
            None => backoff(self.base, self.max, attempt, salt),
        })
    }

    /// [`RetryPolicy::next_wait`], then sleep it; false when the attempts are used up.
    pub fn wait(&self, attempt: u32, retry_after: Option<Duration>, salt: u64) -> bool {
        match self.next_wait(attempt, retry_after, salt) {
            Some(d) => {
                thread::sleep(d);
                true
            }
            None => false,
        }
    }
}

/// A response's `Retry-After` (seconds or HTTP-date), if it has a readable one.
pub fn retry_after<B>(resp: &ureq::http::Response<B>) -> Option<Duration> {
    resp.headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| ::cli::retry_after::parse(v, SystemTime::now()))
}

/// Exponential backoff with deterministic jitter (50–100 % of the step), capped.
fn backoff(base: Duration, max: Duration, attempt: u32, salt: u64) -> Duration {
    let step = base
        .saturating_mul(1u32 << attempt.saturating_sub(1).min(16))
        .min(max);
    let mut z = salt
        .wrapping_add(attempt as u64)
        .wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 31)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    let frac = 0.5 + (z >> 11) as f64 / (1u64 << 53) as f64 / 2.0;
    step.mul_f64(frac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let base = Duration::from_millis(100);
        let max = Duration::from_millis(1000);
        let b1 = backoff(base, max, 1, 0);
        let b4 = backoff(base, max, 4, 0);
        assert!(b1 >= Duration::from_millis(50) && b1 <= base);
        assert!(b4 >= Duration::from_millis(400) && b4 <= Duration::from_millis(800));
        assert!(backoff(base, max, 30, 0) <= max);
    }

    #[test]
    fn attempts_run_out_and_retry_after_wins_up_to_its_cap() {
        let p = RetryPolicy {
            retries: 2,
            base: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        assert!(p.next_wait(1, None, 0).is_some());
        assert!(p.next_wait(2, None, 0).is_some());
        assert_eq!(p.next_wait(3, None, 0), None);
        assert_eq!(
            p.next_wait(1, Some(Duration::from_secs(7)), 0),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            p.next_wait(1, Some(Duration::from_secs(10_000)), 0),
            Some(MAX_RETRY_AFTER)
        );
        assert!(RetryPolicy::retryable_status(503) && RetryPolicy::retryable_status(429));
        assert!(!RetryPolicy::retryable_status(404) && !RetryPolicy::retryable_status(304));
    }
}
