//! The translator (B §2): laddr rows → per-sheet records, counts, warnings and problems.

use std::collections::BTreeMap;
use std::collections::hash_map::Entry;

use foldhash::{HashMap, HashMapExt};

mod integrity;

pub use integrity::{KeptStale, Merge, SlugChange};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::blog::{self, MediaAsset};
use crate::ids::{IdSource, ReadForward};
use crate::input::{Input, Resource};
use crate::js;
use crate::pii::{self, PiiPolicy};
use crate::sheet::Sheet;
use crate::slug::SlugRegistry;
use crate::time::epoch_to_iso_or;
use crate::urls;
use crate::validate;

/// A translated record: flat JSON, absent fields omitted, integers as JSON integers.
pub type Record = Map<String, Value>;

/// Run options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The run timestamp (`YYYY-MM-DDTHH:MM:SS.mmmZ`): the fallback for missing `Created`.
    pub now: String,
    /// How private-looking fields are handled.
    pub pii: PiiPolicy,
}

impl Options {
    /// Options for a run at `now`, with the default PII policy.
    pub fn new(now: impl Into<String>) -> Options {
        Options {
            now: now.into(),
            pii: PiiPolicy::default(),
        }
    }
}

/// `{imported, skipped, errors}` of one sheet (B §5).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Count {
    /// Passed validation and the PII guard (= records in the output).
    pub imported: u64,
    /// Not translated: empty handle, unresolved FK, translator error, duplicate input row,
    /// a tag merged into another, or a duplicate relation collapsed into an earlier one.
    pub skipped: u64,
    /// Failed validation or was refused by the PII guard.
    pub errors: u64,
    /// Of the skipped and failed rows, those whose record the parent tree holds: that record
    /// is kept byte for byte instead of being deleted. Serialised only when non-zero, so the
    /// counts keep the reference's shape otherwise.
    #[serde(skip_serializing_if = "is_zero")]
    pub kept_stale: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Counts of all eight sheets; serialises as an object in [`Sheet::ALL`] order.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Counts([Count; 8]);

impl Counts {
    /// The count of one sheet.
    pub fn get(&self, sheet: Sheet) -> Count {
        self.0[sheet.index()]
    }
    fn at(&mut self, sheet: Sheet) -> &mut Count {
        &mut self.0[sheet.index()]
    }
}

impl Serialize for Counts {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let mut m = s.serialize_map(Some(8))?;
        for sheet in Sheet::ALL {
            m.serialize_entry(sheet.as_str(), &self.get(sheet))?;
        }
        m.end()
    }
}

/// What kind of problem made a record fail (each one makes `sheet-write` exit 1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ProblemKind {
    /// Failed the Zod-equivalent validation (counted in `errors`).
    Validation,
    /// Refused by the PII guard (counted in `errors`).
    Pii,
    /// The translator could not translate the row (counted in `skipped`): an invalid slug,
    /// a timestamp out of range, a field of the wrong JSON type.
    Translator,
    /// The row has no integer `ID` (counted in `skipped`).
    InvalidRow,
}

/// A record that was not written for an error. `message` is also in `warnings`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Problem {
    /// The sheet the record belongs to.
    pub sheet: Sheet,
    /// What went wrong.
    pub kind: ProblemKind,
    /// The row's laddr ID, when it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub legacy_id: Option<i64>,
    /// The read-forward key (`people/2938`, `project-memberships/100-10`, …).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The input line, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// The warning, in the reference's format.
    pub message: String,
}

/// A person's laddr photo, for the (later) avatar step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AvatarRef {
    /// The person's laddr ID.
    pub legacy_id: i64,
    /// The person's slug.
    pub slug: String,
    /// laddr's media ID of the photo.
    pub primary_photo_id: u64,
}

/// Everything one translation produced.
#[derive(Debug, Default, Clone)]
pub struct Output {
    /// Records per sheet (every sheet present, maybe empty), each sheet in processing order.
    pub records: BTreeMap<Sheet, Vec<Record>>,
    /// Per-sheet counts in the reference's `ImportReport` shape.
    pub counts: Counts,
    /// Every warning in the reference's formats (B §2.11), in processing order. Includes
    /// the messages of `problems`, as the reference lists Zod failures among warnings.
    pub warnings: Vec<String>,
    /// Records not written because of an error (exit 1 when non-empty).
    pub problems: Vec<Problem>,
    /// Media referenced by the written blog posts (placeholders `cfp-media:<id>` in bodies).
    pub media: Vec<MediaAsset>,
    /// Written people with a `PrimaryPhotoID`.
    pub avatars: Vec<AvatarRef>,
    /// Rows that failed but whose record the parent tree holds: the writer keeps that record
    /// (and, for people and projects, their tag-assignments and memberships) byte for byte.
    pub kept_stale: Vec<KeptStale>,
    /// laddr rows resolved to one record (tags sharing a namespace/slug).
    pub merges: Vec<Merge>,
    /// Existing records whose slug changed (their own source field changed).
    pub slug_changes: Vec<SlugChange>,
}

