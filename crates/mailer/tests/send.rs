//! `mailer send` against the Resend stand-in on loopback: batches, content, throttling, 5xx
//! retries, kills and re-runs, the key check and key secrecy.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use fixtures::resend::{Config, Fault, ResendServer};
use serde_json::{Value, json};

fn statuses(o: &std::process::Output) -> BTreeMap<String, usize> {
    let mut m = BTreeMap::new();
    for l in lines(o) {
        *m.entry(l["status"].as_str().unwrap().to_owned())
            .or_default() += 1;
    }
    m
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

/// Every address of `people` received exactly one email.
fn assert_each_once(resend: &ResendServer, people: &[P]) {
    let expected: BTreeMap<String, usize> = people
        .iter()
        .filter_map(|p| p.email.clone())
        .map(|e| (e.to_lowercase(), 1))
        .collect();
    assert_eq!(resend.deliveries(), expected);
}

#[test]
fn sends_in_batches_with_escaped_content_and_per_recipient_keys() {
    let mut people = crowd(4);
    people.push(
        P::new(50, "mallory")
            .name("<script>alert(1)</script>")
            .email("mallory@example.com"),
    );
    let w = World::new(&people);
    let resend = resend();
    let report = w.path("send.json");
    let o = run(w.send_cmd(
        &resend,
        &[
            "--batch-size=2",
            "--from=Code for Philly <hello@codeforphilly.org>",
            &format!("--json={}", report.display()),
        ],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_each_once(&resend, &people);
    assert_eq!(statuses(&o), counts(&[("sent", 5)]));

    // Three requests: 2 + 2 + 1, all to the batch endpoint with an Idempotency-Key.
    let reqs = resend.requests();
    assert_eq!(reqs.iter().map(|r| r.emails).collect::<Vec<_>>(), [2, 2, 1]);
    assert!(
        reqs.iter()
            .all(|r| r.path == "/emails/batch" && r.status == 200)
    );
    let keys: Vec<String> = reqs
        .iter()
        .map(|r| r.idempotency_key.clone().unwrap())
        .collect();
    assert!(keys[0].starts_with("t90-reminder/batch-"), "{keys:?}");
    // A batch of one carries the recipient's own key.
    // (people come in slug order: mallory, user-001 … user-004)
    assert_eq!(keys[2], format!("t90-reminder/{}", uuid(4)));

    let emails = resend.emails();
    let m = emails
        .iter()
        .find(|e| e.to == ["mallory@example.com"])
        .unwrap();
    let html = m.html.as_deref().unwrap();
    assert!(
        html.contains("Hi &lt;script&gt;alert(1)&lt;/script&gt;,"),
        "{html}"
    );
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains(r#"<a href="https://cfp.example.org/login">Sign in with GitHub</a>"#));
    assert!(html.contains("<code>@mallory</code>"));
    let text = m.text.as_deref().unwrap();
    assert!(text.starts_with("Hi <script>alert(1)</script>,"));
    assert!(text.contains("carry over: https://cfp.example.org/login\n"));
    assert_eq!(
        m.subject,
        "Action needed: claim your Code for Philly account"
    );
    assert_eq!(m.from, "Code for Philly <hello@codeforphilly.org>");

    // One line per recipient, with the key and Resend's id.
    for l in lines(&o) {
        assert_eq!(
            l["idempotencyKey"],
            json!(format!("t90-reminder/{}", l["personId"].as_str().unwrap()))
        );
        assert!(l["emailId"].as_str().unwrap().len() > 10, "{l}");
    }
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["mode"], "send");
    assert_eq!(r["sent"], 5);
    assert_eq!(r["failed"], json!([]));
    assert_eq!(r["counts"]["batches"], 3);
    assert!(stderr(&o).contains("sent=5 failed=0"), "{}", stderr(&o));

    // A second run mails nobody.
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("already-sent", 5)]));
    assert_eq!(resend.requests().len(), 3);
    assert_each_once(&resend, &people);
}

