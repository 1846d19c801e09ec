//! The quarantined rows of a source as [`RejectRow`]s: each with the export's file and line
//! (CSV: found by reading the files once more with the `csv` crate and matching whole
//! records; only when something was quarantined), its column, value and reason.

use std::collections::HashMap;

use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::datatypes::DataType;

use super::RejectRow;
use crate::project::Format;
use crate::sources::{SourceInfo, ViewSpec};

/// Cell `i` of `batch` at `row` as text ("" for NULL).
fn cell(batch: &RecordBatch, i: usize, row: usize) -> String {
    let a = batch.column(i);
    let a = match a.data_type() {
        DataType::Utf8 => a.clone(),
        _ => match datafusion::arrow::compute::cast(a, &DataType::Utf8) {
            Ok(a) => a,
            Err(_) => return String::new(),
        },
    };
    let a = a.as_string::<i32>();
    if a.is_null(row) {
        String::new()
    } else {
        a.value(row).to_string()
    }
}

/// The files of `s`, comma-separated.
fn files(s: &SourceInfo) -> String {
    s.files
        .iter()
        .map(|f| f.path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The rejects of source `s`: `rejected` (the export's columns as text, then `__column`,
/// `__value`, `__reason`, `__test`: from `register_kept`) and `conflicts` (per key column, the view's
/// rows of keys held by rows that differ), with their file and line where the files tell.
pub(super) fn locate(
    s: &SourceInfo,
    view: &ViewSpec,
    rejected: Vec<RecordBatch>,
    conflicts: Vec<(String, Vec<RecordBatch>)>,
) -> Vec<RejectRow> {
    let width = view.header.len();
    let mut out = Vec::new();
    // Whole rows of the export → the indexes in `out` waiting for a line.
    let mut waiting: HashMap<Vec<String>, Vec<usize>> = HashMap::new();
    for b in &rejected {
        for r in 0..b.num_rows() {
            let row: Vec<String> = (0..width).map(|i| cell(b, i, r)).collect();
            waiting.entry(row.clone()).or_default().push(out.len());
            let column = cell(b, width, r);
            let canon = view
                .columns
                .iter()
                .find(|c| c.export.as_deref() == Some(column.as_str()))
                .map(|c| c.canon.clone())
                .unwrap_or_else(|| column.clone());
            out.push(RejectRow {
                file: files(s),
                line: None,
                data_row: None,
                canon,
                column,
                value: cell(b, width + 1, r),
                reason: cell(b, width + 2, r),
                test: cell(b, width + 3, r),
                row,
            });
        }
    }
    // Keys held by rows that differ: every row of the export holding one is listed.
    let mut keys: HashMap<(usize, String), String> = HashMap::new();
    for (column, batches) in &conflicts {
        let Some(export) = view
            .columns
            .iter()
            .find(|c| &c.canon == column)
            .and_then(|c| c.export.clone())
        else {
            continue;
        };
        let Some(pos) = view.header.iter().position(|h| h == &export) else {
            continue;
        };
        let Some(key_index) = view.columns.iter().position(|c| &c.canon == column) else {
            continue;
        };
        for b in batches {
            for r in 0..b.num_rows() {
                keys.insert(
                    (pos, cell(b, key_index, r).trim().to_string()),
                    format!("{column} shared by rows that differ"),
                );
            }
        }
    }
    if s.format != Format::Csv {
        // Parquet: the rows as DataFusion read them; the row number is not known.
        for ((pos, key), reason) in keys {
            out.push(RejectRow {
                file: files(s),
                line: None,
                data_row: None,
                canon: String::new(),
                column: view.header[pos].clone(),
                value: key,
                reason,
                test: String::new(),
                row: Vec::new(),
            });
        }
        return out;
    }
    for f in &s.files {
        if waiting.is_empty() && keys.is_empty() {
            break;
        }
        let Ok(mut rdr) = csv::ReaderBuilder::new()
            .delimiter(s.delimiter)
            .from_path(&f.path)
        else {
            continue;
        };
        let mut rec = csv::StringRecord::new();
        let mut data_row = 0u64;
        while rdr.read_record(&mut rec).unwrap_or(false) {
            data_row += 1;
            let line = rec.position().map(|p| p.line());
            let row: Vec<String> = rec.iter().map(str::to_string).collect();
            if let Some(idx) = waiting.get_mut(&row)
                && let Some(i) = idx.pop()
            {
                out[i].file = f.path.display().to_string();
                out[i].line = line;
                out[i].data_row = Some(data_row);
                if idx.is_empty() {
                    waiting.remove(&row);
                }
            }
            for ((pos, key), reason) in &keys {
                if row.get(*pos).is_some_and(|v| v.trim() == key) {
                    out.push(RejectRow {
                        file: f.path.display().to_string(),
                        line,
                        data_row: Some(data_row),
                        canon: String::new(),
                        column: view.header[*pos].clone(),
                        value: row[*pos].clone(),
                        reason: reason.clone(),
                        test: String::new(),
                        row: row.clone(),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    out
}
