//! `window_funnel` and `retention` as SQL aggregate functions; the semantics are those of
//! ClickHouse's `windowFunnel` and `retention` and live in [`journey_algorithms::funnel`], these
//! are their DataFusion faces.
//!
//! ```sql
//! -- ClickHouse: windowFunnel(86400, 'strict_order')(ts, e = 'view', e = 'cart', e = 'buy')
//! SELECT customer_id,
//!        window_funnel(86400, 'strict_order', event_time,
//!                      event_name = 'view', event_name = 'cart', event_name = 'buy') AS stages_reached
//! FROM stg_events GROUP BY customer_id
//! ```
//!
//! | function | in | out |
//! |---|---|---|
//! | `window_funnel(window_seconds, modes, ts, cond1, …, condN)` | `window_seconds` integer constant ≥ 0 (the conversion window, measured from the stage-1 event, inclusive); `modes` text constant: `''` or a comma-separated list of `strict_deduplication`, `strict_order`, `strict_increase`, `strict_once`, `allow_reentry`; `ts` a timestamp; 1–32 BOOLEAN conditions (NULL is false) | BIGINT: the deepest funnel stage reached (ClickHouse calls it the level), 0–N |
//! | `window_funnel(window_seconds, modes, ts, stage)` | as above, but one integer column `stage` (1–32) saying which stage the row is (`cond_k` ⇔ `stage = k`; NULL or out of range: no stage) — handy when the stages come from a table such as `funnel_stages` | BIGINT |
//! | `retention(cond1, …, condN)` | 1–32 BOOLEAN conditions | `LIST<UINT8>` of N 0/1 values: element 1 is "cond1 held on some row", element k "cond1 and condk both held" |
//!
//! Ties (equal timestamps) are ordered as ClickHouse orders them: by condition index, so one
//! row matching cond1 and cond2 advances two stages. Time is compared in nanoseconds.
//! `window_funnel` keeps one list of (time, stage mask) per group in a `GroupsAccumulator`,
//! so one group per customer over millions of customers is cheap.
//!
//! Errors (planning, exit 4): a window or modes argument that is not a constant, an unknown
//! mode, `allow_reentry` without `strict_order`, more than 32 conditions, a negative window.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, Int64Builder, ListArray, ListBuilder,
    UInt8Builder, UInt32Array, UInt32Builder,
};
use datafusion::arrow::buffer::OffsetBuffer;
use datafusion::arrow::datatypes::{
    DataType, Field, FieldRef, Int64Type, TimeUnit, TimestampNanosecondType, UInt32Type,
};
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDF, AggregateUDFImpl, EmitTo, GroupsAccumulator, Signature, Volatility,
};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_expr::expressions::Literal;
use datafusion::prelude::SessionContext;

use journey_algorithms::funnel::{
    FunnelEvents, FunnelOptions, MAX_FUNNEL_STAGES, RetentionState, check_retention_conditions,
    window_funnel_level,
};

/// Registers `window_funnel` and `retention` on `ctx`.
pub(crate) fn register(ctx: &SessionContext) {
    ctx.register_udaf(AggregateUDF::from(WindowFunnel::new()));
    ctx.register_udaf(AggregateUDF::from(Retention::new()));
}

const NS: DataType = DataType::Timestamp(TimeUnit::Nanosecond, None);

/// `window_funnel(window_seconds, modes, ts, cond1, …, condN)` (see the module docs).
#[derive(Debug, PartialEq, Eq, Hash)]
struct WindowFunnel {
    signature: Signature,
}

impl WindowFunnel {
    /// The function object.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for WindowFunnel {
    fn default() -> Self {
        Self::new()
    }
}

const USAGE: &str = "window_funnel(window_seconds, modes, ts, cond1, …, condN) takes an integer window in seconds, a text of modes ('' or e.g. 'strict_order'), a timestamp and 1 to 32 boolean conditions (or one integer stage column)";

/// The stage columns: N booleans, or one integer stage.
fn stage_form(arg_types: &[DataType]) -> bool {
    arg_types.len() == 4 && arg_types[3].is_integer()
}

/// The constant value of argument `i`, or a planning error naming it.
fn constant<'a>(
    exprs: &'a [Arc<dyn PhysicalExpr>],
    i: usize,
    what: &str,
) -> Result<&'a ScalarValue> {
    match exprs
        .get(i)
        .and_then(|e| (e.as_ref() as &dyn std::any::Any).downcast_ref::<Literal>())
    {
        Some(l) => Ok(l.value()),
        None => plan_err!("window_funnel: the {what} must be a constant ({USAGE})"),
    }
}

