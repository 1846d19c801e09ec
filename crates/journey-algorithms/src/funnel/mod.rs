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
//!   above `steps` are ignored. A row with mask `0` matters only in
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
//! **Expansion and order.** ClickHouse turns each row into one *entry*
//! `(timestamp, k)` per satisfied condition `k` (1-based), plus, in
//! `strict_order` mode only, one entry `(timestamp, 0)` for a row that
//! satisfies no condition. Entries are sorted by the pair
//! `(timestamp, k)` (`std::stable_sort` on `std::pair`, i.e.
//! lexicographically). **Tie rule:** events with equal timestamps are
//! therefore processed in ascending condition index, whatever order the rows
//! arrived in: first the "no condition" entries, then every entry for
//! `cond1`, then every entry for `cond2`, and so on. In particular a single
//! row satisfying `cond1` and `cond2` first counts as step 1 and then as
//! step 2, so it can advance the funnel by two levels on its own (ClickHouse
//! test: `windowFunnel(10000)(ts, event = 1004, event = 1004, event = 1004)`
//! returns 3 for one row). This order is fully deterministic, so no choice
//! had to be made; this module reproduces it by sorting rows by
//! `(timestamp, mask)` and, within one timestamp, emitting entries by
//! ascending condition index.
//!
//! **Scan (default mode).** One pass over the entries keeps, for every level
//! `i`, the `(first, last)` timestamps of the chain that most recently
//! reached level `i` (`first` = timestamp of its step-1 event, `last` = of its
//! step-`i` event):
//!
//! * an entry for `cond1` starts a new chain: level 1 := `(t, t)` (a newer
//!   step-1 event always replaces the older one, because a later start leaves
//!   more room in the window);
//! * an entry for `cond k` (k ≥ 2) extends level `k-1` if that level is
//!   reached and `t <= first(k-1) + window` (**the window is measured from the
//!   step-1 event of the chain and is inclusive**: an event exactly `window`
//!   units after step 1 counts, one unit later does not); then level `k` :=
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
//!   (a step "from the future") also stops the scan, returning the number of
//!   consecutive levels reached from level 1. Before the first `cond1`
//!   nothing stops the scan. Repeating an already-passed step (including
//!   `cond1`) is *not* a violation.
//! * `allow_reentry` (requires `strict_order`): a "step from the future" is
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
//!   `strict_deduplication` (whether the first of two tied entries for a step
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

use std::fmt;

/// Largest number of funnel steps (conditions) `window_funnel` accepts; the
/// same limit as ClickHouse's `windowFunnel` (`MAX_EVENTS = 32`).
pub const MAX_FUNNEL_STEPS: usize = 32;

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

/// One `window_funnel` mode, as named in ClickHouse's `windowFunnel(window,
/// mode, …)`. Modes combine; [`FunnelOptions`] holds the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunnelMode {
    /// `'strict_deduplication'` (old name `'strict'`): a repeated step stops
    /// the scan (see the module docs).
    StrictDeduplication,
    /// `'strict_order'`: no other event may come between two steps.
    StrictOrder,
    /// `'strict_increase'`: steps need strictly increasing timestamps.
    StrictIncrease,
    /// `'strict_once'`: one row counts for at most one step of a chain.
    StrictOnce,
    /// `'allow_reentry'`: with `strict_order`, skip out-of-order steps
    /// instead of stopping.
    AllowReentry,
}

impl FunnelMode {
    /// All modes, in ClickHouse's documentation order.
    pub const ALL: [FunnelMode; 5] = [
        FunnelMode::StrictDeduplication,
        FunnelMode::StrictOrder,
        FunnelMode::StrictIncrease,
        FunnelMode::StrictOnce,
        FunnelMode::AllowReentry,
    ];

    /// Parses a mode name exactly as ClickHouse spells it (case-sensitive).
    /// `"strict"` is accepted as the old name of `strict_deduplication`.
    ///
    /// # Errors
    /// [`FunnelError::UnknownMode`] for any other string.
    pub fn parse(name: &str) -> Result<Self, FunnelError> {
        Ok(match name {
            "strict_deduplication" | "strict" => FunnelMode::StrictDeduplication,
            "strict_order" => FunnelMode::StrictOrder,
            "strict_increase" => FunnelMode::StrictIncrease,
            "strict_once" => FunnelMode::StrictOnce,
            "allow_reentry" => FunnelMode::AllowReentry,
            other => return Err(FunnelError::UnknownMode(other.to_string())),
        })
    }

    /// The mode's canonical ClickHouse name, e.g. `"strict_order"`.
    pub fn name(self) -> &'static str {
        match self {
            FunnelMode::StrictDeduplication => "strict_deduplication",
            FunnelMode::StrictOrder => "strict_order",
            FunnelMode::StrictIncrease => "strict_increase",
            FunnelMode::StrictOnce => "strict_once",
            FunnelMode::AllowReentry => "allow_reentry",
        }
    }
}

impl fmt::Display for FunnelMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters of one `window_funnel(window, mode…)` call: the window (in the
/// timestamp's unit, inclusive, measured from the chain's step-1 event) and
/// the set of modes. See the module docs for what each mode does.
///
/// Build it with [`FunnelOptions::parse_modes`] (validating) or by setting the
/// public fields directly (then call [`FunnelOptions::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FunnelOptions {
    /// Window length in timestamp units; an event at exactly
    /// `first + window` still counts. Must be `>= 0`.
    pub window: i64,
    /// Mode `strict_deduplication` (old name `strict`).
    pub strict_deduplication: bool,
    /// Mode `strict_order`.
    pub strict_order: bool,
    /// Mode `strict_increase`.
    pub strict_increase: bool,
    /// Mode `strict_once`.
    pub strict_once: bool,
    /// Mode `allow_reentry` (requires `strict_order`).
    pub allow_reentry: bool,
}

impl FunnelOptions {
    /// Default mode (no flags) with the given window.
    ///
    /// # Errors
    /// [`FunnelError::NegativeWindow`] if `window < 0`.
    pub fn new(window: i64) -> Result<Self, FunnelError> {
        let opts = FunnelOptions {
            window,
            ..FunnelOptions::default()
        };
        opts.validate()?;
        Ok(opts)
    }

    /// Builds options from the window and ClickHouse mode strings, e.g.
    /// `parse_modes(3600, &["strict_order", "allow_reentry"])`. Repeated modes
    /// are harmless.
    ///
    /// # Errors
    /// [`FunnelError::UnknownMode`] for an unknown name,
    /// [`FunnelError::NegativeWindow`] if `window < 0`,
    /// [`FunnelError::AllowReentryWithoutStrictOrder`] if `allow_reentry` is
    /// given without `strict_order`.
    pub fn parse_modes(window: i64, modes: &[&str]) -> Result<Self, FunnelError> {
        let parsed = modes
            .iter()
            .map(|m| FunnelMode::parse(m))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_modes(window, &parsed)
    }

    /// Like [`FunnelOptions::parse_modes`] but with already-parsed modes.
    ///
    /// # Errors
    /// As [`FunnelOptions::validate`].
    pub fn from_modes(window: i64, modes: &[FunnelMode]) -> Result<Self, FunnelError> {
        let mut opts = FunnelOptions {
            window,
            ..FunnelOptions::default()
        };
        for &m in modes {
            opts.set_mode(m);
        }
        opts.validate()?;
        Ok(opts)
    }

    /// Turns one mode on (no validation; call [`FunnelOptions::validate`]).
    pub fn set_mode(&mut self, mode: FunnelMode) {
        match mode {
            FunnelMode::StrictDeduplication => self.strict_deduplication = true,
            FunnelMode::StrictOrder => self.strict_order = true,
            FunnelMode::StrictIncrease => self.strict_increase = true,
            FunnelMode::StrictOnce => self.strict_once = true,
            FunnelMode::AllowReentry => self.allow_reentry = true,
        }
    }

    /// The modes that are on, in [`FunnelMode::ALL`] order.
    pub fn modes(&self) -> Vec<FunnelMode> {
        FunnelMode::ALL
            .into_iter()
            .filter(|m| match m {
                FunnelMode::StrictDeduplication => self.strict_deduplication,
                FunnelMode::StrictOrder => self.strict_order,
                FunnelMode::StrictIncrease => self.strict_increase,
                FunnelMode::StrictOnce => self.strict_once,
                FunnelMode::AllowReentry => self.allow_reentry,
            })
            .collect()
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`FunnelError::NegativeWindow`] if `window < 0`;
    /// [`FunnelError::AllowReentryWithoutStrictOrder`] if `allow_reentry` is
    /// on without `strict_order`.
    pub fn validate(&self) -> Result<(), FunnelError> {
        if self.window < 0 {
            return Err(FunnelError::NegativeWindow(self.window));
        }
        if self.allow_reentry && !self.strict_order {
            return Err(FunnelError::AllowReentryWithoutStrictOrder);
        }
        Ok(())
    }

    /// Checks a `window_funnel` condition count: 1 to [`MAX_FUNNEL_STEPS`]
    /// (32), as in ClickHouse.
    ///
    /// # Errors
    /// [`FunnelError::ConditionCount`] otherwise.
    pub fn check_steps(steps: usize) -> Result<(), FunnelError> {
        if (1..=MAX_FUNNEL_STEPS).contains(&steps) {
            Ok(())
        } else {
            Err(FunnelError::ConditionCount {
                function: "window_funnel",
                given: steps,
                max: MAX_FUNNEL_STEPS,
            })
        }
    }

    /// Whether rows that satisfy no condition (mask `0`) influence the result.
    /// True only with `strict_order`; otherwise a wrapper may skip such rows
    /// instead of pushing them (pushing them is harmless, just wasted memory).
    pub fn needs_unmatched_events(&self) -> bool {
        self.strict_order
    }
}

/// Packs per-condition booleans into a mask: bit `k` is `conds[k]`
/// (`cond1` = bit 0).
///
/// # Panics
/// If `conds.len() > 32`; validate the condition count first with
/// [`FunnelOptions::check_steps`] or [`check_retention_conditions`].
pub fn conditions_mask(conds: &[bool]) -> u32 {
    assert!(
        conds.len() <= 32,
        "at most 32 conditions fit in a mask, got {}",
        conds.len()
    );
    conds
        .iter()
        .enumerate()
        .fold(0u32, |m, (k, &c)| if c { m | (1 << k) } else { m })
}

