//! Issue 6: the real `reconcile` check on the pruned full-scale site, with a directory private
//! store holding profiles and legacy credentials for most live people.

use super::setup::{Ctx, NOW};
use super::{Args, Row, Section, mb, measure_runs, met, ratio, tool};
use sha1::{Digest, Sha1};
use std::io::Write;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

const GOAL: Duration = Duration::from_millis(250);

pub fn run(ctx: &Ctx, a: &Args, repo: &Path) -> crate::Result<Section> {
    let dir = ctx.dir().join("reconcile");
    let store = dir.join("private");
    std::fs::create_dir_all(&store).map_err(|e| format!("{}: {e}", store.display()))?;
    let (live, profiles, creds) = write_store(repo, &store)?;
    eprintln!(
        "xtask: bench reconcile: {live} live people, {profiles} profiles, {creds} legacy credentials; {} runs",
        a.runs
    );

    let baseline = measure_runs("git-ls-tree-people", &dir, a.runs, &[0], |_| {
        let mut c = tool("git");
        c.args(["ls-tree", "-r", "refs/heads/published", "people/"])
            .current_dir(repo)
            .stdout(Stdio::null());
        Ok(c)
    })?;
    let report = dir.join("report.json");
    // Exit 1: the check found gating problems (the people planted without a profile).
    let r = measure_runs("reconcile", &dir, a.runs, &[0, 1], |_| {
        let mut c = tool(ctx.bin("reconcile"));
        c.arg(format!("--data-repo={}", repo.display()))
            .arg(format!("--now={NOW}"))
            .arg(format!("--json={}", report.display()))
            .env("STORAGE_BACKEND", "filesystem")
            .env("CFP_PRIVATE_STORAGE_PATH", &store)
            .env_remove("CFP_DATA_REPO_PATH")
            .env_remove("CFP_DATA_BRANCH")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        Ok(c)
    })?;
    let rep: serde_json::Value = std::fs::read(&report)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| format!("{}: no reconcile report", report.display()))?;
    let count = |k: &str| rep[k].as_array().map_or(0, Vec::len);
    Ok(Section {
        title: format!(
            "reconcile: {} live people against {profiles} profiles and {creds} credentials",
            rep["publicPeopleCount"].as_u64().unwrap_or(0)
        ),
        what: format!(
            "The real `reconcile` release binary checks `published` of the repo the spam-prune real run left \
             against a directory private store (`STORAGE_BACKEND=filesystem`) made for the benchmark: a profile \
             for every live person but one in fifty, newsletter state for four in ten (three opted in with a \
             token, one opted out), a SHA-1 legacy credential for nine in ten. It found {} orphanPublic, {} \
             orphanPrivate, {} inconsistentNewsletter, {} drainedLegacyPasswords and {} credentialsWithoutProfile \
             (exit codes {:?}; 1 is expected from the planted orphans). The baseline is git listing the people \
             sheet; ratios are against it.",
            count("orphanPublic"),
            count("orphanPrivate"),
            count("inconsistentNewsletter"),
            count("drainedLegacyPasswords"),
            count("credentialsWithoutProfile"),
            r.codes
        ),
        rows: vec![
            Row {
                name: "baseline: `git ls-tree -r published people/`".into(),
                median: baseline.median,
                cpu: Some(baseline.cpu),
                peak_rss: baseline.peak_rss,
                ratio: "1.00x".into(),
            },
            Row {
                name: "reconcile (check)".into(),
                median: r.median,
                cpu: Some(r.cpu),
                peak_rss: r.peak_rss,
                ratio: ratio(r.median, baseline.median),
            },
        ],
        verdicts: vec![format!(
            "Under 0.25 s wall: {} ({:.3} s wall, {:.3} s CPU, peak {:.1} MB).",
            met(r.median < GOAL),
            r.median.as_secs_f64(),
            r.cpu.as_secs_f64(),
            mb(r.peak_rss)
        )],
    })
}

/// Write `profiles.jsonl` and `legacy-passwords.jsonl` for the live people of `published`
/// (schemas of reference/D §2.1–2.2). Returns (live people, profiles, credentials).
fn write_store(repo: &Path, store: &Path) -> crate::Result<(usize, usize, usize)> {
    let data = sheets::DataRepo::open(repo).map_err(|e| e.to_string())?;
    let read = data
        .read_sheet_at("refs/heads/published", "people")
        .map_err(|e| e.to_string())?;
    let mut profiles = Vec::new();
    let mut creds = Vec::new();
    let mut live = 0;
    for (i, rec) in read.records.iter().enumerate() {
        let r = &rec.record;
        if r.get("deletedAt").is_some_and(|v| !v.is_null()) {
            continue;
        }
        let Some(id) = r.get("id").and_then(|v| v.as_str()) else {
            continue;
        };
        live += 1;
        if i % 50 != 49 {
            let newsletter = match i % 10 {
                0..=2 => serde_json::json!({
                    "optedIn": true, "optedInAt": "2024-03-01T12:00:00.000Z", "optedOutAt": null,
                    "unsubscribeToken": token(id),
                }),
                3 => serde_json::json!({
                    "optedIn": false, "optedInAt": "2023-03-01T12:00:00.000Z",
                    "optedOutAt": "2024-03-01T12:00:00.000Z", "unsubscribeToken": token(id),
                }),
                _ => serde_json::Value::Null,
            };
            profiles.push(serde_json::json!({
                "personId": id,
                "email": format!("member{i}@example.org"),
                "emailRefreshedAt": NOW,
                "newsletter": newsletter,
                "updatedAt": NOW,
            }));
        }
        if i % 10 != 9 {
            creds.push(serde_json::json!({
                "personId": id,
                "passwordHash": hex(&Sha1::digest(format!("password-{i}").as_bytes())),
                "importedAt": NOW,
                "lastUsedAt": null,
            }));
        }
    }
    write_lines(&store.join("profiles.jsonl"), &profiles)?;
    write_lines(&store.join("legacy-passwords.jsonl"), &creds)?;
    Ok((live, profiles.len(), creds.len()))
}

/// A 43-character base64url-alphabet token, deterministic in the person id.
fn token(id: &str) -> String {
    let h = hex(&Sha1::digest(id.as_bytes()));
    format!("{h}tok")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn write_lines(path: &Path, lines: &[serde_json::Value]) -> crate::Result<()> {
    let f = std::fs::File::create(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut w = std::io::BufWriter::new(f);
    for l in lines {
        writeln!(w, "{l}").map_err(|e| format!("{}: {e}", path.display()))?;
    }
    w.flush().map_err(|e| format!("{}: {e}", path.display()))
}
