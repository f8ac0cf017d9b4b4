//! `cargo xtask bench`: every benchmark, each measured side by side with its baseline in the
//! same run (these machines are shared and noisy, so only medians and ratios are quoted), and
//! `docs/BENCHMARKS.md` rewritten from the results.
//!
//! Each measured thing runs as its own child process (the tools' release binaries, `git`, or
//! `cargo xtask bench --child …` for in-process work such as the floor), so its peak memory is
//! its own (wait4's rusage).
//!
//! Suites: `sheets` (issue 2) here; on the full-scale fixture site, `sheet-write` (issue 4),
//! `laddr-fetch` (issue 3), `spam-prune` (issue 5), `reconcile` (issue 6) and `t0-delta`
//! (issue 15) in `bench/`.

mod fetch;
mod media;
mod media_fetch;
mod prune;
mod reconcile;
mod setup;
mod snapshot;
mod t0;

use crate::proc::{root, wait_measured};
use sha1::{Digest, Sha1};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

#[derive(clap::Args)]
pub struct Args {
    /// Runs per measurement (the median is reported).
    #[arg(long, default_value_t = 5)]
    pub runs: usize,
    /// Runs of the slow baseline (`git fast-import` of the 100,000-record flat directory).
    #[arg(long, default_value_t = 1)]
    pub slow_runs: usize,
    /// Seed of the full-scale fixture site.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Run only these suites (sheets, sheet-write, laddr-fetch, media-fetch, spam-prune,
    /// reconcile, media, t0-delta; spam-prune is needed by reconcile). docs/BENCHMARKS.md is
    /// then left alone.
    #[arg(long, value_delimiter = ',', value_name = "SUITE,…")]
    pub only: Vec<String>,
    /// Records in the `sheets` write benchmark.
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    /// Keep the full-scale scratch directory (NDJSON, repos, reports, logs) and print its path.
    #[arg(long)]
    pub keep: bool,
    /// Print the results but leave docs/BENCHMARKS.md alone.
    #[arg(long)]
    pub no_write: bool,
    /// Internal: run one measured piece of work (used by the benchmark itself).
    #[arg(long, hide = true, num_args = 1..)]
    pub child: Option<Vec<String>>,
    /// Internal: the program and arguments the spawner runs (after `--`).
    #[arg(last = true, hide = true)]
    pub command: Vec<String>,
}

