//! Sankey diagrams of user paths: columns of nodes and the bands of the flows between
//! consecutive columns.

use plotters::prelude::DrawingBackend;
use plotters::style::RGBColor;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::draw::{
    DrawResult, Header, INK, LABEL_PX, MUTED, Mark, PAD, PALETTE, Painter, TICK_PX, TITLE_PX, Txt,
    clean_text, fit_text, header_layout, text_w,
};
use crate::format::format_compact;

/// Default Sankey diagram height in pixels.
pub const DEFAULT_SANKEY_HEIGHT: u32 = 420;

/// One flow of a Sankey diagram: `value` from node `source` in column `step` to node `target`
/// in column `step + 1`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SankeyLink {
    /// Index of the source column in [`SankeyChart::nodes`]; the target is in the next one.
    pub step: usize,
    /// Name of the source node (one of the names of column `step`).
    pub source: String,
    /// Name of the target node (one of the names of column `step + 1`).
    pub target: String,
    /// Flow, e.g. sessions; finite and not negative. Drawn as a band this thick.
    pub value: f64,
}

/// A Sankey (flow) diagram of user paths: columns of nodes (e.g. event names) from left to
/// right, and bands from a node to a node of the next column, as thick as the flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SankeyChart {
    /// Title drawn at the top left.
    pub title: String,
    /// Unit of the flows ("sessions"), written at the top right.
    pub unit: Option<String>,
    /// Column headings, left to right ("Start", "Step 1", …); one per column of `nodes`.
    pub steps: Vec<String>,
    /// Per column, its nodes as (name, total) in drawing order, top to bottom
    /// (`sankey_chart` sorts them by total, largest first, with "other" last). Totals are
    /// finite and not negative, names distinct within a column, and a node's total is at
    /// least the sum of the links into it and the sum of the links out of it (less outgoing
    /// than incoming flow: paths that ended there).
    pub nodes: Vec<Vec<(String, f64)>>,
    /// The flows between consecutive columns.
    pub links: Vec<SankeyLink>,
    /// Node names in the order they take the palette's colours; names not in it follow in
    /// their order of appearance. Two diagrams given the same list colour an event alike.
    pub color_keys: Vec<String>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels; grows when the node labels do not fit.
    pub height: u32,
}

/// Name of the node that `sankey_chart` merges each column's smaller nodes into.
pub(crate) const SANKEY_OTHER: &str = "other";

const SANKEY_NODE_W: f64 = 11.0;
const SANKEY_NODE_GAP: f64 = 10.0;
/// Segments of each edge of a band (a cubic Bézier curve).
const SANKEY_CURVE_STEPS: usize = 24;
const SANKEY_BAND_ALPHA: f64 = 0.35;
/// Space between a node and its label.
const SANKEY_LABEL_GAP: f64 = 6.0;
/// Narrowest room a label is drawn in.
const SANKEY_MIN_LABEL_W: f64 = 24.0;
/// Vertical space between two label blocks.
const SANKEY_LABEL_SEP: f64 = 2.0;
const SANKEY_HEADING_H: f64 = TICK_PX * 1.3 + 10.0;
/// Height a Sankey diagram keeps for its bands beyond the labels (see `sankey_min_height`).
const SANKEY_MIN_FLOW_H: f64 = 100.0;

/// The label block beside a Sankey node: `h` tall, the name centred in its first `first`
/// pixels; the value on a second line, or after the name.
#[derive(Clone, Copy)]
struct SankeyLabel {
    two_lines: bool,
    h: f64,
    first: f64,
}

const SANKEY_ONE_LINE: SankeyLabel = SankeyLabel {
    two_lines: false,
    h: LABEL_PX * 1.3,
    first: LABEL_PX * 1.3,
};
const SANKEY_TWO_LINES: SankeyLabel = SankeyLabel {
    two_lines: true,
    h: LABEL_PX * 1.25 + 4.0 + TICK_PX * 1.25 + 2.0,
    first: LABEL_PX * 1.25 + 4.0,
};

impl SankeyLabel {
    /// Top of the label of a node `node_h` tall, from the node's top: the block is centred
    /// on a tall node, the name line on a short one.
    fn offset(self, node_h: f64) -> f64 {
        (node_h - self.h.min(node_h.max(self.first))) / 2.0
    }
}

