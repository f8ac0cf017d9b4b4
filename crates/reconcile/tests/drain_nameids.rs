//! `reconcile drain-legacy` and `reconcile nameids` on real bare repos.

mod common;

use std::fs;

use common::*;
use private_store::Credential;
use private_store::testing::MotoServer;
use serde_json::json;

fn cred_at(n: u32, imported: &str, last_used: Option<&str>) -> String {
    let lu = last_used.map_or("null".to_owned(), |l| format!("\"{l}\""));
    format!(
        r#"{{"personId":"{}","passwordHash":"$2y$12$abcdefghijklmnopqrstuv","importedAt":"{imported}","lastUsedAt":{lu},"note":"kept"}}"#,
        uuid(n)
    )
}

fn drain(store: &Store) {
    // NOW is 2026-08-15; 180 days earlier is 2026-02-16T12:00Z.
    let repo = Repo::new(&[
        P::new(1, "unclaimed"),
        P::new(2, "used"),
        P::new(3, "claimed").github(77),
        P::new(4, "recent"),
        P::new(5, "deactivated").deleted(),
    ]);
    let lines = [
        cred_at(1, "2026-02-01T00:00:00.000Z", None),
        cred_at(
            2,
            "2026-02-01T00:00:00.000Z",
            Some("2026-06-01T00:00:00.000Z"),
        ),
        cred_at(3, "2026-02-01T00:00:00.000Z", None),
        cred_at(4, "2026-03-01T00:00:00.000Z", None),
        cred_at(5, "2026-02-01T00:00:00.000Z", None),
        cred_at(6, "2026-02-01T00:00:00.000Z", None),
    ];
    let original = lines.join("\n") + "\n";
    store.put("legacy-passwords.jsonl", &original);
    let json_out = tempfile::NamedTempFile::new().unwrap();
    let json_arg = format!("--json={}", json_out.path().display());

    let dry = reconcile(
        &repo,
        store,
        &["drain-legacy", "--older-than=180d", &json_arg],
    );
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        store.raw("legacy-passwords.jsonl"),
        original,
        "a dry run writes nothing"
    );
    let decisions: Vec<_> = dry
        .lines()
        .iter()
        .map(|l| json!([l["slug"], l["action"], l["reason"]]))
        .collect();
    assert_eq!(
        decisions,
        [
            json!(["unclaimed", "delete", "unclaimed"]),
            json!(["used", "keep", "usedSinceCutover"]),
            json!(["claimed", "keep", "claimed"]),
            json!(["recent", "keep", "tooRecent"]),
            json!(["deactivated", "delete", "unclaimed"]),
            json!([null, "keep", "noPerson"]),
        ]
    );
    let j = read_json(json_out.path());
    assert_eq!(j["cutoff"], "2026-02-16T12:00:00.000Z");
    assert_eq!(
        (
            j["toDelete"].clone(),
            j["deleted"].clone(),
            j["apply"].clone()
        ),
        (json!(2), json!(0), json!(false))
    );
    assert!(
        dry.stderr.contains("dry run; --apply deletes") && dry.stderr.contains("wouldDelete=2"),
        "{}",
        dry.stderr
    );
    assert!(!dry.stdout.contains("$2y$"));

    let run = reconcile(
        &repo,
        store,
        &["drain-legacy", "--older-than", "180d", "--apply", &json_arg],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.lines()[0]["action"], "deleted");
    assert_eq!(read_json(json_out.path())["deleted"], 2);
    let left = store.raw("legacy-passwords.jsonl");
    assert_eq!(
        left,
        [&lines[1], &lines[2], &lines[3], &lines[5]]
            .map(|s| s.as_str())
            .join("\n")
            + "\n",
        "survivors byte for byte"
    );
    let t = store.store.load::<Credential>().unwrap();
    assert!(t.get(&uuid(1)).is_none() && t.get(&uuid(5)).is_none());
}

#[test]
fn drain_deletes_only_unused_unclaimed_directory() {
    drain(&Store::directory());
}

#[test]
fn drain_deletes_only_unused_unclaimed_s3() {
    let moto = MotoServer::start();
    drain(&Store::s3(&moto, "drain"));
}

#[test]
fn drain_rejects_a_bad_age() {
    let run = reconcile(
        &Repo::new(&[]),
        &Store::directory(),
        &["drain-legacy", "--older-than=180"],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("--older-than \"180\""),
        "{}",
        run.stderr
    );
}

