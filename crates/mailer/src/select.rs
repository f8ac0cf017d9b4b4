//! Who gets each campaign's mail, with the reason for everyone left out.
//!
//! Rules, in order, first match wins, over Persons in the data repo's order:
//! - every campaign: soft-deleted → `deleted`;
//! - `t90-reminder` (`reference/D` §5): GitHub-linked → `github-linked`;
//! - `t180-drain-notice`: the credential rule of `reconcile drain-legacy` (one definition, in
//!   `reconcile::drain`): no credential → `no-legacy-credential`, claimed → `github-linked`,
//!   used since cutover → `active-password`, imported after the cutoff → `credential-too-recent`,
//!   unreadable `importedAt` → `credential-unreadable`;
//! - `rollback-apology`: only the Persons named in the rollback export's affected-member lines;
//! - then, every campaign: no private profile → `no-private-profile`; email on the `.invalid`
//!   TLD → `invalid-email`; with `--exclude-active-passwords`, a credential used since cutover →
//!   `active-password`; an email already chosen for an earlier Person (case-insensitive) →
//!   `duplicate-email`. Everyone else is a recipient.
//!
//! `t7-announcement` adds no rule of its own: every member with a usable address, newsletter
//! opt-outs included (it is an operational notice about their account).

use std::collections::HashMap;
use std::path::Path;

use crate::campaign::Campaign;
use crate::recipients::Affected;

use private_store::{Credential, Profile, Table};
use serde::{Deserialize, Serialize};

use crate::Error;

/// The public Person: the workspace's one view, with its rules (`githubUserId` 0 is not
/// linked, a falsy `deletedAt` is not deleted) defined once in `sheets`.
pub use sheets::people::Person;

/// All Persons of the `people` sheet at `branch`, deleted ones included, in the repo's order.
/// A file that cannot be read as a Person stops the run: a mailout must not skip people silently.
pub fn load_people(repo_path: &Path, branch: &str) -> Result<Vec<Person>, Error> {
    use sheets::people::PeopleError;
    let repo = sheets::DataRepo::open(repo_path)?;
    sheets::people::load_people(&repo, branch).map_err(|e| match e {
        PeopleError::Repo(e) => Error::Repo(e),
        PeopleError::Bad(b) => Error::BadPerson {
            what: b.what,
            message: b.message,
        },
        unreadable @ PeopleError::Unreadable { .. } => Error::Sheet(unreadable.to_string()),
    })
}

/// One recipient: the reference's shape, and the NDJSON line `mailer select` prints.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Recipient {
    /// The Person's id.
    pub person_id: String,
    /// The Person's slug.
    pub slug: String,
    /// The address from the private profile.
    pub email: String,
    /// The Person's full name, when set.
    pub full_name: Option<String>,
    /// The laddr `Username`, when known (`--laddr`): the mail tells members whose username
    /// is not their sign-in name which name to use.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub laddr_username: Option<String>,
    /// `rollback-apology`: the discarded writes, one human line each.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writes: Option<Vec<String>>,
}

impl Recipient {
    /// The sign-in name to tell this member about: their slug, when their laddr username
    /// typed at the sign-in form would not find them. The rewrite lowercases a typed username
    /// (JS `toLowerCase`, `translate::js::to_lower`) and nothing more, so `Data_Nerd` no longer
    /// works once the importer normalised it to the slug `data-nerd`.
    pub fn sign_in_name(&self) -> Option<&str> {
        let username = self.laddr_username.as_deref()?;
        (translate::js::to_lower(username) != self.slug).then_some(self.slug.as_str())
    }
}

/// Version of the NDJSON lines (`v`).
pub const LINE_VERSION: u8 = 1;

/// A recipient as an NDJSON line: `{"v":1,"personId",…}`.
#[derive(Serialize)]
pub struct RecipientLine<'a> {
    /// Line format version, [`LINE_VERSION`].
    pub v: u8,
    #[serde(flatten)]
    /// The recipient's fields.
    pub recipient: &'a Recipient,
}

/// A recipient line as read back (`v` absent or 1).
#[derive(Deserialize)]
pub struct RecipientIn {
    /// Line format version (absent in older files).
    pub v: Option<u64>,
    #[serde(flatten)]
    /// The recipient's fields.
    pub recipient: Recipient,
}

