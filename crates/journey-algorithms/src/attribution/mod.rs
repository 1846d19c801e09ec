//! Data-driven multi-touch attribution: Markov-chain removal effects and Shapley values.
//!
//! Pure functions over customer-journey *paths*; no DataFusion types, so the SQL aggregate
//! wrappers only have to feed a [`PathTable`] and read the result structs.
//!
//! # Input
//!
//! A *path* is the ordered list of *touchpoints* (channel names) of one customer journey in the
//! lookback window, together with
//!
//! - `conversions`: how many journeys with exactly this path ended in a conversion,
//! - `nulls`: how many journeys with exactly this path ended without a conversion ("null"),
//! - `value`: the conversion value (revenue, in the currency of the input) of those conversions.
//!
//! Identical paths are grouped: [`PathTable::add_path`] adds the counts of a path that is already
//! present. [`Journey`] is the same input as a plain struct, for the slice-based entry points
//! [`markov_attribution`] and [`shapley_attribution`]; [`markov_attribution_table`] and
//! [`shapley_attribution_table`] take a [`PathTable`] and all options. A path's *journey count* is `conversions + nulls` (ChannelAttribution's convention:
//! every journey ends in exactly one of the two absorbing states).
//!
//! # Models
//!
//! - [`markov_attribution`]: Markov chain of order k ≥ 1 over touchpoint states with the absorbing
//!   states `(conversion)` and `(null)` (Anderl, Becker, von Wangenheim & Schumann 2016, "Mapping
//!   the customer journey: Lessons learned from graph-based online attribution modeling",
//!   *International Journal of Research in Marketing* 33(3)). The conversion probability and the
//!   removal effects are computed **exactly** from the absorbing chain by a dense LU solve of
//!   `(I − Q) B = R`, not by simulation and not by matrix powers.
//! - [`shapley_attribution`]: Shapley values over channel coalitions (Zhao, Mahboobi & Bagheri
//!   2018, "Shapley Value Methods for Attribution Modeling in Online Advertising",
//!   arXiv:1804.05327), with the additive "conversions" value function of the paper or a
//!   "conversion rate" value function; exact enumeration up to
//!   [`MAX_EXACT_SHAPLEY_CHANNELS`] channels, the paper's closed form for any number of channels
//!   (additive value function only), and seeded Monte Carlo permutation sampling otherwise.
//!
//! # Zero conversions
//!
//! No function returns NaN or infinity. When there are no conversions (or no conversion value),
//! every removal effect, Shapley value and share is `0.0`: there is nothing to attribute, and
//! `0.0` means "no credit", not "unknown".
//!
//! # Agreement with and differences from the R/Python package ChannelAttribution
//!
//! Checked against the C++ core of ChannelAttribution (D. Altomare, github.com/DavideAltomare/
//! ChannelAttribution, `R/src/ChannelAttribution.cpp`, `markov_model_cpp` and
//! `W_markov_model_1`):
//!
//! Same as ChannelAttribution:
//!
//! - **States.** Order 1: a state is a channel. Order k: the states of a path of n touchpoints are
//!   its n − k + 1 sliding windows of k consecutive touchpoints; a path shorter than k is one state
//!   made of the whole path. The first state after `(start)` is therefore the first k touchpoints,
//!   not a growing prefix `(A)`, `(A, B)`, ….
//! - **Repeated touchpoints.** Consecutive identical *states* are merged (no self-loops), so at
//!   order 1 `A > A > B` is read as `A > B`; at order 2 `A > A > A > B` gives the states
//!   `(A, A) → (A, B)`. Dropping self-loops leaves every absorption probability unchanged (a
//!   self-loop only rescales a row's exits), so this only shows in the exported transition matrix.
//! - **Transition counts.** Every transition of a path is weighted by its journey count
//!   `conversions + nulls`; the last state's transition to `(conversion)` by `conversions` and to
//!   `(null)` by `nulls`. Probabilities are counts divided by the row total.
//! - **Removal effect.** Removing channel c redirects every state that *involves* c (any
//!   touchpoint of its window is c) to `(null)`; removal effect
//!   `RE(c) = 1 − P(conversion | c removed) / P(conversion)`. ChannelAttribution estimates the same
//!   quantity as "share of simulated converting paths that visited a state involving c", because
//!   `P(conv) − P(conv | c removed) = P(conv and a state involving c was visited)`.
//! - **Shares.** Conversions of channel c = `RE(c) / Σ RE × total observed conversions` (all
//!   observed conversions, including those of paths without touchpoints).
//! - **Conversion value.** Value is *not* split by the conversion removal effects. As in
//!   ChannelAttribution, each conversion carries the value observed for conversions that left the
//!   same last state, and the value removal effect is `1 − E[value | c removed] / E[value]`;
//!   value of channel c = `RE_value(c) / Σ RE_value × total observed value`. ChannelAttribution
//!   draws the value of a simulated conversion from the empirical value distribution of its last
//!   state; we use that distribution's mean, which is the same in expectation.
//!
//! Different from ChannelAttribution:
//!
//! - **Exact instead of simulated.** ChannelAttribution estimates by Monte Carlo simulation of the
//!   chain (`nsim_start = 1e5`, repeated until a convergence tolerance `conv_par = 5 %`), so its
//!   numbers vary with `seed` and carry simulation error. We solve the absorbing chain exactly.
//! - **No step cap.** ChannelAttribution stops a simulated path after `max_step` steps (default:
//!   the longest observed path) and counts it as not converted; the exact solve has no such
//!   truncation, so on data with long loops our conversion probability is (slightly) higher.
//! - **`var_null`.** ChannelAttribution adds no `(null)` transitions when `var_null` is omitted;
//!   here `nulls` is always part of the input, and passing `0` everywhere reproduces that mode
//!   (every journey then converts, P(conversion) = 1, and removal effects are "share of
//!   converting journeys whose path involves c").
//! - **Parsing.** ChannelAttribution splits a path string on a one-character separator and trims
//!   blanks; here touchpoints arrive already split and are used verbatim (empty names rejected).
//! - **Optional pre-collapse.** [`MarkovOptions::collapse_repeated_touchpoints`] additionally
//!   collapses runs of a repeated channel *before* building order-k windows (`A > A > B` becomes
//!   `A > B`, so its order-2 state is `(A, B)`); ChannelAttribution has no such option.
//! - **Size limit.** The dense solver refuses chains with more than [`MAX_MARKOV_STATES`]
//!   transient states ([`AttributionError::TooManyStates`]); ChannelAttribution's sparse
//!   simulation has no fixed limit.
//!
//! # Modules
//!
//! - `input`: [`PathTable`], [`PathCounts`] and [`Journey`], the grouped paths every model reads;
//! - `markov`: [`markov_attribution_table`] and its results; `chain` builds and solves the
//!   absorbing chain, `lu` is its dense solver;
//! - `shapley`: [`shapley_attribution_table`] and its options and results; `coalitions` holds
//!   the three ways of computing the values (enumeration, closed form, sampling).
//!
//! Every public item is re-exported here, so callers write `journey_algorithms::attribution::Name`.

