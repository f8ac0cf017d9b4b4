//! The decision and the cascade, computed from the branch tip: a dry run is exactly this,
//! and [`Plan::apply`] turns it into one commit.

use std::collections::{BTreeMap, HashMap, HashSet};

use gix::ObjectId;
use serde_json::{Map, Value};
use sheets::{CommitSpec, DataRepo, Parent, RepoError, SheetConfig, Signature, Transaction};

use crate::report::{EvaluationCounts, LINE_VERSION, PersonCascade, PrunedPerson, Reasons, Report};
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
}

/// A record of the branch reduced to the fields the prune reads (a full people sheet is
/// tens of MB of bios; only a few keys are kept per record).
struct Rec {
    path: String,
    record: Map<String, Value>,
}

/// The sheets of the branch the plan reads.
struct Branch {
    configs: BTreeMap<String, SheetConfig>,
    tree: ObjectId,
    unreadable: Vec<Unreadable>,
}

impl Branch {
    /// Every readable record of `sheet` with only `keys` kept (none when the branch has no
    /// such sheet). Unreadable files are listed, not dropped.
    fn records(&mut self, repo: &DataRepo, sheet: &str, keys: &[&str]) -> Result<Vec<Rec>, Error> {
        let Some(config) = self.configs.get(sheet) else {
            return Ok(Vec::new());
        };
        let files = repo.record_files(self.tree, config)?;
        let mut out = Vec::with_capacity(files.len());
        for f in files {
            let bytes = repo.read_object(f.id)?.1;
            match config.decode(&f.path, &bytes) {
                Ok(mut full) => {
                    let record = keys.iter().filter_map(|k| full.remove_entry(*k)).collect();
                    out.push(Rec {
                        path: f.path,
                        record,
                    });
                }
                Err(e) => self.unreadable.push(Unreadable {
                    path: f.path,
                    error: e.to_string(),
                }),
            }
        }
        Ok(out)
    }
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

/// Compute the run: read the verdicts and the branch tip, decide every person, and list the
/// cascade. Writes nothing.
pub fn plan(repo: &DataRepo, opts: &Options) -> Result<Plan, Error> {
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
    let mut branch = Branch {
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

    // The evaluations and the branch are independent reads: do them on two threads, each
    // with its own handle on the repo.
    let repo_path = repo.path().to_path_buf();
    let (verdicts, sheets) = std::thread::scope(|scope| {
        let reader = scope.spawn(move || -> Result<Verdicts, Error> {
            let own = DataRepo::open(&repo_path)?;
            verdicts::read(&own, evaluations_commit)
        });
        let sheets = read_sheets(repo, &mut branch);
        let verdicts = reader
            .join()
            .unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        (verdicts, sheets)
    });
    let verdicts = verdicts?;
    let [
        people_records,
        memberships,
        interests,
        tag_assignments,
        updates,
        buzz,
        blog,
        projects,
        roles,
        slug_history,
        revocations,
    ] = sheets?;

    let member_of = count_by(&memberships, "personId");
    let maintainer_memberships: HashSet<&str> = memberships
        .iter()
        .filter(|m| m.record.get("isMaintainer") == Some(&Value::Bool(true)))
        .filter_map(|m| str_field(&m.record, "personId"))
        .collect();
    let updates_by = count_by(&updates, "authorId");
    let buzz_by = count_by(&buzz, "postedById");
    let blog_by = count_by(&blog, "authorId");
    let maintains = count_by(&projects, "maintainerId");

    let people: Vec<Person> = people_records
        .iter()
        .filter_map(|r| {
            let Some(slug) = str_field(&r.record, "slug") else {
                branch.unreadable.push(Unreadable {
                    path: r.path.clone(),
                    error: "person record without a string `slug`".into(),
                });
                return None;
            };
            let id = str_field(&r.record, "id").map(str::to_owned);
            let has = |m: &HashMap<String, usize>| id.as_ref().is_some_and(|i| m.contains_key(i));
            let mut classes_own = Vec::new();
            if matches!(
                str_field(&r.record, "accountLevel"),
                Some("staff" | "administrator")
            ) {
                classes_own.push(Class::Staff);
            }
            if r.record.get("githubUserId").is_some_and(|v| !v.is_null()) {
                classes_own.push(Class::Github);
            }
            if has(&updates_by) || has(&buzz_by) || has(&blog_by) {
                classes_own.push(Class::Authors);
            }
            if has(&maintains)
                || id
                    .as_deref()
                    .is_some_and(|i| maintainer_memberships.contains(i))
            {
                classes_own.push(Class::Maintainers);
            }
            Some(Person {
                path: r.path.clone(),
                slug: slug.to_owned(),
                id,
                legacy_id: r.record.get("legacyId").cloned().unwrap_or(Value::Null),
                classes_own,
            })
        })
        .collect();

    // Decide every person; each lands in exactly one reason.
    let mut reasons = Reasons::default();
    let mut protected_by_class: BTreeMap<Class, usize> = BTreeMap::new();
    let mut chosen: Vec<(&Person, Vec<Evaluation>)> = Vec::new();
    let mut on_branch: HashSet<&str> = HashSet::with_capacity(people.len());
    for p in &people {
        on_branch.insert(p.slug.as_str());
        let evals = verdicts
            .by_slug
            .get(&p.slug)
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let unreadable = verdicts.unreadable_slugs.contains_key(&p.slug);
        if evals.is_empty() && !unreadable {
            reasons.no_evaluation += 1;
            continue;
        }
        let deciding: Vec<Evaluation> = evals
            .iter()
            .filter(|e| verdicts::is_confident_spam(e, opts.threshold))
            .cloned()
            .collect();
        if deciding.is_empty() {
            reasons.not_confident_spam += 1;
        } else if evals.iter().any(|e| e.verdict == Some(VerdictKind::Legit)) {
            reasons.protected_by_legit += 1;
        } else if p.id.as_ref().is_some_and(|i| member_of.contains_key(i)) {
            reasons.protected_by_membership += 1;
        } else if unreadable {
            reasons.held_by_unreadable_evaluation += 1;
        } else if p.classes_own.iter().any(|c| opts.protect.contains(c)) {
            reasons.protected_by_class += 1;
            for c in p.classes_own.iter().filter(|c| opts.protect.contains(c)) {
                *protected_by_class.entry(*c).or_default() += 1;
            }
        } else {
            reasons.pruned += 1;
            chosen.push((p, deciding));
        }
    }

    // The cascade (reference/C §3), swept by person id.
    let pruned_ids: HashSet<&str> = chosen.iter().filter_map(|(p, _)| p.id.as_deref()).collect();
    let mut per_person: HashMap<&str, PersonCascade> = HashMap::new();
    let mut dangling_per: HashMap<&str, BTreeMap<&'static str, usize>> = HashMap::new();
    let mut deletes: Vec<String> = chosen.iter().map(|(p, _)| p.path.clone()).collect();
    let mut author_patches = Vec::new();
    let mut sweep = |records: &[Rec],
                     select: &dyn Fn(&Map<String, Value>) -> Option<String>,
                     count: &mut dyn FnMut(&mut PersonCascade),
                     out: &mut Vec<String>| {
        for r in records {
            if let Some(id) = select(&r.record)
                && let Some(key) = pruned_ids.get(id.as_str())
            {
                count(per_person.entry(key).or_default());
                out.push(r.path.clone());
            }
        }
    };
    let person_key =
        |k: &'static str| move |r: &Map<String, Value>| str_field(r, k).map(str::to_owned);
    sweep(
        &memberships,
        &person_key("personId"),
        &mut |c| c.memberships += 1,
        &mut deletes,
    );
    sweep(
        &interests,
        &person_key("personId"),
        &mut |c| c.help_wanted_interest += 1,
        &mut deletes,
    );
    let mut tag_deleted: HashSet<String> = HashSet::new();
    {
        let mut tag_paths = Vec::new();
        sweep(
            &tag_assignments,
            &|r| {
                (str_field(r, "taggableType") == Some("person"))
                    .then(|| str_field(r, "taggableId").map(str::to_owned))
                    .flatten()
            },
            &mut |c| c.person_tag_assignments += 1,
            &mut tag_paths,
        );
        tag_deleted.extend(tag_paths.iter().cloned());
        deletes.extend(tag_paths);
    }
    sweep(
        &updates,
        &person_key("authorId"),
        &mut |c| c.project_updates_author_nulled += 1,
        &mut author_patches,
    );

    // Attachments: files below a pruned person's record folder go with the record.
    let people_files = repo.walk_blobs(tree, &people_config.root)?;
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
    let mut attachments_by_slug: HashMap<&str, usize> = HashMap::new();
    for f in &people_files {
        let segments: Vec<&str> = f.path.split('/').collect();
        if segments.len() <= record_depth {
            continue;
        }
        let stem = format!("{}/", segments[..record_depth].join("/"));
        if let Some(slug) = stems.get(&stem) {
            *attachments_by_slug.entry(slug).or_default() += 1;
        }
    }

    // References the reference leaves dangling: counted, not changed.
    let mut dangling: BTreeMap<&'static str, usize> = BTreeMap::new();
    let mut count_dangling =
        |name: &'static str, records: &[Rec], select: &dyn Fn(&Rec) -> Option<String>| {
            for r in records {
                if let Some(id) = select(r)
                    && let Some(key) = pruned_ids.get(id.as_str())
                {
                    *dangling.entry(name).or_default() += 1;
                    *dangling_per
                        .entry(key)
                        .or_default()
                        .entry(name)
                        .or_default() += 1;
                }
            }
        };
    let field = |k: &'static str| move |r: &Rec| str_field(&r.record, k).map(str::to_owned);
    count_dangling("projectBuzzPostedById", &buzz, &field("postedById"));
    count_dangling("blogPostsAuthorId", &blog, &field("authorId"));
    count_dangling("projectsMaintainerId", &projects, &field("maintainerId"));
    count_dangling("helpWantedRolesPostedById", &roles, &field("postedById"));
    count_dangling("helpWantedRolesFilledById", &roles, &field("filledById"));
    count_dangling("tagAssignmentsAssignedById", &tag_assignments, &|r| {
        if tag_deleted.contains(&r.path) {
            None
        } else {
            str_field(&r.record, "assignedById").map(str::to_owned)
        }
    });
    count_dangling("slugHistoryEntityId", &slug_history, &|r| {
        (str_field(&r.record, "entityType") == Some("person"))
            .then(|| str_field(&r.record, "entityId").map(str::to_owned))
            .flatten()
    });
    count_dangling("revocationsPersonId", &revocations, &field("personId"));

    let mut at_risk: BTreeMap<Class, usize> = BTreeMap::new();
    let mut pruned: Vec<PrunedPerson> = chosen
        .iter()
        .map(|(p, deciding)| {
            let key = p.id.as_deref().unwrap_or("");
            let mut cascade = per_person.get(key).cloned().unwrap_or_default();
            cascade.attachments = attachments_by_slug
                .get(p.slug.as_str())
                .copied()
                .unwrap_or(0);
            for c in &p.classes_own {
                *at_risk.entry(*c).or_default() += 1;
            }
            PrunedPerson {
                v: LINE_VERSION,
                slug: p.slug.clone(),
                id: p.id.clone(),
                legacy_id: p.legacy_id.clone(),
                path: p.path.clone(),
                verdicts: deciding.clone(),
                at_risk: p.classes_own.clone(),
                cascade,
                dangling: dangling_per.get(key).cloned().unwrap_or_default(),
                dry_run: opts.dry_run,
            }
        })
        .collect();
    pruned.sort_by(|a, b| a.slug.cmp(&b.slug));

    let totals = pruned.iter().fold(PersonCascade::default(), |mut t, p| {
        t.attachments += p.cascade.attachments;
        t.memberships += p.cascade.memberships;
        t.help_wanted_interest += p.cascade.help_wanted_interest;
        t.person_tag_assignments += p.cascade.person_tag_assignments;
        t.project_updates_author_nulled += p.cascade.project_updates_author_nulled;
        t
    });

    let mut flagged_slugs = 0;
    let mut flagged_absent = 0;
    let mut unmatched = 0;
    let mut unmatched_slugs = 0;
    for (slug, evals) in &verdicts.by_slug {
        let present = on_branch.contains(slug.as_str());
        if evals
            .iter()
            .any(|e| verdicts::is_confident_spam(e, opts.threshold))
        {
            flagged_slugs += 1;
            flagged_absent += usize::from(!present);
        }
        if !present {
            unmatched += evals.len();
            unmatched_slugs += 1;
        }
    }
    let evaluations = evaluation_counts(
        &verdicts,
        flagged_slugs,
        flagged_absent,
        unmatched,
        unmatched_slugs,
    );

    let people_before = people_records.len();
    let report = Report {
        people_before,
        pruned_people: pruned.len(),
        people_after: people_before - pruned.len(),
        protected_by_membership: reasons.protected_by_membership,
        memberships_deleted: totals.memberships,
        help_wanted_interest_deleted: totals.help_wanted_interest,
        person_tag_assignments_deleted: totals.person_tag_assignments,
        project_updates_author_nulled: totals.project_updates_author_nulled,
        attachments_deleted: totals.attachments,
        reasons,
        at_risk,
        protected_by_class,
        dangling_references: dangling,
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
        deletes,
        author_patches,
        flagged_slugs,
    })
}

