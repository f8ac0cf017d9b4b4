//! The point of no return and the rollback on a T-0 built here (import commits on `published`,
//! published to a bare `origin`): harmless before, then a first sign-in (a profile added) and a
//! user edit (a commit through `sheets`, pushed); `watch` names the first, `rollback export`
//! lists exactly those two writes and the member, `reset --apply` restores the post-import tip by
//! compare-and-swap and a moved branch aborts it. Both private-store backends.

mod common;

use std::path::Path;

use common::{JANE_ID, SAM_ID, cutover, git, ndjson, person};
use private_store::testing::MotoServer;

const PROFILE: &str = r#"{"personId":"01951a3c-0000-7000-8000-000000000002","email":"sam@example.org","emailRefreshedAt":"2026-08-15T12:00:00.000Z","updatedAt":"2026-08-15T12:00:00.000Z"}"#;

/// Jane edits her own record on the rewrite; the push daemon publishes it to origin.
fn user_edit(bare: &Path) -> gix::ObjectId {
    let repo = sheets::DataRepo::open(bare).unwrap();
    let mut jane = person(JANE_ID, "jane", "Jane Doe");
    jane.insert("bio".into(), "Now on the new site".into());
    let id = common::commit(
        &repo,
        &[("people/jane.toml", jane)],
        None,
        "Code for Philly API",
    );
    git(bare, &["push", "--quiet", "origin", "published"]);
    id
}

fn args<'a>(cmd: &[&'a str], repo: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = cmd.to_vec();
    v.extend(["--data-repo", repo]);
    v.extend(rest);
    v
}

#[test]
fn directory_store_watch_export_and_reset() {
    let tmp = tempfile::tempdir().unwrap();
    let (bare, origin, since) = common::t0_repos(tmp.path());
    let repo_arg = bare.to_str().unwrap();
    let private = tmp.path().join("private");
    let baseline = tmp.path().join("baseline");
    std::fs::create_dir_all(&private).unwrap();
    std::fs::create_dir_all(&baseline).unwrap();
    let env = vec![
        ("STORAGE_BACKEND", "filesystem".to_owned()),
        ("CFP_PRIVATE_STORAGE_PATH", private.display().to_string()),
    ];
    let since_hex = since.to_string();
    let since_flags = [
        "--since",
        since_hex.as_str(),
        "--private-baseline",
        baseline.to_str().unwrap(),
    ];

    // A harmless import re-run after T-0 (an importer commit) does not cross the point.
    let repo = sheets::DataRepo::open(&bare).unwrap();
    let mut sam = person(SAM_ID, "sam", "Sam Roe");
    sam.insert("bio".into(), "from laddr".into());
    common::commit(
        &repo,
        &[("people/sam.toml", sam)],
        Some("import.laddr.json"),
        "Importer",
    );
    git(&bare, &["push", "--quiet", "origin", "published"]);
    let (code, out, err) = cutover(&args(&["watch"], repo_arg, &since_flags), &env);
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("harmless") && out.contains("1 import/prune commit(s)"),
        "{out}"
    );

    // The first sign-in writes Sam's profile; then Jane edits her record.
    std::fs::write(private.join("profiles.jsonl"), format!("{PROFILE}\n")).unwrap();
    let edit = user_edit(&bare);
    let json = tmp.path().join("watch.json");
    let json_flag = format!("--json={}", json.display());
    let mut flags = since_flags.to_vec();
    flags.extend(["--follow", "--interval=1s", json_flag.as_str()]);
    let (code, out, err) = cutover(&args(&["watch"], repo_arg, &flags), &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(out.contains("POINT OF NO RETURN CROSSED"), "{out}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["writes"].as_array().unwrap().len(), 2, "{r}");
    assert!(
        !r.to_string().contains("sam@example.org"),
        "emails stay out of the watch report"
    );

    // Export: exactly the two writes, the member(s), emails only in the private file.
    let out_dir = tmp.path().join("rollback");
    let out_flag = format!("--out={}", out_dir.display());
    let mut flags = since_flags.to_vec();
    flags.push(out_flag.as_str());
    let (code, out, err) = cutover(&args(&["rollback", "export"], repo_arg, &flags), &env);
    assert_eq!(code, 0, "{out}{err}");
    let public = ndjson(&out_dir.join("writes.ndjson"));
    assert_eq!(public.len(), 1, "{public:?}");
    assert_eq!(public[0]["record"], "people/jane.toml");
    assert_eq!(public[0]["kind"], "changed");
    assert_eq!(public[0]["commit"], edit.to_string());
    assert_eq!(public[0]["before"]["bio"], serde_json::Value::Null);
    assert_eq!(public[0]["after"]["bio"], "Now on the new site");
    assert!(
        public[0]["author"]
            .as_str()
            .unwrap()
            .starts_with("Code for Philly API")
    );
    let private_lines = ndjson(&out_dir.join("private-writes.ndjson"));
    assert_eq!(private_lines.len(), 1);
    assert_eq!(
        private_lines[0]["record"],
        format!("profiles.jsonl#{SAM_ID}")
    );
    assert_eq!(private_lines[0]["kind"], "created");
    assert_eq!(private_lines[0]["after"]["email"], "sam@example.org");
    let members = ndjson(&out_dir.join("affected-members.ndjson"));
    let slugs: Vec<&str> = members
        .iter()
        .map(|m| m["slug"].as_str().unwrap())
        .collect();
    assert_eq!(slugs, ["jane", "sam"]);
    assert_eq!(members[1]["v"], 1);
    assert_eq!(members[1]["fullName"], "Sam Roe");
    // The mailer's rollback-apology line: `path` and `at` per write, the object without its key.
    assert_eq!(members[1]["writes"][0]["path"], "profiles.jsonl");
    assert!(members[1]["writes"][0]["at"].is_string());
    assert_eq!(members[0]["writes"][0]["path"], "people/jane.toml");
    for f in ["writes.ndjson", "affected-members.ndjson", "export.json"] {
        let text = std::fs::read_to_string(out_dir.join(f)).unwrap();
        assert!(!text.contains("sam@example.org"), "{f} holds an email");
    }
    let (code, _, err) = cutover(&args(&["rollback", "export"], repo_arg, &flags), &env);
    assert_eq!(code, 2, "an existing export is never overwritten");
    assert!(err.contains("never overwritten"), "{err}");

    // Reset: refused without an export; a moved branch aborts; then restores the tip.
    let export_flag = format!("--export={}", out_dir.display());
    let empty = format!("--export={}", tmp.path().join("nowhere").display());
    let (code, _, err) = cutover(
        &args(
            &["rollback", "reset"],
            repo_arg,
            &[empty.as_str(), "--apply"],
        ),
        &env,
    );
    assert_eq!(code, 2);
    assert!(err.contains("reset refuses without an export"), "{err}");
    let late = {
        let o = sheets::DataRepo::open(&origin).unwrap();
        common::commit(
            &o,
            &[("people/sam.toml", person(SAM_ID, "sam", "Sam R."))],
            None,
            "Code for Philly API",
        )
    };
    let before = git(&bare, &["rev-parse", "refs/heads/published"]);
    let (code, _, err) = cutover(
        &args(
            &["rollback", "reset"],
            repo_arg,
            &[export_flag.as_str(), "--apply"],
        ),
        &env,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("moved since the export"), "{err}");
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/published"]),
        before,
        "nothing changed"
    );
    // Take the late write back out of origin, as if it never landed.
    git(
        &origin,
        &[
            "update-ref",
            "refs/heads/published",
            edit.to_string().as_str(),
            late.to_string().as_str(),
        ],
    );
    let (code, out, err) = cutover(
        &args(&["rollback", "reset"], repo_arg, &[export_flag.as_str()]),
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("re-run with --apply"), "{out}");
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/published"]),
        before,
        "a dry run moves nothing"
    );
    let (code, out, err) = cutover(
        &args(
            &["rollback", "reset"],
            repo_arg,
            &[export_flag.as_str(), "--apply"],
        ),
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        git(&bare, &["rev-parse", "refs/heads/published"]).trim(),
        since_hex
    );
    let push = out
        .lines()
        .find(|l| l.trim_start().starts_with("git -C"))
        .unwrap()
        .trim();
    assert!(
        push.contains(&format!("--force-with-lease=refs/heads/published:{edit}")),
        "{push}"
    );
    assert_eq!(
        git(&origin, &["rev-parse", "refs/heads/published"]).trim(),
        edit.to_string(),
        "never pushes"
    );
    let words: Vec<&str> = push.split(' ').collect();
    git(tmp.path(), &words[1..]);
    assert_eq!(
        git(&origin, &["rev-parse", "refs/heads/published"]).trim(),
        since_hex
    );
    git(&bare, &["fsck", "--strict", "--no-dangling"]);
    git(&origin, &["fsck", "--strict"]);
}