pub fn run(a: Args) -> crate::Result<ExitCode> {
    if let Some(child) = &a.child {
        if child.first().map(String::as_str) == Some("spawn") {
            return spawn_child(&a.command);
        }
        return run_child(child);
    }
    if cfg!(debug_assertions) {
        // Benchmarks mean nothing in a debug build: rerun this command optimised.
        let status = crate::proc::cargo()
            .args([
                "run",
                "--quiet",
                "--release",
                "--package",
                "xtask",
                "--",
                "bench",
            ])
            .args(std::env::args().skip(2))
            .status()
            .map_err(|e| format!("cannot rerun in release: {e}"))?;
        return Ok(if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if a.runs == 0 || a.slow_runs == 0 {
        return Err("--runs and --slow-runs must be at least 1".into());
    }
    const SUITES: [&str; 8] = [
        "sheets",
        "sheet-write",
        "laddr-fetch",
        "media-fetch",
        "spam-prune",
        "reconcile",
        "media",
        "t0-delta",
    ];
    if let Some(bad) = a.only.iter().find(|s| !SUITES.contains(&s.as_str())) {
        return Err(format!(
            "--only: unknown suite {bad:?} (one of {})",
            SUITES.join(", ")
        ));
    }
    let wanted = |s: &str| a.only.is_empty() || a.only.iter().any(|o| o == s);
    let started = Instant::now();
    let mut sections = Vec::new();
    if wanted("sheets") {
        sections.push(sheets_write(&a)?);
    }
    if wanted("media") {
        sections.push(media::run(&a)?);
    }
    // Every suite but `sheets` and `media` runs on the full-scale site.
    if SUITES
        .iter()
        .any(|s| !["sheets", "media"].contains(s) && wanted(s))
    {
        let ctx = setup::Ctx::new(a.seed)?;
        if wanted("sheet-write") {
            sections.push(snapshot::run(&ctx, &a)?);
        }
        if wanted("laddr-fetch") {
            sections.push(fetch::run(&ctx, &a)?);
        }
        if wanted("media-fetch") {
            sections.push(media_fetch::run(&ctx, &a)?);
        }
        if wanted("spam-prune") || wanted("reconcile") {
            let (section, pruned) = prune::run(&ctx, &a)?;
            sections.push(section);
            if wanted("reconcile") {
                sections.push(reconcile::run(&ctx, &a, &pruned)?);
            }
        }
        if wanted("t0-delta") {
            sections.push(t0::run(&ctx, &a)?);
        }
        if a.keep {
            eprintln!("xtask: bench: kept {}", ctx.keep().display());
        }
    }
    eprintln!(
        "xtask: bench: done in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    let doc = render_doc(&sections, &a);
    println!("{doc}");
    if !a.no_write && a.only.is_empty() {
        let path = root().join("docs/BENCHMARKS.md");
        std::fs::write(&path, &doc).map_err(|e| format!("writing {}: {e}", path.display()))?;
        eprintln!("xtask: wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// One benchmark's table for the document.
pub struct Section {
    pub title: String,
    pub what: String,
    pub rows: Vec<Row>,
    pub verdicts: Vec<String>,
}

pub struct Row {
    pub name: String,
    pub median: Duration,
    /// Median user + system CPU time, where the whole process is the measured thing.
    pub cpu: Option<Duration>,
    pub peak_rss: u64,
    pub ratio: String,
}

fn render_doc(sections: &[Section], a: &Args) -> String {
    let mut s = String::from(
        "# Benchmarks\n\nWritten by `cargo xtask bench` (do not edit by hand). Every row is the median of several \
         runs of a separate process; ratios compare rows measured in the same command on the same machine, \
         which is shared and noisy, so read ratios rather than absolute times. Peak memory is the process's own \
         maximum resident set (wait4, read by a small launcher process, so \
         readings of a few MB are the launcher's own). CPU is the median user + system time of the process \
         and the children it waited for; other work on the machine stretches wall times (most for the tools \
         that use both cores) far more than CPU times. `–`: the row times a section inside its process, whose \
         CPU time would include the setup.\n",
    );
    let host = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_owned())
        })
        .unwrap_or_default();
    s.push_str(&format!(
        "\nMachine: {} cores, {host}. Command: `cargo xtask bench --runs {} --slow-runs {} --seed {}`.\n",
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        a.runs,
        a.slow_runs,
        a.seed,
    ));
    for sec in sections {
        s.push_str(&format!(
            "\n## {}\n\n{}\n\n| what | median | CPU | peak memory | ratio |\n|---|---:|---:|---:|---:|\n",
            sec.title, sec.what
        ));
        for r in &sec.rows {
            s.push_str(&format!(
                "| {} | {:.3} s | {} | {:.1} MB | {} |\n",
                r.name,
                r.median.as_secs_f64(),
                r.cpu
                    .map_or("–".into(), |c| format!("{:.3} s", c.as_secs_f64())),
                r.peak_rss as f64 / 1e6,
                r.ratio
            ));
        }
        if !sec.verdicts.is_empty() {
            s.push('\n');
            for v in sec.verdicts.iter().filter(|v| !v.is_empty()) {
                s.push_str(&format!("- {v}\n"));
            }
        }
    }
    s
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

/// Where the spawner writes what its child cost (see [`tool`]).
const RESULT_ENV: &str = "XTASK_BENCH_RESULT";

/// A command to measure: `<this xtask> bench --child spawn -- <program> …`. Arguments, env,
/// working directory and stdio set on it reach `program` unchanged.
///
/// Why the spawner: Linux counts the RSS a process had when it was forked, before its exec,
/// into the child's peak (`ru_maxrss` is the larger of the two), so a child forked straight
/// from this bench process, which holds the fixture site and the blobs, would report our
/// memory instead of its own. The spawner is a fresh small process (a few MB); it forks the
/// program, times it and reads its wait4 rusage.
fn tool(program: impl AsRef<std::ffi::OsStr>) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("xtask"));
    let mut c = Command::new(exe);
    c.args(["bench", "--child", "spawn", "--"]).arg(program);
    c
}

/// The spawner (`bench --child spawn -- program …`): run the program with our stdio, env and
/// working directory; write `<wall ns> <raw wait status> <peak RSS bytes> <CPU ns>` to
/// $XTASK_BENCH_RESULT.
fn spawn_child(command: &[String]) -> crate::Result<ExitCode> {
    let result = std::env::var_os(RESULT_ENV).ok_or("spawn: XTASK_BENCH_RESULT is not set")?;
    let (program, args) = command.split_first().ok_or("spawn: no program")?;
    let started = Instant::now();
    let child = Command::new(program)
        .args(args)
        .env_remove(RESULT_ENV)
        .spawn()
        .map_err(|e| format!("cannot run {program}: {e}"))?;
    let m = wait_measured(child, started)?;
    // Our only child is reaped, so the children's usage is its usage (its own waited-for
    // children, such as git's helpers, included).
    // SAFETY: rusage is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `usage` is a valid, writable rusage; getrusage only fills it.
    if unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) } != 0 {
        return Err(format!("getrusage: {}", std::io::Error::last_os_error()));
    }
    let tv = |t: libc::timeval| t.tv_sec as u128 * 1_000_000_000 + t.tv_usec as u128 * 1_000;
    use std::os::unix::process::ExitStatusExt;
    let line = format!(
        "{} {} {} {}\n",
        m.wall.as_nanos(),
        m.status.into_raw(),
        m.peak_rss,
        tv(usage.ru_utime) + tv(usage.ru_stime)
    );
    std::fs::write(&result, line).map_err(|e| format!("{}: {e}", Path::new(&result).display()))?;
    Ok(ExitCode::SUCCESS)
}

