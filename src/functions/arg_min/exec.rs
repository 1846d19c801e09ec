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
//! insert is a cache miss and the table grows, then [`crate::functions::arg_min`] assembles the
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
//! - per group, the row whose `row` value is smallest in [`crate::functions::arg_min`]'s order:
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
//! # Under a memory limit: two passes
//!
//! An event export does not fit in memory at scale (100M events: about 11 GB as Arrow), but
//! few of its rows are repeats. With [`DedupOptions::dedup_two_pass`] (set when the inputs do not
//! fit under `--memory-limit`) each partition reads its input twice:
//!
//! 1. **pass 1** reads the keys alone (a second, fresh copy of the input plan, projected to
//!    the key and re-partitioned the same way) into a `RepeatFilter`: two bit arrays, the
//!    bit a key's hash picks set in the first on its first sight and in the second on its
//!    second — 2 × 128 MiB per partition at most, an eighth of its share of the pool;
//! 2. **pass 2** reads the rows: a row whose key's bit is not in the second array was seen
//!    once, and is output at once, in input order; the others (the repeats, and keys whose
//!    bit another key shares) are candidates, de-duplicated as above. With 100M events 5.5%
//!    of the rows are candidates.
//!
//! The output is then the unique rows in input order, followed by the candidates' survivors.
//! Without room for the filter (a pool under 1.5 MiB per 3 partitions) the input is read
//! once, every row a candidate.
//!
//! # Memory and spilling
//!
//! Each partition reserves what it holds in the session's pool (`ArgMinDedupExec[partition]`,
//! a consumer that can spill: DataFusion's fair pool gives it a share). When a reservation
//! for candidates is refused (only under a limit):
//!
//! 1. it de-duplicates what it holds; if that drops at least half the rows, it goes on in
//!    memory with the survivors (an export made mostly of repeats never touches the disk);
//! 2. otherwise it writes every candidate, held and still to come, to one of 32 spill files
//!    (Arrow IPC, DataFusion's `SpillManager`, in the spill directory) chosen by 5 bits of
//!    the key's hash, so that equal keys share a file;
//! 3. then it reads the files back one at a time and de-duplicates each the same way; a file
//!    that does not fit either spills into 32 more by the next 5 bits (grace hash
//!    partitioning, as in a hash join that spills), down to 12 levels (60 of the 64 bits).
//!
//! Without a limit the pool never refuses, and nothing is written.
//!
//! Errors (execution): those of its input; a key or value expression that fails to evaluate;
//! a spill file that cannot be written or read; "Resources exhausted" when more distinct
//! keys than fit in the partition's share of memory share 60 bits of hash (not seen in
//! practice: repeats of one key are always dropped down to one row).

use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, BooleanBufferBuilder, UInt32Array, make_comparator,
};
use datafusion::arrow::buffer::BooleanBuffer;
use datafusion::arrow::compute::{BatchCoalescer, concat_batches, filter_record_batch};
use datafusion::arrow::datatypes::{DataType, SchemaRef};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::common::hash_utils::{RandomState, create_hashes};
use datafusion::common::tree_node::{Transformed, TransformedResult, TreeNode, TreeNodeRecursion};
use datafusion::common::{DataFusionError, Result, internal_err};
use datafusion::config::ConfigOptions;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryLimit, MemoryReservation};
use datafusion::execution::{SpillFile, TaskContext};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::col;
use datafusion::physical_expr_common::physical_expr::is_volatile;
use datafusion::physical_optimizer::PhysicalOptimizerRule;
use datafusion::physical_optimizer::projection_pushdown::ProjectionPushdown;
use datafusion::physical_plan::SpillManager;
use datafusion::physical_plan::aggregates::{AggregateExec, AggregateMode};
use datafusion::physical_plan::execution_plan::{apply_expression_roots, reset_plan_states};
use datafusion::physical_plan::metrics::{
    BaselineMetrics, Count, ExecutionPlanMetricsSet, MetricBuilder, MetricsSet, SpillMetrics,
};
use datafusion::physical_plan::projection::ProjectionExec;
use datafusion::physical_plan::repartition::RepartitionExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::StreamExt;

use crate::functions::arg_min::{ArgMin, KEY_ORDER, compared_in_place};

datafusion::common::extensions_options! {
    /// The de-duplication's session settings, under the prefix `journey.` (so
    /// `SET journey.dedup_two_pass = true` works, and `SHOW ALL` lists them). Registered by
    /// [`crate::engine::session::build_session`]; set by the engine's memory plan
    /// (`MemoryPlan::apply`).
    pub struct DedupOptions {
        /// `journey.dedup_two_pass`: read the input twice, first its keys only (see "Under a
        /// memory limit" in the [module docs](self)). Default false; the memory plan sets it
        /// when the inputs do not fit under `--memory-limit`.
        pub dedup_two_pass: bool, default = false
        /// `journey.dedup_fair_share`: ask the memory pool as a consumer that can spill, so
        /// DataFusion's fair pool gives each partition an equal share (true, the default); or
        /// as one that cannot, served first come first served from what the pool has left
        /// (false). A refused reservation makes it spill either way. The memory plan sets it
        /// false when the inputs fit under `--memory-limit`: a share counts every idle
        /// consumer (10M events under 4 GiB: 1.17 GB of spill files with a share, none
        /// without). Without a share one partition can be left no room at all while the
        /// others hold the pool ("Resources exhausted"), which the runner answers by running
        /// the model again, alone.
        pub dedup_fair_share: bool, default = true
    }
}

