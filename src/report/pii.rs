//! Personal data in what a run writes: the treatment of e-mail addresses and full names in
//! the pages, e-mails and data files (`[privacy]`, [`Treatment`]), and CSV cells a
//! spreadsheet would run as a formula.
//!
//! **Which columns are personal data.** A column of any model's result whose name is one of
//! `[privacy] email_columns` (default `email`, the input contract's column) holds e-mail
//! addresses; one of `name_columns` (default `full_name`) holds full names. Names are
//! compared exactly, so `c.email AS contact` in a model is not recognised unless `contact` is
//! listed. Customer ids are keys, not treated (a reader looks a customer up by id).
//!
//! **Where.** Pages and e-mails (`[privacy] pages`, default `mask`): the rows a template sees
//! are treated before it is rendered ([`PiiPolicy::treat_rows`]), so every page, the HTML and
//! text parts of every e-mail, and a project's own templates show the treated values. Data
//! files (`[privacy] data_files`, default `keep`; per model `[privacy.data_file]`): the
//! columns are treated as the file is written ([`PiiPolicy::treat_frame`]), CSV, Parquet and
//! split CSVs alike. `journey-report query` prints the values as they are (the analyst's own
//! terminal).
//!
//! **Formulas.** Every text cell of a CSV data file that starts with `=`, `+`, `-`, `@`, a
//! tab or a carriage return gets a leading `'` (OWASP, "CSV Injection"), so that a
//! spreadsheet shows it as text instead of running it ([`neutralise_formulas`]). Only text
//! columns: a negative number in a numeric column stays a number.

use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, AsArray, RecordBatch, StringArray};
use datafusion::arrow::compute::cast as cast_array;
use datafusion::arrow::datatypes::{DataType, Field, Schema};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{
    ColumnarValue, Expr, ScalarUDF, Volatility, cast, create_udf, ident,
};
use serde::Serialize;
use serde_json::Value as Json;

use crate::error::{Error, Result};
use crate::project::{PrivacyConfig, Treatment};

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// E-mail addresses.
    Email,
    /// Full names.
    Name,
}

/// The personal-data treatments of one run, from `[privacy]` and the salt read from the
/// environment.
#[derive(Debug, Clone)]
pub(crate) struct PiiPolicy {
    config: PrivacyConfig,
    /// The salt (HMAC key) of `hash`; `None` when nothing is hashed.
    salt: Option<Arc<Salt>>,
}

/// The salt of `hash`, never shown (its `Debug` prints `<salt>`).
struct Salt(Vec<u8>);

impl std::fmt::Debug for Salt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<salt>")
    }
}

/// One output's treatment in `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct OutputTreatment {
    /// `pages and e-mails`, or a model's data files (`data/churn_risk.csv`,
    /// `data/funnel_dropoff.csv and its split CSVs (by dropoff_file)`).
    pub(crate) output: String,
    /// The columns treated (e-mail and name columns of the model's result); for the pages,
    /// the recognised column names.
    pub(crate) columns: Vec<String>,
    /// `mask`, `hash` or `keep`.
    pub(crate) treatment: &'static str,
}

impl PiiPolicy {
    /// The policy of `config`; reads the salt from the variable `salt_env` names when any
    /// output is hashed.
    ///
    /// Errors: exit 2 when an output is hashed and that variable is unset or empty (naming it).
    pub(crate) fn new(config: &PrivacyConfig) -> Result<PiiPolicy> {
        let salt = match (&config.salt_env, config.hashes()) {
            (Some(var), true) => match std::env::var(var) {
                Ok(v) if !v.is_empty() => Some(Arc::new(Salt(v.into_bytes()))),
                _ => {
                    return Err(Error::config(format!(
                        "[privacy] salt_env = {var:?}: the environment variable {var} is not set (or empty); \"hash\" needs its salt"
                    )));
                }
            },
            (None, true) => {
                return Err(Error::config(
                    "[privacy]: an output is hashed but salt_env names no variable",
                ));
            }
            _ => None,
        };
        Ok(PiiPolicy {
            config: config.clone(),
            salt,
        })
    }

