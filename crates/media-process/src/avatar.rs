//! A photo → the avatar pair.

use std::io::Cursor;

use image::{DynamicImage, ImageDecoder, ImageError, ImageReader, Rgb, RgbImage};

/// `avatar.jpg` is the square at the source's short side, but never larger than this: laddr's
/// photos are 400–1200 px, and a camera original of 4000 px would only make a heavy blob the
/// rewrite scales down anyway.
pub const AVATAR_MAX_SIDE: u32 = 1024;
/// `avatar-128.jpg` is this square.
pub const AVATAR_SMALL_SIDE: u32 = 128;
const QUALITY_FULL: u8 = 85;
const QUALITY_SMALL: u8 = 80;

/// What a source may cost before it is decoded.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Most pixels a frame may have (checked from the header, before the frame is allocated).
    pub max_pixels: u64,
    /// Most bytes the decoder may allocate (`image`'s `Limits::max_alloc`).
    pub max_alloc: u64,
}

impl Default for Limits {
    /// 36 megapixels (a 7360×4912 camera frame) and 256 MiB: every real photo passes, a bomb
    /// does not, and a few workers in parallel stay well inside a small machine's memory.
    fn default() -> Self {
        Self {
            max_pixels: 36_000_000,
            max_alloc: 256 << 20,
        }
    }
}

/// The two attachment files of one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AvatarPair {
    /// `avatar.jpg`.
    pub full: Vec<u8>,
    /// `avatar-128.jpg`.
    pub small: Vec<u8>,
}

/// Why a photo made no avatar.
#[derive(Debug, thiserror::Error)]
pub enum AvatarError {
    /// The bytes are none of JPEG, PNG, GIF or WebP.
    #[error("not a JPEG, PNG, GIF or WebP image")]
    UnknownFormat,
    /// The header announces more pixels than [`Limits::max_pixels`].
    #[error("{width}×{height} is over the limit of {max} pixels: refused as a decompression bomb")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The limit.
        max: u64,
    },
    /// The frame (or the decoder's own buffers) would need more than [`Limits::max_alloc`].
    #[error("needs {needed} bytes to decode, over the limit of {max}")]
    Memory {
        /// Bytes the frame needs (0 when the decoder refused before saying).
        needed: u64,
        /// The limit.
        max: u64,
    },
    /// The image is damaged or unsupported.
    #[error("{0}")]
    Decode(ImageError),
    /// Encoding the JPEG failed.
    #[error("encoding the avatar: {0}")]
    Encode(String),
}

fn decode_error(e: ImageError, max: u64) -> AvatarError {
    match e {
        ImageError::Limits(_) => AvatarError::Memory { needed: 0, max },
        ImageError::Unsupported(_) => AvatarError::UnknownFormat,
        e => AvatarError::Decode(e),
    }
}

/// Decode `bytes` (first frame, EXIF orientation applied) within `limits`. The pixel count is
/// checked from the header, so a bomb is refused before its frame is allocated.
pub fn decode(bytes: &[u8], limits: Limits) -> Result<DynamicImage, AvatarError> {
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| AvatarError::Decode(e.into()))?;
    if reader.format().is_none() {
        return Err(AvatarError::UnknownFormat);
    }
    let mut image_limits = image::Limits::default();
    image_limits.max_alloc = Some(limits.max_alloc);
    reader.limits(image_limits);
    let max = limits.max_alloc;
    let mut decoder = reader.into_decoder().map_err(|e| decode_error(e, max))?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > limits.max_pixels {
        return Err(AvatarError::TooManyPixels {
            width,
            height,
            max: limits.max_pixels,
        });
    }
    // `from_decoder` allocates the frame without asking the limits (only `ImageReader::decode`
    // does), so the frame is checked here.
    let needed = decoder.total_bytes();
    if needed > max {
        return Err(AvatarError::Memory { needed, max });
    }
    // A broken EXIF block is no reason to lose the photo: it is shown as stored.
    let orientation = decoder
        .orientation()
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let mut img = DynamicImage::from_decoder(decoder).map_err(|e| decode_error(e, max))?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// RGB, with any transparency laid over white (JPEG has no alpha, and a transparent logo on
/// black reads as a black square).
fn flatten(img: DynamicImage) -> RgbImage {
    if !img.color().has_alpha() {
        return img.into_rgb8();
    }
    let rgba = img.into_rgba8();
    let mut out = RgbImage::new(rgba.width(), rgba.height());
    for (o, p) in out.pixels_mut().zip(rgba.pixels()) {
        let a = u16::from(p[3]);
        let blend = |c: u8| ((u16::from(c) * a + 255 * (255 - a) + 127) / 255) as u8;
        *o = Rgb([blend(p[0]), blend(p[1]), blend(p[2])]);
    }
    out
}

