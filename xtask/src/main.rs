//! `cargo xtask <command>`: the project's automation. See `cargo xtask --help`.

mod bench;
mod dist;
mod dryrun;
mod fixture;
mod journal;
mod pages;
mod pipeline;
mod proc;
mod t0;
mod test;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "cargo xtask",
    about = "laddr-cutover automation: tests, fixtures, the dry-run pipeline, the T-0 delta, benchmarks",
    after_help = "Examples:\n  cargo xtask test                       # install test dependencies, run every test\n  cargo xtask dist                       # release binaries, completions, man pages in target/dist/\n  cargo xtask fixture --seed 1 --scale full --out /tmp/laddr-full\n  cargo xtask serve-laddr --port 8080    # the bundled fixture site on loopback\n  cargo xtask bench                      # every benchmark; rewrites docs/BENCHMARKS.md"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install what the tests need (the JavaScript interop stack, the S3 test server), then
    /// run every test of the workspace.
    Test(test::Args),
    /// Every tool in release with shell completions (bash, zsh, fish) and man pages, under
    /// target/dist/ (what an operator installs without the source tree).
    Dist(dist::Args),
    /// Generate a laddr fixture site into a directory.
    Fixture(fixture::FixtureArgs),
    /// Serve a laddr fixture site on loopback until interrupted.
    ServeLaddr(fixture::ServeArgs),
    /// Run the benchmarks and rewrite docs/BENCHMARKS.md.
    Bench(bench::Args),
    /// The T-3 rehearsal: fetch | import, count diff, merge, spam-prune, reconcile, smoke.
    /// With no arguments, on the embedded fixture site (the README's main command).
    DryRun(dryrun::Args),
    /// The scripted T-0 final delta: fetch | import, merge into the runtime branch,
    /// spam-prune, reconcile; prints the push command, never pushes.
    T0Delta(t0::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Test(a) => test::run(a),
        Command::Dist(a) => dist::run(a),
        Command::Fixture(a) => fixture::generate(a),
        Command::ServeLaddr(a) => fixture::serve(a),
        Command::Bench(a) => bench::run(a),
        Command::DryRun(a) => dryrun::run(a),
        Command::T0Delta(a) => t0::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::from(2)
        }
    }
}

/// Errors of xtask itself are reported as text; the tools it runs have their own reports.
pub type Result<T> = std::result::Result<T, String>;
