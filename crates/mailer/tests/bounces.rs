//! `mailer bounces` against the Resend stand-in: planted bounces and complaints, 429s on the
//! way, per-campaign counts, emails only on request, the key nowhere.

mod common;

use common::*;
use fixtures::resend::Fault;
use serde_json::{Value, json};

/// Two campaigns sent to six people on one sent-log.
fn sent_world() -> (World, fixtures::resend::ResendServer) {
    let w = World::new(&crowd(6));
    let resend = resend();
    for extra in [
        &["--campaign=t90-reminder"][..],
        &["--campaign=t7-announcement", "--cutover-date=2026-08-15"][..],
    ] {
        let o = run(w.send_cmd(&resend, extra));
        assert_eq!(code(&o), 0, "{}", stderr(&o));
    }
    (w, resend)
}

fn bounces(
    w: &World,
    resend: &fixtures::resend::ResendServer,
    extra: &[&str],
) -> std::process::Output {
    let mut args = vec![
        "bounces".to_owned(),
        format!("--sent-log={}", w.path("sent.ndjson").display()),
        format!("--api-base={}", resend.url()),
        "--rate=1000".to_owned(),
        "--backoff=10ms".to_owned(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut c = w.mailer(&refs);
    c.env("RESEND_API_KEY", KEY);
    run(c)
}

#[test]
fn bounces_reports_exactly_the_planted_events_through_429s() {
    let (w, resend) = sent_world();
    resend.set_last_event("u2@example.com", "bounced");
    resend.set_last_event("u5@example.com", "complained");
    resend.set_last_event("u3@example.com", "delivery_delayed");
    resend.set_last_event("u4@example.com", "opened");
    // Two lookups are throttled (Retry-After: 1 s) and one answers 500 before it succeeds.
    let before = resend.requests().len();
    resend.schedule(before + 2, Fault::Throttle { retry_after: 1 });
    resend.schedule(before + 6, Fault::ErrorBefore);
    resend.schedule(before + 9, Fault::Throttle { retry_after: 1 });
    let json_path = w.path("bounces.json");
    let o = bounces(&w, &resend, &[&format!("--json={}", json_path.display())]);
    assert_eq!(code(&o), 1, "bounces found: {}", stderr(&o));
    let mut got: Vec<(String, String, String)> = lines(&o)
        .iter()
        .map(|l| {
            assert_eq!(l["v"], 1);
            assert!(l.get("email").is_none(), "{l}");
            assert!(l["emailId"].as_str().is_some() && l["at"].as_str().is_some());
            (
                l["slug"].as_str().unwrap().to_owned(),
                l["campaign"].as_str().unwrap().to_owned(),
                l["event"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    got.sort();
    let want: Vec<(String, String, String)> = [
        ("user-002", "t7-announcement", "bounced"),
        ("user-002", "t90-reminder", "bounced"),
        ("user-005", "t7-announcement", "complained"),
        ("user-005", "t90-reminder", "complained"),
    ]
    .iter()
    .map(|(a, b, c)| (a.to_string(), b.to_string(), c.to_string()))
    .collect();
    assert_eq!(got, want);
    let bounced = &lines(&o)[0];
    assert!(bounced["personId"] == json!(uuid(2)) || bounced["personId"] == json!(uuid(5)));
    assert!(
        !stdout(&o).contains("@example.com"),
        "no emails without --show-emails"
    );

    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json_path).unwrap()).unwrap();
    for campaign in ["t7-announcement", "t90-reminder"] {
        let c = &r["campaigns"][campaign];
        assert_eq!(
            (
                c["emails"].clone(),
                c["delivered"].clone(),
                c["bounced"].clone()
            ),
            (json!(6), json!(3), json!(1)),
            "{campaign}: {c}"
        );
        assert_eq!(
            (
                c["complained"].clone(),
                c["other"].clone(),
                c["unknown"].clone()
            ),
            (json!(1), json!(1), json!(0))
        );
        assert_eq!(c["events"]["delivery_delayed"], 1);
        assert_eq!(c["events"]["opened"], 1);
    }
    assert_eq!(r["throttled"], 2);
    assert_eq!(r["requests"], 12 + 3, "12 lookups, 3 retried");
    let throttled = resend
        .requests()
        .iter()
        .filter(|s| s.method == "GET" && s.status == 429)
        .count();
    assert_eq!(throttled, 2);
    let err = stderr(&o);
    assert!(
        err.contains(
            "campaign=t90-reminder emails=6 delivered=3 bounced=1 complained=1 other=1 unknown=0"
        ),
        "{err}"
    );
    for text in [
        stdout(&o),
        err,
        std::fs::read_to_string(&json_path).unwrap(),
        w.sent_log(),
    ] {
        assert!(!text.contains(KEY));
    }

    let o = bounces(&w, &resend, &["--campaign=t90-reminder", "--show-emails"]);
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    let emails: Vec<String> = lines(&o)
        .iter()
        .map(|l| l["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(emails, ["u2@example.com", "u5@example.com"]);
}

#[test]
fn all_delivered_is_exit_0_and_a_wrong_key_is_exit_2_without_the_key() {
    let (w, resend) = sent_world();
    let o = bounces(&w, &resend, &[]);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(stdout(&o), "");

    let mut c = w.mailer(&[
        "bounces",
        &format!("--sent-log={}", w.path("sent.ndjson").display()),
        &format!("--api-base={}", resend.url()),
        "--rate=1000",
    ]);
    c.env("RESEND_API_KEY", "re_wrong_SECRET_zzz");
    let o = run(c);
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("403"), "{}", stderr(&o));
    assert!(!stderr(&o).contains("re_wrong_SECRET_zzz") && !stdout(&o).contains("re_wrong"));
    let gets = resend
        .requests()
        .iter()
        .filter(|s| s.method == "GET")
        .count();
    assert_eq!(gets, 12 + 1, "the run stopped at the refused key");

    let o = run(w.mailer(&[
        "bounces",
        &format!("--sent-log={}", w.path("sent.ndjson").display()),
    ]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("RESEND_API_KEY"), "{}", stderr(&o));
}
