//! The `--json=FILE` report of `select` and `send` (the reference's shape, extra keys after).

use serde::Serialize;

use crate::select::{Recipient, Skipped};
use crate::send::Failed;

/// The report: `{runAt, mode, recipients, skipped, sent, failed}` as the reference, then ours.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<'a> {
    /// When the run started (ISO).
    pub run_at: String,
    /// `select`, `dry-run` or `send`.
    pub mode: &'a str,
    /// Who gets (or got) the mail.
    pub recipients: &'a [Recipient],
    /// Who was left out, and why.
    pub skipped: &'a [Skipped],
    /// Emails Resend accepted in this run.
    pub sent: usize,
    /// Recipients whose mail failed.
    pub failed: &'a [Failed],
    /// The counts.
    pub counts: Counts,
    /// The campaign.
    pub campaign: Option<&'a str>,
    /// The sent-log used.
    pub sent_log: Option<String>,
    /// The Resend API base.
    pub api_base: Option<&'a str>,
    /// The sender address.
    pub from: Option<&'a str>,
    /// The sign-in link in the mails.
    pub claim_url: Option<&'a str>,
    /// `--template-dir`, when given.
    pub template_dir: Option<String>,
    /// Set when the run stopped early on a fatal error.
    pub error: Option<String>,
}

impl<'a> Report<'a> {
    /// A report with the reference's keys set and ours empty.
    pub fn new(
        run_at: String,
        mode: &'a str,
        recipients: &'a [Recipient],
        skipped: &'a [Skipped],
        counts: Counts,
    ) -> Report<'a> {
        Report {
            run_at,
            mode,
            recipients,
            skipped,
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
        }
    }
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
/// The report's counts.
pub struct Counts {
    /// Persons on the branch (absent when recipients were read from a file).
    pub people: Option<usize>,
    /// Recipients.
    pub recipients: usize,
    /// Persons left out.
    pub skipped: usize,
    /// Emails Resend accepted in this run.
    pub sent: usize,
    /// Dry run: emails that would be sent.
    pub would_send: usize,
    /// Recipients an earlier run already mailed.
    pub already_sent: usize,
    /// Recipients whose mail failed.
    pub failed: usize,
    /// Batch requests sent.
    pub batches: usize,
    /// In-flight batches of an earlier run replayed.
    pub replayed_batches: usize,
    /// HTTP requests made.
    pub requests: u64,
    /// 429 answers waited out.
    pub throttled: u64,
}

impl Counts {
    /// The closing stderr line of `mailer send`.
    pub fn summary_line(&self, mode: &str) -> String {
        format!(
            "mode={mode} recipients={} skipped={} sent={} failed={} already-sent={} would-send={} batches={} requests={} throttled={}",
            self.recipients,
            self.skipped,
            self.sent,
            self.failed,
            self.already_sent,
            self.would_send,
            self.batches,
            self.requests,
            self.throttled
        )
    }
}
