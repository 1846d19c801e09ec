//! The engine: one DataFusion session ([`session`]), the memory budget every consumer asks,
//! and the SQL models ([`models`]): found, parsed, ordered by what they read, and run.
//!
//! May import: `error`, `logging`, `functions`, `project`, `sources`. Knows nothing of
//! pages, e-mail or the journey-specific checks: what happens to a finished model's result
//! (its data file) is the caller's callback.

pub mod memory;
pub mod models;
pub mod session;
