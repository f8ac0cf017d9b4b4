//! The decision and the cascade, computed from the branch tip: a dry run is exactly this,
//! and [`Plan::apply`] turns it into one commit.

use std::collections::BTreeMap;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use serde_json::{Map, Value};
use sheets::ObjectId;
use sheets::closure::{check_values, is_checked_field};
use sheets::{
    CommitSpec, DataRepo, Parent, RecordRef, RepoError, SheetConfig, Signature, StoredRecord,
    Transaction, TreeRecords, people,
};

use crate::report::{
    EvaluationCounts, LINE_VERSION, PersonCascade, PrunedPerson, Reasons, Report, class_names,
    verdict_lines,
};
use crate::verdicts::{self, Evaluation, Unreadable, VerdictKind, Verdicts};
use crate::{Class, Error, Options, Outcome};

/// A person on the branch, as far as the prune needs one.
#[derive(Debug, Clone)]
struct Person {
    path: String,
    slug: String,
    id: Option<String>,
    legacy_id: Value,
    classes_own: Vec<Class>,
}

/// Everything a run would do, computed without writing.
#[derive(Debug)]
pub struct Plan {
    parent: Parent,
    evaluations_commit: ObjectId,
    report: Report,
    pruned: Vec<PrunedPerson>,
    /// Record files to delete (each with its attachment folder).
    deletes: Vec<String>,
    /// `project-updates` records to clear `authorId` in.
    author_patches: Vec<String>,
    updates_config: Option<SheetConfig>,
    flagged_slugs: usize,
    /// Whether `spent.records` holds every sheet with the fields the closure check reads
    /// (not for a dry run or `--allow-dangling`): what the pre-commit check runs on.
    closure_read: bool,
    spent: Spent,
}

/// What a run read, kept to its end: the binary leaves it to the exit instead of freeing
/// tens of thousands of records one by one.
#[derive(Debug)]
pub struct Spent {
    records: TreeRecords,
    // Only held, for the end of the run to free (or not).
    _verdicts: Verdicts,
    _people: Vec<Person>,
}

/// A record of the branch reduced to the fields the prune reads (a full people sheet is
/// tens of MB of bios; only a few keys are kept per record).
type Rec = StoredRecord;

/// The sheets of the branch the plan reads.
struct Branch {
    configs: BTreeMap<String, SheetConfig>,
    tree: ObjectId,
    unreadable: Vec<Unreadable>,
}

/// The sheets the plan reads, in the order their unreadable files are listed, each with the
/// fields it needs.
const PLAN_FIELDS: [(&str, &[&str]); 11] = [
    (
        "people",
        &["slug", "id", "legacyId", "accountLevel", "githubUserId"],
    ),
    ("project-memberships", &["personId", "isMaintainer"]),
    ("help-wanted-interest", &["personId"]),
    (
        "tag-assignments",
        &["taggableType", "taggableId", "assignedById"],
    ),
    ("project-updates", &["authorId"]),
    ("project-buzz", &["postedById"]),
    ("blog-posts", &["authorId"]),
    ("projects", &["maintainerId"]),
    ("help-wanted-roles", &["postedById", "filledById"]),
    ("slug-history", &["entityType", "entityId"]),
    ("revocations", &["personId"]),
];

impl Branch {
    /// One read of the branch's records, every blob decoded on every core: the plan's sheets
    /// with the fields it needs, and, for the pre-commit closure check (`closure`), every
    /// sheet with the fields the check reads, so the check reads nothing again. Unreadable
    /// files of the plan's sheets are listed (in [`PLAN_FIELDS`] order), not dropped.
    fn read(&mut self, repo: &DataRepo, closure: bool) -> Result<TreeRecords, Error> {
        let configs: BTreeMap<String, SheetConfig> = self
            .configs
            .iter()
            .filter(|(name, _)| closure || PLAN_FIELDS.iter().any(|(s, _)| s == name))
            .map(|(name, config)| (name.clone(), config.clone()))
            .collect();
        let read = repo.read_tree_fields(self.tree, &configs, &|config| {
            let keys = PLAN_FIELDS
                .iter()
                .find(|(sheet, _)| *sheet == config.name)
                .map_or(&[][..], |(_, keys)| keys);
            Box::new(move |field| {
                keys.contains(&field)
                    || closure && is_checked_field(field, Some(&config.references))
            })
        })?;
        for (sheet, _) in PLAN_FIELDS {
            for (e, _) in read
                .errors
                .iter()
                .zip(&read.error_sheets)
                .filter(|(_, s)| s.as_str() == sheet)
            {
                // Decoding fails only with `Parse`, which names the file.
                let path = match e {
                    sheets::SheetError::Parse { path, .. } => path.clone(),
                    _ => String::new(),
                };
                self.unreadable.push(Unreadable {
                    path,
                    error: e.to_string(),
                });
            }
        }
        Ok(read)
    }
}

