//! What the two `window_funnel` scans share: the [`Scan`] state machine that `level`'s entry
//! loop drives, implemented by `greedy` (every mode but `strict_once`) and `once`
//! (`strict_once`), and the inclusive window test [`within`] both use.

/// Inclusive window test `ts <= first + window`, without overflow.
#[inline]
pub(super) fn within(ts: i64, first: i64, window: i64) -> bool {
    i128::from(ts) <= i128::from(first) + i128::from(window)
}

/// One scan state machine (ClickHouse's per-entry loop body).
pub(super) trait Scan {
    /// An entry `(ts, 0)` (row matching no condition; strict_order only).
    /// `Some(level)` stops the scan with that result.
    fn unmatched(&mut self) -> Option<usize>;
    /// An entry for condition `stage + 1` (`stage` 0-based) from row `row`.
    fn matched(&mut self, ts: i64, stage: usize, row: usize) -> Option<usize>;
    /// All entries of one timestamp have been processed.
    fn end_timestamp(&mut self);
    /// Result when the scan ran to the end.
    fn level(&self) -> usize;
}
