//! Slug planning (paths read forward): the slug of every row of a slugged sheet (people,
//! projects, project-buzz, blog-posts) is decided before any row is translated, so no slug
//! depends on the order or the fate of other rows.
//!
//! The rule, per scope:
//! 1. Every slug the parent tree holds in the scope is reserved: no other record is deduped
//!    into a slug an existing record has, or has just freed, in this run.
//! 2. A row whose record exists keeps its slug when its own source (username, handle,
//!    headline, title) still produces it: the slug is that source's normalised form or one of
//!    its de-dup forms (`-2`, `-3`, …), or the row cannot be read at all (it keeps its record).
//! 3. The other rows (new records, and records whose source changed) get `safeSlug` with
//!    de-dup, in this order: rows whose source already is exactly a valid slug first (so a
//!    laddr username or buzz handle that is a legacy URL keeps it), then the rest, each group
//!    in laddr order.

use foldhash::{HashMap, HashMapExt};

use crate::slug::{self, SlugRegistry, SlugRules};

/// One row asking for a slug.
#[derive(Debug, Clone)]
pub(crate) struct Claim {
    pub id: i64,
    /// `people`, `projects`, `project-buzz:<projectSlug>`, `blog-posts`.
    pub scope: String,
    /// The source text; `None` when the row's source field cannot be read (the row fails).
    pub raw: Option<String>,
    /// Used when the source gives no valid slug (`legacy-<ID>`, `buzz-<ID>`).
    pub fallback: String,
    /// The record's slug in the parent tree.
    pub old: Option<String>,
}

/// The planned slug per laddr ID; an error is the row's translator failure.
pub(crate) type Plan = HashMap<i64, Result<String, String>>;

/// Assign slugs to `claims` (see the module rule). `reserved` holds (scope, slug) of every
/// record of the sheet in the parent tree.
pub(crate) fn assign(
    claims: Vec<Claim>,
    rules: SlugRules,
    reserved: impl IntoIterator<Item = (String, String)>,
    reg: &mut SlugRegistry,
    warnings: &mut Vec<String>,
) -> Plan {
    for (scope, slug) in reserved {
        reg.reserve(&scope, &slug);
    }
    let order: Vec<i64> = claims.iter().map(|c| c.id).collect();
    // Warnings per row, emitted in laddr order at the end: the same on every run, whether a
    // row's slug was kept or assigned.
    let mut said: HashMap<i64, Vec<String>> = HashMap::new();
    let mut plan = Plan::new();
    let mut fresh = Vec::new();
    for claim in claims {
        match (&claim.old, &claim.raw) {
            (Some(old), None) => {
                plan.insert(claim.id, Ok(old.clone()));
            }
            (Some(old), Some(raw)) if still_produces(old, raw, &claim, rules) => {
                let w = said.entry(claim.id).or_default();
                kept_warnings(old, raw, &claim, rules, w);
                plan.insert(claim.id, Ok(old.clone()));
            }
            _ => fresh.push(claim),
        }
    }
    // A stable sort: exact slugs first, laddr order within each group.
    fresh.sort_by_key(|c| !c.raw.as_deref().is_some_and(|r| exact(r, rules)));
    for claim in fresh {
        let raw = claim.raw.clone().unwrap_or_else(|| claim.fallback.clone());
        let w = said.entry(claim.id).or_default();
        let slug = slug_or_fallback(reg, &raw, &claim, rules, w);
        plan.insert(claim.id, slug);
    }
    for id in order {
        warnings.extend(said.remove(&id).unwrap_or_default());
    }
    plan
}

/// The warnings `safeSlug` gave when a kept slug was first assigned, so a re-run says the same.
fn kept_warnings(old: &str, raw: &str, claim: &Claim, rules: SlugRules, w: &mut Vec<String>) {
    let (id, scope) = (claim.id, &claim.scope);
    let candidate = candidate(raw, id, rules);
    if candidate != raw {
        w.push(format!(
            "[{scope}] legacyId={id} slug \"{raw}\" normalized to \"{candidate}\""
        ));
    }
    let from_source =
        slug::slug_pattern_ok(&candidate, rules) && slug::is_variant(old, &candidate, rules);
    if from_source && old != candidate {
        w.push(format!(
            "[{scope}] legacyId={id} slug \"{candidate}\" deduped to \"{old}\""
        ));
    } else if !from_source {
        w.push(format!(
            "[{scope}] legacyId={id} slug \"{raw}\" is not a valid slug (got \"{candidate}\"); kept as \"{old}\""
        ));
    }
}

/// The source is already a valid slug, as is.
pub(crate) fn exact(raw: &str, rules: SlugRules) -> bool {
    slug::normalize(raw, rules).as_deref() == Some(raw) && slug::slug_pattern_ok(raw, rules)
}

