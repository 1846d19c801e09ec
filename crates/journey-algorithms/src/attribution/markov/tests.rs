//! Markov attribution by hand (orders 1 and 2, value, repeated touchpoints), edge cases and
//! wide state keys.

use crate::attribution::test_support::*;
use crate::attribution::*;

/// Paths: A>B → 1 conversion (value 10); A → 1 null; B → 1 conversion (value 20).
///
/// Counts: start→A 2, start→B 1; A→B 1, A→null 1; B→conv 2.
/// P: start→A 2/3, start→B 1/3; A→B 1/2, A→null 1/2; B→conv 1.
/// x_B = 1; x_A = ½·x_B = ½; P(conv) = x_start = ⅔·½ + ⅓·1 = ⅔ (= 2 of 3 journeys).
/// Remove A (start→A goes to null): x_start = ⅓·1 = ⅓, RE_A = 1 − ⅓/⅔ = ½.
/// Remove B: x_B = 0 ⇒ x_A = 0 ⇒ x_start = 0, RE_B = 1.
/// Σ RE = 3/2; conversions: A = ½/(3/2)·2 = 2/3, B = 1/(3/2)·2 = 4/3 (sum 2).
/// Value: all value leaves B (30 over 2 exits: r_B = 15); y_B = 15, y_A = 7.5,
/// y_start = ⅔·7.5 + ⅓·15 = 10 (= 30 / 3 journeys). Remove A: y = ⅓·15 = 5, RE = ½;
/// remove B: y = 0, RE = 1. Value: A = ⅓·30 = 10, B = ⅔·30 = 20.
#[test]
fn markov_order1_by_hand() {
    let t = table(&[("A>B", 1, 0, 10.0), ("A", 0, 1, 0.0), ("B", 1, 0, 20.0)]);
    let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
    assert_eq!(r.transient_states, 3);
    assert!(close(prob(&r, "(start)", "A"), 2.0 / 3.0, 1e-15));
    assert!(close(prob(&r, "(start)", "B"), 1.0 / 3.0, 1e-15));
    assert!(close(prob(&r, "A", "B"), 0.5, 1e-15));
    assert!(close(prob(&r, "A", "(null)"), 0.5, 1e-15));
    assert!(close(prob(&r, "B", "(conversion)"), 1.0, 1e-15));
    assert_eq!(r.transitions.len(), 5);
    assert!(close(r.conversion_probability, 2.0 / 3.0, 1e-14));
    assert!(close(r.expected_value_per_journey, 10.0, 1e-12));
    let (a, b) = (credit(&r, "A"), credit(&r, "B"));
    assert!(close(a.conversion_probability_without, 1.0 / 3.0, 1e-14));
    assert!(close(a.removal_effect, 0.5, 1e-14));
    assert!(close(b.removal_effect, 1.0, 1e-14));
    assert!(close(a.conversions, 2.0 / 3.0, 1e-12));
    assert!(close(b.conversions, 4.0 / 3.0, 1e-12));
    assert!(close(a.value_removal_effect, 0.5, 1e-14));
    assert!(close(a.revenue, 10.0, 1e-12));
    assert!(close(b.revenue, 20.0, 1e-12));
    check_invariants(&r);
}

/// Value is split by value removal effects, not by conversion removal effects.
/// Paths: A → 1 conv, value 100; A>B → 1 conv, value 10; B → 1 null.
/// Counts: start→A 2, start→B 1; A→conv 1, A→B 1; B→conv 1, B→null 1.
/// x_B = ½; x_A = ½ + ½·½ = ¾; x_start = ⅔·¾ + ⅓·½ = ⅔.
/// Remove A: x_start = ⅓·½ = 1/6, RE_A = 1 − (1/6)/(2/3) = ¾.
/// Remove B: x_A = ½, x_start = ⅓, RE_B = ½. Σ = 5/4: A = 1.2, B = 0.8 conversions.
/// Value per exit: r_A = 100/2 = 50, r_B = 10/2 = 5. y_B = 5; y_A = 50 + ½·5 = 52.5;
/// y_start = ⅔·52.5 + ⅓·5 = 110/3 (= 110 / 3 journeys).
/// Remove A: y = ⅓·5 = 5/3, RE_A = 1 − 5/110 = 21/22. Remove B: y_A = 50, y = 100/3,
/// RE_B = 1 − 100/110 = 1/11 = 2/22. Σ = 23/22: value A = 21/23·110, B = 2/23·110.
#[test]
fn markov_value_removal_effects_by_hand() {
    let t = table(&[("A", 1, 0, 100.0), ("A>B", 1, 0, 10.0), ("B", 0, 1, 0.0)]);
    let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
    assert!(close(r.conversion_probability, 2.0 / 3.0, 1e-14));
    assert!(close(r.expected_value_per_journey, 110.0 / 3.0, 1e-12));
    let (a, b) = (credit(&r, "A"), credit(&r, "B"));
    assert!(close(a.removal_effect, 0.75, 1e-14));
    assert!(close(b.removal_effect, 0.5, 1e-14));
    assert!(close(a.conversions, 1.2, 1e-12));
    assert!(close(b.conversions, 0.8, 1e-12));
    assert!(close(a.value_removal_effect, 21.0 / 22.0, 1e-14));
    assert!(close(b.value_removal_effect, 1.0 / 11.0, 1e-14));
    assert!(close(a.revenue, 21.0 / 23.0 * 110.0, 1e-10));
    assert!(close(b.revenue, 2.0 / 23.0 * 110.0, 1e-10));
    check_invariants(&r);
}

