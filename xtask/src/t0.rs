//! `cargo xtask t0-delta`: the scripted T-0 final delta (runbook T-0 0:01). Fetch with a page
//! cache kept for the record, `sheet-write` onto the import branch, merge it into the runtime
//! branch, `spam-prune`, `reconcile`; one JSON report with the commit ids to push. It never
//! pushes: it prints the push command. The report is also a page, `report.html` in the work
//! directory (and `--html=FILE`).

mod page;

use crate::journal::{Imported, Journal};
use crate::pipeline::{self, Step, Tools};
use serde::Serialize;
use serde_json::Value;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// laddr host (https).
    #[arg(long, default_value = "codeforphilly.org")]
    pub source_host: String,
    /// laddr base URL instead of `https://<source-host>` (a rehearsal against a fixture).
    #[arg(long)]
    pub source_url: Option<String>,
    /// The bare data repo (the same one the T-1 import used).
    #[arg(long, env = "CFP_DATA_REPO_PATH")]
    pub data_repo: PathBuf,
    #[arg(long, default_value = "legacy-import")]
    pub import_branch: String,
    #[arg(long, default_value = "published")]
    pub runtime_branch: String,
    #[arg(long, default_value = "spam-detection")]
    pub evaluations_ref: String,
    /// A laddr credentials export to merge into the private store before the reconcile check.
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// Where the page cache, logs and reports are kept (default: ./t0-delta-<runAt>).
    #[arg(long)]
    pub work_dir: Option<PathBuf>,
    /// Write the report here too (it is always in the work directory as report.json).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the report as an HTML page here (one is always written as `report.html` in
    /// the work directory).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// The media directory the T-1 import filled (its work directory's `media`). laddr's
    /// media never change under their ID, so only media new since then are fetched, and
    /// media that failed for good then are not asked for again. Default: `<work-dir>/media`,
    /// empty in a new work directory (every medium is fetched again).
    #[arg(long, value_name = "DIR")]
    pub media_dir: Option<PathBuf>,
    /// Use the tools already built beside this xtask binary instead of running `cargo build`
    /// first (the T-1 run built them): keeps the build check out of the outage window.
    #[arg(long)]
    pub no_build: bool,
    /// An option passed on to `laddr-fetch`, e.g. `--fetch-arg=--concurrency=4` (repeatable).
    #[arg(long = "fetch-arg", value_name = "ARG", allow_hyphen_values = true)]
    pub fetch_args: Vec<String>,
    /// The git remote named in the printed push command.
    #[arg(long, default_value = "origin")]
    pub remote: String,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    run_at: String,
    source_host: String,
    data_repo: String,
    import_branch: String,
    runtime_branch: String,
    work_dir: String,
    stages: Stages,
    passed: bool,
    durations_ms: Durations,
    /// Branch tips before and after, and the commits this run made.
    refs: Refs,
    import_report: Option<Value>,
    merge: Value,
    prune_report: Option<Value>,
    reconcile_report: Option<Value>,
    push_command: Option<String>,
    /// The private store at T-0, for `cutover watch` and `cutover rollback export`.
    private_baseline: PrivateBaseline,
    steps: Vec<Step>,
    notes: Vec<String>,
}

/// When the private store's T-0 state was taken and, for the directory backend, the copy of its
/// files (a versioned bucket keeps its own history: versions after `at` are post-T-0 writes).
#[derive(Serialize)]
struct PrivateBaseline {
    at: String,
    dir: Option<String>,
}

