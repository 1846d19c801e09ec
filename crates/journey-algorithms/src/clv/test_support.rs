//! Fixtures and assertions shared by the CLV tests.

use super::BgNbdParams;

pub(crate) const CDNOW_SUMMARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/cdnow/cdnow_customers_summary.csv"
);
pub(crate) const CDNOW_WITH_MONETARY: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../tests/fixtures/cdnow/cdnow_customers_summary_with_transactions.csv"
);

/// Published BG/NBD estimates for CDNOW (Fader, Hardie & Lee 2005, §5), time in weeks.
pub(crate) const PAPER_BGNBD: BgNbdParams = BgNbdParams {
    r: 0.243,
    alpha: 4.414,
    a: 0.793,
    b: 2.426,
};

/// Reads a CDNOW summary file: ID, then frequency, recency, T (weeks), and optionally
/// the average repeat-purchase value ("zbar"). Columns are read by position because
/// the two files name them differently.
pub(crate) fn read_cdnow(path: &str) -> Vec<[f64; 4]> {
    let mut reader = csv::Reader::from_path(path).expect("open CDNOW fixture");
    reader
        .records()
        .map(|rec| {
            let rec = rec.expect("CSV record");
            let num = |i: usize| {
                rec.get(i)
                    .map_or(0.0, |s| s.trim().parse::<f64>().expect("number"))
            };
            [num(1), num(2), num(3), num(4)]
        })
        .collect()
}

pub(crate) fn column(rows: &[[f64; 4]], i: usize) -> Vec<f64> {
    rows.iter().map(|r| r[i]).collect()
}

pub(crate) fn assert_rel(actual: f64, expected: f64, rel: f64, what: &str) {
    assert!(
        ((actual - expected) / expected).abs() <= rel,
        "{what}: got {actual}, expected {expected} (±{}%)",
        rel * 100.0
    );
}
