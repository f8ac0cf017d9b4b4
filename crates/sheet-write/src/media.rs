//! The media step (`reference/B` §1.5, §2.8; issue #14): avatars and blog assets from the
//! media directory `laddr-fetch --media-dir` filled, decided per record before the records
//! are placed, so `avatarKey` and the rewritten blog bodies are part of each record's bytes.
//!
//! Never lose what is there: a record keeps the attachments its parent-tree record has
//! unless this run replaces them (new bytes for the same media) or, with `--media-dir`, a
//! person's `PrimaryPhotoID` is gone upstream (the two avatar files go, reported). Without
//! `--media-dir`, or when an item is missing or fails, the parent's files and `avatarKey` stay.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use media_process::{AvatarPair, DerivedCache, Limits, kind};
use serde::Serialize;
use serde_json::{Map, Value};
use translate::{Input, Output, Sheet};

use crate::ParentFile;

/// What happened to one sheet's media.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaCounts {
    /// Attachments made from the media directory this run (identical bytes change nothing).
    pub written: usize,
    /// Attachments carried from the parent tree (no `--media-dir`, or the item missing or
    /// failed).
    pub kept: usize,
    /// Items that made no attachment this run, with why.
    pub failed: Vec<MediaFailed>,
    /// Avatars removed because the person's `PrimaryPhotoID` is gone upstream.
    pub removed: usize,
}

/// One media item that made no attachment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaFailed {
    /// The laddr ID of the record (person or blog post).
    pub legacy_id: i64,
    /// laddr's media ID.
    pub media_id: u64,
    /// Why (laddr-fetch's error, not in the media directory, a content type, a decode error).
    pub reason: String,
}

/// The media directory a run reads.
pub struct MediaSource {
    dir: media::MediaDir,
    cache: DerivedCache,
}

impl MediaSource {
    /// The media directory at `path` (which must exist); derived avatars are cached under
    /// `path/derived/`.
    pub fn open(path: PathBuf) -> Result<Self, media::MediaError> {
        if !path.is_dir() {
            return Err(media::MediaError::Io {
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such directory"),
                path,
            });
        }
        let cache = DerivedCache::new(path.join("derived"));
        Ok(Self {
            dir: media::MediaDir::open(path)?,
            cache,
        })
    }
}

/// An item's bytes, or why there are none.
enum Fetched {
    Bytes(lines::MediaMeta, Vec<u8>),
    Missing(String),
}

/// The item `id` of the media directory; when absent, laddr-fetch's reason.
fn fetch(source: &MediaSource, input: &Input, id: u64) -> Fetched {
    match source.dir.get(id) {
        Ok(Some((meta, bytes))) => Fetched::Bytes(meta, bytes),
        Ok(None) => Fetched::Missing(match input.media(id) {
            Some(lines::MediaLine::Failed(f)) => f.error.clone(),
            _ => "not in the media directory".to_owned(),
        }),
        Err(e) => Fetched::Missing(e.to_string()),
    }
}

/// A record of the run: its sheet and id.
pub(crate) type RecordKey = (Sheet, String);

/// The attachment changes the step decided, per record (sheet, record id): files to write
/// (names relative to the record's folder) and parent files to drop.
#[derive(Default)]
pub(crate) struct Plan {
    pub put: HashMap<RecordKey, Vec<(String, Vec<u8>)>>,
    pub drop: HashMap<RecordKey, Vec<String>>,
    pub counts: BTreeMap<String, MediaCounts>,
}

/// A parent record's attachments by name (relative to its folder), by record id.
pub(crate) type ParentAttachments<'a> = HashMap<(Sheet, &'a str), Vec<&'a str>>;

/// A parent file's attachments with their names relative to its folder.
pub(crate) fn named_attachments(
    f: &ParentFile,
) -> impl Iterator<Item = (&str, &sheets::BlobEntry)> {
    let folder = f.path.rsplit_once('.').map_or(f.path.as_str(), |(p, _)| p);
    f.attachments
        .iter()
        .filter_map(move |a| Some((a.path.strip_prefix(folder)?.strip_prefix('/')?, a)))
}