/// Why a Person gets no mail.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Reason {
    /// Soft-deleted.
    Deleted,
    /// Linked to GitHub (the campaign is for members without a link).
    GithubLinked,
    /// No private profile, so no address.
    NoPrivateProfile,
    /// The address is on the `.invalid` TLD.
    InvalidEmail,
    /// Signs in with the legacy password already.
    ActivePassword,
    /// An earlier Person keeps the same address.
    DuplicateEmail,
    /// `t180-drain-notice`: holds no legacy credential.
    NoLegacyCredential,
    /// `t180-drain-notice`: the credential was imported after the `--older-than` cutoff.
    CredentialTooRecent,
    /// `t180-drain-notice`: the credential's `importedAt` cannot be read (the drain keeps it).
    CredentialUnreadable,
    /// `mailer send` only: the sent-log already has this person (or this address).
    AlreadySent,
    /// `mailer send` only: the same personId twice in the input.
    DuplicatePerson,
}

impl Reason {
    /// The kebab-case name used in reports.
    pub fn name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// A Person left out, and why. `duplicateOf` names the Person who keeps the address.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    /// The Person left out.
    pub person_id: String,
    /// Why.
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The Person's slug, when known.
    pub slug: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// `duplicate-email`: the Person who keeps the address.
    pub duplicate_of: Option<String>,
}

#[derive(Clone, Debug, Default)]
/// A campaign's recipients and the Persons left out.
pub struct Selection {
    /// Who gets the mail, in order.
    pub recipients: Vec<Recipient>,
    /// Who does not, and why.
    pub skipped: Vec<Skipped>,
}

/// Options of the selection.
#[derive(Clone, Copy, Debug, Default)]
pub struct SelectOptions {
    /// Leave out people whose legacy credential has `lastUsedAt` (they sign in already).
    pub exclude_active_passwords: bool,
}

/// `t180-drain-notice`: the drain's cutoff, as `reconcile drain-legacy --older-than` takes it.
#[derive(Clone, Copy, Debug)]
pub struct DrainRule {
    /// The time the cutoff is measured from.
    pub now: jiff::Timestamp,
    /// Credentials imported less than this many seconds before `now` are too recent.
    pub older_than_secs: i64,
}

/// Everything a selection may read; campaigns read what their rule needs.
pub struct Inputs<'a> {
    /// Every Person, deleted ones included, in the repo's order.
    pub people: &'a [Person],
    /// The private profiles (addresses).
    pub profiles: &'a Table<Profile>,
    /// Needed by `t180-drain-notice` and `--exclude-active-passwords`.
    pub credentials: Option<&'a Table<Credential>>,
    /// laddr `people.ID` → `Username` (`--laddr`), for the sign-in-name sentence.
    pub usernames: Option<&'a HashMap<i64, Option<String>>>,
    /// `rollback-apology`: the affected members.
    pub affected: &'a [Affected],
    /// `t180-drain-notice`: personId → the drain's decision ([`drain_decisions`]).
    pub drain: Option<&'a HashMap<String, &'static str>>,
}

/// The campaign rule for one Person: `Err(reason)` leaves them out before the email checks.
type Rule<'a> = Box<dyn Fn(&Person) -> Result<(), Reason> + 'a>;

fn campaign_rule<'a>(campaign: Campaign, inputs: &Inputs<'a>) -> Result<Rule<'a>, Error> {
    Ok(match campaign {
        Campaign::T7Announcement | Campaign::RollbackApology => Box::new(|_| Ok(())),
        Campaign::T90Reminder => Box::new(|p| match p.github_user_id {
            Some(_) => Err(Reason::GithubLinked),
            None => Ok(()),
        }),
        Campaign::T180DrainNotice => {
            let decisions = inputs.drain.ok_or_else(|| {
                Error::Usage("t180-drain-notice needs the drain's decisions".into())
            })?;
            Box::new(move |p| match decisions.get(&p.id).copied() {
                None => Err(Reason::NoLegacyCredential),
                Some("unclaimed") => Ok(()),
                Some("claimed") => Err(Reason::GithubLinked),
                Some("usedSinceCutover") => Err(Reason::ActivePassword),
                Some("tooRecent") => Err(Reason::CredentialTooRecent),
                Some(_) => Err(Reason::CredentialUnreadable),
            })
        }
    })
}

/// personId → the drain's reason (`unclaimed` = would be deleted): `reconcile::drain` (the
/// one definition of the rule) run as a dry run, which leaves `creds` as it was.
pub fn drain_decisions(
    people: &[Person],
    creds: &mut Table<Credential>,
    rule: DrainRule,
) -> Result<HashMap<String, &'static str>, Error> {
    let (_, lines) = reconcile::drain::drain(people, creds, rule.now, rule.older_than_secs, false)
        .map_err(|e| Error::Usage(e.to_string()))?;
    Ok(lines.into_iter().map(|l| (l.person_id, l.reason)).collect())
}

