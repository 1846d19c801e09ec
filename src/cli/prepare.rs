//! Loading a project before any model runs: config, parameters, session, sources, the
//! journey checks (funnel-stage events, freshness) and the models, ordered.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::NaiveDate;
use datafusion::prelude::SessionContext;

use crate::engine::memory::{MemoryPlan, input_bytes};
use crate::engine::model::Model;
use crate::engine::session::{SessionOptions, build_session};
use crate::error::{Error, Result};
use crate::journey::freshness::{SourceFreshness, Verdict};
use crate::journey::params::{DEFAULT_PARAMS, NON_CONVERTING_WINDOW, ReportWindow, resolve_params};
use crate::journey::stages::{STAGE_SAMPLE_ROWS, count_event_names, funnel_table};
use crate::project::{Config, ParamValue};
use crate::report::pages;
use crate::report::pii::PiiPolicy;
use crate::sources::{ForgetList, SourceInfo, register_sources};

impl Prepared {
    /// What the pages are drawn from, besides the models' rows.
    pub(crate) fn page_inputs(&self) -> crate::report::context::PageInputs<'_> {
        crate::report::context::PageInputs {
            config: &self.config,
            params: &self.params,
            window: &self.window,
            freshness: &self.freshness,
            quality: &self.quality,
            quality_trend: &self.quality_trend,
        }
    }
}

/// What every command needs to know about the project, resolved from the command line.
#[derive(Debug, Clone)]
pub(crate) struct ProjectArgs {
    /// The project folder (holds `journey.toml`, `sql/`, `templates/`).
    pub(crate) project: PathBuf,
    /// `--source NAME=PATH` overrides.
    pub(crate) sources: BTreeMap<String, PathBuf>,
    /// `--param NAME=VALUE` overrides, as text (typed like the declared parameter).
    pub(crate) params: Vec<(String, String)>,
    /// The logical date of the report.
    pub(crate) as_of: Option<NaiveDate>,
    /// Session settings.
    pub(crate) session: SessionOptions,
    /// `--forget FILE`: the forget list instead of `[privacy] forget`.
    pub(crate) forget: Option<PathBuf>,
}

