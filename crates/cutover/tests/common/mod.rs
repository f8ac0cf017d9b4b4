//! Shared setup: a bare data repo with the template's sheet configs and an import commit on
//! `published`, a remote it is published to, and the `cutover` binary.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Map, Value, json};

pub const JANE_ID: &str = "01951a3c-0000-7000-8000-000000000001";
pub const SAM_ID: &str = "01951a3c-0000-7000-8000-000000000002";

pub use fixtures::data_repo::git;

pub fn person(id: &str, slug: &str, name: &str) -> Map<String, Value> {
    json!({"id": id, "slug": slug, "fullName": name, "createdAt": "2020-01-01T00:00:00Z"})
        .as_object()
        .unwrap()
        .clone()
}

/// Commits `records` (path, record) on `published` with an `Action` trailer, through `sheets`.
pub fn commit(
    repo: &sheets::DataRepo,
    records: &[(&str, Map<String, Value>)],
    action: Option<&str>,
    author: &str,
) -> gix::ObjectId {
    let parent = repo.parent_for("published", &[]).unwrap();
    let mut tx = sheets::Transaction::begin(repo, parent)
        .unwrap()
        .with_signature(sheets::Signature {
            name: author.into(),
            email: format!("{}@example.org", author.to_lowercase().replace(' ', ".")),
            ..sheets::Signature::default()
        });
    for (path, record) in records {
        tx.edit()
            .put(path, sheets::toml::to_string(record).unwrap().into_bytes())
            .unwrap();
    }
    let mut spec = sheets::CommitSpec::new(format!("write {}", records.len()));
    if let Some(a) = action {
        spec = spec.trailer("Action", a);
    }
    tx.commit(&spec).unwrap();
    tx.finish().unwrap().new.unwrap()
}

/// `data.git` with configs and an import of Jane and Sam on `published`, and `origin.git` it
/// was published to (a bare clone, set as `origin`). Returns both paths and the T-0 tip.
pub fn t0_repos(dir: &Path) -> (PathBuf, PathBuf, gix::ObjectId) {
    let bare = dir.join("data.git");
    let configs = sheets::CommitSpec::new("configs").trailer("Action", "import.laddr.json");
    let repo = fixtures::data_repo::init_with_configs(&bare, "published", &configs).unwrap();
    let tip = commit(
        &repo,
        &[
            ("people/jane.toml", person(JANE_ID, "jane", "Jane Doe")),
            ("people/sam.toml", person(SAM_ID, "sam", "Sam Roe")),
        ],
        Some("import.laddr.json"),
        "Importer",
    );
    let origin = dir.join("origin.git");
    git(
        dir,
        &[
            "clone",
            "--quiet",
            "--bare",
            bare.to_str().unwrap(),
            origin.to_str().unwrap(),
        ],
    );
    git(
        &bare,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    (bare, origin, tip)
}

pub fn cutover(args: &[&str], env: &[(&str, String)]) -> (i32, String, String) {
    let out: Output = Command::new(env!("CARGO_BIN_EXE_cutover"))
        .args(args)
        .env_remove("CFP_DATA_REPO_PATH")
        .env_remove("CFP_DATA_BRANCH")
        .env_remove("STORAGE_BACKEND")
        .envs(env.iter().map(|(k, v)| (*k, v.as_str())))
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

pub fn ndjson(path: &Path) -> Vec<Value> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}
