//! `mailer`: thin binary over the `mailer` library. See `--help`.

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mailer::client::{ApiKey, Client, ClientOptions, DEFAULT_API_BASE, MAX_BATCH};
use mailer::content::{Templates, claim_url};
use mailer::report::{Counts, Ndjson, Report, write_report};
use mailer::select::{
    LINE_VERSION, Reason, Recipient, RecipientIn, RecipientLine, SelectOptions, Skipped,
    load_people, select,
};
use mailer::send::{Mode, SendOptions, Sinks};
use mailer::sentlog::SentLog;
use mailer::{Error, iso, parse_duration};
use private_store::{Credential, PrivateStore, Profile};

#[derive(Parser)]
#[command(
    name = "mailer",
    version,
    about = "T+90 reminders to members whose laddr account is still unclaimed, through the Resend API, exactly once each.",
    after_help = "Examples:
  mailer select --json=/scratch/mailout-select.json > recipients.ndjson
  mailer send --dry-run --sent-log=/scratch/mailout-sent.ndjson --json=/scratch/mailout-dry.json
  RESEND_API_KEY=re_… mailer send --send --sent-log=/scratch/mailout-sent.ndjson \\
      --json=/scratch/mailout.json

Exit: 0 nothing failed, 1 some sends failed, 2 usage or fatal error.
Data: --data-repo/CFP_DATA_REPO_PATH (bare clone), STORAGE_BACKEND=filesystem with
CFP_PRIVATE_STORAGE_PATH, or STORAGE_BACKEND=s3 with S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID,
S3_SECRET_ACCESS_KEY, S3_REGION."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the recipients as NDJSON; every Person left out is in the --json report with a reason.
    #[command(after_help = "Examples:
  mailer select --json=select.json > recipients.ndjson
  mailer select --exclude-active-passwords | wc -l

Rules (first match wins): deleted, github-linked, no-private-profile, invalid-email (.invalid),
active-password (only with --exclude-active-passwords), duplicate-email (the first Person keeps
the address). Output lines: {\"personId\",\"slug\",\"email\",\"fullName\"}.")]
    Select {
        #[command(flatten)]
        source: Source,
        /// Write the report (pretty JSON) to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Send the reminder (or show what would be sent) through the Resend batch API.
    #[command(after_help = "Examples:
  mailer send --dry-run --sent-log=sent.ndjson --json=dry.json
  RESEND_API_KEY=re_… mailer send --send --sent-log=sent.ndjson --json=send.json
  mailer select > r.ndjson
  RESEND_API_KEY=re_… mailer send --send --recipients=r.ndjson --sent-log=sent.ndjson
  mailer send --send --sent-log=sent.ndjson --template-dir=./t90-templates

Exactly once: the sent-log (append + fsync, locked) is consulted before every batch; each batch
is logged before it goes out and replayed with the same Idempotency-Key if a run dies in
flight, so re-running the same command after a crash or a kill mails nobody twice.
Keys: t90-reminder/<personId> per recipient; Resend takes one key per request, so a batch of
several uses t90-reminder/batch-<sha1 of its recipients' keys>.
One NDJSON line per recipient: status sent | already-sent | would-send | failed | skipped.
RESEND_API_KEY is read from the environment only and never printed.")]
    Send(Box<SendArgs>),
}

#[derive(Args, Clone)]
struct Source {
    /// The bare data repo.
    #[arg(long, env = "CFP_DATA_REPO_PATH", value_name = "PATH")]
    data_repo: Option<PathBuf>,
    /// Branch (or ref) of the data repo to read Persons from.
    #[arg(long, env = "CFP_DATA_BRANCH", default_value = "published")]
    branch: String,
    /// Leave out people whose legacy credential was used since cutover (lastUsedAt set).
    #[arg(long)]
    exclude_active_passwords: bool,
}

