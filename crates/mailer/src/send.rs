//! The send loop: dedupe, consult the sent-log, replay batches an earlier run left in flight,
//! then send the rest in batches, logging each batch before and after it goes out.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use serde::Serialize;
use serde_json::{Value, json};

use crate::Error;
use crate::client::{Client, Outcome, recipient_key, request_key};
use crate::content::{Context, Templates};
use crate::select::{Reason, Recipient, Skipped};
use crate::sentlog::{Intent, Member, Sent, SentLog};

/// Resend keeps idempotency keys 24 hours; replay an in-flight batch only well inside that.
pub const REPLAY_WINDOW: Duration = Duration::from_secs(23 * 3600);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
/// Whether a run sends or only shows what it would send.
pub enum Mode {
    /// Show what would be sent; contact nobody.
    DryRun,
    /// Send through Resend.
    Send,
}

/// What happened to one recipient: the `mailer send` NDJSON line.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// Accepted by Resend in this run.
    Sent,
    /// The sent-log says this person (or address) was mailed by an earlier run.
    AlreadySent,
    /// Dry run: would be sent.
    WouldSend,
    /// Not sent (see `error`).
    Failed,
    /// Left out before sending (see `reason`).
    Skipped,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
/// One recipient's result, the `mailer send` NDJSON line.
pub struct ResultLine {
    /// Line format version, [`crate::select::LINE_VERSION`].
    pub v: u8,
    /// The Person.
    pub person_id: String,
    /// The address.
    pub email: String,
    /// What happened.
    pub status: Status,
    /// The recipient's key, `<campaign>/<personId>`.
    pub idempotency_key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The Person's slug.
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The key of the batch request that carried the mail.
    pub request_key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The batch number in this run.
    pub batch: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Resend's id of the email.
    pub email_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// When Resend accepted it.
    pub sent_at: Option<String>,
    /// True when this run re-sent a batch an earlier run left in flight (Resend answers such a
    /// replay from its idempotency store).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub replayed: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why it was skipped.
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// Why it failed.
    pub error: Option<String>,
}

/// A recipient that was not sent, and why (the reference's `failed[]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Failed {
    /// The Person.
    pub person_id: String,
    /// Why the mail failed.
    pub error: String,
}

#[derive(Clone, Debug)]
/// How a send run works.
pub struct SendOptions {
    /// Send or dry run.
    pub mode: Mode,
    /// The campaign name, the first part of every idempotency key.
    pub campaign: String,
    /// The sender address.
    pub from: String,
    /// `reply_to` of every email (the contact address), if any.
    pub reply_to: Option<String>,
    /// Emails per batch request.
    pub batch_size: usize,
    /// Send again the recipients of an in-flight batch older than Resend's key window.
    pub resend_uncertain: bool,
    /// The run's clock.
    pub now: jiff::Timestamp,
}

#[derive(Debug, Default)]
/// What a send run did.
pub struct Summary {
    /// Emails Resend accepted.
    pub sent: usize,
    /// Dry run: emails that would be sent.
    pub would_send: usize,
    /// Recipients an earlier run already mailed.
    pub already_sent: usize,
    /// Recipients left out before sending.
    pub skipped: Vec<Skipped>,
    /// Recipients whose mail failed.
    pub failed: Vec<Failed>,
    /// Batch requests that were accepted.
    pub batches: usize,
    /// In-flight batches of an earlier run that were replayed.
    pub replayed_batches: usize,
    /// An error that stopped the run early (exit 2); everything after it is in `failed`.
    pub fatal: Option<Error>,
}

/// Where results and progress go.
pub struct Sinks<'a> {
    /// Receives each recipient's result line.
    pub line: &'a mut dyn FnMut(&ResultLine),
    /// Receives human progress lines.
    pub progress: &'a mut dyn FnMut(&str),
    /// Called after each accepted batch is logged, with the number accepted so far.
    pub after_batch: &'a mut dyn FnMut(usize),
}

struct Ctx<'a, 'b> {
    opts: &'a SendOptions,
    templates: &'a Templates,
    content: &'a Context,
    log: Option<&'a mut SentLog>,
    client: Option<&'a mut Client>,
    sinks: Sinks<'b>,
    summary: Summary,
    stop: Option<String>,
    /// personId → slug, for the result lines.
    slugs: HashMap<String, String>,
}

