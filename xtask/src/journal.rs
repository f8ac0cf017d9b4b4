//! What the dry run and the T-0 delta share about their stages: every step run, and the notes
//! that tell the operator which stage failed and which log to read.

use crate::pipeline::{Import, Step};
use serde_json::Value;

#[derive(Default)]
pub struct Journal {
    pub steps: Vec<Step>,
    pub notes: Vec<String>,
}

/// The import as the journal saw it.
pub struct Imported {
    /// Everything fetched and written, no validation error.
    pub ok: bool,
    /// sheet-write wrote its snapshot (exit 0 or 1).
    pub wrote: bool,
    /// sheet-write's report.
    pub report: Option<Value>,
}

impl Journal {
    /// Keeps the import's two steps; a failed import gets a note naming both logs.
    pub fn import(&mut self, import: Import) -> Imported {
        let ok = import.ok();
        if !ok {
            self.notes.push(format!(
                "import: laddr-fetch exit {:?}, sheet-write exit {:?}, {} validation error(s); see {} and {}",
                import.fetch.exit,
                import.write.exit,
                import.validation_errors(),
                import.fetch.log,
                import.write.log
            ));
        }
        let media_failed = import.media_failed();
        if media_failed > 0 {
            self.notes.push(format!(
                "import: {media_failed} medium/media could not be fetched (fetch.json media.failed); their records keep what they have; see {}",
                import.fetch.log
            ));
        }
        let wrote = import.write.exit.is_some_and(|c| c <= 1);
        self.steps.extend([import.fetch, import.write]);
        Imported {
            ok,
            wrote,
            report: import.report,
        }
    }

    /// Keeps spam-prune's step; a failure gets a note naming its log. Returns whether it passed.
    pub fn prune(&mut self, step: Step) -> bool {
        let ok = step.ok();
        if !ok {
            self.notes.push(format!(
                "prune: spam-prune exit {:?}; see {}",
                step.exit, step.log
            ));
        }
        self.steps.push(step);
        ok
    }

    /// Keeps reconcile's steps; each failure gets a note naming its log. Returns whether all
    /// passed.
    pub fn reconcile(&mut self, steps: Vec<Step>) -> bool {
        let ok = steps.iter().all(Step::ok);
        for step in steps.iter().filter(|s| !s.ok()) {
            self.notes.push(format!(
                "reconcile: `{}` exit {:?}; see {}",
                step.command, step.exit, step.log
            ));
        }
        self.steps.extend(steps);
        ok
    }
}
