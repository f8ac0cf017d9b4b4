//! One checklist item's result, and the pre-flight report they make up.

use serde::Serialize;

/// One machine-checked checklist item.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Check {
    /// Stable id, e.g. `dns-ttl`, `private-bucket-versioning`.
    pub id: &'static str,
    /// Whether the item holds.
    pub passed: bool,
    /// What was seen, so a person can confirm it without re-running anything.
    pub evidence: String,
}

impl Check {
    /// An item that holds, with what was seen.
    pub fn pass(id: &'static str, evidence: impl Into<String>) -> Check {
        Check {
            id,
            passed: true,
            evidence: evidence.into(),
        }
    }

    /// An item that does not hold, with what was seen.
    pub fn fail(id: &'static str, evidence: impl Into<String>) -> Check {
        Check {
            id,
            passed: false,
            evidence: evidence.into(),
        }
    }

    /// Pass when `passed`, with the same evidence either way.
    pub fn when(id: &'static str, passed: bool, evidence: impl Into<String>) -> Check {
        Check {
            id,
            passed,
            evidence: evidence.into(),
        }
    }

    /// The line printed for a person: `PASS dns-ttl  codeforphilly.org 30 s at 1.1.1.1`.
    pub fn line(&self) -> String {
        let mark = if self.passed { "PASS" } else { "FAIL" };
        format!("{mark} {:<26} {}", self.id, self.evidence)
    }
}

/// The checklist items no machine can check (the runbook's pre-cutover list).
pub const MANUAL_ITEMS: &[&str] = &[
    "DNS TTL was lowered to 60 s at least 7 days ago (the check above sees only today's value)",
    "sealed secrets present in the production cluster (every var in the secrets.md inventory)",
    "GitHub OAuth app: the production redirect URI is registered with GitHub",
    "Slack SAML metadata pre-staged with the workspace admin",
    "data-repo deploy key uploaded to the data repo's deploy-keys page",
    "on-call schedule covers T-0 through T+24h",
    "rollback procedure rehearsed (cutover-rollback.md; `cutover rollback export/reset` on staging)",
];

/// The pre-flight report (`--json`).
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PreflightReport {
    /// When the checks ran (ISO).
    pub checked_at: String,
    /// True when every check passed.
    pub passed: bool,
    /// Every machine-checked item, in checklist order.
    pub checks: Vec<Check>,
    /// The checklist items a person must confirm.
    pub manual: Vec<&'static str>,
}

impl PreflightReport {
    /// A report whose verdict is its checks' verdict.
    pub fn new(checked_at: String, checks: Vec<Check>) -> PreflightReport {
        PreflightReport {
            checked_at,
            passed: checks.iter().all(|c| c.passed),
            checks,
            manual: MANUAL_ITEMS.to_vec(),
        }
    }

    /// The text a person reads: one line per check, then the manual list.
    pub fn text(&self) -> String {
        let mut s = String::new();
        for c in &self.checks {
            s.push_str(&c.line());
            s.push('\n');
        }
        let failed = self.checks.iter().filter(|c| !c.passed).count();
        s.push_str(&format!(
            "{} of {} machine checks passed{}\nConfirm by hand, in writing:\n",
            self.checks.len() - failed,
            self.checks.len(),
            if failed == 0 { "" } else { ": NOT READY" }
        ));
        for m in &self.manual {
            s.push_str(&format!("  [ ] {m}\n"));
        }
        s
    }
}
