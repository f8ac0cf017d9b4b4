//! `reconcile import-credentials` on real bare repos and both store backends.

mod common;

use std::fs;

use common::*;
use private_store::testing::MotoServer;
use private_store::{Credential, Profile};
use serde_json::json;

const SHA1: &str = "7746451f0c9b1a7b7e2a3b8b1f8c1e2d3a4b5c6d";
const BCRYPT: &str = "$2y$10$abcdefghijklmnopqrstuuABCDEFGHIJKLMNOPQRSTUVWXYZ01234";

fn import(repo: &Repo, store: &Store, csv: &[u8], extra: &[&str]) -> (Run, serde_json::Value) {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("export.csv");
    fs::write(&input, csv).unwrap();
    let report = dir.path().join("report.json");
    let mut args = vec![
        "import-credentials".to_owned(),
        format!("--input={}", input.display()),
        format!("--json={}", report.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let run = reconcile(
        repo,
        store,
        &args.iter().map(String::as_str).collect::<Vec<_>>(),
    );
    assert!(
        run.code == 0 || run.code == 1,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    let j = read_json(&report);
    (run, j)
}

/// Neither stdout, stderr nor the report may hold an email or a hash.
fn assert_no_secrets(run: &Run, report: &serde_json::Value, secrets: &[&str]) {
    let report = report.to_string();
    for s in secrets {
        assert!(!run.stdout.contains(s), "{s} on stdout");
        assert!(!run.stderr.contains(s), "{s} on stderr");
        assert!(!report.contains(s), "{s} in the report");
    }
}

fn people() -> Vec<P> {
    vec![
        P::new(1, "hhutch").legacy(101),
        P::new(2, "john-doe").legacy(102),
        P::new(3, "gone").legacy(103).deleted(),
    ]
}

/// Every CSV form gives the same import.
#[test]
fn every_csv_form_joins_the_same_rows() {
    let forms: Vec<(&str, String)> = vec![
        (
            "plain",
            format!(
                "Username,Email,Password\nhhutch,Hunter@Example.com,{SHA1}\nJohn_Doe,john@example.com,{BCRYPT}\n"
            ),
        ),
        (
            "quoted, any order, extra columns",
            format!(
                "\"Password\",\"Created\",\"Email\",\"Username\"\n\"{SHA1}\",\"2014\",\"Hunter@Example.com\",\"hhutch\"\n\"{BCRYPT}\",\"2015\",\"john@example.com\",\"John_Doe\"\n"
            ),
        ),
        (
            "CRLF",
            format!(
                "Username,Email,Password\r\nhhutch,Hunter@Example.com,{SHA1}\r\nJohn_Doe,john@example.com,{BCRYPT}\r\n"
            ),
        ),
        (
            "BOM",
            format!(
                "\u{feff}Username,Email,Password\nhhutch,Hunter@Example.com,{SHA1}\nJohn_Doe,john@example.com,{BCRYPT}\n"
            ),
        ),
        (
            "backslash-escaped (the documented sed recipe)",
            format!(
                "\"Username\",\"Email\",\"Password\"\n\"hhutch\",\"Hunter@Example.com\",\"{SHA1}\"\n\"John_Doe\",\"john@example.com\",\"{BCRYPT}\"\n\"say \\\"hi\\\"\",\"q@example.com\",\"{SHA1}\"\n"
            ),
        ),
        (
            "with ID",
            format!(
                "ID,Username,Email,Password\n101,hhutch,Hunter@Example.com,{SHA1}\n102,John_Doe,john@example.com,{BCRYPT}\n"
            ),
        ),
    ];
    for (name, csv) in forms {
        let repo = Repo::new(&people());
        let store = Store::directory();
        let (run, j) = import(&repo, &store, csv.as_bytes(), &[]);
        assert_eq!(j["profilesCreated"], 2, "{name}: {j:#}");
        assert_eq!(j["credentialsCreated"], 2, "{name}");
        let profiles = store.store.load::<Profile>().unwrap();
        assert_eq!(
            profiles.get(&uuid(1)).unwrap().email(),
            "hunter@example.com",
            "{name}"
        );
        assert_eq!(
            profiles.get(&uuid(2)).unwrap().email(),
            "john@example.com",
            "{name}"
        );
        let creds = store.store.load::<Credential>().unwrap();
        assert_eq!(creds.get(&uuid(1)).unwrap().password_hash(), SHA1, "{name}");
        assert_eq!(
            creds.get(&uuid(2)).unwrap().password_hash(),
            BCRYPT,
            "{name}"
        );
        assert_eq!(creds.get(&uuid(2)).unwrap().imported_at(), NOW);
        let lines = run.lines();
        let by = if name == "with ID" { "id" } else { "username" };
        assert_eq!(lines[1]["joinedBy"], by, "{name}");
        assert_eq!(lines[1]["slug"], "john-doe", "{name}: John_Doe → john-doe");
        if name.starts_with("backslash") {
            assert_eq!(lines[2]["username"], "say \"hi\"");
            assert_eq!(lines[2]["reason"], "noPersonMatch");
        }
        assert_eq!(
            run.code, 0,
            "{name}: an expected skip still exits 0: {}",
            run.stderr
        );
        assert_no_secrets(&run, &j, &["hunter@", "Hunter@", "john@", SHA1, "$2y$"]);
    }
}

#[test]
fn every_skip_reason_is_reported_per_row() {
    let repo = Repo::new(&[
        P::new(1, "hhutch").legacy(101),
        P::new(3, "gone").legacy(103).deleted(),
        P::new(4, "amy").legacy(104),
        P::new(5, "chris").legacy(105),
        P::new(6, "chris-2").legacy(106),
        P::new(7, "sam").legacy(107),
        P::new(8, "zed").legacy(108),
        P::new(9, "newbie"),
    ]);
    let store = Store::directory();
    let csv = format!(
        "ID,Username,Email,Password\n\
         ,,nouser@example.com,{SHA1}\n\
         ,amy,,{SHA1}\n\
         x1,amy,amy@example.com,{SHA1}\n\
         999,nobody,nobody@example.com,{SHA1}\n\
         ,chris,chris@example.com,{SHA1}\n\
         103,gone,gone@example.com,{SHA1}\n\
         101,hhutch,h@example.com,{SHA1}\n\
         101,hhutch,h2@example.com,{SHA1}\n\
         104,amy,not-an-email,{SHA1}\n\
         ,Sam,sam1@example.com,{SHA1}\n\
         ,sam,sam2@example.com,{SHA1}\n\
         108,zed,zed@example.com,NOT-A-HASH\n\
         ,newbie,newbie@example.com,{SHA1}\n"
    );
    let (run, j) = import(&repo, &store, csv.as_bytes(), &[]);
    assert_eq!(run.code, 1, "ambiguous rows need a person to look");
    let reasons: Vec<serde_json::Value> = run
        .lines()
        .iter()
        .map(|l| json!([l["line"], l["outcome"], l["reason"]]))
        .collect();
    assert_eq!(
        reasons,
        [
            json!([2, "skipped", "noUsername"]),
            json!([3, "skipped", "noEmail"]),
            json!([4, "skipped", "badId"]),
            json!([5, "skipped", "noPersonMatch"]),
            json!([6, "skipped", "ambiguousMatch"]),
            json!([7, "skipped", "deletedPerson"]),
            json!([8, "imported", null]),
            json!([9, "skipped", "duplicatePersonId"]),
            json!([10, "skipped", "invalidEmail"]),
            json!([11, "skipped", "ambiguousMatch"]),
            json!([12, "skipped", "ambiguousMatch"]),
            json!([13, "imported", null]),
            json!([14, "skipped", "notLegacyPerson"]),
        ]
    );
    let lines = run.lines();
    assert_eq!(
        lines[4]["candidates"],
        json!(["chris", "chris-2"]),
        "a de-duplicated slug makes the username ambiguous"
    );
    assert_eq!(
        lines[9]["candidates"],
        json!(["sam"]),
        "two usernames normalising alike are a collision"
    );
    assert_eq!(lines[11]["credential"], "unrecognisedHashFormat");
    assert_eq!(lines[11]["profile"], "created");
    assert_eq!(
        j["skipped"],
        json!({"ambiguousMatch": 3, "badId": 1, "deletedPerson": 1, "duplicatePersonId": 1, "invalidEmail": 1, "noEmail": 1, "noPersonMatch": 1, "noUsername": 1, "notLegacyPerson": 1})
    );
    assert_eq!(
        (j["inputRows"].clone(), j["unrecognisedHashRows"].clone()),
        (json!(13), json!(1))
    );
    for s in ["skipped noUsername: 1", "skipped ambiguousMatch: 3"] {
        assert!(run.stderr.contains(s), "{}", run.stderr);
    }
    assert_no_secrets(
        &run,
        &j,
        &["@example.com", SHA1, "NOT-A-HASH", "not-an-email"],
    );
    let creds = store.store.load::<Credential>().unwrap();
    assert_eq!(
        creds
            .iter()
            .map(|c| c.person_id().to_owned())
            .collect::<Vec<_>>(),
        [uuid(1)]
    );
}

fn merge_never_clobbers(store: &Store) {
    let repo = Repo::new(&[
        P::new(1, "used").legacy(1),
        P::new(2, "rehashed").legacy(2),
        P::new(3, "stale").legacy(3),
        P::new(4, "same").legacy(4),
        P::new(5, "fresh").legacy(5),
    ]);
    let argon = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo";
    let existing_profile = profile_line(1, "refreshed-from-github@example.com", "null");
    store.put("profiles.jsonl", &format!("{existing_profile}\n"));
    let existing = [
        cred_line(1, SHA1, Some("2026-08-10T09:00:00.000Z")),
        cred_line(2, argon, None),
        cred_line(3, "0000000000000000000000000000000000000000", None),
        cred_line(4, BCRYPT, None),
    ];
    store.put("legacy-passwords.jsonl", &(existing.join("\n") + "\n"));
    let new_hash = "1111111111111111111111111111111111111111";
    let csv = format!(
        "ID,Username,Email,Password\n1,used,used@example.com,{new_hash}\n2,rehashed,r@example.com,{new_hash}\n3,stale,s@example.com,{new_hash}\n4,same,same@example.com,{BCRYPT}\n5,fresh,f@example.com,{new_hash}\n"
    );

    // Dry run: the same report, nothing written.
    let before = (
        store.raw("profiles.jsonl"),
        store.raw("legacy-passwords.jsonl"),
    );
    let (dry, jd) = import(&repo, store, csv.as_bytes(), &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert_eq!(
        (
            store.raw("profiles.jsonl"),
            store.raw("legacy-passwords.jsonl")
        ),
        before,
        "dry run wrote"
    );
    assert_eq!(jd["dryRun"], true);
    assert_eq!(jd["profilesLocation"], serde_json::Value::Null);
    assert!(dry.stderr.contains("dry run, nothing written"));

    let (run, j) = import(&repo, store, csv.as_bytes(), &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let actions: Vec<_> = run
        .lines()
        .iter()
        .map(|l| json!([l["slug"], l["profile"], l["credential"]]))
        .collect();
    assert_eq!(
        actions,
        [
            json!(["used", "kept", "keptUsed"]),
            json!(["rehashed", "created", "keptArgon2id"]),
            json!(["stale", "created", "replaced"]),
            json!(["same", "created", "unchanged"]),
            json!(["fresh", "created", "created"]),
        ]
    );
    assert_eq!(
        jd["credentialsReplaced"], j["credentialsReplaced"],
        "the dry run reports what the run does"
    );
    let creds = store.store.load::<Credential>().unwrap();
    assert_eq!(creds.get(&uuid(1)).unwrap().password_hash(), SHA1);
    assert_eq!(
        creds.get(&uuid(1)).unwrap().last_used_at(),
        Some("2026-08-10T09:00:00.000Z")
    );
    assert_eq!(creds.get(&uuid(2)).unwrap().password_hash(), argon);
    assert_eq!(creds.get(&uuid(3)).unwrap().password_hash(), new_hash);
    assert_eq!(creds.get(&uuid(5)).unwrap().password_hash(), new_hash);
    // The existing profile is kept byte for byte (its email was refreshed by the API).
    assert_eq!(
        store.raw("profiles.jsonl").lines().next().unwrap(),
        existing_profile
    );
    // Untouched credential lines are byte for byte the same.
    let text = store.raw("legacy-passwords.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], existing[0]);
    assert_eq!(lines[1], existing[1]);
    assert_eq!(lines[3], existing[3]);
    assert_no_secrets(
        &run,
        &j,
        &["@example.com", SHA1, new_hash, "$argon2id$", "$2y$"],
    );

    // Re-running is a no-op.
    let (again, j2) = import(&repo, store, csv.as_bytes(), &[]);
    assert_eq!(again.code, 0);
    assert_eq!(
        (
            j2["profilesCreated"].clone(),
            j2["credentialsCreated"].clone(),
            j2["credentialsReplaced"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
}

#[test]
fn merge_never_clobbers_used_or_rehashed_directory() {
    merge_never_clobbers(&Store::directory());
}

#[test]
fn merge_never_clobbers_used_or_rehashed_s3() {
    let moto = MotoServer::start();
    merge_never_clobbers(&Store::s3(&moto, "import"));
}

#[test]
fn duplicate_email_is_flagged_without_showing_it() {
    let repo = Repo::new(&[P::new(1, "a").legacy(1), P::new(2, "b").legacy(2)]);
    let store = Store::directory();
    let csv = format!(
        "ID,Username,Email,Password\n1,a,Shared@example.com,{SHA1}\n2,b,shared@example.com,{SHA1}\n"
    );
    let (run, j) = import(&repo, &store, csv.as_bytes(), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(j["duplicateEmailRows"], 1);
    assert_eq!(run.lines()[1]["duplicateEmail"], true);
    assert_no_secrets(&run, &j, &["hared@example.com"]);
}

#[test]
fn missing_header_column_is_fatal() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("bad.csv");
    fs::write(&input, "User,Email,Password\nx,y,z\n").unwrap();
    let store = Store::directory();
    let run = reconcile(
        &Repo::new(&[]),
        &store,
        &[
            "import-credentials",
            &format!("--input={}", input.display()),
        ],
    );
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("bad.csv: line 1:") && run.stderr.contains("Username"),
        "{}",
        run.stderr
    );
    assert_eq!(
        store.store.read_raw("profiles.jsonl").unwrap(),
        None,
        "nothing written"
    );
}
