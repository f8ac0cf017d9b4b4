//! reference/B §7 items 5–32 (translation and the orchestrator's dry-run counts), plus the
//! read-forward and reporting behaviour DESIGN §3 asks for.

use serde_json::{Value, json};
use translate::{
    Input, Options, Output, ProblemKind, ReadForward, Resource, Sequential, Sheet,
    build_read_forward, split_tag_handle, translate,
};

const NOW: &str = "2026-05-18T00:00:00.000Z";
const T0: i64 = 1377126953; // 2013-08-21T23:15:53Z
const T0_ISO: &str = "2013-08-21T23:15:53.000Z";
const PUBLISHED: i64 = 1746028800; // 2025-04-30T16:00:00Z

fn input(rows: &[(Resource, Value)]) -> Input {
    let mut input = Input::default();
    for (r, v) in rows {
        input.push(*r, v.clone(), None);
    }
    input
}

fn run(rows: &[(Resource, Value)]) -> Output {
    translate(
        &input(rows),
        &Options::new(NOW),
        &ReadForward::default(),
        &mut Sequential::default(),
    )
}

fn one(rows: &[(Resource, Value)], sheet: Sheet) -> (serde_json::Map<String, Value>, Output) {
    let out = run(rows);
    let recs = out.sheet(sheet);
    assert_eq!(
        recs.len(),
        1,
        "records of {sheet}: {recs:?}; warnings {:?}",
        out.warnings
    );
    (recs[0].clone(), out)
}

fn has(out: &Output, needle: &str) -> bool {
    out.warnings.iter().any(|w| w.contains(needle))
}

fn tag(id: i64, handle: &str, title: Value) -> (Resource, Value) {
    (
        Resource::Tags,
        json!({"ID": id, "Class": "Tag", "Handle": handle, "Title": title, "Created": T0}),
    )
}

// ---- tags --------------------------------------------------------------------------------

#[test]
fn t05_tag_topic_transit() {
    let (r, out) = one(&[tag(7, "topic.transit", json!("Transit"))], Sheet::Tags);
    assert_eq!(
        (r["namespace"].as_str(), r["slug"].as_str()),
        (Some("topic"), Some("transit"))
    );
    assert_eq!(r["title"], "Transit");
    assert_eq!(r["legacyId"], 7);
    assert_eq!(r["createdAt"], T0_ISO);
    assert_eq!(r["updatedAt"], T0_ISO);
    assert!(out.warnings.is_empty());
    let keys: Vec<&str> = r.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "createdAt",
            "id",
            "legacyId",
            "namespace",
            "slug",
            "title",
            "updatedAt"
        ]
    );
}

#[test]
fn t06_tag_recovered_from_title() {
    let (r, out) = one(
        &[tag(9, "topictransit", json!("topic.Transit"))],
        Sheet::Tags,
    );
    assert_eq!(
        (r["namespace"].as_str(), r["slug"].as_str()),
        (Some("topic"), Some("transit"))
    );
    assert_eq!(r["title"], "topic.Transit");
    assert_eq!(
        out.warnings,
        [
            "[tags] legacyId=9 handle \"topictransit\" had no namespace; recovered \"topic.transit\" from title"
        ]
    );
}

#[test]
fn t07_tag_cocoa_defaults_to_topic() {
    let (r, out) = one(&[tag(11, "cocoa", json!("cocoa"))], Sheet::Tags);
    assert_eq!(
        (r["namespace"].as_str(), r["slug"].as_str()),
        (Some("topic"), Some("cocoa"))
    );
    assert!(has(&out, "defaulted to topic"));
}

#[test]
fn t08_tag_underscores_become_dashes() {
    let (r, _) = one(
        &[tag(12, "topic.urban_design", json!("Urban Design"))],
        Sheet::Tags,
    );
    assert_eq!(r["slug"], "urban-design");
}

#[test]
fn t09_split_weird_foo_exact_warning() {
    let mut w = Vec::new();
    assert_eq!(
        split_tag_handle("weird.foo", None, 1, &mut w),
        ("topic", "weird.foo".to_owned())
    );
    assert_eq!(
        w,
        ["[tags] legacyId=1 handle \"weird.foo\" has no resolvable namespace; defaulted to topic"]
    );
    let (r, _) = one(&[tag(1, "weird.foo", Value::Null)], Sheet::Tags);
    assert_eq!(r["slug"], "weird-foo");
    assert_eq!(r["title"], "weird-foo");
}

#[test]
fn t10_tag_naloxone() {
    let (r, out) = one(&[tag(13, "naloxone", json!("Naloxone"))], Sheet::Tags);
    assert_eq!(r["namespace"], "topic");
    assert_eq!(
        out.warnings,
        ["[tags] legacyId=13 handle \"naloxone\" has no resolvable namespace; defaulted to topic"]
    );
}

#[test]
fn t11_tag_event_namespace() {
    let mut w = Vec::new();
    assert_eq!(
        split_tag_handle("event.ecocamp-2014", None, 1, &mut w),
        ("event", "ecocamp-2014".to_owned())
    );
    assert!(w.is_empty());
}

#[test]
fn tag_skips_are_counted_with_reference_warnings() {
    let out = run(&[tag(1, "  ", json!("x")), tag(2, "topic.___", json!("x"))]);
    assert_eq!(out.counts.get(Sheet::Tags).skipped, 2);
    assert_eq!(
        out.warnings,
        [
            "[tags] legacyId=1 has empty handle; skipped",
            "[tags] legacyId=2 slug \"___\" reduced to empty after sanitization; skipped",
        ]
    );
}

// ---- people ------------------------------------------------------------------------------

fn person(v: Value) -> (Resource, Value) {
    (Resource::People, v)
}

#[test]
fn t12_person_bobsmith() {
    let row = json!({"ID": 100, "Username": "BobSmith", "FirstName": "Bob", "LastName": "Smith", "Created": T0});
    let (r, out) = one(&[person(row)], Sheet::People);
    assert_eq!(r["slug"], "bobsmith");
    assert_eq!(r["slackSamlNameId"], "bobsmith");
    assert_eq!(r["fullName"], "Bob Smith");
    assert_eq!(r["legacyId"], 100);
    assert_eq!(r["accountLevel"], "user");
    assert_eq!(r["createdAt"], T0_ISO);
    assert_eq!(r["updatedAt"], T0_ISO);
    assert_eq!(
        out.warnings,
        ["[people] legacyId=100 slug \"BobSmith\" normalized to \"bobsmith\""]
    );
}

