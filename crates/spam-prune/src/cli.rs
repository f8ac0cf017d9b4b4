//! The `spam-prune` command line: its flags, its top-level error and what it prints to stderr.

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Parser;

use crate::{Class, DEFAULT_THRESHOLD, Options, Report};

#[derive(Debug, Parser)]
#[command(
    name = "spam-prune",
    version = ::cli::VERSION,
    about = "Remove confident-spam people (and their memberships, interests, person tags, update authorship) from the runtime branch in one commit.",
    after_help = "Examples:
  export CFP_DATA_REPO_PATH=/scratch/codeforphilly-data
  spam-prune --evaluations-ref=spam-detection --branch=published --dry-run
  spam-prune --dry-run --html=/scratch/prune.html   # then open it in a browser
  spam-prune --json=/scratch/prune.json && git -C \"$CFP_DATA_REPO_PATH\" push origin published
  spam-prune --dry-run | jq -r 'select(.atRisk != []) | .slug'
  spam-prune --protect=staff,github --threshold=0.9

Rule: prune a person when some evaluation says spam with confidence >=
--threshold, none says legit (any confidence, any evaluator), and they have no
project membership. A person with an evaluation file that cannot be parsed is
held, never pruned. So is a person a kept record still references (buzz poster,
blog author, maintainer, role poster, tag assigner, ...: heldByReference), so
the prune never leaves a reference to no record; --allow-dangling prunes them
anyway, as the reference did, and counts what it leaves. Pruned people who are
staff, GitHub-linked, authors or maintainers are flagged atRisk; --protect
keeps them.

stdout: one NDJSON line per pruned person (also with --dry-run).
stderr: the summary. --json=FILE: the full report. --html=FILE: the same as a page.
Exit: 0 ok (nothing to prune included); 1 ran, but some evaluation or branch
records could not be read; 2 usage or fatal error (missing repo, ref or
branch, non-bare path, branch moved during the run): nothing written.
HEAD is never touched."
)]
/// The `spam-prune` flags.
pub struct Cli {
    /// The bare data repo holding both the branch and the evaluations ref.
    #[arg(long, env = ::cli::DATA_REPO_ENV, value_name = "PATH")]
    pub data_repo: Option<PathBuf>,
    /// Where the evaluations are: a branch, remote branch, tag or full commit id.
    #[arg(long, default_value = "spam-detection", value_name = "REF")]
    pub evaluations_ref: String,
    /// The runtime branch to prune (created from origin/<branch> if there is no local one).
    #[arg(long, env = ::cli::DATA_BRANCH_ENV, default_value = "published")]
    pub branch: String,
    /// A spam verdict counts at confidence >= this (0 to 1).
    #[arg(long, default_value_t = DEFAULT_THRESHOLD)]
    pub threshold: f64,
    /// Keep people in these classes even when the rule would prune them.
    #[arg(long, value_delimiter = ',', value_name = "CLASS,…")]
    pub protect: Vec<Class>,
    /// Compute everything (cascade included) and write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Prune people that kept records still reference, leaving those references dangling
    /// (counted in the report), as the reference did. Without it they are held
    /// (`heldByReference`), and a result that still references a pruned person is refused
    /// (exit 2).
    #[arg(long)]
    pub allow_dangling: bool,
    /// Write the machine report (pretty JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the report as a self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// List every unreadable record on stderr (default: the first 20; all are in --json).
    #[arg(long)]
    pub verbose: bool,
}

impl Cli {
    /// The run's options: `--protect` sorted and de-duplicated.
    pub fn options(&self) -> Result<Options, Failure> {
        let mut opts = Options::new(::cli::data_repo(self.data_repo.as_ref())?);
        opts.evaluations_ref = self.evaluations_ref.clone();
        opts.branch = self.branch.clone();
        opts.threshold = self.threshold;
        opts.protect = self.protect.clone();
        opts.protect.sort();
        opts.protect.dedup();
        opts.dry_run = self.dry_run;
        opts.allow_dangling = self.allow_dangling;
        Ok(opts)
    }
}

::cli::failure! {
    /// Everything that ends `spam-prune` with exit 2 (or, for a closed stdout, a quiet 0).
    pub enum Failure {
        /// The prune itself failed; nothing was written.
        #[error("{0}")]
        Run(#[from] crate::Error),
    }
}

/// The run's settings, as the first stderr line.
pub fn settings_line(opts: &Options) -> String {
    format!(
        "spam-prune: data-repo={} branch={} evaluations-ref={} threshold={} dry-run={}",
        opts.data_repo.display(),
        opts.branch,
        opts.evaluations_ref,
        opts.threshold,
        opts.dry_run
    )
}

/// The stderr account of a run: unreadable records (the first 20 unless `verbose`; all are in
/// the report), a warning when there were no evaluations at all, then the summary.
pub fn write_stderr(report: &Report, verbose: bool, mut err: impl Write) -> io::Result<()> {
    for u in report
        .unparseable_records
        .iter()
        .chain(&report.unreadable_branch_records)
        .take(if verbose { usize::MAX } else { 20 })
    {
        writeln!(err, "spam-prune: unreadable: {}: {}", u.path, u.error)?;
    }
    if report.evaluations.records == 0 && report.evaluations.unparseable == 0 {
        writeln!(
            err,
            "spam-prune: warning: no evaluation records under person-evaluations/ at {} ({}); nothing can be pruned",
            report.evaluations_ref, report.evaluations_commit
        )?;
    }
    report.write_summary(&mut err)
}
