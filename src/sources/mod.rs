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
//! Timestamps and numbers are parsed strictly by `parse_timestamp` / `parse_number`; a value
//! that cannot be read fails the query that reads it, and [`locate_bad_value`] finds its file
//! and line for the error message.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::FunctionRegistry;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{Expr, cast, ident, lit};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::functions::BadValue;
use crate::project::{ColumnType, Config, Format, SourceConfig, contract};

/// One input file as recorded in `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct FileInfo {
    /// Path as resolved (relative paths are relative to the project, or to the working
    /// directory for `--source`).
    pub path: PathBuf,
    /// Size in bytes.
    pub bytes: u64,
    /// Modification time, RFC 3339 UTC.
    pub modified: Option<String>,
    /// XXH3-64 checksum (16 hex digits), filled in by `run` for the manifest.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub xxh3: Option<String>,
}

/// A registered source.
#[derive(Debug, Clone, Serialize)]
pub struct SourceInfo {
    /// Table name.
    pub name: String,
    /// `csv` or `parquet`.
    pub format: Format,
    /// The files read, sorted by path.
    pub files: Vec<FileInfo>,
    /// Rows in the files (filled in by the runner).
    pub rows: Option<u64>,
    /// Canonical column → the export's column, for error messages.
    #[serde(skip)]
    pub column_names: BTreeMap<String, String>,
    /// CSV delimiter.
    #[serde(skip)]
    pub delimiter: u8,
    /// A CSV source's rows as counted by the run's own scans ([`RowTap`]); `None` for
    /// Parquet (counted from its metadata) and sources not registered from files.
    #[serde(skip)]
    pub tap: Option<Arc<RowTap>>,
}

/// Resolves `spec` (file, glob or folder) to a sorted list of files of `format`.
///
/// Errors (exit 3): nothing matches, or a named file does not exist.
pub fn resolve_files(name: &str, spec: &Path, format: Format) -> Result<Vec<PathBuf>> {
    let ext = match format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
    };
    let text = spec.to_string_lossy();
    let mut files = Vec::new();
    if text.contains(['*', '?', '[']) {
        let paths = glob::glob(&text)
            .map_err(|e| Error::config(format!("source {name}: bad glob pattern {text:?}: {e}")))?;
        for p in paths.flatten() {
            if p.is_file() {
                files.push(p);
            }
        }
    } else if spec.is_dir() {
        walk(spec, ext, &mut files).map_err(|e| Error::io(spec, e))?;
    } else if spec.is_file() {
        files.push(spec.to_path_buf());
    } else {
        return Err(Error::input(format!(
            "source {name}: {}: no such file or folder",
            spec.display()
        )));
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::input(format!(
            "source {name}: {}: no .{ext} file found",
            spec.display()
        )));
    }
    Ok(files)
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, ext, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        {
            out.push(p);
        }
    }
    Ok(())
}

fn file_info(p: &Path) -> Result<FileInfo> {
    let md = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    let modified = md.modified().ok().map(|t| {
        chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    Ok(FileInfo {
        path: p.to_path_buf(),
        bytes: md.len(),
        modified,
        xxh3: None,
    })
}

fn csv_header(path: &Path, delimiter: u8) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_path(path)
        .map_err(|e| Error::input(format!("{}: cannot open: {e}", path.display())))?;
    let h = rdr.headers().map_err(|e| {
        Error::input(format!(
            "{}: cannot read the header row: {e}",
            path.display()
        ))
    })?;
    if h.is_empty() || (h.len() == 1 && h[0].is_empty()) {
        return Err(Error::input(format!(
            "{}: the file is empty (expected a header row)",
            path.display()
        )));
    }
    let names: Vec<String> = h
        .iter()
        .map(|s| s.trim_start_matches('\u{feff}').to_string())
        .collect();
    no_repeated_column(path, &names)?;
    Ok(names)
}

/// Errors (exit 3) when a column name appears twice in the header of `path`: which column
/// would a mapping or a model read?
fn no_repeated_column(path: &Path, names: &[String]) -> Result<()> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(first) = seen.insert(n.as_str(), i) {
            return Err(Error::input(format!(
                "{}: the header names column {} twice (columns {} and {}): every column needs its own name",
                path.display(),
                crate::functions::shorten(n),
                first + 1,
                i + 1
            )));
        }
    }
    Ok(())
}

