//! The Tera functions templates call: [`register`] (inline SVG for report pages) and
//! [`register_png`] (PNG images for e-mail, collected in an [`ImageSink`] as
//! [`InlineImage`]s).

use std::collections::HashMap;

use tera::Value;

use crate::draw::{clean_text, escape_xml_into};
use crate::spec::ChartSpec;

struct ChartFunction(&'static str);

impl tera::Function for ChartFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let spec = ChartSpec::from_tera_args(self.0, args)?;
        let svg = spec
            .render_svg()
            .map_err(|e| tera::Error::msg(format!("{}: {e}", self.0)))?;
        Ok(Value::String(svg))
    }
    fn is_safe(&self) -> bool {
        true
    }
}

/// Registers the Tera functions `bar_chart`, `line_chart`, `funnel_chart`, `heatmap_chart`
/// and `sankey_chart`. Each returns the chart's SVG markup as a string marked safe (so
/// `{{ bar_chart(...) | safe }}` and `{{ bar_chart(...) }}` both work).
///
/// Arguments (`rows` and the column names are required, the rest optional):
///
/// - `bar_chart(rows, x, y, title, x_label, y_label, unit, series, horizontal, percent, n,
///   width, height)`: `x` the category column; `y` a value column or an array of them
///   (grouped bars, with `series` as legend labels, default the column names);
///   `horizontal=true` draws horizontal bars (category names beyond 40 characters are cut
///   with "…"); `percent=true` shows fractions (0.12) as percentages (12, unit "%"); `n` a
///   column of sample sizes, written after each category ("mobile (n = 1,234)").
/// - `line_chart(rows, x, y, title, x_label, y_label, unit, series, moving_average, width,
///   height)`: `x` a date (`"2026-10-31"`), month (`"2026-10"`) or timestamp column; rows are
///   sorted by it. `moving_average=7` (one `y` column, 2 to 90) adds a series "7-day moving
///   average": on each day from the seventh on, the mean of the values of the rows dated
///   in the 7 days ending that day (days without a row are left out of the mean).
/// - `funnel_chart(rows, stage, value, title, unit, width, height)`: one bar per row, in row
///   order.
/// - `heatmap_chart(rows, x, y, value, title, x_label, y_label, unit, x_labels, y_labels,
///   width, height)`: `x` and `y` integer columns (e.g. hour 0–23, day of week 1–7) or text
///   columns. With `x_labels`/`y_labels` (L labels), integers map 0-based when a 0 occurs
///   (0..L-1), else 1-based (1..L, so 1 = the first label, e.g. Monday), else their sorted
///   distinct values map to the labels in order; text values must be among the labels and
///   follow their order. Without labels, integers span min..=max and text values keep
///   their order of first appearance. Rows with the same cell are summed, missing cells
///   are 0, rows with a NULL x or y are skipped. Every named column keeps its label (on
///   two lines, or upright, when the columns are narrow); numeric ones (hours) may show
///   every other label. Every cell's label has the same decimals (`decimals`, default from
///   the values) and `suffix` (e.g. `"×"`); `percent=true` shows fractions (0.58) as
///   percentages (58%); `complete` names a boolean column: cells where it is false are
///   marked with a `*` (a period still running); `clip_percentile` (50–100) tops the
///   colour scale at that percentile of the cells, so that an outlier does not wash out
///   the rest (cells above are darkest; the legend reads "≥ value").
/// - `sankey_chart(rows, step, source, target, value, title, unit, max_nodes, step_labels,
///   width, height)`: one row per link (flow) of user paths. `step` an integer column, the link's
///   source column (0-based: 0 is the "Start" column, 1 "Step 1"…; the target is in the next
///   column; a first step of 1 makes the first column "Step 1"), at most 20 steps; `source`
///   and `target` text columns (node names, e.g. events); `value` a number column (e.g.
///   sessions), not negative. Rows with the same step, source and target are summed; rows
///   with a NULL step are skipped. `max_nodes` (default 6, 2 to 50): per column, the
///   largest `max_nodes - 1` nodes are kept and the rest merged into one node "other" (when
///   there are more than `max_nodes`). A node's total is the sum of its incoming links (in
///   the first column, of its outgoing ones); less outgoing than incoming flow is paths that
///   ended there. `unit` is written at the top right. `step_labels`: headings by step value
///   (`step_labels[n]` for the column of step n) instead of "Start", "Step 1", … (e.g. for
///   paths read backwards); steps without a label keep the default. `color_keys`: node
///   names in the order they take the palette's colours (pass the same list to two
///   diagrams and an event has the same colour in both); names not in it follow, in their
///   order of appearance.
///
/// Defaults: `title` "Revenue by channel" style from the column names, `x_label`/`y_label`
/// the column names made readable, `width` 720, `height` 360 (heatmap 300, Sankey 420).
/// A title wider than the chart wraps at spaces onto up to three lines.
pub fn register(tera: &mut tera::Tera) {
    for name in CHART_FUNCTIONS {
        tera.register_function(name, ChartFunction(name));
    }
}

/// The names of the chart functions templates call.
pub const CHART_FUNCTIONS: [&str; 5] = [
    "bar_chart",
    "line_chart",
    "funnel_chart",
    "heatmap_chart",
    "sankey_chart",
];

