//! The `window_funnel(window, mode…)` parameters: ClickHouse's mode names ([`FunnelMode`]), the
//! window and mode set ([`FunnelOptions`]) and their validation, and the packing of
//! per-condition booleans into an event mask ([`conditions_mask`]).

use std::fmt;

use super::{FunnelError, MAX_FUNNEL_STAGES};

/// One `window_funnel` mode, as named in ClickHouse's `windowFunnel(window,
/// mode, …)`. Modes combine; [`FunnelOptions`] holds the set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FunnelMode {
    /// `'strict_deduplication'` (old name `'strict'`): a repeated stage stops
    /// the scan (see the module docs).
    StrictDeduplication,
    /// `'strict_order'`: no other event may come between two stages.
    StrictOrder,
    /// `'strict_increase'`: stages need strictly increasing timestamps.
    StrictIncrease,
    /// `'strict_once'`: one row counts for at most one stage of a chain.
    StrictOnce,
    /// `'allow_reentry'`: with `strict_order`, skip out-of-order stages
    /// instead of stopping.
    AllowReentry,
}

impl FunnelMode {
    /// All modes, in ClickHouse's documentation order.
    pub const ALL: [FunnelMode; 5] = [
        FunnelMode::StrictDeduplication,
        FunnelMode::StrictOrder,
        FunnelMode::StrictIncrease,
        FunnelMode::StrictOnce,
        FunnelMode::AllowReentry,
    ];

    /// Parses a mode name exactly as ClickHouse spells it (case-sensitive).
    /// `"strict"` is accepted as the old name of `strict_deduplication`.
    ///
    /// # Errors
    /// [`FunnelError::UnknownMode`] for any other string.
    pub fn parse(name: &str) -> Result<Self, FunnelError> {
        Ok(match name {
            "strict_deduplication" | "strict" => FunnelMode::StrictDeduplication,
            "strict_order" => FunnelMode::StrictOrder,
            "strict_increase" => FunnelMode::StrictIncrease,
            "strict_once" => FunnelMode::StrictOnce,
            "allow_reentry" => FunnelMode::AllowReentry,
            other => return Err(FunnelError::UnknownMode(other.to_string())),
        })
    }

    /// The mode's canonical ClickHouse name, e.g. `"strict_order"`.
    pub fn name(self) -> &'static str {
        match self {
            FunnelMode::StrictDeduplication => "strict_deduplication",
            FunnelMode::StrictOrder => "strict_order",
            FunnelMode::StrictIncrease => "strict_increase",
            FunnelMode::StrictOnce => "strict_once",
            FunnelMode::AllowReentry => "allow_reentry",
        }
    }
}

impl fmt::Display for FunnelMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Parameters of one `window_funnel(window, mode…)` call: the window (in the
/// timestamp's unit, inclusive, measured from the chain's stage-1 event) and
/// the set of modes. See the module docs for what each mode does.
///
/// Build it with [`FunnelOptions::parse_modes`] (validating) or by setting the
/// public fields directly (then call [`FunnelOptions::validate`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FunnelOptions {
    /// Window length in timestamp units; an event at exactly
    /// `first + window` still counts. Must be `>= 0`.
    pub window: i64,
    /// Mode `strict_deduplication` (old name `strict`).
    pub strict_deduplication: bool,
    /// Mode `strict_order`.
    pub strict_order: bool,
    /// Mode `strict_increase`.
    pub strict_increase: bool,
    /// Mode `strict_once`.
    pub strict_once: bool,
    /// Mode `allow_reentry` (requires `strict_order`).
    pub allow_reentry: bool,
}

impl FunnelOptions {
    /// Default mode (no flags) with the given window.
    ///
    /// # Errors
    /// [`FunnelError::NegativeWindow`] if `window < 0`.
    pub fn new(window: i64) -> Result<Self, FunnelError> {
        let opts = FunnelOptions {
            window,
            ..FunnelOptions::default()
        };
        opts.validate()?;
        Ok(opts)
    }

    /// Builds options from the window and ClickHouse mode strings, e.g.
    /// `parse_modes(3600, &["strict_order", "allow_reentry"])`. Repeated modes
    /// are harmless.
    ///
    /// # Errors
    /// [`FunnelError::UnknownMode`] for an unknown name,
    /// [`FunnelError::NegativeWindow`] if `window < 0`,
    /// [`FunnelError::AllowReentryWithoutStrictOrder`] if `allow_reentry` is
    /// given without `strict_order`.
    pub fn parse_modes(window: i64, modes: &[&str]) -> Result<Self, FunnelError> {
        let parsed = modes
            .iter()
            .map(|m| FunnelMode::parse(m))
            .collect::<Result<Vec<_>, _>>()?;
        Self::from_modes(window, &parsed)
    }

    /// Like [`FunnelOptions::parse_modes`] but with already-parsed modes.
    ///
    /// # Errors
    /// As [`FunnelOptions::validate`].
    pub fn from_modes(window: i64, modes: &[FunnelMode]) -> Result<Self, FunnelError> {
        let mut opts = FunnelOptions {
            window,
            ..FunnelOptions::default()
        };
        for &m in modes {
            opts.set_mode(m);
        }
        opts.validate()?;
        Ok(opts)
    }

