//! The media step (`reference/B` §1.5, §2.8; issue #14): avatars and blog assets from the
//! media directory `laddr-fetch --media-dir` filled, decided per record before the records
//! are placed, so `avatarKey` and the rewritten blog bodies are part of each record's bytes.
//!
//! Never lose what is there: a record keeps the attachments its parent-tree record has
//! unless this run replaces them (new bytes for the same media) or, with `--media-dir`, a
//! person's `PrimaryPhotoID` is gone upstream (the two avatar files go, reported). Without
//! `--media-dir`, or when an item is missing or fails, the parent's files and `avatarKey` stay.

use std::collections::BTreeMap;

use foldhash::HashMap;
use std::path::PathBuf;

use media_process::{AvatarPair, DerivedCache, Limits, kind};
use serde::Serialize;
use serde_json::{Map, Value};
use sheets::ObjectId;
use translate::{MediaLines, Output, Sheet};

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

    /// The blob ids of the avatar pair made from the photo with this digest, as noted.
    fn pair_ids(&self, sha256: &str) -> Option<[ObjectId; 2]> {
        let [full, small] = self.cache.pair_ids(sha256)?;
        Some([parse_id(&full)?, parse_id(&small)?])
    }

    /// Note the pair's blob ids for the next run, unless they are noted (the cache only
    /// saves time: a failure to write it is no failure of the import).
    fn note_pair(&self, sha256: &str, pair: &AvatarPair) {
        if self.cache.pair_ids(sha256).is_none() {
            let [full, small] = [&pair.full, &pair.small].map(|b| sheets::blob_id(b).to_string());
            let _ = self.cache.put_pair_ids(sha256, &full, &small);
        }
    }

    /// The blob id a blog asset with this digest was stored under as `ext`, as noted.
    fn asset_id(&self, sha256: &str, ext: &str) -> Option<ObjectId> {
        let (noted_ext, id) = self.cache.asset_id(sha256)?;
        (noted_ext == ext).then(|| parse_id(&id)).flatten()
    }

    /// Note a blog asset's blob id for the next run, unless it is noted.
    fn note_asset(&self, sha256: &str, ext: &str, bytes: &[u8]) {
        if self.asset_id(sha256, ext).is_none() {
            let id = sheets::blob_id(bytes).to_string();
            let _ = self.cache.put_asset_id(sha256, ext, &id);
        }
    }
}

fn parse_id(hex: &str) -> Option<ObjectId> {
    ObjectId::from_hex(hex.as_bytes()).ok()
}

/// An item's bytes, or why there are none.
enum Fetched {
    Bytes(lines::MediaMeta, Vec<u8>),
    Missing(String),
}