#[test]
fn throttling_is_absorbed_with_zero_failures() {
    let people = crowd(6);
    let w = World::new(&people);
    // Resend's real default (2 per second), plus two injected 429s.
    let resend = ResendServer::start(Config::new(KEY)).unwrap();
    resend.schedule(2, Fault::Throttle { retry_after: 1 });
    resend.schedule(4, Fault::Throttle { retry_after: 1 });
    let o = run(w.send_cmd(&resend, &["--batch-size=1", "--rate=50"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("sent", 6)]));
    assert_each_once(&resend, &people);
    let reqs = resend.requests();
    assert!(
        reqs.iter().filter(|r| r.status == 429).count() >= 2,
        "{reqs:?}"
    );
    assert!(
        stderr(&o).contains("throttled (429 rate_limit_exceeded)"),
        "{}",
        stderr(&o)
    );
    assert!(stderr(&o).contains("failed=0"), "{}", stderr(&o));
}

#[test]
fn server_error_mid_batch_is_retried_without_duplicates() {
    let people = crowd(6);
    let w = World::new(&people);
    let resend = resend();
    // Batch 2 goes out but answers 500; its first retry meets a plain 500; the second retry
    // is answered from the idempotency store.
    resend.schedule(2, Fault::ErrorAfterDelivery);
    resend.schedule(3, Fault::ErrorBefore);
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("sent", 6)]));
    assert_each_once(&resend, &people);
    assert_eq!(resend.replays(), 1);
    let reqs = resend.requests();
    assert_eq!(reqs.len(), 5);
    assert_eq!(reqs[1].idempotency_key, reqs[3].idempotency_key);
    assert!(
        stderr(&o).contains("retrying with the same Idempotency-Key"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn persistent_server_errors_fail_the_batch_and_a_rerun_settles_it() {
    let people = crowd(4);
    let w = World::new(&people);
    let resend = resend();
    resend.schedule(1, Fault::ErrorAfterDelivery);
    for n in 2..=3 {
        resend.schedule(n, Fault::ErrorBefore);
    }
    let o = run(w.send_cmd(&resend, &["--batch-size=2", "--max-retries=2"]));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("failed", 2), ("sent", 2)]));
    let failed = lines(&o)
        .into_iter()
        .find(|l| l["status"] == "failed")
        .unwrap();
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("delivery unknown"),
        "{failed}"
    );
    // The first batch did go out; the re-run replays it rather than mailing again.
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("already-sent", 2), ("sent", 2)]));
    assert!(lines(&o).iter().any(|l| l["replayed"] == true));
    assert_each_once(&resend, &people);
}

#[test]
fn killed_mid_run_then_rerun_delivers_each_recipient_exactly_once() {
    let people = crowd(10);
    let w = World::new(&people);
    let resend = resend();
    // Batch 3 is delivered, but its answer never reaches the mailer before the kill.
    resend.hang_after_batch(3, Duration::from_secs(60));
    let mut child = w
        .send_cmd(&resend, &["--batch-size=2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while resend.accepted_batches() < 3 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
        assert!(waited < 6000, "the mailer never reached batch 3");
    }
    child.kill().unwrap();
    child.wait().unwrap();
    resend.clear_hang();

    let log = w.sent_log();
    assert_eq!(log.matches(r#""type":"sent""#).count(), 4, "{log}");
    assert_eq!(log.matches(r#""type":"intent""#).count(), 3, "{log}");
    assert_eq!(resend.deliveries().len(), 6, "three batches went out");

    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("already-sent", 4), ("sent", 6)]));
    let replayed: Vec<Value> = lines(&o)
        .into_iter()
        .filter(|l| l["replayed"] == true)
        .collect();
    assert_eq!(replayed.len(), 2);
    assert_each_once(&resend, &people);
    assert_eq!(resend.replays(), 1);
}

#[test]
fn killed_after_logging_rerun_is_exact_through_the_sent_log_alone() {
    let people = crowd(7);
    let w = World::new(&people);
    let resend = resend();
    let o = run(w.send_cmd(&resend, &["--batch-size=2", "--stop-after-batches=2"]));
    assert_eq!(code(&o), 137);
    assert_eq!(resend.deliveries().len(), 4);
    // Past Resend's 24 hours: only our log remembers.
    resend.forget_idempotency_keys();
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("already-sent", 4), ("sent", 3)]));
    assert_each_once(&resend, &people);
    assert_eq!(resend.replays(), 0);
}

