//! The BG/NBD purchase model (Fader, Hardie & Lee 2005, "Counting Your Customers the Easy
//! Way", *Marketing Science* 24(2); equation numbers refer to that paper): parameters,
//! log-likelihood, P(alive) and expected purchases, with the formulas of the Python package
//! `lifetimes` (`BetaGeoFitter`).

use statrs::function::gamma::ln_gamma;

use super::ClvError;
use super::input::{check_customer, check_horizon, check_positive};
use super::special::{hyp2f1, ln_beta};

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
pub(super) fn bgnbd_ll_row(p: &BgNbdParams, x: f64, t_x: f64, age: f64) -> f64 {
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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::test_support::*;
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
}
