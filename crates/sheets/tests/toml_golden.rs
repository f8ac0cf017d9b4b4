//! Golden bytes for every rule of the canonical TOML form (gitsheets 1.4.1 / @iarna/toml
//! 2.2.5 after a deep key sort; reference B §6), and the two §6.5 records byte for byte.

use serde_json::{Map, Value, json};
use sheets::toml::{from_str, to_string};

fn toml_of(v: Value) -> String {
    to_string(v.as_object().expect("an object")).expect("serialises")
}

fn check(v: Value, want: &str) {
    let got = toml_of(v.clone());
    assert_eq!(got, want, "\n--- got ---\n{got}\n--- want ---\n{want}");
    // Everything we write parses back to the same value and re-serialises identically.
    let back = from_str(&got).expect("our output parses");
    assert_eq!(to_string(&back).unwrap(), got);
}

#[test]
fn integers_get_digit_groups_from_four_digits() {
    check(
        json!({"a": 100, "b": 1234, "c": -1234, "d": 31618, "e": 0, "f": -5, "g": 1234567, "h": 999}),
        "a = 100\nb = 1_234\nc = -1_234\nd = 31_618\ne = 0\nf = -5\ng = 1_234_567\nh = 999\n",
    );
}

#[test]
fn booleans() {
    check(json!({"t": true, "f": false}), "f = false\nt = true\n");
}

#[test]
fn string_styles() {
    // Only `"`: literal. Both quotes: basic with `\"`. Tab or CR: basic.
    check(json!({"s": "say \"hi\""}), "s = 'say \"hi\"'\n");
    check(json!({"s": "it's \"x\""}), "s = \"it's \\\"x\\\"\"\n");
    check(json!({"s": "it's"}), "s = \"it's\"\n");
    check(json!({"s": "tab\there"}), "s = \"tab\\there\"\n");
    check(json!({"s": "tab\t\"q\""}), "s = \"tab\\t\\\"q\\\"\"\n");
    check(json!({"s": "cr\rhere"}), "s = \"cr\\rhere\"\n");
    check(json!({"s": "ends\""}), "s = 'ends\"'\n");
    check(json!({"s": "back\\slash"}), "s = \"back\\\\slash\"\n");
    check(json!({"s": "héllo ☃ 😀 / ok"}), "s = \"héllo ☃ 😀 / ok\"\n");
    check(json!({"s": ""}), "s = \"\"\n");
}

#[test]
fn multiline_strings() {
    // CRLF shows as `\r` at each line end; no final newline closes as `text"""`.
    check(json!({"s": "a\r\nb"}), "s = \"\"\"\na\\r\nb\"\"\"\n");
    // A final newline puts the closing quotes on their own line.
    check(json!({"s": "line\n"}), "s = \"\"\"\nline\n\"\"\"\n");
    // A final `"` gets a line-ending backslash; a lone `"` stays raw; `"""` is broken up.
    check(
        json!({"s": "a\n\"\"\"b\""}),
        "s = \"\"\"\na\n\\\"\"\"b\"\\\n\"\"\"\n",
    );
    check(
        json!({"s": "say \"hi\"\nthere"}),
        "s = \"\"\"\nsay \"hi\"\nthere\"\"\"\n",
    );
    check(
        json!({"s": "tab\tin\nmulti"}),
        "s = \"\"\"\ntab\\tin\nmulti\"\"\"\n",
    );
}

#[test]
fn every_control_character_is_escaped() {
    // @iarna escapes only the first (and writes invalid TOML); we escape all of them.
    check(
        json!({"s": "\u{1}\u{2}x\u{3}\u{7f}"}),
        "s = \"\\u0001\\u0002x\\u0003\\u007f\"\n",
    );
    check(json!({"s": "\u{0}"}), "s = \"\\u0000\"\n");
    // Escapes between multi-byte characters (the writer copies the runs between escapes).
    check(
        json!({"s": "é\u{1}☃\\😀\u{1f}"}),
        "s = \"é\\u0001☃\\\\😀\\u001f\"\n",
    );
    check(json!({"s": "bs\u{8} ff\u{c}"}), "s = \"bs\\b ff\\f\"\n");
    // A control character rules out a literal string even with only `"` quotes.
    check(json!({"s": "\u{1}\"q\""}), "s = \"\\u0001\\\"q\\\"\"\n");
    check(
        json!({"s": "a\u{1}\nb\u{2}"}),
        "s = \"\"\"\na\\u0001\nb\\u0002\"\"\"\n",
    );
}

#[test]
fn keys_are_sorted_by_code_unit_and_quoted_when_not_bare() {
    check(
        json!({"lastName": 1, "legacyId": 2, "firstName": 3, "fullName": 4, "_x": 5, "Zed": 6}),
        "Zed = 6\n_x = 5\nfirstName = 3\nfullName = 4\nlastName = 1\nlegacyId = 2\n",
    );
    check(
        json!({"key with space": 1, "dotted.key": 2}),
        "\"dotted.key\" = 2\n\"key with space\" = 1\n",
    );
}

#[test]
fn null_is_omitted_and_empty_record_is_empty_file() {
    check(json!({"a": null, "b": 1}), "b = 1\n");
    check(json!({}), "");
    check(json!({"a": null}), "");
}

