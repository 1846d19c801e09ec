//! The error type of the charts: [`Error`], with a [`ChartErrorKind`] that says who is at
//! fault (the chart's specification, a value from the data, or a bug).

/// Who is at fault for an [`Error`]. journey-report maps the kinds one-to-one onto its own
/// error kinds (and so onto its exit codes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChartErrorKind {
    /// The chart's specification: a width or height out of range.
    Spec,
    /// A value to plot: not finite, or negative where only counts make sense.
    Value,
    /// A bug: a spec whose parts do not match, a backend that fails, a font that cannot be
    /// loaded.
    Internal,
}

/// A chart error: its kind and a message written for the person who must fix it (it names
/// the chart, the series and the category).
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    /// Who is at fault.
    pub kind: ChartErrorKind,
    /// What went wrong, naming the chart (e.g. `funnel chart "Purchase funnel": …`) and,
    /// for a value, its series and category.
    pub message: String,
}

impl Error {
    /// A bad width or height ([`ChartErrorKind::Spec`]).
    pub(crate) fn spec(message: impl Into<String>) -> Self {
        Self::new(ChartErrorKind::Spec, message)
    }
    /// A value that cannot be plotted ([`ChartErrorKind::Value`]).
    pub(crate) fn value(message: impl Into<String>) -> Self {
        Self::new(ChartErrorKind::Value, message)
    }
    /// A bug or a backend failure ([`ChartErrorKind::Internal`]).
    pub(crate) fn internal(message: impl Into<String>) -> Self {
        Self::new(ChartErrorKind::Internal, message)
    }
    fn new(kind: ChartErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
