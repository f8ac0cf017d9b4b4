//! Where the objects live: a directory or an S3-compatible bucket (path-style). Both read a whole
//! object with a version token and write a whole object only if it is still at that version.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use rusty_s3::{Bucket, Credentials, S3Action, UrlStyle};

use crate::Error;

/// What an object looked like when read; a write succeeds only if it still looks like that.
#[derive(Clone, Debug)]
pub enum Version {
    /// Directory: the bytes read (`None` = file absent). Compared again just before the rename.
    Dir(Option<Vec<u8>>),
    /// S3: the ETag read (`None` = object absent), sent as `If-Match` / `If-None-Match: *`.
    S3(Option<String>),
}

/// S3-compatible bucket settings (`S3_*` variables).
#[derive(Clone, Debug)]
pub struct S3Config {
    /// The S3 endpoint URL.
    pub endpoint: String,
    /// The bucket holding the tables.
    pub bucket: String,
    /// The access key id.
    pub access_key_id: String,
    /// The secret access key.
    pub secret_access_key: String,
    /// The region requests are signed for.
    pub region: String,
}

pub(crate) enum Backend {
    Dir(PathBuf),
    S3(Box<S3Backend>),
}

impl Backend {
    pub(crate) fn location(&self, key: &str) -> String {
        match self {
            Backend::Dir(dir) => dir.join(key).display().to_string(),
            Backend::S3(s3) => s3.location(key),
        }
    }

    pub(crate) fn read(&self, key: &str) -> Result<(Option<Vec<u8>>, Version), Error> {
        match self {
            Backend::Dir(dir) => {
                let bytes = read_file(&dir.join(key))?;
                Ok((bytes.clone(), Version::Dir(bytes)))
            }
            Backend::S3(s3) => {
                let (bytes, etag) = s3.get(key)?;
                Ok((bytes, Version::S3(etag)))
            }
        }
    }

    pub(crate) fn write(
        &self,
        key: &str,
        bytes: &[u8],
        version: &Version,
    ) -> Result<Version, Error> {
        match (self, version) {
            (Backend::Dir(dir), Version::Dir(expected)) => {
                write_file_atomic(dir, key, bytes, expected.as_deref())?;
                Ok(Version::Dir(Some(bytes.to_vec())))
            }
            (Backend::S3(s3), Version::S3(etag)) => {
                Ok(Version::S3(Some(s3.put(key, bytes, etag.as_deref())?)))
            }
            _ => Err(Error::Conflict {
                location: self.location(key),
            }),
        }
    }
}

/// Reads a file; absent (`ENOENT`/`ENOTDIR`) means empty, any other error is raised.
fn read_file(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound || e.kind() == io::ErrorKind::NotADirectory =>
        {
            Ok(None)
        }
        Err(e) => Err(Error::Io {
            location: path.display().to_string(),
            source: e,
        }),
    }
}

