//! Shared helpers: real bare data repos made with the `git` CLI from
//! `testdata/data-repo-template`, the `sheet-write` and `laddr-fetch` binaries run as
//! processes, trees read back with `git ls-tree`/`git cat-file`, and id redaction for snapshots.
#![allow(dead_code)]

use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

pub const NOW: &str = "2026-05-18T00:00:00.000Z";
pub const BRANCH: &str = "refs/heads/legacy-import";
/// The sheets `sheet-write` owns, in foreign-key (commit) order.
pub const OWNED: [&str; 8] = [
    "tags",
    "people",
    "projects",
    "project-memberships",
    "project-updates",
    "project-buzz",
    "blog-posts",
    "tag-assignments",
];

pub fn sheet_write_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sheet-write"))
}

/// `laddr-fetch`, built into the same target directory as `sheet-write` (`cargo test
/// --workspace` builds every binary; `cargo test -p sheet-write` alone builds it here once).
pub fn laddr_fetch_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let dir = sheet_write_bin().parent().unwrap().to_path_buf();
        let bin = dir.join(format!("laddr-fetch{}", std::env::consts::EXE_SUFFIX));
        if !bin.is_file() {
            let cargo = option_env!("CARGO").unwrap_or("cargo");
            let mut cmd = Command::new(cargo);
            cmd.args(["build", "-q", "-p", "laddr-fetch"]);
            if dir.ends_with("release") {
                cmd.arg("--release");
            }
            let ok = cmd.status().is_ok_and(|s| s.success());
            assert!(
                ok && bin.is_file(),
                "laddr-fetch is not built next to sheet-write ({}): run `cargo build -p laddr-fetch` \
                 (or `cargo test --workspace`, which builds every binary)",
                bin.display()
            );
        }
        bin
    })
    .clone()
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = git_raw(dir, args);
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn git_raw(dir: &Path, args: &[&str]) -> Output {
    Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@example.org")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@example.org")
        .env_remove("GIT_DIR")
        .output()
        .expect("git runs")
}

/// `testdata/data-repo-template`: the 12 configs of `reference/data-repo-template`,
/// committed so the tests need nothing outside the checkout.
pub fn template_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/data-repo-template")
}

/// Records of sheets the importer does not own, and one hand-made record under an owned root
/// (a snapshot removes it, as the reference's `clear()` does).
pub const EXTRA_FILES: [(&str, &str); 3] = [
    ("revocations/j1.toml", "jti = \"j1\"\n"),
    (
        "slug-history/person/old-alice.toml",
        "entityType = \"person\"\nnewSlug = \"alice\"\noldSlug = \"old-alice\"\n",
    ),
    (
        "people/handmade.toml",
        "id = \"01900000-0000-7000-8000-00000000beef\"\nslug = \"handmade\"\n",
    ),
];

/// The work repo: `empty` holds the 12 configs of [`template_dir`] plus
/// [`EXTRA_FILES`].
pub fn work_repo(tmp: &Path) -> PathBuf {
    let work = tmp.join("work");
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
    for (path, text) in EXTRA_FILES {
        let p = work.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    git(&work, &["add", "."]);
    git(&work, &["commit", "-q", "-m", "configs"]);
    work
}

/// A fresh `git clone --bare` of [`work_repo`]: no `refs/heads/legacy-import` yet, so the
/// first run starts from `empty`.
pub fn fresh_clone(tmp: &Path) -> PathBuf {
    let work = work_repo(tmp);
    bare_clone(tmp, &work)
}

pub fn bare_clone(tmp: &Path, work: &Path) -> PathBuf {
    let bare = tmp.join("data.git");
    git(
        tmp,
        &[
            "clone",
            "-q",
            "--bare",
            work.to_str().unwrap(),
            bare.to_str().unwrap(),
        ],
    );
    bare
}

pub fn fsck(bare: &Path) {
    git(bare, &["fsck", "--strict", "--no-dangling"]);
}

pub fn rev(bare: &Path, r: &str) -> Option<String> {
    let out = git_raw(bare, &["rev-parse", "--verify", "-q", r]);
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim().to_owned())
}

