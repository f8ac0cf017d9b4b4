//! The command line, as a clap definition other tools can reach (xtask builds completions and
//! man pages from [`Cli`]).

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};

use crate::campaign::Campaign;
use crate::client::{DEFAULT_API_BASE, MAX_BATCH};

/// `250ms`, `2s`, `1.5s`, `3m`, `1h`, or a bare number of seconds.
fn short_duration(s: &str) -> Result<Duration, ::cli::duration::BadDuration> {
    ::cli::duration::parse(s, ::cli::duration::SHORT)
}

#[derive(Parser, Debug)]
#[command(
    name = "mailer",
    version = ::cli::VERSION,
    about = "The cutover's member emails through the Resend API, exactly once each: the T-7 announcement, the T+90 reminder, the T+180 drain notice and the rollback apology; and their bounces.",
    after_help = "Campaigns (--campaign, default t90-reminder):
  t7-announcement    every member with a usable email, deduplicated; members who opted out of
                     the newsletter are included (an operational notice about their account)
  t90-reminder       members whose laddr account is still unclaimed (not GitHub-linked)
  t180-drain-notice  members whose legacy password `reconcile drain-legacy` would delete
  rollback-apology   the members of the rollback export's affected-member NDJSON (--affected)

Examples:
  mailer select --campaign=t7-announcement --laddr=people.ndjson > t7.ndjson
  mailer send --dry-run --campaign=t7-announcement --cutover-date=2026-08-15 \\
      --laddr=people.ndjson --render-dir=/scratch/t7-samples --sent-log=/scratch/sent.ndjson
  RESEND_API_KEY=re_… mailer send --send --campaign=t90-reminder --laddr=people.ndjson \\
      --sent-log=/scratch/sent.ndjson --json=/scratch/t90-send.json
  RESEND_API_KEY=re_… mailer bounces --sent-log=/scratch/sent.ndjson --json=/scratch/bounces.json

One sent-log (--sent-log) serves every campaign: it is keyed by (campaign, person), so nobody
gets the same campaign twice, whatever crashes.
Exit: 0 nothing failed, 1 some sends failed (send) or bounces/complaints/unknowns (bounces),
2 usage or fatal error.
Data: --data-repo/CFP_DATA_REPO_PATH (bare clone), STORAGE_BACKEND=filesystem with
CFP_PRIVATE_STORAGE_PATH, or STORAGE_BACKEND=s3 with S3_ENDPOINT, S3_BUCKET, S3_ACCESS_KEY_ID,
S3_SECRET_ACCESS_KEY, S3_REGION. RESEND_API_KEY is read from the environment only and never
printed."
)]
/// The `mailer` command line.
pub struct Cli {
    #[command(subcommand)]
    /// The subcommand.
    pub command: Command,
}

#[derive(Subcommand, Debug)]
/// The `mailer` subcommands.
pub enum Command {
    /// Print a campaign's recipients as NDJSON; every Person left out is in the --json report
    /// with a reason.
    #[command(after_help = "Examples:
  mailer select --json=select.json > recipients.ndjson
  mailer select --campaign=t180-drain-notice --older-than=180d | wc -l
  mailer select --campaign=rollback-apology --affected=/scratch/rollback/affected.ndjson

Rules (first match wins): deleted; the campaign's own rule (t90: github-linked; t180:
no-legacy-credential, github-linked, active-password, credential-too-recent,
credential-unreadable; rollback: only the affected members); then no-private-profile,
invalid-email (.invalid), active-password (only with --exclude-active-passwords),
duplicate-email (the first Person keeps the address).
Output lines: {\"v\":1,\"personId\",\"slug\",\"email\",\"fullName\"} plus \"laddrUsername\" (with
--laddr, T-7 and T+90) and \"writes\" (rollback-apology).")]
    Select {
        /// Where the recipients come from.
        #[command(flatten)]
        source: Source,
        /// Write the report (pretty JSON) to FILE.
        #[arg(long, value_name = "FILE")]
        json: Option<PathBuf>,
    },
    /// Send a campaign (or show what would be sent) through the Resend batch API.
    #[command(after_help = "Examples:
  mailer send --dry-run --sent-log=sent.ndjson --render-dir=samples --json=dry.json
  RESEND_API_KEY=re_… mailer send --send --sent-log=sent.ndjson --json=send.json
  mailer select > r.ndjson
  RESEND_API_KEY=re_… mailer send --send --recipients=r.ndjson --sent-log=sent.ndjson
  mailer send --send --campaign=t180-drain-notice --sent-log=sent.ndjson --template-dir=./t180

