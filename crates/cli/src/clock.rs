//! The clock, written as JavaScript's `toISOString()` writes it: `2026-08-15T12:00:00.000Z`.

pub use jiff::Timestamp;

/// A `--now` value that is not an ISO 8601 instant.
#[derive(Debug, thiserror::Error)]
#[error("--now {value:?}: {message}")]
pub struct BadInstant {
    /// The value given.
    pub value: String,
    /// Why it was refused.
    pub message: String,
}

/// A timestamp as `toISOString()` writes it: UTC, milliseconds (truncated), `Z`.
pub fn iso(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The wall clock as [`iso`] writes it.
pub fn now_iso() -> String {
    iso(Timestamp::now())
}

/// A `--now` override (any ISO 8601 instant with an offset), or the wall clock without one.
pub fn now_or(value: Option<&str>) -> Result<Timestamp, BadInstant> {
    match value {
        None => Ok(Timestamp::now()),
        Some(s) => s.parse().map_err(|e: jiff::Error| BadInstant {
            value: s.to_owned(),
            message: e.to_string(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_has_milliseconds_and_z() {
        let t: Timestamp = "2026-08-15T12:00:00Z".parse().unwrap();
        assert_eq!(iso(t), "2026-08-15T12:00:00.000Z");
        let t: Timestamp = "2026-08-15T14:00:00.123789+02:00".parse().unwrap();
        assert_eq!(iso(t), "2026-08-15T12:00:00.123Z");
    }

    #[test]
    fn now_is_iso_shaped() {
        let now = now_iso();
        assert_eq!(now.len(), 24, "{now}");
        assert!(now.ends_with('Z') && now.as_bytes()[10] == b'T', "{now}");
    }

    #[test]
    fn now_override_parses_or_names_the_value() {
        let t = now_or(Some("2026-07-01T00:00:00.000Z")).unwrap();
        assert_eq!(iso(t), "2026-07-01T00:00:00.000Z");
        let e = now_or(Some("yesterday")).unwrap_err();
        assert!(e.to_string().starts_with("--now \"yesterday\": "), "{e}");
        assert!(now_or(None).is_ok());
    }
}
