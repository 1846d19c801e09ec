//! The SQL functions journey-report adds to DataFusion, all registered by [`register_all`].
//!
//! | function | kind | in → out |
//! |---|---|---|
//! | `parse_timestamp(text, format, time_zone, origin)` | scalar | Utf8 → `Timestamp(Nanosecond, None)` holding UTC |
//! | `parse_number(text, origin)` | scalar | Utf8 → Float64 |
//! | `typed_timestamp(ts, origin)` | scalar | a typed timestamp or date of any unit and zone → `Timestamp(Nanosecond, None)`; fails on a value outside 1677-09-21 … 2262-04-11 |
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

pub mod arg_min;
pub mod attribution;
pub mod clv;
pub mod funnel;
pub mod path_agg;

use std::fmt;
use std::sync::Arc;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Date32Array, Float64Builder, Int64Array, Int64Builder,
    ListArray, ListBuilder, StringArray, StringBuilder, StringViewArray, TimestampNanosecondArray,
    TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Int64Type, TimeUnit, TimestampNanosecondType,
};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, EmitTo, GroupsAccumulator,
    ScalarFunctionArgs, ScalarUDF, ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

/// The canonical timestamp type: nanoseconds since the Unix epoch, UTC, no zone attached.
pub const TIMESTAMP: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);

/// Registers every journey-report SQL function on `ctx`. Called once, by the session builder.
pub fn register_all(ctx: &SessionContext) {
    crate::functions::arg_min::register(ctx);
    crate::functions::path_agg::register(ctx);
    ctx.register_udf(ScalarUDF::from(ParseTimestamp::new()));
    ctx.register_udf(ScalarUDF::from(ParseNumber::new()));
    ctx.register_udf(ScalarUDF::from(RequireAmount::new()));
    ctx.register_udf(ScalarUDF::from(TypedTimestamp::new()));
    ctx.register_udf(ScalarUDF::from(LocalTime::new()));
    ctx.register_udf(ScalarUDF::from(LocalDate::new()));
    ctx.register_udf(ScalarUDF::from(BlankToNull::new()));
    ctx.register_udf(ScalarUDF::from(PathCollapse::new()));
    ctx.register_udaf(AggregateUDF::from(FunnelStageTimes::new()));
    crate::functions::attribution::register(ctx);
    crate::functions::clv::register(ctx);
    crate::functions::funnel::register(ctx);
}

/// A value in an input export that could not be read as its declared type.
///
/// Carried inside `DataFusionError::External`; [`find_bad_value`] digs it out of an error chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue {
    /// `source.column` of the canonical column (e.g. `events.event_time`).
    pub origin: String,
    /// The text as it stands in the export.
    pub value: String,
    /// What was expected, in words (e.g. "a timestamp in RFC 3339 / ISO-8601 with offset").
    pub expected: String,
    /// The row is bad only together with this value of another canonical column of the same
    /// source: (column, value in lower case, spaces trimmed), e.g. `("status", "completed")`
    /// for the amount of a completed order. Lets the error point at the right row.
    pub when: Option<(String, String)>,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot read {}: expected {}",
            self.origin,
            shorten(&self.value),
            self.expected
        )
    }
}

/// Longest value, in characters, that an error message quotes whole ([`shorten`]).
pub const MAX_QUOTED_CHARS: usize = 80;

/// `value` quoted for an error message (`"…"`, Rust escapes): whole when it has at most
/// [`MAX_QUOTED_CHARS`] characters, else its first [`MAX_QUOTED_CHARS`] followed by
/// `… (N bytes)` with its full length, so a 1 MB cell does not flood the log.
pub fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

impl std::error::Error for BadValue {}

/// Finds a [`BadValue`] anywhere in the cause chain of `err`.
pub fn find_bad_value(err: &(dyn std::error::Error + 'static)) -> Option<BadValue> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(b) = e.downcast_ref::<BadValue>() {
            return Some(b.clone());
        }
        if let Some(DataFusionError::Shared(inner)) = e.downcast_ref::<DataFusionError>() {
            if let Some(b) = find_bad_value(inner.as_ref()) {
                return Some(b);
            }
        }
        cur = e.source();
    }
    None
}

fn bad(origin: &str, value: &str, expected: &str) -> DataFusionError {
    DataFusionError::External(Box::new(BadValue {
        origin: origin.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
        when: None,
    }))
}

fn scalar_str(v: &ColumnarValue, fname: &str, arg: &str) -> Result<String> {
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

fn parse_tz(name: &str, fname: &str) -> Result<Tz> {
    name.parse::<Tz>()
        .map_err(|_| DataFusionError::Plan(format!("{fname}: unknown time zone {name:?} (expected an IANA name such as Europe/Berlin or UTC)")))
}

fn string_arg_types(n: usize) -> Vec<DataType> {
    vec![DataType::Utf8; n]
}

/// How `parse_timestamp` reads text; see [`ParseTimestamp`].
#[derive(Debug, Clone)]
enum TsFormat {
    Rfc3339,
    UnixSeconds,
    UnixMillis,
    /// A strftime pattern, compiled once per batch instead of once per value.
    Pattern {
        /// The pattern's items; a pattern chrono cannot read is `[Item::Error]`, which fails
        /// every value the way `parse_from_str` does.
        items: Vec<Item<'static>>,
        /// Whether it reads an offset (`%z`, `%:z`, `%#z`); without one, `time_zone` applies.
        has_offset: bool,
    },
}

impl TsFormat {
    fn pattern(p: &str) -> Self {
        Self::Pattern {
            items: StrftimeItems::new(p)
                .parse_to_owned()
                .unwrap_or_else(|_| vec![Item::Error]),
            has_offset: p.contains("%z") || p.contains("%:z") || p.contains("%#z"),
        }
    }
}

fn localize(naive: NaiveDateTime, tz: Tz) -> Option<i64> {
    let dt = match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) => d,
        // Ambiguous wall-clock time in a DST fall-back: the earlier instant, as PostgreSQL does.
        LocalResult::Ambiguous(a, _) => a,
        LocalResult::None => return None,
    };
    dt.with_timezone(&Utc).timestamp_nanos_opt()
}

/// `text` (a number of units since the epoch, `nanos_per_unit` nanoseconds each) as
/// nanoseconds since the epoch; `None` when it is not a finite number or falls outside what
/// a nanosecond timestamp holds (1677-09-21 … 2262-04-11), instead of saturating there.
fn unix_nanos(text: &str, nanos_per_unit: f64) -> Option<i64> {
    let x: f64 = text.parse().ok()?;
    let ns = (x * nanos_per_unit).round();
    // i64::MIN = -2^63 is exact as f64; i64::MAX is not (it rounds up to 2^63).
    (ns >= i64::MIN as f64 && ns < 9_223_372_036_854_775_808.0).then_some(ns as i64)
}