/// Run a command made by [`tool`] to completion and return what the program cost, and its
/// stdout when `capture` (else stdout is whatever the command set).
/// What one measured run cost.
pub struct Cost {
    pub status: std::process::ExitStatus,
    pub wall: Duration,
    /// Peak resident set size in bytes.
    pub peak_rss: u64,
    /// User + system CPU time.
    pub cpu: Duration,
}

fn finish(cmd: &mut Command, capture: bool) -> crate::Result<(Cost, Vec<u8>)> {
    let result = tempfile::NamedTempFile::new().map_err(|e| format!("temp file: {e}"))?;
    cmd.env(RESULT_ENV, result.path());
    if capture {
        cmd.stdout(Stdio::piped());
    }
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    let mut out = Vec::new();
    if let Some(mut so) = child.stdout.take() {
        use std::io::Read;
        so.read_to_end(&mut out).map_err(|e| e.to_string())?;
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    let text = std::fs::read_to_string(result.path()).unwrap_or_default();
    let nums: Vec<i128> = text
        .split_whitespace()
        .filter_map(|t| t.parse().ok())
        .collect();
    let [wall, raw, peak, cpu] = nums[..] else {
        return Err(format!("{cmd:?}: the spawner failed ({status})"));
    };
    use std::os::unix::process::ExitStatusExt;
    Ok((
        Cost {
            status: std::process::ExitStatus::from_raw(raw as i32),
            wall: Duration::from_nanos(wall as u64),
            peak_rss: peak as u64,
            cpu: Duration::from_nanos(cpu as u64),
        },
        out,
    ))
}

/// Run `xtask bench --child <args>` `runs` times; the child prints its own work time in
/// seconds on stdout (setup excluded). Returns the median work time and the largest peak RSS.
fn measure_child(runs: usize, args: &[String]) -> crate::Result<(Duration, u64)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let mut cmd = tool(&exe);
        cmd.arg("bench").arg("--child").args(args);
        let (m, out) = finish(&mut cmd, true)?;
        if !m.status.success() {
            return Err(format!("bench child {args:?} failed: {}", m.status));
        }
        let out = String::from_utf8_lossy(&out);
        let secs: f64 = out
            .trim()
            .parse()
            .map_err(|_| format!("bench child {args:?} printed {out:?}"))?;
        eprintln!(
            "xtask: bench:   {} run {}/{runs}: {secs:.3} s, {:.1} MB",
            args.first().map_or("child", String::as_str),
            times.len() + 1,
            mb(m.peak_rss)
        );
        times.push(Duration::from_secs_f64(secs));
        peak = peak.max(m.peak_rss);
    }
    Ok((median(times), peak))
}

