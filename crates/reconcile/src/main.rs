//! `reconcile`: thin binary over the `reconcile` library. See `--help`.

use std::io::{self, BufReader};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use lines::Versioned;
use private_store::{Credential, PrivateStore, Profile, Record};
use reconcile::output::{Ndjson, write_report};
use reconcile::people::{Person, load_people};
use reconcile::{Error, check, drain, import, nameids};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "reconcile",
    version,
    about = "Check the public data repo against the private store (exit 1 on orphan or inconsistent records); import, drain and check legacy accounts.",
    args_conflicts_with_subcommands = true,
    after_help = "Examples:
  # T-1 gate: exit 1 unless the orphan and inconsistent categories are all empty
  reconcile --data-repo=/scratch/codeforphilly-data --json=/scratch/reconcile-T1.json
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
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    check: CheckArgs,
}

#[derive(Args, Clone)]
struct Common {
    /// The bare data repo.
    #[arg(long, env = "CFP_DATA_REPO_PATH", global = true, value_name = "PATH")]
    data_repo: Option<PathBuf>,
    /// Branch (or ref) of the data repo to read Persons from.
    #[arg(
        long,
        env = "CFP_DATA_BRANCH",
        default_value = "published",
        global = true
    )]
    branch: String,
    /// Write the machine report (pretty JSON) to FILE.
    #[arg(long, global = true, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Run as if at this time (ISO 8601); for rehearsals and tests.
    #[arg(long, global = true, hide = true)]
    now: Option<String>,
}

#[derive(Args, Clone, Default)]
struct CheckArgs {
    /// Repair the safe cases: create missing unsubscribe tokens for opted-in profiles.
    #[arg(long)]
    fix: bool,
    /// Also delete the legacy credentials of GitHub-linked Persons.
    #[arg(long)]
    fix_drained: bool,
}

#[derive(Subcommand)]
enum Command {
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
  laddr-fetch --source-host=codeforphilly.org --resource=people > people.ndjson
  reconcile nameids --laddr=people.ndjson --json=nameids.json

Exit 1 when any finding is listed.")]
    Nameids {
        /// laddr-fetch NDJSON holding the people lines.
        #[arg(long, value_name = "FILE")]
        laddr: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(Failure::BrokenPipe) => ExitCode::SUCCESS,
        Err(Failure::Fatal(e)) => {
            eprintln!("reconcile: error: {e}");
            ExitCode::from(2)
        }
    }
}

enum Failure {
    BrokenPipe,
    Fatal(Error),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Fatal(e)
    }
}

impl From<private_store::Error> for Failure {
    fn from(e: private_store::Error) -> Self {
        Failure::Fatal(e.into())
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        if e.kind() == io::ErrorKind::BrokenPipe {
            Failure::BrokenPipe
        } else {
            Failure::Fatal(Error::Io {
                path: "stdout".into(),
                source: e,
            })
        }
    }
}

fn now(common: &Common) -> Result<jiff::Timestamp, Error> {
    match &common.now {
        None => Ok(jiff::Timestamp::now()),
        Some(s) => s
            .parse()
            .map_err(|e| Error::Usage(format!("--now {s:?}: {e}"))),
    }
}

fn people(common: &Common) -> Result<Vec<Person>, Error> {
    let repo = common.data_repo.as_deref().ok_or_else(|| {
        Error::Usage("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)".into())
    })?;
    load_people(repo, &common.branch)
}

fn report<T: Serialize>(path: Option<&Path>, value: &T) -> Result<(), Error> {
    match path {
        Some(p) => write_report(p, value),
        None => Ok(()),
    }
}

fn emit<T: Serialize>(items: impl IntoIterator<Item = T>) -> Result<(), Failure> {
    let mut out = Ndjson::new(io::stdout().lock());
    for item in items {
        out.line(&serde_json::to_value(item).unwrap_or_default())?;
    }
    out.finish()?;
    Ok(())
}

const RESTART: &str = "reconcile: the running API does not re-read the private store; restart it now (or keep it stopped until done)";

