//! Shapley-value attribution over channel coalitions (Shapley 1953; applied to attribution by
//! Zhao, Mahboobi & Bagheri 2018, "Shapley Value Methods for Attribution Modeling in Online
//! Advertising", arXiv:1804.05327): value functions, methods, options, results and the entry
//! points. The computations themselves are in `coalitions`.

use super::coalitions::{
    channel_sets, closed_form, coalition_value, shapley_enumerate, shapley_sample,
};
use super::{
    AttributionError, AttributionResult, DEFAULT_SHAPLEY_PERMUTATIONS, DEFAULT_SHAPLEY_SEED,
    Journey, MAX_EXACT_SHAPLEY_CHANNELS, PathTable, share,
};

/// Coalition value function v(S) of the Shapley game. S is a set of channels (a coalition);
/// every journey is reduced to the *set* of channels on its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CoalitionValue {
    /// v(S) = conversions of the journeys whose channel set is a subset of S (Zhao et al. 2018,
    /// the characteristic function built from the conversions R(A) of each channel set A:
    /// v(S) = Σ_{A ⊆ S} R(A)). Additive over channel sets, so the closed form applies.
    /// Revenue game: same with conversion value.
    Conversions,
    /// v(S) = conversions / journeys among the journeys whose channel set is a subset of S
    /// (0 if there is none). Not additive: exact enumeration or sampling only.
    /// Revenue game: conversion value per journey among the same journeys.
    ConversionRate,
}

/// How [`shapley_attribution_table`] computes the Shapley values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapleyMethod {
    /// Exact enumeration up to [`MAX_EXACT_SHAPLEY_CHANNELS`] channels; beyond that the closed
    /// form for [`CoalitionValue::Conversions`] (still exact) and permutation sampling with
    /// [`DEFAULT_SHAPLEY_PERMUTATIONS`] and [`DEFAULT_SHAPLEY_SEED`] for
    /// [`CoalitionValue::ConversionRate`] (approximate).
    Auto,
    /// Exact enumeration over all 2ⁿ coalitions; error beyond [`MAX_EXACT_SHAPLEY_CHANNELS`].
    Exact,
    /// Zhao et al.'s closed form φ_j = Σ_{S ∋ j} R(S) / |S| (any number of channels); only for
    /// [`CoalitionValue::Conversions`].
    ClosedForm,
    /// Monte Carlo permutation sampling: `permutations` random orders of the channels (rounded up
    /// to an even number, drawn as antithetic pairs π and reverse(π)) from a ChaCha8 generator
    /// seeded with `seed`. Approximate; the standard error is reported per channel.
    Sampled {
        /// Number of permutations (≥ 1).
        permutations: usize,
        /// Generator seed; equal seeds give equal results.
        seed: u64,
    },
}

/// Options of [`shapley_attribution_table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShapleyOptions {
    /// Coalition value function. Default [`CoalitionValue::Conversions`].
    pub value: CoalitionValue,
    /// Computation method. Default [`ShapleyMethod::Auto`].
    pub method: ShapleyMethod,
}

impl Default for ShapleyOptions {
    fn default() -> Self {
        Self {
            value: CoalitionValue::Conversions,
            method: ShapleyMethod::Auto,
        }
    }
}

/// How the Shapley values of a [`ShapleyAttribution`] were computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapleyComputation {
    /// Exact: the Shapley formula over all `coalitions` = 2ⁿ coalitions.
    Enumeration {
        /// Number of coalitions evaluated.
        coalitions: u64,
    },
    /// Exact: Zhao et al.'s closed form for the additive value function.
    ClosedForm,
    /// Approximate: permutation sampling.
    Sampled {
        /// Permutations actually used (even).
        permutations: usize,
        /// Generator seed.
        seed: u64,
    },
}

