//! Derived avatars kept by the source's SHA-256, so the T-0 re-run encodes no photo again;
//! and the git blob ids of what a run stored, so a re-run that finds those ids in its parent
//! tree reads no bytes at all.
//!
//! Layout: `<dir>/<VERSION>/<sha256>.jpg` and `<sha256>-128.jpg`, their blob ids in
//! `<sha256>.ids`; a blog asset's blob id (and the extension it was stored under) in
//! `<dir>/<ASSET_IDS>/<sha256>.ids`. The version names the processing (sizes, qualities,
//! filter): changing any of them must change it, so old derivatives are never served for new
//! rules. An id file holds one line of space-separated words; anything else counts as absent.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::AvatarPair;

/// Names the processing the cached files came from.
pub const VERSION: &str = "avatar-v2-q85-1024-q80-128-catmullrom-jpeg-encoder";

/// Where the blob ids of blog assets are kept (their bytes are the source's, unprocessed).
pub const ASSET_IDS: &str = "asset-ids-v1";

/// A directory of derived avatars, and of the blob ids runs stored.
#[derive(Debug, Clone)]
pub struct DerivedCache {
    dir: PathBuf,
    assets: PathBuf,
}

/// A git blob id as 40 lowercase hex digits (the cache does not parse ids further).
fn is_blob_id(word: &str) -> bool {
    word.len() == 40 && word.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn is_digest(sha256: &str) -> bool {
    sha256.len() == 64 && sha256.bytes().all(|b| b.is_ascii_hexdigit())
}

fn is_jpeg(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0xff, 0xd8]) && bytes.ends_with(&[0xff, 0xd9])
}

impl DerivedCache {
    /// The cache under `dir` (created on the first [`DerivedCache::put`]).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        let dir = dir.into();
        Self {
            assets: dir.join(ASSET_IDS),
            dir: dir.join(VERSION),
        }
    }

    fn paths(&self, sha256: &str) -> (PathBuf, PathBuf) {
        let sha = sha256.to_ascii_lowercase();
        (
            self.dir.join(format!("{sha}.jpg")),
            self.dir.join(format!("{sha}-128.jpg")),
        )
    }

    /// The pair made from the source with this digest, when both files are there and whole.
    pub fn get(&self, sha256: &str) -> Option<AvatarPair> {
        if !is_digest(sha256) {
            return None;
        }
        let (full, small) = self.paths(sha256);
        let pair = AvatarPair {
            full: fs::read(full).ok()?,
            small: fs::read(small).ok()?,
        };
        (is_jpeg(&pair.full) && is_jpeg(&pair.small)).then_some(pair)
    }

    /// Keep a pair. Each file is written whole under a temporary name and renamed, so a
    /// crash never leaves a half file a later run would serve.
    pub fn put(&self, sha256: &str, pair: &AvatarPair) -> io::Result<()> {
        if !is_digest(sha256) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{sha256:?} is not a SHA-256 digest"),
            ));
        }
        fs::create_dir_all(&self.dir)?;
        let (full, small) = self.paths(sha256);
        write_whole(&full, &pair.full)?;
        write_whole(&small, &pair.small)
    }

    fn ids_path(dir: &Path, sha256: &str) -> Option<PathBuf> {
        is_digest(sha256).then(|| dir.join(format!("{}.ids", sha256.to_ascii_lowercase())))
    }

    /// The blob ids (`avatar.jpg`, `avatar-128.jpg`) of the pair made from this digest, as
    /// [`DerivedCache::put_pair_ids`] kept them.
    pub fn pair_ids(&self, sha256: &str) -> Option<[String; 2]> {
        let words = read_words(&Self::ids_path(&self.dir, sha256)?)?;
        let [full, small] = <[String; 2]>::try_from(words).ok()?;
        (is_blob_id(&full) && is_blob_id(&small)).then_some([full, small])
    }

    /// Keep the blob ids of the pair made from this digest.
    pub fn put_pair_ids(&self, sha256: &str, full: &str, small: &str) -> io::Result<()> {
        self.put_words(&self.dir, sha256, &[full, small])
    }

    /// The extension and blob id a blog asset with this digest was stored under, as
    /// [`DerivedCache::put_asset_id`] kept them.
    pub fn asset_id(&self, sha256: &str) -> Option<(String, String)> {
        let words = read_words(&Self::ids_path(&self.assets, sha256)?)?;
        let [ext, id] = <[String; 2]>::try_from(words).ok()?;
        is_blob_id(&id).then_some((ext, id))
    }

    /// Keep the extension and blob id of a blog asset with this digest.
    pub fn put_asset_id(&self, sha256: &str, ext: &str, id: &str) -> io::Result<()> {
        self.put_words(&self.assets, sha256, &[ext, id])
    }

    fn put_words(&self, dir: &Path, sha256: &str, words: &[&str]) -> io::Result<()> {
        let well_formed = words
            .iter()
            .all(|w| !w.is_empty() && !w.contains(char::is_whitespace));
        let (Some(path), true) = (Self::ids_path(dir, sha256), well_formed) else {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{sha256:?} {words:?} is not a digest and its words"),
            ));
        };
        fs::create_dir_all(dir)?;
        write_whole(&path, format!("{}\n", words.join(" ")).as_bytes())
    }
}

