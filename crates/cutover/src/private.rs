//! The private store's changes since T-0, record by record: for a versioned S3 bucket, every
//! object version written after T-0 against the one before it; for a directory, the files now
//! against the copy t0-delta kept at T-0.

use std::collections::BTreeMap;
use std::path::Path;

use private_store::PrivateStore;
use serde_json::Value;

use crate::Error;
use crate::baseline::Baseline;
use crate::writes::Write;

/// The objects the rewrite writes, and the field that keys their records (`None`: a JSON object
/// keyed by its own keys).
pub const OBJECTS: &[(&str, Option<&str>)] = &[
    ("profiles.jsonl", Some("personId")),
    ("legacy-passwords.jsonl", Some("personId")),
    ("password-tokens.jsonl", Some("tokenHash")),
    ("account-claim-requests.jsonl", Some("id")),
    ("session-metadata.json", None),
];

/// Every record written after T-0, oldest first.
pub fn changes(store: &PrivateStore, baseline: &Baseline) -> Result<Vec<Write>, Error> {
    let mut out = Vec::new();
    for &(object, key) in OBJECTS {
        if store.is_s3() {
            out.extend(s3_changes(store, baseline, object, key)?);
        } else {
            out.extend(dir_changes(store, baseline, object, key)?);
        }
    }
    crate::writes::sort_by_time(&mut out);
    Ok(out)
}

fn dir_changes(
    store: &PrivateStore,
    baseline: &Baseline,
    object: &str,
    key: Option<&str>,
) -> Result<Vec<Write>, Error> {
    let dir = baseline.private_dir.as_deref().ok_or_else(|| {
        Error::Usage(
            "the private store is a directory: pass --private-baseline=DIR (the copy t0-delta keeps) or --t0-report=FILE".into(),
        )
    })?;
    if !dir.is_dir() {
        return Err(Error::file(
            dir,
            "the private baseline directory does not exist",
        ));
    }
    let old = read_optional(&dir.join(object))?;
    let new = store.read_raw(object)?;
    if old == new {
        return Ok(Vec::new());
    }
    let location = store.location(object);
    let time = std::fs::metadata(&location)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| jiff::Timestamp::try_from(t).ok())
        .map_or_else(|| "unknown".to_owned(), |t| t.to_string());
    Ok(diff(object, key, old.as_deref(), new.as_deref(), &time))
}

fn s3_changes(
    store: &PrivateStore,
    baseline: &Baseline,
    object: &str,
    key: Option<&str>,
) -> Result<Vec<Write>, Error> {
    let mut versions = store.versions(object)?.unwrap_or_default();
    versions.reverse(); // oldest first
    let after_t0 = |v: &private_store::ObjectVersion| {
        v.last_modified
            .parse::<jiff::Timestamp>()
            .map_or(true, |t| t > baseline.private_at)
    };
    let split = versions.iter().position(after_t0).unwrap_or(versions.len());
    let content = |v: &private_store::ObjectVersion| -> Result<Option<Vec<u8>>, Error> {
        if v.delete_marker {
            return Ok(None);
        }
        Ok(Some(store.read_version(object, &v.version_id)?))
    };
    let mut previous = match split.checked_sub(1) {
        Some(i) => content(&versions[i])?,
        None => None,
    };
    let mut out = Vec::new();
    for v in &versions[split..] {
        let now = content(v)?;
        out.extend(diff(
            object,
            key,
            previous.as_deref(),
            now.as_deref(),
            &v.last_modified,
        ));
        previous = now;
    }
    Ok(out)
}

fn read_optional(path: &Path) -> Result<Option<Vec<u8>>, Error> {
    match std::fs::read(path) {
        Ok(b) => Ok(Some(b)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::file(path, e)),
    }
}

/// Record-level differences between two contents of one object.
pub fn diff(
    object: &str,
    key: Option<&str>,
    old: Option<&[u8]>,
    new: Option<&[u8]>,
    time: &str,
) -> Vec<Write> {
    let old = records(key, old);
    let mut new = records(key, new);
    let mut out = Vec::new();
    for (k, before) in old {
        let after = new.remove(&k);
        if after.as_ref() == Some(&before) {
            continue;
        }
        let kind = if after.is_some() {
            "changed"
        } else {
            "deleted"
        };
        out.push(line(object, &k, kind, Some(before), after, time));
    }
    for (k, after) in new {
        out.push(line(object, &k, "created", None, Some(after), time));
    }
    out
}

fn line(
    object: &str,
    key: &str,
    kind: &'static str,
    before: Option<Value>,
    after: Option<Value>,
    time: &str,
) -> Write {
    let person_id = after
        .as_ref()
        .or(before.as_ref())
        .and_then(|r| r["personId"].as_str())
        .map(str::to_owned);
    Write {
        v: 1,
        source: "private-store",
        kind,
        record: format!("{object}#{key}"),
        time: time.to_owned(),
        commit: None,
        author: None,
        person_id,
        slug: None,
        before,
        after,
    }
}

/// An object's records by key. A line that is not JSON is kept, keyed by its line number, so
/// nothing drops out of the export unseen.
fn records(key: Option<&str>, bytes: Option<&[u8]>) -> BTreeMap<String, Value> {
    let mut out = BTreeMap::new();
    let Some(bytes) = bytes else { return out };
    let text = String::from_utf8_lossy(bytes);
    let Some(key) = key else {
        match serde_json::from_str::<Value>(&text) {
            Ok(Value::Object(map)) => out.extend(map),
            _ if text.trim().is_empty() => {}
            _ => {
                out.insert("(unparsable)".into(), Value::String(text.into_owned()));
            }
        }
        return out;
    };
    for (i, l) in text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        match serde_json::from_str::<Value>(l.trim()) {
            Ok(v) => {
                let k = v[key]
                    .as_str()
                    .map_or_else(|| format!("(line {})", i + 1), str::to_owned);
                out.insert(k, v);
            }
            Err(_) => {
                out.insert(format!("(line {})", i + 1), Value::String(l.to_owned()));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_level_diff_of_a_jsonl_object() {
        let old = b"{\"personId\":\"a\",\"email\":\"a@x.org\"}\n{\"personId\":\"b\",\"email\":\"b@x.org\"}\n";
        let new = b"{\"personId\":\"a\",\"email\":\"a@y.org\"}\n{\"personId\":\"c\",\"email\":\"c@x.org\"}\nnot json\n";
        let w = diff(
            "profiles.jsonl",
            Some("personId"),
            Some(old),
            Some(new),
            "T",
        );
        let got: Vec<(&str, &str)> = w.iter().map(|w| (w.record.as_str(), w.kind)).collect();
        assert_eq!(
            got,
            [
                ("profiles.jsonl#a", "changed"),
                ("profiles.jsonl#b", "deleted"),
                ("profiles.jsonl#(line 3)", "created"),
                ("profiles.jsonl#c", "created"),
            ]
        );
        assert_eq!(w[0].person_id.as_deref(), Some("a"));
        assert!(
            diff(
                "profiles.jsonl",
                Some("personId"),
                Some(old),
                Some(old),
                "T"
            )
            .is_empty()
        );
    }
}
