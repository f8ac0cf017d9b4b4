//! Test setup: a real bare data repo made with the `git` CLI from the reference template, the
//! stand-in target over it, and the real `probe` binary.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use fixtures::target::{TargetOptions, TargetServer};

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .env("GIT_CONFIG_NOSYSTEM", "1")
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

pub fn uuid(n: u32) -> String {
    format!("01951a3c-0000-7000-8000-{n:012}")
}

/// Live people `person-01` … `person-NN` (legacyId 1000+i), plus named ones.
pub const GENERATED_PEOPLE: u32 = 60;
/// Live projects `proj-01` … (legacyId 200+i), plus named ones.
pub const GENERATED_PROJECTS: u32 = 27;

/// The fixture data repo: `empty` holds the 12 sheet configs, `published` the records.
pub struct Repo {
    pub dir: tempfile::TempDir,
    pub bare: PathBuf,
}

fn write(work: &Path, path: &str, text: &str) {
    let p = work.join(path);
    fs::create_dir_all(p.parent().unwrap()).unwrap();
    fs::write(p, text).unwrap();
}

fn person(n: u32, slug: &str, legacy: i64, deleted: bool) -> String {
    let mut s =
        String::from("accountLevel = \"staff\"\ncreatedAt = \"2018-02-17T13:58:57.000Z\"\n");
    if deleted {
        s.push_str("deletedAt = \"2026-07-01T00:00:00.000Z\"\n");
    }
    s.push_str(&format!(
        "fullName = \"Person {slug}\"\nid = \"{}\"\nlegacyId = {legacy}\nslackSamlNameId = \"{slug}\"\nslug = \"{slug}\"\nupdatedAt = \"2018-02-17T13:58:57.000Z\"\n",
        uuid(n)
    ));
    s
}

fn project(n: u32, slug: &str, legacy: i64, deleted: bool) -> String {
    let mut s = String::from("createdAt = \"2013-01-03T23:55:11.000Z\"\n");
    if deleted {
        s.push_str("deletedAt = \"2026-07-01T00:00:00.000Z\"\n");
    }
    s.push_str(&format!(
        "featured = false\nid = \"{}\"\nlegacyId = {legacy}\nslug = \"{slug}\"\nstage = \"maintaining\"\ntitle = \"Project {slug}\"\nupdatedAt = \"2013-01-03T23:55:11.000Z\"\n",
        uuid(n)
    ));
    s
}

fn buzz(n: u32, project: &str, slug: &str, legacy: i64) -> String {
    format!(
        "createdAt = \"2019-01-01T00:00:00.000Z\"\nheadline = \"{slug}\"\nid = \"{}\"\nlegacyId = {legacy}\nprojectId = \"{}\"\nprojectSlug = \"{project}\"\npublishedAt = \"2019-01-01T00:00:00.000Z\"\nslug = \"{slug}\"\nupdatedAt = \"2019-01-01T00:00:00.000Z\"\nurl = \"https://news.example.org/{slug}\"\n",
        uuid(n),
        uuid(1)
    )
}

fn tag(n: u32, ns: &str, slug: &str, legacy: i64) -> String {
    format!(
        "createdAt = \"2019-01-01T00:00:00.000Z\"\nid = \"{}\"\nlegacyId = {legacy}\nnamespace = \"{ns}\"\nslug = \"{slug}\"\ntitle = \"{slug}\"\nupdatedAt = \"2019-01-01T00:00:00.000Z\"\n",
        uuid(n)
    )
}

fn history(n: u32, entity: &str, old: &str, new: &str, expires: &str) -> String {
    format!(
        "changedAt = \"2026-01-01T00:00:00.000Z\"\nentityId = \"{}\"\nentityType = \"{entity}\"\nexpiresAt = \"{expires}\"\nid = \"{}\"\nnewSlug = \"{new}\"\noldSlug = \"{old}\"\n",
        uuid(n),
        uuid(n + 1)
    )
}

