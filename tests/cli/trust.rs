//! Trust: freshness and coverage, degraded analyses, check catching what run would fail on.

#[allow(unused_imports)]
use super::*;

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// `run` for another as-of day than the fixtures' 2026-10-31.
fn run_as_of(project: &Path, as_of: &str) -> Output {
    bin()
        .args(["run", "--project"])
        .arg(project)
        .args(["--as-of", as_of])
        .output()
        .unwrap()
}

pub(super) fn check(project: &Path, extra: &[&str]) -> Output {
    bin()
        .args(["check", "--project"])
        .arg(project)
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn stale_exports_fail_the_run_and_leave_the_previous_report() {
    let p = tiny();
    ok(&run(p.path(), &[]));
    let good = report_dir(p.path());
    let before = std::fs::read(good.join("index.html")).unwrap();
    // As of 2026-12-06 (what "yesterday" was when this was written) the newest event before
    // the end of the day is e14, 2026-11-01 10:00 UTC: 2026-11-01 10:00 → 2026-12-07 00:00
    // is 35 days 14 h = 854 h, past the default error threshold of 168 h for events.
    let o = run_as_of(p.path(), "2026-12-06");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("source events is stale")
            && err.contains("2026-11-01 10:00 UTC")
            && err.contains("35.6 days"),
        "{err}"
    );
    assert!(err.contains("nothing was written"), "{err}");
    assert!(!p.path().join("reports/2026-12-06").exists());
    assert_eq!(std::fs::read(good.join("index.html")).unwrap(), before);
    // With no --as-of (yesterday, which is long after the fixture's data) the run fails too.
    let o = bin()
        .args(["run", "--project"])
        .arg(p.path())
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    // check says the same.
    let o = check(p.path(), &["--as-of", "2026-12-06"]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("source events is stale"));
}

#[test]
fn an_as_of_day_before_the_data_fails() {
    let p = tiny();
    let o = run_as_of(p.path(), "2020-01-01");
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    let err = stderr(&o);
    // The tiny fixture's first event is 2026-08-01 12:00 UTC (e13).
    assert!(
        err.contains("no event_time up to the end of the as-of day 2020-01-01")
            && err.contains("2026-08-01 12:00 UTC"),
        "{err}"
    );
    assert!(!p.path().join("reports/2020-01-01").exists());
}

#[test]
fn a_warning_threshold_puts_a_banner_on_every_page_and_e_mail() {
    let p = tiny();
    let o = run(p.path(), &[]);
    ok(&o);
    let dir = report_dir(p.path());
    // The newest event up to the end of 2026-10-31 (11-01 00:00 UTC) is e9 at 10-29 20:00
    // UTC: 4 h + 24 h + 24 h = 52 h, past the 36 h warning threshold, under the 168 h error.
    let m = manifest(&dir);
    let events = m["freshness"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "events")
        .unwrap()
        .clone();
    assert_eq!(events["age_hours"], 52.0, "{events:#}");
    assert_eq!(events["verdict"], "warn");
    assert_eq!(events["newest"], "2026-10-29T20:00:00");
    // e14 (11-01 10:00) lies after the as-of day.
    assert_eq!(events["rows_after_as_of"], 1);
    assert_eq!(events["warn_after_hours"], 36.0);
    // The fixture's [email] max_input_age_hours = 72 (deprecated) is the events' error threshold.
    assert_eq!(events["error_after_hours"], 72.0);
    // Orders: the newest up to the end of the day is o3, 10-25 09:05 UTC: 6 days 14 h 55 min
    // = 158.9 h, within the default 168 h warning threshold; orders have no error threshold.
    let orders = m["freshness"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "transactions")
        .unwrap()
        .clone();
    assert_eq!(orders["warn_after_hours"], 168.0);
    assert_eq!(orders["verdict"], "fresh");
    assert!((orders["age_hours"].as_f64().unwrap() - (158.0 + 55.0 / 60.0)).abs() < 1e-9);
    assert!(orders["error_after_hours"].is_null());
    let banner = "source events is stale: its newest event_time is 2026-10-29 20:00 UTC, 52 h before the end of the as-of day 2026-10-31";
    for page in ["index", "funnel", "paths", "attribution", "rfm"] {
        let html = std::fs::read_to_string(dir.join(format!("{page}.html"))).unwrap();
        assert!(html.contains(banner), "{page}.html lacks the banner");
        // The header says how far the data goes, not the as-of day alone.
        assert!(
            html.contains("data up to 2026-10-29 (report date 2026-10-31)"),
            "{page}.html"
        );
        let eml = std::fs::read_to_string(dir.join(format!("email/{page}.eml"))).unwrap();
        assert!(
            eml.contains("source events is stale"),
            "the {page} e-mail lacks the banner"
        );
    }
}

