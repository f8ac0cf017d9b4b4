//! A fast path for reading a few top-level keys of a record: a strict scanner over the simple
//! line form records are written in (`key = value` lines, scalar values, arrays of
//! scalars, multi-line strings). It checks every line it passes as strictly
//! as the full parser would, and gives up (`None`) on anything outside that form — a table
//! header, a comment, a quoted key, a line-ending backslash, an inline table, a
//! datetime it is asked for, odd spacing — so the caller falls back to the full parser and the
//! result, errors included, is the same either way.

use serde_json::{Map, Number, Value};

/// The `wanted` top-level keys of `text`, or `None` when the scanner cannot be sure.
#[cfg(test)]
pub(crate) fn keys(text: &str, wanted: &[&str]) -> Option<Map<String, Value>> {
    keys_where(text, &|k| wanted.contains(&k))
}

/// The top-level keys of `text` that `wanted` accepts, or `None` when the scanner cannot be
/// sure.
pub(crate) fn keys_where(text: &str, wanted: &dyn Fn(&str) -> bool) -> Option<Map<String, Value>> {
    let mut out = Map::new();
    // The keys passed, to refuse a duplicate; records have a dozen or two (more: give up).
    let mut seen: [&str; MAX_KEYS] = [""; MAX_KEYS];
    let mut count = 0;
    let mut rest = text;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('\n') {
            rest = r;
            continue;
        }
        let (key, after) = bare_key(rest)?;
        if count == MAX_KEYS || seen[..count].contains(&key) {
            return None; // a duplicate key is an error the full parser reports
        }
        seen[count] = key;
        count += 1;
        let want = wanted(key);
        let (value, after) = value(after, want)?;
        rest = match after.strip_prefix('\n') {
            Some(r) => r,
            None if after.is_empty() => after,
            None => return None,
        };
        if want {
            out.insert(key.to_owned(), value);
        }
    }
    Some(out)
}

/// Beyond this many keys in one record the scanner gives up (the full parser reads it).
const MAX_KEYS: usize = 64;

/// `key = ` with a bare key and exactly one space either side of `=`.
fn bare_key(line: &str) -> Option<(&str, &str)> {
    let end = line
        .bytes()
        .position(|b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))?;
    if end == 0 {
        return None;
    }
    let after = line[end..].strip_prefix(" = ")?;
    Some((&line[..end], after))
}

/// One value at the start of `s`, and the text after it.
/// A value not `want`ed is checked as strictly but not built (its strings stay empty).
fn value(s: &str, want: bool) -> Option<(Value, &str)> {
    if let Some(r) = s.strip_prefix("\"\"\"") {
        let (text, after) = multiline(r, want)?;
        return Some((Value::String(text), after));
    }
    if s.starts_with('[') {
        return array(s);
    }
    scalar(s, want)
}

/// A scalar: a basic or literal string, a boolean, a number, or (only when not wanted) a
/// datetime, whose text form the full parser may normalise.
fn scalar(s: &str, want: bool) -> Option<(Value, &str)> {
    match s.as_bytes().first()? {
        b'"' => {
            let (text, after) = basic(&s[1..], want)?;
            Some((Value::String(text), after))
        }
        b'\'' => {
            let (text, after) = literal(&s[1..])?;
            let text = if want { text.to_owned() } else { String::new() };
            Some((Value::String(text), after))
        }
        b't' if s.starts_with("true") => Some((Value::Bool(true), delimited(&s[4..])?)),
        b'f' if s.starts_with("false") => Some((Value::Bool(false), delimited(&s[5..])?)),
        b'-' | b'0'..=b'9' => {
            let len = s
                .bytes()
                .position(|b| !(b.is_ascii_digit() || b"_.eE+-:TZ".contains(&b)))
                .unwrap_or(s.len());
            let (token, after) = s.split_at(len);
            let after = delimited(after)?;
            if is_datetime(token) {
                return (!want).then_some((Value::Null, after));
            }
            Some((number(token)?, after))
        }
        _ => None,
    }
}

/// `s` if it starts where a value may end (end of line or text, or inside an array).
fn delimited(s: &str) -> Option<&str> {
    match s.as_bytes().first() {
        None | Some(b'\n' | b',' | b' ' | b']') => Some(s),
        _ => None,
    }
}

const fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// Bytes that end a run of plain string text: a quote, a backslash, or a control character
/// (tab aside). In a multi-line string LF is plain too ([`multiline`] checks it apart).
const fn stops() -> [bool; 256] {
    let mut t = [false; 256];
    let mut b = 0;
    while b < 256 {
        t[b] = b == b'"' as usize || b == b'\\' as usize || is_control(b as u8);
        b += 1;
    }
    t
}
static STOPS: [bool; 256] = stops();

