//! Probe specs (the `probe plan` NDJSON line) and their exact expectations.

use std::io::BufRead;

use serde_json::Value;

pub use lines::probe::{Expect, ProbeSpec, SPEC_VERSION};

/// Spec lines that cannot be read (`probe run`'s stdin).
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The input could not be read.
    #[error("reading stdin: {0}")]
    Read(std::io::Error),
    /// A line is not a spec.
    #[error("stdin line {line}: not a probe spec: {source}")]
    NotASpec {
        /// 1-based line number.
        line: usize,
        /// The JSON error.
        source: serde_json::Error,
    },
    /// A spec of another format version.
    #[error("stdin line {line}: spec version {v} (this probe reads {SPEC_VERSION})")]
    Version {
        /// 1-based line number.
        line: usize,
        /// The version found.
        v: u32,
    },
}

/// Spec lines, one per line; blank lines are skipped. The first bad line stops the read.
pub fn read_specs(input: impl BufRead) -> Result<Vec<ProbeSpec>, SpecError> {
    let mut specs = Vec::new();
    for (i, line) in input.lines().enumerate() {
        let line = line.map_err(SpecError::Read)?;
        if line.trim().is_empty() {
            continue;
        }
        let spec: ProbeSpec =
            serde_json::from_str(&line).map_err(|source| SpecError::NotASpec {
                line: i + 1,
                source,
            })?;
        if spec.v != SPEC_VERSION {
            return Err(SpecError::Version {
                line: i + 1,
                v: spec.v,
            });
        }
        specs.push(spec);
    }
    Ok(specs)
}

/// What came back from the target, as far as expectations look at it.
#[derive(Debug, Clone, Default)]
pub struct Observed {
    /// The HTTP status.
    pub status: u16,
    /// The `Location` header, when sent.
    pub location: Option<String>,
    /// The `Content-Type` header, when sent.
    pub content_type: Option<String>,
    /// The body.
    pub body: Vec<u8>,
}

/// Judging a response against an [`Expect`] (the line type is `lines`'s; the rule is probe's).
pub trait Judge {
    /// `Ok` when `seen` meets every part of the expectation; otherwise every mismatch, joined.
    fn check(&self, seen: &Observed) -> Result<(), String>;
}

impl Judge for Expect {
    fn check(&self, seen: &Observed) -> Result<(), String> {
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

/// Whether the target's rate limiter counts a spec's request.
pub trait Counted {
    /// Does the target's rate limiter count this request, if the target behaves as expected?
    /// Every `/api/*` request is counted; the redirect hooks answer legacy 301s and 410s
    /// before the limiter (`reference/E` §3.6); everything else (SPA, `/chat`) is counted.
    fn counted(&self) -> bool;
}

impl Counted for ProbeSpec {
    fn counted(&self) -> bool {
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

#[cfg(test)]
mod read_tests {
    use super::*;

    #[test]
    fn reads_specs_and_names_the_bad_line() {
        let good = r#"{"v":1,"name":"health","kind":"health","path":"/api/health","expect":{"status":200}}"#;
        let specs = read_specs(format!("{good}\n\n{good}\n").as_bytes()).unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].path, "/api/health");
        let e = read_specs(format!("{good}\nnot json\n").as_bytes()).unwrap_err();
        assert!(
            e.to_string().starts_with("stdin line 2: not a probe spec"),
            "{e}"
        );
        let v2 = good.replace("\"v\":1", "\"v\":2");
        let e = read_specs(v2.as_bytes()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "stdin line 1: spec version 2 (this probe reads 1)"
        );
    }
}
