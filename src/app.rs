//! The commands `run`, `check` and `query`: settings resolved first, then the session, the
//! sources, the models, the pages, and the output folder, which appears whole or not at all.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{Days, NaiveDate, TimeZone};
use datafusion::arrow::array::{Array, AsArray, Int64Array, RecordBatch, StringArray};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, Schema};
use datafusion::datasource::MemTable;
use datafusion::prelude::SessionContext;
use serde::Serialize;
use serde_json::json;

use crate::config::{Config, ParamValue};
use crate::error::{Error, Result};
use crate::models::{self, Model, ModelRun};
use crate::render;
use crate::session::{SessionOptions, build_session};
use crate::sources::{SourceInfo, register_sources};

/// What every command needs to know about the project, resolved from the command line.
#[derive(Debug, Clone)]
pub struct ProjectArgs {
    /// The project folder (holds `journey.toml`, `sql/`, `templates/`).
    pub project: PathBuf,
    /// `--source NAME=PATH` overrides.
    pub sources: BTreeMap<String, PathBuf>,
    /// `--param NAME=VALUE` overrides, as text (typed like the declared parameter).
    pub params: Vec<(String, String)>,
    /// The logical date of the report.
    pub as_of: Option<NaiveDate>,
    /// Session settings.
    pub session: SessionOptions,
}

/// A project ready to run: config, bound parameters, session with sources and
/// `funnel_stages` registered, and the ordered models.
pub struct Prepared {
    /// `journey.toml`.
    pub config: Config,
    /// Parameters as bound into SQL (declared, overridden, and computed).
    pub params: BTreeMap<String, ParamValue>,
    /// The session.
    pub ctx: SessionContext,
    /// Registered sources.
    pub sources: Vec<SourceInfo>,
    /// Models in run order.
    pub models: Vec<Model>,
    /// Non-fatal findings (empty sources, orphan events…).
    pub warnings: Vec<String>,
    /// The as-of date.
    pub as_of: NaiveDate,
}

