//! The `--json=FILE` report: the reference's `smokeChecks` list (name, url, status, ok,
//! durationMs, note) with the expectation added, a per-kind summary and the verdict.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::run::ProbeResult;

/// Pass/fail counts of one probe kind (for `legacy-urls`, one laddr URL form).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct KindSummary {
    /// The probe kind (or URL form).
    pub kind: String,
    /// Probes of the kind.
    pub probes: u64,
    /// Probes that met their expectation.
    pub ok: u64,
    /// Probes that did not.
    pub failed: u64,
    /// Up to five failing probe names, to start looking.
    pub examples: Vec<String>,
}

/// The machine report.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// When the run started (ISO).
    pub run_at: String,
    /// The target probed.
    pub target: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The data repo the plan came from.
    pub data_repo: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The branch the plan came from.
    pub branch: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The branch tip's commit id.
    pub commit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The sampling seed.
    pub seed: Option<String>,
    /// The results of the fixed (smoke) probes.
    pub smoke_checks: Vec<ProbeResult>,
    /// Pass/fail counts per kind.
    pub kinds: Vec<KindSummary>,
    /// Requests answered 429 and waited out (throttling never fails a probe on its own).
    pub throttled: u64,
    /// Things the operator should know.
    pub notes: Vec<String>,
    /// True when every probe met its expectation.
    pub passed: bool,
}

impl Report {
    /// The report of a run's `results` against `target`.
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
    translate::now_iso()
}
