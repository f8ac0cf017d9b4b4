//! laddr epoch seconds → the `Date.prototype.toISOString()` form (B §2.0 "Timestamps").

use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::Value;

/// `new Date(ms).toISOString()` throws this for times outside ±8.64e15 ms.
pub const INVALID_TIME: &str = "Invalid time value";

/// What `epochToIso` makes of a JSON value: `Ok(None)` means "not usable, fall back"
/// (missing, null, not a number, not finite, ≤ 0); `Err` is JS's RangeError for a value
/// beyond `Date`'s range (about 8.64e12 s), which the reference throws.
pub fn epoch_to_iso(v: Option<&Value>) -> Result<Option<String>, &'static str> {
    let Some(s) = v.and_then(Value::as_f64) else {
        return Ok(None);
    };
    if !s.is_finite() || s <= 0.0 {
        return Ok(None);
    }
    let ms = s * 1000.0;
    if ms.abs() > 8.64e15 {
        return Err(INVALID_TIME);
    }
    // TimeClip: ToIntegerOrInfinity truncates toward zero; the range check above makes
    // the cast exact.
    Ok(Some(iso_from_millis(ms.trunc() as i64)))
}

/// `epochToIsoOr(v, fallback)`.
pub fn epoch_to_iso_or(v: Option<&Value>, fallback: &str) -> Result<String, &'static str> {
    Ok(epoch_to_iso(v)?.unwrap_or_else(|| fallback.to_owned()))
}

/// The wall clock as `YYYY-MM-DDTHH:MM:SS.mmmZ` (the default `now`).
pub fn now_iso() -> String {
    let ms = match SystemTime::now().duration_since(UNIX_EPOCH) {
        Ok(d) => d.as_millis() as i64,
        Err(e) => -(e.duration().as_millis() as i64),
    };
    iso_from_millis(ms)
}

/// Milliseconds since the epoch → `toISOString()` (years outside 0..=9999 use the
/// six-digit signed form, as JS does).
pub fn iso_from_millis(ms: i64) -> String {
    let Fields {
        y,
        m,
        d,
        h,
        mi,
        s,
        milli,
    } = Fields::of(ms);
    if !(0..=9999).contains(&y) {
        let sign = if y < 0 { '-' } else { '+' };
        return format!(
            "{sign}{:06}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{milli:03}Z",
            y.abs()
        );
    }
    // Every record has two of these: digits by hand, not through the format machinery.
    let mut out = String::with_capacity(24);
    let fields: [(u64, usize, &str); 7] = [
        (y as u64, 4, "-"),
        (u64::from(m), 2, "-"),
        (u64::from(d), 2, "T"),
        (h as u64, 2, ":"),
        (mi as u64, 2, ":"),
        (s as u64, 2, "."),
        (milli as u64, 3, "Z"),
    ];
    for (value, width, after) in fields {
        push_digits(&mut out, value, width);
        out.push_str(after);
    }
    out
}

/// The calendar and clock fields of an instant (UTC).
struct Fields {
    y: i64,
    m: u32,
    d: u32,
    h: i64,
    mi: i64,
    s: i64,
    milli: i64,
}

impl Fields {
    fn of(ms: i64) -> Fields {
        let days = ms.div_euclid(86_400_000);
        let rem = ms.rem_euclid(86_400_000);
        let (y, m, d) = civil_from_days(days);
        Fields {
            y,
            m,
            d,
            h: rem / 3_600_000,
            mi: rem / 60_000 % 60,
            s: rem / 1000 % 60,
            milli: rem % 1000,
        }
    }
}

/// `value` as exactly `width` decimal digits (zero-padded; `value` < 10^width).
fn push_digits(out: &mut String, value: u64, width: usize) {
    let mut digits = [b'0'; 4];
    let mut v = value;
    for slot in digits[..width].iter_mut().rev() {
        *slot = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend(digits[..width].iter().map(|&b| char::from(b)));
}

/// Days since 1970-01-01 → proleptic Gregorian (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn iso(v: Value) -> Result<Option<String>, &'static str> {
        epoch_to_iso(Some(&v))
    }

    #[test]
    fn epoch_seconds_to_iso() {
        assert_eq!(
            iso(json!(1377126953)).unwrap().unwrap(),
            "2013-08-21T23:15:53.000Z"
        );
        assert_eq!(
            iso(json!(1518875937)).unwrap().unwrap(),
            "2018-02-17T13:58:57.000Z"
        );
        assert_eq!(
            iso(json!(1.5)).unwrap().unwrap(),
            "1970-01-01T00:00:01.500Z"
        );
        assert_eq!(
            iso(json!(951782400)).unwrap().unwrap(),
            "2000-02-29T00:00:00.000Z"
        );
        assert_eq!(
            iso(json!(253402300800_i64)).unwrap().unwrap(),
            "+010000-01-01T00:00:00.000Z"
        );
    }

    #[test]
    fn unusable_values_fall_back() {
        assert_eq!(iso(json!(0)), Ok(None));
        assert_eq!(iso(json!(-5)), Ok(None));
        assert_eq!(iso(json!("1377126953")), Ok(None));
        assert_eq!(iso(Value::Null), Ok(None));
        assert_eq!(epoch_to_iso(None), Ok(None));
        assert_eq!(epoch_to_iso_or(None, "X"), Ok("X".to_owned()));
    }

    #[test]
    fn out_of_range_throws_like_js() {
        assert_eq!(
            iso(json!(8.64e12)).unwrap().unwrap(),
            "+275760-09-13T00:00:00.000Z"
        );
        assert_eq!(iso(json!(8.7e12)), Err(INVALID_TIME));
    }

    #[test]
    fn hand_written_digits_match_the_formatter() {
        let by_format = |ms: i64| {
            let f = Fields::of(ms);
            let (y, m, d, h, mi, s) = (f.y, f.m, f.d, f.h, f.mi, f.s);
            format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}.{:03}Z", f.milli)
        };
        // Year 0 to 9999, at an odd step so every field takes many values; and the ends.
        let last = 253_402_300_799_999;
        let first = -62_167_219_200_000;
        let mut ms = first;
        while ms <= last {
            assert_eq!(iso_from_millis(ms), by_format(ms), "{ms}");
            ms += 7_777_777_777 + 123;
        }
        for ms in [first, 0, 1, 999, 86_399_999, last] {
            assert_eq!(iso_from_millis(ms), by_format(ms), "{ms}");
        }
        assert_eq!(iso_from_millis(first - 1), "-000001-12-31T23:59:59.999Z");
        assert_eq!(iso_from_millis(last + 1), "+010000-01-01T00:00:00.000Z");
    }

    #[test]
    fn wall_clock_is_iso() {
        let now = now_iso();
        assert_eq!(now.len(), 24);
        assert!(now.ends_with('Z'));
    }
}