/// Where the first quote, backslash or control character (tab aside) of `bytes[from..]` is.
/// Most string text has none for long runs: eight bytes are ruled out at a time, and only
/// a word that may hold one is looked at byte by byte.
fn next_stop(bytes: &[u8], from: usize) -> usize {
    let mut i = from;
    while let Some(word) = word_at(bytes, i) {
        if !is_plain_word(word)
            && let Some(at) = word.iter().position(|&b| STOPS[usize::from(b)])
        {
            return i + at;
        }
        i += 8;
    }
    bytes[i..]
        .iter()
        .position(|&b| STOPS[usize::from(b)])
        .map_or(bytes.len(), |at| i + at)
}

/// The eight bytes of `bytes` at `at`, when there are eight.
pub(crate) fn word_at(bytes: &[u8], at: usize) -> Option<&[u8; 8]> {
    bytes.get(at..at + 8)?.try_into().ok()
}

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGHS: u64 = 0x8080_8080_8080_8080;

/// Whether some byte of `w` is zero (the classic bit trick: exact as to "some").
const fn has_zero(w: u64) -> bool {
    w.wrapping_sub(ONES) & !w & HIGHS != 0
}

/// Whether no byte of `word` is below 0x20 (tab included), DEL, a quote or a backslash:
/// plain string text, which neither ends a string nor needs an escape in one. The reader
/// and the writer skip such words whole.
pub(crate) const fn is_plain_word(word: &[u8; 8]) -> bool {
    let w = u64::from_le_bytes(*word);
    let below_space = w.wrapping_sub(ONES * 0x20) & !w & HIGHS != 0;
    !(below_space
        || has_zero(w ^ (ONES * 0x7f))
        || has_zero(w ^ (ONES * b'"' as u64))
        || has_zero(w ^ (ONES * b'\\' as u64)))
}

/// A basic string's body up to its closing quote, escapes decoded (and the text kept only
/// when `keep`).
fn basic(s: &str, keep: bool) -> Option<(String, &str)> {
    let bytes = s.as_bytes();
    let mut out = String::new();
    let mut start = 0;
    let mut i = next_stop(bytes, 0);
    while i < bytes.len() {
        match bytes[i] {
            b'"' => {
                push(&mut out, keep, &s[start..i]);
                return Some((out, &s[i + 1..]));
            }
            b'\\' => {
                push(&mut out, keep, &s[start..i]);
                i += 1 + escape(&s[i + 1..], keep.then_some(&mut out))?;
                start = i;
            }
            _ => return None, // a control character
        }
        i = next_stop(bytes, i);
    }
    None
}

fn push(out: &mut String, keep: bool, text: &str) {
    if keep {
        out.push_str(text);
    }
}

/// One escape after a backslash, appended to `out` (when given); how many bytes it took.
fn escape(s: &str, out: Option<&mut String>) -> Option<usize> {
    let (c, len) = match s.as_bytes().first()? {
        b'b' => ('\u{8}', 1),
        b't' => ('\t', 1),
        b'n' => ('\n', 1),
        b'f' => ('\u{c}', 1),
        b'r' => ('\r', 1),
        b'"' => ('"', 1),
        b'\\' => ('\\', 1),
        b'u' => (hex_char(s.get(1..5)?)?, 5),
        b'U' => (hex_char(s.get(1..9)?)?, 9),
        _ => return None,
    };
    if let Some(out) = out {
        out.push(c);
    }
    Some(len)
}

fn hex_char(digits: &str) -> Option<char> {
    if !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    char::from_u32(u32::from_str_radix(digits, 16).ok()?)
}

/// A literal string's body up to its closing quote.
fn literal(s: &str) -> Option<(&str, &str)> {
    let end = s.bytes().position(|b| b == b'\'' || is_control(b))?;
    (s.as_bytes()[end] == b'\'').then(|| (&s[..end], &s[end + 1..]))
}

/// A multi-line basic string after its opening `"""`, escapes decoded (and kept only when
/// `keep`); given up on a line-ending backslash, a control character but tab and LF, or
/// quotes right after the closing three.
fn multiline(s: &str, keep: bool) -> Option<(String, &str)> {
    let s = s.strip_prefix('\n').unwrap_or(s);
    let bytes = s.as_bytes();
    let mut out = String::new();
    let (mut start, mut i) = (0, next_stop(bytes, 0));
    while i < bytes.len() {
        match bytes[i] {
            b'"' if s[i..].starts_with("\"\"\"") => {
                if bytes.get(i + 3) == Some(&b'"') {
                    return None;
                }
                push(&mut out, keep, &s[start..i]);
                return Some((out, &s[i + 3..]));
            }
            b'"' | b'\n' => i += 1,
            b'\\' => {
                push(&mut out, keep, &s[start..i]);
                i += 1 + escape(&s[i + 1..], keep.then_some(&mut out))?;
                start = i;
            }
            _ => return None, // a control character
        }
        i = next_stop(bytes, i);
    }
    None
}

