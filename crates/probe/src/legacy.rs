//! `probe legacy-urls`: the URL forms laddr served (`reference/A` §5), built from `laddr-fetch`
//! lines and the data repo, as probe specs whose expectation is the rewrite URL of the same
//! record. Run against a target, the per-form summary tells operators which old links break.
//!
//! A link "works" when it lands on the record without a detour through a not-found page:
//! either the target redirects it (exactly, 301, to the record's URL), or it is already the
//! record's URL (same slug; the SPA answers 200). Rows whose record is not on the branch
//! (pruned, disabled, failed import, soft-deleted) are counted and left out.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::plan::Snapshot;
use crate::sample::deterministic_sample;
use crate::spec::{Expect, ProbeSpec, encode_segment};

/// Why the laddr lines could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a laddr-fetch line: {message}")]
    Line {
        path: PathBuf,
        line: usize,
        message: String,
    },
}

/// The forms, in report order.
pub const FORMS: [&str; 13] = [
    "/people/<Username>",
    "/people/<ID>",
    "/members/<Username>",
    "/projects/<Handle>",
    "/projects/<ID>",
    "/projects?ID=<ID>",
    "/project-updates/<ID>",
    "/project-updates?ProjectID=<ID>",
    "/project-buzz/<Handle>",
    "/project-buzz/<ID>",
    "/tags/<Handle>",
    "/tags/<ID>",
    "/blog/<Handle>",
];

/// laddr rows by resource, as read from `laddr-fetch` output.
#[derive(Debug, Default)]
pub struct LaddrRows {
    pub rows: BTreeMap<String, Vec<Map<String, Value>>>,
}

impl LaddrRows {
    /// Read `laddr-fetch` NDJSON files (`{"v":1,"resource":…,"row":{…}}`; `total` lines are
    /// skipped).
    pub fn read(paths: &[PathBuf]) -> Result<LaddrRows, LegacyError> {
        let mut out = LaddrRows::default();
        for path in paths {
            let io = |source| LegacyError::Io {
                path: path.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(io)?;
            for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
                let line = line.map_err(io)?;
                if line.trim().is_empty() {
                    continue;
                }
                out.add_line(path, i + 1, &line)?;
            }
        }
        Ok(out)
    }

    fn add_line(&mut self, path: &Path, line: usize, text: &str) -> Result<(), LegacyError> {
        let bad = |message: String| LegacyError::Line {
            path: path.to_path_buf(),
            line,
            message,
        };
        let v: Value = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        if v.get("v").and_then(Value::as_u64) != Some(1) {
            return Err(bad("expected \"v\":1".into()));
        }
        let resource = v
            .get("resource")
            .and_then(Value::as_str)
            .ok_or_else(|| bad("no \"resource\"".into()))?;
        match v.get("row") {
            Some(Value::Object(row)) => {
                self.rows
                    .entry(resource.to_owned())
                    .or_default()
                    .push(row.clone());
                Ok(())
            }
            Some(_) => Err(bad("\"row\" is not an object".into())),
            // laddr-fetch's end-of-resource and `--totals` lines carry no row.
            None if v.get("end").is_some() || v.get("total").is_some() => Ok(()),
            None => Err(bad("no \"row\"".into())),
        }
    }

    fn of(&self, resource: &str) -> &[Map<String, Value>] {
        self.rows.get(resource).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The legacy URL specs and what was left out.
#[derive(Debug, Default)]
pub struct LegacyPlan {
    pub specs: Vec<ProbeSpec>,
    pub notes: Vec<String>,
}

fn id_of(row: &Map<String, Value>, key: &str) -> Option<i64> {
    match row.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .filter(|n| *n > 0)
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    r.get(key)
        .and_then(Value::as_str)
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// Live records of a sheet by `legacyId`.
fn by_legacy<'a>(snap: &'a Snapshot, sheet: &str) -> HashMap<i64, &'a Map<String, Value>> {
    snap.sheet(sheet)
        .iter()
        .filter(|r| matches!(r.get("deletedAt"), None | Some(Value::Null)))
        .filter_map(|r| Some((r.get("legacyId")?.as_i64()?, r)))
        .collect()
}

/// Build the specs. `sample`: at most this many per form (deterministic with `seed`); `None`
/// keeps every one.
pub fn legacy_plan(
    rows: &LaddrRows,
    snap: &Snapshot,
    sample: Option<usize>,
    seed: &str,
) -> LegacyPlan {
    let mut by_form: BTreeMap<&str, BTreeMap<String, Expect>> = BTreeMap::new();
    let mut add = |form: &'static str, path: String, expect: Expect| {
        by_form
            .entry(form)
            .or_default()
            .entry(path)
            .or_insert(expect);
    };
    // Same slug: the record's own URL, answered by the SPA; otherwise a 301 to it.
    let own_or_redirect = |given: &str, slug: &str, root: &str| {
        if given == slug {
            Expect::status(200)
        } else {
            Expect::redirect(301, format!("/{root}/{}", encode_segment(slug)))
        }
    };
    let mut missing: BTreeMap<&str, u64> = BTreeMap::new();

