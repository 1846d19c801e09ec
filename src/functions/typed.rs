//! `typed_timestamp`, `require_amount` and `blank_to_null`: what the typed source views apply
//! to values that are already typed (or text to be cleaned): range and contract checks that
//! fail with a [`BadValue`](super::BadValue) naming the export's column.

use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, AsArray, StringArray, StringViewArray};
use datafusion::arrow::datatypes::{DataType, Int64Type, TimeUnit};
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::TIMESTAMP;
use super::args::scalar_str;
use super::bad_value::{BadValue, bad};
use super::parse::UNIX_RANGE;

/// `typed_timestamp(ts, origin)`: a timestamp an export stores as a typed value (a Parquet
/// `TIMESTAMP` of any unit and zone, or a `DATE`) as the canonical
/// `Timestamp(Nanosecond, None)`: what `CAST(ts AS TIMESTAMP)` gives, except that a value the
/// nanosecond type cannot hold (before 1677-09-21 or after 2262-04-11: in a real export, a
/// corrupt file or a wrong unit) fails the query with a [`BadValue`] naming `origin`
/// (`source.column`) instead of an error blamed on the model that read it.
///
/// `try_typed_timestamp` ([`TypedTimestamp::lenient`]) gives NULL for such a value instead.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct TypedTimestamp {
    signature: Signature,
    lenient: bool,
}

impl TypedTimestamp {
    /// The function object (`typed_timestamp`).
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
            lenient: false,
        }
    }

    /// `try_typed_timestamp`: NULL for a value out of range.
    pub(crate) fn lenient() -> Self {
        Self {
            lenient: true,
            ..Self::new()
        }
    }
}

impl Default for TypedTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for TypedTimestamp {
    fn name(&self) -> &str {
        if self.lenient {
            "try_typed_timestamp"
        } else {
            "typed_timestamp"
        }
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [
                t @ (DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64),
                _,
            ] => Ok(vec![t.clone(), DataType::Utf8]),
            _ => plan_err!(
                "typed_timestamp(ts, origin) takes a timestamp or date and a text, got {arg_types:?}"
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(TIMESTAMP)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        use datafusion::arrow::compute::{CastOptions, cast_with_options};
        let origin = scalar_str(&args.args[1], "typed_timestamp", "origin")?;
        let input = args.args[0].to_array(args.number_rows)?;
        // Safe: a value out of range becomes NULL, found below by comparing validity.
        let out = cast_with_options(&input, &TIMESTAMP, &CastOptions::default())?;
        if out.null_count() != input.null_count() && !self.lenient {
            let i = (0..input.len())
                .find(|&i| input.is_valid(i) && out.is_null(i))
                .unwrap_or(0);
            let unit = match input.data_type() {
                DataType::Timestamp(TimeUnit::Second, _) => "seconds",
                DataType::Timestamp(TimeUnit::Millisecond, _) | DataType::Date64 => "milliseconds",
                DataType::Timestamp(TimeUnit::Microsecond, _) => "microseconds",
                DataType::Timestamp(TimeUnit::Nanosecond, _) => "nanoseconds",
                _ => "days",
            };
            let raw = datafusion::arrow::compute::cast(&input.slice(i, 1), &DataType::Int64)?;
            let raw = raw.as_primitive::<Int64Type>().value(0);
            return Err(bad(
                &origin,
                &raw.to_string(),
                &format!("a timestamp {UNIX_RANGE} (the file stores {unit} since 1970-01-01)"),
            ));
        }
        Ok(ColumnarValue::Array(out))
    }
}

/// `require_amount(amount, status, origin)`: `amount` unchanged, after checking the input
/// contract's rule for the amount of an order: on a completed order (`status`, spaces trimmed,
/// is `completed` in any case) the amount is required and not negative. A refund is an order
/// exported as `refunded`, not a negative amount; a cancelled or refunded order may have an
/// empty amount.
///
/// - `amount` (Float64): the order's amount, already read (`parse_number` or a numeric column);
/// - `status` (Utf8): the order's status as exported;
/// - `origin` (literal): `source.column` of the amount, for the error message.
///
/// Errors: an empty (NULL) or negative amount on a completed order fails the query with a
/// [`BadValue`] whose `when` is `("status", "completed")`, so the message names that row.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct RequireAmount {
    signature: Signature,
}

