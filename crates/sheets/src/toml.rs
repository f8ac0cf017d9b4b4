//! Canonical TOML, byte-identical to what gitsheets 1.4.1 writes (a deep key sort, then
//! `@iarna/toml` 2.2.5 `stringify`), with one deliberate difference: **every** control
//! character is escaped, where @iarna escapes only the first one in a string and so writes
//! invalid TOML. A string holding a control character is therefore never written as a literal
//! string either. Everything written here parses back to the same value and re-serialises to
//! the same bytes.
//!
//! Records are `serde_json` objects. `null` values are omitted everywhere, as if absent.
//! (@iarna omits them too, but still counts them when deciding whether a table gets a
//! `[header]`, and throws on them inside inline tables; treating them as absent is what
//! keeps every output re-serialising to itself.)

use serde_json::{Map, Number, Value};
use std::fmt::Write as _;

/// Why a value cannot be written as TOML.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum WriteError {
    #[error("array at `{0}` mixes value types, which TOML 1.0 arrays cannot hold")]
    /// An array whose elements are not all of one type (the path to it).
    MixedArray(String),
    #[error("number at `{0}` is not finite")]
    /// A NaN or infinite float (the path to it).
    NonFinite(String),
}

/// Why a blob is not a TOML record we can read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("invalid TOML: {0}")]
    /// The blob is not TOML.
    Syntax(String),
    #[error("value at `{0}` cannot be represented (NaN or infinite float)")]
    /// A NaN or infinite float (the path to it).
    NonFinite(String),
}

/// Serialise a record in the canonical form.
pub fn to_string(record: &Map<String, Value>) -> Result<String, WriteError> {
    let mut out = String::with_capacity(256);
    write_object(&mut out, "", "", record)?;
    Ok(out)
}

/// The entries with a value (null is absence), keys sorted as `sort-keys` sorts them: by
/// UTF-16 code units (JavaScript's default sort). Each key comes with its value, so writing
/// a record looks nothing up again.
fn sorted_entries(obj: &Map<String, Value>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = obj.iter().filter(|(_, v)| !v.is_null()).collect();
    if entries.iter().all(|(k, _)| k.is_ascii()) {
        // Usually sorted already (the map's own order): checked in one pass.
        entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
    } else {
        entries.sort_unstable_by(|a, b| a.0.encode_utf16().cmp(b.0.encode_utf16()));
    }
    entries
}

/// @iarna's `isInline`: scalars, empty tables, and arrays whose first item is not a table.
fn is_inline(v: &Value) -> bool {
    match v {
        Value::Array(items) => items.first().is_none_or(|first| !first.is_object()),
        Value::Object(o) => o.values().all(Value::is_null),
        _ => true,
    }
}

fn write_object(
    out: &mut String,
    prefix: &str,
    indent: &str,
    obj: &Map<String, Value>,
) -> Result<(), WriteError> {
    let entries = sorted_entries(obj);
    let inline_count = entries.iter().filter(|(_, v)| is_inline(v)).count();
    // The inline lines, a blank line after them, then the tables, one `\n` between each:
    // written straight into `out`.
    let mut first = true;
    let mut next_line = |out: &mut String| {
        if !std::mem::take(&mut first) {
            out.push('\n');
        }
    };
    for &(key, value) in entries.iter().filter(|(_, v)| is_inline(v)) {
        next_line(out);
        out.push_str(indent);
        write_key(out, key);
        out.push_str(" = ");
        write_any_inline(out, value, true, &error_path(prefix, key, value))?;
    }
    if inline_count > 0 {
        next_line(out);
    }
    // Nested complex items are indented only under a table that printed inline keys.
    let complex_indent = if !prefix.is_empty() && inline_count > 0 {
        format!("{indent}  ")
    } else {
        String::new()
    };
    for &(key, value) in entries.iter().filter(|(_, v)| !is_inline(v)) {
        next_line(out);
        write_complex(out, prefix, &complex_indent, key, value)?;
    }
    Ok(())
}

fn path_of(prefix: &str, key: &str) -> String {
    format!("{prefix}{key}")
}

/// The path an error names: only numbers, arrays and tables can fail to write, so a string
/// or a boolean (most of a record) gets none and costs no allocation.
fn error_path(prefix: &str, key: &str, value: &Value) -> String {
    match value {
        Value::String(_) | Value::Bool(_) | Value::Null => String::new(),
        _ => path_of(prefix, key),
    }
}

