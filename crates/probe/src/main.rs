//! probe: smoke-test a target deployment of the rewrite (see docs/ndjson.md for the lines).

use std::process::ExitCode;

use ::cli::{Exit, Ndjson, OutputError};
use clap::Parser;
use probe::cli::{
    Cli, Command, Failure, RunArgs, SampleArgs, notes, summary_lines, write_redirects, write_specs,
};
use probe::legacy::{LaddrRows, legacy_plan};
use probe::plan::{PlanOptions, plan_snapshot};
use probe::{ProbeResult, ProbeSpec, Report};

fn main() -> ExitCode {
    ::cli::finish("probe", dispatch(Cli::parse()))
}

fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Some(Command::Plan {
            repo,
            sample,
            no_fixed,
        }) => {
            let (snap, opts) = repo.snapshot(&sample)?;
            let fixed = !no_fixed;
            let plan = plan_snapshot(&snap, &PlanOptions { fixed, ..opts });
            eprintln!(
                "probe: {} probes from {} @ {} (seed {})",
                plan.specs.len(),
                plan.branch,
                plan.commit,
                plan.seed
            );
            notes(&plan.notes);
            write_specs(&plan.specs)
        }
        Some(Command::Run { target, run }) => {
            let specs = probe::spec::read_specs(std::io::stdin().lock())?;
            if specs.is_empty() {
                return Err(Failure::NoSpecs);
            }
            execute(&specs, &run, &target, |_| {})
        }
        Some(Command::LegacyUrls {
            laddr,
            repo,
            sample,
            all,
            seed,
            target,
            emit_redirects,
            run,
        }) => {
            let rows = LaddrRows::read(&laddr)?;
            let (snap, _) = repo.snapshot(&SampleArgs {
                sample,
                seed: None,
                now: None,
            })?;
            let seed = seed.unwrap_or_else(|| snap.commit.clone());
            let plan = legacy_plan(&rows, &snap, (!all).then_some(sample), &seed);
            notes(&plan.notes);
            let Some(target) = target else {
                return write_specs(&plan.specs);
            };
            let mut smoke = Vec::new();
            let exit = execute(&plan.specs, &run, &target, |report| {
                report.data_repo = repo.data_repo.as_ref().map(|p| p.display().to_string());
                report.branch = Some(repo.branch.clone());
                report.commit = Some(snap.commit.clone());
                report.seed = Some(seed.clone());
                report.notes = plan.notes.clone();
                smoke = report.smoke_checks.clone();
            })?;
            if let Some(path) = &emit_redirects {
                write_redirects(path, &target, &plan.specs, &smoke)?;
            }
            Ok(exit)
        }
        Some(Command::Watch {
            target,
            watch,
            repo,
            run,
        }) => probe::cli::watch(&target, &watch, &repo, &run),
        None => {
            let target = cli.target.ok_or(Failure::NothingToDo)?;
            let (snap, opts) = cli.repo.snapshot(&cli.sample)?;
            let plan = plan_snapshot(&snap, &opts);
            notes(&plan.notes);
            execute(&plan.specs, &cli.run, &target, |report| {
                report.data_repo = cli.repo.data_repo.as_ref().map(|p| p.display().to_string());
                report.branch = Some(plan.branch.clone());
                report.commit = Some(plan.commit.clone());
                report.seed = Some(plan.seed.clone());
                report.notes = plan.notes.clone();
            })
        }
    }
}

fn execute(
    specs: &[ProbeSpec],
    args: &RunArgs,
    target: &str,
    annotate: impl FnOnce(&mut Report),
) -> Result<Exit, Failure> {
    let opts = args.options(target);
    eprintln!(
        "probe: {} probes against {} (concurrency {}, {} counted requests per {} ms)",
        specs.len(),
        opts.target,
        opts.concurrency,
        opts.rate_limit,
        args.rate_window_ms
    );
    let mut out = Ndjson::stdout();
    let mut failed: Option<OutputError> = None;
    let outcome = probe::run(specs, &opts, |r: &ProbeResult| {
        if !r.ok {
            let note = r.note.as_deref().unwrap_or("");
            eprintln!("probe: FAIL {} {}: {note}", r.name, r.url);
        }
        // Keep the output error itself; the run only needs to know to stop.
        out.line(r).map_err(|e| {
            failed = Some(e);
            std::io::Error::other("stdout")
        })
    })?;
    // A closed stdout ends the run quietly, as ripgrep does.
    if let Some(e) = failed {
        return Err(e.into());
    }
    out.finish()?;
    let mut report = Report::new(&opts.target, outcome.results);
    annotate(&mut report);
    summary_lines(&report).iter().for_each(|l| eprintln!("{l}"));
    ::cli::write_report(args.json.as_deref(), &report)?;
    Ok(Exit::problems_if(!report.passed))
}