#[test]
fn send_without_key_does_nothing_and_exits_2() {
    let w = World::new(&crowd(3));
    let resend = resend();
    let report = w.path("r.json");
    let mut c = w.send_cmd(&resend, &[&format!("--json={}", report.display())]);
    c.env_remove("RESEND_API_KEY");
    let o = run(c);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("RESEND_API_KEY is not set"),
        "{}",
        stderr(&o)
    );
    assert!(o.stdout.is_empty());
    assert!(resend.requests().is_empty());
    assert!(!w.path("sent.ndjson").exists());
    assert!(!report.exists());
    // A blank key is no key.
    let mut c = w.send_cmd(&resend, &[]);
    c.env("RESEND_API_KEY", "  ");
    assert_eq!(code(&run(c)), 2);
    assert!(resend.requests().is_empty());
}

#[test]
fn mode_flags_are_required_and_exclusive() {
    let w = World::new(&crowd(1));
    let o = run(w.mailer(&["send"]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("refusing to run without --dry-run or --send"));
    let o = run(w.mailer(&["send", "--dry-run", "--send"]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--dry-run and --send are mutually exclusive"));
    let mut c = w.mailer(&["send", "--send"]);
    c.env("RESEND_API_KEY", KEY);
    let o = run(c);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("--send needs --sent-log"),
        "{}",
        stderr(&o)
    );
    let o = run(w.mailer(&["send", "--dry-run", "--batch-size=101"]));
    assert_eq!(code(&o), 2);
}

#[test]
fn dry_run_contacts_nobody_and_consults_the_sent_log() {
    let people = crowd(3);
    let w = World::new(&people);
    let resend = resend();
    let o = run(w.send_cmd(&resend, &["--batch-size=1", "--stop-after-batches=1"]));
    assert_eq!(code(&o), 137);
    let before = resend.requests().len();
    let report = w.path("dry.json");
    let o = run(w.mailer(&[
        "send",
        "--dry-run",
        &format!("--api-base={}", resend.url()),
        &format!("--sent-log={}", w.path("sent.ndjson").display()),
        &format!("--json={}", report.display()),
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        statuses(&o),
        counts(&[("already-sent", 1), ("would-send", 2)])
    );
    assert_eq!(resend.requests().len(), before);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["mode"], "dry-run");
    assert_eq!(r["sent"], 0);
    assert_eq!(r["recipients"].as_array().unwrap().len(), 3);
    assert_eq!(r["skipped"][0]["reason"], "already-sent");
}

#[test]
fn recipients_from_a_pipe_of_mailer_select() {
    let mut people = crowd(3);
    people.push(P::new(9, "dup").email("U1@example.com"));
    let w = World::new(&people);
    let resend = resend();
    let mut select = w
        .mailer(&["select"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut send = w.send_cmd(&resend, &["--recipients=-"]);
    send.stdin(Stdio::from(select.stdout.take().unwrap()));
    let o = run(send);
    assert!(select.wait().unwrap().success());
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("sent", 3)]));
    assert_each_once(&resend, &people[..3]);

    // Hand-made input: duplicates and bad addresses are left out with a reason.
    let input = w.path("in.ndjson");
    let mut f = std::fs::File::create(&input).unwrap();
    for (n, email) in [
        (1, "u1@example.com"),
        (20, "x@example.invalid"),
        (21, "not an address"),
        (22, "new@example.com"),
        (22, "new2@example.com"),
    ] {
        writeln!(
            f,
            "{}",
            json!({"personId": uuid(n), "slug": format!("p{n}"), "email": email, "fullName": null})
        )
        .unwrap();
    }
    drop(f);
    let report = w.path("r.json");
    let o = run(w.send_cmd(
        &resend,
        &[
            &format!("--recipients={}", input.display()),
            &format!("--json={}", report.display()),
        ],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(
        statuses(&o),
        counts(&[("already-sent", 1), ("sent", 1), ("skipped", 1)])
    );
    assert_eq!(resend.deliveries_to("new@example.com"), 1);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let reasons: Vec<&str> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["reason"].as_str().unwrap())
        .collect();
    assert_eq!(
        reasons,
        [
            "invalid-email",
            "invalid-email",
            "already-sent",
            "duplicate-person"
        ]
    );

    std::fs::write(
        &input,
        format!(
            "{}\n",
            json!({"v": 2, "personId": uuid(30), "slug": "x", "email": "x@example.com", "fullName": null})
        ),
    )
    .unwrap();
    let o = run(w.send_cmd(&resend, &[&format!("--recipients={}", input.display())]));
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("version 2 is not supported"),
        "{}",
        stderr(&o)
    );
    assert_eq!(resend.deliveries_to("x@example.com"), 0);

    std::fs::write(&input, "{\"slug\":\"x\"}\n").unwrap();
    let o = run(w.send_cmd(&resend, &[&format!("--recipients={}", input.display())]));
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains(":1: not a recipient line"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn template_dir_overrides_the_three_templates() {
    let people = vec![P::new(1, "ann").name("Ann & Co").email("ann@example.com")];
    let w = World::new(&people);
    let resend = resend();
    let t = w.path("templates");
    std::fs::create_dir_all(&t).unwrap();
    std::fs::write(t.join("subject.txt"), "Hello {{name}}\n").unwrap();
    std::fs::write(t.join("body.txt"), "Claim @{{slug}} at {{claimUrl}}\n").unwrap();
    std::fs::write(
        t.join("body.html"),
        "<style>p { margin: 0 }</style><p>{{name}}</p>\n",
    )
    .unwrap();
    let o = run(w.send_cmd(&resend, &[&format!("--template-dir={}", t.display())]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let e = &resend.emails()[0];
    assert_eq!(e.subject, "Hello Ann & Co");
    assert_eq!(
        e.text.as_deref(),
        Some("Claim @ann at https://cfp.example.org/login")
    );
    assert_eq!(
        e.html.as_deref(),
        Some("<style>p { margin: 0 }</style><p>Ann &amp; Co</p>")
    );

    std::fs::write(t.join("body.html"), "<p>{{nmae}}</p>").unwrap();
    let o = run(w.send_cmd(&resend, &[&format!("--template-dir={}", t.display())]));
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unknown placeholder {{nmae}}"),
        "{}",
        stderr(&o)
    );
    std::fs::remove_file(t.join("body.html")).unwrap();
    let o = run(w.mailer(&[
        "send",
        "--dry-run",
        &format!("--template-dir={}", t.display()),
    ]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("body.html"), "{}", stderr(&o));
}

#[test]
fn wrong_key_stops_the_run_with_exit_2() {
    let people = crowd(3);
    let w = World::new(&people);
    let resend = ResendServer::start(Config::new("re_the_real_one")).unwrap();
    let report = w.path("r.json");
    let o = run(w.send_cmd(
        &resend,
        &["--batch-size=1", &format!("--json={}", report.display())],
    ));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(stderr(&o).contains("403 invalid_api_key"), "{}", stderr(&o));
    assert_eq!(resend.requests().len(), 1, "stops at the first refusal");
    assert!(resend.deliveries().is_empty());
    assert_eq!(statuses(&o), counts(&[("failed", 3)]));
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(r["failed"].as_array().unwrap().len(), 3);
    assert!(r["error"].as_str().unwrap().contains("refused the API key"));
}

#[test]
fn no_output_contains_the_key() {
    let people = crowd(5);
    let w = World::new(&people);
    let mut outputs = Vec::new();

    // A good run with throttling and 5xx along the way.
    let resend = resend();
    resend.schedule(1, Fault::ErrorBefore);
    resend.schedule(2, Fault::Throttle { retry_after: 0 });
    let report = w.path("r1.json");
    let o = run(w.send_cmd(
        &resend,
        &["--batch-size=2", &format!("--json={}", report.display())],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    outputs.push(stdout(&o) + &stderr(&o));
    outputs.push(std::fs::read_to_string(&report).unwrap());

    // A server that refuses it.
    let other = ResendServer::start(Config::new("re_other")).unwrap();
    let report = w.path("r2.json");
    let mut c = w.send_cmd(&other, &[&format!("--json={}", report.display())]);
    c.env("RESEND_API_KEY", KEY);
    std::fs::remove_file(w.path("sent.ndjson")).unwrap();
    let o = run(c);
    assert_eq!(code(&o), 2);
    outputs.push(stdout(&o) + &stderr(&o));
    outputs.push(std::fs::read_to_string(&report).unwrap());
    outputs.push(w.sent_log());

    // An unreachable endpoint (connection refused, retried, given up). Port 1 is never served
    // here; a freed ephemeral port could be reused by a parallel test's stand-in.
    let dead = "http://127.0.0.1:1";
    let o = run({
        let mut c = w.mailer(&[
            "send",
            "--send",
            &format!("--api-base={dead}"),
            &format!("--sent-log={}", w.path("sent2.ndjson").display()),
            "--backoff=1ms",
            "--max-retries=1",
        ]);
        c.env("RESEND_API_KEY", KEY);
        c
    });
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    outputs.push(stdout(&o) + &stderr(&o));

    // Help and version.
    for args in [["send", "--help"], ["select", "--help"]] {
        let mut c = w.mailer(&args);
        c.env("RESEND_API_KEY", KEY);
        outputs.push(stdout(&run(c)));
    }
    for out in &outputs {
        assert!(!out.is_empty());
        assert!(!out.contains(KEY), "the key leaked into: {out}");
        assert!(!out.contains("SECRET"), "the key leaked into: {out}");
    }
}

#[test]
fn in_flight_batch_older_than_resends_window_is_not_replayed_blindly() {
    let people = crowd(3);
    let w = World::new(&people);
    let resend = resend();
    // A batch of persons 1 and 2 was in flight when a run died two days ago.
    let member = |n: u32| json!({"personId": uuid(n), "email": format!("u{n}@example.com"), "idempotencyKey": format!("t90-reminder/{}", uuid(n))});
    let intent = json!({
        "type": "intent", "campaign": "t90-reminder", "requestKey": "t90-reminder/batch-old",
        "at": "2020-01-01T00:00:00.000Z", "recipients": [member(1), member(2)],
        "body": [{"from": "hello@codeforphilly.org", "to": ["u1@example.com"], "subject": "s", "text": "t"},
                 {"from": "hello@codeforphilly.org", "to": ["u2@example.com"], "subject": "s", "text": "t"}],
    });
    std::fs::write(w.path("sent.ndjson"), format!("{intent}\n")).unwrap();

    let o = run(w.send_cmd(&resend, &[]));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("failed", 2), ("sent", 1)]));
    let failed = lines(&o)
        .into_iter()
        .find(|l| l["status"] == "failed")
        .unwrap();
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .contains("--resend-uncertain"),
        "{failed}"
    );
    assert_eq!(resend.deliveries().len(), 1);

    // The operator checked the Resend logs and decides to mail them.
    let o = run(w.send_cmd(&resend, &["--resend-uncertain"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("already-sent", 1), ("sent", 2)]));
    assert_each_once(&resend, &people);
    assert!(w.sent_log().contains(r#""type":"abandoned""#));
    // Settled: a third run mails nobody and reports nothing uncertain.
    let o = run(w.send_cmd(&resend, &[]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("already-sent", 3)]));
}

#[test]
fn one_refused_address_fails_alone_not_its_whole_batch() {
    let people = crowd(5);
    let w = World::new(&people);
    let resend = resend();
    resend.reject_address("u2@example.com");
    let o = run(w.send_cmd(&resend, &["--batch-size=3"]));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("failed", 1), ("sent", 4)]));
    let failed = lines(&o)
        .into_iter()
        .find(|l| l["status"] == "failed")
        .unwrap();
    assert_eq!(failed["email"], "u2@example.com");
    assert!(
        failed["error"]
            .as_str()
            .unwrap()
            .starts_with("422 validation_error"),
        "{failed}"
    );
    // The refused batch, then its three recipients one by one, then the last batch.
    assert_eq!(
        resend
            .requests()
            .iter()
            .map(|r| (r.emails, r.status))
            .collect::<Vec<_>>(),
        [(3, 422), (1, 200), (1, 422), (1, 200), (2, 200)]
    );
    let mut others = people.clone();
    others.retain(|p| p.email.as_deref() != Some("u2@example.com"));
    assert_each_once(&resend, &others);
    // Nothing is left in flight: a re-run only retries the refused one.
    let o = run(w.send_cmd(&resend, &["--batch-size=3"]));
    assert_eq!(statuses(&o), counts(&[("already-sent", 4), ("failed", 1)]));
    assert_eq!(resend.requests().len(), 6);
}

#[test]
fn selects_from_an_s3_private_store_and_sends() {
    use private_store::testing::{MotoServer, raw_put};
    let people = vec![
        P::new(1, "ann").email("ann@example.com"),
        P::new(2, "ben").email("ben@example.com").github(7),
        P::new(3, "cy").email("cy@example.com"),
    ];
    let w = World::new(&people);
    let moto = MotoServer::start();
    let cfg = moto.bucket("private");
    let profiles = std::fs::read(w.path("private/profiles.jsonl")).unwrap();
    raw_put(&cfg, "profiles.jsonl", &profiles);
    let resend = resend();
    let mut c = w.send_cmd(&resend, &[]);
    c.env_remove("CFP_PRIVATE_STORAGE_PATH");
    for (k, v) in MotoServer::env(&cfg) {
        c.env(k, v);
    }
    let o = run(c);
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("sent", 2)]));
    assert_eq!(
        resend.deliveries(),
        BTreeMap::from([
            ("ann@example.com".to_owned(), 1),
            ("cy@example.com".to_owned(), 1)
        ])
    );
}

