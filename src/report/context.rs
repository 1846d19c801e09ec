//! The Tera context every page is rendered with, and `check`'s render of every page against
//! the planned models.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use datafusion::arrow::datatypes::DataType;
use serde_json::json;

use datafusion::prelude::SessionContext;

use crate::engine::model::Model;
use crate::error::{Error, Result};
use crate::journey::freshness::{SourceFreshness, data_through};
use crate::journey::params::ReportWindow;
use crate::project::{Config, ParamValue, ReportConfig};
use crate::report::pages;
use crate::sources::audit::SourceQuality;

/// One page of the report to render.
#[derive(Debug, Clone)]
pub(crate) struct Page {
    /// File stem of the page (`index`, `funnel`, …) and of its e-mail.
    pub(crate) name: String,
    /// Its title (the e-mail's heading).
    pub(crate) title: String,
    /// The Tera template drawn (`unavailable.html` when a model it reads is unavailable).
    pub(crate) template: String,
    /// Who gets its e-mail besides `[email] to` (none for the index).
    pub(crate) recipients: Vec<String>,
    /// The template's `report` variable; `None` for the index.
    pub(crate) report: Option<ReportVar>,
}

/// The `report` variable of a report page's template.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct ReportVar {
    /// `[[reports]] name`.
    pub(crate) name: String,
    /// `[[reports]] title`.
    pub(crate) title: String,
    /// `[[reports]] summary`, if any.
    pub(crate) summary: Option<String>,
    /// The models the page reads that are unavailable for this data, with the reason.
    pub(crate) unavailable: Vec<Unavailable>,
}

/// A model a page reads that failed on this data or was skipped.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Unavailable {
    /// The model's name.
    pub(crate) model: String,
    /// Why it is unavailable.
    pub(crate) reason: String,
}

/// What every page of one run is drawn from, besides the models' rows.
#[derive(Debug, Clone, Copy)]
pub(crate) struct PageInputs<'a> {
    /// `journey.toml`.
    pub(crate) config: &'a Config,
    /// The parameters as bound into SQL (`params` in templates).
    pub(crate) params: &'a BTreeMap<String, ParamValue>,
    /// The report window (as-of date, time zone, period).
    pub(crate) window: &'a ReportWindow,
    /// Freshness and coverage of each source.
    pub(crate) freshness: &'a [SourceFreshness],
    /// What the data tests found in each source.
    pub(crate) quality: &'a [SourceQuality],
    /// The data-quality figures of the earlier runs in the same output folder, oldest first.
    pub(crate) quality_trend: &'a [QualityPoint],
}

/// One source's data-quality figures in one earlier run, read from its `manifest.json`.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct QualityPoint {
    /// The run's as-of date.
    pub(crate) as_of: String,
    /// Source name.
    pub(crate) source: String,
    /// Rows read.
    pub(crate) rows: u64,
    /// Rows quarantined.
    pub(crate) quarantined: u64,
    /// Rows dropped as duplicates.
    pub(crate) duplicates_dropped: u64,
    /// `pass`, `warn` or `error`.
    pub(crate) status: String,
}

/// The data-quality figures of the runs in `parent` (the output folder: one folder per as-of
/// date, each with `manifest.json`) dated before `as_of`, the latest `runs` of them, oldest
/// first. A folder without a readable manifest or without `data_quality` (older versions)
/// is left out.
pub(crate) fn quality_trend(
    parent: &std::path::Path,
    as_of: chrono::NaiveDate,
    runs: usize,
) -> Vec<QualityPoint> {
    let Ok(dir) = std::fs::read_dir(parent) else {
        return Vec::new();
    };
    let mut dates: Vec<chrono::NaiveDate> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|d| *d < as_of)
        .collect();
    dates.sort();
    let from = dates.len().saturating_sub(runs);
    let mut out = Vec::new();
    for d in &dates[from..] {
        let path = parent.join(d.to_string()).join("manifest.json");
        let Some(m) = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok())
        else {
            continue;
        };
        let Some(list) = m.get("data_quality").and_then(|v| v.as_array()) else {
            continue;
        };
        for q in list {
            let n = |k: &str| q.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
            out.push(QualityPoint {
                as_of: d.to_string(),
                source: q
                    .get("source")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
                rows: n("rows"),
                quarantined: n("quarantined"),
                duplicates_dropped: n("duplicates_dropped"),
                status: q
                    .get("status")
                    .and_then(|v| v.as_str())
                    .unwrap_or("")
                    .to_string(),
            });
        }
    }
    out
}

