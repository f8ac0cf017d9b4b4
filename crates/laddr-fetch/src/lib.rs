//! `laddr-fetch`: the command line over the `laddr` client (see docs/ndjson.md).
//!
//! - [`cli`]: the flags, the client options they give and the top-level error;
//! - [`fetch_totals`]: the `--totals` lines' totals;
//! - [`fetch_rows`]: every resource side by side, reported in order, with a progress bar on a
//!   terminal;
//! - [`fetch_media`]: the media those rows reference, into the media directory.

#![deny(missing_docs)]

pub mod cli;

use std::io::{self, IsTerminal};

use laddr::{
    Client, FetchError, Fetched, MediaFetcher, MediaReport, Report, Resource, ResourceReport,
};
use lines::MediaLine;
use translate::MediaRefs;

/// Each resource's total. A total that does not come back is named on stderr and in the
/// report (`report.error`, so exit 1); the ones that did are kept, since the count diff can
/// still use them.
pub fn fetch_totals(
    client: &Client,
    resources: &[Resource],
    report: &mut Report,
) -> Vec<laddr::Totals> {
    let mut lines = Vec::new();
    for r in resources {
        match client.total(*r) {
            Ok(total) => {
                lines.push(laddr::Totals {
                    resource: *r,
                    total,
                });
                report.resources.push(ResourceReport {
                    resource: r.name().into(),
                    total: Some(total),
                    requests: 1,
                    ..Default::default()
                });
            }
            Err(e) => {
                eprintln!("laddr-fetch: {}: total not fetched: {e}", r.name());
                report
                    .error
                    .get_or_insert_with(|| format!("{}: {e}", r.name()));
            }
        }
    }
    report.ok = report.error.is_none();
    lines
}

/// Every resource, fetched side by side and reported in order: a progress bar on a terminal
/// (unless `quiet`) over all of them, a summary line and any problems per resource on stderr.
/// The first fatal error stops the run.
pub fn fetch_rows(
    client: Client,
    resources: &[Resource],
    quiet: bool,
) -> Result<Vec<Fetched>, FetchError> {
    let progress = (!quiet && io::stderr().is_terminal()).then(progress_bar);
    let client = match &progress {
        Some(pb) => client.with_progress(overall_progress(pb.clone(), resources)),
        None => client,
    };
    let fetched = client.fetch_all(resources, |f| {
        if !quiet {
            let line = summary_line(&f.report);
            match &progress {
                Some(pb) => pb.println(line),
                None => eprintln!("{line}"),
            }
        }
        for p in f.report.problems() {
            eprintln!("laddr-fetch: {p}");
        }
    });
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    fetched
}

/// The progress bar's callback: rows so far over the totals known so far, summed over the
/// resources fetched together.
fn overall_progress(
    pb: indicatif::ProgressBar,
    resources: &[Resource],
) -> Box<laddr::client::ProgressFn> {
    let each = std::sync::Mutex::new(vec![(0u64, 0u64); resources.len()]);
    let resources = resources.to_vec();
    Box::new(move |r, seen, total| {
        let Some(i) = resources.iter().position(|x| *x == r) else {
            return;
        };
        let mut each = each.lock().unwrap_or_else(|e| e.into_inner());
        each[i] = (seen, total.unwrap_or(each[i].1));
        let (seen, total) = each.iter().fold((0, 0), |(s, t), (a, b)| (s + a, t + b));
        pb.set_length(total.max(seen));
        pb.set_position(seen);
    })
}

/// The media `fetched` rows reference ([`translate::media_references`]'s rule), each as
/// `(media ID, path on the source)`, by ID.
pub fn referenced_media(fetched: &[Fetched]) -> Vec<(u64, String)> {
    let mut refs = MediaRefs::default();
    for f in fetched {
        for raw in f.rows.values() {
            refs.add_raw(f.resource, raw.get());
        }
    }
    refs.into_refs()
        .into_iter()
        .map(|r| (r.id, r.url_path))
        .collect()
}

/// The media `fetched` rows reference into the fetcher's directory (or, offline, from it):
/// a progress bar on a terminal (unless `quiet`), a summary line and one line per failed
/// medium on stderr. Nothing here is fatal (the fetcher was set up before any row went out).
pub fn fetch_media(
    fetched: &[Fetched],
    fetcher: &MediaFetcher,
    quiet: bool,
) -> (Vec<MediaLine>, MediaReport) {
    let wanted = referenced_media(fetched);
    let progress = (!quiet && io::stderr().is_terminal()).then(|| {
        let pb = progress_bar();
        pb.set_message("media");
        pb.set_length(wanted.len() as u64);
        pb
    });
    let tick = progress
        .clone()
        .map(|pb| move |done: u64, _total: u64| pb.set_position(done));
    let (lines, report) = fetcher.fetch_all(
        &wanted,
        tick.as_ref().map(|t| t as &laddr::media::MediaProgress),
    );
    if let Some(pb) = &progress {
        pb.finish_and_clear();
    }
    if !quiet {
        eprintln!("{}", media_summary_line(&report));
    }
    // The earlier run named the ones it found broken for good: count them here.
    for f in report.failed.iter().filter(|f| !f.earlier) {
        eprintln!("laddr-fetch: media {} ({}): {}", f.id, f.url, f.reason);
    }
    if report.known_failed > 0 {
        eprintln!(
            "laddr-fetch: media: {} failed for good in an earlier run into {}, not asked again (--media-retry-failed asks; their lines and the report name them)",
            report.known_failed,
            fetcher.dir().display()
        );
    }
    (lines, report)
}

/// The stderr line after the media.
pub fn media_summary_line(rep: &MediaReport) -> String {
    format!(
        "laddr-fetch: media: {} referenced, {} fetched ({} bytes), {} already present, {} failed ({} as in an earlier run, not asked again), {} requests, {} retries, {:.1}s",
        rep.referenced,
        rep.fetched,
        rep.bytes_fetched,
        rep.already_present,
        rep.failed.len(),
        rep.known_failed,
        rep.requests,
        rep.retries,
        rep.duration_ms as f64 / 1000.0
    )
}

/// The stderr line after each resource.
pub fn summary_line(rep: &ResourceReport) -> String {
    format!(
        "laddr-fetch: {}: {} rows (total {}), {} pages, {} requests, {} retries, {:.1}s",
        rep.resource,
        rep.rows,
        rep.total.map_or("?".to_string(), |t| t.to_string()),
        rep.pages,
        rep.requests,
        rep.retries,
        rep.duration_ms as f64 / 1000.0
    )
}

fn progress_bar() -> indicatif::ProgressBar {
    let pb = indicatif::ProgressBar::new(0);
    pb.set_message("rows");
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg:>16} [{bar:40}] {pos}/{len} {elapsed}")
    {
        pb.set_style(style.progress_chars("=> "));
    }
    pb
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_line_names_the_counts() {
        let rep = ResourceReport {
            resource: "tags".into(),
            rows: 10,
            total: None,
            pages: 2,
            requests: 3,
            retries: 1,
            duration_ms: 1250,
            ..Default::default()
        };
        assert_eq!(
            summary_line(&rep),
            "laddr-fetch: tags: 10 rows (total ?), 2 pages, 3 requests, 1 retries, 1.2s"
        );
    }
}
