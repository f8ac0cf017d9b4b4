//! Real bare data repos for the spam-prune tests, made with the `git` CLI from the reference
//! sheet configs, and the binary run as a process.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Map, Value, json};

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn template_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data-repo-template")
}

pub const EVAL_CONFIG: &str =
    "[gitsheet]\nroot = 'person-evaluations'\npath = '${{ personSlug }}/${{ evaluator }}'\n";

/// A deterministic v7-shaped uuid for person/record number `n`.
pub fn uuid(n: u32) -> String {
    format!("019e4021-0000-7000-8000-{n:012}")
}

pub fn toml(v: Value) -> Vec<u8> {
    let Value::Object(m) = v else {
        panic!("not an object")
    };
    sheets::toml::to_string(&m).unwrap().into_bytes()
}

/// The content of a data repo before it is made: the `published` branch files and the
/// `spam-detection` branch's evaluation files.
#[derive(Default)]
pub struct World {
    pub files: BTreeMap<String, Vec<u8>>,
    pub evals: BTreeMap<String, Vec<u8>>,
}

impl World {
    pub fn new() -> World {
        World::default()
    }

    /// `people/<slug>.toml` for person `n` (id `uuid(n)`, legacyId `n`), plus `extra` fields.
    pub fn person(&mut self, n: u32, slug: &str, extra: Value) -> &mut World {
        let mut rec = json!({
            "id": uuid(n), "legacyId": n, "slug": slug, "fullName": format!("Person {n}"),
            "accountLevel": "user", "slackSamlNameId": slug,
            "createdAt": "2020-01-01T00:00:00.000Z", "updatedAt": "2020-01-01T00:00:00.000Z",
        });
        if let (Value::Object(r), Value::Object(e)) = (&mut rec, extra) {
            r.extend(e);
        }
        self.files.insert(format!("people/{slug}.toml"), toml(rec));
        self
    }

    pub fn file(&mut self, path: &str, bytes: impl Into<Vec<u8>>) -> &mut World {
        self.files.insert(path.to_owned(), bytes.into());
        self
    }

    pub fn record(&mut self, path: &str, v: Value) -> &mut World {
        self.files.insert(path.to_owned(), toml(v));
        self
    }

    /// A membership of person `n` (slug) in project `project`.
    pub fn member(&mut self, n: u32, slug: &str, project: &str) -> &mut World {
        self.record(
            &format!("project-memberships/{project}/{slug}.toml"),
            json!({"id": uuid(9000 + n), "personId": uuid(n), "projectId": uuid(8000),
                   "projectSlug": project, "personSlug": slug, "isMaintainer": false,
                   "joinedAt": "2020-01-01T00:00:00.000Z"}),
        )
    }

    /// An evaluation file, as raw text.
    pub fn eval_raw(&mut self, slug: &str, evaluator: &str, text: &str) -> &mut World {
        self.evals.insert(
            format!("person-evaluations/{slug}/{evaluator}.toml"),
            text.as_bytes().to_vec(),
        );
        self
    }

    /// A canonical evaluation record.
    pub fn eval(
        &mut self,
        slug: &str,
        evaluator: &str,
        verdict: &str,
        confidence: f64,
    ) -> &mut World {
        let text = String::from_utf8(toml(json!({
            "personSlug": slug, "evaluator": evaluator, "verdict": verdict,
            "confidence": confidence, "flags": [], "reasoning": "test",
            "evaluatedAt": "2026-05-20T00:00:00Z",
        })))
        .unwrap();
        self.eval_raw(slug, evaluator, &text)
    }

    /// Make the bare repo: `published` holds the 12 reference configs and the files;
    /// `spam-detection` is `published` plus the evaluations sheet.
    pub fn build(&self) -> Repo {
        let tmp = tempfile::tempdir().unwrap();
        let work = tmp.path().join("work");
        std::fs::create_dir_all(work.join(".gitsheets")).unwrap();
        git(&work, &["init", "-q", "-b", "published"]);
        for entry in std::fs::read_dir(template_dir().join(".gitsheets")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(
                entry.path(),
                work.join(".gitsheets").join(entry.file_name()),
            )
            .unwrap();
        }
        write_all(&work, &self.files);
        git(&work, &["add", "-A"]);
        git(&work, &["commit", "-q", "-m", "import"]);
        git(&work, &["checkout", "-q", "-b", "spam-detection"]);
        std::fs::write(work.join(".gitsheets/person-evaluations.toml"), EVAL_CONFIG).unwrap();
        write_all(&work, &self.evals);
        git(&work, &["add", "-A"]);
        git(
            &work,
            &["commit", "-q", "--allow-empty", "-m", "evaluations"],
        );
        let bare = tmp.path().join("data.git");
        git(
            tmp.path(),
            &[
                "clone",
                "-q",
                "--bare",
                work.to_str().unwrap(),
                bare.to_str().unwrap(),
            ],
        );
        Repo {
            _tmp: tmp,
            path: bare,
        }
    }
}

