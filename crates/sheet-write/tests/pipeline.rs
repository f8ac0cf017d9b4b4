//! End to end through real pipes: the laddr fixture server on loopback → `laddr-fetch` →
//! `sheet-write` → a real bare data repo made with the `git` CLI, read back with
//! `git ls-tree`/`git cat-file`/`git log` and checked with `git fsck --strict`.

mod common;

use common::*;
use fixtures::laddr::{Site, small_dir};
use fixtures::laddr_server::{Faults, LaddrServer};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

fn small_site() -> Site {
    Site::read_dir(&small_dir()).unwrap()
}

fn serve(site: Site) -> LaddrServer {
    LaddrServer::start(site, Faults::none()).unwrap()
}

/// A fresh bare clone and one import of `site` through the pipe; returns the repo and report.
struct Imported {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    bare: PathBuf,
}

impl Imported {
    fn new(site: Site) -> (Imported, Run, Value) {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().to_path_buf();
        let bare = fresh_clone(&dir);
        let me = Imported {
            _tmp: tmp,
            dir,
            bare,
        };
        let (run, report) = me.import(&site, "first.json", &[]);
        (me, run, report)
    }

    /// `laddr-fetch | sheet-write` against a server for `site`.
    fn import(&self, site: &Site, report: &str, extra: &[&str]) -> (Run, Value) {
        let server = serve(site.clone());
        let json = self.dir.join(report);
        let mut args = vec![
            "--data-repo",
            self.bare.to_str().unwrap(),
            "--now",
            NOW,
            "--json",
            json.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        let (_, run) = pipeline(&server.url(), &args);
        assert!(
            run.code == 0 || run.code == 1,
            "sheet-write exit {}: {}",
            run.code,
            run.stderr
        );
        fsck(&self.bare);
        (run, read_json(&json))
    }

    fn tip(&self) -> String {
        rev(&self.bare, BRANCH).unwrap()
    }

    fn files(&self) -> BTreeMap<String, Vec<u8>> {
        read_tree(&self.bare, BRANCH)
    }
}

/// The person row with this Username (public people).
fn person_mut<'a>(site: &'a mut Site, username: &str) -> &'a mut Value {
    site.people
        .iter_mut()
        .find(|p| p["Username"] == username)
        .unwrap_or_else(|| panic!("no person {username}"))
}

/// Exit 0 only when nothing was skipped for an error and nothing failed validation.
fn expected_code(report: &Value) -> i32 {
    let clean = report["problems"] == 0 && report["writeErrors"].as_array().unwrap().is_empty();
    if clean { 0 } else { 1 }
}

fn file_id(files: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    record_id(path, &files[path]).unwrap_or_else(|| panic!("{path} has no id"))
}

