//! Markov-chain attribution (Anderl, Becker, von Wangenheim & Schumann 2016, *International
//! Journal of Research in Marketing* 33(3)): options, results and the entry points. The
//! removal effects are exact, from the absorbing chain of `chain`; the module docs of
//! [`crate::attribution`] compare them with ChannelAttribution's simulation.

use super::chain::{Chain, build_chain, solve_from_start};
#[cfg(doc)]
use super::{AttributionError, MAX_MARKOV_STATES};
use super::{
    AttributionResult, CONVERSION_STATE, Journey, NULL_STATE, PathTable, START_STATE,
    STATE_SEPARATOR, share,
};

/// Options of [`markov_attribution_table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MarkovOptions {
    /// Markov order k ≥ 1: a state is a window of k consecutive touchpoints (see the module
    /// docs). Default 1.
    pub order: usize,
    /// Collapse runs of the same channel (`A > A > B` → `A > B`) before building states.
    /// Default `false` (ChannelAttribution's behaviour). No effect on results at order 1.
    pub collapse_repeated_touchpoints: bool,
}

impl Default for MarkovOptions {
    fn default() -> Self {
        Self {
            order: 1,
            collapse_repeated_touchpoints: false,
        }
    }
}

/// One row of the exported transition matrix.
#[derive(Debug, Clone, PartialEq)]
pub struct TransitionRow {
    /// Source state label: [`START_STATE`] or touchpoints joined by [`STATE_SEPARATOR`].
    pub from: String,
    /// Target state label: a touchpoint state, [`CONVERSION_STATE`] or [`NULL_STATE`].
    pub to: String,
    /// Observed transitions (journey-weighted count).
    pub count: f64,
    /// Transition probability `count / (all transitions out of from)`, in [0, 1].
    pub probability: f64,
}

/// Markov credit of one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct MarkovChannelCredit {
    /// Channel name.
    pub channel: String,
    /// P(conversion) from `(start)` when every state involving the channel is redirected to
    /// `(null)` (probability per journey, in [0, 1]).
    pub conversion_probability_without: f64,
    /// Removal effect `1 − conversion_probability_without / conversion_probability`, in [0, 1];
    /// 0 when the chain never converts.
    pub removal_effect: f64,
    /// Value removal effect `1 − E[value | channel removed] / E[value]`, in [0, 1]; 0 when there
    /// is no conversion value.
    pub value_removal_effect: f64,
    /// Attributed conversions: `removal_effect / Σ removal_effect × total_conversions` (count,
    /// fractional).
    pub conversions: f64,
    /// Attributed conversion value (revenue): `value_removal_effect / Σ value_removal_effect ×
    /// total_value` (currency units).
    pub revenue: f64,
}

/// Result of [`markov_attribution`] and [`markov_attribution_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct MarkovAttribution {
    /// Markov order used.
    pub order: usize,
    /// Number of transient states, `(start)` included.
    pub transient_states: usize,
    /// P(conversion) from `(start)`: absorption probability into `(conversion)` (per journey,
    /// in [0, 1]).
    pub conversion_probability: f64,
    /// Expected conversion value per journey from `(start)` (currency units per journey).
    pub expected_value_per_journey: f64,
    /// Observed conversions distributed over the channels (count).
    pub total_conversions: f64,
    /// Observed journeys (count).
    pub total_journeys: f64,
    /// Observed conversion value distributed over the channels (currency units).
    pub total_value: f64,
    /// Credit per channel, sorted by channel name.
    pub channels: Vec<MarkovChannelCredit>,
    /// Transition matrix as rows (only non-zero counts), ordered by source then target state;
    /// states are ordered `(start)`, touchpoint states by label, `(conversion)`, `(null)`.
    pub transitions: Vec<TransitionRow>,
}

/// Markov-chain attribution of order `order` (≥ 1) over `journeys`: the slice form of
/// [`markov_attribution_table`] with [`MarkovOptions`] `{ order, collapse_repeated_touchpoints:
/// false }` (ChannelAttribution's state construction).
///
/// Output: [`MarkovAttribution`] (channels sorted by name: removal effect, attributed
/// conversions and revenue; transition matrix rows).
///
/// # Errors
///
/// Those of [`PathTable::add_path`] for bad counts or names, then those of
/// [`markov_attribution_table`].
pub fn markov_attribution(
    journeys: &[Journey],
    order: usize,
) -> AttributionResult<MarkovAttribution> {
    let table = PathTable::from_journeys(journeys)?;
    markov_attribution_table(
        &table,
        &MarkovOptions {
            order,
            collapse_repeated_touchpoints: false,
        },
    )
}

