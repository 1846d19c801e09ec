//! Integration tests: the real `journey-report` binary on real files.
//!
//! `tiny()` is a hand-made project (tests/fixtures/tiny) run with the bundled SQL models of
//! the repository; every expected number below is worked out by hand from its three CSV
//! files, with the arithmetic in comments. Report time zone UTC, as-of 2026-10-31, period
//! the 30 days 2026-10-02 00:00 … 2026-11-01 00:00 UTC, previous period from 2026-09-02.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;
use tempfile::TempDir;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).unwrap();
        }
    }
}

/// A fresh copy of the tiny fixture with the repository's sql/ models.
fn tiny() -> TempDir {
    let dir = TempDir::new().unwrap();
    copy_dir(&repo().join("tests/fixtures/tiny"), dir.path());
    copy_dir(&repo().join("sql"), &dir.path().join("sql"));
    dir
}

fn bin() -> Command {
    let mut c = Command::cargo_bin("journey-report").unwrap();
    c.env("RUST_LOG", "warn");
    c
}

fn run(project: &Path, extra: &[&str]) -> Output {
    let mut c = bin();
    c.arg("run")
        .arg("--project")
        .arg(project)
        .args(["--as-of", "2026-10-31"])
        .args(extra);
    c.output().unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        stderr(o)
    );
}