/// One sentence for the e-mail when the data tests found anything: how many rows were
/// quarantined or dropped in which sources, and how many tests warn.
fn quality_line(quality: &[SourceQuality]) -> Option<String> {
    let mut parts = Vec::new();
    for q in quality {
        if q.quarantined > 0 {
            parts.push(format!(
                "{} of {} {} rows quarantined ({})",
                crate::sources::audit::count(q.quarantined),
                crate::sources::audit::count(q.rows),
                q.source,
                crate::sources::audit::percent(q.quarantined, q.rows)
            ));
        }
        if q.duplicates_dropped > 0 {
            parts.push(format!(
                "{} duplicate {} rows dropped",
                crate::sources::audit::count(q.duplicates_dropped),
                q.source
            ));
        }
    }
    let warning = quality
        .iter()
        .flat_map(|q| &q.tests)
        .filter(|t| t.status != crate::sources::audit::Status::Pass && t.failures > 0)
        .count();
    if warning > 0 {
        parts.push(format!(
            "{warning} data test{} past {} threshold",
            if warning == 1 { "" } else { "s" },
            if warning == 1 { "its" } else { "their" }
        ));
    }
    (!parts.is_empty()).then(|| parts.join("; "))
}

/// The Tera context every page is rendered with (see the README, "Adding a report"):
/// `project`, `as_of`, `period` (first and last days of the period and the previous one),
/// `generated_at`, `version`, `params`, `reports` (the navigation),
/// `models` (rows per model), `model_info` (rows, truncated, columns), `funnel_stages`,
/// `warnings` (all; `other_warnings`: those not about freshness), `unavailable` (model → why
/// it is unavailable; its rows are an empty list),
/// `freshness` (per source, see [`crate::journey::freshness`]), `data_through` (the last day with
/// data when a source is stale, else the as-of day), `data_quality` (per source, see
/// [`crate::sources::audit`]), `data_quality_line` (one sentence when anything is off) and
/// `data_quality_trend` (earlier runs). Typed as [`PageContext`].
///
/// Errors: exit 1 (internal) if the context cannot be serialized (it always can: maps with
/// text keys, lists, text and numbers).
pub(crate) fn page_context(
    prep: &PageInputs<'_>,
    nav: &[&ReportConfig],
    models: serde_json::Map<String, serde_json::Value>,
    model_info: serde_json::Map<String, serde_json::Value>,
    warnings: &[String],
    unavailable: &BTreeMap<String, String>,
    generated_at: &str,
) -> Result<tera::Context> {
    let reports = nav
        .iter()
        .map(|r| NavEntry {
            name: r.name.clone(),
            title: r.title.clone(),
            summary: r.summary.clone(),
            href: format!("{}.html", r.name),
        })
        .collect();
    let funnel_stages = prep
        .config
        .funnel
        .stages
        .iter()
        .enumerate()
        .map(|(i, s)| FunnelStage {
            index: i + 1,
            name: s.name.clone(),
            events: s.events.clone(),
        })
        .collect();
    // The warnings that are not already in a freshness banner.
    let banners: BTreeSet<&str> = prep
        .freshness
        .iter()
        .filter_map(|f| f.message.as_deref())
        .collect();
    let other_warnings = warnings
        .iter()
        .filter(|w| !banners.contains(w.as_str()))
        .cloned()
        .collect();
    let page = PageContext {
        project: ProjectVar {
            title: prep.config.project.title.clone(),
            currency: prep.config.project.currency.clone(),
        },
        as_of: prep.window.as_of.to_string(),
        period: PeriodVar::new(prep.window),
        generated_at: generated_at.to_string(),
        version: env!("CARGO_PKG_VERSION"),
        params: prep.params,
        reports,
        models: &models,
        model_info: &model_info,
        funnel_stages,
        unavailable,
        freshness: prep.freshness,
        data_through: data_through(prep.window, prep.freshness)
            .map_or_else(|| prep.window.as_of.to_string(), |d| d.to_string()),
        warnings,
        other_warnings,
        data_quality: prep.quality,
        data_quality_line: quality_line(prep.quality),
        data_quality_trend: prep.quality_trend,
    };
    tera::Context::from_serialize(&page)
        .map_err(|e| Error::internal(format!("the page context: {e}")))
}