#[test]
fn versioned_bucket_versions_after_t0_are_the_private_writes() {
    let tmp = tempfile::tempdir().unwrap();
    let (bare, _origin, since) = common::t0_repos(tmp.path());
    let moto = MotoServer::start();
    let cfg = moto.versioned_bucket("private");
    let env = MotoServer::env(&cfg);
    // Written before T-0 (the import's credentials), so not a post-T-0 write.
    private_store::testing::raw_put(&cfg, "legacy-passwords.jsonl", format!("{{\"personId\":\"{JANE_ID}\",\"passwordHash\":\"x\",\"importedAt\":\"2026-08-15T12:00:00.000Z\"}}\n").as_bytes());
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t0 = jiff::Timestamp::now().to_string();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let since_hex = since.to_string();
    let flags = [
        "--since",
        since_hex.as_str(),
        "--private-since",
        t0.as_str(),
    ];
    let repo_arg = bare.to_str().unwrap();
    let (code, out, err) = cutover(&args(&["watch"], repo_arg, &flags), &env);
    assert_eq!(code, 0, "{out}{err}");
    private_store::testing::raw_put(&cfg, "profiles.jsonl", format!("{PROFILE}\n").as_bytes());
    let (code, out, err) = cutover(&args(&["watch"], repo_arg, &flags), &env);
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        out.contains(&format!("created private-store profiles.jsonl#{SAM_ID}")),
        "{out}"
    );
    let out_dir = tmp.path().join("export");
    let out_flag = format!("--out={}", out_dir.display());
    let mut export_flags = flags.to_vec();
    export_flags.push(out_flag.as_str());
    let (code, out, err) = cutover(
        &args(&["rollback", "export"], repo_arg, &export_flags),
        &env,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(ndjson(&out_dir.join("private-writes.ndjson")).len(), 1);
    assert!(ndjson(&out_dir.join("writes.ndjson")).is_empty());
    let members = ndjson(&out_dir.join("affected-members.ndjson"));
    assert_eq!(members.len(), 1);
    assert_eq!(members[0]["slug"], "sam");
}
