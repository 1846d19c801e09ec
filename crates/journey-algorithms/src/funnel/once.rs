//! The scan of `window_funnel`'s `strict_once` mode: ClickHouse's `getEventLevelStrictOnce`,
//! where one row counts for at most one stage of a chain, computed with chains from earlier
//! timestamps summarised per level (see [`crate::funnel`], "strict_once").

use super::FunnelOptions;
use super::scan::{Scan, within};

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
pub(super) struct OnceScan {
    stages: usize,
    opts: FunnelOptions,
    /// Per level: largest `first` of chains created at earlier timestamps.
    old: Vec<Option<i64>>,
    /// Per level: chains created at the current timestamp.
    cur: Vec<Vec<Chain>>,
    has_first_event: bool,
}

impl OnceScan {
    pub(super) fn new(stages: usize, opts: &FunnelOptions) -> Self {
        OnceScan {
            stages,
            opts: *opts,
            old: vec![None; stages],
            cur: vec![Vec::new(); stages],
            has_first_event: false,
        }
    }

    fn nonempty(&self, level: usize) -> bool {
        self.old[level].is_some() || !self.cur[level].is_empty()
    }

    fn highest(&self) -> usize {
        (0..self.stages)
            .rev()
            .find(|&k| self.nonempty(k))
            .map_or(0, |k| k + 1)
    }

    fn first_empty(&self) -> usize {
        (0..self.stages)
            .find(|&k| !self.nonempty(k))
            .unwrap_or(self.stages)
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

    fn matched(&mut self, ts: i64, stage: usize, row: usize) -> Option<usize> {
        if stage == 0 {
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
        if self.opts.strict_deduplication && self.nonempty(stage) {
            return Some(self.highest());
        }
        if self.opts.strict_order && self.has_first_event && !self.nonempty(stage - 1) {
            if self.opts.allow_reentry {
                return None;
            }
            return Some(self.first_empty());
        }
        if !self.nonempty(stage - 1) {
            return None;
        }
        let window = self.opts.window;
        let mut new_chains = Vec::new();
        if let Some(first) = self.old[stage - 1]
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
            for c in &self.cur[stage - 1] {
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
            self.insert(stage, c);
        }
        if stage + 1 == self.stages {
            return Some(self.stages);
        }
        None
    }

    fn end_timestamp(&mut self) {
        for k in 0..self.stages {
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
