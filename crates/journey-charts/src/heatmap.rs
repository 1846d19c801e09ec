//! Heatmaps: a grid of cells on a sequential blue scale, with its colour legend.

use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::draw::{
    AXIS_PX, BG, DrawResult, INK_2, MUTED, Mark, NO_DATA, PAD, Painter, TICK_PX, Txt, axis_title,
    clean_text, fit_text, header_layout, heat_color, max_text_w, text_w,
};
use crate::format::{format_compact, format_number, value_decimals};
use crate::labels::{CategoryLabels, category_labels};

/// Default heatmap height in pixels.
pub const DEFAULT_HEATMAP_HEIGHT: u32 = 300;

/// A heatmap: a grid of cells coloured on a sequential light-to-dark blue scale.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HeatmapChart {
    /// Title drawn at the top left.
    pub title: String,
    /// Title of the x axis (below the grid).
    pub x_label: String,
    /// Title of the y axis (left of the grid).
    pub y_label: String,
    /// Unit of the cell values, shown on the colour legend.
    pub unit: Option<String>,
    /// Column labels, left to right.
    pub x_labels: Vec<String>,
    /// Row labels, top to bottom.
    pub y_labels: Vec<String>,
    /// Cell values by row then column: `values[y][x]`. Finite, or NaN for a cell without
    /// data (no row, or only NULL values), which is drawn blank and left out of the scale.
    pub values: Vec<Vec<f64>>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels; grows when the rows do not fit.
    pub height: u32,
}

const HEAT_MIN_CELL: f64 = 14.0;

/// The horizontal frame of a heatmap: the plot's left and right edges, the fitted row
/// names, and the column labels (one line, two wrapped lines, or rotated when the columns
/// are narrow, so that every column keeps its label).
struct HeatFrame {
    left: f64,
    right: f64,
    legend_w: f64,
    y_names: Vec<String>,
    x_cats: CategoryLabels,
}

fn heat_frame(c: &HeatmapChart, w: f64) -> HeatFrame {
    let (min_s, max_s) = heat_legend_texts(c);
    let unit_w = c
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| text_w(&clean_text(u), TICK_PX, false))
        .unwrap_or(0.0);
    let legend_w =
        (12.0 + 6.0 + max_text_w(&[&min_s, &max_s], TICK_PX, false)).max(unit_w.min(140.0));
    let right = w - PAD - legend_w - 18.0;
    let y_names: Vec<String> = c
        .y_labels
        .iter()
        .map(|l| fit_text(l, TICK_PX, false, (w - 2.0 * PAD) * 0.25, 24))
        .collect();
    let y_title_w = if axis_title(&c.y_label, None).is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 8.0
    };
    let left = PAD + y_title_w + max_text_w(&y_names, TICK_PX, false) + 8.0;
    let cw = (right - left) / c.x_labels.len().max(1) as f64;
    // Numbers (hours, periods) read fine with every other one left out; names do not.
    let numeric = c.x_labels.iter().all(|l| l.trim().parse::<f64>().is_ok());
    let x_cats = if numeric {
        let lines: Vec<Vec<String>> = c
            .x_labels
            .iter()
            .map(|l| vec![fit_text(l, TICK_PX, false, 120.0, 16)])
            .collect();
        let widest = lines
            .iter()
            .map(|l| text_w(&l[0], TICK_PX, false))
            .fold(0.0, f64::max);
        CategoryLabels {
            every: ((widest + 6.0) / cw).ceil().max(1.0) as usize,
            lines,
            rotated: false,
            height: TICK_PX * 1.3,
        }
    } else {
        category_labels(&c.x_labels, cw, 120.0)
    };
    HeatFrame {
        left,
        right,
        legend_w,
        y_names,
        x_cats,
    }
}

/// The smallest and largest cell values with data ((0, 0) when no cell has any).
fn heat_range(c: &HeatmapChart) -> (f64, f64) {
    let cells = || c.values.iter().flatten().copied().filter(|v| !v.is_nan());
    if cells().next().is_none() {
        return (0.0, 0.0);
    }
    (
        cells().fold(f64::INFINITY, f64::min),
        cells().fold(f64::NEG_INFINITY, f64::max),
    )
}

/// The texts at the ends of the colour legend: the smallest and largest cell values.
fn heat_legend_texts(c: &HeatmapChart) -> (String, String) {
    let (vmin, vmax) = heat_range(c);
    let dec = value_decimals(c.values.iter().flatten().copied().filter(|v| !v.is_nan()));
    (format_number(vmin, dec), format_number(vmax, dec))
}

fn heat_bottom_h(c: &HeatmapChart, frame: &HeatFrame) -> f64 {
    let x_title = axis_title(&c.x_label, None);
    PAD + if x_title.is_empty() {
        0.0
    } else {
        AXIS_PX * 1.3 + 6.0
    } + frame.x_cats.height
        + 6.0
}

