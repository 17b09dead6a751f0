//! The responses table's text search through the text index (migration
//! 0023) finds exactly what reading every response finds, whatever part of
//! the responses the background step has indexed, on SQLite and PostgreSQL;
//! steps running at once index each response once, and a response committed
//! after one with a higher id is not left behind the watermark.

use domain::{DisplayName, Email, ProjectName, ResponseFilter, Search};
use serde_json::json;
use store::response_table::Direction;
use store::testing::TestDatabase;
use store::{NewResponse, Store};

/// More than the search reads through the index (1,000 candidates): with
/// none of them indexed, every search reads the responses one by one, as
/// it did before the index.
const RESPONSES: usize = 2_100;

async fn project(store: &Store, email: &str) -> i64 {
    let owner = store
        .create_account(&Email::parse(email).unwrap(), &DisplayName::parse("Iris").unwrap(), "$argon2id$fake")
        .await
        .unwrap()
        .expect("new account")
        .id;
    store.create_project(owner, &ProjectName::parse("Search").unwrap(), &format!("slug-{email}")).await.unwrap()
}

/// Answers the terms below look for, one in every few responses; the rest
/// say something plain.
const SPECIAL: [&str; 11] = [
    "A zebra at the gate",
    "ZEBRAS everywhere",
    "50% off",
    "plain 500 off",
    "a_b",
    "axb",
    "Café au lait",
    "CAFÉ NOIR",
    "she said \"hi\" twice",
    "back\\slash",
    "keyword-free",
];

fn response(project_id: i64, i: usize) -> NewResponse {
    let mut answers = json!({ "keyword": format!("plain answer {}", i % 10), "q2": i % 7, "q3": ["Email", "Chat"] });
    if i.is_multiple_of(97) {
        answers["q4"] = json!(SPECIAL[(i / 97) % SPECIAL.len()]);
    }
    NewResponse {
        public_id: format!("R_search{i:016}"),
        project_id,
        answers: answers.to_string(),
        embedded: "{}".into(),
        started_at: None,
        // Ties on the finish time, so the pages' keys are tested too.
        finished_at: 1_000_000 + (i as i64 / 3),
        provenance: Default::default(),
    }
}

const TERMS: [&str; 14] =
    ["zebra", "ZEBRA", "50%", "a_b", "café", "CAFÉ", "é n", "said \"hi", "back\\sl", "keyword", "plain answer 3", "ab", "Chat", "answer"];

fn text(term: &str) -> ResponseFilter {
    ResponseFilter { search: Some(Search::Text(term.into())), ..Default::default() }
}

/// Every match of `term`, newest first, read a page of 40 at a time by key,
/// and the count (capped at 1,001, as the table asks).
async fn search(store: &Store, project: i64, term: &str) -> (Vec<i64>, u64) {
    let filter = text(term);
    let mut ids = Vec::new();
    let mut past = None;
    loop {
        let page = store.response_table_rows(project, &filter, Direction::Descending, past, 40).await.unwrap();
        ids.extend(page.iter().map(|r| r.id));
        match page.last() {
            Some(r) if page.len() == 40 => past = Some(domain::TableKey { finished_at: r.finished_at, id: r.id }),
            _ => break,
        }
    }
    (ids, store.response_table_count(project, &filter, 1_001).await.unwrap())
}

async fn all_searches(store: &Store, project: i64) -> Vec<(Vec<i64>, u64)> {
    let mut found = Vec::new();
    for term in TERMS {
        found.push(search(store, project, term).await);
    }
    found
}

#[tokio::test]
async fn the_index_finds_what_reading_every_response_finds() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let project = project(&store, "iris@example.com").await;
        // Another project's matches must never show.
        let other = project_of_another(&store).await;
        let rows: Vec<NewResponse> = (0..RESPONSES).map(|i| response(project, i)).collect();
        store.seed_responses(&rows).await.unwrap();

        let read_one_by_one = all_searches(&store, project).await;
        for (term, (ids, count)) in TERMS.iter().zip(&read_one_by_one) {
            assert_eq!((ids.len() as u64).min(1_001), *count, "{term} on {}", db.url);
        }
        let count = |term: &str| TERMS.iter().position(|t| *t == term).map(|i| read_one_by_one[i].0.len()).unwrap();
        // The terms find what they should (so the comparison is not of
        // empty results): literal wildcards, quotes, no question ids.
        // Each special answer is in two responses.
        assert_eq!((count("zebra"), count("ZEBRA")), (4, 4), "{}", db.url);
        assert_eq!((count("50%"), count("a_b")), (2, 2), "not \"plain 500 off\" nor \"axb\", {}", db.url);
        assert_eq!((count("said \"hi"), count("back\\sl")), (2, 2), "{}", db.url);
        assert_eq!(count("keyword"), 2, "a question id is not an answer: only \"keyword-free\" matches, {}", db.url);
        assert_eq!(count("answer"), RESPONSES);

        // Two thirds indexed (the rest past the watermark, few enough that
        // a rare term's search reads the index), then all of it.
        assert_eq!(store.index_response_text(1_400).await.unwrap(), 1_400);
        assert_eq!(all_searches(&store, project).await, read_one_by_one, "part indexed, {}", db.url);
        while store.index_response_text(500).await.unwrap() > 0 {}
        assert_eq!(all_searches(&store, project).await, read_one_by_one, "all indexed, {}", db.url);

        // New responses past the watermark are found before they are indexed.
        let more: Vec<NewResponse> = (RESPONSES..RESPONSES + 200).map(|i| response(project, i)).collect();
        store.seed_responses(&more).await.unwrap();
        let (zebras, _) = search(&store, project, "zebra").await;
        assert!(zebras.len() > count("zebra"), "{}", db.url);
        while store.index_response_text(500).await.unwrap() > 0 {}
        assert_eq!(search(&store, project, "zebra").await.0, zebras, "{}", db.url);
        assert!(search(&store, other, "zebra").await.0.len() == 1, "the other project's own zebra only, {}", db.url);
    }
}

