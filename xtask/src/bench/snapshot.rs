//! Issue 4: the whole full-scale snapshot from a saved `laddr-fetch` NDJSON file into a fresh
//! bare repo by the real `sheet-write`, beside the floor (SHA-1 + zlib of the same blobs, one
//! thread), `git fast-import` of the same blobs and tree, and a no-op re-run.

use super::setup::{Ctx, NOW};
use super::{
    Args, Row, Runs, Section, git, mb, measure_child, measure_runs, met, ratio, tool,
    write_blob_file,
};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

/// The TypeScript importer on the same data from a loopback server (issue 4, DESIGN §6).
const REFERENCE: &str = "72 s and 350 MB";

/// What the benchmark measured.
struct Measured {
    ours: Runs,
    dry: Runs,
    noop: Runs,
    fast_import: Runs,
    /// Median time and peak memory of the floor.
    floor: (Duration, u64),
    records: usize,
    bytes: usize,
    commits: String,
    same_tree: bool,
    problems: u64,
    write_errors: usize,
}

pub fn run(ctx: &Ctx, a: &Args) -> crate::Result<Section> {
    let m = measure(ctx, a)?;
    Ok(Section {
        title: format!(
            "sheet-write: the full snapshot ({} records, {:.1} MB of TOML) into a fresh bare repo",
            m.records,
            m.bytes as f64 / 1e6
        ),
        what: what(ctx, &m),
        rows: rows(&m),
        verdicts: verdicts(ctx, &m),
    })
}

