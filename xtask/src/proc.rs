//! Running child processes: the workspace root, cargo, and peak memory of a child.

use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus};
use std::time::{Duration, Instant};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."))
}

pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Run a command to completion, failing with its name when it fails.
pub fn run(cmd: &mut Command) -> crate::Result<()> {
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run {cmd:?}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{cmd:?} failed: {status}"))
    }
}

/// What a finished child cost.
pub struct Measured {
    pub status: ExitStatus,
    pub wall: Duration,
    /// Peak resident set size in bytes.
    pub peak_rss: u64,
}

/// Wait for a child and read its own peak RSS (wait4), not the maximum over all children.
pub fn wait_measured(child: Child, started: Instant) -> crate::Result<Measured> {
    let pid = child.id() as libc::pid_t;
    let mut status: libc::c_int = 0;
    // SAFETY: rusage is plain old data, for which all-zero bytes are a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our own unreaped child; `status` and `usage` are valid and writable.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    let wall = started.elapsed();
    if r < 0 {
        return Err(format!("wait4: {}", std::io::Error::last_os_error()));
    }
    std::mem::forget(child); // already reaped
    use std::os::unix::process::ExitStatusExt;
    Ok(Measured {
        status: ExitStatus::from_raw(status),
        wall,
        peak_rss: usage.ru_maxrss as u64 * 1024,
    })
}
