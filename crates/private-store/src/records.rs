//! The two record types our tools write (`reference/D` §2.1–2.2). Each keeps its whole JSON
//! object ([`Fields`]) next to the validated values it exposes, so unknown fields survive.

use serde_json::{Value, json};

use crate::fields::Fields;
use crate::validate::{is_datetime, is_email, is_unsubscribe_token, is_uuid};

/// A record type stored one per line in a `.jsonl` object, keyed by one field.
pub trait Record: Sized {
    /// The object's key (file name), e.g. `profiles.jsonl`.
    const FILE: &'static str;
    /// Validates a parsed line against the schema.
    fn from_fields(fields: Fields) -> Result<Self, String>;
    /// The map key (`personId`).
    fn key(&self) -> &str;
    /// The full object, unknown fields included.
    fn fields(&self) -> &Fields;
}

/// Newsletter state of a profile.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Newsletter {
    /// Whether the person wants the newsletter.
    pub opted_in: bool,
    /// When they opted in, if they did.
    pub opted_in_at: Option<String>,
    /// When they opted out, if they did.
    pub opted_out_at: Option<String>,
    /// The token an unsubscribe link carries.
    pub unsubscribe_token: Option<String>,
}

/// A `PrivateProfile` line of `profiles.jsonl`.
#[derive(Clone, Debug)]
pub struct Profile {
    fields: Fields,
    person_id: String,
    email: String,
    newsletter: Option<Newsletter>,
}

impl Profile {
    /// A new profile with no newsletter state, as the credentials importer writes it.
    pub fn new(person_id: &str, email: &str, now: &str) -> Result<Profile, String> {
        let mut f = Fields::default();
        f.set("personId", &json!(person_id));
        f.set("email", &json!(email.to_lowercase()));
        f.set("emailRefreshedAt", &json!(now));
        f.set("newsletter", &Value::Null);
        f.set("updatedAt", &json!(now));
        Profile::from_fields(f)
    }

    /// The person the profile belongs to.
    pub fn person_id(&self) -> &str {
        &self.person_id
    }

    /// The email, lowercased as the API does on parse.
    pub fn email(&self) -> &str {
        &self.email
    }

    /// The newsletter state, when the profile has one.
    pub fn newsletter(&self) -> Option<&Newsletter> {
        self.newsletter.as_ref()
    }

    /// Sets `newsletter.unsubscribeToken` (keeping the other newsletter fields, known or not)
    /// and `updatedAt`. Does nothing when the profile has no newsletter object.
    pub fn set_unsubscribe_token(&mut self, token: &str, now: &str) -> bool {
        let Some(nl) = self.newsletter.as_mut() else {
            return false;
        };
        // Edit the nested object through Fields so its order and unknown keys stay as they were.
        let Some(Ok(mut nf)) = self.fields.raw("newsletter").map(Fields::parse) else {
            return false;
        };
        nf.set("unsubscribeToken", &json!(token));
        let mut s = String::new();
        nf.write_json(&mut s);
        self.fields.set_raw("newsletter", s);
        self.fields.set("updatedAt", &json!(now));
        nl.unsubscribe_token = Some(token.to_owned());
        true
    }
}

impl Record for Profile {
    const FILE: &'static str = "profiles.jsonl";

    fn from_fields(fields: Fields) -> Result<Profile, String> {
        let person_id = fields.req_str("personId")?;
        if !is_uuid(&person_id) {
            return Err(format!("`personId` {person_id:?} is not a UUID"));
        }
        let email = fields.req_str("email")?;
        if !is_email(&email) {
            return Err(format!(
                "personId {person_id}: `email` is not a valid email"
            ));
        }
        for name in ["emailRefreshedAt", "updatedAt"] {
            let v = fields
                .req_str(name)
                .map_err(|e| format!("personId {person_id}: {e}"))?;
            if !is_datetime(&v) {
                return Err(format!(
                    "personId {person_id}: `{name}` {v:?} is not an ISO datetime"
                ));
            }
        }
        let newsletter = match fields.value("newsletter") {
            None | Some(Value::Null) => None,
            Some(Value::Object(o)) => Some(
                parse_newsletter(&o)
                    .map_err(|e| format!("personId {person_id}: newsletter: {e}"))?,
            ),
            Some(other) => {
                return Err(format!(
                    "personId {person_id}: `newsletter` must be an object or null, got {other}"
                ));
            }
        };
        Ok(Profile {
            person_id,
            email: email.to_lowercase(),
            newsletter,
            fields,
        })
    }

