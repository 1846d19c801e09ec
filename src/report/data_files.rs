//! The order of the rows in the data files of a run (`data/<model>.csv` / `.parquet`).
//!
//! A re-run on the same inputs writes byte-identical data files, whatever the number of
//! partitions (`DATAFUSION_EXECUTION_TARGET_PARTITIONS`) or models run at once (`--jobs`):
//!
//! - a model whose query ends in `ORDER BY` is written in that order (every bundled model
//!   breaks its ties by a key, so the order is total), read back in one partition so that
//!   nothing reshuffles it between the model's result and the file;
//! - a model without `ORDER BY` is written sorted by all its columns, left to right
//!   (ascending, NULLs last): a defined order at the cost of a sort when the file is written.
//!
//! The values themselves are the same from run to run because the bundled models add up
//! money and fractional credit as exact `DECIMAL` sums (a parallel `DOUBLE` sum depends on
//! the order the rows arrive in: 39256.81 one night, 39256.810000000005 the next).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::{DataFrame, DataFrameWriteOptions};
use datafusion::prelude::{SessionContext, col};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;
use futures::StreamExt;

use crate::engine::model::Model;
use crate::error::{Error, Result};
use crate::project::Config;
use crate::report::pii::{PiiPolicy, neutralise_formulas};

/// Whether the query of `m` ends in an `ORDER BY` of its own (at the top level, not only in
/// a subquery or a window).
fn has_order_by(m: &Model) -> bool {
    match &m.statement {
        DFStatement::Statement(s) => {
            matches!(s.as_ref(), Statement::Query(q) if q.order_by.is_some())
        }
        _ => false,
    }
}

/// The rows of the relation `name` (a model's result) in the order its data file gets:
/// with `ordered` (the model has its own `ORDER BY`), as stored, read in one partition (a
/// result held in memory is one partition; a Parquet work file would otherwise be read in
/// parallel byte ranges, and a filter above the scan spread over several partitions);
/// without, sorted by all columns.
///
/// Errors: DataFusion's, when there is no relation `name` or a column cannot be sorted.
async fn data_frame(
    ctx: &SessionContext,
    name: &str,
    ordered: bool,
) -> datafusion::error::Result<DataFrame> {
    let df = ctx.table(name).await?;
    if !ordered {
        let keys: Vec<_> = df
            .schema()
            .fields()
            .iter()
            .map(|f| col(datafusion::common::Column::from_name(f.name())).sort(true, false))
            .collect();
        return df.sort(keys);
    }
    // A copy of the session's state (same tables) planning with one partition. (Not through
    // `SessionStateBuilder`: building a state registers a new, empty default catalog in the
    // catalog list it shares with the session.)
    let (mut state, plan) = df.into_parts();
    state.config_mut().options_mut().execution.target_partitions = 1;
    Ok(DataFrame::new(state, plan))
}

/// The rows of model `name`'s data file: [`data_frame`] with its personal-data columns
/// under the model's treatment ([`PiiPolicy::treat_frame`]).
///
/// Errors: exit 1 when there is no relation `name` or the treatment cannot be planned.
async fn file_frame(
    ctx: &SessionContext,
    name: &str,
    ordered: bool,
    pii: &PiiPolicy,
) -> Result<DataFrame> {
    let df = data_frame(ctx, name, ordered)
        .await
        .map_err(|e| Error::internal(format!("{name}: {e}")))?;
    pii.treat_frame(df, name)
}

