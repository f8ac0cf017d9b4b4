//! Rows parsed on a second thread while the translator works through the ones before them:
//! parsing is a sizeable share of the translator's time and needs none of its state, so a
//! full snapshot's rows are parsed on the other core, in order, a chunk ahead.

use serde_json::{Map, Value};
use std::sync::mpsc::sync_channel;

use crate::input::Row;

/// A row's text parsed as a JSON object (the text was validated when read).
pub(crate) type Parsed = Result<Map<String, Value>, serde_json::Error>;

/// Rows handed over at a time: enough to make each hand-over cheap, few enough that the
/// parsed rows waiting in memory stay small.
const CHUNK: usize = 256;

/// Chunks parsed ahead of the translator at most.
const AHEAD: usize = 4;

fn parse(row: &Row) -> Parsed {
    serde_json::from_str(row.raw.get())
}

/// `each(row, parsed)` for every row, in order; a resource of more than one chunk is parsed
/// on a helper thread while `each` runs.
pub(crate) fn for_each_parsed(rows: &[Row], mut each: impl FnMut(&Row, Parsed)) {
    if rows.len() <= CHUNK {
        rows.iter().for_each(|row| each(row, parse(row)));
        return;
    }
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Vec<Parsed>>(AHEAD);
        s.spawn(move || {
            for chunk in rows.chunks(CHUNK) {
                // A closed channel: the translator stopped (it panicked); nothing to do.
                if tx.send(chunk.iter().map(parse).collect()).is_err() {
                    return;
                }
            }
        });
        for (row, parsed) in rows.iter().zip(rx.into_iter().flatten()) {
            each(row, parsed);
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Input;

    #[test]
    fn every_row_comes_parsed_in_order() {
        let mut text = String::new();
        for id in 0..(CHUNK * 3 + 7) {
            text.push_str(&format!(
                "{{\"v\":1,\"resource\":\"tags\",\"row\":{{\"ID\":{id}}}}}\n"
            ));
        }
        let input = Input::read(text.as_bytes()).unwrap();
        let mut ids = Vec::new();
        for_each_parsed(input.rows(crate::Resource::Tags), |row, parsed| {
            let parsed = parsed.unwrap();
            assert_eq!(parsed["ID"], row.value().unwrap()["ID"]);
            ids.push(parsed["ID"].as_u64().unwrap());
        });
        assert_eq!(ids, (0..(CHUNK * 3 + 7) as u64).collect::<Vec<_>>());
    }
}
