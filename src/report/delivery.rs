//! Delivery of the e-mails over SMTP (`run --send`, `run --send-to ADDRESS`), each message
//! at most once.
//!
//! A message is one e-mail form ([`crate::report::email::Email`]) for one recipient: the digest for
//! each address of `[email] to`, a page for each address in that report's `recipients`. Its
//! identity is (report, recipient address, as-of date); its Message-ID is derived from it
//! ([`crate::report::email::message_id`]).
//!
//! **The delivery record** `<out>/.delivery/<as-of>.json` lists the messages of that date
//! the SMTP server accepted: `{"as_of": "2026-10-31", "sent": [{"report", "to",
//! "message_id", "sent_at"}, …]}`. It is rewritten atomically (a temporary file renamed over
//! it) after every accepted message, beside the report folders rather than inside one,
//! because a re-run replaces the date's folder whole. A retry after a part-way failure
//! sends only the messages the record does not list; delete the file to send a date again.
//!
//! A message the server refuses for good (an SMTP 5xx reply, e.g. an unknown recipient) is
//! reported and the others are still sent; any other failure (connection refused, TLS, a
//! timeout, a 4xx reply) stops the delivery there. Either way the run exits 5 naming what was
//! not sent, and the record holds what was.
//!
//! `--send-to ADDRESS` sends the digest alone to that one address, for a test: the
//! configured recipients get nothing and no record is read or written.
//!
//! SMTP settings come from the environment, never from the project file, and the password is
//! never logged:
//!
//! | variable | meaning |
//! |---|---|
//! | `JOURNEY_SMTP_HOST` | server host name (required) |
//! | `JOURNEY_SMTP_PORT` | port (default 587 for `starttls`, 465 for `tls`, 25 for `none`) |
//! | `JOURNEY_SMTP_TLS` | `starttls` (default), `tls` (implicit TLS), or `none` (loopback tests only) |
//! | `JOURNEY_SMTP_USER`, `JOURNEY_SMTP_PASSWORD` | credentials (optional) |
//! | `JOURNEY_SMTP_TIMEOUT` | seconds to wait for the server at each step (default 30) |

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{SmtpTransport, Transport};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::project::Config;
use crate::report::email::Email;

/// Folder of the delivery records, under the output folder (beside the report folders).
const RECORD_DIR: &str = ".delivery";

/// Default SMTP timeout in seconds (`JOURNEY_SMTP_TIMEOUT` overrides it).
const DEFAULT_TIMEOUT_SECS: u64 = 30;

/// One message the SMTP server accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct SentMessage {
    /// The report (`index` for the digest).
    pub(crate) report: String,
    /// The recipient's address.
    pub(crate) to: String,
    /// Its Message-ID, angle brackets included.
    pub(crate) message_id: String,
    /// When the server accepted it (RFC 3339 UTC).
    sent_at: String,
}

/// `<out>/.delivery/<as-of>.json`: the messages of one date already delivered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Record {
    /// The logical date, `YYYY-MM-DD`.
    pub(crate) as_of: String,
    /// Accepted messages, in the order they were sent.
    pub(crate) sent: Vec<SentMessage>,
}

impl Record {
    /// Whether the message of `report` to `address` was delivered (addresses compared
    /// without regard to case).
    pub(crate) fn has(&self, report: &str, address: &str) -> bool {
        self.sent
            .iter()
            .any(|m| m.report == report && m.to.eq_ignore_ascii_case(address))
    }
}

/// The record file of `as_of` under the output folder `parent`.
fn record_path(parent: &Path, as_of: NaiveDate) -> PathBuf {
    parent.join(RECORD_DIR).join(format!("{as_of}.json"))
}

/// Reads a record; an absent file is an empty record.
///
/// Errors (exit 5): the file cannot be read or is not a record; nothing is sent then, since
/// what was already delivered is unknown.
pub(crate) fn read_record(path: &Path) -> Result<Record> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Record::default()),
        Err(e) => {
            return Err(Error::new(
                ErrorKind::Delivery,
                format!("{}: cannot read the delivery record: {e}", path.display()),
            ));
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        Error::new(
            ErrorKind::Delivery,
            format!(
                "{}: not a delivery record ({e}); nothing was sent. Fix or delete it (deleting sends every message of the date again)",
                path.display()
            ),
        )
    })
}

/// Writes `record` to `path` atomically: a temporary file beside it, flushed to disk, then
/// renamed over it, so a crash leaves the old record or the new one, never half of one.
///
/// Errors (exit 5): the folder or file cannot be written.
pub(crate) fn write_record(path: &Path, record: &Record) -> Result<()> {
    use std::io::Write;
    let fail = |p: &Path, e: std::io::Error| {
        Error::new(
            ErrorKind::Delivery,
            format!("{}: writing the delivery record: {e}", p.display()),
        )
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| fail(dir, e))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("record"),
        std::process::id()
    ));
    let text = serde_json::to_string_pretty(record)
        .map_err(|e| Error::internal(format!("delivery record: {e}")))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| fail(&tmp, e))?;
    f.write_all(text.as_bytes()).map_err(|e| fail(&tmp, e))?;
    f.sync_all().map_err(|e| fail(&tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        fail(path, e)
    })
}

