//! The arguments of the Tera chart functions: the rows of a SQL model and the named
//! options, checked and turned into a [`ChartSpec`], with error messages that name the
//! function, the argument and the row.

use std::collections::HashMap;

use chrono::{NaiveDate, NaiveDateTime};
use tera::Value;

use crate::bar::{BarChart, Series};
use crate::funnel::FunnelChart;
use crate::heatmap::{DEFAULT_HEATMAP_HEIGHT, HeatmapChart};
use crate::line::{LineChart, LineSeries};
use crate::sankey::{DEFAULT_SANKEY_HEIGHT, SANKEY_OTHER, SankeyChart, SankeyLink};
use crate::spec::{ChartSpec, DEFAULT_HEIGHT, DEFAULT_WIDTH, MAX_SIZE, MIN_SIZE};

impl ChartSpec {
    /// Builds a spec from the arguments of a Tera function call.
    ///
    /// `kind` is `"bar_chart"`, `"line_chart"`, `"funnel_chart"`, `"heatmap_chart"` or
    /// `"sankey_chart"` (the `_chart` suffix is optional). The accepted arguments are those of the Tera functions
    /// documented on [`crate::register`]; an unknown argument is an error, so that a typo does not
    /// silently fall back to a default.
    ///
    /// # Errors
    /// A message that starts with the function name and names the argument (and for data,
    /// the row and column) and what was expected, e.g. ``bar_chart: argument `y`: column
    /// `revenu` is not in the rows; their columns are: channel, revenue``.
    pub fn from_tera_args(kind: &str, args: &HashMap<String, Value>) -> tera::Result<ChartSpec> {
        match kind.trim_end_matches("_chart") {
            "bar" => bar_from_args(&Args::new("bar_chart", args)),
            "line" => line_from_args(&Args::new("line_chart", args)),
            "funnel" => funnel_from_args(&Args::new("funnel_chart", args)),
            "heatmap" => heatmap_from_args(&Args::new("heatmap_chart", args)),
            "sankey" => sankey_from_args(&Args::new("sankey_chart", args)),
            other => Err(tera::Error::msg(format!(
                "unknown chart kind `{other}`; expected bar_chart, line_chart, funnel_chart, \
                 heatmap_chart or sankey_chart"
            ))),
        }
    }
}

pub(crate) struct Args<'a> {
    chart: &'static str,
    map: &'a HashMap<String, Value>,
}

type Row = serde_json::Map<String, Value>;

impl<'a> Args<'a> {
    pub(crate) fn new(chart: &'static str, map: &'a HashMap<String, Value>) -> Self {
        Args { chart, map }
    }

    fn err(&self, msg: impl std::fmt::Display) -> tera::Error {
        tera::Error::msg(format!("{}: {msg}", self.chart))
    }

    fn check_known(&self, known: &[&str]) -> tera::Result<()> {
        let mut unknown: Vec<&str> = self
            .map
            .keys()
            .map(String::as_str)
            .filter(|k| !known.contains(k))
            .collect();
        unknown.sort_unstable();
        match unknown.first() {
            Some(k) => Err(self.err(format!(
                "unknown argument `{k}`; the arguments are: {}",
                known.join(", ")
            ))),
            None => Ok(()),
        }
    }

