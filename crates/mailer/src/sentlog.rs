//! The durable sent-log: NDJSON, appended and fsync'd, locked for the length of a run.
//!
//! One log serves every campaign: each line is tagged with its `campaign`, a log opened for one
//! campaign keeps the others' lines but ignores them, so what is recorded is keyed by
//! (campaign, person). Three kinds of line (`type`):
//! - `intent`: written and fsync'd *before* a batch is sent: its request `Idempotency-Key`, its
//!   recipients (personId, email, per-recipient key) and the exact JSON body;
//! - `sent`: one per recipient, written and fsync'd right after Resend accepted the batch;
//! - `abandoned`: closes an intent Resend refused for good (nothing was sent).
//!
//! An intent without its `sent` lines means a run died while that batch was in flight: Resend may
//! or may not have sent it. The next run replays the very same request (same key, same body), so
//! Resend answers from its idempotency store instead of sending again. A torn last line (a crash
//! mid-write) is cut off when the log is opened for writing.

use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::Error;

/// One recipient of a batch, as the intent records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// The Person.
    pub person_id: String,
    /// The address.
    pub email: String,
    /// The recipient's key, `<campaign>/<personId>`.
    pub idempotency_key: String,
    /// The Person's slug (absent in logs written before it was recorded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
}

/// A batch about to be sent.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Intent {
    /// The batch's idempotency key.
    pub request_key: String,
    /// When the batch was about to go out.
    pub at: String,
    /// Who the batch mails.
    pub recipients: Vec<Member>,
    /// The exact request body (a JSON array of emails).
    pub body: Value,
}

/// One recipient Resend accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sent {
    /// The key of the batch request that carried it.
    pub request_key: String,
    /// The Person.
    pub person_id: String,
    /// The address.
    pub email: String,
    /// The recipient's key, `<campaign>/<personId>`.
    pub idempotency_key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The Person's slug (absent in logs written before it was recorded).
    pub slug: Option<String>,
    /// Resend's id of the email.
    pub email_id: Option<String>,
    /// When Resend accepted it.
    pub sent_at: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
enum Line {
    Intent {
        campaign: String,
        #[serde(flatten)]
        intent: Intent,
    },
    Sent {
        campaign: String,
        #[serde(flatten)]
        sent: Sent,
    },
    #[serde(rename_all = "camelCase")]
    Abandoned {
        campaign: String,
        request_key: String,
        at: String,
        reason: String,
    },
}

/// The sent-log of one campaign.
pub struct SentLog {
    path: PathBuf,
    /// Open for appending, and locked; `None` when opened read-only (dry runs).
    file: Option<File>,
    campaign: String,
    by_person: HashMap<String, Sent>,
    /// Lowercased email → personId.
    by_email: HashMap<String, String>,
    intents: Vec<Intent>,
    /// Things the operator should know (a torn line was cut, …).
    pub warnings: Vec<String>,
}

impl SentLog {
    /// Opens (creating) the log for a sending run and takes an exclusive lock on it; a second
    /// run on the same log fails with [`Error::Locked`] instead of racing the first.
    pub fn open(path: &Path, campaign: &str) -> Result<SentLog, Error> {
        let io = |e| Error::io(path.display(), e);
        let existed = path.exists();
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(io)?;
        if !existed {
            // A new file is durable only once its directory entry is.
            let dir = match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            File::open(dir)
                .and_then(|d| d.sync_all())
                .map_err(|e| Error::io(dir.display(), e))?;
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(Error::Locked {
                    path: path.display().to_string(),
                });
            }
            Err(std::fs::TryLockError::Error(e)) => return Err(io(e)),
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let mut warnings = Vec::new();
        if complete_prefix(&bytes) < bytes.len() {
            // A crash mid-append left half a line: it never counted, so cut it off.
            let keep = complete_prefix(&bytes);
            warnings.push(format!(
                "{}: cut off a torn last line ({} bytes) left by an interrupted run",
                path.display(),
                bytes.len() - keep
            ));
            file.set_len(keep as u64).map_err(io)?;
            file.sync_data().map_err(io)?;
            bytes.truncate(keep);
        }
        let mut log = SentLog::parse(path, campaign, &bytes)?;
        log.file = Some(file);
        log.warnings = warnings;
        Ok(log)
    }

