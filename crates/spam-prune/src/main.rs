//! `spam-prune`: thin binary over the `spam_prune` library. See `--help`.

use std::process::ExitCode;

use ::cli::{Exit, Ndjson, OutputError};
use clap::Parser;
use spam_prune::cli::{Cli, Failure, settings_line, write_stderr};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ::cli::finish("spam-prune", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    let opts = cli.options()?;
    eprintln!("{}", settings_line(&opts));
    let outcome = spam_prune::run(&opts)?;
    // The commit (if any) is made: report it before anything that can fail on output.
    let report = &outcome.report;
    ::cli::write_report(cli.json.as_deref(), report)?;
    ::cli::write_page(cli.html.as_deref(), || {
        spam_prune::page::page(report, &outcome.pruned).render()
    })?;
    let _ = write_stderr(report, cli.verbose, std::io::stderr().lock());
    let mut out = Ndjson::stdout();
    let written = outcome
        .pruned
        .iter()
        .try_for_each(|p| out.line(p))
        .and_then(|()| out.finish());
    let result = match written {
        // A closed stdout stops the listing, not the verdict on the run.
        Ok(()) | Err(OutputError::Closed) => Ok(Exit::problems_if(report.has_problems())),
        Err(e) => Err(e.into()),
    };
    // Freeing the records the run read, one by one, is left to the exit.
    std::mem::forget(outcome);
    result
}
