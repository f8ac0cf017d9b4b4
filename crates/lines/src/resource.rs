//! The six laddr list resources: the one list in the workspace. Each fact about a resource
//! (its line name, endpoint path, `include`, sheet) is a `match` here, so adding a resource
//! is a compile error in every place that must learn about it.

use std::fmt;
use std::str::FromStr;

/// A laddr list endpoint. The declaration order is foreign-key order: the order laddr-fetch
/// writes them in and the order the translator processes them in (reference B §2.0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// `/tags`
    Tags,
    /// `/people?include=Tags`
    People,
    /// `/projects?include=Tags,Memberships`
    Projects,
    /// `/project-updates`
    ProjectUpdates,
    /// `/project-buzz`
    ProjectBuzz,
    /// `/blog?include=*`
    Blog,
}

impl Resource {
    /// Every resource, in foreign-key order.
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

    /// The resource with this line name.
    pub fn from_name(name: &str) -> Option<Resource> {
        Resource::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The URL path of laddr's list endpoint (`/tags`, …).
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
            Resource::Tags | Resource::ProjectUpdates | Resource::ProjectBuzz => None,
        }
    }

    /// The data-repo sheet its rows become and whose record count the T-3 count diff
    /// compares with laddr's total (reference E §1.4).
    pub fn sheet(self) -> &'static str {
        match self {
            Resource::Tags => "tags",
            Resource::People => "people",
            Resource::Projects => "projects",
            Resource::ProjectUpdates => "project-updates",
            Resource::ProjectBuzz => "project-buzz",
            Resource::Blog => "blog-posts",
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
        Resource::from_name(s).ok_or_else(|| {
            format!(
                "unknown resource {s:?} (expected one of: {})",
                Resource::ALL.map(Resource::name).join(", ")
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_in_foreign_key_order() {
        let names = Resource::ALL.map(Resource::name);
        assert_eq!(
            names,
            [
                "tags",
                "people",
                "projects",
                "project-updates",
                "project-buzz",
                "blog"
            ]
        );
        for r in Resource::ALL {
            assert_eq!(r.name().parse::<Resource>(), Ok(r));
            assert_eq!(r.to_string(), r.name());
            assert_eq!(r.path(), format!("/{}", r.name()));
        }
        let mut sorted = Resource::ALL;
        sorted.sort();
        assert_eq!(sorted, Resource::ALL, "Ord is foreign-key order");
        assert_eq!(
            "members".parse::<Resource>().unwrap_err(),
            "unknown resource \"members\" (expected one of: tags, people, projects, \
             project-updates, project-buzz, blog)"
        );
    }

    #[test]
    fn sheets_and_includes() {
        assert_eq!(Resource::Blog.sheet(), "blog-posts");
        assert_eq!(Resource::ProjectBuzz.sheet(), "project-buzz");
        assert_eq!(Resource::Projects.include(), Some("Tags%2CMemberships"));
        assert_eq!(Resource::Tags.include(), None);
    }
}
