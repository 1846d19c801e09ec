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

use argmin::core::{CostFunction, Error as ArgminError, Executor, State, TerminationReason};
use argmin::solver::neldermead::NelderMead;
use statrs::function::gamma::ln_gamma;
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

// ---------------------------------------------------------------------------------------
// Input validation
// ---------------------------------------------------------------------------------------

/// Checks one customer's (frequency, recency, age) against the `lifetimes` input rules;
/// returns the rule that is broken.
fn check_rfm(frequency: f64, recency: f64, age: f64) -> Result<(), String> {
    if !frequency.is_finite() || !recency.is_finite() || !age.is_finite() {
        return Err(format!(
            "frequency, recency and age must be finite (got {frequency}, {recency}, {age})"
        ));
    }
    if frequency < 0.0 || frequency.fract() != 0.0 {
        return Err(format!(
            "frequency must be a whole number >= 0 (got {frequency})"
        ));
    }
    if recency < 0.0 {
        return Err(format!("recency must be >= 0 (got {recency})"));
    }
    if recency > age {
        return Err(format!("recency ({recency}) must not exceed age T ({age})"));
    }
    if frequency == 0.0 && recency != 0.0 {
        return Err(format!(
            "recency must be 0 when frequency is 0 (got {recency})"
        ));
    }
    Ok(())
}

fn check_customer(frequency: f64, recency: f64, age: f64) -> Result<(), ClvError> {
    check_rfm(frequency, recency, age).map_err(ClvError::InvalidCustomer)
}

fn check_horizon(t: f64) -> Result<(), ClvError> {
    if !t.is_finite() || t < 0.0 {
        return Err(ClvError::InvalidArgument(format!(
            "horizon t must be finite and >= 0 (got {t})"
        )));
    }
    Ok(())
}

fn check_positive(name: &str, value: f64) -> Result<(), ClvError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(ClvError::InvalidParams(format!(
            "{name} must be finite and > 0 (got {value})"
        )));
    }
    Ok(())
}

/// Validates optional row weights and returns them (all 1.0 when absent) with their sum.
fn resolve_weights(n: usize, weights: Option<&[f64]>) -> Result<Vec<f64>, ClvError> {
    match weights {
        None => Ok(vec![1.0; n]),
        Some(w) => {
            if w.len() != n {
                return Err(ClvError::LengthMismatch(format!(
                    "{n} data rows but {} weights",
                    w.len()
                )));
            }
            for (row, &wi) in w.iter().enumerate() {
                if !(wi.is_finite() && wi >= 0.0) {
                    return Err(ClvError::InvalidRow {
                        row,
                        message: format!("weight must be finite and >= 0 (got {wi})"),
                    });
                }
            }
            Ok(w.to_vec())
        }
    }
}

// ---------------------------------------------------------------------------------------
// Special functions
// ---------------------------------------------------------------------------------------

/// Natural log of the Beta function, ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b),
/// for a, b > 0 (uses `statrs::function::gamma::ln_gamma`).
fn ln_beta(a: f64, b: f64) -> f64 {
    ln_gamma(a) + ln_gamma(b) - ln_gamma(a + b)
}

/// Maximum number of series terms [`hyp2f1`] sums before giving up.
const HYP2F1_MAX_TERMS: usize = 2_000_000;

/// Gauss hypergeometric function ₂F₁(a, b; c; z) for real arguments with −1 < z < 1.
///
/// Evaluated by direct summation of the power series Σₙ (a)ₙ(b)ₙ / ((c)ₙ n!) zⁿ (own
/// implementation; no well-kept pure-Rust crate provides it). The sum stops when a bound on
/// the remaining tail, |termₙ| · ρ/(1 − ρ) with ρ = max(current term ratio, |z|), falls
/// below 1e-16 · |sum|. It ends early and exactly when a or b is a non-positive integer
/// (the series is then a polynomial).
///
/// Convergence slows as |z| → 1 (about 37 / (1 − |z|) terms); at most 2,000,000 terms are
/// summed. The BG/NBD functions in this module call it only after an Euler transformation
/// that keeps the parameters small, so they need few terms.
///
/// # Errors
/// [`ClvError::Hypergeometric`] when an input is not finite, |z| ≥ 1, c is a non-positive
/// integer (pole), the series overflows or does not converge within the term limit, or more
/// than 8 significant digits are lost to cancellation between terms of opposite sign.
pub fn hyp2f1(a: f64, b: f64, c: f64, z: f64) -> Result<f64, ClvError> {
    let fail = |message: &str| ClvError::Hypergeometric {
        a,
        b,
        c,
        z,
        message: message.to_string(),
    };
    if !(a.is_finite() && b.is_finite() && c.is_finite() && z.is_finite()) {
        return Err(fail("arguments must be finite"));
    }
    if z.abs() >= 1.0 {
        return Err(fail("the series needs |z| < 1"));
    }
    if c <= 0.0 && c.fract() == 0.0 {
        return Err(fail("c is a non-positive integer (pole)"));
    }
    let mut sum = 1.0_f64;
    let mut term = 1.0_f64;
    let mut largest = 1.0_f64;
    for n in 0..HYP2F1_MAX_TERMS {
        let nf = n as f64;
        let ratio = (a + nf) * (b + nf) / ((c + nf) * (nf + 1.0)) * z;
        term *= ratio;
        sum += term;
        largest = largest.max(term.abs());
        if term == 0.0 {
            // a or b is a non-positive integer: the series terminated exactly.
            break;
        }
        if !sum.is_finite() {
            return Err(fail("the series overflowed"));
        }
        let rho = ratio.abs().max(z.abs());
        if rho < 1.0 && term.abs() * rho / (1.0 - rho) <= 1e-16 * sum.abs() {
            if largest > 1e8 * sum.abs() {
                return Err(fail("cancellation between terms lost too many digits"));
            }
            return Ok(sum);
        }
        if n + 1 == HYP2F1_MAX_TERMS {
            return Err(fail("the series did not converge within the term limit"));
        }
    }
    if largest > 1e8 * sum.abs() {
        return Err(fail("cancellation between terms lost too many digits"));
    }
    Ok(sum)
}

// ---------------------------------------------------------------------------------------
// BG/NBD
// ---------------------------------------------------------------------------------------

/// Parameters of the BG/NBD model (Fader, Hardie & Lee 2005, Marketing Science, §3).
///
/// * `r`, `alpha`: shape and rate of the gamma distribution of purchase rates λ while
///   alive; `alpha` is in the time unit of the data (λ has mean r/α purchases per unit).
/// * `a`, `b`: beta distribution of the dropout probability p after each purchase.
///
/// All four are finite and > 0 (checked by [`BgNbdParams::new`]; the prediction methods
/// check again, so a struct built with a literal is safe too).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BgNbdParams {
    /// Gamma shape r of the purchase-rate distribution.
    pub r: f64,
    /// Gamma rate α of the purchase-rate distribution, in the data's time unit.
    pub alpha: f64,
    /// Beta parameter a of the dropout-probability distribution.
    pub a: f64,
    /// Beta parameter b of the dropout-probability distribution.
    pub b: f64,
}

