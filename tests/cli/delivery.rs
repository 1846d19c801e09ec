//! E-mail and delivery: readable PNG charts, the digest, links, Message-ID, idempotent sending.

#[allow(unused_imports)]
use super::*;

/// The tiny fixture with `[email] to` and the reports' `recipients` replaced: `to` is the
/// TOML array text (or None to drop the line), `opt_in` (report, address) pairs.
fn tiny_mail(to: Option<&str>, opt_in: &[(&str, &str)]) -> TempDir {
    let p = tiny();
    let path = p.path().join("journey.toml");
    let mut text = std::fs::read_to_string(&path).unwrap();
    let line = "to = [\"ceo@example.com\"]\n";
    assert!(text.contains(line));
    text = text.replace(line, &to.map(|t| format!("to = {t}\n")).unwrap_or_default());
    for (report, address) in opt_in {
        let head = format!("name = \"{report}\"\n");
        assert!(text.contains(&head), "no report {report}");
        text = text.replace(&head, &format!("{head}recipients = [\"{address}\"]\n"));
    }
    std::fs::write(&path, text).unwrap();
    p
}

/// Why the tests that need a real SMTP server are `#[ignore]`d: libtest cannot skip a test at
/// run time, and a test that returns early when it cannot run is reported as passed.
/// `.ci/run` runs them (`cargo test --release --locked --test cli -- --ignored`) after
/// installing aiosmtpd; without it they fail.
pub(super) const NEEDS_AIOSMTPD: &str =
    "needs aiosmtpd (python3 -m pip install aiosmtpd); run with `--test cli -- --ignored`";

