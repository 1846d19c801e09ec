//! Bar charts: vertical bars (labels on one line, wrapped on two, or rotated) and
//! horizontal bars, single or grouped.

use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::draw::{
    AXIS_LINE, AXIS_PX, DrawResult, GRID, Header, INK_2, LABEL_PX, MUTED, Mark, PAD, Painter,
    TICK_PX, Txt, axis_title, fit_text, header_layout, max_text_w, series_color, text_w,
    value_range,
};
use crate::format::{
    format_compact, format_number, nice_ticks, tick_labels, tick_target, value_decimals,
};
use crate::labels::{CategoryLabels, category_labels};

/// One named series of numbers, aligned with the chart's categories (bar chart).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Series {
    /// Legend label.
    pub name: String,
    /// One value per category, in category order. Must be finite.
    pub values: Vec<f64>,
}

/// A bar chart: one bar per category and series (grouped bars when there are several series).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BarChart {
    /// Title drawn at the top left.
    pub title: String,
    /// Title of the category axis (below the bars; left of them when `horizontal`).
    pub x_label: String,
    /// Title of the value axis, without the unit.
    pub y_label: String,
    /// Unit of the values, appended to the value axis title as "Revenue (EUR)".
    pub unit: Option<String>,
    /// Category names, in drawing order (left to right, or top to bottom when horizontal).
    pub categories: Vec<String>,
    /// One or more series; each has one value per category. More than one gets a legend.
    pub series: Vec<Series>,
    /// Horizontal bars (categories down the left side). The chart grows taller than
    /// `height` when there are more categories than fit. When `false`, a chart whose
    /// category labels fit under the bars neither on one line nor wrapped on two is still
    /// drawn horizontal (up to 30 categories; beyond that the labels are rotated).
    pub horizontal: bool,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

fn legend_of(series: &[Series]) -> Vec<(&str, RGBColor)> {
    if series.len() < 2 {
        return Vec::new();
    }
    series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.as_str(), series_color(i)))
        .collect()
}

/// The horizontal frame of a vertical bar chart: header, value ticks, plot left and right
/// edges, and the category labels.
struct VbarFrame {
    head: Header,
    ticks: Vec<f64>,
    tick_text: Vec<String>,
    left: f64,
    right: f64,
    cats: CategoryLabels,
}

fn vbar_frame(c: &BarChart, w: f64, h: f64) -> VbarFrame {
    let head = header_layout(w, &c.title, &legend_of(&c.series), Mark::Square);
    let (lo_v, hi_v) = value_range(c.series.iter().flat_map(|s| s.values.iter().copied()));
    let y_title = axis_title(&c.y_label, c.unit.as_deref());
    let ticks = nice_ticks(lo_v, hi_v, tick_target(h - head.bottom - 80.0, 50.0));
    let tick_text = tick_labels(&ticks);
    let title_w = if y_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 8.0
    };
    let left = PAD + title_w + max_text_w(&tick_text, TICK_PX, false) + 8.0;
    let right = w - PAD;
    let slot = (right - left) / c.categories.len().max(1) as f64;
    let cats = category_labels(&c.categories, slot, (h * 0.3).max(40.0));
    VbarFrame {
        head,
        ticks,
        tick_text,
        left,
        right,
        cats,
    }
}

/// Most categories that a bar chart switches to horizontal bars for, when their labels do
/// not fit under vertical bars.
const AUTO_HORIZONTAL_MAX: usize = 30;

/// Whether a bar chart is drawn with horizontal bars: when asked, or when the category labels
/// fit under vertical bars neither on one line nor wrapped on two (and there are at most
/// [`AUTO_HORIZONTAL_MAX`] categories; beyond that the labels are rotated).
pub(crate) fn draws_horizontal(c: &BarChart) -> bool {
    c.horizontal
        || (c.categories.len() <= AUTO_HORIZONTAL_MAX
            && vbar_frame(c, c.width as f64, c.height as f64).cats.rotated)
}