fn iso_now() -> String {
    crate::iso(jiff::Timestamp::now())
}

/// A result line with only the always-present keys set.
fn base_line(m: &Member, status: Status) -> ResultLine {
    ResultLine {
        v: crate::select::LINE_VERSION,
        person_id: m.person_id.clone(),
        email: m.email.clone(),
        status,
        idempotency_key: m.idempotency_key.clone(),
        slug: m.slug.clone(),
        request_key: None,
        batch: None,
        email_id: None,
        sent_at: None,
        replayed: false,
        reason: None,
        error: None,
    }
}

impl Ctx<'_, '_> {
    /// The sent-log already has this person.
    fn logged(&self, person_id: &str) -> bool {
        self.log
            .as_deref()
            .is_some_and(|l| l.sent_to(person_id, "").is_some())
    }

    /// The earlier send to this recipient (person or address), if the log has one.
    fn earlier_send(&self, r: &Recipient) -> Option<Sent> {
        self.log
            .as_deref()
            .and_then(|l| l.sent_to(&r.person_id, &r.email))
            .cloned()
    }

    fn line(&mut self, r: ResultLine) {
        (self.sinks.line)(&r);
    }

    fn slug_of(&self, person_id: &str) -> Option<String> {
        self.slugs.get(person_id).cloned()
    }

    /// Fail every recipient of `intent` the sent-log does not already list as sent.
    fn fail_unsent(&mut self, intent: &Intent, error: &str) {
        for m in &intent.recipients {
            if !self.logged(&m.person_id) {
                self.fail(m, Some(&intent.request_key), error);
            }
        }
    }

    fn fail(&mut self, m: &Member, request_key: Option<&str>, error: &str) {
        self.summary.failed.push(Failed {
            person_id: m.person_id.clone(),
            error: error.to_owned(),
        });
        let mut line = base_line(m, Status::Failed);
        line.slug = line.slug.or_else(|| self.slug_of(&m.person_id));
        line.request_key = request_key.map(str::to_owned);
        line.error = Some(error.to_owned());
        self.line(line);
    }

    /// Leaves `r` out with `reason`; `sent` is the earlier send for `already-sent`.
    fn skip(&mut self, r: &Recipient, reason: Reason, dup: Option<String>, sent: Option<&Sent>) {
        self.summary.skipped.push(Skipped {
            person_id: r.person_id.clone(),
            reason,
            slug: Some(r.slug.clone()),
            duplicate_of: dup,
        });
        let status = if reason == Reason::AlreadySent {
            Status::AlreadySent
        } else {
            Status::Skipped
        };
        let mut line = base_line(&self.member(r), status);
        line.request_key = sent.map(|s| s.request_key.clone());
        line.email_id = sent.and_then(|s| s.email_id.clone());
        line.sent_at = sent.map(|s| s.sent_at.clone());
        line.reason = Some(reason);
        self.line(line);
    }

    fn would_send(&mut self, m: &Member, request_key: &str, replayed: bool) {
        self.summary.would_send += 1;
        let mut line = base_line(m, Status::WouldSend);
        line.slug = line.slug.or_else(|| self.slug_of(&m.person_id));
        line.request_key = Some(request_key.to_owned());
        line.replayed = replayed;
        self.line(line);
    }

    fn member(&self, r: &Recipient) -> Member {
        Member {
            person_id: r.person_id.clone(),
            email: r.email.clone(),
            idempotency_key: recipient_key(&self.opts.campaign, &r.person_id),
            slug: Some(r.slug.clone()),
        }
    }

    fn email_json(&self, r: &Recipient) -> Value {
        let m = self.templates.render(r, self.content);
        let mut email = json!({
            "from": self.opts.from,
            "to": [r.email],
            "subject": m.subject,
            "html": m.html,
            "text": m.text,
        });
        if let Some(reply_to) = &self.opts.reply_to {
            email["reply_to"] = json!(reply_to);
        }
        email
    }

    fn make_intent(&self, batch: &[&Recipient], at: String) -> Intent {
        let members: Vec<Member> = batch.iter().map(|r| self.member(r)).collect();
        let keys: Vec<String> = members.iter().map(|m| m.idempotency_key.clone()).collect();
        Intent {
            request_key: request_key(&self.opts.campaign, &keys),
            at,
            recipients: members,
            body: Value::Array(batch.iter().map(|r| self.email_json(r)).collect()),
        }
    }

