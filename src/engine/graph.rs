//! The model graph: which model reads which, the order they run in, and the loops that keep
//! some from running at all.
//!
//! The graph is a `petgraph` graph with a node per model and an edge from a model to every
//! model it reads. The run order is Kahn's algorithm in waves — first the models that read
//! no other model, then those whose reads all ran in an earlier wave, … — each wave in the
//! models' order (by name, as [`super::model::model_files`] lists them), so the order is the
//! same on every machine and every run. The models never ready either read a model with an
//! error or sit on (or behind) a loop; the loops are named as a depth-first walk from each
//! such model, in name order, meets them.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::Path;

use petgraph::Direction::{Incoming, Outgoing};
use petgraph::algo::tarjan_scc;
use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Dfs, Reversed};

use super::model::{Model, relative};
use crate::error::Error;
use crate::project::{Config, ParamValue};
use datafusion::prelude::SessionContext;

/// Orders `models` (in name order, their `deps` filled in) so that every model runs after the
/// models it reads, and adds to `problems` every loop (exit 4: `cycle between models: a → b →
/// a (sql/a.sql, sql/b.sql)`) and, once, the models skipped as they read a model with an
/// error. `broken` names the models with an error: files that did not parse (not in
/// `models`), models reading an unknown table or named like a source (in `models`).
///
/// Returns the ordered models without the broken ones. A model reading a broken model that
/// is itself in `models` stays in the order, and is listed as skipped.
pub fn order(
    project: &Path,
    models: Vec<Model>,
    broken: &BTreeSet<String>,
    problems: &mut Vec<Error>,
) -> Vec<Model> {
    let graph = ModelGraph::new(models.iter().map(|m| (m.name.as_str(), &m.deps)));
    let (ordered, waiting) = graph.run_order();
    let mut on_a_loop = BTreeSet::new();
    for cycle in graph.cycles(&waiting) {
        let names: Vec<&str> = cycle.iter().map(|&i| models[i].name.as_str()).collect();
        let files: Vec<String> = cycle
            .iter()
            .map(|&i| relative(project, &models[i].path))
            .collect();
        problems.push(Error::model(format!(
            "cycle between models: {} → {} ({})",
            names.join(" → "),
            names[0],
            files.join(", ")
        )));
        on_a_loop.extend(cycle);
    }
    // What waits on a broken model (not on a named loop) is listed once, with the models
    // that run but read a broken one.
    let mut skipped: Vec<String> = waiting
        .iter()
        .filter(|i| !on_a_loop.contains(*i))
        .map(|&i| models[i].name.clone())
        .collect();
    let mut slots: Vec<Option<Model>> = models.into_iter().map(Some).collect();
    let order: Vec<Model> = ordered
        .iter()
        .filter_map(|&i| slots[i].take())
        .filter(|m| !broken.contains(&m.name))
        .collect();
    skipped.extend(
        order
            .iter()
            .filter(|m| m.deps.iter().any(|d| broken.contains(d)))
            .map(|m| m.name.clone()),
    );
    if !skipped.is_empty() {
        skipped.sort();
        problems.push(Error::model(format!(
            "skipped, as they read a model with an error: {}",
            skipped.join(", ")
        )));
    }
    order
}

/// What the models read of each other: node `i` is the `i`-th model, with an edge to every
/// model it reads.
pub struct ModelGraph<'m> {
    graph: DiGraph<&'m str, ()>,
    /// Per model, how many of the names it reads are no model of the graph (a file that did
    /// not parse): such a model is never ready.
    missing: Vec<usize>,
}

