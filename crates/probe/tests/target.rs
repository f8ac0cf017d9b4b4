//! The stand-in target follows `reference/E` §3–4: checked over real loopback sockets with
//! ureq (redirects not followed) against a real bare data repo.

mod common;

use std::time::Duration;

use common::{Repo, roomy};
use fixtures::target::{Fault, SlugSheet, TargetOptions};
use serde_json::Value;

struct Got {
    status: u16,
    location: Option<String>,
    header: Vec<(String, String)>,
    body: String,
}

impl Got {
    fn header(&self, name: &str) -> Option<&str> {
        self.header
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }
}

fn get(base: &str, path: &str) -> Got {
    get_with(base, path, &[])
}

fn get_with(base: &str, path: &str, headers: &[(&str, &str)]) -> Got {
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .timeout_global(Some(Duration::from_secs(10)))
            .build(),
    );
    let mut req = agent.get(format!("{base}{path}"));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let mut resp = req.call().unwrap();
    let header = resp
        .headers()
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_str().unwrap_or("").to_owned()))
        .collect::<Vec<_>>();
    Got {
        status: resp.status().as_u16(),
        location: resp
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned()),
        header,
        body: resp.body_mut().read_to_string().unwrap(),
    }
}

#[test]
fn api_envelope_people_and_projects_by_slug() {
    let repo = Repo::new();
    let t = repo.target(roomy());
    let alice = get(&t.url(), "/api/people/alice");
    assert_eq!(alice.status, 200);
    let v = alice.json();
    assert_eq!(v["success"], true);
    assert_eq!(v["data"]["slug"], "alice");
    assert_eq!(
        v["data"]["accountLevel"], "user",
        "the public always sees user"
    );
    assert_eq!(v["data"]["deletedAt"], Value::Null);
    assert!(v["data"].get("legacyId").is_none());
    assert!(v["data"].get("slackSamlNameId").is_none());
    assert!(v["metadata"]["timestamp"].as_str().unwrap().ends_with('Z'));

    let p = get(&t.url(), "/api/projects/transit-app").json();
    assert_eq!(p["data"]["slug"], "transit-app");
    assert_eq!(
        p["data"]["counts"],
        serde_json::json!({"updates": 1, "buzz": 1, "members": 0})
    );
    assert!(p["data"].get("legacyId").is_none());

    // Exact, case-sensitive slugs; soft-deleted records 404 with the full envelope.
    for (path, msg) in [
        ("/api/people/Alice", "Person 'Alice' not found"),
        ("/api/people/carol", "Person 'carol' not found"),
        ("/api/projects/old-site", "Project 'old-site' not found"),
    ] {
        let g = get(&t.url(), path);
        assert_eq!(g.status, 404, "{path}");
        let v = g.json();
        assert_eq!(v["success"], false);
        assert_eq!(v["error"]["code"], "not_found");
        assert_eq!(v["error"]["message"], msg);
        assert!(v["metadata"]["timestamp"].is_string());
    }
    // An unknown API route: no metadata.
    let g = get(&t.url(), "/api/nope");
    assert_eq!(g.status, 404);
    assert_eq!(
        g.body,
        r#"{"success":false,"error":{"code":"not_found","message":"Not found"}}"#
    );
    // The API is never slug-redirected.
    assert_eq!(get(&t.url(), "/api/people/old-alice").status, 404);
}

