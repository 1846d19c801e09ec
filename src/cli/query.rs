//! `query`: one SQL statement over the sources and the planned models.
//!
//! Rows come back in the query's own `ORDER BY`, or, without one, sorted by every column
//! left to right (ascending, NULLs last) — the rule of the data files
//! ([`crate::report::data_files`]), so `SELECT * FROM funnel` lists stages 1 to 5. A table
//! that does not exist is named with the closest existing one and the list of tables.

use datafusion::arrow::array::RecordBatch;
use datafusion::prelude::{SessionContext, col};
use datafusion::sql::parser::Statement as DFStatement;
use datafusion::sql::sqlparser::ast::Statement;

use crate::cli::prepare::{ProjectArgs, prepare};
use crate::engine::{model, runner};
use crate::error::{Error, Result};

/// `query`: runs one SQL statement over the sources and (planned, unmaterialized) models.
pub(crate) async fn query(args: &ProjectArgs, sql: &str) -> Result<Vec<RecordBatch>> {
    let (prep, problems) = prepare(args, true).await?;
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    for m in &prep.models {
        runner::plan_as_view(&prep.ctx, &args.project, m, &prep.sources).await?;
    }
    if sql.trim_start().to_ascii_lowercase().starts_with("explain") {
        // EXPLAIN [ANALYZE] of a query without $parameters: to see how a model runs.
        let df = prep
            .ctx
            .sql(sql)
            .await
            .map_err(|e| Error::model(format!("query: {}", crate::error::clean_error(&e))))?;
        return df
            .collect()
            .await
            .map_err(|e| Error::model(format!("query: {}", crate::error::clean_error(&e))));
    }
    let dir = std::env::temp_dir().join(format!("journey-report-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file = dir.join("query.sql");
    std::fs::write(&file, sql).map_err(|e| Error::io(&file, e))?;
    let parsed = model::parse_model(&prep.ctx, &dir, &file, &prep.params, &prep.config);
    let _ = std::fs::remove_dir_all(&dir);
    let m = parsed.map_err(|e| Error::model(e.message.replace("query.sql", "query")))?;
    // Only a query without an ORDER BY of its own is sorted.
    let ordered = !matches!(&m.statement, DFStatement::Statement(s)
        if matches!(s.as_ref(), Statement::Query(q) if q.order_by.is_none()));
    let plan = prep
        .ctx
        .state()
        .statement_to_plan(m.statement)
        .await
        .map_err(|e| Error::model(query_error(&prep.ctx, &crate::error::clean_error(&e))))?;
    let mut df = prep
        .ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| Error::model(format!("query: {}", crate::error::clean_error(&e))))?;
    if !ordered {
        let keys: Vec<_> = df
            .schema()
            .fields()
            .iter()
            .filter(|f| !f.data_type().is_nested())
            .map(|f| col(datafusion::common::Column::from_name(f.name())).sort(true, false))
            .collect();
        if !keys.is_empty() {
            df = df
                .sort(keys)
                .map_err(|e| Error::model(format!("query: {}", crate::error::clean_error(&e))))?;
        }
    }
    df.collect()
        .await
        .map_err(|e| match crate::functions::find_bad_value(&e) {
            Some(b) => crate::sources::locate_bad_value(&prep.sources, &b),
            None => Error::model(format!("query: {}", crate::error::clean_error(&e))),
        })
}

/// The message of a query that failed to plan: DataFusion's, and for a table that does not
/// exist (`table 'datafusion.public.funel' not found`) the closest table name and the list
/// of tables (sources, their `raw_` forms and the models), as a misspelt column gets.
fn query_error(ctx: &SessionContext, msg: &str) -> String {
    let Some(name) = msg
        .split_once("table '")
        .and_then(|(_, rest)| rest.split_once("' not found"))
        .map(|(t, _)| t.rsplit('.').next().unwrap_or(t).to_string())
    else {
        return format!("query: {msg}");
    };
    let mut tables: Vec<String> = ctx
        .catalog("datafusion")
        .and_then(|c| c.schema("public"))
        .map(|s| s.table_names())
        .unwrap_or_default();
    tables.sort();
    let Some(closest) = tables
        .iter()
        .min_by_key(|t| strsim::levenshtein(t, &name.to_ascii_lowercase()))
    else {
        return format!("query: {msg}");
    };
    let msg = msg.replace("datafusion.public.", "");
    format!(
        "query: {msg}. Did you mean '{closest}'? The tables are: {}.",
        tables.join(", ")
    )
}
