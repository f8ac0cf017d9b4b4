//! Bad input and refusals: each is a clear error, with the documented exit code, and nothing
//! is written.

mod common;

use common::*;
use serde_json::{Value, json};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

fn person(id: i64, username: &str) -> String {
    line(
        "people",
        json!({"ID": id, "Class": "Emergence\\People\\User", "Username": username,
               "FirstName": "F", "LastName": "L", "AccountLevel": "User",
               "Created": 1377126953, "Modified": null, "Tags": []}),
    )
}

/// The inputs here hold only the rows each test needs, so allow the other resources to be
/// missing (`an_empty_or_partial_input_does_not_wipe_the_branch` tests the refusal).
fn args(bare: &Path) -> Vec<String> {
    vec![
        "--data-repo".into(),
        bare.to_str().unwrap().into(),
        "--now".into(),
        NOW.into(),
        "--allow-missing-resources".into(),
    ]
}

fn run(bare: &Path, extra: &[&str], input: &str) -> Run {
    let mut a = args(bare);
    a.extend(extra.iter().map(|s| s.to_string()));
    let a: Vec<&str> = a.iter().map(String::as_str).collect();
    sheet_write(&a, input)
}

#[test]
fn a_malformed_line_is_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let state = repo_state(&bare);
    let input = person(1, "alice")
        + "{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":2,\n"
        + &person(3, "carol");
    let r = run(&bare, &[], &input);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("input line 2"), "{}", r.stderr);
    assert!(r.stderr.contains("sheet-write: error:"), "{}", r.stderr);
    assert_eq!(repo_state(&bare), state);
    // A line that is JSON but not a laddr-fetch line is named too.
    let input =
        person(1, "alice") + &person(2, "bob") + "{\"v\":1,\"resource\":\"users\",\"row\":{}}\n";
    let r = run(&bare, &["--dry-run"], &input);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("input line 3"), "{}", r.stderr);
    assert_eq!(repo_state(&bare), state);
    // A line version this build does not read.
    let input = person(1, "alice") + "{\"v\":2,\"resource\":\"people\",\"row\":{\"ID\":2}}\n";
    let r = run(&bare, &[], &input);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("input line 2: unsupported line version v=2"),
        "{}",
        r.stderr
    );
    // An --input file that does not exist is named.
    let missing = bare.join("no-such.ndjson");
    let r = run(&bare, &["--input", missing.to_str().unwrap()], "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("no-such.ndjson"), "{}", r.stderr);
    assert_eq!(repo_state(&bare), state);
}