/// The records of the branch the plan reads, each reduced to the keys it needs.
struct Sheets<'r> {
    people: &'r [Rec],
    memberships: &'r [Rec],
    interests: &'r [Rec],
    tag_assignments: &'r [Rec],
    updates: &'r [Rec],
    buzz: &'r [Rec],
    blog: &'r [Rec],
    projects: &'r [Rec],
    roles: &'r [Rec],
    slug_history: &'r [Rec],
    revocations: &'r [Rec],
}

impl<'r> Sheets<'r> {
    /// The plan's sheets of a [`Branch::read`] (empty for a sheet the branch has no config for).
    fn of(read: &'r TreeRecords) -> Sheets<'r> {
        let sheet = |name: &str| read.sheets.get(name).map_or(&[][..], Vec::as_slice);
        Sheets {
            people: sheet("people"),
            memberships: sheet("project-memberships"),
            interests: sheet("help-wanted-interest"),
            tag_assignments: sheet("tag-assignments"),
            updates: sheet("project-updates"),
            buzz: sheet("project-buzz"),
            blog: sheet("blog-posts"),
            projects: sheet("projects"),
            roles: sheet("help-wanted-roles"),
            slug_history: sheet("slug-history"),
            revocations: sheet("revocations"),
        }
    }
}

/// The person a tag assignment tags, if it tags a person.
fn tagged_person(r: &Map<String, Value>) -> Option<&str> {
    (str_field(r, "taggableType") == Some("person"))
        .then(|| str_field(r, "taggableId"))
        .flatten()
}

/// The value of `key` of a reduced record.
fn field(key: &'static str) -> impl Fn(&Rec) -> Option<&str> {
    move |r| str_field(&r.record, key)
}

fn str_field<'a>(record: &'a Map<String, Value>, key: &str) -> Option<&'a str> {
    record.get(key).and_then(Value::as_str)
}

/// Count records per value of `key` (a person id).
fn count_by(records: &[Rec], key: &str) -> HashMap<String, usize> {
    let mut out = HashMap::new();
    for r in records {
        if let Some(id) = str_field(&r.record, key) {
            *out.entry(id.to_owned()).or_default() += 1;
        }
    }
    out
}

/// Where the run starts: the branch tip it reads and will move, and the evaluations commit.
struct Start {
    parent: Parent,
    evaluations_commit: ObjectId,
    branch: Branch,
    people_config: SheetConfig,
}

