//! The subcommands, phase by phase: check the arguments, gather the recipients, run, report.
//! The binary only parses the command line and maps the result to an exit code.

use std::io;
use std::path::Path;

use ::cli::Exit;
use private_store::{Credential, PrivateStore, Profile};

use crate::campaign::Campaign;
use crate::cli::{BouncesArgs, ClientArgs, Command, SendArgs, Source};
use crate::client::{ApiKey, Client, ClientOptions, MAX_BATCH};
use crate::content::{Context, Templates, claim_url, cutover_date, write_samples};
use crate::recipients::{read_affected, read_recipients, read_usernames};
use crate::report::{Counts, Report};
use crate::select::{
    DrainRule, Inputs, LINE_VERSION, Recipient, RecipientLine, SelectOptions, Skipped,
    drain_decisions, load_people, select_campaign,
};
use crate::send::{Mode, SendOptions, Setup, Sinks, Summary};
use crate::sentlog::SentLog;
use crate::{Error, iso};

/// Runs one subcommand.
pub fn run(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Select { source, json } => run_select(&source, json.as_deref()),
        Command::Send(args) => run_send(&args),
        Command::Bounces(args) => run_bounces(&args),
    }
}

/// Progress and warnings on stderr, one prefix for the whole tool.
pub fn say(message: &str) {
    eprintln!("mailer: {message}");
}

/// NDJSON on stdout that stops printing (but lets the run go on) when stdout fails: a
/// mailout must not stop half way because of `| head`; the report and the sent-log have
/// everything.
struct Out {
    ndjson: ::cli::Ndjson<io::StdoutLock<'static>>,
    error: Option<::cli::OutputError>,
}

/// Writes the `--json` report, if asked for.
fn write_report<T: serde::Serialize>(path: &Path, report: &T) -> Result<(), Error> {
    Ok(::cli::write_report(Some(path), report)?)
}

impl Out {
    fn new() -> Out {
        Out {
            ndjson: ::cli::Ndjson::stdout(),
            error: None,
        }
    }

    fn line<T: serde::Serialize>(&mut self, v: &T) {
        if self.error.is_none()
            && let Err(e) = self.ndjson.line(v)
        {
            self.error = Some(e);
        }
    }

