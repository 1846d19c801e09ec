//! journey-algorithms: the pure cores behind journey-report's SQL functions.
//!
//! Plain Rust over slices, integers and `f64`: no Arrow, no DataFusion, no async. The SQL
//! wrappers in the `journey-report` crate evaluate their arguments, feed these functions and
//! turn the results back into Arrow arrays; everything a report number depends on is decided
//! here, and tested here against published values and hand-derived examples.
//!
//! Modules:
//!
//! - [`funnel`]: ClickHouse's `windowFunnel` (every mode) and `retention` aggregates, as
//!   per-group states and their results;
//! - [`attribution`]: data-driven multi-touch attribution over customer-journey paths: Markov
//!   chain removal effects (exact absorbing-chain solve) and Shapley values (enumeration,
//!   closed form, sampling);
//! - [`clv`]: probabilistic customer lifetime value: BG/NBD and Gamma-Gamma models, their
//!   maximum-likelihood fits and discounted CLV.
#![warn(missing_docs)]

pub mod attribution;
pub mod clv;
pub mod funnel;
