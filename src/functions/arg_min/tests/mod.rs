//! Tests of `arg_min`: through SQL against `first_value` (here), the [`GroupsAccumulator`]
//! driven directly (`groups.rs`), the lazy key comparison (`lazy.rs`) and the key order
//! against the row format (`key_order.rs`).
//!
//! [`GroupsAccumulator`]: datafusion::logical_expr::GroupsAccumulator

mod groups;
mod key_order;
mod lazy;

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, Int64Array, RecordBatch, StringArray, StringViewArray,
    TimestampNanosecondArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Schema, TimeUnit};
use datafusion::common::ScalarValue;
use datafusion::datasource::MemTable;
use datafusion::prelude::{SessionConfig, SessionContext};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

fn ctx_with(config: SessionConfig) -> SessionContext {
    let ctx = SessionContext::new_with_config(config);
    crate::functions::register_all(&ctx);
    ctx
}

/// Every cell of the result as text (`NULL` for nulls), row by row.
pub(crate) async fn query(ctx: &SessionContext, sql: &str) -> Vec<Vec<String>> {
    cells(&ctx.sql(sql).await.unwrap().collect().await.unwrap())
}

/// The rows of `batches`, each cell as text (`NULL` for null).
pub(crate) fn cells(batches: &[RecordBatch]) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for b in batches {
        for r in 0..b.num_rows() {
            out.push(
                b.columns()
                    .iter()
                    .map(|c| {
                        let v = ScalarValue::try_from_array(c, r).unwrap();
                        if v.is_null() {
                            "NULL".to_string()
                        } else {
                            v.to_string()
                        }
                    })
                    .collect(),
            );
        }
    }
    out
}

async fn rows(sql: &str) -> Vec<Vec<String>> {
    query(&ctx_with(SessionConfig::new()), sql).await
}

fn strs(rows: &[&[&str]]) -> Vec<Vec<String>> {
    rows.iter()
        .map(|r| r.iter().map(|s| s.to_string()).collect())
        .collect()
}

const T: &str = "(VALUES \
    ('a', 2, 1, 'a-2-1'), \
    ('a', 1, 5, 'a-1-5'), \
    ('a', 1, 3, 'a-1-3'), \
    ('a', 1, NULL, 'a-1-null'), \
    ('b', NULL, 1, 'b-null-1'), \
    ('b', 7, NULL, 'b-7-null'), \
    ('c', NULL, NULL, 'c-null-null'), \
    ('d', 4, 4, NULL), \
    ('d', 5, 1, 'd-5-1') \
    ) AS t(g, k1, k2, v)";

#[tokio::test]
async fn arg_min_strings_ties_and_null_keys() {
    let got = rows(&format!(
        "SELECT g, arg_min(v, k1, k2), arg_min(v, k1, k2) = first_value(v ORDER BY k1, k2) \
         FROM {T} GROUP BY g ORDER BY g"
    ))
    .await;
    // a: ties on k1 = 1 broken by k2 (3 < 5 < NULL); b: a NULL k1 sorts after 7;
    // c: only NULL keys, still a row; d: the winner's value is NULL.
    assert_eq!(
        got,
        strs(&[
            &["a", "a-1-3", "true"],
            &["b", "b-7-null", "true"],
            &["c", "c-null-null", "true"],
            &["d", "NULL", "NULL"],
        ])
    );
}

#[tokio::test]
async fn arg_min_single_key_and_no_group_by() {
    let got = rows(&format!(
        "SELECT arg_min(v, k1), arg_min(v, k2, k1), arg_min(k2, v) FROM {T}"
    ))
    .await;
    // arg_min(v, k1): k1 = 1 is tied between three rows; any one of them is correct.
    assert!(
        ["a-1-5", "a-1-3", "a-1-null"].contains(&got[0][0].as_str()),
        "{got:?}"
    );
    // k2 = 1 is tied between k1 = 2, NULL and 5: k1 breaks it; the smallest v has k2 = 3.
    assert_eq!(got[0][1..], ["a-2-1", "3"]);
}

#[tokio::test]
async fn arg_min_filter_clause() {
    let got = rows(&format!(
        "SELECT g, arg_min(v, k1, k2) FILTER (WHERE k2 > 3), \
                arg_min(v, k1, k2) FILTER (WHERE k1 <> 7) \
         FROM {T} GROUP BY g ORDER BY g"
    ))
    .await;
    // b: k2 > 3 is false or NULL everywhere → NULL; second: NULL k1 <> 7 is NULL → excluded.
    assert_eq!(
        got,
        strs(&[
            &["a", "a-1-5", "a-1-3"],
            &["b", "NULL", "NULL"],
            &["c", "NULL", "NULL"],
            &["d", "NULL", "NULL"],
        ])
    );
    let got = rows(&format!(
        "SELECT arg_min(v, k1, k2) FILTER (WHERE g = 'zzz') FROM {T}"
    ))
    .await;
    assert_eq!(got, strs(&[&["NULL"]]));
}

