//! The data repo layer on real bare repositories made with the `git` CLI, read back with
//! `git cat-file`/`git ls-tree` and checked with `git fsck --strict`.

use serde_json::json;
use sheets::repo::RepoError;
use sheets::{CommitSpec, DataRepo, Signature, Transaction};
use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn template_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data-repo-template")
}

/// A fresh `git clone --bare` of a repo whose `empty` branch holds the 12 sheet configs
/// (plus `main` with one hand-made record), so no `refs/heads/legacy-import` exists.
fn fresh_clone(tmp: &Path) -> PathBuf {
    let work = tmp.join("work");
    std::fs::create_dir_all(work.join(".gitsheets")).unwrap();
    git(&work, &["init", "-q", "-b", "empty"]);
    for entry in std::fs::read_dir(template_dir().join(".gitsheets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            work.join(".gitsheets").join(entry.file_name()),
        )
        .unwrap();
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "configs"]);
    git(&work, &["checkout", "-q", "-b", "main"]);
    std::fs::create_dir_all(work.join("revocations")).unwrap();
    std::fs::write(work.join("revocations/j1.toml"), "jti = \"j1\"\n").unwrap();
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "a revocation"]);
    let bare = tmp.join("data.git");
    git(
        tmp,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    bare
}

fn fsck(bare: &Path) {
    git(bare, &["fsck", "--strict", "--no-dangling"]);
}

fn refs_and_head(bare: &Path) -> (String, String) {
    (
        git(bare, &["for-each-ref", "--format=%(refname) %(objectname)"]),
        std::fs::read_to_string(bare.join("HEAD")).unwrap(),
    )
}

fn fixed_signature() -> Signature {
    Signature {
        time: 1_779_062_400,
        ..Signature::default()
    }
}

fn person(slug: &str, legacy: i64) -> (String, Vec<u8>) {
    let rec = json!({"id": format!("0190d3c4-0000-7000-8000-{legacy:012}"), "legacyId": legacy, "slug": slug});
    let bytes = sheets::toml::to_string(rec.as_object().unwrap())
        .unwrap()
        .into_bytes();
    (format!("{slug}.toml"), bytes)
}

fn write_people(repo: &DataRepo, people: &[(&str, i64)]) -> sheets::WriteOutcome {
    let parent = repo
        .parent_for("legacy-import", &["empty", "main"])
        .unwrap();
    let mut tx = Transaction::begin(repo, parent)
        .unwrap()
        .with_signature(fixed_signature());
    tx.edit()
        .replace_dir("people", people.iter().map(|(s, l)| person(s, *l)))
        .unwrap();
    tx.commit(
        &CommitSpec::new("import(people): snapshot from codeforphilly.org (2026-05-18T00:00:00.000Z)\n\n2 people.")
            .trailer("Action", "import.laddr.json")
            .trailer("Sheet", "people"),
    )
    .unwrap();
    tx.finish().unwrap()
}