fn parse_ts(text: &str, format: &TsFormat, tz: Tz) -> Option<i64> {
    let t = text.trim();
    match format {
        TsFormat::Rfc3339 => {
            if let Ok(d) = DateTime::parse_from_rfc3339(t) {
                return d.with_timezone(&Utc).timestamp_nanos_opt();
            }
            // ISO-8601 variants: space separator with offset, or no offset (then `tz`).
            for f in [
                "%Y-%m-%d %H:%M:%S%.f%:z",
                "%Y-%m-%d %H:%M:%S%.f%#z",
                "%Y-%m-%dT%H:%M:%S%.f%#z",
            ] {
                if let Ok(d) = DateTime::parse_from_str(t, f) {
                    return d.with_timezone(&Utc).timestamp_nanos_opt();
                }
            }
            for f in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
            ] {
                if let Ok(n) = NaiveDateTime::parse_from_str(t, f) {
                    return localize(n, tz);
                }
            }
            if let Ok(d) = NaiveDate::parse_from_str(t, "%Y-%m-%d") {
                return localize(d.and_hms_opt(0, 0, 0)?, tz);
            }
            None
        }
        TsFormat::UnixSeconds => unix_nanos(t, 1e9),
        TsFormat::UnixMillis => unix_nanos(t, 1e6),
        // As `DateTime::parse_from_str`, `NaiveDateTime::parse_from_str` and
        // `NaiveDate::parse_from_str` read it, with the pattern parsed once.
        TsFormat::Pattern { items, has_offset } => {
            let mut parsed = Parsed::new();
            chrono::format::parse(&mut parsed, t, items.iter()).ok()?;
            if *has_offset {
                return parsed
                    .to_datetime()
                    .ok()?
                    .with_timezone(&Utc)
                    .timestamp_nanos_opt();
            }
            if let Ok(n) = parsed.to_naive_datetime_with_offset(0) {
                return localize(n, tz);
            }
            localize(parsed.to_naive_date().ok()?.and_hms_opt(0, 0, 0)?, tz)
        }
    }
}

/// The instants a timestamp can hold (nanoseconds since the epoch in 64 bits), in words.
const UNIX_RANGE: &str = "between 1677-09-21 and 2262-04-11";

/// `parse_timestamp(text, format, time_zone, origin)`: reads an export's timestamp text.
///
/// - `text` (Utf8): the value; NULL or empty gives NULL.
/// - `format` (literal): `rfc3339` (RFC 3339 / ISO-8601; with an offset, or without one and then
///   read in `time_zone`; a bare date is midnight), `unix_seconds`, `unix_millis` (a number,
///   fractions allowed, for an instant between 1677-09-21 and 2262-04-11), or a chrono
///   strftime pattern such as `%Y-%m-%d %H:%M:%S` (read in `time_zone` unless it has `%z`).
/// - `time_zone` (literal): IANA name for timestamps written without an offset. A wall-clock time
///   that occurs twice (DST fall-back) is the earlier instant; one that does not exist
///   (spring-forward gap) is an error.
/// - `origin` (literal): `source.column`, used in the error message.
///
/// Returns `Timestamp(Nanosecond, None)` holding UTC. A value that cannot be read fails the
/// query with [`BadValue`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseTimestamp {
    signature: Signature,
}

impl ParseTimestamp {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::exact(string_arg_types(4), Volatility::Immutable),
        }
    }
}

