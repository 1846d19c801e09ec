//! Data-driven attribution as SQL aggregate functions over customer journeys; the models are
//! in [`journey_algorithms::attribution`], these are their DataFusion faces.
//!
//! Every function takes one row per journey (or per group of identical journeys):
//!
//! - `path` (`LIST<VARCHAR>`): the channels of the journey's touchpoints in time order;
//! - `conversions` (DOUBLE): conversions the journey ended in (0 for a non-converting one);
//! - `nulls` (DOUBLE): journeys that ended without a conversion (ChannelAttribution's
//!   `var_null`);
//! - `value` (DOUBLE): conversion value, e.g. revenue in currency units (not in
//!   `markov_transitions`);
//!
//! and a constant last argument. Rows with a NULL or empty path are skipped. The result is a
//! list of structs, one per channel (or transition), read with `unnest` and `r['field']`:
//!
//! | function | last argument | returns `LIST<STRUCT<…>>` |
//! |---|---|---|
//! | `markov_attribution(path, conversions, nulls, value, order)` | order k ≥ 1 (BIGINT) | `channel, removal_effect, conversions, revenue` |
//! | `markov_transitions(path, conversions, nulls, order)` | order k ≥ 1 | `from_state, to_state, journeys, probability` |
//! | `shapley_attribution(path, conversions, nulls, value, value_function)` | `'conversions'` or `'conversion_rate'` | `channel, shapley_value, conversions, revenue, approximate` |
//!
//! Errors: wrong argument types are planning errors; a bad order or value function, or a
//! chain too large to solve, fails the query with the model's message (exit 4).

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, StringArray, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type, Int64Type};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;
use serde::{Deserialize, Serialize};

use journey_algorithms::attribution;

/// Registers `markov_attribution`, `markov_transitions` and `shapley_attribution` on `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    for kind in [Kind::Markov, Kind::Transitions, Kind::Shapley] {
        ctx.register_udaf(AggregateUDF::from(JourneyModel::new(kind)));
    }
}

/// Which attribution result a [`JourneyModel`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Kind {
    /// `markov_attribution`: removal effects and credited conversions and revenue.
    Markov,
    /// `markov_transitions`: the transition matrix.
    Transitions,
    /// `shapley_attribution`: Shapley values and credited conversions and revenue.
    Shapley,
}

/// One of the journey aggregate functions (see the module documentation for the signatures).
#[derive(Debug, PartialEq, Eq, Hash)]
struct JourneyModel {
    kind: Kind,
    signature: Signature,
}

impl JourneyModel {
    /// The function object for `kind`.
    pub(crate) fn new(kind: Kind) -> Self {
        Self {
            kind,
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }

    fn has_value(&self) -> bool {
        self.kind != Kind::Transitions
    }

    fn usage(&self) -> &'static str {
        match self.kind {
            Kind::Markov => {
                "markov_attribution(path LIST<VARCHAR>, conversions DOUBLE, nulls DOUBLE, value DOUBLE, order BIGINT)"
            }
            Kind::Transitions => {
                "markov_transitions(path LIST<VARCHAR>, conversions DOUBLE, nulls DOUBLE, order BIGINT)"
            }
            Kind::Shapley => {
                "shapley_attribution(path LIST<VARCHAR>, conversions DOUBLE, nulls DOUBLE, value DOUBLE, value_function VARCHAR)"
            }
        }
    }

    fn result_fields(&self) -> Fields {
        let f = |n: &str, t: DataType| Field::new(n, t, true);
        match self.kind {
            Kind::Markov => Fields::from(vec![
                f("channel", DataType::Utf8),
                f("removal_effect", DataType::Float64),
                f("conversions", DataType::Float64),
                f("revenue", DataType::Float64),
            ]),
            Kind::Transitions => Fields::from(vec![
                f("from_state", DataType::Utf8),
                f("to_state", DataType::Utf8),
                f("journeys", DataType::Float64),
                f("probability", DataType::Float64),
            ]),
            Kind::Shapley => Fields::from(vec![
                f("channel", DataType::Utf8),
                f("shapley_value", DataType::Float64),
                f("conversions", DataType::Float64),
                f("revenue", DataType::Float64),
                f("approximate", DataType::Boolean),
            ]),
        }
    }
}

