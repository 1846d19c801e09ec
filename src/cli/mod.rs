//! The command line: `run`, `check`, `query`, `sample`. Exit codes are documented in the
//! README and in [`crate::error`].

mod check;
mod prepare;
mod query;
mod run;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::cli::prepare::ProjectArgs;
use crate::cli::run::{RunArgs, RunStatus};
use crate::engine::session::SessionOptions;
use crate::error::{Error, Result};
use crate::logging;
use crate::sample::{SampleFormat, SampleOptions};

const AFTER_HELP: &str = "\
Exit codes: 0 success; 1 internal error; 2 usage or configuration error (also: another run holds
the output folder's lock); 3 invalid or stale input data; 4 a SQL model failed; 5 delivery
failed; 6 report written but some analyses unavailable (partial);
143 / 130 stopped by SIGTERM / Ctrl-C (no folder written or replaced). Never 99. Logs go to
stderr (RUST_LOG=debug for more, --log-format json), colour only on a terminal; the last one is
the final status event (event=\"finished\" status=… exit_code=…); the one summary line goes
to stdout.";

/// Customer-journey analytics reports from CRM, event and order exports.
///
/// A project is a folder with journey.toml (sources, parameters, funnel stages, reports),
/// sql/ (one query per file; the file stem names its result) and templates/ (Tera pages that
/// override the bundled ones). `run` loads the exports into Apache DataFusion, runs every SQL
/// model in dependency order and writes reports/<as-of>/ with index.html, one page per report,
/// data/<model>.csv and manifest.json.
#[derive(Debug, Parser)]
#[command(name = "journey-report", version, after_help = AFTER_HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr: `human` lines, or `json` (one object per line, for log shippers;
    /// the final error and the final status event too, numbers as JSON numbers).
    #[arg(long, global = true, value_enum, default_value = "human")]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The nightly job: run every model and write the report folder for one date.
    ///
    /// Writes <out>/<as-of>/ (default reports/<as-of>/ in the project): index.html (the
    /// executive summary), one page per report, data/<model>.csv for every model and
    /// manifest.json. The folder is built aside and renamed into place: a failed run leaves
    /// the previous folder untouched and no half-written one. Example (Airflow passes its
    /// logical date): journey-report run --project /srv/journeys --as-of {{ ds }}
    Run(RunCmd),
    /// Validate a project without running it: config, sources against the input contract,
    /// funnel stages against the events, every SQL model planned, every template parsed.
    /// Lists every problem, not only the first; exits with the code of the first.
    Check(ProjectOpts),
    /// Run one ad-hoc SQL query over the same sources and models, e.g.
    /// journey-report query "SELECT channel, count(*) FROM stg_sessions GROUP BY 1"
    Query(QueryCmd),
    /// Write synthetic exports in the input contract (customers.csv, events.csv or
    /// events.parquet, transactions.csv), deterministic for a seed, at any size.
    Sample(SampleCmd),
}

/// Options shared by run, check and query.
#[derive(Debug, Args)]
struct ProjectOpts {
    /// The project folder (holds journey.toml, sql/, templates/).
    #[arg(long, short = 'p', default_value = ".", value_name = "DIR")]
    project: PathBuf,
    /// The logical date of the report (the last day of data it covers); default: yesterday
    /// in the report time zone.
    #[arg(long, value_name = "YYYY-MM-DD")]
    as_of: Option<NaiveDate>,
    /// Point a declared source at other files without editing the project (a day's drop, a
    /// backfill, benchmark data): file, glob or folder. Repeatable.
    #[arg(long = "source", value_name = "NAME=PATH", value_parser = parse_key_value)]
    sources: Vec<(String, String)>,
    /// Override a [params] value of journey.toml, typed like the declared one, e.g.
    /// --param lookback_days=14. Repeatable.
    #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_key_value)]
    params: Vec<(String, String)>,
    /// The forget list (right to erasure) instead of [privacy] forget: customer ids and
    /// e-mail addresses, one a line, whose rows leave every source.
    #[arg(long, value_name = "FILE")]
    forget: Option<PathBuf>,
    /// Memory budget of the run (e.g. 4GiB, 512MiB), so peak RSS stays under it. When 4 ×
    /// the inputs fit in it the run is planned as without a limit, with 82.5% as a spilling
    /// pool shared by the query operators and the staging models held in memory; otherwise
    /// out of core: 70% for the operators, which spill to disk beyond it, an eighth for the
    /// staging models held in memory (the others go to Parquet work files), one model at a
    /// time.
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    memory_limit: Option<usize>,
    /// With --memory-limit: plan out of core even when the inputs look small enough to fit
    /// (for models that grow far beyond their inputs).
    #[arg(long, requires = "memory_limit")]
    out_of_core: bool,
    /// Folder for spill files (with --memory-limit); default: the system temp folder.
    #[arg(long, value_name = "DIR")]
    spill_dir: Option<PathBuf>,
    /// Profiling: write each model's executed plan with per-operator rows, time and memory
    /// (as EXPLAIN ANALYZE shows them) to DIR/<model>.txt.
    #[arg(long, value_name = "DIR")]
    profile_dir: Option<PathBuf>,
    /// Models run at once, each as soon as the models it reads are done (default 2, or 1
    /// with --memory-limit); 1 runs them one after another.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    jobs: Option<u16>,
}

