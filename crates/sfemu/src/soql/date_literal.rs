//! Salesforce's relative date literals (`TODAY`, `LAST_N_DAYS:30`, `THIS_MONTH`, …),
//! all but the fiscal ones.
//! Each names a range of whole days, `[start, end)`, counted in UTC here (Salesforce
//! counts in the user's time zone; the emulator's users sit in UTC for this purpose).
//! `=` matches inside the range, `<` before it, `>` after it, `<=` up to its end,
//! `>=` from its start ("Date Formats and Date Literals in WHERE", SOQL reference).

use time::{Date, Duration, Month};

/// The range a literal names on `today`, or `None` if it is not a date literal this
/// emulator knows. Weeks start on Sunday, as in the en_US locale every emulated user has.
pub fn range(literal: &str, today: Date) -> Option<(Date, Date)> {
    let upper = literal.to_ascii_uppercase();
    let (name, n) = match upper.split_once(':') {
        Some((name, n)) => (name, Some(n.parse::<u16>().ok()? as i64)),
        None => (upper.as_str(), None),
    };
    let days = |a: i64, b: i64| Some((today + Duration::days(a), today + Duration::days(b)));
    let week = today - Duration::days(today.weekday().number_days_from_sunday() as i64);
    let weeks = |a: i64, b: i64| Some((week + Duration::weeks(a), week + Duration::weeks(b)));
    // Months `[a, b)` from this month's first day; quarters are calendar quarters.
    let months = |a: i32, b: i32| Some((month_start(today, a), month_start(today, b)));
    let quarter = -((today.month() as i32 - 1) % 3);
    let quarters = |a: i32, b: i32| months(quarter + 3 * a, quarter + 3 * b);
    let years = |a: i32, b: i32| Some((year_start(today.year() + a)?, year_start(today.year() + b)?));
    match (name, n) {
        ("YESTERDAY", None) => days(-1, 0),
        ("TODAY", None) => days(0, 1),
        ("TOMORROW", None) => days(1, 2),
        // "LAST_N_DAYS:1 includes yesterday and today"; NEXT_N_DAYS starts tomorrow.
        ("LAST_N_DAYS", Some(n)) => days(-n, 1),
        ("NEXT_N_DAYS", Some(n)) => days(1, n + 1),
        ("LAST_90_DAYS", None) => days(-90, 1),
        ("NEXT_90_DAYS", None) => days(1, 91),
        ("LAST_WEEK", None) => weeks(-1, 0),
        ("THIS_WEEK", None) => weeks(0, 1),
        ("NEXT_WEEK", None) => weeks(1, 2),
        ("LAST_MONTH", None) => months(-1, 0),
        ("THIS_MONTH", None) => months(0, 1),
        ("NEXT_MONTH", None) => months(1, 2),
        ("LAST_QUARTER", None) => quarters(-1, 0),
        ("THIS_QUARTER", None) => quarters(0, 1),
        ("NEXT_QUARTER", None) => quarters(1, 2),
        ("LAST_YEAR", None) => years(-1, 0),
        ("THIS_YEAR", None) => years(0, 1),
        ("NEXT_YEAR", None) => years(1, 2),
        // The N-period literals leave out the current period: LAST_N_MONTHS:2 is the two
        // months before this one, NEXT_N_MONTHS:2 the two after it.
        ("LAST_N_WEEKS", Some(n)) => weeks(-n, 0),
        ("NEXT_N_WEEKS", Some(n)) => weeks(1, n + 1),
        ("LAST_N_MONTHS", Some(n)) => months(-(n as i32), 0),
        ("NEXT_N_MONTHS", Some(n)) => months(1, n as i32 + 1),
        ("LAST_N_QUARTERS", Some(n)) => quarters(-(n as i32), 0),
        ("NEXT_N_QUARTERS", Some(n)) => quarters(1, n as i32 + 1),
        ("LAST_N_YEARS", Some(n)) => years(-(n as i32), 0),
        ("NEXT_N_YEARS", Some(n)) => years(1, n as i32 + 1),
        _ => None,
    }
}

/// The first day of the month `k` months from `today`'s.
fn month_start(today: Date, k: i32) -> Date {
    let index = today.year() * 12 + today.month() as i32 - 1 + k;
    let month = Month::try_from((index.rem_euclid(12) + 1) as u8).expect("1..=12");
    Date::from_calendar_date(index.div_euclid(12), month, 1).expect("the first of a month exists")
}

fn year_start(year: i32) -> Option<Date> { Date::from_calendar_date(year, Month::January, 1).ok() }

