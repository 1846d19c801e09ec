//! The shape of a journey: `path_collapse` (a channel path without consecutive repeats) and
//! `funnel_stage_times` (when each funnel stage was reached, ClickHouse's `windowFunnel`
//! default mode), with [`funnel_chain`], its core.

use std::sync::Arc;

use datafusion::arrow::array::{
    Array, ArrayRef, AsArray, BooleanArray, Int64Array, Int64Builder, ListBuilder, StringBuilder,
    TimestampNanosecondArray, TimestampNanosecondBuilder,
};
use datafusion::arrow::datatypes::{DataType, Field, FieldRef, Int64Type, TimestampNanosecondType};
use datafusion::common::utils::SingleRowListArrayBuilder;
use datafusion::common::{Result, ScalarValue, exec_err, plan_err};
use datafusion::logical_expr::function::{AccumulatorArgs, StateFieldsArgs};
use datafusion::logical_expr::{
    Accumulator, AggregateUDFImpl, ColumnarValue, EmitTo, GroupsAccumulator, ScalarFunctionArgs,
    ScalarUDFImpl, Signature, Volatility,
};

use super::TIMESTAMP;

/// `path_collapse(list)`: a journey path with consecutive repeats removed, as in channel-path
/// reports (`[social, social, email, social]` → `[social, email, social]`). NULL elements are
/// dropped; a NULL list gives NULL. In: `List<Utf8>` (any string list); out: `List<Utf8>`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PathCollapse {
    signature: Signature,
}

impl PathCollapse {
    /// The function object.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for PathCollapse {
    fn default() -> Self {
        Self::new()
    }
}

impl ScalarUDFImpl for PathCollapse {
    fn name(&self) -> &str {
        "path_collapse"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        match arg_types {
            [
                DataType::List(_)
                | DataType::LargeList(_)
                | DataType::FixedSizeList(_, _)
                | DataType::Null,
            ] => Ok(vec![DataType::new_list(DataType::Utf8, true)]),
            _ => plan_err!(
                "path_collapse(list) takes one list of text, e.g. array_agg(channel ORDER BY event_time); got {arg_types:?}"
            ),
        }
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(DataType::Utf8, true))
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let arr = args.args[0].to_array(args.number_rows)?;
        let list = arr.as_list::<i32>();
        let mut out = ListBuilder::new(StringBuilder::new());
        for i in 0..list.len() {
            if list.is_null(i) {
                out.append(false);
                continue;
            }
            let inner = list.value(i);
            let inner = inner.as_string::<i32>();
            let mut prev: Option<&str> = None;
            for v in inner.iter().flatten() {
                if prev != Some(v) {
                    out.values().append_value(v);
                    prev = Some(v);
                }
            }
            out.append(true);
        }
        Ok(ColumnarValue::Array(Arc::new(out.finish())))
    }
}

/// `funnel_stage_times(ts, stage, window_seconds)`: an ordered funnel with a conversion window,
/// per group (one group per customer).
///
/// - `ts` (timestamp): the event time; `stage` (integer ≥ 1): the funnel stage the event
///   belongs to (rows with NULL or values < 1 are ignored); `window_seconds` (integer literal or
///   constant): the conversion window, measured from the stage-1 event, inclusive.
/// - Returns `List<Timestamp(Nanosecond, None)>`: element k (1-based) is when stage k was
///   reached. Its length is the deepest stage reached (0 when the group has no stage-1 event).
///
/// Semantics are those of ClickHouse's `windowFunnel(window)` in its default mode: events are
/// taken in time order (equal times: lower stage first); a stage-1 event starts a chain; an
/// event of stage k extends a chain that has reached stage k−1 if it lies within the window of
/// that chain's stage-1 event. Of all chains the deepest wins; among equally deep chains, the
/// one that started last (that is what ClickHouse keeps). Times between stages are therefore
/// those of that chain.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct FunnelStageTimes {
    signature: Signature,
}

impl FunnelStageTimes {
    /// The function object.
    pub(crate) fn new() -> Self {
        Self {
            signature: Signature::user_defined(Volatility::Immutable),
        }
    }
}

impl Default for FunnelStageTimes {
    fn default() -> Self {
        Self::new()
    }
}

