//! `arg_min`'s key order checked against Arrow's row format: the key types compared in place,
//! value by value, and random rows with encoded key types (dictionaries, lists, structs).

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, BooleanArray, Float64Array, Int64Array, StringArray,
};
use datafusion::arrow::datatypes::{DataType, Field, Int64Type, TimeUnit};
use datafusion::logical_expr::{EmitTo, GroupsAccumulator};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::lazy::{int64, some, utf8};
use super::{texts, utf8_view};
use crate::functions::arg_min::groups::ArgMinGroups;
use crate::functions::arg_min::order::{KEY_ORDER, compared_in_place, key_converter};

#[test]
fn arg_min_in_place_order_matches_row_format() {
    // For the key types compared with make_comparator, every pair of values (NULLs,
    // extremes, NaNs, prefixes included) must order as the row format does.
    use datafusion::arrow::array::make_comparator;
    use datafusion::arrow::compute::cast;
    let ints = int64(&[
        Some(0),
        None,
        Some(-1),
        Some(1),
        Some(i64::MIN),
        Some(i64::MAX),
        Some(127),
        Some(-128),
        Some(255),
        Some(1 << 40),
    ]);
    let floats: ArrayRef = Arc::new(Float64Array::from(vec![
        Some(0.0),
        Some(-0.0),
        None,
        Some(f64::NAN),
        Some(-f64::NAN),
        Some(f64::INFINITY),
        Some(f64::NEG_INFINITY),
        Some(1e-300),
        Some(-2.5),
        Some(65504.0),
    ]));
    let strings = utf8(&[
        Some(""),
        None,
        Some("a"),
        Some("ab"),
        Some("abcdefghijklmnopqrstuvwxyz"),
        Some("abcdefghijklmnopqrstuvwxyZ"),
        Some("abcdefghijkl"),
        Some("abcdefghijklm"),
        Some("é"),
        Some("z"),
    ]);
    let fixed: ArrayRef = Arc::new(
        datafusion::arrow::array::FixedSizeBinaryArray::try_from_sparse_iter_with_size(
            [Some(b"ab"), None, Some(b"aa"), Some(b"\xffa"), Some(b"a\0")].into_iter(),
            2,
        )
        .unwrap(),
    );
    let bools: ArrayRef = Arc::new(BooleanArray::from(vec![Some(true), None, Some(false)]));
    let mut arrays = vec![fixed, bools];
    for t in [
        DataType::Int8,
        DataType::Int16,
        DataType::Int32,
        DataType::Int64,
        DataType::UInt8,
        DataType::UInt32,
        DataType::UInt64,
        DataType::Decimal128(20, 2),
        DataType::Decimal256(40, 0),
        DataType::Date32,
        DataType::Timestamp(TimeUnit::Nanosecond, None),
        DataType::Duration(TimeUnit::Second),
    ] {
        arrays.push(cast(&ints, &t).unwrap());
    }
    for t in [DataType::Float16, DataType::Float32, DataType::Float64] {
        arrays.push(cast(&floats, &t).unwrap());
    }
    for t in [
        DataType::Utf8,
        DataType::LargeUtf8,
        DataType::Utf8View,
        DataType::Binary,
        DataType::LargeBinary,
        DataType::BinaryView,
    ] {
        arrays.push(cast(&strings, &t).unwrap());
    }
    // Structs of such types, field by field, with NULL structs and NULL fields: each
    // pair (int, text) of the arrays above, and the struct itself NULL in row 4.
    let n = 10;
    let text = cast(&strings, &DataType::Utf8View).unwrap();
    let pairs = datafusion::arrow::array::StructArray::try_new(
        vec![
            Field::new("i", DataType::Int64, true),
            Field::new("s", DataType::Utf8View, true),
        ]
        .into(),
        // Repeated ints so the text decides some pairs.
        vec![
            cast(
                &int64(&[
                    Some(1),
                    None,
                    Some(1),
                    Some(0),
                    Some(1),
                    None,
                    Some(0),
                    Some(1),
                    Some(1),
                    None,
                ]),
                &DataType::Int64,
            )
            .unwrap(),
            text.slice(0, n),
        ],
        Some(datafusion::arrow::buffer::NullBuffer::from(
            (0..n).map(|i| i != 4).collect::<Vec<_>>(),
        )),
    )
    .unwrap();
    arrays.push(Arc::new(pairs));
    for a in &arrays {
        let t = a.data_type();
        assert!(compared_in_place(t), "{t}");
        let (conv, _) = key_converter(std::slice::from_ref(t)).unwrap();
        let rows = conv.convert_columns(std::slice::from_ref(a)).unwrap();
        // Also across two arrays (as between batches): a sliced copy on the right.
        let right = a.slice(1, a.len() - 1);
        let cmp = make_comparator(a.as_ref(), right.as_ref(), KEY_ORDER).unwrap();
        for i in 0..a.len() {
            for j in 1..a.len() {
                assert_eq!(
                    cmp(i, j - 1),
                    rows.row(i).cmp(&rows.row(j)),
                    "{t}: rows {i} and {j}"
                );
            }
        }
    }
}

