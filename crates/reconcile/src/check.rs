//! The consistency check (`reference/D` §3) plus the categories the reference misses.
//!
//! Gating (exit 1): `orphanPublic`, `orphanPrivate` (a profile with no Person at all),
//! `inconsistentNewsletter`, less what `--fix` repaired, and `danglingReferences` (a record of
//! the runtime branch whose id field resolves to no record, whoever wrote it). Everything else
//! is for review.

use std::collections::HashMap;
use std::fmt::Write as _;

use private_store::{Credential, HashFormat, Newsletter, Profile, Table};
use serde::Serialize;

use crate::Error;
use crate::people::Person;

/// What to repair. Orphans are never repaired.
#[derive(Clone, Debug, Default)]
pub struct CheckOptions {
    /// Create missing unsubscribe tokens for opted-in profiles.
    pub fix: bool,
    /// Delete credentials of GitHub-linked Persons.
    pub fix_drained: bool,
    /// The run's timestamp (`toISOString()` form), also written as `updatedAt` by fixes.
    pub run_at: String,
}

/// A Person named in a finding; the slug when the branch has one.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct PersonRef {
    /// The Person's id.
    pub person_id: String,
    /// The Person's slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
}

/// A profile whose newsletter state contradicts itself.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct NewsletterIssue {
    /// The profile's Person id.
    pub person_id: String,
    /// `opted_in_without_token` or `token_without_optin_payload`.
    pub reason: &'static str,
}

/// A GitHub-linked Person who still has a legacy credential.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Drained {
    /// The Person's id.
    pub person_id: String,
    /// The Person's slug.
    pub slug: String,
    /// The linked GitHub account.
    pub github_user_id: i64,
}

/// Profiles of different Persons sharing one email (case-insensitive). The email itself is
/// never printed.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct DuplicateEmail {
    /// The Persons sharing the email.
    pub person_ids: Vec<String>,
    /// Their slugs, in the same order.
    pub slugs: Vec<Option<String>>,
}

/// What `--fix` and `--fix-drained` changed.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Fixes {
    /// Unsubscribe tokens created for opted-in profiles.
    pub newsletter_tokens: usize,
    /// Legacy credentials of GitHub-linked Persons deleted.
    pub legacy_passwords_deleted: usize,
}

/// The check's machine report (`--json`): the reference's keys in its order, then ours.
#[derive(Clone, Debug, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// When the check ran (ISO).
    pub run_at: String,
    /// Persons on the branch.
    pub public_people_count: usize,
    /// Profiles in the private store.
    pub private_profile_count: usize,
    /// Legacy credentials in the private store.
    pub legacy_password_count: usize,
    /// Persons with no profile.
    pub orphan_public: Vec<PersonRef>,
    /// Profiles with no Person.
    pub orphan_private: Vec<PersonRef>,
    /// Profiles whose newsletter state contradicts itself.
    pub inconsistent_newsletter: Vec<NewsletterIssue>,
    /// GitHub-linked Persons who still have a legacy credential.
    pub drained_legacy_passwords: Vec<Drained>,
    /// What the fixes changed.
    pub fixes_applied: Fixes,
    /// Profiles of soft-deleted Persons.
    pub profiles_of_deleted_persons: Vec<PersonRef>,
    /// Credentials with no Person.
    pub credentials_without_person: Vec<PersonRef>,
    /// Credentials of soft-deleted Persons.
    pub credentials_of_deleted_persons: Vec<PersonRef>,
    /// Credentials with no profile.
    pub credentials_without_profile: Vec<PersonRef>,
    /// Emails that more than one Person's profile holds.
    pub duplicate_emails: Vec<DuplicateEmail>,
    /// Credentials whose hash is in no known format.
    pub unrecognised_password_hashes: Vec<PersonRef>,
    /// Id fields of the branch's records that resolve to no record (`sheets::closure`).
    pub dangling_references: Vec<sheets::Dangling>,
    /// Gating findings left after fixes; exit 1 when above 0.
    pub unresolved: usize,
}

