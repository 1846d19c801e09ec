//! journey-charts: the charts of journey-report's pages, rendered as inline SVG strings for
//! the web pages and as PNG images for the e-mails, and called from Tera templates.
//!
//! A chart is first a [`ChartSpec`] — pure data (categories, series, labels, size) — and
//! only then drawn. [`ChartSpec::draw`] is generic over plotters' [`DrawingBackend`], so the
//! same spec renders to SVG for report pages ([`ChartSpec::render_svg`]) and to PNG for
//! e-mail ([`ChartSpec::render_png`]: plotters' bitmap backend, with the text drawn by the
//! crate's `bitmap_text` module as a browser draws the SVG's).
//!
//! [`DrawingBackend`]: plotters::prelude::DrawingBackend
//!
//! Templates call the five functions registered by [`register`]:
//!
//! ```text
//! {{ bar_chart(rows=revenue_by_channel, x="channel", y="revenue", title="Revenue by channel",
//!              x_label="Channel", y_label="Revenue", unit="EUR") | safe }}
//! {{ line_chart(rows=daily, x="day", y=["events", "orders"], series=["Events", "Orders"]) }}
//! {{ funnel_chart(rows=funnel, stage="stage", value="customers", unit="customers") }}
//! {{ heatmap_chart(rows=activity, x="hour", y="day_of_week", value="events",
//!                  y_labels=["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]) }}
//! {{ sankey_chart(rows=paths, step="step", source="event", target="next_event",
//!                 value="sessions", unit="sessions", max_nodes=6) }}
//! ```
//!
//! `rows` is the result of a SQL model: an array of JSON objects, one per row, numbers as
//! JSON numbers (numeric strings such as `"12.50"` are accepted too), dates as strings, NULL
//! as `null`. The functions return the SVG markup and mark it safe, so `| safe` is optional.
//!
//! NULL handling: a NULL value counts as 0 in bar, funnel, heatmap and Sankey charts, and is
//! skipped in line charts (the line breaks there). A NULL category, stage or Sankey node is
//! shown as `(null)`; a row whose line-chart date, heatmap x/y or Sankey step is NULL is
//! skipped. Non-finite values (`NaN`,
//! `inf`, e.g. from a division by zero in SQL) are errors. A model with no rows renders a
//! small chart saying "No data".
//!
//! All text from the data (categories, stages, titles, series names) is XML-escaped by the
//! SVG backend (`&`, `<`, `>`, `"`, `'`) and stripped of control characters; the output
//! contains no script and no XML prolog. Text is measured with the bundled DejaVu Sans font
//! (registered with plotters' `ab_glyph` as `sans-serif`), so layout never depends on the
//! host's fonts; browsers draw the SVG text in their own `sans-serif`, which is never wider
//! than DejaVu Sans in practice, so labels measured to fit keep fitting.
//!
//! Errors are [`Error`]s whose [`ChartErrorKind`] says who is at fault: the chart's
//! specification, a value from the data, or a bug.
//!
//! Modules (private; their public items are re-exported here):
//!
//! - `spec`: [`ChartSpec`], the sizes every kind shares, validation and rendering;
//! - `tera_functions`: [`register`], [`register_png`]; `args`: the functions' arguments,
//!   turned into a spec by [`ChartSpec::from_tera_args`];
//! - `format`: [`format_number`], [`format_compact`], axis ticks;
//! - `draw`: fonts, colours, text and the shapes every chart draws; `labels`: category
//!   labels under bars and heatmap columns; `bar`, `line`, `funnel`, `heatmap`, `sankey`:
//!   one chart kind each, its struct ([`BarChart`], …) and its drawing; `bitmap_text`: the
//!   e-mail PNGs' text;
//! - `error`: [`Error`].

#![warn(missing_docs)]

mod args;
mod bar;
mod bitmap_text;
mod draw;
mod error;
mod format;
mod funnel;
mod heatmap;
mod labels;
mod line;
mod sankey;
mod spec;
mod tera_functions;
#[cfg(test)]
mod test_support;

pub use bar::{BarChart, Series};
pub use error::{ChartErrorKind, Error, Result};
pub use format::{format_compact, format_number};
pub use funnel::FunnelChart;
pub use heatmap::{DEFAULT_HEATMAP_HEIGHT, HeatmapChart};
pub use line::{LineChart, LineSeries};
pub use sankey::{DEFAULT_SANKEY_HEIGHT, SankeyChart, SankeyLink};
pub use spec::{ChartSpec, DEFAULT_HEIGHT, DEFAULT_WIDTH, MAX_SIZE, MIN_SIZE};
pub use tera_functions::{CHART_FUNCTIONS, ImageSink, InlineImage, register, register_png};

