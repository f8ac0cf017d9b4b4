//! The reference's orchestrator tests (reference/B §7, items 32–37) on a real bare repo:
//! a tiny hand-made laddr snapshot (tags topic.transit and tech.javascript; alice, tagged
//! tech.javascript, and bob, Staff; transit-app maintained by alice, tagged topic.transit,
//! with members alice (Founder) and bob (no role); one update, one buzz, one blog post) fed
//! to `sheet-write` on stdin, `now` = 2026-05-18T00:00:00.000Z.

mod common;

use common::*;
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::PathBuf;

fn tag(id: i64, handle: &str, title: &str) -> Value {
    json!({"ID": id, "Class": "Tag", "Handle": handle, "Title": title, "Created": 1377126953, "CreatorID": null, "Description": null})
}

/// The snapshot, in laddr-fetch's line format; `title` is transit-app's Title.
fn snapshot(title: &str) -> String {
    let mut s = String::new();
    s += &line("tags", tag(1, "topic.transit", "Transit"));
    s += &line("tags", tag(2, "tech.javascript", "JavaScript"));
    s += &line(
        "people",
        json!({"ID": 10, "Class": "Emergence\\People\\User", "Username": "alice", "FirstName": "Alice",
               "LastName": "Anders", "AccountLevel": "User", "About": "Maps and trains.",
               "Created": 1377126953, "Modified": 1377130000, "PrimaryPhotoID": null,
               "Tags": [tag(2, "tech.javascript", "JavaScript")]}),
    );
    s += &line(
        "people",
        json!({"ID": 11, "Class": "Emergence\\People\\User", "Username": "bob", "FirstName": "Bob",
               "LastName": "Brown", "AccountLevel": "Staff", "About": null,
               "Created": 1387369833, "Modified": null, "PrimaryPhotoID": null, "Tags": []}),
    );
    s += &line(
        "projects",
        json!({"ID": 100, "Class": "Laddr\\Project", "Handle": "transit-app", "Title": title,
        "MaintainerID": 10, "Stage": "Prototyping", "ChatChannel": "transit-app",
        "UsersUrl": null, "DevelopersUrl": "https://github.com/example/transit",
        "README": "Trains, on time.", "Created": 1427047870, "Modified": 1447406484,
        "NextUpdate": 2, "Tags": [tag(1, "topic.transit", "Transit")],
        "Memberships": [
            {"ID": 1, "Class": "Laddr\\ProjectMember", "ProjectID": 100, "MemberID": 10, "Role": "Founder", "Created": 1427047870, "CreatorID": 10},
            {"ID": 2, "Class": "Laddr\\ProjectMember", "ProjectID": 100, "MemberID": 11, "Role": null, "Created": 1438701391, "CreatorID": null}
        ]}),
    );
    s += &line(
        "project-updates",
        json!({"ID": 1, "Class": "Laddr\\ProjectUpdate", "ProjectID": 100, "Number": 1,
               "Body": "We shipped the map.", "CreatorID": 10, "Created": 1430000000, "Modified": null}),
    );
    s += &line(
        "project-buzz",
        json!({"ID": 1, "Class": "Laddr\\ProjectBuzz", "ProjectID": 100, "Handle": "transit_app_on_tv",
               "Headline": "Transit App on TV", "URL": "https://news.example.org/transit-app",
               "Published": 1430500000, "Summary": "A segment on the evening news.", "ImageID": null,
               "CreatorID": 11, "Created": 1430600000}),
    );
    s += &line(
        "blog",
        json!({"ID": 1, "Class": "Emergence\\CMS\\BlogPost", "Handle": "hello-transit", "Title": "Hello transit",
               "AuthorID": 10, "Status": "Published", "Visibility": "Public", "Summary": "Our first post.",
               "Created": 1746028000, "Published": 1746028800, "Modified": 1746028800,
               "items": [{"ID": 5, "Class": "Emergence\\CMS\\Item\\Markdown", "Order": 1, "Data": "# Hello\n\nTrains."}]}),
    );
    s
}

struct Repo {
    tmp: tempfile::TempDir,
    bare: PathBuf,
}

fn repo() -> Repo {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    Repo { tmp, bare }
}

