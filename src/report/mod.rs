//! The report: what a run leaves for people to read.
//!
//! - [`pages`]: the Tera pages with their inline SVG charts;
//! - [`email`]: the e-mail form of the pages (PNG charts) and [`delivery`]: sending it, once
//!   per message;
//! - [`data_files`]: the data files' defined row order;
//! - [`pii`]: personal data in pages, e-mails and data files (mask, hash, keep), and CSV
//!   cells that would run as formulas;
//! - [`output`]: the report folder's lock, scratch folder, stop flag and atomic swap.
//!
//! May import every room below it: `error`, `logging`, `functions`, `project`, `sources`,
//! `engine`, `journey`; never `cli`.

pub(crate) mod context;
pub(crate) mod data_files;
pub(crate) mod delivery;
pub(crate) mod email;
pub(crate) mod manifest;
pub(crate) mod output;
pub(crate) mod pages;
pub(crate) mod pii;
