//! The pager against the laddr fixture server on loopback: a 429 whose `Retry-After` is an
//! HTTP-date (RFC 9110's other form) is waited out until that date.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fixtures::laddr::Site;
use fixtures::laddr_server::{FaultKind, Faults, LaddrServer};
use laddr::{Client, Options, Resource};

#[test]
fn a_retry_after_http_date_is_waited_out_until_that_date() {
    let site = Site::read_dir(&fixtures::laddr::small_dir()).unwrap();
    // Whole seconds, as an HTTP-date has no fraction; two to three seconds ahead.
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    let until = UNIX_EPOCH + Duration::from_secs(now.as_secs() + 3);
    let retry_after = fixtures::http::http_date(until);
    let faults = Faults::none().with_rule(
        "tags",
        Some(0),
        1,
        FaultKind::TooManyRequests { retry_after },
    );
    let server = LaddrServer::start(site.clone(), faults).unwrap();
    // Backoff alone would retry within 50 ms: only the date can explain a longer wait.
    let client = Client::new(Options {
        base_url: server.url(),
        delay: Duration::ZERO,
        retry_base: Duration::from_millis(10),
        retry_max: Duration::from_millis(50),
        ..Options::default()
    })
    .unwrap();
    let fetched = client.fetch(Resource::Tags).unwrap();
    assert!(
        SystemTime::now() >= until,
        "the 429 was retried before its Retry-After date"
    );
    assert_eq!(fetched.report.retries, 1);
    assert!(fetched.complete());
    assert_eq!(fetched.rows.len(), site.tags.len());
}