/// Rows of a CSV file as maps column → text.
fn read_csv(path: &Path) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_path(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

fn num(row: &BTreeMap<String, String>, col: &str) -> f64 {
    let v = row
        .get(col)
        .unwrap_or_else(|| panic!("no column {col} in {row:?}"));
    v.parse()
        .unwrap_or_else(|_| panic!("{col} = {v:?} is not a number"))
}

fn find<'a>(
    rows: &'a [BTreeMap<String, String>],
    col: &str,
    val: &str,
) -> &'a BTreeMap<String, String> {
    rows.iter()
        .find(|r| r[col] == val)
        .unwrap_or_else(|| panic!("no row with {col} = {val} in {rows:#?}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

fn report_dir(project: &Path) -> PathBuf {
    project.join("reports/2026-10-31")
}

#[test]
fn tiny_project_funnel_counts_by_hand() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let rows = read_csv(&report_dir(p.path()).join("data/funnel.csv"));
    // Events from 2026-10-02 on, duplicates removed (e6 twice → once), e14 after the as-of day dropped.
    // c1: page_view 10-10 10:00 → product_view 10:05 → add_to_cart 10-12 09:10 → checkout 09:20
    //     → purchase 09:30, all within 7 days of 10-10 10:00: depth 5.
    // c2: page_view 10-20 20:00 → product_view 20:01; add_to_cart 10-29 20:00 is 9 days after
    //     stage 1, outside the 7-day window: depth 2.
    // c3: page_view 08:00 → product_view 08:10 → add_to_cart 09:00 (10-25): depth 3.
    // c9 (not in the CRM): page_view only: depth 1. c4's only event is before the period.
    let customers: Vec<f64> = rows.iter().map(|r| num(r, "customers")).collect();
    assert_eq!(customers, vec![4.0, 3.0, 2.0, 1.0, 1.0]);
    let stages: Vec<&str> = rows.iter().map(|r| r["stage"].as_str()).collect();
    assert_eq!(
        stages,
        vec![
            "Visited",
            "Viewed a product",
            "Added to cart",
            "Started checkout",
            "Purchased"
        ]
    );
    // Step conversion: 4/4, 3/4, 2/3, 1/2, 1/1; overall: 4/4, 3/4, 2/4, 1/4, 1/4.
    let step: Vec<f64> = rows.iter().map(|r| num(r, "step_conversion")).collect();
    for (a, b) in step.iter().zip([1.0, 0.75, 2.0 / 3.0, 0.5, 1.0]) {
        assert!(close(*a, b), "step conversion {step:?}");
    }
    let overall: Vec<f64> = rows.iter().map(|r| num(r, "overall_conversion")).collect();
    for (a, b) in overall.iter().zip([1.0, 0.75, 0.5, 0.25, 0.25]) {
        assert!(close(*a, b), "overall conversion {overall:?}");
    }
    let drop: Vec<f64> = rows.iter().map(|r| num(r, "drop_off")).collect();
    assert_eq!(drop, vec![0.0, 1.0, 1.0, 1.0, 0.0]);
    // Median seconds from the previous stage:
    //   stage 2: c1 300 (10:00→10:05), c2 60, c3 600 → median 300;
    //   stage 3: c1 10-10 10:05 → 10-12 09:10 = 47 h 05 min = 169,500 s; c3 08:10 → 09:00 = 3,000 s
    //            → median (169,500 + 3,000) / 2 = 86,250;
    //   stage 4: c1 600; stage 5: c1 600.
    assert_eq!(rows[0]["median_seconds_from_previous"], "");
    let med: Vec<f64> = rows[1..]
        .iter()
        .map(|r| num(r, "median_seconds_from_previous"))
        .collect();
    assert_eq!(med, vec![300.0, 86_250.0, 600.0, 600.0]);
}

#[test]
fn tiny_project_attribution_and_paths_by_hand() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    // Completed orders in the period: o1 (c1, 10-12 09:30:30, 100 EUR) and o3 (c3, 10-25 09:05,
    // 40 EUR). o2 is in the previous period, o4 earlier, o5 refunded, o6 after the as-of day.
    // o1's touchpoints in the 30 days before it: session s1 (social, 10-10 10:00) and s2
    //   (email, 10-12 09:00) → first touch social, last touch email, linear ½ + ½.
    // o3's: the inferred sessions c3#1 (direct, 08:00) and c3#2 (direct, 09:00; the 50-minute
    //   gap after 08:10 exceeds 30 minutes) → every model gives direct 1.
    let a = read_csv(&dir.join("data/attribution.csv"));
    assert_eq!(a.len(), 3, "{a:#?}");
    let direct = find(&a, "channel", "direct");
    let email = find(&a, "channel", "email");
    let social = find(&a, "channel", "social");
    let expect = [
        (direct, [1.0, 40.0, 1.0, 40.0, 1.0, 40.0]),
        (email, [0.0, 0.0, 1.0, 100.0, 0.5, 50.0]),
        (social, [1.0, 100.0, 0.0, 0.0, 0.5, 50.0]),
    ];
    let cols = [
        "first_touch_conversions",
        "first_touch_revenue",
        "last_touch_conversions",
        "last_touch_revenue",
        "linear_conversions",
        "linear_revenue",
    ];
    for (row, want) in expect {
        for (c, w) in cols.iter().zip(want) {
            assert!(
                close(num(row, c), w),
                "{}: {c} = {} (want {w})",
                row["channel"],
                row[*c]
            );
        }
    }
    // Paths: o1 "social > email"; o3 "direct > direct" collapsed to "direct". Non-converting
    // customers active in the period: c2 ("paid_search > direct") and c9 ("organic_search"),
    // neither sharing a converting path, so both conversion rates are 1/(1+0) = 1.
    let paths = read_csv(&dir.join("data/paths.csv"));
    let names: Vec<&str> = paths.iter().map(|r| r["path"].as_str()).collect();
    assert_eq!(names, vec!["social > email", "direct"]);
    assert_eq!(num(&paths[0], "touchpoints"), 2.0);
    assert_eq!(num(&paths[1], "touchpoints"), 1.0);
    assert!(close(num(&paths[0], "conversion_rate"), 1.0));
    assert!(close(num(&paths[0], "share_of_conversions"), 0.5));
    // Sessions: s1, s2, s3, s4, c3#1, c3#2, s6 in the period (s5 before, s7 after as-of).
    let channels = read_csv(&dir.join("data/channels.csv"));
    let total: f64 = channels.iter().map(|r| num(r, "sessions")).sum();
    assert_eq!(total, 7.0);
    let d = find(&channels, "channel", "direct");
    // direct: s4 (c2), c3#1, c3#2 → 3 sessions, 2 customers; e12 alone in c3#2 and e9 alone
    // in s4 are bounces: 2/3.
    assert_eq!(num(d, "sessions"), 3.0);
    assert_eq!(num(d, "customers"), 2.0);
    assert!(close(num(d, "bounce_rate"), 2.0 / 3.0));
}

