//! Predictive customer lifetime value as SQL functions; the models are in
//! [`journey_algorithms::clv`], these are their DataFusion faces. Time is in the unit of the
//! data's recency and age — the bundled models use **days**; money in currency units.
//!
//! Fitting (aggregates; identical rows are grouped and fitted with weights):
//!
//! | function | in | returns |
//! |---|---|---|
//! | `bg_nbd_fit(frequency, recency, t)` | repeat purchases x, time of the last purchase t_x and age T, per customer | `STRUCT<r, alpha, a, b, log_likelihood DOUBLE, customers BIGINT, converged BOOLEAN, message VARCHAR>` |
//! | `gamma_gamma_fit(frequency, monetary_value)` | x and the mean spend per repeat purchase m_x; rows with x = 0 are skipped | `STRUCT<p, q, v, log_likelihood DOUBLE, customers BIGINT, converged BOOLEAN, message VARCHAR>` |
//!
//! A fit that cannot be made (no customers, fewer than two, every age 0) or that does not
//! converge returns `converged = false` with the reason in `message` and NULL parameters —
//! never a NaN; the bundled `clv` model then falls back to historical rates. A row that breaks
//! the model's input rules (negative values, recency > age, a non-whole frequency) fails the
//! query (exit 4).
//!
//! Prediction (scalars, DOUBLE arguments; NULL in, NULL out):
//!
//! | function | returns |
//! |---|---|
//! | `bg_nbd_p_alive(r, alpha, a, b, frequency, recency, t)` | P(alive): probability the customer has not dropped out (BG/NBD paper, eq. 13) |
//! | `bg_nbd_expected_purchases(r, alpha, a, b, horizon, frequency, recency, t)` | expected purchases in the next `horizon` time units given the history (eq. 10) |
//! | `bg_nbd_discounted_purchases(r, alpha, a, b, frequency, recency, t, horizon_months, monthly_discount_rate)` | Σ_{i=1..H} (E[Y(30 i)] − E[Y(30 (i−1))]) / (1+d)^i — times the value per purchase, the discounted CLV of lifetimes' `customer_lifetime_value` (data in days) |
//! | `gamma_gamma_expected_value(p, q, v, frequency, monetary_value)` | expected spend per purchase E[M \| x, m_x] (Fader & Hardie 2013, eq. 5) |
//!
//! Errors: invalid parameters or customer values fail the query with the model's message. A
//! prediction the hypergeometric series cannot evaluate accurately for one customer (extreme
//! parameters or histories) is NULL, not an error and not a NaN.

use std::collections::HashMap;
use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BinaryArray, BooleanArray, Float64Array, Float64Builder, Int64Array,
    StringArray, StructArray,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Fields, Float64Type};
use datafusion::common::{DataFusionError, Result, ScalarValue, exec_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, ColumnarValue, ScalarFunctionArgs, ScalarUDF,
    ScalarUDFImpl, Signature, Volatility,
};
use datafusion::prelude::SessionContext;

use journey_algorithms::clv::{
    self, BgNbdParams, ClvError, ClvHorizon, FitOptions, GammaGammaParams,
};

/// Registers the CLV fitting aggregates and prediction scalars on `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(ClvFit::new(FitKind::BgNbd)));
    ctx.register_udaf(AggregateUDF::from(ClvFit::new(FitKind::GammaGamma)));
    for kind in [
        Predict::PAlive,
        Predict::ExpectedPurchases,
        Predict::DiscountedPurchases,
        Predict::GammaGammaValue,
    ] {
        ctx.register_udf(ScalarUDF::from(ClvPredict::new(kind)));
    }
}

/// Which model a [`ClvFit`] fits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum FitKind {
    /// `bg_nbd_fit(frequency, recency, t)`.
    BgNbd,
    /// `gamma_gamma_fit(frequency, monetary_value)`.
    GammaGamma,
}

impl FitKind {
    fn arity(self) -> usize {
        match self {
            FitKind::BgNbd => 3,
            FitKind::GammaGamma => 2,
        }
    }
    fn params(self) -> &'static [&'static str] {
        match self {
            FitKind::BgNbd => &["r", "alpha", "a", "b"],
            FitKind::GammaGamma => &["p", "q", "v"],
        }
    }
    fn name(self) -> &'static str {
        match self {
            FitKind::BgNbd => "bg_nbd_fit",
            FitKind::GammaGamma => "gamma_gamma_fit",
        }
    }
}

/// A maximum-likelihood fit as an aggregate function (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ClvFit {
    kind: FitKind,
    signature: Signature,
}

impl ClvFit {
    /// The function object for `kind`.
    pub(crate) fn new(kind: FitKind) -> Self {
        Self {
            kind,
            signature: Signature::uniform(
                kind.arity(),
                vec![DataType::Float64],
                Volatility::Immutable,
            ),
        }
    }

