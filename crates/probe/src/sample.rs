//! Deterministic sampling, the reference's `deterministicSample` (`reference/E` §1.5): each item
//! is scored with 32-bit FNV-1a over the UTF-16 code units of `<seed>:<index>:<item>`, the scores
//! are stable-sorted ascending and the first `n` taken, in score order.

/// 32-bit FNV-1a over the UTF-16 code units of `s` (as JavaScript's `charCodeAt` sees them).
pub fn fnv1a_utf16(s: &str) -> u32 {
    let mut h: u32 = 2_166_136_261;
    for unit in s.encode_utf16() {
        h ^= u32::from(unit);
        h = h.wrapping_mul(16_777_619);
    }
    h
}

/// Pick `n` of `items` for `seed`. All of them, in input order, when there are at most `n`.
pub fn deterministic_sample<T: Clone + std::fmt::Display>(
    items: &[T],
    n: usize,
    seed: &str,
) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    let mut scored: Vec<(u32, usize)> = items
        .iter()
        .enumerate()
        .map(|(i, item)| (fnv1a_utf16(&format!("{seed}:{i}:{item}")), i))
        .collect();
    // `sort_by_key` is stable, as JavaScript's Array.prototype.sort is.
    scored.sort_by_key(|&(score, _)| score);
    scored
        .into_iter()
        .take(n)
        .map(|(_, i)| items[i].clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    // Golden vectors from reference/E §2 (computed with the reference algorithm on Node 20).
    #[test]
    fn fnv_golden_vectors() {
        assert_eq!(fnv1a_utf16(""), 2_166_136_261);
        assert_eq!(fnv1a_utf16("a"), 3_826_002_220);
        assert_eq!(fnv1a_utf16("seed-1:0:a"), 3_469_959_769);
    }

    #[test]
    fn sample_golden_vectors() {
        let letters: Vec<&str> = vec!["a", "b", "c", "d", "e", "f", "g", "h"];
        assert_eq!(deterministic_sample(&letters, 3, "seed-1"), ["g", "d", "e"]);
        assert_eq!(
            deterministic_sample(&letters, 3, "seed-99"),
            ["a", "g", "d"]
        );
        let span: Vec<u32> = (1..=30).collect();
        let seed = "2026-05-18T00:00:00.000Z:smoke";
        assert_eq!(
            deterministic_sample(&span, 10, &format!("{seed}:people")),
            [15, 9, 19, 7, 14, 28, 25, 1, 12, 8]
        );
        assert_eq!(
            deterministic_sample(&span, 10, &format!("{seed}:projects")),
            [6, 28, 21, 18, 5, 23, 20, 12, 8, 24]
        );
    }

    #[test]
    fn all_items_when_n_is_large() {
        assert_eq!(deterministic_sample(&["a", "b"], 5, "seed"), ["a", "b"]);
    }
}
