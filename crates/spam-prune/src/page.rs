//! `--html=FILE`: the run as a page people read before dropping `--dry-run` (people before and
//! after, why each person was kept or pruned, the at-risk flags, the cascade), rendered from
//! the [`Report`] and the pruned people themselves.

use report_html::{Bar, Block, Cell, Page, Section};

use crate::{Class, PrunedPerson, Report};

/// The page for a run: the verdict is the exit code's (no unreadable records).
pub fn page(r: &Report, pruned: &[PrunedPerson]) -> Page {
    let mut facts = vec![
        ("runAt".to_string(), r.run_at.clone()),
        ("result".into(), r.result.to_string()),
        ("dataRepo".into(), r.data_repo.clone()),
        (
            "branch".into(),
            format!("{} at {}", r.branch, r.base_commit),
        ),
        (
            "evaluationsRef".into(),
            format!("{} at {}", r.evaluations_ref, r.evaluations_commit),
        ),
        ("threshold".into(), r.threshold.to_string()),
    ];
    if !r.protect.is_empty() {
        let names: Vec<&str> = r.protect.iter().map(|c| c.as_str()).collect();
        facts.push(("protect".into(), names.join(", ")));
    }
    if let Some(c) = &r.commit {
        facts.push(("commit".into(), c.clone()));
    }
    Page {
        title: format!("spam-prune {}", r.branch),
        passed: !r.has_problems(),
        facts,
        sections: vec![
            Section::new("People", people(r)),
            Section::new("Kept or pruned, by reason", vec![reasons(r)]),
            Section::new("At risk", at_risk(r, pruned)),
            Section::new("Cascade", cascade(r)),
            Section::new("Evaluations", vec![evaluations(r)]),
            Section::new("Unreadable records", vec![unreadable(r)]),
        ],
    }
}

fn count_table(head: [&str; 2], rows: Vec<(String, Cell)>) -> Block {
    Block::Table {
        head: head.map(String::from).to_vec(),
        rows: rows
            .into_iter()
            .map(|(label, n)| vec![Cell::text(label), n])
            .collect(),
    }
}

fn n(v: usize) -> Cell {
    Cell::text(v.to_string())
}

/// Before and after as a bar with the mark at "before"; the gap is the pruned.
fn people(r: &Report) -> Vec<Block> {
    vec![
        Block::Bars(vec![Bar {
            label: "people after / before".into(),
            reference: Some(r.people_before as u64),
            value: r.people_after as u64,
            ok: true,
        }]),
        count_table(
            ["", "people"],
            vec![
                ("before".into(), n(r.people_before)),
                ("pruned".into(), n(r.pruned_people)),
                ("after".into(), n(r.people_after)),
            ],
        ),
    ]
}

fn reasons(r: &Report) -> Block {
    let x = &r.reasons;
    let rows = [
        ("pruned", x.pruned),
        ("noEvaluation", x.no_evaluation),
        ("notConfidentSpam", x.not_confident_spam),
        ("protectedByLegit", x.protected_by_legit),
        ("protectedByMembership", x.protected_by_membership),
        ("protectedByClass", x.protected_by_class),
        ("heldByReference", x.held_by_reference),
        (
            "heldByUnreadableEvaluation",
            x.held_by_unreadable_evaluation,
        ),
    ];
    count_table(
        ["reason", "people"],
        rows.into_iter().map(|(k, v)| (k.into(), n(v))).collect(),
    )
}

