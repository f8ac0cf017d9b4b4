//! A campaign's subject, text and HTML, rendered from three templates.
//!
//! Variables (every campaign may use every one; `docs/ndjson.md` lists them too):
//! - `{{name}}` (full name, else the slug), `{{fullName}}`, `{{slug}}`, `{{email}}`;
//! - `{{claimUrl}}` (`<public-url>/login`), `{{publicUrl}}`;
//! - `{{contactEmail}}` (`--contact`, where questions go; every built-in mail ends with it);
//! - `{{signInNote}}`: empty, or, for a member whose laddr username is not their sign-in name,
//!   one sentence *starting with a space* naming the name to use (T-7 and T+90, with `--laddr`);
//! - `{{cutoverDate}}` (`--cutover-date`, written out: `Saturday, August 15, 2026`);
//! - `{{writes}}` (one `- <path> (<time>)` line per discarded write) and `{{writeCount}}`
//!   (`rollback-apology`).
//!
//! In the HTML template every value is HTML-escaped (`& < > " '`, line breaks become `<br>`);
//! in the text template nothing is; in the subject, control characters become spaces. An
//! unknown `{{…}}` is an error when the templates are loaded, so a typo never reaches a
//! thousand inboxes. The built-in templates are `templates/<campaign>/` of this crate.

use std::path::{Path, PathBuf};

use crate::Error;
use crate::campaign::Campaign;
use crate::select::Recipient;

/// The files of a `--template-dir`.
pub const SUBJECT_FILE: &str = "subject.txt";
/// The plain-text body template in a `--template-dir`.
pub const TEXT_FILE: &str = "body.txt";
/// The HTML body template in a `--template-dir`.
pub const HTML_FILE: &str = "body.html";

/// Every template variable.
pub const VARS: [&str; 11] = [
    "name",
    "fullName",
    "slug",
    "email",
    "claimUrl",
    "publicUrl",
    "contactEmail",
    "signInNote",
    "cutoverDate",
    "writes",
    "writeCount",
];

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
                Part::Var(v) => out.push_str(&escape(&vars.get(v))),
            }
        }
        out
    }
}

/// The campaign-wide values.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Context {
    /// The sign-in link (`<public-url>/login`).
    pub claim_url: String,
    /// The public site.
    pub public_url: String,
    /// Where questions go (`--contact`).
    pub contact_email: String,
    /// Written out (`Saturday, August 15, 2026`); empty when not given.
    pub cutover_date: String,
}

struct Vars<'a> {
    r: &'a Recipient,
    ctx: &'a Context,
}

impl Vars<'_> {
    fn get(&self, name: &str) -> String {
        let r = self.r;
        match name {
            "name" => display_name(r).to_owned(),
            "fullName" => r.full_name.clone().unwrap_or_default(),
            "slug" => r.slug.clone(),
            "email" => r.email.clone(),
            "claimUrl" => self.ctx.claim_url.clone(),
            "contactEmail" => self.ctx.contact_email.clone(),
            "signInNote" => sign_in_note(r),
            "cutoverDate" => self.ctx.cutover_date.clone(),
            "writes" => r.writes.as_deref().unwrap_or_default().join("\n"),
            "writeCount" => r.writes.as_ref().map_or(0, Vec::len).to_string(),
            _ => self.ctx.public_url.clone(),
        }
    }
}

/// The sign-in-name sentence (with its leading space), or nothing.
pub fn sign_in_note(r: &Recipient) -> String {
    match (r.sign_in_name(), r.laddr_username.as_deref()) {
        (Some(slug), Some(old)) => format!(
            " On the new site your username is {slug}: the old {old} no longer works for signing in, but your email address or GitHub does."
        ),
        _ => String::new(),
    }
}

/// The name in the greeting: the full name, else the slug (also for a blank full name).
pub fn display_name(r: &Recipient) -> &str {
    match r.full_name.as_deref() {
        Some(n) if !n.trim().is_empty() => n,
        _ => &r.slug,
    }
}

/// `& < > " '` → `&amp; &lt; &gt; &quot; &#39;`: the one escaping rule of the workspace, the
/// one the HTML reports use.
pub use report_html::escape as html_escape;

