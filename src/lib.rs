//! journey-report: customer-journey analytics reports from CRM, web-event and order exports.
//!
//! The binary calls [`cli::main`]; everything else is a library so tests and other tools can
//! drive it. Public is only what another crate uses: [`cli::main`], the [`engine`] (the
//! SQL-level tests build its session) and the types its functions take and return; the rest
//! is `pub(crate)`. The rooms, from the bottom floor up; a room imports only from rooms below
//! it (`ARCHITECTURE.md` draws the plan):
//!
//! 1. [`error`] and `logging`: the error type with its exit codes, the one conversion of
//!    DataFusion errors, and the log lines;
//! 2. `functions`: our SQL functions, one file per family, one `register_all`;
//! 3. [`project`]: `journey.toml` and its typed parameters;
//! 4. [`sources`]: exports (CSV, Parquet) → typed tables, with bad values located;
//! 5. [`engine`]: the DataFusion session, the memory budget, the model graph and the runner
//!    of `sql/**/*.sql`;
//! 6. `journey`: what is specific to customer journeys around the generic runner: default
//!    parameters, the funnel-stage table, the stage-event and freshness checks;
//! 7. `report`: pages (Tera, with the charts of `journey-charts`), e-mail and its delivery,
//!    data files, manifest and the atomic output folder;
//! 8. [`cli`]: the command line and its commands;
//!
//! and, apart, `sample`: the synthetic export generator. The pure cores of the funnel,
//! attribution and CLV functions live in the `journey-algorithms` crate, the charts in
//! `journey-charts`: neither depends on Arrow or DataFusion.
#![warn(missing_docs)]

pub mod cli;
pub mod engine;
pub mod error;
pub(crate) mod functions;
pub(crate) mod journey;
pub(crate) mod logging;
pub mod project;
pub(crate) mod report;
pub(crate) mod sample;
pub mod sources;

pub(crate) use error::{Error, Result};
