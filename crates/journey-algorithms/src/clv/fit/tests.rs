//! Tests of the fits: the CDNOW reproductions of the published estimates, weights and the
//! penalty, bad input and non-convergence.

use super::*;
use crate::clv::test_support::*;

// ---- CDNOW reproduction ---------------------------------------------------------

#[test]
fn cdnow_bgnbd_reproduces_published_estimates() {
    let rows = read_cdnow(CDNOW_SUMMARY);
    assert_eq!(rows.len(), 2357);
    let start = std::time::Instant::now();
    let fit = fit_bgnbd(
        &column(&rows, 0),
        &column(&rows, 1),
        &column(&rows, 2),
        None,
        &FitOptions::default(),
    )
    .unwrap();
    eprintln!("CDNOW BG/NBD fit: {fit:?} in {:?}", start.elapsed());
    assert!(fit.converged, "{:?}", fit.reason);
    assert_eq!(fit.customers, 2357.0);
    let p = fit.params;
    assert_rel(p.r, 0.243, 0.01, "r");
    assert_rel(p.alpha, 4.414, 0.01, "alpha");
    assert_rel(p.a, 0.793, 0.01, "a");
    assert_rel(p.b, 2.426, 0.01, "b");
    // The paper reports LL = -9582.4; lifetimes 0.11.3 gives r=0.242593,
    // alpha=4.413532, a=0.792886, b=2.425752 on this file.
    assert!(
        (fit.log_likelihood + 9582.4).abs() < 0.1,
        "LL {}",
        fit.log_likelihood
    );
    assert_rel(p.r, 0.242593, 1e-3, "r vs lifetimes");
    assert_rel(p.alpha, 4.413532, 1e-3, "alpha vs lifetimes");
    assert_rel(p.a, 0.792886, 1e-3, "a vs lifetimes");
    assert_rel(p.b, 2.425752, 1e-3, "b vs lifetimes");
}

#[test]
fn cdnow_gamma_gamma_reproduces_published_estimates() {
    let rows = read_cdnow(CDNOW_WITH_MONETARY);
    // Same customers as the plain summary file.
    let summary = read_cdnow(CDNOW_SUMMARY);
    assert_eq!(rows.len(), summary.len());
    for (a, b) in rows.iter().zip(&summary) {
        assert_eq!(a[..3], b[..3]);
    }
    let start = std::time::Instant::now();
    let fit = fit_gamma_gamma(
        &column(&rows, 0),
        &column(&rows, 3),
        None,
        &FitOptions::default(),
    )
    .unwrap();
    eprintln!("CDNOW Gamma-Gamma fit: {fit:?} in {:?}", start.elapsed());
    assert!(fit.converged, "{:?}", fit.reason);
    assert_eq!(fit.customers, 946.0); // customers with frequency > 0
    let g = fit.params;
    assert_rel(g.p, 6.25, 0.01, "p");
    assert_rel(g.q, 3.74, 0.01, "q");
    assert_rel(g.v, 15.44, 0.01, "v (gamma)");
    // lifetimes 0.11.3: p=6.248802, q=3.744588, v=15.447748, LL=-4055.92.
    assert!(
        (fit.log_likelihood + 4055.92).abs() < 0.01,
        "LL {}",
        fit.log_likelihood
    );
    // lifetimes: conditional_expected_average_profit for customer 1 (x=2,
    // m=22.35) = 24.658616 and for x=0 (population mean) = 35.171002.
    let e1 = g.conditional_expected_average_value(2.0, 22.35).unwrap();
    assert_rel(e1, 24.658616, 1e-4, "E[M] customer 1");
    assert_rel(
        g.population_mean_value().unwrap(),
        35.171002,
        1e-4,
        "population mean",
    );
}