    fn rows(&self) -> tera::Result<Vec<&'a Row>> {
        match self.map.get("rows") {
            None => Err(self.err(
                "missing argument `rows` (expected the rows of a SQL model: an array of objects)",
            )),
            Some(Value::Array(rows)) => rows
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    r.as_object().ok_or_else(|| {
                        self.err(format!(
                            "argument `rows`: row {} is {}; expected an object of column values",
                            i + 1,
                            describe(r)
                        ))
                    })
                })
                .collect(),
            Some(other) => Err(self.err(format!(
                "argument `rows` must be an array of row objects, got {}",
                describe(other)
            ))),
        }
    }

    fn opt_str(&self, name: &str) -> tera::Result<Option<String>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(self.err(format!(
                "argument `{name}` must be a string, got {}",
                describe(other)
            ))),
        }
    }

    fn column(&self, name: &str, what: &str) -> tera::Result<String> {
        match self.map.get(name) {
            None => Err(self.err(format!("missing argument `{name}` ({what})"))),
            Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
            Some(other) => Err(self.err(format!(
                "argument `{name}` must be a column name ({what}), got {}",
                describe(other)
            ))),
        }
    }

    fn columns(&self, name: &str, what: &str) -> tera::Result<Vec<String>> {
        match self.map.get(name) {
            Some(Value::Array(items)) if !items.is_empty() => items
                .iter()
                .map(|v| match v {
                    Value::String(s) if !s.is_empty() => Ok(s.clone()),
                    other => Err(self.err(format!(
                        "argument `{name}` must be a column name or an array of column names \
                         ({what}), but it holds {}",
                        describe(other)
                    ))),
                })
                .collect(),
            Some(Value::Array(_)) => Err(self.err(format!(
                "argument `{name}` is an empty array; expected at least one column name ({what})"
            ))),
            _ => self.column(name, what).map(|c| vec![c]),
        }
    }

    fn opt_strings(&self, name: &str) -> tera::Result<Option<Vec<String>>> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => items
                .iter()
                .map(|v| match v {
                    Value::String(s) => Ok(s.clone()),
                    Value::Number(n) => Ok(n.to_string()),
                    other => Err(self.err(format!(
                        "argument `{name}` must be an array of strings, but it holds {}",
                        describe(other)
                    ))),
                })
                .collect::<tera::Result<Vec<_>>>()
                .map(Some),
            Some(other) => Err(self.err(format!(
                "argument `{name}` must be an array of strings, got {}",
                describe(other)
            ))),
        }
    }

    fn opt_bool(&self, name: &str, default: bool) -> tera::Result<bool> {
        match self.map.get(name) {
            None | Some(Value::Null) => Ok(default),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(self.err(format!(
                "argument `{name}` must be true or false, got {}",
                describe(other)
            ))),
        }
    }

    fn dim(&self, name: &str, default: u32) -> tera::Result<u32> {
        let v = match self.map.get(name) {
            None | Some(Value::Null) => return Ok(default),
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(other) => {
                return Err(self.err(format!(
                    "argument `{name}` must be a number of pixels, got {}",
                    describe(other)
                )));
            }
        };
        if v.fract() != 0.0 || !(MIN_SIZE as f64..=MAX_SIZE as f64).contains(&v) {
            return Err(self.err(format!(
                "argument `{name}` is {v}; expected a whole number of pixels from {MIN_SIZE} to {MAX_SIZE}"
            )));
        }
        Ok(v as u32)
    }

    /// A whole-number argument from `lo` to `hi`.
    fn count(&self, name: &str, default: usize, lo: usize, hi: usize) -> tera::Result<usize> {
        let v = match self.map.get(name) {
            None | Some(Value::Null) => return Ok(default),
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(other) => {
                return Err(self.err(format!(
                    "argument `{name}` must be a whole number from {lo} to {hi}, got {}",
                    describe(other)
                )));
            }
        };
        if v.fract() != 0.0 || !(lo as f64..=hi as f64).contains(&v) {
            return Err(self.err(format!(
                "argument `{name}` is {v}; expected a whole number from {lo} to {hi}"
            )));
        }
        Ok(v as usize)
    }

    fn check_column(&self, rows: &[&Row], arg: &str, col: &str) -> tera::Result<()> {
        if rows.is_empty() || rows.iter().any(|r| r.contains_key(col)) {
            return Ok(());
        }
        let cols: Vec<&str> = rows[0].keys().map(String::as_str).collect();
        Err(self.err(format!(
            "argument `{arg}`: column `{col}` is not in the rows; their columns are: {}",
            cols.join(", ")
        )))
    }

    /// A numeric cell: `None` for NULL or a missing key.
    fn number(&self, row: usize, col: &str, v: Option<&Value>) -> tera::Result<Option<f64>> {
        let f = match v {
            None | Some(Value::Null) => return Ok(None),
            Some(Value::Number(n)) => n.as_f64().unwrap_or(f64::NAN),
            Some(Value::String(s)) => s.trim().parse::<f64>().map_err(|_| {
                self.err(format!(
                    "row {row}, column `{col}`: expected a number, got \"{}\"",
                    shorten(s, 40)
                ))
            })?,
            Some(other) => {
                return Err(self.err(format!(
                    "row {row}, column `{col}`: expected a number, got {}",
                    describe(other)
                )));
            }
        };
        if !f.is_finite() {
            return Err(self.err(format!(
                "row {row}, column `{col}`: {f} is not a finite number (a division by zero in the SQL model?)"
            )));
        }
        Ok(Some(f))
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => format!("the boolean {b}"),
        Value::Number(n) => format!("the number {n}"),
        Value::String(s) => format!("the string \"{}\"", shorten(s, 40)),
        Value::Array(a) => format!("an array of {} items", a.len()),
        Value::Object(_) => "an object".into(),
    }
}

fn shorten(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// A category cell as text: NULL is `(null)`, integers have no decimals.
fn category_text(v: Option<&Value>) -> String {
    match v {
        None | Some(Value::Null) => "(null)".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        Some(Value::Bool(b)) => b.to_string(),
        Some(other) => other.to_string(),
    }
}

/// "day_of_week" → "Day of week".
fn humanize(col: &str) -> String {
    let s = col.replace('_', " ");
    let mut chars = s.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

pub(crate) fn parse_time(s: &str) -> Option<NaiveDateTime> {
    let s = s.trim();
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0);
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(t);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) {
        return Some(t.naive_local());
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%d %H:%M:%S%.f%z",
        "%Y-%m-%dT%H:%M:%S%.f%z",
    ] {
        if let Ok(t) = chrono::DateTime::parse_from_str(s, fmt) {
            return Some(t.naive_local());
        }
    }
    // "2026-10" (a month bucket)
    if s.len() == 7
        && let Ok(d) = NaiveDate::parse_from_str(&format!("{s}-01"), "%Y-%m-%d")
    {
        return d.and_hms_opt(0, 0, 0);
    }
    None
}

const BAR_ARGS: &[&str] = &[
    "rows",
    "x",
    "y",
    "title",
    "x_label",
    "y_label",
    "unit",
    "series",
    "horizontal",
    "percent",
    "n",
    "width",
    "height",
];
const LINE_ARGS: &[&str] = &[
    "rows",
    "x",
    "y",
    "title",
    "x_label",
    "y_label",
    "unit",
    "series",
    "moving_average",
    "width",
    "height",
];
const FUNNEL_ARGS: &[&str] = &["rows", "stage", "value", "title", "unit", "width", "height"];
const HEATMAP_ARGS: &[&str] = &[
    "rows",
    "x",
    "y",
    "value",
    "title",
    "x_label",
    "y_label",
    "unit",
    "x_labels",
    "y_labels",
    "percent",
    "decimals",
    "suffix",
    "clip_percentile",
    "complete",
    "width",
    "height",
];
const SANKEY_ARGS: &[&str] = &[
    "rows",
    "step",
    "source",
    "target",
    "value",
    "title",
    "unit",
    "max_nodes",
    "step_labels",
    "color_keys",
    "width",
    "height",
];

fn unit_arg(a: &Args) -> tera::Result<Option<String>> {
    Ok(a.opt_str("unit")?.filter(|u| !u.trim().is_empty()))
}

fn series_names(a: &Args, ys: &[String]) -> tera::Result<Vec<String>> {
    match a.opt_strings("series")? {
        None => Ok(ys.iter().map(|y| humanize(y)).collect()),
        Some(names) if names.len() == ys.len() => Ok(names),
        Some(names) => Err(a.err(format!(
            "argument `series` has {} labels but `y` names {} columns; give one label per column",
            names.len(),
            ys.len()
        ))),
    }
}

