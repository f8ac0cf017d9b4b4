//! probe: smoke-test a target deployment of the rewrite (see docs/ndjson.md for the lines).

use std::io::{self, BufRead, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use probe::legacy::{LaddrRows, legacy_plan};
use probe::plan::{PlanOptions, Snapshot, plan_snapshot};
use probe::redirects::Redirects;
use probe::watch::{WatchArgs, WatchOptions};
use probe::{ProbeResult, ProbeSpec, Report, RunOptions};

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
    version,
    about,
    after_help = AFTER_HELP,
    args_conflicts_with_subcommands = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    /// Base URL of the target (plan and run in one go).
    #[arg(long)]
    target: Option<String>,
    #[command(flatten)]
    repo: RepoArgs,
    #[command(flatten)]
    sample: SampleArgs,
    #[command(flatten)]
    run: RunArgs,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write probe specs drawn from the data repo (plus the fixed probes) to stdout.
    Plan {
        #[command(flatten)]
        repo: RepoArgs,
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
        #[command(flatten)]
        run: RunArgs,
    },
    /// Probe specs for the URL forms laddr served, from laddr-fetch output; with --target,
    /// run them and report per form.
    LegacyUrls {
        /// Comma-separated laddr-fetch NDJSON files.
        #[arg(long, value_delimiter = ',', required = true)]
        laddr: Vec<PathBuf>,
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
        #[command(flatten)]
        watch: probe::watch::WatchArgs,
        #[command(flatten)]
        repo: RepoArgs,
        #[command(flatten)]
        run: RunArgs,
    },
}

#[derive(Debug, Args)]
struct RepoArgs {
    /// The bare data repo (git clone --bare).
    #[arg(long, env = "CFP_DATA_REPO_PATH")]
    data_repo: Option<PathBuf>,
    /// The runtime branch (after the spam prune).
    #[arg(long, default_value = "published")]
    branch: String,
}

#[derive(Debug, Args)]
struct SampleArgs {
    /// Records per family (people, projects, legacy IDs, buzz, tags, slug history).
    #[arg(long, default_value_t = 10)]
    sample: usize,
    /// Sampling seed (default: the branch tip's commit id, so the same data gives the same plan).
    #[arg(long)]
    seed: Option<String>,
    /// "Now" for slug-history expiry, e.g. 2026-07-01T00:00:00.000Z (default: the clock).
    #[arg(long)]
    now: Option<String>,
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Per-request timeout (connect to last body byte), in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    timeout_ms: u64,
    /// Probes in flight at once.
    #[arg(long, default_value_t = 4)]
    concurrency: usize,
    /// Counted requests allowed per window (the target allows 60 per minute per IP).
    #[arg(long, default_value_t = 50)]
    rate_limit: u32,
    /// The rate window, in milliseconds.
    #[arg(long, default_value_t = 60_000)]
    rate_window_ms: u64,
    /// 429s one probe waits out before it counts as throttled.
    #[arg(long, default_value_t = 5)]
    max_throttle_retries: u32,
    /// Longest Retry-After honoured, in milliseconds.
    #[arg(long, default_value_t = 120_000)]
    max_retry_after_ms: u64,
    /// How long /api/health/ready may answer 503 (warming) before it fails, in milliseconds.
    #[arg(long, default_value_t = 30_000)]
    ready_wait_ms: u64,
    /// Pause between ready retries, in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    ready_interval_ms: u64,
    /// Connect to ADDR for HOST:PORT, keeping HOST for Host, SNI and the certificate check
    /// (probe a deployment before the DNS flip); repeatable.
    #[arg(long, value_name = "HOST:PORT:ADDR")]
    resolve: Vec<probe::run::Pin>,
    /// Write the machine report (smokeChecks with expectations, per-kind summary) here.
    #[arg(long)]
    json: Option<PathBuf>,
}