/// A documented default of a parameter of the bundled SQL models.
#[derive(Debug, Clone, Copy)]
pub enum DefaultParam {
    /// A whole number (BIGINT).
    Int(i64),
    /// A number (DOUBLE).
    Float(f64),
    /// Text (VARCHAR).
    Text(&'static str),
    /// A flag (BOOLEAN).
    Bool(bool),
}

impl DefaultParam {
    fn to_param(self) -> ParamValue {
        match self {
            DefaultParam::Int(i) => ParamValue::Int(i),
            DefaultParam::Float(f) => ParamValue::Float(f),
            DefaultParam::Text(t) => ParamValue::Text(t.to_string()),
            DefaultParam::Bool(b) => ParamValue::Bool(b),
        }
    }
}

/// The parameters the bundled SQL models read, with their defaults; `[params]` in
/// `journey.toml` and `--param` override them. Units are in the names.
pub const DEFAULT_PARAMS: &[(&str, DefaultParam)] = &[
    ("report_tz", DefaultParam::Text("UTC")),
    ("period_days", DefaultParam::Int(30)),
    // Attribution and path lookback before an order (GA4's default for acquisition: 30 days).
    ("lookback_days", DefaultParam::Int(30)),
    // Funnel conversion window from the stage-1 event (Mixpanel's default: 7 days).
    ("conversion_window_days", DefaultParam::Int(7)),
    // Inactivity gap that ends an inferred session (GA's 30 minutes).
    ("session_gap_minutes", DefaultParam::Int(30)),
    // A change of channel or campaign starts a new inferred session (GA's rule).
    ("session_split_on_campaign", DefaultParam::Bool(true)),
    ("conversion_event", DefaultParam::Text("purchase")),
    ("top_paths", DefaultParam::Int(20)),
    // Path exploration (GA4 style): forward from one event, backward from another, in steps.
    ("path_start_event", DefaultParam::Text("add_to_cart")),
    ("path_end_event", DefaultParam::Text("purchase")),
    ("path_steps", DefaultParam::Int(4)),
    ("ltv_buckets", DefaultParam::Int(10)),
    ("trend_days", DefaultParam::Int(365)),
    // Time-decay attribution half-life (Mixpanel's and Google Ads' 7 days).
    ("time_decay_half_life_days", DefaultParam::Float(7.0)),
    // Markov-chain attribution order (1: a state is the last channel).
    ("markov_order", DefaultParam::Int(1)),
    // Predictive CLV: horizon, monthly discount rate, the P(alive) below which a valuable
    // customer is listed as at risk, and the holdout days of the calibration check.
    ("clv_horizon_months", DefaultParam::Int(12)),
    ("clv_monthly_discount_rate", DefaultParam::Float(0.01)),
    ("churn_p_alive_threshold", DefaultParam::Float(0.5)),
    ("clv_holdout_days", DefaultParam::Int(90)),
];

/// Resolves the parameters: [`DEFAULT_PARAMS`], `[params]`, then `--param`, then the
/// computed ones:
///
/// - `as_of` (DATE): the logical date (default: yesterday in `report_tz`);
/// - `as_of_end` (TIMESTAMP, UTC): the first instant after the as-of day in `report_tz`;
///   data at or after it is ignored, so a backfill sees what it would have seen that night;
/// - `period_start` / `previous_period_start` (TIMESTAMP, UTC): midnight in `report_tz`
///   starting the last `period_days` days up to as-of, and the `period_days` before them.
///
/// Errors (exit 2): a bad `--param` value, an unknown `report_tz`.
pub fn resolve_params(
    cfg: &Config,
    overrides: &[(String, String)],
    as_of: Option<NaiveDate>,
) -> Result<(BTreeMap<String, ParamValue>, NaiveDate)> {
    let mut params = BTreeMap::new();
    for (name, value) in DEFAULT_PARAMS {
        params.insert(name.to_string(), value.to_param());
    }
    for (k, v) in &cfg.params {
        params.insert(k.clone(), ParamValue::from_toml(k, v)?);
    }
    for (k, v) in overrides {
        if matches!(
            k.as_str(),
            "as_of" | "as_of_end" | "period_start" | "previous_period_start"
        ) {
            return Err(Error::config(format!(
                "--param {k}: computed from --as-of; pass --as-of instead"
            )));
        }
        let val = ParamValue::parse_like(k, v, params.get(k))?;
        params.insert(k.clone(), val);
    }
    let tz_name = match params.get("report_tz") {
        Some(ParamValue::Text(t)) => t.clone(),
        None => "UTC".to_string(),
        Some(other) => {
            return Err(Error::config(format!(
                "report_tz must be a time-zone name, got {other:?}"
            )));
        }
    };
    let tz: chrono_tz::Tz = tz_name.parse().map_err(|_| {
        Error::config(format!(
            "report_tz {tz_name:?} is not an IANA time zone (e.g. Europe/Berlin)"
        ))
    })?;
    params.insert("report_tz".into(), ParamValue::Text(tz_name));
    let period_days = match params.get("period_days") {
        Some(ParamValue::Int(d)) if *d > 0 => *d as u64,
        None => 30,
        Some(other) => {
            return Err(Error::config(format!(
                "period_days must be a whole number of days ≥ 1, got {other:?}"
            )));
        }
    };
    params
        .entry("period_days".into())
        .or_insert(ParamValue::Int(period_days as i64));
    let as_of =
        as_of.unwrap_or_else(|| chrono::Utc::now().with_timezone(&tz).date_naive() - Days::new(1));
    let midnight = |d: NaiveDate| -> Result<chrono::NaiveDateTime> {
        let local = d.and_hms_opt(0, 0, 0).expect("midnight");
        let inst = tz
            .from_local_datetime(&local)
            .earliest()
            .ok_or_else(|| Error::config(format!("midnight of {d} does not exist in {tz}")))?;
        Ok(inst.naive_utc())
    };
    params.insert("as_of".into(), ParamValue::Date(as_of));
    params.insert(
        "as_of_end".into(),
        ParamValue::Timestamp(midnight(as_of + Days::new(1))?),
    );
    let start = as_of + Days::new(1) - Days::new(period_days);
    params.insert(
        "period_start".into(),
        ParamValue::Timestamp(midnight(start)?),
    );
    params.insert(
        "previous_period_start".into(),
        ParamValue::Timestamp(midnight(start - Days::new(period_days))?),
    );
    Ok((params, as_of))
}

fn funnel_table(cfg: &Config) -> Result<MemTable> {
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

/// Loads and checks a project without running a model. Returns the prepared project and
/// every problem found; `check` prints them all, `run` and `query` stop at the first.
///
/// With `count_now` every source is counted here (its `rows`), reading each CSV export once
/// more. Without it (`run`), CSV sources are counted by the run's own scans ([`RowTap`],
/// filled in by [`count_deferred`]) and the funnel-stage check first looks at the first
/// [`STAGE_SAMPLE_ROWS`] events, reading every event only when a stage's event is not among
/// them; Parquet sources are counted from their metadata either way.
///
/// [`RowTap`]: crate::sources::RowTap
pub async fn prepare(args: &ProjectArgs, count_now: bool) -> Result<(Prepared, Vec<Error>)> {
    let config = Config::load(&args.project)?;
    let (params, as_of) = resolve_params(&config, &args.params, args.as_of)?;
    let ctx = build_session(&args.session)?;
    ctx.register_table("funnel_stages", Arc::new(funnel_table(&config)?))
        .map_err(|e| Error::internal(e.to_string()))?;
    let (mut sources, mut problems) =
        register_sources(&ctx, &args.project, &config, &args.sources).await;
    let optional = crate::sources::register_missing_optional(&ctx, &config)?;
    let mut warnings = Vec::new();
    let stage_events: BTreeSet<&String> = config
        .funnel
        .stages
        .iter()
        .flat_map(|s| &s.events)
        .collect();
    // Funnel stages must name events that occur: usually all of them occur early on.
    let sampled = !count_now
        && !stage_events.is_empty()
        && sources.iter().any(|s| s.name == "events")
        && count_event_names(&ctx, Some(STAGE_SAMPLE_ROWS))
            .await
            .is_ok_and(|(_, names)| stage_events.iter().all(|e| names.contains(*e)));
    // Row counts (for the manifest) and empty sources. The events source is read once for
    // both its row count and its event names (for the funnel check below): on a CSV export
    // every read parses the whole file.
    let check_stages = !stage_events.is_empty() && !sampled;
    let mut event_names = None;
    for s in &mut sources {
        let counted = if s.name == "events" && check_stages {
            count_event_names(&ctx, None).await.map(|(n, names)| {
                event_names = Some(names);
                n
            })
        } else if !count_now && s.tap.is_some() {
            continue;
        } else {
            count_rows(&ctx, &format!("raw_{}", s.name)).await
        };
        match counted {
            Ok(n) => {
                s.rows = Some(n);
                if n == 0 {
                    let w = empty_source_warning(s);
                    tracing::warn!("{w}");
                    warnings.push(w);
                }
            }
            Err(e) => problems.push(count_error(s, &e)),
        }
    }
    if let Some(names) = event_names.filter(|n| !n.is_empty()) {
        for (i, st) in config.funnel.stages.iter().enumerate() {
            for e in &st.events {
                if !names.contains(e) {
                    let mut known: Vec<_> = names.iter().cloned().collect();
                    known.truncate(30);
                    problems.push(Error::config(format!(
                        "journey.toml: [funnel] stage {} ({:?}) names event {e:?}, which no event in the events source has\n  event names found: {}",
                        i + 1,
                        st.name,
                        known.join(", ")
                    )));
                }
            }
        }
    }
    let mut tables: BTreeSet<String> = ["funnel_stages".to_string()].into_iter().collect();
    for name in config.sources.keys() {
        tables.insert(name.clone());
        tables.insert(format!("raw_{name}"));
    }
    tables.extend(optional);
    let (models, model_problems) =
        models::load_models(&ctx, &args.project, &config, &params, &tables);
    problems.extend(model_problems);
    Ok((
        Prepared {
            config,
            params,
            ctx,
            sources,
            models,
            warnings,
            as_of,
        },
        problems,
    ))
}

async fn count_rows(ctx: &SessionContext, table: &str) -> std::result::Result<u64, String> {
    let df = ctx.table(table).await.map_err(|e| e.to_string())?;
    df.count()
        .await
        .map(|n| n as u64)
        .map_err(|e| models::clean_error(&e))
}

/// How many events [`prepare`] looks at first for the funnel-stage check.
pub const STAGE_SAMPLE_ROWS: usize = 200_000;

/// A source's files, comma-separated, for messages.
fn file_list(s: &SourceInfo) -> String {
    s.files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The warning for a source without rows.
fn empty_source_warning(s: &SourceInfo) -> String {
    format!(
        "source {} has no rows ({}): its reports will be empty",
        s.name,
        file_list(s)
    )
}

/// The error (exit 3) of a source that cannot be counted: its files, the reason, its name.
fn count_error(s: &SourceInfo, e: &str) -> Error {
    Error::input(format!("{}: {e} (source {})", file_list(s), s.name))
}

/// The sources with their rows filled in after the models ran: a CSV source not counted by
/// [`prepare`] takes the count of the run's first whole scan of it, or, when no model read
/// it whole, is counted now. Each source found empty adds a warning to `warnings`.
///
/// Errors (exit 3): the count of a source no model read fails, naming its files.
async fn count_deferred(prep: &Prepared, warnings: &mut Vec<String>) -> Result<Vec<SourceInfo>> {
    let mut sources = prep.sources.clone();
    for s in &mut sources {
        if s.rows.is_some() {
            continue;
        }
        let n = match s.tap.as_ref().and_then(|t| t.rows()) {
            Some(n) => n,
            None => count_rows(&prep.ctx, &format!("raw_{}", s.name))
                .await
                .map_err(|e| count_error(s, &e))?,
        };
        s.rows = Some(n);
        if n == 0 {
            let w = empty_source_warning(s);
            tracing::warn!("{w}");
            warnings.push(w);
        }
    }
    Ok(sources)
}

/// The row count of the `events` source and its distinct non-NULL event names, in one read:
/// `SELECT event_name, count(*) FROM events GROUP BY event_name` — of its first `limit` rows
/// (in file order) when given.
async fn count_event_names(
    ctx: &SessionContext,
    limit: Option<usize>,
) -> std::result::Result<(u64, BTreeSet<String>), String> {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let batches = ctx
        .sql(&format!(
            "SELECT event_name, count(*) FROM (SELECT event_name FROM events{limit}) GROUP BY event_name"
        ))
        .await
        .map_err(|e| e.to_string())?
        .collect()
        .await
        .map_err(|e| models::clean_error(&e))?;
    let mut rows = 0u64;
    let mut names = BTreeSet::new();
    for b in &batches {
        // The text may come back as Utf8 or Utf8View: normalise before reading it.
        let name = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)
            .map_err(|e| e.to_string())?;
        let name = name.as_string::<i32>();
        let count = b
            .column(1)
            .as_primitive_opt::<Int64Type>()
            .ok_or("count(*) is not Int64")?;
        for i in 0..b.num_rows() {
            rows += count.value(i) as u64;
            if name.is_valid(i) {
                names.insert(name.value(i).to_string());
            }
        }
    }
    Ok((rows, names))
}

/// `check`: every problem in the project, planning each model without running it.
pub async fn check(args: &ProjectArgs) -> Result<Vec<Error>> {
    let (prep, mut problems) = prepare(args, true).await?;
    for m in &prep.models {
        if let Err(e) = models::plan_as_view(&prep.ctx, &args.project, m, &prep.sources).await {
            problems.push(e);
        }
    }
    if let Err(e) = render::build_tera(&args.project, &prep.config.project.currency) {
        problems.push(e);
    }
    for r in &prep.config.reports {
        let t = r.template_name();
        let exists = render::EMBEDDED_TEMPLATES.iter().any(|(n, _)| *n == t)
            || args.project.join("templates").join(&t).is_file();
        if !exists {
            problems.push(Error::config(format!("journey.toml: report {:?} uses template {t:?}, which is neither bundled nor in templates/", r.name)));
        }
    }
    Ok(problems)
}

/// `query`: runs one SQL statement over the sources and (planned, unmaterialized) models.
pub async fn query(args: &ProjectArgs, sql: &str) -> Result<Vec<RecordBatch>> {
    let (prep, problems) = prepare(args, true).await?;
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    for m in &prep.models {
        models::plan_as_view(&prep.ctx, &args.project, m, &prep.sources).await?;
    }
    if sql.trim_start().to_ascii_lowercase().starts_with("explain") {
        // EXPLAIN [ANALYZE] of a query without $parameters: to see how a model runs.
        let df = prep
            .ctx
            .sql(sql)
            .await
            .map_err(|e| Error::model(format!("query: {}", models::clean_error(&e))))?;
        return df
            .collect()
            .await
            .map_err(|e| Error::model(format!("query: {}", models::clean_error(&e))));
    }
    let dir = std::env::temp_dir().join(format!("journey-report-query-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let file = dir.join("query.sql");
    std::fs::write(&file, sql).map_err(|e| Error::io(&file, e))?;
    let parsed = models::parse_model(&prep.ctx, &dir, &file, &prep.params, &prep.config);
    let _ = std::fs::remove_dir_all(&dir);
    let m = parsed.map_err(|e| Error::model(e.message.replace("query.sql", "query")))?;
    let plan = prep
        .ctx
        .state()
        .statement_to_plan(m.statement)
        .await
        .map_err(|e| Error::model(format!("query: {}", models::clean_error(&e))))?;
    let df = prep
        .ctx
        .execute_logical_plan(plan)
        .await
        .map_err(|e| Error::model(format!("query: {}", models::clean_error(&e))))?;
    df.collect()
        .await
        .map_err(|e| match crate::functions::find_bad_value(&e) {
            Some(b) => crate::sources::locate_bad_value(&prep.sources, &b),
            None => Error::model(format!("query: {}", models::clean_error(&e))),
        })
}

/// Settings of `run` beyond the project's.
#[derive(Debug, Clone)]
pub struct RunArgs {
    /// The project and its overrides.
    pub project: ProjectArgs,
    /// Parent folder of the report folder (default `<project>/<output_dir>`).
    pub out: Option<PathBuf>,
    /// Render only these reports (the summary always).
    pub reports: Vec<String>,
    /// Deliver the e-mails over SMTP after the folder is written (`--send`), each message
    /// once (see [`crate::delivery`]).
    pub send: bool,
    /// `--send-to ADDRESS`: send only the digest, to this address alone, as a test.
    pub send_to: Option<String>,
}

/// `manifest.json`.
#[derive(Debug, Serialize)]
pub struct Manifest {
    /// journey-report version.
    pub journey_report_version: &'static str,
    /// DataFusion version.
    pub datafusion_version: &'static str,
    /// The logical date.
    pub as_of: NaiveDate,
    /// When the run started (RFC 3339 UTC).
    pub started_at: String,
    /// Wall time of the whole run in seconds.
    pub seconds: f64,
    /// Parameters as bound.
    pub params: BTreeMap<String, ParamValue>,
    /// Input sources with files, sizes, modification times and row counts.
    pub inputs: Vec<SourceInfo>,
    /// SQL files with SHA-256.
    pub models: Vec<serde_json::Value>,
    /// Per-step timings.
    pub steps: Vec<ModelRun>,
    /// Pages written.
    pub pages: Vec<String>,
    /// E-mails written to `email/`: report, HTML bytes, inline images, message bytes.
    pub emails: Vec<serde_json::Value>,
    /// Warnings.
    pub warnings: Vec<String>,
}

/// Whether a written report holds every analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    /// Every model ran and every page was drawn (exit 0).
    Complete,
    /// The folder was written, but some analyses are unavailable for this data; each says
    /// why on its page and in `manifest.json` (exit [`crate::error::EXIT_PARTIAL`]).
    Partial,
}

impl RunStatus {
    /// The process exit code of a run that ended with this status.
    pub fn exit_code(self) -> u8 {
        match self {
            RunStatus::Complete => 0,
            RunStatus::Partial => crate::error::EXIT_PARTIAL,
        }
    }
}

/// What a successful run wrote.
#[derive(Debug)]
pub struct RunSummary {
    /// Complete, or partial (some analyses unavailable).
    pub status: RunStatus,
    /// The report folder.
    pub folder: PathBuf,
    /// Pages written (index first).
    pub pages: Vec<String>,
    /// Models run.
    pub models: usize,
    /// Wall time in seconds.
    pub seconds: f64,
    /// Warnings.
    pub warnings: Vec<String>,
    /// The e-mail form of every page (also written to `email/<report>.eml`).
    pub emails: Vec<crate::email::Email>,
    /// E-mails delivered by `--send`.
    pub sent: usize,
}

/// `run`: the nightly job. Writes `<out>/<as-of>/` whole, or nothing.
pub async fn run(args: &RunArgs) -> Result<RunSummary> {
    let t0 = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (prep, problems) = prepare(&args.project, false).await?;
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    tracing::info!(
        seconds = format!("{:.2}", t0.elapsed().as_secs_f64()),
        "sources checked and models planned"
    );
    for r in &args.reports {
        if !prep.config.reports.iter().any(|c| &c.name == r) {
            let names: Vec<_> = prep.config.reports.iter().map(|r| r.name.clone()).collect();
            return Err(Error::config(format!(
                "--report {r}: no such report (journey.toml has: {})",
                names.join(", ")
            )));
        }
    }
    if args.send || args.send_to.is_some() {
        crate::delivery::check_recipients(&prep.config, args.send_to.as_deref())?;
    }
    let tera = render::build_tera(&args.project.project, &prep.config.project.currency)?;
    let parent = args
        .out
        .clone()
        .unwrap_or_else(|| args.project.project.join(&prep.config.project.output_dir));
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let _lock = lock_output(&parent)?;
    let final_dir = parent.join(prep.as_of.to_string());
    let staging = parent.join(format!(".{}.partial-{}", prep.as_of, std::process::id()));
    let work = parent.join(format!(".work-{}", std::process::id()));
    // Removes the partial folder and work files however this function ends: error, or the
    // future being dropped when the job is stopped (SIGTERM).
    let guard = Scratch::new(vec![staging.clone(), work.clone()]);
    let mut summary = build_folder(&prep, args, &tera, &staging, &work, &started_at, t0).await?;
    let _ = std::fs::remove_dir_all(&work);
    replace_dir(&staging, &final_dir)?;
    drop(guard);
    if args.send || args.send_to.is_some() {
        // The folder is in place either way; only fresh inputs reach executives.
        check_fresh(&prep).await?;
        let to = args.send_to.as_deref();
        summary.sent = crate::delivery::deliver(&parent, prep.as_of, &summary.emails, to)?.sent;
    }
    summary.folder = final_dir;
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

/// Refuses delivery when the newest event is more than `[email] max_input_age_hours` older
/// than the end of the as-of day (a stale export), or when there are no events at all.
///
/// Errors (exit 3): stale or empty inputs, naming the newest event time and the limit.
async fn check_fresh(prep: &Prepared) -> Result<()> {
    let Some(ParamValue::Timestamp(end)) = prep.params.get("as_of_end") else {
        return Err(Error::internal("as_of_end is not set"));
    };
    let end = *end;
    let df = prep
        .ctx
        .sql(&format!("SELECT CAST(max(event_time) AS VARCHAR) FROM events WHERE event_time < CAST('{}' AS TIMESTAMP)", end.format("%Y-%m-%dT%H:%M:%S")))
        .await
        .map_err(|e| Error::input(format!("--send: checking the newest event: {}", models::clean_error(&e))))?;
    let batches = df.collect().await.map_err(|e| {
        Error::input(format!(
            "--send: checking the newest event: {}",
            models::clean_error(&e)
        ))
    })?;
    let newest = batches.first().filter(|b| b.num_rows() > 0).and_then(|b| {
        // The text may come back as Utf8 or Utf8View: normalise before reading it.
        let col = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8).ok()?;
        let a = col.as_any().downcast_ref::<StringArray>()?;
        (!a.is_null(0)).then(|| a.value(0).to_string())
    });
    let limit = prep.config.email.max_input_age_hours;
    let Some(newest) = newest else {
        return Err(Error::input(
            "--send: the events source has no events up to the as-of day; nothing was sent",
        ));
    };
    let t = chrono::NaiveDateTime::parse_from_str(&newest, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(&newest, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|e| Error::internal(format!("newest event time {newest:?}: {e}")))?;
    let age_hours = (end - t).num_seconds() as f64 / 3600.0;
    if age_hours > limit {
        return Err(Error::input(format!(
            "--send: the inputs are stale: the newest event ({newest} UTC) is {age_hours:.1} h before the end of {} (limit [email] max_input_age_hours = {limit}); the report folder was written, nothing was sent",
            prep.as_of
        )));
    }
    Ok(())
}

/// Folders a run is writing that must not survive it; see [`Scratch`] and [`remove_scratch`].
static SCRATCH: std::sync::Mutex<Vec<PathBuf>> = std::sync::Mutex::new(Vec::new());

/// Removes its folders when dropped (a failed or cancelled run), and keeps a process-wide
/// list of them so that [`remove_scratch`] can clean up after a signal stopped the runtime.
struct Scratch(Vec<PathBuf>);

impl Scratch {
    fn new(paths: Vec<PathBuf>) -> Self {
        if let Ok(mut list) = SCRATCH.lock() {
            list.extend(paths.iter().cloned());
        }
        Scratch(paths)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for p in &self.0 {
            let _ = std::fs::remove_dir_all(p);
        }
        if let Ok(mut list) = SCRATCH.lock() {
            list.retain(|p| !self.0.contains(p));
        }
    }
}

/// Removes every partial folder of runs still under way: called once the async runtime has
/// stopped after SIGTERM or Ctrl-C, so no task can write into them any more.
pub fn remove_scratch() {
    if let Ok(list) = SCRATCH.lock() {
        for p in list.iter() {
            let _ = std::fs::remove_dir_all(p);
        }
    }
}

/// Takes the exclusive lock `<parent>/.journey-report.lock` for the whole run, so two runs
/// never write the same output folder. Released when the returned file is dropped (also when
/// the process dies).
///
/// Errors (exit 2): another run holds the lock.
fn lock_output(parent: &Path) -> Result<std::fs::File> {
    let path = parent.join(".journey-report.lock");
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| Error::io(&path, e))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::config(format!(
            "{}: another journey-report run is writing this folder (it holds {}); wait for it to finish",
            parent.display(),
            path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(&path, e)),
    }
}

/// A progress bar over the models when stderr is a terminal; hidden (and the log used
/// instead) under cron, Airflow or a pipe.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} models  {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// The XXH3-64 checksum of a file, as 16 hex digits (fast enough for multi-GB exports).
pub fn file_checksum(path: &Path) -> Result<String> {
    use std::io::Read;
    let mut f = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = xxhash_rust::xxh3::Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(format!("{:016x}", hasher.digest()))
}

/// Moves `staging` to `target`, replacing a previous folder: the old one is renamed aside,
/// the new one renamed into place, then the old one removed.
fn replace_dir(staging: &Path, target: &Path) -> Result<()> {
    let old = target.with_file_name(format!(
        ".{}.old-{}",
        target
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("report"),
        std::process::id()
    ));
    let had_old = target.exists();
    if had_old {
        std::fs::rename(target, &old).map_err(|e| Error::io(target, e))?;
    }
    if let Err(e) = std::fs::rename(staging, target) {
        if had_old {
            let _ = std::fs::rename(&old, target);
        }
        let _ = std::fs::remove_dir_all(staging);
        return Err(Error::io(target, e));
    }
    if had_old {
        let _ = std::fs::remove_dir_all(&old);
    }
    Ok(())
}

/// Writes the data files of model `m` into `data_dir`: `data/<model>.csv` or `.parquet` as its
/// `data_file` says (a Parquet work file is hard-linked, not rewritten), and the split CSVs
/// of `split_csv_by`.
///
/// Errors: exit 1 for I/O; exit 2 when a split value names another model (its file would be
/// overwritten); exit 4 when the split column is not a column of the model.
async fn write_data_files(prep: &Prepared, m: &Model, data_dir: &Path, work: &Path) -> Result<()> {
    let cfg = prep.config.models.get(&m.name);
    match cfg.map(|c| c.data_file).unwrap_or_default() {
        crate::config::DataFile::Csv => {
            models::write_csv(
                &prep.ctx,
                &m.name,
                &data_dir.join(format!("{}.csv", m.name)),
            )
            .await?;
        }
        crate::config::DataFile::Parquet => {
            let dest = data_dir.join(format!("{}.parquet", m.name));
            let work_file = work.join(format!("{}.parquet", m.name));
            if m.materialize != crate::config::Materialize::View && work_file.exists() {
                // Same filesystem (both under the output folder): a hard link, no copy.
                if std::fs::hard_link(&work_file, &dest).is_err() {
                    std::fs::copy(&work_file, &dest).map_err(|e| Error::io(&dest, e))?;
                }
            } else {
                models::write_parquet(&prep.ctx, &m.name, &dest).await?;
            }
        }
        crate::config::DataFile::None => {}
    }
    if let Some(column) = cfg.and_then(|c| c.split_csv_by.as_deref()) {
        let files = models::write_split_csv(&prep.ctx, &m.name, column, data_dir).await?;
        for f in &files {
            let stem = f.file_stem().and_then(|s| s.to_str()).unwrap_or_default();
            if prep.models.iter().any(|o| o.name == stem) {
                return Err(Error::config(format!(
                    "[models.{}] split_csv_by = {column:?}: the value {stem:?} names the model {stem}; its data/{stem}.csv would be overwritten",
                    m.name
                )));
            }
        }
    }
    Ok(())
}

async fn build_folder(
    prep: &Prepared,
    args: &RunArgs,
    tera: &tera::Tera,
    staging: &Path,
    work: &Path,
    started_at: &str,
    t0: Instant,
) -> Result<RunSummary> {
    let project = &args.project.project;
    let _ = std::fs::remove_dir_all(staging);
    let data_dir = staging.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| Error::io(&data_dir, e))?;
    let progress = progress_bar(prep.models.len() as u64);
    let t_models = Instant::now();
    let results = models::run_models(
        &prep.ctx,
        project,
        &prep.models,
        work,
        &prep.sources,
        &progress,
        &args.project.session,
        |m| {
            let cfg = prep.config.models.get(&m.name);
            let data_file = cfg.map(|c| c.data_file).unwrap_or_default();
            let split = cfg.is_some_and(|c| c.split_csv_by.is_some());
            if data_file == crate::config::DataFile::None && !split {
                return None;
            }
            Some(Box::pin(write_data_files(prep, m, &data_dir, work)))
        },
    )
    .await?;
    progress.finish_and_clear();
    tracing::info!(
        seconds = format!("{:.2}", t_models.elapsed().as_secs_f64()),
        "models run and data files written"
    );
    let t_pages = Instant::now();
    // Template context.
    let mut ctx = tera::Context::new();
    let mut rows = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    let mut warnings = prep.warnings.clone();
    let inputs = count_deferred(prep, &mut warnings).await?;
    for run in &results.runs {
        let (r, truncated) = match results.batches.get(&run.name) {
            Some(b) => render::batches_to_rows(b, render::MAX_TEMPLATE_ROWS),
            None => (Vec::new(), run.rows > 0),
        };
        let columns = results.columns.get(&run.name).cloned().unwrap_or_default();
        rows.insert(run.name.clone(), serde_json::Value::Array(r));
        info.insert(
            run.name.clone(),
            json!({"rows": run.rows, "truncated": truncated, "columns": columns}),
        );
    }
    let selected: Vec<_> = prep
        .config
        .reports
        .iter()
        .filter(|r| args.reports.is_empty() || args.reports.contains(&r.name))
        .collect();
    let nav: Vec<_> = selected.iter().map(|r| json!({"name": r.name, "title": r.title, "summary": r.summary, "href": format!("{}.html", r.name)})).collect();
    let stages: Vec<_> = prep
        .config
        .funnel
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"index": i + 1, "name": s.name, "events": s.events}))
        .collect();
    ctx.insert(
        "project",
        &json!({"title": prep.config.project.title, "currency": prep.config.project.currency}),
    );
    ctx.insert("as_of", &prep.as_of.to_string());
    ctx.insert("generated_at", started_at);
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    ctx.insert("params", &prep.params);
    ctx.insert("reports", &nav);
    ctx.insert("models", &rows);
    ctx.insert("model_info", &info);
    ctx.insert("funnel_stages", &stages);
    // Pages, each with its e-mail form.
    ctx.insert("warnings", &warnings);
    // (name, title, template, recipients, the `report` variable; None for the index).
    let mut page_list: Vec<(
        String,
        String,
        String,
        Vec<String>,
        Option<serde_json::Value>,
    )> = vec![(
        "index".into(),
        "Executive summary".into(),
        "index.html".into(),
        Vec::new(),
        None,
    )];
    for r in &selected {
        page_list.push((
            r.name.clone(),
            r.title.clone(),
            r.template_name(),
            r.recipients.clone(),
            Some(json!({"name": r.name, "title": r.title, "summary": r.summary})),
        ));
    }
    // Pages are independent: drawing their charts (the e-mails' PNGs above all) is spread
    // over worker threads, each with its own e-mail engine and image list.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(args.project.session.jobs.unwrap_or(models::DEFAULT_JOBS))
        .min(page_list.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let rendered: Vec<std::sync::Mutex<Option<Result<crate::email::Email>>>> = page_list
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let sink = crate::charts::ImageSink::default();
                let email_tera = render::build_email_tera(
                    project,
                    &prep.config.project.currency,
                    sink.clone(),
                    crate::email::EMAIL_WIDTH - 40,
                );
                let mut c = ctx.clone();
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some((name, title, template, recipients, report)) = page_list.get(i) else {
                        break;
                    };
                    let result = email_tera.as_ref().map_err(Clone::clone).and_then(|et| {
                        c.remove("email");
                        match report {
                            Some(r) => c.insert("report", r),
                            None => {
                                c.remove("report");
                            }
                        }
                        let html = render::render(tera, template, &c)?;
                        let file = staging.join(format!("{name}.html"));
                        std::fs::write(&file, html).map_err(|e| Error::io(&file, e))?;
                        // Templates see `email = true` in the e-mail form, to condense wide
                        // tables.
                        c.insert("email", &true);
                        let url = crate::email::report_url(&prep.config, &prep.as_of.to_string());
                        c.insert("report_url", &url);
                        let mail_page = render::render(et, template, &c)?;
                        let email = crate::email::build_email(
                            &prep.config,
                            et,
                            &c,
                            name,
                            title,
                            recipients,
                            &mail_page,
                            &sink,
                        )?;
                        crate::email::write_eml(staging, &email)?;
                        Ok(email)
                    });
                    if let Ok(mut slot) = rendered[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    let mut pages = Vec::new();
    let mut emails = Vec::new();
    for ((name, ..), slot) in page_list.iter().zip(rendered) {
        let email = slot
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| Err(Error::internal(format!("page {name} was not rendered"))))?;
        pages.push(format!("{name}.html"));
        if email.html_bytes > crate::email::HTML_BUDGET {
            warnings.push(format!(
                "the {name} e-mail's HTML is {} KB, over the {} KB budget (Gmail clips at about 102 KB)",
                email.html_bytes / 1024,
                crate::email::HTML_BUDGET / 1024
            ));
        }
        emails.push(email);
    }
    warnings.dedup();
    tracing::info!(
        seconds = format!("{:.2}", t_pages.elapsed().as_secs_f64()),
        "pages and e-mails rendered"
    );
    let manifest = Manifest {
        journey_report_version: env!("CARGO_PKG_VERSION"),
        datafusion_version: datafusion::DATAFUSION_VERSION,
        as_of: prep.as_of,
        started_at: started_at.to_string(),
        seconds: t0.elapsed().as_secs_f64(),
        params: prep.params.clone(),
        inputs: {
            let mut inputs = inputs;
            for s in &mut inputs {
                for f in &mut s.files {
                    f.xxh3 = Some(file_checksum(&f.path)?);
                }
            }
            inputs
        },
        models: prep.models.iter().map(|m| json!({"name": m.name, "file": format!("sql/{}.sql", m.name), "sha256": m.sha256, "reads": m.tables})).collect(),
        steps: results.runs.clone(),
        pages: pages.clone(),
        emails: emails
            .iter()
            .map(|e| json!({"file": format!("email/{}.eml", e.report), "html_bytes": e.html_bytes, "images": e.images, "message_bytes": e.message.formatted().len()}))
            .collect(),
        warnings: warnings.clone(),
    };
    let file = staging.join("manifest.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::write(&file, text).map_err(|e| Error::io(&file, e))?;
    Ok(RunSummary {
        status: RunStatus::Complete,
        folder: staging.to_path_buf(),
        pages,
        models: results.runs.len(),
        seconds: 0.0,
        warnings,
        emails,
        sent: 0,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(tz: &str, period: i64) -> Config {
        toml::from_str(&format!(
            "[params]\nreport_tz = \"{tz}\"\nperiod_days = {period}\nlookback_days = 30\n"
        ))
        .unwrap()
    }

    #[test]
    fn computed_params_follow_the_report_time_zone() {
        let d = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap();
        let ts = |s: &str| {
            ParamValue::Timestamp(
                chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap(),
            )
        };
        let (p, as_of) =
            resolve_params(&cfg("Europe/Berlin", 90), &[], Some(d("2026-10-31"))).unwrap();
        assert_eq!(as_of, d("2026-10-31"));
        // 2026-11-01 00:00 in Berlin is CET (UTC+1, DST ended 2026-10-25): 2026-10-31 23:00 UTC.
        assert_eq!(p["as_of_end"], ts("2026-10-31 23:00:00"));
        // 90 days up to 10-31 start on 2026-08-03 00:00 CEST (UTC+2) = 2026-08-02 22:00 UTC.
        assert_eq!(p["period_start"], ts("2026-08-02 22:00:00"));
        // …and the previous 90 days on 2026-05-05 00:00 CEST = 2026-05-04 22:00 UTC.
        assert_eq!(p["previous_period_start"], ts("2026-05-04 22:00:00"));
        // --param overrides keep the declared type.
        let (p, _) = resolve_params(
            &cfg("UTC", 30),
            &[("lookback_days".into(), "14".into())],
            Some(d("2026-10-31")),
        )
        .unwrap();
        assert_eq!(p["lookback_days"], ParamValue::Int(14));
        assert!(
            resolve_params(
                &cfg("UTC", 30),
                &[("lookback_days".into(), "two weeks".into())],
                None
            )
            .is_err()
        );
        assert!(resolve_params(&cfg("Mars/Olympus", 30), &[], None).is_err());
    }
}
