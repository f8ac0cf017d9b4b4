//! `sheet-write --media-dir` through the real binary and real bare repos (checked with
//! `git fsck`): reference items 20–24 and 34 with real decoded images, re-runs that are
//! no-ops, a changed photo that replaces exactly its two files, failing media and runs without
//! `--media-dir` that delete no attachment, and a photo gone upstream.

mod common;

use common::*;
use image::{DynamicImage, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage};
use serde_json::{Value, json};
use std::path::Path;

const RED: [u8; 3] = [220, 20, 20];
const GREEN: [u8; 3] = [20, 200, 20];
const BLUE: [u8; 3] = [20, 20, 220];
const YELLOW: [u8; 3] = [230, 220, 20];

fn encode(img: DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// 300×200: red | green | yellow | blue; its centre square is green then yellow.
fn wide_png() -> Vec<u8> {
    let img = RgbImage::from_fn(300, 200, |x, _| {
        Rgb(match x {
            0..50 => RED,
            50..150 => GREEN,
            150..250 => YELLOW,
            _ => BLUE,
        })
    });
    encode(DynamicImage::ImageRgb8(img), ImageFormat::Png)
}

/// Stored 200×100 red over blue, EXIF orientation 6: displayed blue left, red right.
fn rotated_jpeg() -> Vec<u8> {
    let img = RgbImage::from_fn(200, 100, |_, y| Rgb(if y < 50 { RED } else { BLUE }));
    let exif = [
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
    ];
    let mut out = Vec::new();
    let mut enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 95);
    enc.set_exif_metadata(exif.to_vec()).unwrap();
    enc.write_image(img.as_raw(), 200, 100, image::ExtendedColorType::Rgb8)
        .unwrap();
    out
}

fn gif(c: [u8; 3]) -> Vec<u8> {
    let img = RgbaImage::from_pixel(64, 48, Rgba([c[0], c[1], c[2], 255]));
    encode(DynamicImage::ImageRgba8(img), ImageFormat::Gif)
}

fn store(dir: &Path, id: u64, content_type: &str, bytes: &[u8]) {
    let media = media::MediaDir::open(dir).unwrap();
    let url = format!("https://codeforphilly.org/media/{id}/original");
    media
        .put(&media::meta_for(id, &url, content_type, bytes), bytes)
        .unwrap();
}

fn person(id: i64, username: &str, photo: Option<u64>) -> String {
    line(
        "people",
        json!({"ID": id, "Class": "Emergence\\People\\User", "Username": username,
               "FirstName": username, "AccountLevel": "User", "Created": 1377126953,
               "Modified": 1377130000, "PrimaryPhotoID": photo, "Tags": []}),
    )
}

/// Items 20–24: a Media item with a caption, an inline thumbnail, and a PDF asset.
fn post() -> String {
    line(
        "blog",
        json!({"ID": 70, "Class": "Emergence\\CMS\\BlogPost", "Handle": "launchpad", "Title": "Launchpad",
               "Status": "Published", "Visibility": "Public", "Created": 1746028000,
               "Published": 1746028800, "Modified": 1746028800,
               "items": [
                 {"ID": 1, "Class": "Emergence\\CMS\\Item\\Media", "Order": 1,
                  "Data": {"MediaID": 3349, "Caption": "2023 Launchpad kick-off"}},
                 {"ID": 2, "Class": "Emergence\\CMS\\Item\\Markdown", "Order": 2,
                  "Data": "![hero](https://codeforphilly.org/thumbnail/2953/700x700)"},
                 {"ID": 3, "Class": "Emergence\\CMS\\Item\\Media", "Order": 3,
                  "Data": {"MediaID": 900, "Caption": "Minutes"}}]}),
    )
}

fn input(carol_photo: Option<u64>, alice_photo: u64, extra: &str) -> String {
    let mut s = person(10, "alice", Some(alice_photo));
    s += &person(11, "bob", Some(556));
    s += &person(12, "carol", carol_photo);
    s += &person(13, "dave", Some(558));
    s += &post();
    s += r#"{"v":1,"media":{"id":558,"url":"https://codeforphilly.org/media/558/original","error":"HTTP 404"}}"#;
    s += "\n";
    s + extra
}

