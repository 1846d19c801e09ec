//! Data tests and quarantine: what `run`, `check` and `query` do to every source before a
//! model reads it (the tests and severities of [`crate::project::data_tests`]).
//!
//! For each source with files, one aggregate over `raw_<name>` (the export read leniently:
//! a value that cannot be read as its column's type is NULL) counts the rows, each row
//! check's failures ([`checks::row_checks`]), each column's empty values, and the smallest
//! and largest number and timestamp. Then:
//!
//! - when rows fail an `error` check, the typed view `<name>` is registered again without
//!   them, and they are kept (up to [`MAX_REJECTS_KEPT`]) with the export's file and line for
//!   `data/rejects/<name>.csv`;
//! - each `unique` column is counted: rows equal in every column are dropped down to one;
//!   a key held by rows that differ is resolved by the test's `on_conflict` (rejected, latest
//!   kept, or left to the models);
//! - each `relationships` test counts the rows whose value the other source lacks (orphans);
//! - the source's quarantined rows are judged against `max_bad_rows` and each test's count
//!   against its `warn_if` / `error_if`.
//!
//! On clean data nothing is registered again: the views stay as [`register_sources`]
//! (crate::sources::register_sources) built them.
//!
//! | file | owns |
//! |---|---|
//! | `mod.rs` | [`SourceQuality`] and its parts, [`audit_sources`] |
//! | `checks.rs` | the row checks of a source: [`RowCheck`](checks::RowCheck) |
//! | `profile.rs` | the one aggregate per source, the duplicate and orphan counts, the quarantined view |
//! | `rejects.rs` | the quarantined rows with their file and line |

mod checks;
pub(crate) mod profile;
mod rejects;

use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::project::Config;
use crate::project::data_tests::{OnConflict, Severity, Threshold};
use crate::sources::SourceInfo;

/// The most quarantined rows of one source kept for its rejects file; the count is exact
/// either way.
pub(crate) const MAX_REJECTS_KEPT: usize = 100_000;

/// How a test or a source came out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Status {
    /// No failure past `warn_if`.
    Pass,
    /// Past `warn_if` (or rows quarantined within `max_bad_rows`): the page and the log say so.
    Warn,
    /// Past `error_if` or `max_bad_rows`: the run fails (exit 3).
    Error,
}

/// The result of one data test (one entry of `tests` in the data-quality record).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TestResult {
    /// Canonical column.
    pub(crate) column: String,
    /// `type`, `not_null`, `accepted_values`, `min`, `max`, `completed_amount`, `unique`,
    /// `relationships`.
    pub(crate) test: String,
    /// `error` (failing rows quarantined) or `warn` (rows kept). `relationships` is always
    /// `warn`; `unique` is `error` when rows that differ are quarantined (`on_conflict =
    /// "reject"`), else `warn`.
    pub(crate) severity: Severity,
    /// Rows failing it (for `unique`: rows beyond the first of each key).
    pub(crate) failures: u64,
    /// The outcome against `warn_if` / `error_if`.
    pub(crate) status: Status,
    /// What it checks and what became of the failing rows, in one sentence.
    pub(crate) detail: String,
}

/// The profile of one canonical column.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ColumnProfile {
    /// Canonical column.
    pub(crate) column: String,
    /// Rows where it is empty (NULL, empty text, or unreadable).
    pub(crate) nulls: u64,
    /// `nulls` / rows, 0…1 (0 for a source without rows).
    pub(crate) null_rate: f64,
    /// Smallest value (numbers and timestamps; timestamps as `YYYY-MM-DD HH:MM:SS` UTC).
    pub(crate) min: Option<String>,
    /// Largest value.
    pub(crate) max: Option<String>,
}

/// One quarantined row: where it stands and why.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct RejectRow {
    /// The export file (a Parquet source with several files: every file, comma-separated).
    pub(crate) file: String,
    /// CSV: the line in the file (header = line 1); Parquet: not known.
    pub(crate) line: Option<u64>,
    /// CSV: the data row in the file (1 = the first after the header).
    #[serde(skip)]
    pub(crate) data_row: Option<u64>,
    /// The canonical column, when it differs from the export's.
    #[serde(skip)]
    pub(crate) canon: String,
    /// The check that quarantined it (`type`, `completed_amount`, `not_null`, …; empty for a
    /// conflicting duplicate).
    #[serde(skip)]
    pub(crate) test: String,
    /// The export's column.
    pub(crate) column: String,
    /// The value as the export has it (empty when missing).
    pub(crate) value: String,
    /// Why it was quarantined (the first failing check).
    pub(crate) reason: String,
    /// The whole row, as text, in the export's column order.
    pub(crate) row: Vec<String>,
}

