//! The chart specification: [`ChartSpec`] over the five kinds, pure data (categories,
//! series, labels, size), with the size, validation and rendering that apply to every kind
//! ([`ChartSpec::render_svg`] for report pages, [`ChartSpec::render_png`] for e-mail,
//! [`ChartSpec::draw`] on any plotters backend). Each kind's struct lives beside its drawing
//! (`bar`, `line`, `funnel`, `heatmap`, `sankey`); `args` builds a spec from the arguments of
//! a Tera function ([`ChartSpec::from_tera_args`]).

use plotters::coord::Shift;
use plotters::prelude::{DrawingArea, DrawingBackend, IntoDrawingArea, SVGBackend};
use serde::Serialize;

use crate::bar::{BarChart, draw_hbar, draw_vbar, draws_horizontal, hbar_min_height};
use crate::bitmap_text::crisp_bitmap;
use crate::draw::{
    BG, DrawResult, EMPTY_HEIGHT, Painter, clean_text, draw_empty, ensure_fonts, escape_xml_into,
};
use crate::error::{Error, Result};
use crate::funnel::{FunnelChart, draw_funnel, funnel_min_height};
use crate::heatmap::{HeatmapChart, draw_heatmap, heatmap_min_height};
use crate::line::{LineChart, draw_line};
use crate::sankey::{SankeyChart, draw_sankey, sankey_min_height};

/// Default chart width in pixels (CSS px; the SVG scales down with `max-width:100%`).
pub const DEFAULT_WIDTH: u32 = 720;
/// Default chart height in pixels for bar, line and funnel charts.
pub const DEFAULT_HEIGHT: u32 = 360;
/// Smallest accepted width or height, in pixels.
pub const MIN_SIZE: u32 = 160;
/// Largest accepted width or height, in pixels.
pub const MAX_SIZE: u32 = 4000;

/// A chart specification: pure data, rendered by [`ChartSpec::render_svg`] or
/// [`ChartSpec::draw`].
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ChartSpec {
    /// Vertical or horizontal (grouped) bars.
    Bar(BarChart),
    /// Lines over a time axis.
    Line(LineChart),
    /// Conversion funnel.
    Funnel(FunnelChart),
    /// Two-dimensional heatmap.
    Heatmap(HeatmapChart),
    /// Sankey diagram of flows between steps.
    Sankey(SankeyChart),
}

impl ChartSpec {
    /// The chart's title.
    pub fn title(&self) -> &str {
        match self {
            ChartSpec::Bar(c) => &c.title,
            ChartSpec::Line(c) => &c.title,
            ChartSpec::Funnel(c) => &c.title,
            ChartSpec::Heatmap(c) => &c.title,
            ChartSpec::Sankey(c) => &c.title,
        }
    }

    /// Whether there is nothing to plot (the chart then says "No data").
    pub fn is_empty(&self) -> bool {
        match self {
            ChartSpec::Bar(c) => c.categories.is_empty() || c.series.is_empty(),
            ChartSpec::Line(c) => {
                c.x.is_empty()
                    || !c
                        .series
                        .iter()
                        .any(|s| s.values.iter().any(Option::is_some))
            }
            ChartSpec::Funnel(c) => c.stages.is_empty(),
            ChartSpec::Heatmap(c) => c.x_labels.is_empty() || c.y_labels.is_empty(),
            ChartSpec::Sankey(c) => !c.nodes.iter().flatten().any(|n| n.1 > 0.0),
        }
    }

    /// The pixel size the chart is drawn at: the requested width and height, except that an
    /// empty chart is at most 120 px tall and that horizontal bar charts, funnels, heatmaps
    /// and Sankey diagrams grow taller when their rows would not fit (labels never overlap).
    pub fn size(&self) -> (u32, u32) {
        let _ = ensure_fonts();
        let (w, h) = self.requested_size();
        if self.is_empty() {
            return (w, h.min(EMPTY_HEIGHT));
        }
        let needed = match self {
            ChartSpec::Bar(c) if draws_horizontal(c) => hbar_min_height(c, w as f64),
            ChartSpec::Funnel(c) => funnel_min_height(c, w as f64),
            ChartSpec::Heatmap(c) => heatmap_min_height(c, w as f64),
            ChartSpec::Sankey(c) => sankey_min_height(c, w as f64),
            _ => 0.0,
        };
        (w, h.max(needed.ceil() as u32).min(MAX_SIZE * 4))
    }

