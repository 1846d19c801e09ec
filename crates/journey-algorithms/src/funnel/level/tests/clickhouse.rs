//! ClickHouse's `00632_aggregation_window_funnel`: the default, strict, strict_order,
//! non-null, strict_increase and strict_once blocks.

use crate::funnel::test_support::*;

// =====================================================================
// ClickHouse tests/queries/0_stateless/00632_aggregation_window_funnel
// (.sql + .reference, reference read at commit 0882b32, which echoes
// every query). Each assert carries the query; expected = .reference
// unless marked "SOURCE ≠ REFERENCE".
// =====================================================================

// create table funnel_test (timestamp UInt32, event UInt32) engine=Memory;
// insert into funnel_test values (0,1000),(1,1001),(2,1002),(3,1003),(4,1004),(5,1005),(6,1006),(7,1007),(8,1008);
fn funnel_test() -> Vec<(i64, u32)> {
    (0..=8).map(|k| (k, 1000 + k as u32)).collect()
}

#[test]
fn ch00632_funnel_test() {
    let t = funnel_test();
    // select 1 = windowFunnel(10000)(timestamp, event = 1000) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 10000, &[], &[1000]), 1);
    // select 2 = windowFunnel(10000)(timestamp, event = 1000, event = 1001) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 10000, &[], &[1000, 1001]), 2);
    // select 3 = windowFunnel(10000)(timestamp, event = 1000, event = 1001, event = 1002) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 10000, &[], &[1000, 1001, 1002]), 3);
    // select 4 = windowFunnel(10000)(timestamp, event = 1000, event = 1001, event = 1002, event = 1008) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 10000, &[], &[1000, 1001, 1002, 1008]), 4);
    // select 1 = windowFunnel(1)(timestamp, event = 1000) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 1, &[], &[1000]), 1);
    // select 3 = windowFunnel(2)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 2, &[], &[1003, 1004, 1005, 1006, 1007]), 3);
    // select 4 = windowFunnel(3)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 3, &[], &[1003, 1004, 1005, 1006, 1007]), 4);
    // select 5 = windowFunnel(4)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from funnel_test;  -> 1
    assert_eq!(wf_eq(&t, 4, &[], &[1003, 1004, 1005, 1006, 1007]), 5);
}

/// The same five queries run on funnel_test2 (DateTime) and
/// funnel_test_u64 (UInt64 around 1e14); only the timestamp base differs.
fn five_queries(t: &[(i64, u32)]) {
    // select 5 = windowFunnel(4)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from …;  -> 1
    assert_eq!(wf_eq(t, 4, &[], &[1003, 1004, 1005, 1006, 1007]), 5);
    // select 2 = windowFunnel(10000)(timestamp, event = 1001, event = 1008) from …;  -> 1
    assert_eq!(wf_eq(t, 10000, &[], &[1001, 1008]), 2);
    // select 1 = windowFunnel(10000)(timestamp, event = 1008, event = 1001) from …;  -> 1
    assert_eq!(wf_eq(t, 10000, &[], &[1008, 1001]), 1);
    // select 5 = windowFunnel(4)(timestamp, event = 1003, event = 1004, event = 1005, event = 1006, event = 1007) from …;  -> 1
    assert_eq!(wf_eq(t, 4, &[], &[1003, 1004, 1005, 1006, 1007]), 5);
    // select 4 = windowFunnel(4)(timestamp, event <= 1007, event >= 1002, event <= 1006, event >= 1004) from …;  -> 1
    assert_eq!(
        wf(
            t,
            4,
            &[],
            &[
                &|e: &u32| *e <= 1007,
                &|e: &u32| *e >= 1002,
                &|e: &u32| *e <= 1006,
                &|e: &u32| *e >= 1004
            ]
        ),
        4
    );
}

#[test]
fn ch00632_funnel_test2_datetime() {
    // create table funnel_test2 (uid UInt32 default 1,timestamp DateTime, event UInt32) engine=Memory;
    // insert into funnel_test2(timestamp, event) values ('2018-01-01 01:01:01',1001),…,('2018-01-01 01:01:08',1008);
    // DateTime is seconds since the epoch: 2018-01-01 01:01:01 UTC = 1514768461.
    let base = 1_514_768_461i64;
    let t: Vec<(i64, u32)> = (1..=8).map(|k| (base + k - 1, 1000 + k as u32)).collect();
    five_queries(&t);
}

#[test]
fn ch00632_funnel_test_u64() {
    // create table funnel_test_u64 (uid UInt32 default 1,timestamp UInt64, event UInt32) engine=Memory;
    // insert into funnel_test_u64(timestamp, event) values ( 1e14 + 1 ,1001),(1e14 + 2,1002),…,(1e14 + 8,1008);
    let t: Vec<(i64, u32)> = (1..=8)
        .map(|k| (100_000_000_000_000 + k, 1000 + k as u32))
        .collect();
    five_queries(&t);
}

