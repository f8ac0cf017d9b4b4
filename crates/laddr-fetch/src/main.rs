//! laddr-fetch: pull every laddr list endpoint as lossless NDJSON (see docs/ndjson.md).

use std::process::ExitCode;
use std::time::Instant;

use ::cli::{Exit, Ndjson};
use clap::Parser;
use laddr::{Client, Report};
use laddr_fetch::cli::{Cli, Failure};
use laddr_fetch::{fetch_media, fetch_rows, fetch_totals};

/// What goes to stdout once every resource is in.
enum Output {
    Totals(Vec<laddr::Totals>),
    Rows(Vec<laddr::Fetched>, Vec<lines::MediaLine>),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let started = Instant::now();
    let mut report = cli.new_report();
    let fetched = fetch(&cli, &mut report);
    report.duration_ms = started.elapsed().as_millis() as u64;
    let result = match fetched {
        Ok(output) => write(&cli, &report, output),
        Err(e) => {
            report.ok = false;
            report.error = Some(e.to_string());
            // The fetch error is what the operator needs to see; a report that also fails
            // to write would only hide it.
            let _ = ::cli::write_report(cli.json.as_deref(), &report);
            Err(e)
        }
    };
    ::cli::finish("laddr-fetch", result)
}

fn fetch(cli: &Cli, report: &mut Report) -> Result<Output, Failure> {
    let client = Client::new(cli.options())?;
    let resources = cli.resources();
    if cli.totals {
        return Ok(Output::Totals(fetch_totals(&client, &resources, report)));
    }
    let fetched = fetch_rows(client, &resources, cli.quiet)?;
    report.resources = fetched.iter().map(|f| f.report.clone()).collect();
    report.ok = report.resources.iter().all(|r| r.ok());
    let mut media_lines = Vec::new();
    if let Some(dir) = cli.media_dir() {
        let dir = media::MediaDir::open(dir)?;
        let (lines, media) = fetch_media(&fetched, cli.media_options(), dir, cli.quiet)?;
        report.media = Some(media);
        media_lines = lines;
    }
    Ok(Output::Rows(fetched, media_lines))
}

/// The report first, then stdout (1 MiB buffer), then the exit code.
fn write(cli: &Cli, report: &Report, output: Output) -> Result<Exit, Failure> {
    ::cli::write_report(cli.json.as_deref(), report)?;
    let mut out = Ndjson::stdout_with_capacity(1 << 20);
    match &output {
        Output::Totals(totals) => totals
            .iter()
            .try_for_each(|t| out.write_with(|w| laddr::write_totals(w, t)))?,
        Output::Rows(fetched, media) => {
            fetched
                .iter()
                .try_for_each(|f| out.write_with(|w| f.write_ndjson(w)))?;
            media
                .iter()
                .try_for_each(|m| out.write_with(|w| lines::write_media_line(w, m)))?;
        }
    }
    out.finish()?;
    // `ok` is the rows' verdict; a failed medium makes the exit 1 as well.
    let media_failed = report.media.as_ref().is_some_and(|m| !m.failed.is_empty());
    if !report.ok || media_failed {
        eprintln!("laddr-fetch: finished with problems (see above); exit 1");
    }
    Ok(Exit::problems_if(!report.ok || media_failed))
}