/// Refuses `--send` when nobody would receive anything: no `[email] to` and no report with
/// `recipients`. Called before any model runs. `--send-to` needs no configured recipients.
///
/// Errors (exit 2): no recipients configured.
pub(crate) fn check_recipients(cfg: &Config, send_to: Option<&str>) -> Result<()> {
    if let Some(addr) = send_to {
        addr.parse::<Mailbox>()
            .map_err(|e| Error::config(format!("--send-to {addr:?}: {e}")))?;
        return Ok(());
    }
    if cfg.email.to.is_empty() && cfg.reports.iter().all(|r| r.recipients.is_empty()) {
        return Err(Error::config(
            "--send: journey.toml names no recipients: set [email] to = [...] for the digest (and a report's recipients for its page), or send a test with --send-to ADDRESS",
        ));
    }
    Ok(())
}

/// What [`deliver`] did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Delivered {
    /// Messages the server accepted in this run.
    pub(crate) sent: usize,
    /// Messages left out because the record lists them as delivered by an earlier run.
    already_sent: usize,
}

/// Sends every message of `emails` not yet in the record of `as_of` under `parent` (see the
/// module docs), recording each accepted one; with `send_to`, only the digest to that address
/// and no record.
///
/// Errors (exit 5): no `JOURNEY_SMTP_HOST`, a bad SMTP setting, an unreadable record, or
/// messages not delivered (each named, with the server's reply); exit 2 for a bad
/// `--send-to` address.
pub(crate) fn deliver(
    parent: &Path,
    as_of: NaiveDate,
    emails: &[Email],
    send_to: Option<&str>,
) -> Result<Delivered> {
    let smtp = Smtp::from_env()?;
    if let Some(addr) = send_to {
        let to: Mailbox = addr
            .parse()
            .map_err(|e| Error::config(format!("--send-to {addr:?}: {e}")))?;
        let digest = emails
            .iter()
            .find(|e| e.report == "index")
            .ok_or_else(|| Error::internal("no digest e-mail was rendered"))?;
        smtp.send(&digest.message_for(&to)?)
            .map_err(|e| smtp.error(&digest.report, &to, &e))?;
        tracing::info!(report = "index", to = %to.email, "test e-mail sent (--send-to; no delivery record)");
        return Ok(Delivered {
            sent: 1,
            already_sent: 0,
        });
    }
    let path = record_path(parent, as_of);
    let mut record = read_record(&path)?;
    record.as_of = as_of.to_string();
    let mut done = Delivered::default();
    let mut refused: Vec<String> = Vec::new();
    let mut stopped: Option<String> = None;
    'outer: for e in emails {
        for to in &e.recipients {
            let address = to.email.to_string();
            if record.has(&e.report, &address) {
                done.already_sent += 1;
                continue;
            }
            let msg = e.message_for(to)?;
            match smtp.send(&msg) {
                Ok(()) => {
                    record.sent.push(SentMessage {
                        report: e.report.clone(),
                        to: address.clone(),
                        message_id: e.message_id_for(&address),
                        sent_at: chrono::Utc::now()
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                    });
                    write_record(&path, &record)?;
                    done.sent += 1;
                    tracing::info!(report = %e.report, to = %address, "e-mail sent");
                }
                Err(err) if err.is_permanent() => {
                    tracing::warn!(report = %e.report, to = %address, "the server refused the e-mail: {err}");
                    refused.push(smtp.error(&e.report, to, &err).message);
                }
                Err(err) => {
                    stopped = Some(smtp.error(&e.report, to, &err).message);
                    break 'outer;
                }
            }
        }
    }
    if done.already_sent > 0 {
        tracing::info!(
            already_sent = done.already_sent,
            record = %path.display(),
            "e-mails already delivered for this date were not sent again"
        );
    }
    if refused.is_empty() && stopped.is_none() {
        return Ok(done);
    }
    let mut msg = String::new();
    if let Some(s) = &stopped {
        msg.push_str(&format!("delivery stopped: {s}"));
    }
    if !refused.is_empty() {
        if !msg.is_empty() {
            msg.push('\n');
        }
        msg.push_str(&format!(
            "{} e-mail{} refused: {}",
            refused.len(),
            if refused.len() == 1 { "" } else { "s" },
            refused.join("; ")
        ));
    }
    msg.push_str(&format!(
        "\n{} e-mail{} sent in this run ({} earlier) are listed in {}; a retry sends only the others",
        done.sent,
        if done.sent == 1 { "" } else { "s" },
        done.already_sent,
        path.display()
    ));
    Err(Error::new(ErrorKind::Delivery, msg))
}