fn default_title(ys: &[String], x: &str) -> String {
    if ys.len() == 1 {
        format!("{} by {}", humanize(&ys[0]), x.replace('_', " "))
    } else {
        format!(
            "{} by {}",
            humanize(
                &ys.iter()
                    .map(|y| y.replace('_', " "))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            x.replace('_', " ")
        )
    }
}

pub(crate) fn bar_from_args(a: &Args) -> tera::Result<ChartSpec> {
    a.check_known(BAR_ARGS)?;
    let rows = a.rows()?;
    let x = a.column("x", "the category column")?;
    let ys = a.columns("y", "the value column(s)")?;
    a.check_column(&rows, "x", &x)?;
    for y in &ys {
        a.check_column(&rows, "y", y)?;
    }
    let names = series_names(a, &ys)?;
    // n="column": the sample size behind each bar, written after its category.
    let n = a.opt_str("n")?;
    if let Some(col) = &n {
        a.check_column(&rows, "n", col)?;
    }
    let categories = rows
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let name = category_text(r.get(&x));
            Ok(match &n {
                Some(col) => match a.number(i + 1, col, r.get(col))? {
                    Some(k) => format!("{name} (n = {})", crate::format::format_number(k, 0)),
                    None => name,
                },
                None => name,
            })
        })
        .collect::<tera::Result<Vec<String>>>()?;
    // percent=true: the values are fractions (0.12) shown as percentages (12 %).
    let percent = a.opt_bool("percent", false)?;
    let scale = if percent { 100.0 } else { 1.0 };
    let mut series = Vec::with_capacity(ys.len());
    for (y, name) in ys.iter().zip(names) {
        let values = rows
            .iter()
            .enumerate()
            .map(|(i, r)| Ok(a.number(i + 1, y, r.get(y))?.unwrap_or(0.0) * scale))
            .collect::<tera::Result<Vec<f64>>>()?;
        series.push(Series { name, values });
    }
    Ok(ChartSpec::Bar(BarChart {
        title: a
            .opt_str("title")?
            .unwrap_or_else(|| default_title(&ys, &x)),
        x_label: a.opt_str("x_label")?.unwrap_or_else(|| humanize(&x)),
        y_label: a.opt_str("y_label")?.unwrap_or_else(|| {
            if ys.len() == 1 {
                humanize(&ys[0])
            } else {
                String::new()
            }
        }),
        unit: if percent {
            Some("%".to_string())
        } else {
            unit_arg(a)?
        },
        categories,
        series,
        horizontal: a.opt_bool("horizontal", false)?,
        width: a.dim("width", DEFAULT_WIDTH)?,
        height: a.dim("height", DEFAULT_HEIGHT)?,
    }))
}

pub(crate) fn line_from_args(a: &Args) -> tera::Result<ChartSpec> {
    a.check_known(LINE_ARGS)?;
    let rows = a.rows()?;
    let x = a.column("x", "the date column")?;
    let ys = a.columns("y", "the value column(s)")?;
    a.check_column(&rows, "x", &x)?;
    for y in &ys {
        a.check_column(&rows, "y", y)?;
    }
    let names = series_names(a, &ys)?;
    // (time, values per series), NULL times skipped
    let mut points: Vec<(NaiveDateTime, Vec<Option<f64>>)> = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let t = match r.get(&x) {
            None | Some(Value::Null) => continue,
            Some(Value::String(s)) => parse_time(s).ok_or_else(|| {
                a.err(format!(
                    "row {}, column `{x}`: expected a date like \"2026-10-31\" (or a timestamp), got \"{}\"",
                    i + 1,
                    shorten(s, 40)
                ))
            })?,
            Some(other) => {
                return Err(a.err(format!(
                    "row {}, column `{x}`: expected a date string like \"2026-10-31\", got {}",
                    i + 1,
                    describe(other)
                )));
            }
        };
        let vals = ys
            .iter()
            .map(|y| a.number(i + 1, y, r.get(y)))
            .collect::<tera::Result<Vec<_>>>()?;
        points.push((t, vals));
    }
    points.sort_by_key(|p| p.0);
    let mut series: Vec<LineSeries> = names
        .into_iter()
        .enumerate()
        .map(|(j, name)| LineSeries {
            name,
            values: points.iter().map(|p| p.1[j]).collect(),
        })
        .collect();
    let smoothed = a.map.get("moving_average").is_some_and(|v| !v.is_null());
    if smoothed {
        let days = a.count("moving_average", 7, 2, 90)?;
        if series.len() != 1 {
            return Err(a.err(format!(
                "argument `moving_average` needs one `y` column, got {}",
                series.len()
            )));
        }
        let xs: Vec<NaiveDateTime> = points.iter().map(|p| p.0).collect();
        let values = moving_average(&xs, &series[0].values, days);
        series.push(LineSeries {
            name: format!("{days}-day moving average"),
            values,
        });
    }
    Ok(ChartSpec::Line(LineChart {
        title: a
            .opt_str("title")?
            .unwrap_or_else(|| default_title(&ys, &x)),
        x_label: a.opt_str("x_label")?.unwrap_or_else(|| humanize(&x)),
        y_label: a.opt_str("y_label")?.unwrap_or_else(|| {
            if ys.len() == 1 {
                humanize(&ys[0])
            } else {
                String::new()
            }
        }),
        unit: unit_arg(a)?,
        x: points.into_iter().map(|p| p.0).collect(),
        series,
        smoothed,
        width: a.dim("width", DEFAULT_WIDTH)?,
        height: a.dim("height", DEFAULT_HEIGHT)?,
    }))
}

/// The trailing `days`-day moving average of `values` at each time of `xs` (sorted): the
/// mean of the values dated in the `days` days ending on that one's day (a day being the
/// calendar day of the time); `None` before the first full window (the first point's day
/// plus `days - 1`) and where the window holds no value.
pub(crate) fn moving_average(
    xs: &[NaiveDateTime],
    values: &[Option<f64>],
    days: usize,
) -> Vec<Option<f64>> {
    let Some(first) = xs.first().map(|t| t.date()) else {
        return Vec::new();
    };
    let span = chrono::Days::new(days as u64 - 1);
    xs.iter()
        .enumerate()
        .map(|(i, t)| {
            let day = t.date();
            let from = day.checked_sub_days(span)?;
            if from < first {
                return None;
            }
            let window: Vec<f64> = (0..=i)
                .rev()
                .take_while(|&k| xs[k].date() >= from)
                .filter_map(|k| values[k])
                .collect();
            (!window.is_empty()).then(|| window.iter().sum::<f64>() / window.len() as f64)
        })
        .collect()
}

