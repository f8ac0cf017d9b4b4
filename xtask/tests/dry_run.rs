//! `cargo xtask dry-run` as a process: every stage passes on the embedded fixture, and a
//! planted fault turns exactly the right stage false with exit 1.

use serde_json::Value;
use std::process::Command;

/// The exit code, the JSON report, stderr, and the page the run left in its work directory.
fn dry_run(plant: Option<&str>) -> (i32, Value, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    let work = dir.path().join("work");
    cmd.args(["dry-run", "--json", report.to_str().unwrap()])
        .args(["--work-dir", work.to_str().unwrap()]);
    if let Some(p) = plant {
        cmd.args(["--plant", p]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text =
        std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("no report ({e}):\n{stderr}"));
    let html = std::fs::read_to_string(work.join("report.html"))
        .unwrap_or_else(|e| panic!("no report.html ({e}):\n{stderr}"));
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&text).unwrap(),
        stderr,
        html,
    )
}

fn stages(r: &Value) -> Vec<(String, bool)> {
    r["stages"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.as_bool().unwrap()))
        .collect()
}

fn failing(r: &Value) -> Vec<String> {
    stages(r)
        .into_iter()
        .filter(|(_, ok)| !ok)
        .map(|(k, _)| k)
        .collect()
}

#[test]
fn every_stage_passes_on_the_embedded_fixture() {
    let (code, r, stderr, html) = dry_run(None);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(failing(&r), Vec::<String>::new(), "{stderr}");
    assert_eq!(r["passed"], true);
    // The reference report shape, plus our stages and durations.
    for key in [
        "runAt",
        "sourceHost",
        "target",
        "importReport",
        "countDiffs",
        "smokeChecks",
        "stages",
        "passed",
        "durationsMs",
    ] {
        assert!(r.get(key).is_some(), "missing {key}");
    }
    assert_eq!(r["countDiffs"].as_array().unwrap().len(), 6);
    assert!(
        r["countDiffs"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["sourceTotal"].as_u64().is_some())
    );
    let checks = r["smokeChecks"].as_array().unwrap();
    assert!(checks.len() > 20, "{} probes", checks.len());
    assert!(
        checks
            .iter()
            .any(|c| c["url"].as_str().unwrap().contains("/projects?ID="))
    );
    assert!(r["pruneReport"]["prunedPeople"].as_u64().unwrap() > 0);
    assert_eq!(r["importReport"]["counts"]["people"]["imported"], 36);
    // The page says the same: passed, and laddr's 36 people imported as 36.
    assert!(html.contains(r#"data-status="passed">PASSED<"#));
    assert!(html.contains(">36 / 36</text>"), "{html}");
}

#[test]
fn a_row_failing_validation_fails_the_import_stage() {
    let (code, r, stderr, _) = dry_run(Some("invalid-row"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(failing(&r), ["import"], "{stderr}");
    assert_eq!(r["importReport"]["counts"]["project-buzz"]["errors"], 1);
}

#[test]
fn a_total_that_cannot_be_fetched_fails_the_count_diff() {
    let (code, r, stderr, _) = dry_run(Some("no-total"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(failing(&r), ["countDiff"], "{stderr}");
    let buzz = r["countDiffs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["sheet"] == "project-buzz")
        .unwrap();
    assert_eq!(buzz["sourceTotal"], Value::Null);
    assert_eq!(buzz["matched"], false);
    let tags = &r["countDiffs"][0];
    assert_eq!(tags["matched"], true, "the other totals still count");
}

#[test]
fn a_wrong_redirect_fails_the_smoke_stage() {
    let (code, r, stderr, html) = dry_run(Some("wrong-redirect"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(failing(&r), ["smoke"], "{stderr}");
    let bad: Vec<&Value> = r["smokeChecks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["ok"] == false)
        .collect();
    assert_eq!(bad.len(), 1, "{bad:?}");
    assert!(bad[0]["url"].as_str().unwrap().contains("/projects?ID="));
    // The page shows the failed stage, the failing route family and the failure spelled out.
    assert!(html.contains(r#"data-stage="smoke" data-status="failed""#));
    assert!(html.contains(r#"data-stage="import" data-status="passed""#));
    assert!(html.contains(r#"<td>project-legacy</td>"#), "{html}");
    let url = bad[0]["url"].as_str().unwrap();
    assert!(html.contains(url), "{url} not in the page");
}