    /// Reads the log without locking or changing it (dry runs); a missing file is empty.
    pub fn read_only(path: &Path, campaign: &str) -> Result<SentLog, Error> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(Error::io(path.display(), e)),
        };
        let mut warnings = Vec::new();
        let end = complete_prefix(&bytes);
        if end < bytes.len() {
            warnings.push(format!(
                "{}: ignoring a torn last line left by an interrupted run",
                path.display()
            ));
        }
        let mut log = SentLog::parse(path, campaign, &bytes[..end])?;
        log.warnings = warnings;
        Ok(log)
    }

    /// Every `sent` line of every campaign, in log order (for `mailer bounces`); a torn last
    /// line is ignored, any other unreadable line is an error.
    pub fn all_sent(path: &Path) -> Result<Vec<(String, Sent)>, Error> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path.display(), e))?;
        let lines = parse_lines(path, &bytes[..complete_prefix(&bytes)])?;
        Ok(lines
            .into_iter()
            .filter_map(|l| match l {
                Line::Sent { campaign, sent } => Some((campaign, sent)),
                _ => None,
            })
            .collect())
    }

    fn parse(path: &Path, campaign: &str, bytes: &[u8]) -> Result<SentLog, Error> {
        let mut log = SentLog {
            path: path.to_owned(),
            file: None,
            campaign: campaign.to_owned(),
            by_person: HashMap::new(),
            by_email: HashMap::new(),
            intents: Vec::new(),
            warnings: Vec::new(),
        };
        for line in parse_lines(path, bytes)? {
            log.apply(line);
        }
        Ok(log)
    }

    fn apply(&mut self, line: Line) {
        match line {
            Line::Intent { campaign, intent } if campaign == self.campaign => {
                self.intents.retain(|i| i.request_key != intent.request_key);
                self.intents.push(intent);
            }
            Line::Sent { campaign, sent } if campaign == self.campaign => {
                self.by_email
                    .insert(sent.email.to_lowercase(), sent.person_id.clone());
                let key = sent.request_key.clone();
                self.by_person.insert(sent.person_id.clone(), sent);
                // An intent is settled once all its recipients are logged as sent.
                let by_person = &self.by_person;
                self.intents.retain(|i| {
                    i.request_key != key
                        || !i
                            .recipients
                            .iter()
                            .all(|m| by_person.contains_key(&m.person_id))
                });
            }
            Line::Abandoned {
                campaign,
                request_key,
                ..
            } if campaign == self.campaign => {
                self.intents.retain(|i| i.request_key != request_key);
            }
            _ => {}
        }
    }

    /// The sent-log's file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The earlier send to this person, or to this address (case-insensitive) under another
    /// personId.
    pub fn sent_to(&self, person_id: &str, email: &str) -> Option<&Sent> {
        self.by_person.get(person_id).or_else(|| {
            self.by_email
                .get(&email.to_lowercase())
                .and_then(|p| self.by_person.get(p))
        })
    }

    /// How many people this campaign has mailed.
    pub fn sent_count(&self) -> usize {
        self.by_person.len()
    }

    /// Batches that were in flight when an earlier run stopped.
    pub fn open_intents(&self) -> &[Intent] {
        &self.intents
    }

    fn append(&mut self, lines: &[Line]) -> Result<(), Error> {
        let path = self.path.display().to_string();
        let Some(file) = self.file.as_mut() else {
            return Err(Error::Usage(format!(
                "sent-log {path} was opened read-only"
            )));
        };
        let mut buf = Vec::new();
        for l in lines {
            serde_json::to_writer(&mut buf, l).map_err(|e| Error::Usage(e.to_string()))?;
            buf.push(b'\n');
        }
        // One write, then fsync: the lines are on disk before we go on.
        file.write_all(&buf)
            .and_then(|()| file.sync_data())
            .map_err(|e| Error::io(&path, e))?;
        for l in lines {
            self.apply(l.clone());
        }
        Ok(())
    }

    /// Logs a batch before it is sent.
    pub fn write_intent(&mut self, intent: &Intent) -> Result<(), Error> {
        let line = Line::Intent {
            campaign: self.campaign.clone(),
            intent: intent.clone(),
        };
        self.append(&[line])
    }

    /// Logs the recipients of an accepted batch.
    pub fn record_sent(&mut self, sent: &[Sent]) -> Result<(), Error> {
        let lines: Vec<Line> = sent
            .iter()
            .map(|s| Line::Sent {
                campaign: self.campaign.clone(),
                sent: s.clone(),
            })
            .collect();
        self.append(&lines)
    }

    /// Closes an intent Resend refused (nothing was sent).
    pub fn record_abandoned(
        &mut self,
        request_key: &str,
        at: &str,
        reason: &str,
    ) -> Result<(), Error> {
        let line = Line::Abandoned {
            campaign: self.campaign.clone(),
            request_key: request_key.to_owned(),
            at: at.to_owned(),
            reason: reason.to_owned(),
        };
        self.append(&[line])
    }
}

