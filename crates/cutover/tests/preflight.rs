//! Each pre-flight check against real parts on loopback: a DNS stand-in answering chosen TTLs,
//! moto with versioning on and off, and the target stand-in with a valid, an expiring and a
//! missing SAML certificate and a wrong `redirect_uri`. Each check fails exactly when it should.

mod common;

use std::time::Duration;

use base64::Engine;
use cutover::check::Check;
use fixtures::dns::DnsServer;
use fixtures::target::{Fault, TargetOptions, TargetServer};
use private_store::PrivateStore;
use private_store::testing::MotoServer;
use serde_json::json;

const PUBLIC: &str = "https://codeforphilly.org";

fn only(checks: Vec<Check>) -> Check {
    assert_eq!(checks.len(), 1, "{checks:?}");
    checks.into_iter().next().unwrap()
}

#[test]
fn dns_ttl_passes_at_60_seconds_or_less_and_fails_above_or_without_a_record() {
    let low = DnsServer::start(&[("codeforphilly.org", [10, 0, 0, 7], 60)]).unwrap();
    let high = DnsServer::start(&[("codeforphilly.org", [10, 0, 0, 7], 3600)]).unwrap();
    let t = Duration::from_secs(2);
    let c = only(cutover::dns::ttl_checks(
        "codeforphilly.org",
        &[low.addr()],
        t,
    ));
    assert!(c.passed, "{c:?}");
    assert!(c.evidence.contains("TTL 60 s"), "{}", c.evidence);
    let both = cutover::dns::ttl_checks("codeforphilly.org", &[low.addr(), high.addr()], t);
    assert_eq!(
        both.iter().map(|c| c.passed).collect::<Vec<_>>(),
        [true, false]
    );
    assert!(
        both[1].evidence.contains("TTL 3600 s"),
        "{}",
        both[1].evidence
    );
    let missing = only(cutover::dns::ttl_checks(
        "old.codeforphilly.org",
        &[low.addr()],
        t,
    ));
    assert!(
        !missing.passed && missing.evidence.contains("no record"),
        "{missing:?}"
    );
    assert!(low.query_count() >= 2);
    // Nobody listening: a clear failure, not a hang.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap();
    let c = only(cutover::dns::ttl_checks(
        "codeforphilly.org",
        &[addr],
        Duration::from_millis(200),
    ));
    assert!(!c.passed, "{c:?}");
}

#[test]
fn bucket_versioning_must_be_enabled_and_the_store_must_load() {
    let moto = MotoServer::start();
    let versioned = PrivateStore::s3(&moto.versioned_bucket("versioned")).unwrap();
    let checks = cutover::preflight::store_checks(&Ok(versioned));
    assert!(checks.iter().all(|c| c.passed), "{checks:?}");
    let plain = PrivateStore::s3(&moto.bucket("plain")).unwrap();
    let checks = cutover::preflight::store_checks(&Ok(plain));
    assert!(
        !checks[0].passed && checks[0].evidence.contains("off"),
        "{checks:?}"
    );
    assert!(checks[1].passed, "an unversioned bucket still loads");
    let mut cfg = moto.bucket("exists");
    cfg.bucket = "no-such-bucket".into();
    let checks = cutover::preflight::store_checks(&Ok(PrivateStore::s3(&cfg).unwrap()));
    assert!(checks.iter().all(|c| !c.passed), "{checks:?}");
    assert!(checks[0].evidence.contains("NoSuchBucket"), "{checks:?}");
    let cfg = moto.versioned_bucket("bad-line");
    private_store::testing::raw_put(&cfg, "profiles.jsonl", b"{not json\n");
    let checks = cutover::preflight::store_checks(&Ok(PrivateStore::s3(&cfg).unwrap()));
    assert!(checks[0].passed && !checks[1].passed, "{checks:?}");
    assert!(
        checks[1].evidence.contains("profiles.jsonl:1"),
        "{checks:?}"
    );
    let dir = tempfile::tempdir().unwrap();
    let checks = cutover::preflight::store_checks(&Ok(PrivateStore::directory(dir.path())));
    assert!(!checks[0].passed && checks[1].passed, "{checks:?}");
}