pub(crate) fn draw_vbar<DB: DrawingBackend>(
    c: &BarChart,
    p: &Painter<DB>,
    w: f64,
    h: f64,
) -> DrawResult {
    let VbarFrame {
        head,
        ticks,
        tick_text,
        left,
        right,
        cats,
    } = vbar_frame(c, w, h);
    p.header(&head)?;
    let all = || c.series.iter().flat_map(|s| s.values.iter().copied());
    let y_title = axis_title(&c.y_label, c.unit.as_deref());
    let x_title = axis_title(&c.x_label, None);
    let n = c.categories.len();
    let slot = (right - left) / n as f64;
    let x_title_h = if x_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 8.0
    };
    let bottom = h - PAD - x_title_h - cats.height - 8.0;

    let k = c.series.len();
    let gap = if k > 1 { 2.0 } else { 0.0 };
    let group = (slot * if k == 1 { 0.66 } else { 0.8 }).min(72.0 * k as f64);
    let bar_w = ((group - gap * (k - 1) as f64) / k as f64).max(1.0);
    let dec = value_decimals(all());
    let room = if k == 1 {
        slot - 6.0
    } else {
        bar_w + gap + 1.0
    };
    let labels = bar_value_labels(&c.series, dec, room);
    let top = head.bottom + if labels.is_some() { TICK_PX * 1.5 } else { 6.0 };

    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    let ys = |v: f64| bottom - (v - lo) / (hi - lo) * (bottom - top);
    for (t, s) in ticks.iter().zip(&tick_text) {
        let y = ys(*t);
        if t.abs() > 0.0 {
            p.hline(left, right, y, GRID)?;
        }
        p.text(
            s,
            left - 8.0,
            y,
            Txt::new(TICK_PX, MUTED).at(HPos::Right, VPos::Center),
        )?;
    }
    let y0 = ys(0.0);
    for i in 0..n {
        let gx = left + slot * i as f64 + (slot - group) / 2.0;
        for (j, s) in c.series.iter().enumerate() {
            let v = s.values[i];
            let x0 = gx + j as f64 * (bar_w + gap);
            let yv = ys(v);
            p.rect(x0, yv.min(y0), x0 + bar_w, yv.max(y0), series_color(j))?;
            if let Some(l) = &labels {
                let cx = x0 + bar_w / 2.0;
                let t = Txt::new(TICK_PX, INK_2);
                if v >= 0.0 {
                    p.text(&l[j][i], cx, yv - 3.0, t.at(HPos::Center, VPos::Bottom))?;
                } else {
                    p.text(&l[j][i], cx, yv + 3.0, t.at(HPos::Center, VPos::Top))?;
                }
            }
        }
    }
    p.hline(left, right, y0, AXIS_LINE)?;
    for (i, lines) in cats.lines.iter().enumerate().step_by(cats.every) {
        let cx = left + slot * (i as f64 + 0.5);
        if cats.rotated {
            let t = Txt::new(TICK_PX, INK_2)
                .at(HPos::Right, VPos::Center)
                .rotated();
            p.text(&lines[0], cx, bottom + 8.0, t)?;
        } else {
            for (li, line) in lines.iter().enumerate() {
                let y = bottom + 8.0 + li as f64 * TICK_PX * 1.3;
                p.text(
                    line,
                    cx,
                    y,
                    Txt::new(TICK_PX, INK_2).at(HPos::Center, VPos::Top),
                )?;
            }
        }
    }
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

fn hbar_min_slot(k: usize) -> f64 {
    if k == 1 { 22.0 } else { 9.0 * k as f64 + 8.0 }
}

/// Height below the plot of a horizontal bar chart: tick labels and the value axis title.
fn hbar_bottom_h(c: &BarChart) -> f64 {
    let y_title = axis_title(&c.y_label, c.unit.as_deref());
    PAD + if y_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 6.0
    } + TICK_PX * 1.3
        + 6.0
}

pub(crate) fn hbar_min_height(c: &BarChart, w: f64) -> f64 {
    let head = header_layout(w, &c.title, &legend_of(&c.series), Mark::Square);
    head.bottom + 2.0 + c.categories.len() as f64 * hbar_min_slot(c.series.len()) + hbar_bottom_h(c)
}

