//! The exit policy every tool follows: 0 ok, 1 ran but found problems, 2 usage or fatal error.

use std::fmt::Display;
use std::process::ExitCode;

/// How a run that did not fail ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// Exit 0: everything as expected.
    Ok,
    /// Exit 1: the run finished, but found or caused problems (see its report).
    Problems,
}

impl Exit {
    /// [`Exit::Problems`] when `found`, else [`Exit::Ok`].
    pub fn problems_if(found: bool) -> Exit {
        if found { Exit::Problems } else { Exit::Ok }
    }

    /// The process exit code.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::Problems => 1,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

/// A binary's top-level error (exit 2). A closed stdout is not an error: a reader such as
/// `| head` stopping early is a normal way to end, so it exits 0 without a message.
pub trait Fatal: Display {
    /// True when the error is only that stdout was closed by its reader.
    fn stdout_closed(&self) -> bool {
        false
    }
}

/// Declares a tool binary's one top-level error (exit 2): the variants written in the call,
/// then the three every tool shares (`DataRepo`: no `--data-repo`; `Report`: the `--json`
/// file; `Output`: stdout), each `#[from]` so `?` converts, and [`Fatal`] with the closed
/// stdout rule. The calling crate derives with its own `thiserror` dependency.
///
/// ```ignore
/// cli::failure! {
///     /// Everything that ends `tool` with exit 2 (or, for a closed stdout, a quiet 0).
///     pub enum Failure {
///         /// The run stopped.
///         #[error("{0}")]
///         Run(#[from] crate::Error),
///     }
/// }
/// ```
#[macro_export]
macro_rules! failure {
    ($(#[$meta:meta])* $vis:vis enum $name:ident { $($variants:tt)* }) => {
        $(#[$meta])*
        #[derive(Debug, thiserror::Error)]
        $vis enum $name {
            $($variants)*
            /// No `--data-repo` (nor `CFP_DATA_REPO_PATH`).
            #[error(transparent)]
            DataRepo(#[from] $crate::MissingDataRepo),
            /// `--json` could not be written.
            #[error(transparent)]
            Report(#[from] $crate::ReportError),
            /// stdout failed or was closed.
            #[error(transparent)]
            Output(#[from] $crate::OutputError),
        }

        impl $crate::Fatal for $name {
            fn stdout_closed(&self) -> bool {
                matches!(self, $name::Output($crate::OutputError::Closed))
            }
        }
    };
}

/// The end of every `main`: exit 0/1 for a run, exit 2 with `tool: error: message` on stderr
/// for a fatal error, a quiet exit 0 when stdout was closed.
pub fn finish<E: Fatal>(tool: &str, result: Result<Exit, E>) -> ExitCode {
    match result {
        Ok(exit) => exit.into(),
        Err(e) if e.stdout_closed() => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{tool}: error: {e}");
            ExitCode::from(2)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Failed(bool);

    impl Display for Failed {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("failed")
        }
    }

    impl Fatal for Failed {
        fn stdout_closed(&self) -> bool {
            self.0
        }
    }

    crate::failure! {
        /// A tool's top-level error, declared as a binary declares it.
        enum ToolFailure {
            /// The run stopped.
            #[error("{0}")]
            Run(std::io::Error),
        }
    }

    #[test]
    fn declared_failures_share_the_closed_stdout_rule() {
        assert!(ToolFailure::from(crate::OutputError::Closed).stdout_closed());
        let io = || std::io::Error::other("disk on fire");
        assert!(!ToolFailure::from(crate::OutputError::Io(io())).stdout_closed());
        assert!(!ToolFailure::Run(io()).stdout_closed());
        assert_eq!(ToolFailure::Run(io()).to_string(), "disk on fire");
        assert_eq!(
            ToolFailure::from(crate::MissingDataRepo).to_string(),
            crate::MissingDataRepo.to_string()
        );
    }

    #[test]
    fn exit_codes_follow_the_policy() {
        assert_eq!(Exit::Ok.code(), 0);
        assert_eq!(Exit::Problems.code(), 1);
        assert_eq!(Exit::problems_if(true), Exit::Problems);
        assert_eq!(Exit::problems_if(false), Exit::Ok);
        // ExitCode has no accessor; compare through its Debug text.
        let code = |r: Result<Exit, Failed>| format!("{:?}", finish("tool", r));
        assert_eq!(code(Ok(Exit::Ok)), format!("{:?}", ExitCode::from(0)));
        assert_eq!(code(Ok(Exit::Problems)), format!("{:?}", ExitCode::from(1)));
        assert_eq!(code(Err(Failed(false))), format!("{:?}", ExitCode::from(2)));
        assert_eq!(code(Err(Failed(true))), format!("{:?}", ExitCode::from(0)));
    }
}