/// Every ref, HEAD's text, and every file under `objects/` and `refs/` with its size: what
/// must not change when nothing is written.
pub fn repo_state(bare: &Path) -> String {
    let mut s = git(bare, &["for-each-ref", "--format=%(refname) %(objectname)"]);
    s.push_str(&std::fs::read_to_string(bare.join("HEAD")).unwrap());
    let mut files = Vec::new();
    fn walk(dir: &Path, root: &Path, out: &mut Vec<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                walk(&p, root, out);
            } else {
                let len = e.metadata().unwrap().len();
                out.push(format!("{} {len}", p.strip_prefix(root).unwrap().display()));
            }
        }
    }
    for d in ["objects", "refs"] {
        walk(&bare.join(d), bare, &mut files);
    }
    if bare.join("packed-refs").exists() {
        files.push(format!(
            "packed-refs {}",
            std::fs::read_to_string(bare.join("packed-refs")).unwrap()
        ));
    }
    files.sort();
    s + &files.join("\n")
}

/// `path -> bytes` of every blob in `rev`'s tree (read with `git ls-tree` + `git cat-file`).
pub fn read_tree(bare: &Path, rev: &str) -> BTreeMap<String, Vec<u8>> {
    let listing = git(bare, &["ls-tree", "-r", "-z", rev]);
    let entries: Vec<(String, String)> = listing
        .split('\0')
        .filter(|l| !l.is_empty())
        .map(|l| {
            let (meta, path) = l.split_once('\t').unwrap();
            let mut m = meta.split(' ');
            let (mode, kind, oid) = (m.next().unwrap(), m.next().unwrap(), m.next().unwrap());
            assert_eq!((mode, kind), ("100644", "blob"), "{path}");
            (path.to_owned(), oid.to_owned())
        })
        .collect();
    let mut child = Command::new("git")
        .args(["cat-file", "--batch"])
        .current_dir(bare)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let ids: String = entries.iter().map(|(_, o)| format!("{o}\n")).collect();
    let writer = std::thread::spawn(move || stdin.write_all(ids.as_bytes()));
    let mut out = Vec::new();
    child.stdout.take().unwrap().read_to_end(&mut out).unwrap();
    writer.join().unwrap().unwrap();
    assert!(child.wait().unwrap().success());
    let mut files = BTreeMap::new();
    let mut at = 0;
    for (path, oid) in entries {
        let nl = at + out[at..].iter().position(|&b| b == b'\n').unwrap();
        let header = std::str::from_utf8(&out[at..nl]).unwrap();
        let mut h = header.split(' ');
        assert_eq!(h.next(), Some(oid.as_str()));
        assert_eq!(h.next(), Some("blob"));
        let len: usize = h.next().unwrap().parse().unwrap();
        files.insert(path, out[nl + 1..nl + 1 + len].to_vec());
        at = nl + 1 + len + 1;
    }
    files
}

