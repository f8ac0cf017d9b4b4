//! `probe legacy-urls`: laddr's URL forms from `laddr-fetch` lines, against the stand-in.

mod common;

use common::{FAST, Repo, lines, probe, roomy, stderr, stdout};
use serde_json::{Value, json};

/// laddr-fetch output in two files, as an operator would pass them.
fn laddr_files(dir: &std::path::Path) -> String {
    let people = dir.join("people.ndjson");
    std::fs::write(
        &people,
        concat!(
            r#"{"v":1,"resource":"people","row":{"ID":10,"Class":"Emergence\\People\\User","Username":"alice"}}"#,
            "\n",
            r#"{"v":1,"resource":"people","row":{"ID":20,"Class":"Emergence\\People\\User","Username":"Bob"}}"#,
            "\n",
            r#"{"v":1,"resource":"people","row":{"ID":30,"Class":"Emergence\\People\\User","Username":"carol"}}"#,
            "\n",
            r#"{"v":1,"resource":"people","row":{"ID":99,"Class":"Emergence\\People\\User","Username":"spammer"}}"#,
            "\n",
            r#"{"v":1,"resource":"people","row":{"ID":1001,"Class":"Emergence\\People\\Person","Username":null}}"#,
            "\n",
            r#"{"v":1,"resource":"people","end":{"rows":5,"total":5,"complete":true}}"#,
            "\n",
            r#"{"v":1,"resource":"people","total":5}"#,
            "\n",
        ),
    )
    .unwrap();
    let rest = dir.join("rest.ndjson");
    std::fs::write(
        &rest,
        concat!(
            r#"{"v":1,"resource":"tags","row":{"ID":1,"Handle":"topic.transit","Title":"Transit"}}"#,
            "\n",
            r#"{"v":1,"resource":"projects","row":{"ID":7,"Handle":"mp","Title":"MP"}}"#,
            "\n",
            r#"{"v":1,"resource":"projects","row":{"ID":100,"Handle":"Transit_App","Title":"Transit App"}}"#,
            "\n",
            r#"{"v":1,"resource":"project-updates","row":{"ID":900,"ProjectID":100,"Number":1}}"#,
            "\n",
            r#"{"v":1,"resource":"project-buzz","row":{"ID":501,"Handle":"news-story","ProjectID":7}}"#,
            "\n",
            r#"{"v":1,"resource":"project-buzz","row":{"ID":500,"Handle":"launch_party","ProjectID":100}}"#,
            "\n",
        ),
    )
    .unwrap();
    format!("--laddr={},{}", people.display(), rest.display())
}

#[test]
fn every_form_is_reported_against_the_target() {
    let repo = Repo::new();
    let target = repo.target(roomy());
    let dir = tempfile::tempdir().unwrap();
    let report = dir.path().join("legacy.json");
    let mut args = vec![
        "legacy-urls".to_owned(),
        laddr_files(dir.path()),
        format!("--data-repo={}", repo.bare()),
        format!("--target={}", target.url()),
        format!("--json={}", report.display()),
    ];
    args.extend(FAST.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = probe(&args, "");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("people: 2 laddr rows have no live record"),
        "{}",
        stderr(&out)
    );
    let results = lines(&stdout(&out));
    let ok: Vec<(&str, bool)> = results
        .iter()
        .map(|r| (r["name"].as_str().unwrap(), r["ok"] == true))
        .collect();
    assert_eq!(
        ok,
        [
            ("/people/Bob", false), // the static rewrite keeps the case: /members/Bob
            ("/people/alice", true),
            ("/people/10", false), // /members/10 is a dead link
            ("/people/1001", false),
            ("/people/20", false),
            ("/members/Bob", false), // should 301 to /members/bob; the SPA says 200
            ("/members/alice", true),
            ("/projects/Transit_App", false),
            ("/projects/mp", true),
            ("/projects/100", false),
            ("/projects/7", false),
            ("/projects?ID=100", true),
            ("/projects?ID=7", true),
            ("/project-updates/900", false),
            ("/project-updates?ProjectID=100", true),
            ("/project-buzz/launch_party", false),
            ("/project-buzz/news-story", true),
            ("/project-buzz/500", false),
            ("/project-buzz/501", false),
            ("/tags/topic.transit", true),
            ("/tags/1", false),
        ]
    );
    let bob = results.iter().find(|r| r["name"] == "/people/Bob").unwrap();
    assert_eq!(bob["kind"], "/people/<Username>");
    assert_eq!(bob["note"], "Location /members/Bob (expected /members/bob)");

    let report: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    assert_eq!(report["passed"], false);
    let kinds: Vec<Value> = report["kinds"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| json!([k["kind"], k["probes"], k["ok"]]))
        .collect();
    assert_eq!(
        kinds,
        [
            json!(["/people/<Username>", 2, 1]),
            json!(["/people/<ID>", 3, 0]),
            json!(["/members/<Username>", 2, 1]),
            json!(["/projects/<Handle>", 2, 1]),
            json!(["/projects/<ID>", 2, 0]),
            json!(["/projects?ID=<ID>", 2, 2]),
            json!(["/project-updates/<ID>", 1, 0]),
            json!(["/project-updates?ProjectID=<ID>", 1, 1]),
            json!(["/project-buzz/<Handle>", 2, 1]),
            json!(["/project-buzz/<ID>", 2, 0]),
            json!(["/tags/<Handle>", 1, 1]),
            json!(["/tags/<ID>", 1, 0]),
        ]
    );
    assert_eq!(report["notes"].as_array().unwrap().len(), 1);
}

