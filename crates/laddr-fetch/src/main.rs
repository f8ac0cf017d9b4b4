//! laddr-fetch: pull every laddr list endpoint as lossless NDJSON (see docs/ndjson.md).

use std::process::ExitCode;
use std::time::Instant;

use ::cli::{Exit, Ndjson};
use clap::Parser;
use laddr::{Client, MediaFetcher, Report};
use laddr_fetch::cli::{Cli, Failure};
use laddr_fetch::{fetch_media, fetch_rows, fetch_totals};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let mut run = Run {
        report: cli.new_report(),
        started: Instant::now(),
        cli: &cli,
    };
    let result = run.fetch_and_write();
    if let Err(e) = &result {
        let written = matches!(e, Failure::Output(_) | Failure::Report(_));
        if !written {
            run.report.ok = false;
            run.report.error = Some(e.to_string());
            // The fetch error is what the operator needs to see; a report that also fails
            // to write would only hide it.
            let _ = run.write_report();
        }
    }
    ::cli::finish("laddr-fetch", result)
}

struct Run<'a> {
    cli: &'a Cli,
    report: Report,
    started: Instant,
}

impl Run<'_> {
    /// Nothing reaches stdout before every row is in and the media directory is open: a
    /// fatal error writes no line. The rows go out before the media are fetched, so
    /// sheet-write translates them while the media come in; the media lines follow.
    fn fetch_and_write(&mut self) -> Result<Exit, Failure> {
        let cli = self.cli;
        let client = Client::new(cli.options())?;
        let resources = cli.resources();
        if cli.totals {
            return self.totals(&client, &resources);
        }
        let mut out = Ndjson::stdout_with_capacity(1 << 20);
        let fetched = fetch_rows(client, &resources, cli.quiet)?;
        self.report.resources = fetched.iter().map(|f| f.report.clone()).collect();
        self.report.ok = self.report.resources.iter().all(|r| r.ok());
        let media = match cli.media_dir() {
            Some(dir) => Some(MediaFetcher::new(
                cli.media_options(),
                media::MediaDir::open(dir)?,
            )?),
            None => None,
        };
        let rows = fetched
            .iter()
            .try_for_each(|f| out.write_with(|w| f.write_ndjson(w)))
            .and_then(|()| out.flush());
        if let Err(e) = rows {
            // Nobody reads the rows: no media fetched for them, the report says what was.
            self.write_report()?;
            return Err(e.into());
        }
        let lines = media.map(|fetcher| {
            let (lines, media) = fetch_media(&fetched, &fetcher, cli.quiet);
            self.report.media = Some(media);
            lines
        });
        self.write_report()?;
        for m in lines.iter().flatten() {
            out.write_with(|w| lines::write_media_line(w, m))?;
        }
        out.finish()?;
        Ok(self.exit())
    }

    /// `--totals`: the report, then one line per total that came back.
    fn totals(&mut self, client: &Client, resources: &[laddr::Resource]) -> Result<Exit, Failure> {
        let totals = fetch_totals(client, resources, &mut self.report);
        self.write_report()?;
        let mut out = Ndjson::stdout();
        totals
            .iter()
            .try_for_each(|t| out.write_with(|w| laddr::write_totals(w, t)))?;
        out.finish()?;
        Ok(self.exit())
    }

    fn write_report(&mut self) -> Result<(), Failure> {
        self.report.duration_ms = self.started.elapsed().as_millis() as u64;
        Ok(::cli::write_report(self.cli.json.as_deref(), &self.report)?)
    }

    /// `ok` is the rows' verdict; a failed medium makes the exit 1 as well.
    fn exit(&self) -> Exit {
        let report = &self.report;
        let media_failed = report.media.as_ref().is_some_and(|m| !m.failed.is_empty());
        let problems = !report.ok || media_failed;
        if problems {
            eprintln!("laddr-fetch: finished with problems (see above); exit 1");
        }
        Exit::problems_if(problems)
    }
}