    fn fields(&self) -> Fields {
        let mut f: Vec<Field> = self
            .kind
            .params()
            .iter()
            .map(|n| Field::new(*n, DataType::Float64, true))
            .collect();
        f.push(Field::new("log_likelihood", DataType::Float64, true));
        f.push(Field::new("customers", DataType::Int64, true));
        f.push(Field::new("converged", DataType::Boolean, false));
        f.push(Field::new("message", DataType::Utf8, true));
        Fields::from(f)
    }
}

impl AggregateUDFImpl for ClvFit {
    fn name(&self) -> &str {
        self.kind.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Struct(self.fields()))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FitAccumulator {
            kind: self.kind,
            rows: HashMap::new(),
            fields: self.fields(),
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new("rows", DataType::Binary, true))])
    }
}

/// Distinct input rows (as f64 bit patterns, so the key is exact) → weight.
#[derive(Debug)]
struct FitAccumulator {
    kind: FitKind,
    rows: HashMap<Vec<u64>, f64>,
    fields: Fields,
}

impl FitAccumulator {
    fn result(
        &self,
        params: Option<Vec<f64>>,
        ll: Option<f64>,
        customers: Option<f64>,
        converged: bool,
        message: Option<String>,
    ) -> Result<ScalarValue> {
        let n = self.kind.params().len();
        let mut cols: Vec<ArrayRef> = (0..n)
            .map(|i| Arc::new(Float64Array::from(vec![params.as_ref().map(|p| p[i])])) as ArrayRef)
            .collect();
        cols.push(Arc::new(Float64Array::from(vec![ll])));
        cols.push(Arc::new(Int64Array::from(vec![
            customers.map(|c| c.round() as i64),
        ])));
        cols.push(Arc::new(BooleanArray::from(vec![converged])));
        cols.push(Arc::new(StringArray::from(vec![message])));
        Ok(ScalarValue::Struct(Arc::new(StructArray::try_new(
            self.fields.clone(),
            cols,
            None,
        )?)))
    }

    fn columns(&self) -> (Vec<Vec<f64>>, Vec<f64>) {
        // Sorted so the optimiser sees the same order every run (hash order is random).
        let mut rows: Vec<(&Vec<u64>, &f64)> = self.rows.iter().collect();
        rows.sort_by(|a, b| a.0.cmp(b.0));
        let mut cols = vec![Vec::with_capacity(rows.len()); self.kind.arity()];
        let mut w = Vec::with_capacity(rows.len());
        for (k, weight) in rows {
            for (c, bits) in cols.iter_mut().zip(k) {
                c.push(f64::from_bits(*bits));
            }
            w.push(*weight);
        }
        (cols, w)
    }
}

fn fit_failed(kind: FitKind, e: ClvError) -> std::result::Result<String, DataFusionError> {
    match e {
        // Not enough data to fit: a result that says so, not a failed query.
        ClvError::Empty(_) | ClvError::TooFewCustomers(_) | ClvError::InvalidArgument(_) => {
            Ok(e.to_string())
        }
        other => exec_err!("{}: {other}", kind.name()),
    }
}

impl Accumulator for FitAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let cols: Vec<&Float64Array> = values
            .iter()
            .map(|v| v.as_primitive::<Float64Type>())
            .collect();
        for i in 0..cols[0].len() {
            if cols.iter().any(|c| c.is_null(i)) {
                continue;
            }
            let key: Vec<u64> = cols.iter().map(|c| (c.value(i) + 0.0).to_bits()).collect();
            *self.rows.entry(key).or_insert(0.0) += 1.0;
        }
        Ok(())
    }

    fn evaluate(&mut self) -> Result<ScalarValue> {
        let (cols, w) = self.columns();
        let options = FitOptions::default();
        let fit = match self.kind {
            FitKind::BgNbd => {
                clv::fit_bgnbd(&cols[0], &cols[1], &cols[2], Some(&w), &options).map(|f| {
                    (
                        vec![f.params.r, f.params.alpha, f.params.a, f.params.b],
                        f.log_likelihood,
                        f.customers,
                        f.converged,
                        f.reason,
                    )
                })
            }
            FitKind::GammaGamma => clv::fit_gamma_gamma(&cols[0], &cols[1], Some(&w), &options)
                .map(|f| {
                    (
                        vec![f.params.p, f.params.q, f.params.v],
                        f.log_likelihood,
                        f.customers,
                        f.converged,
                        f.reason,
                    )
                }),
        };
        match fit {
            Ok((params, ll, customers, true, _)) => {
                self.result(Some(params), Some(ll), Some(customers), true, None)
            }
            Ok((_, _, customers, false, reason)) => self.result(
                None,
                None,
                Some(customers),
                false,
                Some(reason.unwrap_or_else(|| "did not converge".into())),
            ),
            Err(e) => {
                let message = fit_failed(self.kind, e)?;
                self.result(None, None, None, false, Some(message))
            }
        }
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.rows.len() * (48 + 8 * self.kind.arity())
    }

    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let mut bytes = Vec::with_capacity(self.rows.len() * 8 * (self.kind.arity() + 1));
        for (k, w) in &self.rows {
            for bits in k {
                bytes.extend_from_slice(&bits.to_le_bytes());
            }
            bytes.extend_from_slice(&w.to_le_bytes());
        }
        Ok(vec![ScalarValue::Binary(Some(bytes))])
    }

    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bin: &BinaryArray = states[0].as_binary::<i32>();
        let width = self.kind.arity() + 1;
        for i in 0..bin.len() {
            if bin.is_null(i) {
                continue;
            }
            let words: Vec<u64> = bin
                .value(i)
                .chunks_exact(8)
                .map(|c| u64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect();
            for rec in words.chunks_exact(width) {
                let w = f64::from_bits(rec[width - 1]);
                *self.rows.entry(rec[..width - 1].to_vec()).or_insert(0.0) += w;
            }
        }
        Ok(())
    }
}

