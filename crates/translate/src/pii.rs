//! PII guard (DESIGN §3): nothing private may reach the public repo. A record holding an
//! email-like address in any string field, or a password-hash pattern, is refused.

use serde_json::{Map, Value};

/// Why a record was refused: the field and a masked sample (the address itself is not
/// repeated into logs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// The field that looks private.
    pub field: String,
    /// What it looks like.
    pub what: &'static str,
    /// The value, masked.
    pub sample: String,
}

/// Which PII patterns refuse a record. Both on by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PiiPolicy {
    /// An email-like address in any string field.
    pub emails: bool,
    /// With `emails`: also refuse for an address in free text ([`FREE_TEXT_FIELDS`]). When
    /// false, such a record is kept and the caller reports a warning instead (laddr holds
    /// about 520 user-typed addresses in bios, READMEs and bodies, A §7).
    pub free_text_emails: bool,
    /// `$2a$`/`$2b$`/`$2y$`/`$argon2` anywhere; 40 hex digits in a password-like field.
    pub password_hashes: bool,
}

/// Fields holding user-written prose.
pub const FREE_TEXT_FIELDS: [&str; 4] = ["bio", "overview", "body", "summary"];

impl Default for PiiPolicy {
    fn default() -> Self {
        PiiPolicy {
            emails: true,
            free_text_emails: true,
            password_hashes: true,
        }
    }
}

/// The first PII finding in `record`, scanning every string (nested ones too).
pub fn scan(record: &Map<String, Value>, policy: PiiPolicy) -> Option<Finding> {
    record.iter().find_map(|(k, v)| {
        let mut f = scan_value(k, v, policy)?;
        f.field.insert_str(0, k);
        Some(f)
    })
}

/// The first finding in `v`, the value of `field`; its `field` is the path below `v`
/// (`[2]`, `.name`), built only for a finding: the scan itself allocates nothing.
fn scan_value(field: &str, v: &Value, policy: PiiPolicy) -> Option<Finding> {
    match v {
        Value::String(s) => scan_str(field, s, policy),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, x)| {
            let mut f = scan_value(field, x, policy)?;
            f.field.insert_str(0, &format!("[{i}]"));
            Some(f)
        }),
        Value::Object(m) => m.iter().find_map(|(k, x)| {
            let mut f = scan_value(k, x, policy)?;
            f.field.insert_str(0, &format!(".{k}"));
            Some(f)
        }),
        _ => None,
    }
}

fn scan_str(field: &str, s: &str, policy: PiiPolicy) -> Option<Finding> {
    let found = |what, sample| {
        Some(Finding {
            field: String::new(),
            what,
            sample,
        })
    };
    let free_text = FREE_TEXT_FIELDS.contains(&field);
    if policy.emails
        && (policy.free_text_emails || !free_text)
        && let Some(e) = find_email(s)
    {
        return found("an email-like address", mask_email(e));
    }
    if !policy.password_hashes {
        return None;
    }
    // One memchr pass for `$` first: almost no text has one.
    if s.contains('$') {
        for marker in ["$2a$", "$2b$", "$2y$", "$argon2"] {
            if s.contains(marker) {
                return found("a password-hash pattern", format!("{marker}…"));
            }
        }
    }
    // A digest needs 40 characters: most values are shorter, and the field-name test
    // (five case-blind scans) then costs nothing.
    let password_like = || {
        ["password", "passwd", "pwd", "hash", "secret"]
            .iter()
            .any(|p| contains_ignore_ascii_case(field, p))
    };
    if s.len() >= 40 && password_like() && has_hex_run(s, 40) {
        return found(
            "a 40-hex digest in a password-like field",
            "<40 hex digits>".to_owned(),
        );
    }
    None
}

/// `haystack` contains the lower-case ASCII `needle`, in any case.
fn contains_ignore_ascii_case(haystack: &str, needle: &str) -> bool {
    haystack
        .as_bytes()
        .windows(needle.len())
        .any(|w| w.eq_ignore_ascii_case(needle.as_bytes()))
}

/// Free-text fields holding an email-like address (for the warning when
/// `free_text_emails` is off): `(field, masked sample)`.
pub fn free_text_emails(record: &Map<String, Value>) -> Vec<(String, String)> {
    FREE_TEXT_FIELDS
        .iter()
        .filter_map(|f| {
            let s = record.get(*f)?.as_str()?;
            Some(((*f).to_owned(), mask_email(find_email(s)?)))
        })
        .collect()
}

