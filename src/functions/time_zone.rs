//! `local_time` and `local_date`: UTC instants as wall-clock times and dates in a report's
//! time zone, with the per-day offset cache ([`DayOffsets`]) that makes them cheap.

use std::sync::Arc;

use chrono::{DateTime, Offset, TimeZone, Utc};
use chrono_tz::Tz;
use datafusion::arrow::array::{Array, AsArray, Date32Array, TimestampNanosecondArray};
use datafusion::arrow::datatypes::{DataType, TimestampNanosecondType};
use datafusion::common::{Result, plan_err};
use datafusion::logical_expr::{
    ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature, Volatility,
};

use super::TIMESTAMP;
use super::args::{parse_tz, scalar_str};

/// `local_time(ts, time_zone)`: the wall-clock time in `time_zone` (IANA name, a literal) of the
/// UTC instant `ts`, as `Timestamp(Nanosecond, None)`. Use it before `date_trunc`, `date_part`
/// or `CAST(… AS DATE)` to bucket by the report's days, hours and weekdays; it follows daylight
/// saving time (2026-03-29 01:30 UTC is 03:30 in Europe/Berlin, 2026-03-28 01:30 UTC is 02:30).
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct LocalTime {
    signature: Signature,
}

impl LocalTime {
    /// The function object.
    pub(crate) fn new() -> Self {
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
pub(crate) struct LocalDate {
    signature: Signature,
}

impl LocalDate {
    /// The function object.
    pub(crate) fn new() -> Self {
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

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

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
}
