//! `laddr-fetch --media-dir` as a process against the laddr fixture server on loopback: the
//! media the rows reference land in the media directory, byte for byte as served.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::time::{Duration, Instant};

use fixtures::laddr::{Site, row_id};
use fixtures::laddr_server::{FaultKind, Faults, LaddrServer};
use lines::{LaddrLine, MediaLine, Resource};
use media::MediaDir;

mod common;
use common::{Run, report, run, small_site};

/// The media IDs the small site's rows reference, worked out from the rows by hand: photos,
/// blog Media items and inline codeforphilly.org links (`media/<id>`, `sitedata/<id>`).
fn referenced(site: &Site) -> BTreeSet<u64> {
    let mut ids: BTreeSet<u64> = photos(site).into_iter().collect();
    for post in &site.blog {
        for item in post["items"].as_array().into_iter().flatten() {
            if let Some(id) = item["Data"]["MediaID"].as_u64() {
                ids.insert(id);
            }
            let text = item["Data"].as_str().unwrap_or("");
            for part in text.split("codeforphilly.org/").skip(1) {
                let tail = part
                    .strip_prefix("media/")
                    .or_else(|| part.strip_prefix("sitedata/"))
                    .unwrap_or("");
                let digits: String = tail.chars().take_while(char::is_ascii_digit).collect();
                if let Ok(id) = digits.parse() {
                    ids.insert(id);
                }
            }
        }
    }
    ids
}

/// The people's photo IDs, in row order.
fn photos(site: &Site) -> Vec<u64> {
    site.people
        .iter()
        .filter_map(|p| p["PrimaryPhotoID"].as_u64())
        .collect()
}

fn media_lines(stdout: &[u8]) -> Vec<MediaLine> {
    lines::read_laddr_lines(stdout)
        .filter_map(|l| match l.unwrap().1 {
            LaddrLine::Media(m) => Some(m),
            _ => None,
        })
        .collect()
}

fn listed(site: &Site) -> BTreeSet<u64> {
    site.media
        .iter()
        .filter_map(row_id)
        .map(|id| id as u64)
        .collect()
}

fn fetch(server: &LaddrServer, dir: &std::path::Path, extra: &[&str]) -> Run {
    let media = format!("--media-dir={}", dir.display());
    let mut args = vec!["--resources", "people,blog", media.as_str()];
    args.extend_from_slice(extra);
    run(&server.url(), &args)
}

#[test]
fn referenced_media_are_stored_as_served_and_a_second_run_fetches_none() {
    let site = small_site();
    let want = referenced(&site);
    let listed = listed(&site);
    let server = LaddrServer::start(site.clone(), Faults::none()).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("media");
    let rep_path = tmp.path().join("report.json");
    let first = fetch(&server, &dir, &[&format!("--json={}", rep_path.display())]);
    // The blog's sitedata links name media laddr does not have: 404, exit 1, rest written.
    assert_eq!(first.code, 1, "{}", first.stderr);
    let lines = media_lines(&first.stdout);
    let ids: Vec<u64> = lines.iter().map(MediaLine::id).collect();
    assert_eq!(
        ids,
        want.iter().copied().collect::<Vec<_>>(),
        "every one, by ID"
    );
    assert!(first.stdout.ends_with(b"\n"));
    let last_row = String::from_utf8_lossy(&first.stdout)
        .lines()
        .position(|l| l.contains("\"media\":{"))
        .unwrap();
    assert!(
        String::from_utf8_lossy(&first.stdout)
            .lines()
            .take(last_row)
            .all(|l| l.contains("\"resource\""))
    );
    let store = MediaDir::open(&dir).unwrap();
    for line in &lines {
        let url = format!("{}/media/{}/original", server.url(), line.id());
        assert_eq!(line.url(), url);
        match line {
            MediaLine::Stored(meta) => {
                assert!(listed.contains(&meta.id));
                let (stored, bytes) = store.get(meta.id).unwrap().unwrap();
                assert_eq!(&stored, meta);
                assert_eq!(bytes, http_bytes(&server.url(), meta.id));
            }
            MediaLine::Failed(f) => {
                assert!(!listed.contains(&f.id), "{f:?}");
                assert_eq!(f.error, "HTTP 404");
                assert!(!store.bytes_path(f.id).exists());
            }
        }
    }
    let stored = lines
        .iter()
        .filter(|l| matches!(l, MediaLine::Stored(_)))
        .count();
    assert!(stored >= 5, "photos, a PNG, a GIF, the PDF: {stored}");
    let pdf = lines.iter().find_map(|l| match l {
        MediaLine::Stored(m) if m.content_type == "application/pdf" => Some(m.id),
        _ => None,
    });
    assert!(
        pdf.is_some(),
        "the blog's PDF asset is fetched like any medium"
    );
    let rep = report(&rep_path)["media"].clone();
    assert_eq!(rep["referenced"], want.len());
    assert_eq!(rep["fetched"], stored);
    assert_eq!(rep["alreadyPresent"], 0);
    assert_eq!(rep["failed"].as_array().unwrap().len(), want.len() - stored);
    assert_eq!(rep["failed"][0]["reason"], "HTTP 404");

    let requests = server.media_stats().requests;
    let second = fetch(&server, &dir, &[&format!("--json={}", rep_path.display())]);
    assert_eq!(second.stdout, first.stdout, "same bytes, fetched or not");
    let rep = report(&rep_path)["media"].clone();
    assert_eq!(
        (rep["fetched"].as_u64(), rep["alreadyPresent"].as_u64()),
        (Some(0), Some(stored as u64))
    );
    // The failures were 404s, which laddr's immutable media repeat: not asked for again.
    assert_eq!(server.media_stats().requests - requests, 0);
    assert_eq!(rep["knownFailed"], want.len() - stored);
    assert!(
        rep["failed"]
            .as_array()
            .unwrap()
            .iter()
            .all(|f| f["earlier"] == true),
        "{rep}"
    );
    assert!(
        second.stderr.contains("failed for good in an earlier run")
            && !second.stderr.contains("HTTP 404"),
        "{}",
        second.stderr
    );
    // --media-retry-failed asks again, and the lines are still the same.
    let requests = server.media_stats().requests;
    let third = fetch(&server, &dir, &["--media-retry-failed"]);
    assert_eq!(third.stdout, first.stdout);
    assert_eq!(
        server.media_stats().requests - requests,
        (want.len() - stored) as u64
    );
}

