//! SQL models: `sql/**/<name>.sql` (`sql/staging/`, `sql/intermediate/`,
//! `sql/marts/<area>/`), one query each, whose result is the relation `<name>`.
//!
//! Loading parses every file, binds the `$parameters` as typed literals in the syntax tree
//! (never by pasting text) and finds the tables each query reads
//! (`SessionState::resolve_table_references`, CTEs excluded); [`super::graph`] then orders
//! the models so every model runs after the models it reads, and [`super::runner`] runs them.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use datafusion::prelude::SessionContext;
use datafusion::sql::parser::{DFParser, Statement as DFStatement};
use datafusion::sql::sqlparser::ast::{Expr as SqlExpr, Value, visit_expressions_mut};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::parser::Parser;

use crate::error::{Error, Result};
use crate::project::{Config, Materialize, ParamValue};

/// A parsed SQL model.
#[derive(Debug, Clone)]
pub struct Model {
    /// The relation name: the file stem.
    pub name: String,
    /// `sql/<folder>/<name>.sql` (any depth under `sql/`).
    pub path: PathBuf,
    /// The statement with parameters bound.
    pub statement: DFStatement,
    /// Other models this one reads.
    pub deps: BTreeSet<String>,
    /// Every table this one reads (models, sources, registered tables).
    pub tables: BTreeSet<String>,
    /// The `$parameters` it reads (names without `$`).
    pub params: BTreeSet<String>,
    /// How the result is kept.
    pub materialize: Materialize,
    /// SHA-256 of the file, for the manifest.
    pub sha256: String,
}

/// Lists the model files of a project: every `*.sql` under `sql/`, in any folder
/// (`sql/staging/`, `sql/marts/<area>/`, …), sorted by model name (the file stem), so the
/// folders do not change the order models run in. Hidden files and folders (a leading `.`)
/// and other files are ignored.
///
/// Errors (exit 2): the folder cannot be read; two files with the same stem (a model name
/// names one relation), naming both.
pub fn model_files(project: &Path) -> Result<Vec<PathBuf>> {
    let dir = project.join("sql");
    let unreadable = |path: &Path, e: &dyn std::fmt::Display| {
        Error::config(format!(
            "{}: cannot read the SQL folder: {e}",
            path.display()
        ))
    };
    std::fs::read_dir(&dir).map_err(|e| unreadable(&dir, &e))?;
    let mut files: Vec<(String, PathBuf)> = Vec::new();
    let walk = walkdir::WalkDir::new(&dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(&dir).to_path_buf();
            match e.io_error() {
                Some(io) => unreadable(&path, io),
                None => unreadable(&path, &e),
            }
        })?;
        let p = entry.path();
        if entry.file_type().is_dir() || p.extension().and_then(|e| e.to_str()) != Some("sql") {
            continue;
        }
        let stem = p
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default()
            .to_string();
        files.push((stem, p.to_path_buf()));
    }
    files.sort();
    if let Some(w) = files.windows(2).find(|w| w[0].0 == w[1].0) {
        return Err(Error::config(format!(
            "{} and {}: two model files named {:?}; a model's file stem names its relation, so it must be unique under sql/: rename or remove one",
            relative(project, &w[0].1),
            relative(project, &w[1].1),
            w[0].0
        )));
    }
    Ok(files.into_iter().map(|(_, p)| p).collect())
}

/// `p` relative to the project folder, as messages and the manifest name model files
/// (`sql/marts/funnel/funnel.sql`).
pub fn relative(project: &Path, p: &Path) -> String {
    p.strip_prefix(project).unwrap_or(p).display().to_string()
}