impl AggregateUDFImpl for FunnelStageTimes {
    fn name(&self) -> &str {
        "funnel_stage_times"
    }
    fn signature(&self) -> &Signature {
        &self.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        if arg_types.len() != 3
            || !matches!(arg_types[0], DataType::Timestamp(_, _))
            || !arg_types[1].is_integer()
            || !(arg_types[2].is_integer() || arg_types[2].is_floating())
        {
            return plan_err!(
                "funnel_stage_times(ts, stage, window_seconds) takes a timestamp, an integer stage and a number of seconds; got {arg_types:?}"
            );
        }
        Ok(vec![TIMESTAMP, DataType::Int64, DataType::Int64])
    }
    fn return_type(&self, _: &[DataType]) -> Result<DataType> {
        Ok(DataType::new_list(TIMESTAMP, true))
    }
    fn accumulator(&self, _args: AccumulatorArgs) -> Result<Box<dyn Accumulator>> {
        Ok(Box::new(FunnelAccumulator::default()))
    }
    fn state_fields(&self, _args: StateFieldsArgs) -> Result<Vec<FieldRef>> {
        Ok(vec![
            Arc::new(Field::new(
                "times",
                DataType::new_list(TIMESTAMP, true),
                true,
            )),
            Arc::new(Field::new(
                "stages",
                DataType::new_list(DataType::Int64, true),
                true,
            )),
            Arc::new(Field::new("window", DataType::Int64, true)),
        ])
    }
    fn groups_accumulator_supported(&self, _args: AccumulatorArgs) -> bool {
        true
    }
    fn create_groups_accumulator(
        &self,
        _args: AccumulatorArgs,
    ) -> Result<Box<dyn GroupsAccumulator>> {
        Ok(Box::new(FunnelStageGroups::default()))
    }
}

/// [`FunnelStageTimes`] for `GROUP BY`: one event list per group, so DataFusion's grouped
/// hash aggregation drives it without a boxed accumulator per customer.
#[derive(Debug, Default)]
struct FunnelStageGroups {
    groups: Vec<Vec<(i64, i64)>>,
    window_ns: Option<i64>,
    bytes: usize,
}

impl FunnelStageGroups {
    fn set_window(&mut self, w: &Int64Array, from_state: bool) -> Result<()> {
        if self.window_ns.is_some() {
            return Ok(());
        }
        if let Some(secs) = w.iter().flatten().next() {
            if secs < 0 && !from_state {
                return exec_err!("funnel_stage_times: window_seconds must be ≥ 0, got {secs}");
            }
            self.window_ns = Some(secs.saturating_mul(1_000_000_000));
        }
        Ok(())
    }
    fn push(&mut self, group: usize, ts: i64, stage: i64) {
        let g = &mut self.groups[group];
        let before = g.capacity();
        g.push((ts, stage));
        self.bytes += (g.capacity() - before) * 16;
    }

    /// Removes the emitted groups and their bytes from the count (only the taken groups are
    /// visited: DataFusion emits in batches, and re-summing the rest each time is quadratic).
    fn take(&mut self, emit_to: EmitTo) -> Vec<Vec<(i64, i64)>> {
        let taken = emit_to.take_needed(&mut self.groups);
        let freed: usize = taken.iter().map(|g| g.capacity() * 16).sum();
        self.bytes = self.bytes.saturating_sub(freed);
        taken
    }
}