impl BgNbdParams {
    /// Builds checked BG/NBD parameters.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`] unless r, α, a, b are all finite and > 0.
    pub fn new(r: f64, alpha: f64, a: f64, b: f64) -> Result<Self, ClvError> {
        let p = Self { r, alpha, a, b };
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<(), ClvError> {
        check_positive("r", self.r)?;
        check_positive("alpha", self.alpha)?;
        check_positive("a", self.a)?;
        check_positive("b", self.b)
    }

    /// Log-likelihood of one customer's (frequency x, recency t_x, age T), paper eq. (6):
    ///
    /// L = B(a, b+x)/B(a, b) · Γ(r+x) αʳ / Γ(r) · [ (α+T)^−(r+x) + δ(x>0) · a/(b+x−1) · (α+t_x)^−(r+x) ]
    ///
    /// computed in logs (ln Γ, ln B and a log-sum-exp), as `lifetimes` does.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`] / [`ClvError::InvalidCustomer`] on invalid input.
    pub fn log_likelihood(&self, frequency: f64, recency: f64, age: f64) -> Result<f64, ClvError> {
        self.check()?;
        check_customer(frequency, recency, age)?;
        Ok(bgnbd_ll_row(self, frequency, recency, age))
    }

    /// P(alive | x, t_x, T): probability that a customer with this history is still
    /// active at the end of the observation period (Fader, Hardie & Lee 2008, note 021
    /// "Computing P(alive) Using the BG/NBD Model"; `lifetimes`
    /// `conditional_probability_alive`):
    ///
    /// P(alive) = 1 / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x))
    ///
    /// Exactly 1 when x = 0 (under BG/NBD a customer can only drop out right after a
    /// repeat purchase). Inputs in the data's time unit. Computed in logs, so it
    /// underflows to 0 rather than producing NaN for extreme inputs.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`] / [`ClvError::InvalidCustomer`] on invalid input.
    pub fn probability_alive(
        &self,
        frequency: f64,
        recency: f64,
        age: f64,
    ) -> Result<f64, ClvError> {
        self.check()?;
        check_customer(frequency, recency, age)?;
        Ok(p_alive_unchecked(self, frequency, recency, age))
    }

    /// E[X(t)]: expected number of repeat purchases in (0, t] for a randomly chosen
    /// *new* customer (paper eq. (9), the numbering `lifetimes` cites); used for the
    /// calibration plot of expected vs.
    /// actual cumulative repeat purchases.
    ///
    /// E[X(t)] = (a+b−1)/(a−1) · [1 − (α/(α+t))ʳ · ₂F₁(r, b; a+b−1; t/(α+t))]
    ///
    /// This equals [`Self::conditional_expected_purchases`] with x = t_x = T = 0, and is
    /// evaluated the same way (see there). `t` is in the data's time unit.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`], [`ClvError::InvalidArgument`] (t < 0 or not finite),
    /// or [`ClvError::Hypergeometric`] if ₂F₁ cannot be evaluated accurately.
    pub fn expected_purchases(&self, t: f64) -> Result<f64, ClvError> {
        self.conditional_expected_purchases(t, 0.0, 0.0, 0.0)
    }

    /// E[Y(t) | x, t_x, T]: expected number of purchases in the next `t` time units for a
    /// customer with frequency x, recency t_x and age T (paper eq. (10); `lifetimes`
    /// `conditional_expected_number_of_purchases_up_to_time`):
    ///
    /// E[Y(t) | x, t_x, T] = (a+b+x−1)/(a−1) · [1 − ((α+T)/(α+T+t))^(r+x) · ₂F₁(r+x, b+x; a+b+x−1; z)]
    ///                       / (1 + δ(x>0) · a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)),   z = t/(α+T+t).
    ///
    /// Numerics: with Euler's transformation ₂F₁(A,B;C;z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z)
    /// the bracket becomes 1 − (1−z)^(a−1) · ₂F₁(a+b−1−r, a−1; a+b+x−1; z), whose series has
    /// small parameters and no overflow for large x; the denominator is 1/P(alive). The
    /// formula has a removable singularity at a = 1; for |a − 1| < 1e-6 the value is the
    /// mean of the values at a = 1 ± 1e-6 (error O(1e-12)). `t`, `recency`, `age` in the
    /// data's time unit.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`], [`ClvError::InvalidCustomer`],
    /// [`ClvError::InvalidArgument`] (t < 0 or not finite), or
    /// [`ClvError::Hypergeometric`] (e.g. a + b + x − 1 is exactly 0).
    pub fn conditional_expected_purchases(
        &self,
        t: f64,
        frequency: f64,
        recency: f64,
        age: f64,
    ) -> Result<f64, ClvError> {
        self.check()?;
        check_customer(frequency, recency, age)?;
        check_horizon(t)?;
        if t == 0.0 {
            return Ok(0.0);
        }
        const H: f64 = 1e-6;
        let value = if (self.a - 1.0).abs() < H {
            let lo = eq10_unchecked(
                &Self {
                    a: 1.0 - H,
                    ..*self
                },
                t,
                frequency,
                recency,
                age,
            )?;
            let hi = eq10_unchecked(
                &Self {
                    a: 1.0 + H,
                    ..*self
                },
                t,
                frequency,
                recency,
                age,
            )?;
            0.5 * (lo + hi)
        } else {
            eq10_unchecked(self, t, frequency, recency, age)?
        };
        if !value.is_finite() {
            return Err(ClvError::InvalidParams(format!(
                "E[Y(t)] is not finite for {self:?}, t={t}, x={frequency}, t_x={recency}, T={age}"
            )));
        }
        // Tiny negative values can only come from rounding (E[Y] >= 0).
        Ok(value.max(0.0))
    }
}

/// Paper eq. (10) after Euler's transformation of 2F1 (no input checks; a != 1).
fn eq10_unchecked(p: &BgNbdParams, t: f64, x: f64, t_x: f64, age: f64) -> Result<f64, ClvError> {
    let BgNbdParams { r, alpha, a, b } = *p;
    let z = t / (alpha + age + t);
    let ln_one_minus_z = (alpha + age).ln() - (alpha + age + t).ln();
    let hyp = hyp2f1(a + b - 1.0 - r, a - 1.0, a + b + x - 1.0, z)?;
    let bracket = 1.0 - ((a - 1.0) * ln_one_minus_z).exp() * hyp;
    Ok((a + b + x - 1.0) / (a - 1.0) * bracket * p_alive_unchecked(p, x, t_x, age))
}

fn p_alive_unchecked(p: &BgNbdParams, x: f64, t_x: f64, age: f64) -> f64 {
    if x == 0.0 {
        return 1.0;
    }
    let ln_odds =
        p.a.ln() - (p.b + x - 1.0).ln() + (p.r + x) * ((p.alpha + age).ln() - (p.alpha + t_x).ln());
    1.0 / (1.0 + ln_odds.exp())
}

/// One row of the BG/NBD log-likelihood, paper eq. (6) (no input checks).
fn bgnbd_ll_row(p: &BgNbdParams, x: f64, t_x: f64, age: f64) -> f64 {
    let BgNbdParams { r, alpha, a, b } = *p;
    let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
    let a2 = ln_beta(a, b + x) - ln_beta(a, b);
    let a3 = -(r + x) * (alpha + age).ln();
    if x > 0.0 {
        let a4 = a.ln() - (b + x - 1.0).ln() - (r + x) * (alpha + t_x).ln();
        let m = a3.max(a4);
        a1 + a2 + m + ((a3 - m).exp() + (a4 - m).exp()).ln()
    } else {
        a1 + a2 + a3
    }
}

// ---------------------------------------------------------------------------------------
// Gamma-Gamma
// ---------------------------------------------------------------------------------------

/// Parameters of the Gamma-Gamma spend model (Fader & Hardie 2013 note, §2; Fader, Hardie &
/// Lee 2005 JMR).
///
/// Each transaction value is gamma(p, ν) with ν varying across customers as gamma(q, γ);
/// `v` is γ, in currency units (lifetimes calls it `v`). All three finite and > 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GammaGammaParams {
    /// Shape p of the per-transaction spend distribution.
    pub p: f64,
    /// Shape q of the across-customer distribution of ν.
    pub q: f64,
    /// Scale γ (lifetimes: `v`) of the across-customer distribution of ν, in currency units.
    pub v: f64,
}

impl GammaGammaParams {
    /// Builds checked Gamma-Gamma parameters.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`] unless p, q, v are all finite and > 0.
    pub fn new(p: f64, q: f64, v: f64) -> Result<Self, ClvError> {
        let g = Self { p, q, v };
        g.check()?;
        Ok(g)
    }

    fn check(&self) -> Result<(), ClvError> {
        check_positive("p", self.p)?;
        check_positive("q", self.q)?;
        check_positive("v", self.v)
    }

    /// Population mean spend per transaction, E[M] = p·γ/(q−1) (the mean of the
    /// Gamma-Gamma note's gamma(p, ν) spend with ν ~ gamma(q, γ)).
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`] on invalid parameters or when q ≤ 1 (the mean is
    /// then infinite).
    pub fn population_mean_value(&self) -> Result<f64, ClvError> {
        self.check()?;
        if self.q <= 1.0 {
            return Err(ClvError::InvalidParams(format!(
                "q = {} <= 1: the Gamma-Gamma mean spend is infinite",
                self.q
            )));
        }
        Ok(self.v * self.p / (self.q - 1.0))
    }

    /// E[M | x, m_x]: expected average spend per transaction for a customer with
    /// `frequency` x repeat purchases of average value `monetary_value` m_x (note, eq. (5);
    /// `lifetimes` `conditional_expected_average_profit`):
    ///
    /// E[M | x, m_x] = (q−1)/(p·x+q−1) · p·γ/(q−1) + p·x/(p·x+q−1) · m_x
    ///
    /// a weighted mean of the population mean and the customer's own mean. For x = 0 it
    /// is the population mean and `monetary_value` is ignored. Currency units as m_x.
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`] (including q ≤ 1), or [`ClvError::InvalidCustomer`]
    /// when frequency is not a whole number ≥ 0, or (for x > 0) m_x is not finite or < 0.
    pub fn conditional_expected_average_value(
        &self,
        frequency: f64,
        monetary_value: f64,
    ) -> Result<f64, ClvError> {
        let population_mean = self.population_mean_value()?;
        if !(frequency.is_finite() && frequency >= 0.0 && frequency.fract() == 0.0) {
            return Err(ClvError::InvalidCustomer(format!(
                "frequency must be a whole number >= 0 (got {frequency})"
            )));
        }
        if frequency == 0.0 {
            return Ok(population_mean);
        }
        if !(monetary_value.is_finite() && monetary_value >= 0.0) {
            return Err(ClvError::InvalidCustomer(format!(
                "monetary_value must be finite and >= 0 (got {monetary_value})"
            )));
        }
        let px = self.p * frequency;
        let weight = px / (px + self.q - 1.0);
        Ok((1.0 - weight) * population_mean + weight * monetary_value)
    }

    /// Log-likelihood of one customer with x > 0 repeat purchases of mean value m_x > 0
    /// (note, eq. (1a) for the average m_x; as in `lifetimes`):
    ///
    /// ln L = ln Γ(px+q) − ln Γ(px) − ln Γ(q) + q ln γ + (px−1) ln m_x + px ln x − (px+q) ln(γ + x m_x)
    ///
    /// # Errors
    /// [`ClvError::InvalidParams`], or [`ClvError::InvalidCustomer`] unless x is a whole
    /// number ≥ 1 and m_x is finite and > 0.
    pub fn log_likelihood(&self, frequency: f64, monetary_value: f64) -> Result<f64, ClvError> {
        self.check()?;
        if !(frequency.is_finite() && frequency >= 1.0 && frequency.fract() == 0.0) {
            return Err(ClvError::InvalidCustomer(format!(
                "Gamma-Gamma needs frequency to be a whole number >= 1 (got {frequency})"
            )));
        }
        if !(monetary_value.is_finite() && monetary_value > 0.0) {
            return Err(ClvError::InvalidCustomer(format!(
                "monetary_value must be finite and > 0 (got {monetary_value})"
            )));
        }
        Ok(gg_ll_row(self, frequency, monetary_value))
    }
}

