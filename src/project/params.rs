//! [`ParamValue`]: a typed SQL parameter, read from `[params]` or `--param`, checked against
//! the type of its default, and bound into a model as a literal of its type.

use chrono::NaiveDate;
use serde::Serialize;

use crate::error::{Error, Result};

/// A typed parameter value, bound into SQL as a literal of its type.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum ParamValue {
    /// BIGINT.
    Int(i64),
    /// DOUBLE.
    Float(f64),
    /// VARCHAR.
    Text(String),
    /// DATE.
    Date(NaiveDate),
    /// TIMESTAMP (UTC).
    Timestamp(chrono::NaiveDateTime),
    /// BOOLEAN.
    Bool(bool),
}

impl ParamValue {
    /// Converts a TOML value (`30`, `0.5`, `"Europe/Berlin"`, `2026-10-31`, `true`).
    pub(crate) fn from_toml(name: &str, v: &toml::Value) -> Result<Self> {
        Ok(match v {
            toml::Value::Integer(i) => ParamValue::Int(*i),
            toml::Value::Float(f) => ParamValue::Float(*f),
            toml::Value::String(s) => ParamValue::Text(s.clone()),
            toml::Value::Boolean(b) => ParamValue::Bool(*b),
            toml::Value::Datetime(d) => match (d.date, d.time) {
                (Some(date), None) => ParamValue::Date(
                    NaiveDate::from_ymd_opt(date.year as i32, date.month as u32, date.day as u32)
                        .ok_or_else(|| {
                        Error::config(format!("journey.toml: [params] {name}: invalid date {d}"))
                    })?,
                ),
                _ => {
                    return Err(Error::config(format!(
                        "journey.toml: [params] {name}: only dates (2026-10-31) are supported, got {d}"
                    )));
                }
            },
            other => {
                return Err(Error::config(format!(
                    "journey.toml: [params] {name}: expected a number, text, date or boolean, got {other}"
                )));
            }
        })
    }

    /// Reads a `--param NAME=VALUE` value with the TOML value syntax that `[params]` uses
    /// (`14`, `0.5`, `true`, `2026-10-31`, `"text"`); anything that is not a TOML value is
    /// text (`Europe/Berlin`, `purchase`). Then [`ParamValue::coerce`]s it like a `[params]`
    /// value, so both places accept the same values.
    ///
    /// Errors (exit 2): as [`ParamValue::coerce`].
    pub(crate) fn parse_cli(name: &str, text: &str, like: Option<&ParamValue>) -> Result<Self> {
        let value = toml::from_str::<toml::Table>(&format!("v = {text}"))
            .ok()
            .and_then(|mut t| t.remove("v"))
            .filter(|v| !matches!(v, toml::Value::Array(_) | toml::Value::Table(_)))
            .unwrap_or_else(|| toml::Value::String(text.to_string()));
        let v = ParamValue::from_toml(name, &value)
            .map_err(|e| Error::config(format!("--param {name}={text}: {}", e.message)))?;
        v.coerce(name, like)
            .map_err(|e| Error::config(format!("--param {name}={text}: {}", e.message)))
    }

    /// Checks a value against the type of the parameter's default or declaration `like`: a
    /// whole number where a number is expected becomes DOUBLE, a number where a whole number
    /// is expected stays DOUBLE (`conversion_window_days = 0.5`), a value where text is
    /// expected is its text; any other mismatch is an error.
    ///
    /// Errors (exit 2): e.g. text where a number is expected (`lookback_days = "two weeks"`).
    pub(crate) fn coerce(self, name: &str, like: Option<&ParamValue>) -> Result<Self> {
        use ParamValue::*;
        let err = |what: &str| {
            Error::config(format!(
                "parameter {name}: expected {what}, got {}",
                self.type_name()
            ))
        };
        Ok(match (like, &self) {
            (None, _) => self,
            (Some(Int(_)), Int(_) | Float(_)) | (Some(Float(_)), Float(_)) => self,
            (Some(Float(_)), Int(i)) => Float(*i as f64),
            (Some(Int(_)), _) => return Err(err("a whole number")),
            (Some(Float(_)), _) => return Err(err("a number")),
            (Some(Bool(_)), Bool(_)) => self,
            (Some(Bool(_)), _) => return Err(err("true or false")),
            (Some(Date(_)), Date(_)) => self,
            (Some(Date(_)), _) => return Err(err("a date such as 2026-10-31")),
            (Some(Timestamp(_)), _) => {
                return Err(Error::config(format!(
                    "parameter {name} is computed from --as-of and cannot be set"
                )));
            }
            (Some(Text(_)), Text(_)) => self,
            (Some(Text(_)), other) => Text(other.text()),
        })
    }

    /// The name of this value's type, for messages.
    fn type_name(&self) -> String {
        match self {
            ParamValue::Int(i) => format!("the whole number {i}"),
            ParamValue::Float(f) => format!("the number {f}"),
            ParamValue::Text(t) => format!("the text {t:?}"),
            ParamValue::Date(d) => format!("the date {d}"),
            ParamValue::Timestamp(t) => format!("the timestamp {t}"),
            ParamValue::Bool(b) => format!("{b}"),
        }
    }

    /// The value as plain text (as a template shows it).
    fn text(&self) -> String {
        match self {
            ParamValue::Int(i) => i.to_string(),
            ParamValue::Float(f) => f.to_string(),
            ParamValue::Text(t) => t.clone(),
            ParamValue::Date(d) => d.to_string(),
            ParamValue::Timestamp(t) => t.to_string(),
            ParamValue::Bool(b) => b.to_string(),
        }
    }

    /// The SQL literal expression text for this value (strings quoted with `'` doubled).
    pub(crate) fn sql_literal(&self) -> String {
        match self {
            ParamValue::Int(i) => format!("CAST({i} AS BIGINT)"),
            ParamValue::Float(f) => format!("CAST({f:?} AS DOUBLE)"),
            ParamValue::Text(s) => format!("'{}'", s.replace('\'', "''")),
            ParamValue::Date(d) => format!("DATE '{d}'"),
            ParamValue::Timestamp(t) => {
                format!("CAST('{}' AS TIMESTAMP)", t.format("%Y-%m-%dT%H:%M:%S"))
            }
            ParamValue::Bool(b) => b.to_string(),
        }
    }
}
