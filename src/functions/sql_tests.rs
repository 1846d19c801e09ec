//! Our SQL functions run through DataFusion on SQL strings: each checked against DataFusion's
//! own equivalent or by hand.

use datafusion::arrow::array::AsArray;
use datafusion::prelude::SessionContext;

async fn one(sql: &str) -> String {
    let ctx = SessionContext::new();
    super::register_all(&ctx);
    let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
    let col = datafusion::arrow::compute::cast(
        b[0].column(0),
        &datafusion::arrow::datatypes::DataType::Utf8,
    )
    .unwrap();
    col.as_string::<i32>().value(0).to_string()
}

/// `local_date` against DataFusion's own `CAST(local_time(ts, tz) AS DATE)` (arrow's cast,
/// through chrono's calendar), row by row: random instants 1900–2100 (before 1970 the day
/// number is negative and must round down), every 10 minutes around 2026's switches, the
/// last and first nanosecond of local days, and NULLs, in zones with half-hour and
/// 45-minute offsets, both hemispheres and the date line.
#[tokio::test]
async fn local_date_matches_cast_of_local_time() {
    use super::TIMESTAMP;
    use datafusion::arrow::array::TimestampNanosecondArray;
    use datafusion::arrow::datatypes::{Field, Int64Type, Schema};
    use datafusion::arrow::record_batch::RecordBatch;
    use rand::{Rng, SeedableRng};
    use std::sync::Arc;
    const S: i64 = 1_000_000_000;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let (from, to) = (-2_208_988_800 * S, 4_102_444_800 * S); // 1900-01-01 .. 2100-01-01
    let mut instants: Vec<Option<i64>> = (0..20_000)
        .map(|_| Some(rng.random_range(from..to)))
        .collect();
    for (start, days) in [(1_774_656_000 * S, 10), (1_790_380_800 * S, 40)] {
        instants.extend((0..days * 144).map(|m| Some(start + m * 600 * S)));
    }
    // 2026-10-31 22:59:59.999999999 UTC is 23:59:59.999999999 in Berlin; one ns later is
    // 2026-11-01 00:00 there.
    instants.extend([
        Some(1_793_487_599 * S + (S - 1)),
        Some(1_793_487_600 * S),
        None,
        Some(-1),
        Some(0),
    ]);
    let ctx = SessionContext::new();
    super::register_all(&ctx);
    let schema = Arc::new(Schema::new(vec![Field::new("ts", TIMESTAMP, true)]));
    let batch = RecordBatch::try_new(
        schema,
        vec![Arc::new(TimestampNanosecondArray::from(instants.clone()))],
    )
    .unwrap();
    ctx.register_batch("t", batch).unwrap();
    for zone in [
        "Europe/Berlin",
        "America/New_York",
        "America/St_Johns",
        "Asia/Kathmandu",
        "Australia/Lord_Howe",
        "Pacific/Kiritimati",
        "Pacific/Pago_Pago",
        "UTC",
    ] {
        let sql = format!(
            "SELECT count(*), count(local_date(ts, '{zone}')), \
                    count(*) FILTER (WHERE local_date(ts, '{zone}') IS NOT DISTINCT FROM \
                                            CAST(local_time(ts, '{zone}') AS DATE)), \
                    arrow_typeof(local_date(ts, '{zone}')) \
             FROM t GROUP BY 4"
        );
        let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let n = |i: usize| b[0].column(i).as_primitive::<Int64Type>().value(0);
        assert_eq!(n(0) as usize, instants.len(), "{zone}");
        assert_eq!(
            n(1) as usize,
            instants.len() - 1,
            "{zone}: one NULL in, one out"
        );
        assert_eq!(
            n(2),
            n(0),
            "{zone}: rows where local_date differs from the cast"
        );
        assert_eq!(b[0].column(3).as_string::<i32>().value(0), "Date32");
    }
    // By hand: 2026-10-31 22:30 UTC is 23:30 in Berlin (CET, UTC+1), still the 31st;
    // 23:30 UTC is 00:30 on 1 November. 1969-12-31 23:59:59 UTC is day -1 in UTC.
    assert_eq!(
        one("SELECT local_date(TIMESTAMP '2026-10-31 22:30:00', 'Europe/Berlin')").await,
        "2026-10-31"
    );
    assert_eq!(
        one("SELECT local_date(TIMESTAMP '2026-10-31 23:30:00', 'Europe/Berlin')").await,
        "2026-11-01"
    );
    assert_eq!(
        one("SELECT local_date(TIMESTAMP '1969-12-31 23:59:59', 'UTC')").await,
        "1969-12-31"
    );
}

