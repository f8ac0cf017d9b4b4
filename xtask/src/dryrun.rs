//! `cargo xtask dry-run`: the T-3 rehearsal, end to end, every tool a process.
//!
//! With no arguments it runs on the embedded default: the committed small laddr site served on
//! loopback, a fresh bare data repo made from `testdata/data-repo-template`, the site's spam
//! evaluations and credentials export, and the stand-in target serving the result. With
//! `--source-host`, `--data-repo` and `--target` it runs the real rehearsal.

mod page;

use crate::journal::Journal;
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
    /// Write the report here instead of printing it on stdout (the summary still goes to
    /// stderr).
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Also write the report as an HTML page here (one is always written as `report.html` in
    /// the work directory).
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
    /// Keep logs, reports and the repo here (default: a temporary directory, removed after).
    #[arg(long, value_name = "DIR")]
    pub work_dir: Option<PathBuf>,
    /// Test hook: plant a fault (`invalid-row`, `no-total`, `wrong-redirect`, `evil-name`).
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
    /// sheet-write's media counts per sheet (`importReport.media`): `written`, `kept`,
    /// `failed` (`legacyId`, `mediaId`, `reason`), `removed`; null when it reported none.
    import_media: Option<Value>,
    count_diffs: Vec<CountDiff>,
    smoke_checks: Vec<Value>,
    stages: Stages,
    passed: bool,
    durations_ms: Durations,
    data_repo: String,
    /// The merge outcome as [`sheets::MergeOutcome::to_json`] gives it; null when the merge
    /// could not run.
    merge: Option<Value>,
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

/// The fixed inputs of every stage: the tools, the laddr side and the data repo.
struct Ctx<'a> {
    a: &'a Args,
    tools: Tools,
    work: PathBuf,
    run_at: String,
    /// No `--source-host`/`--source-url`: the embedded fixture site, served here.
    embedded: bool,
    site: Option<Site>,
    laddr: Option<LaddrServer>,
    source_args: Vec<String>,
    source_host: String,
    data_repo: PathBuf,
    repo_arg: String,
}

/// What the run has done so far: the stage results, their durations, the steps and notes.
#[derive(Default)]
struct Run {
    stages: Stages,
    d: Durations,
    log: Journal,
}

pub fn run(a: Args) -> crate::Result<ExitCode> {
    let started = Instant::now();
    let run_at = translate::now_iso();
    let (work, guard) = pipeline::work_dir(a.work_dir.as_deref())?;
    eprintln!("[xtask] dry-run: building the tools");
    let tools = Tools::build()?;
    let cx = Ctx::new(&a, tools, work, run_at)?;
    let mut run = Run::default();
    let import_report = run.import(&cx)?;
    let count_diffs = run.count_diff(&cx, import_report.as_ref())?;
    let merge = run.merge(&cx);
    let prune_report = run.prune(&cx)?;
    let reconcile_report = run.reconcile(&cx)?;
    let (target, smoke_checks) = run.smoke(&cx)?;
    run.d.total = started.elapsed().as_millis();
    let Ctx {
        run_at,
        source_host,
        repo_arg,
        laddr,
        work,
        ..
    } = cx;
    drop(laddr);

    let st = &run.stages;
    let passed = st.import && st.count_diff && st.smoke && st.merge && st.prune && st.reconcile;
    let report = Report {
        run_at,
        source_host,
        target,
        import_media: import_report
            .as_ref()
            .map(|r| r["media"].clone())
            .filter(|m| !m.is_null()),
        import_report,
        count_diffs,
        smoke_checks,
        stages: run.stages,
        passed,
        durations_ms: run.d,
        data_repo: repo_arg,
        merge,
        prune_report,
        reconcile_report,
        steps: run.log.steps,
        notes: run.log.notes,
    };
    let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())? + "\n";
    if let Some(p) = &a.json {
        std::fs::write(p, &text).map_err(|e| format!("{}: {e}", p.display()))?;
    } else {
        print!("{text}");
    }
    crate::pages::write(&page::page(&report), &work, a.html.as_deref())?;
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

