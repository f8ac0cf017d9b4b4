//! Request slots shared by every resource fetched at once.
//!
//! `--concurrency N` bounds the requests in flight to laddr for the whole run, not per
//! resource, so fetching the six resources side by side asks no more of the server than
//! fetching them one after another did; `--delay-ms` spaces the requests of each slot, so
//! the politeness delay holds however many resources share the slots. A freed slot goes to
//! the waiting request of the earliest resource in foreign-key order, so resources finish
//! roughly in the order they are written.

use std::sync::{Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// At most `slots` holders at once, each slot's requests `delay` apart; waiters served by
/// rank (lower first).
pub(crate) struct Gate {
    state: Mutex<State>,
    freed: Condvar,
    delay: Duration,
}

struct State {
    /// The free slots, each with when its last request started.
    free: Vec<Option<Instant>>,
    /// Waiters per rank.
    waiting: Vec<usize>,
}

/// A held slot; dropping it frees the slot.
pub(crate) struct Slot<'a> {
    gate: &'a Gate,
    started: Instant,
}

impl Gate {
    /// `slots` slots (at least one) for waiters of ranks `0..ranks`, each slot's requests at
    /// least `delay` apart.
    pub(crate) fn new(slots: usize, ranks: usize, delay: Duration) -> Gate {
        Gate {
            state: Mutex::new(State {
                free: vec![None; slots.max(1)],
                waiting: vec![0; ranks.max(1)],
            }),
            freed: Condvar::new(),
            delay,
        }
    }

    /// Wait for a slot (one is taken when free and no lower rank is waiting), then until the
    /// slot's delay since its last request has passed.
    pub(crate) fn enter(&self, rank: usize) -> Slot<'_> {
        let mut s = self.lock();
        let rank = rank.min(s.waiting.len() - 1);
        s.waiting[rank] += 1;
        while s.free.is_empty() || s.waiting[..rank].iter().any(|&w| w > 0) {
            s = self.freed.wait(s).unwrap_or_else(|e| e.into_inner());
        }
        s.waiting[rank] -= 1;
        let last = s.free.pop().flatten();
        if !s.free.is_empty() {
            // Higher ranks held back by this waiter may go now.
            self.freed.notify_all();
        }
        drop(s);
        if let Some(wait) =
            last.and_then(|l| (l + self.delay).checked_duration_since(Instant::now()))
        {
            thread::sleep(wait);
        }
        Slot {
            gate: self,
            started: Instant::now(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // The state stays consistent across a panic (plain counters), so a poisoned lock is
        // still usable.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.gate.lock().free.push(Some(self.started));
        self.gate.freed.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::thread;
    use std::time::Duration;

    #[test]
    fn never_more_holders_than_slots() {
        let gate = Gate::new(3, 2, Duration::ZERO);
        let inside = AtomicUsize::new(0);
        let most = AtomicUsize::new(0);
        thread::scope(|s| {
            for t in 0..12 {
                let (gate, inside, most) = (&gate, &inside, &most);
                s.spawn(move || {
                    for _ in 0..20 {
                        let _slot = gate.enter(t % 2);
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        thread::sleep(Duration::from_micros(200));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                });
            }
        });
        assert_eq!(most.load(Ordering::SeqCst), 3);
        assert_eq!(inside.load(Ordering::SeqCst), 0);
    }

    #[test]
    fn a_freed_slot_goes_to_the_lowest_waiting_rank() {
        let gate = Gate::new(1, 3, Duration::ZERO);
        let order = Mutex::new(Vec::new());
        let held = gate.enter(0);
        thread::scope(|s| {
            // Rank 2 starts waiting first, rank 1 second: rank 1 still goes first.
            for rank in [2, 1] {
                let (gate, order) = (&gate, &order);
                s.spawn(move || {
                    let _slot = gate.enter(rank);
                    order.lock().unwrap().push(rank);
                });
                while gate.lock().waiting[rank] == 0 {
                    thread::yield_now();
                }
            }
            drop(held);
        });
        assert_eq!(*order.lock().unwrap(), vec![1, 2]);
    }

    #[test]
    fn each_slot_spaces_its_requests_by_the_delay() {
        let delay = Duration::from_millis(30);
        let gate = Gate::new(2, 1, delay);
        let starts = Mutex::new(Vec::new());
        thread::scope(|s| {
            for _ in 0..3 {
                s.spawn(|| {
                    for _ in 0..2 {
                        let slot = gate.enter(0);
                        starts.lock().unwrap().push(slot.started);
                    }
                });
            }
        });
        // Six requests on two slots: each slot starts three, so the last start is at least
        // two delays after the first, whichever threads asked.
        let starts = starts.into_inner().unwrap();
        let first = starts.iter().min().unwrap();
        let last = starts.iter().max().unwrap();
        assert_eq!(starts.len(), 6);
        assert!(*last - *first >= 2 * delay, "{:?}", *last - *first);
    }
}