#[test]
fn tiny_project_rfm_heatmap_and_kpis_by_hand() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    // Completed orders up to 2026-10-31: c1 {o2 09-20 50, o1 10-12 100}, c3 {o3 10-25 40},
    // c4 {o4 08-01 200}.
    //   recency (days to 10-31): c1 19, c3 6, c4 91; frequency 2, 1, 1; monetary 150, 40, 200.
    // ntile(5) over 3 customers gives tiles 1, 2, 3 in sort order:
    //   R by last order day: c4 (08-01) 1, c1 (10-12) 2, c3 (10-25) 3;
    //   F by (frequency, id): c3 1, c4 2, c1 3;  M by monetary: c3 1, c1 2, c4 3.
    // Segments: c1 R2 F3 → At Risk; c3 R3 F1 → About to Sleep; c4 R1 F2 → Hibernating.
    let rfm = read_csv(&dir.join("data/rfm.csv"));
    let want = [
        ("c1", "19", "2", "150", "232", "At Risk"),
        ("c3", "6", "1", "40", "311", "About to Sleep"),
        ("c4", "91", "1", "200", "123", "Hibernating"),
    ];
    assert_eq!(rfm.len(), 3);
    for (id, rec, freq, mon, score, seg) in want {
        let r = find(&rfm, "customer_id", id);
        assert_eq!(r["recency_days"], rec, "{id}");
        assert_eq!(r["frequency"], freq, "{id}");
        assert!(close(num(r, "monetary"), mon.parse().unwrap()), "{id}");
        assert_eq!(r["rfm_score"], score, "{id}");
        assert_eq!(r["segment"], seg, "{id}");
    }
    // LTV buckets: min 40, max 200, width 16: 40 → bucket 1, 150 → 1 + floor(110/16) = 7,
    // 200 → the last (10).
    let b = read_csv(&dir.join("data/ltv_buckets.csv"));
    let counts: Vec<f64> = b.iter().map(|r| num(r, "customers")).collect();
    assert_eq!(
        counts,
        vec![1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 1.0]
    );
    // Heatmap (UTC; 2026-10-10 is a Saturday, 10-12 Monday, 10-15 Thursday, 10-20 Tuesday,
    // 10-25 Sunday, 10-29 Thursday): Sat 10h 2 (e1, e2); Mon 9h 4 (e3–e6, e6 once);
    // Tue 20h 2 (e7, e8); Thu 20h 1 (e9); Sun 8h 2 (e10, e11); Sun 9h 1 (e12); Thu 11h 1 (e15).
    let h = read_csv(&dir.join("data/heatmap.csv"));
    assert_eq!(h.len(), 168);
    let cell = |d: &str, hr: &str| -> f64 {
        num(
            h.iter()
                .find(|r| r["day_of_week"] == d && r["hour"] == hr)
                .unwrap(),
            "events",
        )
    };
    assert_eq!(cell("6", "10"), 2.0);
    assert_eq!(cell("1", "9"), 4.0);
    assert_eq!(cell("2", "20"), 2.0);
    assert_eq!(cell("4", "20"), 1.0);
    assert_eq!(cell("7", "8"), 2.0);
    assert_eq!(cell("7", "9"), 1.0);
    assert_eq!(cell("4", "11"), 1.0);
    let total: f64 = h.iter().map(|r| num(r, "events")).sum();
    assert_eq!(total, 13.0);
    // KPIs: revenue 100 + 40 = 140 vs 50 (o2) → change 1.8; orders 2 vs 1; refund rate:
    // o5 refunded in the period → 1 / (2 + 1); new customers: c2 (10-20) only — c5 signed up
    // 10-31 23:00 UTC, inside the as-of day → 2; c3 signed up 09-30 (previous period) → 1.
    let k = read_csv(&dir.join("data/kpis.csv"));
    let kpi = |m: &str| find(&k, "metric", m).clone();
    assert!(close(num(&kpi("revenue"), "value"), 140.0));
    assert!(close(num(&kpi("revenue"), "previous"), 50.0));
    assert!(close(num(&kpi("revenue"), "change"), 1.8));
    assert!(close(num(&kpi("orders"), "value"), 2.0));
    assert!(close(num(&kpi("refund_rate"), "value"), 1.0 / 3.0));
    assert!(close(num(&kpi("new_customers"), "value"), 2.0));
    assert!(close(num(&kpi("new_customers"), "previous"), 1.0));
}

