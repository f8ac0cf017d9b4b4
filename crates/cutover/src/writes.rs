//! Every write after the T-0 tips, as one line each: the runtime branch's commits that are not
//! the importer's, the merge's or the prune's (record before/after, commit, author, time), and
//! the private store's changes (see [`crate::private`]).

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::Error;

/// `Action` trailers of the commits our own T-0 tools make: these writes are harmless.
pub const HARMLESS_ACTIONS: &[&str] = &["import.laddr.json", "merge", "prune.spam"];

/// One record written after T-0 (an export line; `docs/ndjson.md`, cutover).
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Write {
    /// The line format's version (1).
    pub v: u8,
    /// `data-repo` or `private-store`.
    pub source: &'static str,
    /// `created`, `changed` or `deleted`.
    pub kind: &'static str,
    /// A path in the data repo, or `<object>#<key>` in the private store.
    pub record: String,
    /// ISO 8601: the commit's author time, or when the private object version was written.
    pub time: String,
    /// The commit that wrote it (data repo only).
    pub commit: Option<String>,
    /// `Name <email>` of the commit's author (data repo only).
    pub author: Option<String>,
    /// The person the record belongs to, when known.
    pub person_id: Option<String>,
    /// That person's slug, when known.
    pub slug: Option<String>,
    /// The record before the write; null when created.
    pub before: Option<Value>,
    /// The record after the write; null when deleted.
    pub after: Option<Value>,
}

/// What a commit says about itself.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// The commit's id.
    pub id: gix::ObjectId,
    /// Its parents.
    pub parents: Vec<gix::ObjectId>,
    /// Its tree.
    pub tree: gix::ObjectId,
    /// Its author, as `Name <email>`.
    pub author: String,
    /// Author time, seconds since the epoch.
    pub author_time: i64,
    /// Committer time, seconds since the epoch.
    pub time: i64,
    /// The value of the `Action:` trailer, if any.
    pub action: Option<String>,
}

impl CommitInfo {
    /// Reads a commit's id, parents, tree, author, times and `Action:` trailer.
    pub fn read(repo: &sheets::DataRepo, id: gix::ObjectId) -> Result<CommitInfo, Error> {
        let (_, data) = repo.read_object(id)?;
        let bad = |message: String| sheets::RepoError::Object { id, message };
        let c = gix::objs::CommitRef::from_bytes(&data, gix::hash::Kind::Sha1)
            .map_err(|e| bad(e.to_string()))?;
        let author = c.author().map_err(|e| bad(e.to_string()))?;
        let committer = c.committer().map_err(|e| bad(e.to_string()))?;
        let seconds = |t: &str| {
            t.split(' ')
                .next()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0)
        };
        let action = c.message_trailers().find_map(|t| {
            (t.token.to_string().eq_ignore_ascii_case("action")).then(|| t.value.to_string())
        });
        Ok(CommitInfo {
            id,
            parents: c.parents().collect(),
            tree: c.tree(),
            author: format!("{} <{}>", author.name, author.email),
            author_time: seconds(author.time),
            time: seconds(committer.time),
            action,
        })
    }

    /// Made by the importer, the T-0 merge or the prune.
    pub fn is_harmless(&self) -> bool {
        self.action
            .as_deref()
            .is_some_and(|a| HARMLESS_ACTIONS.contains(&a))
    }
}

/// The commits reachable from `tip` but not from `since`, oldest first (by committer time, then
/// id). `since` must be an ancestor of `tip`: otherwise the history was rewritten, an error.
pub fn commits_since(
    repo: &sheets::DataRepo,
    since: gix::ObjectId,
    tip: gix::ObjectId,
) -> Result<Vec<CommitInfo>, Error> {
    let old: HashSet<gix::ObjectId> = repo.ancestors(since)?;
    if !old.contains(&tip) && !repo.ancestors(tip)?.contains(&since) {
        return Err(Error::Refused(format!(
            "the runtime branch at {tip} does not contain the T-0 tip {since}: its history was rewritten"
        )));
    }
    let mut seen = HashSet::new();
    let mut todo = vec![tip];
    let mut out = Vec::new();
    while let Some(id) = todo.pop() {
        if old.contains(&id) || !seen.insert(id) {
            continue;
        }
        let info = CommitInfo::read(repo, id)?;
        todo.extend(info.parents.iter().copied());
        out.push(info);
    }
    out.sort_by_key(|c| (c.time, c.id));
    Ok(out)
}

/// The record-level writes of one commit against its first parent: every changed file, with
/// the record before and after (TOML and JSON records decoded; other files as their blob id).
pub fn commit_writes(repo: &sheets::DataRepo, c: &CommitInfo) -> Result<Vec<Write>, Error> {
    let parent_tree = match c.parents.first() {
        Some(p) => Some(repo.tree_of(*p)?),
        None => None,
    };
    let changes = sheets::TreeEdit::new(repo, None)
        .diff(parent_tree, Some(c.tree), "")
        .map_err(|e| Error::Refused(format!("diffing commit {}: {e}", c.id)))?;
    let mut out = Vec::new();
    let kinds = [
        ("created", &changes.added),
        ("changed", &changes.modified),
        ("deleted", &changes.deleted),
    ];
    for (kind, paths) in kinds {
        for path in paths {
            let before = match parent_tree {
                Some(t) => record_at(repo, t, path)?,
                None => None,
            };
            let after = record_at(repo, c.tree, path)?;
            let person = person_of(path, after.as_ref().or(before.as_ref()));
            out.push(Write {
                v: 1,
                source: "data-repo",
                kind,
                record: path.clone(),
                time: crate::iso(c.author_time),
                commit: Some(c.id.to_string()),
                author: Some(c.author.clone()),
                person_id: person.as_ref().map(|p| p.0.clone()),
                slug: person.map(|p| p.1),
                before,
                after,
            });
        }
    }
    out.sort_by(|a, b| a.record.cmp(&b.record));
    Ok(out)
}

/// A file's content as a record: TOML or JSON decoded; anything else `{"blob": <id>}`.
fn record_at(
    repo: &sheets::DataRepo,
    tree: gix::ObjectId,
    path: &str,
) -> Result<Option<Value>, Error> {
    let Some(bytes) = repo.blob_at(tree, path)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    let decoded = if path.ends_with(".toml") {
        sheets::toml::from_str(&text).ok().map(Value::Object)
    } else if path.ends_with(".json") {
        serde_json::from_str(&text).ok()
    } else {
        None
    };
    let id = gix::objs::compute_hash(gix::hash::Kind::Sha1, gix::object::Kind::Blob, &bytes)
        .map(|i| i.to_string())
        .unwrap_or_default();
    Ok(Some(decoded.unwrap_or_else(|| {
        Value::Object(Map::from_iter([("blob".to_owned(), Value::String(id))]))
    })))
}

/// `(id, slug)` of the person a `people/` record is.
fn person_of(path: &str, record: Option<&Value>) -> Option<(String, String)> {
    if !path.starts_with("people/") {
        return None;
    }
    let r = record?;
    Some((r["id"].as_str()?.to_owned(), r["slug"].as_str()?.to_owned()))
}

/// Orders writes by when they happened (times of different precision compare correctly; an
/// unreadable time sorts last), then by record.
pub fn sort_by_time(writes: &mut [Write]) {
    let key = |w: &Write| {
        w.time
            .parse::<jiff::Timestamp>()
            .map_or(i128::MAX, |t| t.as_nanosecond())
    };
    writes.sort_by(|a, b| key(a).cmp(&key(b)).then_with(|| a.record.cmp(&b.record)));
}