    fn key(&self) -> &str {
        &self.person_id
    }

    fn fields(&self) -> &Fields {
        &self.fields
    }
}

fn parse_newsletter(o: &serde_json::Map<String, Value>) -> Result<Newsletter, String> {
    let opted_in = match o.get("optedIn") {
        Some(Value::Bool(b)) => *b,
        _ => return Err("`optedIn` must be a boolean".into()),
    };
    let opt_dt = |name: &str| -> Result<Option<String>, String> {
        match o.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) if is_datetime(s) => Ok(Some(s.clone())),
            Some(other) => Err(format!("`{name}` {other} is not an ISO datetime")),
        }
    };
    let unsubscribe_token = match o.get("unsubscribeToken") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if is_unsubscribe_token(s) => Some(s.clone()),
        Some(_) => return Err("`unsubscribeToken` is not 43 base64url characters".into()),
    };
    Ok(Newsletter {
        opted_in,
        opted_in_at: opt_dt("optedInAt")?,
        opted_out_at: opt_dt("optedOutAt")?,
        unsubscribe_token,
    })
}

/// How a legacy password hash is encoded (`reference/D` §2.2, checked in this order).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HashFormat {
    /// A modern Argon2id PHC string.
    Argon2id,
    /// A bcrypt hash (`$2a$`, `$2b$` or `$2y$`).
    Bcrypt,
    /// laddr's unsalted SHA-1 of the plaintext, 40 lowercase hex digits.
    Sha1,
    /// None of the above: the hash cannot be checked.
    Unrecognised,
}

impl HashFormat {
    /// The format of a hash, by its prefix or shape.
    pub fn of(hash: &str) -> HashFormat {
        if hash.starts_with("$argon2id$") {
            HashFormat::Argon2id
        } else if ["$2a$", "$2b$", "$2y$"].iter().any(|p| hash.starts_with(p)) {
            HashFormat::Bcrypt
        } else if hash.len() == 40
            && hash
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
        {
            HashFormat::Sha1
        } else {
            HashFormat::Unrecognised
        }
    }

    /// The format's name as reports spell it.
    pub fn as_str(self) -> &'static str {
        match self {
            HashFormat::Argon2id => "argon2id",
            HashFormat::Bcrypt => "bcrypt",
            HashFormat::Sha1 => "sha1",
            HashFormat::Unrecognised => "unrecognised",
        }
    }
}

/// A `LegacyPasswordCredential` line of `legacy-passwords.jsonl`.
#[derive(Clone, Debug)]
pub struct Credential {
    fields: Fields,
    person_id: String,
    password_hash: String,
    imported_at: String,
    last_used_at: Option<String>,
}

impl Credential {
    /// A freshly imported credential (`lastUsedAt: null`).
    pub fn new(
        person_id: &str,
        password_hash: &str,
        imported_at: &str,
    ) -> Result<Credential, String> {
        let mut f = Fields::default();
        f.set("personId", &json!(person_id));
        f.set("passwordHash", &json!(password_hash));
        f.set("importedAt", &json!(imported_at));
        f.set("lastUsedAt", &Value::Null);
        Credential::from_fields(f)
    }