#[test]
fn tiny_project_pages_escape_data_and_are_self_contained() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    for page in [
        "index",
        "funnel",
        "paths",
        "attribution",
        "rfm",
        "heatmap",
        "channels",
    ] {
        let html = std::fs::read_to_string(dir.join(format!("{page}.html"))).unwrap();
        assert!(
            html.contains("<svg") || page == "paths",
            "{page} has no chart"
        );
        assert!(!html.contains("<script"), "{page} holds a script");
        for fetch in ["src=\"http", "href=\"http", "url(http", "@import", "<link"] {
            assert!(
                !html.contains(fetch),
                "{page} fetches from the network ({fetch})"
            );
        }
    }
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let events = manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "events")
        .unwrap();
    assert_eq!(
        events["rows"], 16,
        "16 rows in events.csv, duplicate included"
    );
    assert!(
        manifest["steps"]
            .as_array()
            .unwrap()
            .iter()
            .any(|s| s["name"] == "funnel")
    );
}

/// A fixture project with one file replaced.
fn tiny_with(file: &str, text: &str) -> TempDir {
    let p = tiny();
    std::fs::write(p.path().join(file), text).unwrap();
    p
}

fn assert_fails(o: &Output, code: i32, needles: &[&str], project: &Path) {
    assert_eq!(o.status.code(), Some(code), "stderr:\n{}", stderr(o));
    let err = stderr(o);
    for n in needles {
        assert!(err.contains(n), "stderr lacks {n:?}:\n{err}");
    }
    assert!(!err.contains("panicked"), "{err}");
    let reports = project.join("reports");
    // The lock file stays (it is only locked while a run works); nothing else may.
    let left: Vec<String> = std::fs::read_dir(&reports)
        .map(|r| {
            r.flatten()
                .map(|e| e.file_name().to_string_lossy().to_string())
                .filter(|n| n != ".journey-report.lock")
                .collect()
        })
        .unwrap_or_default();
    assert!(left.is_empty(), "output left behind: {left:?}");
}

#[test]
fn missing_file_is_an_input_error() {
    let p = tiny();
    let o = run(p.path(), &["--source", "events=/nonexistent/events.csv"]);
    assert_fails(
        &o,
        3,
        &["/nonexistent/events.csv", "no such file"],
        p.path(),
    );
}

#[test]
fn missing_column_names_file_and_header() {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/tiny/events.csv"))
        .unwrap()
        .replacen("customer_id", "customer", 1);
    let p = tiny_with("events.csv", &text);
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        3,
        &[
            "events.csv",
            "missing column \"customer_id\"",
            "the header has: event_id, customer, event_time",
        ],
        p.path(),
    );
}

#[test]
fn unparseable_timestamp_names_line_and_column() {
    // Line 4 of the file (data row 3) gets a bad timestamp.
    let text = std::fs::read_to_string(repo().join("tests/fixtures/tiny/events.csv"))
        .unwrap()
        .replacen("2026-10-12T09:00:00Z", "12/10/2026 9am", 1);
    let p = tiny_with("events.csv", &text);
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        3,
        &[
            "events.csv: line 4 (data row 3), column \"event_time\"",
            "\"12/10/2026 9am\"",
            "RFC 3339",
        ],
        p.path(),
    );
}

#[test]
fn unparseable_amount_names_line_and_column() {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/tiny/transactions.csv"))
        .unwrap()
        .replacen("40.00", "\"40,00 €\"", 1);
    let p = tiny_with("transactions.csv", &text);
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        3,
        &[
            "transactions.csv: line 4 (data row 3), column \"amount\"",
            "\"40,00 €\"",
        ],
        p.path(),
    );
}

#[test]
fn funnel_stage_naming_no_event_is_a_config_error() {
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace("\"add_to_cart\"", "\"add_to_basket\"");
    let p = tiny_with("journey.toml", &toml);
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        2,
        &[
            "journey.toml",
            "stage 3 (\"Added to cart\")",
            "\"add_to_basket\"",
        ],
        p.path(),
    );
}

#[test]
fn sql_syntax_error_names_file_and_line() {
    let p = tiny();
    std::fs::write(
        p.path().join("sql/broken.sql"),
        "-- a comment\nSELECT channel,\n  count(* AS n\nFROM stg_sessions",
    )
    .unwrap();
    let o = run(p.path(), &[]);
    assert_fails(&o, 4, &["sql/broken.sql", "Line: 3"], p.path());
}

#[test]
fn unknown_table_and_column_name_the_file() {
    let p = tiny();
    std::fs::write(p.path().join("sql/broken.sql"), "SELECT * FROM stg_sesions").unwrap();
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        4,
        &["sql/broken.sql", "unknown table \"stg_sesions\""],
        p.path(),
    );

    let p = tiny();
    std::fs::write(
        p.path().join("sql/broken.sql"),
        "SELECT channel,\n       revenu\nFROM channels",
    )
    .unwrap();
    let o = run(p.path(), &[]);
    assert_fails(&o, 4, &["sql/broken.sql", "line 2", "revenu"], p.path());
}

