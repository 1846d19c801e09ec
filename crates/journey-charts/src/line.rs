//! Line charts over a time axis, with readable time ticks (days, weeks, months, years,
//! hours).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveDateTime, Timelike};
use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::draw::{
    AXIS_LINE, AXIS_PX, DrawResult, GRID, INK_2, MUTED, Mark, PAD, Painter, TICK_PX, Txt,
    axis_title, fit_text, header_layout, max_text_w, series_color, text_w, value_range,
};
use crate::format::{nice_ticks, tick_labels, tick_target};

/// One named series of a line chart; `None` is a missing value (the line breaks there).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineSeries {
    /// Legend label.
    pub name: String,
    /// One value per point of [`LineChart::x`]. Must be finite.
    pub values: Vec<Option<f64>>,
}

/// A line chart over a time axis.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LineChart {
    /// Title drawn at the top left.
    pub title: String,
    /// Title of the time axis.
    pub x_label: String,
    /// Title of the value axis, without the unit.
    pub y_label: String,
    /// Unit of the values, appended to the value axis title.
    pub unit: Option<String>,
    /// The time of each point (dates are midnight), ascending.
    pub x: Vec<NaiveDateTime>,
    /// One or more series, each with one value per point. More than one gets a legend.
    pub series: Vec<LineSeries>,
    /// The last series is a moving average of the first: the first is drawn pale and thin
    /// behind it, the average in the accent colour.
    pub smoothed: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// The daily values behind a moving average: a pale blue.
const SMOOTHED_RAW: RGBColor = RGBColor(147, 180, 240);

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

#[derive(Clone, Copy)]
enum TimeStep {
    Hours(u32),
    Days(u32),
    Weeks(u32),
    Months(u32),
    Years(i32),
}

impl TimeStep {
    fn approx_days(self) -> f64 {
        match self {
            TimeStep::Hours(n) => n as f64 / 24.0,
            TimeStep::Days(n) => n as f64,
            TimeStep::Weeks(n) => 7.0 * n as f64,
            TimeStep::Months(n) => 30.44 * n as f64,
            TimeStep::Years(n) => 365.25 * n as f64,
        }
    }
}

fn seconds(t: NaiveDateTime) -> f64 {
    t.and_utc().timestamp() as f64
}

/// Ticks of one step kind within `t0..=t1`, with labels (the year or date shown on the
/// first tick and where it changes).
fn time_ticks_for(
    step: TimeStep,
    t0: NaiveDateTime,
    t1: NaiveDateTime,
) -> Vec<(NaiveDateTime, String)> {
    let mut out: Vec<(NaiveDateTime, String)> = Vec::new();
    let mut last_year = None;
    let mut last_day = None;
    let d0 = t0.date();
    let d1 = t1.date();
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 5).unwrap_or_default(); // a Monday
    let midnight = |d: NaiveDate| d.and_hms_opt(0, 0, 0).unwrap_or_default();
    match step {
        TimeStep::Hours(n) => {
            let mut t = t0.date().and_hms_opt(t0.hour(), 0, 0).unwrap_or(t0);
            if t < t0 {
                t += chrono::Duration::hours(1);
            }
            while t <= t1 {
                if t.hour().is_multiple_of(n) {
                    let day = t.date();
                    let label = if last_day != Some(day) {
                        format!(
                            "{} {} {:02}:00",
                            MONTHS[day.month0() as usize],
                            day.day(),
                            t.hour()
                        )
                    } else {
                        format!("{:02}:00", t.hour())
                    };
                    last_day = Some(day);
                    out.push((t, label));
                }
                t += chrono::Duration::hours(1);
            }
        }
        TimeStep::Days(_) | TimeStep::Weeks(_) => {
            let mut d = if midnight(d0) < t0 {
                d0 + Days::new(1)
            } else {
                d0
            };
            while d <= d1 {
                let since = (d - epoch).num_days();
                let keep = match step {
                    TimeStep::Days(n) => since.rem_euclid(n as i64) == 0,
                    TimeStep::Weeks(n) => since.rem_euclid(7 * n as i64) == 0,
                    _ => false,
                };
                if keep {
                    let mut label = format!("{} {}", MONTHS[d.month0() as usize], d.day());
                    if last_year != Some(d.year()) {
                        label.push_str(&format!(", {}", d.year()));
                    }
                    last_year = Some(d.year());
                    out.push((midnight(d), label));
                }
                d = d + Days::new(1);
            }
        }
        TimeStep::Months(n) => {
            let mut d = NaiveDate::from_ymd_opt(d0.year(), d0.month(), 1).unwrap_or(d0);
            if midnight(d) < t0 {
                d = d + Months::new(1);
            }
            while midnight(d) <= t1 {
                if d.month0().is_multiple_of(n) {
                    let label = if last_year != Some(d.year()) {
                        format!("{} {}", MONTHS[d.month0() as usize], d.year())
                    } else {
                        MONTHS[d.month0() as usize].to_string()
                    };
                    last_year = Some(d.year());
                    out.push((midnight(d), label));
                }
                d = d + Months::new(1);
            }
        }
        TimeStep::Years(n) => {
            let mut y = d0.year();
            if NaiveDate::from_ymd_opt(y, 1, 1)
                .map(midnight)
                .is_some_and(|t| t < t0)
            {
                y += 1;
            }
            while let Some(d) = NaiveDate::from_ymd_opt(y, 1, 1) {
                if midnight(d) > t1 {
                    break;
                }
                if y.rem_euclid(n) == 0 {
                    out.push((midnight(d), y.to_string()));
                }
                y += 1;
            }
        }
    }
    out
}

