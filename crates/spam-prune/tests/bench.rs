//! The spam-prune benchmark, never part of the normal test run and without timed assertions:
//! `cargo test --release -p spam-prune --test bench -- --ignored --nocapture`.
//! It imports the full-scale fixture site (about 32,000 people) into a fresh bare repo, writes
//! its `spam-detection` branch (about 54,000 evaluations), then runs the release binary
//! under `/usr/bin/time`: a dry run, the real run, and the no-op re-run.

mod common;

use std::process::Command;
use std::time::Instant;

use fixtures::laddr::{Scale, generate};

/// `(wall seconds, peak RSS in KiB, stdout lines)` of one run of the binary.
fn measure(repo: &common::Repo, args: &[&str]) -> (f64, u64, usize) {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%e %M"])
        .arg(env!("CARGO_BIN_EXE_spam-prune"))
        .arg(format!("--data-repo={}", repo.path.display()))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default().to_owned();
    let mut parts = last.split_whitespace();
    let secs: f64 = parts.next().unwrap().parse().unwrap();
    let kib: u64 = parts.next().unwrap().parse().unwrap();
    let lines = out.stdout.iter().filter(|b| **b == b'\n').count();
    (secs, kib, lines)
}

#[test]
#[ignore = "benchmark: run explicitly"]
fn full_scale_dry_run_and_real_run() {
    let started = Instant::now();
    let site = generate(1, Scale::Full);
    let (repo, evals) = common::import_site(&site);
    println!(
        "setup: {} people, {} evaluations, {:.1} s",
        site.people.len(),
        evals.len(),
        started.elapsed().as_secs_f64()
    );
    for (name, args) in [
        ("dry-run", &["--dry-run"][..]),
        ("real run", &[][..]),
        ("no-op re-run", &[][..]),
    ] {
        let (secs, kib, lines) = measure(&repo, args);
        println!(
            "spam-prune {name}: {secs:.2} s, peak RSS {:.0} MB, {lines} people pruned",
            kib as f64 / 1024.0
        );
    }
    repo.fsck();
    // Keep a copy to profile against: SPAM_PRUNE_BENCH_KEEP=/tmp/prune-bench.git
    if let Ok(dest) = std::env::var("SPAM_PRUNE_BENCH_KEEP") {
        let ok = Command::new("cp")
            .args(["-r", repo.path.to_str().unwrap(), &dest])
            .status()
            .unwrap();
        assert!(ok.success());
    }
}