#[test]
fn first_write_on_a_fresh_bare_clone_creates_the_branch() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let head_before = std::fs::read_to_string(bare.join("HEAD")).unwrap();
    let empty = git(&bare, &["rev-parse", "refs/heads/empty"])
        .trim()
        .to_owned();
    let repo = DataRepo::open(&bare).unwrap();

    let parent = repo
        .parent_for("legacy-import", &["empty", "main"])
        .unwrap();
    assert_eq!(parent.expected, None);
    assert_eq!(parent.base.to_string(), empty);
    assert_eq!(parent.base_ref, "refs/heads/empty");

    let out = write_people(&repo, &[("alice", 1), ("bob", 2)]);
    assert_eq!(out.old, None);
    assert_eq!(out.commits.len(), 1);
    let tip = git(&bare, &["rev-parse", "refs/heads/legacy-import"]);
    assert_eq!(tip.trim(), out.new.unwrap().to_string());

    // Another git implementation sees the same files, bytes and commit.
    assert_eq!(
        git(
            &bare,
            &["ls-tree", "-r", "--name-only", "legacy-import", "people"]
        ),
        "people/alice.toml\npeople/bob.toml\n"
    );
    assert_eq!(
        git(
            &bare,
            &["cat-file", "blob", "legacy-import:people/alice.toml"]
        )
        .into_bytes(),
        person("alice", 1).1
    );
    let commit = git(&bare, &["cat-file", "commit", "legacy-import"]);
    assert_eq!(
        commit,
        format!(
            "tree {}\nparent {empty}\nauthor Code for Philly API <api@users.noreply.codeforphilly.org> 1779062400 +0000\n\
             committer Code for Philly API <api@users.noreply.codeforphilly.org> 1779062400 +0000\n\n\
             import(people): snapshot from codeforphilly.org (2026-05-18T00:00:00.000Z)\n\n2 people.\n\n\
             Action: import.laddr.json\nSheet: people\n",
            git(&bare, &["rev-parse", "legacy-import^{tree}"]).trim()
        )
    );
    assert_eq!(
        git(
            &bare,
            &[
                "log",
                "-1",
                "--format=%(trailers:key=Action,valueonly)",
                "legacy-import"
            ]
        )
        .trim(),
        "import.laddr.json"
    );
    // The configs are the parent's, byte for byte; HEAD is untouched.
    assert_eq!(
        git(&bare, &["rev-parse", "legacy-import:.gitsheets"]),
        git(&bare, &["rev-parse", "empty:.gitsheets"])
    );
    assert_eq!(
        std::fs::read_to_string(bare.join("HEAD")).unwrap(),
        head_before
    );
    fsck(&bare);

    // Reading back through the library gives the records and their paths.
    let read = repo
        .read_sheet_at("refs/heads/legacy-import", "people")
        .unwrap();
    assert!(read.errors.is_empty());
    let paths: Vec<&str> = read.records.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(paths, ["people/alice.toml", "people/bob.toml"]);
    assert_eq!(read.records[1].record["legacyId"], json!(2));
}

#[test]
fn second_identical_write_makes_no_commit() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let first = write_people(&repo, &[("alice", 1)]);
    let before = refs_and_head(&bare);
    let packs_before = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .count();
    let second = write_people(&repo, &[("alice", 1)]);
    assert!(second.commits.is_empty());
    assert_eq!(second.new, first.new);
    assert_eq!(refs_and_head(&bare), before);
    assert_eq!(
        std::fs::read_dir(bare.join("objects/pack"))
            .unwrap()
            .count(),
        packs_before
    );
    assert_eq!(
        git(&bare, &["rev-list", "--count", "empty..legacy-import"]).trim(),
        "1"
    );
    fsck(&bare);
}

#[test]
fn a_branch_that_moved_aborts_with_every_ref_as_it_was() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    write_people(&repo, &[("alice", 1)]);

    let parent = repo.parent_for("legacy-import", &["empty"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    tx.edit()
        .replace_dir("people", [person("carol", 3)])
        .unwrap();
    tx.commit(&CommitSpec::new("carol")).unwrap();

    // Someone else moves the branch meanwhile.
    git(
        &bare,
        &["update-ref", "refs/heads/legacy-import", "refs/heads/main"],
    );
    let before = refs_and_head(&bare);
    let packs_before: Vec<_> = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();

    let err = tx.finish().unwrap_err();
    assert!(matches!(err, RepoError::ParentMoved { .. }), "{err}");
    assert!(err.to_string().contains("nothing was written"));
    assert_eq!(refs_and_head(&bare), before);
    let packs_after: Vec<_> = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        packs_after, packs_before,
        "the aborted write left its pack behind"
    );
    fsck(&bare);
}

