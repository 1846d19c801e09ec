//! `[sources.<name>]`: one export ([`SourceConfig`]: path, format, column mapping, types,
//! timestamp format, freshness), the input [`contract`] of the known sources and the
//! freshness defaults of each.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::data_tests::{ColumnTests, DEFAULT_MAX_BAD_ROWS, Threshold, default_tests};

/// File format of a source.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// Comma-separated with a header row; all columns read as text, then typed.
    #[default]
    Csv,
    /// Apache Parquet; typed columns are cast, text columns parsed like CSV.
    Parquet,
}

/// `[sources.<name>]`: one export.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SourceConfig {
    /// A file, a glob pattern, or a folder (every `.csv` / `.parquet` file below it), relative
    /// to the project folder.
    pub(crate) path: String,
    /// `csv` (default) or `parquet`.
    #[serde(default)]
    pub(crate) format: Format,
    /// Canonical column name → the export's column name. Unmapped canonical columns are looked
    /// up under their own name.
    #[serde(default)]
    pub(crate) columns: BTreeMap<String, String>,
    /// Column types for columns outside the input contract (`text`, `timestamp`, `number`),
    /// or to override the contract's.
    #[serde(default)]
    pub(crate) types: BTreeMap<String, ColumnType>,
    /// How timestamps are written: `rfc3339` (default; ISO-8601 with or without offset),
    /// `unix_seconds`, `unix_millis`, or a strftime pattern such as `%Y-%m-%d %H:%M:%S`.
    #[serde(default = "default_ts_format")]
    pub(crate) timestamp_format: String,
    /// IANA time zone of timestamps written without an offset (default UTC).
    #[serde(default = "default_tz")]
    pub(crate) timezone: String,
    /// Field delimiter of a CSV file (default `,`).
    #[serde(default = "default_delimiter")]
    pub(crate) delimiter: char,
    /// Freshness thresholds, in hours between the newest row up to the end of the as-of day
    /// and that end (as dbt's source freshness `warn_after` / `error_after`). Unset: the
    /// defaults of [`default_max_age`]. `max_age_hours = { warn = 36, error = 168 }`; leave
    /// one out to check only the other; `{}` checks nothing (the newest row is still
    /// recorded in the manifest).
    #[serde(default)]
    pub(crate) max_age_hours: Option<MaxAge>,
    /// The timestamp column whose newest value decides freshness (a canonical name). Default:
    /// the contract's time column (`event_time`, `order_time`, `signup_at`, `date`); a source
    /// outside the contract has none unless this is set.
    #[serde(default)]
    pub(crate) freshness_column: Option<String>,
    /// Data tests per canonical column, over the contract's defaults; see
    /// [`crate::project::data_tests`].
    #[serde(default)]
    pub(crate) tests: BTreeMap<String, ColumnTests>,
    /// How many rows may be quarantined before the run fails (exit 3): a count (`0` fails on
    /// the first bad row) or a percentage of the source's rows (`"0.5%"`). Default `"1%"`.
    #[serde(default)]
    pub(crate) max_bad_rows: Option<Threshold>,
}

/// `max_age_hours` of a source: how old its newest row may be, in hours before the end of
/// the as-of day, before the run warns (banner on every page and e-mail, exit 0) or fails
/// (exit 3, the previous report folder left in place).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct MaxAge {
    /// Past this many hours: a warning banner.
    #[serde(default)]
    pub(crate) warn: Option<f64>,
    /// Past this many hours: the run fails with exit 3.
    #[serde(default)]
    pub(crate) error: Option<f64>,
}

/// The freshness thresholds of a contract source when `max_age_hours` is not set: events
/// warn after 36 h and fail after 168 h (7 days; a nightly export a day late warns, a week
/// late stops the report); orders warn after 168 h (a small shop can go days without one);
/// the CRM and the spend export are not checked (sign-ups and spend rows can be sparse).
fn default_max_age(source: &str) -> MaxAge {
    match source {
        "events" => MaxAge {
            warn: Some(36.0),
            error: Some(168.0),
        },
        "transactions" => MaxAge {
            warn: Some(168.0),
            error: None,
        },
        _ => MaxAge::default(),
    }
}

