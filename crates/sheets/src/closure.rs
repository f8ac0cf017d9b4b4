//! Referential closure: every id field of every record resolves to a record of the tree.
//!
//! A snapshot that references a record it does not hold breaks the rewrite at read time, so
//! `sheet-write` refuses to write one, `spam-prune` refuses to commit one and `reconcile`
//! reports one (`danglingReferences`). The check works on records already in memory
//! ([`check`]) or on a whole tree ([`crate::DataRepo::dangling_references`]).
//!
//! Which fields are references:
//! - the known ones, with the sheet they point into: `tagId` → tags; `personId`, `authorId`,
//!   `postedById`, `maintainerId` → people; `projectId` → projects; `taggableId` → the sheet
//!   its `taggableType` names (`person`, `project`, `blog_post`, `help_wanted_role`);
//! - any field a sheet config declares under `[gitsheet.references]` (`roleId =
//!   'help-wanted-roles'`, or `'*'` for any sheet);
//! - any other field named `…Id` whose value is UUID-shaped (`roleId`, `entityId`, …): it must
//!   be the `id` of some record, in any sheet.
//!
//! A known target sheet that the tree has no config for is not checked against that sheet but
//! against every record (a repo without a `people` sheet cannot be asked to hold people).

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde::Serialize;
use serde_json::{Map, Value};

/// The reference fields every sheet can hold, with the sheet they point into.
pub const KNOWN_REFERENCES: [(&str, &str); 6] = [
    ("tagId", "tags"),
    ("personId", "people"),
    ("authorId", "people"),
    ("postedById", "people"),
    ("maintainerId", "people"),
    ("projectId", "projects"),
];

/// `taggableType` → the sheet a `taggableId` points into.
pub fn taggable_sheet(kind: &str) -> Option<&'static str> {
    Some(match kind {
        "person" => "people",
        "project" => "projects",
        "blog_post" => "blog-posts",
        "help_wanted_role" => "help-wanted-roles",
        _ => return None,
    })
}

/// Fields named `…Id` that are not references to a record.
const NOT_REFERENCES: [&str; 3] = ["id", "legacyId", "slackSamlNameId"];

/// One record to check: its sheet, its path (for the report) and its fields.
#[derive(Debug, Clone, Copy)]
pub struct RecordRef<'a> {
    /// The record's sheet.
    pub sheet: &'a str,
    /// The record's file, for the report.
    pub path: &'a str,
    /// The record's fields.
    pub record: &'a Map<String, Value>,
}

/// A reference that resolves to no record.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Dangling {
    /// The file holding the reference, e.g. `tag-assignments/…/….toml`.
    pub path: String,
    /// The id field, e.g. `personId`.
    pub field: String,
    /// The id it holds.
    pub value: String,
    /// The sheet the value should be an id of (`*` for any).
    pub target: String,
}

impl std::fmt::Display for Dangling {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {} = {:?} resolves to no record of {}",
            self.path,
            self.field,
            self.value,
            if self.target == "*" {
                "any sheet"
            } else {
                &self.target
            }
        )
    }
}

/// Extra references declared by sheet configs: sheet → field → target sheet (or `*`).
pub type DeclaredReferences = BTreeMap<String, BTreeMap<String, String>>;

/// Every dangling reference among `records`, sorted by path and field. `sheets` names every
/// sheet the tree has a config for (see the module note on missing target sheets).
pub fn check(
    records: &[RecordRef<'_>],
    sheets: &HashSet<&str>,
    declared: &DeclaredReferences,
) -> Vec<Dangling> {
    check_values(records, sheets, declared, &|_| true)
}

/// [`check`]'s dangling references whose value `only` accepts, found without collecting the
/// ids of any other value: a caller that knows which ids can have gone (a prune's deleted
/// records) checks just the references to them.
pub fn check_values(
    records: &[RecordRef<'_>],
    sheets: &HashSet<&str>,
    declared: &DeclaredReferences,
    only: &dyn Fn(&str) -> bool,
) -> Vec<Dangling> {
    let mut ids: HashMap<&str, HashSet<&str>> = HashMap::new();
    let mut any: HashSet<&str> = HashSet::new();
    for r in records {
        if let Some(id) = r.record.get("id").and_then(Value::as_str)
            && only(id)
        {
            ids.entry(r.sheet).or_default().insert(id);
            any.insert(id);
        }
    }
    let resolves = |target: &str, value: &str| match ids.get(target) {
        _ if target == "*" || !sheets.contains(target) => any.contains(value),
        Some(set) => set.contains(value),
        None => false,
    };
    let mut out = Vec::new();
    for r in records {
        let extra = declared.get(r.sheet);
        for (field, value) in r.record {
            let Some(target) = reference_target(r.record, field, value, extra) else {
                continue;
            };
            // Strings are compared in place; only a dangling reference is copied out.
            let text;
            let value = match value {
                Value::String(s) => s.as_str(),
                other => {
                    text = other.to_string();
                    text.as_str()
                }
            };
            if only(value) && !resolves(target, value) {
                out.push(Dangling {
                    path: r.path.to_owned(),
                    field: field.clone(),
                    value: value.to_owned(),
                    target: target.to_owned(),
                });
            }
        }
    }
    out.sort();
    out
}

/// The sheet `field` of `record` must point into, or `None` when it is not a reference.
fn reference_target<'a>(
    record: &'a Map<String, Value>,
    field: &str,
    value: &Value,
    declared: Option<&'a BTreeMap<String, String>>,
) -> Option<&'a str> {
    if let Some(target) = declared.and_then(|d| d.get(field)) {
        return Some(target);
    }
    if let Some((_, target)) = KNOWN_REFERENCES.iter().find(|(f, _)| *f == field) {
        return Some(target);
    }
    if field == "taggableId" {
        let kind = record.get("taggableType").and_then(Value::as_str);
        return Some(kind.and_then(taggable_sheet).unwrap_or("*"));
    }
    let named_like_one = field.ends_with("Id") && !NOT_REFERENCES.contains(&field);
    (named_like_one && value.as_str().is_some_and(uuid_shaped)).then_some("*")
}

