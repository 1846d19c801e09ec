//! Registers the declared sources of a project as DataFusion tables.
//!
//! For each `[sources.<name>]` two tables exist:
//!
//! - `raw_<name>`: the files as they are (CSV: every column Utf8 under the export's own header
//!   names; Parquet: the file's own schema);
//! - `<name>`: a view with the canonical columns of the input contract, typed (text → Utf8 with
//!   empty strings as NULL, timestamps → `Timestamp(Nanosecond, None)` in UTC, amounts →
//!   Float64), followed by every extra column of the export under its own name.
//!
//! A forget list installed on the session (`[privacy] forget`) removes its customers' rows
//! from every view `<name>` (`forget.rs`).
//!
//! Timestamps and numbers are parsed strictly by `parse_timestamp` / `parse_number`; a value
//! that cannot be read fails the query that reads it, and `locate_bad_value` finds its file
//! and line for the error message.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`SourceInfo`] and `FileInfo`: what a registered source is, for the run and the manifest |
//! | `files.rs` | `resolve_files` (file, glob or folder → files), the CSV header and the Parquet schema of a file |
//! | `register.rs` | `register_sources`: `raw_<name>` and the typed view `<name>`; `register_missing_optional` |
//! | `forget.rs` | the forget list (right to erasure): `ForgetList`, applied to each typed view by `drop_forgotten` |
//! | `tap.rs` | `RowTap` and the scan wrapper that counts a CSV source's rows and names its files in scan errors |
//! | `count.rs` | `count_typed`: the rows of a typed view, every conversion run; `count_failed` |
//! | `locate.rs` | `locate_bad_value`: the file, line and column of a value a conversion refused |

mod count;
mod files;
mod forget;
mod locate;
mod register;
mod tap;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use serde::Serialize;

use crate::project::Format;

pub(crate) use count::{count_failed, count_typed, forcing_counts};
pub(crate) use forget::{ForgetList, ForgetSummary};
pub(crate) use locate::locate_bad_value;
pub(crate) use register::{register_missing_optional, register_sources};
pub(crate) use tap::RowTap;

/// One input file as recorded in `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FileInfo {
    /// Path as resolved (relative paths are relative to the project, or to the working
    /// directory for `--source`).
    pub(crate) path: PathBuf,
    /// Size in bytes.
    pub(crate) bytes: u64,
    /// Modification time, RFC 3339 UTC.
    pub(crate) modified: Option<String>,
    /// XXH3-64 checksum (16 hex digits), filled in by `run` for the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) xxh3: Option<String>,
}

/// A registered source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    /// Table name.
    pub(crate) name: String,
    /// `csv` or `parquet`.
    pub(crate) format: Format,
    /// The files read, sorted by path.
    pub(crate) files: Vec<FileInfo>,
    /// Rows in the files (filled in by the runner).
    pub(crate) rows: Option<u64>,
    /// Canonical column → the export's column, for error messages.
    #[serde(skip)]
    pub(crate) column_names: BTreeMap<String, String>,
    /// CSV delimiter.
    #[serde(skip)]
    pub(crate) delimiter: u8,
    /// A CSV source's rows as counted by the run's own scans ([`RowTap`]); `None` for
    /// Parquet (counted from its metadata) and sources not registered from files.
    #[serde(skip)]
    pub(crate) tap: Option<Arc<RowTap>>,
}