#[test]
fn legacy_redirects_follow_the_contract() {
    let repo = Repo::new();
    let t = repo.target(roomy());
    let cases = [
        ("/projects?ID=7", "/projects/mp"),
        ("/projects?ID=7&tab=updates", "/projects/mp?tab=updates"),
        ("/projects?tab=a+b&ID=7&ID=100", "/projects/mp?tab=a+b"),
        ("/project-updates?ProjectID=100", "/projects/transit-app"),
        ("/people/janedoe/edit?x=1", "/members/janedoe/edit?x=1"),
        ("/people/42", "/members/42"),
        ("/project-buzz/news-story", "/projects/mp/buzz/news-story"),
        ("/tags/topic.transit", "/tags/topic/transit"),
        ("/tags/tech.node.js/items", "/tags/tech/node.js/items"),
    ];
    for (path, location) in cases {
        let g = get(&t.url(), path);
        assert_eq!(
            (g.status, g.location.as_deref()),
            (301, Some(location)),
            "{path}"
        );
        assert_eq!(
            g.header("cache-control"),
            Some("public, max-age=86400"),
            "{path}"
        );
    }
    // No redirect: unknown, zero, non-numeric, lowercase id, trailing slash, deleted project,
    // upper-case namespace, path-form tags: the SPA answers 200.
    for path in [
        "/projects?ID=999",
        "/projects?ID=0",
        "/projects?ID=7a",
        "/projects?id=7",
        "/projects/?ID=7",
        "/projects?ID=9",
        "/tags/Topic.transit",
        "/tags/topic/transit",
        "/project-buzz/nothing-like-this",
    ] {
        let g = get(&t.url(), path);
        assert_eq!(g.status, 200, "{path}");
        assert!(
            g.header("content-type").unwrap().starts_with("text/html"),
            "{path}"
        );
    }
    for path in ["/checkin", "/bigscreen"] {
        let g = get(&t.url(), path);
        assert_eq!(g.status, 410);
        assert!(g.body.contains("This page is no longer available"));
    }
}

#[test]
fn slug_history_follows_chains_and_live_slugs_win() {
    let repo = Repo::new();
    let t = repo.target(roomy());
    let cases = [
        ("/projects/old-transit", "/projects/transit-app"),
        (
            "/projects/old-transit/edit?tab=x",
            "/projects/transit-app/edit?tab=x",
        ),
        ("/members/old-alice", "/members/alice"),
        ("/members/a1", "/members/bob"),
    ];
    for (path, location) in cases {
        let g = get(&t.url(), path);
        assert_eq!(
            (g.status, g.location.as_deref()),
            (301, Some(location)),
            "{path}"
        );
        assert_eq!(g.header("cache-control"), Some("public, max-age=300"));
    }
    // Live slugs are served; expired history (project/gone, 2001) is dropped at boot.
    assert_eq!(get(&t.url(), "/projects/transit-app").status, 200);
    assert_eq!(get(&t.url(), "/projects/gone").status, 200);
}

#[test]
fn chat_oauth_saml_health() {
    let repo = Repo::new();
    let t = repo.target(roomy());
    let chat = get(&t.url(), "/chat");
    assert_eq!(
        (chat.status, chat.location.as_deref()),
        (302, Some("https://codeforphilly.slack.com/"))
    );
    assert_eq!(chat.header("cache-control"), Some("no-cache"));
    let chan = get(&t.url(), "/chat?channel=general");
    assert_eq!(
        chan.location.as_deref(),
        Some("https://codeforphilly.slack.com/channels/general")
    );
    let bad = get(&t.url(), "/chat?channel=-bad");
    assert_eq!(
        bad.location.as_deref(),
        Some("https://codeforphilly.slack.com/")
    );

    let oauth = get_with(
        &t.url(),
        "/api/auth/github/start",
        &[
            ("X-Forwarded-Proto", "https"),
            ("X-Forwarded-Host", "cfp.example"),
        ],
    );
    assert_eq!(oauth.status, 302);
    let loc = oauth.location.unwrap();
    assert!(
        loc.starts_with("https://github.com/login/oauth/authorize?client_id="),
        "{loc}"
    );
    assert!(
        loc.contains("redirect_uri=https%3A%2F%2Fcfp.example%2Fapi%2Fauth%2Fgithub%2Fcallback"),
        "{loc}"
    );

    let saml = get(&t.url(), "/api/saml/slack/metadata");
    assert_eq!(saml.status, 200);
    assert_eq!(
        saml.header("content-type"),
        Some("application/samlmetadata+xml; charset=utf-8")
    );
    for marker in probe::plan::SAML_MARKERS {
        assert!(saml.body.contains(marker), "{marker}");
    }
    assert_eq!(saml.body.matches("<md:SingleSignOnService").count(), 2);

    assert_eq!(get(&t.url(), "/api/health").json()["data"]["status"], "ok");
    let ready = get(&t.url(), "/api/health/ready").json();
    assert_eq!(ready["data"]["status"], "ready");

    let unconfigured = repo.target(TargetOptions {
        github_client_id: None,
        ..roomy()
    });
    let g = get(&unconfigured.url(), "/api/auth/github/start");
    assert_eq!(
        g.location.as_deref(),
        Some("/login?error=github_unreachable")
    );
}