/// A self-signed certificate valid until `days` from now, base64 DER.
fn certificate(days: i64) -> String {
    let end = jiff::Timestamp::now()
        .checked_add(jiff::SignedDuration::from_hours(24 * days))
        .unwrap();
    let date = end.to_zoned(jiff::tz::TimeZone::UTC).date();
    let mut params = rcgen::CertificateParams::new(vec!["codeforphilly.org".to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(2024, 1, 1);
    params.not_after =
        rcgen::date_time_ymd(date.year().into(), date.month() as u8, date.day() as u8);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    base64::engine::general_purpose::STANDARD.encode(cert.der())
}

fn target(options: TargetOptions) -> (tempfile::TempDir, TargetServer) {
    let dir = tempfile::tempdir().unwrap();
    let (bare, _, _) = common::t0_repos(dir.path());
    let server = TargetServer::start(
        &bare,
        "published",
        TargetOptions {
            rate_limit: false,
            ..options
        },
    )
    .unwrap();
    (dir, server)
}

#[test]
fn saml_certificate_valid_expiring_missing_and_not_a_certificate() {
    let now = jiff::Timestamp::now();
    let agent = cutover::saml::agent();
    let cases = [
        (Some(certificate(365)), vec![], true, "valid 36"),
        (Some(certificate(10)), vec![], false, "valid 9"),
        (
            None,
            vec![Fault::SamlNoCertificate],
            false,
            "no <X509Certificate>",
        ),
        (None, vec![], false, "does not parse as X.509"),
        (
            Some(certificate(365)),
            vec![Fault::SamlMetadata500],
            false,
            "HTTP 500",
        ),
    ];
    for (cert, faults, passes, evidence) in cases {
        let (_dir, t) = target(TargetOptions {
            saml_certificate: cert,
            faults,
            ..TargetOptions::default()
        });
        let c = cutover::saml::metadata_check(&agent, &t.url(), now);
        assert_eq!(c.passed, passes, "{c:?}");
        assert!(
            c.evidence.contains(evidence),
            "{evidence:?} in {}",
            c.evidence
        );
    }
}

#[test]
fn github_redirect_uri_must_be_the_public_callback() {
    let agent = cutover::saml::agent();
    let right = format!("{PUBLIC}/api/auth/github/callback");
    let (_d, t) = target(TargetOptions {
        github_callback_url: Some(right.clone()),
        ..TargetOptions::default()
    });
    let c = cutover::saml::github_redirect_check(&agent, &t.url(), PUBLIC);
    assert!(c.passed && c.evidence.contains(&right), "{c:?}");
    let wrong = "https://codeforphilly-rewrite-staging.k8s.phl.io/api/auth/github/callback";
    let (_d, t) = target(TargetOptions {
        github_callback_url: Some(wrong.into()),
        ..TargetOptions::default()
    });
    let c = cutover::saml::github_redirect_check(&agent, &t.url(), PUBLIC);
    assert!(!c.passed && c.evidence.contains(wrong), "{c:?}");
    let (_d, t) = target(TargetOptions {
        github_client_id: None,
        ..TargetOptions::default()
    });
    let c = cutover::saml::github_redirect_check(&agent, &t.url(), PUBLIC);
    assert!(!c.passed && c.evidence.contains("not GitHub"), "{c:?}");
}

#[test]
fn dry_run_report_must_exist_pass_every_stage_and_be_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let now = jiff::Timestamp::now();
    let four_days = Duration::from_secs(4 * 86_400);
    let write = |name: &str, hours_ago: i64, smoke: bool| {
        let at = now
            .checked_sub(jiff::SignedDuration::from_hours(hours_ago))
            .unwrap();
        let report = json!({"runAt": at.to_string(), "passed": smoke,
            "stages": {"import": true, "countDiff": true, "smoke": smoke, "merge": true, "prune": true, "reconcile": true}});
        let path = dir.path().join(name);
        std::fs::write(&path, report.to_string()).unwrap();
        path
    };
    let c = cutover::preflight::dry_run_check(&write("ok.json", 70, true), four_days, now);
    assert!(c.passed, "{c:?}");
    let c = cutover::preflight::dry_run_check(&write("smoke.json", 2, false), four_days, now);
    assert!(
        !c.passed && c.evidence.contains("failed stage(s): smoke"),
        "{c:?}"
    );
    let c = cutover::preflight::dry_run_check(&write("old.json", 97, true), four_days, now);
    assert!(!c.passed && c.evidence.contains("97.0 h old"), "{c:?}");
    let c = cutover::preflight::dry_run_check(&dir.path().join("absent.json"), four_days, now);
    assert!(!c.passed, "{c:?}");
}

#[test]
fn the_whole_preflight_passes_on_a_ready_setup_and_exits_1_naming_what_is_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _origin, _) = common::t0_repos(tmp.path());
    let moto = MotoServer::start();
    let cfg = moto.versioned_bucket("private");
    let dns = DnsServer::start(&[("codeforphilly.org", [127, 0, 0, 1], 30)]).unwrap();
    let t = TargetServer::start(
        &bare,
        "published",
        TargetOptions {
            rate_limit: false,
            saml_certificate: Some(certificate(200)),
            github_callback_url: Some(format!("{PUBLIC}/api/auth/github/callback")),
            ..TargetOptions::default()
        },
    )
    .unwrap();
    let report = tmp.path().join("dry-run-T3.json");
    std::fs::write(
        &report,
        json!({"runAt": jiff::Timestamp::now().to_string(), "passed": true,
        "stages": {"import": true, "smoke": true}})
        .to_string(),
    )
    .unwrap();
    let json_out = tmp.path().join("preflight.json");
    let resolver = dns.addr().to_string();
    let args = |repo: &str| {
        vec![
            "preflight".to_owned(),
            format!("--public-url={PUBLIC}"),
            "--target".into(),
            t.url(),
            "--resolver".into(),
            resolver.clone(),
            format!("--dry-run-report={}", report.display()),
            format!("--data-repo={repo}"),
            format!("--json={}", json_out.display()),
        ]
    };
    let env = MotoServer::env(&cfg);
    let run = |repo: &str| {
        let a = args(repo);
        common::cutover(&a.iter().map(String::as_str).collect::<Vec<_>>(), &env)
    };
    let (code, out, err) = run(bare.to_str().unwrap());
    assert_eq!(code, 0, "{out}{err}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap()).unwrap();
    let ids: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "dns-ttl",
            "private-bucket-versioning",
            "private-store-loads",
            "t3-dry-run-report",
            "saml-metadata",
            "github-oauth-redirect",
            "data-repo-bare",
            "runtime-branch",
            "push-remote"
        ]
    );
    assert_eq!(r["passed"], true);
    assert!(
        out.contains("Confirm by hand") && out.contains("rehearsed"),
        "{out}"
    );
    // Without a push remote, only that check fails.
    common::git(&bare, &["remote", "remove", "origin"]);
    let (code, out, _) = run(bare.to_str().unwrap());
    assert_eq!(code, 1, "{out}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json_out).unwrap()).unwrap();
    let failed: Vec<&str> = r["checks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["passed"] == false)
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(failed, ["push-remote"]);
    assert!(out.contains("FAIL push-remote"), "{out}");
}
