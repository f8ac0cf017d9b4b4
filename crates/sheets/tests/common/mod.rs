//! Shared by the TOML property and interop tests: a generator of arbitrary records.
#![allow(dead_code)]

use proptest::prelude::*;
use serde_json::{Map, Value};

/// Strings drawn mostly from the characters the TOML rules care about.
pub fn any_string() -> impl Strategy<Value = String> {
    let interesting = prop::sample::select(vec![
        '"', '\'', '\\', '\n', '\r', '\t', '\u{8}', '\u{c}', ' ', 'a', 'Z', '0', '-', '_', '.',
        '=', '#', '[', ']', '{', 'é', '☃', '😀', '\u{feff}', '\u{2028}',
    ]);
    let other_control = prop::sample::select(vec!['\u{0}', '\u{1}', '\u{1f}', '\u{7f}']);
    let ch = prop_oneof![16 => interesting, 1 => other_control, 3 => any::<char>()];
    prop::collection::vec(ch, 0..24).prop_map(|v| v.into_iter().collect())
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-zA-Z_-][a-zA-Z0-9_-]{0,10}",
        1 => any_string().prop_filter("keys are non-empty", |s| !s.is_empty()),
    ]
}

fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        any_string().prop_map(Value::String),
        // JavaScript numbers are exact up to 2^53.
        (-(1i64 << 53)..(1i64 << 53)).prop_map(Value::from),
        (-99_999i64..99_999).prop_map(Value::from),
        any::<bool>().prop_map(Value::Bool),
    ]
}

fn homogeneous_array() -> impl Strategy<Value = Value> {
    prop_oneof![
        prop::collection::vec(any_string().prop_map(Value::String), 0..5),
        prop::collection::vec((-99_999i64..99_999).prop_map(Value::from), 0..5),
        prop::collection::vec(any::<bool>().prop_map(Value::Bool), 0..5),
    ]
    .prop_map(Value::Array)
}

fn flat_table() -> impl Strategy<Value = Map<String, Value>> {
    prop::collection::btree_map(
        key(),
        prop_oneof![3 => scalar(), 1 => homogeneous_array()],
        0..5,
    )
    .prop_map(|m| m.into_iter().collect())
}

/// Records: scalars and arrays at the top, plus some nested tables and arrays of tables.
pub fn any_record() -> impl Strategy<Value = Map<String, Value>> {
    let value = prop_oneof![
        6 => scalar(),
        2 => homogeneous_array(),
        1 => flat_table().prop_map(Value::Object),
        1 => prop::collection::vec(flat_table().prop_filter("tables", |t| !t.is_empty()).prop_map(Value::Object), 1..3).prop_map(Value::Array),
    ];
    prop::collection::btree_map(key(), value, 0..8).prop_map(|m| m.into_iter().collect())
}
