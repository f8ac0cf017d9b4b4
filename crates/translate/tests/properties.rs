//! Invariants over arbitrary input: slugs are valid and unique per scope, and every row is
//! accounted for exactly once (imported, skipped or an error) — nothing vanishes.

use std::collections::HashSet;

use proptest::prelude::*;
use serde_json::{Value, json};
use translate::slug::{self, SlugRegistry};
use translate::{Input, Options, ReadForward, Resource, Sequential, Sheet, translate};

fn any_text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9_ .#-]{0,12}",
        "\\PC{0,8}",
        Just(String::new()),
        Just("x".to_owned()),
        Just("a".repeat(120)),
    ]
}

fn any_scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any_text().prop_map(Value::from),
        (-5i64..2_000_000_000).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<bool>().prop_map(Value::from),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn safe_slugs_are_valid_and_unique(raws in prop::collection::vec(any_text(), 1..40), underscores in any::<bool>()) {
        let rules = if underscores { slug::PROJECTS } else { slug::PEOPLE };
        let mut reg = SlugRegistry::default();
        let mut warnings = Vec::new();
        let mut seen = HashSet::new();
        for (i, raw) in raws.iter().enumerate() {
            if let Ok(s) = reg.safe_slug(raw, "scope", rules, &i.to_string(), &mut warnings) {
                prop_assert!(slug::slug_pattern_ok(&s, rules), "{s:?}");
                prop_assert!(seen.insert(s.clone()), "duplicate {s:?}");
            }
        }
    }

    #[test]
    fn every_row_is_accounted_for(
        people in prop::collection::vec((any_text(), any_scalar(), any_scalar(), any_scalar()), 0..12),
        projects in prop::collection::vec((any_text(), any_scalar(), any_scalar(), 0i64..14), 0..6),
    ) {
        let mut input = Input::default();
        for (i, (user, first, created, about)) in people.iter().enumerate() {
            input.push(Resource::People, json!({"ID": i + 1, "Username": user, "FirstName": first,
                "Created": created, "About": about}), None);
        }
        for (i, (handle, title, stage, member)) in projects.iter().enumerate() {
            input.push(Resource::Projects, json!({"ID": 100 + i, "Handle": handle, "Title": title,
                "Stage": stage, "MaintainerID": member,
                "Memberships": [{"ProjectID": 100 + i, "MemberID": member, "Created": 1}]}), None);
        }
        let out = translate(&input, &Options::new("2026-05-18T00:00:00.000Z"), &ReadForward::default(),
            &mut Sequential::default());
        for (sheet, rows) in [(Sheet::People, people.len()), (Sheet::Projects, projects.len())] {
            let c = out.counts.get(sheet);
            prop_assert_eq!((c.imported + c.skipped + c.errors) as usize, rows, "{}", sheet);
            prop_assert_eq!(out.sheet(sheet).len() as u64, c.imported);
        }
        // Each problem is also a warning, and names its record.
        for p in &out.problems {
            prop_assert!(out.warnings.contains(&p.message));
            let prefix = format!("[{}] ", p.sheet);
            prop_assert!(p.message.starts_with(&prefix), "{}", p.message);
        }
    }
}
