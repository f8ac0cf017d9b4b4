//! `probe plan`: probe specs drawn deterministically from a data repo branch, plus the fixed
//! probes, each with its exact expectation (DESIGN §3, `reference/E` §3–4).

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};
use sheets::DataRepo;

use crate::sample::deterministic_sample;
use crate::spec::{Expect, ProbeSpec, encode_segment};

/// Why no plan could be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The data repo could not be opened or read.
    #[error(transparent)]
    Repo(#[from] sheets::RepoError),
    /// The branch does not exist.
    #[error("data repo {path}: branch {branch} does not exist")]
    NoBranch {
        /// The data repo.
        path: String,
        /// The branch asked for.
        branch: String,
    },
}

/// How to draw the samples.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The runtime branch (after the spam prune), usually `published`.
    pub branch: String,
    /// How many records to draw per family.
    pub sample: usize,
    /// Sampling seed; default: the branch tip's commit id (same data, same plan).
    pub seed: Option<String>,
    /// "Now" for slug-history expiry (`YYYY-MM-DDTHH:MM:SS.sssZ`); default: the wall clock.
    pub now: Option<String>,
    /// Add the fixed probes (health, ready, SAML, OAuth, `/chat`, `/checkin`).
    pub fixed: bool,
}

impl Default for PlanOptions {
    fn default() -> Self {
        PlanOptions {
            branch: "published".into(),
            sample: 10,
            seed: None,
            now: None,
            fixed: true,
        }
    }
}

/// A plan: the specs and where they came from.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The branch the records were read from.
    pub branch: String,
    /// The branch tip's commit id.
    pub commit: String,
    /// The sampling seed used.
    pub seed: String,
    /// The probes, in a stable order.
    pub specs: Vec<ProbeSpec>,
    /// Things the operator should know (e.g. buzz slugs left out because they are ambiguous).
    pub notes: Vec<String>,
}

/// The SAML metadata markers `reference/E` §5 check 3 asks for.
pub const SAML_MARKERS: [&str; 5] = [
    "EntityDescriptor",
    "IDPSSODescriptor",
    "SingleSignOnService",
    "X509Certificate",
    "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
];

/// The probes that need no data: health, ready, SAML metadata, OAuth start, `/chat`, `/checkin`.
pub fn fixed_probes() -> Vec<ProbeSpec> {
    vec![
        ProbeSpec::new("health", "health", "/api/health", Expect::status(200)),
        ProbeSpec::new(
            "health-ready",
            "health-ready",
            "/api/health/ready",
            Expect {
                warmup: true,
                ..Expect::status(200)
            },
        ),
        ProbeSpec::new(
            "saml-metadata",
            "saml-metadata",
            "/api/saml/slack/metadata",
            Expect {
                content_type: Some("application/samlmetadata+xml".into()),
                body_contains: SAML_MARKERS.iter().map(|s| (*s).to_owned()).collect(),
                ..Expect::status(200)
            },
        ),
        ProbeSpec::new(
            "oauth-start",
            "oauth-start",
            "/api/auth/github/start",
            Expect {
                location_prefix: Some(String::new()),
                ..Expect::status(302)
            },
        ),
        ProbeSpec::new(
            "chat",
            "chat",
            "/chat",
            Expect {
                location_prefix: Some("https://".into()),
                ..Expect::status(302)
            },
        ),
        ProbeSpec::new("checkin", "checkin", "/checkin", Expect::status(410)),
    ]
}

fn text<'a>(r: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    r.get(key).and_then(Value::as_str).filter(|s| !s.is_empty())
}

fn deleted(r: &Map<String, Value>) -> bool {
    !matches!(r.get("deletedAt"), None | Some(Value::Null))
}

/// The records of one branch the plan draws from.
pub struct Snapshot {
    /// The branch tip's commit id.
    pub commit: String,
    /// Records by sheet name.
    pub sheets: HashMap<String, Vec<Map<String, Value>>>,
    /// Files of those sheets that could not be read as records (never dropped silently).
    pub errors: Vec<String>,
}

