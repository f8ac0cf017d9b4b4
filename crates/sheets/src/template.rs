//! Path templates as gitsheets 1.4.1 renders them (`${{ field }}` references, split on `/`),
//! plus the safety rules DESIGN §3 adds: no `.`/`..`/empty segments, no forbidden or control
//! characters, so a record can never escape its sheet root.

use serde_json::{Map, Value};

/// A parsed `path` template from a sheet config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PathTemplate {
    source: String,
    segments: Vec<Vec<Piece>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Text(String),
    Field(String),
}

/// Why a template or a rendered path is unusable.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum PathError {
    #[error(
        "template `{template}`: `${{{{ {expr} }}}}` is not a field reference (only `[A-Za-z0-9_-]+` is supported)"
    )]
    /// An expression that is not a plain field reference.
    Expression {
        /// The template.
        template: String,
        /// The expression.
        expr: String,
    },
    /// A `${{` without its `}}`.
    #[error("template `{template}` has an unclosed `${{{{`")]
    Unclosed {
        /// The template.
        template: String,
    },
    /// The record lacks a field the path needs.
    #[error("field `{field}` is missing or null")]
    Missing {
        /// The field.
        field: String,
    },
    /// A field that is not a string, number or boolean.
    #[error("field `{field}` is {kind}, which cannot be part of a path")]
    NotScalar {
        /// The field.
        field: String,
        /// Its JSON kind.
        kind: &'static str,
    },
    /// A rendered segment that would be unsafe as a path segment.
    #[error("segment {segment:?} contains {what}")]
    Unsafe {
        /// The segment.
        segment: String,
        /// What makes it unsafe.
        what: String,
    },
}