#[test]
fn a_second_sender_on_the_same_sent_log_is_refused() {
    let people = crowd(4);
    let w = World::new(&people);
    let resend = resend();
    resend.hang_after_batch(1, Duration::from_secs(60));
    let mut first = w
        .send_cmd(&resend, &["--batch-size=2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while resend.accepted_batches() < 1 {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
        assert!(waited < 6000, "the first mailer never sent");
    }
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 2, "{}", stderr(&o));
    assert!(
        stderr(&o).contains("locked by another mailer"),
        "{}",
        stderr(&o)
    );
    assert_eq!(resend.accepted_batches(), 1);
    first.kill().unwrap();
    first.wait().unwrap();
    resend.clear_hang();
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_each_once(&resend, &people);
}

#[test]
fn a_lost_sent_log_does_not_mail_twice_within_resends_key_window() {
    let people = crowd(4);
    let w = World::new(&people);
    let resend = resend();
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // The log is lost and the wording changed: the same batches get the same keys, and Resend
    // refuses the new content under a known key.
    std::fs::remove_file(w.path("sent.ndjson")).unwrap();
    let o = run(w.send_cmd(
        &resend,
        &["--batch-size=2", "--from=other@codeforphilly.org"],
    ));
    assert_eq!(code(&o), 1, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("failed", 4)]));
    let l = &lines(&o)[0];
    assert!(
        l["error"].as_str().unwrap().contains("most likely mailed"),
        "{l}"
    );
    assert_each_once(&resend, &people);
    // Same wording: Resend replays, nothing is sent, the log is rebuilt.
    std::fs::remove_file(w.path("sent.ndjson")).unwrap();
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("sent", 4)]));
    assert_each_once(&resend, &people);
    assert_eq!(resend.replays(), 2);
}