#[test]
fn freshness_thresholds_are_set_per_source() {
    // Raising the events' thresholds removes the banner: 52 h is within 60 h.
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace(
            "[sources.events]\npath = \"events.csv\"",
            "[sources.events]\npath = \"events.csv\"\nmax_age_hours = { warn = 60, error = 100 }",
        );
    let p = tiny_with("journey.toml", &toml);
    ok(&run(p.path(), &[]));
    let m = manifest(&report_dir(p.path()));
    let events = m["freshness"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["source"] == "events")
        .unwrap()
        .clone();
    // Fresh: 52 h is within 60 h, and the first event (e13, 2026-08-01) is before the start
    // of the previous period (2026-09-02), so the comparison with it is on whole data.
    assert_eq!(events["verdict"], "fresh", "{events:#}");
    assert!(events["message"].is_null());
    let html = std::fs::read_to_string(report_dir(p.path()).join("index.html")).unwrap();
    assert!(!html.contains("is stale"));
    assert!(html.contains("data up to 2026-10-31"));
    // Lowering the error threshold under 52 h fails the run.
    let toml = toml.replace("warn = 60, error = 100", "warn = 24, error = 48");
    let p = tiny_with("journey.toml", &toml);
    let o = run(p.path(), &[]);
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(stderr(&o).contains("(error after 48 h)"), "{}", stderr(&o));
}

/// The tiny fixture plus `extra` appended to its transactions export.
fn tiny_with_orders(extra: &str) -> TempDir {
    let text = std::fs::read_to_string(repo().join("tests/fixtures/tiny/transactions.csv"))
        .unwrap()
        + extra;
    tiny_with("transactions.csv", &text)
}

#[test]
fn a_repeat_buyer_with_zero_value_repeats_is_left_out_of_gamma_gamma() {
    // c7 pays 10.00 on 10-01, then 0.00 on 10-05: one repeat purchase day with a mean spend of
    // (10 + 0 − 10) / 1 = 0. Gamma-Gamma models positive spend: c7 is left out of its fit
    // (which on the tiny fixture cannot converge anyway: c1 alone has a repeat purchase), the
    // run completes and the CLV page says so.
    let p = tiny_with_orders(
        "o7,c7,2026-10-01T10:00:00Z,10.00,EUR,completed\no8,c7,2026-10-05T10:00:00Z,0.00,EUR,completed\n",
    );
    let o = run(p.path(), &[]);
    ok(&o);
    let dir = report_dir(p.path());
    let fit = read_csv(&dir.join("data/clv_fit.csv"));
    assert_eq!(fit[0]["gamma_gamma_excluded"], "1", "{fit:?}");
    assert_eq!(manifest(&dir)["status"], "complete");
    let page = std::fs::read_to_string(dir.join("clv.html")).unwrap();
    assert!(page.contains("1 repeat buyer whose repeat purchases have no positive mean spend"));
    let clv = read_csv(&dir.join("data/clv.csv"));
    let c7 = find(&clv, "customer_id", "c7");
    assert_eq!(
        (num(c7, "frequency"), num(c7, "monetary_value")),
        (1.0, 0.0)
    );
}

