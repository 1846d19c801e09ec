//! `query`: one SQL statement over the sources and the planned models.

use datafusion::arrow::array::RecordBatch;

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
    let plan = prep
        .ctx
        .state()
        .statement_to_plan(m.statement)
        .await
        .map_err(|e| Error::model(format!("query: {}", crate::error::clean_error(&e))))?;
    let df = prep
        .ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| Error::model(format!("query: {}", crate::error::clean_error(&e))))?;
    df.collect()
        .await
        .map_err(|e| match crate::functions::find_bad_value(&e) {
            Some(b) => crate::sources::locate_bad_value(&prep.sources, &b),
            None => Error::model(format!("query: {}", crate::error::clean_error(&e))),
        })
}
