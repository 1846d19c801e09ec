//! `arg_min(value, key1 [, key2, …, keyN])`: the value from the row with the smallest keys, as a
//! SQL aggregate function with a vectorized
//! [`GroupsAccumulator`](datafusion::logical_expr::GroupsAccumulator). `arg_min(value)`, with one
//! argument, is `arg_min(value, value)`: the smallest value, kept once.
//!
//! ```sql
//! -- the channel of each session's first event (event_id breaks timestamp ties)
//! SELECT customer_id, session_id, arg_min(channel, event_time, event_id) AS first_channel
//! FROM events GROUP BY customer_id, session_id;
//!
//! -- several columns from the same row: pass a struct and pick its fields
//! SELECT event_id, v['customer_id'], v['channel']
//! FROM (SELECT event_id,
//!              arg_min(named_struct('customer_id', customer_id, 'channel', channel),
//!                      event_time, session_id, customer_id) AS v
//!       FROM events GROUP BY event_id);
//!
//! -- a whole row, ordered by its own fields in turn (event_time first): one argument
//! SELECT event_id, arg_min(named_struct('event_time', event_time, 'channel', channel)) AS e
//! FROM events GROUP BY event_id;
//! ```
//!
//! | in | out |
//! |---|---|
//! | `value`: any Arrow type (text, integers, timestamps, booleans, structs from `named_struct`, lists, …); `key1 … keyN` (N ≥ 1): any type Arrow's row format can order (integers, floats, decimals, booleans, dates, timestamps, `Utf8`/`LargeUtf8`/`Utf8View`, binary, dictionaries, structs, lists) | the type of `value`, nullable |
//! | `value` alone: any type Arrow's row format can order; a struct orders field by field | the type of `value`, nullable |
//!
//! # Semantics
//!
//! `arg_min(v, k1, …, kN)` is exactly `first_value(v ORDER BY k1, …, kN)` as DataFusion and
//! PostgreSQL define it
//! (<https://datafusion.apache.org/user-guide/sql/aggregate_functions.html#first-value>,
//! <https://www.postgresql.org/docs/current/functions-aggregate.html>):
//!
//! - the rows of a group are ordered by `(k1, …, kN)` lexicographically, each key ascending
//!   with **NULLS LAST** (DataFusion's and PostgreSQL's default for `ASC`); a NULL key is
//!   larger than every non-NULL key, so rows with NULL keys are not skipped, they only lose to
//!   rows with non-NULL keys, and a group whose keys are all NULL still yields a value;
//! - the result is `v` of the first row in that order, NULL or not (`v` NULL is returned as
//!   NULL, as `first_value` without `IGNORE NULLS` does);
//! - **ties**: if several rows share the smallest `(k1, …, kN)`, the result is `v` of *any one*
//!   of them (which one depends on partitioning and batch order). Give enough keys to make
//!   the order total (e.g. add a unique id as the last key) when that matters;
//! - a group with no rows (every row removed by `FILTER (WHERE …)`), or an empty input without
//!   `GROUP BY`, yields NULL;
//! - `FILTER (WHERE cond)` is honoured; a NULL `cond` excludes the row.
//!
//! The name and argument order (value first, then the ordering value) follow DuckDB's
//! `arg_min(arg, val)` (<https://duckdb.org/docs/stable/sql/functions/aggregates#arg_minarg-val>),
//! ClickHouse's `argMin(arg, val)`
//! (<https://clickhouse.com/docs/sql-reference/aggregate-functions/reference/argmin>) and
//! Spark's `min_by(x, y)` (<https://spark.apache.org/docs/latest/api/sql/index.html#min_by>),
//! extended to several keys. Only the name and argument order come from those engines: their
//! NULL and tie handling differs in places; here it is `first_value`'s, as listed above.
//!
//! Errors (planning): no argument; a key type (or, alone, a value type) Arrow's row format
//! cannot order (e.g. a map).
//!
//! # Implementation
//!
//! The [`GroupsAccumulator`](datafusion::logical_expr::GroupsAccumulator) holds no copy of a group's best row: per group it keeps a
//! reference (retained input batch, row), and the input batches (value and key columns, as
//! `update_batch` or `merge_batch` got them) holding at least one group's best row are kept
//! alive. Keys are compared lazily, only when a group gets a second candidate row, in the
//! same batch or a later one: the first row of a group is just recorded, at the cost of one
//! slot write, which is what nearly every row costs when most groups see one row (e.g.
//! de-duplicating by a mostly unique id). A candidate is compared with the group's current
//! best row key by key (lexicographically, ascending, NULLS LAST) with
//! `arrow::array::make_comparator`, one comparator per key column and pair of batches, made
//! on first use within a batch; the smaller row takes over the reference and ties keep the
//! current one. The order is that of Arrow's row format (which the single-group accumulator
//! still uses): for the flat key types (numbers, floats in IEEE 754 total order with
//! `-0.0 < 0.0` and NaN last, decimals, temporal types, booleans, text and binary, also as
//! views) `make_comparator` orders the same way; any other key type (dictionaries, structs,
//! lists, intervals, …) is encoded to the row format, that column alone, for each retained
//! batch and compared as bytes.
//!
//! Results, and the keys of the intermediate state, are assembled with `interleave` from the
//! retained batches. When those hold many more rows than there are groups, or when most of
//! their key bytes are in rows no group points at, they are compacted into one batch holding
//! just the groups' best rows (view arrays `gc`ed), so memory follows the number of groups,
//! not the input. `size()` reports the slots and the retained batches to DataFusion's memory
//! pool, each array by the bytes of its slice, not the buffers it may share with the input.
//!
//! The intermediate state (for multi-phase aggregation and spilling) is
//! `[value, key1, …, keyN, is_set]`: the keys in their own types and a BOOLEAN telling a group
//! that saw rows from an empty one (needed because NULL keys are legitimate keys). With one
//! argument it is `[value, is_set]`: a row that is its own key is retained, shuffled and
//! spilled once, not twice (de-duplicating whole rows moves half the bytes). Structs whose
//! fields are all of the flat types are compared in place too, field by field, as the row
//! format orders them.
//!
//! # Files
//!
//! | file | owns |
//! |---|---|
//! | `udaf.rs` | [`ArgMin`], the function object: signature, types, state fields, accumulators |
//! | `args.rs` | the layout of the arguments and of the state columns, the `FILTER` mask |
//! | `order.rs` | the key order: the row format's sort fields, the keys compared in place, `KeyCmp` |
//! | `single.rs` | the single-group accumulator (no `GROUP BY`, window frames) |
//! | `store.rs` | the retained batches a group's best row points into, and what they are charged |
//! | `views.rs` | garbage-collecting view arrays that pin shared buffers |
//! | `groups.rs` | the vectorized `GroupsAccumulator`: lazy comparison, compaction, emit |
//! | [`exec`] | `ArgMinDedupExec`, the de-duplication operator that replaces a lone `arg_min` |

pub(crate) mod exec;

mod args;
mod groups;
mod order;
mod single;
mod store;
mod udaf;
mod views;

#[cfg(test)]
pub(crate) mod tests;

pub(crate) use order::{KEY_ORDER, compared_in_place};
pub(crate) use udaf::{ArgMin, register};