#[test]
fn small_fixture_end_to_end_through_pipes() {
    let site = small_site();
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    assert_eq!(
        rev(&bare, BRANCH),
        None,
        "a fresh clone has no legacy-import"
    );
    let empty = rev(&bare, "refs/heads/empty").unwrap();
    let head_before = std::fs::read_to_string(bare.join("HEAD")).unwrap();
    let server = serve(site);
    let report_path = tmp.path().join("report.json");
    let (_, run) = pipeline(
        &server.url(),
        &[
            "--data-repo",
            bare.to_str().unwrap(),
            "--now",
            NOW,
            "--json",
            report_path.to_str().unwrap(),
        ],
    );
    assert!(run.stdout.is_empty(), "a writing run prints no data");
    assert!(!run.stderr.contains("failed:"), "{}", run.stderr);
    let report = read_json(&report_path);
    assert_eq!(run.code, expected_code(&report), "{}", run.stderr);
    fsck(&bare);

    // HEAD and the base branch are untouched.
    assert_eq!(
        std::fs::read_to_string(bare.join("HEAD")).unwrap(),
        head_before
    );
    assert_eq!(rev(&bare, "refs/heads/empty").unwrap(), empty);
    let tip = rev(&bare, BRANCH).unwrap();

    // The file set and every record, ids redacted to what they identify.
    let files = read_tree(&bare, BRANCH);
    let redacted = redacted_files(&files);
    let mut listing: Vec<String> = files
        .keys()
        .filter(|p| !OWNED.iter().any(|s| p.starts_with(&format!("{s}/"))))
        .cloned()
        .collect();
    listing.extend(redacted.keys().cloned());
    listing.sort();
    insta::assert_snapshot!("small_file_set", listing.join("\n"));
    for sheet in OWNED {
        let text = concat(
            redacted
                .iter()
                .filter(|(p, _)| p.starts_with(&format!("{sheet}/")))
                .map(|(p, t)| (p.clone(), t.clone())),
        );
        assert!(
            !text.contains("<unknown-uuid>"),
            "{sheet}: an id points nowhere"
        );
        insta::assert_snapshot!(format!("small_{sheet}"), text);
    }

    // The hand-made record under an owned root is gone; `.gitsheets/` and the sheets the
    // importer does not own are byte-identical to the parent.
    assert!(!files.contains_key("people/handmade.toml"));
    let parent_files = read_tree(&bare, "refs/heads/empty");
    for (path, bytes) in &parent_files {
        if path.starts_with(".gitsheets/")
            || !OWNED.iter().any(|s| path.starts_with(&format!("{s}/")))
        {
            assert_eq!(files.get(path), Some(bytes), "{path} changed");
        }
    }
    for t in [".gitsheets", "revocations", "slug-history"] {
        assert_eq!(
            rev(&bare, &format!("{tip}:{t}")),
            rev(&bare, &format!("{empty}:{t}")),
            "{t}/ tree changed"
        );
    }
    assert_eq!(
        files
            .keys()
            .filter(|p| !OWNED.iter().any(|s| p.starts_with(&format!("{s}/"))))
            .count(),
        14
    );

    // One commit per sheet, in foreign-key order, each touching only its own root.
    let log = commits(&bare, &empty, &tip);
    assert_eq!(log.len(), 8, "every sheet of the small fixture has records");
    let mut prev = empty.clone();
    for ((id, who, _), sheet) in log.iter().zip(OWNED) {
        assert_eq!(
            who,
            "Code for Philly API <api@users.noreply.codeforphilly.org>|Code for Philly API <api@users.noreply.codeforphilly.org>"
        );
        let msg = message(&bare, id);
        let c = &report["counts"][sheet];
        let r = &report["sheets"][sheet];
        let expected = format!(
            "import({sheet}): snapshot from codeforphilly.org ({NOW})\n\n\
             {} {sheet} imported, {} skipped, {} failed validation; {} files added, {} modified, {} deleted.\n\n\
             Action: import.laddr.json\nSource-Host: codeforphilly.org\nRun-At: {NOW}\nSheet: {sheet}\n",
            c["imported"], c["skipped"], c["errors"], r["added"], r["modified"], r["deleted"],
        );
        assert_eq!(msg, expected);
        assert_eq!(
            git(&bare, &["rev-parse", &format!("{id}^")]).trim(),
            prev,
            "{sheet} parent"
        );
        for (_, path) in diff(&bare, &prev, id) {
            assert!(
                path.starts_with(&format!("{sheet}/")),
                "{sheet} commit touched {path}"
            );
        }
        assert_eq!(r["commit"], id.as_str(), "{sheet}: report names its commit");
        // The report's file changes are what the commit did.
        let changes = diff(&bare, &prev, id);
        let count = |s: &str| changes.iter().filter(|(k, _)| k == s).count();
        assert_eq!(r["added"], count("A"), "{sheet}");
        assert_eq!(r["modified"], count("M"), "{sheet}");
        assert_eq!(r["deleted"], count("D"), "{sheet}");
        let written = files
            .keys()
            .filter(|p| p.starts_with(&format!("{sheet}/")))
            .count();
        assert_eq!(r["files"], written, "{sheet}");
        assert_eq!(c["imported"], written, "{sheet}: imported == files written");
        prev = id.clone();
    }
    assert_eq!(
        report["sheets"]["people"]["deleted"], 1,
        "people/handmade.toml"
    );

    // The report: the reference's ImportReport shape plus per-sheet results.
    assert_eq!(report["commitHash"], tip.as_str());
    assert_eq!(report["noChanges"], false);
    assert_eq!(report["dryRun"], false);
    assert_eq!(report["parent"], empty.as_str());
    assert_eq!(report["runAt"], NOW);
    assert_eq!(report["sourceHost"], "codeforphilly.org");
    assert_eq!(report["branch"], "legacy-import");
    let count_keys: BTreeSet<&str> = report["counts"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(count_keys, OWNED.into_iter().collect::<BTreeSet<_>>());
    for sheet in OWNED {
        let c = report["counts"][sheet].as_object().unwrap();
        assert_eq!(
            c.keys().map(String::as_str).collect::<BTreeSet<_>>(),
            BTreeSet::from(["imported", "skipped", "errors"])
        );
    }
    let mut shown = report.clone();
    shown["commitHash"] = json!("<tip>");
    shown["parent"] = json!("<empty>");
    for sheet in OWNED {
        shown["sheets"][sheet]["commit"] = json!("<commit>");
    }
    insta::assert_snapshot!(
        "small_report",
        serde_json::to_string_pretty(&shown).unwrap()
    );
    // The human summary on stderr says the same.
    assert!(
        run.stderr
            .contains(&format!("commit: {tip} on legacy-import")),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains(&format!(
        "warnings: {}",
        report["warnings"].as_array().unwrap().len()
    )));
}

#[test]
fn an_identical_second_run_makes_no_commit() {
    let site = small_site();
    let (repo, _, first) = Imported::new(site.clone());
    let tip = repo.tip();
    let before = repo_state(&repo.bare);
    let (run, second) = repo.import(&site, "second.json", &[]);
    assert_eq!(run.code, expected_code(&first));
    assert_eq!(second["noChanges"], true);
    assert_eq!(second["commitHash"], Value::Null);
    assert_eq!(second["parent"], tip.as_str());
    assert_eq!(repo.tip(), tip);
    assert_eq!(repo_state(&repo.bare), before, "nothing written");
    assert_eq!(second["counts"], first["counts"]);
    assert_eq!(second["warnings"], first["warnings"]);
    for sheet in OWNED {
        let r = &second["sheets"][sheet];
        assert_eq!(r["commit"], Value::Null, "{sheet}");
        assert_eq!(
            (&r["added"], &r["modified"], &r["deleted"]),
            (&json!(0), &json!(0), &json!(0)),
            "{sheet}"
        );
        assert_eq!(r["files"], first["sheets"][sheet]["files"], "{sheet}");
    }
    assert!(
        run.stderr
            .contains("(no changes from parent commit — branch unchanged)")
    );
}

#[test]
fn a_changed_project_title_changes_exactly_one_file() {
    let mut site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let tip = repo.tip();
    let before = repo.files();
    let project = site
        .projects
        .iter_mut()
        .find(|p| p["Handle"] == "transit-app")
        .unwrap();
    project["Title"] = json!("Transit App, renamed upstream");
    let (_, report) = repo.import(&site, "second.json", &[]);
    let after = repo.files();
    assert_eq!(
        diff(&repo.bare, &tip, BRANCH),
        [("M".to_owned(), "projects/transit-app.toml".to_owned())]
    );
    let text = String::from_utf8(after["projects/transit-app.toml"].clone()).unwrap();
    assert!(
        text.contains("title = \"Transit App, renamed upstream\"\n"),
        "{text}"
    );
    assert_eq!(
        file_id(&after, "projects/transit-app.toml"),
        file_id(&before, "projects/transit-app.toml")
    );
    let log = commits(&repo.bare, &tip, BRANCH);
    assert_eq!(log.len(), 1);
    assert!(
        log[0]
            .2
            .starts_with("import(projects): snapshot from codeforphilly.org")
    );
    assert_eq!(report["sheets"]["projects"]["modified"], 1);
    assert_eq!(report["commitHash"], log[0].0.as_str());
}

/// Files of a person: their record, memberships and tag assignments.
fn files_of(files: &BTreeMap<String, Vec<u8>>, slug: &str) -> BTreeSet<String> {
    let id = file_id(files, &format!("people/{slug}.toml"));
    files
        .keys()
        .filter(|p| {
            *p == &format!("people/{slug}.toml")
                || (p.starts_with("project-memberships/") && p.ends_with(&format!("/{slug}.toml")))
                || (p.starts_with("tag-assignments/") && p.ends_with(&format!("/person/{id}.toml")))
        })
        .cloned()
        .collect()
}

#[test]
fn a_person_deleted_upstream_loses_their_files() {
    let mut site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let tip = repo.tip();
    let before = repo.files();
    // bob: a member of a project, with tags, and referenced by nothing else.
    let gone = files_of(&before, "bob");
    assert!(
        gone.iter().any(|p| p.starts_with("project-memberships/")),
        "{gone:?}"
    );
    assert!(
        gone.iter().any(|p| p.starts_with("tag-assignments/")),
        "{gone:?}"
    );
    let bob_id = file_id(&before, "people/bob.toml");
    for (p, b) in &before {
        if !gone.contains(p) {
            assert!(
                !String::from_utf8_lossy(b).contains(&bob_id),
                "{p} refers to bob"
            );
        }
    }
    let bob = site
        .people
        .iter()
        .position(|p| p["Username"] == "bob")
        .unwrap();
    site.people.remove(bob);
    let (_, report) = repo.import(&site, "second.json", &[]);
    let changes = diff(&repo.bare, &tip, BRANCH);
    let expected: Vec<(String, String)> =
        gone.iter().map(|p| ("D".to_owned(), p.clone())).collect();
    assert_eq!(changes, expected);
    assert_eq!(report["sheets"]["people"]["deleted"], 1);
    // His membership is skipped as unresolved (not silently dropped).
    assert!(
        report["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("project-memberships")),
        "{report}"
    );
}

#[test]
fn a_renamed_username_moves_the_file_and_keeps_the_id() {
    let mut site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let tip = repo.tip();
    let before = repo.files();
    let old = files_of(&before, "bob");
    assert!(
        old.iter().any(|p| p.starts_with("project-memberships/")),
        "{old:?}"
    );
    let id = file_id(&before, "people/bob.toml");
    person_mut(&mut site, "bob")["Username"] = json!("Bob.Renamed");
    repo.import(&site, "second.json", &[]);
    let after = repo.files();
    assert!(!after.contains_key("people/bob.toml"));
    assert_eq!(file_id(&after, "people/bob-renamed.toml"), id);
    let text = String::from_utf8(after["people/bob-renamed.toml"].clone()).unwrap();
    assert!(text.contains("slug = \"bob-renamed\"\n"), "{text}");
    let new = files_of(&after, "bob-renamed");
    assert_eq!(old.len(), new.len());
    // Memberships move with the slug and keep their ids; tag assignments stay (keyed by id).
    for p in &old {
        let moved = if p.starts_with("people/") {
            "people/bob-renamed.toml".to_owned()
        } else if p.starts_with("project-memberships/") {
            p.replace("/bob.toml", "/bob-renamed.toml")
        } else {
            p.clone()
        };
        assert!(new.contains(&moved), "{moved}");
        assert_eq!(
            file_id(&after, &moved),
            file_id(&before, p),
            "{p} → {moved}"
        );
    }
    let changes = diff(&repo.bare, &tip, BRANCH);
    let touched: BTreeSet<&str> = changes.iter().map(|(_, p)| p.as_str()).collect();
    for (status, path) in &changes {
        let ok = old.contains(path) || new.contains(path);
        assert!(ok, "{status} {path}: not one of bob's files");
    }
    assert!(touched.contains("people/bob.toml") && touched.contains("people/bob-renamed.toml"));
}

/// Nothing private in any blob: no email-like text outside free-text fields, no password
/// hash patterns.
fn assert_nothing_private(files: &BTreeMap<String, Vec<u8>>) {
    const FREE_TEXT: [&str; 4] = ["bio", "overview", "body", "summary"];
    for (path, bytes) in owned_files(files) {
        let text = String::from_utf8(bytes.clone()).unwrap();
        for marker in ["$2a$", "$2b$", "$2y$", "$argon2"] {
            assert!(!text.contains(marker), "{path} holds {marker}");
        }
        let record = config(sheet_of(&path)).decode(&path, &bytes).unwrap();
        for (k, v) in &record {
            if FREE_TEXT.contains(&k.as_str()) {
                continue;
            }
            if let Some(s) = v.as_str() {
                assert!(!looks_like_email(s), "{path}: {k} = {s:?}");
            }
        }
    }
}

/// `x@y.z` anywhere (a deliberately broad check, independent of the translator's).
fn looks_like_email(s: &str) -> bool {
    s.match_indices('@').any(|(i, _)| {
        let before = s[..i]
            .chars()
            .next_back()
            .is_some_and(|c| c.is_alphanumeric() || "._%+-".contains(c));
        let after: String = s[i + 1..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || ".-".contains(*c))
            .collect();
        before && after.contains('.')
    })
}

#[test]
fn nothing_private_reaches_any_blob() {
    let server = serve(small_site());
    // laddr-fetch refuses a row carrying `Email`/`Password`; were one to get past it (a hand-made
    // file), sheet-write copies neither.
    let input: String = fetch(&server.url())
        .lines()
        .map(|l| {
            let mut v: Value = serde_json::from_str(l).unwrap();
            if v["resource"] == "people" && v["row"]["Username"] == "alice" {
                v["row"]["Email"] = json!("alice@example.org");
                v["row"]["Password"] = json!("$2y$10$abcdefghijklmnopqrstuv");
            }
            v.to_string() + "\n"
        })
        .collect();
    assert!(input.contains("alice@example.org"));
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let run = sheet_write(
        &["--data-repo", bare.to_str().unwrap(), "--now", NOW],
        &input,
    );
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    fsck(&bare);
    let files = read_tree(&bare, BRANCH);
    assert!(files.contains_key("people/alice.toml"));
    assert_nothing_private(&files);
    let all: String = files
        .values()
        .map(|b| String::from_utf8_lossy(b).into_owned())
        .collect();
    assert!(!all.contains("alice@example.org") && !all.contains("$2y$"));
}

#[test]
fn an_email_as_a_field_value_is_refused() {
    let mut site = small_site();
    person_mut(&mut site, "alice")["LastName"] = json!("alice.anderson@example.org");
    let project = site
        .projects
        .iter_mut()
        .find(|p| p["Handle"] == "laddr")
        .unwrap();
    project["ChatChannel"] = json!("owner@example.org");
    project["Title"] = json!("mail owner@example.org");
    let (repo, run, report) = Imported::new(site);
    assert_eq!(run.code, 1);
    let files = repo.files();
    assert!(
        !files.contains_key("people/alice.toml"),
        "refused, not written"
    );
    assert!(
        !files.contains_key("projects/laddr.toml"),
        "refused, not written"
    );
    assert_nothing_private(&files);
    assert_eq!(report["counts"]["people"]["errors"], 1);
    assert_eq!(report["counts"]["projects"]["errors"], 1);
    let warnings: Vec<&str> = report["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let pii: Vec<&&str> = warnings.iter().filter(|w| w.contains("email")).collect();
    assert!(
        pii.iter()
            .any(|w| w.contains("legacyId=1 ") || w.contains("legacyId=1:")),
        "{pii:?}"
    );
    // The address itself is not repeated into the report.
    assert!(!report.to_string().contains("alice.anderson@example.org"));
    assert!(!report.to_string().contains("owner@example.org"));
}

#[test]
fn dry_run_counts_what_the_real_run_then_does_and_writes_nothing() {
    let mut site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    // Upstream: a title change, a deletion, a rename, a sign-up.
    let project = site
        .projects
        .iter_mut()
        .find(|p| p["Handle"] == "transit-app")
        .unwrap();
    project["Title"] = json!("Transit App 2");
    let bob = site
        .people
        .iter()
        .position(|p| p["Username"] == "bob")
        .unwrap();
    site.people.remove(bob);
    person_mut(&mut site, "alice")["Username"] = json!("alice2");
    let mut newcomer = site.people[0].clone();
    newcomer["ID"] = json!(site.max_id(translate::Resource::People) + 1);
    newcomer["Username"] = json!("newcomer");
    newcomer["Tags"] = json!([]);
    site.people.push(newcomer);

    let state = repo_state(&repo.bare);
    let (dry, dry_report) = repo.import(&site, "dry.json", &["--dry-run"]);
    assert_eq!(repo_state(&repo.bare), state, "a dry run writes nothing");
    assert!(dry.stderr.contains("(dry-run: no writes performed)"));
    assert_eq!(dry_report["dryRun"], true);
    assert_eq!(dry_report["commitHash"], Value::Null);
    assert_eq!(dry_report["noChanges"], false);

    let tip = repo.tip();
    let (real, real_report) = repo.import(&site, "real.json", &[]);
    assert_eq!(dry.code, real.code);
    assert_eq!(dry_report["counts"], real_report["counts"]);
    assert_eq!(dry_report["warnings"], real_report["warnings"]);
    let log = commits(&repo.bare, &tip, BRANCH);
    let mut prev = tip.clone();
    let mut commit_of = BTreeMap::new();
    for (id, _, msg) in &log {
        let sheet = msg
            .split_once('(')
            .unwrap()
            .1
            .split_once(')')
            .unwrap()
            .0
            .to_owned();
        commit_of.insert(sheet, (prev.clone(), id.clone()));
        prev = id.clone();
    }
    let mut total = (0, 0, 0);
    for sheet in OWNED {
        let d = &dry_report["sheets"][sheet];
        let r = &real_report["sheets"][sheet];
        for k in ["added", "modified", "deleted", "files"] {
            assert_eq!(d[k], r[k], "{sheet} {k}");
        }
        assert_eq!(d["commit"], Value::Null, "{sheet}");
        let changes = match commit_of.get(sheet) {
            Some((a, b)) => diff(&repo.bare, a, b),
            None => Vec::new(),
        };
        let count = |s: &str| changes.iter().filter(|(k, _)| k == s).count();
        assert_eq!(
            (
                d["added"].as_u64().unwrap() as usize,
                d["modified"].as_u64().unwrap() as usize,
                d["deleted"].as_u64().unwrap() as usize
            ),
            (count("A"), count("M"), count("D")),
            "{sheet}"
        );
        assert_eq!(r["commit"].is_null(), changes.is_empty(), "{sheet}");
        total.0 += count("A");
        total.1 += count("M");
        total.2 += count("D");
    }
    assert!(total.0 >= 2 && total.1 >= 1 && total.2 >= 2, "{total:?}");
}

#[test]
fn dry_run_without_a_repo_counts_only() {
    let site = small_site();
    let (_repo, _, real) = Imported::new(site.clone());
    let server = serve(site);
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("dry.json");
    let missing = tmp.path().join("no-such-repo.git");
    let json_arg = json.to_str().unwrap();
    for args in [
        vec!["--dry-run", "--now", NOW, "--json", json_arg],
        vec![
            "--dry-run",
            "--data-repo",
            missing.to_str().unwrap(),
            "--now",
            NOW,
            "--json",
            json_arg,
        ],
    ] {
        let (_, run) = pipeline(&server.url(), &args);
        let report = read_json(&json);
        assert_eq!(run.code, expected_code(&real), "{}", run.stderr);
        assert_eq!(report["dryRun"], true);
        assert_eq!(report["commitHash"], Value::Null);
        assert_eq!(report["parent"], Value::Null);
        assert_eq!(report["sheets"], json!({}), "no repo, no file changes");
        // The same counts and warnings as the real import.
        assert_eq!(report["counts"], real["counts"]);
        assert_eq!(report["warnings"], real["warnings"]);
        assert!(!missing.exists(), "a dry run creates nothing");
    }
}

/// `--emit-records` on the written repo: exactly the files the real run wrote, record by
/// record, with the same (read-forward) ids; nothing is written.
#[test]
fn emitted_records_equal_the_written_files() {
    let site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let server = serve(site);
    let state = repo_state(&repo.bare);
    let (_, run) = pipeline(
        &server.url(),
        &[
            "--emit-records",
            "--data-repo",
            repo.bare.to_str().unwrap(),
            "--now",
            NOW,
        ],
    );
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    assert_eq!(repo_state(&repo.bare), state);
    let files = owned_files(&repo.files());
    let mut seen = BTreeSet::new();
    for l in run.stdout.lines() {
        let v: Value = serde_json::from_str(l).unwrap();
        assert_eq!(
            v.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["path", "record", "sheet", "v"]
        );
        assert_eq!(v["v"], 1);
        let (sheet, path) = (v["sheet"].as_str().unwrap(), v["path"].as_str().unwrap());
        assert_eq!(sheet_of(path), sheet);
        let record = v["record"].as_object().unwrap();
        let bytes = files
            .get(path)
            .unwrap_or_else(|| panic!("{path} emitted but not written"));
        assert_eq!(config(sheet).record_path(record).unwrap(), path);
        assert_eq!(
            String::from_utf8(config(sheet).encode(record).unwrap()).unwrap(),
            String::from_utf8(bytes.clone()).unwrap(),
            "{path}"
        );
        assert_eq!(
            &config(sheet).decode(path, bytes).unwrap(),
            record,
            "{path}"
        );
        assert!(seen.insert(path.to_owned()), "{path} emitted twice");
    }
    assert_eq!(seen, files.keys().cloned().collect::<BTreeSet<_>>());
}

#[test]
fn emit_records_without_a_repo_has_no_paths() {
    let server = serve(small_site());
    let tmp = tempfile::tempdir().unwrap();
    let json = tmp.path().join("emit.json");
    let (_, run) = pipeline(
        &server.url(),
        &[
            "--emit-records",
            "--now",
            NOW,
            "--json",
            json.to_str().unwrap(),
        ],
    );
    let report = read_json(&json);
    assert_eq!(run.code, expected_code(&report));
    let lines: Vec<Value> = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let imported: u64 = OWNED
        .iter()
        .map(|s| report["counts"][s]["imported"].as_u64().unwrap())
        .sum();
    assert_eq!(lines.len() as u64, imported);
    for sheet in OWNED {
        let n = lines.iter().filter(|l| l["sheet"] == sheet).count() as u64;
        assert_eq!(
            n,
            report["counts"][sheet]["imported"].as_u64().unwrap(),
            "{sheet}"
        );
    }
    assert!(
        lines
            .iter()
            .all(|l| l["path"] == "" && l["record"]["id"].is_string())
    );
}

/// `laddr-fetch` writes nothing when it fails (exit 2), and `laddr-fetch --resources …` writes
/// only some resources: as a snapshot either would delete every record of the missing
/// sheets. `sheet-write` refuses such input instead of wiping the branch.
#[test]
fn an_empty_or_partial_input_does_not_wipe_the_branch() {
    let site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let state = repo_state(&repo.bare);
    let data_repo = repo.bare.to_str().unwrap();
    let r = sheet_write(&["--data-repo", data_repo, "--now", NOW], "");
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "the input has no rows of tags, people, projects, project-updates, project-buzz, blog"
        ),
        "{}",
        r.stderr
    );
    assert_eq!(repo_state(&repo.bare), state);

    let server = serve(site);
    let partial: String = fetch(&server.url())
        .lines()
        .filter(|l| l.contains("\"resource\":\"tags\"") || l.contains("\"resource\":\"people\""))
        .map(|l| format!("{l}\n"))
        .collect();
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["--data-repo", data_repo, "--now", NOW];
        args.extend_from_slice(extra);
        let r = sheet_write(&args, &partial);
        assert_eq!(r.code, 2, "{extra:?}: {}", r.stderr);
        for missing in ["projects", "project-updates", "project-buzz", "blog"] {
            assert!(r.stderr.contains(missing), "{}", r.stderr);
        }
        assert_eq!(repo_state(&repo.bare), state);
    }
    // Deliberately importing a partial snapshot is possible, and says what it deletes.
    let json = repo.dir.join("partial.json");
    let r = sheet_write(
        &[
            "--data-repo",
            data_repo,
            "--now",
            NOW,
            "--allow-missing-resources",
            "--json",
            json.to_str().unwrap(),
        ],
        &partial,
    );
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let report = read_json(&json);
    assert_eq!(report["counts"]["projects"]["imported"], 0);
    assert!(report["sheets"]["projects"]["deleted"].as_u64().unwrap() > 0);
    fsck(&repo.bare);
}

