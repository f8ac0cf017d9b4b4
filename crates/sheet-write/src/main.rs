//! `sheet-write`: thin binary over the `sheet_write` library. See `sheet-write --help`.

use std::process::ExitCode;

use ::cli::{Exit, Ndjson};
use clap::Parser;
use sheet_write::cli::{Cli, Failure};
use sheet_write::{emit_records_with, import_with, read_parent, summary};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ::cli::finish("sheet-write", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    let run = cli.run()?;
    // The repo side needs no input: read it while laddr-fetch still streams the rows (the
    // repo stays on this thread; the input is read on another).
    let (input, side) = std::thread::scope(|s| {
        let input = s.spawn(|| cli.read_input());
        let side = read_parent(&run);
        (input.join(), side)
    });
    let input = input.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    eprintln!("{}", cli.settings_line());
    let report = if cli.emit_records {
        let (records, report) = emit_records_with(&run, &input, side)?;
        let mut out = Ndjson::stdout();
        for r in &records {
            let record = serde_json::Value::Object(r.record.clone());
            out.line(&lines::records::RecordLine::new(r.sheet, &r.path, record))?;
        }
        out.finish()?;
        report
    } else {
        let (report, spent) = import_with(&run, &input, side)?;
        std::mem::forget(spent);
        report
    };
    // The process ends next: freeing the parsed rows one by one would only delay the exit.
    std::mem::forget(input);
    eprint!("{}", summary(&report));
    ::cli::write_report(cli.json.as_deref(), &report)?;
    Ok(Exit::problems_if(!report.passed()))
}
