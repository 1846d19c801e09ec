//! The one error type of journey-report and its exit codes.
//!
//! Exit codes are part of the command-line interface (see the README):
//!
//! | code | kind | who is at fault |
//! |---|---|---|
//! | 0 | success | |
//! | 1 | `ErrorKind::Internal` | a bug in journey-report, or the machine (disk full, …) |
//! | 2 | `ErrorKind::Config` | the command line or `journey.toml` |
//! | 3 | `ErrorKind::Input` | an input export (missing file or column, unparseable value) |
//! | 4 | `ErrorKind::Model` | a SQL model (syntax, unknown table or column, cycle, runtime failure) |
//! | 5 | `ErrorKind::Delivery` | sending the reports |
//! | 6 | `EXIT_PARTIAL` (not an error) | the report was written, but some analyses are unavailable |
//!
//! Exit code 99 is never used: Airflow reads it as "skipped".

use std::fmt;

/// Exit code of a run that wrote its report folder while some analyses could not be made
/// for the data (each unavailable analysis says why on its page and in `manifest.json`).
/// Airflow and cron read it as a failure, so someone looks; the report is there to read.
pub(crate) const EXIT_PARTIAL: u8 = 6;

/// Who is at fault for an [`Error`]; decides the process exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) enum ErrorKind {
    /// Exit 1: a bug or an environment failure (I/O on the output folder, …).
    Internal,
    /// Exit 2: usage or configuration error.
    Config,
    /// Exit 3: invalid input data.
    Input,
    /// Exit 4: a SQL model failed.
    Model,
    /// Exit 5: delivery failed.
    Delivery,
}

impl ErrorKind {
    /// The documented process exit code of this kind (1–5).
    pub(crate) fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Internal => 1,
            ErrorKind::Config => 2,
            ErrorKind::Input => 3,
            ErrorKind::Model => 4,
            ErrorKind::Delivery => 5,
        }
    }
}

/// An error with a message written for the person who must fix it: it names the file
/// (and row and column, or SQL line, where there is one) and what was expected.
#[derive(Debug, Clone)]
pub struct Error {
    /// Who is at fault; decides the exit code.
    pub(crate) kind: ErrorKind,
    /// One or more lines; the first says what went wrong, the rest how to fix it.
    pub(crate) message: String,
}

impl Error {
    /// A new error of `kind`.
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
    /// Exit 1: a bug or environment failure.
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, message)
    }
    /// Exit 2: usage or configuration error.
    pub(crate) fn config(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Config, message)
    }
    /// Exit 3: invalid input data.
    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Input, message)
    }
    /// Exit 4: a SQL model failed.
    pub(crate) fn model(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::Model, message)
    }
    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> u8 {
        self.kind.exit_code()
    }
    /// Wraps an I/O error on `path` as an internal error naming the path.
    pub(crate) fn io(path: &std::path::Path, err: std::io::Error) -> Self {
        Self::internal(format!("{}: {err}", path.display()))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

/// Whether `err` is a failure of the machine rather than of a model or the data: an
/// operating-system I/O error (a full disk, a permission, a vanished folder) anywhere in its
/// cause chain — as a `std::io::Error`, or as the text `(os error N)` where a library kept
/// only the message. Returns that error's text.
///
/// Used to blame such failures on the environment (exit 1) when they happen while a model
/// runs (its Parquet work file, a spill file, its data file) instead of on the model's SQL.
pub(crate) fn io_failure(err: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            return Some(io.to_string());
        }
        cur = e.source();
    }
    let text = err.to_string();
    let at = text.find("(os error ")?;
    let end = text[at..].find(')').map_or(text.len(), |i| at + i + 1);
    // The message's last sentence before the code, e.g. "No space left on device (os error 28)".
    let start = text[..at].rfind([':', '\n']).map_or(0, |i| i + 1);
    Some(text[start..end].trim().to_string())
}

