//! The e-mail form of the reports, and their delivery over SMTP.
//!
//! Each page is rendered a second time with the chart functions in PNG mode (Gmail and
//! Outlook show neither inline SVG nor data-URI images): its `<main>` content goes into the
//! table-layout skeleton `templates/email.html` (600 px wide), the CSS is inlined with
//! css-inline, a plain-text part is derived with html2text, and lettre builds
//! `multipart/alternative` (text, then `multipart/related` HTML + PNG parts by Content-ID).
//! Each message is written to `email/<report>.eml`.
//!
//! Delivery (`run --send`) reads the SMTP settings from the environment, never from the
//! project file, and never logs the password:
//!
//! | variable | meaning |
//! |---|---|
//! | `JOURNEY_SMTP_HOST` | server host name (required) |
//! | `JOURNEY_SMTP_PORT` | port (default 587 for `starttls`, 465 for `tls`, 25 for `none`) |
//! | `JOURNEY_SMTP_TLS` | `starttls` (default), `tls` (implicit TLS), or `none` (loopback tests only) |
//! | `JOURNEY_SMTP_USER`, `JOURNEY_SMTP_PASSWORD` | credentials (optional) |

use std::path::Path;

use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};
use lettre::transport::smtp::authentication::Credentials;
use lettre::{Message, SmtpTransport, Transport};

use crate::charts::{ImageSink, InlineImage};
use crate::config::Config;
use crate::error::{Error, ErrorKind, Result};

/// Width of the e-mail body in pixels; charts are laid out 40 px narrower.
pub const EMAIL_WIDTH: u32 = 600;

/// Gmail clips messages whose HTML passes about 102 KB; we warn above this many bytes.
pub const HTML_BUDGET: usize = 80 * 1024;

/// One rendered e-mail.
#[derive(Debug, Clone)]
pub struct Email {
    /// The report's name (`index` for the executive summary).
    pub report: String,
    /// The whole message (RFC 5322), as written to `email/<report>.eml`.
    pub message: Message,
    /// Size of the HTML part in bytes (after CSS inlining).
    pub html_bytes: usize,
    /// Inline images.
    pub images: usize,
}

/// Renders the e-mail form of one page: `tera` must come from
/// [`crate::render::build_email_tera`] with `sink`; `page_html` is that page rendered by it.
///
/// Errors: exit 2 for a bad address in `[email]` or `recipients`, a template error; exit 1
/// for an inlining failure.
#[allow(clippy::too_many_arguments)]
pub fn build_email(
    cfg: &Config,
    tera: &tera::Tera,
    context: &tera::Context,
    report: &str,
    heading: &str,
    recipients: &[String],
    page_html: &str,
    sink: &ImageSink,
) -> Result<Email> {
    let content = main_content(page_html);
    let as_of = context
        .get("as_of")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let link = cfg
        .email
        .base_url
        .as_ref()
        .map(|b| format!("{}/{}/{}.html", b.trim_end_matches('/'), as_of, report));
    let mut c = context.clone();
    c.insert("content", &content);
    c.insert("heading", heading);
    c.insert("link", &link);
    let skeleton = crate::render::render(tera, "email.html", &c)?;
    let inliner = css_inline::CSSInliner::options()
        .keep_style_tags(false)
        .load_remote_stylesheets(false)
        .build();
    let html = inliner
        .inline(&skeleton)
        .map_err(|e| Error::internal(format!("inlining CSS of the {report} e-mail: {e}")))?;
    let text = html2text::from_read(html.as_bytes(), 78)
        .map_err(|e| Error::internal(format!("plain-text part of the {report} e-mail: {e}")))?;
    let images: Vec<InlineImage> = std::mem::take(
        &mut *sink
            .lock()
            .map_err(|_| Error::internal("image list poisoned"))?,
    );

    let from: Mailbox = cfg.email.from.parse().map_err(|e| {
        Error::config(format!(
            "journey.toml: [email] from {:?}: {e}",
            cfg.email.from
        ))
    })?;
    let mut builder = Message::builder()
        .from(from)
        .subject(format!("{heading} — {} — {as_of}", cfg.project.title));
    let mut any = false;
    for r in cfg.email.to.iter().chain(recipients) {
        let mb: Mailbox = r.parse().map_err(|e| {
            Error::config(format!(
                "journey.toml: recipient {r:?} of report {report}: {e}"
            ))
        })?;
        builder = builder.to(mb);
        any = true;
    }
    if !any {
        // Written for inspection all the same; `--send` refuses reports without recipients.
        builder = builder.to("undisclosed-recipients@localhost"
            .parse()
            .expect("valid address"));
    }
    let mut related = MultiPart::related().singlepart(SinglePart::html(html.clone()));
    for img in &images {
        let ct = ContentType::parse("image/png").expect("valid content type");
        related = related
            .singlepart(Attachment::new_inline(img.content_id.clone()).body(img.png.clone(), ct));
    }
    let body = MultiPart::alternative()
        .singlepart(SinglePart::plain(text))
        .multipart(related);
    let message = builder
        .multipart(body)
        .map_err(|e| Error::config(format!("building the {report} e-mail: {e}")))?;
    Ok(Email {
        report: report.to_string(),
        message,
        html_bytes: html.len(),
        images: images.len(),
    })
}

