//! laddr-fetch as a process against the laddr fixture server on loopback.

use std::io::{BufRead, BufReader, Read};
use std::process::{Command, Stdio};
use std::time::Duration;

use fixtures::laddr::{Site, row_id};
use fixtures::laddr_server::{FaultKind, Faults, LaddrServer};
use fixtures::php_json;
use laddr::Resource;
use serde_json::{Value, json};

mod common;
use common::{BIN, report, run, small_site};

/// The exact bytes laddr-fetch must print for `site`: every row as the server encodes it,
/// then each resource's end line (whole: rows = total, complete).
fn expected(site: &Site, resources: &[Resource]) -> Vec<u8> {
    expected_short(site, resources, &[])
}

/// As [`expected`], for a run where `short` resources came back without some rows: `site`
/// holds the rows that arrived, and each `(resource, n)` had `n` more on the server, so its
/// end line says `total` = rows + n and `complete:false`.
fn expected_short(site: &Site, resources: &[Resource], short: &[(&str, u64)]) -> Vec<u8> {
    let mut out = String::new();
    for r in Resource::ALL.iter().filter(|r| resources.contains(r)) {
        let mut rows: Vec<&Value> = site.rows(*r).iter().collect();
        rows.sort_by_key(|row| row_id(row));
        let n = rows.len() as u64;
        for row in rows {
            out.push_str(&format!(
                "{{\"v\":1,\"resource\":\"{r}\",\"row\":{}}}\n",
                php_json::encode(row)
            ));
        }
        let missing = short.iter().find(|(s, _)| *s == r.name()).map(|(_, m)| *m);
        out.push_str(&format!(
            "{{\"v\":1,\"resource\":\"{r}\",\"end\":{{\"rows\":{n},\"total\":{},\"complete\":{}}}}}\n",
            n + missing.unwrap_or(0),
            missing.is_none()
        ));
    }
    out.into_bytes()
}

fn resource_report<'a>(rep: &'a Value, name: &str) -> &'a Value {
    rep["resources"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["resource"] == name)
        .unwrap()
}

/// The row IDs of `resource`, in output order (end lines skipped).
fn ids_in(stdout: &[u8], resource: &str) -> Vec<i64> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["resource"] == resource && l.get("row").is_some())
        .map(|l| l["row"]["ID"].as_i64().unwrap())
        .collect()
}

/// The `end` object of `resource`'s end line; asserts there is exactly one and that it
/// follows the resource's last row.
fn end_of(stdout: &[u8], resource: &str) -> Value {
    let lines: Vec<Value> = String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|l| l["resource"] == resource)
        .collect();
    let ends: Vec<&Value> = lines.iter().filter(|l| l.get("end").is_some()).collect();
    assert_eq!(ends.len(), 1, "{resource}: one end line");
    assert!(
        lines.last().unwrap().get("end").is_some(),
        "{resource}: the end line comes last"
    );
    ends[0]["end"].clone()
}

