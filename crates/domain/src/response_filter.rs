//! The responses table's filter: which responses it shows (finished between
//! two dates, by Salesforce delivery status, by response id or by text in the
//! answers), in which order, and where a page starts. Parsed once from the
//! form's fields; a bad field is refused with a sentence a person can act on.

use crate::DeliveryStatus;
use time::Date;

/// A search term longer than this is refused: it would never match a
/// respondent's answer anyway, and each one is a scan.
pub const SEARCH_MAX_CHARS: usize = 200;

const DAY_MS: i64 = 86_400_000;

/// The form's fields as they came (all optional, all text).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput<'a> {
    pub from: &'a str,
    pub to: &'a str,
    pub status: &'a str,
    pub q: &'a str,
    pub sort: &'a str,
}

/// Which way the table runs by finish time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Sort {
    #[default]
    NewestFirst,
    OldestFirst,
}

impl Sort {
    pub fn as_str(self) -> &'static str {
        match self {
            Sort::NewestFirst => "newest",
            Sort::OldestFirst => "oldest",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Sort::NewestFirst => "Newest first",
            Sort::OldestFirst => "Oldest first",
        }
    }
}

/// A delivery status to show, or the responses that have no delivery at all
/// (they came while the survey mapped nothing, or matched no mapping).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusChoice {
    Is(DeliveryStatus),
    NoDelivery,
}

impl StatusChoice {
    pub const ALL: [StatusChoice; 6] = [
        StatusChoice::Is(DeliveryStatus::Delivered),
        StatusChoice::Is(DeliveryStatus::Pending),
        StatusChoice::Is(DeliveryStatus::Held),
        StatusChoice::Is(DeliveryStatus::Failed),
        StatusChoice::Is(DeliveryStatus::Discarded),
        StatusChoice::NoDelivery,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            StatusChoice::Is(s) => s.as_str(),
            StatusChoice::NoDelivery => "none",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            StatusChoice::Is(DeliveryStatus::Pending) => "Waiting (on its way)",
            StatusChoice::Is(DeliveryStatus::Discarded) => "Given up (discarded)",
            StatusChoice::Is(s) => s.label(),
            StatusChoice::NoDelivery => "No delivery",
        }
    }
}

/// What the search box asks for: a term that looks like a response id
/// (`R_` and letters or digits) finds the ids it begins; any other term is
/// looked for in the answers' text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Search {
    ResponseIdPrefix(String),
    Text(String),
}

impl Search {
    pub fn as_str(&self) -> &str {
        match self {
            Search::ResponseIdPrefix(s) | Search::Text(s) => s,
        }
    }
}

/// A response's place in the table: finish time, then id for responses that
/// finished in the same millisecond. Pages are sought from it (keyset), so a
/// page deep in costs what the first one does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableKey {
    pub finished_at: i64,
    pub id: i64,
}

impl TableKey {
    /// The key as it travels in a URL: `finished_at.id`.
    pub fn to_param(self) -> String {
        format!("{}.{}", self.finished_at, self.id)
    }

    pub fn parse(raw: &str) -> Result<TableKey, FilterProblem> {
        let bad = || FilterProblem::new("page", "This page link is not valid any more; start again from the first page.");
        let (f, i) = raw.split_once('.').ok_or_else(bad)?;
        Ok(TableKey { finished_at: f.parse().map_err(|_| bad())?, id: i.parse().map_err(|_| bad())? })
    }
}

/// Where a page starts: the rows after a key in the table's order (the
/// next page), or the rows before it (the previous one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PageStart {
    First,
    After(TableKey),
    Before(TableKey),
}

impl PageStart {
    pub fn parse(after: &str, before: &str) -> Result<PageStart, FilterProblem> {
        match (after.trim(), before.trim()) {
            ("", "") => Ok(PageStart::First),
            (a, "") => Ok(PageStart::After(TableKey::parse(a)?)),
            ("", b) => Ok(PageStart::Before(TableKey::parse(b)?)),
            _ => Err(FilterProblem::new("page", "This page link names two places to start; start again from the first page.")),
        }
    }
}

