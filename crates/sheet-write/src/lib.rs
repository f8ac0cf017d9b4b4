//! `sheet-write`: laddr rows (the `laddr-fetch` NDJSON) → the rewrite's records (the
//! `translate` crate) → one snapshot commit per sheet, in foreign-key order, on a branch of a
//! bare data repo (the `sheets` crate).
//!
//! The importer owns the roots of eight sheets and rebuilds each from scratch (gitsheets'
//! `clear()` + `upsert`), so records gone upstream disappear; `.gitsheets/` and every other
//! sheet stay byte-identical. Ids are read forward from the parent tree, so unchanged data
//! makes no commit and a changed record touches only its own file.

#![deny(missing_docs)]

pub mod cli;

use serde::Serialize;
use serde_json::{Map, Value};
use sheets::tree::FileChanges;
use sheets::{CommitSpec, DataRepo, RepoError, SheetConfig, Transaction};
use std::borrow::Cow;
use std::collections::BTreeMap;

use foldhash::HashMap;
use std::path::PathBuf;
use translate::{Input, InputError, MediaLines, Options, Output, Sheet};

mod kept;
pub mod media;
use kept::{Closure, Kept, kept_files};
pub use media::{MediaCounts, MediaFailed};

/// What one run is asked to do.
pub struct Run {
    /// The bare data repo to write (`--data-repo`).
    pub data_repo: Option<PathBuf>,
    /// The branch the snapshot commits land on.
    pub branch: String,
    /// Refs tried, in order, when neither the branch nor `origin/<branch>` exists.
    pub bases: Vec<String>,
    /// The laddr host the rows came from, recorded in the report.
    pub source_host: String,
    /// The run timestamp (ISO), also the fallback clock of the translation.
    pub run_at: String,
    /// Translate and report but write nothing.
    pub dry_run: bool,
    /// Import even when a laddr resource has no rows (its sheets are then emptied).
    pub allow_missing_resources: bool,
    /// Import even when laddr-fetch's end lines say a resource is incomplete (the records of
    /// its missing rows are then deleted).
    pub allow_incomplete: bool,
    /// How the rows are translated.
    pub options: Options,
    /// Signs each commit when given.
    pub signature: Option<sheets::Signature>,
    /// laddr-fetch's media directory (`--media-dir`): avatars and blog assets come from it.
    /// Without it every record keeps the attachments and `avatarKey` of the parent tree.
    pub media_dir: Option<PathBuf>,
}

/// Fatal errors: nothing was written.
#[derive(Debug, thiserror::Error)]
pub enum Fatal {
    /// A line after the rows is not laddr-fetch NDJSON (found while they were translated).
    #[error("reading laddr NDJSON: {0}")]
    Input(#[from] InputError),
    /// The data repo could not be opened or read.
    #[error(transparent)]
    Repo(#[from] RepoError),
    /// A sheet's tree could not be edited.
    #[error(transparent)]
    Edit(#[from] sheets::tree::EditError),
    /// The media directory could not be opened.
    #[error("--media-dir {0}")]
    Media(#[from] ::media::MediaError),
    #[error(
        "the input has no rows of {}: as a snapshot it would delete every record of their sheets; \
         refusing (is the laddr-fetch output complete? --allow-missing-resources imports it anyway)",
        .0.join(", ")
    )]
    /// Resources with no rows at all.
    MissingResources(Vec<&'static str>),
    #[error(
        "laddr-fetch did not deliver every row of {}: as a snapshot the run would delete the \
         records of the rows it missed; refusing (rows were lost, or it ran with --limit: see its \
         stderr or --json report and fetch again; --allow-incomplete imports it anyway)",
        list(.0)
    )]
    /// Resources laddr-fetch did not deliver whole.
    Incomplete(Vec<Incomplete>),
    #[error(
        "the snapshot would hold {} reference(s) to no record; refusing (nothing written):\n  {}",
        .0.len(),
        .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n  ")
    )]
    /// References the snapshot would leave pointing at no record.
    Dangling(Vec<sheets::Dangling>),
    /// An owned sheet without a `.gitsheets/` config in the base.
    #[error("sheet `{sheet}` has no config in .gitsheets/ of {base}")]
    NoConfig {
        /// The sheet's name.
        sheet: String,
        /// The ref whose tree lacks the config.
        base: String,
    },
    /// A sheet whose root is the repo's top, which the importer would replace whole.
    #[error("sheet `{0}` is rooted at `.`: the importer would replace the whole repo; refusing")]
    RootedAtTop(String),
    #[error(
        "{sheet}: {count} record(s) of the parent tree could not be read, so their ids cannot be carried forward: {first}"
    )]
    /// Parent-tree records that could not be read, so their ids cannot carry forward.
    UnreadableParent {
        /// The sheet's name.
        sheet: String,
        /// How many records could not be read.
        count: usize,
        /// The first one's error.
        first: String,
    },
}

