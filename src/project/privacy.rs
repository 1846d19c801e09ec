//! `[privacy]`: the forget list (right to erasure), how personal data is treated in each
//! output, and the rule every link setting of `journey.toml` follows.
//!
//! ```toml
//! [privacy]
//! forget = "privacy/forget.txt"   # customer ids and e-mail addresses, one a line
//! pages = "mask"                  # pages and e-mails: mask (default) | hash | keep
//! data_files = "keep"             # every data file: keep (default) | mask | hash
//! salt_env = "JOURNEY_PII_SALT"   # the environment variable holding hash's salt
//! email_columns = ["email"]       # result columns holding e-mail addresses (default)
//! name_columns = ["full_name"]    # result columns holding full names (default)
//!
//! [privacy.data_file]             # per model: its data file and its split CSVs
//! churn_risk = "hash"
//! ```
//!
//! What the treatments do is in [`Treatment`]; the forget list is applied in the source views
//! (`crate::sources`), the treatments where pages and data files are written (`crate::report`).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// What an output shows of a column holding personal data (an e-mail address or a full
/// name, recognised by its column name: [`PrivacyConfig::email_columns`],
/// [`PrivacyConfig::name_columns`]).
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Treatment {
    /// E-mail addresses as their first character, `***` and the domain
    /// (`jane.doe@example.com` → `j***@example.com`); names as initials (`Jane Doe` →
    /// `J. D.`). NULL stays NULL.
    Mask,
    /// HMAC-SHA256 of the value (an e-mail address lowercased first) keyed with the project's
    /// salt, as 64 lowercase hex digits: the same person gives the same value in every run
    /// with the same salt, so files can still be joined, but the value cannot be read back.
    Hash,
    /// The value as the source has it.
    Keep,
}

impl Treatment {
    /// The word used in `journey.toml` and `manifest.json`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Treatment::Mask => "mask",
            Treatment::Hash => "hash",
            Treatment::Keep => "keep",
        }
    }
}

/// `[privacy]`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct PrivacyConfig {
    /// The forget list (right to erasure), relative to the project: a text file, one entry a
    /// line, each a customer id or (when it holds an `@`) an e-mail address; blank lines and
    /// lines starting with `#` are skipped. Those customers' rows leave every source view, so
    /// no output holds them (see `crate::sources` for the rule). `--forget FILE` overrides it.
    #[serde(default)]
    pub(crate) forget: Option<PathBuf>,
    /// Treatment of personal data in the pages and e-mails. Default: mask.
    #[serde(default = "mask")]
    pub(crate) pages: Treatment,
    /// Treatment of personal data in every data file (`data/*.csv`, `data/*.parquet`) of a
    /// model without an entry in `data_file`. Default: keep (the follow-up lists are for
    /// contacting customers).
    #[serde(default = "keep")]
    pub(crate) data_files: Treatment,
    /// Per model: the treatment of personal data in its data file and its split CSVs.
    #[serde(default)]
    pub(crate) data_file: BTreeMap<String, Treatment>,
    /// The environment variable holding the salt (key) of `hash`, so that the salt is not
    /// committed with the project. Required when any output is hashed.
    #[serde(default)]
    pub(crate) salt_env: Option<String>,
    /// Result columns (by name, any model) that hold e-mail addresses. Default: `email`, the
    /// input contract's column.
    #[serde(default = "email_columns")]
    pub(crate) email_columns: Vec<String>,
    /// Result columns (by name, any model) that hold full names. Default: `full_name`, the
    /// input contract's column.
    #[serde(default = "name_columns")]
    pub(crate) name_columns: Vec<String>,
}

fn mask() -> Treatment {
    Treatment::Mask
}
fn keep() -> Treatment {
    Treatment::Keep
}
fn email_columns() -> Vec<String> {
    vec!["email".into()]
}
fn name_columns() -> Vec<String> {
    vec!["full_name".into()]
}

