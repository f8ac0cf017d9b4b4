//! The `reconcile` command line: its flags and subcommands, its top-level error, and the
//! stderr summaries of each subcommand.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde::Serialize;

use crate::Error;
use crate::drain::DrainReport;
use crate::import::ImportReport;
use crate::nameids::NameIdFinding;
use crate::people::{Person, load_people};

#[derive(Parser)]
#[command(
    name = "reconcile",
    version = ::cli::VERSION,
    about = "Check the public data repo against the private store (exit 1 on orphan or inconsistent records, or a dangling reference); import, drain and check legacy accounts.",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  # T-1 gate: exit 1 unless the orphan, inconsistent and danglingReferences categories are all empty
  reconcile --data-repo=/scratch/codeforphilly-data --json=/scratch/reconcile-T1.json
  # the same as a page to open in a browser: every category with its count, gating ones first
  reconcile --html=/scratch/reconcile-T1.html
  # also create missing unsubscribe tokens
  reconcile --fix
  reconcile import-credentials --input=export.csv --dry-run
  # T+180: list what would be deleted; add --apply to delete
  reconcile drain-legacy --older-than=180d
  reconcile nameids --laddr=people.ndjson

Findings go to stdout as NDJSON, the summary to stderr. Exit: 0 ok, 1 problems found, 2 usage or fatal error.
The running API never re-reads the private store: stop it before writing, or restart it afterwards.
Private store: STORAGE_BACKEND=filesystem with CFP_PRIVATE_STORAGE_PATH, or STORAGE_BACKEND=s3 with
S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID, S3_SECRET_ACCESS_KEY, S3_REGION (path-style)."
)]
/// The `reconcile` command line.
pub struct Cli {
    /// The subcommand; none runs the check.
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Flags every subcommand takes.
    #[command(flatten)]
    pub common: Common,
    /// The check's flags.
    #[command(flatten)]
    pub check: CheckArgs,
}

/// Flags every subcommand takes.
#[derive(Args, Clone)]
pub struct Common {
    /// The bare data repo.
    #[arg(long, env = ::cli::DATA_REPO_ENV, global = true, value_name = "PATH")]
    pub data_repo: Option<PathBuf>,
    /// Branch (or ref) of the data repo to read Persons from.
    #[arg(
        long,
        env = ::cli::DATA_BRANCH_ENV,
        default_value = "published",
        global = true
    )]
    pub branch: String,
    /// Write the machine report (pretty JSON) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Run as if at this time (ISO 8601); for rehearsals and tests.
    #[arg(long, global = true, hide = true)]
    pub now: Option<String>,
}

/// The check's flags.
#[derive(Args, Clone, Default)]
pub struct CheckArgs {
    /// Repair the safe cases: create missing unsubscribe tokens for opted-in profiles.
    #[arg(long)]
    pub fix: bool,
    /// Also delete the legacy credentials of GitHub-linked Persons.
    #[arg(long)]
    pub fix_drained: bool,
    /// Also write the check's report as a self-contained HTML page to FILE.
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// The `reconcile` subcommands.
#[derive(Subcommand)]
pub enum Command {
    /// Merge the laddr credentials export (CSV: Username, Email, Password[, ID]) into the store.
    #[command(after_help = "Examples:
  reconcile import-credentials --input=legacy-logins.csv --dry-run --json=import.json
  reconcile import-credentials --input=legacy-logins.csv

Joins on ID = legacyId when the CSV has an ID column, else on the username normalised like the
importer's slugs. One NDJSON line per row on stdout (never an email or a hash); skip counts on
stderr and in --json. Exit 1 when a row needs a person to look at it (ambiguousMatch, badId, or a
hash of no known format); expected skips (noPersonMatch for pruned people, noEmail, ...) exit 0.")]
    ImportCredentials {
        /// The CSV export.
        #[arg(long, value_name = "CSV")]
        input: PathBuf,
        /// Report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// T+180: delete credentials of unclaimed Persons imported before the cutoff (dry run unless --apply).
    #[command(after_help = "Examples:
  reconcile drain-legacy --older-than=180d --json=drain-dry.json
  reconcile drain-legacy --older-than=180d --apply

Never deletes a credential that was used since cutover (lastUsedAt set) or one of a GitHub-linked Person.")]
    DrainLegacy {
        /// Age of the import, e.g. 180d, 26w, 36h.
        #[arg(long, value_name = "AGE")]
        older_than: String,
        /// Delete; without it nothing is written.
        #[arg(long)]
        apply: bool,
    },
    /// List Persons whose slackSamlNameId is not byte-for-byte their laddr Username, plus missing and duplicate NameIDs.
    #[command(after_help = "Examples:
  laddr-fetch --source-host=codeforphilly.org --resources=people > people.ndjson
  reconcile nameids --laddr=people.ndjson --json=nameids.json

Exit 1 when any finding is listed.")]
    Nameids {
        /// laddr-fetch NDJSON holding the people lines.
        #[arg(long, value_name = "FILE")]
        laddr: PathBuf,
    },
}

/// The dangling references of `--branch`, read with the people
/// ([`Common::people_and_dangling`]), or why they cannot be known.
pub type DanglingOutcome = Result<Vec<sheets::Dangling>, Failure>;

impl Common {
    /// The Persons of `--branch` in `--data-repo`.
    pub fn people(&self) -> Result<Vec<Person>, Failure> {
        let repo = ::cli::data_repo(self.data_repo.as_ref())?;
        Ok(load_people(&repo, &self.branch)?)
    }