/// Markov-chain attribution of order k with exact removal effects.
///
/// Builds the order-`options.order` absorbing Markov chain of the paths in `table` (states
/// `(start)`, touchpoint states, `(conversion)`, `(null)`; see the module docs for how states
/// are formed), estimates the transition matrix from journey-weighted counts, and computes from
/// the fundamental matrix N = (I − Q)⁻¹ of the absorbing chain the absorption probabilities
/// B = N R by a dense LU solve with partial pivoting (removal effect: Anderl et al. 2016;
/// absorbing chains: Kemeny & Snell, *Finite Markov Chains*, ch. III). Only the `(start)` row of B is needed, so no
/// inverse is formed.
///
/// For every channel c, all states involving c are redirected to `(null)` and the system is
/// solved again on the remaining states; the removal effect is
/// `RE(c) = 1 − P(conversion | c removed) / P(conversion)` and is never negative (redirecting to
/// `(null)` can only lower the absorption probability; round-off is clamped to [0, 1]).
/// Conversions are split as `RE(c) / Σ RE × total observed conversions`, conversion value with
/// the value removal effects (module docs, "Conversion value").
///
/// Input: `table` (paths with conversions, nulls and revenue), `options` (order, repeat handling).
/// Output: [`MarkovAttribution`]: P(conversion) per journey, expected value per journey,
/// per-channel removal effects (dimensionless), attributed conversions (count) and value
/// (currency units), and the transition matrix rows.
///
/// Cost: one LU factorisation of at most [`MAX_MARKOV_STATES`]² per channel plus one.
///
/// # Errors
///
/// - [`AttributionError::InvalidOrder`] if `options.order == 0`;
/// - [`AttributionError::EmptyInput`] if the table holds no journey;
/// - [`AttributionError::TooManyStates`] beyond [`MAX_MARKOV_STATES`] transient states;
/// - [`AttributionError::SingularSystem`] if `I − Q` is numerically singular (not expected for
///   counts built from complete paths, where every state reaches an absorbing state).
pub fn markov_attribution_table(
    table: &PathTable,
    options: &MarkovOptions,
) -> AttributionResult<MarkovAttribution> {
    let (chain, names) = build_chain(table, options)?;
    let n = chain.n();
    let all: Vec<usize> = (0..n).collect();
    let (p, ev) = solve_from_start(&chain, &all)?;

    // Which transient states involve each channel.
    let mut involved: Vec<Vec<bool>> = vec![vec![false; n]; names.len()];
    for (s, key) in chain.states.iter().enumerate() {
        for &c in key.iter() {
            involved[c as usize][s] = true;
        }
    }
    let mut channels = Vec::with_capacity(names.len());
    let mut keep = Vec::with_capacity(n);
    for (c, name) in names.iter().enumerate() {
        keep.clear();
        keep.extend((0..n).filter(|&s| !involved[c][s]));
        let (p_without, ev_without) = solve_from_start(&chain, &keep)?;
        let removal_effect = if p > 0.0 {
            (1.0 - p_without / p).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let value_removal_effect = if ev > 0.0 {
            (1.0 - ev_without / ev).clamp(0.0, 1.0)
        } else {
            0.0
        };
        channels.push(MarkovChannelCredit {
            channel: name.clone(),
            conversion_probability_without: p_without.min(p),
            removal_effect,
            value_removal_effect,
            conversions: 0.0,
            revenue: 0.0,
        });
    }
    let total_conversions = table.total_conversions();
    let total_value = table.total_value();
    let sum_re: f64 = channels.iter().map(|c| c.removal_effect).sum();
    let sum_vre: f64 = channels.iter().map(|c| c.value_removal_effect).sum();
    for c in &mut channels {
        c.conversions = share(c.removal_effect, sum_re, total_conversions);
        c.revenue = share(c.value_removal_effect, sum_vre, total_value);
    }

    let transitions = transition_rows(&chain, &names);
    Ok(MarkovAttribution {
        order: options.order,
        transient_states: n,
        conversion_probability: p,
        expected_value_per_journey: ev,
        total_conversions,
        total_journeys: table.total_journeys(),
        total_value,
        channels,
        transitions,
    })
}

/// The observed transitions of `chain` as rows (from, to, count, probability), states
/// labelled as in [`MarkovAttribution::transitions`].
fn transition_rows(chain: &Chain, names: &[String]) -> Vec<TransitionRow> {
    let n = chain.n();
    let label = |s: usize| -> String {
        if s == 0 {
            START_STATE.to_owned()
        } else if s == n {
            CONVERSION_STATE.to_owned()
        } else if s == n + 1 {
            NULL_STATE.to_owned()
        } else {
            let parts: Vec<&str> = chain.states[s]
                .iter()
                .map(|&c| names[c as usize].as_str())
                .collect();
            parts.join(STATE_SEPARATOR)
        }
    };
    let width = n + 2;
    let mut transitions = Vec::new();
    for i in 0..n {
        for j in 0..width {
            let count = chain.counts[i * width + j];
            if count > 0.0 {
                transitions.push(TransitionRow {
                    from: label(i),
                    to: label(j),
                    count,
                    probability: count / chain.out[i],
                });
            }
        }
    }
    transitions
}

/// The transition matrix alone of the order-`order` Markov chain over `journeys` (the
/// `transitions` of [`markov_attribution`], without solving for removal effects).
///
/// # Errors
///
/// Those of [`PathTable::add_path`] for bad counts or names; [`AttributionError::InvalidOrder`]
/// for order 0; [`AttributionError::EmptyInput`] when there are no journeys;
/// [`AttributionError::TooManyStates`] beyond [`MAX_MARKOV_STATES`].
pub fn markov_transitions(
    journeys: &[Journey],
    order: usize,
) -> AttributionResult<Vec<TransitionRow>> {
    let table = PathTable::from_journeys(journeys)?;
    let (chain, names) = build_chain(
        &table,
        &MarkovOptions {
            order,
            collapse_repeated_touchpoints: false,
        },
    )?;
    Ok(transition_rows(&chain, &names))
}

#[cfg(test)]
mod tests;
