//! What the full-scale benchmarks share, made once per `cargo xtask bench`: the release
//! binaries, the full fixture site, a bare data repo holding only the sheet configs, and the
//! site fetched once through the real `laddr-fetch` (not timed).

use super::{Cost, git, run_logged, tool};
use fixtures::laddr::{Scale, Site};
use fixtures::laddr_server::{Faults, LaddrServer};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

/// The run timestamp passed to every tool, so repeated runs translate identically.
pub const NOW: &str = "2026-05-18T00:00:00.000Z";

pub struct Ctx {
    /// Scratch space for the whole benchmark; removed when dropped.
    pub tmp: tempfile::TempDir,
    /// Where the release binaries are (next to this xtask binary).
    pub bin_dir: PathBuf,
    pub site: Site,
    /// A bare repo whose `empty` branch holds `.gitsheets/` (the 12 configs) and nothing else.
    pub template: PathBuf,
    /// `laddr-fetch` NDJSON of the whole site.
    pub ndjson: PathBuf,
    /// What that one fetch cost (loopback, no latency, `--concurrency 4`).
    pub fetch_once: Option<Cost>,
}

impl Ctx {
    pub fn new(seed: u64) -> crate::Result<Ctx> {
        build_release()?;
        let tmp = tempfile::Builder::new()
            .prefix("xtask-bench-")
            .tempdir()
            .map_err(|e| format!("temp dir: {e}"))?;
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let bin_dir = exe
            .parent()
            .map(Path::to_path_buf)
            .ok_or("xtask binary has no directory")?;
        let started = Instant::now();
        let site = fixtures::laddr::generate(seed, Scale::Full);
        eprintln!(
            "xtask: bench: full fixture (seed {seed}): {} people, {} tags, {} projects, {} updates, {} buzz, {} blog posts ({:.1} s)",
            site.people.len(),
            site.tags.len(),
            site.projects.len(),
            site.project_updates.len(),
            site.project_buzz.len(),
            site.blog.len(),
            started.elapsed().as_secs_f64()
        );
        let template = template_repo(tmp.path())?;
        let mut ctx = Ctx {
            bin_dir,
            site,
            template,
            ndjson: tmp.path().join("laddr.ndjson"),
            fetch_once: None,
            tmp,
        };
        ctx.fetch_once()?;
        Ok(ctx)
    }

    /// Keep the scratch directory instead of removing it; its path.
    pub fn keep(self) -> PathBuf {
        self.tmp.keep()
    }

    pub fn dir(&self) -> &Path {
        self.tmp.path()
    }

    pub fn bin(&self, name: &str) -> PathBuf {
        self.bin_dir.join(name)
    }

    /// A fresh copy of `from` (a bare repo) at `to`, replacing whatever is there.
    pub fn copy_repo(&self, from: &Path, to: &Path) -> crate::Result<()> {
        copy_dir(from, to)
    }

    /// The whole site through the real `laddr-fetch`, from the fixture server on loopback
    /// with no latency, saved for the writers.
    fn fetch_once(&mut self) -> crate::Result<()> {
        let started = Instant::now();
        let server = LaddrServer::start(self.site.clone(), Faults::none())
            .map_err(|e| format!("fixture server: {e}"))?;
        let out = std::fs::File::create(&self.ndjson)
            .map_err(|e| format!("{}: {e}", self.ndjson.display()))?;
        let mut cmd = tool(self.bin("laddr-fetch"));
        cmd.arg(format!("--source-url={}", server.url()))
            .args(["--concurrency=4", "--delay-ms=0", "--quiet"])
            .stdin(Stdio::null())
            .stdout(out);
        self.fetch_once = Some(run_logged(
            &mut cmd,
            &self.dir().join("fetch-once.log"),
            &[0],
        )?);
        let size = std::fs::metadata(&self.ndjson).map_or(0, |m| m.len());
        eprintln!(
            "xtask: bench: fetched the site once with laddr-fetch: {:.1} MB of NDJSON ({:.1} s, not timed)",
            size as f64 / 1e6,
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// Build the tools' release binaries once, before anything is timed.
fn build_release() -> crate::Result<()> {
    eprintln!(
        "xtask: bench: building release binaries: {}",
        crate::pipeline::TOOLS.join(", ")
    );
    let mut cmd = crate::proc::cargo();
    cmd.args(["build", "--release", "--quiet", "--bins"]);
    for t in crate::pipeline::TOOLS {
        cmd.args(["--package", t]);
    }
    crate::proc::run(&mut cmd)
}

/// The sheet configs committed under `testdata/data-repo-template/.gitsheets/`.
fn config_dir() -> PathBuf {
    crate::proc::root().join("testdata/data-repo-template/.gitsheets")
}

/// A bare repo whose `empty` branch is one commit holding the 12 sheet configs, made with the
/// git CLI as an operator would (`git init`, commit, `git clone --bare`).
fn template_repo(dir: &Path) -> crate::Result<PathBuf> {
    let work = dir.join("template-work");
    let configs = work.join(".gitsheets");
    std::fs::create_dir_all(&configs).map_err(|e| format!("{}: {e}", configs.display()))?;
    let src = config_dir();
    let entries = std::fs::read_dir(&src).map_err(|e| format!("{}: {e}", src.display()))?;
    let mut n = 0;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        if entry.path().extension().is_some_and(|x| x == "toml") {
            std::fs::copy(entry.path(), configs.join(entry.file_name()))
                .map_err(|e| format!("{}: {e}", entry.path().display()))?;
            n += 1;
        }
    }
    if n != 12 {
        return Err(format!(
            "{} holds {n} sheet configs, expected 12",
            src.display()
        ));
    }
    git(&work, &["init", "-q", "-b", "empty"])?;
    git(&work, &["add", "-A"])?;
    git(
        &work,
        &[
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.org",
            "commit",
            "-q",
            "-m",
            "sheet configs",
        ],
    )?;
    let bare = dir.join("template.git");
    let bare_s = bare.to_str().ok_or("temp path is not UTF-8")?;
    let work_s = work.to_str().ok_or("temp path is not UTF-8")?;
    git(dir, &["clone", "-q", "--bare", work_s, bare_s])?;
    Ok(bare)
}

fn copy_dir(from: &Path, to: &Path) -> crate::Result<()> {
    fresh_cp(from, to, "-a")
}

/// A fresh copy of `from` at `to` with every file hard-linked (for directories whose files
/// are replaced by rename, never written in place, so the copy cannot change `from`).
pub fn link_copy(from: &Path, to: &Path) -> crate::Result<()> {
    fresh_cp(from, to, "-al")
}

/// `cp <flags> from to`, replacing whatever is at `to`.
fn fresh_cp(from: &Path, to: &Path, flags: &str) -> crate::Result<()> {
    if to.exists() {
        std::fs::remove_dir_all(to).map_err(|e| format!("{}: {e}", to.display()))?;
    }
    crate::proc::run(Command::new("cp").arg(flags).arg(from).arg(to))
}
