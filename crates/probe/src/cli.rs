//! The `probe` command line: its flags and subcommands, its top-level error, and the
//! snapshot and options they give.

use std::path::PathBuf;
use std::time::Duration;

use ::cli::OutputError;
use clap::{Args, Parser, Subcommand};

use crate::legacy::LegacyError;
use crate::plan::{PlanError, PlanOptions, Snapshot};
use crate::redirects::{Redirects, RedirectsError};
use crate::run::RunError;
use crate::spec::SpecError;
use crate::watch::{EndLine, WatchArgs, WatchError, WatchOptions};
use crate::{ProbeResult, ProbeSpec, Report, RunOptions};

const AFTER_HELP: &str = "\
Spec lines (probe plan, probe legacy-urls):
  {\"v\":1,\"name\":\"project-legacy:42\",\"kind\":\"project-legacy\",\"path\":\"/projects?ID=42\",
   \"expect\":{\"status\":301,\"location\":\"/projects/transit-app\"}}
Result lines (probe run, probe --target): name, kind, url, status, expected, ok, durationMs,
note, location, attempts, throttled.

Redirects are never followed; Location is compared exactly. Requests the target's rate limiter
counts (every /api/*, anything not answered by a legacy 301/410) are paced to --rate-limit per
--rate-window-ms; a 429 is waited out as its Retry-After says, never a failure by itself.

Exit codes: 0 every probe met its expectation; 1 some did not; 2 usage or fatal error.

Examples:
  probe --target=https://staging.example.org --data-repo=data.git --sample=10 --json=smoke.json
  probe plan --data-repo=data.git --branch=published --sample=20 --seed=t-3 > probes.ndjson
  probe run --target=https://staging.example.org < probes.ndjson > results.ndjson
  probe --target=https://codeforphilly.org --resolve=codeforphilly.org:443:203.0.113.7 \\
        --data-repo=data.git   # T-1: production pods before the DNS flip
  probe legacy-urls --laddr=people.ndjson,projects.ndjson --data-repo=data.git \\
        --target=https://staging.example.org --json=legacy.json --emit-redirects=legacy-redirects.conf
  probe watch --target=https://codeforphilly.org --interval=60s --duration=1h \\
        --data-repo=data.git > watch.ndjson   # T+0 to T+1h; exit 1 names the alarm's round";

const WATCH_HELP: &str = "\
One NDJSON line per round on stdout (health; ready and smoke in full rounds; livenessStreak;
alarm), a human line per round on stderr, then {\"v\":1,\"end\":{…}}. The watch stops at the
first alarm. --json=FILE writes the end object. Exit codes: 0 no alarm and no smoke failure;
1 alarm or smoke failure; 2 usage or fatal error.

Examples:
  probe watch --target=https://codeforphilly.org --interval=60s --duration=1h \\
        --data-repo=data.git --json=watch.json > watch.ndjson
  probe watch --target=https://codeforphilly.org --interval 30s --duration 10m --full-every 2";

/// Smoke-test a target with real samples from the data repo and exact expectations.
#[derive(Debug, Parser)]
#[command(
    name = "probe",
    version = ::cli::VERSION,
    about,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
/// The `probe` command line.
pub struct Cli {
    #[command(subcommand)]
    /// The subcommand; none with `--target` plans and runs in one go.
    pub command: Option<Command>,
    /// Base URL of the target (plan and run in one go).
    #[arg(long)]
    pub target: Option<String>,
    #[command(flatten)]
    /// Where the plan's records come from.
    pub repo: RepoArgs,
    #[command(flatten)]
    /// How the plan samples.
    pub sample: SampleArgs,
    #[command(flatten)]
    /// How the probes run.
    pub run: RunArgs,
}

#[derive(Debug, Subcommand)]
/// The `probe` subcommands.
pub enum Command {
    /// Write probe specs drawn from the data repo (plus the fixed probes) to stdout.
    Plan {
        /// Where the records come from.
        #[command(flatten)]
        repo: RepoArgs,
        /// How the plan samples.
        #[command(flatten)]
        sample: SampleArgs,
        /// Leave out the fixed probes (health, ready, SAML, OAuth, /chat, /checkin).
        #[arg(long)]
        no_fixed: bool,
    },
    /// Read probe specs on stdin, run them against --target, write results to stdout.
    Run {
        /// Base URL of the target.
        #[arg(long)]
        target: String,
        /// How the probes run.
        #[command(flatten)]
        run: RunArgs,
    },
    /// Probe specs for the URL forms laddr served, from laddr-fetch output; with --target,
    /// run them and report per form.
    LegacyUrls {
        /// Comma-separated laddr-fetch NDJSON files.
        #[arg(long, value_delimiter = ',', required = true)]
        laddr: Vec<PathBuf>,
        /// Where the records come from.
        #[command(flatten)]
        repo: RepoArgs,
        /// At most N links per form (deterministic with --seed).
        #[arg(long, default_value_t = 20, conflicts_with = "all")]
        sample: usize,
        /// Every link of every form, no sampling.
        #[arg(long)]
        all: bool,
        /// Sampling seed (default: the branch tip's commit id).
        #[arg(long)]
        seed: Option<String>,
        /// Base URL of the target; without it the specs are written instead.
        #[arg(long)]
        target: Option<String>,
        /// With --target: write the 301s an ingress should serve for the failing links to
        /// FILE (nginx map) and FILE.json.
        #[arg(long, value_name = "FILE", requires = "target")]
        emit_redirects: Option<PathBuf>,
        /// How the probes run.
        #[command(flatten)]
        run: RunArgs,
    },
    /// The T+1h watch: /api/health every --interval, /api/health/ready and the smoke probes
    /// in round 1 and every --full-every rounds; exit 1 on an alarm (2 liveness failures in a
    /// row, 1 readiness failure) or a failed smoke probe.
    #[command(after_help = WATCH_HELP)]
    Watch {
        /// Base URL of the target.
        #[arg(long)]
        target: String,
        /// How often and how long to watch.
        #[command(flatten)]
        watch: crate::watch::WatchArgs,
        /// Where the records come from.
        #[command(flatten)]
        repo: RepoArgs,
        /// How the probes run.
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Debug, Args)]
/// The data repo flags.
pub struct RepoArgs {
    /// The bare data repo (git clone --bare).
    #[arg(long, env = ::cli::DATA_REPO_ENV)]
    pub data_repo: Option<PathBuf>,
    /// The runtime branch (after the spam prune).
    #[arg(long, default_value = "published")]
    pub branch: String,
}

#[derive(Debug, Args)]
/// The sampling flags.
pub struct SampleArgs {
    /// Records per family (people, projects, legacy IDs, buzz, tags, slug history).
    #[arg(long, default_value_t = 10)]
    pub sample: usize,
    /// Sampling seed (default: the branch tip's commit id, so the same data gives the same plan).
    #[arg(long)]
    pub seed: Option<String>,
    /// "Now" for slug-history expiry, e.g. 2026-07-01T00:00:00.000Z (default: the clock).
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Args)]
/// The run flags.
pub struct RunArgs {
    /// Per-request timeout (connect to last body byte), in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
    /// Probes in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Counted requests allowed per window (the target allows 60 per minute per IP).
    #[arg(long, default_value_t = 50)]
    pub rate_limit: u32,
    /// The rate window, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    pub rate_window_ms: u64,
    /// 429s one probe waits out before it counts as throttled.
    #[arg(long, default_value_t = 5)]
    pub max_throttle_retries: u32,
    /// Longest Retry-After honoured, in milliseconds.
    #[arg(long, default_value_t = 120_000)]
    pub max_retry_after_ms: u64,
    /// How long /api/health/ready may answer 503 (warming) before it fails, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    pub ready_wait_ms: u64,
    /// Pause between ready retries, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    pub ready_interval_ms: u64,
    /// Connect to ADDR for HOST:PORT, keeping HOST for Host, SNI and the certificate check
    /// (probe a deployment before the DNS flip); repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    pub resolve: Vec<crate::run::Pin>,
    /// Write the machine report (smokeChecks with expectations, per-kind summary) here.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl RunArgs {
    /// The run options for `target`.
    pub fn options(&self, target: &str) -> RunOptions {
        RunOptions {
            timeout: Duration::from_millis(self.timeout_ms),
            concurrency: self.concurrency,
            rate_limit: self.rate_limit,
            rate_window: Duration::from_millis(self.rate_window_ms),
            max_throttle_retries: self.max_throttle_retries,
            max_retry_after: Duration::from_millis(self.max_retry_after_ms),
            ready_wait: Duration::from_millis(self.ready_wait_ms),
            ready_interval: Duration::from_millis(self.ready_interval_ms),
            resolve: self.resolve.clone(),
            ..RunOptions::new(target)
        }
    }
}

impl RepoArgs {
    /// The branch's snapshot, and plan options from `sample` for it.
    pub fn snapshot(&self, sample: &SampleArgs) -> Result<(Snapshot, PlanOptions), Failure> {
        let path = ::cli::data_repo(self.data_repo.as_ref())?;
        let data = sheets::DataRepo::open(&path).map_err(PlanError::from)?;
        let snap = Snapshot::read(&data, &self.branch)?;
        let opts = PlanOptions {
            branch: self.branch.clone(),
            sample: sample.sample,
            seed: sample.seed.clone(),
            now: sample.now.clone(),
            fixed: true,
        };
        Ok((snap, opts))
    }
}

::cli::failure! {
    /// Everything that ends `probe` with exit 2 (or, for a closed stdout, a quiet 0).
    pub enum Failure {
        /// Neither `--target` nor a subcommand.
        #[error("give --target (with --data-repo) or a subcommand; see probe --help")]
        NothingToDo,
        /// The branch could not be read for a plan.
        #[error("{0}")]
        Plan(#[from] PlanError),
        /// The laddr-fetch files could not be read.
        #[error("{0}")]
        Legacy(#[from] LegacyError),
        /// The specs on stdin could not be read.
        #[error("{0}")]
        Spec(#[from] SpecError),
        /// `probe run` got no specs (a failed `probe plan` upstream must not pass).
        #[error("no probe specs on stdin")]
        NoSpecs,
        /// The run could not start.
        #[error("{0}")]
        Run(#[from] RunError),
        /// The watch could not start or stopped.
        #[error("{0}")]
        Watch(WatchError),
        /// `--emit-redirects` could not be written.
        #[error("{0}")]
        Redirects(#[from] RedirectsError),
    }
}

/// A watch whose stdout reader went away ended the way `| head` ends any tool: a closed
/// stdout, not a failed watch.
impl From<WatchError> for Failure {
    fn from(e: WatchError) -> Self {
        match e {
            WatchError::Output(_, io) if io.kind() == std::io::ErrorKind::BrokenPipe => {
                Failure::Output(OutputError::Closed)
            }
            e => Failure::Watch(e),
        }
    }
}

/// The stderr lines after a run: per kind, then the verdict.
pub fn summary_lines(report: &Report) -> Vec<String> {
    let mut lines: Vec<String> = report
        .kinds
        .iter()
        .map(|k| {
            format!(
                "probe: {:<32} {:>5} probes {:>5} ok {:>5} failed",
                k.kind, k.probes, k.ok, k.failed
            )
        })
        .collect();
    lines.push(format!(
        "probe: passed={} ({} 429s waited out)",
        report.passed, report.throttled
    ));
    lines
}

/// `legacy-urls --emit-redirects`: the 301s for the failing links, as an nginx map at `path`
/// and JSON beside it.
pub fn write_redirects(
    path: &std::path::Path,
    target: &str,
    specs: &[ProbeSpec],
    results: &[ProbeResult],
) -> Result<(), Failure> {
    let r = Redirects::from_run(target, specs, results);
    r.write(path)?;
    eprintln!(
        "probe: {} redirects written to {} (and .json); {} failing links not emitted",
        r.redirects.len(),
        path.display(),
        r.not_emitted.len()
    );
    Ok(())
}

/// `probe watch`: the smoke probes (drawn from the data repo when given, else the fixed
/// ones), then round after round until `--duration` or the first alarm. Each round is a
/// line on stdout as soon as it ends; then the end line and `--json`.
pub fn watch(
    target: &str,
    args: &WatchArgs,
    repo: &RepoArgs,
    run: &RunArgs,
) -> Result<::cli::Exit, Failure> {
    let smoke = match repo.data_repo {
        None => crate::fixed_probes(),
        Some(_) => {
            let sample = SampleArgs {
                sample: args.sample,
                seed: args.seed.clone(),
                now: None,
            };
            let (snap, opts) = repo.snapshot(&sample)?;
            crate::plan::plan_snapshot(&snap, &opts).specs
        }
    };
    let opts = WatchOptions::new(args, smoke)?;
    let run_opts = run.options(target);
    let prober = crate::Prober::new(&run_opts)?;
    eprintln!(
        "probe watch: {} rounds every {:?} against {}; readiness and {} smoke probes every {} rounds",
        opts.rounds,
        opts.interval,
        run_opts.target,
        opts.smoke.len(),
        opts.full_every
    );
    let mut out = ::cli::Ndjson::stdout();
    let end = crate::watch::watch(&prober, &opts, |round| {
        eprintln!("{}", round.human());
        let written = out.line(round).and_then(|()| out.flush());
        written.map_err(|e| match e {
            OutputError::Closed => std::io::ErrorKind::BrokenPipe.into(),
            other => std::io::Error::other(other.to_string()),
        })
    })?;
    eprintln!("{}", end.human());
    // The verdict is already on stderr; a reader gone before the end line changes nothing.
    let _ = out
        .line(&EndLine { v: 1, end: &end })
        .and_then(|()| out.finish());
    ::cli::write_report(run.json.as_deref(), &end)?;
    Ok(::cli::Exit::problems_if(!end.passed))
}

/// Each note as a `probe: note:` line on stderr.
pub fn notes(notes: &[String]) {
    for n in notes {
        eprintln!("probe: note: {n}");
    }
}

/// Specs as NDJSON on stdout.
pub fn write_specs(specs: &[ProbeSpec]) -> Result<::cli::Exit, Failure> {
    let mut out = ::cli::Ndjson::stdout();
    specs.iter().try_for_each(|s| out.line(s))?;
    out.finish()?;
    Ok(::cli::Exit::Ok)
}