/// Header (title) and the unit to write at the top right, fitted.
fn sankey_head(c: &SankeyChart, w: f64) -> (Header, Option<String>) {
    let unit = c
        .unit
        .as_deref()
        .map(str::trim)
        .filter(|u| !u.is_empty())
        .map(|u| fit_text(u, TICK_PX, false, (w - 2.0 * PAD) * 0.3, 30));
    let unit_w = unit
        .as_deref()
        .map(|u| text_w(u, TICK_PX, false) + 16.0)
        .unwrap_or(0.0);
    let mut head = header_layout(w - unit_w, &c.title, &[], Mark::Square);
    if unit.is_some() {
        head.bottom = head.bottom.max(PAD + TITLE_PX * 1.3 + 10.0);
    }
    (head, unit)
}

/// Tall enough for one-line labels beside every node of the fullest column, and some flow.
pub(crate) fn sankey_min_height(c: &SankeyChart, w: f64) -> f64 {
    let (head, _) = sankey_head(c, w);
    let most = c.nodes.iter().map(Vec::len).max().unwrap_or(0);
    head.bottom
        + SANKEY_HEADING_H
        + most as f64 * (SANKEY_ONE_LINE.h + SANKEY_LABEL_SEP)
        + SANKEY_MIN_FLOW_H
        + PAD
}

/// Node tops per column at `scale`, packed from `top` with room for a `label` block beside
/// each node (`None`: packed tight), and how far down the lowest node or label reaches.
fn sankey_pack(
    c: &SankeyChart,
    scale: f64,
    label: Option<SankeyLabel>,
    top: f64,
) -> (Vec<Vec<f64>>, f64) {
    let mut reach = top;
    let tops = c
        .nodes
        .iter()
        .map(|col| {
            let hs: Vec<f64> = col.iter().map(|n| n.1 * scale).collect();
            let off = |i: usize| label.map_or(0.0, |l| l.offset(hs[i]));
            let label_h = label.map_or(0.0, |l| l.h);
            let mut ys: Vec<f64> = Vec::with_capacity(hs.len());
            for i in 0..hs.len() {
                // the first label may rise into the space under the headings
                let y = match i {
                    0 => top + (-off(0) - 6.0).max(0.0),
                    _ => {
                        let apart =
                            label.map_or(0.0, |_| off(i - 1) - off(i) + label_h + SANKEY_LABEL_SEP);
                        ys[i - 1] + (hs[i - 1] + SANKEY_NODE_GAP).max(apart)
                    }
                };
                reach = reach.max(y + hs[i]).max(y + off(i) + label_h);
                ys.push(y);
            }
            ys
        })
        .collect();
    (tops, reach)
}

/// Node colours: one palette colour per node name (the same event has the same colour in
/// every column, and in every diagram given the same [`SankeyChart::color_keys`]), slate
/// for "other".
pub(crate) fn sankey_colors(c: &SankeyChart) -> Vec<Vec<RGBColor>> {
    const OTHER: usize = 5; // slate
    let named: Vec<RGBColor> = (0..PALETTE.len())
        .filter(|&i| i != OTHER)
        .map(|i| PALETTE[i])
        .collect();
    let mut names: Vec<&str> = c
        .color_keys
        .iter()
        .map(String::as_str)
        .filter(|n| *n != SANKEY_OTHER)
        .collect();
    c.nodes
        .iter()
        .map(|col| {
            col.iter()
                .map(|(name, _)| {
                    if name == SANKEY_OTHER {
                        return PALETTE[OTHER];
                    }
                    let i = names
                        .iter()
                        .position(|n| *n == name.as_str())
                        .unwrap_or_else(|| {
                            names.push(name);
                            names.len() - 1
                        });
                    named[i % named.len()]
                })
                .collect()
        })
        .collect()
}

/// Tops of label blocks `size` tall, as near `want` (in order, top to bottom) as they can be
/// without overlapping, within `lo..=hi` (the fallback when nodes cannot make room).
fn spread_labels(want: &[f64], size: f64, lo: f64, hi: f64) -> Vec<f64> {
    let mut y: Vec<f64> = want.iter().map(|v| v.max(lo)).collect();
    for i in 1..y.len() {
        y[i] = y[i].max(y[i - 1] + size);
    }
    let mut limit = hi - size;
    for v in y.iter_mut().rev() {
        *v = v.min(limit);
        limit = *v - size;
    }
    if let Some(v) = y.first_mut() {
        *v = v.max(lo);
    }
    for i in 1..y.len() {
        y[i] = y[i].max(y[i - 1] + size);
    }
    y
}

