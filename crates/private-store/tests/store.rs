//! The private store against both real backends: a temp directory and a moto S3 server.

use std::fs;
use std::process::Command;

use private_store::testing::{MotoServer, raw_delete, raw_put};
use private_store::{Credential, Error, PrivateStore, Profile, Table};

const P1: &str = "01951a3c-0000-7000-8000-000000000001";
const P2: &str = "01951a3c-0000-7000-8000-000000000002";
const NOW: &str = "2026-08-15T12:00:00.000Z";

/// A profile line with fields the schema does not know, a nested unknown and non-canonical number
/// text: all must come back byte for byte.
fn profile_line(id: &str, email: &str) -> String {
    format!(
        r#"{{"personId":"{id}","email":"{email}","emailRefreshedAt":"2026-08-01T00:00:00.000Z","newsletter":{{"optedIn":false,"futureFlag":{{"b":1,"a":2}}}},"updatedAt":"2026-08-01T00:00:00.000Z","source":"laddr","score":1.50}}"#
    )
}

/// Everything a backend must do, run against each one.
fn exercise(store: &PrivateStore) {
    // Absent object = empty table; saving it creates an empty (zero-byte) object.
    let mut creds: Table<Credential> = store.load().unwrap();
    assert!(creds.is_empty());
    creds.upsert(Credential::new(P1, "$2y$12$abcdefghijklmnopqrstuv", NOW).unwrap());
    store.save(&mut creds).unwrap();
    // A second save from the same handle follows its own version.
    creds.upsert(Credential::new(P2, "7746451f00000000000000000000000000000000", NOW).unwrap());
    store.save(&mut creds).unwrap();
    let back: Table<Credential> = store.load().unwrap();
    assert_eq!(back.len(), 2);
    assert_eq!(
        back.get(P2).unwrap().hash_format(),
        private_store::HashFormat::Sha1
    );
    assert_eq!(back.get(P1).unwrap().last_used_at(), None);
    assert_eq!(
        String::from_utf8(store.read_raw("legacy-passwords.jsonl").unwrap().unwrap()).unwrap(),
        format!(
            "{{\"personId\":\"{P1}\",\"passwordHash\":\"$2y$12$abcdefghijklmnopqrstuv\",\"importedAt\":\"{NOW}\",\"lastUsedAt\":null}}\n\
             {{\"personId\":\"{P2}\",\"passwordHash\":\"7746451f00000000000000000000000000000000\",\"importedAt\":\"{NOW}\",\"lastUsedAt\":null}}\n"
        )
    );

    let mut all: Table<Credential> = store.load().unwrap();
    all.remove(P1);
    all.remove(P2);
    store.save(&mut all).unwrap();
    assert_eq!(
        store.read_raw("legacy-passwords.jsonl").unwrap().unwrap(),
        b""
    );
}

#[test]
fn directory_backend_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    exercise(&PrivateStore::directory(dir.path().join("nested/private")));
}

#[test]
fn s3_backend_round_trip() {
    let moto = MotoServer::start();
    exercise(&moto.store("round-trip"));
}

fn write_profiles(store_dir: &std::path::Path, content: &str) {
    fs::create_dir_all(store_dir).unwrap();
    fs::write(store_dir.join("profiles.jsonl"), content).unwrap();
}

fn unknown_fields_survive(store: &PrivateStore, put: impl Fn(&str)) {
    // Blank and whitespace lines are skipped; a repeated key keeps its first place, last value.
    let original = format!(
        "{}\n\n  \n{}\n",
        profile_line(P1, "a@example.com"),
        profile_line(P2, "b@example.com")
    );
    put(&original);
    let mut t: Table<Profile> = store.load().unwrap();
    assert_eq!(t.len(), 2);
    store.save(&mut t).unwrap();
    let expected = format!(
        "{}\n{}\n",
        profile_line(P1, "a@example.com"),
        profile_line(P2, "b@example.com")
    );
    assert_eq!(
        String::from_utf8(store.read_raw("profiles.jsonl").unwrap().unwrap()).unwrap(),
        expected
    );
    // A modified record keeps its unknown fields and position.
    let tok = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456";
    let p = t.get_mut(P1).unwrap();
    assert!(p.set_unsubscribe_token(tok, NOW));
    assert_eq!(
        p.newsletter().unwrap().unsubscribe_token.as_deref(),
        Some(tok)
    );
    store.save(&mut t).unwrap();
    let text = String::from_utf8(store.read_raw("profiles.jsonl").unwrap().unwrap()).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.contains(r#""futureFlag":{"b":1,"a":2},"unsubscribeToken":""#),
        "{first}"
    );
    assert!(
        first.ends_with(r#""updatedAt":"2026-08-15T12:00:00.000Z","source":"laddr","score":1.50}"#),
        "{first}"
    );
    assert_eq!(
        text.lines().nth(1).unwrap(),
        profile_line(P2, "b@example.com")
    );
}

#[test]
fn unknown_fields_survive_a_rewrite_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = PrivateStore::directory(dir.path());
    unknown_fields_survive(&store, |c| write_profiles(dir.path(), c));
}