/// Runs the check and, as asked, the safe fixes on the in-memory tables. The caller saves the
/// tables when `fixes_applied` is non-zero. The lists show what was found before fixing.
pub fn check(
    people: &[Person],
    profiles: &mut Table<Profile>,
    creds: &mut Table<Credential>,
    opts: &CheckOptions,
) -> Result<CheckReport, Error> {
    let all: HashMap<&str, &Person> = people.iter().map(|p| (p.id.as_str(), p)).collect();
    let mut r = CheckReport {
        run_at: opts.run_at.clone(),
        public_people_count: people.iter().filter(|p| !p.deleted).count(),
        private_profile_count: profiles.len(),
        legacy_password_count: creds.len(),
        ..CheckReport::default()
    };
    check_profiles(&mut r, profiles, &all);
    check_people(&mut r, people, profiles, creds);
    check_credentials(&mut r, creds, profiles, &all);
    apply_fixes(&mut r, profiles, creds, opts)?;
    r.unresolved =
        (r.orphan_public.len() + r.orphan_private.len() + r.inconsistent_newsletter.len())
            .saturating_sub(r.fixes_applied.newsletter_tokens);
    Ok(r)
}

/// The Person `id` as a report names it (with its slug when the branch has it).
fn person_ref(all: &HashMap<&str, &Person>, id: &str) -> PersonRef {
    PersonRef {
        person_id: id.to_owned(),
        slug: all.get(id).map(|p| p.slug.clone()),
    }
}

/// Profiles: with no Person or a deleted one, inconsistent newsletter state, shared emails.
fn check_profiles(r: &mut CheckReport, profiles: &Table<Profile>, all: &HashMap<&str, &Person>) {
    let mut by_email: Vec<(String, Vec<String>)> = Vec::new();
    let mut email_index: HashMap<String, usize> = HashMap::new();
    for p in profiles.iter() {
        let id = p.person_id();
        match all.get(id) {
            None => r.orphan_private.push(PersonRef {
                person_id: id.to_owned(),
                slug: None,
            }),
            Some(person) if person.deleted => {
                r.profiles_of_deleted_persons.push(person_ref(all, id))
            }
            Some(_) => {}
        }
        if let Some(reason) = p.newsletter().and_then(newsletter_issue) {
            r.inconsistent_newsletter.push(NewsletterIssue {
                person_id: id.to_owned(),
                reason,
            });
        }
        let slot = *email_index.entry(p.email().to_owned()).or_insert_with(|| {
            by_email.push((p.email().to_owned(), vec![]));
            by_email.len() - 1
        });
        by_email[slot].1.push(id.to_owned());
    }
    r.duplicate_emails = by_email
        .into_iter()
        .filter(|(_, ids)| ids.len() > 1)
        .map(|(_, ids)| DuplicateEmail {
            slugs: ids
                .iter()
                .map(|i| all.get(i.as_str()).map(|p| p.slug.clone()))
                .collect(),
            person_ids: ids,
        })
        .collect();
}

/// Why a newsletter state contradicts itself: opted in without an unsubscribe token, or a
/// token without the opt-in (and no opt-out) that would explain it.
fn newsletter_issue(nl: &Newsletter) -> Option<&'static str> {
    if nl.opted_in && nl.unsubscribe_token.is_none() {
        Some("opted_in_without_token")
    } else if !nl.opted_in && nl.unsubscribe_token.is_some() && nl.opted_out_at.is_none() {
        Some("token_without_optin_payload")
    } else {
        None
    }
}

/// Live Persons: with no profile, or GitHub-linked and still holding a legacy credential.
fn check_people(
    r: &mut CheckReport,
    people: &[Person],
    profiles: &Table<Profile>,
    creds: &Table<Credential>,
) {
    for person in people.iter().filter(|p| !p.deleted) {
        if !profiles.contains(&person.id) {
            r.orphan_public.push(PersonRef {
                person_id: person.id.clone(),
                slug: Some(person.slug.clone()),
            });
        }
        if let Some(gh) = person.github_user_id
            && creds.contains(&person.id)
        {
            r.drained_legacy_passwords.push(Drained {
                person_id: person.id.clone(),
                slug: person.slug.clone(),
                github_user_id: gh,
            });
        }
    }
}