impl AggregateUDFImpl for JourneyModel {
    fn name(&self) -> &str {
        kind_name(self.kind)
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        let n = if self.has_value() { 5 } else { 4 };
        let is_list_of_text = |t: &DataType| match t {
            DataType::List(f) | DataType::LargeList(f) => matches!(
                f.data_type(),
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8 | DataType::Null
            ),
            _ => false,
        };
        let numeric = |t: &DataType| t.is_numeric() || *t == DataType::Null;
        let last_ok = |t: &DataType| match self.kind {
            Kind::Shapley => matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8),
            _ => t.is_integer(),
        };
        if arg_types.len() != n
            || !is_list_of_text(&arg_types[0])
            || !arg_types[1..n - 1].iter().all(numeric)
            || !last_ok(&arg_types[n - 1])
        {
            return plan_err!("{} got {arg_types:?}", self.usage());
        }
        let mut out = vec![DataType::new_list(DataType::Utf8, true)];
        out.extend(std::iter::repeat_n(DataType::Float64, n - 2));
        out.push(match self.kind {
            Kind::Shapley => DataType::Utf8,
            _ => DataType::Int64,
        });
        Ok(out)
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(
            DataType::Struct(self.result_fields()),
            true,
        ))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(JourneyAccumulator {
            kind: self.kind,
            journeys: HashMap::new(),
            setting: None,
            fields: self.result_fields(),
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new(
            "journeys",
            DataType::Binary,
            true,
        ))])
    }
}

/// What the accumulator ships between partitions (serialized as JSON).
#[derive(Serialize, Deserialize, Default)]
struct State {
    journeys: Vec<(Vec<String>, [f64; 3])>,
    setting: Option<Setting>,
}

/// The constant last argument.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
enum Setting {
    Order(i64),
    ValueFunction(String),
}

#[derive(Debug)]
struct JourneyAccumulator {
    kind: Kind,
    /// Path → (conversions, nulls, value).
    journeys: HashMap<Vec<String>, [f64; 3]>,
    setting: Option<Setting>,
    fields: Fields,
}

impl JourneyAccumulator {
    fn add(&mut self, path: Vec<String>, counts: [f64; 3]) {
        let e = self.journeys.entry(path).or_insert([0.0; 3]);
        for k in 0..3 {
            e[k] += counts[k];
        }
    }

    fn set(&mut self, s: Setting) -> Result<()> {
        match &self.setting {
            None => self.setting = Some(s),
            Some(old) if *old == s => {}
            Some(old) => {
                return exec_err!(
                    "{}: the last argument must be the same on every row, got {old:?} and {s:?}",
                    kind_name(self.kind)
                );
            }
        }
        Ok(())
    }

    /// The journeys in a stable order (sorted by path), so results do not depend on hashing.
    fn sorted(&self) -> Vec<attribution::Journey> {
        let mut v: Vec<attribution::Journey> = self
            .journeys
            .iter()
            .map(|(p, c)| attribution::Journey {
                path: p.clone(),
                conversions: c[0],
                nulls: c[1],
                value: c[2],
            })
            .collect();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    fn order(&self) -> Result<usize> {
        match &self.setting {
            None => Ok(1),
            Some(Setting::Order(k)) if *k >= 1 => Ok(*k as usize),
            Some(other) => exec_err!("markov order must be a whole number ≥ 1, got {other:?}"),
        }
    }
}

fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Markov => "markov_attribution",
        Kind::Transitions => "markov_transitions",
        Kind::Shapley => "shapley_attribution",
    }
}

fn model_err(e: impl std::fmt::Display) -> DataFusionError {
    DataFusionError::Execution(e.to_string())
}