Exactly once: the sent-log (append + fsync, locked) is consulted before every batch; each batch
is logged before it goes out and replayed with the same Idempotency-Key if a run dies in
flight, so re-running the same command after a crash or a kill mails nobody twice.
Keys: <campaign>/<personId> per recipient; Resend takes one key per request, so a batch of
several uses <campaign>/batch-<sha1 of its recipients' keys>.
Templates: subject.txt, body.txt, body.html with {{name}} {{fullName}} {{slug}} {{email}}
{{claimUrl}} {{publicUrl}} {{contactEmail}} {{signInNote}} {{cutoverDate}} {{writes}}
{{writeCount}}; values are HTML-escaped in body.html. The built-in ones are
crates/mailer/templates/<campaign>/.
One NDJSON line per recipient: status sent | already-sent | would-send | failed | skipped.")]
    Send(Box<SendArgs>),
    /// Read the delivery status of every email in the sent-log back from Resend and report
    /// bounces and complaints per campaign.
    #[command(after_help = "Examples:
  RESEND_API_KEY=re_… mailer bounces --sent-log=/scratch/sent.ndjson --json=bounces.json
  RESEND_API_KEY=re_… mailer bounces --sent-log=sent.ndjson --campaign=t90-reminder --show-emails

One NDJSON line per bounced or complained member:
{\"v\":1,\"personId\",\"slug\",\"campaign\",\"event\",\"at\",\"emailId\"} (plus \"email\" with
--show-emails). Per campaign counts (delivered, bounced, complained, other, unknown) go to
stderr and the --json report. Lookups are paced (--rate) and 429/5xx are retried as in send.")]
    Bounces(Box<BouncesArgs>),
}

/// Where recipients come from.
#[derive(Args, Clone, Debug)]
pub struct Source {
    /// The mailing (see `mailer --help`).
    #[arg(long, value_enum, default_value = "t90-reminder")]
    pub campaign: Campaign,
    /// The bare data repo.
    #[arg(long, env = "CFP_DATA_REPO_PATH", value_name = "PATH")]
    pub data_repo: Option<PathBuf>,
    /// Branch (or ref) of the data repo to read Persons from.
    #[arg(long, env = "CFP_DATA_BRANCH", default_value = "published")]
    pub branch: String,
    /// Leave out people whose legacy credential was used since cutover (lastUsedAt set).
    #[arg(long)]
    pub exclude_active_passwords: bool,
    /// laddr-fetch NDJSON of the people (`laddr-fetch --resources=people`): the T-7 and T+90
    /// mails tell members whose laddr username is not their sign-in name which name to use.
    #[arg(long, value_name = "FILE")]
    pub laddr: Option<String>,
    /// rollback-apology: the rollback export's affected-member NDJSON (FILE, or - for stdin).
    #[arg(long, value_name = "FILE")]
    pub affected: Option<String>,
    /// t180-drain-notice: the age of credentials the drain deletes, as `reconcile
    /// drain-legacy --older-than` takes it (180d, 26w, 36h).
    #[arg(long, default_value = "180d", value_name = "AGE")]
    pub older_than: String,
}

