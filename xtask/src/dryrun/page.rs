//! The dry-run report as a page people read on the T-3 call (`report.html`).

use super::Report;
use crate::pages;
use report_html::{Bar, Block, Cell, Page, Section};
use serde_json::Value;
use std::collections::BTreeMap;

/// The page for `r`: banner, stage strip, counts, files, warnings, kept/merged/moved records,
/// prune, reconcile, smoke, notes.
pub fn page(r: &Report) -> Page {
    let mut facts = vec![
        ("runAt".to_string(), r.run_at.clone()),
        ("sourceHost".into(), r.source_host.clone()),
        ("target".into(), r.target.clone().unwrap_or("(none)".into())),
        ("dataRepo".into(), r.data_repo.clone()),
    ];
    if let Some(m) = &r.merge {
        // The outcome word ("fast-forward", "conflicts", …) when there is one, else the JSON.
        let outcome = m.get("outcome").and_then(Value::as_str);
        facts.push((
            "merge".into(),
            outcome.map_or_else(|| m.to_string(), str::to_owned),
        ));
    }
    let import = r.import_report.as_ref();
    let (s, d) = (&r.stages, &r.durations_ms);
    let strip = pages::stages(&[
        ("import", s.import, d.import),
        ("countDiff", s.count_diff, d.count_diff),
        ("merge", s.merge, d.merge),
        ("prune", s.prune, d.prune),
        ("reconcile", s.reconcile, d.reconcile),
        ("smoke", s.smoke, d.smoke),
    ]);
    Page {
        title: format!("dry-run {}", r.source_host),
        passed: r.passed,
        facts,
        sections: vec![
            Section::new("Stages", vec![strip]),
            Section::new(
                "Imported vs laddr's totals",
                vec![counts(r), pages::import_counts(import)],
            ),
        ]
        .into_iter()
        .chain(pages::import_sections(import))
        .chain([
            pages::prune(r.prune_report.as_ref()),
            pages::reconcile(r.reconcile_report.as_ref()),
            Section::new("Smoke probes", smoke(&r.smoke_checks)),
            pages::notes(&r.notes),
        ])
        .collect(),
    }
}

fn counts(r: &Report) -> Block {
    Block::Bars(
        r.count_diffs
            .iter()
            .map(|c| Bar {
                label: c.sheet.clone(),
                reference: c.source_total,
                value: c.imported_records,
                ok: c.matched,
            })
            .collect(),
    )
}

/// Route family × passed/failed, then every failure spelled out.
fn smoke(checks: &[Value]) -> Vec<Block> {
    let mut grid: BTreeMap<&str, (u64, u64)> = BTreeMap::new();
    let mut failures = Vec::new();
    for c in checks {
        let kind = c["kind"].as_str().unwrap_or("other");
        let entry = grid.entry(kind).or_default();
        if c["ok"] == Value::Bool(true) {
            entry.0 += 1;
        } else {
            entry.1 += 1;
            failures.push(format!(
                "{} {} → {} (expected {}) {}",
                c["name"].as_str().unwrap_or(""),
                c["url"].as_str().unwrap_or(""),
                c["status"],
                c["expected"],
                c["note"].as_str().unwrap_or("")
            ));
        }
    }
    let rows = grid
        .into_iter()
        .map(|(kind, (pass, fail))| {
            vec![
                Cell::text(kind),
                Cell::status(pass.to_string(), true),
                Cell::status(fail.to_string(), fail == 0),
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        head: ["route family", "passed", "failed"]
            .map(String::from)
            .to_vec(),
        rows,
    }];
    if checks.is_empty() {
        blocks.push(Block::Note("No probe ran.".into()));
    } else if !failures.is_empty() {
        blocks.push(Block::Items(failures));
    }
    blocks
}

#[cfg(test)]
mod tests {
    use super::super::{Durations, Stages};
    use super::*;
    use crate::pipeline::CountDiff;
    use serde_json::json;

    const EVIL: &str = "Mallory <script>alert(1)</script>";

    /// A report whose member-supplied texts (warnings, slugs, a smoke note) carry a script.
    fn report() -> Report {
        Report {
            run_at: "2026-08-15T12:00:00.000Z".into(),
            source_host: "codeforphilly.org".into(),
            target: None,
            import_report: Some(json!({
                "counts": {"people": {"imported": 2, "skipped": 0, "errors": 0}},
                "sheets": {"people": {"added": 2, "modified": 0, "deleted": 0}},
                "warnings": [format!("[people] legacyId=4 fullName \"{EVIL}\" truncated")],
                "keptStale": [{"sheet": "people", "legacyId": 5, "id": "p-5", "reason": EVIL}],
                "merges": [{"sheet": "tags", "key": "topic/transit", "survivor": 1, "merged": [2, 3]}],
                "slugChanges": [{"sheet": "people", "legacyId": 6, "old": "mallory", "new": EVIL}],
                "media": {"people": {"written": 1, "kept": 2, "removed": 0,
                    "failed": [{"legacyId": 7, "mediaId": 9, "reason": EVIL}]}},
            })),
            import_media: None,
            count_diffs: vec![CountDiff {
                sheet: "people".into(),
                source_total: Some(3),
                imported_records: 2,
                matched: false,
            }],
            smoke_checks: vec![json!({"kind": "person", "ok": false, "name": "person",
                "url": "/people/mallory", "status": 500, "expected": 200, "note": EVIL})],
            stages: Stages::default(),
            passed: false,
            durations_ms: Durations::default(),
            data_repo: "/scratch/data.git".into(),
            merge: None,
            prune_report: None,
            reconcile_report: Some(json!({"orphanPublic": [{"personId": "p"}], "unresolved": 1})),
            steps: vec![],
            notes: vec![],
        }
    }

    #[test]
    fn same_report_same_bytes_and_member_texts_arrive_as_text() {
        let html = page(&report()).render();
        assert_eq!(html, page(&report()).render());
        assert!(!html.contains("<script>"));
        assert!(html.contains("Mallory &lt;script&gt;alert(1)&lt;/script&gt;"));
        // keptStale, merges and slugChanges each have their table.
        assert!(html.contains("<td>people</td><td>5</td><td>p-5</td>"));
        assert!(html.contains("<td>tags</td><td>topic/transit</td><td>1</td><td>2, 3</td>"));
        assert!(html.contains("<td>people</td><td>6</td><td>mallory</td>"));
        // Warnings grouped by kind; reconcile's lists counted.
        assert!(
            html.contains(
                "<td>[people] legacyId=… fullName &quot;…&quot; truncated</td><td>1</td>"
            )
        );
        assert!(html.contains("<td>orphanPublic</td><td>1</td>"));
        assert!(html.contains(">2 / 3</text>"));
        // Media per sheet, the failure spelled out (its reason escaped like every text).
        assert!(html.contains("<td>people</td><td>1</td><td>2</td><td>0</td>"));
        assert!(html.contains("people: laddr ID 7 media 9: Mallory &lt;script&gt;"));
    }
}
