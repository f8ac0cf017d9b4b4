//! Work spread over every core in contiguous chunks, results in input order (so whatever is
//! built from them, a pack above all, stays byte-identical to a one-thread run).

/// Below this many items a job runs on the calling thread: spawning costs more than it saves.
const MIN_PARALLEL: usize = 256;

/// The number of threads the machine offers (at least one).
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `f` applied to every item, on up to [`threads`] threads, in the items' order.
pub fn map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    map_chunks(items, |chunk| chunk.iter().map(&f).collect())
}

/// `f` applied to contiguous chunks of `items` (one per thread), the results concatenated in
/// the items' order. `f` may keep state across the items of its chunk (a reused compressor).
pub fn map_chunks<T: Sync, R: Send>(items: &[T], f: impl Fn(&[T]) -> Vec<R> + Sync) -> Vec<R> {
    let n = threads();
    if n == 1 || items.len() < MIN_PARALLEL {
        return f(items);
    }
    let chunk = items.len().div_ceil(n);
    std::thread::scope(|scope| {
        let f = &f;
        let handles: Vec<_> = items
            .chunks(chunk)
            .skip(1)
            .map(|part| scope.spawn(move || f(part)))
            .collect();
        // The first chunk on this thread, while the others run.
        let mut out = f(&items[..chunk.min(items.len())]);
        out.reserve(items.len() - out.len());
        for h in handles {
            out.extend(
                h.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic)),
            );
        }
        out
    })
}

/// Chunks per thread for [`map_balanced`]: enough that a thread finishing early takes more.
const CHUNKS_PER_THREAD: usize = 16;

/// [`map_chunks`] over smaller contiguous chunks handed out as threads free up, the results
/// still in the items' order: for items of uneven cost (a sheet of long biographies next to
/// one of three-line records), where one chunk per thread leaves a core idle at the end.
/// Each thread makes its state once (`init`, e.g. a reader) and hands it to every chunk it
/// takes.
pub fn map_balanced<T: Sync, R: Send, S>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    f: impl Fn(&mut S, &[T]) -> Vec<R> + Sync,
) -> Vec<R> {
    let n = threads();
    if n == 1 || items.len() < MIN_PARALLEL {
        return f(&mut init(), items);
    }
    let size = items
        .len()
        .div_ceil(n * CHUNKS_PER_THREAD)
        .max(MIN_PARALLEL / 4);
    let chunks: Vec<&[T]> = items.chunks(size).collect();
    let parts = cli::par::map_with(&chunks, n, init, |state, chunk| f(state, chunk));
    // Sized once: a flattening collect cannot know the length and regrows as it goes.
    let mut out = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for part in parts {
        out.extend(part);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_keep_the_input_order() {
        let items: Vec<u64> = (0..10_007).collect();
        let squares = map(&items, |x| x * x);
        assert_eq!(squares, items.iter().map(|x| x * x).collect::<Vec<_>>());
        assert!(map(&[] as &[u64], |x| *x).is_empty());
        let small = map_chunks(&items[..3], |c| c.to_vec());
        assert_eq!(small, vec![0, 1, 2]);
        let balanced = map_balanced(&items, || 0, |_, c| c.iter().map(|x| x * x).collect());
        assert_eq!(balanced, squares);
        assert_eq!(
            map_balanced(&items[..3], || 0, |_, c| c.to_vec()),
            vec![0, 1, 2]
        );
    }
}