#[derive(Args, Clone)]
struct SendArgs {
    #[command(flatten)]
    source: Source,
    /// Show what would be sent; contact nobody, write nothing but the report.
    #[arg(long)]
    dry_run: bool,
    /// Really send (needs RESEND_API_KEY and --sent-log).
    #[arg(long)]
    send: bool,
    /// Recipients NDJSON (`mailer select` output) from FILE, or `-` for stdin; without it the
    /// recipients are selected from the data repo and the private store.
    #[arg(long, value_name = "FILE")]
    recipients: Option<String>,
    /// The durable sent-log (NDJSON); required with --send, read if given with --dry-run.
    #[arg(long, value_name = "FILE")]
    sent_log: Option<PathBuf>,
    /// Sender address (a domain verified in Resend).
    #[arg(long, default_value = "hello@codeforphilly.org")]
    from: String,
    /// The public site; the claim link is <public-url>/login.
    #[arg(
        long,
        env = "CFP_PUBLIC_URL",
        default_value = "https://codeforphilly.org"
    )]
    public_url: String,
    /// Directory with subject.txt, body.txt and body.html overriding the built-in templates
    /// (copy crates/mailer/templates to start).
    #[arg(long, value_name = "DIR")]
    template_dir: Option<PathBuf>,
    /// A Resend-compatible API base.
    #[arg(long, default_value = DEFAULT_API_BASE)]
    api_base: String,
    /// Requests per second at most (Resend's default team limit is 2).
    #[arg(long, default_value_t = 2.0)]
    rate: f64,
    /// Emails per batch request (1 to 100).
    #[arg(long, default_value_t = MAX_BATCH)]
    batch_size: usize,
    /// Campaign name: prefix of the idempotency keys and the sent-log scope.
    #[arg(long, default_value = "t90-reminder")]
    campaign: String,
    /// First backoff after a 5xx or a network error (doubles each retry), e.g. 500ms, 2s.
    #[arg(long, default_value = "1s", value_parser = parse_duration)]
    backoff: std::time::Duration,
    /// Longest backoff.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    max_backoff: std::time::Duration,
    /// Retries per batch after a 5xx or a network error.
    #[arg(long, default_value_t = 6)]
    max_retries: u32,
    /// Stop the run when Resend asks to wait longer than this (a quota, not a burst).
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    max_wait: std::time::Duration,
    /// Per-request timeout.
    #[arg(long, default_value = "60s", value_parser = parse_duration)]
    timeout: std::time::Duration,
    /// Mail again the recipients of a batch that was in flight when a run died more than 23 h ago
    /// (Resend no longer remembers its key, so it may have been delivered).
    #[arg(long)]
    resend_uncertain: bool,
    /// Write the report (pretty JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
    /// Test hook: exit abruptly (no flush, like a kill) after N accepted batches.
    #[arg(long, hide = true)]
    stop_after_batches: Option<usize>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Select { source, json } => run_select(&source, json.as_deref()),
        Command::Send(args) => run_send(&args),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("mailer: error: {e}");
            ExitCode::from(2)
        }
    }
}

fn is_pipe(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::BrokenPipe
}

fn stdout_err(e: io::Error) -> Error {
    Error::io("stdout", e)
}

struct Selected {
    people: usize,
    recipients: Vec<Recipient>,
    skipped: Vec<Skipped>,
}

fn selected(source: &Source) -> Result<Selected, Error> {
    let repo = source.data_repo.as_deref().ok_or_else(|| {
        Error::Usage("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)".into())
    })?;
    let people = load_people(repo, &source.branch)?;
    let store = PrivateStore::from_env()?;
    let profiles = store.load::<Profile>()?;
    let credentials = if source.exclude_active_passwords {
        Some(store.load::<Credential>()?)
    } else {
        None
    };
    let sel = select(
        &people,
        &profiles,
        credentials.as_ref(),
        SelectOptions {
            exclude_active_passwords: source.exclude_active_passwords,
        },
    );
    Ok(Selected {
        people: people.len(),
        recipients: sel.recipients,
        skipped: sel.skipped,
    })
}

fn run_select(source: &Source, json: Option<&Path>) -> Result<u8, Error> {
    let run_at = iso(jiff::Timestamp::now());
    let sel = selected(source)?;
    let mut out = Ndjson::new(io::stdout().lock());
    let mut piped = false;
    for r in &sel.recipients {
        if let Err(e) = out.line(&RecipientLine {
            v: LINE_VERSION,
            recipient: r,
        }) {
            if is_pipe(&e) {
                piped = true;
                break;
            }
            return Err(stdout_err(e));
        }
    }
    if !piped
        && let Err(e) = out.finish()
        && !is_pipe(&e)
    {
        return Err(stdout_err(e));
    }
    let counts = Counts {
        people: Some(sel.people),
        recipients: sel.recipients.len(),
        skipped: sel.skipped.len(),
        ..Counts::default()
    };
    if let Some(path) = json {
        write_report(
            path,
            &Report {
                run_at: run_at.clone(),
                mode: "select",
                recipients: &sel.recipients,
                skipped: &sel.skipped,
                sent: 0,
                failed: &[],
                counts,
                campaign: None,
                sent_log: None,
                api_base: None,
                from: None,
                claim_url: None,
                template_dir: None,
                error: None,
            },
        )?;
    }
    eprintln!(
        "[mailer] mode=select people={} recipients={} skipped={}{}",
        sel.people,
        sel.recipients.len(),
        sel.skipped.len(),
        reason_counts(&sel.skipped)
    );
    Ok(0)
}

