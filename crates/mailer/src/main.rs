//! `mailer`: thin binary over the `mailer` library. See `--help`.

use std::process::ExitCode;

use clap::Parser;
use mailer::cli::Cli;

fn main() -> ExitCode {
    let args = Cli::parse();
    cli::finish("mailer", mailer::app::run(args.command))
}
