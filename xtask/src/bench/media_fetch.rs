//! Issue 14: the media fetch of the real `laddr-fetch --media-dir`, `--media-concurrency 1`
//! against 8, from the full-scale fixture site on loopback with 50 ms of server latency per
//! request, and the T-0 re-run with the media directory kept (which must fetch nothing).

use super::setup::Ctx;
use super::{Args, Row, Section, measure_runs, met, run_logged, tool};
use fixtures::laddr_server::{Faults, LaddrServer};
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const LATENCY: Duration = Duration::from_millis(50);
const CONCURRENCY: [usize; 2] = [1, 8];

/// One configuration's media phase, as the runs' reports tell it.
struct Measured {
    concurrency: usize,
    /// Median of the reports' `media.durationMs` (the media phase alone).
    median: Duration,
    peak_rss: u64,
    report: Value,
}

pub fn run(ctx: &Ctx, a: &Args) -> crate::Result<Section> {
    let dir = ctx.dir().join("media-fetch");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let server = LaddrServer::start(ctx.site.clone(), Faults::none().with_latency(LATENCY))
        .map_err(|e| format!("fixture server: {e}"))?;
    // Generate every medium's bytes once, untimed, so no run pays for the server's encoding.
    fetch_once(ctx, &server.url(), &dir, "warm-up", 8)?;
    // The sequential fetch takes about four minutes (most of it the truncated media's retry
    // backoff, which the workers of a concurrent run wait out side by side): one run of it.
    let runs = a.runs.min(3);
    let mut measured = Vec::new();
    for concurrency in CONCURRENCY {
        let runs = if concurrency == 1 { 1 } else { runs };
        eprintln!("xtask: bench media fetch: --media-concurrency {concurrency}, {runs} runs");
        measured.push(measure(ctx, &server.url(), &dir, concurrency, runs)?);
    }
    let rerun = fetch_once(ctx, &server.url(), &dir, "c8-0", 8)?;
    let media = |r: &Value, k: &str| r["media"][k].as_u64().unwrap_or(0);
    let referenced = media(&measured[0].report, "referenced");
    let fetched = media(&measured[0].report, "fetched");
    if media(&measured[1].report, "fetched") != fetched {
        return Err("media fetch: sequential and concurrent runs stored different counts".into());
    }
    let rerun_fetched = media(&rerun, "fetched");
    let rate = |d: Duration| fetched as f64 / d.as_secs_f64().max(1e-9);
    let seq = measured[0].median;
    let speedup = rate(measured[1].median) / rate(seq);
    let mut rows: Vec<Row> = measured
        .iter()
        .map(|m| Row {
            name: format!(
                "--media-concurrency {}: {:.0} media/s",
                m.concurrency,
                rate(m.median)
            ),
            median: m.median,
            cpu: None,
            peak_rss: m.peak_rss,
            ratio: format!("{:.2}x", rate(m.median) / rate(seq)),
        })
        .collect();
    rows.push(Row {
        name: format!(
            "T-0 re-run, media dir kept: {rerun_fetched} fetched, {} already present, {} failed for good before (not asked), {} requests",
            media(&rerun, "alreadyPresent"),
            media(&rerun, "knownFailed"),
            media(&rerun, "requests")
        ),
        median: Duration::from_millis(media(&rerun, "durationMs")),
        cpu: None,
        peak_rss: 0,
        ratio: "-".into(),
    });
    Ok(Section {
        title: format!(
            "laddr-fetch --media-dir: {referenced} referenced media of the full-scale site with {} ms per request",
            LATENCY.as_millis()
        ),
        what: format!(
            "The real `laddr-fetch` release binary fetches people and blog (`--concurrency 4`) and then the \
             media they reference ({fetched} stored, {} failed: the site's broken media) into a fresh media \
             directory per run, from the fixture laddr server on loopback, which waits {} ms before every \
             response. The time is the media phase alone (the report's `media.durationMs`), one sequential run and \
             the median of {runs} concurrent ones; the retry policy is the default (5 retries, backoff from 0.5 s), \
             so each truncated medium costs about 12 s of waiting, which the concurrent workers overlap; the ratio is media per second against `--media-concurrency 1`. The last row re-runs into \
             the directory the previous run filled, as the T-0 delta does: media present are not fetched, media \
             that failed for good (404) are not asked for again, and the ones given up on after retries (the \
             truncated ones) get one attempt each.",
            referenced - fetched,
            LATENCY.as_millis()
        ),
        rows,
        verdicts: vec![
            format!(
                "`--media-concurrency 8` at least 6x sequential: {} ({speedup:.2}x).",
                met(speedup >= 6.0)
            ),
            format!(
                "The T-0 re-run with the media dir kept fetches no media: {} ({rerun_fetched} fetched).",
                met(rerun_fetched == 0)
            ),
        ],
    })
}

/// `runs` runs into fresh media directories; the median media phase and the last report.
fn measure(
    ctx: &Ctx,
    url: &str,
    dir: &Path,
    concurrency: usize,
    runs: usize,
) -> crate::Result<Measured> {
    let label = |i: usize| format!("c{concurrency}-{i}");
    let r = measure_runs(
        &format!("media-fetch-c{concurrency}"),
        dir,
        runs,
        &[0, 1],
        |i| {
            let media = dir.join(format!("media-{}", label(i)));
            let _ = std::fs::remove_dir_all(&media);
            Ok(command(ctx, url, dir, &label(i), concurrency))
        },
    )?;
    let mut times = Vec::new();
    let mut report = Value::Null;
    for i in 0..runs {
        report = read_report(&dir.join(format!("report-{}.json", label(i))))?;
        times.push(Duration::from_millis(
            report["media"]["durationMs"].as_u64().unwrap_or(0),
        ));
    }
    Ok(Measured {
        concurrency,
        median: super::median(times),
        peak_rss: r.peak_rss,
        report,
    })
}

/// One untimed run into `media-<label>` (kept as it is); its report.
fn fetch_once(
    ctx: &Ctx,
    url: &str,
    dir: &Path,
    label: &str,
    concurrency: usize,
) -> crate::Result<Value> {
    let mut cmd = command(ctx, url, dir, label, concurrency);
    run_logged(&mut cmd, &dir.join(format!("{label}.log")), &[0, 1])?;
    read_report(&dir.join(format!("report-{label}.json")))
}

fn command(
    ctx: &Ctx,
    url: &str,
    dir: &Path,
    label: &str,
    concurrency: usize,
) -> std::process::Command {
    let mut c = tool(ctx.bin("laddr-fetch"));
    c.arg(format!("--source-url={url}"))
        .args(["--resources=people,blog", "--concurrency=4"])
        .args(["--delay-ms=0", "--quiet"])
        .arg(format!("--media-concurrency={concurrency}"))
        .arg(format!(
            "--media-dir={}",
            dir.join(format!("media-{label}")).display()
        ))
        .arg(format!(
            "--json={}",
            dir.join(format!("report-{label}.json")).display()
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null());
    c
}

fn read_report(path: &Path) -> crate::Result<Value> {
    std::fs::read(path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("{}: no laddr-fetch report", path.display()))
}
