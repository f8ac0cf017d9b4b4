//! The count diff of a dry run (reference E §1.4): laddr's list totals against the records the
//! import wrote, one row per resource against its sheet ([`lines::Resource::sheet`]), with
//! the reference's tolerance.

use crate::Resource;

/// Whether `imported` records are close enough to laddr's `source` total: equal, or at least
/// 70 % for tags and buzz (rows the import skips by design) and 99 % for the rest. One-sided
/// (more imported than listed passes) and computed in doubles exactly as the reference does.
pub fn tolerable(sheet: &str, source: u64, imported: u64) -> bool {
    if source == imported {
        return true;
    }
    if source == 0 {
        return imported == 0;
    }
    let factor = if sheet == "tags" || sheet == "project-buzz" {
        0.7
    } else {
        0.99
    };
    imported as f64 >= source as f64 * factor
}

/// One row of the count diff. `sourceTotal` is null when laddr's total could not be fetched,
/// and then the row does not match (the reference silently used 0).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CountDiff {
    /// The sheet's name.
    pub sheet: String,
    /// laddr's total for the sheet's resource.
    pub source_total: Option<u64>,
    /// Records the import wrote.
    pub imported_records: u64,
    /// True when the two agree.
    pub matched: bool,
}

/// One row per laddr list resource, in foreign-key order: `total` is laddr's total for a
/// resource (`None` when it could not be fetched), `imported` the import's count for a sheet.
pub fn count_diffs(
    total: impl Fn(Resource) -> Option<u64>,
    imported: impl Fn(&str) -> u64,
) -> Vec<CountDiff> {
    Resource::ALL
        .into_iter()
        .map(|resource| {
            let sheet = resource.sheet();
            let source = total(resource);
            let imported = imported(sheet);
            CountDiff {
                sheet: sheet.to_owned(),
                source_total: source,
                imported_records: imported,
                matched: source.is_some_and(|s| tolerable(sheet, s, imported)),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_as_the_reference() {
        assert!(tolerable("tags", 1017, 712));
        assert!(!tolerable("tags", 1017, 711));
        assert!(tolerable("project-buzz", 10, 7));
        assert!(!tolerable("project-buzz", 10, 6));
        assert!(tolerable("people", 100, 99));
        assert!(!tolerable("people", 100, 98));
        assert!(tolerable("people", 0, 0));
        assert!(!tolerable("people", 0, 1));
        assert!(tolerable("projects", 10, 11), "one-sided");
    }

    #[test]
    fn a_missing_total_fails_its_row() {
        let rows = count_diffs(
            |r| (r == Resource::Tags).then_some(3),
            |s| match s {
                "tags" => 3,
                "people" => 2,
                _ => 0,
            },
        );
        assert_eq!(rows.len(), 6);
        assert!(rows[0].matched);
        assert_eq!(rows[1].sheet, "people");
        assert_eq!(rows[1].source_total, None);
        assert!(!rows[1].matched);
        assert_eq!(rows[5].sheet, "blog-posts");
    }
}
