//! Special functions of the BG/NBD formulas: ln B(a, b) and the Gauss hypergeometric
//! function ₂F₁(a, b; c; z).
//!
//! ln B is `statrs`'s (`statrs::function::beta`, the same ln Γ(a) + ln Γ(b) − ln Γ(a + b)
//! the BG/NBD likelihood of Fader, Hardie & Lee 2005, eq. (6), is written with).
//!
//! ₂F₁ stays our own power series ([`hyp2f1`]): `statrs` has no hypergeometric function; the
//! `GSL` crate binds the C library (a system dependency, not pure Rust); and the general
//! numerics crates that have one (e.g. `mathru`'s `f21`) would bring a whole linear-algebra
//! stack for one series, without the accuracy checks and the [`ClvError::Hypergeometric`]
//! error this one reports. The BG/NBD formulas call it only after an Euler transformation
//! that keeps its parameters small (see `BgNbdParams::conditional_expected_purchases`).

use statrs::function::beta::checked_ln_beta;

use super::ClvError;

/// Natural log of the Beta function, ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b), for
/// a, b > 0 (`statrs::function::beta::checked_ln_beta`, which computes exactly that sum).
///
/// Outside the domain (a or b ≤ 0, reachable only when a fit's `exp(ln θ)` underflows to 0)
/// statrs returns an error where the plain formula gave ∞ and then NaN in the likelihood;
/// this returns NaN, so the likelihood is NaN as before (the optimiser treats it as +∞) and
/// nothing panics.
pub(super) fn ln_beta(a: f64, b: f64) -> f64 {
    checked_ln_beta(a, b).unwrap_or(f64::NAN)
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
#[cfg(test)]
mod tests {
    use super::*;

    /// ln B from statrs is the ln Γ sum the likelihood used before, to the last bit, over the
    /// range the fits visit (parameters e^-18 … e^9, b + x up to frequency 200).
    #[test]
    fn ln_beta_is_the_ln_gamma_sum() {
        use statrs::function::gamma::ln_gamma;
        let grid: Vec<f64> = (-36..=18).map(|k| (f64::from(k) * 0.5).exp()).collect();
        for &a in &grid {
            for &b in &grid {
                for x in [0.0, 1.0, 2.0, 7.0, 200.0] {
                    // The removed hand-written ln_beta(a, b + x), term for term.
                    let bx = b + x;
                    let own = ln_gamma(a) + ln_gamma(bx) - ln_gamma(a + bx);
                    assert_eq!(ln_beta(a, bx).to_bits(), own.to_bits(), "a={a} b={b} x={x}");
                }
            }
        }
        // Outside the domain: NaN (the old formula's inf - inf in the likelihood), no panic.
        assert!(ln_beta(0.0, 1.0).is_nan());
        assert!(ln_beta(1.0, 0.0).is_nan());
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
}