fn write_complex(
    out: &mut String,
    prefix: &str,
    indent: &str,
    key: &str,
    value: &Value,
) -> Result<(), WriteError> {
    let mut full_key = prefix.to_owned();
    write_key(&mut full_key, key);
    match value {
        Value::Array(tables) => {
            array_type(tables.iter(), &full_key)?;
            for (i, table) in tables.iter().enumerate() {
                if i > 0 {
                    out.push('\n');
                }
                let _ = writeln!(out, "{indent}[[{full_key}]]");
                if let Value::Object(t) = table {
                    write_object(out, &format!("{full_key}."), indent, t)?;
                }
            }
        }
        Value::Object(table) => {
            if table.values().any(|v| !v.is_null() && is_inline(v)) {
                let _ = writeln!(out, "{indent}[{full_key}]");
            }
            write_object(out, &format!("{full_key}."), indent, table)?;
        }
        _ => unreachable!("write_complex is only called for tables and arrays of tables"),
    }
    Ok(())
}

fn write_key(out: &mut String, key: &str) {
    let bare = !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if bare {
        out.push_str(key);
    } else {
        write_basic_string(out, key);
    }
}

/// The string kinds @iarna chooses between.
#[derive(Clone, Copy, PartialEq, Eq)]
enum StrStyle {
    Basic,
    Literal,
    Multiline,
}

fn is_control(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{1f}' | '\u{7f}')
}

fn string_style(s: &str, multiline_ok: bool) -> StrStyle {
    if multiline_ok && s.contains('\n') {
        StrStyle::Multiline
    } else if s.contains('"') && !s.contains('\'') && !s.chars().any(is_control) {
        // @iarna checks only BS, TAB, LF, FF and CR here; any control character rules out a
        // literal string for us, because a literal string cannot escape it.
        StrStyle::Literal
    } else {
        StrStyle::Basic
    }
}

fn write_any_inline(
    out: &mut String,
    value: &Value,
    multiline_ok: bool,
    at: &str,
) -> Result<(), WriteError> {
    match value {
        Value::String(s) => match string_style(s, multiline_ok) {
            StrStyle::Multiline => write_multiline_string(out, s),
            StrStyle::Literal => {
                out.push('\'');
                out.push_str(s);
                out.push('\'');
            }
            StrStyle::Basic => write_basic_string(out, s),
        },
        other => write_inline(out, other, None, at)?,
    }
    Ok(())
}

/// What @iarna's `tomlType` says of a JSON value.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum JsType {
    Null,
    Integer,
    Float,
    Boolean,
    String,
    Array,
    Table,
}

fn js_type(v: &Value) -> JsType {
    match v {
        Value::Null => JsType::Null,
        Value::Bool(_) => JsType::Boolean,
        Value::Number(n) => {
            if n.is_i64() || n.is_u64() {
                JsType::Integer
            } else {
                // JavaScript has one number type: an integral float is an integer to @iarna,
                // except negative zero.
                let f = n.as_f64().unwrap_or(f64::NAN);
                if f.is_finite() && f.fract() == 0.0 && !(f == 0.0 && f.is_sign_negative()) {
                    JsType::Integer
                } else {
                    JsType::Float
                }
            }
        }
        Value::String(_) => JsType::String,
        Value::Array(_) => JsType::Array,
        Value::Object(_) => JsType::Table,
    }
}

/// @iarna's `arrayType`: one type for every item, with integers and floats mixing as floats.
fn array_type<'a>(
    items: impl Iterator<Item = &'a Value> + Clone,
    at: &str,
) -> Result<Option<JsType>, WriteError> {
    let Some(first) = items.clone().next() else {
        return Ok(None);
    };
    let t = js_type(first);
    if items.clone().all(|v| js_type(v) == t) {
        return Ok(Some(t));
    }
    if items
        .clone()
        .all(|v| matches!(js_type(v), JsType::Integer | JsType::Float))
    {
        return Ok(Some(JsType::Float));
    }
    Err(WriteError::MixedArray(at.to_owned()))
}

