//! Translation of laddr rows into the rewrite's sheet records (reference/B §2–§3).
//!
//! A pure library: no I/O besides reading NDJSON from a caller-supplied reader. The
//! `sheet-write` binary feeds it `laddr-fetch` lines ([`input`]), a read-forward map built
//! from the parent tree's records ([`build_read_forward`]) and an id source, and writes the
//! returned [`Output`] with the `sheets` crate.
//!
//! ```
//! use translate::{Input, Options, ReadForward, Sequential, Sheet, translate};
//! let ndjson = r#"{"v":1,"resource":"people","row":{"ID":10,"Username":"alice","Created":1377126953}}"#;
//! let input = Input::read(ndjson.as_bytes()).unwrap();
//! let out = translate(&input, &Options::new("2026-05-18T00:00:00.000Z"), &ReadForward::default(), &mut Sequential::default());
//! assert_eq!(out.sheet(Sheet::People)[0]["slug"], "alice");
//! assert_eq!(out.counts.get(Sheet::People).imported, 1);
//! ```

#![deny(missing_docs)]

mod ahead;
mod blog;
pub mod count_diff;
pub mod example;
mod ids;
pub mod input;
pub mod js;
pub mod media;
pub mod pii;
mod plan;
mod sheet;
pub mod slug;
mod time;
mod translate;
pub mod urls;
pub mod validate;

pub use blog::{MediaAsset, assemble_body, caption_slug, placeholder};
pub use ids::{IdSource, READ_FORWARD_FIELDS, ReadForward, Sequential, UuidV7, build_read_forward};
pub use input::{
    End, Input, InputError, InputLine, MediaLines, Parsed, Resource, Row, parse_line, parse_record,
};
pub use media::{MediaOwner, MediaRef, MediaRefs, media_references, media_url_path};
pub use pii::PiiPolicy;
pub use sheet::Sheet;
pub use slug::{normalize_person_slug, normalize_person_slug_for};
pub use time::{epoch_to_iso, iso_from_millis, now_iso};
pub use translate::{
    AvatarRef, Count, Counts, KeptStale, Merge, Options, Output, Problem, ProblemKind, Record,
    SlugChange, sanitize_tag_slug, split_tag_handle, translate,
};

/// `avatarKey` of a person whose avatar was stored (`people/<slug>/avatar.jpg`).
pub fn avatar_key(person_slug: &str) -> String {
    format!("people/{person_slug}/avatar.jpg")
}
