//! Hand-worked fixtures: the window boundary, restarts, ordering and ties, each mode,
//! degenerate input.

use crate::funnel::test_support::*;

// =====================================================================
// Hand-worked fixtures
// =====================================================================

#[test]
fn window_boundary_is_inclusive_and_measured_from_stage_one() {
    let o = opts(10, &[]);
    // Stage 2 exactly `window` after stage 1: 110 <= 100 + 10 → counts.
    assert_eq!(level(&[(100, S1), (110, S2)], 2, &o), 2);
    // One unit more: 111 > 110 → does not count.
    assert_eq!(level(&[(100, S1), (111, S2)], 2, &o), 1);
    // The window is measured from stage 1, not from the previous stage:
    // 100 → 105 → 111: 111 − 105 = 6 ≤ 10 but 111 − 100 = 11 > 10 → 2.
    assert_eq!(level(&[(100, S1), (105, S2), (111, S3)], 3, &o), 2);
    // …and stage 3 at exactly 100 + 10 → 3.
    assert_eq!(level(&[(100, S1), (105, S2), (110, S3)], 3, &o), 3);
    // window 0: only events sharing the stage-1 timestamp count.
    let o0 = opts(0, &[]);
    assert_eq!(level(&[(5, S1), (5, S2), (6, S3)], 3, &o0), 2);
    // Nanosecond timestamps near i64::MAX with a huge window: no overflow.
    let big = opts(i64::MAX, &[]);
    assert_eq!(level(&[(i64::MAX - 1, S1), (i64::MAX, S2)], 2, &big), 2);
    assert_eq!(level(&[(i64::MIN, S1), (i64::MAX, S2)], 2, &big), 1);
}

#[test]
fn later_stage_one_restarts_the_window() {
    // Window 5: the chain from t=0 cannot reach t=10, but the newer stage-1
    // event at t=8 replaces it and 10 − 8 ≤ 5 → 2.
    assert_eq!(level(&[(0, S1), (8, S1), (10, S2)], 2, &opts(5, &[])), 2);
    // An older chain's progress is kept when the restart does not get as
    // far: s1@0, s2@1, s1@2 → level 2 stays reached.
    assert_eq!(level(&[(0, S1), (1, S2), (2, S1)], 3, &opts(5, &[])), 2);
}

#[test]
fn out_of_order_input_is_sorted_by_timestamp() {
    // Pushed in reverse: s3@3, s2@2, s1@1 → sorted → 3.
    assert_eq!(level(&[(3, S3), (2, S2), (1, S1)], 3, &opts(10, &[])), 3);
}

#[test]
fn ties_are_ordered_by_condition_index() {
    let o = opts(10, &[]);
    // Two rows at t=5; the stage-2 row arrives first. ClickHouse sorts the
    // entries (5, cond1) < (5, cond2), so stage 1 is processed first → 2.
    assert_eq!(level(&[(5, S2), (5, S1)], 2, &o), 2);
    // One row satisfying cond1 and cond2 → stages 1 and 2 at once.
    assert_eq!(level(&[(5, S1 | S2)], 2, &o), 2);
    // cond3 and cond1 at t=5, cond2 at t=6: (5,1) (5,3) (6,2) → the stage-3
    // entry came before stage 2 was reached → 2.
    assert_eq!(level(&[(5, S3), (5, S1), (6, S2)], 3, &o), 2);
    // strict_increase: equal timestamps never extend a chain.
    assert_eq!(
        level(&[(5, S2), (5, S1)], 2, &opts(10, &["strict_increase"])),
        1
    );
    // strict_order: an unmatched row sorts before matches at the same
    // timestamp: s1@0, then at t=5 {s2, nothing} → the "nothing" entry is
    // processed first and stops the scan → 1, whatever the arrival order.
    let so = opts(10, &["strict_order"]);
    assert_eq!(level(&[(0, S1), (5, S2), (5, NONE)], 2, &so), 1);
    assert_eq!(level(&[(0, S1), (5, NONE), (5, S2)], 2, &so), 1);
    // …but an unmatched row tied with the first stage-1 row comes before
    // it, i.e. before the funnel started, and is ignored → 2.
    assert_eq!(level(&[(5, S1), (5, NONE), (6, S2)], 2, &so), 2);
}

#[test]
fn mode_strict_deduplication() {
    let o = opts(100, &["strict_deduplication"]);
    // a b b c: the second b repeats stage 2 → stop at 2 (default mode: 3).
    let rows = [(1, S1), (2, S2), (3, S2), (4, S3)];
    assert_eq!(level(&rows, 3, &o), 2);
    assert_eq!(level(&rows, 3, &opts(100, &[])), 3);
    // a a b c: a repeated stage 1 just restarts the chain → 3.
    assert_eq!(level(&[(1, S1), (2, S1), (3, S2), (4, S3)], 3, &o), 3);
    // A repeated stage that was never reached is no duplicate: a c c b → 2.
    assert_eq!(level(&[(1, S1), (2, S3), (3, S3), (4, S2)], 3, &o), 2);
    // Issue #37177: install start login install (stages install, start,
    // login, end) → the second install restarts; nothing repeats → 3.
    assert_eq!(
        level(
            &[(0, S1), (5, S2), (10, S3), (15, S1)],
            4,
            &opts(60, &["strict_deduplication"])
        ),
        3
    );
}

