//! The scripted T-0 of issue 17 on the fixture site: `cargo xtask t0-delta` (which now keeps the
//! private store's T-0 copy), the branch published to a bare `origin`; then a simulated first
//! sign-in (a profile added) and a user edit (a commit through `sheets`, pushed). The cutover
//! library's watch says harmless before and names the first write after; the export lists exactly
//! those two writes and the member; the reset restores the post-import tip by compare-and-swap,
//! and a branch that moved after the export aborts it.

use fixtures::laddr::Site;
use fixtures::laddr_server::{Faults, LaddrServer};
use serde_json::Value;
use std::path::Path;
use std::process::Command;

use fixtures::data_repo::git;

/// A fresh data repo with the template's configs and the fixture's evaluations (as at T-1).
fn data_repo(bare: &Path, site: &Site) {
    let configs = sheets::CommitSpec::new("configs");
    let repo = fixtures::data_repo::init_with_configs(bare, "empty", &configs).unwrap();
    fixtures::evaluations::write_branch(
        &repo,
        "spam-detection",
        &["empty"],
        &fixtures::evaluations::generate(site),
    )
    .unwrap();
}

fn observe(
    bare: &Path,
    baseline: &cutover::baseline::Baseline,
    store: &private_store::PrivateStore,
) -> cutover::watch::Observation {
    let source = cutover::watch::Source {
        data_repo: bare.to_path_buf(),
        branch: "published".into(),
        remote: None,
        fetch: true,
    };
    cutover::watch::observe(&source, baseline, Some(store)).unwrap()
}