/// `name` broken in two after a "_", "-" or space when it is wider than `first_w` on one
/// line: the longest first part that fits `first_w`, and a rest that fits `rest_w` (both in
/// [`LABEL_PX`] text). None when the name fits whole or no break fits.
fn split_label(name: &str, first_w: f64, rest_w: f64) -> Option<(String, String)> {
    let name = clean_text(name.trim());
    if name.chars().count() > 60 || text_w(&name, LABEL_PX, false) <= first_w {
        return None;
    }
    name.char_indices()
        .filter(|(_, c)| matches!(c, '_' | '-' | ' '))
        .map(|(i, c)| {
            let (a, b) = name.split_at(i + c.len_utf8());
            (a.trim_end().to_string(), b.trim_start().to_string())
        })
        .filter(|(a, b)| !a.is_empty() && !b.is_empty())
        .rfind(|(a, b)| {
            text_w(a, LABEL_PX, false) <= first_w && text_w(b, LABEL_PX, false) <= rest_w
        })
}

/// A point of the cubic Bézier curve from `a` to `b` that leaves and arrives horizontally.
fn sankey_curve(a: (f64, f64), b: (f64, f64), t: f64) -> (f64, f64) {
    let xm = (a.0 + b.0) / 2.0;
    let u = 1.0 - t;
    let x = u * u * u * a.0 + 3.0 * u * u * t * xm + 3.0 * u * t * t * xm + t * t * t * b.0;
    let y = u * u * u * a.1 + 3.0 * u * u * t * a.1 + 3.0 * u * t * t * b.1 + t * t * t * b.1;
    (x, y)
}

