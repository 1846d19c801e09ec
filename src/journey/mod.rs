//! What is specific to customer journeys, kept apart from the generic runner in `engine`:
//! the freshness and coverage check of the sources ([`freshness`]).
//!
//! May import: `error`, `logging`, `functions`, `project`, `sources`, `engine`.

pub(crate) mod freshness;
pub(crate) mod params;
pub(crate) mod stages;
