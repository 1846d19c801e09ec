//! The queries of the data tests: the one aggregate per source ([`profile`]), duplicate keys
//! ([`count_duplicates`]), orphans ([`count_orphans`]), and the typed view registered again
//! without the quarantined rows ([`register_kept`]).

use std::collections::BTreeMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::{DataType, Float64Type, Int64Type, TimestampNanosecondType};
use datafusion::common::DataFusionError;
use datafusion::functions_aggregate::expr_fn::{count, max, min, sum};
use datafusion::logical_expr::{Expr, cast, ident, lit, not, when};
use datafusion::prelude::{DataFrame, SessionContext};

use super::checks::RowCheck;
use super::{ColumnProfile, SourceQuality, Status, TestResult, count as grouped, judge, percent};
use crate::error::{Error, Result};
use crate::project::ColumnType;
use crate::project::data_tests::{ColumnTests, OnConflict, Severity, Threshold};
use crate::sources::{SourceInfo, ViewSpec};

/// What the one aggregate over a source found.
pub(super) struct Profiled {
    /// Rows read.
    pub(super) rows: u64,
    /// Rows failing at least one `error` check.
    pub(super) quarantined: u64,
    /// Failures per row check, in check order.
    pub(super) failures: Vec<u64>,
    /// Per `error` check (index into the checks), the rows it is the first to fail.
    pub(super) first_failures: Vec<(usize, u64)>,
    /// The columns' profiles.
    pub(super) columns: Vec<ColumnProfile>,
    /// The freshness column's facts over the rows kept, when asked for.
    pub(super) freshness: Option<FreshnessFacts>,
    /// Per relationship asked for, the rows kept whose value the other source lacks.
    pub(super) orphans: Vec<u64>,
}

/// What the freshness check needs of a source, over the rows not quarantined
/// ([`crate::journey::freshness`] judges it).
#[derive(Debug, Clone, Copy)]
pub(crate) struct FreshnessFacts {
    /// Rows not quarantined.
    pub(crate) rows: u64,
    /// Oldest value (ns since the epoch, UTC).
    pub(crate) oldest: Option<i64>,
    /// Newest value before the end of the as-of day.
    pub(crate) newest: Option<i64>,
    /// Rows at or after the end of the as-of day.
    pub(crate) rows_after: u64,
}

/// A `relationships` test the profile counts: the column, and the other source's view and
/// column, already final.
pub(super) struct Relationship {
    /// Canonical column of this source.
    pub(super) column: String,
    /// The other source.
    pub(super) source: String,
    /// Its column.
    pub(super) target: String,
}

/// True on a row failing at least one `error` check of `checks`.
fn any_error(checks: &[RowCheck]) -> Expr {
    checks
        .iter()
        .filter(|c| c.severity == Severity::Error)
        .map(|c| c.failed.clone())
        .reduce(Expr::or)
        .unwrap_or(lit(false))
}

/// `raw_<name>` of source `s` through [`ViewSpec::projection`] (with `raw_text`, the export's
/// cells as text too), without the forget list's customers (`[privacy] forget`): what every
/// query of the data tests reads, so that no count, reject or view holds a forgotten
/// customer.
async fn projected(
    ctx: &SessionContext,
    s: &SourceInfo,
    view: &ViewSpec,
    raw_text: bool,
) -> Result<DataFrame> {
    let raw = ctx
        .table(format!("raw_{}", s.name).as_str())
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    let schema = raw.schema().clone();
    let df = raw
        .select(view.projection(raw_text.then_some(&schema)))
        .map_err(|e| Error::internal(format!("source {}: {e}", s.name)))?;
    crate::sources::forget::drop_forgotten(ctx, &s.name, df).await
}

/// Collects `df`, turning a failed scan into the source's error (exit 3, naming its files),
/// and a full disk while an operator spills into the machine's (exit 1, naming the spill
/// folder: `spill_dir`, or the system temp folder).
async fn collect(s: &SourceInfo, df: DataFrame) -> Result<Vec<RecordBatch>> {
    df.collect()
        .await
        .map_err(|e: DataFusionError| match crate::error::io_failure(&e) {
            Some(io) if io.contains("(os error 28)") => Error::internal(format!(
                "{}: {io} (writing a spill file while the data tests read source {})",
                SPILL_DIR
                    .get()
                    .cloned()
                    .flatten()
                    .unwrap_or_else(std::env::temp_dir)
                    .display(),
                s.name
            )),
            _ => crate::sources::count_failed(s, &e),
        })
}

