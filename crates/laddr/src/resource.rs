//! The six laddr list resources laddr-fetch pulls, with their paths and includes.

use std::fmt;
use std::str::FromStr;

/// A laddr list endpoint. The declaration order is foreign-key order, the order of the output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    Tags,
    People,
    Projects,
    ProjectUpdates,
    ProjectBuzz,
    Blog,
}

impl Resource {
    pub const ALL: [Resource; 6] = [
        Resource::Tags,
        Resource::People,
        Resource::Projects,
        Resource::ProjectUpdates,
        Resource::ProjectBuzz,
        Resource::Blog,
    ];

    /// The name used in NDJSON lines, reports and `--resources`.
    pub fn name(self) -> &'static str {
        match self {
            Resource::Tags => "tags",
            Resource::People => "people",
            Resource::Projects => "projects",
            Resource::ProjectUpdates => "project-updates",
            Resource::ProjectBuzz => "project-buzz",
            Resource::Blog => "blog",
        }
    }

    /// The URL path (`/tags`, …).
    pub fn path(self) -> &'static str {
        match self {
            Resource::Tags => "/tags",
            Resource::People => "/people",
            Resource::Projects => "/projects",
            Resource::ProjectUpdates => "/project-updates",
            Resource::ProjectBuzz => "/project-buzz",
            Resource::Blog => "/blog",
        }
    }

    /// The `include` query value, already URL-encoded as the reference sends it
    /// (`,` as `%2C`, `*` raw).
    pub fn include(self) -> Option<&'static str> {
        match self {
            Resource::People => Some("Tags"),
            Resource::Projects => Some("Tags%2CMemberships"),
            Resource::Blog => Some("*"),
            _ => None,
        }
    }
}

impl fmt::Display for Resource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Resource {
    type Err = String;
    fn from_str(s: &str) -> Result<Resource, String> {
        Resource::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| {
                format!(
                    "unknown resource {s:?} (expected one of: {})",
                    Resource::ALL.map(Resource::name).join(", ")
                )
            })
    }
}
