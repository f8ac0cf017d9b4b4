//! The `spam-prune` binary on real bare repos: the decision matrix of reference/C §7, the
//! cascade, the commit, idempotence, the dry run, the flaw-8 regressions and the CLI contract.

mod common;

use common::{World, uuid};
use serde_json::{Value, json};

/// reference/C §7's verdict matrix (t = 0.8), one person per row.
fn matrix() -> World {
    let mut w = World::new();
    w.person(1, "no-evals", json!({}));
    w.person(2, "spam-at-threshold", json!({})).eval(
        "spam-at-threshold",
        "heuristic-v1",
        "spam",
        0.8,
    );
    w.person(3, "spam-below", json!({}))
        .eval("spam-below", "heuristic-v1", "spam", 0.79);
    w.person(4, "uncertain-high", json!({})).eval(
        "uncertain-high",
        "heuristic-v1",
        "uncertain",
        0.99,
    );
    w.person(5, "spam-and-weak-legit", json!({}))
        .eval("spam-and-weak-legit", "heuristic-v1", "spam", 0.95)
        .eval("spam-and-weak-legit", "haiku-2026-05", "legit", 0.1);
    w.person(6, "heuristic-spam-llm-unsure", json!({}))
        .eval("heuristic-spam-llm-unsure", "heuristic-v1", "spam", 0.9)
        .eval(
            "heuristic-spam-llm-unsure",
            "haiku-2026-05",
            "uncertain",
            0.6,
        );
    w.person(7, "human-spam-heuristic-legit", json!({}))
        .eval("human-spam-heuristic-legit", "human:x", "spam", 1.0)
        .eval("human-spam-heuristic-legit", "heuristic-v1", "legit", 0.3);
    w.person(8, "member", json!({}))
        .eval("member", "heuristic-v1", "spam", 0.95)
        .member(8, "member", "phillytruce");
    w.person(9, "unknown-verdict", json!({})).eval(
        "unknown-verdict",
        "heuristic-v1",
        "maybe",
        0.99,
    );
    // A flagged slug with nobody on the branch (renamed or already pruned).
    w.eval("gone-person", "heuristic-v1", "spam", 0.99);
    w
}

#[test]
fn decision_matrix() {
    let repo = matrix().build();
    let before = repo.tip("published");
    let (run, report) = repo.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.slugs(),
        ["heuristic-spam-llm-unsure", "spam-at-threshold"]
    );
    assert_eq!(report["peopleBefore"], 9);
    assert_eq!(report["prunedPeople"], 2);
    assert_eq!(report["peopleAfter"], 7);
    assert_eq!(report["protectedByMembership"], 1);
    assert_eq!(
        report["reasons"],
        json!({"noEvaluation": 1, "notConfidentSpam": 3, "protectedByLegit": 2,
               "protectedByMembership": 1, "heldByUnreadableEvaluation": 0,
               "protectedByClass": 0, "heldByReference": 0, "pruned": 2})
    );
    let e = &report["evaluations"];
    assert_eq!(e["records"], 12);
    assert_eq!(e["flaggedSlugs"], 6, "{e}");
    assert_eq!(e["flaggedSlugsAbsent"], 1);
    assert_eq!(e["unmatched"], 1);
    assert_eq!(e["unmatchedSlugs"], 1);
    assert_eq!(e["unknownVerdicts"], 1);
    assert_eq!(e["unparseable"], 0);
    assert_eq!(report["result"], "committed");

    // The pruned records are gone, everyone else is byte-identical.
    let after = repo.tip("published");
    assert_ne!(before, after);
    let files = repo.files("published");
    assert!(!files.contains(&"people/spam-at-threshold.toml".to_owned()));
    assert!(files.contains(&"people/spam-below.toml".to_owned()));
    assert!(files.contains(&"project-memberships/phillytruce/member.toml".to_owned()));
    let diff = repo.git(&["diff", "--name-status", &before, &after]);
    assert_eq!(
        diff,
        "D\tpeople/heuristic-spam-llm-unsure.toml\nD\tpeople/spam-at-threshold.toml\n"
    );
    // The NDJSON line names the deciding verdicts.
    let line = &run.lines()[1];
    assert_eq!(line["v"], 1);
    assert_eq!(line["id"], uuid(2));
    assert_eq!(line["legacyId"], 2);
    assert_eq!(line["path"], "people/spam-at-threshold.toml");
    assert_eq!(
        line["verdicts"],
        json!([{"evaluator": "heuristic-v1", "verdict": "spam", "confidence": 0.8}])
    );
    assert_eq!(line["atRisk"], json!([]));
    assert_eq!(line["dryRun"], false);
    repo.fsck();
}