/// Converts lifetimes' CDNOW_master.txt (customer, yyyymmdd, CDs, dollars) into a project of
/// exports: one completed order per line, one `purchase` event per order, one customer per
/// id who signed up at the first purchase. Returns the project and, computed here from the
/// file alone, the repeat buyers whose repeat purchase days have a mean spend ≤ 0.
fn cdnow_project() -> (TempDir, usize, usize) {
    let text =
        std::fs::read_to_string(repo().join("tests/fixtures/cdnow/CDNOW_master.txt")).unwrap();
    let dir = TempDir::new().unwrap();
    let p = dir.path();
    copy_dir(&repo().join("sql"), &p.join("sql"));
    let mut orders = String::from("order_id,customer_id,order_time,amount,currency,status\n");
    let mut events = String::from(
        "event_id,customer_id,event_time,event_name,channel,campaign,device,session_id\n",
    );
    let mut first: BTreeMap<String, String> = BTreeMap::new();
    // customer → day → amount spent that day
    let mut days: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
    for (i, line) in text.lines().enumerate().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        let (id, day, amount) = (f[0], f[1], f[3]);
        let ts = format!("{}-{}-{}T12:00:00Z", &day[..4], &day[4..6], &day[6..8]);
        orders.push_str(&format!("o{i},c{id},{ts},{amount},USD,completed\n"));
        events.push_str(&format!("e{i},c{id},{ts},purchase,direct,,desktop,\n"));
        first.entry(id.to_string()).or_insert(ts.clone());
        *days
            .entry(id.to_string())
            .or_default()
            .entry(day.to_string())
            .or_default() += amount.parse::<f64>().unwrap();
    }
    let mut customers =
        String::from("customer_id,email,full_name,signup_at,acquisition_channel,country\n");
    for (id, ts) in &first {
        customers.push_str(&format!("c{id},,,{ts},direct,US\n"));
    }
    // clv_summary's monetary value: the mean spend of the purchase days after the first.
    let excluded = days
        .values()
        .filter(|d| d.len() > 1)
        .filter(|d| {
            let total: f64 = d.values().sum();
            let first_day = *d.values().next().unwrap();
            (total - first_day) / (d.len() - 1) as f64 <= 0.0
        })
        .count();
    std::fs::write(p.join("transactions.csv"), orders).unwrap();
    std::fs::write(p.join("events.csv"), events).unwrap();
    std::fs::write(p.join("customers.csv"), customers).unwrap();
    std::fs::write(
        p.join("journey.toml"),
        r#"[project]
title = "CDNOW"
currency = "USD"

[params]
report_tz = "UTC"
period_days = 90
path_start_event = "purchase"

[sources.customers]
path = "customers.csv"
[sources.events]
path = "events.csv"
[sources.transactions]
path = "transactions.csv"
# One order a month is normal for this shop: orders are not checked for freshness.
max_age_hours = {}

[funnel]
stages = [{ name = "Purchased", events = ["purchase"] }]

[[reports]]
name = "rfm"
title = "RFM"
[[reports]]
name = "clv"
title = "CLV"
[[reports]]
name = "cohorts"
title = "Cohorts"
"#,
    )
    .unwrap();
    let n = first.len();
    (dir, n, excluded)
}

#[test]
fn the_full_cdnow_log_gives_a_complete_report() {
    let (p, customers, excluded) = cdnow_project();
    assert_eq!(customers, 23_570);
    assert!(
        excluded >= 1,
        "the log has a repeat buyer whose repeats total $0"
    );
    let o = run_as_of(p.path(), "1998-06-30");
    ok(&o);
    let dir = p.path().join("reports/1998-06-30");
    assert_eq!(manifest(&dir)["status"], "complete");
    let fit = read_csv(&dir.join("data/clv_fit.csv"));
    assert_eq!(fit[0]["gamma_gamma_excluded"], excluded.to_string());
    assert_eq!(fit[0]["gamma_gamma_converged"], "true", "{fit:?}");
    assert_eq!(fit[0]["bg_nbd_converged"], "true", "{fit:?}");
    assert_eq!(read_csv(&dir.join("data/clv.csv")).len(), customers);
    assert!(dir.join("clv.html").is_file());
}

/// The tiny fixture with a model that fails when it runs (a cast no customer id survives),
/// a model reading it, and a page showing the second.
fn tiny_with_failing_model() -> TempDir {
    let p = tiny();
    std::fs::write(
        p.path().join("sql/customer_numbers.sql"),
        "SELECT CAST(customer_id AS INT) AS n FROM customers",
    )
    .unwrap();
    std::fs::write(
        p.path().join("sql/customer_number_count.sql"),
        "SELECT count(*) AS customers FROM customer_numbers",
    )
    .unwrap();
    std::fs::create_dir_all(p.path().join("templates")).unwrap();
    std::fs::write(
        p.path().join("templates/numbers.html"),
        "{% extends \"base.html\" %}{% block content %}<p>{{ models.customer_number_count | length }} rows</p>{% endblock content %}",
    )
    .unwrap();
    let toml = std::fs::read_to_string(p.path().join("journey.toml")).unwrap()
        + "\n[[reports]]\nname = \"numbers\"\ntitle = \"Customer numbers\"\n";
    std::fs::write(p.path().join("journey.toml"), toml).unwrap();
    p
}

