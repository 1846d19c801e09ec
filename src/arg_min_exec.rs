//! De-duplication by sorting hashes: a physical plan for `GROUP BY key` with one
//! `arg_min(row)` that returns what DataFusion's hash aggregate returns, with less work.
//!
//! ```sql
//! -- stg_events_distinct: one row per event_id, the smallest row of each
//! SELECT event_id, arg_min(named_struct('event_time', event_time, 'channel', channel)) AS e
//! FROM events GROUP BY event_id
//! ```
//!
//! DataFusion plans that query as a partial aggregate, a hash re-partitioning on the key and a
//! final aggregate. The final aggregate inserts every key into a hash table, which on an
//! event export is one insert per event: nearly every `event_id` is new, so nearly every
//! insert is a cache miss and the table grows, then [`crate::sql_arg_min`] assembles the
//! output row by row from wherever each group's row lies (`interleave`). On 10 million events
//! that final aggregate took 5.3 s of compute of the 10M run's ~30 s.
//!
//! [`ArgMinDedupRule`] replaces the three operators by the re-partitioning followed by
//! [`ArgMinDedupExec`], which per partition:
//!
//! 1. keeps its input batches (the key and the evaluated `row` argument only);
//! 2. hashes every key once (DataFusion's `create_hashes`, another seed than the
//!    re-partitioning's) into a list of `(hash, batch, row)`, and sorts that list by hash;
//! 3. walks the runs of equal hashes: a run of one (a key seen once) is kept as it is; in a
//!    longer run, rows with equal keys form a group and all but its smallest row (in
//!    `arg_min`'s order) are marked dropped — different keys that share a hash stay apart;
//! 4. emits each kept batch with its dropped rows filtered out, releasing it as it goes (a
//!    batch without drops is passed on without a copy).
//!
//! # Semantics (the same as the plan it replaces)
//!
//! - groups: rows whose keys are equal (`GROUP BY`'s equality; NULL keys form one group);
//! - per group, the row whose `row` value is smallest in [`crate::sql_arg_min`]'s order:
//!   ascending, NULLS LAST, a struct field by field (arrow's `make_comparator`, the comparison
//!   `arg_min` itself uses for these types); among rows with equal values any one, which
//!   changes nothing since the output holds only the key and that value;
//! - output: the aggregate's schema (the key column, then the `arg_min` column), one row per
//!   group, in no particular order (as a hash aggregate's).
//!
//! # When it applies
//!
//! Only to the shape `AggregateExec(FinalPartitioned) ← RepartitionExec(Hash) ←
//! AggregateExec(Partial)` with one group expression, no grouping sets, one aggregate that is
//! `arg_min` with a single argument (no `FILTER`, `DISTINCT` or `ORDER BY`), a key of text,
//! integer, date or timestamp type and a value compared in place by `arg_min`
//! (`compared_in_place`: flat types and structs of them). Every other plan is left alone.
//!
//! It holds its partition's input in memory and does not spill, so
//! [`crate::session::build_session`] installs it only without `--memory-limit`; under a
//! limit DataFusion's aggregate, which spills, runs instead. Its memory is still reserved in
//! the session's pool (`ArgMinDedupExec[partition]`).
//!
//! Errors (execution): those of its input; a key or value expression that fails to evaluate;
//! the memory pool refusing a reservation ("Resources exhausted").

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBufferBuilder, make_comparator,
};
use datafusion::arrow::compute::filter_record_batch;
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::config::ConfigOptions;
use datafusion::execution::TaskContext;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::apply_expression_roots;
use datafusion::physical_plan::metrics::{BaselineMetrics, ExecutionPlanMetricsSet, MetricsSet};
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};

use crate::sql_arg_min::{ArgMin, KEY_ORDER, compared_in_place};

/// The physical optimizer rule that puts [`ArgMinDedupExec`] in place of a partial and
/// final hash aggregate of the shape listed in the [module docs](self). Runs after
/// DataFusion's own rules (it is appended by `SessionStateBuilder::with_physical_optimizer_rule`).
#[derive(Debug, Default)]
pub struct ArgMinDedupRule;

