//! What a run tells the operator: one [`PrunedPerson`] NDJSON line per pruned person on
//! stdout, and the [`Report`] (`--json=FILE`, plus a summary on stderr).

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde::Serialize;

use crate::Class;
use crate::verdicts::{Evaluation, Unreadable, VerdictKind};

/// The NDJSON line format version (`"v"`): the workspace's, from `lines`.
pub const LINE_VERSION: u64 = lines::LINE_VERSION as u64;

/// One pruned (or, in a dry run, to-be-pruned) person: the line contract's `PrunedLine`, so
/// the writer and every reader share one definition.
pub use lines::prune::PrunedLine as PrunedPerson;

/// Per-person cascade counts (and the report's totals): the line contract's `Cascade`.
pub use lines::prune::Cascade as PersonCascade;

/// The deciding evaluations as the pruned line spells them.
pub(crate) fn verdict_lines(deciding: &[Evaluation]) -> Vec<lines::prune::Verdict> {
    deciding
        .iter()
        .map(|e| lines::prune::Verdict {
            evaluator: e.evaluator.clone(),
            verdict: e.verdict.as_ref().map(|k| verdict_name(k).to_owned()),
            confidence: e.confidence,
        })
        .collect()
}

fn verdict_name(kind: &VerdictKind) -> &'static str {
    match kind {
        VerdictKind::Spam => "spam",
        VerdictKind::Legit => "legit",
        VerdictKind::Uncertain => "uncertain",
    }
}

/// The classes as the pruned line names them (in the order given).
pub(crate) fn class_names(classes: &[Class]) -> Vec<String> {
    classes.iter().map(|c| c.as_str().to_owned()).collect()
}

/// Why each person on the branch was kept or pruned; every person counts in exactly one.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Reasons {
    /// No evaluation file for the slug.
    pub no_evaluation: usize,
    /// Evaluated, but no spam verdict at or above the threshold.
    pub not_confident_spam: usize,
    /// Confident spam, but some evaluator (any confidence) said legit.
    pub protected_by_legit: usize,
    /// Confident spam, no legit, but a project member.
    pub protected_by_membership: usize,
    /// Would be pruned, but an evaluation file of theirs could not be read: it might be a
    /// legit override, so they are kept until it is fixed.
    pub held_by_unreadable_evaluation: usize,
    /// Would be pruned, but in a class named by `--protect`.
    pub protected_by_class: usize,
    /// Would be pruned, but a record the prune keeps references them (a buzz poster, blog
    /// author, maintainer, …): held so no reference is left to no record. Always 0 with
    /// `--allow-dangling`, which prunes them and counts the references left.
    pub held_by_reference: usize,
    /// Pruned: confident spam, no legit verdict, no membership, no protected class.
    pub pruned: usize,
}

/// Counts about the evaluation records read.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluationCounts {
    /// Readable records.
    pub records: usize,
    /// Distinct slugs with at least one record (readable or not).
    pub slugs: usize,
    /// Slugs with a spam verdict at or above the threshold (the reference's "verdict-flagged
    /// slugs"), whether or not they are on the branch.
    pub flagged_slugs: usize,
    /// Flagged slugs with no person on the branch.
    pub flagged_slugs_absent: usize,
    /// Records that could not be read (listed in `unparseableRecords`).
    pub unparseable: usize,
    /// Readable records whose slug matches no person on the branch.
    pub unmatched: usize,
    /// Distinct slugs matching no person on the branch.
    pub unmatched_slugs: usize,
    /// Records with a verdict other than spam, legit or uncertain (ignored by the rule).
    pub unknown_verdicts: usize,
    /// Files under the sheet root that are not records.
    pub ignored_files: usize,
}