/// Compute the run: read the verdicts and the branch tip, decide every person, and list the
/// cascade. Writes nothing.
pub fn plan(repo: &DataRepo, opts: &Options) -> Result<Plan, Error> {
    let Start {
        parent,
        evaluations_commit,
        mut branch,
        people_config,
    } = start(repo, opts)?;
    // A real run checks the result's closure before it commits: then every sheet is read.
    let closure = !opts.dry_run && !opts.allow_dangling;
    let (verdicts, records) = read_both(repo, &mut branch, evaluations_commit, closure)?;
    let sheets = Sheets::of(&records);
    let index = Index::of(&sheets);
    let people = branch_people(sheets.people, &index, &mut branch.unreadable);
    let mut decisions = decide(&people, &verdicts, &index.member_of, opts);
    let (cascade, dangling) = hold_referenced(&sheets, &mut decisions, opts);
    let attachments = attachments_by_slug(&records, &people_config, &decisions.chosen);
    let (pruned, at_risk) =
        pruned_lines(&decisions.chosen, &cascade, &attachments, &dangling, opts);
    let (evaluations, flagged_slugs) =
        evaluation_counts(&verdicts, &decisions.on_branch, opts.threshold);

    let totals = cascade_totals(&pruned);
    let people_before = sheets.people.len();
    let report = Report {
        people_before,
        pruned_people: pruned.len(),
        people_after: people_before - pruned.len(),
        protected_by_membership: decisions.reasons.protected_by_membership,
        memberships_deleted: totals.memberships,
        help_wanted_interest_deleted: totals.help_wanted_interest,
        person_tag_assignments_deleted: totals.person_tag_assignments,
        project_updates_author_nulled: totals.project_updates_author_nulled,
        attachments_deleted: totals.attachments,
        reasons: decisions.reasons,
        at_risk,
        protected_by_class: decisions.protected_by_class,
        dangling_references: dangling.total,
        evaluations,
        unparseable_records: verdicts.unreadable.clone(),
        unreadable_branch_records: branch.unreadable,
        data_repo: repo.path().display().to_string(),
        branch: opts.branch.clone(),
        evaluations_ref: opts.evaluations_ref.clone(),
        evaluations_commit: evaluations_commit.to_string(),
        base_commit: parent.base.to_string(),
        threshold: opts.threshold,
        protect: opts.protect.clone(),
        dry_run: opts.dry_run,
        run_at: opts.run_at_iso(),
        commit: None,
        result: "dry-run",
    };
    Ok(Plan {
        updates_config: branch.configs.get("project-updates").cloned(),
        parent,
        evaluations_commit,
        report,
        pruned,
        deletes: cascade.deletes,
        author_patches: cascade.author_patches,
        flagged_slugs,
        closure_read: closure,
        spent: Spent {
            records,
            _verdicts: verdicts,
            _people: people,
        },
    })
}

/// Check the options, resolve the branch and the evaluations ref, and read the sheet configs.
fn start(repo: &DataRepo, opts: &Options) -> Result<Start, Error> {
    if !opts.threshold.is_finite() || !(0.0..=1.0).contains(&opts.threshold) {
        return Err(Error::Threshold(opts.threshold));
    }
    let parent = match repo.parent_for(&opts.branch, &[]) {
        Ok(p) => p,
        Err(RepoError::NoParent { .. }) => {
            return Err(Error::MissingBranch {
                branch: opts.branch.clone(),
                repo: repo.path().to_path_buf(),
            });
        }
        Err(e) => return Err(e.into()),
    };
    let evaluations_commit = verdicts::resolve_rev(repo, &opts.evaluations_ref)?;
    let tree = repo.tree_of(parent.base)?;
    let branch = Branch {
        configs: repo.sheet_configs(tree)?,
        tree,
        unreadable: Vec::new(),
    };
    let people_config =
        branch
            .configs
            .get("people")
            .cloned()
            .ok_or_else(|| Error::NoPeopleSheet {
                sheet: "people".into(),
                branch: opts.branch.clone(),
            })?;
    Ok(Start {
        parent,
        evaluations_commit,
        branch,
        people_config,
    })
}

/// The evaluations and the branch are independent reads: do them on two threads, each with
/// its own handle on the repo.
fn read_both(
    repo: &DataRepo,
    branch: &mut Branch,
    evaluations_commit: ObjectId,
    closure: bool,
) -> Result<(Verdicts, TreeRecords), Error> {
    let repo_path = repo.path().to_path_buf();
    let (verdicts, records) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<Verdicts, Error> {
            let own = DataRepo::open(&repo_path)?;
            verdicts::read(&own, evaluations_commit)
        });
        let records = branch.read(repo, closure);
        let verdicts = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (verdicts, records)
    });
    Ok((verdicts?, records?))
}

/// Who did what, by person id: the facts the classes and the membership protection use.
struct Index {
    member_of: HashMap<String, usize>,
    maintainer_memberships: HashSet<String>,
    updates_by: HashMap<String, usize>,
    buzz_by: HashMap<String, usize>,
    blog_by: HashMap<String, usize>,
    maintains: HashMap<String, usize>,
}