impl Default for ParseTimestamp {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ParseTimestamp {
    fn name(&self) -> &str {
        "parse_timestamp"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(TIMESTAMP)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let fmt_text = scalar_str(&args.args[1], "parse_timestamp", "format")?;
        let tz = parse_tz(
            &scalar_str(&args.args[2], "parse_timestamp", "time_zone")?,
            "parse_timestamp",
        )?;
        let origin = scalar_str(&args.args[3], "parse_timestamp", "origin")?;
        let (format, expected) = match fmt_text.as_str() {
            "rfc3339" | "iso8601" => (
                TsFormat::Rfc3339,
                "a timestamp in RFC 3339 / ISO-8601, e.g. 2026-10-31T14:03:22Z".to_string(),
            ),
            "unix_seconds" => (
                TsFormat::UnixSeconds,
                format!("seconds since 1970-01-01 UTC, {UNIX_RANGE}"),
            ),
            "unix_millis" => (
                TsFormat::UnixMillis,
                format!("milliseconds since 1970-01-01 UTC, {UNIX_RANGE}"),
            ),
            p => (
                TsFormat::pattern(p),
                format!("a timestamp in the format {p:?}"),
            ),
        };
        let arr = args.args[0].to_array(args.number_rows)?;
        let arr = arr.as_string::<i32>();
        let mut out = TimestampNanosecondBuilder::with_capacity(arr.len());
        for v in arr.iter() {
            match v {
                None => out.append_null(),
                Some(s) if s.trim().is_empty() => out.append_null(),
                Some(s) => match parse_ts(s, &format, tz) {
                    Some(ns) => out.append_value(ns),
                    None => return Err(bad(&origin, s, &expected)),
                },
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `parse_number(text, origin)`: reads a decimal number such as `59.90` or `-3` (a dot as the
/// decimal separator, no thousands separators, no currency sign) as Float64. NULL or empty gives
/// NULL; anything else that is not a finite number fails the query with [`BadValue`].
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct ParseNumber {
    signature: Signature,
}

impl ParseNumber {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::exact(string_arg_types(2), Volatility::Immutable),
        }
    }
}

impl Default for ParseNumber {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for ParseNumber {
    fn name(&self) -> &str {
        "parse_number"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let origin = scalar_str(&args.args[1], "parse_number", "origin")?;
        let arr = args.args[0].to_array(args.number_rows)?;
        let arr = arr.as_string::<i32>();
        let mut out = Float64Builder::with_capacity(arr.len());
        for v in arr.iter() {
            match v.map(str::trim) {
                None | Some("") => out.append_null(),
                Some(s) => {
                    let ok = s.bytes().all(|b| {
                        b.is_ascii_digit()
                            || b == b'.'
                            || b == b'-'
                            || b == b'+'
                            || b == b'e'
                            || b == b'E'
                    });
                    match s.parse::<f64>() {
                        Ok(x) if ok && x.is_finite() => out.append_value(x),
                        _ => {
                            return Err(bad(
                                &origin,
                                s,
                                "a number such as 59.90 (dot as decimal separator, no currency sign)",
                            ));
                        }
                    }
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `typed_timestamp(ts, origin)`: a timestamp an export stores as a typed value (a Parquet
/// `TIMESTAMP` of any unit and zone, or a `DATE`) as the canonical
/// `Timestamp(Nanosecond, None)`: what `CAST(ts AS TIMESTAMP)` gives, except that a value the
/// nanosecond type cannot hold (before 1677-09-21 or after 2262-04-11: in a real export, a
/// corrupt file or a wrong unit) fails the query with a [`BadValue`] naming `origin`
/// (`source.column`) instead of an error blamed on the model that read it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TypedTimestamp {
    signature: Signature,
}

impl TypedTimestamp {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
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
        "typed_timestamp"
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
        if out.null_count() != input.null_count() {
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
pub struct RequireAmount {
    signature: Signature,
}

impl RequireAmount {
    /// The function object.
    pub fn new() -> Self {
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

/// What [`RequireAmount`] expects, in words.
const AMOUNT_EXPECTED: &str = "an amount of 0 or more: a completed order needs one (a refund is an order with status refunded)";

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
            let ok = a.is_valid(i) && !(a.value(i) < 0.0);
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
pub struct BlankToNull {
    signature: Signature,
}

impl BlankToNull {
    /// The function object.
    pub fn new() -> Self {
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

/// `local_time(ts, time_zone)`: the wall-clock time in `time_zone` (IANA name, a literal) of the
/// UTC instant `ts`, as `Timestamp(Nanosecond, None)`. Use it before `date_trunc`, `date_part`
/// or `CAST(… AS DATE)` to bucket by the report's days, hours and weekdays; it follows daylight
/// saving time (2026-03-29 01:30 UTC is 03:30 in Europe/Berlin, 2026-03-28 01:30 UTC is 02:30).
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalTime {
    signature: Signature,
}

impl LocalTime {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for LocalTime {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LocalTime {
    fn name(&self) -> &str {
        "local_time"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        timestamp_and_zone("local_time", arg_types)
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(TIMESTAMP)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let tz = parse_tz(
            &scalar_str(&args.args[1], "local_time", "time_zone")?,
            "local_time",
        )?;
        let arr = args.args[0].to_array(args.number_rows)?;
        let arr = arr.as_primitive::<TimestampNanosecondType>();
        let mut offsets = DayOffsets::new(tz);
        let values: Vec<i64> = arr.values().iter().map(|&ns| offsets.local(ns)).collect();
        let out = TimestampNanosecondArray::new(values.into(), arr.nulls().cloned());
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The argument types of `local_time` and `local_date` (`name`): a timestamp of any unit,
/// read as `Timestamp(Nanosecond)`, and a time-zone name. Errors (planning): anything else.
fn timestamp_and_zone(name: &str, arg_types: &[DataType]) -> Result<Vec<DataType>> {
    if arg_types.len() != 2 || !matches!(arg_types[0], DataType::Timestamp(_, _) | DataType::Null) {
        return plan_err!(
            "{name}(ts, time_zone) takes a timestamp and a time-zone name, got {arg_types:?}"
        );
    }
    Ok(vec![TIMESTAMP, DataType::Utf8])
}

/// `local_date(ts, time_zone)`: the calendar date in `time_zone` (IANA name, a literal) of the
/// UTC instant `ts`, as `Date32` (days since 1970-01-01). It is exactly
/// `CAST(local_time(ts, time_zone) AS DATE)`, computed in one step: the wall-clock nanoseconds
/// divided by 86,400 × 10⁹ and rounded down, without building a date object per value (the
/// cast goes through chrono's calendar for every row). Use it to bucket events by the report's
/// days (`daily_trend`, `cohorts`). In: `Timestamp` (any unit; UTC), `Utf8`; out: `Date32`,
/// NULL where `ts` is NULL.
///
/// Errors (planning or execution): a first argument that is not a timestamp; a time zone that
/// is not a literal IANA name.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct LocalDate {
    signature: Signature,
}

impl LocalDate {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for LocalDate {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for LocalDate {
    fn name(&self) -> &str {
        "local_date"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        timestamp_and_zone("local_date", arg_types)
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Date32)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let tz = parse_tz(
            &scalar_str(&args.args[1], "local_date", "time_zone")?,
            "local_date",
        )?;
        let arr = args.args[0].to_array(args.number_rows)?;
        let arr = arr.as_primitive::<TimestampNanosecondType>();
        let mut offsets = DayOffsets::new(tz);
        // Any i64 of nanoseconds is within ±106,752 days, so the day fits an i32.
        let values: Vec<i32> = arr
            .values()
            .iter()
            .map(|&ns| offsets.local(ns).div_euclid(DayOffsets::DAY_NS) as i32)
            .collect();
        let out = Date32Array::new(values.into(), arr.nulls().cloned());
        Ok(ColumnarValue::Array(Arc::new(out)))
    }
}

/// The UTC offset of a time zone, in nanoseconds, at UTC instants given in nanoseconds:
/// looked up in the time-zone database once per UTC day seen in a batch (a `local_time` call)
/// instead of once per value.
///
/// A day's entry holds the offset at its first and last nanosecond when the two agree, and
/// then serves every instant of that day; a day with a change of offset (a daylight-saving
/// switch) is looked up per instant. This relies on no zone changing its offset and changing
/// it back within one UTC day. That was checked for every zone of the bundled database
/// (`chrono-tz`), hour by hour from 1900 to 2100, by `no_zone_changes_offset_and_back_within_a_day`.
struct DayOffsets {
    tz: Tz,
    /// Direct-mapped by day number: (UTC day since the epoch, offset or `MIXED`).
    slots: Vec<(i64, i64)>,
}

impl DayOffsets {
    const DAY_NS: i64 = 86_400 * 1_000_000_000;
    /// 1,024 days: all of a typical report's lookback without collisions.
    const SLOTS: usize = 1024;
    /// Marks a day on which the offset changes.
    const MIXED: i64 = i64::MIN;

    fn new(tz: Tz) -> Self {
        Self {
            tz,
            slots: vec![(i64::MIN, Self::MIXED); Self::SLOTS],
        }
    }

    /// The offset at `ns` straight from the database.
    fn lookup(&self, ns: i64) -> i64 {
        let utc = DateTime::<Utc>::from_timestamp_nanos(ns).naive_utc();
        i64::from(
            self.tz
                .offset_from_utc_datetime(&utc)
                .fix()
                .local_minus_utc(),
        ) * 1_000_000_000
    }

    /// The wall-clock time in the zone of the UTC instant `ns`, in nanoseconds (what
    /// `local_time` returns and `local_date` rounds down to a day). An instant whose
    /// wall-clock time would overflow an i64 keeps its UTC value.
    fn local(&mut self, ns: i64) -> i64 {
        ns.checked_add(self.get(ns)).unwrap_or(ns)
    }

    fn get(&mut self, ns: i64) -> i64 {
        let day = ns.div_euclid(Self::DAY_NS);
        let slot = (day.rem_euclid(Self::SLOTS as i64)) as usize;
        if self.slots[slot].0 != day {
            let first = day.checked_mul(Self::DAY_NS);
            let last = first.and_then(|f| f.checked_add(Self::DAY_NS - 1));
            let offset = match (first, last) {
                (Some(f), Some(l)) => match (self.lookup(f), self.lookup(l)) {
                    (a, b) if a == b => a,
                    _ => Self::MIXED,
                },
                _ => Self::MIXED,
            };
            self.slots[slot] = (day, offset);
        }
        match self.slots[slot].1 {
            Self::MIXED => self.lookup(ns),
            offset => offset,
        }
    }
}

/// `path_collapse(list)`: a journey path with consecutive repeats removed, as in channel-path
/// reports (`[social, social, email, social]` → `[social, email, social]`). NULL elements are
/// dropped; a NULL list gives NULL. In: `List<Utf8>` (any string list); out: `List<Utf8>`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct PathCollapse {
    signature: Signature,
}

impl PathCollapse {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for PathCollapse {
    fn default() -> Self {
        Self::new()
    }
}

fn utf8_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Utf8, true)))
}

impl ScalarUDFImpl for PathCollapse {
    fn name(&self) -> &str {
        "path_collapse"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [
                DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(_, _)
                | DataType::Null,
            ] => Ok(vec![utf8_list()]),
            _ => plan_err!(
                "path_collapse(list) takes one list of text, e.g. array_agg(channel ORDER BY event_time); got {arg_types:?}"
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(utf8_list())
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arr = args.args[0].to_array(args.number_rows)?;
        let list = arr.as_list::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..list.len() {
            if list.is_null(i) {
                out.append(false);
                continue;
            }
            let inner = list.value(i);
            let inner = inner.as_string::<i32>();
            let mut prev: Option<&str> = None;
            for v in inner.iter().flatten() {
                if prev != Some(v) {
                    out.values().append_value(v);
                    prev = Some(v);
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `funnel_stage_times(ts, stage, window_seconds)`: an ordered funnel with a conversion window,
/// per group (one group per customer).
///
/// - `ts` (timestamp): the event time; `stage` (integer ≥ 1): the funnel stage the event
///   belongs to (rows with NULL or values < 1 are ignored); `window_seconds` (integer literal or
///   constant): the conversion window, measured from the stage-1 event, inclusive.
/// - Returns `List<Timestamp(Nanosecond, None)>`: element k (1-based) is when stage k was
///   reached. Its length is the deepest stage reached (0 when the group has no stage-1 event).
///
/// Semantics are those of ClickHouse's `windowFunnel(window)` in its default mode: events are
/// taken in time order (equal times: lower stage first); a stage-1 event starts a chain; an
/// event of stage k extends a chain that has reached stage k−1 if it lies within the window of
/// that chain's stage-1 event. Of all chains the deepest wins; among equally deep chains, the
/// one that started last (that is what ClickHouse keeps). Times between stages are therefore
/// those of that chain.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct FunnelStageTimes {
    signature: Signature,
}

impl FunnelStageTimes {
    /// The function object.
    pub fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for FunnelStageTimes {
    fn default() -> Self {
        Self::new()
    }
}

fn ts_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", TIMESTAMP, true)))
}

fn i64_list() -> DataType {
    DataType::List(Arc::new(Field::new("item", DataType::Int64, true)))
}

impl AggregateUDFImpl for FunnelStageTimes {
    fn name(&self) -> &str {
        "funnel_stage_times"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 3
            || !matches!(arg_types[0], DataType::Timestamp(_, _))
            || !arg_types[1].is_integer()
            || !(arg_types[2].is_integer() || arg_types[2].is_floating())
        {
            return plan_err!(
                "funnel_stage_times(ts, stage, window_seconds) takes a timestamp, an integer stage and a number of seconds; got {arg_types:?}"
            );
        }
        Ok(vec![TIMESTAMP, DataType::Int64, DataType::Int64])
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(ts_list())
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FunnelAccumulator::default()))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new("times", ts_list(), true)),
            Arc::new(Field::new("stages", i64_list(), true)),
            Arc::new(Field::new("window", DataType::Int64, true)),
        ])
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(FunnelStageGroups::default()))
    }
}

/// [`FunnelStageTimes`] for `GROUP BY`: one event list per group, so DataFusion's grouped
/// hash aggregation drives it without a boxed accumulator per customer.
#[derive(Debug, Default)]
struct FunnelStageGroups {
    groups: Vec<Vec<(i64, i64)>>,
    window_ns: Option<i64>,
    bytes: usize,
}

impl FunnelStageGroups {
    fn set_window(&mut self, w: &Int64Array, from_state: bool) -> Result<()> {
        if self.window_ns.is_some() {
            return Ok(());
        }
        if let Some(secs) = w.iter().flatten().next() {
            if secs < 0 && !from_state {
                return exec_err!("funnel_stage_times: window_seconds must be ≥ 0, got {secs}");
            }
            self.window_ns = Some(secs.saturating_mul(1_000_000_000));
        }
        Ok(())
    }
    fn push(&mut self, group: usize, ts: i64, stage: i64) {
        let g = &mut self.groups[group];
        let before = g.capacity();
        g.push((ts, stage));
        self.bytes += (g.capacity() - before) * 16;
    }

    /// Removes the emitted groups and their bytes from the count (only the taken groups are
    /// visited: DataFusion emits in batches, and re-summing the rest each time is quadratic).
    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<(i64, i64)>> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken.iter().map(|g| g.capacity() * 16).sum();
        self.bytes = self.bytes.saturating_sub(freed);
        taken
    }
}

impl GroupsAccumulator for FunnelStageGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
        self.set_window(values[2].as_primitive::<Int64Type>(), false)?;
        let ts = values[0].as_primitive::<TimestampNanosecondType>();
        let st = values[1].as_primitive::<Int64Type>();
        for (i, &g) in group_indices.iter().enumerate() {
            if let Some(f) = opt_filter
                && !(f.is_valid(i) && f.value(i))
            {
                continue;
            }
            if ts.is_valid(i) && st.is_valid(i) && st.value(i) >= 1 {
                self.push(g, ts.value(i), st.value(i));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut groups = self.take(emit_to);
        let window = self.window_ns.unwrap_or(0);
        let mut out = ListBuilder::new(TimestampNanosecondBuilder::new());
        for g in groups.iter_mut() {
            for t in funnel_chain(g, window) {
                out.values().append_value(t);
            }
            out.append(true);
        }
        Ok(Arc::new(out.finish()))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let mut times = ListBuilder::new(TimestampNanosecondBuilder::new());
        let mut stages = ListBuilder::new(Int64Builder::new());
        for g in &groups {
            for &(t, st) in g {
                times.values().append_value(t);
                stages.values().append_value(st);
            }
            times.append(true);
            stages.append(true);
        }
        let window: Int64Array =
            std::iter::repeat_n(self.window_ns.map(|w| w / 1_000_000_000), groups.len()).collect();
        Ok(vec![
            Arc::new(times.finish()),
            Arc::new(stages.finish()),
            Arc::new(window),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
        self.set_window(values[2].as_primitive::<Int64Type>(), true)?;
        let times = values[0].as_list::<i32>();
        let stages = values[1].as_list::<i32>();
        for (i, &g) in group_indices.iter().enumerate() {
            if times.is_null(i) {
                continue;
            }
            let t = times.value(i);
            let st = stages.value(i);
            let t = t.as_primitive::<TimestampNanosecondType>();
            let st = st.as_primitive::<Int64Type>();
            for j in 0..t.len() {
                self.push(g, t.value(j), st.value(j));
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Every row its own group: a list of zero or one event.
        let ts = values[0].as_primitive::<TimestampNanosecondType>();
        let st = values[1].as_primitive::<Int64Type>();
        let w = values[2].as_primitive::<Int64Type>();
        let mut times = ListBuilder::new(TimestampNanosecondBuilder::new());
        let mut stages = ListBuilder::new(Int64Builder::new());
        for i in 0..ts.len() {
            let kept = opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
            if kept && ts.is_valid(i) && st.is_valid(i) && st.value(i) >= 1 {
                times.values().append_value(ts.value(i));
                stages.values().append_value(st.value(i));
            }
            times.append(true);
            stages.append(true);
        }
        if let Some(secs) = w.iter().flatten().next()
            && secs < 0
        {
            return exec_err!("funnel_stage_times: window_seconds must be ≥ 0, got {secs}");
        }
        Ok(vec![
            Arc::new(times.finish()),
            Arc::new(stages.finish()),
            Arc::new(w.clone()),
        ])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Vec<(i64, i64)>>()
            + self.bytes
    }
}

#[derive(Debug, Default)]
struct FunnelAccumulator {
    events: Vec<(i64, i64)>,
    window_ns: Option<i64>,
}

/// The deepest chain of stage times (ClickHouse windowFunnel default mode); see [`FunnelStageTimes`].
pub fn funnel_chain(events: &mut [(i64, i64)], window_ns: i64) -> Vec<i64> {
    events.sort_unstable();
    let max_stage = events.iter().map(|e| e.1).max().unwrap_or(0).max(0) as usize;
    // chains[k] = the chain that reached stage k+1 with the latest start seen so far.
    let mut chains: Vec<Option<Vec<i64>>> = vec![None; max_stage];
    for &(ts, stage) in events.iter() {
        if stage < 1 {
            continue;
        }
        let k = (stage - 1) as usize;
        if k == 0 {
            chains[0] = Some(vec![ts]);
        } else if let Some(prev) = &chains[k - 1] {
            if ts - prev[0] <= window_ns {
                let mut c = prev.clone();
                c.push(ts);
                chains[k] = Some(c);
            }
        }
    }
    chains
        .into_iter()
        .rev()
        .flatten()
        .next()
        .unwrap_or_default()
}

impl Accumulator for FunnelAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ts = values[0].as_primitive::<TimestampNanosecondType>();
        let st = values[1].as_primitive::<Int64Type>();
        let w = values[2].as_primitive::<Int64Type>();
        for i in 0..ts.len() {
            if self.window_ns.is_none() && w.is_valid(i) {
                let secs = w.value(i);
                if secs < 0 {
                    return exec_err!("funnel_stage_times: window_seconds must be ≥ 0, got {secs}");
                }
                self.window_ns = Some(secs.saturating_mul(1_000_000_000));
            }
            if ts.is_valid(i) && st.is_valid(i) && st.value(i) >= 1 {
                self.events.push((ts.value(i), st.value(i)));
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let chain = funnel_chain(&mut self.events, self.window_ns.unwrap_or(0));
        let arr = TimestampNanosecondArray::from(chain);
        Ok(ScalarValue::List(Arc::new(ListArray::new(
            Arc::new(Field::new("item", TIMESTAMP, true)),
            datafusion::arrow::buffer::OffsetBuffer::from_lengths([arr.len()]),
            Arc::new(arr),
            None,
        ))))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.events.capacity() * 16
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let times: TimestampNanosecondArray = self.events.iter().map(|e| Some(e.0)).collect();
        let stages: Int64Array = self.events.iter().map(|e| Some(e.1)).collect();
        let wrap = |a: ArrayRef, t: DataType| {
            ScalarValue::List(Arc::new(ListArray::new(
                Arc::new(Field::new("item", t, true)),
                datafusion::arrow::buffer::OffsetBuffer::from_lengths([a.len()]),
                a,
                None,
            )))
        };
        Ok(vec![
            wrap(Arc::new(times), TIMESTAMP),
            wrap(Arc::new(stages), DataType::Int64),
            ScalarValue::Int64(self.window_ns.map(|w| w / 1_000_000_000)),
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let times = states[0].as_list::<i32>();
        let stages = states[1].as_list::<i32>();
        let w = states[2].as_primitive::<Int64Type>();
        for i in 0..times.len() {
            if self.window_ns.is_none() && w.is_valid(i) {
                self.window_ns = Some(w.value(i).saturating_mul(1_000_000_000));
            }
            if times.is_null(i) {
                continue;
            }
            let t = times.value(i);
            let s = stages.value(i);
            let t = t.as_primitive::<TimestampNanosecondType>();
            let s = s.as_primitive::<Int64Type>();
            for j in 0..t.len() {
                self.events.push((t.value(j), s.value(j)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn funnel_chain_follows_window_funnel_default_mode() {
        // stage 1 at t=0, stage 2 at t=10, stage 3 at t=100; window 50 s:
        // stage 3 lies 100 s after the stage-1 event, outside the window → depth 2.
        let mut ev = vec![(0, 1), (10 * S, 2), (100 * S, 3)];
        assert_eq!(funnel_chain(&mut ev, 50 * S), vec![0, 10 * S]);
        // A later stage-1 event at t=60 restarts a chain: 60 → (no stage 2 after it) so the
        // deepest is still the first chain.
        let mut ev = vec![(0, 1), (10 * S, 2), (60 * S, 1), (100 * S, 3)];
        assert_eq!(funnel_chain(&mut ev, 50 * S), vec![0, 10 * S]);
        // Window boundary is inclusive: stage 2 exactly 50 s after stage 1 counts.
        let mut ev = vec![(0, 1), (50 * S, 2)];
        assert_eq!(funnel_chain(&mut ev, 50 * S).len(), 2);
        // Out of order: stage 2 before stage 1 does not count.
        let mut ev = vec![(0, 2), (10 * S, 1)];
        assert_eq!(funnel_chain(&mut ev, 50 * S), vec![10 * S]);
        // Equal times: lower stage first, so both count.
        let mut ev = vec![(5 * S, 2), (5 * S, 1)];
        assert_eq!(funnel_chain(&mut ev, 0), vec![5 * S, 5 * S]);
        // No stage-1 event: depth 0.
        let mut ev = vec![(5 * S, 2)];
        assert!(funnel_chain(&mut ev, 100 * S).is_empty());
    }

    /// The wall-clock time the way chrono computes it for one instant: the per-value
    /// conversion `local_time` did before [`DayOffsets`].
    fn chrono_local(tz: Tz, ns: i64) -> i64 {
        DateTime::<Utc>::from_timestamp_nanos(ns)
            .with_timezone(&tz)
            .naive_local()
            .and_utc()
            .timestamp_nanos_opt()
            .unwrap()
    }

    /// `DayOffsets` against chrono's own conversion of each instant, on random instants from
    /// 1990 to 2040 and on every minute around this year's switches, in zones with whole-hour,
    /// half-hour (Australia/Lord_Howe's 30-minute DST, St John's) and 45-minute (Chatham,
    /// Kathmandu) offsets, and south of the equator.
    #[test]
    fn day_offsets_match_chrono_per_instant() {
        use rand::{Rng, SeedableRng};
        let zones = [
            "Europe/Berlin",
            "America/New_York",
            "America/St_Johns",
            "Australia/Lord_Howe",
            "Pacific/Chatham",
            "Asia/Kathmandu",
            "America/Sao_Paulo",
            "UTC",
        ];
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (from, to) = (631_152_000 * S, 2_208_988_800 * S); // 1990-01-01 .. 2040-01-01
        for name in zones {
            let tz: Tz = name.parse().unwrap();
            let mut offsets = DayOffsets::new(tz);
            let mut instants: Vec<i64> = (0..50_000).map(|_| rng.random_range(from..to)).collect();
            // Every minute of 2026-03-28 .. 2026-04-07 and 2026-09-26 .. 2026-11-05 (the
            // northern and southern switches), so each switch day is hit many times.
            for (start, days) in [(1_774_656_000 * S, 10), (1_790_380_800 * S, 40)] {
                instants.extend((0..days * 1440).map(|m| start + m * 60 * S));
            }
            for ns in instants {
                assert_eq!(ns + offsets.get(ns), chrono_local(tz, ns), "{name} at {ns}");
            }
        }
    }

    /// What [`DayOffsets`] relies on: no zone changes its UTC offset and back within one UTC
    /// day. Checks every zone hour by hour from 1900 to 2100 (about 10⁹ look-ups, 20 s in
    /// release), so that a chrono-tz upgrade with new data is checked again.
    #[test]
    fn no_zone_changes_offset_and_back_within_a_day() {
        const HOUR: i64 = 3600 * S;
        let (from, to) = (-2_208_988_800 * S, 4_102_444_800 * S); // 1900 .. 2100
        for tz in chrono_tz::TZ_VARIANTS {
            let offsets = DayOffsets::new(tz);
            let mut day = from;
            while day < to {
                let first = offsets.lookup(day);
                let last = offsets.lookup(day + 24 * HOUR - 1);
                if first == last {
                    for h in 1..24 {
                        assert_eq!(offsets.lookup(day + h * HOUR), first, "{tz} on day {day}");
                    }
                }
                day += 24 * HOUR;
            }
        }
    }

    /// A compiled pattern reads each value as chrono's `parse_from_str` functions do with
    /// the pattern text (the per-value code it replaced): with and without an offset, a
    /// date-only pattern (midnight), a value that does not match, and a pattern chrono cannot
    /// read (every value fails).
    #[test]
    fn compiled_patterns_match_parse_from_str() {
        let tz: Tz = "America/New_York".parse().unwrap();
        let by_text = |t: &str, p: &str| -> Option<i64> {
            if p.contains("%z") || p.contains("%:z") || p.contains("%#z") {
                return DateTime::parse_from_str(t, p).ok()?.timestamp_nanos_opt();
            }
            if let Ok(n) = NaiveDateTime::parse_from_str(t, p) {
                return localize(n, tz);
            }
            localize(
                NaiveDate::parse_from_str(t, p).ok()?.and_hms_opt(0, 0, 0)?,
                tz,
            )
        };
        let cases = [
            ("%Y-%m-%d %H:%M:%S", "2025-01-28 08:11:18"),
            ("%Y-%m-%d %H:%M:%S", "2025-01-28"),
            ("%Y-%m-%d %H:%M:%S", "2025-01-28 08:11:18 extra"),
            ("%d/%m/%Y %H:%M", "28/01/2025 08:11"),
            ("%Y-%m-%d", "2025-01-28"),
            ("%Y-%m-%d %H:%M:%S%z", "2025-01-28 08:11:18+0100"),
            ("%Y-%m-%d %H:%M:%S%:z", "2025-01-28 08:11:18-05:00"),
            ("%Y-%m-%d %H:%M:%S%z", "2025-01-28 08:11:18"),
            ("%Y-%m-%d %Q", "2025-01-28 x"),
        ];
        let mut read = 0;
        for (p, t) in cases {
            let got = parse_ts(t, &TsFormat::pattern(p), tz);
            assert_eq!(got, by_text(t, p), "{t:?} with {p:?}");
            read += usize::from(got.is_some());
        }
        // Five of the nine are readable: the two full timestamps, the date-only pattern, the
        // two with an offset.
        assert_eq!(read, 5);
        // 2025-01-28 08:11:18-05:00 is 13:11:18 UTC = 1738069878 s (`date -d`).
        assert_eq!(
            parse_ts(
                "2025-01-28 08:11:18",
                &TsFormat::pattern("%Y-%m-%d %H:%M:%S"),
                tz
            ),
            Some(1_738_069_878 * S)
        );
    }

    /// A Unix time outside what a nanosecond timestamp holds is unreadable, not saturated
    /// to 1677 or 2262: i64 nanoseconds reach 2^63 ns = 9,223,372,036.854775807 s after the
    /// epoch (2262-04-11T23:47:16.854775807Z) and as far before it (1677-09-21).
    #[test]
    fn unix_times_out_of_range_are_unreadable() {
        let tz: Tz = "UTC".parse().unwrap();
        let secs = |t: &str| parse_ts(t, &TsFormat::UnixSeconds, tz);
        let millis = |t: &str| parse_ts(t, &TsFormat::UnixMillis, tz);
        assert_eq!(secs("9223372036"), Some(9_223_372_036 * S));
        assert_eq!(secs("-9223372036"), Some(-9_223_372_036 * S));
        assert_eq!(secs("9223372037"), None);
        assert_eq!(secs("-9223372037"), None);
        assert_eq!(secs("100000000000000"), None);
        assert_eq!(secs("1e300"), None);
        assert_eq!(secs("inf"), None);
        assert_eq!(secs("NaN"), None);
        assert_eq!(millis("1793455402000"), Some(1_793_455_402 * S));
        assert_eq!(millis("9223372037000"), None);
        assert_eq!(millis("1.5"), Some(1_500_000));
    }

    /// Values in messages: whole up to 80 characters, else the first 80 and the length in
    /// bytes; cut on a character boundary (é is 2 bytes).
    #[test]
    fn shorten_quotes_at_most_80_characters() {
        assert_eq!(shorten("40,00 €"), "\"40,00 €\"");
        let eighty = "é".repeat(80);
        assert_eq!(shorten(&eighty), format!("{eighty:?}"));
        let long = "é".repeat(500_000);
        assert_eq!(
            shorten(&long),
            format!("{:?}… (1000000 bytes)", "é".repeat(80))
        );
    }

    #[test]
    fn parse_ts_formats() {
        let tz: Tz = "Europe/Berlin".parse().unwrap();
        // 2026-10-31T14:03:22Z = 1793455402 s since the epoch (checked with `date -d`).
        let z = parse_ts("2026-10-31T14:03:22Z", &TsFormat::Rfc3339, tz).unwrap();
        assert_eq!(z, 1_793_455_402 * S);
        // Same instant written with an offset.
        assert_eq!(
            parse_ts("2026-10-31T15:03:22+01:00", &TsFormat::Rfc3339, tz),
            Some(z)
        );
        // Naive, read in Europe/Berlin (CET, UTC+1 after 2026-10-25).
        assert_eq!(
            parse_ts(
                "2026-10-31 15:03:22",
                &TsFormat::pattern("%Y-%m-%d %H:%M:%S"),
                tz
            ),
            Some(z)
        );
        assert_eq!(parse_ts("yesterday", &TsFormat::Rfc3339, tz), None);
        assert_eq!(parse_ts("1793455402", &TsFormat::UnixSeconds, tz), Some(z));
        // 2026-03-29 02:30 does not exist in Europe/Berlin (clocks jump 02:00 → 03:00).
        assert_eq!(
            parse_ts(
                "2026-03-29 02:30:00",
                &TsFormat::pattern("%Y-%m-%d %H:%M:%S"),
                tz
            ),
            None
        );
    }
}

#[cfg(test)]
mod sql_tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::prelude::SessionContext;

    async fn one(sql: &str) -> String {
        let ctx = SessionContext::new();
        super::register_all(&ctx);
        let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let col = datafusion::arrow::compute::cast(
            b[0].column(0),
            &datafusion::arrow::datatypes::DataType::Utf8,
        )
        .unwrap();
        col.as_string::<i32>().value(0).to_string()
    }

    /// `local_date` against DataFusion's own `CAST(local_time(ts, tz) AS DATE)` (arrow's cast,
    /// through chrono's calendar), row by row: random instants 1900–2100 (before 1970 the day
    /// number is negative and must round down), every 10 minutes around 2026's switches, the
    /// last and first nanosecond of local days, and NULLs, in zones with half-hour and
    /// 45-minute offsets, both hemispheres and the date line.
    #[tokio::test]
    async fn local_date_matches_cast_of_local_time() {
        use super::TIMESTAMP;
        use datafusion::arrow::array::TimestampNanosecondArray;
        use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
        use datafusion::arrow::record_batch::RecordBatch;
        use rand::{Rng, SeedableRng};
        use std::sync::Arc;
        const S: i64 = 1_000_000_000;
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let (from, to) = (-2_208_988_800 * S, 4_102_444_800 * S); // 1900-01-01 .. 2100-01-01
        let mut instants: Vec<Option<i64>> = (0..20_000)
            .map(|_| Some(rng.random_range(from..to)))
            .collect();
        for (start, days) in [(1_774_656_000 * S, 10), (1_790_380_800 * S, 40)] {
            instants.extend((0..days * 144).map(|m| Some(start + m * 600 * S)));
        }
        // 2026-10-31 22:59:59.999999999 UTC is 23:59:59.999999999 in Berlin; one ns later is
        // 2026-11-01 00:00 there.
        instants.extend([
            Some(1_793_487_599 * S + (S - 1)),
            Some(1_793_487_600 * S),
            None,
            Some(-1),
            Some(0),
        ]);
        let ctx = SessionContext::new();
        super::register_all(&ctx);
        let schema = Arc::new(Schema::new(vec![Field::new("ts", TIMESTAMP, true)]));
        let batch = RecordBatch::try_new(
            schema,
            vec![Arc::new(TimestampNanosecondArray::from(instants.clone()))],
        )
        .unwrap();
        ctx.register_batch("t", batch).unwrap();
        for zone in [
            "Europe/Berlin",
            "America/New_York",
            "America/St_Johns",
            "Asia/Kathmandu",
            "Australia/Lord_Howe",
            "Pacific/Kiritimati",
            "Pacific/Pago_Pago",
            "UTC",
        ] {
            let sql = format!(
                "SELECT count(*), count(local_date(ts, '{zone}')), \
                        count(*) FILTER (WHERE local_date(ts, '{zone}') IS NOT DISTINCT FROM \
                                                CAST(local_time(ts, '{zone}') AS DATE)), \
                        arrow_typeof(local_date(ts, '{zone}')) \
                 FROM t GROUP BY 4"
            );
            let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let n = |i: usize| b[0].column(i).as_primitive::<Int64Type>().value(0);
            assert_eq!(n(0) as usize, instants.len(), "{zone}");
            assert_eq!(
                n(1) as usize,
                instants.len() - 1,
                "{zone}: one NULL in, one out"
            );
            assert_eq!(
                n(2),
                n(0),
                "{zone}: rows where local_date differs from the cast"
            );
            assert_eq!(b[0].column(3).as_string::<i32>().value(0), "Date32");
        }
        // By hand: 2026-10-31 22:30 UTC is 23:30 in Berlin (CET, UTC+1), still the 31st;
        // 23:30 UTC is 00:30 on 1 November. 1969-12-31 23:59:59 UTC is day -1 in UTC.
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '2026-10-31 22:30:00', 'Europe/Berlin')").await,
            "2026-10-31"
        );
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '2026-10-31 23:30:00', 'Europe/Berlin')").await,
            "2026-11-01"
        );
        assert_eq!(
            one("SELECT local_date(TIMESTAMP '1969-12-31 23:59:59', 'UTC')").await,
            "1969-12-31"
        );
    }

    /// `require_amount` passes amounts through and fails on the first completed order (any
    /// case, spaces around) whose amount is empty or negative, with a `BadValue` that says
    /// which status made it bad; other statuses may have any amount.
    #[tokio::test]
    async fn require_amount_checks_completed_orders_only() {
        let ctx = SessionContext::new();
        super::register_all(&ctx);
        let rows = |values: &str| {
            format!(
                "SELECT sum(require_amount(a, s, 'transactions.amount')) FROM (VALUES {values}) AS t(a, s)"
            )
        };
        let total = |values: &str| {
            let ctx = ctx.clone();
            let sql = rows(values);
            async move { ctx.sql(&sql).await.unwrap().collect().await }
        };
        // 10 + 0 + (-5 refunded) + (NULL cancelled) = 5.
        let ok = total("(10.0, 'completed'), (0.0, ' Completed '), (-5.0, 'refunded'), (CAST(NULL AS DOUBLE), 'cancelled')").await.unwrap();
        let text = datafusion::arrow::util::pretty::pretty_format_batches(&ok)
            .unwrap()
            .to_string();
        assert!(text.contains("| 5.0"), "{text}");
        for (values, value) in [
            ("(10.0, 'completed'), (-0.5, 'COMPLETED')", "-0.5"),
            (
                "(10.0, 'completed'), (CAST(NULL AS DOUBLE), 'completed')",
                "",
            ),
        ] {
            let err = total(values).await.unwrap_err();
            let bad = super::find_bad_value(&err).expect("a BadValue");
            assert_eq!(bad.value, value);
            assert_eq!(bad.origin, "transactions.amount");
            assert_eq!(bad.when, Some(("status".into(), "completed".into())));
        }
    }

    /// `blank_to_null` against DataFusion's own `nullif(btrim(x), '')`, row by row, on a batch
    /// that needs trimming and on one that does not (the no-copy path), with NULLs in both.
    #[tokio::test]
    async fn blank_to_null_matches_nullif_btrim() {
        let ctx = SessionContext::new();
        super::register_all(&ctx);
        for values in [
            "('a'), (' a'), ('a '), ('  a b  '), (''), ('   '), (NULL), ('\ta'), ('é ')",
            "('a'), ('a b'), (NULL), ('x'), ('\t')",
        ] {
            let sql = format!(
                "SELECT blank_to_null(v) IS NOT DISTINCT FROM nullif(btrim(v), ''), \
                 coalesce(blank_to_null(v), '<null>') FROM (VALUES {values}) AS t(v)"
            );
            let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
            let mut got = Vec::new();
            for b in &batches {
                let same = b.column(0).as_boolean();
                let v = b.column(1).as_string::<i32>();
                for i in 0..b.num_rows() {
                    assert!(same.value(i), "row {i} of {values}: {}", v.value(i));
                    got.push(v.value(i).to_string());
                }
            }
            assert!(got.len() >= 5, "{got:?}");
        }
        // The first batch by hand: ' a' → 'a', '  a b  ' → 'a b', '' and '   ' → NULL, a tab
        // is not a space and stays.
        let b = ctx
            .sql("SELECT coalesce(blank_to_null(v), '<null>') FROM (VALUES (' a'), ('  a b  '), (''), ('   '), ('\ta')) AS t(v)")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let v = b[0].column(0).as_string::<i32>();
        let got: Vec<&str> = (0..b[0].num_rows()).map(|i| v.value(i)).collect();
        assert_eq!(got, ["a", "a b", "<null>", "<null>", "\ta"]);
        // A Utf8View column stays Utf8View, trimmed the same way.
        assert_eq!(
            one("SELECT arrow_typeof(blank_to_null(arrow_cast(' a ', 'Utf8View')))").await,
            "Utf8View"
        );
        assert_eq!(
            one("SELECT concat('[', blank_to_null(arrow_cast(' a ', 'Utf8View')), ']')").await,
            "[a]"
        );
        assert_eq!(
            one("SELECT blank_to_null(arrow_cast('   ', 'Utf8View')) IS NULL").await,
            "true"
        );
    }

    #[tokio::test]
    async fn local_time_crosses_daylight_saving() {
        // Europe/Berlin switches to CEST at 2026-03-29 01:00 UTC (02:00 → 03:00 local).
        assert_eq!(
            one("SELECT local_time(TIMESTAMP '2026-03-29 00:30:00', 'Europe/Berlin')").await,
            "2026-03-29T01:30:00"
        );
        assert_eq!(
            one("SELECT local_time(TIMESTAMP '2026-03-29 01:30:00', 'Europe/Berlin')").await,
            "2026-03-29T03:30:00"
        );
        // …and back to CET at 2026-10-25 01:00 UTC (03:00 → 02:00 local).
        assert_eq!(
            one("SELECT local_time(TIMESTAMP '2026-10-25 00:30:00', 'Europe/Berlin')").await,
            "2026-10-25T02:30:00"
        );
        assert_eq!(
            one("SELECT local_time(TIMESTAMP '2026-10-25 01:30:00', 'Europe/Berlin')").await,
            "2026-10-25T02:30:00"
        );
    }

    #[tokio::test]
    async fn path_collapse_removes_consecutive_repeats_only() {
        let got = one("SELECT array_to_string(path_collapse(make_array('social', 'social', 'email', 'social', 'social')), ' > ')").await;
        assert_eq!(got, "social > email > social");
    }

    #[tokio::test]
    async fn funnel_stage_times_in_sql() {
        // Customer 1: stage 1 at 10:00, stage 2 at 10:05, stage 3 at 10:20; window 10 minutes
        // → stage 3 is 20 minutes after stage 1, outside: depth 2.
        let got = one(
            "SELECT CAST(array_length(funnel_stage_times(t, s, 600)) AS VARCHAR) FROM (VALUES \
             (TIMESTAMP '2026-10-01 10:00:00', 1), (TIMESTAMP '2026-10-01 10:05:00', 2), \
             (TIMESTAMP '2026-10-01 10:20:00', 3)) AS v(t, s)",
        )
        .await;
        assert_eq!(got, "2");
    }

    /// `sql/intermediate/stg_funnel_customers.sql` takes a customer's funnel level as the length of
    /// `funnel_stage_times` instead of calling `window_funnel` as well. Second method: the two
    /// aggregates (separate code, both ClickHouse's default mode) on random events with many
    /// equal times, stage 0 rows and several partitions, customer by customer.
    #[tokio::test]
    async fn funnel_stage_times_length_is_the_window_funnel_level() {
        use datafusion::prelude::SessionConfig;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
        let rows: Vec<String> = (0..4000)
            .map(|_| {
                let (c, t, s): (i64, i64, i64) = (
                    rng.random_range(0..100),
                    rng.random_range(0..400),
                    rng.random_range(0..6),
                );
                format!("({c}, {t}, {s})")
            })
            .collect();
        let ctx = SessionContext::new_with_config(
            SessionConfig::new()
                .with_target_partitions(3)
                .with_batch_size(11),
        );
        super::register_all(&ctx);
        let sql = format!(
            "SELECT count(*) FILTER (WHERE level IS DISTINCT FROM n), count(*), max(level) FROM ( \
               SELECT c, window_funnel(120, '', to_timestamp_seconds(t), s) AS level, \
                      CAST(cardinality(funnel_stage_times(to_timestamp_seconds(t), s, 120)) AS BIGINT) AS n \
               FROM (VALUES {}) AS v(c, t, s) GROUP BY c)",
            rows.join(", ")
        );
        let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let col = |i: usize| {
            datafusion::arrow::compute::cast(
                b[0].column(i),
                &datafusion::arrow::datatypes::DataType::Int64,
            )
            .unwrap()
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0)
        };
        assert_eq!((col(0), col(1)), (0, 100), "customers whose level differs");
        // Deep funnels occur, so the comparison covers every level.
        assert_eq!(col(2), 5);
    }

    #[tokio::test]
    async fn funnel_stage_times_grouped_equals_the_chain_per_customer() {
        // Second method: the grouped accumulator (several partitions, 7-row batches, so
        // partial states are serialized and merged) against `funnel_chain` run directly on
        // each customer's events.
        use datafusion::prelude::SessionConfig;
        use rand::{Rng, SeedableRng};
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
        let mut per_customer: std::collections::BTreeMap<i64, Vec<(i64, i64)>> = Default::default();
        let mut rows = Vec::new();
        for _ in 0..2000 {
            let c: i64 = rng.random_range(0..150);
            let t: i64 = rng.random_range(0..5000);
            let s: i64 = rng.random_range(0..5);
            rows.push(format!("({c}, {t}, {s})"));
            if s >= 1 {
                per_customer
                    .entry(c)
                    .or_default()
                    .push((t * 1_000_000_000, s));
            }
        }
        let ctx = SessionContext::new_with_config(
            SessionConfig::new()
                .with_target_partitions(4)
                .with_batch_size(7),
        );
        super::register_all(&ctx);
        let sql = format!(
            "SELECT c, funnel_stage_times(to_timestamp_seconds(t), s, 900) AS times \
             FROM (VALUES {}) AS v(c, t, s) GROUP BY c ORDER BY c",
            rows.join(", ")
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut seen = 0;
        for b in &batches {
            let cs = b
                .column(0)
                .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
            let lists = b.column(1).as_list::<i32>();
            for i in 0..b.num_rows() {
                let got: Vec<i64> = lists
                    .value(i)
                    .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                    .values()
                    .to_vec();
                let mut ev = per_customer.get(&cs.value(i)).cloned().unwrap_or_default();
                let want = super::funnel_chain(&mut ev, 900 * 1_000_000_000);
                assert_eq!(got, want, "customer {}", cs.value(i));
                seen += 1;
            }
        }
        assert_eq!(seen, 150);
    }
}
