//! Sheet configs (`.gitsheets/<sheet>.toml`) and how a record of a sheet becomes a file.

use crate::template::{PathError, PathTemplate};
use serde_json::{Map, Value};

/// How a sheet stores its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Format {
    /// `<path>.toml`, the whole record as canonical TOML.
    Toml,
    /// `<path>.md`: `+++` TOML front matter, then the `body` field as the document body.
    Markdown {
        /// The field that is the document body.
        body: String,
    },
}

/// One sheet's config, read from the data repo's own `.gitsheets/` tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SheetConfig {
    /// The sheet's name (its config file's stem).
    pub name: String,
    /// The sheet's directory, without a trailing slash; empty for `.`.
    pub root: String,
    /// Where a record goes, from the config's `path` template.
    pub path: PathTemplate,
    /// How records are encoded.
    pub format: Format,
    /// `[gitsheet.references]`: fields of this sheet that hold another record's `id`, with the
    /// sheet they point into (`'*'` for any), beyond the ones [`crate::closure`] knows.
    pub references: std::collections::BTreeMap<String, String>,
}

/// Why a config, a record or a file of a sheet is unusable.
#[derive(Debug, thiserror::Error)]
pub enum SheetError {
    /// A sheet config that cannot be used.
    #[error(".gitsheets/{sheet}.toml: {message}")]
    Config {
        /// The sheet.
        sheet: String,
        /// What is wrong with its config.
        message: String,
    },
    /// A record whose path cannot be rendered.
    #[error("sheet `{sheet}`, record {record}: cannot render path `{template}`: {source}")]
    Path {
        /// The sheet.
        sheet: String,
        /// The record (its id or position).
        record: String,
        /// The path template.
        template: String,
        /// Why it cannot be rendered.
        source: Box<PathError>,
    },
    /// A record that cannot be written as TOML.
    #[error("sheet `{sheet}`, record {record}: {source}")]
    Toml {
        /// The sheet.
        sheet: String,
        /// The record (its id or position).
        record: String,
        /// Why.
        source: crate::toml::WriteError,
    },
    /// A file that cannot be read as a record.
    #[error("{path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// What is wrong with it.
        message: String,
    },
}

impl SheetConfig {
    /// Parse `.gitsheets/<name>.toml`.
    pub fn parse(name: &str, text: &str) -> Result<Self, SheetError> {
        let err = |message: String| SheetError::Config {
            sheet: name.to_owned(),
            message,
        };
        let doc = crate::toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let gitsheet = doc
            .get("gitsheet")
            .and_then(Value::as_object)
            .ok_or_else(|| err("no [gitsheet] table".into()))?;
        let root = match gitsheet.get("root") {
            None => ".",
            Some(Value::String(s)) => s.as_str(),
            Some(_) => return Err(err("`root` is not a string".into())),
        };
        let root = root.trim_end_matches('/');
        let root = if root == "." { "" } else { root }.to_owned();
        for segment in root.split('/').filter(|_| !root.is_empty()) {
            crate::template::check_segment(segment).map_err(|e| err(format!("root: {e}")))?;
        }
        let path = gitsheet
            .get("path")
            .and_then(Value::as_str)
            .ok_or_else(|| err("no `path` template".into()))?;
        let path = PathTemplate::parse(path).map_err(|e| err(e.to_string()))?;
        let format = match gitsheet.get("format").and_then(Value::as_object) {
            None => Format::Toml,
            Some(f) => match f.get("type").and_then(Value::as_str).unwrap_or("toml") {
                "toml" => Format::Toml,
                "markdown" | "mdx" => Format::Markdown {
                    body: f
                        .get("body")
                        .and_then(Value::as_str)
                        .ok_or_else(|| err("markdown format without a `body` field".into()))?
                        .to_owned(),
                },
                other => return Err(err(format!("unknown format type `{other}`"))),
            },
        };
        let mut references = std::collections::BTreeMap::new();
        if let Some(table) = gitsheet.get("references") {
            let table = table
                .as_object()
                .ok_or_else(|| err("`references` is not a table".into()))?;
            for (field, target) in table {
                let target = target
                    .as_str()
                    .ok_or_else(|| err(format!("references.{field} is not a sheet name")))?;
                references.insert(field.clone(), target.to_owned());
            }
        }
        Ok(Self {
            name: name.to_owned(),
            root,
            path,
            format,
            references,
        })
    }