/// Writes `dir/key` whole: a unique temp file in the same directory, fsync, rename over the target,
/// fsync the directory. A crash at any point leaves the old file or the new one, never a mix.
/// Refuses (nothing written) when the file no longer holds `expected`.
fn write_file_atomic(
    dir: &Path,
    key: &str,
    bytes: &[u8],
    expected: Option<&[u8]>,
) -> Result<(), Error> {
    let target = dir.join(key);
    let io_err = |p: &Path, e: io::Error| Error::Io {
        location: p.display().to_string(),
        source: e,
    };
    fs::create_dir_all(dir).map_err(|e| io_err(dir, e))?;
    let unchanged = |target: &Path| -> Result<(), Error> {
        if read_file(target)?.as_deref() != expected {
            return Err(Error::Conflict {
                location: target.display().to_string(),
            });
        }
        Ok(())
    };
    unchanged(&target)?;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let tmp = dir.join(format!(".{key}.{}.{nanos}.tmp", std::process::id()));
    let result = (|| {
        let mut f = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(|e| io_err(&tmp, e))?;
        f.write_all(bytes).map_err(|e| io_err(&tmp, e))?;
        f.sync_all().map_err(|e| io_err(&tmp, e))?;
        drop(f);
        // Check again right before the switch: the window left is the rename itself.
        unchanged(&target)?;
        fs::rename(&tmp, &target).map_err(|e| io_err(&target, e))?;
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io_err(dir, e))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

pub(crate) struct S3Backend {
    bucket: Bucket,
    credentials: Credentials,
    agent: ureq::Agent,
    endpoint: String,
}

/// How long a presigned request stays valid; each is used at once.
const SIGN_FOR: Duration = Duration::from_secs(300);
const NDJSON: &str = "application/x-ndjson";
/// Private files are a few MB; refuse absurd bodies rather than exhaust memory.
const MAX_BODY: u64 = 1 << 30;

impl S3Backend {
    pub(crate) fn new(cfg: &S3Config) -> Result<S3Backend, Error> {
        let bad = |m: String| Error::Config(m);
        let url = cfg
            .endpoint
            .parse::<url::Url>()
            .map_err(|e| bad(format!("S3_ENDPOINT {:?} is not a URL: {e}", cfg.endpoint)))?;
        let bucket = Bucket::new(url, UrlStyle::Path, cfg.bucket.clone(), cfg.region.clone())
            .map_err(|e| {
                bad(format!(
                    "S3_ENDPOINT {:?} / S3_BUCKET {:?}: {e}",
                    cfg.endpoint, cfg.bucket
                ))
            })?;
        let credentials =
            Credentials::new(cfg.access_key_id.clone(), cfg.secret_access_key.clone());
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .timeout_connect(Some(Duration::from_secs(10)))
            .build()
            .new_agent();
        Ok(S3Backend {
            bucket,
            credentials,
            agent,
            endpoint: cfg.endpoint.trim_end_matches('/').to_owned(),
        })
    }

    fn location(&self, key: &str) -> String {
        format!("s3 {}/{}/{key}", self.endpoint, self.bucket.name())
    }

    fn http_err(&self, key: &str, e: ureq::Error) -> Error {
        Error::S3 {
            location: self.location(key),
            message: e.to_string(),
        }
    }

    /// One signed `GET`: its status, the ETag it carried and the body (at most `MAX_BODY`).
    fn send_get(
        &self,
        what: &str,
        url: &url::Url,
    ) -> Result<(u16, Option<String>, Vec<u8>), Error> {
        let mut resp = self
            .agent
            .get(url.as_str())
            .call()
            .map_err(|e| self.http_err(what, e))?;
        let status = resp.status().as_u16();
        let etag = header(&resp, "etag");
        let body = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_vec()
            .map_err(|e| self.http_err(what, e))?;
        Ok((status, etag, body))
    }

    /// `GetObject`: the body and ETag, or `None` on `NoSuchKey`.
    fn get(&self, key: &str) -> Result<(Option<Vec<u8>>, Option<String>), Error> {
        let url = self
            .bucket
            .get_object(Some(&self.credentials), key)
            .sign(SIGN_FOR);
        let (status, etag, body) = self.send_get(key, &url)?;
        match status {
            200 if etag.is_none() => Err(Error::S3 {
                location: self.location(key),
                message: "GET returned no ETag".into(),
            }),
            200 => Ok((Some(body), etag)),
            404 if error_code(&body) == Some("NoSuchKey") => Ok((None, None)),
            _ => Err(self.status_err(key, "GET", status, &body)),
        }
    }

    /// The precondition header of a conditional PUT: `If-Match` on the ETag read, or
    /// `If-None-Match: *` when the object was absent.
    fn condition(etag: Option<&str>) -> (&'static str, &str) {
        match etag {
            Some(e) => ("if-match", e),
            None => ("if-none-match", "*"),
        }
    }

    /// A presigned `PutObject` URL whose signature also covers the precondition and the
    /// content type, so neither can be dropped on the way.
    fn signed_put(&self, key: &str, etag: Option<&str>, at: &jiff::Timestamp) -> url::Url {
        let (cond, value) = Self::condition(etag);
        let mut action = self.bucket.put_object(Some(&self.credentials), key);
        action.headers_mut().insert(cond, value.to_owned());
        action.headers_mut().insert("content-type", NDJSON);
        action.sign_with_time(SIGN_FOR, at)
    }

    /// `PutObject`, one request with the whole body, conditional on the ETag read.
    fn put(&self, key: &str, bytes: &[u8], etag: Option<&str>) -> Result<String, Error> {
        let (cond, value) = Self::condition(etag);
        let url = self.signed_put(key, etag, &jiff::Timestamp::now());
        let mut resp = self
            .agent
            .put(url.as_str())
            .header(cond, value)
            .header("content-type", NDJSON)
            .send(bytes)
            .map_err(|e| self.http_err(key, e))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(1 << 20)
            .read_to_vec()
            .unwrap_or_default();
        match status {
            200..=299 => header(&resp, "etag").ok_or_else(|| Error::S3 {
                location: self.location(key),
                message: "PUT returned no ETag".into(),
            }),
            // 412: the ETag moved (or the object appeared); 409: a concurrent conditional write;
            // 404 NoSuchKey under If-Match: the object was deleted since we read it.
            412 | 409 => Err(Error::Conflict {
                location: self.location(key),
            }),
            404 if etag.is_some() && error_code(&body) == Some("NoSuchKey") => {
                Err(Error::Conflict {
                    location: self.location(key),
                })
            }
            _ => Err(self.status_err(key, "PUT", status, &body)),
        }
    }

    /// A presigned `GET` on the bucket itself with `query` (sorted by name, as signing needs).
    fn signed_bucket_get(&self, query: &[(&str, &str)]) -> url::Url {
        rusty_s3::signing::sign(
            &jiff::Timestamp::now(),
            rusty_s3::Method::Get,
            self.bucket.base_url().clone(),
            self.credentials.key(),
            self.credentials.secret(),
            self.credentials.token(),
            self.bucket.region(),
            SIGN_FOR.as_secs(),
            query.iter().copied(),
            std::iter::empty(),
        )
    }

    /// A `GET` whose answer must be 200; returns the body as text.
    fn get_text(&self, what: &str, url: &url::Url) -> Result<String, Error> {
        let (status, _, body) = self.send_get(what, url)?;
        if status != 200 {
            return Err(self.status_err(what, "GET", status, &body));
        }
        String::from_utf8(body).map_err(|e| Error::S3 {
            location: self.location(what),
            message: format!("answer is not UTF-8: {e}"),
        })
    }

    /// `GetBucketVersioning`: `Enabled`, `Suspended`, or empty when never enabled.
    pub(crate) fn versioning(&self) -> Result<String, Error> {
        let url = self.signed_bucket_get(&[("versioning", "")]);
        let xml = self.get_text("?versioning", &url)?;
        Ok(crate::versions::text(&xml, "Status").unwrap_or_default())
    }

    /// `ListObjectVersions` of exactly `key`, every page, newest first.
    pub(crate) fn versions(&self, key: &str) -> Result<Vec<crate::ObjectVersion>, Error> {
        let mut out = Vec::new();
        let mut marker: Option<(String, String)> = None;
        loop {
            let url = match &marker {
                None => self.signed_bucket_get(&[("prefix", key), ("versions", "")]),
                Some((k, v)) => self.signed_bucket_get(&[
                    ("key-marker", k),
                    ("prefix", key),
                    ("version-id-marker", v),
                    ("versions", ""),
                ]),
            };
            let page = crate::versions::parse_versions(&self.get_text(key, &url)?);
            out.extend(page.entries.into_iter().filter(|v| v.key == key));
            match page.next {
                Some(next) if Some(&next) != marker.as_ref() => marker = Some(next),
                _ => return Ok(out),
            }
        }
    }

    /// `GetObject` of one version.
    pub(crate) fn get_version(&self, key: &str, version_id: &str) -> Result<Vec<u8>, Error> {
        let mut action = self.bucket.get_object(Some(&self.credentials), key);
        action
            .query_mut()
            .insert("versionId", version_id.to_owned());
        let url = action.sign(SIGN_FOR);
        Ok(self.get_text(key, &url)?.into_bytes())
    }

    fn status_err(&self, key: &str, method: &str, status: u16, body: &[u8]) -> Error {
        let detail = match error_code(body) {
            Some(code) => format!(" ({code})"),
            None => String::new(),
        };
        Error::S3 {
            location: self.location(key),
            message: format!("{method} failed with HTTP {status}{detail}"),
        }
    }
}

fn header(resp: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    resp.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The `<Code>` of an S3 XML error body.
fn error_code(body: &[u8]) -> Option<&str> {
    let s = std::str::from_utf8(body).ok()?;
    let start = s.find("<Code>")? + "<Code>".len();
    let end = s[start..].find("</Code>")? + start;
    Some(&s[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Known answer from an independent SigV4 implementation (botocore's `S3SigV4QueryAuth`, same
    /// credentials, time, headers and URL): the signature must cover `content-type`, `host` and
    /// the precondition header.
    #[test]
    fn conditional_put_signature_matches_botocore() {
        let s3 = S3Backend::new(&S3Config {
            endpoint: "https://abc.r2.cloudflarestorage.com".into(),
            bucket: "cfp-private".into(),
            access_key_id: "AKIDEXAMPLE".into(),
            secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".into(),
            region: "auto".into(),
        })
        .unwrap();
        let at = jiff::Timestamp::from_second(1_787_000_000).unwrap();
        let url = s3.signed_put(
            "legacy-passwords.jsonl",
            Some("\"8cbad96aced40b3838dd9f07f6ef5772\""),
            &at,
        );
        assert_eq!(
            url.as_str(),
            "https://abc.r2.cloudflarestorage.com/cfp-private/legacy-passwords.jsonl?X-Amz-Algorithm=AWS4-HMAC-SHA256\
             &X-Amz-Credential=AKIDEXAMPLE%2F20260817%2Fauto%2Fs3%2Faws4_request&X-Amz-Date=20260817T205320Z\
             &X-Amz-Expires=300&X-Amz-SignedHeaders=content-type%3Bhost%3Bif-match\
             &X-Amz-Signature=02b6af68774a5ecf0135c34f7461b2ad662009284a5f968411434127a380a121"
        );
    }
}
