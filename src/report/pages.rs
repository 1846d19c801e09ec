//! Renders the report pages: Tera templates over the models' results.
//!
//! Templates come embedded in the binary (the bundled `templates/` folder, so the job runs
//! from any directory under cron) and a project's own `templates/` folder overrides them file
//! by file or adds new ones. Every filter and function is registered here, in
//! [`build_tera`]. Autoescaping is on for `.html`: every value from the data is escaped; chart
//! functions return SVG whose data texts are escaped by the chart renderer and are inserted
//! with `| safe`.
//!
//! The context of every page:
//!
//! | name | shape |
//! |---|---|
//! | `project` | `{title, currency}` |
//! | `as_of` | `"YYYY-MM-DD"` |
//! | `period` | `{first_day, last_day, previous_first_day, previous_last_day}`, `"YYYY-MM-DD"` in `report_tz` |
//! | `generated_at` | RFC 3339 UTC |
//! | `version` | journey-report version |
//! | `params` | `{name: value}` as bound into SQL |
//! | `reports` | `[{name, title, summary, href}]`, navigation order |
//! | `report` | the current page's entry (absent on `index.html`) |
//! | `models` | `{model: [row, …]}`, each row `{column: value}` (numbers, text, dates as `YYYY-MM-DD`, timestamps as `YYYY-MM-DD HH:MM:SS`, lists as arrays, NULL as null); at most 5,000 rows a model |
//! | `model_info` | `{model: {rows, truncated, columns}}` |
//! | `funnel_stages` | `[{index, name, events}]` from `journey.toml` |
//! | `warnings` | `[text]` |
//!
//! Filters: `num(decimals=0)`, `money(decimals=0)`, `pct(decimals=1)` (a fraction 0–1),
//! `signed_pct(decimals=1)`, `signed_pt(decimals=1)` (a difference of two fractions in
//! percentage points: 0.006 → "+0.6 pt"), `compact`, `duration(unit)` (seconds → "3.5 min";
//! `unit` one of s, min, h, d, default the one that reads best), `duration_unit` (of an
//! array of seconds: the unit of its largest, so a column reads in one unit), `sum` (of an
//! array, NULL as 0), `channel_name` (a channel id, or a path of them `a > b`, → its
//! display name from `[labels.channels]`), `channel_names(col="channel")` (rows with that
//! column's channel ids named), `rank_by(attribute)` (rows by a number column, largest
//! first, NULL last — Tera's `sort` refuses NULL). Functions:
//! `bar_chart`, `line_chart`, `funnel_chart`, `heatmap_chart` (see [`journey_charts`]).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, ArrayRef, RecordBatch, StringArray};
use datafusion::common::ScalarValue;
use journey_charts as charts;
use serde_json::{Map, Value as Json};
use tera::{Tera, Value};

use crate::error::{Error, Result};
use crate::project::{Config, LabelsConfig};