    /// The file extension of the sheet's records (without the dot).
    pub fn extension(&self) -> &'static str {
        match self.format {
            Format::Toml => "toml",
            Format::Markdown { .. } => "md",
        }
    }

    /// A record's path relative to the repo root, e.g. `people/alice.toml`.
    pub fn record_path(&self, record: &Map<String, Value>) -> Result<String, SheetError> {
        let rel = self
            .path
            .render(record)
            .map_err(|source| SheetError::Path {
                sheet: self.name.clone(),
                record: describe(record),
                template: self.path.as_str().to_owned(),
                source: Box::new(source),
            })?;
        Ok(self.join(&format!("{rel}.{}", self.extension())))
    }

    /// `<root>/<rel>`, or `rel` for a sheet rooted at `.`.
    pub fn join(&self, rel: &str) -> String {
        if self.root.is_empty() {
            rel.to_owned()
        } else {
            format!("{}/{rel}", self.root)
        }
    }

    /// The file bytes of a record.
    pub fn encode(&self, record: &Map<String, Value>) -> Result<Vec<u8>, SheetError> {
        let toml_err = |source| SheetError::Toml {
            sheet: self.name.clone(),
            record: describe(record),
            source,
        };
        match &self.format {
            Format::Toml => Ok(crate::toml::to_string(record)
                .map_err(toml_err)?
                .into_bytes()),
            Format::Markdown { body } => {
                let mut front = record.clone();
                let text = match front.remove(body) {
                    Some(Value::String(s)) => s,
                    _ => String::new(),
                };
                let mut out = String::with_capacity(text.len() + 256);
                out.push_str("+++\n");
                out.push_str(&crate::toml::to_string(&front).map_err(toml_err)?);
                out.push_str("+++\n\n");
                out.push_str(&text);
                if !text.ends_with('\n') {
                    out.push('\n');
                }
                Ok(out.into_bytes())
            }
        }
    }

    /// Parse a record's file bytes. `path` is only used in errors.
    pub fn decode(&self, path: &str, bytes: &[u8]) -> Result<Map<String, Value>, SheetError> {
        let parse_err = |message: String| SheetError::Parse {
            path: path.to_owned(),
            message,
        };
        let text = std::str::from_utf8(bytes).map_err(|e| parse_err(format!("not UTF-8: {e}")))?;
        match &self.format {
            Format::Toml => crate::toml::from_str(text).map_err(|e| parse_err(e.to_string())),
            Format::Markdown { body } => {
                let rest = text
                    .strip_prefix("+++\n")
                    .ok_or_else(|| parse_err("no `+++` front matter".into()))?;
                // The front matter ends at the first `+++` line after which it parses: a
                // `+++` line can also sit inside a multi-line string (a summary), and a cut
                // there leaves that string open, which does not parse.
                let mut found = None;
                let mut from = 0;
                while found.is_none() {
                    let (front, after) = if from == 0 && rest.starts_with("+++\n") {
                        ("", &rest[4..])
                    } else {
                        let Some(at) = rest[from..].find("\n+++\n") else {
                            break;
                        };
                        let at = from + at;
                        (&rest[..at + 1], &rest[at + 5..])
                    };
                    from = rest.len() - after.len();
                    if let Ok(record) = crate::toml::from_str(front) {
                        found = Some((record, after));
                    }
                }
                let (mut record, after) = found.ok_or_else(|| {
                    parse_err("front matter is not closed by a `+++` line after valid TOML".into())
                })?;
                let text = after.strip_prefix('\n').unwrap_or(after);
                // The writer adds one final newline when the body lacks it; bodies are trimmed
                // on import, so it is never part of the value.
                let text = text.strip_suffix('\n').unwrap_or(text);
                if !text.is_empty() {
                    record.insert(body.clone(), Value::String(text.to_owned()));
                }
                Ok(record)
            }
        }
    }
}

impl SheetConfig {
    /// Only the top-level `keys` of a record (those it has), as [`SheetConfig::decode`] then
    /// dropping the rest would give, errors included; a TOML record in the simple line form
    /// is read without building a document ([`crate::toml::read_keys`]).
    pub fn decode_keys(
        &self,
        path: &str,
        bytes: &[u8],
        keys: &[&str],
    ) -> Result<Map<String, Value>, SheetError> {
        self.decode_where(path, bytes, &|k| keys.contains(&k))
    }

