//! `safeSlug` (B §2.0) and the people slug normalisation shared with the credentials importer.

use foldhash::{HashMap, HashSet};

use crate::js;

/// Parameters of one `safeSlug` scope (B §2.0 table).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SlugRules {
    /// Maximum length (the input is ASCII by then, so bytes = UTF-16 units).
    pub max_len: usize,
    /// Whether `_` is kept (projects) or replaced (everything else).
    pub underscores: bool,
}

/// `people`: 50, no underscores.
pub const PEOPLE: SlugRules = SlugRules {
    max_len: 50,
    underscores: false,
};
/// `projects`: 80, underscores kept.
pub const PROJECTS: SlugRules = SlugRules {
    max_len: 80,
    underscores: true,
};
/// `project-buzz:<projectSlug>`: 50, no underscores.
pub const BUZZ: SlugRules = SlugRules {
    max_len: 50,
    underscores: false,
};
/// `blog-posts`: 100, no underscores.
pub const BLOG_POSTS: SlugRules = SlugRules {
    max_len: 100,
    underscores: false,
};

fn allowed(c: char, rules: SlugRules) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || (rules.underscores && c == '_')
}

/// Steps 1–3 of `safeSlug`: lowercase (JS `toLowerCase`), replace each run of characters
/// outside the allowed set with one `-`, strip leading and trailing `-`/`_`, cut to
/// `max_len` (no re-trim, so a trailing `-` can remain). Returns `None` when nothing is
/// left (the caller then uses `legacy-<id>`).
pub fn normalize(raw: &str, rules: SlugRules) -> Option<String> {
    let lower = js::to_lower(raw);
    let mut out = String::with_capacity(lower.len());
    let mut in_run = false;
    for c in lower.chars() {
        if allowed(c, rules) {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let trimmed = out.trim_matches(['-', '_']);
    if trimmed.is_empty() {
        return None;
    }
    // ASCII only from here on, so a byte cut is a UTF-16 cut.
    Some(trimmed[..trimmed.len().min(rules.max_len)].to_owned())
}

/// The people slug base for a laddr `Username` (steps 1–3 of `safeSlug` with the `people`
/// scope: lowercase, runs of `[^a-z0-9-]` → `-`, strip `-`/`_` at both ends, cut to 50).
/// Returns an empty string when nothing usable is left; see [`normalize_person_slug_for`]
/// for the importer's `legacy-<ID>` fallback.
///
/// This is the *base* only: `sheet-write` de-duplicates within the run (`-2`, `-3`, … in
/// laddr ID order), so a join on it can miss a suffixed slug. Join on `ID`/`legacyId`
/// whenever the source has it, and use this only as the fallback.
pub fn normalize_person_slug(raw: &str) -> String {
    normalize(raw, PEOPLE).unwrap_or_default()
}

/// [`normalize_person_slug`] with the importer's fallback: an empty (after JS trim) or
/// unusable `Username` becomes `legacy-<legacy_id>`.
pub fn normalize_person_slug_for(raw: &str, legacy_id: i64) -> String {
    normalize(js::trim(raw), PEOPLE).unwrap_or_else(|| format!("legacy-{legacy_id}"))
}

/// Slugs reserved so far, per scope (`people`, `projects`, `project-buzz:<p>`, `blog-posts`).
#[derive(Debug, Default)]
pub struct SlugRegistry {
    used: HashMap<String, HashSet<String>>,
}

/// The slug could not be made valid (B §2.0 step 6); the message is the reference's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("[{scope}] could not produce a valid slug from \"{raw}\" (got \"{got}\")")]
pub struct SlugError {
    /// The scope the slug must be unique in, as the warnings name it.
    pub scope: String,
    /// The text it was made from.
    pub raw: String,
    /// What slugifying produced.
    pub got: String,
}

impl SlugRegistry {
    /// Take `slug` in `scope` without a check: an existing record's slug, which no other
    /// record may be deduped into in this run.
    pub fn reserve(&mut self, scope: &str, slug: &str) {
        self.used
            .entry(scope.to_owned())
            .or_default()
            .insert(slug.to_owned());
    }

    /// `safeSlug(raw, scope, maxLen, underscore)`: normalise, warn, de-dup with `-N`,
    /// reserve, then check the pattern (a rejected slug stays reserved, as in the reference).
    pub fn safe_slug(
        &mut self,
        raw: &str,
        scope: &str,
        rules: SlugRules,
        legacy_id: &str,
        warnings: &mut Vec<String>,
    ) -> Result<String, SlugError> {
        let candidate = normalize(raw, rules).unwrap_or_else(|| format!("legacy-{legacy_id}"));
        if candidate != raw {
            warnings.push(format!(
                "[{scope}] legacyId={legacy_id} slug \"{raw}\" normalized to \"{candidate}\""
            ));
        }
        let used = self.used.entry(scope.to_owned()).or_default();
        let mut final_slug = candidate.clone();
        let mut n = 2u64;
        while used.contains(&final_slug) {
            let tail = format!("-{n}");
            let keep = rules.max_len.saturating_sub(tail.len()).max(1);
            final_slug = format!("{}{tail}", prefix_chars(&candidate, keep));
            n += 1;
        }
        if final_slug != candidate {
            warnings.push(format!(
                "[{scope}] legacyId={legacy_id} slug \"{candidate}\" deduped to \"{final_slug}\""
            ));
        }
        used.insert(final_slug.clone());
        if !slug_pattern_ok(&final_slug, rules) {
            return Err(SlugError {
                scope: scope.to_owned(),
                raw: raw.to_owned(),
                got: final_slug,
            });
        }
        Ok(final_slug)
    }
}

/// Whether `slug` is `candidate` or one of its de-dup forms (`cand[..keep]-N`, N ≥ 2), i.e.
/// whether `safeSlug` could have produced it from a source that normalises to `candidate`.
pub fn is_variant(slug: &str, candidate: &str, rules: SlugRules) -> bool {
    if slug == candidate {
        return true;
    }
    let Some((head, n)) = slug.rsplit_once('-') else {
        return false;
    };
    let numbered = n.parse::<u64>().is_ok_and(|n| n >= 2) && !n.starts_with('0');
    let keep = rules.max_len.saturating_sub(n.len() + 1).max(1);
    numbered && head == prefix_chars(candidate, keep)
}

/// `candidate.slice(0, n)`; the candidate can be `legacy-<id>` with a non-ASCII id only in
/// theory, so cut on char boundaries in UTF-16 units.
fn prefix_chars(s: &str, n: usize) -> &str {
    js::utf16_prefix(s, n)
}

/// `^[a-z0-9][allowed]{1,maxLen-1}$`.
pub fn slug_pattern_ok(s: &str, rules: SlugRules) -> bool {
    let mut chars = s.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return false;
    }
    let rest = s.len() - first.len_utf8();
    (1..rules.max_len).contains(&rest) && chars.all(|c| allowed(c, rules))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn slug(
        reg: &mut SlugRegistry,
        raw: &str,
        scope: &str,
        rules: SlugRules,
        w: &mut Vec<String>,
    ) -> Result<String, SlugError> {
        reg.safe_slug(raw, scope, rules, "7", w)
    }

    #[test]
    fn normalises_and_warns() {
        let mut reg = SlugRegistry::default();
        let mut w = Vec::new();
        assert_eq!(
            slug(&mut reg, "BobSmith", "people", PEOPLE, &mut w).unwrap(),
            "bobsmith"
        );
        assert_eq!(
            w,
            ["[people] legacyId=7 slug \"BobSmith\" normalized to \"bobsmith\""]
        );
        w.clear();
        assert_eq!(
            slug(&mut reg, "alice", "people", PEOPLE, &mut w).unwrap(),
            "alice"
        );
        assert!(w.is_empty());
    }

    #[test]
    fn dedupes_with_suffix_and_cuts() {
        let mut reg = SlugRegistry::default();
        let mut w = Vec::new();
        let long = "a".repeat(60);
        assert_eq!(
            slug(&mut reg, &long, "people", PEOPLE, &mut w).unwrap(),
            "a".repeat(50)
        );
        let second = slug(&mut reg, &long, "people", PEOPLE, &mut w).unwrap();
        assert_eq!(second, format!("{}-2", "a".repeat(48)));
        assert!(
            w.last()
                .unwrap()
                .ends_with(&format!("deduped to \"{second}\""))
        );
    }

    #[test]
    fn rejected_slug_stays_reserved() {
        let mut reg = SlugRegistry::default();
        let mut w = Vec::new();
        let err = slug(&mut reg, "x", "people", PEOPLE, &mut w).unwrap_err();
        assert_eq!(
            err.to_string(),
            "[people] could not produce a valid slug from \"x\" (got \"x\")"
        );
        assert_eq!(
            slug(&mut reg, "x", "people", PEOPLE, &mut w).unwrap(),
            "x-2"
        );
    }

    #[test]
    fn underscores_per_scope() {
        let mut reg = SlugRegistry::default();
        let mut w = Vec::new();
        assert_eq!(
            slug(&mut reg, "Philly_Bike_Action", "projects", PROJECTS, &mut w).unwrap(),
            "philly_bike_action"
        );
        assert_eq!(
            slug(&mut reg, "_a_b_", "people", PEOPLE, &mut w).unwrap(),
            "a-b"
        );
        assert_eq!(
            slug(&mut reg, "__ab__", "projects", PROJECTS, &mut w).unwrap(),
            "ab"
        );
        // Scopes are independent.
        assert_eq!(
            slug(&mut reg, "ab", "project-buzz:p", BUZZ, &mut w).unwrap(),
            "ab"
        );
    }

    #[test]
    fn trailing_dash_after_cut_is_kept() {
        let raw = format!("{}-b", "a".repeat(49));
        assert_eq!(
            normalize(&raw, PEOPLE).unwrap(),
            format!("{}-", "a".repeat(49))
        );
    }

    #[test]
    fn variants_are_the_dedupe_forms() {
        assert!(is_variant("alice", "alice", PEOPLE));
        assert!(is_variant("alice-2", "alice", PEOPLE));
        assert!(is_variant("alice-13", "alice", PEOPLE));
        assert!(!is_variant("alice-1", "alice", PEOPLE));
        assert!(!is_variant("alice-02", "alice", PEOPLE));
        assert!(!is_variant("alicia", "alice", PEOPLE));
        assert!(!is_variant("bob-2", "alice", PEOPLE));
        let long = "a".repeat(50);
        assert!(is_variant(&format!("{}-2", "a".repeat(48)), &long, PEOPLE));
    }

    #[test]
    fn person_slug_export() {
        assert_eq!(normalize_person_slug("AaronM"), "aaronm");
        assert_eq!(
            normalize_person_slug("Jane.Doe@Example"),
            "jane-doe-example"
        );
        assert_eq!(normalize_person_slug("美洽下载"), "");
        assert_eq!(normalize_person_slug_for("美洽下载", 200), "legacy-200");
        assert_eq!(normalize_person_slug_for("  ", 5), "legacy-5");
        assert_eq!(normalize_person_slug_for(" Bob_Smith ", 5), "bob-smith");
    }
}
