//! The row checks of one source: per canonical column, a boolean expression over the
//! projection of `raw_<name>` (`ViewSpec::projection`) that is true on a row failing it — a value that cannot be read as the
//! column's type, and the row tests of [`crate::project::data_tests`] (`not_null`,
//! `accepted_values`, `min` / `max`, and the contract's rule on a completed order's amount).

use std::collections::BTreeMap;

use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn::{btrim, lower};
use datafusion::logical_expr::{Expr, ident, lit, not};

use crate::error::{Error, Result};
use crate::project::ColumnType;
use crate::project::data_tests::{Bound, ColumnTests, Severity};
use crate::sources::ViewSpec;

/// One row check of a source.
#[derive(Debug, Clone)]
pub(crate) struct RowCheck {
    /// Canonical column.
    pub(crate) column: String,
    /// The export's column (for the rejects file), or the canonical name when absent.
    pub(crate) export: String,
    /// `type`, `not_null`, `accepted_values`, `min`, `max` or `completed_amount`.
    pub(crate) test: &'static str,
    /// `Error`: a failing row is quarantined; `Warn`: counted.
    pub(crate) severity: Severity,
    /// True on a failing row, never NULL.
    pub(crate) failed: Expr,
    /// Why a failing row fails, in words (the rejects file's `reason`).
    pub(crate) reason: String,
}

/// The row checks of source `name`, built from its view and its tests, in column order:
/// for each column its `type` check first (always `error`: a value that cannot be read is
/// never used), then `not_null`, `accepted_values`, `min`, `max`.
///
/// Errors (exit 2): a test naming a column the source does not have, an empty
/// `accepted_values`, a range bound of the wrong kind for its column, or a range on a text
/// column.
pub(crate) fn row_checks(
    name: &str,
    view: &ViewSpec,
    tests: &BTreeMap<String, ColumnTests>,
) -> Result<Vec<RowCheck>> {
    for column in tests.keys() {
        if !view.columns.iter().any(|c| &c.canon == column) {
            let known: Vec<&str> = view.columns.iter().map(|c| c.canon.as_str()).collect();
            return Err(Error::config(format!(
                "journey.toml: [sources.{name}.tests] {column}: no such column in the source's view (canonical columns: {}; give an export column a canonical name with `columns` and a type with `types`)",
                known.join(", ")
            )));
        }
    }
    let mut out = Vec::new();
    for c in &view.columns {
        let export = c.export.clone().unwrap_or_else(|| c.canon.clone());
        // Over the projection of `ViewSpec::projection`: the column read leniently, and
        // whether the export had a value there.
        let value = ident(&c.canon);
        let unreadable = c
            .present
            .as_ref()
            .map(|_| ident(format!("__present_{}", c.canon)).and(value.clone().is_null()));
        let readable_but = |e: Expr| match &unreadable {
            Some(u) => e.and(not(u.clone())),
            None => e,
        };
        let mut push = |test, severity, failed: Expr, reason: String| {
            out.push(RowCheck {
                column: c.canon.clone(),
                export: export.clone(),
                test,
                severity,
                failed: datafusion::functions::expr_fn::coalesce(vec![failed, lit(false)]),
                reason,
            })
        };
        if let (Some(bad), Some((_, expected))) = (&unreadable, &c.present) {
            push(
                "type",
                Severity::Error,
                bad.clone(),
                format!("cannot read {}: expected {expected}", c.canon),
            );
        }
        if name == "transactions"
            && c.canon == "amount"
            && c.ty == ColumnType::Number
            && view.status_column.is_some()
            && let Some(status) = view.columns.iter().find(|s| s.canon == "status")
        {
            let completed = lower(btrim(vec![ident(&status.canon)])).eq(lit("completed"));
            let bad = value.clone().is_null().or(value.clone().lt(lit(0.0)));
            push(
                "completed_amount",
                Severity::Error,
                readable_but(completed.and(bad)),
                format!(
                    "amount of a completed order: expected {}",
                    crate::functions::AMOUNT_EXPECTED
                ),
            );
        }
        let Some(t) = tests.get(&c.canon) else {
            continue;
        };
        let severity = t.severity.unwrap_or(Severity::Error);
        if t.not_null == Some(true) {
            push(
                "not_null",
                severity,
                readable_but(value.clone().is_null()),
                format!("{} is empty", c.canon),
            );
        }
        if let Some(values) = &t.accepted_values {
            if values.is_empty() {
                return Err(Error::config(format!(
                    "journey.toml: [sources.{name}.tests] {}: accepted_values is empty (leave it out to accept every value)",
                    c.canon
                )));
            }
            let list: Vec<Expr> = values
                .iter()
                .map(|v| lit(v.trim().to_lowercase()))
                .collect();
            let v = lower(btrim(vec![value.clone()]));
            push(
                "accepted_values",
                severity,
                value.clone().is_not_null().and(v.in_list(list, true)),
                format!("{} is not one of {}", c.canon, values.join(", ")),
            );
        }
        for (test, bound) in [("min", &t.min), ("max", &t.max)] {
            let Some(bound) = bound else {
                continue;
            };
            let (bound_value, text) = bound_literal(name, &c.canon, c.ty, bound)?;
            let failed = if test == "min" {
                value.clone().lt(bound_value)
            } else {
                value.clone().gt(bound_value)
            };
            let word = if test == "min" { "before" } else { "after" };
            let reason = match c.ty {
                ColumnType::Timestamp => format!("{} is {word} {text}", c.canon),
                _ if test == "min" => format!("{} is below {text}", c.canon),
                _ => format!("{} is above {text}", c.canon),
            };
            push(test, severity, failed, reason);
        }
    }
    Ok(out)
}

/// A range bound as a literal of the column's type, and as text for the reason.
fn bound_literal(
    name: &str,
    column: &str,
    ty: ColumnType,
    bound: &Bound,
) -> Result<(Expr, String)> {
    let wrong = |what: &str| {
        Error::config(format!(
            "journey.toml: [sources.{name}.tests] {column}: {what}"
        ))
    };
    match (ty, bound) {
        (ColumnType::Number, Bound::Number(x)) => Ok((lit(*x), x.to_string())),
        (ColumnType::Timestamp, Bound::Text(t)) => {
            let ns = chrono::DateTime::parse_from_rfc3339(t)
                .map(|d| d.naive_utc())
                .or_else(|_| {
                    chrono::NaiveDate::parse_from_str(t, "%Y-%m-%d")
                        .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default())
                })
                .ok()
                .and_then(|d| d.and_utc().timestamp_nanos_opt())
                .ok_or_else(|| {
                    wrong(&format!(
                        "range bound {t:?} is not a date (2000-01-01) or an RFC 3339 timestamp"
                    ))
                })?;
            Ok((
                lit(ScalarValue::TimestampNanosecond(Some(ns), None)),
                t.clone(),
            ))
        }
        (ColumnType::Number, Bound::Text(t)) => Err(wrong(&format!(
            "range bound {t:?} must be a number for a number column"
        ))),
        (ColumnType::Timestamp, Bound::Number(x)) => Err(wrong(&format!(
            "range bound {x} must be a date in quotes (\"2000-01-01\") for a timestamp column"
        ))),
        (ColumnType::Text, _) => Err(wrong("min and max apply to number and timestamp columns")),
    }
}
