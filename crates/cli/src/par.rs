//! Work on every core, each worker taking the next item as it finishes one (so one slow
//! item, a large photo or a slow URL, does not hold up a fixed share of the others); results
//! in input order. Shared by the media fetch (`laddr`) and the avatar processing.

use std::sync::atomic::{AtomicUsize, Ordering};

/// `f` over `items` on `threads` workers (at least one), each taking the next item as it
/// finishes one. Results come back in input order; a panicking `f` panics the caller (no
/// result is ever dropped).
pub fn map<T: Sync, R: Send>(items: &[T], threads: usize, f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_with(items, threads, || (), |_, item| f(item))
}

/// [`map`] where each worker makes its state once (`init`, e.g. a reader with its buffers)
/// and hands it to every item it takes.
pub fn map_with<T: Sync, R: Send, S>(
    items: &[T],
    threads: usize,
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &T) -> R + Sync,
) -> Vec<R> {
    let next = AtomicUsize::new(0);
    let workers = threads.clamp(1, items.len().max(1));
    let mut done: Vec<(usize, R)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..workers)
            .map(|_| {
                s.spawn(|| {
                    let mut state = init();
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some(item) = items.get(i) else {
                            return mine;
                        };
                        mine.push((i, f(&mut state, item)));
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(v) => v,
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    });
    done.sort_unstable_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

/// The machine's cores (1 when unknown).
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn order_is_kept_whatever_the_threads() {
        let items: Vec<u32> = (0..100).collect();
        for threads in [0, 1, 3, 16, 500] {
            let out = map(&items, threads, |x| x * 2);
            assert_eq!(out, (0..100).map(|x| x * 2).collect::<Vec<_>>());
        }
        assert!(map(&[] as &[u32], 4, |x| *x).is_empty());
    }

    #[test]
    fn each_worker_makes_its_state_once() {
        let items: Vec<u32> = (0..1000).collect();
        let made = AtomicUsize::new(0);
        let init = || made.fetch_add(1, Ordering::Relaxed);
        // Each item comes back with the state it was handed: one of the workers' own.
        let out = map_with(&items, 3, init, |worker, x| (*worker, x * 2));
        assert!((1..=3).contains(&made.load(Ordering::Relaxed)));
        assert!(out.iter().all(|(w, _)| *w < 3));
        let doubled: Vec<u32> = out.into_iter().map(|(_, x)| x).collect();
        assert_eq!(doubled, (0..1000).map(|x| x * 2).collect::<Vec<_>>());
    }
}
