//! `cargo xtask t0-delta` as a process, twice over one data repo with upstream changes in
//! between, then once more with a planted conflict.

use fixtures::laddr::Site;
use fixtures::laddr_server::{Faults, LaddrServer};
use report_html::browser;
use serde_json::Value;
use std::path::Path;
use std::process::Command;

use fixtures::data_repo::git;

fn refs(bare: &Path) -> String {
    git(bare, &["for-each-ref", "--format=%(refname) %(objectname)"])
}

struct Env<'a> {
    bare: &'a Path,
    private: &'a Path,
    work: &'a Path,
}

fn t0(env: &Env<'_>, url: &str, run: usize, extra: &[&str]) -> (i32, Value, String) {
    let work = env.work.join(format!("run{run}"));
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "t0-delta",
            "--source-url",
            url,
            "--data-repo",
            env.bare.to_str().unwrap(),
        ])
        .args(["--work-dir", work.to_str().unwrap()])
        .args(extra)
        .env("STORAGE_BACKEND", "filesystem")
        .env("CFP_PRIVATE_STORAGE_PATH", env.private)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = std::fs::read_to_string(work.join("report.json"))
        .unwrap_or_else(|e| panic!("{e}: {stderr}"));
    (
        out.status.code().unwrap_or(-1),
        serde_json::from_str(&report).unwrap(),
        stderr,
    )
}

fn set_title(site: &mut Site, index: usize, title: &str) -> String {
    let row = site.projects[index].as_object_mut().unwrap();
    row.insert("Title".into(), Value::String(title.into()));
    row["Handle"].as_str().unwrap().to_lowercase()
}

