//! Probe lines (version 1): a spec line per probe (`probe plan`, `probe legacy-urls`; read by
//! `probe run`) and a result line per spec (`probe run`). How a response is judged against a
//! spec is the `probe` crate's business; this is only the shape on the wire.

use serde::{Deserialize, Serialize};

use crate::{LINE_VERSION, LineError, parse_versioned};

/// The spec and result line format version.
pub const SPEC_VERSION: u32 = LINE_VERSION;

/// One probe: a GET of `path` on the target, and what must come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSpec {
    /// The line format version, [`SPEC_VERSION`].
    pub v: u32,
    /// Unique within a plan, e.g. `project-legacy:42`.
    pub name: String,
    /// The probe family (`person`, `project-legacy`, `health`, …); for legacy URLs the form.
    pub kind: String,
    /// Path and query, percent-encoded, starting with `/`.
    pub path: String,
    /// What must come back.
    pub expect: Expect,
}

impl ProbeSpec {
    /// A spec line of the current version.
    pub fn new(
        name: impl Into<String>,
        kind: &str,
        path: impl Into<String>,
        expect: Expect,
    ) -> Self {
        ProbeSpec {
            v: SPEC_VERSION,
            name: name.into(),
            kind: kind.to_owned(),
            path: path.into(),
            expect,
        }
    }
}

/// Read one spec line: the version is checked first, unknown `expect` keys are refused.
pub fn parse_spec(text: &str) -> Result<ProbeSpec, LineError> {
    parse_versioned(text)
}

/// What a response must look like. Every field that is set must hold.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Expect {
    /// The exact status code. Redirects are never followed.
    pub status: u16,
    /// The exact `Location` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `Location` must be present and start with this (empty: just present).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location_prefix: Option<String>,
    /// The body is the API envelope with `success: true` and `data.slug` equal to this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_slug: Option<String>,
    /// The body is the API error envelope with `success: false` and this `error.code`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_error: Option<String>,
    /// `Content-Type` starts with this (compared case-insensitively).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_type: Option<String>,
    /// The body contains each of these strings.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub body_contains: Vec<String>,
    /// A 503 means "still warming": retry for a while before judging.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub warmup: bool,
}

impl Expect {
    /// Just this status.
    pub fn status(status: u16) -> Expect {
        Expect {
            status,
            ..Expect::default()
        }
    }

    /// This status and exactly this `Location`.
    pub fn redirect(status: u16, location: impl Into<String>) -> Expect {
        Expect {
            status,
            location: Some(location.into()),
            ..Expect::default()
        }
    }

    /// Only the body is needed when an expectation looks into it.
    pub fn needs_body(&self) -> bool {
        self.api_slug.is_some() || self.api_error.is_some() || !self.body_contains.is_empty()
    }
}

/// The result line (and the report's `smokeChecks` entry) for one probe.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeResult {
    /// The line format version, [`SPEC_VERSION`].
    pub v: u32,
    /// From the spec.
    pub name: String,
    /// From the spec.
    pub kind: String,
    /// The full URL requested.
    pub url: String,
    /// The final status; `null` when no response came (timeout, refused, reset).
    pub status: Option<u16>,
    /// The spec's `expect`.
    pub expected: Expect,
    /// Every expectation held.
    pub ok: bool,
    /// Wall time of the request that was judged (pacing and retry waits not included).
    pub duration_ms: u64,
    /// Why it failed (every mismatch), or what was waited out; absent when there is nothing to say.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The `Location` received, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// Requests made for this probe (retries included).
    pub attempts: u32,
    /// 429s received and waited out.
    pub throttled: u32,
}

/// Read one result line (version checked first).
pub fn parse_result(text: &str) -> Result<ProbeResult, LineError> {
    parse_versioned(text)
}