#[test]
fn t0_then_a_first_sign_in_and_an_edit_watch_export_and_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("data.git");
    let private = tmp.path().join("private");
    std::fs::create_dir_all(&private).unwrap();
    let site = Site::read_dir(&fixtures::laddr::small_dir()).unwrap();
    data_repo(&bare, &site);
    let csv = tmp.path().join("credentials.csv");
    std::fs::write(&csv, fixtures::credentials::csv(&site)).unwrap();
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let work = tmp.path().join("t0");
    let out = Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args([
            "t0-delta",
            "--source-url",
            &server.url(),
            "--data-repo",
            bare.to_str().unwrap(),
        ])
        .args(["--work-dir", work.to_str().unwrap()])
        .args(["--credentials", csv.to_str().unwrap()])
        .env("STORAGE_BACKEND", "filesystem")
        .env("CFP_PRIVATE_STORAGE_PATH", &private)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report_path = work.join("report.json");
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&report_path).unwrap()).unwrap();
    let copy = report["privateBaseline"]["dir"]
        .as_str()
        .expect("t0-delta keeps the private store's copy");
    assert!(Path::new(copy).is_dir());
    let since = report["refs"]["runtimeAfter"].as_str().unwrap().to_owned();
    // The push the report prints, to a bare origin.
    let origin = tmp.path().join("origin.git");
    git(
        tmp.path(),
        &[
            "clone",
            "--quiet",
            "--bare",
            bare.to_str().unwrap(),
            origin.to_str().unwrap(),
        ],
    );
    git(
        &bare,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );

    let repo = sheets::DataRepo::open(&bare).unwrap();
    let baseline = cutover::baseline::Baseline::from_t0_report(&repo, &report_path).unwrap();
    assert_eq!(baseline.since.to_string(), since);
    let store = private_store::PrivateStore::directory(&private);
    let before = observe(&bare, &baseline, &store);
    assert!(
        before.first().is_none(),
        "harmless right after T-0: {:?}",
        before.writes
    );
    assert!(before.line(1).contains("harmless"), "{}", before.line(1));

    // A member signs in for the first time (a profile), then edits their own record.
    let people = repo
        .read_sheet_at("refs/heads/published", "people")
        .unwrap()
        .records;
    let member = people
        .iter()
        .find(|p| p.path.starts_with("people/"))
        .unwrap()
        .clone();
    let (id, slug) = (
        member.record["id"].as_str().unwrap().to_owned(),
        member.record["slug"].as_str().unwrap().to_owned(),
    );
    let profile = format!(
        "{{\"personId\":\"{id}\",\"email\":\"first.sign-in@example.org\",\"emailRefreshedAt\":\"2026-08-15T12:00:00.000Z\",\"updatedAt\":\"2026-08-15T12:00:00.000Z\"}}\n"
    );
    let mut profiles = std::fs::read(private.join("profiles.jsonl")).unwrap_or_default();
    profiles.extend_from_slice(profile.as_bytes());
    std::fs::write(private.join("profiles.jsonl"), profiles).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let parent = repo.parent_for("published", &[]).unwrap();
    let mut tx = sheets::Transaction::begin(&repo, parent).unwrap();
    let config = repo.sheet_config(tx.base_tree(), "people").unwrap();
    tx.edit()
        .patch_record(&config, &member.path, &patch_bio("Edited on the new site"))
        .unwrap();
    tx.commit(&sheets::CommitSpec::new("Update profile"))
        .unwrap();
    let edit = tx.finish().unwrap().new.unwrap();
    git(&bare, &["push", "--quiet", "origin", "published"]);

    let after = observe(&bare, &baseline, &store);
    let first = after.first().expect("the point of no return is crossed");
    // The credentials import already wrote every member's profile, so the first sign-in
    // rewrites theirs (email refreshed from GitHub): a changed profile record.
    assert_eq!((first.source, first.kind), ("private-store", "changed"));
    assert_eq!(
        first.after.as_ref().unwrap()["email"],
        "first.sign-in@example.org"
    );
    assert_eq!(first.record, format!("profiles.jsonl#{id}"));
    assert!(
        after
            .line(2)
            .contains(&format!("changed private-store profiles.jsonl#{id}")),
        "{}",
        after.line(2)
    );

    let out_dir = tmp.path().join("rollback");
    let m =
        cutover::rollback::export(&after, &bare, "published", baseline.since, &out_dir).unwrap();
    assert_eq!(
        (
            m.data_repo_writes,
            m.private_store_writes,
            m.affected_members
        ),
        (1, 1, 1)
    );
    let lines = |f: &str| -> Vec<Value> {
        std::fs::read_to_string(out_dir.join(f))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let public = lines("writes.ndjson");
    assert_eq!(public[0]["record"], member.path.as_str());
    assert_eq!(public[0]["commit"], edit.to_string());
    assert_eq!(public[0]["after"]["bio"], "Edited on the new site");
    let members = lines("affected-members.ndjson");
    assert_eq!(members[0]["personId"], id.as_str());
    assert_eq!(members[0]["slug"], slug.as_str());
    assert_eq!(members[0]["writes"].as_array().unwrap().len(), 2);
    assert!(
        lines("private-writes.ndjson")[0]
            .to_string()
            .contains("first.sign-in@example.org")
    );
    assert!(
        !std::fs::read_to_string(out_dir.join("affected-members.ndjson"))
            .unwrap()
            .contains('@')
    );

    // A write after the export: the reset aborts and nothing moves.
    let manifest = cutover::rollback::read_manifest(&out_dir).unwrap();
    let o = sheets::DataRepo::open(&origin).unwrap();
    let mut tx = sheets::Transaction::begin(&o, o.parent_for("published", &[]).unwrap()).unwrap();
    tx.edit()
        .patch_record(&config, &member.path, &patch_bio("Again"))
        .unwrap();
    tx.commit(&sheets::CommitSpec::new("Update profile"))
        .unwrap();
    let late = tx.finish().unwrap().new.unwrap();
    let tip = cutover::remote::fetch_branch(&bare, "origin", "published").unwrap();
    assert_eq!(tip, late);
    let err = cutover::rollback::reset(&manifest, &bare, tip, true).unwrap_err();
    assert!(err.to_string().contains("moved since the export"), "{err}");
    assert_eq!(repo.resolve("refs/heads/published").unwrap(), Some(edit));
    git(
        &origin,
        &[
            "update-ref",
            "refs/heads/published",
            &edit.to_string(),
            &late.to_string(),
        ],
    );
    let tip = cutover::remote::fetch_branch(&bare, "origin", "published").unwrap();
    let outcome = cutover::rollback::reset(&manifest, &bare, tip, true).unwrap();
    assert_eq!(
        repo.resolve("refs/heads/published")
            .unwrap()
            .unwrap()
            .to_string(),
        since
    );
    assert!(
        outcome.push_command.contains("--force-with-lease"),
        "{}",
        outcome.push_command
    );
    assert_eq!(
        git(&origin, &["rev-parse", "published"]).trim(),
        edit.to_string(),
        "never pushes"
    );
    git(&bare, &["fsck", "--strict", "--no-dangling"]);
}

fn patch_bio(bio: &str) -> serde_json::Map<String, Value> {
    let mut patch = serde_json::Map::new();
    patch.insert("bio".into(), Value::String(bio.into()));
    patch
}
