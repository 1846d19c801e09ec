//! [`ArgMinGroups`], the vectorized [`GroupsAccumulator`] of `arg_min`: per group a [`Slot`]
//! into the retained batches, keys compared lazily, compaction when the retained rows
//! outgrow the groups, and the emitted values and state assembled with `interleave`.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, BooleanArray, new_null_array};
use datafusion::arrow::compute::interleave;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::{RowConverter, Rows};
use datafusion::common::Result;
use datafusion::common::exec_err;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use super::args::{split_args, split_state, usable_mask};
use super::order::{KeyCmp, compared_in_place, sort_field};
use super::store::{EMPTY, NONE, Retained, Slot, Store};
use super::views::{gc_sparse_views, gc_views};

/// Compaction thresholds: rows of retained batches beyond `2 × groups`, and key bytes of
/// retained rows no group points at (compacting also needs them to be over half the key
/// bytes).
const COMPACT_MIN_ROWS: usize = 64 * 1024;
const COMPACT_MIN_KEY_BYTES: usize = 64 * 1024;

/// The [`GroupsAccumulator`] of `arg_min` (see the module docs).
pub(super) struct ArgMinGroups {
    nkeys: usize,
    /// `arg_min(value)`: the value is its only key, retained once and not repeated in the
    /// state.
    pub(super) own_key: bool,
    /// Per key column: `None` when its type is compared in place ([`compared_in_place`]),
    /// else a converter to the row format of that column alone, which then encodes the
    /// column of every retained batch (the old eager cost, for those types only).
    pub(super) encoders: Vec<Option<RowConverter>>,
    /// One row, NULL, of the value type: the value of groups that saw no row.
    null_value: ArrayRef,
    /// One row, NULL, of each key type: the keys of groups that saw no row (in `state`).
    null_keys: Vec<ArrayRef>,
    slots: Vec<Slot>,
    pub(super) store: Store,
    /// Retained rows allowed beyond `2 × groups` before compacting (a field for tests).
    pub(super) compact_min_rows: usize,
    /// Key bytes of dead retained rows allowed before compacting (a field for tests).
    pub(super) compact_min_key_bytes: usize,
}

impl ArgMinGroups {
    pub(super) fn try_new(value_type: &DataType, key_types: &[DataType]) -> Result<Self> {
        let encoders = key_types
            .iter()
            .map(|t| {
                Ok(if compared_in_place(t) {
                    None
                } else {
                    Some(RowConverter::new(vec![sort_field(t)])?)
                })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            nkeys: key_types.len(),
            own_key: false,
            encoders,
            null_value: new_null_array(value_type, 1),
            null_keys: key_types.iter().map(|t| new_null_array(t, 1)).collect(),
            slots: Vec::new(),
            store: Store::default(),
            compact_min_rows: COMPACT_MIN_ROWS,
            compact_min_key_bytes: COMPACT_MIN_KEY_BYTES,
        })
    }

    /// The row formats of the key columns compared that way (see [`Retained::encoded`]).
    fn encode(&self, keys: &[ArrayRef]) -> Result<Vec<Option<Arc<Rows>>>> {
        self.encoders
            .iter()
            .zip(keys)
            .map(|(e, k)| {
                Ok(match e {
                    None => None,
                    Some(e) => Some(Arc::new(e.convert_columns(std::slice::from_ref(k))?)),
                })
            })
            .collect()
    }

    /// The common body of `update_batch` and `merge_batch`.
    ///
    /// A row that is the first of its group only records where it is: nothing is copied or
    /// encoded. Only a row whose group already has a best row is compared with it, through a
    /// [`KeyCmp`] between this batch and the batch holding that row (made on first use, one
    /// per retained batch met in this call); a smaller row replaces the reference. The batch
    /// is retained as soon as one of its rows is some group's best.
    fn update(
        &mut self,
        value: &ArrayRef,
        keys: &[ArrayRef],
        group_indices: &[usize],
        mask: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        if keys.len() != self.nkeys {
            return exec_err!("arg_min: expected {} keys, got {}", self.nkeys, keys.len());
        }
        if value.len() > NONE as usize {
            return exec_err!("arg_min: batch of {} rows is too large", value.len());
        }
        if self.slots.len() < total_num_groups {
            self.slots.resize(total_num_groups, EMPTY);
        }
        if group_indices.is_empty() {
            return Ok(());
        }
        let mask = usable_mask(mask);
        let encoded = self.encode(keys)?;
        let Self { slots, store, .. } = self;
        let mut batch_arr = NONE;
        // Comparators of this batch against retained batch `i` at `cmps[i]`. Caching by index
        // is sound: an index is reused only by `retain`, which runs at most once here (for
        // this batch) and before any `release` of this call, and then hands out an index no
        // group points at, so none cached here.
        let mut cmps: Vec<Option<KeyCmp>> = Vec::new();
        for (i, &g) in group_indices.iter().enumerate() {
            if let Some(m) = &mask
                && !m.value(i)
            {
                continue;
            }
            let slot = &mut slots[g];
            if slot.is_set() {
                let a = slot.arr as usize;
                if cmps.len() <= a {
                    cmps.resize_with(store.entries.len(), || None);
                }
                if cmps[a].is_none() {
                    cmps[a] = Some(KeyCmp::new(keys, &encoded, store.get(slot.arr))?);
                }
                let cmp = cmps[a].as_ref().expect("just made");
                // Ties keep the current row.
                if !cmp.less(i, slot.row as usize) {
                    continue;
                }
            }
            if batch_arr == NONE {
                batch_arr = store.retain(value, keys, encoded.clone());
            }
            if slot.arr != batch_arr {
                if slot.is_set() {
                    store.release(slot.arr);
                }
                store.add_live(batch_arr);
                slot.arr = batch_arr;
            }
            slot.row = i as u32;
        }
        self.maybe_compact()
    }

