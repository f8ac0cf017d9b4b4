//! The partial-write rollback (`reference/F` §3): export every write after T-0, list the members
//! whose writes are discarded (the `rollback-apology` campaign's input), then move the runtime
//! branch back to the post-import tip by compare-and-swap, printing the push (never pushing).

use std::collections::{BTreeMap, HashMap};
use std::io::Write as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;
use crate::watch::Observation;
use crate::writes::Write;

/// The export's files, in the export directory.
pub const PUBLIC_FILE: &str = "writes.ndjson";
/// The private-store writes.
pub const PRIVATE_FILE: &str = "private-writes.ndjson";
/// The members whose writes are discarded.
pub const MEMBERS_FILE: &str = "affected-members.ndjson";
/// The manifest.
pub const MANIFEST_FILE: &str = "export.json";

/// `export.json`: what was exported, and the tips `reset` must still find.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Manifest {
    /// When the export ran (ISO).
    pub exported_at: String,
    /// The data repo exported from.
    pub data_repo: String,
    /// The runtime branch.
    pub branch: String,
    /// The remote the branch was fetched from, if any.
    pub remote: Option<String>,
    /// The post-import tip the branch goes back to.
    pub since: String,
    /// The runtime branch's tip the export read (the remote's, after a fetch).
    pub tip: String,
    /// Lines of `writes.ndjson`.
    pub data_repo_writes: usize,
    /// Lines of `private-writes.ndjson`.
    pub private_store_writes: usize,
    /// Lines of `affected-members.ndjson`.
    pub affected_members: usize,
    /// Writes no member could be named for (a non-`people/` record edited by the API).
    pub unattributed_writes: usize,
}

/// One member whose writes the rollback discards (`affected-members.ndjson`).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AffectedMember {
    /// The line format's version (1).
    pub v: u8,
    /// The member's person id.
    pub person_id: String,
    /// Empty only for a member found in neither tip's `people` sheet.
    pub slug: String,
    /// The member's full name, when the `people` sheet has one.
    pub full_name: Option<String>,
    /// The member's discarded writes.
    pub writes: Vec<WriteRef>,
}

/// One discarded write, as the mailer's `rollback-apology` lists it (`path`, `at`), plus where
/// it was and what it did.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct WriteRef {
    /// A data-repo record path, or a private-store object (`profiles.jsonl`; its keys, such as
    /// token hashes, do not go into an email).
    pub path: String,
    /// When the write was made (ISO).
    pub at: String,
    /// `data-repo` or `private-store`.
    pub source: &'static str,
    /// `created`, `changed` or `deleted`.
    pub kind: &'static str,
}

/// Writes the export into `dir` (created; existing export files are refused, never overwritten).
pub fn export(
    obs: &Observation,
    data_repo: &Path,
    branch: &str,
    since: gix::ObjectId,
    dir: &Path,
) -> Result<Manifest, Error> {
    std::fs::create_dir_all(dir).map_err(|e| Error::file(dir, e))?;
    let repo = sheets::DataRepo::open(data_repo)?;
    let people = people_index(&repo, &[obs.tip, since])?;
    let (public, private): (Vec<&Write>, Vec<&Write>) =
        obs.writes.iter().partition(|w| w.source == "data-repo");
    let members = affected(&obs.writes, &people);
    let unattributed = obs.writes.iter().filter(|w| w.person_id.is_none()).count();
    write_lines(&dir.join(PUBLIC_FILE), &public)?;
    write_lines(&dir.join(PRIVATE_FILE), &private)?;
    write_lines(&dir.join(MEMBERS_FILE), &members.iter().collect::<Vec<_>>())?;
    let manifest = Manifest {
        exported_at: obs.at.clone(),
        data_repo: data_repo.display().to_string(),
        branch: branch.to_owned(),
        remote: obs.remote.clone(),
        since: since.to_string(),
        tip: obs.tip.to_string(),
        data_repo_writes: public.len(),
        private_store_writes: private.len(),
        affected_members: members.len(),
        unattributed_writes: unattributed,
    };
    let text = serde_json::to_string_pretty(&manifest).map_err(|e| Error::file(dir, e))? + "\n";
    create_new(&dir.join(MANIFEST_FILE), text.as_bytes())?;
    Ok(manifest)
}

/// Members by person id, with every write of theirs, in time order.
fn affected(
    writes: &[Write],
    people: &HashMap<String, (String, Option<String>)>,
) -> Vec<AffectedMember> {
    let mut by_id: BTreeMap<&str, AffectedMember> = BTreeMap::new();
    for w in writes {
        let Some(id) = w.person_id.as_deref() else {
            continue;
        };
        let known = people.get(id);
        let m = by_id.entry(id).or_insert_with(|| AffectedMember {
            v: 1,
            person_id: id.to_owned(),
            slug: w
                .slug
                .clone()
                .or_else(|| known.map(|k| k.0.clone()))
                .unwrap_or_default(),
            full_name: known.and_then(|k| k.1.clone()),
            writes: Vec::new(),
        });
        let object = w.record.split('#').next().unwrap_or(&w.record);
        m.writes.push(WriteRef {
            path: object.to_owned(),
            at: w.time.clone(),
            source: w.source,
            kind: w.kind,
        });
    }
    by_id.into_values().collect()
}

