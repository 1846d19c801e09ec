//! `arg_min(value, key1 [, key2, …, keyN])`: the value from the row with the smallest keys, as a
//! SQL aggregate function with a vectorized [`GroupsAccumulator`]. `arg_min(value)`, with one
//! argument, is `arg_min(value, value)`: the smallest value, kept once.
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
//!
//! -- a whole row, ordered by its own fields in turn (event_time first): one argument
//! SELECT event_id, arg_min(named_struct('event_time', event_time, 'channel', channel)) AS e
//! FROM events GROUP BY event_id;
//! ```
//!
//! | in | out |
//! |---|---|
//! | `value`: any Arrow type (text, integers, timestamps, booleans, structs from `named_struct`, lists, …); `key1 … keyN` (N ≥ 1): any type Arrow's row format can order (integers, floats, decimals, booleans, dates, timestamps, `Utf8`/`LargeUtf8`/`Utf8View`, binary, dictionaries, structs, lists) | the type of `value`, nullable |
//! | `value` alone: any type Arrow's row format can order; a struct orders field by field | the type of `value`, nullable |
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
//! Errors (planning): no argument; a key type (or, alone, a value type) Arrow's row format
//! cannot order (e.g. a map).
//!
//! # Implementation
//!
//! The [`GroupsAccumulator`] holds no copy of a group's best row: per group it keeps a
//! reference (retained input batch, row), and the input batches (value and key columns, as
//! `update_batch` or `merge_batch` got them) holding at least one group's best row are kept
//! alive. Keys are compared lazily, only when a group gets a second candidate row, in the
//! same batch or a later one: the first row of a group is just recorded, at the cost of one
//! slot write, which is what nearly every row costs when most groups see one row (e.g.
//! de-duplicating by a mostly unique id). A candidate is compared with the group's current
//! best row key by key (lexicographically, ascending, NULLS LAST) with
//! `arrow::array::make_comparator`, one comparator per key column and pair of batches, made
//! on first use within a batch; the smaller row takes over the reference and ties keep the
//! current one. The order is that of Arrow's row format (which the single-group accumulator
//! still uses): for the flat key types (numbers, floats in IEEE 754 total order with
//! `-0.0 < 0.0` and NaN last, decimals, temporal types, booleans, text and binary, also as
//! views) `make_comparator` orders the same way; any other key type (dictionaries, structs,
//! lists, intervals, …) is encoded to the row format, that column alone, for each retained
//! batch and compared as bytes.
//!
//! Results, and the keys of the intermediate state, are assembled with `interleave` from the
//! retained batches. When those hold many more rows than there are groups, or when most of
//! their key bytes are in rows no group points at, they are compacted into one batch holding
//! just the groups' best rows (view arrays `gc`ed), so memory follows the number of groups,
//! not the input. `size()` reports the slots and the retained batches to DataFusion's memory
//! pool, each array by the bytes of its slice, not the buffers it may share with the input.
//!
//! The intermediate state (for multi-phase aggregation and spilling) is
//! `[value, key1, …, keyN, is_set]`: the keys in their own types and a BOOLEAN telling a group
//! that saw rows from an empty one (needed because NULL keys are legitimate keys). With one
//! argument it is `[value, is_set]`: a row that is its own key is retained, shuffled and
//! spilled once, not twice (de-duplicating whole rows moves half the bytes). Structs whose
//! fields are all of the flat types are compared in place too, field by field, as the row
//! format orders them.

pub mod exec;

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, DynComparator, StructArray, make_comparator,
    new_null_array,
};
use datafusion::arrow::compute::{SortOptions, interleave, prep_null_mask_filter};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::{RowConverter, Rows, SortField};
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

/// The value type, the key types and whether the value is its own (only) key — one
/// argument — from the accumulator arguments.
fn arg_types(args: &AccumulatorArgs) -> Result<(DataType, Vec<DataType>, bool)> {
    let types: Vec<DataType> = args
        .expr_fields
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    match types.len() {
        0 => plan_err!("{USAGE}; got no arguments"),
        1 => Ok((types[0].clone(), types.clone(), true)),
        _ => Ok((types[0].clone(), types[1..].to_vec(), false)),
    }
}

/// Splits the arguments of `update_batch` into the value and the keys: `[value, key1..keyN]`,
/// or `[value]` when the value is its own key.
fn split_args(
    values: &[ArrayRef],
    nkeys: usize,
    own_key: bool,
) -> Result<(&ArrayRef, &[ArrayRef])> {
    let expected = if own_key { 1 } else { nkeys + 1 };
    if values.len() != expected {
        return exec_err!(
            "arg_min: expected {expected} arguments, got {}",
            values.len()
        );
    }
    Ok(if own_key {
        (&values[0], &values[0..1])
    } else {
        (&values[0], &values[1..])
    })
}

