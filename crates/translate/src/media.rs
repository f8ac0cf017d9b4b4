//! Which laddr media a set of rows references: the one rule `laddr-fetch --media-dir` uses to
//! decide what to download and `sheet-write --media-dir` uses to decide what to attach.
//!
//! - a person's `PrimaryPhotoID` (the avatar);
//! - a blog post's `Media` items and the inline
//!   `https?://codeforphilly.org/(thumbnail|media/open|media|sitedata)/<id>` links in its
//!   items, found by [`crate::assemble_body`] exactly as the body is written.
//!
//! Each medium is fetched from `<source>/media/<id>/original` ([`media_url_path`]), on the
//! host the fetch is pointed at, whatever host the blog text names.

use std::collections::BTreeMap;

use lines::Resource;
use serde_json::Value;

/// The row that (first) references a medium.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct MediaOwner {
    /// `people` (an avatar) or `blog` (a post's image or asset).
    pub resource: Resource,
    /// The row's laddr `ID`.
    pub legacy_id: i64,
}

/// One referenced medium.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaRef {
    /// laddr's media ID.
    pub id: u64,
    /// The path to fetch on the source, `/media/<id>/original`.
    pub url_path: String,
    /// The first row (in the order given) that references it.
    pub owner: MediaOwner,
}

/// `/media/<id>/original`: the path a medium's bytes are fetched from.
pub fn media_url_path(id: u64) -> String {
    format!("/media/{id}/original")
}

/// Collects the media rows reference, row by row (for callers that stream rows).
#[derive(Debug, Default, Clone)]
pub struct MediaRefs {
    refs: BTreeMap<u64, MediaOwner>,
}

impl MediaRefs {
    /// Note the media `row` (a row of `resource`) references; other resources reference none.
    pub fn add_row(&mut self, resource: Resource, row: &Value) {
        let legacy_id = row.get("ID").and_then(Value::as_i64).unwrap_or(0);
        let owner = MediaOwner {
            resource,
            legacy_id,
        };
        match resource {
            Resource::People => {
                if let Some(photo) = row.get("PrimaryPhotoID").and_then(Value::as_u64) {
                    self.refs.entry(photo).or_insert(owner);
                }
            }
            Resource::Blog => {
                // The body's own rules, so a fetched medium is exactly one the body names.
                let mut warnings = Vec::new();
                let (_, assets) =
                    crate::assemble_body(row.get("items"), legacy_id, "", &mut warnings);
                for asset in assets {
                    self.refs.entry(asset.media_id).or_insert(owner);
                }
            }
            _ => {}
        }
    }

    /// [`MediaRefs::add_row`] from a row's JSON text (laddr-fetch holds rows as text): only
    /// the resources that reference media are read, and a person only for the two fields
    /// the rule reads. Text that is not a JSON object references nothing.
    pub fn add_raw(&mut self, resource: Resource, raw: &str) {
        /// A person's fields the rule reads (any JSON type, as the `Value` path sees them).
        #[derive(serde::Deserialize)]
        struct PhotoFields {
            #[serde(rename = "ID")]
            id: Option<Value>,
            #[serde(rename = "PrimaryPhotoID")]
            photo: Option<Value>,
        }
        match resource {
            Resource::People => match serde_json::from_str::<PhotoFields>(raw) {
                Ok(f) => {
                    let row = [("ID", f.id), ("PrimaryPhotoID", f.photo)]
                        .into_iter()
                        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
                        .collect();
                    self.add_row(resource, &Value::Object(row));
                }
                // A repeated key (the last one counts, as in a map) or an odd row: read whole.
                Err(_) => self.add_whole(resource, raw),
            },
            Resource::Blog => self.add_whole(resource, raw),
            _ => {}
        }
    }

    fn add_whole(&mut self, resource: Resource, raw: &str) {
        if let Ok(row) = serde_json::from_str::<Value>(raw) {
            self.add_row(resource, &row);
        }
    }

