//! The four mailings of the runbook (`reference/F` §4), as data: a name, who gets it (see
//! [`crate::select`]), and three built-in templates under `templates/<name>/`.

use std::fmt;

/// One mailing. Its name prefixes the idempotency keys and scopes the sent-log, so one log
/// serves every campaign and nobody gets the same campaign twice.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, clap::ValueEnum)]
pub enum Campaign {
    /// T-7: every member with a usable email, newsletter opt-outs included (an operational
    /// notice about their account, not a newsletter).
    #[value(name = "t7-announcement")]
    T7Announcement,
    /// T+90: members whose laddr account is still unclaimed (`reference/D` §5 rules).
    #[value(name = "t90-reminder")]
    T90Reminder,
    /// T+180: members whose legacy password `reconcile drain-legacy` would delete.
    #[value(name = "t180-drain-notice")]
    T180DrainNotice,
    /// After a partial-write rollback: members whose writes were discarded, from the rollback
    /// export's affected-member NDJSON.
    #[value(name = "rollback-apology")]
    RollbackApology,
}

/// A campaign's built-in subject, text and HTML templates.
pub struct Builtin {
    /// The subject line template.
    pub subject: &'static str,
    /// The plain-text body template.
    pub text: &'static str,
    /// The HTML body template.
    pub html: &'static str,
}

macro_rules! builtin {
    ($dir:literal) => {
        Builtin {
            subject: include_str!(concat!("../templates/", $dir, "/subject.txt")),
            text: include_str!(concat!("../templates/", $dir, "/body.txt")),
            html: include_str!(concat!("../templates/", $dir, "/body.html")),
        }
    };
}

impl Campaign {
    /// Every campaign, in the order of the cutover.
    pub const ALL: [Campaign; 4] = [
        Campaign::T7Announcement,
        Campaign::T90Reminder,
        Campaign::T180DrainNotice,
        Campaign::RollbackApology,
    ];

    /// The name on the command line, in keys and in the sent-log.
    pub fn name(self) -> &'static str {
        match self {
            Campaign::T7Announcement => "t7-announcement",
            Campaign::T90Reminder => "t90-reminder",
            Campaign::T180DrainNotice => "t180-drain-notice",
            Campaign::RollbackApology => "rollback-apology",
        }
    }

    /// The campaign with this name.
    pub fn from_name(name: &str) -> Option<Campaign> {
        Campaign::ALL.into_iter().find(|c| c.name() == name)
    }

    /// The templates shipped in `crates/mailer/templates/<name>/`.
    pub fn builtin(self) -> Builtin {
        match self {
            Campaign::T7Announcement => builtin!("t7-announcement"),
            Campaign::T90Reminder => builtin!("t90-reminder"),
            Campaign::T180DrainNotice => builtin!("t180-drain-notice"),
            Campaign::RollbackApology => builtin!("rollback-apology"),
        }
    }

    /// Whether the mail tells members whose laddr username is not their sign-in name which
    /// name to use (the campaigns that ask people to sign in).
    pub fn tells_sign_in_name(self) -> bool {
        matches!(self, Campaign::T7Announcement | Campaign::T90Reminder)
    }
}

impl fmt::Display for Campaign {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_match_clap() {
        use clap::ValueEnum;
        for c in Campaign::ALL {
            assert_eq!(Campaign::from_name(c.name()), Some(c));
            assert_eq!(c.to_possible_value().unwrap().get_name(), c.name());
            assert!(!c.builtin().subject.trim().is_empty());
        }
    }
}
