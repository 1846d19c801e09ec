//! Text on the e-mail charts' bitmaps, laid out and rasterized the way a browser draws the
//! same chart's SVG.
//!
//! plotters' own bitmap text path (its `ab_glyph` font module, 0.3.7) misplaces glyphs at
//! e-mail sizes, for three reasons found in its `draw`:
//!
//! - each glyph's top is placed at `(size / 2 + bounds.min.y) as i32`: the cast truncates
//!   toward zero, so glyphs that reach above that line (digits) move down and glyphs that do
//!   not (the decimal point, the comma) move up, by up to one pixel each: "85·0%";
//! - each glyph's coverage is drawn from its bounding box's left edge at the pen position
//!   (cast to whole pixels), ignoring the glyph's left side bearing: narrow glyphs with a wide
//!   bearing ("i", ".") sit too far left and gaps open after them ("previ ou s", "0 58");
//! - the scale is the font's ascent-to-descent height rather than its em, so the text is
//!   6.5% larger than the SVG's `font-size` for DejaVu Sans.
//!
//! [`CrispText`] wraps any bitmap backend and draws text itself with ab_glyph: glyphs are
//! laid out along one baseline by their advances plus pair kerning at sub-pixel positions
//! (the pen is never rounded between glyphs), outlines are rasterized to coverage into one
//! buffer for the whole string, and the coverage is blended once per pixel. The em is the
//! SVG's `font-size` (plotters writes `size / 1.24`), the anchors those of plotters' SVG
//! output (`text-anchor` start, middle or end by the advance width; the baseline `0.76em`
//! below a top anchor, `0.5ex` below a centre anchor and `0.5ex` above a bottom one), and the
//! baseline sits on a whole pixel row so horizontal strokes stay sharp. Rotations by quarter
//! turns (the vertical axis titles) map whole pixels.

use ab_glyph::{Font, FontRef, GlyphId, PxScale, ScaleFont, point};
use plotters_backend::text_anchor::{HPos, VPos};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
    FontStyle, FontTransform,
};

use crate::draw::{FONT_BOLD, FONT_REGULAR};
use crate::error::{Error, Result};

/// plotters passes text sizes as `font-size × 1.24` (its SVG backend divides by 1.24).
pub(crate) const PLOTTERS_SIZE_FACTOR: f64 = 1.24;

/// One string laid out on a baseline: the coverage of its pixels (0–1) on a grid whose
/// origin is the pen's start on the baseline, and its advance width.
#[derive(Debug, Clone)]
pub(crate) struct TextCoverage {
    /// Advance width in pixels (advances plus kerning), as SVG `text-anchor` measures it.
    #[expect(
        dead_code,
        reason = "CrispText anchors by `layout`'s advance; no caller reads this one"
    )]
    pub(crate) advance: f32,
    /// Left edge of the grid, in whole pixels from the pen's start.
    pub(crate) x0: i32,
    /// Top edge of the grid, in whole pixels from the baseline (negative: above it).
    pub(crate) y0: i32,
    /// Grid width in pixels.
    pub(crate) width: usize,
    /// Grid height in pixels.
    pub(crate) height: usize,
    /// Row-major coverage, `width × height` values in 0..=1.
    pub(crate) coverage: Vec<f32>,
}

impl TextCoverage {
    /// Coverage of the pixel at (`x`, `y`) relative to the pen start on the baseline; 0
    /// outside the grid.
    #[cfg(test)]
    pub(crate) fn at(&self, x: i32, y: i32) -> f32 {
        let (cx, cy) = (x - self.x0, y - self.y0);
        if cx < 0 || cy < 0 || cx as usize >= self.width || cy as usize >= self.height {
            return 0.0;
        }
        self.coverage[cy as usize * self.width + cx as usize]
    }
}

/// The scale ab_glyph needs for an em of `em_px` pixels (ab_glyph scales by the height from
/// descent to ascent, CSS by the em).
fn px_scale(font: &FontRef<'_>, em_px: f32) -> PxScale {
    let upem = font.units_per_em().unwrap_or(2048.0);
    PxScale::from(em_px * font.height_unscaled() / upem)
}

