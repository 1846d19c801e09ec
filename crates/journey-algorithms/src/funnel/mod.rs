//! Pure core of the `window_funnel` and `retention` aggregates, with the
//! semantics of ClickHouse's `windowFunnel` and `retention` aggregate functions.
//!
//! The module knows nothing about Arrow or DataFusion: a SQL wrapper evaluates
//! the condition expressions, turns every input row into one *event*
//! `(timestamp: i64, mask: u32)` and feeds it to a per-group [`FunnelEvents`]
//! (or [`RetentionState`]); at the end [`window_funnel_level`] (or
//! [`RetentionState::finish`]) produces the group's result.
//!
//! # Events
//!
//! * `timestamp` is an `i64` in any unit (seconds, milliseconds,
//!   nanoseconds, days…); the `window` must be given in the same unit.
//!   Unlike ClickHouse (unsigned timestamps only) negative timestamps are
//!   allowed; all arithmetic is done in `i128`, so nothing overflows.
//! * `mask` bit `k` (0-based) is set when the row satisfies condition `k + 1`
//!   (`cond1` is bit 0). One row may satisfy several conditions. Bits at or
//!   above `stages` are ignored. A row with mask `0` matters only in
//!   `strict_order` mode (see [`FunnelOptions::needs_unmatched_events`]);
//!   otherwise it is ignored, exactly like ClickHouse, which does not even
//!   store it.
//!
//! The per-group state is append-only and mergeable: two partial states of the
//! same group are simply concatenated ([`FunnelEvents::merge`]); the result
//! does not depend on insertion or merge order.
//!
//! # `window_funnel(window, mode…)(timestamp, cond1, …, condN)` semantics
//!
//! This follows ClickHouse's `AggregateFunctionWindowFunnel.cpp` (read at
//! commit `0215c755`, which includes the 2026 fix for issue #37177 and the
//! `allow_reentry` mode).
//!
//! **Terms.** Condition `condk` is funnel stage `k`. The number of funnel
//! stages a chain has reached is what ClickHouse calls its *level*; this
//! module keeps ClickHouse's word for that number (the scan's levels and
//! [`window_funnel_level`]), so that it reads beside ClickHouse's source.
//!
//! **Expansion and order.** ClickHouse turns each row into one *entry*
//! `(timestamp, k)` per satisfied condition `k` (1-based), plus, in
//! `strict_order` mode only, one entry `(timestamp, 0)` for a row that
//! satisfies no condition. Entries are sorted by the pair
//! `(timestamp, k)` (`std::stable_sort` on `std::pair`, i.e.
//! lexicographically). **Tie rule:** events with equal timestamps are
//! therefore processed in ascending condition index, whatever order the rows
//! arrived in: first the "no condition" entries, then every entry for
//! `cond1`, then every entry for `cond2`, and so on. In particular a single
//! row satisfying `cond1` and `cond2` first counts as stage 1 and then as
//! stage 2, so it can advance the funnel by two levels on its own (ClickHouse
//! test: `windowFunnel(10000)(ts, event = 1004, event = 1004, event = 1004)`
//! returns 3 for one row). This order is fully deterministic, so no choice
//! had to be made; this module reproduces it by sorting rows by
//! `(timestamp, mask)` and, within one timestamp, emitting entries by
//! ascending condition index.
//!
//! **Scan (default mode).** One pass over the entries keeps, for every level
//! `i`, the `(first, last)` timestamps of the chain that most recently
//! reached level `i` (`first` = timestamp of its stage-1 event, `last` = of its
//! stage-`i` event):
//!
//! * an entry for `cond1` starts a new chain: level 1 := `(t, t)` (a newer
//!   stage-1 event always replaces the older one, because a later start leaves
//!   more room in the window);
//! * an entry for `cond k` (k ≥ 2) extends level `k-1` if that level is
//!   reached and `t <= first(k-1) + window` (**the window is measured from the
//!   stage-1 event of the chain and is inclusive**: an event exactly `window`
//!   units after stage 1 counts, one unit later does not); then level `k` :=
//!   `(first(k-1), t)`. Reaching level N ends the scan.
//!
//! The result is the highest level reached (0 if `cond1` never held). For the
//! default mode this equals: the largest `k` such that there are rows
//! `r1, …, rk` (not necessarily distinct) with `ri` satisfying `cond i`,
//! `t(r1) <= t(r2) <= … <= t(rk)` and `t(rk) - t(r1) <= window`.
//!
//! **Modes** (any combination; names as in ClickHouse):
//!
//! * `strict_deduplication` (old name `strict`, accepted here as an alias,
//!   although current ClickHouse rejects it with "strict is replaced with
//!   strict_deduplication"): when an entry for `cond k` (k ≥ 2) arrives while
//!   level `k` is already reached, the scan stops and returns the highest
//!   level reached so far. A repeated `cond1` does not stop the scan; it
//!   restarts the chain as usual. (Before ClickHouse PR #99003 the returned
//!   value was the condition index of the previous entry; this module follows
//!   the fixed behaviour.)
//! * `strict_order`: rows satisfying no condition take part. Once some
//!   `cond1` has been seen, such a row stops the scan (result = highest level
//!   reached). An entry for `cond k` (k ≥ 2) whose level `k-1` is not reached
//!   (a stage "from the future") also stops the scan, returning the number of
//!   consecutive levels reached from level 1. Before the first `cond1`
//!   nothing stops the scan. Repeating an already-passed stage (including
//!   `cond1`) is *not* a violation.
//! * `allow_reentry` (requires `strict_order`): a "stage from the future" is
//!   skipped instead of stopping the scan. Rows satisfying no condition still
//!   stop it.
//! * `strict_increase`: a chain is only extended by an event with a timestamp
//!   strictly greater than the `last` timestamp of the chain stored at level
//!   `k-1`. As in ClickHouse this is checked against the *stored* chain only
//!   (the most recent one), not against all chains, so the result can be
//!   lower than a brute-force search with strictly increasing timestamps
//!   would find.
//! * `strict_once`: each row may be used at most once in a chain, even if it
//!   satisfies several conditions. ClickHouse then tracks *every* partial
//!   chain (not only the most recent) together with the rows it uses. This
//!   module computes the same result more cheaply: a chain's used rows and
//!   `last` timestamp only matter while the scan is still at the chain's own
//!   timestamp, so chains from earlier timestamps are summarised by the
//!   largest `first` per level, and chains created at the current timestamp
//!   are kept explicitly (with dominated ones discarded).
//!
//!   **The one place where ClickHouse's order is not defined:** in
//!   `strict_once` mode ClickHouse numbers rows in arrival order (renumbering
//!   on merge) and uses that number to order entries with the same timestamp
//!   *and* the same condition. This only changes the result together with
//!   `strict_deduplication` (whether the first of two tied entries for a stage
//!   extends a chain decides whether the second one is a "duplicate"). Arrival
//!   order is not deterministic under parallel aggregation, so this module
//!   orders such rows by their mask (ascending), i.e. by `(timestamp, mask)`.
//!
//! The checks are applied in ClickHouse's order for every entry `(t, k)`:
//! `k = 0` (no condition, `strict_order` only) → `k = 1` (start) →
//! `strict_deduplication` check → `strict_order` check → extension.
//!
//! Where the stored ClickHouse test reference (`00632_aggregation_window_funnel`,
//! commit `0882b32`) disagrees with that source, this module follows the
//! source; the affected cases are marked in the tests.
//!
//! # `retention(cond1, …, condN)` semantics
//!
//! The result is an array of N values 0/1: element 1 is 1 if `cond1` held for
//! any row of the group; element `k` (k ≥ 2) is 1 if `cond1` held for some row
//! **and** `condk` held for some (possibly different) row. Order and
//! timestamps play no role. See [`RetentionState`] and [`retention`].
//!
//! # Modules
//!
//! * `options`: [`FunnelMode`], [`FunnelOptions`] and [`conditions_mask`];
//! * `events`: [`FunnelEvents`], the per-group state;
//! * `level`: [`window_funnel_level`] and the entry loop shared by the two scans, `greedy`
//!   (every mode but `strict_once`) and `once` (`strict_once`);
//! * `scan`: the `Scan` trait both scans implement and the inclusive window test they share;
//! * `retention`: [`RetentionState`], [`retention`] and [`check_retention_conditions`].
//!
//! Every public item is re-exported here, so callers write `journey_algorithms::funnel::Name`.

