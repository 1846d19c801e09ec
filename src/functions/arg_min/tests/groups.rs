//! The [`GroupsAccumulator`] of `arg_min` driven directly: view buffers not pinned by the
//! output, `EmitTo::First` shifting the groups, and random batches against a naive model.
//!
//! [`GroupsAccumulator`]: datafusion::logical_expr::GroupsAccumulator

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, StringArray, StringViewArray,
};
use datafusion::arrow::datatypes::DataType;
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::{texts, utf8_view};
use crate::functions::arg_min::groups::ArgMinGroups;

#[test]
fn arg_min_output_does_not_pin_shared_view_buffers() {
    // 20,000 values of 40 bytes in one view array: 800,000 bytes in its data buffers,
    // fed as 100 slices of 200 rows (as batches of one Parquet page arrive), one group
    // per row. `interleave` adds each data buffer a slice points into once per slice, so
    // an output that is not garbage-collected is charged many times the 800,000 bytes by
    // `get_array_memory_size` (31.7 MB before the fix); the values themselves take
    // 20,000 × (16 + 40) = 1.12 MB.
    let values: Vec<String> = (0..20_000).map(|i| format!("{i:040}")).collect();
    let all: ArrayRef = Arc::new(StringViewArray::from_iter_values(&values));
    let (held, _) = crate::functions::arg_min::views::view_buffer_bytes(all.as_ref());
    assert!(held >= 800_000, "{held}");
    let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64]).unwrap();
    for s in 0..100 {
        let v = all.slice(s * 200, 200);
        let k: ArrayRef = Arc::new(Int64Array::from_iter_values(0..200));
        let groups: Vec<usize> = (s * 200..s * 200 + 200).collect();
        acc.update_batch(&[v, k], &groups, None, s * 200 + 200)
            .unwrap();
    }
    let out = acc.evaluate(EmitTo::All).unwrap();
    assert_eq!(out.len(), 20_000);
    assert_eq!(texts(&out)[12_345], Some(values[12_345].clone()));
    assert!(
        out.get_array_memory_size() < 2_000_000,
        "{} bytes",
        out.get_array_memory_size()
    );
}

#[test]
fn arg_min_emit_first_shifts_groups() {
    let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64]).unwrap();
    let v = utf8_view(&[
        Some("g0-5"),
        Some("g1-3"),
        Some("g2-9"),
        Some("g0-1"),
        Some("g3-2"),
    ]);
    let k: ArrayRef = Arc::new(Int64Array::from(vec![5, 3, 9, 1, 2]));
    acc.update_batch(&[v, k], &[0, 1, 2, 0, 3], None, 5)
        .unwrap();
    // Group 4 saw no row.
    let first = acc.evaluate(EmitTo::First(2)).unwrap();
    assert_eq!(
        texts(&first),
        vec![Some("g0-1".into()), Some("g1-3".into())]
    );
    // Old groups 2, 3, 4 are now 0, 1, 2; add group 3 and better keys for old 2 and 4.
    let v = utf8_view(&[Some("g2-0"), Some("g4-7"), Some("new-1"), Some("g3-8")]);
    let k: ArrayRef = Arc::new(Int64Array::from(vec![0, 7, 1, 8]));
    let f = BooleanArray::from(vec![true, true, true, true]);
    acc.update_batch(&[v, k], &[0, 2, 3, 1], Some(&f), 4)
        .unwrap();
    // state(First(1)) then merge into a fresh accumulator gives the same value.
    let state = acc.state(EmitTo::First(1)).unwrap();
    assert_eq!(state.len(), 3);
    assert_eq!(
        state[1]
            .as_primitive::<datafusion::arrow::datatypes::Int64Type>()
            .value(0),
        0
    );
    let mut other = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64]).unwrap();
    other.merge_batch(&state, &[0], 1).unwrap();
    assert_eq!(
        texts(&other.evaluate(EmitTo::All).unwrap()),
        vec![Some("g2-0".into())]
    );
    // Remaining: old 3 ("g3-2" beats "g3-8"), old 4 ("g4-7"), new ("new-1").
    let rest = acc.evaluate(EmitTo::All).unwrap();
    assert_eq!(
        texts(&rest),
        vec![
            Some("g3-2".into()),
            Some("g4-7".into()),
            Some("new-1".into())
        ]
    );
    // Empty again, and reusable.
    assert_eq!(acc.evaluate(EmitTo::All).unwrap().len(), 0);
    let v = utf8_view(&[None]);
    let k: ArrayRef = Arc::new(Int64Array::from(vec![None]));
    acc.update_batch(&[v, k], &[1], None, 2).unwrap();
    let state = acc.state(EmitTo::All).unwrap();
    assert_eq!(
        state[2].as_boolean().iter().collect::<Vec<_>>(),
        vec![Some(false), Some(true)]
    );
}

