//! The Responses tab as a table that scales: filters by finish date,
//! Salesforce delivery status, response id and text; sorted by finish time
//! both ways; keyset pages that keep the filter; bad input refused beside
//! the form; strangers kept out.

use crate::helpers::{apps, Browser, TestApp};
use reqwest::StatusCode;
use std::collections::HashSet;

const DAY_MS: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z.
const NOV_1: i64 = 1_793_491_200_000;

fn rid(i: usize) -> String {
    format!("R_tbl{i:019}")
}

/// Stores responses straight into the database (the way `insight bench`
/// seeds), `(index, finished_at, comment)` each, in the order given.
async fn seed(app: &TestApp, project: i64, rows: &[(usize, i64, &str)]) {
    let responses: Vec<store::NewResponse> = rows
        .iter()
        .map(|(i, finished_at, text)| store::NewResponse {
            public_id: rid(*i),
            project_id: project,
            answers: serde_json::json!({ "q1": text }).to_string(),
            embedded: "{}".into(),
            started_at: Some(finished_at - 30_000),
            finished_at: *finished_at,
            provenance: Default::default(),
        })
        .collect();
    app.store.seed_responses(&responses).await.unwrap();
}

/// Gives response `i` a delivery in `status` (as the worker or a person
/// would have left it).
async fn delivery(app: &TestApp, i: usize, status: &str) {
    sqlx::query(
        "INSERT INTO deliveries (project_id, response_id, public_id, status, next_attempt_at, created_at, updated_at)
         SELECT project_id, id, public_id, $1, 0, 0, 0 FROM responses WHERE public_id = $2",
    )
    .bind(status)
    .bind(rid(i))
    .execute(app.store.pool())
    .await
    .unwrap();
}

const COMMENTS: [&str; 12] =
    ["Great service", "slow delivery", "fine", "GREAT value", "50% off", "plain 50 off", "a_b", "axb", "fine", "fine", "fine", "fine"];

/// An owner's survey (q1: Comments) with twelve responses, response `i`
/// finished on November `i + 1`, stored newest first (so row order is not
/// finish order), and deliveries for the first five.
async fn twelve(app: &TestApp) -> (Browser, i64) {
    let b = Browser::new(app);
    b.sign_up("owner@example.com", "Olive").await;
    let id = b.create_project("Table").await;
    b.add_question(id, "text", "Comments", "", false).await;
    let rows: Vec<(usize, i64, &str)> = (0..12).rev().map(|i| (i, NOV_1 + i as i64 * DAY_MS + 3_600_000, COMMENTS[i])).collect();
    seed(app, id, &rows).await;
    for (i, status) in [(0, "delivered"), (1, "failed"), (2, "pending"), (3, "discarded"), (4, "held")] {
        delivery(app, i, status).await;
    }
    (b, id)
}

/// The response ids on a table page, top to bottom.
fn ids_on(html: &str) -> Vec<String> {
    html.split("data-response-id=\"").skip(1).map(|s| s[..s.find('"').unwrap()].to_string()).collect()
}

fn href_of(html: &str, element_id: &str) -> Option<String> {
    let at = html.find(&format!("id=\"{element_id}\""))?;
    let tag = &html[html[..at].rfind('<')?..];
    let start = tag.find("href=\"")? + 6;
    Some(tag[start..start + tag[start..].find('"')?].replace("&amp;", "&"))
}

fn indexes(ids: &[String]) -> Vec<usize> {
    ids.iter().map(|id| id[5..].parse().unwrap()).collect()
}

async fn shown(b: &Browser, id: i64, query: &str) -> Vec<usize> {
    let (status, html) = b.get_text(&format!("/projects/{id}/responses?{query}")).await;
    assert_eq!(status, StatusCode::OK, "{query}: {html}");
    indexes(&ids_on(&html))
}

