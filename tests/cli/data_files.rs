//! Data files: byte-identical re-runs, a defined row order, errors blamed on their real cause.

#[allow(unused_imports)]
use super::*;
