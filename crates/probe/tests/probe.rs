//! The `probe` binary against the stand-in target on loopback, over a real bare data repo.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{FAST, Repo, lines, probe, roomy, stderr, stdout};
use fixtures::http::{Request, Response, Server};
use fixtures::target::{Fault, SlugSheet, TargetOptions};
use serde_json::{Value, json};

fn failing(results: &[Value]) -> BTreeSet<String> {
    results
        .iter()
        .filter(|r| r["ok"] != true)
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect()
}

fn by_name<'a>(results: &'a [Value], name: &str) -> &'a Value {
    results
        .iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no result {name}"))
}

#[test]
fn correct_target_every_probe_passes() {
    let repo = Repo::new();
    let target = repo.target(roomy());
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("smoke.json");
    let url = target.url();
    let mut args = vec![
        format!("--target={url}"),
        format!("--data-repo={}", repo.bare()),
        "--sample=100".into(),
        "--seed=t-3".into(),
        format!("--json={}", report.display()),
    ];
    args.extend(FAST.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(&args, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = lines(&stdout(&out));
    assert!(failing(&results).is_empty(), "{:?}", failing(&results));

    // Every family is there: 62 live people, 1 deleted, 29 live projects, 1 deleted, 29 legacy
    // IDs twice, 1 unambiguous buzz, 3 tags, 4 live slug-history entries, 6 fixed probes.
    let kinds: Vec<&str> = results
        .iter()
        .map(|r| r["kind"].as_str().unwrap())
        .collect();
    let count = |k: &str| kinds.iter().filter(|x| **x == k).count();
    assert_eq!(count("person"), 62);
    assert_eq!(count("person-deleted"), 1);
    assert_eq!(count("project"), 29);
    assert_eq!(count("project-deleted"), 1);
    assert_eq!(count("project-legacy"), 29);
    assert_eq!(count("project-updates-legacy"), 29);
    assert_eq!(count("buzz"), 1);
    assert_eq!(count("tag"), 3);
    assert_eq!(count("slug-history"), 4);
    assert_eq!(results.len(), 62 + 1 + 29 + 1 + 29 + 29 + 1 + 3 + 4 + 6);

    // Redirects were recorded, not followed.
    let legacy = by_name(&results, "project-legacy:7");
    assert_eq!(legacy["url"], format!("{url}/projects?ID=7"));
    assert_eq!(legacy["status"], 301);
    assert_eq!(legacy["location"], "/projects/mp");
    assert_eq!(
        legacy["expected"],
        json!({"status": 301, "location": "/projects/mp"})
    );
    assert_eq!(
        by_name(&results, "slug-history:person:a1")["location"],
        "/members/bob"
    );
    assert_eq!(by_name(&results, "chat")["status"], 302);
    assert_eq!(by_name(&results, "checkin")["status"], 410);

    // The report: the reference's smokeChecks entries plus the expectation.
    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["passed"], true);
    assert_eq!(report["target"], url);
    assert_eq!(report["seed"], "t-3");
    assert_eq!(report["commit"], repo.tip());
    let checks = report["smokeChecks"].as_array().unwrap();
    assert_eq!(checks.len(), results.len());
    for (c, r) in checks.iter().zip(&results) {
        assert_eq!(c, r);
        for key in ["name", "url", "status", "ok", "durationMs", "expected"] {
            assert!(c.get(key).is_some(), "{key} in {c}");
        }
    }
    let person = report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|k| k["kind"] == "person")
        .unwrap();
    assert_eq!(
        person,
        &json!({"kind": "person", "probes": 62, "ok": 62, "failed": 0, "examples": []})
    );
}

