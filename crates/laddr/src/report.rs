//! The per-resource report laddr-fetch writes with `--json=FILE`.

use serde::Serialize;

/// A row laddr could not send: its single-row page still failed to encode.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LostRow {
    /// Zero-based position in the `sort=ID&dir=ASC` order.
    pub position: u64,
    /// The single-row request that failed.
    pub url: String,
    /// The IDs of the rows just before and after it (absent at either end).
    pub prev_id: Option<i64>,
    /// The ID of the row just after it.
    pub next_id: Option<i64>,
    /// Why the single-row request failed.
    pub error: String,
}

/// A row that arrived but has no integer `ID`, so it cannot be keyed or written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MalformedRow {
    /// Zero-based position in the `sort=ID&dir=ASC` order.
    pub position: u64,
    /// The page the row came in.
    pub url: String,
    /// The first 200 characters of the row.
    pub excerpt: String,
}

/// What happened while fetching one resource.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourceReport {
    /// The resource's name.
    pub resource: String,
    /// Pages answered successfully (bisection sub-pages included).
    pub pages: u64,
    /// HTTP requests made (or cache files read), retries included.
    pub requests: u64,
    /// Rows written (unique IDs).
    pub rows: u64,
    /// The server's `total` on the last page fetched (`None` if never seen; with `--limit` it
    /// is not checked against `rows`).
    pub total: Option<u64>,
    /// Requests retried.
    pub retries: u64,
    /// Rows seen twice (same ID) and dropped.
    pub duplicates: u64,
    /// Rows the server could not encode, each found by bisection.
    pub lost: Vec<LostRow>,
    /// Rows without an integer `ID`.
    pub malformed: Vec<MalformedRow>,
    /// Set when rows + lost + malformed differs from `total`.
    pub total_mismatch: Option<String>,
    /// Fresh starts after rows shifted under the pager (rows deleted while paging).
    pub restarts: u64,
    /// Set when rows still shifted after the last fresh start.
    pub shifted: Option<String>,
    /// How long the resource took.
    pub duration_ms: u64,
}

impl ResourceReport {
    /// True when the resource came back complete.
    pub fn ok(&self) -> bool {
        self.lost.is_empty()
            && self.malformed.is_empty()
            && self.total_mismatch.is_none()
            && self.shifted.is_none()
    }

    /// One human line per problem, for stderr.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        for l in &self.lost {
            out.push(format!(
                "[{}] lost row at position {} (between ID {} and ID {}): {} ({})",
                self.resource,
                l.position,
                l.prev_id.map_or("-".to_string(), |i| i.to_string()),
                l.next_id.map_or("-".to_string(), |i| i.to_string()),
                l.error,
                l.url
            ));
        }
        for m in &self.malformed {
            out.push(format!(
                "[{}] row at position {} has no integer ID; not written ({}): {}",
                self.resource, m.position, m.url, m.excerpt
            ));
        }
        if let Some(m) = &self.total_mismatch {
            out.push(format!("[{}] {m}", self.resource));
        }
        if let Some(m) = &self.shifted {
            out.push(format!("[{}] {m}", self.resource));
        }
        out
    }
}

/// The whole run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    /// The tool that wrote the report (`laddr-fetch`).
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// The base URL fetched from.
    pub source: String,
    /// True when pages came only from the cache.
    pub offline: bool,
    /// True when every resource came back complete.
    pub ok: bool,
    /// One report per resource, in fetch order.
    pub resources: Vec<ResourceReport>,
    /// How long the run took.
    pub duration_ms: u64,
    /// The fatal error that stopped the run, if any.
    pub error: Option<String>,
    /// The media fetch (`--media-dir`), when there was one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub media: Option<crate::media::MediaReport>,
}
