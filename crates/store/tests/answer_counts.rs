//! The results report's counts (kept as responses are stored, and filled by
//! migration 0019 for those stored before) give exactly what the live query
//! over the responses gives, for every range, on SQLite and PostgreSQL.

use domain::{DisplayName, Email, ProjectName, QuestionId, QuestionKind, QuestionText, SurveyDefinition};
use serde_json::json;
use store::results::FinishedBetween;
use store::testing::TestDatabase;
use store::{NewResponse, Store};

const DAY: i64 = 86_400_000;
/// 2026-11-01T00:00:00Z, a midnight UTC.
const DAY0: i64 = 20_393 * DAY;

async fn survey_of_every_kind(store: &Store, email: &str) -> (i64, SurveyDefinition) {
    let owner = store
        .create_account(&Email::parse(email).unwrap(), &DisplayName::parse("Olive").unwrap(), "$argon2id$fake")
        .await
        .unwrap()
        .expect("new account")
        .id;
    let project = store.create_project(owner, &ProjectName::parse("Counts").unwrap(), &format!("slug-{email}")).await.unwrap();
    let mut def = SurveyDefinition::default();
    let q = |t: &str| QuestionText::parse(t).unwrap();
    def.add_question(q("Plan"), QuestionKind::from_form("single_choice", "Free\nPro\nTeam", "", "").unwrap(), false).unwrap(); // q1
    def.add_question(q("Channels"), QuestionKind::from_form("multiple_choice", "Email\nPhone\nChat", "", "").unwrap(), false).unwrap(); // q2
    def.add_question(q("Recommend"), QuestionKind::Nps, false).unwrap(); // q3
    def.add_question(q("Seats"), QuestionKind::from_form("number", "", "", "").unwrap(), false).unwrap(); // q4
    def.add_question(q("Comments"), QuestionKind::Text { multiline: true }, false).unwrap(); // q5
    def.add_question(q("Email"), QuestionKind::Email, false).unwrap(); // q6
    def.add_question(q("Old plan"), QuestionKind::from_form("single_choice", "Basic\nGold", "", "").unwrap(), false).unwrap(); // q7, removed later
    let version = store.survey(project).await.unwrap().unwrap().version;
    assert!(store.save_definition(project, &def, version).await.unwrap());
    (project, def)
}

/// The `i`th response: every kind of answer, some questions skipped (as
/// display logic or an optional question leaves them), finished over six
/// days with some on the stroke of midnight and a millisecond before.
fn response(project_id: i64, i: usize, with_old_plan: bool) -> NewResponse {
    let mut a = serde_json::Map::new();
    if i % 5 != 4 {
        a.insert("q1".into(), json!(["Free", "Pro", "Team", "Enterprise"][i % 4]));
    }
    if i % 3 != 2 {
        let picks = [json!(["Email"]), json!(["Email", "Chat"]), json!(["Phone", "Chat", "Email"]), json!([])];
        a.insert("q2".into(), picks[i % 4].clone());
    }
    a.insert("q3".into(), json!(i * 7 % 11));
    match i % 4 {
        0 => a.insert("q4".into(), json!((i % 9) as f64)),
        1 => a.insert("q4".into(), json!(i as f64 / 4.0)),
        2 => a.insert("q4".into(), json!(format!("{}", i % 13))),
        _ => None,
    };
    if i.is_multiple_of(2) {
        a.insert("q5".into(), json!(format!("Comment {i}")));
    }
    if i.is_multiple_of(7) {
        a.insert("q6".into(), json!(format!("r{i}@example.com")));
    }
    if with_old_plan && i % 2 == 1 {
        a.insert("q7".into(), json!(["Basic", "Gold"][(i / 2) % 2]));
    }
    let finished_at = match i % 10 {
        0 => DAY0 + (i as i64 % 6) * DAY,         // midnight
        1 => DAY0 + (i as i64 % 6 + 1) * DAY - 1, // a millisecond before the next
        _ => DAY0 + (i as i64 % 6) * DAY + (i as i64 * 7_919_000) % DAY,
    };
    NewResponse {
        public_id: format!("R_{project_id:04}{i:018}"),
        project_id,
        answers: serde_json::Value::Object(a).to_string(),
        embedded: "{}".into(),
        started_at: Some(finished_at - 1_000),
        finished_at,
        provenance: Default::default(),
    }
}

fn ranges() -> Vec<FinishedBetween> {
    let mut ranges = vec![
        FinishedBetween::ALL_TIME,
        FinishedBetween { from: DAY0 + DAY, to: i64::MAX },
        FinishedBetween { from: i64::MIN, to: DAY0 + 3 * DAY },
        FinishedBetween { from: DAY0 + 2 * DAY, to: DAY0 + 5 * DAY },
        FinishedBetween { from: DAY0 + 30 * DAY, to: DAY0 + 31 * DAY },
        // Not whole days: the live query answers both sides.
        FinishedBetween { from: DAY0 + DAY / 2, to: DAY0 + 2 * DAY },
    ];
    ranges.extend((0..7).map(|d| FinishedBetween { from: DAY0 + d * DAY, to: DAY0 + (d + 1) * DAY }));
    ranges
}

