//! The Gamma-Gamma spend model (Fader & Hardie 2013, "The Gamma-Gamma Model of Monetary
//! Value", brucehardie.com note 025; equation numbers refer to the note; Fader, Hardie & Lee
//! 2005, *Journal of Marketing Research* 42(4)): parameters, expected spend and
//! log-likelihood, as `lifetimes.GammaGammaFitter`.

use statrs::function::gamma::ln_gamma;

use super::ClvError;
use super::input::check_positive;

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

    /// Population mean spend per transaction, E\[M\] = p·γ/(q−1) (the mean of the
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

/// One row of the Gamma-Gamma log-likelihood (no input checks).
pub(super) fn gg_ll_row(g: &GammaGammaParams, x: f64, m: f64) -> f64 {
    let GammaGammaParams { p, q, v } = *g;
    let px = p * x;
    ln_gamma(px + q) - ln_gamma(px) - ln_gamma(q) + q * v.ln() + (px - 1.0) * m.ln() + px * x.ln()
        - (px + q) * (x * m + v).ln()
}
#[cfg(test)]
mod tests {
    use super::*;
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
}
