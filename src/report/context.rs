//! The Tera context every page is rendered with, and `check`'s render of every page against
//! the planned models.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use datafusion::arrow::datatypes::DataType;
use serde_json::json;

use datafusion::prelude::SessionContext;

use crate::engine::model::Model;
use crate::error::Error;
use crate::journey::freshness::{SourceFreshness, data_through};
use crate::journey::params::ReportWindow;
use crate::project::{Config, ParamValue, ReportConfig};
use crate::report::pages;

/// What every page of one run is drawn from, besides the models' rows.
#[derive(Debug, Clone, Copy)]
pub struct PageInputs<'a> {
    /// `journey.toml`.
    pub config: &'a Config,
    /// The parameters as bound into SQL (`params` in templates).
    pub params: &'a BTreeMap<String, ParamValue>,
    /// The report window (as-of date, time zone, period).
    pub window: &'a ReportWindow,
    /// Freshness and coverage of each source.
    pub freshness: &'a [SourceFreshness],
}

/// The Tera context every page is rendered with (see the README, "Adding a report"):
/// `project`, `as_of`, `generated_at`, `version`, `params`, `reports` (the navigation),
/// `models` (rows per model), `model_info` (rows, truncated, columns), `funnel_stages`,
/// `warnings` (all; `other_warnings`: those not about freshness), `unavailable` (model → why
/// it is unavailable; its rows are an empty list),
/// `freshness` (per source, see [`crate::journey::freshness`]) and `data_through` (the last day with
/// data when a source is stale, else the as-of day).
pub fn page_context(
    prep: &PageInputs<'_>,
    nav: &[&ReportConfig],
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
    ctx.insert("as_of", &prep.window.as_of.to_string());
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
        &data_through(prep.window, prep.freshness)
            .map_or_else(|| prep.window.as_of.to_string(), |d| d.to_string()),
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
pub async fn check_templates(
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
            && let Err(e) = pages::render(tera, &template, &ctx)
            && e.message.contains("not found")
        {
            problems.push(e);
        }
    }
    problems
}
