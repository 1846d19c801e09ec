//! The single-group form of `arg_min` (no `GROUP BY`, window frames): the best key's
//! row-format bytes and the value as a scalar.

use datafusion::arrow::array::{ArrayRef, BooleanArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::arrow::row::RowConverter;
use datafusion::common::{Result, ScalarValue};
use datafusion::logical_expr::Accumulator;

use super::args::{split_args, split_state, usable_mask};
use super::order::key_converter;

/// The single-group form: the best key's row bytes and the value as a scalar.
#[derive(Debug)]
pub(super) struct ArgMinAccumulator {
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
    pub(super) fn try_new(
        value_type: &DataType,
        key_types: &[DataType],
        own_key: bool,
    ) -> Result<Self> {
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