/// [`html_escape`], then line breaks as `<br>` (multi-line values such as `{{writes}}`).
fn html_value(s: &str) -> String {
    html_escape(s).replace('\n', "<br>\n")
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
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body (values escaped).
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
    /// The T+90 reminder: the reference's wording, the claim link `<public-url>/login`, and
    /// a contact line.
    pub fn builtin() -> Result<Templates, Error> {
        Templates::for_campaign(Campaign::T90Reminder)
    }

    /// A campaign's built-in templates (`templates/<campaign>/`).
    pub fn for_campaign(campaign: Campaign) -> Result<Templates, Error> {
        let b = campaign.builtin();
        let parse = |file: &str, src: &str| {
            Template::parse(
                &format!("built-in {campaign}/{file}"),
                trim_one_newline(src),
            )
        };
        Ok(Templates {
            subject: parse(SUBJECT_FILE, b.subject)?,
            text: parse(TEXT_FILE, b.text)?,
            html: parse(HTML_FILE, b.html)?,
            source: None,
        })
    }

    /// Whether both bodies carry `{{contactEmail}}` (every mail must have a contact line).
    pub fn has_contact_line(&self) -> bool {
        [&self.text, &self.html]
            .iter()
            .all(|t| t.parts.contains(&Part::Var("contactEmail")))
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

    /// The mail for `r`: every template filled with the recipient's and the campaign's values.
    pub fn render(&self, r: &Recipient, ctx: &Context) -> Message {
        let vars = Vars { r, ctx };
        Message {
            subject: no_controls(self.subject.render(&vars, raw).trim()),
            text: self.text.render(&vars, raw),
            html: self.html.render(&vars, html_value),
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

/// `--cutover-date=2026-08-15` written out for the mail: `Saturday, August 15, 2026`.
pub fn cutover_date(s: &str) -> Result<String, Error> {
    let d: jiff::civil::Date = s.trim().parse().map_err(|e| {
        Error::Usage(format!(
            "--cutover-date {s:?} is not a date (YYYY-MM-DD): {e}"
        ))
    })?;
    Ok(d.strftime("%A, %B %-d, %Y").to_string())
}

/// The recipients a dry run renders as samples: the first, the first who gets the
/// sign-in-name sentence, the last (three at most, no one twice).
pub fn sample_recipients(recipients: &[Recipient]) -> Vec<&Recipient> {
    let picks = [
        recipients.first(),
        recipients.iter().find(|r| r.sign_in_name().is_some()),
        recipients.last(),
    ];
    let mut out: Vec<&Recipient> = Vec::new();
    for r in picks.into_iter().flatten() {
        if !out.iter().any(|o| o.person_id == r.person_id) {
            out.push(r);
        }
    }
    for r in recipients {
        if out.len() >= 3 {
            break;
        }
        if !out.iter().any(|o| o.person_id == r.person_id) {
            out.push(r);
        }
    }
    out
}

/// Renders up to three samples into `dir/<campaign>/`: `sample-<n>-<slug>.txt` (a `Subject:`
/// line, a blank line, the text body) and `sample-<n>-<slug>.html`. Returns the files written.
pub fn write_samples(
    dir: &Path,
    campaign: Campaign,
    templates: &Templates,
    ctx: &Context,
    recipients: &[Recipient],
) -> Result<Vec<PathBuf>, Error> {
    let out_dir = dir.join(campaign.name());
    std::fs::create_dir_all(&out_dir).map_err(|e| Error::io(out_dir.display(), e))?;
    let mut written = Vec::new();
    for (n, r) in sample_recipients(recipients).into_iter().enumerate() {
        let m = templates.render(r, ctx);
        let stem: String = r
            .slug
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let base = out_dir.join(format!("sample-{}-{stem}", n + 1));
        for (ext, body) in [
            ("txt", format!("Subject: {}\n\n{}\n", m.subject, m.text)),
            ("html", format!("{}\n", m.html)),
        ] {
            let path = base.with_extension(ext);
            std::fs::write(&path, body).map_err(|e| Error::io(path.display(), e))?;
            written.push(path);
        }
    }
    Ok(written)
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
            laddr_username: None,
            writes: None,
        }
    }

    fn ctx(claim: &str, public: &str) -> Context {
        Context {
            claim_url: claim.into(),
            public_url: public.into(),
            contact_email: "hello@codeforphilly.org".into(),
            cutover_date: String::new(),
        }
    }

    #[test]
    fn builtin_matches_the_reference_with_the_login_link() {
        let (base, claim) = claim_url("https://codeforphilly.org/").unwrap();
        let m = Templates::builtin()
            .unwrap()
            .render(&alice(Some("Alice Adams")), &ctx(&claim, &base));
        assert_eq!(
            m.subject,
            "Action needed: claim your Code for Philly account"
        );
        assert_eq!(
            m.text,
            "Hi Alice Adams,\n\nWe migrated codeforphilly.org to a new platform a few months ago. Your account at @alice is still waiting to be claimed.\n\nSign in with GitHub to claim it — your profile, projects, and Slack identity all carry over: https://codeforphilly.org/login\n\nIf you don't recognize this account, you can ignore the email. Accounts unclaimed for one year may be retired.\n\n— Code for Philly\n\nQuestions? Reply to this email or write to hello@codeforphilly.org."
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
        assert!(m.html.ends_with(
            r#"<p>— Code for Philly</p><p>Questions? Reply to this email or write to <a href="mailto:hello@codeforphilly.org">hello@codeforphilly.org</a>.</p>"#
        ));
        assert!(!m.html.contains("&lt;"));
        assert!(!m.html.contains("/account/sign-in") && !m.text.contains("/account/sign-in"));
    }

    #[test]
    fn names_and_slugs_are_escaped_in_html_only() {
        let mut r = alice(Some("<script>alert(1)</script> & 'co'"));
        r.slug = "a\"b".into();
        let m = Templates::builtin()
            .unwrap()
            .render(&r, &ctx("https://x.org/login", "https://x.org"));
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
        let m = Templates::builtin()
            .unwrap()
            .render(&alice(None), &ctx("u", "p"));
        assert!(m.text.starts_with("Hi alice,"));
        let m = Templates::builtin()
            .unwrap()
            .render(&alice(Some("  ")), &ctx("u", "p"));
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
                    ctx: &ctx("", ""),
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

    #[test]
    fn every_builtin_campaign_renders_with_a_contact_line_and_escapes() {
        let mut r = alice(Some("<b>Al</b>"));
        r.laddr_username = Some("Alice_A".into());
        r.writes = Some(vec!["- a/<x>.toml (t)".into(), "- b.toml".into()]);
        let mut c = ctx("https://x.org/login", "https://x.org");
        c.cutover_date = cutover_date("2026-08-15").unwrap();
        for campaign in Campaign::ALL {
            let t = Templates::for_campaign(campaign).unwrap();
            assert!(t.has_contact_line(), "{campaign}");
            let m = t.render(&r, &c);
            assert!(m.text.contains("hello@codeforphilly.org"), "{campaign}");
            assert!(
                m.html
                    .contains(r#"<a href="mailto:hello@codeforphilly.org">"#),
                "{campaign}"
            );
            assert!(!m.html.contains("<b>Al"), "{campaign}: {}", m.html);
            assert!(!m.subject.contains("{{") && !m.text.contains("{{"));
            let note = m.text.contains("your username is alice: the old Alice_A");
            assert_eq!(note, campaign.tells_sign_in_name(), "{campaign}");
        }
        let m = Templates::for_campaign(Campaign::T7Announcement)
            .unwrap()
            .render(&r, &c);
        assert!(
            m.subject.contains("Saturday, August 15, 2026"),
            "{}",
            m.subject
        );
        let m = Templates::for_campaign(Campaign::RollbackApology)
            .unwrap()
            .render(&r, &c);
        assert!(
            m.text
                .contains("2 of them were yours:\n\n- a/<x>.toml (t)\n- b.toml\n")
        );
        assert!(
            m.html.contains("- a/&lt;x&gt;.toml (t)<br>\n- b.toml"),
            "{}",
            m.html
        );
    }

    #[test]
    fn sign_in_note_only_when_the_lowercased_username_is_not_the_slug() {
        let mut r = alice(None);
        r.laddr_username = Some("ALICE".into());
        assert_eq!(sign_in_note(&r), "");
        r.laddr_username = Some("alice.".into());
        assert!(sign_in_note(&r).starts_with(" On the new site your username is alice:"));
        r.laddr_username = None;
        assert_eq!(sign_in_note(&r), "");
    }

    #[test]
    fn samples_pick_first_noted_and_last() {
        let rs: Vec<Recipient> = (1..=5)
            .map(|i| {
                let mut r = alice(None);
                r.person_id = format!("p{i}");
                r.slug = format!("u{i}");
                r.laddr_username = Some(if i == 3 {
                    "U_3".into()
                } else {
                    format!("u{i}")
                });
                r
            })
            .collect();
        let picked: Vec<&str> = sample_recipients(&rs)
            .iter()
            .map(|r| r.slug.as_str())
            .collect();
        assert_eq!(picked, ["u1", "u3", "u5"]);
        assert_eq!(sample_recipients(&rs[..2]).len(), 2);
        assert!(cutover_date("15/08/2026").is_err());
    }
}
