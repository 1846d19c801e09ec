//! Tests of [`super::window_funnel_level`]: ClickHouse's own test queries, hand-worked
//! fixtures for every mode, and property tests against a brute force and a model of
//! ClickHouse's code.

mod clickhouse;
mod clickhouse_reentry;
mod hand_worked;
mod properties;
