//! Test setup: a real bare data repo made with the `git` CLI, a private store directory, the
//! Resend stand-in on loopback, and the real `mailer` binary.

#![allow(dead_code)]

use std::fs;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use fixtures::resend::{Config, ResendServer};

pub const KEY: &str = "re_T3st_SECRET_key_9f8e7d6c5b4a";

pub fn uuid(n: u32) -> String {
    format!("01951a3c-0000-7000-8000-{n:012}")
}

/// A Person in `people/<slug>.toml`, optionally with a profile and a credential.
#[derive(Clone, Debug, Default)]
pub struct P {
    pub n: u32,
    pub slug: String,
    pub full_name: Option<String>,
    pub github: Option<i64>,
    pub deleted: bool,
    pub email: Option<String>,
    pub last_used: Option<String>,
    pub credential: bool,
    /// `importedAt` of the credential (default 2026-05-01).
    pub imported_at: Option<String>,
    pub legacy_id: Option<i64>,
    /// The profile's newsletter is opted out.
    pub opted_out: bool,
}

impl P {
    pub fn new(n: u32, slug: &str) -> P {
        P {
            n,
            slug: slug.to_owned(),
            full_name: Some("Test Person".into()),
            ..P::default()
        }
    }
    pub fn email(mut self, e: &str) -> P {
        self.email = Some(e.to_owned());
        self
    }
    pub fn name(mut self, n: &str) -> P {
        self.full_name = Some(n.to_owned());
        self
    }
    pub fn github(mut self, id: i64) -> P {
        self.github = Some(id);
        self
    }
    pub fn deleted(mut self) -> P {
        self.deleted = true;
        self
    }
    pub fn credential(mut self, last_used: Option<&str>) -> P {
        self.credential = true;
        self.last_used = last_used.map(str::to_owned);
        self
    }
    pub fn imported(mut self, at: &str) -> P {
        self.imported_at = Some(at.to_owned());
        self
    }
    pub fn legacy(mut self, id: i64) -> P {
        self.legacy_id = Some(id);
        self
    }
    pub fn opted_out(mut self) -> P {
        self.opted_out = true;
        self
    }
    pub fn id(&self) -> String {
        uuid(self.n)
    }

    fn toml(&self) -> String {
        let mut s = String::from("accountLevel = 'user'\n");
        if self.deleted {
            s.push_str("deletedAt = 2026-07-01T00:00:00Z\n");
        }
        if let Some(n) = &self.full_name {
            // A TOML basic string: escape what needs escaping.
            s.push_str(&format!(
                "fullName = {}\n",
                serde_json::to_string(n).unwrap()
            ));
        }
        if let Some(g) = self.github {
            s.push_str(&format!("githubUserId = {g}\n"));
        }
        s.push_str(&format!("id = '{}'\n", self.id()));
        if let Some(l) = self.legacy_id {
            s.push_str(&format!("legacyId = {l}\n"));
        }
        s.push_str(&format!("slug = '{}'\n", self.slug));
        s
    }
}

/// A bare data repo (branch `published`) and a private store directory.
pub struct World {
    pub dir: tempfile::TempDir,
    pub people: Vec<P>,
}