#[test]
fn a_model_failing_on_the_data_marks_its_analyses_unavailable_and_the_rest_ships() {
    let p = tiny_with_failing_model();
    let o = run(p.path(), &[]);
    assert_eq!(o.status.code(), Some(6), "{}", stderr(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("partial: 2 analyses unavailable"));
    let dir = report_dir(p.path());
    let m = manifest(&dir);
    assert_eq!(m["status"], "partial");
    let why = m["unavailable"]["customer_numbers"].as_str().unwrap();
    assert!(
        why.contains("sql/customer_numbers.sql") && why.contains("c1"),
        "{why}"
    );
    assert_eq!(
        m["unavailable"]["customer_number_count"],
        "skipped: it reads customer_numbers, which is unavailable"
    );
    let steps = m["steps"].as_array().unwrap();
    let step = |n: &str| steps.iter().find(|s| s["name"] == n).unwrap().clone();
    assert_eq!(step("customer_numbers")["status"], "failed");
    assert_eq!(step("customer_number_count")["status"], "skipped");
    assert_eq!(step("funnel")["status"], "ok");
    // The page reading it says it is unavailable; the others are whole, with the banner.
    let page = std::fs::read_to_string(dir.join("numbers.html")).unwrap();
    assert!(page.contains("This analysis is unavailable for this data"));
    assert!(page.contains("customer_number_count"));
    let funnel = std::fs::read_to_string(dir.join("funnel.html")).unwrap();
    assert!(funnel.contains("Partial report"));
    assert_eq!(read_csv(&dir.join("data/funnel.csv")).len(), 5);
    assert!(!dir.join("data/customer_numbers.csv").exists());
    // --fail-fast: the same failure fails the run (exit 4) and writes nothing new.
    let q = tiny_with_failing_model();
    let o = run(q.path(), &["--fail-fast"]);
    assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
    assert!(stderr(&o).contains("sql/customer_numbers.sql"));
    assert!(!report_dir(q.path()).exists());
}

#[test]
fn check_renders_the_templates_against_the_planned_models() {
    let p = tiny();
    std::fs::create_dir_all(p.path().join("templates")).unwrap();
    // funnel.html reads a model that does not exist; rfm.html uses a filter that does not.
    std::fs::write(
        p.path().join("templates/funnel.html"),
        "{% extends \"base.html\" %}{% block content %}{{ models.funnel_by_weekday | length }}{% endblock content %}",
    )
    .unwrap();
    std::fs::write(
        p.path().join("templates/rfm.html"),
        "{% extends \"base.html\" %}{% block content %}{% for r in models.rfm %}{{ r.monetary | euros }}{% endfor %}{% endblock content %}",
    )
    .unwrap();
    let o = check(p.path(), &["--as-of", "2026-10-31"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains("funnel.html") && err.contains("funnel_by_weekday"),
        "{err}"
    );
    assert!(err.contains("rfm.html") && err.contains("euros"), "{err}");
    // The bundled templates pass against the bundled models.
    ok(&check(tiny().path(), &["--as-of", "2026-10-31"]));
}

#[test]
fn unknown_parameters_are_refused() {
    let p = tiny();
    for cmd in ["run", "check"] {
        let o = bin()
            .args([cmd, "--project"])
            .arg(p.path())
            .args(["--as-of", "2026-10-31", "--param", "lookback_dayz=14"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("--param lookback_dayz: no such parameter"));
    }
    // A [params] entry that nothing reads is a misspelling.
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace("lookback_days = 30", "lookback_day = 14");
    let p = tiny_with("journey.toml", &toml);
    let o = run(p.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("[params] lookback_day is read by no model")
            && stderr(&o).contains("did you mean lookback_days?"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_parameter_naming_an_event_must_name_one_that_occurs() {
    let p = tiny();
    let o = run(p.path(), &["--param", "conversion_event=purchse"]);
    assert_fails(
        &o,
        2,
        &["conversion_event = \"purchse\" names an event"],
        p.path(),
    );
}

#[test]
fn param_values_read_alike_on_the_command_line_and_in_journey_toml() {
    // 0.5 days in journey.toml works; on the command line too.
    let p = tiny();
    ok(&run(p.path(), &["--param", "conversion_window_days=0.5"]));
    let params = &manifest(&report_dir(p.path()))["params"];
    assert_eq!(params["conversion_window_days"], 0.5);
    // A whole number where a number is expected is a number.
    ok(&run(p.path(), &["--param", "time_decay_half_life_days=3"]));
    let params = &manifest(&report_dir(p.path()))["params"];
    assert_eq!(params["time_decay_half_life_days"], 3.0);
    // Text where a number is expected is refused, in both places.
    let q = tiny();
    let o = run(q.path(), &["--param", "lookback_days=two weeks"]);
    assert_fails(&o, 2, &["expected a whole number"], q.path());
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace("lookback_days = 30", "lookback_days = \"two weeks\"");
    let q = tiny_with("journey.toml", &toml);
    assert_fails(
        &run(q.path(), &[]),
        2,
        &["expected a whole number"],
        q.path(),
    );
}

#[test]
fn check_reports_models_downstream_of_a_broken_one_as_skipped() {
    let p = tiny();
    // stg_orders is read by many models: a typo in it must be one error, not one per reader.
    // Once with an unknown column (found when the model is planned), once with a syntax
    // error (found when it is parsed).
    for (from, to) in [
        ("AND order_id IS NOT NULL", "AND order_no IS NOT NULL"),
        ("GROUP BY order_id", "GROUP BY BY order_id"),
    ] {
        let sql = std::fs::read_to_string(repo().join("sql/staging/stg_orders.sql"))
            .unwrap()
            .replacen(from, to, 1);
        std::fs::write(p.path().join("sql/staging/stg_orders.sql"), sql).unwrap();
        let o = check(p.path(), &["--as-of", "2026-10-31"]);
        assert_eq!(o.status.code(), Some(4), "{}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains("sql/staging/stg_orders.sql"), "{err}");
        assert!(
            err.contains("skipped, as they read a model with an error:") && err.contains("kpis"),
            "{err}"
        );
        // One error and one line of skipped models: no knock-on error per reader, and no
        // page checked against models that were not planned.
        assert_eq!(err.matches("journey-report: error:").count(), 3, "{err}");
        assert!(!err.contains("sql/marts/overview/kpis.sql"), "{err}");
        assert!(!err.contains("templates/"), "{err}");
    }
}

#[test]
fn non_converting_journeys_span_the_report_period_by_default() {
    // Period 60 days (2026-09-02 … 2026-10-31), lookback 7 days. Customers without a
    // completed order in the period, and their sessions up to the end of 2026-10-31:
    //   c2: s3 10-20 paid_search, s4 10-29 direct; c9: s6 10-15 organic_search;
    //   c4: s5 08-01 referral (92 days before the end of the as-of day); c5: s7 after it.
    // Default window = the period (60 days): c2 [paid_search, direct] and c9 [organic_search].
    // (Before, the window was the 7-day lookback: c2 [direct] alone.)
    let p = tiny();
    let toml = std::fs::read_to_string(p.path().join("journey.toml"))
        .unwrap()
        .replace("period_days = 30", "period_days = 60")
        .replace("lookback_days = 30", "lookback_days = 7");
    std::fs::write(p.path().join("journey.toml"), toml).unwrap();
    let non_converting = |dir: &Path| -> Vec<(String, String)> {
        read_csv(&dir.join("data/stg_journeys.csv"))
            .into_iter()
            .filter(|r| r["converted"] == "false")
            .map(|r| (r["journey_id"].clone(), r["path"].clone()))
            .collect()
    };
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    let mut j = non_converting(&dir);
    j.sort();
    assert_eq!(j.len(), 2, "{j:?}");
    assert_eq!(j[0].0, "c2");
    assert!(
        j[0].1.contains("paid_search") && j[0].1.contains("direct"),
        "{j:?}"
    );
    assert_eq!(j[1].0, "c9");
    assert!(j[1].1.contains("organic_search"), "{j:?}");
    assert_eq!(manifest(&dir)["params"]["non_converting_window_days"], 60);
    let page = std::fs::read_to_string(dir.join("attribution.html")).unwrap();
    assert!(
        page.contains("their sessions in the 60 days up to 2026-10-31"),
        "the page states the journey definition"
    );
    // A 7-day window: c2's session of 10-29 alone.
    ok(&run(p.path(), &["--param", "non_converting_window_days=7"]));
    let j = non_converting(&dir);
    assert_eq!(j.len(), 1, "{j:?}");
    assert_eq!(j[0].0, "c2");
    assert!(
        j[0].1.contains("direct") && !j[0].1.contains("paid_search"),
        "{j:?}"
    );
    let page = std::fs::read_to_string(dir.join("attribution.html")).unwrap();
    assert!(page.contains("their sessions in the 7 days up to 2026-10-31"));
}

#[test]
fn check_and_run_refuse_a_sender_that_is_not_an_address() {
    let toml = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml"))
        .unwrap()
        .replace(
            "from = \"Journey reports <reports@example.com>\"",
            "from = \"not an address\"",
        );
    let p = tiny_with("journey.toml", &toml);
    let o = check(p.path(), &["--as-of", "2026-10-31"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("[email] from: \"not an address\""));
    // run stops before any model runs, writing nothing.
    assert_fails(
        &run(p.path(), &[]),
        2,
        &["[email] from: \"not an address\""],
        p.path(),
    );
}
