//! Blog bodies (B §2.8): laddr `items` → one markdown body with `cfp-media:<id>`
//! placeholders, plus the media the later attachment step must fetch.

use serde::Serialize;
use serde_json::Value;

use crate::js::is_js_whitespace;

/// Blog media are fetched from this host whatever `--source-host` is (A §2).
pub const LADDR_MEDIA_HOST: &str = "codeforphilly.org";

/// One medium a blog post references; the attachment step fetches `source_url` and writes
/// `blog-posts/<owner_slug>/<caption_slug>-<media_id>.<ext>`, replacing `cfp-media:<id>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaAsset {
    /// laddr's media ID.
    pub media_id: u64,
    /// The caption, slugified, for the file name.
    pub caption_slug: String,
    /// The slug of the post's owner, for the folder.
    pub owner_slug: String,
    /// Where laddr serves the medium.
    pub source_url: String,
}

/// `cfp-media:<id>`.
pub fn placeholder(media_id: u64) -> String {
    format!("cfp-media:{media_id}")
}

fn media_url(media_id: u64) -> String {
    format!("https://{LADDR_MEDIA_HOST}/media/{media_id}/original")
}

/// The filename slug of a caption: lowercase, runs of `[^a-z0-9]` → `-`, strip `-`, cut
/// to 80 then strip trailing `-`; `image` when nothing is left.
pub fn caption_slug(caption: &str) -> String {
    let lower = crate::js::to_lower(caption);
    let mut out = String::new();
    let mut in_run = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let t = out.trim_matches('-');
    if t.is_empty() {
        return "image".to_owned();
    }
    t[..t.len().min(80)].trim_end_matches('-').to_owned()
}

struct Collected<'a> {
    owner: &'a str,
    assets: Vec<MediaAsset>,
}

impl Collected<'_> {
    fn add(&mut self, media_id: u64, caption_slug: impl FnOnce() -> String) {
        if !self.assets.iter().any(|a| a.media_id == media_id) {
            self.assets.push(MediaAsset {
                media_id,
                caption_slug: caption_slug(),
                owner_slug: self.owner.to_owned(),
                source_url: media_url(media_id),
            });
        }
    }
}

