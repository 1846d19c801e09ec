//! Funnel charts: one bar per stage with its value, share of the first stage and conversion
//! from the previous one.

use plotters::prelude::DrawingBackend;
use plotters::style::text_anchor::{HPos, VPos};
use serde::Serialize;

use crate::draw::{
    BG, DrawResult, INK, INK_2, LABEL_PX, MUTED, Mark, PAD, PALETTE, Painter, TICK_PX, TRACK, Txt,
    clean_text, fit_text, header_layout, text_w,
};
use crate::format::{format_number, pct_text, value_decimals};

/// A funnel: one horizontal bar per stage, in order, with value, % of the first stage and
/// conversion from the previous stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FunnelChart {
    /// Title drawn at the top left.
    pub title: String,
    /// Unit of the values, written after each value ("12,345 customers").
    pub unit: Option<String>,
    /// Stage names, first stage first.
    pub stages: Vec<String>,
    /// One value per stage; finite and not negative.
    pub values: Vec<f64>,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels; grows when the stages do not fit.
    pub height: u32,
}

const FUNNEL_NAME_H: f64 = 20.0;
const FUNNEL_MIN_ROW: f64 = 46.0;
const FUNNEL_MAX_ROW: f64 = 64.0;

const FUNNEL_GAP: f64 = 12.0;

pub(crate) fn funnel_min_height(c: &FunnelChart, w: f64) -> f64 {
    let head = header_layout(w, &c.title, &[], Mark::Square);
    head.bottom + 4.0 + c.stages.len() as f64 * FUNNEL_MIN_ROW + PAD - FUNNEL_GAP
}

pub(crate) fn draw_funnel<DB: DrawingBackend>(
    c: &FunnelChart,
    p: &Painter<DB>,
    w: f64,
    h: f64,
) -> DrawResult {
    let head = header_layout(w, &c.title, &[], Mark::Square);
    p.header(&head)?;
    let n = c.stages.len();
    let top = head.bottom + 4.0;
    let row_h = ((h - PAD + FUNNEL_GAP - top) / n as f64).clamp(FUNNEL_MIN_ROW, FUNNEL_MAX_ROW);
    let bar_h = (row_h - FUNNEL_NAME_H - FUNNEL_GAP).clamp(14.0, 30.0);
    let max = c.values.iter().copied().fold(0.0, f64::max);
    let first = c.values[0];
    let dec = value_decimals(c.values.iter().copied());
    let unit = c.unit.as_deref().map(str::trim).filter(|u| !u.is_empty());
    let (left, right) = (PAD, w - PAD);
    let width = right - left;
    for (i, (stage, &v)) in c.stages.iter().zip(&c.values).enumerate() {
        let ry = top + i as f64 * row_h;
        let value = match unit {
            Some(u) => format!("{} {}", format_number(v, dec), clean_text(u)),
            None => format_number(v, dec),
        };
        let stage_share =
            (i > 0).then(|| format!("{} of previous stage", pct_text(v, c.values[i - 1])));
        // right-aligned: "12,345 customers  ·  62.1% of previous stage"
        let mut x = right;
        if let Some(stage_share) = &stage_share {
            p.text(
                stage_share,
                x,
                ry,
                Txt::new(LABEL_PX, MUTED).at(HPos::Right, VPos::Top),
            )?;
            x -= text_w(stage_share, LABEL_PX, false);
            p.text(
                "·",
                x - 7.0,
                ry,
                Txt::new(LABEL_PX, MUTED).at(HPos::Center, VPos::Top),
            )?;
            x -= 14.0;
        }
        p.text(
            &value,
            x,
            ry,
            Txt::new(LABEL_PX, INK).bold().at(HPos::Right, VPos::Top),
        )?;
        x -= text_w(&value, LABEL_PX, true);
        let name = fit_text(stage, LABEL_PX, true, (x - left - 16.0).max(40.0), 40);
        p.text(&name, left, ry, Txt::new(LABEL_PX, INK_2).bold())?;

        let by = ry + FUNNEL_NAME_H;
        p.rect(left, by, right, by + bar_h, TRACK)?;
        let len = if max > 0.0 { v / max * width } else { 0.0 };
        if len > 0.0 {
            p.rect(left, by, left + len.max(2.0), by + bar_h, PALETTE[0])?;
        }
        let pct = pct_text(v, first);
        let pw = text_w(&pct, TICK_PX, true);
        let cy = by + bar_h / 2.0;
        if len >= pw + 14.0 {
            let t = Txt::new(TICK_PX, BG).bold().at(HPos::Right, VPos::Center);
            p.text(&pct, left + len - 7.0, cy, t)?;
        } else {
            let t = Txt::new(TICK_PX, INK_2).bold().at(HPos::Left, VPos::Center);
            p.text(&pct, left + len + 6.0, cy, t)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::{fill_count, svg};
    use serde_json::json;

    #[test]
    fn funnel_labels() {
        let rows = json!([
            {"stage": "Visited", "customers": 10000},
            {"stage": "Added to cart", "customers": 4200},
            {"stage": "Checkout", "customers": 2100},
            {"stage": "Purchased", "customers": 1300},
        ]);
        let s = svg(
            "funnel_chart",
            json!({"rows": rows, "stage": "stage", "value": "customers", "title": "Purchase funnel", "unit": "customers"}),
        );
        assert!(s.contains("Purchase funnel"));
        for x in [
            "Visited",
            "10,000 customers",
            "100.0%",
            "42.0%",
            "21.0%",
            "13.0%",
            "50.0% of previous stage",
            "61.9% of previous stage",
        ] {
            assert!(s.contains(x), "{x} in {s}");
        }
        assert_eq!(fill_count(&s, PALETTE[0]), 4);
        assert_eq!(fill_count(&s, TRACK), 4);
    }
}