#[tokio::test]
async fn arg_min_struct_value_field_access() {
    let got = rows(&format!(
        "SELECT g, arg_min(named_struct('a', v, 'b', k2), k1, k2)['a'] AS a, \
                arg_min(named_struct('a', v, 'b', k2), k1, k2)['b'] AS b \
         FROM {T} GROUP BY g ORDER BY g"
    ))
    .await;
    assert_eq!(
        got,
        strs(&[
            &["a", "a-1-3", "3"],
            &["b", "b-7-null", "NULL"],
            &["c", "c-null-null", "NULL"],
            &["d", "NULL", "4"],
        ])
    );
    // Without GROUP BY (the plain accumulator).
    let got = rows(&format!(
        "SELECT arg_min(named_struct('a', v, 'b', k2), k1, k2)['a'] FROM {T}"
    ))
    .await;
    assert_eq!(got, strs(&[&["a-1-3"]]));
}

#[tokio::test]
async fn arg_min_other_types() {
    // Timestamp / boolean / Utf8View keys; Int64, Timestamp, Boolean values.
    let got = rows(
        "SELECT g, arg_min(n, ts, arrow_cast(s, 'Utf8View')), arg_min(ts, b, n), \
                arg_min(b, arrow_cast(s, 'Utf8View')), arg_min(arrow_cast(s, 'Utf8View'), n) \
         FROM (VALUES \
           (1, 10, TIMESTAMP '2026-01-02 00:00:00', true, 'x'), \
           (1, 20, TIMESTAMP '2026-01-01 00:00:00', false, 'y'), \
           (1, 30, TIMESTAMP '2026-01-01 00:00:00', true, 'w'), \
           (2, 40, NULL, NULL, NULL)) AS t(g, n, ts, b, s) \
         GROUP BY g ORDER BY g",
    )
    .await;
    assert_eq!(
        got,
        strs(&[
            &["1", "30", "1767225600000000000", "true", "x"],
            &["2", "40", "NULL", "NULL", "NULL"],
        ])
    );
}

#[tokio::test]
async fn arg_min_empty_input() {
    let got = rows(&format!("SELECT arg_min(v, k1) FROM {T} WHERE g = 'zzz'")).await;
    assert_eq!(got, strs(&[&["NULL"]]));
    let got = rows(&format!(
        "SELECT g, arg_min(v, k1) FROM {T} WHERE g = 'zzz' GROUP BY g"
    ))
    .await;
    assert!(got.is_empty());
}

#[tokio::test]
async fn arg_min_planning_errors() {
    let ctx = ctx_with(SessionConfig::new());
    let err = ctx.sql("SELECT arg_min()").await.unwrap_err().to_string();
    assert!(err.contains("arg_min(value, key1"), "{err}");
}

/// A table of `rows` random rows in `parts` partitions of batches of up to 50 rows:
/// g (groups), k1 (small ints, 10 % NULL), k2 (unique text, so (k1, k2) is total),
/// ts (timestamps), v (text, 10 % NULL), n (ints).
fn random_table(seed: u64, rows: usize, groups: i64, parts: usize) -> MemTable {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let schema = Arc::new(Schema::new(vec![
        Field::new("g", DataType::Int64, false),
        Field::new("k1", DataType::Int64, true),
        Field::new("k2", DataType::Utf8, false),
        Field::new("ts", DataType::Timestamp(TimeUnit::Nanosecond, None), false),
        Field::new("v", DataType::Utf8, true),
        Field::new("n", DataType::Int64, false),
    ]));
    let mut partitions = vec![Vec::new(); parts];
    let mut row = 0usize;
    while row < rows {
        let len = rng.random_range(1..=50).min(rows - row);
        let ids: Vec<usize> = (row..row + len).collect();
        let g: Int64Array = ids
            .iter()
            .map(|_| Some(rng.random_range(0..groups)))
            .collect();
        let k1: Int64Array = ids
            .iter()
            .map(|_| rng.random_bool(0.9).then(|| rng.random_range(0..4)))
            .collect();
        // Unique, of varying length, not in row order.
        let k2: StringArray = ids
            .iter()
            .map(|&i| {
                let pad = "z".repeat(rng.random_range(0..20));
                Some(format!("{:x}{pad}-{i}", rng.random_range(0..1000)))
            })
            .collect();
        let ts: TimestampNanosecondArray = ids
            .iter()
            .map(|&i| Some(rng.random_range(0..1_000_000i64) * 1_000_000_000 + i as i64))
            .collect();
        let v: StringArray = ids
            .iter()
            .map(|&i| {
                rng.random_bool(0.9)
                    .then(|| format!("value-{i}-{}", "x".repeat(rng.random_range(0..30))))
            })
            .collect();
        let n: Int64Array = ids.iter().map(|&i| Some(i as i64)).collect();
        let batch = RecordBatch::try_new(
            Arc::clone(&schema),
            vec![
                Arc::new(g),
                Arc::new(k1),
                Arc::new(k2),
                Arc::new(ts),
                Arc::new(v),
                Arc::new(n),
            ],
        )
        .unwrap();
        partitions[rng.random_range(0..parts)].push(batch);
        row += len;
    }
    MemTable::try_new(schema, partitions).unwrap()
}