/// The centred square at the short side: the image itself when it is square already, else its
/// centre rows copied whole (a row-slice copy, not pixel by pixel).
fn centre_square(img: RgbImage) -> RgbImage {
    let (w, h) = img.dimensions();
    if w == h {
        return img;
    }
    let side = w.min(h) as usize;
    let (left, top) = ((w as usize - side) / 2, (h as usize - side) / 2);
    let stride = w as usize * 3;
    let raw = img.as_raw();
    let mut out = Vec::with_capacity(side * side * 3);
    for row in raw.chunks_exact(stride).skip(top).take(side) {
        out.extend_from_slice(&row[left * 3..(left + side) * 3]);
    }
    // `side * side * 3` bytes were copied, exactly the buffer a side×side RGB image needs.
    RgbImage::from_raw(side as u32, side as u32, out).unwrap_or_default()
}

fn jpeg(img: &RgbImage, quality: u8) -> Result<Vec<u8>, AvatarError> {
    let mut out = Vec::with_capacity(img.as_raw().len() / 8);
    let side = |v: u32| {
        u16::try_from(v).map_err(|_| AvatarError::Encode(format!("{v} px is too large for JPEG")))
    };
    jpeg_encoder::Encoder::new(&mut out, quality)
        .encode(
            img.as_raw(),
            side(img.width())?,
            side(img.height())?,
            jpeg_encoder::ColorType::Rgb,
        )
        .map_err(|e| AvatarError::Encode(e.to_string()))?;
    Ok(out)
}

/// The resizer's SIMD: on x86-64 its best (SSE4.1 and AVX2 are checked byte-identical to the
/// portable path by `simd_resizes_are_byte_identical_to_the_portable_path`), elsewhere the
/// portable path, as no test here can check the others: the bytes must not depend on the machine.
fn resize_extensions() -> fast_image_resize::CpuExtensions {
    if cfg!(target_arch = "x86_64") {
        fast_image_resize::Resizer::new().cpu_extensions()
    } else {
        fast_image_resize::CpuExtensions::None
    }
}

/// Catmull-Rom (bicubic) rather than sharp's Lanczos3: a slightly softer kernel, and a fifth
/// less time for the whole avatar. `fast_image_resize` convolves in integer fixed point.
fn scaled(img: &RgbImage, side: u32) -> Result<RgbImage, AvatarError> {
    scaled_with(img, side, resize_extensions())
}

fn scaled_with(
    img: &RgbImage,
    side: u32,
    extensions: fast_image_resize::CpuExtensions,
) -> Result<RgbImage, AvatarError> {
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer, images};
    let resize_error = |e: &dyn std::fmt::Display| AvatarError::Encode(format!("resizing: {e}"));
    let src = images::ImageRef::new(img.width(), img.height(), img.as_raw(), PixelType::U8x3)
        .map_err(|e| resize_error(&e))?;
    let mut dst = images::Image::new(side, side, PixelType::U8x3);
    let mut resizer = Resizer::new();
    if !extensions.is_supported() {
        return Err(resize_error(&format_args!(
            "{extensions:?} is not supported here"
        )));
    }
    // SAFETY: the CPU supports `extensions` (checked just above).
    unsafe { resizer.set_cpu_extensions(extensions) };
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::CatmullRom));
    resizer
        .resize(&src, &mut dst, &options)
        .map_err(|e| resize_error(&e))?;
    RgbImage::from_raw(side, side, dst.into_vec()).ok_or_else(|| resize_error(&"short buffer"))
}

