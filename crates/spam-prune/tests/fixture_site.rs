//! The whole path on a fixture site: translated people on `published`, the generated
//! `spam-detection` evaluations (three TOML spellings, non-ASCII, overrides), and the prune's
//! decisions checked against the rule applied to the generator's own verdicts.

mod common;

use std::collections::{BTreeSet, HashMap};

use fixtures::evaluations::{Verdict, person_slugs};
use fixtures::laddr::{Scale, generate};

#[test]
fn small_site_prunes_exactly_the_rule() {
    let site = generate(1, Scale::Small);
    let (repo, evals) = common::import_site(&site);
    repo.fsck();

    // The rule on the generator's verdicts, with members from the branch.
    let members: BTreeSet<String> = repo
        .files("published")
        .iter()
        .filter_map(|p| p.strip_prefix("project-memberships/"))
        .filter_map(|p| {
            p.split('/')
                .nth(1)?
                .strip_suffix(".toml")
                .map(str::to_owned)
        })
        .collect();
    let on_branch: BTreeSet<String> = person_slugs(&site).into_iter().map(|p| p.slug).collect();
    let mut by_slug: HashMap<&str, Vec<(Verdict, f64)>> = HashMap::new();
    for e in &evals {
        by_slug
            .entry(&e.person_slug)
            .or_default()
            .push((e.verdict, e.confidence));
    }
    let expected: Vec<String> = on_branch
        .iter()
        .filter(|s| {
            let v = by_slug.get(s.as_str()).cloned().unwrap_or_default();
            v.iter().any(|(k, c)| *k == Verdict::Spam && *c >= 0.8)
                && !v.iter().any(|(k, _)| *k == Verdict::Legit)
                && !members.contains(*s)
        })
        .cloned()
        .collect();
    assert!(!expected.is_empty());
    assert!(!expected.contains(&"alice".to_owned()));

    let (run, report) = repo.run_json(&[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.slugs(), expected);
    assert_eq!(report["evaluations"]["records"], evals.len());
    assert_eq!(report["evaluations"]["unparseable"], 0);
    assert!(report["evaluations"]["unmatched"].as_u64().unwrap() >= 2);
    assert_eq!(report["peopleBefore"], on_branch.len());
    let files = repo.files("published");
    assert!(files.contains(&"people/alice.toml".to_owned()));
    for slug in &expected {
        assert!(!files.contains(&format!("people/{slug}.toml")), "{slug}");
    }
    repo.fsck();
    assert_eq!(repo.run(&[]).stdout, "", "second run prunes nothing");
}