/// A resource the input does not hold whole, by laddr-fetch's own end line (or the lack of
/// one where other resources have theirs).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Incomplete {
    /// The laddr resource's name.
    pub resource: &'static str,
    /// Rows read for the resource.
    pub rows: u64,
    /// The server's total from the end line, when laddr-fetch saw one.
    pub total: Option<u64>,
    /// False when the resource has rows but no end line: the input was cut short.
    pub end_line: bool,
}

impl std::fmt::Display for Incomplete {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.end_line, self.total) {
            (false, _) => write!(
                f,
                "{} ({} rows and no end line: the input was cut short)",
                self.resource, self.rows
            ),
            (true, Some(t)) => write!(f, "{} ({} of {t} rows)", self.resource, self.rows),
            (true, None) => write!(
                f,
                "{} ({} rows, server total unknown)",
                self.resource, self.rows
            ),
        }
    }
}

fn list(items: &[Incomplete]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The resources laddr-fetch says it did not deliver whole (`complete:false` end lines), and
/// those with rows but no end line while others have one. Empty for input without end lines
/// (hand-made NDJSON), which is taken as whole, as before end lines existed.
pub fn incomplete(input: &Input) -> Vec<Incomplete> {
    let cut = input.without_end();
    translate::Resource::ALL
        .into_iter()
        .filter_map(|r| {
            let rows = input.rows(r).len() as u64;
            match input.ends().get(&r) {
                Some(end) if !end.complete => Some(Incomplete {
                    resource: r.name(),
                    rows,
                    total: end.total,
                    end_line: true,
                }),
                None if cut.contains(&r) => Some(Incomplete {
                    resource: r.name(),
                    rows,
                    total: None,
                    end_line: false,
                }),
                _ => None,
            }
        })
        .collect()
}

/// Per sheet: the reference's counts plus what happened in the repo.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SheetResult {
    /// The sheet's commit, when it changed.
    pub commit: Option<String>,
    /// Records the sheet holds after the run.
    pub files: usize,
    /// Files the commit adds.
    pub added: usize,
    /// Files the commit changes.
    pub modified: usize,
    /// Files the commit deletes.
    pub deleted: usize,
}

/// The reference's `ImportReport`, plus per-sheet commits and file changes.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// When the run ran (ISO).
    pub run_at: String,
    /// The laddr host the rows came from.
    pub source_host: String,
    /// The branch written.
    pub branch: String,
    /// Serialises in the reference's key order (tags, people, projects, …).
    pub counts: translate::Counts,
    /// Translation warnings, one line each.
    pub warnings: Vec<String>,
    /// The branch's new tip, when anything changed.
    pub commit_hash: Option<String>,
    /// True when the snapshot equals the parent tree.
    pub no_changes: bool,
    /// True when nothing was written.
    pub dry_run: bool,
    /// The branch tip the run started from.
    pub parent: Option<String>,
    /// What happened to each sheet, by name.
    pub sheets: BTreeMap<String, SheetResult>,
    /// Records refused at write time (unrenderable or colliding paths).
    pub write_errors: Vec<String>,
    /// Rows skipped for an error or failed validation.
    pub problems: usize,
    /// Media per sheet (`people`, `blog-posts`): written, kept, failed, removed; absent when
    /// the run neither had `--media-dir` nor kept an attachment.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub media: BTreeMap<String, MediaCounts>,
    /// Resources imported although incomplete (`--allow-incomplete`); absent when none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub incomplete: Vec<Incomplete>,
    /// Rows that failed whose record the parent tree holds: kept byte for byte.
    pub kept_stale: Vec<translate::KeptStale>,
    /// laddr rows resolved to one record (tags sharing a namespace/slug).
    pub merges: Vec<translate::Merge>,
    /// Existing records whose slug (and so public URL) changes, old → new.
    pub slug_changes: Vec<translate::SlugChange>,
}

impl Report {
    /// Exit 0 only when nothing was skipped for an error, nothing failed validation and the
    /// input was whole.
    pub fn passed(&self) -> bool {
        self.problems == 0 && self.write_errors.is_empty() && self.incomplete.is_empty()
    }
}

/// A translated record ready to write.
#[derive(Debug, Clone, Serialize)]
pub struct PlacedRecord {
    /// The sheet the record belongs to.
    pub sheet: &'static str,
    /// The record's path inside the sheet.
    pub path: String,
    /// The record's fields.
    pub record: Map<String, Value>,
}

/// The configs of the owned sheets, read from the parent tree.
fn owned_configs(
    repo: &DataRepo,
    tree: sheets::ObjectId,
    base: &str,
) -> Result<Vec<(Sheet, SheetConfig)>, Fatal> {
    let mut all = repo.sheet_configs(tree)?;
    Sheet::ALL
        .iter()
        .map(|s| {
            let config = all.remove(s.as_str()).ok_or_else(|| Fatal::NoConfig {
                sheet: s.as_str().into(),
                base: base.into(),
            })?;
            if config.root.is_empty() {
                return Err(Fatal::RootedAtTop(s.as_str().into()));
            }
            Ok((*s, config))
        })
        .collect()
}