#[test]
fn ready_warms_up_then_answers_200() {
    let repo = Repo::new();
    let t = repo.target(TargetOptions {
        warmup_requests: 2,
        ..roomy()
    });
    for _ in 0..2 {
        let g = get(&t.url(), "/api/health/ready");
        assert_eq!(g.status, 503);
        assert_eq!(
            g.body,
            r#"{"success":false,"error":{"code":"not_ready","message":"Stores still warming"}}"#
        );
    }
    assert_eq!(get(&t.url(), "/api/health/ready").status, 200);
}

#[test]
fn rate_limit_counts_api_and_spa_but_not_legacy_redirects() {
    let repo = Repo::new();
    let t = repo.target(TargetOptions {
        limit_get: 5,
        limit_auth: 2,
        rate_window: Duration::from_secs(30),
        ..roomy()
    });
    for _ in 0..20 {
        assert_eq!(get(&t.url(), "/projects?ID=7").status, 301);
        assert_eq!(get(&t.url(), "/checkin").status, 410);
    }
    assert_eq!(t.counted_requests(), 0, "hook answers are not counted");
    for i in 0..5 {
        let path = if i % 2 == 0 {
            "/api/health"
        } else {
            "/members/alice"
        };
        assert_eq!(get(&t.url(), path).status, 200, "request {i}");
    }
    let over = get(&t.url(), "/api/people/alice");
    assert_eq!(over.status, 429);
    assert_eq!(over.json()["error"]["code"], "rate_limited");
    let secs: u64 = over.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=30).contains(&secs), "{secs}");
    // Redirect hooks still answer while the budget is spent.
    assert_eq!(get(&t.url(), "/projects?ID=7").status, 301);
    // /api/auth* has its own, smaller budget.
    for _ in 0..2 {
        assert_eq!(get(&t.url(), "/api/auth/github/start").status, 302);
    }
    assert_eq!(get(&t.url(), "/api/auth/github/start").status, 429);
    // The key is the first X-Forwarded-For entry.
    let other = get_with(
        &t.url(),
        "/api/health",
        &[("X-Forwarded-For", "203.0.113.9, 10.0.0.1")],
    );
    assert_eq!(other.status, 200);
    assert_eq!(t.throttled_requests(), 2);
}

#[test]
fn faults_change_only_what_they_name() {
    let repo = Repo::new();
    let t = repo.target(TargetOptions {
        faults: vec![
            Fault::LegacyLocation {
                legacy_id: 7,
                location: "/projects/wrong".into(),
            },
            Fault::UnknownLegacyId(100),
            Fault::MissingSlug {
                sheet: SlugSheet::People,
                slug: "bob".into(),
            },
            Fault::MissingSlug {
                sheet: SlugSheet::Projects,
                slug: "proj-02".into(),
            },
            Fault::ReadyStuck,
            Fault::SamlMetadata500,
        ],
        ..roomy()
    });
    assert_eq!(
        get(&t.url(), "/projects?ID=7").location.as_deref(),
        Some("/projects/wrong")
    );
    assert_eq!(
        get(&t.url(), "/project-updates?ProjectID=7")
            .location
            .as_deref(),
        Some("/projects/mp")
    );
    assert_eq!(get(&t.url(), "/projects?ID=100").status, 200);
    assert_eq!(get(&t.url(), "/api/people/bob").status, 404);
    assert_eq!(get(&t.url(), "/api/projects/proj-02").status, 404);
    assert_eq!(get(&t.url(), "/api/people/alice").status, 200);
    for _ in 0..3 {
        assert_eq!(get(&t.url(), "/api/health/ready").status, 503);
    }
    let saml = get(&t.url(), "/api/saml/slack/metadata");
    assert_eq!(saml.status, 500);
    assert_eq!(saml.json()["error"]["code"], "saml_signing_failed");
}