impl Repo {
    /// Build the fixture repo.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let work = dir.path().join("work");
        fs::create_dir_all(work.join(".gitsheets")).unwrap();
        git(&work, &["init", "-q", "-b", "empty"]);
        for entry in fs::read_dir(template_dir().join(".gitsheets")).unwrap() {
            let entry = entry.unwrap();
            fs::copy(
                entry.path(),
                work.join(".gitsheets").join(entry.file_name()),
            )
            .unwrap();
        }
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "sheet configs"]);
        git(&work, &["checkout", "-q", "-b", "published"]);

        write(&work, "people/alice.toml", &person(1, "alice", 10, false));
        write(&work, "people/bob.toml", &person(2, "bob", 20, false));
        write(&work, "people/carol.toml", &person(3, "carol", 30, true));
        for i in 1..=GENERATED_PEOPLE {
            let slug = format!("person-{i:02}");
            write(
                &work,
                &format!("people/{slug}.toml"),
                &person(100 + i, &slug, 1000 + i64::from(i), false),
            );
        }
        write(
            &work,
            "projects/transit-app.toml",
            &project(11, "transit-app", 100, false),
        );
        write(&work, "projects/mp.toml", &project(12, "mp", 7, false));
        write(
            &work,
            "projects/old-site.toml",
            &project(13, "old-site", 9, true),
        );
        for i in 1..=GENERATED_PROJECTS {
            let slug = format!("proj-{i:02}");
            write(
                &work,
                &format!("projects/{slug}.toml"),
                &project(300 + i, &slug, 200 + i64::from(i), false),
            );
        }
        write(
            &work,
            "project-buzz/transit-app/launch-party.toml",
            &buzz(21, "transit-app", "launch-party", 500),
        );
        write(
            &work,
            "project-buzz/proj-01/launch-party.toml",
            &buzz(22, "proj-01", "launch-party", 502),
        );
        write(
            &work,
            "project-buzz/mp/news-story.toml",
            &buzz(23, "mp", "news-story", 501),
        );
        write(
            &work,
            "tags/topic/transit.toml",
            &tag(31, "topic", "transit", 1),
        );
        write(&work, "tags/tech/rust.toml", &tag(32, "tech", "rust", 2));
        write(
            &work,
            "tags/event/hackathon.toml",
            &tag(33, "event", "hackathon", 3),
        );
        write(
            &work,
            "slug-history/project/old-transit.toml",
            &history(
                41,
                "project",
                "old-transit",
                "transit-app",
                "2099-01-01T00:00:00.000Z",
            ),
        );
        write(
            &work,
            "slug-history/person/old-alice.toml",
            &history(
                43,
                "person",
                "old-alice",
                "alice",
                "2099-01-01T00:00:00.000Z",
            ),
        );
        write(
            &work,
            "slug-history/person/a1.toml",
            &history(45, "person", "a1", "a2", "2099-01-01T00:00:00.000Z"),
        );
        write(
            &work,
            "slug-history/person/a2.toml",
            &history(47, "person", "a2", "bob", "2099-01-01T00:00:00.000Z"),
        );
        write(
            &work,
            "slug-history/project/gone.toml",
            &history(49, "project", "gone", "mp", "2001-01-01T00:00:00.000Z"),
        );
        write(
            &work,
            "project-updates/transit-app/1.toml",
            "body = \"hello\"\ncreatedAt = \"2019-01-01T00:00:00.000Z\"\nid = \"01951a3c-0000-7000-8000-000000000051\"\nlegacyId = 900\nnumber = 1\nprojectId = \"01951a3c-0000-7000-8000-000000000011\"\nprojectSlug = \"transit-app\"\nupdatedAt = \"2019-01-01T00:00:00.000Z\"\n",
        );
        git(&work, &["add", "."]);
        git(&work, &["commit", "-q", "-m", "records"]);
        let bare = dir.path().join("data.git");
        git(
            dir.path(),
            &[
                "clone",
                "-q",
                "--bare",
                work.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        git(&bare, &["fsck", "--strict", "--no-dangling"]);
        Repo { dir, bare }
    }

    pub fn bare(&self) -> &str {
        self.bare.to_str().unwrap()
    }

    pub fn target(&self, options: TargetOptions) -> TargetServer {
        TargetServer::start(&self.bare, "published", options).unwrap()
    }

    pub fn tip(&self) -> String {
        git(&self.bare, &["rev-parse", "refs/heads/published"])
            .trim()
            .to_owned()
    }
}

/// Target options with a generous limit, for tests that are not about the rate limit.
pub fn roomy() -> TargetOptions {
    TargetOptions {
        limit_get: 10_000,
        limit_auth: 10_000,
        now: Some("2026-08-01T00:00:00.000Z".into()),
        ..TargetOptions::default()
    }
}

/// Run the real `probe` binary with `stdin`.
pub fn probe(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_probe"))
        .args(args)
        .env_remove("CFP_DATA_REPO_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parse NDJSON lines.
pub fn lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Run flags for a [`roomy`] target on loopback: no client-side pacing, short warm-up waits.
pub const FAST: [&str; 4] = [
    "--rate-limit=100000",
    "--ready-interval-ms=20",
    "--ready-wait-ms=2000",
    "--timeout-ms=5000",
];