/// Parses one model file and binds `params`.
///
/// Errors (exit 4): a syntax error (with line and column), more than one statement, an unknown
/// `$parameter` (with its line).
pub fn parse_model(
    ctx: &SessionContext,
    project: &Path,
    path: &Path,
    params: &BTreeMap<String, ParamValue>,
    cfg: &Config,
) -> Result<Model> {
    let rel = relative(project, path);
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or_default()
        .to_string();
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return Err(Error::model(format!(
            "{rel}: a model's file name must be letters, digits and _ (it names the relation)"
        )));
    }
    let sql = std::fs::read_to_string(path)
        .map_err(|e| Error::model(format!("{rel}: cannot read: {e}")))?;
    let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(sql.as_bytes()));
    let mut stmts = DFParser::parse_sql_with_dialect(&sql, &GenericDialect {})
        .map_err(|e| Error::model(format!("{rel}: {}", crate::error::clean_error(&e))))?;
    if stmts.len() != 1 {
        return Err(Error::model(format!(
            "{rel}: a model holds exactly one query (found {} statements)",
            stmts.len()
        )));
    }
    let mut statement = stmts.pop_front().expect("one statement");
    let DFStatement::Statement(ast) = &mut statement else {
        return Err(Error::model(format!(
            "{rel}: a model must be a query (SELECT or WITH …), not a DDL or COPY statement"
        )));
    };
    let mut problem: Option<Error> = None;
    let mut used = BTreeSet::new();
    let _ = visit_expressions_mut(ast.as_mut(), |expr| {
        if let SqlExpr::Value(v) = expr
            && let Value::Placeholder(ph) = &v.value
        {
            let key = ph.trim_start_matches(['$', ':', '@']).to_string();
            used.insert(key.clone());
            let line = v.span.start.line;
            match params.get(&key) {
                Some(val) => match Parser::new(&GenericDialect {})
                    .try_with_sql(&val.sql_literal())
                    .and_then(|mut p| p.parse_expr())
                {
                    Ok(e) => *expr = SqlExpr::Nested(Box::new(e)),
                    Err(e) => {
                        problem = Some(Error::internal(format!("{rel}: binding ${key}: {e}")));
                        return ControlFlow::Break(());
                    }
                },
                None => {
                    let known: Vec<_> = params.keys().map(|k| format!("${k}")).collect();
                    problem = Some(Error::model(format!(
                        "{rel}: line {line}: unknown parameter {ph}\n  declared parameters: {}\n  declare it under [params] in journey.toml",
                        known.join(", ")
                    )));
                    return ControlFlow::Break(());
                }
            }
        }
        ControlFlow::Continue(())
    });
    if let Some(p) = problem {
        return Err(p);
    }
    let refs = ctx
        .state()
        .resolve_table_references(&statement)
        .map_err(|e| Error::model(format!("{rel}: {}", crate::error::clean_error(&e))))?;
    let tables: BTreeSet<String> = refs.iter().map(|r| r.table().to_string()).collect();
    let materialize = cfg
        .models
        .get(&name)
        .map(|m| m.materialize)
        .unwrap_or_default();
    Ok(Model {
        name,
        path: path.to_path_buf(),
        statement,
        deps: BTreeSet::new(),
        tables,
        params: used,
        materialize,
        sha256,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::datatypes::{DataType, TimeUnit};
    use datafusion::arrow::util::display::array_value_to_string;

    /// A project folder holding `sql/m.sql` with `sql`; returns it and the file.
    fn project_with(sql: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("sql")).unwrap();
        let file = dir.path().join("sql").join("m.sql");
        std::fs::write(&file, sql).unwrap();
        (dir, file)
    }

    fn no_config() -> Config {
        toml::from_str("").unwrap()
    }

    #[tokio::test]
    async fn parameters_are_bound_as_literals_of_their_type() {
        let (dir, file) = project_with(
            "SELECT $as_of AS d, $now AS ts, $lookback AS n, $share AS x, $tz AS t, $on AS b,\n       '$lookback' AS literal",
        );
        let params = BTreeMap::from([
            (
                "as_of".to_string(),
                ParamValue::Date(chrono::NaiveDate::from_ymd_opt(2026, 10, 31).unwrap()),
            ),
            (
                "now".to_string(),
                ParamValue::Timestamp(
                    chrono::NaiveDate::from_ymd_opt(2026, 10, 31)
                        .unwrap()
                        .and_hms_opt(23, 59, 59)
                        .unwrap(),
                ),
            ),
            ("lookback".to_string(), ParamValue::Int(30)),
            ("share".to_string(), ParamValue::Float(0.5)),
            // A quote inside text is doubled in the literal, not pasted into the SQL.
            ("tz".to_string(), ParamValue::Text("O'Brien".to_string())),
            ("on".to_string(), ParamValue::Bool(true)),
            ("unused".to_string(), ParamValue::Int(1)),
        ]);
        let ctx = SessionContext::new();
        let m = parse_model(&ctx, dir.path(), &file, &params, &no_config()).unwrap();
        assert_eq!(m.name, "m");
        // The parameters it reads; '$lookback' is text, not a parameter; unused is not read.
        assert_eq!(
            m.params.iter().map(String::as_str).collect::<Vec<_>>(),
            ["as_of", "lookback", "now", "on", "share", "tz"]
        );
        assert!(m.tables.is_empty() && m.deps.is_empty());
        let plan = ctx.state().statement_to_plan(m.statement).await.unwrap();
        let batches = ctx
            .execute_logical_plan(plan)
            .await
            .unwrap()
            .collect()
            .await
            .unwrap();
        let batch = &batches[0];
        let schema = batch.schema();
        let types: Vec<&DataType> = schema.fields().iter().map(|f| f.data_type()).collect();
        // DATE '…' is a Date32, CAST(… AS TIMESTAMP) a nanosecond timestamp without zone,
        // BIGINT an Int64, DOUBLE a Float64, text Utf8, true a Boolean.
        assert_eq!(
            types,
            [
                &DataType::Date32,
                &DataType::Timestamp(TimeUnit::Nanosecond, None),
                &DataType::Int64,
                &DataType::Float64,
                &DataType::Utf8,
                &DataType::Boolean,
                &DataType::Utf8,
            ]
        );
        let values: Vec<String> = (0..batch.num_columns())
            .map(|c| array_value_to_string(batch.column(c), 0).unwrap())
            .collect();
        assert_eq!(
            values,
            [
                "2026-10-31",
                "2026-10-31T23:59:59",
                "30",
                "0.5",
                "O'Brien",
                "true",
                "$lookback",
            ]
        );
    }

    #[test]
    fn an_undeclared_parameter_is_named_with_its_line() {
        let (dir, file) = project_with("SELECT 1 AS one,\n       $x AS x");
        let params = BTreeMap::from([
            ("a".to_string(), ParamValue::Int(1)),
            ("b".to_string(), ParamValue::Bool(false)),
        ]);
        let ctx = SessionContext::new();
        let e = parse_model(&ctx, dir.path(), &file, &params, &no_config()).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Model);
        assert_eq!(
            e.message,
            "sql/m.sql: line 2: unknown parameter $x\n  declared parameters: $a, $b\n  declare it under [params] in journey.toml"
        );
    }
}