#[test]
fn unknown_fields_survive_a_rewrite_s3() {
    let moto = MotoServer::start();
    let cfg = moto.bucket("unknown-fields");
    let store = PrivateStore::s3(&cfg).unwrap();
    unknown_fields_survive(&store, |c| raw_put(&cfg, "profiles.jsonl", c.as_bytes()));
}

fn bad_line_error(store: &PrivateStore, put: impl Fn(&str), location_suffix: &str) {
    let cases = [
        ("{\"personId\":", "not a JSON object"),
        ("[1,2]", "not a JSON object"),
        (
            r#"{"personId":"nope","email":"a@example.com","emailRefreshedAt":"2026-08-01T00:00:00Z","updatedAt":"2026-08-01T00:00:00Z"}"#,
            "not a UUID",
        ),
        (
            r#"{"personId":"01951a3c-0000-7000-8000-000000000009","email":"not-an-email","emailRefreshedAt":"2026-08-01T00:00:00Z","updatedAt":"2026-08-01T00:00:00Z"}"#,
            "not a valid email",
        ),
        (
            r#"{"personId":"01951a3c-0000-7000-8000-000000000009","email":"a@example.com","emailRefreshedAt":"yesterday","updatedAt":"2026-08-01T00:00:00Z"}"#,
            "emailRefreshedAt",
        ),
    ];
    for (bad, why) in cases {
        put(&format!("{}\n\n{bad}\n", profile_line(P1, "a@example.com")));
        let err = store.load::<Profile>().unwrap_err();
        let msg = err.to_string();
        assert!(matches!(err, Error::BadLine { line: 3, .. }), "{msg}");
        assert!(msg.contains(&format!("{location_suffix}:3: ")), "{msg}");
        assert!(msg.contains(why), "{msg} should say {why}");
    }
}

#[test]
fn bad_line_names_file_and_line_directory() {
    let dir = tempfile::tempdir().unwrap();
    let store = PrivateStore::directory(dir.path());
    let suffix = dir.path().join("profiles.jsonl").display().to_string();
    bad_line_error(&store, |c| write_profiles(dir.path(), c), &suffix);
    // Credentials file too.
    fs::write(
        dir.path().join("legacy-passwords.jsonl"),
        format!("{{\"personId\":\"{P1}\",\"passwordHash\":\"\",\"importedAt\":\"{NOW}\"}}\n"),
    )
    .unwrap();
    let msg = store.load::<Credential>().unwrap_err().to_string();
    assert!(
        msg.contains("legacy-passwords.jsonl:1: ") && msg.contains("passwordHash"),
        "{msg}"
    );
}

#[test]
fn bad_line_names_file_and_line_s3() {
    let moto = MotoServer::start();
    let cfg = moto.bucket("bad-lines");
    let store = PrivateStore::s3(&cfg).unwrap();
    // Raw bad content has to go in with a plain PUT (our writer never produces bad lines).
    let put = |content: &str| raw_put(&cfg, "profiles.jsonl", content.as_bytes());
    bad_line_error(
        &store,
        put,
        &format!("s3 {}/bad-lines/profiles.jsonl", cfg.endpoint),
    );
}