#[test]
fn cycle_between_models_is_named() {
    let p = tiny();
    std::fs::write(p.path().join("sql/loop_a.sql"), "SELECT * FROM loop_b").unwrap();
    std::fs::write(p.path().join("sql/loop_b.sql"), "SELECT * FROM loop_a").unwrap();
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        4,
        &["cycle between models", "loop_a → loop_b → loop_a"],
        p.path(),
    );
}

#[test]
fn check_lists_every_problem() {
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace("\"add_to_cart\"", "\"add_to_basket\"");
    let p = tiny_with("journey.toml", &toml);
    std::fs::write(p.path().join("sql/broken.sql"), "SELEC 1").unwrap();
    std::fs::write(
        p.path().join("sql/unknown.sql"),
        "SELECT nope FROM stg_orders",
    )
    .unwrap();
    std::fs::remove_file(p.path().join("transactions.csv")).unwrap();
    let o = bin()
        .args(["check", "--project"])
        .arg(p.path())
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = stderr(&o);
    for n in [
        "transactions.csv: no such file",
        "add_to_basket",
        "sql/broken.sql",
        "sql/unknown.sql",
        "check found",
    ] {
        assert!(err.contains(n), "check output lacks {n:?}:\n{err}");
    }
    // The good project passes.
    let p = tiny();
    let o = bin()
        .args(["check", "--project"])
        .arg(p.path())
        .output()
        .unwrap();
    ok(&o);
}

#[test]
fn unknown_config_key_is_a_config_error() {
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace("currency = \"EUR\"", "curency = \"EUR\"");
    let p = tiny_with("journey.toml", &toml);
    let o = run(p.path(), &[]);
    assert_fails(&o, 2, &["journey.toml", "curency"], p.path());
}

#[test]
fn empty_source_gives_empty_results_and_a_warning() {
    let p = tiny_with(
        "events.csv",
        "event_id,customer_id,event_time,event_name,channel,campaign,device,session_id\n",
    );
    let o = run(p.path(), &[]);
    ok(&o);
    assert!(
        stderr(&o).contains("source events has no rows"),
        "{}",
        stderr(&o)
    );
    let f = read_csv(&report_dir(p.path()).join("data/funnel.csv"));
    assert!(f.iter().all(|r| r["customers"] == "0"), "{f:?}");
    let manifest = std::fs::read_to_string(report_dir(p.path()).join("manifest.json")).unwrap();
    assert!(manifest.contains("source events has no rows"));
}

