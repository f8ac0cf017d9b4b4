//! The `sheet-write` command line: its flags, its top-level error and how it turns them
//! into a [`Run`].

use std::path::PathBuf;

use clap::Parser;
use translate::Input;

use crate::{Fatal, Run};

#[derive(Debug, Parser)]
#[command(
    name = "sheet-write",
    version = ::cli::VERSION,
    about = "Translate laddr rows (laddr-fetch NDJSON on stdin) into the rewrite's records and write one snapshot commit per sheet onto a branch of a bare data repo.",
    after_help = "Input: laddr-fetch NDJSON. The run is a snapshot: every record whose row is not in the input is deleted. So it refuses (exit 2, nothing written, --dry-run included) input with no rows of a resource (--allow-missing-resources overrides) and input whose laddr-fetch end line says a resource is incomplete ({\"v\":1,\"resource\":…,\"end\":{…,\"complete\":false}}: rows lost, or fetched with --limit), or whose end line never arrived (a cut pipe); --allow-incomplete imports it anyway, warns and exits 1. Input without end lines (hand-made NDJSON) is taken as whole. --emit-records writes nothing and is never refused for either.

Exit codes: 0 imported cleanly; 1 some rows were skipped for an error or failed validation, or incomplete input was imported with --allow-incomplete (see the report); 2 usage or fatal error (nothing written).

Examples:
  laddr-fetch --source-host=codeforphilly.org > laddr.ndjson
  sheet-write --data-repo=/scratch/codeforphilly-data --branch=legacy-import --dry-run < laddr.ndjson
  laddr-fetch | sheet-write --data-repo=/scratch/codeforphilly-data --branch=legacy-import --json=import-T-1.json
  sheet-write --emit-records --data-repo=/scratch/codeforphilly-data < laddr.ndjson | head
  sheet-write --data-repo=/scratch/codeforphilly-data --allow-incomplete < lossy.ndjson   # knowingly; exits 1"
)]
/// The `sheet-write` flags.
pub struct Cli {
    /// The bare data repo (`git clone --bare`).
    #[arg(long, env = ::cli::DATA_REPO_ENV)]
    pub data_repo: Option<PathBuf>,
    /// Branch to write; created from `origin/<branch>` or a base ref on the first run.
    #[arg(long, default_value = "legacy-import")]
    pub branch: String,
    /// Refs to start a new branch from, tried in order.
    #[arg(long, value_delimiter = ',', default_value = "empty,main")]
    pub base: Vec<String>,
    /// The laddr host the rows came from (for commit messages and the report).
    #[arg(long, default_value = "codeforphilly.org")]
    pub source_host: String,
    /// The run timestamp and fallback clock, `YYYY-MM-DDTHH:MM:SS.sssZ` (default: now).
    #[arg(long)]
    pub now: Option<String>,
    /// Read laddr-fetch NDJSON from this file instead of stdin.
    #[arg(long)]
    pub input: Option<PathBuf>,
    /// Keep at most N rows per resource (as laddr-fetch --limit).
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Compute everything, read the repo if it exists, write nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Import even when a laddr resource has no rows at all. Refused by default: the run is a
    /// snapshot, so it would delete every record of that resource's sheets.
    #[arg(long)]
    pub allow_missing_resources: bool,
    /// Import even when laddr-fetch's end lines say a resource came back incomplete (rows lost,
    /// or `--limit`). Refused by default: the records of the missing rows would be deleted.
    #[arg(long)]
    pub allow_incomplete: bool,
    /// Print the translated records as NDJSON (sheet, path, record) instead of writing.
    #[arg(long, conflicts_with = "dry_run")]
    pub emit_records: bool,
    /// Refuse records whose free text (bio, overview, body, summary) holds an email address
    /// (default: keep them and warn; an email address as a whole field value is always refused).
    #[arg(long)]
    pub strict_free_text_pii: bool,
    /// laddr-fetch's media directory: people with a `PrimaryPhotoID` get `avatar.jpg` and
    /// `avatar-128.jpg` (and `avatarKey`), blog images become attachments and their body
    /// placeholders links. Without it every record keeps the attachments it has.
    #[arg(long, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}

::cli::failure! {
    /// Everything that ends `sheet-write` with exit 2 (or, for a closed stdout, a quiet 0).
    /// Nothing was written.
    pub enum Failure {
        /// `--now` is not a `toISOString()` datetime.
        #[error("--now {0:?} is not a datetime like 2026-05-18T00:00:00.000Z")]
        Now(String),
        /// `--input` could not be opened.
        #[error("{}: {source}", path.display())]
        Open {
            /// The `--input` file.
            path: PathBuf,
            /// Why it could not be opened.
            source: std::io::Error,
        },
        /// The input is not laddr-fetch NDJSON.
        #[error("reading laddr NDJSON: {0}")]
        Input(#[from] translate::InputError),
        /// The import refused or failed.
        #[error("{0}")]
        Run(#[from] Fatal),
        /// The input reader ended without its rows or an error (a defect, never expected).
        #[error("reading laddr NDJSON: the reader stopped before the rows were complete")]
        NoRows,
    }
}

impl Cli {
    /// The laddr-fetch input: `--input` or stdin, read in 1 MiB blocks.
    pub fn input_source(&self) -> Result<Box<dyn std::io::BufRead + Send>, Failure> {
        const BLOCK: usize = 1 << 20;
        Ok(match &self.input {
            Some(p) => {
                let f = std::fs::File::open(p).map_err(|source| Failure::Open {
                    path: p.clone(),
                    source,
                })?;
                Box::new(std::io::BufReader::with_capacity(BLOCK, f))
            }
            None => Box::new(std::io::BufReader::with_capacity(BLOCK, std::io::stdin())),
        })
    }

    /// The rows cut to `--limit` per resource.
    pub fn limit(&self, input: &mut Input) {
        if let Some(n) = self.limit {
            input.truncate_each(n);
        }
    }

    /// The run the flags ask for. A run that writes needs `--data-repo`; `--now` must be a
    /// `toISOString()` datetime (default: the clock).
    pub fn run(&self) -> Result<Run, Failure> {
        if !self.dry_run && !self.emit_records {
            ::cli::data_repo(self.data_repo.as_ref())?;
        }
        let now = match &self.now {
            Some(n) if translate::validate::is_datetime(n) => n.clone(),
            Some(n) => return Err(Failure::Now(n.clone())),
            None => ::cli::clock::now_iso(),
        };
        let mut options = translate::Options::new(now.clone());
        options.pii.free_text_emails = self.strict_free_text_pii;
        Ok(Run {
            data_repo: self.data_repo.clone(),
            branch: self.branch.clone(),
            bases: self.base.clone(),
            source_host: self.source_host.clone(),
            run_at: now,
            dry_run: self.dry_run,
            allow_missing_resources: self.allow_missing_resources,
            allow_incomplete: self.allow_incomplete,
            options,
            signature: None,
            media_dir: self.media_dir.clone(),
        })
    }

    /// The run's settings, as the first stderr line.
    pub fn settings_line(&self) -> String {
        format!(
            "sheet-write: source-host={} data-repo={} branch={} dry-run={} limit={}",
            self.source_host,
            self.data_repo
                .as_ref()
                .map_or("(none)".into(), |p| p.display().to_string()),
            self.branch,
            self.dry_run,
            self.limit.map_or("none".into(), |n| n.to_string()),
        )
    }
}
