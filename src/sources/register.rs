//! Registering a project's sources on the session: for each, `raw_<name>` (the files behind a
//! [`TappedTable`]) and the typed view `<name>` (the contract's canonical columns, mapped and
//! converted, then the export's extra columns); and empty tables for the optional sources a
//! project leaves out.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::catalog::TableProvider;
use datafusion::datasource::file_format::csv::CsvFormat;
use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::execution::FunctionRegistry;
use datafusion::logical_expr::{Expr, cast, ident, lit};
use datafusion::prelude::SessionContext;

use super::files::{csv_header, file_info, parquet_schema, resolve_files};
use super::tap::{RowTap, TappedTable};
use super::{SourceInfo, ViewColumn, ViewSpec};
use crate::error::{Error, Result};
use crate::project::{ColumnType, Config, Format, SourceConfig, contract};

/// Registers every source of `cfg` (with `overrides` from `--source NAME=PATH`) on `ctx`.
/// An override ending in `.csv` or `.parquet` sets the format; a folder keeps the declared one.
///
/// Returns the sources that registered and every problem found (a missing file, a missing
/// column, headers that differ between files of one source…), so that `check` can list them
/// all; `run` stops at the first.
pub(crate) async fn register_sources(
    ctx: &SessionContext,
    project: &Path,
    cfg: &Config,
    overrides: &BTreeMap<String, PathBuf>,
) -> (Vec<SourceInfo>, Vec<Error>) {
    let mut infos = Vec::new();
    let mut problems = Vec::new();
    for name in overrides.keys() {
        if !cfg.sources.contains_key(name) {
            let known: Vec<_> = cfg.sources.keys().cloned().collect();
            problems.push(Error::config(format!(
                "--source {name}=…: no source named {name:?} in journey.toml (declared: {})",
                known.join(", ")
            )));
        }
    }
    for (name, src) in &cfg.sources {
        let (spec, src) = match overrides.get(name) {
            Some(p) => {
                // A file or glob named by extension sets the format; a folder keeps the declared one.
                let mut src = src.clone();
                match p
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(|e| e.to_ascii_lowercase())
                    .as_deref()
                {
                    Some("csv") => src.format = Format::Csv,
                    Some("parquet") => src.format = Format::Parquet,
                    _ => {}
                }
                (p.clone(), src)
            }
            None => (project.join(&src.path), src.clone()),
        };
        match register_one(ctx, name, &src, &spec).await {
            Ok(info) => infos.push(info),
            Err(e) => problems.push(e),
        }
    }
    (infos, problems)
}

/// Registers an empty table `<name>` (canonical columns of the input contract, typed as the
/// `<name>` view of a declared source would be) for every source of
/// [`OPTIONAL_SOURCES`](crate::project::OPTIONAL_SOURCES) the project does not declare.
///
/// Errors: none expected (exit 1 if DataFusion refuses the table).
pub(crate) fn register_missing_optional(ctx: &SessionContext, cfg: &Config) -> Result<Vec<String>> {
    let mut added = Vec::new();
    for name in crate::project::OPTIONAL_SOURCES {
        if cfg.sources.contains_key(*name) {
            continue;
        }
        let fields: Vec<Field> = contract(name)
            .iter()
            .map(|(c, t, _)| Field::new(*c, t.data_type(), true))
            .collect();
        let schema = Arc::new(Schema::new(fields));
        let table = datafusion::datasource::MemTable::try_new(schema, vec![vec![]])
            .map_err(|e| Error::internal(e.to_string()))?;
        ctx.register_table(*name, Arc::new(table))
            .map_err(|e| Error::internal(e.to_string()))?;
        added.push(name.to_string());
    }
    Ok(added)
}

