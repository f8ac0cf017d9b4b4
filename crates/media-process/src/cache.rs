//! Derived avatars kept by the source's SHA-256, so the T-0 re-run encodes no photo again.
//!
//! Layout: `<dir>/<VERSION>/<sha256>.jpg` and `<sha256>-128.jpg`. The version names the
//! processing (sizes, qualities, filter): changing any of them must change it, so old
//! derivatives are never served for new rules.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::AvatarPair;

/// Names the processing the cached files came from.
pub const VERSION: &str = "avatar-v2-q85-1024-q80-128-catmullrom-jpeg-encoder";

/// A directory of derived avatars.
#[derive(Debug, Clone)]
pub struct DerivedCache {
    dir: PathBuf,
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
        Self {
            dir: dir.into().join(VERSION),
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
}
