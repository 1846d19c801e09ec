//! The scan of every `window_funnel` mode but `strict_once`: ClickHouse's
//! `getEventLevelNonStrictOnce`, keeping per level the (first, last) timestamps of the most
//! recent chain that reached it.

use super::scan::{Scan, within};
use super::{FunnelOptions, MAX_FUNNEL_STAGES};

/// ClickHouse's `getEventLevelNonStrictOnce`: per level, the (first, last)
/// timestamps of the most recent chain reaching it.
pub(super) struct GreedyScan {
    stages: usize,
    opts: FunnelOptions,
    first: [i64; MAX_FUNNEL_STAGES],
    last: [i64; MAX_FUNNEL_STAGES],
    /// Bit `k` set = level `k + 1` reached.
    reached: u32,
    first_event: bool,
}

impl GreedyScan {
    pub(super) fn new(stages: usize, opts: &FunnelOptions) -> Self {
        GreedyScan {
            stages,
            opts: *opts,
            first: [0; MAX_FUNNEL_STAGES],
            last: [0; MAX_FUNNEL_STAGES],
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
    fn matched(&mut self, ts: i64, stage: usize, _row: usize) -> Option<usize> {
        if stage == 0 {
            self.first[0] = ts;
            self.last[0] = ts;
            self.reached |= 1;
            self.first_event = true;
            return None;
        }
        let bit = 1u32 << stage;
        let prev = 1u32 << (stage - 1);
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
            let first = self.first[stage - 1];
            let ok = within(ts, first, self.opts.window)
                && (!self.opts.strict_increase || self.last[stage - 1] < ts);
            if ok {
                self.first[stage] = first;
                self.last[stage] = ts;
                self.reached |= bit;
                if stage + 1 == self.stages {
                    return Some(self.stages);
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
