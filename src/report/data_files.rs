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

use datafusion::dataframe::DataFrame;
use datafusion::prelude::{SessionContext, col};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;

use crate::engine::models::Model;

/// Whether the query of `m` ends in an `ORDER BY` of its own (at the top level, not only in
/// a subquery or a window).
pub fn has_order_by(m: &Model) -> bool {
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
pub async fn data_frame(
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
