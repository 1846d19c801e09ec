//! The memory budget: how `--memory-limit` and `--jobs` are shared out. Every consumer asks
//! here — the operators' spilling pool, the sort reservation, the staging models held in
//! memory, the de-duplication's passes, the allocator, the models and pages run at once — so
//! the policy reads in one place.
//!
//! The budget is a [`MemoryPlan`], made once per command from the limit and from the size of
//! the inputs ([`input_bytes`]), before any model runs:
//!
//! - **No limit:** nothing is capped. Models run [`DEFAULT_JOBS`] at a time and a staging
//!   model may be held in memory up to [`AUTO_MEMORY_BUDGET`].
//!
//! Under `--memory-limit L` DataFusion's operators share a spilling pool (its
//! `FairSpillPool`: each operator that can spill gets an equal share of what the operators
//! that cannot spill, and the models held in memory, leave); then:
//!
//! - **if the data fits** ([`WORKING_SET_FACTOR`] × the inputs' in-memory size ≤ `L`), the
//!   run is planned as without a limit — models run [`DEFAULT_JOBS`] at a time, the events
//!   are read once (the de-duplication takes memory first come first served instead of a
//!   fair share, spilling only when the pool refuses it), staging models stay in memory —
//!   and the limit is a safety net: the pool is 82.5% of `L` ([`shared_pool`]) and the
//!   staging models held in memory are charged to it, a model the pool cannot take goes to
//!   a work file, an operator the pool cannot serve spills, and a model the pool refuses
//!   outright runs again alone (see `run_models`);
//! - **if it does not**, the out-of-core plan, as measured at 100M events: the operators'
//!   pool is 70% of `L` ([`operator_memory`]) and the staging models held in memory share
//!   an eighth of `L` beside it; one model at a time unless `--jobs` says more; the
//!   de-duplication reads its input twice (keys first); freed memory goes back to the
//!   system within 100 ms.
//!
//! Why the held models are charged to the pool only when the data fits: at 100M events
//! under 4 GiB, charging them to one 82.5% pool left `attribution_rules` and
//! `funnel_dropoff` no room for their sorts (DataFusion counts each slice of a sorted batch
//! at the size of the whole batch: one asked for 593.5 GB), and both failed.

use std::path::Path;

use crate::project::Format;
use crate::sources::SourceInfo;

/// Models run at once by default without `--memory-limit`, or under one the data fits in
/// (see [`crate::engine::runner::run_models`]): 2. Out of core the default is 1: the spilling
/// pool is sized for one model's operators, and models running side by side would share it
/// (measured: the bundled project at `--memory-limit 40MiB` fails with "Resources exhausted"
/// at 4 jobs).
pub const DEFAULT_JOBS: usize = 2;

/// Memory budget of `materialize = "auto"` without `--memory-limit`: 2 GiB per model. Under
/// a limit it is shared by all the models held in memory together (see [`MemoryPlan`]).
pub const AUTO_MEMORY_BUDGET: usize = 2 << 30;

/// Peak memory of a run over the in-memory size of its inputs, with margin: the run is
/// planned in memory under `--memory-limit L` when `WORKING_SET_FACTOR` × [`input_bytes`] ≤
/// `L`. Measured without a limit on the sample's 10M events as CSV (829 MB of events, 863 MB
/// of inputs): peak RSS 2,841 MB, 3.3 × the inputs; 4 leaves a fifth for other exports.
pub const WORKING_SET_FACTOR: u64 = 4;

/// How one command uses memory: made once by [`MemoryPlan::new`], then asked by the session
/// ([`MemoryPlan::apply`]), the runner and the page renderer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryPlan {
    /// `--memory-limit` in bytes.
    pub limit: Option<usize>,
    /// Models (and pages) run at once.
    pub jobs: usize,
    /// Bytes of staging models (`materialize = "auto"`) held in memory: per model without a
    /// limit, for all of them together under one.
    pub held_models: usize,
    /// The out-of-core plan: the de-duplication reads its input twice, keys first, and the
    /// allocator gives memory back within 100 ms.
    pub out_of_core: bool,
}

impl MemoryPlan {
    /// The plan for `limit` (bytes), `jobs` (`--jobs`) and inputs of `input_bytes` bytes in
    /// memory (see the [module docs](self)); out of core under a limit whatever the size with
    /// `force_out_of_core` (`--out-of-core`).
    pub fn new(
        limit: Option<usize>,
        jobs: Option<usize>,
        input_bytes: u64,
        force_out_of_core: bool,
    ) -> MemoryPlan {
        let out_of_core = limit.is_some_and(|l| {
            force_out_of_core || input_bytes.saturating_mul(WORKING_SET_FACTOR) > l as u64
        });
        let default_jobs = if out_of_core { 1 } else { DEFAULT_JOBS };
        let held_models = match limit {
            None => AUTO_MEMORY_BUDGET,
            Some(l) if out_of_core => l / 8,
            Some(l) => shared_pool(l),
        };
        MemoryPlan {
            limit,
            jobs: jobs.unwrap_or(default_jobs).max(1),
            held_models,
            out_of_core,
        }
    }