fn parquet_schema(path: &Path) -> Result<SchemaRef> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("{}: cannot open: {e}", path.display())))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| {
        Error::input(format!(
            "{}: not a readable Parquet file: {e}",
            path.display()
        ))
    })?;
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    no_repeated_column(path, &names)?;
    Ok(b.schema().clone())
}

/// Registers every source of `cfg` (with `overrides` from `--source NAME=PATH`) on `ctx`.
/// An override ending in `.csv` or `.parquet` sets the format; a folder keeps the declared one.
///
/// Returns the sources that registered and every problem found (a missing file, a missing
/// column, headers that differ between files of one source…), so that `check` can list them
/// all; `run` stops at the first.
pub async fn register_sources(
    ctx: &SessionContext,
    project: &Path,
    cfg: &Config,
    overrides: &BTreeMap<String, PathBuf>,
) -> (Vec<SourceInfo>, Vec<Error>) {
    let mut infos = Vec::new();
    let mut problems = Vec::new();
    for name in overrides.keys() {
        if !cfg.sources.contains_key(name) {
            let known: Vec<_> = cfg.sources.keys().cloned().collect();
            problems.push(Error::config(format!(
                "--source {name}=…: no source named {name:?} in journey.toml (declared: {})",
                known.join(", ")
            )));
        }
    }
    for (name, src) in &cfg.sources {
        let (spec, src) = match overrides.get(name) {
            Some(p) => {
                // A file or glob named by extension sets the format; a folder keeps the declared one.
                let mut src = src.clone();
                match p
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(|e| e.to_ascii_lowercase())
                    .as_deref()
                {
                    Some("csv") => src.format = Format::Csv,
                    Some("parquet") => src.format = Format::Parquet,
                    _ => {}
                }
                (p.clone(), src)
            }
            None => (project.join(&src.path), src.clone()),
        };
        match register_one(ctx, name, &src, &spec).await {
            Ok(info) => infos.push(info),
            Err(e) => problems.push(e),
        }
    }
    (infos, problems)
}