/// The variables every page's template sees (see the README, "Adding a report"); e-mails
/// add `email`, `report_url`, and report pages `report` ([`ReportVar`]).
#[derive(Debug, serde::Serialize)]
struct PageContext<'a> {
    /// `project.title`, `project.currency`.
    pub(crate) project: ProjectVar,
    /// The as-of date, `YYYY-MM-DD`.
    pub(crate) as_of: String,
    /// The report period's and the previous period's first and last days.
    pub(crate) period: PeriodVar,
    /// When the run started (RFC 3339, UTC), or `check` when `check` renders the pages.
    pub(crate) generated_at: String,
    /// journey-report's version.
    pub(crate) version: &'static str,
    /// The parameters as bound into SQL.
    pub(crate) params: &'a BTreeMap<String, ParamValue>,
    /// The navigation: the pages of this folder.
    pub(crate) reports: Vec<NavEntry>,
    /// Each model's rows (at most `MAX_TEMPLATE_ROWS`), as JSON objects.
    pub(crate) models: &'a serde_json::Map<String, serde_json::Value>,
    /// Each model's `rows`, `truncated` and `columns`.
    pub(crate) model_info: &'a serde_json::Map<String, serde_json::Value>,
    /// `[funnel]` stages: 1-based `index`, `name`, `events`.
    pub(crate) funnel_stages: Vec<FunnelStage>,
    /// Models unavailable for this data → why.
    pub(crate) unavailable: &'a BTreeMap<String, String>,
    /// Freshness and coverage of each source.
    pub(crate) freshness: &'a [SourceFreshness],
    /// The last day with data when a source is stale, else the as-of date.
    pub(crate) data_through: String,
    /// Every warning of the run.
    pub(crate) warnings: &'a [String],
    /// The warnings not already shown in a freshness banner.
    other_warnings: Vec<String>,
    /// What the data tests found in each source (the data-quality page).
    data_quality: &'a [SourceQuality],
    /// One sentence when the data tests found anything, for the e-mail; else absent.
    data_quality_line: Option<String>,
    /// The earlier runs' data-quality figures, oldest first.
    data_quality_trend: &'a [QualityPoint],
}

/// The `period` variable of the pages: the days of the report period and of the one before
/// it, `YYYY-MM-DD` in the report's time zone (`$period_start` and `$previous_period_start`
/// are the UTC instants of those first days' midnight).
#[derive(Debug, serde::Serialize)]
struct PeriodVar {
    /// The period's first day.
    pub(crate) first_day: String,
    /// Its last day: the as-of date.
    pub(crate) last_day: String,
    /// The previous period's first day.
    pub(crate) previous_first_day: String,
    /// The previous period's last day: the day before the period's first.
    pub(crate) previous_last_day: String,
}

impl PeriodVar {
    fn new(w: &ReportWindow) -> Self {
        let first = w.local_date(w.period_start);
        PeriodVar {
            first_day: first.to_string(),
            last_day: w.as_of.to_string(),
            previous_first_day: w.local_date(w.previous_period_start).to_string(),
            previous_last_day: first.pred_opt().unwrap_or(first).to_string(),
        }
    }
}

/// The `project` variable of the pages.
#[derive(Debug, serde::Serialize)]
struct ProjectVar {
    /// `[project] title`.
    pub(crate) title: String,
    /// `[project] currency` (ISO 4217 code).
    pub(crate) currency: String,
}

/// One entry of the navigation (`reports`).
#[derive(Debug, serde::Serialize)]
struct NavEntry {
    /// `[[reports]] name`.
    pub(crate) name: String,
    /// `[[reports]] title`.
    pub(crate) title: String,
    /// `[[reports]] summary`, if any.
    pub(crate) summary: Option<String>,
    /// The page's file, `<name>.html`.
    pub(crate) href: String,
}

/// One funnel stage as the pages see it (`funnel_stages`).
#[derive(Debug, serde::Serialize)]
pub(crate) struct FunnelStage {
    /// 1-based position.
    pub(crate) index: usize,
    /// The stage's name.
    pub(crate) name: String,
    /// The event names that reach it.
    pub(crate) events: Vec<String>,
}

/// A stand-in value of an Arrow type, as a page sees it ([`pages::scalar_to_json`]): 1 for
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
/// (each registered as a view by [`crate::engine::runner::plan_as_view`]), one row of stand-in values per
/// model: a template reading a model, column, filter or function that does not exist fails
/// here as it would after every model ran.
pub(crate) async fn check_templates(
    prep: &PageInputs<'_>,
    session: &SessionContext,
    planned: &[Model],
    tera: &tera::Tera,
) -> Vec<Error> {
    let mut rows = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    for m in planned {
        let Ok(df) = session.table(m.name.as_str()).await else {
            continue;
        };
        let row: serde_json::Map<_, _> = df
            .schema()
            .fields()
            .iter()
            .map(|f| (f.name().clone(), stand_in(f.data_type(), prep.window.as_of)))
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
    let mut ctx = match page_context(prep, &selected, rows, info, &[], &BTreeMap::new(), "check") {
        Ok(c) => c,
        Err(e) => return vec![e],
    };
    let mut problems = Vec::new();
    let pages = std::iter::once((None, "index.html".to_string()))
        .chain(selected.iter().map(|r| (Some(*r), r.template_name())));
    for (report, template) in pages {
        match report {
            Some(r) => ctx.insert(
                "report",
                &ReportVar {
                    name: r.name.clone(),
                    title: r.title.clone(),
                    summary: r.summary.clone(),
                    unavailable: Vec::new(),
                },
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
            && let Err(e) = pages::render(tera, &template, &ctx)
            && e.message.contains("not found")
        {
            problems.push(e);
        }
    }
    problems
}
