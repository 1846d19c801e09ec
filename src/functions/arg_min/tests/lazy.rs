//! `arg_min`'s lazy key comparison: rows contested within a batch and across batches, NULL
//! keys last, floats in total order, a winner in a later batch, groups emitted while their
//! best rows are held lazily.

use std::sync::Arc;

use datafusion::arrow::array::{
    ArrayRef, AsArray, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Int64Type};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};

use super::{texts, utf8_view};
use crate::functions::arg_min::groups::ArgMinGroups;

pub(super) fn int64(values: &[Option<i64>]) -> ArrayRef {
    Arc::new(Int64Array::from(values.to_vec()))
}

pub(super) fn utf8(values: &[Option<&str>]) -> ArrayRef {
    Arc::new(StringArray::from(values.to_vec()))
}

pub(super) fn some<T: Copy>(values: &[T]) -> Vec<Option<T>> {
    values.iter().copied().map(Some).collect()
}

pub(super) fn some_texts(values: &[&str]) -> Vec<Option<String>> {
    values.iter().map(|s| Some(s.to_string())).collect()
}

#[test]
fn arg_min_contested_within_and_across_batches() {
    // Keys (k1 Int64, k2 Utf8); groups 0..4.
    for compact in [false, true] {
        let mut acc =
            ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64, DataType::Utf8]).unwrap();
        if compact {
            acc.compact_min_rows = 0;
            acc.compact_min_key_bytes = 0;
        }
        // Batch 1: g0 gets (5,b), then (5,a) in the same batch, which is smaller (k2
        // breaks the k1 tie), then (6,a), larger; g1 (3,x) and g2 (1,z) are alone.
        acc.update_batch(
            &[
                utf8_view(&[
                    Some("g0-a"),
                    Some("g1-a"),
                    Some("g0-b"),
                    Some("g2-a"),
                    Some("g0-c"),
                ]),
                int64(&some(&[5, 3, 5, 1, 6])),
                utf8(&some(&["b", "x", "a", "z", "a"])),
            ],
            &[0, 1, 0, 2, 0],
            None,
            3,
        )
        .unwrap();
        // Batch 2, as a converted partial state merged: g2's (0,zz) beats the batch-1
        // (1,z), then (0,zy) beats (0,zz) in this batch; g0's (5,aa) loses to (5,a) (a
        // prefix sorts first); g3 (9,q) is new.
        let values = [
            utf8_view(&[Some("g2-b"), Some("g0-d"), Some("g3-a"), Some("g2-c")]),
            int64(&some(&[0, 5, 9, 0])),
            utf8(&some(&["zz", "aa", "q", "zy"])),
        ];
        let state = acc.convert_to_state(&values, None).unwrap();
        acc.merge_batch(&state, &[2, 0, 3, 2], 4).unwrap();
        // Batch 3: g3's (-1,q) beats (9,q) of batch 2; g0's (4,zzz) beats (5,a) of
        // batch 1 (k1 decides before k2); g1's (4,a) loses to (3,x) of batch 1 and g2's
        // (0,zz0) to (0,zy) of batch 2.
        acc.update_batch(
            &[
                utf8_view(&[Some("g3-b"), Some("g1-b"), Some("g0-e"), Some("g2-d")]),
                int64(&some(&[-1, 4, 4, 0])),
                utf8(&some(&["q", "a", "zzz", "zz0"])),
            ],
            &[3, 1, 0, 2],
            None,
            4,
        )
        .unwrap();
        let state = acc.state(EmitTo::All).unwrap();
        assert_eq!(
            texts(&state[0]),
            some_texts(&["g0-e", "g1-a", "g2-c", "g3-b"]),
            "compact: {compact}"
        );
        assert_eq!(
            state[1]
                .as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<_>>(),
            some(&[4, 3, 0, -1])
        );
        assert_eq!(texts(&state[2]), some_texts(&["zzz", "x", "zy", "q"]));
    }
}

