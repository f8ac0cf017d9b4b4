//! `mailer`: thin binary over the `mailer` library. See `--help`.

use std::process::ExitCode;

use clap::Parser;
use mailer::cli::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match mailer::app::run(cli.command) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("mailer: error: {e}");
            ExitCode::from(2)
        }
    }
}
