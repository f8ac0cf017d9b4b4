//! The sections the dry-run and t0-delta pages share, built from the reports the pipeline's
//! tools wrote (sheet-write's import report, spam-prune's, reconcile's): one rendering of each
//! for both pages.

use report_html::{Block, Cell, Page, Section, Stage};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

/// Examples shown per warning kind.
const EXAMPLES: usize = 3;

/// Writes `page` as `report.html` in the work directory and, when given, to `--html`'s file.
pub fn write(page: &Page, work: &Path, also: Option<&Path>) -> crate::Result<()> {
    let html = page.render();
    for p in std::iter::once(work.join("report.html").as_path()).chain(also) {
        std::fs::write(p, &html).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    Ok(())
}

/// The stage strip from `(name, passed, milliseconds)` in run order.
pub fn stages(list: &[(&str, bool, u128)]) -> Block {
    Block::Stages(
        list.iter()
            .map(|&(name, ok, duration_ms)| Stage {
                name: name.into(),
                ok,
                duration_ms,
            })
            .collect(),
    )
}

fn number(v: &Value) -> String {
    v.as_u64().map_or("–".into(), |n| n.to_string())
}

fn head(names: &[&str]) -> Vec<String> {
    names.iter().map(|s| s.to_string()).collect()
}

/// What the import did, as both pages show it: files, media, warnings, kept/merged/moved.
pub fn import_sections(import: Option<&Value>) -> [Section; 4] {
    [
        files(import),
        media(import),
        warnings(import),
        integrity(import),
    ]
}

/// Media per sheet (`importReport.media`): attachments written from the media directory, kept
/// from the parent tree, removed (photo gone upstream) and failed (red when any), then the
/// first failures spelled out with the laddr ID, media ID and reason.
pub fn media(import: Option<&Value>) -> Section {
    let Some(sheets) = import.and_then(|i| i["media"].as_object()) else {
        let note = "No media in this import (no --media-dir, and no attachment kept).";
        return Section::new("Media", vec![Block::Note(note.into())]);
    };
    let count = |v: &Value| v.as_array().map_or(0, Vec::len);
    let rows = sheets
        .iter()
        .map(|(name, m)| {
            let failed = count(&m["failed"]);
            vec![
                Cell::text(name.clone()),
                Cell::text(number(&m["written"])),
                Cell::text(number(&m["kept"])),
                Cell::text(number(&m["removed"])),
                Cell::status(failed.to_string(), failed == 0),
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        head: head(&["sheet", "written", "kept", "removed", "failed"]),
        rows,
    }];
    let failures: Vec<String> = sheets
        .iter()
        .flat_map(|(name, m)| {
            let list = m["failed"].as_array().cloned().unwrap_or_default();
            list.into_iter().map(move |f| {
                let id = |k: &str| f[k].as_i64().map_or("?".into(), |n| n.to_string());
                let reason = f["reason"].as_str().unwrap_or("");
                format!(
                    "{name}: laddr ID {} media {}: {reason}",
                    id("legacyId"),
                    id("mediaId")
                )
            })
        })
        .take(EXAMPLES * 4)
        .collect();
    if !failures.is_empty() {
        blocks.push(Block::Items(failures));
    }
    Section::new("Media", blocks)
}

/// Files added/modified/deleted per sheet (`importReport.sheets`).
pub fn files(import: Option<&Value>) -> Section {
    let rows = import
        .and_then(|i| i["sheets"].as_object())
        .map(|sheets| {
            sheets
                .iter()
                .map(|(name, s)| {
                    let mut row = vec![Cell::text(name.clone())];
                    row.extend(["added", "modified", "deleted"].map(|k| Cell::text(number(&s[k]))));
                    row
                })
                .collect()
        })
        .unwrap_or_default();
    let table = Block::Table {
        head: head(&["sheet", "added", "modified", "deleted"]),
        rows,
    };
    Section::new("Files", vec![table])
}

/// Per sheet imported, skipped, failed (red when any) and kept stale (`importReport.counts`).
pub fn import_counts(import: Option<&Value>) -> Block {
    let rows = import
        .and_then(|i| i["counts"].as_object())
        .map(|counts| {
            counts
                .iter()
                .map(|(sheet, c)| {
                    let errors = c["errors"].as_u64().unwrap_or(0);
                    vec![
                        Cell::text(sheet.clone()),
                        Cell::text(number(&c["imported"])),
                        Cell::text(number(&c["skipped"])),
                        Cell::status(number(&c["errors"]), errors == 0),
                        Cell::text(c["keptStale"].as_u64().unwrap_or(0).to_string()),
                    ]
                })
                .collect()
        })
        .unwrap_or_default();
    Block::Table {
        head: head(&["sheet", "imported", "skipped", "errors", "keptStale"]),
        rows,
    }
}

/// A warning's kind: its sheet and its wording with the row's particulars (ids, quoted
/// values, numbers, masked addresses) taken out, so "title truncated" warnings of many rows
/// count as one kind.
pub fn warning_kind(text: &str) -> String {
    let words: Vec<&str> = text
        .split(' ')
        .map(|w| if w.contains('@') { "…" } else { w })
        .collect();
    let text = words.join(" ");
    let mut kind = String::new();
    let mut quoted = false;
    let mut after_eq = false;
    for c in text.chars() {
        match c {
            '"' => {
                if !quoted {
                    kind.push_str("\"…\"");
                }
                quoted = !quoted;
            }
            _ if quoted => {}
            '=' => {
                kind.push_str("=…");
                after_eq = true;
            }
            c if after_eq && !c.is_whitespace() && c != ';' && c != ',' => {}
            c if c.is_ascii_digit() => {
                if !kind.ends_with('N') {
                    kind.push('N');
                }
            }
            c => {
                after_eq = false;
                kind.push(c);
            }
        }
    }
    kind
}

/// Warnings grouped by kind, with counts and the first examples (`importReport.warnings`).
pub fn warnings(import: Option<&Value>) -> Section {
    let list = import
        .and_then(|i| i["warnings"].as_array())
        .map(Vec::as_slice)
        .unwrap_or_default();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in list {
        let text = w.as_str().map_or_else(|| w.to_string(), String::from);
        groups.entry(warning_kind(&text)).or_default().push(text);
    }
    let rows = groups
        .into_iter()
        .map(|(kind, all)| {
            let first = all.iter().take(EXAMPLES).cloned().collect::<Vec<_>>();
            vec![
                Cell::text(kind),
                Cell::text(all.len().to_string()),
                Cell::text(first.join(" · ")),
            ]
        })
        .collect();
    let table = Block::Table {
        head: head(&["kind", "count", "first examples"]),
        rows,
    };
    Section::new(format!("Warnings ({})", list.len()), vec![table])
}

/// Rows kept from the parent tree, laddr rows merged into one record, and slugs (public URLs)
/// that change (`importReport.keptStale`, `merges`, `slugChanges`).
pub fn integrity(import: Option<&Value>) -> Section {
    let list = |key: &str| {
        import
            .and_then(|i| i[key].as_array())
            .map(Vec::as_slice)
            .unwrap_or_default()
    };
    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
    let table = |names: &[&str], key: &str, fields: &[&str]| -> Block {
        let rows: Vec<Vec<Cell>> = list(key)
            .iter()
            .map(|item| fields.iter().map(|f| Cell::text(text(&item[*f]))).collect())
            .collect();
        if rows.is_empty() {
            return Block::Note(format!("{key}: none."));
        }
        Block::Table {
            head: head(names),
            rows,
        }
    };
    let merge_rows: Vec<Vec<Cell>> = list("merges")
        .iter()
        .map(|m| {
            let ids: Vec<String> = m["merged"]
                .as_array()
                .map(|a| a.iter().map(Value::to_string).collect())
                .unwrap_or_default();
            vec![
                Cell::text(text(&m["sheet"])),
                Cell::text(text(&m["key"])),
                Cell::text(m["survivor"].to_string()),
                Cell::text(ids.join(", ")),
            ]
        })
        .collect();
    let merges = if merge_rows.is_empty() {
        Block::Note("merges: none.".into())
    } else {
        Block::Table {
            head: head(&["sheet", "key", "survivor", "merged"]),
            rows: merge_rows,
        }
    };
    Section::new(
        "Kept, merged and moved records",
        vec![
            table(
                &["sheet", "legacyId", "id", "reason (kept as it was)"],
                "keptStale",
                &["sheet", "legacyId", "id", "reason"],
            ),
            merges,
            table(
                &["sheet", "legacyId", "old slug", "new slug"],
                "slugChanges",
                &["sheet", "legacyId", "old", "new"],
            ),
        ],
    )
}

/// spam-prune's people before/after, pruned and cascade (`pruneReport`).
pub fn prune(p: Option<&Value>) -> Section {
    let Some(p) = p else {
        return Section::new(
            "Prune",
            vec![Block::Note("spam-prune wrote no report.".into())],
        );
    };
    let row = |label: &str, v: &Value| vec![Cell::text(label), Cell::text(number(v))];
    let mut rows = vec![
        row("people before", &p["peopleBefore"]),
        row("people after", &p["peopleAfter"]),
        row("pruned", &p["prunedPeople"]),
    ];
    for key in [
        "membershipsDeleted",
        "helpWantedInterestDeleted",
        "personTagAssignmentsDeleted",
        "projectUpdatesAuthorNulled",
        "attachmentsDeleted",
    ] {
        rows.push(row(&format!("cascade: {key}"), &p[key]));
    }
    for (class, n) in p["atRisk"].as_object().into_iter().flatten() {
        let flagged = n.as_u64().unwrap_or(0);
        rows.push(vec![
            Cell::text(format!("at risk: {class}")),
            Cell::status(number(n), flagged == 0),
        ]);
    }
    let table = Block::Table {
        head: head(&["", "count"]),
        rows,
    };
    Section::new("Prune", vec![table])
}

/// Every numeric category of reconcile's report, non-zero ones first (the counts are facts,
/// not verdicts: the tool's exit code, in the stage strip, is the verdict).
pub fn reconcile(r: Option<&Value>) -> Section {
    let Some(obj) = r.and_then(Value::as_object) else {
        return Section::new(
            "Reconcile",
            vec![Block::Note("reconcile wrote no report.".into())],
        );
    };
    let mut rows: Vec<(usize, &String)> = obj
        .iter()
        .filter_map(|(k, v)| match v {
            Value::Array(a) => Some((a.len(), k)),
            v => v.as_u64().map(|n| (n as usize, k)),
        })
        .collect();
    rows.sort_by_key(|&(n, _)| n == 0);
    let table = Block::Table {
        head: head(&["category", "count"]),
        rows: rows
            .into_iter()
            .map(|(n, k)| vec![Cell::text(k.clone()), Cell::text(n.to_string())])
            .collect(),
    };
    Section::new("Reconcile", vec![table])
}

/// The run's notes.
pub fn notes(notes: &[String]) -> Section {
    let block = if notes.is_empty() {
        Block::Note("None.".into())
    } else {
        Block::Items(notes.to_vec())
    };
    Section::new("Notes", vec![block])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warnings_of_one_kind_group_together() {
        let a = warning_kind("[projects] legacyId=12 title truncated from 260 to 200 chars");
        let b = warning_kind("[projects] legacyId=7 title truncated from 301 to 200 chars");
        assert_eq!(a, b);
        assert_eq!(a, "[projects] legacyId=… title truncated from N to N chars");
        let email = |id, sample| {
            warning_kind(&format!(
                "[people] legacyId={id} field \"bio\" contains an email-like address ({sample}); kept (free text)"
            ))
        };
        assert_eq!(email(4, "e***@example.org"), email(9, "p***@example.com"));
        let s = warning_kind("[people] legacyId=3 slug \"A b\" normalized to \"a-b\"");
        assert_eq!(s, "[people] legacyId=… slug \"…\" normalized to \"…\"");
        assert_ne!(a, s);
    }
}