/// The finest tick step whose labels fit side by side in `width` pixels.
fn time_ticks(t0: NaiveDateTime, t1: NaiveDateTime, width: f64) -> Vec<(NaiveDateTime, String)> {
    let span_days = (seconds(t1) - seconds(t0)) / 86_400.0;
    let steps = [
        TimeStep::Hours(1),
        TimeStep::Hours(2),
        TimeStep::Hours(3),
        TimeStep::Hours(6),
        TimeStep::Hours(12),
        TimeStep::Days(1),
        TimeStep::Days(2),
        TimeStep::Weeks(1),
        TimeStep::Weeks(2),
        TimeStep::Months(1),
        TimeStep::Months(2),
        TimeStep::Months(3),
        TimeStep::Months(6),
        TimeStep::Years(1),
        TimeStep::Years(2),
        TimeStep::Years(5),
        TimeStep::Years(10),
        TimeStep::Years(25),
        TimeStep::Years(50),
        TimeStep::Years(100),
    ];
    let mut fallback = Vec::new();
    for step in steps {
        let expected = span_days / step.approx_days();
        if expected * 28.0 > width {
            continue; // far too many ticks; do not even generate them
        }
        if matches!(step, TimeStep::Hours(_)) && span_days > 3.0 {
            continue;
        }
        let ticks = time_ticks_for(step, t0, t1);
        if ticks.is_empty() {
            continue;
        }
        // Labels are centred on their ticks: room for the sum of their widths, plus gaps.
        let total: f64 = ticks
            .iter()
            .map(|t| text_w(&t.1, TICK_PX, false) + 16.0)
            .sum();
        let spacing = width / (span_days / step.approx_days()).max(1.0);
        let widest = ticks
            .iter()
            .map(|t| text_w(&t.1, TICK_PX, false))
            .fold(0.0, f64::max);
        if total <= width && spacing >= widest.min(90.0) + 8.0 {
            return ticks;
        }
        fallback = ticks;
    }
    if fallback.is_empty() {
        let fmt =
            |t: NaiveDateTime| format!("{} {}, {}", MONTHS[t.month0() as usize], t.day(), t.year());
        fallback = vec![(t0, fmt(t0))];
    }
    fallback
}

