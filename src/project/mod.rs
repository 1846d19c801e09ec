//! `journey.toml`: the project file, read strictly (an unknown key is an error).
//!
//! ```toml
//! [project]
//! title = "Acme — customer journeys"
//! currency = "EUR"
//!
//! [params]                      # typed SQL parameters, `$name` in the models
//! report_tz = "Europe/Berlin"
//! lookback_days = 30
//!
//! [sources.events]
//! path = "sample-data/events.csv" # file, glob (`exports/events-*.csv`) or folder
//! format = "csv"                  # csv | parquet
//! timestamp_format = "rfc3339"    # rfc3339 | unix_seconds | unix_millis | strftime pattern
//! timezone = "UTC"                # for timestamps written without an offset
//! columns = { customer_id = "user_id", event_time = "event_timestamp" }  # canonical = export's
//!
//! [funnel]
//! stages = [{ name = "Visit", events = ["page_view"] }, …]
//!
//! [models.stg_events]
//! materialize = "parquet"          # auto (default) | memory | parquet | view
//! data_file = "parquet"            # csv (default) | parquet | none: the file in data/
//!
//! [[reports]]
//! name = "funnel"                  # writes funnel.html from templates/funnel.html
//! title = "Conversion funnel"
//! ```

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The whole project file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Title, currency, output folder.
    #[serde(default)]
    pub project: ProjectSection,
    /// SQL parameters by name (without `$`), typed by their TOML type.
    #[serde(default)]
    pub params: BTreeMap<String, toml::Value>,
    /// Declared sources by table name.
    #[serde(default)]
    pub sources: BTreeMap<String, SourceConfig>,
    /// The ordered funnel stages.
    #[serde(default)]
    pub funnel: FunnelConfig,
    /// Per-model settings by model name (file stem in `sql/`).
    #[serde(default)]
    pub models: BTreeMap<String, ModelConfig>,
    /// The report pages, in the order of the navigation.
    #[serde(default)]
    pub reports: Vec<ReportConfig>,
    /// E-mail form and delivery.
    #[serde(default)]
    pub email: EmailConfig,
}

/// `[email]`: how the e-mail form of the reports is addressed and when it may be sent. SMTP
/// host, port and credentials never live here: they come from the environment (see the
/// README, `JOURNEY_SMTP_*`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    /// Sender address, e.g. `"Journey reports <reports@acme.example>"`.
    #[serde(default = "default_from")]
    pub from: String,
    /// Recipients of the digest: one e-mail a night each, the executive summary with a link
    /// to every page and the headline number in the subject. A page's own e-mail goes only to
    /// the addresses in its report's `recipients` (opt-in).
    #[serde(default)]
    pub to: Vec<String>,
    /// Where the report folders are published (e.g. `https://reports.acme.example/journeys`);
    /// when set, each e-mail links to `<base_url>/<as-of>/<report>.html` and its relative
    /// links become absolute under `<base_url>/<as-of>/`. Without it, the e-mails carry no
    /// links (a recipient could not follow them). Must start with `http://` or `https://`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Deprecated: the error threshold of the events source's freshness (use
    /// `[sources.events] max_age_hours = { error = … }`). When set, and the events source sets
    /// no `max_age_hours` of its own, a run whose newest event is more than this many hours
    /// older than the end of the as-of day fails with exit 3.
    #[serde(default)]
    pub max_input_age_hours: Option<f64>,
}

fn default_from() -> String {
    "journey-report <journey-report@localhost>".into()
}

impl Default for EmailConfig {
    fn default() -> Self {
        EmailConfig {
            from: default_from(),
            to: Vec::new(),
            base_url: None,
            max_input_age_hours: None,
        }
    }
}

