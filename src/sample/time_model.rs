//! The time model: the period and the Europe/Berlin rhythm (hour of day, weekday, season)
//! that session start times are thinned by, and the sale calendar (spring, summer, Black
//! Friday, Christmas, New Year) that campaigns follow.

use chrono::{Datelike, NaiveDate, TimeZone, Timelike};
use chrono_tz::Europe::Berlin;
use rand::Rng;
use rand_chacha::ChaCha8Rng;

use super::format::civil_from_days;
use super::vocabulary::*;

/// The period, the campaign names and the Europe/Berlin rhythm.
pub(super) struct World {
    pub(super) start: i64,
    pub(super) end: i64,
    pub(super) pre_start: i64,
    pub(super) campaigns: Vec<String>,
    /// UTC second of hour 0 of `accept`.
    base: i64,
    /// Per UTC hour from `base`: the acceptance probability of a session start in that hour
    /// (hour-of-day × weekday × season in Berlin local time, scaled to a maximum of 1).
    accept: Vec<f32>,
}

impl World {
    pub(super) fn new(start: i64, end: i64, pre_start: i64) -> World {
        let mut campaigns: Vec<String> = CAMPAIGNS.iter().map(|s| s.to_string()).collect();
        campaigns.extend((1..=53).map(|w| format!("newsletter_w{w:02}")));
        let base = pre_start.div_euclid(3600) * 3600;
        let hours = ((end - base) / 3600 + 1) as usize;
        let mut weights = Vec::with_capacity(hours);
        for h in 0..hours {
            let utc = base + h as i64 * 3600 + 1800;
            let w = chrono::DateTime::from_timestamp(utc, 0)
                .map(|t| {
                    let local = Berlin.from_utc_datetime(&t.naive_utc()).naive_local();
                    let wd = local.weekday().num_days_from_monday() as usize;
                    let hour_w = if wd >= 5 {
                        HOUR_W_WEEKEND
                    } else {
                        HOUR_W_WEEKDAY
                    };
                    hour_w[local.hour() as usize] * WEEKDAY_W[wd] * season_weight(local.date())
                })
                .unwrap_or(1.0);
            weights.push(w);
        }
        let max = weights.iter().cloned().fold(f64::MIN_POSITIVE, f64::max);
        let accept = weights.iter().map(|w| (w / max) as f32).collect();
        World {
            start,
            end,
            pre_start,
            campaigns,
            base,
            accept,
        }
    }

    fn accept_at(&self, t: i64) -> f32 {
        let i = ((t - self.base).max(0) / 3600) as usize;
        self.accept[i.min(self.accept.len() - 1)]
    }

    /// A time drawn from `proposal`, thinned by the Berlin daily/weekly/seasonal rhythm.
    pub(super) fn sample_time(
        &self,
        rng: &mut ChaCha8Rng,
        mut proposal: impl FnMut(&mut ChaCha8Rng) -> i64,
    ) -> i64 {
        let mut t = proposal(rng);
        for _ in 0..64 {
            if rng.random::<f32>() < self.accept_at(t) {
                return t;
            }
            t = proposal(rng);
        }
        t
    }
}

/// Fourth Friday of November of `year` (day of month).
fn black_friday(year: i32) -> u32 {
    let nov1 = NaiveDate::from_ymd_opt(year, 11, 1)
        .map(|d| d.weekday().num_days_from_monday())
        .unwrap_or(0);
    1 + (4 + 7 - nov1) % 7 + 21
}

/// Relative traffic of a (local) day of the year.
fn season_weight(d: NaiveDate) -> f64 {
    let bf = black_friday(d.year());
    match (d.month(), d.day()) {
        (11, day) if day + 1 >= bf && day <= bf + 3 => 1.8,
        (12, 24..=26) => 0.6,
        (12, 31) | (1, 1) => 0.7,
        (12, _) => 1.3,
        (11, _) => 1.1,
        (1, _) => 1.0,
        (2, _) => 0.92,
        (3, _) | (4, _) => 1.0,
        (5, _) => 0.95,
        (6, _) | (7, _) => 0.9,
        (8, _) => 0.85,
        (9, _) => 0.95,
        _ => 1.0,
    }
}

/// The sale campaign running on `d`, if any.
pub(super) fn sale_campaign(d: NaiveDate) -> Option<u16> {
    let bf = black_friday(d.year());
    match (d.month(), d.day()) {
        (3, 15..) | (4, ..=15) => Some(C_SPRING),
        (6, 25..) | (7, _) => Some(C_SUMMER),
        (11, day) if day + 7 >= bf && day <= bf + 3 => Some(C_BLACK_FRIDAY),
        (11, day) if day > bf + 3 => Some(C_CHRISTMAS),
        (12, ..=22) => Some(C_CHRISTMAS),
        (1, 2..=15) => Some(C_NEW_YEAR),
        _ => None,
    }
}

/// The UTC date of the Unix second `t`.
pub(super) fn date_of(t: i64) -> NaiveDate {
    let (y, m, d) = civil_from_days(t.div_euclid(DAY));
    NaiveDate::from_ymd_opt(y as i32, m, d).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn black_friday_is_the_fourth_friday_of_november() {
        assert_eq!(black_friday(2025), 28);
        assert_eq!(black_friday(2026), 27);
    }
}
