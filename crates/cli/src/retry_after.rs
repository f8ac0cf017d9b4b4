//! The HTTP `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP-date.

use std::time::{Duration, SystemTime};

use jiff::Timestamp;

/// How long `value` asks to wait, measured from `now`: delay-seconds (`120`) or an HTTP-date
/// (`Sun, 06 Nov 1994 08:49:37 GMT`; a date already past is zero). `None` for anything else.
pub fn parse(value: &str, now: SystemTime) -> Option<Duration> {
    let v = value.trim();
    if let Ok(secs) = v.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = http_date(v)?;
    let now = Timestamp::try_from(now).ok()?;
    let wait = at.duration_since(now);
    Some(Duration::try_from(wait).unwrap_or(Duration::ZERO))
}

/// An HTTP-date in its preferred form (IMF-fixdate, which RFC 2822 covers); the weekday is
/// not checked against the date, as servers get it wrong and the date is what counts.
fn http_date(v: &str) -> Option<Timestamp> {
    static PARSER: jiff::fmt::rfc2822::DateTimeParser =
        jiff::fmt::rfc2822::DateTimeParser::new().relaxed_weekday(true);
    PARSER.parse_timestamp(v).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::UNIX_EPOCH;

    /// 1994-11-06T08:49:30Z, seven seconds before the RFC's example date.
    fn now() -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(784_111_770)
    }

    #[test]
    fn delay_seconds() {
        assert_eq!(parse("7", now()), Some(Duration::from_secs(7)));
        assert_eq!(parse(" 120 ", now()), Some(Duration::from_secs(120)));
        assert_eq!(parse("0", now()), Some(Duration::ZERO));
    }

    #[test]
    fn http_date_counts_from_now() {
        let date = "Sun, 06 Nov 1994 08:49:37 GMT";
        assert_eq!(parse(date, now()), Some(Duration::from_secs(7)));
        let later = now() + Duration::from_secs(60);
        assert_eq!(
            parse(date, later),
            Some(Duration::ZERO),
            "a past date: no wait"
        );
        assert_eq!(
            parse(
                "Wed, 21 Oct 2015 07:28:00 GMT",
                UNIX_EPOCH + Duration::from_secs(1_445_412_400)
            ),
            Some(Duration::from_secs(80))
        );
        // The vectors probe tested with before it used this parser.
        let at_07_27_50 = UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        let date = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(parse(date, at_07_27_50), Some(Duration::from_secs(10)));
        let past = "Wed, 21 Oct 2015 07:00:00 GMT";
        assert_eq!(parse(past, at_07_27_50), Some(Duration::ZERO));
    }

    #[test]
    fn anything_else_is_none() {
        for v in [
            "soon",
            "",
            "-5",
            "1.5",
            "06 Nov 1994",
            "Sun, 06 Nov 1994 25:00:00 GMT",
        ] {
            assert_eq!(parse(v, now()), None, "{v:?}");
        }
    }
}
