//! `check`: every problem of a project without running a model.

use std::collections::BTreeSet;

use crate::cli::prepare::{ProjectArgs, check_freshness, prepare};
use crate::engine::runner;
use crate::error::{Error, Result};
use crate::report::context::check_templates;
use crate::report::pages;

/// `check`: every problem in the project without running a model: the config, every source
/// read in full through its typed view, its freshness and coverage against the as-of day,
/// every model planned, and every page rendered against the planned models' columns.
pub(crate) async fn check(args: &ProjectArgs) -> Result<Vec<Error>> {
    let (mut prep, mut problems) = prepare(args, true).await?;
    // A model reading a model with an error is not planned (it would only fail with "table
    // not found"): it is listed once as skipped.
    let mut failed = BTreeSet::new();
    let mut skipped = Vec::new();
    for m in &prep.models {
        if m.deps.iter().any(|d| failed.contains(d)) {
            failed.insert(m.name.clone());
            skipped.push(m.name.clone());
            continue;
        }
        if let Err(e) = runner::plan_as_view(&prep.ctx, &args.project, m, &prep.sources).await {
            problems.push(e);
            failed.insert(m.name.clone());
        }
    }
    if !skipped.is_empty() {
        skipped.sort();
        problems.push(Error::model(format!(
            "skipped, as they read a model with an error: {}",
            skipped.join(", ")
        )));
    }
    problems.extend(crate::report::email::check_addresses(&prep.config));
    match check_freshness(&mut prep).await {
        Ok(stale) => problems.extend(stale.into_iter().map(Error::input)),
        Err(e) => problems.push(e),
    }
    // Pages are checked against the planned models: only when every model was planned.
    let models_sound = !problems
        .iter()
        .any(|p| p.kind == crate::error::ErrorKind::Model);
    match pages::build_tera(&args.project, &prep.config) {
        Ok(tera) if models_sound => problems
            .extend(check_templates(&prep.page_inputs(), &prep.ctx, &prep.models, &tera).await),
        Ok(_) => {}
        Err(e) => problems.push(e),
    }
    for r in &prep.config.reports {
        let t = r.template_name();
        let exists = pages::EMBEDDED_TEMPLATES.iter().any(|(n, _)| *n == t)
            || args.project.join("templates").join(&t).is_file();
        if !exists {
            problems.push(Error::config(format!("journey.toml: report {:?} uses template {t:?}, which is neither bundled nor in templates/", r.name)));
        }
    }
    Ok(problems)
}