/// Run an external command `runs` times after `setup`; wall time and peak RSS of the command.
/// `setup` makes the command with [`tool`].
fn measure_command(
    runs: usize,
    mut setup: impl FnMut() -> crate::Result<Command>,
    stdin_file: Option<&Path>,
) -> crate::Result<(Duration, u64)> {
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let mut cmd = setup()?;
        if let Some(f) = stdin_file {
            cmd.stdin(std::fs::File::open(f).map_err(|e| e.to_string())?);
        }
        let (m, _) = finish(&mut cmd, false)?;
        if !m.status.success() {
            return Err(format!("{cmd:?} failed: {}", m.status));
        }
        eprintln!(
            "xtask: bench:   command run {}/{runs}: {:.3} s, {:.1} MB",
            times.len() + 1,
            m.wall.as_secs_f64(),
            mb(m.peak_rss)
        );
        times.push(m.wall);
        peak = peak.max(m.peak_rss);
    }
    Ok((median(times), peak))
}

/// Run `cmd` (made with [`tool`]) to completion with its stderr in `log` (the tools' progress
/// would drown ours), measuring it; an exit code outside `accept` is an error quoting the end
/// of the log.
fn run_logged(cmd: &mut Command, log: &Path, accept: &[i32]) -> crate::Result<Cost> {
    let f = std::fs::File::create(log).map_err(|e| format!("{}: {e}", log.display()))?;
    cmd.stderr(f);
    let (m, _) = finish(cmd, false)?;
    if m.status.code().is_none_or(|c| !accept.contains(&c)) {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(15).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(format!("{cmd:?} failed: {}\n{}", m.status, tail.join("\n")));
    }
    Ok(m)
}

/// What [`measure_runs`] found: the median wall time, the largest peak RSS, every exit code.
struct Runs {
    median: Duration,
    cpu: Duration,
    peak_rss: u64,
    codes: Vec<i32>,
}

/// Run the command `setup(i)` makes, `runs` times (setup is not timed); stdout goes to
/// /dev/null unless setup redirects it, stderr to `<dir>/<label>.log`.
fn measure_runs(
    label: &str,
    dir: &Path,
    runs: usize,
    accept: &[i32],
    mut setup: impl FnMut(usize) -> crate::Result<Command>,
) -> crate::Result<Runs> {
    let mut times = Vec::new();
    let mut cpus = Vec::new();
    let mut peak = 0;
    let mut codes = Vec::new();
    for i in 0..runs {
        let mut cmd = setup(i)?;
        let m = run_logged(&mut cmd, &dir.join(format!("{label}.log")), accept)?;
        eprintln!(
            "xtask: bench:   {label} run {}/{runs}: {:.3} s, {:.1} MB",
            i + 1,
            m.wall.as_secs_f64(),
            m.peak_rss as f64 / 1e6
        );
        times.push(m.wall);
        cpus.push(m.cpu);
        peak = peak.max(m.peak_rss);
        codes.push(m.status.code().unwrap_or(-1));
    }
    Ok(Runs {
        median: median(times),
        cpu: median(cpus),
        peak_rss: peak,
        codes,
    })
}

/// `x` as a multiple of `base`, e.g. `3.21x`.
fn ratio(x: Duration, base: Duration) -> String {
    format!("{:.2}x", x.as_secs_f64() / base.as_secs_f64().max(1e-9))
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

/// Whether a goal is met, for the verdict lines.
fn met(ok: bool) -> &'static str {
    if ok { "met" } else { "**missed**" }
}

/// The floor's work: SHA-1 of each blob as git names it, and zlib at level 6, in one
/// thread, with the compressor the writers use (one libdeflate call per blob, the
/// compressor reused). Returns a number that depends on every output so nothing is
/// optimised away.
fn floor_work<'a>(blobs: impl Iterator<Item = &'a [u8]>) -> crate::Result<usize> {
    let mut total = 0usize;
    let mut z = libdeflater::Compressor::new(libdeflater::CompressionLvl::default());
    let mut out = Vec::new();
    for bytes in blobs {
        let mut h = Sha1::new();
        h.update(format!("blob {}\0", bytes.len()).as_bytes());
        h.update(bytes);
        let id = h.finalize();
        out.resize(z.zlib_compress_bound(bytes.len()), 0);
        let c = z
            .zlib_compress(bytes, &mut out)
            .map_err(|e| e.to_string())?;
        total += c + id[0] as usize;
    }
    Ok(total)
}