/// Registers an empty table `<name>` (canonical columns of the input contract, typed as the
/// `<name>` view of a declared source would be) for every source of
/// [`OPTIONAL_SOURCES`](crate::project::OPTIONAL_SOURCES) the project does not declare.
///
/// Errors: none expected (exit 1 if DataFusion refuses the table).
pub fn register_missing_optional(ctx: &SessionContext, cfg: &Config) -> Result<Vec<String>> {
    let mut added = Vec::new();
    for name in crate::project::OPTIONAL_SOURCES {
        if cfg.sources.contains_key(*name) {
            continue;
        }
        let fields: Vec<Field> = contract(name)
            .iter()
            .map(|(c, t, _)| Field::new(*c, t.data_type(), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let table = datafusion::datasource::MemTable::try_new(schema, vec![vec![]])
            .map_err(|e| Error::internal(e.to_string()))?;
        ctx.register_table(*name, Arc::new(table))
            .map_err(|e| Error::internal(e.to_string()))?;
        added.push(name.to_string());
    }
    Ok(added)
}

async fn register_one(
    ctx: &SessionContext,
    name: &str,
    src: &SourceConfig,
    spec: &Path,
) -> Result<SourceInfo> {
    let files = resolve_files(name, spec, src.format)?;
    let delimiter = u8::try_from(src.delimiter).map_err(|_| {
        Error::config(format!(
            "source {name}: delimiter must be one ASCII character"
        ))
    })?;
    // The raw schema, the same in every file.
    let raw_schema: SchemaRef = match src.format {
        Format::Csv => {
            let first = csv_header(&files[0], delimiter)?;
            for f in &files[1..] {
                let h = csv_header(f, delimiter)?;
                if h != first {
                    return Err(Error::input(format!(
                        "{}: header differs from {} (source {name}: every file must have the same columns in the same order)\n  expected: {}\n  found:    {}",
                        f.display(),
                        files[0].display(),
                        first.join(","),
                        h.join(",")
                    )));
                }
            }
            Arc::new(Schema::new(
                first
                    .iter()
                    .map(|c| Field::new(c, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            ))
        }
        Format::Parquet => {
            let first = parquet_schema(&files[0])?;
            for f in &files[1..] {
                let s = parquet_schema(f)?;
                if s.fields()
                    .iter()
                    .map(|f| f.name())
                    .ne(first.fields().iter().map(|f| f.name()))
                {
                    return Err(Error::input(format!(
                        "{}: columns differ from {} (source {name})",
                        f.display(),
                        files[0].display()
                    )));
                }
            }
            first
        }
    };
    let file_label = if files.len() == 1 {
        files[0].display().to_string()
    } else {
        format!("{} ({} files)", spec.display(), files.len())
    };

    // Map canonical columns to the export's columns.
    let mut types: Vec<(String, ColumnType, bool)> = contract(name)
        .iter()
        .map(|(c, t, r)| (c.to_string(), *t, *r))
        .collect();
    for (c, t) in &src.types {
        match types.iter_mut().find(|x| &x.0 == c) {
            Some(x) => x.1 = *t,
            None => types.push((c.clone(), *t, true)),
        }
    }
    for c in src.columns.keys() {
        if !types.iter().any(|x| &x.0 == c) {
            types.push((c.clone(), ColumnType::Text, true));
        }
    }
    let header: Vec<String> = raw_schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut missing = Vec::new();
    let mut exprs: Vec<Expr> = Vec::new();
    let mut column_names = BTreeMap::new();
    let parse_ts = ctx
        .udf("parse_timestamp")
        .map_err(|e| Error::internal(e.to_string()))?;
    let parse_num = ctx
        .udf("parse_number")
        .map_err(|e| Error::internal(e.to_string()))?;
    let blank_to_null = ctx
        .udf("blank_to_null")
        .map_err(|e| Error::internal(e.to_string()))?;
    let typed_ts = ctx
        .udf("typed_timestamp")
        .map_err(|e| Error::internal(e.to_string()))?;
    let require_amount = ctx
        .udf("require_amount")
        .map_err(|e| Error::internal(e.to_string()))?;
    // The export's status column of an orders export, for the rule on amounts.
    let status_column = (name == "transactions")
        .then(|| {
            src.columns
                .get("status")
                .cloned()
                .unwrap_or("status".into())
        })
        .filter(|s| raw_schema.fields().iter().any(|f| f.name() == s));
    for (canon, ty, required) in &types {
        let export = src
            .columns
            .get(canon)
            .cloned()
            .unwrap_or_else(|| canon.clone());
        let Some(field) = raw_schema.fields().iter().find(|f| f.name() == &export) else {
            if *required {
                let mapped = if &export != canon {
                    format!("column {export:?} (mapped to {canon})")
                } else {
                    format!("column {canon:?}")
                };
                missing.push(mapped);
            } else {
                exprs.push(
                    cast(lit(datafusion::common::ScalarValue::Null), ty.data_type()).alias(canon),
                );
            }
            continue;
        };
        column_names.insert(canon.clone(), export.clone());
        let c = ident(&export);
        let origin = lit(format!("{name}.{canon}"));
        let as_text = |e: Expr| {
            if field.data_type() == &DataType::Utf8 {
                e
            } else {
                cast(e, DataType::Utf8)
            }
        };
        let e = match (ty, field.data_type()) {
            (ColumnType::Text, _) => blank_to_null.call(vec![as_text(c)]),
            (
                ColumnType::Timestamp,
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64,
            ) => typed_ts.call(vec![c, origin]),
            (ColumnType::Timestamp, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                parse_ts.call(vec![
                    as_text(c),
                    lit(src.timestamp_format.clone()),
                    lit(src.timezone.clone()),
                    origin,
                ])
            }
            (ColumnType::Number, dt) if dt.is_numeric() => cast(c, DataType::Float64),
            (ColumnType::Number, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                parse_num.call(vec![as_text(c), origin])
            }
            (t, dt) => {
                return Err(Error::input(format!(
                    "{file_label}: column {export:?} has type {dt}, which cannot be read as {t:?} (source {name}.{canon})"
                )));
            }
        };
        // Orders: a completed order's amount is required and not negative.
        let e = match &status_column {
            Some(status) if canon == "amount" && *ty == ColumnType::Number => {
                let status = cast(ident(status), DataType::Utf8);
                require_amount.call(vec![e, status, lit(format!("{name}.{canon}"))])
            }
            _ => e,
        };
        exprs.push(e.alias(canon));
    }
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "{file_label}: missing {} (source {name})\n  the header has: {}\n  map an export column to a canonical one in journey.toml: [sources.{name}] columns = {{ canonical = \"export_name\" }}",
            missing.join(", "),
            header.join(", ")
        )));
    }
    for h in &header {
        let used = column_names.values().any(|v| v == h);
        if !used && !types.iter().any(|t| &t.0 == h) {
            exprs.push(ident(h).alias(h));
        }
    }

    // Register raw_<name> and <name>.
    let urls = files
        .iter()
        .map(|f| {
            let abs = std::path::absolute(f).map_err(|e| Error::io(f, e))?;
            ListingTableUrl::parse(abs.to_string_lossy())
                .map_err(|e| Error::internal(format!("{}: {e}", f.display())))
        })
        .collect::<Result<Vec<_>>>()?;
    let options = match src.format {
        Format::Csv => ListingOptions::new(Arc::new(
            CsvFormat::default()
                .with_has_header(true)
                .with_delimiter(delimiter)
                .with_quote(b'"'),
        ))
        .with_file_extension(""),
        Format::Parquet => {
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("")
        }
    };
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(raw_schema);
    let table = ListingTable::try_new(config)
        .map_err(|e| Error::internal(format!("source {name}: {e}")))?;
    let raw_name = format!("raw_{name}");
    let tap = Arc::new(RowTap::default());
    // Both formats name the files and the source in a scan error (a CSV row with the wrong
    // number of fields, a corrupt Parquet page); a CSV scan also counts the rows.
    let table: Arc<dyn TableProvider> = Arc::new(TappedTable {
        inner: Arc::new(table),
        tap: (src.format == Format::Csv).then(|| Arc::clone(&tap)),
        label: file_label.clone(),
        source: name.to_string(),
    });
    ctx.register_table(raw_name.as_str(), table)
        .map_err(|e| Error::internal(e.to_string()))?;
    let df = ctx
        .table(raw_name.as_str())
        .await
        .and_then(|df| df.select(exprs))
        .map_err(|e| Error::internal(format!("source {name}: building the typed view: {e}")))?;
    ctx.register_table(name, df.into_view())
        .map_err(|e| Error::internal(e.to_string()))?;

    Ok(SourceInfo {
        name: name.to_string(),
        format: src.format,
        files: files
            .iter()
            .map(|f| file_info(f))
            .collect::<Result<Vec<_>>>()?,
        rows: None,
        column_names,
        delimiter,
        tap: (src.format == Format::Csv).then_some(tap),
    })
}

