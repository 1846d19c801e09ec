//! Shapley attribution by hand (conversions and rate games), closed form against
//! enumeration, sampling against the exact values, limits and zero conversions.

use crate::attribution::test_support::*;
use crate::attribution::*;

/// Shapley, conversions game, 3 channels, by hand over all 3! = 6 orders.
/// Conversions by channel set: {A} 3, {B} 1, {A,B} 4, {A,B,C} 6; {C} only nulls.
/// v(∅)=0, v(A)=3, v(B)=1, v(C)=0, v(AB)=8, v(AC)=3, v(BC)=1, v(ABC)=14.
/// Marginal contributions (A, B, C):
///   A,B,C: 3, 8−3=5, 14−8=6      A,C,B: 3, 14−3=11, 3−3=0
///   B,A,C: 8−1=7, 1, 6           B,C,A: 14−1=13, 1, 1−1=0
///   C,A,B: 3−0=3, 14−3=11, 0     C,B,A: 14−1=13, 1−0=1, 0
/// φ_A = (3+3+7+13+3+13)/6 = 7, φ_B = (5+11+1+1+11+1)/6 = 5, φ_C = (6+0+6+0+0+0)/6 = 2.
/// Closed form: φ_A = 3/1 + 4/2 + 6/3 = 7, φ_B = 1 + 2 + 2 = 5, φ_C = 6/3 = 2. Σ = 14.
#[test]
fn shapley_conversions_by_hand() {
    let t = table(&[
        ("A", 3, 5, 30.0),
        ("B", 1, 0, 10.0),
        ("B>A>B", 4, 1, 40.0),
        ("C>A>B", 6, 0, 60.0),
        ("C", 0, 7, 0.0),
    ]);
    for method in [
        ShapleyMethod::Exact,
        ShapleyMethod::ClosedForm,
        ShapleyMethod::Auto,
    ] {
        let r = shapley_attribution_table(
            &t,
            &ShapleyOptions {
                method,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(!r.approximate);
        assert!(close(sh(&r, "A").shapley_value, 7.0, 1e-12));
        assert!(close(sh(&r, "B").shapley_value, 5.0, 1e-12));
        assert!(close(sh(&r, "C").shapley_value, 2.0, 1e-12));
        assert!(close(sh(&r, "A").conversions, 7.0, 1e-12));
        // Value = 10 per conversion here, so the revenue game is 10× the conversion game.
        assert!(close(sh(&r, "A").value_shapley_value, 70.0, 1e-10));
        assert!(close(sh(&r, "C").revenue, 20.0, 1e-10));
        assert!(close(r.distributed_value, 14.0, 0.0));
    }
}

/// Shapley, conversion-rate game, 3 channels, by hand.
/// Sets: {A} 1 conv / 2 journeys, {B} 0/2, {A,B} 2/2, {C} 1/4.
/// v(∅)=0, v(A)=1/2, v(B)=0, v(C)=1/4, v(AB)=3/6=1/2, v(AC)=2/6=1/3, v(BC)=1/6,
/// v(ABC)=4/10=2/5.
/// Marginals (A, B, C):
///   A,B,C: 1/2, 0, 2/5−1/2=−1/10          A,C,B: 1/2, 2/5−1/3=1/15, 1/3−1/2=−1/6
///   B,A,C: 1/2−0=1/2, 0, −1/10            B,C,A: 2/5−1/6=7/30, 0, 1/6
///   C,A,B: 1/3−1/4=1/12, 1/15, 1/4        C,B,A: 7/30, 1/6−1/4=−1/12, 1/4
/// φ_A = (1/2+1/2+1/2+7/30+1/12+7/30)/6 = (246/120)/6 = 41/120,
/// φ_B = (0+1/15+0+0+1/15−1/12)/6 = (1/20)/6 = 1/120,
/// φ_C = (−1/10−1/6−1/10+1/6+1/4+1/4)/6 = (3/10)/6 = 6/120. Σ = 48/120 = 2/5 = v(ABC).
/// Conversions (4 in total): A = 41/48·4 = 41/12, B = 1/12, C = 1/2.
#[test]
fn shapley_rate_by_hand() {
    let t = table(&[
        ("A", 1, 1, 0.0),
        ("B", 0, 2, 0.0),
        ("A>B>A", 2, 0, 0.0),
        ("C>C", 1, 3, 0.0),
    ]);
    let opts = ShapleyOptions {
        value: CoalitionValue::ConversionRate,
        method: ShapleyMethod::Exact,
    };
    let r = shapley_attribution_table(&t, &opts).unwrap();
    assert!(close(sh(&r, "A").shapley_value, 41.0 / 120.0, 1e-14));
    assert!(close(sh(&r, "B").shapley_value, 1.0 / 120.0, 1e-14));
    assert!(close(sh(&r, "C").shapley_value, 6.0 / 120.0, 1e-14));
    assert!(close(r.distributed_value, 0.4, 1e-15));
    assert!(close(sh(&r, "A").conversions, 41.0 / 12.0, 1e-12));
    assert!(close(sh(&r, "B").conversions, 1.0 / 12.0, 1e-12));
    assert!(close(sh(&r, "C").conversions, 0.5, 1e-12));
    // No value: value credits are 0, not NaN.
    assert!(
        r.channels
            .iter()
            .all(|c| c.revenue == 0.0 && c.value_shapley_value == 0.0)
    );
    let bad = ShapleyOptions {
        value: CoalitionValue::ConversionRate,
        method: ShapleyMethod::ClosedForm,
    };
    assert!(matches!(
        shapley_attribution_table(&t, &bad),
        Err(AttributionError::InvalidOption(_))
    ));
}

#[test]
fn shapley_closed_form_equals_enumeration_and_efficiency() {
    for seed in 10..14u64 {
        let mut t = random_table(seed, 9, 600, 5);
        t.add_path::<&str>(&[], 3.0, 4.0, 12.0).unwrap(); // baseline journeys without touchpoints
        let exact = shapley_attribution_table(
            &t,
            &ShapleyOptions {
                value: CoalitionValue::Conversions,
                method: ShapleyMethod::Exact,
            },
        )
        .unwrap();
        let closed = shapley_closed_form(&t).unwrap();
        for (e, c) in exact.channels.iter().zip(&closed.channels) {
            assert_eq!(e.channel, c.channel);
            assert!(close(e.shapley_value, c.shapley_value, 1e-9), "{e:?} {c:?}");
            assert!(close(e.value_shapley_value, c.value_shapley_value, 1e-7));
        }
        // Efficiency: Σφ = v(N) − v(∅) = conversions of journeys with touchpoints.
        let sum: f64 = exact.channels.iter().map(|c| c.shapley_value).sum();
        assert!(close(sum, t.total_conversions() - 3.0, 1e-9));
        assert!(close(exact.empty_coalition_value, 3.0, 0.0));
        let shares: f64 = exact.channels.iter().map(|c| c.conversions).sum();
        assert!(close(shares, t.total_conversions(), 1e-9));
        let vshares: f64 = exact.channels.iter().map(|c| c.revenue).sum();
        assert!(close(vshares, t.total_value(), 1e-7));
        // Rate game efficiency too.
        let rate = shapley_attribution_table(
            &t,
            &ShapleyOptions {
                value: CoalitionValue::ConversionRate,
                method: ShapleyMethod::Exact,
            },
        )
        .unwrap();
        let sum: f64 = rate.channels.iter().map(|c| c.shapley_value).sum();
        assert!(close(sum, rate.distributed_value, 1e-12));
    }
}

#[test]
fn shapley_sampling_approximates_exact_rate() {
    let t = random_table(99, 6, 500, 4);
    let exact = shapley_attribution_table(
        &t,
        &ShapleyOptions {
            value: CoalitionValue::ConversionRate,
            method: ShapleyMethod::Exact,
        },
    )
    .unwrap();
    let sampled_opts = ShapleyOptions {
        value: CoalitionValue::ConversionRate,
        method: ShapleyMethod::Sampled {
            permutations: DEFAULT_SHAPLEY_PERMUTATIONS,
            seed: 7,
        },
    };
    let sampled = shapley_attribution_table(&t, &sampled_opts).unwrap();
    assert!(sampled.approximate);
    assert_eq!(
        sampled.computation,
        ShapleyComputation::Sampled {
            permutations: DEFAULT_SHAPLEY_PERMUTATIONS,
            seed: 7
        }
    );
    for (e, s) in exact.channels.iter().zip(&sampled.channels) {
        let se = s.standard_error.unwrap();
        assert!(se < 2e-3, "{se}");
        assert!(
            close(e.shapley_value, s.shapley_value, 2e-3_f64.max(5.0 * se)),
            "{} exact {} sampled {} se {se}",
            e.channel,
            e.shapley_value,
            s.shapley_value
        );
    }
    // Each permutation is efficient, so the sampled values sum exactly to v(N) − v(∅).
    let sum: f64 = sampled.channels.iter().map(|c| c.shapley_value).sum();
    assert!(close(sum, exact.distributed_value, 1e-12));
    // Same seed, same result.
    assert_eq!(
        shapley_attribution_table(&t, &sampled_opts).unwrap(),
        sampled
    );
}

#[test]
fn shapley_limits_and_zero_conversions() {
    let mut t = PathTable::new();
    let names: Vec<String> = (0..17).map(|i| format!("c{i:02}")).collect();
    for w in names.windows(2) {
        t.add_path(w, 1.0, 1.0, 2.0).unwrap();
    }
    let exact = ShapleyOptions {
        method: ShapleyMethod::Exact,
        ..Default::default()
    };
    assert_eq!(
        shapley_attribution_table(&t, &exact),
        Err(AttributionError::TooManyChannels {
            channels: 17,
            limit: MAX_EXACT_SHAPLEY_CHANNELS
        })
    );
    let auto = shapley_attribution_table(&t, &ShapleyOptions::default()).unwrap();
    assert_eq!(auto.computation, ShapleyComputation::ClosedForm);
    assert!(!auto.approximate);
    let rate = ShapleyOptions {
        value: CoalitionValue::ConversionRate,
        method: ShapleyMethod::Auto,
    };
    let r = shapley_attribution_table(&t, &rate).unwrap();
    assert!(r.approximate);
    let zero = table(&[("A>B", 0, 3, 0.0), ("B", 0, 1, 0.0)]);
    for value in [CoalitionValue::Conversions, CoalitionValue::ConversionRate] {
        let r = shapley_attribution_table(
            &zero,
            &ShapleyOptions {
                value,
                method: ShapleyMethod::Auto,
            },
        )
        .unwrap();
        assert!(
            r.channels
                .iter()
                .all(|c| c.shapley_value == 0.0 && c.conversions == 0.0)
        );
    }
    assert_eq!(
        shapley_attribution_table(&PathTable::new(), &ShapleyOptions::default()),
        Err(AttributionError::EmptyInput)
    );
    // Only journeys without touchpoints: no channel, nothing distributed, no panic.
    let bare = table(&[("", 2, 3, 8.0)]);
    for method in [
        ShapleyMethod::Exact,
        ShapleyMethod::ClosedForm,
        ShapleyMethod::Auto,
    ] {
        let r = shapley_attribution_table(
            &bare,
            &ShapleyOptions {
                method,
                ..Default::default()
            },
        )
        .unwrap();
        assert!(r.channels.is_empty());
        assert_eq!(r.distributed_value, 0.0);
        assert_eq!(r.empty_coalition_value, 2.0);
    }
    let sampled = ShapleyOptions {
        value: CoalitionValue::ConversionRate,
        method: ShapleyMethod::Sampled {
            permutations: 3,
            seed: 1,
        },
    };
    assert!(
        shapley_attribution_table(&bare, &sampled)
            .unwrap()
            .channels
            .is_empty()
    );
    let m = markov_attribution_table(&bare, &MarkovOptions::default()).unwrap();
    assert!(close(m.conversion_probability, 0.4, 1e-15));
    assert!(m.channels.is_empty());
    assert!(bare.memory_size() > 0);
}
