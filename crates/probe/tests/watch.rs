//! `probe watch` (the T+1h watch) against the stand-in target on loopback: the alarm rules of
//! `reference/F` §5 with deterministic outages (by request number, never by time).

mod common;

use common::{FAST, Repo, lines, probe, roomy, stderr, stdout};
use fixtures::target::{Fault, TargetOptions};
use serde_json::Value;

fn outage(path: &str, first: u64, count: u64) -> TargetOptions {
    TargetOptions {
        faults: vec![Fault::Outage {
            path: path.into(),
            first,
            count,
        }],
        ..roomy()
    }
}

/// Run `probe watch` for 10 rounds 5 ms apart; returns (exit code, round lines, end, stderr).
fn watch(url: &str, extra: &[&str]) -> (Option<i32>, Vec<Value>, Value, String) {
    let mut args = vec![
        "watch".to_owned(),
        format!("--target={url}"),
        "--interval=5ms".into(),
        "--duration=50ms".into(),
    ];
    args.extend(FAST.iter().map(|s| s.to_string()));
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(&args, "");
    let mut all = lines(&stdout(&out));
    let end = all.pop().expect("an end line");
    assert!(end.get("end").is_some(), "last line is the end line: {end}");
    assert!(all.iter().all(|r| r.get("round").is_some()));
    (out.status.code(), all, end["end"].clone(), stderr(&out))
}

fn health_ok(rounds: &[Value]) -> Vec<bool> {
    rounds.iter().map(|r| r["health"]["ok"] == true).collect()
}

#[test]
fn healthy_target_passes_every_round_with_readiness_and_smoke_every_fifth() {
    let repo = Repo::new();
    let target = repo.target(roomy());
    let data = format!("--data-repo={}", repo.bare());
    let (code, rounds, end, err) = watch(&target.url(), &[&data, "--seed=watch"]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rounds.len(), 10);
    assert_eq!(health_ok(&rounds), [true; 10]);
    let full: Vec<u64> = rounds
        .iter()
        .filter(|r| r.get("ready").is_some())
        .map(|r| r["round"].as_u64().unwrap())
        .collect();
    assert_eq!(full, [1, 6]);
    for r in rounds.iter().filter(|r| r.get("ready").is_some()) {
        assert_eq!(r["ready"]["status"], 200);
        // Smoke: the sampled records plus the fixed probes other than health and ready.
        assert!(r["smoke"]["probes"].as_u64().unwrap() > 4, "{r}");
        assert_eq!(r["smoke"]["failed"], 0, "{r}");
    }
    assert!(rounds.iter().all(|r| r.get("alarm").is_none()));
    assert_eq!(end["rounds"], 10);
    assert_eq!(end["planned"], 10);
    assert_eq!(end["passed"], true);
    assert!(
        err.contains("probe watch: no alarm; 10 of 10 rounds"),
        "{err}"
    );
}

#[test]
fn two_liveness_failures_in_a_row_alarm_and_name_the_round() {
    let repo = Repo::new();
    // /api/health requests 2 and 3 (rounds 3 and 4) answer 503.
    let target = repo.target(outage("/api/health", 2, 2));
    let (code, rounds, end, err) = watch(&target.url(), &[]);
    assert_eq!(code, Some(1), "{err}");
    // The watch stops at the alarm.
    assert_eq!(rounds.len(), 4);
    assert_eq!(health_ok(&rounds), [true, true, false, false]);
    assert_eq!(rounds[2]["livenessStreak"], 1);
    assert!(rounds[2].get("alarm").is_none());
    assert_eq!(rounds[3]["livenessStreak"], 2);
    assert_eq!(rounds[3]["health"]["status"], 503);
    assert_eq!(end["alarmRound"], 4);
    assert_eq!(end["livenessFailures"], 2);
    assert_eq!(end["passed"], false);
    let alarm = end["alarm"].as_str().unwrap();
    assert!(alarm.starts_with("liveness: /api/health failed 2 rounds in a row (rounds 3–4)"));
    assert!(err.contains("ALARM in round 4: liveness"), "{err}");
}

#[test]
fn a_single_liveness_blip_raises_no_alarm() {
    let repo = Repo::new();
    let target = repo.target(outage("/api/health", 2, 1));
    let (code, rounds, end, err) = watch(&target.url(), &[]);
    assert_eq!(code, Some(0), "{err}");
    assert_eq!(rounds.len(), 10);
    assert_eq!(
        health_ok(&rounds),
        [true, true, false, true, true, true, true, true, true, true]
    );
    assert_eq!(rounds[3]["livenessStreak"], 0);
    assert_eq!(end["livenessFailures"], 1);
    assert!(end.get("alarm").is_none());
    assert_eq!(end["passed"], true);
}

#[test]
fn one_readiness_failure_alarms() {
    let repo = Repo::new();
    // The second readiness request is round 6's (readiness runs in rounds 1, 6, 11, …).
    let target = repo.target(outage("/api/health/ready", 1, 1));
    let (code, rounds, end, err) = watch(&target.url(), &[]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(rounds.len(), 6);
    assert_eq!(rounds[5]["ready"]["status"], 503);
    assert_eq!(rounds[5]["ready"]["attempts"], 1, "no warm-up retries");
    assert_eq!(end["alarmRound"], 6);
    assert_eq!(end["readinessFailures"], 1);
    assert!(
        end["alarm"]
            .as_str()
            .unwrap()
            .starts_with("readiness: /api/health/ready failed in round 6")
    );
    assert!(err.contains("ALARM in round 6: readiness"), "{err}");
}

#[test]
fn a_failing_smoke_probe_is_reported_without_an_alarm() {
    let repo = Repo::new();
    let target = repo.target(TargetOptions {
        faults: vec![Fault::SamlMetadata500],
        ..roomy()
    });
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("watch.json");
    let json = format!("--json={}", report.display());
    let (code, rounds, end, err) = watch(&target.url(), &[&json]);
    assert_eq!(code, Some(1), "{err}");
    assert_eq!(rounds.len(), 10, "no alarm, so every round ran");
    assert_eq!(rounds[0]["smoke"]["failed"], 1);
    let failure = rounds[0]["smoke"]["failures"][0].as_str().unwrap();
    assert!(
        failure.starts_with("saml-metadata: status 500"),
        "{failure}"
    );
    assert_eq!(end["smokeFailures"], 2);
    assert!(end.get("alarm").is_none());
    let written: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(written, end);
}

#[test]
fn rounds_share_one_rate_budget() {
    let repo = Repo::new();
    // The target allows 6 GETs per 500 ms window; the watch paces itself to 2 per window over
    // all rounds together (10 counted GETs: round 1's health, ready, SAML and /chat, then six
    // health checks). Per-round pacing would send rounds 2–7 at once and be throttled.
    let target = repo.target(TargetOptions {
        limit_get: 6,
        rate_window: std::time::Duration::from_millis(500),
        ..roomy()
    });
    let mut args = vec![
        "watch".to_owned(),
        format!("--target={}", target.url()),
        "--interval=1ms".into(),
        "--duration=7ms".into(),
        "--full-every=100".into(),
        "--rate-limit=2".into(),
        "--rate-window-ms=500".into(),
    ];
    args.push("--timeout-ms=5000".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(&args, "");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut all = lines(&stdout(&out));
    let end = all.pop().unwrap();
    assert_eq!(all.len(), 7);
    assert!(all.iter().all(|r| r["health"]["ok"] == true));
    assert_eq!(target.throttled_requests(), 0);
    assert!(end["end"]["lateRounds"].as_u64().unwrap() > 0);
}
