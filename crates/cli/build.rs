//! Records the commit this crate is built from as `CFP_BUILD_COMMIT`, for every tool's
//! `--version`. Reads `.git` files directly (no `git` process needed, worktrees included);
//! outside a checkout, or when the commit cannot be read, it is `unknown`. Setting
//! `CFP_BUILD_COMMIT` in the environment overrides it (builds from a source tarball).

use std::fs;
use std::path::{Path, PathBuf};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CFP_BUILD_COMMIT");
    let commit = match std::env::var("CFP_BUILD_COMMIT") {
        Ok(c) if !c.trim().is_empty() => c.trim().to_owned(),
        _ => std::env::var_os("CARGO_MANIFEST_DIR")
            .and_then(|dir| head_commit(Path::new(&dir)))
            .unwrap_or_else(|| "unknown".to_owned()),
    };
    println!("cargo:rustc-env=CFP_BUILD_COMMIT={commit}");
}

/// The short commit id HEAD points at, watching the files it was read from.
fn head_commit(start: &Path) -> Option<String> {
    let (git_dir, common_dir) = find_git_dir(start)?;
    let head_path = git_dir.join("HEAD");
    watch(&head_path);
    let head = fs::read_to_string(&head_path).ok()?;
    let head = head.trim();
    let id = match head.strip_prefix("ref: ") {
        None => head.to_owned(),
        Some(name) => resolve_ref(&git_dir, &common_dir, name)?,
    };
    let is_hex = id.len() >= 12 && id.bytes().all(|b| b.is_ascii_hexdigit());
    is_hex.then(|| id[..12].to_owned())
}

/// The git directory (per worktree) and the common directory (objects, refs, packed-refs)
/// of the checkout holding `start`.
fn find_git_dir(start: &Path) -> Option<(PathBuf, PathBuf)> {
    let dot_git = start
        .ancestors()
        .map(|d| d.join(".git"))
        .find(|p| p.exists())?;
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        // A worktree or submodule: `.git` is a file saying `gitdir: <path>`.
        watch(&dot_git);
        let text = fs::read_to_string(&dot_git).ok()?;
        let target = PathBuf::from(text.trim().strip_prefix("gitdir: ")?);
        match dot_git.parent() {
            Some(base) if target.is_relative() => base.join(target),
            _ => target,
        }
    };
    let common_dir = match fs::read_to_string(git_dir.join("commondir")) {
        Ok(rel) => git_dir.join(rel.trim()),
        Err(_) => git_dir.clone(),
    };
    Some((git_dir, common_dir))
}

/// A branch's commit: a loose ref file (per worktree first), else a line of `packed-refs`.
fn resolve_ref(git_dir: &Path, common_dir: &Path, name: &str) -> Option<String> {
    for dir in [git_dir, common_dir] {
        let loose = dir.join(name);
        if let Ok(text) = fs::read_to_string(&loose) {
            watch(&loose);
            return Some(text.trim().to_owned());
        }
    }
    // Not loose yet: a commit will create the file, so watch the folder it would appear in.
    if let Some(parent) = common_dir.join(name).parent() {
        watch(parent);
    }
    let packed = common_dir.join("packed-refs");
    watch(&packed);
    let text = fs::read_to_string(packed).ok()?;
    text.lines()
        .filter_map(|line| line.split_once(' '))
        .find(|(_, r)| *r == name)
        .map(|(id, _)| id.to_owned())
}

/// Rebuild when `path` changes; only existing paths (cargo reruns forever on a missing one).
/// Release builds only: in a dev build every commit would otherwise rebuild every tool crate
/// (they all depend on this one), so a dev `--version` names the commit of its first build.
fn watch(path: &Path) {
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    if release && path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
