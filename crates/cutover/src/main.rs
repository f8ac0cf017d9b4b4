//! `cutover`: thin binary over the `cutover` library. See `--help`.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let args = cutover::command::Cli::parse();
    cli::finish("cutover", cutover::command::run(args))
}