#[derive(Debug, Args)]
struct RunCmd {
    #[command(flatten)]
    project: ProjectOpts,
    /// Parent folder of the report folder; the report goes to <out>/<as-of>/. Default: the
    /// project's output_dir (reports/).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Render only this report (repeatable); the executive summary is always written.
    #[arg(long = "report", value_name = "NAME")]
    reports: Vec<String>,
    /// Backfill: write one report folder per day from this date (with --to; not with --as-of).
    #[arg(
        long,
        value_name = "YYYY-MM-DD",
        requires = "to",
        conflicts_with = "as_of"
    )]
    from: Option<NaiveDate>,
    /// Last day of a backfill (inclusive).
    #[arg(long, value_name = "YYYY-MM-DD", requires = "from")]
    to: Option<NaiveDate>,
    /// After the folder is written, e-mail the digest to [email] to and each page to the
    /// addresses in its report's recipients, over SMTP (JOURNEY_SMTP_HOST, JOURNEY_SMTP_PORT,
    /// JOURNEY_SMTP_TLS, JOURNEY_SMTP_USER, JOURNEY_SMTP_PASSWORD, JOURNEY_SMTP_TIMEOUT).
    /// Each message goes out once: <out>/.delivery/<as-of>.json records what was delivered
    /// and a retry sends only the rest. Nothing is sent if a model failed or the inputs are
    /// stale; no recipients configured is an error (exit 2). In a backfill only the last
    /// day (--to) is sent, unless --send-backfill.
    #[arg(long)]
    send: bool,
    /// Fail the run (exit 4) when a model fails on the data, instead of marking the analyses
    /// that read it unavailable and exiting 6 with the rest of the report written.
    #[arg(long)]
    fail_fast: bool,
    /// With --from/--to and --send: send every day of the backfill, not only the last.
    #[arg(long, requires_all = ["send", "from"])]
    send_backfill: bool,
    /// Send a test: the digest alone, to this one address (the configured recipients get
    /// nothing; no delivery record is read or written).
    #[arg(long, value_name = "ADDRESS", conflicts_with = "send")]
    send_to: Option<String>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum QueryFormat {
    /// An aligned text table.
    Table,
    /// CSV with a header row.
    Csv,
}

#[derive(Debug, Args)]
struct QueryCmd {
    #[command(flatten)]
    project: ProjectOpts,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: QueryFormat,
    /// One SQL statement; sources, models and `$parameters` are available.
    sql: String,
}

#[derive(Debug, Args)]
struct SampleCmd {
    /// Number of event rows to write (duplicates included).
    #[arg(long, default_value_t = 80_000)]
    events: u64,
    /// Random seed: the same seed writes the same files.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Output folder (created if missing).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Format of the events export.
    #[arg(long, value_enum, default_value = "csv")]
    format: SampleFormat,
    /// Last day of the data.
    #[arg(long, default_value = "2026-10-31", value_name = "YYYY-MM-DD")]
    end_date: NaiveDate,
    /// Days of data ending at --end-date.
    #[arg(long, default_value_t = 365)]
    days: u32,
}

fn parse_key_value(s: &str) -> std::result::Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.trim().to_string(), v.to_string())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// Parses a size such as `4GiB`, `512MiB`, `2G`, `1000000` (bytes).
fn parse_size(s: &str) -> std::result::Result<usize, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("expected a size such as 4GiB, got {s:?}"))?;
    let mult = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024.0f64.powi(4),
        other => return Err(format!("unknown size unit {other:?} (use KiB, MiB, GiB)")),
    };
    Ok((n * mult) as usize)
}

impl ProjectOpts {
    fn resolve(&self) -> ProjectArgs {
        let sources: BTreeMap<String, PathBuf> = self
            .sources
            .iter()
            .map(|(k, v)| (k.clone(), PathBuf::from(v)))
            .collect();
        ProjectArgs {
            project: self.project.clone(),
            sources,
            params: self.params.clone(),
            as_of: self.as_of,
            forget: self.forget.clone(),
            session: SessionOptions {
                memory_limit: self.memory_limit,
                out_of_core: self.out_of_core,
                spill_dir: self.spill_dir.clone(),
                target_partitions: None,
                profile_dir: self.profile_dir.clone(),
                jobs: self.jobs.map(usize::from),
            },
        }
    }
}

