//! SQL-level tests of journey-report's SQL functions: runs every `tests/sql/**/*.slt` file
//! (sqllogictest format) against a fresh session built the way the app builds it
//! (`session::build_session`, which registers every function), one file after another.
//!
//! Prints one line per file (`ok`, or the first failure with its file and line) and a closing
//! `sqllogic: N passed, M failed`; exits non-zero when a file fails, when there is no `.slt`
//! file at all, when a file cannot be read or parsed, or when a file holds no statement or
//! query. Arguments that do not start with `-` are filters: only files whose path (relative to
//! `tests/sql`) contains one of them run, e.g.
//! `cargo test --release --test sqllogic -- funnel`.
//!
//! Values are written as DataFusion's own sqllogictest runner writes them: NULL as `NULL`, an
//! empty string as `(empty)`, booleans as `true`/`false`, floats rounded to 12 decimal places
//! with trailing zeros dropped (`NaN`, `Infinity`, `-Infinity`), and everything else (dates,
//! timestamps, lists, structs) in DataFusion's display form. Column types are checked
//! strictly: `B` boolean, `I` integer, `R` float or decimal, `T` text, `D` date or time,
//! `P` timestamp, `?` anything else.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use async_trait::async_trait;
use datafusion::arrow::array::{Array, ArrayRef, AsArray};
use datafusion::arrow::datatypes::{DataType, Float64Type, Schema};
use datafusion::arrow::record_batch::RecordBatch;
use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
use datafusion::common::DataFusionError;
use datafusion::config::ConfigField;
use datafusion::prelude::SessionContext;
use journey_report::engine::session::{SessionOptions, build_session};
use sqllogictest::{ColumnType, DBOutput, Record, Runner, strict_column_validator};

/// The column types of a result, with the letters DataFusion's sqllogictest uses.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Col {
    Boolean,
    DateTime,
    Integer,
    Float,
    Text,
    Timestamp,
    Another,
}

impl ColumnType for Col {
    fn from_char(value: char) -> Option<Self> {
        Some(match value {
            'B' => Col::Boolean,
            'D' => Col::DateTime,
            'I' => Col::Integer,
            'P' => Col::Timestamp,
            'R' => Col::Float,
            'T' => Col::Text,
            _ => Col::Another,
        })
    }

    fn to_char(&self) -> char {
        match self {
            Col::Boolean => 'B',
            Col::DateTime => 'D',
            Col::Integer => 'I',
            Col::Timestamp => 'P',
            Col::Float => 'R',
            Col::Text => 'T',
            Col::Another => '?',
        }
    }
}

