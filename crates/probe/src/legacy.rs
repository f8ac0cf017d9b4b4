//! `probe legacy-urls`: the URL forms laddr served (`reference/A` §5), built from `laddr-fetch`
//! lines and the data repo, as probe specs whose expectation is the rewrite URL of the same
//! record. Run against a target, the per-form summary tells operators which old links break.
//!
//! A link "works" when it lands on the record without a detour through a not-found page:
//! either the target redirects it (exactly, 301, to the record's URL), or it is already the
//! record's URL (same slug; the SPA answers 200). Rows whose record is not on the branch
//! (pruned, disabled, failed import, soft-deleted) are counted and left out.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use lines::{LaddrLine, ReadError, Resource, read_laddr_lines};
use serde_json::{Map, Value};

use crate::plan::Snapshot;
use crate::sample::deterministic_sample;
use crate::spec::{Expect, ProbeSpec, encode_segment};

/// Why the laddr lines could not be read.
#[derive(Debug, thiserror::Error)]
pub enum LegacyError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line that is not a laddr-fetch line.
    #[error("{path}:{line}: not a laddr-fetch line: {message}")]
    Line {
        /// The file.
        path: PathBuf,
        /// The line number (from 1).
        line: usize,
        /// What is wrong with it.
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
    /// Rows by resource, in the files' order.
    pub rows: BTreeMap<Resource, Vec<Map<String, Value>>>,
}

impl LaddrRows {
    /// Read `laddr-fetch` NDJSON files by the line contract ([`lines::parse_laddr_line`]);
    /// end lines and `--totals` lines carry no row and are skipped.
    pub fn read(paths: &[PathBuf]) -> Result<LaddrRows, LegacyError> {
        let mut out = LaddrRows::default();
        for path in paths {
            let io = |source| LegacyError::Io {
                path: path.clone(),
                source,
            };
            let file = std::fs::File::open(path).map_err(io)?;
            for read in read_laddr_lines(std::io::BufReader::new(file)) {
                let (line, parsed) = read.map_err(|e| match e {
                    ReadError::Io { source, .. } => io(source),
                    ReadError::Line { line, error } => LegacyError::Line {
                        path: path.clone(),
                        line: line as usize,
                        message: error.to_string(),
                    },
                })?;
                let LaddrLine::Row(row) = parsed else {
                    continue;
                };
                let object = row.object().map_err(|e| LegacyError::Line {
                    path: path.clone(),
                    line: line as usize,
                    message: e.to_string(),
                })?;
                out.rows.entry(row.resource).or_default().push(object);
            }
        }
        Ok(out)
    }