/// Blobs for the floor child: each as a little-endian u32 length and the bytes.
fn write_blob_file(path: &Path, blobs: &[Vec<u8>]) -> crate::Result<()> {
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for b in blobs {
        let len = u32::try_from(b.len()).map_err(|_| "blob over 4 GB".to_string())?;
        w.write_all(&len.to_le_bytes())
            .and_then(|_| w.write_all(b))
            .map_err(|e| format!("{}: {e}", path.display()))?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}

fn read_blob_file(path: &Path) -> crate::Result<Vec<Vec<u8>>> {
    let data = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut out = Vec::new();
    let mut rest = &data[..];
    while !rest.is_empty() {
        let (len, tail) = rest
            .split_first_chunk::<4>()
            .ok_or_else(|| format!("{}: truncated", path.display()))?;
        let len = u32::from_le_bytes(*len) as usize;
        if tail.len() < len {
            return Err(format!("{}: truncated", path.display()));
        }
        out.push(tail[..len].to_vec());
        rest = &tail[len..];
    }
    Ok(out)
}

// ---- the sheets write benchmark (issue 2) -------------------------------------------------

/// `n` small person-like records, deterministic: (path under the root, TOML bytes).
fn bench_records(n: usize) -> Vec<(String, Vec<u8>)> {
    (0..n)
        .map(|i| {
            let rec = serde_json::json!({
                "id": format!("0190d3c4-{:04x}-7{:03x}-8{:03x}-{:012x}", i % 65536, i % 4096, (i * 7) % 4096, i),
                "legacyId": i,
                "slug": format!("member-{i:06}"),
                "slackSamlNameId": format!("member-{i:06}"),
                "fullName": format!("Member Number {i}"),
                "accountLevel": "user",
                "bio": format!("Volunteer #{i}.\nLikes maps, \"transit\" and civic tech."),
                "createdAt": "2018-02-17T13:58:57.000Z",
                "updatedAt": "2018-12-04T15:07:33.000Z",
            });
            let bytes = sheets::toml::to_string(rec.as_object().expect("object"))
                .expect("serialises")
                .into_bytes();
            (format!("member-{i:06}.toml"), bytes)
        })
        .collect()
}

fn git(dir: &Path, args: &[&str]) -> crate::Result<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| format!("git: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// A fresh bare repo whose `empty` branch is one commit of the empty tree.
fn fresh_bare(dir: &Path) -> crate::Result<PathBuf> {
    let bare = dir.join("data.git");
    let _ = std::fs::remove_dir_all(&bare);
    git(
        dir,
        &["init", "-q", "--bare", bare.to_str().unwrap_or("data.git")],
    )?;
    let tree = git(&bare, &["mktree"])?; // empty stdin → the empty tree
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=bench",
            "-c",
            "user.email=bench@example.org",
            "commit-tree",
            tree.trim(),
            "-m",
            "empty",
        ])
        .current_dir(&bare)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| e.to_string())?;
    let commit = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    git(&bare, &["update-ref", "refs/heads/empty", &commit])?;
    Ok(bare)
}