#[test]
fn without_a_target_the_specs_are_written_and_sampled_per_form() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let files = laddr_files(dir.path());
    let run = |extra: &[&str]| {
        let mut args = vec![
            "legacy-urls".to_owned(),
            files.clone(),
            format!("--data-repo={}", repo.bare()),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = probe(&args, "");
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        lines(&stdout(&out))
    };
    let all = run(&["--all"]);
    assert_eq!(all.len(), 21);
    assert!(all.contains(&json!({
        "v": 1, "name": "/projects/Transit_App", "kind": "/projects/<Handle>",
        "path": "/projects/Transit_App",
        "expect": {"status": 301, "location": "/projects/transit-app"}
    })));
    assert!(all.contains(&json!({
        "v": 1, "name": "/project-updates/900", "kind": "/project-updates/<ID>",
        "path": "/project-updates/900",
        "expect": {"status": 301, "locationPrefix": "/projects/transit-app"}
    })));
    let one = run(&["--sample=1", "--seed=x"]);
    assert_eq!(one.len(), 12, "one per form");
    assert_eq!(one, run(&["--sample=1", "--seed=x"]));

    let bad = dir.path().join("bad.ndjson");
    std::fs::write(
        &bad,
        "{\"v\":1,\"resource\":\"people\",\"row\":{}}\nnot json\n",
    )
    .unwrap();
    let out = probe(
        &[
            "legacy-urls",
            &format!("--laddr={}", bad.display()),
            &format!("--data-repo={}", repo.bare()),
        ],
        "",
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("bad.ndjson:2: not a laddr-fetch line"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn emitted_redirects_served_by_the_ingress_close_every_gap() {
    let repo = Repo::new();
    let dir = tempfile::tempdir().unwrap();
    let files = laddr_files(dir.path());
    let map = dir.path().join("legacy-redirects.conf");
    let run = |url: &str| {
        let mut args = vec![
            "legacy-urls".to_owned(),
            files.clone(),
            format!("--data-repo={}", repo.bare()),
            format!("--target={url}"),
            format!("--emit-redirects={}", map.display()),
        ];
        args.extend(FAST.iter().map(|s| s.to_string()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        probe(&args, "")
    };

    let bare_target = repo.target(roomy());
    let out = run(&bare_target.url());
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("13 redirects written to"),
        "{}",
        stderr(&out)
    );
    let written: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("legacy-redirects.conf.json")).unwrap(),
    )
    .unwrap();
    let pairs: Vec<(&str, &str)> = written["redirects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["from"].as_str().unwrap(), r["to"].as_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            ("/people/Bob", "/members/bob"),
            ("/people/10", "/members/alice"),
            ("/people/1001", "/members/person-01"),
            ("/people/20", "/members/bob"),
            ("/members/Bob", "/members/bob"),
            ("/projects/Transit_App", "/projects/transit-app"),
            ("/projects/100", "/projects/transit-app"),
            ("/projects/7", "/projects/mp"),
            ("/project-updates/900", "/projects/transit-app"),
            (
                "/project-buzz/launch_party",
                "/projects/transit-app/buzz/launch-party"
            ),
            (
                "/project-buzz/500",
                "/projects/transit-app/buzz/launch-party"
            ),
            ("/project-buzz/501", "/projects/mp/buzz/news-story"),
            ("/tags/1", "/tags/topic/transit"),
        ]
    );
    assert_eq!(written["status"], 301);
    assert_eq!(written["notEmitted"], json!([]));
    let nginx = std::fs::read_to_string(&map).unwrap();
    assert!(
        nginx.contains("    \"~^/people/Bob$\" \"/members/bob\";\n"),
        "{nginx}"
    );
    assert!(nginx.contains("absolute_redirect off;"));

    // The ingress serves the map in front of the same rewrite: every link now lands.
    let fronted = repo.target(fixtures::target::TargetOptions {
        redirect_map: Some(map.clone()),
        ..roomy()
    });
    let out = run(&fronted.url());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(lines(&stdout(&out)).iter().all(|r| r["ok"] == true));
    // Case matters: the map's /members/Bob must not catch /members/bob (a redirect loop).
    let spec = r#"{"v":1,"name":"m","kind":"m","path":"/members/bob","expect":{"status":200}}"#;
    let url = format!("--target={}", fronted.url());
    let out = probe(&["run", &url, "--rate-limit=100000"], spec);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let again: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("legacy-redirects.conf.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(again["redirects"], json!([]));
}
