//! `run`: the nightly job. Settings resolved first, then the session, the sources, the
//! models, the pages, and the output folder, which appears whole or not at all.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;

use crate::cli::prepare::{Prepared, ProjectArgs, check_freshness, count_deferred, prepare};
use crate::engine::{model, runner};
use crate::error::{Error, Result};
use crate::report::context::{Page, ReportVar, Unavailable, page_context};
use crate::report::data_files::write_data_files;
pub(crate) use crate::report::manifest::RunStatus;
use crate::report::manifest::{
    CSV_FORMULAS, EmailEntry, Manifest, ModelEntry, Privacy, file_checksum,
};
use crate::report::output::lock_output;
use crate::report::pages;

/// Settings of `run` beyond the project's.
#[derive(Debug, Clone)]
pub(crate) struct RunArgs {
    /// The project and its overrides.
    pub(crate) project: ProjectArgs,
    /// Parent folder of the report folder (default `<project>/<output_dir>`).
    pub(crate) out: Option<PathBuf>,
    /// Render only these reports (the summary always).
    pub(crate) reports: Vec<String>,
    /// Deliver the e-mails over SMTP after the folder is written (`--send`), each message
    /// once (see [`crate::report::delivery`]).
    pub(crate) send: bool,
    /// A model failing on the data fails the run (exit 4) instead of marking its analyses
    /// unavailable (`--fail-fast`, or `[project] fail_fast = true`).
    pub(crate) fail_fast: bool,
    /// `--send-to ADDRESS`: send only the digest, to this address alone, as a test.
    pub(crate) send_to: Option<String>,
}

/// What a successful run wrote.
#[derive(Debug)]
pub(crate) struct RunSummary {
    /// Complete, or partial (some analyses unavailable).
    pub(crate) status: RunStatus,
    /// Models that failed on this data or were skipped, with the reason.
    pub(crate) unavailable: BTreeMap<String, String>,
    /// The report folder.
    pub(crate) folder: PathBuf,
    /// Pages written (index first).
    pub(crate) pages: Vec<String>,
    /// Models run.
    pub(crate) models: usize,
    /// Wall time in seconds.
    pub(crate) seconds: f64,
    /// Warnings.
    pub(crate) warnings: Vec<String>,
    /// The e-mail form of every page (also written to `email/<report>.eml`).
    pub(crate) emails: Vec<crate::report::email::Email>,
    /// E-mails delivered by `--send`.
    pub(crate) sent: usize,
}

/// `run`: the nightly job. Writes `<out>/<as-of>/` whole, or nothing.
pub(crate) async fn run(args: &RunArgs) -> Result<RunSummary> {
    let t0 = Instant::now();
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let (mut prep, problems) = prepare(&args.project, false).await?;
    if let Some(p) = problems.into_iter().next() {
        return Err(p);
    }
    if let Some(e) = crate::report::email::check_addresses(&prep.config)
        .into_iter()
        .next()
    {
        return Err(e);
    }
    // Stale or uncovered inputs stop the run before anything is written.
    let t_fresh = Instant::now();
    let stale = check_freshness(&mut prep).await?;
    tracing::info!(
        seconds = crate::logging::secs(t_fresh.elapsed()),
        "freshness and coverage checked"
    );
    if !stale.is_empty() {
        return Err(Error::input(format!(
            "{}\n  nothing was written: the previous report folder, if any, is unchanged (thresholds: [sources.<name>] max_age_hours in journey.toml)",
            stale.join("\n  ")
        )));
    }
    tracing::info!(
        seconds = crate::logging::secs(t0.elapsed()),
        "sources checked and models planned"
    );
    for r in &args.reports {
        if !prep.config.reports.iter().any(|c| &c.name == r) {
            let names: Vec<_> = prep.config.reports.iter().map(|r| r.name.clone()).collect();
            return Err(Error::config(format!(
                "--report {r}: no such report (journey.toml has: {})",
                names.join(", ")
            )));
        }
    }
    if args.send || args.send_to.is_some() {
        crate::report::delivery::check_recipients(&prep.config, args.send_to.as_deref())?;
    }
    let tera = pages::build_tera(&args.project.project, &prep.config)?;
    let parent = args
        .out
        .clone()
        .unwrap_or_else(|| args.project.project.join(&prep.config.project.output_dir));
    std::fs::create_dir_all(&parent).map_err(|e| Error::io(&parent, e))?;
    let _lock = lock_output(&parent)?;
    // What runs killed without cleaning up (kill -9, the OOM killer) left; see remove_stale.
    prep.warnings
        .extend(crate::report::output::remove_stale(&parent));
    let final_dir = parent.join(prep.window.as_of.to_string());
    let staging = parent.join(format!(
        ".{}.partial-{}",
        prep.window.as_of,
        std::process::id()
    ));
    let work = parent.join(format!(".work-{}", std::process::id()));
    // Removes the partial folder and work files however this function ends: error, or the
    // future being dropped when the job is stopped (SIGTERM).
    let guard = crate::report::output::Scratch::new(vec![staging.clone(), work.clone()]);
    prep.quality_trend = crate::report::context::quality_trend(&parent, prep.window.as_of, 7);
    let mut summary = build_folder(&prep, args, &tera, &staging, &work, &started_at, t0).await?;
    let _ = std::fs::remove_dir_all(&work);
    // One atomic exchange; refused once a stop was requested.
    let (_, left) = crate::report::output::swap_into_place(&staging, &final_dir)?;
    summary.warnings.extend(left);
    guard.finish();
    if args.send || args.send_to.is_some() {
        // Stale inputs never get here: the freshness check failed the run before the swap.
        let to = args.send_to.as_deref();
        summary.sent =
            crate::report::delivery::deliver(&parent, prep.window.as_of, &summary.emails, to)?.sent;
    }
    summary.folder = final_dir;
    summary.seconds = t0.elapsed().as_secs_f64();
    Ok(summary)
}