/// Shapley credit of one channel.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapleyChannelCredit {
    /// Channel name.
    pub channel: String,
    /// Shapley value in the conversion game: conversions (count) for
    /// [`CoalitionValue::Conversions`], conversion rate (conversions per journey) for
    /// [`CoalitionValue::ConversionRate`]. Can be negative for the rate game.
    pub shapley_value: f64,
    /// Shapley value in the revenue game: conversion value (currency units) or value per
    /// journey (currency units per journey).
    pub value_shapley_value: f64,
    /// Standard error of `shapley_value` when sampled (same unit), `None` when exact.
    pub standard_error: Option<f64>,
    /// Attributed conversions `shapley_value / Σ shapley_value × total_conversions` (count,
    /// fractional; negative if the Shapley value is negative; 0 if Σ ≤ 0).
    pub conversions: f64,
    /// Attributed conversion value (revenue) `value_shapley_value / Σ value_shapley_value ×
    /// total_value` (currency units; same conventions).
    pub revenue: f64,
    /// `true` when the values are a Monte Carlo approximation (same for every channel of a
    /// result; repeated here so each row of a SQL result carries it).
    pub approximate: bool,
}

/// Result of [`shapley_attribution`] and [`shapley_attribution_table`].
#[derive(Debug, Clone, PartialEq)]
pub struct ShapleyAttribution {
    /// Value function used.
    pub value_function: CoalitionValue,
    /// How the values were computed.
    pub computation: ShapleyComputation,
    /// `true` when the values are a Monte Carlo approximation.
    pub approximate: bool,
    /// v(∅): the value of journeys without touchpoints (baseline, credited to no channel), in the
    /// unit of [`ShapleyChannelCredit::shapley_value`].
    pub empty_coalition_value: f64,
    /// v(all channels) − v(∅): what the Shapley values sum to (efficiency), same unit.
    pub distributed_value: f64,
    /// Observed conversions (count).
    pub total_conversions: f64,
    /// Observed journeys (count).
    pub total_journeys: f64,
    /// Observed conversion value (currency units).
    pub total_value: f64,
    /// Credit per channel, sorted by channel name.
    pub channels: Vec<ShapleyChannelCredit>,
}

impl ShapleyAttribution {
    /// The per-channel credits, sorted by channel name.
    pub fn iter(&self) -> std::slice::Iter<'_, ShapleyChannelCredit> {
        self.channels.iter()
    }
}

impl<'a> IntoIterator for &'a ShapleyAttribution {
    type Item = &'a ShapleyChannelCredit;
    type IntoIter = std::slice::Iter<'a, ShapleyChannelCredit>;
    fn into_iter(self) -> Self::IntoIter {
        self.channels.iter()
    }
}

/// Shapley-value attribution over `journeys` with the value function named `value_function`:
/// `"conversions"` ([`CoalitionValue::Conversions`]) or `"conversion_rate"`
/// ([`CoalitionValue::ConversionRate`]); case-insensitive, surrounding blanks ignored. The slice
/// form of [`shapley_attribution_table`] with [`ShapleyMethod::Auto`]: exact up to
/// [`MAX_EXACT_SHAPLEY_CHANNELS`] channels, beyond that the closed form (conversions) or
/// [`DEFAULT_SHAPLEY_PERMUTATIONS`] sampled permutations with [`DEFAULT_SHAPLEY_SEED`]
/// (conversion rate, flagged `approximate`).
///
/// Output: [`ShapleyAttribution`]; iterate it for the per-channel credits.
///
/// # Errors
///
/// [`AttributionError::InvalidOption`] for an unknown value function name; those of
/// [`PathTable::add_path`] for bad counts or names; then those of
/// [`shapley_attribution_table`].
pub fn shapley_attribution(
    journeys: &[Journey],
    value_function: &str,
) -> AttributionResult<ShapleyAttribution> {
    let value = value_function.parse::<CoalitionValue>()?;
    let table = PathTable::from_journeys(journeys)?;
    shapley_attribution_table(
        &table,
        &ShapleyOptions {
            value,
            method: ShapleyMethod::Auto,
        },
    )
}

impl std::str::FromStr for CoalitionValue {
    type Err = AttributionError;

    /// `"conversions"` or `"conversion_rate"` (case-insensitive, blanks trimmed).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "conversions" => Ok(CoalitionValue::Conversions),
            "conversion_rate" => Ok(CoalitionValue::ConversionRate),
            other => Err(AttributionError::InvalidOption(format!(
                "unknown Shapley value function {other:?}: use 'conversions' or 'conversion_rate'"
            ))),
        }
    }
}

