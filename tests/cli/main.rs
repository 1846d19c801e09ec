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
    copy_tiny(dir.path());
    dir
}

/// Copies the tiny fixture and the repository's sql/ models into `dest`.
fn copy_tiny(dest: &Path) {
    copy_dir(&repo().join("tests/fixtures/tiny"), dest);
    copy_dir(&repo().join("sql"), &dest.join("sql"));
}

/// The tiny fixture, run once for the whole test binary (`run --as-of 2026-10-31`, no other
/// options) and shared by the tests that only read its report. It lives under cargo's
/// per-target temporary folder, replaced at the first call of each test run.
fn tiny_report() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("tiny-report");
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        copy_tiny(&dir);
        ok(&run(&dir, &[]));
        Shared(dir)
    })
}

/// A project folder shared by several tests, never written after its first run.
struct Shared(PathBuf);

impl Shared {
    fn path(&self) -> &Path {
        &self.0
    }
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
    let p = tiny_report();
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
    // Conversion from the previous funnel stage (column step_conversion): 4/4, 3/4, 2/3, 1/2,
    // 1/1; overall: 4/4, 3/4, 2/4, 1/4, 1/4.
    let stage: Vec<f64> = rows.iter().map(|r| num(r, "step_conversion")).collect();
    for (a, b) in stage.iter().zip([1.0, 0.75, 2.0 / 3.0, 0.5, 1.0]) {
        assert!(close(*a, b), "stage conversion {stage:?}");
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
    let p = tiny_report();
    let dir = report_dir(p.path());
    // Completed orders in the period: o1 (c1, 10-12 09:30:30, 100 EUR) and o3 (c3, 10-25 09:05,
    // 40 EUR). o2 is in the previous period, o4 earlier, o5 refunded, o6 after the as-of day.
    // o1's touchpoints in the 30 days before it: session s1 (social, 10-10 10:00) and s2
    //   (email, 10-12 09:00) → first touch social, last touch email, linear ½ + ½.
    // o3's: the inferred sessions c3#1 (direct, 08:00) and c3#2 (direct, 09:00; the 50-minute
    //   gap after 08:10 exceeds 30 minutes) → every model gives direct 1.
    let a = read_csv(&dir.join("data/attribution.csv"));
    // Five channels: the three with a touchpoint of an order, and paid_search and
    // organic_search, seen only in the non-converting journeys of c2 and c9 (no rule-based
    // credit).
    assert_eq!(a.len(), 5, "{a:#?}");
    for ch in ["paid_search", "organic_search"] {
        assert_eq!(num(find(&a, "channel", ch), "linear_conversions"), 0.0);
    }
    // Markov chain, order 1, over the four journeys (repeated states merged):
    //   (start) → social → email → (conversion)      o1, 100 EUR
    //   (start) → direct → (conversion)              o3 (direct, direct), 40 EUR
    //   (start) → paid_search → direct → (null)      c2
    //   (start) → organic_search → (null)            c9
    // Out of (start) each path has probability 1/4; direct → (conversion) 1/2, → (null) 1/2.
    // P(conversion) = 1/4 + 1/4·1/2 + 1/4·1/2 = 1/2. Without social (or email) only the two
    // paths through direct convert: 1/4 → removal effect 1 − (1/4)/(1/2) = 0.5; without
    // direct: 1/4 → 0.5; without paid_search: 3/8 → 0.25; without organic_search: 0.
    // Shares of the 2 orders: 0.5/1.75 × 2 = 0.571429 each for social, email, direct;
    // 0.25/1.75 × 2 = 0.285714 for paid_search.
    // Revenue uses value removal effects: expected value per journey 1/4·100 + 1/4·1/2·40 +
    // 1/4·1/2·40 = 35; without social or email it loses 25 (0.714286), without direct 10
    // (0.285714), without paid_search 5 (0.142857); sum 1.857143, so of 140 EUR social and
    // email get 53.846154, direct 21.538462, paid_search 10.769231.
    for (ch, conv, rev, re) in [
        ("social", 0.5714286, 53.8461538, 0.5),
        ("email", 0.5714286, 53.8461538, 0.5),
        ("direct", 0.5714286, 21.5384615, 0.5),
        ("paid_search", 0.2857143, 10.7692308, 0.25),
        ("organic_search", 0.0, 0.0, 0.0),
    ] {
        let r = find(&a, "channel", ch);
        assert!(
            (num(r, "markov_conversions") - conv).abs() < 1e-6,
            "{ch}: {r:?}"
        );
        assert!((num(r, "markov_revenue") - rev).abs() < 1e-6, "{ch}: {r:?}");
        assert!((num(r, "removal_effect") - re).abs() < 1e-9, "{ch}: {r:?}");
    }
    // Shapley: o1's set {social, email} splits its conversion and 100 EUR in halves; o3's
    // {direct} keeps its own; non-converting journeys add nothing.
    for (ch, conv, rev) in [
        ("social", 0.5, 50.0),
        ("email", 0.5, 50.0),
        ("direct", 1.0, 40.0),
        ("paid_search", 0.0, 0.0),
    ] {
        let r = find(&a, "channel", ch);
        assert!(
            close(num(r, "shapley_conversions"), conv) && close(num(r, "shapley_revenue"), rev),
            "{ch}: {r:?}"
        );
    }
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
    let p = tiny_report();
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
    let p = tiny_report();
    let dir = report_dir(p.path());
    for page in [
        "index",
        "funnel",
        "paths",
        "attribution",
        "rfm",
        "clv",
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

/// The text nodes of the `n`-th chart (0-based) of a page, in drawing order.
fn chart_texts(html: &str, n: usize) -> Vec<String> {
    let svg = html
        .split("<svg")
        .nth(n + 1)
        .and_then(|s| s.split("</svg>").next())
        .unwrap_or_else(|| panic!("no chart {n}"));
    svg.split("</text>")
        .filter_map(|t| {
            t.rsplit_once(">\n")
                .map(|(_, text)| text.trim().to_string())
        })
        .collect()
}

/// An e-mail's text with its quoted-printable soft line breaks removed.
fn eml_text(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap()
        .replace("=\r\n", "")
        .replace("=\n", "")
}

#[test]
fn tiny_pages_read_as_the_tables_do() {
    let p = tiny_report();
    let dir = report_dir(p.path());
    let page = |name: &str| std::fs::read_to_string(dir.join(format!("{name}.html"))).unwrap();
    // Rates show the previous value and the change in points: the refund rate is 1 refunded
    // order (o5) of 3 in the period (o1, o3 completed) = 33.3%, against 0 of 1 (o2) before:
    // "0.0% → 33.3%", +33.3 points (the relative change, from 0, has no value).
    let index = page("index");
    assert!(
        index.contains("0.0% → 33.3%, <span class=\"down\">+33.3 pt</span>"),
        "{index}"
    );
    // The attribution heatmap's rows follow the table below it (by revenue), and channel
    // ids are written as names (no [labels.channels]: from the id) on the page, while the
    // data file keeps the ids.
    let attribution = page("attribution");
    let table_order: Vec<String> = read_csv(&dir.join("data/attribution.csv"))
        .iter()
        .map(|r| r["channel"].clone())
        .collect();
    assert_eq!(
        table_order,
        ["email", "social", "direct", "organic_search", "paid_search"]
    );
    let names = ["Email", "Social", "Direct", "Organic search", "Paid search"];
    let texts = chart_texts(&attribution, 0);
    let rows: Vec<&str> = texts
        .iter()
        .map(String::as_str)
        .filter(|t| names.contains(t))
        .collect();
    assert_eq!(rows, names, "heatmap rows in the table's order");
    let table_rows: Vec<usize> = names
        .iter()
        .map(|n| {
            attribution
                .find(&format!("<tr><td>{n}</td>"))
                .unwrap_or_else(|| panic!("{n} is not a table row"))
        })
        .collect();
    assert!(table_rows.windows(2).all(|w| w[0] < w[1]), "table order");
    assert!(!attribution.contains("<td>organic_search</td>"));
    // Every cell of the revenue heatmap has the same (no) decimals, though time decay
    // credits fractions of a euro (o1's 100 EUR split between email and social by age).
    let cells: Vec<&String> = texts
        .iter()
        .filter(|t| t.chars().next().is_some_and(|c| c.is_ascii_digit()))
        .collect();
    assert!(cells.len() >= 40, "{cells:?}");
    assert!(cells.iter().all(|t| !t.contains('.')), "{cells:?}");
    // The funnel's period is written as days in the report's zone, not as a UTC instant.
    let funnel = page("funnel");
    assert!(funnel.contains("<dt>Period</dt><dd>2026-10-02 to 2026-10-31: the last 30 days"));
    assert!(!funnel.contains("2026-10-02 00:00:00"));
}

#[test]
fn channel_display_names_come_from_journey_toml() {
    let p = tiny();
    let toml = p.path().join("journey.toml");
    let mut text = std::fs::read_to_string(&toml).unwrap();
    text.push_str("\n[labels.channels]\nemail = \"Newsletter\"\n");
    std::fs::write(&toml, text).unwrap();
    let o = run(p.path(), &[]);
    ok(&o);
    let dir = report_dir(p.path());
    // The summary line ends with what to open.
    let summary = String::from_utf8_lossy(&o.stdout).trim_end().to_string();
    let open = format!(" — open {}", dir.join("index.html").display());
    assert!(summary.ends_with(&open), "{summary}");
    let attribution = std::fs::read_to_string(dir.join("attribution.html")).unwrap();
    assert!(attribution.contains("<tr><td>Newsletter</td>"));
    // unmapped ids keep the default name
    assert!(attribution.contains("<tr><td>Organic search</td>"));
    assert!(chart_texts(&attribution, 0).contains(&"Newsletter".to_string()));
    let channels = std::fs::read_to_string(dir.join("channels.html")).unwrap();
    assert!(channels.contains("<td>Newsletter</td>"));
    assert!(eml_text(&dir.join("email/attribution.eml")).contains("Newsletter"));
    // paths name each channel of the path: o1's path is social > email
    let paths = std::fs::read_to_string(dir.join("paths.html")).unwrap();
    assert!(paths.contains("Social &gt; Newsletter"), "paths");
    // the data files keep the ids
    let rows = read_csv(&dir.join("data/attribution.csv"));
    assert!(rows.iter().any(|r| r["channel"] == "email"));
    assert!(!rows.iter().any(|r| r["channel"] == "Newsletter"));
}

#[test]
fn rfm_monetary_ties_do_not_depend_on_summation_order() {
    // c1 spends 0.1, 0.2, 0.3 and c3 0.3, 0.2, 0.1 (on different days): 0.6 each. Added as
    // DOUBLE in that order, c1's total is (0.1 + 0.2) + 0.3 = 0.6000000000000001 and c3's
    // (0.3 + 0.2) + 0.1 = 0.6, and c1 would rank above c3 — or not, with another order. Added
    // exactly they tie, and ntile(5) over (monetary, customer_id) for the three customers
    // gives M tiles c1 1, c3 2, c4 (200) 3; churn_risk's revenue order likewise.
    let tx = "order_id,customer_id,order_time,amount,currency,status\n\
        o1,c1,2026-10-10T09:00:00Z,0.1,EUR,completed\n\
        o2,c1,2026-10-11T09:00:00Z,0.2,EUR,completed\n\
        o3,c1,2026-10-12T09:00:00Z,0.3,EUR,completed\n\
        o4,c3,2026-10-10T09:00:00Z,0.3,EUR,completed\n\
        o5,c3,2026-10-11T09:00:00Z,0.2,EUR,completed\n\
        o6,c3,2026-10-12T09:00:00Z,0.1,EUR,completed\n\
        o7,c4,2026-08-01T12:30:00Z,200.00,EUR,completed\n";
    let p = tiny_with("transactions.csv", tx);
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    let rfm = read_csv(&dir.join("data/rfm.csv"));
    for (id, m) in [("c1", "1"), ("c3", "2"), ("c4", "3")] {
        assert_eq!(find(&rfm, "customer_id", id)["m_score"], m, "{id}: {rfm:?}");
    }
    assert_eq!(
        find(&rfm, "customer_id", "c1")["monetary"],
        find(&rfm, "customer_id", "c3")["monetary"]
    );
    let clv = read_csv(&dir.join("data/clv.csv"));
    assert_eq!(
        find(&clv, "customer_id", "c1")["historical_revenue"],
        find(&clv, "customer_id", "c3")["historical_revenue"]
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

/// `DATAFUSION_*` variables set DataFusion's settings (as in datafusion-cli); one DataFusion
/// cannot parse is a configuration error (exit 2) that names it.
#[test]
fn datafusion_settings_come_from_the_environment() {
    let p = tiny();
    let o = bin()
        .env("DATAFUSION_EXECUTION_BATCH_SIZE", "1000")
        .args(["query", "--format", "csv", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31"])
        .arg("SELECT value FROM information_schema.df_settings WHERE name = 'datafusion.execution.batch_size'")
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(String::from_utf8_lossy(&o.stdout), "value\n1000\n");

    let o = bin()
        .env("DATAFUSION_EXECUTION_BATCH_SIZE", "lots")
        .arg("run")
        .arg("--project")
        .arg(p.path())
        .args(["--as-of", "2026-10-31"])
        .output()
        .unwrap();
    assert_fails(&o, 2, &["DATAFUSION_EXECUTION_BATCH_SIZE=lots"], p.path());
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
            // The tiny events.csv has exactly these names (sorted).
            "event names found: add_to_cart, checkout_start, page_view, product_view, purchase",
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

/// Issue 21: models live in folders (`sql/staging/`, `sql/intermediate/`, `sql/marts/<area>/`)
/// and are found at any depth; a model's name is its file stem wherever the file is, so two
/// files with one stem are a configuration error naming both; hidden files and folders and
/// other files are ignored; messages name the file where it is.
#[test]
fn models_are_found_in_folders_by_their_stem() {
    // The bundled models are in folders; a model in a new folder reads one of them.
    let p = tiny();
    let dir = p.path().join("sql/marts/extra");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("channel_count.sql"),
        "SELECT count(*) AS n FROM channels",
    )
    .unwrap();
    // Ignored: a hidden folder, a hidden file, a file that is not .sql.
    std::fs::create_dir_all(p.path().join("sql/.drafts")).unwrap();
    std::fs::write(p.path().join("sql/.drafts/draft.sql"), "SELEC 1").unwrap();
    std::fs::write(p.path().join("sql/marts/.scratch.sql"), "SELEC 1").unwrap();
    std::fs::write(p.path().join("sql/marts/notes.txt"), "SELEC 1").unwrap();
    ok(&run(p.path(), &[]));
    let n = read_csv(&report_dir(p.path()).join("data/channel_count.csv"));
    assert_eq!(n.len(), 1, "{n:?}");
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report_dir(p.path()).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let file = |name: &str| {
        manifest["models"]
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["name"] == name)
            .map(|m| m["file"].as_str().unwrap().to_string())
    };
    assert_eq!(file("rfm").as_deref(), Some("sql/marts/rfm/rfm.sql"));
    assert_eq!(
        file("channel_count").as_deref(),
        Some("sql/marts/extra/channel_count.sql")
    );
    assert_eq!(file("draft"), None);

    // Two files named rfm.sql: exit 2 (configuration), both named.
    let p = tiny();
    let dir = p.path().join("sql/marts/rfm_copy");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::copy(p.path().join("sql/marts/rfm/rfm.sql"), dir.join("rfm.sql")).unwrap();
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        2,
        &[
            "sql/marts/rfm/rfm.sql and sql/marts/rfm_copy/rfm.sql",
            "two model files named \"rfm\"",
        ],
        p.path(),
    );

    // A cycle across folders names the files where they are.
    let p = tiny();
    for (folder, name, reads) in [("a", "loop_a", "loop_b"), ("b/c", "loop_b", "loop_a")] {
        let dir = p.path().join("sql").join(folder);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join(format!("{name}.sql")),
            format!("SELECT * FROM {reads}"),
        )
        .unwrap();
    }
    let o = run(p.path(), &[]);
    assert_fails(
        &o,
        4,
        &[
            "loop_a → loop_b → loop_a",
            "(sql/a/loop_a.sql, sql/b/c/loop_b.sql)",
        ],
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
    std::fs::write(p.path().join("sql/unknown.sql"), "SELECT nope FROM events").unwrap();
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
        .args(["--as-of", "2026-10-31"])
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

/// The manifest counts the rows of every source (the events' count comes from the same read
/// as the funnel check's event names): the tiny fixture's files have 16, 5 and 6 data rows
/// under their headers (`wc -l`: 17, 6, 7).
#[test]
fn manifest_counts_the_rows_of_each_source() {
    let p = tiny_report();
    let manifest: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(report_dir(p.path()).join("manifest.json")).unwrap(),
    )
    .unwrap();
    let rows = |name: &str| {
        manifest["inputs"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no input {name}"))["rows"]
            .clone()
    };
    assert_eq!(
        [rows("events"), rows("customers"), rows("transactions")],
        [16, 5, 6]
    );
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
    // Lookback 30 → 1 day: o1's social touchpoint (10-10, two days before) leaves the window,
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
    let sql = std::fs::read_to_string(p.path().join("sql/marts/rfm/rfm.sql"))
        .unwrap()
        .replace("THEN 'At Risk'", "THEN 'Slipping'");
    std::fs::write(p.path().join("sql/marts/rfm/rfm.sql"), sql).unwrap();
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
fn query_orders_rows_without_order_by_and_names_a_misspelt_table() {
    let p = tiny();
    let query = |sql: &str| {
        bin()
            .args(["query", "--format", "csv", "--project"])
            .arg(p.path())
            .args(["--as-of", "2026-10-31", sql])
            .output()
            .unwrap()
    };
    // No ORDER BY: sorted by every column left to right, so by stage_index (the first).
    let o = query("SELECT stage_index, stage FROM funnel");
    ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(
        out,
        "stage_index,stage\n1,Visited\n2,Viewed a product\n3,Added to cart\n\
         4,Started checkout\n5,Purchased\n"
    );
    // The query's own ORDER BY is kept.
    let o = query("SELECT stage_index FROM funnel ORDER BY stage_index DESC");
    ok(&o);
    assert!(
        String::from_utf8(o.stdout)
            .unwrap()
            .starts_with("stage_index\n5\n4\n")
    );
    // A misspelt table: the closest one and the list, as for a misspelt column.
    let o = query("SELECT * FROM funel");
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("table 'funel' not found. Did you mean 'funnel'?"),
        "{err}"
    );
    assert!(
        err.contains("The tables are: ") && err.contains("funnel_breakdown"),
        "{err}"
    );
}

/// The fenced block of `lang` that follows `after` in the README, its indentation removed.
fn readme_block(readme: &str, after: &str, lang: &str) -> String {
    let at = readme
        .find(after)
        .unwrap_or_else(|| panic!("README lacks {after:?}"));
    let fence = format!("```{lang}\n");
    let start = at + readme[at..].find(&fence).unwrap() + fence.len();
    let end = start + readme[start..].find("```").unwrap();
    readme[start..end]
        .lines()
        .map(|l| l.strip_prefix("   ").unwrap_or(l))
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_readme_refunds_report_runs_as_written() {
    // "Adding a report": the SQL, the template and the journey.toml entry as the README
    // gives them, on the tiny fixture. Its one refunded order, o5 (c4, 2026-10-05), is in
    // the period; c4's first session ever is s5, referral: one refund, "Referral".
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let p = tiny();
    let sql = readme_block(
        &readme,
        "1. Write the query: `sql/marts/refunds/refunds.sql`",
        "sql",
    );
    let html = readme_block(
        &readme,
        "2. Write the page: `templates/refunds.html`",
        "html",
    );
    let entry = readme_block(&readme, "3. Register it in `journey.toml`", "toml");
    std::fs::create_dir_all(p.path().join("sql/marts/refunds")).unwrap();
    std::fs::write(p.path().join("sql/marts/refunds/refunds.sql"), sql).unwrap();
    std::fs::create_dir_all(p.path().join("templates")).unwrap();
    std::fs::write(p.path().join("templates/refunds.html"), html).unwrap();
    let toml = p.path().join("journey.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    // the entry goes with the other [[reports]], before the [email] table
    std::fs::write(
        &toml,
        text.replace("[email]", &format!("{entry}\n\n[email]")),
    )
    .unwrap();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    let rows = read_csv(&dir.join("data/refunds.csv"));
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(
        (rows[0]["channel"].as_str(), rows[0]["refunds"].as_str()),
        ("referral", "1")
    );
    let page = std::fs::read_to_string(dir.join("refunds.html")).unwrap();
    assert!(
        page.contains("<tr><td>Referral</td><td>1</td></tr>"),
        "{page}"
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
        "cohorts",
        "clv",
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
    for model in [
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "time_decay",
        "position_based",
        "markov",
        "shapley",
    ] {
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
    check_bundled_clv(&dir);
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

/// The parts of a message: (content type, Content-ID, body bytes).
type MimeParts = Vec<(String, Option<String>, Vec<u8>)>;

/// Parts of a parsed message: (content type, Content-ID, body bytes).
fn mime_parts(raw: &[u8]) -> (mail_parser::Message<'_>, MimeParts) {
    use mail_parser::MimeHeaders;
    let msg = mail_parser::MessageParser::default()
        .parse(raw)
        .expect("a parseable message");
    let mut parts = Vec::new();
    for p in &msg.parts {
        let ct = p
            .content_type()
            .map(|c| format!("{}/{}", c.ctype(), c.subtype().unwrap_or("")))
            .unwrap_or_default();
        let cid = p.content_id().map(|s| s.to_string());
        parts.push((ct, cid, p.contents().to_vec()));
    }
    (msg, parts)
}

/// Checks one e-mail as a mail client would: multipart/alternative with a plain-text and an
/// HTML part, every `cid:` of the HTML served by an image/png part that decodes, HTML under
/// the 80 KB budget, the link to the full report.
fn check_email(raw: &[u8], report: &str) {
    let (msg, parts) = mime_parts(raw);
    assert!(
        msg.subject().unwrap_or_default().contains("2026-10-31"),
        "{report}: subject {:?}",
        msg.subject()
    );
    let types: Vec<&str> = parts.iter().map(|p| p.0.as_str()).collect();
    assert_eq!(types[0], "multipart/alternative", "{report}: {types:?}");
    assert!(
        types.contains(&"text/plain")
            && types.contains(&"text/html")
            && types.contains(&"multipart/related"),
        "{report}: {types:?}"
    );
    let html =
        String::from_utf8(parts.iter().find(|p| p.0 == "text/html").unwrap().2.clone()).unwrap();
    assert!(
        html.len() < 80 * 1024,
        "{report}: HTML is {} bytes",
        html.len()
    );
    assert!(
        !html.contains("<svg") && !html.contains("data:image"),
        "{report}: e-mail clients show neither"
    );
    assert!(
        html.contains(&format!(
            "https://reports.example.com/journeys/2026-10-31/{report}.html"
        )),
        "{report}: no link to the full report"
    );
    let cids: Vec<String> = html
        .split("cid:")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_string())
        .collect();
    assert!(!cids.is_empty(), "{report}: no chart");
    for cid in &cids {
        let part = parts
            .iter()
            .find(|p| p.1.as_deref() == Some(cid.as_str()))
            .unwrap_or_else(|| panic!("{report}: no part for cid:{cid}"));
        assert_eq!(part.0, "image/png");
        let decoder = png::Decoder::new(std::io::Cursor::new(&part.2));
        let reader = decoder
            .read_info()
            .unwrap_or_else(|e| panic!("{report}: cid:{cid} is not a PNG: {e}"));
        let info = reader.info();
        assert!(
            info.width > 100 && info.width <= 560 && info.height > 50,
            "{report}: {}x{}",
            info.width,
            info.height
        );
    }
    let text = String::from_utf8(
        parts
            .iter()
            .find(|p| p.0 == "text/plain")
            .unwrap()
            .2
            .clone(),
    )
    .unwrap();
    assert!(text.len() > 100, "{report}: plain-text part too short");
}

#[test]
fn every_page_has_an_email_form_with_png_charts() {
    let p = tiny_report();
    for report in [
        "index",
        "funnel",
        "paths",
        "attribution",
        "rfm",
        "heatmap",
        "channels",
    ] {
        let raw = std::fs::read(report_dir(p.path()).join(format!("email/{report}.eml"))).unwrap();
        check_email(&raw, report);
    }
}

/// Starts aiosmtpd on a free loopback port, storing what it receives in a Maildir (see
/// [`delivery::NEEDS_AIOSMTPD`]).
fn smtp_server(maildir: &Path) -> (std::process::Child, u16) {
    delivery::smtp_refusing(maildir, &[])
}

#[test]
#[ignore = "needs aiosmtpd (python3 -m pip install aiosmtpd); run with `--test cli -- --ignored`"]
fn send_delivers_every_report_over_smtp_and_refuses_stale_inputs() {
    let mail = TempDir::new().unwrap();
    let maildir = mail.path().join("Maildir");
    let (mut server, port) = smtp_server(&maildir);
    let p = tiny();
    // ceo@example.com gets the digest ([email] to) and opts in to every page.
    let toml = p.path().join("journey.toml");
    let text = std::fs::read_to_string(&toml).unwrap();
    let text = text.replace(
        "\"\ntitle = ",
        "\"\nrecipients = [\"ceo@example.com\"]\ntitle = ",
    );
    std::fs::write(&toml, text).unwrap();
    let send = |as_of: &str| {
        bin()
            .args(["run", "--send", "--project"])
            .arg(p.path())
            .args(["--as-of", as_of])
            .env("JOURNEY_SMTP_HOST", "127.0.0.1")
            .env("JOURNEY_SMTP_PORT", port.to_string())
            .env("JOURNEY_SMTP_TLS", "none")
            .env("JOURNEY_SMTP_PASSWORD", "s3cret-never-logged")
            .env("RUST_LOG", "info")
            .output()
            .unwrap()
    };
    let received = || -> Vec<PathBuf> {
        std::fs::read_dir(maildir.join("new"))
            .map(|r| r.flatten().map(|e| e.path()).collect())
            .unwrap_or_default()
    };
    // 2026-10-31: the newest event up to the end of the day is e9 (10-29 20:00 UTC), 52 h
    // before 11-01 00:00 UTC — within the fixture's 72 h limit: all 8 e-mails (the digest and
    // the seven pages ceo opted in to) go out.
    let o = send("2026-10-31");
    ok(&o);
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("8 e-mails sent"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert!(!stderr(&o).contains("s3cret"), "the password was logged");
    let t0 = std::time::Instant::now();
    while received().len() < 8 && t0.elapsed().as_secs() < 10 {
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    let files = received();
    assert_eq!(files.len(), 8);
    let mut reports = Vec::new();
    for f in &files {
        let raw = std::fs::read(f).unwrap();
        let (msg, _) = mime_parts(&raw);
        assert_eq!(
            msg.to().and_then(|t| t.first()).and_then(|a| a.address()),
            Some("ceo@example.com")
        );
        let html = msg.body_html(0).unwrap().to_string();
        let report = html
            .split("https://reports.example.com/journeys/2026-10-31/")
            .nth(1)
            .unwrap()
            .split(".html")
            .next()
            .unwrap()
            .to_string();
        check_email(&raw, &report);
        reports.push(report);
    }
    reports.sort();
    assert_eq!(
        reports,
        vec![
            "attribution",
            "channels",
            "clv",
            "funnel",
            "heatmap",
            "index",
            "paths",
            "rfm"
        ]
    );
    // 2026-11-05: the newest event is e14 (11-01 10:00 UTC), 110 h = 4.6 days before 11-06
    // 00:00 UTC, over the fixture's 72 h limit: nothing is written, nothing is sent, exit 3.
    let o = send("2026-11-05");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("stale") && stderr(&o).contains("4.6 days"),
        "{}",
        stderr(&o)
    );
    assert!(!p.path().join("reports/2026-11-05").exists());
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert_eq!(received().len(), 8, "a stale report was sent");
    let _ = server.kill();
    let _ = server.wait();
}

/// A fresh copy of the attribution fixture with the repository's sql/ models.
fn attribution_fixture() -> TempDir {
    let dir = TempDir::new().unwrap();
    copy_dir(&repo().join("tests/fixtures/attribution"), dir.path());
    copy_dir(&repo().join("sql"), &dir.path().join("sql"));
    dir
}

#[test]
fn attribution_fixture_by_hand() {
    let p = attribution_fixture();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    // Period: 2026-10-02 00:00 … 2026-11-01 00:00 UTC; lookback 30 days; half-life 7 days.
    // Completed orders in the period and their touchpoints (sessions in the 30 days before):
    //   o1 a1 100 EUR: email (one touchpoint).
    //   o2 a2 200 EUR: social 14 days before, paid_search at the order's second (two touchpoints).
    //   o3 a3 300 EUR: display at 30 d + 1 s is outside the window; organic_search at exactly
    //      30 d is inside (inclusive); then email 7 d, referral 1 d, direct 1 h before.
    //   o4 a4  50 EUR: social and affiliate start at the same second: ordered by session id,
    //      a4-x1 (social) is first, a4-x2 (affiliate) last.
    //   o5 a5  80 EUR: two direct sessions only.
    //   o6 a6  60 EUR: its only session is 54 days before → '(no touchpoint)'.
    //   o8 (refunded) earns nothing; a7 and a8 are non-converting journeys.
    // Six orders, 790 EUR.
    //
    // Time decay for o3, weight 2^(-age/7 d): organic 2^(-30/7) = 0.0512709, email 0.5,
    // referral 2^(-1/7) = 0.9057237, direct 2^(-1/168) = 0.9958826; sum 2.4528772 → shares
    // 0.0209024, 0.2038422, 0.3692495, 0.4060059 (× 300 EUR = 6.2707, 61.1527, 110.7748,
    // 121.8018). For o2: social 2^(-14/7) = 0.25, paid 1 → 0.2 / 0.8.
    // Position-based: o3 40/10/10/40 (20% shared by the two middle touchpoints); o2 and o4 50/50.
    let a = read_csv(&dir.join("data/attribution.csv"));
    #[rustfmt::skip]
    let expect: [(&str, [f64; 12]); 8] = [
        //                 first        last         last non-dir  linear        time decay               position
        ("email",          [1.0, 100.0, 1.0, 100.0, 1.0, 100.0, 1.25, 175.0, 1.2038422, 161.1526729, 1.1, 130.0]),
        ("social",         [2.0, 250.0, 0.0, 0.0,   0.0, 0.0,   1.0, 125.0,  0.7, 65.0,                1.0, 125.0]),
        ("paid_search",    [0.0, 0.0,   1.0, 200.0, 1.0, 200.0, 0.5, 100.0,  0.8, 160.0,               0.5, 100.0]),
        ("organic_search", [1.0, 300.0, 0.0, 0.0,   0.0, 0.0,   0.25, 75.0,  0.0209024, 6.2707125,     0.4, 120.0]),
        ("referral",       [0.0, 0.0,   0.0, 0.0,   1.0, 300.0, 0.25, 75.0,  0.3692495, 110.7748460,   0.1, 30.0]),
        ("direct",         [1.0, 80.0,  2.0, 380.0, 1.0, 80.0,  1.25, 155.0, 1.4060059, 201.8017687,   1.4, 200.0]),
        ("affiliate",      [0.0, 0.0,   1.0, 50.0,  1.0, 50.0,  0.5, 25.0,   0.5, 25.0,                0.5, 25.0]),
        ("(no touchpoint)",[1.0, 60.0,  1.0, 60.0,  1.0, 60.0,  1.0, 60.0,   1.0, 60.0,                1.0, 60.0]),
    ];
    let models = [
        "first_touch",
        "last_touch",
        "last_non_direct",
        "linear",
        "time_decay",
        "position_based",
    ];
    for (channel, want) in expect {
        let row = find(&a, "channel", channel);
        for (i, m) in models.iter().enumerate() {
            for (j, what) in ["conversions", "revenue"].iter().enumerate() {
                let col = format!("{m}_{what}");
                let got = num(row, &col);
                assert!(
                    (got - want[2 * i + j]).abs() < 1e-5,
                    "{channel}: {col} = {got}, want {}",
                    want[2 * i + j]
                );
            }
        }
    }
    // display's session is outside every window: no order credits it; a row exists only if
    // a data-driven model saw it in a journey (it does not: a3's journey starts with organic).
    assert!(a.iter().all(|r| r["channel"] != "display"), "{a:#?}");
    // Every model's totals are the six orders and 790 EUR — the data-driven ones included.
    for m in models.iter().chain(&["markov", "shapley"]) {
        let conv: f64 = a.iter().map(|r| num(r, &format!("{m}_conversions"))).sum();
        let rev: f64 = a.iter().map(|r| num(r, &format!("{m}_revenue"))).sum();
        assert!(
            (conv - 6.0).abs() < 1e-9 && (rev - 790.0).abs() < 1e-6,
            "{m}: {conv} orders, {rev} EUR"
        );
    }
    // Shapley with v(S) = conversions of the journeys whose channel set lies in S: only
    // converting journeys add value, each splitting one conversion equally over its distinct
    // channels (Zhao et al.'s closed form) — here that is the linear split, since only o5
    // repeats a channel and its set is {direct}.
    for (channel, want) in [
        ("email", 1.25),
        ("social", 1.0),
        ("paid_search", 0.5),
        ("organic_search", 0.25),
        ("referral", 0.25),
        ("direct", 1.25),
        ("affiliate", 0.5),
        ("(no touchpoint)", 1.0),
    ] {
        let got = num(find(&a, "channel", channel), "shapley_conversions");
        assert!(
            (got - want).abs() < 1e-9,
            "shapley {channel}: {got}, want {want}"
        );
    }
    // Markov: removal effects between 0 and 1; a7's and a8's non-converting journeys make
    // removing social or email cost less than removing a channel that only converts.
    let mk = read_csv(&dir.join("data/attribution_markov.csv"));
    for r in &mk {
        let re = num(r, "removal_effect");
        assert!((0.0..=1.0).contains(&re), "{r:?}");
    }
    // Spend in the period: social 30 + 20, paid_search 40 (the 999 EUR of 2026-09-15 is before
    // the period), email 5, affiliate 10. ROAS linear paid_search = 100 / 40 = 2.5; CAC
    // linear social = 50 / 1.0 = 50; organic_search has no spend: CAC and ROAS empty.
    let roi = read_csv(&dir.join("data/attribution_roi.csv"));
    let pick = |ch: &str, m: &str| {
        roi.iter()
            .find(|r| r["channel"] == ch && r["model"] == m)
            .unwrap_or_else(|| panic!("no {ch}/{m} in {roi:#?}"))
            .clone()
    };
    assert!(close(num(&pick("paid_search", "linear"), "cost"), 40.0));
    assert!(close(num(&pick("paid_search", "linear"), "roas"), 2.5));
    assert!(close(num(&pick("social", "linear"), "cac"), 50.0));
    assert!(close(num(&pick("social", "first_touch"), "cac"), 25.0));
    assert_eq!(pick("organic_search", "linear")["roas"], "");
    assert_eq!(roi.len(), 8 * 8, "8 channels × 8 models");
}

/// CLV of the bundled project, second method: the fitted parameters of data/clv_fit.csv put
/// through the library's BG/NBD and Gamma-Gamma functions directly must give the P(alive),
/// expected purchases and CLV that the SQL model wrote; tiers and the at-risk list follow
/// their definitions.
fn check_bundled_clv(dir: &Path) {
    use journey_algorithms::clv::{
        BgNbdParams, ClvHorizon, GammaGammaParams, customer_lifetime_value,
    };
    let fit = read_csv(&dir.join("data/clv_fit.csv"));
    assert_eq!(fit.len(), 1);
    let f = &fit[0];
    assert_eq!(f["bg_nbd_converged"], "true", "{f:?}");
    assert_eq!(f["gamma_gamma_converged"], "true", "{f:?}");
    let bg = BgNbdParams::new(num(f, "r"), num(f, "alpha"), num(f, "a"), num(f, "b")).unwrap();
    let gg = GammaGammaParams::new(num(f, "p"), num(f, "q"), num(f, "v")).unwrap();
    let clv = read_csv(&dir.join("data/clv.csv"));
    assert!(clv.len() > 100);
    // The sample's 365 days from 2025-11-01 hold the customers' orders: every summary is
    // consistent (0 ≤ recency ≤ t, frequency whole).
    for row in clv.iter().step_by(37) {
        let (x, tx, t, m) = (
            num(row, "frequency"),
            num(row, "recency"),
            num(row, "t"),
            num(row, "monetary_value"),
        );
        assert!(x.fract() == 0.0 && 0.0 <= tx && tx <= t, "{row:?}");
        let p_alive = bg.probability_alive(x, tx, t).unwrap();
        assert!(
            (num(row, "p_alive") - p_alive).abs() < 1e-9,
            "{row:?} vs {p_alive}"
        );
        let e = bg.conditional_expected_purchases(360.0, x, tx, t).unwrap();
        assert!(
            (num(row, "expected_purchases") - e).abs() < 1e-9 * e.max(1.0),
            "{row:?} vs {e}"
        );
        let v =
            customer_lifetime_value(&bg, &gg, x, tx, t, m, &ClvHorizon::days(12, 0.01)).unwrap();
        assert!(
            (num(row, "predicted_clv") - v).abs() < 1e-6 * v.max(1.0),
            "{row:?} vs {v}"
        );
        assert_eq!(row["method"], "bg_nbd × gamma_gamma");
    }
    // Tiers: 5% / 15% / 30% / 50% of the customers by predicted CLV.
    let tiers = read_csv(&dir.join("data/clv_tiers.csv"));
    let n = clv.len() as f64;
    let top = num(find(&tiers, "ltv_tier", "Top 5%"), "customers");
    assert!((top - 0.05 * n).abs() <= 1.0, "top tier {top} of {n}");
    let total: f64 = tiers.iter().map(|t| num(t, "customers")).sum();
    assert_eq!(total, n);
    // At risk: top-20% historical revenue and P(alive) below 0.5.
    let mut revenue: Vec<f64> = clv.iter().map(|r| num(r, "historical_revenue")).collect();
    revenue.sort_by(|a, b| b.partial_cmp(a).unwrap());
    let cut = revenue[(0.2 * n) as usize];
    for r in read_csv(&dir.join("data/churn_risk.csv")) {
        assert!(
            num(&r, "p_alive") < 0.5 && num(&r, "historical_revenue") >= cut,
            "{r:?}"
        );
    }
    // Calibration: predicted and actual holdout purchases per customer are both reported.
    let cal = read_csv(&dir.join("data/clv_calibration.csv"));
    assert!(
        cal.iter()
            .all(|r| r["converged"] == "true" && num(r, "predicted_purchases") >= 0.0)
    );
}

#[test]
fn clv_falls_back_and_says_so_when_a_fit_cannot_be_made() {
    // The tiny fixture has three buyers up to 2026-10-31 (c1: 2026-09-20 50 EUR and
    // 2026-10-12 100 EUR; c3: 2026-10-25 40 EUR; c4: 2026-08-01 200 EUR; o5 is refunded, o6
    // after the as-of day). Only c1 has a repeat purchase, so Gamma-Gamma (fitted on
    // customers with repeat purchases) cannot be fitted: it says so, and c1's spend per
    // purchase falls back to its historical mean (50 + 100) / 2 = 75 EUR.
    let p = tiny_report();
    let dir = report_dir(p.path());
    let fit = read_csv(&dir.join("data/clv_fit.csv"));
    assert_eq!(fit[0]["gamma_gamma_converged"], "false");
    assert!(
        fit[0]["gamma_gamma_message"].contains("at least 2"),
        "{fit:?}"
    );
    let clv = read_csv(&dir.join("data/clv.csv"));
    let c1 = find(&clv, "customer_id", "c1");
    // c1: frequency 1, recency 2026-09-20 → 2026-10-12 = 22 days, age 2026-09-20 → as-of
    // 2026-10-31 = 41 days.
    assert_eq!(
        (num(c1, "frequency"), num(c1, "recency"), num(c1, "t")),
        (1.0, 22.0, 41.0)
    );
    assert!(close(num(c1, "expected_order_value"), 75.0));
    assert!(c1["method"].ends_with("historical_value"), "{c1:?}");
    assert!(num(c1, "predicted_clv").is_finite());
    let page = std::fs::read_to_string(dir.join("clv.html")).unwrap();
    assert!(
        page.contains("did not converge"),
        "the page must say the fit failed"
    );
}

/// The plain-SQL funnel: per customer, from every stage-1 event, the earliest stage-k event at
/// or after the chain's stage-(k−1) event and within the window of its stage-1 event, found with
/// a window function (`min(...) OVER (... ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING)`
/// over the chain rows and the stage-k events, chain rows first on equal times, so an event at
/// the same second counts). The deepest chain per customer gives the funnel stages it reached
/// (ClickHouse windowFunnel's level, default mode), computed without `window_funnel()`.
fn plain_sql_funnel_stages_reached(stages: usize) -> String {
    let mut sql = String::from(
        "WITH ev AS (SELECT e.customer_id, e.event_time AS t, f.stage_index AS stage \
         FROM stg_events e JOIN funnel_stages f ON f.event_name = e.event_name \
         WHERE e.event_time >= $period_start), \
         c1 AS (SELECT customer_id, t AS t1, t AS tk FROM ev WHERE stage = 1)",
    );
    for k in 2..=stages {
        sql += &format!(
            ", c{k} AS (SELECT customer_id, t1, nt AS tk FROM ( \
               SELECT customer_id, t1, kind, min(CASE WHEN kind = 1 THEN t END) OVER ( \
                 PARTITION BY customer_id ORDER BY t, kind ROWS BETWEEN CURRENT ROW AND UNBOUNDED FOLLOWING) AS nt \
               FROM (SELECT customer_id, t1, tk AS t, 0 AS kind FROM c{p} \
                     UNION ALL SELECT customer_id, CAST(NULL AS TIMESTAMP), t, 1 FROM ev WHERE stage = {k}) u) x \
               WHERE kind = 0 AND nt IS NOT NULL \
                 AND date_part('epoch', nt) - date_part('epoch', t1) <= $conversion_window_days * 86400)",
            p = k - 1
        );
    }
    let reached: Vec<String> = (1..=stages)
        .map(|k| format!("SELECT DISTINCT customer_id, {k} AS reached FROM c{k}"))
        .collect();
    // stg_funnel_customers.level: the stages reached, by window_funnel's semantics.
    sql += &format!(
        ", plain AS (SELECT customer_id, max(reached) AS reached FROM ({}) l GROUP BY customer_id) \
         SELECT count(*) AS customers, \
                sum(CASE WHEN p.reached = w.reached THEN 0 ELSE 1 END) AS mismatches, \
                sum(CASE WHEN w.reached = {stages} THEN 1 ELSE 0 END) AS completed \
         FROM plain p FULL JOIN (SELECT customer_id, level AS reached FROM stg_funnel_customers \
                                 WHERE period = 'current' AND level > 0) w \
           ON w.customer_id = p.customer_id",
        reached.join(" UNION ALL ")
    );
    sql
}

#[test]
fn window_funnel_agrees_with_plain_sql_on_the_bundled_data() {
    let o = bin()
        .args(["query", "--format", "csv", "--project"])
        .arg(repo())
        .args(["--as-of", "2026-10-31", &plain_sql_funnel_stages_reached(5)])
        .output()
        .unwrap();
    ok(&o);
    let out = String::from_utf8(o.stdout).unwrap();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("customers,mismatches,completed"));
    let v: Vec<f64> = lines
        .next()
        .unwrap()
        .split(',')
        .map(|x| x.parse().unwrap())
        .collect();
    // Every customer who entered the funnel reached the same stages by both methods; the bundled
    // data has 1,013 of them (365 completing all five stages, as data/funnel.csv says).
    assert_eq!(v[1], 0.0, "{out}");
    assert!(v[0] > 500.0 && v[2] > 100.0, "{out}");
}

#[test]
fn time_zone_buckets_stay_right_across_dst() {
    let dir = TempDir::new().unwrap();
    copy_dir(&repo().join("tests/fixtures/dst"), dir.path());
    copy_dir(&repo().join("sql"), &dir.path().join("sql"));
    ok(&run(dir.path(), &[]));
    let out = report_dir(dir.path());
    // Europe/Berlin: CET (UTC+1) → CEST (UTC+2) on 2026-03-29 at 01:00 UTC; back to CET on
    // 2026-10-25 at 01:00 UTC. As-of 2026-10-31 ends at 2026-10-31 23:00 UTC (midnight CET).
    //   x1 03-29 00:30Z = 01:30 CET  Sunday hour 1      x2 03-29 01:30Z = 03:30 CEST Sunday hour 3
    //   y0 09-30 22:30Z = 10-01 00:30 CEST Thursday hour 0
    //   y1 10-24 22:30Z = 10-25 00:30 CEST Sunday hour 0
    //   y2 10-25 00:30Z = 02:30 CEST Sunday hour 2      y3 10-25 01:30Z = 02:30 CET Sunday hour 2
    //   y4 10-31 22:59:59Z = 23:59:59 CET Saturday hour 23
    //   y5 10-31 23:30Z = 11-01 00:30 CET: after the as-of day, not counted anywhere.
    let heat = read_csv(&out.join("data/heatmap.csv"));
    let cell = |dow: &str, hour: &str| {
        num(
            heat.iter()
                .find(|r| r["day_of_week"] == dow && r["hour"] == hour)
                .unwrap(),
            "events",
        )
    };
    assert_eq!(cell("7", "1"), 1.0);
    assert_eq!(cell("7", "3"), 1.0);
    assert_eq!(
        cell("7", "2"),
        2.0,
        "the repeated hour 02:00–03:00 of 10-25 holds y2 and y3"
    );
    assert_eq!(cell("7", "0"), 1.0);
    assert_eq!(cell("4", "0"), 1.0);
    assert_eq!(cell("6", "23"), 1.0);
    let total: f64 = heat.iter().map(|r| num(r, "events")).sum();
    assert_eq!(total, 7.0, "y5 is after the as-of day");
    // Daily buckets: 10-25 holds y1 (10-24 22:30 UTC), y2, y3; 10-24 holds nothing though y1
    // and the order o1 (10-24 22:45 UTC = 10-25 00:45 CEST) are on 10-24 in UTC.
    let days = read_csv(&out.join("data/daily_trend.csv"));
    let day = |d: &str| days.iter().find(|r| r["day"] == d).unwrap().clone();
    assert_eq!(num(&day("2026-10-25"), "events"), 3.0);
    assert_eq!(num(&day("2026-10-25"), "orders"), 1.0);
    assert_eq!(num(&day("2026-10-24"), "events"), 0.0);
    assert_eq!(num(&day("2026-10-31"), "events"), 1.0);
    assert_eq!(num(&day("2026-03-29"), "events"), 2.0);
    // Cohorts: d1 signed up 09-30 22:30 UTC = 10-01 00:30 CEST → the October cohort, not
    // September; d2 03-28 23:30 UTC = 03-29 00:30 CET → March, week of Monday 03-23.
    let cohorts = read_csv(&out.join("data/cohorts.csv"));
    let month0 = |label: &str| {
        cohorts
            .iter()
            .find(|r| r["grain"] == "month" && r["cohort_label"] == label && r["period"] == "0")
            .map(|r| num(r, "cohort_size"))
    };
    assert_eq!(month0("2026-10"), Some(1.0));
    assert_eq!(month0("2026-09"), None);
    assert_eq!(month0("2026-03"), Some(1.0));
    // October cohort, period 0: d1 active (y1–y4) and a buyer (o1); still running? No: the
    // as-of day is the last of October, so the month is complete.
    let oct = cohorts
        .iter()
        .find(|r| r["grain"] == "month" && r["cohort_label"] == "2026-10" && r["period"] == "0")
        .unwrap();
    assert_eq!((num(oct, "active"), num(oct, "buyers")), (1.0, 1.0));
    assert_eq!(oct["complete"], "true");
    // The weekly cohort of d1 (week of Monday 09-28) is within the last 12 weeks; its period 4
    // (10-26 … 11-01) is still running on Saturday 10-31.
    let w4 = cohorts
        .iter()
        .find(|r| r["grain"] == "week" && r["cohort_label"] == "2026-09-28" && r["period"] == "4")
        .unwrap();
    assert_eq!((num(w4, "active"), w4["complete"].as_str()), (1.0, "false"));
}

#[test]
fn tiny_project_dropoffs_by_hand() {
    let p = tiny_report();
    let dir = report_dir(p.path());
    // Funnel stages reached (7-day window from the stage-1 event): c1 reaches all 5 stages; c2
    // page_view and product_view on 10-20, its add_to_cart on 10-29 is 9 days later → 2
    // stages; c3 page_view, product_view, add_to_cart on 10-25 → 3; c9 one page_view → 1.
    // So c9 dropped after Visited, c2 after Viewed a product, c3 after Added to cart.
    let d = read_csv(&dir.join("data/funnel_dropoff.csv"));
    assert_eq!(d.len(), 3, "{d:#?}");
    // c2 reached stage 2 at 10-20 20:01; its last event since is e9, add_to_cart on Thursday
    // 10-29 20:00 UTC (direct, mobile): 52 h = 187,200 s before 11-01 00:00.
    let c2 = find(&d, "customer_id", "c2");
    assert_eq!(c2["stage"], "Viewed a product");
    assert_eq!(c2["next_stage"], "Added to cart");
    assert_eq!(
        (
            c2["last_event_name"].as_str(),
            c2["last_channel"].as_str(),
            c2["last_device"].as_str()
        ),
        ("add_to_cart", "direct", "mobile")
    );
    assert_eq!(
        (num(c2, "last_event_hour"), num(c2, "last_event_weekday")),
        (20.0, 4.0)
    );
    assert_eq!(num(c2, "seconds_since"), 187_200.0);
    // c3: e12 add_to_cart on Sunday 10-25 09:00 → 6 d 15 h = 572,400 s.
    let c3 = find(&d, "customer_id", "c3");
    assert_eq!(
        (
            c3["stage"].as_str(),
            num(c3, "last_event_weekday"),
            num(c3, "seconds_since")
        ),
        ("Added to cart", 7.0, 572_400.0)
    );
    // c9: e15 page_view Thursday 10-15 11:00 → 16 d 13 h = 1,429,200 s.
    let c9 = find(&d, "customer_id", "c9");
    assert_eq!(
        (c9["stage"].as_str(), num(c9, "seconds_since")),
        ("Visited", 1_429_200.0)
    );
    // One follow-up file per stage with drop-offs, nobody dropped at Started checkout.
    for (file, who) in [
        ("dropoff_visited", "c9"),
        ("dropoff_viewed_a_product", "c2"),
        ("dropoff_added_to_cart", "c3"),
    ] {
        let rows = read_csv(&dir.join(format!("data/{file}.csv")));
        assert_eq!(rows.len(), 1, "{file}");
        assert_eq!(rows[0]["customer_id"], who);
    }
    assert!(!dir.join("data/dropoff_started_checkout.csv").exists());
}

#[test]
fn inferred_sessions_are_numbered_per_customer() {
    // Events without a session id, two customers interleaved in time. Per customer, in time
    // order (GA's rules: a gap over 30 minutes or a change of channel/campaign starts one):
    //   c1: e1 10:00, e3 10:20 (same source) → c1#1; e5 11:00 (40 min later) → c1#2;
    //       e7 11:10 → c1#2.
    //   c2: e2 10:05 social → c2#1; e4 10:25 email (source changed) → c2#2; e6 10:50 → c2#2.
    //   c0: e8 09:00 → c0#1 (the first customer in id order: numbering starts at 1 there too).
    // c3's exported session s8 is kept as it is.
    let events = "event_id,customer_id,event_time,event_name,channel,campaign,device,session_id\n\
        e1,c1,2026-10-10T10:00:00Z,page_view,social,campA,mobile,\n\
        e2,c2,2026-10-10T10:05:00Z,page_view,social,campA,mobile,\n\
        e3,c1,2026-10-10T10:20:00Z,product_view,social,campA,mobile,\n\
        e4,c2,2026-10-10T10:25:00Z,page_view,email,news,mobile,\n\
        e5,c1,2026-10-10T11:00:00Z,page_view,social,campA,mobile,\n\
        e6,c2,2026-10-10T10:50:00Z,add_to_cart,email,news,mobile,\n\
        e7,c1,2026-10-10T11:10:00Z,add_to_cart,social,campA,mobile,\n\
        e8,c0,2026-10-10T09:00:00Z,page_view,direct,,desktop,\n\
        e9,c3,2026-10-12T09:00:00Z,checkout_start,direct,,tablet,s8\n\
        e10,c3,2026-10-12T09:01:00Z,purchase,direct,,tablet,s8\n";
    let p = tiny_with("events.csv", events);
    let o = bin()
        .args(["query", "--format", "csv", "--project"])
        .arg(p.path())
        .args([
            "--as-of",
            "2026-10-31",
            "SELECT event_id, session_id, session_inferred FROM stg_events ORDER BY CAST(substr(event_id, 2) AS INT)",
        ])
        .output()
        .unwrap();
    ok(&o);
    assert_eq!(
        String::from_utf8(o.stdout).unwrap(),
        "event_id,session_id,session_inferred\n\
         e1,c1#1,true\ne2,c2#1,true\ne3,c1#1,true\ne4,c2#2,true\ne5,c1#2,true\n\
         e6,c2#2,true\ne7,c1#2,true\ne8,c0#1,true\ne9,s8,false\ne10,s8,false\n"
    );
}

#[test]
fn sessionization_splits_on_gap_and_on_a_change_of_source() {
    // c1's events have no session id: 10:00 and 10:10 social/campA, 10:20 and 10:25
    // email/news (the source changes after 10 minutes), 11:30 email/news (65 minutes later).
    // c2's two events share the exported session s9 although their channel changes. (c3's
    // direct session s8 only names the remaining funnel events.)
    let events = "event_id,customer_id,event_time,event_name,channel,campaign,device,session_id\n\
        e1,c1,2026-10-10T10:00:00Z,page_view,social,campA,mobile,\n\
        e2,c1,2026-10-10T10:10:00Z,product_view,social,campA,mobile,\n\
        e3,c1,2026-10-10T10:20:00Z,page_view,email,news,mobile,\n\
        e4,c1,2026-10-10T10:25:00Z,add_to_cart,email,news,mobile,\n\
        e5,c1,2026-10-10T11:30:00Z,page_view,email,news,mobile,\n\
        e6,c2,2026-10-11T09:00:00Z,page_view,social,campA,desktop,s9\n\
        e7,c2,2026-10-11T09:05:00Z,page_view,email,news,desktop,s9\n\
        e8,c3,2026-10-12T09:00:00Z,checkout_start,direct,,tablet,s8\n\
        e9,c3,2026-10-12T09:01:00Z,purchase,direct,,tablet,s8\n";
    let p = tiny_with("events.csv", events);
    // These events end on 10-12, 19.6 days before the end of the as-of day: not checked for
    // freshness here (the freshness tests are in trust.rs).
    let toml = std::fs::read_to_string(p.path().join("journey.toml"))
        .unwrap()
        .replace(
            "[sources.events]\npath = \"events.csv\"",
            "[sources.events]\npath = \"events.csv\"\nmax_age_hours = {}",
        )
        .replace("max_input_age_hours = 72\n", "");
    std::fs::write(p.path().join("journey.toml"), toml).unwrap();
    let sessions = |extra: &[&str]| {
        ok(&run(p.path(), extra));
        read_csv(&report_dir(p.path()).join("data/sessions.csv"))
    };
    let pick = |rows: &[BTreeMap<String, String>], v: &str| {
        rows.iter()
            .find(|r| r["dimension"] == "channel" && r["value"] == v)
            .cloned()
            .unwrap()
    };
    // GA's rule (default): c1 has three sessions — [e1 e2] social 600 s, [e3 e4] email 300 s,
    // [e5] email alone (a bounce) — and c2 one, s9, social (its first event), 300 s.
    // social: 2 sessions, durations 600 and 300 → median 450 s; email: 2 sessions, 1 bounce.
    let with = sessions(&[]);
    let (social, email) = (pick(&with, "social"), pick(&with, "email"));
    assert_eq!(
        (
            num(&social, "sessions"),
            num(&social, "median_duration_seconds")
        ),
        (2.0, 450.0)
    );
    assert_eq!(
        (num(&email, "sessions"), num(&email, "bounce_rate")),
        (2.0, 0.5)
    );
    assert!(close(num(&social, "inferred_share"), 0.5));
    // Gap only: c1 has [e1 … e4] (social, 1,500 s) and [e5] (email).
    let without = sessions(&["--param", "session_split_on_campaign=false"]);
    let (social, email) = (pick(&without, "social"), pick(&without, "email"));
    assert_eq!(
        (
            num(&social, "sessions"),
            num(&social, "avg_duration_seconds")
        ),
        (2.0, 900.0)
    );
    assert_eq!(
        (num(&email, "sessions"), num(&email, "bounce_rate")),
        (1.0, 1.0)
    );
}

#[test]
fn tiny_project_path_exploration_by_hand() {
    let p = tiny_report();
    let dir = report_dir(p.path());
    // Sessions of the period with an add_to_cart (the default start event): s2 (c1: page_view,
    // add_to_cart, checkout_start, purchase), s4 (c2: add_to_cart alone) and c3#2 (c3:
    // add_to_cart alone, 50 minutes after c3#1). Forward from the first add_to_cart:
    //   s2: add_to_cart → checkout_start → purchase → (exit); s4, c3#2: add_to_cart → (exit).
    let f = read_csv(&dir.join("data/paths_forward.csv"));
    let flows: Vec<(String, String, String, String)> = f
        .iter()
        .map(|r| {
            (
                r["step"].clone(),
                r["source"].clone(),
                r["target"].clone(),
                r["sessions"].clone(),
            )
        })
        .collect();
    let t = |a: &str, b: &str, c: &str, d: &str| {
        (a.to_string(), b.to_string(), c.to_string(), d.to_string())
    };
    assert_eq!(
        flows,
        vec![
            t("0", "add_to_cart", "(exit)", "2"),
            t("0", "add_to_cart", "checkout_start", "1"),
            t("1", "checkout_start", "purchase", "1"),
            t("2", "purchase", "(exit)", "1"),
        ]
    );
    // Backward from the purchase (only s2): checkout_start → purchase, add_to_cart →
    // checkout_start, page_view → add_to_cart, and the session's entrance before page_view.
    let b = read_csv(&dir.join("data/paths_backward.csv"));
    let flows: Vec<(String, String, String)> = b
        .iter()
        .map(|r| (r["step"].clone(), r["source"].clone(), r["target"].clone()))
        .collect();
    let s = |a: &str, b: &str, c: &str| (a.to_string(), b.to_string(), c.to_string());
    assert_eq!(
        flows,
        vec![
            s("0", "checkout_start", "purchase"),
            s("1", "add_to_cart", "checkout_start"),
            s("2", "page_view", "add_to_cart"),
            s("3", "(entrance)", "page_view"),
        ]
    );
    // Whole paths: 'add_to_cart' alone in 2 of the 3 sessions.
    let top = read_csv(&dir.join("data/paths_top_forward.csv"));
    assert_eq!(top[0]["path"], "add_to_cart");
    assert!(close(num(&top[0], "share"), 2.0 / 3.0));
    assert_eq!(top[1]["path"], "add_to_cart > checkout_start > purchase");
    assert_eq!(num(&top[1], "steps"), 2.0);
}

/// Numbers equal to 1e-9 (relative), text identical: the same report whatever the order in
/// which a parallel sum added its terms.
fn same_csv(a: &Path, b: &Path) {
    let (mut ra, mut rb) = (read_csv(a), read_csv(b));
    assert_eq!(ra.len(), rb.len(), "{}: row count", a.display());
    // Rows line up on their text and their numbers rounded to 6 significant digits, so that
    // floats differing in the last bit do not reorder them.
    let key = |r: &BTreeMap<String, String>| {
        r.iter()
            .map(|(k, v)| match v.parse::<f64>() {
                Ok(p) => format!("{k}={p:.5e}"),
                Err(_) => format!("{k}={v}"),
            })
            .collect::<Vec<_>>()
            .join("|")
    };
    ra.sort_by_key(|r| key(r));
    rb.sort_by_key(|r| key(r));
    for (x, y) in ra.iter().zip(&rb) {
        for (k, v) in x {
            let w = &y[k];
            match (v.parse::<f64>(), w.parse::<f64>()) {
                (Ok(p), Ok(q)) => assert!(
                    (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0),
                    "{}: {k}: {v} vs {w}",
                    a.display()
                ),
                _ => assert_eq!(v, w, "{}: {k}", a.display()),
            }
        }
    }
}

#[test]
fn a_memory_limit_plans_by_the_data_and_changes_no_number() {
    // The bundled project's exports are 7,054,963 bytes of CSV. Under 64 MiB (67,108,864
    // bytes) they fit: 4 × 7,054,963 = 28,219,852 ≤ the limit, so the run is planned as
    // without a limit (two models at a time, every staging model held in memory, charged to
    // a 53 MiB pool). Under 40 MiB with --out-of-core: out of core, one model at a time, the
    // `auto` staging models over their budget (an eighth: 5 MiB; stg_events alone is ~6.7
    // MB) stream to Parquet work files. (Without the flag the plan would be out of core below
    // 28,219,852 bytes, about 26.9 MiB, but there the 70% pool is under 19 MB and the run is
    // not reliable: 3 of 10 runs at 24 MiB lost `stg_sessions`.) Every data file must come
    // out the same as without a limit.
    let free = TempDir::new().unwrap();
    let fits = TempDir::new().unwrap();
    let capped = TempDir::new().unwrap();
    let spill = TempDir::new().unwrap();
    let profile = TempDir::new().unwrap();
    // The run without a limit runs four models at a time (--jobs 4): the schedule must not
    // change a number either.
    let o = bin()
        .args(["run", "--project"])
        .arg(repo())
        .args(["--as-of", "2026-10-31", "--jobs", "4", "--out"])
        .arg(free.path())
        .output()
        .unwrap();
    ok(&o);
    let o = bin()
        .args(["run", "--project"])
        .arg(repo())
        .args(["--as-of", "2026-10-31", "--memory-limit", "64MiB", "--out"])
        .arg(fits.path())
        .env("RUST_LOG", "journey_report=debug")
        .output()
        .unwrap();
    ok(&o);
    assert!(
        stderr(&o).contains("jobs: 2, held_models: 55364793, out_of_core: false"),
        "64 MiB / 40 × 33 = 1,677,721 × 33 = 55,364,793 bytes of pool, planned in memory:\n{}",
        stderr(&o)
    );
    assert!(
        !stderr(&o).contains("streaming to a work file"),
        "{}",
        stderr(&o)
    );
    let o = bin()
        .args(["run", "--project"])
        .arg(repo())
        .args([
            "--as-of",
            "2026-10-31",
            "--memory-limit",
            "40MiB",
            "--out-of-core",
        ])
        .arg("--out")
        .arg(capped.path())
        .arg("--spill-dir")
        .arg(spill.path())
        .arg("--profile-dir")
        .arg(profile.path())
        .env("RUST_LOG", "journey_report=debug")
        .output()
        .unwrap();
    ok(&o);
    assert!(
        stderr(&o).contains("jobs: 1, held_models: 5242880, out_of_core: true"),
        "{}",
        stderr(&o)
    );
    assert!(
        stderr(&o).contains("over the memory budget: streaming to a work file"),
        "stg_events should have gone to a work file:\n{}",
        stderr(&o)
    );
    // stg_events_distinct is read by stg_events only, so it is released once that is done.
    assert!(
        stderr(&o)
            .lines()
            .any(|l| l.contains("released: no model reads it any more")
                && l.contains("stg_events_distinct")),
        "{}",
        stderr(&o)
    );
    // The manifest lists the models in their run order, whatever finished first.
    for dir in [&free, &fits, &capped] {
        let m: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("2026-10-31/manifest.json")).unwrap(),
        )
        .unwrap();
        let steps: Vec<&str> = m["steps"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        let models: Vec<&str> = m["models"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["name"].as_str().unwrap())
            .collect();
        assert_eq!(steps, models);
    }
    let a = free.path().join("2026-10-31/data");
    let f = fits.path().join("2026-10-31/data");
    let b = capped.path().join("2026-10-31/data");
    for other in [&f, &b] {
        let mut compared = 0;
        for entry in std::fs::read_dir(&a).unwrap() {
            let p = entry.unwrap().path();
            if p.extension().is_some_and(|e| e == "csv") {
                same_csv(&p, &other.join(p.file_name().unwrap()));
                compared += 1;
            }
        }
        assert!(compared > 30, "only {compared} CSV files");
    }
    // data_file: the event-level staging models write nothing, stg_sessions writes Parquet.
    for d in [&a, &f, &b] {
        assert!(d.join("stg_sessions.parquet").is_file());
        assert!(!d.join("stg_sessions.csv").exists());
        for m in ["stg_events", "stg_events_distinct"] {
            assert!(!d.join(format!("{m}.csv")).exists(), "{m}.csv");
            assert!(!d.join(format!("{m}.parquet")).exists(), "{m}.parquet");
        }
    }
    // --profile-dir: one executed plan with metrics per model.
    let plan = std::fs::read_to_string(profile.path().join("stg_events.txt")).unwrap();
    assert!(plan.starts_with("-- stg_events ("), "{plan}");
    assert!(plan.contains("output_rows="), "{plan}");
}

// The tests of each concern live in their own file; they share the helpers above (a child
// module sees its crate root's private items).
mod data_files;
mod delivery;
mod operations;
mod privacy;
mod quality;
mod trust;