#[test]
fn failed_rerun_keeps_the_previous_report() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let index = report_dir(p.path()).join("index.html");
    let before = std::fs::read_to_string(&index).unwrap();
    std::fs::write(
        p.path().join("sql/broken.sql"),
        "SELECT nope FROM stg_orders",
    )
    .unwrap();
    let o = run(p.path(), &[]);
    assert_eq!(o.status.code(), Some(4));
    assert_eq!(std::fs::read_to_string(&index).unwrap(), before);
    let names: Vec<String> = std::fs::read_dir(p.path().join("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != ".journey-report.lock")
        .collect();
    assert_eq!(names, vec!["2026-10-31".to_string()], "no partial folder");
}

#[test]
fn editing_sql_or_params_changes_the_next_run() {
    // Lookback 30 → 1 day: o1's social touch (10-10, two days before) leaves the window,
    // so first touch of o1 becomes email.
    let p = tiny();
    ok(&run(p.path(), &["--param", "lookback_days=1"]));
    let a = read_csv(&report_dir(p.path()).join("data/attribution.csv"));
    assert!(a.iter().all(|r| r["channel"] != "social"), "{a:#?}");
    assert!(close(
        num(find(&a, "channel", "email"), "first_touch_revenue"),
        100.0
    ));
    // Edit a segment rule in the SQL file: rename "At Risk".
    let sql = std::fs::read_to_string(p.path().join("sql/rfm.sql"))
        .unwrap()
        .replace("THEN 'At Risk'", "THEN 'Slipping'");
    std::fs::write(p.path().join("sql/rfm.sql"), sql).unwrap();
    ok(&run(p.path(), &[]));
    let rfm = read_csv(&report_dir(p.path()).join("data/rfm.csv"));
    assert_eq!(find(&rfm, "customer_id", "c1")["segment"], "Slipping");
    let page = std::fs::read_to_string(report_dir(p.path()).join("rfm.html")).unwrap();
    assert!(page.contains("Slipping"));
}

#[test]
fn query_prints_model_results() {
    let p = tiny();
    let o = bin()
        .args(["query", "--format", "csv", "--project"])
        .arg(p.path())
        .args([
            "--as-of",
            "2026-10-31",
            "SELECT stage, customers FROM funnel ORDER BY stage_index",
        ])
        .output()
        .unwrap();
    ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    assert!(
        out.starts_with("stage,customers\nVisited,4\nViewed a product,3\n"),
        "{out}"
    );
}

#[test]
fn bundled_project_runs_and_agrees_with_the_exports() {
    let out = TempDir::new().unwrap();
    let o = bin()
        .args(["run", "--project"])
        .arg(repo())
        .args(["--as-of", "2026-10-31", "--out"])
        .arg(out.path())
        .output()
        .unwrap();
    ok(&o);
    let dir = out.path().join("2026-10-31");
    for page in [
        "index",
        "funnel",
        "paths",
        "attribution",
        "rfm",
        "heatmap",
        "channels",
    ] {
        assert!(
            dir.join(format!("{page}.html")).is_file(),
            "{page}.html missing"
        );
    }
    // Second method: count the completed orders of the period straight from the export
    // (distinct order ids, 2026-08-03 00:00 Europe/Berlin = 2026-08-02 22:00 UTC up to
    // 2026-10-31 24:00 Berlin = 23:00 UTC) and compare with every attribution model's total.
    let tx = read_csv(&repo().join("sample-data/transactions.csv"));
    let mut seen = std::collections::BTreeSet::new();
    let (mut orders, mut revenue) = (0.0, 0.0);
    for r in &tx {
        let t = &r["order_time"];
        if r["status"] == "completed"
            && t.as_str() >= "2026-08-02T22:00:00Z"
            && t.as_str() < "2026-10-31T23:00:00Z"
            && seen.insert(r["order_id"].clone())
        {
            orders += 1.0;
            revenue += num(r, "amount");
        }
    }
    assert!(
        orders > 100.0,
        "the sample should have orders in the period"
    );
    let a = read_csv(&dir.join("data/attribution.csv"));
    for model in ["first_touch", "last_touch", "linear"] {
        let c: f64 = a
            .iter()
            .map(|r| num(r, &format!("{model}_conversions")))
            .sum();
        let rev: f64 = a.iter().map(|r| num(r, &format!("{model}_revenue"))).sum();
        assert!(
            (c - orders).abs() < 1e-6,
            "{model}: {c} conversions vs {orders} orders"
        );
        assert!((rev - revenue).abs() < 1e-3, "{model}: {rev} vs {revenue}");
    }
    // The Parquet copy of the events gives the same funnel as the CSV.
    let out2 = TempDir::new().unwrap();
    let o = bin()
        .args(["run", "--project"])
        .arg(repo())
        .args(["--as-of", "2026-10-31", "--source"])
        .arg(format!(
            "events={}",
            repo().join("sample-data/events.parquet").display()
        ))
        .arg("--out")
        .arg(out2.path())
        .output()
        .unwrap();
    ok(&o);
    let csv_funnel = std::fs::read_to_string(dir.join("data/funnel.csv")).unwrap();
    let pq_funnel =
        std::fs::read_to_string(out2.path().join("2026-10-31/data/funnel.csv")).unwrap();
    assert_eq!(csv_funnel, pq_funnel);
}

#[test]
fn backfill_writes_one_folder_per_day() {
    let p = tiny();
    let o = bin()
        .args(["run", "--project"])
        .arg(p.path())
        .args(["--from", "2026-10-29", "--to", "2026-10-31"])
        .output()
        .unwrap();
    ok(&o);
    let mut names: Vec<String> = std::fs::read_dir(p.path().join("reports"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| !n.starts_with('.'))
        .collect();
    names.sort();
    assert_eq!(names, vec!["2026-10-29", "2026-10-30", "2026-10-31"]);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert_eq!(stdout.lines().count(), 1, "one summary line: {stdout}");
    // Each day's report covers its own period: the 10-29 one runs from 09-30 up to the end
    // of 10-29, and all 13 period events of the 10-31 report fall inside it too (the latest,
    // e9, is at 10-29 20:00 UTC) — so the heatmap totals agree.
    let h29 = read_csv(&p.path().join("reports/2026-10-29/data/heatmap.csv"));
    let total: f64 = h29.iter().map(|r| num(r, "events")).sum();
    assert_eq!(total, 13.0);
}

#[test]
fn a_second_run_on_the_same_folder_is_refused_while_the_first_holds_the_lock() {
    let p = tiny();
    let reports = p.path().join("reports");
    std::fs::create_dir_all(&reports).unwrap();
    let lock = std::fs::File::create(reports.join(".journey-report.lock")).unwrap();
    lock.lock().unwrap();
    let o = run(p.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("another journey-report run is writing this folder"),
        "{}",
        stderr(&o)
    );
    assert!(!reports.join("2026-10-31").exists());
    lock.unlock().unwrap();
    ok(&run(p.path(), &[]));
}

#[test]
fn sigterm_mid_run_leaves_the_previous_report_intact() {
    // A first run writes the report; a second, slower run (2,000,000 events) is stopped with
    // SIGTERM while it works: exit 143, the first report unchanged, no partial folder.
    let data = TempDir::new().unwrap();
    ok(&bin()
        .args([
            "sample", "--events", "2000000", "--seed", "3", "--format", "parquet", "--out",
        ])
        .arg(data.path())
        .output()
        .unwrap());
    let out = TempDir::new().unwrap();
    let src = |name: &str, file: &str| format!("{name}={}", data.path().join(file).display());
    let args = |c: &mut std::process::Command| {
        c.args(["run", "--project"])
            .arg(repo())
            .args(["--as-of", "2026-10-31", "--out"])
            .arg(out.path());
    };
    let mut first = std::process::Command::new(env!("CARGO_BIN_EXE_journey-report"));
    args(&mut first);
    ok(&first.output().unwrap());
    let index = out.path().join("2026-10-31/index.html");
    let before = std::fs::read(&index).unwrap();
    let mut second = std::process::Command::new(env!("CARGO_BIN_EXE_journey-report"));
    args(&mut second);
    second
        .arg("--source")
        .arg(src("events", "events.parquet"))
        .arg("--source")
        .arg(src("customers", "customers.csv"))
        .arg("--source")
        .arg(src("transactions", "transactions.csv"));
    second
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null());
    let mut child = second.spawn().unwrap();
    // Wait until it is writing its partial folder, then stop it.
    let t0 = std::time::Instant::now();
    let partial = || {
        std::fs::read_dir(out.path())
            .unwrap()
            .flatten()
            .any(|e| e.file_name().to_string_lossy().contains(".partial-"))
    };
    while !partial() && t0.elapsed().as_secs() < 60 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(partial(), "the second run never started writing");
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(143));
    assert_eq!(
        std::fs::read(&index).unwrap(),
        before,
        "the previous report changed"
    );
    let left: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().to_string())
        .filter(|n| n != ".journey-report.lock")
        .collect();
    assert_eq!(
        left,
        vec!["2026-10-31".to_string()],
        "partial folders left behind"
    );
}