impl AggregateUDFImpl for ArgMin {
    fn name(&self) -> &str {
        "arg_min"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.is_empty() {
            return plan_err!("{USAGE}; got no arguments");
        }
        let keys = if arg_types.len() == 1 {
            arg_types
        } else {
            &arg_types[1..]
        };
        for (i, t) in keys.iter().enumerate() {
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
        let (value_type, key_types, own_key) = arg_types(&args)?;
        Ok(Box::new(ArgMinAccumulator::try_new(
            &value_type,
            &key_types,
            own_key,
        )?))
    }
    fn state_fields(&self, args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        let inputs = args.input_fields;
        if inputs.is_empty() {
            return plan_err!("{USAGE}; got no arguments");
        }
        let mut fields = vec![Arc::new(Field::new(
            format_state_name(args.name, "value"),
            inputs[0].data_type().clone(),
            true,
        ))];
        // One argument: the value is its own key and is kept once.
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
        let (value_type, key_types, own_key) = arg_types(&args)?;
        let mut acc = ArgMinGroups::try_new(&value_type, &key_types)?;
        acc.own_key = own_key;
        Ok(Box::new(acc))
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

/// Splits merge/state columns `[value, key1..keyN, is_set]`, or `[value, is_set]` when the
/// value is its own key.
fn split_state(
    states: &[ArrayRef],
    nkeys: usize,
    own_key: bool,
) -> Result<(&ArrayRef, &[ArrayRef], &BooleanArray)> {
    let expected = if own_key { 2 } else { nkeys + 2 };
    if states.len() != expected {
        return exec_err!(
            "arg_min: expected {expected} state columns, got {}",
            states.len()
        );
    }
    let Some(is_set) = states[expected - 1].as_boolean_opt() else {
        return exec_err!("arg_min: the is_set state column is not BOOLEAN");
    };
    let keys = if own_key {
        &states[0..1]
    } else {
        &states[1..=nkeys]
    };
    Ok((&states[0], keys, is_set))
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
    /// `arg_min(value)`: the value is its only key, and is not repeated in the state.
    own_key: bool,
    /// Row-format bytes of the best key so far; `None`: no row seen.
    best: Option<Vec<u8>>,
    value: ScalarValue,
}

impl ArgMinAccumulator {
    fn try_new(value_type: &DataType, key_types: &[DataType], own_key: bool) -> Result<Self> {
        let (converter, null_key) = key_converter(key_types)?;
        Ok(Self {
            converter,
            null_key,
            nkeys: key_types.len(),
            own_key,
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
        let (value, keys) = split_args(values, self.nkeys, self.own_key)?;
        self.update(value, keys, None)
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
        if !self.own_key {
            for c in &key_cols {
                out.push(ScalarValue::try_from_array(c, 0)?);
            }
        }
        out.push(ScalarValue::Boolean(Some(self.best.is_some())));
        Ok(out)
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let (value, keys, is_set) = split_state(states, self.nkeys, self.own_key)?;
        self.update(value, keys, Some(is_set))
    }
}

// ------------------------------------------------------------------------------------------
// Many groups
// ------------------------------------------------------------------------------------------

/// The order of every key: ascending, NULLS LAST (the options of [`sort_field`]).
pub(crate) const KEY_ORDER: SortOptions = SortOptions {
    descending: false,
    nulls_first: false,
};

/// Whether keys of type `t` are compared in place with `make_comparator`, which for these
/// flat types orders exactly as the row format does: integers, decimals, dates, times,
/// timestamps and durations by number; floats by IEEE 754 total order (both use it:
/// `-NaN < -∞ < … < -0.0 < 0.0 < … < ∞ < NaN`); booleans `false < true`; text and binary
/// (also views and fixed size) bytewise, a prefix before its extensions; NULL after everything
/// ([`KEY_ORDER`]); structs of such fields field by field, a NULL struct last (arrow-ord's
/// `compare_struct` passes ascending, NULLS LAST to the fields, as the row format encodes
/// them). Every other type (dictionaries, lists, intervals, structs holding one of those, …) is
/// compared through its row format ([`ArgMinGroups::encoders`]), so its order is the row
/// format's by construction.
pub(crate) fn compared_in_place(t: &DataType) -> bool {
    use DataType::*;
    matches!(
        t,
        Null | Boolean
            | Int8
            | Int16
            | Int32
            | Int64
            | UInt8
            | UInt16
            | UInt32
            | UInt64
            | Float16
            | Float32
            | Float64
            | Decimal32(..)
            | Decimal64(..)
            | Decimal128(..)
            | Decimal256(..)
            | Date32
            | Date64
            | Time32(_)
            | Time64(_)
            | Timestamp(..)
            | Duration(_)
            | Utf8
            | LargeUtf8
            | Utf8View
            | Binary
            | LargeBinary
            | BinaryView
            | FixedSizeBinary(_)
    ) || matches!(t, Struct(fields) if fields.iter().all(|f| compared_in_place(f.data_type())))
}

/// `arr` of a group that has seen no row.
const NONE: u32 = u32::MAX;

/// One group's state: where its best row so far is, row `row` of retained batch `arr`, which
/// holds that row's value and keys.
#[derive(Debug, Clone, Copy)]
struct Slot {
    arr: u32,
    row: u32,
}

const EMPTY: Slot = Slot { arr: NONE, row: 0 };

impl Slot {
    fn is_set(&self) -> bool {
        self.arr != NONE
    }
}

/// A retained input batch: the value and key columns as `update_batch` or `merge_batch` got
/// them, and how many groups' best rows it holds.
#[derive(Debug)]
struct Retained {
    value: ArrayRef,
    keys: Vec<ArrayRef>,
    /// Per key column: its row format when the column is compared that way
    /// ([`ArgMinGroups::encoders`]), else `None`.
    encoded: Vec<Option<Arc<Rows>>>,
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
struct Store {
    entries: Vec<Option<Retained>>,
    free: Vec<u32>,
    /// Rows of all retained batches.
    rows: usize,
    /// Bytes charged for all retained batches.
    bytes: usize,
    /// Key bytes of all retained batches (`key_bytes_per_row × rows` summed)…
    key_bytes: usize,
    /// …and the part of it in rows no group points at.
    dead_key_bytes: usize,
}

impl Store {
    /// Keeps a batch alive, with no group pointing at it yet; returns its index.
    fn retain(
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

    fn get(&self, i: u32) -> &Retained {
        self.entries[i as usize]
            .as_ref()
            .expect("arg_min: reference to a dropped batch")
    }

    /// One group more points at batch `i`.
    fn add_live(&mut self, i: u32) {
        let r = self.entries[i as usize]
            .as_mut()
            .expect("arg_min: reference to a dropped batch");
        r.live += 1;
        self.dead_key_bytes -= r.key_bytes_per_row;
    }

    /// One group fewer points at batch `i`; drops it when none is left.
    fn release(&mut self, i: u32) {
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
    fn sources<'a>(&'a self, col: Option<usize>, placeholder: &'a ArrayRef) -> Vec<&'a dyn Array> {
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

/// Sum of the data buffers a view array points into, each counted once per reference as
/// `get_array_memory_size` counts them (`interleave` from several slices of one batch adds the
/// shared buffer once per slice).
fn view_buffer_bytes(a: &dyn Array) -> (usize, usize) {
    match a.data_type() {
        DataType::Utf8View => {
            let v = a.as_string_view();
            let held: usize = v.data_buffers().iter().map(|b| b.capacity()).sum();
            (held, v.total_buffer_bytes_used())
        }
        DataType::BinaryView => {
            let v = a.as_binary_view();
            let held: usize = v.data_buffers().iter().map(|b| b.capacity()).sum();
            (held, v.total_buffer_bytes_used())
        }
        DataType::Struct(_) => a
            .as_struct()
            .columns()
            .iter()
            .map(|c| view_buffer_bytes(c.as_ref()))
            .fold((0, 0), |(h, u), (h2, u2)| (h + h2, u + u2)),
        _ => (0, 0),
    }
}

/// [`gc_views`] when the view arrays in `a` (also inside structs) hold more than twice the
/// bytes they use, plus 64 KiB: an `interleave`d result otherwise pins every data buffer of
/// the batches it picks from. DataFusion charges the aggregate's materialized output by
/// `get_array_memory_size`, which counts those buffers whole, once per reference: an
/// ungarbage-collected `arg_min` output of 1.5 million groups was charged 558 MB and failed
/// a 4 GiB run (`stg_customer_touch` at 100 million events).
fn gc_sparse_views(a: ArrayRef) -> Result<ArrayRef> {
    if !has_views(a.data_type()) {
        return Ok(a);
    }
    let (held, used) = view_buffer_bytes(a.as_ref());
    if held > 2 * used + (64 << 10) {
        gc_views(a)
    } else {
        Ok(a)
    }
}

/// Compares the keys of rows of one batch (left) with those of rows of a retained batch
/// (right): one comparator per key column, applied lexicographically.
struct KeyCmp(Vec<DynComparator>);

impl KeyCmp {
    /// `keys` and `encoded`: the left batch's key columns and their row formats (as
    /// [`Retained::encoded`]).
    fn new(keys: &[ArrayRef], encoded: &[Option<Arc<Rows>>], right: &Retained) -> Result<Self> {
        let mut cmps = Vec::with_capacity(keys.len());
        for (c, l) in keys.iter().enumerate() {
            cmps.push(match (&encoded[c], &right.encoded[c]) {
                (None, None) => make_comparator(l.as_ref(), right.keys[c].as_ref(), KEY_ORDER)?,
                (Some(l), Some(r)) => {
                    let (l, r) = (Arc::clone(l), Arc::clone(r));
                    Box::new(move |i, j| l.row(i).cmp(&r.row(j))) as DynComparator
                }
                _ => return exec_err!("arg_min: key{} encoded on one side only", c + 1),
            });
        }
        Ok(Self(cmps))
    }

    /// Whether row `i` of the left batch has strictly smaller keys than row `j` of the right.
    fn less(&self, i: usize, j: usize) -> bool {
        for cmp in &self.0 {
            match cmp(i, j) {
                Ordering::Equal => {}
                o => return o == Ordering::Less,
            }
        }
        false
    }
}

/// Compaction thresholds: rows of retained batches beyond `2 × groups`, and key bytes of
/// retained rows no group points at (compacting also needs them to be over half the key
/// bytes).
const COMPACT_MIN_ROWS: usize = 64 * 1024;
const COMPACT_MIN_KEY_BYTES: usize = 64 * 1024;

/// The [`GroupsAccumulator`] of `arg_min` (see the module docs).
struct ArgMinGroups {
    nkeys: usize,
    /// `arg_min(value)`: the value is its only key, retained once and not repeated in the
    /// state.
    own_key: bool,
    /// Per key column: `None` when its type is compared in place ([`compared_in_place`]),
    /// else a converter to the row format of that column alone, which then encodes the
    /// column of every retained batch (the old eager cost, for those types only).
    encoders: Vec<Option<RowConverter>>,
    /// One row, NULL, of the value type: the value of groups that saw no row.
    null_value: ArrayRef,
    /// One row, NULL, of each key type: the keys of groups that saw no row (in `state`).
    null_keys: Vec<ArrayRef>,
    slots: Vec<Slot>,
    store: Store,
    /// Retained rows allowed beyond `2 × groups` before compacting (a field for tests).
    compact_min_rows: usize,
    /// Key bytes of dead retained rows allowed before compacting (a field for tests).
    compact_min_key_bytes: usize,
}

impl ArgMinGroups {
    fn try_new(value_type: &DataType, key_types: &[DataType]) -> Result<Self> {
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

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{
        Array, ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, RecordBatch, StringArray,
        StringViewArray, TimestampNanosecondArray,
    };
    use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema, TimeUnit};
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
    pub(crate) async fn query(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
        cells(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
    }

    /// The rows of `batches`, each cell as text (`NULL` for null).
    pub(crate) fn cells(batches: &[RecordBatch]) -> Vec<Vec<String>> {
        let mut out = Vec::new();
        for b in batches {
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
        let err = ctx.sql("SELECT arg_min()").await.unwrap_err().to_string();
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
                first_value(n ORDER BY k2) AS f4, \
                arg_min(named_struct('k1', k1, 'k2', k2, 'v', v))['v'] AS a5, \
                first_value(v ORDER BY k1, k2) AS f5, \
                (arg_min(named_struct('k1', k1, 'k2', k2, 'n', n)) \
                    FILTER (WHERE n % 3 <> 0))['n'] AS a6, \
                first_value(n ORDER BY k1, k2) FILTER (WHERE n % 3 <> 0) AS f6 \
            FROM t GROUP BY g ORDER BY g";
        let got = query(&ctx, sql).await;
        assert_eq!(got.len(), 700);
        let mut nulls = 0;
        for r in &got {
            assert_eq!(r[2], r[3], "arg_min(v, k1, k2) vs first_value in {r:?}");
            assert_eq!(r[4], r[5], "arg_min(n, ts) vs first_value in {r:?}");
            assert_eq!(r[6], r[7], "filtered arg_min vs first_value in {r:?}");
            assert_eq!(r[8], r[9], "struct arg_min vs first_value in {r:?}");
            assert_eq!(r[10], r[11], "arg_min(struct) vs first_value in {r:?}");
            assert_eq!(
                r[12], r[13],
                "filtered arg_min(struct) vs first_value in {r:?}"
            );
            nulls += usize::from(r[2] == "NULL") + usize::from(r[6] == "NULL");
        }
        // The data has NULL values and filtered-out groups, so NULLs must show up.
        assert!(nulls > 0);
        // The same without GROUP BY.
        let got = query(
            &ctx,
            "SELECT arg_min(v, k1, k2) = first_value(v ORDER BY k1, k2), \
                    arg_min(n, ts) = first_value(n ORDER BY ts), \
                    arg_min(named_struct('k1', k1, 'k2', k2, 'n', n))['n'] \
                        = first_value(n ORDER BY k1, k2) FROM t",
        )
        .await;
        assert_eq!(got, strs(&[&["true", "true", "true"]]));
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
    fn arg_min_output_does_not_pin_shared_view_buffers() {
        // 20,000 values of 40 bytes in one view array: 800,000 bytes in its data buffers,
        // fed as 100 slices of 200 rows (as batches of one Parquet page arrive), one group
        // per row. `interleave` adds each data buffer a slice points into once per slice, so
        // an output that is not garbage-collected is charged many times the 800,000 bytes by
        // `get_array_memory_size` (31.7 MB before the fix); the values themselves take
        // 20,000 × (16 + 40) = 1.12 MB.
        let values: Vec<String> = (0..20_000).map(|i| format!("{i:040}")).collect();
        let all: ArrayRef = Arc::new(StringViewArray::from_iter_values(&values));
        let (held, _) = super::view_buffer_bytes(all.as_ref());
        assert!(held >= 800_000, "{held}");
        let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64]).unwrap();
        for s in 0..100 {
            let v = all.slice(s * 200, 200);
            let k: ArrayRef = Arc::new(Int64Array::from_iter_values(0..200));
            let groups: Vec<usize> = (s * 200..s * 200 + 200).collect();
            acc.update_batch(&[v, k], &groups, None, s * 200 + 200)
                .unwrap();
        }
        let out = acc.evaluate(EmitTo::All).unwrap();
        assert_eq!(out.len(), 20_000);
        assert_eq!(texts(&out)[12_345], Some(values[12_345].clone()));
        assert!(
            out.get_array_memory_size() < 2_000_000,
            "{} bytes",
            out.get_array_memory_size()
        );
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

    // ---- lazy key comparison ------------------------------------------------------------

    fn int64(values: &[Option<i64>]) -> ArrayRef {
        Arc::new(Int64Array::from(values.to_vec()))
    }

    fn utf8(values: &[Option<&str>]) -> ArrayRef {
        Arc::new(StringArray::from(values.to_vec()))
    }

    fn some<T: Copy>(values: &[T]) -> Vec<Option<T>> {
        values.iter().copied().map(Some).collect()
    }

    fn some_texts(values: &[&str]) -> Vec<Option<String>> {
        values.iter().map(|s| Some(s.to_string())).collect()
    }

    #[test]
    fn arg_min_contested_within_and_across_batches() {
        // Keys (k1 Int64, k2 Utf8); groups 0..4.
        for compact in [false, true] {
            let mut acc =
                ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64, DataType::Utf8])
                    .unwrap();
            if compact {
                acc.compact_min_rows = 0;
                acc.compact_min_key_bytes = 0;
            }
            // Batch 1: g0 gets (5,b), then (5,a) in the same batch, which is smaller (k2
            // breaks the k1 tie), then (6,a), larger; g1 (3,x) and g2 (1,z) are alone.
            acc.update_batch(
                &[
                    utf8_view(&[
                        Some("g0-a"),
                        Some("g1-a"),
                        Some("g0-b"),
                        Some("g2-a"),
                        Some("g0-c"),
                    ]),
                    int64(&some(&[5, 3, 5, 1, 6])),
                    utf8(&some(&["b", "x", "a", "z", "a"])),
                ],
                &[0, 1, 0, 2, 0],
                None,
                3,
            )
            .unwrap();
            // Batch 2, as a converted partial state merged: g2's (0,zz) beats the batch-1
            // (1,z), then (0,zy) beats (0,zz) in this batch; g0's (5,aa) loses to (5,a) (a
            // prefix sorts first); g3 (9,q) is new.
            let values = [
                utf8_view(&[Some("g2-b"), Some("g0-d"), Some("g3-a"), Some("g2-c")]),
                int64(&some(&[0, 5, 9, 0])),
                utf8(&some(&["zz", "aa", "q", "zy"])),
            ];
            let state = acc.convert_to_state(&values, None).unwrap();
            acc.merge_batch(&state, &[2, 0, 3, 2], 4).unwrap();
            // Batch 3: g3's (-1,q) beats (9,q) of batch 2; g0's (4,zzz) beats (5,a) of
            // batch 1 (k1 decides before k2); g1's (4,a) loses to (3,x) of batch 1 and g2's
            // (0,zz0) to (0,zy) of batch 2.
            acc.update_batch(
                &[
                    utf8_view(&[Some("g3-b"), Some("g1-b"), Some("g0-e"), Some("g2-d")]),
                    int64(&some(&[-1, 4, 4, 0])),
                    utf8(&some(&["q", "a", "zzz", "zz0"])),
                ],
                &[3, 1, 0, 2],
                None,
                4,
            )
            .unwrap();
            let state = acc.state(EmitTo::All).unwrap();
            assert_eq!(
                texts(&state[0]),
                some_texts(&["g0-e", "g1-a", "g2-c", "g3-b"]),
                "compact: {compact}"
            );
            assert_eq!(
                state[1]
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>(),
                some(&[4, 3, 0, -1])
            );
            assert_eq!(texts(&state[2]), some_texts(&["zzz", "x", "zy", "q"]));
        }
    }

    #[test]
    fn arg_min_null_keys_sort_last_in_mixed_groups() {
        // Keys (k1 Int64, k2 Utf8View), both nullable; groups 0..6, some seen once.
        let mut acc =
            ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64, DataType::Utf8View])
                .unwrap();
        acc.update_batch(
            &[
                utf8_view(&[
                    Some("g0-null-a"),
                    Some("g1-1-null"),
                    Some("g2-2-b"),
                    Some("g3-null-null"),
                    Some("g4-7-c"),
                    Some("g1-1-z"),
                ]),
                int64(&[None, Some(1), Some(2), None, Some(7), Some(1)]),
                utf8_view(&[Some("a"), None, Some("b"), None, Some("c"), Some("z")]),
            ],
            &[0, 1, 2, 3, 4, 1],
            None,
            5,
        )
        .unwrap();
        // Batch 2, with a filter (NULL and false exclude a row).
        acc.update_batch(
            &[
                utf8_view(&[
                    Some("g0-100-zzz"),
                    Some("g4-null-a"),
                    Some("g5-null-x"),
                    Some("g5-null-null"),
                    Some("g1-again"),
                    Some("g2-filtered"),
                    Some("g3-filtered"),
                    Some("g5-filtered"),
                ]),
                int64(&[
                    Some(100),
                    None,
                    None,
                    None,
                    Some(1),
                    Some(0),
                    Some(0),
                    Some(0),
                ]),
                utf8_view(&[
                    Some("zzz"),
                    Some("a"),
                    Some("x"),
                    None,
                    None,
                    Some("a"),
                    None,
                    None,
                ]),
            ],
            &[0, 4, 5, 5, 1, 2, 3, 5],
            Some(&BooleanArray::from(vec![
                Some(true),
                Some(true),
                Some(true),
                Some(true),
                Some(true),
                Some(false),
                None,
                Some(false),
            ])),
            6,
        )
        .unwrap();
        // g0: (100,zzz) beats (NULL,a) of batch 1: a NULL k1 sorts after every number.
        // g1: (1,z) beat (1,NULL) within batch 1; (1,NULL) again in batch 2 ties and loses.
        // g2: alone, (0,a) filtered out. g3: all-NULL keys still give a row; the filtered
        // row does not count. g4: (NULL,a) loses to (7,c). g5: new in batch 2, (NULL,x) beats
        // (NULL,NULL) on k2; its filtered (0,NULL) would have won.
        assert_eq!(
            texts(&acc.evaluate(EmitTo::All).unwrap()),
            some_texts(&[
                "g0-100-zzz",
                "g1-1-z",
                "g2-2-b",
                "g3-null-null",
                "g4-7-c",
                "g5-null-x"
            ])
        );
    }

    #[test]
    fn arg_min_float_keys_total_order() {
        // IEEE 754 total order, as the row format sorts: -NaN < -inf < -0.0 < 0.0 < inf < NaN,
        // NULL last. First check the row format itself orders these so.
        let ordered = [
            f64::from_bits(f64::NAN.to_bits() | (1 << 63)),
            f64::NEG_INFINITY,
            -1.5,
            -0.0,
            0.0,
            1.5,
            f64::INFINITY,
            f64::NAN,
        ];
        let (conv, _) = super::key_converter(&[DataType::Float64]).unwrap();
        let mut with_null: Vec<Option<f64>> = some(&ordered);
        with_null.push(None);
        let arr: ArrayRef = Arc::new(Float64Array::from(with_null));
        let rows = conv.convert_columns(&[arr]).unwrap();
        for i in 1..rows.num_rows() {
            assert!(rows.row(i - 1) < rows.row(i), "row format order at {i}");
        }
        for t in [DataType::Float64, DataType::Float32] {
            let mut acc =
                ArgMinGroups::try_new(&DataType::Utf8View, std::slice::from_ref(&t)).unwrap();
            let key = |v: &[Option<f64>]| -> ArrayRef {
                let a: ArrayRef = Arc::new(Float64Array::from(v.to_vec()));
                datafusion::arrow::compute::cast(&a, &t).unwrap()
            };
            let neg_nan = ordered[0];
            // Batch 1 (groups 0..7).
            acc.update_batch(
                &[
                    utf8_view(&[
                        Some("g0-zero"),
                        Some("g1-neg-zero"),
                        Some("g2-nan"),
                        Some("g3-nan"),
                        Some("g4-null"),
                        Some("g5-neg-inf"),
                        Some("g6-1.5"),
                        Some("g1-zero"),
                        Some("g6-nan"),
                    ]),
                    key(&[
                        Some(0.0),
                        Some(-0.0),
                        Some(f64::NAN),
                        Some(f64::NAN),
                        None,
                        Some(f64::NEG_INFINITY),
                        Some(1.5),
                        Some(0.0),
                        Some(f64::NAN),
                    ]),
                ],
                &[0, 1, 2, 3, 4, 5, 6, 1, 6],
                None,
                7,
            )
            .unwrap();
            // Batch 2.
            acc.update_batch(
                &[
                    utf8_view(&[
                        Some("g0-neg-zero"),
                        Some("g2-inf"),
                        Some("g3-null"),
                        Some("g4-nan"),
                        Some("g5-neg-nan"),
                    ]),
                    key(&[
                        Some(-0.0),
                        Some(f64::INFINITY),
                        None,
                        Some(f64::NAN),
                        Some(neg_nan),
                    ]),
                ],
                &[0, 2, 3, 4, 5],
                None,
                7,
            )
            .unwrap();
            // g0: -0.0 (batch 2) < 0.0; g1: 0.0 loses to -0.0 in the same batch; g2: inf <
            // NaN; g3: NaN beats NULL; g4: NaN beats NULL; g5: -NaN < -inf; g6: 1.5 < NaN.
            assert_eq!(
                texts(&acc.evaluate(EmitTo::All).unwrap()),
                some_texts(&[
                    "g0-neg-zero",
                    "g1-neg-zero",
                    "g2-inf",
                    "g3-nan",
                    "g4-nan",
                    "g5-neg-nan",
                    "g6-1.5"
                ]),
                "{t}"
            );
        }
    }

    #[test]
    fn arg_min_string_winner_in_later_batch() {
        // Long strings live in the views' data buffers, short ones inline.
        for (compact, key_type) in [
            (false, DataType::Utf8View),
            (true, DataType::Utf8View),
            (false, DataType::LargeUtf8),
        ] {
            let mut acc =
                ArgMinGroups::try_new(&DataType::Int64, std::slice::from_ref(&key_type)).unwrap();
            if compact {
                acc.compact_min_rows = 0;
                acc.compact_min_key_bytes = 0;
            }
            let key = |v: &[Option<&str>]| -> ArrayRef {
                datafusion::arrow::compute::cast(&utf8(v), &key_type).unwrap()
            };
            type Batch<'a> = (&'a [Option<&'a str>], &'a [usize], &'a [i64]);
            let batches: [Batch; 3] = [
                (
                    &[
                        Some("customer-000000000042-zeta"),
                        Some("short"),
                        Some(""),
                        Some("customer-000000000042-zeta-2"),
                    ],
                    &[0, 1, 2, 3],
                    &[10, 11, 12, 13],
                ),
                (
                    &[Some("customer-000000000042-alpha"), Some("a"), Some("b")],
                    &[0, 2, 4],
                    &[20, 21, 22],
                ),
                (
                    &[
                        Some("customer-000000000042-alphabet"),
                        Some("shore"),
                        Some("customer-000000000042-zeta"),
                        Some("a"),
                    ],
                    &[0, 1, 3, 4],
                    &[30, 31, 32, 33],
                ),
            ];
            for (keys, groups, values) in batches {
                acc.update_batch(&[int64(&some(values)), key(keys)], groups, None, 5)
                    .unwrap();
            }
            // g0: "…-alpha" (batch 2) < "…-alphabet" (batch 3, longer) < "…-zeta" (batch 1);
            // g1: "shore" (batch 3) < "short"; g2: "" < "a"; g3: "…-zeta" (batch 3) is a
            // prefix of "…-zeta-2"; g4: "a" (batch 3) < "b".
            let state = acc.state(EmitTo::All).unwrap();
            assert_eq!(
                state[0]
                    .as_primitive::<Int64Type>()
                    .iter()
                    .collect::<Vec<_>>(),
                some(&[20, 31, 12, 32, 33]),
                "{key_type} compact: {compact}"
            );
            assert_eq!(
                texts(&state[1]),
                some_texts(&[
                    "customer-000000000042-alpha",
                    "shore",
                    "",
                    "customer-000000000042-zeta",
                    "a"
                ])
            );
        }
    }

    #[test]
    fn arg_min_emit_first_with_lazily_held_groups() {
        let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Utf8View]).unwrap();
        // Three groups, one row each: nothing compared, all held by reference.
        acc.update_batch(
            &[
                utf8_view(&[Some("v0"), Some("v1"), Some("v2")]),
                utf8_view(&[
                    Some("key-5-long-enough-for-a-buffer"),
                    Some("k3"),
                    Some("k8"),
                ]),
            ],
            &[0, 1, 2],
            None,
            3,
        )
        .unwrap();
        assert_eq!(
            texts(&acc.evaluate(EmitTo::First(1)).unwrap()),
            some_texts(&["v0"])
        );
        // Old groups 1, 2 are now 0, 1; group 1 gets a smaller key (k2 < k8), group 0 a
        // larger one (k4 > k3), group 2 is new.
        acc.update_batch(
            &[
                utf8_view(&[Some("v2-better"), Some("v1-worse"), Some("new")]),
                utf8_view(&[Some("k2"), Some("k4"), Some("k1")]),
            ],
            &[1, 0, 2],
            None,
            3,
        )
        .unwrap();
        let state = acc.state(EmitTo::First(2)).unwrap();
        assert_eq!(texts(&state[0]), some_texts(&["v1", "v2-better"]));
        assert_eq!(texts(&state[1]), some_texts(&["k3", "k2"]));
        assert_eq!(
            state[2].as_boolean().iter().collect::<Vec<_>>(),
            some(&[true, true])
        );
        // Merged into a fresh accumulator, in reverse group order, then challenged.
        let mut other = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Utf8View]).unwrap();
        other.merge_batch(&state, &[1, 0], 2).unwrap();
        other
            .update_batch(
                &[
                    utf8_view(&[Some("a"), Some("b")]),
                    utf8_view(&[Some("k30"), Some("k1")]),
                ],
                &[1, 0],
                None,
                2,
            )
            .unwrap();
        // Group 0 of `other` held "v2-better" (k2): "k1" wins; group 1 held "v1" (k3):
        // "k30" loses.
        assert_eq!(
            texts(&other.evaluate(EmitTo::All).unwrap()),
            some_texts(&["b", "v1"])
        );
        assert_eq!(
            texts(&acc.evaluate(EmitTo::All).unwrap()),
            some_texts(&["new"])
        );
    }

    #[test]
    fn arg_min_in_place_order_matches_row_format() {
        // For the key types compared with make_comparator, every pair of values (NULLs,
        // extremes, NaNs, prefixes included) must order as the row format does.
        use datafusion::arrow::array::make_comparator;
        use datafusion::arrow::compute::cast;
        let ints = int64(&[
            Some(0),
            None,
            Some(-1),
            Some(1),
            Some(i64::MIN),
            Some(i64::MAX),
            Some(127),
            Some(-128),
            Some(255),
            Some(1 << 40),
        ]);
        let floats: ArrayRef = Arc::new(Float64Array::from(vec![
            Some(0.0),
            Some(-0.0),
            None,
            Some(f64::NAN),
            Some(-f64::NAN),
            Some(f64::INFINITY),
            Some(f64::NEG_INFINITY),
            Some(1e-300),
            Some(-2.5),
            Some(65504.0),
        ]));
        let strings = utf8(&[
            Some(""),
            None,
            Some("a"),
            Some("ab"),
            Some("abcdefghijklmnopqrstuvwxyz"),
            Some("abcdefghijklmnopqrstuvwxyZ"),
            Some("abcdefghijkl"),
            Some("abcdefghijklm"),
            Some("é"),
            Some("z"),
        ]);
        let fixed: ArrayRef = Arc::new(
            datafusion::arrow::array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
                [Some(b"ab"), None, Some(b"aa"), Some(b"\xffa"), Some(b"a\0")].into_iter(),
                2,
            )
            .unwrap(),
        );
        let bools: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
        let mut arrays = vec![fixed, bools];
        for t in [
            DataType::Int8,
            DataType::Int16,
            DataType::Int32,
            DataType::Int64,
            DataType::UInt8,
            DataType::UInt32,
            DataType::UInt64,
            DataType::Decimal128(20, 2),
            DataType::Decimal256(40, 0),
            DataType::Date32,
            DataType::Timestamp(TimeUnit::Nanosecond, None),
            DataType::Duration(TimeUnit::Second),
        ] {
            arrays.push(cast(&ints, &t).unwrap());
        }
        for t in [DataType::Float16, DataType::Float32, DataType::Float64] {
            arrays.push(cast(&floats, &t).unwrap());
        }
        for t in [
            DataType::Utf8,
            DataType::LargeUtf8,
            DataType::Utf8View,
            DataType::Binary,
            DataType::LargeBinary,
            DataType::BinaryView,
        ] {
            arrays.push(cast(&strings, &t).unwrap());
        }
        // Structs of such types, field by field, with NULL structs and NULL fields: each
        // pair (int, text) of the arrays above, and the struct itself NULL in row 4.
        let n = 10;
        let text = cast(&strings, &DataType::Utf8View).unwrap();
        let pairs = datafusion::arrow::array::StructArray::try_new(
            vec![
                Field::new("i", DataType::Int64, true),
                Field::new("s", DataType::Utf8View, true),
            ]
            .into(),
            // Repeated ints so the text decides some pairs.
            vec![
                cast(
                    &int64(&[
                        Some(1),
                        None,
                        Some(1),
                        Some(0),
                        Some(1),
                        None,
                        Some(0),
                        Some(1),
                        Some(1),
                        None,
                    ]),
                    &DataType::Int64,
                )
                .unwrap(),
                text.slice(0, n),
            ],
            Some(datafusion::arrow::buffer::NullBuffer::from(
                (0..n).map(|i| i != 4).collect::<Vec<_>>(),
            )),
        )
        .unwrap();
        arrays.push(Arc::new(pairs));
        for a in &arrays {
            let t = a.data_type();
            assert!(super::compared_in_place(t), "{t}");
            let (conv, _) = super::key_converter(std::slice::from_ref(t)).unwrap();
            let rows = conv.convert_columns(std::slice::from_ref(a)).unwrap();
            // Also across two arrays (as between batches): a sliced copy on the right.
            let right = a.slice(1, a.len() - 1);
            let cmp = make_comparator(a.as_ref(), right.as_ref(), super::KEY_ORDER).unwrap();
            for i in 0..a.len() {
                for j in 1..a.len() {
                    assert_eq!(
                        cmp(i, j - 1),
                        rows.row(i).cmp(&rows.row(j)),
                        "{t}: rows {i} and {j}"
                    );
                }
            }
        }
    }

    /// `rows` random rows with keys of the types compared through the row format (a
    /// dictionary, a list, a struct) between in-place ones, checked against the row format
    /// directly: per group, the value of the row whose encoded keys are the smallest.
    #[test]
    fn arg_min_encoded_key_types_random_against_row_format() {
        use datafusion::arrow::array::{DictionaryArray, ListArray, StructArray};
        use datafusion::arrow::buffer::NullBuffer;
        use datafusion::arrow::datatypes::{Fields, Int32Type};
        let mut rng = ChaCha8Rng::seed_from_u64(5);
        let struct_fields = Fields::from(vec![
            Field::new("a", DataType::Int64, true),
            Field::new("b", DataType::Utf8, true),
        ]);
        let types = vec![
            DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
            DataType::Float64,
            DataType::new_list(DataType::Int64, true),
            DataType::Struct(struct_fields.clone()),
            DataType::Int64,
        ];
        for compact in [false, true] {
            let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &types).unwrap();
            assert!(acc.encoders[0].is_some() && acc.encoders[1].is_none());
            if compact {
                acc.compact_min_rows = 0;
                acc.compact_min_key_bytes = 0;
            }
            let (conv, _) = super::key_converter(&types).unwrap();
            let groups = 40;
            let mut best: Vec<Option<(Vec<u8>, String)>> = vec![None; groups];
            let mut serial = 0i64;
            for _ in 0..60 {
                let len = rng.random_range(1..30);
                let serials: Vec<i64> = (serial..serial + len).collect();
                serial += len;
                let dict: DictionaryArray<Int32Type> = serials
                    .iter()
                    .map(|_| {
                        rng.random_bool(0.9)
                            .then(|| ["x", "y", "xy"][rng.random_range(0..3)])
                    })
                    .collect();
                let floats: Float64Array = serials
                    .iter()
                    .map(|_| {
                        rng.random_bool(0.9)
                            .then(|| [-0.0, 0.0, f64::NAN, 1.0][rng.random_range(0..4)])
                    })
                    .collect();
                let lists =
                    ListArray::from_iter_primitive::<Int64Type, _, _>(serials.iter().map(|_| {
                        rng.random_bool(0.9).then(|| {
                            (0..rng.random_range(0..3))
                                .map(|_| rng.random_bool(0.8).then(|| rng.random_range(0..2)))
                                .collect::<Vec<_>>()
                        })
                    }));
                let sa: Int64Array = serials
                    .iter()
                    .map(|_| rng.random_bool(0.8).then(|| rng.random_range(0..2)))
                    .collect();
                let sb: StringArray = serials
                    .iter()
                    .map(|_| {
                        rng.random_bool(0.8)
                            .then(|| ["p", "q"][rng.random_range(0..2)])
                    })
                    .collect();
                let valid: Vec<bool> = serials.iter().map(|_| rng.random_bool(0.9)).collect();
                let structs = StructArray::try_new(
                    struct_fields.clone(),
                    vec![Arc::new(sa), Arc::new(sb)],
                    Some(NullBuffer::from(valid)),
                )
                .unwrap();
                let keys: Vec<ArrayRef> = vec![
                    Arc::new(dict),
                    Arc::new(floats),
                    Arc::new(lists),
                    Arc::new(structs),
                    int64(&some(&serials)),
                ];
                let values: Vec<String> = serials.iter().map(|s| format!("row {s}")).collect();
                let value = utf8_view(&values.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>());
                let g: Vec<usize> = serials
                    .iter()
                    .map(|_| rng.random_range(0..groups))
                    .collect();
                let f: Vec<bool> = serials.iter().map(|_| rng.random_bool(0.8)).collect();
                let filter = BooleanArray::from(f.clone());
                let mut args = vec![value];
                args.extend(keys.iter().cloned());
                if rng.random_bool(0.3) {
                    let state = acc.convert_to_state(&args, Some(&filter)).unwrap();
                    acc.merge_batch(&state, &g, groups).unwrap();
                } else {
                    acc.update_batch(&args, &g, Some(&filter), groups).unwrap();
                }
                let rows = conv.convert_columns(&keys).unwrap();
                for i in 0..g.len() {
                    let k = rows.row(i).data();
                    if f[i] && best[g[i]].as_ref().is_none_or(|(b, _)| k < b.as_slice()) {
                        best[g[i]] = Some((k.to_vec(), values[i].clone()));
                    }
                }
            }
            let want: Vec<Option<String>> = best.into_iter().map(|b| b.map(|(_, v)| v)).collect();
            assert!(want.iter().filter(|w| w.is_some()).count() > 30);
            assert_eq!(
                texts(&acc.evaluate(EmitTo::All).unwrap()),
                want,
                "compact: {compact}"
            );
        }
    }
}