#[test]
fn t13_person_non_latin_username() {
    let (r, out) = one(
        &[person(json!({"ID": 200, "Username": "美洽下载"}))],
        Sheet::People,
    );
    assert_eq!(r["slug"], "legacy-200");
    assert_eq!(r["fullName"], "美洽下载");
    // No Created: the run clock; no Modified: createdAt.
    assert_eq!(r["createdAt"], NOW);
    assert_eq!(r["updatedAt"], NOW);
    assert!(has(&out, "slug \"美洽下载\" normalized to \"legacy-200\""));
}

#[test]
fn t14_person_bio_truncated() {
    let row = json!({"ID": 300, "Username": "spammer", "About": "a".repeat(11_000)});
    let (r, out) = one(&[person(row)], Sheet::People);
    assert_eq!(r["bio"].as_str().unwrap().len(), 10_000);
    assert_eq!(
        out.warnings,
        ["[people] legacyId=300 bio truncated from 11000 to 10000 chars"]
    );
}

#[test]
fn t15_person_account_levels() {
    let rows: Vec<_> = [
        ("Administrator", "administrator"),
        ("developer", "administrator"),
        ("Staff", "staff"),
        ("Editor", "staff"),
        ("Manager", "staff"),
        ("Disabled", "user"),
        ("User", "user"),
    ]
    .iter()
    .enumerate()
    .map(|(i, (lvl, _))| {
        person(json!({"ID": 400 + i, "Username": format!("u{i}x"), "AccountLevel": lvl}))
    })
    .collect();
    let out = run(&rows);
    let got: Vec<&str> = out
        .sheet(Sheet::People)
        .iter()
        .map(|r| r["accountLevel"].as_str().unwrap())
        .collect();
    assert_eq!(
        got,
        [
            "administrator",
            "administrator",
            "staff",
            "staff",
            "staff",
            "user",
            "user"
        ]
    );
}

