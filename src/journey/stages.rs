//! The funnel stages of `[funnel]` as the table `funnel_stages`, and the check that the
//! events they (and every `*_event` parameter) name occur in the events source.

use std::collections::BTreeSet;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;

use crate::error::{Error, Result};
use crate::project::Config;

/// The `funnel_stages` table: one row per (stage, event) of `[funnel]`:
/// `stage_index` (Int64, 1-based), `stage` (Utf8), `event_name` (Utf8).
///
/// Errors: exit 1 (internal) only if Arrow refuses the columns.
pub(crate) fn funnel_table(cfg: &Config) -> Result<MemTable> {
    let mut idx = Vec::new();
    let mut stage = Vec::new();
    let mut event = Vec::new();
    for (i, s) in cfg.funnel.stages.iter().enumerate() {
        for e in &s.events {
            idx.push(i as i64 + 1);
            stage.push(s.name.clone());
            event.push(e.clone());
        }
    }
    let schema = Arc::new(Schema::new(vec![
        Field::new("stage_index", DataType::Int64, false),
        Field::new("stage", DataType::Utf8, false),
        Field::new("event_name", DataType::Utf8, false),
    ]));
    let batch = RecordBatch::try_new(
        schema.clone(),
        vec![
            Arc::new(Int64Array::from(idx)),
            Arc::new(StringArray::from(stage)),
            Arc::new(StringArray::from(event)),
        ],
    )
    .map_err(|e| Error::internal(e.to_string()))?;
    MemTable::try_new(schema, vec![vec![batch]]).map_err(|e| Error::internal(e.to_string()))
}

/// How many events `cli::prepare` looks at first for the funnel-stage check.
pub(crate) const STAGE_SAMPLE_ROWS: usize = 200_000;

/// The row count of the `events` source and its distinct non-NULL event names, in one read:
/// `SELECT event_name, count(*) FROM events GROUP BY event_name` — of its first `limit` rows
/// (in file order) when given. With `force`, every column is read and converted as the
/// models would ([`crate::sources::count_typed`]).
pub(crate) async fn count_event_names(
    ctx: &SessionContext,
    limit: Option<usize>,
    force: bool,
) -> datafusion::error::Result<(u64, BTreeSet<String>)> {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let (columns, forced) = match force {
        true => ("*", crate::sources::forcing_counts(ctx, "events").await?),
        false => ("event_name", String::new()),
    };
    let batches = ctx
        .sql(&format!(
            "SELECT event_name, count(*){forced} FROM (SELECT {columns} FROM events{limit}) GROUP BY event_name"
        ))
        .await?
        .collect()
        .await?;
    let mut rows = 0u64;
    let mut names = BTreeSet::new();
    for b in &batches {
        // The text may come back as Utf8 or Utf8View: normalise before reading it.
        let name = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let name = name.as_string::<i32>();
        let count = b.column(1).as_primitive_opt::<Int64Type>().ok_or_else(|| {
            datafusion::error::DataFusionError::Internal("count(*) is not Int64".into())
        })?;
        for i in 0..b.num_rows() {
            rows += count.value(i) as u64;
            if name.is_valid(i) {
                names.insert(name.value(i).to_string());
            }
        }
    }
    Ok((rows, names))
}
