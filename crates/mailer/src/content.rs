//! The reminder's subject, text and HTML, rendered from three templates.
//!
//! Templates use `{{name}}` (full name, else the slug), `{{fullName}}`, `{{slug}}`, `{{email}}`,
//! `{{claimUrl}}` (`<public-url>/login`) and `{{publicUrl}}`. In the HTML template every value is
//! HTML-escaped (`& < > " '`); in the text template nothing is; in the subject, control
//! characters become spaces. An unknown `{{…}}` is an error when the templates are loaded, so a
//! typo never reaches a thousand inboxes. The built-in templates (the `templates/` directory of
//! this crate) are the reference's wording with the working claim link.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::select::Recipient;

/// The files of a `--template-dir`.
pub const SUBJECT_FILE: &str = "subject.txt";
pub const TEXT_FILE: &str = "body.txt";
pub const HTML_FILE: &str = "body.html";

const VARS: [&str; 6] = ["name", "fullName", "slug", "email", "claimUrl", "publicUrl"];

#[derive(Clone, Debug, PartialEq, Eq)]
enum Part {
    Lit(String),
    Var(&'static str),
}

/// One parsed template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parses `{{var}}` placeholders; `what` names the template in errors.
    pub fn parse(what: &str, src: &str) -> Result<Template, Error> {
        let bad = |m: String| Error::Template {
            path: what.to_owned(),
            message: m,
        };
        let mut parts = Vec::new();
        let mut rest = src;
        while let Some(i) = rest.find("{{") {
            if i > 0 {
                parts.push(Part::Lit(rest[..i].to_owned()));
            }
            let after = &rest[i + 2..];
            let end = after
                .find("}}")
                .ok_or_else(|| bad("`{{` without a closing `}}`".into()))?;
            let name = after[..end].trim();
            let var = VARS.iter().find(|v| **v == name).ok_or_else(|| {
                bad(format!(
                    "unknown placeholder {{{{{name}}}}}; known: {}",
                    VARS.join(", ")
                ))
            })?;
            parts.push(Part::Var(var));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Lit(rest.to_owned()));
        }
        Ok(Template { parts })
    }

    fn render(&self, vars: &Vars<'_>, escape: fn(&str) -> String) -> String {
        let mut out = String::new();
        for p in &self.parts {
            match p {
                Part::Lit(s) => out.push_str(s),
                Part::Var(v) => out.push_str(&escape(vars.get(v))),
            }
        }
        out
    }
}

struct Vars<'a> {
    r: &'a Recipient,
    claim_url: &'a str,
    public_url: &'a str,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> &str {
        match name {
            "name" => display_name(self.r),
            "fullName" => self.r.full_name.as_deref().unwrap_or(""),
            "slug" => &self.r.slug,
            "email" => &self.r.email,
            "claimUrl" => self.claim_url,
            _ => self.public_url,
        }
    }
}

/// The name in the greeting: the full name, else the slug (also for a blank full name).
pub fn display_name(r: &Recipient) -> &str {
    match r.full_name.as_deref() {
        Some(n) if !n.trim().is_empty() => n,
        _ => &r.slug,
    }
}

/// `& < > " '` → `&amp; &lt; &gt; &quot; &#39;`.
pub fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn raw(s: &str) -> String {
    s.to_owned()
}

fn no_controls(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// The rendered mail for one recipient.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Message {
    pub subject: String,
    pub text: String,
    pub html: String,
}

/// Subject, text and HTML templates.
#[derive(Clone, Debug)]
pub struct Templates {
    subject: Template,
    text: Template,
    html: Template,
    /// The directory they came from; `None` for the built-in ones.
    pub source: Option<PathBuf>,
}

impl Templates {
    /// The reference's wording, with the claim link `<public-url>/login`.
    pub fn builtin() -> Result<Templates, Error> {
        let parse = |what: &str, src: &str| Template::parse(what, trim_one_newline(src));
        Ok(Templates {
            subject: parse(
                "built-in subject.txt",
                include_str!("../templates/subject.txt"),
            )?,
            text: parse("built-in body.txt", include_str!("../templates/body.txt"))?,
            html: parse("built-in body.html", include_str!("../templates/body.html"))?,
            source: None,
        })
    }

    /// `subject.txt`, `body.txt` and `body.html` from `dir`; all three must exist.
    pub fn from_dir(dir: &Path) -> Result<Templates, Error> {
        let load = |file: &str| -> Result<Template, Error> {
            let path = dir.join(file);
            let src = std::fs::read_to_string(&path).map_err(|e| Error::Template {
                path: path.display().to_string(),
                message: format!(
                    "{e} (a --template-dir holds {SUBJECT_FILE}, {TEXT_FILE} and {HTML_FILE})"
                ),
            })?;
            Template::parse(&path.display().to_string(), trim_one_newline(&src))
        };
        let subject = load(SUBJECT_FILE)?;
        if subject
            .parts
            .iter()
            .any(|p| matches!(p, Part::Lit(s) if s.contains('\n')))
        {
            return Err(Error::Template {
                path: dir.join(SUBJECT_FILE).display().to_string(),
                message: "the subject must be one line".into(),
            });
        }
        Ok(Templates {
            subject,
            text: load(TEXT_FILE)?,
            html: load(HTML_FILE)?,
            source: Some(dir.to_owned()),
        })
    }

