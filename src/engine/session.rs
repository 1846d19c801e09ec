//! The one place a DataFusion session is built: config, runtime (memory pool, spill
//! directory), state, context, then every journey-report SQL function.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

use crate::engine::memory;
use crate::error::{Error, Result};

/// Settings of the session.
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Memory limit in bytes for DataFusion's operators (a fair spilling pool); `None` is
    /// unbounded.
    pub memory_limit: Option<usize>,
    /// Where operators spill when the limit is reached (default: the OS temp folder).
    pub spill_dir: Option<PathBuf>,
    /// Partitions per query (default: the number of cores).
    pub target_partitions: Option<usize>,
    /// When set, `run` writes each model's executed plan with its metrics to
    /// `<dir>/<model>.txt` (see the runner's `run_models`).
    pub profile_dir: Option<PathBuf>,
    /// Models run at once (`--jobs`; `None`: the engine's `MemoryPlan` decides).
    pub jobs: Option<usize>,
    /// `--out-of-core`: plan out of core under `memory_limit` whatever the inputs' size.
    pub out_of_core: bool,
}

/// Builds the session with journey-report's functions registered, after
/// `memory::tune_allocator` for its memory limit (the out-of-core setting until a
/// `memory::MemoryPlan` is applied). The de-duplication runs in one pass until the plan
/// says otherwise.
///
/// DataFusion settings come from `DATAFUSION_*` environment variables first, as in
/// `datafusion-cli` (`DATAFUSION_EXECUTION_BATCH_SIZE=16384` sets
/// `datafusion.execution.batch_size`; see DataFusion's configuration page), then the
/// settings below.
///
/// Errors: a `DATAFUSION_*` variable DataFusion cannot parse (exit 2, naming it); the spill
/// folder cannot be created (exit 1).
pub fn build_session(opts: &SessionOptions) -> Result<SessionContext> {
    memory::tune_allocator(opts.memory_limit.is_some());
    let mut config = SessionConfig::from_env()
        .map_err(|e| {
            let set: Vec<String> = std::env::vars()
                .filter(|(k, _)| k.starts_with("DATAFUSION_"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            Error::config(format!(
                "a DataFusion setting from the environment ({}): {}",
                set.join(", "),
                crate::error::clean_error(&e)
            ))
        })?
        .with_information_schema(true)
        .with_option_extension(crate::functions::arg_min::exec::DedupOptions::default());
    if let Some(n) = opts.target_partitions {
        config = config.with_target_partitions(n.max(1));
    }
    // Spans let planning errors name the SQL line and column.
    config.options_mut().sql_parser.collect_spans = true;
    // Work files and data/*.parquet: Snappy encodes several times faster than DataFusion's
    // default zstd(3), and every Parquet reader (pandas, DuckDB, Spark) reads it.
    config.options_mut().execution.parquet.compression = Some("snappy".to_string());
    // A join whose smaller side is estimated under 64 MiB and 1,048,576 rows builds one hash
    // table and probes it from every partition (DataFusion's `CollectLeft`), instead of
    // hash-partitioning both sides first (its defaults: 1 MiB and 131,072 rows). On this
    // project the large side is the event table: `funnel_dropoff` joined 82,000 drop-outs
    // to 10 million events and spent most of its 1.2–2.0 s re-partitioning the events; with
    // these thresholds it takes 0.3 s, and the 10M run 11.6–11.7 s instead of 11.9–12.1 s,
    // same numbers. A `DATAFUSION_OPTIMIZER_HASH_JOIN_SINGLE_PARTITION_THRESHOLD[_ROWS]`
    // variable still wins.
    let optimizer = &mut config.options_mut().optimizer;
    if std::env::var_os("DATAFUSION_OPTIMIZER_HASH_JOIN_SINGLE_PARTITION_THRESHOLD").is_none() {
        optimizer.hash_join_single_partition_threshold = 64 << 20;
    }
    if std::env::var_os("DATAFUSION_OPTIMIZER_HASH_JOIN_SINGLE_PARTITION_THRESHOLD_ROWS").is_none()
    {
        optimizer.hash_join_single_partition_threshold_rows = 1 << 20;
    }
    // A partial aggregate that merges fewer than 70% of its rows away is skipped (its rows
    // go to the final aggregate as they are), instead of DataFusion's 20%: grouping 10M
    // events by session (stg_sessions: 39% of the rows left after the partial step) or by
    // customer and day hashed most rows twice. 10M events, five runs each, alternating:
    // operator compute (elapsed_compute summed over `--profile-dir`) median 26.2 s → 23.4 s,
    // wall median 18.2 s → 16.7 s, peak RSS 3.0–3.2 GB → 2.75–2.9 GB, same data files.
    // Under `--memory-limit` too: at 100M events (4 GiB) the partial step of stg_sessions
    // merged 99.5M rows into 32.7M in 27.7 s of compute and the spilling final aggregate
    // still took 39.7 s (69.7 s in all); skipping the partial step, the model's compute was
    // 43.9–59.0 s and its wall time 39.4–50.5 s instead of 54.3–56.0 s (two runs
    // under 4 GiB; 57.1 s under 16 GiB; a noisy machine), same data files (bench/RESULTS.md).
    // `DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_RATIO_THRESHOLD` still wins.
    if std::env::var_os("DATAFUSION_EXECUTION_SKIP_PARTIAL_AGGREGATION_PROBE_RATIO_THRESHOLD")
        .is_none()
    {
        config
            .options_mut()
            .execution
            .skip_partial_aggregation_probe_ratio_threshold = 0.3;
    }
    // Each sort reserves `sort_spill_reservation_bytes` (DataFusion: 10 MiB) up front for
    // merging its spills. Under a small limit two sorts' reservations took most of the pool
    // and the next allocation failed ("Not enough memory to continue external sort"): the
    // bundled project under `--memory-limit 40MiB` (a 28 MiB pool) failed in
    // stg_order_touchpoints in 2 of 12 runs started with a cold page cache, and did so before
    // this session's changes too (3 of 15). With a 32nd of the pool per sort (here 0.875 MiB)
    // it ran 15 of 15. From a limit of about 460 MiB up DataFusion's 10 MiB stays (4 GiB:
    // a 2.8 GiB pool).
    // `DATAFUSION_EXECUTION_SORT_SPILL_RESERVATION_BYTES` still wins.
    if let Some(limit) = opts.memory_limit
        && std::env::var_os("DATAFUSION_EXECUTION_SORT_SPILL_RESERVATION_BYTES").is_none()
    {
        let execution = &mut config.options_mut().execution;
        execution.sort_spill_reservation_bytes =
            memory::sort_spill_reservation(limit, execution.sort_spill_reservation_bytes);
    }
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = opts.memory_limit {
        runtime =
            runtime.with_memory_pool(Arc::new(FairSpillPool::new(memory::operator_memory(limit))));
    }
    if let Some(dir) = &opts.spill_dir {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        runtime = runtime.with_disk_manager_builder(
            DiskManagerBuilder::default()
                .with_mode(DiskManagerMode::Directories(vec![dir.clone()])),
        );
    }
    let runtime = runtime
        .build_arc()
        .map_err(|e| Error::internal(format!("building the DataFusion runtime: {e}")))?;
    // De-duplication by sorted hashes; in two passes over the input when the memory plan
    // says so (`journey.dedup_two_pass`).
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(crate::functions::arg_min::exec::ArgMinDedupRule))
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::functions::register_all(&ctx);
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The partial-aggregation skip threshold is 0.3 with or without `--memory-limit`
    /// (unless the environment sets it, as no test does); de-duplication by
    /// sorted hashes is a physical optimizer rule in both.
    #[test]
    fn settings_without_and_with_a_memory_limit() {
        let threshold = |ctx: &SessionContext| {
            ctx.state()
                .config()
                .options()
                .execution
                .skip_partial_aggregation_probe_ratio_threshold
        };
        let has_rule = |ctx: &SessionContext| {
            ctx.state()
                .physical_optimizers()
                .iter()
                .any(|r| r.name() == "arg_min_dedup")
        };
        let free = build_session(&SessionOptions::default()).unwrap();
        assert_eq!(threshold(&free), 0.3);
        assert!(has_rule(&free));
        let capped = build_session(&SessionOptions {
            memory_limit: Some(1 << 30),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(threshold(&capped), 0.3);
        assert!(has_rule(&capped));
        // One pass until a memory plan says the inputs do not fit: 1 GiB of inputs × 4 is
        // over a 1 GiB limit.
        let two_pass = |ctx: &SessionContext| {
            ctx.state()
                .config()
                .options()
                .extensions
                .get::<crate::functions::arg_min::exec::DedupOptions>()
                .is_some_and(|o| o.dedup_two_pass)
        };
        assert!(!two_pass(&capped));
        // The pool: 70% of 1 GiB as built and out of core (751,619,274 bytes = 107,374,182
        // × 7), 82.5% when the data fits (885,836,985 = 26,843,545 × 33).
        let pool = |ctx: &SessionContext| ctx.runtime_env().memory_pool.memory_limit();
        use datafusion::execution::memory_pool::MemoryLimit::Finite;
        assert!(matches!(pool(&capped), Finite(751_619_274)));
        let fits = memory::MemoryPlan::new(Some(1 << 30), None, 1 << 20, false)
            .apply(capped.clone())
            .unwrap();
        assert!(!two_pass(&fits));
        let fair_share = |ctx: &SessionContext| {
            ctx.state()
                .config()
                .options()
                .extensions
                .get::<crate::functions::arg_min::exec::DedupOptions>()
                .is_some_and(|o| o.dedup_fair_share)
        };
        assert!(fair_share(&capped));
        assert!(!fair_share(&fits));
        assert!(matches!(pool(&fits), Finite(885_836_985)));
        let out_of_core = memory::MemoryPlan::new(Some(1 << 30), None, 1 << 30, false)
            .apply(capped.clone())
            .unwrap();
        assert!(two_pass(&out_of_core));
        assert!(fair_share(&out_of_core));
        assert!(matches!(pool(&out_of_core), Finite(751_619_274)));
        // A sort's up-front reservation: DataFusion's 10 MiB without a limit and under a
        // large one; a 32nd of the operators' pool under a small one — 40 MiB → a pool of
        // 40 / 10 × 7 = 28 MiB → 28 / 32 = 0.875 MiB = 917,504 bytes.
        let reservation = |ctx: &SessionContext| {
            ctx.state()
                .config()
                .options()
                .execution
                .sort_spill_reservation_bytes
        };
        assert_eq!(reservation(&free), 10 << 20);
        assert_eq!(reservation(&capped), 10 << 20);
        let small = build_session(&SessionOptions {
            memory_limit: Some(40 << 20),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(reservation(&small), 917_504);
    }
}
