//! Where a value a conversion refused ([`BadValue`]) stands in a source's files: the first
//! CSV line or Parquet row holding it, for an error message naming file, line and column.

use std::path::Path;
use std::sync::Arc;

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::SourceInfo;
use crate::error::Error;
use crate::functions::BadValue;
use crate::project::Format;

/// Finds where a [`BadValue`] stands in a source's files and returns the error to report
/// (exit 3): `file: line L (data row R), column "export name" (canonical): cannot read "…":
/// expected …` (Parquet: `row R`), the value as the file has it, shortened by
/// [`shorten`](crate::functions::shorten). The row is the
/// first whose cell holds the value (as text, or as the same number; an empty value matches
/// an empty cell) and, for a value bad only with another column's value ([`BadValue::when`],
/// e.g. a completed order's amount), whose cell in that column holds it.
pub(crate) fn locate_bad_value(sources: &[SourceInfo], bad: &BadValue) -> Error {
    let src_name = bad
        .origin
        .split_once('.')
        .map_or(bad.origin.as_str(), |s| s.0);
    match sources.iter().find(|s| s.name == src_name) {
        Some(src) => locate_in_source(src, bad),
        None => Error::input(bad.to_string()),
    }
}

/// [`locate_bad_value`] in the files of `src`, the source the value comes from.
pub(super) fn locate_in_source(src: &SourceInfo, bad: &BadValue) -> Error {
    let canon = bad.origin.split_once('.').map_or("", |s| s.1);
    let export = |canon: &str| {
        src.column_names
            .get(canon)
            .cloned()
            .unwrap_or_else(|| canon.to_string())
    };
    let column = export(canon);
    let col_label = if column == canon {
        format!("column {canon:?}")
    } else {
        format!("column {column:?} ({canon})")
    };
    let wanted = Wanted {
        column,
        value: bad.value.clone(),
        when: bad.when.as_ref().map(|(c, v)| (export(c), v.clone())),
    };
    let when_label = match &bad.when {
        Some((c, v)) => format!(" ({c} {v:?})"),
        None => String::new(),
    };
    for f in &src.files {
        let found = match src.format {
            Format::Csv => find_in_csv(&f.path, src.delimiter, &wanted),
            Format::Parquet => find_in_parquet(&f.path, &wanted),
        };
        if let Some((loc, text)) = found {
            return Error::input(format!(
                "{}: {loc}, {col_label}{when_label}: cannot read {}: expected {}",
                f.path.display(),
                crate::functions::shorten(&text),
                bad.expected
            ));
        }
    }
    Error::input(format!(
        "{}: {col_label}{when_label}: cannot read {}: expected {}",
        file_list(src),
        crate::functions::shorten(&bad.value),
        bad.expected
    ))
}

/// The files of `src`, comma-separated, for messages.
pub(super) fn file_list(src: &SourceInfo) -> String {
    let files: Vec<_> = src
        .files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect();
    files.join(", ")
}

/// The cell [`locate_bad_value`] looks for: `value` in the export's `column`, on a row whose
/// `when.0` column holds `when.1` (trimmed, any case).
struct Wanted {
    column: String,
    value: String,
    when: Option<(String, String)>,
}

impl Wanted {
    /// Whether a cell's text (`None`: NULL) is the bad value: the same text (spaces trimmed),
    /// the same number (the value may come back from a number, `-5` for `-5.00`), or both
    /// empty.
    fn is_value(&self, cell: Option<&str>) -> bool {
        let (cell, want) = (cell.unwrap_or("").trim(), self.value.trim());
        cell == want
            || (!want.is_empty()
                && matches!((cell.parse::<f64>(), want.parse::<f64>()), (Ok(a), Ok(b)) if a == b))
    }

    /// Whether a cell of the `when` column qualifies the row (always, without `when`).
    fn is_when(&self, cell: Option<&str>) -> bool {
        self.when
            .as_ref()
            .is_none_or(|(_, v)| cell.is_some_and(|c| c.trim().eq_ignore_ascii_case(v)))
    }
}

/// The place (`line L (data row R)`) and the cell text of the first row of a CSV file holding
/// the wanted value.
fn find_in_csv(path: &Path, delimiter: u8, wanted: &Wanted) -> Option<(String, String)> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .from_path(path)
        .ok()?;
    let headers = rdr.headers().ok()?.clone();
    let position = |column: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == column)
    };
    let idx = position(&wanted.column)?;
    let when_idx = match &wanted.when {
        Some((c, _)) => Some(position(c)?),
        None => None,
    };
    let mut rec = csv::StringRecord::new();
    let mut row = 0u64;
    while rdr.read_record(&mut rec).ok()? {
        row += 1;
        if wanted.is_value(rec.get(idx)) && wanted.is_when(when_idx.and_then(|i| rec.get(i))) {
            let line = rec.position().map(|p| p.line()).unwrap_or(row + 1);
            let text = rec.get(idx).unwrap_or("").to_string();
            return Some((format!("line {line} (data row {row})"), text));
        }
    }
    None
}

/// The place (`row R`) and the cell as text of the first row of a Parquet file holding the
/// wanted value.
fn find_in_parquet(path: &Path, wanted: &Wanted) -> Option<(String, String)> {
    let f = std::fs::File::open(path).ok()?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(f)
        .ok()?
        .build()
        .ok()?;
    // Timestamps and dates as their stored numbers (what `typed_timestamp` reports: a value
    // out of range has no text form).
    let text = |batch: &datafusion::arrow::record_batch::RecordBatch, column: &str| {
        let col = batch.column_by_name(column)?;
        let col = match col.data_type() {
            DataType::Timestamp(_, _) | DataType::Date32 | DataType::Date64 => {
                datafusion::arrow::compute::cast(col, &DataType::Int64).ok()?
            }
            _ => Arc::clone(col),
        };
        datafusion::arrow::compute::cast(&col, &DataType::Utf8).ok()
    };
    let mut row = 0usize;
    for batch in reader {
        let batch = batch.ok()?;
        let col = text(&batch, &wanted.column)?;
        let col = col.as_string::<i32>();
        let when = match &wanted.when {
            Some((c, _)) => Some(text(&batch, c)?),
            None => None,
        };
        let when = when.as_ref().map(|w| w.as_string::<i32>());
        let cell = |a: &datafusion::arrow::array::StringArray, i: usize| {
            a.is_valid(i).then(|| a.value(i).to_string())
        };
        for i in 0..col.len() {
            row += 1;
            let value = cell(col, i);
            if wanted.is_value(value.as_deref())
                && wanted.is_when(when.and_then(|w| cell(w, i)).as_deref())
            {
                return Some((format!("row {row}"), value.unwrap_or_default()));
            }
        }
    }
    None
}