/// Whether [`check`] can read `field` of a record of a sheet declaring `declared`: its `id`,
/// a `taggableType`, a declared reference or any field named `…Id` (every known reference
/// ends so). A record reduced to these fields checks exactly as the whole record does.
pub fn is_checked_field(field: &str, declared: Option<&BTreeMap<String, String>>) -> bool {
    field == "id"
        || field == "taggableType"
        || field.ends_with("Id")
        || declared.is_some_and(|d| d.contains_key(field))
}

/// `8-4-4-4-12` hex digits: the shape of every record id (not a validity check).
fn uuid_shaped(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    const P: &str = "01900000-0000-7000-8000-000000000001";
    const T: &str = "01900000-0000-7000-8000-000000000002";
    const GONE: &str = "01900000-0000-7000-8000-0000000000ff";

    #[test]
    fn every_known_reference_is_a_field_the_reduced_read_keeps() {
        for (field, _) in KNOWN_REFERENCES {
            assert!(is_checked_field(field, None), "{field}");
        }
        assert!(is_checked_field("taggableType", None) && is_checked_field("id", None));
        let declared = BTreeMap::from([("owner".to_owned(), "people".to_owned())]);
        assert!(is_checked_field("owner", Some(&declared)) && !is_checked_field("owner", None));
    }

    #[test]
    fn lists_every_unresolved_reference_with_path_and_field() {
        let person = rec(json!({"id": P, "slug": "alice", "slackSamlNameId": "alice"}));
        let tag = rec(json!({"id": T, "legacyId": 7}));
        let ok = rec(json!({"id": "a", "tagId": T, "taggableType": "person", "taggableId": P}));
        let bad = rec(json!({"id": "b", "tagId": GONE, "taggableType": "person", "taggableId": T}));
        let role = rec(json!({"id": "c", "roleId": GONE, "personId": P, "githubUserId": 5}));
        let records = [
            RecordRef {
                sheet: "people",
                path: "people/alice.toml",
                record: &person,
            },
            RecordRef {
                sheet: "tags",
                path: "tags/topic/x.toml",
                record: &tag,
            },
            RecordRef {
                sheet: "tag-assignments",
                path: "ta/a.toml",
                record: &ok,
            },
            RecordRef {
                sheet: "tag-assignments",
                path: "ta/b.toml",
                record: &bad,
            },
            RecordRef {
                sheet: "help-wanted-interest",
                path: "hwi/c.toml",
                record: &role,
            },
        ];
        let sheets: HashSet<&str> = HashSet::from_iter(["people", "tags", "tag-assignments"]);
        let found = check(&records, &sheets, &DeclaredReferences::new());
        // Asked about some values only, the check finds exactly those of its full answer.
        for only in [P, T, GONE] {
            let some = check_values(&records, &sheets, &DeclaredReferences::new(), &|v| {
                v == only
            });
            let want: Vec<_> = found.iter().filter(|d| d.value == only).cloned().collect();
            assert_eq!(some, want, "{only}");
        }
        let shown: Vec<String> = found.iter().map(ToString::to_string).collect();
        assert_eq!(
            shown,
            [
                format!("hwi/c.toml: roleId = \"{GONE}\" resolves to no record of any sheet"),
                format!("ta/b.toml: tagId = \"{GONE}\" resolves to no record of tags"),
                // A tag's id is not a person's.
                format!("ta/b.toml: taggableId = \"{T}\" resolves to no record of people"),
            ]
        );
    }

    #[test]
    fn declared_references_and_missing_target_sheets() {
        let person = rec(json!({"id": P}));
        let x = rec(json!({"id": "x", "ownerRef": "nope", "projectId": P}));
        let records = [
            RecordRef {
                sheet: "people",
                path: "people/p.toml",
                record: &person,
            },
            RecordRef {
                sheet: "things",
                path: "things/x.toml",
                record: &x,
            },
        ];
        let mut declared = DeclaredReferences::new();
        declared.insert(
            "things".into(),
            [("ownerRef".to_owned(), "people".to_owned())].into(),
        );
        // No `projects` config: projectId resolves against any record.
        let sheets: HashSet<&str> = HashSet::from_iter(["people", "things"]);
        let found = check(&records, &sheets, &declared);
        assert_eq!(found.len(), 1);
        assert_eq!(
            (found[0].field.as_str(), found[0].target.as_str()),
            ("ownerRef", "people")
        );
    }
}
