//! Read-forward ids (B §3): UUIDv7s are reused from the parent tree by legacy key, so an
//! unchanged re-import is byte-identical and a slug rename keeps the record's id.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt};

use serde_json::{Map, Value};

use crate::validate::{is_datetime, is_uuid};

/// Where new ids come from. [`UuidV7`] in production; tests inject [`Sequential`].
pub trait IdSource {
    /// A fresh id (a UUID string that passes the Zod uuid check).
    fn mint(&mut self) -> String;
}

/// RFC 9562 UUIDv7 from the wall clock (the uuid crate keeps them monotonic in-process).
#[derive(Debug, Default, Clone, Copy)]
pub struct UuidV7;

impl IdSource for UuidV7 {
    fn mint(&mut self) -> String {
        uuid::Uuid::now_v7().to_string()
    }
}

/// Deterministic v7-shaped ids for tests and snapshots:
/// `01900000-0000-7000-8000-<12 hex of the counter>`, counting from `next`.
#[derive(Debug, Default, Clone)]
pub struct Sequential {
    /// The counter of the next id.
    pub next: u64,
}

impl IdSource for Sequential {
    fn mint(&mut self) -> String {
        self.next += 1;
        format!("01900000-0000-7000-8000-{:012x}", self.next)
    }
}

/// Ids from the parent tree, keyed `<sheet>/<legacyId>`, `project-memberships/<proj>-<person>`
/// and `tag-assignments/<tag>-<type>-<taggable>` (legacy IDs throughout).
#[derive(Debug, Default, Clone)]
pub struct ReadForward {
    /// What the parent tree's record holds, by key (one map: a parent tree has ~100,000).
    held: HashMap<String, Held>,
}

/// One key's parent record, as far as the translation reads it forward.
#[derive(Debug, Default, Clone)]
struct Held {
    id: Option<String>,
    /// The existing record's `createdAt` (the fallback for a missing laddr timestamp
    /// instead of the run clock).
    created: Option<String>,
    /// The existing record's slug (`namespace/slug` for tags), and for buzz the
    /// `projectId` that scopes it: an unchanged record keeps its path.
    slug: Option<(String, Option<String>)>,
}

impl ReadForward {
    /// The id recorded for `key`, if any.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.held.get(key)?.id.as_deref()
    }

    /// Pin an id for a key (tests, fixed examples).
    pub fn insert(&mut self, key: impl Into<String>, id: impl Into<String>) {
        self.held.entry(key.into()).or_default().id = Some(id.into());
    }

    /// The parent tree's `createdAt` for `key`, if it holds a valid one.
    pub fn created_at(&self, key: &str) -> Option<&str> {
        self.held.get(key)?.created.as_deref()
    }

    /// Pin a `createdAt` for a key (tests).
    pub fn insert_created_at(&mut self, key: impl Into<String>, created_at: impl Into<String>) {
        self.held.entry(key.into()).or_default().created = Some(created_at.into());
    }

    /// The parent tree's slug for `key` (`namespace/slug` for tags), if any.
    pub fn slug(&self, key: &str) -> Option<&str> {
        self.held.get(key)?.slug.as_ref().map(|(s, _)| s.as_str())
    }

    /// Pin a slug for a key (tests).
    pub fn insert_slug(&mut self, key: impl Into<String>, slug: impl Into<String>) {
        self.held.entry(key.into()).or_default().slug = Some((slug.into(), None));
    }

    /// Every existing slug of a sheet: (legacy ID, slug, the `projectId` scoping it).
    pub(crate) fn slugs_of<'a>(
        &'a self,
        sheet: &'a str,
    ) -> impl Iterator<Item = (i64, &'a str, Option<&'a str>)> + 'a {
        self.held.iter().filter_map(move |(key, held)| {
            let (slug, owner) = held.slug.as_ref()?;
            let legacy = key.strip_prefix(sheet)?.strip_prefix('/')?.parse().ok()?;
            Some((legacy, slug.as_str(), owner.as_deref()))
        })
    }

    /// How many ids are held.
    pub fn len(&self) -> usize {
        self.held.values().filter(|h| h.id.is_some()).count()
    }

    /// True when no id is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// `idFor(key)`: the read-forward id, else a new one from `source`.
    pub fn id_for(&self, key: &str, source: &mut dyn IdSource) -> String {
        match self.get(key) {
            Some(id) => id.to_owned(),
            None => source.mint(),
        }
    }
}

impl ReadForward {
    fn remember(&mut self, key: String, id: &str, r: &Map<String, Value>) {
        let created = r
            .get("createdAt")
            .and_then(Value::as_str)
            .filter(|c| is_datetime(c))
            .map(str::to_owned);
        let slug = r.get("slug").and_then(Value::as_str).map(|slug| {
            let owner = r
                .get("projectId")
                .and_then(Value::as_str)
                .map(str::to_owned);
            let slug = match r.get("namespace").and_then(Value::as_str) {
                Some(ns) => format!("{ns}/{slug}"),
                None => slug.to_owned(),
            };
            (slug, owner)
        });
        // A key held twice (a repeated legacyId) keeps each field's last value.
        let held = self.held.entry(key).or_default();
        held.id = Some(id.to_owned());
        held.created = created.or(held.created.take());
        held.slug = slug.or(held.slug.take());
    }
}

fn legacy_id(r: &Map<String, Value>) -> Option<i64> {
    let n = r.get("legacyId")?.as_number()?;
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

fn uuid_field<'a>(r: &'a Map<String, Value>, k: &str) -> Option<&'a str> {
    r.get(k)?.as_str().filter(|s| is_uuid(s))
}

