//! Drawing primitives shared by every chart kind: the bundled fonts, sizes and colours,
//! text measuring and fitting, the [`Painter`] over a plotters drawing area, and the title
//! and legend header.

use std::sync::OnceLock;

use plotters::coord::Shift;
use plotters::prelude::{
    Circle, DrawingArea, DrawingBackend, PathElement, Polygon, Rectangle, Text,
};
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{
    Color, FontDesc, FontFamily, FontStyle, FontTransform, RGBColor, ShapeStyle,
};

use crate::error::{Error, Result};

/// DejaVu Sans, bundled: every chart's text is measured and drawn with it.
pub(crate) static FONT_REGULAR: &[u8] = include_bytes!("../assets/fonts/DejaVuSans.ttf");
/// DejaVu Sans Bold, bundled.
pub(crate) static FONT_BOLD: &[u8] = include_bytes!("../assets/fonts/DejaVuSans-Bold.ttf");
static FONTS: OnceLock<std::result::Result<(), String>> = OnceLock::new();

pub(crate) fn ensure_fonts() -> Result<()> {
    FONTS
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_REGULAR)
                .map_err(|_| "DejaVuSans.ttf".to_string())?;
            plotters::style::register_font("sans-serif", FontStyle::Bold, FONT_BOLD)
                .map_err(|_| "DejaVuSans-Bold.ttf".to_string())
        })
        .clone()
        .map_err(|f| Error::internal(format!("charts: the bundled font {f} cannot be loaded")))
}

/// plotters writes an SVG font-size of `size / 1.24`: sizes below are CSS pixels.
const FONT_SCALE: f64 = 1.24;
pub(crate) const PAD: f64 = 16.0;
pub(crate) const TITLE_PX: f64 = 15.0;
pub(crate) const AXIS_PX: f64 = 12.0;
pub(crate) const TICK_PX: f64 = 11.0;
pub(crate) const LABEL_PX: f64 = 12.0;
pub(crate) const EMPTY_HEIGHT: u32 = 120;

pub(crate) const BG: RGBColor = RGBColor(255, 255, 255);
pub(crate) const INK: RGBColor = RGBColor(17, 24, 39);
pub(crate) const INK_2: RGBColor = RGBColor(55, 65, 81);
/// Fill of a heatmap cell without data.
pub(crate) const NO_DATA: RGBColor = RGBColor(243, 244, 246);
pub(crate) const MUTED: RGBColor = RGBColor(107, 114, 128);
pub(crate) const GRID: RGBColor = RGBColor(229, 231, 235);
pub(crate) const AXIS_LINE: RGBColor = RGBColor(156, 163, 175);
pub(crate) const TRACK: RGBColor = RGBColor(241, 245, 249);

/// Series colours: a blue accent first, then colours that stay apart for colour-blind readers.
pub(crate) const PALETTE: [RGBColor; 8] = [
    RGBColor(37, 99, 235),   // blue
    RGBColor(245, 158, 11),  // amber
    RGBColor(20, 184, 166),  // teal
    RGBColor(139, 92, 246),  // violet
    RGBColor(239, 68, 68),   // red
    RGBColor(100, 116, 139), // slate
    RGBColor(236, 72, 153),  // pink
    RGBColor(132, 204, 22),  // lime
];

pub(crate) fn series_color(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Sequential light-to-dark blue scale (ColorBrewer "Blues"), `t` in 0..=1.
pub(crate) fn heat_color(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 6] = [
        (239, 245, 252),
        (198, 219, 239),
        (140, 190, 222),
        (66, 146, 198),
        (23, 100, 171),
        (8, 48, 107),
    ];
    let t = if t.is_finite() {
        t.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let pos = t * (STOPS.len() - 1) as f64;
    let i = (pos.floor() as usize).min(STOPS.len() - 2);
    let f = pos - i as f64;
    let lerp = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * f).round() as u8;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0), lerp(a.1, b.1), lerp(a.2, b.2))
}

/// Replaces control characters (invalid in XML) with spaces.
pub(crate) fn clean_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

