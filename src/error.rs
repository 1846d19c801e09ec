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

/// The one-line text of a DataFusion error, with the SQL position when DataFusion knows it.
pub(crate) fn clean_error(e: &datafusion::error::DataFusionError) -> String {
    let mut msg = e.strip_backtrace();
    for prefix in [
        "Error during planning: ",
        "SQL error: ",
        "Schema error: ",
        "Execution error: ",
        "ParserError(\"",
        "Arrow error: ",
    ] {
        msg = msg.replace(prefix, "");
    }
    let msg = msg.trim_end_matches("\")").to_string();
    match e.diagnostic().and_then(|d| d.span) {
        Some(span) => format!(
            "line {}, column {}: {msg}",
            span.start.line, span.start.column
        ),
        None => msg,
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
