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
//! | `audit/` | data tests and quarantine: the profile of each source, rejected rows, duplicate keys, orphans |
//! | `locate.rs` | `locate_bad_value`: the file, line and column of a value a conversion refused |

pub(crate) mod audit;
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
    /// How the typed view reads the export, for the data tests (`None`: an empty optional
    /// source registered without files).
    #[serde(skip)]
    pub(crate) view: Option<Arc<ViewSpec>>,
}

/// How the typed view `<name>` of a source is built from `raw_<name>`: its canonical columns
/// read leniently (an unreadable value is NULL), with the condition that finds an unreadable
/// value, then the export's extra columns. What the data tests
/// ([`audit`](crate::sources::audit)) build the quarantine and the profile from.
#[derive(Debug, Clone)]
pub(crate) struct ViewSpec {
    /// The canonical columns, in view order.
    pub(crate) columns: Vec<ViewColumn>,
    /// The export's columns outside the contract, passed through under their own names.
    pub(crate) extras: Vec<String>,
    /// The export's header (CSV) or column names (Parquet), in file order.
    pub(crate) header: Vec<String>,
    /// Orders: the export's status column, for the rule on a completed order's amount.
    pub(crate) status_column: Option<String>,
}

/// One canonical column of a typed view.
#[derive(Debug, Clone)]
pub(crate) struct ViewColumn {
    /// Canonical name.
    pub(crate) canon: String,
    /// Its type.
    pub(crate) ty: crate::project::ColumnType,
    /// The export's column it is read from; `None` for an optional column the export lacks
    /// (always NULL).
    pub(crate) export: Option<String>,
    /// The typed value over `raw_<name>`, NULL when the value cannot be read (no alias).
    pub(crate) lenient: datafusion::logical_expr::Expr,
    /// For a column whose values may be unreadable: true on a row where the export has a
    /// value (not NULL, not blank), so that a NULL `lenient` there is a value that cannot
    /// be read; with what is expected of it, in words. `None` for columns that read every
    /// value (text).
    pub(crate) present: Option<(datafusion::logical_expr::Expr, String)>,
}

impl ViewSpec {
    /// The columns the data tests read, over `raw_<name>`: each canonical column read
    /// leniently under its name, `__present_<column>` for those that may be unreadable, the
    /// export's extra columns, and with `raw_text` (the schema of `raw_<name>`) every export
    /// column as text under `__raw_<i>` (i = its position in the header). Every conversion
    /// runs once per row here; the checks refer to these columns by name.
    pub(crate) fn projection(
        &self,
        raw_text: Option<&datafusion::common::DFSchema>,
    ) -> Vec<datafusion::logical_expr::Expr> {
        use datafusion::logical_expr::{cast, ident};
        let mut out = Vec::new();
        for c in &self.columns {
            out.push(c.lenient.clone().alias(&c.canon));
            if let Some((p, _)) = &c.present {
                out.push(p.clone().alias(format!("__present_{}", c.canon)));
            }
        }
        out.extend(self.extras.iter().map(|h| ident(h).alias(h)));
        if let Some(schema) = raw_text {
            use datafusion::arrow::datatypes::DataType;
            for (i, h) in self.header.iter().enumerate() {
                // A timestamp or date as the number the file stores: a value out of range
                // (what gets such a row quarantined) has no text form.
                let typed = schema.field_with_unqualified_name(h).is_ok_and(|f| {
                    matches!(
                        f.data_type(),
                        DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
                    )
                });
                let e = if typed {
                    cast(cast(ident(h), DataType::Int64), DataType::Utf8)
                } else {
                    cast(ident(h), DataType::Utf8)
                };
                out.push(e.alias(format!("__raw_{i}")));
            }
        }
        out
    }
}