/// What the data tests found in one source (one entry of `data_quality` in `manifest.json`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct SourceQuality {
    /// Source (table) name.
    pub(crate) source: String,
    /// Rows read from its files.
    pub(crate) rows: u64,
    /// Rows quarantined (rejects file; left out of every model).
    pub(crate) quarantined: u64,
    /// Rows equal in every column to an earlier one, dropped; and rows dropped by
    /// `on_conflict = "keep_latest"`.
    pub(crate) duplicates_dropped: u64,
    /// Rows every model reads: `rows − quarantined − duplicates_dropped`.
    pub(crate) rows_kept: u64,
    /// The source's `max_bad_rows` (`> 1%` by default).
    pub(crate) max_bad_rows: String,
    /// Quarantined rows by reason, largest first: (reason, rows).
    pub(crate) quarantined_by_reason: Vec<(String, u64)>,
    /// Every test's result.
    pub(crate) tests: Vec<TestResult>,
    /// Every canonical column's profile.
    pub(crate) columns: Vec<ColumnProfile>,
    /// The worst status of its tests and of `max_bad_rows`.
    pub(crate) status: Status,
    /// `data/rejects/<source>.csv` when rows were quarantined.
    pub(crate) rejects_file: Option<String>,
    /// The quarantined rows kept for the rejects file (at most [`MAX_REJECTS_KEPT`]).
    #[serde(skip)]
    pub(crate) rejects: Vec<RejectRow>,
    /// What the freshness check needs, from the same scan (`None`: it reads the view).
    #[serde(skip)]
    pub(crate) freshness: Option<profile::FreshnessFacts>,
    /// The export's column names, in file order (the rejects file's last columns).
    #[serde(skip)]
    pub(crate) header: Vec<String>,
}

impl SourceQuality {
    /// One sentence per finding worth a warning (status `warn` or `error`), for the log,
    /// the banner and the e-mail.
    pub(crate) fn findings(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.quarantined > 0 {
            let reasons: Vec<String> = self
                .quarantined_by_reason
                .iter()
                .take(3)
                .map(|(r, n)| format!("{} {r}", count(*n)))
                .collect();
            out.push(format!(
                "source {}: {} of {} rows quarantined ({}; max_bad_rows {}): {}; see data/rejects/{}.csv",
                self.source,
                count(self.quarantined),
                count(self.rows),
                percent(self.quarantined, self.rows),
                self.max_bad_rows,
                reasons.join("; "),
                self.source
            ));
        }
        for t in &self.tests {
            let quarantining = t.severity == Severity::Error
                && !matches!(t.test.as_str(), "unique" | "relationships");
            if t.status != Status::Pass && !quarantining {
                out.push(format!(
                    "source {}: test {} on {}: {}",
                    self.source, t.test, t.column, t.detail
                ));
            }
        }
        out
    }
}

/// `n` with thousands separators ("5,009"), as the pages print counts.
pub(crate) fn count(n: u64) -> String {
    journey_charts::format_number(n as f64, 0)
}

/// `n` of `of` as a percentage with one or two decimals ("0.38%").
pub(crate) fn percent(n: u64, of: u64) -> String {
    if of == 0 {
        return "0%".into();
    }
    let p = n as f64 * 100.0 / of as f64;
    if p >= 1.0 {
        format!("{p:.1}%")
    } else {
        format!("{p:.2}%")
    }
}

