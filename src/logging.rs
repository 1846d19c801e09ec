//! Logs a scheduler can use: on stderr, human lines or one JSON object per line
//! (`--log-format json`), colour only when stderr is a terminal, numbers as numbers, the
//! final error in the same format as the rest, and one final status event per command.

use std::io::IsTerminal;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

/// The target of the final status event and of the final error: always written, whatever
/// `RUST_LOG` says, so that a scheduler's log always ends with the outcome.
const STATUS_TARGET: &str = "journey_report::status";

/// Whether [`init`] chose JSON lines.
static JSON: AtomicBool = AtomicBool::new(false);

/// Installs the global subscriber: stderr, `RUST_LOG` (default `journey_report=info,warn`)
/// plus [`STATUS_TARGET`] at info, human lines or JSON objects. ANSI colour codes only when
/// stderr is a terminal and `NO_COLOR` is unset or empty (<https://no-color.org>): under
/// cron, systemd or Airflow stderr is a file or a pipe, and escape codes there are noise.
pub(crate) fn init(json: bool) {
    JSON.store(json, Ordering::Relaxed);
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("journey_report=info,warn"));
    let filter = match format!("{STATUS_TARGET}=info").parse() {
        Ok(d) => filter.add_directive(d),
        Err(_) => filter,
    };
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!json && !no_color && std::io::stderr().is_terminal())
        .with_target(false);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}

/// Seconds of `d` as a number rounded to hundredths, for a log field (a JSON number, not a
/// string).
pub(crate) fn secs(d: std::time::Duration) -> f64 {
    round2(d.as_secs_f64())
}

/// `x` rounded to two decimals (for seconds in log fields).
pub(crate) fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
}

/// Writes a final error: `journey-report: error: <message>` in human mode (continuation
/// lines indented), an ERROR event with `exit_code` under `--log-format json`.
pub(crate) fn error(message: &str, exit_code: u8) {
    if JSON.load(Ordering::Relaxed) {
        tracing::error!(target: STATUS_TARGET, exit_code, "{message}");
    } else {
        eprintln!("journey-report: error: {}", message.replace('\n', "\n  "));
    }
}

/// Writes a closing notice (e.g. "stopped by a signal; …"): `journey-report: <message>` in
/// human mode, a WARN event under `--log-format json`.
pub(crate) fn notice(message: &str) {
    if JSON.load(Ordering::Relaxed) {
        tracing::warn!(target: STATUS_TARGET, "{message}");
    } else {
        eprintln!("journey-report: {message}");
    }
}

/// The final status event of every command, the last line on stderr:
/// `event="finished" status=<complete|partial|failed|stopped> exit_code=N seconds=S` and
/// `folder=<report folder>` when one was written (the last one put in place for a backfill or
/// a stopped run).
pub(crate) fn finished(status: &str, exit_code: u8, seconds: f64, folder: Option<&Path>) {
    let seconds = round2(seconds);
    match folder {
        Some(f) => tracing::info!(
            target: STATUS_TARGET,
            event = "finished",
            status,
            exit_code,
            seconds,
            folder = %f.display(),
            "finished"
        ),
        None => tracing::info!(
            target: STATUS_TARGET,
            event = "finished",
            status,
            exit_code,
            seconds,
            "finished"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_rounded_numbers() {
        assert_eq!(round2(1.23456), 1.23);
        assert_eq!(secs(std::time::Duration::from_millis(2346)), 2.35);
    }
}
