//! Heatmaps: a grid of cells on a sequential blue scale, with its colour legend.

use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::draw::{
    AXIS_PX, BG, DrawResult, INK_2, MUTED, Mark, NO_DATA, PAD, Painter, TICK_PX, Txt, axis_title,
    clean_text, fit_text, header_layout, heat_color, max_text_w, text_w,
};
use crate::format::{format_number, value_decimals};
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
    /// Percentages are stored as percentages (58.0 for 58%), with `suffix` `"%"`.
    pub values: Vec<Vec<f64>>,
    /// Cells to mark with a `*` after their value (e.g. a cohort period still running),
    /// by row then column as `values`; empty when none is marked.
    pub marked: Vec<Vec<bool>>,
    /// Decimals of every cell label and of the legend; `None`: from the values (none for
    /// whole numbers or values of 100 and more, else one or two). Every cell gets the same
    /// number of decimals.
    pub decimals: Option<usize>,
    /// Written after every value of the cells and the legend: `"%"`, `"×"`, or empty.
    pub suffix: String,
    /// The colour scale's top, as a percentile (50–100) of the cells with data: cells above
    /// it are drawn in the darkest colour and the legend's top reads "≥ value", so that one
    /// outlier does not leave every other cell the same pale colour. `None`: the largest cell.
    pub clip_percentile: Option<f64>,
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
    let (min_s, max_s) = heat_legend_texts(c, heat_decimals(c));
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

/// The colour scale's ends: the smallest cell with data and the largest, or the
/// `clip_percentile` of the cells (nearest rank) when that is lower; and whether the top
/// is clipped.
pub(crate) fn heat_scale(c: &HeatmapChart) -> (f64, f64, bool) {
    let (vmin, vmax) = heat_range(c);
    let Some(p) = c.clip_percentile else {
        return (vmin, vmax, false);
    };
    let mut cells: Vec<f64> = c
        .values
        .iter()
        .flatten()
        .copied()
        .filter(|v| !v.is_nan())
        .collect();
    if cells.is_empty() {
        return (vmin, vmax, false);
    }
    cells.sort_by(f64::total_cmp);
    let rank = ((p / 100.0) * cells.len() as f64).ceil().max(1.0) as usize;
    let top = cells[rank.min(cells.len()) - 1];
    if top < vmax && top > vmin {
        (vmin, top, true)
    } else {
        (vmin, vmax, false)
    }
}

/// Decimals of the cell labels and the legend (see [`HeatmapChart::decimals`]).
fn heat_decimals(c: &HeatmapChart) -> usize {
    c.decimals.unwrap_or_else(|| {
        value_decimals(c.values.iter().flatten().copied().filter(|v| !v.is_nan()))
    })
}

/// The texts at the ends of the colour legend, with `dec` decimals: the bottom and top of
/// the colour scale ("≥ top" when the scale is clipped).
fn heat_legend_texts(c: &HeatmapChart, dec: usize) -> (String, String) {
    let (vmin, vmax, clipped) = heat_scale(c);
    let top = format!("{}{}", format_number(vmax, dec), c.suffix);
    (
        format!("{}{}", format_number(vmin, dec), c.suffix),
        if clipped { format!("≥ {top}") } else { top },
    )
}