impl Index {
    fn of(s: &Sheets) -> Index {
        Index {
            member_of: count_by(s.memberships, "personId"),
            maintainer_memberships: s
                .memberships
                .iter()
                .filter(|m| m.record.get("isMaintainer") == Some(&Value::Bool(true)))
                .filter_map(|m| str_field(&m.record, "personId"))
                .map(str::to_owned)
                .collect(),
            updates_by: count_by(s.updates, "authorId"),
            buzz_by: count_by(s.buzz, "postedById"),
            blog_by: count_by(s.blog, "authorId"),
            maintains: count_by(s.projects, "maintainerId"),
        }
    }

    /// The protectable classes of a person record (`id` is the person's uuid, if any).
    fn classes(&self, record: &Map<String, Value>, github_linked: bool) -> Vec<Class> {
        let id = str_field(record, "id");
        let has = |m: &HashMap<String, usize>| id.is_some_and(|i| m.contains_key(i));
        let mut classes = Vec::new();
        if people::is_staff_level(str_field(record, "accountLevel")) {
            classes.push(Class::Staff);
        }
        if github_linked {
            classes.push(Class::Github);
        }
        if has(&self.updates_by) || has(&self.buzz_by) || has(&self.blog_by) {
            classes.push(Class::Authors);
        }
        if has(&self.maintains) || id.is_some_and(|i| self.maintainer_memberships.contains(i)) {
            classes.push(Class::Maintainers);
        }
        classes
    }
}

/// The people of the branch with their classes. A record without a slug, or whose
/// `githubUserId` is not an integer, is listed as unreadable and kept.
fn branch_people(records: &[Rec], index: &Index, unreadable: &mut Vec<Unreadable>) -> Vec<Person> {
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        let Some(slug) = str_field(&r.record, "slug") else {
            unreadable.push(Unreadable {
                path: r.path.clone(),
                error: "person record without a string `slug`".into(),
            });
            continue;
        };
        // The one "GitHub-linked" rule (0 is not linked), shared with reconcile and mailer.
        let github = match people::github_user_id(&r.record) {
            Ok(g) => g,
            Err(error) => {
                unreadable.push(Unreadable {
                    path: r.path.clone(),
                    error,
                });
                continue;
            }
        };
        out.push(Person {
            path: r.path.clone(),
            slug: slug.to_owned(),
            id: str_field(&r.record, "id").map(str::to_owned),
            legacy_id: r.record.get("legacyId").cloned().unwrap_or(Value::Null),
            classes_own: index.classes(&r.record, github.is_some()),
        });
    }
    out
}

/// Every person decided: each lands in exactly one reason.
struct Decisions<'a> {
    reasons: Reasons,
    protected_by_class: BTreeMap<Class, usize>,
    chosen: Vec<(&'a Person, Vec<Evaluation>)>,
    on_branch: HashSet<&'a str>,
}

fn decide<'a>(
    people: &'a [Person],
    verdicts: &Verdicts,
    member_of: &HashMap<String, usize>,
    opts: &Options,
) -> Decisions<'a> {
    let mut d = Decisions {
        reasons: Reasons::default(),
        protected_by_class: BTreeMap::new(),
        chosen: Vec::new(),
        on_branch: HashSet::with_capacity(people.len()),
    };
    for p in people {
        d.on_branch.insert(p.slug.as_str());
        let evals = verdicts
            .by_slug
            .get(&p.slug)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let unreadable = verdicts.unreadable_slugs.contains_key(&p.slug);
        if evals.is_empty() && !unreadable {
            d.reasons.no_evaluation += 1;
            continue;
        }
        let deciding: Vec<Evaluation> = evals
            .iter()
            .filter(|e| verdicts::is_confident_spam(e, opts.threshold))
            .cloned()
            .collect();
        if deciding.is_empty() {
            d.reasons.not_confident_spam += 1;
        } else if evals.iter().any(|e| e.verdict == Some(VerdictKind::Legit)) {
            d.reasons.protected_by_legit += 1;
        } else if p.id.as_ref().is_some_and(|i| member_of.contains_key(i)) {
            d.reasons.protected_by_membership += 1;
        } else if unreadable {
            d.reasons.held_by_unreadable_evaluation += 1;
        } else if p.classes_own.iter().any(|c| opts.protect.contains(c)) {
            d.reasons.protected_by_class += 1;
            for c in p.classes_own.iter().filter(|c| opts.protect.contains(c)) {
                *d.protected_by_class.entry(*c).or_default() += 1;
            }
        } else {
            d.reasons.pruned += 1;
            d.chosen.push((p, deciding));
        }
    }
    d
}

