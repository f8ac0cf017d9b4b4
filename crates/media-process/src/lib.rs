//! `media-process`: fetched laddr media → the rewrite's attachments (`reference/B` §1.5).
//!
//! - [`avatar`]: a photo's bytes → `avatar.jpg` (square centre crop, JPEG q85, at the
//!   source's short side capped at [`AVATAR_MAX_SIDE`]) and `avatar-128.jpg` (128×128, JPEG
//!   q80). JPEG, PNG, GIF (first frame) and WebP, EXIF orientation honoured; decompression
//!   bombs refused from the header, before the frame is allocated. Same bytes in, same bytes
//!   out, so an unchanged photo is an unchanged blob.
//! - [`kind`]: which content types become which attachments.
//! - [`cache`]: derived avatars kept by source digest, so a re-run encodes nothing; and the
//!   blob ids of what a run stored, so a re-run whose parent tree holds them reads nothing.

#![deny(missing_docs)]

pub mod avatar;
pub mod cache;
pub mod kind;

pub use avatar::{AVATAR_MAX_SIDE, AVATAR_SMALL_SIDE, AvatarError, AvatarPair, Limits, avatar};
pub use cache::DerivedCache;
