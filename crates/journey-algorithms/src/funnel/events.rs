//! [`FunnelEvents`]: the per-group state of `window_funnel`, the group's `(timestamp, mask)`
//! events, append-only and mergeable, sorted by `(timestamp, mask)` only when needed.

use super::conditions_mask;

/// Per-group state of `window_funnel`: the group's events as
/// `(timestamp, condition mask)` pairs (16 bytes each), append-only and
/// mergeable.
///
/// The state tracks whether the events are already sorted by
/// `(timestamp, mask)`, so that the common case of time-ordered input needs
/// no sort at the end. The result of
/// [`window_funnel_level`](super::window_funnel_level) does not depend on the
/// push or merge order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunnelEvents {
    pub(super) rows: Vec<(i64, u32)>,
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
    /// [`window_funnel_level`](super::window_funnel_level)). Use it to
    /// serialize an intermediate state; rebuild it with
    /// [`FunnelEvents::from_rows`].
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funnel::test_support::*;
    use crate::funnel::{conditions_mask, window_funnel_level};

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
}