fn conflict_stops_the_writer(store_a: &PrivateStore, store_b: &PrivateStore) {
    // Absent object: two writers both think they create it; the second must stop.
    let mut a: Table<Credential> = store_a.load().unwrap();
    let mut b: Table<Credential> = store_b.load().unwrap();
    a.upsert(Credential::new(P1, "$2y$12$aaaaaaaaaaaaaaaaaaaaaa", NOW).unwrap());
    b.upsert(Credential::new(P2, "$2y$12$bbbbbbbbbbbbbbbbbbbbbb", NOW).unwrap());
    store_a.save(&mut a).unwrap();
    let err = store_b.save(&mut b).unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("legacy-passwords.jsonl changed since it was read"),
        "{err}"
    );
    let after_create = store_a.read_raw("legacy-passwords.jsonl").unwrap().unwrap();

    // Existing object: B reads, A writes in between, B's write is refused and A's data stays.
    let mut b: Table<Credential> = store_b.load().unwrap();
    b.remove(P1);
    let mut a: Table<Credential> = store_a.load().unwrap();
    a.upsert(Credential::new(P2, "$2y$12$cccccccccccccccccccccc", NOW).unwrap());
    store_a.save(&mut a).unwrap();
    let a_bytes = store_a.read_raw("legacy-passwords.jsonl").unwrap().unwrap();
    assert_ne!(a_bytes, after_create);
    let err = store_b.save(&mut b).unwrap_err();
    assert!(matches!(err, Error::Conflict { .. }), "{err}");
    assert_eq!(
        store_a.read_raw("legacy-passwords.jsonl").unwrap().unwrap(),
        a_bytes,
        "nothing overwritten"
    );
    // After a fresh read the write goes through.
    let mut b: Table<Credential> = store_b.load().unwrap();
    b.remove(P1);
    store_b.save(&mut b).unwrap();
    let left: Table<Credential> = store_a.load().unwrap();
    assert_eq!(left.iter().map(|c| c.person_id()).collect::<Vec<_>>(), [P2]);
}

#[test]
fn concurrent_write_conflict_directory() {
    let dir = tempfile::tempdir().unwrap();
    conflict_stops_the_writer(
        &PrivateStore::directory(dir.path()),
        &PrivateStore::directory(dir.path()),
    );
    // No temp files are left behind by the refused writes.
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["legacy-passwords.jsonl"]);
}

#[test]
fn concurrent_write_conflict_s3_etag() {
    let moto = MotoServer::start();
    let cfg = moto.bucket("conflict");
    conflict_stops_the_writer(
        &PrivateStore::s3(&cfg).unwrap(),
        &PrivateStore::s3(&cfg).unwrap(),
    );
}

#[test]
fn s3_object_deleted_since_read_is_a_conflict() {
    let moto = MotoServer::start();
    let cfg = moto.bucket("deleted");
    let store = PrivateStore::s3(&cfg).unwrap();
    let mut t: Table<Credential> = store.load().unwrap();
    store.save(&mut t).unwrap();
    let mut stale: Table<Credential> = store.load().unwrap();
    raw_delete(&cfg, "legacy-passwords.jsonl");
    stale.upsert(Credential::new(P1, "$2y$12$aaaaaaaaaaaaaaaaaaaaaa", NOW).unwrap());
    assert!(matches!(
        store.save(&mut stale),
        Err(Error::Conflict { .. })
    ));
    assert_eq!(store.read_raw("legacy-passwords.jsonl").unwrap(), None);
}

#[test]
fn s3_errors_name_the_object() {
    let moto = MotoServer::start();
    let mut cfg = moto.bucket("exists");
    cfg.bucket = "no-such-bucket".into();
    let err = PrivateStore::s3(&cfg)
        .unwrap()
        .load::<Profile>()
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("no-such-bucket/profiles.jsonl") && err.contains("NoSuchBucket"),
        "{err}"
    );
}

#[test]
fn backend_is_chosen_by_storage_backend() {
    let env = |pairs: &'static [(&'static str, &'static str)]| {
        move |k: &str| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        }
    };
    assert!(
        PrivateStore::from_lookup(env(&[
            ("STORAGE_BACKEND", "filesystem"),
            ("CFP_PRIVATE_STORAGE_PATH", "/x")
        ]))
        .is_ok()
    );
    let e = |pairs| {
        PrivateStore::from_lookup(env(pairs))
            .err()
            .unwrap()
            .to_string()
    };
    assert!(e(&[("STORAGE_BACKEND", "fs")]).contains("unknown STORAGE_BACKEND \"fs\""));
    assert!(e(&[]).contains("STORAGE_BACKEND must be set"));
    assert!(
        e(&[("STORAGE_BACKEND", "filesystem")]).contains("CFP_PRIVATE_STORAGE_PATH must be set")
    );
    assert!(
        e(&[
            ("STORAGE_BACKEND", "s3"),
            ("S3_ENDPOINT", "http://127.0.0.1:1"),
            ("S3_BUCKET", "b")
        ])
        .contains("S3_ACCESS_KEY_ID must be set")
    );
    let all_s3: &[(&str, &str)] = &[
        ("STORAGE_BACKEND", "s3"),
        ("S3_ENDPOINT", "ftp://x"),
        ("S3_BUCKET", "b"),
        ("S3_ACCESS_KEY_ID", "k"),
        ("S3_SECRET_ACCESS_KEY", "s"),
        ("S3_REGION", "r"),
    ];
    assert!(e(all_s3).contains("S3_ENDPOINT"));
}