/// Listens for SIGTERM (how cron wrappers, systemd and Airflow stop a job) and SIGINT
/// (Ctrl-C) on a runtime worker thread: the first one records the stop
/// ([`crate::report::output::request_stop`] with 143 or 130, 128 + the signal number), which the page
/// workers and the swap check even while the main thread is busy, then wakes `stopped`. The
/// handlers are installed before this returns, so a signal is never the default "terminate".
fn spawn_stop_listener(stopped: Arc<tokio::sync::Notify>) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
        ) else {
            tracing::warn!("cannot listen for SIGTERM and SIGINT: a stop will not clean up");
            return;
        };
        tokio::spawn(async move {
            let code = tokio::select! {
                _ = term.recv() => 143,
                _ = int.recv() => 130,
            };
            crate::report::output::request_stop(code);
            stopped.notify_one();
        });
    }
    #[cfg(not(unix))]
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            crate::report::output::request_stop(130);
            stopped.notify_one();
        }
    });
}

fn report(e: &Error) {
    logging::error(&e.message, e.exit_code());
}

/// How a command that returned without error ended, for its exit code and final status event.
struct Finished {
    /// Complete or partial (exit 0 or [`crate::error::EXIT_PARTIAL`]).
    status: RunStatus,
    /// The report folder written (the parent folder of a backfill's folders); none for
    /// `check`, `query`, `sample`.
    folder: Option<PathBuf>,
}

impl Finished {
    fn done() -> Self {
        Finished {
            status: RunStatus::Complete,
            folder: None,
        }
    }
}

/// Parses the command line, runs the command and returns the documented exit code. The last
/// line on stderr is the final status event (`logging::finished`).
pub fn main() -> ExitCode {
    let t0 = std::time::Instant::now();
    let cli = Cli::parse();
    logging::init(cli.log_format == LogFormat::Json);
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            logging::error(&format!("starting the async runtime: {e}"), 1);
            logging::finished("failed", 1, t0.elapsed().as_secs_f64(), None);
            return ExitCode::from(1);
        }
    };
    let outcome = rt.block_on(async {
        let stopped = Arc::new(tokio::sync::Notify::new());
        spawn_stop_listener(stopped.clone());
        tokio::select! {
            // A command that finished wins over a stop that came after its last step.
            biased;
            r = dispatch(cli.command) => Some(r),
            () = stopped.notified() => None,
        }
    });
    // Stop every task and wait for the blocking writes still under way (a Parquet write hands
    // its I/O to blocking threads, which recreate missing folders), then remove what a failed
    // or stopped run was writing: nothing can bring it back any more.
    rt.shutdown_timeout(std::time::Duration::from_secs(10));
    let (status, code, folder) = match outcome {
        Some(Ok(f)) => {
            let code = f.status.exit_code();
            let status = match f.status {
                RunStatus::Complete => "complete",
                RunStatus::Partial => "partial",
            };
            (status, code, f.folder)
        }
        Some(Err(e)) if crate::report::output::stop_requested().is_none() => {
            crate::report::output::remove_scratch();
            report(&e);
            ("failed", e.exit_code(), None)
        }
        // Stopped: by dropping the command's future, or by its own check of the stop.
        _ => {
            crate::report::output::remove_scratch();
            let replaced = crate::report::output::replaced_folders();
            if replaced.is_empty() {
                logging::notice("stopped by a signal; no report folder was written or replaced");
            } else {
                let list: Vec<_> = replaced.iter().map(|p| p.display().to_string()).collect();
                logging::notice(&format!(
                    "stopped by a signal after {} had been put in place, each complete; nothing else was written or replaced",
                    list.join(", ")
                ));
            }
            let code = crate::report::output::stop_requested().unwrap_or(143);
            ("stopped", code, replaced.last().cloned())
        }
    };
    logging::finished(status, code, t0.elapsed().as_secs_f64(), folder.as_deref());
    ExitCode::from(code)
}