impl GroupsAccumulator for FunnelStageGroups {
    fn update_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        opt_filter: Option<&BooleanArray>,
        total_num_groups: usize,
    ) -> Result<()> {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
        self.set_window(values[2].as_primitive::<Int64Type>(), false)?;
        let ts = values[0].as_primitive::<TimestampNanosecondType>();
        let st = values[1].as_primitive::<Int64Type>();
        for (i, &g) in group_indices.iter().enumerate() {
            if let Some(f) = opt_filter
                && !(f.is_valid(i) && f.value(i))
            {
                continue;
            }
            if ts.is_valid(i) && st.is_valid(i) && st.value(i) >= 1 {
                self.push(g, ts.value(i), st.value(i));
            }
        }
        Ok(())
    }

    fn evaluate(&mut self, emit_to: EmitTo) -> Result<ArrayRef> {
        let mut groups = self.take(emit_to);
        let window = self.window_ns.unwrap_or(0);
        let mut out = ListBuilder::new(TimestampNanosecondBuilder::new());
        for g in groups.iter_mut() {
            for t in funnel_chain(g, window) {
                out.values().append_value(t);
            }
            out.append(true);
        }
        Ok(Arc::new(out.finish()))
    }

    fn state(&mut self, emit_to: EmitTo) -> Result<Vec<ArrayRef>> {
        let groups = self.take(emit_to);
        let mut times = ListBuilder::new(TimestampNanosecondBuilder::new());
        let mut stages = ListBuilder::new(Int64Builder::new());
        for g in &groups {
            for &(t, st) in g {
                times.values().append_value(t);
                stages.values().append_value(st);
            }
            times.append(true);
            stages.append(true);
        }
        let window: Int64Array =
            std::iter::repeat_n(self.window_ns.map(|w| w / 1_000_000_000), groups.len()).collect();
        Ok(vec![
            Arc::new(times.finish()),
            Arc::new(stages.finish()),
            Arc::new(window),
        ])
    }

    fn merge_batch(
        &mut self,
        values: &[ArrayRef],
        group_indices: &[usize],
        total_num_groups: usize,
    ) -> Result<()> {
        if self.groups.len() < total_num_groups {
            self.groups.resize_with(total_num_groups, Vec::new);
        }
        self.set_window(values[2].as_primitive::<Int64Type>(), true)?;
        let times = values[0].as_list::<i32>();
        let stages = values[1].as_list::<i32>();
        for (i, &g) in group_indices.iter().enumerate() {
            if times.is_null(i) {
                continue;
            }
            let t = times.value(i);
            let st = stages.value(i);
            let t = t.as_primitive::<TimestampNanosecondType>();
            let st = st.as_primitive::<Int64Type>();
            for j in 0..t.len() {
                self.push(g, t.value(j), st.value(j));
            }
        }
        Ok(())
    }

    fn convert_to_state(
        &self,
        values: &[ArrayRef],
        opt_filter: Option<&BooleanArray>,
    ) -> Result<Vec<ArrayRef>> {
        // Every row its own group: a list of zero or one event.
        let ts = values[0].as_primitive::<TimestampNanosecondType>();
        let st = values[1].as_primitive::<Int64Type>();
        let w = values[2].as_primitive::<Int64Type>();
        let mut times = ListBuilder::new(TimestampNanosecondBuilder::new());
        let mut stages = ListBuilder::new(Int64Builder::new());
        for i in 0..ts.len() {
            let kept = opt_filter.is_none_or(|f| f.is_valid(i) && f.value(i));
            if kept && ts.is_valid(i) && st.is_valid(i) && st.value(i) >= 1 {
                times.values().append_value(ts.value(i));
                stages.values().append_value(st.value(i));
            }
            times.append(true);
            stages.append(true);
        }
        if let Some(secs) = w.iter().flatten().next()
            && secs < 0
        {
            return exec_err!("funnel_stage_times: window_seconds must be ≥ 0, got {secs}");
        }
        Ok(vec![
            Arc::new(times.finish()),
            Arc::new(stages.finish()),
            Arc::new(w.clone()),
        ])
    }

    fn size(&self) -> usize {
        std::mem::size_of_val(self)
            + self.groups.capacity() * std::mem::size_of::<Vec<(i64, i64)>>()
            + self.bytes
    }
}

#[derive(Debug, Default)]
struct FunnelAccumulator {
    events: Vec<(i64, i64)>,
    window_ns: Option<i64>,
}

/// The deepest chain of stage times (ClickHouse windowFunnel default mode); see [`FunnelStageTimes`].
pub(crate) fn funnel_chain(events: &mut [(i64, i64)], window_ns: i64) -> Vec<i64> {
    events.sort_unstable();
    let max_stage = events.iter().map(|e| e.1).max().unwrap_or(0).max(0) as usize;
    // chains[k] = the chain that reached stage k+1 with the latest start seen so far.
    let mut chains: Vec<Option<Vec<i64>>> = vec![None; max_stage];
    for &(ts, stage) in events.iter() {
        if stage < 1 {
            continue;
        }
        let k = (stage - 1) as usize;
        if k == 0 {
            chains[0] = Some(vec![ts]);
        } else if let Some(prev) = &chains[k - 1]
            && ts - prev[0] <= window_ns
        {
            let mut c = prev.clone();
            c.push(ts);
            chains[k] = Some(c);
        }
    }
    chains
        .into_iter()
        .rev()
        .flatten()
        .next()
        .unwrap_or_default()
}