impl Output {
    /// The records of one sheet.
    pub fn sheet(&self, sheet: Sheet) -> &[Record] {
        self.records.get(&sheet).map_or(&[], Vec::as_slice)
    }

    /// True when any record failed for an error (validation, PII, translator, invalid row).
    pub fn has_errors(&self) -> bool {
        !self.problems.is_empty()
    }

    /// The records keyed by sheet name, the shape [`crate::build_read_forward`] takes
    /// (for tests that re-run on their own output).
    pub fn as_existing(&self) -> BTreeMap<String, Vec<Record>> {
        self.records
            .iter()
            .map(|(s, r)| (s.as_str().to_owned(), r.clone()))
            .collect()
    }
}

/// Translate all rows (B §2), in the processing order of §2.0 whatever the input order.
pub fn translate(
    input: &Input,
    opts: &Options,
    read_forward: &ReadForward,
    ids: &mut dyn IdSource,
) -> Output {
    let mut tx = Tx {
        opts,
        rf: read_forward,
        ids,
        slugs: SlugRegistry::default(),
        out: Output::default(),
        records: Default::default(),
        person: HashMap::new(),
        project: HashMap::new(),
        tag: HashMap::new(),
        next_update_number: HashMap::new(),
        update_numbers: HashMap::new(),
        seen_keys: HashMap::new(),
        planned: HashMap::new(),
        tag_candidates: Vec::new(),
        row_key: String::new(),
        row_failure: None,
    };
    tx.each(input, Resource::Tags, Sheet::Tags, Tx::tag_row);
    tx.resolve_tags();
    tx.plan_slugs(input, Resource::People, Sheet::People);
    tx.each(input, Resource::People, Sheet::People, Tx::person_row);
    tx.plan_slugs(input, Resource::Projects, Sheet::Projects);
    tx.each(input, Resource::Projects, Sheet::Projects, Tx::project_row);
    tx.each(
        input,
        Resource::ProjectUpdates,
        Sheet::ProjectUpdates,
        Tx::update_row,
    );
    tx.plan_slugs(input, Resource::ProjectBuzz, Sheet::ProjectBuzz);
    tx.each(
        input,
        Resource::ProjectBuzz,
        Sheet::ProjectBuzz,
        Tx::buzz_row,
    );
    tx.plan_slugs(input, Resource::Blog, Sheet::BlogPosts);
    tx.each(input, Resource::Blog, Sheet::BlogPosts, Tx::blog_row);
    let mut out = tx.out;
    for (sheet, recs) in Sheet::ALL.into_iter().zip(tx.records) {
        out.records
            .insert(sheet, recs.into_iter().flatten().collect());
    }
    out
}

/// A row-level failure: the message goes after `translator threw: `.
type RowResult = Result<(), String>;

struct Tx<'a> {
    opts: &'a Options,
    rf: &'a ReadForward,
    ids: &'a mut dyn IdSource,
    slugs: SlugRegistry,
    out: Output,
    /// `None` marks a record overwritten by a later one on the same key.
    records: [Vec<Option<Record>>; 8],
    /// laddr person ID → (uuid, slug); filled before validation, as the reference does.
    person: HashMap<i64, (String, String)>,
    project: HashMap<i64, (String, String)>,
    /// laddr tag ID → (uuid, laddr ID) of the tag it resolved to (itself, or its merge
    /// survivor). Only written or kept tags are in it.
    tag: HashMap<i64, (String, i64)>,
    next_update_number: HashMap<String, i64>,
    /// (project uuid, number) → the laddr ID of the update holding it.
    update_numbers: HashMap<(String, String), i64>,
    /// (sheet, relation key) → who holds it, for collapsing duplicate relations.
    seen_keys: HashMap<(Sheet, String), String>,
    /// The planned slug of each row of the sheet being translated ([`crate::plan`]).
    planned: crate::plan::Plan,
    /// Tag rows awaiting the merge of rows sharing a namespace/slug.
    tag_candidates: Vec<integrity::TagCandidate>,
    /// The read-forward key of the row being translated, and why it failed, if it did.
    row_key: String,
    row_failure: Option<String>,
}

/// How a record names itself in messages.
struct Who {
    legacy_id: Option<i64>,
    key: String,
    line: Option<u64>,
}

