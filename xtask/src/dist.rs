//! `cargo xtask dist`: every tool in release, with shell completions and man pages, under
//! `target/dist/` — what an operator copies to a machine without the source tree.
//!
//! ```text
//! target/dist/bin/<tool>
//! target/dist/completions/bash/<tool>        (source it, or drop it in bash-completion's dir)
//! target/dist/completions/zsh/_<tool>
//! target/dist/completions/fish/<tool>.fish
//! target/dist/man/man1/<tool>.1, <tool>-<subcommand>.1
//! ```

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::CommandFactory;
use clap_complete::Shell;

/// A tool's clap definition (`<lib>::cli::Cli::command`).
type Definition = fn() -> clap::Command;

/// Every tool shipped, with its clap definition. Adding a tool is one line here (and its
/// crate in xtask's `[dependencies]`).
pub const TOOLS: &[(&str, Definition)] = &[
    ("laddr-fetch", laddr_fetch::cli::Cli::command),
    ("sheet-write", sheet_write::cli::Cli::command),
    ("spam-prune", spam_prune::cli::Cli::command),
    ("reconcile", reconcile::cli::Cli::command),
    ("probe", probe::cli::Cli::command),
    ("mailer", mailer::cli::Cli::command),
    ("cutover", cutover::command::Cli::command),
];

/// The shells completions are written for, and each one's file name for a tool.
const SHELLS: &[(Shell, &str)] = &[
    (Shell::Bash, "bash/{}"),
    (Shell::Zsh, "zsh/_{}"),
    (Shell::Fish, "fish/{}.fish"),
];

#[derive(clap::Args)]
pub struct Args {
    /// Where to put the distribution.
    #[arg(long, value_name = "DIR", default_value = "target/dist")]
    pub out: PathBuf,
    /// Only completions and man pages (no release build).
    #[arg(long)]
    pub no_build: bool,
}