fn run(cli: Cli) -> Result<u8, Failure> {
    let common = cli.common;
    let run_at = reconcile::iso(now(&common)?);
    match cli.command {
        None => {
            let opts = check::CheckOptions {
                fix: cli.check.fix,
                fix_drained: cli.check.fix_drained,
                run_at,
            };
            let people = people(&common)?;
            let store = PrivateStore::from_env()?;
            let mut profiles = store.load::<Profile>()?;
            let mut creds = store.load::<Credential>()?;
            let r = check::check(&people, &mut profiles, &mut creds, &opts)?;
            if r.fixes_applied.newsletter_tokens > 0 {
                store.save(&mut profiles)?;
            }
            if r.fixes_applied.legacy_passwords_deleted > 0 {
                store.save(&mut creds)?;
            }
            report(common.json.as_deref(), &r)?;
            eprint!("{}", r.summary());
            if r.fixes_applied != check::Fixes::default() {
                eprintln!("{RESTART}");
            }
            emit(r.lines(&opts))?;
            Ok(u8::from(r.unresolved > 0))
        }
        Some(Command::ImportCredentials { input, dry_run }) => {
            let name = input.display().to_string();
            let bytes = std::fs::read(&input).map_err(|e| Error::Io {
                path: name.clone(),
                source: e,
            })?;
            let rows = reconcile::csvin::parse(&name, &bytes)?;
            let people = people(&common)?;
            let store = PrivateStore::from_env()?;
            let mut profiles = store.load::<Profile>()?;
            let mut creds = store.load::<Credential>()?;
            let (mut r, lines) = import::import(&rows, &people, &mut profiles, &mut creds, &run_at);
            r.dry_run = dry_run;
            if !dry_run {
                if r.profiles_created > 0 {
                    store.save(&mut profiles)?;
                }
                if r.credentials_created + r.credentials_replaced > 0 {
                    store.save(&mut creds)?;
                }
                r.profiles_location = Some(store.location(Profile::FILE));
                r.credentials_location = Some(store.location(Credential::FILE));
            }
            report(common.json.as_deref(), &r)?;
            let skipped: usize = r.skipped.values().sum();
            eprintln!(
                "reconcile import-credentials{}: rows={} profilesCreated={} profilesKept={} credentialsCreated={} credentialsReplaced={} keptUsed={} keptArgon2id={} unchanged={} skipped={skipped}",
                if dry_run {
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
                eprintln!("  skipped {reason}: {n}");
            }
            if !dry_run && r.profiles_created + r.credentials_created + r.credentials_replaced > 0 {
                eprintln!("{RESTART}");
            }
            emit(lines.iter().map(Versioned::new))?;
            let attention = r.skipped.get("ambiguousMatch").copied().unwrap_or(0)
                + r.skipped.get("badId").copied().unwrap_or(0)
                + r.unrecognised_hash_rows;
            Ok(u8::from(attention > 0))
        }
        Some(Command::DrainLegacy { older_than, apply }) => {
            let secs = drain::parse_age(&older_than)?;
            let people = people(&common)?;
            let store = PrivateStore::from_env()?;
            let mut creds = store.load::<Credential>()?;
            let (r, lines) = drain::drain(&people, &mut creds, now(&common)?, secs, apply)?;
            if apply && r.deleted > 0 {
                store.save(&mut creds)?;
            }
            report(common.json.as_deref(), &r)?;
            eprintln!(
                "reconcile drain-legacy{}: credentials={} cutoff={} {}={} kept={:?}",
                if apply {
                    ""
                } else {
                    " (dry run; --apply deletes)"
                },
                r.legacy_password_count,
                r.cutoff,
                if apply { "deleted" } else { "wouldDelete" },
                if apply { r.deleted } else { r.to_delete },
                r.kept
            );
            if apply && r.deleted > 0 {
                eprintln!("{RESTART}");
            }
            emit(lines.iter().map(Versioned::new))?;
            Ok(0)
        }
        Some(Command::Nameids { laddr }) => {
            let name = laddr.display().to_string();
            let file = std::fs::File::open(&laddr).map_err(|e| Error::Io {
                path: name.clone(),
                source: e,
            })?;
            let usernames = nameids::read_laddr_usernames(&name, BufReader::new(file))?;
            let people = people(&common)?;
            let findings = nameids::check_nameids(&people, &usernames);
            #[derive(Serialize)]
            #[serde(rename_all = "camelCase")]
            struct NameIdReport<'a> {
                run_at: &'a str,
                laddr_people: usize,
                laddr_contact_only: usize,
                persons_checked: usize,
                findings: &'a [nameids::NameIdFinding],
            }
            let checked = people
                .iter()
                .filter(|p| !p.deleted && p.legacy_id.is_some())
                .count();
            report(
                common.json.as_deref(),
                &NameIdReport {
                    run_at: &run_at,
                    laddr_people: usernames.len(),
                    laddr_contact_only: usernames.values().filter(|u| u.is_none()).count(),
                    persons_checked: checked,
                    findings: &findings,
                },
            )?;
            eprintln!(
                "reconcile nameids: laddrPeople={} personsChecked={checked} findings={}",
                usernames.len(),
                findings.len()
            );
            emit(findings.iter().map(Versioned::new))?;
            Ok(u8::from(!findings.is_empty()))
        }
    }
}