/// `sheet-write --data-repo REPO --now NOW --json R EXTRA < input`; returns the run and report.
fn write(repo: &Repo, input: &str, extra: &[&str]) -> (Run, Value) {
    let json = repo.tmp.path().join("report.json");
    let mut args = vec![
        "--data-repo",
        repo.bare.to_str().unwrap(),
        "--now",
        NOW,
        "--json",
        json.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = sheet_write(&args, input);
    (run, read_json(&json))
}

fn imported(report: &Value) -> Vec<u64> {
    OWNED
        .iter()
        .map(|s| report["counts"][s]["imported"].as_u64().unwrap())
        .collect()
}

fn all_clean(report: &Value) {
    for s in OWNED {
        assert_eq!(report["counts"][s]["errors"], 0, "{s}");
    }
    assert_eq!(report["problems"], 0);
}

#[test]
fn item_32_dry_run_counts_and_no_commit() {
    let r = repo();
    let state = repo_state(&r.bare);
    let (run, report) = write(&r, &snapshot("Transit App"), &["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    // tags, people, projects, memberships, updates, buzz, blog-posts, tag-assignments
    assert_eq!(imported(&report), [2, 2, 1, 2, 1, 1, 1, 2]);
    all_clean(&report);
    assert_eq!(report["commitHash"], Value::Null);
    assert_eq!(report["noChanges"], false);
    assert_eq!(repo_state(&r.bare), state);
    assert_eq!(rev(&r.bare, BRANCH), None);
}

#[test]
fn item_33_real_run_writes_the_records_with_author_and_trailers() {
    let r = repo();
    let (run, report) = write(&r, &snapshot("Transit App"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    all_clean(&report);
    fsck(&r.bare);
    let tip = rev(&r.bare, BRANCH).unwrap();
    assert_eq!(report["commitHash"], tip.as_str());
    let log = commits(&r.bare, "refs/heads/empty", BRANCH);
    assert_eq!(log.len(), 8);
    for ((id, who, _), sheet) in log.iter().zip(OWNED) {
        let cat = git(&r.bare, &["cat-file", "commit", id]);
        assert!(
            cat.contains("\nauthor Code for Philly API <api@users.noreply.codeforphilly.org> ")
        );
        assert!(
            cat.contains("\ncommitter Code for Philly API <api@users.noreply.codeforphilly.org> ")
        );
        assert!(who.starts_with("Code for Philly API"));
        let trailers = git(
            &r.bare,
            &["log", "-1", "--format=%(trailers:only,unfold)", id],
        );
        assert_eq!(
            trailers.trim_end(),
            format!(
                "Action: import.laddr.json\nSource-Host: codeforphilly.org\nRun-At: {NOW}\nSheet: {sheet}"
            )
        );
    }
    let files = read_tree(&r.bare, BRANCH);
    let redacted = redacted_files(&files);
    let paths: BTreeSet<&str> = redacted.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        BTreeSet::from([
            "blog-posts/hello-transit.md",
            "people/alice.toml",
            "people/bob.toml",
            "project-buzz/transit-app/transit-app-on-tv.toml",
            "project-memberships/transit-app/alice.toml",
            "project-memberships/transit-app/bob.toml",
            "project-updates/transit-app/1.toml",
            "projects/transit-app.toml",
            "tag-assignments/<tags/tech/javascript>/person/<people/alice>.toml",
            "tag-assignments/<tags/topic/transit>/project/<projects/transit-app>.toml",
            "tags/tech/javascript.toml",
            "tags/topic/transit.toml",
        ])
    );
    let text = |p: &str| String::from_utf8(files[p].clone()).unwrap();
    assert!(text("projects/transit-app.toml").contains("\nstage = \"prototyping\"\n"));
    assert!(text("projects/transit-app.toml").contains("\nlegacyId = 100\n"));
    assert!(text("projects/transit-app.toml").starts_with("chatChannel = \"transit-app\"\n"));
    assert!(text("people/alice.toml").contains("\nslackSamlNameId = \"alice\"\n"));
    assert!(text("people/bob.toml").starts_with("accountLevel = \"staff\"\n"));
    for (path, bytes) in owned_files(&files) {
        let t = String::from_utf8(bytes).unwrap();
        assert!(!t.contains('@'), "{path}: email-like text");
        assert!(
            !["$2a$", "$2b$", "$2y$"].iter().any(|m| t.contains(m)),
            "{path}"
        );
    }
    insta::assert_snapshot!("orchestrator_records", concat(redacted));
}

#[test]
fn item_35_a_second_identical_run_has_no_changes() {
    let r = repo();
    let input = snapshot("Transit App");
    write(&r, &input, &[]);
    let tip = rev(&r.bare, BRANCH).unwrap();
    let state = repo_state(&r.bare);
    let (run, report) = write(&r, &input, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["noChanges"], true);
    assert_eq!(report["commitHash"], Value::Null);
    assert_eq!(rev(&r.bare, BRANCH).unwrap(), tip);
    assert_eq!(repo_state(&r.bare), state);
    let subjects = git(&r.bare, &["log", "--format=%s", BRANCH]);
    assert_eq!(
        subjects
            .lines()
            .filter(|s| s.starts_with("import("))
            .count(),
        8
    );
    fsck(&r.bare);
}

#[test]
fn item_36_limit_one_keeps_one_row_per_resource() {
    let r = repo();
    let (run, report) = write(&r, &snapshot("Transit App"), &["--limit", "1"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["counts"]["tags"]["imported"], 1);
    assert_eq!(report["counts"]["people"]["imported"], 1);
    assert_eq!(report["counts"]["projects"]["imported"], 1);
    fsck(&r.bare);
    let files = read_tree(&r.bare, BRANCH);
    let under = |root: &str| files.keys().filter(|p| p.starts_with(root)).count();
    assert_eq!(
        (under("tags/"), under("people/"), under("projects/")),
        (1, 1, 1)
    );
    assert!(files.contains_key("tags/topic/transit.toml"));
    assert!(files.contains_key("people/alice.toml"));
    // bob was cut by the limit: his membership is skipped, reported, not written.
    assert!(!files.contains_key("project-memberships/transit-app/bob.toml"));
    assert_eq!(report["counts"]["project-memberships"]["skipped"], 1);
}

#[test]
fn item_37_a_changed_title_changes_exactly_one_file() {
    let r = repo();
    write(&r, &snapshot("Transit App"), &[]);
    let tip = rev(&r.bare, BRANCH).unwrap();
    let (run, report) = write(&r, &snapshot("Transit App (renamed)"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    fsck(&r.bare);
    assert_eq!(
        git(&r.bare, &["diff", "--name-only", &tip, BRANCH]),
        "projects/transit-app.toml\n"
    );
    let log = commits(&r.bare, &tip, BRANCH);
    assert_eq!(log.len(), 1);
    assert_eq!(report["sheets"]["projects"]["commit"], log[0].0.as_str());
    assert_eq!(report["sheets"]["projects"]["modified"], 1);
}

#[test]
fn counts_are_listed_in_the_reference_order() {
    // reference/B §5: count keys tags, people, projects, project-memberships, project-updates,
    // project-buzz, blog-posts, tag-assignments, in the JSON report and the summary.
    let r = repo();
    let (run, _) = write(&r, &snapshot("Transit App"), &[]);
    let text = std::fs::read_to_string(r.tmp.path().join("report.json")).unwrap();
    let counts = &text[text.find("\"counts\"").unwrap()..];
    let counts = &counts[..counts
        .find('}')
        .map(|_| counts.find("\n  },").unwrap())
        .unwrap()];
    let at = |hay: &str, s: &str| {
        hay.find(s)
            .unwrap_or_else(|| panic!("{s} missing in {hay}"))
    };
    let json_order: Vec<usize> = OWNED
        .iter()
        .map(|s| at(counts, &format!("\"{s}\": {{")))
        .collect();
    assert!(json_order.is_sorted(), "JSON counts out of order: {counts}");
    let summary_order: Vec<usize> = OWNED
        .iter()
        .map(|s| at(&run.stderr, &format!("  {s:<22} imported=")))
        .collect();
    assert!(
        summary_order.is_sorted(),
        "summary out of order: {}",
        run.stderr
    );
}

/// The snapshot with every laddr timestamp removed, so `createdAt` falls back to the run clock.
fn without_timestamps(input: &str) -> String {
    fn strip(v: &mut Value) {
        match v {
            Value::Object(m) => {
                for k in ["Created", "Modified", "Published"] {
                    m.remove(k);
                }
                m.values_mut().for_each(strip);
            }
            Value::Array(a) => a.iter_mut().for_each(strip),
            _ => {}
        }
    }
    input
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            strip(&mut v);
            v.to_string() + "\n"
        })
        .collect()
}

#[test]
fn a_later_run_clock_changes_nothing() {
    // Missing laddr timestamps fall back to the run clock on the first import only; later
    // runs read createdAt forward, so a T-0 delta does not rewrite every such record.
    let r = repo();
    let input = without_timestamps(&snapshot("Transit App"));
    assert!(!input.contains("Created"));
    let (first, _) = write(&r, &input, &[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let tip = rev(&r.bare, BRANCH).unwrap();
    let files = read_tree(&r.bare, BRANCH);
    assert!(
        String::from_utf8_lossy(&files["projects/transit-app.toml"])
            .contains(&format!("createdAt = \"{NOW}\"\n"))
    );
    let json = r.tmp.path().join("later.json");
    let later = sheet_write(
        &[
            "--data-repo",
            r.bare.to_str().unwrap(),
            "--now",
            "2026-05-20T12:00:00.000Z",
            "--json",
            json.to_str().unwrap(),
        ],
        &input,
    );
    assert_eq!(later.code, 0, "{}", later.stderr);
    assert_eq!(read_json(&json)["noChanges"], true, "{}", later.stderr);
    assert_eq!(rev(&r.bare, BRANCH).unwrap(), tip);
}

#[test]
fn branch_and_base_options() {
    let r = repo();
    let input = snapshot("Transit App");
    let (run, report) = write(
        &r,
        &input,
        &["--branch", "rehearsal", "--base", "nosuch,empty"],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["branch"], "rehearsal");
    assert_eq!(rev(&r.bare, BRANCH), None);
    let tip = rev(&r.bare, "refs/heads/rehearsal").unwrap();
    assert_eq!(report["commitHash"], tip.as_str());
    assert_eq!(
        report["parent"],
        rev(&r.bare, "refs/heads/empty").unwrap().as_str()
    );
    fsck(&r.bare);
    // No base ref that resolves: a clear fatal error, nothing written.
    let state = repo_state(&r.bare);
    let run = sheet_write(
        &[
            "--data-repo",
            r.bare.to_str().unwrap(),
            "--now",
            NOW,
            "--branch",
            "other",
            "--base",
            "nosuch",
        ],
        &input,
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("nosuch"), "{}", run.stderr);
    assert_eq!(repo_state(&r.bare), state);
}

#[test]
fn a_fresh_clone_continues_from_origin_branch() {
    // The T-1 branch pushed from another machine: `refs/remotes/origin/legacy-import` is the
    // parent, ids are read forward from it, and the local branch is created on top.
    let r = repo();
    write(&r, &snapshot("Transit App"), &[]);
    let pushed = rev(&r.bare, BRANCH).unwrap();
    git(
        &r.bare,
        &["update-ref", "refs/remotes/origin/legacy-import", &pushed],
    );
    git(&r.bare, &["update-ref", "-d", BRANCH]);
    let before = read_tree(&r.bare, &pushed);
    let (run, report) = write(&r, &snapshot("Transit App (T-0)"), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    fsck(&r.bare);
    assert_eq!(report["parent"], pushed.as_str());
    let tip = rev(&r.bare, BRANCH).unwrap();
    assert_eq!(
        git(&r.bare, &["rev-parse", &format!("{tip}^")]).trim(),
        pushed
    );
    assert_eq!(
        git(&r.bare, &["diff", "--name-only", &pushed, &tip]),
        "projects/transit-app.toml\n"
    );
    let after = read_tree(&r.bare, BRANCH);
    assert_eq!(
        record_id(
            "projects/transit-app.toml",
            &after["projects/transit-app.toml"]
        ),
        record_id(
            "projects/transit-app.toml",
            &before["projects/transit-app.toml"]
        )
    );
    assert_eq!(
        rev(&r.bare, "refs/remotes/origin/legacy-import").unwrap(),
        pushed
    );
}

#[test]
fn concurrent_writers_never_lose_or_mix_a_write() {
    // Two imports racing on one branch: each either lands whole or stops with "moved …
    // nothing was written"; the branch ends at a run's reported tip, fsck clean. Repeated a
    // few times so the race is likely to be hit at least once without timing anything.
    let r = repo();
    write(&r, &snapshot("Transit App"), &[]);
    for round in 0..4 {
        let base = rev(&r.bare, BRANCH).unwrap();
        let runs: Vec<(Run, Option<Value>)> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..2)
                .map(|i| {
                    let r = &r;
                    s.spawn(move || {
                        let json = r.tmp.path().join(format!("race-{round}-{i}.json"));
                        let run = sheet_write(
                            &[
                                "--data-repo",
                                r.bare.to_str().unwrap(),
                                "--now",
                                NOW,
                                "--json",
                                json.to_str().unwrap(),
                            ],
                            &snapshot(&format!("Transit App {round}-{i}")),
                        );
                        let report = json.exists().then(|| read_json(&json));
                        (run, report)
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        fsck(&r.bare);
        let tip = rev(&r.bare, BRANCH).unwrap();
        let mut landed = Vec::new();
        for (run, report) in &runs {
            match run.code {
                0 => landed.push(
                    report.as_ref().unwrap()["commitHash"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                ),
                2 => assert!(run.stderr.contains("nothing was written"), "{}", run.stderr),
                c => panic!("exit {c}: {}", run.stderr),
            }
        }
        assert!(!landed.is_empty(), "one of two racing runs always lands");
        assert!(
            landed.contains(&tip),
            "the tip {tip} is a run's reported commit"
        );
        // Every landed commit is on the branch's first-parent chain above the base.
        let chain = git(
            &r.bare,
            &["rev-list", "--first-parent", &format!("{base}..{tip}")],
        );
        for c in &landed {
            assert!(
                chain.contains(c.as_str()),
                "{c} was reported but is not on the branch"
            );
        }
    }
}

/// reference/B §6.5, through the binary: the two example files, byte for byte, with their ids
/// pinned by read-forward (the parent tree holds records with those ids and legacyIds).
#[test]
fn reference_example_files_byte_for_byte() {
    let tmp = tempfile::tempdir().unwrap();
    let work = work_repo(tmp.path());
    std::fs::create_dir_all(work.join("projects")).unwrap();
    std::fs::write(
        work.join("people/aaronm.toml"),
        "id = \"019e4021-2053-7493-ac00-d3752f9f8652\"\nlegacyId = 2_938\nslug = \"aaronm\"\n",
    )
    .unwrap();
    std::fs::write(
        work.join("projects/philly_bike_action.toml"),
        "id = \"019e4021-2d09-7e80-a14a-d38e8c039ec4\"\nlegacyId = 1_234\nslug = \"philly_bike_action\"\n",
    )
    .unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "pinned ids"]);
    let bare = bare_clone(tmp.path(), &work);
    let input = line(
        "people",
        json!({"ID": 2938, "Class": "Emergence\\People\\User", "Username": "AaronM",
               "FirstName": " Aaron ", "LastName": "Moskowitz", "AccountLevel": "Developer",
               "About": "I'm a \"civic\" hacker.\r\nI like maps.\r\n", "PrimaryPhotoID": 4411,
               "Created": 1518875937, "Modified": 1543936053}),
    ) + &line(
        "projects",
        json!({"ID": 1234, "Class": "Laddr\\Project", "Handle": "Philly_Bike_Action",
               "Title": "Philly Bike Action!", "MaintainerID": 2938,
               "UsersUrl": "http://phillybikeaction.example.org/",
               "DevelopersUrl": "https://GitHub.com/example/pba", "ChatChannel": "#Bike Action",
               "Stage": "Maintaining", "README": "Say \"hi\" to [PBA](https://x.org)",
               "Created": 1357257311, "Modified": null, "Tags": [], "Memberships": []}),
    );
    let r = sheet_write(
        &[
            "--data-repo",
            bare.to_str().unwrap(),
            "--now",
            NOW,
            "--allow-missing-resources",
        ],
        &input,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    fsck(&bare);
    let files = read_tree(&bare, BRANCH);
    let text = |p: &str| String::from_utf8(files[p].clone()).unwrap();
    assert_eq!(
        text("projects/philly_bike_action.toml"),
        r#"chatChannel = "bike-action"
createdAt = "2013-01-03T23:55:11.000Z"
developersUrl = "https://github.com/example/pba"
featured = false
id = "019e4021-2d09-7e80-a14a-d38e8c039ec4"
legacyId = 1_234
maintainerId = "019e4021-2053-7493-ac00-d3752f9f8652"
overview = 'Say "hi" to [PBA](https://x.org)'
slug = "philly_bike_action"
stage = "maintaining"
title = "Philly Bike Action!"
updatedAt = "2013-01-03T23:55:11.000Z"
"#
    );
    // `avatarKey` comes with the avatar step (a later tool); everything else is §6.5's bytes.
    assert_eq!(
        text("people/aaronm.toml"),
        r#"accountLevel = "administrator"
bio = """
I'm a "civic" hacker.\r
I like maps."""
createdAt = "2018-02-17T13:58:57.000Z"
firstName = "Aaron"
fullName = "Aaron Moskowitz"
id = "019e4021-2053-7493-ac00-d3752f9f8652"
lastName = "Moskowitz"
legacyId = 2_938
slackSamlNameId = "aaronm"
slug = "aaronm"
updatedAt = "2018-12-04T15:07:33.000Z"
"#
    );
}
