//! The order of `arg_min`'s keys, ascending with NULLS LAST: the row format's sort fields
//! (what the single-group accumulator and the encoded key types compare), the key types
//! compared in place with `make_comparator`, and [`KeyCmp`], the comparison of a batch's rows
//! with a retained batch's.

use std::cmp::Ordering;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, DynComparator, make_comparator, new_null_array};
use datafusion::arrow::compute::SortOptions;
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::{RowConverter, Rows, SortField};
use datafusion::common::{Result, exec_err};

use super::store::Retained;

/// The row-format sort field of one key: ascending, NULLS LAST.
pub(super) fn sort_field(t: &DataType) -> SortField {
    SortField::new_with_options(
        t.clone(),
        SortOptions {
            descending: false,
            nulls_first: false,
        },
    )
}

/// A row converter for the keys and the encoding of an all-NULL key row.
pub(super) fn key_converter(key_types: &[DataType]) -> Result<(RowConverter, Vec<u8>)> {
    let converter = RowConverter::new(key_types.iter().map(sort_field).collect())?;
    let nulls: Vec<ArrayRef> = key_types.iter().map(|t| new_null_array(t, 1)).collect();
    let null_key = converter.convert_columns(&nulls)?.row(0).data().to_vec();
    Ok((converter, null_key))
}

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
/// compared through its row format ([`ArgMinGroups::encoders`](super::groups::ArgMinGroups::encoders)), so its order is the row
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

/// Compares the keys of rows of one batch (left) with those of rows of a retained batch
/// (right): one comparator per key column, applied lexicographically.
pub(super) struct KeyCmp(Vec<DynComparator>);

impl KeyCmp {
    /// `keys` and `encoded`: the left batch's key columns and their row formats (as
    /// [`Retained::encoded`]).
    pub(super) fn new(
        keys: &[ArrayRef],
        encoded: &[Option<Arc<Rows>>],
        right: &Retained,
    ) -> Result<Self> {
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
    pub(super) fn less(&self, i: usize, j: usize) -> bool {
        for cmp in &self.0 {
            match cmp(i, j) {
                Ordering::Equal => {}
                o => return o == Ordering::Less,
            }
        }
        false
    }
}
