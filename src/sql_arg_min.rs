//! `arg_min(value, key1 [, key2, …, keyN])`: the value from the row with the smallest keys, as a
//! SQL aggregate function with a vectorized [`GroupsAccumulator`].
//!
//! ```sql
//! -- the channel of each session's first event (event_id breaks timestamp ties)
//! SELECT customer_id, session_id, arg_min(channel, event_time, event_id) AS first_channel
//! FROM events GROUP BY customer_id, session_id;
//!
//! -- several columns from the same row: pass a struct and pick its fields
//! SELECT event_id, v['customer_id'], v['channel']
//! FROM (SELECT event_id,
//!              arg_min(named_struct('customer_id', customer_id, 'channel', channel),
//!                      event_time, session_id, customer_id) AS v
//!       FROM events GROUP BY event_id);
//! ```
//!
//! | in | out |
//! |---|---|
//! | `value`: any Arrow type (text, integers, timestamps, booleans, structs from `named_struct`, lists, …); `key1 … keyN` (N ≥ 1): any type Arrow's row format can order (integers, floats, decimals, booleans, dates, timestamps, `Utf8`/`LargeUtf8`/`Utf8View`, binary, dictionaries, structs, lists) | the type of `value`, nullable |
//!
//! # Semantics
//!
//! `arg_min(v, k1, …, kN)` is exactly `first_value(v ORDER BY k1, …, kN)` as DataFusion and
//! PostgreSQL define it
//! (<https://datafusion.apache.org/user-guide/sql/aggregate_functions.html#first-value>,
//! <https://www.postgresql.org/docs/current/functions-aggregate.html>):
//!
//! - the rows of a group are ordered by `(k1, …, kN)` lexicographically, each key ascending
//!   with **NULLS LAST** (DataFusion's and PostgreSQL's default for `ASC`); a NULL key is
//!   larger than every non-NULL key, so rows with NULL keys are not skipped, they only lose to
//!   rows with non-NULL keys, and a group whose keys are all NULL still yields a value;
//! - the result is `v` of the first row in that order, NULL or not (`v` NULL is returned as
//!   NULL, as `first_value` without `IGNORE NULLS` does);
//! - **ties**: if several rows share the smallest `(k1, …, kN)`, the result is `v` of *any one*
//!   of them (which one depends on partitioning and batch order). Give enough keys to make
//!   the order total (e.g. add a unique id as the last key) when that matters;
//! - a group with no rows (every row removed by `FILTER (WHERE …)`), or an empty input without
//!   `GROUP BY`, yields NULL;
//! - `FILTER (WHERE cond)` is honoured; a NULL `cond` excludes the row.
//!
//! The name and argument order (value first, then the ordering value) follow DuckDB's
//! `arg_min(arg, val)` (<https://duckdb.org/docs/stable/sql/functions/aggregates#arg_minarg-val>),
//! ClickHouse's `argMin(arg, val)`
//! (<https://clickhouse.com/docs/sql-reference/aggregate-functions/reference/argmin>) and
//! Spark's `min_by(x, y)` (<https://spark.apache.org/docs/latest/api/sql/index.html#min_by>),
//! extended to several keys. Only the name and argument order come from those engines: their
//! NULL and tie handling differs in places; here it is `first_value`'s, as listed above.
//!
//! Errors (planning): fewer than two arguments; a key type Arrow's row format cannot order
//! (e.g. a map).
//!
//! # Implementation
//!
//! Keys are compared as bytes of Arrow's row format (`RowConverter` with ascending,
//! nulls-last `SortField`s), whose byte order is the SQL order. Per group the
//! [`GroupsAccumulator`] keeps the best key's bytes in one arena and, for the value, a
//! reference (retained input array, row); the input value arrays holding at least one current
//! winner are kept alive and the result is assembled with `interleave`. When the retained
//! arrays hold many more rows than there are groups they are compacted into one array, so
//! memory follows the number of groups, not the input. `size()` reports the arena, the slots
//! and the retained arrays to DataFusion's memory pool.
//!
//! The intermediate state (for multi-phase aggregation and spilling) is
//! `[value, key1, …, keyN, is_set]`: the keys in their own types and a BOOLEAN telling a group
//! that saw rows from an empty one (needed because NULL keys are legitimate keys).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, StructArray, new_null_array,
};
use datafusion::arrow::compute::{SortOptions, interleave, prep_null_mask_filter};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, SortField};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, ReversedUDAF,
    Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// Registers `arg_min` on `ctx`.
pub fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(ArgMin::new()));
}

const USAGE: &str = "arg_min(value, key1, …, keyN) takes the value to return and 1 or more keys to order by (ascending, NULLS LAST)";

/// `arg_min(value, key1, …, keyN)`: `value` from the row with the smallest `(key1, …, keyN)`,
/// i.e. `first_value(value ORDER BY key1, …, keyN)` (see the [module docs](self) for the exact
/// semantics, types, errors and sources).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ArgMin {
    signature: Signature,
}