/// `[project]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSection {
    /// Shown at the top of every page.
    #[serde(default = "default_title")]
    pub title: String,
    /// ISO 4217 code of the `amount` column, used to label money (e.g. "EUR").
    #[serde(default = "default_currency")]
    pub currency: String,
    /// Folder (relative to the project) under which `run` writes `<as-of>/`.
    #[serde(default = "default_output")]
    pub output_dir: PathBuf,
    /// `true`: a model that fails on the data fails the run (exit 4), as `run --fail-fast`
    /// does. `false` (default): its analyses are marked unavailable with the reason, the rest
    /// of the report is written, and the run exits 6 (partial).
    #[serde(default)]
    pub fail_fast: bool,
}

fn default_title() -> String {
    "Customer journey report".into()
}
fn default_currency() -> String {
    "EUR".into()
}
fn default_output() -> PathBuf {
    PathBuf::from("reports")
}

impl Default for ProjectSection {
    fn default() -> Self {
        ProjectSection {
            title: default_title(),
            currency: default_currency(),
            output_dir: default_output(),
            fail_fast: false,
        }
    }
}

/// File format of a source.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Comma-separated with a header row; all columns read as text, then typed.
    #[default]
    Csv,
    /// Apache Parquet; typed columns are cast, text columns parsed like CSV.
    Parquet,
}

/// `[sources.<name>]`: one export.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// A file, a glob pattern, or a folder (every `.csv` / `.parquet` file below it), relative
    /// to the project folder.
    pub path: String,
    /// `csv` (default) or `parquet`.
    #[serde(default)]
    pub format: Format,
    /// Canonical column name → the export's column name. Unmapped canonical columns are looked
    /// up under their own name.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Column types for columns outside the input contract (`text`, `timestamp`, `number`),
    /// or to override the contract's.
    #[serde(default)]
    pub types: BTreeMap<String, ColumnType>,
    /// How timestamps are written: `rfc3339` (default; ISO-8601 with or without offset),
    /// `unix_seconds`, `unix_millis`, or a strftime pattern such as `%Y-%m-%d %H:%M:%S`.
    #[serde(default = "default_ts_format")]
    pub timestamp_format: String,
    /// IANA time zone of timestamps written without an offset (default UTC).
    #[serde(default = "default_tz")]
    pub timezone: String,
    /// Field delimiter of a CSV file (default `,`).
    #[serde(default = "default_delimiter")]
    pub delimiter: char,
    /// Freshness thresholds, in hours between the newest row up to the end of the as-of day
    /// and that end (as dbt's source freshness `warn_after` / `error_after`). Unset: the
    /// defaults of [`default_max_age`]. `max_age_hours = { warn = 36, error = 168 }`; leave
    /// one out to check only the other; `{}` checks nothing (the newest row is still
    /// recorded in the manifest).
    #[serde(default)]
    pub max_age_hours: Option<MaxAge>,
    /// The timestamp column whose newest value decides freshness (a canonical name). Default:
    /// the contract's time column (`event_time`, `order_time`, `signup_at`, `date`); a source
    /// outside the contract has none unless this is set.
    #[serde(default)]
    pub freshness_column: Option<String>,
}

/// `max_age_hours` of a source: how old its newest row may be, in hours before the end of
/// the as-of day, before the run warns (banner on every page and e-mail, exit 0) or fails
/// (exit 3, the previous report folder left in place).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields)]
pub struct MaxAge {
    /// Past this many hours: a warning banner.
    #[serde(default)]
    pub warn: Option<f64>,
    /// Past this many hours: the run fails with exit 3.
    #[serde(default)]
    pub error: Option<f64>,
}

/// The freshness thresholds of a contract source when `max_age_hours` is not set: events
/// warn after 36 h and fail after 168 h (7 days; a nightly export a day late warns, a week
/// late stops the report); orders warn after 168 h (a small shop can go days without one);
/// the CRM and the spend export are not checked (sign-ups and spend rows can be sparse).
pub fn default_max_age(source: &str) -> MaxAge {
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
pub fn default_freshness_column(source: &str) -> Option<&'static str> {
    match source {
        "events" => Some("event_time"),
        "transactions" => Some("order_time"),
        "customers" => Some("signup_at"),
        "spend" => Some("date"),
        _ => None,
    }
}