/// A record file of the parent tree: where it is, and what a kept record's children need.
struct ParentFile {
    path: String,
    blob: sheets::ObjectId,
    /// The record's attachments (`sheets::DataRepo::attachments`), paths from the repo root.
    attachments: Vec<sheets::BlobEntry>,
    id: Option<String>,
    /// `taggableId` or `projectId`: the record a tag-assignment or membership belongs to.
    owner: Option<String>,
}

/// The parent tree's record files of the owned sheets.
type ParentFiles = BTreeMap<Sheet, Vec<ParentFile>>;

/// The owned sheets' records, slimmed to what read-forward ids need, by sheet name.
type Slim = BTreeMap<String, Vec<Map<String, Value>>>;

/// Read the owned sheets of the parent tree, for read-forward ids and kept records.
fn existing_records(
    repo: &DataRepo,
    tree: sheets::ObjectId,
    configs: &[(Sheet, SheetConfig)],
) -> Result<(Slim, ParentFiles), Fatal> {
    let mut existing = BTreeMap::new();
    let mut files = ParentFiles::new();
    for (sheet, config) in configs {
        let (record_files, mut attachments) = repo.records_and_attachments(tree, config)?;
        let read = repo.read_records_keys(record_files, config, &translate::READ_FORWARD_FIELDS)?;
        if let Some(first) = read.errors.first() {
            // A record we cannot read would get a new id and churn every reference to it.
            return Err(Fatal::UnreadableParent {
                sheet: sheet.as_str().into(),
                count: read.errors.len(),
                first: first.to_string(),
            });
        }
        // Only what read-forward ids need was read.
        let mut slim = Vec::with_capacity(read.records.len());
        let parent = files.entry(*sheet).or_default();
        for r in read.records {
            let record = r.record;
            let field = |k: &str| record.get(k).and_then(Value::as_str).map(str::to_owned);
            parent.push(ParentFile {
                attachments: attachments.remove(&r.path).unwrap_or_default(),
                path: r.path,
                blob: r.blob,
                id: field("id"),
                owner: field("taggableId").or_else(|| field("projectId")),
            });
            slim.push(record);
        }
        existing.insert(sheet.as_str().to_owned(), slim);
    }
    Ok((existing, files))
}

/// A record (borrowed from the translation output) with its rendered path and file bytes.
struct PlacedFile<'a> {
    path: String,
    bytes: Vec<u8>,
    record: &'a Map<String, Value>,
}

/// Render every record's path and bytes; refuse the unrenderable and the colliding ones (a
/// kept record's path is taken first).
fn place<'a>(
    out: &'a Output,
    configs: &[(Sheet, SheetConfig)],
    kept: &Kept,
    write_errors: &mut Vec<String>,
) -> BTreeMap<Sheet, Vec<PlacedFile<'a>>> {
    let mut placed = BTreeMap::new();
    for (sheet, config) in configs {
        let mut files = Vec::new();
        // Who holds each path so far (a kept record first), named only on a collision.
        let mut taken: HashMap<String, (&Map<String, Value>, bool)> = kept
            .records
            .iter()
            .filter(|k| k.sheet == *sheet)
            .map(|k| (k.path.clone(), (&k.record, true)))
            .collect();
        for (record, rendered) in out
            .sheet(*sheet)
            .iter()
            .zip(render(out.sheet(*sheet), config))
        {
            let (file, read_back) = match rendered {
                Ok((path, bytes, read_back)) => (
                    PlacedFile {
                        path,
                        bytes,
                        record,
                    },
                    read_back,
                ),
                Err(e) => {
                    write_errors.push(format!("[{}] {e}; not written", sheet.as_str()));
                    continue;
                }
            };
            if !read_back {
                write_errors.push(format!(
                    "[{}] {}: {} would not read back as the same record (a `+++` line in a \
                     multi-line front matter field ends the front matter early); not written",
                    sheet.as_str(),
                    who(record),
                    file.path
                ));
                continue;
            }
            if let Some(&(first, was_kept)) = taken.get(&file.path) {
                let first = match was_kept {
                    true => format!("the kept {}", who(first)),
                    false => who(first),
                };
                write_errors.push(format!(
                    "[{}] {} and {first} would both be written at {}; the later one is refused",
                    sheet.as_str(),
                    who(record),
                    file.path
                ));
                continue;
            }
            taken.insert(file.path.clone(), (record, false));
            files.push(file);
        }
        placed.insert(*sheet, files);
    }
    placed
}

/// A record's path, file bytes and whether they read back, or why it cannot be written.
type Rendered = Result<(String, Vec<u8>, bool), sheets::SheetError>;

