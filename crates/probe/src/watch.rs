//! `probe watch`: the first hour after the flip (`reference/F` §5). `/api/health` every
//! interval; `/api/health/ready` and the smoke probes in the first round and every fifth one
//! after (rounds 1, 6, 11, …). Alarms, as the external monitors raise them: two liveness
//! failures in a row, or one readiness failure. The watch stops at the first alarm.
//!
//! Every request goes through one [`Prober`], so the pacing under the target's rate limit
//! spans all rounds. Readiness is judged on one answer (no warm-up retries): a monitor would
//! not wait either.

use std::io;
use std::thread;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::plan::fixed_probes;
use crate::run::{ProbeResult, Prober, RunError};
use crate::spec::{ProbeSpec, SPEC_VERSION};

/// The liveness and readiness probe names in [`fixed_probes`].
const HEALTH: &str = "health";
const READY: &str = "health-ready";

/// The watch's command-line flags (the target and run flags are the other subcommands').
#[derive(Debug, Clone, clap::Args)]
pub struct WatchArgs {
    /// Time between round starts: 60s, 500ms, 2m.
    #[arg(long, default_value = "60s", value_parser = short_duration)]
    pub interval: Duration,
    /// How long to watch: rounds = duration / interval (at least one).
    #[arg(long, default_value = "1h", value_parser = short_duration)]
    pub duration: Duration,
    /// Readiness and smoke probes every N-th round (1, N+1, 2N+1, …).
    #[arg(long, default_value_t = 5)]
    pub full_every: u64,
    /// Records per family in the smoke probes, when --data-repo is given.
    #[arg(long, default_value_t = 2)]
    pub sample: usize,
    /// Sampling seed for the smoke probes (default: the branch tip's commit id).
    #[arg(long)]
    pub seed: Option<String>,
}

/// `--interval` and `--duration`: `ms`, `s`, `m` or `h` (a bare number is seconds).
fn short_duration(s: &str) -> Result<Duration, cli::duration::BadDuration> {
    cli::duration::parse(s, cli::duration::SHORT)
}

/// Why a watch could not run on.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error("--interval must be longer than zero")]
    /// `--interval` is zero.
    ZeroInterval,
    #[error("--full-every must be at least 1")]
    /// `--full-every` is zero.
    ZeroFullEvery,
    #[error(transparent)]
    /// The prober could not start.
    Run(#[from] RunError),
    #[error("round {0}: the run returned no result for {1}")]
    /// A round's run gave no result for a probe it was given.
    NoResult(u64, &'static str),
    /// The round sink failed (e.g. a closed stdout).
    #[error("writing round {0}: {1}")]
    Output(u64, io::Error),
}

/// What to watch and how often.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    /// Time from one round's start to the next.
    pub interval: Duration,
    /// Rounds to run.
    pub rounds: u64,
    /// Every Nth round is a full one (readiness and smoke).
    pub full_every: u64,
    /// Probes run in full rounds besides readiness (liveness and readiness are left out).
    pub smoke: Vec<ProbeSpec>,
}

impl WatchOptions {
    /// `duration / interval` rounds (at least one) with `smoke` in every full round.
    pub fn new(args: &WatchArgs, smoke: Vec<ProbeSpec>) -> Result<WatchOptions, WatchError> {
        if args.interval.is_zero() {
            return Err(WatchError::ZeroInterval);
        }
        if args.full_every == 0 {
            return Err(WatchError::ZeroFullEvery);
        }
        let rounds = (args.duration.as_nanos() / args.interval.as_nanos()).max(1);
        Ok(WatchOptions {
            interval: args.interval,
            rounds: u64::try_from(rounds).unwrap_or(u64::MAX),
            full_every: args.full_every,
            smoke: smoke
                .into_iter()
                .filter(|s| s.name != HEALTH && s.name != READY)
                .collect(),
        })
    }

    fn is_full(&self, round: u64) -> bool {
        (round - 1).is_multiple_of(self.full_every)
    }
}

/// The smoke probes of a full round.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SmokeTally {
    /// Smoke probes run.
    pub probes: usize,
    /// Smoke probes that failed.
    pub failed: usize,
    /// `name: note` of each failed probe.
    pub failures: Vec<String>,
}

