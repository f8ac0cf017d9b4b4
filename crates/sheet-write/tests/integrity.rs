//! Snapshot integrity (issue 12), on real bare repos written in-process by `sheet_write::import`:
//! a re-run is a no-op, one changed row changes only its own files and those derived from it,
//! a failed row keeps its record, no slug moves into one another record freed, and no snapshot
//! holds a reference to a record it does not hold.

mod common;

use common::*;
use fixtures::laddr::{Scale, Site, generate, row_id};
use fixtures::prng::Rng;
use serde_json::{Value, json};
use sheet_write::{Fatal, Report, Run, import};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use translate::{Input, Options, Resource};

const BASE: &str = "legacy-import";

fn input(site: &Site) -> Input {
    let mut text = String::new();
    for r in Resource::ALL {
        for row in site.rows(r) {
            text.push_str(&json!({"v": 1, "resource": r.name(), "row": row}).to_string());
            text.push('\n');
        }
    }
    Input::read(text.as_bytes()).unwrap()
}

fn run_on(bare: &Path, branch: &str) -> Run {
    Run {
        data_repo: Some(bare.to_path_buf()),
        branch: branch.to_owned(),
        bases: vec![BASE.to_owned(), "empty".to_owned()],
        source_host: "laddr.test".to_owned(),
        run_at: NOW.to_owned(),
        dry_run: false,
        allow_missing_resources: false,
        allow_incomplete: false,
        options: Options::new(NOW),
        signature: None,
        media_dir: None,
    }
}

/// A fresh bare repo with `site` imported on `legacy-import`.
fn baseline(tmp: &Path, site: &Site) -> (std::path::PathBuf, Report) {
    let bare = fresh_clone(tmp);
    let report = import(&run_on(&bare, BASE), &input(site)).unwrap();
    assert!(report.commit_hash.is_some());
    (bare, report)
}

/// Files that differ between two trees (added, removed or changed).
fn changed(a: &BTreeMap<String, Vec<u8>>, b: &BTreeMap<String, Vec<u8>>) -> BTreeSet<String> {
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    paths
        .into_iter()
        .filter(|p| a.get(*p) != b.get(*p))
        .cloned()
        .collect()
}

fn no_dangling(bare: &Path, rev_name: &str) {
    let repo = sheets::DataRepo::open(bare).unwrap();
    let commit = repo.resolve(rev_name).unwrap().unwrap();
    let (dangling, unreadable) = repo
        .dangling_references(repo.tree_of(commit).unwrap())
        .unwrap();
    assert!(dangling.is_empty(), "{rev_name}: {dangling:?}");
    assert!(unreadable.is_empty(), "{rev_name}: {unreadable:?}");
}

/// The `id` of the record a laddr row wrote, by its legacyId, from a tree.
fn uuid_of(files: &BTreeMap<String, Vec<u8>>, sheet: &str, legacy: i64) -> Option<String> {
    files
        .iter()
        .filter(|(p, _)| p.starts_with(&format!("{sheet}/")))
        .find(|(p, b)| {
            let text = toml_part(p, b);
            let line = format!("legacyId = {}\n", legacy_toml(legacy));
            text.contains(&line)
        })
        .and_then(|(p, b)| record_id(p, b))
}

/// `legacyId` as the canonical writer prints it (`1_234`).
fn legacy_toml(n: i64) -> String {
    let digits = n.to_string();
    if digits.len() < 4 {
        return digits;
    }
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('_');
        }
        out.push(c);
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mutation {
    /// A field that is not a slug source changes.
    Edit,
    /// The slug source (username / handle / headline / title) changes.
    Rename,
    /// The row no longer translates (an out-of-range timestamp).
    Fail,
    /// The row is gone upstream.
    Delete,
}

fn sheet_of_resource(r: &str) -> &'static str {
    match r {
        "blog" => "blog-posts",
        "tags" => "tags",
        "people" => "people",
        "projects" => "projects",
        "project-updates" => "project-updates",
        _ => "project-buzz",
    }
}

/// Apply `m` to row `at` of `resource`.
fn mutate(site: &mut Site, resource: &str, at: usize, m: Mutation) {
    let kind = Resource::ALL
        .into_iter()
        .find(|r| r.name() == resource)
        .unwrap();
    let rows = site.rows_mut(kind);
    if m == Mutation::Delete {
        rows.remove(at);
        return;
    }
    let row = &mut rows[at];
    let id = row_id(row).unwrap();
    let (edit, source) = match resource {
        "tags" => ("Title", "Title"),
        "people" => ("About", "Username"),
        "projects" => ("Title", "Handle"),
        "project-updates" => ("Body", "Body"),
        "project-buzz" => ("Summary", "Headline"),
        _ => ("Summary", "Title"),
    };
    match m {
        Mutation::Edit => row[edit] = json!(format!("edited {id}")),
        Mutation::Rename => {
            row[source] = json!(format!("renamed-{resource}-{id}"));
            if resource == "project-buzz" || resource == "blog" {
                row["Handle"] = Value::Null; // the headline/title is then the source
            }
        }
        Mutation::Fail => row["Modified"] = json!(9.9e12),
        Mutation::Delete => unreachable!(),
    }
    if resource == "tags" && m == Mutation::Fail {
        row["Created"] = json!(9.9e12);
    }
}