#[test]
fn a_branch_created_meanwhile_aborts_the_first_write() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("legacy-import", &["empty"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    tx.edit()
        .replace_dir("people", [person("carol", 3)])
        .unwrap();
    tx.commit(&CommitSpec::new("carol")).unwrap();
    git(
        &bare,
        &["update-ref", "refs/heads/legacy-import", "refs/heads/main"],
    );
    let before = refs_and_head(&bare);
    assert!(matches!(tx.finish(), Err(RepoError::ParentMoved { .. })));
    assert_eq!(refs_and_head(&bare), before);
    fsck(&bare);
}

#[test]
fn deleting_a_record_removes_its_attachment_folder_and_patches_keep_the_rest() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("published", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    let (_, alice) = person("alice", 1);
    let (_, bob) = person("bob", 2);
    tx.edit()
        .replace_dir(
            "people",
            [
                ("alice.toml".to_owned(), alice),
                ("alice/avatar.jpg".to_owned(), b"\xff\xd8jpeg".to_vec()),
                ("alice/avatar-128.jpg".to_owned(), b"\xff\xd8small".to_vec()),
                ("bob.toml".to_owned(), bob),
            ],
        )
        .unwrap();
    tx.commit(&CommitSpec::new("people")).unwrap();
    tx.finish().unwrap();
    let revocations_before = git(&bare, &["rev-parse", "published:revocations"]);

    let config = repo
        .sheet_config(
            repo.tree_of(repo.resolve("refs/heads/published").unwrap().unwrap())
                .unwrap(),
            "people",
        )
        .unwrap();
    // The attachments belong to the record whose folder holds them; records are not attachments.
    let tip_tree = repo
        .tree_of(repo.resolve("refs/heads/published").unwrap().unwrap())
        .unwrap();
    let attachments = repo.attachments(tip_tree, &config).unwrap();
    let names: Vec<(&str, Vec<&str>)> = attachments
        .iter()
        .map(|(r, a)| (r.as_str(), a.iter().map(|b| b.path.as_str()).collect()))
        .collect();
    assert_eq!(
        names,
        [(
            "people/alice.toml",
            vec!["people/alice/avatar-128.jpg", "people/alice/avatar.jpg"]
        )]
    );
    let parent = repo.parent_for("published", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    assert!(tx.edit().delete_record("people/alice.toml").unwrap());
    let patch = json!({"slug": "bob", "bio": "hi", "legacyId": null});
    assert!(
        tx.edit()
            .patch_record(&config, "people/bob.toml", patch.as_object().unwrap())
            .unwrap()
    );
    assert!(!tx.edit().delete_record("people/nobody.toml").unwrap());
    tx.commit(&CommitSpec::new("prune")).unwrap();
    tx.finish().unwrap();

    assert_eq!(
        git(
            &bare,
            &["ls-tree", "-r", "--name-only", "published", "people"]
        ),
        "people/bob.toml\n"
    );
    assert_eq!(
        git(&bare, &["cat-file", "blob", "published:people/bob.toml"]),
        "bio = \"hi\"\nid = \"0190d3c4-0000-7000-8000-000000000002\"\nslug = \"bob\"\n"
    );
    assert_eq!(
        git(&bare, &["rev-parse", "published:revocations"]),
        revocations_before
    );
    fsck(&bare);
}

#[test]
fn non_bare_paths_are_refused_before_anything_is_touched() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let work = tmp.path().join("checkout");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            bare.to_str().unwrap(),
            work.to_str().unwrap(),
        ],
    );
    let before = refs_and_head(&work.join(".git"));
    for path in [work.clone(), work.join(".git")] {
        let err = match DataRepo::open(&path) {
            Err(e) => e,
            Ok(_) => panic!("{} was accepted", path.display()),
        };
        assert!(matches!(err, RepoError::NotBare { .. }), "{err}");
        assert!(err.to_string().contains("git clone --bare"), "{err}");
    }
    assert_eq!(refs_and_head(&work.join(".git")), before);
    assert!(matches!(
        DataRepo::open(tmp.path().join("nope")),
        Err(RepoError::NotFound(_))
    ));
    assert!(matches!(
        DataRepo::open(tmp.path()),
        Err(RepoError::NotBare { .. })
    ));
}

#[test]
fn missing_parent_and_base_names_every_ref_tried() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let err = repo.parent_for("x", &["nothere"]).unwrap_err().to_string();
    assert!(
        err.contains("refs/heads/x")
            && err.contains("refs/remotes/origin/x")
            && err.contains("refs/heads/nothere"),
        "{err}"
    );
}