#[test]
fn mode_strict_order() {
    let o = opts(100, &["strict_order"]);
    // a x b: x matches no condition → stop at 1.
    assert_eq!(level(&[(1, S1), (2, NONE), (3, S2)], 2, &o), 1);
    // x a b: unmatched rows before the first stage-1 event are ignored → 2.
    assert_eq!(level(&[(1, NONE), (2, S1), (3, S2)], 2, &o), 2);
    // a c b: c (stage 3) before stage 2 → stop at 1.
    assert_eq!(level(&[(1, S1), (2, S3), (3, S2)], 3, &o), 1);
    // a b b c: repeating the current stage is allowed → 3.
    assert_eq!(level(&[(1, S1), (2, S2), (3, S2), (4, S3)], 3, &o), 3);
    // c a b c: a stage before any stage 1 is ignored → 3.
    assert_eq!(level(&[(1, S3), (2, S1), (3, S2), (4, S3)], 3, &o), 3);
    // The default mode ignores unmatched rows entirely.
    assert_eq!(level(&[(1, S1), (2, NONE), (3, S2)], 2, &opts(100, &[])), 2);
    // A window miss is not a violation: a b(late) … the scan continues.
    assert_eq!(level(&[(1, S1), (200, S2), (201, S1), (202, S2)], 2, &o), 2);
}

#[test]
fn mode_allow_reentry() {
    let o = opts(100, &["strict_order", "allow_reentry"]);
    // a c b: c is skipped → 2 (strict_order alone: 1).
    assert_eq!(level(&[(1, S1), (2, S3), (3, S2)], 3, &o), 2);
    // a c b c → 3.
    assert_eq!(level(&[(1, S1), (2, S3), (3, S2), (4, S3)], 3, &o), 3);
    // Unmatched rows still stop the scan: a x b → 1.
    assert_eq!(level(&[(1, S1), (2, NONE), (3, S2)], 2, &o), 1);
}

#[test]
fn mode_strict_increase() {
    let o = opts(100, &["strict_increase"]);
    // s1@1 s2@1 s2@2 → the tied s2 is rejected, the later one accepted → 2.
    assert_eq!(level(&[(1, S1), (1, S2), (2, S2)], 2, &o), 2);
    // ClickHouse quirk kept on purpose: only the most recent chain is
    // checked. s1@0, s1@5, s2@5, s3@6: level 1 now holds the chain started
    // at 5, whose last timestamp 5 is not < 5, so s2@5 is rejected → 1,
    // although s1@0 → s2@5 → s3@6 would be strictly increasing.
    assert_eq!(level(&[(0, S1), (5, S1), (5, S2), (6, S3)], 3, &o), 1);
}

#[test]
fn mode_strict_once() {
    let o = opts(100, &["strict_once"]);
    // One row matching s1, s2 and s3 → only one stage.
    assert_eq!(level(&[(1, S1 | S2 | S3)], 3, &o), 1);
    assert_eq!(level(&[(1, S1 | S2 | S3)], 3, &opts(100, &[])), 3);
    // Two tied rows both matching s1 and s2: one serves as stage 1, the
    // other as stage 2 → 2.
    assert_eq!(level(&[(1, S1 | S2), (1, S1 | S2)], 2, &o), 2);
    // Three tied rows matching s1|s2|s3 → 3 distinct rows → 3.
    assert_eq!(level(&[(1, S1 | S2 | S3); 3], 3, &o), 3);
    // s1@0, then one row {s2, s3}@1 → that row is used once → 2
    // (default mode: 3).
    assert_eq!(level(&[(0, S1), (1, S2 | S3)], 3, &o), 2);
    assert_eq!(level(&[(0, S1), (1, S2 | S3)], 3, &opts(100, &[])), 3);
    // Rows from earlier timestamps are always usable: {s1,s2}@0, {s2,s3}@1,
    // s3@2 → row0 as s1, row1 as s2, row2 as s3 → 3.
    assert_eq!(level(&[(0, S1 | S2), (1, S2 | S3), (2, S3)], 3, &o), 3);
}

#[test]
fn one_stage_and_degenerate_inputs() {
    let o = opts(10, &[]);
    assert_eq!(level(&[], 3, &o), 0);
    assert_eq!(level(&[(1, S1)], 0, &o), 0);
    assert_eq!(level(&[(1, S2)], 1, &o), 0);
    assert_eq!(level(&[(1, S2), (2, S1)], 1, &o), 1);
    // Bits at or above `stages` are ignored.
    assert_eq!(level(&[(1, S1), (2, S4)], 2, &o), 1);
    // 32 stages: one row matching everything reaches 32.
    assert_eq!(level(&[(1, u32::MAX)], 32, &o), 32);
    // strict_order with one stage: unmatched rows before/after.
    let so = opts(10, &["strict_order"]);
    assert_eq!(level(&[(1, NONE), (2, S1), (3, NONE)], 1, &so), 1);
    assert_eq!(level(&[(1, NONE)], 1, &so), 0);
}