/// Only the files under the importer's roots.
pub fn owned_files(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, Vec<u8>> {
    files
        .iter()
        .filter(|(p, _)| OWNED.iter().any(|s| p.starts_with(&format!("{s}/"))))
        .map(|(p, b)| (p.clone(), b.clone()))
        .collect()
}

/// The front matter (TOML) and body of a markdown sheet file.
pub fn split_markdown(bytes: &[u8]) -> (String, String) {
    let text = std::str::from_utf8(bytes).unwrap();
    let rest = text
        .strip_prefix("+++\n")
        .expect("markdown file starts with +++");
    let end = rest.find("+++\n\n").expect("front matter ends with +++");
    (rest[..end].to_owned(), rest[end + 5..].to_owned())
}

/// The TOML text of a record file (the front matter for markdown).
pub fn toml_part(path: &str, bytes: &[u8]) -> String {
    if path.ends_with(".md") {
        split_markdown(bytes).0
    } else {
        String::from_utf8(bytes.to_vec()).unwrap()
    }
}

/// The `id` of a record file.
pub fn record_id(path: &str, bytes: &[u8]) -> Option<String> {
    toml_part(path, bytes).lines().find_map(|l| {
        l.strip_prefix("id = \"")
            .and_then(|r| r.strip_suffix('"'))
            .map(str::to_owned)
    })
}

fn is_uuid_at(b: &[u8], i: usize) -> bool {
    if i + 36 > b.len() {
        return false;
    }
    b[i..i + 36].iter().enumerate().all(|(k, &c)| match k {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    })
}

/// Replace every UUID in `s` by `<label>` from `labels`, or `<unknown-uuid>`.
pub fn redact(s: &str, labels: &BTreeMap<String, String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if is_uuid_at(b, i) && s.is_char_boundary(i) {
            let id = &s[i..i + 36];
            match labels.get(id) {
                Some(l) => out.push_str(&format!("<{l}>")),
                None => out.push_str("<unknown-uuid>"),
            }
            i += 36;
        } else {
            let c = s[i..].chars().next().unwrap();
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

/// Label every record's id by what it is: its path without extension, with the ids in the
/// path (tag-assignments) themselves replaced by labels. `tags/topic/transit`,
/// `tag-assignments/<tags/topic/transit>/project/<projects/transit-app>`.
pub fn id_labels(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let stem = |p: &str| {
        p.strip_suffix(".toml")
            .or_else(|| p.strip_suffix(".md"))
            .unwrap_or(p)
            .to_owned()
    };
    for pass in 0..2 {
        for (path, bytes) in owned_files(files) {
            let late = path.starts_with("tag-assignments/");
            if (pass == 0) == late {
                continue;
            }
            if let Some(id) = record_id(&path, &bytes) {
                let label = redact(&stem(&path), &labels);
                assert!(
                    labels.insert(id.clone(), label).is_none(),
                    "id {id} used twice"
                );
            }
        }
    }
    labels
}

/// The owned files with ids redacted, sorted by redacted path.
pub fn redacted_files(files: &BTreeMap<String, Vec<u8>>) -> BTreeMap<String, String> {
    let labels = id_labels(files);
    owned_files(files)
        .iter()
        .map(|(p, b)| {
            (
                redact(p, &labels),
                redact(std::str::from_utf8(b).unwrap(), &labels),
            )
        })
        .collect()
}

/// One reviewable text: `=== path ===` headers, then the file.
pub fn concat(files: impl IntoIterator<Item = (String, String)>) -> String {
    let mut s = String::new();
    for (p, text) in files {
        s.push_str(&format!("=== {p} ===\n{text}"));
        if !text.ends_with('\n') {
            s.push_str("\n(no final newline)\n");
        }
    }
    s
}

/// A finished process.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8(out.stdout).unwrap(),
            stderr: String::from_utf8(out.stderr).unwrap(),
        }
    }
}