    /// Flushes; a closed stdout is fine, any other write error is fatal.
    fn finish(self) -> Result<(), Error> {
        let result = match self.error {
            Some(e) => Err(e),
            None => self.ndjson.finish(),
        };
        match result {
            Err(::cli::OutputError::Closed) | Ok(()) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}

/// The recipients, the Persons left out, and how many Persons were looked at (when selected
/// from the data repo).
struct Selected {
    people: Option<usize>,
    recipients: Vec<Recipient>,
    skipped: Vec<Skipped>,
}

fn selected(source: &Source) -> Result<Selected, Error> {
    let campaign = source.campaign;
    if campaign == Campaign::RollbackApology && source.affected.is_none() {
        return Err(Error::Usage(
            "rollback-apology needs --affected=FILE (the rollback export's affected members)"
                .into(),
        ));
    }
    let repo =
        ::cli::data_repo(source.data_repo.as_ref()).map_err(|e| Error::Usage(e.to_string()))?;
    let affected = source.affected.as_deref().map(read_affected).transpose()?;
    let usernames = source.laddr.as_deref().map(read_usernames).transpose()?;
    let people = load_people(&repo, &source.branch)?;
    let store = PrivateStore::from_env()?;
    let profiles = store.load::<Profile>()?;
    let need_creds = source.exclude_active_passwords || campaign == Campaign::T180DrainNotice;
    let mut credentials = need_creds.then(|| store.load::<Credential>()).transpose()?;
    let drain = match (&mut credentials, campaign) {
        (Some(creds), Campaign::T180DrainNotice) => {
            let rule = DrainRule {
                now: jiff::Timestamp::now(),
                older_than_secs: reconcile::drain::parse_age(&source.older_than)
                    .map_err(|e| Error::Usage(e.to_string()))?,
            };
            Some(drain_decisions(&people, creds, rule)?)
        }
        _ => None,
    };
    let inputs = Inputs {
        people: &people,
        profiles: &profiles,
        credentials: credentials.as_ref(),
        usernames: usernames.as_ref(),
        affected: affected.as_deref().unwrap_or_default(),
        drain: drain.as_ref(),
    };
    let opts = SelectOptions {
        exclude_active_passwords: source.exclude_active_passwords,
    };
    let sel = select_campaign(campaign, &inputs, opts)?;
    Ok(Selected {
        people: Some(people.len()),
        recipients: sel.recipients,
        skipped: sel.skipped,
    })
}

/// ` reason=count` for every skip reason, in a stable order.
fn reason_counts(skipped: &[Skipped]) -> String {
    let mut counts: std::collections::BTreeMap<_, usize> = Default::default();
    for s in skipped {
        *counts.entry(s.reason).or_default() += 1;
    }
    counts
        .iter()
        .map(|(r, n)| format!(" {}={n}", r.name()))
        .collect()
}

fn run_select(source: &Source, json: Option<&Path>) -> Result<Exit, Error> {
    let run_at = iso(jiff::Timestamp::now());
    let sel = selected(source)?;
    let mut out = Out::new();
    for r in &sel.recipients {
        out.line(&RecipientLine {
            v: LINE_VERSION,
            recipient: r,
        });
    }
    out.finish()?;
    if let Some(path) = json {
        let counts = Counts {
            people: sel.people,
            recipients: sel.recipients.len(),
            skipped: sel.skipped.len(),
            ..Counts::default()
        };
        let mut report = Report::new(run_at, "select", &sel.recipients, &sel.skipped, counts);
        report.campaign = Some(source.campaign.name());
        write_report(path, &report)?;
    }
    say(&format!(
        "mode=select people={} recipients={} skipped={}{} campaign={}",
        sel.people.unwrap_or_default(),
        sel.recipients.len(),
        sel.skipped.len(),
        reason_counts(&sel.skipped),
        source.campaign,
    ));
    Ok(Exit::Ok)
}

/// `--campaign`-independent checks of `mailer send`: nothing is read, opened or sent before
/// they pass.
fn check_send(a: &SendArgs, key: Option<&ApiKey>) -> Result<Mode, Error> {
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
    if mode == Mode::Send && a.render_dir.is_some() {
        return Err(Error::Usage("--render-dir goes with --dry-run".into()));
    }
    if !(1..=MAX_BATCH).contains(&a.batch_size) {
        return Err(Error::Usage(format!(
            "--batch-size must be 1 to {MAX_BATCH} (Resend's batch limit)"
        )));
    }
    if a.from.trim().is_empty() {
        return Err(Error::Usage("--from must not be empty".into()));
    }
    if !private_store::validate::is_email(&a.contact.to_lowercase()) {
        return Err(Error::Usage(format!(
            "--contact {:?} is not an email address",
            a.contact
        )));
    }
    check_client(&a.client)?;
    Ok(mode)
}

fn check_client(c: &ClientArgs) -> Result<(), Error> {
    if !(c.rate.is_finite() && c.rate > 0.0) {
        return Err(Error::Usage("--rate must be a positive number".into()));
    }
    match url::Url::parse(&c.api_base) {
        Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
        _ => Err(Error::Usage(format!(
            "--api-base {:?} must be an http(s) URL",
            c.api_base
        ))),
    }
}

fn client(key: ApiKey, c: &ClientArgs) -> Client {
    Client::new(
        key,
        ClientOptions {
            api_base: c.api_base.clone(),
            rate: c.rate,
            backoff: c.backoff,
            max_backoff: c.max_backoff,
            max_retries: c.max_retries,
            max_throttled: 100,
            max_wait: c.max_wait,
            timeout: c.timeout,
        },
    )
}

/// The campaign's templates and campaign-wide values.
fn content(a: &SendArgs) -> Result<(Templates, Context), Error> {
    let campaign = a.source.campaign;
    let (public_url, claim) = claim_url(&a.public_url)?;
    let cutover = a.cutover_date.as_deref().map(cutover_date).transpose()?;
    if campaign == Campaign::T7Announcement && cutover.is_none() {
        return Err(Error::Usage(
            "t7-announcement needs --cutover-date=YYYY-MM-DD (the mail names the day)".into(),
        ));
    }
    let templates = match &a.template_dir {
        Some(dir) => Templates::from_dir(dir)?,
        None => Templates::for_campaign(campaign)?,
    };
    if !templates.has_contact_line() {
        say(
            "warning: the templates have no {{contactEmail}} in both bodies; every mail should carry a working contact line",
        );
    }
    let ctx = Context {
        claim_url: claim,
        public_url,
        contact_email: a.contact.clone(),
        cutover_date: cutover.unwrap_or_default(),
    };
    Ok((templates, ctx))
}

/// The recipients, from `--recipients` or selected.
fn send_recipients(a: &SendArgs) -> Result<Selected, Error> {
    match &a.recipients {
        Some(src) => {
            let mut skipped = Vec::new();
            let recipients = read_recipients(src, &mut skipped)?;
            Ok(Selected {
                people: None,
                recipients,
                skipped,
            })
        }
        None => selected(&a.source),
    }
}

fn open_log(a: &SendArgs, mode: Mode) -> Result<Option<SentLog>, Error> {
    let campaign = a.source.campaign.name();
    let log = match (&a.sent_log, mode) {
        (Some(p), Mode::Send) => Some(SentLog::open(p, campaign)?),
        (Some(p), Mode::DryRun) => Some(SentLog::read_only(p, campaign)?),
        (None, _) => None,
    };
    for w in log.iter().flat_map(|l| l.warnings.iter()) {
        say(&format!("warning: {w}"));
    }
    Ok(log)
}

fn run_send(a: &SendArgs) -> Result<Exit, Error> {
    let key = ApiKey::new(std::env::var("RESEND_API_KEY").ok());
    let mode = check_send(a, key.as_ref())?;
    let (templates, ctx) = content(a)?;
    let now = jiff::Timestamp::now();
    let Selected {
        people,
        recipients,
        mut skipped,
    } = send_recipients(a)?;
    if let Some(dir) = &a.render_dir {
        let files = write_samples(dir, a.source.campaign, &templates, &ctx, &recipients)?;
        say(&format!(
            "rendered {} sample file(s) into {}",
            files.len(),
            dir.join(a.source.campaign.name()).display()
        ));
    }
    // Opened (and locked) only once the recipients are known.
    let mut log = open_log(a, mode)?;
    let mut client = match (mode, key) {
        (Mode::Send, Some(k)) => Some(client(k, &a.client)),
        _ => None,
    };
    let mode_name = mode_name(mode);
    say(&format!(
        "mode={mode_name} recipients={} campaign={} sent-log={} api={}",
        recipients.len(),
        a.source.campaign,
        a.sent_log
            .as_ref()
            .map_or("(none)".into(), |p| p.display().to_string()),
        a.client.api_base
    ));
    let opts = SendOptions {
        mode,
        campaign: a.source.campaign.name().to_owned(),
        from: a.from.clone(),
        reply_to: (!a.from.contains(a.contact.as_str())).then(|| a.contact.clone()),
        batch_size: a.batch_size,
        resend_uncertain: a.resend_uncertain,
        now,
    };
    let setup = Setup {
        templates: &templates,
        content: &ctx,
        log: log.as_mut(),
        client: client.as_mut(),
        opts: &opts,
    };
    let mut out = Out::new();
    let summary = execute(&recipients, setup, &mut out, a.stop_after_batches);
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
    say(&counts.summary_line(mode_name));
    if let Some(path) = &a.json {
        let mut report = Report::new(iso(now), mode_name, &recipients, &skipped, counts);
        report.sent = summary.sent;
        report.failed = &summary.failed;
        report.campaign = Some(a.source.campaign.name());
        report.sent_log = a.sent_log.as_ref().map(|p| p.display().to_string());
        report.api_base = Some(&a.client.api_base);
        report.from = Some(&a.from);
        report.claim_url = Some(&ctx.claim_url);
        report.template_dir = a.template_dir.as_ref().map(|p| p.display().to_string());
        report.error = summary.fatal.as_ref().map(ToString::to_string);
        write_report(path, &report)?;
    }
    finish_send(summary, out)
}

fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::DryRun => "dry-run",
        Mode::Send => "send",
    }
}