/// Writes the data files of model `m` into `data_dir`: `data/<model>.csv` or `.parquet` as its
/// `data_file` says (a Parquet work file of a model with its own `ORDER BY` is hard-linked, not
/// rewritten), and the split CSVs of `split_csv_by`; rows in the order of
/// [`crate::report::data_files`].
///
/// Errors: exit 1 for I/O; exit 2 when a split value names another model (its file would be
/// overwritten); exit 4 when the split column is not a column of the model.
///
/// `all` are the project's models (a split value may not name one); the rows are read from
/// the relation `m.name` registered in `session`; personal data is treated as `pii` says for
/// the model (then a Parquet work file is rewritten, not linked), and CSV cells that would
/// run as formulas are neutralised ([`crate::report::pii`]).
pub(crate) async fn write_data_files(
    session: &SessionContext,
    config: &Config,
    all: &[Model],
    m: &Model,
    data_dir: &Path,
    work: &Path,
    pii: &PiiPolicy,
) -> Result<()> {
    let cfg = config.models.get(&m.name);
    // Rows in the model's own order, or sorted by every column (crate::report::output).
    let ordered = crate::report::data_files::has_order_by(m);
    match cfg.map(|c| c.data_file).unwrap_or_default() {
        crate::project::DataFile::Csv => {
            write_csv(
                session,
                &m.name,
                &data_dir.join(format!("{}.csv", m.name)),
                ordered,
                pii,
            )
            .await?;
        }
        crate::project::DataFile::Parquet => {
            let dest = data_dir.join(format!("{}.parquet", m.name));
            let work_file = work.join(format!("{}.parquet", m.name));
            // A work file holds the rows in the model's order: kept when that order is defined
            // and no personal data in it is to be treated.
            let treated = match session.table(m.name.as_str()).await {
                Ok(df) => pii.changes_data_file(
                    &m.name,
                    df.schema().fields().iter().map(|f| f.name().as_str()),
                ),
                Err(_) => false,
            };
            if ordered
                && !treated
                && m.materialize != crate::project::Materialize::View
                && work_file.exists()
            {
                // Same filesystem (both under the output folder): a hard link, no copy.
                if std::fs::hard_link(&work_file, &dest).is_err() {
                    std::fs::copy(&work_file, &dest).map_err(|e| Error::io(&dest, e))?;
                }
            } else {
                write_parquet(session, &m.name, &dest, ordered, pii).await?;
            }
        }
        crate::project::DataFile::None => {}
    }
    if let Some(column) = cfg.and_then(|c| c.split_csv_by.as_deref()) {
        let files = write_split_csv(session, &m.name, column, data_dir, ordered, pii).await?;
        for f in &files {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if all.iter().any(|o| o.name == stem) {
                return Err(Error::config(format!(
                    "[models.{}] split_csv_by = {column:?}: the value {stem:?} names the model {stem}; its data/{stem}.csv would be overwritten",
                    m.name
                )));
            }
        }
    }
    Ok(())
}

fn count_from_write(batches: &[RecordBatch]) -> u64 {
    use datafusion::arrow::array::AsArray;
    use datafusion::arrow::datatypes::UInt64Type;
    batches
        .first()
        .and_then(|b| {
            b.column(0)
                .as_primitive_opt::<UInt64Type>()
                .map(|a| a.value(0))
        })
        .unwrap_or(0)
}

/// Writes the relation `name` to `path` as CSV with a header (timestamps as
/// `YYYY-MM-DD HH:MM:SS` UTC, lists as `[a, b]`, text that would run as a formula prefixed
/// with `'`), streaming, in the order of
/// [`crate::report::data_files::data_frame`] (`ordered`: the model has its own `ORDER BY`).
async fn write_csv(
    ctx: &SessionContext,
    name: &str,
    path: &Path,
    ordered: bool,
    pii: &PiiPolicy,
) -> Result<u64> {
    let df = file_frame(ctx, name, ordered, pii).await?;
    write_df_csv(df, name, path).await
}

/// Writes the relation `name` to `path` as one Parquet file (zstd), streaming, in the order
/// of [`crate::report::data_files::data_frame`] (`ordered`: the model has its own `ORDER BY`).
///
/// Errors: exit 4 when the relation cannot be computed; exit 1 for I/O (naming `path`).
async fn write_parquet(
    ctx: &SessionContext,
    name: &str,
    path: &Path,
    ordered: bool,
    pii: &PiiPolicy,
) -> Result<u64> {
    let df = file_frame(ctx, name, ordered, pii).await?;
    let written = df
        .write_parquet(
            &path.to_string_lossy(),
            DataFrameWriteOptions::new().with_single_file_output(true),
            None,
        )
        .await
        .map_err(|e| {
            // A full disk is the machine's fault (exit 1), not the model's.
            let kind = match crate::error::io_failure(&e) {
                Some(_) => crate::error::ErrorKind::Internal,
                None => crate::error::ErrorKind::Model,
            };
            Error::new(
                kind,
                format!(
                    "{name}: writing {}: {}",
                    path.display(),
                    crate::error::clean_error(&e)
                ),
            )
        })?;
    Ok(count_from_write(&written))
}

/// Writes one CSV per distinct value of `column` of the relation `name` into `dir`, named
/// `<value>.csv` with the value made file-safe ([`file_stem`]), each in the order of
/// [`crate::report::data_files::data_frame`] (`ordered`: the model has its own `ORDER BY`). Returns the
/// files written.
///
/// Errors: exit 4 when `column` is not a column of the model; exit 1 for I/O.
async fn write_split_csv(
    ctx: &SessionContext,
    name: &str,
    column: &str,
    dir: &Path,
    ordered: bool,
    pii: &PiiPolicy,
) -> Result<Vec<PathBuf>> {
    use datafusion::prelude::{col, lit};
    let model_err = |e: datafusion::error::DataFusionError| {
        Error::model(format!(
            "[models.{name}] split_csv_by = {column:?}: {}",
            crate::error::clean_error(&e)
        ))
    };
    let df = file_frame(ctx, name, ordered, pii).await?;
    let values = df
        .clone()
        .select(vec![
            datafusion::prelude::cast(col(column), DataType::Utf8).alias("v"),
        ])
        .map_err(model_err)?
        .distinct()
        .map_err(model_err)?
        .collect()
        .await
        .map_err(model_err)?;
    let mut stems = std::collections::BTreeSet::new();
    for b in &values {
        let a = b.column(0).as_string::<i32>();
        for v in a.iter().flatten() {
            stems.insert(v.to_string());
        }
    }
    let mut files = Vec::new();
    for v in stems {
        let path = dir.join(format!("{}.csv", file_stem(&v)));
        let part = df
            .clone()
            .filter(datafusion::prelude::cast(col(column), DataType::Utf8).eq(lit(v.clone())))
            .map_err(model_err)?;
        write_df_csv(part, name, &path).await?;
        files.push(path);
    }
    Ok(files)
}

