//! Durations on the command line: a number and a unit (`250ms`, `1.5s`, `3m`, `36h`, `180d`,
//! `26w`). Each flag says which units make sense for it and whether a bare number is allowed.

use std::time::Duration;

/// A duration unit and its suffix.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unit {
    /// `ms`
    Millis,
    /// `s`
    Seconds,
    /// `m`
    Minutes,
    /// `h`
    Hours,
    /// `d`
    Days,
    /// `w`
    Weeks,
}

impl Unit {
    /// The suffix on the command line.
    pub fn suffix(self) -> &'static str {
        match self {
            Unit::Millis => "ms",
            Unit::Seconds => "s",
            Unit::Minutes => "m",
            Unit::Hours => "h",
            Unit::Days => "d",
            Unit::Weeks => "w",
        }
    }

    fn seconds(self) -> f64 {
        match self {
            Unit::Millis => 0.001,
            Unit::Seconds => 1.0,
            Unit::Minutes => 60.0,
            Unit::Hours => 3_600.0,
            Unit::Days => 86_400.0,
            Unit::Weeks => 7.0 * 86_400.0,
        }
    }
}

/// What a flag accepts.
#[derive(Clone, Copy, Debug)]
pub struct Syntax {
    /// The units, the first one used in the error's example.
    pub units: &'static [Unit],
    /// The unit of a number without one; `None` refuses it.
    pub bare: Option<Unit>,
    /// Whether `1.5s` is allowed (else whole numbers only).
    pub fractions: bool,
}

/// Short waits and pacing: `250ms`, `1.5s`, `3m`, `1h`; a bare number is seconds.
pub const SHORT: Syntax = Syntax {
    units: &[Unit::Millis, Unit::Seconds, Unit::Minutes, Unit::Hours],
    bare: Some(Unit::Seconds),
    fractions: true,
};

/// Ages of records: whole `d`, `w` or `h`; a unit is required (`180` alone: days? seconds?).
pub const AGE: Syntax = Syntax {
    units: &[Unit::Days, Unit::Weeks, Unit::Hours],
    bare: None,
    fractions: false,
};

/// Not a duration in the accepted units.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a duration (a number and a unit {units}, e.g. {example})")]
pub struct BadDuration {
    /// The value given.
    pub value: String,
    /// The accepted units, e.g. `d, w or h`.
    pub units: String,
    /// An example in the first accepted unit.
    pub example: String,
}

/// Parses `value` as `syntax` allows (longest suffix first, so `ms` is not read as `m`).
/// Negative, non-finite and overflowing values are refused.
pub fn parse(value: &str, syntax: Syntax) -> Result<Duration, BadDuration> {
    let Syntax {
        units,
        bare,
        fractions,
    } = syntax;
    let t = value.trim();
    let mut by_length: Vec<Unit> = units.to_vec();
    by_length.sort_by_key(|u| std::cmp::Reverse(u.suffix().len()));
    let (number, unit) = by_length
        .iter()
        .find_map(|u| t.strip_suffix(u.suffix()).map(|n| (n, Some(*u))))
        .unwrap_or((t, bare));
    let number = number.trim();
    let whole = !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit());
    let n: Option<f64> = (fractions || whole).then(|| number.parse().ok()).flatten();
    match (n, unit) {
        (Some(n), Some(unit)) if n >= 0.0 => Duration::try_from_secs_f64(n * unit.seconds()).ok(),
        _ => None,
    }
    .ok_or_else(|| bad(value, units))
}

fn bad(value: &str, units: &[Unit]) -> BadDuration {
    let names: Vec<&str> = units.iter().map(|u| u.suffix()).collect();
    let units_text = match names.split_last() {
        Some((last, [])) => (*last).to_owned(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
        None => String::new(),
    };
    let example = units.first().map_or(String::new(), |u| match u {
        Unit::Millis => "500ms".to_owned(),
        Unit::Days => "180d".to_owned(),
        other => format!("2{}", other.suffix()),
    });
    BadDuration {
        value: value.to_owned(),
        units: units_text,
        example,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_durations() {
        let p = |s| parse(s, SHORT);
        assert_eq!(p("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(p("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(p("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(p(" 3m "), Ok(Duration::from_secs(180)));
        assert_eq!(p("1h"), Ok(Duration::from_secs(3600)));
        for bad in ["soon", "-1s", "NaN", "inf", "2d", ""] {
            assert!(p(bad).is_err(), "{bad}");
        }
        let e = p("soon").unwrap_err();
        assert_eq!(
            e.to_string(),
            "\"soon\" is not a duration (a number and a unit ms, s, m or h, e.g. 500ms)"
        );
    }

    #[test]
    fn ages_need_a_unit() {
        let p = |s| parse(s, AGE);
        assert_eq!(p("180d"), Ok(Duration::from_secs(180 * 86_400)));
        assert_eq!(p("26w"), Ok(Duration::from_secs(26 * 7 * 86_400)));
        assert_eq!(p("36h"), Ok(Duration::from_secs(36 * 3_600)));
        assert_eq!(p("0d"), Ok(Duration::ZERO));
        let huge = format!("{}w", u64::MAX);
        assert!(p(&huge).is_err(), "overflow");
        for bad in ["180", "180m", "d", "-1d", "1e300w", "1.5d", ""] {
            assert!(p(bad).is_err(), "{bad}");
        }
        assert_eq!(p("180").unwrap_err().units, "d, w or h");
    }
}
