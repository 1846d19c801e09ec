//! A source's files: [`resolve_files`] turns a file, glob or folder into the sorted list of
//! files of the source's format; then each file's size and time for the manifest, and its
//! columns (a CSV header, a Parquet schema), with a repeated column name refused.

use std::path::{Path, PathBuf};

use datafusion::arrow::datatypes::SchemaRef;
use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::FileInfo;
use crate::error::{Error, Result};
use crate::project::Format;

/// Resolves `spec` (file, glob or folder) to a sorted list of files of `format`.
///
/// Errors (exit 3): nothing matches, or a named file does not exist.
pub(super) fn resolve_files(name: &str, spec: &Path, format: Format) -> Result<Vec<PathBuf>> {
    let ext = match format {
        Format::Csv => "csv",
        Format::Parquet => "parquet",
    };
    let text = spec.to_string_lossy();
    let mut files = Vec::new();
    if text.contains(['*', '?', '[']) {
        let paths = glob::glob(&text)
            .map_err(|e| Error::config(format!("source {name}: bad glob pattern {text:?}: {e}")))?;
        for p in paths.flatten() {
            if p.is_file() {
                files.push(p);
            }
        }
    } else if spec.is_dir() {
        walk(spec, ext, &mut files).map_err(|e| Error::io(spec, e))?;
    } else if spec.is_file() {
        files.push(spec.to_path_buf());
    } else {
        return Err(Error::input(format!(
            "source {name}: {}: no such file or folder",
            spec.display()
        )));
    }
    files.sort();
    if files.is_empty() {
        return Err(Error::input(format!(
            "source {name}: {}: no .{ext} file found",
            spec.display()
        )));
    }
    Ok(files)
}

fn walk(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let p = entry?.path();
        let hidden = p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.starts_with('.') || n.starts_with('_'));
        if hidden {
            continue;
        }
        if p.is_dir() {
            walk(&p, ext, out)?;
        } else if p
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case(ext))
        {
            out.push(p);
        }
    }
    Ok(())
}

pub(super) fn file_info(p: &Path) -> Result<FileInfo> {
    let md = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
    let modified = md.modified().ok().map(|t| {
        chrono::DateTime::<chrono::Utc>::from(t).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    });
    Ok(FileInfo {
        path: p.to_path_buf(),
        bytes: md.len(),
        modified,
        xxh3: None,
    })
}

pub(super) fn csv_header(path: &Path, delimiter: u8) -> Result<Vec<String>> {
    let mut rdr = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(true)
        .from_path(path)
        .map_err(|e| Error::input(format!("{}: cannot open: {e}", path.display())))?;
    let h = rdr.headers().map_err(|e| {
        Error::input(format!(
            "{}: cannot read the header row: {e}",
            path.display()
        ))
    })?;
    if h.is_empty() || (h.len() == 1 && h[0].is_empty()) {
        return Err(Error::input(format!(
            "{}: the file is empty (expected a header row)",
            path.display()
        )));
    }
    let names: Vec<String> = h
        .iter()
        .map(|s| s.trim_start_matches('\u{feff}').to_string())
        .collect();
    no_repeated_column(path, &names)?;
    Ok(names)
}

/// Errors (exit 3) when a column name appears twice in the header of `path`: which column
/// would a mapping or a model read?
fn no_repeated_column(path: &Path, names: &[String]) -> Result<()> {
    let mut seen = std::collections::BTreeMap::new();
    for (i, n) in names.iter().enumerate() {
        if let Some(first) = seen.insert(n.as_str(), i) {
            return Err(Error::input(format!(
                "{}: the header names column {} twice (columns {} and {}): every column needs its own name",
                path.display(),
                crate::functions::shorten(n),
                first + 1,
                i + 1
            )));
        }
    }
    Ok(())
}

pub(super) fn parquet_schema(path: &Path) -> Result<SchemaRef> {
    let f = std::fs::File::open(path)
        .map_err(|e| Error::input(format!("{}: cannot open: {e}", path.display())))?;
    let b = ParquetRecordBatchReaderBuilder::try_new(f).map_err(|e| {
        Error::input(format!(
            "{}: not a readable Parquet file: {e}",
            path.display()
        ))
    })?;
    let names: Vec<String> = b
        .schema()
        .fields()
        .iter()
        .map(|f| f.name().clone())
        .collect();
    no_repeated_column(path, &names)?;
    Ok(b.schema().clone())
}