impl ArgMin {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for ArgMin {
    fn default() -> Self {
        Self::new()
    }
}

/// The row-format sort field of one key: ascending, NULLS LAST.
fn sort_field(t: &DataType) -> SortField {
    SortField::new_with_options(
        t.clone(),
        SortOptions {
            descending: false,
            nulls_first: false,
        },
    )
}

/// A row converter for the keys and the encoding of an all-NULL key row.
fn key_converter(key_types: &[DataType]) -> Result<(RowConverter, Vec<u8>)> {
    let converter = RowConverter::new(key_types.iter().map(sort_field).collect())?;
    let nulls: Vec<ArrayRef> = key_types.iter().map(|t| new_null_array(t, 1)).collect();
    let null_key = converter.convert_columns(&nulls)?.row(0).data().to_vec();
    Ok((converter, null_key))
}

/// The value type and the key types from the accumulator arguments.
fn arg_types(args: &AccumulatorArgs) -> Result<(DataType, Vec<DataType>)> {
    let types: Vec<DataType> = args
        .expr_fields
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    if types.len() < 2 {
        return plan_err!("{USAGE}; got {} argument(s)", types.len());
    }
    Ok((types[0].clone(), types[1..].to_vec()))
}

impl AggregateUDFImpl for ArgMin {
    fn name(&self) -> &str {
        "arg_min"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 2 {
            return plan_err!("{USAGE}; got {} argument(s)", arg_types.len());
        }
        for (i, t) in arg_types[1..].iter().enumerate() {
            if !RowConverter::supports_fields(&[sort_field(t)]) {
                return plan_err!(
                    "arg_min: key{} of type {t} cannot be ordered ({USAGE})",
                    i + 1
                );
            }
        }
        Ok(arg_types.to_vec())
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        match arg_types.first() {
            Some(t) => Ok(t.clone()),
            None => plan_err!("{USAGE}; got no arguments"),
        }
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (value_type, key_types) = arg_types(&args)?;
        Ok(Box::new(ArgMinAccumulator::try_new(
            &value_type,
            &key_types,
        )?))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let inputs = args.input_fields;
        if inputs.len() < 2 {
            return plan_err!("{USAGE}; got {} argument(s)", inputs.len());
        }
        let mut fields = vec![Arc::new(Field::new(
            format_state_name(args.name, "value"),
            inputs[0].data_type().clone(),
            true,
        ))];
        for (i, k) in inputs[1..].iter().enumerate() {
            fields.push(Arc::new(Field::new(
                format_state_name(args.name, &format!("key{}", i + 1)),
                k.data_type().clone(),
                true,
            )));
        }
        fields.push(Arc::new(Field::new(
            format_state_name(args.name, "is_set"),
            DataType::Boolean,
            true,
        )));
        Ok(fields)
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (value_type, key_types) = arg_types(&args)?;
        Ok(Box::new(ArgMinGroups::try_new(&value_type, &key_types)?))
    }
    fn order_sensitivity(&self) -> AggregateOrderSensitivity {
        // The order is given by the key arguments, not by the input order.
        AggregateOrderSensitivity::Insensitive
    }
    fn reverse_expr(&self) -> ReversedUDAF {
        ReversedUDAF::Identical
    }
}

/// The rows to use: `None` = all, else those where the mask is true (NULL counts as false).
fn usable_mask(filter: Option<&BooleanArray>) -> Option<BooleanArray> {
    filter.map(|f| {
        if f.null_count() > 0 {
            prep_null_mask_filter(f)
        } else {
            f.clone()
        }
    })
}

/// Splits merge/state columns `[value, key1..keyN, is_set]`.
fn split_state(
    states: &[ArrayRef],
    nkeys: usize,
) -> Result<(&ArrayRef, &[ArrayRef], &BooleanArray)> {
    if states.len() != nkeys + 2 {
        return exec_err!(
            "arg_min: expected {} state columns, got {}",
            nkeys + 2,
            states.len()
        );
    }
    let Some(is_set) = states[nkeys + 1].as_boolean_opt() else {
        return exec_err!("arg_min: the is_set state column is not BOOLEAN");
    };
    Ok((&states[0], &states[1..=nkeys], is_set))
}

// ------------------------------------------------------------------------------------------
// Single group (no GROUP BY, window frames)
// ------------------------------------------------------------------------------------------

/// The single-group form: the best key's row bytes and the value as a scalar.
#[derive(Debug)]
struct ArgMinAccumulator {
    converter: RowConverter,
    null_key: Vec<u8>,
    nkeys: usize,
    /// Row-format bytes of the best key so far; `None`: no row seen.
    best: Option<Vec<u8>>,
    value: ScalarValue,
}

impl ArgMinAccumulator {
    fn try_new(value_type: &DataType, key_types: &[DataType]) -> Result<Self> {
        let (converter, null_key) = key_converter(key_types)?;
        Ok(Self {
            converter,
            null_key,
            nkeys: key_types.len(),
            best: None,
            value: ScalarValue::try_from(value_type)?,
        })
    }