pub(crate) fn draw_sankey<DB: DrawingBackend>(
    c: &SankeyChart,
    p: &Painter<DB>,
    w: f64,
    h: f64,
) -> DrawResult {
    let (head, unit) = sankey_head(c, w);
    p.header(&head)?;
    if let Some(u) = &unit {
        let t = Txt::new(TICK_PX, MUTED).at(HPos::Right, VPos::Top);
        p.text(u, w - PAD, PAD + (TITLE_PX - TICK_PX) * 0.6, t)?;
    }
    let ncols = c.nodes.len();
    let last = ncols.saturating_sub(1);
    // Labels go right of the nodes, in the last column left of them: the last two columns
    // share the gap between them, which is half as wide again as the others.
    let labels_right = |i: usize| i < last || ncols == 1;
    let shares_gap = |i: usize| ncols > 1 && i + 1 >= last;
    let weight = |gap: usize| {
        if ncols >= 3 && gap + 2 == ncols {
            1.5
        } else {
            1.0
        }
    };
    let weights = (0..last).map(weight).sum::<f64>().max(1.0);
    // narrower nodes only when columns are crowded
    let node_w = SANKEY_NODE_W
        .min((w - 2.0 * PAD) / (weights + 1.0) * 0.3)
        .max(2.0);
    let unit = (w - 2.0 * PAD - node_w) / weights;
    let gap_w = |gap: usize| unit * weight(gap);
    let mut xs = vec![PAD; ncols];
    for i in 1..ncols {
        xs[i] = xs[i - 1] + gap_w(i - 1);
    }
    // widest label: up to 10 px before the next column's nodes
    let full_room = |i: usize| {
        if ncols == 1 {
            w - 2.0 * PAD - node_w - SANKEY_LABEL_GAP
        } else {
            gap_w(i.min(last - 1)) - node_w - SANKEY_LABEL_GAP - 10.0
        }
    };
    // two labels side by side in the last gap, 12 px apart
    let shared_room = gap_w(last.saturating_sub(1)) - node_w - 2.0 * SANKEY_LABEL_GAP - 12.0;

    // column headings; the last two share the last gap, each taking what the other leaves
    let heading_w = |i: usize| text_w(&clean_text(&c.steps[i]), TICK_PX, true);
    let across = gap_w(last.saturating_sub(1)) + node_w - 12.0;
    for (i, heading) in c.steps.iter().enumerate() {
        let room = if shares_gap(i) {
            let other = if i == last { last - 1 } else { last };
            (across - heading_w(other)).max(across / 2.0)
        } else {
            full_room(i) + node_w + SANKEY_LABEL_GAP
        };
        if room < SANKEY_MIN_LABEL_W {
            continue;
        }
        let heading = fit_text(heading, TICK_PX, true, room, 40);
        let t = Txt::new(TICK_PX, MUTED).bold();
        if labels_right(i) {
            p.text(&heading, xs[i], head.bottom, t.at(HPos::Left, VPos::Top))?;
        } else {
            let x = xs[i] + node_w;
            p.text(&heading, x, head.bottom, t.at(HPos::Right, VPos::Top))?;
        }
    }

    // One scale for all columns: as large as the nodes packed tight allow, then as large as
    // lets every label sit beside its own node (two-line labels when they cost little).
    let top = head.bottom + SANKEY_HEADING_H;
    let bottom = h - PAD;
    let plot_h = bottom - top;
    let tight = c
        .nodes
        .iter()
        .filter_map(|col| {
            let total: f64 = col.iter().map(|n| n.1).sum();
            let room =
                (plot_h - col.len().saturating_sub(1) as f64 * SANKEY_NODE_GAP).max(plot_h * 0.3);
            (total > 0.0).then(|| room / total)
        })
        .fold(f64::INFINITY, f64::min);
    let tight = if tight.is_finite() { tight } else { 0.0 };
    let fits = |k: f64, l: SankeyLabel| sankey_pack(c, k, Some(l), top).1 <= bottom + 0.5;
    let best = |l: SankeyLabel| -> Option<f64> {
        if fits(tight, l) {
            return Some(tight);
        }
        if !fits(0.0, l) {
            return None;
        }
        let (mut lo, mut hi) = (0.0, tight);
        for _ in 0..40 {
            let mid = (lo + hi) / 2.0;
            if fits(mid, l) {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Some(lo)
    };
    let (label, scale) = match (best(SANKEY_TWO_LINES), best(SANKEY_ONE_LINE)) {
        (Some(k2), Some(k1)) if k2 >= 0.75 * k1 => (Some(SANKEY_TWO_LINES), k2),
        (_, Some(k1)) => (Some(SANKEY_ONE_LINE), k1),
        _ => (None, tight),
    };
    let (node_y, _) = sankey_pack(c, scale, label, top);
    let colors = sankey_colors(c);

    // bands: leaving a node in the order of their targets, reaching one in the order of
    // their sources (so that bands cross as little as they can)
    let at = |col: usize, name: &str| c.nodes[col].iter().position(|n| n.0 == name);
    let links: Vec<(usize, usize, usize, f64)> = c
        .links
        .iter()
        .filter(|l| l.value > 0.0 && l.step + 1 < ncols)
        .filter_map(|l| {
            Some((
                l.step,
                at(l.step, &l.source)?,
                at(l.step + 1, &l.target)?,
                l.value,
            ))
        })
        .collect();
    let mut order: Vec<usize> = (0..links.len()).collect();
    order.sort_by_key(|&k| (links[k].0, links[k].2, links[k].1));
    let mut into = vec![0.0; links.len()];
    let mut offset: Vec<Vec<f64>> = c.nodes.iter().map(|col| vec![0.0; col.len()]).collect();
    for &k in &order {
        let (s, _, t, v) = links[k];
        into[k] = node_y[s + 1][t] + offset[s + 1][t];
        offset[s + 1][t] += v * scale;
    }
    order.sort_by_key(|&k| (links[k].0, links[k].1, links[k].2));
    let mut offset: Vec<Vec<f64>> = c.nodes.iter().map(|col| vec![0.0; col.len()]).collect();
    for &k in &order {
        let (s, f, _, v) = links[k];
        let th = v * scale;
        let from = node_y[s][f] + offset[s][f];
        offset[s][f] += th;
        let (x0, x1) = (xs[s] + node_w, xs[s + 1]);
        let n = SANKEY_CURVE_STEPS;
        let mut poly = Vec::with_capacity(2 * (n + 1));
        for i in 0..=n {
            poly.push(sankey_curve((x0, from), (x1, into[k]), i as f64 / n as f64));
        }
        for i in (0..=n).rev() {
            poly.push(sankey_curve(
                (x0, from + th),
                (x1, into[k] + th),
                i as f64 / n as f64,
            ));
        }
        p.area_fill(&poly, colors[s][f], SANKEY_BAND_ALPHA)?;
    }

    // nodes
    for (i, col) in c.nodes.iter().enumerate() {
        for (k, (_, total)) in col.iter().enumerate() {
            let y = node_y[i][k];
            p.rect(
                xs[i],
                y,
                xs[i] + node_w,
                y + (total * scale).max(2.0),
                colors[i][k],
            )?;
        }
    }

    // labels, on top of the bands: where each goes and how wide it would like to be
    let lab = label.unwrap_or(SANKEY_ONE_LINE);
    let label_top: Vec<Vec<f64>> = c
        .nodes
        .iter()
        .zip(&node_y)
        .map(|(col, ys)| {
            let want: Vec<f64> = col
                .iter()
                .zip(ys)
                .map(|(n, y)| y + lab.offset(n.1 * scale))
                .collect();
            match label {
                Some(_) => want,
                None => spread_labels(&want, lab.h, top, bottom),
            }
        })
        .collect();
    let values: Vec<Vec<String>> = c
        .nodes
        .iter()
        .map(|col| col.iter().map(|n| format_compact(n.1)).collect())
        .collect();
    let need: Vec<Vec<f64>> = c
        .nodes
        .iter()
        .zip(&values)
        .map(|(col, vals)| {
            col.iter()
                .zip(vals)
                .map(|(n, v)| {
                    let name_w = text_w(&fit_text(&n.0, LABEL_PX, false, 1e9, 60), LABEL_PX, false);
                    let value_w = text_w(v, TICK_PX, false);
                    if lab.two_lines {
                        name_w.max(value_w)
                    } else {
                        name_w + 5.0 + value_w
                    }
                })
                .collect()
        })
        .collect();
    // In the last gap a label has the whole gap unless one across it is level with it.
    let room = |i: usize, k: usize| -> f64 {
        if !shares_gap(i) {
            return full_room(i);
        }
        let j = if i == last { last - 1 } else { last };
        let (t0, t1) = (label_top[i][k], label_top[i][k] + lab.h);
        let across = label_top[j]
            .iter()
            .zip(&need[j])
            .filter(|(t, _)| **t < t1 + SANKEY_LABEL_SEP && **t + lab.h + SANKEY_LABEL_SEP > t0)
            .map(|(_, n)| *n)
            .fold(None, |m: Option<f64>, n| Some(m.map_or(n, |m| m.max(n))));
        match across {
            None => full_room(i),
            Some(other) => (shared_room - other)
                .max(shared_room / 2.0)
                .min(full_room(i)),
        }
    };
    for (i, col) in c.nodes.iter().enumerate() {
        let right = labels_right(i);
        let (lx, hp) = if right {
            (xs[i] + node_w + SANKEY_LABEL_GAP, HPos::Left)
        } else {
            (xs[i] - SANKEY_LABEL_GAP, HPos::Right)
        };
        for (k, (name, _)) in col.iter().enumerate() {
            let max_w = room(i, k);
            if max_w < SANKEY_MIN_LABEL_W {
                continue; // no room for even a few letters
            }
            let value = &values[i][k];
            let ly = label_top[i][k];
            let cy = ly + lab.first / 2.0;
            let name_t = Txt::new(LABEL_PX, INK);
            let value_t = Txt::new(TICK_PX, MUTED);
            if lab.two_lines {
                // A name too long for its room breaks after a "_", "-" or space: its first
                // part on the name line, the rest before the value on the second.
                let value_w = text_w(value, TICK_PX, false) + 5.0;
                if let Some((a, b)) = split_label(name, max_w, max_w - value_w) {
                    p.text(&a, lx, cy, name_t.at(hp, VPos::Center))?;
                    let y2 = ly + lab.first;
                    let b_w = text_w(&b, LABEL_PX, false);
                    if right {
                        p.text(&b, lx, y2, name_t.at(HPos::Left, VPos::Top))?;
                        p.text(
                            value,
                            lx + b_w + 5.0,
                            y2 + 1.0,
                            value_t.at(HPos::Left, VPos::Top),
                        )?;
                    } else {
                        p.text(value, lx, y2 + 1.0, value_t.at(HPos::Right, VPos::Top))?;
                        p.text(&b, lx - value_w, y2, name_t.at(HPos::Right, VPos::Top))?;
                    }
                    continue;
                }
                let name = fit_text(name, LABEL_PX, false, max_w, 60);
                let value = fit_text(value, TICK_PX, false, max_w, 20);
                p.text(&name, lx, cy, name_t.at(hp, VPos::Center))?;
                p.text(&value, lx, ly + lab.first, value_t.at(hp, VPos::Top))?;
                continue;
            }
            // one line: "name value", or the name alone when both do not fit
            let value_w = text_w(value, TICK_PX, false) + 5.0;
            let with_value = max_w - value_w >= 24.0;
            let name_w = if with_value { max_w - value_w } else { max_w };
            let name = fit_text(name, LABEL_PX, false, name_w, 60);
            let shown_w = text_w(&name, LABEL_PX, false);
            if right {
                p.text(&name, lx, cy, name_t.at(HPos::Left, VPos::Center))?;
                if with_value {
                    let t = value_t.at(HPos::Left, VPos::Center);
                    p.text(value, lx + shown_w + 5.0, cy, t)?;
                }
            } else {
                let mut x = lx;
                if with_value {
                    p.text(value, x, cy, value_t.at(HPos::Right, VPos::Center))?;
                    x -= value_w;
                }
                p.text(&name, x, cy, name_t.at(HPos::Right, VPos::Center))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::ChartSpec;
    use crate::tera_functions::register;
    use crate::test_support::{count, fill_count, sankey_args, sankey_rows};
    use serde_json::json;

    #[test]
    fn sankey_svg_bands_labels_and_escaping() {
        let s = ChartSpec::from_tera_args("sankey_chart", &sankey_args("<b>&", json!({})))
            .unwrap()
            .render_svg()
            .unwrap();
        assert!(
            s.starts_with("<svg ") && s.contains("viewBox=\"0 0 1000 420\""),
            "{s}"
        );
        assert!(s.contains("aria-label=\"User paths\"") && s.contains(">\nUser paths\n<"));
        for x in [
            "Start", "Step 1", "Step 2", "sessions", "home", "product", "search", "checkout",
        ] {
            assert!(s.contains(&format!(">\n{x}\n<")), "{x} in {s}");
        }
        // node totals (compact): home 100, product 60, cart 31 in the last column
        for x in ["100", "60", "31", "15"] {
            assert!(s.contains(&format!(">\n{x}\n<")), "{x} in {s}");
        }
        // one band per link, one bar per node (2 + 3 + 3) plus the background
        assert_eq!(count(&s, "<polygon"), 8, "{s}");
        assert_eq!(count(&s, "<rect"), 8 + 1, "{s}");
        assert_eq!(count(&s, "opacity=\"0.35\""), 8);
        assert!(!s.contains("<b>"), "{s}");
        assert!(s.contains(">\n&lt;b&gt;&amp;\n<"), "{s}");
        // with max_nodes=2: 6 links, 6 nodes; "other" is drawn (in slate)
        let s = ChartSpec::from_tera_args(
            "sankey_chart",
            &sankey_args("landing", json!({"max_nodes": 2})),
        )
        .unwrap()
        .render_svg()
        .unwrap();
        assert_eq!(count(&s, "<polygon"), 6);
        assert_eq!(count(&s, "<rect"), 6 + 1);
        assert!(s.contains(">\nother\n<"));
        assert_eq!(
            fill_count(&s, PALETTE[5]),
            2 + 2,
            "two 'other' bars, two bands from one"
        );
        // also through Tera
        let mut tera = tera::Tera::default();
        register(&mut tera);
        tera.add_raw_template(
            "s.html",
            "{{ sankey_chart(rows=rows, step=\"step\", source=\"event\", target=\"next\", value=\"sessions\") }}",
        )
        .unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("rows", &sankey_rows("landing"));
        let html = tera.render("s.html", &ctx).unwrap();
        assert!(
            html.starts_with("<svg ") && html.contains("Sessions by step"),
            "{html}"
        );
    }
}
