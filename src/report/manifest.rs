//! `manifest.json`: what a run read, ran and wrote, and the run's status.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use chrono::NaiveDate;
use serde::Serialize;

use crate::engine::runner::ModelRun;
use crate::error::{Error, Result};
use crate::journey::freshness::SourceFreshness;
use crate::project::ParamValue;
use crate::report::pii::OutputTreatment;
use crate::sources::{ForgetSummary, SourceInfo};

/// `manifest.json`.
#[derive(Debug, Serialize)]
pub(crate) struct Manifest {
    /// journey-report version.
    pub(crate) journey_report_version: &'static str,
    /// DataFusion version.
    pub(crate) datafusion_version: &'static str,
    /// The logical date.
    pub(crate) as_of: NaiveDate,
    /// When the run started (RFC 3339 UTC).
    pub(crate) started_at: String,
    /// Wall time of the whole run in seconds.
    pub(crate) seconds: f64,
    /// Parameters as bound.
    pub(crate) params: BTreeMap<String, ParamValue>,
    /// Input sources with files, sizes, modification times and row counts.
    pub(crate) inputs: Vec<SourceInfo>,
    /// SQL files with SHA-256.
    pub(crate) models: Vec<ModelEntry>,
    /// Per-step timings.
    pub(crate) steps: Vec<ModelRun>,
    /// Pages written.
    pub(crate) pages: Vec<String>,
    /// E-mails written to `email/`: report, HTML bytes, inline images, message bytes.
    pub(crate) emails: Vec<EmailEntry>,
    /// Warnings.
    pub(crate) warnings: Vec<String>,
    /// `complete`, or `partial` when some analyses are unavailable.
    pub(crate) status: RunStatus,
    /// Freshness and coverage of every source against the as-of day.
    pub(crate) freshness: Vec<SourceFreshness>,
    /// What the data tests found in every source: rows read, quarantined and dropped, each
    /// test's result, each column's profile (see [`crate::sources::audit`]).
    pub(crate) data_quality: Vec<crate::sources::audit::SourceQuality>,
    /// Models that failed on this data or were skipped, with the reason.
    pub(crate) unavailable: BTreeMap<String, String>,
    /// Pages a `--report` run did not draw but kept from the previous folder of the same
    /// as-of date (with their e-mails): `{"page": "funnel.html", "drawn_at": <started_at of
    /// the run that drew it>}`.
    pub(crate) carried_pages: Vec<serde_json::Value>,
    /// The forget list applied and the treatment of personal data in each output.
    pub(crate) privacy: Privacy,
}

/// `manifest.json` → `privacy`: what was done to personal data (never the data itself).
#[derive(Debug, Serialize)]
pub(crate) struct Privacy {
    /// The forget list applied to the sources (its file, how many ids and addresses it
    /// lists, the rows each source lost), or `null` when there is none.
    pub(crate) forget: Option<ForgetSummary>,
    /// Per output (pages and e-mails; each data file with e-mail or name columns): the
    /// columns treated and the treatment (`mask`, `hash`, `keep`).
    pub(crate) outputs: Vec<OutputTreatment>,
    /// What was done to CSV cells a spreadsheet would run as formulas ([`CSV_FORMULAS`]).
    pub(crate) csv_formulas: &'static str,
}

/// The manifest's statement of the CSV formula rule (see [`crate::report::pii`]).
pub(crate) const CSV_FORMULAS: &str =
    "text cells starting with =, +, -, @, tab or carriage return prefixed with ' (OWASP)";

/// One SQL model in `manifest.json` (fields in the file's key order).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ModelEntry {
    /// Its file, relative to the project (`sql/marts/funnel/funnel.sql`).
    pub(crate) file: String,
    /// The model's name (the file stem).
    pub(crate) name: String,
    /// The tables and models its query reads.
    pub(crate) reads: BTreeSet<String>,
    /// SHA-256 of the file, hex.
    pub(crate) sha256: String,
}

/// One e-mail written to `email/` in `manifest.json` (fields in the file's key order).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct EmailEntry {
    /// `email/<report>.eml`.
    pub(crate) file: String,
    /// Bytes of its HTML part.
    pub(crate) html_bytes: usize,
    /// Inline images (charts as PNG).
    pub(crate) images: usize,
    /// Bytes of the whole message.
    pub(crate) message_bytes: usize,
}

/// Whether a written report holds every analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RunStatus {
    /// Every model ran and every page was drawn (exit 0).
    Complete,
    /// The folder was written, but some analyses are unavailable for this data; each says
    /// why on its page and in `manifest.json` (exit [`crate::error::EXIT_PARTIAL`]).
    Partial,
}

impl RunStatus {
    /// The process exit code of a run that ended with this status.
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            RunStatus::Complete => 0,
            RunStatus::Partial => crate::error::EXIT_PARTIAL,
        }
    }
}

/// The XXH3-64 checksum of a file, as 16 hex digits (fast enough for multi-GB exports).
///
/// Errors: exit 1 when the file cannot be read, or when a stop was requested meanwhile
/// ([`crate::report::output::check_stop`], checked after every MiB).
pub(crate) fn file_checksum(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        // A multi-GB export takes seconds: a stop must not wait for it.
        crate::report::output::check_stop()?;
    }
    Ok(format!("{:016x}", hasher.digest()))
}
