//! The responses table: a page of a survey's responses that match a filter,
//! sought by key in either direction (Older/Newer keep the filter), how many
//! match, and each row's Salesforce delivery.

use crate::projects::Project;
use crate::surveys::Survey;
use crate::{App, AppError};
use domain::{PageStart, ResponseFilter, Sort, TableKey};
use std::collections::HashMap;
use std::time::Duration;
use store::deliveries::Delivery;
use store::response_table::Direction;
use store::StoredResponse;

/// Rows a page shows.
pub const TABLE_PAGE: i64 = 50;

/// Matches of a search or a delivery status are counted up to this many;
/// past it the table says "more than". Such a count reads (and a text search
/// parses) every match, and past a thousand the number is only a sense of
/// size. Finish dates alone are counted exactly: that is a range of the index.
pub const COUNT_CAP: u64 = 1_000;

/// Responses the search index takes in one commit: small, so the step
/// never holds SQLite's write lock long while responses wait to be stored.
pub const INDEX_BATCH: i64 = 500;

/// How many responses match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matches {
    Exactly(u64),
    MoreThan(u64),
}

/// A page of the table.
#[derive(Debug, Clone)]
pub struct ResponseTable {
    pub rows: Vec<StoredResponse>,
    /// By response (public) id.
    pub deliveries: HashMap<String, Delivery>,
    pub matches: Matches,
    /// Where the previous page ends (link with `before=`), if there is one.
    pub previous: Option<TableKey>,
    /// Where the next page starts (link with `after=`), if there is one.
    pub next: Option<TableKey>,
    /// Whether the project delivers to Salesforce at all (maps something, or
    /// did): only then is filtering by delivery status offered.
    pub delivers: bool,
}

fn key(r: &StoredResponse) -> TableKey {
    TableKey { finished_at: r.finished_at, id: r.id }
}

fn flip(d: Direction) -> Direction {
    match d {
        Direction::Ascending => Direction::Descending,
        Direction::Descending => Direction::Ascending,
    }
}

impl App {
    /// A page of the responses table, for anyone who may see the project.
    pub async fn response_table(&self, project: &Project, survey: &Survey, filter: &ResponseFilter, start: PageStart) -> Result<ResponseTable, AppError> {
        let forward = match filter.sort {
            Sort::NewestFirst => Direction::Descending,
            Sort::OldestFirst => Direction::Ascending,
        };
        let read = |direction, past| self.store.response_table_rows(project.id, filter, direction, past, TABLE_PAGE + 1);
        let (rows, previous, next) = match start {
            PageStart::Before(k) => {
                let mut rows = read(flip(forward), Some(k)).await?;
                if rows.len() as i64 > TABLE_PAGE {
                    rows.truncate(TABLE_PAGE as usize);
                    rows.reverse();
                    let (previous, next) = (rows.first().map(key), rows.last().map(key));
                    (rows, previous, next)
                } else {
                    // Back at the start: show the whole first page.
                    self.first_rows(forward, &read).await?
                }
            }
            PageStart::After(k) => {
                let mut rows = read(forward, Some(k)).await?;
                let more = rows.len() as i64 > TABLE_PAGE;
                rows.truncate(TABLE_PAGE as usize);
                let (previous, next) = (rows.first().map(key), if more { rows.last().map(key) } else { None });
                (rows, previous, next)
            }
            PageStart::First => self.first_rows(forward, &read).await?,
        };
        let whole_first_page = start == PageStart::First && next.is_none();
        let matches = match (filter.narrows(), filter.status.is_some() || filter.search.is_some()) {
            (false, _) => Matches::Exactly(survey.response_count.max(0) as u64),
            // Everything that matches is on this page: no second read.
            (true, _) if whole_first_page => Matches::Exactly(rows.len() as u64),
            (true, false) => Matches::Exactly(self.store.response_table_count(project.id, filter, i64::MAX).await?),
            (true, true) => {
                let n = self.store.response_table_count(project.id, filter, COUNT_CAP as i64 + 1).await?;
                if n > COUNT_CAP { Matches::MoreThan(COUNT_CAP) } else { Matches::Exactly(n) }
            }
        };
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let by_row = self.store.deliveries_of_responses(project.id, &ids).await?;
        let deliveries = rows.iter().filter_map(|r| by_row.get(&r.id).map(|d| (r.public_id.clone(), d.clone()))).collect();
        let delivers = !by_row.is_empty() || self.delivers_to_salesforce(project).await?;
        Ok(ResponseTable { rows, deliveries, matches, previous, next, delivers })
    }

    /// Whether the project delivers responses to Salesforce at all: it maps
    /// something, or some response has a delivery.
    pub async fn delivers_to_salesforce(&self, project: &Project) -> Result<bool, AppError> {
        Ok(self.store.integration(project.id).await?.is_some_and(|i| !i.mappings.is_empty()) || self.store.has_deliveries(project.id).await?)
    }

    async fn first_rows<F, Fut>(&self, forward: Direction, read: &F) -> Result<(Vec<StoredResponse>, Option<TableKey>, Option<TableKey>), AppError>
    where
        F: Fn(Direction, Option<TableKey>) -> Fut,
        Fut: std::future::Future<Output = store::Result<Vec<StoredResponse>>>,
    {
        let mut rows = read(forward, None).await?;
        let more = rows.len() as i64 > TABLE_PAGE;
        rows.truncate(TABLE_PAGE as usize);
        let next = if more { rows.last().map(key) } else { None };
        Ok((rows, None, next))
    }

    /// Fills the responses' text index (`Store::index_response_text`) until
    /// `stop` says so: batch after batch while behind, resting nine times as
    /// long as each took (waiting for the write lock included) and at least
    /// a fifth of a second, so responses being stored keep the database (a
    /// search reads what the index has not reached one by one meanwhile);
    /// then a look every second.
    pub async fn run_search_indexer(&self, mut stop: tokio::sync::watch::Receiver<bool>) {
        loop {
            if *stop.borrow() {
                return;
            }
            let started = std::time::Instant::now();
            let wait = match self.store.index_response_text(INDEX_BATCH).await {
                Ok(n) if n as i64 == INDEX_BATCH => (started.elapsed() * 9).max(Duration::from_millis(200)),
                Ok(_) => Duration::from_secs(1),
                Err(e) => {
                    tracing::error!(error = %e, "search indexer could not reach the database");
                    Duration::from_secs(5)
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = stop.changed() => {}
            }
        }
    }
}
