//! Rows parsed on a second thread while the translator works through the ones before them:
//! parsing is a sizeable share of the translator's time and needs none of its state, so a
//! full snapshot's rows are parsed on the other core, in order, a chunk ahead. The chunks
//! the translator is done with go back to that thread to be freed: tens of thousands of row
//! maps are otherwise freed on the translator's thread, memory another thread allocated.

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
/// (and freed) on a helper thread while `each` runs.
pub(crate) fn for_each_parsed(rows: &[Row], mut each: impl FnMut(&Row, &Parsed)) {
    if rows.len() <= CHUNK {
        rows.iter().for_each(|row| each(row, &parse(row)));
        return;
    }
    std::thread::scope(|s| {
        let (tx, rx) = sync_channel::<Vec<Parsed>>(AHEAD);
        let (done_tx, done_rx) = std::sync::mpsc::channel::<Vec<Parsed>>();
        s.spawn(move || {
            for chunk in rows.chunks(CHUNK) {
                // A closed channel: the translator stopped (it panicked); nothing to do.
                if tx.send(chunk.iter().map(parse).collect()).is_err() {
                    return;
                }
                done_rx.try_iter().for_each(drop);
            }
            // Closing the channel ends the translator's loop; free what it hands back until
            // it is done.
            drop(tx);
            done_rx.into_iter().for_each(drop);
        });
        let mut rows = rows.iter();
        for chunk in rx {
            // The chunk first: its end must not take a row from the next one.
            for (parsed, row) in chunk.iter().zip(rows.by_ref()) {
                each(row, parsed);
            }
            // The helper is gone only if it panicked, which the scope reports.
            let _ = done_tx.send(chunk);
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
            let parsed = parsed.as_ref().unwrap();
            assert_eq!(parsed["ID"], row.value().unwrap()["ID"]);
            ids.push(parsed["ID"].as_u64().unwrap());
        });
        assert_eq!(ids, (0..(CHUNK * 3 + 7) as u64).collect::<Vec<_>>());
    }
}