/// A progress bar over the models when stderr is a terminal; hidden (and the log used
/// instead) under cron, Airflow or a pipe.
fn progress_bar(len: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{elapsed:>4} [{bar:30}] {pos}/{len} models  {msg}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

async fn build_folder(
    prep: &Prepared,
    args: &RunArgs,
    tera: &tera::Tera,
    staging: &Path,
    work: &Path,
    started_at: &str,
    t0: Instant,
) -> Result<RunSummary> {
    let project = &args.project.project;
    let _ = std::fs::remove_dir_all(staging);
    let data_dir = staging.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| Error::io(&data_dir, e))?;
    crate::report::data_files::write_rejects(&data_dir, &prep.quality)?;
    let progress = progress_bar(prep.models.len() as u64);
    let t_models = Instant::now();
    let results = runner::run_models(
        &prep.ctx,
        project,
        &prep.models,
        work,
        &prep.sources,
        &progress,
        &args.project.session,
        &prep.memory,
        args.fail_fast || prep.config.project.fail_fast,
        |m| {
            let cfg = prep.config.models.get(&m.name);
            let data_file = cfg.map(|c| c.data_file).unwrap_or_default();
            let split = cfg.is_some_and(|c| c.split_csv_by.is_some());
            if data_file == crate::project::DataFile::None && !split {
                return None;
            }
            Some(Box::pin(write_data_files(
                &prep.ctx,
                &prep.config,
                &prep.models,
                m,
                &data_dir,
                work,
                &prep.pii,
            )))
        },
    )
    .await?;
    progress.finish_and_clear();
    tracing::info!(
        seconds = crate::logging::secs(t_models.elapsed()),
        "models run and data files written"
    );
    let t_pages = Instant::now();
    // Template context.
    let mut rows = serde_json::Map::new();
    let mut info = serde_json::Map::new();
    let mut warnings = prep.warnings.clone();
    let inputs = count_deferred(prep, &mut warnings).await?;
    for run in &results.runs {
        let (mut r, truncated) = match results.batches.get(&run.name) {
            Some(b) => pages::batches_to_rows(b, pages::MAX_TEMPLATE_ROWS),
            None => (Vec::new(), run.rows > 0),
        };
        // Pages and e-mails show personal data as [privacy] pages says (default: masked).
        prep.pii.treat_rows(&mut r);
        let columns = results.columns.get(&run.name).cloned().unwrap_or_default();
        rows.insert(run.name.clone(), serde_json::Value::Array(r));
        info.insert(
            run.name.clone(),
            json!({"rows": run.rows, "truncated": truncated, "columns": columns}),
        );
    }
    let selected: Vec<_> = prep
        .config
        .reports
        .iter()
        .filter(|r| {
            // With a forget list every page is drawn again: a page kept from an earlier run
            // could show a customer forgotten since.
            prep.forget.is_some() || args.reports.is_empty() || args.reports.contains(&r.name)
        })
        .collect();
    // `--report`: the previous folder's other pages stay (see output::carried_pages).
    let previous = staging.with_file_name(prep.window.as_of.to_string());
    let others: Vec<String> = prep
        .config
        .reports
        .iter()
        .filter(|r| !selected.iter().any(|s| s.name == r.name))
        .map(|r| r.name.clone())
        .collect();
    let carried = crate::report::output::carried_pages(&previous, prep.window.as_of, &others);
    let nav: Vec<_> = prep
        .config
        .reports
        .iter()
        .filter(|r| selected.iter().any(|s| s.name == r.name) || carried.contains(&r.name))
        .collect();
    let ctx = page_context(
        &prep.page_inputs(),
        &nav,
        rows,
        info,
        &warnings,
        &results.unavailable,
        started_at,
    )?;
    let mut page_list = vec![
        Page {
            name: "index".into(),
            title: "Executive summary".into(),
            template: "index.html".into(),
            recipients: Vec::new(),
            report: None,
        },
        Page {
            name: "data_quality".into(),
            title: "Data quality".into(),
            template: "data_quality.html".into(),
            recipients: Vec::new(),
            report: None,
        },
    ];
    let sources = pages::template_sources(project)?;
    for r in &selected {
        // A page that reads an unavailable model says so instead of showing empty charts.
        let missing: Vec<_> = pages::models_read(&sources, &r.template_name())
            .into_iter()
            .filter_map(|m| {
                results.unavailable.get(&m).map(|why| Unavailable {
                    model: m.clone(),
                    reason: why.clone(),
                })
            })
            .collect();
        let template = if missing.is_empty() {
            r.template_name()
        } else {
            "unavailable.html".to_string()
        };
        page_list.push(Page {
            name: r.name.clone(),
            title: r.title.clone(),
            template,
            recipients: r.recipients.clone(),
            report: Some(ReportVar {
                name: r.name.clone(),
                title: r.title.clone(),
                summary: r.summary.clone(),
                unavailable: missing,
            }),
        });
    }
    // Pages are independent: drawing their charts (the e-mails' PNGs above all) is spread
    // over worker threads, each with its own e-mail engine and image list.
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(prep.memory.jobs)
        .min(page_list.len())
        .max(1);
    let next = std::sync::atomic::AtomicUsize::new(0);
    let rendered: Vec<std::sync::Mutex<Option<Result<crate::report::email::Email>>>> = page_list
        .iter()
        .map(|_| std::sync::Mutex::new(None))
        .collect();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                let sink = journey_charts::ImageSink::default();
                let email_tera = pages::build_email_tera(
                    project,
                    &prep.config,
                    sink.clone(),
                    crate::report::email::EMAIL_WIDTH - 40,
                );
                let mut c = ctx.clone();
                // A stop requested by a signal is seen between pages.
                while crate::report::output::stop_requested().is_none() {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(Page {
                        name,
                        title,
                        template,
                        recipients,
                        report,
                    }) = page_list.get(i)
                    else {
                        break;
                    };
                    let result = email_tera.as_ref().map_err(Clone::clone).and_then(|et| {
                        c.remove("email");
                        c.insert("page", name);
                        match report {
                            Some(r) => c.insert("report", r),
                            None => {
                                c.remove("report");
                            }
                        }
                        let html = pages::render(tera, template, &c)?;
                        let file = staging.join(format!("{name}.html"));
                        std::fs::write(&file, html).map_err(|e| Error::io(&file, e))?;
                        // Templates see `email = true` in the e-mail form, to condense wide
                        // tables.
                        c.insert("email", &true);
                        let url = crate::report::email::report_url(
                            &prep.config,
                            &prep.window.as_of.to_string(),
                        );
                        c.insert("report_url", &url);
                        let mail_page = pages::render(et, template, &c)?;
                        let email = crate::report::email::build_email(
                            &prep.config,
                            prep.window.as_of,
                            et,
                            &c,
                            name,
                            title,
                            recipients,
                            &mail_page,
                            &sink,
                        )?;
                        crate::report::email::write_eml(staging, &email)?;
                        Ok(email)
                    });
                    if let Ok(mut slot) = rendered[i].lock() {
                        *slot = Some(result);
                    }
                }
            });
        }
    });
    crate::report::output::check_stop()?;
    let mut pages = Vec::new();
    let mut emails = Vec::new();
    for (Page { name, .. }, slot) in page_list.iter().zip(rendered) {
        let email = slot
            .into_inner()
            .ok()
            .flatten()
            .unwrap_or_else(|| Err(Error::internal(format!("page {name} was not rendered"))))?;
        pages.push(format!("{name}.html"));
        if email.html_bytes > crate::report::email::HTML_BUDGET {
            warnings.push(format!(
                "the {name} e-mail's HTML is {} KB, over the {} KB budget (Gmail clips at about 102 KB)",
                email.html_bytes / 1024,
                crate::report::email::HTML_BUDGET / 1024
            ));
        }
        emails.push(email);
    }
    warnings.dedup();
    tracing::info!(
        seconds = crate::logging::secs(t_pages.elapsed()),
        "pages and e-mails rendered"
    );
    let status = if results.unavailable.is_empty() {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    };
    let carried = crate::report::output::carry_pages(&previous, staging, &carried)?;
    let forget = match &prep.forget {
        Some(f) => {
            let s = f.summary(&prep.ctx).await?;
            tracing::info!(
                file = %s.file.display(),
                rows_removed = s.rows_removed.values().sum::<u64>(),
                "forget list applied"
            );
            Some(s)
        }
        None => None,
    };
    let with_files = prep.models.iter().filter_map(|m| {
        let cfg = prep.config.models.get(&m.name);
        let file = match cfg.map(|c| c.data_file).unwrap_or_default() {
            crate::project::DataFile::Csv => Some(format!("data/{}.csv", m.name)),
            crate::project::DataFile::Parquet => Some(format!("data/{}.parquet", m.name)),
            crate::project::DataFile::None => None,
        };
        let split = cfg.and_then(|c| c.split_csv_by.as_deref());
        let label = match (file, split) {
            (Some(f), Some(by)) => format!("{f} and its split CSVs (by {by})"),
            (None, Some(by)) => format!("the split CSVs of {} (by {by})", m.name),
            (Some(f), None) => f,
            (None, None) => return None,
        };
        let columns = results.columns.get(&m.name)?;
        Some((m.name.as_str(), label, columns.clone()))
    });
    let privacy = Privacy {
        forget,
        outputs: prep.pii.manifest(with_files),
        csv_formulas: CSV_FORMULAS,
    };
    let manifest = Manifest {
        journey_report_version: env!("CARGO_PKG_VERSION"),
        datafusion_version: datafusion::DATAFUSION_VERSION,
        as_of: prep.window.as_of,
        started_at: started_at.to_string(),
        seconds: t0.elapsed().as_secs_f64(),
        params: prep.params.clone(),
        inputs: {
            let mut inputs = inputs;
            for s in &mut inputs {
                for f in &mut s.files {
                    f.xxh3 = Some(file_checksum(&f.path)?);
                }
            }
            inputs
        },
        models: prep
            .models
            .iter()
            .map(|m| ModelEntry {
                file: model::relative(project, &m.path),
                name: m.name.clone(),
                reads: m.tables.clone(),
                sha256: m.sha256.clone(),
            })
            .collect(),
        steps: results.runs.clone(),
        pages: pages.clone(),
        emails: emails
            .iter()
            .map(|e| EmailEntry {
                file: format!("email/{}.eml", e.report),
                html_bytes: e.html_bytes,
                images: e.images,
                message_bytes: e.message.formatted().len(),
            })
            .collect(),
        warnings: warnings.clone(),
        status,
        freshness: prep.freshness.clone(),
        data_quality: prep.quality.clone(),
        unavailable: results.unavailable.clone(),
        carried_pages: carried,
        privacy,
    };
    crate::report::output::check_stop()?;
    let file = staging.join("manifest.json");
    let text =
        serde_json::to_string_pretty(&manifest).map_err(|e| Error::internal(e.to_string()))?;
    std::fs::write(&file, text).map_err(|e| Error::io(&file, e))?;
    Ok(RunSummary {
        status,
        unavailable: results.unavailable.clone(),
        folder: staging.to_path_buf(),
        pages,
        models: results.runs.len(),
        seconds: 0.0,
        warnings,
        emails,
        sent: 0,
    })
}