/// The write, its dry run and no-op re-run, the floor, and `git fast-import` of the same blobs.
fn measure(ctx: &Ctx, a: &Args) -> crate::Result<Measured> {
    let dir = ctx.dir().join("sheet-write");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let repo = dir.join("data.git");
    let report = dir.join("report.json");
    let write_cmd = |repo: &Path, json: &Path| {
        let mut c = tool(ctx.bin("sheet-write"));
        c.arg(format!("--data-repo={}", repo.display()))
            .args(["--branch=legacy-import", "--base=empty"])
            .arg(format!("--input={}", ctx.ndjson.display()))
            .arg(format!("--now={NOW}"))
            .arg(format!("--json={}", json.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        c
    };

    eprintln!(
        "xtask: bench sheet-write: full snapshot into a fresh bare repo, {} runs",
        a.runs
    );
    // Exit 1 means some rows were refused (reported below); the run still wrote the rest.
    let ours = measure_runs("sheet-write", &dir, a.runs, &[0, 1], |_| {
        ctx.copy_repo(&ctx.template, &repo)?;
        Ok(write_cmd(&repo, &report))
    })?;
    let rep: serde_json::Value = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("{}: no sheet-write report", report.display()))?;
    let problems = rep["problems"].as_u64().unwrap_or(0);
    let write_errors = rep["writeErrors"].as_array().map_or(0, Vec::len);
    let tip = git(&repo, &["rev-parse", "refs/heads/legacy-import"])?
        .trim()
        .to_owned();
    let commits = git(&repo, &["rev-list", "--count", "empty..legacy-import"])?
        .trim()
        .to_owned();

    // The blobs it wrote, read back (not timed): the input of the floor and of fast-import.
    let (paths, blobs) = written_blobs(&repo)?;
    let bytes: usize = blobs.iter().map(Vec::len).sum();
    eprintln!(
        "xtask: bench sheet-write: {} records, {:.1} MB of TOML, {commits} commits",
        blobs.len(),
        bytes as f64 / 1e6
    );
    let blob_file = dir.join("blobs.bin");
    write_blob_file(&blob_file, &blobs)?;
    let floor = measure_child(
        a.runs,
        &["blobs-floor".into(), blob_file.display().to_string()],
    )?;
    eprintln!(
        "xtask: bench sheet-write: floor {:.3} s",
        floor.0.as_secs_f64()
    );

    // The same with --dry-run on a fresh repo: reading, translating, encoding and planning,
    // nothing written; what is left of the write time is the writing itself.
    let dry_repo = dir.join("dry.git");
    let dry = measure_runs("sheet-write-dry-run", &dir, a.runs, &[0, 1], |_| {
        ctx.copy_repo(&ctx.template, &dry_repo)?;
        let mut c = write_cmd(&dry_repo, &dir.join("dry.json"));
        c.arg("--dry-run");
        Ok(c)
    })?;

    // No-op: the same input onto the repo it just wrote; nothing may change.
    let noop_report = dir.join("noop.json");
    let noop = measure_runs("sheet-write-noop", &dir, a.runs, &[0, 1], |_| {
        Ok(write_cmd(&repo, &noop_report))
    })?;
    let after = git(&repo, &["rev-parse", "refs/heads/legacy-import"])?;
    if after.trim() != tip {
        return Err(format!(
            "the no-op re-run moved legacy-import from {tip} to {}",
            after.trim()
        ));
    }

    let (fast_import, same_tree) = fast_import(ctx, a, &dir, &repo, &paths, blobs)?;
    Ok(Measured {
        ours,
        dry,
        noop,
        fast_import,
        floor,
        records: paths.len(),
        bytes,
        commits,
        same_tree,
        problems,
        write_errors,
    })
}

/// `git fast-import` of the same blobs and one commit of the same tree on top of `empty`;
/// also whether its tree is ours.
fn fast_import(
    ctx: &Ctx,
    a: &Args,
    dir: &Path,
    repo: &Path,
    paths: &[(String, u32)],
    blobs: Vec<Vec<u8>>,
) -> crate::Result<(Runs, bool)> {
    let stream = dir.join("fast-import.stream");
    write_stream(&stream, paths, &blobs)?;
    drop(blobs);
    let fi_repo = dir.join("fast-import.git");
    // As many runs as ours: at about the same speed, one noisy run would decide the verdict.
    let fi = measure_runs("git-fast-import", dir, a.runs, &[0], |_| {
        ctx.copy_repo(&ctx.template, &fi_repo)?;
        let mut c = tool("git");
        c.args(["fast-import", "--quiet"])
            .current_dir(&fi_repo)
            .stdin(std::fs::File::open(&stream).map_err(|e| e.to_string())?)
            .stdout(Stdio::null());
        Ok(c)
    })?;
    let ours_tree = git(repo, &["rev-parse", "refs/heads/legacy-import^{tree}"])?;
    let fi_tree = git(&fi_repo, &["rev-parse", "refs/heads/bench^{tree}"])?;
    Ok((fi, ours_tree.trim() == fi_tree.trim()))
}

fn what(ctx: &Ctx, m: &Measured) -> String {
    format!(
        "The real `sheet-write` release binary reads the full-scale fixture site as saved once by \
         `laddr-fetch` ({:.1} MB of NDJSON), translates it and writes {} per-sheet snapshot commits \
         onto `legacy-import`, starting from an `empty` branch that holds only the 12 sheet configs. The \
         floor hashes and zlib-compresses (level 6, one libdeflate call per blob, as the writers compress) the same blobs (read back from the written repo) in one thread. \
         `git fast-import` writes the same blobs and one commit of the same tree on top of `empty` \
         (same tree id as ours: {}). The no-op re-run is `sheet-write` again with the same input on the \
         repo it just wrote (branch unchanged, checked). Ratios are against the floor. For scale: the \
         TypeScript importer needs {REFERENCE} for the same data from a loopback server.",
        std::fs::metadata(&ctx.ndjson).map_or(0, |m| m.len()) as f64 / 1e6,
        m.commits,
        if m.same_tree { "yes" } else { "**no**" }
    )
}

fn rows(m: &Measured) -> Vec<Row> {
    let f = m.floor.0;
    let row = |name: &str, r: &Runs| Row {
        name: name.into(),
        median: r.median,
        cpu: Some(r.cpu),
        peak_rss: r.peak_rss,
        ratio: ratio(r.median, f),
    };
    vec![
        Row {
            name: "floor: SHA-1 + zlib of the same blobs, one thread".into(),
            median: f,
            cpu: None,
            peak_rss: m.floor.1,
            ratio: "1.00x".into(),
        },
        row("sheet-write, fresh repo", &m.ours),
        row(
            "sheet-write --dry-run, fresh repo (nothing written)",
            &m.dry,
        ),
        row("sheet-write, no-op re-run", &m.noop),
        row("git fast-import, same blobs and tree", &m.fast_import),
    ]
}

fn verdicts(ctx: &Ctx, m: &Measured) -> Vec<String> {
    let (ours, dry, noop, fi) = (&m.ours, &m.dry, &m.noop, &m.fast_import);
    let f = m.floor.0;
    let goal_floor = ours.median.as_secs_f64() <= 2.0 * f.as_secs_f64();
    let goal_fi = ours.median < fi.median;
    let goal_mem = ours.peak_rss < 300_000_000 && noop.peak_rss < 300_000_000;
    let goal_noop = noop.median <= f;
    vec![
        format!(
            "Within 2x of the floor (wall): {} ({:.2}x; CPU {:.3} s, {:.2}x).",
            met(goal_floor),
            ours.median.as_secs_f64() / f.as_secs_f64(),
            ours.cpu.as_secs_f64(),
            ours.cpu.as_secs_f64() / f.as_secs_f64()
        ),
        format!(
            "Faster than git fast-import: {} ({:.2}x as fast). fast-import is handed ready-made blobs; \
             sheet-write also parses and translates the NDJSON and encodes the TOML, which its --dry-run \
             alone takes {:.2} s of; the writing left ({:.2} s) is {:.2}x as fast as fast-import.",
            met(goal_fi),
            fi.median.as_secs_f64() / ours.median.as_secs_f64(),
            dry.median.as_secs_f64(),
            ours.median.saturating_sub(dry.median).as_secs_f64(),
            fi.median.as_secs_f64()
                / ours
                    .median
                    .saturating_sub(dry.median)
                    .as_secs_f64()
                    .max(1e-9)
        ),
        format!(
            "Peak memory under 300 MB: {} ({:.1} MB for the fresh write; the no-op re-run, which also \
             holds the records it read back from the branch, peaks at {:.1} MB, {} 300 MB).",
            met(goal_mem),
            mb(ours.peak_rss),
            mb(noop.peak_rss),
            if noop.peak_rss < 300_000_000 {
                "under"
            } else {
                "over"
            }
        ),
        format!(
            "No-op re-run within 1x of the floor (wall): {} ({:.2}x; CPU {:.3} s, {:.2}x).",
            met(goal_noop),
            noop.median.as_secs_f64() / f.as_secs_f64(),
            noop.cpu.as_secs_f64(),
            noop.cpu.as_secs_f64() / f.as_secs_f64()
        ),
        match &ctx.fetch_once {
            Some(fetch) => format!(
                "Against the TypeScript importer ({REFERENCE}, fetch included): fetching the site from the \
                 loopback server with `laddr-fetch --concurrency 4` (no latency, one run: {:.2} s, {:.1} MB) \
                 plus this write take {:.2} s, {:.0}x less time; sheet-write's peak is {:.1}x smaller.",
                fetch.wall.as_secs_f64(),
                mb(fetch.peak_rss),
                fetch.wall.as_secs_f64() + ours.median.as_secs_f64(),
                72.0 / (fetch.wall.as_secs_f64() + ours.median.as_secs_f64()),
                350e6 / ours.peak_rss.max(1) as f64
            ),
            None => String::new(),
        },
        format!(
            "sheet-write exit codes {:?}; its report on the fixture (which plants laddr's quirks): \
             {} row problems, {} write errors.",
            ours.codes, m.problems, m.write_errors
        ),
    ]
}

/// Every blob of `legacy-import` outside `.gitsheets/`: (path, mode, bytes sorted by path).
type Blobs = (Vec<(String, u32)>, Vec<Vec<u8>>);

fn written_blobs(repo: &Path) -> crate::Result<Blobs> {
    let data = sheets::DataRepo::open(repo).map_err(|e| e.to_string())?;
    let tip = data
        .resolve("refs/heads/legacy-import")
        .map_err(|e| e.to_string())?
        .ok_or("sheet-write left no legacy-import branch")?;
    let tree = data.tree_of(tip).map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    let mut blobs = Vec::new();
    for entry in data.walk_blobs(tree, "").map_err(|e| e.to_string())? {
        if entry.path.starts_with(".gitsheets/") {
            continue;
        }
        let (_, bytes) = data.read_object(entry.id).map_err(|e| e.to_string())?;
        paths.push((entry.path, entry.mode));
        blobs.push(bytes);
    }
    Ok((paths, blobs))
}

/// A fast-import stream: every blob, then one commit from `empty` naming them all.
fn write_stream(path: &Path, paths: &[(String, u32)], blobs: &[Vec<u8>]) -> crate::Result<()> {
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    let mut put = |b: &[u8]| {
        w.write_all(b)
            .map_err(|e| format!("{}: {e}", path.display()))
    };
    for (i, bytes) in blobs.iter().enumerate() {
        put(format!("blob\nmark :{}\ndata {}\n", i + 1, bytes.len()).as_bytes())?;
        put(bytes)?;
        put(b"\n")?;
    }
    put(b"commit refs/heads/bench\ncommitter bench <bench@example.org> 0 +0000\ndata 5\nbench\nfrom refs/heads/empty\n")?;
    for (i, (p, mode)) in paths.iter().enumerate() {
        // Quoted so any byte in a path is safe (C-style escapes are what fast-import reads).
        put(format!("M {mode:o} :{} {}\n", i + 1, quote(p)).as_bytes())?;
    }
    put(b"\n")?;
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}

fn quote(p: &str) -> String {
    let mut s = String::from("\"");
    for b in p.bytes() {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fast-import stream with quoted non-ASCII and quote-bearing paths gives the tree git
    /// itself builds from the same files.
    #[test]
    fn stream_paths_round_trip_through_fast_import() {
        let tmp = tempfile::tempdir().unwrap();
        let repo = super::super::fresh_bare(tmp.path()).unwrap();
        let paths = vec![
            ("people/jos\u{e9}.toml".to_owned(), 0o100644),
            ("tags/a \"b\"\\c.toml".to_owned(), 0o100644),
            ("tags/plain.toml".to_owned(), 0o100644),
        ];
        let blobs = vec![
            b"a = 1\n".to_vec(),
            b"b = 2\n".to_vec(),
            b"c = 3\n".to_vec(),
        ];
        let stream = tmp.path().join("stream");
        write_stream(&stream, &paths, &blobs).unwrap();
        let status = std::process::Command::new("git")
            .args(["fast-import", "--quiet"])
            .current_dir(&repo)
            .stdin(std::fs::File::open(&stream).unwrap())
            .status()
            .unwrap();
        assert!(status.success());
        let listed = git(
            &repo,
            &["ls-tree", "-r", "-z", "--name-only", "refs/heads/bench"],
        )
        .unwrap();
        let mut names: Vec<&str> = listed.split('\0').filter(|s| !s.is_empty()).collect();
        names.sort_unstable();
        let mut want: Vec<&str> = paths.iter().map(|(p, _)| p.as_str()).collect();
        want.sort_unstable();
        assert_eq!(names, want);
        let show = git(&repo, &["show", "refs/heads/bench:people/jos\u{e9}.toml"]).unwrap();
        assert_eq!(show, "a = 1\n");
    }
}