/// The session's spill folder (`--spill-dir`), set once by [`audit_sources`](super::audit_sources).
pub(super) static SPILL_DIR: std::sync::OnceLock<Option<std::path::PathBuf>> =
    std::sync::OnceLock::new();

/// Row `0` of column `i` of the first non-empty batch as an integer (0 when NULL).
fn int_at(batches: &[RecordBatch], i: usize) -> u64 {
    batches
        .iter()
        .find(|b| b.num_rows() > 0)
        .and_then(|b| {
            let a = b.column(i);
            let a = datafusion::arrow::compute::cast(a, &DataType::Int64).ok()?;
            let a = a.as_primitive::<Int64Type>();
            (!a.is_null(0)).then(|| a.value(0).max(0) as u64)
        })
        .unwrap_or(0)
}

/// The one aggregate over source `s`: rows, each check's failures, quarantined rows, each
/// `error` check's first failures, and each column's empty values, minimum and maximum.
///
/// Errors (exit 3): the source cannot be read (see `count_failed`).
/// With `freshness` (a timestamp column and the end of the as-of day in ns), also the facts
/// the freshness check needs; with `relationships`, the orphans of each (a left join on the
/// other source's distinct values, so that the source is read once).
pub(super) async fn profile(
    ctx: &SessionContext,
    s: &SourceInfo,
    view: &ViewSpec,
    checks: &[RowCheck],
    freshness: Option<(&str, i64)>,
    relationships: &[Relationship],
) -> Result<Profiled> {
    let as_int = |e: Expr| sum(cast(e, DataType::Int64));
    let kept_row = not(any_error(checks));
    let count_if = |e: Expr| count(when(e, lit(1)).end().unwrap_or(lit(1)));
    let mut aggs = vec![count(lit(1)).alias("rows"), as_int(any_error(checks))];
    for c in checks {
        aggs.push(as_int(c.failed.clone()));
    }
    let errors: Vec<usize> = (0..checks.len())
        .filter(|&i| checks[i].severity == Severity::Error)
        .collect();
    for (k, &i) in errors.iter().enumerate() {
        let earlier = errors[..k]
            .iter()
            .map(|&j| checks[j].failed.clone())
            .reduce(Expr::or)
            .unwrap_or(lit(false));
        aggs.push(as_int(checks[i].failed.clone().and(not(earlier))));
    }
    let ranged: Vec<bool> = view
        .columns
        .iter()
        .map(|c| matches!(c.ty, ColumnType::Number | ColumnType::Timestamp))
        .collect();
    for (c, r) in view.columns.iter().zip(&ranged) {
        aggs.push(count(ident(&c.canon)));
        if *r {
            aggs.push(min(ident(&c.canon)));
            aggs.push(max(ident(&c.canon)));
        }
    }
    let fresh_at = aggs.len();
    if let Some((column, end)) = freshness {
        let c = ident(column);
        let end = lit(datafusion::common::ScalarValue::TimestampNanosecond(
            Some(end),
            None,
        ));
        let when_kept = |cond: Expr, v: Expr| when(cond, v).end().unwrap_or(lit(0));
        aggs.push(count_if(kept_row.clone()));
        aggs.push(min(when_kept(kept_row.clone(), c.clone())));
        aggs.push(max(when_kept(
            kept_row.clone().and(c.clone().lt(end.clone())),
            c.clone(),
        )));
        aggs.push(count_if(kept_row.clone().and(c.gt_eq(end))));
    }
    let orphans_at = aggs.len();
    let internal = |e: DataFusionError| Error::internal(format!("source {}: {e}", s.name));
    let mut df = projected(ctx, s, view, false).await?;
    for (i, r) in relationships.iter().enumerate() {
        let (key, found) = (format!("__ref_{i}"), format!("__found_{i}"));
        let other = ctx
            .table(r.source.as_str())
            .await
            .and_then(|d| {
                d.select(vec![
                    cast(ident(&r.target), DataType::Utf8).alias(&key),
                    lit(true).alias(&found),
                ])
            })
            .and_then(|d| d.distinct())
            .map_err(internal)?;
        let mine = format!("__key_{i}");
        df = df
            .with_column(&mine, cast(ident(&r.column), DataType::Utf8))
            .and_then(|d| {
                d.join(
                    other,
                    datafusion::common::JoinType::Left,
                    &[mine.as_str()],
                    &[key.as_str()],
                    None,
                )
            })
            .map_err(internal)?;
        aggs.push(count_if(
            kept_row
                .clone()
                .and(ident(&mine).is_not_null())
                .and(ident(&found).is_null()),
        ));
    }
    let df = df.aggregate(vec![], aggs).map_err(internal)?;
    let b = collect(s, df).await?;
    let rows = int_at(&b, 0);
    let quarantined = int_at(&b, 1);
    let failures: Vec<u64> = (0..checks.len()).map(|i| int_at(&b, 2 + i)).collect();
    let mut i = 2 + checks.len();
    let first_failures = errors
        .iter()
        .map(|&c| {
            i += 1;
            (c, int_at(&b, i - 1))
        })
        .collect();
    let batch = b.iter().find(|b| b.num_rows() > 0);
    let mut columns = Vec::new();
    for (c, r) in view.columns.iter().zip(&ranged) {
        let nulls = rows.saturating_sub(int_at(&b, i));
        i += 1;
        let (mut lo, mut hi) = (None, None);
        if *r {
            lo = batch.and_then(|b| value_text(b.column(i)));
            hi = batch.and_then(|b| value_text(b.column(i + 1)));
            i += 2;
        }
        columns.push(ColumnProfile {
            column: c.canon.clone(),
            nulls,
            null_rate: if rows == 0 {
                0.0
            } else {
                nulls as f64 / rows as f64
            },
            min: lo,
            max: hi,
        });
    }
    let ts_at = |i: usize| {
        batch.and_then(|b| {
            let a = b.column(i).as_primitive_opt::<TimestampNanosecondType>()?;
            (!a.is_null(0)).then(|| a.value(0))
        })
    };
    let freshness = freshness.map(|_| FreshnessFacts {
        rows: int_at(&b, fresh_at),
        oldest: ts_at(fresh_at + 1),
        newest: ts_at(fresh_at + 2),
        rows_after: int_at(&b, fresh_at + 3),
    });
    let orphans = (0..relationships.len())
        .map(|i| int_at(&b, orphans_at + i))
        .collect();
    Ok(Profiled {
        rows,
        quarantined,
        failures,
        first_failures,
        columns,
        freshness,
        orphans,
    })
}