/// Rewrite every `https?://codeforphilly.org/(thumbnail|media/open|media|sitedata)/<id>[/…]`
/// (the tail ends at whitespace, `"`, `'`, `<` or `)`) to `cfp-media:<id>`.
fn rewrite_media_urls(text: &str, collected: &mut Collected<'_>) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find("http") {
        out.push_str(&rest[..pos]);
        let cand = &rest[pos..];
        match match_media_url(cand) {
            Some((len, id)) => {
                collected.add(id, || "image".to_owned());
                out.push_str(&placeholder(id));
                rest = &cand[len..];
            }
            None => {
                out.push_str("http");
                rest = &cand[4..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// Length matched and media id, if `s` starts with a laddr media URL.
fn match_media_url(s: &str) -> Option<(usize, u64)> {
    let after_scheme = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))?;
    let after_host = after_scheme.strip_prefix("codeforphilly.org/")?;
    // Alternation order of the reference regex, with its backtracking: `media/open/` is
    // tried before `media/`.
    for kind in ["thumbnail/", "media/open/", "media/", "sitedata/"] {
        let Some(tail) = after_host.strip_prefix(kind) else {
            continue;
        };
        let digits = tail.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            continue;
        }
        let id: u64 = tail[..digits].parse().ok()?;
        let mut end = digits;
        if tail[end..].starts_with('/') {
            end += 1;
            end += tail[end..]
                .char_indices()
                .find(|&(_, c)| matches!(c, '"' | '\'' | '<' | ')') || is_js_whitespace(c))
                .map_or(tail.len() - end, |(i, _)| i);
        }
        let consumed = s.len() - tail.len() + end;
        return Some((consumed, id));
    }
    None
}

/// Assemble a post's body from its `items` (sorted by `Order`, joined with a blank line):
/// Markdown verbatim, Media as `![caption](cfp-media:<id>)`, Embed HTML with laddr media
/// URLs rewritten; then a final rewrite pass over the whole body. Unknown classes are
/// skipped with the reference warning.
pub fn assemble_body(
    items: Option<&Value>,
    legacy_id: i64,
    owner_slug: &str,
    warnings: &mut Vec<String>,
) -> (String, Vec<MediaAsset>) {
    let Some(Value::Array(items)) = items else {
        return (String::new(), Vec::new());
    };
    let mut sorted: Vec<&Value> = items.iter().collect();
    let order = |v: &Value| v.get("Order").and_then(Value::as_f64).unwrap_or(0.0);
    sorted.sort_by(|a, b| order(a).total_cmp(&order(b)));
    let mut collected = Collected {
        owner: owner_slug,
        assets: Vec::new(),
    };
    let mut blocks: Vec<String> = Vec::new();
    for item in sorted {
        let class = item.get("Class").and_then(Value::as_str).unwrap_or("");
        let data = item.get("Data");
        if class.ends_with("Item\\Markdown") {
            if let Some(Value::String(md)) = data {
                blocks.push(md.clone());
            }
        } else if class.ends_with("Item\\Media") {
            let Some(Value::Object(d)) = data else {
                continue;
            };
            let Some(id) = d.get("MediaID").and_then(Value::as_u64) else {
                continue;
            };
            let caption = d
                .get("Caption")
                .and_then(Value::as_str)
                .map(crate::js::trim)
                .unwrap_or("");
            collected.add(id, || caption_slug(caption));
            blocks.push(format!("![{caption}]({})", placeholder(id)));
        } else if class.ends_with("Item\\Embed") {
            if let Some(Value::String(html)) = data
                && !crate::js::trim(html).is_empty()
            {
                blocks.push(rewrite_media_urls(html, &mut collected));
            }
        } else {
            let item_id = match item.get("ID") {
                None => "undefined".to_owned(),
                Some(Value::String(s)) => s.clone(),
                Some(v) => v.to_string(),
            };
            let class_json = match item.get("Class") {
                Some(v) => v.to_string(),
                None => "undefined".to_owned(),
            };
            warnings.push(format!(
                "[blog-posts] legacyId={legacy_id} item={item_id} unknown Class {class_json}; skipped"
            ));
        }
    }
    let body = rewrite_media_urls(&blocks.join("\n\n"), &mut collected);
    (body, collected.assets)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn url_forms() {
        let mut c = Collected {
            owner: "p",
            assets: Vec::new(),
        };
        let text = "a https://codeforphilly.org/media/679 b http://codeforphilly.org/media/open/1379) \
                    c https://codeforphilly.org/sitedata/2200/x.png\"d https://codeforphilly.org/thumbnail/2953/700x700 \
                    e https://codeforphilly.org/media/opening https://example.org/media/1";
        let out = rewrite_media_urls(text, &mut c);
        assert_eq!(
            out,
            "a cfp-media:679 b cfp-media:1379) c cfp-media:2200\"d cfp-media:2953 \
             e https://codeforphilly.org/media/opening https://example.org/media/1"
        );
        let ids: Vec<u64> = c.assets.iter().map(|a| a.media_id).collect();
        assert_eq!(ids, [679, 1379, 2200, 2953]);
        assert!(c.assets.iter().all(|a| a.caption_slug == "image"));
    }

    #[test]
    fn captions() {
        assert_eq!(
            caption_slug("2023 Launchpad kick-off"),
            "2023-launchpad-kick-off"
        );
        assert_eq!(caption_slug(""), "image");
        assert_eq!(caption_slug("!!!"), "image");
        let long = format!("{}-b", "a".repeat(79));
        assert_eq!(caption_slug(&long), "a".repeat(79));
    }

    #[test]
    fn missing_class_warns() {
        let mut w = Vec::new();
        let items = json!([{"ID": 5, "Order": 1, "Data": "x"}]);
        let (body, _) = assemble_body(Some(&items), 9, "p", &mut w);
        assert_eq!(body, "");
        assert_eq!(
            w,
            ["[blog-posts] legacyId=9 item=5 unknown Class undefined; skipped"]
        );
    }
}
