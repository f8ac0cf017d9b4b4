//! `sheet-write`: see `sheet-write --help`.

use clap::Parser;
use sheet_write::{Run, emit_records, import, summary};
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "sheet-write",
    version,
    about = "Translate laddr rows (laddr-fetch NDJSON on stdin) into the rewrite's records and write one snapshot commit per sheet onto a branch of a bare data repo.",
    after_help = "Input: laddr-fetch NDJSON. The run is a snapshot: every record whose row is not in the input is deleted. So it refuses (exit 2, nothing written, --dry-run included) input with no rows of a resource (--allow-missing-resources overrides) and input whose laddr-fetch end line says a resource is incomplete ({\"v\":1,\"resource\":…,\"end\":{…,\"complete\":false}}: rows lost, or fetched with --limit), or whose end line never arrived (a cut pipe); --allow-incomplete imports it anyway, warns and exits 1. Input without end lines (hand-made NDJSON) is taken as whole. --emit-records writes nothing and is never refused for either.

Exit codes: 0 imported cleanly; 1 some rows were skipped for an error or failed validation, or incomplete input was imported with --allow-incomplete (see the report); 2 usage or fatal error (nothing written).

Examples:
  laddr-fetch --source-host=codeforphilly.org > laddr.ndjson
  sheet-write --data-repo=/scratch/codeforphilly-data --branch=legacy-import --dry-run < laddr.ndjson
  laddr-fetch | sheet-write --data-repo=/scratch/codeforphilly-data --branch=legacy-import --json=import-T-1.json
  sheet-write --emit-records --data-repo=/scratch/codeforphilly-data < laddr.ndjson | head
  sheet-write --data-repo=/scratch/codeforphilly-data --allow-incomplete < lossy.ndjson   # knowingly; exits 1"
)]
struct Cli {
    /// The bare data repo (`git clone --bare`).
    #[arg(long, env = "CFP_DATA_REPO_PATH")]
    data_repo: Option<PathBuf>,
    /// Branch to write; created from `origin/<branch>` or a base ref on the first run.
    #[arg(long, default_value = "legacy-import")]
    branch: String,
    /// Refs to start a new branch from, tried in order.
    #[arg(long, value_delimiter = ',', default_value = "empty,main")]
    base: Vec<String>,
    /// The laddr host the rows came from (for commit messages and the report).
    #[arg(long, default_value = "codeforphilly.org")]
    source_host: String,
    /// The run timestamp and fallback clock, `YYYY-MM-DDTHH:MM:SS.sssZ` (default: now).
    #[arg(long)]
    now: Option<String>,
    /// Read laddr-fetch NDJSON from this file instead of stdin.
    #[arg(long)]
    input: Option<PathBuf>,
    /// Keep at most N rows per resource (as laddr-fetch --limit).
    #[arg(long, value_name = "N")]
    limit: Option<usize>,
    /// Compute everything, read the repo if it exists, write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Import even when a laddr resource has no rows at all. Refused by default: the run is a
    /// snapshot, so it would delete every record of that resource's sheets.
    #[arg(long)]
    allow_missing_resources: bool,
    /// Import even when laddr-fetch's end lines say a resource came back incomplete (rows lost,
    /// or `--limit`). Refused by default: the records of the missing rows would be deleted.
    #[arg(long)]
    allow_incomplete: bool,
    /// Print the translated records as NDJSON (sheet, path, record) instead of writing.
    #[arg(long, conflicts_with = "dry_run")]
    emit_records: bool,
    /// Refuse records whose free text (bio, overview, body, summary) holds an email address
    /// (default: keep them and warn; an email address as a whole field value is always refused).
    #[arg(long)]
    strict_free_text_pii: bool,
    /// Write the JSON report here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("[sheet-write] failed: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, String> {
    if cli.data_repo.is_none() && !cli.dry_run && !cli.emit_records {
        return Err("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)".into());
    }
    let now = match cli.now {
        Some(n) if translate::validate::is_datetime(&n) => n,
        Some(n) => {
            return Err(format!(
                "--now {n:?} is not a datetime like 2026-05-18T00:00:00.000Z"
            ));
        }
        None => translate::now_iso(),
    };
    let mut options = translate::Options::new(now.clone());
    options.pii.free_text_emails = cli.strict_free_text_pii;
    let input = match &cli.input {
        Some(p) => {
            let f = std::fs::File::open(p).map_err(|e| format!("{}: {e}", p.display()))?;
            translate::Input::read(std::io::BufReader::with_capacity(1 << 20, f))
        }
        None => translate::Input::read(std::io::stdin().lock()),
    };
    let mut input = input.map_err(|e| format!("reading laddr NDJSON: {e}"))?;
    if let Some(n) = cli.limit {
        input.truncate_each(n);
    }
    eprintln!(
        "[sheet-write] source-host={} data-repo={} branch={} dry-run={} limit={}",
        cli.source_host,
        cli.data_repo
            .as_ref()
            .map_or("(none)".into(), |p| p.display().to_string()),
        cli.branch,
        cli.dry_run,
        cli.limit.map_or("none".into(), |n| n.to_string()),
    );
    let run = Run {
        data_repo: cli.data_repo,
        branch: cli.branch,
        bases: cli.base,
        source_host: cli.source_host,
        run_at: now,
        dry_run: cli.dry_run,
        allow_missing_resources: cli.allow_missing_resources,
        allow_incomplete: cli.allow_incomplete,
        options,
        signature: None,
    };
    let report = if cli.emit_records {
        let (records, report) = emit_records(&run, &input).map_err(|e| e.to_string())?;
        let stdout = std::io::stdout();
        let mut out = BufWriter::with_capacity(1 << 16, stdout.lock());
        for r in &records {
            let line = lines::records::RecordLine::new(
                r.sheet,
                &r.path,
                serde_json::Value::Object(r.record.clone()),
            );
            if lines::write_json_line(&mut out, &line).is_err() {
                return Ok(ExitCode::SUCCESS); // stdout closed (`| head`): stop quietly
            }
        }
        if out.flush().is_err() {
            return Ok(ExitCode::SUCCESS);
        }
        report
    } else {
        import(&run, &input).map_err(|e| e.to_string())?
    };
    eprint!("{}", summary(&report));
    if let Some(path) = &cli.json {
        let text = serde_json::to_string_pretty(&report).map_err(|e| e.to_string())?;
        std::fs::write(path, text + "\n").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