/// Runs the data tests of every registered source of `cfg` (see the module documentation),
/// registers the typed view of a source again without its quarantined rows, and fills in
/// each source's `rows`.
///
/// Returns each source's record, in source order. A source past `max_bad_rows` or a test
/// past `error_if` has status [`Status::Error`]; the caller fails the run.
///
/// Errors: exit 2 for a test the source cannot have (an unknown column, a bound of the wrong
/// kind, a `relationships` target that is not a source column); exit 3 when a source cannot
/// be read at all (a CSV row with the wrong number of fields, a corrupt Parquet file); exit 1
/// when `spill_dir` (the session's `--spill-dir`; `None`: the system temp folder) is full.
pub(crate) async fn audit_sources(
    ctx: &SessionContext,
    cfg: &Config,
    sources: &mut [SourceInfo],
    as_of_end_ns: i64,
    spill_dir: Option<&std::path::Path>,
) -> Result<Vec<SourceQuality>> {
    let _ = profile::SPILL_DIR.set(spill_dir.map(std::path::Path::to_path_buf));
    // The sources others point at (`relationships`) first, so that their views are final
    // when the others' profiles join them.
    let targets: Vec<String> = cfg
        .sources
        .iter()
        .flat_map(|(name, src)| src.column_tests(name).into_values())
        .filter_map(|t| t.relationships)
        .filter_map(|r| r.split_once('.').map(|(s, _)| s.to_string()))
        .collect();
    let mut order: Vec<usize> = (0..sources.len()).collect();
    order.sort_by_key(|&i| !targets.contains(&sources[i].name));
    let mut out: Vec<(usize, SourceQuality)> = Vec::new();
    let mut done: Vec<String> = Vec::new();
    for i in order {
        let infos: Vec<SourceInfo> = sources.to_vec();
        let s = &mut sources[i];
        let (Some(src), Some(view)) = (cfg.sources.get(&s.name), s.view.clone()) else {
            continue;
        };
        let tests = src.column_tests(&s.name);
        let checks = checks::row_checks(&s.name, &view, &tests)?;
        // Relationships to a source already final are counted in the same scan.
        let mut relationships = Vec::new();
        let mut later = Vec::new();
        for (column, t) in &tests {
            let Some(target) = &t.relationships else {
                continue;
            };
            let Some((ts, tc)) = target.split_once('.') else {
                return Err(Error::config(format!(
                    "journey.toml: [sources.{}.tests] {column}: relationships = {target:?}: expected \"source.column\"",
                    s.name
                )));
            };
            let Some(other) = infos.iter().find(|o| o.name == ts) else {
                continue; // the other source is not declared: nothing to compare with
            };
            if !other
                .view
                .as_ref()
                .is_some_and(|v| v.columns.iter().any(|c| c.canon == tc))
            {
                return Err(Error::config(format!(
                    "journey.toml: [sources.{}.tests] {column}: relationships = {target:?}: source {ts} has no column {tc}",
                    s.name
                )));
            }
            if done.iter().any(|d| d == ts) {
                relationships.push(profile::Relationship {
                    column: column.clone(),
                    source: ts.to_string(),
                    target: tc.to_string(),
                });
            } else {
                later.push((column.clone(), target.clone()));
            }
        }
        let freshness = src.freshness(&s.name).0.filter(|c| {
            view.columns
                .iter()
                .any(|v| &v.canon == c && v.ty == crate::project::ColumnType::Timestamp)
        });
        let t0 = std::time::Instant::now();
        let profiled = profile::profile(
            ctx,
            s,
            &view,
            &checks,
            freshness.as_deref().map(|c| (c, as_of_end_ns)),
            &relationships,
        )
        .await?;
        tracing::debug!(source = %s.name, seconds = crate::logging::secs(t0.elapsed()), "source profiled");
        s.rows = Some(profiled.rows);
        let mut q = profile::judge_rows(s, &checks, &profiled, src.max_bad_rows(), &tests);
        q.freshness = profiled.freshness;
        q.header = view.header.clone();
        // Keys: duplicates and conflicts, counted on the rows kept so far.
        let mut dedup = Vec::new();
        for (column, t) in &tests {
            if t.unique != Some(true) {
                continue;
            }
            let rule = t.on_conflict.unwrap_or_default();
            if rule == OnConflict::KeepLatest {
                let by = t.latest_by.as_deref().unwrap_or("");
                if !view.columns.iter().any(|c| c.canon == by) {
                    return Err(Error::config(format!(
                        "journey.toml: [sources.{}.tests] {column}: on_conflict = \"keep_latest\" needs latest_by = \"<a canonical column>\" (got {by:?})",
                        s.name
                    )));
                }
            }
            let dups = profile::count_duplicates(ctx, s, &view, &checks, column).await?;
            q.add_unique(column, rule, t, &dups);
            if rule != OnConflict::Keep && (dups.exact_extra > 0 || dups.conflicting_rows > 0) {
                dedup.push((column.clone(), rule, t.latest_by.clone(), dups));
            }
        }
        if profiled.quarantined > 0 || !dedup.is_empty() {
            if !dedup.is_empty() {
                // Rows dropped by key: the freshness check reads the view itself.
                q.freshness = None;
            }
            let (rejected, conflicts) =
                profile::register_kept(ctx, s, &view, &checks, &dedup).await?;
            q.rejects = rejects::locate(s, &view, rejected, conflicts);
            q.rejects_file = Some(format!("data/rejects/{}.csv", s.name));
        }
        for (r, orphans) in relationships.iter().zip(&profiled.orphans) {
            let target = format!("{}.{}", r.source, r.target);
            q.add_relationship(&r.column, &target, &tests[&r.column], *orphans);
        }
        for (column, target) in later {
            let orphans = profile::count_orphans(ctx, &s.name, &column, &target, &infos).await?;
            q.add_relationship(&column, &target, &tests[&column], orphans);
        }
        q.finish();
        done.push(s.name.clone());
        out.push((i, q));
    }
    out.sort_by_key(|(i, _)| *i);
    Ok(out.into_iter().map(|(_, q)| q).collect())
}

