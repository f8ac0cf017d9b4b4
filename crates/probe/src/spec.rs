//! Probe specs (the `probe plan` NDJSON line) and their exact expectations.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The spec and result line format version.
pub const SPEC_VERSION: u32 = 1;

/// One probe: a GET of `path` on the target, and what must come back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProbeSpec {
    pub v: u32,
    /// Unique within a plan, e.g. `project-legacy:42`.
    pub name: String,
    /// The probe family (`person`, `project-legacy`, `health`, …); for legacy URLs the form.
    pub kind: String,
    /// Path and query, percent-encoded, starting with `/`.
    pub path: String,
    pub expect: Expect,
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

/// What came back from the target, as far as expectations look at it.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    pub status: u16,
    pub location: Option<String>,
    pub content_type: Option<String>,
    pub body: Vec<u8>,
}

impl Expect {
    pub fn status(status: u16) -> Expect {
        Expect {
            status,
            ..Expect::default()
        }
    }

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

    /// `Ok` when `seen` meets every part of the expectation; otherwise every mismatch, joined.
    pub fn check(&self, seen: &Observed) -> Result<(), String> {
        let mut problems = Vec::new();
        if seen.status != self.status {
            problems.push(format!("status {} (expected {})", seen.status, self.status));
        }
        if let Some(want) = &self.location {
            match &seen.location {
                Some(got) if got == want => {}
                Some(got) => problems.push(format!("Location {got} (expected {want})")),
                None => problems.push(format!("no Location (expected {want})")),
            }
        }
        if let Some(prefix) = &self.location_prefix {
            match &seen.location {
                Some(got) if got.starts_with(prefix.as_str()) => {}
                Some(got) => problems.push(format!("Location {got} (expected {prefix}…)")),
                None => problems.push("no Location header".to_owned()),
            }
        }
        if let Some(want) = &self.content_type {
            let got = seen.content_type.as_deref().unwrap_or("");
            if !got
                .to_ascii_lowercase()
                .starts_with(&want.to_ascii_lowercase())
            {
                problems.push(format!("Content-Type {got:?} (expected {want})"));
            }
        }
        if self.api_slug.is_some() || self.api_error.is_some() {
            match serde_json::from_slice::<Value>(&seen.body) {
                Ok(body) => {
                    if let Some(slug) = &self.api_slug {
                        if body.get("success") != Some(&Value::Bool(true)) {
                            problems.push("body success is not true".to_owned());
                        }
                        match body.pointer("/data/slug").and_then(Value::as_str) {
                            Some(got) if got == slug => {}
                            Some(got) => {
                                problems.push(format!("data.slug {got} (expected {slug})"))
                            }
                            None => problems.push(format!("no data.slug (expected {slug})")),
                        }
                    }
                    if let Some(code) = &self.api_error {
                        if body.get("success") != Some(&Value::Bool(false)) {
                            problems.push("body success is not false".to_owned());
                        }
                        match body.pointer("/error/code").and_then(Value::as_str) {
                            Some(got) if got == code => {}
                            Some(got) => {
                                problems.push(format!("error.code {got} (expected {code})"))
                            }
                            None => problems.push(format!("no error.code (expected {code})")),
                        }
                    }
                }
                Err(_) => problems.push("body is not JSON".to_owned()),
            }
        }
        if !self.body_contains.is_empty() {
            let text = String::from_utf8_lossy(&seen.body);
            for want in &self.body_contains {
                if !text.contains(want.as_str()) {
                    problems.push(format!("body lacks {want}"));
                }
            }
        }
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("; "))
        }
    }
}

impl ProbeSpec {
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

    /// Does the target's rate limiter count this request, if the target behaves as expected?
    /// Every `/api/*` request is counted; the redirect hooks answer legacy 301s and 410s
    /// before the limiter (`reference/E` §3.6); everything else (SPA, `/chat`) is counted.
    pub fn counted(&self) -> bool {
        is_api(&self.path) || !matches!(self.expect.status, 301 | 410)
    }
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/") || path.starts_with("/api?")
}

/// Was a response with this status to this path counted by the target's limiter?
pub fn was_counted(path: &str, status: u16) -> bool {
    is_api(path) || !matches!(status, 301 | 410)
}

/// Percent-encode one path segment (keeps RFC 3986 unreserved characters).
pub fn encode_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(status: u16, location: Option<&str>, body: &str) -> Observed {
        Observed {
            status,
            location: location.map(str::to_owned),
            content_type: Some("application/json; charset=utf-8".into()),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn exact_location() {
        let e = Expect::redirect(301, "/projects/a");
        assert!(e.check(&seen(301, Some("/projects/a"), "")).is_ok());
        let err = e.check(&seen(301, Some("/projects/a?x"), "")).unwrap_err();
        assert_eq!(err, "Location /projects/a?x (expected /projects/a)");
        let err = e.check(&seen(200, None, "")).unwrap_err();
        assert_eq!(
            err,
            "status 200 (expected 301); no Location (expected /projects/a)"
        );
    }

    #[test]
    fn api_slug_needs_success_and_the_same_slug() {
        let e = Expect {
            api_slug: Some("alice".into()),
            ..Expect::status(200)
        };
        assert!(
            e.check(&seen(
                200,
                None,
                r#"{"success":true,"data":{"slug":"alice"}}"#
            ))
            .is_ok()
        );
        assert_eq!(
            e.check(&seen(
                200,
                None,
                r#"{"success":true,"data":{"slug":"bob"}}"#
            ))
            .unwrap_err(),
            "data.slug bob (expected alice)"
        );
        assert_eq!(
            e.check(&seen(200, None, "<html>")).unwrap_err(),
            "body is not JSON"
        );
    }

    #[test]
    fn spec_line_round_trips_and_rejects_unknown_expectations() {
        let spec = ProbeSpec::new("health", "health", "/api/health", Expect::status(200));
        let line = serde_json::to_string(&spec).unwrap();
        assert_eq!(
            line,
            r#"{"v":1,"name":"health","kind":"health","path":"/api/health","expect":{"status":200}}"#
        );
        assert_eq!(serde_json::from_str::<ProbeSpec>(&line).unwrap(), spec);
        let bad = r#"{"v":1,"name":"x","kind":"x","path":"/","expect":{"status":200,"typo":1}}"#;
        assert!(serde_json::from_str::<ProbeSpec>(bad).is_err());
    }

    #[test]
    fn counted_routes() {
        let legacy = ProbeSpec::new(
            "l",
            "l",
            "/projects?ID=1",
            Expect::redirect(301, "/projects/a"),
        );
        assert!(!legacy.counted());
        assert!(ProbeSpec::new("c", "chat", "/chat", Expect::status(302)).counted());
        assert!(ProbeSpec::new("h", "h", "/api/health", Expect::status(200)).counted());
        assert!(was_counted("/projects?ID=1", 200));
        assert!(!was_counted("/checkin", 410));
    }

    #[test]
    fn segments_are_encoded() {
        assert_eq!(encode_segment("Jane Doe/é"), "Jane%20Doe%2F%C3%A9");
        assert_eq!(encode_segment("a.b_c-d~"), "a.b_c-d~");
    }
}
