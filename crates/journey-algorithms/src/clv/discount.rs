//! Discounted CLV over a horizon of months, with the semantics of
//! `lifetimes.GammaGammaFitter.customer_lifetime_value` (the cash-flow loop of
//! `lifetimes.utils._customer_lifetime_value`).

use super::{BgNbdParams, ClvError, GammaGammaParams};

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
#[cfg(test)]
mod tests {
    use super::*;
    use crate::clv::test_support::*;
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
}
