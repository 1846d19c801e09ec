//! Privacy and safe files: the forget list, personal data masked in pages and e-mails and
//! kept or hashed in data files, CSV cells that would run as formulas, link settings.

#[allow(unused_imports)]
use super::*;

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// The tiny fixture with customer c2 renamed `cx2forgot` and c3 `cx3forgot` in all three
/// exports (ids that no checksum, chart or session id holds by chance, so that a plain search
/// of every output finds them only if they are there), and `extra` appended to journey.toml.
fn tiny_renamed(extra: &str) -> TempDir {
    let p = tiny();
    for f in ["customers.csv", "events.csv", "transactions.csv"] {
        let path = p.path().join(f);
        let text = std::fs::read_to_string(&path).unwrap();
        let text: String = text
            .lines()
            .map(|l| {
                let cells: Vec<&str> = l.splitn(3, ',').collect();
                // The customer id is the first column of the CRM, the second of the others.
                let at = usize::from(f != "customers.csv");
                let mut cells: Vec<String> = cells.iter().map(|c| c.to_string()).collect();
                if let Some(c) = cells.get_mut(at)
                    && (c == "c2" || c == "c3")
                {
                    *c = c.replace('c', "cx") + "forgot";
                }
                cells.join(",") + "\n"
            })
            .collect();
        std::fs::write(&path, text).unwrap();
    }
    // Without c2's and c3's events the newest event of the period is c9's of 2026-10-15,
    // 16.5 days before the end of the as-of day: past the fixture's 72 h, the run would stop
    // as stale (as it should); the freshness threshold is raised to 1,000 h.
    let toml = p.path().join("journey.toml");
    let text = std::fs::read_to_string(&toml)
        .unwrap()
        .replace("max_input_age_hours = 72", "max_input_age_hours = 1000")
        + extra;
    std::fs::write(&toml, text).unwrap();
    p
}

/// Every file under `dir`, recursively.
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every value of a Parquet file as text (any type, lists included), read with DataFusion's
/// own Parquet reader (the pages are compressed: a plain search of the bytes proves nothing).
fn parquet_values(path: &Path) -> Vec<String> {
    use datafusion::arrow::util::display::{ArrayFormatter, FormatOptions};
    use datafusion::parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    let file = std::fs::File::open(path).unwrap();
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .unwrap()
        .build()
        .unwrap();
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.unwrap();
        for col in batch.columns() {
            let f = ArrayFormatter::try_new(col.as_ref(), &FormatOptions::default()).unwrap();
            for i in 0..col.len() {
                out.push(f.value(i).to_string());
            }
        }
    }
    out
}

/// The text an output file shows: a page, CSV or manifest as it is; an e-mail's subject and
/// decoded text and HTML parts (its base64 images are not text); a Parquet file's values.
fn shown_text(path: &Path) -> String {
    match path.extension().and_then(|e| e.to_str()) {
        Some("parquet") => parquet_values(path).join("\n"),
        Some("eml") => {
            let raw = std::fs::read(path).unwrap();
            let msg = mail_parser::MessageParser::default().parse(&raw).unwrap();
            let mut text = msg.subject().unwrap_or_default().to_string();
            for i in 0..msg.text_body_count() {
                text += &msg.body_text(i).unwrap_or_default();
            }
            for i in 0..msg.html_body_count() {
                text += &msg.body_html(i).unwrap_or_default();
            }
            text
        }
        _ => String::from_utf8_lossy(&std::fs::read(path).unwrap()).to_string(),
    }
}

/// HMAC-SHA256 (RFC 2104) written out from SHA-256, independently of the binary's HMAC:
/// H((K ⊕ opad) ‖ H((K ⊕ ipad) ‖ m)), K padded with zeros to the 64-byte block.
fn hmac_sha256(key: &[u8], msg: &str) -> String {
    use sha2::{Digest, Sha256};
    assert!(key.len() <= 64);
    let mut k = [0u8; 64];
    k[..key.len()].copy_from_slice(key);
    let inner: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let outer: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let h1 = Sha256::new()
        .chain_update(&inner)
        .chain_update(msg.as_bytes())
        .finalize();
    let h2 = Sha256::new()
        .chain_update(&outer)
        .chain_update(h1)
        .finalize();
    hex::encode(h2)
}

#[test]
fn hmac_of_the_test_is_rfc_4231() {
    // RFC 4231, test case 2.
    assert_eq!(
        hmac_sha256(b"Jefe", "what do ya want for nothing?"),
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    );
}