/// What one blog asset's medium gave this run.
enum AssetRead {
    /// The parent tree holds the file the medium makes, with this extension: nothing read.
    Stored(&'static str),
    Fetched(Fetched),
}

/// A blog asset's file this run (its name relative to the post's folder).
enum AssetFile {
    /// Bytes to store.
    New(String, Vec<u8>),
    /// The parent's file of that name holds these very bytes: it stays as it is.
    Same(String),
}

/// The name a blog asset is stored under.
fn asset_name(asset: &translate::MediaAsset, ext: &str) -> String {
    format!("{}-{}.{ext}", asset.caption_slug, asset.media_id)
}

/// Blog asset `asset` of a post whose parent file has `parent` attachments: not read when
/// one of them is the file noted for the digest its sidecar names, else read (and checked
/// against the sidecar), its blob id noted for the next run.
fn read_asset(
    source: &MediaSource,
    lines: &MediaLines,
    asset: &translate::MediaAsset,
    parent: &[(&str, ObjectId)],
) -> AssetRead {
    if let Some(meta) = source.dir.present(asset.media_id)
        && let Some(ext) = kind::blog_extension(&meta.content_type)
        && let Some(id) = source.asset_id(&meta.sha256, ext)
        && parent.contains(&(asset_name(asset, ext).as_str(), id))
    {
        return AssetRead::Stored(ext);
    }
    let fetched = fetch(source, lines, asset.media_id);
    if let Fetched::Bytes(meta, bytes) = &fetched
        && let Ok(ext) = kind::blog_asset(&meta.content_type, bytes)
    {
        source.note_asset(&meta.sha256, ext, bytes);
    }
    AssetRead::Fetched(fetched)
}

/// The item `id` of the media directory; when absent, laddr-fetch's reason.
fn fetch(source: &MediaSource, lines: &MediaLines, id: u64) -> Fetched {
    match source.dir.get(id) {
        Ok(Some((meta, bytes))) => Fetched::Bytes(meta, bytes),
        Ok(None) => Fetched::Missing(match lines.get(&id) {
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

/// A parent record's attachments (names relative to its folder, blob ids), by record id.
pub(crate) type ParentAttachments<'a> = HashMap<(Sheet, &'a str), Vec<(&'a str, ObjectId)>>;

/// A parent file's attachments with their names relative to its folder.
pub(crate) fn named_attachments(
    f: &ParentFile,
) -> impl Iterator<Item = (&str, &sheets::BlobEntry)> {
    let folder = f.path.rsplit_once('.').map_or(f.path.as_str(), |(p, _)| p);
    f.attachments
        .iter()
        .filter_map(move |a| Some((a.path.strip_prefix(folder)?.strip_prefix('/')?, a)))
}

/// A parent file's attachments: names relative to its folder, and blob ids.
pub(crate) fn attachment_ids(f: &ParentFile) -> Vec<(&str, ObjectId)> {
    named_attachments(f)
        .map(|(name, blob)| (name, blob.id))
        .collect()
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
    lines: &MediaLines,
) -> Plan {
    let mut plan = Plan::default();
    let people = avatars(out, parent, source, lines, &mut plan);
    let blog = blog_assets(out, parent, source, lines, &mut plan);
    for (sheet, counts) in [(Sheet::People, people), (Sheet::BlogPosts, blog)] {
        if counts != MediaCounts::default() {
            plan.counts.insert(sheet.as_str().to_owned(), counts);
        }
    }
    plan
}

/// One person's avatar job: the record, its photo, and the parent's avatar blob ids.
struct AvatarJob {
    index: usize,
    photo: u64,
    stored: Option<[ObjectId; 2]>,
}

/// What became of one person's photo.
enum Outcome {
    Made(AvatarPair),
    /// The parent tree holds the pair this photo makes (nothing was read).
    Stored,
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
        source.note_pair(&meta.sha256, &pair);
        return Outcome::Made(pair);
    }
    match media_process::avatar(bytes, Limits::default()) {
        Ok(pair) => {
            // The cache only saves time; a read-only media dir must not fail the import.
            let _ = source.cache.put(&meta.sha256, &pair);
            source.note_pair(&meta.sha256, &pair);
            Outcome::Made(pair)
        }
        Err(e) => failed(e.to_string()),
    }
}

/// The avatar pair of photo `id`: none when the parent's pair is the one noted for the
/// digest the sidecar names (nothing read: the T-0 re-run reads no avatar of an unchanged
/// photo); from the derived cache when it holds that digest (the source is not read); else
/// made from the source bytes, read and verified against their sidecar.
fn avatar_of(
    source: &MediaSource,
    lines: &MediaLines,
    id: u64,
    stored: Option<[ObjectId; 2]>,
) -> Outcome {
    if let Some(meta) = source.dir.present(id)
        && kind::avatar_source(&meta.content_type)
    {
        if stored.is_some() && source.pair_ids(&meta.sha256) == stored {
            return Outcome::Stored;
        }
        if let Some(pair) = source.cache.get(&meta.sha256) {
            source.note_pair(&meta.sha256, &pair);
            return Outcome::Made(pair);
        }
    }
    match fetch(source, lines, id) {
        Fetched::Bytes(meta, bytes) => make_avatar(source, &meta, &bytes),
        Fetched::Missing(reason) => Outcome::FetchFailed(reason),
    }
}

/// The blob ids of a parent record's `avatar.jpg` and `avatar-128.jpg`, when it has both.
fn stored_pair(
    parent: &ParentAttachments<'_>,
    record: &Map<String, Value>,
) -> Option<[ObjectId; 2]> {
    let files = parent.get(&(Sheet::People, record.get("id")?.as_str()?))?;
    let id_of = |name: &str| files.iter().find(|(n, _)| *n == name).map(|(_, id)| *id);
    Some([id_of(AVATAR)?, id_of(AVATAR_SMALL)?])
}

/// Read, decode and encode every photo, on every core.
fn avatar_outcomes(
    records: &[Map<String, Value>],
    photos: &HashMap<i64, u64>,
    parent: &ParentAttachments<'_>,
    source: Option<&MediaSource>,
    lines: &MediaLines,
) -> (Vec<AvatarJob>, Vec<Outcome>) {
    let jobs: Vec<AvatarJob> = records
        .iter()
        .enumerate()
        .map(|(index, r)| AvatarJob {
            index,
            photo: photos.get(&legacy_id(r)).copied().unwrap_or(0),
            stored: stored_pair(parent, r),
        })
        .collect();
    let outcomes = ::cli::par::map(&jobs, ::cli::par::cores(), |job| {
        match source.filter(|_| job.photo != 0) {
            Some(s) => avatar_of(s, lines, job.photo, job.stored),
            None => Outcome::Untouched,
        }
    });
    (jobs, outcomes)
}

/// Where a photo was (or would have been) fetched from, for the warning.
fn photo_url(lines: &MediaLines, photo: u64) -> String {
    lines
        .get(&photo)
        .map_or_else(|| translate::media_url_path(photo), |m| m.url().to_owned())
}

fn avatars(
    out: &mut Output,
    parent: &ParentAttachments<'_>,
    source: Option<&MediaSource>,
    lines: &MediaLines,
    plan: &mut Plan,
) -> MediaCounts {
    let photos: HashMap<i64, u64> = out
        .avatars
        .iter()
        .map(|a| (a.legacy_id, a.primary_photo_id))
        .collect();
    let records = out.records.entry(Sheet::People).or_default();
    let (jobs, outcomes) = avatar_outcomes(records, &photos, parent, source, lines);
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
            .is_some_and(|files| files.iter().any(|(name, _)| *name == AVATAR));
        let key = (Sheet::People, id);
        let (has_avatar, problem) = match outcome {
            made @ (Outcome::Made(_) | Outcome::Stored) => {
                // A stored pair is kept from the parent as it is: the same files.
                if let Outcome::Made(pair) = made {
                    let files = vec![
                        (AVATAR.to_owned(), pair.full),
                        (AVATAR_SMALL.to_owned(), pair.small),
                    ];
                    plan.put.insert(key, files);
                }
                counts.written += 1;
                record.insert("avatarKey".to_owned(), translate::avatar_key(&slug).into());
                continue;
            }
            Outcome::FetchFailed(reason) => {
                let url = photo_url(lines, job.photo);
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
    parent: &[(&str, ObjectId)],
    read: Option<AssetRead>,
    counts: &mut MediaCounts,
    warnings: &mut Vec<String>,
) -> (Option<String>, Option<AssetFile>) {
    let id = asset.media_id;
    let parent_file = parent.iter().find(|(n, _)| media_id_of(n) == Some(id));
    let reason = match read {
        None => None,
        Some(AssetRead::Stored(ext)) => {
            // Counted as written: the same bytes under the same name change nothing.
            counts.written += 1;
            let file = asset_name(asset, ext);
            return (Some(file.clone()), Some(AssetFile::Same(file)));
        }
        Some(AssetRead::Fetched(Fetched::Bytes(meta, bytes))) => {
            match kind::blog_asset(&meta.content_type, &bytes) {
                Ok(ext) => {
                    counts.written += 1;
                    let file = asset_name(asset, ext);
                    return (Some(file.clone()), Some(AssetFile::New(file, bytes)));
                }
                Err(reason) => {
                    warnings.push(format!(
                        "[blog-posts] legacyId={legacy} media={id} {reason}; no asset"
                    ));
                    Some(reason)
                }
            }
        }
        Some(AssetRead::Fetched(Fetched::Missing(reason))) => {
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
    (parent_file.map(|(f, _)| (*f).to_owned()), None)
}

/// The parent files of the post `owner` names (its index and id).
fn post_files<'p>(
    parent: &'p ParentAttachments<'p>,
    owner: Option<&'p (usize, String)>,
) -> &'p [(&'p str, ObjectId)] {
    let files = owner.and_then(|(_, id)| parent.get(&(Sheet::BlogPosts, id.as_str())));
    files.map_or(&[], Vec::as_slice)
}

fn blog_assets(
    out: &mut Output,
    parent: &ParentAttachments<'_>,
    source: Option<&MediaSource>,
    lines: &MediaLines,
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
    // Each asset's post (its index and id), when the run has it.
    let owners: Vec<Option<(usize, String)>> = assets
        .iter()
        .map(|a| {
            let index = *by_slug.get(&a.owner_slug)?;
            Some((index, id_of(&records[index])?))
        })
        .collect();
    // Read (and checked against their sidecars) on every core, in the assets' order.
    let jobs: Vec<_> = assets.iter().zip(&owners).collect();
    let reads = ::cli::par::map(&jobs, ::cli::par::cores(), |(asset, owner)| {
        let source = source.filter(|_| owner.is_some())?;
        Some(read_asset(
            source,
            lines,
            asset,
            post_files(parent, owner.as_ref()),
        ))
    });
    for ((asset, owner), read) in jobs.into_iter().zip(reads) {
        let Some((index, id)) = owner else { continue };
        let record = &mut records[*index];
        let files = post_files(parent, owner.as_ref());
        let legacy = legacy_id(record);
        let (file, put) = blog_asset(asset, legacy, files, read, &mut counts, &mut out.warnings);
        let key = (Sheet::BlogPosts, id.clone());
        if let Some(put) = put {
            let (AssetFile::New(name, _) | AssetFile::Same(name)) = &put;
            // The same medium stored under another name (its caption changed) is replaced.
            let stale = files
                .iter()
                .filter(|(n, _)| media_id_of(n) == Some(asset.media_id) && n != name)
                .map(|(n, _)| (*n).to_owned());
            plan.drop.entry(key.clone()).or_default().extend(stale);
            if let AssetFile::New(name, bytes) = put {
                plan.put.entry(key).or_default().push((name, bytes));
            }
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