#[test]
fn ch00632_funnel_test_strict() {
    // insert into funnel_test_strict values (00,1000),(10,1001),(20,1002),(30,1003),(40,1004),(50,1005),(51,1005),(60,1006),(70,1007),(80,1008);
    let t: Vec<(i64, u32)> = vec![
        (0, 1000),
        (10, 1001),
        (20, 1002),
        (30, 1003),
        (40, 1004),
        (50, 1005),
        (51, 1005),
        (60, 1006),
        (70, 1007),
        (80, 1008),
    ];
    let stages = [1000, 1001, 1002, 1003, 1004, 1005, 1006];
    // select 6 = windowFunnel(10000, 'strict_deduplication')(timestamp, event = 1000, …, event = 1006) from funnel_test_strict;  -> 1
    // (1005 at t=51 repeats stage 6 → stop at level 6)
    assert_eq!(wf_eq(&t, 10000, &["strict_deduplication"], &stages), 6);
    // Older .sql spelling: windowFunnel(10000, 'strict')(…) → 6 (accepted here as an alias).
    assert_eq!(wf_eq(&t, 10000, &["strict"], &stages), 6);
    // select 7 = windowFunnel(10000)(timestamp, event = 1000, …, event = 1006) from funnel_test_strict;  -> 1
    assert_eq!(wf_eq(&t, 10000, &[], &stages), 7);
}