/// Pruned people per class (red when any), then each at-risk person with their classes.
fn at_risk(r: &Report, pruned: &[PrunedPerson]) -> Vec<Block> {
    let per_class = Class::ALL
        .iter()
        .map(|c| {
            let pruned_in = r.at_risk.get(c).copied().unwrap_or(0);
            let kept = r.protected_by_class.get(c).copied().unwrap_or(0);
            vec![
                Cell::text(c.as_str()),
                Cell::status(pruned_in.to_string(), pruned_in == 0),
                Cell::text(kept.to_string()),
            ]
        })
        .collect();
    let people: Vec<Vec<Cell>> = pruned
        .iter()
        .filter(|p| !p.at_risk.is_empty())
        .map(|p| {
            vec![
                Cell::text(p.slug.clone()),
                Cell::status(p.at_risk.join(", "), false),
                Cell::text(p.path.clone()),
            ]
        })
        .collect();
    let mut blocks = vec![Block::Table {
        head: ["class", "pruned", "kept by --protect"]
            .map(String::from)
            .to_vec(),
        rows: per_class,
    }];
    blocks.push(if people.is_empty() {
        Block::Note("No pruned person is in an at-risk class.".into())
    } else {
        Block::Table {
            head: ["person", "at risk", "record"].map(String::from).to_vec(),
            rows: people,
        }
    });
    blocks
}

fn cascade(r: &Report) -> Vec<Block> {
    let removed = count_table(
        ["removed or changed with the pruned", "records"],
        vec![
            ("memberships deleted".into(), n(r.memberships_deleted)),
            (
                "help-wanted interest deleted".into(),
                n(r.help_wanted_interest_deleted),
            ),
            (
                "person tag assignments deleted".into(),
                n(r.person_tag_assignments_deleted),
            ),
            (
                "project updates' author nulled".into(),
                n(r.project_updates_author_nulled),
            ),
            ("attachments deleted".into(), n(r.attachments_deleted)),
        ],
    );
    if r.dangling_references.is_empty() {
        let none = "No reference to a pruned person is left in place.";
        return vec![removed, Block::Note(none.into())];
    }
    let dangling = count_table(
        ["references left in place", "count"],
        r.dangling_references
            .iter()
            .map(|(k, v)| (k.to_string(), Cell::status(v.to_string(), *v == 0)))
            .collect(),
    );
    vec![removed, dangling]
}

fn evaluations(r: &Report) -> Block {
    let e = &r.evaluations;
    count_table(
        ["evaluation records", "count"],
        [
            ("records", e.records),
            ("slugs", e.slugs),
            ("flaggedSlugs", e.flagged_slugs),
            ("flaggedSlugsAbsent", e.flagged_slugs_absent),
            ("unmatched", e.unmatched),
            ("unmatchedSlugs", e.unmatched_slugs),
            ("unknownVerdicts", e.unknown_verdicts),
            ("ignoredFiles", e.ignored_files),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), n(v)))
        .chain([(
            "unparseable".to_string(),
            Cell::status(e.unparseable.to_string(), e.unparseable == 0),
        )])
        .collect(),
    )
}

fn unreadable(r: &Report) -> Block {
    let all: Vec<String> = r
        .unparseable_records
        .iter()
        .chain(&r.unreadable_branch_records)
        .map(|u| format!("{}: {}", u.path, u.error))
        .collect();
    if all.is_empty() {
        Block::Note("None: every record was read.".into())
    } else {
        Block::Items(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::PersonCascade;

    fn person(slug: &str, at_risk: Vec<String>) -> PrunedPerson {
        PrunedPerson {
            v: 1,
            slug: slug.into(),
            id: None,
            legacy_id: serde_json::Value::Null,
            path: format!("people/{slug}.toml"),
            verdicts: vec![],
            at_risk,
            cascade: PersonCascade::default(),
            dangling: Default::default(),
            dry_run: true,
        }
    }

    #[test]
    fn same_report_same_bytes_and_names_arrive_as_text() {
        let mut r = Report {
            people_before: 10,
            pruned_people: 2,
            people_after: 8,
            result: "dry-run",
            ..Report::default()
        };
        r.at_risk.insert(Class::Github, 1);
        let evil = "<script>alert(1)</script>";
        let pruned = [person(evil, vec!["github".into()]), person("bob", vec![])];
        let html = page(&r, &pruned).render();
        assert_eq!(html, page(&r, &pruned).render());
        assert!(!html.contains(evil));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        // The at-risk class is flagged; bob, not at risk, is not listed.
        assert!(html.contains("<td>github</td><td class=\"failed\" data-status=\"failed\">1</td>"));
        assert!(!html.contains("people/bob.toml"));
        assert!(html.contains(">8 / 10</text>"));
    }
}