fn run(bare: &Path, media_dir: Option<&Path>, input: &str) -> (Run, Value) {
    let json = bare.with_extension(format!("report-{}.json", rand_suffix()));
    let mut args = vec![
        format!("--data-repo={}", bare.display()),
        format!("--now={NOW}"),
        "--allow-missing-resources".to_owned(),
        format!("--json={}", json.display()),
    ];
    if let Some(dir) = media_dir {
        args.push(format!("--media-dir={}", dir.display()));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let r = sheet_write(&args, input);
    assert!(r.code == 0, "{}", r.stderr);
    fsck(bare);
    let report = read_json(&json);
    (r, report)
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

fn jpeg_at(files: &std::collections::BTreeMap<String, Vec<u8>>, path: &str) -> RgbImage {
    image::load_from_memory_with_format(&files[path], ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
}

fn near(p: &Rgb<u8>, want: [u8; 3]) -> bool {
    p.0.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40)
}

fn media_dir(tmp: &Path) -> std::path::PathBuf {
    let dir = tmp.join("media");
    store(&dir, 555, "image/png", &wide_png());
    store(&dir, 556, "image/jpeg", &rotated_jpeg());
    store(&dir, 557, "image/gif", &gif(GREEN));
    store(&dir, 3349, "image/png", &wide_png());
    store(&dir, 2953, "image/jpeg", &rotated_jpeg());
    store(&dir, 900, "application/pdf", b"%PDF-1.4 minutes");
    dir
}

#[test]
fn avatars_and_blog_assets_are_written_with_their_records() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let dir = media_dir(tmp.path());
    let (r, report) = run(&bare, Some(&dir), &input(Some(557), 555, ""));
    let files = read_tree(&bare, BRANCH);

    // Item 34 with real pixels: alice's avatar is the centre of her wide PNG.
    let full = jpeg_at(&files, "people/alice/avatar.jpg");
    assert_eq!(full.dimensions(), (200, 200));
    assert!(near(full.get_pixel(3, 100), GREEN) && near(full.get_pixel(196, 100), YELLOW));
    assert_eq!(
        jpeg_at(&files, "people/alice/avatar-128.jpg").dimensions(),
        (128, 128)
    );
    let alice = String::from_utf8(files["people/alice.toml"].clone()).unwrap();
    assert!(
        alice.contains("avatarKey = \"people/alice/avatar.jpg\""),
        "{alice}"
    );
    // bob's EXIF-rotated JPEG is upright; carol's GIF is its first frame.
    let bob = jpeg_at(&files, "people/bob/avatar.jpg");
    assert!(near(bob.get_pixel(10, 50), BLUE) && near(bob.get_pixel(90, 50), RED));
    assert!(near(
        jpeg_at(&files, "people/carol/avatar.jpg").get_pixel(24, 24),
        GREEN
    ));
    // dave's photo failed upstream: no avatar, a warning, and the reason in the report.
    assert!(!files.keys().any(|p| p.starts_with("people/dave/")));
    assert!(r.stderr.contains(
        "[people] avatar fetch failed: https://codeforphilly.org/media/558/original (/dave)"
    ));
    let people = &report["media"]["people"];
    assert_eq!(people["written"], 3);
    assert_eq!(
        people["failed"],
        json!([{"legacyId": 13, "mediaId": 558, "reason": "HTTP 404"}])
    );

    // Items 20–24: the assets and the rewritten body; the PDF is a warning and no asset.
    let png = "blog-posts/launchpad/2023-launchpad-kick-off-3349.png";
    assert_eq!(files[png], wide_png());
    assert!(files.contains_key("blog-posts/launchpad/image-2953.jpg"));
    assert!(!files.keys().any(|p| p.contains("-900.")));
    let body = String::from_utf8(files["blog-posts/launchpad.md"].clone()).unwrap();
    assert!(body.contains("![2023 Launchpad kick-off](/api/attachments/blog-posts/launchpad/2023-launchpad-kick-off-3349.png)"), "{body}");
    assert!(body.contains("![hero](/api/attachments/blog-posts/launchpad/image-2953.jpg)"));
    assert!(body.contains("![Minutes](cfp-media:900)"));
    assert!(
        r.stderr
            .contains("media=900 Content-Type \"application/pdf\" is not an image; no asset")
    );
    assert_eq!(report["media"]["blog-posts"]["written"], 2);
    assert_eq!(report["media"]["blog-posts"]["failed"][0]["mediaId"], 900);
}

#[test]
fn a_blog_image_whose_bytes_are_not_an_image_is_a_warning_and_no_asset() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let dir = media_dir(tmp.path());
    // laddr's answer for a file lost on disk, under the record's image type.
    let page = b"<html><body><h1>Not Found</h1></body></html>";
    store(&dir, 3349, "image/png", page);
    let (r, report) = run(&bare, Some(&dir), &input(Some(557), 555, ""));
    let files = read_tree(&bare, BRANCH);
    assert!(!files.keys().any(|p| p.contains("-3349.")), "no asset");
    let body = String::from_utf8(files["blog-posts/launchpad.md"].clone()).unwrap();
    assert!(
        body.contains("(cfp-media:3349)"),
        "the placeholder stays: {body}"
    );
    assert!(
        r.stderr
            .contains("media=3349 the bytes are not a readable png image"),
        "{}",
        r.stderr
    );
    assert_eq!(report["media"]["blog-posts"]["written"], 1);
    let failed = report["media"]["blog-posts"]["failed"].as_array().unwrap();
    assert!(failed.iter().any(|f| f["mediaId"] == 3349), "{failed:?}");
}