mod chain;
mod coalitions;
mod input;
mod lu;
mod markov;
mod shapley;
#[cfg(test)]
mod test_support;

pub use input::{Journey, PathCounts, PathTable};
pub use markov::{
    MarkovAttribution, MarkovChannelCredit, MarkovOptions, TransitionRow, markov_attribution,
    markov_attribution_table, markov_transitions,
};
pub use shapley::{
    CoalitionValue, ShapleyAttribution, ShapleyChannelCredit, ShapleyComputation, ShapleyMethod,
    ShapleyOptions, shapley_attribution, shapley_attribution_table, shapley_closed_form,
};

/// Largest number of transient Markov states (`(start)` plus all touchpoint states) the dense
/// solver accepts.
///
/// Each removal effect needs one dense LU factorisation, O(n³/3) flops and 8·n² bytes; at the
/// limit that is about 3·10⁸ flops (roughly 0.1–0.3 s) and 8 MB per channel. Order-k chains over
/// m channels can have up to m + m² + … + mᵏ states; for more, lower the order or group rare
/// channels.
pub const MAX_MARKOV_STATES: usize = 1000;

/// Largest number of channels for exact Shapley enumeration over all 2ⁿ coalitions
/// (2¹⁵ = 32 768 coalitions).
pub const MAX_EXACT_SHAPLEY_CHANNELS: usize = 15;

/// Default number of random permutations for the Monte Carlo Shapley approximation
/// (drawn as 5 000 antithetic pairs: a permutation and its reverse).
pub const DEFAULT_SHAPLEY_PERMUTATIONS: usize = 10_000;

/// Default seed of the ChaCha8 generator used by the Monte Carlo Shapley approximation.
pub const DEFAULT_SHAPLEY_SEED: u64 = 0x5EED_A77B_0001;

/// Separator between touchpoints in the label of a higher-order Markov state (e.g. `"A > B"`).
pub const STATE_SEPARATOR: &str = " > ";

/// Label of the initial Markov state.
pub const START_STATE: &str = "(start)";

/// Label of the absorbing conversion state.
pub const CONVERSION_STATE: &str = "(conversion)";

/// Label of the absorbing non-conversion state.
pub const NULL_STATE: &str = "(null)";

