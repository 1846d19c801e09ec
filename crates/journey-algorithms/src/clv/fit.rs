//! Maximum-likelihood fitting of the BG/NBD (paper eq. (6)) and Gamma-Gamma (note eq. (1a))
//! models, as `lifetimes`' `BetaGeoFitter` and `GammaGammaFitter` do: options, the result
//! type and the two fit functions.

use statrs::function::gamma::ln_gamma;

use super::bgnbd::bgnbd_ll_row;
use super::gamma_gamma::gg_ll_row;
use super::input::{check_rfm, resolve_weights};
use super::optimise::{finish, minimise};
use super::special::ln_beta;
use super::{BgNbdParams, ClvError, GammaGammaParams};

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

#[cfg(test)]
mod tests;