/// The machine report. The first keys are the reference's; the rest are ours.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// People on the branch before the run.
    pub people_before: usize,
    /// People pruned.
    pub pruned_people: usize,
    /// People on the branch after the run.
    pub people_after: usize,
    /// Confident spam kept because they are a project member.
    pub protected_by_membership: usize,
    /// Project memberships deleted.
    pub memberships_deleted: usize,
    /// Help-wanted interest records deleted.
    pub help_wanted_interest_deleted: usize,
    /// Tag assignments deleted.
    pub person_tag_assignments_deleted: usize,
    /// Project updates whose author was set to null.
    pub project_updates_author_nulled: usize,
    /// Files removed from pruned people's attachment folders.
    pub attachments_deleted: usize,
    /// Why each person was kept or pruned.
    pub reasons: Reasons,
    /// Pruned people per at-risk class (a person can be in several).
    pub at_risk: BTreeMap<Class, usize>,
    /// People kept by `--protect`, per class they are in.
    pub protected_by_class: BTreeMap<Class, usize>,
    /// References to pruned people that the cascade leaves in place, as the reference does.
    pub dangling_references: BTreeMap<&'static str, usize>,
    /// Counts about the evaluation records read.
    pub evaluations: EvaluationCounts,
    /// Evaluation records that could not be read.
    pub unparseable_records: Vec<Unreadable>,
    /// Records of the branch's own sheets that could not be read (not pruned, not swept).
    pub unreadable_branch_records: Vec<Unreadable>,
    /// The data repo's path.
    pub data_repo: String,
    /// The branch pruned.
    pub branch: String,
    /// The evaluations ref as given.
    pub evaluations_ref: String,
    /// The commit the evaluations ref resolved to.
    pub evaluations_commit: String,
    /// The branch commit the run read.
    pub base_commit: String,
    /// The spam-confidence threshold used.
    pub threshold: f64,
    /// The classes `--protect` named.
    pub protect: Vec<Class>,
    /// True when the run wrote nothing.
    pub dry_run: bool,
    /// When the run ran (ISO).
    pub run_at: String,
    /// The prune commit; null in a dry run or when nothing changed.
    pub commit: Option<String>,
    /// `dry-run`, `no-changes` or `committed`.
    pub result: &'static str,
}

impl Report {
    /// Whether the run found problems (exit 1): unreadable evaluation or branch records.
    pub fn has_problems(&self) -> bool {
        !self.unparseable_records.is_empty() || !self.unreadable_branch_records.is_empty()
    }

    /// The human summary for stderr, in the reference's `key: value` layout.
    pub fn write_summary(&self, mut w: impl Write) -> io::Result<()> {
        writeln!(w, "=== spam-prune report ===")?;
        let rows: [(&str, usize); 11] = [
            ("peopleBefore", self.people_before),
            ("prunedPeople", self.pruned_people),
            ("peopleAfter", self.people_after),
            ("protectedByMembership", self.protected_by_membership),
            ("protectedByLegit", self.reasons.protected_by_legit),
            ("protectedByClass", self.reasons.protected_by_class),
            ("heldByReference", self.reasons.held_by_reference),
            ("membershipsDeleted", self.memberships_deleted),
            (
                "helpWantedInterestDeleted",
                self.help_wanted_interest_deleted,
            ),
            (
                "personTagAssignmentsDeleted",
                self.person_tag_assignments_deleted,
            ),
            (
                "projectUpdatesAuthorNulled",
                self.project_updates_author_nulled,
            ),
        ];
        for (k, v) in rows {
            writeln!(w, "  {k:<29}{v}")?;
        }
        let at_risk: usize = self.at_risk.values().sum();
        if at_risk > 0 {
            let list: Vec<String> = self
                .at_risk
                .iter()
                .map(|(c, n)| format!("{c}={n}"))
                .collect();
            writeln!(w, "  {:<29}{}", "atRisk", list.join(" "))?;
        }
        let dangling: usize = self.dangling_references.values().sum();
        if dangling > 0 {
            writeln!(w, "  {:<29}{dangling}", "danglingReferences")?;
        }
        let e = &self.evaluations;
        writeln!(
            w,
            "  {:<29}{} records, {} slugs, {} flagged ({} absent), {} unmatched",
            "evaluations", e.records, e.slugs, e.flagged_slugs, e.flagged_slugs_absent, e.unmatched
        )?;
        if e.unparseable > 0 {
            writeln!(w, "  {:<29}{}", "unparseableEvaluations", e.unparseable)?;
        }
        if !self.unreadable_branch_records.is_empty() {
            writeln!(
                w,
                "  {:<29}{}",
                "unreadableBranchRecords",
                self.unreadable_branch_records.len()
            )?;
        }
        match (self.result, &self.commit) {
            ("committed", Some(c)) => writeln!(w, "commit: {c} on {}", self.branch),
            ("dry-run", _) => writeln!(w, "(dry-run: no writes performed)"),
            _ => writeln!(w, "(no changes: branch unchanged, idempotent)"),
        }
    }
}