    pub(crate) fn requested_size(&self) -> (u32, u32) {
        match self {
            ChartSpec::Bar(c) => (c.width, c.height),
            ChartSpec::Line(c) => (c.width, c.height),
            ChartSpec::Funnel(c) => (c.width, c.height),
            ChartSpec::Heatmap(c) => (c.width, c.height),
            ChartSpec::Sankey(c) => (c.width, c.height),
        }
    }

    fn kind_name(&self) -> &'static str {
        match self {
            ChartSpec::Bar(_) => "bar chart",
            ChartSpec::Line(_) => "line chart",
            ChartSpec::Funnel(_) => "funnel chart",
            ChartSpec::Heatmap(_) => "heatmap chart",
            ChartSpec::Sankey(_) => "sankey chart",
        }
    }

    /// Checks the spec's invariants (used by [`ChartSpec::render_svg`] and
    /// [`ChartSpec::draw`]).
    ///
    /// # Errors
    /// [`crate::ChartErrorKind::Spec`] for a width or height outside
    /// [`MIN_SIZE`]..=[`MAX_SIZE`]; [`crate::ChartErrorKind::Value`] for a non-finite value
    /// (or a negative funnel or Sankey value), naming the chart, the series and the category;
    /// [`crate::ChartErrorKind::Internal`] when series lengths do not match the categories,
    /// or Sankey links do not match the nodes.
    pub fn validate(&self) -> Result<()> {
        let what = format!("{} \"{}\"", self.kind_name(), self.title());
        let (w, h) = self.requested_size();
        for (name, v) in [("width", w), ("height", h)] {
            if !(MIN_SIZE..=MAX_SIZE).contains(&v) {
                return Err(Error::spec(format!(
                    "{what}: {name} {v} is out of range; expected {MIN_SIZE} to {MAX_SIZE} pixels"
                )));
            }
        }
        let non_finite = |series: &str, at: &str, v: f64| {
            Error::value(format!(
                "{what}: series `{series}` has the non-finite value {v} at `{at}`; \
                 check the SQL model for a division by zero"
            ))
        };
        match self {
            ChartSpec::Bar(c) => {
                for s in &c.series {
                    if s.values.len() != c.categories.len() {
                        return Err(Error::internal(format!(
                            "{what}: series `{}` has {} values for {} categories",
                            s.name,
                            s.values.len(),
                            c.categories.len()
                        )));
                    }
                    if let Some((i, v)) = s.values.iter().enumerate().find(|(_, v)| !v.is_finite())
                    {
                        return Err(non_finite(&s.name, &c.categories[i], *v));
                    }
                }
            }
            ChartSpec::Line(c) => {
                for s in &c.series {
                    if s.values.len() != c.x.len() {
                        return Err(Error::internal(format!(
                            "{what}: series `{}` has {} values for {} points",
                            s.name,
                            s.values.len(),
                            c.x.len()
                        )));
                    }
                    if let Some((i, v)) = s
                        .values
                        .iter()
                        .enumerate()
                        .find_map(|(i, v)| v.filter(|v| !v.is_finite()).map(|v| (i, v)))
                    {
                        return Err(non_finite(&s.name, &c.x[i].to_string(), v));
                    }
                }
            }
            ChartSpec::Funnel(c) => {
                if c.values.len() != c.stages.len() {
                    return Err(Error::internal(format!(
                        "{what}: {} values for {} stages",
                        c.values.len(),
                        c.stages.len()
                    )));
                }
                for (stage, v) in c.stages.iter().zip(&c.values) {
                    if !v.is_finite() {
                        return Err(non_finite("value", stage, *v));
                    }
                    if *v < 0.0 {
                        return Err(Error::value(format!(
                            "{what}: stage `{stage}` has the negative value {v}; a funnel counts \
                             customers or events"
                        )));
                    }
                }
            }
            ChartSpec::Heatmap(c) => {
                if c.values.len() != c.y_labels.len()
                    || c.values.iter().any(|r| r.len() != c.x_labels.len())
                {
                    return Err(Error::internal(format!(
                        "{what}: the value grid is not {} rows of {} cells",
                        c.y_labels.len(),
                        c.x_labels.len()
                    )));
                }
                for (y, row) in c.values.iter().enumerate() {
                    if let Some((x, v)) = row.iter().enumerate().find(|(_, v)| v.is_infinite()) {
                        let at = format!("{} / {}", c.x_labels[x], c.y_labels[y]);
                        return Err(non_finite("value", &at, *v));
                    }
                }
            }
            ChartSpec::Sankey(c) => {
                if c.steps.len() != c.nodes.len() {
                    return Err(Error::internal(format!(
                        "{what}: {} column headings for {} columns of nodes",
                        c.steps.len(),
                        c.nodes.len()
                    )));
                }
                let negative = |at: &str, v: f64| {
                    Error::value(format!(
                        "{what}: `{at}` has the negative value {v}; a Sankey diagram counts \
                         sessions or users"
                    ))
                };
                for (col, heading) in c.nodes.iter().zip(&c.steps) {
                    for (k, (name, v)) in col.iter().enumerate() {
                        let at = format!("{heading} / {name}");
                        if !v.is_finite() {
                            return Err(non_finite("value", &at, *v));
                        }
                        if *v < 0.0 {
                            return Err(negative(&at, *v));
                        }
                        if col[..k].iter().any(|n| n.0 == *name) {
                            return Err(Error::internal(format!(
                                "{what}: node `{name}` appears twice in column `{heading}`"
                            )));
                        }
                    }
                }
                let zeros = || -> Vec<Vec<f64>> {
                    c.nodes.iter().map(|col| vec![0.0; col.len()]).collect()
                };
                let (mut out, mut inc) = (zeros(), zeros());
                for l in &c.links {
                    if l.step + 1 >= c.nodes.len() {
                        return Err(Error::internal(format!(
                            "{what}: a link starts at column {} of {}",
                            l.step + 1,
                            c.nodes.len()
                        )));
                    }
                    let at = format!("{}: {} → {}", c.steps[l.step], l.source, l.target);
                    if !l.value.is_finite() {
                        return Err(non_finite("value", &at, l.value));
                    }
                    if l.value < 0.0 {
                        return Err(negative(&at, l.value));
                    }
                    let find =
                        |col: usize, name: &str| {
                            c.nodes[col].iter().position(|n| n.0 == name).ok_or_else(|| {
                            Error::internal(format!(
                                "{what}: link `{at}`: `{name}` is not a node of column `{}`",
                                c.steps[col]
                            ))
                        })
                        };
                    let (s, t) = (find(l.step, &l.source)?, find(l.step + 1, &l.target)?);
                    out[l.step][s] += l.value;
                    inc[l.step + 1][t] += l.value;
                }
                for (ci, col) in c.nodes.iter().enumerate() {
                    for (k, (name, total)) in col.iter().enumerate() {
                        let flow = out[ci][k].max(inc[ci][k]);
                        if flow > total * (1.0 + 1e-9) + 1e-9 {
                            return Err(Error::internal(format!(
                                "{what}: the links of node `{name}` in column `{}` carry {flow}, \
                                 more than its total {total}",
                                c.steps[ci]
                            )));
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// Renders the chart to a standalone `<svg …>` element: no XML prolog, no script, with
    /// `width`, `height` and `viewBox` (so it scales down under CSS `max-width:100%`; the
    /// element also carries `style="max-width:100%;height:auto"`), `role="img"` and an
    /// `aria-label` with the title. All text is XML-escaped.
    ///
    /// # Errors
    /// Those of [`ChartSpec::validate`]; an internal error if drawing fails.
    pub fn render_svg(&self) -> Result<String> {
        self.validate()?;
        ensure_fonts()?;
        let size = self.size();
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
            self.draw(&root)?;
            root.present()
                .map_err(|e| Error::internal(format!("rendering {}: {e}", self.kind_name())))?;
        }
        let mut label = String::new();
        escape_xml_into(&mut label, &clean_text(self.title()));
        let extra = format!(
            "<svg role=\"img\" aria-label=\"{label}\" style=\"max-width:100%;height:auto\" "
        );
        match svg.strip_prefix("<svg ") {
            Some(rest) => Ok(format!("{extra}{rest}")),
            None => Err(Error::internal(
                "plotters' SVG output does not start with <svg",
            )),
        }
    }

    /// Draws the chart on any plotters drawing area (SVG or bitmap), laid out for the
    /// area's pixel size; create the area with [`ChartSpec::size`].
    ///
    /// # Errors
    /// Those of [`ChartSpec::validate`]; an internal error if the backend fails.
    pub fn draw<DB: DrawingBackend>(&self, area: &DrawingArea<DB, Shift>) -> Result<()> {
        self.validate()?;
        ensure_fonts()?;
        let (w, h) = area.dim_in_pixel();
        let (w, h) = (w as f64, h as f64);
        let p = Painter { area };
        let drawn = (|| -> DrawResult {
            p.area.fill(&BG).map_err(|e| e.to_string())?;
            if self.is_empty() {
                return draw_empty(&p, self.title(), w, h);
            }
            match self {
                ChartSpec::Bar(c) if draws_horizontal(c) => draw_hbar(c, &p, w, h),
                ChartSpec::Bar(c) => draw_vbar(c, &p, w, h),
                ChartSpec::Line(c) => draw_line(c, &p, w, h),
                ChartSpec::Funnel(c) => draw_funnel(c, &p, w, h),
                ChartSpec::Heatmap(c) => draw_heatmap(c, &p, w, h),
                ChartSpec::Sankey(c) => draw_sankey(c, &p, w, h),
            }
        })();
        drawn.map_err(|e| {
            Error::internal(format!(
                "drawing {} \"{}\": {e}",
                self.kind_name(),
                self.title()
            ))
        })
    }
}

impl ChartSpec {
    /// The same chart laid out `width` pixels wide (the height follows the content where
    /// the kind needs it; see [`ChartSpec::size`]).
    pub fn with_width(&self, width: u32) -> ChartSpec {
        let mut c = self.clone();
        let w = width.clamp(MIN_SIZE, MAX_SIZE);
        match &mut c {
            ChartSpec::Bar(x) => x.width = w,
            ChartSpec::Line(x) => x.width = w,
            ChartSpec::Funnel(x) => x.width = w,
            ChartSpec::Heatmap(x) => x.width = w,
            ChartSpec::Sankey(x) => x.width = w,
        }
        c
    }

    /// Renders to a PNG image of [`ChartSpec::size`] pixels (RGB, 8 bits), with the bundled
    /// DejaVu fonts: the same drawing as [`ChartSpec::render_svg`].
    ///
    /// Errors: those of [`ChartSpec::validate`]; an internal error if encoding fails.
    pub fn render_png(&self) -> Result<Vec<u8>> {
        self.validate()?;
        ensure_fonts()?;
        let (w, h) = self.size();
        let mut rgb = vec![255u8; w as usize * h as usize * 3];
        {
            let root = crisp_bitmap(&mut rgb, (w, h))?.into_drawing_area();
            self.draw(&root)?;
            root.present()
                .map_err(|e| Error::internal(format!("rendering {}: {e}", self.kind_name())))?;
        }
        let mut out = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut out, w, h);
            enc.set_color(png::ColorType::Rgb);
            enc.set_depth(png::BitDepth::Eight);
            // zlib's default level: on the bundled project's nine e-mails at 10M events,
            // `Best` took 0.82 s to render everything and `Default` 0.57 s, for 7% more bytes
            // (1.62 → 1.74 MB); `Fast` doubles the bytes.
            enc.set_compression(png::Compression::Default);
            let mut writer = enc
                .write_header()
                .map_err(|e| Error::internal(format!("PNG: {e}")))?;
            writer
                .write_image_data(&rgb)
                .map_err(|e| Error::internal(format!("PNG: {e}")))?;
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use crate::test_support::svg;
    use serde_json::json;

    #[test]
    fn escapes_text_from_data() {
        let rows = json!([{"channel": "<script>alert(\"x\")</script> & co", "revenue": 5}, {"channel": "it's", "revenue": 3}]);
        for kind in ["bar_chart", "funnel_chart"] {
            let a = if kind == "bar_chart" {
                json!({"rows": rows, "x": "channel", "y": "revenue", "title": "<b>Title</b> & \"q\"", "horizontal": true})
            } else {
                json!({"rows": rows, "stage": "channel", "value": "revenue", "title": "<b>Title</b> & \"q\""})
            };
            let s = svg(kind, a);
            assert!(!s.contains("<script"), "{s}");
            assert!(!s.contains("<b>"));
            assert!(
                s.contains("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co"),
                "{s}"
            );
            assert!(s.contains("it&apos;s"));
            assert!(s.contains("aria-label=\"&lt;b&gt;Title&lt;/b&gt; &amp; &quot;q&quot;\""));
        }
    }

    #[test]
    fn edge_cases_render() {
        let cases = [
            (
                "bar_chart",
                json!({"rows": [{"c": "only", "v": 0}], "x": "c", "y": "v"}),
            ),
            (
                "bar_chart",
                json!({"rows": [{"c": "a", "v": -5}, {"c": "b", "v": -1e9}], "x": "c", "y": "v"}),
            ),
            (
                "bar_chart",
                json!({"rows": [{"c": null, "v": 1e15}, {"c": 2025, "v": "12.5"}], "x": "c", "y": "v", "width": 160, "height": 160}),
            ),
            (
                "bar_chart",
                json!({"rows": [{"c": "a\u{1}b", "v": 1}], "x": "c", "y": "v", "horizontal": true}),
            ),
            (
                "line_chart",
                json!({"rows": [{"d": "2026-10-31", "v": 3}], "x": "d", "y": "v"}),
            ),
            (
                "line_chart",
                json!({"rows": [{"d": "2026-10-31", "v": null}, {"d": "2026-11-01", "v": null}], "x": "d", "y": "v"}),
            ),
            (
                "line_chart",
                json!({"rows": [{"d": "2026-10-31 10:00:00", "v": 1}, {"d": "2026-10-31 18:30:00", "v": -2}], "x": "d", "y": "v"}),
            ),
            (
                "line_chart",
                json!({"rows": [{"d": "1990-01-01", "v": 1}, {"d": "2026-01-01", "v": 2}, {"d": null, "v": 3}], "x": "d", "y": "v"}),
            ),
            (
                "funnel_chart",
                json!({"rows": [{"s": "a", "v": 0}, {"s": "b", "v": 0}], "stage": "s", "value": "v"}),
            ),
            (
                "heatmap_chart",
                json!({"rows": [{"x": 1, "y": 1, "v": 5}], "x": "x", "y": "y", "value": "v"}),
            ),
            (
                "heatmap_chart",
                json!({"rows": [{"x": "a", "y": null, "v": 5}], "x": "x", "y": "y", "value": "v"}),
            ),
            (
                "sankey_chart",
                json!({"rows": [{"s": 0, "a": "x", "b": "x", "v": 1}], "step": "s", "source": "a", "target": "b", "value": "v"}),
            ),
            (
                "sankey_chart",
                json!({"rows": [{"s": 0, "a": "x", "b": "y", "v": 0}, {"s": 0, "a": "x", "b": "y", "v": null}], "step": "s", "source": "a", "target": "b", "value": "v"}),
            ),
            (
                "sankey_chart",
                json!({"rows": (0..20).flat_map(|s| (0..9).map(move |k| json!({"s": s, "a": format!("event_{k}\u{1}"), "b": format!("event_{}", (k + s) % 9), "v": 1000 / (k + 1)}))).collect::<Vec<_>>(),
                       "step": "s", "source": "a", "target": "b", "value": "v", "unit": "sessions", "max_nodes": 50,
                       "width": 160, "height": 160}),
            ),
        ];
        for (kind, a) in cases {
            let s = svg(kind, a.clone());
            assert!(
                s.starts_with("<svg ") && s.ends_with("</svg>\n"),
                "{kind} {a}: {s}"
            );
            assert!(!s.contains("NaN") && !s.contains("inf"), "{kind} {a}: {s}");
            assert!(
                !s.chars().any(|c| c.is_control() && c != '\n'),
                "{kind} {a}"
            );
        }
        // the all-NULL line chart and the heatmap without a complete cell have no data
        let s = svg(
            "line_chart",
            json!({"rows": [{"d": "2026-10-31", "v": null}], "x": "d", "y": "v"}),
        );
        assert!(s.contains("No data"));
        let s = svg(
            "sankey_chart",
            json!({"rows": [{"s": 0, "a": "x", "b": "y", "v": 0}], "step": "s", "source": "a", "target": "b", "value": "v"}),
        );
        assert!(s.contains("No data"));
    }

    #[test]
    fn empty_rows_say_no_data() {
        for (kind, a) in [
            (
                "bar_chart",
                json!({"rows": [], "x": "channel", "y": "revenue", "title": "Revenue"}),
            ),
            (
                "line_chart",
                json!({"rows": [], "x": "day", "y": "revenue", "title": "Revenue"}),
            ),
            (
                "funnel_chart",
                json!({"rows": [], "stage": "s", "value": "v", "title": "Revenue"}),
            ),
            (
                "heatmap_chart",
                json!({"rows": [], "x": "h", "y": "d", "value": "v", "title": "Revenue", "y_labels": ["a"]}),
            ),
            (
                "sankey_chart",
                json!({"rows": [], "step": "s", "source": "a", "target": "b", "value": "v", "title": "Revenue"}),
            ),
        ] {
            let s = svg(kind, a);
            assert!(
                s.starts_with("<svg ") && s.contains("No data") && s.contains("Revenue"),
                "{kind}: {s}"
            );
            assert!(s.contains("height=\"120\""), "{kind}");
        }
    }
}
