//! The two records of reference/B §6.5 (`people/aaronm.toml`, `projects/philly_bike_action.toml`),
//! produced by the real translator with the reference's fixed ids and clock, so the TOML
//! writer can snapshot their bytes against the reference output.

use serde_json::json;

use crate::ids::{ReadForward, Sequential};
use crate::input::{Input, Resource};
use crate::sheet::Sheet;
use crate::translate::{Options, Output, Record, translate};

/// The fixed clock of the reference tests.
pub const NOW: &str = "2026-05-18T00:00:00.000Z";
/// AaronM's id in §6.5.
pub const AARONM_ID: &str = "019e4021-2053-7493-ac00-d3752f9f8652";
/// Philly_Bike_Action's id in §6.5.
pub const PBA_ID: &str = "019e4021-2d09-7e80-a14a-d38e8c039ec4";

/// The laddr rows behind §6.5.
pub fn input() -> Input {
    let mut input = Input::default();
    input.push(
        Resource::People,
        json!({
            "ID": 2938, "Class": "Emergence\\People\\User", "Username": "AaronM",
            "FirstName": " Aaron ", "LastName": "Moskowitz", "AccountLevel": "Developer",
            "About": "I'm a \"civic\" hacker.\r\nI like maps.\r\n", "PrimaryPhotoID": 4411,
            "Created": 1518875937, "Modified": 1543936053
        }),
        None,
    );
    input.push(
        Resource::Projects,
        json!({
            "ID": 1234, "Class": "Laddr\\Project", "Handle": "Philly_Bike_Action",
            "Title": "Philly Bike Action!", "MaintainerID": 2938,
            "UsersUrl": "http://phillybikeaction.example.org/",
            "DevelopersUrl": "https://GitHub.com/example/pba", "ChatChannel": "#Bike Action",
            "Stage": "Maintaining", "README": "Say \"hi\" to [PBA](https://x.org)",
            "Created": 1357257311, "Modified": null, "Tags": [], "Memberships": []
        }),
        None,
    );
    input
}

/// Read-forward map pinning the two §6.5 ids.
pub fn read_forward() -> ReadForward {
    let mut rf = ReadForward::default();
    rf.insert("people/2938", AARONM_ID);
    rf.insert("projects/1234", PBA_ID);
    rf
}

/// Translate [`input`] with the pinned ids and [`NOW`].
pub fn output() -> Output {
    translate(
        &input(),
        &Options::new(NOW),
        &read_forward(),
        &mut Sequential::default(),
    )
}

/// `(people/aaronm, projects/philly_bike_action)` as §6.5 shows them. The person gets
/// `avatarKey` as the avatar step sets it after storing the photo (§1.5); everything else
/// comes straight from the translator.
pub fn records() -> (Record, Record) {
    let out = output();
    let mut person = out.sheet(Sheet::People)[0].clone();
    let slug = person["slug"].as_str().unwrap_or_default().to_owned();
    person.insert("avatarKey".to_owned(), crate::avatar_key(&slug).into());
    (person, out.sheet(Sheet::Projects)[0].clone())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn section_6_5_field_values() {
        let (person, project) = records();
        assert_eq!(
            serde_json::Value::Object(person),
            json!({
                "accountLevel": "administrator",
                "avatarKey": "people/aaronm/avatar.jpg",
                "bio": "I'm a \"civic\" hacker.\r\nI like maps.",
                "createdAt": "2018-02-17T13:58:57.000Z",
                "firstName": "Aaron",
                "fullName": "Aaron Moskowitz",
                "id": AARONM_ID,
                "lastName": "Moskowitz",
                "legacyId": 2938,
                "slackSamlNameId": "aaronm",
                "slug": "aaronm",
                "updatedAt": "2018-12-04T15:07:33.000Z"
            })
        );
        assert_eq!(
            serde_json::Value::Object(project),
            json!({
                "chatChannel": "bike-action",
                "createdAt": "2013-01-03T23:55:11.000Z",
                "developersUrl": "https://github.com/example/pba",
                "featured": false,
                "id": PBA_ID,
                "legacyId": 1234,
                "maintainerId": AARONM_ID,
                "overview": "Say \"hi\" to [PBA](https://x.org)",
                "slug": "philly_bike_action",
                "stage": "maintaining",
                "title": "Philly Bike Action!",
                "updatedAt": "2013-01-03T23:55:11.000Z"
            })
        );
        assert!(output().problems.is_empty());
    }
}
