//! `probe legacy-urls --emit-redirects=FILE`: for every legacy link the target did not answer
//! as expected, the exact 301 the ingress should serve instead, as an nginx `map` (FILE) and
//! as JSON (FILE.json). Served in front of the rewrite, a re-run of the same probes passes.
//!
//! Only failures a redirect can close are emitted: the expectation is a 301 to the record's
//! URL, and the target gave a definite wrong answer. A link whose record should answer on its
//! own URL (200), or that got no definite answer (timeout, 429, 5xx), is listed as not emitted
//! with the reason.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::run::ProbeResult;
use crate::spec::ProbeSpec;

/// The nginx variable the map sets; the server block returns 301 to it when it is not empty.
pub const MAP_VARIABLE: &str = "$legacy_redirect";

/// Why the redirect files could not be written.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {source}")]
pub struct RedirectsError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// One redirect: the raw request URI (path and query, as probed) and its `Location`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Redirect {
    /// The raw request URI.
    pub from: String,
    /// The `Location` it redirects to.
    pub to: String,
    /// The laddr URL form, e.g. `/people/<ID>`.
    pub form: String,
}

/// A failing link no redirect was emitted for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotEmitted {
    /// The raw request URI.
    pub from: String,
    /// The laddr URL form.
    pub form: String,
    /// Why no redirect was emitted.
    pub why: String,
}

/// The JSON file, and what the nginx map is made from.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Redirects {
    /// File format version.
    pub v: u32,
    /// When the file was written (ISO).
    pub generated_at: String,
    /// The target probed.
    pub target: String,
    /// The redirects' HTTP status (301).
    pub status: u16,
    /// The redirects, in request order.
    pub redirects: Vec<Redirect>,
    /// Failing links left without a redirect.
    pub not_emitted: Vec<NotEmitted>,
}

/// Characters that would change the meaning of an nginx quoted string or map value.
fn nginx_safe(s: &str) -> bool {
    s.starts_with('/')
        && s.bytes().all(|b| {
            b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'\\' | b'$' | b'{' | b'}' | b';')
        })
}