impl Accumulator for FunnelAccumulator {
    fn update_batch(&mut self, values: &[ArrayRef]) -> Result<()> {
        let ts = values[0].as_primitive::<TimestampNanosecondType>();
        let st = values[1].as_primitive::<Int64Type>();
        let w = values[2].as_primitive::<Int64Type>();
        for i in 0..ts.len() {
            if self.window_ns.is_none() && w.is_valid(i) {
                let secs = w.value(i);
                if secs < 0 {
                    return exec_err!("funnel_stage_times: window_seconds must be ≥ 0, got {secs}");
                }
                self.window_ns = Some(secs.saturating_mul(1_000_000_000));
            }
            if ts.is_valid(i) && st.is_valid(i) && st.value(i) >= 1 {
                self.events.push((ts.value(i), st.value(i)));
            }
        }
        Ok(())
    }
    fn evaluate(&mut self) -> Result<ScalarValue> {
        let chain = funnel_chain(&mut self.events, self.window_ns.unwrap_or(0));
        let arr = TimestampNanosecondArray::from(chain);
        Ok(SingleRowListArrayBuilder::new(Arc::new(arr)).build_list_scalar())
    }
    fn size(&self) -> usize {
        std::mem::size_of_val(self) + self.events.capacity() * 16
    }
    fn state(&mut self) -> Result<Vec<ScalarValue>> {
        let times: TimestampNanosecondArray = self.events.iter().map(|e| Some(e.0)).collect();
        let stages: Int64Array = self.events.iter().map(|e| Some(e.1)).collect();
        let wrap = |a: ArrayRef| SingleRowListArrayBuilder::new(a).build_list_scalar();
        Ok(vec![
            wrap(Arc::new(times)),
            wrap(Arc::new(stages)),
            ScalarValue::Int64(self.window_ns.map(|w| w / 1_000_000_000)),
        ])
    }
    fn merge_batch(&mut self, states: &[ArrayRef]) -> Result<()> {
        let times = states[0].as_list::<i32>();
        let stages = states[1].as_list::<i32>();
        let w = states[2].as_primitive::<Int64Type>();
        for i in 0..times.len() {
            if self.window_ns.is_none() && w.is_valid(i) {
                self.window_ns = Some(w.value(i).saturating_mul(1_000_000_000));
            }
            if times.is_null(i) {
                continue;
            }
            let t = times.value(i);
            let s = stages.value(i);
            let t = t.as_primitive::<TimestampNanosecondType>();
            let s = s.as_primitive::<Int64Type>();
            for j in 0..t.len() {
                self.events.push((t.value(j), s.value(j)));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn funnel_chain_follows_window_funnel_default_mode() {
        // stage 1 at t=0, stage 2 at t=10, stage 3 at t=100; window 50 s:
        // stage 3 lies 100 s after the stage-1 event, outside the window → depth 2.
        let mut ev = vec![(0, 1), (10 * S, 2), (100 * S, 3)];
        assert_eq!(funnel_chain(&mut ev, 50 * S), vec![0, 10 * S]);
        // A later stage-1 event at t=60 restarts a chain: 60 → (no stage 2 after it) so the
        // deepest is still the first chain.
        let mut ev = vec![(0, 1), (10 * S, 2), (60 * S, 1), (100 * S, 3)];
        assert_eq!(funnel_chain(&mut ev, 50 * S), vec![0, 10 * S]);
        // Window boundary is inclusive: stage 2 exactly 50 s after stage 1 counts.
        let mut ev = vec![(0, 1), (50 * S, 2)];
        assert_eq!(funnel_chain(&mut ev, 50 * S).len(), 2);
        // Out of order: stage 2 before stage 1 does not count.
        let mut ev = vec![(0, 2), (10 * S, 1)];
        assert_eq!(funnel_chain(&mut ev, 50 * S), vec![10 * S]);
        // Equal times: lower stage first, so both count.
        let mut ev = vec![(5 * S, 2), (5 * S, 1)];
        assert_eq!(funnel_chain(&mut ev, 0), vec![5 * S, 5 * S]);
        // No stage-1 event: depth 0.
        let mut ev = vec![(5 * S, 2)];
        assert!(funnel_chain(&mut ev, 100 * S).is_empty());
    }
}