impl<'a> Ctx<'a> {
    /// The laddr side (the embedded site served on loopback, or the given source) and the
    /// data repo (a fresh one in the work directory unless given).
    fn new(a: &'a Args, tools: Tools, work: PathBuf, run_at: String) -> crate::Result<Self> {
        let embedded = a.source_host.is_none() && a.source_url.is_none();
        let mut site = None;
        let laddr = if embedded {
            let mut s = Site::read_dir(&fixtures::laddr::small_dir())
                .map_err(|e| format!("reading the fixture site: {e}"))?;
            if a.plant.iter().any(|p| p == "invalid-row") {
                plant_invalid_row(&mut s);
            }
            if a.plant.iter().any(|p| p == "evil-name") {
                plant_evil_name(&mut s);
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
        Ok(Ctx {
            a,
            tools,
            work,
            run_at,
            embedded,
            site,
            laddr,
            source_args,
            source_host: a
                .source_host
                .clone()
                .unwrap_or_else(|| "codeforphilly.org".into()),
            data_repo,
            repo_arg,
        })
    }
}

impl Run {
    /// 1. import: laddr-fetch | sheet-write onto legacy-import.
    fn import(&mut self, cx: &Ctx<'_>) -> crate::Result<Option<Value>> {
        let t = Instant::now();
        let import = pipeline::import(
            &cx.tools,
            &cx.work,
            &pipeline::ImportArgs {
                source_args: &cx.source_args,
                source_host: &cx.source_host,
                data_repo: &cx.repo_arg,
                branch: "legacy-import",
                now: &cx.run_at,
                media_dir: None,
            },
        )?;
        let imported = self.log.import(import);
        self.stages.import = imported.ok;
        self.d.import = t.elapsed().as_millis();
        Ok(imported.report)
    }

    /// 2. count diff against laddr's totals ([`translate::count_diff`]).
    fn count_diff(
        &mut self,
        cx: &Ctx<'_>,
        import_report: Option<&Value>,
    ) -> crate::Result<Vec<CountDiff>> {
        let t = Instant::now();
        if let Some(server) = &cx.laddr
            && cx.a.plant.iter().any(|p| p == "no-total")
        {
            server.set_faults(Faults::none().with_rule(
                "project-buzz",
                None,
                1000,
                FaultKind::Status(503),
            ));
        }
        let totals_path = cx.work.join("totals.ndjson");
        let mut totals = cx.tools.cmd("laddr-fetch");
        totals.args(&cx.source_args).arg("--totals");
        if cx.embedded {
            totals.args(["--retries", "1", "--retry-base-ms", "20"]);
        }
        let step = run_tool(&cx.work, "laddr-fetch-totals", totals, Some(&totals_path))?;
        let totals_text = std::fs::read_to_string(&totals_path).unwrap_or_default();
        let count_diffs = pipeline::count_diffs(&totals_text, import_report);
        self.stages.count_diff = count_diffs.iter().all(|c| c.matched);
        for c in count_diffs.iter().filter(|c| !c.matched) {
            self.log.notes.push(match c.source_total {
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
        self.log.steps.push(step);
        self.d.count_diff = t.elapsed().as_millis();
        Ok(count_diffs)
    }

    /// 3. merge legacy-import into published (in process: a merge is not a tool of its own).
    fn merge(&mut self, cx: &Ctx<'_>) -> Option<Value> {
        let t = Instant::now();
        let merged = sheets::DataRepo::open(&cx.data_repo)
            .map_err(|e| e.to_string())
            .and_then(|repo| {
                sheets::merge_branch(
                    &repo,
                    "refs/heads/legacy-import",
                    "published",
                    &sheets::Signature::default(),
                )
                .map_err(|e| e.to_string())
            });
        let merge = match merged {
            Ok(outcome) => {
                if let sheets::MergeOutcome::Conflicts { paths } = &outcome {
                    self.log
                        .notes
                        .push(format!("merge: conflicts in {}", paths.join(", ")));
                } else {
                    self.stages.merge = true;
                }
                Some(outcome.to_json())
            }
            Err(e) => {
                self.log.notes.push(format!("merge: {e}"));
                None
            }
        };
        self.d.merge = t.elapsed().as_millis();
        merge
    }

    /// 4. spam-prune the runtime branch (with the fixture's evaluations on the embedded site).
    fn prune(&mut self, cx: &Ctx<'_>) -> crate::Result<Option<Value>> {
        let t = Instant::now();
        if let Some(site) = &cx.site {
            let repo = sheets::DataRepo::open(&cx.data_repo).map_err(|e| e.to_string())?;
            fixtures::evaluations::write_branch(
                &repo,
                &cx.a.evaluations_ref,
                &["published"],
                &fixtures::evaluations::generate(site),
            )
            .map_err(|e| format!("writing the fixture's evaluations: {e}"))?;
        }
        let (step, prune_report) = pipeline::prune(
            &cx.tools,
            &cx.work,
            &cx.repo_arg,
            &cx.a.evaluations_ref,
            "published",
        )?;
        let ok = self.log.prune(step);
        self.stages.prune = self.stages.merge && ok;
        self.d.prune = t.elapsed().as_millis();
        Ok(prune_report)
    }

    /// 5. reconcile, after importing the credentials export.
    fn reconcile(&mut self, cx: &Ctx<'_>) -> crate::Result<Option<Value>> {
        let t = Instant::now();
        let private = cx.work.join("private");
        let private_env: Vec<(String, String)> = if cx.embedded {
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
        let credentials = match (&cx.a.credentials, &cx.site) {
            (Some(p), _) => Some(p.clone()),
            (None, Some(site)) => {
                let p = cx.work.join("credentials.csv");
                std::fs::write(&p, fixtures::credentials::csv(site)).map_err(|e| e.to_string())?;
                Some(p)
            }
            (None, None) => None,
        };
        let (rsteps, reconcile_report) = pipeline::reconcile(
            &cx.tools,
            &cx.work,
            &cx.repo_arg,
            "published",
            credentials.as_deref(),
            &private_env,
        )?;
        self.stages.reconcile = self.log.reconcile(rsteps);
        self.d.reconcile = t.elapsed().as_millis();
        Ok(reconcile_report)
    }

    /// 6. smoke: probe the target (the stand-in over the pruned branch by default). Returns
    ///    the target probed and probe's checks.
    fn smoke(&mut self, cx: &Ctx<'_>) -> crate::Result<(Option<String>, Vec<Value>)> {
        let t = Instant::now();
        let standin = if cx.embedded && cx.a.target.is_none() {
            Some(start_standin(cx)?)
        } else {
            None
        };
        let target =
            cx.a.target
                .clone()
                .or_else(|| standin.as_ref().map(|s| s.url()));
        let mut smoke_checks = Vec::new();
        if let Some(target) = &target {
            let mut probe = cx.tools.cmd("probe");
            probe
                .args([
                    "--target",
                    target,
                    "--data-repo",
                    &cx.repo_arg,
                    "--branch",
                    "published",
                ])
                .args(["--sample", &cx.a.sample.to_string()])
                .args(["--json", &cx.work.join("smoke.json").display().to_string()]);
            if let Some(seed) = &cx.a.seed {
                probe.args(["--seed", seed]);
            }
            let step = run_tool(
                &cx.work,
                "probe",
                probe,
                Some(&cx.work.join("smoke.ndjson")),
            )?;
            self.stages.smoke = step.ok();
            if !step.ok() {
                self.log.notes.push(format!(
                    "smoke: probe exit {:?}; see {}",
                    step.exit, step.log
                ));
            }
            self.log.steps.push(step);
            if let Some(r) = read_json(&cx.work.join("smoke.json")) {
                smoke_checks = r["smokeChecks"].as_array().cloned().unwrap_or_default();
            }
        } else {
            self.log
                .notes
                .push("smoke: no --target given; the smoke stage did not run".into());
        }
        self.d.smoke = t.elapsed().as_millis();
        Ok((target, smoke_checks))
    }
}

/// The stand-in target over the runtime branch (with a planted wrong redirect on request).
fn start_standin(cx: &Ctx<'_>) -> crate::Result<TargetServer> {
    let mut options = TargetOptions {
        now: Some(cx.run_at.clone()),
        ..TargetOptions::default()
    };
    if cx.a.plant.iter().any(|p| p == "wrong-redirect")
        && let Some(id) = cx
            .site
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
    TargetServer::start(&cx.data_repo, "published", options)
        .map_err(|e| format!("cannot start the stand-in target: {e}"))
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
    let media = pipeline::media_detail(r.import_report.as_ref());
    s.push_str(&stage_line("import", r.stages.import, d.import, &media));
    s.push_str(&stage_line(
        "countDiff",
        r.stages.count_diff,
        d.count_diff,
        "",
    ));
    for c in &r.count_diffs {
        s.push_str(&format!(
            "    {:<16} laddr {:>6}  imported {:>6}  {}\n",
            c.sheet.as_str(),
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
    let configs = sheets::CommitSpec::new("sheet configs").trailer("Action", "init");
    fixtures::data_repo::init_with_configs(path, "empty", &configs).map_err(|e| e.to_string())?;
    Ok(())
}

/// A member whose laddr username is markup: the import's slug warning quotes it, so the page
/// must show it as text.
fn plant_evil_name(site: &mut Site) {
    if let Some(Value::Object(row)) = site.people.first_mut() {
        row.insert("Username".into(), Value::String(EVIL_NAME.into()));
    }
}

/// The username `evil-name` plants.
const EVIL_NAME: &str = "Mallory<script>document.title='owned'</script>";

/// A buzz headline over Zod's 200 characters (it is not truncated): a validation error.
fn plant_invalid_row(site: &mut Site) {
    if let Some(Value::Object(row)) = site.project_buzz.first_mut() {
        row.insert(
            "Headline".into(),
            Value::String("An overlong headline ".repeat(12)),
        );
    }
}