#[cfg(test)]
mod tests {
    use crate::spec::ChartSpec;
    use crate::test_support::{args, svg};
    use chrono::{Datelike, Days, NaiveDate};
    use serde_json::json;
    use tera::Value;

    /// GA4-style path exploration rows: (step, event, next event, sessions).
    fn sankey_demo_rows() -> Value {
        let rows: &[(u32, &str, &str, u32)] = &[
            (0, "session_start", "page_view", 4200),
            (0, "session_start", "view_item", 1300),
            (0, "session_start", "view_search_results", 600),
            (0, "session_start", "scroll", 250),
            (0, "session_start", "first_visit", 180),
            (0, "session_start", "login", 90),
            (0, "page_view", "view_item", 1600),
            (0, "page_view", "page_view", 900),
            (0, "page_view", "add_to_cart", 300),
            (0, "page_view", "scroll", 420),
            (0, "view_item", "add_to_cart", 520),
            (0, "view_item", "view_item", 380),
            (0, "view_item", "page_view", 260),
            (1, "page_view", "page_view", 1500),
            (1, "page_view", "view_item", 1700),
            (1, "page_view", "scroll", 500),
            (1, "view_item", "add_to_cart", 1200),
            (1, "view_item", "view_item", 600),
            (1, "view_item", "page_view", 400),
            (1, "add_to_cart", "begin_checkout", 480),
            (1, "add_to_cart", "view_item", 120),
            (1, "view_search_results", "view_item", 300),
            (1, "view_search_results", "page_view", 150),
            (1, "scroll", "page_view", 300),
            (1, "first_visit", "page_view", 100),
            (1, "login", "view_cart", 60),
            (2, "page_view", "page_view", 900),
            (2, "page_view", "view_item", 800),
            (2, "view_item", "add_to_cart", 900),
            (2, "view_item", "view_item", 500),
            (2, "add_to_cart", "begin_checkout", 700),
            (2, "begin_checkout", "add_payment_info", 300),
            (2, "begin_checkout", "purchase", 120),
            (2, "scroll", "page_view", 200),
            (2, "view_cart", "begin_checkout", 40),
        ];
        rows.iter()
            .map(|(s, a, b, n)| json!({"step": s, "event": a, "next_event": b, "sessions": n}))
            .collect()
    }