impl PhysicalOptimizerRule for ArgMinDedupRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        _config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        plan.transform_up(|node| {
            Ok(match rewrite(&node)? {
                Some(new) => Transformed::yes(new),
                None => Transformed::no(node),
            })
        })
        .data()
    }

    fn name(&self) -> &str {
        "arg_min_dedup"
    }

    fn schema_check(&self) -> bool {
        true
    }
}

/// The replacement of `node` when it is a final aggregate of the supported shape.
fn rewrite(node: &Arc<dyn ExecutionPlan>) -> Result<Option<Arc<dyn ExecutionPlan>>> {
    let Some(fin) = node.downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    if *fin.mode() != AggregateMode::FinalPartitioned || fin.limit_options().is_some() {
        return Ok(None);
    }
    let Some(rep) = fin.input().downcast_ref::<RepartitionExec>() else {
        return Ok(None);
    };
    let &Partitioning::Hash(_, n) = rep.partitioning() else {
        return Ok(None);
    };
    let Some(part) = rep.input().downcast_ref::<AggregateExec>() else {
        return Ok(None);
    };
    if *part.mode() != AggregateMode::Partial || part.limit_options().is_some() {
        return Ok(None);
    }
    if single_arg_min(fin).is_none() {
        return Ok(None);
    }
    let Some((key, value)) = single_arg_min(part) else {
        return Ok(None);
    };
    let schema = part.input_schema();
    let key_type = key.data_type(&schema)?;
    let value_type = value.data_type(&schema)?;
    if !key_supported(&key_type) || !compared_in_place(&value_type) {
        return Ok(None);
    }
    let repartitioned: Arc<dyn ExecutionPlan> = Arc::new(RepartitionExec::try_new(
        Arc::clone(part.input()),
        Partitioning::Hash(vec![Arc::clone(&key)], n),
    )?);
    Ok(Some(Arc::new(ArgMinDedupExec {
        input: repartitioned,
        key,
        value,
        schema: fin.schema(),
        cache: Arc::clone(fin.properties()),
        metrics: ExecutionPlanMetricsSet::new(),
    })))
}

/// `(key, value)` of an aggregate grouping by one expression with `arg_min(value)` as its
/// only aggregate (no FILTER, DISTINCT or ORDER BY), in its input's terms.
fn single_arg_min(agg: &AggregateExec) -> Option<(Arc<dyn PhysicalExpr>, Arc<dyn PhysicalExpr>)> {
    let group_by = agg.group_expr();
    if group_by.has_grouping_set() || group_by.expr().len() != 1 {
        return None;
    }
    let [aggr] = agg.aggr_expr() else {
        return None;
    };
    if agg.filter_expr().iter().any(Option::is_some)
        || aggr.is_distinct()
        || aggr.is_reversed()
        || !aggr.order_bys().is_empty()
        || aggr.fun().inner().downcast_ref::<ArgMin>().is_none()
    {
        return None;
    }
    let [value] = aggr.expressions().try_into().ok()?;
    Some((Arc::clone(&group_by.expr()[0].0), value))
}

/// Key types whose `GROUP BY` equality is exactly `make_comparator`'s `Equal`: text,
/// integers, dates and timestamps (no floats: their grouping treats NaNs and signed zeros in
/// ways not checked here).
fn key_supported(t: &DataType) -> bool {
    t.is_integer()
        || matches!(
            t,
            DataType::Utf8
                | DataType::LargeUtf8
                | DataType::Utf8View
                | DataType::Date32
                | DataType::Date64
                | DataType::Timestamp(..)
        )
}