/// A text made safe as a file stem: ASCII letters, digits, `_` and `-` kept, anything else
/// `_`; empty becomes `_`.
pub(crate) fn file_stem(v: &str) -> String {
    let s: String = v
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    if s.is_empty() { "_".into() } else { s }
}

async fn write_df_csv(
    df: datafusion::dataframe::DataFrame,
    name: &str,
    path: &Path,
) -> Result<u64> {
    let schema = df.schema().as_arrow().clone();
    let mut stream = df
        .execute_stream()
        .await
        .map_err(|e| Error::internal(format!("{name}: {e}")))?;
    let file = std::fs::File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = datafusion::arrow::csv::WriterBuilder::new()
        .with_header(true)
        .with_timestamp_format("%Y-%m-%d %H:%M:%S".to_string())
        .with_datetime_format("%Y-%m-%d %H:%M:%S".to_string())
        .build(std::io::BufWriter::new(file));
    let mut rows = 0u64;
    let mut wrote_any = false;
    while let Some(batch) = stream.next().await {
        let batch = batch.map_err(|e| Error::internal(format!("{name}: {e}")))?;
        let batch = neutralise_formulas(&flatten_nested(&batch)?)?;
        rows += batch.num_rows() as u64;
        w.write(&batch)
            .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
        wrote_any = true;
    }
    if !wrote_any {
        // An empty result still gets its header row.
        let batch = flatten_nested(&RecordBatch::new_empty(Arc::new(schema)))?;
        w.write(&batch)
            .map_err(|e| Error::internal(format!("{}: {e}", path.display())))?;
    }
    drop(w);
    Ok(rows)
}

/// Casts list and struct columns to text (`[a, b]`) so they can be written as CSV.
pub(crate) fn flatten_nested(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    if !schema.fields().iter().any(|f| f.data_type().is_nested()) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::new();
    let mut cols = Vec::new();
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        if f.data_type().is_nested() {
            let text = crate::report::pages::nested_to_text(c);
            fields.push(Field::new(f.name(), DataType::Utf8, true));
            cols.push(text);
        } else {
            fields.push(f.as_ref().clone());
            cols.push(c.clone());
        }
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| Error::internal(e.to_string()))
}

/// Writes `data/rejects/<source>.csv` for every source that quarantined rows: one line per
/// row, `file, line, column, value, reason`, then the row's cells under the export's own
/// column names (a conflicting duplicate key found in a Parquet source has no row). Every
/// cell is the export's text, so every one a spreadsheet would run as a formula is prefixed
/// with `'`, as in the other data files ([`crate::report::pii::is_formula`]).
///
/// Errors (exit 1): the folder or a file cannot be written.
pub(crate) fn write_rejects(
    data_dir: &Path,
    quality: &[crate::sources::audit::SourceQuality],
) -> Result<()> {
    for q in quality.iter().filter(|q| !q.rejects.is_empty()) {
        let dir = data_dir.join("rejects");
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join(format!("{}.csv", q.source));
        let io = |e: csv::Error| match e.into_kind() {
            csv::ErrorKind::Io(e) => Error::io(&path, e),
            other => Error::internal(format!("{}: {other:?}", path.display())),
        };
        let mut w = csv::Writer::from_path(&path).map_err(io)?;
        let mut header = vec!["file", "line", "column", "value", "reason"];
        header.extend(q.header.iter().map(String::as_str));
        w.write_record(&header).map_err(io)?;
        for r in &q.rejects {
            let line = r.line.map(|l| l.to_string()).unwrap_or_default();
            let mut rec = vec![r.file.as_str(), &line, &r.column, &r.value, &r.reason];
            let empty = vec![String::new(); q.header.len()];
            let row = if r.row.len() == q.header.len() {
                &r.row
            } else {
                &empty
            };
            rec.extend(row.iter().map(String::as_str));
            let safe: Vec<std::borrow::Cow<str>> = rec
                .iter()
                .map(|c| {
                    if crate::report::pii::is_formula(c) {
                        std::borrow::Cow::Owned(format!("'{c}"))
                    } else {
                        std::borrow::Cow::Borrowed(*c)
                    }
                })
                .collect();
            w.write_record(safe.iter().map(|c| c.as_ref()))
                .map_err(io)?;
        }
        w.flush().map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}
