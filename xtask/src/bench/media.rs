//! Issue 14: avatars per second, `media-process` against `sharp` (the reference importer's
//! image library, installed from the npm registry into `interop/sharp`), on the same source
//! photos and the same number of threads, plus each side's peak memory.

use super::{Args, Row, Section, measure_runs, met, tool};
use crate::proc::root;
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Sizes like laddr's photos (400×400 to 1200×630), one in 25 a large camera frame.
const SIZES: [(u32, u32); 5] = [(400, 400), (600, 600), (800, 450), (1200, 630), (960, 1280)];
const LARGE: (u32, u32) = (3000, 2000);
const PHOTOS: usize = 200;

/// A photo-like JPEG: smooth gradients with deterministic noise (flat colour would flatter
/// both encoders).
fn photo(i: usize) -> Vec<u8> {
    let (w, h) = if i % 25 == 24 {
        LARGE
    } else {
        SIZES[i % SIZES.len()]
    };
    let mut seed = i as u32 * 2_654_435_761 + 1;
    let img = RgbImage::from_fn(w, h, |x, y| {
        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        let n = (seed % 24) as u8;
        let g = |v: u32, m: u32| ((v * 255 / m.max(1)) as u8).saturating_add(n);
        Rgb([g(x, w), g(y, h), g(x + y, w + h)])
    });
    let mut out = std::io::Cursor::new(Vec::new());
    // Writing to memory cannot fail for a valid RGB image.
    let _ = DynamicImage::ImageRgb8(img).write_to(&mut out, ImageFormat::Jpeg);
    out.into_inner()
}

fn write_photos(dir: &Path) -> crate::Result<()> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for i in 0..PHOTOS {
        let path = dir.join(format!("{i:04}.jpg"));
        std::fs::write(&path, photo(i)).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

fn sharp_dir() -> PathBuf {
    root().join("interop/sharp")
}

/// `npm ci` sharp (prebuilt `@img/sharp-*` packages, nothing downloaded outside the registry).
fn install_sharp() -> crate::Result<()> {
    if sharp_dir().join("node_modules/sharp").is_dir() {
        return Ok(());
    }
    eprintln!("xtask: bench media: installing sharp (npm ci in interop/sharp)");
    let ok = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund"])
        .current_dir(sharp_dir())
        .status()
        .is_ok_and(|s| s.success());
    if ok {
        Ok(())
    } else {
        Err("npm ci in interop/sharp failed".into())
    }
}

/// The in-process side (`bench --child avatars DIR THREADS`): every photo's avatar pair.
pub fn child(dir: &Path, threads: usize) -> crate::Result<Duration> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    paths.sort();
    let started = Instant::now();
    let made = ::cli::par::map(&paths, threads, |p| {
        let bytes = std::fs::read(p).map_err(|e| e.to_string())?;
        media_process::avatar(&bytes, media_process::Limits::default())
            .map(|pair| pair.full.len() + pair.small.len())
            .map_err(|e| format!("{}: {e}", p.display()))
    });
    let bytes: usize = made
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?
        .iter()
        .sum();
    std::hint::black_box(bytes);
    Ok(started.elapsed())
}

pub fn run(a: &Args) -> crate::Result<Section> {
    install_sharp()?;
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let photos = tmp.path().join("photos");
    write_photos(&photos)?;
    let threads = ::cli::par::cores();
    let ours = measure_runs("avatars-media-process", tmp.path(), a.runs, &[0], |_| {
        let mut c = tool(std::env::current_exe().map_err(|e| e.to_string())?);
        c.args(["bench", "--child", "avatars"])
            .arg(&photos)
            .arg(threads.to_string());
        Ok(c)
    })?;
    let sharp = measure_runs("avatars-sharp", tmp.path(), a.runs, &[0], |_| {
        let mut c = tool("node");
        c.arg(sharp_dir().join("avatars.mjs"))
            .arg(&photos)
            .arg(threads.to_string())
            .env("UV_THREADPOOL_SIZE", threads.to_string());
        Ok(c)
    })?;
    let rate = |d: Duration| PHOTOS as f64 / d.as_secs_f64().max(1e-9);
    let ratio = rate(ours.median) / rate(sharp.median);
    let row = |name: &str, r: &super::Runs, ratio: f64| Row {
        name: format!("{name}: {:.0} avatars/s", rate(r.median)),
        median: r.median,
        cpu: Some(r.cpu),
        peak_rss: r.peak_rss,
        ratio: format!("{ratio:.2}x"),
    };
    Ok(Section {
        title: format!("avatars: {PHOTOS} photos on {threads} threads"),
        what: format!(
            "{PHOTOS} photo-like JPEGs (400×400 to 1200×630, one in 25 a 3000×2000 frame), each made \
             into `avatar.jpg` (centre square, q85, at most 1024 px) and `avatar-128.jpg` (q80): \
             `media-process` (`image` decoders, `fast_image_resize` Catmull-Rom, `jpeg-encoder`) in one process with {threads} workers, against \
             sharp {ver} (the reference's library; `node interop/sharp/avatars.mjs`, {threads} at \
             a time on a libuv pool of {threads}). The process time includes reading the files and, \
             for sharp, starting node. The ratio is avatars per second against sharp.",
            ver = "0.34.4"
        ),
        rows: vec![
            row("media-process", &ours, ratio),
            row("sharp", &sharp, 1.0),
        ],
        verdicts: vec![format!(
            "At least sharp's throughput on the same threads: {} ({ratio:.2}x).",
            met(ratio >= 1.0)
        )],
    })
}

/// `bench --child avatars DIR THREADS`.
pub fn run_child(args: &[String]) -> crate::Result<ExitCode> {
    let dir = args.get(1).ok_or("avatars needs a directory")?;
    let threads = args.get(2).and_then(|t| t.parse().ok()).unwrap_or(1);
    let took = child(Path::new(dir), threads)?;
    println!("{}", took.as_secs_f64());
    Ok(ExitCode::SUCCESS)
}
