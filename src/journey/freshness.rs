//! Freshness and coverage of every source against the as-of day, checked on every run
//! before a model runs (the semantics of dbt's source freshness: `warn_after` and
//! `error_after` on the newest loaded row).
//!
//! For each source with a freshness column (the contract's time column, or
//! `freshness_column`), one aggregate over its canonical view gives: its row count, its
//! oldest value, its newest value before the end of the as-of day, and how many rows lie
//! after it. From these:
//!
//! - **age** = end of the as-of day (`$as_of_end`, UTC) − newest value, in hours. Past
//!   `max_age_hours.error` the run fails (exit 3) and the previous report folder stays;
//!   past `max_age_hours.warn` every page and e-mail carries a banner;
//! - **coverage**: a source whose every row lies after the as-of day fails the run (the
//!   as-of day is before its data) when it has an error threshold, else warns; a source
//!   whose oldest row is after the start of the previous period warns that the changes
//!   against the previous period compare with partial data.
//!
//! Each source's verdict goes to `manifest.json` (`freshness`).

use chrono::{NaiveDate, NaiveDateTime};
use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{Int64Type, TimestampNanosecondType};
use datafusion::common::ScalarValue;
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::journey::params::ReportWindow;
use crate::project::Config;
use crate::sources::SourceInfo;

/// What the freshness check concluded about one source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// Newest row within the warning threshold (or no threshold set).
    Fresh,
    /// Past the warning threshold, or the data does not cover the previous period: the
    /// report is written with a banner.
    Warn,
    /// Past the error threshold, or no data up to the as-of day: the run fails (exit 3).
    Error,
}

/// The freshness and coverage of one source (one entry of `manifest.json` → `freshness`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SourceFreshness {
    /// Source (table) name.
    pub(crate) source: String,
    /// The timestamp column measured (canonical name).
    pub(crate) column: String,
    /// Rows of the source (all of them, whatever their time).
    pub(crate) rows: u64,
    /// Oldest value of the column (UTC), over all rows.
    pub(crate) oldest: Option<NaiveDateTime>,
    /// Newest value before the end of the as-of day (UTC); rows after it are ignored by the
    /// models.
    pub(crate) newest: Option<NaiveDateTime>,
    /// Rows whose time is at or after the end of the as-of day.
    pub(crate) rows_after_as_of: u64,
    /// Hours between `newest` and the end of the as-of day.
    pub(crate) age_hours: Option<f64>,
    /// The warning threshold in hours, if any.
    pub(crate) warn_after_hours: Option<f64>,
    /// The error threshold in hours, if any.
    pub(crate) error_after_hours: Option<f64>,
    /// The verdict.
    pub(crate) verdict: Verdict,
    /// Why the verdict is not `fresh`, in one sentence for the banner and the log.
    pub(crate) message: Option<String>,
}