#[test]
fn arg_min_null_keys_sort_last_in_mixed_groups() {
    // Keys (k1 Int64, k2 Utf8View), both nullable; groups 0..6, some seen once.
    let mut acc =
        ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Int64, DataType::Utf8View]).unwrap();
    acc.update_batch(
        &[
            utf8_view(&[
                Some("g0-null-a"),
                Some("g1-1-null"),
                Some("g2-2-b"),
                Some("g3-null-null"),
                Some("g4-7-c"),
                Some("g1-1-z"),
            ]),
            int64(&[None, Some(1), Some(2), None, Some(7), Some(1)]),
            utf8_view(&[Some("a"), None, Some("b"), None, Some("c"), Some("z")]),
        ],
        &[0, 1, 2, 3, 4, 1],
        None,
        5,
    )
    .unwrap();
    // Batch 2, with a filter (NULL and false exclude a row).
    acc.update_batch(
        &[
            utf8_view(&[
                Some("g0-100-zzz"),
                Some("g4-null-a"),
                Some("g5-null-x"),
                Some("g5-null-null"),
                Some("g1-again"),
                Some("g2-filtered"),
                Some("g3-filtered"),
                Some("g5-filtered"),
            ]),
            int64(&[
                Some(100),
                None,
                None,
                None,
                Some(1),
                Some(0),
                Some(0),
                Some(0),
            ]),
            utf8_view(&[
                Some("zzz"),
                Some("a"),
                Some("x"),
                None,
                None,
                Some("a"),
                None,
                None,
            ]),
        ],
        &[0, 4, 5, 5, 1, 2, 3, 5],
        Some(&BooleanArray::from(vec![
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(true),
            Some(false),
            None,
            Some(false),
        ])),
        6,
    )
    .unwrap();
    // g0: (100,zzz) beats (NULL,a) of batch 1: a NULL k1 sorts after every number.
    // g1: (1,z) beat (1,NULL) within batch 1; (1,NULL) again in batch 2 ties and loses.
    // g2: alone, (0,a) filtered out. g3: all-NULL keys still give a row; the filtered
    // row does not count. g4: (NULL,a) loses to (7,c). g5: new in batch 2, (NULL,x) beats
    // (NULL,NULL) on k2; its filtered (0,NULL) would have won.
    assert_eq!(
        texts(&acc.evaluate(EmitTo::All).unwrap()),
        some_texts(&[
            "g0-100-zzz",
            "g1-1-z",
            "g2-2-b",
            "g3-null-null",
            "g4-7-c",
            "g5-null-x"
        ])
    );
}

#[test]
fn arg_min_float_keys_total_order() {
    // IEEE 754 total order, as the row format sorts: -NaN < -inf < -0.0 < 0.0 < inf < NaN,
    // NULL last. First check the row format itself orders these so.
    let ordered = [
        f64::from_bits(f64::NAN.to_bits() | (1 << 63)),
        f64::NEG_INFINITY,
        -1.5,
        -0.0,
        0.0,
        1.5,
        f64::INFINITY,
        f64::NAN,
    ];
    let (conv, _) = crate::functions::arg_min::order::key_converter(&[DataType::Float64]).unwrap();
    let mut with_null: Vec<Option<f64>> = some(&ordered);
    with_null.push(None);
    let arr: ArrayRef = Arc::new(Float64Array::from(with_null));
    let rows = conv.convert_columns(&[arr]).unwrap();
    for i in 1..rows.num_rows() {
        assert!(rows.row(i - 1) < rows.row(i), "row format order at {i}");
    }
    for t in [DataType::Float64, DataType::Float32] {
        let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, std::slice::from_ref(&t)).unwrap();
        let key = |v: &[Option<f64>]| -> ArrayRef {
            let a: ArrayRef = Arc::new(Float64Array::from(v.to_vec()));
            datafusion::arrow::compute::cast(&a, &t).unwrap()
        };
        let neg_nan = ordered[0];
        // Batch 1 (groups 0..7).
        acc.update_batch(
            &[
                utf8_view(&[
                    Some("g0-zero"),
                    Some("g1-neg-zero"),
                    Some("g2-nan"),
                    Some("g3-nan"),
                    Some("g4-null"),
                    Some("g5-neg-inf"),
                    Some("g6-1.5"),
                    Some("g1-zero"),
                    Some("g6-nan"),
                ]),
                key(&[
                    Some(0.0),
                    Some(-0.0),
                    Some(f64::NAN),
                    Some(f64::NAN),
                    None,
                    Some(f64::NEG_INFINITY),
                    Some(1.5),
                    Some(0.0),
                    Some(f64::NAN),
                ]),
            ],
            &[0, 1, 2, 3, 4, 5, 6, 1, 6],
            None,
            7,
        )
        .unwrap();
        // Batch 2.
        acc.update_batch(
            &[
                utf8_view(&[
                    Some("g0-neg-zero"),
                    Some("g2-inf"),
                    Some("g3-null"),
                    Some("g4-nan"),
                    Some("g5-neg-nan"),
                ]),
                key(&[
                    Some(-0.0),
                    Some(f64::INFINITY),
                    None,
                    Some(f64::NAN),
                    Some(neg_nan),
                ]),
            ],
            &[0, 2, 3, 4, 5],
            None,
            7,
        )
        .unwrap();
        // g0: -0.0 (batch 2) < 0.0; g1: 0.0 loses to -0.0 in the same batch; g2: inf <
        // NaN; g3: NaN beats NULL; g4: NaN beats NULL; g5: -NaN < -inf; g6: 1.5 < NaN.
        assert_eq!(
            texts(&acc.evaluate(EmitTo::All).unwrap()),
            some_texts(&[
                "g0-neg-zero",
                "g1-neg-zero",
                "g2-inf",
                "g3-nan",
                "g4-nan",
                "g5-neg-nan",
                "g6-1.5"
            ]),
            "{t}"
        );
    }
}

