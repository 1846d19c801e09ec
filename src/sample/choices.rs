//! The random choices inside a session: its event names (the funnel stages and the browsing
//! around them), a returning visit's channel, a session's campaign, and the weighted-pick and
//! Poisson draws they use.

use chrono::{Datelike, NaiveDate};
use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Poisson};

use super::vocabulary::*;

/// Event names of one session, in order, at most [`MAX_SESSION_EVENTS`].
pub(super) fn build_session(
    rng: &mut ChaCha8Rng,
    channel: u8,
    f: f64,
    cprop: f64,
    signup: bool,
    visit: usize,
    names: &mut Vec<u8>,
) {
    let p = |x: f64| x.clamp(0.0, 0.95);
    names.clear();
    if channel == EMAIL && rng.random_bool(0.5) {
        names.push(NEWSLETTER_OPEN);
    }
    names.push(PAGE_VIEW);
    if signup {
        if rng.random_bool(0.4) {
            names.push(PAGE_VIEW);
        }
        names.push(SIGNUP);
    }
    // Returning visitors search a bit more.
    if rng.random_bool(if visit > 2 { 0.22 } else { 0.15 }) {
        names.push(SEARCH);
    }
    if rng.random_bool(p(PRODUCT_VIEW_RATE * f)) {
        let mut n = 1;
        while n < 6 && rng.random_bool(0.55) {
            n += 1;
        }
        for i in 0..n {
            if i > 0 && rng.random_bool(0.15) {
                names.push(if rng.random_bool(0.5) {
                    SEARCH
                } else {
                    PAGE_VIEW
                });
            }
            names.push(PRODUCT_VIEW);
        }
        if rng.random_bool(p(ADD_TO_CART_RATE * f * cprop)) {
            names.push(ADD_TO_CART);
            if rng.random_bool(0.2) {
                names.push(PRODUCT_VIEW);
                names.push(ADD_TO_CART);
            }
            if rng.random_bool(p(CHECKOUT_RATE * f)) {
                names.push(CHECKOUT_START);
                if rng.random_bool(p(PURCHASE_RATE * f)) {
                    names.push(PURCHASE);
                }
            }
        }
    } else if rng.random_bool(0.35) {
        names.push(PAGE_VIEW);
        if rng.random_bool(0.4) {
            names.push(PAGE_VIEW);
        }
    }
    while names.len() > MAX_SESSION_EVENTS {
        // Drop browsing noise first, then surplus product views; the funnel stages stay.
        let first_pv = names.iter().position(|&n| n == PAGE_VIEW).unwrap_or(0);
        if let Some(i) = names
            .iter()
            .rposition(|&n| n == SEARCH || n == PAGE_VIEW)
            .filter(|&i| i > first_pv)
        {
            names.remove(i);
        } else if let Some(i) =
            (0..names.len() - 1).find(|&i| names[i] == PRODUCT_VIEW && names[i + 1] == PRODUCT_VIEW)
        {
            names.remove(i);
        } else {
            names.truncate(MAX_SESSION_EVENTS);
        }
    }
}

/// Channel of a returning visit (`k` = 0 for the first visit after the signup session).
pub(super) fn session_channel(rng: &mut ChaCha8Rng, acq: u8, prev: u8, k: usize) -> u8 {
    if matches!(prev, SOCIAL | DISPLAY) && rng.random_bool(0.35) {
        // Saw an ad, then searched for the shop or typed its address.
        return [PAID, DIRECT, ORGANIC][pick(rng, &[0.45, 0.3, 0.25])];
    }
    if rng.random_bool(0.4) {
        return acq;
    }
    let mut w = SESSION_CHANNEL_W;
    w[DIRECT as usize] += 0.01 * k.min(15) as f64;
    pick(rng, &w) as u8
}

/// Campaign of a session on `channel` on `date`, `days_since_signup` after signup.
pub(super) fn campaign(
    rng: &mut ChaCha8Rng,
    channel: u8,
    date: NaiveDate,
    sale: Option<u16>,
    days_since_signup: i64,
) -> u16 {
    if matches!(channel, ORGANIC | DIRECT) {
        return C_NONE;
    }
    if channel != REFERRAL
        && let Some(c) = sale
        && rng.random_bool(0.35)
    {
        return c;
    }
    let r: f64 = rng.random();
    match channel {
        PAID => {
            if r < 0.45 {
                C_BRAND
            } else if r < 0.8 {
                C_GENERIC
            } else {
                C_SHOPPING
            }
        }
        EMAIL => {
            if (0..14).contains(&days_since_signup) && r < 0.7 {
                C_WELCOME
            } else {
                let r2: f64 = rng.random();
                if r2 < 0.65 {
                    C_NEWSLETTER_W01 + date.iso_week().week() as u16 - 1
                } else if r2 < 0.85 {
                    C_CART
                } else {
                    C_WINBACK
                }
            }
        }
        SOCIAL => {
            if r < 0.4 {
                C_LOOKALIKE
            } else if r < 0.75 {
                C_RETARGETING
            } else {
                C_INFLUENCER
            }
        }
        DISPLAY => {
            if r < 0.55 {
                C_RETARGETING
            } else {
                C_PROSPECTING
            }
        }
        REFERRAL => {
            if r < 0.4 {
                C_PARTNER_BLOG
            } else if r < 0.8 {
                C_COMPARISON
            } else {
                C_PRESS
            }
        }
        AFFILIATE => {
            if r < 0.45 {
                C_CASHBACK
            } else if r < 0.8 {
                C_VOUCHERS
            } else {
                C_PARTNER_NETWORK
            }
        }
        _ => C_NONE,
    }
}

/// Index drawn with the given (not necessarily normalised) weights.
pub(super) fn pick(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
    let total: f64 = w.iter().sum();
    let mut x = rng.random::<f64>() * total;
    for (i, &wi) in w.iter().enumerate() {
        if x < wi {
            return i;
        }
        x -= wi;
    }
    w.len() - 1
}

/// A Poisson draw with mean `mean` (0 for a mean that is not positive).
pub(super) fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean.is_nan() || mean <= 0.0 {
        return 0;
    }
    match Poisson::new(mean.min(1e12)) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
}