    /// Sends one logged intent. Returns `true` when Resend refused a new multi-recipient batch
    /// as invalid (422): strict batch validation fails the whole batch for one bad email, so
    /// the caller sends its recipients one by one to isolate it.
    fn send_intent(&mut self, intent: &Intent, replay: bool) -> Result<bool, Error> {
        let body = serde_json::to_vec(&intent.body).map_err(|e| Error::Usage(e.to_string()))?;
        let batch_no = self.summary.batches + 1;
        let Some(client) = self.client.as_deref_mut() else {
            return Err(Error::Usage("sending needs a client and a sent-log".into()));
        };
        let progress = &mut *self.sinks.progress;
        (progress)(&format!(
            "batch {batch_no}: {} recipient(s){}",
            intent.recipients.len(),
            if replay {
                ", replaying an in-flight batch of an earlier run"
            } else {
                ""
            }
        ));
        let outcome = client.send_batch(&body, &intent.request_key, &mut |m| progress(m));
        self.settle(intent, outcome, replay, batch_no)
    }

    /// Records what became of a sent intent, in the log and as result lines.
    fn settle(
        &mut self,
        intent: &Intent,
        outcome: Outcome,
        replay: bool,
        batch_no: usize,
    ) -> Result<bool, Error> {
        let Some(log) = self.log.as_deref_mut() else {
            return Err(Error::Usage("sending needs a client and a sent-log".into()));
        };
        match outcome {
            Outcome::Accepted { ids, .. } => self.accepted(intent, &ids, replay, batch_no)?,
            Outcome::Rejected {
                status,
                name,
                message,
            } => {
                let err = format!("{status} {name}: {message}");
                log.record_abandoned(&intent.request_key, &iso_now(), &err)?;
                if status == 422 && !replay && intent.recipients.len() > 1 {
                    (self.sinks.progress)(&format!(
                        "{err}; sending this batch's {} recipients one by one to find the bad one",
                        intent.recipients.len()
                    ));
                    return Ok(true);
                }
                self.fail_unsent(intent, &err);
            }
            Outcome::KeyConflict { message } => {
                // Not sent now, but most likely sent before: never mail them under a new key.
                // The intent stays open, so every re-run says the same until an operator decides.
                let err = format!(
                    "409 invalid_idempotent_request: {message} Resend already has this batch's Idempotency-Key with another content, so these people were most likely mailed within the last 24 h; not sent again"
                );
                self.fail_unsent(intent, &err);
            }
            Outcome::Unauthorized {
                status,
                name,
                message,
            } => {
                // Nothing was sent with a refused key: close the intent.
                let err = format!("{status} {name}: {message}");
                log.record_abandoned(&intent.request_key, &iso_now(), &err)?;
                self.fail_unsent(intent, &err);
                self.stop = Some(format!("not attempted: Resend refused the API key ({err})"));
                self.summary.fatal = Some(Error::Auth {
                    status,
                    name,
                    message,
                });
            }
            Outcome::GaveUp { reason, stop_run } => {
                // Unknown whether it went out: the intent stays open, the next run replays it.
                let err = format!(
                    "{reason}; delivery unknown, the next run replays this batch with the same Idempotency-Key"
                );
                self.fail_unsent(intent, &err);
                if stop_run {
                    self.stop = Some(format!("not attempted: {reason}"));
                }
            }
        }
        Ok(false)
    }