    /// Whether the staging models held in memory are charged to the session's pool: under a
    /// limit the data fits in.
    pub fn charges_held_models(&self) -> bool {
        self.limit.is_some() && !self.out_of_core
    }

    /// Puts the plan into effect: the de-duplication's passes and its claim on the pool (the
    /// session settings `journey.dedup_two_pass` and `journey.dedup_fair_share`, see
    /// [`crate::functions::arg_min::exec::DedupOptions`]), the
    /// allocator's purge delay ([`tune_allocator`]) and, when the data fits under the limit,
    /// the [`shared_pool`] in place of the operators' pool the session was built with
    /// ([`operator_memory`]). Returns the session to use from then on: `ctx`'s state
    /// (tables, functions, settings) with that runtime.
    ///
    /// Errors (exit 1): DataFusion cannot build the runtime.
    pub fn apply(
        &self,
        ctx: datafusion::prelude::SessionContext,
    ) -> crate::Result<datafusion::prelude::SessionContext> {
        use datafusion::execution::memory_pool::FairSpillPool;
        use datafusion::execution::runtime_env::RuntimeEnvBuilder;
        use datafusion::execution::session_state::SessionStateBuilder;
        tune_allocator(self.out_of_core);
        let mut state = ctx.state();
        if let Some(o) = state
            .config_mut()
            .options_mut()
            .extensions
            .get_mut::<crate::functions::arg_min::exec::DedupOptions>()
        {
            o.dedup_two_pass = self.out_of_core;
            o.dedup_fair_share = !self.charges_held_models();
        }
        let mut builder = SessionStateBuilder::new_from_existing(state);
        if let Some(limit) = self.limit
            && self.charges_held_models()
        {
            let runtime = RuntimeEnvBuilder::from_runtime_env(ctx.runtime_env().as_ref())
                .with_memory_pool(std::sync::Arc::new(FairSpillPool::new(shared_pool(limit))))
                .build_arc()
                .map_err(|e| {
                    crate::Error::internal(format!("building the DataFusion runtime: {e}"))
                })?;
            builder = builder.with_runtime_env(runtime);
        }
        Ok(datafusion::prelude::SessionContext::new_with_state(
            builder.build(),
        ))
    }
}

/// The inputs' size in memory, in bytes, as [`MemoryPlan::new`] weighs it: a CSV file's size
/// (text is about as large as its Arrow columns), a Parquet file's uncompressed column data
/// (the row groups' `total_byte_size` in its footer; the file's size when the footer cannot
/// be read — the run reports that file's error itself).
pub fn input_bytes(sources: &[SourceInfo]) -> u64 {
    sources
        .iter()
        .flat_map(|s| s.files.iter().map(move |f| (s.format, f)))
        .map(|(format, f)| match format {
            Format::Csv => f.bytes,
            Format::Parquet => parquet_bytes(&f.path).unwrap_or(f.bytes),
        })
        .sum()
}

/// Uncompressed bytes of the column data of a Parquet file, from its footer.
fn parquet_bytes(path: &Path) -> Option<u64> {
    let file = std::fs::File::open(path).ok()?;
    let meta = datafusion::parquet::file::metadata::ParquetMetaDataReader::new()
        .parse_and_finish(&file)
        .ok()?;
    Some(
        meta.row_groups()
            .iter()
            .map(|rg| rg.total_byte_size().max(0) as u64)
            .sum(),
    )
}

/// DataFusion's `sort_spill_reservation_bytes` under a limit of `limit` bytes: its
/// `default`, but at most a 32nd of the pool, so that many sorts can reserve at once.
pub fn sort_spill_reservation(limit: usize, default: usize) -> usize {
    default.min(operator_memory(limit) / 32)
}

/// The operators' spilling pool under a `--memory-limit` the data does not fit in: 70%. An
/// eighth of the limit is for the staging models held in memory, beside it; the rest is
/// headroom for what neither counts — Parquet and CSV read buffers, batches in flight
/// between operators and the allocator's slack, kept small by [`tune_allocator`] — so that
/// the process's peak RSS stays under the limit. The session is built with this pool;
/// [`MemoryPlan::apply`] replaces it when the data fits.
///
/// A 100M run at 60% failed with "Resources exhausted" in `stg_customer_touch`; the cause
/// turned out to be `arg_min`'s output being charged for the input buffers it pointed into
/// (it also hit once at 70%, and is fixed in `arg_min::gc_sparse_views`). 60% has not been
/// measured since, so 70% stays.
pub fn operator_memory(limit: usize) -> usize {
    limit / 10 * 7
}

