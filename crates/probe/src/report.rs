//! The `--json=FILE` report: the reference's `smokeChecks` list (name, url, status, ok,
//! durationMs, note) with the expectation added, a per-kind summary and the verdict.

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use crate::run::ProbeResult;

/// Pass/fail counts of one probe kind (for `legacy-urls`, one laddr URL form).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindSummary {
    pub kind: String,
    pub probes: u64,
    pub ok: u64,
    pub failed: u64,
    /// Up to five failing probe names, to start looking.
    pub examples: Vec<String>,
}

/// The machine report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub run_at: String,
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_repo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<String>,
    pub smoke_checks: Vec<ProbeResult>,
    pub kinds: Vec<KindSummary>,
    /// Requests answered 429 and waited out (throttling never fails a probe on its own).
    pub throttled: u64,
    pub notes: Vec<String>,
    pub passed: bool,
}

impl Report {
    pub fn new(target: &str, results: Vec<ProbeResult>) -> Report {
        let kinds = summarise(&results);
        Report {
            run_at: now_iso(),
            target: target.to_owned(),
            data_repo: None,
            branch: None,
            commit: None,
            seed: None,
            throttled: results.iter().map(|r| u64::from(r.throttled)).sum(),
            passed: results.iter().all(|r| r.ok),
            smoke_checks: results,
            kinds,
            notes: Vec::new(),
        }
    }
}

/// Per-kind counts, in first-seen order.
pub fn summarise(results: &[ProbeResult]) -> Vec<KindSummary> {
    let mut order: Vec<String> = Vec::new();
    let mut by: BTreeMap<String, KindSummary> = BTreeMap::new();
    for r in results {
        let s = by.entry(r.kind.clone()).or_insert_with(|| {
            order.push(r.kind.clone());
            KindSummary {
                kind: r.kind.clone(),
                ..KindSummary::default()
            }
        });
        s.probes += 1;
        if r.ok {
            s.ok += 1;
        } else {
            s.failed += 1;
            if s.examples.len() < 5 {
                s.examples.push(r.name.clone());
            }
        }
    }
    order.into_iter().filter_map(|k| by.remove(&k)).collect()
}

/// The wall clock as `YYYY-MM-DDTHH:MM:SS.sssZ` (JavaScript's `toISOString`).
pub fn now_iso() -> String {
    iso(SystemTime::now())
}

pub fn iso(t: SystemTime) -> String {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's days_from_civil, inverted).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3_600,
        rem % 3_600 / 60,
        rem % 60,
        d.subsec_millis()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn iso_known_instants() {
        assert_eq!(iso(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let t = UNIX_EPOCH + Duration::from_millis(1_518_875_937_000);
        assert_eq!(iso(t), "2018-02-17T13:58:57.000Z");
        let t = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(iso(t), "2000-02-29T00:00:00.000Z");
    }
}
