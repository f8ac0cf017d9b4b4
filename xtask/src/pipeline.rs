//! The cutover pipeline as an operator types it: each tool a process, NDJSON through real
//! pipes, each tool's stderr kept in a log file of the work directory. `dry-run` and
//! `t0-delta` are built from these stages.

use lines::{LaddrLine, Resource};
use serde_json::Value;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::Instant;
pub use translate::count_diff::CountDiff;

/// The tool binaries, built once with the same profile as this xtask.
pub struct Tools {
    dir: PathBuf,
}

/// The tools the pipelines run (built by [`Tools::build`] and by the benchmark).
pub const TOOLS: [&str; 5] = [
    "laddr-fetch",
    "sheet-write",
    "spam-prune",
    "reconcile",
    "probe",
];

impl Tools {
    /// Build the tools (quietly; cargo does nothing when they are fresh) and find them next
    /// to this executable.
    pub fn build() -> crate::Result<Tools> {
        Self::build_or_find(true)
    }

    /// The tools as already built next to this executable (`build` false), else [`Tools::build`].
    pub fn build_or_find(build: bool) -> crate::Result<Tools> {
        if build {
            Self::cargo_build()?;
        }
        let exe = std::env::current_exe().map_err(|e| format!("where am I: {e}"))?;
        let dir = exe
            .parent()
            .ok_or("the xtask executable has no directory")?
            .to_path_buf();
        for t in TOOLS {
            if !dir.join(t).is_file() {
                return Err(format!("{} was not built in {}", t, dir.display()));
            }
        }
        Ok(Tools { dir })
    }

    fn cargo_build() -> crate::Result<()> {
        let mut cmd = crate::proc::cargo();
        cmd.args(["build", "--quiet", "--bins"]);
        if !cfg!(debug_assertions) {
            cmd.arg("--release");
        }
        for t in TOOLS {
            cmd.args(["-p", t]);
        }
        crate::proc::run(&mut cmd)?;
        Ok(())
    }

    pub fn cmd(&self, tool: &str) -> Command {
        Command::new(self.dir.join(tool))
    }
}

/// How one process (or pipe of processes) went.
#[derive(Debug, Clone, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Step {
    pub command: String,
    pub exit: Option<i32>,
    pub duration_ms: u128,
    pub log: String,
}

impl Step {
    pub fn ok(&self) -> bool {
        self.exit == Some(0)
    }
}

/// The shell form of a command, for logs and reports (secrets are never on command lines).
pub fn shell(cmd: &Command) -> String {
    let mut s = cmd
        .get_program()
        .to_string_lossy()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}

fn log_file(dir: &Path, name: &str) -> crate::Result<(File, PathBuf)> {
    let path = dir.join("logs").join(format!("{name}.log"));
    std::fs::create_dir_all(dir.join("logs")).map_err(|e| e.to_string())?;
    let f = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok((f, path))
}

fn code(s: ExitStatus) -> Option<i32> {
    s.code()
}

/// Run one tool, stdout to `stdout_to` (or discarded), stderr to `<dir>/logs/<name>.log`.
pub fn run_tool(
    dir: &Path,
    name: &str,
    mut cmd: Command,
    stdout_to: Option<&Path>,
) -> crate::Result<Step> {
    let (log, log_path) = log_file(dir, name)?;
    cmd.stderr(log).stdin(Stdio::null());
    match stdout_to {
        Some(p) => cmd.stdout(File::create(p).map_err(|e| format!("{}: {e}", p.display()))?),
        None => cmd.stdout(Stdio::null()),
    };
    let command = shell(&cmd);
    eprintln!("[xtask] $ {command}");
    let started = Instant::now();
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {command}: {e}"))?;
    Ok(Step {
        command,
        exit: code(status),
        duration_ms: started.elapsed().as_millis(),
        log: log_path.display().to_string(),
    })
}

/// `producer | consumer`: two processes joined by a real pipe.
pub fn run_pipe(
    dir: &Path,
    names: (&str, &str),
    mut producer: Command,
    mut consumer: Command,
) -> crate::Result<(Step, Step)> {
    let (log1, path1) = log_file(dir, names.0)?;
    let (log2, path2) = log_file(dir, names.1)?;
    let (c1, c2) = (shell(&producer), shell(&consumer));
    eprintln!("[xtask] $ {c1} | {c2}");
    let started = Instant::now();
    let mut first = producer
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(log1)
        .spawn()
        .map_err(|e| format!("cannot run {c1}: {e}"))?;
    let pipe = first.stdout.take().ok_or("no pipe")?;
    let second = consumer
        .stdin(pipe)
        .stdout(Stdio::null())
        .stderr(log2)
        .spawn();
    let mut second = match second {
        Ok(s) => s,
        Err(e) => {
            let _ = first.kill();
            let _ = first.wait();
            return Err(format!("cannot run {c2}: {e}"));
        }
    };
    let s1 = first.wait().map_err(|e| e.to_string())?;
    let t1 = started.elapsed();
    let s2 = second.wait().map_err(|e| e.to_string())?;
    let t2 = started.elapsed();
    Ok((
        Step {
            command: c1,
            exit: code(s1),
            duration_ms: t1.as_millis(),
            log: path1.display().to_string(),
        },
        Step {
            command: c2,
            exit: code(s2),
            duration_ms: t2.as_millis(),
            log: path2.display().to_string(),
        },
    ))
}