pub(crate) fn draw_hbar<DB: DrawingBackend>(
    c: &BarChart,
    p: &Painter<DB>,
    w: f64,
    h: f64,
) -> DrawResult {
    let head = header_layout(w, &c.title, &legend_of(&c.series), Mark::Square);
    p.header(&head)?;
    let all = || c.series.iter().flat_map(|s| s.values.iter().copied());
    let (lo_v, hi_v) = value_range(all());
    let cat_title = axis_title(&c.x_label, None);
    let val_title = axis_title(&c.y_label, c.unit.as_deref());
    let names: Vec<String> = c
        .categories
        .iter()
        .map(|s| fit_text(s, LABEL_PX, false, (w - 2.0 * PAD) * 0.42, 40))
        .collect();
    let cat_title_w = if cat_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 8.0
    };
    let left = PAD + cat_title_w + max_text_w(&names, LABEL_PX, false) + 10.0;

    let dec = value_decimals(all());
    let full: Vec<Vec<String>> = c
        .series
        .iter()
        .map(|s| s.values.iter().map(|v| format_number(*v, dec)).collect())
        .collect();
    let full_w = full
        .iter()
        .flatten()
        .map(|l| text_w(l, TICK_PX, false))
        .fold(0.0, f64::max);
    let labels = if full_w + 8.0 <= (w - PAD - left) * 0.3 {
        full
    } else {
        c.series
            .iter()
            .map(|s| s.values.iter().map(|v| format_compact(*v)).collect())
            .collect()
    };
    let labels_w = labels
        .iter()
        .flatten()
        .map(|l| text_w(l, TICK_PX, false))
        .fold(0.0, f64::max);
    let mut right = w - PAD - labels_w - 8.0;
    let ticks = nice_ticks(lo_v, hi_v, tick_target(right - left, 90.0));
    let tick_text = tick_labels(&ticks);
    let last_w = text_w(
        tick_text.last().map(String::as_str).unwrap_or(""),
        TICK_PX,
        false,
    );
    right = right.min(w - PAD - last_w / 2.0);

    let bottom = h - hbar_bottom_h(c);
    let top = head.bottom + 2.0;
    let n = c.categories.len();
    let slot = (bottom - top) / n as f64;
    let k = c.series.len();
    let gap = if k > 1 { 2.0 } else { 0.0 };
    let group = (slot * if k == 1 { 0.68 } else { 0.8 }).min(30.0 * k as f64);
    let bar_h = ((group - gap * (k - 1) as f64) / k as f64).max(1.0);

    let (lo, hi) = (ticks[0], ticks[ticks.len() - 1]);
    let xs = |v: f64| left + (v - lo) / (hi - lo) * (right - left);
    // Every n-th tick label, so that neighbours never touch (only matters on narrow charts).
    let widest = max_text_w(&tick_text, TICK_PX, false);
    let pitch = (right - left) / (ticks.len().max(2) - 1) as f64;
    let every = ((widest + 8.0) / pitch).ceil().max(1.0) as usize;
    for (i, (t, s)) in ticks.iter().zip(&tick_text).enumerate() {
        let x = xs(*t);
        if t.abs() > 0.0 {
            p.vline(x, top, bottom, GRID)?;
        }
        if i % every == 0 {
            p.text(
                s,
                x,
                bottom + 6.0,
                Txt::new(TICK_PX, MUTED).at(HPos::Center, VPos::Top),
            )?;
        }
    }
    let x0 = xs(0.0);
    for i in 0..n {
        let gy = top + slot * i as f64 + (slot - group) / 2.0;
        for (j, s) in c.series.iter().enumerate() {
            let v = s.values[i];
            let y = gy + j as f64 * (bar_h + gap);
            let xv = xs(v);
            p.rect(xv.min(x0), y, xv.max(x0), y + bar_h, series_color(j))?;
            let cy = y + bar_h / 2.0;
            let show = bar_h >= TICK_PX * 0.9 || k == 1;
            if show {
                let t = Txt::new(TICK_PX, INK_2);
                if v >= 0.0 {
                    p.text(&labels[j][i], xv + 5.0, cy, t.at(HPos::Left, VPos::Center))?;
                } else {
                    p.text(&labels[j][i], xv - 5.0, cy, t.at(HPos::Right, VPos::Center))?;
                }
            }
        }
        let cy = top + slot * (i as f64 + 0.5);
        let t = Txt::new(LABEL_PX, INK_2).at(HPos::Right, VPos::Center);
        p.text(&names[i], left - 10.0, cy, t)?;
    }
    p.vline(x0, top, bottom, AXIS_LINE)?;
    if !cat_title.is_empty() {
        let cat_title = fit_text(&cat_title, AXIS_PX, false, bottom - top, 80);
        p.vertical_title(&cat_title, PAD + AXIS_PX * 0.6, (top + bottom) / 2.0)?;
    }
    if !val_title.is_empty() {
        let val_title = fit_text(&val_title, AXIS_PX, false, right - left, 100);
        let t = Txt::new(AXIS_PX, INK_2).at(HPos::Center, VPos::Bottom);
        p.text(&val_title, (left + right) / 2.0, h - PAD, t)?;
    }
    Ok(())
}

/// Value labels for every bar of every series, as full numbers, or compact when the full
/// ones do not fit `room` pixels, or none.
fn bar_value_labels(series: &[Series], dec: usize, room: f64) -> Option<Vec<Vec<String>>> {
    let full: Vec<Vec<String>> = series
        .iter()
        .map(|s| s.values.iter().map(|v| format_number(*v, dec)).collect())
        .collect();
    if full
        .iter()
        .flatten()
        .all(|l| text_w(l, TICK_PX, false) <= room)
    {
        return Some(full);
    }
    let compact: Vec<Vec<String>> = series
        .iter()
        .map(|s| s.values.iter().map(|v| format_compact(*v)).collect())
        .collect();
    if compact
        .iter()
        .flatten()
        .all(|l| text_w(l, TICK_PX, false) <= room)
    {
        return Some(compact);
    }
    None
}