impl RequireAmount {
    /// The function object.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::exact(
                vec![DataType::Float64, DataType::Utf8, DataType::Utf8],
                Volatility::Immutable,
            ),
        }
    }
}

impl Default for RequireAmount {
    fn default() -> Self {
        Self::new()
    }
}

/// What [`RequireAmount`] expects, in words (also the reason a quarantined order gives).
pub(crate) const AMOUNT_EXPECTED: &str = "an amount of 0 or more: a completed order needs one (a refund is an order with status refunded)";

impl ScalarUDFImpl for RequireAmount {
    fn name(&self) -> &str {
        "require_amount"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let origin = scalar_str(&args.args[2], "require_amount", "origin")?;
        let amount = args.args[0].to_array(args.number_rows)?;
        let status = args.args[1].to_array(args.number_rows)?;
        let (a, st) = (
            amount.as_primitive::<datafusion::arrow::datatypes::Float64Type>(),
            status.as_string::<i32>(),
        );
        for i in 0..a.len() {
            let ok = a.is_valid(i) && (a.value(i) >= 0.0 || a.value(i).is_nan());
            if ok || !st.is_valid(i) || !st.value(i).trim().eq_ignore_ascii_case("completed") {
                continue;
            }
            let value = if a.is_valid(i) {
                a.value(i).to_string()
            } else {
                String::new()
            };
            return Err(DataFusionError::External(Box::new(BadValue {
                origin,
                value,
                expected: AMOUNT_EXPECTED.to_string(),
                when: Some(("status".to_string(), "completed".to_string())),
            })));
        }
        Ok(ColumnarValue::Array(amount))
    }
}

/// `blank_to_null(text)`: `text` without leading and trailing spaces, NULL when nothing is
/// left — `nullif(btrim(text), '')` in one pass. The typed source views read every text column
/// through it, so an empty CSV cell, a cell of spaces and a missing value are all NULL.
///
/// In: Utf8View, returned as Utf8View, or Utf8 (LargeUtf8 is cast to it), returned as Utf8.
/// Only the space character (U+0020) is trimmed, as PostgreSQL's and DataFusion's
/// one-argument `btrim` do. When no value of a batch is empty or starts or ends with a
/// space — the usual case — the input array is returned as it is, without copying.
/// Errors: none beyond a wrong argument type.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct BlankToNull {
    signature: Signature,
}

impl BlankToNull {
    /// The function object.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for BlankToNull {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for BlankToNull {
    fn name(&self) -> &str {
        "blank_to_null"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [DataType::Utf8View] => Ok(vec![DataType::Utf8View]),
            [DataType::Utf8 | DataType::LargeUtf8 | DataType::Null] => Ok(vec![DataType::Utf8]),
            _ => plan_err!("blank_to_null(text) takes one text argument, got {arg_types:?}"),
        }
    }
    fn return_type(&self, arg_types: &[DataType]) -> Result<DataType> {
        Ok(arg_types[0].clone())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let input = args.args[0].to_array(args.number_rows)?;
        fn blank_or_padded(v: &str) -> bool {
            let v = v.as_bytes();
            v.is_empty() || v[0] == b' ' || v[v.len() - 1] == b' '
        }
        fn trimmed(v: Option<&str>) -> Option<&str> {
            v.map(|s| s.trim_matches(' ')).filter(|s| !s.is_empty())
        }
        let out: ArrayRef = match input.data_type() {
            DataType::Utf8View => {
                let arr = input.as_string_view();
                if !arr.iter().flatten().any(blank_or_padded) {
                    return Ok(ColumnarValue::Array(input));
                }
                Arc::new(arr.iter().map(trimmed).collect::<StringViewArray>())
            }
            _ => {
                let arr = input.as_string::<i32>();
                if !arr.iter().flatten().any(blank_or_padded) {
                    return Ok(ColumnarValue::Array(input));
                }
                Arc::new(arr.iter().map(trimmed).collect::<StringArray>())
            }
        };
        Ok(ColumnarValue::Array(out))
    }
}