/// The reference: per group, the best (k1 NULLS LAST, k2) and its value.
type Best = Option<((bool, i64, String), Option<String>)>;

fn better(key: &(bool, i64, String), cur: &Best) -> bool {
    cur.as_ref().is_none_or(|(k, _)| key < k)
}

#[test]
fn arg_min_groups_random_against_naive() {
    let mut rng = ChaCha8Rng::seed_from_u64(3);
    let types = [DataType::Int64, DataType::Utf8];
    let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &types).unwrap();
    // Compact as often as possible.
    acc.compact_min_rows = 0;
    acc.compact_min_key_bytes = 0;
    let mut model: Vec<Best> = Vec::new();
    let mut serial = 0usize;
    for step in 0..3000 {
        let op = rng.random_range(0..20);
        if op == 0 && !model.is_empty() {
            let n = rng.random_range(0..=model.len());
            let out = acc.evaluate(EmitTo::First(n)).unwrap();
            let want: Vec<Option<String>> =
                model.drain(..n).map(|b| b.and_then(|(_, v)| v)).collect();
            assert_eq!(texts(&out), want, "evaluate(First({n})) at step {step}");
            continue;
        }
        if op == 1 && !model.is_empty() {
            // state(First(n)) merged into a fresh accumulator, in two halves.
            let n = rng.random_range(0..=model.len());
            let state = acc.state(EmitTo::First(n)).unwrap();
            let mut other = ArgMinGroups::try_new(&DataType::Utf8View, &types).unwrap();
            let half = n / 2;
            let idx: Vec<usize> = (0..n).collect();
            let head: Vec<ArrayRef> = state.iter().map(|c| c.slice(0, half)).collect();
            let tail: Vec<ArrayRef> = state.iter().map(|c| c.slice(half, n - half)).collect();
            other.merge_batch(&tail, &idx[half..], n).unwrap();
            other.merge_batch(&head, &idx[..half], n).unwrap();
            let want: Vec<Option<String>> =
                model.drain(..n).map(|b| b.and_then(|(_, v)| v)).collect();
            assert_eq!(texts(&other.evaluate(EmitTo::All).unwrap()), want);
            continue;
        }
        let total = model.len() + rng.random_range(0..3);
        if total == 0 {
            continue;
        }
        model.resize(total, None);
        let len = rng.random_range(0..12);
        let mut g = Vec::new();
        let mut k1 = Vec::new();
        let mut k2 = Vec::new();
        let mut v = Vec::new();
        let mut f = Vec::new();
        for _ in 0..len {
            serial += 1;
            g.push(rng.random_range(0..total));
            k1.push(rng.random_bool(0.8).then(|| rng.random_range(-3..3i64)));
            k2.push(format!("{}{}", "k".repeat(rng.random_range(0..40)), serial));
            v.push(
                rng.random_bool(0.9)
                    .then(|| format!("value number {serial}")),
            );
            f.push(match rng.random_range(0..10) {
                0 => None,
                1 => Some(false),
                _ => Some(true),
            });
        }
        let filter = BooleanArray::from(f.clone());
        let use_filter = rng.random_bool(0.5);
        let values: Vec<ArrayRef> = vec![
            utf8_view(&v.iter().map(|s| s.as_deref()).collect::<Vec<_>>()),
            Arc::new(Int64Array::from(k1.clone())),
            Arc::new(StringArray::from(k2.clone())),
        ];
        if rng.random_bool(0.2) {
            // As a partial state converted row by row, then merged.
            let state = acc
                .convert_to_state(&values, use_filter.then_some(&filter))
                .unwrap();
            acc.merge_batch(&state, &g, total).unwrap();
        } else {
            acc.update_batch(&values, &g, use_filter.then_some(&filter), total)
                .unwrap();
        }
        for i in 0..len {
            if use_filter && f[i] != Some(true) {
                continue;
            }
            let key = (k1[i].is_none(), k1[i].unwrap_or(0), k2[i].clone());
            if better(&key, &model[g[i]]) {
                model[g[i]] = Some((key, v[i].clone()));
            }
        }
        // Memory stays proportional to the groups, not to the input seen.
        assert!(acc.store.rows <= 2 * model.len() + 12, "step {step}");
        assert!(acc.size() > 0);
    }
    let out = acc.evaluate(EmitTo::All).unwrap();
    let want: Vec<Option<String>> = model.into_iter().map(|b| b.and_then(|(_, v)| v)).collect();
    assert_eq!(texts(&out), want);
}
