//! `reconcile` (check): the reference cases of `reference/D` §7, the new categories and `--fix`,
//! on real bare repos and both store backends.

mod common;

use common::*;
use private_store::testing::MotoServer;
use serde_json::json;

fn report(repo: &Repo, store: &Store, extra: &[&str]) -> (Run, serde_json::Value) {
    let out = tempfile::NamedTempFile::new().unwrap();
    let mut args = vec![format!("--json={}", out.path().display())];
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
    let j = read_json(out.path());
    (run, j)
}

const EMPTY_LISTS: &[&str] = &[
    "orphanPublic",
    "orphanPrivate",
    "inconsistentNewsletter",
    "drainedLegacyPasswords",
    "profilesOfDeletedPersons",
    "credentialsWithoutPerson",
    "credentialsOfDeletedPersons",
    "credentialsWithoutProfile",
    "duplicateEmails",
    "unrecognisedPasswordHashes",
    "danglingReferences",
];

fn assert_only(j: &serde_json::Value, nonempty: &[&str]) {
    for k in EMPTY_LISTS {
        if !nonempty.contains(k) {
            assert_eq!(j[k], json!([]), "{k} should be empty: {j:#}");
        }
    }
}

#[test]
fn person_without_profile_is_orphan_public() {
    let alice = P::new(1, "alice");
    let (run, j) = report(
        &Repo::new(std::slice::from_ref(&alice)),
        &Store::directory(),
        &[],
    );
    assert_eq!(run.code, 1);
    assert_eq!(j["publicPeopleCount"], 1);
    assert_eq!(
        j["orphanPublic"],
        json!([{"personId": alice.id(), "slug": "alice"}])
    );
    assert_only(&j, &["orphanPublic"]);
    assert_eq!(
        run.lines(),
        [json!({"v":1,"category":"orphanPublic","personId":alice.id(),"slug":"alice"})]
    );
    assert!(
        run.stderr
            .contains("=== reconcile report (2026-08-15T12:00:00.000Z) ==="),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("  - alice (01951a3c-0000-7000-8000-000000000001)"),
        "{}",
        run.stderr
    );
}

