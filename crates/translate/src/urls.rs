//! WHATWG URL normalisation (B §2.0 "URLs"), chat channels (§2.3).

use url::Url;

/// `new URL(s).toString()` when it parses and its scheme is one of `schemes`, else `None`.
pub fn normalize(s: &str, schemes: &[&str]) -> Option<String> {
    let u = Url::parse(s).ok()?;
    schemes.contains(&u.scheme()).then(|| u.to_string())
}

/// Project `usersUrl`/`developersUrl`: kept (normalised) only for `https:`.
pub fn https_only(s: &str) -> Option<String> {
    normalize(s, &["https"])
}

/// Buzz `url`: `http:` and `https:` are both kept.
pub fn http_or_https(s: &str) -> Option<String> {
    normalize(s, &["http", "https"])
}

/// `ChatChannel` → `^[a-z0-9][a-z0-9_-]{0,40}$` or nothing: strip leading `#`s, lowercase,
/// runs of `[^a-z0-9_-]` → `-`, strip `-` at both ends, absent if empty or not starting with
/// `[a-z0-9]`, cut to 41.
pub fn chat_channel(raw: &str) -> Option<String> {
    let lower = crate::js::to_lower(raw.trim_start_matches('#'));
    let mut out = String::with_capacity(lower.len());
    let mut in_run = false;
    for c in lower.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    let cleaned = out.trim_matches('-');
    let first = cleaned.chars().next()?;
    if !(first.is_ascii_lowercase() || first.is_ascii_digit()) {
        return None;
    }
    Some(cleaned[..cleaned.len().min(41)].to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whatwg_normalisation() {
        assert_eq!(
            https_only("https://Transit.Example.com").unwrap(),
            "https://transit.example.com/"
        );
        assert_eq!(
            https_only("https://GitHub.com/example/pba").unwrap(),
            "https://github.com/example/pba"
        );
        assert_eq!(
            https_only("HTTPS://x.org:443/a").unwrap(),
            "https://x.org/a"
        );
        assert_eq!(
            https_only("https://bücher.example/").unwrap(),
            "https://xn--bcher-kva.example/"
        );
        assert_eq!(https_only("http://insecure.example.com/"), None);
        assert_eq!(https_only("not a url"), None);
        assert_eq!(
            http_or_https("http://news.example.com").unwrap(),
            "http://news.example.com/"
        );
        assert_eq!(http_or_https("ftp://x.org/"), None);
    }

    #[test]
    fn chat_channels() {
        assert_eq!(
            chat_channel("#General Slack-Channel!").unwrap(),
            "general-slack-channel"
        );
        assert_eq!(chat_channel("##Bike Action").unwrap(), "bike-action");
        assert_eq!(chat_channel("food.access").unwrap(), "food-access");
        assert_eq!(chat_channel("_x"), None);
        assert_eq!(chat_channel("#"), None);
        assert_eq!(chat_channel(&"a".repeat(50)).unwrap().len(), 41);
    }
}
