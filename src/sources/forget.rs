//! The forget list (right to erasure): customers whose rows leave every source view, so that
//! no model, page, e-mail, data file or manifest holds them.
//!
//! The list is a text file (`[privacy] forget`, or `--forget FILE`): one entry a line, blank
//! lines and lines starting with `#` skipped, each entry trimmed; an entry holding an `@` is an
//! e-mail address, any other a customer id. The rule, applied where the typed view `<name>` is
//! built from `raw_<name>` ([`drop_forgotten`]):
//!
//! - the CRM (`customers`) loses every row whose `customer_id` is listed or whose `email`,
//!   trimmed and lowercased, is a listed address (lowercased);
//! - the customer ids of the CRM rows matched by e-mail join the listed ids;
//! - every other source with a `customer_id` column (events, orders, a project's own) loses
//!   the rows of those ids (compared as text, exactly, after the view's trimming); rows
//!   without a customer id stay. A source without `customer_id` (spend) is left as it is.
//!
//! E-mail addresses are resolved through the CRM when its view is built, before the other
//! sources' (they are registered in name order, and the contract's `customers` comes before
//! `events`, `spend` and `transactions`); a source of a project's own named before
//! `customers` with a `customer_id` column cannot be filtered by e-mail and is a
//! configuration error (list its customers by id). `raw_<name>` stays the files as they are:
//! with a forget list, a model reading one is a configuration error (`cli/prepare.rs`).
//!
//! The list itself never reaches an output: the manifest records the file's path, how many
//! ids and addresses it holds, and how many rows each source lost ([`ForgetSummary`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use datafusion::arrow::array::{Array, AsArray};
use datafusion::arrow::datatypes::DataType;
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{Expr, LogicalPlan, cast, ident, lit};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use crate::error::{Error, Result};

/// A loaded forget list, kept on the session (a `SessionConfig` extension) so that the
/// source registration finds it.
#[derive(Debug)]
pub(crate) struct ForgetList {
    /// The file as configured (relative to the project, or as given to `--forget`).
    file: PathBuf,
    /// Customer ids listed.
    ids: BTreeSet<String>,
    /// E-mail addresses listed, lowercased.
    emails: BTreeSet<String>,
    /// What the registration learnt: ids resolved from e-mails, and per source the rows it
    /// removes (as a plan, counted by [`ForgetList::summary`]).
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// The CRM's customer ids of the listed e-mail addresses; `None` until the CRM's view
    /// is built.
    resolved: Option<BTreeSet<String>>,
    /// Per source, the plan of the rows the forget list removes from its view.
    removed: Vec<(String, LogicalPlan)>,
}

/// What `manifest.json` says of the forget list (never the ids themselves).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct ForgetSummary {
    /// The list's file, as configured.
    pub(crate) file: PathBuf,
    /// Customer ids it lists.
    pub(crate) ids: usize,
    /// E-mail addresses it lists.
    pub(crate) emails: usize,
    /// Rows each source's view left out, by source name.
    pub(crate) rows_removed: BTreeMap<String, u64>,
}

impl ForgetList {
    /// Reads the forget list at `path` (shown as `shown` in messages and the manifest).
    ///
    /// Errors: exit 2 when the file is missing or unreadable (naming it) or not UTF-8.
    pub(crate) fn read(path: &Path, shown: &Path) -> Result<ForgetList> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            Error::config(format!(
                "[privacy] forget: cannot read the forget list {}: {e}",
                shown.display()
            ))
        })?;
        let mut ids = BTreeSet::new();
        let mut emails = BTreeSet::new();
        for line in text.lines() {
            let entry = line.trim();
            if entry.is_empty() || entry.starts_with('#') {
                continue;
            }
            if entry.contains('@') {
                emails.insert(entry.to_lowercase());
            } else {
                ids.insert(entry.to_string());
            }
        }
        Ok(ForgetList {
            file: shown.to_path_buf(),
            ids,
            emails,
            state: Mutex::new(State::default()),
        })
    }

    /// Puts the list on the session, where [`drop_forgotten`] finds it; call before the
    /// sources are registered.
    pub(crate) fn install(self: &Arc<Self>, ctx: &SessionContext) {
        ctx.state_ref()
            .write()
            .config_mut()
            .set_extension(Arc::clone(self));
    }

    /// The manifest's summary: the rows each source's view left out, counted now (one read
    /// of each source's `customer_id` and, for the CRM, `email` column), on the session
    /// `ctx`.
    ///
    /// Errors: exit 3 when a source cannot be read.
    pub(crate) async fn summary(&self, ctx: &SessionContext) -> Result<ForgetSummary> {
        let plans = self.state.lock().expect("forget state").removed.clone();
        let mut rows_removed = BTreeMap::new();
        for (name, plan) in plans {
            let n = DataFrame::new(ctx.state(), plan)
                .count()
                .await
                .map_err(|e| {
                    Error::input(format!(
                        "source {name}: counting the rows of the forget list: {}",
                        crate::error::clean_error(&e)
                    ))
                })?;
            rows_removed.insert(name, n as u64);
        }
        Ok(ForgetSummary {
            file: self.file.clone(),
            ids: self.ids.len(),
            emails: self.emails.len(),
            rows_removed,
        })
    }
}

