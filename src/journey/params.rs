//! The parameters of the bundled SQL models: their documented defaults, and those computed
//! from `--as-of` (the report window).

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

use crate::error::{Error, Result};
use crate::project::{Config, ParamValue};

/// A documented default of a parameter of the bundled SQL models.
#[derive(Debug, Clone, Copy)]
pub(crate) enum DefaultParam {
    /// A whole number (BIGINT).
    Int(i64),
    /// A number (DOUBLE).
    Float(f64),
    /// Text (VARCHAR).
    Text(&'static str),
    /// A flag (BOOLEAN).
    Bool(bool),
}

impl DefaultParam {
    fn to_param(self) -> ParamValue {
        match self {
            DefaultParam::Int(i) => ParamValue::Int(i),
            DefaultParam::Float(f) => ParamValue::Float(f),
            DefaultParam::Text(t) => ParamValue::Text(t.to_string()),
            DefaultParam::Bool(b) => ParamValue::Bool(b),
        }
    }
}

/// The parameters the bundled SQL models read, with their defaults; `[params]` in
/// `journey.toml` and `--param` override them. Units are in the names.
pub(crate) const DEFAULT_PARAMS: &[(&str, DefaultParam)] = &[
    ("report_tz", DefaultParam::Text("UTC")),
    ("period_days", DefaultParam::Int(30)),
    // Attribution and path lookback before an order (GA4's default for acquisition: 30 days).
    ("lookback_days", DefaultParam::Int(30)),
    // Funnel conversion window from the stage-1 event (Mixpanel's default: 7 days).
    ("conversion_window_days", DefaultParam::Int(7)),
    // Inactivity gap that ends an inferred session (GA's 30 minutes).
    ("session_gap_minutes", DefaultParam::Int(30)),
    // A change of channel or campaign starts a new inferred session (GA's rule).
    ("session_split_on_campaign", DefaultParam::Bool(true)),
    ("conversion_event", DefaultParam::Text("purchase")),
    ("top_paths", DefaultParam::Int(20)),
    // Path exploration (GA4 style): forward from one event, backward from another, in steps.
    ("path_start_event", DefaultParam::Text("add_to_cart")),
    ("path_end_event", DefaultParam::Text("purchase")),
    ("path_steps", DefaultParam::Int(4)),
    ("ltv_buckets", DefaultParam::Int(10)),
    ("trend_days", DefaultParam::Int(365)),
    // Time-decay attribution half-life (Mixpanel's and Google Ads' 7 days).
    ("time_decay_half_life_days", DefaultParam::Float(7.0)),
    // Markov-chain attribution order (1: a state is the last channel).
    ("markov_order", DefaultParam::Int(1)),
    // Predictive CLV: horizon, monthly discount rate, the P(alive) below which a valuable
    // customer is listed as at risk, and the holdout days of the calibration check.
    ("clv_horizon_months", DefaultParam::Int(12)),
    ("clv_monthly_discount_rate", DefaultParam::Float(0.01)),
    ("churn_p_alive_threshold", DefaultParam::Float(0.5)),
    ("clv_holdout_days", DefaultParam::Int(90)),
];

/// The parameters computed from `--as-of`: never declared, never overridden.
const COMPUTED_PARAMS: &[&str] = &[
    "as_of",
    "as_of_end",
    "period_start",
    "previous_period_start",
];

/// The days before the end of the as-of day whose sessions make a non-converting journey
/// (the attribution models' journeys without an order); default: `period_days`.
pub(crate) const NON_CONVERTING_WINDOW: &str = "non_converting_window_days";

/// Resolves the parameters: [`DEFAULT_PARAMS`], `[params]`, then `--param`, then the
/// computed ones:
///
/// - `as_of` (DATE): the logical date (default: yesterday in `report_tz`);
/// - `as_of_end` (TIMESTAMP, UTC): the first instant after the as-of day in `report_tz`;
///   data at or after it is ignored, so a backfill sees what it would have seen that night;
/// - `period_start` / `previous_period_start` (TIMESTAMP, UTC): midnight in `report_tz`
///   starting the last `period_days` days up to as-of, and the `period_days` before them.
///
/// `[params]` and `--param` values are read alike and must fit the type of the default
/// ([`ParamValue::coerce`]); `non_converting_window_days` defaults to `period_days`.
///
/// Errors (exit 2): a `--param` naming no declared or default parameter, a value of the
/// wrong type, a computed parameter set, an unknown `report_tz`.
pub(crate) fn resolve_params(
    cfg: &Config,
    overrides: &[(String, String)],
    as_of: Option<NaiveDate>,
) -> Result<(BTreeMap<String, ParamValue>, ReportWindow)> {
    let mut params = BTreeMap::new();
    for (name, value) in DEFAULT_PARAMS {
        params.insert(name.to_string(), value.to_param());
    }
    for (k, v) in &cfg.params {
        if COMPUTED_PARAMS.contains(&k.as_str()) {
            return Err(Error::config(format!(
                "journey.toml: [params] {k} is computed from --as-of; do not declare it"
            )));
        }
        let val = ParamValue::from_toml(k, v)?
            .coerce(k, params.get(k))
            .map_err(|e| Error::config(format!("journey.toml: [params] {}", e.message)))?;
        params.insert(k.clone(), val);
    }
    for (k, v) in overrides {
        if COMPUTED_PARAMS.contains(&k.as_str()) {
            return Err(Error::config(format!(
                "--param {k}: computed from --as-of; pass --as-of instead"
            )));
        }
        if !params.contains_key(k) && k != NON_CONVERTING_WINDOW {
            let known: Vec<_> = params.keys().map(String::as_str).collect();
            return Err(Error::config(format!(
                "--param {k}: no such parameter (declare it under [params] in journey.toml)\n  parameters: {}",
                known.join(", ")
            )));
        }
        let val = ParamValue::parse_cli(k, v, params.get(k))?;
        params.insert(k.clone(), val);
    }
    let tz_name = match params.get("report_tz") {
        Some(ParamValue::Text(t)) => t.clone(),
        None => "UTC".to_string(),
        Some(other) => {
            return Err(Error::config(format!(
                "report_tz must be a time-zone name, got {other:?}"
            )));
        }
    };
    let tz: Tz = tz_name.parse().map_err(|_| {
        Error::config(format!(
            "report_tz {tz_name:?} is not an IANA time zone (e.g. Europe/Berlin)"
        ))
    })?;
    params.insert("report_tz".into(), ParamValue::Text(tz_name));
    let period_days = match params.get("period_days") {
        Some(ParamValue::Int(d)) if *d > 0 => *d as u64,
        None => 30,
        Some(other) => {
            return Err(Error::config(format!(
                "period_days must be a whole number of days ≥ 1, got {other:?}"
            )));
        }
    };
    params
        .entry("period_days".into())
        .or_insert(ParamValue::Int(period_days as i64));
    // Non-converting journeys span the report period unless set otherwise.
    params
        .entry(NON_CONVERTING_WINDOW.into())
        .or_insert(ParamValue::Int(period_days as i64));
    let as_of =
        as_of.unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive() - Days::new(1));
    let window = ReportWindow::new(as_of, tz, period_days)?;
    for (name, value) in window.params() {
        params.insert(name.to_string(), value);
    }
    Ok((params, window))
}

