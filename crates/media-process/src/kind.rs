//! Which content types become attachments (`reference/B` §1.5, §2.8): image types only.

/// The bare, lower-case media type of a `Content-Type` value (`image/PNG; x=1` → `image/png`).
fn media_type(content_type: &str) -> String {
    content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The file extension of a blog asset of this content type, or `None` when it is not an
/// image type the rewrite serves (JPEG, PNG, GIF, WebP, AVIF, SVG); the post then keeps its
/// placeholder and the run warns.
pub fn blog_extension(content_type: &str) -> Option<&'static str> {
    Some(match media_type(content_type).as_str() {
        "image/jpeg" | "image/jpg" | "image/pjpeg" => "jpg",
        "image/png" => "png",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/avif" => "avif",
        "image/svg+xml" => "svg",
        _ => return None,
    })
}

/// The file extension of a blog asset served with `content_type` as `bytes`, or why it gets
/// no asset: not an image type, or (for JPEG, PNG, GIF and WebP) bytes whose header is not an
/// image of that type (laddr answers a lost file with an error page, whatever the record's
/// type says), so the rewrite never serves an image that cannot be shown.
pub fn blog_asset(content_type: &str, bytes: &[u8]) -> Result<&'static str, String> {
    let Some(ext) = blog_extension(content_type) else {
        return Err(format!("Content-Type {content_type:?} is not an image"));
    };
    let expected = match ext {
        "jpg" => image::ImageFormat::Jpeg,
        "png" => image::ImageFormat::Png,
        "gif" => image::ImageFormat::Gif,
        "webp" => image::ImageFormat::WebP,
        _ => return Ok(ext),
    };
    let header = image::ImageReader::with_format(std::io::Cursor::new(bytes), expected)
        .into_dimensions()
        .map_err(|e| format!("the bytes are not a readable {ext} image ({e})"))?;
    match header {
        (0, _) | (_, 0) => Err(format!("the {ext} image has no pixels")),
        _ => Ok(ext),
    }
}

/// True when an avatar can be made from this content type (the raster types the decoder
/// reads). The bytes are still sniffed: laddr's content types are not always right.
pub fn avatar_source(content_type: &str) -> bool {
    matches!(
        blog_extension(content_type),
        Some("jpg" | "png" | "gif" | "webp")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_types_only() {
        assert_eq!(blog_extension("image/JPEG; charset=binary"), Some("jpg"));
        assert_eq!(blog_extension("image/svg+xml"), Some("svg"));
        assert_eq!(blog_extension("image/avif"), Some("avif"));
        assert_eq!(blog_extension("application/pdf"), None);
        assert_eq!(blog_extension(""), None);
        assert!(avatar_source("image/webp"));
        assert!(!avatar_source("image/svg+xml"));
        assert!(!avatar_source("text/html"));
    }

    fn png(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        image::RgbImage::new(width, height)
            .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_blog_asset_is_an_image_of_its_type() {
        assert_eq!(blog_asset("image/png", &png(3, 2)), Ok("png"));
        let html = b"<html><body>Not Found</body></html>";
        let err = blog_asset("image/png", html).unwrap_err();
        assert!(
            err.starts_with("the bytes are not a readable png image"),
            "{err}"
        );
        let err = blog_asset("image/jpeg", &png(3, 2)).unwrap_err();
        assert!(err.contains("jpg"), "{err}");
        assert_eq!(
            blog_asset("application/pdf", b"%PDF-1.4"),
            Err("Content-Type \"application/pdf\" is not an image".into())
        );
        // Types the decoder does not read are taken on their Content-Type.
        assert_eq!(blog_asset("image/svg+xml", b"<svg/>"), Ok("svg"));
    }
}