/// Finds where a [`BadValue`] stands in a source's files and returns the error to report
/// (exit 3): `file: line L (data row R), column "export name" (canonical): cannot read "…":
/// expected …` (Parquet: `row R`), the value as the file has it, shortened to
/// [`MAX_QUOTED_CHARS`](crate::functions::MAX_QUOTED_CHARS) characters. The row is the
/// first whose cell holds the value (as text, or as the same number; an empty value matches
/// an empty cell) and, for a value bad only with another column's value ([`BadValue::when`],
/// e.g. a completed order's amount), whose cell in that column holds it.
pub fn locate_bad_value(sources: &[SourceInfo], bad: &BadValue) -> Error {
    let src_name = bad
        .origin
        .split_once('.')
        .map_or(bad.origin.as_str(), |s| s.0);
    match sources.iter().find(|s| s.name == src_name) {
        Some(src) => locate_in_source(src, bad),
        None => Error::input(bad.to_string()),
    }
}

/// [`locate_bad_value`] in the files of `src`, the source the value comes from.
pub fn locate_in_source(src: &SourceInfo, bad: &BadValue) -> Error {
    let canon = bad.origin.split_once('.').map_or("", |s| s.1);
    let export = |canon: &str| {
        src.column_names
            .get(canon)
            .cloned()
            .unwrap_or_else(|| canon.to_string())
    };
    let column = export(canon);
    let col_label = if column == canon {
        format!("column {canon:?}")
    } else {
        format!("column {column:?} ({canon})")
    };
    let wanted = Wanted {
        column,
        value: bad.value.clone(),
        when: bad.when.as_ref().map(|(c, v)| (export(c), v.clone())),
    };
    let when_label = match &bad.when {
        Some((c, v)) => format!(" ({c} {v:?})"),
        None => String::new(),
    };
    for f in &src.files {
        let found = match src.format {
            Format::Csv => find_in_csv(&f.path, src.delimiter, &wanted),
            Format::Parquet => find_in_parquet(&f.path, &wanted),
        };
        if let Some((loc, text)) = found {
            return Error::input(format!(
                "{}: {loc}, {col_label}{when_label}: cannot read {}: expected {}",
                f.path.display(),
                crate::functions::shorten(&text),
                bad.expected
            ));
        }
    }
    Error::input(format!(
        "{}: {col_label}{when_label}: cannot read {}: expected {}",
        file_list(src),
        crate::functions::shorten(&bad.value),
        bad.expected
    ))
}

