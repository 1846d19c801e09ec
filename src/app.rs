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
use crate::freshness::{SourceFreshness, Verdict};
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
    /// Freshness and coverage of each source (filled in by `run` and `check`).
    pub freshness: Vec<SourceFreshness>,
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

/// The parameters computed from `--as-of`: never declared, never overridden.
pub const COMPUTED_PARAMS: &[&str] = &[
    "as_of",
    "as_of_end",
    "period_start",
    "previous_period_start",
];

/// The days before the end of the as-of day whose sessions make a non-converting journey
/// (the attribution models' journeys without an order); default: `period_days`.
pub const NON_CONVERTING_WINDOW: &str = "non_converting_window_days";

/// Resolves the parameters: [`DEFAULT_PARAMS`], `[params]`, then `--param`, then the
/// computed ones:
///
/// - `as_of` (DATE): the logical date (default: yesterday in `report_tz`);
/// - `as_of_end` (TIMESTAMP, UTC): the first instant after the as-of day in `report_tz`;
///   data at or after it is ignored, so a backfill sees what it would have seen that night;
/// - `period_start` / `previous_period_start` (TIMESTAMP, UTC): midnight in `report_tz`
///   starting the last `period_days` days up to as-of, and the `period_days` before them.
///
/// `[params]` and `--param` values are read alike and must fit the type of the default
/// ([`ParamValue::coerce`]); `non_converting_window_days` defaults to `period_days`.
///
/// Errors (exit 2): a `--param` naming no declared or default parameter, a value of the
/// wrong type, a computed parameter set, an unknown `report_tz`.
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
        if COMPUTED_PARAMS.contains(&k.as_str()) {
            return Err(Error::config(format!(
                "journey.toml: [params] {k} is computed from --as-of; do not declare it"
            )));
        }
        let val = ParamValue::from_toml(k, v)?
            .coerce(k, params.get(k))
            .map_err(|e| Error::config(format!("journey.toml: [params] {}", e.message)))?;
        params.insert(k.clone(), val);
    }
    for (k, v) in overrides {
        if COMPUTED_PARAMS.contains(&k.as_str()) {
            return Err(Error::config(format!(
                "--param {k}: computed from --as-of; pass --as-of instead"
            )));
        }
        if !params.contains_key(k) && k != NON_CONVERTING_WINDOW {
            let known: Vec<_> = params.keys().map(String::as_str).collect();
            return Err(Error::config(format!(
                "--param {k}: no such parameter (declare it under [params] in journey.toml)\n  parameters: {}",
                known.join(", ")
            )));
        }
        let val = ParamValue::parse_cli(k, v, params.get(k))?;
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
    // Non-converting journeys span the report period unless set otherwise.
    params
        .entry(NON_CONVERTING_WINDOW.into())
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
    // Event names the project relies on: the funnel stages', and every text parameter whose
    // name ends in `_event` (conversion_event, path_start_event, …).
    // Those the project sets (in [params] or with --param) must occur; a default that does
    // not occur only warns (a project without, say, purchase events).
    let set_here: BTreeSet<&str> = config
        .params
        .keys()
        .map(String::as_str)
        .chain(args.params.iter().map(|(k, _)| k.as_str()))
        .collect();
    let event_params: Vec<(&String, &String)> = params
        .iter()
        .filter(|(k, _)| k.ends_with("_event"))
        .filter_map(|(k, v)| match v {
            ParamValue::Text(t) => Some((k, t)),
            _ => None,
        })
        .collect();
    let stage_events: BTreeSet<&String> = config
        .funnel
        .stages
        .iter()
        .flat_map(|s| &s.events)
        .chain(event_params.iter().map(|(_, e)| *e))
        .collect();
    // Funnel stages must name events that occur: usually all of them occur early on.
    let sampled = !count_now
        && !stage_events.is_empty()
        && sources.iter().any(|s| s.name == "events")
        && count_event_names(&ctx, Some(STAGE_SAMPLE_ROWS), false)
            .await
            .is_ok_and(|(_, names)| stage_events.iter().all(|e| names.contains(*e)));
    // Row counts (for the manifest) and empty sources. The events source is read once for
    // both its row count and its event names (for the funnel check below): on a CSV export
    // every read parses the whole file.
    let check_stages = !stage_events.is_empty() && !sampled;
    let mut event_names = None;
    for s in &mut sources {
        // `check` (count_now) reads every value as `run` would: conversions forced.
        let counted = if s.name == "events" && check_stages {
            count_event_names(&ctx, None, count_now)
                .await
                .map(|(n, names)| {
                    event_names = Some(names);
                    n
                })
                .map_err(|e| crate::sources::count_failed(s, &e))
        } else if !count_now && s.tap.is_some() {
            continue;
        } else if count_now {
            crate::sources::count_typed(&ctx, &s.name)
                .await
                .map_err(|e| crate::sources::count_failed(s, &e))
        } else {
            count_rows(&ctx, &format!("raw_{}", s.name))
                .await
                .map_err(|e| count_error(s, &e))
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
            Err(e) => problems.push(e),
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
        for (k, e) in &event_params {
            if !names.contains(*e) {
                let mut known: Vec<_> = names.iter().cloned().collect();
                known.truncate(30);
                let text = format!(
                    "parameter {k} = {e:?} names an event that no event in the events source has\n  event names found: {}",
                    known.join(", ")
                );
                if set_here.contains(k.as_str()) {
                    problems.push(Error::config(text));
                } else {
                    let w = format!(
                        "{} (the default of {k}; set it in [params])",
                        text.replace("\n ", ";")
                    );
                    tracing::warn!("{w}");
                    warnings.push(w);
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
    if model_problems.is_empty() {
        problems.extend(unread_params(&args.project, &config, &models)?);
    }
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
            freshness: Vec::new(),
        },
        problems,
    ))
}

/// `[params]` entries that no model (`$name`) and no template (`params.name`) reads: a
/// misspelled parameter would otherwise change nothing without a word.
///
/// Errors (exit 1): a template file that cannot be read.
fn unread_params(project: &Path, config: &Config, models: &[Model]) -> Result<Vec<Error>> {
    let templates = render::template_sources(project)?;
    let mut problems = Vec::new();
    for k in config.params.keys() {
        let default = DEFAULT_PARAMS.iter().any(|(n, _)| n == k) || k == NON_CONVERTING_WINDOW;
        let in_sql = models.iter().any(|m| m.params.contains(k));
        let needle = format!("params.{k}");
        let in_templates = templates.values().any(|t| {
            t.match_indices(&needle).any(|(i, _)| {
                !t[i + needle.len()..]
                    .chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        });
        if !default && !in_sql && !in_templates {
            let mut known: Vec<_> = DEFAULT_PARAMS.iter().map(|(n, _)| *n).collect();
            known.sort_by_key(|n| strsim::levenshtein(n, k));
            problems.push(Error::config(format!(
                "journey.toml: [params] {k} is read by no model ($ {k}) and no template (params.{k}); did you mean {}?",
                known[0]
            ).replace("$ ", "$")));
        }
    }
    Ok(problems)
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
/// (in file order) when given. With `force`, every column is read and converted as the
/// models would ([`crate::sources::count_typed`]).
async fn count_event_names(
    ctx: &SessionContext,
    limit: Option<usize>,
    force: bool,
) -> datafusion::error::Result<(u64, BTreeSet<String>)> {
    let limit = limit.map(|n| format!(" LIMIT {n}")).unwrap_or_default();
    let (columns, forced) = match force {
        true => ("*", crate::sources::forcing_counts(ctx, "events").await?),
        false => ("event_name", String::new()),
    };
    let batches = ctx
        .sql(&format!(
            "SELECT event_name, count(*){forced} FROM (SELECT {columns} FROM events{limit}) GROUP BY event_name"
        ))
        .await?
        .collect()
        .await?;
    let mut rows = 0u64;
    let mut names = BTreeSet::new();
    for b in &batches {
        // The text may come back as Utf8 or Utf8View: normalise before reading it.
        let name = datafusion::arrow::compute::cast(b.column(0), &DataType::Utf8)?;
        let name = name.as_string::<i32>();
        let count = b.column(1).as_primitive_opt::<Int64Type>().ok_or_else(|| {
            datafusion::error::DataFusionError::Internal("count(*) is not Int64".into())
        })?;
        for i in 0..b.num_rows() {
            rows += count.value(i) as u64;
            if name.is_valid(i) {
                names.insert(name.value(i).to_string());
            }
        }
    }
    Ok((rows, names))
}

/// `check`: every problem in the project without running a model: the config, every source
/// read in full through its typed view, its freshness and coverage against the as-of day,
/// every model planned, and every page rendered against the planned models' columns.
pub async fn check(args: &ProjectArgs) -> Result<Vec<Error>> {
    let (mut prep, mut problems) = prepare(args, true).await?;
    // A model reading a model with an error is not planned (it would only fail with "table
    // not found"): it is listed once as skipped.
    let mut failed = BTreeSet::new();
    let mut skipped = Vec::new();
    for m in &prep.models {
        if m.deps.iter().any(|d| failed.contains(d)) {
            failed.insert(m.name.clone());
            skipped.push(m.name.clone());
            continue;
        }
        if let Err(e) = models::plan_as_view(&prep.ctx, &args.project, m, &prep.sources).await {
            problems.push(e);
            failed.insert(m.name.clone());
        }
    }
    if !skipped.is_empty() {
        skipped.sort();
        problems.push(Error::model(format!(
            "skipped, as they read a model with an error: {}",
            skipped.join(", ")
        )));
    }
    problems.extend(crate::email::check_addresses(&prep.config));
    match check_freshness(&mut prep).await {
        Ok(stale) => problems.extend(stale.into_iter().map(Error::input)),
        Err(e) => problems.push(e),
    }
    // Pages are checked against the planned models: only when every model was planned.
    let models_sound = !problems
        .iter()
        .any(|p| p.kind == crate::error::ErrorKind::Model);
    match render::build_tera(&args.project, &prep.config.project.currency) {
        Ok(tera) if models_sound => problems.extend(check_templates(&prep, &tera).await),
        Ok(_) => {}
        Err(e) => problems.push(e),
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
    /// A model failing on the data fails the run (exit 4) instead of marking its analyses
    /// unavailable (`--fail-fast`, or `[project] fail_fast = true`).
    pub fail_fast: bool,
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
    /// `complete`, or `partial` when some analyses are unavailable.
    pub status: RunStatus,
    /// Freshness and coverage of every source against the as-of day.
    pub freshness: Vec<SourceFreshness>,
    /// Models that failed on this data or were skipped, with the reason.
    pub unavailable: BTreeMap<String, String>,
    /// Pages a `--report` run did not draw but kept from the previous folder of the same
    /// as-of date (with their e-mails): `{"page": "funnel.html", "drawn_at": <started_at of
    /// the run that drew it>}`.
    pub carried_pages: Vec<serde_json::Value>,
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
    /// Models that failed on this data or were skipped, with the reason.
    pub unavailable: BTreeMap<String, String>,
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
    let (mut prep, problems) = prepare(&args.project, false).await?;
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    if let Some(e) = crate::email::check_addresses(&prep.config)
        .into_iter()
        .next()
    {
        return Err(e);
    }
    // Stale or uncovered inputs stop the run before anything is written.
    let t_fresh = Instant::now();
    let stale = check_freshness(&mut prep).await?;
    tracing::info!(
        seconds = crate::logging::secs(t_fresh.elapsed()),
        "freshness and coverage checked"
    );
    if !stale.is_empty() {
        return Err(Error::input(format!(
            "{}\n  nothing was written: the previous report folder, if any, is unchanged (thresholds: [sources.<name>] max_age_hours in journey.toml)",
            stale.join("\n  ")
        )));
    }
    tracing::info!(
        seconds = crate::logging::secs(t0.elapsed()),
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
    // What runs killed without cleaning up (kill -9, the OOM killer) left; see remove_stale.
    prep.warnings.extend(crate::output::remove_stale(&parent));
    let final_dir = parent.join(prep.as_of.to_string());
    let staging = parent.join(format!(".{}.partial-{}", prep.as_of, std::process::id()));
    let work = parent.join(format!(".work-{}", std::process::id()));
    // Removes the partial folder and work files however this function ends: error, or the
    // future being dropped when the job is stopped (SIGTERM).
    let guard = crate::output::Scratch::new(vec![staging.clone(), work.clone()]);
    let mut summary = build_folder(&prep, args, &tera, &staging, &work, &started_at, t0).await?;
    let _ = std::fs::remove_dir_all(&work);
    // One atomic exchange; refused once a stop was requested.
    let (_, left) = crate::output::swap_into_place(&staging, &final_dir)?;
    summary.warnings.extend(left);
    guard.finish();
    if args.send || args.send_to.is_some() {
        // Stale inputs never get here: the freshness check failed the run before the swap.
        let to = args.send_to.as_deref();
        summary.sent = crate::delivery::deliver(&parent, prep.as_of, &summary.emails, to)?.sent;
    }
    summary.folder = final_dir;
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

/// Checks every source's freshness and coverage against the as-of day
/// ([`crate::freshness`]): fills in `prep.freshness` and the row counts of the sources it
/// reads, adds a warning for each stale or partly covering source (and for an empty one it
/// counted), and returns the messages of the sources past their error threshold.
///
/// Errors (exit 3): a value of a freshness column that cannot be read; (exit 2) a
/// `freshness_column` that is not a column of its source.
pub async fn check_freshness(prep: &mut Prepared) -> Result<Vec<String>> {
    let ts = |k: &str| match prep.params.get(k) {
        Some(ParamValue::Timestamp(t)) => Ok(*t),
        _ => Err(Error::internal(format!("{k} is not set"))),
    };
    let window = crate::freshness::Window {
        as_of: prep.as_of,
        as_of_end: ts("as_of_end")?,
        previous_period_start: ts("previous_period_start")?,
    };
    let uncounted: BTreeSet<String> = prep
        .sources
        .iter()
        .filter(|s| s.rows.is_none())
        .map(|s| s.name.clone())
        .collect();
    prep.freshness =
        crate::freshness::check_sources(&prep.ctx, &prep.config, &mut prep.sources, &window)
            .await?;
    for s in &prep.sources {
        if s.rows == Some(0) && uncounted.contains(&s.name) {
            let w = empty_source_warning(s);
            tracing::warn!("{w}");
            prep.warnings.push(w);
        }
    }
    let mut errors = Vec::new();
    for f in &prep.freshness {
        match (f.verdict, &f.message) {
            (Verdict::Error, Some(m)) => errors.push(m.clone()),
            (Verdict::Warn, Some(m)) => {
                tracing::warn!("{m}");
                prep.warnings.push(m.clone());
            }
            _ => {}
        }
    }
    Ok(errors)
}

/// The last day with data, in the report's time zone, when a source with a freshness
/// threshold is past it: what the page header says instead of "data up to <as-of>".
fn data_through(prep: &Prepared) -> Option<NaiveDate> {
    let tz: chrono_tz::Tz = match prep.params.get("report_tz") {
        Some(ParamValue::Text(t)) => t.parse().ok()?,
        _ => chrono_tz::UTC,
    };
    prep.freshness
        .iter()
        .filter(|f| {
            f.verdict != Verdict::Fresh
                && f.age_hours
                    .zip(f.warn_after_hours.or(f.error_after_hours))
                    .is_some_and(|(age, limit)| age > limit)
        })
        .filter_map(|f| f.newest)
        .map(|t| tz.from_utc_datetime(&t).date_naive())
        .min()
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
///
/// Errors: exit 1 when the file cannot be read, or when a stop was requested meanwhile
/// ([`crate::output::check_stop`], checked after every MiB).
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
        // A multi-GB export takes seconds: a stop must not wait for it.
        crate::output::check_stop()?;
    }
    Ok(format!("{:016x}", hasher.digest()))
}

/// Writes the data files of model `m` into `data_dir`: `data/<model>.csv` or `.parquet` as its
/// `data_file` says (a Parquet work file of a model with its own `ORDER BY` is hard-linked, not
/// rewritten), and the split CSVs of `split_csv_by`; rows in the order of
/// [`crate::data_files`].
///
/// Errors: exit 1 for I/O; exit 2 when a split value names another model (its file would be
/// overwritten); exit 4 when the split column is not a column of the model.
async fn write_data_files(prep: &Prepared, m: &Model, data_dir: &Path, work: &Path) -> Result<()> {
    let cfg = prep.config.models.get(&m.name);
    // Rows in the model's own order, or sorted by every column (crate::output).
    let ordered = crate::data_files::has_order_by(m);
    match cfg.map(|c| c.data_file).unwrap_or_default() {
        crate::config::DataFile::Csv => {
            models::write_csv(
                &prep.ctx,
                &m.name,
                &data_dir.join(format!("{}.csv", m.name)),
                ordered,
            )
            .await?;
        }
        crate::config::DataFile::Parquet => {
            let dest = data_dir.join(format!("{}.parquet", m.name));
            let work_file = work.join(format!("{}.parquet", m.name));
            // A work file holds the rows in the model's order: kept when that order is defined.
            if ordered && m.materialize != crate::config::Materialize::View && work_file.exists() {
                // Same filesystem (both under the output folder): a hard link, no copy.
                if std::fs::hard_link(&work_file, &dest).is_err() {
                    std::fs::copy(&work_file, &dest).map_err(|e| Error::io(&dest, e))?;
                }
            } else {
                models::write_parquet(&prep.ctx, &m.name, &dest, ordered).await?;
            }
        }
        crate::config::DataFile::None => {}
    }
    if let Some(column) = cfg.and_then(|c| c.split_csv_by.as_deref()) {
        let files = models::write_split_csv(&prep.ctx, &m.name, column, data_dir, ordered).await?;
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

/// The Tera context every page is rendered with (see the README, "Adding a report"):
/// `project`, `as_of`, `generated_at`, `version`, `params`, `reports` (the navigation),
/// `models` (rows per model), `model_info` (rows, truncated, columns), `funnel_stages`,
/// `warnings` (all; `other_warnings`: those not about freshness), `unavailable` (model → why
/// it is unavailable; its rows are an empty list),
/// `freshness` (per source, see [`crate::freshness`]) and `data_through` (the last day with
/// data when a source is stale, else the as-of day).
fn page_context(
    prep: &Prepared,
    nav: &[&crate::config::ReportConfig],
    models: serde_json::Map<String, serde_json::Value>,
    model_info: serde_json::Map<String, serde_json::Value>,
    warnings: &[String],
    unavailable: &BTreeMap<String, String>,
    generated_at: &str,
) -> tera::Context {
    let mut ctx = tera::Context::new();
    let nav: Vec<_> = nav.iter().map(|r| json!({"name": r.name, "title": r.title, "summary": r.summary, "href": format!("{}.html", r.name)})).collect();
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
    ctx.insert("generated_at", generated_at);
    ctx.insert("version", env!("CARGO_PKG_VERSION"));
    ctx.insert("params", &prep.params);
    ctx.insert("reports", &nav);
    ctx.insert("models", &models);
    ctx.insert("model_info", &model_info);
    ctx.insert("funnel_stages", &stages);
    ctx.insert("unavailable", unavailable);
    ctx.insert("freshness", &prep.freshness);
    ctx.insert(
        "data_through",
        &data_through(prep).map_or_else(|| prep.as_of.to_string(), |d| d.to_string()),
    );
    ctx.insert("warnings", warnings);
    // The warnings that are not already in a freshness banner.
    let banners: BTreeSet<&str> = prep
        .freshness
        .iter()
        .filter_map(|f| f.message.as_deref())
        .collect();
    let others: Vec<&String> = warnings
        .iter()
        .filter(|w| !banners.contains(w.as_str()))
        .collect();
    ctx.insert("other_warnings", &others);
    ctx
}

/// A stand-in value of an Arrow type, as a page sees it ([`render::scalar_to_json`]): 1 for
/// numbers, `"x"` for text, the as-of day for dates and timestamps, an empty list, a struct
/// of stand-ins.
fn stand_in(t: &DataType, as_of: NaiveDate) -> serde_json::Value {
    match t {
        DataType::Boolean => json!(true),
        t if t.is_numeric() => json!(1),
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => json!("x"),
        DataType::Date32 | DataType::Date64 => json!(as_of.to_string()),
        DataType::Timestamp(..) => json!(format!("{as_of} 00:00:00")),
        DataType::List(_) | DataType::LargeList(_) | DataType::FixedSizeList(..) => json!([]),
        DataType::Struct(fields) => serde_json::Value::Object(
            fields
                .iter()
                .map(|f| (f.name().clone(), stand_in(f.data_type(), as_of)))
                .collect(),
        ),
        _ => serde_json::Value::Null,
    }
}

/// `check`: renders every page (the summary and each report) against the planned models
/// (each registered as a view by [`models::plan_as_view`]), one row of stand-in values per
/// model: a template reading a model, column, filter or function that does not exist fails
/// here as it would after every model ran.
async fn check_templates(prep: &Prepared, tera: &tera::Tera) -> Vec<Error> {
    let mut rows = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for m in &prep.models {
        let Ok(df) = prep.ctx.table(m.name.as_str()).await else {
            continue;
        };
        let row: serde_json::Map<_, _> = df
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), stand_in(f.data_type(), prep.as_of)))
            .collect();
        let columns: Vec<_> = df
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        rows.insert(m.name.clone(), json!([row]));
        info.insert(
            m.name.clone(),
            json!({"rows": 1, "truncated": false, "columns": columns}),
        );
    }
    let selected: Vec<_> = prep.config.reports.iter().collect();
    let mut ctx = page_context(prep, &selected, rows, info, &[], &BTreeMap::new(), "check");
    let mut problems = Vec::new();
    let pages = std::iter::once((None, "index.html".to_string()))
        .chain(selected.iter().map(|r| (Some(*r), r.template_name())));
    for (report, template) in pages {
        match report {
            Some(r) => ctx.insert(
                "report",
                &json!({"name": r.name, "title": r.title, "summary": r.summary, "unavailable": []}),
            ),
            None => {
                ctx.remove("report");
            }
        }
        // A missing template is reported by check itself.
        // With stand-in values a chart may refuse its data (a value not among its labels):
        // only a name that does not exist — a model, column, variable, filter, function or
        // template — is the template's fault.
        if tera.get_template_names().any(|n| n == template)
            && let Err(e) = render::render(tera, &template, &ctx)
            && e.message.contains("not found")
        {
            problems.push(e);
        }
    }
    problems
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
        args.fail_fast || prep.config.project.fail_fast,
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
        seconds = crate::logging::secs(t_models.elapsed()),
        "models run and data files written"
    );
    let t_pages = Instant::now();
    // Template context.
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
    // `--report`: the previous folder's other pages stay (see output::carried_pages).
    let previous = staging.with_file_name(prep.as_of.to_string());
    let others: Vec<String> = prep
        .config
        .reports
        .iter()
        .filter(|r| !selected.iter().any(|s| s.name == r.name))
        .map(|r| r.name.clone())
        .collect();
    let carried = crate::output::carried_pages(&previous, prep.as_of, &others);
    let nav: Vec<_> = prep
        .config
        .reports
        .iter()
        .filter(|r| selected.iter().any(|s| s.name == r.name) || carried.contains(&r.name))
        .collect();
    let ctx = page_context(
        prep,
        &nav,
        rows,
        info,
        &warnings,
        &results.unavailable,
        started_at,
    );
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
    let sources = render::template_sources(project)?;
    for r in &selected {
        // A page that reads an unavailable model says so instead of showing empty charts.
        let missing: Vec<_> = render::models_read(&sources, &r.template_name())
            .into_iter()
            .filter_map(|m| {
                results
                    .unavailable
                    .get(&m)
                    .map(|why| json!({"model": m, "reason": why}))
            })
            .collect();
        let template = if missing.is_empty() {
            r.template_name()
        } else {
            "unavailable.html".to_string()
        };
        page_list.push((
            r.name.clone(),
            r.title.clone(),
            template,
            r.recipients.clone(),
            Some(json!({"name": r.name, "title": r.title, "summary": r.summary, "unavailable": missing})),
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
                // A stop requested by a signal is seen between pages.
                while crate::output::stop_requested().is_none() {
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
    crate::output::check_stop()?;
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
        seconds = crate::logging::secs(t_pages.elapsed()),
        "pages and e-mails rendered"
    );
    let status = if results.unavailable.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    };
    let carried = crate::output::carry_pages(&previous, staging, &carried)?;
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
        models: prep.models.iter().map(|m| json!({"name": m.name, "file": models::relative(project, &m.path), "sha256": m.sha256, "reads": m.tables})).collect(),
        steps: results.runs.clone(),
        pages: pages.clone(),
        emails: emails
            .iter()
            .map(|e| json!({"file": format!("email/{}.eml", e.report), "html_bytes": e.html_bytes, "images": e.images, "message_bytes": e.message.formatted().len()}))
            .collect(),
        warnings: warnings.clone(),
        status,
        freshness: prep.freshness.clone(),
        unavailable: results.unavailable.clone(),
        carried_pages: carried,
    };
    crate::output::check_stop()?;
    let file = staging.join("manifest.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::write(&file, text).map_err(|e| Error::io(&file, e))?;
    Ok(RunSummary {
        status,
        unavailable: results.unavailable.clone(),
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
