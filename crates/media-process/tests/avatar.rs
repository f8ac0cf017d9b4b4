//! Real images, made here with `image`'s encoders, through the avatar pipeline; results
//! checked by decoding the JPEGs and reading pixels.

use image::codecs::gif::GifEncoder;
use image::codecs::jpeg::JpegEncoder;
use image::{
    Delay, DynamicImage, Frame, ImageEncoder, ImageFormat, Rgb, RgbImage, Rgba, RgbaImage,
};
use media_process::{AVATAR_MAX_SIDE, AvatarPair, Limits, avatar};

fn encode(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

fn load(jpeg: &[u8]) -> RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .unwrap()
        .into_rgb8()
}

/// Near a colour (JPEG is lossy).
fn near(p: &Rgb<u8>, want: [u8; 3]) -> bool {
    p.0.iter().zip(want).all(|(a, b)| a.abs_diff(b) < 40)
}

const RED: [u8; 3] = [220, 20, 20];
const GREEN: [u8; 3] = [20, 200, 20];
const BLUE: [u8; 3] = [20, 20, 220];
const YELLOW: [u8; 3] = [230, 220, 20];

fn sizes(pair: &AvatarPair) -> ((u32, u32), (u32, u32)) {
    (
        load(&pair.full).dimensions(),
        load(&pair.small).dimensions(),
    )
}

#[test]
fn a_wide_png_gives_its_centre_square() {
    // 300×200: red | green | yellow | blue; the centre square is x 50..250, green then yellow.
    let src = RgbImage::from_fn(300, 200, |x, _| {
        Rgb(match x {
            0..50 => RED,
            50..150 => GREEN,
            150..250 => YELLOW,
            _ => BLUE,
        })
    });
    let pair = avatar(
        &encode(&DynamicImage::ImageRgb8(src), ImageFormat::Png),
        Limits::default(),
    )
    .unwrap();
    assert_eq!(sizes(&pair), ((200, 200), (128, 128)));
    let full = load(&pair.full);
    for y in [0, 100, 199] {
        assert!(
            near(full.get_pixel(2, y), GREEN),
            "{:?}",
            full.get_pixel(2, y)
        );
        assert!(near(full.get_pixel(90, y), GREEN));
        assert!(near(full.get_pixel(110, y), YELLOW));
        assert!(
            near(full.get_pixel(197, y), YELLOW),
            "{:?}",
            full.get_pixel(197, y)
        );
    }
    let small = load(&pair.small);
    assert!(near(small.get_pixel(2, 64), GREEN));
    assert!(near(small.get_pixel(125, 64), YELLOW));
}

/// A JPEG whose EXIF says "rotate 90° clockwise to display" (orientation 6).
fn rotated_jpeg(src: &RgbImage) -> Vec<u8> {
    // TIFF header (big endian), one IFD entry: 0x0112 Orientation, SHORT, 1, value 6.
    let exif = [
        b'M', b'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, 0, 6, 0, 0, 0, 0, 0, 0,
    ];
    let mut out = Vec::new();
    let mut enc = JpegEncoder::new_with_quality(&mut out, 95);
    enc.set_exif_metadata(exif.to_vec()).unwrap();
    enc.write_image(
        src.as_raw(),
        src.width(),
        src.height(),
        image::ExtendedColorType::Rgb8,
    )
    .unwrap();
    out
}

#[test]
fn exif_orientation_is_honoured() {
    // Stored 200×100, red on top, blue below. Displayed (90° clockwise) it is 100×200 with
    // blue on the left and red on the right; ignoring EXIF would give red above blue.
    let src = RgbImage::from_fn(200, 100, |_, y| Rgb(if y < 50 { RED } else { BLUE }));
    let pair = avatar(&rotated_jpeg(&src), Limits::default()).unwrap();
    let full = load(&pair.full);
    assert_eq!(full.dimensions(), (100, 100));
    for y in [5, 50, 95] {
        assert!(
            near(full.get_pixel(10, y), BLUE),
            "{:?}",
            full.get_pixel(10, y)
        );
        assert!(
            near(full.get_pixel(90, y), RED),
            "{:?}",
            full.get_pixel(90, y)
        );
    }
}

#[test]
fn a_gif_gives_its_first_frame() {
    let frame = |c: [u8; 3]| {
        let img = RgbaImage::from_pixel(64, 48, Rgba([c[0], c[1], c[2], 255]));
        Frame::from_parts(img, 0, 0, Delay::from_numer_denom_ms(100, 1))
    };
    let mut gif = Vec::new();
    {
        let mut enc = GifEncoder::new(&mut gif);
        enc.encode_frames([frame(GREEN), frame(RED)]).unwrap();
    }
    let pair = avatar(&gif, Limits::default()).unwrap();
    assert_eq!(sizes(&pair), ((48, 48), (128, 128)));
    assert!(near(load(&pair.full).get_pixel(24, 24), GREEN));
}

#[test]
fn a_webp_decodes_and_a_large_photo_is_capped() {
    let src = RgbaImage::from_fn(1600, 1200, |x, y| {
        Rgba([(x % 256) as u8, (y % 256) as u8, 90, 255])
    });
    let webp = encode(&DynamicImage::ImageRgba8(src), ImageFormat::WebP);
    let pair = avatar(&webp, Limits::default()).unwrap();
    assert_eq!(
        sizes(&pair),
        ((AVATAR_MAX_SIDE, AVATAR_MAX_SIDE), (128, 128))
    );
}

#[test]
fn output_is_deterministic() {
    let src = RgbImage::from_fn(640, 400, |x, y| {
        Rgb([
            (x * 7 % 256) as u8,
            (y * 3 % 256) as u8,
            ((x + y) % 256) as u8,
        ])
    });
    let bytes = encode(&DynamicImage::ImageRgb8(src), ImageFormat::Jpeg);
    let a = avatar(&bytes, Limits::default()).unwrap();
    let b = avatar(&bytes, Limits::default()).unwrap();
    assert_eq!(a, b);
    // Across threads too (the run processes on every core).
    let again = cli::par::map(&[&bytes, &bytes, &bytes], 3, |b| {
        avatar(b, Limits::default()).unwrap()
    });
    assert!(again.iter().all(|p| *p == a));
}

#[test]
fn damaged_bytes_are_an_error_not_a_panic() {
    let png = encode(
        &DynamicImage::ImageRgb8(RgbImage::new(50, 50)),
        ImageFormat::Png,
    );
    let cut = &png[..png.len() / 2];
    match avatar(cut, Limits::default()) {
        Err(e) => assert!(!e.to_string().is_empty()),
        Ok(_) => panic!("half a PNG made an avatar"),
    }
}