/// A chart error keeps its message; its kind maps one-to-one: the chart's specification
/// (width, height) is configuration, a value that cannot be plotted comes from a SQL model,
/// and the rest is internal.
impl From<journey_charts::Error> for Error {
    fn from(err: journey_charts::Error) -> Self {
        use journey_charts::ChartErrorKind;
        let kind = match err.kind {
            ChartErrorKind::Spec => ErrorKind::Config,
            ChartErrorKind::Value => ErrorKind::Model,
            ChartErrorKind::Internal => ErrorKind::Internal,
        };
        Error::new(kind, err.message)
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The text of a DataFusion error for its reader, with the SQL position when DataFusion knows
/// it: `line L, column C: <text>` (1-based, from the error's [`Diagnostic`] span), else
/// `<text>`.
///
/// `<text>` is what DataFusion's `Display` writes, less the category prefixes that only say
/// which layer failed: "Error during planning: ", "Execution error: ", "Schema error: ",
/// "SQL error: " and "Arrow error: ". Other prefixes stay as DataFusion and Arrow write them
/// ("External error: ", "IO error: ", "Internal error: ", "Resources exhausted: ", "Parquet
/// error: ", …), and a `Context` keeps its description above `caused by` and the inner text.
/// Three examples:
///
/// ```text
/// SQL(ParserError("Expected: ), found: FROM at Line: 4, Column: 1"))
///     → Expected: ), found: FROM at Line: 4, Column: 1
/// Context("writing t", ArrowError(ExternalError(Execution("disk"))))
///     → writing t\ncaused by\nExternal error: disk
/// Plan("Function 'sum' failed to match any signature, errors: Error during planning: Function 'sum' requires Decimal, …")
///     → Function 'sum' failed to match any signature, errors: Function 'sum' requires Decimal, …
/// ```
///
/// The layers are walked with the error's variants: a layer's own text is taken in place of
/// its `Display`. Two string steps remain where the library keeps no structure: text that
/// DataFusion already formatted with an inner error's prefix (the third example), and a
/// parser error, which DataFusion holds only in its `Debug` form (the first).
/// [`DataFusionError::find_root`] is not used for the text: it skips the `Context`
/// descriptions and the wrappers' words these messages keep.
///
/// [`Diagnostic`]: datafusion::common::Diagnostic
/// [`DataFusionError::find_root`]: datafusion::error::DataFusionError::find_root
pub(crate) fn clean_error(e: &datafusion::error::DataFusionError) -> String {
    let text = unprefixed(e);
    // DataFusion appends a backtrace to the text of its string-carrying variants (Plan,
    // Execution, Internal, …) only when built with its `backtrace` feature, which we do not
    // enable; its own separator is all the library offers to drop it by.
    let msg = text
        .split(datafusion::error::DataFusionError::BACK_TRACE_SEP)
        .next()
        .unwrap_or_default();
    match e.diagnostic().and_then(|d| d.span) {
        Some(span) => format!(
            "line {}, column {}: {msg}",
            span.start.line, span.start.column
        ),
        None => msg.to_string(),
    }
}

/// The prefixes [`clean_error`] leaves out, as DataFusion's and Arrow's `Display` write them,
/// in the order [`scrub`] removes them.
const CATEGORY_PREFIXES: [&str; 5] = [
    "Error during planning: ",
    "SQL error: ",
    "Schema error: ",
    "Execution error: ",
    "Arrow error: ",
];

/// The text of `e` as its `Display` writes it, without the [`CATEGORY_PREFIXES`] at any level
/// of the chain, and without the backtraces the Arrow, SQL and schema variants carry in a
/// field of their own.
///
/// The walk takes a planning, execution, schema, SQL or Arrow error's own text in place of
/// its `Display`, and follows the variants that hold another error: `Context` (description,
/// then `caused by`), `Diagnostic`, `Shared` and `Collection` (its first error, as its
/// `Display` does), and `External` and Arrow's and Parquet's `External` (their words kept, the
/// inner error walked when it is a DataFusion or Arrow error). Every text the walk cannot
/// enter goes through [`scrub`].
fn unprefixed(e: &datafusion::error::DataFusionError) -> String {
    use datafusion::error::DataFusionError as E;
    use datafusion::parquet::errors::ParquetError;
    match e {
        E::Plan(text) | E::Execution(text) => scrub(text),
        E::SchemaError(err, _) => scrub(&err.to_string()),
        E::SQL(err, _) => scrub(&parser_text(err)),
        E::ArrowError(err, _) => arrow_text(err),
        // DataFusion's and Parquet's own words for an error from elsewhere.
        E::External(inner) => format!("External error: {}", cause_text(inner.as_ref())),
        E::ParquetError(err) => match err.as_ref() {
            ParquetError::External(inner) => {
                format!("Parquet error: External: {}", cause_text(inner.as_ref()))
            }
            _ => scrub(&e.to_string()),
        },
        E::Context(description, inner) => {
            format!("{}\ncaused by\n{}", scrub(description), unprefixed(inner))
        }
        E::Diagnostic(_, inner) => unprefixed(inner),
        E::Shared(inner) => unprefixed(inner),
        E::Collection(errors) => errors.first().map(unprefixed).unwrap_or_default(),
        _ => scrub(&e.to_string()),
    }
}

/// An Arrow error's `Display`, with a DataFusion or Arrow error inside its `ExternalError`
/// walked ([`unprefixed`], [`arrow_text`]).
fn arrow_text(e: &datafusion::arrow::error::ArrowError) -> String {
    use datafusion::arrow::error::ArrowError;
    match e {
        // Arrow's own words for an error from elsewhere.
        ArrowError::ExternalError(inner) => {
            format!("External error: {}", cause_text(inner.as_ref()))
        }
        _ => scrub(&e.to_string()),
    }
}

/// The text of an error carried inside an `External` variant: walked when it is a DataFusion
/// or Arrow error, else its `Display`.
fn cause_text(e: &(dyn std::error::Error + 'static)) -> String {
    if let Some(df) = e.downcast_ref::<datafusion::error::DataFusionError>() {
        unprefixed(df)
    } else if let Some(arrow) = e.downcast_ref::<datafusion::arrow::error::ArrowError>() {
        arrow_text(arrow)
    } else {
        scrub(&e.to_string())
    }
}

/// `text` without the [`CATEGORY_PREFIXES`] wherever they occur in it.
///
/// This string step stays because the library offers nothing for it: DataFusion often
/// formats an inner error into the `String` of a `Plan` or `Execution` error, prefix
/// included, so the structure is gone. `sum('x')` fails planning with "Function 'sum' failed
/// to match any signature, errors: Error during planning: Function 'sum' requires Decimal,
/// …,Error during planning: Function 'sum' requires UInt64, …".
fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for prefix in CATEGORY_PREFIXES {
        if out.contains(prefix) {
            out = out.replace(prefix, "");
        }
    }
    out
}

/// The text of a SQL parser error as messages have always shown it: DataFusion writes the
/// parser error with `Debug` (`ParserError("…")`, the message's quotes and backslashes escaped
/// as `\"` and `\\`), and messages show the quoted part, escapes kept.
///
/// The parser's `Display` ("sql parser error: …") is a different text, so the `Debug` form is
/// taken apart here; that string step is the only way to the same words. A tokenizer error
/// keeps its variant name and loses only the closing `")` (`TokenizerError("Unterminated
/// string literal at Line: 1, Column: 8`), as before.
fn parser_text(e: &datafusion::sql::sqlparser::parser::ParserError) -> String {
    use datafusion::sql::sqlparser::parser::ParserError;
    match e {
        ParserError::ParserError(message) => {
            let quoted = format!("{message:?}");
            // (A message ending in `")` loses that too, as it always did.)
            quoted[1..quoted.len() - 1]
                .trim_end_matches("\")")
                .to_string()
        }
        other => format!("{other:?}").trim_end_matches("\")").to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::io_failure;

    /// A full disk is found as a typed `std::io::Error` inside DataFusion's error chain, or
    /// by its `(os error N)` text where a library kept only the message; a SQL error is not.
    #[test]
    fn io_failures_are_found_in_the_cause_chain() {
        use datafusion::common::DataFusionError;
        let full = std::io::Error::from_raw_os_error(28);
        let typed = DataFusionError::Context(
            "writing".into(),
            Box::new(DataFusionError::External(Box::new(
                DataFusionError::IoError(full),
            ))),
        );
        assert_eq!(
            io_failure(&typed).as_deref(),
            Some("No space left on device (os error 28)")
        );
        let text = DataFusionError::Execution(
            "Failed to write spill file: No space left on device (os error 28)".into(),
        );
        assert_eq!(
            io_failure(&text).as_deref(),
            Some("No space left on device (os error 28)")
        );
        let sql = DataFusionError::Plan("table 'nope' not found".into());
        assert_eq!(io_failure(&sql), None);
    }

    /// DataFusion's category prefixes go at every level of a nested error; a `Context` keeps
    /// its description, `External` its word, and a span becomes `line L, column C: `. The
    /// expected texts are written out from DataFusion's and Arrow's `Display` wording.
    #[test]
    fn nested_errors_lose_only_the_category_prefixes() {
        use datafusion::arrow::error::ArrowError;
        use datafusion::common::{Diagnostic, Location, SchemaError, Span};
        use datafusion::error::DataFusionError as E;
        use datafusion::sql::sqlparser::parser::ParserError;
        let ours = || Box::new(crate::Error::input("events.csv: line 3: bad value"));
        let cases: Vec<(E, &str)> = vec![
            (
                E::Plan("table 'nope' not found".into()),
                "table 'nope' not found",
            ),
            (
                // DataFusion formatted an inner planning error into this one's text.
                E::Plan(
                    "Function 'sum' failed to match any signature, errors: Error during \
                     planning: Function 'sum' requires Int64, but received String."
                        .into(),
                ),
                "Function 'sum' failed to match any signature, errors: Function 'sum' requires \
                 Int64, but received String.",
            ),
            (
                E::Context("writing t".into(), Box::new(E::External(ours()))),
                "writing t\ncaused by\nExternal error: events.csv: line 3: bad value",
            ),
            (
                E::ArrowError(
                    Box::new(ArrowError::CsvError("incorrect number of fields".into())),
                    None,
                ),
                "Csv error: incorrect number of fields",
            ),
            (
                // Arrow error → Arrow's ExternalError → Context → DataFusion's Execution.
                E::ArrowError(
                    Box::new(ArrowError::ExternalError(Box::new(
                        E::Execution("disk gone".into()).context("spilling"),
                    ))),
                    Some(format!("{}0: main", E::BACK_TRACE_SEP)),
                ),
                "External error: spilling\ncaused by\ndisk gone",
            ),
            (
                E::External(Box::new(E::SchemaError(
                    Box::new(SchemaError::DuplicateUnqualifiedField { name: "n".into() }),
                    Box::new(None),
                ))),
                "External error: Schema contains duplicate unqualified field name n",
            ),
            (
                E::Shared(std::sync::Arc::new(E::Execution("boom".into()))),
                "boom",
            ),
            (
                E::Collection(vec![E::Plan("first".into()), E::Plan("second".into())]),
                "first",
            ),
            (
                E::IoError(std::io::Error::other("pipe closed")),
                "IO error: pipe closed",
            ),
            (
                E::SQL(
                    Box::new(ParserError::ParserError(
                        "Expected: ), found: \"n\" at Line: 3, Column: 9".into(),
                    )),
                    None,
                ),
                r#"Expected: ), found: \"n\" at Line: 3, Column: 9"#,
            ),
            (
                E::SQL(
                    Box::new(ParserError::TokenizerError(
                        "Unterminated string literal at Line: 1, Column: 8".into(),
                    )),
                    None,
                ),
                r#"TokenizerError("Unterminated string literal at Line: 1, Column: 8"#,
            ),
            (
                E::Plan("No field named revenu.".into()).with_diagnostic(Diagnostic::new_error(
                    "No field named revenu",
                    Some(Span::new(
                        Location { line: 2, column: 8 },
                        Location {
                            line: 2,
                            column: 14,
                        },
                    )),
                )),
                "line 2, column 8: No field named revenu.",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(super::clean_error(&err), want, "{err:?}");
        }
    }

    /// A chart error keeps its message and gets the kind (so the exit code) it had when the
    /// charts were part of this crate.
    #[test]
    fn chart_errors_keep_their_message_and_exit_code() {
        use journey_charts::ChartErrorKind;
        for (kind, exit) in [
            (ChartErrorKind::Spec, 2),
            (ChartErrorKind::Value, 4),
            (ChartErrorKind::Internal, 1),
        ] {
            let message = "bar chart \"R\": width 20 is out of range".to_string();
            let err = crate::Error::from(journey_charts::Error {
                kind,
                message: message.clone(),
            });
            assert_eq!((err.exit_code(), err.message), (exit, message));
        }
    }
}