/// Names of a parent file's attachments, relative to its folder.
pub(crate) fn attachment_names(f: &ParentFile) -> Vec<&str> {
    named_attachments(f).map(|(name, _)| name).collect()
}

const AVATAR: &str = "avatar.jpg";
const AVATAR_SMALL: &str = "avatar-128.jpg";

fn id_of(record: &Map<String, Value>) -> Option<String> {
    record.get("id").and_then(Value::as_str).map(str::to_owned)
}

fn legacy_id(record: &Map<String, Value>) -> i64 {
    record.get("legacyId").and_then(Value::as_i64).unwrap_or(0)
}

/// Run the media step over the translation: set `avatarKey`, rewrite blog placeholders,
/// and plan the attachment files. `source` is `None` without `--media-dir`.
pub(crate) fn apply(
    out: &mut Output,
    parent: &ParentAttachments<'_>,
    source: Option<&MediaSource>,
    input: &Input,
) -> Plan {
    let mut plan = Plan::default();
    let people = avatars(out, parent, source, input, &mut plan);
    let blog = blog_assets(out, parent, source, input, &mut plan);
    for (sheet, counts) in [(Sheet::People, people), (Sheet::BlogPosts, blog)] {
        if counts != MediaCounts::default() {
            plan.counts.insert(sheet.as_str().to_owned(), counts);
        }
    }
    plan
}

/// One person's avatar job: the record and its photo.
struct AvatarJob {
    index: usize,
    photo: u64,
}

/// What became of one person's photo.
enum Outcome {
    Made(AvatarPair),
    /// Not fetched (laddr-fetch's reason, or absent from the directory).
    FetchFailed(String),
    /// Fetched but unusable: (the URL, why).
    DecodeFailed(String, String),
    /// No photo upstream, or no `--media-dir`.
    Untouched,
}

/// Make (or take from the cache) the avatar pair of one fetched photo.
fn make_avatar(source: &MediaSource, meta: &lines::MediaMeta, bytes: &[u8]) -> Outcome {
    let failed = |why: String| Outcome::DecodeFailed(meta.url.clone(), why);
    if !kind::avatar_source(&meta.content_type) {
        return failed(format!(
            "Content-Type {:?} is not an image",
            meta.content_type
        ));
    }
    if let Some(pair) = source.cache.get(&meta.sha256) {
        return Outcome::Made(pair);
    }
    match media_process::avatar(bytes, Limits::default()) {
        Ok(pair) => {
            // The cache only saves time; a read-only media dir must not fail the import.
            let _ = source.cache.put(&meta.sha256, &pair);
            Outcome::Made(pair)
        }
        Err(e) => failed(e.to_string()),
    }
}

/// The avatar pair of photo `id`: from the derived cache when it holds the digest the
/// sidecar names (the source is not even read: the T-0 re-run reads no photo), else made from
/// the source bytes, read and verified against their sidecar.
fn avatar_of(source: &MediaSource, input: &Input, id: u64) -> Outcome {
    if let Some(meta) = source.dir.present(id)
        && kind::avatar_source(&meta.content_type)
        && let Some(pair) = source.cache.get(&meta.sha256)
    {
        return Outcome::Made(pair);
    }
    match fetch(source, input, id) {
        Fetched::Bytes(meta, bytes) => make_avatar(source, &meta, &bytes),
        Fetched::Missing(reason) => Outcome::FetchFailed(reason),
    }
}

/// Read, decode and encode every photo, on every core.
fn avatar_outcomes(
    records: &[Map<String, Value>],
    photos: &HashMap<i64, u64>,
    source: Option<&MediaSource>,
    input: &Input,
) -> (Vec<AvatarJob>, Vec<Outcome>) {
    let jobs: Vec<AvatarJob> = records
        .iter()
        .enumerate()
        .map(|(index, r)| AvatarJob {
            index,
            photo: photos.get(&legacy_id(r)).copied().unwrap_or(0),
        })
        .collect();
    let outcomes = ::cli::par::map(&jobs, ::cli::par::cores(), |job| {
        match source.filter(|_| job.photo != 0) {
            Some(s) => avatar_of(s, input, job.photo),
            None => Outcome::Untouched,
        }
    });
    (jobs, outcomes)
}