/// The sheets the plan reads, each reduced to the keys it needs, in a fixed order.
fn read_sheets(repo: &DataRepo, branch: &mut Branch) -> Result<[Vec<Rec>; 11], Error> {
    Ok([
        branch.records(
            repo,
            "people",
            &["slug", "id", "legacyId", "accountLevel", "githubUserId"],
        )?,
        branch.records(repo, "project-memberships", &["personId", "isMaintainer"])?,
        branch.records(repo, "help-wanted-interest", &["personId"])?,
        branch.records(
            repo,
            "tag-assignments",
            &["taggableType", "taggableId", "assignedById"],
        )?,
        branch.records(repo, "project-updates", &["authorId"])?,
        branch.records(repo, "project-buzz", &["postedById"])?,
        branch.records(repo, "blog-posts", &["authorId"])?,
        branch.records(repo, "projects", &["maintainerId"])?,
        branch.records(repo, "help-wanted-roles", &["postedById", "filledById"])?,
        branch.records(repo, "slug-history", &["entityType", "entityId"])?,
        branch.records(repo, "revocations", &["personId"])?,
    ])
}

fn evaluation_counts(
    v: &Verdicts,
    flagged_slugs: usize,
    flagged_slugs_absent: usize,
    unmatched: usize,
    unmatched_slugs: usize,
) -> EvaluationCounts {
    let slugs = v.by_slug.len()
        + v.unreadable_slugs
            .keys()
            .filter(|s| !v.by_slug.contains_key(*s))
            .count();
    EvaluationCounts {
        records: v.records,
        slugs,
        flagged_slugs,
        flagged_slugs_absent,
        unparseable: v.unreadable.len(),
        unmatched,
        unmatched_slugs,
        unknown_verdicts: v.unknown_verdicts,
        ignored_files: v.ignored_files,
    }
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
        if !opts.allow_dangling {
            self.verify_closed(repo)?;
        }
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
        tx.finish()?;
        Ok(commit)
    }

    /// Refuse a result that references a record the prune deletes: the branch's records with
    /// the planned deletes and `authorId` patches applied must not hold a dangling reference
    /// the branch did not already hold (those are `reconcile`'s `danglingReferences`).
    fn verify_closed(&self, repo: &DataRepo) -> Result<(), Error> {
        let mut records = repo.read_tree_records(repo.tree_of(self.parent.base)?)?;
        let before: std::collections::HashSet<_> = records.dangling().into_iter().collect();
        let deleted: std::collections::HashSet<&str> =
            self.deletes.iter().map(String::as_str).collect();
        let patched: std::collections::HashSet<&str> =
            self.author_patches.iter().map(String::as_str).collect();
        for sheet in records.sheets.values_mut() {
            sheet.retain(|r| !deleted.contains(r.path.as_str()));
            for r in sheet
                .iter_mut()
                .filter(|r| patched.contains(r.path.as_str()))
            {
                r.record.remove("authorId");
            }
        }
        let made: Vec<_> = records
            .dangling()
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
        }
    }
}