fn reason_counts(skipped: &[Skipped]) -> String {
    let mut counts: std::collections::BTreeMap<Reason, usize> = Default::default();
    for s in skipped {
        *counts.entry(s.reason).or_default() += 1;
    }
    counts
        .iter()
        .map(|(r, n)| {
            let name = serde_json::to_value(r)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            format!(" {name}={n}")
        })
        .collect()
}

/// Recipients NDJSON from a file or stdin; bad addresses are left out with a reason.
fn read_recipients(source: &str, skipped: &mut Vec<Skipped>) -> Result<Vec<Recipient>, Error> {
    let (name, reader): (String, Box<dyn BufRead>) = if source == "-" {
        ("stdin".into(), Box::new(io::stdin().lock()))
    } else {
        let f = std::fs::File::open(source).map_err(|e| Error::io(source, e))?;
        (source.to_owned(), Box::new(io::BufReader::new(f)))
    };
    let mut out = Vec::new();
    for (i, line) in reader.lines().enumerate() {
        let line = line.map_err(|e| Error::io(&name, e))?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |message: String| Error::BadLine {
            path: name.clone(),
            line: i + 1,
            message,
        };
        let parsed: RecipientIn = serde_json::from_str(&line).map_err(|e| {
            bad(format!(
                "not a recipient line ({{personId, slug, email, fullName}}): {e}"
            ))
        })?;
        if parsed.v.is_some_and(|v| v != u64::from(LINE_VERSION)) {
            return Err(bad(format!(
                "line format version {} is not supported (this mailer reads {LINE_VERSION})",
                parsed.v.unwrap_or_default()
            )));
        }
        let r = parsed.recipient;
        let email = r.email.to_lowercase();
        if email.ends_with(".invalid") || !private_store::validate::is_email(&email) {
            skipped.push(Skipped {
                person_id: r.person_id.clone(),
                reason: Reason::InvalidEmail,
                slug: Some(r.slug.clone()),
                duplicate_of: None,
            });
            continue;
        }
        out.push(r);
    }
    Ok(out)
}

fn valid_campaign(c: &str) -> bool {
    !c.is_empty()
        && c.len() <= 64
        && c.chars()
            .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '-' | '_' | '.'))
}