/// `sheet-write ARGS` with `input` on stdin.
pub fn sheet_write(args: &[&str], input: &str) -> Run {
    let mut child = Command::new(sheet_write_bin())
        .args(args)
        .env_remove("CFP_DATA_REPO_PATH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_owned();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(input.as_bytes());
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    Run::from(out)
}

/// `laddr-fetch --source-url URL | sheet-write ARGS`, two processes joined by a real pipe.
/// Returns (laddr-fetch exit code, sheet-write run); laddr-fetch must succeed.
pub fn pipeline(url: &str, args: &[&str]) -> (i32, Run) {
    let (code, run, fetch_stderr) = pipeline_with(url, &[], args);
    assert_eq!(code, 0, "laddr-fetch failed: {fetch_stderr}");
    (code, run)
}

/// `laddr-fetch --source-url URL FETCH_ARGS | sheet-write ARGS` through a real pipe, whatever
/// laddr-fetch's exit code. Returns (laddr-fetch exit code, sheet-write run, its stderr).
pub fn pipeline_with(url: &str, fetch_args: &[&str], args: &[&str]) -> (i32, Run, String) {
    let mut fetch = Command::new(laddr_fetch_bin())
        .args([
            "--source-url",
            url,
            "--delay-ms",
            "0",
            "--retries",
            "0",
            "-q",
        ])
        .args(fetch_args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pipe = fetch.stdout.take().unwrap();
    let write = Command::new(sheet_write_bin())
        .args(args)
        .env_remove("CFP_DATA_REPO_PATH")
        .stdin(Stdio::from(pipe))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let write = write.wait_with_output().unwrap();
    let fetched = fetch.wait_with_output().unwrap();
    let code = fetched.status.code().unwrap_or(-1);
    (
        code,
        Run::from(write),
        String::from_utf8_lossy(&fetched.stderr).into_owned(),
    )
}

pub fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A laddr-fetch line.
pub fn line(resource: &str, row: Value) -> String {
    json!({"v": 1, "resource": resource, "row": row}).to_string() + "\n"
}

/// `git diff --name-status A B` as (status, path) pairs.
pub fn diff(bare: &Path, a: &str, b: &str) -> Vec<(String, String)> {
    git(bare, &["diff", "--name-status", "--no-renames", a, b])
        .lines()
        .map(|l| {
            let (s, p) = l.split_once('\t').unwrap();
            (s.to_owned(), p.to_owned())
        })
        .collect()
}

/// `laddr-fetch --source-url URL` stdout (for runs that replay the same snapshot).
pub fn fetch(url: &str) -> String {
    let (code, stdout) = fetch_with(url, &[]);
    assert_eq!(code, 0, "laddr-fetch failed");
    stdout
}

/// `laddr-fetch --source-url URL FETCH_ARGS`: (exit code, stdout), whatever the exit code.
pub fn fetch_with(url: &str, fetch_args: &[&str]) -> (i32, String) {
    let out = Command::new(laddr_fetch_bin())
        .args([
            "--source-url",
            url,
            "--delay-ms",
            "0",
            "--retries",
            "0",
            "-q",
        ])
        .args(fetch_args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
    )
}

/// The sheet config of `sheet` from the template.
pub fn config(sheet: &str) -> sheets::SheetConfig {
    let text =
        std::fs::read_to_string(template_dir().join(format!(".gitsheets/{sheet}.toml"))).unwrap();
    sheets::SheetConfig::parse(sheet, &text).unwrap()
}

/// The sheet a record path belongs to.
pub fn sheet_of(path: &str) -> &'static str {
    OWNED
        .iter()
        .find(|s| path.starts_with(&format!("{s}/")))
        .unwrap_or_else(|| panic!("{path} is not under an owned sheet"))
}

/// Commits `from..to`, oldest first: (id, author line, message).
pub fn commits(bare: &Path, from: &str, to: &str) -> Vec<(String, String, String)> {
    let out = git(
        bare,
        &[
            "log",
            "--reverse",
            "--format=%H%x1f%an <%ae>|%cn <%ce>%x1f%B%x1e",
            &format!("{from}..{to}"),
        ],
    );
    out.split('\u{1e}')
        .map(|c| c.trim_start_matches('\n'))
        .filter(|c| !c.is_empty())
        .map(|c| {
            let mut f = c.split('\u{1f}');
            (
                f.next().unwrap().to_owned(),
                f.next().unwrap().to_owned(),
                f.next().unwrap().to_owned(),
            )
        })
        .collect()
}

/// The raw commit message (exact bytes, via `git cat-file`).
pub fn message(bare: &Path, commit: &str) -> String {
    let raw = git(bare, &["cat-file", "commit", commit]);
    raw.split_once("\n\n").unwrap().1.to_owned()
}