#[test]
fn person_full_name_sources_and_truncation() {
    let long = "é".repeat(130);
    let out = run(&[
        person(
            json!({"ID": 1, "Username": "pref", "PreferredName": " Pat ", "FirstName": "Patricia"}),
        ),
        person(json!({"ID": 2, "Username": "onlylast", "LastName": "Lee"})),
        person(json!({"ID": 3, "Username": "nobody"})),
        person(json!({"ID": 4, "Username": "longname", "PreferredName": long})),
    ]);
    let names: Vec<String> = out
        .sheet(Sheet::People)
        .iter()
        .map(|r| r["fullName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(names[..3], ["Pat", "Lee", "nobody"]);
    assert_eq!(names[3].chars().count(), 120);
    assert!(has(
        &out,
        "[people] legacyId=4 fullName truncated from 130 to 120 chars"
    ));
}

#[test]
fn person_slug_dedup_and_an_invalid_slug_falls_back_to_the_legacy_id() {
    let out = run(&[
        person(json!({"ID": 1, "Username": "alice"})),
        person(json!({"ID": 2, "Username": "Alice"})),
        person(json!({"ID": 3, "Username": "j"})),
        person(json!({"ID": 4, "Username": "j"})),
    ]);
    let slugs: Vec<&str> = out
        .sheet(Sheet::People)
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    // The reference drops `j` (it throws); we keep the member under `legacy-<ID>`. The
    // rejected `j` stays reserved, as in the reference, so the second `j` is `j-2`.
    assert_eq!(slugs, ["alice", "alice-2", "legacy-3", "j-2"]);
    assert!(has(
        &out,
        "[people] legacyId=2 slug \"alice\" deduped to \"alice-2\""
    ));
    assert!(has(
        &out,
        "[people] legacyId=3 slug \"j\" is not a valid slug (got \"j\"); kept as \"legacy-3\""
    ));
    let c = out.counts.get(Sheet::People);
    assert_eq!((c.imported, c.skipped, c.errors), (4, 0, 0));
    assert!(out.problems.is_empty());
    assert_eq!(out.sheet(Sheet::People)[2]["slackSamlNameId"], "legacy-3");
}

// ---- projects ----------------------------------------------------------------------------

fn project(v: Value) -> (Resource, Value) {
    (Resource::Projects, v)
}

#[test]
fn t16_project_stage() {
    let (r, _) = one(
        &[project(
            json!({"ID": 1, "Handle": "my-project", "Title": "My Project", "Stage": "Prototyping", "Created": T0}),
        )],
        Sheet::Projects,
    );
    assert_eq!(r["stage"], "prototyping");
    let out = run(&[
        project(json!({"ID": 1, "Handle": "p1", "Stage": "Shipping"})),
        project(json!({"ID": 2, "Handle": "p2"})),
    ]);
    let stages: Vec<&str> = out
        .sheet(Sheet::Projects)
        .iter()
        .map(|r| r["stage"].as_str().unwrap())
        .collect();
    assert_eq!(stages, ["commenting", "commenting"]);
    assert_eq!(
        out.warnings,
        ["[projects] legacyId=1 stage \"Shipping\" not recognized; defaulting to \"commenting\""]
    );
}

#[test]
fn t17_project_chat_channel() {
    let (r, _) = one(
        &[project(
            json!({"ID": 2, "Handle": "p2", "Title": "P2", "ChatChannel": "#General Slack-Channel!"}),
        )],
        Sheet::Projects,
    );
    assert_eq!(r["chatChannel"], "general-slack-channel");
}

#[test]
fn t18_project_urls() {
    let row = json!({"ID": 3, "Handle": "p3", "Title": "P3", "UsersUrl": "http://insecure.example.com/",
                     "DevelopersUrl": "https://github.com/example/p3"});
    let (r, out) = one(&[project(row)], Sheet::Projects);
    assert!(r.get("usersUrl").is_none());
    assert_eq!(r["developersUrl"], "https://github.com/example/p3");
    assert!(
        out.warnings.is_empty(),
        "dropping http is silent: {:?}",
        out.warnings
    );
}

#[test]
fn project_maintainer_and_title() {
    let out = run(&[project(
        json!({"ID": 5, "Handle": "p5", "MaintainerID": 77, "Title": "t".repeat(201)}),
    )]);
    let r = &out.sheet(Sheet::Projects)[0];
    assert!(r.get("maintainerId").is_none());
    assert_eq!(r["title"].as_str().unwrap().len(), 200);
    assert_eq!(
        out.warnings,
        [
            "[projects] legacyId=5 MaintainerID=77 not found among imported people",
            "[projects] legacyId=5 title truncated from 201 to 200 chars",
        ]
    );
}

// ---- blog --------------------------------------------------------------------------------

fn post(extra: Value) -> (Resource, Value) {
    let mut row = json!({"ID": 900, "Class": "Emergence\\CMS\\BlogPost", "Handle": "hello-philly", "Title": "Hello Philly",
                         "Published": PUBLISHED, "Created": PUBLISHED, "Modified": PUBLISHED});
    for (k, v) in extra.as_object().unwrap() {
        row[k] = v.clone();
    }
    (Resource::Blog, row)
}

fn md(id: i64, order: i64, data: &str) -> Value {
    json!({"ID": id, "Class": "Emergence\\CMS\\Item\\Markdown", "Order": order, "Data": data})
}
fn media(id: i64, order: i64, media_id: u64, caption: &str) -> Value {
    json!({"ID": id, "Class": "Emergence\\CMS\\Item\\Media", "Order": order, "Data": {"MediaID": media_id, "Caption": caption}})
}
fn embed(id: i64, order: i64, html: &str) -> Value {
    json!({"ID": id, "Class": "Emergence\\CMS\\Item\\Embed", "Order": order, "Data": html})
}

#[test]
fn t19_blog_happy_path() {
    let (r, out) = one(
        &[post(json!({"items": [md(1, 1, "# Hello\n\nFirst post.")]}))],
        Sheet::BlogPosts,
    );
    assert_eq!(r["postedAt"], "2025-04-30T16:00:00.000Z");
    assert!(r.get("editedAt").is_none());
    assert_eq!(r["body"], "# Hello\n\nFirst post.");
    assert_eq!(r["slug"], "hello-philly");
    assert!(out.media.is_empty());
    assert!(out.warnings.is_empty());
}

#[test]
fn t20_blog_media_item() {
    let (r, out) = one(
        &[post(
            json!({"items": [media(200, 1, 3349, "2023 Launchpad kick-off")]}),
        )],
        Sheet::BlogPosts,
    );
    assert_eq!(r["body"], "![2023 Launchpad kick-off](cfp-media:3349)");
    assert_eq!(out.media.len(), 1);
    let a = &out.media[0];
    assert_eq!(
        (
            a.media_id,
            a.caption_slug.as_str(),
            a.owner_slug.as_str(),
            a.source_url.as_str()
        ),
        (
            3349,
            "2023-launchpad-kick-off",
            "hello-philly",
            "https://codeforphilly.org/media/3349/original"
        )
    );
}

#[test]
fn t21_blog_empty_caption() {
    let (r, out) = one(
        &[post(json!({"items": [media(200, 1, 3349, "  ")]}))],
        Sheet::BlogPosts,
    );
    assert_eq!(r["body"], "![](cfp-media:3349)");
    assert_eq!(out.media[0].caption_slug, "image");
}

#[test]
fn t22_blog_items_joined() {
    let items = json!([
        media(200, 1, 3349, "Kick-off"),
        md(201, 2, "Some **text**."),
        embed(
            202,
            3,
            "<a href=\"https://codeforphilly.org/thumbnail/1634/700x700\"><img></a><iframe src=\"https://www.youtube.com/embed/abc\"></iframe>"
        ),
    ]);
    let (r, out) = one(&[post(json!({"items": items}))], Sheet::BlogPosts);
    assert_eq!(
        r["body"],
        "![Kick-off](cfp-media:3349)\n\nSome **text**.\n\n<a href=\"cfp-media:1634\"><img></a><iframe src=\"https://www.youtube.com/embed/abc\"></iframe>"
    );
    let ids: Vec<u64> = out.media.iter().map(|m| m.media_id).collect();
    assert_eq!(ids, [3349, 1634]);
}

#[test]
fn t23_blog_inline_thumbnail_rewritten() {
    let (r, _) = one(
        &[post(
            json!({"items": [md(1, 1, "![hero](https://codeforphilly.org/thumbnail/2953/700x700)")]}),
        )],
        Sheet::BlogPosts,
    );
    assert_eq!(r["body"], "![hero](cfp-media:2953)");
}

#[test]
fn t24_blog_media_url_forms() {
    let text = "[a](https://codeforphilly.org/media/679) [b](https://codeforphilly.org/media/open/1379) [c](http://codeforphilly.org/sitedata/2200)";
    let (r, out) = one(
        &[post(json!({"items": [md(1, 1, text)]}))],
        Sheet::BlogPosts,
    );
    assert_eq!(
        r["body"],
        "[a](cfp-media:679) [b](cfp-media:1379) [c](cfp-media:2200)"
    );
    assert_eq!(out.media.len(), 3);
}

#[test]
fn t25_blog_items_sorted_by_order() {
    let (r, _) = one(
        &[post(
            json!({"items": [md(1, 3, "three"), md(2, 1, "one"), md(3, 2, "two")]}),
        )],
        Sheet::BlogPosts,
    );
    assert_eq!(r["body"], "one\n\ntwo\n\nthree");
}

#[test]
fn t26_blog_no_items_empty_body() {
    let (r, _) = one(&[post(json!({}))], Sheet::BlogPosts);
    assert_eq!(r["body"], "");
}

#[test]
fn t27_blog_unknown_class_warns_and_keeps_post() {
    let item = json!({"ID": 400, "Class": "Emergence\\CMS\\Item\\Album", "Order": 1, "Data": {}});
    let (r, out) = one(
        &[post(json!({"items": [item, md(401, 2, "kept")]}))],
        Sheet::BlogPosts,
    );
    assert_eq!(r["body"], "kept");
    assert_eq!(
        out.warnings,
        [
            "[blog-posts] legacyId=900 item=400 unknown Class \"Emergence\\\\CMS\\\\Item\\\\Album\"; skipped"
        ]
    );
    assert!(has(&out, "item=400"));
}

#[test]
fn t28_blog_slug_from_title() {
    let (r, _) = one(
        &[post(json!({"Handle": null, "Title": "A Hello Post"}))],
        Sheet::BlogPosts,
    );
    assert_eq!(r["slug"], "a-hello-post");
    let (r, _) = one(
        &[post(json!({"Handle": null, "Title": null, "ID": 41}))],
        Sheet::BlogPosts,
    );
    assert_eq!(r["title"], "Untitled Post #41");
    assert_eq!(r["slug"], "untitled-post-41");
}

#[test]
fn t29_blog_unresolved_author() {
    let (r, out) = one(
        &[post(json!({"ID": 12, "AuthorID": 555}))],
        Sheet::BlogPosts,
    );
    assert!(r.get("authorId").is_none());
    assert_eq!(
        out.warnings,
        ["[blog-posts] legacyId=12 author=555 unresolved; posting anonymously"]
    );
    assert!(has(&out, "legacyId=12"));
}

#[test]
fn t30_blog_edited_at() {
    let (r, _) = one(
        &[post(json!({"Modified": PUBLISHED + 3600}))],
        Sheet::BlogPosts,
    );
    assert_eq!(r["editedAt"], "2025-04-30T17:00:00.000Z");
    assert_eq!(r["updatedAt"], "2025-04-30T17:00:00.000Z");
    let (r, _) = one(
        &[post(json!({"Modified": PUBLISHED + 60}))],
        Sheet::BlogPosts,
    );
    assert!(r.get("editedAt").is_none());
}

#[test]
fn t31_blog_summary_truncated() {
    let (r, _) = one(
        &[post(json!({"Summary": "s".repeat(600)}))],
        Sheet::BlogPosts,
    );
    let s = r["summary"].as_str().unwrap();
    assert_eq!(s.encode_utf16().count(), 498);
    assert!(s.ends_with('…'));
    assert_eq!(&s[..497], "s".repeat(497));
}

// ---- orchestrator ------------------------------------------------------------------------

/// The §7 orchestrator fixture (A §6 payloads), deliberately in scrambled resource order.
fn fixture() -> Vec<(Resource, Value)> {
    vec![
        (
            Resource::Blog,
            json!({"ID": 900, "Class": "Emergence\\CMS\\BlogPost", "Handle": "hello-philly", "Title": "Hello Philly",
            "Summary": "A short hello.", "AuthorID": 10, "Published": T0, "Created": T0, "Modified": T0,
            "items": [md(1000, 1, "# Hello\n\nFirst blog post."), media(200, 2, 3349, "2023 Launchpad kick-off"),
                      embed(202, 3, "<iframe src=\"https://www.youtube.com/embed/abc\"></iframe>")]}),
        ),
        (
            Resource::ProjectBuzz,
            json!({"ID": 800, "Class": "Laddr\\ProjectBuzz", "ProjectID": 100, "CreatorID": 10,
            "Handle": "transit-app-on-tv", "Headline": "Transit App on TV", "URL": "https://news.example.com/transit-app",
            "Published": T0, "Created": T0, "ImageID": null, "Summary": null}),
        ),
        (
            Resource::ProjectUpdates,
            json!({"ID": 500, "Class": "Laddr\\ProjectUpdate", "ProjectID": 100, "CreatorID": 10,
            "Number": 1, "Body": "First update", "Created": T0, "Modified": null}),
        ),
        (
            Resource::Projects,
            json!({"ID": 100, "Class": "Laddr\\Project", "Handle": "transit-app", "Title": "Transit App",
            "MaintainerID": 10, "Stage": "Prototyping", "ChatChannel": "transit-app",
            "DevelopersUrl": "https://github.com/example/transit", "UsersUrl": null, "README": null, "NextUpdate": 2,
            "Created": T0, "Modified": T0,
            "Tags": [{"ID": 1, "Class": "Tag", "Handle": "topic.transit", "Title": "Transit"}],
            "Memberships": [
                {"ID": 999, "Class": "Laddr\\ProjectMember", "ProjectID": 100, "MemberID": 10, "Role": "Founder", "Created": T0},
                {"ID": 1000, "Class": "Laddr\\ProjectMember", "ProjectID": 100, "MemberID": 20, "Role": null, "Created": T0}]}),
        ),
        (
            Resource::People,
            json!({"ID": 10, "Class": "Emergence\\People\\User", "Username": "alice", "FirstName": "Alice",
            "LastName": "Anderson", "AccountLevel": "User", "Created": T0, "PrimaryPhotoID": 555, "Modified": null,
            "PreferredName": null, "Location": "Philadelphia", "About": "I like **maps**.", "Newsletter": true, "Twitter": null,
            "Tags": [{"ID": 2, "Class": "Tag", "Handle": "tech.javascript", "Title": "JavaScript"}]}),
        ),
        (
            Resource::People,
            json!({"ID": 20, "Class": "Emergence\\People\\User", "Username": "bob", "FirstName": "Bob",
            "LastName": "Brown", "AccountLevel": "Staff", "Created": T0}),
        ),
        (
            Resource::Tags,
            json!({"ID": 1, "Class": "Tag", "Handle": "topic.transit", "Title": "Transit", "Created": T0,
            "CreatorID": null, "Description": null}),
        ),
        (
            Resource::Tags,
            json!({"ID": 2, "Class": "Tag", "Handle": "tech.javascript", "Title": "JavaScript", "Created": T0}),
        ),
    ]
}

#[test]
fn t32_orchestrator_counts() {
    let out = run(&fixture());
    let counts: Vec<(u64, u64, u64)> = Sheet::ALL
        .iter()
        .map(|s| {
            let c = out.counts.get(*s);
            (c.imported, c.skipped, c.errors)
        })
        .collect();
    // tags, people, projects, memberships, updates, buzz, blog-posts, tag-assignments.
    assert_eq!(
        counts,
        [
            (2, 0, 0),
            (2, 0, 0),
            (1, 0, 0),
            (2, 0, 0),
            (1, 0, 0),
            (1, 0, 0),
            (1, 0, 0),
            (2, 0, 0)
        ]
    );
    assert!(out.problems.is_empty(), "{:?}", out.problems);
    // The buzz slug is its laddr Handle (a valid buzz slug, reference F §2): nothing to
    // normalise, so no warning.
    assert!(out.warnings.is_empty(), "{:?}", out.warnings);
    for s in Sheet::ALL {
        assert_eq!(out.sheet(s).len() as u64, out.counts.get(s).imported);
    }
    assert_eq!(
        serde_json::to_string(&out.counts).unwrap(),
        concat!(
            r#"{"tags":{"imported":2,"skipped":0,"errors":0},"people":{"imported":2,"skipped":0,"errors":0},"#,
            r#""projects":{"imported":1,"skipped":0,"errors":0},"project-memberships":{"imported":2,"skipped":0,"errors":0},"#,
            r#""project-updates":{"imported":1,"skipped":0,"errors":0},"project-buzz":{"imported":1,"skipped":0,"errors":0},"#,
            r#""blog-posts":{"imported":1,"skipped":0,"errors":0},"tag-assignments":{"imported":2,"skipped":0,"errors":0}}"#
        )
    );
}

#[test]
fn orchestrator_record_contents() {
    let out = run(&fixture());
    let by_legacy = |s: Sheet, l: i64| {
        out.sheet(s)
            .iter()
            .find(|r| r["legacyId"] == l)
            .unwrap()
            .clone()
    };
    let alice = by_legacy(Sheet::People, 10);
    let bob = by_legacy(Sheet::People, 20);
    let app = by_legacy(Sheet::Projects, 100);
    assert_eq!(alice["slackSamlNameId"], "alice");
    assert_eq!(bob["accountLevel"], "staff");
    assert_eq!(
        (
            app["stage"].as_str(),
            app["legacyId"].as_i64(),
            app["chatChannel"].as_str()
        ),
        (Some("prototyping"), Some(100), Some("transit-app"))
    );
    assert_eq!(app["maintainerId"], alice["id"]);

    let ms = out.sheet(Sheet::ProjectMemberships);
    let keys: Vec<&str> = ms[0].keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "createdAt",
            "id",
            "isMaintainer",
            "joinedAt",
            "personId",
            "personSlug",
            "projectId",
            "projectSlug",
            "role",
            "updatedAt"
        ]
    );
    assert_eq!(
        (
            ms[0]["personSlug"].as_str(),
            ms[0]["role"].as_str(),
            ms[0]["isMaintainer"].as_bool()
        ),
        (Some("alice"), Some("Founder"), Some(true))
    );
    assert_eq!(
        (
            ms[1]["personSlug"].as_str(),
            ms[1].get("role"),
            ms[1]["isMaintainer"].as_bool()
        ),
        (Some("bob"), None, Some(false))
    );
    assert_eq!(ms[1]["projectSlug"], "transit-app");
    assert_eq!(ms[1]["joinedAt"], T0_ISO);

    let u = &out.sheet(Sheet::ProjectUpdates)[0];
    let keys: Vec<&str> = u.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "authorId",
            "body",
            "createdAt",
            "id",
            "legacyId",
            "number",
            "projectId",
            "projectSlug",
            "updatedAt"
        ]
    );
    assert_eq!(
        (
            u["number"].as_i64(),
            u["projectSlug"].as_str(),
            u["body"].as_str()
        ),
        (Some(1), Some("transit-app"), Some("First update"))
    );
    assert_eq!(u["authorId"], alice["id"]);

    let b = &out.sheet(Sheet::ProjectBuzz)[0];
    let keys: Vec<&str> = b.keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "createdAt",
            "headline",
            "id",
            "legacyId",
            "postedById",
            "projectId",
            "projectSlug",
            "publishedAt",
            "slug",
            "updatedAt",
            "url"
        ]
    );
    assert_eq!(b["slug"], "transit-app-on-tv");
    assert_eq!(b["url"], "https://news.example.com/transit-app");

    let ta = out.sheet(Sheet::TagAssignments);
    let keys: Vec<&str> = ta[0].keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        ["createdAt", "id", "tagId", "taggableId", "taggableType"]
    );
    let kinds: Vec<&str> = ta
        .iter()
        .map(|r| r["taggableType"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["person", "project"]);
    // Embedded tags carry no Created here: the run clock (B §3 churn note).
    assert_eq!(ta[0]["createdAt"], NOW);
    assert_eq!(ta[0]["taggableId"], alice["id"]);

    let post = &out.sheet(Sheet::BlogPosts)[0];
    assert_eq!(post["authorId"], alice["id"]);
    assert_eq!(out.media.len(), 1);
    assert_eq!(out.avatars.len(), 1);
    assert_eq!(
        (
            out.avatars[0].slug.as_str(),
            out.avatars[0].primary_photo_id
        ),
        ("alice", 555)
    );

    // Nothing private: no email-like text, no hash pattern anywhere (§7 item 33's check).
    let all = serde_json::to_string(&out.records.values().collect::<Vec<_>>()).unwrap();
    assert!(!all.contains('@'));
    assert!(!["$2a$", "$2b$", "$2y$"].iter().any(|p| all.contains(p)));
}