/// The words of a one-line file; `None` when it is absent or not one whole line.
fn read_words(path: &Path) -> Option<Vec<String>> {
    let text = fs::read_to_string(path).ok()?;
    let line = text.strip_suffix('\n')?;
    (!line.contains('\n')).then(|| line.split(' ').map(str::to_owned).collect())
}

fn write_whole(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_comes_back_and_junk_does_not() {
        let dir = std::env::temp_dir().join(format!("media-cache-{}", std::process::id()));
        let cache = DerivedCache::new(&dir);
        let sha = "ab".repeat(32);
        assert!(cache.get(&sha).is_none());
        let pair = AvatarPair {
            full: vec![0xff, 0xd8, 1, 0xff, 0xd9],
            small: vec![0xff, 0xd8, 2, 0xff, 0xd9],
        };
        cache.put(&sha, &pair).unwrap();
        assert_eq!(cache.get(&sha), Some(pair.clone()));
        assert_eq!(cache.get(&sha.to_uppercase()), Some(pair.clone()));
        // A cut file is not served.
        fs::write(cache.paths(&sha).1, [0xff, 0xd8, 2]).unwrap();
        assert!(cache.get(&sha).is_none());
        assert!(cache.put("../x", &pair).is_err());
        assert!(cache.get("../x").is_none());
        fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn blob_ids_come_back_and_junk_does_not() {
        let dir = std::env::temp_dir().join(format!("media-ids-{}", std::process::id()));
        let cache = DerivedCache::new(&dir);
        let sha = "cd".repeat(32);
        let (a, b) = ("a".repeat(40), "0123456789".repeat(4));
        assert!(cache.pair_ids(&sha).is_none());
        assert!(cache.asset_id(&sha).is_none());
        cache.put_pair_ids(&sha, &a, &b).unwrap();
        cache.put_asset_id(&sha, "png", &b).unwrap();
        assert_eq!(cache.pair_ids(&sha), Some([a.clone(), b.clone()]));
        assert_eq!(
            cache.asset_id(&sha.to_uppercase()),
            Some(("png".into(), b.clone()))
        );
        // The two kinds do not share a file: a pair's ids are not an asset's.
        assert_ne!(
            DerivedCache::ids_path(&cache.dir, &sha),
            DerivedCache::ids_path(&cache.assets, &sha)
        );
        // A cut or foreign file is no note.
        let path = DerivedCache::ids_path(&cache.dir, &sha).unwrap();
        fs::write(&path, format!("{a} {b}")).unwrap();
        assert!(cache.pair_ids(&sha).is_none());
        fs::write(&path, format!("{a} {}\n", "z".repeat(40))).unwrap();
        assert!(cache.pair_ids(&sha).is_none());
        assert!(cache.put_asset_id(&sha, "p ng", &b).is_err());
        assert!(cache.put_pair_ids("../x", &a, &b).is_err());
        fs::remove_dir_all(dir).unwrap();
    }
}