impl<'m> ModelGraph<'m> {
    /// The graph of `models`: (name, the names it reads), in the models' order.
    pub fn new<'d>(models: impl IntoIterator<Item = (&'m str, &'d BTreeSet<String>)>) -> Self {
        let models: Vec<_> = models.into_iter().collect();
        let mut graph = DiGraph::with_capacity(models.len(), 0);
        let nodes: std::collections::HashMap<&str, NodeIndex> = models
            .iter()
            .map(|&(name, _)| (name, graph.add_node(name)))
            .collect();
        let mut missing = vec![0; models.len()];
        for (i, (_, reads)) in models.iter().enumerate() {
            for r in reads.iter() {
                match nodes.get(r.as_str()) {
                    Some(&d) => {
                        graph.add_edge(NodeIndex::new(i), d, ());
                    }
                    None => missing[i] += 1,
                }
            }
        }
        ModelGraph { graph, missing }
    }

    /// The run order, in waves: first the models that read no model, then the models all of
    /// whose reads are in earlier waves, …; within a wave, in the models' order. Returns the
    /// ordered models and the models never ready (reading a missing model, or on or behind
    /// a loop), both as indices into the models, the second in the models' order.
    pub fn run_order(&self) -> (Vec<usize>, Vec<usize>) {
        let mut unmet: Vec<usize> = self
            .graph
            .node_indices()
            .map(|n| self.graph.neighbors_directed(n, Outgoing).count() + self.missing[n.index()])
            .collect();
        let mut wave: Vec<NodeIndex> = self
            .graph
            .node_indices()
            .filter(|n| unmet[n.index()] == 0)
            .collect();
        let mut order = Vec::with_capacity(unmet.len());
        while !wave.is_empty() {
            let mut next = Vec::new();
            for &n in &wave {
                order.push(n.index());
                for reader in self.graph.neighbors_directed(n, Incoming) {
                    unmet[reader.index()] -= 1;
                    if unmet[reader.index()] == 0 {
                        next.push(reader);
                    }
                }
            }
            next.sort();
            wave = next;
        }
        let waiting = (0..unmet.len()).filter(|&i| unmet[i] > 0).collect();
        (order, waiting)
    }

    /// The loops among the `waiting` models, each named once, as indices into the models.
    ///
    /// For each waiting model in name order that is on no loop named so far: the first loop
    /// a depth-first walk from it meets (following reads in name order, among `waiting`
    /// only), from the model where the walk entered the loop; a loop sharing a model with
    /// one named already is not named again. Only a model that lies on a loop or reaches one
    /// (the strongly connected components, by petgraph) can meet one, so only those walk.
    pub fn cycles(&self, waiting: &[usize]) -> Vec<Vec<usize>> {
        let among: HashSet<NodeIndex> = waiting.iter().map(|&i| NodeIndex::new(i)).collect();
        // The waiting models alone; node weights are their indices in `self.graph`.
        let sub = self
            .graph
            .filter_map(|n, _| among.contains(&n).then_some(n), |_, _| Some(()));
        let mut reaches_a_loop: HashSet<NodeIndex> = HashSet::new();
        let mut upstream = Dfs::empty(Reversed(&sub));
        for component in tarjan_scc(&sub) {
            let is_loop = component.len() > 1 || sub.contains_edge(component[0], component[0]);
            if !is_loop {
                continue;
            }
            for n in component {
                upstream.move_to(n);
                while let Some(x) = upstream.next(Reversed(&sub)) {
                    reaches_a_loop.insert(sub[x]);
                }
            }
        }
        let mut starts: Vec<NodeIndex> = among.iter().copied().collect();
        starts.sort_by_key(|&n| self.graph[n]);
        let mut named: HashSet<NodeIndex> = HashSet::new();
        let mut loops = Vec::new();
        for start in starts {
            if named.contains(&start) || !reaches_a_loop.contains(&start) {
                continue;
            }
            let Some(cycle) = self.first_loop(start, &among) else {
                continue;
            };
            if cycle.iter().any(|n| named.contains(n)) {
                continue;
            }
            named.extend(cycle.iter().copied());
            loops.push(cycle.iter().map(|n| n.index()).collect());
        }
        loops
    }

    /// The first loop a depth-first walk from `start` meets, following reads in name order
    /// among `among`: the walk's path from the model it meets again.
    fn first_loop(&self, start: NodeIndex, among: &HashSet<NodeIndex>) -> Option<Vec<NodeIndex>> {
        let mut stack = Vec::new();
        let mut seen = HashSet::new();
        self.walk(start, among, &mut stack, &mut seen)
    }

    fn walk(
        &self,
        n: NodeIndex,
        among: &HashSet<NodeIndex>,
        stack: &mut Vec<NodeIndex>,
        seen: &mut HashSet<NodeIndex>,
    ) -> Option<Vec<NodeIndex>> {
        if let Some(i) = stack.iter().position(|&s| s == n) {
            return Some(stack[i..].to_vec());
        }
        if !seen.insert(n) {
            return None;
        }
        stack.push(n);
        let mut reads: Vec<NodeIndex> = self
            .graph
            .neighbors_directed(n, Outgoing)
            .filter(|r| among.contains(r))
            .collect();
        reads.sort_by_key(|&r| self.graph[r]);
        for r in reads {
            if let Some(cycle) = self.walk(r, among, stack, seen) {
                return Some(cycle);
            }
        }
        stack.pop();
        None
    }
}

