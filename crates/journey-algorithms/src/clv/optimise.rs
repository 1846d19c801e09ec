//! The Nelder–Mead driver of the CLV fits (crate `argmin`): minimisation over
//! log-parameters with restarts, the checks that decide whether an optimum is usable, and the
//! assembly of a [`Fit`].

use argmin::core::{CostFunction, Error as ArgminError, Executor, State, TerminationReason};
use argmin::solver::neldermead::NelderMead;

use super::{Fit, FitOptions};

/// Smallest and largest parameter value accepted as a real optimum; beyond these the
/// likelihood is running off to a boundary (degenerate data).
const PARAM_MIN: f64 = 1e-8;
/// The cap is applied on the rescaled time axis (largest T = 1), where published fits have
/// parameters well under 100; beyond 10⁴ the Gamma or Beta mixing distribution has collapsed
/// to a point (a homogeneous base) and the predictions' hypergeometric series overflow.
const PARAM_MAX: f64 = 1e4;
/// Largest acceptable |∂objective/∂ln θ| at the optimum (objective = mean NLL per customer).
const GRADIENT_TOL: f64 = 1e-4;
/// Nelder–Mead restarts from the best point (a restart rebuilds a collapsed simplex).
const MAX_RESTARTS: usize = 4;

/// Objective for argmin: mean penalised negative log-likelihood over log-parameters.
/// Non-finite values are mapped to +∞ so the simplex moves away from them (argmin's
/// Nelder–Mead cannot handle NaN).
struct Objective<F: Fn(&[f64]) -> f64> {
    f: F,
}

impl<F: Fn(&[f64]) -> f64> CostFunction for Objective<F> {
    type Param = Vec<f64>;
    type Output = f64;
    fn cost(&self, log_params: &Self::Param) -> Result<f64, ArgminError> {
        let v = (self.f)(log_params);
        Ok(if v.is_finite() { v } else { f64::INFINITY })
    }
}

pub(super) struct Minimum {
    pub(super) log_params: Vec<f64>,
    iterations: u64,
    problem: Option<String>,
}

/// Minimises `f` over log-parameters from `start` with Nelder–Mead, restarting from the
/// best point until a restart no longer improves the objective, then checks the
/// optimum (finite value, parameters away from 0/∞, central-difference gradient ≈ 0).
pub(super) fn minimise<F: Fn(&[f64]) -> f64>(
    f: F,
    start: Vec<f64>,
    names: &[&str],
    options: &FitOptions,
) -> Minimum {
    let objective = Objective { f };
    let mut best = start;
    let mut best_value = objective.cost(&best).unwrap_or(f64::INFINITY);
    let mut iterations = 0_u64;
    let mut step = 1.0;
    let mut problem = None;
    for restart in 0..=MAX_RESTARTS {
        let remaining = options.max_iters.saturating_sub(iterations);
        if remaining == 0 {
            problem = Some(format!(
                "hit the iteration cap ({}) before converging",
                options.max_iters
            ));
            break;
        }
        let mut simplex = vec![best.clone()];
        for i in 0..best.len() {
            let mut vertex = best.clone();
            vertex[i] += step;
            simplex.push(vertex);
        }
        let solver = match NelderMead::new(simplex).with_sd_tolerance(options.tolerance) {
            Ok(s) => s,
            Err(e) => {
                problem = Some(format!("optimiser setup failed: {e}"));
                break;
            }
        };
        let result = Executor::new(Objective { f: &objective.f }, solver)
            .configure(|state| state.max_iters(remaining))
            .timer(false)
            .run();
        let state = match result {
            Ok(r) => r.state().clone(),
            Err(e) => {
                problem = Some(format!("optimiser failed: {e}"));
                break;
            }
        };
        iterations += state.get_iter();
        let reached_cap = matches!(
            state.get_termination_reason(),
            Some(TerminationReason::MaxItersReached)
        );
        let improvement = best_value - state.get_best_cost();
        if let Some(p) = state.get_best_param()
            && state.get_best_cost() <= best_value
        {
            best = p.clone();
            best_value = state.get_best_cost();
        }
        if reached_cap {
            problem = Some(format!(
                "hit the iteration cap ({}) before converging",
                options.max_iters
            ));
            break;
        }
        // A restart that cannot improve the objective confirms the optimum.
        // (`improvement` is NaN when both values are +inf; that counts as no improvement.)
        let improved = improvement > 10.0 * options.tolerance;
        if restart > 0 && !improved {
            problem = None;
            break;
        }
        if restart == MAX_RESTARTS {
            problem = Some("still improving after the last Nelder-Mead restart".to_string());
        }
        step = 0.1;
    }
    if problem.is_none() {
        problem = check_optimum(&objective.f, &best, best_value, names);
    }
    Minimum {
        log_params: best,
        iterations,
        problem,
    }
}

fn check_optimum<F: Fn(&[f64]) -> f64>(
    f: &F,
    log_params: &[f64],
    value: f64,
    names: &[&str],
) -> Option<String> {
    if !value.is_finite() {
        return Some("the log-likelihood is not finite at the optimum".to_string());
    }
    for (i, lp) in log_params.iter().enumerate() {
        let p = lp.exp();
        if !(p.is_finite() && (PARAM_MIN..=PARAM_MAX).contains(&p)) {
            return Some(format!(
                "parameter {} ran off to {p:e}: the likelihood keeps improving towards a boundary \
                 (degenerate data, e.g. almost no repeat purchases or identical spends; \
                 a penalizer_coef > 0 may help)",
                names[i]
            ));
        }
    }
    let h = 1e-5;
    for i in 0..log_params.len() {
        let mut up = log_params.to_vec();
        let mut down = log_params.to_vec();
        up[i] += h;
        down[i] -= h;
        let g = (f(&up) - f(&down)) / (2.0 * h);
        if !g.is_finite() || g.abs() > GRADIENT_TOL {
            return Some(format!(
                "gradient is not ~0 at the optimum (d/d ln {} = {g:e})",
                names[i]
            ));
        }
    }
    None
}

pub(super) fn finish<P>(
    params: P,
    log_likelihood: f64,
    min: Minimum,
    customers: f64,
    model_check: impl Fn(&P) -> Option<String>,
) -> Fit<P> {
    let reason = min
        .problem
        .or_else(|| {
            (!log_likelihood.is_finite())
                .then(|| "the log-likelihood is not finite at the optimum".to_string())
        })
        .or_else(|| model_check(&params));
    Fit {
        params,
        log_likelihood,
        iterations: min.iterations,
        converged: reason.is_none(),
        reason,
        customers,
    }
}