#[test]
fn connection_reset_after_delivery_is_retried_without_duplicates() {
    let people = crowd(4);
    let w = World::new(&people);
    let resend = resend();
    resend.schedule(1, Fault::ResetAfterDelivery);
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(statuses(&o), counts(&[("sent", 4)]));
    assert_each_once(&resend, &people);
    assert_eq!(resend.replays(), 1);
}

/// A 429 whose `retry-after` is an HTTP-date an hour away is read as that date (about
/// 3,600 s), not as a malformed header falling back to backoff: it is over `--max-wait`, so
/// the run stops naming the wait, with no hour spent waiting and nothing sent twice.
#[test]
fn a_retry_after_http_date_is_read_as_the_wait_until_that_date() {
    let people = crowd(2);
    let w = World::new(&people);
    let resend = resend();
    let in_an_hour = std::time::SystemTime::now() + Duration::from_secs(3600);
    resend.schedule(1, Fault::ThrottleUntil(in_an_hour));
    let o = run(w.send_cmd(&resend, &["--batch-size=2"]));
    // The reason is each failed recipient's `error` on stdout.
    let err = stdout(&o) + &stderr(&o);
    let secs: u64 = err
        .split_once("Resend asks to wait ")
        .and_then(|(_, rest)| rest.split_once("s, longer than --max-wait"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{err}"));
    assert!((3590..=3600).contains(&secs), "{err}");
    let reqs = resend.requests();
    assert_eq!(reqs.len(), 1, "{reqs:?}");
    assert_eq!(reqs[0].status, 429);
    assert_ne!(code(&o), 0, "{err}");
}