#[test]
fn forgotten_customers_leave_every_output() {
    // c3 (renamed cx3forgot) by id; c2 (cx2forgot) by e-mail, written in another case and
    // with spaces. Two staging models as Parquet, to search those too.
    let p = tiny_renamed(
        "\n[privacy]\nforget = \"forget.txt\"\n\
         \n[models.stg_sessions]\ndata_file = \"parquet\"\n\
         \n[models.stg_customers]\ndata_file = \"parquet\"\n",
    );
    std::fs::write(
        p.path().join("forget.txt"),
        "# erasure requests\ncx3forgot\n  B@Example.COM \n",
    )
    .unwrap();
    ok(&run(p.path(), &[]));
    let dir = report_dir(p.path());
    let mut files = Vec::new();
    files_under(&dir, &mut files);
    let kinds = |ext: &str| {
        files
            .iter()
            .filter(|f| f.extension().is_some_and(|e| e == ext))
            .count()
    };
    assert!(kinds("html") >= 8 && kinds("eml") >= 8 && kinds("csv") >= 30);
    assert_eq!(kinds("parquet"), 2);
    assert_eq!(kinds("json"), 1);
    // Their ids, e-mail addresses and names (c2 "Smith, Bob", c3 "<script>alert(1)</script>")
    // in no page, e-mail, CSV, Parquet file or manifest.
    let gone = [
        "cx2forgot",
        "cx3forgot",
        "b@example.com",
        "B@Example",
        "c@example.com",
        "Smith",
        "alert(1)",
    ];
    for f in &files {
        let text = shown_text(f);
        for g in gone {
            assert!(!text.contains(g), "{} shows {g:?}", f.display());
        }
    }
    // …while the Parquet values are read (c1's e-mail and name are there).
    let customers = parquet_values(&dir.join("data/stg_customers.parquet"));
    assert!(
        customers.contains(&"a@example.com".to_string()) && customers.contains(&"Ann".to_string())
    );

    // Nor their orders: c3's o3 is gone (o6 is after the as-of day).
    let orders = read_csv(&dir.join("data/stg_orders.csv"));
    let ids: Vec<&str> = orders.iter().map(|r| r["order_id"].as_str()).collect();
    assert_eq!(ids, vec!["o1", "o2", "o4", "o5"]);
    // The counts drop by exactly their contribution (tests/cli/main.rs has the full funnel):
    // without c2 (depth 2) and c3 (depth 3), c1 reaches all five stages and c9 only Visited.
    let f = read_csv(&dir.join("data/funnel.csv"));
    let customers: Vec<f64> = f.iter().map(|r| num(r, "customers")).collect();
    assert_eq!(customers, vec![2.0, 1.0, 1.0, 1.0, 1.0]);
    // Drop-offs were c9 (after Visited), c2 (after Viewed), c3 (after Added to cart).
    let drop: Vec<f64> = f.iter().map(|r| num(r, "drop_off")).collect();
    assert_eq!(drop, vec![0.0, 1.0, 0.0, 0.0, 0.0]);
    // Sessions in the period: 7 less c2's s3 and s4 and c3's two inferred ones = 3.
    let ch = read_csv(&dir.join("data/channels.csv"));
    assert_eq!(ch.iter().map(|r| num(r, "sessions")).sum::<f64>(), 3.0);
    // Revenue: o1 100 + o3 40 = 140 before; o3 was c3's → 100, one order.
    let k = read_csv(&dir.join("data/kpis.csv"));
    assert_eq!(num(find(&k, "metric", "revenue"), "value"), 100.0);
    assert_eq!(num(find(&k, "metric", "orders"), "value"), 1.0);

    // The manifest says a list was applied and what it removed, never whom.
    let m = manifest(&dir);
    let forget = &m["privacy"]["forget"];
    assert_eq!(forget["file"], "forget.txt");
    assert_eq!(forget["ids"], 1);
    assert_eq!(forget["emails"], 1);
    // CRM: c2 and c3 → 2 rows; events: c2's e7, e8, e9 and c3's e10, e11, e12 → 6;
    // orders: c3's o3 → 1.
    assert_eq!(
        forget["rows_removed"],
        serde_json::json!({"customers": 2, "events": 6, "transactions": 1})
    );

    // With a forget list, `--report funnel` draws every page again: none is carried over
    // from the run before, which may have shown a customer forgotten since.
    ok(&run(p.path(), &["--report", "funnel"]));
    let m = manifest(&dir);
    assert_eq!(m["carried_pages"], serde_json::json!([]));
    // The summary, the data-quality page and the seven pages of the fixture, all drawn by
    // this run.
    assert_eq!(m["pages"].as_array().unwrap().len(), 9, "{}", m["pages"]);

    // `--forget` on query (and an empty list leaves everything).
    std::fs::write(p.path().join("none.txt"), "# nobody\n").unwrap();
    for (list, want) in [("forget.txt", "3"), ("none.txt", "5")] {
        let o = bin()
            .args(["query", "--format", "csv", "--project"])
            .arg(p.path())
            .arg("--forget")
            .arg(p.path().join(list))
            .arg("SELECT count(*) AS n FROM customers")
            .output()
            .unwrap();
        ok(&o);
        assert_eq!(String::from_utf8_lossy(&o.stdout), format!("n\n{want}\n"));
    }
}