    /// Compacts when the retained batches hold many more rows than there are groups, or
    /// when most of their key bytes are in rows no group points at.
    fn maybe_compact(&mut self) -> Result<()> {
        let store = &self.store;
        let too_many_rows = store.rows > 2 * self.slots.len() + self.compact_min_rows;
        let too_much_dead = store.dead_key_bytes > self.compact_min_key_bytes
            && store.dead_key_bytes * 2 > store.key_bytes;
        if too_many_rows || too_much_dead {
            self.compact()
        } else {
            Ok(())
        }
    }

    /// Replaces the retained batches by one holding every group's best row (value and keys),
    /// in group order, and only those: no dead row is left.
    fn compact(&mut self) -> Result<()> {
        let picks: Vec<(usize, usize)> = self
            .slots
            .iter()
            .filter(|s| s.is_set())
            .map(|s| (s.arr as usize, s.row as usize))
            .collect();
        if picks.is_empty() {
            self.store = Store::default();
            return Ok(());
        }
        let value = gc_views(interleave(
            &self.store.sources(None, &self.null_value),
            &picks,
        )?)?;
        let keys = if self.own_key {
            vec![Arc::clone(&value)]
        } else {
            (0..self.nkeys)
                .map(|c| {
                    gc_views(interleave(
                        &self.store.sources(Some(c), &self.null_keys[c]),
                        &picks,
                    )?)
                })
                .collect::<Result<Vec<_>>>()?
        };
        let encoded = self.encode(&keys)?;
        let mut store = Store::default();
        let idx = store.retain(&value, &keys, encoded);
        for (row, s) in self.slots.iter_mut().filter(|s| s.is_set()).enumerate() {
            s.arr = idx;
            s.row = row as u32;
            store.add_live(idx);
        }
        self.store = store;
        Ok(())
    }

    /// The values (`col` = `None`) or key `col` of the first `n` groups (NULL for groups
    /// without rows), state unchanged.
    fn take_column(&self, n: usize, col: Option<usize>) -> Result<ArrayRef> {
        let placeholder = match col {
            None => &self.null_value,
            Some(c) => &self.null_keys[c],
        };
        let sources = self.store.sources(col, placeholder);
        let null_src = self.store.entries.len();
        let indices: Vec<(usize, usize)> = self.slots[..n]
            .iter()
            .map(|s| {
                if s.is_set() {
                    (s.arr as usize, s.row as usize)
                } else {
                    (null_src, 0)
                }
            })
            .collect();
        Ok(interleave(&sources, &indices)?)
    }

    /// How many groups `emit_to` takes.
    fn emit_count(&self, emit_to: EmitTo) -> usize {
        match emit_to {
            EmitTo::All => self.slots.len(),
            EmitTo::First(n) => n.min(self.slots.len()),
        }
    }

    /// Forgets the first `n` groups; the others move down by `n`.
    fn remove_first(&mut self, n: usize) -> Result<()> {
        if n >= self.slots.len() {
            self.slots = Vec::new();
            self.store = Store::default();
            return Ok(());
        }
        for s in &self.slots[..n] {
            if s.is_set() {
                self.store.release(s.arr);
            }
        }
        self.slots.drain(..n);
        self.maybe_compact()
    }
}

impl GroupsAccumulator for ArgMinGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        let (value, keys) = split_args(values, self.nkeys, self.own_key)?;
        self.update(value, keys, group_indices, opt_filter, total_num_groups)
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let n = self.emit_count(emit_to);
        // The result outlives the retained batches: it must not pin their shared buffers.
        let out = gc_sparse_views(self.take_column(n, None)?)?;
        self.remove_first(n)?;
        Ok(out)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let n = self.emit_count(emit_to);
        let mut out = Vec::with_capacity(self.nkeys + 2);
        out.push(self.take_column(n, None)?);
        if !self.own_key {
            for c in 0..self.nkeys {
                out.push(self.take_column(n, Some(c))?);
            }
        }
        out.push(Arc::new(BooleanArray::from_iter(
            self.slots[..n].iter().map(|s| Some(s.is_set())),
        )));
        self.remove_first(n)?;
        Ok(out)
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        let (value, keys, is_set) = split_state(values, self.nkeys, self.own_key)?;
        self.update(value, keys, group_indices, Some(is_set), total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        split_args(values, self.nkeys, self.own_key)?;
        // Every row its own group: the row itself, set unless filtered out.
        let rows = values[0].len();
        let is_set = match usable_mask(opt_filter) {
            Some(m) => m,
            None => BooleanArray::from(vec![true; rows]),
        };
        let mut out: Vec<ArrayRef> = values.to_vec();
        out.push(Arc::new(is_set));
        Ok(out)
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.encoders.capacity() * std::mem::size_of::<Option<RowConverter>>()
            + self
                .encoders
                .iter()
                .flatten()
                .map(RowConverter::size)
                .sum::<usize>()
            + self.null_value.get_array_memory_size()
            + self.null_keys.capacity() * std::mem::size_of::<ArrayRef>()
            + self
                .null_keys
                .iter()
                .map(|a| a.get_array_memory_size())
                .sum::<usize>()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.store.entries.capacity() * std::mem::size_of::<Option<Retained>>()
            + self.store.free.capacity() * std::mem::size_of::<u32>()
            + self.store.bytes
    }
}