/// The glyphs of `text` with their pen positions (x from the start of the string; the
/// baseline at y = 0), and the advance width: advances plus pair kerning, in floating point.
pub(crate) fn layout(font: &FontRef<'_>, em_px: f32, text: &str) -> (Vec<(GlyphId, f32)>, f32) {
    let scaled = font.as_scaled(px_scale(font, em_px));
    let mut pen = 0.0f32;
    let mut prev: Option<GlyphId> = None;
    let mut glyphs = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = scaled.glyph_id(c);
        if let Some(p) = prev {
            pen += scaled.kern(p, id);
        }
        glyphs.push((id, pen));
        pen += scaled.h_advance(id);
        prev = Some(id);
    }
    (glyphs, pen)
}

/// Rasterizes `text` at an em of `em_px` pixels, the pen starting `frac_x` pixels (0..1)
/// right of a whole pixel, on a baseline on a pixel row boundary.
pub(crate) fn rasterize(font: &FontRef<'_>, em_px: f32, text: &str, frac_x: f32) -> TextCoverage {
    let scale = px_scale(font, em_px);
    let (glyphs, advance) = layout(font, em_px, text);
    let outlined: Vec<_> = glyphs
        .iter()
        .filter_map(|&(id, x)| {
            font.outline_glyph(id.with_scale_and_position(scale, point(frac_x + x, 0.0)))
        })
        .collect();
    let (mut x0, mut y0, mut x1, mut y1) = (i32::MAX, i32::MAX, i32::MIN, i32::MIN);
    for g in &outlined {
        let b = g.px_bounds();
        x0 = x0.min(b.min.x.floor() as i32);
        y0 = y0.min(b.min.y.floor() as i32);
        x1 = x1.max(b.max.x.ceil() as i32);
        y1 = y1.max(b.max.y.ceil() as i32);
    }
    if outlined.is_empty() {
        return TextCoverage {
            advance,
            x0: 0,
            y0: 0,
            width: 0,
            height: 0,
            coverage: Vec::new(),
        };
    }
    let (width, height) = ((x1 - x0) as usize, (y1 - y0) as usize);
    let mut coverage = vec![0.0f32; width * height];
    for g in &outlined {
        let b = g.px_bounds();
        let (gx, gy) = (b.min.x as i32 - x0, b.min.y as i32 - y0);
        g.draw(|x, y, c| {
            let (px, py) = (gx + x as i32, gy + y as i32);
            if px >= 0 && py >= 0 && (px as usize) < width && (py as usize) < height {
                let cell = &mut coverage[py as usize * width + px as usize];
                // Neighbouring glyphs may share an edge pixel: coverage adds up to full.
                *cell = (*cell + c).min(1.0);
            }
        });
    }
    TextCoverage {
        advance,
        x0,
        y0,
        width,
        height,
        coverage,
    }
}

/// The x-height of `font` as a fraction of its em (CSS `1ex`), from the outline of "x".
fn x_height_em(font: &FontRef<'_>) -> f32 {
    let upem = font.units_per_em().unwrap_or(2048.0);
    font.outline(font.glyph_id('x'))
        .map(|o| o.bounds.max.y / upem)
        .filter(|h| *h > 0.0)
        .unwrap_or(0.5)
}

/// Where a string starts relative to its anchor: the pen's x offset (may be fractional) and
/// the baseline's y offset, as plotters' SVG backend places it (see the module docs).
pub(crate) fn anchor_offset(
    font: &FontRef<'_>,
    em_px: f32,
    advance: f32,
    h: HPos,
    v: VPos,
) -> (f32, f32) {
    let dx = match h {
        HPos::Left => 0.0,
        HPos::Center => -advance / 2.0,
        HPos::Right => -advance,
    };
    let ex = x_height_em(font) * em_px;
    let dy = match v {
        VPos::Top => 0.76 * em_px,
        VPos::Center => 0.5 * ex,
        VPos::Bottom => -0.5 * ex,
    };
    (dx, dy)
}

