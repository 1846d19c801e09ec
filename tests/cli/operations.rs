//! Operations: logs a scheduler can use, signals, the atomic swap, leftovers, --report, the scheduling examples.

#[allow(unused_imports)]
use super::*;
