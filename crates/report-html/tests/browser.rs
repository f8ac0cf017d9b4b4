//! The page through a real browser: headless Chromium dumps the DOM and takes a screenshot.
//! Without `/usr/bin/chromium` (installed by `cargo xtask test`) the test fails under `CI` and
//! says so otherwise.

use report_html::{Bar, Block, Cell, Page, Section, Stage};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const CHROMIUM: &str = "/usr/bin/chromium";
const EVIL: &str = "Mallory <script>document.title='owned'</script>";

/// The embedded fixture's dry-run shape with a planted failing smoke stage and an evil name.
fn fixture_page() -> Page {
    let stage = |name: &str, ok, duration_ms| Stage {
        name: name.into(),
        ok,
        duration_ms,
    };
    let bar = |label: &str, reference, value| Bar {
        label: label.into(),
        reference: Some(reference),
        value,
        ok: reference == value,
    };
    Page {
        title: "dry-run codeforphilly.org".into(),
        passed: false,
        facts: vec![("sourceHost".into(), "codeforphilly.org".into())],
        sections: vec![
            Section {
                heading: "Stages".into(),
                blocks: vec![Block::Stages(vec![
                    stage("import", true, 1520),
                    stage("countDiff", true, 40),
                    stage("smoke", false, 880),
                ])],
            },
            Section {
                heading: "Counts".into(),
                blocks: vec![Block::Bars(vec![
                    bar("people", 42, 42),
                    bar("projects", 17, 16),
                ])],
            },
            Section {
                heading: "Smoke".into(),
                blocks: vec![Block::Table {
                    head: vec!["route".into(), "result".into()],
                    rows: vec![vec![Cell::text(EVIL), Cell::status("failed 1 of 3", false)]],
                }],
            },
        ],
    }
}

fn chromium() -> Option<PathBuf> {
    let p = Path::new(CHROMIUM);
    if p.exists() {
        return Some(p.to_path_buf());
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{CHROMIUM} is missing; `cargo xtask test` installs it"
    );
    eprintln!("skipping: {CHROMIUM} is missing (run `cargo xtask test` to install it)");
    None
}

fn headless(dir: &Path, extra: &[&str], page: &Path) -> std::process::Output {
    let profile = dir.join("profile");
    Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("chromium runs")
}

#[test]
fn numbers_statuses_and_escaping_survive_a_real_browser() {
    if chromium().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, fixture_page().render()).unwrap();
    let out = headless(dir.path(), &["--dump-dom"], &file);
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "chromium failed: {out:?}");
    // The script did not run (the title is ours) and arrives as text.
    assert!(
        dom.contains("<title>dry-run codeforphilly.org</title>"),
        "{dom}"
    );
    assert!(dom.contains("Mallory &lt;script&gt;document.title='owned'&lt;/script&gt;"));
    assert!(!dom.contains("<script>"));
    // The planted failing stage shows as failed; the others as passed.
    assert!(
        dom.contains(r#"data-stage="smoke" data-status="failed""#),
        "{dom}"
    );
    assert!(dom.contains(r#"data-stage="import" data-status="passed""#));
    assert!(dom.contains("failed · 880 ms"));
    assert!(dom.contains(r#"id="verdict" class="verdict failed" data-status="failed">FAILED<"#));
    // The count bars carry the numbers, imported / laddr.
    assert!(dom.contains(">16 / 17</text>"));
    assert!(dom.contains(">42 / 42</text>"));
    assert!(dom.contains(r#"<td class="failed" data-status="failed">failed 1 of 3</td>"#));
}

#[test]
fn the_screenshot_is_not_blank() {
    if chromium().is_none() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("report.html");
    std::fs::write(&file, fixture_page().render()).unwrap();
    let png = dir.path().join("shot.png");
    let arg = format!("--screenshot={}", png.display());
    let out = headless(dir.path(), &[&arg, "--window-size=800,900"], &file);
    assert!(out.status.success(), "chromium failed: {out:?}");
    let bytes = std::fs::read(&png).unwrap();
    if let Some(keep) = std::env::var_os("REPORT_HTML_SHOT") {
        std::fs::write(keep, &bytes).unwrap();
    }
    let pixels = png_pixels(&bytes);
    assert!(pixels.len() > 800 * 900, "{} bytes of pixels", pixels.len());
    // A blank page inflates to almost only 0xff (and filter bytes); ours has text and colour.
    let mut seen = [0usize; 256];
    for &b in &pixels {
        seen[b as usize] += 1;
    }
    let variety = seen.iter().filter(|&&n| n > 50).count();
    assert!(
        variety > 40,
        "only {variety} byte values: blank screenshot?"
    );
    let not_white = pixels.iter().filter(|&&b| b < 0xf0).count();
    assert!(not_white > pixels.len() / 100, "{not_white} dark bytes");
}

/// The inflated IDAT stream of a PNG (filter bytes included): enough to judge variety.
fn png_pixels(png: &[u8]) -> Vec<u8> {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "not a PNG");
    let mut idat = Vec::new();
    let mut at = 8;
    while at + 8 <= png.len() {
        let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
        let kind = &png[at + 4..at + 8];
        if kind == b"IDAT" {
            idat.extend_from_slice(&png[at + 8..at + 8 + len]);
        }
        at += 12 + len;
    }
    let mut out = Vec::new();
    flate2::read::ZlibDecoder::new(&idat[..])
        .read_to_end(&mut out)
        .unwrap();
    out
}