#[test]
fn cdnow_weighted_fit_equals_unweighted_fit() {
    // Collapse identical (x, t_x, T) rows into one weighted row.
    let rows = read_cdnow(CDNOW_SUMMARY);
    let mut groups: Vec<([f64; 3], f64)> = Vec::new();
    for r in &rows {
        let key = [r[0], r[1], r[2]];
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, w)) => *w += 1.0,
            None => groups.push((key, 1.0)),
        }
    }
    assert!(groups.len() < rows.len());
    let col = |i: usize| groups.iter().map(|(k, _)| k[i]).collect::<Vec<_>>();
    let w: Vec<f64> = groups.iter().map(|g| g.1).collect();
    let fit = fit_bgnbd(&col(0), &col(1), &col(2), Some(&w), &FitOptions::default()).unwrap();
    assert!(fit.converged, "{:?}", fit.reason);
    assert_eq!(fit.customers, 2357.0);
    assert_rel(fit.params.r, 0.242593, 1e-3, "r");
    assert_rel(fit.params.alpha, 4.413532, 1e-3, "alpha");
    assert_rel(fit.params.a, 0.792886, 1e-3, "a");
    assert_rel(fit.params.b, 2.425752, 1e-3, "b");
    assert!((fit.log_likelihood + 9582.4).abs() < 0.1);
}

#[test]
fn penalizer_shrinks_parameters() {
    let rows = read_cdnow(CDNOW_SUMMARY);
    let options = FitOptions {
        penalizer_coef: 0.1,
        ..FitOptions::default()
    };
    let fit = fit_bgnbd(
        &column(&rows, 0),
        &column(&rows, 1),
        &column(&rows, 2),
        None,
        &options,
    )
    .unwrap();
    assert!(fit.converged, "{:?}", fit.reason);
    // The penalty lowers the sum of squares; b (the largest) must shrink.
    assert!(fit.params.b < 2.4, "{:?}", fit.params);
    assert!(fit.log_likelihood < -9582.4);
}

// ---- bad input and non-convergence -----------------------------------------------