/// The length of `bytes` up to and including its last newline: a crash mid-append leaves a
/// torn last line that never counted.
fn complete_prefix(bytes: &[u8]) -> usize {
    if bytes.is_empty() || bytes.ends_with(b"\n") {
        return bytes.len();
    }
    bytes.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1)
}

/// Every line of a sent-log; one that cannot be read is an error naming it.
fn parse_lines(path: &Path, bytes: &[u8]) -> Result<Vec<Line>, Error> {
    let text = std::str::from_utf8(bytes).map_err(|e| Error::BadLine {
        path: path.display().to_string(),
        line: 0,
        message: format!("not UTF-8: {e}"),
    })?;
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        if raw.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(raw).map_err(|e| Error::BadLine {
            path: path.display().to_string(),
            line: i + 1,
            message: format!("not a sent-log line: {e}"),
        })?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn member(n: u32) -> Member {
        Member {
            person_id: format!("p{n}"),
            email: format!("u{n}@example.com"),
            idempotency_key: format!("t90-reminder/p{n}"),
            slug: None,
        }
    }

    fn sent(n: u32, key: &str) -> Sent {
        Sent {
            request_key: key.into(),
            person_id: format!("p{n}"),
            email: format!("U{n}@example.com"),
            idempotency_key: format!("t90-reminder/p{n}"),
            slug: Some(format!("s{n}")),
            email_id: Some(format!("id{n}")),
            sent_at: "2026-08-15T12:00:00.000Z".into(),
        }
    }

    #[test]
    fn intents_settle_when_all_sent_and_survive_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sent.ndjson");
        {
            let mut log = SentLog::open(&path, "t90-reminder").unwrap();
            let intent = Intent {
                request_key: "k1".into(),
                at: "2026-08-15T12:00:00.000Z".into(),
                recipients: vec![member(1), member(2)],
                body: json!([{"to": ["u1@example.com"]}, {"to": ["u2@example.com"]}]),
            };
            log.write_intent(&intent).unwrap();
            log.write_intent(&Intent {
                request_key: "k2".into(),
                recipients: vec![member(3)],
                ..intent.clone()
            })
            .unwrap();
            log.record_sent(&[sent(1, "k1")]).unwrap();
            assert_eq!(log.open_intents().len(), 2);
            log.record_sent(&[sent(2, "k1")]).unwrap();
            assert_eq!(log.open_intents().len(), 1);
        }
        let log = SentLog::open(&path, "t90-reminder").unwrap();
        assert_eq!(log.sent_count(), 2);
        assert!(log.sent_to("p1", "x@y.z").is_some());
        // Same address under another personId, any case.
        assert_eq!(
            log.sent_to("p9", "u2@EXAMPLE.com")
                .map(|s| s.person_id.as_str()),
            Some("p2")
        );
        assert_eq!(log.open_intents()[0].request_key, "k2");
        // Another campaign sees nothing.
        drop(log);
        let other = SentLog::open(&path, "t180-notice").unwrap();
        assert_eq!(other.sent_count(), 0);
        assert!(other.open_intents().is_empty());
    }

    #[test]
    fn second_writer_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sent.ndjson");
        let _first = SentLog::open(&path, "c").unwrap();
        assert!(matches!(
            SentLog::open(&path, "c"),
            Err(Error::Locked { .. })
        ));
        // Reading is fine.
        assert!(SentLog::read_only(&path, "c").is_ok());
    }

    #[test]
    fn torn_last_line_is_cut_and_bad_lines_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sent.ndjson");
        {
            let mut log = SentLog::open(&path, "c").unwrap();
            log.record_sent(&[sent(1, "k")]).unwrap();
        }
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"type":"sent","campa"#).unwrap();
        drop(f);
        assert_eq!(SentLog::read_only(&path, "c").unwrap().warnings.len(), 1);
        let log = SentLog::open(&path, "c").unwrap();
        assert_eq!(log.warnings.len(), 1);
        assert_eq!(log.sent_count(), 1);
        drop(log);
        assert!(std::fs::read_to_string(&path).unwrap().ends_with("}\n"));
        std::fs::write(&path, "garbage\n").unwrap();
        let e = SentLog::open(&path, "c").err().unwrap().to_string();
        assert!(e.contains(":1: not a sent-log line"), "{e}");
    }
}