/// One round: the NDJSON line on stdout.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Round {
    /// Line format version.
    pub v: u32,
    /// This round's number (from 1).
    pub round: u64,
    /// Rounds planned.
    pub rounds: u64,
    /// When the round started (ISO, UTC).
    pub at: String,
    /// The liveness probe's result.
    pub health: ProbeResult,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The readiness probe's result (full rounds).
    pub ready: Option<ProbeResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The smoke probes' tally (full rounds).
    pub smoke: Option<SmokeTally>,
    /// Liveness failures in a row, ending with this round.
    pub liveness_streak: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The alarm this round raised, if any.
    pub alarm: Option<String>,
}

/// The watch's end: the last NDJSON line (`{"v":1,"end":{…}}`) and the `--json` report.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WatchEnd {
    /// Rounds run (fewer than planned after an alarm).
    pub rounds: u64,
    /// Rounds planned.
    pub planned: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The alarm that stopped the watch, if any.
    pub alarm: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    /// The round that raised it.
    pub alarm_round: Option<u64>,
    /// Liveness probes that failed.
    pub liveness_failures: u64,
    /// Readiness probes that failed.
    pub readiness_failures: u64,
    /// Failed smoke probes over all full rounds (no alarm: one failing route is not a
    /// rollback trigger, but the run does not pass).
    pub smoke_failures: u64,
    /// Rounds that started later than planned (a slow round or pacing held them up).
    pub late_rounds: u64,
    /// True when no alarm was raised and every probe passed.
    pub passed: bool,
}

/// The end line as written on stdout.
#[derive(Serialize)]
pub struct EndLine<'a> {
    /// Line format version.
    pub v: u32,
    /// The watch's end.
    pub end: &'a WatchEnd,
}

impl Round {
    /// The human line for stderr.
    pub fn human(&self) -> String {
        let status = |r: &ProbeResult| match r.status {
            Some(s) => format!("{s} ({} ms)", r.duration_ms),
            None => format!("no answer ({})", r.note.as_deref().unwrap_or("")),
        };
        let mut line = format!(
            "probe watch: round {}/{} {} health {}",
            self.round,
            self.rounds,
            self.at,
            status(&self.health)
        );
        if let Some(r) = &self.ready {
            line.push_str(&format!(" | ready {}", status(r)));
        }
        if let Some(s) = &self.smoke {
            line.push_str(&format!(" | smoke {}/{} ok", s.probes - s.failed, s.probes));
            for f in &s.failures {
                line.push_str(&format!("\n  smoke FAIL {f}"));
            }
        }
        if let Some(a) = &self.alarm {
            line.push_str(&format!("\n  ALARM {a}"));
        }
        line
    }
}

impl WatchEnd {
    /// The summary for stderr.
    pub fn human(&self) -> String {
        let verdict = match (&self.alarm, self.alarm_round) {
            (Some(a), Some(r)) => format!("ALARM in round {r}: {a}"),
            _ if self.smoke_failures > 0 => {
                format!("no alarm, but {} smoke probe failures", self.smoke_failures)
            }
            _ => "no alarm".to_owned(),
        };
        format!(
            "probe watch: {verdict}; {} of {} rounds, {} liveness and {} readiness failures, \
             {} late rounds; passed={}",
            self.rounds,
            self.planned,
            self.liveness_failures,
            self.readiness_failures,
            self.late_rounds,
            self.passed
        )
    }
}

/// The probe named `name` among the fixed probes; readiness without warm-up retries.
fn fixed(name: &str) -> Vec<ProbeSpec> {
    let mut specs: Vec<ProbeSpec> = fixed_probes()
        .into_iter()
        .filter(|s| s.name == name)
        .collect();
    for s in &mut specs {
        s.expect.warmup = false;
    }
    specs
}

