//! Reading the `person-evaluations` sheet at the evaluations ref.
//!
//! Every blob is read whole through gix (by byte length, never by characters) and parsed
//! with a real TOML parser, so single-quoted strings, integer confidences and multi-line
//! `reasoning` that happens to contain `verdict = "spam"` are read as TOML means them. A
//! record that cannot be read is kept in [`Verdicts::unreadable`], never dropped.

use foldhash::HashMap;

use serde::Serialize;
use serde_json::Value;
use sheets::ObjectId;
use sheets::{DataRepo, SheetConfig};

use crate::Error;

/// The sheet the evaluations live in.
pub const SHEET: &str = "person-evaluations";

/// A verdict as the evaluation records spell it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum VerdictKind {
    /// The person is spam.
    Spam,
    /// The person is real.
    Legit,
    /// The evaluator could not tell.
    Uncertain,
}

/// One readable evaluation record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// The file name without `.toml` (e.g. `human:chris`); the record's `evaluator` field
    /// is not used, as in the reference.
    pub evaluator: String,
    /// `None` for a verdict string that is none of spam, legit, uncertain (ignored by the
    /// rule, counted in the report).
    pub verdict: Option<VerdictKind>,
    /// Absent for a legit or uncertain record without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confidence: Option<f64>,
}

/// An evaluation file that could not be read as a record.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Unreadable {
    /// The file's path in the evaluations tree.
    pub path: String,
    /// Why it could not be read.
    pub error: String,
}

/// Every verdict at the evaluations ref, keyed by the person slug of its path.
#[derive(Debug, Default)]
pub struct Verdicts {
    /// The commit the ref resolved to.
    pub commit: Option<ObjectId>,
    /// Readable records, per person slug.
    pub by_slug: HashMap<String, Vec<Evaluation>>,
    /// Slugs with at least one unreadable record.
    pub unreadable_slugs: HashMap<String, usize>,
    /// Every record that could not be read.
    pub unreadable: Vec<Unreadable>,
    /// Readable records.
    pub records: usize,
    /// Records whose verdict string is not spam, legit or uncertain.
    pub unknown_verdicts: usize,
    /// Files under the sheet root that are not records (other extensions or depths).
    pub ignored_files: usize,
}

impl Verdicts {
    /// Whether `slug` has a spam verdict with confidence ≥ `threshold`.
    pub fn has_confident_spam(&self, slug: &str, threshold: f64) -> bool {
        self.by_slug
            .get(slug)
            .is_some_and(|evals| evals.iter().any(|e| is_confident_spam(e, threshold)))
    }
}

pub(crate) fn is_confident_spam(e: &Evaluation, threshold: f64) -> bool {
    e.verdict == Some(VerdictKind::Spam) && e.confidence.is_some_and(|c| c >= threshold)
}

/// Resolve `rev` (a branch, remote-tracking branch, tag or full ref name, or a full commit
/// id) to a commit.
pub fn resolve_rev(repo: &DataRepo, rev: &str) -> Result<ObjectId, Error> {
    let missing = || Error::MissingRef {
        name: rev.to_owned(),
        repo: repo.path().to_path_buf(),
    };
    if rev.is_empty() {
        return Err(missing());
    }
    if let Some(id) = repo.resolve(rev)? {
        return Ok(id);
    }
    if rev.len() == 40
        && let Ok(id) = ObjectId::from_hex(rev.as_bytes())
        && repo.has_object(id)
    {
        return Ok(id);
    }
    Err(missing())
}

