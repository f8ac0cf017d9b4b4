//! Test support: a real S3-compatible server (moto in server mode) started as a child process.
//!
//! CI installs it with `pip install 'moto[server]>=5.1'`. A test using [`MotoServer::start`]
//! fails with that install command when the server cannot be started; it never skips.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rusty_s3::S3Action;

use crate::{PrivateStore, S3Config};

/// A moto server on a free loopback port, killed on drop.
pub struct MotoServer {
    child: Child,
    port: u16,
    _log: tempfile::NamedTempFile,
}

impl MotoServer {
    /// Starts `python3 -m moto.server` and waits until it answers. Panics with the install
    /// command when it cannot.
    pub fn start() -> MotoServer {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("no free port");
        let log = tempfile::NamedTempFile::new().expect("temp file for the moto log");
        let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".into());
        let child = Command::new(&python)
            .args(["-m", "moto.server", "-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(log.reopen().expect("moto log").try_clone().map(Stdio::from).unwrap_or(Stdio::null()))
            .stderr(log.reopen().map(Stdio::from).unwrap_or(Stdio::null()))
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start the S3 test server `{python} -m moto.server`: {e}. Install it with: pip install 'moto[server]>=5.1'"));
        let mut server = MotoServer {
            child,
            port,
            _log: log,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                let mut out = String::new();
                let _ = server._log.reopen().map(|mut f| f.read_to_string(&mut out));
                panic!(
                    "the S3 test server (moto) exited with {status} before answering. Install it with: pip install 'moto[server]>=5.1'\n{out}"
                );
            }
            if server.answers() {
                return server;
            }
            assert!(
                Instant::now() < deadline,
                "the S3 test server (moto) did not answer on port {port} within 60 s"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect(("127.0.0.1", self.port)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
        let req = "GET /moto-api/ HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        let mut buf = [0u8; 12];
        s.write_all(req.as_bytes()).is_ok()
            && s.read_exact(&mut buf).is_ok()
            && buf.starts_with(b"HTTP/1.")
    }

    /// `http://127.0.0.1:<port>`
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Creates a bucket (unsigned `PUT /<bucket>`; moto does not check signatures by default) and
    /// returns the config for it.
    pub fn bucket(&self, name: &str) -> S3Config {
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let req = format!(
            "PUT /{name} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
            self.port
        );
        s.write_all(req.as_bytes()).expect("create bucket");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        assert!(
            resp.starts_with("HTTP/1.1 200") || resp.starts_with("HTTP/1.0 200"),
            "create bucket {name}: {resp}"
        );
        S3Config {
            endpoint: self.endpoint(),
            bucket: name.into(),
            access_key_id: "test-key".into(),
            secret_access_key: "test-secret".into(),
            region: "us-east-1".into(),
        }
    }

    /// Creates a bucket with versioning `Enabled` (`PUT /<bucket>?versioning`).
    pub fn versioned_bucket(&self, name: &str) -> S3Config {
        let cfg = self.bucket(name);
        let body = r#"<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>Enabled</Status></VersioningConfiguration>"#;
        let mut s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect to moto");
        let req = format!(
            "PUT /{name}?versioning HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.port,
            body.len()
        );
        s.write_all(req.as_bytes()).expect("enable versioning");
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        assert!(
            resp.starts_with("HTTP/1.1 200"),
            "enable versioning on {name}: {resp}"
        );
        cfg
    }

    /// The environment a tool needs to use `bucket` (`STORAGE_BACKEND=s3` and `S3_*`).
    pub fn env(cfg: &S3Config) -> Vec<(&'static str, String)> {
        vec![
            ("STORAGE_BACKEND", "s3".into()),
            ("S3_ENDPOINT", cfg.endpoint.clone()),
            ("S3_BUCKET", cfg.bucket.clone()),
            ("S3_ACCESS_KEY_ID", cfg.access_key_id.clone()),
            ("S3_SECRET_ACCESS_KEY", cfg.secret_access_key.clone()),
            ("S3_REGION", cfg.region.clone()),
        ]
    }

    /// A store on a fresh bucket.
    pub fn store(&self, bucket: &str) -> PrivateStore {
        PrivateStore::s3(&self.bucket(bucket)).expect("s3 store")
    }
}

impl Drop for MotoServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An unconditional signed `PUT` of raw bytes, as another writer (or a hand edit) would do.
pub fn raw_put(cfg: &S3Config, key: &str, content: &[u8]) {
    let (bucket, creds) = signer(cfg);
    let url = bucket
        .put_object(Some(&creds), key)
        .sign(Duration::from_secs(60));
    let resp = ureq::put(url.as_str())
        .send(content)
        .unwrap_or_else(|e| panic!("raw PUT {key}: {e}"));
    assert_eq!(resp.status().as_u16(), 200, "raw PUT {key}");
}

/// A signed `DELETE` of an object.
pub fn raw_delete(cfg: &S3Config, key: &str) {
    let (bucket, creds) = signer(cfg);
    let url = bucket
        .delete_object(Some(&creds), key)
        .sign(Duration::from_secs(60));
    let resp = ureq::delete(url.as_str())
        .call()
        .unwrap_or_else(|e| panic!("raw DELETE {key}: {e}"));
    assert_eq!(resp.status().as_u16(), 204, "raw DELETE {key}");
}

fn signer(cfg: &S3Config) -> (rusty_s3::Bucket, rusty_s3::Credentials) {
    let url = cfg.endpoint.parse::<url::Url>().expect("endpoint URL");
    let bucket = rusty_s3::Bucket::new(
        url,
        rusty_s3::UrlStyle::Path,
        cfg.bucket.clone(),
        cfg.region.clone(),
    )
    .expect("bucket");
    (
        bucket,
        rusty_s3::Credentials::new(cfg.access_key_id.clone(), cfg.secret_access_key.clone()),
    )
}