/// The avatar pair of one photo.
pub fn avatar(bytes: &[u8], limits: Limits) -> Result<AvatarPair, AvatarError> {
    let square = centre_square(flatten(decode(bytes, limits)?));
    let full = if square.width() > AVATAR_MAX_SIDE {
        scaled(&square, AVATAR_MAX_SIDE)?
    } else {
        square
    };
    // From the capped square: at most 8× down.
    let small = scaled(&full, AVATAR_SMALL_SIDE)?;
    Ok(AvatarPair {
        full: jpeg(&full, QUALITY_FULL)?,
        small: jpeg(&small, QUALITY_SMALL)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transparency_is_laid_over_white() {
        let mut rgba = image::RgbaImage::new(2, 1);
        rgba.put_pixel(0, 0, image::Rgba([0, 0, 0, 0]));
        rgba.put_pixel(1, 0, image::Rgba([10, 20, 30, 255]));
        let rgb = flatten(DynamicImage::ImageRgba8(rgba));
        assert_eq!(rgb.get_pixel(0, 0), &Rgb([255, 255, 255]));
        assert_eq!(rgb.get_pixel(1, 0), &Rgb([10, 20, 30]));
    }

    #[test]
    fn the_square_is_the_centre() {
        let img = RgbImage::from_fn(5, 3, |x, _| Rgb([x as u8, 0, 0]));
        let sq = centre_square(img);
        assert_eq!(sq.dimensions(), (3, 3));
        assert_eq!(sq.get_pixel(0, 0)[0], 1);
        assert_eq!(sq.get_pixel(2, 2)[0], 3);
        let tall = RgbImage::from_fn(3, 6, |x, y| Rgb([x as u8, y as u8, 0]));
        let sq = centre_square(tall);
        assert_eq!(sq.dimensions(), (3, 3));
        assert_eq!(sq.get_pixel(0, 0), &Rgb([0, 1, 0]));
        assert_eq!(sq.get_pixel(2, 2), &Rgb([2, 3, 0]));
        let square = RgbImage::from_fn(2, 2, |x, y| Rgb([x as u8, y as u8, 7]));
        assert_eq!(centre_square(square.clone()), square);
    }

    /// Full-range noise (the worst case for rounding and clamping) and smooth gradients, at the
    /// sizes the avatars use.
    #[cfg(target_arch = "x86_64")]
    #[test]
    fn simd_resizes_are_byte_identical_to_the_portable_path() {
        use fast_image_resize::CpuExtensions;
        let mut seed = 0x9e37_79b9_u32;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            seed
        };
        let mut checked = 0;
        for (side_in, side_out, noise) in [
            (1500, 1024, true),
            (1024, 128, true),
            (630, 128, false),
            (400, 128, true),
            (333, 128, false),
        ] {
            let img = RgbImage::from_fn(side_in, side_in, |x, y| {
                let n = next();
                if noise {
                    Rgb([n as u8, (n >> 8) as u8, (n >> 16) as u8])
                } else {
                    let g = |v: u32| (v * 255 / side_in) as u8;
                    Rgb([g(x), g(y), g(x / 2 + y / 2).saturating_add((n % 16) as u8)])
                }
            });
            let portable = scaled_with(&img, side_out, CpuExtensions::None).unwrap();
            for ext in [CpuExtensions::Sse4_1, CpuExtensions::Avx2] {
                if ext.is_supported() {
                    let simd = scaled_with(&img, side_out, ext).unwrap();
                    assert!(simd == portable, "{ext:?}: {side_in} → {side_out} differs");
                    checked += 1;
                }
            }
        }
        // Every x86-64 machine this project runs on has SSE4.1.
        assert!(checked >= 5, "no SIMD path was checked");
    }

    #[test]
    fn garbage_is_no_image() {
        let result = avatar(b"%PDF-1.4 not an image", Limits::default());
        assert!(matches!(result, Err(AvatarError::UnknownFormat)));
    }
}
