//! Each rule against accept/reject sets checked with zod 4.4.3 in Node 20, including the two
//! cases where `translate` and `private-store` used to answer differently.

use zod_rules::{is_datetime, is_email, is_unsubscribe_token, is_uuid};

#[test]
fn uuids() {
    for ok in [
        "019e4021-2053-7493-ac00-d3752f9f8652",
        "01951a3c-0000-7000-8000-000000000001",
        "00000000-0000-0000-0000-000000000000",
        "ffffffff-ffff-ffff-ffff-ffffffffffff",
    ] {
        assert!(is_uuid(ok), "{ok}");
    }
    for bad in [
        "019e4021-2053-9493-ac00-d3752f9f8652",
        "019e4021-2053-7493-cc00-d3752f9f8652",
        "019e40212053-7493-ac00-d3752f9f8652",
        "019e4021-2053-0493-ac00-d3752f9f8652",
        "01951a3c00007000800000000000000001",
    ] {
        assert!(!is_uuid(bad), "{bad}");
    }
}

/// Used to disagree: private-store accepted the max UUID in uppercase. Zod's regex lists the
/// max UUID in lowercase only, and uppercase `F` is not a version digit, so it is rejected;
/// uppercase hex in an ordinary UUID is accepted by both.
#[test]
fn uppercase_uuids_as_zod() {
    assert!(is_uuid("019E4021-2053-7493-AC00-D3752F9F8652"));
    assert!(is_uuid("019e4021-2053-7493-Bc00-d3752f9f8652"));
    assert!(!is_uuid("FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF"));
    assert!(!is_uuid("ffffffff-ffff-ffff-ffff-FFFFFFFFFFFF"));
}

#[test]
fn datetimes() {
    for ok in [
        "2018-02-17T13:58:57.000Z",
        "2026-08-15T12:00Z",
        "2026-08-15T12:00:00.000Z",
        "2026-08-15T12:00:00+02:00",
        "2026-08-15T12:00:00.1-05:30",
        "2026-05-18T00:00:00+01:00",
        "2026-05-18T00:00:00.1234-05:30",
        "2018-02-17T13:58:57.000000000Z",
        "2018-02-17T13:58:57+23:59",
    ] {
        assert!(is_datetime(ok), "{ok}");
    }
    for bad in [
        "2026-08-15",
        "x",
        "2018-02-17 13:58:57Z",
        "2018-02-17T24:00:00Z",
        "2018-02-17T13:58:57",
        "2026-08-15T12:00:00",
        "+010000-01-01T00:00:00.000Z",
        "2026-13-15T12:00:00Z",
        "2018-02-17T13:58:57.Z",
        "2018-02-17T13:58:60Z",
        "2018-02-17T13:58:57+0100",
        "2018-02-17T13:58:57+01",
        "2018-02-17T13:58:57+24:00",
        "2018-02-17T13:58:57z",
        "2018-02-17T13Z",
        "2018-2-17T13:58:57Z",
    ] {
        assert!(!is_datetime(bad), "{bad}");
    }
}

/// Used to disagree: private-store accepted any day 01–31 in any month. Zod checks the
/// calendar, leap years included.
#[test]
fn datetimes_follow_the_calendar() {
    for ok in [
        "2000-02-29T00:00Z",
        "2024-02-29T00:00:00Z",
        "0000-02-29T00:00:00Z",
        "2400-02-29T00:00:00Z",
        "2018-04-30T00:00:00Z",
        "2018-12-31T23:59:59.999Z",
    ] {
        assert!(is_datetime(ok), "{ok}");
    }
    for bad in [
        "1900-02-29T00:00:00Z",
        "2100-02-29T00:00:00Z",
        "2023-02-29T00:00:00Z",
        "2018-02-30T00:00:00Z",
        "2018-04-31T00:00:00Z",
        "2018-11-31T00:00:00Z",
        "2018-01-00T00:00:00Z",
        "2018-00-10T00:00:00Z",
    ] {
        assert!(!is_datetime(bad), "{bad}");
    }
}

#[test]
fn emails() {
    for ok in [
        "a@example.com",
        "first.last+tag@sub.example.org",
        "o'neil@x.io",
        "A@B.CO",
    ] {
        assert!(is_email(ok), "{ok}");
    }
    for bad in [
        ".a@example.com",
        "a..b@example.com",
        "a.@example.com",
        "a@example",
        "a@-x.com",
        "a@x.c",
        "a b@x.com",
        "@x.com",
        "a@x@y.com",
        "a@x..com",
    ] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn unsubscribe_tokens() {
    let ok = format!("{}Zz9_-", "a".repeat(38));
    assert_eq!(ok.len(), 43);
    assert!(is_unsubscribe_token(&ok));
    assert!(!is_unsubscribe_token(&"a".repeat(42)));
    assert!(!is_unsubscribe_token(&"a".repeat(44)));
    assert!(!is_unsubscribe_token(&format!("{}=", "a".repeat(42))));
}