/// Read every evaluation record at `commit`. The root and the position of the person slug
/// come from `.gitsheets/person-evaluations.toml` at that commit when it is there, else the
/// reference layout `person-evaluations/<personSlug>/<evaluator>.toml` is assumed.
pub fn read(repo: &DataRepo, commit: ObjectId) -> Result<Verdicts, Error> {
    let tree = repo.tree_of(commit)?;
    let (root, depth, slug_at) = match repo.sheet_configs(tree)?.remove(SHEET) {
        Some(config) => layout(&config)?,
        None => (SHEET.to_owned(), 2, 0),
    };
    let mut out = Verdicts {
        commit: Some(commit),
        ..Verdicts::default()
    };
    let prefix_len = root.len() + 1;
    // Which files are records, and whose: from the tree alone, before any blob is read.
    let mut files = Vec::new();
    for entry in repo.walk_blobs(tree, &root)? {
        let rel = &entry.path[prefix_len.min(entry.path.len())..];
        let parts: Vec<&str> = rel.split('/').collect();
        let Some(file) = parts.last().and_then(|f| f.strip_suffix(".toml")) else {
            out.ignored_files += 1;
            continue;
        };
        if parts.len() != depth {
            out.ignored_files += 1;
            continue;
        }
        let (slug, file) = (parts[slug_at].to_owned(), file.to_owned());
        files.push((entry, slug, file));
    }
    let parsed = repo.map_blobs(&files, |(entry, ..)| entry.id, |_, bytes| parse(bytes))?;
    for ((entry, slug, file), result) in files.into_iter().zip(parsed) {
        match result {
            Ok(mut e) => {
                e.evaluator = file;
                out.records += 1;
                if e.verdict.is_none() {
                    out.unknown_verdicts += 1;
                }
                out.by_slug.entry(slug).or_default().push(e);
            }
            Err(error) => {
                *out.unreadable_slugs.entry(slug).or_default() += 1;
                out.unreadable.push(Unreadable {
                    path: entry.path,
                    error,
                });
            }
        }
    }
    Ok(out)
}

/// `(root, depth, index of the personSlug segment)` of the evaluations sheet.
fn layout(config: &SheetConfig) -> Result<(String, usize, usize), Error> {
    let segments: Vec<&str> = config.path.as_str().split('/').collect();
    let slug_at = segments
        .iter()
        .position(|s| {
            s.strip_prefix("${{")
                .and_then(|s| s.strip_suffix("}}"))
                .is_some_and(|f| f.trim() == "personSlug")
        })
        .ok_or_else(|| Error::EvaluationsLayout {
            template: config.path.as_str().to_owned(),
        })?;
    if config.root.is_empty() {
        return Err(Error::EvaluationsLayout {
            template: config.path.as_str().to_owned(),
        });
    }
    Ok((config.root.clone(), segments.len(), slug_at))
}

/// The keys the rule reads.
const KEYS: [&str; 2] = ["verdict", "confidence"];

/// Parse one evaluation blob. Only `verdict` and `confidence` are used; `confidence` is
/// required only for a spam verdict, since a legit verdict protects at any confidence. The
/// two keys are read without building a document where the text allows
/// ([`sheets::toml::read_keys`]), with the same result as the full parser.
pub fn parse(bytes: &[u8]) -> Result<Evaluation, String> {
    let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
    let record = sheets::toml::read_keys(text, &KEYS).map_err(|e| e.to_string())?;
    judge(&record)
}