    pub fn render(&self, r: &Recipient, claim_url: &str, public_url: &str) -> Message {
        let vars = Vars {
            r,
            claim_url,
            public_url,
        };
        Message {
            subject: no_controls(self.subject.render(&vars, raw).trim()),
            text: self.text.render(&vars, raw),
            html: self.html.render(&vars, html_escape),
        }
    }
}

/// Editors end files with a newline; the templates do not want it.
fn trim_one_newline(s: &str) -> &str {
    s.strip_suffix("\r\n")
        .or_else(|| s.strip_suffix('\n'))
        .unwrap_or(s)
}

/// The public URL checked (http or https) and without trailing slashes, and the claim link
/// `<public-url>/login` (the reference's `/account/sign-in` does not exist in the SPA).
pub fn claim_url(public_url: &str) -> Result<(String, String), Error> {
    let parsed = url::Url::parse(public_url)
        .map_err(|e| Error::Usage(format!("--public-url {public_url:?} is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
        return Err(Error::Usage(format!(
            "--public-url {public_url:?} must be an http(s) URL"
        )));
    }
    let base = public_url.trim_end_matches('/').to_owned();
    let claim = format!("{base}/login");
    Ok((base, claim))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alice(name: Option<&str>) -> Recipient {
        Recipient {
            person_id: "01951a3c-0000-7000-8000-000000000001".into(),
            slug: "alice".into(),
            email: "alice@example.com".into(),
            full_name: name.map(str::to_owned),
        }
    }

    #[test]
    fn builtin_matches_the_reference_with_the_login_link() {
        let (base, claim) = claim_url("https://codeforphilly.org/").unwrap();
        let m = Templates::builtin()
            .unwrap()
            .render(&alice(Some("Alice Adams")), &claim, &base);
        assert_eq!(
            m.subject,
            "Action needed: claim your Code for Philly account"
        );
        assert_eq!(
            m.text,
            "Hi Alice Adams,\n\nWe migrated codeforphilly.org to a new platform a few months ago. Your account at @alice is still waiting to be claimed.\n\nSign in with GitHub to claim it — your profile, projects, and Slack identity all carry over: https://codeforphilly.org/login\n\nIf you don't recognize this account, you can ignore the email. Accounts unclaimed for one year may be retired.\n\n— Code for Philly"
        );
        assert!(
            m.html.starts_with("<p>Hi Alice Adams,</p><p>"),
            "{}",
            m.html
        );
        assert!(m.html.contains("<code>@alice</code>"));
        assert!(m.html.contains(
            r#"<a href="https://codeforphilly.org/login">Sign in with GitHub</a> to claim it"#
        ));
        assert!(m.html.ends_with("<p>— Code for Philly</p>"));
        assert!(!m.html.contains("&lt;"));
        assert!(!m.html.contains("/account/sign-in") && !m.text.contains("/account/sign-in"));
    }

    #[test]
    fn names_and_slugs_are_escaped_in_html_only() {
        let mut r = alice(Some("<script>alert(1)</script> & 'co'"));
        r.slug = "a\"b".into();
        let m = Templates::builtin()
            .unwrap()
            .render(&r, "https://x.org/login", "https://x.org");
        assert!(
            m.html
                .contains("Hi &lt;script&gt;alert(1)&lt;/script&gt; &amp; &#39;co&#39;,")
        );
        assert!(m.html.contains("<code>@a&quot;b</code>"));
        assert!(!m.html.contains("<script>"));
        assert!(m.text.starts_with("Hi <script>alert(1)</script> & 'co',"));
    }

    #[test]
    fn name_falls_back_to_slug() {
        let m = Templates::builtin().unwrap().render(&alice(None), "u", "p");
        assert!(m.text.starts_with("Hi alice,"));
        let m = Templates::builtin()
            .unwrap()
            .render(&alice(Some("  ")), "u", "p");
        assert!(m.text.starts_with("Hi alice,"));
    }

    #[test]
    fn unknown_placeholder_is_an_error() {
        let e = Template::parse("t", "Hi {{nmae}}").unwrap_err().to_string();
        assert!(e.contains("unknown placeholder {{nmae}}"), "{e}");
        assert!(Template::parse("t", "Hi {{name").is_err());
        // Single braces (CSS) are literal.
        let t = Template::parse("t", "p { color: red } {{ slug }}").unwrap();
        assert_eq!(
            t.render(
                &Vars {
                    r: &alice(None),
                    claim_url: "",
                    public_url: ""
                },
                raw
            ),
            "p { color: red } alice"
        );
    }

    #[test]
    fn public_url_must_be_http() {
        assert_eq!(
            claim_url("http://localhost:8080//").unwrap().1,
            "http://localhost:8080/login"
        );
        assert!(claim_url("codeforphilly.org").is_err());
        assert!(claim_url("ftp://x.org").is_err());
    }
}
