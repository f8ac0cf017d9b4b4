//! Object history on a versioned S3 bucket: the bucket's versioning status, the versions of one
//! object, and the bytes of one version. The cutover tools read these to see what changed in the
//! private store since T-0 and to export it.

/// One version of an object (or a delete marker), as `ListObjectVersions` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectVersion {
    /// The object's key.
    pub key: String,
    /// The server's id for this version.
    pub version_id: String,
    /// ISO 8601, as the server sent it (`2026-08-15T12:00:00.000Z`).
    pub last_modified: String,
    /// True for the object's current version.
    pub is_latest: bool,
    /// A delete marker: the object was deleted at `last_modified`.
    pub delete_marker: bool,
}

/// A page of `ListVersionsResult`: its entries and, when truncated, the markers of the next page.
pub(crate) struct VersionPage {
    pub entries: Vec<ObjectVersion>,
    pub next: Option<(String, String)>,
}

/// Parses a `ListVersionsResult` body. Entries keep the server's order (newest first per key).
pub(crate) fn parse_versions(xml: &str) -> VersionPage {
    let mut entries = Vec::new();
    let mut rest = xml;
    while let Some((tag, body, after)) = next_entry(rest) {
        entries.push(ObjectVersion {
            key: text(body, "Key").unwrap_or_default(),
            version_id: text(body, "VersionId").unwrap_or_default(),
            last_modified: text(body, "LastModified").unwrap_or_default(),
            is_latest: text(body, "IsLatest").as_deref() == Some("true"),
            delete_marker: tag == "DeleteMarker",
        });
        rest = after;
    }
    let next = (text(xml, "IsTruncated").as_deref() == Some("true"))
        .then(|| {
            Some((
                text(xml, "NextKeyMarker")?,
                text(xml, "NextVersionIdMarker").unwrap_or_default(),
            ))
        })
        .flatten();
    VersionPage { entries, next }
}

/// The next `<Version>` or `<DeleteMarker>` element: its tag, its body, and the text after it.
fn next_entry(xml: &str) -> Option<(&'static str, &str, &str)> {
    let v = xml.find("<Version>").map(|i| (i, "Version"));
    let d = xml.find("<DeleteMarker>").map(|i| (i, "DeleteMarker"));
    let (start, tag) = match (v, d) {
        (Some(a), Some(b)) => a.min(b),
        (a, b) => a.or(b)?,
    };
    let open = start + tag.len() + 2;
    let close = xml[open..].find(&format!("</{tag}>"))? + open;
    Some((tag, &xml[open..close], &xml[close + tag.len() + 3..]))
}

/// The unescaped text of the first `<name>…</name>` in `xml`.
pub(crate) fn text(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = xml[start..].find(&format!("</{name}>"))? + start;
    Some(
        xml[start..end]
            .replace("&quot;", "\"")
            .replace("&apos;", "'")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions_delete_markers_and_the_next_page() {
        let xml = r#"<?xml version="1.0"?><ListVersionsResult><IsTruncated>true</IsTruncated>
<NextKeyMarker>profiles.jsonl</NextKeyMarker><NextVersionIdMarker>v1</NextVersionIdMarker>
<DeleteMarker><Key>profiles.jsonl</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest><LastModified>2026-08-15T12:02:00.000Z</LastModified></DeleteMarker>
<Version><Key>profiles.jsonl</Key><VersionId>v2</VersionId><IsLatest>false</IsLatest><LastModified>2026-08-15T12:01:00.000Z</LastModified><ETag>&quot;e&quot;</ETag></Version>
</ListVersionsResult>"#;
        let page = parse_versions(xml);
        assert_eq!(page.entries.len(), 2);
        assert!(page.entries[0].delete_marker && page.entries[0].is_latest);
        assert_eq!(page.entries[1].version_id, "v2");
        assert_eq!(page.entries[1].last_modified, "2026-08-15T12:01:00.000Z");
        assert_eq!(page.next, Some(("profiles.jsonl".into(), "v1".into())));
    }
}