async fn project_of_another(store: &Store) -> i64 {
    let other = project(store, "other@example.com").await;
    let mut zebra = response(other, 0);
    zebra.public_id = "R_searchother0000000000".into();
    store.seed_responses(&[zebra]).await.unwrap();
    other
}

#[tokio::test]
async fn storing_indexes_nothing_and_two_indexers_at_once_index_each_response_once() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let project = project(&store, "iris@example.com").await;
        let rows: Vec<NewResponse> = (0..1_000).map(|i| response(project, i)).collect();
        store.seed_responses(&rows).await.unwrap();
        // Storing responses (the writer's own commit) indexes nothing.
        assert_eq!(store.response_text_indexed_through().await.unwrap(), 0);
        assert_eq!(rows_in_index(&store).await, (0, 0), "{}", db.url);
        // Two processes: two stores, each with its own connections.
        let other = Store::connect(&db.url).await.unwrap();
        let run = |s: Store| tokio::spawn(async move {
            let mut n = 0;
            loop {
                match s.index_response_text(7).await.unwrap() {
                    0 => return n,
                    k => n += k,
                }
                // A breath between steps, as the server's loop takes.
                tokio::time::sleep(std::time::Duration::from_millis(2)).await;
            }
        });
        let (a, b) = (run(store.clone()), run(other.clone()));
        let (a, b) = (a.await.unwrap(), b.await.unwrap());
        assert_eq!(a + b, 1_000, "{}", db.url);
        assert!(a > 0 && b > 0, "both took turns ({a}, {b}), {}", db.url);
        assert_eq!(rows_in_index(&store).await, (1_000, 1_000), "{}", db.url);
        let (highest,): (i64,) = sqlx::query_as("SELECT MAX(id) FROM responses").fetch_one(store.pool()).await.unwrap();
        assert_eq!(store.response_text_indexed_through().await.unwrap(), highest);
        other.close().await;
    }
}

/// How many rows the text index holds, and for how many responses.
async fn rows_in_index(store: &Store) -> (i64, i64) {
    let sql = match store.backend() {
        store::Backend::Sqlite => "SELECT COUNT(*), COUNT(DISTINCT id) FROM response_text_docsize",
        store::Backend::Postgres => "SELECT COUNT(*), COUNT(DISTINCT response_id) FROM response_text",
    };
    sqlx::query_as(sql).fetch_one(store.pool()).await.unwrap()
}

/// PostgreSQL hands out ids before commit, so a response can appear after
/// one with a higher id: the step waits for the transactions that were
/// storing responses, and never leaves such a response behind its
/// watermark. (SQLite stores one transaction at a time, in id order.)
#[tokio::test]
async fn a_response_committed_after_a_later_one_is_indexed_too() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let store = db.store().await;
    let project = project(&store, "iris@example.com").await;
    let mut slow = store.pool().begin().await.unwrap();
    sqlx::query("INSERT INTO responses (public_id, project_id, answers, embedded, finished_at) VALUES ($1, $2, $3, '{}', 5)")
        .bind("R_searchslow00000000000")
        .bind(project)
        .bind(json!({ "q4": "a slow zebra" }).to_string())
        .execute(&mut *slow)
        .await
        .unwrap();
    let mut later = response(project, 0);
    later.answers = json!({ "q4": "a quick zebra" }).to_string();
    store.seed_responses(&[later]).await.unwrap();

    let indexing = tokio::spawn({
        let store = store.clone();
        async move { store.index_response_text(500).await.unwrap() }
    });
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(!indexing.is_finished(), "the step waits for the response still being stored");
    slow.commit().await.unwrap();
    assert_eq!(indexing.await.unwrap(), 2);
    assert_eq!(search(&store, project, "zebra").await.0.len(), 2);
    assert_eq!(rows_in_index(&store).await, (2, 2));
}
