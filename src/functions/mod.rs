//! The SQL functions journey-report adds to DataFusion, all registered by [`register_all`].
//!
//! | function | kind | in → out |
//! |---|---|---|
//! | `parse_timestamp(text, format, time_zone, origin)` | scalar | Utf8 → `Timestamp(Nanosecond, None)` holding UTC |
//! | `parse_number(text, origin)` | scalar | Utf8 → Float64 |
//! | `typed_timestamp(ts, origin)` | scalar | a typed timestamp or date of any unit and zone → `Timestamp(Nanosecond, None)`; fails on a value outside 1677-09-21 … 2262-04-11 |
//! | `try_parse_timestamp(…)`, `try_parse_number(…)`, `try_typed_timestamp(…)` | scalar | as the three above, but NULL for a value they cannot read: the source views' quarantine uses them |
//! | `require_amount(amount, status, origin)` | scalar | Float64 → Float64, unchanged; fails on an empty or negative amount of a completed order |
//! | `blank_to_null(text)` | scalar | Utf8 (or Utf8View) → the same type, without leading/trailing spaces, NULL when empty |
//! | `local_time(ts, time_zone)` | scalar | UTC timestamp → wall-clock timestamp in `time_zone` |
//! | `local_date(ts, time_zone)` | scalar | UTC timestamp → `Date32`, the date in `time_zone` (= `CAST(local_time(ts, time_zone) AS DATE)`) |
//! | `path_collapse(list)` | scalar | `List<Utf8>` → `List<Utf8>` with consecutive repeats removed |
//! | `funnel_stage_times(ts, stage, window_seconds)` | aggregate | → `List<Timestamp>`: when each funnel stage was reached |
//! | `path_agg(value, key1, …, keyN)` | aggregate | strings → `List<Utf8>` in key order = `array_agg(value ORDER BY key1, …, keyN)`; see [`crate::functions::path_agg`] |
//! | `arg_min(value, key1, …, keyN)` | aggregate | `value` of the row with the smallest `(key1, …, keyN)` (ascending, NULLS LAST) = `first_value(value ORDER BY key1, …, keyN)`; see [`crate::functions::arg_min`] |
//!
//! `parse_timestamp` and `parse_number` are strict: a value they cannot read fails the query
//! with a [`BadValue`] error, which the runner turns into a message naming the file, line and
//! column (exit code 3). They are what the generated source views call; analysts normally use
//! the typed views and never call them directly.
//!
//! One file per family:
//!
//! | file | owns |
//! |---|---|
//! | `bad_value.rs` | [`BadValue`], [`find_bad_value`], [`shorten`]: the error a conversion returns |
//! | `args.rs` | reading a function's literal arguments (text, time zone) |
//! | `parse.rs` | `parse_timestamp`, `parse_number` |
//! | `typed.rs` | `typed_timestamp`, `require_amount`, `blank_to_null` |
//! | `time_zone.rs` | `local_time`, `local_date` |
//! | `paths.rs` | `path_collapse`, `funnel_stage_times` (and `funnel_chain`, its core) |
//! | [`path_agg`], [`arg_min`], [`funnel`], [`attribution`], [`clv`] | the aggregates of their names |

pub(crate) mod arg_min;
mod attribution;
mod clv;
mod funnel;
mod path_agg;

mod args;
mod bad_value;
mod parse;
mod paths;
mod time_zone;
mod typed;

#[cfg(test)]
mod sql_tests;

use datafusion::arrow::datatypes::{DataType, TimeUnit};
use datafusion::logical_expr::{AggregateUDF, ScalarUDF};
use datafusion::prelude::SessionContext;

pub(crate) use bad_value::{BadValue, find_bad_value, shorten};
pub(crate) use parse::{
    NUMBER_EXPECTED, ParseNumber, ParseTimestamp, UNIX_RANGE, timestamp_expected,
};
pub(crate) use paths::{FunnelStageTimes, PathCollapse};
pub(crate) use time_zone::{LocalDate, LocalTime};
pub(crate) use typed::{AMOUNT_EXPECTED, BlankToNull, RequireAmount, TypedTimestamp};

/// The canonical timestamp type: nanoseconds since the Unix epoch, UTC, no zone attached.
pub(crate) const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);

/// Registers every journey-report SQL function on `ctx`. Called once, by the session builder.
pub(crate) fn register_all(ctx: &SessionContext) {
    crate::functions::arg_min::register(ctx);
    crate::functions::path_agg::register(ctx);
    ctx.register_udf(ScalarUDF::from(ParseTimestamp::new()));
    ctx.register_udf(ScalarUDF::from(ParseNumber::new()));
    ctx.register_udf(ScalarUDF::from(RequireAmount::new()));
    ctx.register_udf(ScalarUDF::from(TypedTimestamp::new()));
    ctx.register_udf(ScalarUDF::from(ParseTimestamp::lenient()));
    ctx.register_udf(ScalarUDF::from(ParseNumber::lenient()));
    ctx.register_udf(ScalarUDF::from(TypedTimestamp::lenient()));
    ctx.register_udf(ScalarUDF::from(LocalTime::new()));
    ctx.register_udf(ScalarUDF::from(LocalDate::new()));
    ctx.register_udf(ScalarUDF::from(BlankToNull::new()));
    ctx.register_udf(ScalarUDF::from(PathCollapse::new()));
    ctx.register_udaf(AggregateUDF::from(FunnelStageTimes::new()));
    crate::functions::attribution::register(ctx);
    crate::functions::clv::register(ctx);
    crate::functions::funnel::register(ctx);
}
