//! `parse_timestamp` and `parse_number`: the strict readers of an export's text that the
//! generated source views call; a value they cannot read fails the query with a
//! [`BadValue`](super::BadValue).

use std::sync::Arc;

use chrono::format::{Item, Parsed, StrftimeItems};
use chrono::{DateTime, LocalResult, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray, Float64Builder, TimestampNanosecondBuilder};
use datafusion::arrow::datatypes::DataType;
use datafusion::common::Result;
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::TIMESTAMP;
use super::args::{parse_tz, scalar_str};
use super::bad_value::bad;

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
pub(crate) const UNIX_RANGE: &str = "between 1677-09-21 and 2262-04-11";

/// What `parse_timestamp` in `format` expects, in words (its error message's "expected …").
pub(crate) fn timestamp_expected(format: &str) -> String {
    match format {
        "rfc3339" | "iso8601" => {
            "a timestamp in RFC 3339 / ISO-8601, e.g. 2026-10-31T14:03:22Z".to_string()
        }
        "unix_seconds" => format!("seconds since 1970-01-01 UTC, {UNIX_RANGE}"),
        "unix_millis" => format!("milliseconds since 1970-01-01 UTC, {UNIX_RANGE}"),
        p => format!("a timestamp in the format {p:?}"),
    }
}

/// What `parse_number` expects, in words.
pub(crate) const NUMBER_EXPECTED: &str =
    "a number such as 59.90 (dot as decimal separator, no currency sign)";

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
/// query with [`BadValue`](super::BadValue).
///
/// `try_parse_timestamp` (the same arguments, [`ParseTimestamp::lenient`]) gives NULL for
/// such a value instead: what the source views use to find the rows to quarantine.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ParseTimestamp {
    signature: Signature,
    lenient: bool,
}

impl ParseTimestamp {
    /// The function object (`parse_timestamp`).
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::exact(string_arg_types(4), Volatility::Immutable),
            lenient: false,
        }
    }

    /// `try_parse_timestamp`: NULL for a value that cannot be read.
    pub(crate) fn lenient() -> Self {
        Self {
            lenient: true,
            ..Self::new()
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
        if self.lenient {
            "try_parse_timestamp"
        } else {
            "parse_timestamp"
        }
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
        let format = match fmt_text.as_str() {
            "rfc3339" | "iso8601" => TsFormat::Rfc3339,
            "unix_seconds" => TsFormat::UnixSeconds,
            "unix_millis" => TsFormat::UnixMillis,
            p => TsFormat::pattern(p),
        };
        let expected = timestamp_expected(&fmt_text);
        let arr = args.args[0].to_array(args.number_rows)?;
        let arr = arr.as_string::<i32>();
        let mut out = TimestampNanosecondBuilder::with_capacity(arr.len());
        for v in arr.iter() {
            match v {
                None => out.append_null(),
                Some(s) if s.trim().is_empty() => out.append_null(),
                Some(s) => match parse_ts(s, &format, tz) {
                    Some(ns) => out.append_value(ns),
                    None if self.lenient => out.append_null(),
                    None => return Err(bad(&origin, s, &expected)),
                },
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `parse_number(text, origin)`: reads a decimal number such as `59.90` or `-3` (a dot as the
/// decimal separator, no thousands separators, no currency sign) as Float64. NULL or empty gives
/// NULL; anything else that is not a finite number fails the query with [`BadValue`](super::BadValue).
/// `try_parse_number` ([`ParseNumber::lenient`]) gives NULL for it instead.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ParseNumber {
    signature: Signature,
    lenient: bool,
}

impl ParseNumber {
    /// The function object (`parse_number`).
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::exact(string_arg_types(2), Volatility::Immutable),
            lenient: false,
        }
    }

    /// `try_parse_number`: NULL for a value that cannot be read.
    pub(crate) fn lenient() -> Self {
        Self {
            lenient: true,
            ..Self::new()
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
        if self.lenient {
            "try_parse_number"
        } else {
            "parse_number"
        }
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
                        _ if self.lenient => out.append_null(),
                        _ => {
                            return Err(bad(&origin, s, NUMBER_EXPECTED));
                        }
                    }
                }
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

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