    /// Turns one mode on (no validation; call [`FunnelOptions::validate`]).
    pub fn set_mode(&mut self, mode: FunnelMode) {
        match mode {
            FunnelMode::StrictDeduplication => self.strict_deduplication = true,
            FunnelMode::StrictOrder => self.strict_order = true,
            FunnelMode::StrictIncrease => self.strict_increase = true,
            FunnelMode::StrictOnce => self.strict_once = true,
            FunnelMode::AllowReentry => self.allow_reentry = true,
        }
    }

    /// The modes that are on, in [`FunnelMode::ALL`] order.
    pub fn modes(&self) -> Vec<FunnelMode> {
        FunnelMode::ALL
            .into_iter()
            .filter(|m| match m {
                FunnelMode::StrictDeduplication => self.strict_deduplication,
                FunnelMode::StrictOrder => self.strict_order,
                FunnelMode::StrictIncrease => self.strict_increase,
                FunnelMode::StrictOnce => self.strict_once,
                FunnelMode::AllowReentry => self.allow_reentry,
            })
            .collect()
    }

    /// Checks the options.
    ///
    /// # Errors
    /// [`FunnelError::NegativeWindow`] if `window < 0`;
    /// [`FunnelError::AllowReentryWithoutStrictOrder`] if `allow_reentry` is
    /// on without `strict_order`.
    pub fn validate(&self) -> Result<(), FunnelError> {
        if self.window < 0 {
            return Err(FunnelError::NegativeWindow(self.window));
        }
        if self.allow_reentry && !self.strict_order {
            return Err(FunnelError::AllowReentryWithoutStrictOrder);
        }
        Ok(())
    }

    /// Checks a `window_funnel` condition count: 1 to [`MAX_FUNNEL_STAGES`]
    /// (32), as in ClickHouse.
    ///
    /// # Errors
    /// [`FunnelError::ConditionCount`] otherwise.
    pub fn check_stages(stages: usize) -> Result<(), FunnelError> {
        if (1..=MAX_FUNNEL_STAGES).contains(&stages) {
            Ok(())
        } else {
            Err(FunnelError::ConditionCount {
                function: "window_funnel",
                given: stages,
                max: MAX_FUNNEL_STAGES,
            })
        }
    }

    /// Whether rows that satisfy no condition (mask `0`) influence the result.
    /// True only with `strict_order`; otherwise a wrapper may skip such rows
    /// instead of pushing them (pushing them is harmless, just wasted memory).
    pub fn needs_unmatched_events(&self) -> bool {
        self.strict_order
    }
}

/// Packs per-condition booleans into a mask: bit `k` is `conds[k]`
/// (`cond1` = bit 0).
///
/// # Panics
/// If `conds.len() > 32`; validate the condition count first with
/// [`FunnelOptions::check_stages`] or
/// [`check_retention_conditions`](super::check_retention_conditions).
pub fn conditions_mask(conds: &[bool]) -> u32 {
    assert!(
        conds.len() <= 32,
        "at most 32 conditions fit in a mask, got {}",
        conds.len()
    );
    conds
        .iter()
        .enumerate()
        .fold(0u32, |m, (k, &c)| if c { m | (1 << k) } else { m })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::funnel::test_support::opts;

    #[test]
    fn option_parsing_and_errors() {
        let o = FunnelOptions::parse_modes(60, &["strict_order", "allow_reentry", "strict_once"])
            .unwrap();
        assert!(o.strict_order && o.allow_reentry && o.strict_once && !o.strict_increase);
        assert_eq!(
            o.modes(),
            vec![
                FunnelMode::StrictOrder,
                FunnelMode::StrictOnce,
                FunnelMode::AllowReentry
            ]
        );
        assert!(o.needs_unmatched_events());
        assert_eq!(FunnelOptions::new(5).unwrap(), opts(5, &[]));
        assert_eq!(
            FunnelMode::parse("strict").unwrap(),
            FunnelMode::StrictDeduplication
        );
        assert_eq!(FunnelMode::StrictIncrease.to_string(), "strict_increase");

        let e = FunnelOptions::parse_modes(60, &["Strict_Order"]).unwrap_err();
        assert_eq!(e, FunnelError::UnknownMode("Strict_Order".into()));
        assert!(e.to_string().contains("unknown mode 'Strict_Order'"));
        assert_eq!(
            FunnelOptions::new(-1).unwrap_err(),
            FunnelError::NegativeWindow(-1)
        );
        assert_eq!(
            FunnelOptions::parse_modes(60, &["allow_reentry"]).unwrap_err(),
            FunnelError::AllowReentryWithoutStrictOrder
        );
        assert!(FunnelOptions::check_stages(1).is_ok());
        assert!(FunnelOptions::check_stages(32).is_ok());
        let e = FunnelOptions::check_stages(33).unwrap_err();
        assert_eq!(
            e.to_string(),
            "window_funnel: got 33 conditions, but between 1 and 32 are supported"
        );
        assert!(FunnelOptions::check_stages(0).is_err());
    }
}
