//! Running the SQL models: each planned and executed once, after the models it reads, up to
//! `jobs` at a time, its result kept as its `[models.<name>] materialize` setting says
//! (memory, a Parquet work file, a view); staging models held in memory are released once
//! nothing reads them any more. `check` and `query` plan a model without running it
//! ([`plan_as_view`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use datafusion::arrow::array::RecordBatch;
use datafusion::common::DataFusionError;
use datafusion::datasource::MemTable;
use datafusion::execution::memory_pool::{MemoryConsumer, MemoryReservation};
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use futures::StreamExt;
use serde::Serialize;

use super::memory::MemoryPlan;
use super::model::{Model, relative};
use crate::error::{Error, Result};
use crate::functions::find_bad_value;
use crate::project::Materialize;
use crate::sources::{SourceInfo, locate_bad_value};

/// Most rows of one model handed to the pages' templates; the runner keeps this many plus
/// one (to tell that a model has more) of every model in memory.
pub const MAX_TEMPLATE_ROWS: usize = 5_000;

/// What running one model produced, for the manifest and the log.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRun {
    /// Model name.
    pub name: String,
    /// Whether it ran, failed for the data, or was skipped.
    pub status: ModelStatus,
    /// Rows in the result (0 unless `ok`).
    pub rows: u64,
    /// Wall time in seconds (plan + execute + store).
    pub seconds: f64,
    /// How the result was kept.
    pub materialize: Materialize,
    /// Why it failed or was skipped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// The outcome of one model in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ModelStatus {
    /// Computed.
    Ok,
    /// Planned, but its execution failed on this data (a fit that cannot be made, a value
    /// a function rejects): the analyses reading it are unavailable.
    Failed,
    /// Not run: it reads a model that failed or was skipped.
    Skipped,
}

/// A model that could not be computed, as the runner reports it: the error, and whether
/// the failure came from executing the plan on this data (the analysis can be marked
/// unavailable while the rest of the report is written) rather than from the SQL, an
/// unreadable input value or the machine (which stop the run).
#[derive(Debug)]
pub struct ModelFailure {
    /// The error, naming the model file.
    pub error: Error,
    /// True when the plan was sound and its execution failed on the data.
    pub for_the_data: bool,
    /// True when the execution failed because the memory pool refused an operator
    /// (DataFusion's "Resources exhausted"): [`run_models`] runs such a model again, alone.
    pub out_of_memory: bool,
}

/// Results of a run: per model its run record, its columns, and the in-memory results for
/// templates.
#[derive(Debug, Default)]
pub struct RunResults {
    /// In the order of the models.
    pub runs: Vec<ModelRun>,
    /// Column names per model.
    pub columns: BTreeMap<String, Vec<String>>,
    /// Results of models kept in memory; of a released staging model, its first
    /// [`MAX_TEMPLATE_ROWS`] + 1 rows (see [`run_models`]).
    pub batches: BTreeMap<String, Vec<RecordBatch>>,
    /// Models that failed on the data or were skipped, with the reason, in run order.
    pub unavailable: BTreeMap<String, String>,
}

/// The error of model `m` that failed with `e`: an unreadable input value (exit 3, located in
/// its file), our own error carried through DataFusion, a full disk while spilling to
/// `spill_dir` (exit 1; `None`: the system temp folder), or the model's (exit 4).
fn model_error(
    project: &Path,
    m: &Model,
    e: &DataFusionError,
    sources: &[SourceInfo],
    spill_dir: Option<&Path>,
) -> Error {
    if let Some(bad) = find_bad_value(e) {
        return locate_bad_value(sources, &bad);
    }
    if let DataFusionError::External(inner) = e.find_root()
        && let Some(err) = inner.downcast_ref::<Error>()
    {
        return err.clone();
    }
    // A full disk or a permission while the model spills: the machine's fault (exit 1), not
    // the model's. (Work files name themselves, above.)
    if let Some(io) = crate::error::io_failure(e) {
        return Error::internal(format!(
            "{}: {io} (writing a spill file while {} ran)",
            spill_dir.unwrap_or(&std::env::temp_dir()).display(),
            relative(project, &m.path),
        ));
    }
    Error::model(format!(
        "{}: {}",
        relative(project, &m.path),
        crate::error::clean_error(e)
    ))
}

