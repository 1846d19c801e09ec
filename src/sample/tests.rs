//! The generator end to end: [`write_sample`] on small periods, checked file by file against
//! the shape its module doc promises; plus two ignored runs that print statistics and timings.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::path::Path;

use chrono::{TimeZone, Timelike};
use chrono_tz::Europe::Berlin;
use datafusion::arrow::array::{Array, StringArray, TimestampMicrosecondArray};
use datafusion::arrow::datatypes::{DataType, SchemaRef, TimeUnit};
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::time_model::date_of;
use super::vocabulary::*;
use super::*;

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
        assert!((START - 365 * DAY..END).contains(&signup));
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
        assert!((START..END).contains(&t));
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
    let meta = ParquetRecordBatchReaderBuilder::try_new(File::open(&sp.files[1]).unwrap()).unwrap();
    assert_eq!(meta.metadata().file_metadata().num_rows(), 70_000);
}

#[test]
fn looks_like_business_data() {
    let dir = tempfile::tempdir().unwrap();
    let s = write_sample(&options(dir.path(), 200_000, 2, SampleFormat::Csv)).unwrap();
    let events = read_events(&s.files[1]);
    let mut seen = BTreeSet::new();
    let distinct: Vec<&Event> = events.iter().filter(|e| seen.insert(&e.id)).collect();

    // Funnel: sessions reaching each stage (sessions with an id only).
    let mut stages: BTreeMap<&str, [bool; 5]> = BTreeMap::new();
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
        stages.entry(&e.session).or_default()[k] = true;
        channel_of.insert(&e.session, &e.channel);
    }
    let reach = |k: usize| stages.values().filter(|s| s[k]).count() as f64;
    let rates: Vec<f64> = (1..5).map(|k| reach(k) / reach(k - 1)).collect();
    for (r, (lo, hi)) in rates
        .iter()
        .zip([(0.5, 0.72), (0.28, 0.5), (0.45, 0.7), (0.55, 0.8)])
    {
        assert!((lo..=hi).contains(r), "stage rates {rates:?}");
    }
    // Channel conversion: email and paid_search beat display and social.
    let cr = |ch: &str| {
        let sessions: Vec<_> = stages
            .iter()
            .filter(|(s, _)| channel_of[*s] == ch)
            .collect();
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
    assert_eq!(
        write_sample(&o).unwrap_err().kind,
        crate::error::ErrorKind::Config
    );
}

#[test]
fn reports_the_file_it_cannot_write() {
    let dir = tempfile::tempdir().unwrap();
    let blocker = dir.path().join("not-a-dir");
    std::fs::write(&blocker, "x").unwrap();
    let err = write_sample(&options(&blocker, 10, 1, SampleFormat::Csv)).unwrap_err();
    assert_eq!(err.kind, crate::error::ErrorKind::Internal);
    assert!(err.message.contains("not-a-dir"), "{}", err.message);
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
    let mut stages: BTreeMap<&str, [bool; 5]> = BTreeMap::new();
    let mut channel_of: BTreeMap<&str, &str> = BTreeMap::new();
    for e in events.iter().filter(|e| !e.session.is_empty()) {
        if let Some(k) = EVENT_NAMES[..5].iter().position(|n| *n == e.name) {
            stages.entry(&e.session).or_default()[k] = true;
            channel_of.insert(&e.session, &e.channel);
        }
    }
    let reach = |k: usize| stages.values().filter(|s| s[k]).count() as f64;
    let rates: Vec<String> = (1..5)
        .map(|k| format!("{:.3}", reach(k) / reach(k - 1)))
        .collect();
    println!(
        "funnel stage rates {rates:?}, session conversion {:.4}",
        reach(4) / reach(0)
    );
    for ch in CHANNELS {
        let of: Vec<_> = stages
            .iter()
            .filter(|(s, _)| channel_of[*s] == ch)
            .collect();
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