/// The inner HTML of the page's `<main>` element (the whole page if it has none).
fn main_content(page: &str) -> String {
    match (page.find("<main>"), page.rfind("</main>")) {
        (Some(a), Some(b)) if a < b => page[a + "<main>".len()..b].to_string(),
        _ => page.to_string(),
    }
}

/// Writes `email/<report>.eml` under `dir`.
pub fn write_eml(dir: &Path, email: &Email) -> Result<()> {
    let folder = dir.join("email");
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let path = folder.join(format!("{}.eml", email.report));
    std::fs::write(&path, email.message.formatted()).map_err(|e| Error::io(&path, e))
}

/// Sends every e-mail that has recipients over SMTP, configured from `JOURNEY_SMTP_*`.
///
/// Errors (exit 5): no host configured, a connection or TLS failure, the server refusing a
/// message; the message names the report and the server, never the password.
pub fn send_all(emails: &[Email]) -> Result<usize> {
    let host = std::env::var("JOURNEY_SMTP_HOST").map_err(|_| {
        Error::new(
            ErrorKind::Delivery,
            "--send: JOURNEY_SMTP_HOST is not set (see the README: e-mail delivery)",
        )
    })?;
    let mode = std::env::var("JOURNEY_SMTP_TLS").unwrap_or_else(|_| "starttls".into());
    let default_port = match mode.as_str() {
        "tls" => 465,
        "none" => 25,
        _ => 587,
    };
    let port: u16 = match std::env::var("JOURNEY_SMTP_PORT") {
        Ok(p) => p.parse().map_err(|_| {
            Error::new(
                ErrorKind::Delivery,
                format!("JOURNEY_SMTP_PORT={p:?} is not a port number"),
            )
        })?,
        Err(_) => default_port,
    };
    let fail = |e: &dyn std::fmt::Display| {
        Error::new(ErrorKind::Delivery, format!("SMTP {host}:{port}: {e}"))
    };
    let mut builder = match mode.as_str() {
        "starttls" => SmtpTransport::starttls_relay(&host).map_err(|e| fail(&e))?,
        "tls" => SmtpTransport::relay(&host).map_err(|e| fail(&e))?,
        "none" => SmtpTransport::builder_dangerous(&host),
        other => {
            return Err(Error::new(
                ErrorKind::Delivery,
                format!("JOURNEY_SMTP_TLS={other:?}: expected starttls, tls or none"),
            ));
        }
    }
    .port(port);
    if let (Ok(user), Ok(password)) = (
        std::env::var("JOURNEY_SMTP_USER"),
        std::env::var("JOURNEY_SMTP_PASSWORD"),
    ) {
        builder = builder.credentials(Credentials::new(user, password));
    }
    let transport = builder.build();
    let mut sent = 0;
    for e in emails {
        let to_nobody = e
            .message
            .envelope()
            .to()
            .iter()
            .all(|a| a.to_string() == "undisclosed-recipients@localhost");
        if to_nobody {
            tracing::warn!(report = %e.report, "no recipients configured; not sent");
            continue;
        }
        transport.send(&e.message).map_err(|err| {
            Error::new(
                ErrorKind::Delivery,
                format!("sending the {} e-mail via {host}:{port}: {err}", e.report),
            )
        })?;
        tracing::info!(report = %e.report, recipients = e.message.envelope().to().len(), "e-mail sent");
        sent += 1;
    }
    Ok(sent)
}
