//! The absorbing Markov chain of order k behind [`super::markov_attribution_table`]: states
//! from the paths of a [`PathTable`] (windows of k touchpoints, consecutive duplicates merged;
//! module docs of [`crate::attribution`]), journey-weighted transition counts, the dense
//! `I − Q` and the one-step absorption vectors, and the solve for P(conversion) and E[value]
//! from `(start)` (absorbing chains: Kemeny & Snell, *Finite Markov Chains*, ch. III).

use rustc_hash::FxHashMap;

use super::lu::Lu;
use super::{AttributionError, AttributionResult, MAX_MARKOV_STATES, MarkovOptions, PathTable};

/// The fitted absorbing chain: dense `I − Q` and the right-hand sides.
pub(super) struct Chain {
    /// Transient states, index 0 = `(start)`; others: touchpoint windows as sorted channel ranks.
    pub(super) states: Vec<Box<[u32]>>,
    /// n × (n + 2) transition counts; columns n and n + 1 are `(conversion)` and `(null)`.
    pub(super) counts: Vec<f64>,
    /// Row totals of `counts`.
    pub(super) out: Vec<f64>,
    /// Dense row-major `I − Q` (n × n).
    pub(super) i_minus_q: Vec<f64>,
    /// One-step absorption probability into `(conversion)` per transient state.
    pub(super) r_conv: Vec<f64>,
    /// One-step expected conversion value per transient state (currency units).
    pub(super) r_value: Vec<f64>,
}

impl Chain {
    pub(super) fn n(&self) -> usize {
        self.states.len()
    }
}

pub(super) fn build_chain(
    table: &PathTable,
    options: &MarkovOptions,
) -> AttributionResult<(Chain, Vec<String>)> {
    let order = options.order;
    if order == 0 {
        return Err(AttributionError::InvalidOrder(0));
    }
    if table.total_journeys() <= 0.0 {
        return Err(AttributionError::EmptyInput);
    }
    let (names, rank) = table.sorted_channels();

    // 1. States of every path (ids in first-seen order), consecutive duplicates merged.
    let mut index = StateIndex::new(names.len(), order);
    let mut keys: Vec<Box<[u32]>> = vec![Box::new([])]; // 0 = (start)
    let mut seq: Vec<u32> = Vec::new();
    let mut seq_end: Vec<usize> = Vec::with_capacity(table.paths.len());
    let mut buf: Vec<u32> = Vec::new();
    for (ids, _) in &table.paths {
        buf.clear();
        for &c in ids.iter() {
            let c = rank[c as usize];
            if !(options.collapse_repeated_touchpoints && buf.last() == Some(&c)) {
                buf.push(c);
            }
        }
        let mut last = 0u32;
        let mut push = |w: &[u32]| -> AttributionResult<()> {
            let id = index.get_or_insert(w, &mut keys, order)?;
            if id != last {
                seq.push(id);
                last = id;
            }
            Ok(())
        };
        if buf.is_empty() {
        } else if buf.len() <= order {
            push(&buf)?;
        } else {
            for w in buf.windows(order) {
                push(w)?;
            }
        }
        seq_end.push(seq.len());
    }

    // 2. Deterministic state numbering: (start), then windows ordered by their channel names.
    let n = keys.len();
    let mut perm: Vec<usize> = (1..n).collect();
    perm.sort_by(|&a, &b| keys[a].cmp(&keys[b]));
    let mut new_id = vec![0u32; n];
    for (pos, &old) in perm.iter().enumerate() {
        new_id[old] = (pos + 1) as u32;
    }
    let mut states: Vec<Box<[u32]>> = Vec::with_capacity(n);
    states.push(Box::new([]));
    states.extend(perm.iter().map(|&old| keys[old].clone()));

    // 3. Journey-weighted transition counts.
    let width = n + 2;
    let mut counts = vec![0f64; n * width];
    let mut value_in = vec![0f64; n];
    let mut begin = 0;
    for ((_, c), &end) in table.paths.iter().zip(&seq_end) {
        let w = c.journeys();
        let mut prev = 0usize;
        for &s in &seq[begin..end] {
            let s = new_id[s as usize] as usize;
            counts[prev * width + s] += w;
            prev = s;
        }
        begin = end;
        counts[prev * width + n] += c.conversions;
        counts[prev * width + n + 1] += c.nulls;
        value_in[prev] += c.value;
    }

    // 4. Probabilities: I − Q and the one-step absorption vectors.
    let mut out = vec![0f64; n];
    let mut i_minus_q = vec![0f64; n * n];
    let mut r_conv = vec![0f64; n];
    let mut r_value = vec![0f64; n];
    for i in 0..n {
        let row = &counts[i * width..(i + 1) * width];
        let t: f64 = row.iter().sum();
        out[i] = t;
        i_minus_q[i * n + i] = 1.0;
        if t <= 0.0 {
            continue; // cannot happen for observed states; the row then solves to x_i = 0
        }
        for j in 0..n {
            if row[j] != 0.0 {
                i_minus_q[i * n + j] -= row[j] / t;
            }
        }
        r_conv[i] = row[n] / t;
        r_value[i] = value_in[i] / t;
    }
    Ok((
        Chain {
            states,
            counts,
            out,
            i_minus_q,
            r_conv,
            r_value,
        },
        names,
    ))
}