impl Default for PrivacyConfig {
    fn default() -> Self {
        PrivacyConfig {
            forget: None,
            pages: mask(),
            data_files: keep(),
            data_file: BTreeMap::new(),
            salt_env: None,
            email_columns: email_columns(),
            name_columns: name_columns(),
        }
    }
}

impl PrivacyConfig {
    /// The treatment of the data files of model `model`.
    pub(crate) fn data_file_treatment(&self, model: &str) -> Treatment {
        self.data_file
            .get(model)
            .copied()
            .unwrap_or(self.data_files)
    }

    /// Whether any output is hashed (then `salt_env` is required).
    pub(crate) fn hashes(&self) -> bool {
        self.pages == Treatment::Hash
            || self.data_files == Treatment::Hash
            || self.data_file.values().any(|t| *t == Treatment::Hash)
    }

    /// What is wrong with the section, in words, for the configuration error (exit 2) of
    /// `Config::load`: a hash without `salt_env`, or a `salt_env` that is not a variable name.
    pub(crate) fn problem(&self) -> Option<String> {
        match &self.salt_env {
            None if self.hashes() => Some(
                "an output is hashed (\"hash\"), but salt_env names no environment variable to take the salt from: add salt_env = \"JOURNEY_PII_SALT\" and set that variable"
                    .into(),
            ),
            Some(v)
                if v.is_empty()
                    || !v.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') =>
            {
                Some(format!(
                    "salt_env {v:?}: expected the name of an environment variable (letters, digits and _), not the salt itself"
                ))
            }
            _ => None,
        }
    }
}

/// Checks a link setting of `journey.toml` (`[email] base_url`, the only one: every link a
/// page or an e-mail carries is made from it or is relative): an absolute `http://` or
/// `https://` URL (scheme in any case) with a host, and no space, control character, quote,
/// `<`, `>` or backslash, so that it can only ever be a web link — never `javascript:`,
/// `file:`, `data:` or a value that breaks out of an `href` attribute.
///
/// Errors: why the value is refused, in words (the caller names the setting; exit 2).
pub(crate) fn check_link(url: &str) -> std::result::Result<(), String> {
    let lower = url.to_ascii_lowercase();
    let rest = if let Some(r) = lower.strip_prefix("https://") {
        r
    } else if let Some(r) = lower.strip_prefix("http://") {
        r
    } else {
        return Err("expected an absolute URL starting with https:// or http://".into());
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with(':') || host.starts_with('@') {
        return Err("the URL names no host".into());
    }
    if let Some(c) = url
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || "\"'<>\\`".contains(*c))
    {
        return Err(format!("the URL holds the character {c:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_must_be_web_links() {
        for ok in [
            "https://reports.acme.example/journeys",
            "http://localhost:8080",
            "HTTPS://Reports.Acme.Example/j?x=1#top",
        ] {
            assert_eq!(check_link(ok), Ok(()), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "data:text/html,<b>x</b>",
            "ftp://files.acme.example",
            "//reports.acme.example",
            "https://",
            "https:///path",
            "https://reports.acme.example/\"><script>",
            "https://reports.acme.example/a b",
            "reports.acme.example",
        ] {
            assert!(check_link(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn hashing_needs_a_salt_variable() {
        let mut p = PrivacyConfig::default();
        assert_eq!(p.problem(), None);
        p.data_file.insert("churn_risk".into(), Treatment::Hash);
        assert!(p.problem().unwrap().contains("salt_env"));
        p.salt_env = Some("JOURNEY_PII_SALT".into());
        assert_eq!(p.problem(), None);
        p.salt_env = Some("s3cr3t salt!".into());
        assert!(p.problem().unwrap().contains("not the salt itself"));
        assert_eq!(p.data_file_treatment("churn_risk"), Treatment::Hash);
        assert_eq!(p.data_file_treatment("funnel"), Treatment::Keep);
    }
}
