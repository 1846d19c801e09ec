//! Output: the [`Emitter`] that writes event rows (with duplicates) and orders and keeps the
//! counts, the CSV and Parquet event sinks, and `spend.csv` from the paid sessions.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, StringBuilder, TimestampMicrosecondBuilder};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::parquet::arrow::ArrowWriter;
use datafusion::parquet::basic::{Compression, ZstdLevel};
use datafusion::parquet::file::properties::WriterProperties;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Normal};

use super::event::Ev;
use super::format::{ascii, fmt_id, fmt_ts};
use super::time_model::{World, date_of};
use super::vocabulary::*;
use crate::{Error, Result};

/// Writes event rows (with duplicates) and orders, and keeps the counts.
pub(super) struct Emitter {
    pub(super) sink: EventSink,
    events_path: PathBuf,
    pub(super) orders: csv::Writer<BufWriter<File>>,
    orders_path: PathBuf,
    target: u64,
    pub(super) rows: u64,
    pub(super) orphan_rows: u64,
    next_event_id: u64,
    pub(super) next_session_id: u64,
    pub(super) next_order_id: u64,
    /// Sessions of paid channels per (UTC day number, channel, campaign), for `spend.csv`.
    pub(super) paid_sessions: std::collections::BTreeMap<(i64, u8, u16), u64>,
    /// Recent distinct events, the pool duplicates are drawn from.
    ring: Vec<Ev>,
    ring_pos: usize,
    text: String,
}

impl Emitter {
    /// An emitter writing events to `sink` and orders to `orders` until `target` event rows.
    pub(super) fn new(
        sink: EventSink,
        events_path: PathBuf,
        orders: csv::Writer<BufWriter<File>>,
        orders_path: PathBuf,
        target: u64,
    ) -> Emitter {
        Emitter {
            sink,
            events_path,
            orders,
            orders_path,
            target,
            rows: 0,
            orphan_rows: 0,
            next_event_id: 1,
            next_session_id: 1,
            next_order_id: 1,
            paid_sessions: std::collections::BTreeMap::new(),
            ring: Vec::with_capacity(DUP_RING),
            ring_pos: 0,
            text: String::with_capacity(64),
        }
    }

    /// Whether the row target is reached.
    pub(super) fn full(&self) -> bool {
        self.rows >= self.target
    }

    /// Writes `ev` (a new distinct event), its order if it is a purchase, and sometimes a
    /// duplicate of a recent row. Does nothing once the row target is reached.
    pub(super) fn emit(
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

/// Where event rows go: `events.csv` or `events.parquet`.
pub(super) enum EventSink {
    Csv(Box<csv::Writer<BufWriter<File>>>),
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

    pub(super) fn finish(self, path: &Path) -> Result<()> {
        match self {
            EventSink::Csv(w) => finish_csv(*w, path),
            EventSink::Parquet(mut p) => {
                p.flush(path)?;
                p.writer.close().map_err(|e| fail(path, e))?;
                Ok(())
            }
        }
    }
}

/// Column builders of the current batch and the Parquet writer.
pub(super) struct ParquetSink {
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
    pub(super) fn new(path: &Path) -> Result<ParquetSink> {
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

/// A buffered CSV writer on a new file at `path`.
pub(super) fn csv_writer(path: &Path) -> Result<csv::Writer<BufWriter<File>>> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    Ok(csv::WriterBuilder::new().from_writer(BufWriter::with_capacity(1 << 20, file)))
}

/// Flushes a CSV writer; a failure names `path`.
pub(super) fn finish_csv(w: csv::Writer<BufWriter<File>>, path: &Path) -> Result<()> {
    let mut inner = w.into_inner().map_err(|e| fail(path, e.error()))?;
    inner.flush().map_err(|e| Error::io(path, e))?;
    Ok(())
}

/// An internal error naming the file.
pub(super) fn fail(path: &Path, e: impl std::fmt::Display) -> Error {
    Error::internal(format!("{}: {e}", path.display()))
}

/// Writes `spend.csv` from the paid sessions per (UTC day, channel, campaign), in key order.
pub(super) fn write_spend(
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
