//! The Zod field rules of the private store's schemas (`reference/D` §2). They are defined once,
//! in `zod-rules`, for every validator of the workspace; this module names them for the
//! store's callers.

pub use zod_rules::{is_datetime, is_email, is_unsubscribe_token, is_uuid};