#[test]
fn the_documented_airflow_command_runs() {
    // The BashOperator's command from examples/airflow_dag.py, with Airflow's {{ ds }} and
    // the project path filled in as Airflow and a deployment would.
    let dag = std::fs::read_to_string(repo().join("examples/airflow_dag.py")).unwrap();
    let cmd = dag
        .lines()
        .find_map(|l| l.trim().strip_prefix("bash_command=\""))
        .and_then(|l| l.strip_suffix("\","))
        .expect("bash_command in the DAG");
    assert_eq!(
        cmd,
        "journey-report run --project /srv/journeys --as-of {{ ds }}"
    );
    let p = tiny();
    let line = cmd
        .replace("{{ ds }}", "2026-10-31")
        .replace("/srv/journeys", &p.path().display().to_string());
    let bin_dir = PathBuf::from(env!("CARGO_BIN_EXE_journey-report"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = std::process::Command::new("sh")
        .arg("-c")
        .arg(&line)
        .env("PATH", path)
        .output()
        .unwrap();
    ok(&o);
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(
        stdout
            .trim_end()
            .lines()
            .last()
            .unwrap()
            .starts_with("journey-report: wrote"),
        "the last stdout line (XCom) is the summary: {stdout}"
    );
    assert!(report_dir(p.path()).join("index.html").is_file());
}