#[test]
fn arrays() {
    check(
        json!({"e": [], "a": [1, 2], "s": ["x", "y"]}),
        "a = [ 1, 2 ]\ne = [ ]\ns = [ \"x\", \"y\" ]\n",
    );
    // Longer than 60 characters: one item per line.
    check(
        json!({"long": ["aaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbb", "cccccccccccccccccccc", "dddddd"]}),
        "long = [\n  \"aaaaaaaaaaaaaaa\",\n  \"bbbbbbbbbbbbbbbbbb\",\n  \"cccccccccccccccccccc\",\n  \"dddddd\"\n]\n",
    );
    // Strings in arrays are always basic strings; nulls are dropped.
    check(
        json!({"q": ["say \"hi\"", null]}),
        "q = [ \"say \\\"hi\\\"\" ]\n",
    );
    // Inline tables in an array that does not start with a table.
    check(json!({"n": [[1], [2]]}), "n = [ [ 1 ], [ 2 ] ]\n");
}

#[test]
fn mixed_arrays_are_refused() {
    let err = to_string(json!({"m": [1, "x"]}).as_object().unwrap()).unwrap_err();
    assert_eq!(
        err.to_string(),
        "array at `m` mixes value types, which TOML 1.0 arrays cannot hold"
    );
}

#[test]
fn nested_tables_and_arrays_of_tables() {
    check(
        json!({"n": {"x": 1, "deep": {"y": [1, 2]}}, "arr": [{"k": 1}, {"k": 2}], "z": 1}),
        "z = 1\n\n[[arr]]\nk = 1\n\n[[arr]]\nk = 2\n\n[n]\nx = 1\n\n  [n.deep]\n  y = [ 1, 2 ]\n",
    );
    check(json!({"t": {}}), "t = { }\n");
    // Nulls are absent everywhere: a table of nulls is an empty table.
    check(json!({"t": {"a": null}, "u": 1}), "t = { }\nu = 1\n");
    check(
        json!({"t": {"a": null, "b": 1}, "u": [{"c": null, "d": 2}]}),
        "[t]\nb = 1\n\n[[u]]\nd = 2\n",
    );
    // No header for a table holding only tables.
    check(json!({"t": {"u": {"x": 1}}}), "[t.u]\nx = 1\n");
}

#[test]
fn floats_as_javascript_prints_them() {
    check(
        json!({"f": 0.5, "g": 1234.5678, "h": 2.0}),
        "f = 0.5\ng = 1_234.5678\nh = 2\n",
    );
}

/// reference B §6.5, `people/aaronm.toml`.
#[test]
fn person_example_byte_for_byte() {
    let person = json!({
        "accountLevel": "administrator",
        "avatarKey": "people/aaronm/avatar.jpg",
        "bio": "I'm a \"civic\" hacker.\r\nI like maps.",
        "createdAt": "2018-02-17T13:58:57.000Z",
        "firstName": "Aaron",
        "fullName": "Aaron Moskowitz",
        "id": "019e4021-2053-7493-ac00-d3752f9f8652",
        "lastName": "Moskowitz",
        "legacyId": 2938,
        "slackSamlNameId": "aaronm",
        "slug": "aaronm",
        "updatedAt": "2018-12-04T15:07:33.000Z"
    });
    check(
        person,
        r#"accountLevel = "administrator"
avatarKey = "people/aaronm/avatar.jpg"
bio = """
I'm a "civic" hacker.\r
I like maps."""
createdAt = "2018-02-17T13:58:57.000Z"
firstName = "Aaron"
fullName = "Aaron Moskowitz"
id = "019e4021-2053-7493-ac00-d3752f9f8652"
lastName = "Moskowitz"
legacyId = 2_938
slackSamlNameId = "aaronm"
slug = "aaronm"
updatedAt = "2018-12-04T15:07:33.000Z"
"#,
    );
}

/// reference B §6.5, `projects/philly_bike_action.toml`.
#[test]
fn project_example_byte_for_byte() {
    let project = json!({
        "title": "Philly Bike Action!",
        "stage": "maintaining",
        "slug": "philly_bike_action",
        "overview": "Say \"hi\" to [PBA](https://x.org)",
        "maintainerId": "019e4021-2053-7493-ac00-d3752f9f8652",
        "legacyId": 1234,
        "id": "019e4021-2d09-7e80-a14a-d38e8c039ec4",
        "featured": false,
        "developersUrl": "https://github.com/example/pba",
        "createdAt": "2013-01-03T23:55:11.000Z",
        "chatChannel": "bike-action",
        "updatedAt": "2013-01-03T23:55:11.000Z"
    });
    check(
        project,
        r#"chatChannel = "bike-action"
createdAt = "2013-01-03T23:55:11.000Z"
developersUrl = "https://github.com/example/pba"
featured = false
id = "019e4021-2d09-7e80-a14a-d38e8c039ec4"
legacyId = 1_234
maintainerId = "019e4021-2053-7493-ac00-d3752f9f8652"
overview = 'Say "hi" to [PBA](https://x.org)'
slug = "philly_bike_action"
stage = "maintaining"
title = "Philly Bike Action!"
updatedAt = "2013-01-03T23:55:11.000Z"
"#,
    );
}

#[test]
fn reader_gives_datetimes_as_text_and_rejects_garbage() {
    let m: Map<String, Value> = from_str("d = 2020-01-02T03:04:05Z\ns = 'x'\n").unwrap();
    assert_eq!(m["d"], json!("2020-01-02T03:04:05Z"));
    assert!(from_str("a = \"unterminated\n").is_err());
    assert!(from_str("a = 1\na = 2\n").is_err());
}
