//! Input validation shared by the CLV predictions and fits: the input rules of the Python
//! package `lifetimes` (module docs of [`crate::clv`]) for one customer's (frequency, recency,
//! age), horizons, positive parameters and row weights.

use super::ClvError;

/// Checks one customer's (frequency, recency, age) against the `lifetimes` input rules;
/// returns the rule that is broken.
pub(super) fn check_rfm(frequency: f64, recency: f64, age: f64) -> Result<(), String> {
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

pub(super) fn check_customer(frequency: f64, recency: f64, age: f64) -> Result<(), ClvError> {
    check_rfm(frequency, recency, age).map_err(ClvError::InvalidCustomer)
}

pub(super) fn check_horizon(t: f64) -> Result<(), ClvError> {
    if !t.is_finite() || t < 0.0 {
        return Err(ClvError::InvalidArgument(format!(
            "horizon t must be finite and >= 0 (got {t})"
        )));
    }
    Ok(())
}

pub(super) fn check_positive(name: &str, value: f64) -> Result<(), ClvError> {
    if !(value.is_finite() && value > 0.0) {
        return Err(ClvError::InvalidParams(format!(
            "{name} must be finite and > 0 (got {value})"
        )));
    }
    Ok(())
}

/// Validates optional row weights and returns them (all 1.0 when absent) with their sum.
pub(super) fn resolve_weights(n: usize, weights: Option<&[f64]>) -> Result<Vec<f64>, ClvError> {
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