/// The files of `src`, comma-separated, for messages.
fn file_list(src: &SourceInfo) -> String {
    let files: Vec<_> = src
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    files.join(", ")
}

/// The cell [`locate_bad_value`] looks for: `value` in the export's `column`, on a row whose
/// `when.0` column holds `when.1` (trimmed, any case).
struct Wanted {
    column: String,
    value: String,
    when: Option<(String, String)>,
}

impl Wanted {
    /// Whether a cell's text (`None`: NULL) is the bad value: the same text (spaces trimmed),
    /// the same number (the value may come back from a number, `-5` for `-5.00`), or both
    /// empty.
    fn is_value(&self, cell: Option<&str>) -> bool {
        let (cell, want) = (cell.unwrap_or("").trim(), self.value.trim());
        cell == want
            || (!want.is_empty()
                && matches!((cell.parse::<f64>(), want.parse::<f64>()), (Ok(a), Ok(b)) if a == b))
    }

    /// Whether a cell of the `when` column qualifies the row (always, without `when`).
    fn is_when(&self, cell: Option<&str>) -> bool {
        self.when
            .as_ref()
            .is_none_or(|(_, v)| cell.is_some_and(|c| c.trim().eq_ignore_ascii_case(v)))
    }
}

/// The place (`line L (data row R)`) and the cell text of the first row of a CSV file holding
/// the wanted value.
fn find_in_csv(path: &Path, delimiter: u8, wanted: &Wanted) -> Option<(String, String)> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .ok()?;
    let headers = rdr.headers().ok()?.clone();
    let position = |column: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == column)
    };
    let idx = position(&wanted.column)?;
    let when_idx = match &wanted.when {
        Some((c, _)) => Some(position(c)?),
        None => None,
    };
    let mut rec = csv::StringRecord::new();
    let mut row = 0u64;
    while rdr.read_record(&mut rec).ok()? {
        row += 1;
        if wanted.is_value(rec.get(idx)) && wanted.is_when(when_idx.and_then(|i| rec.get(i))) {
            let line = rec.position().map(|p| p.line()).unwrap_or(row + 1);
            let text = rec.get(idx).unwrap_or("").to_string();
            return Some((format!("line {line} (data row {row})"), text));
        }
    }
    None
}

/// The place (`row R`) and the cell as text of the first row of a Parquet file holding the
/// wanted value.
fn find_in_parquet(path: &Path, wanted: &Wanted) -> Option<(String, String)> {
    let f = std::fs::File::open(path).ok()?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .ok()?
        .build()
        .ok()?;
    // Timestamps and dates as their stored numbers (what `typed_timestamp` reports: a value
    // out of range has no text form).
    let text = |batch: &datafusion::arrow::record_batch::RecordBatch, column: &str| {
        let col = batch.column_by_name(column)?;
        let col = match col.data_type() {
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                datafusion::arrow::compute::cast(col, &DataType::Int64).ok()?
            }
            _ => Arc::clone(col),
        };
        datafusion::arrow::compute::cast(&col, &DataType::Utf8).ok()
    };
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.ok()?;
        let col = text(&batch, &wanted.column)?;
        let col = col.as_string::<i32>();
        let when = match &wanted.when {
            Some((c, _)) => Some(text(&batch, c)?),
            None => None,
        };
        let when = when.as_ref().map(|w| w.as_string::<i32>());
        let cell = |a: &datafusion::arrow::array::StringArray, i: usize| {
            a.is_valid(i).then(|| a.value(i).to_string())
        };
        for i in 0..col.len() {
            row += 1;
            let value = cell(col, i);
            if wanted.is_value(value.as_deref())
                && wanted.is_when(when.and_then(|w| cell(w, i)).as_deref())
            {
                return Some((format!("row {row}"), value.unwrap_or_default()));
            }
        }
    }
    None
}

/// The rows of the typed view `<name>` of a source, read the way the models read it: `SELECT
/// count(*), count(c1), …, count(cN) FROM <name>`, so that every column's conversion runs on
/// every row (a plain `count(*)` needs no column, and a Parquet file answers it from its
/// metadata). What `check` counts: a value `run` cannot read fails here with the same error.
///
/// Errors: DataFusion's, with a [`BadValue`] for an unreadable value (see [`count_failed`]).
pub async fn count_typed(ctx: &SessionContext, name: &str) -> datafusion::common::Result<u64> {
    let forced = forcing_counts(ctx, name).await?;
    let batches = ctx
        .sql(&format!("SELECT count(*){forced} FROM {}", quoted(name)))
        .await?
        .collect()
        .await?;
    Ok(batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
                .map(|a| a.value(0) as u64)
        })
        .unwrap_or(0))
}