pub(crate) fn draw_line<DB: DrawingBackend>(
    c: &LineChart,
    p: &Painter<DB>,
    w: f64,
    h: f64,
) -> DrawResult {
    // (colour, stroke width) of series j
    let style = |j: usize| -> (RGBColor, u32) {
        if !c.smoothed {
            (series_color(j), 2)
        } else if j + 1 == c.series.len() {
            (series_color(0), 2)
        } else {
            (SMOOTHED_RAW, 1)
        }
    };
    let legend: Vec<(&str, RGBColor)> = if c.series.len() > 1 {
        c.series
            .iter()
            .enumerate()
            .map(|(i, s)| (s.name.as_str(), style(i).0))
            .collect()
    } else {
        Vec::new()
    };
    let head = header_layout(w, &c.title, &legend, Mark::Line);
    p.header(&head)?;
    let (lo_v, hi_v) = value_range(
        c.series
            .iter()
            .flat_map(|s| s.values.iter().flatten().copied()),
    );
    let y_title = axis_title(&c.y_label, c.unit.as_deref());
    let x_title = axis_title(&c.x_label, None);
    let ticks = nice_ticks(lo_v, hi_v, tick_target(h - head.bottom - 70.0, 50.0));
    let tick_text = tick_labels(&ticks);
    let title_w = if y_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 8.0
    };
    let left = PAD + title_w + max_text_w(&tick_text, TICK_PX, false) + 8.0;
    let right = w - PAD - 4.0;
    let x_title_h = if x_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 8.0
    };
    let bottom = h - PAD - x_title_h - TICK_PX * 1.3 - 8.0;
    let top = head.bottom + 8.0;

    let (mut t0, mut t1) = (c.x[0], c.x[0]);
    for &t in &c.x {
        t0 = t0.min(t);
        t1 = t1.max(t);
    }
    let (mut s0, mut s1) = (seconds(t0), seconds(t1));
    if s1 <= s0 {
        s0 -= 86_400.0;
        s1 += 86_400.0;
        t0 -= chrono::Duration::days(1);
        t1 += chrono::Duration::days(1);
    }
    let xs = |t: NaiveDateTime| left + (seconds(t) - s0) / (s1 - s0) * (right - left);
    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    let ys = |v: f64| bottom - (v - lo) / (hi - lo) * (bottom - top);

    for (t, s) in ticks.iter().zip(&tick_text) {
        let y = ys(*t);
        if *t != lo {
            p.hline(left, right, y, GRID)?;
        }
        p.text(
            s,
            left - 8.0,
            y,
            Txt::new(TICK_PX, MUTED).at(HPos::Right, VPos::Center),
        )?;
    }
    for (t, label) in time_ticks(t0, t1, right - left) {
        let x = xs(t);
        p.vline(x, bottom, bottom + 4.0, AXIS_LINE)?;
        let half = text_w(&label, TICK_PX, false) / 2.0;
        let lx = x.clamp(PAD + half, w - PAD - half);
        p.text(
            &label,
            lx,
            bottom + 7.0,
            Txt::new(TICK_PX, MUTED).at(HPos::Center, VPos::Top),
        )?;
    }
    let base = ys(0.0_f64.clamp(lo, hi));
    let markers = c.x.len() <= 40;
    for (j, s) in c.series.iter().enumerate() {
        let (color, width) = style(j);
        // split into runs of non-NULL points
        let mut runs: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
        for (t, v) in c.x.iter().zip(&s.values) {
            match v {
                Some(v) => runs
                    .last_mut()
                    .map(|r| r.push((xs(*t), ys(*v))))
                    .unwrap_or(()),
                None => runs.push(Vec::new()),
            }
        }
        for run in runs.iter().filter(|r| !r.is_empty()) {
            if (c.series.len() == 1 || (c.smoothed && j == 0)) && run.len() > 1 {
                let mut poly = run.clone();
                poly.push((run[run.len() - 1].0, base));
                poly.push((run[0].0, base));
                p.area_fill(&poly, color, 0.10)?;
            }
            if run.len() > 1 {
                p.line(run, color, width)?;
            }
            if markers || run.len() == 1 {
                for &(x, y) in run {
                    p.dot(x, y, 3, color)?;
                }
            }
        }
    }
    p.hline(left, right, base, AXIS_LINE)?;
    if !y_title.is_empty() {
        let y_title = fit_text(&y_title, AXIS_PX, false, bottom - top, 80);
        p.vertical_title(&y_title, PAD + AXIS_PX * 0.6, (top + bottom) / 2.0)?;
    }
    if !x_title.is_empty() {
        let x_title = fit_text(&x_title, AXIS_PX, false, right - left, 100);
        let t = Txt::new(AXIS_PX, INK_2).at(HPos::Center, VPos::Bottom);
        p.text(&x_title, (left + right) / 2.0, h - PAD, t)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::args::parse_time;
    use crate::test_support::{count, svg};
    use serde_json::json;
    use tera::Value;

    #[test]
    fn line_chart_time_axis() {
        let start = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
        let rows: Vec<Value> = (0..365)
            .map(|i| {
                let d = start + Days::new(i);
                json!({"day": d.format("%Y-%m-%d").to_string(), "events": 1000 + (i % 7) * 100, "orders": if i == 100 { Value::Null } else { json!(40 + i % 5) }})
            })
            .collect();
        let s = svg(
            "line_chart",
            json!({"rows": rows, "x": "day", "y": ["events", "orders"], "series": ["Events", "Orders"],
                   "title": "Daily activity", "y_label": "Count"}),
        );
        assert!(s.contains("Daily activity") && s.contains("Events") && s.contains("Orders"));
        assert!(s.contains("Nov 2025") && s.contains("Jan 2026"), "{s}");
        // events: one line; orders: two runs around the NULL (legend lines are 3 px wide)
        assert_eq!(count(&s, "stroke-width=\"2\""), 1 + 2, "{s}");
        assert_eq!(count(&s, "stroke-width=\"3\""), 2, "{s}");
    }

    #[test]
    fn time_ticks_pick_readable_steps() {
        let t = |s: &str| parse_time(s).unwrap();
        let ticks = time_ticks(t("2025-11-01"), t("2026-10-31"), 640.0);
        let labels: Vec<&str> = ticks.iter().map(|t| t.1.as_str()).collect();
        assert!(labels.len() >= 4 && labels.len() <= 12, "{labels:?}");
        assert!(labels.iter().any(|l| l.contains("2026")));
        let short = time_ticks(t("2026-10-01"), t("2026-10-14"), 640.0);
        assert!(
            short.len() >= 7 && short[0].1 == "Oct 2, 2026" && short[1].1 == "Oct 4",
            "{short:?}"
        );
        assert_eq!(parse_time("2026-10"), Some(t("2026-10-01")));
        assert!(parse_time("2026-10-31T12:30:00+02:00").is_some());
        assert!(parse_time("31/10/2026").is_none());
    }
}