pub(crate) fn escape_xml_into(buf: &mut String, s: &str) {
    for c in s.chars() {
        match c {
            '<' => buf.push_str("&lt;"),
            '>' => buf.push_str("&gt;"),
            '&' => buf.push_str("&amp;"),
            '"' => buf.push_str("&quot;"),
            '\'' => buf.push_str("&apos;"),
            c => buf.push(c),
        }
    }
}

fn font_desc(px: f64, bold: bool) -> FontDesc<'static> {
    let style = if bold {
        FontStyle::Bold
    } else {
        FontStyle::Normal
    };
    FontDesc::new(FontFamily::SansSerif, px * FONT_SCALE, style)
}

/// Width in pixels of `s` in DejaVu Sans at `px` CSS pixels (slightly generous).
pub(crate) fn text_w(s: &str, px: f64, bold: bool) -> f64 {
    let _ = ensure_fonts();
    match font_desc(px, bold).box_size(s) {
        Ok((w, _)) => w as f64,
        Err(_) => s.chars().count() as f64 * px * 0.62,
    }
}

pub(crate) fn max_text_w<S: AsRef<str>>(items: &[S], px: f64, bold: bool) -> f64 {
    items
        .iter()
        .map(|s| text_w(s.as_ref(), px, bold))
        .fold(0.0, f64::max)
}

/// `s` without control characters, cut to `max_chars` characters and to `max_w` pixels
/// with a trailing "…".
pub(crate) fn fit_text(s: &str, px: f64, bold: bool, max_w: f64, max_chars: usize) -> String {
    let s = clean_text(s.trim());
    let mut chars: Vec<char> = s.chars().collect();
    let mut cut = false;
    if chars.len() > max_chars {
        chars.truncate(max_chars.saturating_sub(1));
        cut = true;
    }
    loop {
        let mut out: String = chars.iter().collect();
        if cut {
            out = out.trim_end().to_string();
            out.push('…');
        }
        if chars.len() <= 1 || text_w(&out, px, bold) <= max_w {
            return out;
        }
        chars.pop();
        cut = true;
    }
}

pub(crate) fn axis_title(label: &str, unit: Option<&str>) -> String {
    let label = label.trim();
    match unit.map(str::trim).filter(|u| !u.is_empty()) {
        Some(u) if label.is_empty() => u.to_string(),
        Some(u) => format!("{label} ({u})"),
        None => label.to_string(),
    }
}

pub(crate) type DrawResult = std::result::Result<(), String>;

#[derive(Clone, Copy)]
pub(crate) struct Txt {
    px: f64,
    bold: bool,
    color: RGBColor,
    h: HPos,
    v: VPos,
    rotate: bool,
}

impl Txt {
    pub(crate) fn new(px: f64, color: RGBColor) -> Self {
        Txt {
            px,
            bold: false,
            color,
            h: HPos::Left,
            v: VPos::Top,
            rotate: false,
        }
    }
    pub(crate) fn bold(self) -> Self {
        Txt { bold: true, ..self }
    }
    pub(crate) fn at(self, h: HPos, v: VPos) -> Self {
        Txt { h, v, ..self }
    }
    pub(crate) fn rotated(self) -> Self {
        Txt {
            rotate: true,
            ..self
        }
    }
}

pub(crate) struct Painter<'a, DB: DrawingBackend> {
    pub(crate) area: &'a DrawingArea<DB, Shift>,
}

fn pt(x: f64, y: f64) -> (i32, i32) {
    (x.round() as i32, y.round() as i32)
}