/// `GROUP BY key` with `arg_min(value)` by sorting key hashes (see the [module docs](self)).
/// Input: any batches, hash-partitioned on `key`. Output: the replaced aggregate's schema —
/// the key, then the value of the group's smallest row — one row per group, in the
/// replaced aggregate's partitioning.
#[derive(Debug)]
pub struct ArgMinDedupExec {
    input: Arc<dyn ExecutionPlan>,
    key: Arc<dyn PhysicalExpr>,
    value: Arc<dyn PhysicalExpr>,
    schema: SchemaRef,
    cache: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl DisplayAs for ArgMinDedupExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ArgMinDedupExec: key={}, value={}", self.key, self.value)
    }
}

impl ExecutionPlan for ArgMinDedupExec {
    fn name(&self) -> &str {
        "ArgMinDedupExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.cache
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        vec![&self.input]
    }

    fn apply_expressions(
        &self,
        f: &mut dyn FnMut(&Arc<dyn PhysicalExpr>) -> Result<TreeNodeRecursion>,
    ) -> Result<TreeNodeRecursion> {
        apply_expression_roots([&self.key, &self.value], f)
    }

    fn with_new_children(
        self: Arc<Self>,
        children: Vec<Arc<dyn ExecutionPlan>>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let [input] = children.try_into().map_err(|_| {
            DataFusionError::Internal("ArgMinDedupExec takes one input".to_string())
        })?;
        if input.properties().output_partitioning().partition_count()
            != self.cache.output_partitioning().partition_count()
        {
            return internal_err!("ArgMinDedupExec: its input changed its partition count");
        }
        Ok(Arc::new(Self {
            input,
            key: Arc::clone(&self.key),
            value: Arc::clone(&self.value),
            schema: Arc::clone(&self.schema),
            cache: Arc::clone(&self.cache),
            metrics: ExecutionPlanMetricsSet::new(),
        }))
    }