/// The cascade of the people chosen, after holding back every one the result would still
/// reference (a buzz poster, blog author, maintainer, role poster, assigner, revocation,
/// slug-history entry: records the cascade keeps), so the prune never leaves a reference to
/// no record. Holding someone keeps their own records too, which may reference another
/// chosen person, so this repeats until nothing more is held. `--allow-dangling` skips it
/// (the reference's behaviour: prune, and count what is left dangling).
fn hold_referenced<'a>(
    sheets: &Sheets,
    decisions: &mut Decisions<'a>,
    opts: &Options,
) -> (Cascade<'a>, Dangling<'a>) {
    loop {
        let pruned_ids: HashSet<&'a str> = decisions
            .chosen
            .iter()
            .filter_map(|(p, _)| p.id.as_deref())
            .collect();
        let deletes = decisions
            .chosen
            .iter()
            .map(|(p, _)| p.path.clone())
            .collect();
        let cascade = Cascade::sweep_all(sheets, &pruned_ids, deletes);
        let dangling = Dangling::count(sheets, &pruned_ids, &cascade.tag_deleted);
        if opts.allow_dangling || dangling.per_person.is_empty() {
            return (cascade, dangling);
        }
        let before = decisions.chosen.len();
        decisions.chosen.retain(|(p, _)| {
            !p.id
                .as_deref()
                .is_some_and(|i| dangling.per_person.contains_key(i))
        });
        let held = before - decisions.chosen.len();
        decisions.reasons.pruned -= held;
        decisions.reasons.held_by_reference += held;
    }
}

/// The cascade (reference/C §3), swept by person id.
struct Cascade<'a> {
    per_person: HashMap<&'a str, PersonCascade>,
    deletes: Vec<String>,
    author_patches: Vec<String>,
    /// Person tag assignments deleted (their `assignedById` no longer dangles).
    tag_deleted: HashSet<String>,
}

impl<'a> Cascade<'a> {
    fn sweep_all(s: &Sheets, pruned_ids: &HashSet<&'a str>, deletes: Vec<String>) -> Self {
        let mut c = Cascade {
            per_person: HashMap::new(),
            deletes,
            author_patches: Vec::new(),
            tag_deleted: HashSet::new(),
        };
        let memberships = c.sweep(
            pruned_ids,
            s.memberships,
            |r| str_field(r, "personId"),
            |p| p.memberships += 1,
        );
        let interests = c.sweep(
            pruned_ids,
            s.interests,
            |r| str_field(r, "personId"),
            |p| p.help_wanted_interest += 1,
        );
        let tags = c.sweep(pruned_ids, s.tag_assignments, tagged_person, |p| {
            p.person_tag_assignments += 1
        });
        c.author_patches = c.sweep(
            pruned_ids,
            s.updates,
            |r| str_field(r, "authorId"),
            |p| p.project_updates_author_nulled += 1,
        );
        c.tag_deleted.extend(tags.iter().cloned());
        c.deletes.extend(memberships);
        c.deletes.extend(interests);
        c.deletes.extend(tags);
        c
    }

    /// The paths of `records` whose `select`ed person id is pruned, counted per person.
    fn sweep(
        &mut self,
        pruned_ids: &HashSet<&'a str>,
        records: &[Rec],
        select: impl Fn(&Map<String, Value>) -> Option<&str>,
        count: impl Fn(&mut PersonCascade),
    ) -> Vec<String> {
        let mut out = Vec::new();
        for r in records {
            if let Some(id) = select(&r.record)
                && let Some(key) = pruned_ids.get(id)
            {
                count(self.per_person.entry(key).or_default());
                out.push(r.path.clone());
            }
        }
        out
    }
}

