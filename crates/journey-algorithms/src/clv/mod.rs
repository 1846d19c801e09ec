//! Probabilistic customer-lifetime-value (CLV) models as pure functions over `f64`.
//!
//! * **BG/NBD** ("beta-geometric / negative binomial distribution") purchase model:
//!   Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way: An Alternative
//!   to the Pareto/NBD Model", *Marketing Science* 24(2), 275–284. Equation numbers
//!   below refer to that paper; the implementation follows the same formulas as the
//!   Python package `lifetimes` (`BetaGeoFitter`).
//! * **Gamma-Gamma** spend model: Fader, Hardie & Lee (2005), "RFM and CLV: Using
//!   Iso-Value Curves for Customer Base Analysis", *Journal of Marketing Research*
//!   42(4), and the note Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary
//!   Value" (brucehardie.com note 025). Equation numbers refer to the note; the
//!   implementation matches `lifetimes.GammaGammaFitter`.
//! * **Discounted CLV** over a horizon of months, with the semantics of
//!   `lifetimes.GammaGammaFitter.customer_lifetime_value`.
//!
//! # Inputs ("RFM" summary per customer)
//!
//! * `frequency` (x): number of *repeat* purchases (total purchases − 1); a whole number ≥ 0.
//! * `recency` (t_x): time from the customer's first purchase to their last purchase;
//!   0 when `frequency` is 0.
//! * `age` (T): time from the customer's first purchase to the end of the observation period.
//! * `monetary_value` (m_x): average spend per *repeat* purchase (Gamma-Gamma only).
//!
//! `recency`, `age` and every horizon `t` must use the **same time unit** (days, weeks, …);
//! the fitted α is then in that unit as well. Input rules are those of `lifetimes`:
//! all values finite, `frequency` a whole number ≥ 0, `0 ≤ recency ≤ age`, and
//! `recency == 0` whenever `frequency == 0` (`frequency > 0` with `recency == 0` is allowed).
//!
//! # Fitting and failures
//!
//! [`fit_bgnbd`] and [`fit_gamma_gamma`] maximise the log-likelihood with the
//! Nelder–Mead simplex method (crate `argmin`) over log-parameters, so the parameters stay
//! positive. Bad input is an `Err(`[`ClvError`]`)`. A fit that runs but does not reach a
//! usable optimum is **not** an error: it returns a [`Fit`] with `converged == false` and a
//! human-readable `reason`. **Callers must check `converged`**; when it is `false` the
//! parameters must not be used, and the caller should fall back to historical averages
//! (e.g. the customer's own mean purchase rate and mean order value).
//!
//! Nothing in this module returns NaN silently: predictions return `Err` instead.
//!
//! # Modules
//!
//! * `input`: the `lifetimes` input rules, shared by predictions and fits;
//! * `special`: [`hyp2f1`] (own series) and ln B (from `statrs`);
//! * `bgnbd`: [`BgNbdParams`]: log-likelihood, P(alive), expected purchases;
//! * `gamma_gamma`: [`GammaGammaParams`]: expected spend, log-likelihood;
//! * `discount`: [`ClvHorizon`], [`discounted_clv`], [`customer_lifetime_value`];
//! * `fit` and `optimise`: [`fit_bgnbd`], [`fit_gamma_gamma`] and their Nelder–Mead driver.
//!
//! Every public item is re-exported here, so callers write `journey_algorithms::clv::Name`.

mod bgnbd;
mod discount;
mod fit;
mod gamma_gamma;
mod input;
mod optimise;
mod special;
#[cfg(test)]
mod test_support;

pub use bgnbd::BgNbdParams;
pub use discount::{ClvHorizon, customer_lifetime_value, discounted_clv};
pub use fit::{Fit, FitOptions, fit_bgnbd, fit_gamma_gamma};
pub use gamma_gamma::GammaGammaParams;
pub use special::hyp2f1;

use thiserror::Error;

/// Errors for invalid input data, invalid model parameters or a numerical routine that
/// cannot produce an accurate value.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ClvError {
    /// A fit was given no customers (no rows, or no rows that the model uses).
    #[error("no customers to fit: {0}")]
    Empty(String),
    /// A fit needs at least two customers (total weight ≥ 2).
    #[error("need at least 2 customers to fit, got {0}")]
    TooFewCustomers(f64),
    /// Input columns of one fit have different lengths.
    #[error("input columns have different lengths: {0}")]
    LengthMismatch(String),
    /// One row of a fit's input breaks an input rule (`row` is 0-based).
    #[error("row {row}: {message}")]
    InvalidRow {
        /// 0-based row index in the input slices.
        row: usize,
        /// What is wrong with the row.
        message: String,
    },
    /// One customer's values given to a prediction break an input rule.
    #[error("invalid customer data: {0}")]
    InvalidCustomer(String),
    /// Model parameters are not finite and positive, or are outside the model's valid range.
    #[error("invalid model parameters: {0}")]
    InvalidParams(String),
    /// A non-data argument (horizon, discount rate, option) is invalid.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The hypergeometric series could not be evaluated accurately.
    #[error("hypergeometric 2F1({a}, {b}; {c}; {z}) could not be evaluated: {message}")]
    Hypergeometric {
        /// First numerator parameter.
        a: f64,
        /// Second numerator parameter.
        b: f64,
        /// Denominator parameter.
        c: f64,
        /// Argument.
        z: f64,
        /// Why the evaluation failed.
        message: String,
    },
}