#[test]
fn arg_min_string_winner_in_later_batch() {
    // Long strings live in the views' data buffers, short ones inline.
    for (compact, key_type) in [
        (false, DataType::Utf8View),
        (true, DataType::Utf8View),
        (false, DataType::LargeUtf8),
    ] {
        let mut acc =
            ArgMinGroups::try_new(&DataType::Int64, std::slice::from_ref(&key_type)).unwrap();
        if compact {
            acc.compact_min_rows = 0;
            acc.compact_min_key_bytes = 0;
        }
        let key = |v: &[Option<&str>]| -> ArrayRef {
            datafusion::arrow::compute::cast(&utf8(v), &key_type).unwrap()
        };
        type Batch<'a> = (&'a [Option<&'a str>], &'a [usize], &'a [i64]);
        let batches: [Batch; 3] = [
            (
                &[
                    Some("customer-000000000042-zeta"),
                    Some("short"),
                    Some(""),
                    Some("customer-000000000042-zeta-2"),
                ],
                &[0, 1, 2, 3],
                &[10, 11, 12, 13],
            ),
            (
                &[Some("customer-000000000042-alpha"), Some("a"), Some("b")],
                &[0, 2, 4],
                &[20, 21, 22],
            ),
            (
                &[
                    Some("customer-000000000042-alphabet"),
                    Some("shore"),
                    Some("customer-000000000042-zeta"),
                    Some("a"),
                ],
                &[0, 1, 3, 4],
                &[30, 31, 32, 33],
            ),
        ];
        for (keys, groups, values) in batches {
            acc.update_batch(&[int64(&some(values)), key(keys)], groups, None, 5)
                .unwrap();
        }
        // g0: "…-alpha" (batch 2) < "…-alphabet" (batch 3, longer) < "…-zeta" (batch 1);
        // g1: "shore" (batch 3) < "short"; g2: "" < "a"; g3: "…-zeta" (batch 3) is a
        // prefix of "…-zeta-2"; g4: "a" (batch 3) < "b".
        let state = acc.state(EmitTo::All).unwrap();
        assert_eq!(
            state[0]
                .as_primitive::<Int64Type>()
                .iter()
                .collect::<Vec<_>>(),
            some(&[20, 31, 12, 32, 33]),
            "{key_type} compact: {compact}"
        );
        assert_eq!(
            texts(&state[1]),
            some_texts(&[
                "customer-000000000042-alpha",
                "shore",
                "",
                "customer-000000000042-zeta",
                "a"
            ])
        );
    }
}

#[test]
fn arg_min_emit_first_with_lazily_held_groups() {
    let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Utf8View]).unwrap();
    // Three groups, one row each: nothing compared, all held by reference.
    acc.update_batch(
        &[
            utf8_view(&[Some("v0"), Some("v1"), Some("v2")]),
            utf8_view(&[
                Some("key-5-long-enough-for-a-buffer"),
                Some("k3"),
                Some("k8"),
            ]),
        ],
        &[0, 1, 2],
        None,
        3,
    )
    .unwrap();
    assert_eq!(
        texts(&acc.evaluate(EmitTo::First(1)).unwrap()),
        some_texts(&["v0"])
    );
    // Old groups 1, 2 are now 0, 1; group 1 gets a smaller key (k2 < k8), group 0 a
    // larger one (k4 > k3), group 2 is new.
    acc.update_batch(
        &[
            utf8_view(&[Some("v2-better"), Some("v1-worse"), Some("new")]),
            utf8_view(&[Some("k2"), Some("k4"), Some("k1")]),
        ],
        &[1, 0, 2],
        None,
        3,
    )
    .unwrap();
    let state = acc.state(EmitTo::First(2)).unwrap();
    assert_eq!(texts(&state[0]), some_texts(&["v1", "v2-better"]));
    assert_eq!(texts(&state[1]), some_texts(&["k3", "k2"]));
    assert_eq!(
        state[2].as_boolean().iter().collect::<Vec<_>>(),
        some(&[true, true])
    );
    // Merged into a fresh accumulator, in reverse group order, then challenged.
    let mut other = ArgMinGroups::try_new(&DataType::Utf8View, &[DataType::Utf8View]).unwrap();
    other.merge_batch(&state, &[1, 0], 2).unwrap();
    other
        .update_batch(
            &[
                utf8_view(&[Some("a"), Some("b")]),
                utf8_view(&[Some("k30"), Some("k1")]),
            ],
            &[1, 0],
            None,
            2,
        )
        .unwrap();
    // Group 0 of `other` held "v2-better" (k2): "k1" wins; group 1 held "v1" (k3):
    // "k30" loses.
    assert_eq!(
        texts(&other.evaluate(EmitTo::All).unwrap()),
        some_texts(&["b", "v1"])
    );
    assert_eq!(
        texts(&acc.evaluate(EmitTo::All).unwrap()),
        some_texts(&["new"])
    );
}