/// Per-group state of `window_funnel`: the group's events as
/// `(timestamp, condition mask)` pairs (16 bytes each), append-only and
/// mergeable.
///
/// The state tracks whether the events are already sorted by
/// `(timestamp, mask)`, so that the common case of time-ordered input needs
/// no sort at the end. The result of [`window_funnel_level`] does not depend
/// on the push or merge order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelEvents {
    rows: Vec<(i64, u32)>,
    sorted: bool,
}

impl Default for FunnelEvents {
    fn default() -> Self {
        Self::new()
    }
}

impl FunnelEvents {
    /// An empty state (no allocation).
    pub const fn new() -> Self {
        FunnelEvents {
            rows: Vec::new(),
            sorted: true,
        }
    }

    /// An empty state with room for `capacity` events.
    pub fn with_capacity(capacity: usize) -> Self {
        FunnelEvents {
            rows: Vec::with_capacity(capacity),
            sorted: true,
        }
    }

    /// Builds a state from `(timestamp, mask)` pairs in any order (e.g. a
    /// deserialized intermediate state).
    pub fn from_rows(rows: Vec<(i64, u32)>) -> Self {
        let sorted = rows.windows(2).all(|w| w[0] <= w[1]);
        FunnelEvents { rows, sorted }
    }

    /// Appends one event: `timestamp` in any unit (the window's unit), `mask`
    /// bit `k` set when the row satisfies condition `k + 1`. Rows with mask 0
    /// only matter in `strict_order` mode.
    #[inline]
    pub fn push(&mut self, timestamp: i64, mask: u32) {
        if self.sorted
            && let Some(&last) = self.rows.last()
            && last > (timestamp, mask)
        {
            self.sorted = false;
        }
        self.rows.push((timestamp, mask));
    }

    /// Appends one event given as per-condition booleans (`conds[0]` is
    /// `cond1`).
    ///
    /// # Panics
    /// If `conds.len() > 32`.
    pub fn push_conditions(&mut self, timestamp: i64, conds: &[bool]) {
        self.push(timestamp, conditions_mask(conds));
    }

    /// Merges another partial state of the same group into this one
    /// (concatenation; the result is independent of merge order).
    pub fn merge(&mut self, other: &FunnelEvents) {
        if other.rows.is_empty() {
            return;
        }
        let boundary_ok = match (self.rows.last(), other.rows.first()) {
            (Some(a), Some(b)) => a <= b,
            _ => true,
        };
        self.sorted = self.sorted && other.sorted && boundary_ok;
        self.rows.extend_from_slice(&other.rows);
    }

    /// Number of stored events.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no event has been stored.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// Removes all events, keeping the allocation.
    pub fn clear(&mut self) {
        self.rows.clear();
        self.sorted = true;
    }

    /// The stored `(timestamp, mask)` pairs, in the current internal order
    /// (insertion order, or sorted after [`FunnelEvents::sort`] /
    /// [`window_funnel_level`]). Use it to serialize an intermediate state;
    /// rebuild it with [`FunnelEvents::from_rows`].
    pub fn rows(&self) -> &[(i64, u32)] {
        &self.rows
    }

    /// Heap plus inline size of this state in bytes (for memory accounting,
    /// e.g. DataFusion's `GroupsAccumulator::size`).
    pub fn allocated_bytes(&self) -> usize {
        std::mem::size_of::<Self>() + self.rows.capacity() * std::mem::size_of::<(i64, u32)>()
    }

    /// Releases unused capacity.
    pub fn shrink_to_fit(&mut self) {
        self.rows.shrink_to_fit();
    }

    /// Sorts the events by `(timestamp, mask)` if they are not sorted yet.
    pub fn sort(&mut self) {
        if !self.sorted {
            self.rows.sort_unstable();
            self.sorted = true;
        }
    }
}

/// Computes the `window_funnel` level (0..=`steps`) of one group: the result
/// of ClickHouse's `windowFunnel(opts.window, modes…)(timestamp, cond1, …,
/// cond{steps})` over the group's events (see the module docs for the exact
/// semantics, the tie rule and each mode).
///
/// `events` is sorted in place (that is its only change). Mask bits at or
/// above `steps` are ignored. Returns 0 for `steps == 0` or no events.
/// Cost: O(n log n) for the sort (O(n) if the input was already in time
/// order) plus O(n · popcount) for the scan; in `strict_once` mode rows
/// sharing one timestamp and satisfying several conditions add work that
/// grows with the size of that tie group.
///
/// # Panics
/// If `steps > 32` (validate with [`FunnelOptions::check_steps`]).
pub fn window_funnel_level(events: &mut FunnelEvents, steps: usize, opts: &FunnelOptions) -> usize {
    assert!(
        steps <= MAX_FUNNEL_STEPS,
        "window_funnel supports at most {MAX_FUNNEL_STEPS} steps, got {steps}"
    );
    if steps == 0 || events.is_empty() {
        return 0;
    }
    events.sort();
    level_of_sorted(&events.rows, steps, opts)
}

fn level_of_sorted(rows: &[(i64, u32)], steps: usize, opts: &FunnelOptions) -> usize {
    let full: u32 = if steps >= 32 {
        u32::MAX
    } else {
        (1u32 << steps) - 1
    };
    if steps == 1 && !opts.strict_order {
        // ClickHouse's shortcut: any stored entry (which, outside
        // strict_order, is a cond1 match) gives level 1.
        return usize::from(rows.iter().any(|&(_, m)| m & full != 0));
    }
    if opts.strict_once {
        let mut m = OnceScan::new(steps, opts);
        drive(&mut m, rows, full, opts.strict_order)
    } else {
        let mut m = GreedyScan::new(steps, opts);
        drive(&mut m, rows, full, opts.strict_order)
    }
}

/// Inclusive window test `ts <= first + window`, without overflow.
#[inline]
fn within(ts: i64, first: i64, window: i64) -> bool {
    i128::from(ts) <= i128::from(first) + i128::from(window)
}

