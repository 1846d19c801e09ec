//! Generation: customer by customer, the CRM row, the session start times (active life, then
//! decay) and each session's events, handed to the [`Emitter`](super::output::Emitter) in time
//! order.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use rand::Rng;
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, LogNormal, Normal};

use super::choices::{build_session, campaign, pick, poisson, session_channel};
use super::event::Ev;
use super::format::{fmt_id, fmt_ts};
use super::output::{Emitter, fail};
use super::time_model::{World, date_of, sale_campaign};
use super::vocabulary::*;
use crate::Result;

/// Distributions and scratch buffers reused for every customer.
pub(super) struct Generator {
    rate: Gamma<f64>,
    cprop: LogNormal<f64>,
    spend_level: Normal<f64>,
    order_noise: Normal<f64>,
    gap: LogNormal<f64>,
    starts: Vec<i64>,
    names: Vec<u8>,
    offsets: Vec<i64>,
    text: String,
}

impl Generator {
    pub(super) fn new() -> Generator {
        Generator {
            rate: Gamma::new(SESSION_RATE_SHAPE, SESSION_RATE_MEAN / SESSION_RATE_SHAPE)
                .expect("valid Gamma parameters"),
            // Mean 1: exp(mu + sigma²/2) = 1.
            cprop: LogNormal::new(-0.18, 0.6).expect("valid LogNormal parameters"),
            spend_level: Normal::new(0.0, 0.5).expect("valid Normal parameters"),
            order_noise: Normal::new(0.0, 0.85).expect("valid Normal parameters"),
            gap: LogNormal::new(40f64.ln(), 0.8).expect("valid LogNormal parameters"),
            starts: Vec::with_capacity(256),
            names: Vec::with_capacity(32),
            offsets: Vec::with_capacity(32),
            text: String::with_capacity(128),
        }
    }

