//! Data tests of a source (`[sources.<name>.tests.<column>]`), as dbt has them: `not_null`,
//! `unique`, `accepted_values`, `relationships`, a range (`min` / `max`), each with a
//! `severity`; and the source's `max_bad_rows`. The input contract's own rules are the
//! defaults ([`default_tests`]); a project adds, relaxes or tightens them per column.
//!
//! ```toml
//! [sources.transactions]
//! max_bad_rows = "1%"          # quarantine up to 1% of the rows; more fails the run (exit 3)
//! tests.status = { accepted_values = ["completed", "refunded", "cancelled", "shipped"] }
//! tests.amount = { min = 0, severity = "warn" }
//! tests.customer_id = { relationships = "customers.customer_id", warn_if = "> 2%" }
//! ```
//!
//! What a severity does to a row that fails a row test (`not_null`, `accepted_values`,
//! `min`/`max`, and a value that cannot be read as its column's type):
//!
//! - `error`: the row is **quarantined**: written to `data/rejects/<source>.csv` with its
//!   file, line, column, value and reason, and left out of every model;
//! - `warn`: the row stays; the failures are counted on the data-quality page.
//!
//! `warn_if` / `error_if` (`"> 0"`, `">= 10"`, `"> 0.5%"`) judge a test's failure count, as
//! dbt's conditions do: past `error_if` the run fails (exit 3, the previous report left in
//! place); past `warn_if` (default `> 0`) the page and the log warn.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// What a failing row test does to its row; see the module documentation.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Severity {
    /// The row is quarantined (rejects file) and left out of every model.
    Error,
    /// The row stays and is counted.
    Warn,
}

/// What a `unique` test does with a key held by several rows that differ (rows that are the
/// same in every column are always dropped down to one, and counted).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub(crate) enum OnConflict {
    /// Every row of the key is quarantined: nobody can say which is right (the default).
    #[default]
    Reject,
    /// The row with the greatest value of `latest_by` is kept, the others are dropped and
    /// counted.
    KeepLatest,
    /// Nothing is done here; the models resolve it (events: `stg_events_distinct` keeps one
    /// row per `event_id`). The duplicates are counted.
    Keep,
}

/// A bound on a failure count: `> N`, `>= N`, `> P%`, `>= P%` (P of the source's rows). A
/// bare number is `> N`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub(crate) struct Threshold {
    /// The limit: a count, or a percentage of the rows when `percent`.
    pub(crate) limit: f64,
    /// Whether `limit` is a percentage.
    pub(crate) percent: bool,
    /// `>=` rather than `>`.
    pub(crate) inclusive: bool,
}

impl Threshold {
    /// Zero failures allowed: `> 0`.
    pub(crate) const NONE_ALLOWED: Threshold = Threshold {
        limit: 0.0,
        percent: false,
        inclusive: false,
    };

    /// Whether `failures` of `rows` pass the bound.
    pub(crate) fn passed(&self, failures: u64, rows: u64) -> bool {
        let x = if self.percent {
            if rows == 0 {
                return false;
            }
            failures as f64 * 100.0 / rows as f64
        } else {
            failures as f64
        };
        if self.inclusive {
            x >= self.limit
        } else {
            x > self.limit
        }
    }

    /// Reads `"> 0.1%"`, `">= 10"`, `"5"`, `"1%"`.
    ///
    /// Errors: the text, when it is none of these.
    pub(crate) fn parse(text: &str) -> Result<Self, String> {
        let t = text.trim();
        let (inclusive, rest) = if let Some(r) = t.strip_prefix(">=") {
            (true, r)
        } else if let Some(r) = t.strip_prefix('>') {
            (false, r)
        } else {
            (false, t)
        };
        let rest = rest.trim();
        let (num, percent) = match rest.strip_suffix('%') {
            Some(n) => (n.trim(), true),
            None => (rest, false),
        };
        match num.parse::<f64>() {
            Ok(limit) if limit.is_finite() && limit >= 0.0 => Ok(Threshold {
                limit,
                percent,
                inclusive,
            }),
            _ => Err(format!(
                "{text:?} is not a threshold: expected a count or a percentage, such as \"> 0\", \">= 10\" or \"> 0.5%\""
            )),
        }
    }
}

impl std::fmt::Display for Threshold {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let op = if self.inclusive { ">=" } else { ">" };
        let pct = if self.percent { "%" } else { "" };
        write!(f, "{op} {}{pct}", self.limit)
    }
}