/// The bundled templates, embedded at build time: (file name, text).
pub(crate) const EMBEDDED_TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("macros.html", include_str!("../../templates/macros.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("funnel.html", include_str!("../../templates/funnel.html")),
    ("paths.html", include_str!("../../templates/paths.html")),
    (
        "attribution.html",
        include_str!("../../templates/attribution.html"),
    ),
    ("rfm.html", include_str!("../../templates/rfm.html")),
    ("clv.html", include_str!("../../templates/clv.html")),
    ("cohorts.html", include_str!("../../templates/cohorts.html")),
    ("heatmap.html", include_str!("../../templates/heatmap.html")),
    (
        "channels.html",
        include_str!("../../templates/channels.html"),
    ),
    ("email.html", include_str!("../../templates/email.html")),
    (
        "unavailable.html",
        include_str!("../../templates/unavailable.html"),
    ),
    (
        "data_quality.html",
        include_str!("../../templates/data_quality.html"),
    ),
];

/// Most rows of one model handed to templates (kept by the runner).
pub(crate) use crate::engine::runner::MAX_TEMPLATE_ROWS;

/// Builds the Tera engine: embedded templates, overridden or extended by
/// `<project>/templates/*.html`, with every filter and chart function registered.
///
/// Errors (exit 2): a template that does not parse, naming the file and the Tera message.
pub(crate) fn build_tera(project: &Path, config: &Config) -> Result<Tera> {
    let mut tera = load_templates(project, config)?;
    charts::register(&mut tera);
    Ok(tera)
}

/// The same engine for the e-mail form of the pages: the chart functions render PNG images
/// into `sink` (at most `max_width` pixels wide) and return `<img src="cid:…">` tags.
pub(crate) fn build_email_tera(
    project: &Path,
    config: &Config,
    sink: charts::ImageSink,
    max_width: u32,
) -> Result<Tera> {
    let mut tera = load_templates(project, config)?;
    charts::register_png(&mut tera, sink, max_width);
    Ok(tera)
}

fn load_templates(project: &Path, config: &Config) -> Result<Tera> {
    let sources = template_sources(project)?;
    let mut tera = Tera::default();
    tera.autoescape_on(vec![".html"]);
    tera.add_raw_templates(
        sources
            .iter()
            .map(|(n, t)| (n.as_str(), t.as_str()))
            .collect::<Vec<_>>(),
    )
    .map_err(|e| Error::config(format!("templates/: {}", tera_error(&e))))?;
    register_filters(&mut tera, &config.project.currency, &config.labels);
    Ok(tera)
}

/// The text of every template a project's pages can use, by file name: the bundled ones,
/// overridden or extended by `<project>/templates/*.html`.
///
/// Errors (exit 1): a template file that cannot be read.
pub(crate) fn template_sources(project: &Path) -> Result<BTreeMap<String, String>> {
    let mut sources: BTreeMap<String, String> = EMBEDDED_TEMPLATES
        .iter()
        .map(|(n, t)| (n.to_string(), t.to_string()))
        .collect();
    let dir = project.join("templates");
    if dir.is_dir() {
        let rd = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in rd.flatten() {
            let p = entry.path();
            if p.extension().and_then(|e| e.to_str()) == Some("html") {
                let name = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .unwrap_or_default()
                    .to_string();
                let text = std::fs::read_to_string(&p).map_err(|e| Error::io(&p, e))?;
                sources.insert(name, text);
            }
        }
    }
    Ok(sources)
}

/// The models a template's text reads (`models.<name>` or `model_info.<name>`), following
/// `{% extends %}`, `{% include %}` and `{% import %}` of other templates in `sources`.
pub(crate) fn models_read(sources: &BTreeMap<String, String>, template: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut todo = vec![template.to_string()];
    let mut seen = BTreeSet::new();
    while let Some(t) = todo.pop() {
        if !seen.insert(t.clone()) {
            continue;
        }
        let Some(text) = sources.get(&t) else {
            continue;
        };
        for prefix in ["models.", "model_info."] {
            for (i, _) in text.match_indices(prefix) {
                let before = text[..i].chars().next_back();
                if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let name: String = text[i + prefix.len()..]
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
        for other in sources.keys() {
            if other != &t && text.contains(&format!("\"{other}\"")) {
                todo.push(other.clone());
            }
        }
    }
    out
}

/// A Tera error with its causes on one line.
fn tera_error(e: &tera::Error) -> String {
    let mut msg = e.to_string();
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn num_arg(args: &HashMap<String, Value>, key: &str, default: usize) -> usize {
    args.get(key)
        .and_then(|v| v.as_u64())
        .map(|v| v as usize)
        .unwrap_or(default)
}

fn as_f64(v: &Value, filter: &str) -> tera::Result<Option<f64>> {
    match v {
        Value::Null => Ok(None),
        Value::Number(n) => Ok(n.as_f64()),
        Value::String(s) => s
            .parse::<f64>()
            .map(Some)
            .map_err(|_| tera::Error::msg(format!("filter {filter}: {s:?} is not a number"))),
        other => Err(tera::Error::msg(format!(
            "filter {filter}: expected a number, got {other}"
        ))),
    }
}

/// Duration units: name, seconds, decimals.
const DURATION_UNITS: [(&str, f64, usize); 4] = [
    ("s", 1.0, 0),
    ("min", 60.0, 1),
    ("h", 3600.0, 1),
    ("d", 86400.0, 1),
];

/// The unit a duration of `secs` reads best in: seconds below 90 s, minutes below 90 min,
/// hours below 36 h, else days.
fn duration_unit(secs: f64) -> &'static str {
    let a = secs.abs();
    if a < 90.0 {
        "s"
    } else if a < 90.0 * 60.0 {
        "min"
    } else if a < 36.0 * 3600.0 {
        "h"
    } else {
        "d"
    }
}

/// Formats seconds as a short duration in `unit` ("s", "min", "h", "d"; default the one
/// [`duration_unit`] picks): "45 s", "3.5 min", "2.0 h", "1.5 d".
fn format_duration(secs: f64, unit: Option<&str>) -> String {
    let unit = unit.unwrap_or_else(|| duration_unit(secs));
    let (name, per, decimals) = DURATION_UNITS
        .iter()
        .copied()
        .find(|u| u.0 == unit)
        .unwrap_or(DURATION_UNITS[0]);
    format!("{} {name}", charts::format_number(secs / per, decimals))
}

/// A rows argument of the `channel_names` filter: the rows, each an object.
fn rows_arg(v: &Value) -> tera::Result<&Vec<Value>> {
    v.as_array().ok_or_else(|| {
        tera::Error::msg(format!(
            "filter channel_names: expected the rows of a model (an array), got {v}"
        ))
    })
}

fn register_filters(tera: &mut Tera, currency: &str, labels: &LabelsConfig) {
    let l = labels.clone();
    tera.register_filter(
        "channel_name",
        move |v: &Value, _: &HashMap<String, Value>| {
            Ok(match v {
                Value::String(s) => Value::String(l.channel_path(s)),
                other => other.clone(),
            })
        },
    );
    let l = labels.clone();
    tera.register_filter(
        "channel_names",
        move |v: &Value, args: &HashMap<String, Value>| {
            let col = args
                .get("col")
                .and_then(Value::as_str)
                .unwrap_or("channel")
                .to_string();
            let rows = rows_arg(v)?
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    if let Some(Value::String(s)) = r.get_mut(&col) {
                        *s = l.channel_path(s);
                    }
                    r
                })
                .collect();
            Ok(Value::Array(rows))
        },
    );
    tera.register_filter("rank_by", |v: &Value, args: &HashMap<String, Value>| {
        let col = args
            .get("attribute")
            .and_then(Value::as_str)
            .ok_or_else(|| {
                tera::Error::msg("filter rank_by: missing argument `attribute` (a number column)")
            })?;
        let rows = v.as_array().ok_or_else(|| {
            tera::Error::msg(format!(
                "filter rank_by: expected the rows of a model (an array), got {v}"
            ))
        })?;
        let mut keyed = Vec::with_capacity(rows.len());
        for r in rows {
            keyed.push((as_f64(r.get(col).unwrap_or(&Value::Null), "rank_by")?, r));
        }
        // Largest first, NULL last; equal values keep their order.
        keyed.sort_by(|a, b| match (a.0, b.0) {
            (Some(x), Some(y)) => y.total_cmp(&x),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => std::cmp::Ordering::Equal,
        });
        Ok(Value::Array(
            keyed.into_iter().map(|(_, r)| r.clone()).collect(),
        ))
    });
    tera.register_filter("signed_pt", |v: &Value, args: &HashMap<String, Value>| {
        Ok(match as_f64(v, "signed_pt")? {
            Some(x) => {
                let s = charts::format_number(x.abs() * 100.0, num_arg(args, "decimals", 1));
                let zero = s.bytes().all(|b| matches!(b, b'0' | b'.'));
                Value::String(if zero {
                    format!("±{s} pt")
                } else if x > 0.0 {
                    format!("+{s} pt")
                } else {
                    format!("−{s} pt")
                })
            }
            None => Value::String("–".into()),
        })
    });
    tera.register_filter("duration_unit", |v: &Value, _: &HashMap<String, Value>| {
        let items = v.as_array().ok_or_else(|| {
            tera::Error::msg(format!("filter duration_unit: expected an array, got {v}"))
        })?;
        let mut largest: f64 = 0.0;
        for x in items {
            largest = largest.max(as_f64(x, "duration_unit")?.unwrap_or(0.0).abs());
        }
        Ok(Value::String(duration_unit(largest).to_string()))
    });
    tera.register_filter("num", |v: &Value, args: &HashMap<String, Value>| {
        Ok(match as_f64(v, "num")? {
            Some(x) => Value::String(charts::format_number(x, num_arg(args, "decimals", 0))),
            None => Value::String("–".into()),
        })
    });
    let cur = currency.to_string();
    tera.register_filter("money", move |v: &Value, args: &HashMap<String, Value>| {
        Ok(match as_f64(v, "money")? {
            Some(x) => Value::String(format!(
                "{} {}",
                charts::format_number(x, num_arg(args, "decimals", 0)),
                cur
            )),
            None => Value::String("–".into()),
        })
    });
    tera.register_filter("pct", |v: &Value, args: &HashMap<String, Value>| {
        Ok(match as_f64(v, "pct")? {
            Some(x) => Value::String(format!(
                "{}%",
                charts::format_number(x * 100.0, num_arg(args, "decimals", 1))
            )),
            None => Value::String("–".into()),
        })
    });
    tera.register_filter("signed_pct", |v: &Value, args: &HashMap<String, Value>| {
        Ok(match as_f64(v, "signed_pct")? {
            Some(x) => {
                let s = charts::format_number(x.abs() * 100.0, num_arg(args, "decimals", 1));
                Value::String(if x > 0.0 {
                    format!("+{s}%")
                } else if x < 0.0 {
                    format!("−{s}%")
                } else {
                    format!("{s}%")
                })
            }
            None => Value::String("–".into()),
        })
    });
    tera.register_filter("compact", |v: &Value, _: &HashMap<String, Value>| {
        Ok(match as_f64(v, "compact")? {
            Some(x) => Value::String(charts::format_compact(x)),
            None => Value::String("–".into()),
        })
    });
    tera.register_filter("sum", |v: &Value, _: &HashMap<String, Value>| {
        let items = v
            .as_array()
            .ok_or_else(|| tera::Error::msg(format!("filter sum: expected an array, got {v}")))?;
        let mut total = 0.0;
        for x in items {
            total += as_f64(x, "sum")?.unwrap_or(0.0);
        }
        Ok(serde_json::Number::from_f64(total)
            .map(Value::Number)
            .unwrap_or(Value::Null))
    });
    tera.register_filter("duration", |v: &Value, args: &HashMap<String, Value>| {
        let unit = args.get("unit").and_then(Value::as_str);
        if let Some(u) = unit
            && !DURATION_UNITS.iter().any(|d| d.0 == u)
        {
            return Err(tera::Error::msg(format!(
                "filter duration: unit {u:?} is not one of s, min, h, d"
            )));
        }
        Ok(match as_f64(v, "duration")? {
            Some(x) => Value::String(format_duration(x, unit)),
            None => Value::String("–".into()),
        })
    });
}

/// One cell as JSON: numbers stay numbers (non-finite → null), dates `YYYY-MM-DD`, timestamps
/// `YYYY-MM-DD HH:MM:SS`, lists arrays, NULL null.
pub(crate) fn scalar_to_json(v: &ScalarValue) -> Json {
    use ScalarValue as S;
    if v.is_null() {
        return Json::Null;
    }
    match v {
        S::Boolean(Some(b)) => Json::Bool(*b),
        S::Int8(Some(x)) => (*x).into(),
        S::Int16(Some(x)) => (*x).into(),
        S::Int32(Some(x)) => (*x).into(),
        S::Int64(Some(x)) => (*x).into(),
        S::UInt8(Some(x)) => (*x).into(),
        S::UInt16(Some(x)) => (*x).into(),
        S::UInt32(Some(x)) => (*x).into(),
        S::UInt64(Some(x)) => (*x).into(),
        S::Float32(Some(x)) => serde_json::Number::from_f64(*x as f64)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        S::Float64(Some(x)) => serde_json::Number::from_f64(*x)
            .map(Json::Number)
            .unwrap_or(Json::Null),
        S::Decimal128(Some(x), _, s) => {
            serde_json::Number::from_f64(*x as f64 / 10f64.powi(*s as i32))
                .map(Json::Number)
                .unwrap_or(Json::Null)
        }
        S::Date32(Some(d)) => Json::String(
            chrono::DateTime::from_timestamp(*d as i64 * 86_400, 0)
                .map(|t| t.format("%Y-%m-%d").to_string())
                .unwrap_or_default(),
        ),
        S::TimestampNanosecond(Some(ns), _) => Json::String(
            chrono::DateTime::from_timestamp_nanos(*ns)
                .format("%Y-%m-%d %H:%M:%S")
                .to_string(),
        ),
        S::TimestampMicrosecond(Some(us), _) => Json::String(
            chrono::DateTime::from_timestamp_micros(*us)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
        ),
        S::TimestampMillisecond(Some(ms), _) => Json::String(
            chrono::DateTime::from_timestamp_millis(*ms)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
        ),
        S::TimestampSecond(Some(s), _) => Json::String(
            chrono::DateTime::from_timestamp(*s, 0)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
                .unwrap_or_default(),
        ),
        S::List(arr) => {
            let inner = arr.value(0);
            Json::Array(
                (0..inner.len())
                    .map(|i| {
                        ScalarValue::try_from_array(&inner, i)
                            .map(|s| scalar_to_json(&s))
                            .unwrap_or(Json::Null)
                    })
                    .collect(),
            )
        }
        S::Utf8(Some(s)) | S::Utf8View(Some(s)) | S::LargeUtf8(Some(s)) => Json::String(s.clone()),
        other => Json::String(other.to_string()),
    }
}

/// Rows of `batches` as JSON objects (at most `limit`), and whether rows were left out.
/// Each cell is [`scalar_to_json`] of its value.
///
/// Arrow's JSON writer (`datafusion::arrow::json::ArrayWriter` with explicit nulls and
/// `%Y-%m-%d %H:%M:%S` timestamps) was tried here and not taken: its rows hold other numbers.
/// Its text must be read back by serde_json, whose parser (built without the
/// `float_roundtrip` feature) reads a 17-digit float up to one unit in the last place off:
/// `clv_calibration.actual_purchases` 1.2580645161290323 comes back as 1.2580645161290325,
/// `rfm.monetary_value` 112.49000000000001 as 112.49 (326 cells of the bundled project, 2,199
/// of the 1M-event sample). A `Decimal128(20, 0)` (`stg_order_touchpoints.position`) comes
/// back as the integer 1, not the float 1.0 (`{{ position }}` prints "1", not "1.0"); a
/// `Float32` 0.1 as 0.1, not 0.10000000149011612; a timestamp with a time zone in that zone's
/// local time, not UTC. The bundled pages happen not to show these digits, but a project's
/// own templates may. Turning on `float_roundtrip` would fix the floats only, and would
/// rebuild all of Arrow and DataFusion (arrow-schema depends on serde_json).
pub(crate) fn batches_to_rows(batches: &[RecordBatch], limit: usize) -> (Vec<Json>, bool) {
    let mut rows = Vec::new();
    for b in batches {
        let schema = b.schema();
        for i in 0..b.num_rows() {
            if rows.len() >= limit {
                return (rows, true);
            }
            let mut obj = Map::new();
            for (f, c) in schema.fields().iter().zip(b.columns()) {
                let v = ScalarValue::try_from_array(c, i)
                    .map(|s| scalar_to_json(&s))
                    .unwrap_or(Json::Null);
                obj.insert(f.name().clone(), v);
            }
            rows.push(Json::Object(obj));
        }
    }
    (rows, false)
}

/// A list or struct column as text (`[a, b]`), for CSV output: each value's
/// [`scalar_to_json`], a list's items joined with ", " (text unquoted).
pub(crate) fn nested_to_text(col: &ArrayRef) -> ArrayRef {
    let out: StringArray = (0..col.len())
        .map(|i| {
            if col.is_null(i) {
                return None;
            }
            ScalarValue::try_from_array(col, i)
                .ok()
                .map(|s| match scalar_to_json(&s) {
                    Json::Array(items) => format!(
                        "[{}]",
                        items
                            .iter()
                            .map(|v| v
                                .as_str()
                                .map(str::to_string)
                                .unwrap_or_else(|| v.to_string()))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                    other => other
                        .as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| other.to_string()),
                })
        })
        .collect();
    Arc::new(out)
}

/// Renders template `template` with `context` to a string.
///
/// Errors (exit 2): a template error (unknown variable, bad filter argument), naming the
/// template and Tera's message.
pub(crate) fn render(tera: &Tera, template: &str, context: &tera::Context) -> Result<String> {
    tera.render(template, context)
        .map_err(|e| Error::config(format!("templates/{template}: {}", tera_error(&e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `template` rendered with the filters of a project whose `[labels.channels]` names
    /// `email` "Newsletter".
    fn render_one(template: &str) -> String {
        render_with(template, &tera::Context::new())
    }

    fn render_with(template: &str, ctx: &tera::Context) -> String {
        let mut tera = Tera::default();
        let labels = LabelsConfig {
            channels: [("email".to_string(), "Newsletter".to_string())].into(),
        };
        register_filters(&mut tera, "EUR", &labels);
        tera.add_raw_template("t", template).unwrap();
        tera.render("t", ctx).unwrap()
    }

    #[test]
    fn rates_change_in_points() {
        // 2.8% → 3.4%: 0.034 - 0.028 = 0.006, 0.6 points; a fall is written with a minus.
        assert_eq!(render_one("{{ 0.034 - 0.028 | signed_pt }}"), "+0.6 pt");
        assert_eq!(render_one("{{ 0.0742 - 0.0808 | signed_pt }}"), "−0.7 pt");
        assert_eq!(render_one("{{ 0.00001 | signed_pt }}"), "±0.0 pt");
    }

    #[test]
    fn a_duration_column_reads_in_one_unit() {
        // 84 s alone reads in seconds; next to 96 s (past 90 s) the column is in minutes:
        // 84 / 60 = 1.4, 96 / 60 = 1.6.
        assert_eq!(render_one("{{ 84 | duration }}"), "84 s");
        assert_eq!(render_one("{{ [84, 96] | duration_unit }}"), "min");
        assert_eq!(
            render_one(r#"{{ 84 | duration(unit="min") }} {{ 96 | duration(unit="min") }}"#),
            "1.4 min 1.6 min"
        );
        assert_eq!(render_one(r#"{{ 7200 | duration(unit="h") }}"#), "2.0 h");
    }

    #[test]
    fn channels_are_written_by_name() {
        assert_eq!(
            render_one(
                r#"{{ "email" | channel_name }}|{{ "organic_search" | channel_name }}|{{ "(no touchpoint)" | channel_name }}"#
            ),
            "Newsletter|Organic search|(no touchpoint)"
        );
        // a path names each of its channels (autoescape is off for this template name)
        assert_eq!(
            render_one(r#"{{ "social > email" | channel_name }}"#),
            "Social > Newsletter"
        );
        let mut ctx = tera::Context::new();
        ctx.insert("rows", &serde_json::json!([{"seg": "email", "n": 1}]));
        assert_eq!(
            render_with(
                r#"{% set named = rows | channel_names(col="seg") %}{{ named.0.seg }} {{ named.0.n }} {{ rows.0.seg }}"#,
                &ctx
            ),
            "Newsletter 1 email"
        );
    }

    #[test]
    fn rank_by_puts_the_largest_first_and_null_last() {
        let mut ctx = tera::Context::new();
        ctx.insert(
            "rows",
            &serde_json::json!([{"c": "a", "v": 0.1}, {"c": "b", "v": null}, {"c": "c", "v": 0.3}, {"c": "d", "v": 0.1}]),
        );
        assert_eq!(
            render_with(
                r#"{% for r in rows | rank_by(attribute="v") %}{{ r.c }}{% endfor %}"#,
                &ctx
            ),
            "cadb"
        );
    }
}