    /// [`Common::people`] and, read with them, every id field of `--branch` that resolves to
    /// no record (its failure handed back, to report after the private store's).
    pub fn people_and_dangling(&self) -> Result<(Vec<Person>, DanglingOutcome), Failure> {
        let repo = ::cli::data_repo(self.data_repo.as_ref())?;
        let (people, dangling) = crate::people::load_people_and_dangling(&repo, &self.branch)?;
        Ok((people, dangling.map_err(Failure::from)))
    }

    /// `--now`, or the clock.
    pub fn now(&self) -> Result<jiff::Timestamp, Failure> {
        ::cli::clock::now_or(self.now.as_deref())
            .map_err(|e| Failure::Run(Error::Usage(e.to_string())))
    }
}

::cli::failure! {
    /// Everything that ends `reconcile` with exit 2 (or, for a closed stdout, a quiet 0).
    pub enum Failure {
        /// The run stopped; nothing was written.
        #[error("{0}")]
        Run(#[from] Error),
    }
}

impl From<private_store::Error> for Failure {
    fn from(e: private_store::Error) -> Self {
        Failure::Run(e.into())
    }
}

/// Said after any write to the private store.
pub const RESTART: &str = "reconcile: the running API does not re-read the private store; restart it now (or keep it stopped until done)";

/// `import-credentials`' stderr summary: the counts, then each skip reason seen.
pub fn import_summary(r: &ImportReport) -> String {
    let skipped: usize = r.skipped.values().sum();
    let mut s = format!(
        "reconcile import-credentials{}: rows={} profilesCreated={} profilesKept={} credentialsCreated={} credentialsReplaced={} keptUsed={} keptArgon2id={} unchanged={} skipped={skipped}\n",
        if r.dry_run {
            " (dry run, nothing written)"
        } else {
            ""
        },
        r.input_rows,
        r.profiles_created,
        r.profiles_kept,
        r.credentials_created,
        r.credentials_replaced,
        r.credentials_kept_used,
        r.credentials_kept_argon2id,
        r.credentials_unchanged,
    );
    for (reason, n) in r.skipped.iter().filter(|(_, n)| **n > 0) {
        s.push_str(&format!("  skipped {reason}: {n}\n"));
    }
    s
}

/// `drain-legacy`'s stderr summary line.
pub fn drain_summary(r: &DrainReport) -> String {
    format!(
        "reconcile drain-legacy{}: credentials={} cutoff={} {}={} kept={:?}",
        if r.apply {
            ""
        } else {
            " (dry run; --apply deletes)"
        },
        r.legacy_password_count,
        r.cutoff,
        if r.apply { "deleted" } else { "wouldDelete" },
        if r.apply { r.deleted } else { r.to_delete },
        r.kept
    )
}

/// `nameids`' `--json` report.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameIdReport<'a> {
    /// When the check ran.
    pub run_at: &'a str,
    /// People lines read from laddr-fetch.
    pub laddr_people: usize,
    /// Of those, contact-only people (no username).
    pub laddr_contact_only: usize,
    /// Live Persons with a legacyId.
    pub persons_checked: usize,
    /// Every finding (also the NDJSON lines).
    pub findings: &'a [NameIdFinding],
}
