//! Deterministic synthetic exports for the `sample` command: a CRM export
//! (`customers.csv`), a web/app event export (`events.csv` or `events.parquet`) and an
//! orders export (`transactions.csv`), written with the *export's own* column names, which
//! the project maps to the canonical ones of the input contract.
//!
//! The same [`SampleOptions`] always give byte-identical files: one ChaCha8 stream seeded
//! from `seed` drives everything, nothing depends on the clock or on hash-map order.
//!
//! # What the data looks like
//!
//! * About one customer per 40 event rows (for the default 365-day period; a shorter
//!   period gives fewer events per customer, hence more customers). About 80% of the
//!   customers signed up during the period, more of them towards its end (growth); about
//!   20% signed up in the 365 days before it.
//! * Each customer has a heavy-tailed session rate (Gamma distributed), an active life after
//!   which activity decays exponentially (churn), a preferred device and an acquisition
//!   channel that most of their sessions come from; the other sessions mix in other channels
//!   (multi-touch journeys: after a `social` or `display` session the next one is often
//!   `paid_search`, `direct` or `organic_search`; `direct` grows with the number of visits).
//! * Session start times follow an hour-of-day curve (low at night, peaks around 12–13 and
//!   19–21), a day-of-week curve and a seasonal curve (Black Friday week, December, summer
//!   dip), all evaluated in **Europe/Berlin local time** and written in UTC.
//! * A session has 1–15 events, 2 s to 20 min apart; sessions of one customer are more than
//!   30 minutes apart, so a 30-minute inactivity gap reconstructs them exactly. Inside a
//!   session: `page_view` → `product_view` → `add_to_cart` → `checkout_start` →
//!   `purchase`, each step reached by roughly 60% / 35% / 55% / 65% of the sessions that
//!   reached the previous one, scaled by the channel (email and paid_search convert best,
//!   display and social worst), the device (desktop best) and the customer; plus `search`,
//!   `signup` (the first session, at the customer's `signup_date`) and `newsletter_open`
//!   (first event of some email sessions).
//! * Every written `purchase` event has exactly one order in `transactions.csv`, 0–60 s
//!   later (never after the period), same customer; log-normal amounts (median ≈ 50 EUR,
//!   a per-customer spend level, a tail into the thousands); status `completed` ≈ 94%,
//!   `refunded` ≈ 3%, `cancelled` ≈ 3%.
//! * Dirty like real exports: ≈ 0.5% of the event rows are exact copies of an earlier row
//!   (same `event_id`), ≈ 5% of the events (whole sessions) have no `session_id`, and
//!   ≈ 0.5% of the events belong to customer ids missing from `customers.csv` (deleted
//!   accounts: gaps in the id sequence).
//!
//! * A marketing-spend export (`spend.csv`: `date,channel,campaign,cost`) with one row per
//!   day, paid channel and campaign that had sessions: the sessions that started that day
//!   (UTC) times a cost per session for the channel (paid_search ≈ 1.50 EUR, display ≈ 1.20,
//!   social ≈ 1.10 for campaign traffic, affiliate ≈ 0.90, email ≈ 0.10) with ±20% daily
//!   noise, in EUR with two decimals. organic_search, direct, referral and campaign-less
//!   social sessions cost nothing. It is drawn from a second stream seeded from `seed`, so
//!   the other three files do not depend on it.
//!
//! Events are written customer by customer (each customer's events in time order), with
//! constant memory: 10,000,000 events stream through buffered writers.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use chrono_tz::Europe::Berlin;
use datafusion::arrow::array::{ArrayRef, StringBuilder, TimestampMicrosecondBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Gamma, LogNormal, Normal, Poisson};

use crate::{Error, Result};

/// Output format of the events export (`customers.csv` and `transactions.csv` are always CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SampleFormat {
    /// `events.csv`: comma-separated, header row, UTF-8, timestamps as RFC 3339 `…Z`.
    Csv,
    /// `events.parquet`: ZSTD-compressed Parquet; `event_timestamp` is
    /// `Timestamp(Microsecond, "UTC")`, every other column nullable Utf8.
    Parquet,
}

/// What [`write_sample`] generates and where.
#[derive(Debug, Clone)]
pub struct SampleOptions {
    /// Exact number of event rows to write, duplicate rows included (e.g. 80,000 or
    /// 10,000,000). The number of customers follows (about one per 40 rows).
    pub events: u64,
    /// Seed of the random stream: the same options give byte-identical files.
    pub seed: u64,
    /// Output folder, created (with its parents) if missing; existing files of the same
    /// names are overwritten.
    pub out: PathBuf,
    /// Format of the events export.
    pub format: SampleFormat,
    /// Last day of data (UTC), inclusive; the usual default is 2026-10-31.
    pub end_date: NaiveDate,
    /// Length of the period in days (at least 1; the usual default is 365): events fall in
    /// `[end_date + 1 - days, end_date + 1)` at 00:00 UTC.
    pub days: u32,
}

/// What [`write_sample`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleSummary {
    /// Rows of `customers.csv` (customers whose ids appear only in events are not counted).
    pub customers: u64,
    /// Rows of the events export, duplicates included: always `SampleOptions::events`.
    pub events: u64,
    /// Rows of `transactions.csv` (one per distinct written `purchase` event).
    pub orders: u64,
    /// Rows of `spend.csv`.
    pub spend_rows: u64,
    /// The files written: `customers.csv`, `events.csv` or `events.parquet`,
    /// `transactions.csv`, `spend.csv`, in that order.
    pub files: Vec<PathBuf>,
}

/// Writes `customers.csv`, `events.csv` (or `events.parquet`), `transactions.csv` and
/// `spend.csv` into `opts.out`.
///
/// * `customers.csv`: `customer_id,email,full_name,signup_date,acquisition_channel,country`
///   — `C000123`; synthetic address at reserved example domains; a name that may contain
///   commas, quotes and non-ASCII letters; `%Y-%m-%d %H:%M:%S` in UTC without offset; one of
///   the eight channels; ISO 3166 alpha-2 code.
/// * events: `event_id,user_id,event_timestamp,event_name,channel,campaign,device,session_id`
///   — `E00000001`; `C000123`; `2026-10-31T14:03:22Z` (whole seconds, UTC); event name;
///   `organic_search`, `paid_search`, `email`, `social`, `direct`, `referral`, `display` or
///   `affiliate`; campaign (empty for `direct` and `organic_search`); `desktop`, `mobile` or
///   `tablet`; `S0000001` or empty. Empty fields are nulls in Parquet.
/// * `transactions.csv`: `order_id,customer_id,order_time,amount,currency,status` —
///   `O0000001`; `C000123`; RFC 3339 `…Z`; amount in currency units with exactly two
///   decimals (`59.90`); `EUR`; `completed`, `refunded` or `cancelled`.
/// * `spend.csv`: `date,channel,campaign,cost` — `2026-10-31` (UTC day); channel; campaign
///   (may be empty); cost in EUR with two decimals.
///
/// Errors: `days == 0` or an `end_date` at the end of chrono's range is a configuration
/// error; a failure creating or writing a file is an internal error naming the file.
pub fn write_sample(opts: &SampleOptions) -> Result<SampleSummary> {
    if opts.days == 0 {
        return Err(Error::config(
            "sample: the period must be at least 1 day long (days = 0)",
        ));
    }
    let end = opts
        .end_date
        .succ_opt()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .ok_or_else(|| {
            Error::config(format!(
                "sample: end date {} is out of range",
                opts.end_date
            ))
        })?;
    let start = end - i64::from(opts.days) * DAY;
    let pre_start = start - PRE_PERIOD_DAYS * DAY;
    // Timestamps are written with four-digit years.
    if pre_start < YEAR_1 || opts.end_date.year() > 9998 {
        return Err(Error::config(format!(
            "sample: a period of {} days ending {} does not fit in the years 1 to 9999",
            opts.days, opts.end_date
        )));
    }

    std::fs::create_dir_all(&opts.out).map_err(|e| Error::io(&opts.out, e))?;
    let customers_path = opts.out.join("customers.csv");
    let events_path = opts.out.join(match opts.format {
        SampleFormat::Csv => "events.csv",
        SampleFormat::Parquet => "events.parquet",
    });
    let orders_path = opts.out.join("transactions.csv");
    let spend_path = opts.out.join("spend.csv");

    let mut customers = csv_writer(&customers_path)?;
    customers
        .write_record(CUSTOMERS_HEADER)
        .map_err(|e| fail(&customers_path, e))?;
    let sink = match opts.format {
        SampleFormat::Csv => {
            let mut w = csv_writer(&events_path)?;
            w.write_record(EVENTS_HEADER)
                .map_err(|e| fail(&events_path, e))?;
            EventSink::Csv(w)
        }
        SampleFormat::Parquet => EventSink::Parquet(Box::new(ParquetSink::new(&events_path)?)),
    };
    let mut orders = csv_writer(&orders_path)?;
    orders
        .write_record(ORDERS_HEADER)
        .map_err(|e| fail(&orders_path, e))?;

    let world = World::new(start, end, pre_start);
    let mut em = Emitter {
        sink,
        events_path: events_path.clone(),
        orders,
        orders_path: orders_path.clone(),
        target: opts.events,
        rows: 0,
        orphan_rows: 0,
        next_event_id: 1,
        next_session_id: 1,
        next_order_id: 1,
        paid_sessions: std::collections::BTreeMap::new(),
        ring: Vec::with_capacity(DUP_RING),
        ring_pos: 0,
        text: String::with_capacity(64),
    };
    let mut rng = ChaCha8Rng::seed_from_u64(opts.seed);
    let mut generator = Generator::new();
    let mut written_customers = 0u64;
    let mut customer_no = 0u64;
    while !em.full() {
        customer_no += 1;
        if generator.customer(
            &mut rng,
            &world,
            &mut em,
            &mut customers,
            &customers_path,
            customer_no,
        )? {
            written_customers += 1;
        }
    }

    let orders_written = em.next_order_id - 1;
    let Emitter {
        sink,
        orders,
        paid_sessions,
        ..
    } = em;
    sink.finish(&events_path)?;
    finish_csv(customers, &customers_path)?;
    finish_csv(orders, &orders_path)?;
    let spend_rows = write_spend(&spend_path, &paid_sessions, &world, opts.seed)?;
    Ok(SampleSummary {
        customers: written_customers,
        events: opts.events,
        orders: orders_written,
        spend_rows,
        files: vec![customers_path, events_path, orders_path, spend_path],
    })
}

