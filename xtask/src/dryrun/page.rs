//! The dry-run report as a page people read on the T-3 call (`report.html`).

use super::Report;
use report_html::{Bar, Block, Cell, Page, Section, Stage};
use serde_json::Value;
use std::collections::BTreeMap;

/// The page for `r`: banner, stage strip, counts, files, warnings, prune, reconcile, smoke, notes.
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
    let section = |heading: &str, blocks| Section {
        heading: heading.into(),
        blocks,
    };
    Page {
        title: format!("dry-run {}", r.source_host),
        passed: r.passed,
        facts,
        sections: vec![
            section("Stages", vec![Block::Stages(stages(r))]),
            section("Imported vs laddr's totals", vec![counts(r)]),
            section("Files", vec![files(r.import_report.as_ref())]),
            section(
                "Media",
                vec![Block::Note(
                    "Media written/kept/failed: not in the report yet.".into(),
                )],
            ),
            section("Warnings", warnings(r.import_report.as_ref())),
            section("Prune", vec![prune(r.prune_report.as_ref())]),
            section("Reconcile", vec![reconcile(r.reconcile_report.as_ref())]),
            section("Smoke probes", smoke(&r.smoke_checks)),
            section("Notes", vec![Block::Items(r.notes.clone())]),
        ],
    }
}

fn stages(r: &Report) -> Vec<Stage> {
    let (s, d) = (&r.stages, &r.durations_ms);
    [
        ("import", s.import, d.import),
        ("countDiff", s.count_diff, d.count_diff),
        ("merge", s.merge, d.merge),
        ("prune", s.prune, d.prune),
        ("reconcile", s.reconcile, d.reconcile),
        ("smoke", s.smoke, d.smoke),
    ]
    .into_iter()
    .map(|(name, ok, duration_ms)| Stage {
        name: name.into(),
        ok,
        duration_ms,
    })
    .collect()
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

fn number(v: &Value) -> String {
    v.as_u64().map_or("–".into(), |n| n.to_string())
}

fn files(import: Option<&Value>) -> Block {
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
    Block::Table {
        head: ["sheet", "added", "modified", "deleted"]
            .map(String::from)
            .to_vec(),
        rows,
    }
}

/// Warnings grouped by their sheet, with counts and the first three examples.
fn warnings(import: Option<&Value>) -> Vec<Block> {
    let list = import
        .and_then(|i| i["warnings"].as_array())
        .cloned()
        .unwrap_or_default();
    let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for w in &list {
        // Sheet-write's warnings are strings led by their sheet: "[tags] …".
        let prefix = w
            .as_str()
            .and_then(|t| t.strip_prefix('[')?.split_once(']'));
        let kind = prefix.map_or("other", |(sheet, _)| sheet);
        let text = w.as_str().map_or_else(|| w.to_string(), String::from);
        groups.entry(kind.into()).or_default().push(text);
    }
    let rows = groups
        .into_iter()
        .map(|(kind, all)| {
            let first = all.iter().take(3).cloned().collect::<Vec<_>>().join(" · ");
            vec![
                Cell::text(kind),
                Cell::text(all.len().to_string()),
                Cell::text(first),
            ]
        })
        .collect();
    vec![Block::Table {
        head: ["sheet", "count", "first examples"]
            .map(String::from)
            .to_vec(),
        rows,
    }]
}

fn prune(p: Option<&Value>) -> Block {
    let Some(p) = p else {
        return Block::Note("spam-prune wrote no report.".into());
    };
    let mut rows = vec![
        vec![
            Cell::text("people before"),
            Cell::text(number(&p["peopleBefore"])),
        ],
        vec![
            Cell::text("people after"),
            Cell::text(number(&p["peopleAfter"])),
        ],
        vec![Cell::text("pruned"), Cell::text(number(&p["prunedPeople"]))],
    ];
    if let Some(cascade) = p["cascade"].as_object() {
        for (k, v) in cascade {
            rows.push(vec![
                Cell::text(format!("cascade: {k}")),
                Cell::text(number(v)),
            ]);
        }
    }
    Block::Table {
        head: vec!["".into(), "count".into()],
        rows,
    }
}

/// Every numeric category of reconcile's report, non-zero ones first (the counts are facts, not
/// verdicts: the tool's exit code, in the stage strip, is the verdict).
fn reconcile(r: Option<&Value>) -> Block {
    let Some(obj) = r.and_then(Value::as_object) else {
        return Block::Note("reconcile wrote no report.".into());
    };
    let mut rows: Vec<(u64, &String)> = obj
        .iter()
        .filter_map(|(k, v)| v.as_u64().map(|n| (n, k)))
        .collect();
    rows.sort_by_key(|&(n, _)| n == 0);
    Block::Table {
        head: vec!["category".into(), "count".into()],
        rows: rows
            .into_iter()
            .map(|(n, k)| vec![Cell::text(k.clone()), Cell::text(n.to_string())])
            .collect(),
    }
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
    vec![
        Block::Table {
            head: ["route family", "passed", "failed"]
                .map(String::from)
                .to_vec(),
            rows,
        },
        Block::Items(failures),
    ]
}