#[test]
fn a_medium_given_up_on_gets_one_attempt_in_the_next_run_and_is_stored_when_it_passes() {
    let site = small_site();
    let photo = photos(&site)[1];
    let failing = Faults::none().with_rule("media", Some(photo), 99, FaultKind::Status(500));
    let server = LaddrServer::start(site.clone(), failing).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    let line_of = |out: &Run| {
        media_lines(&out.stdout)
            .into_iter()
            .find(|l| l.id() == photo)
            .unwrap()
    };
    let count = |server: &LaddrServer, run: &dyn Fn() -> Run| {
        let before = server.media_stats().requests;
        let out = run();
        (out, server.media_stats().requests - before)
    };
    let (first, _) = count(&server, &|| fetch(&server, &dir, &["--retries", "2"]));
    assert!(
        matches!(line_of(&first), MediaLine::Failed(f) if f.error == "HTTP 500 (gave up after 3 attempt(s))")
    );
    let store = MediaDir::open(&dir).unwrap();
    let record = store.failure(photo).unwrap().unwrap();
    assert!(!record.permanent, "{record:?}");
    // The next run into the same directory: one attempt for it, nothing else requested.
    let (second, requests) = count(&server, &|| fetch(&server, &dir, &["--retries", "2"]));
    assert!(
        matches!(line_of(&second), MediaLine::Failed(f) if f.error == "HTTP 500 (gave up after 1 attempt(s))"),
        "{}",
        second.stderr
    );
    let not_found = media_lines(&first.stdout)
        .iter()
        .filter(|l| matches!(l, MediaLine::Failed(f) if f.error == "HTTP 404"))
        .count();
    assert!(not_found > 0);
    assert_eq!(requests, 1, "only the medium given up on, once");
    // Once laddr serves it, it is stored and its failure record goes.
    let healthy = LaddrServer::start(site, Faults::none()).unwrap();
    let (third, requests) = count(&healthy, &|| fetch(&healthy, &dir, &[]));
    assert!(
        matches!(line_of(&third), MediaLine::Stored(_)),
        "{}",
        third.stderr
    );
    assert_eq!(requests, 1);
    assert!(store.contains(photo));
    assert_eq!(store.failure(photo).unwrap(), None);
}