#[test]
fn input_order_does_not_matter() {
    let a = run(&fixture());
    // Interleave differently but keep per-resource order.
    let mut per: std::collections::BTreeMap<Resource, Vec<Value>> = Default::default();
    for (res, v) in fixture() {
        per.entry(res).or_default().push(v);
    }
    let mut interleaved = Vec::new();
    for res in [
        Resource::Blog,
        Resource::ProjectBuzz,
        Resource::People,
        Resource::Projects,
        Resource::Tags,
        Resource::ProjectUpdates,
    ] {
        for v in &per[&res] {
            interleaved.push((res, v.clone()));
        }
    }
    let b = run(&interleaved);
    assert_eq!(a.records, b.records);
    assert_eq!(a.warnings, b.warnings);
}

// ---- read-forward ------------------------------------------------------------------------

#[test]
fn rerun_with_read_forward_is_identical() {
    let first = run(&fixture());
    let rf = build_read_forward(&first.as_existing());
    // Different mint sequence: any id not read forward would differ.
    let second = translate(
        &input(&fixture()),
        &Options::new(NOW),
        &rf,
        &mut Sequential { next: 1000 },
    );
    assert_eq!(first.records, second.records);
    // Every record's id came from the map (memberships and tag-assignments included).
    assert_eq!(
        rf.len(),
        Sheet::ALL
            .iter()
            .map(|s| first.sheet(*s).len())
            .sum::<usize>()
    );
}

