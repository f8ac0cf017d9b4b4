//! The data repo flag every tool that reads or writes the bare data repo takes.

use std::path::PathBuf;

/// The environment variable that stands in for `--data-repo`
/// (`#[arg(long, env = cli::DATA_REPO_ENV)]`).
pub const DATA_REPO_ENV: &str = "CFP_DATA_REPO_PATH";

/// The environment variable that stands in for `--branch` where a tool reads the runtime
/// branch.
pub const DATA_BRANCH_ENV: &str = "CFP_DATA_BRANCH";

/// Neither `--data-repo` nor `CFP_DATA_REPO_PATH` was given (exit 2).
#[derive(Debug, thiserror::Error)]
#[error("missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)")]
pub struct MissingDataRepo;

/// The data repo path from the flag (clap already read the environment into it); an empty
/// value (`CFP_DATA_REPO_PATH=`) counts as missing.
pub fn data_repo(flag: Option<&PathBuf>) -> Result<PathBuf, MissingDataRepo> {
    flag.filter(|p| !p.as_os_str().is_empty())
        .cloned()
        .ok_or(MissingDataRepo)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_empty_paths_get_one_message() {
        let given = PathBuf::from("/scratch/data.git");
        assert_eq!(data_repo(Some(&given)).unwrap(), given);
        let empty = PathBuf::new();
        for flag in [None, Some(&empty)] {
            let e = data_repo(flag).unwrap_err();
            assert_eq!(
                e.to_string(),
                "missing --data-repo=<path> (or set CFP_DATA_REPO_PATH)"
            );
        }
    }
}