/// `, count("c1"), …, count("cN")` over every column of the table `name`: appended to a
/// `SELECT count(*)` it makes the count compute each column of a view (see [`count_typed`]).
///
/// Errors: DataFusion's, when there is no table `name`.
pub async fn forcing_counts(
    ctx: &SessionContext,
    name: &str,
) -> datafusion::common::Result<String> {
    let df = ctx.table(name).await?;
    Ok(df
        .schema()
        .fields()
        .iter()
        .map(|f| format!(", count({})", quoted(f.name())))
        .collect())
}

/// `name` as a SQL identifier in double quotes (a `"` inside doubled).
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The error (exit 3) of a count of source `src` that failed with `e`: an unreadable value
/// located in the files ([`locate_in_source`]), a scan error as the scan names it, or the
/// files, DataFusion's message and the source's name.
pub fn count_failed(src: &SourceInfo, e: &datafusion::common::DataFusionError) -> Error {
    if let Some(bad) = crate::functions::find_bad_value(e) {
        return locate_in_source(src, &bad);
    }
    if let datafusion::common::DataFusionError::External(inner) = e.find_root()
        && let Some(err) = inner.downcast_ref::<Error>()
    {
        return err.clone();
    }
    Error::input(format!(
        "{}: {} (source {})",
        file_list(src),
        crate::error::clean_error(e),
        src.name
    ))
}

/// The rows of a CSV source, counted while the run reads it: set by the first scan of the
/// source that reads every row to the end (no `LIMIT`, no pushed filter, every partition
/// finished), so `run` does not parse an export once more only to count it.
#[derive(Debug, Default)]
pub struct RowTap {
    rows: std::sync::OnceLock<u64>,
}

impl RowTap {
    /// The rows counted, or `None` when no scan has read the whole source yet.
    pub fn rows(&self) -> Option<u64> {
        self.rows.get().copied()
    }
}

/// A raw source: the `ListingTable` of its files, each whole scan of a CSV source counted
/// in a [`RowTap`] ([`TapExec`]). Same schema, rows and errors as the table it wraps, except
/// that an error of the scan itself (an unreadable file, a CSV row with the wrong number of
/// fields, a corrupt Parquet page) names the files and the source (exit 3).
#[derive(Debug)]
struct TappedTable {
    inner: Arc<dyn TableProvider>,
    /// Where a CSV source's rows are counted; `None` for Parquet (counted from its metadata).
    tap: Option<Arc<RowTap>>,
    /// The files, for error messages.
    label: String,
    source: String,
}

#[async_trait::async_trait]
impl TableProvider for TappedTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> datafusion::datasource::TableType {
        self.inner.table_type()
    }

    /// CSV: none — a CSV scan cannot use a filter to skip rows (there are no partition
    /// columns), so DataFusion filters above the scan, and every scan without a `LIMIT` reads
    /// every row. Parquet (not counted): what the wrapped table supports (row-group pruning).
    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> datafusion::common::Result<Vec<datafusion::logical_expr::TableProviderFilterPushDown>>
    {
        if self.tap.is_none() {
            return self.inner.supports_filters_pushdown(filters);
        }
        Ok(vec![
            datafusion::logical_expr::TableProviderFilterPushDown::Unsupported;
            filters.len()
        ])
    }

    async fn scan(
        &self,
        state: &dyn datafusion::catalog::Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, filters, limit).await?;
        let whole = limit.is_none() && filters.is_empty();
        Ok(Arc::new(TapExec::new(
            plan,
            self.tap.clone().filter(|_| whole),
            (self.label.clone(), self.source.clone()),
        )))
    }
}

/// Passes its input through, counting rows into a [`RowTap`] once every partition has been
/// read to the end (when it has one), and naming the source in the input's errors.
#[derive(Debug)]
struct TapExec {
    input: Arc<dyn ExecutionPlan>,
    tap: Option<Arc<RowTap>>,
    /// The files and the source's name, for errors.
    origin: (String, String),
    /// Partitions read to the end, and their rows.
    done: Arc<std::sync::atomic::AtomicUsize>,
    rows: Arc<std::sync::atomic::AtomicU64>,
}