/// One scan state machine (ClickHouse's per-entry loop body).
trait Scan {
    /// An entry `(ts, 0)` (row matching no condition; strict_order only).
    /// `Some(level)` stops the scan with that result.
    fn unmatched(&mut self) -> Option<usize>;
    /// An entry for condition `step + 1` (`step` 0-based) from row `row`.
    fn matched(&mut self, ts: i64, step: usize, row: usize) -> Option<usize>;
    /// All entries of one timestamp have been processed.
    fn end_timestamp(&mut self);
    /// Result when the scan ran to the end.
    fn level(&self) -> usize;
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
                    let step = bits.trailing_zeros() as usize;
                    bits &= bits - 1;
                    if let Some(level) = scan.matched(ts, step, i) {
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
                let step = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                for (k, &(_, mask)) in group.iter().enumerate() {
                    if mask & (1 << step) != 0
                        && let Some(level) = scan.matched(ts, step, i + k)
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

/// ClickHouse's `getEventLevelNonStrictOnce`: per level, the (first, last)
/// timestamps of the most recent chain reaching it.
struct GreedyScan {
    steps: usize,
    opts: FunnelOptions,
    first: [i64; MAX_FUNNEL_STEPS],
    last: [i64; MAX_FUNNEL_STEPS],
    /// Bit `k` set = level `k + 1` reached.
    reached: u32,
    first_event: bool,
}

impl GreedyScan {
    fn new(steps: usize, opts: &FunnelOptions) -> Self {
        GreedyScan {
            steps,
            opts: *opts,
            first: [0; MAX_FUNNEL_STEPS],
            last: [0; MAX_FUNNEL_STEPS],
            reached: 0,
            first_event: false,
        }
    }

    /// Highest level reached.
    #[inline]
    fn highest(&self) -> usize {
        (32 - self.reached.leading_zeros()) as usize
    }
}

impl Scan for GreedyScan {
    #[inline]
    fn unmatched(&mut self) -> Option<usize> {
        self.first_event.then(|| self.highest())
    }

    #[inline]
    fn matched(&mut self, ts: i64, step: usize, _row: usize) -> Option<usize> {
        if step == 0 {
            self.first[0] = ts;
            self.last[0] = ts;
            self.reached |= 1;
            self.first_event = true;
            return None;
        }
        let bit = 1u32 << step;
        let prev = 1u32 << (step - 1);
        if self.opts.strict_deduplication && self.reached & bit != 0 {
            return Some(self.highest());
        }
        if self.opts.strict_order && self.first_event && self.reached & prev == 0 {
            if self.opts.allow_reentry {
                return None;
            }
            // Number of consecutive levels reached from level 1.
            return Some(self.reached.trailing_ones() as usize);
        }
        if self.reached & prev != 0 {
            let first = self.first[step - 1];
            let ok = within(ts, first, self.opts.window)
                && (!self.opts.strict_increase || self.last[step - 1] < ts);
            if ok {
                self.first[step] = first;
                self.last[step] = ts;
                self.reached |= bit;
                if step + 1 == self.steps {
                    return Some(self.steps);
                }
            }
        }
        None
    }

    #[inline]
    fn end_timestamp(&mut self) {}

    fn level(&self) -> usize {
        self.highest()
    }
}

/// A partial chain created at the timestamp currently being scanned
/// (strict_once mode).
#[derive(Debug, Clone)]
struct Chain {
    first: i64,
    /// Rows (indices into the sorted rows) used by the chain at the current
    /// timestamp, sorted. Rows from earlier timestamps can never be reused,
    /// so they need not be remembered.
    used: Vec<usize>,
}

/// `a ⊆ b` for sorted slices.
fn is_subset(a: &[usize], b: &[usize]) -> bool {
    let mut it = b.iter();
    a.iter().all(|x| it.any(|y| y == x))
}

/// ClickHouse's `getEventLevelStrictOnce`, with chains from earlier
/// timestamps summarised by their largest `first` per level (their `last`
/// timestamps are all smaller than the current one and their rows cannot be
/// reused, so any of them extends exactly when the one with the largest
/// `first` does), and dominated chains of the current timestamp dropped.
struct OnceScan {
    steps: usize,
    opts: FunnelOptions,
    /// Per level: largest `first` of chains created at earlier timestamps.
    old: Vec<Option<i64>>,
    /// Per level: chains created at the current timestamp.
    cur: Vec<Vec<Chain>>,
    has_first_event: bool,
}

impl OnceScan {
    fn new(steps: usize, opts: &FunnelOptions) -> Self {
        OnceScan {
            steps,
            opts: *opts,
            old: vec![None; steps],
            cur: vec![Vec::new(); steps],
            has_first_event: false,
        }
    }

    fn nonempty(&self, level: usize) -> bool {
        self.old[level].is_some() || !self.cur[level].is_empty()
    }

    fn highest(&self) -> usize {
        (0..self.steps)
            .rev()
            .find(|&k| self.nonempty(k))
            .map_or(0, |k| k + 1)
    }

    fn first_empty(&self) -> usize {
        (0..self.steps)
            .find(|&k| !self.nonempty(k))
            .unwrap_or(self.steps)
    }

    /// Adds a chain at `level` unless an existing one dominates it (larger or
    /// equal `first` and a subset of its rows: every extension of the new
    /// chain is then also an extension of the existing one).
    fn insert(&mut self, level: usize, chain: Chain) {
        if self.old[level].is_some_and(|f| f >= chain.first) {
            return; // an earlier chain (no used rows) dominates it
        }
        let list = &mut self.cur[level];
        if list
            .iter()
            .any(|c| c.first >= chain.first && is_subset(&c.used, &chain.used))
        {
            return;
        }
        list.retain(|c| !(chain.first >= c.first && is_subset(&chain.used, &c.used)));
        list.push(chain);
    }
}

impl Scan for OnceScan {
    fn unmatched(&mut self) -> Option<usize> {
        self.has_first_event.then(|| self.highest())
    }

    fn matched(&mut self, ts: i64, step: usize, row: usize) -> Option<usize> {
        if step == 0 {
            self.insert(
                0,
                Chain {
                    first: ts,
                    used: vec![row],
                },
            );
            self.has_first_event = true;
            return None;
        }
        if self.opts.strict_deduplication && self.nonempty(step) {
            return Some(self.highest());
        }
        if self.opts.strict_order && self.has_first_event && !self.nonempty(step - 1) {
            if self.opts.allow_reentry {
                return None;
            }
            return Some(self.first_empty());
        }
        if !self.nonempty(step - 1) {
            return None;
        }
        let window = self.opts.window;
        let mut new_chains = Vec::new();
        if let Some(first) = self.old[step - 1]
            && within(ts, first, window)
        {
            // strict_increase holds: that chain's last timestamp is < ts.
            new_chains.push(Chain {
                first,
                used: vec![row],
            });
        }
        if !self.opts.strict_increase {
            // Chains of the current timestamp have last == ts, so they can
            // only be extended without strict_increase.
            for c in &self.cur[step - 1] {
                if within(ts, c.first, window) && !c.used.contains(&row) {
                    let mut used = c.used.clone();
                    let pos = used.partition_point(|&r| r < row);
                    used.insert(pos, row);
                    new_chains.push(Chain {
                        first: c.first,
                        used,
                    });
                }
            }
        }
        if new_chains.is_empty() {
            return None;
        }
        for c in new_chains {
            self.insert(step, c);
        }
        if step + 1 == self.steps {
            return Some(self.steps);
        }
        None
    }

    fn end_timestamp(&mut self) {
        for k in 0..self.steps {
            if let Some(m) = self.cur[k].iter().map(|c| c.first).max() {
                self.old[k] = Some(self.old[k].map_or(m, |o| o.max(m)));
            }
            self.cur[k].clear();
        }
    }

    fn level(&self) -> usize {
        self.highest()
    }
}

/// Checks a `retention` condition count: 1 to [`MAX_RETENTION_CONDITIONS`]
/// (32). (ClickHouse documents 1 to 32; its code currently rejects a single
/// condition, which this module allows.)
///
/// # Errors
/// [`FunnelError::ConditionCount`] otherwise.
pub fn check_retention_conditions(n: usize) -> Result<(), FunnelError> {
    if (1..=MAX_RETENTION_CONDITIONS).contains(&n) {
        Ok(())
    } else {
        Err(FunnelError::ConditionCount {
            function: "retention",
            given: n,
            max: MAX_RETENTION_CONDITIONS,
        })
    }
}

/// Per-group state of `retention(cond1, …, condN)`: the OR of all row masks
/// (bit `k` = `cond{k+1}` held for at least one row). 4 bytes, mergeable by
/// OR, exactly ClickHouse's `AggregateFunctionRetentionData`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct RetentionState {
    seen: u32,
}

impl RetentionState {
    /// An empty state (no condition seen).
    pub const fn new() -> Self {
        RetentionState { seen: 0 }
    }

    /// Rebuilds a state from its serialized bits (see [`RetentionState::bits`]).
    pub const fn from_bits(bits: u32) -> Self {
        RetentionState { seen: bits }
    }

    /// The state as a bit set (bit `k` = `cond{k+1}` seen), for serialization.
    pub const fn bits(&self) -> u32 {
        self.seen
    }

    /// Records one row: `mask` bit `k` set when the row satisfies `cond{k+1}`.
    #[inline]
    pub fn push(&mut self, mask: u32) {
        self.seen |= mask;
    }

    /// Records one row given as per-condition booleans.
    ///
    /// # Panics
    /// If `conds.len() > 32`.
    pub fn push_conditions(&mut self, conds: &[bool]) {
        self.push(conditions_mask(conds));
    }

    /// Merges another partial state of the same group (bitwise OR).
    pub fn merge(&mut self, other: &RetentionState) {
        self.seen |= other.seen;
    }

    /// The `retention` result for `n` conditions: `[c1, c1 && c2, …, c1 && cn]`
    /// as 0/1 bytes, where `ck` = condition `k` held for some row.
    ///
    /// # Errors
    /// [`FunnelError::ConditionCount`] unless `1 <= n <= 32`.
    pub fn finish(&self, n: usize) -> Result<Vec<u8>, FunnelError> {
        check_retention_conditions(n)?;
        let first = self.seen & 1 != 0;
        Ok((0..n)
            .map(|k| u8::from(first && self.seen & (1 << k) != 0))
            .collect())
    }
}

/// One-shot `retention(cond1, …, condN)` over a group's row masks (bit `k`
/// set when the row satisfies `cond{k+1}`; bits at or above `n` ignored).
/// Returns N values 0/1: element 1 = `cond1` held for some row; element
/// `k ≥ 2` = `cond1` held for some row and `condk` held for some row.
///
/// # Errors
/// [`FunnelError::ConditionCount`] unless `1 <= n <= 32`.
pub fn retention(masks: impl IntoIterator<Item = u32>, n: usize) -> Result<Vec<u8>, FunnelError> {
    let mut state = RetentionState::new();
    for m in masks {
        state.push(m);
    }
    state.finish(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    // ----------------------------------------------------------------- helpers

    fn opts(window: i64, modes: &[&str]) -> FunnelOptions {
        FunnelOptions::parse_modes(window, modes).unwrap()
    }

    /// Pushes the rows in the given order and computes the level.
    fn level(rows: &[(i64, u32)], steps: usize, o: &FunnelOptions) -> usize {
        let mut e = FunnelEvents::new();
        for &(t, m) in rows {
            e.push(t, m);
        }
        window_funnel_level(&mut e, steps, o)
    }

    /// `windowFunnel(window, modes…)(ts, cond1, …)` with arbitrary conditions
    /// over `(timestamp, value)` rows.
    fn wf<V>(
        rows: &[(i64, V)],
        window: i64,
        modes: &[&str],
        conds: &[&dyn Fn(&V) -> bool],
    ) -> usize {
        let masks: Vec<(i64, u32)> = rows
            .iter()
            .map(|(t, v)| {
                let m = conds
                    .iter()
                    .enumerate()
                    .fold(0u32, |m, (k, c)| if c(v) { m | (1 << k) } else { m });
                (*t, m)
            })
            .collect();
        level(&masks, conds.len(), &opts(window, modes))
    }

    /// `windowFunnel(window, modes…)(ts, event = s1, event = s2, …)`.
    fn wf_eq<V: PartialEq>(rows: &[(i64, V)], window: i64, modes: &[&str], steps: &[V]) -> usize {
        let masks: Vec<(i64, u32)> = rows
            .iter()
            .map(|(t, v)| {
                let m = steps
                    .iter()
                    .enumerate()
                    .fold(0u32, |m, (k, s)| if v == s { m | (1 << k) } else { m });
                (*t, m)
            })
            .collect();
        level(&masks, steps.len(), &opts(window, modes))
    }

    /// Per-user rows `(user, [(ts, event)])` → per-user levels.
    fn per_user(
        users: &[(u32, Vec<(i64, &'static str)>)],
        window: i64,
        modes: &[&str],
        steps: &[&str],
    ) -> Vec<(u32, usize)> {
        users
            .iter()
            .map(|(u, rows)| (*u, wf_eq(rows, window, modes, steps)))
            .collect()
    }

    // =====================================================================
    // ClickHouse tests/queries/0_stateless/00632_aggregation_window_funnel
    // (.sql + .reference, reference read at commit 0882b32, which echoes
    // every query). Each assert carries the query; expected = .reference
    // unless marked "SOURCE ≠ REFERENCE".
    // =====================================================================

    // create table funnel_test (timestamp UInt32, event UInt32) engine=Memory;
    // insert into funnel_test values (0,1000),(1,1001),(2,1002),(3,1003),(4,1004),(5,1005),(6,1006),(7,1007),(8,1008);
    fn funnel_test() -> Vec<(i64, u32)> {
        (0..=8).map(|k| (k, 1000 + k as u32)).collect()
    }

    #[test]
    fn ch00632_funnel_test() {
        let t = funnel_test();
        // select 1 = windowFunnel(10000)(timestamp, event = 1000) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 10000, &[], &[1000]), 1);
        // select 2 = windowFunnel(10000)(timestamp, event = 1000, event = 1001) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 10000, &[], &[1000, 1001]), 2);
        // select 3 = windowFunnel(10000)(timestamp, event = 1000, event = 1001, event = 1002) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 10000, &[], &[1000, 1001, 1002]), 3);
        // select 4 = windowFunnel(10000)(timestamp, event = 1000, event = 1001, event = 1002, event = 1008) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 10000, &[], &[1000, 1001, 1002, 1008]), 4);
        // select 1 = windowFunnel(1)(timestamp, event = 1000) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 1, &[], &[1000]), 1);
        // select 3 = windowFunnel(2)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 2, &[], &[1003, 1004, 1005, 1006, 1007]), 3);
        // select 4 = windowFunnel(3)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 3, &[], &[1003, 1004, 1005, 1006, 1007]), 4);
        // select 5 = windowFunnel(4)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from funnel_test;  -> 1
        assert_eq!(wf_eq(&t, 4, &[], &[1003, 1004, 1005, 1006, 1007]), 5);
    }

    /// The same five queries run on funnel_test2 (DateTime) and
    /// funnel_test_u64 (UInt64 around 1e14); only the timestamp base differs.
    fn five_queries(t: &[(i64, u32)]) {
        // select 5 = windowFunnel(4)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from …;  -> 1
        assert_eq!(wf_eq(t, 4, &[], &[1003, 1004, 1005, 1006, 1007]), 5);
        // select 2 = windowFunnel(10000)(timestamp, event = 1001, event = 1008) from …;  -> 1
        assert_eq!(wf_eq(t, 10000, &[], &[1001, 1008]), 2);
        // select 1 = windowFunnel(10000)(timestamp, event = 1008, event = 1001) from …;  -> 1
        assert_eq!(wf_eq(t, 10000, &[], &[1008, 1001]), 1);
        // select 5 = windowFunnel(4)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from …;  -> 1
        assert_eq!(wf_eq(t, 4, &[], &[1003, 1004, 1005, 1006, 1007]), 5);
        // select 4 = windowFunnel(4)(timestamp, event <= 1007, event >= 1002, event <= 1006, event >= 1004) from …;  -> 1
        assert_eq!(
            wf(
                t,
                4,
                &[],
                &[
                    &|e: &u32| *e <= 1007,
                    &|e: &u32| *e >= 1002,
                    &|e: &u32| *e <= 1006,
                    &|e: &u32| *e >= 1004
                ]
            ),
            4
        );
    }

    #[test]
    fn ch00632_funnel_test2_datetime() {
        // create table funnel_test2 (uid UInt32 default 1,timestamp DateTime, event UInt32) engine=Memory;
        // insert into funnel_test2(timestamp, event) values ('2018-01-01 01:01:01',1001),…,('2018-01-01 01:01:08',1008);
        // DateTime is seconds since the epoch: 2018-01-01 01:01:01 UTC = 1514768461.
        let base = 1_514_768_461i64;
        let t: Vec<(i64, u32)> = (1..=8).map(|k| (base + k - 1, 1000 + k as u32)).collect();
        five_queries(&t);
    }

    #[test]
    fn ch00632_funnel_test_u64() {
        // create table funnel_test_u64 (uid UInt32 default 1,timestamp UInt64, event UInt32) engine=Memory;
        // insert into funnel_test_u64(timestamp, event) values ( 1e14 + 1 ,1001),(1e14 + 2,1002),…,(1e14 + 8,1008);
        let t: Vec<(i64, u32)> = (1..=8)
            .map(|k| (100_000_000_000_000 + k, 1000 + k as u32))
            .collect();
        five_queries(&t);
    }

    #[test]
    fn ch00632_funnel_test_strict() {
        // insert into funnel_test_strict values (00,1000),(10,1001),(20,1002),(30,1003),(40,1004),(50,1005),(51,1005),(60,1006),(70,1007),(80,1008);
        let t: Vec<(i64, u32)> = vec![
            (0, 1000),
            (10, 1001),
            (20, 1002),
            (30, 1003),
            (40, 1004),
            (50, 1005),
            (51, 1005),
            (60, 1006),
            (70, 1007),
            (80, 1008),
        ];
        let steps = [1000, 1001, 1002, 1003, 1004, 1005, 1006];
        // select 6 = windowFunnel(10000, 'strict_deduplication')(timestamp, event = 1000, …, event = 1006) from funnel_test_strict;  -> 1
        // (1005 at t=51 repeats step 6 → stop at level 6)
        assert_eq!(wf_eq(&t, 10000, &["strict_deduplication"], &steps), 6);
        // Older .sql spelling: windowFunnel(10000, 'strict')(…) → 6 (accepted here as an alias).
        assert_eq!(wf_eq(&t, 10000, &["strict"], &steps), 6);
        // select 7 = windowFunnel(10000)(timestamp, event = 1000, …, event = 1006) from funnel_test_strict;  -> 1
        assert_eq!(wf_eq(&t, 10000, &[], &steps), 7);
    }

    // create table funnel_test_strict_order (dt DateTime, user int, event String) …;
    fn strict_order_users() -> Vec<(u32, Vec<(i64, &'static str)>)> {
        vec![
            // insert into funnel_test_strict_order values (1, 1, 'a') (2, 1, 'b') (3, 1, 'c');
            (1, vec![(1, "a"), (2, "b"), (3, "c")]),
            // insert … (1, 2, 'a') (2, 2, 'd') (3, 2, 'b') (4, 2, 'c');
            (2, vec![(1, "a"), (2, "d"), (3, "b"), (4, "c")]),
            // insert … (1, 3, 'a') (2, 3, 'a') (3, 3, 'b') (4, 3, 'b') (5, 3, 'c') (6, 3, 'c');
            (
                3,
                vec![(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")],
            ),
            // insert … (1, 4, 'a') (2, 4, 'a') (3, 4, 'a') (4, 4, 'a') (5, 4, 'b') (6, 4, 'b') (7, 4, 'c') (8, 4, 'c');
            (
                4,
                vec![
                    (1, "a"),
                    (2, "a"),
                    (3, "a"),
                    (4, "a"),
                    (5, "b"),
                    (6, "b"),
                    (7, "c"),
                    (8, "c"),
                ],
            ),
            // insert … (1, 5, 'a') (2, 5, 'a') (3, 5, 'b') (4, 5, 'b') (5, 5, 'd') (6, 5, 'c') (7, 5, 'c');
            (
                5,
                vec![
                    (1, "a"),
                    (2, "a"),
                    (3, "b"),
                    (4, "b"),
                    (5, "d"),
                    (6, "c"),
                    (7, "c"),
                ],
            ),
            // insert … (1, 6, 'c') (2, 6, 'c') (3, 6, 'b') (4, 6, 'b') (5, 6, 'a') (6, 6, 'a');
            (
                6,
                vec![(1, "c"), (2, "c"), (3, "b"), (4, "b"), (5, "a"), (6, "a")],
            ),
        ]
    }

    #[test]
    fn ch00632_funnel_test_strict_order() {
        let users = strict_order_users();
        let abc = ["a", "b", "c"];
        // select user, windowFunnel(86400)(dt, event='a', event='b', event='c') as s … group by user order by user;
        // -> [1, 3] [2, 3] [3, 3] [4, 3] [5, 3] [6, 1]
        assert_eq!(
            per_user(&users, 86400, &[], &abc),
            vec![(1, 3), (2, 3), (3, 3), (4, 3), (5, 3), (6, 1)]
        );
        // select user, windowFunnel(86400, 'strict_order')(dt, event='a', event='b', event='c') …;
        // -> [1, 3] [2, 1] [3, 3] [4, 3] [5, 2] [6, 1]
        assert_eq!(
            per_user(&users, 86400, &["strict_order"], &abc),
            vec![(1, 3), (2, 1), (3, 3), (4, 3), (5, 2), (6, 1)]
        );
        // select user, windowFunnel(86400, 'strict_deduplication', 'strict_order')(dt, event='a', event='b', event='c') …;
        // (older .sql: windowFunnel(86400, 'strict', 'strict_order'))
        // -> [1, 3] [2, 1] [3, 2] [4, 2] [5, 2] [6, 1]
        let expected = vec![(1, 3), (2, 1), (3, 2), (4, 2), (5, 2), (6, 1)];
        assert_eq!(
            per_user(
                &users,
                86400,
                &["strict_deduplication", "strict_order"],
                &abc
            ),
            expected
        );
        assert_eq!(
            per_user(&users, 86400, &["strict", "strict_order"], &abc),
            expected
        );
        // insert into funnel_test_strict_order values (1, 7, 'a') (2, 7, 'c') (3, 7, 'b');
        // select user, windowFunnel(10, 'strict_order')(dt, event = 'a', event = 'b', event = 'c') … where user = 7 …;  -> [7, 1]
        let u7 = vec![(1, "a"), (2, "c"), (3, "b")];
        assert_eq!(wf_eq(&u7, 10, &["strict_order"], &abc), 1);
    }

    #[test]
    fn ch00632_strict_bite_the_dddd() {
        // --https://github.com/ClickHouse/ClickHouse/issues/27469
        // create table strict_BiteTheDDDD (ts UInt64, event String) engine = Log();
        // insert into strict_BiteTheDDDD values (1,'a') (2,'b') (3,'c') (4,'b') (5,'d');
        let t = vec![(1, "a"), (2, "b"), (3, "c"), (4, "b"), (5, "d")];
        // select 3 = windowFunnel(86400, 'strict_deduplication')(ts, event='a', event='b', event='c', event='d') from strict_BiteTheDDDD;  -> [1]
        assert_eq!(
            wf_eq(&t, 86400, &["strict_deduplication"], &["a", "b", "c", "d"]),
            3
        );
    }

    #[test]
    fn ch00632_funnel_test_non_null() {
        // create table funnel_test_non_null (`dt` DateTime, `u` int, `a` Nullable(String), `b` Nullable(String)) …;
        // Left out: the Nullable → UInt8 evaluation of the conditions. It happens
        // in the SQL layer before the core; the current test wraps nullable
        // columns in COALESCE (or uses IS NULL), so every condition is a plain
        // boolean, which is what is ported here.
        type NullableRow = (Option<&'static str>, Option<&'static str>);
        type Row = (i64, NullableRow);
        let users: Vec<(u32, Vec<Row>)> = vec![
            // insert … (1, 1, 'a1', 'b1') (2, 1, 'a2', 'b2');
            (
                1,
                vec![(1, (Some("a1"), Some("b1"))), (2, (Some("a2"), Some("b2")))],
            ),
            // insert … (1, 2, 'a1', null) (2, 2, 'a2', null);
            (2, vec![(1, (Some("a1"), None)), (2, (Some("a2"), None))]),
            // insert … (1, 3, null, null);
            (3, vec![(1, (None, None))]),
            // insert … (1, 4, null, 'b1') (2, 4, 'a2', null) (3, 4, null, 'b3');
            (
                4,
                vec![
                    (1, (None, Some("b1"))),
                    (2, (Some("a2"), None)),
                    (3, (None, Some("b3"))),
                ],
            ),
        ];
        let coalesce = |x: Option<&str>| x.unwrap_or("").to_string();
        let run = |modes: &[&str], conds: &[&dyn Fn(&NullableRow) -> bool]| {
            users
                .iter()
                .map(|(u, rows)| (*u, wf(rows, 86400, modes, conds)))
                .collect::<Vec<_>>()
        };
        // select u, windowFunnel(86400)(dt, COALESCE(a, '') = 'a1', COALESCE(a, '') = 'a2') as s …;
        // -> [1, 2] [2, 2] [3, 0] [4, 0]
        assert_eq!(
            run(
                &[],
                &[&|r| coalesce(r.0) == "a1", &|r| coalesce(r.0) == "a2"]
            ),
            vec![(1, 2), (2, 2), (3, 0), (4, 0)]
        );
        // select u, windowFunnel(86400)(dt, COALESCE(a, '') = 'a1', COALESCE(b, '') = 'b2') as s …;
        // -> [1, 2] [2, 1] [3, 0] [4, 0]
        assert_eq!(
            run(
                &[],
                &[&|r| coalesce(r.0) == "a1", &|r| coalesce(r.1) == "b2"]
            ),
            vec![(1, 2), (2, 1), (3, 0), (4, 0)]
        );
        // select u, windowFunnel(86400)(dt, a is null and b is null) as s …;
        // -> [1, 0] [2, 0] [3, 1] [4, 0]
        assert_eq!(
            run(&[], &[&|r| r.0.is_none() && r.1.is_none()]),
            vec![(1, 0), (2, 0), (3, 1), (4, 0)]
        );
        // select u, windowFunnel(86400)(dt, a is null, COALESCE(b, '') = 'b3') as s …;
        // -> [1, 0] [2, 0] [3, 1] [4, 2]
        assert_eq!(
            run(&[], &[&|r| r.0.is_none(), &|r| coalesce(r.1) == "b3"]),
            vec![(1, 0), (2, 0), (3, 1), (4, 2)]
        );
        // select u, windowFunnel(86400, 'strict_order')(dt, a is null, COALESCE(b, '') = 'b3') as s …;
        // -> [1, 0] [2, 0] [3, 1] [4, 1]   (u4: the row at dt=2 matches nothing → stop)
        assert_eq!(
            run(
                &["strict_order"],
                &[&|r| r.0.is_none(), &|r| coalesce(r.1) == "b3"]
            ),
            vec![(1, 0), (2, 0), (3, 1), (4, 1)]
        );
    }

    #[test]
    fn ch00632_funnel_test_strict_increase() {
        // create table funnel_test_strict_increase (timestamp UInt32, event UInt32) engine=Memory;
        // insert into funnel_test_strict_increase values (0,1000),(1,1001),(1,1002),(1,1003),(2,1004);
        let t: Vec<(i64, u32)> = vec![(0, 1000), (1, 1001), (1, 1002), (1, 1003), (2, 1004)];
        let five = [1000, 1001, 1002, 1003, 1004];
        // select 5 = windowFunnel(10000)(timestamp, event = 1000, event = 1001, event = 1002, event = 1003, event = 1004) …;  -> 1
        assert_eq!(wf_eq(&t, 10000, &[], &five), 5);
        // select 2 = windowFunnel(10000, 'strict_increase')(timestamp, event = 1000, …, event = 1004) …;  -> 1
        assert_eq!(wf_eq(&t, 10000, &["strict_increase"], &five), 2);
        // select 3 = windowFunnel(10000)(timestamp, event = 1004, event = 1004, event = 1004) …;  -> 1
        // (one row satisfies all three conditions and counts as steps 1, 2, 3)
        assert_eq!(wf_eq(&t, 10000, &[], &[1004, 1004, 1004]), 3);
        // select 1 = windowFunnel(10000, 'strict_once')(timestamp, event = 1004, event = 1004, event = 1004) …;  -> 1
        assert_eq!(wf_eq(&t, 10000, &["strict_once"], &[1004, 1004, 1004]), 1);
        // select 1 = windowFunnel(10000, 'strict_increase')(timestamp, event = 1004, event = 1004, event = 1004) …;  -> 1
        assert_eq!(
            wf_eq(&t, 10000, &["strict_increase"], &[1004, 1004, 1004]),
            1
        );
        // Not ported (older .sql only): `set allow_experimental_funnel_functions = 0;
        // select … 'strict_increase' … -- { serverError 63 }` — a ClickHouse
        // server setting gate, not funnel semantics.
    }

    #[test]
    fn ch00632_strict_once_failure_success() {
        // create table funnel_test2 (event_ts UInt32, result String, uid UInt32) engine=Memory;
        // insert … arrayJoin([(100,'failure',234),(200,'success',345),(210,'failure',345),(230,'success',345),
        //                     (250,'failure',234),(180,'failure',123),(220,'failure',123),(250,'success',123)])
        let rows: Vec<(i64, &str, u32)> = vec![
            (100, "failure", 234),
            (200, "success", 345),
            (210, "failure", 345),
            (230, "success", 345),
            (250, "failure", 234),
            (180, "failure", 123),
            (220, "failure", 123),
            (250, "success", 123),
        ];
        let run = |modes: &[&str]| {
            [123u32, 234, 345]
                .iter()
                .map(|&uid| {
                    // WHERE event_ts >= 0 AND event_ts <= 300 keeps every row.
                    let r: Vec<(i64, &str)> = rows
                        .iter()
                        .filter(|x| x.2 == uid)
                        .map(|x| (x.0, x.1))
                        .collect();
                    (
                        uid,
                        wf_eq(&r, 200, modes, &["failure", "failure", "success"]),
                    )
                })
                .collect::<Vec<_>>()
        };
        let expected = vec![(123, 3), (234, 2), (345, 1)];
        // SELECT uid, windowFunnel(200, 'strict_once', 'strict_increase')( toUInt32(event_ts), result='failure', result='failure', result='success' ) … GROUP BY uid ORDER BY uid;
        // -> 123 3 / 234 2 / 345 1
        assert_eq!(run(&["strict_once", "strict_increase"]), expected);
        // SELECT uid, windowFunnel(200, 'strict_once')( … ) …;  -> 123 3 / 234 2 / 345 1
        assert_eq!(run(&["strict_once"]), expected);
        // SELECT uid, windowFunnel(200, 'strict_once', 'strict_deduplication')( … ) …;  -> 123 3 / 234 2 / 345 1
        assert_eq!(run(&["strict_once", "strict_deduplication"]), expected);
        // Without strict_once, uid 345's single 'failure' row counts as steps 1 and 2:
        assert_eq!(run(&[])[2], (345, 3));
    }

    // -- Test allow_reentry mode
    // create table funnel_test_allow_reentry (dt DateTime, user int, event String) …;
    fn reentry_users() -> Vec<(u32, Vec<(i64, &'static str)>)> {
        vec![
            // insert … (1, 1, 'a') (2, 1, 'b') (3, 1, 'a') (4, 1, 'c');
            (1, vec![(1, "a"), (2, "b"), (3, "a"), (4, "c")]),
            // insert … (1, 2, 'a') (2, 2, 'b') (3, 2, 'a') (4, 2, 'b') (5, 2, 'c');
            (2, vec![(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "c")]),
            // insert … (1, 3, 'a') (2, 3, 'b') (3, 3, 'c') (4, 3, 'b') (5, 3, 'd');
            (3, vec![(1, "a"), (2, "b"), (3, "c"), (4, "b"), (5, "d")]),
            // insert … (1, 4, 'a') (2, 4, 'c') (3, 4, 'b');
            (4, vec![(1, "a"), (2, "c"), (3, "b")]),
            // insert … (1, 5, 'a') (2, 5, 'b') (3, 5, 'c') (4, 5, 'a') (5, 5, 'b') (6, 5, 'c') (7, 5, 'd');
            (
                5,
                vec![
                    (1, "a"),
                    (2, "b"),
                    (3, "c"),
                    (4, "a"),
                    (5, "b"),
                    (6, "c"),
                    (7, "d"),
                ],
            ),
        ]
    }

    // SOURCE ≠ REFERENCE. The stored .reference for the allow_reentry and
    // e-commerce blocks was produced by a ClickHouse build in which (a) under
    // strict_order a repeated step-1 event after level 2 stopped the scan and
    // allow_reentry skipped it, while a "step from the future" stopped the
    // scan even with allow_reentry, and (b) strict_deduplication still
    // returned the previous entry's condition index (pre-#99003). The newest
    // source read (commit 0215c755), and the docs' allow_reentry example
    // ("with allow_reentry: reaches level 4"), behave as documented in the
    // module docs instead: re-entering step 1 simply restarts the chain, and
    // allow_reentry skips steps from the future. We follow the source; each
    // assert below gives the .reference value and the reason where they differ.

    #[test]
    fn ch00632_allow_reentry() {
        let users = reentry_users();
        let abc = ["a", "b", "c"];
        let abcd = ["a", "b", "c", "d"];
        // select user, windowFunnel(86400, 'strict_order')(dt, event='a', event='b', event='c') as strict_order_result …;
        // .reference: [1, 2] [2, 2] [3, 3] [4, 1] [5, 3]
        // source: u1 a b a c → the second 'a' restarts step 1, 'c' still extends the
        // a(1)→b(2) chain → 3; u2 likewise → 3.
        assert_eq!(
            per_user(&users, 86400, &["strict_order"], &abc),
            vec![(1, 3), (2, 3), (3, 3), (4, 1), (5, 3)]
        );
        // select user, windowFunnel(86400, 'strict_order', 'allow_reentry')(dt, event='a', event='b', event='c') as allow_reentry_result …;
        // .reference: [1, 3] [2, 3] [3, 3] [4, 1] [5, 3]
        // source: u4 a c b → 'c' (step 3 before step 2) is skipped, 'b' → level 2.
        assert_eq!(
            per_user(&users, 86400, &["strict_order", "allow_reentry"], &abc),
            vec![(1, 3), (2, 3), (3, 3), (4, 2), (5, 3)]
        );
        // select user, windowFunnel(86400, 'strict_order')(dt, event='a', event='b', event='c', event='d') as strict_order_4step …;
        // .reference: [1, 2] [2, 2] [3, 4] [4, 1] [5, 3]
        // source: u1, u2 → 3 (as above, 'd' never comes); u5 a b c a b c d → the
        // restart at 4 leads to a b c d = 4.
        assert_eq!(
            per_user(&users, 86400, &["strict_order"], &abcd),
            vec![(1, 3), (2, 3), (3, 4), (4, 1), (5, 4)]
        );
        // select user, windowFunnel(86400, 'strict_order', 'allow_reentry')(dt, event='a', event='b', event='c', event='d') as allow_reentry_4step …;
        // .reference: [1, 3] [2, 3] [3, 4] [4, 1] [5, 4]
        // source: u4 → 2 (as above).
        assert_eq!(
            per_user(&users, 86400, &["strict_order", "allow_reentry"], &abcd),
            vec![(1, 3), (2, 3), (3, 4), (4, 2), (5, 4)]
        );
        // select user, windowFunnel(86400, 'strict_order', 'allow_reentry', 'strict_deduplication')(dt, event='a', event='b', event='c') as combined_modes …;
        // .reference: [1, 3] [2, 1] [3, 3] [4, 1] [5, 3]
        // source: u2 a b a b c → the second 'b' repeats step 2 → stop with the
        // highest level reached, 2 (the pre-#99003 code returned the previous
        // entry's condition index, 'a' = 1); u4 → 2 (as above).
        assert_eq!(
            per_user(
                &users,
                86400,
                &["strict_order", "allow_reentry", "strict_deduplication"],
                &abc
            ),
            vec![(1, 3), (2, 2), (3, 3), (4, 2), (5, 3)]
        );
    }

    #[test]
    fn ch00632_ecommerce() {
        // create table funnel_test_ecommerce (timestamp UInt32, user_id UInt32, action String) engine=Memory;
        let users: Vec<(u32, Vec<(i64, &str)>)> = vec![
            // insert … (100, 1, 'begin_checkout') (200, 1, 'view_product_detail') (300, 1, 'begin_checkout') (400, 1, 'complete_payment');
            (
                1,
                vec![
                    (100, "begin_checkout"),
                    (200, "view_product_detail"),
                    (300, "begin_checkout"),
                    (400, "complete_payment"),
                ],
            ),
            // insert … (100, 2, 'begin_checkout') (200, 2, 'view_product_detail') (250, 2, 'view_product_detail') (300, 2, 'begin_checkout') (400, 2, 'complete_payment');
            (
                2,
                vec![
                    (100, "begin_checkout"),
                    (200, "view_product_detail"),
                    (250, "view_product_detail"),
                    (300, "begin_checkout"),
                    (400, "complete_payment"),
                ],
            ),
            // insert … (100, 3, 'begin_checkout') (200, 3, 'view_product_detail') (300, 3, 'complete_payment');
            (
                3,
                vec![
                    (100, "begin_checkout"),
                    (200, "view_product_detail"),
                    (300, "complete_payment"),
                ],
            ),
        ];
        let three = ["begin_checkout", "view_product_detail", "complete_payment"];
        let four = [
            "begin_checkout",
            "view_product_detail",
            "begin_checkout",
            "complete_payment",
        ];
        // select user_id, windowFunnel(600, 'strict_order')(timestamp, action='begin_checkout', action='view_product_detail', action='complete_payment') as normal_funnel …;
        // .reference: [1, 2] [2, 2] [3, 3]   SOURCE ≠ REFERENCE: u1/u2 the second
        // begin_checkout restarts step 1; payment at 400 still extends the chain
        // begun at 100 (400 <= 100 + 600) → 3.
        assert_eq!(
            per_user(&users, 600, &["strict_order"], &three),
            vec![(1, 3), (2, 3), (3, 3)]
        );
        // select user_id, windowFunnel(600, 'strict_order', 'allow_reentry')(…3 steps…) as reentry_funnel …;
        // -> [1, 3] [2, 3] [3, 3]
        assert_eq!(
            per_user(&users, 600, &["strict_order", "allow_reentry"], &three),
            vec![(1, 3), (2, 3), (3, 3)]
        );
        // select user_id, windowFunnel(600, 'strict_order')(timestamp, action='begin_checkout', action='view_product_detail', action='begin_checkout', action='complete_payment') as normal_4step …;
        // -> [1, 1] [2, 1] [3, 1]   (the first begin_checkout row also matches
        // step 3, whose step 2 is not reached yet → stop at 1)
        assert_eq!(
            per_user(&users, 600, &["strict_order"], &four),
            vec![(1, 1), (2, 1), (3, 1)]
        );
        // select user_id, windowFunnel(600, 'strict_order', 'allow_reentry')(…4 steps…) as reentry_4step …;
        // .reference: [1, 1] [2, 1] [3, 1]   SOURCE ≠ REFERENCE: allow_reentry
        // skips the early step-3 match; u1/u2: begin(100) view(200)
        // begin(300, step 3) payment(400) → 4 (the docs' example says "With
        // allow_reentry: reaches level 4"); u3 has no second begin_checkout → 2.
        assert_eq!(
            per_user(&users, 600, &["strict_order", "allow_reentry"], &four),
            vec![(1, 4), (2, 4), (3, 2)]
        );
    }

    #[test]
    fn ch01646_fix_window_funnel_inconsistency() {
        // tests/queries/0_stateless/01646_fix_window_funnel_inconistency.sql (.reference: "2\t1\n---\n2\t1")
        // insert into trend values ('2019-01-28', 1, '2019-01-29 10:00:00', 1004, 'phone')
        //   ('2019-01-28', 1, '2019-01-29 10:00:00', 1003, 'phone') ('2019-01-28', 1, '2019-01-28 10:00:00', 1002, 'phone');
        // SELECT level, count() FROM (SELECT user_id, windowFunnel(6048000000000000)(timestamp, eventID = 1004, eventID = 1003, eventID = 1002) AS level …) → level 2
        let t29 = 1_548_756_000i64; // 2019-01-29 10:00:00 UTC
        let t28 = t29 - 86_400;
        let rows = vec![(t29, 1004u32), (t29, 1003), (t28, 1002)];
        assert_eq!(
            wf_eq(&rows, 6_048_000_000_000_000, &[], &[1004, 1003, 1002]),
            2
        );
        // Same rows, the two tied rows inserted the other way round → still 2
        // (ties are ordered by condition index, not by arrival).
        let rows = vec![(t29, 1003u32), (t29, 1004), (t28, 1002)];
        assert_eq!(
            wf_eq(&rows, 6_048_000_000_000_000, &[], &[1004, 1003, 1002]),
            2
        );
    }

    #[test]
    fn docs_window_funnel_example() {
        // parametric-functions.md: windowFunnel(6048000000000000)(timestamp, eventID = 1003,
        // eventID = 1009, eventID = 1007, eventID = 1010) over the 'trend' rows → level 4.
        let h = 3600i64;
        let day = 86_400i64;
        let jan29_10 = 1_548_756_000i64;
        let rows = vec![
            (jan29_10, 1003u32),                // 2019-01-29 10:00:00
            (jan29_10 + 2 * day - h, 1007),     // 2019-01-31 09:00:00
            (jan29_10 + day - 2 * h, 1009),     // 2019-01-30 08:00:00
            (jan29_10 + 3 * day - 2 * h, 1010), // 2019-02-01 08:00:00
        ];
        assert_eq!(
            wf_eq(&rows, 6_048_000_000_000_000, &[], &[1003, 1009, 1007, 1010]),
            4
        );
    }

    // =====================================================================
    // Hand-worked fixtures
    // =====================================================================

    const S1: u32 = 1;
    const S2: u32 = 2;
    const S3: u32 = 4;
    const S4: u32 = 8;
    const NONE: u32 = 0;

    #[test]
    fn window_boundary_is_inclusive_and_measured_from_step_one() {
        let o = opts(10, &[]);
        // Step 2 exactly `window` after step 1: 110 <= 100 + 10 → counts.
        assert_eq!(level(&[(100, S1), (110, S2)], 2, &o), 2);
        // One unit more: 111 > 110 → does not count.
        assert_eq!(level(&[(100, S1), (111, S2)], 2, &o), 1);
        // The window is measured from step 1, not from the previous step:
        // 100 → 105 → 111: 111 − 105 = 6 ≤ 10 but 111 − 100 = 11 > 10 → 2.
        assert_eq!(level(&[(100, S1), (105, S2), (111, S3)], 3, &o), 2);
        // …and step 3 at exactly 100 + 10 → 3.
        assert_eq!(level(&[(100, S1), (105, S2), (110, S3)], 3, &o), 3);
        // window 0: only events sharing the step-1 timestamp count.
        let o0 = opts(0, &[]);
        assert_eq!(level(&[(5, S1), (5, S2), (6, S3)], 3, &o0), 2);
        // Nanosecond timestamps near i64::MAX with a huge window: no overflow.
        let big = opts(i64::MAX, &[]);
        assert_eq!(level(&[(i64::MAX - 1, S1), (i64::MAX, S2)], 2, &big), 2);
        assert_eq!(level(&[(i64::MIN, S1), (i64::MAX, S2)], 2, &big), 1);
    }

    #[test]
    fn later_step_one_restarts_the_window() {
        // Window 5: the chain from t=0 cannot reach t=10, but the newer step-1
        // event at t=8 replaces it and 10 − 8 ≤ 5 → 2.
        assert_eq!(level(&[(0, S1), (8, S1), (10, S2)], 2, &opts(5, &[])), 2);
        // An older chain's progress is kept when the restart does not get as
        // far: s1@0, s2@1, s1@2 → level 2 stays reached.
        assert_eq!(level(&[(0, S1), (1, S2), (2, S1)], 3, &opts(5, &[])), 2);
    }

    #[test]
    fn out_of_order_input_is_sorted_by_timestamp() {
        // Pushed in reverse: s3@3, s2@2, s1@1 → sorted → 3.
        assert_eq!(level(&[(3, S3), (2, S2), (1, S1)], 3, &opts(10, &[])), 3);
    }

    #[test]
    fn ties_are_ordered_by_condition_index() {
        let o = opts(10, &[]);
        // Two rows at t=5; the step-2 row arrives first. ClickHouse sorts the
        // entries (5, cond1) < (5, cond2), so step 1 is processed first → 2.
        assert_eq!(level(&[(5, S2), (5, S1)], 2, &o), 2);
        // One row satisfying cond1 and cond2 → steps 1 and 2 at once.
        assert_eq!(level(&[(5, S1 | S2)], 2, &o), 2);
        // cond3 and cond1 at t=5, cond2 at t=6: (5,1) (5,3) (6,2) → the step-3
        // entry came before step 2 was reached → 2.
        assert_eq!(level(&[(5, S3), (5, S1), (6, S2)], 3, &o), 2);
        // strict_increase: equal timestamps never extend a chain.
        assert_eq!(
            level(&[(5, S2), (5, S1)], 2, &opts(10, &["strict_increase"])),
            1
        );
        // strict_order: an unmatched row sorts before matches at the same
        // timestamp: s1@0, then at t=5 {s2, nothing} → the "nothing" entry is
        // processed first and stops the scan → 1, whatever the arrival order.
        let so = opts(10, &["strict_order"]);
        assert_eq!(level(&[(0, S1), (5, S2), (5, NONE)], 2, &so), 1);
        assert_eq!(level(&[(0, S1), (5, NONE), (5, S2)], 2, &so), 1);
        // …but an unmatched row tied with the first step-1 row comes before
        // it, i.e. before the funnel started, and is ignored → 2.
        assert_eq!(level(&[(5, S1), (5, NONE), (6, S2)], 2, &so), 2);
    }

    #[test]
    fn mode_strict_deduplication() {
        let o = opts(100, &["strict_deduplication"]);
        // a b b c: the second b repeats step 2 → stop at 2 (default mode: 3).
        let rows = [(1, S1), (2, S2), (3, S2), (4, S3)];
        assert_eq!(level(&rows, 3, &o), 2);
        assert_eq!(level(&rows, 3, &opts(100, &[])), 3);
        // a a b c: a repeated step 1 just restarts the chain → 3.
        assert_eq!(level(&[(1, S1), (2, S1), (3, S2), (4, S3)], 3, &o), 3);
        // A repeated step that was never reached is no duplicate: a c c b → 2.
        assert_eq!(level(&[(1, S1), (2, S3), (3, S3), (4, S2)], 3, &o), 2);
        // Issue #37177: install start login install (steps install, start,
        // login, end) → the second install restarts; nothing repeats → 3.
        assert_eq!(
            level(
                &[(0, S1), (5, S2), (10, S3), (15, S1)],
                4,
                &opts(60, &["strict_deduplication"])
            ),
            3
        );
    }

    #[test]
    fn mode_strict_order() {
        let o = opts(100, &["strict_order"]);
        // a x b: x matches no condition → stop at 1.
        assert_eq!(level(&[(1, S1), (2, NONE), (3, S2)], 2, &o), 1);
        // x a b: unmatched rows before the first step-1 event are ignored → 2.
        assert_eq!(level(&[(1, NONE), (2, S1), (3, S2)], 2, &o), 2);
        // a c b: c (step 3) before step 2 → stop at 1.
        assert_eq!(level(&[(1, S1), (2, S3), (3, S2)], 3, &o), 1);
        // a b b c: repeating the current step is allowed → 3.
        assert_eq!(level(&[(1, S1), (2, S2), (3, S2), (4, S3)], 3, &o), 3);
        // c a b c: a step before any step 1 is ignored → 3.
        assert_eq!(level(&[(1, S3), (2, S1), (3, S2), (4, S3)], 3, &o), 3);
        // The default mode ignores unmatched rows entirely.
        assert_eq!(level(&[(1, S1), (2, NONE), (3, S2)], 2, &opts(100, &[])), 2);
        // A window miss is not a violation: a b(late) … the scan continues.
        assert_eq!(level(&[(1, S1), (200, S2), (201, S1), (202, S2)], 2, &o), 2);
    }

    #[test]
    fn mode_allow_reentry() {
        let o = opts(100, &["strict_order", "allow_reentry"]);
        // a c b: c is skipped → 2 (strict_order alone: 1).
        assert_eq!(level(&[(1, S1), (2, S3), (3, S2)], 3, &o), 2);
        // a c b c → 3.
        assert_eq!(level(&[(1, S1), (2, S3), (3, S2), (4, S3)], 3, &o), 3);
        // Unmatched rows still stop the scan: a x b → 1.
        assert_eq!(level(&[(1, S1), (2, NONE), (3, S2)], 2, &o), 1);
    }

    #[test]
    fn mode_strict_increase() {
        let o = opts(100, &["strict_increase"]);
        // s1@1 s2@1 s2@2 → the tied s2 is rejected, the later one accepted → 2.
        assert_eq!(level(&[(1, S1), (1, S2), (2, S2)], 2, &o), 2);
        // ClickHouse quirk kept on purpose: only the most recent chain is
        // checked. s1@0, s1@5, s2@5, s3@6: level 1 now holds the chain started
        // at 5, whose last timestamp 5 is not < 5, so s2@5 is rejected → 1,
        // although s1@0 → s2@5 → s3@6 would be strictly increasing.
        assert_eq!(level(&[(0, S1), (5, S1), (5, S2), (6, S3)], 3, &o), 1);
    }

    #[test]
    fn mode_strict_once() {
        let o = opts(100, &["strict_once"]);
        // One row matching s1, s2 and s3 → only one step.
        assert_eq!(level(&[(1, S1 | S2 | S3)], 3, &o), 1);
        assert_eq!(level(&[(1, S1 | S2 | S3)], 3, &opts(100, &[])), 3);
        // Two tied rows both matching s1 and s2: one serves as step 1, the
        // other as step 2 → 2.
        assert_eq!(level(&[(1, S1 | S2), (1, S1 | S2)], 2, &o), 2);
        // Three tied rows matching s1|s2|s3 → 3 distinct rows → 3.
        assert_eq!(level(&[(1, S1 | S2 | S3); 3], 3, &o), 3);
        // s1@0, then one row {s2, s3}@1 → that row is used once → 2
        // (default mode: 3).
        assert_eq!(level(&[(0, S1), (1, S2 | S3)], 3, &o), 2);
        assert_eq!(level(&[(0, S1), (1, S2 | S3)], 3, &opts(100, &[])), 3);
        // Rows from earlier timestamps are always usable: {s1,s2}@0, {s2,s3}@1,
        // s3@2 → row0 as s1, row1 as s2, row2 as s3 → 3.
        assert_eq!(level(&[(0, S1 | S2), (1, S2 | S3), (2, S3)], 3, &o), 3);
    }

    #[test]
    fn one_step_and_degenerate_inputs() {
        let o = opts(10, &[]);
        assert_eq!(level(&[], 3, &o), 0);
        assert_eq!(level(&[(1, S1)], 0, &o), 0);
        assert_eq!(level(&[(1, S2)], 1, &o), 0);
        assert_eq!(level(&[(1, S2), (2, S1)], 1, &o), 1);
        // Bits at or above `steps` are ignored.
        assert_eq!(level(&[(1, S1), (2, S4)], 2, &o), 1);
        // 32 steps: one row matching everything reaches 32.
        assert_eq!(level(&[(1, u32::MAX)], 32, &o), 32);
        // strict_order with one step: unmatched rows before/after.
        let so = opts(10, &["strict_order"]);
        assert_eq!(level(&[(1, NONE), (2, S1), (3, NONE)], 1, &so), 1);
        assert_eq!(level(&[(1, NONE)], 1, &so), 0);
    }

    #[test]
    fn state_push_merge_and_size() {
        let mut a = FunnelEvents::new();
        a.push(1, S1);
        a.push(3, S3);
        let mut b = FunnelEvents::with_capacity(4);
        b.push(2, S2);
        a.merge(&b);
        assert_eq!(a.len(), 3);
        assert!(a.allocated_bytes() >= 3 * 16);
        assert_eq!(window_funnel_level(&mut a, 3, &opts(10, &[])), 3);
        assert_eq!(a.rows(), &[(1, S1), (2, S2), (3, S3)]);
        let mut c = FunnelEvents::from_rows(a.rows().to_vec());
        assert_eq!(window_funnel_level(&mut c, 3, &opts(10, &[])), 3);
        let mut d = FunnelEvents::new();
        d.push_conditions(1, &[true, false]);
        d.push_conditions(2, &[false, true]);
        assert_eq!(window_funnel_level(&mut d, 2, &opts(1, &[])), 2);
        d.clear();
        assert!(d.is_empty());
        assert_eq!(conditions_mask(&[true, false, true]), 0b101);
    }

    #[test]
    fn option_parsing_and_errors() {
        let o = FunnelOptions::parse_modes(60, &["strict_order", "allow_reentry", "strict_once"])
            .unwrap();
        assert!(o.strict_order && o.allow_reentry && o.strict_once && !o.strict_increase);
        assert_eq!(
            o.modes(),
            vec![
                FunnelMode::StrictOrder,
                FunnelMode::StrictOnce,
                FunnelMode::AllowReentry
            ]
        );
        assert!(o.needs_unmatched_events());
        assert_eq!(FunnelOptions::new(5).unwrap(), opts(5, &[]));
        assert_eq!(
            FunnelMode::parse("strict").unwrap(),
            FunnelMode::StrictDeduplication
        );
        assert_eq!(FunnelMode::StrictIncrease.to_string(), "strict_increase");

        let e = FunnelOptions::parse_modes(60, &["Strict_Order"]).unwrap_err();
        assert_eq!(e, FunnelError::UnknownMode("Strict_Order".into()));
        assert!(e.to_string().contains("unknown mode 'Strict_Order'"));
        assert_eq!(
            FunnelOptions::new(-1).unwrap_err(),
            FunnelError::NegativeWindow(-1)
        );
        assert_eq!(
            FunnelOptions::parse_modes(60, &["allow_reentry"]).unwrap_err(),
            FunnelError::AllowReentryWithoutStrictOrder
        );
        assert!(FunnelOptions::check_steps(1).is_ok());
        assert!(FunnelOptions::check_steps(32).is_ok());
        let e = FunnelOptions::check_steps(33).unwrap_err();
        assert_eq!(
            e.to_string(),
            "window_funnel: got 33 conditions, but between 1 and 32 are supported"
        );
        assert!(FunnelOptions::check_steps(0).is_err());
    }

    // =====================================================================
    // retention
    // =====================================================================

    #[test]
    fn retention_docs_example() {
        // retention(date = '2020-01-01', date = '2020-01-02', date = '2020-01-03') per uid,
        // uid 0..5 present on all three days, 5..10 on days 2–3, 10..15 on day 3.
        for uid in 0..15u32 {
            let mut masks = vec![];
            if uid < 5 {
                masks.push(0b001);
            }
            if uid < 10 {
                masks.push(0b010);
            }
            masks.push(0b100);
            let r = retention(masks, 3).unwrap();
            if uid < 5 {
                assert_eq!(r, vec![1, 1, 1], "uid {uid}");
            } else {
                assert_eq!(r, vec![0, 0, 0], "uid {uid}");
            }
        }
    }

    #[test]
    fn retention_00688_sums() {
        // 00688_aggregation_retention.sql: 2018-08-06 for uid 0..80, -07 for 0..50,
        // -08 for 0..60; sums of r[k] over uids (expected values worked out by hand).
        let days = |uid: u32| -> Vec<u32> {
            let mut v = vec![];
            if uid < 80 {
                v.push(0b001);
            }
            if uid < 50 {
                v.push(0b010);
            }
            if uid < 60 {
                v.push(0b100);
            }
            v
        };
        let sums = |n: usize, keep: u32| -> Vec<u32> {
            let mut s = vec![0u32; n];
            for uid in 0..80 {
                // WHERE date IN (…) keeps only the listed days (mask `keep`);
                // conditions are then renumbered.
                let masks: Vec<u32> = days(uid)
                    .into_iter()
                    .filter(|m| m & keep != 0)
                    .map(|m| match (keep, m) {
                        (0b101, 0b100) => 0b010, // (06, 08): date = 08 is cond2
                        (_, m) => m,
                    })
                    .collect();
                if masks.is_empty() {
                    continue;
                }
                for (k, v) in retention(masks, n).unwrap().into_iter().enumerate() {
                    s[k] += u32::from(v);
                }
            }
            s
        };
        assert_eq!(sums(1, 0b001), vec![80]);
        assert_eq!(sums(2, 0b011), vec![80, 50]);
        assert_eq!(sums(2, 0b101), vec![80, 60]);
        assert_eq!(sums(3, 0b111), vec![80, 50, 60]);
    }

    #[test]
    fn retention_state_and_errors() {
        let mut a = RetentionState::new();
        a.push(0b100);
        assert_eq!(a.finish(3).unwrap(), vec![0, 0, 0]); // cond1 never held
        let mut b = RetentionState::new();
        b.push_conditions(&[true, false, false]);
        a.merge(&b);
        assert_eq!(a.finish(3).unwrap(), vec![1, 0, 1]);
        assert_eq!(RetentionState::from_bits(a.bits()), a);
        assert_eq!(retention([0b11u32], 1).unwrap(), vec![1]);
        assert!(retention([1u32], 0).is_err());
        let e = retention([1u32], 33).unwrap_err();
        assert_eq!(
            e.to_string(),
            "retention: got 33 conditions, but between 1 and 32 are supported"
        );
    }

    // =====================================================================
    // Property tests
    // =====================================================================

    /// SplitMix64; std only.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = self.0;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^ (z >> 31)
        }
        fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
        fn chance(&mut self, num: u64, den: u64) -> bool {
            self.below(den) < num
        }
    }

    fn random_rows(rng: &mut Rng, steps: usize) -> Vec<(i64, u32)> {
        let n = rng.below(10) as usize;
        (0..n)
            .map(|_| {
                let ts = rng.below(7) as i64;
                let mut mask = 0u32;
                if !rng.chance(1, 4) {
                    // usually one condition, sometimes several
                    mask |= 1 << rng.below(steps as u64);
                    if rng.chance(1, 4) {
                        mask |= 1 << rng.below(steps as u64);
                    }
                }
                (ts, mask)
            })
            .collect()
    }

    /// Brute force for the default mode: the deepest k such that rows
    /// r1..rk (repeats allowed) satisfy cond1..condk with t(r1) <= … <= t(rk)
    /// and t(rk) − t(r1) <= window. Equal timestamps are allowed between
    /// consecutive steps because ties are processed in ascending condition
    /// index.
    fn brute_force(rows: &[(i64, u32)], steps: usize, window: i64) -> usize {
        fn extend(
            rows: &[(i64, u32)],
            steps: usize,
            window: i64,
            first: i64,
            prev: i64,
            k: usize,
        ) -> usize {
            if k == steps {
                return 0;
            }
            let mut best = 0;
            for &(t, m) in rows {
                if m & (1 << k) != 0 && t >= prev && t - first <= window {
                    best = best.max(1 + extend(rows, steps, window, first, t, k + 1));
                }
            }
            best
        }
        let mut best = 0;
        for &(t, m) in rows {
            if m & 1 != 0 {
                best = best.max(1 + extend(rows, steps, window, t, t, 1));
            }
        }
        best
    }

    /// Plain transliteration of ClickHouse's algorithm (as read in
    /// AggregateFunctionWindowFunnel.cpp): expand rows into (ts, cond, id)
    /// entries in `add()` order, stable-sort, and run the per-entry loop with
    /// every strict_once chain kept explicitly.
    fn clickhouse_model(rows: &[(i64, u32)], steps: usize, o: &FunnelOptions) -> usize {
        let mut entries: Vec<(i64, usize, u64)> = vec![];
        for (id, &(ts, mask)) in rows.iter().enumerate() {
            let mut has = false;
            for i in (1..=steps).rev() {
                if mask & (1 << (i - 1)) != 0 {
                    entries.push((ts, i, id as u64 + 1));
                    has = true;
                }
            }
            if o.strict_order && !has {
                entries.push((ts, 0, id as u64 + 1));
            }
        }
        if entries.is_empty() {
            return 0;
        }
        if !o.strict_order && steps == 1 {
            return 1;
        }
        let w = i128::from(o.window);
        if !o.strict_once {
            entries.sort_by_key(|e| (e.0, e.1));
            let mut ev: Vec<Option<(i64, i64)>> = vec![None; steps];
            let highest = |ev: &Vec<Option<(i64, i64)>>| {
                ev.iter().rposition(|x| x.is_some()).map_or(0, |p| p + 1)
            };
            let mut first_event = false;
            for &(ts, e, _) in &entries {
                if o.strict_order && e == 0 {
                    if first_event {
                        break;
                    }
                    continue;
                }
                let idx = e - 1;
                if idx == 0 {
                    ev[0] = Some((ts, ts));
                    first_event = true;
                } else if o.strict_deduplication && ev[idx].is_some() {
                    return highest(&ev);
                } else if o.strict_order && first_event && ev[idx - 1].is_none() {
                    if o.allow_reentry {
                        continue;
                    }
                    if let Some(p) = ev.iter().position(|x| x.is_none()) {
                        return p;
                    }
                } else if let Some((f, l)) = ev[idx - 1] {
                    let mut ok = i128::from(ts) <= i128::from(f) + w;
                    if o.strict_increase {
                        ok = ok && l < ts;
                    }
                    if ok {
                        ev[idx] = Some((f, ts));
                        if idx + 1 == steps {
                            return steps;
                        }
                    }
                }
            }
            highest(&ev)
        } else {
            entries.sort_by_key(|e| (e.0, e.1, e.2));
            #[derive(Clone)]
            struct C {
                first: i64,
                last: i64,
                path: Vec<u64>,
            }
            let mut seqs: Vec<Vec<C>> = vec![vec![]; steps];
            let highest =
                |s: &Vec<Vec<C>>| s.iter().rposition(|x| !x.is_empty()).map_or(0, |p| p + 1);
            let mut has_first = false;
            for &(ts, e, id) in &entries {
                if o.strict_order && e == 0 {
                    if has_first {
                        break;
                    }
                    continue;
                }
                let idx = e - 1;
                if idx == 0 {
                    let mut path = vec![0; steps];
                    path[0] = id;
                    seqs[0].push(C {
                        first: ts,
                        last: ts,
                        path,
                    });
                    has_first = true;
                } else if o.strict_deduplication && !seqs[idx].is_empty() {
                    return highest(&seqs);
                } else if o.strict_order && has_first && seqs[idx - 1].is_empty() {
                    if o.allow_reentry {
                        continue;
                    }
                    if let Some(p) = seqs.iter().position(|x| x.is_empty()) {
                        return p;
                    }
                } else if !seqs[idx - 1].is_empty() {
                    let mut k = 0;
                    while k < seqs[idx - 1].len() {
                        let c = seqs[idx - 1][k].clone();
                        let mut tm = i128::from(ts) <= i128::from(c.first) + w;
                        if !tm && seqs[idx - 1].len() > 1 {
                            seqs[idx - 1].remove(k);
                            continue;
                        }
                        for j in 0..idx {
                            if !tm {
                                break;
                            }
                            tm = c.path[j] != id;
                        }
                        if tm && o.strict_increase {
                            tm = c.last < ts;
                        }
                        if tm {
                            let mut path = c.path.clone();
                            path[idx] = id;
                            seqs[idx].push(C {
                                first: c.first,
                                last: ts,
                                path,
                            });
                            if idx + 1 == steps {
                                return steps;
                            }
                        }
                        k += 1;
                    }
                }
            }
            highest(&seqs)
        }
    }

    fn random_opts(rng: &mut Rng) -> FunnelOptions {
        let strict_order = rng.chance(1, 2);
        FunnelOptions {
            window: rng.below(7) as i64,
            strict_deduplication: rng.chance(1, 3),
            strict_order,
            strict_increase: rng.chance(1, 3),
            strict_once: rng.chance(1, 2),
            allow_reentry: strict_order && rng.chance(1, 2),
        }
    }

    #[test]
    fn property_default_mode_matches_brute_force() {
        let mut rng = Rng(0x00C0_FFEE);
        for _ in 0..40_000 {
            let steps = 1 + rng.below(4) as usize;
            let rows = random_rows(&mut rng, steps);
            let window = rng.below(7) as i64;
            let o = FunnelOptions::new(window).unwrap();
            let got = level(&rows, steps, &o);
            let want = brute_force(&rows, steps, window);
            assert_eq!(got, want, "rows {rows:?} steps {steps} window {window}");
        }
    }

    #[test]
    fn property_all_modes_match_clickhouse_model() {
        let mut rng = Rng(42);
        for _ in 0..60_000 {
            let steps = 1 + rng.below(4) as usize;
            let rows = random_rows(&mut rng, steps);
            let o = random_opts(&mut rng);
            let got = level(&rows, steps, &o);
            // ClickHouse numbers rows in arrival order, and in strict_once mode
            // that order breaks ties between rows with the same timestamp and
            // condition. This module fixes the order to (timestamp, mask), so
            // the model is fed the rows in that order.
            let mut in_tie_order = rows.clone();
            in_tie_order.sort();
            let want = clickhouse_model(&in_tie_order, steps, &o);
            assert_eq!(got, want, "rows {rows:?} steps {steps} opts {o:?}");
        }
    }

    #[test]
    fn property_result_independent_of_push_and_merge_order() {
        let mut rng = Rng(7);
        for _ in 0..20_000 {
            let steps = 1 + rng.below(4) as usize;
            let rows = random_rows(&mut rng, steps);
            let o = random_opts(&mut rng);
            let want = level(&rows, steps, &o);
            // Shuffle (Fisher–Yates), split in three partial states, merge.
            let mut shuffled = rows.clone();
            for i in (1..shuffled.len()).rev() {
                let j = rng.below(i as u64 + 1) as usize;
                shuffled.swap(i, j);
            }
            let mut parts = [
                FunnelEvents::new(),
                FunnelEvents::new(),
                FunnelEvents::new(),
            ];
            for &(t, m) in &shuffled {
                parts[rng.below(3) as usize].push(t, m);
            }
            let [mut a, b, c] = parts;
            a.merge(&c);
            a.merge(&b);
            assert_eq!(a.len(), rows.len());
            assert_eq!(
                window_funnel_level(&mut a, steps, &o),
                want,
                "rows {rows:?} opts {o:?}"
            );
        }
    }
}
