//! Probe, spam-prune, sheet-write and versioned lines: round trips and version refusal.

use lines::probe::{Expect, ProbeResult, ProbeSpec, parse_result, parse_spec};
use lines::prune::{Cascade, PrunedLine, Verdict, parse_pruned};
use lines::records::{RecordLine, parse_record_line};
use lines::{LineError, Versioned, parse_versioned, write_json_line};
use serde_json::json;

fn line(value: &impl serde::Serialize) -> String {
    let mut out = Vec::new();
    write_json_line(&mut out, value).unwrap();
    String::from_utf8(out).unwrap()
}

fn refused_version<T: std::fmt::Debug>(r: Result<T, LineError>) -> String {
    r.unwrap_err().to_string()
}

#[test]
fn probe_spec_round_trips_and_refuses_unknown_expectations_and_versions() {
    let spec = ProbeSpec::new("health", "health", "/api/health", Expect::status(200));
    let text = line(&spec);
    assert_eq!(
        text,
        "{\"v\":1,\"name\":\"health\",\"kind\":\"health\",\"path\":\"/api/health\",\"expect\":{\"status\":200}}\n"
    );
    assert_eq!(parse_spec(&text).unwrap(), spec);
    let redirect = ProbeSpec::new(
        "project-legacy:7",
        "project-legacy",
        "/projects?ID=7",
        Expect::redirect(301, "/projects/mp"),
    );
    assert_eq!(parse_spec(&line(&redirect)).unwrap(), redirect);
    let typo = r#"{"v":1,"name":"x","kind":"x","path":"/","expect":{"status":200,"typo":1}}"#;
    assert!(parse_spec(typo).unwrap_err().to_string().contains("typo"));
    let v2 = r#"{"v":2,"name":"x","kind":"x","path":"/","expect":{"status":200}}"#;
    assert_eq!(
        refused_version(parse_spec(v2)),
        "unsupported line version v=2 (this reads v=1)"
    );
}

#[test]
fn probe_result_round_trips() {
    let result = ProbeResult {
        v: 1,
        name: "project-legacy:7".into(),
        kind: "project-legacy".into(),
        url: "https://staging.example.org/projects?ID=7".into(),
        status: Some(301),
        expected: Expect::redirect(301, "/projects/mp"),
        ok: true,
        duration_ms: 12,
        note: None,
        location: Some("/projects/mp".into()),
        attempts: 1,
        throttled: 0,
    };
    let text = line(&result);
    assert_eq!(
        text,
        "{\"v\":1,\"name\":\"project-legacy:7\",\"kind\":\"project-legacy\",\"url\":\"https://staging.example.org/projects?ID=7\",\"status\":301,\"expected\":{\"status\":301,\"location\":\"/projects/mp\"},\"ok\":true,\"durationMs\":12,\"location\":\"/projects/mp\",\"attempts\":1,\"throttled\":0}\n"
    );
    assert_eq!(parse_result(&text).unwrap(), result);
    let v0 = text.replacen("\"v\":1", "\"v\":0", 1);
    assert_eq!(
        refused_version(parse_result(&v0)),
        "unsupported line version v=0 (this reads v=1)"
    );
}

#[test]
fn pruned_line_reads_and_writes_the_same_bytes() {
    let text = concat!(
        "{\"v\":1,\"slug\":\"cheap-seo\",\"id\":\"019e4021-0000-7000-8000-000000000000\",",
        "\"legacyId\":10234,\"path\":\"people/cheap-seo.toml\",",
        "\"verdicts\":[{\"evaluator\":\"heuristic-v1\",\"verdict\":\"spam\",\"confidence\":0.93},",
        "{\"evaluator\":\"human:chris\",\"verdict\":null}],\"atRisk\":[\"github\"],",
        "\"cascade\":{\"attachments\":0,\"memberships\":0,\"helpWantedInterest\":0,",
        "\"personTagAssignments\":1,\"projectUpdatesAuthorNulled\":0},",
        "\"dangling\":{\"blogPostsAuthorId\":2},\"dryRun\":true}\n"
    );
    let read = parse_pruned(text).unwrap();
    assert_eq!(read.legacy_id, json!(10234));
    assert_eq!(
        read.verdicts[1],
        Verdict {
            evaluator: "human:chris".into(),
            verdict: None,
            confidence: None
        }
    );
    assert_eq!(
        read.cascade,
        Cascade {
            person_tag_assignments: 1,
            ..Cascade::default()
        }
    );
    assert_eq!(line(&read), text);
    let v2: PrunedLine = serde_json::from_str(&text.replacen("\"v\":1", "\"v\":2", 1)).unwrap();
    assert_eq!(v2.v, 2, "serde alone does not check the version…");
    assert_eq!(
        refused_version(parse_pruned(&text.replacen("\"v\":1", "\"v\":2", 1))),
        "unsupported line version v=2 (this reads v=1)",
        "…the reader does"
    );
}

#[test]
fn record_line_keeps_the_emitted_key_order() {
    let record = json!({"id": "0190", "legacyId": 10, "slug": "alice"});
    let text = line(&RecordLine::new(
        "people",
        "people/alice.toml",
        record.clone(),
    ));
    // sheet-write has always written these keys sorted (serde_json's Map): keep the bytes.
    assert_eq!(
        text,
        "{\"path\":\"people/alice.toml\",\"record\":{\"id\":\"0190\",\"legacyId\":10,\"slug\":\"alice\"},\"sheet\":\"people\",\"v\":1}\n"
    );
    let back = parse_record_line(&text).unwrap();
    assert_eq!(
        (back.sheet.as_str(), back.path.as_str(), &back.record),
        ("people", "people/alice.toml", &record)
    );
    assert!(parse_record_line(&text.replace("\"v\":1", "\"v\":3")).is_err());
}

#[test]
fn versioned_envelope_puts_v_first_and_is_checked_on_read() {
    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "camelCase")]
    struct Finding {
        person_id: String,
        slug: String,
    }
    let f = Finding {
        person_id: "p1".into(),
        slug: "alice".into(),
    };
    let text = line(&Versioned::new(&f));
    assert_eq!(text, "{\"v\":1,\"personId\":\"p1\",\"slug\":\"alice\"}\n");
    assert_eq!(parse_versioned::<Finding>(&text).unwrap(), f);
    assert_eq!(
        refused_version(parse_versioned::<Finding>(
            r#"{"personId":"p1","slug":"alice"}"#
        )),
        "missing or non-integer \"v\""
    );
    assert!(
        refused_version(parse_versioned::<Finding>("[1]")).starts_with("invalid JSON: "),
        "not an object"
    );
}
