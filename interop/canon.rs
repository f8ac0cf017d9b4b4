//! Rust side of `canon.mjs`, shared by the interop tests of `sheets` and `sheet-write`
//! (included with `#[path]`): run the JavaScript stack over NDJSON, and say which records we
//! write differently on purpose.

use serde_json::Value;
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// `node interop/canon.mjs ARGS` over NDJSON lines; one JSON value per output line.
pub fn run_node(args: &[&str], input: &str) -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../interop");
    assert!(
        ["@iarna/toml", "smol-toml", "sort-keys"]
            .iter()
            .all(|p| dir.join("node_modules").join(p).is_dir()),
        "the JavaScript interop stack is not installed: run `cargo xtask test` (or `npm ci` in {})",
        dir.display()
    );
    let mut child = Command::new("node")
        .arg("canon.mjs")
        .args(args)
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("node runs");
    let mut stdin = child.stdin.take().expect("stdin");
    let input = input.to_owned();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output().expect("node finishes");
    writer
        .join()
        .expect("writer")
        .expect("node reads its input");
    assert!(out.status.success(), "canon.mjs failed");
    String::from_utf8(out.stdout)
        .expect("UTF-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

/// Where @iarna escapes only the first control character of a string (per line of a
/// multi-line string), or writes one raw inside a literal string, it writes invalid TOML; we
/// escape every one on purpose (DESIGN §3), so such a value (or key) differs by design.
pub fn iarna_bug_applies(v: &Value) -> bool {
    let other =
        |c: char| matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}') && !"\u{8}\t\n\u{c}\r".contains(c);
    let bad = |s: &str| {
        let literal = s.contains('"') && !s.contains(['\'', '\u{8}', '\t', '\n', '\u{c}', '\r']);
        s.split('\n')
            .any(|l| l.chars().filter(|&c| other(c)).count() >= 2)
            || s.chars().filter(|&c| other(c)).count() >= 2
            || (literal && s.chars().any(other))
    };
    match v {
        Value::String(s) => bad(s),
        Value::Array(a) => a.iter().any(iarna_bug_applies),
        Value::Object(o) => o.iter().any(|(k, v)| bad(k) || iarna_bug_applies(v)),
        _ => false,
    }
}
