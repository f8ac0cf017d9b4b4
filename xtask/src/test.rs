//! `cargo xtask test`: everything the test suite needs that is not a Rust crate, installed by
//! the project itself, then every test of the workspace.

use crate::proc::{cargo, root};
use std::process::{Command, ExitCode};

#[derive(clap::Args)]
pub struct Args {
    /// Extra arguments for `cargo test` (after `--`), e.g. a test name filter.
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    pub cargo_args: Vec<String>,
}

/// The S3-compatible server the private-store tests start (moto in server mode, from PyPI).
const MOTO: &str = "moto[server]==5.2.1";

pub fn run(args: Args) -> crate::Result<ExitCode> {
    ensure_js_stack()?;
    ensure_moto()?;
    ensure_groff();
    ensure_chromium()?;
    let status = cargo()
        .args(["test", "--workspace", "--no-fail-fast"])
        .args(&args.cargo_args)
        .status()
        .map_err(|e| format!("cannot run cargo test: {e}"))?;
    Ok(if status.success() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// `npm ci` the pinned JavaScript stack gitsheets 1.4.1 runs, for the interop tests.
fn ensure_js_stack() -> crate::Result<()> {
    let dir = root().join("interop");
    if dir.join("node_modules/.package-lock.json").is_file() {
        return Ok(());
    }
    eprintln!("xtask: installing the JavaScript interop stack (npm ci in interop/)");
    crate::proc::run(
        Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir),
    )
}

fn ensure_moto() -> crate::Result<()> {
    let have = Command::new("python3")
        .args(["-c", "import moto.server"])
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return Ok(());
    }
    eprintln!("xtask: installing {MOTO} (the S3-compatible server of the private-store tests)");
    crate::proc::run(Command::new("python3").args([
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        MOTO,
    ]))
}

/// groff renders the man pages `cargo xtask dist` writes (its test checks them), from Debian's
/// `groff-base`. A machine where apt-get cannot install it still runs every other test; that
/// one test then says it skipped.
fn ensure_groff() {
    let have = Command::new("groff")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if have {
        return;
    }
    eprintln!("xtask: installing groff-base (renders the man pages in the dist test)");
    if let Err(e) = apt_install(&["--no-install-recommends", "groff-base"]) {
        eprintln!("xtask: warning: groff-base not installed ({e}); the man page test will skip");
    }
}

/// Debian's Chromium, for the HTML report's browser tests (`--headless --dump-dom`).
fn ensure_chromium() -> crate::Result<()> {
    if std::path::Path::new("/usr/bin/chromium").exists() {
        return Ok(());
    }
    eprintln!("xtask: installing chromium (the HTML report's browser tests)");
    apt_install(&["chromium"])
}

/// `apt-get update`, then `apt-get install -y` of `args`, never asking (CI has no stdin).
fn apt_install(args: &[&str]) -> crate::Result<()> {
    let apt = |sub: &[&str]| {
        let mut cmd = Command::new("apt-get");
        cmd.env("DEBIAN_FRONTEND", "noninteractive").args(sub);
        crate::proc::run(&mut cmd)
    };
    apt(&["update", "-qq"])?;
    apt(&[&["install", "-y", "-qq"], args].concat())
}
