//! Category labels along a horizontal axis, shared by vertical bar charts and heatmap
//! columns: each name on one line, wrapped on two, or rotated.

use crate::draw::{TICK_PX, fit_text, text_w};

/// Category labels under vertical bars: one line, two wrapped lines, or rotated.
pub(crate) struct CategoryLabels {
    pub(crate) lines: Vec<Vec<String>>,
    pub(crate) rotated: bool,
    pub(crate) every: usize,
    pub(crate) height: f64,
}

fn wrap_two_lines(s: &str, px: f64, max_w: f64) -> Option<Vec<String>> {
    let words: Vec<&str> = s.split_whitespace().collect();
    if words.len() < 2 {
        return None;
    }
    for split in (1..words.len()).rev() {
        let first = words[..split].join(" ");
        if text_w(&first, px, false) <= max_w {
            let second = words[split..].join(" ");
            return (text_w(&second, px, false) <= max_w).then(|| vec![first, second]);
        }
    }
    None
}

pub(crate) fn category_labels(
    categories: &[String],
    slot: f64,
    max_rotated: f64,
) -> CategoryLabels {
    let line_h = TICK_PX * 1.3;
    let names: Vec<String> = categories
        .iter()
        .map(|c| fit_text(c, TICK_PX, false, 1e9, 40))
        .collect();
    let avail = slot - 6.0;
    if names.iter().all(|n| text_w(n, TICK_PX, false) <= avail) {
        return CategoryLabels {
            lines: names.into_iter().map(|n| vec![n]).collect(),
            rotated: false,
            every: 1,
            height: line_h,
        };
    }
    let wrapped: Vec<Option<Vec<String>>> = names
        .iter()
        .map(|n| {
            if text_w(n, TICK_PX, false) <= avail {
                Some(vec![n.clone()])
            } else {
                wrap_two_lines(n, TICK_PX, avail)
            }
        })
        .collect();
    if wrapped.iter().all(Option::is_some) {
        return CategoryLabels {
            lines: wrapped.into_iter().flatten().collect(),
            rotated: false,
            every: 1,
            height: 2.0 * line_h,
        };
    }
    let every = ((TICK_PX * 1.5) / slot).ceil().max(1.0) as usize;
    let lines: Vec<Vec<String>> = names
        .iter()
        .map(|n| vec![fit_text(n, TICK_PX, false, max_rotated, 28)])
        .collect();
    let height = lines
        .iter()
        .step_by(every)
        .map(|l| text_w(&l[0], TICK_PX, false))
        .fold(0.0, f64::max);
    CategoryLabels {
        lines,
        rotated: true,
        every,
        height,
    }
}