#[cfg(test)]
mod tests {
    use crate::draw::PALETTE;
    use crate::spec::ChartSpec;
    use crate::test_support::{args, channel_rows, count, fill_count, svg};
    use serde_json::json;
    use tera::Value;

    #[test]
    fn bar_chart_structure() {
        let s = svg(
            "bar_chart",
            json!({"rows": channel_rows(), "x": "channel", "y": "revenue", "title": "Revenue by channel",
                   "x_label": "Channel", "y_label": "Revenue", "unit": "EUR"}),
        );
        assert!(s.starts_with("<svg "), "{s}");
        assert!(s.contains("viewBox=\"0 0 720 360\"") && s.contains("width=\"720\""));
        assert!(!s.contains("<?xml") && !s.contains("<script"));
        assert!(s.contains("Revenue by channel"));
        assert!(s.contains("Revenue (EUR)"));
        assert!(s.contains(">\nChannel\n<"));
        for c in ["paid_search", "email", "organic", "social"] {
            assert!(s.contains(c), "{c}");
        }
        // one bar per row (NULL counts as 0), in the accent colour
        assert_eq!(fill_count(&s, PALETTE[0]), 4);
        assert!(s.contains(">\n125,000\n<"), "value label: {s}");
        assert!(s.contains("64,000"));
    }

    #[test]
    fn grouped_and_horizontal_bars() {
        let rows = json!([
            {"path": "social > paid_search > direct > email > organic > referral > direct", "first": 10.5, "last": 3, "linear": 6},
            {"path": "direct", "first": 4, "last": 9, "linear": 7},
            {"path": "email > direct", "first": 2, "last": 5.25, "linear": 4},
        ]);
        let s = svg(
            "bar_chart",
            json!({"rows": rows, "x": "path", "y": ["first", "last", "linear"],
                   "series": ["First touch", "Last touch", "Linear"], "horizontal": true,
                   "title": "Conversions by path", "unit": "conversions"}),
        );
        for (i, name) in ["First touch", "Last touch", "Linear"].iter().enumerate() {
            assert!(s.contains(name));
            // 3 bars plus the legend swatch per series
            assert_eq!(fill_count(&s, PALETTE[i]), 4, "{name}");
        }
        assert!(
            s.contains(">\nsocial &gt; paid_search &gt; direct &gt; email &gt;…\n<"),
            "{s}"
        );
        assert!(s.contains("conversions"));
    }

    #[test]
    fn many_long_categories_rotate_or_wrap() {
        let rows = |n: usize| -> Vec<Value> {
            (0..n).map(|i| json!({"campaign": format!("spring_sale_campaign_{i:02}"), "clicks": i * 37})).collect()
        };
        // up to 30 categories: horizontal bars, full labels, a taller chart
        let spec = ChartSpec::from_tera_args(
            "bar_chart",
            &args(json!({"rows": rows(30), "x": "campaign", "y": "clicks"})),
        )
        .unwrap();
        let (w, h) = spec.size();
        assert!(w == 720 && h > 600, "{h}");
        let s = spec.render_svg().unwrap();
        assert_eq!(fill_count(&s, PALETTE[0]), 30);
        assert!(s.contains(">\nspring_sale_campaign_29\n<"));
        assert_eq!(count(&s, "rotate(270"), 1, "only the axis title is rotated");
        // more: vertical bars with rotated labels
        let spec = ChartSpec::from_tera_args(
            "bar_chart",
            &args(json!({"rows": rows(40), "x": "campaign", "y": "clicks"})),
        )
        .unwrap();
        assert_eq!(spec.size(), (720, 360));
        let s = spec.render_svg().unwrap();
        assert_eq!(fill_count(&s, PALETTE[0]), 40);
        assert!(count(&s, "rotate(270") > 10, "labels rotated");
        // labels that wrap on two lines stay vertical
        let rows = json!([{"s": "Potential loyalists", "n": 1}, {"s": "Can't lose them", "n": 2}, {"s": "Hibernating customers", "n": 3},
                          {"s": "Need attention", "n": 1}, {"s": "About to sleep", "n": 2}, {"s": "Champions", "n": 3},
                          {"s": "Loyal customers", "n": 1}, {"s": "At risk", "n": 2}]);
        let s = svg("bar_chart", json!({"rows": rows, "x": "s", "y": "n"}));
        assert!(
            s.contains(">\nHibernating\n<") && s.contains(">\ncustomers\n<"),
            "{s}"
        );
    }
}
