//! Field validators matching the rewrite's zod schemas (`reference/D` §2), written by hand so the
//! store needs no regex engine.

/// zod v4 `uuid()`: RFC 9562 shape with version 1–8 and variant `[89abAB]`, or the nil/max UUID.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    if b.len() != 36 {
        return false;
    }
    for (i, &c) in b.iter().enumerate() {
        let ok = match i {
            8 | 13 | 18 | 23 => c == b'-',
            _ => c.is_ascii_hexdigit(),
        };
        if !ok {
            return false;
        }
    }
    if s == "00000000-0000-0000-0000-000000000000"
        || s.eq_ignore_ascii_case("ffffffff-ffff-ffff-ffff-ffffffffffff")
    {
        return true;
    }
    matches!(b[14], b'1'..=b'8') && matches!(b[19], b'8' | b'9' | b'a' | b'b' | b'A' | b'B')
}

/// zod v4 `datetime({offset: true})`: `YYYY-MM-DDTHH:MM[:SS[.frac]]` then `Z` or `±HH:MM`.
pub fn is_datetime(s: &str) -> bool {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>| {
        b.get(r.clone())
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit))
    };
    if b.len() < 17
        || !digits(0..4)
        || b[4] != b'-'
        || !digits(5..7)
        || b[7] != b'-'
        || !digits(8..10)
    {
        return false;
    }
    if b[10] != b'T' || !digits(11..13) || b[13] != b':' || !digits(14..16) {
        return false;
    }
    let num = |r: std::ops::Range<usize>| s[r].parse::<u32>().unwrap_or(99);
    if !(1..=12).contains(&num(5..7))
        || !(1..=31).contains(&num(8..10))
        || num(11..13) > 23
        || num(14..16) > 59
    {
        return false;
    }
    let mut i = 16;
    if b.get(i) == Some(&b':') {
        if !digits(i + 1..i + 3) || num(i + 1..i + 3) > 59 {
            return false;
        }
        i += 3;
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
    match &b[i..] {
        [b'Z'] => true,
        [b'+' | b'-', h1, h2, b':', m1, m2] => {
            [h1, h2, m1, m2].iter().all(|d| d.is_ascii_digit())
                && num(i + 1..i + 3) <= 23
                && num(i + 4..i + 6) <= 59
        }
        _ => false,
    }
}

/// zod v4's "practical" email regex (`reference/D` §2.1):
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids() {
        assert!(is_uuid("01951a3c-0000-7000-8000-000000000001"));
        assert!(is_uuid("00000000-0000-0000-0000-000000000000"));
        assert!(!is_uuid("01951a3c-0000-9000-8000-000000000001"));
        assert!(!is_uuid("01951a3c-0000-7000-c000-000000000001"));
        assert!(!is_uuid("01951a3c00007000800000000000000001"));
    }

    #[test]
    fn datetimes() {
        for ok in [
            "2026-08-15T12:00:00.000Z",
            "2026-08-15T12:00Z",
            "2026-08-15T12:00:00+02:00",
            "2026-08-15T12:00:00.1-05:30",
        ] {
            assert!(is_datetime(ok), "{ok}");
        }
        for bad in [
            "2026-08-15",
            "2026-08-15 12:00:00Z",
            "2026-08-15T12:00:00",
            "2026-13-15T12:00:00Z",
            "2026-08-15T12:00:00.Z",
            "x",
        ] {
            assert!(!is_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn emails() {
        for ok in [
            "a@example.com",
            "first.last+tag@sub.example.org",
            "o'neil@x.io",
            "A@B.CO",
        ] {
            assert!(is_email(ok), "{ok}");
        }
        for bad in [
            ".a@example.com",
            "a..b@example.com",
            "a.@example.com",
            "a@example",
            "a@-x.com",
            "a@x.c",
            "a b@x.com",
            "@x.com",
            "a@x@y.com",
            "a@x..com",
        ] {
            assert!(!is_email(bad), "{bad}");
        }
    }
}