/// Attachments: files below a pruned person's record folder go with the record (record
/// files themselves never sit below another record's folder depth, so only the people
/// sheet's other files are looked at).
fn attachments_by_slug(
    records: &TreeRecords,
    people_config: &SheetConfig,
    chosen: &[(&Person, Vec<Evaluation>)],
) -> HashMap<String, usize> {
    let people_files = records
        .other_files
        .get("people")
        .map_or(&[][..], Vec::as_slice);
    let stems: HashMap<String, &str> = chosen
        .iter()
        .filter_map(|(p, _)| {
            let stem = p.path.rsplit_once('.')?.0;
            Some((format!("{stem}/"), p.slug.as_str()))
        })
        .collect();
    let record_depth = people_config
        .root
        .split('/')
        .filter(|s| !s.is_empty())
        .count()
        + people_config.path.depth();
    let mut by_slug: HashMap<String, usize> = HashMap::new();
    for f in people_files {
        let segments: Vec<&str> = f.path.split('/').collect();
        if segments.len() <= record_depth {
            continue;
        }
        let stem = format!("{}/", segments[..record_depth].join("/"));
        if let Some(slug) = stems.get(&stem) {
            *by_slug.entry((*slug).to_owned()).or_default() += 1;
        }
    }
    by_slug
}

/// References the reference leaves dangling: counted, not changed.
struct Dangling<'a> {
    total: BTreeMap<&'static str, usize>,
    per_person: HashMap<&'a str, BTreeMap<&'static str, usize>>,
}

impl<'a> Dangling<'a> {
    fn count(s: &Sheets, pruned_ids: &HashSet<&'a str>, tag_deleted: &HashSet<String>) -> Self {
        let mut d = Dangling {
            total: BTreeMap::new(),
            per_person: HashMap::new(),
        };
        d.add(
            pruned_ids,
            "projectBuzzPostedById",
            s.buzz,
            field("postedById"),
        );
        d.add(pruned_ids, "blogPostsAuthorId", s.blog, field("authorId"));
        d.add(
            pruned_ids,
            "projectsMaintainerId",
            s.projects,
            field("maintainerId"),
        );
        d.add(
            pruned_ids,
            "helpWantedRolesPostedById",
            s.roles,
            field("postedById"),
        );
        d.add(
            pruned_ids,
            "helpWantedRolesFilledById",
            s.roles,
            field("filledById"),
        );
        d.add(
            pruned_ids,
            "tagAssignmentsAssignedById",
            s.tag_assignments,
            |r| {
                if tag_deleted.contains(&r.path) {
                    None
                } else {
                    str_field(&r.record, "assignedById")
                }
            },
        );
        d.add(pruned_ids, "slugHistoryEntityId", s.slug_history, |r| {
            (str_field(&r.record, "entityType") == Some("person"))
                .then(|| str_field(&r.record, "entityId"))
                .flatten()
        });
        d.add(
            pruned_ids,
            "revocationsPersonId",
            s.revocations,
            field("personId"),
        );
        d
    }

    fn add(
        &mut self,
        pruned_ids: &HashSet<&'a str>,
        name: &'static str,
        records: &[Rec],
        select: impl Fn(&Rec) -> Option<&str>,
    ) {
        for r in records {
            if let Some(id) = select(r)
                && let Some(key) = pruned_ids.get(id)
            {
                *self.total.entry(name).or_default() += 1;
                *self
                    .per_person
                    .entry(key)
                    .or_default()
                    .entry(name)
                    .or_default() += 1;
            }
        }
    }
}

/// One line per pruned person, in slug order, and how many of them are in each class.
fn pruned_lines(
    chosen: &[(&Person, Vec<Evaluation>)],
    cascade: &Cascade<'_>,
    attachments: &HashMap<String, usize>,
    dangling: &Dangling<'_>,
    opts: &Options,
) -> (Vec<PrunedPerson>, BTreeMap<Class, usize>) {
    let mut at_risk: BTreeMap<Class, usize> = BTreeMap::new();
    let mut pruned: Vec<PrunedPerson> = chosen
        .iter()
        .map(|(p, deciding)| {
            let key = p.id.as_deref().unwrap_or("");
            let mut person_cascade = cascade.per_person.get(key).cloned().unwrap_or_default();
            person_cascade.attachments = attachments.get(p.slug.as_str()).copied().unwrap_or(0);
            for c in &p.classes_own {
                *at_risk.entry(*c).or_default() += 1;
            }
            PrunedPerson {
                v: LINE_VERSION,
                slug: p.slug.clone(),
                id: p.id.clone(),
                legacy_id: p.legacy_id.clone(),
                path: p.path.clone(),
                verdicts: verdict_lines(deciding),
                at_risk: class_names(&p.classes_own),
                cascade: person_cascade,
                dangling: dangling
                    .per_person
                    .get(key)
                    .map_or_else(BTreeMap::new, |d| {
                        d.iter().map(|(k, n)| ((*k).to_owned(), *n)).collect()
                    }),
                dry_run: opts.dry_run,
            }
        })
        .collect();
    pruned.sort_by(|a, b| a.slug.cmp(&b.slug));
    (pruned, at_risk)
}

