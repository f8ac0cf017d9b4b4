//! The pre-cutover checklist items a machine can check, each a [`Check`] with its evidence.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use private_store::{Credential, PrivateStore, Profile};
use serde_json::Value;

use crate::check::Check;

/// What to check and against what.
pub struct Options {
    /// Where the rewrite answers (default: the public URL).
    pub target: String,
    /// `https://codeforphilly.org`: its host's TTL and the OAuth callback are checked.
    pub public_url: String,
    /// DNS servers asked for the public host's TTL.
    pub resolvers: Vec<SocketAddr>,
    /// How long to wait for each DNS answer.
    pub dns_timeout: Duration,
    /// The bare data repo.
    pub data_repo: PathBuf,
    /// The runtime branch.
    pub branch: String,
    /// The runtime branch's remote; `None`: its configured push remote.
    pub remote: Option<String>,
    /// The dry-run report the checks read.
    pub dry_run_report: PathBuf,
    /// How old the dry-run report may be.
    pub max_age: Duration,
    /// The time the checks run at.
    pub now: jiff::Timestamp,
    /// The private store from the environment, or why it could not be configured.
    pub store: Result<PrivateStore, String>,
}

/// Runs every check, in checklist order.
pub fn run(o: &Options) -> Vec<Check> {
    let mut checks = Vec::new();
    match url::Url::parse(&o.public_url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
    {
        Some(host) => checks.extend(crate::dns::ttl_checks(&host, &o.resolvers, o.dns_timeout)),
        None => checks.push(Check::fail(
            "dns-ttl",
            format!("--public-url {:?} has no host", o.public_url),
        )),
    }
    checks.extend(store_checks(&o.store));
    checks.push(dry_run_check(&o.dry_run_report, o.max_age, o.now));
    let agent = crate::saml::agent();
    checks.push(crate::saml::metadata_check(&agent, &o.target, o.now));
    checks.push(crate::saml::github_redirect_check(
        &agent,
        &o.target,
        &o.public_url,
    ));
    checks.extend(data_repo_checks(o));
    checks
}

/// The bucket exists with versioning `Enabled`; the store loads.
pub fn store_checks(store: &Result<PrivateStore, String>) -> Vec<Check> {
    let store = match store {
        Ok(s) => s,
        Err(e) => {
            return vec![
                Check::fail("private-bucket-versioning", e.clone()),
                Check::fail("private-store-loads", e.clone()),
            ];
        }
    };
    let location = store.location("");
    let versioning = match store.versioning_status() {
        Ok(Some(s)) if s == "Enabled" => Check::pass(
            "private-bucket-versioning",
            format!("{location}: versioning Enabled"),
        ),
        Ok(Some(s)) => Check::fail(
            "private-bucket-versioning",
            format!(
                "{location}: versioning is {}, must be Enabled",
                if s.is_empty() {
                    "off (never enabled)"
                } else {
                    &s
                }
            ),
        ),
        Ok(None) => Check::fail(
            "private-bucket-versioning",
            format!(
                "{location}: a directory (STORAGE_BACKEND=filesystem) keeps no versions; production needs a versioned S3 bucket"
            ),
        ),
        Err(e) => Check::fail("private-bucket-versioning", e.to_string()),
    };
    let loads = match (store.load::<Profile>(), store.load::<Credential>()) {
        (Ok(p), Ok(c)) => Check::pass(
            "private-store-loads",
            format!("{} profile(s), {} legacy credential(s)", p.len(), c.len()),
        ),
        (Err(e), _) | (_, Err(e)) => Check::fail("private-store-loads", e.to_string()),
    };
    vec![versioning, loads]
}

/// The T-3 dry-run report exists, passed every stage, and is younger than `max_age`.
pub fn dry_run_check(path: &std::path::Path, max_age: Duration, now: jiff::Timestamp) -> Check {
    const ID: &str = "t3-dry-run-report";
    let shown = path.display();
    let report: Value = match std::fs::read_to_string(path)
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str(&t).map_err(|e| e.to_string()))
    {
        Ok(r) => r,
        Err(e) => return Check::fail(ID, format!("{shown}: {e}")),
    };
    let failed: Vec<&str> = report["stages"]
        .as_object()
        .map(|s| {
            s.iter()
                .filter(|(_, v)| v != &&Value::Bool(true))
                .map(|(k, _)| k.as_str())
                .collect()
        })
        .unwrap_or_else(|| vec!["(no stages)"]);
    let run_at = report["runAt"]
        .as_str()
        .and_then(|t| t.parse::<jiff::Timestamp>().ok());
    let Some(run_at) = run_at else {
        return Check::fail(ID, format!("{shown}: no readable runAt"));
    };
    let age = now.as_second() - run_at.as_second();
    let hours = |s: i64| format!("{:.1} h", s as f64 / 3600.0);
    let fresh = age >= 0 && (age as u64) <= max_age.as_secs();
    let passed = failed.is_empty() && report["passed"] == Value::Bool(true) && fresh;
    let stages = if failed.is_empty() {
        "every stage passed".to_owned()
    } else {
        format!("failed stage(s): {}", failed.join(", "))
    };
    Check::when(
        ID,
        passed,
        format!(
            "{shown}: run at {run_at}, {} old (limit {}), {stages}",
            hours(age),
            hours(max_age.as_secs() as i64)
        ),
    )
}

/// The data repo is bare, the runtime branch exists and has a push remote.
pub fn data_repo_checks(o: &Options) -> Vec<Check> {
    let repo = match sheets::DataRepo::open(&o.data_repo) {
        Ok(r) => r,
        Err(e) => return vec![Check::fail("data-repo-bare", e.to_string())],
    };
    let mut checks = vec![Check::pass(
        "data-repo-bare",
        format!("{} is a bare repository", o.data_repo.display()),
    )];
    let name = format!("refs/heads/{}", o.branch);
    checks.push(match repo.resolve(&name) {
        Ok(Some(id)) => Check::pass("runtime-branch", format!("{name} at {id}")),
        Ok(None) => Check::fail("runtime-branch", format!("{name} does not exist")),
        Err(e) => Check::fail("runtime-branch", e.to_string()),
    });
    let remote = match &o.remote {
        Some(r) => crate::remote::remote_url(&o.data_repo, r).map(|u| u.map(|u| (r.clone(), u))),
        None => crate::remote::push_remote(&o.data_repo, &o.branch),
    };
    checks.push(match remote {
        Ok(Some((n, u))) => Check::pass("push-remote", format!("{} pushes to {n} ({u})", o.branch)),
        Ok(None) => Check::fail(
            "push-remote",
            format!("{} has no push remote (no remote configured)", o.branch),
        ),
        Err(e) => Check::fail("push-remote", e.to_string()),
    });
    checks
}