/// Row 0 of a min/max column as text: a timestamp as `YYYY-MM-DD HH:MM:SS` (UTC), a number
/// with up to 2 decimals.
fn value_text(a: &dyn Array) -> Option<String> {
    if a.is_null(0) {
        return None;
    }
    if let Some(t) = a.as_primitive_opt::<TimestampNanosecondType>() {
        let d = chrono::DateTime::from_timestamp_nanos(t.value(0));
        return Some(d.format("%Y-%m-%d %H:%M:%S").to_string());
    }
    let x = a.as_primitive_opt::<Float64Type>()?.value(0);
    Some(if x.fract() == 0.0 {
        format!("{x:.0}")
    } else {
        format!("{x:.2}")
    })
}

/// The record of source `s` from its profile: the row checks' results, the quarantined rows
/// by reason, the columns' profiles.
pub(super) fn judge_rows(
    s: &SourceInfo,
    checks: &[RowCheck],
    p: &Profiled,
    max_bad_rows: Threshold,
    tests: &BTreeMap<String, ColumnTests>,
) -> SourceQuality {
    let mut results = Vec::new();
    for (c, &n) in checks.iter().zip(&p.failures) {
        let t = tests.get(&c.column);
        let status = judge(
            n,
            p.rows,
            t.and_then(|t| t.warn_if),
            t.and_then(|t| t.error_if),
        );
        let fate = match c.severity {
            Severity::Error => "quarantined",
            Severity::Warn => "kept",
        };
        results.push(TestResult {
            column: c.column.clone(),
            test: c.test.to_string(),
            severity: c.severity,
            failures: n,
            status,
            detail: if n == 0 {
                "every row passes".to_string()
            } else {
                format!(
                    "{} of {} rows ({}): {}; {fate}",
                    grouped(n),
                    grouped(p.rows),
                    percent(n, p.rows),
                    c.reason
                )
            },
        });
    }
    let mut by_reason: Vec<(String, u64)> = p
        .first_failures
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|&(i, n)| (checks[i].reason.clone(), n))
        .collect();
    by_reason.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    SourceQuality {
        source: s.name.clone(),
        rows: p.rows,
        quarantined: p.quarantined,
        duplicates_dropped: 0,
        rows_kept: p.rows - p.quarantined,
        max_bad_rows: max_bad_rows.to_string(),
        quarantined_by_reason: by_reason,
        tests: results,
        columns: p.columns.clone(),
        status: Status::Pass,
        rejects_file: None,
        rejects: Vec::new(),
        freshness: None,
        header: Vec::new(),
    }
}