/// Errors of the attribution functions.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AttributionError {
    /// No path with at least one journey (`conversions + nulls > 0`) was given.
    #[error(
        "attribution input is empty: no path with at least one journey (conversions + nulls > 0)"
    )]
    EmptyInput,
    /// A count or value is unusable (non-finite or negative, or conversion value without
    /// conversions).
    #[error("bad counts: {0}")]
    BadCounts(String),
    /// A touchpoint has an empty channel name.
    #[error("bad touchpoint: {0}")]
    BadTouchpoint(String),
    /// The Markov order is 0.
    #[error("Markov order must be at least 1, got {0}")]
    InvalidOrder(usize),
    /// The chain has more transient states than the dense solver accepts.
    #[error(
        "the order-{order} Markov chain has more than {limit} transient states (at least {states} \
         counting (start)); the dense absorbing-chain solver is limited to {limit}: lower the \
         order or group rare channels"
    )]
    TooManyStates {
        /// Markov order requested.
        order: usize,
        /// Number of transient states seen when the limit was exceeded (a lower bound).
        states: usize,
        /// [`MAX_MARKOV_STATES`].
        limit: usize,
    },
    /// Exact Shapley enumeration was asked for more channels than it supports.
    #[error(
        "exact Shapley enumeration supports at most {limit} channels, got {channels}; use the \
         Zhao closed form (conversions value function) or permutation sampling"
    )]
    TooManyChannels {
        /// Number of channels in the input.
        channels: usize,
        /// [`MAX_EXACT_SHAPLEY_CHANNELS`].
        limit: usize,
    },
    /// The absorbing-chain system `(I − Q) x = r` is (numerically) singular.
    #[error(
        "the absorbing-chain system (I - Q) x = r is singular (pivot {pivot:e} at column \
         {column}): some transient state cannot reach (conversion) or (null)"
    )]
    SingularSystem {
        /// Column of the LU factorisation where the pivot vanished.
        column: usize,
        /// The pivot found.
        pivot: f64,
    },
    /// An option is out of range (e.g. zero sampled permutations, or the closed form requested
    /// for a non-additive value function).
    #[error("invalid option: {0}")]
    InvalidOption(String),
}

/// Result alias of this module.
pub type AttributionResult<T> = std::result::Result<T, AttributionError>;

/// `part / sum × total`, or 0 when `sum` is not positive (nothing to attribute).
fn share(part: f64, sum: f64, total: f64) -> f64 {
    if sum > 0.0 && sum.is_finite() {
        part / sum * total
    } else {
        0.0
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    /// The slice entry points equal the table ones; value-function names parse; fractional
    /// journey weights are accepted.
    #[test]
    fn journey_slice_entry_points() {
        let rows = [
            ("A>B", 1, 0, 10.0),
            ("A", 0, 1, 0.0),
            ("B", 1, 0, 20.0),
            ("B>C>A", 2, 3, 7.0),
        ];
        let js = journeys(&rows);
        let t = table(&rows);
        let m = markov_attribution(&js, 2).unwrap();
        let opts = MarkovOptions {
            order: 2,
            collapse_repeated_touchpoints: false,
        };
        assert_eq!(m, markov_attribution_table(&t, &opts).unwrap());
        assert_eq!(
            markov_attribution(&js, 0),
            Err(AttributionError::InvalidOrder(0))
        );
        for (name, value) in [
            ("conversions", CoalitionValue::Conversions),
            (" Conversion_Rate ", CoalitionValue::ConversionRate),
        ] {
            let s = shapley_attribution(&js, name).unwrap();
            let o = ShapleyOptions {
                value,
                method: ShapleyMethod::Auto,
            };
            assert_eq!(s, shapley_attribution_table(&t, &o).unwrap());
            assert_eq!(s.iter().count(), 3);
            assert!(s.iter().all(|c| !c.approximate));
        }
        let err = shapley_attribution(&js, "revenue").unwrap_err();
        assert!(matches!(err, AttributionError::InvalidOption(_)));
        assert!(err.to_string().contains("conversion_rate"), "{err}");
        assert_eq!(
            markov_attribution(&[], 1),
            Err(AttributionError::EmptyInput)
        );
        // Fractional weights: halving every count leaves probabilities and removal effects
        // unchanged and halves the attributed conversions.
        let half: Vec<Journey> = js
            .iter()
            .map(|j| Journey {
                conversions: j.conversions / 2.0,
                nulls: j.nulls / 2.0,
                value: j.value / 2.0,
                ..j.clone()
            })
            .collect();
        let h = markov_attribution(&half, 2).unwrap();
        for (a, b) in h.channels.iter().zip(&m.channels) {
            assert!(close(a.removal_effect, b.removal_effect, 1e-14));
            assert!(close(2.0 * a.conversions, b.conversions, 1e-12));
            assert!(close(2.0 * a.revenue, b.revenue, 1e-12));
        }
        assert!(close(
            h.conversion_probability,
            m.conversion_probability,
            1e-15
        ));
    }
}