/// Copies the directory backend's private files (`*.jsonl`, `*.json`) into `<work>/private-baseline`.
fn keep_private_baseline(work: &std::path::Path, notes: &mut Vec<String>) -> PrivateBaseline {
    let at = translate::now_iso();
    let source = match std::env::var("STORAGE_BACKEND").as_deref() {
        Ok("filesystem") => std::env::var_os("CFP_PRIVATE_STORAGE_PATH").map(PathBuf::from),
        _ => None,
    };
    let Some(source) = source else {
        return PrivateBaseline { at, dir: None };
    };
    let dest = work.join("private-baseline");
    let copied = std::fs::create_dir_all(&dest).and_then(|()| {
        for entry in std::fs::read_dir(&source)? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if path.is_file()
                && !name.starts_with('.')
                && (name.ends_with(".jsonl") || name.ends_with(".json"))
            {
                std::fs::copy(&path, dest.join(name))?;
            }
        }
        Ok(())
    });
    match copied {
        Ok(()) => PrivateBaseline {
            at,
            dir: Some(dest.display().to_string()),
        },
        Err(e) => {
            notes.push(format!(
                "private baseline: copying {}: {e}",
                source.display()
            ));
            PrivateBaseline { at, dir: None }
        }
    }
}

#[derive(Serialize, Default)]
struct Stages {
    import: bool,
    merge: bool,
    prune: bool,
    reconcile: bool,
}

#[derive(Serialize, Default)]
struct Durations {
    import: u128,
    merge: u128,
    prune: u128,
    reconcile: u128,
    total: u128,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Refs {
    import_before: Option<String>,
    import_after: Option<String>,
    runtime_before: Option<String>,
    runtime_after: Option<String>,
    import_commits: Vec<String>,
}

fn tip(repo: &sheets::DataRepo, branch: &str) -> crate::Result<Option<sheets::ObjectId>> {
    repo.resolve(&format!("refs/heads/{branch}"))
        .map_err(|e| e.to_string())
}

fn hex(id: Option<sheets::ObjectId>) -> Option<String> {
    id.map(|c| c.to_string())
}

/// What the run has done so far: the stage results, their durations, the steps and notes.
#[derive(Default)]
struct Run {
    stages: Stages,
    d: Durations,
    log: Journal,
    refs: Refs,
}

/// The fixed inputs of every stage.
struct Ctx<'a> {
    a: &'a Args,
    tools: Tools,
    work: PathBuf,
    repo: sheets::DataRepo,
    repo_arg: String,
    run_at: String,
}