/// A plain HTTP/1.1 GET over a TcpStream: (status, body).
fn http_get(base: &str, target: &str) -> (u16, String) {
    use std::io::Write;
    let mut s = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    write!(
        s,
        "GET {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    let (head, body) = out.split_once("\r\n\r\n").unwrap();
    (head[9..12].parse().unwrap(), body.to_string())
}

#[test]
fn small_fixture_exact_rows_every_resource() {
    let site = small_site();
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("report.json");
    let r = run(
        &server.url(),
        &[
            "--page-size",
            "7",
            "--concurrency",
            "3",
            &format!("--json={}", rep_path.display()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(
        String::from_utf8(r.stdout).unwrap(),
        String::from_utf8(expected(&site, &Resource::ALL)).unwrap()
    );
    let rep = report(&rep_path);
    assert_eq!(rep["ok"], true);
    for resource in Resource::ALL {
        let name = resource.name();
        let rr = resource_report(&rep, name);
        let n = site.rows(resource).len() as u64;
        assert_eq!(
            (rr["rows"].as_u64(), rr["total"].as_u64()),
            (Some(n), Some(n)),
            "{name}"
        );
        assert_eq!(rr["retries"], 0);
    }
    // Every request was a stable, positive-limit, ID-ascending page with JSON selected.
    for target in server.requests() {
        assert!(
            target.contains("format=json") && target.contains("&sort=ID&dir=ASC"),
            "{target}"
        );
        assert!(!target.contains("limit=0"), "{target}");
    }
    // The lossless passthrough keeps PHP's escapes.
    let people = site.rows(Resource::People);
    assert!(people.iter().any(|p| p["Username"] == "美洽下载"));
}

#[test]
fn two_runs_give_identical_bytes_regardless_of_concurrency() {
    let site = small_site();
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let a = run(&server.url(), &["--page-size", "5", "--concurrency", "1"]);
    let b = run(&server.url(), &["--page-size", "3", "--concurrency", "4"]);
    assert_eq!((a.code, b.code), (0, 0));
    assert_eq!(a.stdout, b.stdout);
}

#[test]
fn page_boundaries() {
    let base = small_site();
    let ps = 5usize;
    // Exactly two pages, two pages and one row, one row short of a page, and nothing at all.
    for n in [2 * ps, 2 * ps + 1, ps - 1, ps, 0] {
        let mut site = base.clone();
        site.tags.truncate(n);
        site.project_buzz.clear();
        let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
        for conc in ["1", "3"] {
            let dir = tempfile::tempdir().unwrap();
            let rep_path = dir.path().join("r.json");
            let r = run(
                &server.url(),
                &[
                    "--resources",
                    "tags,project-buzz",
                    "--page-size",
                    "5",
                    "--concurrency",
                    conc,
                    &format!("--json={}", rep_path.display()),
                ],
            );
            assert_eq!(r.code, 0, "n={n}: {}", r.stderr);
            assert_eq!(
                r.stdout,
                expected(&site, &[Resource::Tags, Resource::ProjectBuzz]),
                "n={n} conc={conc}"
            );
            let rep = report(&rep_path);
            assert_eq!(
                resource_report(&rep, "tags")["rows"].as_u64(),
                Some(n as u64)
            );
            assert_eq!(
                resource_report(&rep, "project-buzz")["total"].as_u64(),
                Some(0)
            );
        }
    }
}

#[test]
fn inserts_during_a_run_neither_duplicate_nor_lose_rows() {
    let site = small_site();
    let before = site.people.len();
    // New sign-ups arrive after the 1st and 3rd page requests.
    let faults = Faults::none()
        .with_insert("people", 1, 2)
        .with_insert("people", 3, 3);
    let server = LaddrServer::start(site, faults).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("r.json");
    let r = run(
        &server.url(),
        &[
            "--resources",
            "people",
            "--page-size",
            "6",
            &format!("--json={}", rep_path.display()),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let after = server.site();
    assert_eq!(after.people.len(), before + 5);
    assert_eq!(r.stdout, expected(&after, &[Resource::People]));
    let ids = ids_in(&r.stdout, "people");
    let mut dedup = ids.clone();
    dedup.dedup();
    assert_eq!(ids, dedup);
    let rep = report(&rep_path);
    assert_eq!(
        resource_report(&rep, "people")["total"].as_u64(),
        Some(after.people.len() as u64)
    );
}

#[test]
fn deletes_during_a_run_are_detected_and_read_again() {
    // A deleted row shifts every later row one position down: without the one-row overlap
    // between pages the run would silently miss a row and still match `total`.
    for conc in ["1", "3"] {
        let site = small_site();
        let faults = Faults::none().with_delete("people", 2, 1);
        let server = LaddrServer::start(site.clone(), faults).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let rep_path = dir.path().join("r.json");
        let r = run(
            &server.url(),
            &[
                "--resources",
                "people",
                "--page-size",
                "6",
                "--concurrency",
                conc,
                &format!("--json={}", rep_path.display()),
            ],
        );
        assert_eq!(r.code, 0, "{}", r.stderr);
        let after = server.site();
        assert_eq!(after.people.len(), site.people.len() - 1);
        assert_eq!(
            r.stdout,
            expected(&after, &[Resource::People]),
            "conc={conc}"
        );
        let rep = report(&rep_path);
        assert_eq!(
            resource_report(&rep, "people")["restarts"].as_u64(),
            Some(1)
        );
    }
}

#[test]
fn continual_deletes_are_reported_not_hidden() {
    // Deletes keep landing: after the fresh attempts the run says so and exits 1.
    let faults = (1..40).fold(Faults::none(), |f, n| f.with_delete("people", n * 2, 1));
    let server = LaddrServer::start(small_site(), faults).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("r.json");
    let r = run(
        &server.url(),
        &[
            "--resources",
            "people",
            "--page-size",
            "4",
            &format!("--json={}", rep_path.display()),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("rows shifted while paging"),
        "{}",
        r.stderr
    );
    let rep = report(&rep_path);
    assert!(resource_report(&rep, "people")["shifted"].is_string());
    let end = end_of(&r.stdout, "people");
    assert_eq!(end["complete"], false);
    assert_eq!(
        end["rows"].as_u64(),
        Some(ids_in(&r.stdout, "people").len() as u64)
    );
}

#[test]
fn the_reference_default_order_would_duplicate_on_insert() {
    // Why sort=ID&dir=ASC matters: with laddr's default ID DESC order, an insert between two
    // page requests shifts every row down, so page 2 repeats the last row of page 1.
    let server =
        LaddrServer::start(small_site(), Faults::none().with_insert("people", 1, 1)).unwrap();
    let get = |offset: u64| -> Vec<i64> {
        let (status, body) = http_get(
            &server.url(),
            &format!("/people?format=json&limit=5&offset={offset}"),
        );
        assert_eq!(status, 200);
        let v: Value = serde_json::from_str(&body).unwrap();
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["ID"].as_i64().unwrap())
            .collect()
    };
    let p1 = get(0);
    let p2 = get(5);
    assert!(p2.contains(p1.last().unwrap()), "{p1:?} {p2:?}");
}

/// Each fault, injected on its own, is survived with output identical to a clean run.
#[test]
fn each_injected_fault_is_survived_with_identical_output() {
    let site = small_site();
    let clean = expected(&site, &Resource::ALL);
    let cases: Vec<(&str, Option<u64>, u32, FaultKind)> = vec![
        ("people", Some(7), 2, FaultKind::Status(503)),
        ("projects", None, 1, FaultKind::HtmlError(502)),
        (
            "people",
            Some(0),
            1,
            FaultKind::TooManyRequests {
                retry_after: "1".into(),
            },
        ),
        ("tags", Some(7), 2, FaultKind::Reset),
        ("people", Some(15), 2, FaultKind::Truncate),
        (
            "blog",
            None,
            1,
            FaultKind::Delay(Duration::from_millis(1500)),
        ),
        (
            "project-updates",
            Some(7),
            1,
            FaultKind::SuccessFalse("Database busy".into()),
        ),
        ("project-buzz", None, 1, FaultKind::HtmlError(500)),
    ];
    for (resource, offset, times, kind) in cases {
        let faults = Faults::none().with_rule(resource, offset, times, kind.clone());
        let server = LaddrServer::start(site.clone(), faults).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let rep_path = dir.path().join("r.json");
        let r = run(
            &server.url(),
            &[
                "--page-size",
                "8",
                "--concurrency",
                "2",
                "--timeout-ms",
                "700",
                &format!("--json={}", rep_path.display()),
            ],
        );
        assert_eq!(r.code, 0, "{kind:?}: {}", r.stderr);
        assert!(
            r.stdout == clean,
            "{kind:?}: output differs from a clean run"
        );
        let rep = report(&rep_path);
        assert_eq!(
            resource_report(&rep, resource)["retries"].as_u64(),
            Some(times as u64),
            "{kind:?}"
        );
    }
}

#[test]
fn all_faults_at_once_still_identical() {
    let site = small_site();
    let faults = Faults::none()
        .with_latency(Duration::from_millis(5))
        .with_rule("people", None, 2, FaultKind::Status(500))
        .with_rule("people", Some(11), 1, FaultKind::Truncate)
        .with_rule("tags", None, 1, FaultKind::Reset)
        .with_rule(
            "projects",
            Some(0),
            1,
            FaultKind::TooManyRequests {
                retry_after: "0".into(),
            },
        )
        .with_rule(
            "blog",
            None,
            1,
            FaultKind::SuccessFalse("temporarily".into()),
        )
        .with_insert("people", 2, 1);
    let server = LaddrServer::start(site, faults).unwrap();
    let r = run(&server.url(), &["--page-size", "4", "--concurrency", "4"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, expected(&server.site(), &Resource::ALL));
}

#[test]
fn bad_row_loses_exactly_one_row_and_reports_it() {
    let site = small_site();
    let ids: Vec<i64> = site.people.iter().filter_map(row_id).collect();
    let bad_pos = 13;
    let bad = ids[bad_pos];
    let server =
        LaddrServer::start(site.clone(), Faults::none().with_bad_row("people", bad)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("r.json");
    let r = run(
        &server.url(),
        &[
            "--page-size",
            "8",
            "--concurrency",
            "2",
            &format!("--json={}", rep_path.display()),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    let mut without = site.clone();
    without.people.retain(|p| row_id(p) != Some(bad));
    assert_eq!(
        r.stdout,
        expected_short(&without, &Resource::ALL, &[("people", 1)]),
        "every other row kept, byte for byte"
    );
    // The end line says the resource is short, with the counts a reader can name.
    assert_eq!(
        end_of(&r.stdout, "people"),
        json!({"rows": ids.len() - 1, "total": ids.len(), "complete": false})
    );
    assert_eq!(end_of(&r.stdout, "tags")["complete"], true);
    let rep = report(&rep_path);
    assert_eq!(rep["ok"], false);
    let people = resource_report(&rep, "people");
    let lost = people["lost"].as_array().unwrap();
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0]["position"], bad_pos);
    assert_eq!(lost[0]["prevId"], ids[bad_pos - 1]);
    assert_eq!(lost[0]["nextId"], ids[bad_pos + 1]);
    assert!(
        lost[0]["url"]
            .as_str()
            .unwrap()
            .contains(&format!("limit=1&offset={bad_pos}"))
    );
    assert_eq!(people["rows"].as_u64(), Some(ids.len() as u64 - 1));
    assert_eq!(people["total"].as_u64(), Some(ids.len() as u64));
    assert!(people["totalMismatch"].is_null());
    assert!(
        r.stderr.contains(&format!(
            "lost row at position {bad_pos} (between ID {} and ID {})",
            ids[bad_pos - 1],
            ids[bad_pos + 1]
        )),
        "{}",
        r.stderr
    );
    // Other resources are untouched and reported ok.
    assert!(
        resource_report(&rep, "tags")["lost"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}

#[test]
fn bad_first_and_last_rows() {
    let site = small_site();
    let ids: Vec<i64> = site.tags.iter().filter_map(row_id).collect();
    let (first, last) = (ids[0], *ids.last().unwrap());
    let faults = Faults::none()
        .with_bad_row("tags", first)
        .with_bad_row("tags", last);
    let server = LaddrServer::start(site.clone(), faults).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("r.json");
    let r = run(
        &server.url(),
        &[
            "--resources",
            "tags",
            "--page-size",
            "6",
            &format!("--json={}", rep_path.display()),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert_eq!(ids_in(&r.stdout, "tags"), ids[1..ids.len() - 1].to_vec());
    assert_eq!(
        end_of(&r.stdout, "tags"),
        json!({"rows": ids.len() - 2, "total": ids.len(), "complete": false})
    );
    let rep = report(&rep_path);
    let lost = resource_report(&rep, "tags")["lost"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(lost.len(), 2);
    assert!(lost[0]["prevId"].is_null() && lost[0]["nextId"] == ids[1]);
    assert!(lost[1]["prevId"] == ids[ids.len() - 2] && lost[1]["nextId"].is_null());
}

#[test]
fn a_row_without_an_id_is_reported_not_dropped_silently() {
    let mut site = small_site();
    let mut odd = site.tags[2].clone();
    if let Some(m) = odd.as_object_mut() {
        m.insert("ID".into(), json!("7a"));
        m.insert("Handle".into(), json!("topic.no-integer-id"));
    }
    site.tags.push(odd);
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("r.json");
    let r = run(
        &server.url(),
        &[
            "--resources",
            "tags",
            "--page-size",
            "5",
            &format!("--json={}", rep_path.display()),
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    site.tags.pop();
    assert_eq!(
        r.stdout,
        expected_short(&site, &[Resource::Tags], &[("tags", 1)])
    );
    let rep = report(&rep_path);
    let malformed = resource_report(&rep, "tags")["malformed"]
        .as_array()
        .unwrap()
        .clone();
    assert_eq!(malformed.len(), 1);
    assert!(
        malformed[0]["excerpt"]
            .as_str()
            .unwrap()
            .contains("no-integer-id")
    );
    assert!(r.stderr.contains("has no integer ID"), "{}", r.stderr);
}

#[test]
fn success_false_at_http_200_names_the_url() {
    let faults = Faults::none().with_rule(
        "projects",
        Some(0),
        100,
        FaultKind::SuccessFalse("Invalid sort field".into()),
    );
    let server = LaddrServer::start(small_site(), faults).unwrap();
    let r = run(&server.url(), &["--retries", "2"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let url = format!(
        "{}/projects?format=json&include=Tags%2CMemberships&limit=200&offset=0&sort=ID&dir=ASC",
        server.url()
    );
    assert!(r.stderr.contains(&url), "{}", r.stderr);
    assert!(
        r.stderr.contains("success:false: Invalid sort field"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("3 attempt"), "{}", r.stderr);
}

#[test]
fn real_invalid_sort_is_success_false_at_200() {
    // The server's own quirk, which the fault above imitates.
    let server = LaddrServer::start(small_site(), Faults::none()).unwrap();
    let (status, body) = http_get(&server.url(), "/projects?format=json&sort=Nope");
    assert_eq!(
        (status, body.as_str()),
        (
            200,
            "{\"success\":false,\"message\":\"Invalid sort field\"}"
        )
    );
}

#[test]
fn non_json_500_page_names_the_url() {
    let faults = Faults::none().with_rule("tags", None, 100, FaultKind::HtmlError(500));
    let server = LaddrServer::start(small_site(), faults).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rep_path = dir.path().join("r.json");
    let r = run(
        &server.url(),
        &["--retries", "1", &format!("--json={}", rep_path.display())],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    let url = format!(
        "{}/tags?format=json&limit=200&offset=0&sort=ID&dir=ASC",
        server.url()
    );
    assert!(
        r.stderr.contains(&format!("GET {url}: HTTP 500: <html>")),
        "{}",
        r.stderr
    );
    let rep = report(&rep_path);
    assert!(rep["error"].as_str().unwrap().contains(&url));
}

#[test]
fn timeouts_are_retried_then_fail_naming_the_url() {
    let faults = Faults::none().with_rule(
        "tags",
        None,
        100,
        FaultKind::Delay(Duration::from_millis(800)),
    );
    let server = LaddrServer::start(small_site(), faults).unwrap();
    let r = run(
        &server.url(),
        &[
            "--resources",
            "tags",
            "--retries",
            "1",
            "--timeout-ms",
            "200",
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr.contains("/tags?format=json") && r.stderr.contains("2 attempt"),
        "{}",
        r.stderr
    );
}

#[test]
fn offline_replay_equals_online_byte_for_byte() {
    let site = small_site();
    let bad = row_id(&site.projects[3]).unwrap();
    let site_projects = site.projects.len();
    let faults = Faults::none().with_bad_row("projects", bad).with_rule(
        "people",
        Some(4),
        1,
        FaultKind::Status(503),
    );
    let server = LaddrServer::start(site, faults).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let online = run(
        &server.url(),
        &[
            "--page-size",
            "5",
            "--concurrency",
            "3",
            "--cache-dir",
            cache_dir,
            &format!("--json={}/report.json", cache_dir),
        ],
    );
    assert_eq!(online.code, 1, "{}", online.stderr);
    let rep = report(&cache.path().join("report.json"));
    assert_eq!(resource_report(&rep, "people")["retries"].as_u64(), Some(1));
    assert_eq!(
        resource_report(&rep, "projects")["lost"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let url = server.url();
    drop(server);
    // No server now: anything not in the cache would fail.
    let offline = run(
        &url,
        &["--page-size", "5", "--offline", "--cache-dir", cache_dir],
    );
    assert_eq!(offline.code, 1, "{}", offline.stderr);
    assert_eq!(offline.stdout, online.stdout);
    assert!(!online.stdout.is_empty());
    let n = site_projects as u64;
    assert_eq!(
        end_of(&online.stdout, "projects"),
        json!({"rows": n - 1, "total": n, "complete": false})
    );
    assert_eq!(end_of(&online.stdout, "people")["complete"], true);
    // Same for the other concurrency setting, and a clear error for a different page size.
    let again = run(
        &url,
        &[
            "--page-size",
            "5",
            "--concurrency",
            "4",
            "--offline",
            "--cache-dir",
            cache_dir,
        ],
    );
    assert_eq!(again.stdout, online.stdout);
    let wrong = run(
        &url,
        &["--page-size", "6", "--offline", "--cache-dir", cache_dir],
    );
    assert_eq!(wrong.code, 2);
    assert!(
        wrong.stderr.contains("offline: no cached page"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn pii_guard_trips_and_writes_nothing() {
    let mut site = small_site();
    let victim = row_id(&site.people[4]).unwrap();
    if let Some(m) = site.people[4].as_object_mut() {
        m.insert("Email".into(), json!("secret.person@example.org"));
    }
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let r = run(
        &server.url(),
        &[
            "--page-size",
            "10",
            "--cache-dir",
            cache.path().to_str().unwrap(),
        ],
    );
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stdout.is_empty());
    assert!(
        r.stderr.contains("PII guard")
            && r.stderr.contains(&format!("row ID {victim}"))
            && r.stderr.contains("`Email`"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("secret.person"));
    // The page holding it was not cached either.
    assert!(!cache.path().join("people/limit-10-offset-0.json").exists());
}

#[test]
fn pii_guard_checks_embedded_records() {
    let mut site = small_site();
    if let Some(author) = site.blog[0]
        .get_mut("Author")
        .and_then(Value::as_object_mut)
    {
        author.insert("Phone".into(), json!("215-555-0100"));
    }
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let r = run(&server.url(), &["--resources", "blog"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("`Author.Phone`"), "{}", r.stderr);
}

#[test]
fn a_total_that_cannot_be_fetched_is_named_and_the_others_still_printed() {
    let site = small_site();
    let faults = Faults::none().with_rule("project-buzz", None, 100, FaultKind::Status(503));
    let server = LaddrServer::start(site.clone(), faults).unwrap();
    let r = run(&server.url(), &["--totals", "--retries", "1"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("project-buzz: total not fetched"),
        "{}",
        r.stderr
    );
    let want: String = Resource::ALL
        .into_iter()
        .filter(|n| n.name() != "project-buzz")
        .map(|n| {
            format!(
                "{{\"v\":1,\"resource\":\"{n}\",\"total\":{}}}\n",
                site.rows(n).len()
            )
        })
        .collect();
    assert_eq!(String::from_utf8(r.stdout).unwrap(), want);
}

#[test]
fn totals_prints_each_total() {
    let site = small_site();
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let r = run(&server.url(), &["--totals"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want: String = Resource::ALL
        .into_iter()
        .map(|n| {
            format!(
                "{{\"v\":1,\"resource\":\"{n}\",\"total\":{}}}\n",
                site.rows(n).len()
            )
        })
        .collect();
    assert_eq!(String::from_utf8(r.stdout).unwrap(), want);
    assert!(
        server
            .requests()
            .iter()
            .all(|t| t.contains("limit=1&offset=0"))
    );
}

#[test]
fn limit_takes_the_lowest_ids() {
    let site = small_site();
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let r = run(
        &server.url(),
        &[
            "--resources",
            "people,tags",
            "--limit",
            "7",
            "--page-size",
            "3",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let want: Vec<i64> = site.people.iter().filter_map(row_id).take(7).collect();
    assert_eq!(ids_in(&r.stdout, "people"), want);
    assert_eq!(ids_in(&r.stdout, "tags").len(), 7);
    // A deliberately partial fetch is never complete, though nothing was lost.
    for (name, n) in [("tags", site.tags.len()), ("people", site.people.len())] {
        assert_eq!(
            end_of(&r.stdout, name),
            json!({"rows": 7, "total": n, "complete": false}),
            "{name}"
        );
    }
}

#[test]
fn closed_stdout_ends_quietly_with_exit_0() {
    let server = LaddrServer::start(small_site(), Faults::none()).unwrap();
    let mut child = Command::new(BIN)
        .args(["--source-url", &server.url(), "--delay-ms", "0", "-q"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut first = String::new();
    stdout.read_line(&mut first).unwrap();
    assert!(
        first.starts_with("{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":"),
        "{first}"
    );
    drop(stdout); // like `| head -1`
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(stderr.is_empty(), "{stderr}");
}

#[test]
fn usage_errors_exit_2() {
    let r = run("http://127.0.0.1:9", &["--resources", "nope"]);
    assert_eq!(r.code, 2);
    assert!(r.stderr.contains("unknown resource"), "{}", r.stderr);
    let r = run("http://127.0.0.1:9", &["--page-size", "0"]);
    assert_eq!(r.code, 2);
    let out = Command::new(BIN).arg("--offline").output().unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn sends_user_agent_and_accept() {
    // A raw server that records the request head, to check the headers on the wire.
    use fixtures::http::{Request, Response, Server};
    use std::sync::{Arc, Mutex};
    type Seen = Vec<(Option<String>, Option<String>)>;
    let seen: Arc<Mutex<Seen>> = Arc::default();
    let s2 = Arc::clone(&seen);
    let server = Server::start(move |req: &Request| {
        s2.lock().unwrap().push((
            req.header("User-Agent").map(String::from),
            req.header("Accept").map(String::from),
        ));
        Response::json(
            200,
            r#"{"success":true,"data":[],"total":0,"limit":200,"offset":0}"#,
        )
    })
    .unwrap();
    let r = run(
        &server.url(),
        &["--resources", "tags", "--user-agent", "cutover-test/1"],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let seen = seen.lock().unwrap();
    assert_eq!(
        seen[0],
        (
            Some("cutover-test/1".into()),
            Some("application/json".into())
        )
    );
}

#[test]
fn a_server_ignoring_the_sort_is_refused() {
    use fixtures::http::{Request, Response, Server};
    let server = Server::start(|_: &Request| {
        Response::json(
            200,
            r#"{"success":true,"data":[{"ID":5},{"ID":3}],"total":2,"limit":200,"offset":0}"#,
        )
    })
    .unwrap();
    let r = run(&server.url(), &["--resources", "tags"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("not in ascending ID order (ID 5 before ID 3)"),
        "{}",
        r.stderr
    );
    assert!(r.stdout.is_empty());
}

#[test]
fn resources_are_fetched_side_by_side_within_the_concurrency() {
    // Each resource asks for its page 0 before anything else of it, so with three slots and
    // every answer held 150 ms, the first three requests must be three resources' first
    // pages: one resource at a time would have sent tags' later pages next.
    let server = LaddrServer::start(
        small_site(),
        Faults::none().with_latency(Duration::from_millis(150)),
    )
    .unwrap();
    let r = run(&server.url(), &["--page-size", "2", "--concurrency", "3"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, expected(&small_site(), &Resource::ALL));
    let first: Vec<String> = server.requests().into_iter().take(3).collect();
    let resources: std::collections::BTreeSet<&str> = first
        .iter()
        .map(|t| {
            t.trim_start_matches('/')
                .split(['?', '/'])
                .next()
                .unwrap_or("")
        })
        .collect();
    assert_eq!(resources.len(), 3, "{first:?}");
    assert!(first.iter().all(|t| t.contains("&offset=0&")), "{first:?}");
}

#[test]
fn the_politeness_delay_holds_across_resources_fetched_together() {
    // One slot, 120 ms between its requests: six resources side by side must not add up
    // six workers' worth of requests in the same time.
    let server = LaddrServer::start(small_site(), Faults::none()).unwrap();
    let delay = Duration::from_millis(120);
    let started = std::time::Instant::now();
    let out = Command::new(BIN)
        .args(["--source-url", &server.url(), "-q", "--page-size", "25"])
        .args(["--concurrency", "1", "--delay-ms", "120"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let n = server.requests().len() as u32;
    assert!(n >= 6, "{n}");
    assert!(took >= delay * (n - 1), "{n} requests in {took:?}");
}
