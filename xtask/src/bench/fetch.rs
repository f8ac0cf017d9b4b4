//! Issue 3: rows per second of the real `laddr-fetch`, sequential vs `--concurrency 4`, from
//! the full-scale fixture site on loopback with 50 ms of server latency per page.

use super::setup::Ctx;
use super::{Args, Row, Section, measure_runs, met, tool};
use fixtures::laddr_server::{Faults, LaddrServer};
use std::process::Stdio;
use std::time::Duration;

const LATENCY: Duration = Duration::from_millis(50);

pub fn run(ctx: &Ctx, a: &Args) -> crate::Result<Section> {
    let dir = ctx.dir().join("laddr-fetch");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let server = LaddrServer::start(ctx.site.clone(), Faults::none().with_latency(LATENCY))
        .map_err(|e| format!("fixture server: {e}"))?;
    let mut rows = Vec::new();
    let mut results = Vec::new();
    for concurrency in [1usize, 4] {
        eprintln!(
            "xtask: bench laddr-fetch: --concurrency {concurrency}, {} ms per page, {} runs",
            LATENCY.as_millis(),
            a.runs
        );
        let report = dir.join(format!("report-{concurrency}.json"));
        let r = measure_runs(
            &format!("laddr-fetch-c{concurrency}"),
            &dir,
            a.runs,
            &[0],
            |_| {
                let mut c = tool(ctx.bin("laddr-fetch"));
                c.arg(format!("--source-url={}", server.url()))
                    .arg(format!("--concurrency={concurrency}"))
                    // No politeness gap: the page latency is what is measured.
                    .args(["--delay-ms=0", "--quiet"])
                    .arg(format!("--json={}", report.display()))
                    .stdin(Stdio::null())
                    .stdout(Stdio::null());
                Ok(c)
            },
        )?;
        let rep: serde_json::Value = std::fs::read(&report)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| format!("{}: no laddr-fetch report", report.display()))?;
        let resources = rep["resources"].as_array().cloned().unwrap_or_default();
        let sum = |k: &str| -> u64 { resources.iter().filter_map(|r| r[k].as_u64()).sum() };
        results.push((concurrency, r, sum("rows"), sum("requests")));
    }
    let (_, seq, seq_rows, seq_req) = &results[0];
    let (_, par, par_rows, _) = &results[1];
    if seq_rows != par_rows {
        return Err(format!(
            "laddr-fetch returned {seq_rows} rows sequentially but {par_rows} with --concurrency 4"
        ));
    }
    let rate = |n: u64, d: Duration| n as f64 / d.as_secs_f64().max(1e-9);
    let speedup = rate(*par_rows, par.median) / rate(*seq_rows, seq.median);
    for (concurrency, r, n, _) in &results {
        rows.push(Row {
            name: format!(
                "--concurrency {concurrency}: {:.0} rows/s",
                rate(*n, r.median)
            ),
            median: r.median,
            cpu: Some(r.cpu),
            peak_rss: r.peak_rss,
            ratio: format!("{:.2}x", rate(*n, r.median) / rate(*seq_rows, seq.median)),
        });
    }
    Ok(Section {
        title: format!(
            "laddr-fetch: the full-scale site ({seq_rows} rows) with {} ms per page",
            LATENCY.as_millis()
        ),
        what: format!(
            "The real `laddr-fetch` release binary fetches all six resources from the fixture laddr server \
             on loopback (in the bench process), which adds {} ms before every response; {seq_req} \
             requests at the default page size, no politeness delay (`--delay-ms=0`), output discarded. \
             The ratio is rows per second against the sequential run.",
            LATENCY.as_millis()
        ),
        rows,
        verdicts: vec![format!(
            "`--concurrency 4` close to 4x sequential (3.2x or more counts as close): {} ({speedup:.2}x).",
            met(speedup >= 3.2)
        )],
    })
}
