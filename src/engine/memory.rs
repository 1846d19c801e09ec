//! The memory budget: how `--memory-limit` and `--jobs` are shared out. Every consumer asks
//! here — the operators' spilling pool, the sort reservation, the staging models held in
//! memory, the allocator, the models and pages run at once — so the policy reads in one place.
//!
//! Without a limit, nothing is capped: models run [`DEFAULT_JOBS`] at a time and a staging
//! model may be held in memory up to [`AUTO_MEMORY_BUDGET`]. Under `--memory-limit L`: 70% of
//! `L` is the operators' pool ([`operator_memory`]), an eighth of `L` is shared by the models
//! held in memory ([`held_models`]), and one model runs at a time unless `--jobs` says more.

/// Models run at once by default without `--memory-limit` (see [`crate::engine::runner::run_models`]): 2. Under a
/// limit the default is 1: the spilling pool is sized for one model's operators, and models
/// running side by side would share it (measured: the bundled project at `--memory-limit
/// 40MiB` fails with "Resources exhausted" at 4 jobs).
pub const DEFAULT_JOBS: usize = 2;

/// Memory budget of `materialize = "auto"` without `--memory-limit`: 2 GiB per model. Under
/// a limit it is an eighth of the limit for all the models held in memory together.
pub const AUTO_MEMORY_BUDGET: usize = 2 << 30;

/// Models (and pages) run at once: `jobs` when given, else [`DEFAULT_JOBS`] without a memory
/// limit and 1 with one.
pub fn jobs(jobs: Option<usize>, memory_limit: Option<usize>) -> usize {
    match (jobs, memory_limit) {
        (Some(n), _) => n,
        (None, None) => DEFAULT_JOBS,
        (None, Some(_)) => 1,
    }
}

/// Bytes the models kept in memory by `materialize = "auto"` may hold together:
/// [`AUTO_MEMORY_BUDGET`] without a limit, an eighth of the limit with one.
pub fn held_models(memory_limit: Option<usize>) -> usize {
    memory_limit.map(|l| l / 8).unwrap_or(AUTO_MEMORY_BUDGET)
}

/// DataFusion's `sort_spill_reservation_bytes` under a limit of `limit` bytes: its
/// `default`, but at most a 32nd of the operators' pool, so that many sorts can reserve at once.
pub fn sort_spill_reservation(limit: usize, default: usize) -> usize {
    default.min(operator_memory(limit) / 32)
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

    /// 2 models at once without a limit, 1 under one, `--jobs` over both; an eighth of the
    /// limit for held models (4 GiB / 8 = 512 MiB), 2 GiB without.
    #[test]
    fn the_budget_follows_the_limit() {
        assert_eq!(jobs(None, None), 2);
        assert_eq!(jobs(None, Some(4 << 30)), 1);
        assert_eq!(jobs(Some(3), Some(4 << 30)), 3);
        assert_eq!(held_models(Some(4 << 30)), 512 << 20);
        assert_eq!(held_models(None), 2 << 30);
        // 70% of 1,000 MB = 700 MB; a 32nd of that is 21,875,000 bytes (under 64 MiB).
        assert_eq!(operator_memory(1_000_000_000), 700_000_000);
        assert_eq!(sort_spill_reservation(1_000_000_000, 10 << 20), 10 << 20);
        assert_eq!(sort_spill_reservation(1_000_000_000, 64 << 20), 21_875_000);
    }
}