#[test]
fn each_fault_is_caught_and_named() {
    let repo = Repo::new();
    let cases: Vec<(Fault, Vec<&str>, &str)> = vec![
        (
            Fault::LegacyLocation {
                legacy_id: 7,
                location: "/projects/wrong".into(),
            },
            vec!["project-legacy:7"],
            "Location /projects/wrong (expected /projects/mp)",
        ),
        (
            Fault::UnknownLegacyId(100),
            vec!["project-legacy:100", "project-updates-legacy:100"],
            "status 200 (expected 301); no Location (expected /projects/transit-app)",
        ),
        (
            Fault::MissingSlug {
                sheet: SlugSheet::People,
                slug: "bob".into(),
            },
            vec!["person:bob"],
            "status 404 (expected 200); body success is not true; no data.slug (expected bob)",
        ),
        (Fault::ReadyStuck, vec!["health-ready"], "still 503 after"),
        (
            Fault::SamlMetadata500,
            vec!["saml-metadata"],
            "status 500 (expected 200); Content-Type \"application/json; charset=utf-8\" (expected application/samlmetadata+xml)",
        ),
    ];
    for (fault, names, note) in cases {
        let target = repo.target(TargetOptions {
            faults: vec![fault.clone()],
            ..roomy()
        });
        let plan = probe(
            &[
                "plan",
                &format!("--data-repo={}", repo.bare()),
                "--sample=100",
                "--seed=s",
            ],
            "",
        );
        assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
        let out = probe(
            &[
                "run",
                &format!("--target={}", target.url()),
                "--rate-limit=100000",
                "--ready-interval-ms=20",
                "--ready-wait-ms=300",
            ],
            &stdout(&plan),
        );
        assert_eq!(out.status.code(), Some(1), "{fault:?}: {}", stderr(&out));
        let results = lines(&stdout(&out));
        let want: BTreeSet<String> = names.iter().map(|s| s.to_string()).collect();
        assert_eq!(failing(&results), want, "{fault:?}");
        for name in &names {
            let r = by_name(&results, name);
            let got = r["note"].as_str().unwrap();
            assert!(got.starts_with(note), "{fault:?} {name}: {got}");
            // Named on stderr too, for the operator.
            assert!(
                stderr(&out).contains(&format!("FAIL {name} ")),
                "{}",
                stderr(&out)
            );
        }
    }
}

/// 100 probes, 93 of them counted by the limiter, against a 60-per-window stand-in.
fn hundred_specs(repo: &Repo) -> String {
    let plan = probe(
        &[
            "plan",
            &format!("--data-repo={}", repo.bare()),
            "--sample=100",
            "--seed=r",
            "--no-fixed",
        ],
        "",
    );
    assert_eq!(plan.status.code(), Some(0), "{}", stderr(&plan));
    let text = stdout(&plan);
    let specs: Vec<&str> = text.lines().take(100).collect();
    assert_eq!(specs.len(), 100);
    specs.join("\n") + "\n"
}

fn limited() -> TargetOptions {
    TargetOptions {
        rate_window: Duration::from_secs(2),
        limit_get: 60,
        ..roomy()
    }
}

