//! The media directory: laddr media bytes by ID, shared by `laddr-fetch --media-dir` (which
//! fills it) and `sheet-write --media-dir` (which reads it).
//!
//! Layout: `DIR/<id>` holds the bytes exactly as laddr served them; `DIR/<id>.json` is the
//! sidecar, `{"v":1,"id":…,"url":…,"contentType":…,"size":…,"sha256":…}`
//! ([`lines::MediaMeta`] behind `"v":1`). Both are written atomically (a temp file in DIR,
//! fsync, rename), the bytes first and the sidecar last, so an ID counts as present only once
//! its sidecar exists and names the bytes' size; [`MediaDir::get`] also checks the digest.
//! laddr media are immutable by ID, which is why a present ID is never fetched again.
//!
//! A medium that could not be stored leaves `DIR/<id>.failed.json`
//! (`{"v":1,"id":…,"url":…,"error":…,"permanent":…}`, a [`FailureRecord`]), so a later run
//! into the same directory (the T-0 delta after the T-1 import) does not pay for it again:
//! a permanent failure (an HTTP 4xx, a JSON answer, a body over the cap) is not requested
//! again, a transient one (given up after retries) gets one attempt. Storing the bytes
//! removes the record.
//!
//! ```
//! let dir = tempfile::tempdir().unwrap();
//! let media = media::MediaDir::open(dir.path()).unwrap();
//! let meta = media::meta_for(7, "https://codeforphilly.org/media/7/original", "image/png", b"png");
//! media.put(&meta, b"png").unwrap();
//! assert!(media.contains(7));
//! assert_eq!(media.get(7).unwrap(), Some((meta, b"png".to_vec())));
//! assert_eq!(media.ids().unwrap(), [7]);
//! ```