    /// The person the credential belongs to.
    pub fn person_id(&self) -> &str {
        &self.person_id
    }
    /// The hash. Never print it: it is as private as a password.
    pub fn password_hash(&self) -> &str {
        &self.password_hash
    }
    /// How the hash is encoded.
    pub fn hash_format(&self) -> HashFormat {
        HashFormat::of(&self.password_hash)
    }
    /// When the credential was imported (ISO).
    pub fn imported_at(&self) -> &str {
        &self.imported_at
    }
    /// When the credential last signed someone in, if ever.
    pub fn last_used_at(&self) -> Option<&str> {
        self.last_used_at.as_deref()
    }
}

impl Record for Credential {
    const FILE: &'static str = "legacy-passwords.jsonl";

    fn from_fields(fields: Fields) -> Result<Credential, String> {
        let person_id = fields.req_str("personId")?;
        if !is_uuid(&person_id) {
            return Err(format!("`personId` {person_id:?} is not a UUID"));
        }
        let password_hash = fields
            .req_str("passwordHash")
            .map_err(|e| format!("personId {person_id}: {e}"))?;
        if password_hash.is_empty() {
            return Err(format!("personId {person_id}: `passwordHash` is empty"));
        }
        let imported_at = fields
            .req_str("importedAt")
            .map_err(|e| format!("personId {person_id}: {e}"))?;
        if !is_datetime(&imported_at) {
            return Err(format!(
                "personId {person_id}: `importedAt` {imported_at:?} is not an ISO datetime"
            ));
        }
        let last_used_at = fields
            .opt_str("lastUsedAt")
            .map_err(|e| format!("personId {person_id}: {e}"))?;
        if let Some(l) = &last_used_at
            && !is_datetime(l)
        {
            return Err(format!(
                "personId {person_id}: `lastUsedAt` {l:?} is not an ISO datetime"
            ));
        }
        Ok(Credential {
            fields,
            person_id,
            password_hash,
            imported_at,
            last_used_at,
        })
    }

    fn key(&self) -> &str {
        &self.person_id
    }

    fn fields(&self) -> &Fields {
        &self.fields
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_formats() {
        assert_eq!(
            HashFormat::of("$argon2id$v=19$m=19456,t=2,p=1$x$y"),
            HashFormat::Argon2id
        );
        assert_eq!(
            HashFormat::of("$2y$12$abcdefghijklmnopqrstuv"),
            HashFormat::Bcrypt
        );
        assert_eq!(
            HashFormat::of("7746451f00000000000000000000000000000000"),
            HashFormat::Sha1
        );
        assert_eq!(
            HashFormat::of("7746451F00000000000000000000000000000000"),
            HashFormat::Unrecognised
        );
        assert_eq!(HashFormat::of("$argon2i$v=19$x"), HashFormat::Unrecognised);
        assert_eq!(HashFormat::of("not-a-hash"), HashFormat::Unrecognised);
    }

    #[test]
    fn token_fix_keeps_newsletter_order_and_unknowns() {
        let line = r#"{"personId":"01951a3c-0000-7000-8000-000000000001","email":"Bob@Example.com","emailRefreshedAt":"2026-08-01T00:00:00.000Z","newsletter":{"optedIn":true,"optedInAt":"2026-08-01T00:00:00.000Z","x":1},"updatedAt":"2026-08-01T00:00:00.000Z","extra":[1]}"#;
        let mut p = Profile::from_fields(Fields::parse(line).unwrap()).unwrap();
        assert_eq!(p.email(), "bob@example.com");
        let tok = "A".repeat(43);
        assert!(p.set_unsubscribe_token(&tok, "2026-08-15T12:00:00.000Z"));
        let mut out = String::new();
        p.fields().write_json(&mut out);
        assert_eq!(
            out,
            format!(
                r#"{{"personId":"01951a3c-0000-7000-8000-000000000001","email":"Bob@Example.com","emailRefreshedAt":"2026-08-01T00:00:00.000Z","newsletter":{{"optedIn":true,"optedInAt":"2026-08-01T00:00:00.000Z","x":1,"unsubscribeToken":"{tok}"}},"updatedAt":"2026-08-15T12:00:00.000Z","extra":[1]}}"#
            )
        );
    }
}