/// Each record's path and file bytes, and whether the file reads back as the record
/// ([`reads_back`]); rendered on every core, in the records' order.
fn render(records: &[Map<String, Value>], config: &SheetConfig) -> Vec<Rendered> {
    sheets::par::map(records, |record| {
        let path = config.record_path(record)?;
        let bytes = config.encode(record)?;
        let read_back = reads_back(config, &path, &bytes, record);
        Ok((path, bytes, read_back))
    })
}

/// How write errors name a record: by `legacyId` when it has one (as the translator's
/// warnings do, so operators can grep one id), else as `sheets` describes it.
fn who(record: &Map<String, Value>) -> String {
    match record.get("legacyId").and_then(Value::as_i64) {
        Some(id) => format!("legacyId={id}"),
        None => sheets::config::describe(record),
    }
}

/// A markdown file must decode to the same front matter: otherwise the next run could not
/// read it for its id and would stop. `sheets` reads a `+++` line inside a multi-line
/// front-matter string correctly; this guard keeps any other such case out of the repo.
/// TOML files always read back.
fn reads_back(config: &SheetConfig, path: &str, bytes: &[u8], record: &Map<String, Value>) -> bool {
    let sheets::Format::Markdown { body } = &config.format else {
        return true;
    };
    config.decode(path, bytes).is_ok_and(|mut back| {
        let mut front = record.clone();
        back.remove(body);
        front.remove(body);
        back == front
    })
}

/// The repo side of a run: the parent, the owned sheets' configs, and the translation made
/// with ids read forward from the parent tree.
struct Prepared {
    repo: DataRepo,
    parent: sheets::Parent,
    configs: Vec<(Sheet, SheetConfig)>,
    out: Output,
    kept: Kept,
    parent_files: ParentFiles,
    media: media::Plan,
}

/// Translate without a repo (a dry run or `--emit-records` with none given): new ids, no
/// paths, counts and warnings only, as the reference's dry run. The rest of the input is
/// still read through: a bad line there fails the run.
fn translate_alone(run: &Run, input: &Input, tail: InputTail<'_>) -> Result<Output, Fatal> {
    let out = translate::translate(
        input,
        &run.options,
        &translate::ReadForward::default(),
        &mut translate::UuidV7,
    );
    tail.wait(input)?;
    Ok(out)
}

/// laddr-fetch's media lines, which follow its rows (it fetches the media once the rows are
/// out): read with the rows, or still coming in while the rows are translated. Only the
/// media step waits for them, and nothing is written before they are all read.
pub enum InputTail<'a> {
    /// Read with the rows ([`Input::read`], [`Input::media_lines`]).
    Read,
    /// The rest of the stream, still being read ([`Input::read_rows_first`]'s media lines).
    Reading(Box<dyn FnOnce() -> Result<MediaLines, InputError> + 'a>),
}

impl<'a> InputTail<'a> {
    /// The media lines, once the whole input is read; a bad line there is the run's error.
    fn wait(self, input: &'a Input) -> Result<Cow<'a, MediaLines>, Fatal> {
        match self {
            InputTail::Read => Ok(Cow::Borrowed(input.media_lines())),
            InputTail::Reading(rest) => Ok(Cow::Owned(rest()?)),
        }
    }
}

/// The side of a run that needs no input: the repo, the parent commit, the owned sheets'
/// configs, the read-forward ids and the parent tree's record files. `sheet-write` reads it
/// while laddr-fetch still streams the rows, so at T-0 it costs no time of its own.
pub struct ParentSide {
    repo: DataRepo,
    parent: sheets::Parent,
    configs: Vec<(Sheet, SheetConfig)>,
    read_forward: translate::ReadForward,
    parent_files: ParentFiles,
}

/// Open the repo (refusing a non-bare one before anything else) and read the parent side of
/// `run`; `None` when the run has no repo to read.
pub fn read_parent(run: &Run) -> Result<Option<ParentSide>, Fatal> {
    let Some(path) = run.data_repo.as_ref() else {
        return Ok(None);
    };
    if run.dry_run && !path.exists() {
        return Ok(None);
    }
    let repo = DataRepo::open(path)?;
    let bases: Vec<&str> = run.bases.iter().map(String::as_str).collect();
    let parent = repo.parent_for(&run.branch, &bases)?;
    let tree = repo.tree_of(parent.base)?;
    let configs = owned_configs(&repo, tree, &parent.base_ref)?;
    let (existing, parent_files) = existing_records(&repo, tree, &configs)?;
    let read_forward = translate::build_read_forward(&existing);
    Ok(Some(ParentSide {
        repo,
        parent,
        configs,
        read_forward,
        parent_files,
    }))
}

/// Translate `input` onto the parent side with read-forward ids, then (with the rest of the
/// input read) run the media step.
fn prepare(
    run: &Run,
    input: &Input,
    side: ParentSide,
    tail: InputTail<'_>,
) -> Result<Prepared, Fatal> {
    let ParentSide {
        repo,
        parent,
        configs,
        read_forward,
        parent_files,
    } = side;
    let mut out = translate::translate(input, &run.options, &read_forward, &mut translate::UuidV7);
    drop(read_forward);
    let lines = tail.wait(input)?;
    let kept = kept_files(&repo, &configs, &parent_files, &out.kept_stale)?;
    let source = run
        .media_dir
        .clone()
        .map(media::MediaSource::open)
        .transpose()?;
    let media = media::apply(
        &mut out,
        &parent_attachments(&parent_files),
        source.as_ref(),
        &lines,
    );
    Ok(Prepared {
        repo,
        parent,
        configs,
        out,
        kept,
        parent_files,
        media,
    })
}

/// Each parent record's attachment names, by (sheet, record id).
fn parent_attachments(files: &ParentFiles) -> media::ParentAttachments<'_> {
    files
        .iter()
        .flat_map(|(sheet, files)| files.iter().map(move |f| (*sheet, f)))
        .filter(|(_, f)| !f.attachments.is_empty())
        .filter_map(|(sheet, f)| Some(((sheet, f.id.as_deref()?), media::attachment_ids(f))))
        .collect()
}

