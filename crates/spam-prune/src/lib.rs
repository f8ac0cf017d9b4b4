//! `spam-prune`: remove confident-spam people, and what hangs off them, from the runtime
//! branch of the bare data repo (the port of the reference's `prune-spam`, `reference/C`).
//!
//! - [`verdicts`]: every `person-evaluations/<personSlug>/<evaluator>.toml` at the
//!   evaluations ref, read through gix and parsed as TOML; unreadable records are kept aside.
//! - [`plan`]: the rule (`reference/C` §2), `--protect`, the at-risk classes and the whole
//!   cascade (§3), computed from the branch tip without writing anything (the dry run).
//! - [`Plan::apply`]: the same cascade as one commit with a compare-and-swap ref update.
//! - [`report`]: the NDJSON line per pruned person and the `--json` report.
//! - [`page`]: the report as an HTML page (`--html`).
//!
//! ```no_run
//! let opts = spam_prune::Options::new("/scratch/codeforphilly-data");
//! let outcome = spam_prune::run(&opts)?;
//! println!("{} pruned", outcome.report.pruned_people);
//! # Ok::<(), spam_prune::Error>(())
//! ```

#![deny(missing_docs)]

pub mod cli;
pub mod page;
pub mod plan;
pub mod report;
pub mod verdicts;

use std::path::PathBuf;

use serde::Serialize;
use sheets::{DataRepo, RepoError};

pub use plan::{Plan, plan};
pub use report::{PrunedPerson, Report};

/// Classes of people whose removal deserves a second look. `--protect` keeps them; pruned
/// people in them are always flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Class {
    /// `accountLevel` staff or administrator.
    Staff,
    /// A linked GitHub account (`githubUserId`).
    Github,
    /// Author of a project update, poster of buzz, or author of a blog post.
    Authors,
    /// A project's `maintainerId`, or a maintainer membership.
    Maintainers,
}

impl Class {
    /// Every class, in the order reports list them.
    pub const ALL: [Class; 4] = [
        Class::Staff,
        Class::Github,
        Class::Authors,
        Class::Maintainers,
    ];

    /// The class's name as `--protect` and the report spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            Class::Staff => "staff",
            Class::Github => "github",
            Class::Authors => "authors",
            Class::Maintainers => "maintainers",
        }
    }
}

impl std::fmt::Display for Class {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Class {
    type Err = String;
    fn from_str(s: &str) -> Result<Class, String> {
        Class::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                format!("unknown class {s:?} (expected staff, github, authors or maintainers)")
            })
    }
}

/// What to prune and where.
#[derive(Debug, Clone)]
pub struct Options {
    /// The bare data repo holding both the branch and the evaluations ref.
    pub data_repo: PathBuf,
    /// Any ref name (`spam-detection`, `origin/spam-detection`, a tag) or a full commit id.
    pub evaluations_ref: String,
    /// The runtime branch to prune (`refs/heads/<branch>`, else created from
    /// `refs/remotes/origin/<branch>`).
    pub branch: String,
    /// A spam verdict counts at `confidence >= threshold`.
    pub threshold: f64,
    /// Classes kept even when the rule would prune them.
    pub protect: Vec<Class>,
    /// Report what would be pruned but write nothing.
    pub dry_run: bool,
    /// Commit even when the result references a pruned person (the reference leaves buzz
    /// posters, blog authors, maintainers, help-wanted roles, revocations and slug history
    /// pointing at them). Off: such a result is refused, nothing written.
    pub allow_dangling: bool,
    /// The run's time: the `Run-At` trailer and the commit time.
    pub run_at: jiff::Timestamp,
}

impl Options {
    /// The reference defaults: `spam-detection`, `published`, threshold 0.8, real run, now.
    pub fn new(data_repo: impl Into<PathBuf>) -> Options {
        Options {
            data_repo: data_repo.into(),
            evaluations_ref: "spam-detection".to_owned(),
            branch: "published".to_owned(),
            threshold: DEFAULT_THRESHOLD,
            protect: Vec::new(),
            dry_run: false,
            allow_dangling: false,
            run_at: jiff::Timestamp::now(),
        }
    }

    /// `run_at` as JavaScript's `toISOString` writes it (milliseconds, `Z`).
    pub fn run_at_iso(&self) -> String {
        ::cli::clock::iso(self.run_at)
    }
}

/// The reference's spam-confidence threshold.
pub const DEFAULT_THRESHOLD: f64 = 0.8;

/// Everything that stops a run. All of them leave the data repo as it was.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The data repo could not be opened or read.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// The branch's tree could not be edited.
    #[error(transparent)]
    Edit(#[from] sheets::tree::EditError),
    /// The evaluations ref is not in the repo.
    #[error("evaluations ref `{name}` does not exist in {repo}")]
    MissingRef {
        /// The ref as given.
        name: String,
        /// The data repo.
        repo: PathBuf,
    },
    #[error(
        "branch `{branch}` not found in {repo} (neither refs/heads/{branch} nor refs/remotes/origin/{branch})"
    )]
    /// The branch to prune is in neither `refs/heads` nor `refs/remotes/origin`.
    MissingBranch {
        /// The branch as given.
        branch: String,
        /// The data repo.
        repo: PathBuf,
    },
    #[error(
        ".gitsheets/person-evaluations.toml: path template `{template}` has no `${{{{ personSlug }}}}` segment under a root folder"
    )]
    /// The evaluations sheet's path template has no person slug to key verdicts by.
    EvaluationsLayout {
        /// The sheet's path template.
        template: String,
    },
    /// A `--threshold` outside 0 to 1.
    #[error("--threshold {0}: must be a number from 0 to 1")]
    Threshold(f64),
    /// The branch has no config for the people sheet.
    #[error("sheet `{sheet}` has no config in .gitsheets/ of branch `{branch}`")]
    NoPeopleSheet {
        /// The people sheet's name.
        sheet: String,
        /// The branch read.
        branch: String,
    },
    #[error(
        "the prune would leave {} reference(s) to no record; refusing (nothing written):\n  {}",
        .0.len(),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    /// References the prune would leave pointing at no record.
    Dangling(Vec<sheets::Dangling>),
}

/// A finished run: the report, the pruned people (in slug order) and the commit made.
#[derive(Debug)]
pub struct Outcome {
    /// The machine report.
    pub report: Report,
    /// The pruned people, in slug order.
    pub pruned: Vec<PrunedPerson>,
    /// What the run read (a binary may forget it at exit).
    pub spent: plan::Spent,
}

/// Open the data repo (refusing a non-bare path before reading anything), plan, and unless
/// it is a dry run, commit.
pub fn run(opts: &Options) -> Result<Outcome, Error> {
    let repo = DataRepo::open(&opts.data_repo)?;
    let plan = plan(&repo, opts)?;
    let commit = if opts.dry_run {
        None
    } else {
        plan.apply(&repo, opts)?
    };
    Ok(plan.into_outcome(opts, commit))
}