#[test]
fn several_commits_in_one_transaction_and_unparseable_files_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("legacy-import", &["empty"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    tx.edit()
        .replace_dir(
            "tags",
            [(
                "topic/transit.toml".to_owned(),
                b"slug = \"transit\"\n".to_vec(),
            )],
        )
        .unwrap();
    let c1 = tx.commit(&CommitSpec::new("tags")).unwrap();
    tx.edit()
        .replace_dir(
            "people",
            [
                ("broken.toml".to_owned(), b"slug = \n".to_vec()),
                person("ann", 9),
            ],
        )
        .unwrap();
    let c2 = tx.commit(&CommitSpec::new("people")).unwrap();
    // No change since the last commit: no third commit.
    assert_eq!(tx.commit(&CommitSpec::new("nothing")).unwrap(), None);
    let out = tx.finish().unwrap();
    assert_eq!(out.commits, vec![c1.unwrap(), c2.unwrap()]);
    assert_eq!(
        git(&bare, &["log", "--format=%s", "empty..legacy-import"]),
        "people\ntags\n"
    );
    let read = repo.read_sheet_at("legacy-import", "people").unwrap();
    assert_eq!(read.records.len(), 1);
    assert_eq!(read.errors.len(), 1);
    assert!(
        read.errors[0]
            .to_string()
            .starts_with("people/broken.toml: invalid TOML"),
        "{}",
        read.errors[0]
    );
    fsck(&bare);
}

#[test]
fn many_records_in_one_pack_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("legacy-import", &["empty"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    let files: Vec<_> = (0..3000).map(|i| person(&format!("p{i:05}"), i)).collect();
    tx.edit().replace_dir("people", files).unwrap();
    tx.commit(&CommitSpec::new("many")).unwrap();
    let out = tx.finish().unwrap();
    assert_eq!(out.objects_written, 3000 + 3); // blobs, the people tree, the root tree, the commit
    for entry in std::fs::read_dir(bare.join("objects/pack")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "idx") {
            git(&bare, &["verify-pack", p.to_str().unwrap()]);
        }
    }
    assert_eq!(
        git(
            &bare,
            &["ls-tree", "-r", "--name-only", "legacy-import", "people"]
        )
        .lines()
        .count(),
        3000
    );
    fsck(&bare);
}

#[test]
fn a_delete_alone_deep_in_an_untouched_tree_is_committed() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("published", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    tx.edit()
        .replace_dir(
            "project-memberships",
            [
                ("app/alice.toml".to_owned(), b"a = 1\n".to_vec()),
                ("app/bob.toml".to_owned(), b"b = 1\n".to_vec()),
            ],
        )
        .unwrap();
    tx.commit(&CommitSpec::new("members")).unwrap();
    tx.finish().unwrap();

    // A fresh transaction whose only edit is one delete two levels down.
    let parent = repo.parent_for("published", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    assert!(
        tx.edit()
            .remove("project-memberships/app/alice.toml")
            .unwrap()
    );
    assert!(tx.commit(&CommitSpec::new("drop alice")).unwrap().is_some());
    tx.finish().unwrap();
    assert_eq!(
        git(
            &bare,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                "published",
                "project-memberships"
            ]
        ),
        "project-memberships/app/bob.toml\n"
    );
    // And removing the last file of a folder removes the folder.
    let parent = repo.parent_for("published", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    assert!(
        tx.edit()
            .delete_record("project-memberships/app/bob.toml")
            .unwrap()
    );
    tx.commit(&CommitSpec::new("drop bob")).unwrap();
    tx.finish().unwrap();
    assert_eq!(
        git(
            &bare,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                "published",
                "project-memberships"
            ]
        ),
        ""
    );
    fsck(&bare);
}

fn commit_files(repo: &DataRepo, branch: &str, base: &str, files: &[(&str, &str)], msg: &str) {
    let parent = repo.parent_for(branch, &[base]).unwrap();
    let mut tx = Transaction::begin(repo, parent).unwrap();
    for (path, text) in files {
        if text.is_empty() {
            tx.edit().remove(path).unwrap();
        } else {
            tx.edit().put(path, text.as_bytes().to_vec()).unwrap();
        }
    }
    tx.commit(&CommitSpec::new(msg)).unwrap();
    tx.finish().unwrap();
}

#[test]
fn a_root_commit_starts_a_fresh_repo() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = tmp.path().join("new.git");
    let repo = DataRepo::init_bare(&bare).unwrap();
    let head_before = std::fs::read_to_string(bare.join("HEAD")).unwrap();
    let mut tx = Transaction::begin_root(&repo, "empty").unwrap();
    tx.edit()
        .replace_dir(
            ".gitsheets",
            [(
                "people.toml".to_owned(),
                b"[gitsheet]\nroot = 'people'\npath = '${{ slug }}'\n".to_vec(),
            )],
        )
        .unwrap();
    let c = tx.commit(&CommitSpec::new("configs")).unwrap().unwrap();
    let out = tx.finish().unwrap();
    assert_eq!(out.new, Some(c));
    assert_eq!(git(&bare, &["rev-list", "--count", "empty"]).trim(), "1");
    assert_eq!(
        git(&bare, &["ls-tree", "-r", "--name-only", "empty"]),
        ".gitsheets/people.toml\n"
    );
    assert_eq!(
        std::fs::read_to_string(bare.join("HEAD")).unwrap(),
        head_before
    );
    // A second root on the same branch is refused.
    assert!(Transaction::begin_root(&repo, "empty").is_err());
    fsck(&bare);
}