    /// Every referenced medium, by ID ascending, each once.
    pub fn into_refs(self) -> Vec<MediaRef> {
        self.refs
            .into_iter()
            .map(|(id, owner)| MediaRef {
                id,
                url_path: media_url_path(id),
                owner,
            })
            .collect()
    }
}

/// Every medium `rows` reference, by ID ascending, each once with its first owner.
pub fn media_references<'a>(
    rows: impl IntoIterator<Item = (Resource, &'a Value)>,
) -> Vec<MediaRef> {
    let mut refs = MediaRefs::default();
    for (resource, row) in rows {
        refs.add_row(resource, row);
    }
    refs.into_refs()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_as_text_give_what_rows_as_values_give() {
        let rows = [
            (
                Resource::People,
                r#"{"ID": 10, "Username": "a", "PrimaryPhotoID": 900}"#,
            ),
            (Resource::People, r#"{"ID": 11, "PrimaryPhotoID": null}"#),
            (
                Resource::People,
                r#"{"ID": 12, "PrimaryPhotoID": 5, "PrimaryPhotoID": 901}"#,
            ),
            (Resource::People, r#"{"ID": "13", "PrimaryPhotoID": "902"}"#),
            (
                Resource::People,
                r#"{"PrimaryPhotoID": 903, "About": {"x": [1]}}"#,
            ),
            (Resource::Projects, r#"{"ID": 1, "PrimaryPhotoID": 904}"#),
            (
                Resource::Blog,
                r#"{"ID": 3, "items": [{"Class": "Emergence\\CMS\\Item\\Media", "Order": 1, "Data": {"MediaID": 3349, "Caption": "c"}}]}"#,
            ),
            (Resource::People, "not json"),
        ];
        let mut from_text = MediaRefs::default();
        let mut from_values = MediaRefs::default();
        for (resource, raw) in rows {
            from_text.add_raw(resource, raw);
            if let Ok(v) = serde_json::from_str::<Value>(raw) {
                from_values.add_row(resource, &v);
            }
        }
        let (text, values) = (from_text.into_refs(), from_values.into_refs());
        assert_eq!(text, values);
        let ids: Vec<u64> = text.iter().map(|r| r.id).collect();
        assert_eq!(ids, [900, 901, 903, 3349]);
    }

    #[test]
    fn photos_blog_items_and_inline_links_each_once_by_id() {
        let person = json!({"ID": 10, "PrimaryPhotoID": 900});
        let no_photo = json!({"ID": 11, "PrimaryPhotoID": null});
        let post = json!({"ID": 3, "items": [
            {"Class": "Emergence\\CMS\\Item\\Media", "Order": 1, "Data": {"MediaID": 3349, "Caption": "kick-off"}},
            {"Class": "Emergence\\CMS\\Item\\Markdown", "Order": 2,
             "Data": "see ![x](https://codeforphilly.org/thumbnail/900/300x300) and http://codeforphilly.org/sitedata/12/a.pdf"},
            {"Class": "Emergence\\CMS\\Item\\Embed", "Order": 3,
             "Data": "<img src=\"https://codeforphilly.org/media/open/77\"> <a href=\"https://example.org/media/5\">"}
        ]});
        let project = json!({"ID": 4, "PrimaryPhotoID": 1});
        let refs = media_references([
            (Resource::People, &person),
            (Resource::People, &no_photo),
            (Resource::Blog, &post),
            (Resource::Projects, &project),
        ]);
        let got: Vec<(u64, &str, Resource, i64)> = refs
            .iter()
            .map(|r| {
                (
                    r.id,
                    r.url_path.as_str(),
                    r.owner.resource,
                    r.owner.legacy_id,
                )
            })
            .collect();
        assert_eq!(
            got,
            [
                (12, "/media/12/original", Resource::Blog, 3),
                (77, "/media/77/original", Resource::Blog, 3),
                (900, "/media/900/original", Resource::People, 10),
                (3349, "/media/3349/original", Resource::Blog, 3),
            ]
        );
    }
}