/// Cost per session by channel (EUR), index as [`CHANNELS`]; 0 = the channel costs nothing.
/// Social costs only for sessions with a campaign (paid social).
const COST_PER_SESSION: [f64; 8] = [0.0, 1.50, 0.10, 1.10, 0.0, 0.0, 1.20, 0.90];

/// Writes `spend.csv` from the paid sessions per (UTC day, channel, campaign), in key order.
fn write_spend(
    path: &Path,
    sessions: &std::collections::BTreeMap<(i64, u8, u16), u64>,
    w: &World,
    seed: u64,
) -> Result<u64> {
    // A stream of its own, so the other exports do not depend on this one.
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5bd1_e995_0000_5eed);
    let mut out = csv_writer(path)?;
    out.write_record(["date", "channel", "campaign", "cost"])
        .map_err(|e| fail(path, e))?;
    let mut rows = 0u64;
    let mut text = String::new();
    for (&(day, channel, campaign), &n) in sessions {
        let cps = COST_PER_SESSION[channel as usize];
        let noise: f64 = rng.random_range(0.8..1.2);
        let cents = (n as f64 * cps * noise * 100.0).round() as u64;
        text.clear();
        let _ = write!(text, "{}.{:02}", cents / 100, cents % 100);
        let date = date_of(day * DAY).to_string();
        out.write_record([
            date.as_str(),
            CHANNELS[channel as usize],
            w.campaigns[campaign as usize].as_str(),
            text.as_str(),
        ])
        .map_err(|e| fail(path, e))?;
        rows += 1;
    }
    finish_csv(out, path)?;
    Ok(rows)
}

// ---------------------------------------------------------------------------------------
// Vocabulary and parameters

const DAY: i64 = 86_400;
/// 0001-01-01T00:00:00Z in Unix seconds.
const YEAR_1: i64 = -62_135_596_800;
/// Days before the period in which the "old" customers signed up.
const PRE_PERIOD_DAYS: i64 = 365;
/// Share of customers who signed up before the period.
const PRE_PERIOD_SIGNUPS: f64 = 0.2;
/// Density of in-period signups rises linearly by this factor from the first to the last day, minus one.
const SIGNUP_GROWTH: f64 = 1.0;
/// Mean session rate of a customer while active, sessions per day (Gamma distributed).
const SESSION_RATE_MEAN: f64 = 0.11;
/// Gamma shape of the session rate: below 1 gives a heavy tail of very active customers.
const SESSION_RATE_SHAPE: f64 = 0.5;
/// For this many days after a purchase a customer's add-to-cart propensity is multiplied by
/// [`SATIATION_FACTOR`].
const SATIATION_DAYS: i64 = 45;
const SATIATION_FACTOR: f64 = 0.4;
/// Base probabilities of the funnel steps for a channel/device propensity of 1. Observed
/// over all sessions they come out near 60% / 35% / 55% / 65%: the add-to-cart base is
/// higher to make up for [`SATIATION_FACTOR`], the last two lower because the session mix
/// leans towards channels that convert well.
const PRODUCT_VIEW_RATE: f64 = 0.60;
const ADD_TO_CART_RATE: f64 = 0.51;
const CHECKOUT_RATE: f64 = 0.51;
const PURCHASE_RATE: f64 = 0.59;
/// After its active life a customer's session rate decays with this time constant, days.
const DECAY_DAYS: f64 = 21.0;
const DUP_SHARE: f64 = 0.005;
const ORPHAN_SHARE: f64 = 0.005;
const MISSING_SESSION_SHARE: f64 = 0.05;
const MAX_SESSION_EVENTS: usize = 15;
/// Inactivity gap that separates sessions, seconds.
const SESSION_GAP: i64 = 30 * 60;
const BATCH_ROWS: usize = 65_536;
const DUP_RING: usize = 4096;

const CUSTOMERS_HEADER: [&str; 6] = [
    "customer_id",
    "email",
    "full_name",
    "signup_date",
    "acquisition_channel",
    "country",
];
const EVENTS_HEADER: [&str; 8] = [
    "event_id",
    "user_id",
    "event_timestamp",
    "event_name",
    "channel",
    "campaign",
    "device",
    "session_id",
];
const ORDERS_HEADER: [&str; 6] = [
    "order_id",
    "customer_id",
    "order_time",
    "amount",
    "currency",
    "status",
];

const CHANNELS: [&str; 8] = [
    "organic_search",
    "paid_search",
    "email",
    "social",
    "direct",
    "referral",
    "display",
    "affiliate",
];
const ORGANIC: u8 = 0;
const PAID: u8 = 1;
const EMAIL: u8 = 2;
const SOCIAL: u8 = 3;
const DIRECT: u8 = 4;
const REFERRAL: u8 = 5;
const DISPLAY: u8 = 6;
const AFFILIATE: u8 = 7;
/// Share of each channel among the sessions that are not on the acquisition channel.
const SESSION_CHANNEL_W: [f64; 8] = [0.26, 0.16, 0.11, 0.12, 0.16, 0.06, 0.08, 0.05];
/// Acquisition channel of new customers.
const ACQUISITION_W: [f64; 8] = [0.27, 0.20, 0.04, 0.16, 0.10, 0.07, 0.08, 0.08];
/// Relative purchase propensity of a session by channel (applied as a square root to each
/// of the four funnel steps, so the session conversion scales with it).
const CHANNEL_PROPENSITY: [f64; 8] = [1.0, 1.35, 1.45, 0.6, 1.15, 0.95, 0.5, 1.1];

const DEVICES: [&str; 3] = ["desktop", "mobile", "tablet"];
const DEVICE_W: [f64; 3] = [0.36, 0.54, 0.10];
const DEVICE_PROPENSITY: [f64; 3] = [1.2, 0.88, 1.0];

const PAGE_VIEW: u8 = 0;
const PRODUCT_VIEW: u8 = 1;
const ADD_TO_CART: u8 = 2;
const CHECKOUT_START: u8 = 3;
const PURCHASE: u8 = 4;
const SEARCH: u8 = 5;
const SIGNUP: u8 = 6;
const NEWSLETTER_OPEN: u8 = 7;
const EVENT_NAMES: [&str; 8] = [
    "page_view",
    "product_view",
    "add_to_cart",
    "checkout_start",
    "purchase",
    "search",
    "signup",
    "newsletter_open",
];

