//! The scan of a raw source: [`TappedTable`] wraps the files' `ListingTable`, and its
//! [`TapExec`] counts the rows of a whole CSV scan into a [`RowTap`] and names the files and
//! the source in a scan error.

use std::sync::Arc;

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::catalog::TableProvider;
use datafusion::common::tree_node::TreeNodeRecursion;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, PlanProperties, SendableRecordBatchStream,
};

use crate::error::Error;

/// The rows of a CSV source, counted while the run reads it: set by the first scan of the
/// source that reads every row to the end (no `LIMIT`, no pushed filter, every partition
/// finished), so `run` does not parse an export once more only to count it.
#[derive(Debug, Default)]
pub(crate) struct RowTap {
    rows: std::sync::OnceLock<u64>,
}

impl RowTap {
    /// The rows counted, or `None` when no scan has read the whole source yet.
    pub(crate) fn rows(&self) -> Option<u64> {
        self.rows.get().copied()
    }
}

/// A raw source: the `ListingTable` of its files, each whole scan of a CSV source counted
/// in a [`RowTap`] ([`TapExec`]). Same schema, rows and errors as the table it wraps, except
/// that an error of the scan itself (an unreadable file, a CSV row with the wrong number of
/// fields, a corrupt Parquet page) names the files and the source (exit 3).
#[derive(Debug)]
pub(super) struct TappedTable {
    pub(super) inner: Arc<dyn TableProvider>,
    /// Where a CSV source's rows are counted; `None` for Parquet (counted from its metadata).
    pub(super) tap: Option<Arc<RowTap>>,
    /// The files, for error messages.
    pub(super) label: String,
    pub(super) source: String,
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