/// Checks every source that has a freshness column against `window`, and fills in the row
/// count of each one checked (`SourceInfo::rows`).
///
/// Thresholds come from `[sources.<name>] max_age_hours` or the contract's defaults
/// ([`SourceConfig::freshness`](crate::project::SourceConfig::freshness)); the deprecated `[email] max_input_age_hours` is the
/// error threshold of `events` when that source sets none.
///
/// Errors: exit 3 when a value of the column cannot be read (naming file, line and column),
/// exit 2 when `freshness_column` names no column of the source. A stale source is not an
/// error here: its verdict is [`Verdict::Error`] and the caller decides.
///
/// A source whose data tests already measured the column in their scan
/// ([`SourceQuality::freshness`](crate::sources::audit::SourceQuality)) is not read again.
pub(crate) async fn check_sources(
    ctx: &SessionContext,
    cfg: &Config,
    sources: &mut [SourceInfo],
    window: &ReportWindow,
    quality: &[crate::sources::audit::SourceQuality],
) -> Result<Vec<SourceFreshness>> {
    let mut out = Vec::new();
    let end_ns = window
        .as_of_end
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| Error::config(format!("the as-of day {} is out of range", window.as_of)))?;
    for s in sources.iter_mut() {
        let Some(src) = cfg.sources.get(&s.name) else {
            continue;
        };
        let (column, mut max_age) = src.freshness(&s.name);
        let Some(column) = column else {
            continue;
        };
        if s.name == "events"
            && src.max_age_hours.is_none()
            && let Some(h) = cfg.email.max_input_age_hours
        {
            max_age.error = Some(h);
        }
        if let Some(f) = quality
            .iter()
            .find(|q| q.source == s.name)
            .and_then(|q| q.freshness)
        {
            let ts =
                |ns: Option<i64>| ns.map(|n| chrono::DateTime::from_timestamp_nanos(n).naive_utc());
            s.rows.get_or_insert(f.rows);
            out.push(judge(
                &s.name,
                &column,
                f.rows,
                ts(f.oldest),
                ts(f.newest),
                f.rows_after,
                max_age,
                window,
            ));
            continue;
        }
        let sql = format!(
            "SELECT min(c), max(c) FILTER (WHERE c < $1), count(c) FILTER (WHERE c >= $1), count(*) \
             FROM (SELECT \"{}\" AS c FROM \"{}\")",
            column.replace('"', "\"\""),
            s.name
        );
        let df = ctx.sql(&sql).await.map_err(|e| {
            Error::config(format!(
                "[sources.{}] freshness_column {column:?}: {}",
                s.name,
                crate::error::clean_error(&e)
            ))
        })?;
        let df = df
            .with_param_values(vec![ScalarValue::TimestampNanosecond(Some(end_ns), None)])
            .map_err(|e| Error::internal(e.to_string()))?;
        let batches =
            df.collect()
                .await
                .map_err(|e| match crate::functions::find_bad_value(&e) {
                    Some(b) => crate::sources::locate_bad_value(std::slice::from_ref(s), &b),
                    None => Error::input(format!(
                        "source {}: reading {column} for the freshness check: {}",
                        s.name,
                        crate::error::clean_error(&e)
                    )),
                })?;
        let b = batches
            .iter()
            .find(|b| b.num_rows() > 0)
            .ok_or_else(|| Error::internal("freshness aggregate returned no row"))?;
        let ts = |i: usize| -> Option<NaiveDateTime> {
            let a = b.column(i).as_primitive_opt::<TimestampNanosecondType>()?;
            (!a.is_null(0)).then(|| chrono::DateTime::from_timestamp_nanos(a.value(0)).naive_utc())
        };
        let n = |i: usize| -> u64 {
            b.column(i)
                .as_primitive_opt::<Int64Type>()
                .map_or(0, |a| a.value(0) as u64)
        };
        let (oldest, newest, after, rows) = (ts(0), ts(1), n(2), n(3));
        // Rows read: the data tests may have quarantined some of the view's.
        s.rows.get_or_insert(rows);
        out.push(judge(
            &s.name, &column, rows, oldest, newest, after, max_age, window,
        ));
    }
    Ok(out)
}

/// The verdict for one source from its aggregates (see the module documentation).
#[allow(clippy::too_many_arguments)]
fn judge(
    source: &str,
    column: &str,
    rows: u64,
    oldest: Option<NaiveDateTime>,
    newest: Option<NaiveDateTime>,
    rows_after_as_of: u64,
    max_age: crate::project::MaxAge,
    window: &ReportWindow,
) -> SourceFreshness {
    let age_hours = newest.map(|t| (window.as_of_end - t).num_seconds() as f64 / 3600.0);
    let fmt = |t: NaiveDateTime| t.format("%Y-%m-%d %H:%M UTC").to_string();
    let (verdict, message) = if rows == 0 {
        // An empty source already warns ("has no rows"); nothing to date.
        (Verdict::Fresh, None)
    } else if newest.is_none() {
        let first = oldest.map(fmt).unwrap_or_else(|| "no dated row".into());
        let v = if max_age.error.is_some() {
            Verdict::Error
        } else {
            Verdict::Warn
        };
        (
            v,
            Some(format!(
                "source {source} has no {column} up to the end of the as-of day {}: its first is {first}; the as-of day lies before its data",
                window.as_of
            )),
        )
    } else {
        let age = age_hours.unwrap_or(0.0);
        let newest_text = newest.map(fmt).unwrap_or_default();
        let stale = |limit: f64, what: &str| {
            format!(
                "source {source} is stale: its newest {column} is {newest_text}, {} before the end of the as-of day {} ({what} {limit} h)",
                hours_text(age),
                window.as_of
            )
        };
        match (max_age.error, max_age.warn) {
            (Some(e), _) if age > e => (Verdict::Error, Some(stale(e, "error after"))),
            (_, Some(w)) if age > w => (Verdict::Warn, Some(stale(w, "warning after"))),
            _ => match oldest {
                Some(o) if o > window.previous_period_start => (
                    Verdict::Warn,
                    Some(format!(
                        "source {source} starts on {}, after the start of the previous period ({}): changes against the previous period compare with partial data",
                        fmt(o),
                        fmt(window.previous_period_start)
                    )),
                ),
                _ => (Verdict::Fresh, None),
            },
        }
    };
    SourceFreshness {
        source: source.to_string(),
        column: column.to_string(),
        rows,
        oldest,
        newest,
        rows_after_as_of,
        age_hours,
        warn_after_hours: max_age.warn,
        error_after_hours: max_age.error,
        verdict,
        message,
    }
}

