//! Builders and checks shared by the attribution tests.

use std::collections::HashMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

pub(crate) fn table(paths: &[(&str, u64, u64, f64)]) -> PathTable {
    PathTable::from_journeys(&journeys(paths)).unwrap()
}

pub(crate) fn journeys(paths: &[(&str, u64, u64, f64)]) -> Vec<Journey> {
    paths
        .iter()
        .map(|&(p, c, u, v)| Journey {
            path: p
                .split('>')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            conversions: c as f64,
            nulls: u as f64,
            value: v,
        })
        .collect()
}

pub(crate) fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol
}

pub(crate) fn credit<'a>(r: &'a MarkovAttribution, ch: &str) -> &'a MarkovChannelCredit {
    r.channels.iter().find(|c| c.channel == ch).unwrap()
}

pub(crate) fn sh<'a>(r: &'a ShapleyAttribution, ch: &str) -> &'a ShapleyChannelCredit {
    r.channels.iter().find(|c| c.channel == ch).unwrap()
}

pub(crate) fn prob(r: &MarkovAttribution, from: &str, to: &str) -> f64 {
    r.transitions
        .iter()
        .find(|t| t.from == from && t.to == to)
        .map_or(0.0, |t| t.probability)
}

pub(crate) fn check_invariants(r: &MarkovAttribution) {
    let conv: f64 = r.channels.iter().map(|c| c.conversions).sum();
    let value: f64 = r.channels.iter().map(|c| c.revenue).sum();
    for c in &r.channels {
        assert!(c.removal_effect >= 0.0 && c.removal_effect <= 1.0, "{c:?}");
        assert!(
            c.value_removal_effect >= 0.0 && c.value_removal_effect <= 1.0,
            "{c:?}"
        );
        assert!(c.conversions.is_finite() && c.revenue.is_finite());
    }
    if r.channels.iter().any(|c| c.removal_effect > 0.0) {
        assert!(
            close(conv, r.total_conversions, 1e-9 * (1.0 + conv)),
            "{conv}"
        );
    }
    if r.channels.iter().any(|c| c.value_removal_effect > 0.0) {
        assert!(close(value, r.total_value, 1e-9 * (1.0 + value)), "{value}");
    }
    // Rows of the transition matrix sum to 1.
    let mut rows: HashMap<&str, f64> = HashMap::new();
    for t in &r.transitions {
        *rows.entry(t.from.as_str()).or_default() += t.probability;
    }
    for (from, s) in rows {
        assert!(close(s, 1.0, 1e-12), "row {from} sums to {s}");
    }
}

/// A random table of `paths` paths over `channels` channels, seeded (ChaCha8).
pub(crate) fn random_table(seed: u64, channels: usize, paths: usize, max_len: usize) -> PathTable {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let names: Vec<String> = (0..channels).map(|i| format!("ch{i}")).collect();
    let mut t = PathTable::new();
    for _ in 0..paths {
        let len = rng.random_range(1..=max_len);
        let p: Vec<&str> = (0..len)
            .map(|_| names[rng.random_range(0..channels)].as_str())
            .collect();
        let conv = rng.random_range(0..3u64);
        let nulls = rng.random_range(0..6u64);
        let value = if conv > 0 {
            rng.random_range(1.0..100.0) * conv as f64
        } else {
            0.0
        };
        t.add_path(&p, conv as f64, nulls as f64, value).unwrap();
    }
    t
}