impl PathTemplate {
    /// Parses a gitsheets path template (`${{ field }}` segments).
    pub fn parse(template: &str) -> Result<Self, PathError> {
        let mut segments = Vec::new();
        for raw in template.split('/') {
            let mut pieces = Vec::new();
            let mut rest = raw;
            while let Some(start) = rest.find("${{") {
                if start > 0 {
                    pieces.push(Piece::Text(rest[..start].to_owned()));
                }
                let after = &rest[start + 3..];
                let end = after.find("}}").ok_or_else(|| PathError::Unclosed {
                    template: template.to_owned(),
                })?;
                let expr = after[..end].trim();
                let is_field = !expr.is_empty()
                    && expr
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
                if !is_field {
                    return Err(PathError::Expression {
                        template: template.to_owned(),
                        expr: expr.to_owned(),
                    });
                }
                pieces.push(Piece::Field(expr.to_owned()));
                rest = &after[end + 2..];
            }
            if !rest.is_empty() {
                pieces.push(Piece::Text(rest.to_owned()));
            }
            segments.push(pieces);
        }
        Ok(Self {
            source: template.to_owned(),
            segments,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// How many path segments a rendered record path has (records sit at exactly this depth).
    pub fn depth(&self) -> usize {
        self.segments.len()
    }

    /// The fields the template reads, in order.
    pub fn fields(&self) -> impl Iterator<Item = &str> {
        self.segments.iter().flatten().filter_map(|p| match p {
            Piece::Field(f) => Some(f.as_str()),
            Piece::Text(_) => None,
        })
    }

    /// Render the record's path (without root or extension), checking every segment.
    pub fn render(&self, record: &Map<String, Value>) -> Result<String, PathError> {
        let mut path = String::new();
        for (i, pieces) in self.segments.iter().enumerate() {
            let mut segment = String::new();
            for piece in pieces {
                match piece {
                    Piece::Text(t) => segment.push_str(t),
                    Piece::Field(f) => segment.push_str(&render_value(f, record.get(f))?),
                }
            }
            check_segment(&segment)?;
            if i > 0 {
                path.push('/');
            }
            path.push_str(&segment);
        }
        Ok(path)
    }
}

/// `String(value)` for the JavaScript values gitsheets accepts in a path.
fn render_value(field: &str, value: Option<&Value>) -> Result<String, PathError> {
    match value {
        None | Some(Value::Null) => Err(PathError::Missing {
            field: field.to_owned(),
        }),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(Value::Bool(b)) => Ok(b.to_string()),
        Some(Value::Number(n)) => Ok(if let Some(i) = n.as_i64() {
            i.to_string()
        } else if let Some(u) = n.as_u64() {
            u.to_string()
        } else {
            crate::toml::js_number_string(n.as_f64().unwrap_or(f64::NAN))
        }),
        Some(Value::Array(_)) => Err(PathError::NotScalar {
            field: field.to_owned(),
            kind: "an array",
        }),
        Some(Value::Object(_)) => Err(PathError::NotScalar {
            field: field.to_owned(),
            kind: "a table",
        }),
    }
}

/// The segment rules: gitsheets' forbidden characters, plus no empty, `.` or `..` segment.
pub fn check_segment(segment: &str) -> Result<(), PathError> {
    let unsafe_because = |what: String| PathError::Unsafe {
        segment: segment.to_owned(),
        what,
    };
    if segment.is_empty() {
        return Err(unsafe_because("nothing (an empty segment)".into()));
    }
    if segment == "." || segment == ".." {
        return Err(unsafe_because("only dots".into()));
    }
    if let Some(c) = segment
        .chars()
        .find(|c| matches!(c, '/' | '<' | '>' | ':' | '"' | '|' | '?' | '*'))
    {
        return Err(unsafe_because(format!("the forbidden character {c:?}")));
    }
    if let Some(c) = segment.chars().find(|c| c.is_control()) {
        return Err(unsafe_because(format!(
            "the control character U+{:04X}",
            c as u32
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn renders_fields_numbers_and_bools() {
        let t = PathTemplate::parse("${{ projectSlug }}/${{number}}").unwrap();
        assert_eq!(t.depth(), 2);
        let r = rec(json!({"projectSlug": "transit-app", "number": 1}));
        assert_eq!(t.render(&r).unwrap(), "transit-app/1");
        let t = PathTemplate::parse("${{ a }}-${{ b }}.x").unwrap();
        assert_eq!(
            t.render(&rec(json!({"a": true, "b": 1.5}))).unwrap(),
            "true-1.5.x"
        );
    }

    #[test]
    fn refuses_expressions_and_unclosed() {
        assert!(matches!(
            PathTemplate::parse("${{ a + b }}"),
            Err(PathError::Expression { .. })
        ));
        assert!(matches!(
            PathTemplate::parse("${{ a"),
            Err(PathError::Unclosed { .. })
        ));
    }

    #[test]
    fn refuses_missing_null_and_tables() {
        let t = PathTemplate::parse("${{ slug }}").unwrap();
        for (v, want) in [
            (json!({}), "missing"),
            (json!({"slug": null}), "missing"),
            (json!({"slug": {"a": 1}}), "a table"),
            (json!({"slug": [1]}), "an array"),
        ] {
            let err = t.render(&rec(v)).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
        }
    }

    #[test]
    fn refuses_unsafe_segments() {
        let t = PathTemplate::parse("${{ slug }}").unwrap();
        for bad in [
            "", ".", "..", "a/b", "a<b", "a>b", "a:b", "a\"b", "a|b", "a?b", "a*b", "a\u{0}b",
            "a\u{1f}b", "a\u{7f}b", "a\nb",
        ] {
            assert!(
                matches!(
                    t.render(&rec(json!({ "slug": bad }))),
                    Err(PathError::Unsafe { .. })
                ),
                "{bad:?} should be refused"
            );
        }
        for good in ["a.b", "...", "legacy-200", "美洽", "a b"] {
            assert_eq!(t.render(&rec(json!({ "slug": good }))).unwrap(), good);
        }
    }
}
