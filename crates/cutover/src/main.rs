//! `cutover`: thin binary over the `cutover` library. See `--help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cutover::cli::Cli::parse();
    match cutover::cli::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            eprintln!("cutover: error: {e}");
            ExitCode::from(2)
        }
    }
}