/// A loopback SMTP server (aiosmtpd) that stores what it accepts in `maildir` and answers
/// `550` to RCPT for each address in `refuse`.
///
/// Panics when aiosmtpd is not installed: the tests that call it are ignored unless asked
/// for ([`NEEDS_AIOSMTPD`]), and asked for they must run.
pub(super) fn smtp_refusing(maildir: &Path, refuse: &[&str]) -> (std::process::Child, u16) {
    let has = std::process::Command::new("python3")
        .args(["-c", "import aiosmtpd"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(has, "this test {NEEDS_AIOSMTPD}");
    let module_dir = maildir.with_extension("py");
    std::fs::create_dir_all(&module_dir).unwrap();
    std::fs::write(
        module_dir.join("refusing.py"),
        r#"import mailbox

class Refusing:
    """Stores messages in a Maildir; refuses RCPT TO for the addresses given."""
    def __init__(self, maildir, *refuse):
        self.box = mailbox.Maildir(maildir)
        self.refuse = set(refuse)

    @classmethod
    def from_cli(cls, parser, *args):
        return cls(*args)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return '550 5.1.1 no such user here'
        envelope.rcpt_tos.append(address)
        return '250 OK'

    async def handle_DATA(self, server, session, envelope):
        self.box.add(envelope.original_content)
        return '250 OK'
"#,
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = std::process::Command::new("python3")
        .args(["-m", "aiosmtpd", "-n", "-l", &format!("127.0.0.1:{port}")])
        .args(["-c", "refusing.Refusing"])
        .arg(maildir)
        .args(refuse)
        .env("PYTHONPATH", &module_dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(t0.elapsed().as_secs() < 20, "aiosmtpd did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    (child, port)
}

/// `run` on the tiny project with the SMTP settings of a loopback server on `port`.
fn run_smtp(project: &Path, port: u16, extra: &[&str]) -> Output {
    let mut c = bin();
    c.arg("run")
        .arg("--project")
        .arg(project)
        .args(extra)
        .env("JOURNEY_SMTP_HOST", "127.0.0.1")
        .env("JOURNEY_SMTP_PORT", port.to_string())
        .env("JOURNEY_SMTP_TLS", "none")
        .env("RUST_LOG", "info");
    if !extra.contains(&"--from") {
        c.args(["--as-of", "2026-10-31"]);
    }
    c.output().unwrap()
}

/// Messages in a Maildir: (To address, Subject, Message-ID), sorted. aiosmtpd has written
/// each one before it answers the end of DATA, so nothing is waited for.
fn received(maildir: &Path) -> Vec<(String, String, String)> {
    let mut out: Vec<_> = std::fs::read_dir(maildir.join("new"))
        .map(|r| r.flatten().map(|e| e.path()).collect::<Vec<_>>())
        .unwrap_or_default()
        .iter()
        .map(|f| {
            let raw = std::fs::read(f).unwrap();
            let (msg, _) = mime_parts(&raw);
            let to: Vec<String> = msg
                .to()
                .map(|t| {
                    t.iter()
                        .filter_map(|a| a.address())
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(to.len(), 1, "one recipient per message: {to:?}");
            (
                to[0].clone(),
                msg.subject().unwrap_or_default().to_string(),
                msg.message_id().unwrap_or_default().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

fn stop(mut server: std::process::Child) {
    let _ = server.kill();
    let _ = server.wait();
}

#[test]
#[ignore = "needs aiosmtpd (python3 -m pip install aiosmtpd); run with `--test cli -- --ignored`"]
fn a_retry_after_a_refused_recipient_sends_only_what_was_not_delivered() {
    let mail = TempDir::new().unwrap();
    // The digest to ceo and cfo, and the funnel page to cfo (opted in): 3 messages.
    let p = tiny_mail(
        Some(r#"["ceo@example.com", "cfo@example.com"]"#),
        &[("funnel", "cfo@example.com")],
    );
    // First night: the server refuses cfo (550): the digest to ceo goes out; both messages
    // to cfo are refused; exit 5 naming them.
    let first = mail.path().join("first");
    let (server, port) = smtp_refusing(&first, &["cfo@example.com"]);
    let o = run_smtp(p.path(), port, &["--send"]);
    stop(server);
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("2 e-mails refused")
            && err.contains("cfo@example.com")
            && err.contains("a retry sends only the others"),
        "{err}"
    );
    let got = received(&first);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "ceo@example.com");
    let record = p.path().join("reports/.delivery/2026-10-31.json");
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(rec["sent"].as_array().unwrap().len(), 1, "{rec}");
    assert_eq!(rec["sent"][0]["report"], "index");
    assert_eq!(rec["sent"][0]["to"], "ceo@example.com");
    assert_eq!(
        rec["sent"][0]["message_id"],
        format!("<{}>", got[0].2).as_str()
    );
    // The retry (a server that accepts everyone): only the two messages to cfo.
    let second = mail.path().join("second");
    let (server, port) = smtp_refusing(&second, &[]);
    let o = run_smtp(p.path(), port, &["--send"]);
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("2 e-mails sent"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let got2 = received(&second);
    let whom: Vec<&str> = got2.iter().map(|m| m.0.as_str()).collect();
    assert_eq!(whom, vec!["cfo@example.com", "cfo@example.com"]);
    let subjects: Vec<&str> = got2.iter().map(|m| m.1.as_str()).collect();
    assert!(
        subjects
            .iter()
            .any(|s| s.starts_with("Funnel — Tiny fixture — 2026-10-31"))
            && subjects
                .iter()
                .any(|s| s.starts_with("Tiny fixture — 2026-10-31: revenue")),
        "{subjects:?}"
    );
    // A third run of the same night sends nothing more, and says so.
    let o = run_smtp(p.path(), port, &["--send"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stdout).contains("0 e-mails sent"));
    assert_eq!(received(&second).len(), 2);
    let rec: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(rec["sent"].as_array().unwrap().len(), 3, "{rec}");
    stop(server);
}

#[test]
#[ignore = "needs aiosmtpd (python3 -m pip install aiosmtpd); run with `--test cli -- --ignored`"]
fn one_digest_per_recipient_with_the_headline_number_in_the_subject() {
    let mail = TempDir::new().unwrap();
    let maildir = mail.path().join("Maildir");
    let (server, port) = smtp_refusing(&maildir, &[]);
    let p = tiny_mail(Some(r#"["ceo@example.com", "coo@example.com"]"#), &[]);
    let o = run_smtp(p.path(), port, &["--send"]);
    stop(server);
    ok(&o);
    // Two digests, no page e-mails (nobody opted in). Revenue of the tiny fixture: 140 EUR
    // in the period, 50 EUR in the previous one (see tiny_project_rfm_heatmap_and_kpis_by_hand):
    // 140 / 50 − 1 = +180.0%.
    let got = received(&maildir);
    assert_eq!(got.len(), 2, "{got:?}");
    for (to, subject, id) in &got {
        assert_eq!(
            subject, "Tiny fixture — 2026-10-31: revenue 140 EUR (+180.0%)",
            "{to}"
        );
        assert!(
            id.starts_with("jr-") && id.ends_with("@example.com"),
            "{id}"
        );
    }
    assert_ne!(
        got[0].2, got[1].2,
        "each recipient's copy has its own Message-ID"
    );
}

#[test]
#[ignore = "needs aiosmtpd (python3 -m pip install aiosmtpd); run with `--test cli -- --ignored`"]
fn a_backfill_sends_only_its_last_day_unless_asked() {
    let mail = TempDir::new().unwrap();
    let maildir = mail.path().join("Maildir");
    let (server, port) = smtp_refusing(&maildir, &[]);
    let p = tiny();
    let range = ["--from", "2026-10-29", "--to", "2026-10-31"];
    let o = run_smtp(p.path(), port, &[&range[..], &["--send"]].concat());
    ok(&o);
    // Three folders written, one digest sent: the last day's.
    for d in ["2026-10-29", "2026-10-30", "2026-10-31"] {
        assert!(
            p.path()
                .join("reports")
                .join(d)
                .join("index.html")
                .is_file()
        );
    }
    let got = received(&maildir);
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(
        got[0].1.starts_with("Tiny fixture — 2026-10-31:"),
        "{got:?}"
    );
    // --send-backfill sends every day; 10-31 is in the delivery record already, so only the
    // two earlier days go out.
    let o = run_smtp(
        p.path(),
        port,
        &[&range[..], &["--send", "--send-backfill"]].concat(),
    );
    stop(server);
    ok(&o);
    let days: Vec<String> = received(&maildir)
        .iter()
        .map(|m| m.1.split(" — ").nth(1).unwrap()[..10].to_string())
        .collect();
    let mut days = days;
    days.sort();
    assert_eq!(days, vec!["2026-10-29", "2026-10-30", "2026-10-31"]);
}

#[test]
fn send_with_no_recipients_is_a_config_error_before_anything_runs() {
    let p = tiny_mail(None, &[]);
    let o = bin()
        .args(["run", "--send", "--as-of", "2026-10-31", "--project"])
        .arg(p.path())
        .env("JOURNEY_SMTP_HOST", "127.0.0.1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("no recipients"), "{}", stderr(&o));
    assert!(!report_dir(p.path()).exists(), "the run went on");
}

#[test]
#[ignore = "needs aiosmtpd (python3 -m pip install aiosmtpd); run with `--test cli -- --ignored`"]
fn send_to_sends_exactly_one_test_message_and_keeps_no_record() {
    let mail = TempDir::new().unwrap();
    let maildir = mail.path().join("Maildir");
    let (server, port) = smtp_refusing(&maildir, &[]);
    // ceo gets the digest and cfo the funnel page on --send; --send-to mails neither.
    let p = tiny_mail(
        Some(r#"["ceo@example.com"]"#),
        &[("funnel", "cfo@example.com")],
    );
    let o = run_smtp(p.path(), port, &["--send-to", "me@example.org"]);
    stop(server);
    ok(&o);
    let got = received(&maildir);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, "me@example.org");
    assert!(got[0].1.starts_with("Tiny fixture — 2026-10-31: revenue"));
    assert!(!p.path().join("reports/.delivery").exists());
}

#[test]
fn a_silent_smtp_server_times_out_with_exit_5() {
    // A server that accepts connections and never says a word.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for s in listener.incoming() {
            held.push(s);
        }
    });
    let p = tiny();
    let o = bin()
        .args(["run", "--send", "--as-of", "2026-10-31", "--project"])
        .arg(p.path())
        .env("JOURNEY_SMTP_HOST", "127.0.0.1")
        .env("JOURNEY_SMTP_PORT", port.to_string())
        .env("JOURNEY_SMTP_TLS", "none")
        .env("JOURNEY_SMTP_TIMEOUT", "1")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(5), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("sending the digest to ceo@example.com via 127.0.0.1"),
        "{}",
        stderr(&o)
    );
    assert!(!p.path().join("reports/.delivery/2026-10-31.json").exists());
}

/// The pages of the tiny fixture.
const PAGES: [&str; 7] = [
    "funnel",
    "paths",
    "attribution",
    "rfm",
    "heatmap",
    "channels",
    "clv",
];

/// Every `href` and `src` of an HTML part, and the widths it declares (`width="…"`
/// attributes and `width:…px` styles).
fn links_and_widths(html: &str) -> (Vec<String>, Vec<u32>) {
    let mut links = Vec::new();
    for attr in ["href=\"", "src=\""] {
        for piece in html.split(attr).skip(1) {
            links.push(piece.split('"').next().unwrap().to_string());
        }
    }
    let mut widths = Vec::new();
    for piece in html.split("width=\"").skip(1) {
        if let Ok(w) = piece.split('"').next().unwrap().parse() {
            widths.push(w);
        }
    }
    for piece in html.split("width:").skip(1) {
        let v = piece.trim_start();
        if let Some(px) = v.split("px").next().and_then(|n| n.parse().ok()) {
            widths.push(px);
        }
    }
    (links, widths)
}

#[test]
fn emails_link_absolutely_carry_a_message_id_and_fit_600_px() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let base = "https://reports.example.com/journeys/2026-10-31/";
    let mut ids = BTreeMap::new();
    for report in std::iter::once("index").chain(PAGES) {
        let raw = std::fs::read(report_dir(p.path()).join(format!("email/{report}.eml"))).unwrap();
        let (msg, parts) = mime_parts(&raw);
        let id = msg
            .message_id()
            .unwrap_or_else(|| panic!("{report}: no Message-ID"));
        assert!(
            id.starts_with("jr-") && id.ends_with("@example.com"),
            "{id}"
        );
        ids.insert(report, id.to_string());
        let html = msg.body_html(0).unwrap().to_string();
        let (links, widths) = links_and_widths(&html);
        for l in &links {
            assert!(
                l.starts_with(base) || l.starts_with("cid:"),
                "{report}: link {l:?} does not reach the recipient"
            );
        }
        // The digest links every page of the report.
        if report == "index" {
            for page in PAGES {
                assert!(
                    links.contains(&format!("{base}{page}.html")),
                    "no link to {page}"
                );
            }
        }
        // data/… files are named only in links to the published folder.
        for (i, _) in html.match_indices("data/") {
            let before = &html[..i];
            let in_link = match (before.rfind("<a "), before.rfind("</a>")) {
                (Some(open), close) if close.is_none_or(|c| c < open) => {
                    before[open..].contains(&format!("href=\"{base}data/"))
                }
                _ => false,
            };
            assert!(
                before.ends_with("2026-10-31/") || in_link,
                "{report}: {:?}",
                &html[i.saturating_sub(80)..(i + 40).min(html.len())]
            );
        }
        let widest = widths.iter().max().copied().unwrap_or(0);
        assert!(widest <= 600, "{report}: declares {widest} px: {widths:?}");
        for (ct, _, bytes) in &parts {
            if ct == "image/png" {
                let r = png::Decoder::new(std::io::Cursor::new(bytes))
                    .read_info()
                    .unwrap();
                assert!(
                    r.info().width <= 560,
                    "{report}: a {} px image",
                    r.info().width
                );
            }
        }
    }
    // The same run again gives the same Message-IDs (a resend is recognisable).
    ok(&run(p.path(), &[]));
    for (report, id) in &ids {
        let raw = std::fs::read(report_dir(p.path()).join(format!("email/{report}.eml"))).unwrap();
        let (msg, _) = mime_parts(&raw);
        assert_eq!(msg.message_id(), Some(id.as_str()), "{report}");
    }
}

#[test]
fn without_base_url_emails_carry_no_links_they_cannot_keep() {
    let p = tiny();
    let path = p.path().join("journey.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text.replace("base_url = \"https://reports.example.com/journeys\"\n", "");
    std::fs::write(&path, text).unwrap();
    ok(&run(p.path(), &[]));
    for report in ["index", "funnel", "clv", "attribution"] {
        let raw = std::fs::read(report_dir(p.path()).join(format!("email/{report}.eml"))).unwrap();
        let (msg, _) = mime_parts(&raw);
        let html = msg.body_html(0).unwrap().to_string();
        let (links, _) = links_and_widths(&html);
        assert!(
            links.iter().all(|l| l.starts_with("cid:")),
            "{report}: {links:?}"
        );
        let text = msg.body_text(0).unwrap().to_string();
        assert!(
            !html.contains("data/") && !text.contains("data/"),
            "{report}"
        );
    }
}