    /// [`SheetConfig::decode_keys`] for the top-level keys `wanted` accepts.
    pub fn decode_where(
        &self,
        path: &str,
        bytes: &[u8],
        wanted: &dyn Fn(&str) -> bool,
    ) -> Result<Map<String, Value>, SheetError> {
        if self.format == Format::Toml
            && let Ok(text) = std::str::from_utf8(bytes)
        {
            return crate::toml::read_keys_where(text, wanted).map_err(|e| SheetError::Parse {
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
        let mut full = self.decode(path, bytes)?;
        full.retain(|k, _| wanted(k));
        Ok(full)
    }
}

/// How errors name a record: its `id`, else its `legacyId`, else its `slug`.
pub fn describe(record: &Map<String, Value>) -> String {
    for key in ["id", "legacyId", "slug"] {
        match record.get(key) {
            Some(Value::String(s)) => return format!("{key}={s}"),
            Some(Value::Number(n)) => return format!("{key}={n}"),
            _ => {}
        }
    }
    "(without id, legacyId or slug)".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_the_template_configs() {
        let c = SheetConfig::parse(
            "blog-posts",
            "[gitsheet]\nroot = 'blog-posts'\npath = '${{ slug }}'\n\n[gitsheet.format]\ntype = 'markdown'\nbody = 'body'\n",
        )
        .unwrap();
        assert_eq!(c.root, "blog-posts");
        assert_eq!(
            c.format,
            Format::Markdown {
                body: "body".into()
            }
        );
        let c = SheetConfig::parse("x", "[gitsheet]\npath = '${{ id }}'\n").unwrap();
        assert_eq!(c.root, "");
        assert_eq!(
            c.record_path(json!({"id": "a"}).as_object().unwrap())
                .unwrap(),
            "a.toml"
        );
    }

    #[test]
    fn config_errors_name_the_sheet() {
        let e = SheetConfig::parse("people", "[gitsheet]\nroot = 'people'\n").unwrap_err();
        assert_eq!(e.to_string(), ".gitsheets/people.toml: no `path` template");
        let e = SheetConfig::parse("people", "[gitsheet]\nroot = '../x'\npath = 'a'\n");
        assert!(e.is_err());
    }

    #[test]
    fn path_errors_name_sheet_and_record() {
        let c = SheetConfig::parse(
            "people",
            "[gitsheet]\nroot = 'people'\npath = '${{ slug }}'\n",
        )
        .unwrap();
        let e = c
            .record_path(json!({"legacyId": 7, "slug": ".."}).as_object().unwrap())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "sheet `people`, record legacyId=7: cannot render path `${{ slug }}`: segment \"..\" contains only dots"
        );
    }

    #[test]
    fn markdown_round_trip() {
        let c = SheetConfig::parse(
            "blog-posts",
            "[gitsheet]\nroot = 'blog-posts'\npath = '${{ slug }}'\n[gitsheet.format]\ntype = 'markdown'\nbody = 'body'\n",
        )
        .unwrap();
        let rec = json!({"slug": "hello", "title": "Hi", "body": "# Hello\n\nworld"});
        let rec = rec.as_object().unwrap();
        let bytes = c.encode(rec).unwrap();
        assert_eq!(
            String::from_utf8(bytes.clone()).unwrap(),
            "+++\nslug = \"hello\"\ntitle = \"Hi\"\n+++\n\n# Hello\n\nworld\n"
        );
        assert_eq!(&c.decode("blog-posts/hello.md", &bytes).unwrap(), rec);
        // A `+++` line inside a multi-line front-matter string does not end the front matter.
        let tricky =
            json!({"slug": "notes", "summary": "Changes\n+++\nmore\n+++\n", "body": "x\n+++\ny"});
        let tricky = tricky.as_object().unwrap();
        let bytes = c.encode(tricky).unwrap();
        assert_eq!(&c.decode("blog-posts/notes.md", &bytes).unwrap(), tricky);
        let empty = json!({"slug": "e"});
        let bytes = c.encode(empty.as_object().unwrap()).unwrap();
        assert_eq!(bytes, b"+++\nslug = \"e\"\n+++\n\n\n");
        assert_eq!(&c.decode("x", &bytes).unwrap(), empty.as_object().unwrap());
    }
}