/// The evaluation a record's `verdict` and `confidence` make, or why they make none.
fn judge(record: &serde_json::Map<String, Value>) -> Result<Evaluation, String> {
    let verdict = match record.get("verdict") {
        Some(Value::String(s)) => match s.as_str() {
            "spam" => Some(VerdictKind::Spam),
            "legit" => Some(VerdictKind::Legit),
            "uncertain" => Some(VerdictKind::Uncertain),
            _ => None,
        },
        Some(other) => return Err(format!("`verdict` is {}, not a string", kind(other))),
        None => return Err("no `verdict`".to_owned()),
    };
    let confidence = match record.get("confidence") {
        Some(Value::Number(n)) => match n.as_f64() {
            Some(c) if c.is_finite() => Some(c),
            _ => return Err(format!("`confidence` {n} is not a finite number")),
        },
        Some(other) => return Err(format!("`confidence` is {}, not a number", kind(other))),
        None if verdict == Some(VerdictKind::Spam) => {
            return Err("spam verdict without `confidence`".to_owned());
        }
        None => None,
    };
    Ok(Evaluation {
        evaluator: String::new(),
        verdict,
        confidence,
    })
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "a table",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_toml_as_toml() {
        let e = parse(b"verdict = 'spam'\nconfidence = 1\n").unwrap();
        assert_eq!(e.verdict, Some(VerdictKind::Spam));
        assert_eq!(e.confidence, Some(1.0));
        // The verdict line inside a multi-line string is text, not a key.
        let e = parse(
            b"reasoning = \"\"\"\nLooks like:\nverdict = \"spam\"\nconfidence = 0.99\n\"\"\"\nverdict = \"legit\"\nconfidence = 0.4\n",
        )
        .unwrap();
        assert_eq!(e.verdict, Some(VerdictKind::Legit));
        assert_eq!(e.confidence, Some(0.4));
        let e = parse("reasoning = \"caf\u{e9} \u{2014} ok\"\nverdict = \"legit\"\n".as_bytes())
            .unwrap();
        assert_eq!(e.verdict, Some(VerdictKind::Legit));
        assert_eq!(e.confidence, None);
        let e = parse(b"verdict = \"maybe\"\nconfidence = 0.9\n").unwrap();
        assert_eq!(e.verdict, None);
    }

    /// The fast path (a few keys scanned) and the full parser give the same evaluation, or
    /// the same error, for every record of the full-scale fixture and for planted odd ones.
    #[test]
    fn fast_and_full_parsing_agree_on_the_fixture() {
        let full = |bytes: &[u8]| -> Result<Evaluation, String> {
            let text = std::str::from_utf8(bytes).map_err(|e| format!("not UTF-8: {e}"))?;
            let record = sheets::toml::from_str(text).map_err(|e| e.to_string())?;
            judge(&record)
        };
        let site = fixtures::laddr::generate(1, fixtures::laddr::Scale::Full);
        let records = fixtures::evaluations::generate(&site);
        assert!(records.len() > 50_000, "{}", records.len());
        let odd: [&[u8]; 12] = [
            b"verdict = spam\nconfidence = 0.9\n",
            b"verdict = \"spam\"\nconfidence = 0.9\nverdict = \"legit\"\n",
            b"verdict = \"spam\"\nconfidence = 0.9 # sure\n",
            b"verdict = \"sp\\u0061m\"\nconfidence = 9e-1\n",
            b"verdict = \"spam\"\nconfidence = 1_0.0\n",
            b"verdict = \"spam\"\nconfidence = 01.0\n",
            b"verdict = \"spam\"\nconfidence = +0.9\n",
            b"verdict = \"spam\"\nconfidence = inf\n",
            b"reasoning = \"\"\"\nx \\\n y\"\"\"\nverdict = \"spam\"\nconfidence = 1\n",
            b"at = 2024-02-30T00:00:00Z\nverdict = \"spam\"\nconfidence = 1\n",
            b"[meta]\nverdict = \"spam\"\nconfidence = 1\n",
            b"verdict = \"spam\"\nconfidence = 0.9\nflags = [ 'a', \"b\", ]\n",
        ];
        let mut checked = 0;
        for bytes in records.iter().map(|r| r.toml.as_bytes()).chain(odd) {
            assert_eq!(
                parse(bytes),
                full(bytes),
                "{}",
                String::from_utf8_lossy(bytes)
            );
            checked += 1;
        }
        assert_eq!(checked, records.len() + odd.len());
    }

    #[test]
    fn unreadable_records_say_why() {
        assert_eq!(
            parse(b"verdict = \"spam\"\n").unwrap_err(),
            "spam verdict without `confidence`"
        );
        assert_eq!(
            parse(b"verdict = \"spam\"\nconfidence = \"0.9\"\n").unwrap_err(),
            "`confidence` is a string, not a number"
        );
        assert!(parse(b"verdict = spam\n").unwrap_err().contains("TOML"));
        assert_eq!(parse(b"confidence = 0.9\n").unwrap_err(), "no `verdict`");
        assert!(
            parse(b"verdict = \"spam\xff\"\n")
                .unwrap_err()
                .starts_with("not UTF-8")
        );
    }
}