/// What [`count_duplicates`] found for one `unique` column.
#[derive(Debug, Clone, Default)]
pub(super) struct Duplicates {
    /// Rows equal in every column to another row of their key, beyond the first.
    pub(super) exact_extra: u64,
    /// Keys held by rows that differ.
    pub(super) conflicting_keys: u64,
    /// Rows of those keys that differ from each other (exact repeats not counted).
    pub(super) conflicting_rows: u64,
}

/// The kept rows of source `s` (no `error` check failed) with the canonical columns and
/// the export's extra columns, as the typed view has them.
async fn kept(
    ctx: &SessionContext,
    s: &SourceInfo,
    view: &ViewSpec,
    checks: &[RowCheck],
) -> Result<DataFrame> {
    let cols: Vec<Expr> = view
        .columns
        .iter()
        .map(|c| ident(&c.canon))
        .chain(view.extras.iter().map(ident))
        .collect();
    projected(ctx, s, view, false)
        .await?
        .filter(not(any_error(checks)))
        .and_then(|d| d.select(cols))
        .map_err(|e| Error::internal(format!("source {}: {e}", s.name)))
}

/// `name` as a SQL identifier in double quotes.
fn q(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Every column of `view` as one text, for telling rows apart (`\u{1f}` between values,
/// `\u{0}` for NULL).
fn row_text(view: &ViewSpec) -> String {
    let parts: Vec<String> = view
        .columns
        .iter()
        .map(|c| c.canon.clone())
        .chain(view.extras.iter().cloned())
        .map(|c| format!("coalesce(CAST({} AS VARCHAR), chr(0))", q(&c)))
        .collect();
    format!("concat_ws(chr(31), {})", parts.join(", "))
}

/// Duplicates of `column` among the kept rows of source `s`.
///
/// Errors (exit 3): the source cannot be read.
pub(super) async fn count_duplicates(
    ctx: &SessionContext,
    s: &SourceInfo,
    view: &ViewSpec,
    checks: &[RowCheck],
    column: &str,
) -> Result<Duplicates> {
    let table = format!("__audit_{}", s.name);
    let df = kept(ctx, s, view, checks).await?;
    ctx.register_table(table.as_str(), df.into_view())
        .map_err(|e| Error::internal(e.to_string()))?;
    let sql = format!(
        // Two groupings rather than count(DISTINCT …) per key, whose per-group sets do not
        // spill: (key, row) → repeats, then key → rows and distinct rows.
        "SELECT sum(n - d), sum(CASE WHEN d > 1 THEN 1 ELSE 0 END), \
         sum(CASE WHEN d > 1 THEN d ELSE 0 END) \
         FROM (SELECT sum(r) AS n, count(*) AS d FROM \
               (SELECT {k} AS k, count(*) AS r FROM {t} WHERE {k} IS NOT NULL GROUP BY {k}, {rt}) \
               GROUP BY k HAVING sum(r) > 1)",
        rt = row_text(view),
        t = q(&table),
        k = q(column)
    );
    let result = match ctx.sql(&sql).await {
        Ok(df) => collect(s, df).await,
        Err(e) => Err(Error::internal(e.to_string())),
    };
    let _ = ctx.deregister_table(table.as_str());
    let b = result?;
    Ok(Duplicates {
        exact_extra: int_at(&b, 0),
        conflicting_keys: int_at(&b, 1),
        conflicting_rows: int_at(&b, 2),
    })
}

impl SourceQuality {
    /// Adds the result of the `unique` test on `column`, resolved by `rule`.
    pub(super) fn add_unique(
        &mut self,
        column: &str,
        rule: OnConflict,
        t: &ColumnTests,
        d: &Duplicates,
    ) {
        let failures = d.exact_extra + d.conflicting_rows.saturating_sub(d.conflicting_keys);
        let keys = plural(d.conflicting_keys, "key", "keys");
        let fate = match rule {
            OnConflict::Reject => format!(
                "{} held by rows that differ: their {} quarantined",
                keys,
                plural(d.conflicting_rows, "row", "rows")
            ),
            OnConflict::KeepLatest => format!(
                "{} held by rows that differ: the row with the latest {} kept, {} dropped",
                keys,
                t.latest_by.as_deref().unwrap_or(""),
                plural(
                    d.conflicting_rows.saturating_sub(d.conflicting_keys),
                    "row",
                    "rows"
                )
            ),
            OnConflict::Keep => {
                format!("{keys} held by rows that differ, kept for the models to resolve")
            }
        };
        let repeats = plural(d.exact_extra, "exact repeat", "exact repeats");
        let exact = if rule == OnConflict::Keep {
            format!("{repeats} kept for the models")
        } else {
            format!("{repeats} dropped")
        };
        if rule != OnConflict::Keep {
            self.duplicates_dropped += d.exact_extra;
        }
        match rule {
            OnConflict::Reject => {
                self.quarantined += d.conflicting_rows;
                if d.conflicting_rows > 0 {
                    self.quarantined_by_reason.push((
                        format!("{column} shared by rows that differ"),
                        d.conflicting_rows,
                    ));
                }
            }
            OnConflict::KeepLatest => {
                self.duplicates_dropped += d.conflicting_rows.saturating_sub(d.conflicting_keys)
            }
            OnConflict::Keep => {}
        }
        self.rows_kept = self.rows - self.quarantined - self.duplicates_dropped;
        let status = judge(failures, self.rows, t.warn_if, t.error_if);
        self.tests.push(TestResult {
            column: column.to_string(),
            test: "unique".into(),
            severity: if rule == OnConflict::Reject {
                Severity::Error
            } else {
                Severity::Warn
            },
            failures,
            status,
            detail: if failures == 0 {
                "every value occurs once".to_string()
            } else {
                format!("{exact}; {fate}")
            },
        });
    }

    /// Whether the quarantined rows pass `max_bad_rows`.
    pub(super) fn over_max_bad_rows(&self) -> bool {
        Threshold::parse(&self.max_bad_rows).is_ok_and(|t| t.passed(self.quarantined, self.rows))
    }

    /// Sets the source's status: `error` past `max_bad_rows` or a test's `error_if`, `warn`
    /// when rows were quarantined or a test warns.
    pub(super) fn finish(&mut self) {
        let worst = self
            .tests
            .iter()
            .map(|t| t.status)
            .max()
            .unwrap_or(Status::Pass);
        let rows = if self.over_max_bad_rows() {
            Status::Error
        } else if self.quarantined > 0 || self.duplicates_dropped > 0 {
            Status::Warn
        } else {
            Status::Pass
        };
        self.status = worst.max(rows);
    }
}

/// Registers the typed view `<name>` of source `s` again: the rows no `error` check failed,
/// with each `dedup` column's duplicates resolved (exact repeats dropped; rows that differ
/// rejected or the latest kept). Returns the quarantined rows (the export's columns as text,
/// then `__column`, `__value`, `__reason`, `__test`) and the rows rejected as conflicting (the view's
/// columns, then `__key_column`), each at most [`MAX_REJECTS_KEPT`](super::MAX_REJECTS_KEPT).
///
/// Errors (exit 3): the source cannot be read.
pub(super) async fn register_kept(
    ctx: &SessionContext,
    s: &SourceInfo,
    view: &ViewSpec,
    checks: &[RowCheck],
    dedup: &[(String, OnConflict, Option<String>, Duplicates)],
) -> Result<(Vec<RecordBatch>, Vec<(String, Vec<RecordBatch>)>)> {
    let internal = |e: DataFusionError| Error::internal(format!("source {}: {e}", s.name));
    let limit = super::MAX_REJECTS_KEPT;
    // The quarantined rows, with the first failing check's column, value and reason.
    let errors: Vec<&RowCheck> = checks
        .iter()
        .filter(|c| c.severity == Severity::Error)
        .collect();
    let first = |f: &dyn Fn(&RowCheck) -> Expr| -> datafusion::common::Result<Expr> {
        let mut w = when(errors[0].failed.clone(), f(errors[0]));
        for c in &errors[1..] {
            w = w.when(c.failed.clone(), f(c));
        }
        w.end()
    };
    let mut rejected = Vec::new();
    if !errors.is_empty() {
        let raw_of = |export: &str| match view.header.iter().position(|h| h == export) {
            Some(i) => ident(format!("__raw_{i}")),
            None => lit(""),
        };
        let mut cols: Vec<Expr> = (0..view.header.len())
            .map(|i| ident(format!("__raw_{i}")))
            .collect();
        cols.push(
            first(&|c| lit(c.export.clone()))
                .map_err(internal)?
                .alias("__column"),
        );
        cols.push(
            first(&|c| raw_of(&c.export))
                .map_err(internal)?
                .alias("__value"),
        );
        cols.push(
            first(&|c| lit(c.reason.clone()))
                .map_err(internal)?
                .alias("__reason"),
        );
        cols.push(first(&|c| lit(c.test)).map_err(internal)?.alias("__test"));
        let df = projected(ctx, s, view, true)
            .await?
            .filter(any_error(checks))
            .and_then(|d| d.select(cols))
            .and_then(|d| d.limit(0, Some(limit)))
            .map_err(internal)?;
        rejected = collect(s, df).await?;
    }
    // The kept rows, then each key's duplicates.
    let mut df = kept(ctx, s, view, checks).await?;
    let mut conflicts = Vec::new();
    let table = format!("__audit_{}", s.name);
    for (column, rule, latest_by, _) in dedup {
        let _ = ctx.deregister_table(table.as_str());
        ctx.register_table(table.as_str(), df.clone().into_view())
            .map_err(internal)?;
        let (t, k) = (q(&table), q(column));
        let distinct = format!("(SELECT DISTINCT * FROM {t})");
        let conflicting = format!(
            "SELECT {k} FROM {distinct} WHERE {k} IS NOT NULL GROUP BY {k} HAVING count(*) > 1"
        );
        let sql = match rule {
            OnConflict::Reject => {
                let rows = ctx
                    .sql(&format!(
                        "SELECT * FROM {distinct} WHERE {k} IN ({conflicting}) LIMIT {limit}"
                    ))
                    .await
                    .map_err(internal)?;
                conflicts.push((column.clone(), collect(s, rows).await?));
                format!("SELECT * FROM {distinct} WHERE {k} IS NULL OR {k} NOT IN ({conflicting})")
            }
            OnConflict::KeepLatest => {
                let by = q(latest_by.as_deref().unwrap_or_default());
                let names: Vec<String> = view
                    .columns
                    .iter()
                    .map(|c| q(&c.canon))
                    .chain(view.extras.iter().map(|e| q(e)))
                    .collect();
                format!(
                    "SELECT {cols} FROM (SELECT *, row_number() OVER (PARTITION BY {k} ORDER BY {by} DESC NULLS LAST, {rt}) AS __rn FROM {distinct}) WHERE {k} IS NULL OR __rn = 1",
                    cols = names.join(", "),
                    rt = row_text(view)
                )
            }
            OnConflict::Keep => format!("SELECT * FROM {distinct}"),
        };
        df = ctx.sql(&sql).await.map_err(internal)?;
    }
    let _ = ctx.deregister_table(table.as_str());
    let _ = ctx.deregister_table(s.name.as_str());
    ctx.register_table(s.name.as_str(), df.into_view())
        .map_err(internal)?;
    Ok((rejected, conflicts))
}

/// Rows of the view `source` whose `column` is not empty and does not occur in `target`
/// (`other_source.column`, checked by the caller): for a relationship whose other source
/// was not final when this one was profiled.
///
/// Errors: exit 3 when a source cannot be read.
pub(super) async fn count_orphans(
    ctx: &SessionContext,
    source: &str,
    column: &str,
    target: &str,
    sources: &[SourceInfo],
) -> Result<u64> {
    let (ts, tc) = target.split_once('.').unwrap_or((target, ""));
    let sql = format!(
        "SELECT count(*) FROM {s} AS x WHERE x.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {t} AS y WHERE CAST(y.{tc} AS VARCHAR) = CAST(x.{c} AS VARCHAR))",
        s = q(source),
        c = q(column),
        t = q(ts),
        tc = q(tc)
    );
    let df = ctx
        .sql(&sql)
        .await
        .map_err(|e| Error::internal(e.to_string()))?;
    match sources.iter().find(|s| s.name == source) {
        Some(me) => Ok(int_at(&collect(me, df).await?, 0)),
        None => Ok(0),
    }
}

/// `n` and the word for it: "1 key", "2 keys".
fn plural(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", grouped(n), if n == 1 { one } else { many })
}