    fn execute(
        &self,
        partition: usize,
        context: Arc<TaskContext>,
    ) -> Result<SendableRecordBatchStream> {
        let input = self.input.execute(partition, Arc::clone(&context))?;
        let reservation = MemoryConsumer::new(format!("ArgMinDedupExec[{partition}]"))
            .register(context.memory_pool());
        let baseline = BaselineMetrics::new(&self.metrics, partition);
        let fut = dedup_partition(
            input,
            Arc::clone(&self.key),
            Arc::clone(&self.value),
            Arc::clone(&self.schema),
            reservation,
            baseline,
        );
        let stream = futures::stream::once(fut)
            .map_ok(|batches| futures::stream::iter(batches.map(Ok::<_, DataFusionError>)))
            .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// One retained input batch: its key and value columns.
struct Kept {
    key: ArrayRef,
    value: ArrayRef,
    /// The bytes of both, as reserved.
    bytes: usize,
}

/// Reads one partition, finds the rows to drop, and returns the output batches, each made
/// (and its retained input released) when the consumer asks for it.
async fn dedup_partition(
    mut input: SendableRecordBatchStream,
    key_expr: Arc<dyn PhysicalExpr>,
    value_expr: Arc<dyn PhysicalExpr>,
    schema: SchemaRef,
    reservation: MemoryReservation,
    baseline: BaselineMetrics,
) -> Result<impl Iterator<Item = RecordBatch> + Send> {
    // Another seed than the re-partitioning's, so the hashes of one partition spread.
    let state = RandomState::with_seed(0x6a6f75726e6579);
    let mut kept: Vec<Kept> = Vec::new();
    // (hash of the key, batch, row)
    let mut entries: Vec<(u64, u32, u32)> = Vec::new();
    let mut hashes: Vec<u64> = Vec::new();
    let mut kept_bytes = 0usize;
    while let Some(batch) = input.next().await {
        let batch = batch?;
        if batch.num_rows() == 0 {
            continue;
        }
        let _timer = baseline.elapsed_compute().timer();
        let key = key_expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        let value = value_expr.evaluate(&batch)?.into_array(batch.num_rows())?;
        hashes.clear();
        hashes.resize(batch.num_rows(), 0);
        create_hashes([&key], &state, &mut hashes)?;
        let b = u32::try_from(kept.len()).expect("fewer than 2^32 batches");
        let before = entries.capacity();
        entries.extend(hashes.iter().enumerate().map(|(r, &h)| (h, b, r as u32)));
        let bytes = key.get_array_memory_size() + value.get_array_memory_size();
        reservation
            .try_grow(bytes + (entries.capacity() - before) * size_of::<(u64, u32, u32)>())?;
        kept_bytes += bytes;
        kept.push(Kept { key, value, bytes });
    }
    let timer = baseline.elapsed_compute().timer();
    entries.sort_unstable_by_key(|e| e.0);
    // Rows to drop, per batch.
    let mut dropped: Vec<Vec<u32>> = vec![Vec::new(); kept.len()];
    let mut i = 0;
    while i < entries.len() {
        let mut j = i + 1;
        while j < entries.len() && entries[j].0 == entries[i].0 {
            j += 1;
        }
        if j - i > 1 {
            resolve_run(&entries[i..j], &kept, &mut dropped)?;
        }
        i = j;
    }
    drop(entries);
    timer.done();
    let out_rows = baseline.output_rows().clone();
    let elapsed = baseline.elapsed_compute().clone();
    // The sort list is gone; the kept batches are released one by one as they are emitted.
    reservation.shrink(reservation.size().saturating_sub(kept_bytes));
    Ok(kept
        .into_iter()
        .zip(dropped)
        .map(move |(k, drops)| {
            let _timer = elapsed.timer();
            reservation.shrink(k.bytes.min(reservation.size()));
            let n = k.key.len();
            let batch = RecordBatch::try_new(Arc::clone(&schema), vec![k.key, k.value])
                .expect("the key and value columns match the aggregate's schema");
            let batch = if drops.is_empty() {
                batch
            } else {
                let mut keep = BooleanBufferBuilder::new(n);
                keep.append_n(n, true);
                for r in drops {
                    keep.set_bit(r as usize, false);
                }
                filter_record_batch(&batch, &BooleanArray::new(keep.finish(), None))
                    .expect("a filter of a batch by a mask of its length")
            };
            out_rows.add(batch.num_rows());
            batch
        })
        .filter(|b| b.num_rows() > 0))
}

/// One run of entries with equal hashes: groups its rows by key equality and marks in
/// `dropped` every row but the smallest (first among equals) of each group.
fn resolve_run(run: &[(u64, u32, u32)], kept: &[Kept], dropped: &mut [Vec<u32>]) -> Result<()> {
    // Per group: the entry holding its smallest row so far.
    let mut best: Vec<(u32, u32)> = Vec::new();
    // `column` of row `r` of batch `b` against row `gr` of batch `gb`, in arg_min's order.
    let cmp = |column: fn(&Kept) -> &ArrayRef, (b, r): (u32, u32), (gb, gr): (u32, u32)| {
        let cmp = make_comparator(
            column(&kept[b as usize]).as_ref(),
            column(&kept[gb as usize]).as_ref(),
            KEY_ORDER,
        )?;
        Ok::<_, DataFusionError>(cmp(r as usize, gr as usize))
    };
    for &(_, b, r) in run {
        let mut group = None;
        for (g, &other) in best.iter().enumerate() {
            if cmp(|k| &k.key, (b, r), other)? == Ordering::Equal {
                group = Some(g);
                break;
            }
        }
        let Some(g) = group else {
            best.push((b, r));
            continue;
        };
        let (gb, gr) = best[g];
        if cmp(|k| &k.value, (b, r), (gb, gr))? == Ordering::Less {
            dropped[gb as usize].push(gr);
            best[g] = (b, r);
        } else {
            dropped[b as usize].push(r);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use datafusion::arrow::array::{ArrayRef, Int64Array, RecordBatch, StringArray};
    use datafusion::arrow::datatypes::{DataType, Field, Schema};
    use datafusion::datasource::MemTable;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::prelude::{SessionConfig, SessionContext};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{ArgMinDedupRule, Kept, resolve_run};

    /// A session with `arg_min`, 3 partitions and batches of 100 rows, with or without the rule.
    fn ctx(rule: bool) -> SessionContext {
        let config = SessionConfig::new()
            .with_target_partitions(3)
            .with_batch_size(100);
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_default_features();
        if rule {
            state = state.with_physical_optimizer_rule(Arc::new(ArgMinDedupRule));
        }
        let ctx = SessionContext::new_with_state(state.build());
        crate::functions::register_all(&ctx);
        ctx
    }

    /// Registers `t(k TEXT, n BIGINT, ts BIGINT, s TEXT)` from rows, split into batches of 7.
    fn register(
        ctx: &SessionContext,
        rows: &[(Option<String>, Option<i64>, Option<i64>, Option<String>)],
    ) {
        let schema = Arc::new(Schema::new(vec![
            Field::new("k", DataType::Utf8, true),
            Field::new("n", DataType::Int64, true),
            Field::new("ts", DataType::Int64, true),
            Field::new("s", DataType::Utf8, true),
        ]));
        let batches: Vec<RecordBatch> = rows
            .chunks(7)
            .map(|c| {
                let cols: Vec<ArrayRef> = vec![
                    Arc::new(StringArray::from_iter(c.iter().map(|r| r.0.clone()))),
                    Arc::new(Int64Array::from_iter(c.iter().map(|r| r.1))),
                    Arc::new(Int64Array::from_iter(c.iter().map(|r| r.2))),
                    Arc::new(StringArray::from_iter(c.iter().map(|r| r.3.clone()))),
                ];
                RecordBatch::try_new(Arc::clone(&schema), cols).unwrap()
            })
            .collect();
        // Two partitions of input, as a file scan gives.
        let half = batches.len() / 2;
        let parts = vec![batches[..half].to_vec(), batches[half..].to_vec()];
        ctx.register_table("t", Arc::new(MemTable::try_new(schema, parts).unwrap()))
            .unwrap();
    }

    /// The result rows as text, sorted, and whether the plan used `ArgMinDedupExec`.
    async fn run(ctx: &SessionContext, sql: &str) -> (Vec<String>, bool) {
        let df = ctx.sql(sql).await.unwrap();
        let plan = df.clone().create_physical_plan().await.unwrap();
        let shown = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        let mut rows: Vec<String> = crate::sql_arg_min::tests::query(ctx, sql)
            .await
            .into_iter()
            .map(|cells| cells.join("|"))
            .collect();
        rows.sort();
        (rows, shown.contains("ArgMinDedupExec"))
    }

    const DEDUP: &str =
        "SELECT k, arg_min(named_struct('ts', ts, 's', s, 'n', n)) AS e FROM t GROUP BY k";

    fn s(x: &str) -> Option<String> {
        Some(x.to_string())
    }

    #[tokio::test]
    async fn keeps_the_smallest_row_of_each_key_by_hand() {
        // key a: (ts 3, "x"), (ts 1, "z"), (ts 1, "y"), (ts NULL, "w"): ts 1 is the smallest
        //        (NULLS LAST), and of the two rows with ts 1, "y" < "z" → (1, y).
        // key b: one row → itself, (5, v).
        // key NULL: the NULL keys are one group: (ts 2, "p") and (ts 0, NULL) → (0, NULL).
        // key c: twice the same row (an exact repeat) → that row once, (4, q).
        let rows = vec![
            (s("a"), Some(1), Some(3), s("x")),
            (s("b"), Some(2), Some(5), s("v")),
            (None, Some(3), Some(2), s("p")),
            (s("a"), Some(4), Some(1), s("z")),
            (s("c"), Some(5), Some(4), s("q")),
            (s("a"), Some(6), None, s("w")),
            (None, Some(7), Some(0), None),
            (s("a"), Some(8), Some(1), s("y")),
            (s("c"), Some(5), Some(4), s("q")),
        ];
        let c = ctx(true);
        register(&c, &rows);
        let (got, used) = run(
            &c,
            &format!("SELECT k, e['ts'], e['s'], e['n'] FROM ({DEDUP})"),
        )
        .await;
        assert!(used, "the rule did not apply");
        assert_eq!(got, vec!["NULL|0|NULL|7", "a|1|y|8", "b|5|v|2", "c|4|q|5"]);
    }

    #[tokio::test]
    async fn matches_datafusions_hash_aggregate() {
        // 3,000 rows over 400 keys (and NULL keys), with NULL fields and exact repeats: the
        // result with the rule must be the one without it, row for row.
        let mut rng = ChaCha8Rng::seed_from_u64(11);
        let mut rows = Vec::new();
        for i in 0..3000 {
            let k = if rng.random_bool(0.02) {
                None
            } else {
                Some(format!("k{}", rng.random_range(0..400)))
            };
            let ts = if rng.random_bool(0.1) {
                None
            } else {
                Some(rng.random_range(0..20))
            };
            let st = if rng.random_bool(0.1) {
                None
            } else {
                Some(format!("s{}", rng.random_range(0..5)))
            };
            let row = (k, Some(i), ts, st);
            if rng.random_bool(0.05) {
                rows.push(row.clone());
            }
            rows.push(row);
        }
        for sql in [
            DEDUP.to_string(),
            // an integer key
            "SELECT n % 97 AS k, arg_min(named_struct('ts', ts, 's', s)) AS e FROM t GROUP BY n % 97".to_string(),
            // one field, not a struct
            "SELECT k, arg_min(ts) FROM t GROUP BY k".to_string(),
        ] {
            let with = ctx(true);
            register(&with, &rows);
            let without = ctx(false);
            register(&without, &rows);
            let (a, used) = run(&with, &sql).await;
            let (b, not_used) = run(&without, &sql).await;
            assert!(used && !not_used, "{sql}: the rule applied {used} / {not_used}");
            assert_eq!(a.len(), b.len(), "{sql}");
            assert_eq!(a, b, "{sql}");
        }
    }

    #[tokio::test]
    async fn leaves_other_aggregates_alone() {
        let rows = vec![
            (s("a"), Some(1), Some(3), s("x")),
            (s("a"), Some(2), Some(1), s("y")),
        ];
        for sql in [
            // keys given: arg_min(value, key)
            "SELECT k, arg_min(s, ts) FROM t GROUP BY k",
            // two group columns
            "SELECT k, s, arg_min(ts) FROM t GROUP BY k, s",
            // another aggregate beside it
            "SELECT k, arg_min(ts), count(*) FROM t GROUP BY k",
            // a float key
            "SELECT CAST(n AS DOUBLE) AS f, arg_min(ts) FROM t GROUP BY CAST(n AS DOUBLE)",
            // FILTER
            "SELECT k, arg_min(ts) FILTER (WHERE n > 1) FROM t GROUP BY k",
        ] {
            let c = ctx(true);
            register(&c, &rows);
            let (_, used) = run(&c, sql).await;
            assert!(!used, "{sql}");
        }
    }

    #[test]
    fn keys_that_share_a_hash_stay_apart() {
        // One run of equal hashes (as a collision would give) holding keys a, b, a with
        // values 2, 1, 1: key a keeps its row 2 (value 1 < 2) and drops row 0; b, alone in
        // its group, is kept although its value equals a's best.
        let kept = vec![Kept {
            key: Arc::new(StringArray::from(vec!["a", "b", "a"])),
            value: Arc::new(Int64Array::from(vec![2, 1, 1])),
            bytes: 0,
        }];
        let mut dropped = vec![Vec::new()];
        resolve_run(&[(7, 0, 0), (7, 0, 1), (7, 0, 2)], &kept, &mut dropped).unwrap();
        assert_eq!(dropped, vec![vec![0]]);
    }
}