/// The only fields [`build_read_forward`] reads: callers holding a whole parent tree can drop
/// every other field right after reading a record (a 59,000-record snapshot's bios and READMEs
/// are most of its bytes).
pub const READ_FORWARD_FIELDS: [&str; 10] = [
    "id",
    "slug",
    "namespace",
    "legacyId",
    "createdAt",
    "projectId",
    "personId",
    "tagId",
    "taggableType",
    "taggableId",
];

/// Build the read-forward map from the parent tree's records, given per sheet name
/// (`"people"`, `"project-memberships"`, …; other names are ignored).
///
/// - people, projects, tags, project-updates, project-buzz, blog-posts: each record with an
///   integer `legacyId` and a valid uuid `id` gives `<sheet>/<legacyId>`.
/// - project-memberships: `(projectId, personId)` mapped back to legacy IDs through the
///   people and projects records gives `project-memberships/<proj>-<person>`.
/// - tag-assignments (`project`/`person`): `tag-assignments/<tag>-<type>-<taggable>`.
///
/// Records whose references do not resolve are skipped, so they get new ids.
pub fn build_read_forward(existing: &BTreeMap<String, Vec<Map<String, Value>>>) -> ReadForward {
    let mut rf = ReadForward::default();
    let mut reverse: HashMap<&str, HashMap<&str, i64>> = HashMap::new();
    for sheet in [
        "people",
        "projects",
        "tags",
        "project-updates",
        "project-buzz",
        "blog-posts",
    ] {
        let back = reverse.entry(sheet).or_default();
        for r in existing.get(sheet).into_iter().flatten() {
            if let (Some(l), Some(id)) = (legacy_id(r), uuid_field(r, "id")) {
                rf.remember(format!("{sheet}/{l}"), id, r);
                back.insert(id, l);
            }
        }
    }
    let back = |sheet: &str, r: &Map<String, Value>, k: &str| -> Option<i64> {
        reverse.get(sheet)?.get(uuid_field(r, k)?).copied()
    };
    for r in existing.get("project-memberships").into_iter().flatten() {
        let (Some(id), Some(proj), Some(person)) = (
            uuid_field(r, "id"),
            back("projects", r, "projectId"),
            back("people", r, "personId"),
        ) else {
            continue;
        };
        rf.remember(format!("project-memberships/{proj}-{person}"), id, r);
    }
    for r in existing.get("tag-assignments").into_iter().flatten() {
        let kind = r.get("taggableType").and_then(Value::as_str);
        let target_sheet = match kind {
            Some("project") => "projects",
            Some("person") => "people",
            _ => continue,
        };
        let (Some(id), Some(tag), Some(target), Some(kind)) = (
            uuid_field(r, "id"),
            back("tags", r, "tagId"),
            back(target_sheet, r, "taggableId"),
            kind,
        ) else {
            continue;
        };
        rf.remember(format!("tag-assignments/{tag}-{kind}-{target}"), id, r);
    }
    rf
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn recs(v: Value) -> Vec<Map<String, Value>> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_object().unwrap().clone())
            .collect()
    }

    #[test]
    fn keys_from_parent_tree() {
        let p = "01900000-0000-7000-8000-000000000001";
        let q = "01900000-0000-7000-8000-000000000002";
        let t = "01900000-0000-7000-8000-000000000003";
        let m = "01900000-0000-7000-8000-000000000004";
        let a = "01900000-0000-7000-8000-000000000005";
        let mut existing = BTreeMap::new();
        existing.insert(
            "people".to_owned(),
            recs(json!([{"id": p, "legacyId": 10}, {"id": "bad", "legacyId": 11}])),
        );
        existing.insert(
            "projects".to_owned(),
            recs(json!([{"id": q, "legacyId": 100}])),
        );
        existing.insert("tags".to_owned(), recs(json!([{"id": t, "legacyId": 1}])));
        existing.insert(
            "project-memberships".to_owned(),
            recs(json!([{"id": m, "projectId": q, "personId": p},
                         {"id": "01900000-0000-7000-8000-0000000000ff", "projectId": q, "personId": "01900000-0000-7000-8000-000000000099"}])),
        );
        existing.insert(
            "tag-assignments".to_owned(),
            recs(
                json!([{"id": a, "tagId": t, "taggableType": "person", "taggableId": p,
                         "createdAt": "2026-01-01T00:00:00.000Z"}]),
            ),
        );
        let rf = build_read_forward(&existing);
        assert_eq!(rf.get("people/10"), Some(p));
        assert_eq!(rf.get("people/11"), None);
        assert_eq!(rf.get("projects/100"), Some(q));
        assert_eq!(rf.get("tags/1"), Some(t));
        assert_eq!(rf.get("project-memberships/100-10"), Some(m));
        assert_eq!(rf.get("tag-assignments/1-person-10"), Some(a));
        assert_eq!(rf.len(), 5);
        assert_eq!(
            rf.created_at("tag-assignments/1-person-10"),
            Some("2026-01-01T00:00:00.000Z")
        );
        assert_eq!(rf.created_at("people/10"), None);
        let mut ids = Sequential::default();
        assert_eq!(rf.id_for("people/10", &mut ids), p);
        assert_eq!(
            rf.id_for("people/12", &mut ids),
            "01900000-0000-7000-8000-000000000001"
        );
    }

    #[test]
    fn v7_ids_pass_zod() {
        let mut src = UuidV7;
        let id = src.mint();
        assert!(is_uuid(&id));
        assert_eq!(&id[14..15], "7");
    }
}