    let people = by_legacy(snap, "people");
    for row in rows.of("people") {
        let Some(id) = id_of(row, "ID") else { continue };
        let Some(slug) = people.get(&id).and_then(|r| text(r, "slug")) else {
            *missing.entry("people").or_default() += 1;
            continue;
        };
        let to = format!("/members/{}", encode_segment(slug));
        add(
            "/people/<ID>",
            format!("/people/{id}"),
            Expect::redirect(301, to.clone()),
        );
        if let Some(user) = text(row, "Username") {
            let seg = encode_segment(user);
            add(
                "/people/<Username>",
                format!("/people/{seg}"),
                Expect::redirect(301, to),
            );
            add(
                "/members/<Username>",
                format!("/members/{seg}"),
                own_or_redirect(user, slug, "members"),
            );
        }
    }

    let projects = by_legacy(snap, "projects");
    for row in rows.of("projects") {
        let Some(id) = id_of(row, "ID") else { continue };
        let Some(slug) = projects.get(&id).and_then(|r| text(r, "slug")) else {
            *missing.entry("projects").or_default() += 1;
            continue;
        };
        let to = format!("/projects/{}", encode_segment(slug));
        add(
            "/projects/<ID>",
            format!("/projects/{id}"),
            Expect::redirect(301, to.clone()),
        );
        add(
            "/projects?ID=<ID>",
            format!("/projects?ID={id}"),
            Expect::redirect(301, to),
        );
        if let Some(handle) = text(row, "Handle") {
            add(
                "/projects/<Handle>",
                format!("/projects/{}", encode_segment(handle)),
                own_or_redirect(handle, slug, "projects"),
            );
        }
    }

    for row in rows.of("project-updates") {
        let (Some(id), Some(pid)) = (id_of(row, "ID"), id_of(row, "ProjectID")) else {
            continue;
        };
        let Some(slug) = projects.get(&pid).and_then(|r| text(r, "slug")) else {
            *missing.entry("project-updates").or_default() += 1;
            continue;
        };
        let to = format!("/projects/{}", encode_segment(slug));
        // The rewrite's URL of one update is not specified; any 301 into its project will do.
        add(
            "/project-updates/<ID>",
            format!("/project-updates/{id}"),
            Expect {
                location_prefix: Some(to.clone()),
                ..Expect::status(301)
            },
        );
        add(
            "/project-updates?ProjectID=<ID>",
            format!("/project-updates?ProjectID={pid}"),
            Expect::redirect(301, to),
        );
    }

    let buzz = by_legacy(snap, "project-buzz");
    for row in rows.of("project-buzz") {
        let Some(id) = id_of(row, "ID") else { continue };
        let Some((p, slug)) = buzz
            .get(&id)
            .and_then(|r| Some((text(r, "projectSlug")?, text(r, "slug")?)))
        else {
            *missing.entry("project-buzz").or_default() += 1;
            continue;
        };
        let to = format!(
            "/projects/{}/buzz/{}",
            encode_segment(p),
            encode_segment(slug)
        );
        add(
            "/project-buzz/<ID>",
            format!("/project-buzz/{id}"),
            Expect::redirect(301, to.clone()),
        );
        if let Some(handle) = text(row, "Handle") {
            add(
                "/project-buzz/<Handle>",
                format!("/project-buzz/{}", encode_segment(handle)),
                Expect::redirect(301, to),
            );
        }
    }

    let tags = by_legacy(snap, "tags");
    for row in rows.of("tags") {
        let Some(id) = id_of(row, "ID") else { continue };
        let Some((ns, slug)) = tags
            .get(&id)
            .and_then(|r| Some((text(r, "namespace")?, text(r, "slug")?)))
        else {
            *missing.entry("tags").or_default() += 1;
            continue;
        };
        let to = format!("/tags/{}/{}", encode_segment(ns), encode_segment(slug));
        add(
            "/tags/<ID>",
            format!("/tags/{id}"),
            Expect::redirect(301, to.clone()),
        );
        if let Some(handle) = text(row, "Handle") {
            add(
                "/tags/<Handle>",
                format!("/tags/{}", encode_segment(handle)),
                Expect::redirect(301, to),
            );
        }
    }

    let posts = by_legacy(snap, "blog-posts");
    for row in rows.of("blog") {
        let Some(id) = id_of(row, "ID") else { continue };
        let Some(slug) = posts.get(&id).and_then(|r| text(r, "slug")) else {
            *missing.entry("blog").or_default() += 1;
            continue;
        };
        if let Some(handle) = text(row, "Handle") {
            add(
                "/blog/<Handle>",
                format!("/blog/{}", encode_segment(handle)),
                own_or_redirect(handle, slug, "blog"),
            );
        }
    }

    let mut out = LegacyPlan::default();
    for (resource, n) in missing {
        out.notes.push(format!(
            "{resource}: {n} laddr rows have no live record on the branch (pruned, disabled, \
             soft-deleted or not imported); their links are not probed"
        ));
    }
    for form in FORMS {
        let Some(paths) = by_form.remove(form) else {
            continue;
        };
        let all: Vec<String> = paths.keys().cloned().collect();
        let chosen = match sample {
            Some(n) => deterministic_sample(&all, n, &format!("{seed}:legacy:{form}")),
            None => all,
        };
        for path in chosen {
            let expect = paths[&path].clone();
            out.specs
                .push(ProbeSpec::new(path.clone(), form, path, expect));
        }
    }
    out
}