#[test]
fn a_rerun_takes_avatars_from_the_derived_cache_without_reading_the_photos() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let dir = media_dir(tmp.path());
    run(&bare, Some(&dir), &input(Some(557), 555, ""));
    let first = rev(&bare, BRANCH).unwrap();
    // Damage alice's photo on disk (same size): reading it now fails its digest check.
    damage(&dir, 555);
    let (r, again) = run(&bare, Some(&dir), &input(Some(557), 555, ""));
    assert_eq!(again["noChanges"], true, "{}", r.stderr);
    assert_eq!(rev(&bare, BRANCH).unwrap(), first);
    assert_eq!(again["media"]["people"]["written"], 3, "{again}");
    assert!(!r.stderr.contains("SHA-256"), "{}", r.stderr);
    // A repo without the avatars (no noted blobs to keep) gets them from the cache, the
    // photo still unread: the same files as the first repo's.
    let other = fresh_clone(&tmp.path().join("other"));
    let (r, fresh) = run(&other, Some(&dir), &input(Some(557), 555, ""));
    assert_eq!(fresh["media"]["people"]["written"], 3, "{}", r.stderr);
    assert!(!r.stderr.contains("SHA-256"), "{}", r.stderr);
    let avatar = "people/alice/avatar.jpg";
    assert_eq!(
        owned_files(&read_tree(&other, BRANCH))[avatar],
        owned_files(&read_tree(&bare, BRANCH))[avatar]
    );
}

/// Flip the last byte of `id`'s bytes on disk (same size): reading them fails their digest.
fn damage(dir: &Path, id: u64) {
    let path = media::MediaDir::open(dir).unwrap().bytes_path(id);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, &bytes).unwrap();
}