/// @iarna's `stringifyInline`: `item_type` is the array's item type when inside an array
/// (it only matters for numbers: integers in a mixed numeric array are written as floats).
fn write_inline(
    out: &mut String,
    value: &Value,
    item_type: Option<JsType>,
    at: &str,
) -> Result<(), WriteError> {
    match value {
        Value::Null => {}
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::String(s) => write_basic_string(out, s),
        Value::Number(n) => match item_type.unwrap_or_else(|| js_type(value)) {
            JsType::Float => write_float(out, n, at)?,
            _ => write_integer(out, n),
        },
        Value::Array(items) => {
            // @iarna drops nulls from inline arrays before checking their type.
            let kept = items.iter().filter(|v| !v.is_null());
            let kept_type = array_type(kept.clone(), at)?;
            let mut parts = Vec::with_capacity(items.len());
            for (i, item) in kept.enumerate() {
                let mut s = String::new();
                write_inline(&mut s, item, kept_type, &format!("{at}[{i}]"))?;
                parts.push(s);
            }
            let joined = parts.join(", ");
            if joined.encode_utf16().count() > 60 || parts.iter().any(|p| p.contains('\n')) {
                out.push_str("[\n  ");
                out.push_str(&parts.join(",\n  "));
                out.push_str("\n]");
            } else if parts.is_empty() {
                out.push_str("[ ]");
            } else {
                out.push_str("[ ");
                out.push_str(&joined);
                out.push_str(" ]");
            }
        }
        Value::Object(table) => {
            let mut parts = Vec::with_capacity(table.len());
            for (key, value) in sorted_entries(table) {
                let mut s = String::new();
                write_key(&mut s, key);
                s.push_str(" = ");
                write_any_inline(&mut s, value, false, &error_path(at, key, value))?;
                parts.push(s);
            }
            if parts.is_empty() {
                out.push_str("{ }");
            } else {
                out.push_str("{ ");
                out.push_str(&parts.join(", "));
                out.push_str(" }");
            }
        }
    }
    Ok(())
}

/// Digit groups as @iarna's `/\B(?=(\d{3})+(?!\d))/g`: a `_` every three digits from the
/// right of the leading digit run, once it has four or more.
fn group_digits(out: &mut String, s: &str) {
    let sign_len = s.len() - s.trim_start_matches('-').len();
    let (sign, rest) = s.split_at(sign_len);
    let digits_len = rest.bytes().take_while(u8::is_ascii_digit).count();
    let (digits, tail) = rest.split_at(digits_len);
    out.push_str(sign);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits_len - i) % 3 == 0 {
            out.push('_');
        }
        out.push(ch);
    }
    out.push_str(tail);
}

fn write_integer(out: &mut String, n: &Number) {
    if let Some(i) = n.as_i64() {
        group_digits(out, &i.to_string());
    } else if let Some(u) = n.as_u64() {
        group_digits(out, &u.to_string());
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        group_digits(out, &js_number_string(f));
    }
}

fn write_float(out: &mut String, n: &Number, at: &str) -> Result<(), WriteError> {
    let f = n.as_f64().unwrap_or(f64::NAN);
    if !f.is_finite() {
        return Err(WriteError::NonFinite(at.to_owned()));
    }
    if f == 0.0 && f.is_sign_negative() {
        out.push_str("-0.0");
        return Ok(());
    }
    let s = js_number_string(f);
    if s.contains('e') {
        // JavaScript switches to exponent notation here and @iarna would write `1e+21.0`,
        // which is not TOML. Write a valid TOML float instead.
        out.push_str(&s.replace("e+", "e"));
        if !s.contains('.') && !s.contains('e') {
            out.push_str(".0");
        }
        return Ok(());
    }
    let (int, dec) = s.split_once('.').unwrap_or((s.as_str(), "0"));
    group_digits(out, int);
    out.push('.');
    out.push_str(dec);
    Ok(())
}