/// `require_amount` passes amounts through and fails on the first completed order (any
/// case, spaces around) whose amount is empty or negative, with a `BadValue` that says
/// which status made it bad; other statuses may have any amount.
#[tokio::test]
async fn require_amount_checks_completed_orders_only() {
    let ctx = SessionContext::new();
    super::register_all(&ctx);
    let rows = |values: &str| {
        format!(
            "SELECT sum(require_amount(a, s, 'transactions.amount')) FROM (VALUES {values}) AS t(a, s)"
        )
    };
    let total = |values: &str| {
        let ctx = ctx.clone();
        let sql = rows(values);
        async move { ctx.sql(&sql).await.unwrap().collect().await }
    };
    // 10 + 0 + (-5 refunded) + (NULL cancelled) = 5.
    let ok = total("(10.0, 'completed'), (0.0, ' Completed '), (-5.0, 'refunded'), (CAST(NULL AS DOUBLE), 'cancelled')").await.unwrap();
    let text = datafusion::arrow::util::pretty::pretty_format_batches(&ok)
        .unwrap()
        .to_string();
    assert!(text.contains("| 5.0"), "{text}");
    for (values, value) in [
        ("(10.0, 'completed'), (-0.5, 'COMPLETED')", "-0.5"),
        (
            "(10.0, 'completed'), (CAST(NULL AS DOUBLE), 'completed')",
            "",
        ),
    ] {
        let err = total(values).await.unwrap_err();
        let bad = super::find_bad_value(&err).expect("a BadValue");
        assert_eq!(bad.value, value);
        assert_eq!(bad.origin, "transactions.amount");
        assert_eq!(bad.when, Some(("status".into(), "completed".into())));
    }
}

/// `blank_to_null` against DataFusion's own `nullif(btrim(x), '')`, row by row, on a batch
/// that needs trimming and on one that does not (the no-copy path), with NULLs in both.
#[tokio::test]
async fn blank_to_null_matches_nullif_btrim() {
    let ctx = SessionContext::new();
    super::register_all(&ctx);
    for values in [
        "('a'), (' a'), ('a '), ('  a b  '), (''), ('   '), (NULL), ('\ta'), ('é ')",
        "('a'), ('a b'), (NULL), ('x'), ('\t')",
    ] {
        let sql = format!(
            "SELECT blank_to_null(v) IS NOT DISTINCT FROM nullif(btrim(v), ''), \
             coalesce(blank_to_null(v), '<null>') FROM (VALUES {values}) AS t(v)"
        );
        let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
        let mut got = Vec::new();
        for b in &batches {
            let same = b.column(0).as_boolean();
            let v = b.column(1).as_string::<i32>();
            for i in 0..b.num_rows() {
                assert!(same.value(i), "row {i} of {values}: {}", v.value(i));
                got.push(v.value(i).to_string());
            }
        }
        assert!(got.len() >= 5, "{got:?}");
    }
    // The first batch by hand: ' a' → 'a', '  a b  ' → 'a b', '' and '   ' → NULL, a tab
    // is not a space and stays.
    let b = ctx
        .sql("SELECT coalesce(blank_to_null(v), '<null>') FROM (VALUES (' a'), ('  a b  '), (''), ('   '), ('\ta')) AS t(v)")
        .await
        .unwrap()
        .collect()
        .await
        .unwrap();
    let v = b[0].column(0).as_string::<i32>();
    let got: Vec<&str> = (0..b[0].num_rows()).map(|i| v.value(i)).collect();
    assert_eq!(got, ["a", "a b", "<null>", "<null>", "\ta"]);
    // A Utf8View column stays Utf8View, trimmed the same way.
    assert_eq!(
        one("SELECT arrow_typeof(blank_to_null(arrow_cast(' a ', 'Utf8View')))").await,
        "Utf8View"
    );
    assert_eq!(
        one("SELECT concat('[', blank_to_null(arrow_cast(' a ', 'Utf8View')), ']')").await,
        "[a]"
    );
    assert_eq!(
        one("SELECT blank_to_null(arrow_cast('   ', 'Utf8View')) IS NULL").await,
        "true"
    );
}

#[tokio::test]
async fn local_time_crosses_daylight_saving() {
    // Europe/Berlin switches to CEST at 2026-03-29 01:00 UTC (02:00 → 03:00 local).
    assert_eq!(
        one("SELECT local_time(TIMESTAMP '2026-03-29 00:30:00', 'Europe/Berlin')").await,
        "2026-03-29T01:30:00"
    );
    assert_eq!(
        one("SELECT local_time(TIMESTAMP '2026-03-29 01:30:00', 'Europe/Berlin')").await,
        "2026-03-29T03:30:00"
    );
    // …and back to CET at 2026-10-25 01:00 UTC (03:00 → 02:00 local).
    assert_eq!(
        one("SELECT local_time(TIMESTAMP '2026-10-25 00:30:00', 'Europe/Berlin')").await,
        "2026-10-25T02:30:00"
    );
    assert_eq!(
        one("SELECT local_time(TIMESTAMP '2026-10-25 01:30:00', 'Europe/Berlin')").await,
        "2026-10-25T02:30:00"
    );
}

