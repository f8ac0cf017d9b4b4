//! Test support (feature `browser`): a page through headless Chromium, Debian's `chromium`,
//! which `cargo xtask test` installs. Every crate whose page is checked in a real browser uses
//! these, so the flags, the blank-screenshot rule and the phone-width rule live in one place.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Where Debian puts Chromium.
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// The phone width the pages must fit (an iPhone 12–15's CSS pixels).
pub const PHONE_WIDTH: u32 = 390;

/// Chromium, or `None` (with a note on stderr) when it is missing outside CI; under `CI` a
/// missing Chromium panics, so the browser tests cannot pass by skipping.
pub fn chromium() -> Option<PathBuf> {
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

/// Runs headless Chromium on `page` with `extra` flags, its profile in `dir`.
pub fn headless(dir: &Path, extra: &[&str], page: &Path) -> Output {
    let out = Command::new(CHROMIUM)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
        ])
        .arg(format!("--user-data-dir={}", dir.join("profile").display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap_or_else(|e| panic!("{CHROMIUM} does not run: {e}"));
    assert!(out.status.success(), "chromium failed: {out:?}");
    out
}

/// The DOM Chromium built from the page file `page` (after load, scripts run).
pub fn dump_dom(page: &Path) -> String {
    let dir = scratch(page);
    let out = headless(&dir, &["--dump-dom"], page);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A screenshot of `page` at `width`×`height`, checked not blank: more than 2% of its pixels
/// differ from the background (the top-left pixel). Returns that count.
pub fn screenshot_not_blank(page: &Path, width: u32, height: u32) -> usize {
    let dir = scratch(page);
    let png = dir.join(format!("shot-{width}.png"));
    let shot = format!("--screenshot={}", png.display());
    let size = format!("--window-size={width},{height}");
    headless(&dir, &[&shot, &size], page);
    let bytes = std::fs::read(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
    let image = Png::decode(&bytes);
    assert_eq!(
        (image.width, image.height),
        (width as usize, height as usize)
    );
    let pixels: Vec<&[u8]> = image.data.chunks(image.channels).collect();
    let background = pixels[0];
    let ink = pixels.iter().filter(|p| *p != &background).count();
    assert!(
        ink * 50 > pixels.len(),
        "{}: {ink} of {} pixels differ from the background: blank screenshot?",
        page.display(),
        pixels.len()
    );
    ink
}

/// The page's document width when laid out `width` CSS pixels wide, and that width: the page
/// is loaded in an iframe of that width (headless windows are never narrower than 500 px) and
/// a script of the test's own reads `scrollWidth`. The vertical scrollbar is hidden, as a
/// phone's overlays the page instead of taking its width.
pub fn laid_out_width(page: &Path, width: u32) -> (u64, u64) {
    let dir = scratch(page);
    let harness = dir.join(format!("narrow-{width}.html"));
    let src = std::fs::canonicalize(page).unwrap_or_else(|e| panic!("{}: {e}", page.display()));
    let html = format!(
        "<!DOCTYPE html><html><body style=\"margin:0\"><iframe id=\"f\" src=\"file://{}\" \
         style=\"width:{width}px;height:844px;border:0\"></iframe><script>\
         const f=document.getElementById('f');f.onload=()=>{{\
         const d=f.contentDocument.documentElement;d.style.overflowY='hidden';\
         document.body.dataset.scroll=d.scrollWidth;document.body.dataset.client=d.clientWidth;}};\
         </script></body></html>",
        src.display()
    );
    std::fs::write(&harness, html).unwrap_or_else(|e| panic!("{}: {e}", harness.display()));
    let out = headless(
        &dir,
        &["--allow-file-access-from-files", "--dump-dom"],
        &harness,
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    let attr = |name: &str| -> u64 {
        let key = format!("data-{name}=\"");
        let at = dom
            .find(&key)
            .unwrap_or_else(|| panic!("no {key} in the harness DOM:\n{dom}"));
        let rest = &dom[at + key.len()..];
        rest[..rest.find('"').unwrap_or(0)]
            .parse()
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    };
    (attr("scroll"), attr("client"))
}

/// Asserts the page fits [`PHONE_WIDTH`] with no horizontal scrolling and that a screenshot
/// at that width is not blank.
pub fn assert_fits_a_phone(page: &Path) {
    let (scroll, client) = laid_out_width(page, PHONE_WIDTH);
    assert_eq!(
        client,
        u64::from(PHONE_WIDTH),
        "the iframe's width ({scroll} scrolled)"
    );
    assert!(
        scroll <= client,
        "{}: {scroll} px wide at {client} px: horizontal overflow",
        page.display()
    );
    screenshot_not_blank(page, PHONE_WIDTH, 844);
}

/// A scratch directory beside the page for Chromium's profile and the screenshots.
fn scratch(page: &Path) -> PathBuf {
    let stem = page.file_stem().and_then(|s| s.to_str()).unwrap_or("page");
    let dir = page
        .parent()
        .unwrap_or(Path::new("."))
        .join(format!(".{stem}-chromium"));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// An 8-bit RGB or RGBA PNG, unfiltered (what Chromium's screenshots are).
pub struct Png {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Bytes per pixel (3 or 4).
    pub channels: usize,
    /// The pixels, row after row.
    pub data: Vec<u8>,
}

impl Png {
    /// Decodes `png` (non-interlaced, 8 bits per channel; anything else panics).
    pub fn decode(png: &[u8]) -> Png {
        assert_eq!(png.get(..8), Some(&b"\x89PNG\r\n\x1a\n"[..]), "not a PNG");
        let (mut header, mut idat) = (Vec::new(), Vec::new());
        let mut at = 8;
        while at + 8 <= png.len() {
            let len = u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]) as usize;
            let body = &png[at + 8..at + 8 + len];
            match &png[at + 4..at + 8] {
                b"IHDR" => header = body.to_vec(),
                b"IDAT" => idat.extend_from_slice(body),
                _ => {}
            }
            at += 12 + len;
        }
        let be =
            |i: usize| u32::from_be_bytes([header[i], header[i + 1], header[i + 2], header[i + 3]]);
        let (width, height) = (be(0) as usize, be(4) as usize);
        assert_eq!(header[8], 8, "bit depth");
        assert_eq!(header[12], 0, "interlaced");
        let channels = match header[9] {
            2 => 3,
            6 => 4,
            other => panic!("colour type {other}"),
        };
        let mut raw = Vec::new();
        flate2::read::ZlibDecoder::new(&idat[..])
            .read_to_end(&mut raw)
            .unwrap_or_else(|e| panic!("inflating the PNG: {e}"));
        let data = unfilter(&raw, width * channels, channels);
        assert_eq!(data.len(), width * height * channels, "pixel bytes");
        Png {
            width,
            height,
            channels,
            data,
        }
    }
}

/// Undoes the per-row PNG filters (none, sub, up, average, Paeth).
fn unfilter(raw: &[u8], stride: usize, bpp: usize) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(raw.len());
    for (r, row) in raw.chunks(stride + 1).enumerate() {
        let (filter, row) = (row[0], &row[1..]);
        let start = out.len();
        for (i, &x) in row.iter().enumerate() {
            let a = if i >= bpp { out[start + i - bpp] } else { 0 };
            let b = if r > 0 { out[start + i - stride] } else { 0 };
            let c = if r > 0 && i >= bpp {
                out[start + i - stride - bpp]
            } else {
                0
            };
            let predicted = match filter {
                0 => 0,
                1 => a,
                2 => b,
                3 => ((u16::from(a) + u16::from(b)) / 2) as u8,
                4 => paeth(a, b, c),
                other => panic!("PNG filter {other}"),
            };
            out.push(x.wrapping_add(predicted));
        }
    }
    out
}

fn paeth(a: u8, b: u8, c: u8) -> u8 {
    let p = i16::from(a) + i16::from(b) - i16::from(c);
    let (pa, pb, pc) = (
        (p - i16::from(a)).abs(),
        (p - i16::from(b)).abs(),
        (p - i16::from(c)).abs(),
    );
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Block, Page, Section};

    #[test]
    fn a_blank_page_is_caught_and_a_report_is_not() {
        if chromium().is_none() {
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let blank = dir.path().join("blank.html");
        std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").unwrap();
        let caught = std::panic::catch_unwind(|| screenshot_not_blank(&blank, 400, 300));
        assert!(caught.is_err(), "a blank page passed");
        let wide = dir.path().join("wide.html");
        std::fs::write(&wide, "<!DOCTYPE html><div style=\"width:600px\">x</div>").unwrap();
        let (scroll, client) = laid_out_width(&wide, PHONE_WIDTH);
        assert!(scroll > client, "600 px in {client}: {scroll}");
        let page = Page {
            title: "a report".into(),
            passed: true,
            facts: vec![("runAt".into(), "now".into())],
            sections: vec![Section::new("Notes", vec![Block::Note("text".into())])],
        };
        let file = dir.path().join("page.html");
        std::fs::write(&file, page.render()).unwrap();
        assert!(screenshot_not_blank(&file, 400, 300) > 0);
        assert_fits_a_phone(&file);
    }
}