mod events;
mod greedy;
mod level;
mod once;
mod options;
mod retention;
mod scan;
#[cfg(test)]
mod test_support;

pub use events::FunnelEvents;
pub use level::window_funnel_level;
pub use options::{FunnelMode, FunnelOptions, conditions_mask};
pub use retention::{RetentionState, check_retention_conditions, retention};

/// Largest number of funnel stages (conditions) `window_funnel` accepts; the
/// same limit as ClickHouse's `windowFunnel` (`MAX_EVENTS = 32`).
pub const MAX_FUNNEL_STAGES: usize = 32;

/// Largest number of conditions `retention` accepts; the same limit as
/// ClickHouse's `retention` (`max_events = 32`).
pub const MAX_RETENTION_CONDITIONS: usize = 32;

/// Errors raised while validating `window_funnel` / `retention` arguments.
///
/// They are meant to be raised once, when the SQL function is planned; the
/// per-group computations themselves cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FunnelError {
    /// A mode string other than `strict_deduplication` (or its old name
    /// `strict`), `strict_order`, `strict_increase`, `strict_once` or
    /// `allow_reentry` was given. Mode names are case-sensitive, as in
    /// ClickHouse.
    #[error(
        "window_funnel: unknown mode '{0}'; expected one of 'strict_deduplication' \
         (old name 'strict'), 'strict_order', 'strict_increase', 'strict_once', 'allow_reentry'"
    )]
    UnknownMode(String),
    /// The window (in timestamp units) was negative.
    #[error("window_funnel: the window must be >= 0 (in timestamp units), got {0}")]
    NegativeWindow(i64),
    /// `allow_reentry` was given without `strict_order` (ClickHouse rejects
    /// this combination too).
    #[error("window_funnel: mode 'allow_reentry' requires mode 'strict_order'")]
    AllowReentryWithoutStrictOrder,
    /// The number of conditions was 0 or above the maximum (32).
    #[error("{function}: got {given} conditions, but between 1 and {max} are supported")]
    ConditionCount {
        /// SQL function name (`window_funnel` or `retention`).
        function: &'static str,
        /// Number of conditions given.
        given: usize,
        /// Largest number accepted.
        max: usize,
    },
}
