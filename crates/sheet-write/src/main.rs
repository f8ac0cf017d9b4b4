//! `sheet-write`: thin binary over the `sheet_write` library. See `sheet-write --help`.

use std::process::ExitCode;

use ::cli::{Exit, Ndjson};
use clap::Parser;
use sheet_write::cli::{Cli, Failure};
use sheet_write::{emit_records, import, summary};

fn main() -> ExitCode {
    ::cli::finish("sheet-write", run(Cli::parse()))
}

fn run(cli: Cli) -> Result<Exit, Failure> {
    let run = cli.run()?;
    let input = cli.read_input()?;
    eprintln!("{}", cli.settings_line());
    let report = if cli.emit_records {
        let (records, report) = emit_records(&run, &input)?;
        let mut out = Ndjson::stdout();
        for r in &records {
            let record = serde_json::Value::Object(r.record.clone());
            out.line(&lines::records::RecordLine::new(r.sheet, &r.path, record))?;
        }
        out.finish()?;
        report
    } else {
        import(&run, &input)?
    };
    eprint!("{}", summary(&report));
    ::cli::write_report(cli.json.as_deref(), &report)?;
    Ok(Exit::problems_if(!report.passed()))
}
