//! `probe`: smoke-test a target deployment of the rewrite with real samples and exact
//! expectations (DESIGN §3, `reference/E` §1.5 and §3–4).
//!
//! - [`plan`]: probe specs drawn deterministically from a data repo branch, plus fixed probes.
//! - [`legacy`]: the URL forms laddr served, from `laddr-fetch` lines, as probe specs.
//! - [`run`]: issue specs against a target: redirects never followed, per-request timeout,
//!   bounded concurrency, pacing under the rate limit, `Retry-After` honoured, warm-up retries.
//! - [`spec`]: the spec line and its expectation check; [`report`]: the `--json` report.
//! - [`sample`]: the reference's FNV-1a deterministic sample.
//! - [`watch`]: the T+1h watch (liveness every round, readiness and smoke every fifth, alarms).
//! - [`redirects`]: the ingress 301s (nginx `map` and JSON) for legacy links that failed.

#![deny(missing_docs)]

pub mod cli;
pub mod legacy;
pub mod plan;
pub mod redirects;
pub mod report;
pub mod run;
pub mod sample;
pub mod spec;
pub mod watch;

pub use plan::{Plan, PlanOptions, fixed_probes, plan};
pub use report::Report;
pub use run::{ProbeResult, Prober, RunOptions, RunOutcome, run};
pub use spec::{Expect, ProbeSpec};