/// Plans one model and registers it as a view (no execution): what `check` and `query` do.
pub async fn plan_as_view(
    ctx: &SessionContext,
    project: &Path,
    m: &Model,
    sources: &[SourceInfo],
) -> Result<()> {
    let plan = ctx
        .state()
        .statement_to_plan(m.statement.clone())
        .await
        .map_err(|e| model_error(project, m, &e, sources, None))?;
    let df = ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| model_error(project, m, &e, sources, None))?;
    ctx.register_table(m.name.as_str(), df.into_view())
        .map_err(|e| Error::internal(e.to_string()))?;
    Ok(())
}

/// A follow-up job of a finished model (writing its data file), run by [`run_models`]
/// alongside the other models; the model's result stays available until it ends.
pub type AfterModel<'a> = futures::future::BoxFuture<'a, Result<()>>;

/// Runs `models` on `ctx`, each once, as soon as the models it reads are done (of those
/// ready, first the ones with the most models downstream of them): up to `memory.jobs` at a
/// time (see [`MemoryPlan`]), so single-threaded parts of one model (a fit, a window over one
/// partition, writing a file) overlap with another. Each is
/// planned, executed and kept as its materialization says (Parquet work files go to
/// `work_dir`). `after(model)` may return a follow-up job (the model's data file), which runs
/// in the same pool as soon as the model is done.
///
/// A staging model (`materialize = "auto"`) is held in memory while the plan's
/// `held_models` budget allows and, under a limit the data fits in, while the session's
/// memory pool grants its bytes (charged as a consumer named `held model <name>`), else it
/// goes to a Parquet work file. It is
/// released (its table deregistered, its batches dropped
/// except the first [`MAX_TEMPLATE_ROWS`] + 1 rows kept for templates) once
/// every model reading it and its follow-up job are done, so an event-level table does not
/// outlive its use. Models read through a view are kept.
///
/// Each finished model is logged (model, rows, seconds), or ticks `progress` when a progress
/// bar is shown. With `profile_dir`, each model's executed physical plan with its metrics
/// (rows, compute time, memory, spills per operator — what EXPLAIN ANALYZE prints) goes to
/// `<dir>/<model>.txt`. [`RunResults::runs`] is in the order of `models`.
///
/// Under `--memory-limit`, a model whose operators the memory pool refuses
/// ([`ModelFailure::out_of_memory`]) is run once more, alone, and the rest of the run goes one
/// model at a time: the [`MemoryPlan`] in memory is a forecast from the inputs' size, and this
/// is its fallback. A second refusal is a failure like any other.
///
/// A model whose execution fails on the data ([`ModelFailure::for_the_data`]) does not stop
/// the run unless `fail_fast`: it is recorded as failed, every model reading it (directly or
/// not) is skipped without being planned, and both are listed in
/// [`RunResults::unavailable`] with the reason.
///
/// Errors: exit 4 naming the model file (a SQL error, or any model failure with
/// `fail_fast`); exit 3 when the failure is an unreadable input value (naming the export
/// file, line and column); exit 1 when a profile cannot be written; the error of a
/// follow-up job. On such an error the models still running are stopped.
#[allow(clippy::too_many_arguments)]
pub async fn run_models<'a>(
    ctx: &'a SessionContext,
    project: &'a Path,
    models: &'a [Model],
    work_dir: &'a Path,
    sources: &'a [SourceInfo],
    progress: &indicatif::ProgressBar,
    session: &'a crate::engine::session::SessionOptions,
    memory: &MemoryPlan,
    fail_fast: bool,
    after: impl Fn(&'a Model) -> Option<AfterModel<'a>>,
) -> Result<RunResults> {
    use futures::stream::FuturesUnordered;
    let jobs = memory.jobs.max(1);
    let auto_budget = memory.held_models;
    let charge_held = memory.charges_held_models();
    // Under a limit the budget is shared: the models held in memory together stay under it.
    let shared = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let held = memory.limit.map(|_| shared.clone());
    if let Some(dir) = session.profile_dir.as_deref() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    // Who still needs each model's table: the models reading it, and its follow-up job.
    let mut users: BTreeMap<String, usize> = BTreeMap::new();
    for m in models {
        for d in &m.deps {
            *users.entry(d.clone()).or_default() += 1;
        }
    }
    // Never released: report models (nothing reads them), views and what views read.
    let mut keep: BTreeSet<String> = BTreeSet::new();
    for m in models {
        if !users.contains_key(&m.name) || m.materialize == Materialize::View {
            keep.insert(m.name.clone());
        }
        if m.materialize == Materialize::View {
            keep.extend(m.deps.iter().cloned());
        }
    }
    let mut release = Release {
        users,
        keep,
        held_bytes: BTreeMap::new(),
        reservations: BTreeMap::new(),
        held: shared,
    };
    enum Done<'m> {
        Model(&'m Model, std::result::Result<OneRun, ModelFailure>),
        After(&'m Model, Result<()>),
    }
    let mut out = RunResults::default();
    // Among the models ready to run, those more models wait on go first (the critical path:
    // stg_sessions before a report model that nothing reads); ties keep the file order.
    let mut downstream: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for m in models.iter().rev() {
        let mine = downstream.get(m.name.as_str()).cloned().unwrap_or_default();
        for d in &m.deps {
            let set = downstream.entry(d.as_str()).or_default();
            set.insert(m.name.as_str());
            set.extend(mine.iter().copied());
        }
    }
    let mut pending: Vec<&Model> = models.iter().collect();
    pending.sort_by_key(|m| {
        std::cmp::Reverse(downstream.get(m.name.as_str()).map_or(0, BTreeSet::len))
    });
    let mut done: BTreeSet<&str> = BTreeSet::new();
    let mut running = FuturesUnordered::new();
    let mut models_running = 0usize;
    // Under a limit, a model the pool refused runs once more, alone: from then on the run
    // goes one model at a time (see MemoryPlan: the plan in memory is a forecast).
    let mut jobs = jobs;
    let mut retried: BTreeSet<&str> = BTreeSet::new();
    loop {
        let mut i = 0;
        while models_running < jobs && i < pending.len() {
            if let Some(bad) = pending[i]
                .deps
                .iter()
                .find(|d| out.unavailable.contains_key(d.as_str()))
            {
                // Reads an unavailable model: skipped, and so are the models reading it.
                let m = pending.remove(i);
                let reason = format!("skipped: it reads {bad}, which is unavailable");
                tracing::warn!(model = %m.name, "{reason}");
                out.unavailable.insert(m.name.clone(), reason.clone());
                out.runs
                    .push(unavailable_run(m, ModelStatus::Skipped, reason));
                done.insert(m.name.as_str());
                for d in &m.deps {
                    release.one_user_done(ctx, d, &mut out)?;
                }
                i = 0;
                continue;
            }
            if pending[i].deps.iter().all(|d| done.contains(d.as_str())) {
                let m = pending.remove(i);
                let held = held.clone();
                models_running += 1;
                let fut: futures::future::BoxFuture<'a, Done<'a>> = Box::pin(async move {
                    Done::Model(
                        m,
                        run_one(
                            ctx,
                            project,
                            m,
                            work_dir,
                            sources,
                            session,
                            auto_budget,
                            held,
                            charge_held,
                        )
                        .await,
                    )
                });
                running.push(fut);
            } else {
                i += 1;
            }
        }
        let Some(next) = running.next().await else {
            break;
        };
        match next {
            Done::Model(m, result) => {
                models_running -= 1;
                let (run, batches, columns, bytes, reservation) = match result {
                    Ok(r) => r,
                    Err(f)
                        if f.out_of_memory
                            && memory.limit.is_some()
                            && retried.insert(m.name.as_str()) =>
                    {
                        tracing::warn!(
                            model = %m.name,
                            "the memory pool refused an operator: running the model again, alone, and the rest of the run one model at a time ({})",
                            f.error.message.lines().next().unwrap_or_default()
                        );
                        jobs = 1;
                        let _ = ctx.deregister_table(m.name.as_str());
                        pending.insert(0, m);
                        continue;
                    }
                    Err(f) if f.for_the_data && !fail_fast => {
                        let reason = f.error.message.clone();
                        tracing::warn!(model = %m.name, "unavailable: {reason}");
                        out.unavailable.insert(m.name.clone(), reason.clone());
                        out.runs
                            .push(unavailable_run(m, ModelStatus::Failed, reason));
                        // A view is registered before it is counted: take it away.
                        let _ = ctx.deregister_table(m.name.as_str());
                        done.insert(m.name.as_str());
                        progress.inc(1);
                        for d in &m.deps {
                            release.one_user_done(ctx, d, &mut out)?;
                        }
                        continue;
                    }
                    Err(f) => return Err(f.error),
                };
                release.held_bytes.insert(m.name.clone(), bytes);
                if let Some(r) = reservation {
                    release.reservations.insert(m.name.clone(), r);
                }
                if progress.is_hidden() {
                    tracing::info!(model = %m.name, rows = run.rows, seconds = crate::logging::round2(run.seconds), "model done");
                } else {
                    progress.set_message(m.name.clone());
                    progress.inc(1);
                }
                done.insert(m.name.as_str());
                out.runs.push(run);
                out.columns.insert(m.name.clone(), columns);
                if let Some(b) = batches {
                    out.batches.insert(m.name.clone(), b);
                }
                if let Some(job) = after(m) {
                    *release.users.entry(m.name.clone()).or_default() += 1;
                    running.push(Box::pin(async move { Done::After(m, job.await) }));
                }
                for d in &m.deps {
                    release.one_user_done(ctx, d, &mut out)?;
                }
            }
            Done::After(m, result) => {
                result?;
                release.one_user_done(ctx, &m.name, &mut out)?;
            }
        }
    }
    if !pending.is_empty() {
        return Err(Error::internal(format!(
            "models left unscheduled: {}",
            pending
                .iter()
                .map(|m| m.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )));
    }
    let order: BTreeMap<&str, usize> = models
        .iter()
        .enumerate()
        .map(|(i, m)| (m.name.as_str(), i))
        .collect();
    out.runs
        .sort_by_key(|r| order.get(r.name.as_str()).copied().unwrap_or(usize::MAX));
    Ok(out)
}

/// The run record of a model that failed or was skipped.
fn unavailable_run(m: &Model, status: ModelStatus, reason: String) -> ModelRun {
    ModelRun {
        name: m.name.clone(),
        status,
        rows: 0,
        seconds: 0.0,
        materialize: m.materialize,
        error: Some(reason),
    }
}

/// What [`run_models`] needs to release staging models once nothing needs them any more.
struct Release {
    /// Who still needs each model's table: the models reading it, and its follow-up job.
    users: BTreeMap<String, usize>,
    /// Never released: report models (nothing reads them), views and what views read.
    keep: BTreeSet<String>,
    /// Bytes each model holds in memory, counted in `held`.
    held_bytes: BTreeMap<String, usize>,
    /// Each held model's bytes in the session's memory pool, freed on release.
    reservations: BTreeMap<String, MemoryReservation>,
    /// Bytes the staging models held in memory hold together (the shared `auto` budget).
    held: Arc<std::sync::atomic::AtomicUsize>,
}

impl Release {
    /// One user of `name` (a model reading it, or its follow-up job) is done: when none is
    /// left, a model that had readers is deregistered, its batches cut to the rows templates
    /// see, and its bytes taken off `held`.
    ///
    /// Errors (exit 1): DataFusion cannot deregister the table or copy the kept rows.
    fn one_user_done(
        &mut self,
        ctx: &SessionContext,
        name: &str,
        out: &mut RunResults,
    ) -> Result<()> {
        let Some(left) = self.users.get_mut(name) else {
            return Ok(());
        };
        *left = left.saturating_sub(1);
        if *left > 0 || self.keep.contains(name) {
            return Ok(());
        }
        let freed = self.held_bytes.remove(name).unwrap_or(0);
        self.reservations.remove(name);
        self.held
            .fetch_sub(freed, std::sync::atomic::Ordering::Relaxed);
        release(ctx, name, out)
    }
}

/// Deregisters `name` and cuts its batches in `out` to the rows templates see.
fn release(ctx: &SessionContext, name: &str, out: &mut RunResults) -> Result<()> {
    ctx.deregister_table(name)
        .map_err(|e| Error::internal(format!("releasing {name}: {e}")))?;
    if let Some(batches) = out.batches.get_mut(name) {
        let keep = MAX_TEMPLATE_ROWS + 1;
        let mut head = Vec::new();
        let mut n = 0;
        for b in batches.iter() {
            if n >= keep {
                break;
            }
            head.push(b.slice(0, b.num_rows().min(keep - n)));
            n += b.num_rows().min(keep - n);
        }
        if let Some(first) = batches.first() {
            // A copy, so the kept rows do not hold the whole buffers alive.
            let copy = datafusion::arrow::compute::concat_batches(&first.schema(), &head)
                .map_err(|e| Error::internal(format!("releasing {name}: {e}")))?;
            *batches = vec![copy];
        }
    }
    tracing::debug!(model = %name, "released: no model reads it any more");
    Ok(())
}

/// What [`run_one`] returns: the run record, the batches when held in memory, the column
/// names, the bytes held in memory and their reservation in the session's pool.
type OneRun = (
    ModelRun,
    Option<Vec<RecordBatch>>,
    Vec<String>,
    usize,
    Option<MemoryReservation>,
);

/// Runs one model: plans, executes and keeps it as its materialization says, registering
/// the result under the model's name. `materialize = "auto"` keeps it in memory while its
/// bytes stay under `auto_budget` — with `held` (under `--memory-limit`), while they and the
/// bytes already held by other models do — and, with `charge_held`, the session's memory
/// pool grants them, and adds its bytes to `held` when it is kept. `memory` is kept in
/// memory whatever the budget, and with `charge_held` charged to the pool all the same.
#[allow(clippy::too_many_arguments)]
async fn run_one(
    ctx: &SessionContext,
    project: &Path,
    m: &Model,
    work_dir: &Path,
    sources: &[SourceInfo],
    session: &crate::engine::session::SessionOptions,
    auto_budget: usize,
    held: Option<Arc<std::sync::atomic::AtomicUsize>>,
    charge_held: bool,
) -> std::result::Result<OneRun, ModelFailure> {
    use datafusion::logical_expr::LogicalPlanBuilder;
    let profile_dir = session.profile_dir.as_deref();
    let mut kept_batches = None;
    let mut held_here = 0usize;
    let mut reservation = None;
    let t0 = Instant::now();
    // Planning errors are the SQL's; errors while the plan executes are the data's, unless
    // they are an unreadable input value (exit 3) or the machine's (exit 1).
    let err = |e: DataFusionError| ModelFailure {
        error: model_error(project, m, &e, sources, session.spill_dir.as_deref()),
        for_the_data: false,
        out_of_memory: false,
    };
    let exec = |e: DataFusionError| {
        let error = model_error(project, m, &e, sources, session.spill_dir.as_deref());
        let for_the_data = error.kind == crate::error::ErrorKind::Model;
        ModelFailure {
            error,
            for_the_data,
            out_of_memory: matches!(e.find_root(), DataFusionError::ResourcesExhausted(_)),
        }
    };
    let io = |path: &Path, e: std::io::Error| ModelFailure {
        error: Error::io(path, e),
        for_the_data: false,
        out_of_memory: false,
    };
    let plan = ctx
        .state()
        .statement_to_plan(m.statement.clone())
        .await
        .map_err(err)?;
    let df = ctx.execute_logical_plan(plan).await.map_err(err)?;
    let columns: Vec<String> = df
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let rows;
    let physical;
    match m.materialize {
        Materialize::Memory | Materialize::Auto => {
            // `memory` is `auto` with no budget: it never goes to a work file.
            let budget = match m.materialize {
                Materialize::Auto => auto_budget,
                _ => usize::MAX,
            };
            let df_task = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await.map_err(err)?;
            let schema = plan.schema();
            let mut stream =
                datafusion::physical_plan::execute_stream(plan.clone(), df_task.clone())
                    .map_err(err)?;
            let mut kept: Vec<RecordBatch> = Vec::new();
            let mut bytes = 0usize;
            let mut seen = std::collections::HashSet::new();
            let mut count = 0u64;
            let file = work_dir.join(format!("{}.parquet", m.name));
            let mut over_budget = false;
            // Under a limit the data fits in, the held bytes count in the same pool as the
            // operators'; out of core the held models have their own eighth (see MemoryPlan).
            let charged = charge_held.then(|| {
                MemoryConsumer::new(format!("held model {}", m.name))
                    .register(&ctx.runtime_env().memory_pool)
            });
            while let Some(batch) = stream.next().await {
                let batch = batch.map_err(exec)?;
                count += batch.num_rows() as u64;
                let new = new_buffer_bytes(&batch, &mut seen);
                bytes += new;
                kept.push(batch);
                let others = held
                    .as_deref()
                    .map_or(0, |h| h.load(std::sync::atomic::Ordering::Relaxed));
                if bytes.saturating_add(others) > budget {
                    over_budget = true;
                    break;
                }
                if let Some(c) = &charged {
                    if m.materialize == Materialize::Memory {
                        c.grow(new);
                    } else if c.try_grow(new).is_err() {
                        over_budget = true;
                        break;
                    }
                }
            }
            if over_budget {
                drop(charged);
                tracing::debug!(model = %m.name, bytes, "over the memory budget: streaming to a work file");
                std::fs::create_dir_all(work_dir).map_err(|e| io(work_dir, e))?;
                // The batches so far, then the rest of the stream.
                let rest = futures::stream::iter(std::mem::take(&mut kept).into_iter().map(Ok))
                    .chain(stream);
                let rest = Box::pin(
                    datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
                        schema.clone(),
                        rest,
                    ),
                );
                rows = write_work_file(ctx, &m.name, df_task.clone(), rest, &file)
                    .await
                    .map_err(exec)?;
            } else {
                rows = count;
                let table = MemTable::try_new(schema, vec![kept.clone()]).map_err(err)?;
                ctx.register_table(m.name.as_str(), Arc::new(table))
                    .map_err(err)?;
                tracing::debug!(model = %m.name, bytes, "held in memory");
                kept_batches = Some(kept);
                reservation = charged;
                if m.materialize == Materialize::Auto
                    && let Some(h) = held.as_deref()
                {
                    h.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
                    held_here = bytes;
                }
            }
            physical = plan;
        }
        Materialize::Parquet => {
            std::fs::create_dir_all(work_dir).map_err(|e| io(work_dir, e))?;
            let file = work_dir.join(format!("{}.parquet", m.name));
            let task = Arc::new(df.task_ctx());
            let plan = df.create_physical_plan().await.map_err(err)?;
            let stream = datafusion::physical_plan::execute_stream(plan.clone(), task.clone())
                .map_err(err)?;
            rows = write_work_file(ctx, &m.name, task, stream, &file)
                .await
                .map_err(exec)?;
            physical = plan;
        }
        Materialize::View => {
            ctx.register_table(m.name.as_str(), df.into_view())
                .map_err(err)?;
            let df = ctx.table(m.name.as_str()).await.map_err(err)?;
            let (state, logical) = df.into_parts();
            let count = LogicalPlanBuilder::from(logical)
                .aggregate(
                    Vec::<datafusion::prelude::Expr>::new(),
                    vec![datafusion::functions_aggregate::count::count_all()],
                )
                .and_then(|b| b.build())
                .map_err(err)?;
            let plan = state.create_physical_plan(&count).await.map_err(err)?;
            let batches = datafusion::physical_plan::collect(plan.clone(), state.task_ctx())
                .await
                .map_err(exec)?;
            rows = batches
                .first()
                .and_then(|b| {
                    use datafusion::arrow::array::AsArray;
                    b.column(0)
                        .as_primitive_opt::<datafusion::arrow::datatypes::Int64Type>()
                        .map(|a| a.value(0) as u64)
                })
                .unwrap_or(0);
            physical = plan;
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    if let Some(dir) = profile_dir {
        let text = format!(
            "-- {} ({} rows, {seconds:.2} s)\n{}",
            m.name,
            rows,
            datafusion::physical_plan::display::DisplayableExecutionPlan::with_metrics(
                physical.as_ref()
            )
            .indent(true)
        );
        let file = dir.join(format!("{}.txt", m.name));
        std::fs::write(&file, text).map_err(|e| io(&file, e))?;
    }
    let run = ModelRun {
        name: m.name.clone(),
        status: ModelStatus::Ok,
        rows,
        seconds,
        materialize: m.materialize,
        error: None,
    };
    Ok((run, kept_batches, columns, held_here, reservation))
}

/// Bytes of the buffers of `batch` not yet in `seen` (keyed by allocation), adding them.
///
/// `RecordBatch::get_array_memory_size` counts a buffer once per array that uses it, so the
/// batches an aggregate emits as slices of one result would each count the whole result;
/// this counts each allocation once.
fn new_buffer_bytes(batch: &RecordBatch, seen: &mut std::collections::HashSet<usize>) -> usize {
    fn walk(
        data: &datafusion::arrow::array::ArrayData,
        seen: &mut std::collections::HashSet<usize>,
    ) -> usize {
        let mut n = 0;
        let nulls = data.nulls().map(|b| b.buffer());
        for buf in data.buffers().iter().chain(nulls) {
            if seen.insert(buf.data_ptr().as_ptr() as usize) {
                n += buf.capacity();
            }
        }
        for child in data.child_data() {
            n += walk(child, seen);
        }
        n
    }
    batch
        .columns()
        .iter()
        .map(|c| walk(&c.to_data(), seen))
        .sum()
}

/// Writes `stream` to `file`, a Parquet work file read back by later models of the run, with
/// DataFusion's Parquet writer, which encodes the columns of a row group in parallel. Snappy,
/// and no column statistics: a work file is read whole, and computing min/max per value took
/// a quarter of the writing time (10 million events: 2.3 s single-threaded with statistics,
/// 1.2 s like this). Then registers the file as the table `name`. Returns the rows written.
///
/// Errors: DataFusion's, for the stream or for the file.
async fn write_work_file(
    ctx: &SessionContext,
    name: &str,
    task: Arc<datafusion::execution::TaskContext>,
    stream: datafusion::physical_plan::SendableRecordBatchStream,
    file: &Path,
) -> datafusion::error::Result<u64> {
    use datafusion::config::TableParquetOptions;
    use datafusion::datasource::file_format::parquet::ParquetSink;
    use datafusion::datasource::listing::ListingTableUrl;
    use datafusion::datasource::physical_plan::{FileGroup, FileOutputMode, FileSinkConfig};
    use datafusion::datasource::sink::DataSink;
    use datafusion::execution::object_store::ObjectStoreUrl;
    use datafusion::logical_expr::dml::InsertOp;
    let url = ListingTableUrl::parse(file.to_string_lossy())?;
    let config = FileSinkConfig {
        original_url: url.to_string(),
        object_store_url: ObjectStoreUrl::local_filesystem(),
        file_group: FileGroup::default(),
        table_paths: vec![url],
        output_schema: stream.schema(),
        table_partition_cols: Vec::new(),
        insert_op: InsertOp::Append,
        keep_partition_by_columns: false,
        file_extension: "parquet".to_string(),
        file_output_mode: FileOutputMode::SingleFile,
    };
    let mut options = TableParquetOptions::default();
    options.global.compression = Some("snappy".to_string());
    options.global.statistics_enabled = Some("none".to_string());
    // An error of the model's own plan (a full spill folder while it sorts) arrives through
    // the sink too: remember that it came from the stream, so that only the sink's own
    // failures are said to be the work file's.
    let upstream_failed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = Arc::clone(&upstream_failed);
    let schema = stream.schema();
    let stream = Box::pin(
        datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(
            schema,
            futures::TryStreamExt::inspect_err(stream, move |_| {
                flag.store(true, std::sync::atomic::Ordering::Relaxed)
            }),
        ),
    );
    let rows = ParquetSink::new(config, options)
        .write_all(stream, &task)
        .await
        .map_err(|e| {
            if upstream_failed.load(std::sync::atomic::Ordering::Relaxed) {
                return e;
            }
            match crate::error::io_failure(&e) {
                // A full disk is the machine's fault (exit 1): say which file.
                Some(io) => DataFusionError::External(Box::new(Error::internal(format!(
                    "{}: {io} (writing the work file of model {name})",
                    file.display()
                )))),
                None => e,
            }
        })?;
    ctx.register_parquet(name, &file.to_string_lossy(), ParquetReadOptions::default())
        .await?;
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::{ArrayRef, Int64Array, StringArray};

    #[test]
    fn buffer_bytes_count_each_allocation_once() {
        // 1000 rows of i64 (8,000 bytes of values) and text "v<i>" (offsets 1,001 × 4 bytes,
        // 3,890 bytes of text: 10 one-digit, 90 two-digit, 900 three-digit numbers plus "v").
        let ints: ArrayRef = Arc::new(Int64Array::from_iter_values(0..1000));
        let text: ArrayRef = Arc::new(StringArray::from_iter_values(
            (0..1000).map(|i| format!("v{i}")),
        ));
        let batch = RecordBatch::try_from_iter([("i", ints), ("t", text)]).unwrap();
        let mut seen = std::collections::HashSet::new();
        let whole = new_buffer_bytes(&batch, &mut seen);
        // Capacities are rounded up to 64 bytes, never below the data.
        assert!(whole >= 8_000 + 4_004 + 3_890, "{whole}");
        assert!(whole < 2 * (8_000 + 4_004 + 3_890), "{whole}");
        // Slices of the same batch share its buffers: nothing new.
        let mut again = std::collections::HashSet::new();
        let halves = new_buffer_bytes(&batch.slice(0, 500), &mut again)
            + new_buffer_bytes(&batch.slice(500, 500), &mut again);
        assert_eq!(halves, whole);
        // Arrow's own count counts each slice's whole buffers: twice as much here.
        assert_eq!(
            batch.slice(0, 500).get_array_memory_size()
                + batch.slice(500, 500).get_array_memory_size(),
            2 * batch.get_array_memory_size()
        );
    }
}
