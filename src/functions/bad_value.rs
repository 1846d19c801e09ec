//! The error a conversion returns: [`BadValue`], a value of an input export that could not be
//! read as its declared type, with [`find_bad_value`] to dig it out of an error chain and
//! [`shorten`] to quote a value in a message.

use std::fmt;

use datafusion::common::DataFusionError;

/// A value in an input export that could not be read as its declared type.
///
/// Carried inside `DataFusionError::External`; [`find_bad_value`] digs it out of an error chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BadValue {
    /// `source.column` of the canonical column (e.g. `events.event_time`).
    pub(crate) origin: String,
    /// The text as it stands in the export.
    pub(crate) value: String,
    /// What was expected, in words (e.g. "a timestamp in RFC 3339 / ISO-8601 with offset").
    pub(crate) expected: String,
    /// The row is bad only together with this value of another canonical column of the same
    /// source: (column, value in lower case, spaces trimmed), e.g. `("status", "completed")`
    /// for the amount of a completed order. Lets the error point at the right row.
    pub(crate) when: Option<(String, String)>,
}

impl fmt::Display for BadValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot read {}: expected {}",
            self.origin,
            shorten(&self.value),
            self.expected
        )
    }
}

/// Longest value, in characters, that an error message quotes whole ([`shorten`]).
const MAX_QUOTED_CHARS: usize = 80;

/// `value` quoted for an error message (`"…"`, Rust escapes): whole when it has at most
/// [`MAX_QUOTED_CHARS`] characters, else its first [`MAX_QUOTED_CHARS`] followed by
/// `… (N bytes)` with its full length, so a 1 MB cell does not flood the log.
pub(crate) fn shorten(value: &str) -> String {
    match value.char_indices().nth(MAX_QUOTED_CHARS) {
        None => format!("{value:?}"),
        Some((cut, _)) => format!("{:?}… ({} bytes)", &value[..cut], value.len()),
    }
}

impl std::error::Error for BadValue {}

/// Finds a [`BadValue`] anywhere in the cause chain of `err`.
pub(crate) fn find_bad_value(err: &(dyn std::error::Error + 'static)) -> Option<BadValue> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        if let Some(b) = e.downcast_ref::<BadValue>() {
            return Some(b.clone());
        }
        if let Some(DataFusionError::Shared(inner)) = e.downcast_ref::<DataFusionError>()
            && let Some(b) = find_bad_value(inner.as_ref())
        {
            return Some(b);
        }
        cur = e.source();
    }
    None
}

/// A [`BadValue`] for `value` of `origin` (`source.column`), wrapped as a DataFusion error.
pub(super) fn bad(origin: &str, value: &str, expected: &str) -> DataFusionError {
    DataFusionError::External(Box::new(BadValue {
        origin: origin.to_string(),
        value: value.to_string(),
        expected: expected.to_string(),
        when: None,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Values in messages: whole up to 80 characters, else the first 80 and the length in
    /// bytes; cut on a character boundary (é is 2 bytes).
    #[test]
    fn shorten_quotes_at_most_80_characters() {
        assert_eq!(shorten("40,00 €"), "\"40,00 €\"");
        let eighty = "é".repeat(80);
        assert_eq!(shorten(&eighty), format!("{eighty:?}"));
        let long = "é".repeat(500_000);
        assert_eq!(
            shorten(&long),
            format!("{:?}… (1000000 bytes)", "é".repeat(80))
        );
    }
}