#[test]
fn hundred_probes_waiting_out_429s_never_fail_from_throttling() {
    let repo = Repo::new();
    let specs = hundred_specs(&repo);
    let target = repo.target(limited());
    // No client-side pacing at all: the target must throttle, and Retry-After is honoured.
    let out = probe(
        &[
            "run",
            &format!("--target={}", target.url()),
            "--rate-limit=100000",
            "--concurrency=4",
        ],
        &specs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = lines(&stdout(&out));
    assert_eq!(results.len(), 100);
    assert!(failing(&results).is_empty(), "{:?}", failing(&results));
    assert!(
        target.throttled_requests() > 0,
        "the limit was never reached"
    );
    let waited: u64 = results
        .iter()
        .map(|r| r["throttled"].as_u64().unwrap())
        .sum();
    assert_eq!(waited, target.throttled_requests());
    assert!(stderr(&out).contains("429s waited out"));
}

#[test]
fn hundred_probes_paced_under_the_limit_are_never_throttled() {
    let repo = Repo::new();
    let specs = hundred_specs(&repo);
    let target = repo.target(limited());
    let out = probe(
        &[
            "run",
            &format!("--target={}", target.url()),
            "--rate-limit=40",
            "--rate-window-ms=2000",
            "--concurrency=4",
        ],
        &specs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = lines(&stdout(&out));
    assert_eq!(results.len(), 100);
    assert!(failing(&results).is_empty(), "{:?}", failing(&results));
    assert_eq!(target.counted_requests(), 93);
    assert_eq!(target.throttled_requests(), 0);
}

#[test]
fn same_seed_same_plan_and_exact_expectations() {
    let repo = Repo::new();
    let plan = |extra: &[&str]| {
        let mut args = vec!["plan".to_owned(), format!("--data-repo={}", repo.bare())];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = probe(&args, "");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stdout(&out)
    };
    let a = plan(&["--sample=5", "--seed=abc"]);
    assert_eq!(a, plan(&["--sample=5", "--seed=abc"]));
    assert_ne!(a, plan(&["--sample=5", "--seed=xyz"]));
    // The default seed is the branch tip: the same data gives the same plan.
    let tip = repo.tip();
    assert_eq!(
        plan(&["--sample=5"]),
        plan(&["--sample=5", &format!("--seed={tip}")])
    );
    assert_eq!(
        lines(&a).iter().filter(|s| s["kind"] == "person").count(),
        5
    );

    let all = plan(&["--sample=100", "--seed=abc"]);
    for line in [
        r#"{"v":1,"name":"person:alice","kind":"person","path":"/api/people/alice","expect":{"status":200,"apiSlug":"alice"}}"#,
        r#"{"v":1,"name":"person-deleted:carol","kind":"person-deleted","path":"/api/people/carol","expect":{"status":404,"apiError":"not_found"}}"#,
        r#"{"v":1,"name":"project-legacy:7","kind":"project-legacy","path":"/projects?ID=7","expect":{"status":301,"location":"/projects/mp"}}"#,
        r#"{"v":1,"name":"project-updates-legacy:100","kind":"project-updates-legacy","path":"/project-updates?ProjectID=100","expect":{"status":301,"location":"/projects/transit-app"}}"#,
        r#"{"v":1,"name":"buzz:news-story","kind":"buzz","path":"/project-buzz/news-story","expect":{"status":301,"location":"/projects/mp/buzz/news-story"}}"#,
        r#"{"v":1,"name":"tag:topic.transit","kind":"tag","path":"/tags/topic.transit","expect":{"status":301,"location":"/tags/topic/transit"}}"#,
        r#"{"v":1,"name":"slug-history:person:a1","kind":"slug-history","path":"/members/a1","expect":{"status":301,"location":"/members/bob"}}"#,
        r#"{"v":1,"name":"slug-history:project:old-transit","kind":"slug-history","path":"/projects/old-transit","expect":{"status":301,"location":"/projects/transit-app"}}"#,
        r#"{"v":1,"name":"health-ready","kind":"health-ready","path":"/api/health/ready","expect":{"status":200,"warmup":true}}"#,
        r#"{"v":1,"name":"oauth-start","kind":"oauth-start","path":"/api/auth/github/start","expect":{"status":302,"locationPrefix":""}}"#,
        r#"{"v":1,"name":"checkin","kind":"checkin","path":"/checkin","expect":{"status":410}}"#,
    ] {
        assert!(all.lines().any(|l| l == line), "missing {line}");
    }
    // Left out: the deleted project's legacy ID, the buzz slug two projects share, expired history.
    for absent in [
        "project-legacy:9",
        "buzz:launch-party",
        "slug-history:project:gone",
    ] {
        assert!(!all.contains(&format!("\"name\":\"{absent}\"")), "{absent}");
    }
}

#[test]
fn run_reads_stdin_and_judges_exactly() {
    let repo = Repo::new();
    let target = repo.target(roomy());
    let specs = concat!(
        r#"{"v":1,"name":"follow-would-pass","kind":"x","path":"/projects?ID=7","expect":{"status":200}}"#,
        "\n",
        r#"{"v":1,"name":"unknown-id","kind":"x","path":"/projects?ID=424242","expect":{"status":301,"location":"/projects/x"}}"#,
        "\n\n",
        r#"{"v":1,"name":"query-kept","kind":"x","path":"/projects?ID=7&tab=updates","expect":{"status":301,"location":"/projects/mp?tab=updates"}}"#,
        "\n",
    );
    let out = probe(
        &["run", &format!("--target={}/", target.url()), FAST[0]],
        specs,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let results = lines(&stdout(&out));
    assert_eq!(results.len(), 3);
    assert_eq!(results[0]["status"], 301, "the redirect was not followed");
    assert_eq!(results[0]["note"], "status 301 (expected 200)");
    assert_eq!(results[1]["status"], 200);
    assert_eq!(results[2]["ok"], true);
    assert_eq!(
        results[2]["url"],
        format!("{}/projects?ID=7&tab=updates", target.url())
    );

    let bad = probe(
        &["run", &format!("--target={}", target.url())],
        "{\"v\":1}\n",
    );
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("stdin line 1: not a probe spec"),
        "{}",
        stderr(&bad)
    );
}

#[test]
fn ready_is_retried_while_warming() {
    let repo = Repo::new();
    let target = repo.target(TargetOptions {
        warmup_requests: 3,
        ..roomy()
    });
    let spec = r#"{"v":1,"name":"health-ready","kind":"health-ready","path":"/api/health/ready","expect":{"status":200,"warmup":true}}"#;
    let out = probe(
        &[
            "run",
            &format!("--target={}", target.url()),
            "--ready-interval-ms=10",
        ],
        spec,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = &lines(&stdout(&out))[0];
    assert_eq!(r["attempts"], 4);
    assert_eq!(r["note"], "answered 503 (warming) 3 times first");
}

#[test]
fn a_slow_target_times_out_with_null_status() {
    let slow = Server::start(|_: &Request| {
        Response::json(200, r#"{"success":true}"#).with_delay(Duration::from_secs(3))
    })
    .unwrap();
    let spec =
        r#"{"v":1,"name":"health","kind":"health","path":"/api/health","expect":{"status":200}}"#;
    let out = probe(
        &[
            "run",
            &format!("--target={}", slow.url()),
            "--timeout-ms=200",
        ],
        spec,
    );
    assert_eq!(out.status.code(), Some(1));
    let r = &lines(&stdout(&out))[0];
    assert_eq!(r["status"], Value::Null);
    assert_eq!(r["ok"], false);
    assert!(r["note"].as_str().unwrap().starts_with("timed out"), "{r}");
}

#[test]
fn usage_and_fatal_errors_exit_2() {
    let repo = Repo::new();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (vec![], "give --target"),
        (vec!["plan".into()], "missing --data-repo"),
        (
            vec![
                "plan".into(),
                format!("--data-repo={}", repo.dir.path().join("work").display()),
            ],
            "is not a bare repository",
        ),
        (
            vec![
                "plan".into(),
                format!("--data-repo={}", repo.bare()),
                "--branch=nope".into(),
            ],
            "branch nope does not exist",
        ),
        (
            vec![
                "--target=ftp://x".into(),
                format!("--data-repo={}", repo.bare()),
            ],
            "must be an http:// or https:// base URL",
        ),
        (vec!["--target".into()], "a value is required"),
        (
            vec!["run".into(), "--target=http://127.0.0.1:9".into()],
            "no probe specs on stdin",
        ),
    ];
    for (args, msg) in cases {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = probe(&args, "");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(msg), "{args:?}: {}", stderr(&out));
        assert!(stdout(&out).is_empty());
    }
    // A branch without records still plans the fixed probes, and says so.
    let out = probe(
        &[
            "plan",
            &format!("--data-repo={}", repo.bare()),
            "--branch=empty",
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(lines(&stdout(&out)).len(), 6);
    assert!(
        stderr(&out).contains("people: no records on branch empty"),
        "{}",
        stderr(&out)
    );
    // The environment variable works as --data-repo does.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_probe"))
        .args(["plan", "--sample=1"])
        .env("CFP_DATA_REPO_PATH", repo.bare())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn a_closed_stdout_ends_the_run_quietly() {
    use std::io::{BufRead, BufReader, Write};
    use std::process::{Command, Stdio};
    let repo = Repo::new();
    let target = repo.target(roomy());
    let spec =
        r#"{"v":1,"name":"health","kind":"health","path":"/api/health","expect":{"status":200}}"#;
    let specs = format!("{spec}\n").repeat(3000);
    let mut child = Command::new(env!("CARGO_BIN_EXE_probe"))
        .args(["run", &format!("--target={}", target.url()), FAST[0]])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(specs.as_bytes()));
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.contains("\"name\":\"health\""), "{first}");
    // The reader is dropped here: the pipe closes while probe still has results to write.
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(target.request_count() < 3000, "the run stopped early");
}

#[test]
fn resolve_pins_a_host_to_an_address_before_the_dns_flip() {
    let repo = Repo::new();
    let target = repo.target(roomy());
    let port = target.url().rsplit(':').next().unwrap().to_owned();
    let specs = concat!(
        r#"{"v":1,"name":"oauth-start","kind":"oauth-start","path":"/api/auth/github/start","expect":{"status":302,"locationPrefix":""}}"#,
        "\n",
        r#"{"v":1,"name":"person:alice","kind":"person","path":"/api/people/alice","expect":{"status":200,"apiSlug":"alice"}}"#,
        "\n",
    );
    let out = probe(
        &[
            "run",
            &format!("--target=http://cfp.invalid:{port}"),
            &format!("--resolve=cfp.invalid:{port}:127.0.0.1"),
        ],
        specs,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let results = lines(&stdout(&out));
    assert_eq!(
        results[1]["url"],
        format!("http://cfp.invalid:{port}/api/people/alice")
    );
    // The target saw the pinned name in Host (it builds the OAuth callback from it).
    let location = results[0]["location"].as_str().unwrap();
    assert!(
        location.contains(&format!(
            "redirect_uri=http%3A%2F%2Fcfp.invalid%3A{port}%2F"
        )),
        "{location}"
    );
}

/// A 429 whose `Retry-After` is an HTTP-date an hour away is read as that date (about 3,600 s
/// from now), not as a malformed header falling back to backoff: the wait is over
/// `--max-retry-after`, so the probe fails naming it, with no hour spent waiting.
#[test]
fn a_retry_after_http_date_is_read_as_the_wait_until_that_date() {
    let repo = Repo::new();
    let specs: String = hundred_specs(&repo)
        .lines()
        .take(3)
        .map(|l| format!("{l}\n"))
        .collect();
    let target = repo.target(TargetOptions {
        rate_window: Duration::from_secs(3600),
        limit_get: 2,
        retry_after_date: true,
        ..roomy()
    });
    let out = probe(
        &[
            "run",
            &format!("--target={}", target.url()),
            "--rate-limit=100000",
            "--concurrency=1",
        ],
        &specs,
    );
    let results = lines(&stdout(&out));
    assert_eq!(results.len(), 3, "{}", stderr(&out));
    assert_eq!(target.throttled_requests(), 1, "one 429, not retried");
    let throttled = results.iter().find(|r| r["status"] == 429).expect("a 429");
    let note = throttled["note"].as_str().unwrap();
    let secs: u64 = note
        .strip_prefix("throttled: Retry-After ")
        .and_then(|rest| rest.split_once("s is over the 120s limit"))
        .and_then(|(n, _)| n.parse().ok())
        .unwrap_or_else(|| panic!("{note}"));
    assert!((3590..=3600).contains(&secs), "{note}");
}