/// Credentials: with no Person, a deleted one, no profile, or a hash in no known format.
fn check_credentials(
    r: &mut CheckReport,
    creds: &Table<Credential>,
    profiles: &Table<Profile>,
    all: &HashMap<&str, &Person>,
) {
    for c in creds.iter() {
        let id = c.person_id();
        match all.get(id) {
            None => r.credentials_without_person.push(person_ref(all, id)),
            Some(p) if p.deleted => r.credentials_of_deleted_persons.push(person_ref(all, id)),
            Some(_) if !profiles.contains(id) => {
                r.credentials_without_profile.push(person_ref(all, id));
            }
            Some(_) => {}
        }
        if c.hash_format() == HashFormat::Unrecognised {
            r.unrecognised_password_hashes.push(person_ref(all, id));
        }
    }
}

/// `--fix`: a token for each opted-in profile without one; `--fix-drained`: delete the legacy
/// credentials of GitHub-linked Persons.
fn apply_fixes(
    r: &mut CheckReport,
    profiles: &mut Table<Profile>,
    creds: &mut Table<Credential>,
    opts: &CheckOptions,
) -> Result<(), Error> {
    if opts.fix {
        for issue in r
            .inconsistent_newsletter
            .iter()
            .filter(|i| i.reason == "opted_in_without_token")
        {
            let token = crate::new_token()?;
            if let Some(p) = profiles.get_mut(&issue.person_id)
                && p.set_unsubscribe_token(&token, &opts.run_at)
            {
                r.fixes_applied.newsletter_tokens += 1;
            }
        }
    }
    if opts.fix_drained {
        for d in &r.drained_legacy_passwords {
            if creds.remove(&d.person_id).is_some() {
                r.fixes_applied.legacy_passwords_deleted += 1;
            }
        }
    }
    Ok(())
}

/// One category of the check, as the summary and the page show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Category {
    /// The report's key (`orphanPublic`, …).
    pub name: &'static str,
    /// Whether a finding in it fails the check (exit 1).
    pub gating: bool,
    /// Each finding as one line (slug and id, never an email or a hash).
    pub items: Vec<String>,
}

#[derive(Serialize)]
struct Line<'a, T: Serialize> {
    v: u8,
    category: &'a str,
    #[serde(flatten)]
    item: &'a T,
    #[serde(skip_serializing_if = "Option::is_none")]
    fixed: Option<bool>,
}

impl CheckReport {
    /// Record the branch's dangling references (gating: each counts as unresolved).
    pub fn add_dangling(&mut self, dangling: Vec<sheets::Dangling>) {
        self.unresolved += dangling.len();
        self.dangling_references = dangling;
    }

    /// The findings as NDJSON values, one per finding, in report order:
    /// `{"v":1,"category":"orphanPublic","personId":"…","slug":"alice"}`. Repairable findings
    /// carry `"fixed": true|false`.
    pub fn lines(&self, opts: &CheckOptions) -> Vec<serde_json::Value> {
        let mut out = Vec::new();
        fn push<T: Serialize>(
            out: &mut Vec<serde_json::Value>,
            category: &str,
            items: &[T],
            fixed: impl Fn(&T) -> Option<bool>,
        ) {
            for item in items {
                let line = Line {
                    v: 1,
                    category,
                    item,
                    fixed: fixed(item),
                };
                out.push(serde_json::to_value(&line).unwrap_or_default());
            }
        }
        push(&mut out, "orphanPublic", &self.orphan_public, |_| None);
        push(&mut out, "orphanPrivate", &self.orphan_private, |_| None);
        push(
            &mut out,
            "danglingReferences",
            &self.dangling_references,
            |_| None,
        );
        push(
            &mut out,
            "inconsistentNewsletter",
            &self.inconsistent_newsletter,
            |i| (i.reason == "opted_in_without_token").then_some(opts.fix),
        );
        push(
            &mut out,
            "drainedLegacyPasswords",
            &self.drained_legacy_passwords,
            |_| Some(opts.fix_drained),
        );
        push(
            &mut out,
            "profilesOfDeletedPersons",
            &self.profiles_of_deleted_persons,
            |_| None,
        );
        push(
            &mut out,
            "credentialsWithoutPerson",
            &self.credentials_without_person,
            |_| None,
        );
        push(
            &mut out,
            "credentialsOfDeletedPersons",
            &self.credentials_of_deleted_persons,
            |_| None,
        );
        push(
            &mut out,
            "credentialsWithoutProfile",
            &self.credentials_without_profile,
            |_| None,
        );
        push(&mut out, "duplicateEmails", &self.duplicate_emails, |_| {
            None
        });
        push(
            &mut out,
            "unrecognisedPasswordHashes",
            &self.unrecognised_password_hashes,
            |_| None,
        );
        out
    }