impl SourceConfig {
    /// The freshness column and thresholds of source `name`: its own settings, else the
    /// contract's defaults.
    pub fn freshness(&self, name: &str) -> (Option<String>, MaxAge) {
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
pub enum ColumnType {
    /// Utf8; empty strings become NULL.
    Text,
    /// `Timestamp(Nanosecond, None)` holding UTC, read with the source's timestamp format.
    Timestamp,
    /// Float64, e.g. amounts in currency units.
    Number,
}

impl ColumnType {
    /// The Arrow type of a column of this type in a source's canonical view.
    pub fn data_type(self) -> datafusion::arrow::datatypes::DataType {
        use datafusion::arrow::datatypes::DataType;
        match self {
            ColumnType::Text => DataType::Utf8,
            ColumnType::Timestamp => crate::functions::TIMESTAMP,
            ColumnType::Number => DataType::Float64,
        }
    }
}

/// `[funnel]`.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FunnelConfig {
    /// Ordered stages; a customer reaches stage k when an event of stage k follows stage k−1.
    #[serde(default)]
    pub stages: Vec<FunnelStage>,
}

/// One funnel stage: a display name and the event names that count for it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct FunnelStage {
    /// Shown in reports (e.g. "Added to cart").
    pub name: String,
    /// `event_name` values of this stage (one or more).
    pub events: Vec<String>,
}

/// How a model's result is kept for the models that read it.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum Materialize {
    /// Computed once and held in memory, whatever its size.
    Memory,
    /// Computed once and streamed to a Parquet work file, read back by dependants: for
    /// staging models over large event tables, never held whole in memory.
    Parquet,
    /// Not stored: inlined into every dependant's plan (recomputed each time).
    View,
    /// Held in memory while it stays under a budget (2 GiB without a limit; under
    /// `--memory-limit`, an eighth of it for all the models held in memory together); past
    /// it, streamed on to a Parquet work file instead. For staging models whose size follows
    /// the input: memory at 10 million events, a work file at 100 million. The default.
    #[default]
    Auto,
}

/// `[models.<name>]`.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// See [`Materialize`].
    #[serde(default)]
    pub materialize: Materialize,
    /// Also write one CSV per distinct value of this column, `data/<value>.csv` (the value
    /// made file-safe: letters, digits, `_` and `-`; rows where it is NULL go to none), e.g.
    /// the follow-up list of each funnel stage's drop-offs.
    #[serde(default)]
    pub split_csv_by: Option<String>,
    /// See [`DataFile`].
    #[serde(default)]
    pub data_file: DataFile,
}

/// The format of a model's file in the run folder's `data/`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub enum DataFile {
    /// `data/<model>.csv` with a header (default): opens in a spreadsheet.
    #[default]
    Csv,
    /// `data/<model>.parquet`: for staging models with millions of rows, where a CSV would
    /// be gigabytes that no spreadsheet opens and take longer to write than the model to
    /// compute. With `materialize = "parquet"` the work file itself is kept (no second write)
    /// when the model's query has its own `ORDER BY` (else the file is written sorted by all
    /// columns, see [`crate::report::data_files`]).
    Parquet,
    /// No file: an intermediate step nobody reads on its own (it can still be queried with
    /// `journey-report query`).
    None,
}

/// `[[reports]]`: one HTML page.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ReportConfig {
    /// File stem of the page (`<name>.html`), used by `--report`.
    pub name: String,
    /// Page title and navigation label.
    pub title: String,
    /// Template file under `templates/` (default `<name>.html`).
    #[serde(default)]
    pub template: Option<String>,
    /// One line shown under the title in the executive summary.
    #[serde(default)]
    pub summary: Option<String>,
    /// Addresses that opted in to this page's own e-mail (each gets its own message with
    /// `run --send`), in addition to the digest `[email] to` receives.
    #[serde(default)]
    pub recipients: Vec<String>,
}

impl ReportConfig {
    /// The template file name.
    pub fn template_name(&self) -> String {
        self.template
            .clone()
            .unwrap_or_else(|| format!("{}.html", self.name))
    }
}