fn column_type(t: &DataType) -> Col {
    match t {
        DataType::Boolean => Col::Boolean,
        t if t.is_integer() => Col::Integer,
        t if t.is_floating() => Col::Float,
        DataType::Decimal32(..)
        | DataType::Decimal64(..)
        | DataType::Decimal128(..)
        | DataType::Decimal256(..) => Col::Float,
        DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View => Col::Text,
        DataType::Date32 | DataType::Date64 | DataType::Time32(_) | DataType::Time64(_) => {
            Col::DateTime
        }
        DataType::Timestamp(_, _) => Col::Timestamp,
        DataType::Dictionary(k, v)
            if k.is_integer()
                && matches!(
                    v.as_ref(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
        {
            Col::Text
        }
        _ => Col::Another,
    }
}

/// A float as DataFusion's sqllogictest writes it: rounded to 12 decimal places, trailing
/// zeros (and a trailing dot) dropped, `-0` as `0`.
fn float_to_str(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "Infinity" } else { "-Infinity" }.into();
    }
    let mut s = format!("{v:.12}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    if s == "-0" { "0".into() } else { s }
}

fn text_to_str(v: &str) -> String {
    if v.is_empty() {
        "(empty)".into()
    } else {
        v.trim_end_matches('\n').replace('\u{0000}', "\\0")
    }
}

fn cell(col: &ArrayRef, row: usize, options: &FormatOptions) -> Result<String, DataFusionError> {
    if col.is_null(row) {
        return Ok("NULL".into());
    }
    Ok(match col.data_type() {
        DataType::Null => "NULL".into(),
        DataType::Boolean => col.as_boolean().value(row).to_string(),
        DataType::Float16 | DataType::Float32 => {
            let c = datafusion::arrow::compute::cast(&col.slice(row, 1), &DataType::Float64)?;
            float_to_str(c.as_primitive::<Float64Type>().value(0))
        }
        DataType::Float64 => float_to_str(col.as_primitive::<Float64Type>().value(row)),
        DataType::Utf8 => text_to_str(col.as_string::<i32>().value(row)),
        DataType::LargeUtf8 => text_to_str(col.as_string::<i64>().value(row)),
        DataType::Utf8View => text_to_str(col.as_string_view().value(row)),
        DataType::Dictionary(_, _) => {
            let dict = col.as_any_dictionary();
            let key = dict.normalized_keys()[row];
            cell(dict.values(), key, options)?
        }
        _ => ArrayFormatter::try_new(col.as_ref(), options)?
            .value(row)
            .to_string(),
    })
}

/// One session, built as the app builds it.
struct Db {
    ctx: SessionContext,
    /// DataFusion's display options with NULL written as `NULL`, as its runner sets them.
    display: datafusion::config::FormatOptions,
}

impl Db {
    fn new() -> Result<Self, DataFusionError> {
        let ctx = build_session(&SessionOptions::default())
            .map_err(|e| DataFusionError::External(Box::new(e)))?;
        let mut display = datafusion::config::FormatOptions::default();
        display.set("null", "NULL")?;
        Ok(Self { ctx, display })
    }

    async fn query(&self, sql: &str) -> Result<DBOutput<Col>, DataFusionError> {
        let options: FormatOptions<'_> = (&self.display).try_into()?;
        let df = self.ctx.sql(sql).await?;
        let schema: Schema = df.schema().as_arrow().clone();
        let batches: Vec<RecordBatch> = df.collect().await?;
        let types: Vec<Col> = schema
            .fields()
            .iter()
            .map(|f| column_type(f.data_type()))
            .collect();
        let mut rows = Vec::new();
        for batch in &batches {
            for row in 0..batch.num_rows() {
                rows.push(
                    batch
                        .columns()
                        .iter()
                        .map(|c| cell(c, row, &options))
                        .collect::<Result<Vec<_>, _>>()?,
                );
            }
        }
        Ok(if rows.is_empty() && types.is_empty() {
            DBOutput::StatementComplete(0)
        } else {
            DBOutput::Rows { types, rows }
        })
    }
}

#[async_trait]
impl sqllogictest::AsyncDB for Db {
    type Error = DataFusionError;
    type ColumnType = Col;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<Col>, DataFusionError> {
        self.query(sql).await
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "journey-report"
    }
}

/// Every `*.slt` file under `dir`, sorted.
fn slt_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "slt") {
                out.push(path);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The SQL functions the app adds: those of its session that a plain DataFusion session lacks.
fn our_functions() -> Vec<String> {
    let ours = build_session(&SessionOptions::default()).expect("the app's session");
    let plain = SessionContext::new();
    let (ours, plain) = (ours.state(), plain.state());
    let mut names: Vec<String> = ours
        .scalar_functions()
        .keys()
        .filter(|n| !plain.scalar_functions().contains_key(*n))
        .chain(
            ours.aggregate_functions()
                .keys()
                .filter(|n| !plain.aggregate_functions().contains_key(*n)),
        )
        .chain(
            ours.window_functions()
                .keys()
                .filter(|n| !plain.window_functions().contains_key(*n)),
        )
        .cloned()
        .collect();
    names.sort();
    names
}

/// The functions of [`our_functions`] that no `.slt` file calls (`name(` in its text).
fn untested(files: &[PathBuf]) -> Result<Vec<String>, String> {
    let mut text = String::new();
    for f in files {
        text += &std::fs::read_to_string(f).map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(our_functions()
        .into_iter()
        .filter(|n| !text.contains(&format!("{n}(")))
        .collect())
}

/// Runs one file; `Err` is the message to print.
async fn run_file(path: &Path) -> Result<usize, String> {
    // Read and parse first, so that an unreadable file, or one with no test in it, fails
    // with a message instead of a panic or a pass.
    std::fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let records =
        sqllogictest::parse_file::<Col>(path).map_err(|e| format!("cannot parse: {e}"))?;
    let tests = records
        .iter()
        .filter(|r| matches!(r, Record::Statement { .. } | Record::Query { .. }))
        .count();
    if tests == 0 {
        return Err("no statement or query in the file".into());
    }
    let mut runner = Runner::new(|| async { Db::new() });
    runner.with_column_validator(strict_column_validator);
    let result = runner.run_file_async(path).await;
    runner.shutdown_async().await;
    result
        .map(|()| tests)
        .map_err(|e| e.display(false).to_string())
}

fn main() -> ExitCode {
    // Files under tests/fixtures are named relative to the package folder.
    if let Err(e) = std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")) {
        eprintln!("sqllogic: cannot enter {}: {e}", env!("CARGO_MANIFEST_DIR"));
        return ExitCode::FAILURE;
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("sql");
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let files = match slt_files(&root) {
        Ok(f) if f.is_empty() => {
            eprintln!("sqllogic: no .slt file under {}", root.display());
            return ExitCode::FAILURE;
        }
        Ok(f) => f,
        Err(e) => {
            eprintln!("sqllogic: cannot list {}: {e}", root.display());
            return ExitCode::FAILURE;
        }
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (mut passed, mut failed) = (0, 0);
    let start = Instant::now();
    for path in &files {
        let name = path
            .strip_prefix(&root)
            .unwrap_or(path)
            .display()
            .to_string();
        if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let t = Instant::now();
        match rt.block_on(run_file(path)) {
            Ok(n) => {
                passed += 1;
                println!("sqllogic {name} ... ok ({n} records, {:.2?})", t.elapsed());
            }
            Err(e) => {
                failed += 1;
                println!("sqllogic {name} ... FAILED\n{e}\n");
            }
        }
    }
    // Without a filter, every function the app registers must be called by some file.
    if filters.is_empty() {
        match untested(&files) {
            Ok(missing) if missing.is_empty() => {}
            Ok(missing) => {
                failed += 1;
                println!("sqllogic: no .slt file calls {}", missing.join(", "));
            }
            Err(e) => {
                failed += 1;
                println!("sqllogic: cannot read {e}");
            }
        }
    }
    if passed + failed == 0 {
        println!("sqllogic: no .slt file matches {filters:?}");
    }
    println!("sqllogic: finished in {:.2?}", start.elapsed());
    println!("sqllogic: {passed} passed, {failed} failed");
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}