pub(crate) fn funnel_from_args(a: &Args) -> tera::Result<ChartSpec> {
    a.check_known(FUNNEL_ARGS)?;
    let rows = a.rows()?;
    let stage = a.column("stage", "the stage name column")?;
    let value = a.column("value", "the count column")?;
    a.check_column(&rows, "stage", &stage)?;
    a.check_column(&rows, "value", &value)?;
    let mut stages = Vec::with_capacity(rows.len());
    let mut values = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let name = category_text(r.get(&stage));
        let v = a.number(i + 1, &value, r.get(&value))?.unwrap_or(0.0);
        if v < 0.0 {
            return Err(a.err(format!(
                "row {}, column `{value}`: stage \"{}\" has the negative value {v}; expected a count",
                i + 1,
                shorten(&name, 40)
            )));
        }
        stages.push(name);
        values.push(v);
    }
    Ok(ChartSpec::Funnel(FunnelChart {
        title: a
            .opt_str("title")?
            .unwrap_or_else(|| format!("{} by {}", humanize(&value), stage.replace('_', " "))),
        unit: unit_arg(a)?,
        stages,
        values,
        width: a.dim("width", DEFAULT_WIDTH)?,
        height: a.dim("height", DEFAULT_HEIGHT)?,
    }))
}

/// Maps one heatmap axis' cells to grid indices; returns the labels and one index per row
/// (`None` for a NULL cell, whose row is skipped).
fn heat_axis(
    a: &Args,
    arg: &str,
    col: &str,
    cells: &[Option<&Value>],
    labels: Option<Vec<String>>,
) -> tera::Result<(Vec<String>, Vec<Option<usize>>)> {
    let present: Vec<(usize, &Value)> = cells
        .iter()
        .enumerate()
        .filter_map(|(i, v)| v.filter(|v| !v.is_null()).map(|v| (i, v)))
        .collect();
    if present.is_empty() {
        return Ok((Vec::new(), vec![None; cells.len()]));
    }
    let labels_arg = format!("{arg}_labels");
    if present.iter().all(|(_, v)| v.is_number()) {
        let mut ints = Vec::with_capacity(present.len());
        for (i, v) in &present {
            let f = v.as_f64().unwrap_or(f64::NAN);
            if f.fract() != 0.0 || f.abs() > 1e9 {
                return Err(a.err(format!(
                    "row {}, column `{col}` (argument `{arg}`): expected a whole number, got {f}",
                    i + 1
                )));
            }
            ints.push((*i, f as i64));
        }
        let min = ints.iter().map(|p| p.1).min().unwrap_or(0);
        let max = ints.iter().map(|p| p.1).max().unwrap_or(0);
        let mut index = vec![None; cells.len()];
        match labels {
            Some(labels) => {
                let n = labels.len() as i64;
                // 0-based when a 0 occurs (e.g. hour 0-23), else 1-based (day of week 1-7)
                let offset = if min == 0 && max < n {
                    Some(0)
                } else if min >= 1 && max <= n {
                    Some(1)
                } else {
                    None
                };
                match offset {
                    Some(off) => {
                        for (i, v) in ints {
                            index[i] = Some((v - off) as usize);
                        }
                    }
                    None => {
                        // Fall back to sorted distinct values, in order.
                        let mut distinct: Vec<i64> = ints.iter().map(|p| p.1).collect();
                        distinct.sort_unstable();
                        distinct.dedup();
                        if distinct.len() > labels.len() {
                            return Err(a.err(format!(
                                "column `{col}` (argument `{arg}`) has values from {min} to {max} \
                                 ({} distinct) but `{labels_arg}` has {} labels; expected values \
                                 0 to {} or 1 to {}",
                                distinct.len(),
                                labels.len(),
                                n - 1,
                                n
                            )));
                        }
                        for (i, v) in ints {
                            index[i] = distinct.binary_search(&v).ok();
                        }
                    }
                }
                Ok((labels, index))
            }
            None => {
                if max - min >= 1000 {
                    return Err(a.err(format!(
                        "column `{col}` (argument `{arg}`) spans {min} to {max}: too many cells for a heatmap"
                    )));
                }
                for (i, v) in ints {
                    index[i] = Some((v - min) as usize);
                }
                Ok(((min..=max).map(|v| v.to_string()).collect(), index))
            }
        }
    } else {
        let mut index = vec![None; cells.len()];
        let mut order: Vec<String> = labels.clone().unwrap_or_default();
        for (i, v) in &present {
            let text = category_text(Some(v));
            match order.iter().position(|l| *l == text) {
                Some(p) => index[*i] = Some(p),
                None if labels.is_some() => {
                    return Err(a.err(format!(
                        "row {}, column `{col}` (argument `{arg}`): \"{}\" is not one of `{labels_arg}`",
                        i + 1,
                        shorten(&text, 40)
                    )));
                }
                None => {
                    order.push(text);
                    index[*i] = Some(order.len() - 1);
                }
            }
        }
        if order.len() > 1000 {
            return Err(a.err(format!(
                "column `{col}` (argument `{arg}`) has {} distinct values: too many cells for a heatmap",
                order.len()
            )));
        }
        Ok((order, index))
    }
}