pub fn run(args: Args) -> crate::Result<ExitCode> {
    let out = crate::proc::root().join(&args.out);
    if !args.no_build {
        build_binaries(&out.join("bin"))?;
    }
    let written = write_docs(&out)?;
    eprintln!(
        "xtask dist: {} tools, {} completion scripts and man pages in {}",
        TOOLS.len(),
        written.len(),
        out.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `cargo build --release` of every tool, copied into `bin`.
fn build_binaries(bin: &Path) -> crate::Result<()> {
    let mut cmd = crate::proc::cargo();
    cmd.args(["build", "--release", "--bins"]);
    for (tool, _) in TOOLS {
        cmd.args(["-p", tool]);
    }
    crate::proc::run(&mut cmd)?;
    fs::create_dir_all(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
    let release = crate::proc::root().join("target/release");
    for (tool, _) in TOOLS {
        let (from, to) = (release.join(tool), bin.join(tool));
        fs::copy(&from, &to).map_err(|e| format!("copying {}: {e}", from.display()))?;
    }
    Ok(())
}

/// Completions for every shell and man pages (one per command and subcommand) of every
/// tool under `out`; returns the files written.
pub fn write_docs(out: &Path) -> crate::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    for (tool, command) in TOOLS {
        for (shell, pattern) in SHELLS {
            let path = out.join("completions").join(pattern.replace("{}", tool));
            let mut script = Vec::new();
            clap_complete::generate(*shell, &mut command(), *tool, &mut script);
            write(&path, &script)?;
            written.push(path);
        }
        let man = out.join("man/man1");
        let mut cmd = command();
        cmd.build();
        written.extend(man_pages(&cmd, &man)?);
    }
    Ok(written)
}

/// The page of `cmd` and of each of its subcommands; `cmd` is built, so a subcommand's
/// display name (`probe-plan`) names its page.
fn man_pages(cmd: &clap::Command, dir: &Path) -> crate::Result<Vec<PathBuf>> {
    let man = clap_mangen::Man::new(cmd.clone());
    let mut page = Vec::new();
    man.render(&mut page)
        .map_err(|e| format!("man page of {}: {e}", cmd.get_name()))?;
    let path = dir.join(man.get_filename());
    write(&path, &page)?;
    let mut written = vec![path];
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        written.extend(man_pages(sub, dir)?);
    }
    Ok(written)
}

fn write(path: &Path, bytes: &[u8]) -> crate::Result<()> {
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    fs::write(path, bytes).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn have(program: &str) -> bool {
        Command::new(program)
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success())
    }

    fn check(program: &str, args: &[&str], file: &Path) -> String {
        let out = Command::new(program)
            .args(args)
            .arg(file)
            .output()
            .unwrap_or_else(|e| panic!("{program}: {e}"));
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            out.status.success(),
            "{program} {}: {stderr}",
            file.display()
        );
        stderr + &String::from_utf8_lossy(&out.stdout)
    }

    #[test]
    fn every_tool_gets_completions_for_three_shells_and_man_pages() {
        let dir = tempfile::tempdir().unwrap();
        let written = write_docs(dir.path()).unwrap();
        for (tool, _) in TOOLS {
            for sub in [
                format!("completions/bash/{tool}"),
                format!("completions/zsh/_{tool}"),
                format!("completions/fish/{tool}.fish"),
                format!("man/man1/{tool}.1"),
            ] {
                let path = dir.path().join(&sub);
                assert!(written.contains(&path), "{sub} not written");
                assert!(
                    fs::metadata(&path).unwrap().len() > 200,
                    "{sub} is nearly empty"
                );
            }
        }
        // Subcommands get their own pages.
        for page in ["probe-plan", "probe-legacy-urls", "reconcile-drain-legacy"] {
            assert!(
                dir.path().join(format!("man/man1/{page}.1")).is_file(),
                "{page}"
            );
        }
    }

    #[test]
    fn every_tool_version_names_a_commit() {
        for (tool, command) in TOOLS {
            let version = command().render_version();
            assert!(
                version.starts_with(&format!("{tool} 0.")) && version.contains(" (commit "),
                "{version}"
            );
        }
    }

    #[test]
    fn completions_pass_their_shells_syntax_check() {
        let dir = tempfile::tempdir().unwrap();
        write_docs(dir.path()).unwrap();
        for (tool, _) in TOOLS {
            check(
                "bash",
                &["-n"],
                &dir.path().join(format!("completions/bash/{tool}")),
            );
            // zsh and fish are checked where installed; bash is always there.
            if have("zsh") {
                check(
                    "zsh",
                    &["-n"],
                    &dir.path().join(format!("completions/zsh/_{tool}")),
                );
            }
            if have("fish") {
                let fish = dir.path().join(format!("completions/fish/{tool}.fish"));
                check("fish", &["--no-execute"], &fish);
            }
        }
    }

    #[test]
    fn man_pages_render_without_warnings() {
        if !have("groff") {
            // `cargo xtask test` installs groff-base; only a machine where that failed gets here.
            eprintln!(
                "SKIPPED: groff is not installed (apt-get install groff-base), man pages not rendered"
            );
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let pages: Vec<PathBuf> = write_docs(dir.path())
            .unwrap()
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e == "1"))
            .collect();
        assert!(pages.len() > TOOLS.len());
        for page in pages {
            // -k: preconv, as man(1) runs it (the help texts hold UTF-8 such as "…");
            // -ww -Wbreak: every warning but a long example line that cannot be broken;
            // -z: format, print nothing; warnings land on stderr.
            let args = ["-k", "-man", "-Tutf8", "-ww", "-Wbreak", "-z"];
            let out = check("groff", &args, &page);
            assert!(out.trim().is_empty(), "{}: {out}", page.display());
            // -P-cbou: plain text (no bold, underline or overstrike) to search in.
            let text = Command::new("groff")
                .args(["-k", "-man", "-Tutf8", "-P-cbou"])
                .arg(&page)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&text.stdout);
            let name = page.file_stem().unwrap().to_string_lossy().into_owned();
            assert!(
                text.contains("NAME") && text.contains(&name),
                "{name}: {text}"
            );
        }
    }
}