const COUNTRIES: [&str; 10] = ["DE", "FR", "NL", "AT", "CH", "IT", "ES", "GB", "PL", "BE"];
const COUNTRY_W: [f64; 10] = [0.30, 0.14, 0.09, 0.08, 0.07, 0.08, 0.08, 0.07, 0.05, 0.04];

const FIRST_NAMES: [&str; 50] = [
    "Anna",
    "Lukas",
    "Marie",
    "Jonas",
    "Sofia",
    "Noah",
    "Emma",
    "Liam",
    "Mia",
    "Elias",
    "Léa",
    "Zoë",
    "José",
    "Søren",
    "Chloé",
    "Mateo",
    "Olivia",
    "Finn",
    "Ella",
    "Ben",
    "Hannah",
    "Paul",
    "Clara",
    "Leon",
    "Ida",
    "Maximilian",
    "Giulia",
    "Lucas",
    "Amélie",
    "Jan",
    "Björn",
    "François",
    "Małgorzata",
    "Sean",
    "Aoife",
    "Piotr",
    "Lotte",
    "Matteo",
    "Inès",
    "Oliver",
    "Charlotte",
    "Felix",
    "Laura",
    "Tom",
    "Julia",
    "David",
    "Sara",
    "Emil",
    "Nora",
    "Hugo",
];
const LAST_NAMES: [&str; 40] = [
    "Müller",
    "Schmidt",
    "Schneider",
    "Fischer",
    "Weber",
    "Meyer",
    "Wagner",
    "Becker",
    "Hoffmann",
    "Schulz",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Dubois",
    "Martin",
    "Bernard",
    "Lefèvre",
    "Rossi",
    "Russo",
    "Bianchi",
    "García",
    "Fernández",
    "López",
    "Kowalski",
    "Nowak",
    "Wiśniewska",
    "Jansen",
    "de Vries",
    "van der Berg",
    "Peeters",
    "O'Brien",
    "Łukasiewicz",
    "Núñez",
    "Østergaard",
    "Brontë",
    "Gruber",
    "Huber",
    "Keller",
    "Moreau",
];
const NICKNAMES: [&str; 4] = ["Bob", "Kiki", "AJ", "Lenny"];
const EMAIL_DOMAINS: [&str; 5] = [
    "example.com",
    "example.net",
    "example.org",
    "mail.example",
    "post.example",
];

/// Campaign names; index 0 is "no campaign". `newsletter_w01`…`newsletter_w53` follow.
const CAMPAIGNS: [&str; 22] = [
    "",
    "brand",
    "generic",
    "shopping",
    "welcome_series",
    "cart_reminder",
    "winback",
    "lookalike",
    "retargeting",
    "influencer",
    "prospecting",
    "partner_blog",
    "comparison_site",
    "press",
    "cashback",
    "vouchers",
    "partner_network",
    "spring_sale",
    "summer_sale",
    "black_friday",
    "christmas",
    "new_year_sale",
];
const C_NONE: u16 = 0;
const C_BRAND: u16 = 1;
const C_GENERIC: u16 = 2;
const C_SHOPPING: u16 = 3;
const C_WELCOME: u16 = 4;
const C_CART: u16 = 5;
const C_WINBACK: u16 = 6;
const C_LOOKALIKE: u16 = 7;
const C_RETARGETING: u16 = 8;
const C_INFLUENCER: u16 = 9;
const C_PROSPECTING: u16 = 10;
const C_PARTNER_BLOG: u16 = 11;
const C_COMPARISON: u16 = 12;
const C_PRESS: u16 = 13;
const C_CASHBACK: u16 = 14;
const C_VOUCHERS: u16 = 15;
const C_PARTNER_NETWORK: u16 = 16;
const C_SPRING: u16 = 17;
const C_SUMMER: u16 = 18;
const C_BLACK_FRIDAY: u16 = 19;
const C_CHRISTMAS: u16 = 20;
const C_NEW_YEAR: u16 = 21;
const C_NEWSLETTER_W01: u16 = CAMPAIGNS.len() as u16;

/// Relative session volume by local hour, Monday to Friday.
const HOUR_W_WEEKDAY: [f64; 24] = [
    0.9, 0.5, 0.3, 0.2, 0.2, 0.3, 0.8, 1.6, 2.6, 3.2, 3.6, 4.0, 4.8, 4.9, 4.0, 3.7, 3.8, 4.1, 4.6,
    5.3, 5.7, 5.4, 4.0, 2.2,
];
/// Relative session volume by local hour, Saturday and Sunday (later mornings).
const HOUR_W_WEEKEND: [f64; 24] = [
    1.4, 0.9, 0.5, 0.3, 0.2, 0.2, 0.4, 0.8, 1.5, 2.6, 3.6, 4.2, 4.6, 4.6, 4.3, 4.2, 4.2, 4.4, 4.8,
    5.4, 5.8, 5.5, 4.2, 2.6,
];
/// Relative session volume by local weekday, Monday first.
const WEEKDAY_W: [f64; 7] = [1.06, 1.0, 0.98, 0.97, 0.92, 0.80, 0.95];

// ---------------------------------------------------------------------------------------
// Time model

/// The period, the campaign names and the Europe/Berlin rhythm.
struct World {
    start: i64,
    end: i64,
    pre_start: i64,
    campaigns: Vec<String>,
    /// UTC second of hour 0 of `accept`.
    base: i64,
    /// Per UTC hour from `base`: the acceptance probability of a session start in that hour
    /// (hour-of-day × weekday × season in Berlin local time, scaled to a maximum of 1).
    accept: Vec<f32>,
}

impl World {
    fn new(start: i64, end: i64, pre_start: i64) -> World {
        let mut campaigns: Vec<String> = CAMPAIGNS.iter().map(|s| s.to_string()).collect();
        campaigns.extend((1..=53).map(|w| format!("newsletter_w{w:02}")));
        let base = pre_start.div_euclid(3600) * 3600;
        let hours = ((end - base) / 3600 + 1) as usize;
        let mut weights = Vec::with_capacity(hours);
        for h in 0..hours {
            let utc = base + h as i64 * 3600 + 1800;
            let w = chrono::DateTime::from_timestamp(utc, 0)
                .map(|t| {
                    let local = Berlin.from_utc_datetime(&t.naive_utc()).naive_local();
                    let wd = local.weekday().num_days_from_monday() as usize;
                    let hour_w = if wd >= 5 {
                        HOUR_W_WEEKEND
                    } else {
                        HOUR_W_WEEKDAY
                    };
                    hour_w[local.hour() as usize] * WEEKDAY_W[wd] * season_weight(local.date())
                })
                .unwrap_or(1.0);
            weights.push(w);
        }
        let max = weights.iter().cloned().fold(f64::MIN_POSITIVE, f64::max);
        let accept = weights.iter().map(|w| (w / max) as f32).collect();
        World {
            start,
            end,
            pre_start,
            campaigns,
            base,
            accept,
        }
    }

    fn accept_at(&self, t: i64) -> f32 {
        let i = ((t - self.base).max(0) / 3600) as usize;
        self.accept[i.min(self.accept.len() - 1)]
    }

    /// A time drawn from `proposal`, thinned by the Berlin daily/weekly/seasonal rhythm.
    fn sample_time(
        &self,
        rng: &mut ChaCha8Rng,
        mut proposal: impl FnMut(&mut ChaCha8Rng) -> i64,
    ) -> i64 {
        let mut t = proposal(rng);
        for _ in 0..64 {
            if rng.random::<f32>() < self.accept_at(t) {
                return t;
            }
            t = proposal(rng);
        }
        t
    }
}

/// Fourth Friday of November of `year` (day of month).
fn black_friday(year: i32) -> u32 {
    let nov1 = NaiveDate::from_ymd_opt(year, 11, 1)
        .map(|d| d.weekday().num_days_from_monday())
        .unwrap_or(0);
    1 + (4 + 7 - nov1) % 7 + 21
}

/// Relative traffic of a (local) day of the year.
fn season_weight(d: NaiveDate) -> f64 {
    let bf = black_friday(d.year());
    match (d.month(), d.day()) {
        (11, day) if day + 1 >= bf && day <= bf + 3 => 1.8,
        (12, 24..=26) => 0.6,
        (12, 31) | (1, 1) => 0.7,
        (12, _) => 1.3,
        (11, _) => 1.1,
        (1, _) => 1.0,
        (2, _) => 0.92,
        (3, _) | (4, _) => 1.0,
        (5, _) => 0.95,
        (6, _) | (7, _) => 0.9,
        (8, _) => 0.85,
        (9, _) => 0.95,
        _ => 1.0,
    }
}

