//! The Zod 4 field rules the rewrite's schemas use, written by hand so no crate needs a regex
//! engine. One definition for every validator: `translate` (the public sheets, reference/B
//! §2.10) and `private-store` (profiles and credentials, reference/D §2) both call these.
//!
//! Where the two references could be read differently, the Zod regex decides (B §2.10): hex
//! digits in either case but the max UUID only in lowercase, and datetimes checked against the
//! calendar (no April 31, February 29 only in leap years).

#![deny(missing_docs)]

/// Zod 4 `uuid()`: `^([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[1-8][0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}|00000000-0000-0000-0000-000000000000|ffffffff-ffff-ffff-ffff-ffffffffffff)$`.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 || [8, 13, 18, 23].iter().any(|&i| b[i] != b'-') {
        return false;
    }
    let hex = |r: std::ops::Range<usize>| b[r].iter().all(u8::is_ascii_hexdigit);
    if !(hex(0..8) && hex(9..13) && hex(14..18) && hex(19..23) && hex(24..36)) {
        return false;
    }
    // The version and variant digits; the nil and max UUIDs have neither (checked last:
    // almost every id is a v7).
    ((b'1'..=b'8').contains(&b[14]) && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B'))
        || s == "00000000-0000-0000-0000-000000000000"
        || s == "ffffffff-ffff-ffff-ffff-ffffffffffff"
}

/// Zod 4 `datetime({offset: true})`: a calendar-checked `YYYY-MM-DDTHH:MM[:SS[.frac]]`
/// followed by `Z` or `±HH:MM`.
pub fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    // At most 4 digits: no overflow.
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b.get(r)?.iter().try_fold(0u32, |n, &c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    let (Some(y), Some(m), Some(d)) = (num(0..4), num(5..7), num(8..10)) else {
        return false;
    };
    if b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') || b.get(10) != Some(&b'T') {
        return false;
    }
    if !(1..=days_in_month(y, m)).contains(&d) {
        return false;
    }
    let (Some(h), Some(mi)) = (num(11..13), num(14..16)) else {
        return false;
    };
    if b.get(13) != Some(&b':') || h > 23 || mi > 59 {
        return false;
    }
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        match num(17..19) {
            Some(sec) if sec <= 59 => i = 19,
            _ => return false,
        }
        if b.get(i) == Some(&b'.') {
            let start = i + 1;
            i = start;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return false;
            }
        }
    }
    match b.get(i) {
        Some(b'Z') => i + 1 == b.len(),
        Some(b'+' | b'-') => {
            i + 6 == b.len()
                && b[i + 3] == b':'
                && matches!(num(i + 1..i + 3), Some(oh) if oh <= 23)
                && matches!(num(i + 4..i + 6), Some(om) if om <= 59)
        }
        _ => false,
    }
}

/// Days in month `m` of year `y` (proleptic Gregorian), 0 for a month that does not exist.
fn days_in_month(y: u32, m: u32) -> u32 {
    let leap = y.is_multiple_of(4) && (!y.is_multiple_of(100) || y.is_multiple_of(400));
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    }
}

/// Zod 4's "practical" email regex (reference/D §2.1):
/// `^(?!\.)(?!.*\.\.)([A-Za-z0-9_'+\-\.]*)[A-Za-z0-9_+-]@([A-Za-z0-9][A-Za-z0-9\-]*\.)+[A-Za-z]{2,}$`
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    if local.is_empty() || local.starts_with('.') || s.contains("..") {
        return false;
    }
    let local_ok = local
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'\'' | b'+' | b'-' | b'.'));
    let last = local.as_bytes()[local.len() - 1];
    if !local_ok || !(last.is_ascii_alphanumeric() || matches!(last, b'_' | b'+' | b'-')) {
        return false;
    }
    // Domain: one or more `label.` then a TLD of 2+ letters. `@` may not repeat.
    let Some((labels, tld)) = domain.rsplit_once('.') else {
        return false;
    };
    if tld.len() < 2 || !tld.bytes().all(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    labels.split('.').all(|l| {
        let lb = l.as_bytes();
        !lb.is_empty()
            && lb[0].is_ascii_alphanumeric()
            && lb.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    })
}

/// `^[A-Za-z0-9_-]{43}$`: 32 random bytes, base64url, unpadded.
pub fn is_unsubscribe_token(s: &str) -> bool {
    s.len() == 43
        && s.bytes()
            .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b'_')
}
