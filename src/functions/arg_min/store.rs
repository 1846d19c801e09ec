//! The input batches `arg_min`'s groups point into: a group's [`Slot`] names a retained batch
//! and a row, and the [`Store`] keeps each batch alive while one group's best row is in it,
//! charging it by the bytes its rows use ([`retained_size`]).

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::Rows;

/// `arr` of a group that has seen no row.
pub(super) const NONE: u32 = u32::MAX;

/// One group's state: where its best row so far is, row `row` of retained batch `arr`, which
/// holds that row's value and keys.
#[derive(Debug, Clone, Copy)]
pub(super) struct Slot {
    pub(super) arr: u32,
    pub(super) row: u32,
}

pub(super) const EMPTY: Slot = Slot { arr: NONE, row: 0 };

impl Slot {
    pub(super) fn is_set(&self) -> bool {
        self.arr != NONE
    }
}

/// A retained input batch: the value and key columns as `update_batch` or `merge_batch` got
/// them, and how many groups' best rows it holds.
#[derive(Debug)]
pub(super) struct Retained {
    value: ArrayRef,
    pub(super) keys: Vec<ArrayRef>,
    /// Per key column: its row format when the column is compared that way
    /// ([`ArgMinGroups::encoders`](super::groups::ArgMinGroups::encoders)), else `None`.
    pub(super) encoded: Vec<Option<Arc<Rows>>>,
    /// Rows of the batch.
    rows: usize,
    /// Groups whose best row is in this batch.
    live: usize,
    /// Key bytes (arrays and encodings) charged per row, rounded down.
    key_bytes_per_row: usize,
    /// Bytes charged in all (value, keys, encodings, the vectors).
    bytes: usize,
}

/// The retained batches, indexed by [`Slot::arr`]; dead entries are recycled.
#[derive(Debug, Default)]
pub(super) struct Store {
    pub(super) entries: Vec<Option<Retained>>,
    pub(super) free: Vec<u32>,
    /// Rows of all retained batches.
    pub(super) rows: usize,
    /// Bytes charged for all retained batches.
    pub(super) bytes: usize,
    /// Key bytes of all retained batches (`key_bytes_per_row × rows` summed)…
    pub(super) key_bytes: usize,
    /// …and the part of it in rows no group points at.
    pub(super) dead_key_bytes: usize,
}

impl Store {
    /// Keeps a batch alive, with no group pointing at it yet; returns its index.
    pub(super) fn retain(
        &mut self,
        value: &ArrayRef,
        keys: &[ArrayRef],
        encoded: Vec<Option<Arc<Rows>>>,
    ) -> u32 {
        let rows = value.len();
        let key_bytes = keys
            .iter()
            .map(|k| retained_size(k.as_ref()))
            .sum::<usize>()
            + encoded.iter().flatten().map(|r| r.size()).sum::<usize>();
        let key_bytes_per_row = key_bytes / rows.max(1);
        let r = Retained {
            value: Arc::clone(value),
            keys: keys.to_vec(),
            encoded,
            rows,
            live: 0,
            key_bytes_per_row,
            // `arg_min(value)` retains the value once, as its own key.
            bytes: if keys.iter().any(|k| Arc::ptr_eq(k, value)) {
                0
            } else {
                retained_size(value.as_ref())
            } + key_bytes
                + keys.len()
                    * (std::mem::size_of::<ArrayRef>() + std::mem::size_of::<Option<Arc<Rows>>>()),
        };
        self.rows += rows;
        self.bytes += r.bytes;
        self.key_bytes += key_bytes_per_row * rows;
        self.dead_key_bytes += key_bytes_per_row * rows;
        match self.free.pop() {
            Some(i) => {
                self.entries[i as usize] = Some(r);
                i
            }
            None => {
                self.entries.push(Some(r));
                (self.entries.len() - 1) as u32
            }
        }
    }

    pub(super) fn get(&self, i: u32) -> &Retained {
        self.entries[i as usize]
            .as_ref()
            .expect("arg_min: reference to a dropped batch")
    }

    /// One group more points at batch `i`.
    pub(super) fn add_live(&mut self, i: u32) {
        let r = self.entries[i as usize]
            .as_mut()
            .expect("arg_min: reference to a dropped batch");
        r.live += 1;
        self.dead_key_bytes -= r.key_bytes_per_row;
    }

    /// One group fewer points at batch `i`; drops it when none is left.
    pub(super) fn release(&mut self, i: u32) {
        let entry = &mut self.entries[i as usize];
        let r = entry
            .as_mut()
            .expect("arg_min: reference to a dropped batch");
        r.live -= 1;
        self.dead_key_bytes += r.key_bytes_per_row;
        if r.live == 0 {
            self.rows -= r.rows;
            self.bytes -= r.bytes;
            self.key_bytes -= r.key_bytes_per_row * r.rows;
            self.dead_key_bytes -= r.key_bytes_per_row * r.rows;
            *entry = None;
            self.free.push(i);
        }
    }

    /// The sources for `interleave` of the value (`col` = `None`) or of key `col`: every
    /// entry (dead ones as `placeholder`), then `placeholder` itself at index
    /// `self.entries.len()`.
    pub(super) fn sources<'a>(
        &'a self,
        col: Option<usize>,
        placeholder: &'a ArrayRef,
    ) -> Vec<&'a dyn Array> {
        self.entries
            .iter()
            .map(|e| match (e, col) {
                (None, _) => placeholder.as_ref(),
                (Some(r), None) => r.value.as_ref(),
                (Some(r), Some(c)) => r.keys[c].as_ref(),
            })
            .chain(std::iter::once(placeholder.as_ref()))
            .collect()
    }
}

/// Memory a retained array is charged for. View arrays count the bytes their views use, not
/// whole shared data buffers (which other arrays, e.g. sibling batches of the same Parquet
/// page, share); compaction copies those bytes out with `gc`.
fn retained_size(a: &dyn Array) -> usize {
    let nulls = a.nulls().map_or(0, |n| n.buffer().capacity());
    match a.data_type() {
        DataType::Utf8View => {
            let v = a.as_string_view();
            v.len() * 16 + v.total_buffer_bytes_used() + nulls
        }
        DataType::BinaryView => {
            let v = a.as_binary_view();
            v.len() * 16 + v.total_buffer_bytes_used() + nulls
        }
        DataType::Struct(_) => {
            a.as_struct()
                .columns()
                .iter()
                .map(|c| retained_size(c.as_ref()))
                .sum::<usize>()
                + nulls
        }
        // The bytes of the slice, not of the whole buffers it may share with the input
        // batch: counting whole buffers per retained array over-reports by the batch size and
        // makes a spilling aggregate fail its first allocation.
        _ => a
            .to_data()
            .get_slice_memory_size()
            .unwrap_or_else(|_| a.get_array_memory_size()),
    }
}