pub(crate) fn heatmap_min_height(c: &HeatmapChart, w: f64) -> f64 {
    let head = header_layout(w, &c.title, &[], Mark::Square);
    let frame = heat_frame(c, w);
    head.bottom + 4.0 + c.y_labels.len() as f64 * HEAT_MIN_CELL + heat_bottom_h(c, &frame)
}

pub(crate) fn draw_heatmap<DB: DrawingBackend>(
    c: &HeatmapChart,
    p: &Painter<DB>,
    w: f64,
    h: f64,
) -> DrawResult {
    let head = header_layout(w, &c.title, &[], Mark::Square);
    p.header(&head)?;
    let (nx, ny) = (c.x_labels.len(), c.y_labels.len());
    let (vmin, vmax) = heat_range(c);
    let norm = |v: f64| {
        if vmax > vmin {
            (v - vmin) / (vmax - vmin)
        } else if v == 0.0 {
            0.0
        } else {
            0.6
        }
    };
    let unit = c
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(clean_text);
    let (min_s, max_s) = heat_legend_texts(c);
    let frame = heat_frame(c, w);
    let (left, right, _) = (frame.left, frame.right, frame.legend_w);
    let y_title = axis_title(&c.y_label, None);
    let x_title = axis_title(&c.x_label, None);
    let y_names = &frame.y_names;
    let top = head.bottom + 4.0;
    let bottom = h - heat_bottom_h(c, &frame);
    let cw = (right - left) / nx as f64;
    let ch = (bottom - top) / ny as f64;

    // cells, with a 2 px white gutter
    let labels: Vec<Vec<String>> = c
        .values
        .iter()
        .map(|r| {
            r.iter()
                .map(|v| {
                    if v.is_nan() {
                        String::new()
                    } else {
                        format_compact(*v)
                    }
                })
                .collect()
        })
        .collect();
    let show_values = ch >= TICK_PX * 1.6
        && labels
            .iter()
            .flatten()
            .all(|l| text_w(l, TICK_PX - 1.0, false) <= cw - 6.0);
    for (yi, row) in c.values.iter().enumerate() {
        for (xi, &v) in row.iter().enumerate() {
            let x0 = left + xi as f64 * cw;
            let y0 = top + yi as f64 * ch;
            if v.is_nan() {
                // No data: a hatched-looking pale cell, no value.
                p.rect(x0 + 1.0, y0 + 1.0, x0 + cw - 1.0, y0 + ch - 1.0, NO_DATA)?;
                continue;
            }
            let t = norm(v);
            p.rect(
                x0 + 1.0,
                y0 + 1.0,
                x0 + cw - 1.0,
                y0 + ch - 1.0,
                heat_color(t),
            )?;
            if show_values {
                let color = if t > 0.55 { BG } else { INK_2 };
                let txt = Txt::new(TICK_PX - 1.0, color).at(HPos::Center, VPos::Center);
                p.text(&labels[yi][xi], x0 + cw / 2.0, y0 + ch / 2.0, txt)?;
            }
        }
    }
    // axis labels: every column's, on one line, wrapped, or rotated (see `heat_frame`)
    let cats = &frame.x_cats;
    for (xi, lines) in cats.lines.iter().enumerate().step_by(cats.every) {
        let x = left + (xi as f64 + 0.5) * cw;
        if cats.rotated {
            let t = Txt::new(TICK_PX, MUTED)
                .at(HPos::Right, VPos::Center)
                .rotated();
            p.text(&lines[0], x, bottom + 6.0, t)?;
            continue;
        }
        for (li, line) in lines.iter().enumerate() {
            p.text(
                line,
                x,
                bottom + 6.0 + li as f64 * TICK_PX * 1.3,
                Txt::new(TICK_PX, MUTED).at(HPos::Center, VPos::Top),
            )?;
        }
    }
    let y_every = ((TICK_PX * 1.2) / ch).ceil().max(1.0) as usize;
    for (yi, name) in y_names.iter().enumerate().step_by(y_every) {
        let y = top + (yi as f64 + 0.5) * ch;
        p.text(
            name,
            left - 8.0,
            y,
            Txt::new(TICK_PX, INK_2).at(HPos::Right, VPos::Center),
        )?;
    }
    if !y_title.is_empty() {
        let y_title = fit_text(&y_title, AXIS_PX, false, bottom - top, 60);
        p.vertical_title(&y_title, PAD + AXIS_PX * 0.6, (top + bottom) / 2.0)?;
    }
    if !x_title.is_empty() {
        let x_title = fit_text(&x_title, AXIS_PX, false, right - left, 100);
        let t = Txt::new(AXIS_PX, INK_2).at(HPos::Center, VPos::Bottom);
        p.text(&x_title, (left + right) / 2.0, h - PAD, t)?;
    }
    // colour legend: a vertical gradient, max at the top
    let lx = right + 18.0;
    let mut bar_top = top;
    if let Some(u) = &unit {
        let u = fit_text(u, TICK_PX, false, 140.0, 30);
        p.text(&u, lx, top, Txt::new(TICK_PX, MUTED))?;
        bar_top += TICK_PX * 1.3 + 4.0;
    }
    let bar_h = (bottom - bar_top).clamp(20.0, 160.0);
    const STEPS: usize = 32;
    for s in 0..STEPS {
        let y0 = bar_top + bar_h * s as f64 / STEPS as f64;
        let y1 = bar_top + bar_h * (s + 1) as f64 / STEPS as f64;
        let t = 1.0 - (s as f64 + 0.5) / STEPS as f64;
        p.rect(lx, y0, lx + 12.0, y1 + 0.5, heat_color(t))?;
    }
    p.text(
        &max_s,
        lx + 18.0,
        bar_top,
        Txt::new(TICK_PX, INK_2).at(HPos::Left, VPos::Top),
    )?;
    p.text(
        &min_s,
        lx + 18.0,
        bar_top + bar_h,
        Txt::new(TICK_PX, INK_2).at(HPos::Left, VPos::Bottom),
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::spec::ChartSpec;
    use crate::test_support::{args, count, svg};
    use serde_json::json;

    #[test]
    fn heatmap_labels_every_named_column_at_email_width() {
        // The attribution page's heatmap: 8 models × 3 channels, at the e-mail's 560 px.
        let models = [
            "First touch",
            "Last touch",
            "Last non-direct",
            "Linear",
            "Time decay",
            "Position-based",
            "Markov chain",
            "Shapley value",
        ];
        let mut rows = Vec::new();
        for (i, m) in models.iter().enumerate() {
            for (j, c) in ["email", "paid_search", "social"].iter().enumerate() {
                rows.push(json!({"model_label": m, "channel": c, "revenue": 100 * i + 10 * j}));
            }
        }
        let spec = ChartSpec::from_tera_args(
            "heatmap_chart",
            &args(json!({"rows": rows, "x": "model_label", "y": "channel", "value": "revenue",
                         "title": "Revenue credited (EUR) by channel and model", "x_label": "Attribution model",
                         "y_label": "Channel", "unit": "EUR", "x_labels": models, "width": 1000, "height": 380})),
        )
        .unwrap()
        .with_width(560);
        let s = spec.render_svg().unwrap();
        for m in models {
            assert_eq!(count(&s, &format!(">\n{m}\n<")), 1, "{m} is not labelled");
        }
        for c in ["email", "paid_search", "social"] {
            assert!(s.contains(&format!(">\n{c}\n<")), "{c}");
        }
        // Hours stay on one line, every other one when they do not all fit.
        let mut rows = Vec::new();
        for hour in 0..24 {
            rows.push(json!({"hour": hour, "d": 1, "v": hour}));
        }
        let s = svg(
            "heatmap_chart",
            json!({"rows": rows, "x": "hour", "y": "d", "value": "v", "y_label": "", "width": 560}),
        );
        assert!(!s.contains("rotate("), "hour labels are not rotated");
    }

    #[test]
    fn heatmap_cells_and_legend() {
        let mut rows = Vec::new();
        for dow in 1..=7 {
            for hour in 0..24 {
                if dow == 3 && hour == 5 {
                    continue; // a missing cell has no data: NaN, drawn blank
                }
                rows.push(json!({"hour": hour, "day_of_week": dow, "events": dow * 100 + hour}));
            }
        }
        let spec = ChartSpec::from_tera_args(
            "heatmap_chart",
            &args(json!({"rows": rows, "x": "hour", "y": "day_of_week", "value": "events", "title": "Activity",
                         "x_label": "Hour of day", "y_label": "Day of week", "unit": "events",
                         "y_labels": ["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]})),
        )
        .unwrap();
        let ChartSpec::Heatmap(h) = &spec else {
            panic!()
        };
        assert_eq!(h.x_labels.len(), 24);
        assert_eq!(
            h.y_labels,
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        );
        assert_eq!(h.values[0][0], 100.0);
        assert!(h.values[2][5].is_nan());
        assert_eq!(h.values[6][23], 723.0);
        let s = spec.render_svg().unwrap();
        // 168 cells (the blank one too) + 32 legend steps + the background; the scale runs
        // from the smallest cell with data (Mon 0:00, 100) to the largest (Sun 23:00, 723).
        assert_eq!(count(&s, "<rect"), 168 + 32 + 1);
        for x in [
            "Activity",
            "Mon",
            "Sun",
            "Hour of day",
            "Day of week",
            "events",
            ">\n723\n<",
            ">\n100\n<",
        ] {
            assert!(s.contains(x), "{x}");
        }
        // 0-based day of week maps onto the same labels
        let rows0 = json!([{"h": 0, "d": 0, "v": 1}, {"h": 1, "d": 6, "v": 2}]);
        let spec = ChartSpec::from_tera_args("heatmap_chart", &args(json!({"rows": rows0, "x": "h", "y": "d", "value": "v", "y_labels": ["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]}))).unwrap();
        let ChartSpec::Heatmap(h) = &spec else {
            panic!()
        };
        assert_eq!((h.values[0][0], h.values[6][1]), (1.0, 2.0));
    }
}