async fn dispatch(cmd: Command) -> Result<Finished> {
    match cmd {
        Command::Run(c) => {
            let mut args = RunArgs {
                project: c.project.resolve(),
                out: c.out,
                reports: c.reports,
                send: c.send,
                fail_fast: c.fail_fast,
                send_to: c.send_to.clone(),
            };
            let send_to = c.send_to;
            let (Some(from), Some(to)) = (c.from, c.to) else {
                let s = run::run(&args).await?;
                let sent = if args.send || args.send_to.is_some() {
                    format!(", {} e-mails sent", s.sent)
                } else {
                    String::new()
                };
                let partial = match s.status {
                    RunStatus::Partial => {
                        format!(", partial: {} analyses unavailable", s.unavailable.len())
                    }
                    RunStatus::Complete => String::new(),
                };
                // The line ends with what to open: the folder's summary page.
                let index = s.folder.join("index.html");
                let open = if index.is_file() {
                    format!(" — open {}", index.display())
                } else {
                    String::new()
                };
                println!(
                    "journey-report: wrote {} ({} pages, {} models, {} warnings{sent}{partial}) in {:.1} s{open}",
                    s.folder.display(),
                    s.pages.len(),
                    s.models,
                    s.warnings.len(),
                    s.seconds
                );
                return Ok(Finished {
                    status: s.status,
                    folder: Some(s.folder),
                });
            };
            if from > to {
                return Err(Error::config(format!("--from {from} is after --to {to}")));
            }
            // Backfill: one folder per day, oldest first; the first failure stops it (the
            // folders already written stay, each whole).
            let t0 = std::time::Instant::now();
            let (mut days, mut warnings, mut parent) = (0, 0, PathBuf::new());
            let mut partial = Vec::new();
            for day in from.iter_days().take_while(|d| *d <= to) {
                args.project.as_of = Some(day);
                // A backfill mails only its last day (the newest report) unless asked.
                args.send = c.send && (c.send_backfill || day == to);
                args.send_to = send_to.clone().filter(|_| day == to);
                let s = run::run(&args).await?;
                tracing::info!(as_of = %day, folder = %s.folder.display(), seconds = logging::round2(s.seconds), "report written");
                if s.status == RunStatus::Partial {
                    partial.push(day.to_string());
                }
                days += 1;
                warnings += s.warnings.len();
                parent = s.folder.parent().map(PathBuf::from).unwrap_or_default();
            }
            let note = if partial.is_empty() {
                String::new()
            } else {
                format!(", partial: {}", partial.join(", "))
            };
            println!(
                "journey-report: wrote {days} report folders {from}..{to} under {} ({warnings} warnings{note}) in {:.1} s",
                parent.display(),
                t0.elapsed().as_secs_f64()
            );
            // Partial when any day was.
            let status = if partial.is_empty() {
                RunStatus::Complete
            } else {
                RunStatus::Partial
            };
            Ok(Finished {
                status,
                folder: Some(parent),
            })
        }
        Command::Check(p) => {
            let problems = check::check(&p.resolve()).await?;
            if problems.is_empty() {
                println!("journey-report: check passed: {}", p.project.display());
                return Ok(Finished::done());
            }
            let n = problems.len();
            let mut iter = problems.into_iter();
            let first = iter.next().expect("non-empty");
            report(&first);
            for e in iter {
                report(&e);
            }
            Err(Error::new(
                first.kind,
                format!("check found {n} problem{}", if n == 1 { "" } else { "s" }),
            ))
        }
        Command::Query(q) => {
            let batches = query::query(&q.project.resolve(), &q.sql).await?;
            let out = std::io::stdout();
            match q.format {
                QueryFormat::Table => {
                    let text = datafusion::arrow::util::pretty::pretty_format_batches(&batches)
                        .map_err(|e| Error::internal(e.to_string()))?;
                    println!("{text}");
                }
                QueryFormat::Csv => {
                    let mut w = datafusion::arrow::csv::WriterBuilder::new()
                        .with_header(true)
                        .with_timestamp_format("%Y-%m-%d %H:%M:%S".to_string())
                        .build(out.lock());
                    for b in &batches {
                        let b = crate::report::data_files::flatten_nested(b)?;
                        w.write(&b).map_err(|e| Error::internal(e.to_string()))?;
                    }
                }
            }
            Ok(Finished::done())
        }
        Command::Sample(s) => {
            let opts = SampleOptions {
                events: s.events,
                seed: s.seed,
                out: s.out.clone(),
                format: s.format,
                end_date: s.end_date,
                days: s.days,
            };
            let t0 = std::time::Instant::now();
            let summary = tokio::task::spawn_blocking(move || crate::sample::write_sample(&opts))
                .await
                .map_err(|e| Error::internal(e.to_string()))??;
            println!(
                "journey-report: wrote {} customers, {} events, {} orders, {} spend rows to {} in {:.1} s",
                summary.customers,
                summary.events,
                summary.orders,
                summary.spend_rows,
                s.out.display(),
                t0.elapsed().as_secs_f64()
            );
            Ok(Finished::done())
        }
    }
}