#[test]
fn threshold_flag_moves_the_line() {
    let repo = matrix().build();
    let run = repo.run(&["--threshold=0.79", "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.slugs(),
        [
            "heuristic-spam-llm-unsure",
            "spam-at-threshold",
            "spam-below"
        ]
    );
    let run = repo.run(&["--threshold", "0.95", "--dry-run"]);
    assert_eq!(run.slugs(), Vec::<String>::new());
    for bad in ["1.5", "-0.1", "NaN"] {
        let run = repo.run(&[&format!("--threshold={bad}"), "--dry-run"]);
        assert_eq!(run.code, 2, "{bad}: {}", run.stderr);
    }
}

/// A pruned person with everything hanging off them, and the same for a kept person.
fn cascade_world() -> World {
    let mut w = World::new();
    let spam = uuid(1);
    let kept = uuid(2);
    w.person(
        1,
        "spammer",
        json!({"avatarKey": "people/spammer/avatar.jpg"}),
    )
    .file(
        "people/spammer/avatar.jpg",
        b"\xff\xd8\xff\xe0jpeg".to_vec(),
    )
    .file(
        "people/spammer/avatar-128.jpg",
        b"\xff\xd8\xff\xe0small".to_vec(),
    )
    .eval("spammer", "heuristic-v1", "spam", 0.97);
    w.person(2, "keeper", json!({}))
        .file("people/keeper/avatar.jpg", b"\xff\xd8keeper".to_vec())
        .eval("keeper", "heuristic-v1", "legit", 0.9);
    let role = uuid(700);
    w.record(
        &format!("help-wanted-interest/{role}/spammer.toml"),
        json!({"id": uuid(701), "roleId": role, "personId": spam, "personSlug": "spammer", "message": "hi"}),
    )
    .record(
        &format!("help-wanted-interest/{role}/keeper.toml"),
        json!({"id": uuid(702), "roleId": role, "personId": kept, "personSlug": "keeper"}),
    );
    let tag = uuid(800);
    let project = uuid(801);
    w.record(
        &format!("tag-assignments/{tag}/person/{spam}.toml"),
        json!({"id": uuid(802), "tagId": tag, "taggableType": "person", "taggableId": spam, "createdAt": "2020-01-01T00:00:00.000Z"}),
    )
    .record(
        &format!("tag-assignments/{tag}/person/{kept}.toml"),
        json!({"id": uuid(803), "tagId": tag, "taggableType": "person", "taggableId": kept}),
    )
    .record(
        &format!("tag-assignments/{tag}/project/{project}.toml"),
        json!({"id": uuid(804), "tagId": tag, "taggableType": "project", "taggableId": project, "assignedById": spam}),
    );
    w.record(
        "project-updates/bikes/1.toml",
        json!({"id": uuid(900), "legacyId": 11, "number": 1, "projectId": project, "projectSlug": "bikes",
               "authorId": spam, "body": "Shipped — the map.\nSecond line", "createdAt": "2020-01-01T00:00:00.000Z",
               "updatedAt": "2020-01-01T00:00:00.000Z"}),
    )
    .record(
        "project-updates/bikes/2.toml",
        json!({"id": uuid(901), "legacyId": 12, "number": 2, "projectId": project, "projectSlug": "bikes",
               "authorId": kept, "body": "ok", "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z"}),
    );
    // References the cascade leaves in place, counted in the report.
    w.record(
        "projects/bikes.toml",
        json!({"id": project, "slug": "bikes", "title": "Bikes", "maintainerId": spam}),
    )
    .record(
        "project-buzz/bikes/news.toml",
        json!({"id": uuid(902), "slug": "news", "projectSlug": "bikes", "projectId": project, "postedById": spam, "url": "https://x.org"}),
    )
    .file(
        "blog-posts/hello.md",
        format!("+++\nauthorId = \"{spam}\"\nslug = \"hello\"\n+++\n\nHello\n"),
    )
    .record(
        &format!("help-wanted-roles/bikes/{role}.toml"),
        json!({"id": role, "projectSlug": "bikes", "postedById": spam, "filledById": spam, "title": "Dev"}),
    )
    .record(
        "slug-history/person/old-spammer.toml",
        json!({"entityType": "person", "oldSlug": "old-spammer", "newSlug": "spammer", "entityId": spam}),
    )
    .record(
        "revocations/j1.toml",
        json!({"jti": "j1", "personId": spam}),
    );
    w
}

#[test]
fn cascade_in_one_commit() {
    let repo = cascade_world().build();
    let before = repo.tip("published");
    let head_before = repo.state().1;
    let spam = uuid(1);
    // The reference cascade leaves references to the pruned person (counted below): only
    // committed when asked to (see `a_result_with_dangling_references_is_refused`).
    let (run, report) = repo.run_json(&[
        "--branch=published",
        "--evaluations-ref=spam-detection",
        "--allow-dangling",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["prunedPeople"], 1);
    assert_eq!(report["membershipsDeleted"], 0);
    assert_eq!(report["helpWantedInterestDeleted"], 1);
    assert_eq!(report["personTagAssignmentsDeleted"], 1);
    assert_eq!(report["projectUpdatesAuthorNulled"], 1);
    assert_eq!(report["attachmentsDeleted"], 2);
    assert_eq!(
        report["danglingReferences"],
        json!({"blogPostsAuthorId": 1, "helpWantedRolesFilledById": 1, "helpWantedRolesPostedById": 1,
               "projectBuzzPostedById": 1, "projectsMaintainerId": 1, "revocationsPersonId": 1,
               "slugHistoryEntityId": 1, "tagAssignmentsAssignedById": 1})
    );
    assert_eq!(report["atRisk"], json!({"authors": 1, "maintainers": 1}));
    let line = &run.lines()[0];
    assert_eq!(line["atRisk"], json!(["authors", "maintainers"]));
    assert_eq!(
        line["cascade"],
        json!({"attachments": 2, "memberships": 0, "helpWantedInterest": 1,
               "personTagAssignments": 1, "projectUpdatesAuthorNulled": 1})
    );

    // Exactly one commit on top of the old tip, HEAD untouched.
    let after = repo.tip("published");
    assert_eq!(
        repo.git(&["rev-parse", &format!("{after}^")]).trim(),
        before
    );
    assert_eq!(repo.state().1, head_before);
    let diff = repo.git(&["diff", "--name-status", &before, &after]);
    let role = uuid(700);
    let tag = uuid(800);
    assert_eq!(
        diff,
        format!(
            "D\thelp-wanted-interest/{role}/spammer.toml\nD\tpeople/spammer.toml\nD\tpeople/spammer/avatar-128.jpg\nD\tpeople/spammer/avatar.jpg\nM\tproject-updates/bikes/1.toml\nD\ttag-assignments/{tag}/person/{spam}.toml\n"
        )
    );
    // The update keeps everything but its author, in canonical bytes.
    let update = repo.show("published", "project-updates/bikes/1.toml");
    let mut expected = common::parse(&repo.show(&before, "project-updates/bikes/1.toml"));
    expected.remove("authorId");
    assert_eq!(update, sheets::toml::to_string(&expected).unwrap());
    assert!(update.contains("Shipped — the map."));

    // Subject names the branch; the trailers.
    let message = repo.git(&["log", "-1", "--format=%B", "published"]);
    let subject = message.lines().next().unwrap();
    assert!(
        subject.starts_with("prune: remove confident-spam people from published ("),
        "{subject}"
    );
    let evals = repo.tip("spam-detection");
    let trailers = repo.git(&["log", "-1", "--format=%(trailers:only,unfold)", "published"]);
    let run_at = report["runAt"].as_str().unwrap();
    assert_eq!(
        trailers.trim_end(),
        format!(
            "Action: prune.spam\nEvaluations-Ref: spam-detection\nEvaluations-Commit: {evals}\nThreshold: 0.8\nRun-At: {run_at}"
        )
    );
    assert_eq!(report["commit"], after);
    assert_eq!(report["evaluationsCommit"], evals);
    repo.fsck();
}

#[test]
fn second_run_is_a_no_op() {
    let repo = cascade_world().build();
    let first = repo.run(&["--allow-dangling"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let state = repo.state();
    let (second, report) = repo.run_json(&["--allow-dangling"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert_eq!(second.stdout, "");
    assert_eq!(report["prunedPeople"], 0);
    assert_eq!(report["result"], "no-changes");
    assert_eq!(report["commit"], Value::Null);
    assert!(second.stderr.contains("(no changes"), "{}", second.stderr);
    assert_eq!(repo.state(), state);
    repo.fsck();
}

#[test]
fn dry_run_computes_everything_and_writes_nothing() {
    let repo = cascade_world().build();
    let state = repo.state();
    let objects = repo.git(&["count-objects", "-v"]);
    let (dry, dry_report) = repo.run_json(&["--dry-run", "--allow-dangling"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(repo.state(), state);
    assert_eq!(repo.git(&["count-objects", "-v"]), objects);
    assert!(dry.stderr.contains("(dry-run: no writes performed)"));
    assert_eq!(dry_report["result"], "dry-run");
    assert_eq!(dry_report["commit"], Value::Null);

    let (real, real_report) = repo.run_json(&["--allow-dangling"]);
    assert_eq!(real.code, 0, "{}", real.stderr);
    // Same people, same cascade counts; only the dry-run flag differs.
    let strip = |v: &Value, keys: &[&str]| {
        let mut v = v.clone();
        for k in keys {
            v.as_object_mut().unwrap().remove(*k);
        }
        v
    };
    let volatile = ["dryRun", "runAt", "commit", "result"];
    assert_eq!(
        strip(&dry_report, &volatile),
        strip(&real_report, &volatile)
    );
    let dry_lines: Vec<Value> = dry.lines().iter().map(|l| strip(l, &["dryRun"])).collect();
    let real_lines: Vec<Value> = real.lines().iter().map(|l| strip(l, &["dryRun"])).collect();
    assert_eq!(dry_lines, real_lines);
    assert_eq!(dry.lines()[0]["dryRun"], true);
    assert_eq!(dry_report["personTagAssignmentsDeleted"], 1);
    assert_eq!(dry_report["projectUpdatesAuthorNulled"], 1);
    repo.fsck();
}

/// reference/C §8.1: a record with non-ASCII text must not swallow the record after it.
#[test]
fn non_ascii_reasoning_keeps_the_human_override() {
    let mut w = World::new();
    w.person(1, "alice", json!({}))
        .eval_raw(
            "alice",
            "haiku-2026-05",
            "confidence = 0.9\nevaluatedAt = \"2026-05-20T02:00:00Z\"\nevaluator = \"haiku-2026-05\"\nflags = []\npersonSlug = \"alice\"\nreasoning = \"Templated bio — “SEO” café ☕ 美洽\"\nverdict = \"spam\"\n",
        )
        .eval_raw(
            "alice",
            "human:chris",
            "confidence = 1.0\nevaluator = \"human:chris\"\nflags = [\"manual-override\"]\npersonSlug = \"alice\"\nreasoning = \"Known organizer.\"\nverdict = \"legit\"\n",
        );
    // Bob's non-ASCII spam record is followed by nothing that could save him.
    w.person(2, "bob", json!({})).eval_raw(
        "bob",
        "haiku-2026-05",
        "confidence = 0.95\nreasoning = \"Ставки — 下载\"\nverdict = \"spam\"\n",
    );
    let repo = w.build();
    let (run, report) = repo.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.slugs(), ["bob"]);
    assert_eq!(report["reasons"]["protectedByLegit"], 1);
    assert!(
        repo.files("published")
            .contains(&"people/alice.toml".to_owned())
    );
    repo.fsck();
}

/// Real TOML: single quotes, integer confidences, `verdict = "spam"` inside a multi-line
/// string, a missing legit confidence.
#[test]
fn toml_the_line_regexes_misread() {
    let mut w = World::new();
    w.person(1, "single-quoted", json!({})).eval_raw(
        "single-quoted",
        "heuristic-v1",
        "verdict = 'spam'\nconfidence = 1\nreasoning = 'C:\\no\\escapes — here'\n",
    );
    w.person(2, "quoted-legit-in-text", json!({})).eval_raw(
        "quoted-legit-in-text",
        "haiku-2026-05",
        "confidence = 0.4\nreasoning = \"\"\"\nAn earlier pass wrote:\nverdict = \"spam\"\nconfidence = 0.99\n\"\"\"\nverdict = \"legit\"\n",
    );
    w.person(3, "spam-after-text", json!({})).eval_raw(
        "spam-after-text",
        "haiku-2026-05",
        "verdict = \"spam\"\nconfidence = 0.9\nreasoning = '''\nverdict = \"legit\"\n'''\n",
    );
    w.person(4, "legit-no-confidence", json!({}))
        .eval("legit-no-confidence", "heuristic-v1", "spam", 0.99)
        .eval_raw(
            "legit-no-confidence",
            "human:dana",
            "verdict = \"legit\"\nflags = [\"manual-override\"]\n",
        );
    w.person(5, "exponent", json!({})).eval_raw(
        "exponent",
        "heuristic-v1",
        "verdict = \"spam\"\nconfidence = 9e-1\n",
    );
    let repo = w.build();
    let (run, report) = repo.run_json(&["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.slugs(),
        ["exponent", "single-quoted", "spam-after-text"]
    );
    assert_eq!(report["reasons"]["protectedByLegit"], 1);
    assert_eq!(report["evaluations"]["unparseable"], 0);
    let single = &run.lines()[1];
    assert_eq!(single["verdicts"][0]["confidence"], 1.0);
}

/// A record that cannot be read is reported (exit 1) and holds its person.
#[test]
fn unparseable_records_are_reported_and_hold_the_person() {
    let mut w = World::new();
    w.person(1, "broken-override", json!({}))
        .eval("broken-override", "heuristic-v1", "spam", 0.95)
        .eval_raw(
            "broken-override",
            "human:chris",
            "verdict = legit\nconfidence = 1.0\n",
        );
    w.person(2, "only-broken", json!({})).eval_raw(
        "only-broken",
        "heuristic-v1",
        "verdict = \"spam\"\n",
    );
    w.person(3, "quoted-confidence", json!({})).eval_raw(
        "quoted-confidence",
        "heuristic-v1",
        "verdict = \"spam\"\nconfidence = \"0.9\"\n",
    );
    w.person(4, "plain-spam", json!({}))
        .eval("plain-spam", "heuristic-v1", "spam", 0.9);
    w.person(5, "not-utf8", json!({}))
        .eval("not-utf8", "heuristic-v1", "spam", 0.9);
    w.evals.insert(
        "person-evaluations/not-utf8/haiku-2026-05.toml".into(),
        b"verdict = \"legit\xff\"\n".to_vec(),
    );
    // Not records: ignored and counted.
    w.evals.insert(
        "person-evaluations/plain-spam/notes.txt".into(),
        b"free text".to_vec(),
    );
    let repo = w.build();
    let (run, report) = repo.run_json(&[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.slugs(), ["plain-spam"]);
    assert_eq!(report["result"], "committed");
    assert_eq!(report["reasons"]["heldByUnreadableEvaluation"], 2);
    assert_eq!(report["evaluations"]["unparseable"], 4);
    assert_eq!(report["evaluations"]["ignoredFiles"], 1);
    let paths: Vec<&str> = report["unparseableRecords"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "person-evaluations/broken-override/human:chris.toml",
            "person-evaluations/not-utf8/haiku-2026-05.toml",
            "person-evaluations/only-broken/heuristic-v1.toml",
            "person-evaluations/quoted-confidence/heuristic-v1.toml",
        ]
    );
    assert!(
        run.stderr
            .contains("person-evaluations/broken-override/human:chris.toml"),
        "{}",
        run.stderr
    );
    let files = repo.files("published");
    assert!(files.contains(&"people/broken-override.toml".to_owned()));
    assert!(files.contains(&"people/not-utf8.toml".to_owned()));
    repo.fsck();
}

#[test]
fn protect_keeps_classes_and_at_risk_flags_the_rest() {
    let mut w = World::new();
    w.person(1, "staffer", json!({"accountLevel": "staff"}));
    w.person(2, "admin", json!({"accountLevel": "administrator"}));
    w.person(3, "linked", json!({"githubUserId": 4242}));
    w.person(4, "author", json!({}));
    w.person(5, "maintainer", json!({}));
    w.person(6, "plain", json!({}));
    for s in [
        "staffer",
        "admin",
        "linked",
        "author",
        "maintainer",
        "plain",
    ] {
        w.eval(s, "heuristic-v1", "spam", 0.99);
    }
    w.record(
        "project-updates/p/1.toml",
        json!({"id": uuid(50), "number": 1, "projectSlug": "p", "authorId": uuid(4), "body": "x"}),
    )
    .record(
        "projects/p.toml",
        json!({"id": uuid(51), "slug": "p", "title": "P", "maintainerId": uuid(5)}),
    );
    let repo = w.build();

    // By default the maintainer is held: its project still names it.
    let (run, report) = repo.run_json(&["--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["reasons"]["heldByReference"], 1);
    assert!(
        !run.slugs().contains(&"maintainer".to_owned()),
        "{:?}",
        run.slugs()
    );

    let (run, report) = repo.run_json(&["--dry-run", "--allow-dangling"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.slugs(),
        [
            "admin",
            "author",
            "linked",
            "maintainer",
            "plain",
            "staffer"
        ]
    );
    assert_eq!(
        report["atRisk"],
        json!({"staff": 2, "github": 1, "authors": 1, "maintainers": 1})
    );
    let risk: Vec<(String, Value)> = run
        .lines()
        .iter()
        .map(|l| (l["slug"].as_str().unwrap().to_owned(), l["atRisk"].clone()))
        .collect();
    assert_eq!(risk[0], ("admin".into(), json!(["staff"])));
    assert_eq!(risk[4], ("plain".into(), json!([])));

    // The maintainer is pruned too, leaving its project's maintainerId: allowed explicitly.
    let (run, report) = repo.run_json(&[
        "--protect=staff,github",
        "--protect",
        "authors",
        "--allow-dangling",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.slugs(), ["maintainer", "plain"]);
    assert_eq!(report["protect"], json!(["staff", "github", "authors"]));
    assert_eq!(report["reasons"]["protectedByClass"], 4);
    assert_eq!(
        report["protectedByClass"],
        json!({"staff": 2, "github": 1, "authors": 1})
    );
    assert_eq!(report["atRisk"], json!({"maintainers": 1}));
    let files = repo.files("published");
    for kept in ["staffer", "admin", "linked", "author"] {
        assert!(files.contains(&format!("people/{kept}.toml")), "{kept}");
    }
    repo.fsck();

    let run = repo.run(&["--protect=owners"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("unknown class"), "{}", run.stderr);
}

/// `githubUserId = 0` is not a linked account (the one rule of `sheets::people`, as reconcile
/// and mailer read it); a `githubUserId` that is not an integer holds the person as an
/// unreadable record.
#[test]
fn github_user_id_zero_is_not_linked() {
    let mut w = World::new();
    w.person(1, "zero", json!({"githubUserId": 0}));
    w.person(2, "linked", json!({"githubUserId": 4242}));
    w.person(3, "garbled", json!({"githubUserId": "4242"}));
    for s in ["zero", "linked", "garbled"] {
        w.eval(s, "heuristic-v1", "spam", 0.99);
    }
    let repo = w.build();
    let (run, report) = repo.run_json(&["--dry-run", "--protect=github"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_eq!(run.slugs(), ["zero"]);
    assert_eq!(run.lines()[0]["atRisk"], json!([]));
    assert_eq!(report["protectedByClass"], json!({"github": 1}));
    assert_eq!(
        report["unreadableBranchRecords"][0]["path"],
        "people/garbled.toml"
    );
    assert_eq!(
        report["unreadableBranchRecords"][0]["error"],
        "`githubUserId` is not an integer"
    );
}

#[test]
fn missing_evaluations_ref_is_fatal_and_writes_nothing() {
    let repo = matrix().build();
    let state = repo.state();
    let run = repo.run(&["--evaluations-ref=spam-detektion"]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("evaluations ref `spam-detektion` does not exist"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");
    assert_eq!(repo.state(), state);
    let run = repo.run(&["--branch=runtime"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("branch `runtime` not found"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.state(), state);
    repo.fsck();
}

#[test]
fn evaluations_ref_by_commit_id_and_remote_branch() {
    let repo = matrix().build();
    let commit = repo.tip("spam-detection");
    // Only the remote-tracking ref exists for both branches, as in a fresh mirror.
    for b in ["published", "spam-detection"] {
        let id = repo.tip(b);
        repo.git(&["update-ref", &format!("refs/remotes/origin/{b}"), &id]);
    }
    repo.git(&["update-ref", "-d", "refs/heads/published"]);
    let run = repo.run(&[&format!("--evaluations-ref={commit}"), "--dry-run"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.slugs().len(), 2);
    assert!(
        repo.git(&["for-each-ref", "refs/heads/published"])
            .is_empty()
    );
    let run = repo.run(&["--evaluations-ref=origin/spam-detection"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.slugs().len(), 2);
    // The branch was created from origin/published by the commit.
    let tip = repo.tip("published");
    let origin = repo.git(&["rev-parse", "refs/remotes/origin/published"]);
    assert_eq!(repo.git(&["rev-parse", &format!("{tip}^")]), origin);
    repo.fsck();
}

#[test]
fn non_bare_path_is_refused_before_anything() {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(&work).unwrap();
    common::git(&work, &["init", "-q", "-b", "published"]);
    common::git(&work, &["commit", "-q", "--allow-empty", "-m", "x"]);
    let head = std::fs::read_to_string(work.join(".git/HEAD")).unwrap();
    for path in [work.clone(), work.join(".git")] {
        let run = common::run_bin(&[
            format!("--data-repo={}", path.display()),
            "--dry-run".into(),
        ]);
        assert_eq!(run.code, 2, "{}", run.stderr);
        assert!(run.stderr.contains("git clone --bare"), "{}", run.stderr);
    }
    assert_eq!(
        std::fs::read_to_string(work.join(".git/HEAD")).unwrap(),
        head
    );
    let run = common::run_bin(&["--data-repo=/nonexistent/data.git".into()]);
    assert_eq!(run.code, 2);
}

#[test]
fn cli_contract() {
    let run = common::run_bin(&["--dry-run".into()]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)"),
        "{}",
        run.stderr
    );
    let help = common::run_bin(&["--help".into()]);
    assert_eq!(help.code, 0);
    assert!(
        help.stdout.contains("--evaluations-ref=spam-detection"),
        "{}",
        help.stdout
    );
    let run = common::run_bin(&["--no-such-flag".into()]);
    assert_eq!(run.code, 2);
    // reference/C §8.4: `--dry-run=true` was a real run there; here it is refused.
    let run = common::run_bin(&["--data-repo=/x".into(), "--dry-run=true".into()]);
    assert_eq!(run.code, 2);

    // The env var works like the flag.
    let repo = matrix().build();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_spam-prune"))
        .args(["--dry-run"])
        .env("CFP_DATA_REPO_PATH", &repo.path)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8(out.stdout).unwrap().lines().count(), 2);
}

#[test]
fn closed_stdout_ends_quietly() {
    let mut w = World::new();
    for n in 0..3000u32 {
        let slug = format!("spam-{n}");
        w.person(n, &slug, json!({}));
        w.eval(&slug, "heuristic-v1", "spam", 0.9);
    }
    let repo = w.build();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_spam-prune"))
        .args([
            format!("--data-repo={}", repo.path.display()),
            "--dry-run".into(),
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

#[test]
fn an_evaluations_ref_without_evaluations_prunes_nothing_and_says_so() {
    let mut w = World::new();
    w.person(1, "someone", json!({}));
    let repo = w.build();
    let state = repo.state();
    // `published` itself has no person-evaluations/.
    let (run, report) = repo.run_json(&["--evaluations-ref=published"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.stdout, "");
    assert_eq!(report["evaluations"]["records"], 0);
    assert_eq!(report["reasons"]["noEvaluation"], 1);
    assert!(
        run.stderr.contains("warning: no evaluation records"),
        "{}",
        run.stderr
    );
    assert_eq!(repo.state(), state);
}

/// Without `--allow-dangling` a person whom a record the prune keeps references (as a buzz
/// poster, blog author, maintainer, …) is held, not pruned: no reference is left to no record,
/// nothing is written, and the report says why.
#[test]
fn a_person_still_referenced_is_held_not_pruned() {
    let repo = cascade_world().build();
    let state = repo.state();
    let (run, report) = repo.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["prunedPeople"], 0);
    assert_eq!(report["reasons"]["heldByReference"], 1);
    assert_eq!(report["reasons"]["pruned"], 0);
    assert_eq!(report["danglingReferences"], json!({}));
    assert_eq!(report["result"], "no-changes");
    assert!(run.stdout.is_empty(), "{}", run.stdout);
    assert_eq!(repo.state(), state, "nothing written");
    repo.fsck();
}

/// A reference the prune cannot know about (any UUID-valued `…Id` field) is still caught by
/// the closure check on the result: exit 2, nothing written, the record and field named.
#[test]
fn a_result_with_an_unknown_reference_is_refused() {
    let spam = uuid(1);
    let mut w = World::new();
    w.person(1, "spammer", json!({}))
        .eval("spammer", "heuristic-v1", "spam", 0.97);
    w.record(
        "projects/bikes.toml",
        json!({"id": uuid(801), "slug": "bikes", "title": "Bikes", "sponsorId": spam}),
    );
    let repo = w.build();
    let state = repo.state();
    let run = repo.run(&[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("projects/bikes.toml: sponsorId = "),
        "{}",
        run.stderr
    );
    assert_eq!(repo.state(), state, "nothing written");
    repo.fsck();
}

/// The closure check refuses only what the prune breaks: a reference the branch already left
/// dangling (to an id no record ever had) does not stop the commit, while the pruned person's
/// own records go.
#[test]
fn a_reference_already_dangling_does_not_stop_the_prune() {
    let mut w = World::new();
    w.person(1, "spammer", json!({}))
        .eval("spammer", "heuristic-v1", "spam", 0.97);
    w.person(2, "keeper", json!({}));
    w.record(
        "projects/bikes.toml",
        json!({"id": uuid(801), "slug": "bikes", "title": "Bikes", "sponsorId": uuid(999)}),
    );
    let repo = w.build();
    let (run, report) = repo.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(report["prunedPeople"], 1);
    assert_eq!(report["result"], "committed");
    assert_eq!(run.slugs(), ["spammer"]);
    let files = repo.files("published");
    assert!(
        files.iter().any(|f| f == "projects/bikes.toml"),
        "{files:?}"
    );
    assert!(!files.iter().any(|f| f.contains("spammer")), "{files:?}");
    repo.fsck();
}