/// Reads the window and modes from the constant arguments.
fn options(args: &AccumulatorArgs) -> Result<(FunnelOptions, Form)> {
    let window = match constant(args.exprs, 0, "window")? {
        ScalarValue::Int64(Some(w)) => *w,
        other => {
            return plan_err!(
                "window_funnel: the window must be a whole number of seconds, got {other}"
            );
        }
    };
    let modes_text = match constant(args.exprs, 1, "modes")? {
        ScalarValue::Utf8(Some(m))
        | ScalarValue::Utf8View(Some(m))
        | ScalarValue::LargeUtf8(Some(m)) => m.clone(),
        ScalarValue::Utf8(None) => String::new(),
        other => return plan_err!("window_funnel: the modes must be text, got {other}"),
    };
    let modes: Vec<&str> = modes_text
        .split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .collect();
    let window_ns = window.checked_mul(1_000_000_000).ok_or_else(|| {
        datafusion::common::DataFusionError::Plan(format!(
            "window_funnel: window {window} s is too large"
        ))
    })?;
    let opts = FunnelOptions::parse_modes(window_ns, &modes)
        .map_err(|e| datafusion::common::DataFusionError::Plan(format!("window_funnel: {e}")))?;
    let types: Vec<DataType> = args
        .expr_fields
        .iter()
        .map(|f| f.data_type().clone())
        .collect();
    let form = if stage_form(&types) {
        Form::Stage
    } else {
        let n = args.exprs.len() - 3;
        FunnelOptions::check_stages(n).map_err(|e| {
            datafusion::common::DataFusionError::Plan(format!("window_funnel: {e}"))
        })?;
        Form::Conditions(n)
    };
    Ok((opts, form))
}

/// How the stages are given.
#[derive(Debug, Clone, Copy)]
enum Form {
    /// N boolean columns.
    Conditions(usize),
    /// One integer stage column.
    Stage,
}

impl Form {
    fn stages(self) -> usize {
        match self {
            Form::Conditions(n) => n,
            Form::Stage => MAX_FUNNEL_STAGES,
        }
    }

    /// The stage mask of every row of a batch (`values` are the function's arguments).
    fn masks(self, values: &[ArrayRef]) -> Vec<u32> {
        let rows = values[2].len();
        match self {
            Form::Stage => {
                let s = values[3].as_primitive::<Int64Type>();
                (0..rows)
                    .map(|i| {
                        if s.is_valid(i) && (1..=MAX_FUNNEL_STAGES as i64).contains(&s.value(i)) {
                            1u32 << (s.value(i) - 1)
                        } else {
                            0
                        }
                    })
                    .collect()
            }
            Form::Conditions(n) => {
                let mut masks = vec![0u32; rows];
                for k in 0..n {
                    let c = values[3 + k].as_boolean();
                    for (i, m) in masks.iter_mut().enumerate() {
                        if c.is_valid(i) && c.value(i) {
                            *m |= 1 << k;
                        }
                    }
                }
                masks
            }
        }
    }
}

fn state_fields() -> Vec<FieldRef> {
    vec![
        Arc::new(Field::new(
            "times",
            DataType::new_list(DataType::Int64, true),
            true,
        )),
        Arc::new(Field::new(
            "masks",
            DataType::new_list(DataType::UInt32, true),
            true,
        )),
    ]
}