#[tokio::test]
async fn each_filter_narrows_the_table_to_its_matches() {
    for app in apps().await {
        let (b, id) = twelve(&app).await;
        // Dates are days of finish, both included.
        assert_eq!(shown(&b, id, "from=2026-11-03&to=2026-11-05").await, [4, 3, 2]);
        assert_eq!(shown(&b, id, "from=2026-11-11").await, [11, 10]);
        assert_eq!(shown(&b, id, "to=2026-11-01").await, [0]);
        // Each delivery status, and responses with none.
        for (status, expected) in [("delivered", vec![0]), ("failed", vec![1]), ("pending", vec![2]), ("discarded", vec![3]), ("held", vec![4])] {
            assert_eq!(shown(&b, id, &format!("status={status}")).await, expected, "{status}");
        }
        assert_eq!(shown(&b, id, "status=none").await, [11, 10, 9, 8, 7, 6, 5]);
        // Response ids: a prefix, or one whole id.
        assert_eq!(shown(&b, id, "q=R_tbl000000000000000001").await, [11, 10], "ids 10 and 11 begin so");
        assert_eq!(shown(&b, id, &format!("q={}", rid(7))).await, [7]);
        assert_eq!(shown(&b, id, "q=r_tbl0000").await, Vec::<usize>::new(), "ids are case-sensitive; r_… is text");
        // Text in the answers, in any case, never the question ids.
        assert_eq!(shown(&b, id, "q=great").await, [3, 0]);
        assert_eq!(shown(&b, id, "q=q1").await, Vec::<usize>::new());
        // Filters combine.
        assert_eq!(shown(&b, id, "q=fine&from=2026-11-10").await, [11, 10, 9]);
        assert_eq!(shown(&b, id, "q=fine&status=none").await, [11, 10, 9, 8]);
        let (_, html) = b.get_text(&format!("/projects/{id}/responses?q=fine&status=none")).await;
        assert!(html.contains("4 responses match"), "{html}");
        assert!(html.contains("value=\"fine\""), "the form keeps the search");
        let (_, all) = b.get_text(&format!("/projects/{id}/responses")).await;
        assert!(all.contains("12 responses, newest first"), "{all}");
        assert!(all.contains("data-delivery=\"failed\""), "each row says its delivery");
        assert!(all.contains("<option value=\"none\">No delivery</option>"), "a project that delivers offers the statuses and none");
    }
}

#[tokio::test]
async fn a_search_with_percent_or_underscore_matches_them_literally() {
    for app in apps().await {
        let (b, id) = twelve(&app).await;
        assert_eq!(shown(&b, id, "q=50%25").await, [4], "not \"plain 50 off\"");
        assert_eq!(shown(&b, id, "q=a_b").await, [6], "not \"axb\"");
        assert_eq!(shown(&b, id, "q=%25").await, [4]);
        assert_eq!(shown(&b, id, "q=_").await, [6]);
    }
}

#[tokio::test]
async fn the_table_sorts_by_finish_time_both_ways() {
    for app in apps().await {
        let (b, id) = twelve(&app).await;
        assert_eq!(shown(&b, id, "").await, (0..12).rev().collect::<Vec<_>>());
        assert_eq!(shown(&b, id, "sort=newest").await, (0..12).rev().collect::<Vec<_>>());
        assert_eq!(shown(&b, id, "sort=oldest").await, (0..12).collect::<Vec<_>>());
        assert_eq!(shown(&b, id, "sort=oldest&q=fine").await, [2, 8, 9, 10, 11]);
    }
}

/// Follows the Next links from `start` to the end, then the Previous links
/// back; returns the pages' ids in order and checks every link keeps `keep`.
async fn walk(b: &Browser, start: &str, keep: &str) -> (Vec<Vec<usize>>, Vec<Vec<usize>>) {
    let mut forward = Vec::new();
    let mut url = start.to_string();
    let last_html = loop {
        let (status, html) = b.get_text(&url).await;
        assert_eq!(status, StatusCode::OK, "{url}");
        forward.push(indexes(&ids_on(&html)));
        match href_of(&html, "page-next") {
            Some(next) => {
                assert!(next.contains(keep), "{next} keeps {keep}");
                url = next;
            }
            None => break html,
        }
        assert!(forward.len() < 20, "the pages never end");
    };
    let mut back = Vec::new();
    let mut html = last_html;
    while let Some(prev) = href_of(&html, "page-previous") {
        assert!(prev.contains(keep), "{prev} keeps {keep}");
        let (status, page) = b.get_text(&prev).await;
        assert_eq!(status, StatusCode::OK);
        back.push(indexes(&ids_on(&page)));
        html = page;
        assert!(back.len() < 20, "the pages never end");
    }
    (forward, back)
}

#[tokio::test]
async fn pages_cover_every_match_exactly_once_and_keep_the_filter() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive").await;
        let id = b.create_project("Many").await;
        b.add_question(id, "text", "Comments", "", false).await;
        // 160 responses, three to a millisecond (ties are broken by id), a
        // quarter of them saying something else.
        let rows: Vec<(usize, i64, &str)> = (0..160).map(|i| (i, NOV_1 + (i / 3) as i64 * 1000, if i % 4 == 0 { "other" } else { "keep me" })).collect();
        seed(&app, id, &rows).await;
        let matching: Vec<usize> = (0..160).filter(|i| i % 4 != 0).collect();
        for (sort, expected) in [("newest", matching.iter().rev().copied().collect::<Vec<_>>()), ("oldest", matching.clone())] {
            let start = format!("/projects/{id}/responses?q=keep&sort={sort}");
            let (forward, back) = walk(&b, &start, "q=keep").await;
            assert_eq!(forward.len(), 3, "120 matches, 50 a page");
            assert!(forward.iter().all(|p| p.len() <= 50));
            let all: Vec<usize> = forward.concat();
            assert_eq!(all, expected, "{sort}: every match once, in order");
            assert_eq!(all.iter().collect::<HashSet<_>>().len(), all.len());
            // Back again, page by page, to the same first pages.
            assert_eq!(back, vec![forward[1].clone(), forward[0].clone()], "{sort}");
        }
        let (_, html) = b.get_text(&format!("/projects/{id}/responses?q=keep")).await;
        assert!(html.contains("120 responses match"), "{html}");
        assert!(href_of(&html, "page-previous").is_none(), "the first page has no previous page");
        assert!(!html.contains("name=\"status\""), "no delivery status to filter by in a project that delivers nothing");
        let (_, refused) = b.get_text(&format!("/projects/{id}/responses?from=soon")).await;
        assert!(!refused.contains("name=\"status\""), "nor beside a refused filter");
    }
}