impl<DB: DrawingBackend> Painter<'_, DB> {
    pub(crate) fn text(&self, s: &str, x: f64, y: f64, t: Txt) -> DrawResult {
        if s.is_empty() {
            return Ok(());
        }
        let s = clean_text(s);
        let mut style = font_desc(t.px, t.bold)
            .color(&t.color)
            .pos(Pos::new(t.h, t.v));
        if t.rotate {
            style = style.transform(FontTransform::Rotate270);
        }
        self.area
            .draw(&Text::new(s, pt(x, y), style))
            .map_err(|e| e.to_string())
    }

    pub(crate) fn rect(&self, x0: f64, y0: f64, x1: f64, y1: f64, color: RGBColor) -> DrawResult {
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: true,
            stroke_width: 0,
        };
        self.area
            .draw(&Rectangle::new(
                [pt(x0.min(x1), y0.min(y1)), pt(x0.max(x1), y0.max(y1))],
                style,
            ))
            .map_err(|e| e.to_string())
    }

    pub(crate) fn line(&self, pts: &[(f64, f64)], color: RGBColor, width: u32) -> DrawResult {
        let pts: Vec<(i32, i32)> = pts.iter().map(|&(x, y)| pt(x, y)).collect();
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: false,
            stroke_width: width,
        };
        self.area
            .draw(&PathElement::new(pts, style))
            .map_err(|e| e.to_string())
    }

    pub(crate) fn hline(&self, x0: f64, x1: f64, y: f64, color: RGBColor) -> DrawResult {
        self.line(&[(x0, y), (x1, y)], color, 1)
    }

    pub(crate) fn vline(&self, x: f64, y0: f64, y1: f64, color: RGBColor) -> DrawResult {
        self.line(&[(x, y0), (x, y1)], color, 1)
    }

    pub(crate) fn area_fill(&self, pts: &[(f64, f64)], color: RGBColor, alpha: f64) -> DrawResult {
        let pts: Vec<(i32, i32)> = pts.iter().map(|&(x, y)| pt(x, y)).collect();
        let style = ShapeStyle {
            color: color.mix(alpha),
            filled: true,
            stroke_width: 0,
        };
        self.area
            .draw(&Polygon::new(pts, style))
            .map_err(|e| e.to_string())
    }

    pub(crate) fn dot(&self, x: f64, y: f64, r: i32, color: RGBColor) -> DrawResult {
        let style = ShapeStyle {
            color: color.to_rgba(),
            filled: true,
            stroke_width: 0,
        };
        self.area
            .draw(&Circle::new(pt(x, y), r, style))
            .map_err(|e| e.to_string())
    }

    pub(crate) fn header(&self, head: &Header) -> DrawResult {
        for (i, line) in head.title.iter().enumerate() {
            let y = PAD + i as f64 * TITLE_PX * 1.3;
            self.text(line, PAD, y, Txt::new(TITLE_PX, INK).bold())?;
        }
        for item in &head.legend {
            let cy = item.y + 9.0;
            match head.mark {
                Mark::Square => self.rect(item.x, cy - 5.0, item.x + 10.0, cy + 5.0, item.color)?,
                Mark::Line => self.line(&[(item.x, cy), (item.x + 14.0, cy)], item.color, 3)?,
            }
            let tx = item.x + head.mark.width() + 6.0;
            self.text(
                &item.name,
                tx,
                cy,
                Txt::new(LABEL_PX, INK_2).at(HPos::Left, VPos::Center),
            )?;
        }
        Ok(())
    }

    /// A rotated axis title centred on `(x, y)`.
    pub(crate) fn vertical_title(&self, s: &str, x: f64, y: f64) -> DrawResult {
        self.text(
            s,
            x,
            y,
            Txt::new(AXIS_PX, INK_2)
                .at(HPos::Center, VPos::Center)
                .rotated(),
        )
    }
}

#[derive(Clone, Copy)]
pub(crate) enum Mark {
    Square,
    Line,
}

impl Mark {
    fn width(self) -> f64 {
        match self {
            Mark::Square => 10.0,
            Mark::Line => 14.0,
        }
    }
}

pub(crate) struct LegendItem {
    x: f64,
    y: f64,
    name: String,
    color: RGBColor,
}

/// Title and legend at the top; `bottom` is where the plot may start.
pub(crate) struct Header {
    /// The title's lines (a long title wraps).
    title: Vec<String>,
    legend: Vec<LegendItem>,
    mark: Mark,
    pub(crate) bottom: f64,
}