/// Parses every model, fills in their dependencies and returns them in run order
/// ([`order`]).
///
/// `tables` are the names already registered (sources, `funnel_stages`, …). Returns the
/// ordered models that are sound and every problem found: parse errors, unknown tables
/// (exit 4, naming the file), cycles (exit 4, naming the loop), a model named like a source.
pub fn load_models(
    ctx: &SessionContext,
    project: &Path,
    cfg: &Config,
    params: &BTreeMap<String, ParamValue>,
    tables: &BTreeSet<String>,
) -> (Vec<Model>, Vec<Error>) {
    let mut problems = Vec::new();
    let files = match super::model::model_files(project) {
        Ok(f) => f,
        Err(e) => return (Vec::new(), vec![e]),
    };
    let mut models = Vec::new();
    let mut broken = BTreeSet::new();
    for f in &files {
        match super::model::parse_model(ctx, project, f, params, cfg) {
            Ok(m) => models.push(m),
            Err(e) => {
                broken.insert(
                    f.file_stem()
                        .and_then(|s| s.to_str())
                        .unwrap_or_default()
                        .to_string(),
                );
                problems.push(e)
            }
        }
    }
    for name in cfg.models.keys() {
        if !models.iter().any(|m| &m.name == name) && !broken.contains(name) {
            problems.push(Error::config(format!(
                "journey.toml: [models.{name}] names no file {name}.sql under sql/"
            )));
        }
    }
    let names: BTreeSet<String> = models.iter().map(|m| m.name.clone()).collect();
    let table_functions: BTreeSet<String> = ctx.state().table_functions().keys().cloned().collect();
    for m in &mut models {
        let rel = relative(project, &m.path);
        if tables.contains(&m.name) {
            problems.push(Error::model(format!(
                "{rel}: the model name {:?} is already a source or built-in table; rename the file",
                m.name
            )));
            broken.insert(m.name.clone());
        }
        for t in &m.tables {
            if names.contains(t) || broken.contains(t) {
                m.deps.insert(t.clone());
            } else if !tables.contains(t)
                && !table_functions.contains(t)
                && !t.starts_with("information_schema")
                && !matches!(t.as_str(), "tables" | "columns" | "views" | "df_settings")
            {
                let mut known: Vec<_> = tables.iter().chain(names.iter()).cloned().collect();
                known.sort();
                problems.push(Error::model(format!(
                    "{rel}: unknown table {t:?}\n  tables and models: {}",
                    known.join(", ")
                )));
                broken.insert(m.name.clone());
            }
        }
    }
    (order(project, models, &broken, &mut problems), problems)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    /// A model `name` (`sql/<name>.sql`) reading `reads`.
    fn model(name: &str, reads: &[&str]) -> Model {
        let statement = datafusion::sql::parser::DFParser::parse_sql("SELECT 1")
            .unwrap()
            .pop_front()
            .unwrap();
        let reads: BTreeSet<String> = reads.iter().map(|r| r.to_string()).collect();
        Model {
            name: name.to_string(),
            path: PathBuf::from(format!("/p/sql/{name}.sql")),
            statement,
            deps: reads.clone(),
            tables: reads,
            params: BTreeSet::new(),
            materialize: Default::default(),
            sha256: String::new(),
        }
    }

    /// The run order and the problems' messages of `models` (given in name order, as
    /// `load_models` gives them) with `broken` models.
    fn order_of(models: Vec<Model>, broken: &[&str]) -> (Vec<String>, Vec<String>) {
        let broken = broken.iter().map(|b| b.to_string()).collect();
        let mut problems = Vec::new();
        let order = order(Path::new("/p"), models, &broken, &mut problems);
        (
            order.into_iter().map(|m| m.name).collect(),
            problems.into_iter().map(|e| e.message).collect(),
        )
    }

    #[test]
    fn a_diamond_runs_in_waves() {
        // b and c read a, d reads b and c. Waves: {a}, {b, c}, {d}: a, b, c, d.
        let (order, problems) = order_of(
            vec![
                model("a", &[]),
                model("b", &["a"]),
                model("c", &["a"]),
                model("d", &["b", "c"]),
            ],
            &[],
        );
        assert_eq!(order, ["a", "b", "c", "d"]);
        assert!(problems.is_empty(), "{problems:?}");
        // The same diamond named the other way round: d read by b and c, read by a.
        // Waves: {d}, {b, c}, {a}.
        let (order, _) = order_of(
            vec![
                model("a", &["b", "c"]),
                model("b", &["d"]),
                model("c", &["d"]),
                model("d", &[]),
            ],
            &[],
        );
        assert_eq!(order, ["d", "b", "c", "a"]);
    }

    #[test]
    fn a_chain_and_independent_models_run_wave_by_wave_in_name_order() {
        // The chain z_base ← m_mid ← a_top, the independent b_alone and y_alone, and
        // c_late reading z_base and m_mid. Wave 1 (reads nothing): b_alone, y_alone, z_base;
        // wave 2 (reads only wave 1): m_mid; wave 3: a_top and c_late (both read m_mid).
        // Not depth-first: a_top, first by name, runs last but one.
        let (order, problems) = order_of(
            vec![
                model("a_top", &["m_mid"]),
                model("b_alone", &[]),
                model("c_late", &["m_mid", "z_base"]),
                model("m_mid", &["z_base"]),
                model("y_alone", &[]),
                model("z_base", &[]),
            ],
            &[],
        );
        assert_eq!(
            order,
            ["b_alone", "y_alone", "z_base", "m_mid", "a_top", "c_late"]
        );
        assert!(problems.is_empty(), "{problems:?}");
    }

    #[test]
    fn a_two_model_loop_is_named_from_the_first_by_name() {
        // a reads b, b reads a: the walk from a goes a → b → a.
        let (order, problems) = order_of(vec![model("a", &["b"]), model("b", &["a"])], &[]);
        assert!(order.is_empty());
        assert_eq!(
            problems,
            ["cycle between models: a → b → a (sql/a.sql, sql/b.sql)"]
        );
    }

    #[test]
    fn a_three_model_loop_follows_the_reads() {
        // a reads c, c reads b, b reads a; x reads nothing and runs.
        let (order, problems) = order_of(
            vec![
                model("a", &["c"]),
                model("b", &["a"]),
                model("c", &["b"]),
                model("x", &[]),
            ],
            &[],
        );
        assert_eq!(order, ["x"]);
        assert_eq!(
            problems,
            ["cycle between models: a → c → b → a (sql/a.sql, sql/c.sql, sql/b.sql)"]
        );
    }

    #[test]
    fn a_model_reading_itself_is_a_loop() {
        let (order, problems) = order_of(vec![model("a", &["a"]), model("b", &[])], &[]);
        assert_eq!(order, ["b"]);
        assert_eq!(problems, ["cycle between models: a → a (sql/a.sql)"]);
    }

    #[test]
    fn a_model_behind_a_loop_is_listed_once_as_skipped() {
        // a_report reads b; b and c read each other. The walk from a_report (first by name)
        // goes a_report → b → c → b: the loop is named from b, where the walk entered it.
        // a_report is on no loop: skipped, once.
        let (order, problems) = order_of(
            vec![
                model("a_report", &["b"]),
                model("b", &["c"]),
                model("c", &["b"]),
            ],
            &[],
        );
        assert!(order.is_empty());
        assert_eq!(
            problems,
            [
                "cycle between models: b → c → b (sql/b.sql, sql/c.sql)",
                "skipped, as they read a model with an error: a_report",
            ]
        );
    }

    #[test]
    fn two_separate_loops_are_each_named() {
        // a ⇄ b and c → d → e → c, plus f reading e: two loops, f skipped.
        let (order, problems) = order_of(
            vec![
                model("a", &["b"]),
                model("b", &["a"]),
                model("c", &["d"]),
                model("d", &["e"]),
                model("e", &["c"]),
                model("f", &["e"]),
            ],
            &[],
        );
        assert!(order.is_empty());
        assert_eq!(
            problems,
            [
                "cycle between models: a → b → a (sql/a.sql, sql/b.sql)",
                "cycle between models: c → d → e → c (sql/c.sql, sql/d.sql, sql/e.sql)",
                "skipped, as they read a model with an error: f",
            ]
        );
    }

    #[test]
    fn a_loop_met_only_behind_a_named_loop_is_not_named() {
        // Kept as it has always been: a reads b and x, b ⇄ c, x reads a. The walk from a
        // meets b → c → b first (b before x by name) and names it; the walk from x meets it
        // again (x → a → b → c → b), so the loop a ⇄ x is never named: a and x are listed
        // as skipped.
        let (order, problems) = order_of(
            vec![
                model("a", &["b", "x"]),
                model("b", &["c"]),
                model("c", &["b"]),
                model("x", &["a"]),
            ],
            &[],
        );
        assert!(order.is_empty());
        assert_eq!(
            problems,
            [
                "cycle between models: b → c → b (sql/b.sql, sql/c.sql)",
                "skipped, as they read a model with an error: a, x",
            ]
        );
    }

    #[test]
    fn models_reading_a_broken_model_are_skipped() {
        // gone did not parse (not a model); bad reads an unknown table (a model, broken).
        // w reads gone: never ready. r reads bad: ordered after it, but bad leaves the order
        // and r is listed as skipped with w. ok runs.
        let (order, problems) = order_of(
            vec![
                model("bad", &[]),
                model("ok", &[]),
                model("r", &["bad"]),
                model("w", &["gone"]),
            ],
            &["bad", "gone"],
        );
        assert_eq!(order, ["ok", "r"]);
        assert_eq!(
            problems,
            ["skipped, as they read a model with an error: r, w"]
        );
    }
}