#[test]
fn a_non_bare_data_repo_exits_2_untouched() {
    let tmp = tempfile::tempdir().unwrap();
    let work = work_repo(tmp.path());
    let before = (
        repo_state(&work.join(".git")),
        git(&work, &["status", "--porcelain", "--ignored"]),
    );
    let r = run(&work, &[], &person(1, "alice"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("git clone --bare"), "{}", r.stderr);
    let after = (
        repo_state(&work.join(".git")),
        git(&work, &["status", "--porcelain", "--ignored"]),
    );
    assert_eq!(before, after);
    // Also as a dry run, and with --emit-records: refused before anything is read.
    for extra in [["--dry-run"], ["--emit-records"]] {
        let r = run(&work, &extra, &person(1, "alice"));
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        assert!(r.stdout.is_empty());
    }
}

#[test]
fn a_missing_sheet_config_is_a_clear_error() {
    let tmp = tempfile::tempdir().unwrap();
    let work = work_repo(tmp.path());
    git(&work, &["rm", "-q", ".gitsheets/project-buzz.toml"]);
    git(&work, &["commit", "-q", "-m", "no buzz config"]);
    let bare = bare_clone(tmp.path(), &work);
    let state = repo_state(&bare);
    let r = run(&bare, &[], &person(1, "alice"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("sheet `project-buzz` has no config in .gitsheets/"),
        "{}",
        r.stderr
    );
    assert_eq!(repo_state(&bare), state);
}

#[test]
fn usage_errors_exit_2() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let r = sheet_write(&["--now", NOW], &person(1, "alice"));
    assert_eq!(r.code, 2);
    assert!(
        r.stderr
            .contains("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)"),
        "{}",
        r.stderr
    );
    let r = run(&bare, &["--now", "yesterday"], &person(1, "alice"));
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("--now"), "{}", r.stderr);
    let missing = tmp.path().join("missing.git");
    let r = run(&missing, &[], &person(1, "alice"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(!missing.exists());
    let r = run(&bare, &["--dry-run", "--emit-records"], &person(1, "alice"));
    assert_eq!(r.code, 2, "clap refuses conflicting flags");
    assert_eq!(rev(&bare, BRANCH), None);
    // The environment variable names the repo too.
    let out = Command::new(sheet_write_bin())
        .args([
            "--now",
            NOW,
            "--input",
            "/dev/null",
            "--allow-missing-resources",
        ])
        .env("CFP_DATA_REPO_PATH", &bare)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    fsck(&bare);
}

#[test]
fn help_explains_the_completeness_refusal() {
    let r = sheet_write(&["--help"], "");
    assert_eq!(r.code, 0, "{}", r.stderr);
    for needle in [
        "--allow-incomplete",
        "--allow-missing-resources",
        "\"complete\":false",
        "Input without end lines (hand-made NDJSON) is taken as whole",
    ] {
        assert!(r.stdout.contains(needle), "{needle}: {}", r.stdout);
    }
}

#[test]
fn an_unreadable_parent_record_is_fatal() {
    // Its id could not be carried forward, so every reference to it would churn.
    let tmp = tempfile::tempdir().unwrap();
    let work = work_repo(tmp.path());
    std::fs::write(work.join("people/broken.toml"), "id = \"unterminated\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "a broken record"]);
    let bare = bare_clone(tmp.path(), &work);
    let state = repo_state(&bare);
    let r = run(&bare, &[], &person(1, "alice"));
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("people/broken.toml"), "{}", r.stderr);
    assert_eq!(repo_state(&bare), state);
}

#[test]
fn colliding_tag_slugs_are_reported_not_silently_overwritten() {
    // Two tags whose handles normalise to the same namespace/slug: the translator keeps the
    // later row (as the reference's overwrite does) and says so.
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let json_path = tmp.path().join("r.json");
    let tag = |id: i64, handle: &str| {
        line(
            "tags",
            json!({"ID": id, "Class": "Tag", "Handle": handle, "Title": "Urban design", "Created": 1377126953}),
        )
    };
    let input = tag(1, "topic.urban_design") + &tag(2, "topic.urban-design");
    let r = run(&bare, &["--json", json_path.to_str().unwrap()], &input);
    let report = read_json(&json_path);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    fsck(&bare);
    let files = owned_files(&read_tree(&bare, BRANCH));
    assert_eq!(
        files.keys().collect::<Vec<_>>(),
        ["tags/topic/urban-design.toml"]
    );
    assert_eq!(report["counts"]["tags"]["skipped"], 1);
    assert!(
        report["warnings"].as_array().unwrap().iter().any(|w| {
            let w = w.as_str().unwrap();
            w.contains("legacyId=2") && w.contains("legacyId=1") && w.contains("topic/urban-design")
        }),
        "{report}"
    );
}

#[test]
fn records_colliding_on_one_path_are_refused() {
    // The repo's own path template decides the path; here two people render to one file.
    let tmp = tempfile::tempdir().unwrap();
    let work = work_repo(tmp.path());
    std::fs::write(
        work.join(".gitsheets/people.toml"),
        "[gitsheet]\nroot = 'people'\npath = '${{ lastName }}'\n",
    )
    .unwrap();
    std::fs::remove_file(work.join("people/handmade.toml")).unwrap();
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "people by last name"]);
    let bare = bare_clone(tmp.path(), &work);
    let json_path = tmp.path().join("r.json");
    let input = person(1, "alice") + &person(2, "bob");
    let r = run(&bare, &["--json", json_path.to_str().unwrap()], &input);
    let report = read_json(&json_path);
    assert_eq!(r.code, 1, "{}", r.stderr);
    fsck(&bare);
    let files = owned_files(&read_tree(&bare, BRANCH));
    assert_eq!(files.keys().collect::<Vec<_>>(), ["people/L.toml"]);
    let text = String::from_utf8(files["people/L.toml"].clone()).unwrap();
    assert!(
        text.contains("slug = \"alice\"\n"),
        "the first one is kept: {text}"
    );
    let errors = report["writeErrors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{report}");
    let e = errors[0].as_str().unwrap();
    assert!(
        e.starts_with("[people] legacyId=2 and legacyId=1 ") && e.contains("people/L.toml"),
        "{e}"
    );
    assert!(report["warnings"].as_array().unwrap().contains(&errors[0]));
    assert!(r.stderr.contains(e), "{}", r.stderr);
}