/// Where a photo was (or would have been) fetched from, for the warning.
fn photo_url(input: &Input, photo: u64) -> String {
    input
        .media(photo)
        .map_or_else(|| translate::media_url_path(photo), |m| m.url().to_owned())
}

fn avatars(
    out: &mut Output,
    parent: &ParentAttachments<'_>,
    source: Option<&MediaSource>,
    input: &Input,
    plan: &mut Plan,
) -> MediaCounts {
    let photos: HashMap<i64, u64> = out
        .avatars
        .iter()
        .map(|a| (a.legacy_id, a.primary_photo_id))
        .collect();
    let records = out.records.entry(Sheet::People).or_default();
    let (jobs, outcomes) = avatar_outcomes(records, &photos, source, input);
    let mut counts = MediaCounts::default();
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let record = &mut records[job.index];
        let Some(id) = id_of(record) else { continue };
        let legacy = legacy_id(record);
        let slug = record
            .get("slug")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let had = parent
            .get(&(Sheet::People, id.as_str()))
            .is_some_and(|names| names.contains(&AVATAR));
        let key = (Sheet::People, id);
        let (has_avatar, problem) = match outcome {
            Outcome::Made(pair) => {
                let files = vec![
                    (AVATAR.to_owned(), pair.full),
                    (AVATAR_SMALL.to_owned(), pair.small),
                ];
                plan.put.insert(key, files);
                counts.written += 1;
                record.insert("avatarKey".to_owned(), translate::avatar_key(&slug).into());
                continue;
            }
            Outcome::FetchFailed(reason) => {
                let url = photo_url(input, job.photo);
                let warning = format!("[people] avatar fetch failed: {url} (/{slug})");
                (had, Some((reason, warning)))
            }
            Outcome::DecodeFailed(url, reason) => {
                let warning =
                    format!("[people] avatar decode failed for /{slug} ({url}): {reason}");
                (had, Some((reason, warning)))
            }
            Outcome::Untouched if had && source.is_some() && job.photo == 0 => {
                plan.drop
                    .insert(key, vec![AVATAR.to_owned(), AVATAR_SMALL.to_owned()]);
                out.warnings.push(format!(
                    "[people] legacyId={legacy} PrimaryPhotoID gone upstream; avatar removed (/{slug})"
                ));
                counts.removed += 1;
                (false, None)
            }
            Outcome::Untouched => (had, None),
        };
        if let Some((reason, warning)) = problem {
            out.warnings.push(warning);
            counts.failed.push(MediaFailed {
                legacy_id: legacy,
                media_id: job.photo,
                reason,
            });
        }
        if has_avatar {
            counts.kept += 1;
            record.insert("avatarKey".to_owned(), translate::avatar_key(&slug).into());
        }
    }
    counts
}

/// The laddr media ID an attachment name ends with (`<captionSlug>-<mediaId>.<ext>`).
fn media_id_of(name: &str) -> Option<u64> {
    let stem = name.rsplit_once('.').map_or(name, |(s, _)| s);
    stem.rsplit_once('-')
        .map_or(stem, |(_, id)| id)
        .parse()
        .ok()
}

