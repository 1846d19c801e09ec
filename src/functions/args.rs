//! Reading the literal arguments of our scalar functions: a text literal and an IANA time zone.

use chrono_tz::Tz;
use datafusion::common::{DataFusionError, Result, plan_err};
use datafusion::logical_expr::ColumnarValue;

/// The text literal `v`, argument `arg` of function `fname`. Errors (planning): a NULL, a
/// non-text value or a column.
pub(super) fn scalar_str(v: &ColumnarValue, fname: &str, arg: &str) -> Result<String> {
    match v {
        ColumnarValue::Scalar(s) => match s.try_as_str() {
            Some(Some(s)) => Ok(s.to_string()),
            _ => plan_err!("{fname}: argument {arg} must be a non-NULL text literal"),
        },
        ColumnarValue::Array(_) => {
            plan_err!("{fname}: argument {arg} must be a literal, not a column")
        }
    }
}

/// The IANA time zone `name`, an argument of function `fname`. Errors (planning): an unknown name.
pub(super) fn parse_tz(name: &str, fname: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| DataFusionError::Plan(format!("{fname}: unknown time zone {name:?} (expected an IANA name such as Europe/Berlin or UTC)")))
}