/// A PNG chart to attach to an e-mail, referenced from its HTML as `cid:<content_id>`.
#[derive(Debug, Clone)]
pub struct InlineImage {
    /// Content-ID without angle brackets, e.g. `chart-3@journey-report`.
    pub content_id: String,
    /// PNG bytes.
    pub png: Vec<u8>,
    /// Alternative text (the chart's title).
    pub alt: String,
    /// Pixel size.
    pub width: u32,
    /// Pixel size.
    pub height: u32,
}

/// Where the e-mail form of the chart functions puts the images it renders.
pub type ImageSink = std::sync::Arc<std::sync::Mutex<Vec<InlineImage>>>;

struct PngChartFunction {
    name: &'static str,
    sink: ImageSink,
    max_width: u32,
}

impl tera::Function for PngChartFunction {
    fn call(&self, args: &HashMap<String, Value>) -> tera::Result<Value> {
        let spec = ChartSpec::from_tera_args(self.name, args)?;
        let spec = spec.with_width(spec.requested_size().0.min(self.max_width));
        let png = spec
            .render_png()
            .map_err(|e| tera::Error::msg(format!("{}: {e}", self.name)))?;
        let (width, height) = spec.size();
        let mut images = self
            .sink
            .lock()
            .map_err(|_| tera::Error::msg("image list poisoned"))?;
        let content_id = format!("chart-{}@journey-report", images.len() + 1);
        let mut alt = String::new();
        escape_xml_into(&mut alt, &clean_text(spec.title()));
        let tag = format!(
            "<img src=\"cid:{content_id}\" width=\"{width}\" height=\"{height}\" alt=\"{alt}\" style=\"display:block;max-width:100%;height:auto;border:0\">"
        );
        images.push(InlineImage {
            content_id,
            png,
            alt: spec.title().to_string(),
            width,
            height,
        });
        Ok(Value::String(tag))
    }
    fn is_safe(&self) -> bool {
        true
    }
}

/// Registers the e-mail form of the chart functions (same names and arguments as
/// [`register`]): each chart is laid out at most `max_width` pixels wide, rendered to PNG
/// (fonts embedded, nothing from the host) and pushed to `sink`; the function returns an
/// `<img src="cid:…">` tag for it. Gmail and Outlook show neither inline SVG nor data-URI
/// images, hence PNG by Content-ID.
pub fn register_png(tera: &mut tera::Tera, sink: ImageSink, max_width: u32) {
    for name in CHART_FUNCTIONS {
        tera.register_function(
            name,
            PngChartFunction {
                name,
                sink: sink.clone(),
                max_width,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{channel_rows, count, sankey_args, sankey_rows};
    use serde_json::json;

    #[test]
    fn tera_functions_render() {
        let mut tera = tera::Tera::default();
        register(&mut tera);
        tera.add_raw_template(
            "t.html",
            "<div>{{ bar_chart(rows=rows, x=\"channel\", y=\"revenue\", title=\"Revenue & more\") }}</div>\
             {{ funnel_chart(rows=rows, stage=\"channel\", value=\"orders\") | safe }}",
        )
        .unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("rows", &channel_rows());
        let html = tera.render("t.html", &ctx).unwrap();
        assert!(html.starts_with("<div><svg "), "{html}");
        assert_eq!(count(&html, "<svg "), 2);
        assert!(html.contains("Revenue &amp; more"));
        tera.add_raw_template(
            "bad.html",
            "{{ bar_chart(rows=rows, x=\"channel\", y=\"nope\") }}",
        )
        .unwrap();
        let err = tera.render("bad.html", &ctx).unwrap_err();
        let mut msg = String::new();
        let mut e: Option<&dyn std::error::Error> = Some(&err);
        while let Some(x) = e {
            msg.push_str(&x.to_string());
            e = x.source();
        }
        assert!(msg.contains("column `nope`"), "{msg}");
    }

    #[test]
    fn sankey_png_decodes_at_email_width() {
        let spec =
            ChartSpec::from_tera_args("sankey_chart", &sankey_args("landing", json!({}))).unwrap();
        let narrow = spec.with_width(560);
        let bytes = narrow.render_png().unwrap();
        let mut reader = png::Decoder::new(&bytes[..]).read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!((info.width, info.height), narrow.size());
        assert_eq!(info.width, 560);
        let px = &buf[..info.buffer_size()];
        // the bars and bands are drawn: plenty of non-white pixels
        let inked = px.chunks(3).filter(|p| p != &[255, 255, 255]).count();
        assert!(inked > 560 * 40, "{inked}");
        // through the e-mail functions, laid out at most 560 wide
        let sink = ImageSink::default();
        let mut tera = tera::Tera::default();
        register_png(&mut tera, sink.clone(), 560);
        tera.add_raw_template(
            "m.html",
            "{{ sankey_chart(rows=rows, step=\"step\", source=\"event\", target=\"next\", value=\"sessions\", width=1000) }}",
        )
        .unwrap();
        let mut ctx = tera::Context::new();
        ctx.insert("rows", &sankey_rows("landing"));
        let html = tera.render("m.html", &ctx).unwrap();
        assert!(html.contains("width=\"560\""), "{html}");
        assert_eq!(sink.lock().unwrap()[0].width, 560);
    }
}
