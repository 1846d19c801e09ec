//! The structs `journey.toml` is read into: [`Config`], the whole file, and its sections
//! (`[project]`, `[funnel]`, `[models.<name>]`, `[[reports]]`, `[email]`), with their
//! defaults. The sources' section lives in `source.rs`; reading and checking the file in
//! `load.rs`.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::SourceConfig;

/// The whole project file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Title, currency, output folder.
    #[serde(default)]
    pub(crate) project: ProjectSection,
    /// SQL parameters by name (without `$`), typed by their TOML type.
    #[serde(default)]
    pub(crate) params: BTreeMap<String, toml::Value>,
    /// Declared sources by table name.
    #[serde(default)]
    pub(crate) sources: BTreeMap<String, SourceConfig>,
    /// The ordered funnel stages.
    #[serde(default)]
    pub(crate) funnel: FunnelConfig,
    /// Per-model settings by model name (file stem in `sql/`).
    #[serde(default)]
    pub(crate) models: BTreeMap<String, ModelConfig>,
    /// The report pages, in the order of the navigation.
    #[serde(default)]
    pub(crate) reports: Vec<ReportConfig>,
    /// E-mail form and delivery.
    #[serde(default)]
    pub(crate) email: EmailConfig,
    /// The forget list and the treatment of personal data per output.
    #[serde(default)]
    pub(crate) privacy: super::PrivacyConfig,
    /// Display names of ids on the pages and e-mails.
    #[serde(default)]
    pub(crate) labels: LabelsConfig,
}

/// `[labels]`: how ids from the data are written on the pages and in the e-mails; the data
/// files keep the ids.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LabelsConfig {
    /// `[labels.channels]`: channel id → display name (`organic_search = "Organic search"`).
    /// A channel not listed is written from its id: `_` as a space, the first letter upper
    /// case (`paid_social` → "Paid social"); a name in parentheses (`(no touchpoint)`,
    /// `(start)`) is kept as it is.
    #[serde(default)]
    pub(crate) channels: BTreeMap<String, String>,
}

impl LabelsConfig {
    /// The display name of channel `id` (see [`LabelsConfig::channels`]).
    pub(crate) fn channel(&self, id: &str) -> String {
        if let Some(name) = self.channels.get(id) {
            return name.clone();
        }
        if id.starts_with('(') {
            return id.to_string();
        }
        let spaced = id.replace('_', " ");
        let mut chars = spaced.chars();
        match chars.next() {
            Some(first) => first.to_uppercase().chain(chars).collect(),
            None => String::new(),
        }
    }

    /// `text` with every channel id in it named: a channel path's parts (`a > b`) each
    /// ([`LabelsConfig::channel`]).
    pub(crate) fn channel_path(&self, text: &str) -> String {
        text.split(" > ")
            .map(|part| self.channel(part))
            .collect::<Vec<_>>()
            .join(" > ")
    }
}

/// `[email]`: how the e-mail form of the reports is addressed and when it may be sent. SMTP
/// host, port and credentials never live here: they come from the environment (see the
/// README, `JOURNEY_SMTP_*`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EmailConfig {
    /// Sender address, e.g. `"Journey reports <reports@acme.example>"`.
    #[serde(default = "default_from")]
    pub(crate) from: String,
    /// Recipients of the digest: one e-mail a night each, the executive summary with a link
    /// to every page and the headline number in the subject. A page's own e-mail goes only to
    /// the addresses in its report's `recipients` (opt-in).
    #[serde(default)]
    pub(crate) to: Vec<String>,
    /// Where the report folders are published (e.g. `https://reports.acme.example/journeys`);
    /// when set, each e-mail links to `<base_url>/<as-of>/<report>.html` and its relative
    /// links become absolute under `<base_url>/<as-of>/`. Without it, the e-mails carry no
    /// links (a recipient could not follow them). Must be an `http://` or `https://` URL
    /// ([`super::privacy::check_link`]).
    #[serde(default)]
    pub(crate) base_url: Option<String>,
    /// Deprecated: the error threshold of the events source's freshness (use
    /// `[sources.events] max_age_hours = { error = … }`). When set, and the events source sets
    /// no `max_age_hours` of its own, a run whose newest event is more than this many hours
    /// older than the end of the as-of day fails with exit 3.
    #[serde(default)]
    pub(crate) max_input_age_hours: Option<f64>,
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
pub(crate) struct ProjectSection {
    /// Shown at the top of every page.
    #[serde(default = "default_title")]
    pub(crate) title: String,
    /// ISO 4217 code of the `amount` column, used to label money (e.g. "EUR").
    #[serde(default = "default_currency")]
    pub(crate) currency: String,
    /// Folder (relative to the project) under which `run` writes `<as-of>/`.
    #[serde(default = "default_output")]
    pub(crate) output_dir: PathBuf,
    /// `true`: a model that fails on the data fails the run (exit 4), as `run --fail-fast`
    /// does. `false` (default): its analyses are marked unavailable with the reason, the rest
    /// of the report is written, and the run exits 6 (partial).
    #[serde(default)]
    pub(crate) fail_fast: bool,
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

/// `[funnel]`.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct FunnelConfig {
    /// Ordered stages; a customer reaches stage k when an event of stage k follows stage k−1.
    #[serde(default)]
    pub(crate) stages: Vec<FunnelStage>,
}

/// One funnel stage: a display name and the event names that count for it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct FunnelStage {
    /// Shown in reports (e.g. "Added to cart").
    pub(crate) name: String,
    /// `event_name` values of this stage (one or more).
    pub(crate) events: Vec<String>,
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
pub(crate) struct ModelConfig {
    /// See [`Materialize`].
    #[serde(default)]
    pub(crate) materialize: Materialize,
    /// Also write one CSV per distinct value of this column, `data/<value>.csv` (the value
    /// made file-safe: letters, digits, `_` and `-`; rows where it is NULL go to none), e.g.
    /// the follow-up list of each funnel stage's drop-offs.
    #[serde(default)]
    pub(crate) split_csv_by: Option<String>,
    /// See [`DataFile`].
    #[serde(default)]
    pub(crate) data_file: DataFile,
}

/// The format of a model's file in the run folder's `data/`.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq, Default)]
#[serde(rename_all = "lowercase")]
pub(crate) enum DataFile {
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
pub(crate) struct ReportConfig {
    /// File stem of the page (`<name>.html`), used by `--report`.
    pub(crate) name: String,
    /// Page title and navigation label.
    pub(crate) title: String,
    /// Template file under `templates/` (default `<name>.html`).
    #[serde(default)]
    pub(crate) template: Option<String>,
    /// One line shown under the title in the executive summary.
    #[serde(default)]
    pub(crate) summary: Option<String>,
    /// Addresses that opted in to this page's own e-mail (each gets its own message with
    /// `run --send`), in addition to the digest `[email] to` receives.
    #[serde(default)]
    pub(crate) recipients: Vec<String>,
}

impl ReportConfig {
    /// The template file name.
    pub(crate) fn template_name(&self) -> String {
        self.template
            .clone()
            .unwrap_or_else(|| format!("{}.html", self.name))
    }
}
