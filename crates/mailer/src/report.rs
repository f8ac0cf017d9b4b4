//! The `--json=FILE` report of `select` and `send` (the reference's shape, extra keys after).

use serde::Serialize;

use crate::select::{Recipient, Skipped};
use crate::send::Failed;

/// The report: `{runAt, mode, recipients, skipped, sent, failed}` as the reference, then ours.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report<'a> {
    pub run_at: String,
    /// `select`, `dry-run` or `send`.
    pub mode: &'a str,
    pub recipients: &'a [Recipient],
    pub skipped: &'a [Skipped],
    pub sent: usize,
    pub failed: &'a [Failed],
    pub counts: Counts,
    pub campaign: Option<&'a str>,
    pub sent_log: Option<String>,
    pub api_base: Option<&'a str>,
    pub from: Option<&'a str>,
    pub claim_url: Option<&'a str>,
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
pub struct Counts {
    pub people: Option<usize>,
    pub recipients: usize,
    pub skipped: usize,
    pub sent: usize,
    pub would_send: usize,
    pub already_sent: usize,
    pub failed: usize,
    pub batches: usize,
    pub replayed_batches: usize,
    pub requests: u64,
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