/// Read a JSON report a tool wrote; `None` when it wrote none (it failed before).
pub fn read_json(path: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(path).ok()?;
    serde_json::from_str(&text).ok()
}

/// The last lines of a log, for a failing stage's summary.
pub fn tail(path: &str, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Compare `laddr-fetch --totals` lines with the import report's counts (the rule is
/// [`translate::count_diff`]).
pub fn count_diffs(totals_ndjson: &str, import_report: Option<&Value>) -> Vec<CountDiff> {
    // A line that is not a totals line leaves its resource without a total: its row fails.
    let totals: std::collections::HashMap<Resource, u64> = totals_ndjson
        .lines()
        .filter_map(|line| match lines::parse_laddr_line(line) {
            Ok(Some(LaddrLine::Totals(t))) => Some((t.resource, t.total)),
            _ => None,
        })
        .collect();
    translate::count_diff::count_diffs(
        |resource| totals.get(&resource).copied(),
        |sheet| {
            import_report
                .and_then(|r| r["counts"][sheet]["imported"].as_u64())
                .unwrap_or(0)
        },
    )
}

/// `laddr-fetch | sheet-write` onto `branch`, keeping the page cache, the media
/// (`<work>/media`, kept across runs so a re-run fetches only new media) and both reports in
/// `work`. Returns the two steps and sheet-write's report.
pub struct Import {
    pub fetch: Step,
    pub write: Step,
    pub report: Option<Value>,
    /// laddr-fetch's `--json` report.
    pub fetch_report: Option<Value>,
}

impl Import {
    /// Validation errors over all sheets.
    pub fn validation_errors(&self) -> u64 {
        self.report
            .as_ref()
            .and_then(|r| r["counts"].as_object())
            .map(|c| c.values().filter_map(|v| v["errors"].as_u64()).sum())
            .unwrap_or(0)
    }

    /// Media laddr-fetch could not fetch (their records keep what they have).
    pub fn media_failed(&self) -> usize {
        self.fetch_report
            .as_ref()
            .and_then(|r| r["media"]["failed"].as_array())
            .map_or(0, Vec::len)
    }

    /// Every row fetched: exit 0, or exit 1 when only media failed (the report's `ok` covers
    /// the rows alone; a medium laddr no longer has must not stop the cutover).
    pub fn fetch_ok(&self) -> bool {
        let rows_ok = self.fetch_report.as_ref().is_some_and(|r| r["ok"] == true);
        self.fetch.ok() || (self.fetch.exit == Some(1) && rows_ok && self.media_failed() > 0)
    }

    /// Everything fetched, nothing failed validation or was skipped for an error.
    pub fn ok(&self) -> bool {
        self.fetch_ok() && self.write.ok() && self.report.is_some() && self.validation_errors() == 0
    }
}

pub struct ImportArgs<'a> {
    pub source_args: &'a [String],
    pub source_host: &'a str,
    pub data_repo: &'a str,
    pub branch: &'a str,
    pub now: &'a str,
    /// Where media go; `None`: `<work>/media`.
    pub media_dir: Option<&'a Path>,
}

pub fn import(tools: &Tools, work: &Path, a: &ImportArgs<'_>) -> crate::Result<Import> {
    // The media laddr-fetch downloads (`work/media` unless given, kept like the page cache so
    // a re-run fetches and encodes nothing again) and sheet-write attaches.
    let media = a
        .media_dir
        .map_or_else(|| work.join("media"), Path::to_path_buf);
    std::fs::create_dir_all(&media)
        .map_err(|e| format!("cannot create {}: {e}", media.display()))?;
    let mut fetch = tools.cmd("laddr-fetch");
    fetch
        .args(a.source_args)
        .args(["--cache-dir", &work.join("cache").display().to_string()])
        .args(["--media-dir", &media.display().to_string()])
        .args(["--json", &work.join("fetch.json").display().to_string()]);
    let mut write = tools.cmd("sheet-write");
    write
        .args(["--data-repo", a.data_repo, "--branch", a.branch])
        .args(["--source-host", a.source_host, "--now", a.now])
        .args(["--media-dir", &media.display().to_string()])
        .args(["--json", &work.join("import.json").display().to_string()]);
    let (fetch, write) = run_pipe(work, ("laddr-fetch", "sheet-write"), fetch, write)?;
    Ok(Import {
        fetch,
        write,
        report: read_json(&work.join("import.json")),
        fetch_report: read_json(&work.join("fetch.json")),
    })
}