/// A row laddr cannot encode is lost by `laddr-fetch` (exit 1, reported in its own report).
/// Its end line for the resource says `complete:false`, so `sheet-write` does not take the
/// rest as the whole snapshot: it refuses (exit 2) and writes nothing, in a dry run too, and
/// the lost person's files stay. `--emit-records` writes nothing and proceeds;
/// `--allow-incomplete` imports anyway, loudly, and exits 1.
#[test]
fn rows_lost_by_laddr_fetch_are_not_deleted() {
    let site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let before = repo.files();
    assert!(before.contains_key("people/bob.toml"));
    let state = repo_state(&repo.bare);
    let data_repo = repo.bare.to_str().unwrap();
    let n = site.people.len();
    let bob = site
        .people
        .iter()
        .find(|p| p["Username"] == "bob")
        .and_then(fixtures::laddr::row_id)
        .expect("the small site has bob");
    let server = LaddrServer::start(site, Faults::none().with_bad_row("people", bob)).unwrap();
    let refusal = format!(
        "laddr-fetch did not deliver every row of people ({} of {n} rows)",
        n - 1
    );

    // The real pipe: laddr-fetch exits 1 and still prints every row it got.
    let (fetched, run, fetch_stderr) = pipeline_with(
        &server.url(),
        &[],
        &["--data-repo", data_repo, "--now", NOW],
    );
    assert_eq!(
        fetched, 1,
        "laddr-fetch reports the lost row: {fetch_stderr}"
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains(&refusal), "{}", run.stderr);
    assert!(run.stderr.contains("--allow-incomplete"), "{}", run.stderr);
    assert!(run.stdout.is_empty());
    assert_eq!(repo_state(&repo.bare), state, "nothing written");
    assert_eq!(repo.files(), before);
    assert!(
        repo.files().contains_key("people/bob.toml"),
        "bob's row was lost in transit, not deleted upstream"
    );
    fsck(&repo.bare);

    // The same input from a file: refused in a dry run too; --emit-records proceeds.
    let (code, lossy) = fetch_with(&server.url(), &[]);
    assert_eq!(code, 1);
    assert!(lossy.contains(&format!(
        "{{\"v\":1,\"resource\":\"people\",\"end\":{{\"rows\":{},\"total\":{n},\"complete\":false}}}}\n",
        n - 1
    )));
    let r = sheet_write(
        &["--data-repo", data_repo, "--now", NOW, "--dry-run"],
        &lossy,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains(&refusal), "{}", r.stderr);
    let r = sheet_write(
        &["--data-repo", data_repo, "--now", NOW, "--emit-records"],
        &lossy,
    );
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    assert!(
        r.stdout
            .lines()
            .any(|l| l.contains("\"path\":\"people/alice.toml\""))
    );
    assert!(!r.stdout.contains("\"path\":\"people/bob.toml\""));
    assert_eq!(repo_state(&repo.bare), state);

    // Knowingly importing the partial fetch: warned on stderr and in the report, exit 1, and
    // (as the warning says) the lost row's records go.
    let json = repo.dir.join("incomplete.json");
    let r = sheet_write(
        &[
            "--data-repo",
            data_repo,
            "--now",
            NOW,
            "--allow-incomplete",
            "--json",
            json.to_str().unwrap(),
        ],
        &lossy,
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "!!! INCOMPLETE INPUT imported with --allow-incomplete: people ({} of {n} rows)",
            n - 1
        )),
        "{}",
        r.stderr
    );
    let report = read_json(&json);
    assert_eq!(
        report["incomplete"],
        json!([{"resource": "people", "rows": n - 1, "total": n, "endLine": true}])
    );
    assert!(
        report["warnings"][0]
            .as_str()
            .unwrap()
            .starts_with("incomplete input imported (--allow-incomplete): people"),
        "{}",
        report["warnings"]
    );
    assert!(!repo.files().contains_key("people/bob.toml"));
    fsck(&repo.bare);
}