/// A typed parameter value, bound into SQL as a literal of its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// BIGINT.
    Int(i64),
    /// DOUBLE.
    Float(f64),
    /// VARCHAR.
    Text(String),
    /// DATE.
    Date(NaiveDate),
    /// TIMESTAMP (UTC).
    Timestamp(chrono::NaiveDateTime),
    /// BOOLEAN.
    Bool(bool),
}

impl ParamValue {
    /// Converts a TOML value (`30`, `0.5`, `"Europe/Berlin"`, `2026-10-31`, `true`).
    pub fn from_toml(name: &str, v: &toml::Value) -> Result<Self> {
        Ok(match v {
            toml::Value::Integer(i) => ParamValue::Int(*i),
            toml::Value::Float(f) => ParamValue::Float(*f),
            toml::Value::String(s) => ParamValue::Text(s.clone()),
            toml::Value::Boolean(b) => ParamValue::Bool(*b),
            toml::Value::Datetime(d) => match (d.date, d.time) {
                (Some(date), None) => ParamValue::Date(
                    NaiveDate::from_ymd_opt(date.year as i32, date.month as u32, date.day as u32)
                        .ok_or_else(|| {
                        Error::config(format!("journey.toml: [params] {name}: invalid date {d}"))
                    })?,
                ),
                _ => {
                    return Err(Error::config(format!(
                        "journey.toml: [params] {name}: only dates (2026-10-31) are supported, got {d}"
                    )));
                }
            },
            other => {
                return Err(Error::config(format!(
                    "journey.toml: [params] {name}: expected a number, text, date or boolean, got {other}"
                )));
            }
        })
    }