/// `rows` random rows with keys of the types compared through the row format (a
/// dictionary, a list, a struct) between in-place ones, checked against the row format
/// directly: per group, the value of the row whose encoded keys are the smallest.
#[test]
fn arg_min_encoded_key_types_random_against_row_format() {
    use datafusion::arrow::array::{DictionaryArray, ListArray, StructArray};
    use datafusion::arrow::buffer::NullBuffer;
    use datafusion::arrow::datatypes::{Fields, Int32Type};
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let struct_fields = Fields::from(vec![
        Field::new("a", DataType::Int64, true),
        Field::new("b", DataType::Utf8, true),
    ]);
    let types = vec![
        DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8)),
        DataType::Float64,
        DataType::new_list(DataType::Int64, true),
        DataType::Struct(struct_fields.clone()),
        DataType::Int64,
    ];
    for compact in [false, true] {
        let mut acc = ArgMinGroups::try_new(&DataType::Utf8View, &types).unwrap();
        assert!(acc.encoders[0].is_some() && acc.encoders[1].is_none());
        if compact {
            acc.compact_min_rows = 0;
            acc.compact_min_key_bytes = 0;
        }
        let (conv, _) = key_converter(&types).unwrap();
        let groups = 40;
        let mut best: Vec<Option<(Vec<u8>, String)>> = vec![None; groups];
        let mut serial = 0i64;
        for _ in 0..60 {
            let len = rng.random_range(1..30);
            let serials: Vec<i64> = (serial..serial + len).collect();
            serial += len;
            let dict: DictionaryArray<Int32Type> = serials
                .iter()
                .map(|_| {
                    rng.random_bool(0.9)
                        .then(|| ["x", "y", "xy"][rng.random_range(0..3)])
                })
                .collect();
            let floats: Float64Array = serials
                .iter()
                .map(|_| {
                    rng.random_bool(0.9)
                        .then(|| [-0.0, 0.0, f64::NAN, 1.0][rng.random_range(0..4)])
                })
                .collect();
            let lists =
                ListArray::from_iter_primitive::<Int64Type, _, _>(serials.iter().map(|_| {
                    rng.random_bool(0.9).then(|| {
                        (0..rng.random_range(0..3))
                            .map(|_| rng.random_bool(0.8).then(|| rng.random_range(0..2)))
                            .collect::<Vec<_>>()
                    })
                }));
            let sa: Int64Array = serials
                .iter()
                .map(|_| rng.random_bool(0.8).then(|| rng.random_range(0..2)))
                .collect();
            let sb: StringArray = serials
                .iter()
                .map(|_| {
                    rng.random_bool(0.8)
                        .then(|| ["p", "q"][rng.random_range(0..2)])
                })
                .collect();
            let valid: Vec<bool> = serials.iter().map(|_| rng.random_bool(0.9)).collect();
            let structs = StructArray::try_new(
                struct_fields.clone(),
                vec![Arc::new(sa), Arc::new(sb)],
                Some(NullBuffer::from(valid)),
            )
            .unwrap();
            let keys: Vec<ArrayRef> = vec![
                Arc::new(dict),
                Arc::new(floats),
                Arc::new(lists),
                Arc::new(structs),
                int64(&some(&serials)),
            ];
            let values: Vec<String> = serials.iter().map(|s| format!("row {s}")).collect();
            let value = utf8_view(&values.iter().map(|s| Some(s.as_str())).collect::<Vec<_>>());
            let g: Vec<usize> = serials
                .iter()
                .map(|_| rng.random_range(0..groups))
                .collect();
            let f: Vec<bool> = serials.iter().map(|_| rng.random_bool(0.8)).collect();
            let filter = BooleanArray::from(f.clone());
            let mut args = vec![value];
            args.extend(keys.iter().cloned());
            if rng.random_bool(0.3) {
                let state = acc.convert_to_state(&args, Some(&filter)).unwrap();
                acc.merge_batch(&state, &g, groups).unwrap();
            } else {
                acc.update_batch(&args, &g, Some(&filter), groups).unwrap();
            }
            let rows = conv.convert_columns(&keys).unwrap();
            for i in 0..g.len() {
                let k = rows.row(i).data();
                if f[i] && best[g[i]].as_ref().is_none_or(|(b, _)| k < b.as_slice()) {
                    best[g[i]] = Some((k.to_vec(), values[i].clone()));
                }
            }
        }
        let want: Vec<Option<String>> = best.into_iter().map(|b| b.map(|(_, v)| v)).collect();
        assert!(want.iter().filter(|w| w.is_some()).count() > 30);
        assert_eq!(
            texts(&acc.evaluate(EmitTo::All).unwrap()),
            want,
            "compact: {compact}"
        );
    }
}