#[test]
fn profile_without_person_is_orphan_private() {
    let store = Store::directory();
    store.put(
        "profiles.jsonl",
        &(profile_line(9, "ghost@example.com", "null") + "\n"),
    );
    let (run, j) = report(&Repo::new(&[]), &store, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(j["privateProfileCount"], 1);
    assert_eq!(j["orphanPrivate"], json!([{"personId": uuid(9)}]));
    assert_only(&j, &["orphanPrivate"]);
    assert!(!run.stdout.contains("ghost@"), "no email on stdout");
}

fn newsletter_fix(store: &Store) {
    let bob = P::new(2, "bob");
    let repo = Repo::new(std::slice::from_ref(&bob));
    let line = profile_line(
        2,
        "bob@example.com",
        r#"{"optedIn":true,"optedInAt":"2026-08-01T00:00:00.000Z"}"#,
    );
    store.put("profiles.jsonl", &format!("{line}\n"));
    let (run, j) = report(&repo, store, &[]);
    assert_eq!(run.code, 1);
    assert_eq!(
        j["inconsistentNewsletter"],
        json!([{"personId": bob.id(), "reason": "opted_in_without_token"}])
    );
    assert_eq!(
        j["fixesApplied"],
        json!({"newsletterTokens": 0, "legacyPasswordsDeleted": 0})
    );
    assert_eq!(
        store.raw("profiles.jsonl"),
        format!("{line}\n"),
        "a check without --fix writes nothing"
    );

    let (run, j) = report(&repo, store, &["--fix"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        j["inconsistentNewsletter"].as_array().unwrap().len(),
        1,
        "lists show what was found before fixing"
    );
    assert_eq!(j["fixesApplied"]["newsletterTokens"], 1);
    assert_eq!(j["unresolved"], 0);
    assert_eq!(run.lines()[0]["fixed"], true);
    let t = store.store.load::<private_store::Profile>().unwrap();
    let p = t.get(&bob.id()).unwrap();
    let tok = p.newsletter().unwrap().unsubscribe_token.clone().unwrap();
    assert!(private_store::validate::is_unsubscribe_token(&tok), "{tok}");
    let text = store.raw("profiles.jsonl");
    assert!(
        text.contains(r#""updatedAt":"2026-08-15T12:00:00.000Z""#),
        "{text}"
    );
    // A second run finds nothing left to fix.
    let (run, j) = report(&repo, store, &["--fix"]);
    assert_eq!(
        (run.code, j["fixesApplied"]["newsletterTokens"].clone()),
        (0, json!(0))
    );
}

#[test]
fn opted_in_without_token_is_fixed_directory() {
    newsletter_fix(&Store::directory());
}

#[test]
fn opted_in_without_token_is_fixed_s3() {
    let moto = MotoServer::start();
    newsletter_fix(&Store::s3(&moto, "newsletter"));
}

#[test]
fn token_without_optin_payload_is_reported_not_fixed() {
    let repo = Repo::new(&[P::new(3, "dora")]);
    let store = Store::directory();
    let tok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456";
    let line = profile_line(
        3,
        "d@example.com",
        &format!(r#"{{"optedIn":false,"unsubscribeToken":"{tok}"}}"#),
    );
    store.put("profiles.jsonl", &format!("{line}\n"));
    let (run, j) = report(&repo, &store, &["--fix"]);
    assert_eq!(run.code, 1);
    assert_eq!(
        j["inconsistentNewsletter"],
        json!([{"personId": uuid(3), "reason": "token_without_optin_payload"}])
    );
    assert_eq!(j["fixesApplied"]["newsletterTokens"], 0);
    assert_eq!(store.raw("profiles.jsonl"), format!("{line}\n"));
}

fn drained(store: &Store) {
    let carol = P::new(4, "carol").github(99001);
    let repo = Repo::new(std::slice::from_ref(&carol));
    store.put(
        "profiles.jsonl",
        &(profile_line(4, "carol@example.com", "null") + "\n"),
    );
    store.put(
        "legacy-passwords.jsonl",
        &(cred_line(4, "$2y$12$abcdefghijklmnopqrstuv", None) + "\n"),
    );
    let (run, j) = report(&repo, store, &["--fix"]);
    // Drained credentials are for review: they do not fail the gate, and --fix leaves them.
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(j["legacyPasswordCount"], 1);
    assert_eq!(
        j["drainedLegacyPasswords"],
        json!([{"personId": carol.id(), "slug": "carol", "githubUserId": 99001}])
    );
    assert_eq!(j["fixesApplied"]["legacyPasswordsDeleted"], 0);
    assert_eq!(run.lines()[0]["fixed"], false);
    assert!(!store.raw("legacy-passwords.jsonl").is_empty());

    let (run, j) = report(&repo, store, &["--fix-drained"]);
    assert_eq!(run.code, 0);
    assert_eq!(j["legacyPasswordCount"], 1, "counted before fixes");
    assert_eq!(j["fixesApplied"]["legacyPasswordsDeleted"], 1);
    assert_eq!(store.raw("legacy-passwords.jsonl"), "");
    assert!(!run.stdout.contains("$2y$"), "no hash on stdout");
}

#[test]
fn drained_credential_deleted_only_with_fix_drained_directory() {
    drained(&Store::directory());
}

#[test]
fn drained_credential_deleted_only_with_fix_drained_s3() {
    let moto = MotoServer::start();
    drained(&Store::s3(&moto, "drained"));
}

#[test]
fn empty_repo_and_store_report_nothing() {
    let (run, j) = report(&Repo::new(&[]), &Store::directory(), &[]);
    assert_eq!(run.code, 0);
    assert_eq!(
        (
            j["publicPeopleCount"].clone(),
            j["privateProfileCount"].clone(),
            j["legacyPasswordCount"].clone()
        ),
        (json!(0), json!(0), json!(0))
    );
    assert_only(&j, &[]);
    assert_eq!(run.stdout, "");
    assert_eq!(
        j["fixesApplied"],
        json!({"newsletterTokens": 0, "legacyPasswordsDeleted": 0})
    );
    assert_eq!(
        (j["unresolved"].clone(), j.as_object().unwrap().len()),
        (json!(0), 17)
    );
}

#[test]
fn reference_key_order_in_the_json_file() {
    let out = tempfile::NamedTempFile::new().unwrap();
    let run = reconcile(
        &Repo::new(&[]),
        &Store::directory(),
        &[&format!("--json={}", out.path().display())],
    );
    assert_eq!(run.code, 0);
    let text = std::fs::read_to_string(out.path()).unwrap();
    let keys = [
        "runAt",
        "publicPeopleCount",
        "privateProfileCount",
        "legacyPasswordCount",
        "orphanPublic",
        "orphanPrivate",
        "inconsistentNewsletter",
        "drainedLegacyPasswords",
        "fixesApplied",
    ];
    let pos: Vec<usize> = keys
        .iter()
        .map(|k| text.find(&format!("\"{k}\"")).unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{text}");
    assert!(
        text.starts_with("{\n  \"runAt\": \"2026-08-15T12:00:00.000Z\",") && text.ends_with("}\n"),
        "{text}"
    );
}

#[test]
fn new_categories_are_reported_apart_and_do_not_gate() {
    let live = P::new(10, "erin");
    let gone = P::new(11, "frank").deleted();
    let twin = P::new(12, "gina");
    let repo = Repo::new(&[live.clone(), gone.clone(), twin.clone()]);
    let store = Store::directory();
    store.put(
        "profiles.jsonl",
        &[
            profile_line(10, "Same@Example.com", "null"),
            profile_line(11, "frank@example.com", "null"),
            profile_line(12, "same@example.com", "null"),
        ]
        .join("\n"),
    );
    store.put(
        "legacy-passwords.jsonl",
        &[
            cred_line(10, "7746451f00000000000000000000000000000000", None),
            cred_line(11, "$2y$12$abcdefghijklmnopqrstuv", None),
            cred_line(13, "$2b$12$abcdefghijklmnopqrstuv", None),
            cred_line(12, "7746451F00000000000000000000000000000000", None),
        ]
        .join("\n"),
    );
    let (run, j) = report(&repo, &store, &[]);
    assert_eq!(run.code, 0, "only review categories: {}", run.stderr);
    assert_eq!(j["publicPeopleCount"], 2);
    assert_eq!(
        j["orphanPrivate"],
        json!([]),
        "a deleted Person's profile is not a true orphan"
    );
    assert_eq!(
        j["profilesOfDeletedPersons"],
        json!([{"personId": gone.id(), "slug": "frank"}])
    );
    assert_eq!(
        j["credentialsWithoutPerson"],
        json!([{"personId": uuid(13)}])
    );
    assert_eq!(
        j["credentialsOfDeletedPersons"],
        json!([{"personId": gone.id(), "slug": "frank"}])
    );
    assert_eq!(
        j["duplicateEmails"],
        json!([{"personIds": [live.id(), twin.id()], "slugs": ["erin", "gina"]}])
    );
    assert_eq!(
        j["unrecognisedPasswordHashes"],
        json!([{"personId": twin.id(), "slug": "gina"}])
    );
    assert_eq!(j["credentialsWithoutProfile"], json!([]));
    let categories: Vec<String> = run
        .lines()
        .iter()
        .map(|l| l["category"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        categories,
        [
            "profilesOfDeletedPersons",
            "credentialsWithoutPerson",
            "credentialsOfDeletedPersons",
            "duplicateEmails",
            "unrecognisedPasswordHashes"
        ]
    );
    for secret in ["same@example.com", "Same@", "7746451", "$2y$", "$2b$"] {
        assert!(
            !run.stdout.contains(secret) && !run.stderr.contains(secret),
            "{secret} leaked"
        );
        assert!(
            !serde_json::to_string(&j).unwrap().contains(secret),
            "{secret} leaked into the report"
        );
    }
}

#[test]
fn credential_without_profile_is_listed() {
    let repo = Repo::new(&[P::new(20, "hank")]);
    let store = Store::directory();
    store.put(
        "legacy-passwords.jsonl",
        &cred_line(20, "$2y$12$abcdefghijklmnopqrstuv", None),
    );
    let (run, j) = report(&repo, &store, &[]);
    assert_eq!(run.code, 1, "hank has no profile: orphanPublic");
    assert_eq!(
        j["credentialsWithoutProfile"],
        json!([{"personId": uuid(20), "slug": "hank"}])
    );
}

#[test]
fn bad_store_line_is_fatal_and_named() {
    let store = Store::directory();
    store.put(
        "profiles.jsonl",
        &format!("{}\nnot json\n", profile_line(1, "a@example.com", "null")),
    );
    let run = reconcile(&Repo::new(&[P::new(1, "alice")]), &store, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("profiles.jsonl:2: not a JSON object"),
        "{}",
        run.stderr
    );
}

#[test]
fn unknown_storage_backend_is_fatal() {
    let mut store = Store::directory();
    store.env[0].1 = "s4".into();
    let run = reconcile(&Repo::new(&[]), &store, &[]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("unknown STORAGE_BACKEND \"s4\""),
        "{}",
        run.stderr
    );
}

#[test]
fn closed_stdout_ends_quietly() {
    let people: Vec<P> = (1..=3000)
        .map(|n| P {
            n,
            slug: Box::leak(format!("p{n}").into_boxed_str()),
            ..P::default()
        })
        .collect();
    let repo = Repo::new(&people);
    let store = Store::directory();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .arg(format!("--data-repo={}", repo.path().display()))
        .envs(store.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Read one line, then close the pipe, as `| head -1` does.
    let mut first = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut first,
    )
    .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(first.contains("orphanPublic"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!String::from_utf8_lossy(&out.stderr).contains("error"));
}

/// A write by someone else between the tool's read and its write makes the tool stop with
/// nothing overwritten. Deterministic: `legacy-passwords.jsonl` is a FIFO, so the tool blocks
/// right after reading `profiles.jsonl`; the test changes the profiles then, and only then lets
/// the tool go on.
#[test]
fn concurrent_writer_makes_fix_stop_with_nothing_overwritten() {
    use std::io::Write;
    let bob = P::new(2, "bob");
    let repo = Repo::new(std::slice::from_ref(&bob));
    let store = Store::directory();
    let dir = store.dir.as_ref().unwrap().path().to_owned();
    let line = profile_line(
        2,
        "bob@example.com",
        r#"{"optedIn":true,"optedInAt":"2026-08-01T00:00:00.000Z"}"#,
    );
    store.put("profiles.jsonl", &format!("{line}\n"));
    let fifo = dir.join("legacy-passwords.jsonl");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .args(["--fix", &format!("--data-repo={}", repo.path().display())])
        .envs(store.env.iter().map(|(k, v)| (*k, v.as_str())))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Opening the FIFO for writing returns once the tool has opened it, i.e. after its read of
    // profiles.jsonl.
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    let theirs = format!("{line}\n{}\n", profile_line(3, "new@example.com", "null"));
    std::fs::write(dir.join("profiles.jsonl"), &theirs).unwrap();
    w.write_all(b"").unwrap();
    drop(w);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("profiles.jsonl changed since it was read")
            && stderr.contains("nothing was written"),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("profiles.jsonl")).unwrap(),
        theirs,
        "the other writer's data is intact"
    );
    let temps = std::fs::read_dir(&dir)
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".tmp")
        })
        .count();
    assert_eq!(temps, 0);
}

/// A record of the runtime branch that references no record gates the check, whoever wrote
/// it; each is named by path, field and value.
#[test]
fn dangling_references_gate() {
    let alice = P::new(1, "alice");
    let gone = uuid(99);
    let membership = format!(
        "id = \"{}\"\npersonId = \"{gone}\"\npersonSlug = \"ghost\"\nprojectSlug = \"p\"\n",
        uuid(50)
    );
    let ok = format!(
        "id = \"{}\"\npersonId = \"{}\"\npersonSlug = \"alice\"\nprojectSlug = \"p\"\n",
        uuid(51),
        alice.id()
    );
    let config =
        "[gitsheet]\nroot = 'project-memberships'\npath = '${{ projectSlug }}/${{ personSlug }}'\n";
    let repo = Repo::with_files(
        std::slice::from_ref(&alice),
        &[
            (".gitsheets/project-memberships.toml", config),
            ("project-memberships/p/ghost.toml", &membership),
            ("project-memberships/p/alice.toml", &ok),
        ],
    );
    let store = Store::directory();
    store.put(
        "profiles.jsonl",
        &(profile_line(1, "alice@example.org", "null") + "\n"),
    );
    let (run, j) = report(&repo, &store, &[]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert_only(&j, &["danglingReferences"]);
    assert_eq!(
        j["danglingReferences"],
        json!([{"path": "project-memberships/p/ghost.toml", "field": "personId", "value": gone, "target": "people"}])
    );
    assert_eq!(j["unresolved"], 1);
    let lines = run.lines();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["category"], "danglingReferences");
    assert!(
        run.stderr.contains("danglingReferences [gate]: 1"),
        "{}",
        run.stderr
    );
}
