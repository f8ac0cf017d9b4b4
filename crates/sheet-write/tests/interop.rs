//! Interop with the JavaScript stack the rewrite runs (issue 4): gitsheets 1.4.1 writes with
//! `sort-keys` 6.0.0 + `@iarna/toml` 2.2.5 and reads with `smol-toml` 1.7.0, installed into
//! `interop/node_modules` by `cargo xtask test`. Every record of a repo written by
//! `sheet-write` must re-serialise to the same bytes there, and parse back to the same values.

mod common;

use common::*;
use fixtures::laddr::{Site, small_dir};
use fixtures::laddr_server::{Faults, LaddrServer};
use serde_json::{Map, Value, json};
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

fn interop_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop")
}

/// `node interop/canon.mjs ARGS` over NDJSON lines.
fn run_node(args: &[&str], input: &str) -> Vec<Value> {
    let dir = interop_dir();
    assert!(
        dir.join("node_modules/@iarna/toml").is_dir()
            && dir.join("node_modules/smol-toml").is_dir()
            && dir.join("node_modules/sort-keys").is_dir(),
        "the JavaScript interop stack is not installed: run `cargo xtask test` (or `npm ci` in {})",
        dir.display()
    );
    let mut child = Command::new("node")
        .arg("canon.mjs")
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(out.status.success());
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Records holding several control characters (other than BS TAB LF FF CR) in one string,
/// or one inside what @iarna writes as a literal string: @iarna escapes only the first and
/// writes invalid TOML; we escape every one, on purpose (DESIGN §3).
fn deliberately_different(record: &Map<String, Value>) -> bool {
    let other =
        |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}') && !"\u{8}\t\n\u{c}\r".contains(c);
    record.values().any(|v| {
        let Some(s) = v.as_str() else { return false };
        let literal = s.contains('"') && !s.contains(['\'', '\u{8}', '\t', '\n', '\u{c}', '\r']);
        s.split('\n')
            .any(|l| l.chars().filter(|&c| other(c)).count() >= 2)
            || s.chars().filter(|&c| other(c)).count() >= 2
            || (literal && s.chars().any(other))
    })
}

/// A site with the awkward text gitsheets' writer has rules for, on top of the small fixture.
fn awkward_site() -> Site {
    let mut site = Site::read_dir(&small_dir()).unwrap();
    let texts = [
        "both \"double\" and 'single' quotes",
        "only \"double\" quotes",
        "ends with a quote \"",
        "multi\nline with \"\"\" triple quotes\nand a last \"",
        "CRLF\r\nlines\r\n",
        "a tab\there and a backslash \\ and unicode ✓ ü 漢字",
        "one control \u{1} char",
        "two \u{1} control \u{2} chars",
        "trailing newline\n",
    ];
    for (person, text) in site.people.iter_mut().zip(texts) {
        person["About"] = json!(text);
    }
    site
}

#[test]
fn every_written_record_is_what_gitsheets_would_write_and_read() {
    let site = awkward_site();
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let data_repo = bare.to_str().unwrap();
    let (_, run) = pipeline(&server.url(), &["--data-repo", data_repo, "--now", NOW]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    fsck(&bare);
    let files = owned_files(&read_tree(&bare, BRANCH));

    // The records as the translator made them (the same ids, read forward).
    let (_, emitted) = pipeline(
        &server.url(),
        &["--emit-records", "--data-repo", data_repo, "--now", NOW],
    );
    let mut records: Vec<(String, Map<String, Value>)> = emitted
        .stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["path"].as_str().unwrap().to_owned(),
                v["record"].as_object().unwrap().clone(),
            )
        })
        .collect();
    records.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        records.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>(),
        files.keys().cloned().collect::<Vec<_>>()
    );

    // The TOML part of each record: the whole record, or the front matter (all but `body`).
    let mut toml_records = Vec::new();
    for (path, record) in &records {
        let mut r = record.clone();
        if path.ends_with(".md") {
            let body = r
                .remove("body")
                .and_then(|b| b.as_str().map(str::to_owned))
                .unwrap_or_default();
            let (_, file_body) = split_markdown(&files[path]);
            let expected = if body.ends_with('\n') {
                body
            } else {
                body + "\n"
            };
            assert_eq!(file_body, expected, "{path}: body");
        }
        toml_records.push((path.clone(), r));
    }
    let input: String = toml_records
        .iter()
        .map(|(_, r)| serde_json::to_string(r).unwrap() + "\n")
        .collect();
    let theirs = run_node(&[], &input);
    assert_eq!(theirs.len(), toml_records.len());
    let (mut compared, mut exempt) = (0, Vec::new());
    for ((path, record), theirs) in toml_records.iter().zip(&theirs) {
        let ours = toml_part(path, &files[path]);
        if deliberately_different(record) {
            exempt.push(path.clone());
            assert_ne!(
                theirs["toml"].as_str(),
                Some(ours.as_str()),
                "{path}: expected to differ"
            );
            continue;
        }
        let theirs = theirs["toml"]
            .as_str()
            .unwrap_or_else(|| panic!("{path}: @iarna failed: {theirs}"));
        assert_eq!(ours, theirs, "{path}: bytes differ from @iarna/toml");
        compared += 1;
    }
    // The small fixture plants one such record; the site above adds another.
    assert_eq!(exempt.len(), 2, "{exempt:?}");
    assert_eq!(compared + exempt.len(), files.len());

    // smol-toml reads every blob (the TOML part) to the values we meant to write.
    let blobs: String = toml_records
        .iter()
        .map(|(path, _)| json!({"toml": toml_part(path, &files[path])}).to_string() + "\n")
        .collect();
    let parsed = run_node(&["--parse"], &blobs);
    assert_eq!(parsed.len(), toml_records.len());
    for ((path, record), parsed) in toml_records.iter().zip(&parsed) {
        assert_eq!(
            parsed.get("value"),
            Some(&Value::Object(record.clone())),
            "{path}: smol-toml read {parsed}"
        );
    }
}