pub fn run(a: Args) -> crate::Result<ExitCode> {
    let started = Instant::now();
    let run_at = translate::now_iso();
    let work = a
        .work_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("t0-delta-{}", run_at.replace([':', '.'], "-"))));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    // Refuses a non-bare path before anything runs.
    let repo = sheets::DataRepo::open(&a.data_repo).map_err(|e| e.to_string())?;
    let cx = Ctx {
        a: &a,
        tools: Tools::build_or_find(!a.no_build)?,
        repo_arg: a.data_repo.display().to_string(),
        work,
        repo,
        run_at,
    };
    let mut run = Run {
        refs: Refs {
            import_before: hex(tip(&cx.repo, &a.import_branch)?),
            runtime_before: hex(tip(&cx.repo, &a.runtime_branch)?),
            ..Refs::default()
        },
        ..Run::default()
    };
    let (import_report, import_wrote) = run.import(&cx)?;
    let merge = run.merge(&cx, import_wrote)?;
    let (prune_report, reconcile_report) = if run.stages.merge {
        run.prune_and_reconcile(&cx)?
    } else {
        (None, None)
    };
    run.d.total = started.elapsed().as_millis();
    let report = run.report(&cx, import_report, merge, prune_report, reconcile_report)?;
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    std::fs::write(cx.work.join("report.json"), &text).map_err(|e| e.to_string())?;
    if let Some(p) = &a.json {
        std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    crate::pages::write(&page::page(&report), &cx.work, a.html.as_deref())?;
    eprint!("{}", summary(&report));
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

impl Run {
    /// 1. fetch | sheet-write onto the import branch. Returns sheet-write's report and
    ///    whether it wrote (exit 0 or 1).
    fn import(&mut self, cx: &Ctx<'_>) -> crate::Result<(Option<Value>, bool)> {
        let t = Instant::now();
        let a = cx.a;
        let mut source_args = match &a.source_url {
            Some(u) => vec!["--source-url".to_owned(), u.clone()],
            None => vec!["--source-host".to_owned(), a.source_host.clone()],
        };
        source_args.extend(a.fetch_args.iter().cloned());
        eprintln!(
            "[xtask] t0-delta: source={} data-repo={} work={}",
            source_args[1],
            cx.repo_arg,
            cx.work.display()
        );
        let import = pipeline::import(
            &cx.tools,
            &cx.work,
            &pipeline::ImportArgs {
                source_args: &source_args,
                source_host: &a.source_host,
                data_repo: &cx.repo_arg,
                branch: &a.import_branch,
                now: &cx.run_at,
                media_dir: a.media_dir.as_deref(),
            },
        )?;
        let Imported { ok, wrote, report } = self.log.import(import);
        self.stages.import = ok;
        if let Some(sheets) = report.as_ref().and_then(|r| r["sheets"].as_object()) {
            self.refs.import_commits = sheets
                .values()
                .filter_map(|s| s["commit"].as_str().map(str::to_owned))
                .collect();
        }
        self.d.import = t.elapsed().as_millis();
        Ok((report, wrote))
    }

    /// 2. merge the import branch into the runtime branch; on conflict the import branch is
    ///    put back where it was ([`sheets::merge::merge_import`]).
    fn merge(&mut self, cx: &Ctx<'_>, import_wrote: bool) -> crate::Result<Value> {
        let t = Instant::now();
        let a = cx.a;
        if !import_wrote {
            self.log
                .notes
                .push("merge: skipped, the import did not run".into());
            return Ok(serde_json::json!({"outcome": "skipped"}));
        }
        let before = match &self.refs.import_before {
            Some(b) => Some(sheets::ObjectId::from_hex(b.as_bytes()).map_err(|e| e.to_string())?),
            None => None,
        };
        let sig = sheets::Signature::default();
        let merged = sheets::merge::merge_import(
            &cx.repo,
            &a.import_branch,
            before,
            &a.runtime_branch,
            &sig,
        );
        let value = match merged {
            Ok((outcome, undo)) => {
                if let sheets::MergeOutcome::Conflicts { paths } = &outcome {
                    self.log.notes.push(format!(
                        "merge: {} and {} both changed {} record(s) differently; nothing written, the import branch is back at its old tip",
                        a.import_branch,
                        a.runtime_branch,
                        paths.len()
                    ));
                    self.note_undo(&a.import_branch, undo);
                } else {
                    self.stages.merge = true;
                }
                outcome.to_json()
            }
            Err(e) => {
                self.log.notes.push(format!("merge: {e}"));
                serde_json::json!({"outcome": "error", "error": e.to_string()})
            }
        };
        self.d.merge = t.elapsed().as_millis();
        Ok(value)
    }

    fn note_undo(&mut self, branch: &str, undo: sheets::merge::ImportUndo) {
        use sheets::merge::ImportUndo as U;
        match undo {
            U::NotNeeded | U::Restored { .. } => {}
            U::NoEarlierTip => self.log.notes.push(format!(
                "merge: {branch} did not exist before this run; it is left at the new import"
            )),
            U::Failed { to, error } => self.log.notes.push(format!(
                "merge: could not put {branch} back at {to}: {error}"
            )),
        }
    }

    /// 3. spam-prune and 4. reconcile, on the merged runtime branch.
    fn prune_and_reconcile(
        &mut self,
        cx: &Ctx<'_>,
    ) -> crate::Result<(Option<Value>, Option<Value>)> {
        let a = cx.a;
        let t = Instant::now();
        let (step, prune_report) = pipeline::prune(
            &cx.tools,
            &cx.work,
            &cx.repo_arg,
            &a.evaluations_ref,
            &a.runtime_branch,
        )?;
        self.stages.prune = self.log.prune(step);
        self.d.prune = t.elapsed().as_millis();

        let t = Instant::now();
        let (rsteps, reconcile_report) = pipeline::reconcile(
            &cx.tools,
            &cx.work,
            &cx.repo_arg,
            &a.runtime_branch,
            a.credentials.as_deref(),
            &[],
        )?;
        self.stages.reconcile = self.log.reconcile(rsteps);
        self.d.reconcile = t.elapsed().as_millis();
        Ok((prune_report, reconcile_report))
    }

    /// The branch tips after the run, the verdict and the push command, in one report.
    fn report(
        mut self,
        cx: &Ctx<'_>,
        import_report: Option<Value>,
        merge: Value,
        prune_report: Option<Value>,
        reconcile_report: Option<Value>,
    ) -> crate::Result<Report> {
        let a = cx.a;
        let private_baseline = keep_private_baseline(&cx.work, &mut self.log.notes);
        self.refs.import_after = hex(tip(&cx.repo, &a.import_branch)?);
        self.refs.runtime_after = hex(tip(&cx.repo, &a.runtime_branch)?);
        let st = &self.stages;
        let passed = st.import && st.merge && st.prune && st.reconcile;
        let push_command = match (&self.refs.import_after, &self.refs.runtime_after) {
            (Some(i), Some(r)) if st.merge => Some(format!(
                "git -C {} push --atomic {} {i}:refs/heads/{} {r}:refs/heads/{}",
                cx.repo_arg, a.remote, a.import_branch, a.runtime_branch
            )),
            _ => None,
        };
        Ok(Report {
            run_at: cx.run_at.clone(),
            source_host: a.source_host.clone(),
            data_repo: cx.repo_arg.clone(),
            import_branch: a.import_branch.clone(),
            runtime_branch: a.runtime_branch.clone(),
            work_dir: cx.work.display().to_string(),
            stages: self.stages,
            passed,
            durations_ms: self.d,
            refs: self.refs,
            import_report,
            merge,
            prune_report,
            reconcile_report,
            push_command,
            private_baseline,
            steps: self.log.steps,
            notes: self.log.notes,
        })
    }
}

fn summary(r: &Report) -> String {
    use pipeline::stage_line;
    let d = &r.durations_ms;
    let mut s = String::from("\n=== t0-delta ===\n");
    s.push_str(&format!("runAt: {}  work: {}\n", r.run_at, r.work_dir));
    let commits = format!(
        "{} commit(s) on {}",
        r.refs.import_commits.len(),
        r.import_branch
    );
    s.push_str(&stage_line("import", r.stages.import, d.import, &commits));
    if let Some(sheets) = r
        .import_report
        .as_ref()
        .and_then(|i| i["sheets"].as_object())
    {
        for (name, sh) in sheets.iter().filter(|(_, sh)| sh["commit"].is_string()) {
            s.push_str(&format!(
                "    {name:<20} +{} ~{} -{}\n",
                sh["added"], sh["modified"], sh["deleted"]
            ));
        }
    }
    let outcome = r.merge["outcome"].as_str().unwrap_or("");
    s.push_str(&stage_line("merge", r.stages.merge, d.merge, outcome));
    for p in r.merge["paths"].as_array().into_iter().flatten() {
        s.push_str(&format!("    conflict: {}\n", p.as_str().unwrap_or("")));
    }
    let prune = pipeline::prune_detail(r.prune_report.as_ref());
    s.push_str(&stage_line("prune", r.stages.prune, d.prune, &prune));
    s.push_str(&stage_line(
        "reconcile",
        r.stages.reconcile,
        d.reconcile,
        "",
    ));
    s.push_str(&pipeline::notes_and_failures(&r.notes, &r.steps));
    s.push_str(&format!(
        "{} → {}\n{} → {}\n",
        r.import_branch,
        r.refs.import_after.as_deref().unwrap_or("(none)"),
        r.runtime_branch,
        r.refs.runtime_after.as_deref().unwrap_or("(none)")
    ));
    match &r.push_command {
        Some(cmd) if r.passed => {
            s.push_str(&format!("Nothing was pushed. To publish, run:\n  {cmd}\n"))
        }
        Some(cmd) => s.push_str(&format!(
            "Not passed: review before pushing. The push would be:\n  {cmd}\n"
        )),
        None => s.push_str("Nothing to push.\n"),
    }
    s.push_str(&format!("passed: {}  ({} ms)\n", r.passed, d.total));
    s
}
