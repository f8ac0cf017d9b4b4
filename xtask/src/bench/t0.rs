//! Issue 15: `cargo xtask t0-delta` end to end at full scale — the outage window. The site is
//! imported at T-1 (one untimed `t0-delta` run: import, merge, prune, credentials), then
//! changed upstream by about 1 % (edited bios and project titles, a new photo, new people,
//! deleted people) and served with 50 ms per request; each timed run starts from a copy of the
//! T-1 repo, private store and media directory (`--media-dir`, as the runbook keeps it), with
//! the tools already built (`--no-build`). Beside it, the network floor: `laddr-fetch --concurrency 4` of the same
//! changed site, output discarded.

use super::setup::Ctx;
use super::{Args, Row, Runs, Section, measure_runs, met, ratio, run_logged, tool};
use fixtures::laddr::Site;
use fixtures::laddr_server::{Faults, LaddrServer};
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

const LATENCY: Duration = Duration::from_millis(50);
const GOAL: Duration = Duration::from_secs(5);
/// The reference's import and prune alone on this data (issue 15), for context.
const REFERENCE: &str = "about 96 s";
/// What every fetch of the benchmark passes to `laddr-fetch`.
const FETCH_ARGS: [&str; 2] = ["--concurrency=4", "--delay-ms=0"];

/// How the site changed between T-1 and T-0.
#[derive(Default)]
struct Changes {
    edited: usize,
    /// Of `edited`: people with a new photo.
    new_photos: usize,
    added: usize,
    deleted: usize,
}

pub fn run(ctx: &Ctx, a: &Args) -> crate::Result<Section> {
    let dir = ctx.dir().join("t0-delta");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let (t1_repo, t1_private) = prepare_t1(ctx, &dir)?;
    let mut site = ctx.site.clone();
    let changes = change_one_percent(&mut site);
    let rows_total = site_rows(&site);
    let server = LaddrServer::start(site, Faults::none().with_latency(LATENCY))
        .map_err(|e| format!("fixture server: {e}"))?;
    eprintln!(
        "xtask: bench t0-delta: {} edited, {} added, {} deleted of {rows_total} rows; {} runs",
        changes.edited, changes.added, changes.deleted, a.runs
    );
    let floor = measure_runs("t0-fetch-floor", &dir, a.runs, &[0], |_| {
        let mut c = tool(ctx.bin("laddr-fetch"));
        c.arg(format!("--source-url={}", server.url()))
            .args(FETCH_ARGS)
            .arg("--quiet")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        Ok(c)
    })?;
    let (repo, private, media) = (
        dir.join("t0.git"),
        dir.join("t0-private"),
        dir.join("t0-media"),
    );
    let t1_media = dir.join("t1-work").join("media");
    let mut works = Vec::new();
    // Exit 1 is a stage that did not pass (reported below); the timing still counts.
    let t0 = measure_runs("t0-delta", &dir, a.runs, &[0, 1], |i| {
        ctx.copy_repo(&t1_repo, &repo)?;
        ctx.copy_repo(&t1_private, &private)?;
        // The media dir's files are replaced by rename: the T-1 copy stays as it was.
        super::setup::link_copy(&t1_media, &media)?;
        let work = dir.join(format!("t0-work-{i}"));
        let _ = std::fs::remove_dir_all(&work);
        works.push(work.clone());
        let mut c = t0_delta(&server.url(), &repo, &private, &work);
        c.arg(format!("--media-dir={}", media.display()));
        Ok(c)
    })?;
    let stages = stage_medians(&works)?;
    let findings = reconcile_findings(&works[0])?;
    Ok(section(
        &changes, rows_total, &floor, &t0, &stages, &findings,
    ))
}