    fn kind(&self, column: &str) -> Option<Kind> {
        if self.config.email_columns.iter().any(|c| c == column) {
            Some(Kind::Email)
        } else if self.config.name_columns.iter().any(|c| c == column) {
            Some(Kind::Name)
        } else {
            None
        }
    }

    /// The personal-data columns among `columns`, in their order.
    pub(crate) fn columns<'a>(&self, columns: impl IntoIterator<Item = &'a str>) -> Vec<String> {
        columns
            .into_iter()
            .filter(|c| self.kind(c).is_some())
            .map(str::to_string)
            .collect()
    }

    /// The treatment of the data files of `model`.
    pub(crate) fn data_file(&self, model: &str) -> Treatment {
        self.config.data_file_treatment(model)
    }

    /// What `manifest.json` says: the pages' treatment, then each model with data files
    /// whose result has personal-data columns (`models`: name, its data files in words,
    /// result columns).
    pub(crate) fn manifest<'a>(
        &self,
        models: impl IntoIterator<Item = (&'a str, String, Vec<String>)>,
    ) -> Vec<OutputTreatment> {
        let mut cols = self.config.email_columns.clone();
        cols.extend(self.config.name_columns.iter().cloned());
        let mut out = vec![OutputTreatment {
            output: "pages and e-mails".into(),
            columns: cols,
            treatment: self.config.pages.as_str(),
        }];
        for (model, files, columns) in models {
            let columns = self.columns(columns.iter().map(String::as_str));
            if !columns.is_empty() {
                out.push(OutputTreatment {
                    output: files,
                    columns,
                    treatment: self.data_file(model).as_str(),
                });
            }
        }
        out
    }

    /// One value under treatment `t`.
    fn apply(&self, kind: Kind, t: Treatment, v: &str) -> String {
        match (t, kind) {
            (Treatment::Keep, _) => v.to_string(),
            (Treatment::Mask, Kind::Email) => mask_email(v),
            (Treatment::Mask, Kind::Name) => initials(v),
            (Treatment::Hash, Kind::Email) => self.hash(&v.trim().to_lowercase()),
            (Treatment::Hash, Kind::Name) => self.hash(v),
        }
    }

    fn hash(&self, v: &str) -> String {
        // `new` refuses a hash without a salt; an empty key is never used.
        let salt = self
            .salt
            .as_deref()
            .map(|s| s.0.as_slice())
            .unwrap_or_default();
        hmac_sha256_hex(salt, v)
    }

    /// Treats the personal-data columns of the template rows `rows` (one JSON object per
    /// row) with the pages' treatment; text values only (NULL stays NULL).
    pub(crate) fn treat_rows(&self, rows: &mut [Json]) {
        let t = self.config.pages;
        if t == Treatment::Keep {
            return;
        }
        for row in rows {
            let Json::Object(obj) = row else { continue };
            for (k, v) in obj.iter_mut() {
                if let (Some(kind), Json::String(s)) = (self.kind(k), &*v) {
                    *v = Json::String(self.apply(kind, t, s));
                }
            }
        }
    }

    /// `df` (the rows of model `model`'s data file) with its personal-data columns under
    /// the model's data-file treatment, as text; `df` itself when the treatment is `keep` or
    /// the model has no such column. The row order is kept.
    ///
    /// Errors: exit 1 when DataFusion refuses the projection.
    pub(crate) fn treat_frame(&self, df: DataFrame, model: &str) -> Result<DataFrame> {
        let t = self.data_file(model);
        let fields: Vec<String> = df
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        if t == Treatment::Keep || fields.iter().all(|f| self.kind(f).is_none()) {
            return Ok(df);
        }
        let exprs: Vec<Expr> = fields
            .iter()
            .map(|f| match self.kind(f) {
                Some(kind) => self
                    .udf(kind, t)
                    .call(vec![cast(ident(f), DataType::Utf8)])
                    .alias(f),
                None => ident(f).alias(f),
            })
            .collect();
        df.select(exprs)
            .map_err(|e| Error::internal(format!("{model}: treating personal data: {e}")))
    }

    /// Whether the data files of `model` (result columns `columns`) are written with a
    /// treatment other than `keep` (a Parquet work file cannot then be kept as the data file).
    pub(crate) fn changes_data_file<'a>(
        &self,
        model: &str,
        columns: impl IntoIterator<Item = &'a str>,
    ) -> bool {
        self.data_file(model) != Treatment::Keep && !self.columns(columns).is_empty()
    }

    /// A scalar function treating one text column (Utf8 → Utf8, NULL stays NULL).
    fn udf(&self, kind: Kind, t: Treatment) -> ScalarUDF {
        let me = self.clone();
        let name = format!("journey_pii_{}_{}", t.as_str(), matches!(kind, Kind::Email));
        create_udf(
            &name,
            vec![DataType::Utf8],
            DataType::Utf8,
            Volatility::Immutable,
            Arc::new(move |args: &[ColumnarValue]| {
                let arrays = ColumnarValue::values_to_arrays(args)?;
                let a = arrays[0].as_string::<i32>();
                let out: StringArray = a.iter().map(|v| v.map(|s| me.apply(kind, t, s))).collect();
                Ok(ColumnarValue::Array(Arc::new(out)))
            }),
        )
    }
}