fn cascade_totals(pruned: &[PrunedPerson]) -> PersonCascade {
    pruned.iter().fold(PersonCascade::default(), |mut t, p| {
        t.attachments += p.cascade.attachments;
        t.memberships += p.cascade.memberships;
        t.help_wanted_interest += p.cascade.help_wanted_interest;
        t.person_tag_assignments += p.cascade.person_tag_assignments;
        t.project_updates_author_nulled += p.cascade.project_updates_author_nulled;
        t
    })
}

/// The evaluation counts, and the number of verdict-flagged slugs (on the branch or not).
fn evaluation_counts(
    v: &Verdicts,
    on_branch: &HashSet<&str>,
    threshold: f64,
) -> (EvaluationCounts, usize) {
    let (mut flagged_slugs, mut flagged_slugs_absent) = (0, 0);
    let (mut unmatched, mut unmatched_slugs) = (0, 0);
    for (slug, evals) in &v.by_slug {
        let present = on_branch.contains(slug.as_str());
        if evals
            .iter()
            .any(|e| verdicts::is_confident_spam(e, threshold))
        {
            flagged_slugs += 1;
            flagged_slugs_absent += usize::from(!present);
        }
        if !present {
            unmatched += evals.len();
            unmatched_slugs += 1;
        }
    }
    let slugs = v.by_slug.len()
        + v.unreadable_slugs
            .keys()
            .filter(|s| !v.by_slug.contains_key(*s))
            .count();
    let counts = EvaluationCounts {
        records: v.records,
        slugs,
        flagged_slugs,
        flagged_slugs_absent,
        unparseable: v.unreadable.len(),
        unmatched,
        unmatched_slugs,
        unknown_verdicts: v.unknown_verdicts,
        ignored_files: v.ignored_files,
    };
    (counts, flagged_slugs)
}

impl Plan {
    /// The report as computed (`result` is `dry-run` until [`Plan::into_outcome`]).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// The people the run prunes, in slug order.
    pub fn pruned(&self) -> &[PrunedPerson] {
        &self.pruned
    }

    /// The branch ref the commit moves and the value it must still have.
    pub fn parent(&self) -> &Parent {
        &self.parent
    }

    /// The commit message: subject naming the branch, a summary line, the trailers.
    pub fn commit_spec(&self, opts: &Options) -> CommitSpec {
        let run_at = opts.run_at_iso();
        CommitSpec::new(format!(
            "prune: remove confident-spam people from {} ({run_at})\n\nPruned {} of {} people; threshold {}, {} verdict-flagged slugs.",
            opts.branch,
            self.report.pruned_people,
            self.report.people_before,
            opts.threshold,
            self.flagged_slugs
        ))
        .trailer("Action", "prune.spam")
        .trailer("Evaluations-Ref", opts.evaluations_ref.as_str())
        .trailer("Evaluations-Commit", self.evaluations_commit.to_string())
        .trailer("Threshold", opts.threshold.to_string())
        .trailer("Run-At", run_at)
    }

    /// Make the planned changes as one commit on the branch and move it with a
    /// compare-and-swap from the tip the plan read. `None` when nothing changes. A branch
    /// that moved since the plan aborts with `RepoError::ParentMoved`, nothing written.
    pub fn apply(&self, repo: &DataRepo, opts: &Options) -> Result<Option<ObjectId>, Error> {
        if self.deletes.is_empty() && self.author_patches.is_empty() {
            return Ok(None);
        }
        // A plan made for a dry run (or `--allow-dangling`) did not read every sheet.
        let read;
        let records = match (opts.allow_dangling, self.closure_read) {
            (true, _) => None,
            (false, true) => Some(&self.spent.records),
            (false, false) => {
                read = repo.read_tree_references(repo.tree_of(self.parent.base)?)?;
                Some(&read)
            }
        };
        // The closure is checked on the other core while the commit is built in memory;
        // nothing is written before it passes, and its refusal wins over any build error.
        std::thread::scope(|scope| {
            let check = records.map(|r| scope.spawn(move || self.check_closed(r)));
            let built = self.build(repo, opts);
            if let Some(check) = check {
                check
                    .join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
            }
            let (tx, commit) = built?;
            tx.finish()?;
            Ok(commit)
        })
    }