fn is_local(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'_' | b'%' | b'+' | b'-')
}
fn is_domain(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-')
}

/// The first `local@domain.tld` in `s` (local `[A-Za-z0-9._%+-]+`, domain labels of
/// `[A-Za-z0-9-]`, a final label of 2+ letters).
pub fn find_email(s: &str) -> Option<&str> {
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(off) = s[from..].find('@') {
        let at = from + off;
        from = at + 1;
        let mut start = at;
        while start > 0 && is_local(b[start - 1]) {
            start -= 1;
        }
        // A local part cannot start with a dot; skip leading dots.
        while start < at && b[start] == b'.' {
            start += 1;
        }
        if start == at {
            continue;
        }
        let mut end = at + 1;
        while end < b.len() && is_domain(b[end]) {
            end += 1;
        }
        let domain = s[at + 1..end].trim_end_matches(['.', '-']);
        let mut labels = domain.split('.');
        let tld = labels.next_back().unwrap_or("");
        let has_dot = domain.contains('.');
        if has_dot
            && tld.len() >= 2
            && tld.bytes().all(|c| c.is_ascii_alphabetic())
            && domain.split('.').all(|l| !l.is_empty())
        {
            return Some(&s[start..at + 1 + domain.len()]);
        }
    }
    None
}

fn mask_email(e: &str) -> String {
    let (local, domain) = e.split_once('@').unwrap_or((e, ""));
    let first = local.chars().next().unwrap_or('?');
    format!("{first}***@{domain}")
}

fn has_hex_run(s: &str, n: usize) -> bool {
    let mut run = 0;
    for c in s.bytes() {
        if c.is_ascii_hexdigit() {
            run += 1;
            if run >= n {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn emails() {
        assert_eq!(
            find_email("mail me: Jane.Doe+x@Example.org."),
            Some("Jane.Doe+x@Example.org")
        );
        assert_eq!(find_email("a@b.co"), Some("a@b.co"));
        assert_eq!(find_email("https://medium.com/@someone/post-1"), None);
        assert_eq!(find_email("@handle and x@localhost"), None);
        assert_eq!(find_email("v1.2@3"), None);
        assert_eq!(find_email("price @ 5.00"), None);
    }

    #[test]
    fn scan_finds_fields() {
        let r = json!({"bio": "hi", "body": "write to bob@example.com"});
        let f = scan(r.as_object().unwrap(), PiiPolicy::default()).unwrap();
        assert_eq!(
            (f.field.as_str(), f.sample.as_str()),
            ("body", "b***@example.com")
        );
        let r = json!({"note": "$2y$10$abcdef"});
        assert_eq!(
            scan(r.as_object().unwrap(), PiiPolicy::default())
                .unwrap()
                .what,
            "a password-hash pattern"
        );
        let hex = "a".repeat(40);
        let r = json!({"passwordHash": hex.clone()});
        assert!(scan(r.as_object().unwrap(), PiiPolicy::default()).is_some());
        // Free text can be let through (the caller warns).
        let r = json!({"bio": "x@example.org", "fullName": "y"});
        let lenient = PiiPolicy {
            free_text_emails: false,
            ..PiiPolicy::default()
        };
        assert!(scan(r.as_object().unwrap(), lenient).is_none());
        assert_eq!(
            free_text_emails(r.as_object().unwrap()),
            [("bio".to_owned(), "x***@example.org".to_owned())]
        );
        let r = json!({"fullName": "x@example.org"});
        assert!(scan(r.as_object().unwrap(), lenient).is_some());
        // A 40-hex value elsewhere (a git sha in a README) is fine.
        let r = json!({"overview": hex});
        assert!(scan(r.as_object().unwrap(), PiiPolicy::default()).is_none());
        // A nested finding names its path; a nested key is the field the rules see.
        let r = json!({"links": [{"url": "x"}, {"label": "a", "Secret": "b".repeat(40)}]});
        let f = scan(r.as_object().unwrap(), PiiPolicy::default()).unwrap();
        assert_eq!(f.field, "links[1].Secret");
        let r = json!({"tags": ["a", "mail c@example.net"]});
        let f = scan(r.as_object().unwrap(), PiiPolicy::default()).unwrap();
        assert_eq!(
            (f.field.as_str(), f.what),
            ("tags[1]", "an email-like address")
        );
    }
}