/// The raw bytes the server sends for a medium.
fn http_bytes(base: &str, id: u64) -> Vec<u8> {
    let mut s = std::net::TcpStream::connect(base.trim_start_matches("http://")).unwrap();
    write!(
        s,
        "GET /media/{id}/original HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = Vec::new();
    s.read_to_end(&mut out).unwrap();
    let head_end = out.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
    out.split_off(head_end)
}

#[test]
fn never_a_conditional_request_or_a_json_accept() {
    let site = small_site();
    let photo = photos(&site)[0];
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    // The trap is live: laddr answers any conditional request with a bodiless 304, and a JSON
    // Accept with the record instead of the bytes.
    let mut s = std::net::TcpStream::connect(server.url().trim_start_matches("http://")).unwrap();
    write!(s, "GET /media/{photo}/original HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"x\"\r\nConnection: close\r\n\r\n").unwrap();
    let mut head = String::new();
    s.read_to_string(&mut head).unwrap();
    assert!(head.starts_with("HTTP/1.1 304"), "{head}");
    let before = server.media_stats();
    assert_eq!(before.conditional, 1);

    let tmp = tempfile::tempdir().unwrap();
    let out = fetch(&server, tmp.path(), &[]);
    let stats = server.media_stats();
    assert!(stats.requests > before.requests);
    assert_eq!(
        stats.conditional, 1,
        "laddr-fetch sent no conditional request"
    );
    assert_eq!(stats.json_accept, 0, "laddr-fetch sent no JSON Accept");
    let lines = media_lines(&out.stdout);
    assert!(
        lines
            .iter()
            .any(|l| l.id() == photo && matches!(l, MediaLine::Stored(_)))
    );
    assert!(lines.iter().all(|l| match l {
        MediaLine::Failed(f) => f.error == "HTTP 404",
        MediaLine::Stored(_) => true,
    }));
}

#[test]
fn server_errors_resets_and_truncation_are_retried_and_429_waits_for_retry_after() {
    let site = small_site();
    let photos = photos(&site);
    let faults = Faults::none()
        .with_rule("media", Some(photos[0]), 2, FaultKind::Status(503))
        .with_rule("media", Some(photos[1]), 1, FaultKind::Reset)
        .with_rule("media", Some(photos[2]), 1, FaultKind::Truncate);
    let server = LaddrServer::start(site.clone(), faults).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let rep_path = tmp.path().join("r.json");
    let out = fetch(
        &server,
        &tmp.path().join("m"),
        &[&format!("--json={}", rep_path.display())],
    );
    let lines = media_lines(&out.stdout);
    for id in &photos[..3] {
        let line = lines.iter().find(|l| l.id() == *id).unwrap();
        assert!(
            matches!(line, MediaLine::Stored(_)),
            "{line:?} {}",
            out.stderr
        );
    }
    assert_eq!(report(&rep_path)["media"]["retries"], 4);

    // 429 with Retry-After: 1 is waited out (the backoff alone would be 5 ms at most).
    let server = LaddrServer::start(
        site,
        Faults::none().with_rule(
            "media",
            Some(photos[0]),
            1,
            FaultKind::TooManyRequests {
                retry_after: "1".into(),
            },
        ),
    )
    .unwrap();
    let started = Instant::now();
    let out = fetch(&server, &tmp.path().join("m2"), &[]);
    assert!(started.elapsed() >= Duration::from_secs(1));
    let line = media_lines(&out.stdout)
        .into_iter()
        .find(|l| l.id() == photos[0])
        .unwrap();
    assert!(matches!(line, MediaLine::Stored(_)), "{line:?}");
}

#[test]
fn over_the_cap_and_gave_up_are_failure_lines_with_nothing_stored() {
    let site = small_site();
    let photos = photos(&site);
    let faults = Faults::none().with_rule("media", Some(photos[1]), 99, FaultKind::Status(500));
    let server = LaddrServer::start(site, faults).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("m");
    let out = fetch(
        &server,
        &dir,
        &["--media-max-bytes", "2000", "--retries", "2"],
    );
    assert_eq!(out.code, 1);
    let store = MediaDir::open(&dir).unwrap();
    for line in media_lines(&out.stdout) {
        match line {
            MediaLine::Failed(f) if f.id == photos[1] => {
                assert_eq!(f.error, "HTTP 500 (gave up after 3 attempt(s))");
            }
            MediaLine::Failed(f) if f.error != "HTTP 404" => {
                assert!(f.error.starts_with("over the 2000-byte cap"), "{f:?}");
                assert!(!store.contains(f.id) && !store.bytes_path(f.id).exists());
            }
            MediaLine::Stored(m) => assert!(m.size <= 2000, "{m:?}"),
            MediaLine::Failed(_) => {}
        }
    }
    assert!(
        out.stderr
            .contains(&format!("laddr-fetch: media {}", photos[1])),
        "{}",
        out.stderr
    );
    // Everything else is still written.
    assert!(String::from_utf8_lossy(&out.stdout).contains("\"resource\":\"blog\",\"end\""));
}

#[test]
fn offline_replays_the_media_lines_byte_for_byte() {
    let site = small_site();
    let server = LaddrServer::start(site, Faults::none()).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let cache_dir = cache.path().to_str().unwrap();
    let online = run(
        &server.url(),
        &["--resources", "people,blog", "--cache-dir", cache_dir],
    );
    assert_eq!(online.code, 1, "{}", online.stderr);
    assert!(
        cache.path().join("media").is_dir(),
        "media under <cache>/media"
    );
    let url = server.url();
    drop(server);
    let replay = || {
        let offline = ["--resources", "people,blog", "--offline", "--cache-dir"];
        run(&url, &[&offline[..], &[cache_dir]].concat())
    };
    let offline = replay();
    assert_eq!(offline.stdout, online.stdout);
    assert_eq!(offline.code, 1);
    // A medium gone from the cache is said to be so.
    let store = MediaDir::open(cache.path().join("media")).unwrap();
    let gone = store.ids().unwrap()[0];
    std::fs::remove_file(store.sidecar_path(gone)).unwrap();
    let offline = replay();
    let line = media_lines(&offline.stdout)
        .into_iter()
        .find(|l| l.id() == gone)
        .unwrap();
    assert!(
        matches!(&line, MediaLine::Failed(f) if f.error == "not in cache"),
        "{line:?}"
    );
}

#[test]
fn concurrency_is_bounded() {
    let site = small_site();
    let n = referenced(&site).len();
    assert!(n >= 6, "{n}");
    let server = LaddrServer::start(
        site,
        Faults::none().with_latency(Duration::from_millis(150)),
    )
    .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    fetch(
        &server,
        &tmp.path().join("a"),
        &["--media-concurrency", "3"],
    );
    assert_eq!(server.media_stats().peak_in_flight, 3);
    let server2 = LaddrServer::start(
        small_site(),
        Faults::none().with_latency(Duration::from_millis(50)),
    )
    .unwrap();
    fetch(
        &server2,
        &tmp.path().join("b"),
        &["--media-concurrency", "1"],
    );
    assert_eq!(server2.media_stats().peak_in_flight, 1);
}

#[test]
fn media_references_follow_the_translate_rule() {
    // The hand-made list above and the shared rule agree on the committed site.
    let site = small_site();
    let rows = site
        .people
        .iter()
        .map(|r| (Resource::People, r))
        .chain(site.blog.iter().map(|r| (Resource::Blog, r)));
    let shared: BTreeSet<u64> = translate::media_references(rows)
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(shared, referenced(&site));
}

#[test]
fn the_rows_go_out_before_the_media_are_fetched() {
    // sheet-write translates the rows while the media come in: every row and end line is on
    // stdout while the first medium is still held back by the server; the media lines and
    // the report (with its media) come after it.
    let site = small_site();
    let held = Duration::from_millis(2000);
    let slow = Faults::none().with_rule("media", None, 1, FaultKind::Delay(held));
    let server = LaddrServer::start(site, slow).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let rep_path = tmp.path().join("report.json");
    let started = Instant::now();
    let mut child = std::process::Command::new(common::BIN)
        .args(["--source-url", &server.url(), "--delay-ms", "0", "-q"])
        .arg(format!("--media-dir={}", tmp.path().join("m").display()))
        .arg(format!("--json={}", rep_path.display()))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let (mut ends, mut rows_done, mut media_at) = (0, None, None);
    for line in std::io::BufRead::lines(stdout) {
        match lines::parse_laddr_line(&line.unwrap()).unwrap() {
            Some(LaddrLine::End(..)) => {
                ends += 1;
                if ends == Resource::ALL.len() {
                    rows_done = Some(started.elapsed());
                    assert!(!rep_path.exists(), "the report waits for the media");
                }
            }
            Some(LaddrLine::Media(_)) => {
                assert_eq!(
                    ends,
                    Resource::ALL.len(),
                    "media lines follow every end line"
                );
                media_at.get_or_insert(started.elapsed());
            }
            Some(LaddrLine::Row(_)) => assert!(media_at.is_none(), "a row after a media line"),
            _ => {}
        }
    }
    assert!(child.wait().unwrap().code().unwrap() < 2);
    let (rows_done, media_at) = (rows_done.unwrap(), media_at.unwrap());
    assert!(
        rows_done + held / 2 < media_at,
        "rows done at {rows_done:?}, first media line at {media_at:?}"
    );
    assert!(report(&rep_path)["media"]["referenced"].as_u64().unwrap() > 0);
}
