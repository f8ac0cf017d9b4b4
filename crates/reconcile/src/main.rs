//! `reconcile`: thin binary over the `reconcile` library. See `--help`.

use std::{io::BufReader, path::Path, process::ExitCode};

use ::cli::{Exit, Ndjson, OutputError};
use clap::Parser;
use lines::Versioned;
use private_store::{Credential, PrivateStore, Profile, Record};
use reconcile::cli::{
    CheckArgs, Cli, Command, Common, Failure, NameIdReport, RESTART, drain_summary, import_summary,
};
use reconcile::{Error, check, drain, import, nameids};
use serde::Serialize;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ::cli::finish("reconcile", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    let run_at = ::cli::clock::iso(cli.common.now()?);
    match cli.command {
        None => run_check(&cli.common, &cli.check, run_at),
        Some(Command::ImportCredentials { input, dry_run }) => {
            run_import(&cli.common, &input, dry_run, &run_at)
        }
        Some(Command::DrainLegacy { older_than, apply }) => {
            let secs = drain::parse_age(&older_than)?;
            let people = cli.common.people()?;
            let store = PrivateStore::from_env()?;
            let mut creds = store.load::<Credential>()?;
            let (r, lines) = drain::drain(&people, &mut creds, cli.common.now()?, secs, apply)?;
            if apply && r.deleted > 0 {
                store.save(&mut creds)?;
            }
            ::cli::write_report(cli.common.json.as_deref(), &r)?;
            eprintln!("{}", drain_summary(&r));
            if apply && r.deleted > 0 {
                eprintln!("{RESTART}");
            }
            emit(lines.iter().map(Versioned::new))?;
            Ok(Exit::Ok)
        }
        Some(Command::Nameids { laddr }) => run_nameids(&cli.common, &laddr, &run_at),
    }
}

fn run_check(common: &Common, args: &CheckArgs, run_at: String) -> Result<Exit, Failure> {
    let opts = check::CheckOptions {
        fix: args.fix,
        fix_drained: args.fix_drained,
        run_at,
    };
    let (people, dangling) = common.people_and_dangling()?;
    let store = PrivateStore::from_env()?;
    let mut profiles = store.load::<Profile>()?;
    let mut creds = store.load::<Credential>()?;
    let mut r = check::check(&people, &mut profiles, &mut creds, &opts)?;
    r.add_dangling(dangling?);
    if r.fixes_applied.newsletter_tokens > 0 {
        store.save(&mut profiles)?;
    }
    if r.fixes_applied.legacy_passwords_deleted > 0 {
        store.save(&mut creds)?;
    }
    ::cli::write_report(common.json.as_deref(), &r)?;
    ::cli::write_page(args.html.as_deref(), || {
        reconcile::page::check_page(&r).render()
    })?;
    eprint!("{}", r.summary());
    if r.fixes_applied != check::Fixes::default() {
        eprintln!("{RESTART}");
    }
    emit(r.lines(&opts))?;
    Ok(Exit::problems_if(r.unresolved > 0))
}

fn run_import(common: &Common, input: &Path, dry_run: bool, run_at: &str) -> Result<Exit, Failure> {
    let name = input.display().to_string();
    let bytes = std::fs::read(input).map_err(|e| Error::Io {
        path: name.clone(),
        source: e,
    })?;
    let rows = reconcile::csvin::parse(&name, &bytes)?;
    let people = common.people()?;
    let store = PrivateStore::from_env()?;
    let mut profiles = store.load::<Profile>()?;
    let mut creds = store.load::<Credential>()?;
    let (mut r, lines) = import::import(&rows, &people, &mut profiles, &mut creds, run_at);
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
    ::cli::write_report(common.json.as_deref(), &r)?;
    eprint!("{}", import_summary(&r));
    if !dry_run && r.profiles_created + r.credentials_created + r.credentials_replaced > 0 {
        eprintln!("{RESTART}");
    }
    emit(lines.iter().map(Versioned::new))?;
    Ok(Exit::problems_if(r.needs_attention() > 0))
}

fn run_nameids(common: &Common, laddr: &Path, run_at: &str) -> Result<Exit, Failure> {
    let name = laddr.display().to_string();
    let file = std::fs::File::open(laddr).map_err(|e| Error::Io {
        path: name.clone(),
        source: e,
    })?;
    let usernames = nameids::read_laddr_usernames(&name, BufReader::new(file))?;
    let people = common.people()?;
    let findings = nameids::check_nameids(&people, &usernames);
    let checked = people
        .iter()
        .filter(|p| !p.deleted && p.legacy_id.is_some())
        .count();
    let report = NameIdReport {
        run_at,
        laddr_people: usernames.len(),
        laddr_contact_only: usernames.values().filter(|u| u.is_none()).count(),
        persons_checked: checked,
        findings: &findings,
    };
    ::cli::write_report(common.json.as_deref(), &report)?;
    eprintln!(
        "reconcile nameids: laddrPeople={} personsChecked={checked} findings={}",
        usernames.len(),
        findings.len()
    );
    emit(findings.iter().map(Versioned::new))?;
    Ok(Exit::problems_if(!findings.is_empty()))
}

/// The lines go through `serde_json::Value`, so their keys are sorted as they always were.
fn emit<T: Serialize>(items: impl IntoIterator<Item = T>) -> Result<(), Failure> {
    let mut out = Ndjson::stdout();
    for item in items {
        let value = serde_json::to_value(item).map_err(OutputError::Encode)?;
        out.line(&value)?;
    }
    Ok(out.finish()?)
}
