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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

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

// ---------------------------------------------------------------------------------------------
// Input
// ---------------------------------------------------------------------------------------------

/// Outcome counts of one distinct path.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PathCounts {
    /// Journeys with this path that ended in a conversion (count; fractional weights allowed).
    pub conversions: f64,
    /// Journeys with this path that ended without a conversion (count; fractional allowed).
    pub nulls: f64,
    /// Total conversion value of those conversions (revenue, currency units of the input).
    pub value: f64,
}

impl PathCounts {
    /// Journeys with this path: `conversions + nulls` (count).
    pub fn journeys(&self) -> f64 {
        self.conversions + self.nulls
    }
}

/// Grouped customer-journey paths: distinct touchpoint sequences with their outcome counts.
///
/// Channel names are interned; identical paths are merged by adding their counts. The table is
/// the aggregation state a SQL aggregate needs: build one per partition with
/// [`PathTable::add_path`] and combine partitions with [`PathTable::merge`].
///
/// Insertion order is kept, so results are deterministic for a given input order; results are
/// reported with channels sorted by name.
#[derive(Debug, Clone, Default)]
pub struct PathTable {
    channels: Vec<String>,
    channel_ids: HashMap<String, u32, FxBuild>,
    paths: Vec<(Box<[u32]>, PathCounts)>,
    path_ids: HashMap<Box<[u32]>, usize, FxBuild>,
    total_conversions: f64,
    total_nulls: f64,
    total_value: f64,
    scratch: Vec<u32>,
}

