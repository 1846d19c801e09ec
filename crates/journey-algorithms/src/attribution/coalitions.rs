//! The computations behind [`super::shapley_attribution_table`]: journeys grouped by channel
//! set, the coalition value v(S), and the three methods: exact enumeration over all 2ⁿ
//! coalitions (subset sums by a zeta transform), Zhao et al.'s closed form, and permutation
//! sampling with antithetic pairs (Castro, Gómez & Tejada 2009, "Polynomial calculation of the
//! Shapley value based on sampling").

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;
use rustc_hash::FxHashMap;

use super::{CoalitionValue, PathTable};

/// Journeys grouped by channel set.
pub(super) struct SetGroup {
    /// Sorted channel ranks.
    pub(super) members: Vec<u32>,
    pub(super) conversions: f64,
    pub(super) journeys: f64,
    pub(super) value: f64,
}

pub(super) fn channel_sets(table: &PathTable) -> (Vec<String>, Vec<SetGroup>) {
    let (names, rank) = table.sorted_channels();
    let mut index: FxHashMap<Vec<u32>, usize> = FxHashMap::default();
    let mut groups: Vec<SetGroup> = Vec::new();
    let mut key = Vec::new();
    for (ids, c) in &table.paths {
        key.clear();
        key.extend(ids.iter().map(|&i| rank[i as usize]));
        key.sort_unstable();
        key.dedup();
        let g = match index.get(key.as_slice()) {
            Some(&g) => g,
            None => {
                index.insert(key.clone(), groups.len());
                groups.push(SetGroup {
                    members: key.clone(),
                    conversions: 0.0,
                    journeys: 0.0,
                    value: 0.0,
                });
                groups.len() - 1
            }
        };
        let g = &mut groups[g];
        g.conversions += c.conversions;
        g.journeys += c.journeys();
        g.value += c.value;
    }
    (names, groups)
}

/// (conversion game, revenue game) value of a coalition from its subset sums.
pub(super) fn coalition_value(
    kind: CoalitionValue,
    conversions: f64,
    journeys: f64,
    value: f64,
) -> (f64, f64) {
    match kind {
        CoalitionValue::Conversions => (conversions, value),
        CoalitionValue::ConversionRate => {
            if journeys > 0.0 {
                (conversions / journeys, value / journeys)
            } else {
                (0.0, 0.0)
            }
        }
    }
}

pub(super) fn closed_form(n: usize, groups: &[SetGroup]) -> (Vec<f64>, Vec<f64>) {
    let mut phi = vec![0f64; n];
    let mut phi_value = vec![0f64; n];
    for g in groups {
        if g.members.is_empty() {
            continue;
        }
        let k = g.members.len() as f64;
        for &j in &g.members {
            phi[j as usize] += g.conversions / k;
            phi_value[j as usize] += g.value / k;
        }
    }
    (phi, phi_value)
}

pub(super) fn shapley_enumerate(
    n: usize,
    groups: &[SetGroup],
    kind: CoalitionValue,
) -> (Vec<f64>, Vec<f64>) {
    if n == 0 {
        return (Vec::new(), Vec::new());
    }
    let size = 1usize << n;
    // Exact-set sums, then subset sums (zeta transform): C(S) = Σ_{T ⊆ S} R(T).
    let mut conv = vec![0f64; size];
    let mut jour = vec![0f64; size];
    let mut val = vec![0f64; size];
    for g in groups {
        let mask = g.members.iter().fold(0usize, |m, &c| m | (1 << c));
        conv[mask] += g.conversions;
        jour[mask] += g.journeys;
        val[mask] += g.value;
    }
    for bit in 0..n {
        let b = 1usize << bit;
        for mask in 0..size {
            if mask & b != 0 {
                conv[mask] += conv[mask ^ b];
                jour[mask] += jour[mask ^ b];
                val[mask] += val[mask ^ b];
            }
        }
    }
    let (v, vv): (Vec<f64>, Vec<f64>) = (0..size)
        .map(|m| coalition_value(kind, conv[m], jour[m], val[m]))
        .unzip();
    // Weight |S|! (n − |S| − 1)! / n! = 1 / (n · C(n − 1, |S|)).
    let mut weight = vec![0f64; n.max(1)];
    let mut binom = 1f64;
    for (s, w) in weight.iter_mut().enumerate() {
        *w = 1.0 / (n as f64 * binom);
        binom = binom * (n - 1 - s) as f64 / (s + 1) as f64;
    }
    let mut phi = vec![0f64; n];
    let mut phi_value = vec![0f64; n];
    for mask in 0..size {
        let w = weight
            .get(mask.count_ones() as usize)
            .copied()
            .unwrap_or(0.0);
        for j in 0..n {
            let b = 1usize << j;
            if mask & b == 0 {
                phi[j] += w * (v[mask | b] - v[mask]);
                phi_value[j] += w * (vv[mask | b] - vv[mask]);
            }
        }
    }
    (phi, phi_value)
}