#[test]
fn read_forward_needs_only_its_listed_fields() {
    // Callers may drop every other field of the parent tree's records (sheet-write does, to
    // keep a full snapshot's re-run small): the re-translation must not change.
    let first = run(&fixture());
    let mut slim = first.as_existing();
    for records in slim.values_mut() {
        for r in records.iter_mut() {
            r.retain(|k, _| translate::READ_FORWARD_FIELDS.contains(&k.as_str()));
        }
    }
    let second = translate(
        &input(&fixture()),
        &Options::new("2030-01-01T00:00:00.000Z"),
        &build_read_forward(&slim),
        &mut Sequential { next: 1000 },
    );
    assert_eq!(first.records, second.records);
}

#[test]
fn clock_fallbacks_are_read_forward_too() {
    // The fixture's embedded tags carry no Created, so tag-assignment createdAt is the run
    // clock. A later run at another clock keeps the parent tree's value: no churn.
    let first = run(&fixture());
    let rf = build_read_forward(&first.as_existing());
    let later = Options::new("2026-06-01T12:00:00.000Z");
    let second = translate(
        &input(&fixture()),
        &later,
        &rf,
        &mut Sequential { next: 1000 },
    );
    assert_eq!(first.records, second.records);
    // Without the parent tree the new clock shows.
    let fresh = translate(
        &input(&fixture()),
        &later,
        &ReadForward::default(),
        &mut Sequential::default(),
    );
    assert_eq!(
        fresh.sheet(Sheet::TagAssignments)[0]["createdAt"],
        "2026-06-01T12:00:00.000Z"
    );
}