/// The send loop with its result lines on stdout and progress on stderr.
fn execute(
    recipients: &[Recipient],
    setup: Setup<'_>,
    out: &mut Out,
    stop_after: Option<usize>,
) -> Summary {
    let mut line = |r: &crate::send::ResultLine| out.line(r);
    let mut progress = |m: &str| say(m);
    let mut after_batch = |n: usize| {
        if stop_after == Some(n) {
            // Test hook: die like a kill, without flushing anything.
            std::process::exit(137);
        }
    };
    crate::send::run(
        recipients,
        setup,
        Sinks {
            line: &mut line,
            progress: &mut progress,
            after_batch: &mut after_batch,
        },
    )
}

fn finish_send(summary: Summary, out: Out) -> Result<Exit, Error> {
    let stdout = out.finish();
    if let Some(e) = summary.fatal {
        return Err(e);
    }
    stdout?;
    Ok(Exit::problems_if(!summary.failed.is_empty()))
}

fn run_bounces(a: &BouncesArgs) -> Result<Exit, Error> {
    let run_at = iso(jiff::Timestamp::now());
    check_client(&a.client)?;
    let key = ApiKey::new(std::env::var("RESEND_API_KEY").ok()).ok_or_else(|| {
        Error::Usage("mailer bounces needs RESEND_API_KEY (it reads from Resend)".into())
    })?;
    let sent: Vec<_> = SentLog::all_sent(&a.sent_log)?
        .into_iter()
        .filter(|(c, _)| a.campaign.is_none_or(|want| want.name() == c))
        .collect();
    let mut client = client(key, &a.client);
    say(&format!(
        "mode=bounces emails={} sent-log={} api={}",
        sent.len(),
        a.sent_log.display(),
        a.client.api_base
    ));
    let mut out = Out::new();
    let summary = crate::bounces::run(
        &sent,
        &mut client,
        a.show_emails,
        &mut |l| out.line(l),
        &mut |m| say(m),
    );
    for (campaign, c) in &summary.campaigns {
        say(&format!(
            "campaign={campaign} emails={} delivered={} bounced={} complained={} other={} unknown={}",
            c.emails, c.delivered, c.bounced, c.complained, c.other, c.unknown
        ));
    }
    for f in &summary.failures {
        say(&format!(
            "lookup failed: campaign={} personId={}: {}",
            f.campaign, f.person_id, f.error
        ));
    }
    if let Some(path) = &a.json {
        let report = serde_json::json!({
            "runAt": run_at,
            "mode": "bounces",
            "sentLog": a.sent_log.display().to_string(),
            "apiBase": a.client.api_base,
            "campaigns": summary.campaigns,
            "failures": summary.failures,
            "requests": client.requests,
            "throttled": client.throttled,
            "error": summary.fatal.as_ref().map(ToString::to_string),
        });
        write_report(path, &report)?;
    }
    out.finish()?;
    if let Some(e) = summary.fatal {
        return Err(e);
    }
    let problems = summary
        .campaigns
        .values()
        .any(|c| c.bounced + c.complained + c.unknown > 0);
    Ok(Exit::problems_if(problems))
}
