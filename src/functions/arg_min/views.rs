//! View arrays (`Utf8View`, `BinaryView`, also inside structs) point into shared data
//! buffers: what they hold against what they use, and their garbage collection, so that a
//! compacted batch or an `arg_min` result does not pin the input's buffers.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StructArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;

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
pub(super) fn gc_views(a: ArrayRef) -> Result<ArrayRef> {
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
pub(super) fn view_buffer_bytes(a: &dyn Array) -> (usize, usize) {
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
pub(super) fn gc_sparse_views(a: ArrayRef) -> Result<ArrayRef> {
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