impl AggregateUDFImpl for WindowFunnel {
    fn name(&self) -> &str {
        "window_funnel"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() < 4
            || !arg_types[0].is_integer()
            || !matches!(
                arg_types[1],
                DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8
            )
            || !matches!(
                arg_types[2],
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64
            )
        {
            return plan_err!("{USAGE}; got {arg_types:?}");
        }
        let mut out = vec![DataType::Int64, DataType::Utf8, NS];
        if stage_form(arg_types) {
            out.push(DataType::Int64);
        } else {
            for (i, t) in arg_types[3..].iter().enumerate() {
                if !matches!(t, DataType::Boolean | DataType::Null) {
                    return plan_err!(
                        "window_funnel: condition {} must be BOOLEAN, got {t} ({USAGE})",
                        i + 1
                    );
                }
                out.push(DataType::Boolean);
            }
        }
        Ok(out)
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::Int64)
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        let (opts, form) = options(&args)?;
        Ok(Box::new(FunnelAccumulator {
            opts,
            form,
            events: FunnelEvents::new(),
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(state_fields())
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        let (opts, form) = options(&args)?;
        Ok(Box::new(FunnelGroups {
            opts,
            form,
            groups: Vec::new(),
            event_bytes: 0,
        }))
    }
}

/// Appends the events of one batch to `push(row, ts, mask)`, skipping rows without a time,
/// filtered rows, and — unless the mode needs them — rows that match no stage.
fn for_each_event(
    values: &[ArrayRef],
    form: Form,
    opts: &FunnelOptions,
    opt_filter: Option<&BooleanArray>,
    mut push: impl FnMut(usize, i64, u32),
) {
    let ts = values[2].as_primitive::<TimestampNanosecondType>();
    let masks = form.masks(values);
    let keep_unmatched = opts.needs_unmatched_events();
    for (i, &mask) in masks.iter().enumerate() {
        if ts.is_null(i) || (mask == 0 && !keep_unmatched) {
            continue;
        }
        if let Some(f) = opt_filter
            && !(f.is_valid(i) && f.value(i))
        {
            continue;
        }
        push(i, ts.value(i), mask);
    }
}

/// Merges serialized states (`times`, `masks` list arrays) row by row into `push(row, ts, mask)`.
fn for_each_state_event(states: &[ArrayRef], mut push: impl FnMut(usize, i64, u32)) {
    let times = states[0].as_list::<i32>();
    let masks = states[1].as_list::<i32>();
    for i in 0..times.len() {
        if times.is_null(i) {
            continue;
        }
        let t = times.value(i);
        let m = masks.value(i);
        let t = t.as_primitive::<Int64Type>();
        let m = m.as_primitive::<UInt32Type>();
        for j in 0..t.len() {
            push(i, t.value(j), m.value(j));
        }
    }
}

/// Serializes groups' events as the two state lists.
fn to_state<'a>(groups: impl Iterator<Item = &'a FunnelEvents>) -> Vec<ArrayRef> {
    let mut times = ListBuilder::new(Int64Builder::new());
    let mut masks = ListBuilder::new(UInt32Builder::new());
    for g in groups {
        for &(t, m) in g.rows() {
            times.values().append_value(t);
            masks.values().append_value(m);
        }
        times.append(true);
        masks.append(true);
    }
    vec![Arc::new(times.finish()), Arc::new(masks.finish())]
}

/// Single-group form (no GROUP BY, or where DataFusion asks for a plain accumulator).
#[derive(Debug)]
struct FunnelAccumulator {
    opts: FunnelOptions,
    form: Form,
    events: FunnelEvents,
}

impl Accumulator for FunnelAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let events = &mut self.events;
        for_each_event(values, self.form, &self.opts, None, |_, t, m| {
            events.push(t, m)
        });
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let reached = window_funnel_level(&mut self.events, self.form.stages(), &self.opts);
        Ok(ScalarValue::Int64(Some(reached as i64)))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.events.allocated_bytes()
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        to_state(std::iter::once(&self.events))
            .into_iter()
            .map(|a| ScalarValue::try_from_array(&a, 0))
            .collect()
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let events = &mut self.events;
        for_each_state_event(states, |_, t, m| events.push(t, m));
        Ok(())
    }
}

/// One [`FunnelEvents`] per group: the form DataFusion uses for `GROUP BY customer_id`.
struct FunnelGroups {
    opts: FunnelOptions,
    form: Form,
    groups: Vec<FunnelEvents>,
    /// Heap bytes of the groups' event lists, kept up to date on every push (`size()` is
    /// called after every batch; summing over millions of groups each time would dominate).
    event_bytes: usize,
}

impl FunnelGroups {
    fn grow(&mut self, total: usize) {
        if self.groups.len() < total {
            let new = total - self.groups.len();
            self.groups.resize_with(total, FunnelEvents::new);
            self.event_bytes += new * FunnelEvents::new().allocated_bytes();
        }
    }
}

/// Pushes one event and keeps `bytes` (the sum of `allocated_bytes`) in step.
fn push_counted(g: &mut FunnelEvents, bytes: &mut usize, t: i64, m: u32) {
    let before = g.allocated_bytes();
    g.push(t, m);
    *bytes += g.allocated_bytes() - before;
}