    fn of(&self, resource: Resource) -> &[Map<String, Value>] {
        self.rows.get(&resource).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// The legacy URL specs and what was left out.
#[derive(Debug, Default)]
pub struct LegacyPlan {
    /// The probes, one per laddr URL.
    pub specs: Vec<ProbeSpec>,
    /// What was left out, and why.
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

/// Same slug: the record's own URL, answered by the SPA; otherwise a 301 to it.
fn own_or_redirect(given: &str, slug: &str, root: &str) -> Expect {
    if given == slug {
        Expect::status(200)
    } else {
        Expect::redirect(301, format!("/{root}/{}", encode_segment(slug)))
    }
}

/// The legacy paths found so far, per form (the first expectation for a path wins), and per
/// resource the rows whose record is not live on the branch.
#[derive(Default)]
struct Forms {
    by_form: BTreeMap<&'static str, BTreeMap<String, Expect>>,
    missing: BTreeMap<&'static str, u64>,
}

impl Forms {
    fn add(&mut self, form: &'static str, path: String, expect: Expect) {
        self.by_form
            .entry(form)
            .or_default()
            .entry(path)
            .or_insert(expect);
    }

    fn missing(&mut self, resource: Resource) {
        *self.missing.entry(resource.name()).or_default() += 1;
    }

    /// `/people/<ID>`, `/people/<Username>`, `/members/<Username>`.
    fn people(&mut self, rows: &LaddrRows, snap: &Snapshot) {
        let people = by_legacy(snap, "people");
        for row in rows.of(Resource::People) {
            let Some(id) = id_of(row, "ID") else { continue };
            let Some(slug) = people.get(&id).and_then(|r| text(r, "slug")) else {
                self.missing(Resource::People);
                continue;
            };
            let to = format!("/members/{}", encode_segment(slug));
            self.add(
                "/people/<ID>",
                format!("/people/{id}"),
                Expect::redirect(301, to.clone()),
            );
            if let Some(user) = text(row, "Username") {
                let seg = encode_segment(user);
                self.add(
                    "/people/<Username>",
                    format!("/people/{seg}"),
                    Expect::redirect(301, to),
                );
                self.add(
                    "/members/<Username>",
                    format!("/members/{seg}"),
                    own_or_redirect(user, slug, "members"),
                );
            }
        }
    }

    /// `/projects/<ID>`, `/projects?ID=<ID>`, `/projects/<Handle>`.
    fn projects(&mut self, rows: &LaddrRows, projects: &HashMap<i64, &Map<String, Value>>) {
        for row in rows.of(Resource::Projects) {
            let Some(id) = id_of(row, "ID") else { continue };
            let Some(slug) = projects.get(&id).and_then(|r| text(r, "slug")) else {
                self.missing(Resource::Projects);
                continue;
            };
            let to = format!("/projects/{}", encode_segment(slug));
            self.add(
                "/projects/<ID>",
                format!("/projects/{id}"),
                Expect::redirect(301, to.clone()),
            );
            self.add(
                "/projects?ID=<ID>",
                format!("/projects?ID={id}"),
                Expect::redirect(301, to),
            );
            if let Some(handle) = text(row, "Handle") {
                self.add(
                    "/projects/<Handle>",
                    format!("/projects/{}", encode_segment(handle)),
                    own_or_redirect(handle, slug, "projects"),
                );
            }
        }
    }

    /// `/project-updates/<ID>`, `/project-updates?ProjectID=<ID>`: into the update's project.
    fn updates(&mut self, rows: &LaddrRows, projects: &HashMap<i64, &Map<String, Value>>) {
        for row in rows.of(Resource::ProjectUpdates) {
            let (Some(id), Some(pid)) = (id_of(row, "ID"), id_of(row, "ProjectID")) else {
                continue;
            };
            let Some(slug) = projects.get(&pid).and_then(|r| text(r, "slug")) else {
                self.missing(Resource::ProjectUpdates);
                continue;
            };
            let to = format!("/projects/{}", encode_segment(slug));
            // The rewrite's URL of one update is not specified; any 301 into its project will do.
            self.add(
                "/project-updates/<ID>",
                format!("/project-updates/{id}"),
                Expect {
                    location_prefix: Some(to.clone()),
                    ..Expect::status(301)
                },
            );
            self.add(
                "/project-updates?ProjectID=<ID>",
                format!("/project-updates?ProjectID={pid}"),
                Expect::redirect(301, to),
            );
        }
    }

    /// `/project-buzz/<ID>`, `/project-buzz/<Handle>`: to the buzz under its project.
    fn buzz(&mut self, rows: &LaddrRows, snap: &Snapshot) {
        let buzz = by_legacy(snap, "project-buzz");
        for row in rows.of(Resource::ProjectBuzz) {
            let Some(id) = id_of(row, "ID") else { continue };
            let Some((p, slug)) = buzz
                .get(&id)
                .and_then(|r| Some((text(r, "projectSlug")?, text(r, "slug")?)))
            else {
                self.missing(Resource::ProjectBuzz);
                continue;
            };
            let to = format!(
                "/projects/{}/buzz/{}",
                encode_segment(p),
                encode_segment(slug)
            );
            self.add(
                "/project-buzz/<ID>",
                format!("/project-buzz/{id}"),
                Expect::redirect(301, to.clone()),
            );
            if let Some(handle) = text(row, "Handle") {
                self.add(
                    "/project-buzz/<Handle>",
                    format!("/project-buzz/{}", encode_segment(handle)),
                    Expect::redirect(301, to),
                );
            }
        }
    }

    /// `/tags/<ID>`, `/tags/<Handle>`: to `/tags/<namespace>/<slug>`.
    fn tags(&mut self, rows: &LaddrRows, snap: &Snapshot) {
        let tags = by_legacy(snap, "tags");
        for row in rows.of(Resource::Tags) {
            let Some(id) = id_of(row, "ID") else { continue };
            let Some((ns, slug)) = tags
                .get(&id)
                .and_then(|r| Some((text(r, "namespace")?, text(r, "slug")?)))
            else {
                self.missing(Resource::Tags);
                continue;
            };
            let to = format!("/tags/{}/{}", encode_segment(ns), encode_segment(slug));
            self.add(
                "/tags/<ID>",
                format!("/tags/{id}"),
                Expect::redirect(301, to.clone()),
            );
            if let Some(handle) = text(row, "Handle") {
                self.add(
                    "/tags/<Handle>",
                    format!("/tags/{}", encode_segment(handle)),
                    Expect::redirect(301, to),
                );
            }
        }
    }

    /// `/blog/<Handle>`.
    fn blog(&mut self, rows: &LaddrRows, snap: &Snapshot) {
        let posts = by_legacy(snap, "blog-posts");
        for row in rows.of(Resource::Blog) {
            let Some(id) = id_of(row, "ID") else { continue };
            let Some(slug) = posts.get(&id).and_then(|r| text(r, "slug")) else {
                self.missing(Resource::Blog);
                continue;
            };
            if let Some(handle) = text(row, "Handle") {
                self.add(
                    "/blog/<Handle>",
                    format!("/blog/{}", encode_segment(handle)),
                    own_or_redirect(handle, slug, "blog"),
                );
            }
        }
    }

    /// The notes on rows left out, then each form's specs in [`FORMS`] order, sampled.
    fn into_plan(mut self, sample: Option<usize>, seed: &str) -> LegacyPlan {
        let mut out = LegacyPlan::default();
        for (resource, n) in &self.missing {
            out.notes.push(format!(
                "{resource}: {n} laddr rows have no live record on the branch (pruned, disabled, \
                 soft-deleted or not imported); their links are not probed"
            ));
        }
        for form in FORMS {
            let Some(paths) = self.by_form.remove(form) else {
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
}

/// Build the specs. `sample`: at most this many per form (deterministic with `seed`); `None`
/// keeps every one.
pub fn legacy_plan(
    rows: &LaddrRows,
    snap: &Snapshot,
    sample: Option<usize>,
    seed: &str,
) -> LegacyPlan {
    let mut forms = Forms::default();
    let projects = by_legacy(snap, "projects");
    forms.people(rows, snap);
    forms.projects(rows, &projects);
    forms.updates(rows, &projects);
    forms.buzz(rows, snap);
    forms.tags(rows, snap);
    forms.blog(rows, snap);
    forms.into_plan(sample, seed)
}
