//! Snapshot integrity in the translator: rows that fail keep their record, tags that resolve
//! to one namespace/slug merge, slugs are planned read-forward, and every reference points at
//! a record that is written or kept.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use super::{Record, Tx, Who, legacy, text};
use crate::input::{Input, Resource};
use crate::plan::{self, Claim};
use crate::sheet::Sheet;
use crate::slug;

/// A row that failed (translation, validation, PII, an unusable URL or handle) whose record
/// the parent tree holds: the record stays as it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KeptStale {
    /// The sheet of the kept record.
    pub sheet: Sheet,
    /// The row's laddr ID.
    pub legacy_id: i64,
    /// The kept record's `id`.
    pub id: String,
    /// Why the row failed.
    pub reason: String,
}

/// laddr rows resolved to one record: `survivor` is written, `merged` point at it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Merge {
    /// The sheet of the merged records.
    pub sheet: Sheet,
    /// What they share (`topic/transit`).
    pub key: String,
    /// The laddr ID written.
    pub survivor: i64,
    /// The laddr IDs resolved to the survivor.
    pub merged: Vec<i64>,
}

/// An existing record whose slug changed, so its public URL moves.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SlugChange {
    /// The sheet of the record.
    pub sheet: Sheet,
    /// The record's laddr ID.
    pub legacy_id: i64,
    /// The slug before.
    pub old: String,
    /// The slug now.
    pub new: String,
}

/// A translated tag row waiting for the others of its namespace/slug.
pub(super) struct TagCandidate {
    pub who: Who,
    pub id: i64,
    /// `namespace/slug`.
    pub path_key: String,
    /// The laddr handle itself carries the namespace (not recovered from the title or
    /// defaulted).
    pub carries_namespace: bool,
    pub record: Record,
}

/// The fields slug planning reads; a row's other fields are skipped unparsed.
#[derive(serde::Deserialize)]
struct SlugFields {
    #[serde(rename = "ID")]
    id: Option<Value>,
    #[serde(rename = "Username")]
    username: Option<Value>,
    #[serde(rename = "Handle")]
    handle: Option<Value>,
    #[serde(rename = "Headline")]
    headline: Option<Value>,
    #[serde(rename = "Title")]
    title: Option<Value>,
    #[serde(rename = "ProjectID")]
    project_id: Option<Value>,
}

/// `text()` of one field value.
fn field(v: Option<Value>, key: &str) -> Result<Option<String>, String> {
    let mut m = serde_json::Map::new();
    if let Some(v) = v {
        m.insert(key.to_owned(), v);
    }
    text(&m, key)
}