/// The typed view `df` of source `name` without the rows of the forget list installed on
/// `ctx` (see the module documentation for the rule); `df` unchanged when there is no list
/// or the source has no `customer_id` column.
///
/// Errors: exit 2 for a source named before the CRM that needs the CRM's ids (see the
/// module documentation); exit 3 when the CRM cannot be read to resolve e-mail addresses.
pub(crate) async fn drop_forgotten(
    ctx: &SessionContext,
    name: &str,
    df: DataFrame,
) -> Result<DataFrame> {
    let list = ctx
        .state_ref()
        .read()
        .config()
        .get_extension::<ForgetList>();
    let Some(list) = list else {
        return Ok(df);
    };
    let has = |c: &str| df.schema().fields().iter().any(|f| f.name() == c);
    if !has("customer_id") {
        return Ok(df);
    }
    let id = || cast(ident("customer_id"), DataType::Utf8);
    let email =
        || datafusion::functions::string::expr_fn::lower(cast(ident("email"), DataType::Utf8));
    let emails: Vec<Expr> = list.emails.iter().map(|e| lit(e.clone())).collect();
    let mut ids = list.ids.clone();
    let is_crm = name == "customers";
    if is_crm {
        let mut resolved = BTreeSet::new();
        if !emails.is_empty() && has("email") {
            let batches = df
                .clone()
                .filter(email().in_list(emails.clone(), false))
                .and_then(|d| d.select(vec![id().alias("id")]))
                .map_err(|e| Error::internal(format!("source {name}: {e}")))?
                .collect()
                .await
                .map_err(|e| {
                    Error::input(format!(
                        "source {name}: reading the CRM's e-mail addresses for the forget list: {}",
                        crate::error::clean_error(&e)
                    ))
                })?;
            for b in &batches {
                let a = b.column(0).as_string::<i32>();
                for i in 0..a.len() {
                    if a.is_valid(i) {
                        resolved.insert(a.value(i).to_string());
                    }
                }
            }
        }
        ids.extend(resolved.iter().cloned());
        list.state.lock().expect("forget state").resolved = Some(resolved);
    } else if !list.emails.is_empty() {
        let state = list.state.lock().expect("forget state");
        match &state.resolved {
            Some(r) => ids.extend(r.iter().cloned()),
            None => {
                return Err(Error::config(format!(
                    "[privacy] forget: source {name} has a customer_id column and is registered before the customers source, through which the list's e-mail addresses are resolved: list its customers by id"
                )));
            }
        }
    }
    let mut forgotten = if ids.is_empty() {
        lit(false)
    } else {
        id().in_list(ids.into_iter().map(lit).collect(), false)
    };
    if is_crm && !emails.is_empty() && has("email") {
        forgotten = forgotten.or(email().in_list(emails, false));
    }
    // NULL (no customer id, no e-mail) is not forgotten.
    let forgotten = forgotten.is_true();
    let removed = df
        .clone()
        .filter(forgotten.clone())
        .map_err(|e| Error::internal(format!("source {name}: {e}")))?;
    list.state
        .lock()
        .expect("forget state")
        .removed
        .push((name.to_string(), removed.logical_plan().clone()));
    df.filter(datafusion::logical_expr::not(forgotten))
        .map_err(|e| Error::internal(format!("source {name}: the forget list: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_ids_or_addresses() {
        let dir = tempfile::TempDir::new().unwrap();
        let p = dir.path().join("forget.txt");
        std::fs::write(&p, "# erasure requests\nc3\n  B@Example.COM \n\nc3\n#c4\n").unwrap();
        let l = ForgetList::read(&p, Path::new("forget.txt")).unwrap();
        assert_eq!(l.ids, BTreeSet::from(["c3".to_string()]));
        assert_eq!(l.emails, BTreeSet::from(["b@example.com".to_string()]));
        let e = ForgetList::read(&dir.path().join("nope.txt"), Path::new("nope.txt")).unwrap_err();
        assert_eq!(e.kind, crate::error::ErrorKind::Config);
        assert!(e.to_string().contains("nope.txt"), "{e}");
    }
}
