//! `cargo xtask fixture` and `cargo xtask serve-laddr`.

use fixtures::laddr::{Scale, Site};
use fixtures::laddr_server::{Faults, LaddrServer};
use std::path::PathBuf;
use std::process::ExitCode;

/// The committed small fixture site.
pub fn small_site_dir() -> PathBuf {
    crate::proc::root().join("testdata/laddr-small")
}

#[derive(clap::Args)]
pub struct FixtureArgs {
    /// Seed of the generator: the same seed and scale give the same bytes.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// `small` (a few dozen rows per resource) or `full` (production-sized).
    #[arg(long, default_value = "small")]
    pub scale: Scale,
    /// Directory to write the site into (one NDJSON file per resource).
    #[arg(long)]
    pub out: PathBuf,
}

pub fn generate(a: FixtureArgs) -> crate::Result<ExitCode> {
    let site = fixtures::laddr::generate(a.seed, a.scale);
    site.write_dir(&a.out)
        .map_err(|e| format!("writing {}: {e}", a.out.display()))?;
    eprintln!(
        "xtask: {} site (seed {}) written to {}: {} tags, {} people, {} projects, {} updates, {} buzz, {} blog posts",
        a.scale.name(),
        a.seed,
        a.out.display(),
        site.tags.len(),
        site.people.len(),
        site.projects.len(),
        site.project_updates.len(),
        site.project_buzz.len(),
        site.blog.len()
    );
    Ok(ExitCode::SUCCESS)
}

#[derive(clap::Args)]
pub struct ServeArgs {
    /// A site directory written by `cargo xtask fixture`; default: the committed small site.
    #[arg(long)]
    pub site: Option<PathBuf>,
    /// Generate a site in memory instead of reading one (`small` or `full`).
    #[arg(long, conflicts_with = "site")]
    pub scale: Option<Scale>,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Loopback port to listen on (0: any free port).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Latency added to every page, in milliseconds.
    #[arg(long, default_value_t = 0)]
    pub latency_ms: u64,
}

pub fn load_site(dir: Option<&PathBuf>) -> crate::Result<Site> {
    let dir = dir.cloned().unwrap_or_else(small_site_dir);
    Site::read_dir(&dir).map_err(|e| format!("reading site {}: {e}", dir.display()))
}

pub fn serve(a: ServeArgs) -> crate::Result<ExitCode> {
    let site = match a.scale {
        Some(scale) => fixtures::laddr::generate(a.seed, scale),
        None => load_site(a.site.as_ref())?,
    };
    let faults = Faults::none().with_latency(std::time::Duration::from_millis(a.latency_ms));
    let server = LaddrServer::bind(&format!("127.0.0.1:{}", a.port), site, faults)
        .map_err(|e| format!("cannot listen on 127.0.0.1:{}: {e}", a.port))?;
    eprintln!(
        "xtask: laddr fixture site at {} (try: laddr-fetch --source-url {})",
        server.url(),
        server.url()
    );
    server.join();
    Ok(ExitCode::SUCCESS)
}