/// Why the filter was refused, and which field to show it beside.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FilterProblem {
    pub field: &'static str,
    pub message: String,
}

impl FilterProblem {
    fn new(field: &'static str, message: impl Into<String>) -> Self {
        FilterProblem { field, message: message.into() }
    }
}

/// The responses the table shows, and in which order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ResponseFilter {
    /// First day of finish (UTC), included.
    pub from: Option<Date>,
    /// Last day of finish (UTC), included.
    pub to: Option<Date>,
    pub status: Option<StatusChoice>,
    pub search: Option<Search>,
    pub sort: Sort,
}

fn day(raw: &str, which: &'static str) -> Result<Option<Date>, FilterProblem> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let format = time::macros::format_description!("[year]-[month]-[day]");
    Date::parse(raw, &format)
        .map(Some)
        .map_err(|_| FilterProblem::new(which, format!("The {which} date \"{raw}\" is not a date; write it as YYYY-MM-DD, e.g. 2026-11-25.")))
}

fn day_start_ms(d: Date) -> i64 {
    d.midnight().assume_utc().unix_timestamp() * 1000
}

impl ResponseFilter {
    pub fn parse(input: &FilterInput<'_>) -> Result<ResponseFilter, FilterProblem> {
        let from = day(input.from, "from")?;
        let to = day(input.to, "to")?;
        if let (Some(f), Some(t)) = (from, to) {
            if f > t {
                return Err(FilterProblem::new("to", "The from date must not be after the to date."));
            }
        }
        let status = match input.status.trim() {
            "" | "any" => None,
            code => Some(StatusChoice::ALL.into_iter().find(|s| s.as_str() == code).ok_or_else(|| {
                FilterProblem::new("status", format!("\"{code}\" is not a delivery status; pick one from the list."))
            })?),
        };
        let sort = match input.sort.trim() {
            "" | "newest" => Sort::NewestFirst,
            "oldest" => Sort::OldestFirst,
            other => return Err(FilterProblem::new("sort", format!("\"{other}\" is not an order; pick newest or oldest first."))),
        };
        let q = input.q.trim();
        if q.chars().count() > SEARCH_MAX_CHARS {
            return Err(FilterProblem::new("q", format!("The search is longer than {SEARCH_MAX_CHARS} characters; shorten it.")));
        }
        let search = match q {
            "" => None,
            id if looks_like_response_id(id) => Some(Search::ResponseIdPrefix(id.to_string())),
            text => Some(Search::Text(text.to_string())),
        };
        Ok(ResponseFilter { from, to, status, search, sort })
    }

    /// Finished at or after this Unix millisecond, if bounded.
    pub fn finished_from_ms(&self) -> Option<i64> {
        self.from.map(day_start_ms)
    }

    /// Finished before this Unix millisecond (the day after `to` starts).
    pub fn finished_before_ms(&self) -> Option<i64> {
        self.to.map(|d| day_start_ms(d) + DAY_MS)
    }

    /// Whether anything narrows the table (the order does not).
    pub fn narrows(&self) -> bool {
        self.from.is_some() || self.to.is_some() || self.status.is_some() || self.search.is_some()
    }

    /// The filter as URL query pairs, for links that keep it (empty fields
    /// left out, so a shared URL stays short).
    pub fn query_pairs(&self) -> Vec<(&'static str, String)> {
        let mut pairs = Vec::new();
        if let Some(f) = self.from {
            pairs.push(("from", f.to_string()));
        }
        if let Some(t) = self.to {
            pairs.push(("to", t.to_string()));
        }
        if let Some(s) = self.status {
            pairs.push(("status", s.as_str().to_string()));
        }
        if let Some(s) = &self.search {
            pairs.push(("q", s.as_str().to_string()));
        }
        if self.sort != Sort::NewestFirst {
            pairs.push(("sort", self.sort.as_str().to_string()));
        }
        pairs
    }
}