/// An SMTP transport configured from `JOURNEY_SMTP_*`.
struct Smtp {
    transport: SmtpTransport,
    host: String,
    port: u16,
}

impl Smtp {
    /// Errors (exit 5): no host, a port or TLS mode or timeout that does not parse.
    fn from_env() -> Result<Smtp> {
        let bad = |m: String| Error::new(ErrorKind::Delivery, m);
        let host = std::env::var("JOURNEY_SMTP_HOST").map_err(|_| {
            bad("--send: JOURNEY_SMTP_HOST is not set (see the README: e-mail delivery)".into())
        })?;
        let mode = std::env::var("JOURNEY_SMTP_TLS").unwrap_or_else(|_| "starttls".into());
        let default_port = match mode.as_str() {
            "tls" => 465,
            "none" => 25,
            _ => 587,
        };
        let port: u16 = match std::env::var("JOURNEY_SMTP_PORT") {
            Ok(p) => p
                .parse()
                .map_err(|_| bad(format!("JOURNEY_SMTP_PORT={p:?} is not a port number")))?,
            Err(_) => default_port,
        };
        let timeout = match std::env::var("JOURNEY_SMTP_TIMEOUT") {
            Ok(t) => t.parse::<u64>().ok().filter(|s| *s > 0).ok_or_else(|| {
                bad(format!(
                    "JOURNEY_SMTP_TIMEOUT={t:?} is not a whole number of seconds ≥ 1"
                ))
            })?,
            Err(_) => DEFAULT_TIMEOUT_SECS,
        };
        let fail = |e: &dyn std::fmt::Display| bad(format!("SMTP {host}:{port}: {e}"));
        let mut builder = match mode.as_str() {
            "starttls" => SmtpTransport::starttls_relay(&host).map_err(|e| fail(&e))?,
            "tls" => SmtpTransport::relay(&host).map_err(|e| fail(&e))?,
            "none" => SmtpTransport::builder_dangerous(&host),
            other => {
                return Err(bad(format!(
                    "JOURNEY_SMTP_TLS={other:?}: expected starttls, tls or none"
                )));
            }
        }
        .port(port)
        .timeout(Some(Duration::from_secs(timeout)));
        if let (Ok(user), Ok(password)) = (
            std::env::var("JOURNEY_SMTP_USER"),
            std::env::var("JOURNEY_SMTP_PASSWORD"),
        ) {
            builder = builder.credentials(Credentials::new(user, password));
        }
        Ok(Smtp {
            transport: builder.build(),
            host,
            port,
        })
    }

    fn send(
        &self,
        msg: &lettre::Message,
    ) -> std::result::Result<(), lettre::transport::smtp::Error> {
        self.transport.send(msg).map(|_| ())
    }

    /// The error of one message, naming report, recipient and server (never the password).
    fn error(&self, report: &str, to: &Mailbox, err: &lettre::transport::smtp::Error) -> Error {
        let what = if report == "index" {
            "the digest".to_string()
        } else {
            format!("the {report} e-mail")
        };
        let mut text = err.to_string();
        let mut src = std::error::Error::source(err);
        while let Some(s) = src {
            text.push_str(": ");
            text.push_str(&s.to_string());
            src = s.source();
        }
        Error::new(
            ErrorKind::Delivery,
            format!(
                "sending {what} to {} via {}:{}: {text}",
                to.email, self.host, self.port
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_round_trips_and_is_replaced_whole() {
        let dir = tempfile::TempDir::new().unwrap();
        let d = NaiveDate::from_ymd_opt(2026, 10, 31).unwrap();
        let path = record_path(dir.path(), d);
        assert_eq!(read_record(&path).unwrap(), Record::default());
        let mut r = Record {
            as_of: "2026-10-31".into(),
            sent: Vec::new(),
        };
        for to in ["ceo@example.com", "CFO@example.com"] {
            r.sent.push(SentMessage {
                report: "index".into(),
                to: to.into(),
                message_id: "<jr-1@example.com>".into(),
                sent_at: "2026-11-01T06:00:00Z".into(),
            });
            write_record(&path, &r).unwrap();
        }
        let back = read_record(&path).unwrap();
        assert_eq!(back, r);
        assert!(back.has("index", "cfo@example.com") && !back.has("funnel", "ceo@example.com"));
        // No temporary file is left beside it.
        let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names, vec!["2026-10-31.json"]);
        std::fs::write(&path, "{not json").unwrap();
        let e = read_record(&path).unwrap_err();
        assert_eq!(e.exit_code(), 5);
        assert!(e.message.contains("2026-10-31.json"), "{}", e.message);
    }
}