impl Tx<'_> {
    /// The current row failed for `reason` (once: the first reason wins).
    pub(super) fn fail_row(&mut self, who: &Who, reason: &str) {
        if who.key == self.row_key && self.row_failure.is_none() {
            self.row_failure = Some(reason.to_owned());
        }
    }

    /// A failed row keeps its record when the parent tree has one; otherwise nothing may
    /// reference it, so it leaves the FK maps.
    pub(super) fn failed_row(&mut self, sheet: Sheet, who: &Who, reason: String) {
        let Some(id) = who.legacy_id else { return };
        let Some(uuid) = self.rf.get(&who.key).map(str::to_owned) else {
            // Only this sheet's FK map holds the row (laddr IDs repeat across resources).
            match sheet {
                Sheet::People => drop(self.person.remove(&id)),
                Sheet::Projects => drop(self.project.remove(&id)),
                Sheet::Tags => drop(self.tag.remove(&id)),
                _ => {}
            }
            return;
        };
        let old_slug = self.rf.slug(&who.key).map(str::to_owned);
        match sheet {
            Sheet::People | Sheet::Projects => {
                let map = if sheet == Sheet::People {
                    &mut self.person
                } else {
                    &mut self.project
                };
                let slug = old_slug.or_else(|| map.get(&id).map(|e| e.1.clone()));
                map.insert(id, (uuid.clone(), slug.unwrap_or_default()));
            }
            Sheet::Tags => {
                self.tag.insert(id, (uuid.clone(), id));
            }
            _ => {}
        }
        self.out.counts.at(sheet).kept_stale += 1;
        self.warn(format!(
            "[{sheet}] {} kept from the parent tree unchanged ({reason})",
            who.label()
        ));
        self.out.kept_stale.push(KeptStale {
            sheet,
            legacy_id: id,
            id: uuid,
            reason,
        });
    }

    /// Tags sharing a namespace/slug are one tag. Survivor: the row whose own handle carries
    /// the namespace, then the lowest laddr ID; the first of them that is written (or kept).
    /// Every other row of the group points at it.
    pub(super) fn resolve_tags(&mut self) {
        let mut groups: Vec<Vec<TagCandidate>> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for c in std::mem::take(&mut self.tag_candidates) {
            let at = *index.entry(c.path_key.clone()).or_insert_with(|| {
                groups.push(Vec::new());
                groups.len() - 1
            });
            groups[at].push(c);
        }
        for mut group in groups {
            group.sort_by_key(|c| (!c.carries_namespace, c.id));
            self.resolve_tag_group(group);
        }
    }

    fn resolve_tag_group(&mut self, group: Vec<TagCandidate>) {
        let key = group[0].path_key.clone();
        let mut survivor: Option<(String, i64)> = None;
        let mut merged = Vec::new();
        for c in group {
            if let Some((uuid, sid)) = &survivor {
                self.tag.insert(c.id, (uuid.clone(), *sid));
                self.out.counts.at(Sheet::Tags).skipped += 1;
                self.warn(format!(
                    "[tags] legacyId={} resolves to \"{key}\" as legacyId={sid} does; merged into it",
                    c.id
                ));
                merged.push(c.id);
                continue;
            }
            self.row_key.clone_from(&c.who.key);
            self.row_failure = None;
            let uuid = c.record.get("id").and_then(Value::as_str).unwrap_or("");
            let uuid = uuid.to_owned();
            if self.accept(Sheet::Tags, c.record, &c.who, None) {
                self.tag.insert(c.id, (uuid.clone(), c.id));
                survivor = Some((uuid, c.id));
            } else if let Some(reason) = self.row_failure.take() {
                self.failed_row(Sheet::Tags, &c.who, reason);
                survivor = self.tag.get(&c.id).cloned();
            }
        }
        if let (Some((_, survivor)), false) = (survivor, merged.is_empty()) {
            self.out.merges.push(Merge {
                sheet: Sheet::Tags,
                key,
                survivor,
                merged,
            });
        }
    }

    /// Plan the slugs of every row of a slugged sheet before translating any ([`plan`]).
    pub(super) fn plan_slugs(&mut self, input: &Input, resource: Resource, sheet: Sheet) {
        let mut claims = Vec::new();
        let mut seen = std::collections::HashSet::new();
        // Reading the fields out of each row's text is most of the work: on every core.
        let fields = ::cli::par::map(input.rows(resource), ::cli::par::cores(), |row| {
            serde_json::from_str::<SlugFields>(row.raw.get()).ok()
        });
        for f in fields.into_iter().flatten() {
            let Some(id) = legacy(f.id.as_ref()) else {
                continue;
            };
            if !seen.insert(id) {
                continue;
            }
            if let Some(mut claim) = self.claim(sheet, id, f) {
                claim.old = self.rf.slug(&format!("{sheet}/{id}")).map(str::to_owned);
                claims.push(claim);
            }
        }
        let reserved = self.reserved_slugs(sheet);
        let rules = rules_of(sheet);
        self.planned = plan::assign(
            claims,
            rules,
            reserved,
            &mut self.slugs,
            &mut self.out.warnings,
        );
    }

    /// What a row asks for: its scope, source text and fallback (B §2.2, §2.3, §2.6, §2.8;
    /// buzz from its laddr `Handle` when that is a valid buzz slug, reference F §2).
    fn claim(&self, sheet: Sheet, id: i64, f: SlugFields) -> Option<Claim> {
        let legacy_fallback = format!("legacy-{id}");
        let or = |v: Option<Value>, key: &str, default: String| {
            field(v, key).ok().map(|t| t.unwrap_or(default))
        };
        let (scope, raw, fallback) = match sheet {
            Sheet::People => (
                "people".to_owned(),
                or(f.username, "Username", legacy_fallback.clone()),
                legacy_fallback,
            ),
            Sheet::Projects => (
                "projects".to_owned(),
                or(f.handle, "Handle", legacy_fallback.clone()),
                legacy_fallback,
            ),
            Sheet::ProjectBuzz => {
                let project = legacy(f.project_id.as_ref()).and_then(|p| self.project.get(&p))?;
                let handle = field(f.handle, "Handle").ok().flatten();
                let handle = handle.filter(|h| plan::exact(h, slug::BUZZ));
                let raw = match handle {
                    Some(h) => Some(h),
                    None => or(f.headline, "Headline", format!("buzz-{id}")),
                };
                (
                    format!("project-buzz:{}", project.1),
                    raw,
                    format!("buzz-{id}"),
                )
            }
            Sheet::BlogPosts => {
                let title = field(f.title, "Title");
                let raw = match field(f.handle, "Handle") {
                    Ok(Some(h)) => Some(h),
                    Ok(None) => title
                        .ok()
                        .map(|t| t.unwrap_or(format!("Untitled Post #{id}"))),
                    Err(_) => None,
                };
                ("blog-posts".to_owned(), raw, legacy_fallback)
            }
            _ => return None,
        };
        Some(Claim {
            id,
            scope,
            raw,
            fallback,
            old: None,
        })
    }

    /// (scope, slug) of every record of `sheet` in the parent tree; buzz by the current slug
    /// of its project (a buzz whose project is gone goes with it).
    fn reserved_slugs(&self, sheet: Sheet) -> Vec<(String, String)> {
        let project_slugs: HashMap<&str, &str> = self
            .project
            .values()
            .map(|(uuid, slug)| (uuid.as_str(), slug.as_str()))
            .collect();
        self.rf
            .slugs_of(sheet.as_str())
            .filter_map(|(_, slug, owner)| {
                let scope = match sheet {
                    Sheet::ProjectBuzz => {
                        format!("project-buzz:{}", project_slugs.get(owner?)?)
                    }
                    _ => sheet.as_str().to_owned(),
                };
                Some((scope, slug.to_owned()))
            })
            .collect()
    }

    /// The slug planned for row `id` of the sheet being translated.
    pub(super) fn planned_slug(&mut self, id: i64) -> Result<String, String> {
        self.planned
            .remove(&id)
            .unwrap_or_else(|| Err(format!("no slug was planned for legacyId={id}")))
    }

    /// Report an existing record whose slug (`namespace/slug` for tags) changes.
    pub(super) fn note_slug_change(&mut self, sheet: Sheet, who: &Who, rec: &Record) {
        let (Some(legacy_id), Some(old)) = (who.legacy_id, self.rf.slug(&who.key)) else {
            return;
        };
        let Some(slug) = rec.get("slug").and_then(Value::as_str) else {
            return;
        };
        let new = match rec.get("namespace").and_then(Value::as_str) {
            Some(ns) => format!("{ns}/{slug}"),
            None => slug.to_owned(),
        };
        if new != old {
            let old = old.to_owned();
            self.warn(format!(
                "[{sheet}] legacyId={legacy_id} slug changes \"{old}\" → \"{new}\""
            ));
            self.out.slug_changes.push(SlugChange {
                sheet,
                legacy_id,
                old,
                new,
            });
        }
    }

    /// Two updates of one project with one number would share a path. The first in laddr
    /// order keeps it; a later one is numbered by its own laddr ID (the next free number from
    /// there), so its number depends on no other row.
    pub(super) fn unique_update_number(&mut self, project: &str, number: Value, id: i64) -> Value {
        let mut number = number;
        if let Some(holder) = self
            .update_numbers
            .get(&(project.to_owned(), number.to_string()))
        {
            let holder = *holder;
            let mut n = id;
            while self
                .update_numbers
                .contains_key(&(project.to_owned(), n.to_string()))
            {
                n += 1;
            }
            self.warn(format!(
                "[project-updates] legacyId={id} number {number} is already legacyId={holder}'s in its project; numbered {n}"
            ));
            number = Value::from(n);
        }
        self.update_numbers
            .insert((project.to_owned(), number.to_string()), id);
        number
    }
}

fn rules_of(sheet: Sheet) -> slug::SlugRules {
    match sheet {
        Sheet::Projects => slug::PROJECTS,
        Sheet::ProjectBuzz => slug::BUZZ,
        Sheet::BlogPosts => slug::BLOG_POSTS,
        _ => slug::PEOPLE,
    }
}