async fn compare_with_first_value(config: SessionConfig, seed: u64) {
    let ctx = ctx_with(config);
    ctx.register_table("t", Arc::new(random_table(seed, 6000, 700, 4)))
        .unwrap();
    let sql = "SELECT g, count(*) AS rows, \
            arg_min(v, k1, k2) AS a1, first_value(v ORDER BY k1, k2) AS f1, \
            arg_min(n, ts) AS a2, first_value(n ORDER BY ts) AS f2, \
            arg_min(v, k1, k2) FILTER (WHERE n % 3 <> 0) AS a3, \
            first_value(v ORDER BY k1, k2) FILTER (WHERE n % 3 <> 0) AS f3, \
            arg_min(named_struct('v', v, 'n', n), k2)['n'] AS a4, \
            first_value(n ORDER BY k2) AS f4, \
            arg_min(named_struct('k1', k1, 'k2', k2, 'v', v))['v'] AS a5, \
            first_value(v ORDER BY k1, k2) AS f5, \
            (arg_min(named_struct('k1', k1, 'k2', k2, 'n', n)) \
                FILTER (WHERE n % 3 <> 0))['n'] AS a6, \
            first_value(n ORDER BY k1, k2) FILTER (WHERE n % 3 <> 0) AS f6 \
        FROM t GROUP BY g ORDER BY g";
    let got = query(&ctx, sql).await;
    assert_eq!(got.len(), 700);
    let mut nulls = 0;
    for r in &got {
        assert_eq!(r[2], r[3], "arg_min(v, k1, k2) vs first_value in {r:?}");
        assert_eq!(r[4], r[5], "arg_min(n, ts) vs first_value in {r:?}");
        assert_eq!(r[6], r[7], "filtered arg_min vs first_value in {r:?}");
        assert_eq!(r[8], r[9], "struct arg_min vs first_value in {r:?}");
        assert_eq!(r[10], r[11], "arg_min(struct) vs first_value in {r:?}");
        assert_eq!(
            r[12], r[13],
            "filtered arg_min(struct) vs first_value in {r:?}"
        );
        nulls += usize::from(r[2] == "NULL") + usize::from(r[6] == "NULL");
    }
    // The data has NULL values and filtered-out groups, so NULLs must show up.
    assert!(nulls > 0);
    // The same without GROUP BY.
    let got = query(
        &ctx,
        "SELECT arg_min(v, k1, k2) = first_value(v ORDER BY k1, k2), \
                arg_min(n, ts) = first_value(n ORDER BY ts), \
                arg_min(named_struct('k1', k1, 'k2', k2, 'n', n))['n'] \
                    = first_value(n ORDER BY k1, k2) FROM t",
    )
    .await;
    assert_eq!(got, strs(&[&["true", "true", "true"]]));
}

#[tokio::test]
async fn arg_min_matches_first_value_random() {
    let config = SessionConfig::new()
        .with_target_partitions(4)
        .with_batch_size(7);
    compare_with_first_value(config, 7).await;
}

#[tokio::test]
async fn arg_min_matches_first_value_random_skip_partial() {
    // Make the partial aggregation give up early, so convert_to_state runs.
    let mut config = SessionConfig::new()
        .with_target_partitions(4)
        .with_batch_size(7);
    config = config
        .set_usize(
            "datafusion.execution.skip_partial_aggregation_probe_rows_threshold",
            10,
        )
        .set_str(
            "datafusion.execution.skip_partial_aggregation_probe_ratio_threshold",
            "0.01",
        );
    compare_with_first_value(config, 11).await;
}

/// `values` as a `Utf8View` array.
pub(super) fn utf8_view(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringViewArray::from(values.to_vec()))
}

/// The values of `a`, cast to text.
pub(super) fn texts(a: &ArrayRef) -> Vec<Option<String>> {
    let a = datafusion::arrow::compute::cast(a, &DataType::Utf8).unwrap();
    a.as_string::<i32>()
        .iter()
        .map(|s| s.map(str::to_string))
        .collect()
}