impl SourceQuality {
    /// Adds the result of the `relationships` test on `column`: `orphans` of the rows kept
    /// lack their value in `target`.
    fn add_relationship(
        &mut self,
        column: &str,
        target: &str,
        t: &crate::project::data_tests::ColumnTests,
        orphans: u64,
    ) {
        let kept = self.rows_kept;
        let status = judge(orphans, kept, t.warn_if, t.error_if);
        self.tests.push(TestResult {
            column: column.to_string(),
            test: "relationships".into(),
            severity: Severity::Warn,
            failures: orphans,
            status,
            detail: if orphans == 0 {
                format!("every {column} occurs in {target}")
            } else {
                format!(
                    "{} of {} rows ({}) have a {column} that {target} lacks; they are kept",
                    count(orphans),
                    count(kept),
                    percent(orphans, kept)
                )
            },
        });
    }
}

/// A test's status from its failure count: past `error_if` → error, past `warn_if`
/// (default `> 0`) → warn.
fn judge(
    failures: u64,
    rows: u64,
    warn_if: Option<Threshold>,
    error_if: Option<Threshold>,
) -> Status {
    if error_if.is_some_and(|t| t.passed(failures, rows)) {
        Status::Error
    } else if warn_if
        .unwrap_or(Threshold::NONE_ALLOWED)
        .passed(failures, rows)
    {
        Status::Warn
    } else {
        Status::Pass
    }
}

/// The error (exit 3) of the sources whose data tests failed the run, or `None`.
pub(crate) fn failed(quality: &[SourceQuality]) -> Option<Error> {
    let mut lines = Vec::new();
    for q in quality.iter().filter(|q| q.status == Status::Error) {
        if q.quarantined > 0 && q.status == Status::Error && q.over_max_bad_rows() {
            // The first rejected row as a bad value has always been reported: file, line,
            // column, value, what was expected.
            if let Some(r) = q.rejects.first() {
                let at = match (r.line, r.data_row) {
                    (Some(l), Some(d)) => format!("line {l} (data row {d}), "),
                    _ => String::new(),
                };
                let mut column = if r.canon == r.column || r.canon.is_empty() {
                    format!("column {:?}", r.column)
                } else {
                    format!("column {:?} ({})", r.column, r.canon)
                };
                if r.test == "completed_amount" {
                    column.push_str(" (status \"completed\")");
                }
                let expected = r.reason.split_once(": expected ").map(|(_, e)| e);
                let what = match (r.test.as_str(), expected) {
                    ("type" | "completed_amount", Some(expected)) => format!(
                        "cannot read {}: expected {expected}",
                        crate::functions::shorten(&r.value)
                    ),
                    _ => format!(
                        "{} (value {})",
                        r.reason,
                        crate::functions::shorten(&r.value)
                    ),
                };
                lines.push(format!("{}: {at}{column}: {what}", r.file));
            }
            lines.push(format!(
                "source {}: {} of {} rows fail its data tests ({}), more than max_bad_rows {}; every one is listed in the rejects file of a run that stays within it",
                q.source,
                count(q.quarantined),
                count(q.rows),
                percent(q.quarantined, q.rows),
                q.max_bad_rows
            ));
        }
        for t in q.tests.iter().filter(|t| t.status == Status::Error) {
            lines.push(format!(
                "source {}: test {} on {} failed: {}",
                q.source, t.test, t.column, t.detail
            ));
        }
    }
    (!lines.is_empty()).then(|| {
        Error::input(format!(
            "{}\n  nothing was written: the previous report folder, if any, is unchanged (thresholds: [sources.<name>] max_bad_rows and tests.<column> error_if in journey.toml)",
            lines.join("\n  ")
        ))
    })
}