impl PathTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `conversions` converting and `nulls` non-converting journeys whose touchpoints, in
    /// time order, are `touchpoints`, with total conversion value `value` (revenue).
    ///
    /// Counts are `f64` so that SQL `DOUBLE` columns and fractional journey weights can be used
    /// directly; they are summed exactly as long as they are integers below 2⁵³.
    ///
    /// A path with no touchpoints is allowed: those journeys go straight from `(start)` to an
    /// absorbing state, count in the totals and are credited to no channel. A path with zero
    /// journeys (`conversions + nulls == 0`, `value == 0`) is ignored.
    ///
    /// # Errors
    ///
    /// - [`AttributionError::BadCounts`] if a count or `value` is not finite or is negative, or
    ///   if `value > 0` while `conversions == 0` (conversion value without a conversion);
    /// - [`AttributionError::BadTouchpoint`] if a channel name is empty.
    ///
    /// On error the table is unchanged.
    pub fn add_path<S: AsRef<str>>(
        &mut self,
        touchpoints: &[S],
        conversions: f64,
        nulls: f64,
        value: f64,
    ) -> AttributionResult<()> {
        for (what, x) in [
            ("conversions", conversions),
            ("nulls", nulls),
            ("conversion value", value),
        ] {
            if !x.is_finite() || x < 0.0 {
                return Err(AttributionError::BadCounts(format!(
                    "{what} must be finite and non-negative, got {x}"
                )));
            }
        }
        if value > 0.0 && conversions == 0.0 {
            return Err(AttributionError::BadCounts(format!(
                "conversion value {value} given for a path with 0 conversions"
            )));
        }
        if conversions + nulls == 0.0 {
            return Ok(());
        }
        if let Some(pos) = touchpoints.iter().position(|t| t.as_ref().is_empty()) {
            return Err(AttributionError::BadTouchpoint(format!(
                "touchpoint {pos} of a path has an empty channel name"
            )));
        }
        let mut key = std::mem::take(&mut self.scratch);
        key.clear();
        for t in touchpoints {
            let name = t.as_ref();
            let id = match self.channel_ids.get(name) {
                Some(&id) => id,
                None => {
                    let id = self.channels.len() as u32;
                    self.channels.push(name.to_owned());
                    self.channel_ids.insert(name.to_owned(), id);
                    id
                }
            };
            key.push(id);
        }
        self.add_ids(
            &key,
            PathCounts {
                conversions,
                nulls,
                value,
            },
        );
        self.scratch = key;
        self.total_conversions += conversions;
        self.total_nulls += nulls;
        self.total_value += value;
        Ok(())
    }

    /// Adds every path of `other` to this table (the merge step of a partitioned aggregate).
    pub fn merge(&mut self, other: &PathTable) {
        let remap: Vec<u32> = other
            .channels
            .iter()
            .map(|name| match self.channel_ids.get(name.as_str()) {
                Some(&id) => id,
                None => {
                    let id = self.channels.len() as u32;
                    self.channels.push(name.clone());
                    self.channel_ids.insert(name.clone(), id);
                    id
                }
            })
            .collect();
        let mut key = Vec::new();
        for (ids, counts) in &other.paths {
            key.clear();
            key.extend(ids.iter().map(|&i| remap[i as usize]));
            self.add_ids(&key, *counts);
        }
        self.total_conversions += other.total_conversions;
        self.total_nulls += other.total_nulls;
        self.total_value += other.total_value;
    }

    fn add_ids(&mut self, key: &[u32], counts: PathCounts) {
        match self.path_ids.get(key) {
            Some(&i) => {
                let c = &mut self.paths[i].1;
                c.conversions += counts.conversions;
                c.nulls += counts.nulls;
                c.value += counts.value;
            }
            None => {
                let boxed: Box<[u32]> = key.into();
                self.path_ids.insert(boxed.clone(), self.paths.len());
                self.paths.push((boxed, counts));
            }
        }
    }

    /// Approximate heap memory held by the table (bytes), e.g. for a SQL accumulator's `size()`.
    pub fn memory_size(&self) -> usize {
        let names: usize = self.channels.iter().map(|c| 2 * c.capacity() + 48).sum();
        let paths: usize = self.paths.iter().map(|(p, _)| 2 * 4 * p.len() + 80).sum();
        std::mem::size_of::<Self>() + names + paths + 4 * self.scratch.capacity()
    }

    /// Channel names in order of first appearance.
    pub fn channels(&self) -> &[String] {
        &self.channels
    }

    /// Number of distinct paths.
    pub fn len(&self) -> usize {
        self.paths.len()
    }

    /// `true` if no path with at least one journey was added.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty()
    }

    /// Total conversions over all paths (count).
    pub fn total_conversions(&self) -> f64 {
        self.total_conversions
    }

    /// Total non-converting journeys over all paths (count).
    pub fn total_nulls(&self) -> f64 {
        self.total_nulls
    }

    /// Total journeys, `total_conversions + total_nulls` (count).
    pub fn total_journeys(&self) -> f64 {
        self.total_conversions + self.total_nulls
    }

    /// Total conversion value over all paths (revenue, currency units of the input).
    pub fn total_value(&self) -> f64 {
        self.total_value
    }

    /// The distinct paths with their counts, in insertion order (touchpoint names in time order).
    pub fn iter(&self) -> impl Iterator<Item = (Vec<&str>, &PathCounts)> + '_ {
        self.paths.iter().map(|(ids, c)| {
            (
                ids.iter()
                    .map(|&i| self.channels[i as usize].as_str())
                    .collect(),
                c,
            )
        })
    }

    /// Channel names sorted, and the map from interned id to sorted position.
    fn sorted_channels(&self) -> (Vec<String>, Vec<u32>) {
        let mut order: Vec<u32> = (0..self.channels.len() as u32).collect();
        order.sort_by(|&a, &b| self.channels[a as usize].cmp(&self.channels[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, &id) in order.iter().enumerate() {
            rank[id as usize] = r as u32;
        }
        (
            order
                .iter()
                .map(|&id| self.channels[id as usize].clone())
                .collect(),
            rank,
        )
    }
}

// ---------------------------------------------------------------------------------------------
// Markov chain attribution
// ---------------------------------------------------------------------------------------------

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

/// The fitted absorbing chain: dense `I − Q` and the right-hand sides.
struct Chain {
    /// Transient states, index 0 = `(start)`; others: touchpoint windows as sorted channel ranks.
    states: Vec<Box<[u32]>>,
    /// n × (n + 2) transition counts; columns n and n + 1 are `(conversion)` and `(null)`.
    counts: Vec<f64>,
    /// Row totals of `counts`.
    out: Vec<f64>,
    /// Dense row-major `I − Q` (n × n).
    i_minus_q: Vec<f64>,
    /// One-step absorption probability into `(conversion)` per transient state.
    r_conv: Vec<f64>,
    /// One-step expected conversion value per transient state (currency units).
    r_value: Vec<f64>,
}

impl Chain {
    fn n(&self) -> usize {
        self.states.len()
    }
}

fn build_chain(
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
    Packed {
        base: u64,
        map: HashMap<u64, u32, FxBuild>,
    },
    /// General case: the window itself is the key.
    Slices(HashMap<Box<[u32]>, u32, FxBuild>),
}

impl StateIndex {
    fn new(channels: usize, order: usize) -> Self {
        let base = channels as u64 + 1;
        match u32::try_from(order).ok().and_then(|k| base.checked_pow(k)) {
            Some(_) => StateIndex::Packed {
                base,
                map: HashMap::default(),
            },
            None => StateIndex::Slices(HashMap::default()),
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
fn solve_from_start(chain: &Chain, keep: &[usize]) -> AttributionResult<(f64, f64)> {
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

/// One customer journey (or a group of identical ones): the input row of the slice-based entry
/// points [`markov_attribution`] and [`shapley_attribution`].
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Journey {
    /// Channel names of the touchpoints, in time order (may be empty).
    pub path: Vec<String>,
    /// Conversions the journeys ended in (count, ≥ 0).
    pub conversions: f64,
    /// Journeys that ended without a conversion (count, ≥ 0).
    pub nulls: f64,
    /// Conversion value of those conversions (revenue, currency units, ≥ 0).
    pub value: f64,
}

impl PathTable {
    /// A table holding `journeys` (identical paths merged), with the checks of
    /// [`PathTable::add_path`].
    ///
    /// # Errors
    ///
    /// As [`PathTable::add_path`].
    pub fn from_journeys(journeys: &[Journey]) -> AttributionResult<Self> {
        let mut t = PathTable::new();
        for j in journeys {
            t.add_path(&j.path, j.conversions, j.nulls, j.value)?;
        }
        Ok(t)
    }
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

/// `part / sum × total`, or 0 when `sum` is not positive (nothing to attribute).
fn share(part: f64, sum: f64, total: f64) -> f64 {
    if sum > 0.0 && sum.is_finite() {
        part / sum * total
    } else {
        0.0
    }
}

/// Dense LU factorisation with partial pivoting, row-major.
struct Lu {
    n: usize,
    a: Vec<f64>,
    piv: Vec<usize>,
}

impl Lu {
    fn factor(mut a: Vec<f64>, n: usize) -> AttributionResult<Lu> {
        let scale = a.iter().fold(0f64, |m, &x| m.max(x.abs())).max(1.0);
        let tol = scale * f64::EPSILON * (n.max(1) as f64);
        let mut piv = vec![0usize; n];
        for k in 0..n {
            let mut p = k;
            let mut best = a[k * n + k].abs();
            for i in k + 1..n {
                let v = a[i * n + k].abs();
                if v > best {
                    best = v;
                    p = i;
                }
            }
            if best <= tol || !best.is_finite() {
                return Err(AttributionError::SingularSystem {
                    column: k,
                    pivot: a[p * n + k],
                });
            }
            piv[k] = p;
            if p != k {
                for j in 0..n {
                    a.swap(k * n + j, p * n + j);
                }
            }
            let (top, rest) = a.split_at_mut((k + 1) * n);
            let pivot_row = &top[k * n..];
            let pivot = pivot_row[k];
            for row in rest.chunks_exact_mut(n) {
                let f = row[k] / pivot;
                row[k] = f;
                if f != 0.0 {
                    for (x, &u) in row[k + 1..].iter_mut().zip(&pivot_row[k + 1..]) {
                        *x -= f * u;
                    }
                }
            }
        }
        Ok(Lu { n, a, piv })
    }

    fn solve(&self, b: &mut [f64]) {
        let n = self.n;
        for k in 0..n {
            b.swap(k, self.piv[k]);
        }
        for i in 0..n {
            let row = &self.a[i * n..i * n + i];
            let s: f64 = row.iter().zip(&b[..i]).map(|(l, x)| l * x).sum();
            b[i] -= s;
        }
        for i in (0..n).rev() {
            let row = &self.a[i * n..(i + 1) * n];
            let s: f64 = row[i + 1..]
                .iter()
                .zip(&b[i + 1..])
                .map(|(u, x)| u * x)
                .sum();
            b[i] = (b[i] - s) / row[i];
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Shapley value attribution
// ---------------------------------------------------------------------------------------------

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

/// Journeys grouped by channel set.
struct SetGroup {
    /// Sorted channel ranks.
    members: Vec<u32>,
    conversions: f64,
    journeys: f64,
    value: f64,
}

fn channel_sets(table: &PathTable) -> (Vec<String>, Vec<SetGroup>) {
    let (names, rank) = table.sorted_channels();
    let mut index: HashMap<Vec<u32>, usize, FxBuild> = HashMap::default();
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
fn coalition_value(
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

fn closed_form(n: usize, groups: &[SetGroup]) -> (Vec<f64>, Vec<f64>) {
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

fn shapley_enumerate(n: usize, groups: &[SetGroup], kind: CoalitionValue) -> (Vec<f64>, Vec<f64>) {
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

fn shapley_sample(
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

// ---------------------------------------------------------------------------------------------
// Hashing
// ---------------------------------------------------------------------------------------------

/// FxHash word mixing (as in rustc) with a murmur3 finaliser: fast for short keys; channel
/// names and paths come from our own exports and are not adversarial (no HashDoS protection).
#[derive(Default, Clone, Copy)]
struct FxHasher {
    hash: u64,
}

type FxBuild = BuildHasherDefault<FxHasher>;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut last = [0u8; 8];
            last[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(last));
        }
    }
    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.add(i as u64);
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    #[inline]
    fn finish(&self) -> u64 {
        // murmur3 fmix64, so that the low bits hashbrown indexes by depend on every input word.
        let mut h = self.hash;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        h ^ (h >> 33)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    fn table(paths: &[(&str, u64, u64, f64)]) -> PathTable {
        PathTable::from_journeys(&journeys(paths)).unwrap()
    }

    fn journeys(paths: &[(&str, u64, u64, f64)]) -> Vec<Journey> {
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

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    fn credit<'a>(r: &'a MarkovAttribution, ch: &str) -> &'a MarkovChannelCredit {
        r.channels.iter().find(|c| c.channel == ch).unwrap()
    }

    fn sh<'a>(r: &'a ShapleyAttribution, ch: &str) -> &'a ShapleyChannelCredit {
        r.channels.iter().find(|c| c.channel == ch).unwrap()
    }

    fn prob(r: &MarkovAttribution, from: &str, to: &str) -> f64 {
        r.transitions
            .iter()
            .find(|t| t.from == from && t.to == to)
            .map_or(0.0, |t| t.probability)
    }

    fn check_invariants(r: &MarkovAttribution) {
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

    /// Paths: A>B → 1 conversion (value 10); A → 1 null; B → 1 conversion (value 20).
    ///
    /// Counts: start→A 2, start→B 1; A→B 1, A→null 1; B→conv 2.
    /// P: start→A 2/3, start→B 1/3; A→B 1/2, A→null 1/2; B→conv 1.
    /// x_B = 1; x_A = ½·x_B = ½; P(conv) = x_start = ⅔·½ + ⅓·1 = ⅔ (= 2 of 3 journeys).
    /// Remove A (start→A goes to null): x_start = ⅓·1 = ⅓, RE_A = 1 − ⅓/⅔ = ½.
    /// Remove B: x_B = 0 ⇒ x_A = 0 ⇒ x_start = 0, RE_B = 1.
    /// Σ RE = 3/2; conversions: A = ½/(3/2)·2 = 2/3, B = 1/(3/2)·2 = 4/3 (sum 2).
    /// Value: all value leaves B (30 over 2 exits: r_B = 15); y_B = 15, y_A = 7.5,
    /// y_start = ⅔·7.5 + ⅓·15 = 10 (= 30 / 3 journeys). Remove A: y = ⅓·15 = 5, RE = ½;
    /// remove B: y = 0, RE = 1. Value: A = ⅓·30 = 10, B = ⅔·30 = 20.
    #[test]
    fn markov_order1_by_hand() {
        let t = table(&[("A>B", 1, 0, 10.0), ("A", 0, 1, 0.0), ("B", 1, 0, 20.0)]);
        let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
        assert_eq!(r.transient_states, 3);
        assert!(close(prob(&r, "(start)", "A"), 2.0 / 3.0, 1e-15));
        assert!(close(prob(&r, "(start)", "B"), 1.0 / 3.0, 1e-15));
        assert!(close(prob(&r, "A", "B"), 0.5, 1e-15));
        assert!(close(prob(&r, "A", "(null)"), 0.5, 1e-15));
        assert!(close(prob(&r, "B", "(conversion)"), 1.0, 1e-15));
        assert_eq!(r.transitions.len(), 5);
        assert!(close(r.conversion_probability, 2.0 / 3.0, 1e-14));
        assert!(close(r.expected_value_per_journey, 10.0, 1e-12));
        let (a, b) = (credit(&r, "A"), credit(&r, "B"));
        assert!(close(a.conversion_probability_without, 1.0 / 3.0, 1e-14));
        assert!(close(a.removal_effect, 0.5, 1e-14));
        assert!(close(b.removal_effect, 1.0, 1e-14));
        assert!(close(a.conversions, 2.0 / 3.0, 1e-12));
        assert!(close(b.conversions, 4.0 / 3.0, 1e-12));
        assert!(close(a.value_removal_effect, 0.5, 1e-14));
        assert!(close(a.revenue, 10.0, 1e-12));
        assert!(close(b.revenue, 20.0, 1e-12));
        check_invariants(&r);
    }

    /// Value is split by value removal effects, not by conversion removal effects.
    /// Paths: A → 1 conv, value 100; A>B → 1 conv, value 10; B → 1 null.
    /// Counts: start→A 2, start→B 1; A→conv 1, A→B 1; B→conv 1, B→null 1.
    /// x_B = ½; x_A = ½ + ½·½ = ¾; x_start = ⅔·¾ + ⅓·½ = ⅔.
    /// Remove A: x_start = ⅓·½ = 1/6, RE_A = 1 − (1/6)/(2/3) = ¾.
    /// Remove B: x_A = ½, x_start = ⅓, RE_B = ½. Σ = 5/4: A = 1.2, B = 0.8 conversions.
    /// Value per exit: r_A = 100/2 = 50, r_B = 10/2 = 5. y_B = 5; y_A = 50 + ½·5 = 52.5;
    /// y_start = ⅔·52.5 + ⅓·5 = 110/3 (= 110 / 3 journeys).
    /// Remove A: y = ⅓·5 = 5/3, RE_A = 1 − 5/110 = 21/22. Remove B: y_A = 50, y = 100/3,
    /// RE_B = 1 − 100/110 = 1/11 = 2/22. Σ = 23/22: value A = 21/23·110, B = 2/23·110.
    #[test]
    fn markov_value_removal_effects_by_hand() {
        let t = table(&[("A", 1, 0, 100.0), ("A>B", 1, 0, 10.0), ("B", 0, 1, 0.0)]);
        let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
        assert!(close(r.conversion_probability, 2.0 / 3.0, 1e-14));
        assert!(close(r.expected_value_per_journey, 110.0 / 3.0, 1e-12));
        let (a, b) = (credit(&r, "A"), credit(&r, "B"));
        assert!(close(a.removal_effect, 0.75, 1e-14));
        assert!(close(b.removal_effect, 0.5, 1e-14));
        assert!(close(a.conversions, 1.2, 1e-12));
        assert!(close(b.conversions, 0.8, 1e-12));
        assert!(close(a.value_removal_effect, 21.0 / 22.0, 1e-14));
        assert!(close(b.value_removal_effect, 1.0 / 11.0, 1e-14));
        assert!(close(a.revenue, 21.0 / 23.0 * 110.0, 1e-10));
        assert!(close(b.revenue, 2.0 / 23.0 * 110.0, 1e-10));
        check_invariants(&r);
    }

    /// Order 2. Paths: A>B>C → 1 conv; B>C → 1 null; A>C → 1 conv; C → 1 conv.
    /// States (windows of 2; the short path C is the state (C)):
    ///   A>B>C: (A,B) → (B,C) → conv;  B>C: (B,C) → null;  A>C: (A,C) → conv;  C: (C) → conv.
    /// Counts: start→AB, start→BC, start→AC, start→C 1 each (¼ each); AB→BC 1;
    /// BC→conv 1, BC→null 1; AC→conv 1; C→conv 1.
    /// x_BC = ½, x_AB = x_BC = ½, x_AC = 1, x_C = 1; P = ¼(½ + ½ + 1 + 1) = ¾.
    /// Remove A (AB, AC → null): P = ¼(0 + ½ + 0 + 1) = 3/8, RE_A = 1 − (3/8)/(3/4) = ½.
    /// Remove B (AB, BC → null): P = ¼(0 + 0 + 1 + 1) = ½, RE_B = 1 − (½)/(¾) = ⅓.
    /// Remove C (AC, BC, C → null; AB only leads to BC): P = 0, RE_C = 1.
    /// Σ = 11/6, 3 conversions: A = 9/11, B = 6/11, C = 18/11.
    /// (Order 1 on the same data gives RE_B = ½: the order matters.)
    #[test]
    fn markov_order2_by_hand() {
        let t = table(&[
            ("A>B>C", 1, 0, 0.0),
            ("B>C", 0, 1, 0.0),
            ("A>C", 1, 0, 0.0),
            ("C", 1, 0, 0.0),
        ]);
        let opts = MarkovOptions {
            order: 2,
            ..Default::default()
        };
        let r = markov_attribution_table(&t, &opts).unwrap();
        assert_eq!(r.transient_states, 5);
        assert!(close(prob(&r, "(start)", "A > B"), 0.25, 1e-15));
        assert!(close(prob(&r, "A > B", "B > C"), 1.0, 1e-15));
        assert!(close(prob(&r, "B > C", "(null)"), 0.5, 1e-15));
        assert!(close(prob(&r, "C", "(conversion)"), 1.0, 1e-15));
        assert!(close(r.conversion_probability, 0.75, 1e-14));
        assert!(close(credit(&r, "A").removal_effect, 0.5, 1e-14));
        assert!(close(credit(&r, "B").removal_effect, 1.0 / 3.0, 1e-14));
        assert!(close(credit(&r, "C").removal_effect, 1.0, 1e-14));
        assert!(close(credit(&r, "A").conversions, 9.0 / 11.0, 1e-12));
        assert!(close(credit(&r, "B").conversions, 6.0 / 11.0, 1e-12));
        assert!(close(credit(&r, "C").conversions, 18.0 / 11.0, 1e-12));
        check_invariants(&r);

        // Order 1 on the same data: start→A ½, →B ¼, →C ¼; A→B ½, A→C ½; B→C 1;
        // C→conv ¾. x_C = x_B = x_A = P = ¾; remove B: x_A = 3/8, P = ½·3/8 + ¼·¾ = 3/8, RE = ½.
        let r1 = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
        assert!(close(r1.conversion_probability, 0.75, 1e-14));
        assert!(close(credit(&r1, "B").removal_effect, 0.5, 1e-14));
    }

    /// Repeated touchpoints: consecutive identical states are merged (no self-loops), which
    /// leaves absorption probabilities unchanged.
    #[test]
    fn markov_repeated_touchpoints() {
        let a = table(&[("A>A>B", 2, 1, 5.0), ("B>B", 0, 3, 0.0), ("A", 1, 1, 1.0)]);
        let b = table(&[("A>B", 2, 1, 5.0), ("B", 0, 3, 0.0), ("A", 1, 1, 1.0)]);
        let ra = markov_attribution_table(&a, &MarkovOptions::default()).unwrap();
        let rb = markov_attribution_table(&b, &MarkovOptions::default()).unwrap();
        assert_eq!(ra.transitions, rb.transitions);
        assert!(ra.transitions.iter().all(|t| t.from != t.to));
        assert_eq!(ra.channels, rb.channels);
        // Order 2: A>A>A>B gives (A,A) → (A,B); with pre-collapse it is the single state (A,B).
        let t = table(&[("A>A>A>B", 1, 0, 0.0)]);
        let r = markov_attribution_table(
            &t,
            &MarkovOptions {
                order: 2,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(close(prob(&r, "A > A", "A > B"), 1.0, 0.0));
        assert_eq!(r.transient_states, 3);
        let opts = MarkovOptions {
            order: 2,
            collapse_repeated_touchpoints: true,
        };
        let r = markov_attribution_table(&t, &opts).unwrap();
        assert!(close(prob(&r, "(start)", "A > B"), 1.0, 0.0));
        assert_eq!(r.transient_states, 2);
    }

    #[test]
    fn markov_edge_cases() {
        // Zero conversions: everything 0, no NaN.
        let t = table(&[("A>B", 0, 4, 0.0), ("B", 0, 1, 0.0)]);
        let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
        assert_eq!(r.conversion_probability, 0.0);
        for c in &r.channels {
            assert_eq!(
                (c.removal_effect, c.conversions, c.revenue),
                (0.0, 0.0, 0.0)
            );
        }
        // No nulls at all (ChannelAttribution without var_null): P = 1.
        let t = table(&[("A>B", 3, 0, 0.0), ("B", 1, 0, 0.0)]);
        let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
        assert!(close(r.conversion_probability, 1.0, 1e-14));
        assert!(close(credit(&r, "A").removal_effect, 0.75, 1e-14));
        assert!(close(credit(&r, "B").removal_effect, 1.0, 1e-14));
        check_invariants(&r);
        // Paths without touchpoints count in the totals and are credited to nobody.
        let t = table(&[("", 2, 2, 0.0), ("A", 2, 0, 0.0)]);
        let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
        assert!(close(r.conversion_probability, 4.0 / 6.0, 1e-14));
        assert!(close(credit(&r, "A").removal_effect, 0.5, 1e-14));
        assert!(close(credit(&r, "A").conversions, 4.0, 1e-12));
        // Errors.
        assert_eq!(
            markov_attribution_table(&PathTable::new(), &MarkovOptions::default()),
            Err(AttributionError::EmptyInput)
        );
        assert_eq!(
            markov_attribution_table(
                &t,
                &MarkovOptions {
                    order: 0,
                    ..Default::default()
                }
            ),
            Err(AttributionError::InvalidOrder(0))
        );
        let mut bad = PathTable::new();
        assert!(matches!(
            bad.add_path(&["A"], 0.0, 1.0, 5.0),
            Err(AttributionError::BadCounts(_))
        ));
        assert!(matches!(
            bad.add_path(&["A"], 1.0, 0.0, f64::NAN),
            Err(AttributionError::BadCounts(_))
        ));
        assert!(matches!(
            bad.add_path(&["A"], 1.0, 0.0, -1.0),
            Err(AttributionError::BadCounts(_))
        ));
        assert!(matches!(
            bad.add_path(&["A", ""], 1.0, 0.0, 1.0),
            Err(AttributionError::BadTouchpoint(_))
        ));
        bad.add_path(&["A"], 2.0, 0.0, 0.0).unwrap();
        assert!(matches!(
            bad.add_path(&["A"], -1.0, 0.0, 0.0),
            Err(AttributionError::BadCounts(_))
        ));
        assert!(matches!(
            bad.add_path(&["A"], 1.0, f64::INFINITY, 0.0),
            Err(AttributionError::BadCounts(_))
        ));
        assert!(matches!(
            bad.add_path(&["B"], 1.0, 0.0, f64::NAN),
            Err(AttributionError::BadCounts(_))
        ));
        assert_eq!(bad.len(), 1);
        // Too many states: 40 channels at order 2.
        let mut big = PathTable::new();
        let names: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
        for a in &names {
            for b in &names {
                big.add_path(&[a, b], 1.0, 1.0, 0.0).unwrap();
            }
        }
        let err = markov_attribution_table(
            &big,
            &MarkovOptions {
                order: 2,
                ..Default::default()
            },
        );
        assert!(
            matches!(err, Err(AttributionError::TooManyStates { order: 2, .. })),
            "{err:?}"
        );
        let msg = err.unwrap_err().to_string();
        assert!(msg.contains("1000"), "{msg}");
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

    #[test]
    fn merge_equals_single_table() {
        let rows = [
            ("A>B", 1, 2, 3.0),
            ("B>C", 2, 0, 4.0),
            ("A>B", 1, 1, 1.0),
            ("C", 0, 5, 0.0),
        ];
        let all = table(&rows);
        let mut left = table(&rows[..2]);
        let right = table(&rows[2..]);
        left.merge(&right);
        assert_eq!(left.len(), all.len());
        assert_eq!(left.total_journeys(), all.total_journeys());
        let o = MarkovOptions::default();
        assert_eq!(
            markov_attribution_table(&left, &o).unwrap(),
            markov_attribution_table(&all, &o).unwrap()
        );
        let counts: Vec<_> = all.iter().map(|(p, c)| (p.join(">"), *c)).collect();
        assert_eq!(
            counts[0],
            (
                "A>B".to_owned(),
                PathCounts {
                    conversions: 2.0,
                    nulls: 3.0,
                    value: 4.0
                }
            )
        );
    }

    fn random_table(seed: u64, channels: usize, paths: usize, max_len: usize) -> PathTable {
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

    /// Shapley, conversions game, 3 channels, by hand over all 3! = 6 orders.
    /// Conversions by channel set: {A} 3, {B} 1, {A,B} 4, {A,B,C} 6; {C} only nulls.
    /// v(∅)=0, v(A)=3, v(B)=1, v(C)=0, v(AB)=8, v(AC)=3, v(BC)=1, v(ABC)=14.
    /// Marginal contributions (A, B, C):
    ///   A,B,C: 3, 8−3=5, 14−8=6      A,C,B: 3, 14−3=11, 3−3=0
    ///   B,A,C: 8−1=7, 1, 6           B,C,A: 14−1=13, 1, 1−1=0
    ///   C,A,B: 3−0=3, 14−3=11, 0     C,B,A: 14−1=13, 1−0=1, 0
    /// φ_A = (3+3+7+13+3+13)/6 = 7, φ_B = (5+11+1+1+11+1)/6 = 5, φ_C = (6+0+6+0+0+0)/6 = 2.
    /// Closed form: φ_A = 3/1 + 4/2 + 6/3 = 7, φ_B = 1 + 2 + 2 = 5, φ_C = 6/3 = 2. Σ = 14.
    #[test]
    fn shapley_conversions_by_hand() {
        let t = table(&[
            ("A", 3, 5, 30.0),
            ("B", 1, 0, 10.0),
            ("B>A>B", 4, 1, 40.0),
            ("C>A>B", 6, 0, 60.0),
            ("C", 0, 7, 0.0),
        ]);
        for method in [
            ShapleyMethod::Exact,
            ShapleyMethod::ClosedForm,
            ShapleyMethod::Auto,
        ] {
            let r = shapley_attribution_table(
                &t,
                &ShapleyOptions {
                    method,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(!r.approximate);
            assert!(close(sh(&r, "A").shapley_value, 7.0, 1e-12));
            assert!(close(sh(&r, "B").shapley_value, 5.0, 1e-12));
            assert!(close(sh(&r, "C").shapley_value, 2.0, 1e-12));
            assert!(close(sh(&r, "A").conversions, 7.0, 1e-12));
            // Value = 10 per conversion here, so the revenue game is 10× the conversion game.
            assert!(close(sh(&r, "A").value_shapley_value, 70.0, 1e-10));
            assert!(close(sh(&r, "C").revenue, 20.0, 1e-10));
            assert!(close(r.distributed_value, 14.0, 0.0));
        }
    }

    /// Shapley, conversion-rate game, 3 channels, by hand.
    /// Sets: {A} 1 conv / 2 journeys, {B} 0/2, {A,B} 2/2, {C} 1/4.
    /// v(∅)=0, v(A)=1/2, v(B)=0, v(C)=1/4, v(AB)=3/6=1/2, v(AC)=2/6=1/3, v(BC)=1/6,
    /// v(ABC)=4/10=2/5.
    /// Marginals (A, B, C):
    ///   A,B,C: 1/2, 0, 2/5−1/2=−1/10          A,C,B: 1/2, 2/5−1/3=1/15, 1/3−1/2=−1/6
    ///   B,A,C: 1/2−0=1/2, 0, −1/10            B,C,A: 2/5−1/6=7/30, 0, 1/6
    ///   C,A,B: 1/3−1/4=1/12, 1/15, 1/4        C,B,A: 7/30, 1/6−1/4=−1/12, 1/4
    /// φ_A = (1/2+1/2+1/2+7/30+1/12+7/30)/6 = (246/120)/6 = 41/120,
    /// φ_B = (0+1/15+0+0+1/15−1/12)/6 = (1/20)/6 = 1/120,
    /// φ_C = (−1/10−1/6−1/10+1/6+1/4+1/4)/6 = (3/10)/6 = 6/120. Σ = 48/120 = 2/5 = v(ABC).
    /// Conversions (4 in total): A = 41/48·4 = 41/12, B = 1/12, C = 1/2.
    #[test]
    fn shapley_rate_by_hand() {
        let t = table(&[
            ("A", 1, 1, 0.0),
            ("B", 0, 2, 0.0),
            ("A>B>A", 2, 0, 0.0),
            ("C>C", 1, 3, 0.0),
        ]);
        let opts = ShapleyOptions {
            value: CoalitionValue::ConversionRate,
            method: ShapleyMethod::Exact,
        };
        let r = shapley_attribution_table(&t, &opts).unwrap();
        assert!(close(sh(&r, "A").shapley_value, 41.0 / 120.0, 1e-14));
        assert!(close(sh(&r, "B").shapley_value, 1.0 / 120.0, 1e-14));
        assert!(close(sh(&r, "C").shapley_value, 6.0 / 120.0, 1e-14));
        assert!(close(r.distributed_value, 0.4, 1e-15));
        assert!(close(sh(&r, "A").conversions, 41.0 / 12.0, 1e-12));
        assert!(close(sh(&r, "B").conversions, 1.0 / 12.0, 1e-12));
        assert!(close(sh(&r, "C").conversions, 0.5, 1e-12));
        // No value: value credits are 0, not NaN.
        assert!(
            r.channels
                .iter()
                .all(|c| c.revenue == 0.0 && c.value_shapley_value == 0.0)
        );
        let bad = ShapleyOptions {
            value: CoalitionValue::ConversionRate,
            method: ShapleyMethod::ClosedForm,
        };
        assert!(matches!(
            shapley_attribution_table(&t, &bad),
            Err(AttributionError::InvalidOption(_))
        ));
    }

    #[test]
    fn shapley_closed_form_equals_enumeration_and_efficiency() {
        for seed in 10..14u64 {
            let mut t = random_table(seed, 9, 600, 5);
            t.add_path::<&str>(&[], 3.0, 4.0, 12.0).unwrap(); // baseline journeys without touchpoints
            let exact = shapley_attribution_table(
                &t,
                &ShapleyOptions {
                    value: CoalitionValue::Conversions,
                    method: ShapleyMethod::Exact,
                },
            )
            .unwrap();
            let closed = shapley_closed_form(&t).unwrap();
            for (e, c) in exact.channels.iter().zip(&closed.channels) {
                assert_eq!(e.channel, c.channel);
                assert!(close(e.shapley_value, c.shapley_value, 1e-9), "{e:?} {c:?}");
                assert!(close(e.value_shapley_value, c.value_shapley_value, 1e-7));
            }
            // Efficiency: Σφ = v(N) − v(∅) = conversions of journeys with touchpoints.
            let sum: f64 = exact.channels.iter().map(|c| c.shapley_value).sum();
            assert!(close(sum, t.total_conversions() - 3.0, 1e-9));
            assert!(close(exact.empty_coalition_value, 3.0, 0.0));
            let shares: f64 = exact.channels.iter().map(|c| c.conversions).sum();
            assert!(close(shares, t.total_conversions(), 1e-9));
            let vshares: f64 = exact.channels.iter().map(|c| c.revenue).sum();
            assert!(close(vshares, t.total_value(), 1e-7));
            // Rate game efficiency too.
            let rate = shapley_attribution_table(
                &t,
                &ShapleyOptions {
                    value: CoalitionValue::ConversionRate,
                    method: ShapleyMethod::Exact,
                },
            )
            .unwrap();
            let sum: f64 = rate.channels.iter().map(|c| c.shapley_value).sum();
            assert!(close(sum, rate.distributed_value, 1e-12));
        }
    }

    #[test]
    fn shapley_sampling_approximates_exact_rate() {
        let t = random_table(99, 6, 500, 4);
        let exact = shapley_attribution_table(
            &t,
            &ShapleyOptions {
                value: CoalitionValue::ConversionRate,
                method: ShapleyMethod::Exact,
            },
        )
        .unwrap();
        let sampled_opts = ShapleyOptions {
            value: CoalitionValue::ConversionRate,
            method: ShapleyMethod::Sampled {
                permutations: DEFAULT_SHAPLEY_PERMUTATIONS,
                seed: 7,
            },
        };
        let sampled = shapley_attribution_table(&t, &sampled_opts).unwrap();
        assert!(sampled.approximate);
        assert_eq!(
            sampled.computation,
            ShapleyComputation::Sampled {
                permutations: DEFAULT_SHAPLEY_PERMUTATIONS,
                seed: 7
            }
        );
        for (e, s) in exact.channels.iter().zip(&sampled.channels) {
            let se = s.standard_error.unwrap();
            assert!(se < 2e-3, "{se}");
            assert!(
                close(e.shapley_value, s.shapley_value, 2e-3_f64.max(5.0 * se)),
                "{} exact {} sampled {} se {se}",
                e.channel,
                e.shapley_value,
                s.shapley_value
            );
        }
        // Each permutation is efficient, so the sampled values sum exactly to v(N) − v(∅).
        let sum: f64 = sampled.channels.iter().map(|c| c.shapley_value).sum();
        assert!(close(sum, exact.distributed_value, 1e-12));
        // Same seed, same result.
        assert_eq!(
            shapley_attribution_table(&t, &sampled_opts).unwrap(),
            sampled
        );
    }

    #[test]
    fn shapley_limits_and_zero_conversions() {
        let mut t = PathTable::new();
        let names: Vec<String> = (0..17).map(|i| format!("c{i:02}")).collect();
        for w in names.windows(2) {
            t.add_path(w, 1.0, 1.0, 2.0).unwrap();
        }
        let exact = ShapleyOptions {
            method: ShapleyMethod::Exact,
            ..Default::default()
        };
        assert_eq!(
            shapley_attribution_table(&t, &exact),
            Err(AttributionError::TooManyChannels {
                channels: 17,
                limit: MAX_EXACT_SHAPLEY_CHANNELS
            })
        );
        let auto = shapley_attribution_table(&t, &ShapleyOptions::default()).unwrap();
        assert_eq!(auto.computation, ShapleyComputation::ClosedForm);
        assert!(!auto.approximate);
        let rate = ShapleyOptions {
            value: CoalitionValue::ConversionRate,
            method: ShapleyMethod::Auto,
        };
        let r = shapley_attribution_table(&t, &rate).unwrap();
        assert!(r.approximate);
        let zero = table(&[("A>B", 0, 3, 0.0), ("B", 0, 1, 0.0)]);
        for value in [CoalitionValue::Conversions, CoalitionValue::ConversionRate] {
            let r = shapley_attribution_table(
                &zero,
                &ShapleyOptions {
                    value,
                    method: ShapleyMethod::Auto,
                },
            )
            .unwrap();
            assert!(
                r.channels
                    .iter()
                    .all(|c| c.shapley_value == 0.0 && c.conversions == 0.0)
            );
        }
        assert_eq!(
            shapley_attribution_table(&PathTable::new(), &ShapleyOptions::default()),
            Err(AttributionError::EmptyInput)
        );
        // Only journeys without touchpoints: no channel, nothing distributed, no panic.
        let bare = table(&[("", 2, 3, 8.0)]);
        for method in [
            ShapleyMethod::Exact,
            ShapleyMethod::ClosedForm,
            ShapleyMethod::Auto,
        ] {
            let r = shapley_attribution_table(
                &bare,
                &ShapleyOptions {
                    method,
                    ..Default::default()
                },
            )
            .unwrap();
            assert!(r.channels.is_empty());
            assert_eq!(r.distributed_value, 0.0);
            assert_eq!(r.empty_coalition_value, 2.0);
        }
        let sampled = ShapleyOptions {
            value: CoalitionValue::ConversionRate,
            method: ShapleyMethod::Sampled {
                permutations: 3,
                seed: 1,
            },
        };
        assert!(
            shapley_attribution_table(&bare, &sampled)
                .unwrap()
                .channels
                .is_empty()
        );
        let m = markov_attribution_table(&bare, &MarkovOptions::default()).unwrap();
        assert!(close(m.conversion_probability, 0.4, 1e-15));
        assert!(m.channels.is_empty());
        assert!(bare.memory_size() > 0);
    }
}