/// An age in hours as people say it: "52 h", "5.3 days".
fn hours_text(h: f64) -> String {
    if h < 72.0 {
        format!("{h:.0} h")
    } else {
        format!("{:.1} days", h / 24.0)
    }
}

/// The last day with data, in the report's time zone, when a source with a freshness
/// threshold is past it: what the page header says instead of "data up to `<as-of>`".
///
/// `params` are the bound parameters (`report_tz` is read), `freshness` the sources' records.
pub(crate) fn data_through(
    window: &ReportWindow,
    freshness: &[SourceFreshness],
) -> Option<NaiveDate> {
    freshness
        .iter()
        .filter(|f| {
            f.verdict != Verdict::Fresh
                && f.age_hours
                    .zip(f.warn_after_hours.or(f.error_after_hours))
                    .is_some_and(|(age, limit)| age > limit)
        })
        .filter_map(|f| f.newest)
        .map(|t| window.local_date(t))
        .min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::MaxAge;

    fn t(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap()
    }

    fn window() -> ReportWindow {
        // 30 days up to 2026-10-31 in UTC: the period starts 2026-10-02, the previous one
        // 2026-09-02, and the as-of day ends 2026-11-01 00:00.
        let w = ReportWindow::new(
            chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            chrono_tz::UTC,
            30,
        )
        .unwrap();
        assert_eq!(w.as_of_end, t("2026-11-01 00:00"));
        assert_eq!(w.previous_period_start, t("2026-09-02 00:00"));
        w
    }

    const LIMITS: MaxAge = MaxAge {
        warn: Some(36.0),
        error: Some(168.0),
    };

    #[test]
    fn age_is_measured_from_the_end_of_the_as_of_day() {
        // Newest 2026-10-29 20:00; the as-of day ends 2026-11-01 00:00: 28 h + 24 h = 52 h.
        let f = judge(
            "events",
            "event_time",
            10,
            Some(t("2026-01-01 00:00")),
            Some(t("2026-10-29 20:00")),
            2,
            LIMITS,
            &window(),
        );
        assert_eq!(f.age_hours, Some(52.0));
        assert_eq!(f.verdict, Verdict::Warn);
        assert!(f.message.unwrap().contains("52 h"));
        // 2026-09-26 00:00 is 36 days = 864 h before the end: past 168 h.
        let f = judge(
            "events",
            "event_time",
            10,
            Some(t("2026-01-01 00:00")),
            Some(t("2026-09-26 00:00")),
            0,
            LIMITS,
            &window(),
        );
        assert_eq!((f.age_hours, f.verdict), (Some(864.0), Verdict::Error));
        // Exactly at the threshold is still fine (the limit is "older than").
        let f = judge(
            "events",
            "event_time",
            10,
            Some(t("2026-01-01 00:00")),
            Some(t("2026-10-30 12:00")),
            0,
            LIMITS,
            &window(),
        );
        assert_eq!((f.age_hours, f.verdict), (Some(36.0), Verdict::Fresh));
    }

    #[test]
    fn an_as_of_day_before_the_data_and_partial_coverage() {
        // Every row after the as-of day: no newest value.
        let f = judge(
            "events",
            "event_time",
            10,
            Some(t("2027-01-01 00:00")),
            None,
            10,
            LIMITS,
            &window(),
        );
        assert_eq!(f.verdict, Verdict::Error);
        assert!(f.message.unwrap().contains("lies before its data"));
        // Without an error threshold it only warns.
        let f = judge(
            "spend",
            "date",
            10,
            Some(t("2027-01-01 00:00")),
            None,
            10,
            MaxAge::default(),
            &window(),
        );
        assert_eq!(f.verdict, Verdict::Warn);
        // Fresh, but the data starts after the previous period's start (2026-09-02).
        let f = judge(
            "events",
            "event_time",
            10,
            Some(t("2026-10-10 10:00")),
            Some(t("2026-10-31 20:00")),
            0,
            LIMITS,
            &window(),
        );
        assert_eq!(f.verdict, Verdict::Warn);
        assert!(f.message.unwrap().contains("previous period"));
        // An empty source is left to the "has no rows" warning.
        let f = judge("events", "event_time", 0, None, None, 0, LIMITS, &window());
        assert_eq!(f.verdict, Verdict::Fresh);
    }
}