/// Run one round's probes and judge them (alarm rules included), updating `end`.
fn round(
    prober: &Prober,
    opts: &WatchOptions,
    number: u64,
    streak: &mut u32,
    end: &mut WatchEnd,
) -> Result<Round, WatchError> {
    let at = cli::clock::now_iso();
    let full = opts.is_full(number);
    let mut specs = fixed(HEALTH);
    if full {
        specs.extend(fixed(READY));
        specs.extend(opts.smoke.iter().cloned());
    }
    let mut results = prober.run(&specs, |_| Ok(()))?.results.into_iter();
    let health = results.next().ok_or(WatchError::NoResult(number, HEALTH))?;
    let ready = match full {
        true => Some(results.next().ok_or(WatchError::NoResult(number, READY))?),
        false => None,
    };
    let smoke = full.then(|| {
        let rest: Vec<ProbeResult> = results.collect();
        let failures: Vec<String> = rest
            .iter()
            .filter(|r| !r.ok)
            .map(|r| format!("{}: {}", r.name, r.note.as_deref().unwrap_or("")))
            .collect();
        SmokeTally {
            probes: rest.len(),
            failed: failures.len(),
            failures,
        }
    });

    *streak = if health.ok { 0 } else { *streak + 1 };
    end.liveness_failures += u64::from(!health.ok);
    let mut alarm = None;
    if *streak >= 2 {
        alarm = Some(format!(
            "liveness: /api/health failed {streak} rounds in a row (rounds {}–{number}): {}",
            number + 1 - u64::from(*streak),
            health.note.as_deref().unwrap_or("")
        ));
    }
    if let Some(r) = ready.as_ref().filter(|r| !r.ok) {
        end.readiness_failures += 1;
        alarm.get_or_insert_with(|| {
            format!(
                "readiness: /api/health/ready failed in round {number}: {}",
                r.note.as_deref().unwrap_or("")
            )
        });
    }
    end.smoke_failures += smoke.as_ref().map_or(0, |s| s.failed as u64);
    Ok(Round {
        v: SPEC_VERSION,
        round: number,
        rounds: opts.rounds,
        at,
        health,
        ready,
        smoke,
        liveness_streak: *streak,
        alarm,
    })
}

/// Watch the target: `sink` gets every round as it ends; the watch stops after the round
/// that raised an alarm.
pub fn watch(
    prober: &Prober,
    opts: &WatchOptions,
    mut sink: impl FnMut(&Round) -> io::Result<()>,
) -> Result<WatchEnd, WatchError> {
    let mut end = WatchEnd {
        planned: opts.rounds,
        ..WatchEnd::default()
    };
    let mut streak = 0u32;
    let start = Instant::now();
    for number in 1..=opts.rounds {
        let offset = u32::try_from(number - 1).unwrap_or(u32::MAX);
        let due = start + opts.interval.saturating_mul(offset);
        let now = Instant::now();
        if due > now {
            thread::sleep(due - now);
        } else if now - due > opts.interval / 2 {
            end.late_rounds += 1;
        }
        let this = round(prober, opts, number, &mut streak, &mut end)?;
        end.rounds = number;
        sink(&this).map_err(|e| WatchError::Output(number, e))?;
        if let Some(a) = this.alarm {
            end.alarm = Some(a);
            end.alarm_round = Some(number);
            break;
        }
    }
    end.passed = end.alarm.is_none() && end.smoke_failures == 0;
    Ok(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(interval: u64, duration: u64) -> WatchArgs {
        WatchArgs {
            interval: Duration::from_millis(interval),
            duration: Duration::from_millis(duration),
            full_every: 5,
            sample: 2,
            seed: None,
        }
    }

    #[test]
    fn rounds_and_full_rounds() {
        let smoke = fixed_probes();
        let o = WatchOptions::new(&args(60_000, 3_600_000), smoke).unwrap();
        assert_eq!(o.rounds, 60);
        // Liveness and readiness are the watch's own; the rest are smoke.
        assert!(o.smoke.iter().all(|s| s.name != HEALTH && s.name != READY));
        assert_eq!(o.smoke.len(), fixed_probes().len() - 2);
        let full: Vec<u64> = (1..=12).filter(|r| o.is_full(*r)).collect();
        assert_eq!(full, [1, 6, 11]);
        assert_eq!(WatchOptions::new(&args(100, 50), vec![]).unwrap().rounds, 1);
        assert!(matches!(
            WatchOptions::new(&args(0, 50), vec![]),
            Err(WatchError::ZeroInterval)
        ));
    }

    #[test]
    fn readiness_is_judged_on_one_answer() {
        let ready = fixed(READY);
        assert_eq!(ready.len(), 1);
        assert_eq!(ready[0].path, "/api/health/ready");
        assert!(!ready[0].expect.warmup);
        assert_eq!(fixed(HEALTH)[0].path, "/api/health");
    }
}
