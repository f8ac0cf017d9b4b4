//! JavaScript string semantics the reference relies on (B §2.0, §8 q10): `trim()`,
//! UTF-16 lengths and `slice(0, n)`, `toLowerCase()`, and JS's `\s` class.

/// The characters JS `String.prototype.trim()` removes: WhiteSpace (incl. U+FEFF and the
/// Zs category) and LineTerminator. Unlike Rust's `char::is_whitespace`, U+0085 is *not* one.
pub fn is_js_whitespace(c: char) -> bool {
    matches!(
        c,
        '\u{0009}'
            | '\u{000A}'
            | '\u{000B}'
            | '\u{000C}'
            | '\u{000D}'
            | '\u{0020}'
            | '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'
            ..='\u{200A}'
                | '\u{2028}'
                | '\u{2029}'
                | '\u{202F}'
                | '\u{205F}'
                | '\u{3000}'
                | '\u{FEFF}'
    )
}

/// JS `s.trim()`.
pub fn trim(s: &str) -> &str {
    s.trim_matches(is_js_whitespace)
}

/// JS `s.length`: UTF-16 code units. Counted on the UTF-8 bytes, which vectorises: one
/// unit per char (every byte that is not a continuation byte starts one), and one more for
/// each char outside the BMP (the ones UTF-8 writes in four bytes, lead byte 0xF0 and up).
pub fn utf16_len(s: &str) -> usize {
    s.bytes()
        .map(|b| usize::from(b & 0xC0 != 0x80) + usize::from(b >= 0xF0))
        .sum()
}

/// JS `s.slice(0, n)` measured in UTF-16 code units. Where JS would split a surrogate pair
/// (leaving a lone surrogate, which is not valid UTF-8), we stop before the pair instead.
pub fn utf16_prefix(s: &str, n: usize) -> &str {
    let mut units = 0;
    for (i, c) in s.char_indices() {
        units += c.len_utf16();
        if units > n {
            return &s[..i];
        }
    }
    s
}

/// JS `s.toLowerCase()`. Rust implements the same Unicode default case conversion
/// (including the final-sigma rule); only the Unicode version can differ.
pub fn to_lower(s: &str) -> String {
    s.to_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trim_matches_js() {
        assert_eq!(trim("\u{FEFF} a b \r\n"), "a b");
        assert_eq!(trim("\u{0085}x\u{0085}"), "\u{0085}x\u{0085}");
        assert_eq!(trim("\u{3000}\u{2028}x\u{00A0}"), "x");
        assert_eq!(trim(" \t "), "");
    }

    #[test]
    fn utf16_lengths() {
        assert_eq!(utf16_len("a😀"), 3);
        // The byte count agrees with decoding every char, across 1- to 4-byte chars.
        for s in [
            "",
            "abc",
            "caf\u{e9}",
            "美洽下载",
            "a😀b𝄞c",
            "\u{7f}\u{80}\u{7ff}\u{800}\u{ffff}\u{10000}\u{10ffff}",
        ] {
            let decoded: usize = s.chars().map(char::len_utf16).sum();
            assert_eq!(utf16_len(s), decoded, "{s:?}");
            assert_eq!(utf16_len(s), s.encode_utf16().count(), "{s:?}");
        }
        assert_eq!(utf16_prefix("a😀b", 2), "a");
        assert_eq!(utf16_prefix("a😀b", 3), "a😀");
        assert_eq!(utf16_prefix("abc", 10), "abc");
        assert_eq!(utf16_prefix("美洽下载", 2), "美洽");
    }
}