/// A bitmap backend whose text is drawn by [`rasterize`] with the given regular and bold
/// fonts; everything else goes to the wrapped backend unchanged.
pub(crate) struct CrispText<'f, B> {
    inner: B,
    regular: FontRef<'f>,
    bold: FontRef<'f>,
}

impl<'f, B: DrawingBackend> CrispText<'f, B> {
    /// Wraps `inner`, drawing text in `regular` (or `bold` for bold text).
    pub(crate) fn new(inner: B, regular: FontRef<'f>, bold: FontRef<'f>) -> Self {
        CrispText {
            inner,
            regular,
            bold,
        }
    }

    fn font(&self, style: FontStyle) -> &FontRef<'f> {
        match style {
            FontStyle::Bold => &self.bold,
            _ => &self.regular,
        }
    }
}

impl<B: DrawingBackend> DrawingBackend for CrispText<'_, B> {
    type ErrorType = B::ErrorType;

    fn get_size(&self) -> (u32, u32) {
        self.inner.get_size()
    }
    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.ensure_prepared()
    }
    fn present(&mut self) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.present()
    }
    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_pixel(point, color)
    }
    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_line(from, to, style)
    }
    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_rect(upper_left, bottom_right, style, fill)
    }
    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_path(path, style)
    }
    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.draw_circle(center, radius, style, fill)
    }
    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        vert: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.fill_polygon(vert, style)
    }
    fn blit_bitmap(
        &mut self,
        pos: BackendCoord,
        size: (u32, u32),
        src: &[u8],
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        self.inner.blit_bitmap(pos, size, src)
    }

    fn estimate_text_size<TStyle: BackendTextStyle>(
        &self,
        text: &str,
        style: &TStyle,
    ) -> Result<(u32, u32), DrawingErrorKind<Self::ErrorType>> {
        let em = (style.size() / PLOTTERS_SIZE_FACTOR) as f32;
        let (_, advance) = layout(self.font(style.style()), em, text);
        Ok((advance.ceil() as u32, (em * 1.2).ceil() as u32))
    }

    fn draw_text<TStyle: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &TStyle,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<Self::ErrorType>> {
        let color = style.color();
        if color.alpha == 0.0 || text.is_empty() {
            return Ok(());
        }
        let font = self.font(style.style()).clone();
        let em = (style.size() / PLOTTERS_SIZE_FACTOR) as f32;
        let (_, advance) = layout(&font, em, text);
        let anchor = style.anchor();
        let (dx, dy) = anchor_offset(&font, em, advance, anchor.h_pos, anchor.v_pos);
        // In the text's own frame (before rotation), relative to the anchor: the pen starts
        // at a fractional x, the baseline on a whole row.
        let start = dx.floor();
        let frac = dx - start;
        let (start, baseline) = (start as i32, dy.round() as i32);
        let cov = rasterize(&font, em, text, frac);
        let (w, h) = self.get_size();
        let transform = style.transform();
        for cy in 0..cov.height {
            for cx in 0..cov.width {
                let c = cov.coverage[cy * cov.width + cx];
                if c <= 0.0 {
                    continue;
                }
                // The pixel [u, u+1] × [v, v+1] in the text's frame…
                let (u, v) = (start + cov.x0 + cx as i32, baseline + cov.y0 + cy as i32);
                // …is this pixel on the bitmap (SVG `rotate(a, x, y)` about the anchor).
                let (x, y) = match transform {
                    FontTransform::None => (pos.0 + u, pos.1 + v),
                    FontTransform::Rotate90 => (pos.0 - v - 1, pos.1 + u),
                    FontTransform::Rotate180 => (pos.0 - u - 1, pos.1 - v - 1),
                    FontTransform::Rotate270 => (pos.0 + v, pos.1 - u - 1),
                };
                if x < 0 || y < 0 || x >= w as i32 || y >= h as i32 {
                    continue;
                }
                let px = BackendColor {
                    alpha: color.alpha * c as f64,
                    rgb: color.rgb,
                };
                self.inner.draw_pixel((x, y), px)?;
            }
        }
        Ok(())
    }
}