pub(crate) fn heatmap_from_args(a: &Args) -> tera::Result<ChartSpec> {
    a.check_known(HEATMAP_ARGS)?;
    let rows = a.rows()?;
    let x = a.column("x", "the column of the grid's columns, e.g. hour")?;
    let y = a.column("y", "the column of the grid's rows, e.g. day_of_week")?;
    let value = a.column("value", "the cell value column")?;
    for (arg, col) in [("x", &x), ("y", &y), ("value", &value)] {
        a.check_column(&rows, arg, col)?;
    }
    let xs: Vec<Option<&Value>> = rows.iter().map(|r| r.get(&x)).collect();
    let ys: Vec<Option<&Value>> = rows.iter().map(|r| r.get(&y)).collect();
    let (x_labels, xi) = heat_axis(a, "x", &x, &xs, a.opt_strings("x_labels")?)?;
    let (y_labels, yi) = heat_axis(a, "y", &y, &ys, a.opt_strings("y_labels")?)?;
    // percent=true: the values are fractions (0.58) shown as percentages (58%).
    let percent = a.opt_bool("percent", false)?;
    let scale = if percent { 100.0 } else { 1.0 };
    // complete="column": a cell whose column value is false is marked with a `*`.
    let complete = a.opt_str("complete")?;
    if let Some(col) = &complete {
        a.check_column(&rows, "complete", col)?;
    }
    // NaN: no data in the cell (no row, or only NULL values); drawn blank.
    let mut values = vec![vec![f64::NAN; x_labels.len()]; y_labels.len()];
    let mut marked = vec![vec![false; x_labels.len()]; y_labels.len()];
    let mut any = false;
    for (i, r) in rows.iter().enumerate() {
        let v = a.number(i + 1, &value, r.get(&value))?;
        if let (Some(cx), Some(cy)) = (xi[i], yi[i]) {
            any = true;
            if let Some(v) = v {
                let cell = &mut values[cy][cx];
                *cell = if cell.is_nan() {
                    v * scale
                } else {
                    *cell + v * scale
                };
            }
            if let Some(col) = &complete {
                marked[cy][cx] |= r.get(col) == Some(&Value::Bool(false));
            }
        }
    }
    let (x_labels, y_labels, values) = if any {
        (x_labels, y_labels, values)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    if complete.is_none() || !any {
        marked = Vec::new();
    }
    let clip_percentile = match a.map.get("clip_percentile") {
        None | Some(Value::Null) => None,
        Some(Value::Number(n)) if n.as_f64().is_some_and(|p| (50.0..=100.0).contains(&p)) => {
            n.as_f64()
        }
        Some(other) => {
            return Err(a.err(format!(
                "argument `clip_percentile` must be a number from 50 to 100, got {}",
                describe(other)
            )));
        }
    };
    let decimals = match a.map.get("decimals") {
        None | Some(Value::Null) => None,
        Some(_) => Some(a.count("decimals", 0, 0, 6)?),
    };
    let suffix = if percent {
        "%".to_string()
    } else {
        a.opt_str("suffix")?.unwrap_or_default()
    };
    Ok(ChartSpec::Heatmap(HeatmapChart {
        title: a.opt_str("title")?.unwrap_or_else(|| {
            format!(
                "{} by {} and {}",
                humanize(&value),
                x.replace('_', " "),
                y.replace('_', " ")
            )
        }),
        x_label: a.opt_str("x_label")?.unwrap_or_else(|| humanize(&x)),
        y_label: a.opt_str("y_label")?.unwrap_or_else(|| humanize(&y)),
        unit: unit_arg(a)?,
        x_labels,
        y_labels,
        values,
        marked,
        decimals,
        suffix,
        clip_percentile,
        width: a.dim("width", DEFAULT_WIDTH)?,
        height: a.dim("height", DEFAULT_HEATMAP_HEIGHT)?,
    }))
}

const SANKEY_MAX_NODES: usize = 6;
/// Most steps (columns minus one) of a Sankey diagram.
const SANKEY_MAX_STEPS: i64 = 20;

pub(crate) fn sankey_from_args(a: &Args) -> tera::Result<ChartSpec> {
    a.check_known(SANKEY_ARGS)?;
    let rows = a.rows()?;
    let step = a.column(
        "step",
        "the step column: 0 for the first step of the paths, 1, 2…",
    )?;
    let source = a.column(
        "source",
        "the column of the node a flow leaves, e.g. an event",
    )?;
    let target = a.column(
        "target",
        "the column of the node a flow reaches, e.g. the next event",
    )?;
    let value = a.column("value", "the flow column, e.g. sessions")?;
    for (arg, col) in [
        ("step", &step),
        ("source", &source),
        ("target", &target),
        ("value", &value),
    ] {
        a.check_column(&rows, arg, col)?;
    }
    let max_nodes = a.count("max_nodes", SANKEY_MAX_NODES, 2, 50)?;
    // (step, source, target, value) of every row with a step and a flow
    let mut raw: Vec<(i64, String, String, f64)> = Vec::with_capacity(rows.len());
    for (i, r) in rows.iter().enumerate() {
        let Some(s) = a.number(i + 1, &step, r.get(&step))? else {
            continue;
        };
        if s.fract() != 0.0 || !(0.0..=1e9).contains(&s) {
            return Err(a.err(format!(
                "row {}, column `{step}`: expected a step number (0 for the first step, 1, 2…), got {s}",
                i + 1
            )));
        }
        let (from, to) = (category_text(r.get(&source)), category_text(r.get(&target)));
        let v = a.number(i + 1, &value, r.get(&value))?.unwrap_or(0.0);
        if v < 0.0 {
            return Err(a.err(format!(
                "row {}, column `{value}`: the flow \"{}\" → \"{}\" has the negative value {v}; \
                 expected a count such as sessions",
                i + 1,
                shorten(&from, 40),
                shorten(&to, 40)
            )));
        }
        if v > 0.0 {
            raw.push((s as i64, from, to, v));
        }
    }
    let first = raw.iter().map(|l| l.0).min().unwrap_or(0);
    let last = raw.iter().map(|l| l.0).max().unwrap_or(0);
    if last - first >= SANKEY_MAX_STEPS {
        return Err(a.err(format!(
            "column `{step}` spans steps {first} to {last}: too many for a Sankey diagram \
             (at most {SANKEY_MAX_STEPS})"
        )));
    }
    let ncols = if raw.is_empty() {
        0
    } else {
        (last - first + 2) as usize
    };
    // Per column, the raw nodes in order of first appearance with their incoming and
    // outgoing flow.
    let mut cols: Vec<Vec<(String, f64, f64)>> = vec![Vec::new(); ncols];
    let mut seen: Vec<HashMap<String, usize>> = vec![HashMap::new(); ncols];
    let mut add = |col: usize, name: &str, inc: f64, out: f64| match seen[col].get(name) {
        Some(&k) => {
            cols[col][k].1 += inc;
            cols[col][k].2 += out;
        }
        None => {
            seen[col].insert(name.to_string(), cols[col].len());
            cols[col].push((name.to_string(), inc, out));
        }
    };
    for (s, from, to, v) in &raw {
        let c = (s - first) as usize;
        add(c, from, 0.0, *v);
        add(c + 1, to, *v, 0.0);
    }
    // Per column, the name each raw node is drawn under: the largest max_nodes - 1 keep
    // theirs, the rest become "other" (when there are more than max_nodes).
    let rename: Vec<HashMap<&str, &str>> = cols
        .iter()
        .map(|col| {
            let mut order: Vec<&(String, f64, f64)> = col.iter().collect();
            order.sort_by(|x, y| x.1.max(x.2).total_cmp(&y.1.max(y.2)).reverse());
            let keep = if order.len() > max_nodes {
                max_nodes - 1
            } else {
                order.len()
            };
            order
                .iter()
                .enumerate()
                .map(|(i, n)| {
                    (
                        n.0.as_str(),
                        if i < keep { n.0.as_str() } else { SANKEY_OTHER },
                    )
                })
                .collect()
        })
        .collect();
    // Links between the drawn nodes, summed.
    let mut links: Vec<SankeyLink> = Vec::new();
    let mut link_at: HashMap<(usize, &str, &str), usize> = HashMap::new();
    for (s, from, to, v) in &raw {
        let c = (s - first) as usize;
        let (from, to) = (rename[c][from.as_str()], rename[c + 1][to.as_str()]);
        match link_at.get(&(c, from, to)) {
            Some(&k) => links[k].value += v,
            None => {
                link_at.insert((c, from, to), links.len());
                links.push(SankeyLink {
                    step: c,
                    source: from.to_string(),
                    target: to.to_string(),
                    value: *v,
                });
            }
        }
    }
    // Node totals: incoming flow (outgoing in the first column; the larger of the two
    // should the rows have more flow out of a node than into it), largest first, "other"
    // last.
    let mut flows: Vec<Vec<(String, (f64, f64))>> = vec![Vec::new(); ncols];
    for l in &links {
        for (c, name, inc, out) in [
            (l.step, &l.source, 0.0, l.value),
            (l.step + 1, &l.target, l.value, 0.0),
        ] {
            match flows[c].iter_mut().find(|n| n.0 == *name) {
                Some(n) => {
                    n.1.0 += inc;
                    n.1.1 += out;
                }
                None => flows[c].push((name.clone(), (inc, out))),
            }
        }
    }
    let nodes: Vec<Vec<(String, f64)>> = flows
        .into_iter()
        .map(|col| {
            let mut col: Vec<(String, f64)> = col
                .into_iter()
                .map(|(n, (inc, out))| (n, inc.max(out)))
                .collect();
            col.sort_by(|x, y| {
                (x.0 == SANKEY_OTHER)
                    .cmp(&(y.0 == SANKEY_OTHER))
                    .then(x.1.total_cmp(&y.1).reverse())
            });
            col
        })
        .collect();
    let pos = |c: usize, name: &str| nodes[c].iter().position(|n| n.0 == name);
    links.sort_by_key(|l| (l.step, pos(l.step, &l.source), pos(l.step + 1, &l.target)));
    // step_labels[n] names the column of step n (0-based, as the `step` values); missing
    // ones get the default heading.
    let labels = a.opt_strings("step_labels")?.unwrap_or_default();
    let steps = (0..ncols as i64)
        .map(|c| {
            match (
                first + c,
                usize::try_from(first + c).ok().and_then(|n| labels.get(n)),
            ) {
                (_, Some(l)) => l.clone(),
                (0, None) => "Start".to_string(),
                (n, None) => format!("Step {n}"),
            }
        })
        .collect();
    Ok(ChartSpec::Sankey(SankeyChart {
        title: a
            .opt_str("title")?
            .unwrap_or_else(|| format!("{} by {}", humanize(&value), step.replace('_', " "))),
        unit: unit_arg(a)?,
        steps,
        nodes,
        links,
        color_keys: a.opt_strings("color_keys")?.unwrap_or_default(),
        width: a.dim("width", DEFAULT_WIDTH)?,
        height: a.dim("height", DEFAULT_SANKEY_HEIGHT)?,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{args, channel_rows, sankey_args};
    use serde_json::json;

    #[test]
    fn bad_arguments_are_explained() {
        let err = |kind: &str, v: Value| {
            ChartSpec::from_tera_args(kind, &args(v))
                .unwrap_err()
                .to_string()
        };
        let e = err(
            "bar_chart",
            json!({"rows": channel_rows(), "x": "channel", "y": "revenu"}),
        );
        assert!(
            e.contains("bar_chart")
                && e.contains("`y`")
                && e.contains("revenu")
                && e.contains("channel, "),
            "{e}"
        );
        let e = err("bar_chart", json!({"rows": channel_rows(), "x": "channel"}));
        assert!(e.contains("missing argument `y`"), "{e}");
        let e = err(
            "bar_chart",
            json!({"rows": channel_rows(), "x": "channel", "y": "revenue", "ylabel": "R"}),
        );
        assert!(e.contains("unknown argument `ylabel`"), "{e}");
        let e = err(
            "bar_chart",
            json!({"rows": "nope", "x": "channel", "y": "revenue"}),
        );
        assert!(e.contains("`rows` must be an array"), "{e}");
        let e = err(
            "bar_chart",
            json!({"rows": [{"c": "a", "v": "abc"}], "x": "c", "y": "v"}),
        );
        assert!(
            e.contains("row 1, column `v`: expected a number, got \"abc\""),
            "{e}"
        );
        let e = err(
            "bar_chart",
            json!({"rows": [{"c": "a", "v": "NaN"}], "x": "c", "y": "v"}),
        );
        assert!(e.contains("not a finite number"), "{e}");
        let e = err(
            "line_chart",
            json!({"rows": [{"d": "31/10/2026", "v": 1}], "x": "d", "y": "v"}),
        );
        assert!(
            e.contains("line_chart") && e.contains("expected a date like \"2026-10-31\""),
            "{e}"
        );
        let e = err(
            "bar_chart",
            json!({"rows": [], "x": "c", "y": ["a", "b"], "series": ["A"]}),
        );
        assert!(e.contains("`series` has 1 labels"), "{e}");
        let e = err(
            "funnel_chart",
            json!({"rows": [{"s": "a", "v": -1}], "stage": "s", "value": "v"}),
        );
        assert!(e.contains("negative"), "{e}");
        let e = err(
            "heatmap_chart",
            json!({"rows": [{"h": 0, "d": 9, "v": 1}, {"h": 0, "d": 1, "v": 1}, {"h": 0, "d": 2, "v": 1}], "x": "h", "y": "d", "value": "v", "y_labels": ["a", "b"]}),
        );
        assert!(e.contains("`y_labels` has 2 labels"), "{e}");
        let e = err(
            "bar_chart",
            json!({"rows": [], "x": "c", "y": "v", "width": 20}),
        );
        assert!(e.contains("`width`"), "{e}");
        // a non-finite value in a hand-built spec is a model error
        let spec = ChartSpec::Funnel(FunnelChart {
            title: "F".into(),
            unit: None,
            stages: vec!["a".into()],
            values: vec![f64::NAN],
            width: 720,
            height: 360,
        });
        let e = spec.render_svg().unwrap_err();
        assert_eq!(e.kind, crate::ChartErrorKind::Value);
    }

    #[test]
    fn sankey_merges_small_nodes_into_other() {
        let spec = ChartSpec::from_tera_args(
            "sankey_chart",
            &sankey_args("landing", json!({"max_nodes": 2})),
        )
        .unwrap();
        let ChartSpec::Sankey(c) = &spec else {
            panic!()
        };
        // Start: home sends 50 + 30 + 20 = 100, landing 4 + 6 = 10 (two nodes: both kept).
        // Step 1 (incoming): product 50 + 4 + 6 = 60, search 30, cart 20: three nodes for
        //   max_nodes = 2, so product is kept and search + cart = 50 become "other".
        // Step 2 (incoming): cart 25 + 6 = 31, checkout 15, product 12: cart is kept,
        //   checkout + product = 27 become "other".
        // The NULL-step row is skipped, the NULL value counts 0 (no link).
        assert_eq!(c.steps, ["Start", "Step 1", "Step 2"]);
        let nodes = |col: usize| -> Vec<(&str, f64)> {
            c.nodes[col].iter().map(|n| (n.0.as_str(), n.1)).collect()
        };
        assert_eq!(nodes(0), [("home", 100.0), ("landing", 10.0)]);
        // product: 60 in, 25 out (35 sessions ended there); other: 50 in, 6 + 27 = 33 out
        assert_eq!(nodes(1), [("product", 60.0), ("other", 50.0)]);
        assert_eq!(nodes(2), [("cart", 31.0), ("other", 27.0)]);
        let links: Vec<(usize, &str, &str, f64)> = c
            .links
            .iter()
            .map(|l| (l.step, l.source.as_str(), l.target.as_str(), l.value))
            .collect();
        assert_eq!(
            links,
            [
                (0, "home", "product", 50.0),
                // home → search 30 + home → cart 20
                (0, "home", "other", 50.0),
                // two rows, 4 + "6"
                (0, "landing", "product", 10.0),
                (1, "product", "cart", 25.0),
                // search → cart
                (1, "other", "cart", 6.0),
                // search → product 12 + cart → checkout 15, both ends merged
                (1, "other", "other", 27.0),
            ]
        );
        assert_eq!(spec.size(), (1000, 420));
        assert_eq!(c.unit.as_deref(), Some("sessions"));
        // without max_nodes (6) nothing is merged; steps starting at 1 start at "Step 1"
        let spec =
            ChartSpec::from_tera_args("sankey_chart", &sankey_args("landing", json!({}))).unwrap();
        let ChartSpec::Sankey(c) = &spec else {
            panic!()
        };
        assert_eq!(c.nodes.iter().map(Vec::len).collect::<Vec<_>>(), [2, 3, 3]);
        assert_eq!(c.nodes[2][0], ("cart".to_string(), 31.0));
        assert_eq!(c.links.len(), 8);
        let rows =
            json!([{"s": 1, "a": "x", "b": "y", "v": 3}, {"s": 2, "a": "y", "b": "z", "v": 1}]);
        let spec = ChartSpec::from_tera_args(
            "sankey",
            &args(json!({"rows": rows, "step": "s", "source": "a", "target": "b", "value": "v"})),
        )
        .unwrap();
        let ChartSpec::Sankey(c) = &spec else {
            panic!()
        };
        assert_eq!(c.steps, ["Step 1", "Step 2", "Step 3"]);
        assert_eq!(c.title, "V by s");
        assert_eq!(spec.size(), (720, 420));
    }

    #[test]
    fn sankey_bad_arguments() {
        let err = |extra: Value| {
            ChartSpec::from_tera_args("sankey_chart", &sankey_args("landing", extra))
                .unwrap_err()
                .to_string()
        };
        let e = err(json!({"max_node": 3}));
        assert!(
            e.contains("sankey_chart") && e.contains("unknown argument `max_node`"),
            "{e}"
        );
        let e = err(json!({"source": "from"}));
        assert!(
            e.contains("argument `source`: column `from` is not in the rows")
                && e.contains("event"),
            "{e}"
        );
        let e = err(json!({"max_nodes": 1}));
        assert!(e.contains("`max_nodes` is 1"), "{e}");
        let mut a = sankey_args("landing", json!({}));
        a.remove("value");
        let e = ChartSpec::from_tera_args("sankey_chart", &a)
            .unwrap_err()
            .to_string();
        assert!(e.contains("missing argument `value`"), "{e}");
        let bad = |row: Value| {
            let a = args(
                json!({"rows": [{"step": 0, "event": "a", "next": "b", "sessions": 1}, row],
                                "step": "step", "source": "event", "target": "next", "value": "sessions"}),
            );
            ChartSpec::from_tera_args("sankey_chart", &a)
                .unwrap_err()
                .to_string()
        };
        let e = bad(json!({"step": 0, "event": "a", "next": "c", "sessions": -3}));
        assert!(
            e.contains("row 2, column `sessions`") && e.contains("negative value -3"),
            "{e}"
        );
        let e = bad(json!({"step": 1.5, "event": "a", "next": "c", "sessions": 3}));
        assert!(
            e.contains("row 2, column `step`: expected a step number"),
            "{e}"
        );
        let e = bad(json!({"step": 0, "event": "a", "next": "c", "sessions": "NaN"}));
        assert!(e.contains("not a finite number"), "{e}");
        let e = bad(json!({"step": 40, "event": "a", "next": "c", "sessions": 1}));
        assert!(e.contains("too many"), "{e}");
        // hand-built specs: a negative link is a model error, links beyond a node's total
        // an internal one
        let spec = |value: f64, total: f64| {
            ChartSpec::Sankey(SankeyChart {
                title: "S".into(),
                unit: None,
                steps: vec!["Start".into(), "Step 1".into()],
                nodes: vec![vec![("a".into(), total)], vec![("b".into(), total)]],
                links: vec![SankeyLink {
                    step: 0,
                    source: "a".into(),
                    target: "b".into(),
                    value,
                }],
                color_keys: Vec::new(),
                width: 720,
                height: 420,
            })
        };
        assert!(spec(2.0, 2.0).render_svg().is_ok());
        assert_eq!(
            spec(-2.0, 2.0).render_svg().unwrap_err().kind,
            crate::ChartErrorKind::Value
        );
        assert_eq!(
            spec(f64::NAN, 2.0).render_svg().unwrap_err().kind,
            crate::ChartErrorKind::Value
        );
        assert_eq!(
            spec(3.0, 2.0).render_svg().unwrap_err().kind,
            crate::ChartErrorKind::Internal
        );
    }

    #[test]
    fn sankey_step_labels_name_columns_by_step() {
        // Steps 0 and 1 → three columns (0, 1, 2); labels for steps 0 and 1 only: the third
        // column keeps its default heading.
        let rows = json!([
            {"s": 0, "a": "cart", "b": "checkout", "n": 3},
            {"s": 1, "a": "checkout", "b": "purchase", "n": 2}
        ]);
        let spec = ChartSpec::from_tera_args(
            "sankey_chart",
            &args(
                json!({"rows": rows, "step": "s", "source": "a", "target": "b", "value": "n",
                         "step_labels": ["2 steps before", "1 step before"]}),
            ),
        )
        .unwrap();
        let ChartSpec::Sankey(c) = &spec else {
            panic!()
        };
        assert_eq!(c.steps, ["2 steps before", "1 step before", "Step 2"]);
    }

    #[test]
    fn moving_average_of_the_last_seven_days() {
        // Ten days valued 1..=10, with no row for day 9 (2026-10-09): the average starts on
        // day 7, (1+…+7)/7 = 4; day 8: (2+…+8)/7 = 5; day 10: days 4-10 without 9,
        // (4+5+6+7+8+10)/6 = 40/6.
        let rows: Vec<Value> = (1..=10)
            .filter(|d| *d != 9)
            .map(|d| json!({"day": format!("2026-10-{d:02}"), "revenue": d}))
            .collect();
        let spec = ChartSpec::from_tera_args(
            "line_chart",
            &args(json!({"rows": rows, "x": "day", "y": "revenue", "moving_average": 7})),
        )
        .unwrap();
        let ChartSpec::Line(l) = &spec else { panic!() };
        assert_eq!(l.series.len(), 2);
        assert_eq!(l.series[1].name, "7-day moving average");
        let ma = &l.series[1].values;
        assert_eq!(ma[..6], [None; 6]);
        assert_eq!(ma[6], Some(4.0));
        assert_eq!(ma[7], Some(5.0));
        assert_eq!(ma[8], Some(40.0 / 6.0));
        assert!(spec.render_svg().unwrap().contains("7-day moving average"));
    }

    #[test]
    fn bar_categories_carry_their_sample_size() {
        let rows =
            json!([{"c": "mobile", "v": 0.1, "n": 1234}, {"c": "tablet", "v": 0.2, "n": null}]);
        let spec = ChartSpec::from_tera_args(
            "bar_chart",
            &args(json!({"rows": rows, "x": "c", "y": "v", "n": "n", "percent": true})),
        )
        .unwrap();
        let ChartSpec::Bar(b) = &spec else { panic!() };
        assert_eq!(b.categories, ["mobile (n = 1,234)", "tablet"]);
    }

    #[test]
    fn sankey_color_keys_colour_an_event_alike_in_two_diagrams() {
        // Two diagrams whose first nodes differ: without keys "purchase" takes the first
        // free colour of each, with the same keys the same colour in both.
        let one = json!([{"s": 0, "a": "cart", "b": "purchase", "n": 3}]);
        let two = json!([{"s": 0, "a": "purchase", "b": "(exit)", "n": 3}]);
        let colour = |rows: &Value, keys: Value| {
            let spec = ChartSpec::from_tera_args(
                "sankey_chart",
                &args(json!({"rows": rows, "step": "s", "source": "a", "target": "b", "value": "n", "color_keys": keys})),
            )
            .unwrap();
            let ChartSpec::Sankey(c) = &spec else {
                panic!()
            };
            let colors = crate::sankey::sankey_colors(c);
            let (col, row) = c
                .nodes
                .iter()
                .enumerate()
                .find_map(|(i, col)| col.iter().position(|n| n.0 == "purchase").map(|k| (i, k)))
                .unwrap();
            colors[col][row]
        };
        assert_ne!(colour(&one, Value::Null), colour(&two, Value::Null));
        let keys = json!(["cart", "purchase", "(exit)"]);
        assert_eq!(colour(&one, keys.clone()), colour(&two, keys));
    }
}