    /// Reads a `--param NAME=VALUE` value with the TOML value syntax that `[params]` uses
    /// (`14`, `0.5`, `true`, `2026-10-31`, `"text"`); anything that is not a TOML value is
    /// text (`Europe/Berlin`, `purchase`). Then [`ParamValue::coerce`]s it like a `[params]`
    /// value, so both places accept the same values.
    ///
    /// Errors (exit 2): as [`ParamValue::coerce`].
    pub fn parse_cli(name: &str, text: &str, like: Option<&ParamValue>) -> Result<Self> {
        let value = toml::from_str::<toml::Table>(&format!("v = {text}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !matches!(v, toml::Value::Array(_) | toml::Value::Table(_)))
            .unwrap_or_else(|| toml::Value::String(text.to_string()));
        let v = ParamValue::from_toml(name, &value)
            .map_err(|e| Error::config(format!("--param {name}={text}: {}", e.message)))?;
        v.coerce(name, like)
            .map_err(|e| Error::config(format!("--param {name}={text}: {}", e.message)))
    }

    /// Checks a value against the type of the parameter's default or declaration `like`: a
    /// whole number where a number is expected becomes DOUBLE, a number where a whole number
    /// is expected stays DOUBLE (`conversion_window_days = 0.5`), a value where text is
    /// expected is its text; any other mismatch is an error.
    ///
    /// Errors (exit 2): e.g. text where a number is expected (`lookback_days = "two weeks"`).
    pub fn coerce(self, name: &str, like: Option<&ParamValue>) -> Result<Self> {
        use ParamValue::*;
        let err = |what: &str| {
            Error::config(format!(
                "parameter {name}: expected {what}, got {}",
                self.type_name()
            ))
        };
        Ok(match (like, &self) {
            (None, _) => self,
            (Some(Int(_)), Int(_) | Float(_)) | (Some(Float(_)), Float(_)) => self,
            (Some(Float(_)), Int(i)) => Float(*i as f64),
            (Some(Int(_)), _) => return Err(err("a whole number")),
            (Some(Float(_)), _) => return Err(err("a number")),
            (Some(Bool(_)), Bool(_)) => self,
            (Some(Bool(_)), _) => return Err(err("true or false")),
            (Some(Date(_)), Date(_)) => self,
            (Some(Date(_)), _) => return Err(err("a date such as 2026-10-31")),
            (Some(Timestamp(_)), _) => {
                return Err(Error::config(format!(
                    "parameter {name} is computed from --as-of and cannot be set"
                )));
            }
            (Some(Text(_)), Text(_)) => self,
            (Some(Text(_)), other) => Text(other.text()),
        })
    }

    /// The name of this value's type, for messages.
    fn type_name(&self) -> String {
        match self {
            ParamValue::Int(i) => format!("the whole number {i}"),
            ParamValue::Float(f) => format!("the number {f}"),
            ParamValue::Text(t) => format!("the text {t:?}"),
            ParamValue::Date(d) => format!("the date {d}"),
            ParamValue::Timestamp(t) => format!("the timestamp {t}"),
            ParamValue::Bool(b) => format!("{b}"),
        }
    }

    /// The value as plain text (as a template shows it).
    fn text(&self) -> String {
        match self {
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Float(f) => f.to_string(),
            ParamValue::Text(t) => t.clone(),
            ParamValue::Date(d) => d.to_string(),
            ParamValue::Timestamp(t) => t.to_string(),
            ParamValue::Bool(b) => b.to_string(),
        }
    }

    /// The SQL literal expression text for this value (strings quoted with `'` doubled).
    pub fn sql_literal(&self) -> String {
        match self {
            ParamValue::Int(i) => format!("CAST({i} AS BIGINT)"),
            ParamValue::Float(f) => format!("CAST({f:?} AS DOUBLE)"),
            ParamValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
            ParamValue::Date(d) => format!("DATE '{d}'"),
            ParamValue::Timestamp(t) => {
                format!("CAST('{}' AS TIMESTAMP)", t.format("%Y-%m-%dT%H:%M:%S"))
            }
            ParamValue::Bool(b) => b.to_string(),
        }
    }
}

impl Config {
    /// Reads and validates `<project>/journey.toml`.
    ///
    /// Errors (exit 2): the file is missing or not valid TOML, an unknown key (with its line),
    /// a funnel stage without events, an event name in two stages, duplicate report names, a
    /// source's `timestamp_format` that is neither a named format nor a valid strftime
    /// pattern, or an unknown `timezone`.
    pub fn load(project: &Path) -> Result<Config> {
        let path = project.join("journey.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::config(format!(
                "{}: cannot read the project file: {e}",
                path.display()
            ))
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|e| {
            Error::config(format!("{}: {}", path.display(), e.to_string().trim_end()))
        })?;
        cfg.validate(&path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let p = path.display();
        let mut seen = BTreeMap::new();
        for (i, s) in self.funnel.stages.iter().enumerate() {
            if s.events.is_empty() {
                return Err(Error::config(format!(
                    "{p}: [funnel] stage {} ({:?}) lists no events",
                    i + 1,
                    s.name
                )));
            }
            for e in &s.events {
                if let Some(prev) = seen.insert(e.clone(), s.name.clone()) {
                    return Err(Error::config(format!(
                        "{p}: [funnel] event {e:?} is in two stages ({prev:?} and {:?})",
                        s.name
                    )));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &self.reports {
            if r.name == "index" {
                return Err(Error::config(format!(
                    "{p}: [[reports]] name \"index\" is reserved for the executive summary"
                )));
            }
            if !names.insert(r.name.clone()) {
                return Err(Error::config(format!(
                    "{p}: [[reports]] name {:?} appears twice",
                    r.name
                )));
            }
        }
        for (name, src) in &self.sources {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::config(format!(
                    "{p}: [sources.{name}]: a source name must be letters, digits and _"
                )));
            }
            if let Err(why) = check_timestamp_format(&src.timestamp_format) {
                return Err(Error::config(format!(
                    "{p}: [sources.{name}] timestamp_format {:?}: {why}\n  expected rfc3339, unix_seconds, unix_millis or a strftime pattern such as \"%Y-%m-%d %H:%M:%S\" (chrono's specifiers: https://docs.rs/chrono/latest/chrono/format/strftime/)",
                    src.timestamp_format
                )));
            }
            if src.timezone.parse::<chrono_tz::Tz>().is_err() {
                return Err(Error::config(format!(
                    "{p}: [sources.{name}] timezone {:?} is not an IANA time zone",
                    src.timezone
                )));
            }
        }
        for (k, v) in &self.params {
            ParamValue::from_toml(k, v)?;
        }
        if let Some(url) = &self.email.base_url
            && !(url.starts_with("https://") || url.starts_with("http://"))
        {
            return Err(Error::config(format!(
                "{p}: [email] base_url {url:?}: expected an absolute URL starting with https:// (the e-mails' links are made from it)"
            )));
        }
        Ok(())
    }
}

/// Checks a source's `timestamp_format`: one of the named formats (`rfc3339`, `iso8601`,
/// `unix_seconds`, `unix_millis`), or a strftime pattern chrono can read.
///
/// Errors: what is wrong with the pattern, in words (an unknown or incomplete specifier such
/// as `%Q` or a trailing `%`), for the configuration error (exit 2) of [`Config::load`].
pub fn check_timestamp_format(format: &str) -> std::result::Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if matches!(
        format,
        "rfc3339" | "iso8601" | "unix_seconds" | "unix_millis"
    ) {
        return Ok(());
    }
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(
            "not a strftime pattern chrono can read (an unknown or incomplete % specifier)".into(),
        );
    }
    if !format.contains('%') {
        return Err("neither a named format nor a strftime pattern (no % specifier)".into());
    }
    Ok(())
}

