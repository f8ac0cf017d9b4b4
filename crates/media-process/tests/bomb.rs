//! A decompression bomb is refused from its header: the 30,000×30,000 frame (900 MB) is never
//! allocated. Its own test binary, so the peak RSS measured is this test's alone.

use std::io::Write;

use media_process::{AvatarError, Limits, avatar};

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(data);
    out.extend_from_slice(&crc.finalize().to_be_bytes());
}

/// A valid 8-bit greyscale PNG of `side`×`side` black pixels: a few hundred KB on disk.
fn png_bomb(side: u32) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&side.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]); // 8-bit greyscale, deflate, no filter, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    let row = vec![0u8; side as usize + 1]; // filter byte 0 + the row
    for _ in 0..side {
        z.write_all(&row).unwrap();
    }
    let idat = z.finish().unwrap();
    for part in idat.chunks(1 << 20) {
        chunk(&mut png, b"IDAT", part);
    }
    chunk(&mut png, b"IEND", &[]);
    png
}

fn peak_rss_bytes() -> u64 {
    // SAFETY: getrusage only writes the struct it is given.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        assert_eq!(libc::getrusage(libc::RUSAGE_SELF, &mut u), 0);
        u
    };
    usage.ru_maxrss as u64 * 1024
}

#[test]
fn a_30000_square_png_bomb_is_refused_without_allocating_its_frame() {
    let bomb = png_bomb(30_000);
    assert!(
        bomb.len() < 2 << 20,
        "the bomb is small on disk: {}",
        bomb.len()
    );
    match avatar(&bomb, Limits::default()) {
        Err(e @ AvatarError::TooManyPixels { width, height, .. }) => {
            assert_eq!((width, height), (30_000, 30_000));
            assert!(e.to_string().contains("decompression bomb"), "{e}");
        }
        Err(other) => panic!("expected a pixel-limit refusal, got {other}"),
        Ok(_) => panic!("the bomb was decoded"),
    }
    // Decoding would need 900 MB for the frame alone.
    let peak = peak_rss_bytes();
    assert!(peak < 150 << 20, "peak RSS {} MB", peak >> 20);
}

#[test]
fn the_memory_limit_holds_below_the_pixel_limit() {
    // 2000×2000 greyscale is 4 MB of frame: within the pixel limit, over a 1 MB budget.
    let png = png_bomb(2_000);
    let limits = Limits {
        max_pixels: u64::MAX,
        max_alloc: 1 << 20,
    };
    match avatar(&png, limits) {
        Err(AvatarError::Memory { needed, max }) => assert_eq!((needed, max), (4_000_000, 1 << 20)),
        Err(other) => panic!("expected a memory refusal, got {other}"),
        Ok(_) => panic!("decoded over the memory limit"),
    }
    // And within budget it decodes: the stream is a real image.
    let pair = avatar(&png, Limits::default()).unwrap();
    assert!(pair.full.starts_with(&[0xff, 0xd8]));
}
