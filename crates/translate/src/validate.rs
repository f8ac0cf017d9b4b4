//! The Zod schemas of the rewrite (B §2.10), as data: same rules, same Zod 4 messages,
//! lengths in UTF-16 units. Unknown keys are never errors (strip/passthrough both accept).

use serde_json::{Map, Value};

use crate::js::utf16_len;
use crate::sheet::Sheet;
use crate::slug;

#[derive(Clone, Copy)]
enum Ty {
    Str,
    Int,
    Bool,
}

#[derive(Clone, Copy)]
enum Check {
    MinLen(usize),
    MaxLen(usize),
    Pattern(fn(&str) -> bool, &'static str),
    StartsWith(&'static str),
    Uuid,
    DateTime,
    Url,
    Enum(&'static [&'static str]),
    MinInt(i64),
}

/// `required = false` covers `.optional()`, `.nullable().optional()` and `.default(…)`.
struct F {
    name: &'static str,
    ty: Ty,
    required: bool,
    checks: &'static [Check],
}

const fn req(name: &'static str, ty: Ty, checks: &'static [Check]) -> F {
    F {
        name,
        ty,
        required: true,
        checks,
    }
}
const fn opt(name: &'static str, ty: Ty, checks: &'static [Check]) -> F {
    F {
        name,
        ty,
        required: false,
        checks,
    }
}

use Check::*;
use Ty::*;

const PERSON_SLUG: &str = "/^[a-z0-9][a-z0-9-]{1,49}$/";
const PROJECT_SLUG: &str = "/^[a-z0-9][a-z0-9-_]{1,79}$/";
const CHAT_CHANNEL: &str = "/^[a-z0-9][a-z0-9_-]{0,40}$/";

fn person_slug(s: &str) -> bool {
    slug::slug_pattern_ok(s, slug::PEOPLE)
}
fn project_slug(s: &str) -> bool {
    slug::slug_pattern_ok(s, slug::PROJECTS)
}
fn chat_channel(s: &str) -> bool {
    let mut cs = s.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_lowercase() || c.is_ascii_digit())
        && s.len() <= 41
        && cs.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

const DT: &[Check] = &[DateTime];
const UUID: &[Check] = &[Uuid];
const NONE: &[Check] = &[];

const TAG: &[F] = &[
    req("id", Str, UUID),
    opt("legacyId", Int, NONE),
    req("namespace", Str, &[Enum(&["topic", "tech", "event"])]),
    req("slug", Str, &[MinLen(1)]),
    req("title", Str, &[MinLen(1)]),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

const PERSON: &[F] = &[
    req("id", Str, UUID),
    opt("legacyId", Int, NONE),
    req("slug", Str, &[Pattern(person_slug, PERSON_SLUG)]),
    req("fullName", Str, &[MinLen(1), MaxLen(120)]),
    opt("firstName", Str, NONE),
    opt("lastName", Str, NONE),
    opt("bio", Str, &[MaxLen(10_000)]),
    opt("avatarKey", Str, NONE),
    opt(
        "accountLevel",
        Str,
        &[Enum(&["user", "staff", "administrator"])],
    ),
    opt("githubUserId", Int, &[MinInt(1)]),
    opt("githubLinkedAt", Str, DT),
    opt("slackSamlNameId", Str, &[Pattern(person_slug, PERSON_SLUG)]),
    opt("deletedAt", Str, DT),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

/// A project's `stage` values (the Zod enum), which the translation maps laddr's stage onto.
pub(crate) const STAGES: &[&str] = &[
    "commenting",
    "bootstrapping",
    "prototyping",
    "testing",
    "maintaining",
    "drifting",
    "hibernating",
];

const PROJECT: &[F] = &[
    req("id", Str, UUID),
    opt("legacyId", Int, NONE),
    req("slug", Str, &[Pattern(project_slug, PROJECT_SLUG)]),
    req("title", Str, &[MinLen(1), MaxLen(200)]),
    opt("summary", Str, &[MaxLen(280)]),
    opt("overview", Str, NONE),
    opt("stage", Str, &[Enum(STAGES)]),
    opt("maintainerId", Str, UUID),
    opt("usersUrl", Str, &[Url, StartsWith("https://")]),
    opt("developersUrl", Str, &[Url, StartsWith("https://")]),
    opt("chatChannel", Str, &[Pattern(chat_channel, CHAT_CHANNEL)]),
    opt("featured", Bool, NONE),
    opt("featuredImageKey", Str, NONE),
    opt("deletedAt", Str, DT),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

const MEMBERSHIP: &[F] = &[
    req("id", Str, UUID),
    req("projectId", Str, UUID),
    req("personId", Str, UUID),
    opt("role", Str, NONE),
    opt("isMaintainer", Bool, NONE),
    req("joinedAt", Str, DT),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

const UPDATE: &[F] = &[
    req("id", Str, UUID),
    opt("legacyId", Int, NONE),
    req("projectId", Str, UUID),
    opt("authorId", Str, UUID),
    req("body", Str, &[MinLen(1)]),
    req("number", Int, &[MinInt(1)]),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

// B §2.6: http and https buzz URLs are both valid since PR #74 (only `url()` remains).
const BUZZ: &[F] = &[
    req("id", Str, UUID),
    opt("legacyId", Int, NONE),
    req("projectId", Str, UUID),
    opt("postedById", Str, UUID),
    req("slug", Str, &[MinLen(1)]),
    req("headline", Str, &[MinLen(1), MaxLen(200)]),
    req("url", Str, &[Url]),
    req("publishedAt", Str, DT),
    opt("summary", Str, NONE),
    opt("imageKey", Str, NONE),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

const BLOG_POST: &[F] = &[
    req("id", Str, UUID),
    opt("legacyId", Int, NONE),
    req("slug", Str, &[MinLen(1), MaxLen(100)]),
    req("title", Str, &[MinLen(1), MaxLen(200)]),
    opt("summary", Str, &[MaxLen(500)]),
    opt("authorId", Str, UUID),
    req("postedAt", Str, DT),
    opt("editedAt", Str, DT),
    opt("featuredImageKey", Str, NONE),
    opt("deletedAt", Str, DT),
    req("body", Str, NONE),
    req("createdAt", Str, DT),
    req("updatedAt", Str, DT),
];

const TAG_ASSIGNMENT: &[F] = &[
    req("id", Str, UUID),
    req("tagId", Str, UUID),
    req(
        "taggableType",
        Str,
        &[Enum(&[
            "project",
            "person",
            "help_wanted_role",
            "blog_post",
        ])],
    ),
    req("taggableId", Str, UUID),
    opt("assignedById", Str, UUID),
    req("createdAt", Str, DT),
];

fn schema(sheet: Sheet) -> &'static [F] {
    match sheet {
        Sheet::Tags => TAG,
        Sheet::People => PERSON,
        Sheet::Projects => PROJECT,
        Sheet::ProjectMemberships => MEMBERSHIP,
        Sheet::ProjectUpdates => UPDATE,
        Sheet::ProjectBuzz => BUZZ,
        Sheet::BlogPosts => BLOG_POST,
        Sheet::TagAssignments => TAG_ASSIGNMENT,
    }
}

/// One failed rule: `path` is the field, `message` the Zod 4 message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    /// The field that failed.
    pub path: String,
    /// The Zod 4 message.
    pub message: String,
}

/// Validate `record` against `sheet`'s schema. Empty = valid.
pub fn validate(sheet: Sheet, record: &Map<String, Value>) -> Vec<Issue> {
    let mut issues = Vec::new();
    for f in schema(sheet) {
        check_field(f, record.get(f.name), &mut issues);
    }
    if sheet == Sheet::Projects && record.get("featured") == Some(&Value::Bool(true)) {
        let set = |k: &str| record.get(k).is_some_and(|v| !v.is_null());
        if !(set("featuredImageKey") && set("summary")) {
            issues.push(Issue {
                path: String::new(),
                message: "featured projects must have featuredImageKey and summary".to_owned(),
            });
        }
    }
    issues
}

/// `[<sheet>] zod validation failed: <who>: <path>: <message>; …` — the reference's prefix,
/// naming the record (`legacyId=<n>` or, for sheets without one, its read-forward key).
pub fn failure_message(sheet: Sheet, who: &str, issues: &[Issue]) -> String {
    let details: Vec<String> = issues
        .iter()
        .map(|i| {
            if i.path.is_empty() {
                i.message.clone()
            } else {
                format!("{}: {}", i.path, i.message)
            }
        })
        .collect();
    format!(
        "[{sheet}] zod validation failed: {who}: {}",
        details.join("; ")
    )
}

fn received(v: Option<&Value>) -> &'static str {
    match v {
        None => "undefined",
        Some(Value::Null) => "null",
        Some(Value::Bool(_)) => "boolean",
        Some(Value::Number(_)) => "number",
        Some(Value::String(_)) => "string",
        Some(Value::Array(_)) => "array",
        Some(Value::Object(_)) => "object",
    }
}

fn check_field(f: &F, v: Option<&Value>, issues: &mut Vec<Issue>) {
    let mut push = |message: String| {
        issues.push(Issue {
            path: f.name.to_owned(),
            message,
        })
    };
    let v = match v {
        None | Some(Value::Null) if !f.required => return,
        other => other,
    };
    match (f.ty, v) {
        (Str, Some(Value::String(s))) => {
            for c in f.checks {
                if let Some(m) = check_str(*c, s) {
                    push(m);
                }
            }
        }
        (Int, Some(Value::Number(n))) => {
            let Some(i) = safe_integer(n) else {
                push("Invalid input: expected int, received number".to_owned());
                return;
            };
            for c in f.checks {
                if let MinInt(min) = c
                    && i < *min
                {
                    push(format!("Too small: expected number to be >={min}"));
                }
            }
        }
        (Bool, Some(Value::Bool(_))) => {}
        // Zod reports a missing or mistyped enum as an invalid option.
        (_, _) if let Some(Enum(options)) = f.checks.iter().find(|c| matches!(c, Enum(_))) => {
            push(enum_message(options));
        }
        (ty, v) => {
            let want = match ty {
                Str => "string",
                Int => "number",
                Bool => "boolean",
            };
            push(format!(
                "Invalid input: expected {want}, received {}",
                received(v)
            ));
        }
    }
}

/// `Number.isSafeInteger`.
fn safe_integer(n: &serde_json::Number) -> Option<i64> {
    const MAX: i64 = (1 << 53) - 1;
    let i = if let Some(i) = n.as_i64() {
        i
    } else {
        let f = n.as_f64()?;
        if f.fract() != 0.0 || f.abs() > MAX as f64 {
            return None;
        }
        f as i64
    };
    (-MAX..=MAX).contains(&i).then_some(i)
}

fn check_str(c: Check, s: &str) -> Option<String> {
    let ok = match c {
        // A char takes at most 3 UTF-8 bytes per UTF-16 unit and at least one: most
        // strings are decided by their byte length without counting units.
        MinLen(n) => {
            return (s.len() < 3 * n && utf16_len(s) < n)
                .then(|| format!("Too small: expected string to have >={n} characters"));
        }
        MaxLen(n) => {
            return (s.len() > n && utf16_len(s) > n)
                .then(|| format!("Too big: expected string to have <={n} characters"));
        }
        Pattern(f, p) => {
            return (!f(s)).then(|| format!("Invalid string: must match pattern {p}"));
        }
        StartsWith(p) => {
            return (!s.starts_with(p)).then(|| format!("Invalid string: must start with \"{p}\""));
        }
        Enum(options) => return (!options.contains(&s)).then(|| enum_message(options)),
        Uuid => (is_uuid(s), "Invalid UUID"),
        DateTime => (is_datetime(s), "Invalid ISO datetime"),
        Url => (url::Url::parse(crate::js::trim(s)).is_ok(), "Invalid URL"),
        MinInt(_) => (true, ""),
    };
    (!ok.0).then(|| ok.1.to_owned())
}

fn enum_message(options: &[&str]) -> String {
    let list: Vec<String> = options.iter().map(|o| format!("\"{o}\"")).collect();
    format!("Invalid option: expected one of {}", list.join("|"))
}

/// The field rules, defined once for every validator of the workspace.
pub use zod_rules::{is_datetime, is_uuid};

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rec(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn person_rules_and_messages() {
        let r = rec(json!({
            "id": "nope", "slug": "x", "fullName": "a".repeat(121), "legacyId": 1.5,
            "createdAt": "2018-02-17T13:58:57.000Z", "accountLevel": "root"
        }));
        let issues = validate(Sheet::People, &r);
        let msgs: Vec<String> = issues
            .iter()
            .map(|i| format!("{}: {}", i.path, i.message))
            .collect();
        assert_eq!(
            msgs,
            [
                "id: Invalid UUID",
                "legacyId: Invalid input: expected int, received number",
                "slug: Invalid string: must match pattern /^[a-z0-9][a-z0-9-]{1,49}$/",
                "fullName: Too big: expected string to have <=120 characters",
                "accountLevel: Invalid option: expected one of \"user\"|\"staff\"|\"administrator\"",
                "updatedAt: Invalid input: expected string, received undefined",
            ]
        );
        let msg = failure_message(Sheet::People, "legacyId=7", &issues[..1]);
        assert_eq!(
            msg,
            "[people] zod validation failed: legacyId=7: id: Invalid UUID"
        );
    }

    #[test]
    fn lengths_count_utf16_units() {
        // 100 astral characters are 200 UTF-16 units: exactly at the title cap.
        let at_cap = "😀".repeat(100);
        let base = json!({
            "id": "019e4021-2053-7493-ac00-d3752f9f8652", "slug": "ab", "stage": "testing",
            "createdAt": "2018-02-17T13:58:57.000Z", "updatedAt": "2018-02-17T13:58:57.000Z"
        });
        let mut r = rec(base);
        r.insert("title".into(), json!(at_cap));
        assert!(validate(Sheet::Projects, &r).is_empty());
        r.insert("title".into(), json!(format!("{at_cap}a")));
        assert_eq!(validate(Sheet::Projects, &r).len(), 1);
    }

    #[test]
    fn project_urls_and_refine() {
        let mut r = rec(json!({
            "id": "019e4021-2053-7493-ac00-d3752f9f8652", "slug": "a_b", "title": "T",
            "usersUrl": "http://x.org/", "developersUrl": "javascript:alert(1)",
            "chatChannel": "_bad", "featured": true,
            "createdAt": "2018-02-17T13:58:57.000Z", "updatedAt": "2018-02-17T13:58:57.000Z"
        }));
        let paths: Vec<String> = validate(Sheet::Projects, &r)
            .into_iter()
            .map(|i| i.path)
            .collect();
        assert_eq!(paths, ["usersUrl", "developersUrl", "chatChannel", ""]);
        r.insert("featured".into(), json!(false));
        r.remove("usersUrl");
        r.remove("developersUrl");
        r.remove("chatChannel");
        assert!(validate(Sheet::Projects, &r).is_empty());
    }

    #[test]
    fn urls_like_zod() {
        let base = json!({
            "id": "019e4021-2053-7493-ac00-d3752f9f8652", "projectId": "019e4021-2053-7493-ac00-d3752f9f8652",
            "slug": "s", "headline": "H", "publishedAt": "2013-08-21T23:15:53.000Z",
            "createdAt": "2013-08-21T23:15:53.000Z", "updatedAt": "2013-08-21T23:15:53.000Z"
        });
        for (u, ok) in [
            ("mailto:a@b.c", true),
            ("javascript:alert(1)", true),
            ("x:", true),
            (" https://x.org ", true),
            ("https://[::1]", true),
            ("not a url", false),
            ("http://", false),
            ("//x.org", false),
            ("https://ex ample.com", false),
        ] {
            let mut r = rec(base.clone());
            r.insert("url".into(), json!(u));
            assert_eq!(validate(Sheet::ProjectBuzz, &r).is_empty(), ok, "{u:?}");
        }
    }

    #[test]
    fn missing_enum_is_an_invalid_option() {
        let r = rec(
            json!({"id": "019e4021-2053-7493-ac00-d3752f9f8652", "slug": "s", "title": "t",
            "createdAt": "2013-08-21T23:15:53.000Z", "updatedAt": "2013-08-21T23:15:53.000Z"}),
        );
        let issues = validate(Sheet::Tags, &r);
        assert_eq!(issues.len(), 1);
        assert_eq!(
            issues[0].message,
            "Invalid option: expected one of \"topic\"|\"tech\"|\"event\""
        );
    }

    #[test]
    fn buzz_accepts_http() {
        let r = rec(json!({
            "id": "019e4021-2053-7493-ac00-d3752f9f8652", "projectId": "019e4021-2053-7493-ac00-d3752f9f8652",
            "slug": "s", "headline": "H", "url": "http://news.example.com/",
            "publishedAt": "2013-08-21T23:15:53.000Z", "createdAt": "2013-08-21T23:15:53.000Z",
            "updatedAt": "2013-08-21T23:15:53.000Z"
        }));
        assert!(validate(Sheet::ProjectBuzz, &r).is_empty());
    }
}