#[test]
fn renamed_username_keeps_id() {
    let first = run(&fixture());
    let rf = build_read_forward(&first.as_existing());
    let mut rows = fixture();
    for (res, v) in &mut rows {
        if *res == Resource::People && v["ID"] == 10 {
            v["Username"] = json!("alice-renamed");
        }
    }
    let second = translate(
        &input(&rows),
        &Options::new(NOW),
        &rf,
        &mut Sequential { next: 1000 },
    );
    let find = |o: &Output| {
        o.sheet(Sheet::People)
            .iter()
            .find(|r| r["legacyId"] == 10)
            .unwrap()
            .clone()
    };
    let (a, b) = (find(&first), find(&second));
    assert_eq!(a["id"], b["id"]);
    assert_eq!(b["slug"], "alice-renamed");
    // The composite-path child moves with it and keeps its id too.
    let m = |o: &Output| {
        o.sheet(Sheet::ProjectMemberships)
            .iter()
            .find(|r| r["personId"] == a["id"])
            .unwrap()
            .clone()
    };
    assert_eq!(m(&first)["id"], m(&second)["id"]);
    assert_eq!(m(&second)["personSlug"], "alice-renamed");
    // Everything else is unchanged.
    for s in [
        Sheet::Tags,
        Sheet::Projects,
        Sheet::ProjectUpdates,
        Sheet::ProjectBuzz,
        Sheet::BlogPosts,
        Sheet::TagAssignments,
    ] {
        assert_eq!(first.sheet(s), second.sheet(s), "{s}");
    }
}

// ---- reporting beyond the reference (DESIGN §3) -----------------------------------------

#[test]
fn validation_failure_names_the_record() {
    let out = run(&[(Resource::ProjectBuzz, json!({}))]);
    assert_eq!(out.problems[0].kind, ProblemKind::InvalidRow);
    let long = "h".repeat(201);
    let mut rows = fixture();
    rows.push((
        Resource::ProjectBuzz,
        json!({"ID": 801, "ProjectID": 100, "Headline": long, "URL": "http://x.org/a"}),
    ));
    let out = run(&rows);
    let c = out.counts.get(Sheet::ProjectBuzz);
    assert_eq!((c.imported, c.errors), (1, 1));
    let p = &out.problems[0];
    assert_eq!(
        (p.kind, p.legacy_id, p.sheet),
        (ProblemKind::Validation, Some(801), Sheet::ProjectBuzz)
    );
    assert_eq!(
        p.message,
        "[project-buzz] zod validation failed: legacyId=801: headline: Too big: expected string to have <=200 characters"
    );
    assert!(out.warnings.contains(&p.message));
}

#[test]
fn pii_guard_refuses_and_counts() {
    let mut rows = fixture();
    for (res, v) in &mut rows {
        if *res == Resource::People && v["ID"] == 20 {
            v["About"] = json!("reach me at bob@example.com");
        }
    }
    let out = run(&rows);
    let c = out.counts.get(Sheet::People);
    assert_eq!((c.imported, c.errors), (1, 1));
    assert_eq!(
        out.problems[0].message,
        "[people] pii guard refused legacyId=20: field \"bio\" contains an email-like address (b***@example.com); not written"
    );
    // bob is not written, so nothing may reference him: his membership is skipped.
    assert!(has(
        &out,
        "[project-memberships] project=100 person=20 — unresolved FK; skipped"
    ));
    assert_eq!(out.sheet(Sheet::ProjectMemberships).len(), 1);
}

#[test]
fn free_text_emails_can_be_kept_with_a_warning() {
    let mut rows = fixture();
    for (res, v) in &mut rows {
        if *res == Resource::People && v["ID"] == 20 {
            v["About"] = json!("reach me at bob@example.com");
        }
    }
    let mut opts = Options::new(NOW);
    opts.pii.free_text_emails = false;
    let out = translate(
        &input(&rows),
        &opts,
        &ReadForward::default(),
        &mut Sequential::default(),
    );
    assert_eq!(out.counts.get(Sheet::People).imported, 2);
    assert!(!out.has_errors());
    assert!(has(
        &out,
        "[people] legacyId=20 field \"bio\" contains an email-like address (b***@example.com); kept (free text)"
    ));
}