fn write_all(root: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, bytes) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

pub struct Repo {
    _tmp: tempfile::TempDir,
    pub path: PathBuf,
}

impl Repo {
    pub fn git(&self, args: &[&str]) -> String {
        git(&self.path, args)
    }

    pub fn fsck(&self) {
        self.git(&["fsck", "--strict", "--no-dangling"]);
    }

    pub fn tip(&self, branch: &str) -> String {
        self.git(&["rev-parse", &format!("refs/heads/{branch}")])
            .trim()
            .to_owned()
    }

    /// Every ref and HEAD, to show nothing moved.
    pub fn state(&self) -> (String, String) {
        (
            self.git(&["for-each-ref", "--format=%(refname) %(objectname)"]),
            std::fs::read_to_string(self.path.join("HEAD")).unwrap(),
        )
    }

    pub fn files(&self, rev: &str) -> Vec<String> {
        self.git(&["ls-tree", "-r", "--name-only", rev])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    pub fn show(&self, rev: &str, path: &str) -> String {
        self.git(&["show", &format!("{rev}:{path}")])
    }

    /// Run the binary against this repo with `args`.
    pub fn run(&self, args: &[&str]) -> Run {
        let mut all = vec![format!("--data-repo={}", self.path.display())];
        all.extend(args.iter().map(|s| s.to_string()));
        run_bin(&all)
    }

    /// Run with `--json=<tmp>` too, returning the report.
    pub fn run_json(&self, args: &[&str]) -> (Run, Value) {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("report.json");
        let mut all: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        all.push(format!("--json={}", report.display()));
        let refs: Vec<&str> = all.iter().map(String::as_str).collect();
        let run = self.run(&refs);
        let json = std::fs::read_to_string(&report)
            .map(|t| serde_json::from_str(&t).unwrap())
            .unwrap_or(Value::Null);
        (run, json)
    }
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn lines(&self) -> Vec<Value> {
        self.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect()
    }

    pub fn slugs(&self) -> Vec<String> {
        self.lines()
            .iter()
            .map(|l| l["slug"].as_str().unwrap().to_owned())
            .collect()
    }
}

pub fn run_bin(args: &[String]) -> Run {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_spam-prune"))
        .args(args)
        .env_remove("CFP_DATA_REPO_PATH")
        .env_remove("CFP_DATA_BRANCH")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8(out.stdout).unwrap(),
        stderr: String::from_utf8(out.stderr).unwrap(),
    }
}

/// The object of a record as JSON.
pub fn parse(text: &str) -> Map<String, Value> {
    sheets::toml::from_str(text).unwrap()
}

/// A bare repo holding a fixture site as the importer would write it: `empty` with the 12
/// reference configs (git CLI), `published` with every translated record (one `sheets`
/// commit), and `spam-detection` = `published` + the site's evaluations
/// ([`fixtures::evaluations::write_branch`]). Returns the repo and the evaluations written.
pub fn import_site(site: &fixtures::laddr::Site) -> (Repo, Vec<fixtures::evaluations::Evaluation>) {
    let tmp = tempfile::tempdir().unwrap();
    let work = tmp.path().join("work");
    std::fs::create_dir_all(work.join(".gitsheets")).unwrap();
    git(&work, &["init", "-q", "-b", "empty"]);
    for entry in std::fs::read_dir(template_dir().join(".gitsheets")).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(
            entry.path(),
            work.join(".gitsheets").join(entry.file_name()),
        )
        .unwrap();
    }
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "configs"]);
    let bare = tmp.path().join("data.git");
    git(
        tmp.path(),
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );

    let mut input = translate::Input::default();
    for resource in translate::Resource::ALL {
        for row in site.rows(resource) {
            input.push(resource, row.clone(), None);
        }
    }
    let out = translate::translate(
        &input,
        &translate::Options::new("2026-05-18T00:00:00.000Z"),
        &translate::ReadForward::default(),
        &mut translate::Sequential::default(),
    );
    let data = sheets::DataRepo::open(&bare).unwrap();
    let parent = data.parent_for("published", &["empty"]).unwrap();
    let mut tx = sheets::Transaction::begin(&data, parent).unwrap();
    let configs = data.sheet_configs(tx.base_tree()).unwrap();
    for (sheet, records) in out.as_existing() {
        let config = &configs[&sheet];
        let mut files = BTreeMap::new();
        for r in &records {
            let path = config.record_path(r).unwrap();
            let rel = path[config.root.len() + 1..].to_owned();
            files.insert(rel, config.encode(r).unwrap());
        }
        tx.edit().replace_dir(&config.root, files).unwrap();
    }
    tx.commit(&sheets::CommitSpec::new("import fixture site"))
        .unwrap();
    tx.finish().unwrap();
    let evals = fixtures::evaluations::generate(site);
    fixtures::evaluations::write_branch(&data, "spam-detection", &["published"], &evals).unwrap();
    (
        Repo {
            _tmp: tmp,
            path: bare,
        },
        evals,
    )
}
