//! The SQL functions journey-report adds to DataFusion, all registered by [`register_all`].
//!
//! | function | kind | in → out |
//! |---|---|---|
//! | `parse_timestamp(text, format, time_zone, origin)` | scalar | Utf8 → `Timestamp(Nanosecond, None)` holding UTC |
//! | `parse_number(text, origin)` | scalar | Utf8 → Float64 |
//! | `local_time(ts, time_zone)` | scalar | UTC timestamp → wall-clock timestamp in `time_zone` |
//! | `path_collapse(list)` | scalar | `List<Utf8>` → `List<Utf8>` with consecutive repeats removed |
//! | `funnel_stage_times(ts, stage, window_seconds)` | aggregate | → `List<Timestamp>`: when each funnel stage was reached |
//! | `path_agg(value, key1, …, keyN)` | aggregate | strings → `List<Utf8>` in key order = `array_agg(value ORDER BY key1, …, keyN)`; see [`crate::sql_path_agg`] |
//! | `arg_min(value, key1, …, keyN)` | aggregate | `value` of the row with the smallest `(key1, …, keyN)` (ascending, NULLS LAST) = `first_value(value ORDER BY key1, …, keyN)`; see [`crate::sql_arg_min`] |
//!
//! `parse_timestamp` and `parse_number` are strict: a value they cannot read fails the query
//! with a [`BadValue`] error, which the runner turns into a message naming the file, line and
//! column (exit code 3). They are what the generated source views call; analysts normally use
//! the typed views and never call them directly.

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Float64Builder, Int64Array, Int64Builder, ListArray,
    ListBuilder, StringBuilder, TimestampNanosecondArray, TimestampNanosecondBuilder,
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
    crate::sql_arg_min::register(ctx);
    crate::sql_path_agg::register(ctx);
    ctx.register_udf(ScalarUDF::from(ParseTimestamp::new()));
    ctx.register_udf(ScalarUDF::from(ParseNumber::new()));
    ctx.register_udf(ScalarUDF::from(LocalTime::new()));
    ctx.register_udf(ScalarUDF::from(PathCollapse::new()));
    ctx.register_udaf(AggregateUDF::from(FunnelStageTimes::new()));
    crate::sql_attribution::register(ctx);
    crate::sql_clv::register(ctx);
    crate::sql_funnel::register(ctx);
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
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot read {:?}: expected {}",
            self.origin, self.value, self.expected
        )
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
    Pattern(String),
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
        TsFormat::UnixSeconds => {
            let s: f64 = t.parse().ok()?;
            if !s.is_finite() {
                return None;
            }
            Some((s * 1e9).round() as i64)
        }
        TsFormat::UnixMillis => {
            let s: f64 = t.parse().ok()?;
            if !s.is_finite() {
                return None;
            }
            Some((s * 1e6).round() as i64)
        }
        TsFormat::Pattern(p) => {
            if p.contains("%z") || p.contains("%:z") || p.contains("%#z") {
                return DateTime::parse_from_str(t, p)
                    .ok()?
                    .with_timezone(&Utc)
                    .timestamp_nanos_opt();
            }
            if let Ok(n) = NaiveDateTime::parse_from_str(t, p) {
                return localize(n, tz);
            }
            let d = NaiveDate::parse_from_str(t, p).ok()?;
            localize(d.and_hms_opt(0, 0, 0)?, tz)
        }
    }
}

/// `parse_timestamp(text, format, time_zone, origin)`: reads an export's timestamp text.
///
/// - `text` (Utf8): the value; NULL or empty gives NULL.
/// - `format` (literal): `rfc3339` (RFC 3339 / ISO-8601; with an offset, or without one and then
///   read in `time_zone`; a bare date is midnight), `unix_seconds`, `unix_millis`, or a chrono
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
                "seconds since 1970-01-01 UTC".to_string(),
            ),
            "unix_millis" => (
                TsFormat::UnixMillis,
                "milliseconds since 1970-01-01 UTC".to_string(),
            ),
            p => (
                TsFormat::Pattern(p.to_string()),
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
        if arg_types.len() != 2
            || !matches!(arg_types[0], DataType::Timestamp(_, _) | DataType::Null)
        {
            return plan_err!(
                "local_time(ts, time_zone) takes a timestamp and a time-zone name, got {arg_types:?}"
            );
        }
        Ok(vec![TIMESTAMP, DataType::Utf8])
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
        let out: TimestampNanosecondArray = arr
            .iter()
            .map(|v| {
                v.map(|ns| {
                    let local = DateTime::<Utc>::from_timestamp_nanos(ns)
                        .with_timezone(&tz)
                        .naive_local();
                    local.and_utc().timestamp_nanos_opt().unwrap_or(ns)
                })
            })
            .collect();
        Ok(ColumnarValue::Array(Arc::new(out)))
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
                &TsFormat::Pattern("%Y-%m-%d %H:%M:%S".into()),
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
                &TsFormat::Pattern("%Y-%m-%d %H:%M:%S".into()),
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