impl World {
    pub fn new(people: &[P]) -> World {
        let dir = tempfile::tempdir().unwrap();
        let files = fixtures::data_repo::people_files(people.iter().map(|p| (&*p.slug, p.toml())));
        fixtures::data_repo::git_published(dir.path(), &files);

        let store = dir.path().join("private");
        fs::create_dir_all(&store).unwrap();
        let mut profiles = String::new();
        let mut creds = String::new();
        for p in people {
            if let Some(e) = &p.email {
                let newsletter = if p.opted_out {
                    r#"{"optedIn":false,"optedInAt":null,"optedOutAt":"2026-06-01T00:00:00.000Z"}"#
                } else {
                    "null"
                };
                profiles.push_str(&format!(
                    r#"{{"personId":"{}","email":"{e}","emailRefreshedAt":"2026-08-01T00:00:00.000Z","newsletter":{newsletter},"updatedAt":"2026-08-01T00:00:00.000Z"}}"#,
                    p.id()
                ));
                profiles.push('\n');
            }
            if p.credential {
                let lu = p
                    .last_used
                    .as_ref()
                    .map_or("null".to_owned(), |l| format!("\"{l}\""));
                let imported = p
                    .imported_at
                    .as_deref()
                    .unwrap_or("2026-05-01T00:00:00.000Z");
                creds.push_str(&format!(
                    r#"{{"personId":"{}","passwordHash":"$2y$12$abcdefghijklmnopqrstuv","importedAt":"{imported}","lastUsedAt":{lu}}}"#,
                    p.id()
                ));
                creds.push('\n');
            }
        }
        fs::write(store.join("profiles.jsonl"), profiles).unwrap();
        fs::write(store.join("legacy-passwords.jsonl"), creds).unwrap();
        World {
            dir,
            people: people.to_vec(),
        }
    }

    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("data.git")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The mailer with the data and store configured and no ambient secrets.
    pub fn mailer(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_mailer"));
        c.args(args)
            .env_remove("RESEND_API_KEY")
            .env_remove("CFP_PUBLIC_URL")
            .env_remove("CFP_DATA_BRANCH")
            .env("CFP_DATA_REPO_PATH", self.repo())
            .env("STORAGE_BACKEND", "filesystem")
            .env("CFP_PRIVATE_STORAGE_PATH", self.path("private"))
            .stdin(Stdio::null());
        c
    }

    /// `mailer send --send` against `resend`, fast pacing, with the key.
    pub fn send_cmd(&self, resend: &ResendServer, extra: &[&str]) -> Command {
        let log = self.path("sent.ndjson");
        let mut args = vec![
            "send".to_owned(),
            "--send".to_owned(),
            format!("--api-base={}", resend.url()),
            format!("--sent-log={}", log.display()),
            "--public-url=https://cfp.example.org/".to_owned(),
            "--rate=1000".to_owned(),
            "--backoff=10ms".to_owned(),
            "--max-backoff=50ms".to_owned(),
        ];
        // An explicit flag in `extra` replaces the default.
        args.retain(|a| {
            let name = a.split('=').next().unwrap_or_default();
            !extra.iter().any(|e| e.split('=').next() == Some(name)) || name == "--send"
        });
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut c = self.mailer(&refs);
        c.env("RESEND_API_KEY", KEY);
        c
    }

    /// laddr-fetch NDJSON of people rows `(ID, Username)` in `name`; returns its path.
    pub fn laddr(&self, name: &str, rows: &[(i64, &str)]) -> PathBuf {
        let mut text = String::new();
        for (id, username) in rows {
            text.push_str(
                &serde_json::json!({"v": 1, "resource": "people", "row": {"ID": id, "Username": username}})
                    .to_string(),
            );
            text.push('\n');
        }
        let path = self.path(name);
        fs::write(&path, text).unwrap();
        path
    }

    pub fn sent_log(&self) -> String {
        fs::read_to_string(self.path("sent.ndjson")).unwrap_or_default()
    }
}

/// A stand-in with a generous rate limit (tests that want throttling set their own).
pub fn resend() -> ResendServer {
    ResendServer::start(Config::new(KEY).rate_limit(10_000, Duration::from_secs(1))).unwrap()
}

pub fn run(mut c: Command) -> Output {
    c.output().unwrap()
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

pub fn lines(o: &Output) -> Vec<serde_json::Value> {
    stdout(o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `n` unclaimed people with profiles `u<i>@example.com`, slugs `user-<i>`.
pub fn crowd(n: u32) -> Vec<P> {
    (1..=n)
        .map(|i| P::new(i, &format!("user-{i:03}")).email(&format!("u{i}@example.com")))
        .collect()
}
