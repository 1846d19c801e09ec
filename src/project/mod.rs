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
//!
//! [privacy]
//! forget = "privacy/forget.txt"    # customer ids and e-mail addresses to leave out
//! pages = "mask"                   # mask (default) | hash | keep: pages and e-mails
//! ```
//!
//! | file | owns |
//! |---|---|
//! | `config.rs` | [`Config`] and its sections: project, funnel, models, reports, e-mail |
//! | `source.rs` | `[sources.<name>]` (`SourceConfig`), the input `contract`, freshness defaults |
//! | `params.rs` | [`ParamValue`]: a typed `[params]` or `--param` value and its SQL literal |
//! | `data_tests.rs` | data tests per source column (`not_null`, `unique`, …), severities, thresholds, the contract's defaults |
//! | `privacy.rs` | `[privacy]` (`PrivacyConfig`, `Treatment`) and `check_link`, the rule on link settings |
//! | `load.rs` | `Config::load`: reading and validating the file, `check_timestamp_format` |

mod config;
pub(crate) mod data_tests;
mod load;
mod params;
mod privacy;
mod source;

pub use config::{Config, Materialize};
pub(crate) use config::{DataFile, LabelsConfig, ReportConfig};
pub use params::ParamValue;
pub(crate) use privacy::{PrivacyConfig, Treatment};
pub(crate) use source::{ColumnType, Format, MaxAge, OPTIONAL_SOURCES, SourceConfig, contract};
