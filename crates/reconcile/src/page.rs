//! `reconcile --html=FILE`: the check as a page for the T-1 call: every category with its
//! count, the gating ones first, rendered from the [`CheckReport`].

use report_html::{Block, Cell, Page, Section};

use crate::check::CheckReport;

/// Findings listed per category on the page; the rest are counted (all are in `--json`).
const SHOWN: usize = 20;

/// The page for a check: the verdict is the exit code's (`unresolved` is zero).
pub fn check_page(r: &CheckReport) -> Page {
    let categories = r.categories();
    let counts = categories
        .iter()
        .map(|c| {
            let n = c.items.len().to_string();
            vec![
                Cell::text(c.name),
                Cell::text(if c.gating { "gate" } else { "review" }),
                // A gating category is green only when empty; the others carry no verdict.
                if c.gating {
                    Cell::status(n, c.items.is_empty())
                } else {
                    Cell::text(n)
                },
            ]
        })
        .collect();
    let mut sections = vec![
        Section::new(
            "Categories",
            vec![Block::Table {
                head: ["category", "kind", "count"].map(String::from).to_vec(),
                rows: counts,
            }],
        ),
        Section::new("Fixes applied", vec![fixes(r)]),
    ];
    for c in categories.into_iter().filter(|c| !c.items.is_empty()) {
        let more = c.items.len().saturating_sub(SHOWN);
        let mut blocks = vec![Block::Items(c.items.into_iter().take(SHOWN).collect())];
        if more > 0 {
            blocks.push(Block::Note(format!("…and {more} more (all in --json).")));
        }
        sections.push(Section::new(c.name, blocks));
    }
    Page {
        title: "reconcile".into(),
        passed: r.unresolved == 0,
        facts: vec![
            ("runAt".into(), r.run_at.clone()),
            (
                "public people (live)".into(),
                r.public_people_count.to_string(),
            ),
            (
                "private profiles".into(),
                r.private_profile_count.to_string(),
            ),
            (
                "legacy passwords".into(),
                r.legacy_password_count.to_string(),
            ),
            ("unresolved".into(), r.unresolved.to_string()),
        ],
        sections,
    }
}

fn fixes(r: &CheckReport) -> Block {
    let f = &r.fixes_applied;
    Block::Table {
        head: ["fix", "count"].map(String::from).to_vec(),
        rows: [
            ("newsletterTokens", f.newsletter_tokens),
            ("legacyPasswordsDeleted", f.legacy_passwords_deleted),
        ]
        .into_iter()
        .map(|(k, v)| vec![Cell::text(k), Cell::text(v.to_string())])
        .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Fixes, PersonRef};

    fn report(slug: &str) -> CheckReport {
        let orphan = PersonRef {
            person_id: "p-1".into(),
            slug: Some(slug.into()),
        };
        CheckReport {
            run_at: "2026-08-15T12:00:00.000Z".into(),
            public_people_count: 3,
            private_profile_count: 2,
            legacy_password_count: 1,
            orphan_public: vec![orphan.clone()],
            orphan_private: vec![],
            inconsistent_newsletter: vec![],
            drained_legacy_passwords: vec![],
            fixes_applied: Fixes::default(),
            profiles_of_deleted_persons: vec![],
            credentials_without_person: vec![orphan; 25],
            credentials_of_deleted_persons: vec![],
            credentials_without_profile: vec![],
            duplicate_emails: vec![],
            unrecognised_password_hashes: vec![],
            dangling_references: vec![],
            unresolved: 1,
        }
    }

    #[test]
    fn gating_first_counts_and_names_as_text_same_bytes() {
        let evil = "<script>alert(1)</script>";
        let html = check_page(&report(evil)).render();
        assert_eq!(html, check_page(&report(evil)).render());
        assert!(!html.contains(evil));
        assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; (p-1)"));
        assert!(html.contains(
            "<td>orphanPublic</td><td>gate</td><td class=\"failed\" data-status=\"failed\">1</td>"
        ));
        assert!(html.contains("<td>credentialsWithoutPerson</td><td>review</td><td>25</td>"));
        assert!(html.contains("…and 5 more"));
        // Gating categories come before the review ones.
        let gate = html.find("<td>inconsistentNewsletter</td>").unwrap();
        let review = html.find("<td>drainedLegacyPasswords</td>").unwrap();
        assert!(gate < review);
        assert!(html.contains("data-status=\"failed\">FAILED<"));
    }
}