/// Order 2. Paths: A>B>C → 1 conv; B>C → 1 null; A>C → 1 conv; C → 1 conv.
/// States (windows of 2; the short path C is the state (C)):
///   A>B>C: (A,B) → (B,C) → conv;  B>C: (B,C) → null;  A>C: (A,C) → conv;  C: (C) → conv.
/// Counts: start→AB, start→BC, start→AC, start→C 1 each (¼ each); AB→BC 1;
/// BC→conv 1, BC→null 1; AC→conv 1; C→conv 1.
/// x_BC = ½, x_AB = x_BC = ½, x_AC = 1, x_C = 1; P = ¼(½ + ½ + 1 + 1) = ¾.
/// Remove A (AB, AC → null): P = ¼(0 + ½ + 0 + 1) = 3/8, RE_A = 1 − (3/8)/(3/4) = ½.
/// Remove B (AB, BC → null): P = ¼(0 + 0 + 1 + 1) = ½, RE_B = 1 − (½)/(¾) = ⅓.
/// Remove C (AC, BC, C → null; AB only leads to BC): P = 0, RE_C = 1.
/// Σ = 11/6, 3 conversions: A = 9/11, B = 6/11, C = 18/11.
/// (Order 1 on the same data gives RE_B = ½: the order matters.)
#[test]
fn markov_order2_by_hand() {
    let t = table(&[
        ("A>B>C", 1, 0, 0.0),
        ("B>C", 0, 1, 0.0),
        ("A>C", 1, 0, 0.0),
        ("C", 1, 0, 0.0),
    ]);
    let opts = MarkovOptions {
        order: 2,
        ..Default::default()
    };
    let r = markov_attribution_table(&t, &opts).unwrap();
    assert_eq!(r.transient_states, 5);
    assert!(close(prob(&r, "(start)", "A > B"), 0.25, 1e-15));
    assert!(close(prob(&r, "A > B", "B > C"), 1.0, 1e-15));
    assert!(close(prob(&r, "B > C", "(null)"), 0.5, 1e-15));
    assert!(close(prob(&r, "C", "(conversion)"), 1.0, 1e-15));
    assert!(close(r.conversion_probability, 0.75, 1e-14));
    assert!(close(credit(&r, "A").removal_effect, 0.5, 1e-14));
    assert!(close(credit(&r, "B").removal_effect, 1.0 / 3.0, 1e-14));
    assert!(close(credit(&r, "C").removal_effect, 1.0, 1e-14));
    assert!(close(credit(&r, "A").conversions, 9.0 / 11.0, 1e-12));
    assert!(close(credit(&r, "B").conversions, 6.0 / 11.0, 1e-12));
    assert!(close(credit(&r, "C").conversions, 18.0 / 11.0, 1e-12));
    check_invariants(&r);

    // Order 1 on the same data: start→A ½, →B ¼, →C ¼; A→B ½, A→C ½; B→C 1;
    // C→conv ¾. x_C = x_B = x_A = P = ¾; remove B: x_A = 3/8, P = ½·3/8 + ¼·¾ = 3/8, RE = ½.
    let r1 = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
    assert!(close(r1.conversion_probability, 0.75, 1e-14));
    assert!(close(credit(&r1, "B").removal_effect, 0.5, 1e-14));
}

