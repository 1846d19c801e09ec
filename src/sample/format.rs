//! Hand-written formatting of identifiers (`C000123`) and whole-second UTC timestamps, and the
//! civil calendar they rest on: the hot path of the writers, without `format!` per value.

use super::vocabulary::DAY;

/// Generated identifier bytes as text.
pub(super) fn ascii(b: &[u8]) -> &str {
    std::str::from_utf8(b).expect("generated identifiers are ASCII")
}

/// `prefix` followed by `n` zero-padded to at least `width` digits, e.g. `C000123`.
pub(super) fn fmt_id(buf: &mut [u8; 24], prefix: u8, width: usize, mut n: u64) -> &[u8] {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    let nd = digits.len() - i;
    let pad = width.saturating_sub(nd);
    buf[0] = prefix;
    buf[1..1 + pad].fill(b'0');
    buf[1 + pad..1 + pad + nd].copy_from_slice(&digits[i..]);
    &buf[..1 + pad + nd]
}

/// `2026-10-31T14:03:22Z` (`rfc3339`) or `2026-10-31 14:03:22` for UTC seconds `t`.
pub(super) fn fmt_ts(buf: &mut [u8; 20], t: i64, rfc3339: bool) -> &[u8] {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    let s = t.rem_euclid(DAY);
    let (hh, mm, ss) = (s / 3600, s / 60 % 60, s % 60);
    let y = y.clamp(0, 9999) as u32;
    let two = |b: &mut [u8], v: u32| {
        b[0] = b'0' + (v / 10) as u8;
        b[1] = b'0' + (v % 10) as u8;
    };
    two(&mut buf[0..2], y / 100);
    two(&mut buf[2..4], y % 100);
    buf[4] = b'-';
    two(&mut buf[5..7], m);
    buf[7] = b'-';
    two(&mut buf[8..10], d);
    buf[10] = if rfc3339 { b'T' } else { b' ' };
    two(&mut buf[11..13], hh as u32);
    buf[13] = b':';
    two(&mut buf[14..16], mm as u32);
    buf[16] = b':';
    two(&mut buf[17..19], ss as u32);
    if rfc3339 {
        buf[19] = b'Z';
        &buf[..20]
    } else {
        &buf[..19]
    }
}

/// (year, month, day) of a day count since 1970-01-01 (proleptic Gregorian).
pub(super) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 2026-11-01T00:00:00Z: the end of the default period.
    const END: i64 = 1_793_491_200;

    #[test]
    fn formats_ids_and_times_by_hand() {
        let mut b = [0u8; 24];
        assert_eq!(fmt_id(&mut b, b'C', 6, 123), b"C000123");
        assert_eq!(fmt_id(&mut b, b'E', 8, 123_456_789), b"E123456789");
        assert_eq!(fmt_id(&mut b, b'S', 7, 0), b"S0000000");
        let mut t = [0u8; 20];
        assert_eq!(fmt_ts(&mut t, 0, true), b"1970-01-01T00:00:00Z");
        // 2026-10-31T14:03:22Z = 1_793_491_200 - 86_400 + 14*3600 + 3*60 + 22
        assert_eq!(
            fmt_ts(&mut t, END - DAY + 50_602, true),
            b"2026-10-31T14:03:22Z"
        );
        assert_eq!(fmt_ts(&mut t, 951_782_400, false), b"2000-02-29 00:00:00");
        assert_eq!(fmt_ts(&mut t, -1, true), b"1969-12-31T23:59:59Z");
    }
}