/// The distinct values of `values` (by bit pattern) and, per value, its index among them.
fn distinct_values(values: impl Iterator<Item = f64>) -> (Vec<f64>, Vec<usize>) {
    let mut seen: std::collections::HashMap<u64, usize> = std::collections::HashMap::new();
    let mut distinct = Vec::new();
    let index = values
        .map(|x| {
            *seen.entry(x.to_bits()).or_insert_with(|| {
                distinct.push(x);
                distinct.len() - 1
            })
        })
        .collect();
    (distinct, index)
}

/// One row of the Gamma-Gamma log-likelihood (no input checks).
fn gg_ll_row(g: &GammaGammaParams, x: f64, m: f64) -> f64 {
    let GammaGammaParams { p, q, v } = *g;
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * m.ln() + px * x.ln()
        - (px + q) * (x * m + v).ln()
}

// ---------------------------------------------------------------------------------------
// Discounted CLV
// ---------------------------------------------------------------------------------------

/// Horizon and discounting for [`customer_lifetime_value`] and [`discounted_clv`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ClvHorizon {
    /// Number of months H to sum over (lifetimes: `time`, default 12).
    pub months: u32,
    /// Monthly discount rate d, e.g. 0.01 for 1 % a month (lifetimes: `discount_rate`).
    pub monthly_discount_rate: f64,
    /// Length of one month in the data's time unit: 30 for days, 4.345 for weeks, 1 for
    /// months, 720 for hours (lifetimes' `freq` = "D", "W", "M", "H").
    pub time_units_per_month: f64,
}

impl ClvHorizon {
    /// Horizon for data whose recency and age are in **days** (a month is 30 days).
    pub fn days(months: u32, monthly_discount_rate: f64) -> Self {
        Self {
            months,
            monthly_discount_rate,
            time_units_per_month: 30.0,
        }
    }

    /// Horizon for data whose recency and age are in **weeks** (a month is 4.345 weeks).
    pub fn weeks(months: u32, monthly_discount_rate: f64) -> Self {
        Self {
            months,
            monthly_discount_rate,
            time_units_per_month: 4.345,
        }
    }

    fn check(&self) -> Result<(), ClvError> {
        if !(self.monthly_discount_rate.is_finite() && self.monthly_discount_rate > -1.0) {
            return Err(ClvError::InvalidArgument(format!(
                "monthly discount rate must be finite and > -1 (got {})",
                self.monthly_discount_rate
            )));
        }
        if !(self.time_units_per_month.is_finite() && self.time_units_per_month > 0.0) {
            return Err(ClvError::InvalidArgument(format!(
                "time units per month must be finite and > 0 (got {})",
                self.time_units_per_month
            )));
        }
        Ok(())
    }
}

/// Discounted value of a customer's expected purchases over `horizon`, at a given value
/// per purchase:
///
/// CLV = Σ_{i=1..H} (E[Y(k·i)] − E[Y(k·(i−1))]) · value_per_purchase / (1+d)^i
///
/// with E[Y(t)] = [`BgNbdParams::conditional_expected_purchases`], k =
/// `horizon.time_units_per_month` and d the monthly discount rate (the cash-flow loop of
/// `lifetimes.utils._customer_lifetime_value`). Use it directly with a historical average
/// order value when the Gamma-Gamma fit did not converge; otherwise use
/// [`customer_lifetime_value`]. Result is in the currency of `value_per_purchase`.
///
/// # Errors
/// As for [`BgNbdParams::conditional_expected_purchases`]; [`ClvError::InvalidArgument`]
/// for a bad horizon or a non-finite `value_per_purchase`.
pub fn discounted_clv(
    bgnbd: &BgNbdParams,
    frequency: f64,
    recency: f64,
    age: f64,
    value_per_purchase: f64,
    horizon: &ClvHorizon,
) -> Result<f64, ClvError> {
    horizon.check()?;
    if !value_per_purchase.is_finite() {
        return Err(ClvError::InvalidArgument(format!(
            "value per purchase must be finite (got {value_per_purchase})"
        )));
    }
    let k = horizon.time_units_per_month;
    let d = horizon.monthly_discount_rate;
    let mut clv = 0.0;
    let mut previous = 0.0; // E[Y(0)] = 0
    for i in 1..=horizon.months {
        let cumulative =
            bgnbd.conditional_expected_purchases(k * f64::from(i), frequency, recency, age)?;
        clv += (cumulative - previous) * value_per_purchase / (1.0 + d).powi(i as i32);
        previous = cumulative;
    }
    Ok(clv)
}

/// Discounted customer lifetime value from a BG/NBD and a Gamma-Gamma model, with the
/// semantics of `lifetimes.GammaGammaFitter.customer_lifetime_value`:
///
/// CLV = Σ_{i=1..H} (E[Y(k·i)] − E[Y(k·(i−1))]) · E[M | x, m_x] / (1+d)^i
///
/// E[Y(t)]: BG/NBD paper eq. (10); E[M | x, m_x]: Gamma-Gamma note eq. (5); k =
/// `horizon.time_units_per_month` (30 when the data is in days), d = monthly discount
/// rate. `frequency`, `recency`, `age` as everywhere in this module; `monetary_value` is
/// the customer's average spend per repeat purchase (ignored when frequency is 0). Result
/// in the currency of `monetary_value`.
///
/// # Errors
/// Those of [`BgNbdParams::conditional_expected_purchases`],
/// [`GammaGammaParams::conditional_expected_average_value`] and [`discounted_clv`].
pub fn customer_lifetime_value(
    bgnbd: &BgNbdParams,
    gamma_gamma: &GammaGammaParams,
    frequency: f64,
    recency: f64,
    age: f64,
    monetary_value: f64,
    horizon: &ClvHorizon,
) -> Result<f64, ClvError> {
    let value = gamma_gamma.conditional_expected_average_value(frequency, monetary_value)?;
    discounted_clv(bgnbd, frequency, recency, age, value, horizon)
}

// ---------------------------------------------------------------------------------------
// Fitting
// ---------------------------------------------------------------------------------------

/// Options for [`fit_bgnbd`] and [`fit_gamma_gamma`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FitOptions {
    /// L2 penalty c added to the mean negative log-likelihood as c · Σ θᵢ², like
    /// `lifetimes`' `penalizer_coef` (default 0). As in lifetimes, the BG/NBD penalty uses
    /// α on the internal time scale where the largest age T is 1 (α_scaled = α / max T).
    pub penalizer_coef: f64,
    /// Cap on Nelder–Mead iterations, summed over restarts (default 5,000). Hitting it
    /// gives `converged == false`.
    pub max_iters: u64,
    /// Nelder–Mead stops when the standard deviation of the simplex's objective values
    /// (mean negative log-likelihood per customer) falls below this (default 1e-12).
    pub tolerance: f64,
}

impl Default for FitOptions {
    fn default() -> Self {
        Self {
            penalizer_coef: 0.0,
            max_iters: 5_000,
            tolerance: 1e-12,
        }
    }
}

/// Result of a maximum-likelihood fit. **Check `converged` before using `params`.**
///
/// When `converged` is false, `reason` says why (iteration cap, non-finite likelihood,
/// parameters running off to 0 or ∞, gradient not near zero, or a parameter outside the
/// range the predictions need) and the caller should fall back to historical averages.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit<P> {
    /// Best parameters found (meaningful only when `converged`).
    pub params: P,
    /// Total (weighted, un-penalised) log-likelihood at `params`, on the data's own units.
    pub log_likelihood: f64,
    /// Nelder–Mead iterations used, summed over restarts.
    pub iterations: u64,
    /// True when the optimiser converged to a finite optimum with usable parameters.
    pub converged: bool,
    /// Why the fit is not usable; `None` when `converged`.
    pub reason: Option<String>,
    /// Number of customers used (sum of weights of the rows the model uses).
    pub customers: f64,
}