impl GroupsAccumulator for FunnelGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let groups = &mut self.groups;
        let bytes = &mut self.event_bytes;
        for_each_event(values, self.form, &self.opts, opt_filter, |i, t, m| {
            push_counted(&mut groups[group_indices[i]], bytes, t, m)
        });
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut groups = emit_to.take_needed(&mut self.groups);
        self.event_bytes = self.event_bytes.saturating_sub(
            groups
                .iter()
                .map(FunnelEvents::allocated_bytes)
                .sum::<usize>(),
        );
        let stages = self.form.stages();
        let reached: Int64Array = groups
            .iter_mut()
            .map(|g| Some(window_funnel_level(g, stages, &self.opts) as i64))
            .collect();
        Ok(Arc::new(reached))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = emit_to.take_needed(&mut self.groups);
        self.event_bytes = self.event_bytes.saturating_sub(
            groups
                .iter()
                .map(FunnelEvents::allocated_bytes)
                .sum::<usize>(),
        );
        Ok(to_state(groups.iter()))
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        self.grow(total_num_groups);
        let groups = &mut self.groups;
        let bytes = &mut self.event_bytes;
        for_each_state_event(values, |i, t, m| {
            push_counted(&mut groups[group_indices[i]], bytes, t, m)
        });
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Every row its own group: a list of zero or one event.
        let rows = values[2].len();
        let mut per_row: Vec<Option<(i64, u32)>> = vec![None; rows];
        for_each_event(values, self.form, &self.opts, opt_filter, |i, t, m| {
            per_row[i] = Some((t, m))
        });
        let lens = per_row.iter().map(|e| usize::from(e.is_some()));
        let offsets = OffsetBuffer::from_lengths(lens);
        let times = Int64Array::from_iter_values(per_row.iter().flatten().map(|e| e.0));
        let masks = UInt32Array::from_iter_values(per_row.iter().flatten().map(|e| e.1));
        Ok(vec![
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::Int64, true)),
                offsets.clone(),
                Arc::new(times),
                None,
            )),
            Arc::new(ListArray::new(
                Arc::new(Field::new_list_field(DataType::UInt32, true)),
                offsets,
                Arc::new(masks),
                None,
            )),
        ])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<FunnelEvents>()
            + self.event_bytes
    }
}

/// `retention(cond1, …, condN)` (see the module docs).
#[derive(Debug, PartialEq, Eq, Hash)]
struct Retention {
    signature: Signature,
}

impl Retention {
    /// The function object.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for Retention {
    fn name(&self) -> &str {
        "retention"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        check_retention_conditions(arg_types.len())
            .map_err(|e| datafusion::common::DataFusionError::Plan(format!("retention: {e}")))?;
        for (i, t) in arg_types.iter().enumerate() {
            if !matches!(t, DataType::Boolean | DataType::Null) {
                return plan_err!(
                    "retention(cond1, …, condN): condition {} must be BOOLEAN, got {t}",
                    i + 1
                );
            }
        }
        Ok(vec![DataType::Boolean; arg_types.len()])
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::UInt8, true))
    }
    fn accumulator(&self, args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(RetentionAccumulator {
            n: args.exprs.len(),
            state: RetentionState::default(),
        }))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![Arc::new(Field::new("bits", DataType::UInt32, true))])
    }
}

#[derive(Debug)]
struct RetentionAccumulator {
    n: usize,
    state: RetentionState,
}