/// The attachment files of the placed records of one sheet: each record's parent-tree
/// attachments (found by record id, so a changed slug moves them along), less what the media
/// step drops or replaces (the rest carried over by blob id, never read), plus what it writes;
/// paths from the repo root.
fn attachment_files(
    sheet: Sheet,
    files: &[PlacedFile<'_>],
    parent: &ParentFiles,
    plan: &mut media::Plan,
) -> AttachmentFiles {
    // Only a record the parent gave attachments or the media step gives some has any: a
    // sheet of tens of thousands of records looks up only those.
    let held: HashMap<&str, &ParentFile> = parent
        .get(&sheet)
        .into_iter()
        .flatten()
        .filter(|f| !f.attachments.is_empty())
        .filter_map(|f| Some((f.id.as_deref()?, f)))
        .collect();
    let mut put = of_sheet(&mut plan.put, sheet);
    let mut drop = of_sheet(&mut plan.drop, sheet);
    let mut out = AttachmentFiles::default();
    for file in files {
        let Some(id) = file.record.get("id").and_then(Value::as_str) else {
            continue;
        };
        let old = held.get(id);
        let put = put.remove(id).unwrap_or_default();
        if old.is_none() && put.is_empty() {
            continue;
        }
        let drop = drop.remove(id).unwrap_or_default();
        let folder = file
            .path
            .rsplit_once('.')
            .map_or(file.path.as_str(), |(p, _)| p);
        for (name, blob) in old.into_iter().flat_map(|f| media::named_attachments(f)) {
            let replaced = put.iter().any(|(n, _)| n == name);
            if !replaced && !drop.iter().any(|d| d == name) {
                out.kept.push((format!("{folder}/{name}"), blob.id));
            }
        }
        out.new.extend(
            put.into_iter()
                .map(|(name, bytes)| (format!("{folder}/{name}"), bytes)),
        );
    }
    out
}

/// The media step's entries of `sheet`, taken out of `plan` and keyed by record id.
fn of_sheet<T>(plan: &mut HashMap<media::RecordKey, T>, sheet: Sheet) -> HashMap<String, T> {
    plan.extract_if(|(s, _), _| *s == sheet)
        .map(|((_, id), v)| (id, v))
        .collect()
}

/// A sheet's attachment files: those the media step writes, and those carried over.
#[derive(Default)]
struct AttachmentFiles {
    new: Vec<(String, Vec<u8>)>,
    kept: Vec<(String, sheets::ObjectId)>,
}

/// `--emit-records`: the translated records with their paths. Without a repo the paths
/// cannot be rendered (the templates live in the repo), so `path` is empty.
pub fn emit_records(run: &Run, input: &Input) -> Result<(Vec<PlacedRecord>, Report), Fatal> {
    emit_records_with(run, input, read_parent(run), InputTail::Read)
}

/// [`emit_records`] with the parent side already read ([`read_parent`]) and the rest of the
/// input perhaps still coming in.
pub fn emit_records_with(
    run: &Run,
    input: &Input,
    side: Result<Option<ParentSide>, Fatal>,
    tail: InputTail<'_>,
) -> Result<(Vec<PlacedRecord>, Report), Fatal> {
    let mut records = Vec::new();
    let Some(side) = side? else {
        let out = translate_alone(run, input, tail)?;
        for sheet in Sheet::ALL {
            for record in out.sheet(sheet) {
                records.push(PlacedRecord {
                    sheet: sheet.as_str(),
                    path: String::new(),
                    record: record.clone(),
                });
            }
        }
        return Ok((
            records,
            report(run, &out, None, BTreeMap::new(), Vec::new(), None),
        ));
    };
    let p = prepare(run, input, side, tail)?;
    let mut write_errors = Vec::new();
    for (sheet, files) in place(&p.out, &p.configs, &p.kept, &mut write_errors) {
        for f in files {
            records.push(PlacedRecord {
                sheet: sheet.as_str(),
                path: f.path,
                record: f.record.clone(),
            });
        }
    }
    let parent = Some(p.parent.base.to_string());
    Ok((
        records,
        report(run, &p.out, parent, BTreeMap::new(), write_errors, None).with_media(p.media.counts),
    ))
}

/// Translate and write one commit per changed sheet (or, with `dry_run`, compute exactly
/// what would be written and write nothing).
pub fn import(run: &Run, input: &Input) -> Result<Report, Fatal> {
    import_with(run, input, read_parent(run), InputTail::Read).map(|(report, _)| report)
}

/// What a run built and no longer needs (the translated records, the parent's files). A
/// process that ends next can `std::mem::forget` it: freeing tens of thousands of records
/// one by one only delays the exit.
pub struct Spent(#[allow(dead_code)] Box<dyn std::any::Any>);

/// [`import`] with the parent side already read ([`read_parent`]), handing back what the
/// run built ([`Spent`]) instead of freeing it; the input is checked first, so its errors
/// come before the repo's, as in [`import`]. The rest of the input (`tail`) may still be
/// coming in: the rows are translated meanwhile.
pub fn import_with(
    run: &Run,
    input: &Input,
    side: Result<Option<ParentSide>, Fatal>,
    tail: InputTail<'_>,
) -> Result<(Report, Spent), Fatal> {
    // An empty input (laddr-fetch failed and wrote nothing) or a partial one (`--resources`)
    // would otherwise wipe the missing sheets from the branch. A resource laddr-fetch closed
    // as complete with no rows is really empty upstream, not missing.
    let really_empty = |r: &translate::Resource| {
        input
            .ends()
            .get(r)
            .is_some_and(|e| e.complete && e.rows == 0)
    };
    let missing: Vec<&'static str> = translate::Resource::ALL
        .into_iter()
        .filter(|r| input.rows(*r).is_empty() && !really_empty(r))
        .map(translate::Resource::name)
        .collect();
    if !missing.is_empty() && !run.allow_missing_resources {
        return Err(Fatal::MissingResources(missing));
    }
    // Rows laddr-fetch lost (or left out with --limit) are not rows deleted upstream: the
    // snapshot would delete their records.
    let incomplete = incomplete(input);
    if !incomplete.is_empty() && !run.allow_incomplete {
        return Err(Fatal::Incomplete(incomplete));
    }
    let (report, spent) = write(run, input, side?, tail)?;
    Ok((report.with_incomplete(incomplete), spent))
}

fn write(
    run: &Run,
    input: &Input,
    side: Option<ParentSide>,
    tail: InputTail<'_>,
) -> Result<(Report, Spent), Fatal> {
    let Some(side) = side else {
        let out = translate_alone(run, input, tail)?;
        let report = report(run, &out, None, BTreeMap::new(), Vec::new(), None);
        return Ok((report, Spent(Box::new(out))));
    };
    let Prepared {
        repo,
        parent,
        configs,
        out,
        kept,
        parent_files,
        media: mut plan,
    } = prepare(run, input, side, tail)?;
    let mut write_errors = Vec::new();
    let mut placed = place(&out, &configs, &kept, &mut write_errors);
    let bytes = take_bytes(&mut placed);
    let tree = repo.tree_of(parent.base)?;
    let closure = Closure::read(&repo, tree, &configs)?;
    let Kept {
        records: kept_records,
        files: kept_files,
    } = kept;
    let parent_id = parent.base.to_string();
    // Nothing is written that references a record the snapshot does not hold. The check
    // reads the placed records on another core while the trees are built and hashed in
    // memory; only then is anything written.
    let (sheets_out, tip) = std::thread::scope(|s| {
        let check = s.spawn(|| closure.dangling(&placed, &kept_records));
        let built = Sheets {
            run,
            repo: &repo,
            configs: &configs,
            out: &out,
            kept_records: &kept_records,
            parent_files: &parent_files,
        }
        .build(parent, &placed, bytes, kept_files, &mut plan);
        let dangling = check
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        if !dangling.is_empty() {
            return Err(Fatal::Dangling(dangling));
        }
        let (tx, sheets_out) = built?;
        let tip = if run.dry_run || tx.commits().is_empty() {
            None
        } else {
            tx.finish()?.new.map(|c| c.to_string())
        };
        Ok((sheets_out, tip))
    })?;
    let no_changes = !run.dry_run && tip.is_none();
    let report = report(run, &out, Some(parent_id), sheets_out, write_errors, tip)
        .with_no_changes(no_changes)
        .with_media(plan.counts);
    drop(placed);
    let spent = (out, parent_files, kept_records, repo);
    Ok((report, Spent(Box::new(spent))))
}

/// Each placed file's bytes, taken out by sheet in the files' order (the check reads the
/// records while the bytes go into the trees).
fn take_bytes(placed: &mut BTreeMap<Sheet, Vec<PlacedFile<'_>>>) -> BTreeMap<Sheet, Vec<Vec<u8>>> {
    placed
        .iter_mut()
        .map(|(sheet, files)| {
            let bytes = files.iter_mut().map(|f| std::mem::take(&mut f.bytes));
            (*sheet, bytes.collect())
        })
        .collect()
}

/// What the per-sheet commits are made from.
struct Sheets<'a> {
    run: &'a Run,
    repo: &'a DataRepo,
    configs: &'a [(Sheet, SheetConfig)],
    out: &'a Output,
    kept_records: &'a [kept::KeptRecord],
    parent_files: &'a ParentFiles,
}

impl<'a> Sheets<'a> {
    /// One snapshot commit per owned sheet on top of `parent` (in memory until the
    /// transaction is finished), with what happened to each sheet.
    fn build(
        &self,
        parent: sheets::Parent,
        placed: &BTreeMap<Sheet, Vec<PlacedFile<'_>>>,
        mut bytes: BTreeMap<Sheet, Vec<Vec<u8>>>,
        mut kept_files: BTreeMap<Sheet, Vec<(String, sheets::ObjectId)>>,
        plan: &mut media::Plan,
    ) -> Result<(Transaction<'a>, BTreeMap<String, SheetResult>), Fatal> {
        let mut tx = Transaction::begin(self.repo, parent)?;
        if let Some(sig) = &self.run.signature {
            tx = tx.with_signature(sig.clone());
        }
        let mut sheets_out = BTreeMap::new();
        for (sheet, config) in self.configs {
            let files = placed.get(sheet).map_or(&[][..], Vec::as_slice);
            let file_bytes = bytes.remove(sheet).unwrap_or_default();
            let mut carried = kept_files.remove(sheet).unwrap_or_default();
            let attachments = attachment_files(*sheet, files, self.parent_files, plan);
            carried.extend(attachments.kept);
            let count = files.len()
                + self
                    .kept_records
                    .iter()
                    .filter(|k| k.sheet == *sheet)
                    .count();
            let before = tx.tip_tree();
            let root_prefix = format!("{}/", config.root);
            let relative = |path: String| {
                path.strip_prefix(&root_prefix)
                    .map(str::to_owned)
                    .unwrap_or(path)
            };
            let new = files
                .iter()
                .map(|f| f.path.clone())
                .zip(file_bytes)
                .chain(attachments.new);
            tx.edit().replace_dir_with(
                &config.root,
                new.map(|(path, bytes)| (relative(path), bytes)),
                carried.into_iter().map(|(path, id)| (relative(path), id)),
            )?;
            let after = tx.edit().write()?;
            let changes: FileChanges = tx.edit().diff(Some(before), Some(after), &config.root)?;
            let commit = tx.commit(&self.commit_spec(*sheet, &changes))?;
            sheets_out.insert(
                sheet.as_str().to_owned(),
                SheetResult {
                    commit: commit.filter(|_| !self.run.dry_run).map(|c| c.to_string()),
                    files: count,
                    added: changes.added.len(),
                    modified: changes.modified.len(),
                    deleted: changes.deleted.len(),
                },
            );
        }
        Ok((tx, sheets_out))
    }

    /// The commit of one sheet's snapshot: the reference's message and trailers.
    fn commit_spec(&self, sheet: Sheet, changes: &FileChanges) -> CommitSpec {
        let run = self.run;
        let c = self.out.counts.get(sheet);
        CommitSpec::new(format!(
            "import({name}): snapshot from {host} ({at})\n\n{imported} {name} imported, {skipped} skipped, {errors} failed validation; \
             {added} files added, {modified} modified, {deleted} deleted.",
            name = sheet.as_str(),
            host = run.source_host,
            at = run.run_at,
            imported = c.imported,
            skipped = c.skipped,
            errors = c.errors,
            added = changes.added.len(),
            modified = changes.modified.len(),
            deleted = changes.deleted.len(),
        ))
        .trailer("Action", "import.laddr.json")
        .trailer("Source-Host", run.source_host.clone())
        .trailer("Run-At", run.run_at.clone())
        .trailer("Sheet", sheet.as_str())
    }
}

impl Report {
    fn with_media(mut self, media: BTreeMap<String, MediaCounts>) -> Self {
        self.media = media;
        self
    }

    fn with_no_changes(mut self, no_changes: bool) -> Self {
        self.no_changes = no_changes;
        self
    }

    /// Record resources imported although incomplete, first among the warnings.
    fn with_incomplete(mut self, incomplete: Vec<Incomplete>) -> Self {
        let warned = incomplete.iter().map(|i| {
            format!(
                "incomplete input imported (--allow-incomplete): {i}; this snapshot deletes the \
                 records of its missing rows"
            )
        });
        self.warnings.splice(0..0, warned);
        self.incomplete = incomplete;
        self
    }
}

fn report(
    run: &Run,
    out: &Output,
    parent: Option<String>,
    sheets: BTreeMap<String, SheetResult>,
    write_errors: Vec<String>,
    commit: Option<String>,
) -> Report {
    let mut warnings = out.warnings.clone();
    warnings.extend(write_errors.iter().cloned());
    Report {
        run_at: run.run_at.clone(),
        source_host: run.source_host.clone(),
        branch: run.branch.clone(),
        counts: out.counts.clone(),
        warnings,
        commit_hash: commit,
        no_changes: false,
        dry_run: run.dry_run,
        parent,
        sheets,
        write_errors,
        problems: out.problems.len(),
        media: BTreeMap::new(),
        incomplete: Vec::new(),
        kept_stale: out.kept_stale.clone(),
        merges: out.merges.clone(),
        slug_changes: out.slug_changes.clone(),
    }
}

/// The human summary, in the reference's layout.
pub fn summary(report: &Report) -> String {
    let mut s = String::new();
    s.push_str("=== sheet-write report ===\n");
    s.push_str(&format!("runAt:       {}\n", report.run_at));
    s.push_str(&format!("sourceHost:  {}\n", report.source_host));
    s.push_str(&format!("branch:      {}\n", report.branch));
    for sheet in Sheet::ALL {
        let (sheet, c) = (sheet.as_str(), report.counts.get(sheet));
        let files = report
            .sheets
            .get(sheet)
            .map(|r| {
                format!(
                    "  files +{} ~{} -{}{}",
                    r.added,
                    r.modified,
                    r.deleted,
                    r.commit
                        .as_ref()
                        .map(|c| format!("  commit {}", &c[..12.min(c.len())]))
                        .unwrap_or_default()
                )
            })
            .unwrap_or_default();
        s.push_str(&format!(
            "  {sheet:<22} imported={} skipped={} errors={}{files}\n",
            c.imported, c.skipped, c.errors
        ));
    }
    if !report.incomplete.is_empty() {
        s.push_str(&format!(
            "!!! INCOMPLETE INPUT imported with --allow-incomplete: {}\n!!! the records of the rows laddr-fetch missed are deleted by this snapshot\n",
            list(&report.incomplete)
        ));
    }
    if !report.kept_stale.is_empty() {
        s.push_str(&format!(
            "kept stale (row failed, parent record kept): {}\n",
            report.kept_stale.len()
        ));
    }
    for c in &report.slug_changes {
        s.push_str(&format!(
            "slug change [{}] legacyId={}: {} → {}\n",
            c.sheet, c.legacy_id, c.old, c.new
        ));
    }
    s.push_str(&format!("warnings: {}\n", report.warnings.len()));
    for w in report.warnings.iter().take(25) {
        s.push_str(&format!("  {w}\n"));
    }
    if report.warnings.len() > 25 {
        s.push_str(&format!("  ... ({} more)\n", report.warnings.len() - 25));
    }
    if report.dry_run {
        s.push_str("(dry-run: no writes performed)\n");
    } else if report.no_changes {
        s.push_str("(no changes from parent commit — branch unchanged)\n");
    } else if let Some(c) = &report.commit_hash {
        s.push_str(&format!("commit: {c} on {}\n", report.branch));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn incomplete_names_each_resource_with_its_counts() {
        let text = concat!(
            "{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n",
            "{\"v\":1,\"resource\":\"tags\",\"end\":{\"rows\":1,\"total\":1,\"complete\":true}}\n",
            "{\"v\":1,\"resource\":\"people\",\"row\":{\"ID\":10}}\n",
            "{\"v\":1,\"resource\":\"people\",\"end\":{\"rows\":1,\"total\":3,\"complete\":false}}\n",
            "{\"v\":1,\"resource\":\"projects\",\"end\":{\"rows\":0,\"total\":null,\"complete\":false}}\n",
            "{\"v\":1,\"resource\":\"blog\",\"row\":{\"ID\":5}}\n",
        );
        let input = Input::read(text.as_bytes()).unwrap();
        let found = incomplete(&input);
        assert_eq!(
            list(&found),
            "people (1 of 3 rows), projects (0 rows, server total unknown), \
             blog (1 rows and no end line: the input was cut short)"
        );
        // Hand-made input without end lines is whole.
        let plain = Input::read("{\"v\":1,\"resource\":\"tags\",\"row\":{\"ID\":1}}\n".as_bytes());
        assert!(incomplete(&plain.unwrap()).is_empty());
    }
}