    /// The transaction with the planned deletes and patches and its commit, in memory.
    fn build<'r>(
        &self,
        repo: &'r DataRepo,
        opts: &Options,
    ) -> Result<(Transaction<'r>, Option<ObjectId>), Error> {
        let signature = Signature {
            time: opts.run_at.as_second(),
            ..Signature::default()
        };
        let mut tx = Transaction::begin(repo, self.parent.clone())?.with_signature(signature);
        for path in &self.deletes {
            tx.edit().delete_record(path)?;
        }
        if let Some(config) = &self.updates_config {
            let mut patch = Map::new();
            patch.insert("authorId".to_owned(), Value::Null);
            for path in &self.author_patches {
                tx.edit().patch_record(config, path, &patch)?;
            }
        }
        let commit = tx.commit(&self.commit_spec(opts))?;
        Ok((tx, commit))
    }

    /// Refuse a result that references a record the prune deletes: the branch's `records`
    /// (every sheet, the checked fields) with the planned deletes and `authorId` patches
    /// applied must not hold a dangling reference the branch did not already hold (those
    /// are `reconcile`'s `danglingReferences`). Only a reference to the id of a deleted record
    /// can have broken (removing records and clearing fields takes no other id away, and the
    /// kept records' references are as they were), so both sides check just those
    /// ([`sheets::closure::check_values`]): the same refusal as checking everything.
    fn check_closed(&self, records: &TreeRecords) -> Result<(), Error> {
        let deleted: HashSet<&str> = self.deletes.iter().map(String::as_str).collect();
        let patched: HashSet<&str> = self.author_patches.iter().map(String::as_str).collect();
        let all: Vec<(&str, &StoredRecord)> = records
            .sheets
            .iter()
            .flat_map(|(sheet, rs)| rs.iter().map(move |r| (sheet.as_str(), r)))
            .collect();
        let gone: HashSet<&str> = all
            .iter()
            .filter(|(_, r)| deleted.contains(r.path.as_str()))
            .filter_map(|(_, r)| str_field(&r.record, "id"))
            .collect();
        let only = |value: &str| gone.contains(value);
        let before: HashSet<_> = records.dangling_to(&only).into_iter().collect();
        let mut unpatched = Vec::new();
        let mut refs = Vec::new();
        for (sheet, r) in all
            .iter()
            .filter(|(_, r)| !deleted.contains(r.path.as_str()))
        {
            if patched.contains(r.path.as_str()) {
                let mut record = r.record.clone();
                record.remove("authorId");
                unpatched.push((*sheet, r.path.as_str(), record));
            } else {
                refs.push(r.reference(sheet));
            }
        }
        refs.extend(unpatched.iter().map(|(sheet, path, record)| RecordRef {
            sheet,
            path,
            record,
        }));
        let names = records.sheets.keys().map(String::as_str).collect();
        let made: Vec<_> = check_values(&refs, &names, &records.declared, &only)
            .into_iter()
            .filter(|d| !before.contains(d))
            .collect();
        if made.is_empty() {
            Ok(())
        } else {
            Err(Error::Dangling(made))
        }
    }

    /// The run's outcome once `commit` (if any) was made.
    pub fn into_outcome(self, opts: &Options, commit: Option<ObjectId>) -> Outcome {
        let mut report = self.report;
        report.commit = commit.map(|c| c.to_string());
        report.result = match (opts.dry_run, commit) {
            (true, _) => "dry-run",
            (false, Some(_)) => "committed",
            (false, None) => "no-changes",
        };
        Outcome {
            report,
            pruned: self.pruned,
            spent: self.spent,
        }
    }
}