impl Snapshot {
    /// Read the sheets the probes need from `refs/heads/<branch>`.
    pub fn read(repo: &DataRepo, branch: &str) -> Result<Snapshot, PlanError> {
        let commit = repo
            .resolve(&format!("refs/heads/{branch}"))?
            .ok_or_else(|| PlanError::NoBranch {
                path: repo.path().display().to_string(),
                branch: branch.to_owned(),
            })?;
        let tree = repo.tree_of(commit)?;
        let configs = repo.sheet_configs(tree)?;
        let mut sheets = HashMap::new();
        let mut errors = Vec::new();
        for name in [
            "people",
            "projects",
            "project-buzz",
            "tags",
            "slug-history",
            "blog-posts",
        ] {
            let records = match configs.get(name) {
                Some(c) => {
                    let read = repo.read_sheet(tree, c)?;
                    errors.extend(
                        read.errors
                            .iter()
                            .map(|e| format!("unreadable record: {e}")),
                    );
                    read.records.into_iter().map(|r| r.record).collect()
                }
                None => Vec::new(),
            };
            sheets.insert(name.to_owned(), records);
        }
        Ok(Snapshot {
            commit: commit.to_string(),
            sheets,
            errors,
        })
    }

    /// The records of `name` (none when the branch has no such sheet).
    pub fn sheet(&self, name: &str) -> &[Map<String, Value>] {
        self.sheets.get(name).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Live (not soft-deleted) slugs of a sheet, sorted.
    fn slugs(&self, sheet: &str, want_deleted: bool) -> Vec<String> {
        let mut out: Vec<String> = self
            .sheet(sheet)
            .iter()
            .filter(|r| deleted(r) == want_deleted)
            .filter_map(|r| text(r, "slug").map(str::to_owned))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Make the plan for a data repo branch.
pub fn plan(repo: &DataRepo, opts: &PlanOptions) -> Result<Plan, PlanError> {
    let snap = Snapshot::read(repo, &opts.branch)?;
    Ok(plan_snapshot(&snap, opts))
}

/// Make the plan from records already read.
pub fn plan_snapshot(snap: &Snapshot, opts: &PlanOptions) -> Plan {
    let seed = opts.seed.clone().unwrap_or_else(|| snap.commit.clone());
    let sampler = Sampler {
        seed: &seed,
        n: opts.sample,
    };
    let mut notes = snap.errors.clone();
    for sheet in ["people", "projects"] {
        if snap.sheet(sheet).is_empty() {
            notes.push(format!(
                "{sheet}: no records on branch {} (is it the right branch?)",
                opts.branch
            ));
        }
    }
    let mut specs = api_specs(snap, &sampler, "people", "person");
    specs.extend(api_specs(snap, &sampler, "projects", "project"));
    specs.extend(project_legacy_specs(snap, &sampler, &mut notes));
    specs.extend(buzz_specs(snap, &sampler, &mut notes));
    specs.extend(tag_specs(snap, &sampler));
    specs.extend(slug_history(snap, opts, &seed));
    if opts.fixed {
        specs.extend(fixed_probes());
    }
    Plan {
        branch: opts.branch.clone(),
        commit: snap.commit.clone(),
        seed,
        specs,
        notes,
    }
}

/// Draws each probe set's sample, seeded by the plan's seed and the set's name.
struct Sampler<'a> {
    seed: &'a str,
    n: usize,
}

impl Sampler<'_> {
    fn pick<T: Clone + std::fmt::Display>(&self, items: &[T], set: &str) -> Vec<T> {
        deterministic_sample(items, self.n, &format!("{}:probe:{set}", self.seed))
    }
}

/// `/api/<sheet>/<slug>`: live records answer 200 with their slug, soft-deleted ones 404
/// `not_found` (sets `<sheet>` and `<sheet>-deleted`, kinds `<kind>` and `<kind>-deleted`).
fn api_specs(snap: &Snapshot, sampler: &Sampler<'_>, sheet: &str, kind: &str) -> Vec<ProbeSpec> {
    let mut specs = Vec::new();
    for deleted in [false, true] {
        let (set, kind) = if deleted {
            (format!("{sheet}-deleted"), format!("{kind}-deleted"))
        } else {
            (sheet.to_owned(), kind.to_owned())
        };
        for slug in sampler.pick(&snap.slugs(sheet, deleted), &set) {
            let expect = if deleted {
                Expect {
                    api_error: Some("not_found".into()),
                    ..Expect::status(404)
                }
            } else {
                Expect {
                    api_slug: Some(slug.clone()),
                    ..Expect::status(200)
                }
            };
            let path = format!("/api/{sheet}/{}", encode_segment(&slug));
            specs.push(ProbeSpec::new(
                format!("{kind}:{slug}"),
                &kind,
                path,
                expect,
            ));
        }
    }
    specs
}

/// laddr's `/projects?ID=` and `/project-updates?ProjectID=` must 301 to the project's slug.
/// A legacyId claimed by several live projects has no single right answer: noted, not probed.
fn project_legacy_specs(
    snap: &Snapshot,
    sampler: &Sampler<'_>,
    notes: &mut Vec<String>,
) -> Vec<ProbeSpec> {
    let mut by_legacy: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for r in snap.sheet("projects").iter().filter(|r| !deleted(r)) {
        if let (Some(id), Some(slug)) = (r.get("legacyId").and_then(Value::as_i64), text(r, "slug"))
            && id > 0
        {
            by_legacy.entry(id).or_default().push(slug.to_owned());
        }
    }
    let ambiguous: Vec<i64> = by_legacy
        .iter()
        .filter(|(_, s)| s.len() > 1)
        .map(|(id, _)| *id)
        .collect();
    if !ambiguous.is_empty() {
        notes.push(format!(
            "projects: legacyId claimed by several projects, not probed: {ambiguous:?}"
        ));
    }
    by_legacy.retain(|_, s| s.len() == 1);
    let ids: Vec<i64> = by_legacy.keys().copied().collect();
    let mut specs = Vec::new();
    for (set, url) in [
        ("project-legacy", "/projects?ID="),
        ("project-updates-legacy", "/project-updates?ProjectID="),
    ] {
        for id in sampler.pick(&ids, set) {
            let slug = &by_legacy[&id][0];
            specs.push(ProbeSpec::new(
                format!("{set}:{id}"),
                set,
                format!("{url}{id}"),
                Expect::redirect(301, format!("/projects/{slug}")),
            ));
        }
    }
    specs
}

/// `/project-buzz/<slug>` must 301 to the buzz under its project. Buzz slugs are unique per
/// project only; the target's index is global, so a slug used by two projects has no single
/// right answer: noted, not probed.
fn buzz_specs(snap: &Snapshot, sampler: &Sampler<'_>, notes: &mut Vec<String>) -> Vec<ProbeSpec> {
    let projects = snap.slugs("projects", false);
    let live_projects: std::collections::HashSet<&str> =
        projects.iter().map(String::as_str).collect();
    let mut buzz: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in snap.sheet("project-buzz") {
        if let (Some(slug), Some(p)) = (text(r, "slug"), text(r, "projectSlug")) {
            buzz.entry(slug.to_owned()).or_default().push(p.to_owned());
        }
    }
    let shared = buzz.values().filter(|p| p.len() > 1).count();
    if shared > 0 {
        notes.push(format!(
            "project-buzz: {shared} buzz slugs are used by several projects and were not probed"
        ));
    }
    let buzz_slugs: Vec<String> = buzz
        .iter()
        .filter(|(_, p)| p.len() == 1 && live_projects.contains(p[0].as_str()))
        .map(|(s, _)| s.clone())
        .collect();
    let at = |slug: &str| {
        let project = encode_segment(&buzz[slug][0]);
        format!("/projects/{project}/buzz/{}", encode_segment(slug))
    };
    sampler
        .pick(&buzz_slugs, "buzz")
        .into_iter()
        .map(|slug| {
            ProbeSpec::new(
                format!("buzz:{slug}"),
                "buzz",
                format!("/project-buzz/{}", encode_segment(&slug)),
                Expect::redirect(301, at(&slug)),
            )
        })
        .collect()
}

/// laddr's `/tags/<ns>.<slug>` must 301 to `/tags/<ns>/<slug>` (lowercase namespaces only).
fn tag_specs(snap: &Snapshot, sampler: &Sampler<'_>) -> Vec<ProbeSpec> {
    let mut tags: Vec<String> = snap
        .sheet("tags")
        .iter()
        .filter_map(|r| Some(format!("{}.{}", text(r, "namespace")?, text(r, "slug")?)))
        .filter(|h| {
            h.split_once('.')
                .is_some_and(|(ns, _)| ns.bytes().all(|b| b.is_ascii_lowercase()))
        })
        .collect();
    tags.sort();
    tags.dedup();
    sampler
        .pick(&tags, "tags")
        .into_iter()
        .map(|handle| {
            let (ns, slug) = handle.split_once('.').unwrap_or(("", ""));
            let slug = encode_segment(slug);
            ProbeSpec::new(
                format!("tag:{handle}"),
                "tag",
                format!("/tags/{ns}.{slug}"),
                Expect::redirect(301, format!("/tags/{ns}/{slug}")),
            )
        })
        .collect()
}

/// Renamed people and projects: the old URL must 301 to the slug at the end of the chain
/// (at most 8 hops, live slugs win, expired entries ignored).
fn slug_history(snap: &Snapshot, opts: &PlanOptions, seed: &str) -> Vec<ProbeSpec> {
    let now = opts.now.clone().unwrap_or_else(crate::report::now_iso);
    let mut chain: HashMap<(String, String), String> = HashMap::new();
    for r in snap.sheet("slug-history") {
        let (Some(t), Some(old), Some(new)) = (
            text(r, "entityType"),
            text(r, "oldSlug"),
            text(r, "newSlug"),
        ) else {
            continue;
        };
        if text(r, "expiresAt").is_some_and(|e| e <= now.as_str()) {
            continue;
        }
        chain.insert((t.to_owned(), old.to_owned()), new.to_owned());
    }
    let live = |t: &str| -> std::collections::HashSet<String> {
        match t {
            "person" => snap.slugs("people", false).into_iter().collect(),
            _ => snap.slugs("projects", false).into_iter().collect(),
        }
    };
    let (people, projects) = (live("person"), live("project"));
    let mut candidates: Vec<String> = Vec::new();
    let mut target: HashMap<String, (String, String)> = HashMap::new();
    for (t, old) in chain.keys() {
        let (live, root) = match t.as_str() {
            "person" => (&people, "members"),
            "project" => (&projects, "projects"),
            _ => continue,
        };
        if live.contains(old) {
            continue;
        }
        let mut current = old.clone();
        for _ in 0..8 {
            if live.contains(&current) {
                break;
            }
            match chain.get(&(t.clone(), current.clone())) {
                Some(next) => current = next.clone(),
                None => break,
            }
        }
        let key = format!("{t}:{old}");
        candidates.push(key.clone());
        target.insert(key, (root.to_owned(), current));
    }
    candidates.sort();
    deterministic_sample(
        &candidates,
        opts.sample,
        &format!("{seed}:probe:slug-history"),
    )
    .into_iter()
    .map(|key| {
        let (root, new) = &target[&key];
        let old = key.split_once(':').map(|(_, o)| o).unwrap_or_default();
        ProbeSpec::new(
            format!("slug-history:{key}"),
            "slug-history",
            format!("/{root}/{}", encode_segment(old)),
            Expect::redirect(301, format!("/{root}/{}", encode_segment(new))),
        )
    })
    .collect()
}
