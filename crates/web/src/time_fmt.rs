//! Times as people and exports read them.

use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

fn at(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(ms as i128 * 1_000_000).ok()
}

/// RFC 3339 in UTC, e.g. `2026-11-25T16:44:17.123Z`: for CSV and the API.
pub fn rfc3339(ms: i64) -> String {
    at(ms).and_then(|t| t.format(&Rfc3339).ok()).unwrap_or_default()
}

/// `2026-11-25 16:44 UTC`: for pages.
pub fn short(ms: i64) -> String {
    at(ms)
        .map(|t| format!("{:04}-{:02}-{:02} {:02}:{:02} UTC", t.year(), t.month() as u8, t.day(), t.hour(), t.minute()))
        .unwrap_or_default()
}

/// A duration in words: `45 s`, `3 min 5 s`, `2 h 10 min`.
pub fn duration(ms: i64) -> String {
    let s = (ms / 1000).max(0);
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_render_in_utc() {
        assert_eq!(super::rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(super::short(90_061_000), "1970-01-02 01:01 UTC");
        assert_eq!(super::duration(185_000), "3 min 5 s");
    }
}