/// Shapley-value attribution over channel coalitions.
///
/// Every journey is reduced to the set of channels on its path (order and repeats ignored).
/// The players are the channels, a coalition S is a set of channels, and v(S) is given by
/// `options.value` ([`CoalitionValue`]). The Shapley value of channel j is
///
/// φ_j = Σ_{S ⊆ N∖{j}} |S|! (n − |S| − 1)! / n! · (v(S ∪ {j}) − v(S))
///
/// (Shapley 1953; applied to attribution by Zhao, Mahboobi & Bagheri 2018, arXiv:1804.05327,
/// section "Shapley value method"). Journeys without touchpoints make v(∅) ≠ 0; they are the
/// baseline no channel is credited with, and the values sum to v(N) − v(∅) (efficiency).
///
/// Two games are solved with the same method: the conversion game (v as above) and the revenue
/// game (conversion value in place of conversions). Shares: attributed conversions =
/// φ_j / Σφ × total observed conversions, attributed value likewise with the revenue game; when
/// Σφ ≤ 0 (e.g. no conversions) all shares are 0. Rate-game Shapley values can be negative
/// (a channel whose journeys convert worse than the rest), and so can its shares.
///
/// Methods ([`ShapleyMethod`]): exact enumeration (O(n·2ⁿ), n ≤ [`MAX_EXACT_SHAPLEY_CHANNELS`]);
/// the closed form (see [`shapley_closed_form`]); permutation sampling (Castro, Gómez & Tejada
/// 2009, "Polynomial calculation of the Shapley value based on sampling"), cost
/// O(permutations × Σ|channel set|) over distinct channel sets, flagged by
/// [`ShapleyAttribution::approximate`].
///
/// # Errors
///
/// - [`AttributionError::EmptyInput`] if the table holds no journey;
/// - [`AttributionError::TooManyChannels`] for [`ShapleyMethod::Exact`] beyond
///   [`MAX_EXACT_SHAPLEY_CHANNELS`] channels;
/// - [`AttributionError::InvalidOption`] for [`ShapleyMethod::ClosedForm`] with
///   [`CoalitionValue::ConversionRate`], or zero sampled permutations.
pub fn shapley_attribution_table(
    table: &PathTable,
    options: &ShapleyOptions,
) -> AttributionResult<ShapleyAttribution> {
    if table.total_journeys() <= 0.0 {
        return Err(AttributionError::EmptyInput);
    }
    let (names, groups) = channel_sets(table);
    let n = names.len();
    let method = match options.method {
        ShapleyMethod::Auto if n <= MAX_EXACT_SHAPLEY_CHANNELS => ShapleyMethod::Exact,
        ShapleyMethod::Auto => match options.value {
            CoalitionValue::Conversions => ShapleyMethod::ClosedForm,
            CoalitionValue::ConversionRate => ShapleyMethod::Sampled {
                permutations: DEFAULT_SHAPLEY_PERMUTATIONS,
                seed: DEFAULT_SHAPLEY_SEED,
            },
        },
        m => m,
    };
    // v(∅) and v(N).
    let (mut c0, mut j0, mut v0) = (0f64, 0f64, 0f64);
    let (mut cn, mut jn, mut vn) = (0f64, 0f64, 0f64);
    for g in &groups {
        if g.members.is_empty() {
            c0 += g.conversions;
            j0 += g.journeys;
            v0 += g.value;
        }
        cn += g.conversions;
        jn += g.journeys;
        vn += g.value;
    }
    let empty = coalition_value(options.value, c0, j0, v0);
    let full = coalition_value(options.value, cn, jn, vn);

    let (phi, phi_value, se, computation) = match method {
        ShapleyMethod::Exact => {
            if n > MAX_EXACT_SHAPLEY_CHANNELS {
                return Err(AttributionError::TooManyChannels {
                    channels: n,
                    limit: MAX_EXACT_SHAPLEY_CHANNELS,
                });
            }
            let (a, b) = shapley_enumerate(n, &groups, options.value);
            (
                a,
                b,
                None,
                ShapleyComputation::Enumeration {
                    coalitions: 1u64 << n,
                },
            )
        }
        ShapleyMethod::ClosedForm => {
            if options.value != CoalitionValue::Conversions {
                return Err(AttributionError::InvalidOption(
                    "the closed form holds only for the additive value function \
                     CoalitionValue::Conversions"
                        .to_owned(),
                ));
            }
            let (a, b) = closed_form(n, &groups);
            (a, b, None, ShapleyComputation::ClosedForm)
        }
        ShapleyMethod::Sampled { permutations, seed } => {
            if permutations == 0 {
                return Err(AttributionError::InvalidOption(
                    "permutation sampling needs at least 1 permutation".to_owned(),
                ));
            }
            let pairs = permutations.div_ceil(2);
            let (a, b, s) = shapley_sample(n, &groups, options.value, pairs, seed);
            (
                a,
                b,
                Some(s),
                ShapleyComputation::Sampled {
                    permutations: 2 * pairs,
                    seed,
                },
            )
        }
        ShapleyMethod::Auto => unreachable!("resolved above"),
    };

    let total_conversions = table.total_conversions();
    let total_value = table.total_value();
    let sum: f64 = phi.iter().sum();
    let sum_value: f64 = phi_value.iter().sum();
    let channels = names
        .into_iter()
        .enumerate()
        .map(|(j, channel)| ShapleyChannelCredit {
            channel,
            shapley_value: phi[j],
            value_shapley_value: phi_value[j],
            standard_error: se.as_ref().map(|s: &Vec<f64>| s[j]),
            conversions: share(phi[j], sum, total_conversions),
            revenue: share(phi_value[j], sum_value, total_value),
            approximate: se.is_some(),
        })
        .collect();
    Ok(ShapleyAttribution {
        value_function: options.value,
        approximate: matches!(computation, ShapleyComputation::Sampled { .. }),
        computation,
        empty_coalition_value: empty.0,
        distributed_value: full.0 - empty.0,
        total_conversions,
        total_journeys: table.total_journeys(),
        total_value,
        channels,
    })
}