impl TapExec {
    fn new(
        input: Arc<dyn ExecutionPlan>,
        tap: Option<Arc<RowTap>>,
        origin: (String, String),
    ) -> Self {
        Self {
            input,
            tap,
            origin,
            done: Arc::default(),
            rows: Arc::default(),
        }
    }
}

impl DisplayAs for TapExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "TapExec: counting={}", self.tap.is_some())
    }
}

impl ExecutionPlan for TapExec {
    fn name(&self) -> &str {
        "TapExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        self.input.properties()
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        _f: &mut dyn FnMut(
            &Arc<dyn datafusion::physical_expr::PhysicalExpr>,
        ) -> datafusion::common::Result<TreeNodeRecursion>,
    ) -> datafusion::common::Result<TreeNodeRecursion> {
        Ok(TreeNodeRecursion::Continue)
    }

    fn maintains_input_order(&self) -> Vec<bool> {
        vec![true]
    }

    /// The scan's, unchanged: join planning sizes the sources by them (which side of a join
    /// is built, `CollectLeft` or not).
    fn statistics_from_inputs(
        &self,
        input_stats: &[Arc<datafusion::common::Statistics>],
        _args: &datafusion::physical_plan::statistics::StatisticsArgs,
    ) -> datafusion::common::Result<Arc<datafusion::common::Statistics>> {
        Ok(Arc::clone(&input_stats[0]))
    }

    #[allow(deprecated)]
    fn partition_statistics(
        &self,
        partition: Option<usize>,
    ) -> datafusion::common::Result<Arc<datafusion::common::Statistics>> {
        self.input.partition_statistics(partition)
    }

    fn cardinality_effect(&self) -> datafusion::physical_plan::execution_plan::CardinalityEffect {
        datafusion::physical_plan::execution_plan::CardinalityEffect::Equal
    }

    /// Filters pass through to the scan (same columns, same rows), as through DataFusion's
    /// own pass-through operators: a Parquet scan keeps its pruning by dynamic filters.
    fn gather_filters_for_pushdown(
        &self,
        _phase: datafusion::physical_plan::filter_pushdown::FilterPushdownPhase,
        parent_filters: Vec<Arc<dyn datafusion::physical_expr::PhysicalExpr>>,
        _config: &datafusion::config::ConfigOptions,
    ) -> datafusion::common::Result<datafusion::physical_plan::filter_pushdown::FilterDescription>
    {
        datafusion::physical_plan::filter_pushdown::FilterDescription::from_children(
            parent_filters,
            &self.children(),
        )
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> datafusion::common::Result<Arc<dyn ExecutionPlan>> {
        let [input] = children.try_into().map_err(|_| {
            datafusion::common::DataFusionError::Internal("TapExec takes one input".into())
        })?;
        Ok(Arc::new(Self::new(
            input,
            self.tap.clone(),
            self.origin.clone(),
        )))
    }

    /// The file scan splits into byte ranges (DataFusion's `repartition_file_scans`) under
    /// the tap, which then counts the split scan.
    fn repartitioned(
        &self,
        target_partitions: usize,
        config: &datafusion::config::ConfigOptions,
    ) -> datafusion::common::Result<Option<Arc<dyn ExecutionPlan>>> {
        Ok(self
            .input
            .repartitioned(target_partitions, config)?
            .map(|input| {
                Arc::new(Self::new(input, self.tap.clone(), self.origin.clone()))
                    as Arc<dyn ExecutionPlan>
            }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> datafusion::common::Result<SendableRecordBatchStream> {
        use futures::StreamExt;
        let schema = self.input.schema();
        let input = self.input.execute(partition, context)?;
        let partitions = self
            .input
            .properties()
            .output_partitioning()
            .partition_count();
        let (tap, done, rows) = (self.tap.clone(), self.done.clone(), self.rows.clone());
        let (files, source) = self.origin.clone();
        let counter = Arc::clone(&rows);
        let mut finished = false;
        use std::sync::atomic::Ordering::SeqCst;
        let stream = input
            .map(move |b| {
                b.inspect(|b| {
                    counter.fetch_add(b.num_rows() as u64, SeqCst);
                })
                .map_err(|e| {
                    datafusion::common::DataFusionError::External(Box::new(Error::input(format!(
                        "{files}: {} (source {source})",
                        crate::error::clean_error(&e)
                    ))))
                })
            })
            .chain(futures::stream::poll_fn(move |_| {
                // The input ended: this partition was read whole.
                if !finished {
                    finished = true;
                    if done.fetch_add(1, SeqCst) + 1 == partitions
                        && let Some(tap) = &tap
                    {
                        let _ = tap.rows.set(rows.load(SeqCst));
                    }
                }
                std::task::Poll::Ready(None)
            }));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, stream)))
    }
}

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;

