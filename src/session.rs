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
    /// `<dir>/<model>.txt` (see [`crate::models::run_models`]).
    pub profile_dir: Option<PathBuf>,
    /// Models run at once (`None`: see [`SessionOptions::jobs`]).
    pub jobs: Option<usize>,
}

impl SessionOptions {
    /// Models run at once: `jobs` when given, else [`crate::models::DEFAULT_JOBS`] without a
    /// memory limit and 1 with one.
    pub fn jobs(&self) -> usize {
        match (self.jobs, self.memory_limit) {
            (Some(n), _) => n,
            (None, None) => crate::models::DEFAULT_JOBS,
            (None, Some(_)) => 1,
        }
    }
}

/// The part of `--memory-limit` given to DataFusion's operators as a spilling pool: 70%.
/// The rest is headroom for what the pool does not count — Parquet and CSV read buffers,
/// batches in flight between operators, staging models held in memory (together up to an
/// eighth of the limit, see `materialize = "auto"`) and the allocator's slack — so that the
/// process's peak RSS stays under the limit.
pub fn operator_memory(limit: usize) -> usize {
    limit / 10 * 7
}

/// Builds the session with journey-report's functions registered.
///
/// DataFusion settings come from `DATAFUSION_*` environment variables first, as in
/// `datafusion-cli` (`DATAFUSION_EXECUTION_BATCH_SIZE=16384` sets
/// `datafusion.execution.batch_size`; see DataFusion's configuration page), then the
/// settings below.
///
/// Errors: a `DATAFUSION_*` variable DataFusion cannot parse (exit 2, naming it); the spill
/// folder cannot be created (exit 1).
pub fn build_session(opts: &SessionOptions) -> Result<SessionContext> {
    let mut config = SessionConfig::from_env()
        .map_err(|e| {
            let set: Vec<String> = std::env::vars()
                .filter(|(k, _)| k.starts_with("DATAFUSION_"))
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            Error::config(format!(
                "a DataFusion setting from the environment ({}): {}",
                set.join(", "),
                crate::models::clean_error(&e)
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
    let state = SessionStateBuilder::new()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_default_features()
        .build();
    let ctx = SessionContext::new_with_state(state);
    crate::functions::register_all(&ctx);
    Ok(ctx)
}