    fn update(
        &mut self,
        value: &ArrayRef,
        keys: &[ArrayRef],
        mask: Option<&BooleanArray>,
    ) -> Result<()> {
        if value.is_empty() {
            return Ok(());
        }
        let mask = usable_mask(mask);
        let rows = self.converter.convert_columns(keys)?;
        let mut best: Option<(usize, &[u8])> = None;
        for i in 0..value.len() {
            if let Some(m) = &mask
                && !m.value(i)
            {
                continue;
            }
            let k = rows.row(i).data();
            if best.is_none_or(|(_, b)| k < b) {
                best = Some((i, k));
            }
        }
        if let Some((i, k)) = best
            && self.best.as_deref().is_none_or(|b| k < b)
        {
            self.best = Some(k.to_vec());
            self.value = ScalarValue::try_from_array(value, i)?;
        }
        Ok(())
    }
}

impl Accumulator for ArgMinAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        if values.len() != self.nkeys + 1 {
            return exec_err!(
                "arg_min: expected {} arguments, got {}",
                self.nkeys + 1,
                values.len()
            );
        }
        self.update(&values[0], &values[1..], None)
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        Ok(self.value.clone())
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) - std::mem::size_of_val(&self.value)
            + self.value.size()
            + self.converter.size()
            + self.null_key.capacity()
            + self.best.as_ref().map_or(0, Vec::capacity)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let parser = self.converter.parser();
        let key = self.best.as_deref().unwrap_or(&self.null_key);
        let key_cols = self
            .converter
            .convert_rows(std::iter::once(parser.parse(key)))?;
        let mut out = Vec::with_capacity(self.nkeys + 2);
        out.push(self.value.clone());
        for c in &key_cols {
            out.push(ScalarValue::try_from_array(c, 0)?);
        }
        out.push(ScalarValue::Boolean(Some(self.best.is_some())));
        Ok(out)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (value, keys, is_set) = split_state(states, self.nkeys)?;
        self.update(value, keys, Some(is_set))
    }
}

// ------------------------------------------------------------------------------------------
// Many groups
// ------------------------------------------------------------------------------------------

/// `arr` of a group that has seen no row.
const NONE: u32 = u32::MAX;

/// One group's state: its best key (`len` bytes at `off` in the key arena) and where its
/// value is (row `row` of retained array `arr`).
#[derive(Debug, Clone, Copy)]
struct Slot {
    off: usize,
    len: u32,
    arr: u32,
    row: u32,
}

const EMPTY: Slot = Slot {
    off: 0,
    len: 0,
    arr: NONE,
    row: 0,
};

impl Slot {
    fn is_set(&self) -> bool {
        self.arr != NONE
    }
}

/// A retained input value array and how many groups' winners it holds.
#[derive(Debug)]
struct Retained {
    array: ArrayRef,
    live: usize,
    bytes: usize,
}

/// The retained value arrays, indexed by [`Slot::arr`]; dead entries are recycled.
#[derive(Debug, Default)]
struct Store {
    arrays: Vec<Option<Retained>>,
    free: Vec<u32>,
    rows: usize,
    bytes: usize,
}

impl Store {
    /// Keeps `array` alive; returns its index.
    fn retain(&mut self, array: &ArrayRef) -> u32 {
        let r = Retained {
            array: Arc::clone(array),
            live: 0,
            bytes: retained_size(array.as_ref()),
        };
        self.rows += array.len();
        self.bytes += r.bytes;
        match self.free.pop() {
            Some(i) => {
                self.arrays[i as usize] = Some(r);
                i
            }
            None => {
                self.arrays.push(Some(r));
                (self.arrays.len() - 1) as u32
            }
        }
    }

    /// One winner fewer in array `i`; drops it when none is left.
    fn release(&mut self, i: u32) {
        let entry = &mut self.arrays[i as usize];
        let r = entry
            .as_mut()
            .expect("arg_min: reference to a dropped array");
        r.live -= 1;
        if r.live == 0 {
            self.rows -= r.array.len();
            self.bytes -= r.bytes;
            *entry = None;
            self.free.push(i);
        }
    }

    fn add_live(&mut self, i: u32) {
        if let Some(r) = self.arrays[i as usize].as_mut() {
            r.live += 1;
        }
    }

