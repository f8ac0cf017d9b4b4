//! `sheet-write`: thin binary over the `sheet_write` library. See `sheet-write --help`.

use std::process::ExitCode;

use ::cli::{Exit, Ndjson};
use clap::Parser;
use sheet_write::cli::{Cli, Failure};
use sheet_write::{InputTail, emit_records_with, import_with, read_parent, summary};
use translate::Input;

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    ::cli::finish("sheet-write", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    let run = cli.run()?;
    let source = cli.input_source()?;
    std::thread::scope(|s| {
        // The repo side needs no input: read it while laddr-fetch still streams the rows.
        // The rows are handed over once complete and translated while laddr-fetch fetches
        // the media; the media lines that follow are read meanwhile on the reader's thread.
        let (rows_tx, rows_rx) = std::sync::mpsc::sync_channel(1);
        let reader = s.spawn(move || {
            Input::read_rows_first(source, |rows| {
                // Nobody waits only when this thread's caller already failed.
                let _ = rows_tx.send(rows);
            })
        });
        let side = read_parent(&run);
        let Ok(mut input) = rows_rx.recv() else {
            return Err(join(reader).err().map_or(Failure::NoRows, Failure::from));
        };
        cli.limit(&mut input);
        let tail = InputTail::Reading(Box::new(move || join(reader)));
        eprintln!("{}", cli.settings_line());
        let report = if cli.emit_records {
            let (records, report) = emit_records_with(&run, &input, side, tail)?;
            let mut out = Ndjson::stdout();
            for r in &records {
                let record = serde_json::Value::Object(r.record.clone());
                out.line(&lines::records::RecordLine::new(r.sheet, &r.path, record))?;
            }
            out.finish()?;
            report
        } else {
            let (report, spent) = import_with(&run, &input, side, tail)?;
            std::mem::forget(spent);
            report
        };
        // The process ends next: freeing the parsed rows one by one would only delay the exit.
        std::mem::forget(input);
        eprint!("{}", summary(&report));
        ::cli::write_report(cli.json.as_deref(), &report)?;
        Ok(Exit::problems_if(!report.passed()))
    })
}

/// The reader's result; its panic goes on as this thread's.
fn join<T>(reader: std::thread::ScopedJoinHandle<'_, T>) -> T {
    reader
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}