pub(super) fn shapley_sample(
    n: usize,
    groups: &[SetGroup],
    kind: CoalitionValue,
    pairs: usize,
    seed: u64,
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut perm: Vec<usize> = (0..n).collect();
    let mut pos = vec![0usize; n];
    let mut bucket_c = vec![0f64; n + 1];
    let mut bucket_j = vec![0f64; n + 1];
    let mut bucket_v = vec![0f64; n + 1];
    let mut marg = vec![0f64; n];
    let mut marg_value = vec![0f64; n];
    let mut pair = vec![0f64; n];
    let mut pair_value = vec![0f64; n];
    let mut sum = vec![0f64; n];
    let mut sum_sq = vec![0f64; n];
    let mut sum_value = vec![0f64; n];
    for _ in 0..pairs {
        perm.shuffle(&mut rng);
        pair.iter_mut().for_each(|x| *x = 0.0);
        pair_value.iter_mut().for_each(|x| *x = 0.0);
        for half in 0..2 {
            if half == 1 {
                perm.reverse(); // antithetic partner
            }
            for (k, &c) in perm.iter().enumerate() {
                pos[c] = k;
            }
            bucket_c.iter_mut().for_each(|x| *x = 0.0);
            bucket_j.iter_mut().for_each(|x| *x = 0.0);
            bucket_v.iter_mut().for_each(|x| *x = 0.0);
            // A channel set is inside the first k channels of the order once its last member
            // has joined: bucket by 1 + max position (0 for the empty set).
            for g in groups {
                let b = g
                    .members
                    .iter()
                    .map(|&c| pos[c as usize] + 1)
                    .max()
                    .unwrap_or(0);
                bucket_c[b] += g.conversions;
                bucket_j[b] += g.journeys;
                bucket_v[b] += g.value;
            }
            let (mut c, mut j, mut v) = (bucket_c[0], bucket_j[0], bucket_v[0]);
            let mut prev = coalition_value(kind, c, j, v);
            for k in 1..=n {
                c += bucket_c[k];
                j += bucket_j[k];
                v += bucket_v[k];
                let cur = coalition_value(kind, c, j, v);
                let ch = perm[k - 1];
                marg[ch] = cur.0 - prev.0;
                marg_value[ch] = cur.1 - prev.1;
                prev = cur;
            }
            for ch in 0..n {
                pair[ch] += 0.5 * marg[ch];
                pair_value[ch] += 0.5 * marg_value[ch];
            }
        }
        for ch in 0..n {
            sum[ch] += pair[ch];
            sum_sq[ch] += pair[ch] * pair[ch];
            sum_value[ch] += pair_value[ch];
        }
    }
    let m = pairs as f64;
    let phi: Vec<f64> = sum.iter().map(|s| s / m).collect();
    let phi_value: Vec<f64> = sum_value.iter().map(|s| s / m).collect();
    let se = (0..n)
        .map(|ch| {
            if pairs < 2 {
                return 0.0;
            }
            let var = (sum_sq[ch] - m * phi[ch] * phi[ch]) / (m - 1.0);
            (var.max(0.0) / m).sqrt()
        })
        .collect();
    (phi, phi_value, se)
}