/// The input contract: per known source, (canonical column, type, required).
pub fn contract(source: &str) -> &'static [(&'static str, ColumnType, bool)] {
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
pub const OPTIONAL_SOURCES: &[&str] = &["spend"];

#[cfg(test)]
mod tests {
    use super::*;

    /// `Config::load` of a project whose journey.toml is `text`.
    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("journey.toml"), text).unwrap();
        Config::load(dir.path())
    }

    /// The configuration error (exit 2) of `text`, its message after the file's path.
    fn refused(text: &str) -> String {
        let e = load(text).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config, "{}", e.message);
        let (_, message) = e.message.split_once("journey.toml: ").unwrap();
        message.to_string()
    }

    #[test]
    fn a_minimal_project_file_takes_the_defaults() {
        let cfg = load("[sources.events]\npath = \"events.csv\"\n").unwrap();
        assert_eq!(cfg.project.title, "Customer journey report");
        assert_eq!(cfg.project.currency, "EUR");
        assert_eq!(cfg.project.output_dir, PathBuf::from("reports"));
        assert!(!cfg.project.fail_fast);
        assert!(cfg.params.is_empty() && cfg.funnel.stages.is_empty());
        assert!(cfg.models.is_empty() && cfg.reports.is_empty());
        assert_eq!(cfg.email.from, "journey-report <journey-report@localhost>");
        assert!(cfg.email.to.is_empty() && cfg.email.base_url.is_none());
        let events = &cfg.sources["events"];
        assert_eq!(events.path, "events.csv");
        assert_eq!(events.format, Format::Csv);
        assert_eq!(events.timestamp_format, "rfc3339");
        assert_eq!(events.timezone, "UTC");
        assert_eq!(events.delimiter, ',');
        assert!(events.columns.is_empty() && events.types.is_empty());
        // No max_age_hours: the contract's thresholds for events, 36 h and 168 h.
        assert_eq!(events.max_age_hours, None);
        assert_eq!(
            events.freshness("events"),
            (
                Some("event_time".to_string()),
                MaxAge {
                    warn: Some(36.0),
                    error: Some(168.0)
                }
            )
        );
        // A model named without settings: kept as `auto`, its data file a CSV.
        let cfg = load("[models.funnel]\n").unwrap();
        assert_eq!(cfg.models["funnel"].materialize, Materialize::Auto);
        assert_eq!(cfg.models["funnel"].data_file, DataFile::Csv);
        assert_eq!(cfg.models["funnel"].split_csv_by, None);
        // A report's template is <name>.html unless set.
        let cfg = load("[[reports]]\nname = \"funnel\"\ntitle = \"Funnel\"\n").unwrap();
        assert_eq!(cfg.reports[0].template_name(), "funnel.html");
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let message = refused("[project]\ntitel = \"Acme\"\n");
        assert!(message.contains("unknown field `titel`"), "{message}");
        // With the line it is on.
        assert!(message.contains("line 2"), "{message}");
        let message = refused("[sources.events]\npath = \"e.csv\"\nseparator = \";\"\n");
        assert!(message.contains("unknown field `separator`"), "{message}");
    }

    #[test]
    fn a_bad_max_age_is_refused() {
        for (bad, what) in [
            // A number where the thresholds go.
            ("max_age_hours = 36", "expected struct MaxAge"),
            // Text where hours go.
            ("max_age_hours = { warn = \"soon\" }", "expected f64"),
            // A threshold that does not exist.
            ("max_age_hours = { later = 3 }", "unknown field `later`"),
        ] {
            let message = refused(&format!("[sources.events]\npath = \"e.csv\"\n{bad}\n"));
            assert!(message.contains(what), "{bad}: {message}");
            assert!(message.contains("max_age_hours"), "{bad}: {message}");
        }
        // Either one alone, or none, is fine.
        let cfg =
            load("[sources.events]\npath = \"e.csv\"\nmax_age_hours = { error = 48 }\n").unwrap();
        assert_eq!(
            cfg.sources["events"].freshness("events").1,
            MaxAge {
                warn: None,
                error: Some(48.0)
            }
        );
    }

    #[test]
    fn a_source_without_a_path_is_refused() {
        let message = refused("[sources.events]\nformat = \"csv\"\n");
        assert!(message.contains("missing field `path`"), "{message}");
    }

    #[test]
    fn params_are_read_with_their_toml_type() {
        let cfg = load(
            "[params]\nlookback_days = 30\nshare = 0.5\nreport_tz = \"Europe/Berlin\"\nstart = 2026-10-01\nsplit = true\n",
        )
        .unwrap();
        let values: BTreeMap<&str, ParamValue> = cfg
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), ParamValue::from_toml(k, v).unwrap()))
            .collect();
        assert_eq!(
            values,
            BTreeMap::from([
                ("lookback_days", ParamValue::Int(30)),
                ("share", ParamValue::Float(0.5)),
                ("report_tz", ParamValue::Text("Europe/Berlin".into())),
                (
                    "start",
                    ParamValue::Date(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
                ),
                ("split", ParamValue::Bool(true)),
            ])
        );
        // A TIMESTAMP parameter is computed from --as-of, never read: a date and time, or
        // an array, is refused when the file is read.
        assert!(
            refused("[params]\nstart = 2026-10-01T12:00:00\n")
                .contains("[params] start: only dates (2026-10-31) are supported")
        );
        assert!(
            refused("[params]\nevents = [\"a\"]\n")
                .contains("[params] events: expected a number, text, date or boolean")
        );
    }

    /// Named formats and patterns chrono reads pass; an unknown specifier, a lone `%` at the
    /// end and text without any specifier are refused when journey.toml is read.
    #[test]
    fn timestamp_formats_are_checked_when_the_file_is_read() {
        for ok in [
            "rfc3339",
            "unix_seconds",
            "unix_millis",
            "%Y-%m-%d %H:%M:%S",
            "%d/%m/%Y %H:%M%z",
        ] {
            assert_eq!(check_timestamp_format(ok), Ok(()), "{ok}");
        }
        for bad in [
            "%Y-%m-%d %Q",
            "%Y-%m-%d %",
            "%Y-%m-%d %H:%M:%E",
            "yyyy-mm-dd",
            "unix",
        ] {
            assert!(check_timestamp_format(bad).is_err(), "{bad}");
        }
    }
}