#[test]
fn bad_input_is_an_error() {
    let o = FitOptions::default();
    assert!(matches!(
        fit_bgnbd(&[], &[], &[], None, &o),
        Err(ClvError::Empty(_))
    ));
    assert!(matches!(
        fit_bgnbd(&[1.0], &[2.0], &[3.0], None, &o),
        Err(ClvError::TooFewCustomers(_))
    ));
    assert!(matches!(
        fit_bgnbd(&[1.0, 2.0], &[2.0], &[3.0, 4.0], None, &o),
        Err(ClvError::LengthMismatch(_))
    ));
    let bad_row = |f: f64, r: f64, t: f64| {
        matches!(
            fit_bgnbd(&[1.0, f], &[1.0, r], &[2.0, t], None, &o),
            Err(ClvError::InvalidRow { row: 1, .. })
        )
    };
    assert!(bad_row(1.0, 5.0, 4.0)); // recency > T
    assert!(bad_row(-1.0, 0.0, 4.0)); // negative frequency
    assert!(bad_row(1.5, 1.0, 4.0)); // non-integer frequency
    assert!(bad_row(1.0, -1.0, 4.0)); // negative recency
    assert!(bad_row(0.0, 1.0, 4.0)); // frequency 0 with recency > 0
    assert!(bad_row(1.0, f64::NAN, 4.0)); // NaN
    assert!(bad_row(1.0, 1.0, f64::INFINITY)); // infinite T
    // frequency > 0 with recency 0 is allowed (lifetimes' rules).
    assert!(
        fit_bgnbd(
            &[1.0, 1.0, 0.0],
            &[0.0, 1.0, 0.0],
            &[2.0, 3.0, 4.0],
            None,
            &o
        )
        .is_ok()
    );
    // Weights: wrong length, negative, and total below 2.
    assert!(matches!(
        fit_bgnbd(&[1.0, 1.0], &[1.0, 1.0], &[2.0, 2.0], Some(&[1.0]), &o),
        Err(ClvError::LengthMismatch(_))
    ));
    assert!(matches!(
        fit_bgnbd(
            &[1.0, 1.0],
            &[1.0, 1.0],
            &[2.0, 2.0],
            Some(&[1.0, -1.0]),
            &o
        ),
        Err(ClvError::InvalidRow { row: 1, .. })
    ));
    assert!(matches!(
        fit_bgnbd(&[1.0, 1.0], &[1.0, 1.0], &[2.0, 2.0], Some(&[0.5, 0.5]), &o),
        Err(ClvError::TooFewCustomers(_))
    ));
    // Options.
    let neg = FitOptions {
        penalizer_coef: -1.0,
        ..o
    };
    assert!(matches!(
        fit_bgnbd(&[1.0, 1.0], &[1.0, 1.0], &[2.0, 2.0], None, &neg),
        Err(ClvError::InvalidArgument(_))
    ));
    // Gamma-Gamma: no repeat buyers, only one, zero spend.
    assert!(matches!(
        fit_gamma_gamma(&[0.0, 0.0], &[0.0, 0.0], None, &o),
        Err(ClvError::Empty(_))
    ));
    assert!(matches!(
        fit_gamma_gamma(&[0.0, 2.0], &[0.0, 10.0], None, &o),
        Err(ClvError::TooFewCustomers(_))
    ));
    assert!(matches!(
        fit_gamma_gamma(&[1.0, 2.0], &[0.0, 10.0], None, &o),
        Err(ClvError::InvalidRow { row: 0, .. })
    ));
    assert!(matches!(
        fit_gamma_gamma(&[1.0, 2.5], &[5.0, 10.0], None, &o),
        Err(ClvError::InvalidRow { row: 1, .. })
    ));
    // Predictions.
    let p = PAPER_BGNBD;
    assert!(matches!(
        p.probability_alive(2.0, 40.0, 38.0),
        Err(ClvError::InvalidCustomer(_))
    ));
    assert!(matches!(
        p.conditional_expected_purchases(-1.0, 2.0, 30.0, 38.0),
        Err(ClvError::InvalidArgument(_))
    ));
    assert!(matches!(
        p.conditional_expected_purchases(f64::NAN, 2.0, 30.0, 38.0),
        Err(ClvError::InvalidArgument(_))
    ));
    assert!(matches!(
        BgNbdParams::new(0.0, 1.0, 1.0, 1.0),
        Err(ClvError::InvalidParams(_))
    ));
    assert!(matches!(
        BgNbdParams::new(f64::NAN, 1.0, 1.0, 1.0),
        Err(ClvError::InvalidParams(_))
    ));
    let literal = BgNbdParams {
        r: -1.0,
        ..PAPER_BGNBD
    };
    assert!(matches!(
        literal.expected_purchases(1.0),
        Err(ClvError::InvalidParams(_))
    ));
    assert!(matches!(
        GammaGammaParams::new(1.0, f64::INFINITY, 1.0),
        Err(ClvError::InvalidParams(_))
    ));
}

#[test]
fn iteration_cap_gives_converged_false() {
    let rows = read_cdnow(CDNOW_SUMMARY);
    let options = FitOptions {
        max_iters: 5,
        ..FitOptions::default()
    };
    let fit = fit_bgnbd(
        &column(&rows, 0),
        &column(&rows, 1),
        &column(&rows, 2),
        None,
        &options,
    )
    .unwrap();
    assert!(!fit.converged);
    assert!(
        fit.reason.as_deref().unwrap().contains("iteration cap"),
        "{:?}",
        fit.reason
    );
    assert!(fit.iterations <= 5);
    assert!(fit.log_likelihood.is_finite());
}

#[test]
fn degenerate_data_gives_converged_false_not_nan() {
    // Nobody ever buys again: the likelihood increases without bound as r/α -> 0.
    let n = 50;
    let zeros = vec![0.0; n];
    let ages: Vec<f64> = (0..n).map(|i| 10.0 + i as f64).collect();
    let fit = fit_bgnbd(&zeros, &zeros, &ages, None, &FitOptions::default()).unwrap();
    eprintln!("{fit:?}");
    assert!(!fit.converged);
    assert!(fit.reason.is_some());
    // Everyone buys exactly the same amount each time: Gamma-Gamma variance -> 0.
    let fit = fit_gamma_gamma(
        &[1.0, 2.0, 3.0, 4.0],
        &[10.0; 4],
        None,
        &FitOptions::default(),
    )
    .unwrap();
    eprintln!("{fit:?}");
    assert!(!fit.converged);
    assert!(fit.reason.is_some());
}