/// Zhao et al.'s simplified Shapley value for the conversions value function, any number of
/// channels: [`shapley_attribution_table`] with [`CoalitionValue::Conversions`] and
/// [`ShapleyMethod::ClosedForm`].
///
/// φ_j = Σ_{S ∋ j} R(S) / |S|, where R(S) is the number of conversions of journeys whose channel
/// set is exactly S (Zhao, Mahboobi & Bagheri 2018, arXiv:1804.05327, "simplified Shapley
/// value"); the same with conversion value gives the revenue game.
///
/// **Why this is the exact Shapley value, for any number of channels.** For a non-empty channel
/// set T let u_T be the *unanimity game* u_T(S) = 1 if T ⊆ S, else 0. The value function is
/// v(S) = Σ_{T ⊆ S} R(T) = R(∅) + Σ_{T ≠ ∅} R(T) · u_T(S), a constant plus a linear combination
/// of unanimity games. In u_T every player outside T is a null player (never changes the value),
/// so gets 0, and the members of T are symmetric, so by efficiency each gets
/// (u_T(N) − u_T(∅)) / |T| = 1/|T|. A constant game has all marginal contributions 0. The
/// Shapley value is linear in v, hence φ_j(v) = Σ_{T ∋ j} R(T) / |T|. Each journey's conversion
/// is thus split equally over the distinct channels of its path; the values sum to
/// v(N) − v(∅) = total conversions of journeys with at least one touchpoint.
///
/// Cost O(Σ |channel set|) over distinct channel sets.
///
/// # Errors
///
/// [`AttributionError::EmptyInput`] if the table holds no journey.
pub fn shapley_closed_form(table: &PathTable) -> AttributionResult<ShapleyAttribution> {
    shapley_attribution_table(
        table,
        &ShapleyOptions {
            value: CoalitionValue::Conversions,
            method: ShapleyMethod::ClosedForm,
        },
    )
}

#[cfg(test)]
mod tests;
