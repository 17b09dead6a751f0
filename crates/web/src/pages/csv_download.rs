//! CSV downloads (the responses, the invitation log), streamed a page at a
//! time so a large export never sits whole in memory.

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;
use std::future::Future;

/// OWASP's "CSV Injection" advice: a cell beginning with `=`, `+`, `-`, `@`,
/// tab or carriage return is read as a formula by spreadsheets, so it gets a
/// leading `'`, which they show as text. The csv crate quotes the cell.
/// Every cell holding text someone else wrote goes through it.
pub fn spreadsheet_text(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{text}")
    } else {
        text
    }
}

/// Rows as CSV bytes.
pub fn bytes<R>(rows: impl IntoIterator<Item = R>) -> Result<Vec<u8>, csv::Error>
where
    R: IntoIterator,
    R::Item: AsRef<[u8]>,
{
    let mut w = csv::Writer::from_writer(Vec::new());
    for row in rows {
        w.write_record(row)?;
    }
    w.into_inner().map_err(|e| csv::Error::from(e.into_error()))
}

/// A download named `filename`: `head` first, then the pages `page` gives,
/// starting from `first`, each with the cursor of the next (none at the end).
pub fn response<C, F, Fut>(filename: &str, head: Vec<u8>, first: C, page: F) -> Response
where
    C: Send + 'static,
    F: Fn(C) -> Fut + Send + 'static,
    Fut: Future<Output = Result<(Vec<u8>, Option<C>), std::io::Error>> + Send + 'static,
{
    let pages = futures_util::stream::try_unfold(Some(first), move |cursor| {
        let next = cursor.map(&page);
        async move {
            match next {
                Some(fetch) => fetch.await.map(Some),
                None => Ok(None),
            }
        }
    });
    let body = futures_util::stream::once(async move { Ok::<_, std::io::Error>(head) }).chain(pages);
    (
        [(header::CONTENT_TYPE, "text/csv; charset=utf-8".to_string()), (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{filename}\""))],
        Body::from_stream(body),
    )
        .into_response()
}