/// The canonical timestamp column of a contract source that freshness is measured on.
fn default_freshness_column(source: &str) -> Option<&'static str> {
    match source {
        "events" => Some("event_time"),
        "transactions" => Some("order_time"),
        "customers" => Some("signup_at"),
        "spend" => Some("date"),
        _ => None,
    }
}

impl SourceConfig {
    /// The data tests of source `name` per canonical column: the contract's
    /// ([`default_tests`]) with this source's `tests` over them, field by field.
    pub(crate) fn column_tests(&self, name: &str) -> BTreeMap<String, ColumnTests> {
        let mut all = default_tests(name);
        for (column, mine) in &self.tests {
            let merged = match all.get(column) {
                Some(base) => mine.over(base),
                None => mine.clone(),
            };
            all.insert(column.clone(), merged);
        }
        all
    }

    /// `max_bad_rows`, or its default (1% of the rows).
    pub(crate) fn max_bad_rows(&self) -> Threshold {
        self.max_bad_rows.unwrap_or(DEFAULT_MAX_BAD_ROWS)
    }

    /// The freshness column and thresholds of source `name`: its own settings, else the
    /// contract's defaults.
    pub(crate) fn freshness(&self, name: &str) -> (Option<String>, MaxAge) {
        let column = self
            .freshness_column
            .clone()
            .or_else(|| default_freshness_column(name).map(String::from));
        (
            column,
            self.max_age_hours.unwrap_or_else(|| default_max_age(name)),
        )
    }
}

fn default_ts_format() -> String {
    "rfc3339".into()
}
fn default_tz() -> String {
    "UTC".into()
}
fn default_delimiter() -> char {
    ','
}

/// The type of a canonical column.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ColumnType {
    /// Utf8; empty strings become NULL.
    Text,
    /// `Timestamp(Nanosecond, None)` holding UTC, read with the source's timestamp format.
    Timestamp,
    /// Float64, e.g. amounts in currency units.
    Number,
}

impl ColumnType {
    /// The Arrow type of a column of this type in a source's canonical view.
    pub(crate) fn data_type(self) -> datafusion::arrow::datatypes::DataType {
        use datafusion::arrow::datatypes::DataType;
        match self {
            ColumnType::Text => DataType::Utf8,
            ColumnType::Timestamp => crate::functions::TIMESTAMP,
            ColumnType::Number => DataType::Float64,
        }
    }
}

/// The input contract: per known source, (canonical column, type, required).
pub(crate) fn contract(source: &str) -> &'static [(&'static str, ColumnType, bool)] {
    use ColumnType::*;
    match source {
        "customers" => &[
            ("customer_id", Text, true),
            ("email", Text, false),
            ("full_name", Text, false),
            ("signup_at", Timestamp, true),
            ("acquisition_channel", Text, false),
            ("country", Text, false),
        ],
        "events" => &[
            ("event_id", Text, true),
            ("customer_id", Text, true),
            ("event_time", Timestamp, true),
            ("event_name", Text, true),
            ("channel", Text, true),
            ("campaign", Text, false),
            ("device", Text, false),
            ("session_id", Text, false),
        ],
        "transactions" => &[
            ("order_id", Text, true),
            ("customer_id", Text, true),
            ("order_time", Timestamp, true),
            ("amount", Number, true),
            ("currency", Text, false),
            ("status", Text, true),
        ],
        "spend" => &[
            ("date", Timestamp, true),
            ("channel", Text, true),
            ("campaign", Text, false),
            ("cost", Number, true),
        ],
        _ => &[],
    }
}

/// Sources of the input contract that a project may leave out: each gets an empty table
/// with its canonical columns, so the bundled models that read it still run (an empty
/// marketing-spend export gives no CAC or ROAS, not an error).
pub(crate) const OPTIONAL_SOURCES: &[&str] = &["spend"];
