//! Test setup: real bare data repos made with the `git` CLI, real private stores (a directory or
//! a moto S3 bucket), and the real `reconcile` binary.

#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use private_store::testing::MotoServer;
use private_store::{PrivateStore, S3Config};

pub const NOW: &str = "2026-08-15T12:00:00.000Z";

/// Fixture UUIDs as the reference tests write them.
pub fn uuid(n: u32) -> String {
    format!("01951a3c-0000-7000-8000-{n:012}")
}

/// A Person record for `people/<slug>.toml`.
#[derive(Clone, Debug, Default)]
pub struct P {
    pub n: u32,
    pub slug: &'static str,
    pub legacy_id: Option<i64>,
    pub github: Option<i64>,
    pub deleted: bool,
    pub name_id: Option<&'static str>,
}

impl P {
    pub fn new(n: u32, slug: &'static str) -> P {
        P {
            n,
            slug,
            ..P::default()
        }
    }
    pub fn legacy(mut self, id: i64) -> P {
        self.legacy_id = Some(id);
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
    pub fn name_id(mut self, n: &'static str) -> P {
        self.name_id = Some(n);
        self
    }
    pub fn id(&self) -> String {
        uuid(self.n)
    }

    fn toml(&self) -> String {
        let mut s = String::new();
        s.push_str("accountLevel = 'user'\n");
        if self.deleted {
            s.push_str("deletedAt = 2026-07-01T00:00:00Z\n");
        }
        s.push_str("fullName = 'Test Person'\n");
        if let Some(g) = self.github {
            s.push_str(&format!("githubUserId = {g}\n"));
        }
        s.push_str(&format!("id = '{}'\n", self.id()));
        if let Some(l) = self.legacy_id {
            s.push_str(&format!("legacyId = {l}\n"));
        }
        if let Some(n) = self.name_id {
            s.push_str(&format!("slackSamlNameId = '{n}'\n"));
        }
        s.push_str(&format!("slug = '{}'\n", self.slug));
        s
    }
}

/// A bare data repo whose `published` branch holds the people sheet config and `people`.
pub struct Repo {
    pub dir: tempfile::TempDir,
}

impl Repo {
    pub fn new(people: &[P]) -> Repo {
        Repo::with_files(people, &[])
    }

    /// [`Repo::new`] plus other files (configs, records of other sheets) on `published`.
    pub fn with_files(people: &[P], files: &[(&str, &str)]) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let mut all = fixtures::data_repo::people_files(people.iter().map(|p| (p.slug, p.toml())));
        all.extend(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
        fixtures::data_repo::git_published(dir.path(), &all);
        Repo { dir }
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("data.git")
    }
}

/// A private store under test, with the environment the binary needs to reach it.
pub struct Store {
    pub store: PrivateStore,
    pub env: Vec<(&'static str, String)>,
    pub dir: Option<tempfile::TempDir>,
    pub s3: Option<S3Config>,
}

impl Store {
    pub fn directory() -> Store {
        let dir = tempfile::tempdir().unwrap();
        let env = vec![
            ("STORAGE_BACKEND", "filesystem".to_owned()),
            ("CFP_PRIVATE_STORAGE_PATH", dir.path().display().to_string()),
        ];
        Store {
            store: PrivateStore::directory(dir.path()),
            env,
            dir: Some(dir),
            s3: None,
        }
    }

    pub fn s3(moto: &MotoServer, bucket: &str) -> Store {
        let cfg = moto.bucket(bucket);
        Store {
            store: PrivateStore::s3(&cfg).unwrap(),
            env: MotoServer::env(&cfg),
            dir: None,
            s3: Some(cfg),
        }
    }

    /// Puts raw `.jsonl` text (hand-written lines, as the reference tests do).
    pub fn put(&self, key: &str, text: &str) {
        match (&self.dir, &self.s3) {
            (Some(d), _) => fs::write(d.path().join(key), text).unwrap(),
            (_, Some(cfg)) => private_store::testing::raw_put(cfg, key, text.as_bytes()),
            _ => unreachable!(),
        }
    }

    pub fn raw(&self, key: &str) -> String {
        String::from_utf8(self.store.read_raw(key).unwrap().unwrap_or_default()).unwrap()
    }
}

pub fn profile_line(n: u32, email: &str, newsletter: &str) -> String {
    format!(
        r#"{{"personId":"{}","email":"{email}","emailRefreshedAt":"2026-08-01T00:00:00.000Z","newsletter":{newsletter},"updatedAt":"2026-08-01T00:00:00.000Z"}}"#,
        uuid(n)
    )
}

pub fn cred_line(n: u32, hash: &str, last_used: Option<&str>) -> String {
    let lu = last_used.map_or("null".to_owned(), |l| format!("\"{l}\""));
    format!(
        r#"{{"personId":"{}","passwordHash":"{hash}","importedAt":"2026-02-01T00:00:00.000Z","lastUsedAt":{lu}}}"#,
        uuid(n)
    )
}

/// The outcome of one `reconcile` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn lines(&self) -> Vec<serde_json::Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad NDJSON {l:?}: {e}")))
            .collect()
    }
}

pub fn reconcile(repo: &Repo, store: &Store, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_reconcile"))
        .args(args)
        .arg(format!("--data-repo={}", repo.path().display()))
        .arg(format!("--now={NOW}"))
        .env_remove("CFP_DATA_BRANCH")
        .envs(store.env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

pub fn read_json(path: &Path) -> serde_json::Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}
