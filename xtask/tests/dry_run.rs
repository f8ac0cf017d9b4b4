//! `cargo xtask dry-run` as a process: every stage passes on the embedded fixture, and a
//! planted fault turns exactly the right stage false with exit 1.

use report_html::browser;
use serde_json::Value;
use std::path::PathBuf;
use std::process::Command;

/// One `cargo xtask dry-run`: its exit code, JSON report, stderr and work directory (kept
/// until the run is dropped).
struct Run {
    code: i32,
    report: Value,
    stderr: String,
    work: PathBuf,
    _dir: tempfile::TempDir,
}

impl Run {
    /// A page the run left in its work directory.
    fn page(&self, name: &str) -> String {
        std::fs::read_to_string(self.work.join(name))
            .unwrap_or_else(|e| panic!("no {name} ({e}):\n{}", self.stderr))
    }
}

fn dry_run(plant: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("report.json");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_xtask"));
    let work = dir.path().join("work");
    cmd.args(["dry-run", "--json", report.to_str().unwrap()])
        .args(["--work-dir", work.to_str().unwrap()]);
    for p in plant {
        cmd.args(["--plant", p]);
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let text =
        std::fs::read_to_string(&report).unwrap_or_else(|e| panic!("no report ({e}):\n{stderr}"));
    Run {
        code: out.status.code().unwrap_or(-1),
        report: serde_json::from_str(&text).unwrap(),
        stderr,
        work,
        _dir: dir,
    }
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
    let run = dry_run(&[]);
    let (code, r, stderr, html) = (run.code, &run.report, &run.stderr, run.page("report.html"));
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(failing(r), Vec::<String>::new(), "{stderr}");
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
    // Media went through the pipes, laddr-fetch's media dir to sheet-write: avatars and blog
    // images written, the fixture's broken media failed with a reason, and the page says so.
    let media = &r["importReport"]["media"];
    for sheet in ["people", "blog-posts"] {
        let written = media[sheet]["written"].as_u64().unwrap_or(0);
        assert!(written > 0, "{sheet}: {media}");
        assert!(
            html.contains(&format!("<td>{sheet}</td><td>{written}</td>")),
            "{sheet} media in {html}"
        );
    }
    for f in media["blog-posts"]["failed"]
        .as_array()
        .into_iter()
        .flatten()
    {
        assert!(!f["reason"].as_str().unwrap_or("").is_empty(), "{f}");
    }
    // The page says the same: passed, and laddr's 36 people imported as 36.
    assert!(html.contains(r#"data-status="passed">PASSED<"#));
    assert!(html.contains(">36 / 36</text>"), "{html}");
    if browser::chromium().is_none() {
        return;
    }
    // Through a real browser: the verdict, every stage with its duration, the bars.
    let dom = browser::dump_dom(&run.work.join("report.html"));
    assert!(
        dom.contains(r#"id="verdict" class="verdict passed" data-status="passed">PASSED<"#),
        "{dom}"
    );
    for (stage, ok) in stages(r) {
        assert!(ok);
        let ms = &r["durationsMs"][&stage];
        assert!(
            dom.contains(&format!(
                r#"data-stage="{stage}" data-status="passed">{stage}<small>passed · {ms} ms</small>"#
            )),
            "{stage} in {dom}"
        );
    }
    for c in r["countDiffs"].as_array().unwrap() {
        let want = format!(">{} / {}</text>", c["importedRecords"], c["sourceTotal"]);
        assert!(dom.contains(&want), "{want} in {dom}");
    }
    let p = &r["pruneReport"];
    assert!(dom.contains(&row("pruned", &p["prunedPeople"])), "{dom}");
    assert!(dom.contains(&row("people after", &p["peopleAfter"])));
    // The tools' own pages from the same run: spam-prune's and reconcile's.
    let prune = browser::dump_dom(&run.work.join("prune.html"));
    assert!(prune.contains(r#"data-status="passed">PASSED<"#), "{prune}");
    assert!(
        prune.contains(&format!(
            ">{} / {}</text>",
            p["peopleAfter"], p["peopleBefore"]
        )),
        "{prune}"
    );
    assert!(prune.contains(&row("pruned", &p["reasons"]["pruned"])));
    assert!(prune.contains(&row("noEvaluation", &p["reasons"]["noEvaluation"])));
    assert!(prune.contains(&row("memberships deleted", &p["membershipsDeleted"])));
    let rec = &r["reconcileReport"];
    let reconcile = browser::dump_dom(&run.work.join("reconcile.html"));
    assert!(
        reconcile.contains(r#"data-status="passed">PASSED<"#),
        "{reconcile}"
    );
    for gate in ["orphanPublic", "orphanPrivate", "danglingReferences"] {
        let n = rec[gate].as_array().unwrap().len();
        assert_eq!(n, 0, "{gate}");
        let want = format!(
            r#"<td>{gate}</td><td>gate</td><td class="passed" data-status="passed">0</td>"#
        );
        assert!(reconcile.contains(&want), "{want} in {reconcile}");
    }
    let people = rec["publicPeopleCount"].to_string();
    assert!(
        reconcile.contains(&format!("<dd>{people}</dd>")),
        "{reconcile}"
    );
    for page in ["report.html", "prune.html", "reconcile.html"] {
        browser::assert_fits_a_phone(&run.work.join(page));
    }
}

/// A two-cell table row as the page writes it.
fn row(label: &str, n: &Value) -> String {
    format!("<tr><td>{label}</td><td>{n}</td></tr>")
}

#[test]
fn a_row_failing_validation_fails_the_import_stage() {
    let run = dry_run(&["invalid-row"]);
    let (code, r, stderr) = (run.code, &run.report, &run.stderr);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(failing(r), ["import"], "{stderr}");
    assert_eq!(r["importReport"]["counts"]["project-buzz"]["errors"], 1);
}

#[test]
fn a_total_that_cannot_be_fetched_fails_the_count_diff() {
    let run = dry_run(&["no-total"]);
    let (code, r, stderr) = (run.code, &run.report, &run.stderr);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(failing(r), ["countDiff"], "{stderr}");
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

/// Also plants a member whose username is markup: the page shows it as text.
#[test]
fn a_wrong_redirect_fails_the_smoke_stage() {
    let run = dry_run(&["wrong-redirect", "evil-name"]);
    let (code, r, stderr, html) = (run.code, &run.report, &run.stderr, run.page("report.html"));
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(failing(r), ["smoke"], "{stderr}");
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
    if browser::chromium().is_none() {
        return;
    }
    // The planted failing stage, through a real browser: failed in the banner, the strip and
    // the route family grid, the failure spelled out; the other stages passed.
    let page = run.work.join("report.html");
    let dom = browser::dump_dom(&page);
    assert!(
        dom.contains(r#"id="verdict" class="verdict failed" data-status="failed">FAILED<"#),
        "{dom}"
    );
    let ms = &r["durationsMs"]["smoke"];
    assert!(
        dom.contains(&format!(
            r#"data-stage="smoke" data-status="failed">smoke<small>failed · {ms} ms</small>"#
        )),
        "{dom}"
    );
    for stage in ["import", "countDiff", "merge", "prune", "reconcile"] {
        let want = format!(r#"data-stage="{stage}" data-status="passed""#);
        assert!(dom.contains(&want), "{want} in {dom}");
    }
    let legacy_ok = r["smokeChecks"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["kind"] == "project-legacy" && c["ok"] == true)
        .count();
    let grid = format!(
        r#"<td>project-legacy</td><td class="passed" data-status="passed">{legacy_ok}</td><td class="failed" data-status="failed">1</td>"#
    );
    assert!(dom.contains(&grid), "{grid} in {dom}");
    assert!(dom.contains(&format!(
        "<li>{} {url} → ",
        bad[0]["name"].as_str().unwrap()
    )));
    assert!(dom.contains(">36 / 36</text>"));
    // The planted username arrives as text: the script did not run, the title is ours.
    assert!(
        dom.contains("<title>dry-run codeforphilly.org</title>"),
        "{dom}"
    );
    assert!(
        dom.contains("Mallory&lt;script&gt;document.title='owned'&lt;/script&gt;"),
        "{dom}"
    );
    assert!(!dom.contains("<script>"));
    browser::screenshot_not_blank(&page, 800, 900);
    browser::assert_fits_a_phone(&page);
}