/// Interning of order-k states (windows of channel ranks) to dense ids.
enum StateIndex {
    /// Window packed into a `u64` as digits `rank + 1` in base `channels + 1` (fast path, used
    /// whenever `(channels + 1)^order` fits in 64 bits).
    Packed { base: u64, map: FxHashMap<u64, u32> },
    /// General case: the window itself is the key.
    Slices(FxHashMap<Box<[u32]>, u32>),
}

impl StateIndex {
    fn new(channels: usize, order: usize) -> Self {
        let base = channels as u64 + 1;
        match u32::try_from(order).ok().and_then(|k| base.checked_pow(k)) {
            Some(_) => StateIndex::Packed {
                base,
                map: FxHashMap::default(),
            },
            None => StateIndex::Slices(FxHashMap::default()),
        }
    }

    /// Id of window `w`, interning it (and recording its key) if new; id 0 is `(start)`.
    fn get_or_insert(
        &mut self,
        w: &[u32],
        keys: &mut Vec<Box<[u32]>>,
        order: usize,
    ) -> AttributionResult<u32> {
        let next = keys.len();
        let mut fresh = || -> AttributionResult<u32> {
            if next >= MAX_MARKOV_STATES {
                return Err(AttributionError::TooManyStates {
                    order,
                    states: next + 1,
                    limit: MAX_MARKOV_STATES,
                });
            }
            keys.push(w.into());
            Ok(next as u32)
        };
        match self {
            StateIndex::Packed { base, map } => {
                let code = w.iter().fold(0u64, |k, &c| k * *base + c as u64 + 1);
                if let Some(&id) = map.get(&code) {
                    return Ok(id);
                }
                let id = fresh()?;
                map.insert(code, id);
                Ok(id)
            }
            StateIndex::Slices(map) => {
                if let Some(&id) = map.get(w) {
                    return Ok(id);
                }
                let id = fresh()?;
                map.insert(w.into(), id);
                Ok(id)
            }
        }
    }
}