#[test]
fn merges_fast_forward_three_way_and_stop_on_conflict_with_nothing_written() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let sig = fixed_signature();
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "a = 1\n"), ("people/b.toml", "b = 1\n")],
        "import 1",
    );

    // No runtime branch yet: it is created at the import tip.
    let out = sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap();
    assert!(
        matches!(out, sheets::MergeOutcome::Created { .. }),
        "{out:?}"
    );
    assert_eq!(
        git(&bare, &["rev-parse", "published"]),
        git(&bare, &["rev-parse", "legacy-import"])
    );
    // Again: up to date.
    assert!(matches!(
        sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap(),
        sheets::MergeOutcome::UpToDate { .. }
    ));
    // Only the import moved: fast-forward.
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/c.toml", "c = 1\n")],
        "import 2",
    );
    assert!(matches!(
        sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap(),
        sheets::MergeOutcome::FastForward { .. }
    ));

    // Both moved, on different records (the runtime pruned b, the import changed a): a merge
    // commit with both parents and both changes.
    commit_files(
        &repo,
        "published",
        "empty",
        &[("people/b.toml", "")],
        "prune b",
    );
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "a = 2\n")],
        "import 3",
    );
    let published_before = git(&bare, &["rev-parse", "published"]);
    let out = sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap();
    let sheets::MergeOutcome::Merged { commit, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(
        git(&bare, &["rev-parse", "published"]).trim(),
        commit.to_string()
    );
    assert_eq!(
        git(&bare, &["log", "-1", "--format=%P", "published"]).trim(),
        format!(
            "{} {}",
            published_before.trim(),
            git(&bare, &["rev-parse", "legacy-import"]).trim()
        )
    );
    assert_eq!(
        git(
            &bare,
            &["ls-tree", "-r", "--name-only", "published", "people"]
        ),
        "people/a.toml\npeople/c.toml\n"
    );
    assert_eq!(
        git(&bare, &["cat-file", "blob", "published:people/a.toml"]),
        "a = 2\n"
    );
    assert_eq!(
        git(&bare, &["merge-base", "published", "legacy-import"]).trim(),
        git(&bare, &["rev-parse", "legacy-import"]).trim()
    );

    // The runtime pruned a record the import has since changed: it comes back (the prune
    // after every merge decides again). The reverse, a record the runtime changed and the
    // import deleted, is a conflict.
    commit_files(
        &repo,
        "published",
        "empty",
        &[("people/a.toml", "")],
        "prune a",
    );
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "a = 3\n")],
        "import: a edited upstream",
    );
    let out = sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap();
    let sheets::MergeOutcome::Merged { readded, .. } = out else {
        panic!("{out:?}")
    };
    assert_eq!(readded, ["people/a.toml"]);
    assert_eq!(
        git(&bare, &["cat-file", "blob", "published:people/a.toml"]),
        "a = 3\n"
    );
    commit_files(
        &repo,
        "published",
        "empty",
        &[("people/a.toml", "a = 'runtime'\n")],
        "edit a",
    );
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "")],
        "import: a deleted upstream",
    );
    let out = sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap();
    assert_eq!(
        out,
        sheets::MergeOutcome::Conflicts {
            paths: vec!["people/a.toml".into()]
        }
    );
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "a = 'runtime'\n")],
        "import: same as runtime",
    );

    // Both change one record differently: a conflict naming it, and nothing written.
    commit_files(
        &repo,
        "published",
        "empty",
        &[("people/c.toml", "c = 'runtime'\n")],
        "edit c",
    );
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/c.toml", "c = 'upstream'\n")],
        "import 4",
    );
    let before = refs_and_head(&bare);
    let packs: Vec<_> = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    let out = sheets::merge_branch(&repo, "refs/heads/legacy-import", "published", &sig).unwrap();
    assert_eq!(
        out,
        sheets::MergeOutcome::Conflicts {
            paths: vec!["people/c.toml".into()]
        }
    );
    assert_eq!(refs_and_head(&bare), before);
    let packs_after: Vec<_> = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(packs, packs_after);
    fsck(&bare);
}

