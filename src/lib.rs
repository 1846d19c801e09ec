//! journey-report: customer-journey analytics reports from CRM, web-event and order exports.
//!
//! The binary calls [`cli::main`]; everything else is a library so tests and other tools can
//! drive it. The rooms, from the bottom floor up; a room imports only from rooms below it
//! (`ARCHITECTURE.md` draws the plan):
//!
//! 1. [`error`] and [`logging`]: the error type with its exit codes, the one conversion of
//!    DataFusion errors, and the log lines;
//! 2. [`functions`]: our SQL functions, one file per family, one `register_all`;
//! 3. [`project`]: `journey.toml` and its typed parameters;
//! 4. [`sources`]: exports (CSV, Parquet) → typed tables, with bad values located;
//! 5. [`engine`]: the DataFusion session, the memory budget, the model graph and the runner
//!    of `sql/**/*.sql`;
//! 6. [`journey`]: what is specific to customer journeys around the generic runner: default
//!    parameters, the funnel-stage table, the stage-event and freshness checks;
//! 7. [`report`]: pages (Tera, with the charts of `journey-charts`), e-mail and its delivery,
//!    data files, manifest and the atomic output folder;
//! 8. [`cli`]: the command line and its commands;
//!
//! and, apart, [`sample`]: the synthetic export generator. The pure cores of the funnel,
//! attribution and CLV functions live in the `journey-algorithms` crate, the charts in
//! `journey-charts`: neither depends on Arrow or DataFusion.
#![warn(missing_docs)]

pub mod cli;
pub mod engine;
pub mod error;
pub mod functions;
pub mod journey;
pub mod logging;
pub mod project;
pub mod report;
pub mod sample;
pub mod sources;

pub use error::{Error, ErrorKind, Result};