/// `laddr-fetch --limit` is partial by design: every resource's end line says
/// `complete:false`, and the snapshot is refused.
#[test]
fn a_limited_fetch_is_refused() {
    let site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let state = repo_state(&repo.bare);
    let server = serve(site.clone());
    let (fetched, run, fetch_stderr) = pipeline_with(
        &server.url(),
        &["--limit", "3"],
        &["--data-repo", repo.bare.to_str().unwrap(), "--now", NOW],
    );
    assert_eq!(fetched, 0, "{fetch_stderr}");
    assert_eq!(run.code, 2, "{}", run.stderr);
    for (name, rows) in [("tags", &site.tags), ("people", &site.people)] {
        assert!(
            run.stderr
                .contains(&format!("{name} (3 of {} rows)", rows.len())),
            "{}",
            run.stderr
        );
    }
    assert_eq!(repo_state(&repo.bare), state);
    fsck(&repo.bare);
}

/// A pipe cut short: the last resource's end line never arrived (its rows are refused as
/// incomplete), or a row went missing before its end line (an input error naming the line).
/// Input without any end line (hand-made NDJSON) is taken as whole, as before.
#[test]
fn a_cut_pipe_is_refused_and_input_without_end_lines_still_imports() {
    let site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let state = repo_state(&repo.bare);
    let data_repo = repo.bare.to_str().unwrap();
    let server = serve(site.clone());
    let full = fetch(&server.url());
    let lines: Vec<&str> = full.lines().collect();
    let is_end = |l: &str| l.contains("\"end\":{");
    assert_eq!(lines.iter().filter(|l| is_end(l)).count(), 6);
    assert!(is_end(lines.last().unwrap()));

    // Cut two rows before the end: blog's last row and its end line are gone.
    let cut: String = lines[..lines.len() - 2]
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    let blog_rows = site.blog.len() - 1;
    let r = sheet_write(&["--data-repo", data_repo, "--now", NOW], &cut);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!(
            "blog ({blog_rows} rows and no end line: the input was cut short)"
        )),
        "{}",
        r.stderr
    );
    assert_eq!(repo_state(&repo.bare), state);

    // One people row dropped, its end line kept: the count does not add up.
    let first_person = lines
        .iter()
        .position(|l| l.contains("\"resource\":\"people\",\"row\""))
        .unwrap();
    let people_end = lines
        .iter()
        .position(|l| l.starts_with("{\"v\":1,\"resource\":\"people\",\"end\""))
        .unwrap();
    let dropped: String = lines
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != first_person)
        .map(|(_, l)| format!("{l}\n"))
        .collect();
    let r = sheet_write(&["--data-repo", data_repo, "--now", NOW], &dropped);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let n = site.people.len();
    assert!(
        r.stderr.contains(&format!(
            "input line {people_end}: the end line of people says {n} rows, but {} were read",
            n - 1
        )),
        "{}",
        r.stderr
    );
    assert_eq!(repo_state(&repo.bare), state);

    // The same rows without end lines: taken as whole, as hand-made NDJSON always was.
    let json = repo.dir.join("no-ends.json");
    let no_ends: String = lines
        .iter()
        .filter(|l| !is_end(l))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = sheet_write(
        &[
            "--data-repo",
            data_repo,
            "--now",
            NOW,
            "--json",
            json.to_str().unwrap(),
        ],
        &no_ends,
    );
    let report = read_json(&json);
    assert_eq!(r.code, expected_code(&report), "{}", r.stderr);
    assert!(report["noChanges"].as_bool().unwrap(), "{report}");
    assert!(report.get("incomplete").is_none());
    assert_eq!(repo_state(&repo.bare), state);
    fsck(&repo.bare);
}

/// A resource laddr-fetch closed as complete with no rows is empty upstream, not missing: it
/// imports (and empties its sheet), where a resource with no rows and no end line is refused.
#[test]
fn a_resource_really_empty_upstream_imports() {
    let site = small_site();
    let (repo, _, _) = Imported::new(site.clone());
    let data_repo = repo.bare.to_str().unwrap();
    let mut empty_blog = site.clone();
    empty_blog.blog.clear();
    let server = serve(empty_blog);
    let input = fetch(&server.url());
    assert!(
        input.contains(r#"{"v":1,"resource":"blog","end":{"rows":0,"total":0,"complete":true}}"#),
        "{input}"
    );
    let r = sheet_write(&["--data-repo", data_repo, "--now", NOW], &input);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        git(
            &repo.bare,
            &["ls-tree", "--name-only", BRANCH, "blog-posts"]
        ),
        ""
    );
    fsck(&repo.bare);

    let without_end: String = input
        .lines()
        .filter(|l| !l.contains(r#""resource":"blog","end""#))
        .map(|l| format!("{l}\n"))
        .collect();
    let r = sheet_write(
        &["--data-repo", data_repo, "--now", NOW, "--dry-run"],
        &without_end,
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
}
