//! The eight sheets the importer owns, in report / commit (foreign-key) order.

use std::fmt;

/// One owned sheet. `Ord` follows [`Sheet::ALL`], the reference's count-key and
/// clear/upsert order, which is also a valid foreign-key order for per-sheet commits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Sheet {
    /// `tags`.
    Tags,
    /// `people`.
    People,
    /// `projects`.
    Projects,
    /// `project-memberships`.
    ProjectMemberships,
    /// `project-updates`.
    ProjectUpdates,
    /// `project-buzz`.
    ProjectBuzz,
    /// `blog-posts`.
    BlogPosts,
    /// `tag-assignments`.
    TagAssignments,
}

impl Sheet {
    /// Report and commit order (B §5 count keys, §4.2 upsert order).
    pub const ALL: [Sheet; 8] = [
        Sheet::Tags,
        Sheet::People,
        Sheet::Projects,
        Sheet::ProjectMemberships,
        Sheet::ProjectUpdates,
        Sheet::ProjectBuzz,
        Sheet::BlogPosts,
        Sheet::TagAssignments,
    ];

    /// The sheet name (= `.gitsheets/<name>.toml`, = the default root).
    pub fn as_str(self) -> &'static str {
        match self {
            Sheet::Tags => "tags",
            Sheet::People => "people",
            Sheet::Projects => "projects",
            Sheet::ProjectMemberships => "project-memberships",
            Sheet::ProjectUpdates => "project-updates",
            Sheet::ProjectBuzz => "project-buzz",
            Sheet::BlogPosts => "blog-posts",
            Sheet::TagAssignments => "tag-assignments",
        }
    }

    /// Inverse of [`Sheet::as_str`].
    pub fn from_name(name: &str) -> Option<Sheet> {
        Sheet::ALL.into_iter().find(|s| s.as_str() == name)
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for Sheet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Sheet {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