    /// Writes a gallery to /tmp/charts-demo for a visual check:
    /// `cargo test -p journey-charts --release --lib tests::demo_gallery -- --ignored`.
    #[test]
    #[ignore]
    fn demo_gallery() {
        let dir = std::path::Path::new("/tmp/charts-demo");
        std::fs::create_dir_all(dir).unwrap();
        let mut charts: Vec<(&str, String)> = Vec::new();
        let channels = json!([
            {"channel": "paid_search", "revenue": 412345.67, "first": 320, "last": 410, "linear": 365},
            {"channel": "organic", "revenue": 298120.0, "first": 280, "last": 190, "linear": 240},
            {"channel": "email", "revenue": 187450.5, "first": 90, "last": 260, "linear": 170},
            {"channel": "social", "revenue": 96320.0, "first": 210, "last": 80, "linear": 140},
            {"channel": "direct", "revenue": 154000.0, "first": 60, "last": 150, "linear": 110},
            {"channel": "referral", "revenue": 41230.25, "first": 40, "last": 30, "linear": 35},
        ]);
        charts.push(("bar", svg("bar_chart", json!({"rows": channels, "x": "channel", "y": "revenue", "title": "Revenue by channel", "x_label": "Channel", "y_label": "Revenue", "unit": "EUR"}))));
        charts.push(("grouped", svg("bar_chart", json!({"rows": channels, "x": "channel", "y": ["first", "last", "linear"], "series": ["First touch", "Last touch", "Linear"], "title": "Attributed conversions by model", "x_label": "Channel", "y_label": "Conversions"}))));
        let paths = json!([
            {"path": "social > paid_search > direct", "customers": 1843},
            {"path": "paid_search > direct", "customers": 1620},
            {"path": "email > email > direct > paid_search > organic > email > direct", "customers": 1211},
            {"path": "organic", "customers": 980},
            {"path": "referral > <script>alert(\"x\")</script> & co", "customers": 402},
            {"path": "direct", "customers": 377},
        ]);
        charts.push(("horizontal", svg("bar_chart", json!({"rows": paths, "x": "path", "y": "customers", "horizontal": true, "title": "Top converting paths", "x_label": "Channel path", "y_label": "Customers"}))));
        let start = NaiveDate::from_ymd_opt(2025, 11, 1).unwrap();
        let rows: Vec<Value> = (0..365)
            .map(|i| {
                let d = start + Days::new(i);
                let season = 1.0 + 0.3 * ((i as f64) / 365.0 * std::f64::consts::TAU).sin();
                let week = if d.weekday().number_from_monday() >= 6 {
                    0.7
                } else {
                    1.0
                };
                let noise = ((i * 7919) % 97) as f64 / 97.0;
                json!({"day": d.format("%Y-%m-%d").to_string(),
                       "revenue": (18000.0 * season * week + 3000.0 * noise).round(),
                       "events": (9000.0 * season * week + 1500.0 * noise).round(),
                       "orders": (2400.0 * season * week + 400.0 * noise).round()})
            })
            .collect();
        charts.push(("line", svg("line_chart", json!({"rows": rows, "x": "day", "y": "revenue", "title": "Daily revenue", "x_label": "Day", "y_label": "Revenue", "unit": "EUR"}))));
        charts.push(("lines", svg("line_chart", json!({"rows": rows, "x": "day", "y": ["events", "orders"], "series": ["Events", "Orders"], "title": "Daily events and orders", "x_label": "Day", "y_label": "Count"}))));
        let funnel = json!([
            {"stage": "Visited site", "customers": 48210},
            {"stage": "Viewed product", "customers": 30115},
            {"stage": "Added to cart", "customers": 12480},
            {"stage": "Started checkout", "customers": 6120},
            {"stage": "Purchased", "customers": 4087},
        ]);
        charts.push(("funnel", svg("funnel_chart", json!({"rows": funnel, "stage": "stage", "value": "customers", "title": "Purchase funnel (14-day window)", "unit": "customers"}))));
        let mut heat = Vec::new();
        for dow in 1..=7 {
            for hour in 0..24 {
                let day = if dow >= 6 { 0.6 } else { 1.0 };
                let curve = (-((hour as f64 - 13.0) / 5.0).powi(2)).exp()
                    + 0.3 * (-((hour as f64 - 20.0) / 2.0).powi(2)).exp();
                heat.push(json!({"hour": hour, "day_of_week": dow, "events": (5200.0 * day * curve + 80.0).round()}));
            }
        }
        charts.push(("heatmap", svg("heatmap_chart", json!({"rows": heat, "x": "hour", "y": "day_of_week", "value": "events", "title": "Activity by hour and weekday", "x_label": "Hour of day", "y_label": "Day of week", "unit": "events", "y_labels": ["Mon","Tue","Wed","Thu","Fri","Sat","Sun"]}))));
        charts.push((
            "empty",
            svg(
                "bar_chart",
                json!({"rows": [], "x": "c", "y": "v", "title": "Refunds by channel"}),
            ),
        ));
        // edge cases
        let campaigns: Vec<Value> = (0..30)
            .map(|i| json!({"campaign": format!("spring_sale_campaign_{i:02}"), "clicks": (i * 37 % 23) * 1000 + 500}))
            .collect();
        charts.push(("e_many", svg("bar_chart", json!({"rows": campaigns, "x": "campaign", "y": "clicks", "title": "Clicks by campaign"}))));
        let wrap = json!([
            {"segment": "Champions", "customers": 1200, "delta": 12.5},
            {"segment": "Loyal customers", "customers": 2400, "delta": -3.25},
            {"segment": "Potential loyalists", "customers": 1800, "delta": 7.0},
            {"segment": "Can't lose them", "customers": 300, "delta": -8.75},
            {"segment": "At risk", "customers": 900, "delta": -1.5},
            {"segment": "Hibernating customers", "customers": 3100, "delta": 2.0},
            {"segment": "Need attention", "customers": 700, "delta": 0.5},
            {"segment": "About to sleep", "customers": 650, "delta": -0.25},
        ]);
        charts.push(("e_neg", svg("bar_chart", json!({"rows": wrap, "x": "segment", "y": "delta", "title": "Change in segment size vs. last month, by RFM segment — a deliberately long title that must not overflow the chart", "unit": "%", "y_label": "Change"}))));
        charts.push(("e_hgroup", svg("bar_chart", json!({"rows": channels, "x": "channel", "y": ["first", "last", "linear"], "series": ["First touch", "Last touch", "Linear"], "horizontal": true, "title": "Attributed conversions (horizontal)", "x_label": "Channel", "y_label": "Conversions"}))));
        charts.push(("e_small", svg("bar_chart", json!({"rows": channels, "x": "channel", "y": "revenue", "title": "Revenue by channel (400 px)", "unit": "EUR", "width": 400, "height": 260}))));
        let few: Vec<Value> = (0..12)
            .map(|i| json!({"month": format!("2026-{:02}", i + 1), "ltv": 40.0 + i as f64 * 3.5 + if i % 3 == 0 { 4.0 } else { 0.0 }}))
            .collect();
        charts.push(("e_months", svg("line_chart", json!({"rows": few, "x": "month", "y": "ltv", "title": "Average LTV by signup month", "unit": "EUR", "y_label": "LTV", "x_label": "Signup month"}))));
        let days: Vec<Value> = (0..14)
            .map(|i| json!({"day": format!("2026-10-{:02}", i + 18), "sessions": 120000 + (i * 7919 % 13) * 9000}))
            .collect();
        charts.push(("e_days", svg("line_chart", json!({"rows": days, "x": "day", "y": "sessions", "title": "Sessions, last 14 days"}))));
        let mut cohort = Vec::new();
        for c in 0..8 {
            for m in 0..(8 - c) {
                cohort.push(json!({"cohort": format!("2026-{:02}", c + 1), "month": m, "retention": if m == 0 { 100.0 } else { 100.0 * 0.55f64.powf(m as f64 * 0.6) - c as f64 }}));
            }
        }
        charts.push(("e_cohort", svg("heatmap_chart", json!({"rows": cohort, "x": "month", "y": "cohort", "value": "retention", "title": "Retention by signup cohort", "x_label": "Months since signup", "y_label": "Cohort", "unit": "% retained", "height": 340}))));
        let stages: Vec<Value> = [
            "Visited",
            "Signed up",
            "Activated",
            "Added payment",
            "First order",
            "Second order",
            "Third order",
            "Subscribed",
            "Referred a friend",
        ]
        .iter()
        .enumerate()
        .map(|(i, s)| json!({"stage": s, "n": (100000.0 * 0.6f64.powi(i as i32)).round()}))
        .collect();
        charts.push(("e_tiny", svg("bar_chart", json!({"rows": [{"c": null, "v": 1e15}, {"c": 2025, "v": "12.5"}], "x": "c", "y": "v", "width": 160, "height": 160}))));
        let hours: Vec<Value> = (0..48).map(|i| json!({"t": format!("2026-10-{:02} {:02}:00:00", 30 + i / 24, i % 24), "v": (i * 37 % 11) as f64 - 3.0})).collect();
        charts.push(("e_hours", svg("line_chart", json!({"rows": hours, "x": "t", "y": "v", "title": "Hourly net change", "unit": "orders"}))));
        charts.push(("e_funnel", svg("funnel_chart", json!({"rows": stages, "stage": "stage", "value": "n", "title": "Lifecycle funnel"}))));
        let paths = sankey_demo_rows();
        charts.push(("sankey", svg("sankey_chart", json!({"rows": paths, "step": "step", "source": "event", "target": "next_event", "value": "sessions", "title": "User paths from session start", "unit": "sessions", "width": 1000, "height": 420}))));
        // the e-mail form: PNG at 560 px
        let png_spec = ChartSpec::from_tera_args("sankey_chart", &args(json!({"rows": paths, "step": "step", "source": "event", "target": "next_event", "value": "sessions", "title": "User paths from session start", "unit": "sessions", "width": 1000, "height": 420}))).unwrap();
        std::fs::write(
            dir.join("sankey-560.png"),
            png_spec.with_width(560).render_png().unwrap(),
        )
        .unwrap();
        charts.push(("e_sankey", svg("sankey_chart", json!({"rows": paths, "step": "step", "source": "event", "target": "next_event", "value": "sessions", "title": "User paths (560 px, top 4 per step)", "unit": "sessions", "max_nodes": 4, "width": 560}))));
        let long: Vec<Value> = (0..3)
            .flat_map(|step| {
                (0..14).map(move |k| json!({"step": step, "event": format!("page_view: /category/item-{k}"), "next_event": format!("page_view: /category/item-{}", (k * 5 + step) % 14), "sessions": 5000 / (k + 1) + 40}))
            })
            .collect();
        charts.push(("e_sankey_many", svg("sankey_chart", json!({"rows": long, "step": "step", "source": "event", "target": "next_event", "value": "sessions", "title": "Page paths, 12 nodes per step", "max_nodes": 12}))));
        let mut html = String::from(
            "<!doctype html><html><head><meta charset=\"utf-8\"><title>charts</title><style>\
             body{font-family:sans-serif;background:#f3f4f6;margin:24px}\
             .card{background:#fff;border-radius:8px;padding:8px;margin:0 0 24px;max-width:760px;box-shadow:0 1px 2px #0002}\
             svg{max-width:100%;height:auto;display:block}</style></head><body>",
        );
        for (name, s) in &charts {
            std::fs::write(dir.join(format!("{name}.svg")), s).unwrap();
            html.push_str(&format!("<div class=\"card\">{s}</div>\n"));
        }
        html.push_str("</body></html>");
        std::fs::write(dir.join("index.html"), html).unwrap();
    }
}
