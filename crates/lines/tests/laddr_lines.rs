//! The laddr-fetch lines: writers' bytes, the reader's rules, round trips.

use lines::{
    End, LaddrLine, Line, OwnedLine, ReadError, Resource, Totals, parse_laddr_line,
    read_laddr_lines, write_end, write_line, write_totals,
};
use serde_json::value::RawValue;

fn parse(text: &str) -> LaddrLine {
    parse_laddr_line(text).unwrap().unwrap()
}

fn error(text: &str) -> String {
    parse_laddr_line(text).unwrap_err().to_string()
}

#[test]
fn write_then_read_keeps_row_bytes() {
    let row = RawValue::from_string(r#"{"ID":1,"Title":"a\/b \u00e9"}"#.to_string()).unwrap();
    let mut out = Vec::new();
    write_line(&mut out, "tags", &row).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1,\"Title\":\"a\\/b \\u00e9\"}}\n"
    );
    let line: Line = serde_json::from_str(text.trim_end()).unwrap();
    assert_eq!((line.v, line.resource), (1, "tags"));
    assert_eq!(line.row.get(), row.get());
    let owned: OwnedLine = serde_json::from_str(&text).unwrap();
    assert_eq!(owned.row.get(), row.get());
    let LaddrLine::Row(read) = parse(&text) else {
        panic!("not a row")
    };
    assert_eq!(read.resource, Resource::Tags);
    assert_eq!(read.row.get(), row.get(), "PHP escapes kept verbatim");
    assert_eq!(read.object().unwrap()["Title"], "a/b é");
}

#[test]
fn end_line_bytes_and_round_trip() {
    let mut out = Vec::new();
    let end = End {
        rows: 40,
        total: Some(41),
        complete: false,
    };
    write_end(&mut out, "people", &end).unwrap();
    let end0 = End {
        rows: 0,
        total: None,
        complete: true,
    };
    write_end(&mut out, "project-buzz", &end0).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "{\"v\":1,\"resource\":\"people\",\"end\":{\"rows\":40,\"total\":41,\"complete\":false}}\n\
         {\"v\":1,\"resource\":\"project-buzz\",\"end\":{\"rows\":0,\"total\":null,\"complete\":true}}\n"
    );
    let first: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
    let back: End = serde_json::from_value(first["end"].clone()).unwrap();
    assert_eq!(back, end);
    let read: Vec<_> = text.lines().map(parse).collect();
    assert!(matches!(read[0], LaddrLine::End(Resource::People, e) if e == end));
    assert!(matches!(read[1], LaddrLine::End(Resource::ProjectBuzz, e) if e == end0));
}

#[test]
fn totals_lines_round_trip() {
    let mut out = Vec::new();
    let totals = Totals {
        resource: Resource::ProjectUpdates,
        total: 517,
    };
    write_totals(&mut out, &totals).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(
        text,
        "{\"v\":1,\"resource\":\"project-updates\",\"total\":517}\n"
    );
    assert!(matches!(parse(&text), LaddrLine::Totals(t) if t == totals));
    assert_eq!(
        error(r#"{"v":1,"resource":"tags","total":"many"}"#),
        "\"total\" must be a non-negative integer"
    );
}

#[test]
fn end_line_rules() {
    for (text, want) in [
        (
            r#"{"v":1,"resource":"tags","end":{"total":1,"complete":true}}"#,
            "end line of tags: \"end.rows\" must be a non-negative integer",
        ),
        (
            r#"{"v":1,"resource":"tags","end":{"rows":1,"total":1,"complete":"yes"}}"#,
            "end line of tags: \"end.complete\" must be true or false",
        ),
        (
            r#"{"v":1,"resource":"tags","end":{"rows":1,"total":-1,"complete":false}}"#,
            "end line of tags: \"end.total\" must be a non-negative integer or null",
        ),
        (
            r#"{"v":1,"resource":"tags","end":[1]}"#,
            "end line of tags: \"end\" must be a JSON object",
        ),
        (
            r#"{"v":1,"resource":"tags","end":{"rows":4,"total":5,"complete":true}}"#,
            "end line of tags: says complete, but rows 4 differ from total 5",
        ),
        (
            r#"{"v":1,"resource":"tags","row":{},"end":{"rows":0,"total":0,"complete":true}}"#,
            "a line holds either \"row\" or \"end\", not both",
        ),
    ] {
        assert_eq!(error(text), want, "{text}");
    }
    // A missing total reads as null; an incomplete end line may differ from its total.
    let text = r#"{"v":1,"resource":"blog","end":{"rows":7,"complete":false}}"#;
    let want = End {
        rows: 7,
        total: None,
        complete: false,
    };
    assert!(matches!(parse(text), LaddrLine::End(Resource::Blog, e) if e == want));
}

#[test]
fn other_versions_and_shapes_are_refused() {
    for (text, want) in [
        (
            r#"{"v":2,"resource":"tags","row":{}}"#,
            "unsupported line version v=2 (this reads v=1)",
        ),
        (
            r#"{"v":2,"resource":"tags","end":{"rows":0,"total":0,"complete":true}}"#,
            "unsupported line version v=2 (this reads v=1)",
        ),
        (
            r#"{"resource":"tags","row":{}}"#,
            "missing or non-integer \"v\"",
        ),
        (
            r#"{"v":"1","resource":"tags","row":{}}"#,
            "missing or non-integer \"v\"",
        ),
        (
            r#"{"v":1,"resource":"members","row":{}}"#,
            "unknown resource \"members\"",
        ),
        (
            r#"{"v":1,"resource":3,"row":{}}"#,
            "missing or non-string \"resource\"",
        ),
        (
            r#"{"v":1,"resource":"tags","row":[]}"#,
            "\"row\" must be a JSON object",
        ),
        (
            r#"{"v":1,"resource":"tags"}"#,
            "\"row\" must be a JSON object",
        ),
    ] {
        assert_eq!(error(text), want, "{text}");
    }
    assert!(error("{nope").starts_with("invalid JSON: "));
    assert!(parse_laddr_line("   ").unwrap().is_none());
    // Keys the reader does not know are ignored (additive changes keep v=1).
    let text = r#"{"v":1,"resource":"tags","row":{"ID":1},"note":"x"}"#;
    assert!(matches!(parse(text), LaddrLine::Row(_)));
}

#[test]
fn a_stream_numbers_its_lines_and_skips_blank_ones() {
    let text = concat!(
        "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n",
        "\n",
        "{\"v\":1,\"resource\":\"tags\",\"end\":{\"rows\":1,\"total\":1,\"complete\":true}}\n",
        "{\"v\":1,\"resource\":\"wat\",\"row\":{}}\n",
    );
    let read: Vec<_> = read_laddr_lines(text.as_bytes()).collect();
    assert_eq!(read.len(), 3);
    assert!(matches!(read[0], Ok((1, LaddrLine::Row(_)))));
    assert!(matches!(
        read[1],
        Ok((3, LaddrLine::End(Resource::Tags, _)))
    ));
    match &read[2] {
        Err(e @ ReadError::Line { line: 4, .. }) => {
            assert_eq!(e.to_string(), "line 4: unknown resource \"wat\"")
        }
        other => panic!("{other:?}"),
    }
}
