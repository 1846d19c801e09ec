//! The e-mail form of the reports.
//!
//! Each page is rendered a second time with the chart functions in PNG mode (Gmail and
//! Outlook show neither inline SVG nor data-URI images): its `<main>` content goes into the
//! table-layout skeleton `templates/email.html` (600 px wide), relative links are made
//! absolute under `[email] base_url` (or unwrapped without it), the CSS is inlined with
//! css-inline, a plain-text part is derived with html2text, and lettre builds
//! `multipart/alternative` (text, then `multipart/related` HTML + PNG parts by Content-ID).
//! Each form is written to `email/<report>.eml`. The executive summary's form is the
//! digest, sent to `[email] to`; a page's form goes only to the addresses that opted in
//! with the report's `recipients`. Sending is [`crate::report::delivery`].

use std::path::Path;

use journey_charts::{ImageSink, InlineImage, format_number};
use lettre::Message;
use lettre::message::header::ContentType;
use lettre::message::{Attachment, Mailbox, MultiPart, SinglePart};

use crate::error::{Error, ErrorKind, Result};
use crate::project::Config;

/// Width of the e-mail body in pixels; charts are laid out 40 px narrower.
pub(crate) const EMAIL_WIDTH: u32 = 600;

/// Gmail clips messages whose HTML passes about 102 KB; we warn above this many bytes.
pub(crate) const HTML_BUDGET: usize = 80 * 1024;

/// One rendered e-mail: the e-mail form of one page, and who receives it.
#[derive(Debug, Clone)]
pub(crate) struct Email {
    /// The report's name (`index` for the digest, the executive summary).
    pub(crate) report: String,
    /// Its recipients: `[email] to` for the digest, the report's `recipients` for a page.
    pub(crate) recipients: Vec<Mailbox>,
    /// The message as written to `email/<report>.eml`: addressed to every recipient (or to
    /// `undisclosed-recipients@localhost` when there is none), with the Message-ID of
    /// [`message_id`] for the recipient list. Delivery sends each recipient a copy of its
    /// own (see [`Email::message_for`]).
    pub(crate) message: Message,
    /// Size of the HTML part in bytes (after CSS inlining).
    pub(crate) html_bytes: usize,
    /// Inline images.
    pub(crate) images: usize,
    /// The logical date, `YYYY-MM-DD`.
    pub(crate) as_of: String,
    project: String,
    from: Mailbox,
    subject: String,
    body: MultiPart,
}

impl Email {
    /// The copy of this e-mail for one recipient: `To:` that address alone and the
    /// Message-ID [`message_id`] of (project, as-of, report, address), so a resend of the same
    /// message carries the same ID.
    ///
    /// Errors (exit 5): lettre refuses the message.
    pub(crate) fn message_for(&self, to: &Mailbox) -> Result<Message> {
        Message::builder()
            .from(self.from.clone())
            .to(to.clone())
            .subject(self.subject.clone())
            .message_id(Some(self.message_id_for(to.email.as_ref())))
            .multipart(self.body.clone())
            .map_err(|e| {
                Error::new(
                    ErrorKind::Delivery,
                    format!("building the {} e-mail to {to}: {e}", self.report),
                )
            })
    }

    /// The Message-ID of this e-mail's copy for `address` (see [`message_id`]).
    pub(crate) fn message_id_for(&self, address: &str) -> String {
        message_id(
            &self.project,
            &self.as_of,
            &self.report,
            address,
            self.from.email.domain(),
        )
    }
}

/// A stable Message-ID for one message: `<jr-` + the first 32 hex digits of SHA-256 over
/// project title, as-of date, report and recipient address (separated by NUL) + `@` + the
/// sender's domain `>`. The same message sent again (a retry) has the same ID, so mail
/// clients and servers can recognise the duplicate.
pub(crate) fn message_id(
    project: &str,
    as_of: &str,
    report: &str,
    recipient: &str,
    domain: &str,
) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    for part in [project, as_of, report, &recipient.to_ascii_lowercase()] {
        h.update(part.as_bytes());
        h.update([0u8]);
    }
    let hex = hex::encode(h.finalize());
    format!("<jr-{}@{domain}>", &hex[..32])
}