impl<'de> Deserialize<'de> for Threshold {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Count(u64),
            Text(String),
        }
        match Raw::deserialize(d)? {
            Raw::Count(n) => Ok(Threshold {
                limit: n as f64,
                percent: false,
                inclusive: false,
            }),
            Raw::Text(t) => Threshold::parse(&t).map_err(serde::de::Error::custom),
        }
    }
}

/// A bound of a range test: a number, or a timestamp written as text (RFC 3339 or a date).
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(untagged)]
pub(crate) enum Bound {
    /// For a number column.
    Number(f64),
    /// For a timestamp column: `2000-01-01` or `2000-01-01T00:00:00Z`, read as UTC.
    Text(String),
}

/// `[sources.<name>.tests.<column>]`: the tests of one canonical column. Every field left
/// out keeps the default of [`default_tests`]; `false` (or an empty list) turns a default off.
#[derive(Debug, Clone, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub(crate) struct ColumnTests {
    /// Every row has a value (not NULL, not empty text).
    pub(crate) not_null: Option<bool>,
    /// No two rows share a value; see [`OnConflict`] for rows that differ.
    pub(crate) unique: Option<bool>,
    /// For `unique`: what to do with a key held by rows that differ.
    pub(crate) on_conflict: Option<OnConflict>,
    /// For `on_conflict = "keep_latest"`: the canonical column whose greatest value wins.
    pub(crate) latest_by: Option<String>,
    /// The only values allowed (compared after trimming spaces, in any case).
    pub(crate) accepted_values: Option<Vec<String>>,
    /// `other_source.column`: every value occurs there (dbt's `relationships`).
    pub(crate) relationships: Option<String>,
    /// Smallest value allowed (inclusive).
    pub(crate) min: Option<Bound>,
    /// Largest value allowed (inclusive).
    pub(crate) max: Option<Bound>,
    /// `error` (quarantine the row) or `warn` (keep it); see [`Severity`].
    pub(crate) severity: Option<Severity>,
    /// Past this failure count the page and log warn (default `> 0`).
    pub(crate) warn_if: Option<Threshold>,
    /// Past this failure count the run fails (exit 3). Default: never for `warn` tests.
    pub(crate) error_if: Option<Threshold>,
}

impl ColumnTests {
    /// `self` over `base`: every field set here wins.
    pub(crate) fn over(&self, base: &ColumnTests) -> ColumnTests {
        ColumnTests {
            not_null: self.not_null.or(base.not_null),
            unique: self.unique.or(base.unique),
            on_conflict: self.on_conflict.or(base.on_conflict),
            latest_by: self.latest_by.clone().or_else(|| base.latest_by.clone()),
            accepted_values: self
                .accepted_values
                .clone()
                .or_else(|| base.accepted_values.clone()),
            relationships: self
                .relationships
                .clone()
                .or_else(|| base.relationships.clone()),
            min: self.min.clone().or_else(|| base.min.clone()),
            max: self.max.clone().or_else(|| base.max.clone()),
            severity: self.severity.or(base.severity),
            warn_if: self.warn_if.or(base.warn_if),
            error_if: self.error_if.or(base.error_if),
        }
    }
}