/// The report window, built once from `--as-of`, `report_tz` and `period_days` and handed
/// as it is to the SQL parameters ([`ReportWindow::params`]), the freshness check, the pages
/// and the e-mails. Instants are UTC; days are the report time zone's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ReportWindow {
    /// The logical date of the report: its last day, in `time_zone`.
    pub(crate) as_of: NaiveDate,
    /// `report_tz`: the zone days, hours and weekdays are counted in.
    pub(crate) time_zone: Tz,
    /// Days in the report period (`period_days`, ≥ 1).
    pub(crate) period_days: u64,
    /// `$as_of_end`: the first instant after the as-of day (midnight in `time_zone`), UTC.
    /// Data at or after it is ignored, so a backfill sees what it would have seen that night.
    pub(crate) as_of_end: NaiveDateTime,
    /// `$period_start`: midnight in `time_zone` starting the last `period_days` days up to
    /// the as-of day, UTC.
    pub(crate) period_start: NaiveDateTime,
    /// `$previous_period_start`: the start of the `period_days` before the period, UTC.
    pub(crate) previous_period_start: NaiveDateTime,
}

impl ReportWindow {
    /// The window of `period_days` days ending with `as_of` in `time_zone`.
    ///
    /// Errors (exit 2): a midnight that does not exist in the zone (a day starting with a
    /// daylight-saving jump, as in some zones' history).
    pub(crate) fn new(as_of: NaiveDate, time_zone: Tz, period_days: u64) -> Result<Self> {
        let midnight = |d: NaiveDate| -> Result<NaiveDateTime> {
            let local = d.and_hms_opt(0, 0, 0).expect("midnight");
            let inst = time_zone
                .from_local_datetime(&local)
                .earliest()
                .ok_or_else(|| {
                    Error::config(format!("midnight of {d} does not exist in {time_zone}"))
                })?;
            Ok(inst.naive_utc())
        };
        let start = as_of + Days::new(1) - Days::new(period_days);
        Ok(ReportWindow {
            as_of,
            time_zone,
            period_days,
            as_of_end: midnight(as_of + Days::new(1))?,
            period_start: midnight(start)?,
            previous_period_start: midnight(start - Days::new(period_days))?,
        })
    }

