//! Helpers shared by the unit tests of several modules.

use std::collections::HashMap;

use plotters::style::RGBColor;
use serde_json::json;
use tera::Value;

use crate::spec::ChartSpec;

/// The arguments of a Tera function call, from a JSON object.
pub(crate) fn args(v: Value) -> HashMap<String, Value> {
    v.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The SVG of the chart function `kind` called with the arguments `v`.
pub(crate) fn svg(kind: &str, v: Value) -> String {
    ChartSpec::from_tera_args(kind, &args(v))
        .unwrap()
        .render_svg()
        .unwrap()
}

/// How often `needle` occurs in `haystack`.
pub(crate) fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Rects drawn in `color` (plotters writes `fill="#RRGGBB"`).
pub(crate) fn fill_count(svg: &str, c: RGBColor) -> usize {
    count(svg, &format!("fill=\"#{:02X}{:02X}{:02X}\"", c.0, c.1, c.2))
}

/// Four channels' revenue and orders (one revenue is NULL).
pub(crate) fn channel_rows() -> Value {
    json!([
        {"channel": "paid_search", "revenue": 125000.5, "orders": 410},
        {"channel": "email", "revenue": 64000, "orders": 220},
        {"channel": "organic", "revenue": 98000, "orders": 350},
        {"channel": "social", "revenue": null, "orders": 80},
    ])
}

/// Paths over three columns; `start` names the second start event.
pub(crate) fn sankey_rows(start: &str) -> Value {
    json!([
        {"step": 0, "event": "home", "next": "product", "sessions": 50},
        {"step": 0, "event": "home", "next": "search", "sessions": 30},
        {"step": 0, "event": "home", "next": "cart", "sessions": 20},
        {"step": 0, "event": start, "next": "product", "sessions": 4},
        {"step": 0, "event": start, "next": "product", "sessions": "6"},
        {"step": 1, "event": "product", "next": "cart", "sessions": 25},
        {"step": 1, "event": "search", "next": "product", "sessions": 12},
        {"step": 1, "event": "search", "next": "cart", "sessions": 6},
        {"step": 1, "event": "cart", "next": "checkout", "sessions": 15},
        {"step": 1, "event": "cart", "next": "checkout", "sessions": null},
        {"step": null, "event": "ignored", "next": "ignored", "sessions": 99},
    ])
}

/// A Sankey chart's arguments over [`sankey_rows`], 1000 × 420, with `extra` added.
pub(crate) fn sankey_args(start: &str, extra: Value) -> HashMap<String, Value> {
    let mut a = args(
        json!({"rows": sankey_rows(start), "step": "step", "source": "event",
                            "target": "next", "value": "sessions", "title": "User paths",
                            "unit": "sessions", "width": 1000, "height": 420}),
    );
    a.extend(args(extra));
    a
}
