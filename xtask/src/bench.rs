//! `cargo xtask bench`: every benchmark, each measured side by side with its baseline in the
//! same run (these machines are shared and noisy, so only medians and ratios are quoted), and
//! `docs/BENCHMARKS.md` rewritten from the results.
//!
//! Each measured thing runs as its own child process (`cargo xtask bench-child …`, hidden), so
//! its peak memory is its own (wait4's rusage).

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
    /// Records in the `sheets` write benchmark.
    #[arg(long, default_value_t = 100_000)]
    pub records: usize,
    /// Print the results but leave docs/BENCHMARKS.md alone.
    #[arg(long)]
    pub no_write: bool,
    /// Internal: run one measured piece of work (used by the benchmark itself).
    #[arg(long, hide = true, num_args = 1..)]
    pub child: Option<Vec<String>>,
}

pub fn run(a: Args) -> crate::Result<ExitCode> {
    if let Some(child) = &a.child {
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
    let sections = vec![sheets_write(&a)?];
    let doc = render_doc(&sections);
    println!("{doc}");
    if !a.no_write {
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
    pub peak_rss: u64,
    pub ratio: String,
}

fn render_doc(sections: &[Section]) -> String {
    let mut s = String::from(
        "# Benchmarks\n\nWritten by `cargo xtask bench` (do not edit by hand). Every row is the median of several \
         runs of a separate process; ratios compare rows measured in the same command on the same machine, \
         which is shared and noisy, so read ratios rather than absolute times. Peak memory is the process's own \
         maximum resident set (wait4).\n",
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
        "\nMachine: {} cores, {host}.\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    ));
    for sec in sections {
        s.push_str(&format!(
            "\n## {}\n\n{}\n\n| what | median | peak memory | ratio |\n|---|---:|---:|---:|\n",
            sec.title, sec.what
        ));
        for r in &sec.rows {
            s.push_str(&format!(
                "| {} | {:.3} s | {:.1} MB | {} |\n",
                r.name,
                r.median.as_secs_f64(),
                r.peak_rss as f64 / 1e6,
                r.ratio
            ));
        }
        if !sec.verdicts.is_empty() {
            s.push('\n');
            for v in &sec.verdicts {
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

/// Run `xtask bench --child <args>` `runs` times; the child prints its own work time in
/// seconds on stdout (setup excluded). Returns the median work time and the largest peak RSS.
fn measure_child(runs: usize, args: &[String]) -> crate::Result<(Duration, u64)> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut times = Vec::new();
    let mut peak = 0;
    for _ in 0..runs {
        let started = Instant::now();
        let child = Command::new(&exe)
            .arg("bench")
            .arg("--child")
            .args(args)
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start bench child: {e}"))?;
        let mut child = child;
        let mut out = String::new();
        if let Some(mut so) = child.stdout.take() {
            use std::io::Read;
            so.read_to_string(&mut out).map_err(|e| e.to_string())?;
        }
        let m = wait_measured(child, started)?;
        if !m.status.success() {
            return Err(format!("bench child {args:?} failed: {}", m.status));
        }
        let secs: f64 = out
            .trim()
            .parse()
            .map_err(|_| format!("bench child {args:?} printed {out:?}"))?;
        times.push(Duration::from_secs_f64(secs));
        peak = peak.max(m.peak_rss);
    }
    Ok((median(times), peak))
}

/// Run an external command `runs` times after `setup`; wall time and peak RSS of the command.
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
        let started = Instant::now();
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
        let m = wait_measured(child, started)?;
        if !m.status.success() {
            return Err(format!("{cmd:?} failed: {}", m.status));
        }
        times.push(m.wall);
        peak = peak.max(m.peak_rss);
    }
    Ok((median(times), peak))
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
        a.runs.min(3),
        || {
            let bare = fresh_bare(&dir)?;
            let mut c = Command::new("git");
            c.args(["fast-import", "--quiet"]).current_dir(bare);
            Ok(c)
        },
        Some(&stream),
    )?;
    let r = |x: Duration| format!("{:.2}x", x.as_secs_f64() / floor.as_secs_f64());
    Ok(Section {
        title: format!("sheets: {} small records as one commit into a fresh bare repo", a.records),
        what: "The floor is hashing and zlib-compressing the same blobs in one thread (the work no writer can \
               avoid). `sheets` builds the tree, commits and writes one pack + index, then CAS-updates the ref. \
               `git fast-import` writes the same blobs and one commit with them all in one directory. \
               Ratios are against the floor."
            .into(),
        rows: vec![
            Row { name: "floor: SHA-1 + zlib, one thread".into(), median: floor, peak_rss: floor_rss, ratio: "1.00x".into() },
            Row { name: "sheets (Transaction → pack)".into(), median: ours, peak_rss: ours_rss, ratio: r(ours) },
            Row { name: "git fast-import".into(), median: fi, peak_rss: fi_rss, ratio: r(fi) },
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
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let secs = match what {
        "floor" => {
            let records = bench_records(n);
            let started = Instant::now();
            let mut total = 0usize;
            for (_, bytes) in &records {
                let mut h = Sha1::new();
                h.update(format!("blob {}\0", bytes.len()).as_bytes());
                h.update(bytes);
                let id = h.finalize();
                let mut z = flate2::write::ZlibEncoder::new(
                    Vec::with_capacity(bytes.len()),
                    flate2::Compression::default(),
                );
                z.write_all(bytes).map_err(|e| e.to_string())?;
                let c = z.finish().map_err(|e| e.to_string())?;
                total += c.len() + id[0] as usize;
            }
            std::hint::black_box(total);
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
