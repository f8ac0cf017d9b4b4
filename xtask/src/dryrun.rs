//! `cargo xtask dry-run`: the T-3 rehearsal, end to end, every tool a process.
//!
//! With no arguments it runs on the embedded default: the committed small laddr site served on
//! loopback, a fresh bare data repo made from `testdata/data-repo-template`, the site's spam
//! evaluations and credentials export, and the stand-in target serving the result. With
//! `--source-host`, `--data-repo` and `--target` it runs the real rehearsal.

use crate::pipeline::{self, CountDiff, Step, Tools, read_json, run_tool};
use fixtures::laddr::Site;
use fixtures::laddr_server::{FaultKind, Faults, LaddrServer};
use fixtures::target::{TargetOptions, TargetServer};
use serde::Serialize;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

#[derive(clap::Args)]
pub struct Args {
    /// laddr host to rehearse against (https). Without it (and `--source-url`), the embedded
    /// fixture site is served on loopback.
    #[arg(long)]
    pub source_host: Option<String>,
    /// laddr base URL (e.g. a local fixture server), instead of `--source-host`.
    #[arg(long, conflicts_with = "source_host")]
    pub source_url: Option<String>,
    /// The bare data repo to import into (default: a fresh one in the work directory).
    #[arg(long)]
    pub data_repo: Option<PathBuf>,
    /// The rewrite to smoke-test (default with the embedded site: the stand-in target).
    #[arg(long)]
    pub target: Option<String>,
    /// Records of each kind to probe.
    #[arg(long, default_value_t = 10)]
    pub sample: usize,
    /// Sampling seed (default: the runtime branch tip, so the same data gives the same plan).
    #[arg(long)]
    pub seed: Option<String>,
    /// Evaluations ref for spam-prune.
    #[arg(long, default_value = "spam-detection")]
    pub evaluations_ref: String,
    /// laddr credentials export to import before reconcile (default with the embedded site:
    /// the site's own export). The private store comes from STORAGE_BACKEND & co., or a
    /// directory in the work directory for the embedded site.
    #[arg(long)]
    pub credentials: Option<PathBuf>,
    /// Write the report here (it is also printed on stdout).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Keep logs, reports and the repo here (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Test hook: plant a fault (`invalid-row`, `no-total`, `wrong-redirect`).
    #[arg(long, hide = true)]
    pub plant: Vec<String>,
}

/// The reference report shape (E §1.6) plus the stages the reference lacks.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Report {
    run_at: String,
    source_host: String,
    target: Option<String>,
    import_report: Option<Value>,
    count_diffs: Vec<CountDiff>,
    smoke_checks: Vec<Value>,
    stages: Stages,
    passed: bool,
    durations_ms: Durations,
    data_repo: String,
    merge: Option<String>,
    prune_report: Option<Value>,
    reconcile_report: Option<Value>,
    steps: Vec<Step>,
    notes: Vec<String>,
}

#[derive(Serialize, Default)]
struct Stages {
    import: bool,
    #[serde(rename = "countDiff")]
    count_diff: bool,
    smoke: bool,
    merge: bool,
    prune: bool,
    reconcile: bool,
}

#[derive(Serialize, Default)]
#[serde(rename_all = "camelCase")]
struct Durations {
    import: u128,
    count_diff: u128,
    merge: u128,
    prune: u128,
    reconcile: u128,
    smoke: u128,
    total: u128,
}