/// The pool under a `--memory-limit` the data fits in: 82.5%, shared by the operators and
/// the staging models held in memory (the 70% and the eighth of [`operator_memory`] in one).
pub fn shared_pool(limit: usize) -> usize {
    limit / 40 * 33
}

/// mimalloc's `purge_delay` option: its position in `mi_option_e` of the mimalloc v3 that
/// `libmimalloc-sys` 0.1.49 builds, which has no Rust constant for it (the test
/// `purge_delay_is_the_option_we_think` checks the options around it).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Sets how long the allocator keeps freed memory before giving it back to the system: 100 ms
/// in the out-of-core plan (see [`MemoryPlan`]), 10 s otherwise.
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
pub fn tune_allocator(out_of_core: bool) {
    let from_env = std::env::var_os("MIMALLOC_PURGE_DELAY").is_some();
    if let Some(delay_ms) = purge_delay_ms(out_of_core, from_env) {
        // SAFETY: mi_option_set only stores the value in mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, delay_ms) };
    }
}

/// The purge delay [`tune_allocator`] sets, in milliseconds: `None` (leave mimalloc's own)
/// when the environment sets `MIMALLOC_PURGE_DELAY`, else 100 out of core and 10,000
/// otherwise.
fn purge_delay_ms(out_of_core: bool, set_in_environment: bool) -> Option<i64> {
    match (set_in_environment, out_of_core) {
        (true, _) => None,
        (false, true) => Some(100),
        (false, false) => Some(10_000),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `MIMALLOC_PURGE_DELAY` in the environment wins; otherwise 100 ms out of core and
    /// 10 s otherwise.
    #[test]
    fn purge_delay_follows_the_plan_unless_the_environment_sets_it() {
        assert_eq!(purge_delay_ms(true, false), Some(100));
        assert_eq!(purge_delay_ms(false, false), Some(10_000));
        assert_eq!(purge_delay_ms(true, true), None);
        assert_eq!(purge_delay_ms(false, true), None);
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

    /// Without a limit: 2 models at once, 2 GiB per held model. Under 4 GiB (4,294,967,296
    /// bytes) inputs of 1,000,000,000 bytes need 4,000,000,000 ≤ the limit: planned in
    /// memory, 2 models at once, held models up to the whole pool (`4 GiB / 40 * 33`:
    /// 107,374,182 × 33 = 3,543,348,006 bytes). Inputs of 1,100,000,000 need 4,400,000,000 >
    /// the limit: out of core, 1 model at a time, an eighth of the limit (512 MiB) for held
    /// models. `--jobs` wins in both; `--out-of-core` forces the second under a limit.
    #[test]
    fn the_plan_follows_the_limit_and_the_inputs() {
        let free = MemoryPlan::new(None, None, 100_000_000_000, false);
        assert_eq!(
            (free.jobs, free.held_models, free.out_of_core),
            (2, 2 << 30, false)
        );
        let fits = MemoryPlan::new(Some(4 << 30), None, 1_000_000_000, false);
        assert_eq!(
            (fits.jobs, fits.held_models, fits.out_of_core),
            (2, 3_543_348_006, false)
        );
        let big = MemoryPlan::new(Some(4 << 30), None, 1_100_000_000, false);
        assert_eq!(
            (big.jobs, big.held_models, big.out_of_core),
            (1, 512 << 20, true)
        );
        assert_eq!(
            MemoryPlan::new(Some(4 << 30), Some(3), 1_100_000_000, false).jobs,
            3
        );
        assert_eq!(MemoryPlan::new(None, Some(1), 0, false).jobs, 1);
        // --out-of-core: out of core under a limit whatever the inputs; nothing without one.
        assert!(MemoryPlan::new(Some(4 << 30), None, 0, true).out_of_core);
        assert!(!MemoryPlan::new(None, None, 0, true).out_of_core);
        // 70% of 1,000 MB = 700 MB out of core, a 32nd of that 21,875,000 bytes (under
        // 64 MiB); 82.5% = 825 MB when the data fits.
        assert_eq!(operator_memory(1_000_000_000), 700_000_000);
        assert_eq!(shared_pool(1_000_000_000), 825_000_000);
        assert_eq!(sort_spill_reservation(1_000_000_000, 10 << 20), 10 << 20);
        assert_eq!(sort_spill_reservation(1_000_000_000, 64 << 20), 21_875_000);
    }
}