/// Resend endpoint, pacing and retries.
#[derive(Args, Clone, Debug)]
pub struct ClientArgs {
    /// A Resend-compatible API base.
    #[arg(long, default_value = DEFAULT_API_BASE)]
    pub api_base: String,
    /// Requests per second at most (Resend's default team limit is 2).
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// First backoff after a 5xx or a network error (doubles each retry), e.g. 500ms, 2s.
    #[arg(long, default_value = "1s", value_parser = short_duration)]
    pub backoff: Duration,
    /// Longest backoff.
    #[arg(long, default_value = "60s", value_parser = short_duration)]
    pub max_backoff: Duration,
    /// Retries per request after a 5xx or a network error.
    #[arg(long, default_value_t = 6)]
    pub max_retries: u32,
    /// Stop the run when Resend asks to wait longer than this (a quota, not a burst).
    #[arg(long, default_value = "5m", value_parser = short_duration)]
    pub max_wait: Duration,
    /// Per-request timeout.
    #[arg(long, default_value = "60s", value_parser = short_duration)]
    pub timeout: Duration,
}

#[derive(Args, Clone, Debug)]
/// `mailer send`'s flags.
pub struct SendArgs {
    #[command(flatten)]
    /// Where the recipients come from (campaign, data repo, private store).
    pub source: Source,
    #[command(flatten)]
    /// How Resend is reached.
    pub client: ClientArgs,
    /// Show what would be sent; contact nobody, write nothing but the report and samples.
    #[arg(long)]
    pub dry_run: bool,
    /// Really send (needs RESEND_API_KEY and --sent-log).
    #[arg(long)]
    pub send: bool,
    /// Recipients NDJSON (`mailer select` output) from FILE, or `-` for stdin; without it the
    /// recipients are selected from the data repo and the private store.
    #[arg(long, value_name = "FILE")]
    pub recipients: Option<String>,
    /// The durable sent-log (NDJSON) shared by every campaign; required with --send, read if
    /// given with --dry-run.
    #[arg(long, value_name = "FILE")]
    pub sent_log: Option<PathBuf>,
    /// --dry-run: render three sample messages (text and HTML) into DIR/<campaign>/.
    #[arg(long, value_name = "DIR")]
    pub render_dir: Option<PathBuf>,
    /// Sender address (a domain verified in Resend).
    #[arg(long, default_value = "hello@codeforphilly.org")]
    pub from: String,
    /// Where questions go: the contact line of every mail ({{contactEmail}}), and the
    /// reply-to address when it differs from --from.
    #[arg(long, default_value = "hello@codeforphilly.org", value_name = "ADDR")]
    pub contact: String,
    /// t7-announcement: the cutover day (YYYY-MM-DD), written out in the mail.
    #[arg(long, value_name = "DATE")]
    pub cutover_date: Option<String>,
    /// The public site; the claim link is <public-url>/login.
    #[arg(
        long,
        env = "CFP_PUBLIC_URL",
        default_value = "https://codeforphilly.org"
    )]
    pub public_url: String,
    /// Directory with subject.txt, body.txt and body.html overriding the campaign's built-in
    /// templates (copy crates/mailer/templates/<campaign> to start).
    #[arg(long, value_name = "DIR")]
    pub template_dir: Option<PathBuf>,
    /// Emails per batch request (1 to 100).
    #[arg(long, default_value_t = MAX_BATCH)]
    pub batch_size: usize,
    /// Mail again the recipients of a batch that was in flight when a run died more than 23 h ago
    /// (Resend no longer remembers its key, so it may have been delivered).
    #[arg(long)]
    pub resend_uncertain: bool,
    /// Write the report (pretty JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Test hook: exit abruptly (no flush, like a kill) after N accepted batches.
    #[arg(long, hide = true)]
    pub stop_after_batches: Option<usize>,
}

#[derive(Args, Clone, Debug)]
/// `mailer bounces`' flags.
pub struct BouncesArgs {
    /// The sent-log `mailer send` wrote.
    #[arg(long, value_name = "FILE")]
    pub sent_log: PathBuf,
    /// Only this campaign (default: every campaign in the log).
    #[arg(long, value_enum)]
    pub campaign: Option<Campaign>,
    /// Put each bounced member's email address in its line (PII; off by default).
    #[arg(long)]
    pub show_emails: bool,
    #[command(flatten)]
    /// How Resend is reached.
    pub client: ClientArgs,
    /// Write the report (pretty JSON) to FILE.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
}