/// Which prediction a [`ClvPredict`] computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Predict {
    /// `bg_nbd_p_alive(r, alpha, a, b, frequency, recency, t)`.
    PAlive,
    /// `bg_nbd_expected_purchases(r, alpha, a, b, horizon, frequency, recency, t)`.
    ExpectedPurchases,
    /// `bg_nbd_discounted_purchases(r, alpha, a, b, frequency, recency, t, horizon_months,
    /// monthly_discount_rate)`.
    DiscountedPurchases,
    /// `gamma_gamma_expected_value(p, q, v, frequency, monetary_value)`.
    GammaGammaValue,
}

impl Predict {
    fn name(self) -> &'static str {
        match self {
            Predict::PAlive => "bg_nbd_p_alive",
            Predict::ExpectedPurchases => "bg_nbd_expected_purchases",
            Predict::DiscountedPurchases => "bg_nbd_discounted_purchases",
            Predict::GammaGammaValue => "gamma_gamma_expected_value",
        }
    }
    fn arity(self) -> usize {
        match self {
            Predict::PAlive => 7,
            Predict::ExpectedPurchases => 8,
            Predict::DiscountedPurchases => 9,
            Predict::GammaGammaValue => 5,
        }
    }
    fn compute(self, a: &[f64]) -> std::result::Result<f64, ClvError> {
        let bg = || BgNbdParams::new(a[0], a[1], a[2], a[3]);
        match self {
            Predict::PAlive => bg()?.probability_alive(a[4], a[5], a[6]),
            Predict::ExpectedPurchases => {
                bg()?.conditional_expected_purchases(a[4], a[5], a[6], a[7])
            }
            Predict::DiscountedPurchases => {
                let months = a[7];
                if !(months.is_finite()
                    && months >= 0.0
                    && months.fract() == 0.0
                    && months <= 1200.0)
                {
                    return Err(ClvError::InvalidArgument(format!(
                        "horizon_months must be a whole number of months from 0 to 1200, got {months}"
                    )));
                }
                let horizon = ClvHorizon::days(months as u32, a[8]);
                clv::discounted_clv(&bg()?, a[4], a[5], a[6], 1.0, &horizon)
            }
            Predict::GammaGammaValue => GammaGammaParams::new(a[0], a[1], a[2])?
                .conditional_expected_average_value(a[3], a[4]),
        }
    }
}

/// A prediction from fitted parameters as a scalar function (see the module documentation).
#[derive(Debug, PartialEq, Eq, Hash)]
struct ClvPredict {
    kind: Predict,
    signature: Signature,
}

impl ClvPredict {
    /// The function object for `kind`.
    pub(crate) fn new(kind: Predict) -> Self {
        Self {
            kind,
            signature: Signature::uniform(
                kind.arity(),
                vec![DataType::Float64],
                Volatility::Immutable,
            ),
        }
    }
}

impl ScalarUDFImpl for ClvPredict {
    fn name(&self) -> &str {
        self.kind.name()
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Float64)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let n = args.number_rows;
        let arrays: Vec<ArrayRef> = args
            .args
            .iter()
            .map(|a| a.to_array(n))
            .collect::<Result<_>>()?;
        let cols: Vec<&Float64Array> = arrays
            .iter()
            .map(|a| a.as_primitive::<Float64Type>())
            .collect();
        let mut out = Float64Builder::with_capacity(n);
        let mut vals = vec![0.0; cols.len()];
        for i in 0..n {
            if cols.iter().any(|c| c.is_null(i)) {
                out.append_null();
                continue;
            }
            for (v, c) in vals.iter_mut().zip(&cols) {
                *v = c.value(i);
            }
            match self.kind.compute(&vals) {
                Ok(x) if x.is_finite() => out.append_value(x),
                // A value the series cannot give accurately for this customer: NULL, and the
                // bundled clv model falls back to the historical rate for them (and says so).
                Ok(_) | Err(ClvError::Hypergeometric { .. }) => out.append_null(),
                Err(e) => return exec_err!("{}: {e}", self.kind.name()),
            }
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}
