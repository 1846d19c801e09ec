//! Counting a source's rows through its typed view, so that every conversion runs on every
//! row (what `check` does), and the error of a count that failed.

use datafusion::arrow::array::AsArray;
use datafusion::prelude::SessionContext;

use super::SourceInfo;
use super::locate::{file_list, locate_in_source};
use crate::error::Error;

/// The rows of the typed view `<name>` of a source, read the way the models read it: `SELECT
/// count(*), count(c1), …, count(cN) FROM <name>`, so that every column's conversion runs on
/// every row (a plain `count(*)` needs no column, and a Parquet file answers it from its
/// metadata). What `check` counts: a value `run` cannot read fails here with the same error.
///
/// Errors: DataFusion's, with a [`BadValue`](crate::functions::BadValue) for an unreadable value (see [`count_failed`]).
pub(crate) async fn count_typed(
    ctx: &SessionContext,
    name: &str,
) -> datafusion::common::Result<u64> {
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
pub(crate) async fn forcing_counts(
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
pub(crate) fn count_failed(src: &SourceInfo, e: &datafusion::common::DataFusionError) -> Error {
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