impl Who {
    fn label(&self) -> String {
        match self.legacy_id {
            Some(l) => format!("legacyId={l}"),
            // Every relation a run accepts is labelled (for its dedupe): no format machinery.
            None => ["key=", &self.key].concat(),
        }
    }
}

/// JS template-literal rendering of a value in warnings (`${v}`).
fn disp(v: Option<&Value>) -> String {
    match v {
        None => "undefined".to_owned(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    }
}

/// A laddr ID: a JSON integer (or an integral float).
fn legacy(v: Option<&Value>) -> Option<i64> {
    let n = v?.as_number()?;
    n.as_i64().or_else(|| {
        let f = n.as_f64()?;
        (f.fract() == 0.0 && f.abs() < 9.0e15).then_some(f as i64)
    })
}

/// `nonEmptyStr(row[key])`: missing/null → None, else JS-trimmed, empty → None. A value of
/// another JSON type is an error (the reference's `.trim()` would throw on it).
fn text(row: &Map<String, Value>, key: &str) -> Result<Option<String>, String> {
    match row.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let t = js::trim(s);
            Ok((!t.is_empty()).then(|| t.to_owned()))
        }
        Some(v) => Err(format!(
            "{key}: expected a string, received {}",
            type_name(v)
        )),
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn put(r: &mut Record, k: &str, v: impl Into<Value>) {
    r.insert(k.to_owned(), v.into());
}

fn put_opt(r: &mut Record, k: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        r.insert(k.to_owned(), v.into());
    }
}

/// Cut `s` to `max` UTF-16 units; returns the original length when cut.
fn cut(s: String, max: usize) -> (String, Option<usize>) {
    if s.len() <= max {
        return (s, None); // never more UTF-16 units than UTF-8 bytes
    }
    let n = js::utf16_len(&s);
    if n > max {
        (js::utf16_prefix(&s, max).to_owned(), Some(n))
    } else {
        (s, None)
    }
}

fn map_account_level(raw: &str) -> &'static str {
    match js::to_lower(raw).as_str() {
        "administrator" | "developer" => "administrator",
        "staff" | "editor" | "manager" => "staff",
        _ => "user",
    }
}