/// `xtask t0-delta` (this very binary) against `url`, with its work directory at `work`.
fn t0_delta(url: &str, repo: &Path, private: &Path, work: &Path) -> Command {
    let exe = std::env::current_exe().unwrap_or_else(|_| PathBuf::from("xtask"));
    let mut c = tool(exe);
    c.args(["t0-delta", "--no-build", "--source-url", url])
        .arg(format!("--data-repo={}", repo.display()))
        .arg(format!("--work-dir={}", work.display()))
        .args(FETCH_ARGS.map(|f| format!("--fetch-arg={f}")))
        .env("STORAGE_BACKEND", "filesystem")
        .env("CFP_PRIVATE_STORAGE_PATH", private)
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

/// The state at T-1: the configs, the evaluations branch and one `t0-delta` run (untimed)
/// over the unchanged site with the credentials export. Returns the repo and private store.
fn prepare_t1(ctx: &Ctx, dir: &Path) -> crate::Result<(PathBuf, PathBuf)> {
    let (repo, private) = (dir.join("t1.git"), dir.join("t1-private"));
    ctx.copy_repo(&ctx.template, &repo)?;
    std::fs::create_dir_all(&private).map_err(|e| format!("{}: {e}", private.display()))?;
    let data = sheets::DataRepo::open(&repo).map_err(|e| e.to_string())?;
    let evals = fixtures::evaluations::generate(&ctx.site);
    fixtures::evaluations::write_branch(&data, "spam-detection", &["empty"], &evals)
        .map_err(|e| format!("writing the spam-detection branch: {e}"))?;
    let csv = dir.join("credentials.csv");
    std::fs::write(&csv, fixtures::credentials::csv(&ctx.site))
        .map_err(|e| format!("{}: {e}", csv.display()))?;
    let server = LaddrServer::start(ctx.site.clone(), Faults::none())
        .map_err(|e| format!("fixture server: {e}"))?;
    let mut cmd = t0_delta(&server.url(), &repo, &private, &dir.join("t1-work"));
    cmd.arg(format!("--credentials={}", csv.display()));
    let cost = run_logged(&mut cmd, &dir.join("t1.log"), &[0, 1])?;
    eprintln!(
        "xtask: bench t0-delta: T-1 import, merge, prune and credentials in {:.1} s (not timed)",
        cost.wall.as_secs_f64()
    );
    Ok((repo, private))
}

fn site_rows(site: &Site) -> usize {
    lines::Resource::ALL
        .iter()
        .map(|r| site.rows(*r).len())
        .sum()
}

/// Change about 1 % of the site's rows the way a day of laddr does: bios edited, project
/// titles edited, people signing up, people deleted (only ones nothing else references, as
/// laddr removes the rest with them).
fn change_one_percent(site: &mut Site) -> Changes {
    let target = site_rows(site) / 100;
    let mut changes = Changes::default();
    let referenced = referenced_ids(site);
    let people = site.people.len();
    // Past the planted quirk rows, spread over the whole range.
    let step = (people / (target / 2).max(1)).max(1);
    for i in (50..people).step_by(step).take(target / 2) {
        if let Some(row) = site.people[i].as_object_mut() {
            let about = row.get("About").and_then(Value::as_str).unwrap_or("");
            let about = format!("{about}\n\nUpdated before the cutover.");
            row.insert("About".into(), Value::String(about));
            changes.edited += 1;
        }
    }
    changes.new_photos = new_photo(site, 50 + step);
    for project in site.projects.iter_mut().take(5) {
        if let Some(row) = project.as_object_mut() {
            let title = row.get("Title").and_then(Value::as_str).unwrap_or("");
            row.insert("Title".into(), Value::String(format!("{title} (renamed)")));
            changes.edited += 1;
        }
    }
    let mut next_id = site
        .people
        .iter()
        .filter_map(fixtures::laddr::row_id)
        .max()
        .unwrap_or(0);
    let template = site.people[people / 2].clone();
    for k in 0..target * 3 / 10 {
        next_id += 1;
        let mut row = template.clone();
        if let Some(m) = row.as_object_mut() {
            m.insert("ID".into(), next_id.into());
            m.insert("Username".into(), format!("t0-newcomer-{k}").into());
            m.insert("PrimaryPhotoID".into(), Value::Null);
        }
        site.people.push(row);
        changes.added += 1;
    }
    let deletable = target - changes.edited - changes.added;
    let mut seen = 0;
    site.people.retain(|row| {
        let id = fixtures::laddr::row_id(row).unwrap_or(0);
        let delete = seen < deletable && id % 97 == 3 && !referenced.contains(&id);
        seen += usize::from(delete);
        !delete
    });
    changes.deleted = seen;
    changes
}

/// Person `index` (one of the edited ones) gets a new photo, a medium laddr did not have at
/// T-1; returns how many people got one.
fn new_photo(site: &mut Site, index: usize) -> usize {
    let id = site
        .media
        .iter()
        .filter_map(fixtures::laddr::row_id)
        .max()
        .unwrap_or(0)
        + 1;
    let Some(person) = site.people.get_mut(index).and_then(Value::as_object_mut) else {
        return 0;
    };
    let person_id = person.get("ID").cloned().unwrap_or(Value::Null);
    person.insert("PrimaryPhotoID".into(), id.into());
    site.media.push(serde_json::json!({
        "ID": id, "Class": "PhotoMedia", "ContextClass": "Emergence\\People\\Person",
        "ContextID": person_id, "MIMEType": "image/jpeg", "Width": 800, "Height": 800,
        "Duration": null, "Caption": null, "Created": 1_700_000_000, "CreatorID": null,
    }));
    1
}

/// Every ID another row (or a membership) points at: any integer under a key ending in `ID`
/// below the top level of a row that is not a person.
fn referenced_ids(site: &Site) -> HashSet<i64> {
    fn walk(v: &Value, key_is_id: bool, out: &mut HashSet<i64>) {
        match v {
            Value::Number(n) if key_is_id => out.extend(n.as_i64()),
            Value::Array(items) => items.iter().for_each(|i| walk(i, key_is_id, out)),
            Value::Object(m) => m.iter().for_each(|(k, v)| walk(v, k.ends_with("ID"), out)),
            _ => {}
        }
    }
    let mut out: HashSet<i64> = fixtures::evaluations::member_ids(site)
        .into_iter()
        .collect();
    for r in lines::Resource::ALL {
        if r == lines::Resource::People {
            continue;
        }
        for row in site.rows(r) {
            walk(row, false, &mut out);
        }
    }
    for row in &site.people {
        // A person's own embedded rows (tags) may point at other people.
        if let Some(m) = row.as_object() {
            for (k, v) in m.iter().filter(|(k, _)| k.as_str() != "ID") {
                walk(v, k.ends_with("ID"), &mut out);
            }
        }
    }
    out
}

/// What the reconcile stage of the first run found, the reason for its exit 1: the people who
/// joined after the T-1 credentials import have no private profile (`orphanPublic`), the
/// profiles of people deleted upstream since have no person (`orphanPrivate`).
fn reconcile_findings(work: &Path) -> crate::Result<String> {
    let path = work.join("report.json");
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let v: Value = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
    let found: Vec<String> = v["reconcileReport"]
        .as_object()
        .into_iter()
        .flatten()
        .filter_map(|(k, v)| Some((k, v.as_array()?.len())))
        .filter(|(_, n)| *n > 0)
        .map(|(k, n)| format!("{k} {n}"))
        .collect();
    Ok(if found.is_empty() {
        "reconcile found nothing".into()
    } else {
        format!("reconcile found {}", found.join(", "))
    })
}

/// Median milliseconds of each stage over the runs' t0-delta reports, by name.
fn stage_medians(works: &[PathBuf]) -> crate::Result<Vec<(&'static str, Duration)>> {
    let mut reports = Vec::new();
    for w in works {
        let path = w.join("report.json");
        let text =
            std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let v: Value =
            serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?;
        reports.push(v);
    }
    let stages = ["import", "merge", "prune", "reconcile", "total"];
    Ok(stages
        .into_iter()
        .map(|s| {
            let ms = reports
                .iter()
                .map(|r| Duration::from_millis(r["durationsMs"][s].as_u64().unwrap_or(0)))
                .collect();
            (s, super::median(ms))
        })
        .collect())
}

fn section(
    changes: &Changes,
    rows_total: usize,
    floor: &Runs,
    t0: &Runs,
    stages: &[(&'static str, Duration)],
    findings: &str,
) -> Section {
    let stage = |name: &str| {
        stages
            .iter()
            .find(|(s, _)| *s == name)
            .map_or(Duration::ZERO, |s| s.1)
    };
    let sum: Duration = ["import", "merge", "prune", "reconcile"]
        .map(stage)
        .iter()
        .sum();
    let share = |d: Duration| 100.0 * d.as_secs_f64() / t0.median.as_secs_f64().max(1e-9);
    let shares: Vec<String> = ["import", "merge", "prune", "reconcile"]
        .iter()
        .map(|s| {
            format!(
                "{s} {:.3} s ({:.0} %)",
                stage(s).as_secs_f64(),
                share(stage(s))
            )
        })
        .collect();
    let other = t0.median.saturating_sub(sum);
    Section {
        title: format!(
            "t0-delta: the T-0 window end to end, {} of {rows_total} rows changed upstream, 50 ms per request",
            changes.edited + changes.added + changes.deleted
        ),
        what: format!(
            "`cargo xtask t0-delta` (fetch with `--concurrency 4 --delay-ms 0` piped into `sheet-write` onto \
             `legacy-import`, merge into `published`, `spam-prune`, `reconcile`) on a copy of the repo and \
             private store as the T-1 run left them, against the fixture server with the site changed upstream: \
             {} rows edited (bios, project titles; {} person with a new photo), {} people added, {} people \
             deleted, and 50 ms before every response. The media directory is a copy of the T-1 run's, \
             the tools are built beforehand (`--no-build`). The floor is `laddr-fetch` alone with the same options on the same server (the network \
             share no pipeline can avoid); ratios are against it. For context: the reference's import and prune \
             alone take {REFERENCE} on this data (its sequence cannot run here).",
            changes.edited, changes.new_photos, changes.added, changes.deleted
        ),
        rows: vec![
            Row {
                name: "floor: laddr-fetch --concurrency 4, output discarded".into(),
                median: floor.median,
                cpu: Some(floor.cpu),
                peak_rss: floor.peak_rss,
                ratio: "1.00x".into(),
            },
            Row {
                name: "cargo xtask t0-delta, end to end".into(),
                median: t0.median,
                cpu: Some(t0.cpu),
                peak_rss: t0.peak_rss,
                ratio: ratio(t0.median, floor.median),
            },
        ],
        verdicts: vec![
            format!(
                "Under 5 s wall: {} ({:.3} s wall, {:.3} s CPU; exit codes {:?}: {findings}, as the real \
                 T-0 will — people who joined since the T-1 credentials import, people deleted upstream since \
                 — which the report names for the operator).",
                met(t0.median < GOAL),
                t0.median.as_secs_f64(),
                t0.cpu.as_secs_f64(),
                t0.codes
            ),
            format!(
                "Stages (median of the runs' own reports): {}; their sum {:.3} s; the rest ({:.3} s) is \
                 starting the command, opening the repo and writing the report and its page.",
                shares.join(", "),
                sum.as_secs_f64(),
                other.as_secs_f64()
            ),
            format!(
                "Against the reference's import and prune alone ({REFERENCE}): the whole window takes {:.1}x less time.",
                96.0 / t0.median.as_secs_f64().max(1e-9)
            ),
        ],
    }
}