fn laddr_file(rows: &[(i64, &str)]) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().unwrap();
    let mut text =
        String::from("{\"v\":1,\"resource\":\"projects\",\"row\":{\"ID\":1,\"Title\":\"x\"}}\n");
    // A contact-only laddr Person: no Username, never had a Slack login.
    text.push_str(r#"{"v":1,"resource":"people","row":{"ID":8,"Class":"Emergence\\People\\Person","FirstName":"C"}}"#);
    text.push('\n');
    for (id, user) in rows {
        text.push_str(
            &serde_json::to_string(
                &json!({"v":1,"resource":"people","row":{"ID":id,"Username":user,"FirstName":"T"}}),
            )
            .unwrap(),
        );
        text.push('\n');
    }
    // laddr-fetch closes each resource with an end line.
    text.push_str(&format!(
        "{{\"v\":1,\"resource\":\"people\",\"end\":{{\"rows\":{n},\"total\":{n},\"complete\":true}}}}\n",
        n = rows.len() + 1
    ));
    fs::write(f.path(), text).unwrap();
    f
}

#[test]
fn nameids_lists_mismatches_missing_and_duplicates() {
    let repo = Repo::new(&[
        P::new(1, "alice").legacy(1).name_id("alice"),
        P::new(2, "john-doe").legacy(2).name_id("john-doe"),
        P::new(3, "nobody").legacy(3),
        P::new(4, "twin-a").legacy(4).name_id("Twin"),
        P::new(5, "twin-b").name_id("Twin"),
        P::new(6, "ghost").legacy(99).name_id("ghost"),
        P::new(7, "left").legacy(7).name_id("x").deleted(),
        P::new(8, "contact").legacy(8),
    ]);
    let laddr = laddr_file(&[
        (1, "alice"),
        (2, "John_Doe"),
        (3, "nobody"),
        (4, "Twin"),
        (7, "left"),
    ]);
    let json_out = tempfile::NamedTempFile::new().unwrap();
    let run = reconcile(
        &repo,
        &Store::directory(),
        &[
            "nameids",
            &format!("--laddr={}", laddr.path().display()),
            &format!("--json={}", json_out.path().display()),
        ],
    );
    assert_eq!(run.code, 1, "{}", run.stderr);
    let found: Vec<_> = run
        .lines()
        .iter()
        .map(|l| json!([l["problem"], l["slug"]]))
        .collect();
    assert_eq!(
        found,
        // Data repo order (by path).
        [
            json!(["noLaddrUser", "ghost"]),
            json!(["mismatch", "john-doe"]),
            json!(["missingNameId", "nobody"]),
            json!(["duplicateNameId", "twin-a"]),
            json!(["duplicateNameId", "twin-b"]),
        ]
    );
    let l = &run.lines()[1];
    assert_eq!(
        (
            l["v"].clone(),
            l["slackSamlNameId"].clone(),
            l["laddrUsername"].clone()
        ),
        (json!(1), json!("john-doe"), json!("John_Doe"))
    );
    assert_eq!(run.lines()[3]["also"], json!(["twin-b"]));
    let j = read_json(json_out.path());
    assert_eq!(
        (j["laddrPeople"].clone(), j["personsChecked"].clone()),
        (json!(6), json!(6))
    );
    assert_eq!(j["laddrContactOnly"], 1);
}

#[test]
fn nameids_clean_exits_zero() {
    let repo = Repo::new(&[
        P::new(1, "alice").legacy(1).name_id("alice"),
        P::new(2, "new-member").name_id("new-member"),
    ]);
    let laddr = laddr_file(&[(1, "alice")]);
    let run = reconcile(
        &repo,
        &Store::directory(),
        &["nameids", &format!("--laddr={}", laddr.path().display())],
    );
    assert_eq!((run.code, run.stdout.as_str()), (0, ""), "{}", run.stderr);
}

#[test]
fn nameids_bad_line_is_fatal_and_named() {
    let f = tempfile::NamedTempFile::new().unwrap();
    fs::write(
        f.path(),
        "{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":1,\"Username\":\"a\"}}\n{oops\n",
    )
    .unwrap();
    let run = reconcile(
        &Repo::new(&[]),
        &Store::directory(),
        &["nameids", &format!("--laddr={}", f.path().display())],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains(&format!("{}: line 2: not JSON", f.path().display())),
        "{}",
        run.stderr
    );
}
