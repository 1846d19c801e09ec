//! [`ArgMin`], the `arg_min` aggregate as DataFusion sees it: its signature and coercion,
//! return type, state fields, and the accumulators it hands out (the single-group one of
//! `single.rs`, the vectorized one of `groups.rs`).

use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, FieldRef};
use datafusion::arrow::row::RowConverter;
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::utils::{AggregateOrderSensitivity, format_state_name};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, GroupsAccumulator, ReversedUDAF, Signature,
    Volatility,
};
use datafusion::prelude::SessionContext;

use super::args::{USAGE, arg_types};
use super::groups::ArgMinGroups;
use super::order::sort_field;
use super::single::ArgMinAccumulator;

/// Registers `arg_min` on `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(ArgMin::new()));
}

/// `arg_min(value, key1, …, keyN)`: `value` from the row with the smallest `(key1, …, keyN)`,
/// i.e. `first_value(value ORDER BY key1, …, keyN)` (see the [module docs](super) for the exact
/// semantics, types, errors and sources).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ArgMin {
    signature: Signature,
}

impl ArgMin {
    /// The function object.
    pub(crate) fn new() -> Self {
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