    /// The parameters computed from the window ([`COMPUTED_PARAMS`]), as bound into SQL:
    /// `as_of` (DATE) and `as_of_end`, `period_start`, `previous_period_start` (TIMESTAMP,
    /// UTC).
    pub(crate) fn params(&self) -> [(&'static str, ParamValue); 4] {
        [
            ("as_of", ParamValue::Date(self.as_of)),
            ("as_of_end", ParamValue::Timestamp(self.as_of_end)),
            ("period_start", ParamValue::Timestamp(self.period_start)),
            (
                "previous_period_start",
                ParamValue::Timestamp(self.previous_period_start),
            ),
        ]
    }

    /// The date of the UTC instant `t` in the report's time zone.
    pub(crate) fn local_date(&self, t: NaiveDateTime) -> NaiveDate {
        self.time_zone.from_utc_datetime(&t).date_naive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(tz: &str, period: i64) -> Config {
        toml::from_str(&format!(
            "[params]\nreport_tz = \"{tz}\"\nperiod_days = {period}\nlookback_days = 30\n"
        ))
        .unwrap()
    }

    #[test]
    fn computed_params_follow_the_report_time_zone() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let ts = |s: &str| {
            ParamValue::Timestamp(
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap(),
            )
        };
        let (p, window) =
            resolve_params(&cfg("Europe/Berlin", 90), &[], Some(d("2026-10-31"))).unwrap();
        assert_eq!(window.as_of, d("2026-10-31"));
        assert_eq!(window.time_zone, chrono_tz::Europe::Berlin);
        // The window and the bound parameters are the same values.
        assert_eq!(p["as_of_end"], ParamValue::Timestamp(window.as_of_end));
        assert_eq!(
            p["period_start"],
            ParamValue::Timestamp(window.period_start)
        );
        // 2026-11-01 00:00 in Berlin is CET (UTC+1, DST ended 2026-10-25): 2026-10-31 23:00 UTC.
        assert_eq!(p["as_of_end"], ts("2026-10-31 23:00:00"));
        // 90 days up to 10-31 start on 2026-08-03 00:00 CEST (UTC+2) = 2026-08-02 22:00 UTC.
        assert_eq!(p["period_start"], ts("2026-08-02 22:00:00"));
        // …and the previous 90 days on 2026-05-05 00:00 CEST = 2026-05-04 22:00 UTC.
        assert_eq!(p["previous_period_start"], ts("2026-05-04 22:00:00"));
        // --param overrides keep the declared type.
        let (p, _) = resolve_params(
            &cfg("UTC", 30),
            &[("lookback_days".into(), "14".into())],
            Some(d("2026-10-31")),
        )
        .unwrap();
        assert_eq!(p["lookback_days"], ParamValue::Int(14));
        assert!(
            resolve_params(
                &cfg("UTC", 30),
                &[("lookback_days".into(), "two weeks".into())],
                None
            )
            .is_err()
        );
        assert!(resolve_params(&cfg("Mars/Olympus", 30), &[], None).is_err());
    }
}