/// An e-mail address masked: its first character, `***` and `@domain`
/// (`jane.doe@example.com` → `j***@example.com`); a value without `@` (or starting with one)
/// keeps only its first character (`x***`); empty stays empty.
pub(crate) fn mask_email(v: &str) -> String {
    let v = v.trim();
    let Some(first) = v.chars().next() else {
        return String::new();
    };
    match v.find('@') {
        Some(at) if at > 0 => format!("{first}***{}", &v[at..]),
        _ => format!("{first}***"),
    }
}

/// A full name as initials: the first letter or digit of each word, upper case, with a
/// full stop (`Jane Doe` → `J. D.`, `Smith, Bob` → `S. B.`, `anne-marie van dijk` → `A. V.
/// D.`); words without a letter or digit are left out.
pub(crate) fn initials(v: &str) -> String {
    v.split_whitespace()
        .filter_map(|w| w.chars().find(|c| c.is_alphanumeric()))
        .map(|c| format!("{}.", c.to_uppercase()))
        .collect::<Vec<_>>()
        .join(" ")
}

/// HMAC-SHA256 (RFC 2104) of `value` keyed with `key`, as 64 lowercase hex digits.
pub(crate) fn hmac_sha256_hex(key: &[u8], value: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, key);
    hex::encode(ring::hmac::sign(&key, value.as_bytes()).as_ref())
}

/// Whether a spreadsheet would run a cell starting like `v` as a formula (OWASP: `=`, `+`,
/// `-`, `@`, tab, carriage return).
pub(crate) fn is_formula(v: &str) -> bool {
    v.starts_with(['=', '+', '-', '@', '\t', '\r'])
}