impl Accumulator for RetentionAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let conds: Vec<&BooleanArray> = values.iter().map(|v| v.as_boolean()).collect();
        for i in 0..values.first().map_or(0, |v| v.len()) {
            let mut mask = 0u32;
            for (k, c) in conds.iter().enumerate() {
                if c.is_valid(i) && c.value(i) {
                    mask |= 1 << k;
                }
            }
            self.state.push(mask);
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let flags = match self.state.finish(self.n) {
            Ok(f) => f,
            Err(e) => return exec_err!("retention: {e}"),
        };
        let mut b = ListBuilder::new(UInt8Builder::new());
        b.values().append_slice(&flags);
        b.append(true);
        Ok(ScalarValue::List(Arc::new(b.finish())))
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self)
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        Ok(vec![ScalarValue::UInt32(Some(self.state.bits()))])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let bits = states[0].as_primitive::<UInt32Type>();
        for i in 0..bits.len() {
            if bits.is_valid(i) {
                self.state.merge(&RetentionState::from_bits(bits.value(i)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use datafusion::arrow::array::AsArray;
    use datafusion::prelude::SessionContext;

    async fn rows(sql: &str) -> Vec<String> {
        let ctx = SessionContext::new();
        crate::functions::register_all(&ctx);
        let b = ctx.sql(sql).await.unwrap().collect().await.unwrap();
        let mut out = Vec::new();
        for batch in &b {
            let col = datafusion::arrow::compute::cast(
                batch.column(0),
                &datafusion::arrow::datatypes::DataType::Utf8,
            )
            .unwrap();
            for i in 0..col.len() {
                out.push(col.as_string::<i32>().value(i).to_string());
            }
        }
        out
    }

    const EVENTS: &str = "(VALUES \
        ('u1', TIMESTAMP '2026-10-01 10:00:00', 'view'), \
        ('u1', TIMESTAMP '2026-10-01 10:05:00', 'cart'), \
        ('u1', TIMESTAMP '2026-10-01 10:20:00', 'buy'), \
        ('u2', TIMESTAMP '2026-10-01 10:00:00', 'cart'), \
        ('u2', TIMESTAMP '2026-10-01 10:01:00', 'view'), \
        ('u2', TIMESTAMP '2026-10-01 10:01:00', 'cart'), \
        ('u3', TIMESTAMP '2026-10-01 09:00:00', 'view'), \
        ('u3', TIMESTAMP '2026-10-01 09:10:00', 'search'), \
        ('u3', TIMESTAMP '2026-10-01 09:11:00', 'cart')) AS e(u, t, name)";

    #[tokio::test]
    async fn window_funnel_in_sql_per_customer() {
        // Window 15 minutes, stages view → cart → buy:
        // u1: view 10:00, cart 10:05, buy 10:20 is 20 min after the view, outside → 2.
        // u2: cart at 10:00 is before any view; view 10:01 and cart 10:01 tie, and ties go by
        //     stage index, so the cart at 10:01 follows the view → 2.
        // u3: view 09:00, cart 09:11 → 2 in the default mode; in strict_order the 'search' row
        //     (no stage) between them stops the scan at 1.
        let sql = |modes: &str| {
            format!(
                "SELECT CAST(window_funnel(900, '{modes}', t, name = 'view', name = 'cart', name = 'buy') AS VARCHAR) \
                 FROM {EVENTS} GROUP BY u ORDER BY u"
            )
        };
        assert_eq!(rows(&sql("")).await, ["2", "2", "2"]);
        assert_eq!(rows(&sql("strict_order")).await, ["2", "2", "1"]);
        // The window boundary is inclusive: 20 minutes (1200 s) reaches u1's buy.
        let wide = sql("").replace("900", "1200");
        assert_eq!(rows(&wide).await[0], "3");
        // The stage-column form gives the same stages reached as the conditions form.
        let staged = format!(
            "SELECT CAST(window_funnel(900, '', t, CASE name WHEN 'view' THEN 1 WHEN 'cart' THEN 2 WHEN 'buy' THEN 3 END) AS VARCHAR) \
             FROM {EVENTS} GROUP BY u ORDER BY u"
        );
        assert_eq!(rows(&staged).await, ["2", "2", "2"]);
    }

    #[tokio::test]
    async fn window_funnel_rejects_unknown_modes_and_variable_windows() {
        let ctx = SessionContext::new();
        crate::functions::register_all(&ctx);
        let bad_mode = format!(
            "SELECT window_funnel(900, 'strictest', t, name = 'view') FROM {EVENTS} GROUP BY u"
        );
        let err = match ctx.sql(&bad_mode).await {
            Ok(df) => df.collect().await.unwrap_err().to_string(),
            Err(e) => e.to_string(),
        };
        assert!(err.contains("strictest"), "{err}");
    }

    #[tokio::test]
    async fn retention_in_sql() {
        // u1 did view, cart and buy → 1,1,1; u2 view and cart, no buy → 1,1,0; u3 view and
        // cart (and a search) → 1,1,0. Element k is 1 when cond1 and condk both held.
        let sql = format!(
            "SELECT array_to_string(retention(name = 'view', name = 'cart', name = 'buy'), ',') \
             FROM {EVENTS} GROUP BY u ORDER BY u"
        );
        assert_eq!(rows(&sql).await, ["1,1,1", "1,1,0", "1,1,0"]);
    }
}
