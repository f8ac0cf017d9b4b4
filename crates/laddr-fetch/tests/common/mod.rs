//! What the laddr-fetch process tests share: the binary, a run with fast retries, the small
//! fixture site and the `--json` report.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use fixtures::laddr::Site;
use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_laddr-fetch");

pub fn small_site() -> Site {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/laddr-small");
    Site::read_dir(&dir).unwrap()
}

pub struct Run {
    pub code: i32,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

/// Run the binary with fast retries and no politeness delay.
pub fn run(url: &str, extra: &[&str]) -> Run {
    let out = Command::new(BIN)
        .args([
            "--source-url",
            url,
            "--delay-ms",
            "0",
            "--retry-base-ms",
            "1",
            "--retry-max-ms",
            "5",
            "-q",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `--json` report at `path`.
pub fn report(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}