#[tokio::test]
async fn path_collapse_removes_consecutive_repeats_only() {
    let got = one("SELECT array_to_string(path_collapse(make_array('social', 'social', 'email', 'social', 'social')), ' > ')").await;
    assert_eq!(got, "social > email > social");
}

#[tokio::test]
async fn funnel_stage_times_in_sql() {
    // Customer 1: stage 1 at 10:00, stage 2 at 10:05, stage 3 at 10:20; window 10 minutes
    // → stage 3 is 20 minutes after stage 1, outside: depth 2.
    let got = one(
        "SELECT CAST(array_length(funnel_stage_times(t, s, 600)) AS VARCHAR) FROM (VALUES \
         (TIMESTAMP '2026-10-01 10:00:00', 1), (TIMESTAMP '2026-10-01 10:05:00', 2), \
         (TIMESTAMP '2026-10-01 10:20:00', 3)) AS v(t, s)",
    )
    .await;
    assert_eq!(got, "2");
}

/// `sql/intermediate/stg_funnel_customers.sql` takes the funnel stages a customer reached (its
/// `level` column) as the length of `funnel_stage_times` instead of calling `window_funnel` as
/// well. Second method: the two aggregates (separate code, both ClickHouse's default mode) on
/// random events with many equal times, stage 0 rows and several partitions, customer by
/// customer.
#[tokio::test]
async fn funnel_stage_times_length_is_the_stages_reached_by_window_funnel() {
    use datafusion::prelude::SessionConfig;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(12);
    let rows: Vec<String> = (0..4000)
        .map(|_| {
            let (c, t, s): (i64, i64, i64) = (
                rng.random_range(0..100),
                rng.random_range(0..400),
                rng.random_range(0..6),
            );
            format!("({c}, {t}, {s})")
        })
        .collect();
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(3)
            .with_batch_size(11),
    );
    super::register_all(&ctx);
    let sql = format!(
        "SELECT count(*) FILTER (WHERE reached IS DISTINCT FROM n), count(*), max(reached) FROM ( \
           SELECT c, window_funnel(120, '', to_timestamp_seconds(t), s) AS reached, \
                  CAST(cardinality(funnel_stage_times(to_timestamp_seconds(t), s, 120)) AS BIGINT) AS n \
           FROM (VALUES {}) AS v(c, t, s) GROUP BY c)",
        rows.join(", ")
    );
    let b = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let col = |i: usize| {
        datafusion::arrow::compute::cast(
            b[0].column(i),
            &datafusion::arrow::datatypes::DataType::Int64,
        )
        .unwrap()
        .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
        .value(0)
    };
    assert_eq!(
        (col(0), col(1)),
        (0, 100),
        "customers whose stages reached differ"
    );
    // Deep funnels occur, so the comparison covers every funnel stage.
    assert_eq!(col(2), 5);
}

#[tokio::test]
async fn funnel_stage_times_grouped_equals_the_chain_per_customer() {
    // Second method: the grouped accumulator (several partitions, 7-row batches, so
    // partial states are serialized and merged) against `funnel_chain` run directly on
    // each customer's events.
    use datafusion::prelude::SessionConfig;
    use rand::{Rng, SeedableRng};
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(11);
    let mut per_customer: std::collections::BTreeMap<i64, Vec<(i64, i64)>> = Default::default();
    let mut rows = Vec::new();
    for _ in 0..2000 {
        let c: i64 = rng.random_range(0..150);
        let t: i64 = rng.random_range(0..5000);
        let s: i64 = rng.random_range(0..5);
        rows.push(format!("({c}, {t}, {s})"));
        if s >= 1 {
            per_customer
                .entry(c)
                .or_default()
                .push((t * 1_000_000_000, s));
        }
    }
    let ctx = SessionContext::new_with_config(
        SessionConfig::new()
            .with_target_partitions(4)
            .with_batch_size(7),
    );
    super::register_all(&ctx);
    let sql = format!(
        "SELECT c, funnel_stage_times(to_timestamp_seconds(t), s, 900) AS times \
         FROM (VALUES {}) AS v(c, t, s) GROUP BY c ORDER BY c",
        rows.join(", ")
    );
    let batches = ctx.sql(&sql).await.unwrap().collect().await.unwrap();
    let mut seen = 0;
    for b in &batches {
        let cs = b
            .column(0)
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>();
        let lists = b.column(1).as_list::<i32>();
        for i in 0..b.num_rows() {
            let got: Vec<i64> = lists
                .value(i)
                .as_primitive::<datafusion::arrow::datatypes::TimestampNanosecondType>()
                .values()
                .to_vec();
            let mut ev = per_customer.get(&cs.value(i)).cloned().unwrap_or_default();
            let want = super::paths::funnel_chain(&mut ev, 900 * 1_000_000_000);
            assert_eq!(got, want, "customer {}", cs.value(i));
            seen += 1;
        }
    }
    assert_eq!(seen, 150);
}
