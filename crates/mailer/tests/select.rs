//! `mailer select` on a real bare data repo and a private store directory.

mod common;

use common::*;
use serde_json::{Value, json};

/// The reference's five Persons (cutover-mailout.test.ts case 1), plus two more sharing
/// alice's address in other letter cases, and one more sharing a new address.
fn world() -> World {
    World::new(&[
        P::new(1, "alice")
            .name("Alice Adams")
            .email("alice@example.com"),
        P::new(2, "bob").email("bob@example.com").github(12345),
        P::new(3, "carol"),
        P::new(4, "dan").email("dan@example.invalid"),
        P::new(5, "eve").email("eve@example.com").deleted(),
        P::new(6, "frank").email("ALICE@Example.com"),
        P::new(7, "gina").email("gina@example.com"),
        P::new(8, "hank").email("Gina@example.com"),
    ])
}

#[test]
fn selection_matches_the_reference_five_person_case_plus_duplicate_emails() {
    let w = world();
    let report = w.path("select.json");
    let o = run(w.mailer(&["select", &format!("--json={}", report.display())]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // Exact bytes: the line format is a contract (docs/ndjson.md).
    assert_eq!(
        stdout(&o),
        format!(
            "{{\"v\":1,\"personId\":\"{}\",\"slug\":\"alice\",\"email\":\"alice@example.com\",\"fullName\":\"Alice Adams\"}}\n\
             {{\"v\":1,\"personId\":\"{}\",\"slug\":\"gina\",\"email\":\"gina@example.com\",\"fullName\":\"Test Person\"}}\n",
            uuid(1),
            uuid(7)
        )
    );
    let text = std::fs::read_to_string(&report).unwrap();
    let r: Value = serde_json::from_str(&text).unwrap();
    // The reference's report shape first: top-level keys in this order.
    let keys: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix("  \"")?.split('"').next())
        .collect();
    assert_eq!(
        &keys[..6],
        ["runAt", "mode", "recipients", "skipped", "sent", "failed"]
    );
    assert_eq!(r["mode"], "select");
    assert_eq!(r["sent"], 0);
    assert_eq!(r["failed"], json!([]));
    assert_eq!(r["recipients"].as_array().unwrap().len(), 2);
    let skipped: Vec<(String, String)> = r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["slug"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        skipped,
        [
            ("bob", "github-linked"),
            ("carol", "no-private-profile"),
            ("dan", "invalid-email"),
            ("eve", "deleted"),
            ("frank", "duplicate-email"),
            ("hank", "duplicate-email"),
        ]
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
    );
    let dup = |slug: &str| {
        r["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["slug"] == slug)
            .unwrap()["duplicateOf"]
            .clone()
    };
    assert_eq!(dup("frank"), json!(uuid(1)));
    assert_eq!(dup("hank"), json!(uuid(7)));
    assert_eq!(r["counts"]["people"], 8);
    let err = stderr(&o);
    assert!(
        err.contains("mailer: mode=select people=8 recipients=2 skipped=6"),
        "{err}"
    );
}

#[test]
fn exclude_active_passwords_skips_people_who_sign_in() {
    let w = World::new(&[
        P::new(1, "alice")
            .email("alice@example.com")
            .credential(Some("2026-09-01T10:00:00.000Z")),
        P::new(2, "bob").email("bob@example.com").credential(None),
        P::new(3, "cat").email("cat@example.com"),
    ]);
    let o = run(w.mailer(&["select"]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(lines(&o).len(), 3, "the reference mails active users too");
    let report = w.path("r.json");
    let o = run(w.mailer(&[
        "select",
        "--exclude-active-passwords",
        &format!("--json={}", report.display()),
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let slugs: Vec<Value> = lines(&o).iter().map(|l| l["slug"].clone()).collect();
    assert_eq!(slugs, [json!("bob"), json!("cat")]);
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(
        r["skipped"],
        json!([{"personId": uuid(1), "reason": "active-password", "slug": "alice"}])
    );
}

#[test]
fn missing_repo_or_store_is_fatal() {
    let w = world();
    let mut c = w.mailer(&["select"]);
    c.env_remove("CFP_DATA_REPO_PATH");
    let o = run(c);
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("missing --data-repo"), "{}", stderr(&o));
    assert!(o.stdout.is_empty());

    let mut c = w.mailer(&["select"]);
    c.env("STORAGE_BACKEND", "floppy");
    let o = run(c);
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("unknown STORAGE_BACKEND"),
        "{}",
        stderr(&o)
    );

    let o = run(w.mailer(&["select", "--branch=nope"]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("nope"), "{}", stderr(&o));
}

#[test]
fn closed_stdout_ends_quietly() {
    let w = World::new(&crowd(1500));
    let mut c = w.mailer(&["select"]);
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    // Read one line, then close our end.
    let mut out = child.stdout.take().unwrap();
    let mut buf = [0u8; 64];
    std::io::Read::read(&mut out, &mut buf).unwrap();
    drop(out);
    let o = child.wait_with_output().unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert!(!stderr(&o).contains("error"), "{}", stderr(&o));
}