/// The T-0 merge: a clean merge leaves the import branch alone; a conflict merges nothing and
/// puts the import branch back at the tip it had before the run.
#[test]
fn merge_import_undoes_the_import_on_conflict() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let sig = fixed_signature();
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "a = 1\n")],
        "import 1",
    );
    let (out, undo) =
        sheets::merge::merge_import(&repo, "legacy-import", None, "published", &sig).unwrap();
    assert_eq!(out.to_json()["outcome"], "created");
    assert_eq!(
        out.to_json()["tip"],
        git(&bare, &["rev-parse", "legacy-import"]).trim()
    );
    assert_eq!(undo, sheets::merge::ImportUndo::NotNeeded);

    commit_files(
        &repo,
        "published",
        "empty",
        &[("people/a.toml", "a = 'runtime'\n")],
        "edit",
    );
    let import_before = repo.resolve("refs/heads/legacy-import").unwrap();
    commit_files(
        &repo,
        "legacy-import",
        "empty",
        &[("people/a.toml", "a = 2\n")],
        "import 2",
    );
    let published_before = git(&bare, &["rev-parse", "published"]);
    let (out, undo) =
        sheets::merge::merge_import(&repo, "legacy-import", import_before, "published", &sig)
            .unwrap();
    assert_eq!(
        out.to_json(),
        serde_json::json!({"outcome": "conflicts", "paths": ["people/a.toml"]})
    );
    let before = import_before.unwrap();
    assert_eq!(undo, sheets::merge::ImportUndo::Restored { to: before });
    assert_eq!(
        git(&bare, &["rev-parse", "legacy-import"]).trim(),
        before.to_string()
    );
    assert_eq!(git(&bare, &["rev-parse", "published"]), published_before);
    fsck(&bare);
}