/// Solves the absorbing chain restricted to the transient states `keep` (which must start with
/// `(start)` = 0); every other transient state is treated as redirected to `(null)`. Returns
/// (P(conversion), E[value]) from `(start)`.
pub(super) fn solve_from_start(chain: &Chain, keep: &[usize]) -> AttributionResult<(f64, f64)> {
    let n = chain.n();
    let m = keep.len();
    let mut a = vec![0f64; m * m];
    for (r, &i) in keep.iter().enumerate() {
        let src = &chain.i_minus_q[i * n..(i + 1) * n];
        let dst = &mut a[r * m..(r + 1) * m];
        for (c, &j) in keep.iter().enumerate() {
            dst[c] = src[j];
        }
    }
    let mut b0: Vec<f64> = keep.iter().map(|&i| chain.r_conv[i]).collect();
    let mut b1: Vec<f64> = keep.iter().map(|&i| chain.r_value[i]).collect();
    let lu = Lu::factor(a, m)?;
    lu.solve(&mut b0);
    lu.solve(&mut b1);
    let (p, v) = (b0[0], b1[0]);
    if !p.is_finite() || !v.is_finite() {
        return Err(AttributionError::SingularSystem {
            column: 0,
            pivot: 0.0,
        });
    }
    Ok((p.clamp(0.0, 1.0), v.max(0.0)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::attribution::markov_attribution_table;
    use crate::attribution::test_support::*;

    /// Second method: value iteration x ← Q x + r (probability of absorption in (conversion)
    /// within t steps, monotone in t) converges to the linear-solve answer.
    #[test]
    fn markov_solve_matches_value_iteration() {
        for (seed, order) in [(1u64, 1usize), (2, 2), (3, 3)] {
            let t = random_table(seed, 5, 400, 6);
            let opts = MarkovOptions {
                order,
                ..Default::default()
            };
            let (chain, _) = build_chain(&t, &opts).unwrap();
            let n = chain.n();
            let (p, ev) = solve_from_start(&chain, &(0..n).collect::<Vec<_>>()).unwrap();
            let mut x = vec![0f64; n];
            let mut y = vec![0f64; n];
            for _ in 0..100_000 {
                let mut delta = 0f64;
                let mut nx = vec![0f64; n];
                let mut ny = vec![0f64; n];
                for i in 0..n {
                    let (mut sx, mut sy) = (chain.r_conv[i], chain.r_value[i]);
                    for j in 0..n {
                        let q = -chain.i_minus_q[i * n + j] + if i == j { 1.0 } else { 0.0 };
                        sx += q * x[j];
                        sy += q * y[j];
                    }
                    delta = delta.max((sx - x[i]).abs()).max((sy - y[i]).abs() / 100.0);
                    nx[i] = sx;
                    ny[i] = sy;
                }
                x = nx;
                y = ny;
                if delta < 1e-16 {
                    break;
                }
            }
            assert!(
                close(p, x[0], 1e-12),
                "order {order}: solve {p} vs iteration {}",
                x[0]
            );
            assert!(
                close(ev, y[0], 1e-9 * ev.max(1.0)),
                "order {order}: {ev} vs {}",
                y[0]
            );
            let r = markov_attribution_table(&t, &opts).unwrap();
            check_invariants(&r);
        }
    }

    /// Windows too wide to pack into a u64 use slice keys; results must not depend on that.
    #[test]
    fn markov_wide_state_keys() {
        let mut t = PathTable::new();
        let names: Vec<String> = (0..40).map(|i| format!("c{i:02}")).collect();
        for (i, a) in names.iter().enumerate() {
            let b = &names[(i * 7 + 3) % 40];
            let c = &names[(i * 11 + 5) % 40];
            t.add_path(
                &[a, b, c],
                (i % 3) as f64,
                (i % 4) as f64 + 1.0,
                i as f64 * ((i % 3) as f64),
            )
            .unwrap();
            t.add_path(&[b, c], 1.0, (i % 2) as f64, 2.0).unwrap();
        }
        assert!(matches!(StateIndex::new(40, 12), StateIndex::Slices(_)));
        assert!(matches!(StateIndex::new(40, 3), StateIndex::Packed { .. }));
        // Every path is shorter than both orders, so each path is a single state either way.
        let wide = markov_attribution_table(
            &t,
            &MarkovOptions {
                order: 12,
                ..Default::default()
            },
        )
        .unwrap();
        let packed = markov_attribution_table(
            &t,
            &MarkovOptions {
                order: 3,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(wide.channels, packed.channels);
        assert_eq!(wide.transitions, packed.transitions);
        check_invariants(&wide);
    }
}