/// The sale campaign running on `d`, if any.
fn sale_campaign(d: NaiveDate) -> Option<u16> {
    let bf = black_friday(d.year());
    match (d.month(), d.day()) {
        (3, 15..) | (4, ..=15) => Some(C_SPRING),
        (6, 25..) | (7, _) => Some(C_SUMMER),
        (11, day) if day + 7 >= bf && day <= bf + 3 => Some(C_BLACK_FRIDAY),
        (11, day) if day > bf + 3 => Some(C_CHRISTMAS),
        (12, ..=22) => Some(C_CHRISTMAS),
        (1, 2..=15) => Some(C_NEW_YEAR),
        _ => None,
    }
}

fn date_of(t: i64) -> NaiveDate {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    NaiveDate::from_ymd_opt(y as i32, m, d).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------
// Generation

/// One distinct event (or a duplicate row of one).
#[derive(Clone, Copy)]
struct Ev {
    id: u64,
    customer: u64,
    /// 0: no session id.
    session: u64,
    t: i64,
    name: u8,
    channel: u8,
    device: u8,
    campaign: u16,
    orphan: bool,
}

/// Distributions and scratch buffers reused for every customer.
struct Generator {
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
    fn new() -> Generator {
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
    fn customer(
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
    /// event is at `s`), `cprop` scaling its add-to-cart step. Returns the time of its last
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

/// Event names of one session, in order, at most [`MAX_SESSION_EVENTS`].
fn build_session(
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
        // Drop browsing noise first, then surplus product views; the funnel steps stay.
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
fn session_channel(rng: &mut ChaCha8Rng, acq: u8, prev: u8, k: usize) -> u8 {
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
fn campaign(
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
fn pick(rng: &mut ChaCha8Rng, w: &[f64]) -> usize {
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

fn poisson(rng: &mut ChaCha8Rng, mean: f64) -> u64 {
    if mean.is_nan() || mean <= 0.0 {
        return 0;
    }
    match Poisson::new(mean.min(1e12)) {
        Ok(p) => p.sample(rng) as u64,
        Err(_) => 0,
    }
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

// ---------------------------------------------------------------------------------------
// Output

/// Writes event rows (with duplicates) and orders, and keeps the counts.
struct Emitter {
    sink: EventSink,
    events_path: PathBuf,
    orders: csv::Writer<BufWriter<File>>,
    orders_path: PathBuf,
    target: u64,
    rows: u64,
    orphan_rows: u64,
    next_event_id: u64,
    next_session_id: u64,
    next_order_id: u64,
    /// Sessions of paid channels per (UTC day number, channel, campaign), for `spend.csv`.
    paid_sessions: std::collections::BTreeMap<(i64, u8, u16), u64>,
    /// Recent distinct events, the pool duplicates are drawn from.
    ring: Vec<Ev>,
    ring_pos: usize,
    text: String,
}

impl Emitter {
    fn full(&self) -> bool {
        self.rows >= self.target
    }

    /// Writes `ev` (a new distinct event), its order if it is a purchase, and sometimes a
    /// duplicate of a recent row. Does nothing once the row target is reached.
    fn emit(
        &mut self,
        rng: &mut ChaCha8Rng,
        mut ev: Ev,
        w: &World,
        order_noise: &Normal<f64>,
        spend_level: f64,
    ) -> Result<()> {
        if self.full() {
            return Ok(());
        }
        ev.id = self.next_event_id;
        self.next_event_id += 1;
        self.write_row(&ev, w)?;
        if ev.name == PURCHASE {
            self.order(rng, &ev, w, order_noise, spend_level)?;
        }
        // A duplicate of a recent row (possibly this one), p chosen so that duplicates are
        // DUP_SHARE of all rows.
        if !self.full() && rng.random_bool(DUP_SHARE / (1.0 - DUP_SHARE)) {
            let dup = if self.ring.is_empty() {
                ev
            } else {
                self.ring[rng.random_range(0..self.ring.len())]
            };
            self.write_row(&dup, w)?;
        }
        if self.ring.len() < DUP_RING {
            self.ring.push(ev);
        } else {
            self.ring[self.ring_pos] = ev;
            self.ring_pos = (self.ring_pos + 1) % DUP_RING;
        }
        Ok(())
    }

    fn write_row(&mut self, ev: &Ev, w: &World) -> Result<()> {
        self.sink.write(ev, &w.campaigns, &self.events_path)?;
        self.rows += 1;
        if ev.orphan {
            self.orphan_rows += 1;
        }
        Ok(())
    }

    fn order(
        &mut self,
        rng: &mut ChaCha8Rng,
        ev: &Ev,
        w: &World,
        order_noise: &Normal<f64>,
        spend_level: f64,
    ) -> Result<()> {
        let t = (ev.t + rng.random_range(0..=60)).min(w.end - 1);
        let amount = (spend_level + order_noise.sample(rng))
            .exp()
            .clamp(3.0, 25_000.0);
        let cents = (amount * 100.0).round() as u64;
        let r: f64 = rng.random();
        let status = if r < 0.94 {
            "completed"
        } else if r < 0.97 {
            "refunded"
        } else {
            "cancelled"
        };
        self.text.clear();
        let _ = write!(self.text, "{}.{:02}", cents / 100, cents % 100);
        let mut ob = [0u8; 24];
        let mut cb = [0u8; 24];
        let mut tb = [0u8; 20];
        let row: [&[u8]; 6] = [
            fmt_id(&mut ob, b'O', 7, self.next_order_id),
            fmt_id(&mut cb, b'C', 6, ev.customer),
            fmt_ts(&mut tb, t, true),
            self.text.as_bytes(),
            b"EUR",
            status.as_bytes(),
        ];
        self.orders
            .write_record(row)
            .map_err(|e| fail(&self.orders_path, e))?;
        self.next_order_id += 1;
        Ok(())
    }
}

enum EventSink {
    Csv(csv::Writer<BufWriter<File>>),
    Parquet(Box<ParquetSink>),
}

impl EventSink {
    fn write(&mut self, ev: &Ev, campaigns: &[String], path: &Path) -> Result<()> {
        let mut idb = [0u8; 24];
        let mut ub = [0u8; 24];
        let mut sb = [0u8; 24];
        let id = fmt_id(&mut idb, b'E', 8, ev.id);
        let user = fmt_id(&mut ub, b'C', 6, ev.customer);
        let session: &[u8] = if ev.session == 0 {
            b""
        } else {
            fmt_id(&mut sb, b'S', 7, ev.session)
        };
        let name = EVENT_NAMES[ev.name as usize];
        let channel = CHANNELS[ev.channel as usize];
        let campaign = campaigns[ev.campaign as usize].as_str();
        let device = DEVICES[ev.device as usize];
        match self {
            EventSink::Csv(w) => {
                let mut tb = [0u8; 20];
                let row: [&[u8]; 8] = [
                    id,
                    user,
                    fmt_ts(&mut tb, ev.t, true),
                    name.as_bytes(),
                    channel.as_bytes(),
                    campaign.as_bytes(),
                    device.as_bytes(),
                    session,
                ];
                w.write_record(row).map_err(|e| fail(path, e))
            }
            EventSink::Parquet(p) => {
                p.event_id.append_value(ascii(id));
                p.user_id.append_value(ascii(user));
                p.ts.append_value(ev.t * 1_000_000);
                p.event_name.append_value(name);
                p.channel.append_value(channel);
                if campaign.is_empty() {
                    p.campaign.append_null();
                } else {
                    p.campaign.append_value(campaign);
                }
                p.device.append_value(device);
                if session.is_empty() {
                    p.session_id.append_null();
                } else {
                    p.session_id.append_value(ascii(session));
                }
                p.len += 1;
                if p.len == BATCH_ROWS {
                    p.flush(path)?;
                }
                Ok(())
            }
        }
    }

    fn finish(self, path: &Path) -> Result<()> {
        match self {
            EventSink::Csv(w) => finish_csv(w, path),
            EventSink::Parquet(mut p) => {
                p.flush(path)?;
                p.writer.close().map_err(|e| fail(path, e))?;
                Ok(())
            }
        }
    }
}

/// Column builders of the current batch and the Parquet writer.
struct ParquetSink {
    writer: ArrowWriter<File>,
    schema: SchemaRef,
    event_id: StringBuilder,
    user_id: StringBuilder,
    ts: TimestampMicrosecondBuilder,
    event_name: StringBuilder,
    channel: StringBuilder,
    campaign: StringBuilder,
    device: StringBuilder,
    session_id: StringBuilder,
    len: usize,
}

impl ParquetSink {
    fn new(path: &Path) -> Result<ParquetSink> {
        let utf8 = |name: &str| Field::new(name, DataType::Utf8, true);
        let schema: SchemaRef = Arc::new(Schema::new(vec![
            utf8("event_id"),
            utf8("user_id"),
            Field::new(
                "event_timestamp",
                DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
                true,
            ),
            utf8("event_name"),
            utf8("channel"),
            utf8("campaign"),
            utf8("device"),
            utf8("session_id"),
        ]));
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        let level = ZstdLevel::try_new(1).map_err(|e| fail(path, e))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(level))
            .build();
        let writer =
            ArrowWriter::try_new(file, schema.clone(), Some(props)).map_err(|e| fail(path, e))?;
        let strings = |bytes: usize| StringBuilder::with_capacity(BATCH_ROWS, BATCH_ROWS * bytes);
        Ok(ParquetSink {
            writer,
            schema,
            event_id: strings(9),
            user_id: strings(7),
            ts: TimestampMicrosecondBuilder::with_capacity(BATCH_ROWS).with_timezone("UTC"),
            event_name: strings(12),
            channel: strings(12),
            campaign: strings(10),
            device: strings(7),
            session_id: strings(8),
            len: 0,
        })
    }

    fn flush(&mut self, path: &Path) -> Result<()> {
        if self.len == 0 {
            return Ok(());
        }
        let columns: Vec<ArrayRef> = vec![
            Arc::new(self.event_id.finish()),
            Arc::new(self.user_id.finish()),
            Arc::new(self.ts.finish()),
            Arc::new(self.event_name.finish()),
            Arc::new(self.channel.finish()),
            Arc::new(self.campaign.finish()),
            Arc::new(self.device.finish()),
            Arc::new(self.session_id.finish()),
        ];
        let batch =
            RecordBatch::try_new(self.schema.clone(), columns).map_err(|e| fail(path, e))?;
        self.writer.write(&batch).map_err(|e| fail(path, e))?;
        self.len = 0;
        Ok(())
    }
}

fn csv_writer(path: &Path) -> Result<csv::Writer<BufWriter<File>>> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file)))
}

fn finish_csv(w: csv::Writer<BufWriter<File>>, path: &Path) -> Result<()> {
    let mut inner = w.into_inner().map_err(|e| fail(path, e.error()))?;
    inner.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// An internal error naming the file.
fn fail(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{}: {e}", path.display()))
}

fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("generated identifiers are ASCII")
}

/// `prefix` followed by `n` zero-padded to at least `width` digits, e.g. `C000123`.
fn fmt_id(buf: &mut [u8; 24], prefix: u8, width: usize, mut n: u64) -> &[u8] {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let nd = digits.len() - i;
    let pad = width.saturating_sub(nd);
    buf[0] = prefix;
    buf[1..1 + pad].fill(b'0');
    buf[1 + pad..1 + pad + nd].copy_from_slice(&digits[i..]);
    &buf[..1 + pad + nd]
}

/// `2026-10-31T14:03:22Z` (`rfc3339`) or `2026-10-31 14:03:22` for UTC seconds `t`.
fn fmt_ts(buf: &mut [u8; 20], t: i64, rfc3339: bool) -> &[u8] {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
    let y = y.clamp(0, 9999) as u32;
    let two = |b: &mut [u8], v: u32| {
        b[0] = b'0' + (v / 10) as u8;
        b[1] = b'0' + (v % 10) as u8;
    };
    two(&mut buf[0..2], y / 100);
    two(&mut buf[2..4], y % 100);
    buf[4] = b'-';
    two(&mut buf[5..7], m);
    buf[7] = b'-';
    two(&mut buf[8..10], d);
    buf[10] = if rfc3339 { b'T' } else { b' ' };
    two(&mut buf[11..13], hh as u32);
    buf[13] = b':';
    two(&mut buf[14..16], mm as u32);
    buf[16] = b':';
    two(&mut buf[17..19], ss as u32);
    if rfc3339 {
        buf[19] = b'Z';
        &buf[..20]
    } else {
        &buf[..19]
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{BTreeMap, BTreeSet};

    use datafusion::arrow::array::{Array, StringArray, TimestampMicrosecondArray};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn options(dir: &Path, events: u64, seed: u64, format: SampleFormat) -> SampleOptions {
        SampleOptions {
            events,
            seed,
            out: dir.to_path_buf(),
            format,
            end_date: NaiveDate::from_ymd_opt(2026, 10, 31).unwrap(),
            days: 365,
        }
    }

    /// 2025-11-01T00:00:00Z and 2026-11-01T00:00:00Z: the default period, by hand.
    const START: i64 = 1_761_955_200;
    const END: i64 = 1_793_491_200;

    #[derive(Debug, Clone, PartialEq)]
    struct Event {
        id: String,
        user: String,
        t: i64,
        name: String,
        channel: String,
        campaign: String,
        device: String,
        session: String,
    }

    fn rfc3339(s: &str) -> i64 {
        assert!(
            s.len() == 20 && s.ends_with('Z'),
            "not whole-second UTC RFC 3339: {s}"
        );
        chrono::DateTime::parse_from_rfc3339(s).unwrap().timestamp()
    }

    fn read_csv(path: &Path) -> (Vec<String>, Vec<csv::StringRecord>) {
        let mut r = csv::Reader::from_path(path).unwrap();
        let header = r.headers().unwrap().iter().map(String::from).collect();
        let rows = r.records().map(|r| r.unwrap()).collect();
        (header, rows)
    }

    fn read_events(path: &Path) -> Vec<Event> {
        let (header, rows) = read_csv(path);
        assert_eq!(header, EVENTS_HEADER);
        rows.iter()
            .map(|r| Event {
                id: r[0].to_string(),
                user: r[1].to_string(),
                t: rfc3339(&r[2]),
                name: r[3].to_string(),
                channel: r[4].to_string(),
                campaign: r[5].to_string(),
                device: r[6].to_string(),
                session: r[7].to_string(),
            })
            .collect()
    }

    fn read_parquet(path: &Path) -> (SchemaRef, Vec<Event>) {
        let builder = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
        let schema = builder.schema().clone();
        let mut out = Vec::new();
        for batch in builder.build().unwrap() {
            let batch = batch.unwrap();
            let s = |i: usize| {
                batch
                    .column(i)
                    .as_any()
                    .downcast_ref::<StringArray>()
                    .unwrap()
                    .clone()
            };
            let (id, user, name, channel, campaign, device, session) =
                (s(0), s(1), s(3), s(4), s(5), s(6), s(7));
            let ts = batch
                .column(2)
                .as_any()
                .downcast_ref::<TimestampMicrosecondArray>()
                .unwrap();
            let opt = |a: &StringArray, i: usize| {
                if a.is_null(i) {
                    String::new()
                } else {
                    a.value(i).to_string()
                }
            };
            for i in 0..batch.num_rows() {
                assert_eq!(ts.value(i) % 1_000_000, 0);
                out.push(Event {
                    id: id.value(i).to_string(),
                    user: user.value(i).to_string(),
                    t: ts.value(i) / 1_000_000,
                    name: name.value(i).to_string(),
                    channel: channel.value(i).to_string(),
                    campaign: opt(&campaign, i),
                    device: device.value(i).to_string(),
                    session: opt(&session, i),
                });
            }
        }
        (schema, out)
    }

    /// The first line of a file.
    fn first_line(path: &Path) -> String {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .next()
            .unwrap_or("")
            .to_string()
    }

    #[test]
    fn same_options_give_the_same_bytes() {
        for format in [SampleFormat::Csv, SampleFormat::Parquet] {
            let (a, b, c) = (
                tempfile::tempdir().unwrap(),
                tempfile::tempdir().unwrap(),
                tempfile::tempdir().unwrap(),
            );
            let sa = write_sample(&options(a.path(), 5_000, 42, format)).unwrap();
            let sb = write_sample(&options(b.path(), 5_000, 42, format)).unwrap();
            let sc = write_sample(&options(c.path(), 5_000, 43, format)).unwrap();
            assert_eq!(sa.customers, sb.customers);
            assert_eq!(sa.orders, sb.orders);
            for (fa, (fb, fc)) in sa.files.iter().zip(sb.files.iter().zip(&sc.files)) {
                let bytes = std::fs::read(fa).unwrap();
                assert!(!bytes.is_empty());
                assert_eq!(
                    bytes,
                    std::fs::read(fb).unwrap(),
                    "{} differs between runs",
                    fa.display()
                );
                assert_ne!(
                    bytes,
                    std::fs::read(fc).unwrap(),
                    "{} ignores the seed",
                    fa.display()
                );
            }
        }
    }

    #[test]
    fn writes_exactly_the_requested_rows_and_headers() {
        for n in [0u64, 1, 2, 7, 40, 5_000] {
            let dir = tempfile::tempdir().unwrap();
            let s = write_sample(&options(dir.path(), n, 7, SampleFormat::Csv)).unwrap();
            let names: Vec<_> = s
                .files
                .iter()
                .map(|f| f.file_name().unwrap().to_str().unwrap().to_string())
                .collect();
            assert_eq!(
                names,
                [
                    "customers.csv",
                    "events.csv",
                    "transactions.csv",
                    "spend.csv"
                ]
            );
            assert_eq!(first_line(&s.files[3]), "date,channel,campaign,cost");
            assert_eq!(
                first_line(&s.files[0]),
                "customer_id,email,full_name,signup_date,acquisition_channel,country"
            );
            assert_eq!(
                first_line(&s.files[1]),
                "event_id,user_id,event_timestamp,event_name,channel,campaign,device,session_id"
            );
            assert_eq!(
                first_line(&s.files[2]),
                "order_id,customer_id,order_time,amount,currency,status"
            );
            let events = read_events(&s.files[1]);
            assert_eq!(events.len() as u64, n);
            assert_eq!(s.events, n);
            let (_, customers) = read_csv(&s.files[0]);
            assert_eq!(customers.len() as u64, s.customers);
            let (_, orders) = read_csv(&s.files[2]);
            assert_eq!(orders.len() as u64, s.orders);
            // One order per distinct written purchase event.
            let purchases: BTreeSet<&str> = events
                .iter()
                .filter(|e| e.name == "purchase")
                .map(|e| e.id.as_str())
                .collect();
            assert_eq!(purchases.len() as u64, s.orders);
            // Spend: one row per day, paid channel and campaign with sessions; the cost is
            // sessions × cost per session × a factor in [0.8, 1.2). Sessions with an id are a
            // lower bound of the sessions that day, so cost ≥ 0.8 × cps × sessions with id.
            let (_, spend) = read_csv(&s.files[3]);
            assert_eq!(spend.len() as u64, s.spend_rows);
            let mut first: BTreeMap<&str, &Event> = BTreeMap::new();
            for e in &events {
                if !e.session.is_empty() {
                    let f = first.entry(e.session.as_str()).or_insert(e);
                    if e.t < f.t {
                        *f = e;
                    }
                }
            }
            let mut with_id: BTreeMap<(String, String, String), usize> = BTreeMap::new();
            for e in first.values() {
                let key = (
                    date_of(e.t).to_string(),
                    e.channel.clone(),
                    e.campaign.clone(),
                );
                *with_id.entry(key).or_default() += 1;
            }
            for row in &spend {
                let ch = CHANNELS
                    .iter()
                    .position(|c| *c == &row[1])
                    .expect("a known channel");
                let cps = COST_PER_SESSION[ch];
                assert!(cps > 0.0, "{row:?}: an unpaid channel has spend");
                assert!(
                    &row[1] != "social" || !row[2].is_empty(),
                    "{row:?}: organic social is free"
                );
                let cost: f64 = row[3].parse().unwrap();
                let (int, frac) = row[3].split_once('.').unwrap();
                assert!(!int.is_empty() && frac.len() == 2, "{row:?}");
                let key = (row[0].to_string(), row[1].to_string(), row[2].to_string());
                let n = with_id.get(&key).copied().unwrap_or(0) as f64;
                assert!(
                    cost + 0.005 >= 0.8 * cps * n,
                    "{row:?}: {n} sessions with an id"
                );
            }

            let dir = tempfile::tempdir().unwrap();
            let s = write_sample(&options(dir.path(), n, 7, SampleFormat::Parquet)).unwrap();
            assert_eq!(s.files[1].file_name().unwrap(), "events.parquet");
            assert_eq!(read_parquet(&s.files[1]).1.len() as u64, n);
        }
    }

    #[test]
    fn dirty_data_shares_and_customer_count() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_sample(&options(dir.path(), 80_000, 1, SampleFormat::Csv)).unwrap();
        let events = read_events(&s.files[1]);
        let n = events.len() as f64;
        // About one customer per 40 rows.
        assert!(
            (1_400..=2_800).contains(&s.customers),
            "customers: {}",
            s.customers
        );

        // Duplicates: same event_id means the same row.
        let mut by_id: BTreeMap<&str, &Event> = BTreeMap::new();
        let mut dups = 0usize;
        let mut adjacent = 0usize;
        for (i, e) in events.iter().enumerate() {
            if let Some(prev) = by_id.insert(&e.id, e) {
                assert_eq!(prev, e, "event_id {} reused for a different row", e.id);
                dups += 1;
                if i > 0 && events[i - 1] == *e {
                    adjacent += 1;
                }
            }
        }
        let share = dups as f64 / n;
        assert!((0.003..=0.008).contains(&share), "duplicate share {share}");
        assert!(
            adjacent < dups / 2,
            "duplicates should mostly not be adjacent"
        );
        // Event ids of distinct events are E00000001, E00000002, …
        for (k, id) in by_id.keys().enumerate() {
            assert_eq!(*id, format!("E{:08}", k + 1));
        }

        let empty = events.iter().filter(|e| e.session.is_empty()).count() as f64 / n;
        assert!(
            (0.03..=0.075).contains(&empty),
            "empty session share {empty}"
        );

        let (header, customers) = read_csv(&s.files[0]);
        assert_eq!(header, CUSTOMERS_HEADER);
        let known: BTreeSet<&str> = customers.iter().map(|r| r.get(0).unwrap()).collect();
        assert_eq!(known.len(), customers.len(), "customer ids are unique");
        let orphans = events
            .iter()
            .filter(|e| !known.contains(e.user.as_str()))
            .count() as f64
            / n;
        assert!((0.003..=0.009).contains(&orphans), "orphan share {orphans}");
    }

    #[test]
    fn values_are_well_formed_and_in_the_period() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_sample(&options(dir.path(), 30_000, 3, SampleFormat::Csv)).unwrap();
        let events = read_events(&s.files[1]);
        let is_id = |s: &str, p: char, w: usize| {
            s.starts_with(p) && s.len() > w && s[1..].bytes().all(|b| b.is_ascii_digit())
        };
        let mut campaigns = BTreeSet::new();
        for e in &events {
            assert!(e.t >= START && e.t < END, "{} outside the period", e.t);
            assert!(is_id(&e.id, 'E', 8), "{}", e.id);
            assert!(is_id(&e.user, 'C', 6), "{}", e.user);
            assert!(
                e.session.is_empty() || is_id(&e.session, 'S', 7),
                "{}",
                e.session
            );
            assert!(EVENT_NAMES.contains(&e.name.as_str()), "{}", e.name);
            assert!(CHANNELS.contains(&e.channel.as_str()), "{}", e.channel);
            assert!(DEVICES.contains(&e.device.as_str()), "{}", e.device);
            if e.channel == "direct" || e.channel == "organic_search" {
                assert_eq!(e.campaign, "");
            } else {
                assert_ne!(e.campaign, "", "{e:?}");
                campaigns.insert(e.campaign.clone());
            }
        }
        assert!(campaigns.iter().any(|c| c.starts_with("newsletter_w")));
        assert!(campaigns.contains("black_friday") && campaigns.contains("brand"));
        for name in EVENT_NAMES {
            assert!(events.iter().any(|e| e.name == name), "no {name}");
        }
        for ch in CHANNELS {
            assert!(events.iter().any(|e| e.channel == ch), "no {ch}");
        }

        let (_, customers) = read_csv(&s.files[0]);
        let mut odd_names = 0;
        for c in &customers {
            assert!(is_id(&c[0], 'C', 6));
            assert!(
                c[1].contains('@') && c[1].is_ascii() && !c[1].contains(' '),
                "{}",
                &c[1]
            );
            let signup = chrono::NaiveDateTime::parse_from_str(&c[3], "%Y-%m-%d %H:%M:%S").unwrap();
            let signup = signup.and_utc().timestamp();
            assert!(signup >= START - 365 * DAY && signup < END);
            assert!(CHANNELS.contains(&&c[4]));
            assert!(COUNTRIES.contains(&&c[5]));
            if c[2].contains(',') || c[2].contains('\'') || !c[2].is_ascii() {
                odd_names += 1;
            }
        }
        assert!(odd_names > 0, "names should exercise quoting and escaping");
        let raw = std::fs::read_to_string(&s.files[0]).unwrap();
        assert!(raw.contains(", Jr.\""), "a name with a comma, quoted");
        let emails: BTreeSet<&str> = customers.iter().map(|c| c.get(1).unwrap()).collect();
        assert_eq!(emails.len(), customers.len(), "e-mail addresses are unique");
        let pre = customers
            .iter()
            .filter(|c| {
                chrono::NaiveDateTime::parse_from_str(&c[3], "%Y-%m-%d %H:%M:%S")
                    .unwrap()
                    .and_utc()
                    .timestamp()
                    < START
            })
            .count() as f64
            / customers.len() as f64;
        assert!(
            (0.14..=0.26).contains(&pre),
            "signed up before the period: {pre}"
        );

        let (header, orders) = read_csv(&s.files[2]);
        assert_eq!(header, ORDERS_HEADER);
        let mut statuses: BTreeMap<String, usize> = BTreeMap::new();
        for (k, o) in orders.iter().enumerate() {
            assert_eq!(&o[0], format!("O{:07}", k + 1));
            let t = rfc3339(&o[2]);
            assert!(t >= START && t < END);
            let (units, cents) = o[3].split_once('.').unwrap();
            assert!(
                cents.len() == 2 && units.bytes().all(|b| b.is_ascii_digit()),
                "{}",
                &o[3]
            );
            assert_eq!(&o[4], "EUR");
            *statuses.entry(o[5].to_string()).or_default() += 1;
        }
        assert_eq!(
            statuses.keys().map(String::as_str).collect::<Vec<_>>(),
            ["cancelled", "completed", "refunded"]
        );
        assert!(statuses["completed"] as f64 / orders.len() as f64 > 0.88);
    }

    #[test]
    fn orders_follow_purchase_events() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_sample(&options(dir.path(), 30_000, 11, SampleFormat::Csv)).unwrap();
        let events = read_events(&s.files[1]);
        let (_, orders) = read_csv(&s.files[2]);
        let mut purchases: BTreeMap<&str, Vec<(i64, &str)>> = BTreeMap::new();
        let mut seen = BTreeSet::new();
        for e in &events {
            if e.name == "purchase" && seen.insert(&e.id) {
                purchases.entry(&e.user).or_default().push((e.t, &e.id));
            }
        }
        let users: BTreeSet<&str> = events.iter().map(|e| e.user.as_str()).collect();
        let mut matched = BTreeSet::new();
        for o in &orders {
            assert!(
                users.contains(&o[1]),
                "order {} of a customer without events",
                &o[0]
            );
            let t = rfc3339(&o[2]);
            let candidates = purchases.get(&o[1]).expect("buyer has purchase events");
            let hit = candidates
                .iter()
                .find(|(pt, id)| *pt <= t && t <= pt + 60 && !matched.contains(id))
                .unwrap_or_else(|| panic!("order {} has no purchase event 0-60 s before", &o[0]));
            matched.insert(hit.1);
        }
        assert_eq!(matched.len(), seen.len());
    }

    #[test]
    fn sessions_are_separated_by_thirty_minutes() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_sample(&options(dir.path(), 40_000, 5, SampleFormat::Csv)).unwrap();
        let events = read_events(&s.files[1]);
        let mut seen = BTreeSet::new();
        let mut by_user: BTreeMap<&str, Vec<&Event>> = BTreeMap::new();
        for e in &events {
            if seen.insert(&e.id) {
                by_user.entry(&e.user).or_default().push(e);
            }
        }
        let mut session_user: BTreeMap<&str, &str> = BTreeMap::new();
        let mut session_len: BTreeMap<&str, usize> = BTreeMap::new();
        for (user, evs) in by_user.iter_mut() {
            // Written in time order per customer.
            assert!(
                evs.windows(2).all(|w| w[0].t <= w[1].t),
                "{user} not in time order"
            );
            for w in evs.windows(2) {
                let gap = w[1].t - w[0].t;
                if !w[0].session.is_empty() && w[0].session == w[1].session {
                    assert!(
                        gap <= SESSION_GAP,
                        "{user}: gap {gap} s inside session {}",
                        w[0].session
                    );
                } else if w[0].session != w[1].session {
                    assert!(
                        gap > SESSION_GAP,
                        "{user}: sessions {} and {} only {gap} s apart",
                        w[0].session,
                        w[1].session
                    );
                }
            }
            for e in evs.iter().filter(|e| !e.session.is_empty()) {
                assert_eq!(*session_user.entry(&e.session).or_insert(user), *user);
                *session_len.entry(&e.session).or_default() += 1;
            }
        }
        assert!(
            session_len
                .values()
                .all(|&n| (1..=MAX_SESSION_EVENTS).contains(&n))
        );
        // Session ids are S0000001, S0000002, … in order of first appearance.
        let mut order: Vec<&str> = Vec::new();
        let mut firsts = BTreeSet::new();
        for e in &events {
            if !e.session.is_empty() && firsts.insert(e.session.as_str()) {
                order.push(&e.session);
            }
        }
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted);
    }

    #[test]
    fn parquet_has_the_contract_schema_and_the_csv_content() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let sc = write_sample(&options(a.path(), 70_000, 9, SampleFormat::Csv)).unwrap();
        let sp = write_sample(&options(b.path(), 70_000, 9, SampleFormat::Parquet)).unwrap();
        assert_eq!((sc.customers, sc.orders), (sp.customers, sp.orders));
        let (schema, from_parquet) = read_parquet(&sp.files[1]);
        let fields: Vec<(String, DataType, bool)> = schema
            .fields()
            .iter()
            .map(|f| (f.name().clone(), f.data_type().clone(), f.is_nullable()))
            .collect();
        let mut expected: Vec<(String, DataType, bool)> = EVENTS_HEADER
            .iter()
            .map(|n| (n.to_string(), DataType::Utf8, true))
            .collect();
        expected[2].1 = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        assert_eq!(fields, expected);
        assert_eq!(from_parquet, read_events(&sc.files[1]));
        assert_eq!(
            std::fs::read(&sc.files[0]).unwrap(),
            std::fs::read(&sp.files[0]).unwrap()
        );
        assert_eq!(
            std::fs::read(&sc.files[2]).unwrap(),
            std::fs::read(&sp.files[2]).unwrap()
        );
        // More than one batch and row group worth of writing went through.
        let meta =
            ParquetRecordBatchReaderBuilder::try_new(File::open(&sp.files[1]).unwrap()).unwrap();
        assert_eq!(meta.metadata().file_metadata().num_rows(), 70_000);
    }

    #[test]
    fn looks_like_business_data() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_sample(&options(dir.path(), 200_000, 2, SampleFormat::Csv)).unwrap();
        let events = read_events(&s.files[1]);
        let mut seen = BTreeSet::new();
        let distinct: Vec<&Event> = events.iter().filter(|e| seen.insert(&e.id)).collect();

        // Funnel: sessions reaching each step (sessions with an id only).
        let mut steps: BTreeMap<&str, [bool; 5]> = BTreeMap::new();
        let mut channel_of: BTreeMap<&str, &str> = BTreeMap::new();
        for e in distinct.iter().filter(|e| !e.session.is_empty()) {
            let k = match e.name.as_str() {
                "page_view" => 0,
                "product_view" => 1,
                "add_to_cart" => 2,
                "checkout_start" => 3,
                "purchase" => 4,
                _ => continue,
            };
            steps.entry(&e.session).or_default()[k] = true;
            channel_of.insert(&e.session, &e.channel);
        }
        let reach = |k: usize| steps.values().filter(|s| s[k]).count() as f64;
        let rates: Vec<f64> = (1..5).map(|k| reach(k) / reach(k - 1)).collect();
        for (r, (lo, hi)) in rates
            .iter()
            .zip([(0.5, 0.72), (0.28, 0.5), (0.45, 0.7), (0.55, 0.8)])
        {
            assert!((lo..=hi).contains(r), "step rates {rates:?}");
        }
        // Channel conversion: email and paid_search beat display and social.
        let cr = |ch: &str| {
            let sessions: Vec<_> = steps.iter().filter(|(s, _)| channel_of[*s] == ch).collect();
            sessions.iter().filter(|(_, st)| st[4]).count() as f64 / sessions.len() as f64
        };
        let (email, paid, display, social) =
            (cr("email"), cr("paid_search"), cr("display"), cr("social"));
        assert!(
            email.min(paid) > 1.5 * display.max(social),
            "{email} {paid} {display} {social}"
        );

        // Rhythm: Berlin evenings are busier than Berlin nights.
        let mut by_hour = [0usize; 24];
        for e in &distinct {
            let t = chrono::DateTime::from_timestamp(e.t, 0).unwrap();
            by_hour[Berlin.from_utc_datetime(&t.naive_utc()).hour() as usize] += 1;
        }
        assert!(by_hour[20] > 8 * by_hour[4], "{by_hour:?}");
        assert!(by_hour[12] > 4 * by_hour[4], "{by_hour:?}");
        // Growth: the last quarter of the period is busier than the first.
        let quarter = (END - START) / 4;
        let q1 = distinct.iter().filter(|e| e.t < START + quarter).count();
        let q4 = distinct.iter().filter(|e| e.t >= END - quarter).count();
        assert!(q4 as f64 > 1.2 * q1 as f64, "q1 {q1} q4 {q4}");
        // Devices: mobile most common.
        let dev = |d: &str| distinct.iter().filter(|e| e.device == d).count();
        assert!(dev("mobile") > dev("desktop") && dev("desktop") > dev("tablet"));

        // Repeat buyers and spend.
        let (_, orders) = read_csv(&s.files[2]);
        let mut per_customer: BTreeMap<&str, usize> = BTreeMap::new();
        let mut amounts: Vec<f64> = Vec::new();
        for o in &orders {
            *per_customer.entry(o.get(1).unwrap()).or_default() += 1;
            amounts.push(o[3].parse().unwrap());
        }
        let once = per_customer.values().filter(|&&n| n == 1).count();
        let repeat = per_customer.values().filter(|&&n| n >= 2).count();
        let many = per_customer.values().filter(|&&n| n >= 5).count();
        assert!(
            once > repeat && repeat > 0 && many > 0,
            "once {once} repeat {repeat} many {many}"
        );
        amounts.sort_by(f64::total_cmp);
        let median = amounts[amounts.len() / 2];
        assert!((35.0..=70.0).contains(&median), "median order {median}");
        assert!(
            *amounts.last().unwrap() > 500.0,
            "max order {}",
            amounts.last().unwrap()
        );
    }

    #[test]
    fn rejects_an_empty_period() {
        let dir = tempfile::tempdir().unwrap();
        let mut o = options(dir.path(), 10, 1, SampleFormat::Csv);
        o.days = 0;
        assert_eq!(write_sample(&o).unwrap_err().kind, crate::ErrorKind::Config);
    }

    #[test]
    fn reports_the_file_it_cannot_write() {
        let dir = tempfile::tempdir().unwrap();
        let blocker = dir.path().join("not-a-dir");
        std::fs::write(&blocker, "x").unwrap();
        let err = write_sample(&options(&blocker, 10, 1, SampleFormat::Csv)).unwrap_err();
        assert_eq!(err.kind, crate::ErrorKind::Internal);
        assert!(err.message.contains("not-a-dir"), "{}", err.message);
    }

    #[test]
    fn formats_ids_and_times_by_hand() {
        let mut b = [0u8; 24];
        assert_eq!(fmt_id(&mut b, b'C', 6, 123), b"C000123");
        assert_eq!(fmt_id(&mut b, b'E', 8, 123_456_789), b"E123456789");
        assert_eq!(fmt_id(&mut b, b'S', 7, 0), b"S0000000");
        let mut t = [0u8; 20];
        assert_eq!(fmt_ts(&mut t, 0, true), b"1970-01-01T00:00:00Z");
        // 2026-10-31T14:03:22Z = 1_793_491_200 - 86_400 + 14*3600 + 3*60 + 22
        assert_eq!(
            fmt_ts(&mut t, END - DAY + 50_602, true),
            b"2026-10-31T14:03:22Z"
        );
        assert_eq!(fmt_ts(&mut t, 951_782_400, false), b"2000-02-29 00:00:00");
        assert_eq!(fmt_ts(&mut t, -1, true), b"1969-12-31T23:59:59Z");
        assert_eq!(black_friday(2025), 28);
        assert_eq!(black_friday(2026), 27);
    }

    /// Prints shape statistics, for calibrating the constants:
    /// `cargo test --release --lib sample::tests::stats -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn stats() {
        let dir = tempfile::tempdir().unwrap();
        let s = write_sample(&options(dir.path(), 400_000, 1, SampleFormat::Csv)).unwrap();
        let events = read_events(&s.files[1]);
        let sessions: BTreeSet<&str> = events.iter().map(|e| e.session.as_str()).collect();
        println!(
            "customers {} (events/customer {:.1}), orders {}, sessions {}, events/session {:.2}",
            s.customers,
            s.events as f64 / s.customers as f64,
            s.orders,
            sessions.len(),
            events.len() as f64 / sessions.len() as f64
        );
        let mut per_user: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &events {
            *per_user.entry(&e.user).or_default() += 1;
        }
        let mut counts: Vec<usize> = per_user.values().copied().collect();
        counts.sort();
        println!(
            "events per active customer: median {} p90 {} p99 {} max {} (active {})",
            counts[counts.len() / 2],
            counts[counts.len() * 9 / 10],
            counts[counts.len() * 99 / 100],
            counts.last().unwrap(),
            counts.len()
        );
        let mut names: BTreeMap<&str, usize> = BTreeMap::new();
        let mut channels: BTreeMap<&str, usize> = BTreeMap::new();
        for e in &events {
            *names.entry(&e.name).or_default() += 1;
            *channels.entry(&e.channel).or_default() += 1;
        }
        println!("{names:?}\n{channels:?}");
        let mut steps: BTreeMap<&str, [bool; 5]> = BTreeMap::new();
        let mut channel_of: BTreeMap<&str, &str> = BTreeMap::new();
        for e in events.iter().filter(|e| !e.session.is_empty()) {
            if let Some(k) = EVENT_NAMES[..5].iter().position(|n| *n == e.name) {
                steps.entry(&e.session).or_default()[k] = true;
                channel_of.insert(&e.session, &e.channel);
            }
        }
        let reach = |k: usize| steps.values().filter(|s| s[k]).count() as f64;
        let rates: Vec<String> = (1..5)
            .map(|k| format!("{:.3}", reach(k) / reach(k - 1)))
            .collect();
        println!(
            "funnel step rates {rates:?}, session conversion {:.4}",
            reach(4) / reach(0)
        );
        for ch in CHANNELS {
            let of: Vec<_> = steps.iter().filter(|(s, _)| channel_of[*s] == ch).collect();
            let cr = of.iter().filter(|(_, st)| st[4]).count() as f64 / of.len() as f64;
            print!("{ch} {cr:.4}  ");
        }
        println!();
        let (_, orders) = read_csv(&s.files[2]);
        let mut per_customer: BTreeMap<String, usize> = BTreeMap::new();
        for o in &orders {
            *per_customer.entry(o[1].to_string()).or_default() += 1;
        }
        let mut hist = [0usize; 12];
        for &n in per_customer.values() {
            hist[n.min(11)] += 1;
        }
        println!(
            "buyers {} orders-per-buyer histogram {hist:?}",
            per_customer.len()
        );
    }

    /// `cargo test --release --lib sample::tests::timing -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn timing() {
        for format in [SampleFormat::Csv, SampleFormat::Parquet] {
            let dir = tempfile::tempdir().unwrap();
            let t = std::time::Instant::now();
            let s = write_sample(&options(dir.path(), 1_000_000, 1, format)).unwrap();
            let size = std::fs::metadata(&s.files[1]).unwrap().len();
            println!(
                "{format:?}: 1,000,000 events in {:.2?} ({} customers, {} orders, events file {:.1} MB)",
                t.elapsed(),
                s.customers,
                s.orders,
                size as f64 / 1e6
            );
        }
    }
}
