//! The library API: plan, then apply with a compare-and-swap on the tip the plan read.

mod common;

use common::World;
use serde_json::json;
use sheets::{DataRepo, RepoError};
use spam_prune::{Error, Options};

fn world() -> World {
    let mut w = World::new();
    w.person(1, "spammer", json!({}))
        .eval("spammer", "heuristic-v1", "spam", 0.9);
    w.person(2, "member", json!({}));
    w
}

fn options(repo: &common::Repo) -> Options {
    let mut opts = Options::new(&repo.path);
    opts.run_at = "2026-05-21T10:00:00.123Z".parse().unwrap();
    opts
}

#[test]
fn a_branch_moved_after_planning_aborts_with_nothing_written() {
    let repo = world().build();
    let data = DataRepo::open(&repo.path).unwrap();
    let opts = options(&repo);
    let plan = spam_prune::plan(&data, &opts).unwrap();
    assert_eq!(plan.pruned().len(), 1);

    // The API pod commits meanwhile.
    let tip = repo.tip("published");
    let tree = repo.git(&["rev-parse", &format!("{tip}^{{tree}}")]);
    let moved = repo
        .git(&["commit-tree", tree.trim(), "-p", &tip, "-m", "pod write"])
        .trim()
        .to_owned();
    repo.git(&["update-ref", "refs/heads/published", &moved, &tip]);
    let packs = repo.git(&["count-objects", "-v"]);

    let err = plan.apply(&data, &opts).unwrap_err();
    assert!(
        matches!(err, Error::Repo(RepoError::ParentMoved { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("nothing was written"), "{err}");
    assert_eq!(repo.tip("published"), moved);
    assert_eq!(repo.git(&["count-objects", "-v"]), packs);
    repo.fsck();

    // A fresh plan on the new tip goes through.
    let outcome = spam_prune::run(&opts).unwrap();
    assert_eq!(outcome.report.result, "committed");
    assert_eq!(
        repo.git(&["rev-parse", "refs/heads/published^"]).trim(),
        moved
    );
    let message = repo.git(&["log", "-1", "--format=%B", "published"]);
    assert!(message.starts_with(
        "prune: remove confident-spam people from published (2026-05-21T10:00:00.123Z)\n\nPruned 1 of 2 people; threshold 0.8, 1 verdict-flagged slugs.\n\nAction: prune.spam\n"
    ), "{message}");
    assert!(message.contains("\nRun-At: 2026-05-21T10:00:00.123Z\n"));
    let date = repo.git(&["log", "-1", "--format=%at", "published"]);
    assert_eq!(date.trim(), "1779357600");
    repo.fsck();
}

#[test]
fn subject_names_the_branch_pruned() {
    let repo = world().build();
    let tip = repo.tip("published");
    repo.git(&["update-ref", "refs/heads/main", &tip]);
    let mut opts = options(&repo);
    opts.branch = "main".into();
    let outcome = spam_prune::run(&opts).unwrap();
    assert_eq!(outcome.pruned.len(), 1);
    let subject = repo.git(&["log", "-1", "--format=%s", "main"]);
    assert!(
        subject.starts_with("prune: remove confident-spam people from main ("),
        "{subject}"
    );
    assert_eq!(repo.tip("published"), tip, "only the named branch moves");
    repo.fsck();
}
