//! E-mail and delivery: readable PNG charts, the digest, links, Message-ID, idempotent sending.

#[allow(unused_imports)]
use super::*;