/// `YYYY-MM-DD`, the form rows' dates (and the date part of their datetimes) are compared in.
pub fn iso(d: Date) -> String { format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()) }

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    fn names(literal: &str, today: Date) -> Option<(String, String)> { range(literal, today).map(|(a, b)| (iso(a), iso(b))) }
    fn r(a: &str, b: &str) -> Option<(String, String)> { Some((a.into(), b.into())) }

    #[test]
    fn each_literal_names_its_days_from_a_wednesday_in_march() {
        let today = date!(2024 - 03 - 13); // a Wednesday
        for (literal, want) in [
            ("TODAY", r("2024-03-13", "2024-03-14")),
            ("today", r("2024-03-13", "2024-03-14")),
            ("YESTERDAY", r("2024-03-12", "2024-03-13")),
            ("TOMORROW", r("2024-03-14", "2024-03-15")),
            ("LAST_N_DAYS:1", r("2024-03-12", "2024-03-14")),
            ("LAST_N_DAYS:30", r("2024-02-12", "2024-03-14")),
            ("NEXT_N_DAYS:2", r("2024-03-14", "2024-03-16")),
            ("LAST_90_DAYS", r("2023-12-14", "2024-03-14")),
            ("NEXT_90_DAYS", r("2024-03-14", "2024-06-12")),
            ("THIS_WEEK", r("2024-03-10", "2024-03-17")),
            ("LAST_WEEK", r("2024-03-03", "2024-03-10")),
            ("NEXT_WEEK", r("2024-03-17", "2024-03-24")),
            ("THIS_MONTH", r("2024-03-01", "2024-04-01")),
            ("LAST_MONTH", r("2024-02-01", "2024-03-01")),
            ("NEXT_MONTH", r("2024-04-01", "2024-05-01")),
            ("THIS_YEAR", r("2024-01-01", "2025-01-01")),
            ("LAST_YEAR", r("2023-01-01", "2024-01-01")),
            ("NEXT_YEAR", r("2025-01-01", "2026-01-01")),
            ("THIS_QUARTER", r("2024-01-01", "2024-04-01")),
            ("LAST_QUARTER", r("2023-10-01", "2024-01-01")),
            ("NEXT_QUARTER", r("2024-04-01", "2024-07-01")),
            ("LAST_N_WEEKS:2", r("2024-02-25", "2024-03-10")),
            ("NEXT_N_WEEKS:1", r("2024-03-17", "2024-03-24")),
            ("LAST_N_MONTHS:2", r("2024-01-01", "2024-03-01")),
            ("NEXT_N_MONTHS:10", r("2024-04-01", "2025-02-01")),
            ("LAST_N_QUARTERS:2", r("2023-07-01", "2024-01-01")),
            ("NEXT_N_QUARTERS:1", r("2024-04-01", "2024-07-01")),
            ("LAST_N_YEARS:2", r("2022-01-01", "2024-01-01")),
            ("NEXT_N_YEARS:1", r("2025-01-01", "2026-01-01")),
            ("LAST_N_DAYS", None),
            ("LAST_N_DAYS:x", None),
            ("LAST_N_DAYS:-1", None),
            ("TODAY:1", None),
            ("THIS_FISCAL_YEAR", None),
            ("LAST_N_MONTHS", None),
        ] {
            assert_eq!(names(literal, today), want, "{literal}");
        }
    }

    #[test]
    fn weeks_start_on_sunday_and_months_wrap_the_year() {
        assert_eq!(names("THIS_WEEK", date!(2024 - 03 - 10)), r("2024-03-10", "2024-03-17"), "a Sunday starts its own week");
        assert_eq!(names("THIS_WEEK", date!(2024 - 03 - 16)), r("2024-03-10", "2024-03-17"), "a Saturday ends it");
        assert_eq!(names("LAST_MONTH", date!(2024 - 01 - 31)), r("2023-12-01", "2024-01-01"));
        assert_eq!(names("NEXT_MONTH", date!(2024 - 12 - 05)), r("2025-01-01", "2025-02-01"));
        assert_eq!(names("THIS_WEEK", date!(2025 - 01 - 01)), r("2024-12-29", "2025-01-05"));
        assert_eq!(names("THIS_QUARTER", date!(2024 - 12 - 31)), r("2024-10-01", "2025-01-01"));
        assert_eq!(names("NEXT_QUARTER", date!(2024 - 11 - 15)), r("2025-01-01", "2025-04-01"));
    }
}