/// Smallest and largest parameter value accepted as a real optimum; beyond these the
/// likelihood is running off to a boundary (degenerate data).
const PARAM_MIN: f64 = 1e-8;
/// The cap is applied on the rescaled time axis (largest T = 1), where published fits have
/// parameters well under 100; beyond 10⁴ the Gamma or Beta mixing distribution has collapsed
/// to a point (a homogeneous base) and the predictions' hypergeometric series overflow.
const PARAM_MAX: f64 = 1e4;
/// Largest acceptable |∂objective/∂ln θ| at the optimum (objective = mean NLL per customer).
const GRADIENT_TOL: f64 = 1e-4;
/// Nelder–Mead restarts from the best point (a restart rebuilds a collapsed simplex).
const MAX_RESTARTS: usize = 4;

/// Objective for argmin: mean penalised negative log-likelihood over log-parameters.
/// Non-finite values are mapped to +∞ so the simplex moves away from them (argmin's
/// Nelder–Mead cannot handle NaN).
struct Objective<F: Fn(&[f64]) -> f64> {
    f: F,
}

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, log_params: &Self::Param) -> Result<f64, ArgminError> {
        let v = (self.f)(log_params);
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }
}

struct Minimum {
    log_params: Vec<f64>,
    iterations: u64,
    problem: Option<String>,
}

/// Minimises `f` over log-parameters from `start` with Nelder–Mead, restarting from the
/// best point until a restart no longer improves the objective, then checks the
/// optimum (finite value, parameters away from 0/∞, central-difference gradient ≈ 0).
fn minimise<F: Fn(&[f64]) -> f64>(
    f: F,
    start: Vec<f64>,
    names: &[&str],
    options: &FitOptions,
) -> Minimum {
    let objective = Objective { f };
    let mut best = start;
    let mut best_value = objective.cost(&best).unwrap_or(f64::INFINITY);
    let mut iterations = 0_u64;
    let mut step = 1.0;
    let mut problem = None;
    for restart in 0..=MAX_RESTARTS {
        let remaining = options.max_iters.saturating_sub(iterations);
        if remaining == 0 {
            problem = Some(format!(
                "hit the iteration cap ({}) before converging",
                options.max_iters
            ));
            break;
        }
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut vertex = best.clone();
            vertex[i] += step;
            simplex.push(vertex);
        }
        let solver = match NelderMead::new(simplex).with_sd_tolerance(options.tolerance) {
            Ok(s) => s,
            Err(e) => {
                problem = Some(format!("optimiser setup failed: {e}"));
                break;
            }
        };
        let result = Executor::new(Objective { f: &objective.f }, solver)
            .configure(|state| state.max_iters(remaining))
            .timer(false)
            .run();
        let state = match result {
            Ok(r) => r.state().clone(),
            Err(e) => {
                problem = Some(format!("optimiser failed: {e}"));
                break;
            }
        };
        iterations += state.get_iter();
        let reached_cap = matches!(
            state.get_termination_reason(),
            Some(TerminationReason::MaxItersReached)
        );
        let improvement = best_value - state.get_best_cost();
        if let Some(p) = state.get_best_param()
            && state.get_best_cost() <= best_value
        {
            best = p.clone();
            best_value = state.get_best_cost();
        }
        if reached_cap {
            problem = Some(format!(
                "hit the iteration cap ({}) before converging",
                options.max_iters
            ));
            break;
        }
        // A restart that cannot improve the objective confirms the optimum.
        // (`improvement` is NaN when both values are +inf; that counts as no improvement.)
        let improved = improvement > 10.0 * options.tolerance;
        if restart > 0 && !improved {
            problem = None;
            break;
        }
        if restart == MAX_RESTARTS {
            problem = Some("still improving after the last Nelder-Mead restart".to_string());
        }
        step = 0.1;
    }
    if problem.is_none() {
        problem = check_optimum(&objective.f, &best, best_value, names);
    }
    Minimum {
        log_params: best,
        iterations,
        problem,
    }
}

fn check_optimum<F: Fn(&[f64]) -> f64>(
    f: &F,
    log_params: &[f64],
    value: f64,
    names: &[&str],
) -> Option<String> {
    if !value.is_finite() {
        return Some("the log-likelihood is not finite at the optimum".to_string());
    }
    for (i, lp) in log_params.iter().enumerate() {
        let p = lp.exp();
        if !(p.is_finite() && (PARAM_MIN..=PARAM_MAX).contains(&p)) {
            return Some(format!(
                "parameter {} ran off to {p:e}: the likelihood keeps improving towards a boundary \
                 (degenerate data, e.g. almost no repeat purchases or identical spends; \
                 a penalizer_coef > 0 may help)",
                names[i]
            ));
        }
    }
    let h = 1e-5;
    for i in 0..log_params.len() {
        let mut up = log_params.to_vec();
        let mut down = log_params.to_vec();
        up[i] += h;
        down[i] -= h;
        let g = (f(&up) - f(&down)) / (2.0 * h);
        if !g.is_finite() || g.abs() > GRADIENT_TOL {
            return Some(format!(
                "gradient is not ~0 at the optimum (d/d ln {} = {g:e})",
                names[i]
            ));
        }
    }
    None
}

/// Fits the BG/NBD model by maximum likelihood (paper eq. (6)).
///
/// Inputs are parallel slices, one entry per customer (or per group of identical
/// customers when `weights` gives the group sizes): `frequency` x, `recency` t_x and
/// `age` T, with `recency` and `age` in one time unit (the fitted α is in that unit).
/// Internally time is rescaled so the largest T is 1 (as `lifetimes` does); the returned
/// α is on the data's scale. Optimises the mean weighted negative log-likelihood plus
/// `options.penalizer_coef · (r² + α_scaled² + a² + b²)` over ln r, ln α, ln a, ln b with
/// Nelder–Mead (argmin), starting from all parameters e^0.1 like `lifetimes`.
///
/// # Errors
/// [`ClvError::LengthMismatch`], [`ClvError::Empty`], [`ClvError::TooFewCustomers`]
/// (total weight < 2), [`ClvError::InvalidRow`] (a row breaks the input rules in the
/// module docs, or a negative/non-finite weight), [`ClvError::InvalidArgument`] (bad
/// options, or every age T is 0).
///
/// A fit that does not converge is `Ok` with `converged == false`; see [`Fit`].
pub fn fit_bgnbd(
    frequency: &[f64],
    recency: &[f64],
    age: &[f64],
    weights: Option<&[f64]>,
    options: &FitOptions,
) -> Result<Fit<BgNbdParams>, ClvError> {
    let n = frequency.len();
    if recency.len() != n || age.len() != n {
        return Err(ClvError::LengthMismatch(format!(
            "frequency {n}, recency {}, age {}",
            recency.len(),
            age.len()
        )));
    }
    if n == 0 {
        return Err(ClvError::Empty("the input has no rows".to_string()));
    }
    check_options(options)?;
    let w = resolve_weights(n, weights)?;
    for row in 0..n {
        check_rfm(frequency[row], recency[row], age[row])
            .map_err(|message| ClvError::InvalidRow { row, message })?;
    }
    let total: f64 = w.iter().sum();
    if total < 2.0 {
        return Err(ClvError::TooFewCustomers(total));
    }
    let max_age = age.iter().copied().fold(0.0, f64::max);
    if max_age <= 0.0 {
        return Err(ClvError::InvalidArgument(
            "every customer has age T = 0; nothing to fit".to_string(),
        ));
    }
    let scale = 1.0 / max_age;
    let rows: Vec<(f64, f64, f64, f64)> = (0..n)
        .filter(|&i| w[i] > 0.0)
        .map(|i| (frequency[i], recency[i] * scale, age[i] * scale, w[i]))
        .collect();
    let penalizer = options.penalizer_coef;
    // The terms that depend only on the frequency x (the Γ and B functions) are computed once
    // per distinct x per evaluation; the arithmetic is that of `bgnbd_ll_row`, term for term,
    // so the sum is the same to the last bit.
    let (distinct_x, x_index) = distinct_values(rows.iter().map(|r| r.0));
    let mean_nll = |lp: &[f64]| -> f64 {
        let p = BgNbdParams {
            r: lp[0].exp(),
            alpha: lp[1].exp(),
            a: lp[2].exp(),
            b: lp[3].exp(),
        };
        let BgNbdParams { r, alpha, a, b } = p;
        let per_x: Vec<(f64, f64)> = distinct_x
            .iter()
            .map(|&x| {
                let a1 = ln_gamma(r + x) - ln_gamma(r) + r * alpha.ln();
                let a2 = ln_beta(a, b + x) - ln_beta(a, b);
                (a1 + a2, a.ln() - (b + x - 1.0).ln())
            })
            .collect();
        let ll: f64 = rows
            .iter()
            .zip(&x_index)
            .map(|(&(x, tx, t, wi), &k)| {
                let (a12, c4) = per_x[k];
                let a3 = -(r + x) * (alpha + t).ln();
                let row = if x > 0.0 {
                    let a4 = c4 - (r + x) * (alpha + tx).ln();
                    let m = a3.max(a4);
                    a12 + m + ((a3 - m).exp() + (a4 - m).exp()).ln()
                } else {
                    a12 + a3
                };
                wi * row
            })
            .sum();
        let penalty = penalizer * (p.r * p.r + p.alpha * p.alpha + p.a * p.a + p.b * p.b);
        -ll / total + penalty
    };
    let min = minimise(mean_nll, vec![0.1; 4], &["r", "alpha", "a", "b"], options);
    let lp = &min.log_params;
    let params = BgNbdParams {
        r: lp[0].exp(),
        alpha: lp[1].exp() / scale,
        a: lp[2].exp(),
        b: lp[3].exp(),
    };
    let log_likelihood: f64 = (0..n)
        .filter(|&i| w[i] > 0.0)
        .map(|i| w[i] * bgnbd_ll_row(&params, frequency[i], recency[i], age[i]))
        .sum();
    Ok(finish(params, log_likelihood, min, total, |_| None))
}