    /// Logs the recipients of an accepted batch (those not logged yet) and reports them sent.
    fn accepted(
        &mut self,
        intent: &Intent,
        ids: &[String],
        replay: bool,
        batch_no: usize,
    ) -> Result<(), Error> {
        let at = iso_now();
        let sent: Vec<Sent> = intent
            .recipients
            .iter()
            .enumerate()
            .filter(|(_, m)| !self.logged(&m.person_id))
            .map(|(i, m)| Sent {
                request_key: intent.request_key.clone(),
                person_id: m.person_id.clone(),
                email: m.email.clone(),
                idempotency_key: m.idempotency_key.clone(),
                slug: m.slug.clone(),
                email_id: ids.get(i).cloned(),
                sent_at: at.clone(),
            })
            .collect();
        if let Some(log) = self.log.as_deref_mut() {
            log.record_sent(&sent)?;
        }
        self.summary.batches += 1;
        if replay {
            self.summary.replayed_batches += 1;
        }
        for s in sent {
            self.summary.sent += 1;
            let member = Member {
                person_id: s.person_id.clone(),
                email: s.email,
                idempotency_key: s.idempotency_key,
                slug: s.slug.or_else(|| self.slug_of(&s.person_id)),
            };
            let mut line = base_line(&member, Status::Sent);
            line.request_key = Some(s.request_key);
            line.batch = Some(batch_no);
            line.email_id = s.email_id;
            line.sent_at = Some(s.sent_at);
            line.replayed = replay;
            self.line(line);
        }
        let n = self.summary.batches;
        (self.sinks.after_batch)(n);
        Ok(())
    }

    /// Logs the intent of `batch`, sends it, and on a 422 sends its recipients singly.
    fn send_new(&mut self, batch: &[&Recipient]) -> Result<(), Error> {
        let intent = self.make_intent(batch, iso_now());
        let Some(log) = self.log.as_deref_mut() else {
            return Err(Error::Usage("--send needs --sent-log".into()));
        };
        log.write_intent(&intent)?;
        if self.send_intent(&intent, false)? {
            for r in batch {
                if let Some(why) = self.stop.clone() {
                    let m = self.member(r);
                    self.fail(&m, None, &why);
                    continue;
                }
                let single = self.make_intent(std::slice::from_ref(r), iso_now());
                if let Some(log) = self.log.as_deref_mut() {
                    log.write_intent(&single)?;
                }
                self.send_intent(&single, false)?;
            }
        }
        Ok(())
    }
}

/// What a run works with besides the recipients.
pub struct Setup<'a> {
    /// The templates.
    pub templates: &'a Templates,
    /// The campaign-wide values.
    pub content: &'a Context,
    /// The sent-log (none in a dry run without `--sent-log`).
    pub log: Option<&'a mut SentLog>,
    /// The Resend client (none in a dry run).
    pub client: Option<&'a mut Client>,
    /// How the run works.
    pub opts: &'a SendOptions,
}

/// Runs a dry run or a send over `recipients` (in order). In send mode the log and the client
/// are required. Every recipient gets a result line unless a fatal error (the sent-log cannot
/// be written) stops the run; that error is in [`Summary::fatal`].
pub fn run(recipients: &[Recipient], setup: Setup<'_>, sinks: Sinks<'_>) -> Summary {
    let mut ctx = Ctx {
        opts: setup.opts,
        templates: setup.templates,
        content: setup.content,
        log: setup.log,
        client: setup.client,
        sinks,
        summary: Summary::default(),
        stop: None,
        slugs: recipients
            .iter()
            .map(|r| (r.person_id.clone(), r.slug.clone()))
            .collect(),
    };
    if let Err(e) = run_phases(&mut ctx, recipients) {
        ctx.summary.fatal = Some(e);
    }
    ctx.summary
}

fn run_phases(ctx: &mut Ctx<'_, '_>, recipients: &[Recipient]) -> Result<(), Error> {
    let (replays, in_intent) = open_intents(ctx)?;
    replay_intents(ctx, &replays)?;
    let pending = pending(ctx, recipients, &in_intent);
    send_pending(ctx, &pending)
}

/// Batches an earlier run left in flight: those young enough to replay, and every person they
/// cover. Older ones fail (delivery unknown), or with `--resend-uncertain` are closed so their
/// recipients are sent afresh.
fn open_intents(ctx: &mut Ctx<'_, '_>) -> Result<(Vec<Intent>, HashSet<String>), Error> {
    let intents: Vec<Intent> = ctx
        .log
        .as_deref()
        .map(|l| l.open_intents().to_vec())
        .unwrap_or_default();
    let mut in_intent: HashSet<String> = HashSet::new();
    let mut replays = Vec::new();
    for intent in intents {
        let age = intent
            .at
            .parse::<jiff::Timestamp>()
            .ok()
            .map(|t| ctx.opts.now.duration_since(t).unsigned_abs())
            .unwrap_or(Duration::MAX);
        if age <= REPLAY_WINDOW {
            in_intent.extend(intent.recipients.iter().map(|m| m.person_id.clone()));
            replays.push(intent);
        } else if !ctx.opts.resend_uncertain {
            in_intent.extend(intent.recipients.iter().map(|m| m.person_id.clone()));
            let err = format!(
                "delivery unknown: batch {} of {} was in flight when a run stopped, longer ago than Resend keeps idempotency keys; check the Resend logs, then re-run with --resend-uncertain to mail these people again",
                intent.request_key, intent.at
            );
            ctx.fail_unsent(&intent, &err);
        } else if ctx.opts.mode == Mode::Send
            && let Some(log) = ctx.log.as_deref_mut()
        {
            log.record_abandoned(&intent.request_key, &iso_now(), "older than the idempotency window; re-sent at the operator's request (--resend-uncertain)")?;
        }
    }
    Ok((replays, in_intent))
}