impl Accumulator for JourneyAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let paths = values[0].as_list::<i32>();
        let conv = values[1].as_primitive::<Float64Type>();
        let nulls = values[2].as_primitive::<Float64Type>();
        let (value, last) = if values.len() == 5 {
            (Some(values[3].as_primitive::<Float64Type>()), &values[4])
        } else {
            (None, &values[3])
        };
        for i in 0..paths.len() {
            if last.is_valid(i) {
                let s = match self.kind {
                    Kind::Shapley => {
                        Setting::ValueFunction(last.as_string::<i32>().value(i).to_string())
                    }
                    _ => Setting::Order(last.as_primitive::<Int64Type>().value(i)),
                };
                self.set(s)?;
            }
            if paths.is_null(i) {
                continue;
            }
            let p = paths.value(i);
            let p = p.as_string::<i32>();
            let path: Vec<String> = p.iter().flatten().map(str::to_string).collect();
            if path.is_empty() {
                continue;
            }
            let num = |a: &Float64Array| if a.is_valid(i) { a.value(i) } else { 0.0 };
            let c = [num(conv), num(nulls), value.map(num).unwrap_or(0.0)];
            if c.iter().any(|x| !x.is_finite() || *x < 0.0) {
                return exec_err!(
                    "{}: conversions, nulls and value must be finite and ≥ 0, got {c:?} for path {path:?}",
                    kind_name(self.kind)
                );
            }
            self.add(path, c);
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let journeys = self.sorted();
        let columns: Vec<ArrayRef> = match self.kind {
            // No journeys (an empty source, or a filter that keeps nothing): no rows.
            _ if journeys.is_empty() => self
                .fields
                .iter()
                .map(|f| datafusion::arrow::array::new_empty_array(f.data_type()))
                .collect(),
            Kind::Markov => {
                let r =
                    attribution::markov_attribution(&journeys, self.order()?).map_err(model_err)?;
                let ch = &r.channels;
                vec![
                    Arc::new(StringArray::from_iter_values(
                        ch.iter().map(|c| c.channel.as_str()),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        ch.iter().map(|c| c.removal_effect),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        ch.iter().map(|c| c.conversions),
                    )),
                    Arc::new(Float64Array::from_iter_values(ch.iter().map(|c| c.revenue))),
                ]
            }
            Kind::Transitions => {
                let t =
                    attribution::markov_transitions(&journeys, self.order()?).map_err(model_err)?;
                vec![
                    Arc::new(StringArray::from_iter_values(
                        t.iter().map(|x| x.from.as_str()),
                    )),
                    Arc::new(StringArray::from_iter_values(
                        t.iter().map(|x| x.to.as_str()),
                    )),
                    Arc::new(Float64Array::from_iter_values(t.iter().map(|x| x.count))),
                    Arc::new(Float64Array::from_iter_values(
                        t.iter().map(|x| x.probability),
                    )),
                ]
            }
            Kind::Shapley => {
                let vf = match &self.setting {
                    Some(Setting::ValueFunction(v)) => v.clone(),
                    _ => "conversions".to_string(),
                };
                let r = attribution::shapley_attribution(&journeys, &vf).map_err(model_err)?;
                vec![
                    Arc::new(StringArray::from_iter_values(
                        r.iter().map(|c| c.channel.as_str()),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        r.iter().map(|c| c.shapley_value),
                    )),
                    Arc::new(Float64Array::from_iter_values(
                        r.iter().map(|c| c.conversions),
                    )),
                    Arc::new(Float64Array::from_iter_values(r.iter().map(|c| c.revenue))),
                    Arc::new(BooleanArray::from_iter(
                        r.iter().map(|c| Some(c.approximate)),
                    )),
                ]
            }
        };
        let structs = StructArray::try_new(self.fields.clone(), columns, None)?;
        Ok(SingleRowListArrayBuilder::new(Arc::new(structs)).build_list_scalar())
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self
                .journeys
                .keys()
                .map(|p| 48 + p.iter().map(|s| 24 + s.len()).sum::<usize>())
                .sum::<usize>()
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let state = State {
            journeys: self.journeys.iter().map(|(p, c)| (p.clone(), *c)).collect(),
            setting: self.setting.clone(),
        };
        let bytes = serde_json::to_vec(&state).map_err(model_err)?;
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bin: &BinaryArray = states[0].as_binary::<i32>();
        for i in 0..bin.len() {
            if bin.is_null(i) {
                continue;
            }
            let s: State = serde_json::from_slice(bin.value(i)).map_err(model_err)?;
            if let Some(setting) = s.setting {
                self.set(setting)?;
            }
            for (p, c) in s.journeys {
                self.add(p, c);
            }
        }
        Ok(())
    }
}