#[test]
fn failed_row_already_in_fk_maps_is_reported_when_referenced() {
    let mut rows = fixture();
    for (res, v) in &mut rows {
        if *res == Resource::People && v["ID"] == 20 {
            v["Modified"] = json!(9.9e12);
        }
    }
    let out = run(&rows);
    assert!(has(
        &out,
        "[people] legacyId=20 translator threw: Invalid time value"
    ));
    // Not in the parent tree, so not kept: references to it are unresolved, never dangling.
    assert!(has(
        &out,
        "[project-memberships] project=100 person=20 — unresolved FK; skipped"
    ));
    assert!(out.kept_stale.is_empty());
}

#[test]
fn a_failed_row_with_a_parent_record_keeps_it_and_its_references() {
    let mut rows = fixture();
    for (res, v) in &mut rows {
        if *res == Resource::People && v["ID"] == 20 {
            v["Modified"] = json!(9.9e12);
        }
    }
    let mut rf = ReadForward::default();
    let bob = "01900000-0000-7000-8000-0000000000b0";
    rf.insert("people/20", bob);
    rf.insert_slug("people/20", "bob");
    let out = translate(
        &input(&rows),
        &Options::new(NOW),
        &rf,
        &mut Sequential::default(),
    );
    assert_eq!(out.kept_stale.len(), 1);
    let k = &out.kept_stale[0];
    assert_eq!(
        (k.sheet, k.legacy_id, k.id.as_str()),
        (Sheet::People, 20, bob)
    );
    assert_eq!(k.reason, "translator threw: Invalid time value");
    let c = out.counts.get(Sheet::People);
    assert_eq!((c.imported, c.skipped, c.kept_stale), (1, 1, 1));
    assert!(has(
        &out,
        "[people] legacyId=20 kept from the parent tree unchanged (translator threw: Invalid time value)"
    ));
    // The kept record is still a target: bob's membership is written, pointing at it.
    let m: Vec<&str> = out
        .sheet(Sheet::ProjectMemberships)
        .iter()
        .filter(|m| m["personId"] == bob)
        .map(|m| m["personSlug"].as_str().unwrap())
        .collect();
    assert_eq!(m, ["bob"]);
}

#[test]
fn duplicate_membership_and_tag_collision_are_reported() {
    let mut rows = fixture();
    rows.push(tag(3, "topic.Transit", json!("Transit again")));
    for (res, v) in &mut rows {
        if *res == Resource::Projects {
            let dup = v["Memberships"][1].clone();
            v["Memberships"].as_array_mut().unwrap().push(dup);
        }
    }
    let out = run(&rows);
    // Both carry the namespace in their handle: the lowest ID survives, 3 merges into it.
    assert!(has(
        &out,
        "[tags] legacyId=3 resolves to \"topic/transit\" as legacyId=1 does; merged into it"
    ));
    assert_eq!(out.merges.len(), 1);
    assert_eq!(
        (out.merges[0].survivor, &out.merges[0].merged),
        (1, &vec![3])
    );
    assert!(has(
        &out,
        "[project-memberships] key=project-memberships/100-20 is the same membership project=100 person=20 as key=project-memberships/100-20; collapsed into the first"
    ));
    let c = out.counts.get(Sheet::ProjectMemberships);
    assert_eq!((c.imported, c.skipped), (2, 1));
    let t = out.counts.get(Sheet::Tags);
    assert_eq!((t.imported, t.skipped), (2, 1));
    assert_eq!(out.sheet(Sheet::Tags).len(), 2);
    // The project's tag-assignment targets the survivor, which is written.
    let transit = out
        .sheet(Sheet::Tags)
        .iter()
        .find(|t| t["legacyId"] == 1)
        .unwrap();
    let assigned: Vec<&Value> = out
        .sheet(Sheet::TagAssignments)
        .iter()
        .map(|a| &a["tagId"])
        .collect();
    assert!(assigned.contains(&&transit["id"]));
}

#[test]
fn namespace_recovery_collision_merges_into_the_handle_that_carries_it() {
    let mut rows = fixture();
    // 2 is the reference's recovered form of 1 (B §2.1); it has the lower ID but its handle
    // has no namespace, so 1 survives. Both tag the project; the assignments collapse.
    rows.push(tag(0, "topictransit", json!("topic.Transit")));
    for (res, v) in &mut rows {
        if *res == Resource::Projects {
            v["Tags"]
                .as_array_mut()
                .unwrap()
                .push(json!({"ID": 0, "Created": T0}));
        }
    }
    let out = run(&rows);
    assert_eq!(
        (out.merges[0].survivor, &out.merges[0].merged),
        (1, &vec![0])
    );
    let transit_id = &out
        .sheet(Sheet::Tags)
        .iter()
        .find(|t| t["legacyId"] == 1)
        .unwrap()["id"];
    let project_tags: Vec<&Value> = out
        .sheet(Sheet::TagAssignments)
        .iter()
        .filter(|a| a["taggableType"] == "project")
        .map(|a| &a["tagId"])
        .collect();
    assert_eq!(project_tags, [transit_id]);
    let a = out.counts.get(Sheet::TagAssignments);
    assert_eq!(a.skipped, 1, "the duplicate assignment collapsed");
}

#[test]
fn unresolved_fks_use_reference_formats() {
    let out = run(&[
        (
            Resource::ProjectUpdates,
            json!({"ID": 501, "ProjectID": 388, "Number": 1, "Body": "x"}),
        ),
        (
            Resource::ProjectBuzz,
            json!({"ID": 118, "ProjectID": 388, "URL": "https://x.org/", "Headline": "h"}),
        ),
        project(json!({"ID": 7, "Handle": "p7", "Tags": [{"ID": 99}],
                       "Memberships": [{"ProjectID": 7, "MemberID": 42, "Created": T0}]})),
        (
            Resource::ProjectBuzz,
            json!({"ID": 119, "ProjectID": 7, "URL": "mailto:x", "Headline": "h"}),
        ),
    ]);
    assert_eq!(
        out.warnings,
        [
            "[tag-assignments] tag legacyId=99 not in tag map; skipped",
            "[project-memberships] project=7 person=42 — unresolved FK; skipped",
            "[project-updates] legacyId=501 project=388 — unresolved FK; skipped",
            // Slugs are planned for every row of a resolvable project before any is read.
            "[project-buzz:p7] legacyId=119 slug \"h\" is not a valid slug (got \"h\"); kept as \"buzz-119\"",
            "[project-buzz] legacyId=118 project=388 — unresolved FK; skipped",
            "[project-buzz] legacyId=119 missing/invalid URL; skipped",
        ]
    );
    for s in [
        Sheet::ProjectMemberships,
        Sheet::ProjectUpdates,
        Sheet::TagAssignments,
    ] {
        assert_eq!(out.counts.get(s).skipped, 1, "{s}");
    }
    assert_eq!(out.counts.get(Sheet::ProjectBuzz).skipped, 2);
    assert!(!out.has_errors());
}