#[tokio::test]
async fn bad_filters_are_refused_beside_the_form_keeping_what_was_typed() {
    for app in apps().await {
        let (b, id) = twelve(&app).await;
        let long = "x".repeat(201);
        for (query, says, kept) in [
            ("from=2026-11-05&to=2026-11-03", "The from date must not be after the to date.", "value=\"2026-11-05\""),
            ("from=2026-13-01", "The from date \"2026-13-01\" is not a date", "value=\"2026-13-01\""),
            ("to=soon", "The to date \"soon\" is not a date", "value=\"soon\""),
            ("status=lost", "\"lost\" is not a delivery status", "value=\"lost\" selected"),
            (&format!("q={long}"), "The search is longer than 200 characters", "value=\"xxxxxxxx"),
            ("sort=sideways", "\"sideways\" is not an order", ""),
            ("after=yesterday", "This page link is not valid", ""),
        ] {
            let (status, html) = b.get_text(&format!("/projects/{id}/responses?{query}")).await;
            assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
            assert!(html.contains("id=\"filter-error\"") && html.contains(&says.replace('"', "&quot;")), "{query}: {html}");
            assert!(html.contains(kept), "{query} keeps what was typed");
            assert!(!html.contains("id=\"responses\""), "{query}: no table beside a refused filter");
        }
        // Nothing changed: the twelve responses and their deliveries are all there.
        let (status, html) = b.get_text(&format!("/projects/{id}/responses")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(ids_on(&html).len(), 12);
        assert_eq!(html.matches("data-delivery=").count(), 5);
    }
}

#[tokio::test]
async fn an_empty_result_says_so_and_offers_to_clear_the_filter() {
    for app in apps().await {
        let (b, id) = twelve(&app).await;
        let (status, html) = b.get_text(&format!("/projects/{id}/responses?q=nobody+wrote+this")).await;
        assert_eq!(status, StatusCode::OK);
        assert!(html.contains("0 responses match"), "{html}");
        assert!(html.contains("id=\"no-matches\"") && html.contains("Clear the filter"));
        assert!(html.contains(&format!("href=\"/projects/{id}/responses\">Clear the filter")));
    }
}

#[tokio::test]
async fn a_stranger_gets_404_and_a_viewer_reads_the_table() {
    for app in apps().await {
        let (owner, id) = twelve(&app).await;
        let stranger = Browser::new(&app);
        stranger.sign_up("stranger@example.com", "Sid").await;
        for query in ["", "q=great", "status=failed", "from=2026-11-05&to=2026-11-03"] {
            let (status, _) = stranger.get_text(&format!("/projects/{id}/responses?{query}")).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{query}");
        }
        let viewer = Browser::new(&app);
        viewer.sign_up("vera@example.com", "Vera").await;
        owner.share(&viewer, id, &[("email", "vera@example.com"), ("role", "viewer")]).await;
        assert_eq!(shown(&viewer, id, "q=great").await, [3, 0]);
    }
}

#[tokio::test]
async fn dates_alone_are_counted_exactly_and_a_search_up_to_a_thousand() {
    for app in apps().await {
        let b = Browser::new(&app);
        b.sign_up("owner@example.com", "Olive").await;
        let id = b.create_project("Counted").await;
        b.add_question(id, "text", "Comments", "", false).await;
        let rows: Vec<(usize, i64, &str)> = (0..1_005).map(|i| (i, NOV_1 + i as i64 * 60_000, "same words")).collect();
        seed(&app, id, &rows).await;
        let (_, html) = b.get_text(&format!("/projects/{id}/responses?from=2026-11-01")).await;
        assert!(html.contains("1005 responses match"), "{html}");
        let (_, html) = b.get_text(&format!("/projects/{id}/responses?q=same")).await;
        assert!(html.contains("More than 1,000 responses match"), "{html}");
        assert_eq!(ids_on(&html).len(), 50);
    }
}
