//! ClickHouse's `00632_aggregation_window_funnel`, continued: the allow_reentry and
//! e-commerce blocks, `01646`, and the documentation example.

use crate::funnel::test_support::*;

// -- Test allow_reentry mode
// create table funnel_test_allow_reentry (dt DateTime, user int, event String) …;
fn reentry_users() -> Vec<(u32, Vec<(i64, &'static str)>)> {
    vec![
        // insert … (1, 1, 'a') (2, 1, 'b') (3, 1, 'a') (4, 1, 'c');
        (1, vec![(1, "a"), (2, "b"), (3, "a"), (4, "c")]),
        // insert … (1, 2, 'a') (2, 2, 'b') (3, 2, 'a') (4, 2, 'b') (5, 2, 'c');
        (2, vec![(1, "a"), (2, "b"), (3, "a"), (4, "b"), (5, "c")]),
        // insert … (1, 3, 'a') (2, 3, 'b') (3, 3, 'c') (4, 3, 'b') (5, 3, 'd');
        (3, vec![(1, "a"), (2, "b"), (3, "c"), (4, "b"), (5, "d")]),
        // insert … (1, 4, 'a') (2, 4, 'c') (3, 4, 'b');
        (4, vec![(1, "a"), (2, "c"), (3, "b")]),
        // insert … (1, 5, 'a') (2, 5, 'b') (3, 5, 'c') (4, 5, 'a') (5, 5, 'b') (6, 5, 'c') (7, 5, 'd');
        (
            5,
            vec![
                (1, "a"),
                (2, "b"),
                (3, "c"),
                (4, "a"),
                (5, "b"),
                (6, "c"),
                (7, "d"),
            ],
        ),
    ]
}

// SOURCE ≠ REFERENCE. The stored .reference for the allow_reentry and
// e-commerce blocks was produced by a ClickHouse build in which (a) under
// strict_order a repeated stage-1 event after level 2 stopped the scan and
// allow_reentry skipped it, while a "stage from the future" stopped the
// scan even with allow_reentry, and (b) strict_deduplication still
// returned the previous entry's condition index (pre-#99003). The newest
// source read (commit 0215c755), and the docs' allow_reentry example
// ("with allow_reentry: reaches level 4"), behave as documented in the
// module docs instead: re-entering stage 1 simply restarts the chain, and
// allow_reentry skips stages from the future. We follow the source; each
// assert below gives the .reference value and the reason where they differ.

#[test]
fn ch00632_allow_reentry() {
    let users = reentry_users();
    let abc = ["a", "b", "c"];
    let abcd = ["a", "b", "c", "d"];
    // select user, windowFunnel(86400, 'strict_order')(dt, event='a', event='b', event='c') as strict_order_result …;
    // .reference: [1, 2] [2, 2] [3, 3] [4, 1] [5, 3]
    // source: u1 a b a c → the second 'a' restarts stage 1, 'c' still extends the
    // a(1)→b(2) chain → 3; u2 likewise → 3.
    assert_eq!(
        per_user(&users, 86400, &["strict_order"], &abc),
        vec![(1, 3), (2, 3), (3, 3), (4, 1), (5, 3)]
    );
    // select user, windowFunnel(86400, 'strict_order', 'allow_reentry')(dt, event='a', event='b', event='c') as allow_reentry_result …;
    // .reference: [1, 3] [2, 3] [3, 3] [4, 1] [5, 3]
    // source: u4 a c b → 'c' (stage 3 before stage 2) is skipped, 'b' → level 2.
    assert_eq!(
        per_user(&users, 86400, &["strict_order", "allow_reentry"], &abc),
        vec![(1, 3), (2, 3), (3, 3), (4, 2), (5, 3)]
    );
    // select user, windowFunnel(86400, 'strict_order')(dt, event='a', event='b', event='c', event='d') as strict_order_4step …;
    // .reference: [1, 2] [2, 2] [3, 4] [4, 1] [5, 3]
    // source: u1, u2 → 3 (as above, 'd' never comes); u5 a b c a b c d → the
    // restart at 4 leads to a b c d = 4.
    assert_eq!(
        per_user(&users, 86400, &["strict_order"], &abcd),
        vec![(1, 3), (2, 3), (3, 4), (4, 1), (5, 4)]
    );
    // select user, windowFunnel(86400, 'strict_order', 'allow_reentry')(dt, event='a', event='b', event='c', event='d') as allow_reentry_4step …;
    // .reference: [1, 3] [2, 3] [3, 4] [4, 1] [5, 4]
    // source: u4 → 2 (as above).
    assert_eq!(
        per_user(&users, 86400, &["strict_order", "allow_reentry"], &abcd),
        vec![(1, 3), (2, 3), (3, 4), (4, 2), (5, 4)]
    );
    // select user, windowFunnel(86400, 'strict_order', 'allow_reentry', 'strict_deduplication')(dt, event='a', event='b', event='c') as combined_modes …;
    // .reference: [1, 3] [2, 1] [3, 3] [4, 1] [5, 3]
    // source: u2 a b a b c → the second 'b' repeats stage 2 → stop with the
    // highest level reached, 2 (the pre-#99003 code returned the previous
    // entry's condition index, 'a' = 1); u4 → 2 (as above).
    assert_eq!(
        per_user(
            &users,
            86400,
            &["strict_order", "allow_reentry", "strict_deduplication"],
            &abc
        ),
        vec![(1, 3), (2, 2), (3, 3), (4, 2), (5, 3)]
    );
}

#[test]
fn ch00632_ecommerce() {
    // create table funnel_test_ecommerce (timestamp UInt32, user_id UInt32, action String) engine=Memory;
    let users: Vec<(u32, Vec<(i64, &str)>)> = vec![
        // insert … (100, 1, 'begin_checkout') (200, 1, 'view_product_detail') (300, 1, 'begin_checkout') (400, 1, 'complete_payment');
        (
            1,
            vec![
                (100, "begin_checkout"),
                (200, "view_product_detail"),
                (300, "begin_checkout"),
                (400, "complete_payment"),
            ],
        ),
        // insert … (100, 2, 'begin_checkout') (200, 2, 'view_product_detail') (250, 2, 'view_product_detail') (300, 2, 'begin_checkout') (400, 2, 'complete_payment');
        (
            2,
            vec![
                (100, "begin_checkout"),
                (200, "view_product_detail"),
                (250, "view_product_detail"),
                (300, "begin_checkout"),
                (400, "complete_payment"),
            ],
        ),
        // insert … (100, 3, 'begin_checkout') (200, 3, 'view_product_detail') (300, 3, 'complete_payment');
        (
            3,
            vec![
                (100, "begin_checkout"),
                (200, "view_product_detail"),
                (300, "complete_payment"),
            ],
        ),
    ];
    let three = ["begin_checkout", "view_product_detail", "complete_payment"];
    let four = [
        "begin_checkout",
        "view_product_detail",
        "begin_checkout",
        "complete_payment",
    ];
    // select user_id, windowFunnel(600, 'strict_order')(timestamp, action='begin_checkout', action='view_product_detail', action='complete_payment') as normal_funnel …;
    // .reference: [1, 2] [2, 2] [3, 3]   SOURCE ≠ REFERENCE: u1/u2 the second
    // begin_checkout restarts stage 1; payment at 400 still extends the chain
    // begun at 100 (400 <= 100 + 600) → 3.
    assert_eq!(
        per_user(&users, 600, &["strict_order"], &three),
        vec![(1, 3), (2, 3), (3, 3)]
    );
    // select user_id, windowFunnel(600, 'strict_order', 'allow_reentry')(…3 stages…) as reentry_funnel …;
    // -> [1, 3] [2, 3] [3, 3]
    assert_eq!(
        per_user(&users, 600, &["strict_order", "allow_reentry"], &three),
        vec![(1, 3), (2, 3), (3, 3)]
    );
    // select user_id, windowFunnel(600, 'strict_order')(timestamp, action='begin_checkout', action='view_product_detail', action='begin_checkout', action='complete_payment') as normal_4step …;
    // -> [1, 1] [2, 1] [3, 1]   (the first begin_checkout row also matches
    // stage 3, whose stage 2 is not reached yet → stop at 1)
    assert_eq!(
        per_user(&users, 600, &["strict_order"], &four),
        vec![(1, 1), (2, 1), (3, 1)]
    );
    // select user_id, windowFunnel(600, 'strict_order', 'allow_reentry')(…4 stages…) as reentry_4step …;
    // .reference: [1, 1] [2, 1] [3, 1]   SOURCE ≠ REFERENCE: allow_reentry
    // skips the early stage-3 match; u1/u2: begin(100) view(200)
    // begin(300, stage 3) payment(400) → 4 (the docs' example says "With
    // allow_reentry: reaches level 4"); u3 has no second begin_checkout → 2.
    assert_eq!(
        per_user(&users, 600, &["strict_order", "allow_reentry"], &four),
        vec![(1, 4), (2, 4), (3, 2)]
    );
}

#[test]
fn ch01646_fix_window_funnel_inconsistency() {
    // tests/queries/0_stateless/01646_fix_window_funnel_inconistency.sql (.reference: "2\t1\n---\n2\t1")
    // insert into trend values ('2019-01-28', 1, '2019-01-29 10:00:00', 1004, 'phone')
    //   ('2019-01-28', 1, '2019-01-29 10:00:00', 1003, 'phone') ('2019-01-28', 1, '2019-01-28 10:00:00', 1002, 'phone');
    // SELECT level, count() FROM (SELECT user_id, windowFunnel(6048000000000000)(timestamp, eventID = 1004, eventID = 1003, eventID = 1002) AS level …) → level 2
    let t29 = 1_548_756_000i64; // 2019-01-29 10:00:00 UTC
    let t28 = t29 - 86_400;
    let rows = vec![(t29, 1004u32), (t29, 1003), (t28, 1002)];
    assert_eq!(
        wf_eq(&rows, 6_048_000_000_000_000, &[], &[1004, 1003, 1002]),
        2
    );
    // Same rows, the two tied rows inserted the other way round → still 2
    // (ties are ordered by condition index, not by arrival).
    let rows = vec![(t29, 1003u32), (t29, 1004), (t28, 1002)];
    assert_eq!(
        wf_eq(&rows, 6_048_000_000_000_000, &[], &[1004, 1003, 1002]),
        2
    );
}

#[test]
fn docs_window_funnel_example() {
    // parametric-functions.md: windowFunnel(6048000000000000)(timestamp, eventID = 1003,
    // eventID = 1009, eventID = 1007, eventID = 1010) over the 'trend' rows → level 4.
    let h = 3600i64;
    let day = 86_400i64;
    let jan29_10 = 1_548_756_000i64;
    let rows = vec![
        (jan29_10, 1003u32),                // 2019-01-29 10:00:00
        (jan29_10 + 2 * day - h, 1007),     // 2019-01-31 09:00:00
        (jan29_10 + day - 2 * h, 1009),     // 2019-01-30 08:00:00
        (jan29_10 + 3 * day - 2 * h, 1010), // 2019-02-01 08:00:00
    ];
    assert_eq!(
        wf_eq(&rows, 6_048_000_000_000_000, &[], &[1003, 1009, 1007, 1010]),
        4
    );
}