/// `R_` then up to the id's length of letters and digits (`ResponseId`'s
/// alphabet).
fn looks_like_response_id(term: &str) -> bool {
    term.strip_prefix("R_")
        .is_some_and(|rest| rest.len() <= crate::ResponseId::RANDOM_CHARS && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(from: &str, to: &str, status: &str, q: &str, sort: &str) -> Result<ResponseFilter, FilterProblem> {
        ResponseFilter::parse(&FilterInput { from, to, status, q, sort })
    }

    #[test]
    fn an_empty_form_shows_everything_newest_first() {
        let f = parse("", "", "", "  ", "").unwrap();
        assert_eq!(f, ResponseFilter::default());
        assert!(!f.narrows());
        assert!(f.query_pairs().is_empty());
    }

    #[test]
    fn dates_bound_finish_times_with_the_to_day_included() {
        let f = parse("2026-11-01", "2026-11-01", "", "", "").unwrap();
        assert_eq!(f.finished_from_ms(), Some(1_793_491_200_000));
        assert_eq!(f.finished_before_ms(), Some(1_793_491_200_000 + DAY_MS));
        assert_eq!(f.query_pairs(), vec![("from", "2026-11-01".to_string()), ("to", "2026-11-01".to_string())]);
    }

    #[test]
    fn bad_dates_are_refused_beside_their_field() {
        for (from, to, field, says) in [
            ("2026-11-02", "2026-11-01", "to", "must not be after"),
            ("yesterday", "", "from", "\"yesterday\" is not a date"),
            ("", "2026-02-30", "to", "is not a date"),
            ("2026-1-5", "", "from", "YYYY-MM-DD"),
        ] {
            let p = parse(from, to, "", "", "").unwrap_err();
            assert_eq!(p.field, field, "{from} {to}");
            assert!(p.message.contains(says), "{}", p.message);
        }
    }

    #[test]
    fn statuses_are_the_deliveries_own_and_none() {
        for choice in StatusChoice::ALL {
            assert_eq!(parse("", "", choice.as_str(), "", "").unwrap().status, Some(choice));
        }
        assert_eq!(parse("", "", "none", "", "").unwrap().status, Some(StatusChoice::NoDelivery));
        assert_eq!(parse("", "", "any", "", "").unwrap().status, None);
        assert_eq!(parse("", "", "lost", "", "").unwrap_err().field, "status");
    }

    #[test]
    fn sort_is_newest_or_oldest_first() {
        assert_eq!(parse("", "", "", "", "oldest").unwrap().sort, Sort::OldestFirst);
        assert_eq!(parse("", "", "", "", "newest").unwrap().sort, Sort::NewestFirst);
        assert_eq!(parse("", "", "", "", "sideways").unwrap_err().field, "sort");
    }

    #[test]
    fn a_search_is_an_id_prefix_or_text() {
        assert_eq!(parse("", "", "", " R_abc12 ", "").unwrap().search, Some(Search::ResponseIdPrefix("R_abc12".into())));
        assert_eq!(parse("", "", "", "R_", "").unwrap().search, Some(Search::ResponseIdPrefix("R_".into())));
        assert_eq!(parse("", "", "", "R_ slow", "").unwrap().search, Some(Search::Text("R_ slow".into())));
        assert_eq!(parse("", "", "", "50% off", "").unwrap().search, Some(Search::Text("50% off".into())));
        let long = "é".repeat(SEARCH_MAX_CHARS + 1);
        assert_eq!(parse("", "", "", &long, "").unwrap_err().field, "q");
        assert!(parse("", "", "", &"é".repeat(SEARCH_MAX_CHARS), "").is_ok(), "characters are counted, not bytes");
    }

    #[test]
    fn page_keys_round_trip_and_bad_ones_are_refused() {
        let key = TableKey { finished_at: 1_700_000_000_123, id: 42 };
        assert_eq!(PageStart::parse(&key.to_param(), "").unwrap(), PageStart::After(key));
        assert_eq!(PageStart::parse("", &key.to_param()).unwrap(), PageStart::Before(key));
        assert_eq!(PageStart::parse("", "").unwrap(), PageStart::First);
        for (a, b) in [("12", ""), ("x.1", ""), ("", "1.y"), ("1.2", "1.2")] {
            assert_eq!(PageStart::parse(a, b).unwrap_err().field, "page");
        }
    }
}