/// `batch` with every text cell a spreadsheet would run as a formula prefixed with `'`
/// ([`is_formula`]); other columns (numbers, timestamps) untouched. Text columns come out as
/// `Utf8`.
///
/// Errors: exit 1 when a text column cannot be cast to `Utf8` (it always can).
pub(crate) fn neutralise_formulas(batch: &RecordBatch) -> Result<RecordBatch> {
    let schema = batch.schema();
    let is_text =
        |t: &DataType| matches!(t, DataType::Utf8 | DataType::Utf8View | DataType::LargeUtf8);
    if !schema.fields().iter().any(|f| is_text(f.data_type())) {
        return Ok(batch.clone());
    }
    let mut fields = Vec::with_capacity(schema.fields().len());
    let mut cols: Vec<ArrayRef> = Vec::with_capacity(schema.fields().len());
    for (f, c) in schema.fields().iter().zip(batch.columns()) {
        if !is_text(f.data_type()) {
            fields.push(f.as_ref().clone());
            cols.push(Arc::clone(c));
            continue;
        }
        let text = cast_array(c, &DataType::Utf8).map_err(|e| Error::internal(e.to_string()))?;
        let a = text.as_string::<i32>();
        let col: ArrayRef = if a.iter().flatten().any(is_formula) {
            let out: StringArray = a
                .iter()
                .map(|v| {
                    v.map(|s| {
                        if is_formula(s) {
                            format!("'{s}")
                        } else {
                            s.to_string()
                        }
                    })
                })
                .collect();
            Arc::new(out)
        } else {
            text
        };
        fields.push(Field::new(f.name(), DataType::Utf8, f.is_nullable()));
        cols.push(col);
    }
    RecordBatch::try_new(Arc::new(Schema::new(fields)), cols)
        .map_err(|e| Error::internal(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::arrow::array::Float64Array;

    #[test]
    fn masks() {
        assert_eq!(mask_email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(mask_email(" B@Example.com "), "B***@Example.com");
        assert_eq!(mask_email("no-at-sign"), "n***");
        assert_eq!(mask_email("@example.com"), "@***");
        assert_eq!(mask_email(""), "");
        assert_eq!(initials("Jane Doe"), "J. D.");
        assert_eq!(initials("Smith, Bob"), "S. B.");
        assert_eq!(initials("anne-marie van dijk"), "A. V. D.");
        assert_eq!(initials("<script>alert(1)</script>"), "S.");
        assert_eq!(initials("=HYPERLINK(\"http://x\",\"y\")"), "H.");
        assert_eq!(initials("Ann"), "A.");
        assert_eq!(initials("  "), "");
    }

    #[test]
    fn hmac_matches_rfc_4231() {
        // RFC 4231, test case 2: key "Jefe", data "what do ya want for nothing?".
        assert_eq!(
            hmac_sha256_hex(b"Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn rows_of_pages_are_masked_by_default() {
        let p = PiiPolicy::new(&PrivacyConfig::default()).unwrap();
        let mut rows = vec![serde_json::json!({
            "customer_id": "c1", "email": "ann@example.com", "full_name": "Ann Lee",
            "revenue": 10.5, "other": null
        })];
        p.treat_rows(&mut rows);
        assert_eq!(
            rows[0],
            serde_json::json!({
                "customer_id": "c1", "email": "a***@example.com", "full_name": "A. L.",
                "revenue": 10.5, "other": null
            })
        );
    }

    #[test]
    fn formulas_are_neutralised_in_text_columns_only() {
        let schema = Arc::new(Schema::new(vec![
            Field::new("name", DataType::Utf8, true),
            Field::new("amount", DataType::Float64, true),
        ]));
        let batch = RecordBatch::try_new(
            schema,
            vec![
                Arc::new(StringArray::from(vec![
                    Some("=1+1"),
                    Some("+cmd"),
                    Some("-2"),
                    Some("@SUM(A1)"),
                    Some("\tx"),
                    Some("\rx"),
                    Some("plain"),
                    None,
                ])),
                Arc::new(Float64Array::from(vec![-1.5; 8])),
            ],
        )
        .unwrap();
        let out = neutralise_formulas(&batch).unwrap();
        let names: Vec<Option<&str>> = out.column(0).as_string::<i32>().iter().collect();
        assert_eq!(
            names,
            vec![
                Some("'=1+1"),
                Some("'+cmd"),
                Some("'-2"),
                Some("'@SUM(A1)"),
                Some("'\tx"),
                Some("'\rx"),
                Some("plain"),
                None
            ]
        );
        assert_eq!(out.column(1).data_type(), &DataType::Float64);
        assert_eq!(out.column(1), batch.column(1));
    }
}
