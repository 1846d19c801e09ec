//! The input of every attribution model: customer-journey paths grouped into a [`PathTable`]
//! (distinct touchpoint sequences with their conversion, null and value counts), and
//! [`Journey`], the same input as a plain struct for the slice-based entry points.
//!
//! Channel names and paths are interned in `rustc-hash` maps (`FxHashMap`): fast for short
//! keys; they come from our own exports and are not adversarial, so no HashDoS protection is
//! needed. The maps are only looked up, never iterated: results follow insertion order and
//! channel names, never hash order.

use rustc_hash::FxHashMap;

use super::{AttributionError, AttributionResult};
#[cfg(doc)]
use super::{markov_attribution, shapley_attribution};

/// Outcome counts of one distinct path.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PathCounts {
    /// Journeys with this path that ended in a conversion (count; fractional weights allowed).
    pub conversions: f64,
    /// Journeys with this path that ended without a conversion (count; fractional allowed).
    pub nulls: f64,
    /// Total conversion value of those conversions (revenue, currency units of the input).
    pub value: f64,
}

impl PathCounts {
    /// Journeys with this path: `conversions + nulls` (count).
    pub fn journeys(&self) -> f64 {
        self.conversions + self.nulls
    }
}

/// Grouped customer-journey paths: distinct touchpoint sequences with their outcome counts.
///
/// Channel names are interned; identical paths are merged by adding their counts. The table is
/// the aggregation state a SQL aggregate needs: build one per partition with
/// [`PathTable::add_path`] and combine partitions with [`PathTable::merge`].
///
/// Insertion order is kept, so results are deterministic for a given input order; results are
/// reported with channels sorted by name.
#[derive(Debug, Clone, Default)]
pub struct PathTable {
    channels: Vec<String>,
    channel_ids: FxHashMap<String, u32>,
    pub(super) paths: Vec<(Box<[u32]>, PathCounts)>,
    path_ids: FxHashMap<Box<[u32]>, usize>,
    total_conversions: f64,
    total_nulls: f64,
    total_value: f64,
    scratch: Vec<u32>,
}

