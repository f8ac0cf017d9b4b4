//! `spam-prune`: thin binary over the `spam_prune` library. See `--help`.

use std::fs;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use spam_prune::{Class, DEFAULT_THRESHOLD, Options, Outcome};

#[derive(Parser)]
#[command(
    name = "spam-prune",
    version,
    about = "Remove confident-spam people (and their memberships, interests, person tags, update authorship) from the runtime branch in one commit.",
    after_help = "Examples:
  export CFP_DATA_REPO_PATH=/scratch/codeforphilly-data
  spam-prune --evaluations-ref=spam-detection --branch=published --dry-run
  spam-prune --json=/scratch/prune.json && git -C \"$CFP_DATA_REPO_PATH\" push origin published
  spam-prune --dry-run | jq -r 'select(.atRisk != []) | .slug'
  spam-prune --protect=staff,github --threshold=0.9

Rule: prune a person when some evaluation says spam with confidence >=
--threshold, none says legit (any confidence, any evaluator), and they have no
project membership. A person with an evaluation file that cannot be parsed is
held, never pruned. Pruned people who are staff, GitHub-linked, authors or
maintainers are flagged atRisk; --protect keeps them.

stdout: one NDJSON line per pruned person (also with --dry-run).
stderr: the summary. --json=FILE: the full report.
Exit: 0 ok (nothing to prune included); 1 ran, but some evaluation or branch
records could not be read; 2 usage or fatal error (missing repo, ref or
branch, non-bare path, branch moved during the run): nothing written.
HEAD is never touched."
)]
struct Cli {
    /// The bare data repo holding both the branch and the evaluations ref.
    #[arg(long, env = "CFP_DATA_REPO_PATH", value_name = "PATH")]
    data_repo: Option<PathBuf>,
    /// Where the evaluations are: a branch, remote branch, tag or full commit id.
    #[arg(long, default_value = "spam-detection", value_name = "REF")]
    evaluations_ref: String,
    /// The runtime branch to prune (created from origin/<branch> if there is no local one).
    #[arg(long, env = "CFP_DATA_BRANCH", default_value = "published")]
    branch: String,
    /// A spam verdict counts at confidence >= this (0 to 1).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    threshold: f64,
    /// Keep people in these classes even when the rule would prune them.
    #[arg(long, value_delimiter = ',', value_name = "CLASS,…")]
    protect: Vec<Class>,
    /// Compute everything (cascade included) and write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Write the machine report (pretty JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// List every unreadable record on stderr (default: the first 20; all are in --json).
    #[arg(long)]
    verbose: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(message) => {
            eprintln!("spam-prune: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<u8, String> {
    let data_repo = cli
        .data_repo
        .filter(|p| !p.as_os_str().is_empty())
        .ok_or("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)")?;
    let mut opts = Options::new(data_repo);
    opts.evaluations_ref = cli.evaluations_ref;
    opts.branch = cli.branch;
    opts.threshold = cli.threshold;
    opts.protect = cli.protect;
    opts.protect.sort();
    opts.protect.dedup();
    opts.dry_run = cli.dry_run;
    eprintln!(
        "spam-prune: data-repo={} branch={} evaluations-ref={} threshold={} dry-run={}",
        opts.data_repo.display(),
        opts.branch,
        opts.evaluations_ref,
        opts.threshold,
        opts.dry_run
    );
    let outcome = spam_prune::run(&opts).map_err(|e| e.to_string())?;
    // The commit (if any) is made: report it before anything that can fail on output.
    let report = &outcome.report;
    if let Some(path) = &cli.json {
        write_json(path, report)?;
    }
    let mut err = io::stderr().lock();
    for u in report
        .unparseable_records
        .iter()
        .chain(&report.unreadable_branch_records)
        .take(if cli.verbose { usize::MAX } else { 20 })
    {
        let _ = writeln!(err, "spam-prune: unreadable: {}: {}", u.path, u.error);
    }
    if report.evaluations.records == 0 && report.evaluations.unparseable == 0 {
        let _ = writeln!(
            err,
            "spam-prune: warning: no evaluation records under person-evaluations/ at {} ({}); nothing can be pruned",
            report.evaluations_ref, report.evaluations_commit
        );
    }
    let _ = report.write_summary(&mut err);
    drop(err);
    match emit(&outcome) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(e) => return Err(format!("writing stdout: {e}")),
    }
    Ok(u8::from(report.has_problems()))
}

fn emit(outcome: &Outcome) -> io::Result<()> {
    let mut out = BufWriter::new(io::stdout().lock());
    for p in &outcome.pruned {
        // Serialise first so an EPIPE keeps its kind (serde_json would wrap it).
        let mut line = serde_json::to_vec(p).map_err(io::Error::other)?;
        line.push(b'\n');
        out.write_all(&line)?;
    }
    out.flush()
}

fn write_json(path: &PathBuf, report: &spam_prune::Report) -> Result<(), String> {
    let mut text = serde_json::to_string_pretty(report).map_err(|e| e.to_string())?;
    text.push('\n');
    fs::write(path, text).map_err(|e| format!("writing {}: {e}", path.display()))
}