/// A project ready to run: config, bound parameters, session with sources and
/// `funnel_stages` registered, and the ordered models.
pub(crate) struct Prepared {
    /// `journey.toml`.
    pub(crate) config: Config,
    /// Parameters as bound into SQL (declared, overridden, and computed).
    pub(crate) params: BTreeMap<String, ParamValue>,
    /// The session.
    pub(crate) ctx: SessionContext,
    /// Registered sources.
    pub(crate) sources: Vec<SourceInfo>,
    /// Models in run order.
    pub(crate) models: Vec<Model>,
    /// Non-fatal findings (empty sources, orphan events…).
    pub(crate) warnings: Vec<String>,
    /// The report window: the as-of date and the periods before it.
    pub(crate) window: ReportWindow,
    /// Freshness and coverage of each source (filled in by `run` and `check`).
    pub(crate) freshness: Vec<SourceFreshness>,
    /// What the data tests found in each source (`data_quality` in the manifest).
    pub(crate) quality: Vec<crate::sources::audit::SourceQuality>,
    /// The data-quality figures of earlier runs in the output folder (filled in by `run`).
    pub(crate) quality_trend: Vec<crate::report::context::QualityPoint>,
    /// How the run uses memory, from `--memory-limit`, `--jobs` and the sources' size;
    /// already applied to `ctx`.
    pub(crate) memory: MemoryPlan,
    /// The forget list applied to the source views, if any.
    pub(crate) forget: Option<Arc<ForgetList>>,
    /// The treatment of personal data in each output (`[privacy]`, with its salt).
    pub(crate) pii: PiiPolicy,
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
pub(crate) async fn prepare(args: &ProjectArgs, count_now: bool) -> Result<(Prepared, Vec<Error>)> {
    let config = Config::load(&args.project)?;
    let (params, window) = resolve_params(&config, &args.params, args.as_of)?;
    let ctx = build_session(&args.session)?;
    ctx.register_table("funnel_stages", Arc::new(funnel_table(&config)?))
        .map_err(|e| Error::internal(e.to_string()))?;
    let pii = PiiPolicy::new(&config.privacy)?;
    let forget = forget_list(args, &config)?;
    if let Some(f) = &forget {
        f.install(&ctx);
    }
    let (mut sources, mut problems) =
        register_sources(&ctx, &args.project, &config, &args.sources).await;
    let optional = crate::sources::register_missing_optional(&ctx, &config)?;
    let memory = MemoryPlan::new(
        args.session.memory_limit,
        args.session.jobs,
        input_bytes(&sources),
        args.session.out_of_core,
    );
    let ctx = memory.apply(ctx)?;
    tracing::debug!(?memory, "memory plan");
    let mut warnings = Vec::new();
    // Data tests: quarantined rows leave the typed views before any model is planned on them.
    let t_audit = std::time::Instant::now();
    let end_ns = window
        .as_of_end
        .and_utc()
        .timestamp_nanos_opt()
        .ok_or_else(|| Error::config(format!("the as-of day {} is out of range", window.as_of)))?;
    let quality = crate::sources::audit::audit_sources(
        &ctx,
        &config,
        &mut sources,
        end_ns,
        args.session.spill_dir.as_deref(),
    )
    .await?;
    tracing::info!(
        seconds = crate::logging::secs(t_audit.elapsed()),
        "data tests run"
    );
    for q in &quality {
        for w in q.findings() {
            tracing::warn!("{w}");
            warnings.push(w);
        }
    }
    if let Some(e) = crate::sources::audit::failed(&quality) {
        problems.push(e);
    }
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
        } else if !count_now && (s.tap.is_some() || s.rows.is_some()) {
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
        crate::engine::graph::load_models(&ctx, &args.project, &config, &params, &tables);
    if model_problems.is_empty() {
        problems.extend(unread_params(&args.project, &config, &models)?);
        // The forget list filters the views, not the files: a model reading raw_<name>
        // would bring the forgotten customers back.
        if forget.is_some() {
            for m in &models {
                for t in m.tables.iter().filter(|t| t.starts_with("raw_")) {
                    let view = &t["raw_".len()..];
                    if config.sources.contains_key(view) {
                        problems.push(Error::config(format!(
                            "model {}: reads {t}, the files as they are, which the forget list ([privacy] forget) does not filter; read the view {view}",
                            m.name
                        )));
                    }
                }
            }
        }
        for name in config.privacy.data_file.keys() {
            if !models.iter().any(|m| &m.name == name) {
                problems.push(Error::config(format!(
                    "journey.toml: [privacy.data_file] {name}: no model is named {name}"
                )));
            }
        }
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
            window,
            freshness: Vec::new(),
            quality,
            quality_trend: Vec::new(),
            memory,
            forget,
            pii,
        },
        problems,
    ))
}

/// The forget list of the project: `--forget FILE` (relative to the working directory), else
/// `[privacy] forget` (relative to the project), read now.
///
/// Errors: exit 2 when the file is missing or unreadable, naming it.
fn forget_list(args: &ProjectArgs, config: &Config) -> Result<Option<Arc<ForgetList>>> {
    let (path, shown) = match (&args.forget, &config.privacy.forget) {
        (Some(p), _) => (p.clone(), p.clone()),
        (None, Some(p)) => (args.project.join(p), p.clone()),
        (None, None) => return Ok(None),
    };
    Ok(Some(Arc::new(ForgetList::read(&path, &shown)?)))
}

/// `[params]` entries that no model (`$name`) and no template (`params.name`) reads: a
/// misspelled parameter would otherwise change nothing without a word.
///
/// Errors (exit 1): a template file that cannot be read.
fn unread_params(project: &Path, config: &Config, models: &[Model]) -> Result<Vec<Error>> {
    let templates = pages::template_sources(project)?;
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
        .map_err(|e| crate::error::clean_error(&e))
}

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
pub(crate) async fn count_deferred(
    prep: &Prepared,
    warnings: &mut Vec<String>,
) -> Result<Vec<SourceInfo>> {
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

/// Checks every source's freshness and coverage against the as-of day
/// ([`crate::journey::freshness`]): fills in `prep.freshness` and the row counts of the sources it
/// reads, adds a warning for each stale or partly covering source (and for an empty one it
/// counted), and returns the messages of the sources past their error threshold.
///
/// Errors (exit 3): a value of a freshness column that cannot be read; (exit 2) a
/// `freshness_column` that is not a column of its source.
pub(crate) async fn check_freshness(prep: &mut Prepared) -> Result<Vec<String>> {
    let uncounted: BTreeSet<String> = prep
        .sources
        .iter()
        .filter(|s| s.rows.is_none())
        .map(|s| s.name.clone())
        .collect();
    prep.freshness = crate::journey::freshness::check_sources(
        &prep.ctx,
        &prep.config,
        &mut prep.sources,
        &prep.window,
        &prep.quality,
    )
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
