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
//!   (journeys of several touchpoints: after a `social` or `display` session the next one is
//!   often `paid_search`, `direct` or `organic_search`; `direct` grows with the number of
//!   visits).
//! * Session start times follow an hour-of-day curve (low at night, peaks around 12–13 and
//!   19–21), a day-of-week curve and a seasonal curve (Black Friday week, December, summer
//!   dip), all evaluated in **Europe/Berlin local time** and written in UTC.
//! * A session has 1–15 events, 2 s to 20 min apart; sessions of one customer are more than
//!   30 minutes apart, so a 30-minute inactivity gap reconstructs them exactly. Inside a
//!   session: `page_view` → `product_view` → `add_to_cart` → `checkout_start` →
//!   `purchase`, each stage reached by roughly 60% / 35% / 55% / 65% of the sessions that
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
//!
//! # Where it lives
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | the public API: [`SampleOptions`], [`SampleFormat`], [`SampleSummary`], [`write_sample`] |
//! | `vocabulary.rs` | the parameters and the vocabulary (channels, events, names, campaigns, weights) |
//! | `time_model.rs` | the period and the Europe/Berlin daily, weekly and seasonal rhythm; sale dates |
//! | `generate.rs` | customers, their session start times and their sessions |
//! | `event.rs` | the generated event that `generate.rs` hands to `output.rs` |
//! | `choices.rs` | a session's event names, channel and campaign; the weighted draws |
//! | `output.rs` | the emitter of event rows (with duplicates) and orders, the CSV and Parquet sinks, `spend.csv` |
//! | `format.rs` | identifiers and timestamps formatted by hand |

mod choices;
mod event;
mod format;
mod generate;
mod output;
mod time_model;
mod vocabulary;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use crate::{Error, Result};
use generate::Generator;
use output::{Emitter, EventSink, ParquetSink, csv_writer, fail, finish_csv, write_spend};
use time_model::World;
use vocabulary::{CUSTOMERS_HEADER, DAY, EVENTS_HEADER, ORDERS_HEADER, PRE_PERIOD_DAYS, YEAR_1};

/// Output format of the events export (`customers.csv` and `transactions.csv` are always CSV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum SampleFormat {
    /// `events.csv`: comma-separated, header row, UTF-8, timestamps as RFC 3339 `…Z`.
    Csv,
    /// `events.parquet`: ZSTD-compressed Parquet; `event_timestamp` is
    /// `Timestamp(Microsecond, "UTC")`, every other column nullable Utf8.
    Parquet,
}

/// What [`write_sample`] generates and where.
#[derive(Debug, Clone)]
pub(crate) struct SampleOptions {
    /// Exact number of event rows to write, duplicate rows included (e.g. 80,000 or
    /// 10,000,000). The number of customers follows (about one per 40 rows).
    pub(crate) events: u64,
    /// Seed of the random stream: the same options give byte-identical files.
    pub(crate) seed: u64,
    /// Output folder, created (with its parents) if missing; existing files of the same
    /// names are overwritten.
    pub(crate) out: PathBuf,
    /// Format of the events export.
    pub(crate) format: SampleFormat,
    /// Last day of data (UTC), inclusive; the usual default is 2026-10-31.
    pub(crate) end_date: NaiveDate,
    /// Length of the period in days (at least 1; the usual default is 365): events fall in
    /// `[end_date + 1 - days, end_date + 1)` at 00:00 UTC.
    pub(crate) days: u32,
}

/// What [`write_sample`] wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SampleSummary {
    /// Rows of `customers.csv` (customers whose ids appear only in events are not counted).
    pub(crate) customers: u64,
    /// Rows of the events export, duplicates included: always `SampleOptions::events`.
    pub(crate) events: u64,
    /// Rows of `transactions.csv` (one per distinct written `purchase` event).
    pub(crate) orders: u64,
    /// Rows of `spend.csv`.
    pub(crate) spend_rows: u64,
    /// The files written: `customers.csv`, `events.csv` or `events.parquet`,
    /// `transactions.csv`, `spend.csv`, in that order.
    pub(crate) files: Vec<PathBuf>,
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
pub(crate) fn write_sample(opts: &SampleOptions) -> Result<SampleSummary> {
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
            EventSink::Csv(Box::new(w))
        }
        SampleFormat::Parquet => EventSink::Parquet(Box::new(ParquetSink::new(&events_path)?)),
    };
    let mut orders = csv_writer(&orders_path)?;
    orders
        .write_record(ORDERS_HEADER)
        .map_err(|e| fail(&orders_path, e))?;

    let world = World::new(start, end, pre_start);
    let mut em = Emitter::new(
        sink,
        events_path.clone(),
        orders,
        orders_path.clone(),
        opts.events,
    );
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