#[test]
fn a_missing_forget_list_is_a_configuration_error() {
    let p = tiny_renamed("\n[privacy]\nforget = \"erasure/forget.txt\"\n");
    let o = run(p.path(), &[]);
    assert_fails(&o, 2, &["erasure/forget.txt"], p.path());
    let o = super::trust::check(p.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("erasure/forget.txt"), "{}", stderr(&o));
}

#[test]
fn with_a_forget_list_no_model_may_read_the_raw_files() {
    let p = tiny_renamed("\n[privacy]\nforget = \"forget.txt\"\n");
    std::fs::write(p.path().join("forget.txt"), "cx3forgot\n").unwrap();
    std::fs::write(
        p.path().join("sql/crm_copy.sql"),
        "SELECT customer_id, full_name FROM raw_customers ORDER BY customer_id",
    )
    .unwrap();
    let o = run(p.path(), &[]);
    assert_fails(&o, 2, &["model crm_copy: reads raw_customers"], p.path());
    let o = super::trust::check(p.path(), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("read the view customers"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn pages_and_emails_mask_data_files_keep_or_hash() {
    // A page of the project's own listing the drop-offs' e-mail addresses and names; the
    // drop-off lists hashed, the CRM's staging model kept (as Parquet).
    let p = tiny_renamed(
        "\n[[reports]]\nname = \"people\"\ntitle = \"People\"\n\
         \n[models.stg_customers]\ndata_file = \"parquet\"\n\
         \n[privacy]\nsalt_env = \"JR_TEST_SALT\"\n\
         \n[privacy.data_file]\nfunnel_dropoff = \"hash\"\n",
    );
    std::fs::create_dir_all(p.path().join("templates")).unwrap();
    std::fs::write(
        p.path().join("templates/people.html"),
        "{% extends \"base.html\" %}{% block content %}<table>\
         {% for r in models.funnel_dropoff %}<tr><td>{{ r.customer_id }}</td><td>{{ r.email }}</td><td>{{ r.full_name }}</td></tr>{% endfor %}\
         </table>{% endblock content %}",
    )
    .unwrap();
    // Without the salt's variable: a configuration error naming it, nothing written.
    let o = run(p.path(), &[]);
    assert_fails(&o, 2, &["JR_TEST_SALT"], p.path());
    let o = bin()
        .env("JR_TEST_SALT", "pepper")
        .args(["run", "--project"])
        .arg(p.path())
        .args(["--as-of", "2026-10-31"])
        .output()
        .unwrap();
    ok(&o);
    let dir = report_dir(p.path());
    // The drop-offs are c9 (no CRM row), cx2forgot (b@example.com, "Smith, Bob") and
    // cx3forgot (c@example.com, "<script>alert(1)</script>").
    let page = std::fs::read_to_string(dir.join("people.html")).unwrap();
    let mail = shown_text(&dir.join("email/people.eml"));
    for shown in [&page, &mail] {
        for masked in ["b***@example.com", "S. B.", "c***@example.com", ">S.</td>"] {
            assert!(shown.contains(masked), "{masked:?} missing:\n{shown}");
        }
        for clear in ["b@example.com", "Smith", "c@example.com", "alert(1)"] {
            assert!(!shown.contains(clear), "{clear:?} shown:\n{shown}");
        }
    }
    // Data files: HMAC-SHA256 keyed with the salt, e-mail addresses lowercased first.
    let rows = read_csv(&dir.join("data/funnel_dropoff.csv"));
    let c2 = find(&rows, "customer_id", "cx2forgot");
    assert_eq!(c2["email"], hmac_sha256(b"pepper", "b@example.com"));
    assert_eq!(c2["full_name"], hmac_sha256(b"pepper", "Smith, Bob"));
    let c3 = find(&rows, "customer_id", "cx3forgot");
    assert_eq!(
        c3["full_name"],
        hmac_sha256(b"pepper", "<script>alert(1)</script>")
    );
    // c9 is in no CRM: NULL stays empty.
    assert_eq!(find(&rows, "customer_id", "c9")["email"], "");
    // The split follow-up lists too (c2 dropped after "Viewed a product").
    let split = read_csv(&dir.join("data/dropoff_viewed_a_product.csv"));
    assert_eq!(split[0]["email"], hmac_sha256(b"pepper", "b@example.com"));
    // Kept: the CRM's staging model as the export has it.
    let crm = parquet_values(&dir.join("data/stg_customers.parquet"));
    for v in ["b@example.com", "Smith, Bob", "<script>alert(1)</script>"] {
        assert!(crm.contains(&v.to_string()), "{v} not kept: {crm:?}");
    }
    // The manifest states each treatment.
    let outputs = manifest(&dir)["privacy"]["outputs"].clone();
    let treatment = |output: &str| {
        outputs
            .as_array()
            .unwrap()
            .iter()
            .find(|o| o["output"] == output)
            .unwrap_or_else(|| panic!("no {output} in {outputs:#}"))["treatment"]
            .clone()
    };
    assert_eq!(treatment("pages and e-mails"), "mask");
    assert_eq!(
        treatment("data/funnel_dropoff.csv and its split CSVs (by dropoff_file)"),
        "hash"
    );
    assert_eq!(treatment("data/stg_customers.parquet"), "keep");
    assert_eq!(treatment("data/churn_risk.csv"), "keep");
}

#[test]
fn the_at_risk_list_is_masked_in_the_bundled_pages_and_emails() {
    let out = super::data_files::bundled_run(&[], &[]);
    let dir = out.path().join("2026-10-31");
    // data/churn_risk.csv keeps the names (the default for data files); the CLV page and its
    // e-mail show the first five as initials.
    let rows = read_csv(&dir.join("data/churn_risk.csv"));
    assert!(rows.len() >= 5);
    let page = std::fs::read_to_string(dir.join("clv.html")).unwrap();
    let mail = shown_text(&dir.join("email/clv.eml"));
    for r in &rows[..5] {
        let name = &r["full_name"];
        let initials: Vec<String> = name
            .split_whitespace()
            .map(|w| format!("{}.", w.chars().next().unwrap().to_uppercase()))
            .collect();
        let initials = format!(">{}</td>", initials.join(" "));
        for (what, shown) in [("clv.html", &page), ("clv.eml", &mail)] {
            assert!(!shown.contains(name.as_str()), "{what} shows {name}");
            assert!(!shown.contains(&r["email"]), "{what} shows {}", r["email"]);
            assert!(shown.contains(&initials), "{what} lacks {initials}");
        }
    }
}

#[test]
fn csv_cells_that_would_run_as_formulas_are_neutralised() {
    let p = tiny();
    let edit = |file: &str, from: &str, to: &str| {
        let path = p.path().join(file);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains(from));
        std::fs::write(&path, text.replacen(from, to, 1)).unwrap();
    };
    edit(
        "customers.csv",
        "c1,a@example.com,Ann,",
        "c1,a@example.com,\"=HYPERLINK(\"\"http://evil.example\"\",\"\"Ann\"\")\",",
    );
    edit(
        "events.csv",
        "social,autumn,mobile,s1",
        "social,+cmd,mobile,s1",
    );
    // A refund exported with a negative amount (allowed: only completed orders need 0 or more).
    edit(
        "transactions.csv",
        "60.00,EUR,refunded",
        "-60.00,EUR,refunded",
    );
    ok(&run(p.path(), &[]));
    let data = report_dir(p.path()).join("data");
    let raw = std::fs::read_to_string(data.join("stg_customers.csv")).unwrap();
    assert!(
        raw.contains("\"'=HYPERLINK(\"\"http://evil.example\"\",\"\"Ann\"\")\""),
        "{raw}"
    );
    let crm = read_csv(&data.join("stg_customers.csv"));
    assert_eq!(
        find(&crm, "customer_id", "c1")["full_name"],
        "'=HYPERLINK(\"http://evil.example\",\"Ann\")"
    );
    let sessions = read_csv(&data.join("stg_sessions.csv"));
    assert_eq!(find(&sessions, "session_id", "s1")["campaign"], "'+cmd");
    // The negative amount stays a number.
    let orders = read_csv(&data.join("stg_orders.csv"));
    assert_eq!(find(&orders, "order_id", "o5")["amount"], "-60.0");
    assert_eq!(num(find(&orders, "order_id", "o5"), "amount"), -60.0);
    let manifest = manifest(&report_dir(p.path()));
    assert!(
        manifest["privacy"]["csv_formulas"]
            .as_str()
            .unwrap()
            .contains("OWASP")
    );
}

#[test]
fn link_settings_must_be_web_links() {
    let base = std::fs::read_to_string(repo().join("tests/fixtures/tiny/journey.toml")).unwrap();
    for bad in [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "https://x.example/\"><b>",
    ] {
        let toml = base.replace(
            "base_url = \"https://reports.example.com/journeys\"",
            &format!("base_url = {bad:?}"),
        );
        assert_ne!(toml, base);
        let p = tiny_with("journey.toml", &toml);
        let o = run(p.path(), &[]);
        assert_fails(&o, 2, &["base_url"], p.path());
        let o = super::trust::check(p.path(), &[]);
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("base_url"), "{}", stderr(&o));
    }
}