    /// Every category in report order, gating ones first, each finding as one line.
    pub fn categories(&self) -> Vec<Category> {
        let refs = |v: &[PersonRef]| -> Vec<String> {
            v.iter()
                .map(|p| match &p.slug {
                    Some(slug) => format!("{slug} ({})", p.person_id),
                    None => p.person_id.clone(),
                })
                .collect()
        };
        let category = |name, gating, items| Category {
            name,
            gating,
            items,
        };
        vec![
            category("orphanPublic", true, refs(&self.orphan_public)),
            category("orphanPrivate", true, refs(&self.orphan_private)),
            category(
                "danglingReferences",
                true,
                self.dangling_references
                    .iter()
                    .map(ToString::to_string)
                    .collect(),
            ),
            category(
                "inconsistentNewsletter",
                true,
                self.inconsistent_newsletter
                    .iter()
                    .map(|i| format!("{} ({})", i.person_id, i.reason))
                    .collect(),
            ),
            category(
                "drainedLegacyPasswords",
                false,
                self.drained_legacy_passwords
                    .iter()
                    .map(|d| format!("{} ({}) gh={}", d.slug, d.person_id, d.github_user_id))
                    .collect(),
            ),
            category(
                "profilesOfDeletedPersons",
                false,
                refs(&self.profiles_of_deleted_persons),
            ),
            category(
                "credentialsWithoutPerson",
                false,
                refs(&self.credentials_without_person),
            ),
            category(
                "credentialsOfDeletedPersons",
                false,
                refs(&self.credentials_of_deleted_persons),
            ),
            category(
                "credentialsWithoutProfile",
                false,
                refs(&self.credentials_without_profile),
            ),
            category(
                "duplicateEmails",
                false,
                self.duplicate_emails
                    .iter()
                    .map(|d| d.person_ids.join(", "))
                    .collect(),
            ),
            category(
                "unrecognisedPasswordHashes",
                false,
                refs(&self.unrecognised_password_hashes),
            ),
        ]
    }

    /// The human summary for stderr (the reference's layout, plus our categories).
    pub fn summary(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "=== reconcile report ({}) ===", self.run_at);
        let _ = writeln!(s, "public people (live): {}", self.public_people_count);
        let _ = writeln!(s, "private profiles:     {}", self.private_profile_count);
        let _ = writeln!(s, "legacy passwords:     {}", self.legacy_password_count);
        for c in self.categories() {
            let tag = if c.gating { " [gate]" } else { "" };
            let _ = writeln!(s, "{}{tag}: {}", c.name, c.items.len());
            for it in c.items.iter().take(10) {
                let _ = writeln!(s, "  - {it}");
            }
            if c.items.len() > 10 {
                let _ = writeln!(s, "  ...and {} more", c.items.len() - 10);
            }
        }
        let _ = writeln!(
            s,
            "fixes applied: newsletterTokens={} legacyPasswordsDeleted={}",
            self.fixes_applied.newsletter_tokens, self.fixes_applied.legacy_passwords_deleted
        );
        let _ = writeln!(
            s,
            "unresolved (orphan + inconsistent + dangling): {}",
            self.unresolved
        );
        s
    }
}