/// Fits the Gamma-Gamma spend model by maximum likelihood (Fader & Hardie 2013 note,
/// eq. (1a) with m_x the mean of x transactions; as `lifetimes.GammaGammaFitter`).
///
/// Inputs are parallel slices: `frequency` x (repeat purchases) and `monetary_value` m_x
/// (average spend per repeat purchase, currency units), optional `weights` (group sizes).
/// Rows with x = 0 are **skipped** (the model is fitted on customers with x > 0, and their
/// `monetary_value` is ignored). Optimises the mean weighted negative log-likelihood plus
/// `options.penalizer_coef · (p² + q² + v²)` over ln p, ln q, ln v with Nelder–Mead,
/// starting from e^0.1 like `lifetimes`.
///
/// A fit whose q ≤ 1 is returned with `converged == false` (the mean spend p·v/(q−1) is
/// then infinite, so [`GammaGammaParams::conditional_expected_average_value`] would fail).
///
/// # Errors
/// [`ClvError::LengthMismatch`], [`ClvError::Empty`] (no rows, or no row with x > 0),
/// [`ClvError::TooFewCustomers`] (weight of rows with x > 0 below 2),
/// [`ClvError::InvalidRow`] (frequency not a whole number ≥ 0; for x > 0 a monetary value
/// that is not finite and > 0; a negative/non-finite weight), [`ClvError::InvalidArgument`]
/// (bad options).
pub fn fit_gamma_gamma(
    frequency: &[f64],
    monetary_value: &[f64],
    weights: Option<&[f64]>,
    options: &FitOptions,
) -> Result<Fit<GammaGammaParams>, ClvError> {
    let n = frequency.len();
    if monetary_value.len() != n {
        return Err(ClvError::LengthMismatch(format!(
            "frequency {n}, monetary_value {}",
            monetary_value.len()
        )));
    }
    if n == 0 {
        return Err(ClvError::Empty("the input has no rows".to_string()));
    }
    check_options(options)?;
    let w = resolve_weights(n, weights)?;
    let mut rows = Vec::with_capacity(n);
    for row in 0..n {
        let (x, m) = (frequency[row], monetary_value[row]);
        if !(x.is_finite() && x >= 0.0 && x.fract() == 0.0) {
            return Err(ClvError::InvalidRow {
                row,
                message: format!("frequency must be a whole number >= 0 (got {x})"),
            });
        }
        if x == 0.0 {
            continue;
        }
        if !(m.is_finite() && m > 0.0) {
            return Err(ClvError::InvalidRow {
                row,
                message: format!(
                    "monetary_value must be finite and > 0 when frequency > 0 (got {m})"
                ),
            });
        }
        if w[row] > 0.0 {
            rows.push((x, m, w[row]));
        }
    }
    if rows.is_empty() {
        return Err(ClvError::Empty(
            "no customer with frequency > 0 (and weight > 0)".to_string(),
        ));
    }
    let total: f64 = rows.iter().map(|r| r.2).sum();
    if total < 2.0 {
        return Err(ClvError::TooFewCustomers(total));
    }
    let penalizer = options.penalizer_coef;
    // As in the BG/NBD fit: the Γ terms once per distinct frequency x, ln m once per row;
    // the arithmetic is that of `gg_ll_row`, term for term (the same sum to the last bit).
    let (distinct_x, x_index) = distinct_values(rows.iter().map(|r| r.0));
    let ln_m: Vec<f64> = rows.iter().map(|r| r.1.ln()).collect();
    let mean_nll = |lp: &[f64]| -> f64 {
        let g = GammaGammaParams {
            p: lp[0].exp(),
            q: lp[1].exp(),
            v: lp[2].exp(),
        };
        let GammaGammaParams { p, q, v } = g;
        let per_x: Vec<(f64, f64)> = distinct_x
            .iter()
            .map(|&x| {
                let px = p * x;
                (
                    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln(),
                    px * x.ln(),
                )
            })
            .collect();
        let ll: f64 = rows
            .iter()
            .zip(&x_index)
            .zip(&ln_m)
            .map(|((&(x, m, wi), &k), &lm)| {
                let (c, px_ln_x) = per_x[k];
                let px = p * x;
                wi * (c + (px - 1.0) * lm + px_ln_x - (px + q) * (x * m + v).ln())
            })
            .sum();
        -ll / total + penalizer * (g.p * g.p + g.q * g.q + g.v * g.v)
    };
    let min = minimise(mean_nll, vec![0.1; 3], &["p", "q", "v"], options);
    let lp = &min.log_params;
    let params = GammaGammaParams {
        p: lp[0].exp(),
        q: lp[1].exp(),
        v: lp[2].exp(),
    };
    let log_likelihood: f64 = rows
        .iter()
        .map(|&(x, m, wi)| wi * gg_ll_row(&params, x, m))
        .sum();
    Ok(finish(
        params,
        log_likelihood,
        min,
        total,
        |g: &GammaGammaParams| {
            (g.q <= 1.0).then(|| {
                format!(
                    "fitted q = {:.4} <= 1: the population mean spend is infinite",
                    g.q
                )
            })
        },
    ))
}

fn check_options(options: &FitOptions) -> Result<(), ClvError> {
    if !(options.penalizer_coef.is_finite() && options.penalizer_coef >= 0.0) {
        return Err(ClvError::InvalidArgument(format!(
            "penalizer_coef must be finite and >= 0 (got {})",
            options.penalizer_coef
        )));
    }
    if !(options.tolerance.is_finite() && options.tolerance >= 0.0) {
        return Err(ClvError::InvalidArgument(format!(
            "tolerance must be finite and >= 0 (got {})",
            options.tolerance
        )));
    }
    if options.max_iters == 0 {
        return Err(ClvError::InvalidArgument(
            "max_iters must be > 0".to_string(),
        ));
    }
    Ok(())
}

