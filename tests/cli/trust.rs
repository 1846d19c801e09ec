//! Trust: freshness and coverage, degraded analyses, check catching what run would fail on.

#[allow(unused_imports)]
use super::*;
