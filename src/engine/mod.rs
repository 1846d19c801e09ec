//! The engine: one DataFusion session ([`session`]), the memory budget every consumer asks
//! (`memory`), and the SQL models: found and parsed (`model`), ordered by what they read
//! (`graph`), and run (`runner`).
//!
//! May import: `error`, `logging`, `functions`, `project`, `sources`. Knows nothing of
//! pages, e-mail or the journey-specific checks: what happens to a finished model's result
//! (its data file) is the caller's callback.

pub(crate) mod graph;
pub(crate) mod memory;
pub(crate) mod model;
pub(crate) mod runner;
pub mod session;