/// Every cell's label, formatted alike: the heatmap's decimals and suffix (and `*` for a
/// marked cell). When those do not fit `cell_w`: whole numbers; then whole numbers without
/// the suffix (the legend keeps it: "100%" at the top, cells "100", "58"); then short
/// numbers all in the unit of the largest cell with the same decimals ("9.8k", "10.2k",
/// "0.7k"). Empty for a cell without data. Also the decimals the legend should use: those
/// of the cells, or the heatmap's own when the cells are short numbers.
pub(crate) fn heat_cell_labels(c: &HeatmapChart, cell_w: f64) -> (Vec<Vec<String>>, usize) {
    let dec = heat_decimals(c);
    let with = |suffix: &str, f: &dyn Fn(f64) -> String| -> Vec<Vec<String>> {
        c.values
            .iter()
            .enumerate()
            .map(|(yi, r)| {
                r.iter()
                    .enumerate()
                    .map(|(xi, v)| {
                        if v.is_nan() {
                            return String::new();
                        }
                        let mark = c
                            .marked
                            .get(yi)
                            .and_then(|r| r.get(xi))
                            .copied()
                            .unwrap_or(false);
                        format!("{}{suffix}{}", f(*v), if mark { "*" } else { "" })
                    })
                    .collect()
            })
            .collect()
    };
    let fits = |l: &[Vec<String>]| {
        l.iter()
            .flatten()
            .all(|t| text_w(t, TICK_PX - 1.0, false) <= cell_w - 6.0)
    };
    let mut tries: Vec<(usize, &str)> = vec![(dec, c.suffix.as_str())];
    if dec > 0 {
        tries.push((0, c.suffix.as_str()));
    }
    if !c.suffix.is_empty() {
        tries.push((0, ""));
    }
    for (d, suffix) in tries {
        let labels = with(suffix, &|v| format_number(v, d));
        if fits(&labels) {
            return (labels, d);
        }
    }
    let largest = c
        .values
        .iter()
        .flatten()
        .filter(|v| !v.is_nan())
        .fold(0.0_f64, |m, v| m.max(v.abs()));
    let (div, unit) = [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")]
        .into_iter()
        .find(|(d, _)| largest >= *d)
        .unwrap_or((1.0, ""));
    let short_dec = if largest / div >= 100.0 { 0 } else { 1 };
    let short = with("", &|v| {
        format!("{}{unit}", format_number(v / div, short_dec))
    });
    (short, dec)
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
    let (vmin, vmax, _) = heat_scale(c);
    let norm = |v: f64| {
        if vmax > vmin {
            ((v - vmin) / (vmax - vmin)).clamp(0.0, 1.0)
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
    let (labels, cell_dec) = heat_cell_labels(c, cw);
    let show_values = ch >= TICK_PX * 1.6
        && labels
            .iter()
            .flatten()
            .all(|l| text_w(l, TICK_PX - 1.0, false) <= cw - 6.0);
    // The legend's ends read as the cells do (28%, not 28.0%, over cells "28%", "17%").
    let legend_dec = if show_values {
        cell_dec
    } else {
        heat_decimals(c)
    };
    let (min_s, max_s) = heat_legend_texts(c, legend_dec);
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
    use crate::test_support::{args, count, fill_count, svg};
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

    #[test]
    fn heatmap_percent_labels_alike_marks_and_clips() {
        // Cohort shares as fractions: shown as percentages, every cell with the same (0)
        // decimals — the values reach 100, so none — and the running period marked.
        let rows = json!([
            {"p": 0, "c": "2026-09", "rate": 1.0, "complete": true},
            {"p": 1, "c": "2026-09", "rate": 0.58, "complete": true},
            {"p": 2, "c": "2026-09", "rate": 0.4, "complete": false},
            {"p": 0, "c": "2026-10", "rate": 1.0, "complete": false},
        ]);
        let spec = ChartSpec::from_tera_args(
            "heatmap_chart",
            &args(
                json!({"rows": rows, "x": "p", "y": "c", "value": "rate", "percent": true,
                         "complete": "complete", "width": 1000, "height": 300}),
            ),
        )
        .unwrap();
        let ChartSpec::Heatmap(h) = &spec else {
            panic!()
        };
        let row: Vec<f64> = h.values[0]
            .iter()
            .map(|v| (v * 1e9).round() / 1e9)
            .collect();
        assert_eq!(row, [100.0, 58.0, 40.0]);
        assert_eq!(h.marked, [[false, false, true], [true, false, false]]);
        let s = spec.render_svg().unwrap();
        for label in ["100%", "58%", "40%*", "100%*"] {
            assert!(s.contains(&format!(">\n{label}\n<")), "{label}");
        }
        assert!(!s.contains(">\n0.58\n<"), "no fraction is printed");
        // ROAS-like values: one decimal on every cell ("4.0", not "4"), with a suffix.
        let rows = json!([
            {"m": "a", "ch": "x", "v": 8.1}, {"m": "b", "ch": "x", "v": 4},
            {"m": "a", "ch": "y", "v": 7.77}, {"m": "b", "ch": "y", "v": 101},
        ]);
        let s = svg(
            "heatmap_chart",
            json!({"rows": rows, "x": "m", "y": "ch", "value": "v", "decimals": 1, "suffix": "×", "width": 1000}),
        );
        for label in ["8.1×", "4.0×", "7.8×", "101.0×"] {
            assert!(s.contains(&format!(">\n{label}\n<")), "{label}");
        }
    }

    #[test]
    fn heatmap_clip_percentile_tops_the_scale() {
        // Ten cells 1..=9 and 100: the 90th percentile by nearest rank is the 9th smallest
        // (ceil(0.9 × 10) = 9), 9; the scale runs 1 to 9 and the legend says "≥ 9".
        let rows: Vec<_> = (1..=10)
            .map(|i| json!({"x": i, "y": 1, "v": if i == 10 { 100 } else { i }}))
            .collect();
        let a = json!({"rows": rows, "x": "x", "y": "y", "value": "v", "clip_percentile": 90, "width": 1000});
        let spec = ChartSpec::from_tera_args("heatmap_chart", &args(a.clone())).unwrap();
        let ChartSpec::Heatmap(h) = &spec else {
            panic!()
        };
        assert_eq!(super::heat_scale(h), (1.0, 9.0, true));
        let s = spec.render_svg().unwrap();
        assert!(
            s.contains(">\n≥ 9\n<"),
            "the legend's top says it is clipped"
        );
        // The 9 and the 100 are drawn alike, in the darkest colour.
        assert_eq!(fill_count(&s, crate::draw::heat_color(1.0)), 2);
        // Without the argument the scale runs to the largest cell.
        let mut plain = a;
        plain.as_object_mut().unwrap().remove("clip_percentile");
        let spec = ChartSpec::from_tera_args("heatmap_chart", &args(plain)).unwrap();
        let ChartSpec::Heatmap(h) = &spec else {
            panic!()
        };
        assert_eq!(super::heat_scale(h), (1.0, 100.0, false));
    }

    #[test]
    fn heatmap_short_labels_share_unit_and_decimals() {
        // Eight narrow columns at the e-mail's 560 px: "12,419" does not fit a cell, so every
        // cell is written in thousands (the largest cell's unit) with one decimal, the
        // largest being below 100k: 12,419 → "12.4k", 10,000 → "10.0k", 658 → "0.7k".
        let vals = [9805, 10000, 12419, 658, 7000, 8116, 6925, 6646];
        let rows: Vec<_> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| json!({"m": format!("model {i}"), "ch": "Organic search", "v": v}))
            .collect();
        let s = svg(
            "heatmap_chart",
            json!({"rows": rows, "x": "m", "y": "ch", "value": "v", "unit": "EUR",
                   "y_label": "Channel (by linear revenue)", "width": 560}),
        );
        for label in [
            "9.8k", "10.0k", "12.4k", "0.7k", "7.0k", "8.1k", "6.9k", "6.6k",
        ] {
            assert!(s.contains(&format!(">\n{label}\n<")), "{label}");
        }
    }

    #[test]
    fn heatmap_percent_labels_drop_the_suffix_before_the_value() {
        // Twelve columns at 560 px: "100%" is wider than a cell, "100" is not; the legend
        // keeps the "%", and a running period keeps its "*".
        let rows: Vec<_> = (0..12)
            .map(|p| json!({"p": p, "c": "2026-09", "rate": 1.0 - p as f64 * 0.05, "complete": p < 11}))
            .collect();
        let s = svg(
            "heatmap_chart",
            json!({"rows": rows, "x": "p", "y": "c", "value": "rate", "percent": true,
                   "complete": "complete", "y_label": "Sign-up month", "width": 560, "height": 200}),
        );
        // 1 - 11 × 0.05 = 0.45: "45*"; the legend runs from 45% to 100%
        for label in ["100", "95", "45*", "100%", "45%"] {
            assert!(s.contains(&format!(">\n{label}\n<")), "{label}");
        }
        assert!(!s.contains(">\n95%\n<"));
        // Shares below 100% get one decimal (26.1%) where they fit; at 560 px the cells are
        // whole (26%), and so are the legend's ends: 2.2% → "2%", 26.1% → "26%".
        let rows: Vec<_> = (0..12)
            .map(|p| json!({"p": p, "c": "2025-11", "rate": if p == 0 { 0.261 } else { 0.022 + p as f64 * 0.001 }}))
            .collect();
        let s = svg(
            "heatmap_chart",
            json!({"rows": rows, "x": "p", "y": "c", "value": "rate", "percent": true,
                   "y_label": "Sign-up month", "width": 560, "height": 200}),
        );
        for label in ["26%", "2%", "3%"] {
            assert!(s.contains(&format!(">\n{label}\n<")), "{label}");
        }
        assert!(!s.contains(">\n26.1%\n<") && !s.contains(">\n2.2%\n<"));
    }
}
