//! JS string, URL and date semantics (B §2.0, §8 q10). Every expected value here was
//! produced by Node 20 (`trim`, `toLowerCase`, `length`, `new URL(s).toString()`,
//! `new Date(s * 1000).toISOString()`) and the §2.0 slug and chat-channel rules.

use serde_json::json;
use translate::{epoch_to_iso, js, slug, urls};

/// (input, trim, toLowerCase, length, people slug base, project slug base, chat channel)
type StrCase = (
    &'static str,
    &'static str,
    &'static str,
    usize,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

#[test]
fn strings_match_node() {
    // (input, trim, toLowerCase, length, people slug base, project slug base, chat channel)
    let cases: &[StrCase] = &[
        (
            "İstanbul",
            "İstanbul",
            "i\u{307}stanbul",
            8,
            Some("i-stanbul"),
            Some("i-stanbul"),
            Some("i-stanbul"),
        ),
        ("ΣΑΣ", "ΣΑΣ", "σας", 3, None, None, None),
        (
            "straße",
            "straße",
            "straße",
            6,
            Some("stra-e"),
            Some("stra-e"),
            Some("stra-e"),
        ),
        (
            "a\u{301}b",
            "a\u{301}b",
            "a\u{301}b",
            3,
            Some("a-b"),
            Some("a-b"),
            Some("a-b"),
        ),
        (
            "\u{180e}z\u{180e}",
            "\u{180e}z\u{180e}",
            "\u{180e}z\u{180e}",
            3,
            Some("z"),
            Some("z"),
            Some("z"),
        ),
        (
            "\u{200b}q\u{200b}",
            "\u{200b}q\u{200b}",
            "\u{200b}q\u{200b}",
            3,
            Some("q"),
            Some("q"),
            Some("q"),
        ),
        (
            "\u{FEFF}foo\u{FEFF}",
            "foo",
            "\u{FEFF}foo\u{FEFF}",
            5,
            Some("foo"),
            Some("foo"),
            Some("foo"),
        ),
        (
            "\u{85}x\u{85}",
            "\u{85}x\u{85}",
            "\u{85}x\u{85}",
            3,
            Some("x"),
            Some("x"),
            Some("x"),
        ),
        (
            "KELVIN\u{212A}",
            "KELVIN\u{212A}",
            "kelvink",
            7,
            Some("kelvink"),
            Some("kelvink"),
            Some("kelvink"),
        ),
        ("-_-a", "-_-a", "-_-a", 4, Some("a"), Some("a"), None),
        (
            "Philly_Bike_Action",
            "Philly_Bike_Action",
            "philly_bike_action",
            18,
            Some("philly-bike-action"),
            Some("philly_bike_action"),
            Some("philly_bike_action"),
        ),
        ("美洽下载", "美洽下载", "美洽下载", 4, None, None, None),
    ];
    for (s, trim, lower, len, people, projects, chat) in cases {
        let t = js::trim(s);
        assert_eq!(t, *trim, "trim {s:?}");
        assert_eq!(js::to_lower(s), *lower, "lower {s:?}");
        assert_eq!(js::utf16_len(s), *len, "length {s:?}");
        assert_eq!(
            slug::normalize(t, slug::PEOPLE).as_deref(),
            *people,
            "people {s:?}"
        );
        assert_eq!(
            slug::normalize(t, slug::PROJECTS).as_deref(),
            *projects,
            "projects {s:?}"
        );
        assert_eq!(urls::chat_channel(t).as_deref(), *chat, "chat {s:?}");
    }
}

#[test]
fn urls_match_node() {
    let cases: &[(&str, Option<&str>)] = &[
        ("https://x.org/a b", Some("https://x.org/a%20b")),
        (
            "https://x.org/?q=a b#frag ment",
            Some("https://x.org/?q=a%20b#frag%20ment"),
        ),
        ("https://user:pw@x.org", Some("https://user:pw@x.org/")),
        ("https://[::1]:443/", Some("https://[::1]/")),
        ("https://0x7f.1/", Some("https://127.0.0.1/")),
        ("https://x.org/./a/../b", Some("https://x.org/b")),
        ("https:x.org", Some("https://x.org/")),
        ("https://x.org\\a\\b", Some("https://x.org/a/b")),
        ("https://EXAMPLE.COM./", Some("https://example.com./")),
        ("https://ex ample.com", None),
        (
            "https://x.org/ü?ü#ü",
            Some("https://x.org/%C3%BC?%C3%BC#%C3%BC"),
        ),
        ("https://%65xample.com/", Some("https://example.com/")),
        ("https://x.org/\t\na", Some("https://x.org/a")),
        ("https://faß.de/", Some("https://xn--fa-hia.de/")),
        ("https://x.org:0/", Some("https://x.org:0/")),
        ("javascript:alert(1)", None),
    ];
    for (s, want) in cases {
        assert_eq!(urls::https_only(s).as_deref(), *want, "{s:?}");
    }
    assert_eq!(
        urls::http_or_https("http://insecure.example.com").as_deref(),
        Some("http://insecure.example.com/")
    );
}

#[test]
fn dates_match_node() {
    let cases = [
        (json!(0.0005), Some("1970-01-01T00:00:00.000Z")),
        (json!(1746028800.999), Some("2025-04-30T16:00:00.999Z")),
        (json!(123.4567), Some("1970-01-01T00:02:03.456Z")),
        (json!(1e12), Some("+033658-09-27T01:46:40.000Z")),
        (json!(8.64e12), Some("+275760-09-13T00:00:00.000Z")),
    ];
    for (v, want) in cases {
        assert_eq!(epoch_to_iso(Some(&v)).unwrap().as_deref(), want, "{v}");
    }
}