/// Repeated touchpoints: consecutive identical states are merged (no self-loops), which
/// leaves absorption probabilities unchanged.
#[test]
fn markov_repeated_touchpoints() {
    let a = table(&[("A>A>B", 2, 1, 5.0), ("B>B", 0, 3, 0.0), ("A", 1, 1, 1.0)]);
    let b = table(&[("A>B", 2, 1, 5.0), ("B", 0, 3, 0.0), ("A", 1, 1, 1.0)]);
    let ra = markov_attribution_table(&a, &MarkovOptions::default()).unwrap();
    let rb = markov_attribution_table(&b, &MarkovOptions::default()).unwrap();
    assert_eq!(ra.transitions, rb.transitions);
    assert!(ra.transitions.iter().all(|t| t.from != t.to));
    assert_eq!(ra.channels, rb.channels);
    // Order 2: A>A>A>B gives (A,A) → (A,B); with pre-collapse it is the single state (A,B).
    let t = table(&[("A>A>A>B", 1, 0, 0.0)]);
    let r = markov_attribution_table(
        &t,
        &MarkovOptions {
            order: 2,
            ..Default::default()
        },
    )
    .unwrap();
    assert!(close(prob(&r, "A > A", "A > B"), 1.0, 0.0));
    assert_eq!(r.transient_states, 3);
    let opts = MarkovOptions {
        order: 2,
        collapse_repeated_touchpoints: true,
    };
    let r = markov_attribution_table(&t, &opts).unwrap();
    assert!(close(prob(&r, "(start)", "A > B"), 1.0, 0.0));
    assert_eq!(r.transient_states, 2);
}

#[test]
fn markov_edge_cases() {
    // Zero conversions: everything 0, no NaN.
    let t = table(&[("A>B", 0, 4, 0.0), ("B", 0, 1, 0.0)]);
    let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
    assert_eq!(r.conversion_probability, 0.0);
    for c in &r.channels {
        assert_eq!(
            (c.removal_effect, c.conversions, c.revenue),
            (0.0, 0.0, 0.0)
        );
    }
    // No nulls at all (ChannelAttribution without var_null): P = 1.
    let t = table(&[("A>B", 3, 0, 0.0), ("B", 1, 0, 0.0)]);
    let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
    assert!(close(r.conversion_probability, 1.0, 1e-14));
    assert!(close(credit(&r, "A").removal_effect, 0.75, 1e-14));
    assert!(close(credit(&r, "B").removal_effect, 1.0, 1e-14));
    check_invariants(&r);
    // Paths without touchpoints count in the totals and are credited to nobody.
    let t = table(&[("", 2, 2, 0.0), ("A", 2, 0, 0.0)]);
    let r = markov_attribution_table(&t, &MarkovOptions::default()).unwrap();
    assert!(close(r.conversion_probability, 4.0 / 6.0, 1e-14));
    assert!(close(credit(&r, "A").removal_effect, 0.5, 1e-14));
    assert!(close(credit(&r, "A").conversions, 4.0, 1e-12));
    // Errors.
    assert_eq!(
        markov_attribution_table(&PathTable::new(), &MarkovOptions::default()),
        Err(AttributionError::EmptyInput)
    );
    assert_eq!(
        markov_attribution_table(
            &t,
            &MarkovOptions {
                order: 0,
                ..Default::default()
            }
        ),
        Err(AttributionError::InvalidOrder(0))
    );
    let mut bad = PathTable::new();
    assert!(matches!(
        bad.add_path(&["A"], 0.0, 1.0, 5.0),
        Err(AttributionError::BadCounts(_))
    ));
    assert!(matches!(
        bad.add_path(&["A"], 1.0, 0.0, f64::NAN),
        Err(AttributionError::BadCounts(_))
    ));
    assert!(matches!(
        bad.add_path(&["A"], 1.0, 0.0, -1.0),
        Err(AttributionError::BadCounts(_))
    ));
    assert!(matches!(
        bad.add_path(&["A", ""], 1.0, 0.0, 1.0),
        Err(AttributionError::BadTouchpoint(_))
    ));
    bad.add_path(&["A"], 2.0, 0.0, 0.0).unwrap();
    assert!(matches!(
        bad.add_path(&["A"], -1.0, 0.0, 0.0),
        Err(AttributionError::BadCounts(_))
    ));
    assert!(matches!(
        bad.add_path(&["A"], 1.0, f64::INFINITY, 0.0),
        Err(AttributionError::BadCounts(_))
    ));
    assert!(matches!(
        bad.add_path(&["B"], 1.0, 0.0, f64::NAN),
        Err(AttributionError::BadCounts(_))
    ));
    assert_eq!(bad.len(), 1);
    // Too many states: 40 channels at order 2.
    let mut big = PathTable::new();
    let names: Vec<String> = (0..40).map(|i| format!("c{i}")).collect();
    for a in &names {
        for b in &names {
            big.add_path(&[a, b], 1.0, 1.0, 0.0).unwrap();
        }
    }
    let err = markov_attribution_table(
        &big,
        &MarkovOptions {
            order: 2,
            ..Default::default()
        },
    );
    assert!(
        matches!(err, Err(AttributionError::TooManyStates { order: 2, .. })),
        "{err:?}"
    );
    let msg = err.unwrap_err().to_string();
    assert!(msg.contains("1000"), "{msg}");
}