async fn register_one(
    ctx: &SessionContext,
    name: &str,
    src: &SourceConfig,
    spec: &Path,
) -> Result<SourceInfo> {
    let files = resolve_files(name, spec, src.format)?;
    let delimiter = u8::try_from(src.delimiter).map_err(|_| {
        Error::config(format!(
            "source {name}: delimiter must be one ASCII character"
        ))
    })?;
    // The raw schema, the same in every file.
    let raw_schema: SchemaRef = match src.format {
        Format::Csv => {
            let first = csv_header(&files[0], delimiter)?;
            for f in &files[1..] {
                let h = csv_header(f, delimiter)?;
                if h != first {
                    return Err(Error::input(format!(
                        "{}: header differs from {} (source {name}: every file must have the same columns in the same order)\n  expected: {}\n  found:    {}",
                        f.display(),
                        files[0].display(),
                        first.join(","),
                        h.join(",")
                    )));
                }
            }
            Arc::new(Schema::new(
                first
                    .iter()
                    .map(|c| Field::new(c, DataType::Utf8, true))
                    .collect::<Vec<_>>(),
            ))
        }
        Format::Parquet => {
            let first = parquet_schema(&files[0])?;
            for f in &files[1..] {
                let s = parquet_schema(f)?;
                if s.fields()
                    .iter()
                    .map(|f| f.name())
                    .ne(first.fields().iter().map(|f| f.name()))
                {
                    return Err(Error::input(format!(
                        "{}: columns differ from {} (source {name})",
                        f.display(),
                        files[0].display()
                    )));
                }
            }
            first
        }
    };
    let file_label = if files.len() == 1 {
        files[0].display().to_string()
    } else {
        format!("{} ({} files)", spec.display(), files.len())
    };

    // Map canonical columns to the export's columns.
    let mut types: Vec<(String, ColumnType, bool)> = contract(name)
        .iter()
        .map(|(c, t, r)| (c.to_string(), *t, *r))
        .collect();
    for (c, t) in &src.types {
        match types.iter_mut().find(|x| &x.0 == c) {
            Some(x) => x.1 = *t,
            None => types.push((c.clone(), *t, true)),
        }
    }
    for c in src.columns.keys() {
        if !types.iter().any(|x| &x.0 == c) {
            types.push((c.clone(), ColumnType::Text, true));
        }
    }
    let header: Vec<String> = raw_schema
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    let mut missing = Vec::new();
    let mut exprs: Vec<Expr> = Vec::new();
    let mut column_names = BTreeMap::new();
    let parse_ts = ctx
        .udf("parse_timestamp")
        .map_err(|e| Error::internal(e.to_string()))?;
    let parse_num = ctx
        .udf("parse_number")
        .map_err(|e| Error::internal(e.to_string()))?;
    let blank_to_null = ctx
        .udf("blank_to_null")
        .map_err(|e| Error::internal(e.to_string()))?;
    let typed_ts = ctx
        .udf("typed_timestamp")
        .map_err(|e| Error::internal(e.to_string()))?;
    let require_amount = ctx
        .udf("require_amount")
        .map_err(|e| Error::internal(e.to_string()))?;
    let lenient_udf = |n: &str| ctx.udf(n).map_err(|e| Error::internal(e.to_string()));
    let (try_ts, try_num, try_typed_ts) = (
        lenient_udf("try_parse_timestamp")?,
        lenient_udf("try_parse_number")?,
        lenient_udf("try_typed_timestamp")?,
    );
    let mut view_columns = Vec::new();
    // The export's status column of an orders export, for the rule on amounts.
    let status_column = (name == "transactions")
        .then(|| {
            src.columns
                .get("status")
                .cloned()
                .unwrap_or("status".into())
        })
        .filter(|s| raw_schema.fields().iter().any(|f| f.name() == s));
    for (canon, ty, required) in &types {
        let export = src
            .columns
            .get(canon)
            .cloned()
            .unwrap_or_else(|| canon.clone());
        let Some(field) = raw_schema.fields().iter().find(|f| f.name() == &export) else {
            if *required {
                let mapped = if &export != canon {
                    format!("column {export:?} (mapped to {canon})")
                } else {
                    format!("column {canon:?}")
                };
                missing.push(mapped);
            } else {
                let null = cast(lit(datafusion::common::ScalarValue::Null), ty.data_type());
                exprs.push(null.clone().alias(canon));
                view_columns.push(ViewColumn {
                    canon: canon.clone(),
                    ty: *ty,
                    export: None,
                    lenient: null,
                    present: None,
                });
            }
            continue;
        };
        column_names.insert(canon.clone(), export.clone());
        let c = ident(&export);
        let origin = lit(format!("{name}.{canon}"));
        let as_text = |e: Expr| {
            if field.data_type() == &DataType::Utf8 {
                e
            } else {
                cast(e, DataType::Utf8)
            }
        };
        // The strict conversion (fails the query on a bad value), the lenient one (NULL for
        // it) and, where a value can be unreadable, what is expected of it.
        let present = || blank_to_null.call(vec![as_text(c.clone())]).is_not_null();
        let (e, lenient, unreadable) = match (ty, field.data_type()) {
            (ColumnType::Text, _) => {
                let e = blank_to_null.call(vec![as_text(c.clone())]);
                (e.clone(), e, None)
            }
            (
                ColumnType::Timestamp,
                DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64,
            ) => {
                let l = try_typed_ts.call(vec![c.clone(), origin.clone()]);
                let bad = c.clone().is_not_null();
                (
                    typed_ts.call(vec![c, origin]),
                    l,
                    Some((bad, format!("a timestamp {}", crate::functions::UNIX_RANGE))),
                )
            }
            (ColumnType::Timestamp, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                let args = vec![
                    as_text(c.clone()),
                    lit(src.timestamp_format.clone()),
                    lit(src.timezone.clone()),
                    origin,
                ];
                let l = try_ts.call(args.clone());
                let bad = present();
                (
                    parse_ts.call(args),
                    l,
                    Some((
                        bad,
                        crate::functions::timestamp_expected(&src.timestamp_format),
                    )),
                )
            }
            (ColumnType::Number, dt) if dt.is_numeric() => {
                let e = cast(c, DataType::Float64);
                (e.clone(), e, None)
            }
            (ColumnType::Number, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8) => {
                let args = vec![as_text(c.clone()), origin];
                let l = try_num.call(args.clone());
                let bad = present();
                (
                    parse_num.call(args),
                    l,
                    Some((bad, crate::functions::NUMBER_EXPECTED.to_string())),
                )
            }
            (t, dt) => {
                return Err(Error::input(format!(
                    "{file_label}: column {export:?} has type {dt}, which cannot be read as {t:?} (source {name}.{canon})"
                )));
            }
        };
        // Orders: a completed order's amount is required and not negative.
        let e = match &status_column {
            Some(status) if canon == "amount" && *ty == ColumnType::Number => {
                let status = cast(ident(status), DataType::Utf8);
                require_amount.call(vec![e, status, lit(format!("{name}.{canon}"))])
            }
            _ => e,
        };
        exprs.push(e.alias(canon));
        view_columns.push(ViewColumn {
            canon: canon.clone(),
            ty: *ty,
            export: Some(export.clone()),
            lenient,
            present: unreadable,
        });
    }
    if !missing.is_empty() {
        return Err(Error::input(format!(
            "{file_label}: missing {} (source {name})\n  the header has: {}\n  map an export column to a canonical one in journey.toml: [sources.{name}] columns = {{ canonical = \"export_name\" }}",
            missing.join(", "),
            header.join(", ")
        )));
    }
    let mut extras = Vec::new();
    for h in &header {
        let used = column_names.values().any(|v| v == h);
        if !used && !types.iter().any(|t| &t.0 == h) {
            exprs.push(ident(h).alias(h));
            extras.push(h.clone());
        }
    }

    // Register raw_<name> and <name>.
    let urls = files
        .iter()
        .map(|f| {
            let abs = std::path::absolute(f).map_err(|e| Error::io(f, e))?;
            ListingTableUrl::parse(abs.to_string_lossy())
                .map_err(|e| Error::internal(format!("{}: {e}", f.display())))
        })
        .collect::<Result<Vec<_>>>()?;
    let options = match src.format {
        Format::Csv => ListingOptions::new(Arc::new(
            CsvFormat::default()
                .with_has_header(true)
                .with_delimiter(delimiter)
                .with_quote(b'"'),
        ))
        .with_file_extension(""),
        Format::Parquet => {
            ListingOptions::new(Arc::new(ParquetFormat::default())).with_file_extension("")
        }
    };
    let config = ListingTableConfig::new_with_multi_paths(urls)
        .with_listing_options(options)
        .with_schema(raw_schema);
    let table = ListingTable::try_new(config)
        .map_err(|e| Error::internal(format!("source {name}: {e}")))?;
    let raw_name = format!("raw_{name}");
    let tap = Arc::new(RowTap::default());
    // Both formats name the files and the source in a scan error (a CSV row with the wrong
    // number of fields, a corrupt Parquet page); a CSV scan also counts the rows.
    let table: Arc<dyn TableProvider> = Arc::new(TappedTable {
        inner: Arc::new(table),
        tap: (src.format == Format::Csv).then(|| Arc::clone(&tap)),
        label: file_label.clone(),
        source: name.to_string(),
    });
    ctx.register_table(raw_name.as_str(), table)
        .map_err(|e| Error::internal(e.to_string()))?;
    let df = ctx
        .table(raw_name.as_str())
        .await
        .and_then(|df| df.select(exprs))
        .map_err(|e| Error::internal(format!("source {name}: building the typed view: {e}")))?;
    let df = super::forget::drop_forgotten(ctx, name, df).await?;
    ctx.register_table(name, df.into_view())
        .map_err(|e| Error::internal(e.to_string()))?;

    Ok(SourceInfo {
        name: name.to_string(),
        format: src.format,
        files: files
            .iter()
            .map(|f| file_info(f))
            .collect::<Result<Vec<_>>>()?,
        rows: None,
        column_names,
        delimiter,
        tap: (src.format == Format::Csv).then_some(tap),
        view: Some(Arc::new(ViewSpec {
            columns: view_columns,
            extras,
            header,
            status_column,
        })),
    })
}