fn sheets_write(a: &Args) -> crate::Result<Section> {
    let n = a.records.to_string();
    eprintln!(
        "xtask: bench sheets-write: {n} records, {} runs each",
        a.runs
    );
    let (floor, floor_rss) = measure_child(a.runs, &["floor".into(), n.clone()])?;
    let (ours, ours_rss) = measure_child(a.runs, &["sheets-write".into(), n.clone()])?;

    // git fast-import of the same blobs and one commit with them all in one directory.
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let stream = tmp.path().join("stream");
    {
        let mut f =
            std::io::BufWriter::new(std::fs::File::create(&stream).map_err(|e| e.to_string())?);
        let records = bench_records(a.records);
        let mut w = |b: &[u8]| f.write_all(b).map_err(|e| e.to_string());
        for (i, (_, bytes)) in records.iter().enumerate() {
            w(format!("blob\nmark :{}\ndata {}\n", i + 1, bytes.len()).as_bytes())?;
            w(bytes)?;
            w(b"\n")?;
        }
        w(b"commit refs/heads/bench\ncommitter bench <bench@example.org> 0 +0000\ndata 5\nbench\nfrom refs/heads/empty\n")?;
        for (i, (path, _)) in records.iter().enumerate() {
            w(format!("M 100644 :{} records/{path}\n", i + 1).as_bytes())?;
        }
        w(b"\n")?;
    }
    let dir = tmp.path().to_path_buf();
    let (fi, fi_rss) = measure_command(
        a.slow_runs,
        || {
            let bare = fresh_bare(&dir)?;
            let mut c = tool("git");
            c.args(["fast-import", "--quiet"]).current_dir(bare);
            Ok(c)
        },
        Some(&stream),
    )?;
    let r = |x: Duration| format!("{:.2}x", x.as_secs_f64() / floor.as_secs_f64());
    Ok(Section {
        title: format!("sheets: {} small records as one commit into a fresh bare repo", a.records),
        what: "The floor is hashing and zlib-compressing (level 6, libdeflate, as the writers compress) the same blobs in one thread (the work no writer can \
               avoid). `sheets` builds the tree, commits and writes one pack + index, then CAS-updates the ref. \
               `git fast-import` writes the same blobs and one commit with them all in one directory. \
               Ratios are against the floor."
            .into(),
        rows: vec![
            Row { name: "floor: SHA-1 + zlib, one thread".into(), median: floor, cpu: None, peak_rss: floor_rss, ratio: "1.00x".into() },
            Row { name: "sheets (Transaction → pack)".into(), median: ours, cpu: None, peak_rss: ours_rss, ratio: r(ours) },
            Row { name: format!("git fast-import ({} run{})", a.slow_runs, if a.slow_runs == 1 { "" } else { "s" }), median: fi, cpu: None, peak_rss: fi_rss, ratio: r(fi) },
        ],
        verdicts: vec![
            format!(
                "sheets is {:.2}x the floor (goal: within 5x) and {:.1}x faster than git fast-import (goal: faster).",
                ours.as_secs_f64() / floor.as_secs_f64(),
                fi.as_secs_f64() / ours.as_secs_f64()
            ),
        ],
    })
}

fn run_child(args: &[String]) -> crate::Result<ExitCode> {
    let what = args.first().map(String::as_str).unwrap_or("");
    if what == "avatars" {
        return media::run_child(args);
    }
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let secs = match what {
        "floor" => {
            let records = bench_records(n);
            let started = Instant::now();
            std::hint::black_box(floor_work(records.iter().map(|(_, b)| &b[..]))?);
            started.elapsed()
        }
        "blobs-floor" => {
            let path = args.get(1).ok_or("blobs-floor needs a file")?;
            let blobs = read_blob_file(Path::new(path))?;
            let started = Instant::now();
            std::hint::black_box(floor_work(blobs.iter().map(Vec::as_slice))?);
            started.elapsed()
        }
        "sheets-write" => {
            let records = bench_records(n);
            let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
            let bare = fresh_bare(tmp.path())?;
            let started = Instant::now();
            let repo = sheets::DataRepo::open(&bare).map_err(|e| e.to_string())?;
            let parent = repo
                .parent_for("bench", &["empty"])
                .map_err(|e| e.to_string())?;
            let mut tx = sheets::Transaction::begin(&repo, parent).map_err(|e| e.to_string())?;
            tx.edit()
                .replace_dir("records", records)
                .map_err(|e| e.to_string())?;
            tx.commit(&sheets::CommitSpec::new("bench"))
                .map_err(|e| e.to_string())?;
            tx.finish().map_err(|e| e.to_string())?;
            started.elapsed()
        }
        other => return Err(format!("unknown bench child {other:?}")),
    };
    println!("{}", secs.as_secs_f64());
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_file_round_trips() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("blobs.bin");
        let blobs = vec![b"".to_vec(), b"x = 1\n".to_vec(), vec![0u8; 70_000]];
        write_blob_file(&path, &blobs).unwrap();
        assert_eq!(read_blob_file(&path).unwrap(), blobs);
        std::fs::write(&path, [5, 0, 0, 0, b'a']).unwrap();
        assert!(read_blob_file(&path).unwrap_err().contains("truncated"));
    }

    #[test]
    fn median_is_the_middle_run() {
        let ms = Duration::from_millis;
        assert_eq!(median(vec![ms(30), ms(10), ms(20)]), ms(20));
        assert_eq!(median(vec![ms(5)]), ms(5));
    }
}