/// `map_blobs` reads whole objects of a pack itself and leaves the rest to gix: every blob
/// reads as `git cat-file` gives it, whether it sits whole in a pack, as a delta after
/// `git gc --aggressive`, or loose.
#[test]
fn map_blobs_reads_whole_packed_delta_and_loose_objects_alike() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    // Records big and alike enough for git to store most as deltas.
    let bio = "A long biography line that repeats. ".repeat(60);
    let files = (0..300).map(|i| {
        let text = format!("bio = \"{bio}\"\nlegacyId = {i}\nslug = \"p{i}\"\n");
        (format!("p{i}.toml"), text.into_bytes())
    });
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("legacy-import", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    tx.edit().replace_dir("people", files).unwrap();
    tx.commit(&CommitSpec::new("people")).unwrap();
    tx.finish().unwrap();
    let check = |label: &str| {
        let repo = DataRepo::open(&bare).unwrap();
        let tip = repo.resolve("legacy-import").unwrap().unwrap();
        let blobs = repo.walk_blobs(repo.tree_of(tip).unwrap(), "").unwrap();
        assert!(blobs.len() > 300, "{label}: {}", blobs.len());
        let read = repo
            .map_blobs(&blobs, |b| b.id, |_, bytes| bytes.to_vec())
            .unwrap();
        for (b, bytes) in blobs.iter().zip(read) {
            let want = Command::new("git")
                .args(["cat-file", "blob", &b.id.to_string()])
                .current_dir(&bare)
                .output()
                .unwrap()
                .stdout;
            assert_eq!(bytes, want, "{label}: {}", b.path);
        }
    };
    check("one pack");
    git(&bare, &["gc", "-q", "--aggressive"]);
    let verify = git(&bare, &["verify-pack", "-v", &pack_index(&bare)]);
    assert!(verify.contains("chain length"), "no deltas: {verify}");
    check("deltas");
    let pack = pack_index(&bare).replace(".idx", ".pack");
    let moved = tmp.path().join("all.pack");
    std::fs::rename(&pack, &moved).unwrap();
    std::fs::remove_file(pack.replace(".pack", ".idx")).unwrap();
    let unpacked = Command::new("git")
        .args(["unpack-objects", "-q"])
        .current_dir(&bare)
        .stdin(std::fs::File::open(&moved).unwrap())
        .status()
        .unwrap();
    assert!(unpacked.success());
    check("loose");
}

/// A record whose zlib stream in the pack is damaged is an error naming its object, for a
/// single read and for the parallel reads alike; the other records still read.
#[test]
fn a_damaged_object_in_a_pack_is_an_error_naming_it() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    write_people(&repo, &[("alice", 1), ("bob", 2)]);
    let tip = repo.resolve("legacy-import").unwrap().unwrap();
    let blobs = repo
        .walk_blobs(repo.tree_of(tip).unwrap(), "people")
        .unwrap();
    assert_eq!(blobs.len(), 2);
    let (bad, good) = (blobs[0].id, blobs[1].id);
    let (pack, offset) = pack_offset(&bare, &bad.to_string());
    let mut bytes = std::fs::read(&pack).unwrap();
    // A blob of under 2^11 bytes has a 2-byte entry header; then the zlib header's first byte.
    bytes[offset + 2] ^= 0x01;
    std::fs::write(&pack, &bytes).unwrap();

    let repo = DataRepo::open(&bare).unwrap();
    let named = |e: RepoError| match e {
        RepoError::Object { id, .. } => assert_eq!(id, bad, "{id}"),
        other => panic!("not an object error: {other}"),
    };
    named(repo.read_object(bad).unwrap_err());
    named(
        repo.map_blobs(&blobs, |b| b.id, |_, b| b.to_vec())
            .unwrap_err(),
    );
    assert!(repo.read_object(good).is_ok());
}

/// The pack holding object `id` and the object's offset in it (`verify-pack -v` lists
/// `<id> <type> <size> <size in pack> <offset>` per object).
fn pack_offset(bare: &Path, id: &str) -> (PathBuf, usize) {
    for entry in std::fs::read_dir(bare.join("objects/pack")).unwrap() {
        let idx = entry.unwrap().path();
        if idx.extension().is_none_or(|x| x != "idx") {
            continue;
        }
        let listing = git(bare, &["verify-pack", "-v", idx.to_str().unwrap()]);
        let offset = listing
            .lines()
            .find(|l| l.starts_with(id))
            .and_then(|l| l.split_whitespace().nth(4)?.parse().ok());
        if let Some(offset) = offset {
            return (idx.with_extension("pack"), offset);
        }
    }
    panic!("{id} is in no pack");
}