#[test]
fn buzz_slug_scope_is_per_project_and_short_headline_falls_back() {
    let mut rows = fixture();
    rows.push((Resource::ProjectBuzz, json!({"ID": 801, "ProjectID": 100, "Headline": "Transit App on TV", "URL": "http://x.org/"})));
    rows.push((
        Resource::ProjectBuzz,
        json!({"ID": 802, "ProjectID": 100, "Headline": "X", "URL": "http://x.org/"}),
    ));
    let out = run(&rows);
    let slugs: Vec<&str> = out
        .sheet(Sheet::ProjectBuzz)
        .iter()
        .map(|r| r["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        slugs,
        ["transit-app-on-tv", "transit-app-on-tv-2", "buzz-802"]
    );
    assert!(has(
        &out,
        "[project-buzz:transit-app] legacyId=801 slug \"transit-app-on-tv\" deduped to \"transit-app-on-tv-2\""
    ));
    // The reference aborts the whole run here; we keep the buzz under `buzz-<ID>` and say so.
    assert!(has(
        &out,
        "[project-buzz:transit-app] legacyId=802 slug \"X\" is not a valid slug (got \"x\"); kept as \"buzz-802\""
    ));
    assert!(out.problems.is_empty());
    assert_eq!(out.counts.get(Sheet::ProjectBuzz).skipped, 0);
    assert_eq!(out.sheet(Sheet::ProjectBuzz)[2]["headline"], "X");
}

#[test]
fn wrong_typed_field_and_bad_timestamp_are_counted() {
    let out = run(&[
        person(json!({"ID": 1, "Username": "ok1", "FirstName": 5})),
        person(json!({"ID": 2, "Username": "ok2", "Created": 9.0e12})),
        person(json!({"ID": 2, "Username": "dup"})),
    ]);
    let msgs: Vec<&str> = out.problems.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        msgs,
        [
            "[people] legacyId=1 translator threw: FirstName: expected a string, received number",
            "[people] legacyId=2 translator threw: Invalid time value",
        ]
    );
    assert!(has(
        &out,
        "[people] legacyId=2 duplicate row in input; skipped"
    ));
    assert_eq!(out.counts.get(Sheet::People).skipped, 3);
}

#[test]
fn update_numbers_fall_back_and_collide() {
    let mut rows = fixture();
    rows.push((
        Resource::ProjectUpdates,
        json!({"ID": 501, "ProjectID": 100, "Number": 0, "Body": "  "}),
    ));
    rows.push((
        Resource::ProjectUpdates,
        json!({"ID": 502, "ProjectID": 100, "Number": 1, "Body": "again"}),
    ));
    let out = run(&rows);
    let ups = out.sheet(Sheet::ProjectUpdates);
    let got: Vec<(i64, i64, &str)> = ups
        .iter()
        .map(|r| {
            (
                r["legacyId"].as_i64().unwrap(),
                r["number"].as_i64().unwrap(),
                r["body"].as_str().unwrap(),
            )
        })
        .collect();
    // No update is dropped: 502 repeats 500's number, so it is numbered by its laddr ID.
    assert_eq!(
        got,
        [
            (500, 1, "First update"),
            (501, 2, "(no body)"),
            (502, 502, "again")
        ]
    );
    assert!(has(
        &out,
        "[project-updates] legacyId=502 number 1 is already legacyId=500's in its project; numbered 502"
    ));
}

#[test]
fn unreadable_row_is_counted_not_fatal() {
    // A lone surrogate escape: valid for JS, not for serde_json's strings.
    let text = concat!(
        r#"{"v":1,"resource":"tags","row":{"ID":1,"Handle":"topic.a","Title":"\ud800"}}"#,
        "\n",
        r#"{"v":1,"resource":"tags","row":{"ID":2,"Handle":"topic.b"}}"#,
        "\n",
    );
    let input = Input::read(text.as_bytes()).expect("a bad row must not fail the whole input");
    let out = translate(
        &input,
        &Options::new(NOW),
        &ReadForward::default(),
        &mut Sequential::default(),
    );
    assert_eq!(out.counts.get(Sheet::Tags).imported, 1);
    assert_eq!(out.counts.get(Sheet::Tags).skipped, 1);
    let p = &out.problems[0];
    assert_eq!((p.kind, p.line), (ProblemKind::InvalidRow, Some(1)));
    assert!(
        p.message
            .starts_with("[tags] row is not a JSON object we can read ("),
        "{}",
        p.message
    );
    assert!(
        p.message.ends_with(" (input line 1); skipped"),
        "{}",
        p.message
    );
}

/// A failed row leaves only its own sheet's FK map: a buzz with laddr ID 100 failing does not
/// unresolve project 100 (IDs repeat across resources).
#[test]
fn a_failed_row_unresolves_only_its_own_sheet() {
    let mut rows = fixture();
    rows.push((
        Resource::ProjectBuzz,
        json!({"ID": 100, "ProjectID": 100, "URL": "https://x.org/", "Headline": "h".repeat(201)}),
    ));
    rows.push((
        Resource::ProjectBuzz,
        json!({"ID": 101, "ProjectID": 100, "URL": "https://x.org/b", "Headline": "Later buzz"}),
    ));
    let out = run(&rows);
    let c = out.counts.get(Sheet::ProjectBuzz);
    assert_eq!((c.imported, c.errors), (2, 1));
    assert!(
        out.sheet(Sheet::ProjectBuzz)
            .iter()
            .any(|b| b["legacyId"] == 101)
    );
}