// create table funnel_test_strict_order (dt DateTime, user int, event String) …;
fn strict_order_users() -> Vec<(u32, Vec<(i64, &'static str)>)> {
    vec![
        // insert into funnel_test_strict_order values (1, 1, 'a') (2, 1, 'b') (3, 1, 'c');
        (1, vec![(1, "a"), (2, "b"), (3, "c")]),
        // insert … (1, 2, 'a') (2, 2, 'd') (3, 2, 'b') (4, 2, 'c');
        (2, vec![(1, "a"), (2, "d"), (3, "b"), (4, "c")]),
        // insert … (1, 3, 'a') (2, 3, 'a') (3, 3, 'b') (4, 3, 'b') (5, 3, 'c') (6, 3, 'c');
        (
            3,
            vec![(1, "a"), (2, "a"), (3, "b"), (4, "b"), (5, "c"), (6, "c")],
        ),
        // insert … (1, 4, 'a') (2, 4, 'a') (3, 4, 'a') (4, 4, 'a') (5, 4, 'b') (6, 4, 'b') (7, 4, 'c') (8, 4, 'c');
        (
            4,
            vec![
                (1, "a"),
                (2, "a"),
                (3, "a"),
                (4, "a"),
                (5, "b"),
                (6, "b"),
                (7, "c"),
                (8, "c"),
            ],
        ),
        // insert … (1, 5, 'a') (2, 5, 'a') (3, 5, 'b') (4, 5, 'b') (5, 5, 'd') (6, 5, 'c') (7, 5, 'c');
        (
            5,
            vec![
                (1, "a"),
                (2, "a"),
                (3, "b"),
                (4, "b"),
                (5, "d"),
                (6, "c"),
                (7, "c"),
            ],
        ),
        // insert … (1, 6, 'c') (2, 6, 'c') (3, 6, 'b') (4, 6, 'b') (5, 6, 'a') (6, 6, 'a');
        (
            6,
            vec![(1, "c"), (2, "c"), (3, "b"), (4, "b"), (5, "a"), (6, "a")],
        ),
    ]
}

#[test]
fn ch00632_funnel_test_strict_order() {
    let users = strict_order_users();
    let abc = ["a", "b", "c"];
    // select user, windowFunnel(86400)(dt, event='a', event='b', event='c') as s … group by user order by user;
    // -> [1, 3] [2, 3] [3, 3] [4, 3] [5, 3] [6, 1]
    assert_eq!(
        per_user(&users, 86400, &[], &abc),
        vec![(1, 3), (2, 3), (3, 3), (4, 3), (5, 3), (6, 1)]
    );
    // select user, windowFunnel(86400, 'strict_order')(dt, event='a', event='b', event='c') …;
    // -> [1, 3] [2, 1] [3, 3] [4, 3] [5, 2] [6, 1]
    assert_eq!(
        per_user(&users, 86400, &["strict_order"], &abc),
        vec![(1, 3), (2, 1), (3, 3), (4, 3), (5, 2), (6, 1)]
    );
    // select user, windowFunnel(86400, 'strict_deduplication', 'strict_order')(dt, event='a', event='b', event='c') …;
    // (older .sql: windowFunnel(86400, 'strict', 'strict_order'))
    // -> [1, 3] [2, 1] [3, 2] [4, 2] [5, 2] [6, 1]
    let expected = vec![(1, 3), (2, 1), (3, 2), (4, 2), (5, 2), (6, 1)];
    assert_eq!(
        per_user(
            &users,
            86400,
            &["strict_deduplication", "strict_order"],
            &abc
        ),
        expected
    );
    assert_eq!(
        per_user(&users, 86400, &["strict", "strict_order"], &abc),
        expected
    );
    // insert into funnel_test_strict_order values (1, 7, 'a') (2, 7, 'c') (3, 7, 'b');
    // select user, windowFunnel(10, 'strict_order')(dt, event = 'a', event = 'b', event = 'c') … where user = 7 …;  -> [7, 1]
    let u7 = vec![(1, "a"), (2, "c"), (3, "b")];
    assert_eq!(wf_eq(&u7, 10, &["strict_order"], &abc), 1);
}

#[test]
fn ch00632_strict_bite_the_dddd() {
    // --https://github.com/ClickHouse/ClickHouse/issues/27469
    // create table strict_BiteTheDDDD (ts UInt64, event String) engine = Log();
    // insert into strict_BiteTheDDDD values (1,'a') (2,'b') (3,'c') (4,'b') (5,'d');
    let t = vec![(1, "a"), (2, "b"), (3, "c"), (4, "b"), (5, "d")];
    // select 3 = windowFunnel(86400, 'strict_deduplication')(ts, event='a', event='b', event='c', event='d') from strict_BiteTheDDDD;  -> [1]
    assert_eq!(
        wf_eq(&t, 86400, &["strict_deduplication"], &["a", "b", "c", "d"]),
        3
    );
}

#[test]
fn ch00632_funnel_test_non_null() {
    // create table funnel_test_non_null (`dt` DateTime, `u` int, `a` Nullable(String), `b` Nullable(String)) …;
    // Left out: the Nullable → UInt8 evaluation of the conditions. It happens
    // in the SQL layer before the core; the current test wraps nullable
    // columns in COALESCE (or uses IS NULL), so every condition is a plain
    // boolean, which is what is ported here.
    type NullableRow = (Option<&'static str>, Option<&'static str>);
    type Row = (i64, NullableRow);
    let users: Vec<(u32, Vec<Row>)> = vec![
        // insert … (1, 1, 'a1', 'b1') (2, 1, 'a2', 'b2');
        (
            1,
            vec![(1, (Some("a1"), Some("b1"))), (2, (Some("a2"), Some("b2")))],
        ),
        // insert … (1, 2, 'a1', null) (2, 2, 'a2', null);
        (2, vec![(1, (Some("a1"), None)), (2, (Some("a2"), None))]),
        // insert … (1, 3, null, null);
        (3, vec![(1, (None, None))]),
        // insert … (1, 4, null, 'b1') (2, 4, 'a2', null) (3, 4, null, 'b3');
        (
            4,
            vec![
                (1, (None, Some("b1"))),
                (2, (Some("a2"), None)),
                (3, (None, Some("b3"))),
            ],
        ),
    ];
    let coalesce = |x: Option<&str>| x.unwrap_or("").to_string();
    let run = |modes: &[&str], conds: &[&dyn Fn(&NullableRow) -> bool]| {
        users
            .iter()
            .map(|(u, rows)| (*u, wf(rows, 86400, modes, conds)))
            .collect::<Vec<_>>()
    };
    // select u, windowFunnel(86400)(dt, COALESCE(a, '') = 'a1', COALESCE(a, '') = 'a2') as s …;
    // -> [1, 2] [2, 2] [3, 0] [4, 0]
    assert_eq!(
        run(
            &[],
            &[&|r| coalesce(r.0) == "a1", &|r| coalesce(r.0) == "a2"]
        ),
        vec![(1, 2), (2, 2), (3, 0), (4, 0)]
    );
    // select u, windowFunnel(86400)(dt, COALESCE(a, '') = 'a1', COALESCE(b, '') = 'b2') as s …;
    // -> [1, 2] [2, 1] [3, 0] [4, 0]
    assert_eq!(
        run(
            &[],
            &[&|r| coalesce(r.0) == "a1", &|r| coalesce(r.1) == "b2"]
        ),
        vec![(1, 2), (2, 1), (3, 0), (4, 0)]
    );
    // select u, windowFunnel(86400)(dt, a is null and b is null) as s …;
    // -> [1, 0] [2, 0] [3, 1] [4, 0]
    assert_eq!(
        run(&[], &[&|r| r.0.is_none() && r.1.is_none()]),
        vec![(1, 0), (2, 0), (3, 1), (4, 0)]
    );
    // select u, windowFunnel(86400)(dt, a is null, COALESCE(b, '') = 'b3') as s …;
    // -> [1, 0] [2, 0] [3, 1] [4, 2]
    assert_eq!(
        run(&[], &[&|r| r.0.is_none(), &|r| coalesce(r.1) == "b3"]),
        vec![(1, 0), (2, 0), (3, 1), (4, 2)]
    );
    // select u, windowFunnel(86400, 'strict_order')(dt, a is null, COALESCE(b, '') = 'b3') as s …;
    // -> [1, 0] [2, 0] [3, 1] [4, 1]   (u4: the row at dt=2 matches nothing → stop)
    assert_eq!(
        run(
            &["strict_order"],
            &[&|r| r.0.is_none(), &|r| coalesce(r.1) == "b3"]
        ),
        vec![(1, 0), (2, 0), (3, 1), (4, 1)]
    );
}

#[test]
fn ch00632_funnel_test_strict_increase() {
    // create table funnel_test_strict_increase (timestamp UInt32, event UInt32) engine=Memory;
    // insert into funnel_test_strict_increase values (0,1000),(1,1001),(1,1002),(1,1003),(2,1004);
    let t: Vec<(i64, u32)> = vec![(0, 1000), (1, 1001), (1, 1002), (1, 1003), (2, 1004)];
    let five = [1000, 1001, 1002, 1003, 1004];
    // select 5 = windowFunnel(10000)(timestamp, event = 1000, event = 1001, event = 1002, event = 1003, event = 1004) …;  -> 1
    assert_eq!(wf_eq(&t, 10000, &[], &five), 5);
    // select 2 = windowFunnel(10000, 'strict_increase')(timestamp, event = 1000, …, event = 1004) …;  -> 1
    assert_eq!(wf_eq(&t, 10000, &["strict_increase"], &five), 2);
    // select 3 = windowFunnel(10000)(timestamp, event = 1004, event = 1004, event = 1004) …;  -> 1
    // (one row satisfies all three conditions and counts as stages 1, 2, 3)
    assert_eq!(wf_eq(&t, 10000, &[], &[1004, 1004, 1004]), 3);
    // select 1 = windowFunnel(10000, 'strict_once')(timestamp, event = 1004, event = 1004, event = 1004) …;  -> 1
    assert_eq!(wf_eq(&t, 10000, &["strict_once"], &[1004, 1004, 1004]), 1);
    // select 1 = windowFunnel(10000, 'strict_increase')(timestamp, event = 1004, event = 1004, event = 1004) …;  -> 1
    assert_eq!(
        wf_eq(&t, 10000, &["strict_increase"], &[1004, 1004, 1004]),
        1
    );
    // Not ported (older .sql only): `set allow_experimental_funnel_functions = 0;
    // select … 'strict_increase' … -- { serverError 63 }` — a ClickHouse
    // server setting gate, not funnel semantics.
}

#[test]
fn ch00632_strict_once_failure_success() {
    // create table funnel_test2 (event_ts UInt32, result String, uid UInt32) engine=Memory;
    // insert … arrayJoin([(100,'failure',234),(200,'success',345),(210,'failure',345),(230,'success',345),
    //                     (250,'failure',234),(180,'failure',123),(220,'failure',123),(250,'success',123)])
    let rows: Vec<(i64, &str, u32)> = vec![
        (100, "failure", 234),
        (200, "success", 345),
        (210, "failure", 345),
        (230, "success", 345),
        (250, "failure", 234),
        (180, "failure", 123),
        (220, "failure", 123),
        (250, "success", 123),
    ];
    let run = |modes: &[&str]| {
        [123u32, 234, 345]
            .iter()
            .map(|&uid| {
                // WHERE event_ts >= 0 AND event_ts <= 300 keeps every row.
                let r: Vec<(i64, &str)> = rows
                    .iter()
                    .filter(|x| x.2 == uid)
                    .map(|x| (x.0, x.1))
                    .collect();
                (
                    uid,
                    wf_eq(&r, 200, modes, &["failure", "failure", "success"]),
                )
            })
            .collect::<Vec<_>>()
    };
    let expected = vec![(123, 3), (234, 2), (345, 1)];
    // SELECT uid, windowFunnel(200, 'strict_once', 'strict_increase')( toUInt32(event_ts), result='failure', result='failure', result='success' ) … GROUP BY uid ORDER BY uid;
    // -> 123 3 / 234 2 / 345 1
    assert_eq!(run(&["strict_once", "strict_increase"]), expected);
    // SELECT uid, windowFunnel(200, 'strict_once')( … ) …;  -> 123 3 / 234 2 / 345 1
    assert_eq!(run(&["strict_once"]), expected);
    // SELECT uid, windowFunnel(200, 'strict_once', 'strict_deduplication')( … ) …;  -> 123 3 / 234 2 / 345 1
    assert_eq!(run(&["strict_once", "strict_deduplication"]), expected);
    // Without strict_once, uid 345's single 'failure' row counts as stages 1 and 2:
    assert_eq!(run(&[])[2], (345, 3));
}
