//! Helpers shared by the funnel tests: options from mode names, the level of a list of rows, the
//! `windowFunnel(…)(ts, cond…)` shorthands, and the masks of hand-worked fixtures.

use super::*;

pub(crate) fn opts(window: i64, modes: &[&str]) -> FunnelOptions {
    FunnelOptions::parse_modes(window, modes).unwrap()
}

/// Pushes the rows in the given order and computes the level.
pub(crate) fn level(rows: &[(i64, u32)], stages: usize, o: &FunnelOptions) -> usize {
    let mut e = FunnelEvents::new();
    for &(t, m) in rows {
        e.push(t, m);
    }
    window_funnel_level(&mut e, stages, o)
}

/// `windowFunnel(window, modes…)(ts, cond1, …)` with arbitrary conditions
/// over `(timestamp, value)` rows.
pub(crate) fn wf<V>(
    rows: &[(i64, V)],
    window: i64,
    modes: &[&str],
    conds: &[&dyn Fn(&V) -> bool],
) -> usize {
    let masks: Vec<(i64, u32)> = rows
        .iter()
        .map(|(t, v)| {
            let m = conds
                .iter()
                .enumerate()
                .fold(0u32, |m, (k, c)| if c(v) { m | (1 << k) } else { m });
            (*t, m)
        })
        .collect();
    level(&masks, conds.len(), &opts(window, modes))
}

/// `windowFunnel(window, modes…)(ts, event = s1, event = s2, …)`.
pub(crate) fn wf_eq<V: PartialEq>(
    rows: &[(i64, V)],
    window: i64,
    modes: &[&str],
    stages: &[V],
) -> usize {
    let masks: Vec<(i64, u32)> = rows
        .iter()
        .map(|(t, v)| {
            let m = stages
                .iter()
                .enumerate()
                .fold(0u32, |m, (k, s)| if v == s { m | (1 << k) } else { m });
            (*t, m)
        })
        .collect();
    level(&masks, stages.len(), &opts(window, modes))
}

/// Per-user rows `(user, [(ts, event)])` → per-user levels.
pub(crate) fn per_user(
    users: &[(u32, Vec<(i64, &'static str)>)],
    window: i64,
    modes: &[&str],
    stages: &[&str],
) -> Vec<(u32, usize)> {
    users
        .iter()
        .map(|(u, rows)| (*u, wf_eq(rows, window, modes, stages)))
        .collect()
}

pub(crate) const S1: u32 = 1;
pub(crate) const S2: u32 = 2;
pub(crate) const S3: u32 = 4;
pub(crate) const S4: u32 = 8;
pub(crate) const NONE: u32 = 0;