/// An anchored, case-sensitive nginx regex matching exactly `uri`.
fn literal_regex(uri: &str) -> String {
    let mut out = String::from("~^");
    for c in uri.chars() {
        if c.is_ascii_punctuation() && !matches!(c, '/' | '-' | '_' | '%' | '=' | '&' | '~' | ',') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('$');
    out
}

/// What a failed probe's expectation asks the ingress to answer, if a redirect can do it.
fn wanted_location(spec: &ProbeSpec) -> Result<String, String> {
    let e = &spec.expect;
    if e.status != 301 {
        return Err(format!(
            "expected {} on its own URL: a redirect cannot fix a record the target lacks",
            e.status
        ));
    }
    match (&e.location, &e.location_prefix) {
        (Some(to), _) => Ok(to.clone()),
        (None, Some(prefix)) if prefix.starts_with('/') => Ok(prefix.clone()),
        _ => Err("the expectation names no Location".into()),
    }
}

impl Redirects {
    /// The redirects closing every failure in `results` (one per spec, in spec order).
    pub fn from_run(target: &str, specs: &[ProbeSpec], results: &[ProbeResult]) -> Redirects {
        let mut out = Redirects {
            v: crate::spec::SPEC_VERSION,
            generated_at: cli::clock::now_iso(),
            target: target.to_owned(),
            status: 301,
            redirects: Vec::new(),
            not_emitted: Vec::new(),
        };
        let mut seen = BTreeSet::new();
        for (spec, result) in specs.iter().zip(results).filter(|(_, r)| !r.ok) {
            let verdict = match result.status {
                None | Some(429) | Some(500..) => Err(format!(
                    "no definite answer ({}); re-run",
                    result.note.as_deref().unwrap_or("no status")
                )),
                Some(_) => wanted_location(spec),
            }
            .and_then(|to| match nginx_safe(&spec.path) && nginx_safe(&to) {
                true => Ok(to),
                false => Err("characters an nginx map cannot carry literally".into()),
            })
            .and_then(|to| match seen.insert(spec.path.clone()) {
                true => Ok(to),
                false => Err("the same URL is already redirected for another form".into()),
            });
            match verdict {
                Ok(to) => out.redirects.push(Redirect {
                    from: spec.path.clone(),
                    to,
                    form: spec.kind.clone(),
                }),
                Err(why) => out.not_emitted.push(NotEmitted {
                    from: spec.path.clone(),
                    form: spec.kind.clone(),
                    why,
                }),
            }
        }
        out
    }

    /// The nginx `map` block, with how to use it in its header comment.
    pub fn nginx_map(&self) -> String {
        let mut text = format!(
            "# Legacy laddr URLs the rewrite does not answer correctly, as 301s for the ingress.\n\
             # Written by `probe legacy-urls --emit-redirects` at {} against {}: {} redirects.\n\
             # Put this map in the http block (ingress-nginx: the `http-snippet` ConfigMap key),\n\
             # and in the server block (a `server-snippet`):\n\
             #     absolute_redirect off;\n\
             #     if ({MAP_VARIABLE}) {{ return 301 {MAP_VARIABLE}; }}\n\
             # Keys are anchored, case-sensitive regexes on the raw request URI (path and query).\n\
             map $request_uri {MAP_VARIABLE} {{\n    default \"\";\n",
            self.generated_at,
            self.target,
            self.redirects.len()
        );
        for r in &self.redirects {
            text.push_str(&format!(
                "    \"{}\" \"{}\";\n",
                literal_regex(&r.from),
                r.to
            ));
        }
        text.push_str("}\n");
        text
    }

    /// Write the nginx map to `path` and the JSON to `path` + `.json`, each replaced whole.
    pub fn write(&self, path: &Path) -> Result<(), RedirectsError> {
        let mut json_path = path.as_os_str().to_owned();
        json_path.push(".json");
        let mut json = serde_json::to_string_pretty(self).unwrap_or_default();
        json.push('\n');
        replace_file(Path::new(&json_path), &json)?;
        replace_file(path, &self.nginx_map())
    }
}

/// Write a sibling temporary file, then rename it over `path`: a reader never sees half a file.
fn replace_file(path: &Path, text: &str) -> Result<(), RedirectsError> {
    let err = |source| RedirectsError {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".tmp-{}", std::process::id()));
    std::fs::write(&tmp, text).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        err(e)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Expect;

    fn result(spec: &ProbeSpec, status: Option<u16>, ok: bool) -> ProbeResult {
        ProbeResult {
            v: 1,
            name: spec.name.clone(),
            kind: spec.kind.clone(),
            url: format!("http://t{}", spec.path),
            status,
            expected: spec.expect.clone(),
            ok,
            duration_ms: 1,
            note: None,
            location: None,
            attempts: 1,
            throttled: 0,
        }
    }

    #[test]
    fn only_failures_a_redirect_can_close() {
        let specs = [
            ProbeSpec::new(
                "a",
                "/people/<ID>",
                "/people/10",
                Expect::redirect(301, "/members/alice"),
            ),
            ProbeSpec::new(
                "b",
                "/projects?ID=<ID>",
                "/projects?ID=7",
                Expect::redirect(301, "/projects/mp"),
            ),
            ProbeSpec::new(
                "c",
                "/members/<Username>",
                "/members/x",
                Expect::status(200),
            ),
            ProbeSpec::new(
                "d",
                "/project-updates/<ID>",
                "/project-updates/9",
                Expect {
                    location_prefix: Some("/projects/mp".into()),
                    ..Expect::status(301)
                },
            ),
            ProbeSpec::new(
                "e",
                "/tags/<ID>",
                "/tags/1",
                Expect::redirect(301, "/tags/topic/x"),
            ),
        ];
        let results = [
            result(&specs[0], Some(301), false),
            result(&specs[1], Some(301), true),
            result(&specs[2], Some(404), false),
            result(&specs[3], Some(200), false),
            result(&specs[4], None, false),
        ];
        let r = Redirects::from_run("http://t", &specs, &results);
        let pairs: Vec<(&str, &str)> = r
            .redirects
            .iter()
            .map(|r| (r.from.as_str(), r.to.as_str()))
            .collect();
        assert_eq!(
            pairs,
            [
                ("/people/10", "/members/alice"),
                ("/project-updates/9", "/projects/mp")
            ]
        );
        let skipped: Vec<&str> = r.not_emitted.iter().map(|n| n.from.as_str()).collect();
        assert_eq!(skipped, ["/members/x", "/tags/1"]);
        let map = r.nginx_map();
        assert!(
            map.contains("    \"~^/people/10$\" \"/members/alice\";\n"),
            "{map}"
        );
        assert!(map.contains("map $request_uri $legacy_redirect {\n    default \"\";\n"));
        assert!(map.ends_with("}\n"));
    }

    #[test]
    fn keys_are_literal_case_sensitive_regexes() {
        assert_eq!(literal_regex("/projects?ID=7"), r"~^/projects\?ID=7$");
        assert_eq!(literal_regex("/tags/topic.a%20b"), r"~^/tags/topic\.a%20b$");
        assert!(nginx_safe("/people/Bob"));
        assert!(!nginx_safe("/people/a b"));
        assert!(!nginx_safe("/x$y"));
        assert!(!nginx_safe("people"));
    }
}
