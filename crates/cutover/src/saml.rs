//! The target's sign-in surfaces: the Slack SAML metadata (served, parses, its signing
//! certificate valid for 30 more days) and the GitHub OAuth start redirect (`redirect_uri` must be
//! the public callback).

use std::time::Duration;

use base64::Engine;
use x509_cert::der::Decode;

use crate::check::Check;

/// The certificate must outlive the cutover by this much.
pub const MIN_CERT_DAYS: i64 = 30;

/// An HTTP agent for the target: no redirects followed, statuses returned, short timeouts.
pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .max_redirects(0)
        .timeout_global(Some(Duration::from_secs(20)))
        .build()
        .new_agent()
}

/// `GET <target>/api/saml/slack/metadata`: 200, well-formed XML with an `EntityDescriptor`, and an
/// X.509 signing certificate whose `notAfter` is at least [`MIN_CERT_DAYS`] after `now`.
pub fn metadata_check(agent: &ureq::Agent, target: &str, now: jiff::Timestamp) -> Check {
    const ID: &str = "saml-metadata";
    let url = format!("{}/api/saml/slack/metadata", target.trim_end_matches('/'));
    let body = match agent.get(&url).call() {
        Ok(mut r) if r.status() == 200 => match r.body_mut().read_to_string() {
            Ok(b) => b,
            Err(e) => return Check::fail(ID, format!("{url}: reading the body: {e}")),
        },
        Ok(r) => return Check::fail(ID, format!("{url}: HTTP {}", r.status().as_u16())),
        Err(e) => return Check::fail(ID, format!("{url}: {e}")),
    };
    match certificate_days_left(&body, now) {
        Ok((subject, days)) => Check::when(
            ID,
            days >= MIN_CERT_DAYS,
            format!("{url}: certificate {subject} valid {days} more day(s) (need {MIN_CERT_DAYS})"),
        ),
        Err(e) => Check::fail(ID, format!("{url}: {e}")),
    }
}

/// From metadata XML: the signing certificate's subject and whole days until its `notAfter`
/// (negative when expired).
pub fn certificate_days_left(xml: &str, now: jiff::Timestamp) -> Result<(String, i64), String> {
    let doc = roxmltree::Document::parse(xml).map_err(|e| format!("not XML: {e}"))?;
    if doc.root_element().tag_name().name() != "EntityDescriptor" {
        return Err(format!(
            "root element is <{}>, not <EntityDescriptor>",
            doc.root_element().tag_name().name()
        ));
    }
    let text = doc
        .descendants()
        .find(|n| n.tag_name().name() == "X509Certificate")
        .and_then(|n| n.text())
        .ok_or("no <X509Certificate> in the metadata")?;
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|e| format!("certificate is not base64: {e}"))?;
    let cert = x509_cert::Certificate::from_der(&der)
        .map_err(|e| format!("certificate does not parse as X.509: {e}"))?;
    let not_after = cert
        .tbs_certificate
        .validity
        .not_after
        .to_unix_duration()
        .as_secs() as i64;
    let days = (not_after - now.as_second()).div_euclid(86_400);
    Ok((cert.tbs_certificate.subject.to_string(), days))
}

/// `GET <target>/api/auth/github/start`: a redirect to `https://github.com/login/oauth/authorize`
/// whose `redirect_uri` is exactly `<public-url>/api/auth/github/callback`.
pub fn github_redirect_check(agent: &ureq::Agent, target: &str, public_url: &str) -> Check {
    const ID: &str = "github-oauth-redirect";
    let url = format!("{}/api/auth/github/start", target.trim_end_matches('/'));
    let want = format!(
        "{}/api/auth/github/callback",
        public_url.trim_end_matches('/')
    );
    let resp = match agent.get(&url).call() {
        Ok(r) => r,
        Err(e) => return Check::fail(ID, format!("{url}: {e}")),
    };
    let status = resp.status().as_u16();
    let location = resp
        .headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !(300..400).contains(&status) {
        return Check::fail(ID, format!("{url}: HTTP {status}, not a redirect"));
    }
    let Ok(to) = url::Url::parse(location) else {
        return Check::fail(ID, format!("{url}: {status} to {location:?}, not GitHub"));
    };
    if to.host_str() != Some("github.com") || to.path() != "/login/oauth/authorize" {
        return Check::fail(ID, format!("{url}: {status} to {location:?}, not GitHub"));
    }
    let got = to
        .query_pairs()
        .find(|(k, _)| k == "redirect_uri")
        .map(|(_, v)| v.into_owned());
    match got {
        Some(g) if g == want => {
            Check::pass(ID, format!("{url}: {status} to GitHub, redirect_uri {g}"))
        }
        Some(g) => Check::fail(ID, format!("{url}: redirect_uri is {g}, expected {want}")),
        None => Check::fail(
            ID,
            format!("{url}: the GitHub redirect has no redirect_uri"),
        ),
    }
}