/// (a) re-run no-op; (b) one mutated row changes only files that mention its record (its own,
/// and those derived from it: memberships, assignments, children, references to it), a failed
/// row changes nothing; (c) no dangling reference — for hundreds of random single-row mutations.
#[test]
fn single_row_mutations_change_only_that_rows_files() {
    let tmp = tempfile::tempdir().unwrap();
    let site = generate(7, Scale::Small);
    let (bare, first) = baseline(tmp.path(), &site);
    no_dangling(&bare, BASE);
    let base_files = read_tree(&bare, BASE);

    // (a) The same input again writes nothing.
    let again = import(&run_on(&bare, BASE), &input(&site)).unwrap();
    assert!(again.no_changes, "{:?}", again.sheets);

    // Tags in a merge are excluded from mutation: a merge repoints other rows by design.
    let merged: BTreeSet<i64> = first
        .merges
        .iter()
        .flat_map(|m| m.merged.iter().copied().chain([m.survivor]))
        .collect();
    let resources = [
        "tags",
        "people",
        "projects",
        "project-updates",
        "project-buzz",
        "blog",
    ];
    let kinds = [
        Mutation::Edit,
        Mutation::Rename,
        Mutation::Fail,
        Mutation::Delete,
    ];
    let mut rng = Rng::new(12);
    let mut tried = 0;
    let mut seen_kinds = BTreeSet::new();
    while tried < 240 {
        let resource = *rng.pick(&resources);
        let kind = Resource::ALL
            .into_iter()
            .find(|r| r.name() == resource)
            .unwrap();
        let rows = site.rows(kind);
        let at = rng.below(rows.len() as u64) as usize;
        let legacy = row_id(&rows[at]).unwrap();
        let sheet = sheet_of_resource(resource);
        let Some(uuid) = uuid_of(&base_files, sheet, legacy) else {
            continue; // the row wrote no record in the baseline (it failed or was skipped)
        };
        if resource == "tags" && merged.contains(&legacy) {
            continue;
        }
        let m = *rng.pick(&kinds);
        let mut mutated = site.clone();
        mutate(&mut mutated, resource, at, m);
        let branch = format!("m{tried}");
        let report = import(&run_on(&bare, &branch), &input(&mutated))
            .unwrap_or_else(|e| panic!("{m:?} {resource} {legacy}: {e}"));
        let after = match rev(&bare, &branch) {
            Some(_) => read_tree(&bare, &branch),
            None => base_files.clone(),
        };
        let diff = changed(&base_files, &after);
        let what = format!("{m:?} {resource} legacyId={legacy}: {diff:?}");
        match m {
            Mutation::Fail => {
                assert!(diff.is_empty(), "a failed row keeps everything: {what}");
                assert_eq!(report.kept_stale.len(), 1, "{what}");
                assert_eq!(report.kept_stale[0].legacy_id, legacy, "{what}");
            }
            _ => {
                assert!(!diff.is_empty(), "{what}");
                for path in &diff {
                    let mentions = [base_files.get(path), after.get(path)]
                        .into_iter()
                        .flatten()
                        .any(|b| String::from_utf8_lossy(b).contains(&uuid));
                    assert!(
                        mentions,
                        "{path} is not that row's or derived from it; {what}"
                    );
                }
                // Exactly the renamed record's slug moves, and it is reported. A tag's title
                // is its source only when the namespace was recovered from it.
                let moved = if resource == "tags" {
                    let new_path =
                        |p: &String| p.starts_with("tags/") && !base_files.contains_key(p);
                    diff.iter().any(new_path)
                } else {
                    m == Mutation::Rename && resource != "project-updates"
                };
                assert_eq!(report.slug_changes.len(), usize::from(moved), "{what}");
                if let Some(c) = report.slug_changes.first() {
                    assert_eq!(c.legacy_id, legacy, "{what}");
                }
            }
        }
        if rev(&bare, &branch).is_some() {
            no_dangling(&bare, &branch);
            fsck(&bare);
        }
        seen_kinds.insert(format!("{m:?}"));
        tried += 1;
    }
    assert_eq!(seen_kinds.len(), 4);
}

fn small_site() -> Site {
    Site::read_dir(&fixtures::laddr::small_dir()).unwrap()
}

fn buzz_index(site: &Site, id: i64) -> usize {
    site.project_buzz
        .iter()
        .position(|b| row_id(b) == Some(id))
        .unwrap()
}