#![deny(missing_docs)]

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use lines::{MediaMeta, Versioned};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Why a medium was not stored, kept in the directory as `DIR/<id>.failed.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FailureRecord {
    /// laddr's media ID.
    pub id: u64,
    /// The URL tried.
    pub url: String,
    /// Why it failed, as the media line said it.
    pub error: String,
    /// True when asking again gives the same answer (laddr's media are immutable by ID):
    /// an HTTP 4xx, a JSON answer, a body over the cap. False for a failure given up after
    /// retries (network errors, 5xx), which may pass next time.
    pub permanent: bool,
}

/// Why the media directory could not be read or written; always names the file.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A file or the directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file (or directory).
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// A sidecar that is not a version-1 media sidecar for its ID.
    #[error("{}: not a media sidecar: {reason}", path.display())]
    Sidecar {
        /// The sidecar file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// Bytes that do not match what their sidecar (or the caller's meta) says.
    #[error("{}: {what}", path.display())]
    Mismatch {
        /// The bytes' file.
        path: PathBuf,
        /// Which of size and digest differ, and how.
        what: String,
    },
}

/// A media directory (created on open if missing).
#[derive(Debug, Clone)]
pub struct MediaDir {
    path: PathBuf,
}

/// The SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The meta of `bytes` fetched for `id` from `url` with this `Content-Type`.
pub fn meta_for(id: u64, url: &str, content_type: &str, bytes: &[u8]) -> MediaMeta {
    MediaMeta {
        id,
        url: url.to_owned(),
        content_type: content_type.to_owned(),
        size: bytes.len() as u64,
        sha256: sha256_hex(bytes),
    }
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> MediaError + '_ {
    move |source| MediaError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl MediaDir {
    /// The directory at `path`, created (with its parents) if missing.
    pub fn open(path: impl Into<PathBuf>) -> Result<MediaDir, MediaError> {
        let path = path.into();
        fs::create_dir_all(&path).map_err(io_err(&path))?;
        Ok(MediaDir { path })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `DIR/<id>`, the bytes.
    pub fn bytes_path(&self, id: u64) -> PathBuf {
        self.path.join(id.to_string())
    }

    /// `DIR/<id>.json`, the sidecar.
    pub fn sidecar_path(&self, id: u64) -> PathBuf {
        self.path.join(format!("{id}.json"))
    }

    /// `DIR/<id>.failed.json`, the record of a failed fetch.
    pub fn failure_path(&self, id: u64) -> PathBuf {
        self.path.join(format!("{id}.failed.json"))
    }

    /// The failure recorded for `id` by an earlier run, or `None`.
    pub fn failure(&self, id: u64) -> Result<Option<FailureRecord>, MediaError> {
        read_versioned(&self.failure_path(id), id, |r: &FailureRecord| r.id)
    }

    /// Record that `record.id` could not be stored (replacing an earlier record).
    pub fn put_failure(&self, record: &FailureRecord) -> Result<(), MediaError> {
        self.write_versioned(&self.failure_path(record.id), record)
    }

    /// True when `id`'s sidecar reads and its bytes have the size it names (the digest is
    /// checked by [`MediaDir::get`]).
    pub fn contains(&self, id: u64) -> bool {
        self.present(id).is_some()
    }

    /// `id`'s sidecar when [`MediaDir::contains`] holds (one read of the sidecar for both).
    pub fn present(&self, id: u64) -> Option<MediaMeta> {
        let meta = self.meta(id).ok()??;
        let size = fs::metadata(self.bytes_path(id)).ok()?.len();
        (size == meta.size).then_some(meta)
    }

    /// `id`'s sidecar, or `None` when there is none.
    pub fn meta(&self, id: u64) -> Result<Option<MediaMeta>, MediaError> {
        read_versioned(&self.sidecar_path(id), id, |m: &MediaMeta| m.id)
    }

    /// `id`'s sidecar and bytes, verified against the sidecar's size and SHA-256; `None`
    /// when `id` is not present.
    pub fn get(&self, id: u64) -> Result<Option<(MediaMeta, Vec<u8>)>, MediaError> {
        let Some(meta) = self.meta(id)? else {
            return Ok(None);
        };
        let path = self.bytes_path(id);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_err(&path)(e)),
        };
        check(&path, &meta, &bytes)?;
        Ok(Some((meta, bytes)))
    }

    /// Store `bytes` under `meta.id`: the old sidecar (if any) goes first, then the bytes and
    /// then the new sidecar are written atomically, so a crash at any point leaves `id`
    /// absent or whole. `meta` must describe `bytes`.
    pub fn put(&self, meta: &MediaMeta, bytes: &[u8]) -> Result<(), MediaError> {
        let bytes_path = self.bytes_path(meta.id);
        check(&bytes_path, meta, bytes)?;
        let sidecar = self.sidecar_path(meta.id);
        match fs::remove_file(&sidecar) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(&sidecar)(e)),
            _ => {}
        }
        self.write_atomic(&bytes_path, bytes)?;
        self.write_versioned(&sidecar, meta)?;
        // Stored now: an earlier failure no longer holds.
        let failed = self.failure_path(meta.id);
        match fs::remove_file(&failed) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(&failed)(e)),
            _ => Ok(()),
        }
    }

    /// Every present ID (one with a sidecar), ascending.
    pub fn ids(&self) -> Result<Vec<u64>, MediaError> {
        let mut ids = Vec::new();
        for entry in fs::read_dir(&self.path).map_err(io_err(&self.path))? {
            let entry = entry.map_err(io_err(&self.path))?;
            let name = entry.file_name();
            let id = name
                .to_str()
                .and_then(|n| n.strip_suffix(".json"))
                .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|n| n.parse::<u64>().ok());
            if let Some(id) = id {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        Ok(ids)
    }

    /// `value` behind `"v":1`, one JSON line, written atomically.
    fn write_versioned(&self, path: &Path, value: &impl Serialize) -> Result<(), MediaError> {
        let mut text =
            serde_json::to_vec(&Versioned::new(value)).map_err(|e| MediaError::Sidecar {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        text.push(b'\n');
        self.write_atomic(path, &text)
    }

    fn write_atomic(&self, path: &Path, bytes: &[u8]) -> Result<(), MediaError> {
        // Unique per process and call, so parallel writers never share a temp file.
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("media");
        let tmp = self.path.join(format!(
            ".{name}.tmp{}-{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let written = fs::File::create(&tmp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        if let Err(e) = written.and_then(|()| fs::rename(&tmp, path)) {
            let _ = fs::remove_file(&tmp);
            return Err(io_err(path)(e));
        }
        Ok(())
    }
}

/// The version-1 JSON file at `path`, which must name media `id` (`id_of` reads the ID it
/// names); `None` when there is no such file.
fn read_versioned<T: serde::de::DeserializeOwned>(
    path: &Path,
    id: u64,
    id_of: impl Fn(&T) -> u64,
) -> Result<Option<T>, MediaError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io_err(path)(e)),
    };
    let value: T = lines::parse_versioned(text.trim_end()).map_err(|e| MediaError::Sidecar {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    if id_of(&value) != id {
        return Err(MediaError::Sidecar {
            path: path.to_path_buf(),
            reason: format!("it names media {}", id_of(&value)),
        });
    }
    Ok(Some(value))
}

/// `bytes` must have `meta`'s size and digest.
fn check(path: &Path, meta: &MediaMeta, bytes: &[u8]) -> Result<(), MediaError> {
    let mismatch = |what: String| MediaError::Mismatch {
        path: path.to_path_buf(),
        what,
    };
    if bytes.len() as u64 != meta.size {
        return Err(mismatch(format!(
            "{} bytes, but the sidecar says {}",
            bytes.len(),
            meta.size
        )));
    }
    let digest = sha256_hex(bytes);
    if digest != meta.sha256 {
        return Err(mismatch(format!(
            "SHA-256 {digest}, but the sidecar says {}",
            meta.sha256
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored(dir: &MediaDir, id: u64, bytes: &[u8]) -> MediaMeta {
        let meta = meta_for(
            id,
            &format!("http://x/media/{id}/original"),
            "image/jpeg",
            bytes,
        );
        dir.put(&meta, bytes).unwrap();
        meta
    }

    #[test]
    fn put_writes_bytes_and_sidecar_and_get_reads_them_back() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path().join("media")).unwrap();
        let meta = stored(&dir, 555, b"\xff\xd8jpeg");
        assert_eq!(fs::read(dir.bytes_path(555)).unwrap(), b"\xff\xd8jpeg");
        assert_eq!(dir.present(555).as_ref(), Some(&meta));
        assert_eq!(
            fs::read_to_string(dir.sidecar_path(555)).unwrap(),
            format!(
                "{{\"v\":1,\"id\":555,\"url\":\"http://x/media/555/original\",\"contentType\":\"image/jpeg\",\"size\":6,\"sha256\":\"{}\"}}\n",
                sha256_hex(b"\xff\xd8jpeg")
            )
        );
        assert_eq!(
            dir.get(555).unwrap(),
            Some((meta, b"\xff\xd8jpeg".to_vec()))
        );
        assert_eq!(dir.get(556).unwrap(), None);
        assert!(!dir.contains(556));
        // No temp file is left behind.
        let mut names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["555", "555.json"]);
    }

    #[test]
    fn sha256_is_the_standard_digest() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn bytes_without_a_sidecar_are_not_present() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        fs::write(dir.bytes_path(9), b"half-written run").unwrap();
        assert!(!dir.contains(9));
        assert_eq!(dir.get(9).unwrap(), None);
        assert_eq!(dir.ids().unwrap(), Vec::<u64>::new());
    }

    #[test]
    fn changed_bytes_are_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        stored(&dir, 3, b"abcd");
        fs::write(dir.bytes_path(3), b"abce").unwrap();
        let err = dir.get(3).unwrap_err().to_string();
        assert!(
            err.contains(&dir.bytes_path(3).display().to_string()),
            "{err}"
        );
        assert!(err.contains("SHA-256"), "{err}");
        fs::write(dir.bytes_path(3), b"abc").unwrap();
        assert!(!dir.contains(3), "a short file is not present");
        assert_eq!(dir.present(3), None);
        assert!(dir.get(3).unwrap_err().to_string().contains("3 bytes"));
    }

    #[test]
    fn put_refuses_meta_that_does_not_describe_the_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        let meta = meta_for(4, "u", "image/png", b"one");
        assert!(dir.put(&meta, b"two").is_err());
        assert!(!dir.bytes_path(4).exists());
    }

    #[test]
    fn a_sidecar_for_another_id_or_version_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        let meta = stored(&dir, 5, b"x");
        fs::copy(dir.sidecar_path(5), dir.sidecar_path(6)).unwrap();
        fs::copy(dir.bytes_path(5), dir.bytes_path(6)).unwrap();
        assert!(
            dir.meta(6)
                .unwrap_err()
                .to_string()
                .contains("names media 5")
        );
        let v2 = serde_json::to_string(&meta)
            .unwrap()
            .replacen('{', "{\"v\":2,", 1);
        fs::write(dir.sidecar_path(5), v2).unwrap();
        assert!(dir.get(5).unwrap_err().to_string().contains("version"));
    }

    #[test]
    fn ids_are_ascending_and_ignore_other_files() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        for id in [30, 4, 200] {
            stored(&dir, id, id.to_string().as_bytes());
        }
        fs::write(dir.path().join("notes.json"), b"{}").unwrap();
        fs::write(dir.path().join(".7.json.tmp1-0"), b"{}").unwrap();
        fs::write(dir.path().join("9.failed.json"), b"{}").unwrap();
        assert_eq!(dir.ids().unwrap(), [4, 30, 200]);
    }

    #[test]
    fn a_failure_is_recorded_until_the_bytes_are_stored() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        assert_eq!(dir.failure(8).unwrap(), None);
        let record = FailureRecord {
            id: 8,
            url: "http://x/media/8/original".into(),
            error: "HTTP 404".into(),
            permanent: true,
        };
        dir.put_failure(&record).unwrap();
        assert_eq!(
            fs::read_to_string(dir.failure_path(8)).unwrap(),
            "{\"v\":1,\"id\":8,\"url\":\"http://x/media/8/original\",\"error\":\"HTTP 404\",\"permanent\":true}\n"
        );
        assert_eq!(dir.failure(8).unwrap(), Some(record));
        assert!(!dir.contains(8));
        stored(&dir, 8, b"bytes at last");
        assert_eq!(dir.failure(8).unwrap(), None);
        assert!(!dir.failure_path(8).exists());
    }

    #[test]
    fn a_failure_record_for_another_id_is_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = MediaDir::open(tmp.path()).unwrap();
        fs::write(
            dir.failure_path(2),
            "{\"v\":1,\"id\":3,\"url\":\"u\",\"error\":\"HTTP 404\",\"permanent\":true}\n",
        )
        .unwrap();
        let err = dir.failure(2).unwrap_err().to_string();
        assert!(
            err.contains("2.failed.json") && err.contains("names media 3"),
            "{err}"
        );
    }
}