/// Person id → (slug, fullName), from the `people` sheet of the first commit that has it.
fn people_index(
    repo: &sheets::DataRepo,
    commits: &[gix::ObjectId],
) -> Result<HashMap<String, (String, Option<String>)>, Error> {
    let mut out = HashMap::new();
    for &c in commits {
        let tree = repo.tree_of(c)?;
        let Ok(config) = repo.sheet_config(tree, "people") else {
            continue;
        };
        for r in repo.read_sheet(tree, &config)?.records {
            let (Some(id), Some(slug)) = (r.record["id"].as_str(), r.record["slug"].as_str())
            else {
                continue;
            };
            let name = r
                .record
                .get("fullName")
                .and_then(Value::as_str)
                .map(str::to_owned);
            out.entry(id.to_owned()).or_insert((slug.to_owned(), name));
        }
    }
    Ok(out)
}

fn write_lines<T: Serialize>(path: &Path, items: &[T]) -> Result<(), Error> {
    let mut text = Vec::new();
    for item in items {
        serde_json::to_writer(&mut text, item).map_err(|e| Error::file(path, e))?;
        text.push(b'\n');
    }
    create_new(path, &text)
}

/// Creates `path` with `bytes`, refusing to replace an earlier export.
fn create_new(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .map_err(|e| {
            Error::file(
                path,
                format!("{e} (an earlier export is never overwritten; pick a new --out)"),
            )
        })?;
    f.write_all(bytes)
        .and_then(|()| f.sync_all())
        .map_err(|e| Error::file(path, e))
}

/// Reads an export's manifest; its absence refuses the reset.
pub fn read_manifest(dir: &Path) -> Result<Manifest, Error> {
    let path = dir.join(MANIFEST_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        Error::Refused(format!(
            "{}: {e}: run `cutover rollback export` first; reset refuses without an export",
            path.display()
        ))
    })?;
    serde_json::from_str(&text).map_err(|e| Error::file(&path, e))
}

/// What `reset` did or would do.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetOutcome {
    /// True when the branch was moved; false for a dry run.
    pub applied: bool,
    /// The branch reset.
    pub branch: String,
    /// The local branch's value before.
    pub from: String,
    /// The post-import tip the branch goes back to.
    pub to: String,
    /// The push that publishes the reset.
    pub push_command: String,
}

/// Moves `refs/heads/<branch>` back to the export's `since`, only if the branch (the remote's,
/// freshly observed as `remote_tip`, and the local one) holds nothing the export did not see.
pub fn reset(
    manifest: &Manifest,
    data_repo: &Path,
    remote_tip: gix::ObjectId,
    apply: bool,
) -> Result<ResetOutcome, Error> {
    let repo = sheets::DataRepo::open(data_repo)?;
    let since = crate::baseline::resolve_commit(&repo, &manifest.since)?;
    let exported = crate::baseline::resolve_commit(&repo, &manifest.tip)?;
    if remote_tip != exported {
        return Err(Error::Refused(format!(
            "the runtime branch moved since the export ({} → {remote_tip}): new writes are not exported; nothing changed. Run `cutover rollback export` again",
            manifest.tip
        )));
    }
    let name = format!("refs/heads/{}", manifest.branch);
    let local = repo
        .resolve(&name)?
        .ok_or_else(|| Error::Refused(format!("branch {} does not exist", manifest.branch)))?;
    if !repo.ancestors(exported)?.contains(&local) {
        return Err(Error::Refused(format!(
            "local {name} is at {local}, which the export ({exported}) does not contain: resetting would lose writes; nothing changed"
        )));
    }
    let remote = manifest.remote.as_deref().unwrap_or("origin");
    let push_command = format!(
        "git -C {} push --force-with-lease=refs/heads/{b}:{exported} {remote} {since}:refs/heads/{b}",
        data_repo.display(),
        b = manifest.branch
    );
    if apply && local != since {
        repo.update_ref(
            &name,
            Some(local),
            since,
            &sheets::Signature::default(),
            "cutover rollback reset: back to the post-import tip",
        )?;
    }
    Ok(ResetOutcome {
        applied: apply,
        branch: manifest.branch.clone(),
        from: local.to_string(),
        to: since.to_string(),
        push_command,
    })
}

/// The default export directory: `rollback-<time>` in the current directory.
pub fn default_dir(now: &str) -> PathBuf {
    PathBuf::from(format!("rollback-{}", now.replace(':', "-")))
}
