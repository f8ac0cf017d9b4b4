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
}