/// A crash mid-write: a child process writes a large profiles file under a file-size limit
/// (`ulimit -f`), so the kernel kills it with SIGXFSZ part way through the temp file. The old
/// file must still be there, whole.
#[test]
fn crash_mid_write_leaves_old_file_whole() {
    let dir = tempfile::tempdir().unwrap();
    let old = format!("{}\n", profile_line(P1, "a@example.com"));
    write_profiles(dir.path(), &old);
    let exe = std::env::current_exe().unwrap();
    // The child's output goes to pipes: the limit applies to every regular file it writes,
    // and a test log it inherited (already over the limit) would kill it at its first line.
    let child = Command::new("sh")
        .arg("-c")
        // 64 blocks of 512 bytes: far less than the ~2 MB the child writes.
        .arg("ulimit -f 64; exec \"$0\" --exact crash_child_writes_big_file --include-ignored --nocapture")
        .arg(&exe)
        .env("PRIVATE_STORE_CRASH_DIR", dir.path())
        .output()
        .unwrap();
    assert!(
        !child.status.success(),
        "the child should have been killed mid-write"
    );
    let said = String::from_utf8_lossy(&child.stderr);
    assert_eq!(
        fs::read_to_string(dir.path().join("profiles.jsonl")).unwrap(),
        old
    );
    // The half-written temp file is what a crash leaves; the store still loads cleanly.
    let leftovers: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert_eq!(leftovers.len(), 1, "{leftovers:?}; the child said: {said}");
    let partial = fs::metadata(dir.path().join(&leftovers[0])).unwrap().len();
    assert!(partial > 0 && partial <= 64 * 512, "{partial}");
    let t: Table<Profile> = PrivateStore::directory(dir.path()).load().unwrap();
    assert_eq!(t.len(), 1);
}

/// Run only as the child of `crash_mid_write_leaves_old_file_whole`.
#[test]
#[ignore = "child process of crash_mid_write_leaves_old_file_whole"]
fn crash_child_writes_big_file() {
    let dir = std::env::var("PRIVATE_STORE_CRASH_DIR")
        .expect("run by crash_mid_write_leaves_old_file_whole");
    let store = PrivateStore::directory(dir);
    let mut t: Table<Profile> = store.load().unwrap();
    for i in 0..10_000u32 {
        let id = format!("01951a3c-0000-7000-8000-{i:012}");
        t.upsert(Profile::new(&id, &format!("user{i}@example.com"), NOW).unwrap());
    }
    store.save(&mut t).unwrap();
    unreachable!("the file-size limit should have killed this process");
}

/// Versioning status, the versions of an object newest first, and the bytes of an old version.
#[test]
fn versions_on_a_versioned_bucket_and_status_on_a_plain_one() {
    let moto = MotoServer::start();
    let plain = PrivateStore::s3(&moto.bucket("plain")).unwrap();
    assert_eq!(plain.versioning_status().unwrap().as_deref(), Some(""));
    let cfg = moto.versioned_bucket("versioned");
    let store = PrivateStore::s3(&cfg).unwrap();
    assert_eq!(
        store.versioning_status().unwrap().as_deref(),
        Some("Enabled")
    );
    private_store::testing::raw_put(&cfg, "profiles.jsonl", b"one\n");
    private_store::testing::raw_put(&cfg, "profiles.jsonl", b"two\n");
    private_store::testing::raw_put(&cfg, "profiles.jsonl.bak", b"other\n");
    let versions = store.versions("profiles.jsonl").unwrap().unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert!(versions[0].is_latest && !versions[1].is_latest);
    assert_eq!(
        store
            .read_version("profiles.jsonl", &versions[1].version_id)
            .unwrap(),
        b"one\n"
    );
    let dir = tempfile::tempdir().unwrap();
    assert!(
        PrivateStore::directory(dir.path())
            .versions("profiles.jsonl")
            .unwrap()
            .is_none()
    );
}
