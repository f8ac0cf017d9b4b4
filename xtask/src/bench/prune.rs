//! Issue 5: the real `spam-prune`, dry run and real run, on the full-scale site imported onto
//! `published` with its `spam-detection` evaluations; each run on a fresh copy of the same
//! prepared repo.

use super::setup::{Ctx, NOW};
use super::{Args, Row, Runs, Section, git, mb, measure_runs, met, ratio, run_logged, tool};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// Issue 15's goals for each of the dry run and the real run.
const GOAL_WALL: Duration = Duration::from_millis(400);
const GOAL_CPU: Duration = Duration::from_millis(500);

/// Returns the section and a repo as the real run left it (for the reconcile benchmark).
pub fn run(ctx: &Ctx, a: &Args) -> crate::Result<(Section, PathBuf)> {
    let dir = ctx.dir().join("spam-prune");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (prepared, evaluations, published) = prepare(ctx, &dir)?;

    // Baseline: git listing every file of the evaluations branch (trees only, no blobs).
    let baseline = measure_runs("git-ls-tree", &dir, a.runs, &[0], |_| {
        let mut c = tool("git");
        c.args(["ls-tree", "-r", "refs/heads/spam-detection"])
            .current_dir(&prepared)
            .stdout(Stdio::null());
        Ok(c)
    })?;
    let work = dir.join("run.git");
    let mut measured = Vec::new();
    for (label, dry) in [("dry-run", true), ("real run", false)] {
        let (r, report) = measure_prune(ctx, a, &dir, &prepared, &work, &published, dry)?;
        measured.push((label, r, report));
    }
    let pruned = dir.join("pruned.git");
    ctx.copy_repo(&work, &pruned)?;
    Ok((section(&baseline, &measured, evaluations), pruned))
}

/// The full-scale site imported onto `published` with its `spam-detection` evaluations:
/// the repo, the number of evaluations and the `published` tip.
fn prepare(ctx: &Ctx, dir: &Path) -> crate::Result<(PathBuf, usize, String)> {
    let prepared = dir.join("prepared.git");
    let started = Instant::now();
    ctx.copy_repo(&ctx.template, &prepared)?;
    let mut cmd = tool(ctx.bin("sheet-write"));
    cmd.arg(format!("--data-repo={}", prepared.display()))
        .args(["--branch=published", "--base=empty"])
        .arg(format!("--input={}", ctx.ndjson.display()))
        .arg(format!("--now={NOW}"))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    run_logged(&mut cmd, &dir.join("import.log"), &[0, 1])?;
    let evals = fixtures::evaluations::generate(&ctx.site);
    let data = sheets::DataRepo::open(&prepared).map_err(|e| e.to_string())?;
    fixtures::evaluations::write_branch(&data, "spam-detection", &["published"], &evals)
        .map_err(|e| format!("writing the spam-detection branch: {e}"))?;
    eprintln!(
        "xtask: bench spam-prune: prepared {} (published + {} evaluations) in {:.1} s",
        prepared.display(),
        evals.len(),
        started.elapsed().as_secs_f64()
    );
    let published = git(&prepared, &["rev-parse", "refs/heads/published"])?
        .trim()
        .to_owned();
    Ok((prepared, evals.len(), published))
}

/// `spam-prune` (dry or real) on fresh copies of the prepared repo: its runs and its report.
fn measure_prune(
    ctx: &Ctx,
    a: &Args,
    dir: &Path,
    prepared: &Path,
    work: &Path,
    published: &str,
    dry: bool,
) -> crate::Result<(Runs, serde_json::Value)> {
    let label = if dry { "dry-run" } else { "real run" };
    eprintln!("xtask: bench spam-prune: {label}, {} runs", a.runs);
    let report = dir.join(format!("report-{dry}.json"));
    let out = dir.join(format!("out-{dry}.ndjson"));
    let r = measure_runs(
        &format!("spam-prune-{}", if dry { "dry" } else { "real" }),
        dir,
        a.runs,
        &[0],
        |_| {
            ctx.copy_repo(prepared, work)?;
            let mut c = tool(ctx.bin("spam-prune"));
            c.arg(format!("--data-repo={}", work.display()))
                .arg(format!("--json={}", report.display()))
                .stdin(Stdio::null())
                .stdout(std::fs::File::create(&out).map_err(|e| e.to_string())?);
            if dry {
                c.arg("--dry-run");
            }
            Ok(c)
        },
    )?;
    let tip = git(work, &["rev-parse", "refs/heads/published"])?;
    if (tip.trim() == published) != dry {
        return Err(format!(
            "spam-prune {label}: published is {} (was {published})",
            tip.trim()
        ));
    }
    let rep: serde_json::Value = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("{}: no spam-prune report", report.display()))?;
    Ok((r, rep))
}

fn section(
    baseline: &Runs,
    measured: &[(&str, Runs, serde_json::Value)],
    evaluations: usize,
) -> Section {
    let rep = &measured[1].2;
    let n = |k: &str| rep[k].as_u64().unwrap_or(0);
    let mut rows = vec![Row {
        name: "baseline: `git ls-tree -r spam-detection`".into(),
        median: baseline.median,
        cpu: Some(baseline.cpu),
        peak_rss: baseline.peak_rss,
        ratio: "1.00x".into(),
    }];
    let mut verdicts = Vec::new();
    for (label, r, _) in measured {
        rows.push(Row {
            name: format!("spam-prune {label}"),
            median: r.median,
            cpu: Some(r.cpu),
            peak_rss: r.peak_rss,
            ratio: ratio(r.median, baseline.median),
        });
        verdicts.push(format!(
            "{label} under {:.1} s wall: {} ({:.3} s); under {:.1} s CPU: {} ({:.3} s); peak {:.1} MB.",
            GOAL_WALL.as_secs_f64(),
            met(r.median < GOAL_WALL),
            r.median.as_secs_f64(),
            GOAL_CPU.as_secs_f64(),
            met(r.cpu < GOAL_CPU),
            r.cpu.as_secs_f64(),
            mb(r.peak_rss),
        ));
    }
    Section {
        title: format!(
            "spam-prune: {} people, {} evaluations",
            n("peopleBefore"),
            evaluations
        ),
        what: format!(
            "The real `spam-prune` release binary on the full-scale site as `sheet-write` imports it onto \
                 `published`, with the fixture's `spam-detection` branch (`published` plus {} evaluations). \
                 Each run gets a fresh copy of the same prepared repo. The real run pruned {} people ({} kept \
                 by a membership; {} people after), deleted {} memberships, {} help-wanted interests and {} \
                 person tag assignments, and wrote one commit. The baseline is git listing every file of the \
                 evaluations branch (trees read, no blobs); ratios are against it.",
            evaluations,
            n("prunedPeople"),
            n("protectedByMembership"),
            n("peopleAfter"),
            n("membershipsDeleted"),
            n("helpWantedInterestDeleted"),
            n("personTagAssignmentsDeleted"),
        ),
        rows,
        verdicts,
    }
}