    /// Generates customer `no`: writes their CRM row (unless they are an orphan) and their
    /// events until the row target is reached. Returns whether a CRM row was written.
    pub(super) fn customer(
        &mut self,
        rng: &mut ChaCha8Rng,
        w: &World,
        em: &mut Emitter,
        customers: &mut csv::Writer<BufWriter<File>>,
        customers_path: &Path,
        no: u64,
    ) -> Result<bool> {
        // Orphans (ids missing from the CRM export) when their share falls behind.
        let orphan =
            em.orphan_rows as f64 + 1.0 <= ORPHAN_SHARE * em.rows as f64 && rng.random_bool(0.5);
        let (start, end) = (w.start, w.end);
        let t0 = if rng.random_bool(PRE_PERIOD_SIGNUPS) {
            let pre = w.pre_start;
            w.sample_time(rng, |r| r.random_range(pre..start))
        } else {
            let span = (end - start) as f64;
            w.sample_time(rng, |r| {
                let u: f64 = r.random();
                let g = SIGNUP_GROWTH;
                let x = ((1.0 + 2.0 * g * u * (1.0 + g / 2.0)).sqrt() - 1.0) / g;
                (start + (x * span) as i64).min(end - 1)
            })
        };
        let acq = pick(rng, &ACQUISITION_W) as u8;
        let device = pick(rng, &DEVICE_W) as u8;
        let country = COUNTRIES[pick(rng, &COUNTRY_W)];
        let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
        let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
        let nick = rng
            .random_bool(0.004)
            .then(|| NICKNAMES[rng.random_range(0..NICKNAMES.len())]);
        // "Smith, Jr.": a comma inside the name.
        let junior = rng.random_bool(0.008);
        let pattern = rng.random_range(0..4u8);
        let domain = EMAIL_DOMAINS[pick(rng, &[0.4, 0.25, 0.15, 0.12, 0.08])];
        if !orphan {
            let mut full_name = String::with_capacity(40);
            full_name.push_str(first);
            if let Some(n) = nick {
                let _ = write!(full_name, " \"{n}\"");
            }
            full_name.push(' ');
            full_name.push_str(last);
            if junior {
                full_name.push_str(", Jr.");
            }
            let t = &mut self.text;
            t.clear();
            match pattern {
                0 => {
                    ascii_slug(first, t);
                    t.push('.');
                    ascii_slug(last, t);
                }
                1 => {
                    ascii_slug(&first[..first.chars().next().map_or(0, char::len_utf8)], t);
                    ascii_slug(last, t);
                }
                2 => ascii_slug(first, t),
                _ => {
                    ascii_slug(last, t);
                    t.push('_');
                    ascii_slug(first, t);
                }
            }
            let _ = write!(t, "{no}@{domain}");
            let mut idb = [0u8; 24];
            let mut tsb = [0u8; 20];
            let row: [&[u8]; 6] = [
                fmt_id(&mut idb, b'C', 6, no),
                t.as_bytes(),
                full_name.as_bytes(),
                fmt_ts(&mut tsb, t0, false),
                CHANNELS[acq as usize].as_bytes(),
                country.as_bytes(),
            ];
            customers
                .write_record(row)
                .map_err(|e| fail(customers_path, e))?;
        }

        let cprop = self.cprop.sample(rng);
        let spend_level = 50f64.ln() + self.spend_level.sample(rng);
        let rate = self.rate.sample(rng);
        let life_days = if rng.random_bool(0.3) {
            -14.0 * (1.0 - rng.random::<f64>()).ln()
        } else {
            -300.0 * (1.0 - rng.random::<f64>()).ln()
        };
        let life_end = t0 + (life_days * DAY as f64) as i64;

        // Session start times: constant rate while active, exponential decay afterwards.
        self.starts.clear();
        let (a, b) = (start.max(t0 + 1), end.min(life_end));
        if b > a {
            for _ in 0..poisson(rng, rate * (b - a) as f64 / DAY as f64) {
                let s = w.sample_time(rng, |r| r.random_range(a..b));
                self.starts.push(s);
            }
        }
        let a2 = start.max(life_end).max(t0 + 1);
        if end > a2 {
            let d = DECAY_DAYS * DAY as f64;
            let e1 = (-((a2 - life_end) as f64) / d).exp();
            let e2 = (-((end - life_end) as f64) / d).exp();
            for _ in 0..poisson(rng, rate * DECAY_DAYS * (e1 - e2)) {
                let s = w.sample_time(rng, |r| {
                    let u: f64 = r.random();
                    let x = -d * (e1 - u * (e1 - e2)).ln();
                    (life_end + x as i64).clamp(a2, end - 1)
                });
                self.starts.push(s);
            }
        }
        if orphan {
            // Deleted accounts: a short history.
            self.starts.truncate(3);
        }
        self.starts.sort_unstable();

        let cust = CustomerCtx {
            no,
            orphan,
            t0,
            spend_level,
        };
        // The signup session (events before the period are dropped when emitted).
        let (mut prev_end, bought) =
            self.session(rng, w, em, &cust, t0, acq, device, true, 0, cprop)?;
        let mut last_purchase = if bought { prev_end } else { i64::MIN / 2 };
        let mut prev_channel = acq;
        let starts = std::mem::take(&mut self.starts);
        for (k, &s0) in starts.iter().enumerate() {
            if em.full() {
                break;
            }
            let s = if s0 <= prev_end + SESSION_GAP {
                prev_end + SESSION_GAP + 1 + rng.random_range(0..3600)
            } else {
                s0
            };
            if s >= end {
                break;
            }
            let channel = session_channel(rng, acq, prev_channel, k);
            let dev = if rng.random_bool(0.85) {
                device
            } else {
                pick(rng, &DEVICE_W) as u8
            };
            // Who just bought is less likely to buy again for a while.
            let recent = s - last_purchase < SATIATION_DAYS * DAY;
            let cp = if recent {
                cprop * SATIATION_FACTOR
            } else {
                cprop
            };
            let (last, bought) =
                self.session(rng, w, em, &cust, s, channel, dev, false, k + 1, cp)?;
            if bought {
                last_purchase = last;
            }
            prev_end = last;
            prev_channel = channel;
        }
        self.starts = starts;
        Ok(!orphan)
    }