impl Tx<'_> {
    /// The `now` fallback for a record: the `createdAt` it already has in the parent tree
    /// when there is one (so a missing laddr timestamp does not churn the file on every
    /// run, B §3), else the run clock.
    fn now_for(&self, key: &str) -> &str {
        self.rf.created_at(key).unwrap_or(&self.opts.now)
    }

    fn warn(&mut self, w: String) {
        self.out.warnings.push(w);
    }

    fn id_for(&mut self, key: &str) -> String {
        self.rf.id_for(key, &mut *self.ids)
    }

    fn problem(&mut self, sheet: Sheet, kind: ProblemKind, who: &Who, message: String) {
        self.out.warnings.push(message.clone());
        self.out.problems.push(Problem {
            sheet,
            kind,
            legacy_id: who.legacy_id,
            key: Some(who.key.clone()),
            line: who.line,
            message,
        });
    }

    /// Run `f` on each row of `resource`; rows without an ID, repeated IDs and row-level
    /// failures are counted as skipped and reported.
    fn each(
        &mut self,
        input: &Input,
        resource: Resource,
        sheet: Sheet,
        f: fn(&mut Self, &Map<String, Value>, i64, &Who) -> RowResult,
    ) {
        let mut seen: HashMap<i64, Option<u64>> = HashMap::new();
        crate::ahead::for_each_parsed(input.rows(resource), |row, parsed| {
            self.one_row(sheet, f, &mut seen, row.line, parsed);
        });
    }

    /// One row of [`Self::each`], `parsed` from its text; `seen` holds the IDs before it.
    fn one_row(
        &mut self,
        sheet: Sheet,
        f: fn(&mut Self, &Map<String, Value>, i64, &Who) -> RowResult,
        seen: &mut HashMap<i64, Option<u64>>,
        line: Option<u64>,
        parsed: &crate::ahead::Parsed,
    ) {
        let id = parsed.as_ref().ok().and_then(|r| legacy(r.get("ID")));
        let (Ok(row), Some(id)) = (parsed, id) else {
            self.out.counts.at(sheet).skipped += 1;
            let at = line.map_or(String::new(), |l| format!(" (input line {l})"));
            let what = match parsed {
                Err(e) => format!("row is not a JSON object we can read ({e})"),
                Ok(_) => "row without an integer ID".to_owned(),
            };
            let who = Who {
                legacy_id: None,
                key: format!("{sheet}/?"),
                line,
            };
            let msg = format!("[{sheet}] {what}{at}; skipped");
            self.problem(sheet, ProblemKind::InvalidRow, &who, msg);
            return;
        };
        if let Some(first) = seen.insert(id, line) {
            self.out.counts.at(sheet).skipped += 1;
            let at = first.map_or(String::new(), |l| format!(" (first on input line {l})"));
            self.warn(format!(
                "[{sheet}] legacyId={id} duplicate row in input{at}; skipped"
            ));
            return;
        }
        let who = Who {
            legacy_id: Some(id),
            key: format!("{sheet}/{id}"),
            line,
        };
        self.row_key.clone_from(&who.key);
        self.row_failure = None;
        if let Err(msg) = f(self, row, id, &who) {
            self.row_threw(sheet, &who, &msg);
            self.row_failure = Some(format!("translator threw: {msg}"));
        }
        if let Some(reason) = self.row_failure.take() {
            self.failed_row(sheet, &who, reason);
        }
    }

    fn row_threw(&mut self, sheet: Sheet, who: &Who, msg: &str) {
        self.out.counts.at(sheet).skipped += 1;
        let message = format!("[{sheet}] {} translator threw: {msg}", who.label());
        self.problem(sheet, ProblemKind::Translator, who, message);
    }

    /// Validate, guard and store a record. `dedupe` is a key on which a later record
    /// overwrites an earlier one (as the reference's same-path upsert does), reported.
    fn accept(&mut self, sheet: Sheet, rec: Record, who: &Who, dedupe: Option<String>) -> bool {
        let issues = validate::validate(sheet, &rec);
        if !issues.is_empty() {
            self.out.counts.at(sheet).errors += 1;
            let msg = validate::failure_message(sheet, &who.label(), &issues);
            self.fail_row(who, "failed validation");
            self.problem(sheet, ProblemKind::Validation, who, msg);
            return false;
        }
        if let Some(f) = pii::scan(&rec, self.opts.pii) {
            self.out.counts.at(sheet).errors += 1;
            self.fail_row(who, "refused by the pii guard");
            let msg = format!(
                "[{sheet}] pii guard refused {}: field \"{}\" contains {} ({}); not written",
                who.label(),
                f.field,
                f.what,
                f.sample
            );
            self.problem(sheet, ProblemKind::Pii, who, msg);
            return false;
        }
        if self.opts.pii.emails && !self.opts.pii.free_text_emails {
            for (field, sample) in pii::free_text_emails(&rec) {
                self.warn(format!(
                    "[{sheet}] {} field \"{field}\" contains an email-like address ({sample}); kept (free text)",
                    who.label()
                ));
            }
        }
        // Duplicate relations (a membership pair, an assignment triple) collapse into the
        // first one in processing order: the relation is kept, nothing is overwritten.
        if let Some(key) = dedupe {
            match self.seen_keys.entry((sheet, key)) {
                Entry::Occupied(first) => {
                    let msg = format!(
                        "[{sheet}] {} is the same {} as {}; collapsed into the first",
                        who.label(),
                        first.key().1,
                        first.get()
                    );
                    self.out.counts.at(sheet).skipped += 1;
                    self.warn(msg);
                    return true;
                }
                Entry::Vacant(slot) => {
                    slot.insert(who.label());
                }
            }
        }
        self.note_slug_change(sheet, who, &rec);
        self.out.counts.at(sheet).imported += 1;
        self.records[sheet.index()].push(Some(rec));
        true
    }

    // ---- tags (B §2.1) ------------------------------------------------------------------

    fn tag_row(&mut self, row: &Map<String, Value>, id: i64, who: &Who) -> RowResult {
        let Some(handle) = text(row, "Handle")? else {
            self.out.counts.at(Sheet::Tags).skipped += 1;
            self.warn(format!("[tags] legacyId={id} has empty handle; skipped"));
            self.fail_row(who, "empty handle");
            return Ok(());
        };
        let title = text(row, "Title")?;
        let (namespace, split_slug) =
            split_tag_handle(&handle, title.as_deref(), id, &mut self.out.warnings);
        let slug = sanitize_tag_slug(&split_slug);
        if slug.is_empty() {
            self.out.counts.at(Sheet::Tags).skipped += 1;
            self.warn(format!(
                "[tags] legacyId={id} slug \"{split_slug}\" reduced to empty after sanitization; skipped"
            ));
            self.fail_row(who, "empty slug after sanitization");
            return Ok(());
        }
        let uuid = self.id_for(&format!("tags/{id}"));
        let created = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
        let mut r = Record::new();
        put(&mut r, "id", uuid);
        put(&mut r, "legacyId", id);
        put(&mut r, "namespace", namespace);
        put(&mut r, "title", title.unwrap_or_else(|| slug.clone()));
        put(&mut r, "createdAt", created.clone());
        put(&mut r, "updatedAt", created);
        let key = format!("{namespace}/{}", slug);
        put(&mut r, "slug", slug);
        // Accepted once every row of its namespace/slug is known (`resolve_tags`).
        self.tag_candidates.push(integrity::TagCandidate {
            who: Who {
                legacy_id: who.legacy_id,
                key: who.key.clone(),
                line: who.line,
            },
            id,
            path_key: key,
            carries_namespace: namespace_of(&handle).is_some(),
            record: r,
        });
        Ok(())
    }

    // ---- people (B §2.2) ----------------------------------------------------------------

    fn person_row(&mut self, row: &Map<String, Value>, id: i64, who: &Who) -> RowResult {
        let username = text(row, "Username")?.unwrap_or_else(|| format!("legacy-{id}"));
        let slug = self.planned_slug(id)?;
        let uuid = self.id_for(&format!("people/{id}"));
        self.person.insert(id, (uuid.clone(), slug.clone()));

        let first = text(row, "FirstName")?;
        let last = text(row, "LastName")?;
        let computed: Vec<&str> = [first.as_deref(), last.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let computed = computed.join(" ");
        let full_raw = match text(row, "PreferredName")? {
            Some(p) => p,
            None if !computed.is_empty() => computed,
            None => username.clone(),
        };
        let (full_name, cut_from) = cut(full_raw, 120);
        if let Some(n) = cut_from {
            self.warn(format!(
                "[people] legacyId={id} fullName truncated from {n} to 120 chars"
            ));
        }
        let level = map_account_level(&text(row, "AccountLevel")?.unwrap_or_else(|| "User".into()));
        let created = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
        let updated = epoch_to_iso_or(row.get("Modified"), &created)?;
        let bio = match text(row, "About")? {
            Some(b) => {
                let (b, cut_from) = cut(b, 10_000);
                if let Some(n) = cut_from {
                    self.warn(format!(
                        "[people] legacyId={id} bio truncated from {n} to 10000 chars"
                    ));
                }
                Some(b)
            }
            None => None,
        };

        let mut r = Record::new();
        put(&mut r, "id", uuid.clone());
        put(&mut r, "legacyId", id);
        put(&mut r, "slug", slug.clone());
        put(&mut r, "fullName", full_name);
        put_opt(&mut r, "firstName", first);
        put_opt(&mut r, "lastName", last);
        put_opt(&mut r, "bio", bio);
        put(&mut r, "accountLevel", level);
        put(&mut r, "slackSamlNameId", slug.clone());
        put(&mut r, "createdAt", created);
        put(&mut r, "updatedAt", updated);
        if !self.accept(Sheet::People, r, who, None) {
            return Ok(());
        }
        if let Some(photo) = row.get("PrimaryPhotoID").and_then(Value::as_u64) {
            self.out.avatars.push(AvatarRef {
                legacy_id: id,
                slug,
                primary_photo_id: photo,
            });
        }
        for t in embedded(row, "Tags") {
            self.tag_assignment(t, "person", id, &uuid);
        }
        Ok(())
    }

    // ---- projects (B §2.3) --------------------------------------------------------------

    fn project_row(&mut self, row: &Map<String, Value>, id: i64, who: &Who) -> RowResult {
        let slug = self.planned_slug(id)?;
        let uuid = self.id_for(&format!("projects/{id}"));
        self.project.insert(id, (uuid.clone(), slug.clone()));

        let created = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
        let updated = epoch_to_iso_or(row.get("Modified"), &created)?;
        let maintainer_legacy = row.get("MaintainerID").filter(|v| v.is_number());
        let maintainer_legacy_id = legacy(maintainer_legacy);
        let mut maintainer_id = None;
        if let Some(m) = maintainer_legacy {
            match maintainer_legacy_id.and_then(|l| self.person.get(&l)) {
                Some((pid, _)) => maintainer_id = Some(pid.clone()),
                None => self.warn(format!(
                    "[projects] legacyId={id} MaintainerID={} not found among imported people",
                    disp(Some(m))
                )),
            }
        }
        let (title, cut_from) = cut(text(row, "Title")?.unwrap_or_else(|| slug.clone()), 200);
        if let Some(n) = cut_from {
            self.warn(format!(
                "[projects] legacyId={id} title truncated from {n} to 200 chars"
            ));
        }
        let overview = text(row, "README")?;
        let stage = match text(row, "Stage")? {
            None => "commenting",
            Some(raw) => {
                let lower = js::to_lower(&raw);
                match crate::validate::STAGES.iter().find(|s| **s == lower) {
                    Some(s) => s,
                    None => {
                        self.warn(format!(
                            "[projects] legacyId={id} stage \"{raw}\" not recognized; defaulting to \"commenting\""
                        ));
                        "commenting"
                    }
                }
            }
        };
        let users_url = text(row, "UsersUrl")?.and_then(|u| urls::https_only(&u));
        let developers_url = text(row, "DevelopersUrl")?.and_then(|u| urls::https_only(&u));
        let chat = text(row, "ChatChannel")?.and_then(|c| urls::chat_channel(&c));

        let mut r = Record::new();
        put(&mut r, "id", uuid.clone());
        put(&mut r, "legacyId", id);
        put(&mut r, "slug", slug);
        put(&mut r, "title", title);
        put_opt(&mut r, "overview", overview);
        put(&mut r, "stage", stage);
        put_opt(&mut r, "maintainerId", maintainer_id);
        put_opt(&mut r, "usersUrl", users_url);
        put_opt(&mut r, "developersUrl", developers_url);
        put_opt(&mut r, "chatChannel", chat);
        put(&mut r, "featured", false);
        put(&mut r, "createdAt", created);
        put(&mut r, "updatedAt", updated);
        if !self.accept(Sheet::Projects, r, who, None) {
            return Ok(());
        }
        for t in embedded(row, "Tags") {
            self.tag_assignment(t, "project", id, &uuid);
        }
        for m in embedded(row, "Memberships") {
            self.membership(m, maintainer_legacy_id);
        }
        Ok(())
    }

    // ---- project-memberships (B §2.4) ---------------------------------------------------

    fn membership(&mut self, m: &Value, maintainer: Option<i64>) {
        let sheet = Sheet::ProjectMemberships;
        let empty = Map::new();
        let row = m.as_object().unwrap_or(&empty);
        let (p_raw, m_raw) = (row.get("ProjectID"), row.get("MemberID"));
        let (p, person) = (legacy(p_raw), legacy(m_raw));
        let resolved = match (p, person) {
            (Some(p), Some(person)) => self
                .project
                .get(&p)
                .cloned()
                .zip(self.person.get(&person).cloned())
                .map(|(proj, pers)| (p, person, proj, pers)),
            _ => None,
        };
        let Some((p, person, (project_id, project_slug), (person_id, person_slug))) = resolved
        else {
            self.out.counts.at(sheet).skipped += 1;
            self.warn(format!(
                "[project-memberships] project={} person={} — unresolved FK; skipped",
                disp(p_raw),
                disp(m_raw)
            ));
            return;
        };
        let pair = format!("{p}-{person}");
        let who = Who {
            legacy_id: None,
            key: format!("{sheet}/{pair}"),
            line: None,
        };
        let result = (|| -> Result<Record, String> {
            let joined = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
            let role = text(row, "Role")?;
            let mut r = Record::new();
            put(&mut r, "id", self.id_for(&who.key));
            put(&mut r, "projectId", project_id.clone());
            put(&mut r, "personId", person_id.clone());
            put_opt(&mut r, "role", role);
            put(&mut r, "isMaintainer", maintainer == Some(person));
            put(&mut r, "joinedAt", joined.clone());
            put(&mut r, "createdAt", joined.clone());
            put(&mut r, "updatedAt", joined);
            put(&mut r, "projectSlug", project_slug);
            put(&mut r, "personSlug", person_slug);
            Ok(r)
        })();
        match result {
            Ok(r) => {
                self.accept(
                    sheet,
                    r,
                    &who,
                    Some(format!("membership project={p} person={person}")),
                );
            }
            Err(msg) => self.row_threw(sheet, &who, &msg),
        }
    }

    // ---- tag-assignments (B §2.7) -------------------------------------------------------

    fn tag_assignment(&mut self, t: &Value, kind: &str, taggable: i64, taggable_id: &str) {
        let sheet = Sheet::TagAssignments;
        let t_raw = t.get("ID");
        // A merged tag's assignments go to its survivor (and collapse with the survivor's own).
        let Some((tag_id, tag)) = legacy(t_raw).and_then(|l| self.tag.get(&l).cloned()) else {
            self.out.counts.at(sheet).skipped += 1;
            self.warn(format!(
                "[tag-assignments] tag legacyId={} not in tag map; skipped",
                disp(t_raw)
            ));
            return;
        };
        let triple = format!("{tag}-{kind}-{taggable}");
        let who = Who {
            legacy_id: None,
            key: format!("{sheet}/{triple}"),
            line: None,
        };
        let created = match epoch_to_iso_or(t.get("Created"), self.now_for(&who.key)) {
            Ok(c) => c,
            Err(msg) => return self.row_threw(sheet, &who, msg),
        };
        let mut r = Record::new();
        put(&mut r, "id", self.id_for(&who.key));
        put(&mut r, "tagId", tag_id.clone());
        put(&mut r, "taggableType", kind);
        put(&mut r, "taggableId", taggable_id);
        put(&mut r, "createdAt", created);
        self.accept(sheet, r, &who, Some(format!("assignment {triple}")));
    }

    /// The project a row's `ProjectID` names (its id and slug), or `None` after counting the
    /// row skipped with the reference's unresolved-FK warning (updates and buzz alike).
    fn project_of(
        &mut self,
        sheet: Sheet,
        row: &Map<String, Value>,
        id: i64,
    ) -> Option<(String, String)> {
        let p_raw = row.get("ProjectID");
        let found = legacy(p_raw).and_then(|p| self.project.get(&p).cloned());
        if found.is_none() {
            self.out.counts.at(sheet).skipped += 1;
            self.warn(format!(
                "[{}] legacyId={id} project={} — unresolved FK; skipped",
                sheet.as_str(),
                disp(p_raw)
            ));
        }
        found
    }

    // ---- project-updates (B §2.5) -------------------------------------------------------

    fn update_row(&mut self, row: &Map<String, Value>, id: i64, who: &Who) -> RowResult {
        let sheet = Sheet::ProjectUpdates;
        let Some((project_id, project_slug)) = self.project_of(sheet, row, id) else {
            return Ok(());
        };
        let next = self
            .next_update_number
            .entry(project_id.clone())
            .or_insert(0);
        *next += 1;
        let next = *next;
        let number = match row.get("Number") {
            Some(Value::Number(n)) if n.as_f64().is_some_and(|f| f > 0.0) => {
                Value::Number(n.clone())
            }
            _ => Value::from(next),
        };
        let author = self.resolve_person(row.get("CreatorID"));
        let created = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
        let updated = epoch_to_iso_or(row.get("Modified"), &created)?;
        let body = text(row, "Body")?.unwrap_or_else(|| "(no body)".to_owned());
        let number = self.unique_update_number(&project_id, number, id);
        let mut r = Record::new();
        put(&mut r, "id", self.id_for(&who.key));
        put(&mut r, "legacyId", id);
        put(&mut r, "projectId", project_id);
        put_opt(&mut r, "authorId", author.map(|a| a.1));
        put(&mut r, "body", body);
        put(&mut r, "number", number);
        put(&mut r, "createdAt", created);
        put(&mut r, "updatedAt", updated);
        put(&mut r, "projectSlug", project_slug);
        self.accept(sheet, r, who, None);
        Ok(())
    }

    /// `personByLegacy.get(v)` for a numeric `v`, with the legacy ID.
    fn resolve_person(&self, v: Option<&Value>) -> Option<(i64, String)> {
        let l = legacy(v.filter(|v| v.is_number()))?;
        Some((l, self.person.get(&l)?.0.clone()))
    }

    // ---- project-buzz (B §2.6) ----------------------------------------------------------

    fn buzz_row(&mut self, row: &Map<String, Value>, id: i64, who: &Who) -> RowResult {
        let sheet = Sheet::ProjectBuzz;
        let Some((project_id, project_slug)) = self.project_of(sheet, row, id) else {
            return Ok(());
        };
        let Some(url) = text(row, "URL")?.and_then(|u| urls::http_or_https(&u)) else {
            self.out.counts.at(sheet).skipped += 1;
            self.warn(format!(
                "[project-buzz] legacyId={id} missing/invalid URL; skipped"
            ));
            self.fail_row(who, "missing/invalid URL");
            return Ok(());
        };
        let headline = text(row, "Headline")?.unwrap_or_else(|| format!("buzz-{id}"));
        let slug = self.planned_slug(id)?;
        let poster = self.resolve_person(row.get("CreatorID"));
        let created = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
        let published = epoch_to_iso_or(row.get("Published"), &created)?;
        let updated = epoch_to_iso_or(row.get("Modified"), &created)?;
        let summary = text(row, "Summary")?;
        let mut r = Record::new();
        put(&mut r, "id", self.id_for(&who.key));
        put(&mut r, "legacyId", id);
        put(&mut r, "projectId", project_id);
        put_opt(&mut r, "postedById", poster.map(|p| p.1));
        put(&mut r, "slug", slug);
        put(&mut r, "headline", headline);
        put(&mut r, "url", url);
        put(&mut r, "publishedAt", published);
        put_opt(&mut r, "summary", summary);
        put(&mut r, "createdAt", created);
        put(&mut r, "updatedAt", updated);
        put(&mut r, "projectSlug", project_slug);
        self.accept(sheet, r, who, None);
        Ok(())
    }

    // ---- blog-posts (B §2.8) ------------------------------------------------------------

    fn blog_row(&mut self, row: &Map<String, Value>, id: i64, who: &Who) -> RowResult {
        let sheet = Sheet::BlogPosts;
        let title = text(row, "Title")?.unwrap_or_else(|| format!("Untitled Post #{id}"));
        let slug = self.planned_slug(id)?;
        let uuid = self.id_for(&who.key);
        let a_raw = row.get("AuthorID").filter(|v| v.is_number());
        let author = self.resolve_person(a_raw);
        if a_raw.is_some() && author.is_none() {
            self.warn(format!(
                "[blog-posts] legacyId={id} author={} unresolved; posting anonymously",
                disp(a_raw)
            ));
        }
        let created = epoch_to_iso_or(row.get("Created"), self.now_for(&who.key))?;
        let updated = epoch_to_iso_or(row.get("Modified"), &created)?;
        let posted = epoch_to_iso_or(row.get("Published"), &created)?;
        let edited = match (
            row.get("Modified").and_then(Value::as_f64),
            row.get("Published").and_then(Value::as_f64),
        ) {
            (Some(m), Some(p)) if m - p > 60.0 => {
                Some(epoch_to_iso_or(row.get("Modified"), &created)?)
            }
            _ => None,
        };
        let (body, media) =
            blog::assemble_body(row.get("items"), id, &slug, &mut self.out.warnings);
        let summary = text(row, "Summary")?.map(|s| {
            if js::utf16_len(&s) > 500 {
                format!("{}…", js::utf16_prefix(&s, 497))
            } else {
                s
            }
        });
        let mut r = Record::new();
        put(&mut r, "id", uuid);
        put(&mut r, "legacyId", id);
        put(&mut r, "slug", slug);
        put(&mut r, "title", title);
        put_opt(&mut r, "summary", summary);
        put_opt(&mut r, "authorId", author.map(|a| a.1));
        put(&mut r, "postedAt", posted);
        put_opt(&mut r, "editedAt", edited);
        put(&mut r, "body", body);
        put(&mut r, "createdAt", created);
        put(&mut r, "updatedAt", updated);
        if self.accept(sheet, r, who, None) {
            self.out.media.extend(media);
        }
        Ok(())
    }
}