    use datafusion::datasource::file_format::csv::CsvFormat;
    use datafusion::datasource::listing::{
        ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
    };
    use datafusion::prelude::{SessionConfig, SessionContext};

    use super::{RowTap, TappedTable};

    /// A session with 2 partitions and `t`: a CSV of `rows` data rows (a, b) behind a tap,
    /// its scan split into byte ranges (the file is over `repartition_file_min_size`).
    async fn tapped(
        dir: &std::path::Path,
        rows: usize,
        extra: &str,
    ) -> (SessionContext, Arc<RowTap>, String) {
        let path = dir.join("t.csv");
        let mut f = std::fs::File::create(&path).unwrap();
        writeln!(f, "a,b").unwrap();
        for i in 0..rows {
            writeln!(
                f,
                "{i},row number {i} with some text to make the file larger"
            )
            .unwrap();
        }
        write!(f, "{extra}").unwrap();
        drop(f);
        let mut config = SessionConfig::new().with_target_partitions(2);
        config.options_mut().optimizer.repartition_file_min_size = 1024;
        let ctx = SessionContext::new_with_config(config);
        let url = ListingTableUrl::parse(path.to_string_lossy()).unwrap();
        let options = ListingOptions::new(Arc::new(CsvFormat::default().with_has_header(true)))
            .with_file_extension("");
        let table_config = ListingTableConfig::new(url)
            .with_listing_options(options)
            .infer_schema(&ctx.state())
            .await
            .unwrap();
        let tap = Arc::new(RowTap::default());
        let label = path.display().to_string();
        let table = TappedTable {
            inner: Arc::new(ListingTable::try_new(table_config).unwrap()),
            tap: Some(Arc::clone(&tap)),
            label: label.clone(),
            source: "t".to_string(),
        };
        ctx.register_table("t", Arc::new(table)).unwrap();
        (ctx, tap, label)
    }

    /// The result of `sql` on `ctx`, as a printed table.
    async fn shown(ctx: &SessionContext, sql: &str) -> String {
        let batches = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        datafusion::arrow::util::pretty::pretty_format_batches(&batches)
            .unwrap()
            .to_string()
    }

    #[tokio::test]
    async fn counts_the_first_whole_scan_only() {
        let dir = tempfile::tempdir().unwrap();
        let (ctx, tap, _) = tapped(dir.path(), 3000, "").await;
        // The file scan is still split in two under the tap.
        let plan = shown(&ctx, "EXPLAIN SELECT count(b) FROM t").await;
        assert!(plan.contains("TapExec: counting=true"), "{plan}");
        assert!(plan.contains("file_groups={2 groups"), "{plan}");
        // A LIMIT reads part of the file: not a count.
        shown(&ctx, "SELECT * FROM t LIMIT 10").await;
        assert_eq!(tap.rows(), None);
        // A filter (applied above the scan) still reads every row: 3000 data rows, the header
        // not counted, though only 2999 rows pass `a > 0`.
        let got = shown(&ctx, "SELECT count(*) FROM t WHERE a > 0").await;
        assert!(got.contains("| 2999 "), "{got}");
        assert_eq!(tap.rows(), Some(3000));
        // A second whole scan keeps the first count.
        shown(&ctx, "SELECT b FROM t").await;
        assert_eq!(tap.rows(), Some(3000));
    }

    #[tokio::test]
    async fn a_scan_error_names_the_file_and_the_source() {
        let dir = tempfile::tempdir().unwrap();
        // A last row with three fields under a two-column header.
        let (ctx, tap, label) = tapped(dir.path(), 3000, "1,2,3\n").await;
        let err = ctx
            .sql("SELECT count(b) FROM t")
            .await
            .unwrap()
            .collect()
            .await
            .unwrap_err();
        // The error run_models reports: ours, unwrapped from DataFusion's.
        let datafusion::common::DataFusionError::External(inner) = err.find_root() else {
            panic!("not our error: {err}");
        };
        let ours = inner.downcast_ref::<crate::error::Error>().unwrap();
        assert_eq!(ours.exit_code(), 3);
        let text = ours.to_string();
        assert!(
            text.starts_with(&format!("{label}: Csv error: incorrect number of fields")),
            "{text}"
        );
        assert!(text.ends_with("(source t)"), "{text}");
        assert_eq!(tap.rows(), None);
    }
}