impl datafusion::config::ConfigExtension for DedupOptions {
    const PREFIX: &'static str = "journey";
}

/// The physical optimizer rule that puts [`ArgMinDedupExec`] in place of a partial and
/// final hash aggregate of the shape listed in the [module docs](self), in one or two passes
/// as the session's [`DedupOptions`] say (one when the session has none). Runs after
/// DataFusion's own rules (it is appended by `SessionStateBuilder::with_physical_optimizer_rule`).
#[derive(Debug, Default)]
pub struct ArgMinDedupRule;

impl PhysicalOptimizerRule for ArgMinDedupRule {
    fn optimize(
        &self,
        plan: Arc<dyn ExecutionPlan>,
        config: &ConfigOptions,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let two_pass = config
            .extensions
            .get::<DedupOptions>()
            .is_some_and(|o| o.dedup_two_pass);
        plan.transform_up(|node| {
            Ok(match rewrite(&node, two_pass, config)? {
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
fn rewrite(
    node: &Arc<dyn ExecutionPlan>,
    two_pass: bool,
    config: &ConfigOptions,
) -> Result<Option<Arc<dyn ExecutionPlan>>> {
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
    // Pass 1 of two: the keys alone, from a fresh copy of the input (a plan is executed once),
    // re-partitioned the same way (same hash, same partition count) so that each partition
    // sees the keys of its own rows. Projection pushdown moves the key projection into the
    // filter below it; the scan under the filter still reads every column (at 100M events
    // pass 1's fetch time is 10.6 s).
    let keys = if two_pass && reads_the_same_twice(part.input()) {
        let fresh = reset_plan_states(Arc::clone(part.input()))?;
        let projected: Arc<dyn ExecutionPlan> = Arc::new(ProjectionExec::try_new(
            [(Arc::clone(&key), "key".to_string())],
            fresh,
        )?);
        let projected = ProjectionPushdown::new().optimize(projected, config)?;
        let key_column = col("key", &projected.schema())?;
        Some(Arc::new(RepartitionExec::try_new(
            projected,
            Partitioning::Hash(vec![key_column], n),
        )?) as Arc<dyn ExecutionPlan>)
    } else {
        None
    };
    Ok(Some(Arc::new(ArgMinDedupExec {
        input: repartitioned,
        keys,
        key,
        value,
        schema: fin.schema(),
        cache: Arc::clone(fin.properties()),
        metrics: ExecutionPlanMetricsSet::new(),
    })))
}

/// Whether executing `plan` twice gives the same rows (in any order), as two-pass mode needs:
/// only scans, filters, projections, re-partitionings, batch coalescing, unions, DataFusion's
/// cooperative-yield wrapper and journey-report's row-counting tap, none with a row limit
/// (`LIMIT` over several partitions picks different rows from run to run) or a volatile
/// expression (`random()`).
fn reads_the_same_twice(plan: &Arc<dyn ExecutionPlan>) -> bool {
    if !matches!(
        plan.name(),
        "DataSourceExec"
            | "FilterExec"
            | "ProjectionExec"
            | "RepartitionExec"
            | "CoalesceBatchesExec"
            | "CoalescePartitionsExec"
            | "UnionExec"
            | "CooperativeExec"
            | "TapExec"
    ) || plan.fetch().is_some()
    {
        return false;
    }
    let mut volatile = false;
    let walked = plan.apply_expressions(&mut |e| {
        volatile |= is_volatile(e);
        Ok(TreeNodeRecursion::Continue)
    });
    walked.is_ok() && !volatile && plan.children().into_iter().all(reads_the_same_twice)
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
/// Inputs: the rows (any columns `key` and `value` are evaluated on), hash-partitioned on
/// `key`; in two-pass mode a second child, the keys alone (one column), partitioned the same
/// way. Output: the replaced aggregate's schema — the key, then the value of the group's
/// smallest row — one row per group, in the replaced aggregate's partitioning.
#[derive(Debug)]
pub struct ArgMinDedupExec {
    input: Arc<dyn ExecutionPlan>,
    /// In two-pass mode, pass 1's plan: the keys alone, partitioned as `input`.
    keys: Option<Arc<dyn ExecutionPlan>>,
    key: Arc<dyn PhysicalExpr>,
    value: Arc<dyn PhysicalExpr>,
    schema: SchemaRef,
    cache: Arc<PlanProperties>,
    metrics: ExecutionPlanMetricsSet,
}

impl DisplayAs for ArgMinDedupExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "ArgMinDedupExec: key={}, value={}", self.key, self.value)?;
        if self.keys.is_some() {
            write!(f, ", two_pass")?;
        }
        Ok(())
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
        std::iter::once(&self.input).chain(&self.keys).collect()
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
        let mut children = children.into_iter();
        let (Some(input), keys, None) = (children.next(), children.next(), children.next()) else {
            return internal_err!("ArgMinDedupExec takes one or two inputs");
        };
        if keys.is_some() != self.keys.is_some() {
            return internal_err!("ArgMinDedupExec: its number of inputs changed");
        }
        if input.properties().output_partitioning().partition_count()
            != self.cache.output_partitioning().partition_count()
        {
            return internal_err!("ArgMinDedupExec: its input changed its partition count");
        }
        Ok(Arc::new(Self {
            input,
            keys,
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
        // A refused reservation makes it spill rather than fail, either way; whether it asks
        // for a fair share is the session's `journey.dedup_fair_share` (see DedupOptions).
        let fair_share = context
            .session_config()
            .options()
            .extensions
            .get::<DedupOptions>()
            .is_none_or(|o| o.dedup_fair_share);
        let reservation = MemoryConsumer::new(format!("ArgMinDedupExec[{partition}]"))
            .with_can_spill(fair_share)
            .register(context.memory_pool());
        let spill = SpillManager::new(
            context.runtime_env(),
            SpillMetrics::new(&self.metrics, partition),
            Arc::clone(&self.schema),
        )
        .with_compression_type(context.session_config().spill_compression());
        let partitions = self.cache.output_partitioning().partition_count();
        let (stage, work) = match &self.keys {
            Some(keys) => (
                Stage::TwoPass {
                    keys: Arc::clone(keys),
                    filter_words: filter_words(context.memory_pool().memory_limit(), partitions),
                },
                Vec::new(),
            ),
            None => (
                Stage::Sources,
                vec![Work {
                    source: Source::Input(self.input.execute(partition, Arc::clone(&context))?),
                    level: 0,
                }],
            ),
        };
        let dedup = Dedup {
            stage,
            work,
            input: Arc::clone(&self.input),
            partition,
            context: Arc::clone(&context),
            output: Vec::new().into_iter(),
            key: Arc::clone(&self.key),
            value: Arc::clone(&self.value),
            schema: Arc::clone(&self.schema),
            reservation,
            baseline: BaselineMetrics::new(&self.metrics, partition),
            candidate_rows: MetricBuilder::new(&self.metrics).counter("candidate_rows", partition),
            spill,
            batch_size: context.session_config().batch_size(),
            hashes: Vec::new(),
        };
        let stream = futures::stream::try_unfold(dedup, |mut d| async move {
            loop {
                if let Some(batch) = d.next_output()? {
                    return Ok(Some((batch, d)));
                }
                match std::mem::replace(&mut d.stage, Stage::Sources) {
                    Stage::TwoPass { keys, filter_words } => d.pass_one(keys, filter_words).await?,
                    Stage::Filtering {
                        mut rows,
                        filter,
                        filter_reservation,
                        mut absorb,
                    } => match rows.next().await {
                        Some(batch) => {
                            let unique = d.split(batch?, &filter, &mut absorb)?;
                            d.stage = Stage::Filtering {
                                rows,
                                filter,
                                filter_reservation,
                                absorb,
                            };
                            if let Some(batch) = unique {
                                return Ok(Some((batch, d)));
                            }
                        }
                        None => {
                            // The filter's memory goes back before the candidates' sort.
                            drop((filter, filter_reservation));
                            d.finish(absorb, 0)?;
                        }
                    },
                    Stage::Sources => {
                        let Some(work) = d.work.pop() else {
                            return Ok(None);
                        };
                        d.process(work).await?;
                    }
                }
            }
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(
            Arc::clone(&self.schema),
            stream,
        )))
    }

    fn metrics(&self) -> Option<MetricsSet> {
        Some(self.metrics.clone_inner())
    }
}

/// Bits of the key hash that pick a spill file: 32 files per spill.
const FANOUT_BITS: u32 = 5;
const FANOUT: usize = 1 << FANOUT_BITS;
/// The deepest level that can still spill: level `l` routes by hash bits
/// `64 - 5 (l + 1) .. 64 - 5 l`, and 12 levels use 60 of the 64 bits.
const MAX_LEVEL: u32 = 64 / FANOUT_BITS - 1;

/// The spill file (0–31) of a row whose key hashes to `hash`, when rows at `level` spill.
fn bucket(hash: u64, level: u32) -> usize {
    ((hash >> (64 - FANOUT_BITS * (level + 1))) as usize) & (FANOUT - 1)
}

/// One retained input batch: its key and value columns.
struct Kept {
    key: ArrayRef,
    value: ArrayRef,
    /// The bytes of both, as reserved.
    bytes: usize,
}

/// Rows still to de-duplicate.
enum Source {
    /// The partition's input; the key and value expressions are still to be evaluated.
    Input(SendableRecordBatchStream),
    /// One spill file of `(key, value)` batches in the output schema: all rows whose key
    /// hashes fall in one bucket.
    Spilled(Arc<dyn SpillFile>),
}

/// A [`Source`] and its depth: the input is level 0, a file spilled from level `l` is `l + 1`.
struct Work {
    source: Source,
    level: u32,
}

/// Batches held in memory with one `(hash, batch, row)` entry per row.
#[derive(Default)]
struct Held {
    kept: Vec<Kept>,
    entries: Vec<(u64, u32, u32)>,
}

impl Held {
    /// Adds a batch and the hashes of its keys; returns the bytes it added (its arrays and
    /// what the entry list grew by).
    fn push(&mut self, key: ArrayRef, value: ArrayRef, hashes: &[u64]) -> usize {
        let b = u32::try_from(self.kept.len()).expect("fewer than 2^32 batches");
        let before = self.entries.capacity();
        self.entries
            .extend(hashes.iter().enumerate().map(|(r, &h)| (h, b, r as u32)));
        let bytes = key.get_array_memory_size() + value.get_array_memory_size();
        self.kept.push(Kept { key, value, bytes });
        bytes + (self.entries.capacity() - before) * size_of::<(u64, u32, u32)>()
    }

    /// The bytes held: the arrays and the entry list.
    fn bytes(&self) -> usize {
        self.kept.iter().map(|k| k.bytes).sum::<usize>()
            + self.entries.capacity() * size_of::<(u64, u32, u32)>()
    }

    /// Sorts the entries by hash and returns, per batch, the rows that are not the smallest
    /// of their key; the entry list is released.
    fn find_drops(&mut self) -> Result<Vec<Vec<u32>>> {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable_by_key(|e| e.0);
        let mut dropped: Vec<Vec<u32>> = vec![Vec::new(); self.kept.len()];
        let mut i = 0;
        while i < entries.len() {
            let mut j = i + 1;
            while j < entries.len() && entries[j].0 == entries[i].0 {
                j += 1;
            }
            if j - i > 1 {
                resolve_run(&entries[i..j], &self.kept, &mut dropped)?;
            }
            i = j;
        }
        Ok(dropped)
    }
}

/// A kept batch without its dropped rows, in the output schema (a batch without drops is
/// passed on without a copy).
fn without(k: Kept, drops: Vec<u32>, schema: &SchemaRef) -> Result<RecordBatch> {
    let n = k.key.len();
    let batch = RecordBatch::try_new(Arc::clone(schema), vec![k.key, k.value])?;
    if drops.is_empty() {
        return Ok(batch);
    }
    let mut keep = BooleanBufferBuilder::new(n);
    keep.append_n(n, true);
    for r in drops {
        keep.set_bit(r as usize, false);
    }
    Ok(filter_record_batch(
        &batch,
        &BooleanArray::new(keep.finish(), None),
    )?)
}

/// A spill file being written: `Some(batch)` appends the batch, `None` finishes the file and
/// returns it (`None` if nothing was written). A closure around DataFusion's in-progress
/// spill file, whose type is not public.
type OpenFile = Box<dyn FnMut(Option<&RecordBatch>) -> Result<Option<Arc<dyn SpillFile>>> + Send>;

/// Opens a spill file of `spill`'s schema.
fn open_file(spill: &SpillManager) -> Result<OpenFile> {
    let mut file = spill.create_in_progress_file("ArgMinDedupExec")?;
    Ok(Box::new(move |batch| match batch {
        Some(batch) => file.append_batch(batch).map(|_| None),
        None => file.finish(),
    }))
}

/// Rows on their way to 32 spill files, by 5 bits of their key hash. Each file gets batches
/// of the session's batch size (fewer at the end, or when memory is short).
struct Router {
    level: u32,
    coalescers: Vec<BatchCoalescer>,
    files: Vec<Option<OpenFile>>,
    /// Per bucket, the rows of the batch being routed.
    rows: Vec<Vec<u32>>,
}

impl Router {
    fn new(level: u32, schema: &SchemaRef, batch_size: usize) -> Self {
        Self {
            level,
            coalescers: (0..FANOUT)
                .map(|_| BatchCoalescer::new(Arc::clone(schema), batch_size))
                .collect(),
            files: (0..FANOUT).map(|_| None).collect(),
            rows: vec![Vec::new(); FANOUT],
        }
    }

    /// Sends each row of `batch` (output schema, keys hashed to `hashes`) to its bucket.
    fn route(&mut self, spill: &SpillManager, batch: &RecordBatch, hashes: &[u64]) -> Result<()> {
        for rows in &mut self.rows {
            rows.clear();
        }
        for (r, &h) in hashes.iter().enumerate() {
            self.rows[bucket(h, self.level)].push(r as u32);
        }
        for b in 0..FANOUT {
            let rows = &self.rows[b];
            if rows.is_empty() {
                continue;
            }
            if rows.len() == batch.num_rows() {
                self.coalescers[b].push_batch(batch.clone())?;
            } else {
                let indices = UInt32Array::from(rows.clone());
                self.coalescers[b].push_batch_with_indices(batch.clone(), &indices)?;
            }
            self.write_completed(spill, b)?;
        }
        Ok(())
    }

    fn write_completed(&mut self, spill: &SpillManager, b: usize) -> Result<()> {
        while let Some(done) = self.coalescers[b].next_completed_batch() {
            let file = match &mut self.files[b] {
                Some(file) => file,
                none => none.insert(open_file(spill)?),
            };
            file(Some(&done))?;
        }
        Ok(())
    }

    /// Writes every bucket's partial batch.
    fn flush(&mut self, spill: &SpillManager) -> Result<()> {
        for b in 0..FANOUT {
            self.coalescers[b].finish_buffered_batch()?;
            self.write_completed(spill, b)?;
        }
        Ok(())
    }

    /// The bytes of the partial batches.
    fn size(&self) -> usize {
        self.coalescers.iter().map(BatchCoalescer::size).sum()
    }

    /// Flushes and closes the files; returns the ones written to.
    fn finish(mut self, spill: &SpillManager) -> Result<Vec<Arc<dyn SpillFile>>> {
        self.flush(spill)?;
        let mut done = Vec::new();
        for file in self.files.iter_mut().flatten() {
            done.extend(file(None)?);
        }
        Ok(done)
    }
}

/// Words (`u64`) per array of a partition's [`RepeatFilter`] under a pool of `limit`: an
/// eighth of the pool's share per partition for each of the two arrays, at most 2^30 bits
/// (128 MiB), rounded down to a power of two; 0 (no filter: one pass) under 64 KiB or
/// without a limit.
/// With 2^30 bits and 50 million keys per partition (100M events, 2 partitions) about 5% of
/// the unique keys share their bit with another key and go through the hash sort needlessly.
fn filter_words(limit: MemoryLimit, partitions: usize) -> usize {
    let MemoryLimit::Finite(limit) = limit else {
        return 0;
    };
    let bytes = (limit / (8 * partitions.max(1))).min(128 << 20);
    if bytes < 64 << 10 {
        return 0;
    }
    (1usize << bytes.ilog2()) / size_of::<u64>()
}

/// Pass 1's record of the keys (of one partition): the bit that a key's hash picks is set in
/// `seen` the first time and in `twice` the second. A key whose bit is not in `twice` was
/// seen once: its row is unique. A bit in `twice` may come from two different keys (a false
/// positive): such rows are only de-duplicated needlessly.
struct RepeatFilter {
    seen: Vec<u64>,
    twice: Vec<u64>,
    /// Bits per array − 1 (a power of two − 1).
    mask: u64,
}

impl RepeatFilter {
    fn new(words: usize) -> Self {
        Self {
            seen: vec![0; words],
            twice: vec![0; words],
            mask: (words * 64 - 1) as u64,
        }
    }

    fn add(&mut self, hash: u64) {
        let i = (hash & self.mask) as usize;
        let (w, bit) = (i / 64, 1u64 << (i % 64));
        self.twice[w] |= self.seen[w] & bit;
        self.seen[w] |= bit;
    }

    fn maybe_repeated(&self, hash: u64) -> bool {
        let i = (hash & self.mask) as usize;
        self.twice[i / 64] & (1u64 << (i % 64)) != 0
    }
}

/// What one source has taken in so far: rows held in memory, or, once they did not fit, a
/// router to the spill files of the next level.
#[derive(Default)]
struct Absorb {
    held: Held,
    router: Option<Router>,
}

/// Where a partition is.
enum Stage {
    /// Two-pass mode, before pass 1: the keys' plan, and the filter's size in words (0: no
    /// room for a filter, read once).
    TwoPass {
        keys: Arc<dyn ExecutionPlan>,
        filter_words: usize,
    },
    /// Pass 2: the rows stream through the filter; unique rows are output as they come, the
    /// others are taken in.
    Filtering {
        rows: SendableRecordBatchStream,
        filter: RepeatFilter,
        filter_reservation: MemoryReservation,
        absorb: Absorb,
    },
    /// Working through the stack of sources.
    Sources,
}

/// One partition's de-duplication: its stage, a stack of [`Work`], and the output of the
/// source last de-duplicated in memory.
struct Dedup {
    stage: Stage,
    work: Vec<Work>,
    /// The rows' plan (hash-partitioned on the key), executed once.
    input: Arc<dyn ExecutionPlan>,
    partition: usize,
    context: Arc<TaskContext>,
    /// Kept batches with the rows to drop from each, emitted one by one.
    output: std::vec::IntoIter<(Kept, Vec<u32>)>,
    key: Arc<dyn PhysicalExpr>,
    value: Arc<dyn PhysicalExpr>,
    schema: SchemaRef,
    reservation: MemoryReservation,
    baseline: BaselineMetrics,
    /// Rows that pass 1 could not rule out as repeats (two-pass mode).
    candidate_rows: Count,
    spill: SpillManager,
    batch_size: usize,
    /// Hashes of the current batch's keys.
    hashes: Vec<u64>,
}

impl Dedup {
    /// Another seed than the re-partitioning's, so the hashes of one partition spread.
    const STATE: RandomState = RandomState::with_seed(0x6a6f75726e6579);

    /// The next non-empty output batch, releasing its memory.
    fn next_output(&mut self) -> Result<Option<RecordBatch>> {
        let elapsed = self.baseline.elapsed_compute().clone();
        for (k, drops) in self.output.by_ref() {
            let _timer = elapsed.timer();
            self.reservation
                .shrink(k.bytes.min(self.reservation.size()));
            let batch = without(k, drops, &self.schema)?;
            if batch.num_rows() > 0 {
                self.baseline.output_rows().add(batch.num_rows());
                return Ok(Some(batch));
            }
        }
        Ok(None)
    }

    fn hash(&mut self, key: &ArrayRef) -> Result<()> {
        self.hashes.clear();
        self.hashes.resize(key.len(), 0);
        create_hashes([key], &Self::STATE, &mut self.hashes)?;
        Ok(())
    }

    /// The key and value of an input batch (evaluated) or of a spilled one (its columns).
    fn key_value(&self, batch: &RecordBatch, evaluate: bool) -> Result<(ArrayRef, ArrayRef)> {
        if evaluate {
            let n = batch.num_rows();
            Ok((
                self.key.evaluate(batch)?.into_array(n)?,
                self.value.evaluate(batch)?.into_array(n)?,
            ))
        } else {
            Ok((Arc::clone(batch.column(0)), Arc::clone(batch.column(1))))
        }
    }

    /// Pass 1: reads the partition's keys into a [`RepeatFilter`] and starts pass 2. Without
    /// room for the filter, the rows go through the hash sort in one pass instead.
    async fn pass_one(&mut self, keys: Arc<dyn ExecutionPlan>, words: usize) -> Result<()> {
        let filter_reservation = self.reservation.new_empty();
        if words == 0
            || filter_reservation
                .try_grow(2 * words * size_of::<u64>())
                .is_err()
        {
            self.work.push(Work {
                source: Source::Input(
                    self.input
                        .execute(self.partition, Arc::clone(&self.context))?,
                ),
                level: 0,
            });
            return Ok(());
        }
        let elapsed = self.baseline.elapsed_compute().clone();
        let mut filter = RepeatFilter::new(words);
        let mut stream = keys.execute(self.partition, Arc::clone(&self.context))?;
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            let _timer = elapsed.timer();
            self.hash(batch.column(0))?;
            for &h in &self.hashes {
                filter.add(h);
            }
        }
        filter.seen = Vec::new();
        filter_reservation.shrink(words * size_of::<u64>());
        self.stage = Stage::Filtering {
            rows: self
                .input
                .execute(self.partition, Arc::clone(&self.context))?,
            filter,
            filter_reservation,
            absorb: Absorb::default(),
        };
        Ok(())
    }

    /// Pass 2 on one batch: returns its rows whose key pass 1 saw once (in input order), and
    /// takes in the others.
    fn split(
        &mut self,
        batch: RecordBatch,
        filter: &RepeatFilter,
        absorb: &mut Absorb,
    ) -> Result<Option<RecordBatch>> {
        let n = batch.num_rows();
        if n == 0 {
            return Ok(None);
        }
        let elapsed = self.baseline.elapsed_compute().clone();
        let _timer = elapsed.timer();
        let (key, value) = self.key_value(&batch, true)?;
        self.hash(&key)?;
        let repeated = BooleanBuffer::collect_bool(n, |i| filter.maybe_repeated(self.hashes[i]));
        let candidates = repeated.count_set_bits();
        let rows = RecordBatch::try_new(Arc::clone(&self.schema), vec![key, value])?;
        if candidates == 0 {
            self.baseline.output_rows().add(n);
            return Ok(Some(rows));
        }
        self.candidate_rows.add(candidates);
        let taken = filter_record_batch(&rows, &BooleanArray::new(repeated.clone(), None))?;
        self.absorb(
            absorb,
            Arc::clone(taken.column(0)),
            Arc::clone(taken.column(1)),
            0,
        )?;
        if candidates == n {
            return Ok(None);
        }
        let unique = filter_record_batch(&rows, &BooleanArray::new(!&repeated, None))?;
        self.baseline.output_rows().add(unique.num_rows());
        Ok(Some(unique))
    }

    /// Takes in one batch of a source at `level`: holds it, or, when this partition's share
    /// of memory is used up, drops repeats from what it holds (going on in memory if that
    /// freed half of it) or else routes everything to spill files.
    fn absorb(
        &mut self,
        st: &mut Absorb,
        key: ArrayRef,
        value: ArrayRef,
        level: u32,
    ) -> Result<()> {
        self.hash(&key)?;
        if let Some(router) = st.router.as_mut() {
            let batch = RecordBatch::try_new(Arc::clone(&self.schema), vec![key, value])?;
            router.route(&self.spill, &batch, &self.hashes)?;
            if self.reservation.try_resize(router.size()).is_err() {
                router.flush(&self.spill)?;
                self.reservation.resize(router.size());
            }
            return Ok(());
        }
        let added = st.held.push(key, value, &self.hashes);
        if self.reservation.try_grow(added).is_ok() {
            return Ok(());
        }
        // Over this partition's share: drop repeats, and go on in memory if that freed
        // half of what is held.
        let rows = st.held.entries.len();
        let drops = st.held.find_drops()?;
        let dropped: usize = drops.iter().map(Vec::len).sum();
        let schema = Arc::clone(&self.schema);
        let mut batches = std::mem::take(&mut st.held.kept)
            .into_iter()
            .zip(drops)
            .map(|(k, d)| without(k, d, &schema));
        if dropped * 2 >= rows {
            // The survivors in one batch: small filtered batches would each keep their
            // buffers' overhead.
            let survivors = batches.by_ref().collect::<Result<Vec<_>>>()?;
            let batch = concat_batches(&schema, &survivors)?;
            drop(survivors);
            let (key, value) = (Arc::clone(batch.column(0)), Arc::clone(batch.column(1)));
            self.hash(&key)?;
            st.held.push(key, value, &self.hashes);
            if self.reservation.try_resize(st.held.bytes()).is_ok() {
                return Ok(());
            }
        }
        if level > MAX_LEVEL {
            return Err(DataFusionError::ResourcesExhausted(format!(
                "{}: {rows} rows whose keys share {} bits of hash do not fit in memory",
                self.reservation.consumer().name(),
                FANOUT_BITS * (MAX_LEVEL + 1)
            )));
        }
        let mut router = Router::new(level, &self.schema, self.batch_size);
        let reduced = std::mem::take(&mut st.held.kept).into_iter().map(|k| {
            RecordBatch::try_new(Arc::clone(&schema), vec![k.key, k.value])
                .map_err(DataFusionError::from)
        });
        for batch in batches.chain(reduced) {
            let batch = batch?;
            self.hash(&Arc::clone(batch.column(0)))?;
            router.route(&self.spill, &batch, &self.hashes)?;
        }
        st.held = Held::default();
        self.reservation.resize(router.size());
        st.router = Some(router);
        Ok(())
    }

    /// Ends a source at `level`: makes the output of what it holds ready, or closes its spill
    /// files and pushes them as work one level down.
    fn finish(&mut self, st: Absorb, level: u32) -> Result<()> {
        if let Some(router) = st.router {
            let files = router.finish(&self.spill)?;
            self.reservation.free();
            self.work.extend(files.into_iter().map(|file| Work {
                source: Source::Spilled(file),
                level: level + 1,
            }));
            return Ok(());
        }
        let mut held = st.held;
        let elapsed = self.baseline.elapsed_compute().clone();
        let _timer = elapsed.timer();
        let drops = held.find_drops()?;
        // The entry list is gone; the kept batches are released one by one as emitted.
        self.reservation.resize(held.bytes());
        self.output = held
            .kept
            .into_iter()
            .zip(drops)
            .collect::<Vec<_>>()
            .into_iter();
        Ok(())
    }

    /// Reads one source through [`Dedup::absorb`] and [`Dedup::finish`].
    async fn process(&mut self, work: Work) -> Result<()> {
        let (mut stream, evaluate) = match work.source {
            Source::Input(stream) => (stream, true),
            Source::Spilled(file) => (self.spill.read_spill_as_stream(file, None)?, false),
        };
        let elapsed = self.baseline.elapsed_compute().clone();
        let mut st = Absorb::default();
        while let Some(batch) = stream.next().await {
            let batch = batch?;
            if batch.num_rows() == 0 {
                continue;
            }
            let _timer = elapsed.timer();
            let (key, value) = self.key_value(&batch, evaluate)?;
            self.absorb(&mut st, key, value, work.level)?;
        }
        self.finish(st, work.level)
    }
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
    use datafusion::execution::memory_pool::FairSpillPool;
    use datafusion::execution::runtime_env::RuntimeEnvBuilder;
    use datafusion::execution::session_state::SessionStateBuilder;
    use datafusion::physical_plan::{ExecutionPlan, collect, displayable};
    use datafusion::prelude::{SessionConfig, SessionContext};
    use rand::{Rng, SeedableRng};
    use rand_chacha::ChaCha8Rng;

    use super::{ArgMinDedupRule, Kept, resolve_run};

    /// A session with `arg_min`, 3 partitions and batches of 100 rows, with or without the rule.
    fn ctx(rule: bool) -> SessionContext {
        ctx_in(rule.then_some(false), None)
    }

    /// A session with `arg_min`, 3 partitions and batches of 100 rows, [`ArgMinDedupRule`]
    /// when `two_pass` is given (in two passes when it is true), its operators' memory limited
    /// to `pool` bytes (a fair spilling pool) when given.
    fn ctx_in(two_pass: Option<bool>, pool: Option<usize>) -> SessionContext {
        let config = SessionConfig::new()
            .with_target_partitions(3)
            .with_batch_size(100)
            .with_option_extension(super::DedupOptions {
                dedup_two_pass: two_pass == Some(true),
                ..Default::default()
            });
        let mut runtime = RuntimeEnvBuilder::new();
        if let Some(bytes) = pool {
            runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(bytes)));
        }
        let mut state = SessionStateBuilder::new()
            .with_config(config)
            .with_runtime_env(runtime.build_arc().unwrap())
            .with_default_features();
        if two_pass.is_some() {
            state = state.with_physical_optimizer_rule(Arc::new(ArgMinDedupRule));
        }
        let ctx = SessionContext::new_with_state(state.build());
        crate::functions::register_all(&ctx);
        ctx
    }

    /// A row of `t`: (k, n, ts, s).
    type Row = (Option<String>, Option<i64>, Option<i64>, Option<String>);

    /// Registers `t(k TEXT, n BIGINT, ts BIGINT, s TEXT)` from rows, split into batches of 7.
    fn register(ctx: &SessionContext, rows: &[Row]) {
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
        let mut rows: Vec<String> = crate::functions::arg_min::tests::query(ctx, sql)
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

    /// `n` random rows over `keys` keys (2% NULL keys), with NULL fields and 5% exact repeats.
    fn random_rows(seed: u64, n: i64, keys: u32) -> Vec<Row> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut rows = Vec::new();
        for i in 0..n {
            let k = if rng.random_bool(0.02) {
                None
            } else {
                Some(format!("k{}", rng.random_range(0..keys)))
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
        rows
    }

    #[tokio::test]
    async fn matches_datafusions_hash_aggregate() {
        // 3,000 rows over 400 keys (and NULL keys), with NULL fields and exact repeats: the
        // result with the rule must be the one without it, row for row.
        let rows = random_rows(11, 3000, 400);
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

    async fn physical_plan(ctx: &SessionContext, sql: &str) -> Arc<dyn ExecutionPlan> {
        let df = ctx.sql(sql).await.unwrap();
        df.create_physical_plan().await.unwrap()
    }

    /// Runs `sql` and returns its sorted rows as text with, summed over the plan's
    /// `ArgMinDedupExec`: the rows written to spill files, the spill files written and the
    /// candidate rows of pass 2.
    async fn run_counting_spills(
        ctx: &SessionContext,
        sql: &str,
    ) -> (Vec<String>, usize, usize, usize) {
        let plan = physical_plan(ctx, sql).await;
        let batches = collect(Arc::clone(&plan), ctx.task_ctx()).await.unwrap();
        let mut rows: Vec<String> = crate::functions::arg_min::tests::cells(&batches)
            .into_iter()
            .map(|cells| cells.join("|"))
            .collect();
        rows.sort();
        fn spills(plan: &Arc<dyn ExecutionPlan>, acc: &mut (usize, usize, usize)) {
            if plan.name() == "ArgMinDedupExec" {
                let m = plan.metrics().unwrap();
                acc.0 += m.spilled_rows().unwrap_or(0);
                acc.1 += m.spill_count().unwrap_or(0);
                acc.2 += m.sum_by_name("candidate_rows").map_or(0, |v| v.as_usize());
            }
            for child in plan.children() {
                spills(child, acc);
            }
        }
        let mut acc = (0, 0, 0);
        spills(&plan, &mut acc);
        assert!(
            displayable(plan.as_ref())
                .indent(true)
                .to_string()
                .contains("ArgMinDedupExec"),
            "the rule did not apply"
        );
        (rows, acc.0, acc.1, acc.2)
    }

    /// `DEDUP` over `rows` under `ctx` against DataFusion's own aggregate, unlimited: the
    /// same rows. Returns the spill and candidate counts of [`run_counting_spills`].
    async fn check_against_datafusion(ctx: &SessionContext, rows: &[Row]) -> (usize, usize, usize) {
        register(ctx, rows);
        let free = super::tests::ctx(false);
        register(&free, rows);
        let (a, spilled_rows, files, candidates) = run_counting_spills(ctx, DEDUP).await;
        let (b, _) = run(&free, DEDUP).await;
        assert_eq!(a.len(), b.len());
        let differ = a.iter().zip(&b).position(|(x, y)| x != y);
        assert!(differ.is_none(), "{:?}", differ.map(|i| (&a[i], &b[i])));
        (spilled_rows, files, candidates)
    }

    #[tokio::test]
    async fn spills_and_matches_datafusions_hash_aggregate() {
        // Under a small pool the partitions spill their rows to 32 files by hash, and files
        // that do not fit either spill again one level down: the result must still be the
        // unlimited hash aggregate's, row for row.
        // - 20,000 rows over 12,000 keys: few repeats, so rows go to disk (each row at least
        //   once: spilled rows ≥ 20,000 − the rows still in memory when the first share ran
        //   out; with a 24 KiB pool, nearly all);
        // - 20,000 rows over 30 keys: repeats, so dropping them frees memory and nothing
        //   needs to spill.
        for (keys, pool, spill_expected) in [(12_000, 24 << 10, true), (30, 256 << 10, false)] {
            let rows = random_rows(5, 20_000, keys);
            let limited = ctx_in(Some(false), Some(pool));
            let (spilled_rows, files, candidates) = check_against_datafusion(&limited, &rows).await;
            assert_eq!(candidates, 0, "one pass");
            if spill_expected {
                assert!(
                    spilled_rows >= 20_000,
                    "{keys} keys: {spilled_rows} rows spilled"
                );
                assert!(files > 32, "{keys} keys: {files} files: no second level");
            } else {
                assert_eq!(spilled_rows, 0, "{keys} keys");
            }
        }
    }

    #[tokio::test]
    async fn two_passes_match_datafusions_hash_aggregate() {
        let two_pass = || Some(true);
        // 20,000 rows over a million keys: about 5% exact repeats (and a few keys drawn
        // twice). An 8 MiB pool gives each of the 3 partitions a filter of 2 × 256 KiB
        // (8 MiB / 24 = 341 KiB, rounded down to a power of two) = 2^21 bits per array for
        // about 6,700 keys: few false positives. So only the repeats and a few more rows are
        // candidates (at least the 2 × ~1,000 rows of repeated keys, at most 3,000), and
        // nothing spills.
        let rows = random_rows(6, 20_000, 1_000_000);
        let (spilled, _, candidates) =
            check_against_datafusion(&ctx_in(two_pass(), Some(8 << 20)), &rows).await;
        assert_eq!(spilled, 0);
        assert!(
            (1_500..=3_000).contains(&candidates),
            "{candidates} candidates"
        );
        // 60,000 rows over 36,000 keys under a 1.5 MiB pool: filters of 2 × 64 KiB
        // (1.5 MiB / 24), most rows are candidates (their key occurs twice or more), and
        // they do not fit: they spill.
        let rows = random_rows(5, 60_000, 36_000);
        let (spilled, _, candidates) =
            check_against_datafusion(&ctx_in(two_pass(), Some(3 << 19)), &rows).await;
        assert!(candidates > 30_000, "{candidates} candidates");
        assert!(spilled > 0, "nothing spilled");
        // An input that may give other rows when read again is read once: a LIMIT over
        // several partitions, a volatile filter.
        for sql in [
            "SELECT k, arg_min(ts) FROM (SELECT * FROM t LIMIT 50) GROUP BY k",
            "SELECT k, arg_min(ts) FROM t WHERE random() < 0.5 GROUP BY k",
        ] {
            let c = ctx_in(two_pass(), Some(8 << 20));
            register(&c, &rows);
            let plan = physical_plan(&c, sql).await;
            let shown = displayable(plan.as_ref()).indent(true).to_string();
            assert!(shown.contains("ArgMinDedupExec"), "{sql}");
            assert!(!shown.contains("two_pass"), "{sql}");
        }
        // Without a limit there is no filter: one pass.
        let rows = random_rows(7, 3_000, 400);
        let (_, _, candidates) = check_against_datafusion(&ctx_in(two_pass(), None), &rows).await;
        assert_eq!(candidates, 0);
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