#[test]
fn second_run_commits_only_the_changes_prunes_again_and_a_conflict_writes_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("data.git");
    let private = tmp.path().join("private");
    std::fs::create_dir_all(&private).unwrap();
    let env = Env {
        bare: &bare,
        private: &private,
        work: tmp.path(),
    };

    // A fresh data repo with the configs and the fixture's evaluations, as at T-1.
    let mut site = Site::read_dir(&fixtures::laddr::small_dir()).unwrap();
    let configs = sheets::CommitSpec::new("configs");
    let repo = fixtures::data_repo::init_with_configs(&bare, "empty", &configs).unwrap();
    fixtures::evaluations::write_branch(
        &repo,
        "spam-detection",
        &["empty"],
        &fixtures::evaluations::generate(&site),
    )
    .unwrap();
    let csv = tmp.path().join("credentials.csv");
    std::fs::write(&csv, fixtures::credentials::csv(&site)).unwrap();

    // Run 1 (T-1): creates the import and runtime branches, prunes, imports credentials.
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let (code, r1, stderr) = t0(
        &env,
        &server.url(),
        1,
        &["--credentials", csv.to_str().unwrap()],
    );
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(r1["merge"]["outcome"], "created");
    let pruned: Vec<Value> = std::fs::read_to_string(tmp.path().join("run1/pruned.ndjson"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert!(!pruned.is_empty());
    assert!(
        r1["pushCommand"]
            .as_str()
            .unwrap()
            .contains("push --atomic origin")
    );
    assert!(
        tmp.path().join("run1/cache").is_dir(),
        "the page cache is kept"
    );
    drop(server);

    // Upstream changes: one project's title, and a pruned spammer edits their bio.
    let slug = set_title(&mut site, 0, "A brand new title");
    let spammer = &pruned[0];
    let spam_id = spammer["legacyId"].as_i64().unwrap();
    let spam_path = spammer["path"].as_str().unwrap().to_owned();
    let row = site.people.iter_mut().find(|p| p["ID"] == spam_id).unwrap();
    row.as_object_mut()
        .unwrap()
        .insert("About".into(), Value::String("Now with more links.".into()));

    // Run 2 (T-0): only the changed records are committed; the spammer comes back with the
    // merge and is pruned again.
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let copy = tmp.path().join("t0-run2.html");
    let t1_media = tmp.path().join("run1/media");
    let (code, r2, stderr) = t0(
        &env,
        &server.url(),
        2,
        &[
            "--html",
            copy.to_str().unwrap(),
            "--media-dir",
            t1_media.to_str().unwrap(),
            "--no-build",
        ],
    );
    assert_eq!(code, 0, "{stderr}");
    // The T-1 media directory: nothing fetched again, the media laddr answered 404 for at
    // T-1 not asked for again, and sheet-write still attached every avatar from it.
    let media = |run: &str| {
        let text = std::fs::read_to_string(tmp.path().join(run).join("fetch.json")).unwrap();
        serde_json::from_str::<Value>(&text).unwrap()["media"].clone()
    };
    let (m1, m2) = (media("run1"), media("run2"));
    assert!(m1["fetched"].as_u64().unwrap() > 0, "{m1}");
    assert_eq!(m2["fetched"], 0, "{m2}");
    assert_eq!(m2["alreadyPresent"], m1["fetched"], "{m2}");
    let not_found = m1["failed"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["reason"] == "HTTP 404")
        .count();
    assert!(not_found > 0, "{m1}");
    assert_eq!(m2["knownFailed"], not_found, "{m2}");
    assert!(!tmp.path().join("run2/media").exists(), "{stderr}");
    let page2 = tmp.path().join("run2/report.html");
    assert_eq!(
        std::fs::read(&page2).unwrap(),
        std::fs::read(&copy).unwrap(),
        "--html writes the work directory's page"
    );
    let before = r2["refs"]["importBefore"].as_str().unwrap();
    let after = r2["refs"]["importAfter"].as_str().unwrap();
    let changed = git(&bare, &["diff", "--name-only", before, after]);
    let mut want = vec![spam_path.clone(), format!("projects/{slug}.toml")];
    want.sort();
    assert_eq!(changed.lines().collect::<Vec<_>>(), want);
    assert_eq!(
        r2["refs"]["importCommits"].as_array().unwrap().len(),
        2,
        "people and projects only"
    );
    assert_eq!(r2["merge"]["outcome"], "merged");
    assert_eq!(r2["merge"]["readded"], serde_json::json!([spam_path]));
    assert_eq!(r2["pruneReport"]["prunedPeople"], 1);
    let published = git(
        &bare,
        &["ls-tree", "-r", "--name-only", "published", "people"],
    );
    assert!(!published.lines().any(|l| l == spam_path), "pruned again");
    assert!(
        git(&bare, &["show", &format!("published:projects/{slug}.toml")])
            .contains("A brand new title")
    );
    git(&bare, &["fsck", "--strict", "--no-dangling"]);
    drop(server);
    check_passed_page(&page2, &r2);

    // Run 3: the runtime branch and upstream both change that project: the merge conflicts,
    // the run stops naming it, and every ref is as it was.
    let parent = repo.parent_for("published", &[]).unwrap();
    let mut tx = sheets::Transaction::begin(&repo, parent).unwrap();
    let path = format!("projects/{slug}.toml");
    let mut bytes = tx.edit().get(&path).unwrap().unwrap();
    bytes.extend_from_slice(b"summary = \"edited on the new site\"\n");
    tx.edit().put(&path, bytes).unwrap();
    tx.commit(&sheets::CommitSpec::new("a runtime edit"))
        .unwrap();
    tx.finish().unwrap();
    set_title(&mut site, 0, "Yet another title");
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let before = refs(&bare);
    let (code, r3, stderr) = t0(&env, &server.url(), 3, &[]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(r3["merge"]["outcome"], "conflicts");
    assert_eq!(r3["merge"]["paths"], serde_json::json!([path]));
    assert!(stderr.contains(&format!("conflict: {path}")), "{stderr}");
    assert_eq!(refs(&bare), before, "nothing written");
    assert_eq!(r3["pushCommand"], Value::Null);
    git(&bare, &["fsck", "--strict", "--no-dangling"]);
    check_conflict_page(&tmp.path().join("run3/report.html"), &path);
}

/// Run 2's page through a real browser: passed, every stage with its duration, the files the
/// import changed, the prune, the tips before and after and the push command.
fn check_passed_page(page: &Path, r: &Value) {
    if browser::chromium().is_none() {
        return;
    }
    let dom = browser::dump_dom(page);
    assert!(
        dom.contains(r#"id="verdict" class="verdict passed" data-status="passed">PASSED<"#),
        "{dom}"
    );
    for stage in ["import", "merge", "prune", "reconcile"] {
        let ms = &r["durationsMs"][stage];
        let want = format!(
            r#"data-stage="{stage}" data-status="passed">{stage}<small>passed · {ms} ms</small>"#
        );
        assert!(dom.contains(&want), "{want} in {dom}");
    }
    let projects = &r["importReport"]["sheets"]["projects"];
    assert_eq!(projects["modified"], 1);
    assert!(
        dom.contains("<tr><td>projects</td><td>0</td><td>1</td><td>0</td></tr>"),
        "{dom}"
    );
    assert!(dom.contains("<tr><td>pruned</td><td>1</td></tr>"), "{dom}");
    let refs = &r["refs"];
    let import_row = format!(
        "<tr><td>legacy-import</td><td>{}</td><td>{}</td></tr>",
        refs["importBefore"].as_str().unwrap(),
        refs["importAfter"].as_str().unwrap()
    );
    assert!(dom.contains(&import_row), "{import_row} in {dom}");
    let push = r["pushCommand"].as_str().unwrap();
    assert!(
        dom.contains(&format!("<pre>{push}</pre>")),
        "{push} in {dom}"
    );
    browser::screenshot_not_blank(page, 800, 900);
    browser::assert_fits_a_phone(page);
}

/// Run 3's page: failed at the merge, the conflicting record named, nothing to push.
fn check_conflict_page(page: &Path, conflict: &str) {
    if browser::chromium().is_none() {
        return;
    }
    let dom = browser::dump_dom(page);
    assert!(dom.contains(r#"data-status="failed">FAILED<"#), "{dom}");
    assert!(dom.contains(r#"data-stage="merge" data-status="failed""#));
    assert!(dom.contains(r#"data-stage="import" data-status="passed""#));
    assert!(
        dom.contains(&format!("<li>conflict: {conflict}</li>")),
        "{dom}"
    );
    assert!(dom.contains(r#"<td class="failed" data-status="failed">conflicts</td>"#));
    assert!(dom.contains("Nothing to push."));
}