fn run_send(a: &SendArgs) -> Result<u8, Error> {
    // Usage checks first: nothing is read, opened or sent before they pass.
    let mode = match (a.dry_run, a.send) {
        (false, false) => {
            return Err(Error::Usage(
                "refusing to run without --dry-run or --send".into(),
            ));
        }
        (true, true) => {
            return Err(Error::Usage(
                "--dry-run and --send are mutually exclusive".into(),
            ));
        }
        (true, false) => Mode::DryRun,
        (false, true) => Mode::Send,
    };
    let key = ApiKey::new(std::env::var("RESEND_API_KEY").ok());
    if mode == Mode::Send && key.is_none() {
        return Err(Error::Usage(
            "refusing to --send: RESEND_API_KEY is not set; nothing was sent".into(),
        ));
    }
    if mode == Mode::Send && a.sent_log.is_none() {
        return Err(Error::Usage(
            "--send needs --sent-log=FILE (the record that keeps a re-run from mailing anyone twice)"
                .into(),
        ));
    }
    if !(1..=MAX_BATCH).contains(&a.batch_size) {
        return Err(Error::Usage(format!(
            "--batch-size must be 1 to {MAX_BATCH} (Resend's batch limit)"
        )));
    }
    if !(a.rate.is_finite() && a.rate > 0.0) {
        return Err(Error::Usage("--rate must be a positive number".into()));
    }
    if !valid_campaign(&a.campaign) {
        return Err(Error::Usage(
            "--campaign must be 1 to 64 characters of A-Z a-z 0-9 - _ .".into(),
        ));
    }
    if a.from.trim().is_empty() {
        return Err(Error::Usage("--from must not be empty".into()));
    }
    match url::Url::parse(&a.api_base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => {}
        _ => {
            return Err(Error::Usage(format!(
                "--api-base {:?} must be an http(s) URL",
                a.api_base
            )));
        }
    }
    let (public_url, claim) = claim_url(&a.public_url)?;
    let templates = match &a.template_dir {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::builtin()?,
    };
    let now = jiff::Timestamp::now();
    let run_at = iso(now);

    let mut skipped = Vec::new();
    let mut people = None;
    let recipients = match &a.recipients {
        Some(src) => read_recipients(src, &mut skipped)?,
        None => {
            let sel = selected(&a.source)?;
            people = Some(sel.people);
            skipped = sel.skipped;
            sel.recipients
        }
    };

    // Opened (and locked) only once the recipients are known.
    let mut log = match (&a.sent_log, mode) {
        (Some(p), Mode::Send) => Some(SentLog::open(p, &a.campaign)?),
        (Some(p), Mode::DryRun) => Some(SentLog::read_only(p, &a.campaign)?),
        (None, _) => None,
    };
    for w in log.iter().flat_map(|l| l.warnings.iter()) {
        eprintln!("[mailer] warning: {w}");
    }

    let mut client = match (mode, key) {
        (Mode::Send, Some(k)) => Some(Client::new(
            k,
            ClientOptions {
                api_base: a.api_base.clone(),
                rate: a.rate,
                backoff: a.backoff,
                max_backoff: a.max_backoff,
                max_retries: a.max_retries,
                max_throttled: 100,
                max_wait: a.max_wait,
                timeout: a.timeout,
            },
        )),
        _ => None,
    };
    let mode_name = match mode {
        Mode::DryRun => "dry-run",
        Mode::Send => "send",
    };
    eprintln!(
        "[mailer] mode={mode_name} recipients={} campaign={} sent-log={} api={}",
        recipients.len(),
        a.campaign,
        a.sent_log
            .as_ref()
            .map_or("(none)".into(), |p| p.display().to_string()),
        a.api_base
    );

    let mut out = Ndjson::new(io::stdout().lock());
    let mut stdout_error: Option<io::Error> = None;
    let stop_after = a.stop_after_batches;
    let summary = {
        // A closed stdout (`| head`) must not stop a mailout half way: keep sending, stop
        // printing; the report and the sent-log have everything.
        let mut line = |r: &mailer::send::ResultLine| {
            if stdout_error.is_none()
                && let Err(e) = out.line(r)
            {
                stdout_error = Some(e);
            }
        };
        let mut progress = |m: &str| eprintln!("[mailer] {m}");
        let mut after_batch = |n: usize| {
            if stop_after == Some(n) {
                // Test hook: die like a kill, without flushing anything.
                std::process::exit(137);
            }
        };
        mailer::send::run(
            &recipients,
            &templates,
            &claim,
            &public_url,
            log.as_mut(),
            client.as_mut(),
            &SendOptions {
                mode,
                campaign: a.campaign.clone(),
                from: a.from.clone(),
                batch_size: a.batch_size,
                resend_uncertain: a.resend_uncertain,
                now,
            },
            Sinks {
                line: &mut line,
                progress: &mut progress,
                after_batch: &mut after_batch,
            },
        )
    };
    if stdout_error.is_none()
        && let Err(e) = out.finish()
    {
        stdout_error = Some(e);
    }
    skipped.extend(summary.skipped.iter().cloned());
    let counts = Counts {
        people,
        recipients: recipients.len(),
        skipped: skipped.len(),
        sent: summary.sent,
        would_send: summary.would_send,
        already_sent: summary.already_sent,
        failed: summary.failed.len(),
        batches: summary.batches,
        replayed_batches: summary.replayed_batches,
        requests: client.as_ref().map_or(0, |c| c.requests),
        throttled: client.as_ref().map_or(0, |c| c.throttled),
    };
    eprintln!(
        "[mailer] mode={mode_name} recipients={} skipped={} sent={} failed={} already-sent={} would-send={} batches={} requests={} throttled={}",
        counts.recipients,
        counts.skipped,
        counts.sent,
        counts.failed,
        counts.already_sent,
        counts.would_send,
        counts.batches,
        counts.requests,
        counts.throttled
    );
    let fatal = summary.fatal.as_ref().map(ToString::to_string);
    if let Some(path) = &a.json {
        write_report(
            path,
            &Report {
                run_at,
                mode: mode_name,
                recipients: &recipients,
                skipped: &skipped,
                sent: summary.sent,
                failed: &summary.failed,
                counts,
                campaign: Some(&a.campaign),
                sent_log: a.sent_log.as_ref().map(|p| p.display().to_string()),
                api_base: Some(&a.api_base),
                from: Some(&a.from),
                claim_url: Some(&claim),
                template_dir: a.template_dir.as_ref().map(|p| p.display().to_string()),
                error: fatal.clone(),
            },
        )?;
    }
    if let Some(e) = summary.fatal {
        return Err(e);
    }
    if let Some(e) = stdout_error
        && !is_pipe(&e)
    {
        return Err(stdout_err(e));
    }
    Ok(if summary.failed.is_empty() { 0 } else { 1 })
}
