//! Serialise → parse → serialise gives identical bytes and equal values, for arbitrary
//! records.

mod common;

use proptest::prelude::*;
use sheets::toml::{from_str, to_string};

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn round_trips(record in common::any_record()) {
        let text = to_string(&record).expect("serialises");
        let back = from_str(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(&back, &record, "value changed through\n{}", text);
        prop_assert_eq!(to_string(&back).unwrap(), text);
    }
}
