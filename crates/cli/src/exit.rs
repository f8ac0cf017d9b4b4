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
