//! `retention(cond1, …, condN)` (ClickHouse's `retention`): the per-group state
//! [`RetentionState`] (an OR of row masks), the one-shot [`retention`], and the condition-count
//! check.

use super::{FunnelError, MAX_RETENTION_CONDITIONS, conditions_mask};

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
}