/// The one `.idx` file of a repo's packs.
fn pack_index(bare: &Path) -> String {
    let mut idx: Vec<_> = std::fs::read_dir(bare.join("objects/pack"))
        .unwrap()
        .filter_map(|e| Some(e.ok()?.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .collect();
    assert_eq!(idx.len(), 1, "{idx:?}");
    idx.remove(0).display().to_string()
}

/// The closure check reads every record reduced to the fields it looks at
/// (`read_tree_references`); it must find exactly what the check over whole records
/// (`read_tree_records`) finds: every dangling reference, and every unreadable file.
#[test]
fn the_reduced_closure_read_finds_what_the_whole_records_give() {
    const P: &str = "01900000-0000-7000-8000-000000000001";
    const T: &str = "01900000-0000-7000-8000-000000000002";
    const GONE: &str = "01900000-0000-7000-8000-0000000000ff";
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let repo = DataRepo::open(&bare).unwrap();
    let parent = repo.parent_for("legacy-import", &["main"]).unwrap();
    let mut tx = Transaction::begin(&repo, parent).unwrap();
    // Paths as the configs' templates render them (`tagId/taggableType/taggableId`).
    let (a, b) = (
        format!("{T}/person/{P}.toml"),
        format!("{GONE}/person/{T}.toml"),
    );
    let sheets: [(&str, Vec<(&str, String)>); 4] = [
        (
            "people",
            vec![
                (
                    "alice.toml",
                    format!("about = \"x\"\nid = \"{P}\"\nroleId = \"{GONE}\"\nslug = \"alice\"\n"),
                ),
                ("broken.toml", "id = \"unterminated\n".into()),
            ],
        ),
        (
            "tags",
            vec![("topic/x.toml", format!("handle = \"x\"\nid = \"{T}\"\n"))],
        ),
        (
            "tag-assignments",
            vec![
                (
                    a.as_str(),
                    format!(
                        "id = \"a\"\ntagId = \"{T}\"\ntaggableId = \"{P}\"\ntaggableType = \"person\"\n"
                    ),
                ),
                (
                    b.as_str(),
                    format!(
                        "id = \"b\"\ntagId = \"{GONE}\"\ntaggableId = \"{T}\"\ntaggableType = \"person\"\n"
                    ),
                ),
            ],
        ),
        (
            "project-memberships",
            vec![(
                "civic/alice.toml",
                format!(
                    "id = \"m\"\nisMaintainer = false\npersonId = \"{GONE}\"\nprojectId = \"{P}\"\n"
                ),
            )],
        ),
    ];
    for (root, files) in sheets {
        let files = files
            .into_iter()
            .map(|(p, t)| (p.to_owned(), t.into_bytes()));
        tx.edit().replace_dir(root, files).unwrap();
    }
    tx.commit(&CommitSpec::new("records")).unwrap();
    tx.finish().unwrap();
    let repo = DataRepo::open(&bare).unwrap();
    let tree = repo
        .tree_of(repo.resolve("legacy-import").unwrap().unwrap())
        .unwrap();
    let whole = repo.read_tree_records(tree).unwrap();
    let reduced = repo.read_tree_references(tree).unwrap();
    let dangling = whole.dangling();
    assert_eq!(dangling.len(), 5, "{dangling:?}");
    assert_eq!(reduced.dangling(), dangling);
    let errors = |r: &sheets::repo::TreeRecords| -> Vec<String> {
        r.errors.iter().map(ToString::to_string).collect()
    };
    assert_eq!(errors(&whole).len(), 1, "{:?}", errors(&whole));
    assert_eq!(errors(&reduced), errors(&whole));
    assert_eq!(reduced.error_sheets, ["people"]);
    // Fields read besides the checked ones (a tool's own) change nothing the check finds.
    let configs = repo.sheet_configs(tree).unwrap();
    let more = repo
        .read_tree_fields(tree, &configs, &|config| {
            Box::new(|field| {
                sheets::closure::is_checked_field(field, Some(&config.references))
                    || config.name == "people" && ["about", "slug"].contains(&field)
                    || field == "isMaintainer"
            })
        })
        .unwrap();
    assert_eq!(more.dangling(), dangling);
    assert_eq!(errors(&more), errors(&whole));
    let alice = &more.sheets["people"][0].record;
    assert_eq!(alice.get("slug"), Some(&serde_json::json!("alice")));
    assert_eq!(alice.get("about"), Some(&serde_json::json!("x")));
    assert_eq!(reduced.sheets["people"][0].record.get("slug"), None);
}