/// `String(number)` in JavaScript (ECMAScript Number::toString, radix 10).
pub(crate) fn js_number_string(f: f64) -> String {
    if f == 0.0 {
        return "0".into();
    }
    if f.is_nan() {
        return "NaN".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    // `{:e}` gives the shortest round-trip digits, which is what JavaScript uses too.
    let sci = format!("{:e}", f.abs());
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let k = digits.len() as i32;
    let n = exp + 1;
    let mut s = String::new();
    if f < 0.0 {
        s.push('-');
    }
    if k <= n && n <= 21 {
        s.push_str(&digits);
        s.extend(std::iter::repeat_n('0', (n - k) as usize));
    } else if 0 < n && n <= 21 {
        s.push_str(&digits[..n as usize]);
        s.push('.');
        s.push_str(&digits[n as usize..]);
    } else if -6 < n && n <= 0 {
        s.push_str("0.");
        s.extend(std::iter::repeat_n('0', (-n) as usize));
        s.push_str(&digits);
    } else {
        s.push_str(&digits[..1]);
        if k > 1 {
            s.push('.');
            s.push_str(&digits[1..]);
        }
        s.push('e');
        s.push(if n - 1 < 0 { '-' } else { '+' });
        s.push_str(&(n - 1).abs().to_string());
    }
    s
}

/// @iarna's `escapeString`, except that every control character is escaped, not just the
/// first.
fn escape_into(out: &mut String, s: &str) {
    // Runs of characters that need no escape are copied whole: everything escaped is an
    // ASCII byte (a control character or `\\`), never part of a longer UTF-8 character.
    let bytes = s.as_bytes();
    let mut plain_from = 0;
    let mut i = 0;
    while i < bytes.len() {
        if crate::toml_scan::word_at(bytes, i).is_some_and(crate::toml_scan::is_plain_word) {
            i += 8;
            continue;
        }
        let b = bytes[i];
        i += 1;
        let escape = match b {
            b'\\' => "\\\\",
            0x08 => "\\b",
            b'\t' => "\\t",
            b'\n' => "\\n",
            0x0c => "\\f",
            b'\r' => "\\r",
            0x00..=0x1f | 0x7f => "",
            _ => continue,
        };
        out.push_str(&s[plain_from..i - 1]);
        if escape.is_empty() {
            let _ = write!(out, "\\u{b:04x}");
        } else {
            out.push_str(escape);
        }
        plain_from = i;
    }
    out.push_str(&s[plain_from..]);
}

fn write_basic_string(out: &mut String, s: &str) {
    out.push('"');
    // Most strings need no escape at all (a control character is a byte below 0x20 or
    // 0x7f in UTF-8, never part of a longer character).
    let plain = !s
        .bytes()
        .any(|b| b < 0x20 || b == 0x7f || b == b'\\' || b == b'"');
    if plain {
        out.push_str(s);
    } else {
        let mut escaped = String::with_capacity(s.len() + 2);
        escape_into(&mut escaped, s);
        out.push_str(&escaped.replace('"', "\\\""));
    }
    out.push('"');
}

fn write_multiline_string(out: &mut String, s: &str) {
    let mut body = String::with_capacity(s.len() + 8);
    let mut escaped = String::new();
    for (i, line) in s.split('\n').enumerate() {
        if i > 0 {
            body.push('\n');
        }
        escaped.clear();
        escape_into(&mut escaped, line);
        // `"(?="")`: a quote followed by two more is escaped, so no `"""` closes early. The
        // text between such quotes is copied whole.
        let bytes = escaped.as_bytes();
        let mut from = 0;
        for (j, _) in escaped.match_indices('"') {
            if bytes.get(j + 1) == Some(&b'"') && bytes.get(j + 2) == Some(&b'"') {
                body.push_str(&escaped[from..j]);
                body.push('\\');
                from = j;
            }
        }
        body.push_str(&escaped[from..]);
    }
    if body.ends_with('"') {
        body.push_str("\\\n");
    }
    out.push_str("\"\"\"\n");
    out.push_str(&body);
    out.push_str("\"\"\"");
}

/// Only the top-level `keys` of a TOML document (those it has): the same result as
/// [`from_str`] then dropping the other keys, errors included, but without building a
/// document when the text is in the simple line form records are written in.
pub fn read_keys(text: &str, keys: &[&str]) -> Result<Map<String, Value>, ReadError> {
    read_keys_where(text, &|k| keys.contains(&k))
}

/// [`read_keys`] for the top-level keys `wanted` accepts (e.g. every key named `…Id`).
pub fn read_keys_where(
    text: &str,
    wanted: &dyn Fn(&str) -> bool,
) -> Result<Map<String, Value>, ReadError> {
    if let Some(found) = crate::toml_scan::keys_where(text, wanted) {
        return Ok(found);
    }
    let mut full = from_str(text)?;
    full.retain(|k, _| wanted(k));
    Ok(full)
}

/// Parse a TOML document into a JSON object. Datetimes become their TOML text.
pub fn from_str(text: &str) -> Result<Map<String, Value>, ReadError> {
    let doc: toml_edit::Document<String> = toml_edit::Document::parse(text.to_owned())
        .map_err(|e| ReadError::Syntax(e.to_string()))?;
    table_to_json(doc.as_table(), "")
}

fn table_to_json(table: &toml_edit::Table, at: &str) -> Result<Map<String, Value>, ReadError> {
    let mut map = Map::new();
    for (key, item) in table.iter() {
        let here = path_of(at, key);
        if let Some(v) = item_to_json(item, &here)? {
            map.insert(key.to_owned(), v);
        }
    }
    Ok(map)
}

fn item_to_json(item: &toml_edit::Item, at: &str) -> Result<Option<Value>, ReadError> {
    Ok(match item {
        toml_edit::Item::None => None,
        toml_edit::Item::Value(v) => Some(value_to_json(v, at)?),
        toml_edit::Item::Table(t) => Some(Value::Object(table_to_json(t, &format!("{at}."))?)),
        toml_edit::Item::ArrayOfTables(a) => {
            let mut items = Vec::with_capacity(a.len());
            for (i, t) in a.iter().enumerate() {
                items.push(Value::Object(table_to_json(t, &format!("{at}[{i}]."))?));
            }
            Some(Value::Array(items))
        }
    })
}

fn value_to_json(v: &toml_edit::Value, at: &str) -> Result<Value, ReadError> {
    use toml_edit::Value as T;
    Ok(match v {
        T::String(s) => Value::String(s.value().clone()),
        T::Integer(i) => Value::Number((*i.value()).into()),
        T::Float(f) => Value::Number(
            Number::from_f64(*f.value()).ok_or_else(|| ReadError::NonFinite(at.to_owned()))?,
        ),
        T::Boolean(b) => Value::Bool(*b.value()),
        T::Datetime(d) => Value::String(d.value().to_string()),
        T::Array(a) => {
            let mut items = Vec::with_capacity(a.len());
            for (i, v) in a.iter().enumerate() {
                items.push(value_to_json(v, &format!("{at}[{i}]"))?);
            }
            Value::Array(items)
        }
        T::InlineTable(t) => {
            let mut map = Map::new();
            for (k, v) in t.iter() {
                map.insert(k.to_owned(), value_to_json(v, &path_of(at, k))?);
            }
            Value::Object(map)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The escapes byte by byte and the `"""` rule char by char, as they were written before
    /// runs were copied whole: the oracle for the faster code.
    fn escape_slowly(s: &str) -> String {
        let mut out = String::new();
        for c in s.chars() {
            match c {
                '\\' => out.push_str("\\\\"),
                '\u{8}' => out.push_str("\\b"),
                '\t' => out.push_str("\\t"),
                '\n' => out.push_str("\\n"),
                '\u{c}' => out.push_str("\\f"),
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x20 || c == '\u{7f}' => {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                }
                c => out.push(c),
            }
        }
        out
    }

    fn multiline_slowly(s: &str) -> String {
        let mut body = String::new();
        for (i, line) in s.split('\n').enumerate() {
            if i > 0 {
                body.push('\n');
            }
            let escaped = escape_slowly(line);
            let bytes = escaped.as_bytes();
            for (j, ch) in escaped.char_indices() {
                if ch == '"' && bytes.get(j + 1) == Some(&b'"') && bytes.get(j + 2) == Some(&b'"') {
                    body.push('\\');
                }
                body.push(ch);
            }
        }
        if body.ends_with('"') {
            body.push_str("\\\n");
        }
        format!("\"\"\"\n{body}\"\"\"")
    }

    /// Every special byte, and runs of quotes, at every position of texts shorter and longer
    /// than a word, with multi-byte characters around them.
    #[test]
    fn word_skipping_escapes_as_byte_by_byte() {
        let fillers = ["abcdefghijklmnopqrstu", "é—ü😀xyzé—ü😀"];
        let specials = [
            "\\", "\t", "\n", "\r", "\u{0}", "\u{8}", "\u{c}", "\u{1f}", "\u{7f}", "\"", "\"\"",
            "\"\"\"", "\"\"\"\"", "'",
        ];
        for filler in fillers {
            let chars: Vec<char> = filler.chars().collect();
            for len in 0..=chars.len() {
                for special in specials {
                    for at in 0..=len {
                        let text: String = chars[..at]
                            .iter()
                            .chain(special.chars().collect::<Vec<_>>().iter())
                            .chain(&chars[at..len])
                            .collect();
                        let mut fast = String::new();
                        escape_into(&mut fast, &text);
                        assert_eq!(fast, escape_slowly(&text), "{text:?}");
                        let mut multi = String::new();
                        write_multiline_string(&mut multi, &text);
                        assert_eq!(multi, multiline_slowly(&text), "{text:?}");
                    }
                }
            }
        }
    }
}
