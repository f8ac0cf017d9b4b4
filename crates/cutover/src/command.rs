//! The command line of `cutover`: flags, and each command run to an exit (0 ok, 1 ran and found
//! something; an `Err` is 2, usage or fatal). `main.rs` only parses and hands over to
//! [`cli::finish`].

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use cli::Exit;
use private_store::PrivateStore;
use serde_json::json;

use crate::Error;
use crate::baseline::Baseline;
use crate::watch::{Observation, Source};

#[derive(Parser)]
#[command(
    name = "cutover",
    version = cli::VERSION,
    about = "Cutover control: the machine-checkable pre-flight checklist, the point-of-no-return watch, and the partial-write rollback.",
    after_help = "Examples:
  export CFP_DATA_REPO_PATH=/scratch/codeforphilly-data STORAGE_BACKEND=s3 S3_BUCKET=…
  cutover preflight --public-url=https://codeforphilly.org --resolver=1.1.1.1 --resolver=8.8.8.8 \\
      --dry-run-report=/scratch/dry-run-T3.json --json=/scratch/preflight.json
  cutover watch --t0-report=/scratch/t0-delta/report.json --follow --interval=60s
  cutover watch --since=3f2a…c1 --private-baseline=/scratch/t0-delta/private-baseline
  cutover rollback export --t0-report=/scratch/t0-delta/report.json --out=/scratch/rollback
  cutover rollback reset --export=/scratch/rollback            # shows what it would do
  cutover rollback reset --export=/scratch/rollback --apply    # then run the printed push

The runtime branch is fetched with gix over ssh, git:// or a local path (this build has no
HTTP transport): for an https remote, give the data repo an ssh push remote, or fetch it
yourself into refs/heads/<branch> and pass --no-fetch.

Exit: 0 ok (all checks pass; no write since T-0; export or reset done);
1 ran and found something (a check failed; the point of no return is crossed);
2 usage or fatal error (nothing changed)."
)]
/// The `cutover` command line.
pub struct Cli {
    /// The subcommand to run.
    #[command(subcommand)]
    pub command: Command,
}

/// The `cutover` subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Every checklist item a machine can check, with its evidence; the rest as a manual list.
    Preflight(PreflightArgs),
    /// Has any write that is not the importer's or the prune's landed since T-0?
    Watch(WatchArgs),
    /// Export the writes made after T-0, then reset the runtime branch to the post-import tip.
    #[command(subcommand)]
    Rollback(RollbackCommand),
}

/// The `cutover rollback` subcommands.
#[derive(Subcommand)]
pub enum RollbackCommand {
    /// Write every record written after T-0 (NDJSON) and the affected members.
    Export(ExportArgs),
    /// Move the runtime branch back to the post-import tip (compare-and-swap; --apply).
    Reset(ResetArgs),
}

/// The data repo and its runtime branch.
#[derive(Args, Clone)]
pub struct RepoArgs {
    /// The bare data repo.
    #[arg(long, env = cli::DATA_REPO_ENV, value_name = "PATH")]
    pub data_repo: PathBuf,
    /// The runtime branch (default: the t0-delta report's, else `published`).
    #[arg(long, env = cli::DATA_BRANCH_ENV, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// The remote the runtime branch is published to (default: its push remote).
    #[arg(long, value_name = "NAME")]
    pub remote: Option<String>,
}

/// The `cutover preflight` flags.
#[derive(Args)]
pub struct PreflightArgs {
    /// Where the data repo is.
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The public URL after the flip (its host's DNS TTL; the OAuth callback's base).
    #[arg(long, value_name = "URL")]
    pub public_url: String,
    /// Where the rewrite answers now (default: --public-url).
    #[arg(long, value_name = "URL")]
    pub target: Option<String>,
    /// A resolver to ask, IP or IP:PORT; repeatable (default: /etc/resolv.conf's).
    #[arg(long, value_name = "IP[:PORT]")]
    pub resolver: Vec<String>,
    /// The T-3 `cargo xtask dry-run --json` report.
    #[arg(long, value_name = "FILE")]
    pub dry_run_report: PathBuf,
    /// The dry-run report must be younger than this (h, d, w).
    #[arg(long, default_value = "4d", value_parser = age)]
    pub max_age: Duration,
    /// Write the report (JSON) here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The T-0 tips: `--since` (+ private baseline) or a t0-delta report.
#[derive(Args, Clone)]
pub struct SinceArgs {
    /// The runtime branch's tip at T-0 (a full commit id or a ref).
    #[arg(
        long,
        value_name = "COMMIT",
        required_unless_present = "t0_report",
        conflicts_with = "t0_report"
    )]
    pub since: Option<String>,
    /// Directory backend: the copy of the private `.jsonl` files taken at T-0.
    #[arg(long, value_name = "DIR", requires = "since")]
    pub private_baseline: Option<PathBuf>,
    /// S3 backend: object versions after this time are writes (default: --since's commit time).
    #[arg(long, value_name = "TIME", requires = "since")]
    pub private_since: Option<String>,
    /// The `cargo xtask t0-delta` report: supplies all of the above.
    #[arg(long, value_name = "FILE")]
    pub t0_report: Option<PathBuf>,
    /// Read the local runtime branch instead of fetching it from its remote.
    #[arg(long)]
    pub no_fetch: bool,
}