/// Where the report folder of `as_of` is published, `<base_url>/<as-of>`, when `[email]
/// base_url` is set: the e-mails' links point there.
pub(crate) fn report_url(cfg: &Config, as_of: &str) -> Option<String> {
    cfg.email
        .base_url
        .as_ref()
        .map(|b| format!("{}/{as_of}", b.trim_end_matches('/')))
}

/// The headline of the digest's subject from the `kpis` model the executive summary shows:
/// the `revenue` row (or the first row), formatted as on the page, with its change, e.g.
/// `revenue 131,477 EUR (−3.2%)`. None without a `kpis` model or rows.
pub(crate) fn headline(context: &tera::Context, currency: &str) -> Option<String> {
    let rows = context.get("models")?.get("kpis")?.as_array()?;
    let row = rows
        .iter()
        .find(|r| r.get("metric").and_then(|m| m.as_str()) == Some("revenue"))
        .or_else(|| rows.first())?;
    let value = row.get("value")?.as_f64()?;
    let label = row
        .get("label")
        .and_then(|l| l.as_str())
        .or_else(|| row.get("metric").and_then(|m| m.as_str()))?
        .to_lowercase();
    let shown = match row.get("format").and_then(|f| f.as_str()) {
        Some("money") => format!("{} {currency}", format_number(value, 0)),
        Some("pct") => format!("{}%", format_number(value * 100.0, 1)),
        _ => format_number(value, 0),
    };
    let change = match row.get("change").and_then(|c| c.as_f64()) {
        Some(c) => {
            let pct = format_number(c.abs() * 100.0, 1);
            let sign = if c > 0.0 {
                "+"
            } else if c < 0.0 {
                "−"
            } else {
                ""
            };
            format!(" ({sign}{pct}%)")
        }
        None => String::new(),
    };
    Some(format!("{label} {shown}{change}"))
}