pub fn run(a: Args) -> crate::Result<ExitCode> {
    let started = Instant::now();
    let run_at = translate::now_iso();
    let (work, guard) = pipeline::work_dir(a.work_dir.as_deref())?;
    let embedded = a.source_host.is_none() && a.source_url.is_none();
    eprintln!("[xtask] dry-run: building the tools");
    let tools = Tools::build()?;

    // The laddr side.
    let mut site = None;
    let laddr = if embedded {
        let mut s = Site::read_dir(&fixtures::laddr::small_dir())
            .map_err(|e| format!("reading the fixture site: {e}"))?;
        if a.plant.iter().any(|p| p == "invalid-row") {
            plant_invalid_row(&mut s);
        }
        let server = LaddrServer::start(s.clone(), Faults::none())
            .map_err(|e| format!("cannot start the fixture laddr server: {e}"))?;
        site = Some(s);
        Some(server)
    } else {
        None
    };
    let source_args: Vec<String> = match (&laddr, &a.source_url, &a.source_host) {
        (Some(s), _, _) => vec!["--source-url".into(), s.url()],
        (None, Some(u), _) => vec!["--source-url".into(), u.clone()],
        (None, None, Some(h)) => vec!["--source-host".into(), h.clone()],
        _ => unreachable!("embedded covers the rest"),
    };
    let source_host = a
        .source_host
        .clone()
        .unwrap_or_else(|| "codeforphilly.org".into());

    // The data repo.
    let data_repo = match &a.data_repo {
        Some(p) => p.clone(),
        None => {
            let p = work.join("data.git");
            init_data_repo(&p)?;
            p
        }
    };
    let repo_arg = data_repo.display().to_string();
    eprintln!(
        "[xtask] dry-run: source={} data-repo={} work={}",
        source_args[1],
        repo_arg,
        work.display()
    );
    let mut steps = Vec::new();
    let mut notes = Vec::new();
    let mut stages = Stages::default();
    let mut d = Durations::default();

    // 1. import: laddr-fetch | sheet-write onto legacy-import.
    let t = Instant::now();
    let import = pipeline::import(
        &tools,
        &work,
        &pipeline::ImportArgs {
            source_args: &source_args,
            source_host: &source_host,
            data_repo: &repo_arg,
            branch: "legacy-import",
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
    steps.extend([import.fetch, import.write]);
    d.import = t.elapsed().as_millis();

    // 2. count diff against laddr's totals.
    let t = Instant::now();
    if let Some(server) = &laddr
        && a.plant.iter().any(|p| p == "no-total")
    {
        server.set_faults(Faults::none().with_rule(
            "project-buzz",
            None,
            1000,
            FaultKind::Status(503),
        ));
    }
    let totals_path = work.join("totals.ndjson");
    let mut totals = tools.cmd("laddr-fetch");
    totals.args(&source_args).arg("--totals");
    if embedded {
        totals.args(["--retries", "1", "--retry-base-ms", "20"]);
    }
    let step = run_tool(&work, "laddr-fetch-totals", totals, Some(&totals_path))?;
    let totals_text = std::fs::read_to_string(&totals_path).unwrap_or_default();
    let count_diffs = pipeline::count_diffs(&totals_text, import_report.as_ref());
    stages.count_diff = count_diffs.iter().all(|c| c.matched);
    for c in count_diffs.iter().filter(|c| !c.matched) {
        notes.push(match c.source_total {
            None => format!(
                "countDiff: laddr's total for {} could not be fetched (see {})",
                c.sheet, step.log
            ),
            Some(s) => format!(
                "countDiff: {} imported {} of laddr's {s}",
                c.sheet, c.imported_records
            ),
        });
    }
    steps.push(step);
    d.count_diff = t.elapsed().as_millis();

    // 3. merge legacy-import into published (in process: a merge is not a tool of its own).
    let t = Instant::now();
    let merge = match sheets::DataRepo::open(&data_repo)
        .map_err(|e| e.to_string())
        .and_then(|repo| {
            sheets::merge_branch(
                &repo,
                "refs/heads/legacy-import",
                "published",
                &sheets::Signature::default(),
            )
            .map_err(|e| e.to_string())
        }) {
        Ok(sheets::MergeOutcome::Conflicts { paths }) => {
            notes.push(format!("merge: conflicts in {}", paths.join(", ")));
            None
        }
        Ok(outcome) => Some(format!("{outcome:?}")),
        Err(e) => {
            notes.push(format!("merge: {e}"));
            None
        }
    };
    stages.merge = merge.is_some();
    d.merge = t.elapsed().as_millis();

    // 4. spam-prune the runtime branch.
    let t = Instant::now();
    if let Some(site) = &site {
        let repo = sheets::DataRepo::open(&data_repo).map_err(|e| e.to_string())?;
        fixtures::evaluations::write_branch(
            &repo,
            &a.evaluations_ref,
            &["published"],
            &fixtures::evaluations::generate(site),
        )
        .map_err(|e| format!("writing the fixture's evaluations: {e}"))?;
    }
    let (step, prune_report) =
        pipeline::prune(&tools, &work, &repo_arg, &a.evaluations_ref, "published")?;
    stages.prune = stages.merge && step.ok();
    if !step.ok() {
        notes.push(format!(
            "prune: spam-prune exit {:?}; see {}",
            step.exit, step.log
        ));
    }
    steps.push(step);
    d.prune = t.elapsed().as_millis();

    // 5. reconcile, after importing the credentials export.
    let t = Instant::now();
    let private = work.join("private");
    let private_env: Vec<(String, String)> = if embedded {
        std::fs::create_dir_all(&private).map_err(|e| e.to_string())?;
        vec![
            ("STORAGE_BACKEND".into(), "filesystem".into()),
            (
                "CFP_PRIVATE_STORAGE_PATH".into(),
                private.display().to_string(),
            ),
        ]
    } else {
        Vec::new()
    };
    let credentials = match (&a.credentials, &site) {
        (Some(p), _) => Some(p.clone()),
        (None, Some(site)) => {
            let p = work.join("credentials.csv");
            std::fs::write(&p, fixtures::credentials::csv(site)).map_err(|e| e.to_string())?;
            Some(p)
        }
        (None, None) => None,
    };
    let (rsteps, reconcile_report) = pipeline::reconcile(
        &tools,
        &work,
        &repo_arg,
        "published",
        credentials.as_deref(),
        &private_env,
    )?;
    stages.reconcile = rsteps.iter().all(Step::ok);
    for step in rsteps.iter().filter(|s| !s.ok()) {
        notes.push(format!(
            "reconcile: `{}` exit {:?}; see {}",
            step.command, step.exit, step.log
        ));
    }
    steps.extend(rsteps);
    d.reconcile = t.elapsed().as_millis();

    // 6. smoke: probe the target (the stand-in over the pruned branch by default).
    let t = Instant::now();
    let standin = if embedded && a.target.is_none() {
        let mut options = TargetOptions {
            now: Some(run_at.clone()),
            ..TargetOptions::default()
        };
        if a.plant.iter().any(|p| p == "wrong-redirect")
            && let Some(id) = site
                .as_ref()
                .and_then(|s| s.projects.first())
                .and_then(fixtures::laddr::row_id)
        {
            options
                .faults
                .push(fixtures::target::Fault::LegacyLocation {
                    legacy_id: id,
                    location: "/projects/not-the-right-slug".into(),
                });
        }
        Some(
            TargetServer::start(&data_repo, "published", options)
                .map_err(|e| format!("cannot start the stand-in target: {e}"))?,
        )
    } else {
        None
    };
    let target = a
        .target
        .clone()
        .or_else(|| standin.as_ref().map(|s| s.url()));
    let mut smoke_checks = Vec::new();
    if let Some(target) = &target {
        let mut probe = tools.cmd("probe");
        probe
            .args([
                "--target",
                target,
                "--data-repo",
                &repo_arg,
                "--branch",
                "published",
            ])
            .args(["--sample", &a.sample.to_string()])
            .args(["--json", &work.join("smoke.json").display().to_string()]);
        if let Some(seed) = &a.seed {
            probe.args(["--seed", seed]);
        }
        let step = run_tool(&work, "probe", probe, Some(&work.join("smoke.ndjson")))?;
        stages.smoke = step.ok();
        if !step.ok() {
            notes.push(format!(
                "smoke: probe exit {:?}; see {}",
                step.exit, step.log
            ));
        }
        steps.push(step);
        if let Some(r) = read_json(&work.join("smoke.json")) {
            smoke_checks = r["smokeChecks"].as_array().cloned().unwrap_or_default();
        }
    } else {
        notes.push("smoke: no --target given; the smoke stage did not run".into());
    }
    d.smoke = t.elapsed().as_millis();
    d.total = started.elapsed().as_millis();
    drop(standin);
    drop(laddr);

    let passed = stages.import
        && stages.count_diff
        && stages.smoke
        && stages.merge
        && stages.prune
        && stages.reconcile;
    let report = Report {
        run_at,
        source_host,
        target,
        import_report,
        count_diffs,
        smoke_checks,
        stages,
        passed,
        durations_ms: d,
        data_repo: repo_arg,
        merge,
        prune_report,
        reconcile_report,
        steps,
        notes,
    };
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    if let Some(p) = &a.json {
        std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display()))?;
    } else {
        print!("{text}");
    }
    eprint!("{}", summary(&report));
    // A failed rehearsal keeps its logs and repo, which the notes above point into.
    if !report.passed
        && let Some(dir) = guard
    {
        eprintln!(
            "logs, reports and the data repo are kept in {}",
            dir.keep().display()
        );
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn summary(r: &Report) -> String {
    use pipeline::stage_line;
    let d = &r.durations_ms;
    let mut s = String::from("\n=== dry-run ===\n");
    s.push_str(&format!(
        "runAt:      {}\nsourceHost: {}\ntarget:     {}\n",
        r.run_at,
        r.source_host,
        r.target.as_deref().unwrap_or("(none)")
    ));
    s.push_str(&stage_line("import", r.stages.import, d.import, ""));
    s.push_str(&stage_line(
        "countDiff",
        r.stages.count_diff,
        d.count_diff,
        "",
    ));
    for c in &r.count_diffs {
        s.push_str(&format!(
            "    {:<16} laddr {:>6}  imported {:>6}  {}\n",
            c.sheet,
            c.source_total.map_or("?".into(), |t| t.to_string()),
            c.imported_records,
            if c.matched { "ok" } else { "OUT OF TOLERANCE" }
        ));
    }
    s.push_str(&stage_line("merge", r.stages.merge, d.merge, ""));
    let prune = pipeline::prune_detail(r.prune_report.as_ref());
    s.push_str(&stage_line("prune", r.stages.prune, d.prune, &prune));
    s.push_str(&stage_line(
        "reconcile",
        r.stages.reconcile,
        d.reconcile,
        "",
    ));
    let failed: Vec<&Value> = r
        .smoke_checks
        .iter()
        .filter(|c| c["ok"] != Value::Bool(true))
        .collect();
    let smoke = format!("{} probes, {} failed", r.smoke_checks.len(), failed.len());
    s.push_str(&stage_line("smoke", r.stages.smoke, d.smoke, &smoke));
    for c in failed.iter().take(10) {
        s.push_str(&format!(
            "    {} {} → {} ({})\n",
            c["name"], c["url"], c["status"], c["note"]
        ));
    }
    s.push_str(&pipeline::notes_and_failures(&r.notes, &r.steps));
    s.push_str(&format!("passed: {}  ({} ms)\n", r.passed, d.total));
    s
}

/// A fresh bare data repo whose `empty` branch holds the committed sheet configs.
pub fn init_data_repo(path: &Path) -> crate::Result<()> {
    let repo = sheets::DataRepo::init_bare(path).map_err(|e| e.to_string())?;
    let dir = crate::proc::root().join("testdata/data-repo-template/.gitsheets");
    let mut files = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".toml") {
            files.push((
                name,
                std::fs::read(entry.path()).map_err(|e| e.to_string())?,
            ));
        }
    }
    files.sort();
    let mut tx = sheets::Transaction::begin_root(&repo, "empty").map_err(|e| e.to_string())?;
    tx.edit()
        .replace_dir(".gitsheets", files)
        .map_err(|e| e.to_string())?;
    tx.commit(&sheets::CommitSpec::new("sheet configs").trailer("Action", "init"))
        .map_err(|e| e.to_string())?;
    tx.finish().map_err(|e| e.to_string())?;
    Ok(())
}

/// A buzz headline over Zod's 200 characters (it is not truncated): a validation error.
fn plant_invalid_row(site: &mut Site) {
    if let Some(Value::Object(row)) = site.project_buzz.first_mut() {
        row.insert(
            "Headline".into(),
            Value::String("An overlong headline ".repeat(12)),
        );
    }
}