/// Replace every `cfp-media:<id>` not followed by another digit.
fn rewrite_placeholder(body: &str, id: u64, url: &str) -> String {
    let needle = translate::placeholder(id);
    let mut out = String::with_capacity(body.len());
    let mut rest = body;
    while let Some(at) = rest.find(&needle) {
        let after = &rest[at + needle.len()..];
        out.push_str(&rest[..at]);
        if after.starts_with(|c: char| c.is_ascii_digit()) {
            out.push_str(&needle);
        } else {
            out.push_str(url);
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

/// The file one blog asset is stored as this run (`None`: no asset), and the plan's part.
fn blog_asset(
    asset: &translate::MediaAsset,
    legacy: i64,
    parent_names: &[&str],
    fetched: Option<Fetched>,
    counts: &mut MediaCounts,
    warnings: &mut Vec<String>,
) -> (Option<String>, Option<(String, Vec<u8>)>) {
    let id = asset.media_id;
    let parent_file = parent_names.iter().find(|n| media_id_of(n) == Some(id));
    let reason = match fetched {
        None => None,
        Some(Fetched::Bytes(meta, bytes)) => match kind::blog_asset(&meta.content_type, &bytes) {
            Ok(ext) => {
                counts.written += 1;
                let file = format!("{}-{id}.{ext}", asset.caption_slug);
                return (Some(file.clone()), Some((file, bytes)));
            }
            Err(reason) => {
                warnings.push(format!(
                    "[blog-posts] legacyId={legacy} media={id} {reason}; no asset"
                ));
                Some(reason)
            }
        },
        Some(Fetched::Missing(reason)) => {
            warnings.push(format!(
                "[blog-posts] legacyId={legacy} media fetch failed: {} ({reason})",
                asset.source_url
            ));
            Some(reason)
        }
    };
    if let Some(reason) = reason {
        counts.failed.push(MediaFailed {
            legacy_id: legacy,
            media_id: id,
            reason,
        });
    }
    counts.kept += usize::from(parent_file.is_some());
    (parent_file.map(|f| (*f).to_owned()), None)
}

fn blog_assets(
    out: &mut Output,
    parent: &ParentAttachments<'_>,
    source: Option<&MediaSource>,
    input: &Input,
    plan: &mut Plan,
) -> MediaCounts {
    let mut counts = MediaCounts::default();
    let assets = std::mem::take(&mut out.media);
    let records = out.records.entry(Sheet::BlogPosts).or_default();
    let by_slug: HashMap<String, usize> = records
        .iter()
        .enumerate()
        .filter_map(|(i, r)| Some((r.get("slug")?.as_str()?.to_owned(), i)))
        .collect();
    // Read (and checked against their sidecars) on every core, in the assets' order.
    let mut fetched = ::cli::par::map(&assets, ::cli::par::cores(), |asset| {
        source.map(|s| fetch(s, input, asset.media_id))
    })
    .into_iter();
    for asset in &assets {
        let fetched = fetched.next().flatten();
        let Some(&index) = by_slug.get(&asset.owner_slug) else {
            continue;
        };
        let record = &mut records[index];
        let Some(id) = id_of(record) else { continue };
        let names = parent
            .get(&(Sheet::BlogPosts, id.as_str()))
            .cloned()
            .unwrap_or_default();
        let legacy = legacy_id(record);
        let (file, put) = blog_asset(
            asset,
            legacy,
            &names,
            fetched,
            &mut counts,
            &mut out.warnings,
        );
        let key = (Sheet::BlogPosts, id);
        if let Some((name, bytes)) = put {
            // The same medium stored under another name (its caption changed) is replaced.
            let stale = names
                .iter()
                .filter(|n| media_id_of(n) == Some(asset.media_id) && **n != name)
                .map(|n| (*n).to_owned());
            plan.drop.entry(key.clone()).or_default().extend(stale);
            plan.put.entry(key).or_default().push((name, bytes));
        }
        if let (Some(file), Some(Value::String(body))) = (file, record.get_mut("body")) {
            let url = format!("/api/attachments/blog-posts/{}/{file}", asset.owner_slug);
            *body = rewrite_placeholder(body, asset.media_id, &url);
        }
    }
    out.media = assets;
    counts
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_rewritten_whole() {
        let body = "![a](cfp-media:12) ![b](cfp-media:123) cfp-media:12";
        assert_eq!(
            rewrite_placeholder(body, 12, "/x/a-12.png"),
            "![a](/x/a-12.png) ![b](cfp-media:123) /x/a-12.png"
        );
    }

    #[test]
    fn attachment_names_give_their_media_id() {
        assert_eq!(media_id_of("2023-launchpad-kick-off-3349.jpg"), Some(3349));
        assert_eq!(media_id_of("image-7.png"), Some(7));
        assert_eq!(media_id_of("avatar.jpg"), None);
    }
}