/// The Persons a campaign looks at, in order: every Person, or for `rollback-apology` the
/// affected members (a member missing from the data repo is taken from the export's line).
fn candidates(campaign: Campaign, inputs: &Inputs<'_>) -> Vec<(Person, Option<Vec<String>>)> {
    if campaign != Campaign::RollbackApology {
        return inputs.people.iter().map(|p| (p.clone(), None)).collect();
    }
    let by_id: HashMap<&str, &Person> = inputs.people.iter().map(|p| (p.id.as_str(), p)).collect();
    inputs
        .affected
        .iter()
        .map(|a| {
            let p = by_id.get(a.person_id.as_str()).map_or_else(
                || Person {
                    id: a.person_id.clone(),
                    slug: a.slug.clone(),
                    full_name: None,
                    legacy_id: None,
                    deleted: false,
                    github_user_id: None,
                    account_level: None,
                    slack_saml_name_id: None,
                },
                |p| (*p).clone(),
            );
            (p, Some(a.write_lines()))
        })
        .collect()
}

/// Applies `campaign`'s rules to the inputs.
pub fn select_campaign(
    campaign: Campaign,
    inputs: &Inputs<'_>,
    opts: SelectOptions,
) -> Result<Selection, Error> {
    let rule = campaign_rule(campaign, inputs)?;
    let mut out = Selection::default();
    // Lowercased address → the personId that keeps it.
    let mut by_email: HashMap<String, String> = HashMap::new();
    let mut seen: std::collections::HashSet<String> = Default::default();
    for (p, writes) in candidates(campaign, inputs) {
        let skip = |reason: Reason, duplicate_of: Option<String>| Skipped {
            person_id: p.id.clone(),
            reason,
            slug: Some(p.slug.clone()),
            duplicate_of,
        };
        if !seen.insert(p.id.clone()) {
            out.skipped.push(skip(Reason::DuplicatePerson, None));
            continue;
        }
        if p.deleted {
            out.skipped.push(skip(Reason::Deleted, None));
            continue;
        }
        if let Err(reason) = rule(&p) {
            out.skipped.push(skip(reason, None));
            continue;
        }
        match email_check(&p, inputs, opts, &by_email) {
            Err((reason, dup)) => out.skipped.push(skip(reason, dup)),
            Ok(email) => {
                by_email.insert(email.clone(), p.id.clone());
                let laddr_username = p
                    .legacy_id
                    .and_then(|l| inputs.usernames?.get(&l).cloned().flatten());
                out.recipients.push(Recipient {
                    person_id: p.id.clone(),
                    slug: p.slug.clone(),
                    email,
                    full_name: p.full_name.clone(),
                    laddr_username: laddr_username.filter(|_| campaign.tells_sign_in_name()),
                    writes,
                });
            }
        }
    }
    Ok(out)
}

/// The checks every campaign shares: a profile, a usable address, not an active password user
/// (on request), not an address already chosen. `Ok` is the lowercased address.
fn email_check(
    p: &Person,
    inputs: &Inputs<'_>,
    opts: SelectOptions,
    by_email: &HashMap<String, String>,
) -> Result<String, (Reason, Option<String>)> {
    let Some(profile) = inputs.profiles.get(&p.id) else {
        return Err((Reason::NoPrivateProfile, None));
    };
    let email = profile.email().to_lowercase();
    if email.ends_with(".invalid") {
        return Err((Reason::InvalidEmail, None));
    }
    if opts.exclude_active_passwords
        && inputs
            .credentials
            .and_then(|c| c.get(&p.id))
            .is_some_and(|c| c.last_used_at().is_some())
    {
        return Err((Reason::ActivePassword, None));
    }
    if let Some(first) = by_email.get(&email) {
        return Err((Reason::DuplicateEmail, Some(first.clone())));
    }
    Ok(email)
}

/// The T+90 rules (`reference/D` §5 plus dedupe); `credentials` is only read with
/// `exclude_active_passwords`.
pub fn select(
    people: &[Person],
    profiles: &Table<Profile>,
    credentials: Option<&Table<Credential>>,
    opts: SelectOptions,
) -> Selection {
    let inputs = Inputs {
        people,
        profiles,
        credentials,
        usernames: None,
        affected: &[],
        drain: None,
    };
    // The T+90 rule needs no input that can be missing.
    select_campaign(Campaign::T90Reminder, &inputs, opts).unwrap_or_default()
}