#[test]
fn a_closed_stdout_ends_emit_records_quietly() {
    let tmp = tempfile::tempdir().unwrap();
    let input: String = (1..=3000).map(|i| person(i, &format!("user{i}"))).collect();
    let file = tmp.path().join("in.ndjson");
    std::fs::write(&file, input).unwrap();
    let mut child = Command::new(sheet_write_bin())
        .args([
            "--emit-records",
            "--now",
            NOW,
            "--input",
            file.to_str().unwrap(),
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    out.read_line(&mut first).unwrap();
    let v: Value = serde_json::from_str(&first).unwrap();
    assert_eq!(v["sheet"], "people");
    drop(out); // `| head -1`
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

/// A `+++` line inside a multi-line front matter string (a blog summary) must not end the
/// front matter: the post is written, reads back, and the next run is not blocked.
#[test]
fn a_blog_summary_with_a_plus_line_survives_the_next_run() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let post = line(
        "blog",
        json!({"ID": 1, "Class": "Emergence\\CMS\\BlogPost", "Handle": "release-notes", "Title": "Release notes",
               "Summary": "Changes\n+++\nmore", "Status": "Published", "Visibility": "Public",
               "Created": 1746028000, "Published": 1746028800, "Modified": 1746028800,
               "items": [{"ID": 5, "Class": "Emergence\\CMS\\Item\\Markdown", "Order": 1, "Data": "Body."}]}),
    );
    let first = run(&bare, &[], &post);
    assert_eq!(first.code, 0, "{}", first.stderr);
    fsck(&bare);
    for (path, bytes) in owned_files(&read_tree(&bare, BRANCH)) {
        config(sheet_of(&path))
            .decode(&path, &bytes)
            .unwrap_or_else(|e| panic!("{path} was written but cannot be read back: {e}"));
    }
    let second = run(&bare, &[], &post);
    assert_eq!(
        second.code, 0,
        "the next run is not blocked: {}",
        second.stderr
    );
    assert!(
        second.stderr.contains("no changes from parent commit"),
        "{}",
        second.stderr
    );
}

#[test]
fn sheets_markdown_encode_refuses_what_decode_cannot_read() {
    let blog = config("blog-posts");
    let record = json!({"slug": "release-notes", "summary": "Changes\n+++\nmore", "body": "Body."});
    let record = record.as_object().unwrap();
    if let Ok(bytes) = blog.encode(record) {
        let back = blog.decode("blog-posts/release-notes.md", &bytes);
        assert_eq!(
            back.ok().as_ref(),
            Some(record),
            "{}",
            String::from_utf8_lossy(&bytes)
        );
    }
}

#[test]
fn strict_free_text_pii_refuses_addresses_in_bios() {
    // By default an address a user typed into their bio is kept with a warning (laddr holds
    // hundreds); --strict-free-text-pii refuses the record instead (counted, exit 1).
    let bio = |id: i64, username: &str, about: &str| {
        line(
            "people",
            json!({"ID": id, "Class": "Emergence\\People\\User", "Username": username,
                   "FirstName": "F", "LastName": "L", "AccountLevel": "User",
                   "About": about, "Created": 1377126953, "Tags": []}),
        )
    };
    let input =
        bio(1, "alice", "Write to alice.a@example.org any time.") + &bio(2, "bob", "No contact.");
    for (strict, code, alice_written) in [(false, 0, true), (true, 1, false)] {
        let tmp = tempfile::tempdir().unwrap();
        let bare = fresh_clone(tmp.path());
        let json_path = tmp.path().join("r.json");
        let mut extra = vec!["--json", json_path.to_str().unwrap()];
        if strict {
            extra.push("--strict-free-text-pii");
        }
        let r = run(&bare, &extra, &input);
        assert_eq!(r.code, code, "strict={strict}: {}", r.stderr);
        let report = read_json(&json_path);
        let files = read_tree(&bare, BRANCH);
        assert_eq!(
            files.contains_key("people/alice.toml"),
            alice_written,
            "strict={strict}"
        );
        assert!(files.contains_key("people/bob.toml"));
        assert_eq!(report["counts"]["people"]["errors"], u64::from(strict));
        let warned = report["warnings"].as_array().unwrap().iter().any(|w| {
            w.as_str().unwrap().contains("legacyId=1")
                && w.as_str().unwrap().contains("a***@example.org")
        });
        assert!(warned, "strict={strict}: {report}");
        assert!(
            !report.to_string().contains("alice.a@example.org"),
            "the address is masked"
        );
        fsck(&bare);
    }
}

/// A complete laddr-fetch stream (one person, every resource's end line, one media line),
/// then `after`: the line number of `after` is returned with it.
fn rows_then(after: &str) -> (String, usize) {
    let mut input = person(1, "alice");
    for r in translate::Resource::ALL {
        let rows = u64::from(r == translate::Resource::People);
        input += &format!(
            "{{\"v\":1,\"resource\":\"{r}\",\"end\":{{\"rows\":{rows},\"total\":{rows},\"complete\":true}}}}\n"
        );
    }
    input += "{\"v\":1,\"media\":{\"id\":7,\"url\":\"https://codeforphilly.org/media/7/original\",\"error\":\"HTTP 404\"}}\n";
    (input + after, translate::Resource::ALL.len() + 3)
}

#[test]
fn a_bad_line_after_the_rows_is_named_and_nothing_is_written() {
    // The rows are translated before the media lines after them are read: a bad line
    // there must still fail the run before anything is written, whatever the mode.
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let media = tmp.path().join("media");
    std::fs::create_dir(&media).unwrap();
    let state = repo_state(&bare);
    let cut = rows_then("{\"v\":1,\"media\":{\"id\":8,\n");
    let row = rows_then(&person(2, "bob"));
    let media_dir = ["--media-dir", media.to_str().unwrap()];
    for (input, line) in [&cut, &row] {
        for extra in [&[][..], &["--dry-run"], &["--emit-records"], &media_dir] {
            let r = run(&bare, extra, input);
            assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
            let named = format!("sheet-write: error: reading laddr NDJSON: input line {line}:");
            assert!(r.stderr.contains(&named), "{extra:?}: {}", r.stderr);
            assert!(r.stdout.is_empty(), "{extra:?}: {}", r.stdout);
            assert_eq!(repo_state(&bare), state, "{extra:?}");
        }
    }
    // The same stream without the bad line imports.
    let (good, _) = rows_then("");
    let r = run(&bare, &media_dir, &good);
    assert!(r.code < 2, "{}", r.stderr);
    assert_ne!(repo_state(&bare), state);
    fsck(&bare);
}
