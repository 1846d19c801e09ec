//! The layout of `arg_min`'s arguments (`[value, key1, …, keyN]`, or `[value]` when the value
//! is its own key) and of its state columns (`[value, key1, …, keyN, is_set]`, or
//! `[value, is_set]`), and the rows a `FILTER` mask lets through.

use datafusion::arrow::array::{Array, ArrayRef, AsArray, BooleanArray};
use datafusion::arrow::compute::prep_null_mask_filter;
use datafusion::arrow::datatypes::DataType;
use datafusion::common::{Result, exec_err, plan_err};
use datafusion::logical_expr::function::AccumulatorArgs;

pub(super) const USAGE: &str = "arg_min(value, key1, …, keyN) takes the value to return and 1 or more keys to order by (ascending, NULLS LAST)";

/// The value type, the key types and whether the value is its own (only) key — one
/// argument — from the accumulator arguments.
pub(super) fn arg_types(args: &AccumulatorArgs) -> Result<(DataType, Vec<DataType>, bool)> {
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
pub(super) fn split_args(
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

/// The rows to use: `None` = all, else those where the mask is true (NULL counts as false).
pub(super) fn usable_mask(filter: Option<&BooleanArray>) -> Option<BooleanArray> {
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
pub(super) fn split_state(
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