impl PathTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `conversions` converting and `nulls` non-converting journeys whose touchpoints, in
    /// time order, are `touchpoints`, with total conversion value `value` (revenue).
    ///
    /// Counts are `f64` so that SQL `DOUBLE` columns and fractional journey weights can be used
    /// directly; they are summed exactly as long as they are integers below 2⁵³.
    ///
    /// A path with no touchpoints is allowed: those journeys go straight from `(start)` to an
    /// absorbing state, count in the totals and are credited to no channel. A path with zero
    /// journeys (`conversions + nulls == 0`, `value == 0`) is ignored.
    ///
    /// # Errors
    ///
    /// - [`AttributionError::BadCounts`] if a count or `value` is not finite or is negative, or
    ///   if `value > 0` while `conversions == 0` (conversion value without a conversion);
    /// - [`AttributionError::BadTouchpoint`] if a channel name is empty.
    ///
    /// On error the table is unchanged.
    pub fn add_path<S: AsRef<str>>(
        &mut self,
        touchpoints: &[S],
        conversions: f64,
        nulls: f64,
        value: f64,
    ) -> AttributionResult<()> {
        for (what, x) in [
            ("conversions", conversions),
            ("nulls", nulls),
            ("conversion value", value),
        ] {
            if !x.is_finite() || x < 0.0 {
                return Err(AttributionError::BadCounts(format!(
                    "{what} must be finite and non-negative, got {x}"
                )));
            }
        }
        if value > 0.0 && conversions == 0.0 {
            return Err(AttributionError::BadCounts(format!(
                "conversion value {value} given for a path with 0 conversions"
            )));
        }
        if conversions + nulls == 0.0 {
            return Ok(());
        }
        if let Some(pos) = touchpoints.iter().position(|t| t.as_ref().is_empty()) {
            return Err(AttributionError::BadTouchpoint(format!(
                "touchpoint {pos} of a path has an empty channel name"
            )));
        }
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        for t in touchpoints {
            let name = t.as_ref();
            let id = match self.channel_ids.get(name) {
                Some(&id) => id,
                None => {
                    let id = self.channels.len() as u32;
                    self.channels.push(name.to_owned());
                    self.channel_ids.insert(name.to_owned(), id);
                    id
                }
            };
            key.push(id);
        }
        self.add_ids(
            &key,
            PathCounts {
                conversions,
                nulls,
                value,
            },
        );
        self.scratch = key;
        self.total_conversions += conversions;
        self.total_nulls += nulls;
        self.total_value += value;
        Ok(())
    }

    /// Adds every path of `other` to this table (the merge step of a partitioned aggregate).
    pub fn merge(&mut self, other: &PathTable) {
        let remap: Vec<u32> = other
            .channels
            .iter()
            .map(|name| match self.channel_ids.get(name.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.channels.len() as u32;
                    self.channels.push(name.clone());
                    self.channel_ids.insert(name.clone(), id);
                    id
                }
            })
            .collect();
        let mut key = Vec::new();
        for (ids, counts) in &other.paths {
            key.clear();
            key.extend(ids.iter().map(|&i| remap[i as usize]));
            self.add_ids(&key, *counts);
        }
        self.total_conversions += other.total_conversions;
        self.total_nulls += other.total_nulls;
        self.total_value += other.total_value;
    }

    fn add_ids(&mut self, key: &[u32], counts: PathCounts) {
        match self.path_ids.get(key) {
            Some(&i) => {
                let c = &mut self.paths[i].1;
                c.conversions += counts.conversions;
                c.nulls += counts.nulls;
                c.value += counts.value;
            }
            None => {
                let boxed: Box<[u32]> = key.into();
                self.path_ids.insert(boxed.clone(), self.paths.len());
                self.paths.push((boxed, counts));
            }
        }
    }

    /// Approximate heap memory held by the table (bytes), e.g. for a SQL accumulator's `size()`.
    pub fn memory_size(&self) -> usize {
        let names: usize = self.channels.iter().map(|c| 2 * c.capacity() + 48).sum();
        let paths: usize = self.paths.iter().map(|(p, _)| 2 * 4 * p.len() + 80).sum();
        std::mem::size_of::<Self>() + names + paths + 4 * self.scratch.capacity()
    }

    /// Channel names in order of first appearance.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Number of distinct paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// `true` if no path with at least one journey was added.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Total conversions over all paths (count).
    pub fn total_conversions(&self) -> f64 {
        self.total_conversions
    }

    /// Total non-converting journeys over all paths (count).
    pub fn total_nulls(&self) -> f64 {
        self.total_nulls
    }

    /// Total journeys, `total_conversions + total_nulls` (count).
    pub fn total_journeys(&self) -> f64 {
        self.total_conversions + self.total_nulls
    }

    /// Total conversion value over all paths (revenue, currency units of the input).
    pub fn total_value(&self) -> f64 {
        self.total_value
    }

    /// The distinct paths with their counts, in insertion order (touchpoint names in time order).
    pub fn iter(&self) -> impl Iterator<Item = (Vec<&str>, &PathCounts)> + '_ {
        self.paths.iter().map(|(ids, c)| {
            (
                ids.iter()
                    .map(|&i| self.channels[i as usize].as_str())
                    .collect(),
                c,
            )
        })
    }

    /// Channel names sorted, and the map from interned id to sorted position.
    pub(super) fn sorted_channels(&self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.channels.len() as u32).collect();
        order.sort_by(|&a, &b| self.channels[a as usize].cmp(&self.channels[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        (
            order
                .iter()
                .map(|&id| self.channels[id as usize].clone())
                .collect(),
            rank,
        )
    }
}

/// One customer journey (or a group of identical ones): the input row of the slice-based entry
/// points [`markov_attribution`] and [`shapley_attribution`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journey {
    /// Channel names of the touchpoints, in time order (may be empty).
    pub path: Vec<String>,
    /// Conversions the journeys ended in (count, ≥ 0).
    pub conversions: f64,
    /// Journeys that ended without a conversion (count, ≥ 0).
    pub nulls: f64,
    /// Conversion value of those conversions (revenue, currency units, ≥ 0).
    pub value: f64,
}

impl PathTable {
    /// A table holding `journeys` (identical paths merged), with the checks of
    /// [`PathTable::add_path`].
    ///
    /// # Errors
    ///
    /// As [`PathTable::add_path`].
    pub fn from_journeys(journeys: &[Journey]) -> AttributionResult<Self> {
        let mut t = PathTable::new();
        for j in journeys {
            t.add_path(&j.path, j.conversions, j.nulls, j.value)?;
        }
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::test_support::*;
    use crate::attribution::{MarkovOptions, markov_attribution_table};

    #[test]
    fn merge_equals_single_table() {
        let rows = [
            ("A>B", 1, 2, 3.0),
            ("B>C", 2, 0, 4.0),
            ("A>B", 1, 1, 1.0),
            ("C", 0, 5, 0.0),
        ];
        let all = table(&rows);
        let mut left = table(&rows[..2]);
        let right = table(&rows[2..]);
        left.merge(&right);
        assert_eq!(left.len(), all.len());
        assert_eq!(left.total_journeys(), all.total_journeys());
        let o = MarkovOptions::default();
        assert_eq!(
            markov_attribution_table(&left, &o).unwrap(),
            markov_attribution_table(&all, &o).unwrap()
        );
        let counts: Vec<_> = all.iter().map(|(p, c)| (p.join(">"), *c)).collect();
        assert_eq!(
            counts[0],
            (
                "A>B".to_owned(),
                PathCounts {
                    conversions: 2.0,
                    nulls: 3.0,
                    value: 4.0
                }
            )
        );
    }
}