pub(crate) fn header_layout(
    w: f64,
    title: &str,
    legend: &[(&str, RGBColor)],
    mark: Mark,
) -> Header {
    let mut y = PAD;
    let title = title_lines(title, w - 2.0 * PAD);
    if !title.is_empty() {
        y += TITLE_PX * 1.3 * title.len() as f64 + 10.0;
    }
    let mut items = Vec::new();
    if !legend.is_empty() {
        let mut x = PAD;
        for (name, color) in legend {
            let name = fit_text(name, LABEL_PX, false, (w - 2.0 * PAD) * 0.5, 40);
            let iw = mark.width() + 6.0 + text_w(&name, LABEL_PX, false);
            if x > PAD && x + iw > w - PAD {
                x = PAD;
                y += 20.0;
            }
            items.push(LegendItem {
                x,
                y,
                name,
                color: *color,
            });
            x += iw + 20.0;
        }
        y += 20.0 + 6.0;
    }
    Header {
        title,
        legend: items,
        mark,
        bottom: y,
    }
}

/// Most lines a chart title wraps to; beyond them it is cut with "…".
const TITLE_MAX_LINES: usize = 3;

/// A title on one line when it fits `max_w`, else wrapped at spaces onto up to
/// [`TITLE_MAX_LINES`] lines (a word wider than a line, or what is left after the last
/// line, is cut with "…"). Empty for an empty title.
fn title_lines(title: &str, max_w: f64) -> Vec<String> {
    let title = clean_text(title.trim());
    if title.is_empty() {
        return Vec::new();
    }
    if text_w(&title, TITLE_PX, true) <= max_w {
        return vec![title];
    }
    let mut lines: Vec<String> = Vec::new();
    let mut words = title.split_whitespace().peekable();
    while words.peek().is_some() {
        if lines.len() + 1 == TITLE_MAX_LINES {
            let rest: Vec<&str> = words.collect();
            lines.push(fit_text(&rest.join(" "), TITLE_PX, true, max_w, 150));
            break;
        }
        let mut line = String::new();
        while let Some(word) = words.peek() {
            let next = if line.is_empty() {
                word.to_string()
            } else {
                format!("{line} {word}")
            };
            if !line.is_empty() && text_w(&next, TITLE_PX, true) > max_w {
                break;
            }
            line = next;
            words.next();
        }
        lines.push(fit_text(&line, TITLE_PX, true, max_w, 150));
    }
    lines
}

pub(crate) fn draw_empty<DB: DrawingBackend>(
    p: &Painter<DB>,
    title: &str,
    w: f64,
    h: f64,
) -> DrawResult {
    let head = header_layout(w, title, &[], Mark::Square);
    p.header(&head)?;
    let cy = (head.bottom + h - PAD) / 2.0;
    p.text(
        "No data",
        w / 2.0,
        cy,
        Txt::new(13.0, MUTED).at(HPos::Center, VPos::Center),
    )
}

pub(crate) fn value_range(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((0.0f64, 0.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)))
}

#[cfg(test)]
mod tests {
    use crate::test_support::svg;
    use serde_json::json;

    #[test]
    fn long_titles_wrap_instead_of_being_cut() {
        let title = "Active customers, share of the cohort, by weeks since sign-up";
        let s = svg(
            "bar_chart",
            json!({"rows": [{"c": "a", "v": 1}, {"c": "b", "v": 2}], "x": "c", "y": "v", "title": title, "width": 300}),
        );
        assert!(!s.contains('…'), "the title was cut");
        let words: Vec<&str> = title.split(' ').collect();
        let shown: Vec<String> = s
            .split(">\n")
            .skip(1)
            .map(|t| t.split("\n<").next().unwrap().to_string())
            .filter(|t| t.split(' ').all(|w| words.contains(&w)))
            .collect();
        assert!(shown.len() >= 2, "on two lines or more: {shown:?}");
        assert_eq!(shown.join(" "), title);
    }
}
