//! The t0-delta report as a page for the T-0 call (`report.html` in the work directory): the
//! verdict, the stages, what the import changed, the prune and reconcile, and the branch tips
//! before and after with the push command to run.

use super::Report;
use crate::pages;
use report_html::{Block, Cell, Page, Section};

/// The page for `r`.
pub fn page(r: &Report) -> Page {
    let import = r.import_report.as_ref();
    let (s, d) = (&r.stages, &r.durations_ms);
    let strip = pages::stages(&[
        ("import", s.import, d.import),
        ("merge", s.merge, d.merge),
        ("prune", s.prune, d.prune),
        ("reconcile", s.reconcile, d.reconcile),
    ]);
    let outcome = r.merge["outcome"].as_str().unwrap_or("").to_owned();
    Page {
        title: format!("t0-delta {}", r.source_host),
        passed: r.passed,
        facts: vec![
            ("runAt".into(), r.run_at.clone()),
            ("sourceHost".into(), r.source_host.clone()),
            ("dataRepo".into(), r.data_repo.clone()),
            ("workDir".into(), r.work_dir.clone()),
            ("merge".into(), outcome),
        ],
        sections: vec![
            Section::new("Stages", vec![strip]),
            Section::new(
                "Imported per sheet",
                vec![
                    Block::Note(
                        "t0-delta fetches no totals: laddr's totals against the imported \
                         counts are the dry-run's check (T-3, T-1)."
                            .into(),
                    ),
                    pages::import_counts(import),
                ],
            ),
        ]
        .into_iter()
        .chain(pages::import_sections(import))
        .chain([
            Section::new("Merge", merge(r)),
            pages::prune(r.prune_report.as_ref()),
            pages::reconcile(r.reconcile_report.as_ref()),
            Section::new(
                "Smoke probes",
                vec![Block::Note(
                    "t0-delta probes nothing: the smoke probes run against the rewrite after \
                     the push (runbook T-0)."
                        .into(),
                )],
            ),
            Section::new("Refs and the push", refs(r)),
            pages::notes(&r.notes),
        ])
        .collect(),
    }
}

fn merge(r: &Report) -> Vec<Block> {
    let outcome = r.merge["outcome"].as_str().unwrap_or("(none)");
    let mut blocks = vec![Block::Table {
        head: vec!["into".into(), "outcome".into()],
        rows: vec![vec![
            Cell::text(format!("{} → {}", r.import_branch, r.runtime_branch)),
            Cell::status(outcome, r.stages.merge),
        ]],
    }];
    let conflicts: Vec<String> = r.merge["paths"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|p| format!("conflict: {}", p.as_str().unwrap_or("")))
        .collect();
    if !conflicts.is_empty() {
        blocks.push(Block::Items(conflicts));
    }
    blocks
}

/// Each branch's tip before and after, this run's import commits, and the push command.
fn refs(r: &Report) -> Vec<Block> {
    let tip = |t: &Option<String>| Cell::text(t.as_deref().unwrap_or("(none)"));
    let f = &r.refs;
    let mut blocks = vec![Block::Table {
        head: ["branch", "before", "after"].map(String::from).to_vec(),
        rows: vec![
            vec![
                Cell::text(r.import_branch.clone()),
                tip(&f.import_before),
                tip(&f.import_after),
            ],
            vec![
                Cell::text(r.runtime_branch.clone()),
                tip(&f.runtime_before),
                tip(&f.runtime_after),
            ],
        ],
    }];
    if !f.import_commits.is_empty() {
        blocks.push(Block::Items(
            f.import_commits
                .iter()
                .map(|c| format!("import commit {c}"))
                .collect(),
        ));
    }
    blocks.push(match (&r.push_command, r.passed) {
        (Some(cmd), true) => Block::Code(cmd.clone()),
        (Some(cmd), false) => Block::Code(format!("# not passed: review first\n{cmd}")),
        (None, _) => Block::Note("Nothing to push.".into()),
    });
    blocks
}