/// Counted and live agree on every range; returns the all-time responses.
async fn assert_counts_equal_live(store: &Store, project: i64, def: &SurveyDefinition, url: &str) -> u64 {
    let tallied: Vec<&str> = def.questions.iter().filter(|q| q.kind.results_count_values()).map(|q| q.id.as_str()).collect();
    for range in ranges() {
        let counted = store.answer_tallies(project, range, &tallied).await.unwrap();
        let live = store.live_answer_tallies(project, range, &tallied).await.unwrap();
        assert_eq!(counted, live, "{url} {range:?}");
        let (counted, live) = (store.responses_between(project, range).await.unwrap(), store.live_responses_between(project, range).await.unwrap());
        assert_eq!(counted, live, "{url} {range:?}");
    }
    store.live_responses_between(project, FinishedBetween::ALL_TIME).await.unwrap()
}

#[tokio::test]
async fn counted_results_equal_the_live_query_for_every_range() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let (project, mut def) = survey_of_every_kind(&store, "olive@example.com").await;
        // Every path that stores responses: the group-commit writer (many
        // at once, and a double submission), one commit each, and the bulk
        // seeding of benchmarks.
        let writer = store.response_writer();
        let mut tasks = Vec::new();
        for i in 0..120 {
            let w = writer.clone();
            tasks.push(tokio::spawn(async move { w.submit(response(project, i, true)).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        writer.submit(response(project, 7, true)).await.unwrap();
        let alone = store.response_writer_one_commit_each();
        for i in 120..140 {
            alone.submit(response(project, i, true)).await.unwrap();
        }
        // The old plan is removed; later responses do not answer it.
        let answers = store.answer_count(project, &QuestionId::parse("q7").unwrap()).await.unwrap();
        assert!(answers > 0);
        def.remove_question(&QuestionId::parse("q7").unwrap(), answers).unwrap();
        let version = store.survey(project).await.unwrap().unwrap().version;
        assert!(store.save_definition(project, &def, version).await.unwrap());
        let seeded: Vec<NewResponse> = (140..400).map(|i| response(project, i, false)).collect();
        store.seed_responses(&seeded).await.unwrap();

        let all = assert_counts_equal_live(&store, project, &def, &db.url).await;
        assert_eq!(all, 400, "{}", db.url);
        // The counts say something: the removed question and each option of
        // a multiple choice are there.
        let tallied: Vec<&str> = def.questions.iter().filter(|q| q.kind.results_count_values()).map(|q| q.id.as_str()).collect();
        let tallies = store.answer_tallies(project, FinishedBetween::ALL_TIME, &tallied).await.unwrap();
        let of = |q: &str, v: Option<&str>| tallies.iter().find(|t| t.question == q && t.value.as_deref() == v).map(|t| t.n);
        assert_eq!(of("q7", None), Some(answers as i64));
        assert!(of("q2", Some("Chat")).unwrap() > 0 && of("q5", None).unwrap() > 0 && of("q5", Some("Comment 0")).is_none());
    }
}

#[tokio::test]
async fn the_migration_counts_the_responses_stored_before_it() {
    for db in TestDatabase::all().await {
        let store = db.store().await;
        let (project, def) = survey_of_every_kind(&store, "olive@example.com").await;
        let seeded: Vec<NewResponse> = (0..300).map(|i| response(project, i, true)).collect();
        store.seed_responses(&seeded).await.unwrap();
        // As a database of before the migration: no counts. Then the
        // migration's own SQL, table and backfill.
        let folder = match store.backend() {
            store::Backend::Sqlite => "sqlite",
            store::Backend::Postgres => "postgres",
        };
        let migration = std::fs::read_to_string(format!("{}/migrations/{folder}/0021_results_answer_counts.sql", env!("CARGO_MANIFEST_DIR"))).unwrap();
        sqlx::query("DROP TABLE answer_counts").execute(store.pool()).await.unwrap();
        sqlx::raw_sql(&migration).execute(store.pool()).await.unwrap();
        assert_eq!(assert_counts_equal_live(&store, project, &def, &db.url).await, 300, "{}", db.url);
    }
}

#[tokio::test]
async fn two_writers_on_one_database_lose_no_count() {
    for db in TestDatabase::all().await {
        let (first, second) = (db.store().await, db.store().await);
        let (project, def) = survey_of_every_kind(&first, "olive@example.com").await;
        // Two processes' group writers, storing into the same days at once.
        let writers = [first.response_writer(), second.response_writer()];
        let mut tasks = Vec::new();
        for i in 0..400 {
            let w = writers[i % 2].clone();
            tasks.push(tokio::spawn(async move { w.submit(response(project, i, true)).await.unwrap() }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(assert_counts_equal_live(&first, project, &def, &db.url).await, 400, "{}", db.url);
    }
}