/// Two buzz share a headline (`laddr-v3-1-1-released`, `-2`). When the first fails, its record
/// stays byte for byte; when it goes upstream, the second keeps `-2` (its public URL).
#[test]
fn a_failed_buzz_is_kept_and_its_twin_never_moves_into_its_slug() {
    let tmp = tempfile::tempdir().unwrap();
    let site = small_site();
    let (bare, _) = baseline(tmp.path(), &site);
    let base_files = read_tree(&bare, BASE);
    let twin = "project-buzz/laddr/laddr-v3-1-1-released-2.toml";
    assert!(base_files.contains_key(twin));

    let mut failing = site.clone();
    let at = buzz_index(&site, 1);
    failing.project_buzz[at]["URL"] = json!("mailto:nobody");
    let report = import(&run_on(&bare, "fail"), &input(&failing)).unwrap();
    assert!(report.no_changes);
    assert_eq!(report.kept_stale.len(), 1);
    assert_eq!(report.kept_stale[0].reason, "missing/invalid URL");
    assert_eq!(
        report.counts.get(translate::Sheet::ProjectBuzz).kept_stale,
        1
    );
    assert!(!report.passed(), "a failed row still exits 1");

    let mut gone = site.clone();
    gone.project_buzz.remove(at);
    let report = import(&run_on(&bare, "gone"), &input(&gone)).unwrap();
    let after = read_tree(&bare, "gone");
    assert_eq!(
        changed(&base_files, &after),
        BTreeSet::from(["project-buzz/laddr/laddr-v3-1-1-released.toml".to_owned()])
    );
    assert_eq!(after.get(twin), base_files.get(twin));
    assert!(report.slug_changes.is_empty());
    fsck(&bare);
}

/// A person row that fails keeps the person and the tag-assignments its row would write.
#[test]
fn a_failed_person_keeps_its_record_and_its_assignments() {
    let tmp = tempfile::tempdir().unwrap();
    let site = small_site();
    let (bare, _) = baseline(tmp.path(), &site);
    let base_files = read_tree(&bare, BASE);
    let mut failing = site.clone();
    let tagged = failing
        .people
        .iter_mut()
        .find(|p| {
            let written = p["Username"]
                .as_str()
                .is_some_and(|u| base_files.contains_key(&format!("people/{u}.toml")));
            written && p["Tags"].as_array().is_some_and(|t| !t.is_empty())
        })
        .expect("a written person with tags");
    tagged["FirstName"] = json!(42);
    let report = import(&run_on(&bare, "fail"), &input(&failing)).unwrap();
    assert!(report.no_changes, "{:?}", report.sheets);
    assert_eq!(report.kept_stale.len(), 1);
    assert!(
        report.kept_stale[0].reason.contains("FirstName"),
        "{:?}",
        report.kept_stale
    );
    assert_eq!(read_tree(&bare, BASE), base_files);
}

/// A reference to a record the snapshot would not hold is refused: exit 2 (a `Fatal`), nothing
/// written, each offender named by path and field.
#[test]
fn a_dangling_reference_is_refused_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let site = small_site();
    let (bare, _) = baseline(tmp.path(), &site);
    let base_files = read_tree(&bare, BASE);
    let alice_id = record_id("people/alice.toml", &base_files["people/alice.toml"]).unwrap();
    // A runtime sheet the importer does not own references alice.
    let interest = format!(
        "id = \"01900000-0000-7000-8000-00000000abcd\"\npersonId = \"{alice_id}\"\npersonSlug = \"alice\"\nroleId = \"r1\"\n"
    );
    {
        let repo = sheets::DataRepo::open(&bare).unwrap();
        let parent = repo.parent_for(BASE, &[]).unwrap();
        let mut tx = sheets::Transaction::begin(&repo, parent).unwrap();
        tx.edit()
            .put("help-wanted-interest/r1/alice.toml", interest.into_bytes())
            .unwrap();
        tx.commit(&sheets::CommitSpec::new("an interest expression"))
            .unwrap();
        tx.finish().unwrap();
    }
    let state = repo_state(&bare);
    let mut gone = site.clone();
    gone.people.retain(|p| p["Username"] != "alice");
    let err = import(&run_on(&bare, BASE), &input(&gone)).unwrap_err();
    let Fatal::Dangling(list) = &err else {
        panic!("{err}")
    };
    let found: Vec<(&str, &str)> = list
        .iter()
        .map(|d| (d.path.as_str(), d.field.as_str()))
        .collect();
    assert_eq!(found, [("help-wanted-interest/r1/alice.toml", "personId")]);
    assert!(
        err.to_string()
            .contains("help-wanted-interest/r1/alice.toml: personId")
    );
    assert_eq!(repo_state(&bare), state, "nothing written");
    fsck(&bare);
}