/// An array of scalars, on one line or several.
fn array(s: &str) -> Option<(Value, &str)> {
    let mut items = Vec::new();
    let mut rest = s[1..].trim_start_matches([' ', '\n']);
    loop {
        if let Some(after) = rest.strip_prefix(']') {
            return Some((Value::Array(items), after));
        }
        let (item, after) = scalar(rest, true)?;
        items.push(item);
        rest = after.trim_start_matches([' ', '\n']);
        if let Some(after) = rest.strip_prefix(',') {
            rest = after.trim_start_matches([' ', '\n']);
        } else if !rest.starts_with(']') {
            return None;
        }
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)` with every field in range (days up to 28, so no
/// month can make it invalid); anything else is not taken for a datetime.
fn is_datetime(t: &str) -> bool {
    let b = t.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[10] != b'T' {
        return false;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        let d = t.get(r)?;
        d.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| d.parse().ok())?
    };
    let fields = [
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ];
    let [Some(_), Some(mo), Some(d), Some(h), Some(mi), Some(sec)] = fields else {
        return false;
    };
    if !((1..=12).contains(&mo) && (1..=28).contains(&d) && h < 24 && mi < 60 && sec < 60)
        || b[13] != b':'
        || b[16] != b':'
    {
        return false;
    }
    let mut rest = &t[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return false;
        }
        rest = &frac[n..];
    }
    match rest.as_bytes() {
        b"Z" => true,
        [sign, ..] if rest.len() == 6 && (*sign == b'+' || *sign == b'-') => {
            let off = |r: std::ops::Range<usize>| num(t.len() - 6 + r.start..t.len() - 6 + r.end);
            rest.as_bytes()[3] == b':'
                && off(1..3).is_some_and(|h| h < 24)
                && off(4..6).is_some_and(|m| m < 60)
        }
        _ => false,
    }
}

/// A decimal integer or float as TOML writes them: digits with single `_` between digits, no
/// leading zero, no `+`, no `inf`/`nan`, no hex/octal/binary prefix.
fn number(t: &str) -> Option<Value> {
    let unsigned = t.strip_prefix('-').unwrap_or(t);
    let int_len = unsigned
        .bytes()
        .position(|b| !(b.is_ascii_digit() || b == b'_'))
        .unwrap_or(unsigned.len());
    let (int, tail) = unsigned.split_at(int_len);
    if !digits_ok(int) || (int.len() > 1 && int.starts_with('0')) {
        return None;
    }
    if tail.is_empty() {
        return Some(Value::Number(
            without_underscores(t).parse::<i64>().ok()?.into(),
        ));
    }
    let (frac, exp) = match tail.strip_prefix('.') {
        Some(f) => match f.find(['e', 'E']) {
            Some(at) => (Some(&f[..at]), Some(&f[at + 1..])),
            None => (Some(f), None),
        },
        None => (None, Some(tail.strip_prefix(['e', 'E'])?)),
    };
    if frac.is_some_and(|f| !digits_ok(f)) {
        return None;
    }
    if let Some(e) = exp {
        let e = e.strip_prefix(['+', '-']).unwrap_or(e);
        if !digits_ok(e) {
            return None;
        }
    }
    let f: f64 = without_underscores(t).parse().ok()?;
    Some(Value::Number(Number::from_f64(f)?))
}

/// A number's text without its digit separators (copied only when it has some).
fn without_underscores(t: &str) -> std::borrow::Cow<'_, str> {
    if t.contains('_') {
        t.replace('_', "").into()
    } else {
        t.into()
    }
}

/// One or more digits, `_` only between two digits.
fn digits_ok(d: &str) -> bool {
    let b = d.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_digit()
        && b[b.len() - 1].is_ascii_digit()
        && b.iter().all(|c| c.is_ascii_digit() || *c == b'_')
        && !d.contains("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The word-at-a-time search finds the same stop as a byte-by-byte one: every stop byte
    /// (and the tab and non-ASCII text that only look like candidates) at every position of
    /// texts longer and shorter than a word, from every start.
    #[test]
    fn next_stop_agrees_with_a_byte_scan() {
        let plain = |bytes: &[u8], from: usize| {
            bytes[from..]
                .iter()
                .position(|&b| STOPS[usize::from(b)])
                .map_or(bytes.len(), |at| from + at)
        };
        let fillers: [&[u8]; 3] = [
            b"abcdefghijklmnopqrstuvwxyz",
            "é—ü😀x".as_bytes(),
            b"a\tb\tc",
        ];
        for filler in fillers {
            for len in 0..filler.len() {
                for stop in [b'"', b'\\', 0x00, 0x0a, 0x0d, 0x1f, 0x7f, b'\t', b'~', 0xff] {
                    for at in 0..=len {
                        let mut bytes = filler[..len].to_vec();
                        bytes.insert(at, stop);
                        for from in 0..bytes.len() {
                            assert_eq!(
                                next_stop(&bytes, from),
                                plain(&bytes, from),
                                "{bytes:?} from {from}"
                            );
                        }
                    }
                }
            }
        }
    }
    use serde_json::json;

    /// Every key the scanner reads equals the full parser's reading; `None` only where noted.
    fn agrees(text: &str) -> bool {
        let full = crate::toml::from_str(text);
        let all: Vec<String> = match &full {
            Ok(m) => m.keys().cloned().collect(),
            Err(_) => vec!["a".into(), "b".into(), "verdict".into()],
        };
        let wanted: Vec<&str> = all.iter().map(String::as_str).collect();
        // Values not wanted are checked as strictly as wanted ones, only not built.
        assert_eq!(
            keys(text, &[]).is_some(),
            keys(text, &wanted).is_some(),
            "{text}"
        );
        match keys(text, &wanted) {
            Some(found) => {
                assert_eq!(
                    Ok(&found),
                    full.as_ref().map_err(|e| e.to_string()),
                    "{text}"
                );
                true
            }
            None => false,
        }
    }

    #[test]
    fn canonical_records_are_read_by_the_scanner() {
        let record = json!({
            "id": "0190d3c4-0001-7001-8001-000000000001",
            "legacyId": 12345,
            "slug": "alice",
            "fullName": "Alice \"Al\" O'Neil",
            "bio": "Line one.\nSays \"hi\".\tTabbed.",
            "score": 0.25,
            "big": 1.5e300,
            "tiny": -2.5e-7,
            "neg": -0.0,
            "flags": ["a", "b \\ c", "d\u{1}"],
            "nums": [1, 2.5],
            "empty": [],
            "ok": true,
            "no": false,
            "caf\u{e9}": "\u{2014}",
        });
        let text = crate::toml::to_string(record.as_object().unwrap()).unwrap();
        // The quoted key `café` is beyond the scanner: it falls back as a whole.
        assert!(!agrees(&text));
        let mut plain = record.as_object().unwrap().clone();
        plain.remove("caf\u{e9}");
        let text = crate::toml::to_string(&plain).unwrap();
        assert!(agrees(&text), "{text}");
        let only = keys(&text, &["slug", "legacyId", "missing"]).unwrap();
        assert_eq!(json!(only), json!({"slug": "alice", "legacyId": 12345}));
    }

    #[test]
    fn anything_unsure_falls_back() {
        for text in [
            "a = 1\na = 2\n",
            "a = 1 # note\n",
            "a=1\n",
            "a = 0x10\n",
            "a = 1__0\n",
            "a = \"\"\"\nx\\\ny\"\"\"\n",
            "a = \"\"\"\nends with quote\"\"\"\"\n",
            "a = '''\nlit'''\n",
            "a = { b = 1 }\n",
            "a = [ [ 1 ] ]\n",
            "[t]\na = 1\n",
            "a = 1\r\n",
            "a = 2024-01-31T00:00:00Z\n",
            "a = \"bad \\q escape\"\n",
            "a = \"\\uD800\"\n",
            "a = 99999999999999999999\n",
            "a = 1e400\n",
            "\"a\" = 1\n",
            "a = \"open\n",
            "a = \"ctl \u{1} \"\n",
            "a = \"\"\"\ncr\r\nlf\"\"\"\n",
            "a = 'ctl \u{7f}'\n",
        ] {
            assert!(!agrees(text), "{text:?}");
        }
    }

    #[test]
    fn plain_forms_are_read_as_the_full_parser_reads_them() {
        for text in [
            "",
            "\n\na = 1\n",
            "a = -17\nb = 1_000\n",
            "a = 'lit \"q\"'\nb = \"\\u00e9\\U0001F600\\\\\"\n",
            "a = [\n  \"x\",\n  \"y\"\n]\nb = [ 1, 2, ]\n",
            "a = \"\"\"\nmulti\n\"quoted\" line\n\"\"\"\nb = 3.0\n",
            "a = 1e5\nb = 2E-3\n",
            "a = true\nb = false",
            "a = \"tab\there \\t\"\nb = \"\"\"\n\"q\" \"\"x\"\" \t\n\"\"\"\n",
        ] {
            assert!(agrees(text), "{text:?}");
        }
        // A datetime is passed over when not wanted, and validated.
        let text = "at = 2024-02-28T23:59:59.123+05:30\nverdict = 'spam'\n";
        assert_eq!(
            json!(keys(text, &["verdict"]).unwrap()),
            json!({"verdict": "spam"})
        );
        assert!(keys(text, &["at"]).is_none());
        assert!(crate::toml::from_str(text).is_ok());
    }
}
