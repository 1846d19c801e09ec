//! The one place a DataFusion session is built: config, runtime (memory pool, spill
//! directory), state, context, then every journey-report SQL function.

use std::path::PathBuf;
use std::sync::Arc;

use datafusion::execution::disk_manager::{DiskManagerBuilder, DiskManagerMode};
use datafusion::execution::memory_pool::FairSpillPool;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::execution::session_state::SessionStateBuilder;
use datafusion::prelude::{SessionConfig, SessionContext};

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
    /// `<dir>/<model>.txt` (see [`crate::engine::models::run_models`]).
    pub profile_dir: Option<PathBuf>,
    /// Models run at once (`None`: see [`SessionOptions::jobs`]).
    pub jobs: Option<usize>,
}

impl SessionOptions {
    /// Models run at once: `jobs` when given, else [`crate::engine::models::DEFAULT_JOBS`] without a
    /// memory limit and 1 with one.
    pub fn jobs(&self) -> usize {
        match (self.jobs, self.memory_limit) {
            (Some(n), _) => n,
            (None, None) => crate::engine::models::DEFAULT_JOBS,
            (None, Some(_)) => 1,
        }
    }
}

/// The part of `--memory-limit` given to DataFusion's operators as a spilling pool: 70%.
/// The rest is headroom for what the pool does not count — Parquet and CSV read buffers,
/// batches in flight between operators, staging models held in memory (together up to an
/// eighth of the limit, see `materialize = "auto"`) and the allocator's slack, kept small by
/// [`tune_allocator`] — so that the process's peak RSS stays under the limit.
///
/// A 100M run at 60% failed with "Resources exhausted" in `stg_customer_touch`; the cause
/// turned out to be `arg_min`'s output being charged for the input buffers it pointed into
/// (it also hit once at 70%, and is fixed in `sql_arg_min::gc_sparse_views`). 60% has not
/// been measured since, so 70% stays.
pub fn operator_memory(limit: usize) -> usize {
    limit / 10 * 7
}

/// mimalloc's `purge_delay` option: its position in `mi_option_e` of the mimalloc v3 that
/// `libmimalloc-sys` 0.1.49 builds, which has no Rust constant for it (the test
/// `purge_delay_is_the_option_we_think` checks the options around it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets how long the allocator keeps freed memory before giving it back to the system: 100 ms
/// under `--memory-limit`, 10 s without one.
///
/// The binary allocates with mimalloc (`src/main.rs`), which by default keeps freed pages for
/// a second (`purge_delay` = 1000 ms) in case they are reused.
///
/// - Under `--memory-limit 4GiB` at 100M events, that second let buffers just freed by one
///   operator and new ones of the next add up, and peak RSS went over the limit. Measured on
///   the same command (bench/RESULTS.md): 1000 ms peaked at 4,213 MiB in 341.7 s, 100 ms at
///   3,300 MiB in 362.0 s, and 0 at 2,702 MiB in 409.4 s (returning pages costs system time).
/// - Without a limit, a second is too short the other way: the 10M-event run gave pages back
///   and faulted them in again 1.4 million times, 3.0–3.3 s of system time. With 10 s it took
///   0.8 million faults, 1.8–2.0 s of system time and 12.6–12.7 s instead of 13.0–13.4 s, for
///   a peak RSS of 3.3–3.4 GB instead of 2.8–2.9 GB (never giving memory back measured the
///   same as 10 s).
///
/// The environment variable `MIMALLOC_PURGE_DELAY` (milliseconds; mimalloc reads it itself
/// at start-up) wins over both.
///
/// Has no effect where mimalloc is not the global allocator (the library's tests).
pub fn tune_allocator(memory_limit: Option<usize>) {
    let from_env = std::env::var_os("MIMALLOC_PURGE_DELAY").is_some();
    if let Some(delay_ms) = purge_delay_ms(memory_limit, from_env) {
        // SAFETY: mi_option_set only stores the value in mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay_ms) };
    }
}

/// The purge delay [`tune_allocator`] sets, in milliseconds: `None` (leave mimalloc's own)
/// when the environment sets `MIMALLOC_PURGE_DELAY`, else 100 under a memory limit and
/// 10,000 without.
fn purge_delay_ms(memory_limit: Option<usize>, set_in_environment: bool) -> Option<i64> {
    match (set_in_environment, memory_limit) {
        (true, _) => None,
        (false, Some(_)) => Some(100),
        (false, None) => Some(10_000),
    }
}

/// Builds the session with journey-report's functions registered, after
/// [`tune_allocator`] for its memory limit.
///
/// DataFusion settings come from `DATAFUSION_*` environment variables first, as in
/// `datafusion-cli` (`DATAFUSION_EXECUTION_BATCH_SIZE=16384` sets
/// `datafusion.execution.batch_size`; see DataFusion's configuration page), then the
/// settings below.
///
/// Errors: a `DATAFUSION_*` variable DataFusion cannot parse (exit 2, naming it); the spill
/// folder cannot be created (exit 1).
pub fn build_session(opts: &SessionOptions) -> Result<SessionContext> {
    tune_allocator(opts.memory_limit);
    let mut config = SessionConfig::from_env()
        .map_err(|e| {
            let set: Vec<String> = std::env::vars()
                .filter(|(k, _)| k.starts_with("DATAFUSION_"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            Error::config(format!(
                "a DataFusion setting from the environment ({}): {}",
                set.join(", "),
                crate::engine::models::clean_error(&e)
            ))
        })?
        .with_information_schema(true);
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
        execution.sort_spill_reservation_bytes = execution
            .sort_spill_reservation_bytes
            .min(operator_memory(limit) / 32);
    }
    let mut runtime = RuntimeEnvBuilder::new();
    if let Some(limit) = opts.memory_limit {
        runtime = runtime.with_memory_pool(Arc::new(FairSpillPool::new(operator_memory(limit))));
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
    // De-duplication by sorted hashes; under a limit in two passes over the input.
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .with_physical_optimizer_rule(Arc::new(crate::functions::arg_min::exec::ArgMinDedupRule {
            two_pass: opts.memory_limit.is_some(),
        }))
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::functions::register_all(&ctx);
    Ok(ctx)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MIMALLOC_PURGE_DELAY` in the environment wins; otherwise 100 ms under a limit and
    /// 10 s without.
    #[test]
    fn purge_delay_follows_the_limit_unless_the_environment_sets_it() {
        assert_eq!(purge_delay_ms(Some(4 << 30), false), Some(100));
        assert_eq!(purge_delay_ms(None, false), Some(10_000));
        assert_eq!(purge_delay_ms(Some(4 << 30), true), None);
        assert_eq!(purge_delay_ms(None, true), None);
    }

    /// The option index is right: positions 14 and 16–19 of `mi_option_e` hold options
    /// nothing here sets, with the defaults of mimalloc v3's options.c
    /// (deprecated_eager_commit_delay 1, use_numa_nodes 0, disallow_os_alloc 0, os_tag 100,
    /// max_errors 32), so 15 is purge_delay. It holds its default (1000) or a value that
    /// `tune_allocator` sets, 100 or 10,000 (tests run in parallel and build sessions).
    #[test]
    fn purge_delay_is_the_option_we_think() {
        // SAFETY: reading mimalloc's option table.
        let get = |o| unsafe { libmimalloc_sys::mi_option_get(o) };
        assert_eq!(
            [get(14), get(16), get(17), get(18), get(19)],
            [1, 0, 0, 100, 32]
        );
        assert!([1000, 100, 10_000].contains(&get(MI_OPTION_PURGE_DELAY)));
    }

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
