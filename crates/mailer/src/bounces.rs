//! `mailer bounces`: the delivery status of everything the sent-log holds, read back from
//! Resend (`GET /emails/{id}`, its `last_event`), counted per campaign, with the bounced and
//! complained members as NDJSON for follow-up.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::Error;
use crate::client::{Client, Lookup};
use crate::select::LINE_VERSION;
use crate::sentlog::Sent;

/// Per-campaign counts. `delivered` includes `opened` and `clicked` (both come after a
/// delivery); `other` is every other event (`sent`, `queued`, `delivery_delayed`, `failed`,
/// …); `unknown` is an email the sent-log has no id for, or whose lookup failed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CampaignCounts {
    /// Emails of the campaign in the sent-log.
    pub emails: usize,
    /// Delivered (opened and clicked included).
    pub delivered: usize,
    /// Bounced.
    pub bounced: usize,
    /// Marked as spam by the recipient.
    pub complained: usize,
    /// Any other last event (sent, queued, delivery delayed, failed, …).
    pub other: usize,
    /// No email id in the sent-log, or the lookup failed.
    pub unknown: usize,
    /// Every `last_event` seen, with its count.
    pub events: BTreeMap<String, usize>,
}

/// One bounced or complained member: the NDJSON line. `email` only with `--show-emails`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BounceLine {
    /// Line format version, [`crate::select::LINE_VERSION`].
    pub v: u8,
    /// The Person mailed.
    pub person_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The Person's slug, when the sent-log has it.
    pub slug: Option<String>,
    /// The campaign of the email.
    pub campaign: String,
    /// `bounced` or `complained`.
    pub event: String,
    /// When the email was sent: Resend's `created_at`, else the sent-log's `sentAt` (the
    /// email object carries no time for its last event).
    pub at: String,
    /// Resend's id of the email.
    pub email_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The address (only with `--show-emails`).
    pub email: Option<String>,
}

/// A lookup that gave no answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LookupFailure {
    /// The Person mailed.
    pub person_id: String,
    /// The campaign of the email.
    pub campaign: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Resend's id of the email, when the sent-log has one.
    pub email_id: Option<String>,
    /// Why there is no answer.
    pub error: String,
}

#[derive(Debug, Default)]
/// What `mailer bounces` found: counts per campaign and the lookups that failed.
pub struct BounceSummary {
    /// Counts per campaign name.
    pub campaigns: BTreeMap<String, CampaignCounts>,
    /// Lookups that gave no answer.
    pub failures: Vec<LookupFailure>,
    /// Set when Resend refused the key: nothing more was looked up (exit 2).
    pub fatal: Option<Error>,
}

/// Looks up every sent email of `sent` (optionally one campaign only), in log order, calling
/// `line` for each bounced or complained member and `progress` with human lines.
pub fn run(
    sent: &[(String, Sent)],
    client: &mut Client,
    show_emails: bool,
    line: &mut dyn FnMut(&BounceLine),
    progress: &mut dyn FnMut(&str),
) -> BounceSummary {
    let mut out = BounceSummary::default();
    let mut stopped: Option<String> = None;
    for (campaign, s) in sent {
        let counts = out.campaigns.entry(campaign.clone()).or_default();
        counts.emails += 1;
        let fail = |error: String| LookupFailure {
            person_id: s.person_id.clone(),
            campaign: campaign.clone(),
            email_id: s.email_id.clone(),
            error,
        };
        let (Some(id), None) = (&s.email_id, &stopped) else {
            counts.unknown += 1;
            let why = stopped
                .clone()
                .unwrap_or_else(|| "the sent-log has no Resend email id for it".into());
            out.failures.push(fail(why));
            continue;
        };
        match client.get_email(id, progress) {
            Lookup::Found {
                last_event,
                created_at,
            } => {
                let event = last_event.unwrap_or_else(|| "none".into());
                *counts.events.entry(event.clone()).or_default() += 1;
                match event.as_str() {
                    "delivered" | "opened" | "clicked" => counts.delivered += 1,
                    "bounced" | "complained" => {
                        if event == "bounced" {
                            counts.bounced += 1;
                        } else {
                            counts.complained += 1;
                        }
                        line(&BounceLine {
                            v: LINE_VERSION,
                            person_id: s.person_id.clone(),
                            slug: s.slug.clone(),
                            campaign: campaign.clone(),
                            event,
                            at: created_at.unwrap_or_else(|| s.sent_at.clone()),
                            email_id: id.clone(),
                            email: show_emails.then(|| s.email.clone()),
                        });
                    }
                    _ => counts.other += 1,
                }
            }
            Lookup::GaveUp { reason, stop_run } => {
                counts.unknown += 1;
                out.failures.push(fail(reason.clone()));
                if stop_run {
                    stopped = Some(format!("not looked up: {reason}"));
                }
            }
            Lookup::Failed {
                status,
                name,
                message,
            }
            | Lookup::Unauthorized {
                status,
                name,
                message,
            } => {
                counts.unknown += 1;
                out.failures
                    .push(fail(format!("{status} {name}: {message}")));
                if matches!(status, 401 | 403) {
                    stopped = Some(format!(
                        "not looked up: Resend refused the API key ({status} {name})"
                    ));
                    out.fatal = Some(Error::Auth {
                        status,
                        name,
                        message,
                    });
                }
            }
        }
    }
    out
}
