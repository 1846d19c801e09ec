//! The `window_funnel` result of one group ([`window_funnel_level`]): events sorted by
//! `(timestamp, mask)` and fed, as ClickHouse's sorted entry list would be
//! (`AggregateFunctionWindowFunnel.cpp`; module docs of [`crate::funnel`]), to one of two
//! scans: `greedy` for every mode but `strict_once`, `once` for `strict_once`.

use super::greedy::GreedyScan;
use super::once::OnceScan;
use super::scan::Scan;
use super::{FunnelEvents, FunnelOptions, MAX_FUNNEL_STAGES};

/// Computes the `window_funnel` level (0..=`stages`) of one group: the result
/// of ClickHouse's `windowFunnel(opts.window, modes…)(timestamp, cond1, …,
/// cond{stages})` over the group's events (see the module docs for the exact
/// semantics, the tie rule and each mode).
///
/// `events` is sorted in place (that is its only change). Mask bits at or
/// above `stages` are ignored. Returns 0 for `stages == 0` or no events.
/// Cost: O(n log n) for the sort (O(n) if the input was already in time
/// order) plus O(n · popcount) for the scan; in `strict_once` mode rows
/// sharing one timestamp and satisfying several conditions add work that
/// grows with the size of that tie group.
///
/// # Panics
/// If `stages > 32` (validate with [`FunnelOptions::check_stages`]).
pub fn window_funnel_level(
    events: &mut FunnelEvents,
    stages: usize,
    opts: &FunnelOptions,
) -> usize {
    assert!(
        stages <= MAX_FUNNEL_STAGES,
        "window_funnel supports at most {MAX_FUNNEL_STAGES} stages, got {stages}"
    );
    if stages == 0 || events.is_empty() {
        return 0;
    }
    events.sort();
    level_of_sorted(&events.rows, stages, opts)
}

fn level_of_sorted(rows: &[(i64, u32)], stages: usize, opts: &FunnelOptions) -> usize {
    let full: u32 = if stages >= 32 {
        u32::MAX
    } else {
        (1u32 << stages) - 1
    };
    if stages == 1 && !opts.strict_order {
        // ClickHouse's shortcut: any stored entry (which, outside
        // strict_order, is a cond1 match) gives level 1.
        return usize::from(rows.iter().any(|&(_, m)| m & full != 0));
    }
    if opts.strict_once {
        let mut m = OnceScan::new(stages, opts);
        drive(&mut m, rows, full, opts.strict_order)
    } else {
        let mut m = GreedyScan::new(stages, opts);
        drive(&mut m, rows, full, opts.strict_order)
    }
}

/// Feeds the sorted rows to `scan` as ClickHouse's sorted entry list would:
/// per timestamp, first the "no condition" entries (strict_order only), then
/// the entries of cond1, cond2, … each in row order.
fn drive<S: Scan>(scan: &mut S, rows: &[(i64, u32)], full: u32, strict_order: bool) -> usize {
    let n = rows.len();
    let mut i = 0;
    while i < n {
        let ts = rows[i].0;
        let mut j = i + 1;
        while j < n && rows[j].0 == ts {
            j += 1;
        }
        let group = &rows[i..j];
        if let [(_, mask)] = group {
            // Fast path: a timestamp shared by no other row.
            let mut bits = mask & full;
            if bits == 0 {
                if strict_order && let Some(level) = scan.unmatched() {
                    return level;
                }
            } else {
                while bits != 0 {
                    let stage = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if let Some(level) = scan.matched(ts, stage, i) {
                        return level;
                    }
                }
            }
        } else {
            let mut union = 0u32;
            let mut any_unmatched = false;
            for &(_, mask) in group {
                union |= mask & full;
                any_unmatched |= mask & full == 0;
            }
            // Several (ts, 0) entries act like one: the first either stops
            // the scan or is skipped, and nothing changes in between.
            if any_unmatched
                && strict_order
                && let Some(level) = scan.unmatched()
            {
                return level;
            }
            let mut bits = union;
            while bits != 0 {
                let stage = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for (k, &(_, mask)) in group.iter().enumerate() {
                    if mask & (1 << stage) != 0
                        && let Some(level) = scan.matched(ts, stage, i + k)
                    {
                        return level;
                    }
                }
            }
        }
        scan.end_timestamp();
        i = j;
    }
    scan.level()
}

#[cfg(test)]
mod tests;
