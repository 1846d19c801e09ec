//! journey-report: customer-journey analytics reports from CRM, web-event and order exports.
//!
//! The binary calls [`cli::main`]; everything else is a library so tests and other tools can
//! drive it. Modules, in the order data flows:
//!
//! - [`config`]: `journey.toml`;
//! - [`session`]: the one DataFusion session builder; [`functions`]: our SQL functions;
//! - [`sources`]: exports → typed tables; [`models`]: `sql/*.sql` ordered and run;
//!   [`data_files`]: the defined row order of their data files;
//! - [`render`] and [`charts`]: Tera pages with inline SVG charts ([`bitmap_text`]: their
//!   text in the e-mails' PNGs); [`app`]: the commands;
//! - [`email`]: the e-mail form of the pages; [`delivery`]: sending it, once per message;
//! - [`output`]: the report folder's lock, scratch, stop and atomic swap; [`logging`]: logs
//!   and the final status event;
//! - [`sample`]: the synthetic export generator.
#![warn(missing_docs)]

pub mod app;
pub mod arg_min_exec;
pub mod bitmap_text;
pub mod charts;
pub mod cli;
pub mod config;
pub mod data_files;
pub mod delivery;
pub mod email;
pub mod error;
pub mod freshness;
pub mod functions;
pub mod logging;
pub mod models;
pub mod output;
pub mod render;
pub mod sample;
pub mod session;
pub mod sources;
pub mod sql_arg_min;
pub mod sql_attribution;
pub mod sql_clv;
pub mod sql_funnel;
pub mod sql_path_agg;

pub use error::{Error, ErrorKind, Result};
