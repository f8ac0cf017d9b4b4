//! `cargo xtask t0-delta`: the scripted T-0 final delta (runbook T-0 0:01). Fetch with a page
//! cache kept for the record, `sheet-write` onto the import branch, merge it into the runtime
//! branch, `spam-prune`, `reconcile`; one JSON report with the commit ids to push. It never
//! pushes: it prints the push command.

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
    steps: Vec<Step>,
    notes: Vec<String>,
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

pub fn run(a: Args) -> crate::Result<ExitCode> {
    let started = Instant::now();
    let run_at = translate::now_iso();
    let work = a
        .work_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(format!("t0-delta-{}", run_at.replace([':', '.'], "-"))));
    std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
    let repo_arg = a.data_repo.display().to_string();
    // Refuses a non-bare path before anything runs.
    let repo = sheets::DataRepo::open(&a.data_repo).map_err(|e| e.to_string())?;
    let tools = Tools::build()?;
    let mut refs = Refs {
        import_before: tip(&repo, &a.import_branch)?.map(|c| c.to_string()),
        runtime_before: tip(&repo, &a.runtime_branch)?.map(|c| c.to_string()),
        ..Refs::default()
    };
    let source_args = match &a.source_url {
        Some(u) => vec!["--source-url".to_owned(), u.clone()],
        None => vec!["--source-host".to_owned(), a.source_host.clone()],
    };
    eprintln!(
        "[xtask] t0-delta: source={} data-repo={repo_arg} work={}",
        source_args[1],
        work.display()
    );
    let mut stages = Stages::default();
    let mut d = Durations::default();
    let mut steps = Vec::new();
    let mut notes = Vec::new();

    // 1. fetch | sheet-write onto the import branch.
    let t = Instant::now();
    let import = pipeline::import(
        &tools,
        &work,
        &pipeline::ImportArgs {
            source_args: &source_args,
            source_host: &a.source_host,
            data_repo: &repo_arg,
            branch: &a.import_branch,
            now: &run_at,
        },
    )?;
    stages.import = import.ok();
    if !stages.import {
        notes.push(format!(
            "import: laddr-fetch exit {:?}, sheet-write exit {:?}, {} validation error(s); see {} and {}",
            import.fetch.exit,
            import.write.exit,
            import.validation_errors(),
            import.fetch.log,
            import.write.log
        ));
    }
    let import_report = import.report.clone();
    let import_wrote = import.write.exit.is_some_and(|c| c <= 1);
    steps.extend([import.fetch, import.write]);
    if let Some(sheets) = import_report.as_ref().and_then(|r| r["sheets"].as_object()) {
        refs.import_commits = sheets
            .values()
            .filter_map(|s| s["commit"].as_str().map(str::to_owned))
            .collect();
    }
    d.import = t.elapsed().as_millis();

    // 2. merge the import branch into the runtime branch; on conflict, put the import
    //    branch back where it was, so the run leaves every ref as it found it.
    let t = Instant::now();
    let merge = if import_wrote {
        let sig = sheets::Signature::default();
        match sheets::merge_branch(
            &repo,
            &format!("refs/heads/{}", a.import_branch),
            &a.runtime_branch,
            &sig,
        ) {
            Ok(sheets::MergeOutcome::Conflicts { paths }) => {
                notes.push(format!(
                    "merge: {} and {} both changed {} record(s) differently; nothing written, the import branch is back at its old tip",
                    a.import_branch,
                    a.runtime_branch,
                    paths.len()
                ));
                restore_import(
                    &repo,
                    &a.import_branch,
                    refs.import_before.as_deref(),
                    &mut notes,
                );
                serde_json::json!({"outcome": "conflicts", "paths": paths})
            }
            Ok(outcome) => {
                stages.merge = true;
                merge_json(&outcome)
            }
            Err(e) => {
                notes.push(format!("merge: {e}"));
                serde_json::json!({"outcome": "error", "error": e.to_string()})
            }
        }
    } else {
        notes.push("merge: skipped, the import did not run".into());
        serde_json::json!({"outcome": "skipped"})
    };
    d.merge = t.elapsed().as_millis();

    // 3. spam-prune and 4. reconcile, only on a merged runtime branch.
    let (mut prune_report, mut reconcile_report) = (None, None);
    if stages.merge {
        let t = Instant::now();
        let (step, report) = pipeline::prune(
            &tools,
            &work,
            &repo_arg,
            &a.evaluations_ref,
            &a.runtime_branch,
        )?;
        stages.prune = step.ok();
        if !step.ok() {
            notes.push(format!(
                "prune: spam-prune exit {:?}; see {}",
                step.exit, step.log
            ));
        }
        steps.push(step);
        prune_report = report;
        d.prune = t.elapsed().as_millis();

        let t = Instant::now();
        let (rsteps, report) = pipeline::reconcile(
            &tools,
            &work,
            &repo_arg,
            &a.runtime_branch,
            a.credentials.as_deref(),
            &[],
        )?;
        stages.reconcile = rsteps.iter().all(Step::ok);
        for step in rsteps.iter().filter(|s| !s.ok()) {
            notes.push(format!(
                "reconcile: `{}` exit {:?}; see {}",
                step.command, step.exit, step.log
            ));
        }
        steps.extend(rsteps);
        reconcile_report = report;
        d.reconcile = t.elapsed().as_millis();
    }

    refs.import_after = tip(&repo, &a.import_branch)?.map(|c| c.to_string());
    refs.runtime_after = tip(&repo, &a.runtime_branch)?.map(|c| c.to_string());
    let passed = stages.import && stages.merge && stages.prune && stages.reconcile;
    let push_command = match (&refs.import_after, &refs.runtime_after) {
        (Some(i), Some(r)) if stages.merge => Some(format!(
            "git -C {repo_arg} push --atomic {} {i}:refs/heads/{} {r}:refs/heads/{}",
            a.remote, a.import_branch, a.runtime_branch
        )),
        _ => None,
    };
    d.total = started.elapsed().as_millis();
    let report = Report {
        run_at,
        source_host: a.source_host.clone(),
        data_repo: repo_arg,
        import_branch: a.import_branch.clone(),
        runtime_branch: a.runtime_branch.clone(),
        work_dir: work.display().to_string(),
        stages,
        passed,
        durations_ms: d,
        refs,
        import_report,
        merge,
        prune_report,
        reconcile_report,
        push_command,
        steps,
        notes,
    };
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    std::fs::write(work.join("report.json"), &text).map_err(|e| e.to_string())?;
    if let Some(p) = &a.json {
        std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display()))?;
    }
    eprint!("{}", summary(&report));
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn merge_json(outcome: &sheets::MergeOutcome) -> Value {
    use sheets::MergeOutcome as M;
    match outcome {
        M::UpToDate { tip } => serde_json::json!({"outcome": "up-to-date", "tip": tip.to_string()}),
        M::Created { tip } => serde_json::json!({"outcome": "created", "tip": tip.to_string()}),
        M::FastForward { from, to } => {
            serde_json::json!({"outcome": "fast-forward", "from": from.to_string(), "to": to.to_string()})
        }
        M::Merged {
            from,
            commit,
            base,
            readded,
        } => serde_json::json!({
            "outcome": "merged",
            "from": from.to_string(),
            "commit": commit.to_string(),
            "base": base.map(|b| b.to_string()),
            "readded": readded,
        }),
        M::Conflicts { paths } => serde_json::json!({"outcome": "conflicts", "paths": paths}),
    }
}

/// Move the import branch back to `before` (compare-and-swap from its current tip).
fn restore_import(
    repo: &sheets::DataRepo,
    branch: &str,
    before: Option<&str>,
    notes: &mut Vec<String>,
) {
    let name = format!("refs/heads/{branch}");
    let now = repo.resolve(&name).ok().flatten();
    let Some(before) = before.and_then(|b| sheets::ObjectId::from_hex(b.as_bytes()).ok()) else {
        notes.push(format!(
            "merge: {branch} did not exist before this run; it is left at the new import"
        ));
        return;
    };
    if now == Some(before) {
        return;
    }
    if let Err(e) = repo.update_ref(
        &name,
        now,
        before,
        &sheets::Signature::default(),
        "t0-delta: merge conflict, import undone",
    ) {
        notes.push(format!(
            "merge: could not put {branch} back at {before}: {e}"
        ));
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