impl RunArgs {
    fn options(&self, target: &str) -> RunOptions {
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

/// Fatal errors: exit 2.
struct Fatal(String);

impl<E: std::fmt::Display> From<E> for Fatal {
    fn from(e: E) -> Self {
        Fatal(e.to_string())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli) {
        Ok(code) => code,
        Err(Fatal(msg)) => {
            eprintln!("probe: {msg}");
            ExitCode::from(2)
        }
    }
}

fn dispatch(cli: Cli) -> Result<ExitCode, Fatal> {
    match cli.command {
        Some(Command::Plan {
            repo,
            sample,
            no_fixed,
        }) => {
            let (snap, opts) = snapshot(&repo, &sample)?;
            let plan = plan_snapshot(
                &snap,
                &PlanOptions {
                    fixed: !no_fixed,
                    ..opts
                },
            );
            eprintln!(
                "probe: {} probes from {} @ {} (seed {})",
                plan.specs.len(),
                plan.branch,
                plan.commit,
                plan.seed
            );
            for n in &plan.notes {
                eprintln!("probe: note: {n}");
            }
            write_specs(&plan.specs)
        }
        Some(Command::Run { target, run }) => {
            let specs = read_specs()?;
            // An empty plan (a failed `probe plan` upstream) must not pass.
            if specs.is_empty() {
                return Err(Fatal("no probe specs on stdin".into()));
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
            let (snap, _) = snapshot(
                &repo,
                &SampleArgs {
                    sample,
                    seed: None,
                    now: None,
                },
            )?;
            let seed = seed.unwrap_or_else(|| snap.commit.clone());
            let plan = legacy_plan(&rows, &snap, (!all).then_some(sample), &seed);
            for n in &plan.notes {
                eprintln!("probe: note: {n}");
            }
            let Some(target) = target else {
                return write_specs(&plan.specs);
            };
            let mut redirects = None;
            let code = execute(&plan.specs, &run, &target, |report| {
                report.data_repo = repo.data_repo.as_ref().map(|p| p.display().to_string());
                report.branch = Some(repo.branch.clone());
                report.commit = Some(snap.commit.clone());
                report.seed = Some(seed.clone());
                report.notes = plan.notes.clone();
                redirects = emit_redirects
                    .is_some()
                    .then(|| Redirects::from_run(&target, &plan.specs, &report.smoke_checks));
            })?;
            if let (Some(path), Some(r)) = (&emit_redirects, redirects) {
                r.write(path)?;
                eprintln!(
                    "probe: {} redirects written to {} (and .json); {} failing links not emitted",
                    r.redirects.len(),
                    path.display(),
                    r.not_emitted.len()
                );
            }
            Ok(code)
        }
        Some(Command::Watch {
            target,
            watch,
            repo,
            run,
        }) => watch_target(&target, &watch, &repo, &run),
        None => {
            let Some(target) = cli.target else {
                return Err(Fatal(
                    "give --target (with --data-repo) or a subcommand; see probe --help".into(),
                ));
            };
            let (snap, opts) = snapshot(&cli.repo, &cli.sample)?;
            let plan = plan_snapshot(&snap, &opts);
            for n in &plan.notes {
                eprintln!("probe: note: {n}");
            }
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

fn snapshot(repo: &RepoArgs, sample: &SampleArgs) -> Result<(Snapshot, PlanOptions), Fatal> {
    let path = repo
        .data_repo
        .as_ref()
        .ok_or_else(|| Fatal("missing --data-repo (or CFP_DATA_REPO_PATH)".into()))?;
    let data = sheets::DataRepo::open(path)?;
    let snap = Snapshot::read(&data, &repo.branch)?;
    let opts = PlanOptions {
        branch: repo.branch.clone(),
        sample: sample.sample,
        seed: sample.seed.clone(),
        now: sample.now.clone(),
        fixed: true,
    };
    Ok((snap, opts))
}

fn watch_target(
    target: &str,
    args: &WatchArgs,
    repo: &RepoArgs,
    run: &RunArgs,
) -> Result<ExitCode, Fatal> {
    let smoke = match repo.data_repo {
        None => probe::fixed_probes(),
        Some(_) => {
            let sample = SampleArgs {
                sample: args.sample,
                seed: args.seed.clone(),
                now: None,
            };
            let (snap, opts) = snapshot(repo, &sample)?;
            plan_snapshot(&snap, &opts).specs
        }
    };
    let opts = WatchOptions::new(args, smoke)?;
    let run_opts = run.options(target);
    let prober = probe::Prober::new(&run_opts)?;
    eprintln!(
        "probe watch: {} rounds every {:?} against {}; readiness and {} smoke probes every {} rounds",
        opts.rounds,
        opts.interval,
        run_opts.target,
        opts.smoke.len(),
        opts.full_every
    );
    let mut out = io::stdout().lock();
    let end = probe::watch::watch(&prober, &opts, |round| {
        eprintln!("{}", round.human());
        write_line(&mut out, round).and_then(|()| out.flush())
    });
    let end = match end {
        Err(probe::watch::WatchError::Output(_, e)) if e.kind() == io::ErrorKind::BrokenPipe => {
            return Ok(ExitCode::SUCCESS);
        }
        end => end?,
    };
    eprintln!("{}", end.human());
    let line = probe::watch::EndLine { v: 1, end: &end };
    let _ = write_line(&mut out, &line).and_then(|()| out.flush());
    if let Some(path) = &run.json {
        let text = serde_json::to_string_pretty(&end)? + "\n";
        std::fs::write(path, text).map_err(|e| Fatal(format!("{}: {e}", path.display())))?;
    }
    Ok(ExitCode::from(u8::from(!end.passed)))
}

fn read_specs() -> Result<Vec<ProbeSpec>, Fatal> {
    let mut specs = Vec::new();
    for (i, line) in io::stdin().lock().lines().enumerate() {
        let line = line.map_err(|e| Fatal(format!("reading stdin: {e}")))?;
        if line.trim().is_empty() {
            continue;
        }
        let spec: ProbeSpec = serde_json::from_str(&line)
            .map_err(|e| Fatal(format!("stdin line {}: not a probe spec: {e}", i + 1)))?;
        if spec.v != probe::spec::SPEC_VERSION {
            return Err(Fatal(format!(
                "stdin line {}: spec version {} (this probe reads {})",
                i + 1,
                spec.v,
                probe::spec::SPEC_VERSION
            )));
        }
        specs.push(spec);
    }
    Ok(specs)
}

fn write_specs(specs: &[ProbeSpec]) -> Result<ExitCode, Fatal> {
    let mut out = BufWriter::new(io::stdout().lock());
    let written = specs
        .iter()
        .try_for_each(|s| write_line(&mut out, s))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() != io::ErrorKind::BrokenPipe => Err(Fatal(format!("stdout: {e}"))),
        _ => Ok(ExitCode::SUCCESS),
    }
}

fn write_line(out: &mut impl Write, value: &impl serde::Serialize) -> io::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    out.write_all(b"\n")
}

fn execute(
    specs: &[ProbeSpec],
    args: &RunArgs,
    target: &str,
    annotate: impl FnOnce(&mut Report),
) -> Result<ExitCode, Fatal> {
    let opts = args.options(target);
    eprintln!(
        "probe: {} probes against {} (concurrency {}, {} counted requests per {} ms)",
        specs.len(),
        opts.target,
        opts.concurrency,
        opts.rate_limit,
        args.rate_window_ms
    );
    let mut out = BufWriter::new(io::stdout().lock());
    let mut broken = None;
    let outcome = probe::run(specs, &opts, |r: &ProbeResult| {
        if !r.ok {
            eprintln!(
                "probe: FAIL {} {}: {}",
                r.name,
                r.url,
                r.note.as_deref().unwrap_or("")
            );
        }
        write_line(&mut out, r).inspect_err(|e| broken = Some(e.kind()))
    })?;
    let flushed = out.flush();
    if outcome.stopped || flushed.is_err() {
        let kind = broken.or(flushed.err().map(|e| e.kind()));
        // A closed stdout ends the run quietly, as ripgrep does.
        if kind == Some(io::ErrorKind::BrokenPipe) {
            return Ok(ExitCode::SUCCESS);
        }
        return Err(Fatal(format!("stdout: {kind:?}")));
    }
    let mut report = Report::new(&opts.target, outcome.results);
    annotate(&mut report);
    for k in &report.kinds {
        eprintln!(
            "probe: {:<32} {:>5} probes {:>5} ok {:>5} failed",
            k.kind, k.probes, k.ok, k.failed
        );
    }
    eprintln!(
        "probe: passed={} ({} 429s waited out)",
        report.passed, report.throttled
    );
    if let Some(path) = &args.json {
        let mut text = serde_json::to_string_pretty(&report)?;
        text.push('\n');
        std::fs::write(path, text).map_err(|e| Fatal(format!("{}: {e}", path.display())))?;
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