fn finish<P>(
    params: P,
    log_likelihood: f64,
    min: Minimum,
    customers: f64,
    model_check: impl Fn(&P) -> Option<String>,
) -> Fit<P> {
    let reason = min
        .problem
        .or_else(|| {
            (!log_likelihood.is_finite())
                .then(|| "the log-likelihood is not finite at the optimum".to_string())
        })
        .or_else(|| model_check(&params));
    Fit {
        params,
        log_likelihood,
        iterations: min.iterations,
        converged: reason.is_none(),
        reason,
        customers,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CDNOW_SUMMARY: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/cdnow/cdnow_customers_summary.csv"
    );
    const CDNOW_WITH_MONETARY: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/cdnow/cdnow_customers_summary_with_transactions.csv"
    );

    /// Published BG/NBD estimates for CDNOW (Fader, Hardie & Lee 2005, §5), time in weeks.
    const PAPER_BGNBD: BgNbdParams = BgNbdParams {
        r: 0.243,
        alpha: 4.414,
        a: 0.793,
        b: 2.426,
    };

    /// Reads a CDNOW summary file: ID, then frequency, recency, T (weeks), and optionally
    /// the average repeat-purchase value ("zbar"). Columns are read by position because
    /// the two files name them differently.
    fn read_cdnow(path: &str) -> Vec<[f64; 4]> {
        let mut reader = csv::Reader::from_path(path).expect("open CDNOW fixture");
        reader
            .records()
            .map(|rec| {
                let rec = rec.expect("CSV record");
                let num = |i: usize| {
                    rec.get(i)
                        .map_or(0.0, |s| s.trim().parse::<f64>().expect("number"))
                };
                [num(1), num(2), num(3), num(4)]
            })
            .collect()
    }

    fn column(rows: &[[f64; 4]], i: usize) -> Vec<f64> {
        rows.iter().map(|r| r[i]).collect()
    }

    fn assert_rel(actual: f64, expected: f64, rel: f64, what: &str) {
        assert!(
            ((actual - expected) / expected).abs() <= rel,
            "{what}: got {actual}, expected {expected} (±{}%)",
            rel * 100.0
        );
    }

    // ---- CDNOW reproduction ---------------------------------------------------------

    #[test]
    fn cdnow_bgnbd_reproduces_published_estimates() {
        let rows = read_cdnow(CDNOW_SUMMARY);
        assert_eq!(rows.len(), 2357);
        let start = std::time::Instant::now();
        let fit = fit_bgnbd(
            &column(&rows, 0),
            &column(&rows, 1),
            &column(&rows, 2),
            None,
            &FitOptions::default(),
        )
        .unwrap();
        eprintln!("CDNOW BG/NBD fit: {fit:?} in {:?}", start.elapsed());
        assert!(fit.converged, "{:?}", fit.reason);
        assert_eq!(fit.customers, 2357.0);
        let p = fit.params;
        assert_rel(p.r, 0.243, 0.01, "r");
        assert_rel(p.alpha, 4.414, 0.01, "alpha");
        assert_rel(p.a, 0.793, 0.01, "a");
        assert_rel(p.b, 2.426, 0.01, "b");
        // The paper reports LL = -9582.4; lifetimes 0.11.3 gives r=0.242593,
        // alpha=4.413532, a=0.792886, b=2.425752 on this file.
        assert!(
            (fit.log_likelihood + 9582.4).abs() < 0.1,
            "LL {}",
            fit.log_likelihood
        );
        assert_rel(p.r, 0.242593, 1e-3, "r vs lifetimes");
        assert_rel(p.alpha, 4.413532, 1e-3, "alpha vs lifetimes");
        assert_rel(p.a, 0.792886, 1e-3, "a vs lifetimes");
        assert_rel(p.b, 2.425752, 1e-3, "b vs lifetimes");
    }

    #[test]
    fn cdnow_gamma_gamma_reproduces_published_estimates() {
        let rows = read_cdnow(CDNOW_WITH_MONETARY);
        // Same customers as the plain summary file.
        let summary = read_cdnow(CDNOW_SUMMARY);
        assert_eq!(rows.len(), summary.len());
        for (a, b) in rows.iter().zip(&summary) {
            assert_eq!(a[..3], b[..3]);
        }
        let start = std::time::Instant::now();
        let fit = fit_gamma_gamma(
            &column(&rows, 0),
            &column(&rows, 3),
            None,
            &FitOptions::default(),
        )
        .unwrap();
        eprintln!("CDNOW Gamma-Gamma fit: {fit:?} in {:?}", start.elapsed());
        assert!(fit.converged, "{:?}", fit.reason);
        assert_eq!(fit.customers, 946.0); // customers with frequency > 0
        let g = fit.params;
        assert_rel(g.p, 6.25, 0.01, "p");
        assert_rel(g.q, 3.74, 0.01, "q");
        assert_rel(g.v, 15.44, 0.01, "v (gamma)");
        // lifetimes 0.11.3: p=6.248802, q=3.744588, v=15.447748, LL=-4055.92.
        assert!(
            (fit.log_likelihood + 4055.92).abs() < 0.01,
            "LL {}",
            fit.log_likelihood
        );
        // lifetimes: conditional_expected_average_profit for customer 1 (x=2,
        // m=22.35) = 24.658616 and for x=0 (population mean) = 35.171002.
        let e1 = g.conditional_expected_average_value(2.0, 22.35).unwrap();
        assert_rel(e1, 24.658616, 1e-4, "E[M] customer 1");
        assert_rel(
            g.population_mean_value().unwrap(),
            35.171002,
            1e-4,
            "population mean",
        );
    }

    #[test]
    fn cdnow_clv_matches_lifetimes() {
        // lifetimes 0.11.3 with its own fitted CDNOW parameters:
        // ggf.customer_lifetime_value(bgf, ..., time=12, discount_rate=0.01, freq="W")
        // gives 36.278496 for customer 1 (x=2, t_x=30.43, T=38.86, m=22.35) and
        // 8.344093 for a customer with x=0, T=38.86.
        let bg = BgNbdParams::new(
            0.2425929282798216,
            4.413532265271803,
            0.7928859664405851,
            2.42575238262545,
        )
        .unwrap();
        let gg = GammaGammaParams::new(6.248802496074264, 3.744588460923312, 15.447748064932831)
            .unwrap();
        let weeks = ClvHorizon::weeks(12, 0.01);
        let c1 = customer_lifetime_value(&bg, &gg, 2.0, 30.43, 38.86, 22.35, &weeks).unwrap();
        assert_rel(c1, 36.278496, 1e-6, "CLV customer 1");
        let c3 = customer_lifetime_value(&bg, &gg, 0.0, 0.0, 38.86, 0.0, &weeks).unwrap();
        assert_rel(c3, 8.344093, 1e-6, "CLV customer 3");
        // lifetimes' default freq="D" on this weekly data treats a month as 30 weeks:
        // 140.096218 for customer 1.
        let as_days = ClvHorizon {
            time_units_per_month: 30.0,
            ..weeks
        };
        let c1d = customer_lifetime_value(&bg, &gg, 2.0, 30.43, 38.86, 22.35, &as_days).unwrap();
        assert_rel(c1d, 140.096218, 1e-6, "CLV customer 1, 30-unit months");
    }

    #[test]
    fn cdnow_weighted_fit_equals_unweighted_fit() {
        // Collapse identical (x, t_x, T) rows into one weighted row.
        let rows = read_cdnow(CDNOW_SUMMARY);
        let mut groups: Vec<([f64; 3], f64)> = Vec::new();
        for r in &rows {
            let key = [r[0], r[1], r[2]];
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, w)) => *w += 1.0,
                None => groups.push((key, 1.0)),
            }
        }
        assert!(groups.len() < rows.len());
        let col = |i: usize| groups.iter().map(|(k, _)| k[i]).collect::<Vec<_>>();
        let w: Vec<f64> = groups.iter().map(|g| g.1).collect();
        let fit = fit_bgnbd(&col(0), &col(1), &col(2), Some(&w), &FitOptions::default()).unwrap();
        assert!(fit.converged, "{:?}", fit.reason);
        assert_eq!(fit.customers, 2357.0);
        assert_rel(fit.params.r, 0.242593, 1e-3, "r");
        assert_rel(fit.params.alpha, 4.413532, 1e-3, "alpha");
        assert_rel(fit.params.a, 0.792886, 1e-3, "a");
        assert_rel(fit.params.b, 2.425752, 1e-3, "b");
        assert!((fit.log_likelihood + 9582.4).abs() < 0.1);
    }

    #[test]
    fn penalizer_shrinks_parameters() {
        let rows = read_cdnow(CDNOW_SUMMARY);
        let options = FitOptions {
            penalizer_coef: 0.1,
            ..FitOptions::default()
        };
        let fit = fit_bgnbd(
            &column(&rows, 0),
            &column(&rows, 1),
            &column(&rows, 2),
            None,
            &options,
        )
        .unwrap();
        assert!(fit.converged, "{:?}", fit.reason);
        // The penalty lowers the sum of squares; b (the largest) must shrink.
        assert!(fit.params.b < 2.4, "{:?}", fit.params);
        assert!(fit.log_likelihood < -9582.4);
    }

    // ---- hand-checkable values --------------------------------------------------------

    #[test]
    fn paper_example_customer() {
        // Fader, Hardie & Lee (2005), §5: a customer with x=2, t_x=30.43, T=38.86 weeks
        // is expected to make 1.226 purchases in the next 39 weeks.
        let e = PAPER_BGNBD
            .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
            .unwrap();
        assert!((e - 1.226).abs() < 5e-4, "{e}");
        // lifetimes 0.11.3 with the same parameters: 1.2260281747671318.
        assert_rel(e, 1.2260281747671318, 1e-9, "E[Y(39)] vs lifetimes");
    }

    #[test]
    fn conditional_expectations_match_lifetimes() {
        // (x, t_x, T) -> lifetimes' E[Y(39)] and E[Y(520)] with the paper's parameters.
        let cases = [
            ((0.0, 0.0, 38.86), 0.19509805201125396, 1.4645477714482187),
            ((1.0, 1.71, 38.86), 0.2031869870797511, 1.3074184508243571),
            ((7.0, 29.43, 35.0), 4.369281948518574, 22.56866935407232),
            ((25.0, 30.0, 38.0), 2.604923628658937, 13.068652838006905),
        ];
        for ((x, tx, t), e39, e520) in cases {
            let got39 = PAPER_BGNBD
                .conditional_expected_purchases(39.0, x, tx, t)
                .unwrap();
            let got520 = PAPER_BGNBD
                .conditional_expected_purchases(520.0, x, tx, t)
                .unwrap();
            assert_rel(got39, e39, 1e-9, "E[Y(39)]");
            assert_rel(got520, e520, 1e-9, "E[Y(520)]");
        }
        // lifetimes' expected_number_of_purchases_up_to_time with its fitted parameters.
        let bg = BgNbdParams::new(
            0.2425929282798216,
            4.413532265271803,
            0.7928859664405851,
            2.42575238262545,
        )
        .unwrap();
        let expected = [
            (1.0, 0.05318474),
            (10.0, 0.43176099),
            (39.0, 1.19501623),
            (78.0, 1.8579717),
        ];
        for (t, e) in expected {
            assert_rel(bg.expected_purchases(t).unwrap(), e, 1e-6, "E[X(t)]");
        }
    }

    #[test]
    fn probability_alive_by_hand() {
        // x = 0: always alive.
        assert_eq!(PAPER_BGNBD.probability_alive(0.0, 0.0, 38.86).unwrap(), 1.0);
        assert_eq!(PAPER_BGNBD.probability_alive(0.0, 0.0, 0.0).unwrap(), 1.0);
        // Paper example customer x=2, t_x=30.43, T=38.86 with r=0.243, α=4.414, a=0.793, b=2.426:
        //   a/(b+x−1)          = 0.793 / 3.426        = 0.2314653
        //   (α+T)/(α+t_x)      = 43.274 / 34.844      = 1.2419355
        //   1.2419355^(r+x=2.243)                     = 1.6257888
        //   odds = 0.2314653 · 1.6257888              = 0.3763136
        //   P(alive) = 1 / (1 + 0.3763136)            = 0.7265786
        let p = PAPER_BGNBD.probability_alive(2.0, 30.43, 38.86).unwrap();
        assert!((p - 0.7265786).abs() < 1e-7, "{p}");
        // A customer whose last purchase is at the end of the period (t_x = T):
        // odds = a/(b+x−1) = 0.793/3.426.
        let p = PAPER_BGNBD.probability_alive(2.0, 38.86, 38.86).unwrap();
        assert!((p - 1.0 / (1.0 + 0.793 / 3.426)).abs() < 1e-12);
        // Extreme inactivity underflows to 0, not NaN.
        let p = PAPER_BGNBD.probability_alive(5000.0, 0.001, 1e6).unwrap();
        assert!((0.0..1e-12).contains(&p), "{p}");
    }

    #[test]
    fn hyp2f1_known_values() {
        // 2F1(1,1;2;z) = −ln(1−z)/z
        for z in [-0.9, -0.5, 1e-3, 0.3, 0.5, 0.9, 0.99] {
            let exact = -(1.0_f64 - z).ln() / z;
            let got = hyp2f1(1.0, 1.0, 2.0, z).unwrap();
            assert!(
                ((got - exact) / exact).abs() < 1e-13,
                "z={z}: {got} vs {exact}"
            );
        }
        // 2F1(a,b;b;z) = (1−z)^(−a)
        let got = hyp2f1(0.7, 3.2, 3.2, 0.6).unwrap();
        assert!((got - 0.4_f64.powf(-0.7)).abs() < 1e-13);
        // 2F1(1/2,1/2;3/2;z²) = arcsin(z)/z
        let z = 0.8_f64;
        let got = hyp2f1(0.5, 0.5, 1.5, z * z).unwrap();
        assert!((got - z.asin() / z).abs() < 1e-13);
        // Terminating series: 2F1(−2,b;c;z) = 1 − 2bz/c + b(b+1)z²/(c(c+1))
        let (b, c, z) = (1.5, 2.5, 0.4);
        let exact = 1.0 - 2.0 * b * z / c + b * (b + 1.0) * z * z / (c * (c + 1.0));
        assert!((hyp2f1(-2.0, b, c, z).unwrap() - exact).abs() < 1e-15);
        // z = 0
        assert_eq!(hyp2f1(3.0, 4.0, 5.0, 0.0).unwrap(), 1.0);
        // Outside the domain or at a pole: errors, not NaN.
        assert!(matches!(
            hyp2f1(1.0, 1.0, 2.0, 1.0),
            Err(ClvError::Hypergeometric { .. })
        ));
        assert!(matches!(
            hyp2f1(1.0, 1.0, 2.0, -1.5),
            Err(ClvError::Hypergeometric { .. })
        ));
        assert!(matches!(
            hyp2f1(1.0, 1.0, 0.0, 0.5),
            Err(ClvError::Hypergeometric { .. })
        ));
        assert!(matches!(
            hyp2f1(1.0, 1.0, -3.0, 0.5),
            Err(ClvError::Hypergeometric { .. })
        ));
        assert!(matches!(
            hyp2f1(f64::NAN, 1.0, 2.0, 0.5),
            Err(ClvError::Hypergeometric { .. })
        ));
    }

    #[test]
    fn euler_transformed_eq10_equals_direct_eq10() {
        // Eq. (10) evaluated literally with 2F1(r+x, b+x; a+b+x−1; z).
        let direct = |p: &BgNbdParams, t: f64, x: f64, tx: f64, big_t: f64| {
            let BgNbdParams { r, alpha, a, b } = *p;
            let z = t / (alpha + big_t + t);
            let hyp = hyp2f1(r + x, b + x, a + b + x - 1.0, z).unwrap();
            let num = (a + b + x - 1.0) / (a - 1.0)
                * (1.0 - ((alpha + big_t) / (alpha + big_t + t)).powf(r + x) * hyp);
            let den = 1.0
                + if x > 0.0 {
                    a / (b + x - 1.0) * ((alpha + big_t) / (alpha + tx)).powf(r + x)
                } else {
                    0.0
                };
            num / den
        };
        let params = [
            PAPER_BGNBD,
            BgNbdParams {
                r: 1.3,
                alpha: 20.0,
                a: 2.5,
                b: 4.0,
            },
        ];
        for p in &params {
            for (t, x, tx, big_t) in [
                (39.0, 2.0, 30.43, 38.86),
                (10.0, 0.0, 0.0, 5.0),
                (100.0, 6.0, 20.0, 50.0),
            ] {
                let got = p.conditional_expected_purchases(t, x, tx, big_t).unwrap();
                let want = direct(p, t, x, tx, big_t);
                assert!(
                    ((got - want) / want).abs() < 1e-10,
                    "{p:?} {t} {x}: {got} vs {want}"
                );
            }
        }
    }

    #[test]
    fn expected_purchases_closed_form_case() {
        // With r = a+b−1 the transformed 2F1 is 1, and for a = 2 eq. (9) reduces to
        // E[X(t)] = (a+b−1)/(a−1) · [1 − α/(α+t)] = (b+1) · t/(α+t).
        // r=2, α=10, a=2, b=1: E[X(30)] = 2·30/40 = 1.5; E[X(60)] = 2·60/70.
        let p = BgNbdParams::new(2.0, 10.0, 2.0, 1.0).unwrap();
        assert!((p.expected_purchases(30.0).unwrap() - 1.5).abs() < 1e-14);
        assert!((p.expected_purchases(60.0).unwrap() - 120.0 / 70.0).abs() < 1e-14);
        assert_eq!(p.expected_purchases(0.0).unwrap(), 0.0);
        // E[X(t)] is the conditional expectation for x = t_x = T = 0.
        let q = PAPER_BGNBD;
        assert_eq!(
            q.expected_purchases(26.0).unwrap(),
            q.conditional_expected_purchases(26.0, 0.0, 0.0, 0.0)
                .unwrap()
        );
    }

    #[test]
    fn removable_singularity_at_a_equals_one() {
        let at = |a: f64| {
            BgNbdParams { a, ..PAPER_BGNBD }
                .conditional_expected_purchases(39.0, 2.0, 30.43, 38.86)
                .unwrap()
        };
        let (lo, mid, hi) = (at(1.0 - 1e-4), at(1.0), at(1.0 + 1e-4));
        assert!(mid.is_finite());
        assert!((mid - 0.5 * (lo + hi)).abs() < 1e-7, "{lo} {mid} {hi}");
        let e = BgNbdParams {
            a: 1.0,
            ..PAPER_BGNBD
        }
        .expected_purchases(39.0)
        .unwrap();
        assert!(e.is_finite() && e > 0.0);
    }

    #[test]
    fn long_horizons_and_heavy_buyers_stay_finite() {
        for (t, x, tx, big_t) in [
            (1e5, 0.0, 0.0, 38.0),
            (3650.0, 400.0, 38.0, 38.5),
            (1e6, 1000.0, 100.0, 100.0),
        ] {
            let e = PAPER_BGNBD
                .conditional_expected_purchases(t, x, tx, big_t)
                .unwrap();
            assert!(e.is_finite() && e >= 0.0, "{t} {x}: {e}");
        }
        // Monotone in t.
        let mut last = 0.0;
        for t in [1.0, 10.0, 100.0, 1000.0, 10000.0] {
            let e = PAPER_BGNBD.expected_purchases(t).unwrap();
            assert!(e > last);
            last = e;
        }
    }

    #[test]
    fn gamma_gamma_expected_value_by_hand() {
        // p=6.25, q=3.74, γ=15.44 (published CDNOW values):
        //   population mean = γp/(q−1) = 15.44·6.25/2.74 = 35.2189781
        //   x=2, m_x=22.35: weight = px/(px+q−1) = 12.5/15.24 = 0.8202100
        //   E[M] = 0.17979·35.2189781 + 0.8202100·22.35 = 24.6637139
        let g = GammaGammaParams::new(6.25, 3.74, 15.44).unwrap();
        assert!((g.population_mean_value().unwrap() - 35.2189781).abs() < 1e-6);
        assert!(
            (g.conditional_expected_average_value(2.0, 22.35).unwrap() - 24.6637139).abs() < 1e-6
        );
        // x = 0: population mean; monetary value ignored.
        assert_eq!(
            g.conditional_expected_average_value(0.0, 999.0).unwrap(),
            g.population_mean_value().unwrap()
        );
        // q <= 1: infinite mean, an error.
        let bad = GammaGammaParams::new(6.25, 0.9, 15.44).unwrap();
        assert!(matches!(
            bad.conditional_expected_average_value(2.0, 22.35),
            Err(ClvError::InvalidParams(_))
        ));
        assert!(matches!(
            g.conditional_expected_average_value(1.5, 22.35),
            Err(ClvError::InvalidCustomer(_))
        ));
        assert!(matches!(
            g.conditional_expected_average_value(2.0, f64::NAN),
            Err(ClvError::InvalidCustomer(_))
        ));
        assert!(g.log_likelihood(2.0, 22.35).unwrap().is_finite());
        assert!(g.log_likelihood(0.0, 22.35).is_err());
    }

    #[test]
    fn discounted_clv_by_hand() {
        // BG/NBD r=2, α=10, a=2, b=1 (closed form E[X(t)] = 2t/(10+t), days);
        // Gamma-Gamma p=1, q=2, γ=10 (population mean 10 per purchase); new customer
        // (x=0, T=0); 2 months of 30 days at 10 % a month:
        //   month 1: E[Y(30)] − E[Y(0)]  = 1.5                → 1.5·10/1.1        = 13.6363636
        //   month 2: E[Y(60)] − E[Y(30)] = 120/70 − 1.5 = 0.2142857 → ·10/1.21 = 1.7709563
        //   CLV = 15.4073200
        let bg = BgNbdParams::new(2.0, 10.0, 2.0, 1.0).unwrap();
        let gg = GammaGammaParams::new(1.0, 2.0, 10.0).unwrap();
        let horizon = ClvHorizon::days(2, 0.1);
        let clv = customer_lifetime_value(&bg, &gg, 0.0, 0.0, 0.0, 0.0, &horizon).unwrap();
        assert!((clv - 15.407319952774497).abs() < 1e-12, "{clv}");
        // Same through discounted_clv with the value per purchase given directly.
        let clv2 = discounted_clv(&bg, 0.0, 0.0, 0.0, 10.0, &horizon).unwrap();
        assert!((clv - clv2).abs() < 1e-12);
        // Zero months: 0. Bad discount rate: error.
        assert_eq!(
            discounted_clv(&bg, 0.0, 0.0, 0.0, 10.0, &ClvHorizon::days(0, 0.1)).unwrap(),
            0.0
        );
        assert!(discounted_clv(&bg, 0.0, 0.0, 0.0, 10.0, &ClvHorizon::days(2, -1.0)).is_err());
        assert!(discounted_clv(&bg, 0.0, 0.0, 0.0, f64::NAN, &horizon).is_err());
    }

    // ---- bad input and non-convergence -----------------------------------------------

    #[test]
    fn bad_input_is_an_error() {
        let o = FitOptions::default();
        assert!(matches!(
            fit_bgnbd(&[], &[], &[], None, &o),
            Err(ClvError::Empty(_))
        ));
        assert!(matches!(
            fit_bgnbd(&[1.0], &[2.0], &[3.0], None, &o),
            Err(ClvError::TooFewCustomers(_))
        ));
        assert!(matches!(
            fit_bgnbd(&[1.0, 2.0], &[2.0], &[3.0, 4.0], None, &o),
            Err(ClvError::LengthMismatch(_))
        ));
        let bad_row = |f: f64, r: f64, t: f64| {
            matches!(
                fit_bgnbd(&[1.0, f], &[1.0, r], &[2.0, t], None, &o),
                Err(ClvError::InvalidRow { row: 1, .. })
            )
        };
        assert!(bad_row(1.0, 5.0, 4.0)); // recency > T
        assert!(bad_row(-1.0, 0.0, 4.0)); // negative frequency
        assert!(bad_row(1.5, 1.0, 4.0)); // non-integer frequency
        assert!(bad_row(1.0, -1.0, 4.0)); // negative recency
        assert!(bad_row(0.0, 1.0, 4.0)); // frequency 0 with recency > 0
        assert!(bad_row(1.0, f64::NAN, 4.0)); // NaN
        assert!(bad_row(1.0, 1.0, f64::INFINITY)); // infinite T
        // frequency > 0 with recency 0 is allowed (lifetimes' rules).
        assert!(
            fit_bgnbd(
                &[1.0, 1.0, 0.0],
                &[0.0, 1.0, 0.0],
                &[2.0, 3.0, 4.0],
                None,
                &o
            )
            .is_ok()
        );
        // Weights: wrong length, negative, and total below 2.
        assert!(matches!(
            fit_bgnbd(&[1.0, 1.0], &[1.0, 1.0], &[2.0, 2.0], Some(&[1.0]), &o),
            Err(ClvError::LengthMismatch(_))
        ));
        assert!(matches!(
            fit_bgnbd(
                &[1.0, 1.0],
                &[1.0, 1.0],
                &[2.0, 2.0],
                Some(&[1.0, -1.0]),
                &o
            ),
            Err(ClvError::InvalidRow { row: 1, .. })
        ));
        assert!(matches!(
            fit_bgnbd(&[1.0, 1.0], &[1.0, 1.0], &[2.0, 2.0], Some(&[0.5, 0.5]), &o),
            Err(ClvError::TooFewCustomers(_))
        ));
        // Options.
        let neg = FitOptions {
            penalizer_coef: -1.0,
            ..o
        };
        assert!(matches!(
            fit_bgnbd(&[1.0, 1.0], &[1.0, 1.0], &[2.0, 2.0], None, &neg),
            Err(ClvError::InvalidArgument(_))
        ));
        // Gamma-Gamma: no repeat buyers, only one, zero spend.
        assert!(matches!(
            fit_gamma_gamma(&[0.0, 0.0], &[0.0, 0.0], None, &o),
            Err(ClvError::Empty(_))
        ));
        assert!(matches!(
            fit_gamma_gamma(&[0.0, 2.0], &[0.0, 10.0], None, &o),
            Err(ClvError::TooFewCustomers(_))
        ));
        assert!(matches!(
            fit_gamma_gamma(&[1.0, 2.0], &[0.0, 10.0], None, &o),
            Err(ClvError::InvalidRow { row: 0, .. })
        ));
        assert!(matches!(
            fit_gamma_gamma(&[1.0, 2.5], &[5.0, 10.0], None, &o),
            Err(ClvError::InvalidRow { row: 1, .. })
        ));
        // Predictions.
        let p = PAPER_BGNBD;
        assert!(matches!(
            p.probability_alive(2.0, 40.0, 38.0),
            Err(ClvError::InvalidCustomer(_))
        ));
        assert!(matches!(
            p.conditional_expected_purchases(-1.0, 2.0, 30.0, 38.0),
            Err(ClvError::InvalidArgument(_))
        ));
        assert!(matches!(
            p.conditional_expected_purchases(f64::NAN, 2.0, 30.0, 38.0),
            Err(ClvError::InvalidArgument(_))
        ));
        assert!(matches!(
            BgNbdParams::new(0.0, 1.0, 1.0, 1.0),
            Err(ClvError::InvalidParams(_))
        ));
        assert!(matches!(
            BgNbdParams::new(f64::NAN, 1.0, 1.0, 1.0),
            Err(ClvError::InvalidParams(_))
        ));
        let literal = BgNbdParams {
            r: -1.0,
            ..PAPER_BGNBD
        };
        assert!(matches!(
            literal.expected_purchases(1.0),
            Err(ClvError::InvalidParams(_))
        ));
        assert!(matches!(
            GammaGammaParams::new(1.0, f64::INFINITY, 1.0),
            Err(ClvError::InvalidParams(_))
        ));
    }

    #[test]
    fn iteration_cap_gives_converged_false() {
        let rows = read_cdnow(CDNOW_SUMMARY);
        let options = FitOptions {
            max_iters: 5,
            ..FitOptions::default()
        };
        let fit = fit_bgnbd(
            &column(&rows, 0),
            &column(&rows, 1),
            &column(&rows, 2),
            None,
            &options,
        )
        .unwrap();
        assert!(!fit.converged);
        assert!(
            fit.reason.as_deref().unwrap().contains("iteration cap"),
            "{:?}",
            fit.reason
        );
        assert!(fit.iterations <= 5);
        assert!(fit.log_likelihood.is_finite());
    }

    #[test]
    fn degenerate_data_gives_converged_false_not_nan() {
        // Nobody ever buys again: the likelihood increases without bound as r/α -> 0.
        let n = 50;
        let zeros = vec![0.0; n];
        let ages: Vec<f64> = (0..n).map(|i| 10.0 + i as f64).collect();
        let fit = fit_bgnbd(&zeros, &zeros, &ages, None, &FitOptions::default()).unwrap();
        eprintln!("{fit:?}");
        assert!(!fit.converged);
        assert!(fit.reason.is_some());
        // Everyone buys exactly the same amount each time: Gamma-Gamma variance -> 0.
        let fit = fit_gamma_gamma(
            &[1.0, 2.0, 3.0, 4.0],
            &[10.0; 4],
            None,
            &FitOptions::default(),
        )
        .unwrap();
        eprintln!("{fit:?}");
        assert!(!fit.converged);
        assert!(fit.reason.is_some());
    }
}
