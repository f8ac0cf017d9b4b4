//! The fetch benchmark, runnable on its own (never part of the normal test run, no timed
//! assertions): `cargo test --release -p laddr-fetch --test bench -- --ignored --nocapture`.
//! `cargo xtask bench` makes the same calls.

use std::time::Duration;

use fixtures::laddr::{Scale, generate};
use fixtures::laddr_server::{Faults, LaddrServer};

#[test]
#[ignore = "benchmark: run explicitly"]
fn fetch_full_scale_sequential_vs_concurrent() {
    let site = generate(1, Scale::Full);
    let server =
        LaddrServer::start(site, Faults::none().with_latency(Duration::from_millis(50))).unwrap();
    let seq = laddr::bench::fetch_all(&server.url(), 1).unwrap();
    let par = laddr::bench::fetch_all(&server.url(), 4).unwrap();
    assert_eq!(seq.rows, par.rows);
    for b in [&seq, &par] {
        println!(
            "concurrency {}: {} rows, {} requests, {:.2} s, {:.0} rows/s",
            b.concurrency,
            b.rows,
            b.requests,
            b.elapsed.as_secs_f64(),
            b.rows_per_sec()
        );
    }
    println!("speed-up: {:.2}x", par.rows_per_sec() / seq.rows_per_sec());
}