/// `spam-prune` on the runtime branch; its report.
pub fn prune(
    tools: &Tools,
    work: &Path,
    data_repo: &str,
    evaluations_ref: &str,
    branch: &str,
) -> crate::Result<(Step, Option<Value>)> {
    let mut cmd = tools.cmd("spam-prune");
    cmd.args([
        "--data-repo",
        data_repo,
        "--evaluations-ref",
        evaluations_ref,
        "--branch",
        branch,
    ])
    .args(["--json", &work.join("prune.json").display().to_string()])
    .args(["--html", &work.join("prune.html").display().to_string()]);
    let step = run_tool(work, "spam-prune", cmd, Some(&work.join("pruned.ndjson")))?;
    Ok((step, read_json(&work.join("prune.json"))))
}

/// `reconcile import-credentials` (when a CSV is given) then the `reconcile` check, with the
/// private store from `env` (or the caller's environment).
pub fn reconcile(
    tools: &Tools,
    work: &Path,
    data_repo: &str,
    branch: &str,
    credentials: Option<&Path>,
    env: &[(String, String)],
) -> crate::Result<(Vec<Step>, Option<Value>)> {
    let mut steps = Vec::new();
    if let Some(csv) = credentials {
        let mut cmd = tools.cmd("reconcile");
        cmd.envs(env.iter().map(|(k, v)| (k, v)))
            .args(["import-credentials", "--input", &csv.display().to_string()])
            .args(["--data-repo", data_repo, "--branch", branch])
            .args([
                "--json",
                &work.join("credentials.json").display().to_string(),
            ]);
        steps.push(run_tool(
            work,
            "reconcile-import-credentials",
            cmd,
            Some(&work.join("credentials.ndjson")),
        )?);
    }
    let mut cmd = tools.cmd("reconcile");
    cmd.envs(env.iter().map(|(k, v)| (k, v)))
        .args(["--data-repo", data_repo, "--branch", branch])
        .args(["--json", &work.join("reconcile.json").display().to_string()])
        .args(["--html", &work.join("reconcile.html").display().to_string()]);
    steps.push(run_tool(
        work,
        "reconcile",
        cmd,
        Some(&work.join("reconcile.ndjson")),
    )?);
    Ok((steps, read_json(&work.join("reconcile.json"))))
}

/// One stage's line in a human summary: `  name  pass  (12 ms)  detail`.
pub fn stage_line(name: &str, ok: bool, ms: u128, detail: &str) -> String {
    let mark = if ok { "pass" } else { "FAIL" };
    let sep = if detail.is_empty() { "" } else { "  " };
    format!("  {name:<10} {mark}  ({ms} ms){sep}{detail}\n")
}

/// sheet-write's media counts in one line: `media people 65 written, 0 kept, 2 failed, 0
/// removed; blog-posts …`; empty when the report has none.
pub fn media_detail(import_report: Option<&Value>) -> String {
    let Some(media) = import_report.and_then(|r| r["media"].as_object()) else {
        return String::new();
    };
    let sheets: Vec<String> = media
        .iter()
        .map(|(sheet, c)| {
            let failed = c["failed"].as_array().map_or(0, Vec::len);
            format!(
                "{sheet} {} written, {} kept, {failed} failed, {} removed",
                c["written"], c["kept"], c["removed"]
            )
        })
        .collect();
    format!("media {}", sheets.join("; "))
}

/// What a spam-prune report says in one line.
pub fn prune_detail(report: Option<&Value>) -> String {
    report.map_or_else(String::new, |p| {
        format!(
            "people {} → {}, pruned {}",
            p["peopleBefore"], p["peopleAfter"], p["prunedPeople"]
        )
    })
}

/// The notes, then the last lines of every failing step's log.
pub fn notes_and_failures(notes: &[String], steps: &[Step]) -> String {
    let mut s = String::new();
    for n in notes {
        s.push_str(&format!("  note: {n}\n"));
    }
    for step in steps.iter().filter(|st| !st.ok()) {
        s.push_str(&format!(
            "  --- {} (exit {:?}), last lines of {}:\n",
            step.command, step.exit, step.log
        ));
        for line in tail(&step.log, 6).lines() {
            s.push_str(&format!("    {line}\n"));
        }
    }
    s
}

/// A work directory: the one given, or a temporary one (kept alive by the returned guard).
pub fn work_dir(given: Option<&Path>) -> crate::Result<(PathBuf, Option<tempfile::TempDir>)> {
    match given {
        Some(d) => {
            std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
            Ok((d.to_path_buf(), None))
        }
        None => {
            let t = tempfile::tempdir().map_err(|e| e.to_string())?;
            Ok((t.path().to_path_buf(), Some(t)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_total_fails_its_row() {
        let report =
            serde_json::json!({"counts": {"tags": {"imported": 3}, "people": {"imported": 2}}});
        let rows = count_diffs(
            "{\"v\":1,\"resource\":\"tags\",\"total\":3}\n",
            Some(&report),
        );
        assert!(rows[0].matched);
        assert_eq!(rows[1].sheet, "people");
        assert_eq!(rows[1].source_total, None);
        assert!(!rows[1].matched);
    }
}