#[test]
fn a_rerun_whose_parent_holds_the_noted_blobs_reads_no_media() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let dir = media_dir(tmp.path());
    let (_, first_report) = run(&bare, Some(&dir), &input(Some(557), 555, ""));
    let first = rev(&bare, BRANCH).unwrap();
    // Neither the blog image nor the derived avatars can be read now; only the blob ids
    // noted beside the derived files say what the parent tree holds.
    damage(&dir, 3349);
    let derived = dir.join("derived").join(media_process::cache::VERSION);
    for entry in std::fs::read_dir(&derived).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "jpg") {
            std::fs::remove_file(path).unwrap();
        }
    }
    let (r, again) = run(&bare, Some(&dir), &input(Some(557), 555, ""));
    assert_eq!(again["noChanges"], true, "{}", r.stderr);
    assert_eq!(rev(&bare, BRANCH).unwrap(), first);
    assert_eq!(again["media"], first_report["media"], "{}", r.stderr);
    assert!(!r.stderr.contains("SHA-256"), "{}", r.stderr);

    // A note is no proof on its own: where the parent lacks the file, the bytes are read
    // (and the damaged image fails its digest check, reported, no asset).
    let fresh = fresh_clone(&tmp.path().join("second"));
    let (r, report) = run(&fresh, Some(&dir), &input(Some(557), 555, ""));
    let failed = report["media"]["blog-posts"]["failed"].as_array().unwrap();
    assert!(
        failed
            .iter()
            .any(|f| f["mediaId"] == 3349 && f["reason"].as_str().unwrap().contains("SHA-256")),
        "{report}\n{}",
        r.stderr
    );
    assert_eq!(report["media"]["people"]["written"], 3, "{report}");
}

#[test]
fn attachments_are_never_lost_and_a_rerun_is_a_no_op() {
    let tmp = tempfile::tempdir().unwrap();
    let bare = fresh_clone(tmp.path());
    let dir = media_dir(tmp.path());
    run(&bare, Some(&dir), &input(Some(557), 555, ""));
    let first = rev(&bare, BRANCH).unwrap();

    // The same run again, and a run without --media-dir: same blobs, branch not moved.
    let (_, again) = run(&bare, Some(&dir), &input(Some(557), 555, ""));
    assert_eq!(again["noChanges"], true);
    let (_, plain) = run(&bare, None, &input(Some(557), 555, ""));
    assert_eq!(plain["noChanges"], true);
    assert_eq!(plain["media"]["people"]["kept"], 3);
    assert_eq!(rev(&bare, BRANCH).unwrap(), first);

    // alice's photo changes upstream: exactly her two files change.
    store(&dir, 600, "image/gif", &gif(BLUE));
    run(&bare, Some(&dir), &input(Some(557), 600, ""));
    let second = rev(&bare, BRANCH).unwrap();
    assert_eq!(
        git(&bare, &["diff", "--name-status", &first, &second]),
        "M\tpeople/alice/avatar-128.jpg\nM\tpeople/alice/avatar.jpg\n"
    );

    // bob's photo fails this time: his attachment and avatarKey stay.
    let failing = tmp.path().join("media-failing");
    std::fs::create_dir_all(&failing).unwrap();
    for id in [555, 557, 600, 3349, 2953, 900] {
        std::fs::copy(dir.join(id.to_string()), failing.join(id.to_string())).unwrap();
        std::fs::copy(
            dir.join(format!("{id}.json")),
            failing.join(format!("{id}.json")),
        )
        .unwrap();
    }
    let failed_line = r#"{"v":1,"media":{"id":556,"url":"https://codeforphilly.org/media/556/original","error":"HTTP 500"}}"#;
    let (_, report) = run(
        &bare,
        Some(&failing),
        &input(Some(557), 600, &format!("{failed_line}\n")),
    );
    assert_eq!(rev(&bare, BRANCH).unwrap(), second);
    let failed = report["media"]["people"]["failed"]
        .as_array()
        .unwrap()
        .clone();
    assert!(failed.contains(&json!({"legacyId": 11, "mediaId": 556, "reason": "HTTP 500"})));

    // carol's PrimaryPhotoID is gone upstream: her two files and avatarKey go, reported.
    let (_, report) = run(&bare, Some(&dir), &input(None, 600, ""));
    let third = rev(&bare, BRANCH).unwrap();
    assert_eq!(
        git(&bare, &["diff", "--name-status", &second, &third]),
        "M\tpeople/carol.toml\nD\tpeople/carol/avatar-128.jpg\nD\tpeople/carol/avatar.jpg\n"
    );
    assert_eq!(report["media"]["people"]["removed"], 1);
    let carol = git(&bare, &["show", &format!("{third}:people/carol.toml")]);
    assert!(!carol.contains("avatarKey"));
}
