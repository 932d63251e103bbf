//! Capture timestamps. Everything in wiretale is computed from capture time only, never
//! the wall clock, so live and offline analysis of the same packets agree.

use std::fmt;

/// A capture timestamp in nanoseconds since the Unix epoch.
///
/// Nanoseconds in an `i64` cover ±292 years, enough for any capture, and keep the
/// arithmetic exact for both microsecond and nanosecond files.
#[derive(
    serde::Serialize,
    serde::Deserialize,
    Clone,
    Copy,
    Debug,
    Default,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
)]
pub struct Timestamp(pub i64);

impl Timestamp {
    /// Builds a timestamp from whole seconds and a fraction expressed in `units_per_sec`
    /// (1_000_000 for microsecond pcap, 1_000_000_000 for nanosecond pcap).
    pub fn from_parts(secs: i64, frac: u64, units_per_sec: u64) -> Self {
        let nanos = if units_per_sec == 0 {
            0
        } else {
            (frac as u128 * 1_000_000_000u128 / units_per_sec as u128) as i64
        };
        Timestamp(secs.saturating_mul(1_000_000_000).saturating_add(nanos))
    }

    /// Seconds since the epoch as a float (what `--json` prints as `ts`).
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1e9
    }

    /// `self - earlier` in seconds (negative when `earlier` is later).
    pub fn secs_since(self, earlier: Timestamp) -> f64 {
        (self.0.saturating_sub(earlier.0)) as f64 / 1e9
    }

    /// Whole seconds part (floor).
    pub fn secs(self) -> i64 {
        self.0.div_euclid(1_000_000_000)
    }

    /// Nanoseconds within the second.
    pub fn subsec_nanos(self) -> u32 {
        self.0.rem_euclid(1_000_000_000) as u32
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{:09}", self.secs(), self.subsec_nanos())
    }
}

/// The UTC calendar date `(year, month, day)` of a day count since 1970-01-01 (the
/// civil-from-days algorithm of H. Hinnant's "chrono-Compatible Low-Level Date
/// Algorithms"; proleptic Gregorian, negative days before the epoch).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// `2026-12-05`: the UTC date of a time in whole seconds since the Unix epoch.
pub fn utc_date(secs: i64) -> String {
    let (y, m, d) = civil_from_days(secs.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn micro_and_nano_agree() {
        let a = Timestamp::from_parts(1_000, 250_000, 1_000_000);
        let b = Timestamp::from_parts(1_000, 250_000_000, 1_000_000_000);
        assert_eq!(a, b);
        assert_eq!(a.to_string(), "1000.250000000");
        assert!((b.secs_since(Timestamp::from_parts(999, 0, 1)) - 1.25).abs() < 1e-9);
    }

    #[test]
    fn negative_times_split_correctly() {
        let t = Timestamp(-1);
        assert_eq!(t.secs(), -1);
        assert_eq!(t.subsec_nanos(), 999_999_999);
    }
}