/// The embedded array `row[key]` (missing/null/not an array → empty).
fn embedded<'r>(row: &'r Map<String, Value>, key: &str) -> impl Iterator<Item = &'r Value> {
    row.get(key).and_then(Value::as_array).into_iter().flatten()
}

/// Split a laddr tag handle into (namespace, slug) (B §2.1): `ns.rest` from the handle, else
/// from the title (warning "recovered"), else `topic` + the whole handle lowercased
/// (warning "defaulted to topic"). The slug is lowercased but not yet sanitised.
pub fn split_tag_handle(
    handle: &str,
    title: Option<&str>,
    legacy_id: i64,
    warnings: &mut Vec<String>,
) -> (&'static str, String) {
    if let Some(r) = namespace_of(handle) {
        return r;
    }
    if let Some((ns, slug)) = title.and_then(namespace_of) {
        warnings.push(format!(
            "[tags] legacyId={legacy_id} handle \"{handle}\" had no namespace; recovered \"{ns}.{slug}\" from title"
        ));
        return (ns, slug);
    }
    warnings.push(format!(
        "[tags] legacyId={legacy_id} handle \"{handle}\" has no resolvable namespace; defaulted to topic"
    ));
    ("topic", js::to_lower(handle))
}

/// `ns.rest` with a known namespace and a non-empty rest → (namespace, rest lowercased).
fn namespace_of(s: &str) -> Option<(&'static str, String)> {
    let (ns, rest) = s.split_once('.')?;
    let ns = match js::to_lower(ns).as_str() {
        "topic" => "topic",
        "tech" => "tech",
        "event" => "event",
        _ => return None,
    };
    (!rest.is_empty()).then(|| (ns, js::to_lower(rest)))
}

/// Tag slug shape: runs of `[^a-z0-9-]` → `-`, `-` stripped at both ends (no de-dup).
pub fn sanitize_tag_slug(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_run = false;
    for c in s.chars() {
        if c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' {
            out.push(c);
            in_run = false;
        } else if !in_run {
            out.push('-');
            in_run = true;
        }
    }
    out.trim_matches('-').to_owned()
}