/// The contract's own rules for source `name`, per canonical column:
///
/// | source | column | tests (severity) |
/// |---|---|---|
/// | customers | customer_id | not_null, unique with conflicts rejected (error) |
/// | customers | signup_at | between 1990-01-01 and 2100-01-01 (error) |
/// | events | event_id, event_name | not_null (error) |
/// | events | customer_id | not_null (error); relationships to customers.customer_id (warn past 1%) |
/// | events | event_time | not_null, between 1990-01-01 and 2100-01-01 (error) |
/// | transactions | order_id | not_null (error); unique, kept for `stg_orders` to resolve (warn) |
/// | transactions | customer_id | not_null (error); relationships to customers.customer_id (warn past 1%) |
/// | transactions | order_time | not_null, between 1990-01-01 and 2100-01-01 (error) |
/// | transactions | status | not_null, accepted_values completed, refunded, cancelled (error) |
/// | spend | date | not_null, between 1990-01-01 and 2100-01-01 (error) |
/// | spend | channel | not_null (error) |
/// | spend | cost | min 0 (warn) |
///
/// An event's duplicate `event_id` and an order's duplicate `order_id` are left to the
/// bundled models, which have always resolved them (`stg_events_distinct`, `stg_orders`:
/// one row per id, by a rule stated in each file). The source layer counts an order's;
/// counting an event's would group every event once more (at 10 million events, longer than
/// the model that drops them), so a project that wants the count sets
/// `tests.event_id = { unique = true, on_conflict = "keep" }`.
pub(crate) fn default_tests(name: &str) -> BTreeMap<String, ColumnTests> {
    let key = || ColumnTests {
        not_null: Some(true),
        severity: Some(Severity::Error),
        ..Default::default()
    };
    let dated = || ColumnTests {
        not_null: Some(true),
        min: Some(Bound::Text("1990-01-01".into())),
        max: Some(Bound::Text("2100-01-01".into())),
        severity: Some(Severity::Error),
        ..Default::default()
    };
    // Some events and orders of customers missing from the CRM are usual (a CRM export
    // taken before the last sign-ups): counted always, a warning past 1%.
    let customer = || ColumnTests {
        not_null: Some(true),
        relationships: Some("customers.customer_id".into()),
        severity: Some(Severity::Error),
        warn_if: Some(Threshold {
            limit: 1.0,
            percent: true,
            inclusive: false,
        }),
        ..Default::default()
    };
    let mut t = BTreeMap::new();
    match name {
        "customers" => {
            t.insert(
                "customer_id".into(),
                ColumnTests {
                    unique: Some(true),
                    on_conflict: Some(OnConflict::Reject),
                    ..key()
                },
            );
            t.insert(
                "signup_at".into(),
                ColumnTests {
                    not_null: None,
                    ..dated()
                },
            );
        }
        "events" => {
            t.insert("event_id".into(), key());
            t.insert("event_name".into(), key());
            t.insert("customer_id".into(), customer());
            t.insert("event_time".into(), dated());
        }
        "transactions" => {
            t.insert(
                "order_id".into(),
                ColumnTests {
                    unique: Some(true),
                    on_conflict: Some(OnConflict::Keep),
                    ..key()
                },
            );
            t.insert("customer_id".into(), customer());
            t.insert("order_time".into(), dated());
            t.insert(
                "status".into(),
                ColumnTests {
                    accepted_values: Some(vec![
                        "completed".into(),
                        "refunded".into(),
                        "cancelled".into(),
                    ]),
                    ..key()
                },
            );
        }
        "spend" => {
            t.insert("date".into(), dated());
            t.insert("channel".into(), key());
            t.insert(
                "cost".into(),
                ColumnTests {
                    min: Some(Bound::Number(0.0)),
                    severity: Some(Severity::Warn),
                    ..Default::default()
                },
            );
        }
        _ => {}
    }
    t
}

/// The default `max_bad_rows` of a source: quarantine up to 1% of its rows.
pub(crate) const DEFAULT_MAX_BAD_ROWS: Threshold = Threshold {
    limit: 1.0,
    percent: true,
    inclusive: false,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_read_counts_and_percentages() {
        let t = Threshold::parse("> 0.1%").unwrap();
        // 0.1% of 79,603 rows is 79.6: 79 failures pass no bound, 80 do.
        assert!(!t.passed(79, 79_603));
        assert!(t.passed(80, 79_603));
        let t = Threshold::parse(">= 10").unwrap();
        assert!(!t.passed(9, 100) && t.passed(10, 100));
        let t = Threshold::parse("5").unwrap();
        assert!(!t.passed(5, 100) && t.passed(6, 100));
        assert_eq!(Threshold::parse("1%").unwrap(), DEFAULT_MAX_BAD_ROWS);
        assert!(Threshold::parse("some").is_err() && Threshold::parse("-1").is_err());
        // No rows: no percentage can pass.
        assert!(!DEFAULT_MAX_BAD_ROWS.passed(0, 0));
    }

    #[test]
    fn a_project_setting_wins_field_by_field() {
        let base = default_tests("transactions")["status"].clone();
        let mine = ColumnTests {
            accepted_values: Some(vec!["completed".into(), "shipped".into()]),
            ..Default::default()
        };
        let t = mine.over(&base);
        assert_eq!(t.accepted_values.unwrap().len(), 2);
        assert_eq!(t.not_null, Some(true));
        assert_eq!(t.severity, Some(Severity::Error));
    }
}