    /// The sources for `interleave`: every array slot (dead ones as `null_value`), then
    /// `null_value` itself at index `self.arrays.len()`.
    fn sources<'a>(&'a self, null_value: &'a ArrayRef) -> Vec<&'a dyn Array> {
        self.arrays
            .iter()
            .map(|a| a.as_ref().map_or(null_value.as_ref(), |r| r.array.as_ref()))
            .chain(std::iter::once(null_value.as_ref()))
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

/// Whether `t` has a view type (possibly inside a struct) whose buffers `gc` can shrink.
fn has_views(t: &DataType) -> bool {
    match t {
        DataType::Utf8View | DataType::BinaryView => true,
        DataType::Struct(fields) => fields.iter().any(|f| has_views(f.data_type())),
        _ => false,
    }
}

/// Copies the bytes view arrays (also inside structs) use out of their shared buffers, so a
/// compacted array no longer pins the input's buffers.
fn gc_views(a: ArrayRef) -> Result<ArrayRef> {
    Ok(match a.data_type() {
        DataType::Utf8View => Arc::new(a.as_string_view().gc()),
        DataType::BinaryView => Arc::new(a.as_binary_view().gc()),
        t @ DataType::Struct(_) if has_views(t) => {
            let s = a.as_struct();
            let cols = s
                .columns()
                .iter()
                .map(|c| gc_views(Arc::clone(c)))
                .collect::<Result<Vec<_>>>()?;
            Arc::new(StructArray::try_new(
                s.fields().clone(),
                cols,
                s.nulls().cloned(),
            )?)
        }
        _ => a,
    })
}

/// The key arena: every group's best key, row-format bytes, at [`Slot::off`].
#[derive(Debug, Default)]
struct Arena {
    data: Vec<u8>,
    /// Bytes no slot points at any more.
    garbage: usize,
}

/// Compaction thresholds (rows of retained arrays beyond `2 × groups`, garbage key bytes).
const COMPACT_MIN_ROWS: usize = 64 * 1024;
const COMPACT_MIN_KEY_BYTES: usize = 64 * 1024;

/// The [`GroupsAccumulator`] of `arg_min` (see the module docs).
struct ArgMinGroups {
    converter: RowConverter,
    nkeys: usize,
    null_key: Vec<u8>,
    /// One row, NULL, of the value type: the value of groups that saw no row.
    null_value: ArrayRef,
    slots: Vec<Slot>,
    keys: Arena,
    store: Store,
    /// Retained rows allowed beyond `2 × groups` before compacting (a field for tests).
    compact_min_rows: usize,
    /// Garbage key bytes allowed before compacting the arena (a field for tests).
    compact_min_key_bytes: usize,
}

impl ArgMinGroups {
    fn try_new(value_type: &DataType, key_types: &[DataType]) -> Result<Self> {
        let (converter, null_key) = key_converter(key_types)?;
        Ok(Self {
            converter,
            nkeys: key_types.len(),
            null_key,
            null_value: new_null_array(value_type, 1),
            slots: Vec::new(),
            keys: Arena::default(),
            store: Store::default(),
            compact_min_rows: COMPACT_MIN_ROWS,
            compact_min_key_bytes: COMPACT_MIN_KEY_BYTES,
        })
    }

    /// The common body of `update_batch` and `merge_batch`.
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
        let rows = self.converter.convert_columns(keys)?;
        let Self {
            slots,
            keys: arena,
            store,
            ..
        } = self;
        let mut batch_arr = NONE;
        for (i, &g) in group_indices.iter().enumerate() {
            if let Some(m) = &mask
                && !m.value(i)
            {
                continue;
            }
            let key = rows.row(i).data();
            let slot = &mut slots[g];
            let was_set = slot.is_set();
            let old_len = slot.len as usize;
            if was_set && key >= &arena.data[slot.off..slot.off + old_len] {
                continue;
            }
            // The key: in place when it fits, else appended.
            if was_set && key.len() <= old_len {
                arena.data[slot.off..slot.off + key.len()].copy_from_slice(key);
                arena.garbage += old_len - key.len();
            } else {
                if was_set {
                    arena.garbage += old_len;
                }
                slot.off = arena.data.len();
                arena.data.extend_from_slice(key);
            }
            slot.len = key.len() as u32;
            // The value reference.
            if batch_arr == NONE {
                batch_arr = store.retain(value);
            }
            if slot.arr != batch_arr {
                if was_set {
                    store.release(slot.arr);
                }
                store.add_live(batch_arr);
                slot.arr = batch_arr;
            }
            slot.row = i as u32;
        }
        self.maybe_compact_keys();
        self.maybe_compact_values()
    }

    fn maybe_compact_keys(&mut self) {
        let arena = &mut self.keys;
        if arena.garbage <= self.compact_min_key_bytes || arena.garbage * 2 <= arena.data.len() {
            return;
        }
        let mut data = Vec::with_capacity(arena.data.len() - arena.garbage);
        for s in self.slots.iter_mut().filter(|s| s.is_set()) {
            let off = data.len();
            data.extend_from_slice(&arena.data[s.off..s.off + s.len as usize]);
            s.off = off;
        }
        arena.data = data;
        arena.garbage = 0;
    }

    fn maybe_compact_values(&mut self) -> Result<()> {
        if self.store.rows <= 2 * self.slots.len() + self.compact_min_rows {
            return Ok(());
        }
        self.compact_values()
    }

    /// Replaces the retained arrays by one holding every group's value at row = group index.
    fn compact_values(&mut self) -> Result<()> {
        let live = self.slots.iter().filter(|s| s.is_set()).count();
        if live == 0 {
            self.store = Store::default();
            return Ok(());
        }
        let merged = gc_views(self.take_values(self.slots.len())?)?;
        let mut store = Store::default();
        let idx = store.retain(&merged);
        store.arrays[idx as usize]
            .as_mut()
            .expect("just retained")
            .live = live;
        for (g, s) in self.slots.iter_mut().enumerate() {
            if s.is_set() {
                s.arr = idx;
                s.row = g as u32;
            }
        }
        self.store = store;
        Ok(())
    }

    /// The values of the first `n` groups (NULL for groups without rows), state unchanged.
    fn take_values(&self, n: usize) -> Result<ArrayRef> {
        let sources = self.store.sources(&self.null_value);
        let null_src = self.store.arrays.len();
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
            self.keys = Arena::default();
            self.store = Store::default();
            return Ok(());
        }
        for s in &self.slots[..n] {
            if s.is_set() {
                self.keys.garbage += s.len as usize;
                self.store.release(s.arr);
            }
        }
        self.slots.drain(..n);
        self.maybe_compact_keys();
        self.maybe_compact_values()
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
        if values.len() != self.nkeys + 1 {
            return exec_err!(
                "arg_min: expected {} arguments, got {}",
                self.nkeys + 1,
                values.len()
            );
        }
        self.update(
            &values[0],
            &values[1..],
            group_indices,
            opt_filter,
            total_num_groups,
        )
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let n = self.emit_count(emit_to);
        let out = self.take_values(n)?;
        self.remove_first(n)?;
        Ok(out)
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let n = self.emit_count(emit_to);
        let mut out = Vec::with_capacity(self.nkeys + 2);
        out.push(self.take_values(n)?);
        let parser = self.converter.parser();
        let data = &self.keys.data;
        let null_key = &self.null_key;
        let rows = self.slots[..n].iter().map(|s| {
            parser.parse(if s.is_set() {
                &data[s.off..s.off + s.len as usize]
            } else {
                null_key
            })
        });
        out.extend(self.converter.convert_rows(rows)?);
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
        let (value, keys, is_set) = split_state(values, self.nkeys)?;
        self.update(value, keys, group_indices, Some(is_set), total_num_groups)
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        if values.len() != self.nkeys + 1 {
            return exec_err!(
                "arg_min: expected {} arguments, got {}",
                self.nkeys + 1,
                values.len()
            );
        }
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
            + self.converter.size()
            + self.null_key.capacity()
            + self.null_value.get_array_memory_size()
            + self.slots.capacity() * std::mem::size_of::<Slot>()
            + self.keys.data.capacity()
            + self.store.arrays.capacity() * std::mem::size_of::<Option<Retained>>()
            + self.store.free.capacity() * std::mem::size_of::<u32>()
            + self.store.bytes
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        Array, ArrayRef, AsArray, BooleanArray, Int64Array, RecordBatch, StringArray,
        StringViewArray, TimestampNanosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
    use datafusion::common::ScalarValue;
    use datafusion::datasource::MemTable;
    use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
    use datafusion::prelude::{SessionConfig, SessionContext};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::ArgMinGroups;

    fn ctx_with(config: SessionConfig) -> SessionContext {
        let ctx = SessionContext::new_with_config(config);
        crate::functions::register_all(&ctx);
        ctx
    }

    /// Every cell of the result as text (`NULL` for nulls), row by row.
    async fn query(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for b in &batches {
            for r in 0..b.num_rows() {
                out.push(
                    b.columns()
                        .iter()
                        .map(|c| {
                            let v = ScalarValue::try_from_array(c, r).unwrap();
                            if v.is_null() {
                                "NULL".to_string()
                            } else {
                                v.to_string()
                            }
                        })
                        .collect(),
                );
            }
        }
        out
    }

    async fn rows(sql: &str) -> Vec<Vec<String>> {
        query(&ctx_with(SessionConfig::new()), sql).await
    }

    fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    const T: &str = "(VALUES \
        ('a', 2, 1, 'a-2-1'), \
        ('a', 1, 5, 'a-1-5'), \
        ('a', 1, 3, 'a-1-3'), \
        ('a', 1, NULL, 'a-1-null'), \
        ('b', NULL, 1, 'b-null-1'), \
        ('b', 7, NULL, 'b-7-null'), \
        ('c', NULL, NULL, 'c-null-null'), \
        ('d', 4, 4, NULL), \
        ('d', 5, 1, 'd-5-1') \
        ) AS t(g, k1, k2, v)";

    #[tokio::test]
    async fn arg_min_strings_ties_and_null_keys() {
        let got = rows(&format!(
            "SELECT g, arg_min(v, k1, k2), arg_min(v, k1, k2) = first_value(v ORDER BY k1, k2) \
             FROM {T} GROUP BY g ORDER BY g"
        ))
        .await;
        // a: ties on k1 = 1 broken by k2 (3 < 5 < NULL); b: a NULL k1 sorts after 7;
        // c: only NULL keys, still a row; d: the winner's value is NULL.
        assert_eq!(
            got,
            strs(&[
                &["a", "a-1-3", "true"],
                &["b", "b-7-null", "true"],
                &["c", "c-null-null", "true"],
                &["d", "NULL", "NULL"],
            ])
        );
    }

    #[tokio::test]
    async fn arg_min_single_key_and_no_group_by() {
        let got = rows(&format!(
            "SELECT arg_min(v, k1), arg_min(v, k2, k1), arg_min(k2, v) FROM {T}"
        ))
        .await;
        // arg_min(v, k1): k1 = 1 is tied between three rows; any one of them is correct.
        assert!(
            ["a-1-5", "a-1-3", "a-1-null"].contains(&got[0][0].as_str()),
            "{got:?}"
        );
        // k2 = 1 is tied between k1 = 2, NULL and 5: k1 breaks it; the smallest v has k2 = 3.
        assert_eq!(got[0][1..], ["a-2-1", "3"]);
    }

    #[tokio::test]
    async fn arg_min_filter_clause() {
        let got = rows(&format!(
            "SELECT g, arg_min(v, k1, k2) FILTER (WHERE k2 > 3), \
                    arg_min(v, k1, k2) FILTER (WHERE k1 <> 7) \
             FROM {T} GROUP BY g ORDER BY g"
        ))
        .await;
        // b: k2 > 3 is false or NULL everywhere → NULL; second: NULL k1 <> 7 is NULL → excluded.
        assert_eq!(
            got,
            strs(&[
                &["a", "a-1-5", "a-1-3"],
                &["b", "NULL", "NULL"],
                &["c", "NULL", "NULL"],
                &["d", "NULL", "NULL"],
            ])
        );
        let got = rows(&format!(
            "SELECT arg_min(v, k1, k2) FILTER (WHERE g = 'zzz') FROM {T}"
        ))
        .await;
        assert_eq!(got, strs(&[&["NULL"]]));
    }

    #[tokio::test]
    async fn arg_min_struct_value_field_access() {
        let got = rows(&format!(
            "SELECT g, arg_min(named_struct('a', v, 'b', k2), k1, k2)['a'] AS a, \
                    arg_min(named_struct('a', v, 'b', k2), k1, k2)['b'] AS b \
             FROM {T} GROUP BY g ORDER BY g"
        ))
        .await;
        assert_eq!(
            got,
            strs(&[
                &["a", "a-1-3", "3"],
                &["b", "b-7-null", "NULL"],
                &["c", "c-null-null", "NULL"],
                &["d", "NULL", "4"],
            ])
        );
        // Without GROUP BY (the plain accumulator).
        let got = rows(&format!(
            "SELECT arg_min(named_struct('a', v, 'b', k2), k1, k2)['a'] FROM {T}"
        ))
        .await;
        assert_eq!(got, strs(&[&["a-1-3"]]));
    }

    #[tokio::test]
    async fn arg_min_other_types() {
        // Timestamp / boolean / Utf8View keys; Int64, Timestamp, Boolean values.
        let got = rows(
            "SELECT g, arg_min(n, ts, arrow_cast(s, 'Utf8View')), arg_min(ts, b, n), \
                    arg_min(b, arrow_cast(s, 'Utf8View')), arg_min(arrow_cast(s, 'Utf8View'), n) \
             FROM (VALUES \
               (1, 10, TIMESTAMP '2026-01-02 00:00:00', true, 'x'), \
               (1, 20, TIMESTAMP '2026-01-01 00:00:00', false, 'y'), \
               (1, 30, TIMESTAMP '2026-01-01 00:00:00', true, 'w'), \
               (2, 40, NULL, NULL, NULL)) AS t(g, n, ts, b, s) \
             GROUP BY g ORDER BY g",
        )
        .await;
        assert_eq!(
            got,
            strs(&[
                &["1", "30", "1767225600000000000", "true", "x"],
                &["2", "40", "NULL", "NULL", "NULL"],
            ])
        );
    }

    #[tokio::test]
    async fn arg_min_empty_input() {
        let got = rows(&format!("SELECT arg_min(v, k1) FROM {T} WHERE g = 'zzz'")).await;
        assert_eq!(got, strs(&[&["NULL"]]));
        let got = rows(&format!(
            "SELECT g, arg_min(v, k1) FROM {T} WHERE g = 'zzz' GROUP BY g"
        ))
        .await;
        assert!(got.is_empty());
    }

    #[tokio::test]
    async fn arg_min_planning_errors() {
        let ctx = ctx_with(SessionConfig::new());
        let err = ctx.sql("SELECT arg_min(1)").await.unwrap_err().to_string();
        assert!(err.contains("arg_min(value, key1"), "{err}");
    }

    /// A table of `rows` random rows in `parts` partitions of batches of up to 50 rows:
    /// g (groups), k1 (small ints, 10 % NULL), k2 (unique text, so (k1, k2) is total),
    /// ts (timestamps), v (text, 10 % NULL), n (ints).
    fn random_table(seed: u64, rows: usize, groups: i64, parts: usize) -> MemTable {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let schema = Arc::new(Schema::new(vec![
            Field::new("g", DataType::Int64, false),
            Field::new("k1", DataType::Int64, true),
            Field::new("k2", DataType::Utf8, false),
            Field::new("ts", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
            Field::new("v", DataType::Utf8, true),
            Field::new("n", DataType::Int64, false),
        ]));
        let mut partitions = vec![Vec::new(); parts];
        let mut row = 0usize;
        while row < rows {
            let len = rng.random_range(1..=50).min(rows - row);
            let ids: Vec<usize> = (row..row + len).collect();
            let g: Int64Array = ids
                .iter()
                .map(|_| Some(rng.random_range(0..groups)))
                .collect();
            let k1: Int64Array = ids
                .iter()
                .map(|_| rng.random_bool(0.9).then(|| rng.random_range(0..4)))
                .collect();
            // Unique, of varying length, not in row order.
            let k2: StringArray = ids
                .iter()
                .map(|&i| {
                    let pad = "z".repeat(rng.random_range(0..20));
                    Some(format!("{:x}{pad}-{i}", rng.random_range(0..1000)))
                })
                .collect();
            let ts: TimestampNanosecondArray = ids
                .iter()
                .map(|&i| Some(rng.random_range(0..1_000_000i64) * 1_000_000_000 + i as i64))
                .collect();
            let v: StringArray = ids
                .iter()
                .map(|&i| {
                    rng.random_bool(0.9)
                        .then(|| format!("value-{i}-{}", "x".repeat(rng.random_range(0..30))))
                })
                .collect();
            let n: Int64Array = ids.iter().map(|&i| Some(i as i64)).collect();
            let batch = RecordBatch::try_new(
                Arc::clone(&schema),
                vec![
                    Arc::new(g),
                    Arc::new(k1),
                    Arc::new(k2),
                    Arc::new(ts),
                    Arc::new(v),
                    Arc::new(n),
                ],
            )
            .unwrap();
            partitions[rng.random_range(0..parts)].push(batch);
            row += len;
        }
        MemTable::try_new(schema, partitions).unwrap()
    }

    async fn compare_with_first_value(config: SessionConfig, seed: u64) {
        let ctx = ctx_with(config);
        ctx.register_table("t", Arc::new(random_table(seed, 6000, 700, 4)))
            .unwrap();
        let sql = "SELECT g, count(*) AS rows, \
                arg_min(v, k1, k2) AS a1, first_value(v ORDER BY k1, k2) AS f1, \
                arg_min(n, ts) AS a2, first_value(n ORDER BY ts) AS f2, \
                arg_min(v, k1, k2) FILTER (WHERE n % 3 <> 0) AS a3, \
                first_value(v ORDER BY k1, k2) FILTER (WHERE n % 3 <> 0) AS f3, \
                arg_min(named_struct('v', v, 'n', n), k2)['n'] AS a4, \
                first_value(n ORDER BY k2) AS f4 \
            FROM t GROUP BY g ORDER BY g";
        let got = query(&ctx, sql).await;
        assert_eq!(got.len(), 700);
        let mut nulls = 0;
        for r in &got {
            assert_eq!(r[2], r[3], "arg_min(v, k1, k2) vs first_value in {r:?}");
            assert_eq!(r[4], r[5], "arg_min(n, ts) vs first_value in {r:?}");
            assert_eq!(r[6], r[7], "filtered arg_min vs first_value in {r:?}");
            assert_eq!(r[8], r[9], "struct arg_min vs first_value in {r:?}");
            nulls += usize::from(r[2] == "NULL") + usize::from(r[6] == "NULL");
        }
        // The data has NULL values and filtered-out groups, so NULLs must show up.
        assert!(nulls > 0);
        // The same without GROUP BY.
        let got = query(
            &ctx,
            "SELECT arg_min(v, k1, k2) = first_value(v ORDER BY k1, k2), \
                    arg_min(n, ts) = first_value(n ORDER BY ts) FROM t",
        )
        .await;
        assert_eq!(got, strs(&[&["true", "true"]]));
    }

    #[tokio::test]
    async fn arg_min_matches_first_value_random() {
        let config = SessionConfig::new()
            .with_target_partitions(4)
            .with_batch_size(7);
        compare_with_first_value(config, 7).await;
    }

    #[tokio::test]
    async fn arg_min_matches_first_value_random_skip_partial() {
        // Make the partial aggregation give up early, so convert_to_state runs.
        let mut config = SessionConfig::new()
            .with_target_partitions(4)
            .with_batch_size(7);
        config = config
            .set_usize(
                "datafusion.execution.skip_partial_aggregation_probe_rows_threshold",
                10,
            )
            .set_str(
                "datafusion.execution.skip_partial_aggregation_probe_ratio_threshold",
                "0.01",
            );
        compare_with_first_value(config, 11).await;
    }

    // ---- the GroupsAccumulator directly -------------------------------------------------

    fn utf8_view(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringViewArray::from(values.to_vec()))
    }

    fn texts(a: &ArrayRef) -> Vec<Option<String>> {
        let a = datafusion::arrow::compute::cast(a, &DataType::Utf8).unwrap();
        a.as_string::<i32>()
            .iter()
            .map(|s| s.map(str::to_string))
            .collect()
    }

    #[test]
    fn arg_min_emit_first_shifts_groups() {
        let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64]).unwrap();
        let v = utf8_view(&[
            Some("g0-5"),
            Some("g1-3"),
            Some("g2-9"),
            Some("g0-1"),
            Some("g3-2"),
        ]);
        let k: ArrayRef = Arc::new(Int64Array::from(vec![5, 3, 9, 1, 2]));
        acc.update_batch(&[v, k], &[0, 1, 2, 0, 3], None, 5)
            .unwrap();
        // Group 4 saw no row.
        let first = acc.evaluate(EmitTo::First(2)).unwrap();
        assert_eq!(
            texts(&first),
            vec![Some("g0-1".into()), Some("g1-3".into())]
        );
        // Old groups 2, 3, 4 are now 0, 1, 2; add group 3 and better keys for old 2 and 4.
        let v = utf8_view(&[Some("g2-0"), Some("g4-7"), Some("new-1"), Some("g3-8")]);
        let k: ArrayRef = Arc::new(Int64Array::from(vec![0, 7, 1, 8]));
        let f = BooleanArray::from(vec![true, true, true, true]);
        acc.update_batch(&[v, k], &[0, 2, 3, 1], Some(&f), 4)
            .unwrap();
        // state(First(1)) then merge into a fresh accumulator gives the same value.
        let state = acc.state(EmitTo::First(1)).unwrap();
        assert_eq!(state.len(), 3);
        assert_eq!(
            state[1]
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
                .value(0),
            0
        );
        let mut other = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64]).unwrap();
        other.merge_batch(&state, &[0], 1).unwrap();
        assert_eq!(
            texts(&other.evaluate(EmitTo::All).unwrap()),
            vec![Some("g2-0".into())]
        );
        // Remaining: old 3 ("g3-2" beats "g3-8"), old 4 ("g4-7"), new ("new-1").
        let rest = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(
            texts(&rest),
            vec![
                Some("g3-2".into()),
                Some("g4-7".into()),
                Some("new-1".into())
            ]
        );
        // Empty again, and reusable.
        assert_eq!(acc.evaluate(EmitTo::All).unwrap().len(), 0);
        let v = utf8_view(&[None]);
        let k: ArrayRef = Arc::new(Int64Array::from(vec![None]));
        acc.update_batch(&[v, k], &[1], None, 2).unwrap();
        let state = acc.state(EmitTo::All).unwrap();
        assert_eq!(
            state[2].as_boolean().iter().collect::<Vec<_>>(),
            vec![Some(false), Some(true)]
        );
    }

    /// The reference: per group, the best (k1 NULLS LAST, k2) and its value.
    type Best = Option<((bool, i64, String), Option<String>)>;

    fn better(key: &(bool, i64, String), cur: &Best) -> bool {
        cur.as_ref().is_none_or(|(k, _)| key < k)
    }

    #[test]
    fn arg_min_groups_random_against_naive() {
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        let types = [DataType::Int64, DataType::Utf8];
        let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &types).unwrap();
        // Compact as often as possible.
        acc.compact_min_rows = 0;
        acc.compact_min_key_bytes = 0;
        let mut model: Vec<Best> = Vec::new();
        let mut serial = 0usize;
        for step in 0..3000 {
            let op = rng.random_range(0..20);
            if op == 0 && !model.is_empty() {
                let n = rng.random_range(0..=model.len());
                let out = acc.evaluate(EmitTo::First(n)).unwrap();
                let want: Vec<Option<String>> =
                    model.drain(..n).map(|b| b.and_then(|(_, v)| v)).collect();
                assert_eq!(texts(&out), want, "evaluate(First({n})) at step {step}");
                continue;
            }
            if op == 1 && !model.is_empty() {
                // state(First(n)) merged into a fresh accumulator, in two halves.
                let n = rng.random_range(0..=model.len());
                let state = acc.state(EmitTo::First(n)).unwrap();
                let mut other = ArgMinGroups::try_new(&DataType::Utf8View, &types).unwrap();
                let half = n / 2;
                let idx: Vec<usize> = (0..n).collect();
                let head: Vec<ArrayRef> = state.iter().map(|c| c.slice(0, half)).collect();
                let tail: Vec<ArrayRef> = state.iter().map(|c| c.slice(half, n - half)).collect();
                other.merge_batch(&tail, &idx[half..], n).unwrap();
                other.merge_batch(&head, &idx[..half], n).unwrap();
                let want: Vec<Option<String>> =
                    model.drain(..n).map(|b| b.and_then(|(_, v)| v)).collect();
                assert_eq!(texts(&other.evaluate(EmitTo::All).unwrap()), want);
                continue;
            }
            let total = model.len() + rng.random_range(0..3);
            if total == 0 {
                continue;
            }
            model.resize(total, None);
            let len = rng.random_range(0..12);
            let mut g = Vec::new();
            let mut k1 = Vec::new();
            let mut k2 = Vec::new();
            let mut v = Vec::new();
            let mut f = Vec::new();
            for _ in 0..len {
                serial += 1;
                g.push(rng.random_range(0..total));
                k1.push(rng.random_bool(0.8).then(|| rng.random_range(-3..3i64)));
                k2.push(format!("{}{}", "k".repeat(rng.random_range(0..40)), serial));
                v.push(
                    rng.random_bool(0.9)
                        .then(|| format!("value number {serial}")),
                );
                f.push(match rng.random_range(0..10) {
                    0 => None,
                    1 => Some(false),
                    _ => Some(true),
                });
            }
            let filter = BooleanArray::from(f.clone());
            let use_filter = rng.random_bool(0.5);
            let values: Vec<ArrayRef> = vec![
                utf8_view(&v.iter().map(|s| s.as_deref()).collect::<Vec<_>>()),
                Arc::new(Int64Array::from(k1.clone())),
                Arc::new(StringArray::from(k2.clone())),
            ];
            if rng.random_bool(0.2) {
                // As a partial state converted row by row, then merged.
                let state = acc
                    .convert_to_state(&values, use_filter.then_some(&filter))
                    .unwrap();
                acc.merge_batch(&state, &g, total).unwrap();
            } else {
                acc.update_batch(&values, &g, use_filter.then_some(&filter), total)
                    .unwrap();
            }
            for i in 0..len {
                if use_filter && f[i] != Some(true) {
                    continue;
                }
                let key = (k1[i].is_none(), k1[i].unwrap_or(0), k2[i].clone());
                if better(&key, &model[g[i]]) {
                    model[g[i]] = Some((key, v[i].clone()));
                }
            }
            // Memory stays proportional to the groups, not to the input seen.
            assert!(acc.store.rows <= 2 * model.len() + 12, "step {step}");
            assert!(acc.size() > 0);
        }
        let out = acc.evaluate(EmitTo::All).unwrap();
        let want: Vec<Option<String>> = model.into_iter().map(|b| b.and_then(|(_, v)| v)).collect();
        assert_eq!(texts(&out), want);
    }
}
