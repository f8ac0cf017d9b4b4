//! One `.jsonl` object in memory: its records in file order, indexed by key, and the version it
//! was read at (so the write can refuse to overwrite a concurrent change).

use std::collections::HashMap;

use crate::backend::Version;
use crate::records::Record;
use crate::{Error, fields::Fields};

/// All records of one `.jsonl` object.
#[derive(Debug)]
pub struct Table<R: Record> {
    location: String,
    // Removed records leave a hole so removal stays O(1) and order stays stable.
    rows: Vec<Option<R>>,
    index: HashMap<String, usize>,
    pub(crate) version: Version,
}

impl<R: Record> Table<R> {
    /// Parses the object's bytes (`reference/D` §1.3): lines split on `\n`, trimmed, blank lines
    /// skipped; a line that is not valid JSON or fails the schema is an error naming file and line.
    /// A repeated key keeps its first position and its last value.
    pub(crate) fn parse(
        location: String,
        bytes: Option<&[u8]>,
        version: Version,
    ) -> Result<Self, Error> {
        let mut table = Table {
            location,
            rows: Vec::new(),
            index: HashMap::new(),
            version,
        };
        let Some(bytes) = bytes else {
            return Ok(table);
        };
        for (i, line) in bytes.split(|&b| b == b'\n').enumerate() {
            let bad = |reason: String| Error::BadLine {
                location: table.location.clone(),
                line: i + 1,
                reason,
            };
            let line = std::str::from_utf8(line).map_err(|e| bad(format!("not UTF-8: {e}")))?;
            let line = line.trim();
            if line.is_empty() {
                continue;
            }
            let record = Fields::parse(line).and_then(R::from_fields).map_err(bad)?;
            table.upsert(record);
        }
        Ok(table)
    }

    /// Where the object lives (a path or an `s3://` location), for messages.
    pub fn location(&self) -> &str {
        &self.location
    }

    /// The record with this key.
    pub fn get(&self, key: &str) -> Option<&R> {
        self.index.get(key).and_then(|&i| self.rows[i].as_ref())
    }

    /// The record with this key, to change in place.
    pub fn get_mut(&mut self, key: &str) -> Option<&mut R> {
        self.index.get(key).and_then(|&i| self.rows[i].as_mut())
    }

    /// Whether a record has this key.
    pub fn contains(&self, key: &str) -> bool {
        self.index.contains_key(key)
    }

    /// Records in file order.
    pub fn iter(&self) -> impl Iterator<Item = &R> {
        self.rows.iter().flatten()
    }

    /// How many records the table holds.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// True when the table holds no record.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }

    /// Inserts or replaces by key; a replaced record keeps its position. Returns the old one.
    pub fn upsert(&mut self, record: R) -> Option<R> {
        match self.index.get(record.key()) {
            Some(&i) => self.rows[i].replace(record),
            None => {
                self.index.insert(record.key().to_owned(), self.rows.len());
                self.rows.push(Some(record));
                None
            }
        }
    }

    /// Removes the record with this key and returns it.
    pub fn remove(&mut self, key: &str) -> Option<R> {
        let i = self.index.remove(key)?;
        self.rows[i].take()
    }

    /// The file content (`reference/D` §1.3): one compact object per line, a final newline when
    /// there is at least one record, zero bytes otherwise.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = String::new();
        for r in self.iter() {
            r.fields().write_json(&mut out);
            out.push('\n');
        }
        out.into_bytes()
    }
}
