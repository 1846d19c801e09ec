//! Reading `<project>/journey.toml` strictly ([`Config::load`]: an unknown key is an error)
//! and the checks TOML's types cannot express: funnel stages, report names, source names,
//! timestamp formats, time zones, parameter types, the e-mail base URL.

use std::collections::BTreeMap;
use std::path::Path;

use super::{Config, ParamValue};
use crate::error::{Error, Result};

impl Config {
    /// Reads and validates `<project>/journey.toml`.
    ///
    /// Errors (exit 2): the file is missing or not valid TOML, an unknown key (with its line),
    /// a funnel stage without events, an event name in two stages, duplicate report names, a
    /// source's `timestamp_format` that is neither a named format nor a valid strftime
    /// pattern, or an unknown `timezone`.
    pub(crate) fn load(project: &Path) -> Result<Config> {
        let path = project.join("journey.toml");
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::config(format!(
                "{}: cannot read the project file: {e}",
                path.display()
            ))
        })?;
        let cfg: Config = toml::from_str(&text).map_err(|e| {
            Error::config(format!("{}: {}", path.display(), e.to_string().trim_end()))
        })?;
        cfg.validate(&path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<()> {
        let p = path.display();
        let mut seen = BTreeMap::new();
        for (i, s) in self.funnel.stages.iter().enumerate() {
            if s.events.is_empty() {
                return Err(Error::config(format!(
                    "{p}: [funnel] stage {} ({:?}) lists no events",
                    i + 1,
                    s.name
                )));
            }
            for e in &s.events {
                if let Some(prev) = seen.insert(e.clone(), s.name.clone()) {
                    return Err(Error::config(format!(
                        "{p}: [funnel] event {e:?} is in two stages ({prev:?} and {:?})",
                        s.name
                    )));
                }
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for r in &self.reports {
            if r.name == "index" {
                return Err(Error::config(format!(
                    "{p}: [[reports]] name \"index\" is reserved for the executive summary"
                )));
            }
            if !names.insert(r.name.clone()) {
                return Err(Error::config(format!(
                    "{p}: [[reports]] name {:?} appears twice",
                    r.name
                )));
            }
        }
        for (name, src) in &self.sources {
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(Error::config(format!(
                    "{p}: [sources.{name}]: a source name must be letters, digits and _"
                )));
            }
            if let Err(why) = check_timestamp_format(&src.timestamp_format) {
                return Err(Error::config(format!(
                    "{p}: [sources.{name}] timestamp_format {:?}: {why}\n  expected rfc3339, unix_seconds, unix_millis or a strftime pattern such as \"%Y-%m-%d %H:%M:%S\" (chrono's specifiers: https://docs.rs/chrono/latest/chrono/format/strftime/)",
                    src.timestamp_format
                )));
            }
            if src.timezone.parse::<chrono_tz::Tz>().is_err() {
                return Err(Error::config(format!(
                    "{p}: [sources.{name}] timezone {:?} is not an IANA time zone",
                    src.timezone
                )));
            }
        }
        for (k, v) in &self.params {
            ParamValue::from_toml(k, v)?;
        }
        if let Some(url) = &self.email.base_url
            && let Err(why) = super::privacy::check_link(url)
        {
            return Err(Error::config(format!(
                "{p}: [email] base_url {url:?}: {why} (the e-mails' links are made from it)"
            )));
        }
        if let Some(why) = self.privacy.problem() {
            return Err(Error::config(format!("{p}: [privacy] {why}")));
        }
        Ok(())
    }
}

/// Checks a source's `timestamp_format`: one of the named formats (`rfc3339`, `iso8601`,
/// `unix_seconds`, `unix_millis`), or a strftime pattern chrono can read.
///
/// Errors: what is wrong with the pattern, in words (an unknown or incomplete specifier such
/// as `%Q` or a trailing `%`), for the configuration error (exit 2) of [`Config::load`].
fn check_timestamp_format(format: &str) -> std::result::Result<(), String> {
    use chrono::format::{Item, StrftimeItems};
    if matches!(
        format,
        "rfc3339" | "iso8601" | "unix_seconds" | "unix_millis"
    ) {
        return Ok(());
    }
    if StrftimeItems::new(format).any(|i| matches!(i, Item::Error)) {
        return Err(
            "not a strftime pattern chrono can read (an unknown or incomplete % specifier)".into(),
        );
    }
    if !format.contains('%') {
        return Err("neither a named format nor a strftime pattern (no % specifier)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::NaiveDate;

    use super::*;
    use crate::project::{DataFile, Format, Materialize, MaxAge};

    /// `Config::load` of a project whose journey.toml is `text`.
    fn load(text: &str) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("journey.toml"), text).unwrap();
        Config::load(dir.path())
    }

    /// The configuration error (exit 2) of `text`, its message after the file's path.
    fn refused(text: &str) -> String {
        let e = load(text).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config, "{}", e.message);
        let (_, message) = e.message.split_once("journey.toml: ").unwrap();
        message.to_string()
    }

    #[test]
    fn a_minimal_project_file_takes_the_defaults() {
        let cfg = load("[sources.events]\npath = \"events.csv\"\n").unwrap();
        assert_eq!(cfg.project.title, "Customer journey report");
        assert_eq!(cfg.project.currency, "EUR");
        assert_eq!(cfg.project.output_dir, PathBuf::from("reports"));
        assert!(!cfg.project.fail_fast);
        assert!(cfg.params.is_empty() && cfg.funnel.stages.is_empty());
        assert!(cfg.models.is_empty() && cfg.reports.is_empty());
        assert_eq!(cfg.email.from, "journey-report <journey-report@localhost>");
        assert!(cfg.email.to.is_empty() && cfg.email.base_url.is_none());
        let events = &cfg.sources["events"];
        assert_eq!(events.path, "events.csv");
        assert_eq!(events.format, Format::Csv);
        assert_eq!(events.timestamp_format, "rfc3339");
        assert_eq!(events.timezone, "UTC");
        assert_eq!(events.delimiter, ',');
        assert!(events.columns.is_empty() && events.types.is_empty());
        // No max_age_hours: the contract's thresholds for events, 36 h and 168 h.
        assert_eq!(events.max_age_hours, None);
        assert_eq!(
            events.freshness("events"),
            (
                Some("event_time".to_string()),
                MaxAge {
                    warn: Some(36.0),
                    error: Some(168.0)
                }
            )
        );
        // A model named without settings: kept as `auto`, its data file a CSV.
        let cfg = load("[models.funnel]\n").unwrap();
        assert_eq!(cfg.models["funnel"].materialize, Materialize::Auto);
        assert_eq!(cfg.models["funnel"].data_file, DataFile::Csv);
        assert_eq!(cfg.models["funnel"].split_csv_by, None);
        // A report's template is <name>.html unless set.
        let cfg = load("[[reports]]\nname = \"funnel\"\ntitle = \"Funnel\"\n").unwrap();
        assert_eq!(cfg.reports[0].template_name(), "funnel.html");
    }

    #[test]
    fn an_unknown_key_is_refused_by_name() {
        let message = refused("[project]\ntitel = \"Acme\"\n");
        assert!(message.contains("unknown field `titel`"), "{message}");
        // With the line it is on.
        assert!(message.contains("line 2"), "{message}");
        let message = refused("[sources.events]\npath = \"e.csv\"\nseparator = \";\"\n");
        assert!(message.contains("unknown field `separator`"), "{message}");
    }

    #[test]
    fn a_bad_max_age_is_refused() {
        for (bad, what) in [
            // A number where the thresholds go.
            ("max_age_hours = 36", "expected struct MaxAge"),
            // Text where hours go.
            ("max_age_hours = { warn = \"soon\" }", "expected f64"),
            // A threshold that does not exist.
            ("max_age_hours = { later = 3 }", "unknown field `later`"),
        ] {
            let message = refused(&format!("[sources.events]\npath = \"e.csv\"\n{bad}\n"));
            assert!(message.contains(what), "{bad}: {message}");
            assert!(message.contains("max_age_hours"), "{bad}: {message}");
        }
        // Either one alone, or none, is fine.
        let cfg =
            load("[sources.events]\npath = \"e.csv\"\nmax_age_hours = { error = 48 }\n").unwrap();
        assert_eq!(
            cfg.sources["events"].freshness("events").1,
            MaxAge {
                warn: None,
                error: Some(48.0)
            }
        );
    }

    #[test]
    fn a_source_without_a_path_is_refused() {
        let message = refused("[sources.events]\nformat = \"csv\"\n");
        assert!(message.contains("missing field `path`"), "{message}");
    }

    #[test]
    fn params_are_read_with_their_toml_type() {
        let cfg = load(
            "[params]\nlookback_days = 30\nshare = 0.5\nreport_tz = \"Europe/Berlin\"\nstart = 2026-10-01\nsplit = true\n",
        )
        .unwrap();
        let values: BTreeMap<&str, ParamValue> = cfg
            .params
            .iter()
            .map(|(k, v)| (k.as_str(), ParamValue::from_toml(k, v).unwrap()))
            .collect();
        assert_eq!(
            values,
            BTreeMap::from([
                ("lookback_days", ParamValue::Int(30)),
                ("share", ParamValue::Float(0.5)),
                ("report_tz", ParamValue::Text("Europe/Berlin".into())),
                (
                    "start",
                    ParamValue::Date(NaiveDate::from_ymd_opt(2026, 10, 1).unwrap())
                ),
                ("split", ParamValue::Bool(true)),
            ])
        );
        // A TIMESTAMP parameter is computed from --as-of, never read: a date and time, or
        // an array, is refused when the file is read.
        assert!(
            refused("[params]\nstart = 2026-10-01T12:00:00\n")
                .contains("[params] start: only dates (2026-10-31) are supported")
        );
        assert!(
            refused("[params]\nevents = [\"a\"]\n")
                .contains("[params] events: expected a number, text, date or boolean")
        );
    }

    /// Named formats and patterns chrono reads pass; an unknown specifier, a lone `%` at the
    /// end and text without any specifier are refused when journey.toml is read.
    #[test]
    fn timestamp_formats_are_checked_when_the_file_is_read() {
        for ok in [
            "rfc3339",
            "unix_seconds",
            "unix_millis",
            "%Y-%m-%d %H:%M:%S",
            "%d/%m/%Y %H:%M%z",
        ] {
            assert_eq!(check_timestamp_format(ok), Ok(()), "{ok}");
        }
        for bad in [
            "%Y-%m-%d %Q",
            "%Y-%m-%d %",
            "%Y-%m-%d %H:%M:%E",
            "yyyy-mm-dd",
            "unix",
        ] {
            assert!(check_timestamp_format(bad).is_err(), "{bad}");
        }
    }
}
