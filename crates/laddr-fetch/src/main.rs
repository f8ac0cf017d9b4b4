//! laddr-fetch: pull every laddr list endpoint as lossless NDJSON (see docs/ndjson.md).

use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;
use laddr::{Client, FetchError, Fetched, Options, Report, Resource};

const AFTER_HELP: &str = "\
Output: one line per row, {\"v\":1,\"resource\":\"<name>\",\"row\":<the row exactly as laddr sent it>},
ordered by resource (tags, people, projects, project-updates, project-buzz, blog) and by ID.
After each resource's rows, one end line:
{\"v\":1,\"resource\":\"<name>\",\"end\":{\"rows\":<rows written>,\"total\":<server total or null>,\"complete\":<bool>}}
complete is true only when the resource came back whole (false when rows were lost, and always
with --limit), so a reader such as sheet-write can refuse to take a partial fetch as a snapshot.
With --totals: {\"v\":1,\"resource\":\"<name>\",\"total\":<n>} per resource.

Exit codes: 0 every resource complete; 1 ran, but rows were lost (a page laddr could not encode),
malformed, or did not add up to the server's total; 2 usage or fatal error (nothing is written).

Examples:
  laddr-fetch > laddr.ndjson
  laddr-fetch --concurrency 4 --cache-dir cache/t-1 --json=fetch-report.json > t-1.ndjson
  laddr-fetch --offline --cache-dir cache/t-1 > t-1-replay.ndjson
  laddr-fetch --totals
  laddr-fetch --source-url http://127.0.0.1:8080 --resources tags,people --limit 50 | head";

/// Fetch laddr's public JSON list endpoints as NDJSON, exactly once per row.
#[derive(Debug, Parser)]
#[command(name = "laddr-fetch", version, about, after_help = AFTER_HELP)]
struct Args {
    /// laddr host, fetched over https.
    #[arg(long, default_value = "codeforphilly.org")]
    source_host: String,
    /// Any base URL instead of https://<source-host> (e.g. http://127.0.0.1:8080).
    #[arg(long)]
    source_url: Option<String>,
    /// Comma-separated resources to fetch (default: all six).
    #[arg(long, value_delimiter = ',')]
    resources: Vec<Resource>,
    /// Rows per page (laddr has no maximum; keep it modest).
    #[arg(long, default_value_t = 200)]
    page_size: u64,
    /// Parallel page requests per resource.
    #[arg(long, default_value_t = 1)]
    concurrency: usize,
    /// Minimum gap between two requests of one worker, in milliseconds.
    #[arg(long, default_value_t = 250)]
    delay_ms: u64,
    /// Per-request timeout (connect to last body byte), in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    timeout_ms: u64,
    /// Retries per request on network errors, timeouts, bad bodies, 5xx, 429 and success:false.
    #[arg(long, default_value_t = 5)]
    retries: u32,
    /// First retry backoff in milliseconds (doubles per retry, with jitter).
    #[arg(long, default_value_t = 500)]
    retry_base_ms: u64,
    /// Largest backoff in milliseconds (a server's Retry-After is honoured as sent).
    #[arg(long, default_value_t = 30_000)]
    retry_max_ms: u64,
    /// User-Agent header.
    #[arg(long, default_value = concat!("laddr-fetch/", env!("CARGO_PKG_VERSION")))]
    user_agent: String,
    /// Keep every raw page in DIR (for --offline replay and comparing runs).
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
    /// Replay --cache-dir without any network access; output is byte-identical.
    #[arg(long, requires = "cache_dir")]
    offline: bool,
    /// Print only each resource's total.
    #[arg(long)]
    totals: bool,
    /// At most N rows per resource (lowest IDs); skips the total check.
    #[arg(long, value_name = "N")]
    limit: Option<u64>,
    /// Treat more than N unencodable rows in one resource as a fatal server failure.
    #[arg(long, default_value_t = 20, value_name = "N")]
    max_bad_rows: usize,
    /// Write a machine report (per resource: pages, rows, total, retries, duration, problems).
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// No progress on stderr.
    #[arg(long, short)]
    quiet: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    let started = Instant::now();
    let base_url = args
        .source_url
        .clone()
        .unwrap_or_else(|| format!("https://{}", args.source_host));
    let resources = if args.resources.is_empty() {
        Resource::ALL.to_vec()
    } else {
        let mut r = args.resources.clone();
        r.sort();
        r.dedup();
        r
    };
    let opts = Options {
        base_url: base_url.clone(),
        page_size: args.page_size,
        concurrency: args.concurrency,
        delay: Duration::from_millis(args.delay_ms),
        timeout: Duration::from_millis(args.timeout_ms),
        retries: args.retries,
        retry_base: Duration::from_millis(args.retry_base_ms),
        retry_max: Duration::from_millis(args.retry_max_ms),
        user_agent: args.user_agent.clone(),
        cache_dir: args.cache_dir.clone(),
        offline: args.offline,
        limit: args.limit,
        max_bad_rows: args.max_bad_rows,
    };
    let mut report = Report {
        tool: "laddr-fetch".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        source: base_url,
        offline: args.offline,
        ..Report::default()
    };
    let client = match Client::new(opts) {
        Ok(c) => c,
        Err(e) => return fatal(&args, &mut report, started, e),
    };
    let progress = (!args.quiet && io::stderr().is_terminal()).then(progress_bar);
    let client = match &progress {
        Some(pb) => {
            let pb = pb.clone();
            client.with_progress(Box::new(move |r, seen, total| {
                pb.set_message(r.name());
                if let Some(t) = total {
                    pb.set_length(t);
                }
                pb.set_position(seen);
            }))
        }
        None => client,
    };

    if args.totals {
        let mut totals = Vec::new();
        for r in &resources {
            match client.total(*r) {
                Ok(t) => {
                    totals.push(laddr::Totals {
                        resource: *r,
                        total: t,
                    });
                    report.resources.push(laddr::ResourceReport {
                        resource: r.name().into(),
                        total: Some(t),
                        requests: 1,
                        ..Default::default()
                    });
                }
                // Keep the totals that did come back: the count diff can still use them,
                // and the missing one is named here and in the report (exit 1).
                Err(e) => {
                    eprintln!("laddr-fetch: {}: total not fetched: {e}", r.name());
                    report
                        .error
                        .get_or_insert_with(|| format!("{}: {e}", r.name()));
                }
            }
        }
        report.ok = report.error.is_none();
        return finish(&args, &mut report, started, |w| {
            totals.iter().try_for_each(|t| laddr::write_totals(w, t))
        });
    }

    let mut fetched: Vec<Fetched> = Vec::new();
    for r in &resources {
        if let Some(pb) = &progress {
            pb.reset();
            pb.set_message(r.name());
        }
        match client.fetch(*r) {
            Ok(f) => {
                if !args.quiet {
                    let rep = &f.report;
                    let line = format!(
                        "laddr-fetch: {}: {} rows (total {}), {} pages, {} requests, {} retries, {:.1}s",
                        rep.resource,
                        rep.rows,
                        rep.total.map_or("?".to_string(), |t| t.to_string()),
                        rep.pages,
                        rep.requests,
                        rep.retries,
                        rep.duration_ms as f64 / 1000.0
                    );
                    match &progress {
                        Some(pb) => pb.println(line),
                        None => eprintln!("{line}"),
                    }
                }
                for p in f.report.problems() {
                    eprintln!("laddr-fetch: {p}");
                }
                fetched.push(f);
            }
            Err(e) => {
                if let Some(pb) = &progress {
                    pb.finish_and_clear();
                }
                return fatal(&args, &mut report, started, e);
            }
        }
    }
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    report.resources = fetched.iter().map(|f| f.report.clone()).collect();
    report.ok = report.resources.iter().all(|r| r.ok());
    finish(&args, &mut report, started, |w| {
        fetched.iter().try_for_each(|f| f.write_ndjson(w))
    })
}

fn progress_bar() -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(0);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} rows {elapsed}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

/// Write stdout, the report, and pick the exit code.
fn finish(
    args: &Args,
    report: &mut Report,
    started: Instant,
    write: impl FnOnce(&mut BufWriter<io::StdoutLock>) -> io::Result<()>,
) -> ExitCode {
    report.duration_ms = started.elapsed().as_millis() as u64;
    if let Err(code) = write_report(args, report) {
        return code;
    }
    let stdout = io::stdout();
    let mut w = BufWriter::with_capacity(1 << 20, stdout.lock());
    match write(&mut w).and_then(|()| w.flush()) {
        Ok(()) => {}
        // A closed stdout (`laddr-fetch | head`) is a normal way to stop reading.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("laddr-fetch: writing stdout: {e}");
            return ExitCode::from(2);
        }
    }
    if report.ok {
        ExitCode::SUCCESS
    } else {
        eprintln!("laddr-fetch: finished with problems (see above); exit 1");
        ExitCode::from(1)
    }
}

fn fatal(args: &Args, report: &mut Report, started: Instant, e: FetchError) -> ExitCode {
    eprintln!("laddr-fetch: error: {e}");
    report.ok = false;
    report.error = Some(e.to_string());
    report.duration_ms = started.elapsed().as_millis() as u64;
    let _ = write_report(args, report);
    ExitCode::from(2)
}

fn write_report(args: &Args, report: &Report) -> Result<(), ExitCode> {
    let Some(path) = &args.json else {
        return Ok(());
    };
    let text = serde_json::to_string_pretty(report).map_err(|e| {
        eprintln!("laddr-fetch: encoding report: {e}");
        ExitCode::from(2)
    })?;
    std::fs::write(path, text + "\n").map_err(|e| {
        eprintln!("laddr-fetch: writing {}: {e}", path.display());
        ExitCode::from(2)
    })
}