/// Replays in-flight batches exactly as they were logged (a dry run only lists them).
fn replay_intents(ctx: &mut Ctx<'_, '_>, replays: &[Intent]) -> Result<(), Error> {
    for intent in replays {
        if let Some(why) = ctx.stop.clone() {
            ctx.fail_unsent(intent, &why);
            continue;
        }
        match ctx.opts.mode {
            Mode::Send => {
                ctx.send_intent(intent, true)?;
            }
            Mode::DryRun => {
                for m in &intent.recipients {
                    if !ctx.logged(&m.person_id) {
                        ctx.would_send(m, &intent.request_key, true);
                    }
                }
            }
        }
    }
    if ctx.stop.is_none() && !replays.is_empty() && ctx.opts.mode == Mode::Send {
        (ctx.sinks.progress)(&format!(
            "{} in-flight batch(es) of an earlier run settled",
            replays.len()
        ));
    }
    Ok(())
}

/// Everyone still to mail: duplicates and people the log has are reported and left out;
/// people of an in-flight batch were reported with it.
fn pending<'r>(
    ctx: &mut Ctx<'_, '_>,
    recipients: &'r [Recipient],
    in_intent: &HashSet<String>,
) -> Vec<&'r Recipient> {
    let mut seen_person: HashSet<&str> = HashSet::new();
    let mut seen_email: HashMap<String, String> = HashMap::new();
    let mut pending: Vec<&Recipient> = Vec::new();
    for r in recipients {
        if !seen_person.insert(&r.person_id) {
            ctx.skip(r, Reason::DuplicatePerson, None, None);
            continue;
        }
        let email = r.email.to_lowercase();
        if let Some(first) = seen_email.get(&email) {
            ctx.skip(r, Reason::DuplicateEmail, Some(first.clone()), None);
            continue;
        }
        seen_email.insert(email, r.person_id.clone());
        if in_intent.contains(&r.person_id) {
            continue;
        }
        if let Some(s) = ctx.earlier_send(r) {
            ctx.summary.already_sent += 1;
            ctx.skip(r, Reason::AlreadySent, None, Some(&s));
            continue;
        }
        pending.push(r);
    }
    pending
}

/// Sends (or, in a dry run, lists) `pending` in batches.
fn send_pending(ctx: &mut Ctx<'_, '_>, pending: &[&Recipient]) -> Result<(), Error> {
    let batch_size = ctx.opts.batch_size.clamp(1, crate::client::MAX_BATCH);
    for chunk in pending.chunks(batch_size) {
        if let Some(why) = ctx.stop.clone() {
            for r in chunk {
                let m = ctx.member(r);
                ctx.fail(&m, None, &why);
            }
            continue;
        }
        // Consulted again right before sending: a replay above may have covered an address.
        let mut batch: Vec<&Recipient> = Vec::new();
        for r in chunk {
            if let Some(s) = ctx.earlier_send(r) {
                ctx.summary.already_sent += 1;
                ctx.skip(r, Reason::AlreadySent, None, Some(&s));
            } else {
                batch.push(r);
            }
        }
        if batch.is_empty() {
            continue;
        }
        match ctx.opts.mode {
            Mode::DryRun => {
                let intent = ctx.make_intent(&batch, crate::iso(ctx.opts.now));
                for m in &intent.recipients {
                    ctx.would_send(m, &intent.request_key, false);
                }
            }
            Mode::Send => ctx.send_new(&batch)?,
        }
    }
    Ok(())
}