/// The `cutover watch` flags.
#[derive(Args)]
pub struct WatchArgs {
    /// Where the data repo is.
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The post-import tip to look from.
    #[command(flatten)]
    pub since: SinceArgs,
    /// Keep looking, one line per round, until the first write (then exit 1).
    #[arg(long)]
    pub follow: bool,
    /// Time between rounds with --follow (ms, s, m, h; a bare number is seconds).
    #[arg(long, default_value = "60s", value_parser = short)]
    pub interval: Duration,
    /// Stop --follow after this many harmless rounds (exit 0).
    #[arg(long, value_name = "N")]
    pub max_rounds: Option<usize>,
    /// Write the last round (JSON, without record contents) here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// The `cutover rollback export` flags.
#[derive(Args)]
pub struct ExportArgs {
    /// Where the data repo is.
    #[command(flatten)]
    pub repo: RepoArgs,
    /// The post-import tip to look from.
    #[command(flatten)]
    pub since: SinceArgs,
    /// The export directory (default: ./rollback-<time>); existing export files are never replaced.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// The `cutover rollback reset` flags.
#[derive(Args)]
pub struct ResetArgs {
    /// The bare data repo.
    #[arg(long, env = cli::DATA_REPO_ENV, value_name = "PATH")]
    pub data_repo: PathBuf,
    /// The directory `rollback export` wrote.
    #[arg(long, value_name = "DIR")]
    pub export: PathBuf,
    /// Compare against the local branch instead of fetching the remote's.
    #[arg(long)]
    pub no_fetch: bool,
    /// Move the branch (without it: only say what would happen).
    #[arg(long)]
    pub apply: bool,
    /// Write the outcome (JSON) here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

/// An age: `36h`, `4d`, `1w` (a unit is required).
fn age(text: &str) -> Result<Duration, String> {
    cli::duration::parse(text, cli::duration::AGE).map_err(|e| e.to_string())
}

/// A wait: `500ms`, `60s`, `5m` (a bare number is seconds).
fn short(text: &str) -> Result<Duration, String> {
    cli::duration::parse(text, cli::duration::SHORT).map_err(|e| e.to_string())
}

/// Runs a parsed command line; `Err` is exit 2.
pub fn run(args: Cli) -> Result<Exit, Error> {
    match args.command {
        Command::Preflight(a) => preflight(a),
        Command::Watch(a) => watch(a),
        Command::Rollback(RollbackCommand::Export(a)) => export(a),
        Command::Rollback(RollbackCommand::Reset(a)) => reset(a),
    }
}

fn preflight(a: PreflightArgs) -> Result<Exit, Error> {
    let resolvers = if a.resolver.is_empty() {
        crate::dns::system_resolvers(
            &std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        )
    } else {
        a.resolver
            .iter()
            .map(|r| crate::dns::parse_resolver(r))
            .collect::<Result<_, _>>()
            .map_err(Error::Usage)?
    };
    let now = jiff::Timestamp::now();
    let opts = crate::preflight::Options {
        target: a.target.clone().unwrap_or_else(|| a.public_url.clone()),
        public_url: a.public_url,
        resolvers,
        dns_timeout: Duration::from_secs(3),
        data_repo: a.repo.data_repo,
        branch: a.repo.branch.unwrap_or_else(|| "published".into()),
        remote: a.repo.remote,
        dry_run_report: a.dry_run_report,
        max_age: a.max_age,
        now,
        store: PrivateStore::from_env().map_err(|e| e.to_string()),
    };
    let report =
        crate::check::PreflightReport::new(cli::clock::iso(now), crate::preflight::run(&opts));
    print!("{}", report.text());
    if let Some(path) = &a.json {
        write_json(path, &report)?;
    }
    Ok(Exit::problems_if(!report.passed))
}

/// The baseline, the runtime branch, and where to read it, from the shared flags.
fn inputs(repo: &RepoArgs, since: &SinceArgs) -> Result<(Baseline, Source), Error> {
    let data = sheets::DataRepo::open(&repo.data_repo)?;
    let baseline = match (&since.t0_report, &since.since) {
        (Some(report), _) => Baseline::from_t0_report(&data, report)?,
        (None, Some(s)) => Baseline::from_flags(
            &data,
            s,
            since.private_baseline.clone(),
            since.private_since.as_deref(),
        )?,
        (None, None) => {
            return Err(Error::Usage(
                "pass --since=COMMIT or --t0-report=FILE".into(),
            ));
        }
    };
    let branch = repo
        .branch
        .clone()
        .or_else(|| baseline.branch.clone())
        .unwrap_or_else(|| "published".into());
    let source = Source {
        data_repo: repo.data_repo.clone(),
        branch,
        remote: repo.remote.clone(),
        fetch: !since.no_fetch,
    };
    Ok((baseline, source))
}

fn watch(a: WatchArgs) -> Result<Exit, Error> {
    let (baseline, source) = inputs(&a.repo, &a.since)?;
    let store = PrivateStore::from_env()?;
    let mut round = 1;
    loop {
        let obs = crate::watch::observe(&source, &baseline, Some(&store))?;
        println!("{}", obs.line(round));
        if let Some(path) = &a.json {
            write_json(path, &observation_json(&obs))?;
        }
        if obs.first().is_some() {
            return Ok(Exit::Problems);
        }
        if !a.follow || a.max_rounds.is_some_and(|m| round >= m) {
            return Ok(Exit::Ok);
        }
        std::thread::sleep(a.interval);
        round += 1;
    }
}

/// The round as JSON: writes without their record contents (emails stay in the export).
fn observation_json(obs: &Observation) -> serde_json::Value {
    let writes: Vec<_> = obs
        .writes
        .iter()
        .map(|w| json!({"source": w.source, "kind": w.kind, "record": w.record, "time": w.time, "commit": w.commit, "author": w.author, "personId": w.person_id}))
        .collect();
    json!({
        "at": obs.at, "readRef": obs.read_ref, "tip": obs.tip.to_string(),
        "harmlessCommits": obs.harmless_commits, "crossed": obs.first().is_some(), "writes": writes,
    })
}

fn export(a: ExportArgs) -> Result<Exit, Error> {
    let (baseline, source) = inputs(&a.repo, &a.since)?;
    let store = PrivateStore::from_env()?;
    let obs = crate::watch::observe(&source, &baseline, Some(&store))?;
    let dir = a
        .out
        .unwrap_or_else(|| crate::rollback::default_dir(&obs.at));
    let m = crate::rollback::export(
        &obs,
        &source.data_repo,
        &source.branch,
        baseline.since,
        &dir,
    )?;
    println!(
        "exported to {}: {} data-repo write(s) ({}), {} private-store write(s) ({}, holds emails), {} affected member(s) ({}), {} unattributed",
        dir.display(),
        m.data_repo_writes,
        crate::rollback::PUBLIC_FILE,
        m.private_store_writes,
        crate::rollback::PRIVATE_FILE,
        m.affected_members,
        crate::rollback::MEMBERS_FILE,
        m.unattributed_writes
    );
    println!(
        "next: cutover rollback reset --export={} --apply",
        dir.display()
    );
    Ok(Exit::Ok)
}

fn reset(a: ResetArgs) -> Result<Exit, Error> {
    let manifest = crate::rollback::read_manifest(&a.export)?;
    let remote_tip = if a.no_fetch {
        let repo = sheets::DataRepo::open(&a.data_repo)?;
        crate::baseline::resolve_commit(&repo, &format!("refs/heads/{}", manifest.branch))?
    } else {
        let remote = manifest
            .remote
            .clone()
            .ok_or_else(|| Error::Usage("the export read no remote: pass --no-fetch".into()))?;
        crate::remote::fetch_branch(&a.data_repo, &remote, &manifest.branch)?
    };
    let out = crate::rollback::reset(&manifest, &a.data_repo, remote_tip, a.apply)?;
    if out.applied {
        println!(
            "{} moved {} → {} (the post-import tip).",
            out.branch, out.from, out.to
        );
        println!(
            "Nothing was pushed. To publish the rollback, run:\n  {}",
            out.push_command
        );
    } else {
        println!(
            "would move {} {} → {}; re-run with --apply. The push would then be:\n  {}",
            out.branch, out.from, out.to, out.push_command
        );
    }
    if let Some(path) = &a.json {
        write_json(path, &out)?;
    }
    Ok(Exit::Ok)
}

fn write_json(path: &Path, value: &impl serde::Serialize) -> Result<(), Error> {
    cli::write_report(Some(path), value).map_err(|e| Error::file(path, e))
}
