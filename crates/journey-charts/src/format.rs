//! Number formatting: full numbers ([`format_number`]), short ones for ticks and tight
//! labels ([`format_compact`]), axis ticks and their labels, and percentages.

/// Formats `v` with `decimals` decimals and "," as thousands separator:
/// `format_number(1234567.891, 2)` is `"1,234,567.89"`, `format_number(-0.004, 2)` is
/// `"0.00"`. Non-finite values are written as Rust writes them (`NaN`, `inf`).
pub fn format_number(v: f64, decimals: usize) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let s = format!("{:.*}", decimals, v.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (s.as_str(), None),
    };
    let mut out = String::with_capacity(s.len() + s.len() / 3 + 1);
    if v < 0.0 && s.bytes().any(|b| (b'1'..=b'9').contains(&b)) {
        out.push('-');
    }
    let digits = int.len();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (digits - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if let Some(f) = frac {
        out.push('.');
        out.push_str(f);
    }
    out
}

const COMPACT_UNITS: [(f64, &str); 5] =
    [(1.0, ""), (1e3, "k"), (1e6, "M"), (1e9, "B"), (1e12, "T")];

/// Formats `v` short, for axis ticks and tight labels: 950 → `"950"`, 1234 → `"1.2k"`,
/// 12345 → `"12.3k"`, 123456 → `"123k"`, 2500000 → `"2.5M"`, then `B` (billions) and `T`;
/// below 1000 at most three significant digits (12.34 → `"12.3"`, 0.256 → `"0.26"`).
/// Trailing zeros are dropped (2000 → `"2k"`). Non-finite values are written as Rust
/// writes them.
pub fn format_compact(v: f64) -> String {
    if !v.is_finite() {
        return v.to_string();
    }
    let a = v.abs();
    let mut unit = COMPACT_UNITS
        .iter()
        .rposition(|(d, _)| a >= *d)
        .unwrap_or(0);
    loop {
        let scaled = a / COMPACT_UNITS[unit].0;
        let decimals = match (unit, scaled) {
            (_, s) if s >= 100.0 => 0,
            (0, s) if s < 10.0 => 2,
            _ => 1,
        };
        let s = format!("{scaled:.decimals$}");
        if s.parse::<f64>().unwrap_or(0.0) >= 1000.0 && unit + 1 < COMPACT_UNITS.len() {
            unit += 1;
            continue;
        }
        let s = trim_zeros(&s);
        let sign = if v < 0.0 && s != "0" { "-" } else { "" };
        return format!("{sign}{s}{}", COMPACT_UNITS[unit].1);
    }
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

/// Decimals for value labels: none for whole numbers or values of 100 and more.
pub(crate) fn value_decimals(values: impl Iterator<Item = f64>) -> usize {
    let mut max_abs: f64 = 0.0;
    let mut integral = true;
    for v in values {
        max_abs = max_abs.max(v.abs());
        integral &= v.fract() == 0.0;
    }
    if integral || max_abs >= 100.0 {
        0
    } else if max_abs >= 10.0 {
        1
    } else {
        2
    }
}

/// "Nice" axis ticks (steps of 1, 2, 2.5 or 5 × 10ⁿ) covering `lo..=hi`, about `target` of them.
pub(crate) fn nice_ticks(lo: f64, hi: f64, target: usize) -> Vec<f64> {
    let (mut lo, mut hi) = (lo.min(hi), hi.max(lo));
    if hi - lo <= f64::EPSILON * hi.abs().max(lo.abs()).max(1.0) {
        if hi == 0.0 {
            hi = 1.0;
        } else if hi > 0.0 {
            lo = lo.min(0.0);
            hi *= 1.0 + 1e-9;
        } else {
            hi = 0.0;
        }
    }
    let target = target.max(1) as f64;
    let raw = (hi - lo) / target;
    let mag = 10f64.powf(raw.log10().floor());
    // The candidate step whose tick count is closest to `target`, without wasting room.
    let mut best = (f64::INFINITY, mag, 0i64, 0i64);
    for m in [0.5, 1.0, 2.0, 2.5, 5.0, 10.0, 20.0] {
        let step = m * mag;
        let start = (lo / step + 1e-9).floor() as i64;
        let end = (hi / step - 1e-9).ceil() as i64;
        let covered = (end - start) as f64 * step;
        let waste = (covered - (hi - lo)) / covered;
        let score = ((end - start) as f64 - target).abs() + 4.0 * waste;
        if score < best.0 {
            best = (score, step, start, end);
        }
    }
    let (_, step, start, end) = best;
    (start..=end).map(|i| i as f64 * step).collect()
}

pub(crate) fn tick_target(length: f64, spacing: f64) -> usize {
    ((length / spacing).floor() as usize).clamp(2, 8)
}

/// Tick labels with enough decimals to tell ticks apart, written as the tables write
/// numbers — with thousands separators (0, 2,500, 5,000, 7,500) — below a million, and
/// short from a million on (0, 500k, 1M, 1.5M), where a full number would crowd the axis.
pub(crate) fn tick_labels(ticks: &[f64]) -> Vec<String> {
    let step = if ticks.len() > 1 {
        (ticks[1] - ticks[0]).abs()
    } else {
        1.0
    };
    let big = ticks.iter().any(|t| t.abs() >= 1e6);
    ticks
        .iter()
        .map(|&t| {
            if t.abs() <= step * 1e-9 {
                return "0".to_string();
            }
            let unit = if big {
                COMPACT_UNITS
                    .iter()
                    .rposition(|(d, _)| t.abs() >= *d)
                    .unwrap_or(0)
            } else {
                0
            };
            let (div, suffix) = COMPACT_UNITS[unit];
            let scaled = t / div;
            let decimals = (0..=6)
                .find(|d| {
                    let p = 10f64.powi(*d as i32);
                    ((scaled * p).round() / p * div - t).abs() <= step * 1e-6
                })
                .unwrap_or(6);
            format!("{}{suffix}", trim_zeros(&format_number(scaled, decimals)))
        })
        .collect()
}

pub(crate) fn pct_text(part: f64, whole: f64) -> String {
    if whole > 0.0 {
        format!("{}%", format_number(part / whole * 100.0, 1))
    } else {
        "–".to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_numbers() {
        assert_eq!(format_number(1234567.891, 2), "1,234,567.89");
        assert_eq!(format_number(1234.0, 0), "1,234");
        assert_eq!(format_number(999.0, 0), "999");
        assert_eq!(format_number(-1234.5, 1), "-1,234.5");
        assert_eq!(format_number(-0.004, 2), "0.00");
        assert_eq!(format_number(0.0, 0), "0");
        assert_eq!(format_number(100000.0, 0), "100,000");
        assert_eq!(format_compact(1234.0), "1.2k");
        assert_eq!(format_compact(12345.0), "12.3k");
        assert_eq!(format_compact(123456.0), "123k");
        assert_eq!(format_compact(2_500_000.0), "2.5M");
        assert_eq!(format_compact(950.0), "950");
        assert_eq!(format_compact(2000.0), "2k");
        assert_eq!(format_compact(999_960.0), "1M");
        assert_eq!(format_compact(999.7), "1k");
        assert_eq!(format_compact(-1234.0), "-1.2k");
        assert_eq!(format_compact(0.256), "0.26");
        assert_eq!(format_compact(12.34), "12.3");
        assert_eq!(format_compact(0.0), "0");
        assert_eq!(format_compact(3.2e9), "3.2B");
    }

    #[test]
    fn ticks_are_nice_and_labels_distinct() {
        assert_eq!(
            nice_ticks(0.0, 125000.5, 5),
            vec![0.0, 25000.0, 50000.0, 75000.0, 100000.0, 125000.0, 150000.0]
        );
        assert_eq!(
            nice_ticks(0.0, 100.0, 5),
            vec![0.0, 20.0, 40.0, 60.0, 80.0, 100.0]
        );
        // An axis that reaches a million is short throughout; below it, full numbers with
        // the tables' thousands separators.
        assert_eq!(
            tick_labels(&[0.0, 250e3, 500e3, 750e3, 1e6]),
            ["0", "250k", "500k", "750k", "1M"]
        );
        assert_eq!(
            tick_labels(&[0.0, 2500.0, 5000.0, 7500.0]),
            ["0", "2,500", "5,000", "7,500"]
        );
        assert_eq!(
            tick_labels(&[0.0, 50e3, 100e3, 150e3]),
            ["0", "50,000", "100,000", "150,000"]
        );
        assert_eq!(
            tick_labels(&[0.0, 0.05, 0.1, 0.15]),
            ["0", "0.05", "0.1", "0.15"]
        );
        assert_eq!(
            tick_labels(&[0.0, 200.0, 400.0, 1200.0]),
            ["0", "200", "400", "1,200"]
        );
        assert_eq!(
            nice_ticks(0.0, 0.0, 5),
            vec![0.0, 0.2, 0.4, 0.6000000000000001, 0.8, 1.0]
        );
        let t = nice_ticks(-30.0, 90.0, 5);
        assert!(t[0] <= -30.0 && *t.last().unwrap() >= 90.0 && t.contains(&0.0));
    }
}