/// `safeSlug`'s candidate before de-dup (its own `legacy-<ID>` when nothing is left).
fn candidate(raw: &str, id: i64, rules: SlugRules) -> String {
    slug::normalize(raw, rules).unwrap_or_else(|| format!("legacy-{id}"))
}

/// Whether `old` is what the source gives: its candidate, the fallback, or a de-dup form.
fn still_produces(old: &str, raw: &str, claim: &Claim, rules: SlugRules) -> bool {
    let from_source = candidate(raw, claim.id, rules);
    if slug::slug_pattern_ok(&from_source, rules) {
        slug::is_variant(old, &from_source, rules)
    } else {
        slug::is_variant(old, &claim.fallback, rules)
    }
}

/// `safeSlug`, but a record is not dropped for its slug: where the reference throws (a
/// one-character username, handle or headline such as `x`), fall back to `claim.fallback`
/// in the same scope, and say so. The rejected slug stays reserved, as in the reference.
fn slug_or_fallback(
    reg: &mut SlugRegistry,
    raw: &str,
    claim: &Claim,
    rules: SlugRules,
    warnings: &mut Vec<String>,
) -> Result<String, String> {
    let (id, scope) = (claim.id, claim.scope.as_str());
    let legacy_id = id.to_string();
    match reg.safe_slug(raw, scope, rules, &legacy_id, warnings) {
        Ok(slug) => Ok(slug),
        Err(e) => {
            let kept = reg
                .safe_slug(&claim.fallback, scope, rules, &legacy_id, warnings)
                .map_err(|e| e.to_string())?;
            warnings.push(format!(
                "[{scope}] legacyId={id} slug \"{}\" is not a valid slug (got \"{}\"); kept as \"{kept}\"",
                e.raw, e.got
            ));
            Ok(kept)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::slug::{BUZZ, PEOPLE};

    fn claim(id: i64, raw: &str, old: Option<&str>) -> Claim {
        Claim {
            id,
            scope: "people".into(),
            raw: Some(raw.into()),
            fallback: format!("legacy-{id}"),
            old: old.map(str::to_owned),
        }
    }

    fn run(claims: Vec<Claim>, reserved: &[&str]) -> Plan {
        let reserved = reserved
            .iter()
            .map(|s| ("people".to_owned(), s.to_string()));
        let mut w = Vec::new();
        assign(
            claims,
            PEOPLE,
            reserved,
            &mut SlugRegistry::default(),
            &mut w,
        )
    }

    fn slug(plan: &Plan, id: i64) -> &str {
        plan[&id].as_deref().unwrap_or("(error)")
    }

    #[test]
    fn an_exact_username_wins_over_one_that_only_normalises_to_it() {
        let plan = run(
            vec![claim(10, "Alice", None), claim(20, "alice", None)],
            &[],
        );
        assert_eq!((slug(&plan, 10), slug(&plan, 20)), ("alice-2", "alice"));
    }

    #[test]
    fn existing_records_keep_their_slug_and_freed_slugs_are_not_reused() {
        // 30 had `featured`, 31 had `featured-2`; 30 is gone upstream, 32 is new.
        let claims = vec![
            claim(31, "Featured", Some("featured-2")),
            claim(32, "featured", None),
        ];
        let plan = run(claims, &["featured", "featured-2"]);
        assert_eq!(slug(&plan, 31), "featured-2");
        assert_eq!(slug(&plan, 32), "featured-3");
    }

    #[test]
    fn a_changed_source_moves_the_record_and_an_unreadable_one_keeps_it() {
        let mut unreadable = claim(41, "", Some("bob"));
        unreadable.raw = None;
        let claims = vec![claim(40, "Carol", Some("alice")), unreadable];
        let plan = run(claims, &["alice", "bob"]);
        assert_eq!((slug(&plan, 40), slug(&plan, 41)), ("carol", "bob"));
    }

    #[test]
    fn a_usable_source_replaces_a_fallback_slug() {
        let plan = run(vec![claim(24, "carol", Some("legacy-24"))], &["legacy-24"]);
        assert_eq!(slug(&plan, 24), "carol");
    }

    #[test]
    fn a_fallback_slug_is_still_produced_by_its_source() {
        let mut c = claim(7, "x", Some("buzz-7"));
        c.fallback = "buzz-7".into();
        c.scope = "project-buzz:p".into();
        let mut w = Vec::new();
        let plan = assign(vec![c], BUZZ, [], &mut SlugRegistry::default(), &mut w);
        assert_eq!(slug(&plan, 7), "buzz-7");
    }
}