/// A bitmap backend over an RGB buffer of `size` pixels whose text is drawn by
/// [`CrispText`] with the bundled fonts (plotters' own bitmap text
/// misplaces glyphs at e-mail sizes; see the module's documentation).
pub(crate) fn crisp_bitmap(
    rgb: &mut [u8],
    size: (u32, u32),
) -> Result<CrispText<'static, plotters::backend::BitMapBackend<'_>>> {
    let load = |bytes: &'static [u8], name: &str| {
        ab_glyph::FontRef::try_from_slice(bytes).map_err(|_| {
            Error::internal(format!("charts: the bundled font {name} cannot be loaded"))
        })
    };
    Ok(CrispText::new(
        plotters::backend::BitMapBackend::with_buffer(rgb, size),
        load(FONT_REGULAR, "DejaVuSans.ttf")?,
        load(FONT_BOLD, "DejaVuSans-Bold.ttf")?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::draw::{Painter, Txt, ensure_fonts};
    use plotters::prelude::IntoDrawingArea;
    use plotters::style::RGBColor;

    fn font() -> FontRef<'static> {
        FontRef::try_from_slice(FONT_REGULAR).unwrap()
    }

    /// Columns (relative to the pen start) where any pixel of rows `rows` has coverage.
    fn inked_columns(c: &TextCoverage, rows: std::ops::Range<i32>) -> Vec<i32> {
        (c.x0..c.x0 + c.width as i32)
            .filter(|&x| rows.clone().any(|y| c.at(x, y) > 0.25))
            .collect()
    }

    #[test]
    fn advances_follow_the_fonts_own_metrics() {
        // DejaVu Sans: units per em 2048; advance of the digits 1303 units, of "." 651,
        // of "%" 1946. At an em of 11 px: "85.0%" = (3 × 1303 + 651 + 1946) / 2048 × 11
        // = 6506 / 2048 × 11 = 34.94 px (no kerning pairs among these glyphs).
        let (glyphs, advance) = layout(&font(), 11.0, "85.0%");
        assert!((advance - 6506.0 / 2048.0 * 11.0).abs() < 0.01, "{advance}");
        // The pen is never rounded: the "." starts 2 × 1303 / 2048 × 11 = 13.996 px in.
        assert!((glyphs[2].1 - 2.0 * 1303.0 / 2048.0 * 11.0).abs() < 0.01);
    }

    #[test]
    fn decimal_point_sits_on_the_baseline_between_the_digits() {
        // "5.0" at 11 px: the point's ink lies in the two rows just above the baseline (the
        // digits' bottoms too), and a gap of clear columns separates it from each digit.
        let f = font();
        let c = rasterize(&f, 11.0, "5.0", 0.0);
        let (glyphs, _) = layout(&f, 11.0, "5.0");
        // The point's ink, in rows -3..0 (just above the baseline), between the digits' boxes.
        let point_lo = glyphs[1].1.floor() as i32;
        let point_hi = glyphs[2].1.ceil() as i32;
        let bottom = inked_columns(&c, -2..0);
        let point_cols: Vec<i32> = bottom
            .iter()
            .copied()
            .filter(|&x| x > point_lo && x < point_hi)
            .collect();
        assert!(
            !point_cols.is_empty(),
            "no point on the baseline: {bottom:?}"
        );
        // Nothing of the point above the x-height's middle: it is not raised.
        let mid = inked_columns(&c, -5..-3);
        assert!(
            point_cols.iter().all(|x| !mid.contains(x)),
            "point raised: {point_cols:?} inked at mid height {mid:?}"
        );
        // Clear columns on both sides of the point in the bottom rows.
        let lo = *point_cols.first().unwrap();
        let hi = *point_cols.last().unwrap();
        assert!(
            !bottom.contains(&(lo - 1)) && !bottom.contains(&(hi + 1)),
            "{bottom:?}"
        );
    }

    /// Draws `text` through the e-mail charts' bitmap path at `px` CSS pixels, anchored
    /// top-left at (10, 10) of a white 140 × 40 image; returns the ink (0–1, from the grey
    /// level of black text) of each pixel, row-major.
    fn png_text(text: &str, px: f64) -> (usize, Vec<f64>) {
        ensure_fonts().unwrap();
        let (w, h) = (140u32, 40u32);
        let mut rgb = vec![255u8; (w * h * 3) as usize];
        {
            let root = crisp_bitmap(&mut rgb, (w, h)).unwrap().into_drawing_area();
            let p = Painter { area: &root };
            p.text(text, 10.0, 10.0, Txt::new(px, RGBColor(0, 0, 0)))
                .unwrap();
            root.present().unwrap();
        }
        let ink = rgb.chunks(3).map(|c| 1.0 - c[0] as f64 / 255.0).collect();
        (w as usize, ink)
    }

    #[test]
    fn png_text_sits_where_the_fonts_own_metrics_put_it() {
        // A second method, from the font's units: pen positions are the sums of advance widths
        // and kerning (font units × 11 / units-per-em); each glyph's ink lies in its outline's
        // bounding box at its pen position; the baseline is 0.76 em below a top anchor (as
        // plotters' SVG places it: dy="0.76em"), here 10 + round(8.36) = 18.
        use ab_glyph::Font;
        let font = ab_glyph::FontRef::try_from_slice(FONT_REGULAR).unwrap();
        let upem = font.units_per_em().unwrap() as f64;
        let k = 11.0 / upem;
        let (w, ink) = png_text("85.0%", 11.0);
        let baseline = 18.0;
        let mut pen = 10.0;
        let mut boxes = Vec::new();
        let mut prev = None;
        for ch in "85.0%".chars() {
            let id = font.glyph_id(ch);
            if let Some(p) = prev {
                pen += font.kern_unscaled(p, id) as f64 * k;
            }
            // (ab_glyph's outline bounds keep the font's y_max in `min.y`.)
            let b = font.outline(id).unwrap().bounds;
            let (y_lo, y_hi) = (b.min.y.min(b.max.y), b.min.y.max(b.max.y));
            boxes.push((
                pen + b.min.x as f64 * k,
                pen + b.max.x as f64 * k,
                baseline - y_hi as f64 * k,
                baseline - y_lo as f64 * k,
            ));
            pen += font.h_advance_unscaled(id) as f64 * k;
            prev = Some(id);
        }
        // Every inked pixel lies in a glyph's box (widened by one pixel for anti-aliasing).
        for (i, v) in ink.iter().enumerate() {
            let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
            if *v > 0.3 {
                assert!(
                    boxes
                        .iter()
                        .any(|b| x > b.0 - 1.0 && x < b.1 + 1.0 && y > b.2 - 1.0 && y < b.3 + 1.0),
                    "ink at ({x}, {y}) outside every glyph box {boxes:?}"
                );
            }
        }
        // Every glyph has ink in its box; the decimal point's sits on the baseline (its box,
        // 0 to 1.4 px above it), and clear columns separate it from both digits.
        let inked = |x0: f64, x1: f64, y0: f64, y1: f64| {
            ink.iter().enumerate().any(|(i, v)| {
                let (x, y) = ((i % w) as f64 + 0.5, (i / w) as f64 + 0.5);
                *v > 0.3 && x > x0 && x < x1 && y > y0 && y < y1
            })
        };
        for b in &boxes {
            assert!(inked(b.0 - 0.5, b.1 + 0.5, b.2 - 0.5, b.3 + 0.5), "{b:?}");
        }
        let dot = boxes[2];
        assert!(
            (dot.3 - baseline).abs() < 0.01 && dot.2 > baseline - 2.0,
            "{dot:?}"
        );
        let column_clear = |x: usize| (0..40).all(|y| ink[y * w + x] < 0.15);
        let clear_between =
            |a: f64, b: f64| ((a.ceil() as usize)..(b.floor() as usize)).any(column_clear);
        assert!(clear_between(boxes[1].1, dot.0), "8|5 and . touch");
        assert!(clear_between(dot.1, boxes[3].0), ". and 0 touch");
    }
}