    /// Builds and emits one session starting at `s` (for the signup session: whose `signup`
    /// event is at `s`), `cprop` scaling its add-to-cart stage. Returns the time of its last
    /// event and whether it contains a purchase (written or not).
    #[allow(clippy::too_many_arguments)]
    fn session(
        &mut self,
        rng: &mut ChaCha8Rng,
        w: &World,
        em: &mut Emitter,
        c: &CustomerCtx,
        s: i64,
        channel: u8,
        device: u8,
        signup: bool,
        visit: usize,
        cprop: f64,
    ) -> Result<(i64, bool)> {
        let date = date_of(s);
        let sale = sale_campaign(date);
        let boost = if sale.is_some() { 1.15 } else { 1.0 };
        let f = (CHANNEL_PROPENSITY[channel as usize] * DEVICE_PROPENSITY[device as usize] * boost)
            .sqrt();
        let names = &mut self.names;
        build_session(rng, channel, f, cprop, signup, visit, names);

        // Offsets from the first event.
        let offs = &mut self.offsets;
        offs.clear();
        let mut t = 0i64;
        for (i, &n) in names.iter().enumerate() {
            if i > 0 {
                t += match (names[i - 1], n) {
                    (NEWSLETTER_OPEN, _) => rng.random_range(10..600),
                    (_, PURCHASE) => rng.random_range(20..300),
                    (_, SIGNUP) => rng.random_range(30..240),
                    _ => (self.gap.sample(rng) as i64).clamp(2, 1200),
                };
            }
            offs.push(t);
        }
        let first = if signup {
            let i = names.iter().position(|&n| n == SIGNUP).unwrap_or(0);
            s - offs[i]
        } else {
            s
        };

        let campaign = campaign(rng, channel, date, sale, (s - c.t0) / DAY);
        let missing_id = rng.random_bool(MISSING_SESSION_SHARE);
        let mut session = 0u64;
        let mut written: Option<i64> = None;
        for i in 0..names.len() {
            let t = first + offs[i];
            if t < w.start || t >= w.end {
                continue;
            }
            if em.full() {
                break;
            }
            if session == 0 && !missing_id {
                session = em.next_session_id;
                em.next_session_id += 1;
            }
            let ev = Ev {
                id: 0,
                customer: c.no,
                session,
                t,
                name: names[i],
                channel,
                device,
                campaign,
                orphan: c.orphan,
            };
            em.emit(rng, ev, w, &self.order_noise, c.spend_level)?;
            written.get_or_insert(t);
        }
        let paid =
            COST_PER_SESSION[channel as usize] > 0.0 && (channel != SOCIAL || campaign != C_NONE);
        if let (Some(t0), true) = (written, paid) {
            *em.paid_sessions
                .entry((t0.div_euclid(DAY), channel, campaign))
                .or_insert(0) += 1;
        }
        let bought = names.contains(&PURCHASE);
        Ok((first + offs.last().copied().unwrap_or(0), bought))
    }
}

/// Per-customer values a session needs.
struct CustomerCtx {
    no: u64,
    orphan: bool,
    t0: i64,
    spend_level: f64,
}

/// Lower-case ASCII form of a name for e-mail addresses (ü → ue, é → e, others dropped).
fn ascii_slug(s: &str, out: &mut String) {
    for c in s.chars() {
        match c {
            'a'..='z' | '0'..='9' => out.push(c),
            'A'..='Z' => out.push(c.to_ascii_lowercase()),
            'ä' | 'Ä' => out.push_str("ae"),
            'ö' | 'Ö' => out.push_str("oe"),
            'ü' | 'Ü' => out.push_str("ue"),
            'ß' => out.push_str("ss"),
            'é' | 'è' | 'ê' | 'ë' | 'É' | 'ę' => out.push('e'),
            'á' | 'à' | 'â' | 'å' | 'ą' => out.push('a'),
            'í' | 'ì' | 'î' | 'ï' => out.push('i'),
            'ó' | 'ò' | 'ô' | 'ø' | 'Ø' => out.push('o'),
            'ú' | 'ù' | 'û' => out.push('u'),
            'ñ' | 'ń' => out.push('n'),
            'ç' | 'ć' => out.push('c'),
            'ł' | 'Ł' => out.push('l'),
            'ś' | 'Ś' => out.push('s'),
            'ź' | 'ż' => out.push('z'),
            _ => {}
        }
    }
}
