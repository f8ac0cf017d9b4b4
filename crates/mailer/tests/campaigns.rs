//! The four campaigns end to end: recipients and reasons, the sign-in-name sentence, dry-run
//! samples, the rollback's affected members, kills across two campaigns sharing one sent-log.

mod common;

use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;

use common::*;
use serde_json::Value;

fn report(path: &std::path::Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn skipped(r: &Value) -> Vec<(String, String)> {
    r["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["slug"].as_str().unwrap().to_owned(),
                s["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

fn slugs(o: &std::process::Output) -> Vec<String> {
    lines(o)
        .iter()
        .map(|l| l["slug"].as_str().unwrap().to_owned())
        .collect()
}

/// Members with laddr usernames; data-nerd and olga-k cannot sign in with theirs.
fn members() -> Vec<P> {
    vec![
        P::new(1, "alice").legacy(101).email("alice@example.com"),
        P::new(2, "bob")
            .legacy(102)
            .email("bob@example.com")
            .github(77),
        P::new(3, "data-nerd")
            .legacy(103)
            .name("Dana <Nerd>")
            .email("dana@example.com"),
        P::new(4, "olga-k")
            .legacy(104)
            .email("olga@example.com")
            .opted_out(),
        P::new(5, "eve")
            .legacy(105)
            .email("eve@example.com")
            .deleted(),
        P::new(6, "frank").legacy(106).email("ALICE@example.com"),
        P::new(7, "carol").legacy(107),
        P::new(8, "dan").legacy(108).email("dan@example.invalid"),
        P::new(9, "gus").legacy(109).email("gus@example.com"),
    ]
}

fn laddr(w: &World) -> String {
    let rows = [
        (101, "alice"),
        (102, "Bob"),
        (103, "Data_Nerd"),
        (104, "Olga.K"),
        (105, "eve"),
        (106, "frank"),
        (107, "carol"),
        (108, "dan"),
    ];
    format!("--laddr={}", w.laddr("people.ndjson", &rows).display())
}

#[test]
fn t7_goes_to_every_usable_address_opt_outs_included_with_the_sign_in_name_where_needed() {
    let w = World::new(&members());
    let json = w.path("t7-select.json");
    let o = run(w.mailer(&[
        "select",
        "--campaign=t7-announcement",
        &laddr(&w),
        &format!("--json={}", json.display()),
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(slugs(&o), ["alice", "bob", "data-nerd", "gus", "olga-k"]);
    let r = report(&json);
    assert_eq!(r["campaign"], "t7-announcement");
    assert_eq!(
        skipped(&r),
        pairs(&[
            ("carol", "no-private-profile"),
            ("dan", "invalid-email"),
            ("eve", "deleted"),
            ("frank", "duplicate-email"),
        ])
    );
    let names: BTreeMap<String, Value> = lines(&o)
        .into_iter()
        .map(|l| {
            (
                l["slug"].as_str().unwrap().to_owned(),
                l["laddrUsername"].clone(),
            )
        })
        .collect();
    assert_eq!(names["data-nerd"], "Data_Nerd");
    assert_eq!(names["gus"], Value::Null, "no laddr row, no name");

    // Without the date the announcement cannot be written.
    let resend = resend();
    let o = run(w.send_cmd(&resend, &["--campaign=t7-announcement"]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--cutover-date"), "{}", stderr(&o));
    assert!(resend.requests().is_empty());

    let o = run(w.send_cmd(
        &resend,
        &[
            "--campaign=t7-announcement",
            "--cutover-date=2026-08-15",
            &laddr(&w),
        ],
    ));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let emails = resend.emails();
    assert_eq!(emails.len(), 5);
    for e in &emails {
        let text = e.text.as_deref().unwrap();
        let html = e.html.as_deref().unwrap();
        assert_eq!(
            e.subject,
            "Code for Philly moves to a new site on Saturday, August 15, 2026"
        );
        assert!(
            text.contains("write to hello@codeforphilly.org.")
                && html.contains(r#"<a href="mailto:hello@codeforphilly.org">"#),
            "{text}"
        );
        let needs = match e.to[0].as_str() {
            "dana@example.com" => Some(("data-nerd", "Data_Nerd")),
            "olga@example.com" => Some(("olga-k", "Olga.K")),
            _ => None,
        };
        let said = text.contains("On the new site your username is");
        assert_eq!(said, needs.is_some(), "{}: {text}", e.to[0]);
        if let Some((slug, old)) = needs {
            assert!(
                text.contains(&format!(
                    "your username is {slug}: the old {old} no longer works"
                )),
                "{text}"
            );
        }
        assert!(!html.contains("<Nerd>"), "{html}");
        assert!(
            e.idempotency_key
                .as_deref()
                .unwrap()
                .starts_with("t7-announcement/")
        );
    }
}

#[test]
fn t90_dry_run_renders_three_samples_with_the_sentence_for_exactly_who_needs_it() {
    let w = World::new(&members());
    let dir = w.path("samples");
    let o = run(w.mailer(&[
        "send",
        "--dry-run",
        &laddr(&w),
        &format!("--render-dir={}", dir.display()),
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // bob is GitHub-linked: claimed, no reminder.
    assert_eq!(slugs(&o), ["alice", "data-nerd", "gus", "olga-k"]);
    let mut files: Vec<String> = std::fs::read_dir(dir.join("t90-reminder"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "sample-1-alice.html",
            "sample-1-alice.txt",
            "sample-2-data-nerd.html",
            "sample-2-data-nerd.txt",
            "sample-3-olga-k.html",
            "sample-3-olga-k.txt",
        ]
    );
    let read = |f: &str| std::fs::read_to_string(dir.join("t90-reminder").join(f)).unwrap();
    let nerd = read("sample-2-data-nerd.txt");
    assert!(
        nerd.starts_with(
            "Subject: Action needed: claim your Code for Philly account\n\nHi Dana <Nerd>,"
        ),
        "{nerd}"
    );
    assert!(nerd.contains("your username is data-nerd: the old Data_Nerd no longer works"));
    assert!(!read("sample-1-alice.txt").contains("your username is"));
    let html = read("sample-2-data-nerd.html");
    assert!(html.contains("Hi Dana &lt;Nerd&gt;,"), "{html}");
    assert!(html.contains("the old Data_Nerd no longer works"));
}

#[test]
fn t180_notice_goes_to_exactly_the_credentials_the_drain_would_delete() {
    let w = World::new(&[
        P::new(1, "old-unused")
            .email("a@example.com")
            .credential(None),
        P::new(2, "old-used")
            .email("b@example.com")
            .credential(Some("2026-09-01T00:00:00.000Z")),
        P::new(3, "recent")
            .email("c@example.com")
            .credential(None)
            .imported("2026-11-30T00:00:00.000Z"),
        P::new(4, "linked")
            .email("d@example.com")
            .github(5)
            .credential(None),
        P::new(5, "no-cred").email("e@example.com"),
        P::new(6, "gone")
            .email("f@example.com")
            .deleted()
            .credential(None),
        P::new(7, "no-profile").credential(None),
    ]);
    let json = w.path("t180.json");
    let o = run(w.mailer(&[
        "select",
        "--campaign=t180-drain-notice",
        "--older-than=30d",
        &format!("--json={}", json.display()),
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    assert_eq!(slugs(&o), ["old-unused"]);
    assert_eq!(
        skipped(&report(&json)),
        pairs(&[
            ("gone", "deleted"),
            ("linked", "github-linked"),
            ("no-cred", "no-legacy-credential"),
            ("no-profile", "no-private-profile"),
            ("old-used", "active-password"),
            ("recent", "credential-too-recent"),
        ])
    );
    let o = run(w.mailer(&[
        "select",
        "--campaign=t180-drain-notice",
        "--older-than=soon",
    ]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--older-than"), "{}", stderr(&o));
}

#[test]
fn rollback_apology_mails_the_affected_members_their_writes() {
    let w = World::new(&[
        P::new(1, "alice").name("Alice").email("alice@example.com"),
        P::new(2, "bob").email("bob@example.com").github(9),
        P::new(3, "carol"),
        P::new(4, "dora").email("dora@example.com"),
    ]);
    let affected = w.path("affected.ndjson");
    let line = |n: u32, slug: &str, writes: &str| {
        format!(
            r#"{{"v":1,"personId":"{}","slug":"{slug}","writes":[{writes}]}}"#,
            uuid(n)
        )
    };
    std::fs::write(
        &affected,
        [
            line(
                1,
                "alice",
                r#"{"path":"project-updates/x/1.toml","at":"2026-08-15T12:03:00Z"},{"path":"people/alice.toml","at":"2026-08-15T12:05:00Z"}"#,
            ),
            line(2, "bob", r#"{"path":"projects/bob-bot.toml"}"#),
            line(3, "carol", r#"{"path":"people/carol.toml"}"#),
            line(50, "newbie", r#"{"path":"people/newbie.toml"}"#),
        ]
        .join("\n")
            + "\n",
    )
    .unwrap();
    let arg = format!("--affected={}", affected.display());
    let o = run(w.mailer(&["select", "--campaign=rollback-apology"]));
    assert_eq!(code(&o), 2);
    assert!(stderr(&o).contains("--affected"), "{}", stderr(&o));

    let json = w.path("rb.json");
    let o = run(w.mailer(&[
        "select",
        "--campaign=rollback-apology",
        &arg,
        &format!("--json={}", json.display()),
    ]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    // GitHub-linked members wrote too: they are mailed; dora wrote nothing.
    assert_eq!(slugs(&o), ["alice", "bob"]);
    assert_eq!(
        skipped(&report(&json)),
        pairs(&[
            ("carol", "no-private-profile"),
            ("newbie", "no-private-profile")
        ])
    );

    let resend = resend();
    let o = run(w.send_cmd(&resend, &["--campaign=rollback-apology", &arg]));
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let emails = resend.emails();
    assert_eq!(emails.len(), 2);
    let alice = emails
        .iter()
        .find(|e| e.to == ["alice@example.com"])
        .unwrap();
    let text = alice.text.as_deref().unwrap();
    assert!(
        text.contains("2 of them were yours:\n\n- project-updates/x/1.toml (2026-08-15T12:03:00Z)\n- people/alice.toml (2026-08-15T12:05:00Z)\n"),
        "{text}"
    );
    assert!(text.contains("write to hello@codeforphilly.org"));
    assert!(!w.sent_log().contains("dora"));

    std::fs::write(
        &affected,
        line(1, "alice", "").replace("\"v\":1", "\"v\":2") + "\n",
    )
    .unwrap();
    let o = run(w.mailer(&["select", "--campaign=rollback-apology", &arg]));
    assert_eq!(code(&o), 2);
    assert!(
        stderr(&o).contains("affected.ndjson:1: not an affected-member line of version 1"),
        "{}",
        stderr(&o)
    );
}

/// Starts a send of `campaign` that Resend answers until it has accepted `batches` batches in
/// all, then kills it with SIGKILL while the next answer hangs.
fn kill_mid_campaign(
    w: &World,
    resend: &fixtures::resend::ResendServer,
    campaign: &[&str],
    batches: usize,
) {
    resend.hang_after_batch(batches, Duration::from_secs(60));
    let mut args = vec!["--batch-size=2"];
    args.extend_from_slice(campaign);
    let mut child = w
        .send_cmd(resend, &args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut waited = 0;
    while resend.accepted_batches() < batches {
        std::thread::sleep(Duration::from_millis(10));
        waited += 1;
        assert!(waited < 6000, "the mailer never reached batch {batches}");
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    resend.clear_hang();
}

#[test]
fn kill_9_mid_campaign_then_rerun_mails_everyone_once_per_campaign_on_one_sent_log() {
    let people = crowd(7);
    let w = World::new(&people);
    let resend = resend();
    let t7: &[&str] = &["--campaign=t7-announcement", "--cutover-date=2026-08-15"];
    let t90: &[&str] = &["--campaign=t90-reminder"];
    // T-7 dies with its second batch delivered but unheard; T+90 then dies the same way.
    kill_mid_campaign(&w, &resend, t7, 2);
    kill_mid_campaign(&w, &resend, t90, 4);
    let log = w.sent_log();
    assert_eq!(log.matches(r#""type":"intent""#).count(), 4, "{log}");
    assert_eq!(log.matches(r#""type":"sent""#).count(), 4, "{log}");

    for (campaign, args) in [("t90", t90), ("t7", t7), ("t90", t90), ("t7", t7)] {
        let mut a = vec!["--batch-size=2"];
        a.extend_from_slice(args);
        let o = run(w.send_cmd(&resend, &a));
        assert_eq!(code(&o), 0, "{campaign}: {}", stderr(&o));
        assert!(!stdout(&o).contains(KEY) && !stderr(&o).contains(KEY));
    }
    // Every address got exactly one mail of each campaign.
    let mut per: BTreeMap<(String, String), usize> = BTreeMap::new();
    for e in resend.emails() {
        let campaign = e
            .idempotency_key
            .unwrap()
            .split('/')
            .next()
            .unwrap()
            .to_owned();
        *per.entry((e.to[0].clone(), campaign)).or_default() += 1;
    }
    let expected: BTreeMap<(String, String), usize> = people
        .iter()
        .flat_map(|p| {
            let e = p.email.clone().unwrap();
            [
                ((e.clone(), "t7-announcement".to_owned()), 1),
                ((e, "t90-reminder".to_owned()), 1),
            ]
        })
        .collect();
    assert_eq!(per, expected);
    assert_eq!(
        resend.replays(),
        2,
        "each killed batch was replayed, not re-sent"
    );
    assert!(!w.sent_log().contains(KEY));
}
