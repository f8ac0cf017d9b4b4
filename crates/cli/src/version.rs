//! The version every tool prints: the package version and the commit it was built from.

/// The short commit id (12 hex digits) of the checkout the tools were built in, or `unknown`
/// (built outside a git checkout). `CFP_BUILD_COMMIT` at build time overrides it.
pub const COMMIT: &str = env!("CFP_BUILD_COMMIT");

/// `--version` text for every tool: `0.1.0 (commit 0123456789ab)`. Use it as
/// `#[command(version = cli::VERSION)]`.
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CFP_BUILD_COMMIT"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_names_the_package_version_and_a_commit() {
        assert!(VERSION.starts_with(env!("CARGO_PKG_VERSION")), "{VERSION}");
        assert!(
            VERSION.ends_with(&format!("(commit {COMMIT})")),
            "{VERSION}"
        );
        let hex = COMMIT.len() == 12 && COMMIT.bytes().all(|b| b.is_ascii_hexdigit());
        assert!(hex || COMMIT == "unknown", "{COMMIT}");
    }
}
