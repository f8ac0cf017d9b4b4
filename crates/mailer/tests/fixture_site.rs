//! Every campaign's recipients on the fixture site (`fixtures::laddr`, small scale): its people
//! translated into a real bare data repo as the importer writes them, a private store with
//! shared addresses, newsletter opt-outs, missing profiles and legacy credentials, and its
//! laddr usernames; the mailer's choices are checked against the rules applied here.

mod common;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use common::{KEY, code, lines, resend, stderr};
use fixtures::data_repo::git;
use fixtures::laddr::{Scale, generate};

struct Member {
    legacy_id: i64,
    id: String,
    slug: String,
    username: Option<String>,
}

/// The site's people on `published` of a bare repo, in one `sheets` commit.
fn import_people(site: &fixtures::laddr::Site, root: &Path) -> Vec<Member> {
    let work = root.join("work");
    std::fs::create_dir_all(work.join(".gitsheets")).unwrap();
    let template = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/data-repo-template/.gitsheets/people.toml");
    std::fs::copy(template, work.join(".gitsheets/people.toml")).unwrap();
    git(&work, &["init", "-q", "-b", "empty"]);
    git(&work, &["add", "-A"]);
    git(&work, &["commit", "-q", "-m", "configs"]);
    let bare = root.join("data.git");
    git(root, &["clone", "-q", "--bare", "work", "data.git"]);

    let mut input = translate::Input::default();
    for row in &site.people {
        input.push(translate::Resource::People, row.clone(), None);
    }
    let out = translate::translate(
        &input,
        &translate::Options::new("2026-05-18T00:00:00.000Z"),
        &translate::ReadForward::default(),
        &mut translate::Sequential::default(),
    );
    let data = sheets::DataRepo::open(&bare).unwrap();
    let parent = data.parent_for("published", &["empty"]).unwrap();
    let mut tx = sheets::Transaction::begin(&data, parent).unwrap();
    let configs = data.sheet_configs(tx.base_tree()).unwrap();
    let config = &configs[&translate::Sheet::People.to_string()];
    let records = out.sheet(translate::Sheet::People);
    let mut files = BTreeMap::new();
    for r in records {
        let path = config.record_path(r).unwrap();
        files.insert(
            path[config.root.len() + 1..].to_owned(),
            config.encode(r).unwrap(),
        );
    }
    tx.edit().replace_dir(&config.root, files).unwrap();
    tx.commit(&sheets::CommitSpec::new("import people"))
        .unwrap();
    tx.finish().unwrap();
    git(&bare, &["fsck", "--strict"]);

    let usernames: HashMap<i64, String> = site
        .people
        .iter()
        .filter_map(|r| {
            Some((
                fixtures::laddr::row_id(r)?,
                r.get("Username")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let mut members: Vec<Member> = records
        .iter()
        .map(|r| {
            let legacy_id = r["legacyId"].as_i64().unwrap();
            Member {
                legacy_id,
                id: r["id"].as_str().unwrap().to_owned(),
                slug: r["slug"].as_str().unwrap().to_owned(),
                username: usernames.get(&legacy_id).cloned(),
            }
        })
        .collect();
    // The data repo's order: file names, bytewise.
    members.sort_by(|a, b| format!("{}.toml", a.slug).cmp(&format!("{}.toml", b.slug)));
    members
}

/// The address of a member: its own, except every 10th shares its predecessor's (other case).
fn address(m: &Member) -> String {
    let n = if m.legacy_id % 10 == 0 {
        m.legacy_id - 1
    } else {
        m.legacy_id
    };
    if m.legacy_id % 10 == 0 {
        format!("Member{n}@Example.org")
    } else {
        format!("member{n}@example.org")
    }
}

fn has_profile(m: &Member) -> bool {
    m.legacy_id % 13 != 0
}

fn has_credential(m: &Member) -> bool {
    m.legacy_id % 3 == 0
}

fn used_credential(m: &Member) -> bool {
    m.legacy_id % 6 == 0
}

fn write_store(members: &[Member], dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let mut profiles = String::new();
    let mut creds = String::new();
    for m in members {
        if has_profile(m) {
            let newsletter = if m.legacy_id % 4 == 0 {
                r#"{"optedIn":false,"optedInAt":null,"optedOutAt":"2026-06-01T00:00:00.000Z"}"#
            } else {
                "null"
            };
            profiles.push_str(&format!(
                r#"{{"personId":"{}","email":"{}","emailRefreshedAt":"2026-05-18T00:00:00.000Z","newsletter":{newsletter},"updatedAt":"2026-05-18T00:00:00.000Z"}}"#,
                m.id,
                address(m)
            ));
            profiles.push('\n');
        }
        if has_credential(m) {
            let used = if used_credential(m) {
                "\"2026-07-01T00:00:00.000Z\""
            } else {
                "null"
            };
            creds.push_str(&format!(
                r#"{{"personId":"{}","passwordHash":"$2y$10$abcdefghijklmnopqrstuv","importedAt":"2026-05-18T00:00:00.000Z","lastUsedAt":{used}}}"#,
                m.id
            ));
            creds.push('\n');
        }
    }
    std::fs::write(dir.join("profiles.jsonl"), profiles).unwrap();
    std::fs::write(dir.join("legacy-passwords.jsonl"), creds).unwrap();
}

/// The rules applied by hand: the slugs that get the mail, in order.
fn expected(members: &[Member], extra: impl Fn(&Member) -> bool) -> Vec<String> {
    let mut seen = BTreeSet::new();
    members
        .iter()
        .filter(|m| extra(m) && has_profile(m))
        .filter(|m| seen.insert(address(m).to_lowercase()))
        .map(|m| m.slug.clone())
        .collect()
}

#[test]
fn every_campaign_picks_exactly_its_members_on_the_fixture_site() {
    let site = generate(1, Scale::Small);
    let tmp = tempfile::tempdir().unwrap();
    let members = import_people(&site, tmp.path());
    write_store(&members, &tmp.path().join("private"));
    let laddr_path = tmp.path().join("people.ndjson");
    let laddr: String = site
        .people
        .iter()
        .map(|row| {
            format!(
                "{}\n",
                serde_json::json!({"v": 1, "resource": "people", "row": row})
            )
        })
        .collect();
    std::fs::write(&laddr_path, laddr).unwrap();
    let laddr_arg = format!("--laddr={}", laddr_path.display());
    let mailer = |args: &[&str]| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_mailer"));
        c.args(args)
            .env_remove("RESEND_API_KEY")
            .env_remove("CFP_DATA_BRANCH")
            .env("CFP_DATA_REPO_PATH", tmp.path().join("data.git"))
            .env("STORAGE_BACKEND", "filesystem")
            .env("CFP_PRIVATE_STORAGE_PATH", tmp.path().join("private"));
        c
    };
    let select = |campaign: &str, extra: &[&str]| -> Vec<String> {
        let mut args = vec!["select", campaign];
        args.extend_from_slice(extra);
        let o = mailer(&args).output().unwrap();
        assert_eq!(code(&o), 0, "{}", stderr(&o));
        lines(&o)
            .iter()
            .map(|l| l["slug"].as_str().unwrap().to_owned())
            .collect()
    };

    let everyone = expected(&members, |_| true);
    assert!(
        everyone.len() > 20 && everyone.len() < members.len(),
        "{}",
        everyone.len()
    );
    assert_eq!(
        select("--campaign=t7-announcement", &[&laddr_arg]),
        everyone
    );
    // Nobody is GitHub-linked right after the import: the reminder goes to the same people.
    assert_eq!(select("--campaign=t90-reminder", &[&laddr_arg]), everyone);
    let drained = expected(&members, |m| has_credential(m) && !used_credential(m));
    assert!(!drained.is_empty());
    assert_eq!(
        select("--campaign=t180-drain-notice", &["--older-than=1d"]),
        drained
    );

    // The T-7 mail, for real, to the stand-in: the sign-in-name sentence for exactly the
    // members whose laddr username, lowercased, is not their slug.
    let resend = resend();
    let o = mailer(&[
        "send",
        "--send",
        "--campaign=t7-announcement",
        "--cutover-date=2026-08-15",
        &laddr_arg,
        &format!("--sent-log={}", tmp.path().join("sent.ndjson").display()),
        &format!("--api-base={}", resend.url()),
        "--rate=1000",
    ])
    .env("RESEND_API_KEY", KEY)
    .output()
    .unwrap();
    assert_eq!(code(&o), 0, "{}", stderr(&o));
    let by_address: HashMap<String, &Member> = members
        .iter()
        .filter(|m| has_profile(m))
        .map(|m| (address(m).to_lowercase(), m))
        .rev() // the first holder of a shared address keeps it
        .collect();
    let mut noted = 0;
    let emails = resend.emails();
    assert_eq!(emails.len(), everyone.len());
    for e in &emails {
        let m = by_address[&e.to[0]];
        let text = e.text.as_deref().unwrap();
        let needs = m
            .username
            .as_deref()
            .is_some_and(|u| translate::js::to_lower(u) != m.slug);
        assert_eq!(
            text.contains(&format!("On the new site your username is {}:", m.slug)),
            needs,
            "{} ({:?}): {text}",
            m.slug,
            m.username
        );
        noted += usize::from(needs);
    }
    assert!(
        noted > 0 && noted < emails.len(),
        "{noted} of {}",
        emails.len()
    );
    assert!(lines(&o).iter().all(|l| l["status"] == "sent"));
    eprintln!(
        "fixture site: {} members, {} T-7 recipients ({noted} told their sign-in name), {} T+180",
        members.len(),
        emails.len(),
        drained.len()
    );
}