/// Renders the e-mail form of one page: `tera` must come from
/// [`crate::report::pages::build_email_tera`] with `sink`; `page_html` is that page rendered by it.
/// The page `index` becomes the digest: the executive summary with a link to every page,
/// the headline number in the subject ([`headline`]), addressed to `[email] to`; any other
/// page is addressed to its `recipients` (the opt-in). Relative links become absolute under
/// [`report_url`], or plain text without `base_url` (a recipient cannot follow them).
///
/// Errors: exit 2 for a bad address in `[email]` or `recipients`, a template error; exit 1
/// for an inlining failure.
#[allow(clippy::too_many_arguments)]
pub(crate) fn build_email(
    cfg: &Config,
    as_of: chrono::NaiveDate,
    tera: &tera::Tera,
    context: &tera::Context,
    report: &str,
    heading: &str,
    recipients: &[String],
    page_html: &str,
    sink: &ImageSink,
) -> Result<Email> {
    let content = main_content(page_html);
    let as_of = as_of.to_string();
    let folder_url = report_url(cfg, &as_of);
    let link = folder_url.as_ref().map(|u| format!("{u}/{report}.html"));
    let digest = report == "index";
    let mut c = context.clone();
    c.insert("content", &content);
    c.insert("heading", heading);
    c.insert("link", &link);
    c.insert("digest", &digest);
    let skeleton = crate::report::pages::render(tera, "email.html", &c)?;
    let skeleton = absolute_links(&skeleton, folder_url.as_deref());
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
    let title = &cfg.project.title;
    let subject = if digest {
        match headline(context, &cfg.project.currency) {
            Some(h) => format!("{title} — {as_of}: {h}"),
            None => format!("{title} — {as_of}: {heading}"),
        }
    } else {
        format!("{heading} — {title} — {as_of}")
    };
    let (addresses, whose) = if digest {
        (&cfg.email.to[..], "[email] to".to_string())
    } else {
        (recipients, format!("recipients of report {report}"))
    };
    let mut mailboxes = Vec::new();
    for r in addresses {
        let mb: Mailbox = r
            .parse()
            .map_err(|e| Error::config(format!("journey.toml: {whose}: {r:?}: {e}")))?;
        if !mailboxes.iter().any(|m: &Mailbox| m.email == mb.email) {
            mailboxes.push(mb);
        }
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
    let all: Vec<String> = mailboxes.iter().map(|m| m.email.to_string()).collect();
    let mut builder = Message::builder()
        .from(from.clone())
        .subject(subject.clone())
        .message_id(Some(message_id(
            title,
            &as_of,
            report,
            &all.join(","),
            from.email.domain(),
        )));
    if mailboxes.is_empty() {
        // Written for inspection all the same; delivery sends nothing to nobody.
        builder = builder.to("undisclosed-recipients@localhost"
            .parse()
            .expect("valid address"));
    }
    for mb in &mailboxes {
        builder = builder.to(mb.clone());
    }
    let message = builder
        .multipart(body.clone())
        .map_err(|e| Error::config(format!("building the {report} e-mail: {e}")))?;
    Ok(Email {
        report: report.to_string(),
        recipients: mailboxes,
        message,
        html_bytes: html.len(),
        images: images.len(),
        as_of,
        project: title.clone(),
        from,
        subject,
        body,
    })
}

/// Whether `href` is relative to the report folder (no scheme, not a fragment, not rooted).
fn is_relative(href: &str) -> bool {
    let scheme = href.split_once(':').is_some_and(|(s, _)| {
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
    });
    !(scheme || href.starts_with('#') || href.starts_with('/') || href.is_empty())
}

/// `html` with every relative link (`href="funnel.html"`, `href="data/x.csv"`) made absolute
/// under `base` (`<base_url>/<as-of>`); without a base, such links are unwrapped to their
/// text, since a recipient could not follow them. Links with a scheme (`https:`, `mailto:`)
/// or a fragment are kept as they are.
fn absolute_links(html: &str, base: Option<&str>) -> String {
    let mut out = String::with_capacity(html.len() + 256);
    let mut rest = html;
    while let Some(i) = rest.find("<a ") {
        let Some(end) = rest[i..].find('>').map(|e| i + e + 1) else {
            break;
        };
        let tag = &rest[i..end];
        let href = tag
            .find("href=\"")
            .map(|h| h + "href=\"".len())
            .and_then(|a| tag[a..].find('"').map(|b| (a, a + b)));
        out.push_str(&rest[..i]);
        match href {
            Some((a, b)) if is_relative(&tag[a..b]) => match base {
                Some(base) => {
                    out.push_str(&tag[..a]);
                    out.push_str(base.trim_end_matches('/'));
                    out.push('/');
                    out.push_str(tag[a..b].trim_start_matches("./"));
                    out.push_str(&tag[b..]);
                    rest = &rest[end..];
                }
                None => {
                    // Drop the tag and its closing </a>, keep the text between.
                    let after = &rest[end..];
                    match after.find("</a>") {
                        Some(close) => {
                            out.push_str(&after[..close]);
                            rest = &after[close + "</a>".len()..];
                        }
                        None => rest = after,
                    }
                }
            },
            _ => {
                out.push_str(tag);
                rest = &rest[end..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The inner HTML of the page's `<main>` element (the whole page if it has none).
fn main_content(page: &str) -> String {
    match (page.find("<main>"), page.rfind("</main>")) {
        (Some(a), Some(b)) if a < b => page[a + "<main>".len()..b].to_string(),
        _ => page.to_string(),
    }
}

/// Every address of `[email]` (`from`, `to`) and of the reports' `recipients` that is not an
/// e-mail address: what building the e-mails would fail on after every model ran. `check`
/// lists them and `run` stops on the first before any model runs.
///
/// Errors: none; each bad address is one config error (exit 2) in the list.
pub(crate) fn check_addresses(cfg: &Config) -> Vec<Error> {
    let mut problems = Vec::new();
    let mut check = |whose: String, addr: &str| {
        if let Err(e) = addr.parse::<Mailbox>() {
            problems.push(Error::config(format!(
                "journey.toml: {whose}: {addr:?}: {e}"
            )));
        }
    };
    check("[email] from".into(), &cfg.email.from);
    for a in &cfg.email.to {
        check("[email] to".into(), a);
    }
    for r in &cfg.reports {
        for a in &r.recipients {
            check(format!("recipients of report {}", r.name), a);
        }
    }
    problems
}

/// Writes `email/<report>.eml` under `dir`.
pub(crate) fn write_eml(dir: &Path, email: &Email) -> Result<()> {
    let folder = dir.join("email");
    std::fs::create_dir_all(&folder).map_err(|e| Error::io(&folder, e))?;
    let path = folder.join(format!("{}.eml", email.report));
    std::fs::write(&path, email.message.formatted()).map_err(|e| Error::io(&path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_links_become_absolute_or_plain_text() {
        let html = r##"<h2><a href="funnel.html">Funnel</a></h2> <a href="data/x.csv"><code>data/x.csv</code></a> <a href="https://a.example/b">b</a> <a href="mailto:x@y.z">m</a> <a href="#top">t</a> <img src="cid:chart-1@journey-report">"##;
        let base = "https://r.example/j/2026-10-31";
        let abs = absolute_links(html, Some(base));
        assert_eq!(
            abs,
            r##"<h2><a href="https://r.example/j/2026-10-31/funnel.html">Funnel</a></h2> <a href="https://r.example/j/2026-10-31/data/x.csv"><code>data/x.csv</code></a> <a href="https://a.example/b">b</a> <a href="mailto:x@y.z">m</a> <a href="#top">t</a> <img src="cid:chart-1@journey-report">"##
        );
        let plain = absolute_links(html, None);
        assert_eq!(
            plain,
            r##"<h2>Funnel</h2> <code>data/x.csv</code> <a href="https://a.example/b">b</a> <a href="mailto:x@y.z">m</a> <a href="#top">t</a> <img src="cid:chart-1@journey-report">"##
        );
    }

    #[test]
    fn message_ids_are_stable_and_differ_per_recipient() {
        let a = message_id(
            "Acme",
            "2026-10-31",
            "index",
            "ceo@acme.example",
            "acme.example",
        );
        assert_eq!(
            a,
            message_id(
                "Acme",
                "2026-10-31",
                "index",
                "CEO@acme.example",
                "acme.example"
            )
        );
        assert!(a.starts_with("<jr-") && a.ends_with("@acme.example>") && a.len() == 4 + 32 + 14);
        for other in [
            message_id(
                "Acme",
                "2026-10-31",
                "index",
                "cfo@acme.example",
                "acme.example",
            ),
            message_id(
                "Acme",
                "2026-10-30",
                "index",
                "ceo@acme.example",
                "acme.example",
            ),
            message_id(
                "Acme",
                "2026-10-31",
                "funnel",
                "ceo@acme.example",
                "acme.example",
            ),
            message_id(
                "Other",
                "2026-10-31",
                "index",
                "ceo@acme.example",
                "acme.example",
            ),
        ] {
            assert_ne!(a, other);
        }
    }

    #[test]
    fn headline_is_revenue_with_its_change() {
        let mut c = tera::Context::new();
        c.insert(
            "models",
            &serde_json::json!({"kpis": [
                {"metric": "orders", "label": "Orders", "value": 533.0, "change": 0.113, "format": "int"},
                {"metric": "revenue", "label": "Revenue", "value": 131477.4, "change": -0.0321, "format": "money"},
            ]}),
        );
        // 131,477.4 rounds to 131,477; −0.0321 is −3.2%.
        assert_eq!(
            headline(&c, "EUR").as_deref(),
            Some("revenue 131,477 EUR (−3.2%)")
        );
        assert_eq!(headline(&tera::Context::new(), "EUR"), None);
    }
}
