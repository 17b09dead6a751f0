//! Bulk API 2.0 ingest over real HTTP: the job lifecycle, rows mapped back from the
//! results, upsert by external id, state errors, the upload limit, faults and usage.
mod common;
use common::*;
use serde_json::{json, Value};

const JOBS: &str = "/jobs/ingest";

async fn upload(t: &T, s: &Session, job: &str, csv: &str) -> (u16, Value) {
    let r = t.http.put(format!("{}/services/data/v59.0{JOBS}/{job}/batches", s.instance_url)).bearer_auth(&s.token)
        .header("Content-Type", "text/csv").body(csv.to_string()).send().await.unwrap();
    let st = r.status().as_u16();
    let text = r.text().await.unwrap();
    (st, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap() })
}

async fn results(t: &T, s: &Session, job: &str, kind: &str) -> String {
    let r = t.http.get(format!("{}/services/data/v59.0{JOBS}/{job}/{kind}/", s.instance_url)).bearer_auth(&s.token).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/csv");
    r.text().await.unwrap()
}

async fn create(t: &T, s: &Session, body: Value) -> String {
    let (st, _, job) = t.call(s, "POST", JOBS, Some(body)).await;
    assert_eq!(st, 200, "{job}");
    job["id"].as_str().unwrap().to_string()
}

async fn close(t: &T, s: &Session, job: &str) -> Value {
    let (st, _, v) = t.call(s, "PATCH", &format!("{JOBS}/{job}"), Some(json!({"state": "UploadComplete"}))).await;
    assert_eq!(st, 200, "{v}");
    v
}

/// Poll Get Job Info until the job reaches a final state.
async fn finished(t: &T, s: &Session, job: &str) -> Value {
    for _ in 0..2000 {
        let (st, _, v) = t.call(s, "GET", &format!("{JOBS}/{job}"), None).await;
        assert_eq!(st, 200);
        if matches!(v["state"].as_str(), Some("JobComplete" | "Failed" | "Aborted")) { return v; }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    panic!("job {job} did not finish");
}

async fn soql(t: &T, s: &Session, q: &str) -> Value {
    let (st, _, v) = t.call(s, "GET", &format!("/query?q={}", url::form_urlencoded::byte_serialize(q.as_bytes()).collect::<String>()), None).await;
    assert_eq!(st, 200, "{v}");
    v
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    csv::ReaderBuilder::new().has_headers(false).from_reader(text.as_bytes()).records().map(|r| r.unwrap().iter().map(String::from).collect()).collect()
}

#[tokio::test]
async fn insert_job_lifecycle_maps_every_row_back() {
    let t = start().await;
    let s = t.login().await;
    let used_before = t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await["used"].as_u64().unwrap();

    let (st, h, job) = t.call(&s, "POST", JOBS, Some(json!({"object": "Account", "operation": "insert", "contentType": "CSV", "lineEnding": "LF"}))).await;
    assert_eq!(st, 200, "{job}");
    assert!(h["sforce-limit-info"].to_str().unwrap().starts_with("api-usage="));
    let id = job["id"].as_str().unwrap().to_string();
    assert!(id.starts_with("750") && id.len() == 18, "{id}");
    assert_eq!(job["state"], "Open");
    assert_eq!(job["operation"], "insert");
    assert_eq!(job["object"], "Account");
    assert_eq!(job["concurrencyMode"], "Parallel");
    assert_eq!(job["contentType"], "CSV");
    assert_eq!(job["apiVersion"], json!(59.0));
    assert_eq!(job["contentUrl"], format!("services/data/v59.0/jobs/ingest/{id}/batches"));
    assert_eq!((job["lineEnding"].as_str(), job["columnDelimiter"].as_str()), (Some("LF"), Some("COMMA")));
    assert!(job["createdById"].as_str().unwrap().starts_with("005"));
    assert!(job["createdDate"].as_str().unwrap().ends_with("+0000"));

    // Quoted fields, a delimiter and a newline inside quotes, #N/A for null, one bad row.
    let data = "Name,NumberOfEmployees,Description\n\"Acme, Inc.\",12,\"two\nlines\"\n,5,no name\nInitech,#N/A,\n";
    assert_eq!(upload(&t, &s, &id, data).await, (201, Value::Null));
    let (st, _, again) = t.call(&s, "PUT", &format!("{JOBS}/{id}/batches"), None).await;
    assert_eq!((st, again[0]["errorCode"].as_str()), (409, Some("INVALIDJOBSTATE")), "{again}");

    let closed = close(&t, &s, &id).await;
    assert_eq!(closed["state"], "UploadComplete");
    // With a processing delay a job is InProgress for at least one poll.
    let (_, _, polled) = t.call(&s, "GET", &format!("{JOBS}/{id}"), None).await;
    assert_eq!(polled["state"], "InProgress", "{polled}");
    assert_eq!(polled["jobType"], "V2Ingest");
    // A closed job takes no more data and cannot be closed again.
    let (st, late) = upload(&t, &s, &id, "Name\nLate\n").await;
    assert_eq!((st, late[0]["errorCode"].as_str()), (409, Some("INVALIDJOBSTATE")), "{late}");
    let (st, _, twice) = t.call(&s, "PATCH", &format!("{JOBS}/{id}"), Some(json!({"state": "UploadComplete"}))).await;
    assert_eq!((st, twice[0]["errorCode"].as_str()), (409, Some("INVALIDJOBSTATE")), "{twice}");

    let done = finished(&t, &s, &id).await;
    assert_eq!(done["state"], "JobComplete", "{done}");
    assert_eq!((done["numberRecordsProcessed"].as_u64(), done["numberRecordsFailed"].as_u64()), (Some(3), Some(1)));
    for k in ["retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime"] { assert!(done[k].is_u64(), "{k}: {done}"); }

    let ok = results(&t, &s, &id, "successfulResults").await;
    assert!(ok.starts_with("\"sf__Id\",\"sf__Created\",Name,NumberOfEmployees,Description\n"), "{ok}");
    let ok = csv_rows(&ok);
    assert_eq!(ok.len(), 3, "{ok:?}");
    assert_eq!(ok[1][1..], ["true", "Acme, Inc.", "12", "two\nlines"]);
    assert_eq!(ok[2][1..], ["true", "Initech", "#N/A", ""]);
    let failed = results(&t, &s, &id, "failedResults").await;
    assert_eq!(failed, "\"sf__Id\",\"sf__Error\",Name,NumberOfEmployees,Description\n\"\",\"REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name\",\"\",\"5\",\"no name\"\n");
    assert_eq!(results(&t, &s, &id, "unprocessedrecords").await, "Name,NumberOfEmployees,Description\n");

    // The records exist, written as a REST insert writes them.
    let acme = soql(&t, &s, "SELECT Id, Name, NumberOfEmployees, Description FROM Account WHERE Name = 'Acme, Inc.'").await;
    assert_eq!(acme["totalSize"], 1);
    assert_eq!(acme["records"][0]["Id"], ok[1][0].as_str());
    assert_eq!(acme["records"][0]["Description"], "two\nlines");
    assert_eq!(acme["records"][0]["NumberOfEmployees"], 12);
    let initech = soql(&t, &s, "SELECT Id, NumberOfEmployees, Description FROM Account WHERE Name = 'Initech'").await;
    assert_eq!(initech["records"][0]["Id"], ok[2][0].as_str());
    assert_eq!((&initech["records"][0]["NumberOfEmployees"], &initech["records"][0]["Description"]), (&Value::Null, &Value::Null));

    let (st, _, list) = t.call(&s, "GET", JOBS, None).await;
    assert_eq!(st, 200);
    assert_eq!((&list["done"], &list["nextRecordsUrl"]), (&json!(true), &Value::Null));
    assert!(list["records"].as_array().unwrap().iter().any(|j| j["id"] == id.as_str() && j["state"] == "JobComplete"));

    // Every Bulk API 2.0 call counted like any REST call, and the job in the emulator's counters.
    let usage = t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await;
    let calls = 1 + 2 + 1 + 3 + 1 + 1 + 3 + 2 + 1; // create, uploads, close, polls and errors, finishing poll, results, SOQL, list
    assert!(usage["used"].as_u64().unwrap() >= used_before + calls as u64, "{usage}");
    assert_eq!((usage["bulk_jobs_created"].as_u64(), usage["bulk_records_processed"].as_u64(), usage["bulk_records_failed"].as_u64()), (Some(1), Some(3), Some(1)), "{usage}");

    assert_eq!(t.call(&s, "DELETE", &format!("{JOBS}/{id}"), None).await.0, 204);
    let (st, _, gone) = t.call(&s, "GET", &format!("{JOBS}/{id}"), None).await;
    assert_eq!((st, gone[0]["errorCode"].as_str()), (404, Some("NOT_FOUND")));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn upsert_by_external_id_tells_created_from_updated() {
    let t = start().await;
    let s = t.login().await;
    let (st, _, existing) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "Before", "Insight_Id__c": "c-1"}))).await;
    assert_eq!(st, 201);
    let existing = existing["id"].as_str().unwrap().to_string();

    let id = create(&t, &s, json!({"object": "Contact", "operation": "upsert", "externalIdFieldName": "Insight_Id__c"})).await;
    let (_, _, info) = t.call(&s, "GET", &format!("{JOBS}/{id}"), None).await;
    assert_eq!(info["externalIdFieldName"], "Insight_Id__c");
    assert_eq!(upload(&t, &s, &id, "Insight_Id__c,LastName,Email\nc-1,After,\nc-2,Fresh,fresh@example.com\nc-3,Broken,not-an-email\n").await.0, 201);
    close(&t, &s, &id).await;
    let done = finished(&t, &s, &id).await;
    assert_eq!((done["state"].as_str(), done["numberRecordsFailed"].as_u64()), (Some("JobComplete"), Some(1)));

    let ok = csv_rows(&results(&t, &s, &id, "successfulResults").await);
    assert_eq!(ok[1], [existing.as_str(), "false", "c-1", "After", ""]);
    assert_eq!(ok[2][1..], ["true", "c-2", "Fresh", "fresh@example.com"]);
    let failed = csv_rows(&results(&t, &s, &id, "failedResults").await);
    assert_eq!(failed[1], ["", "INVALID_EMAIL_ADDRESS:Email: invalid email address: not-an-email:Email", "c-3", "Broken", "not-an-email"]);

    let after = soql(&t, &s, "SELECT Id, LastName FROM Contact WHERE Insight_Id__c = 'c-1'").await;
    assert_eq!((after["totalSize"].as_u64(), after["records"][0]["LastName"].as_str()), (Some(1), Some("After")));
    let fresh = soql(&t, &s, "SELECT Id FROM Contact WHERE Insight_Id__c = 'c-2'").await;
    assert_eq!(fresh["records"][0]["Id"], ok[2][0].as_str());
    assert_eq!(soql(&t, &s, "SELECT COUNT() FROM Contact WHERE Insight_Id__c = 'c-3'").await["totalSize"], 0);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn a_bad_job_request_is_refused_with_salesforce_codes() {
    let t = start().await;
    let s = t.login().await;
    let refused = |v: &Value, code: &str, needle: &str| {
        assert_eq!(v[0]["errorCode"], code, "{v}");
        assert!(v[0]["message"].as_str().unwrap().contains(needle), "{v}");
    };
    let (st, _, v) = t.call(&s, "POST", JOBS, Some(json!({"object": "Nope__c", "operation": "insert"}))).await;
    assert_eq!(st, 400);
    refused(&v, "INVALIDJOB", "Unable to find object: Nope__c");
    let (st, _, v) = t.call(&s, "POST", JOBS, Some(json!({"object": "Account", "operation": "merge"}))).await;
    assert_eq!(st, 400);
    refused(&v, "INVALIDJOB", "merge");
    let (st, _, v) = t.call(&s, "POST", JOBS, Some(json!({"object": "Account", "operation": "upsert"}))).await;
    assert_eq!(st, 400);
    refused(&v, "INVALIDJOB", "External ID was blank for Account");
    let (st, _, v) = t.call(&s, "POST", JOBS, Some(json!({"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}))).await;
    assert_eq!(st, 400);
    refused(&v, "INVALIDJOB", "not an External ID");
    let (st, _, v) = t.call(&s, "POST", JOBS, Some(json!({"object": "Account", "operation": "insert", "contentType": "JSON"}))).await;
    assert_eq!(st, 400);
    refused(&v, "INVALIDJOB", "CSV");
    let (st, _, v) = t.call(&s, "GET", &format!("{JOBS}/750000000000000AAA"), None).await;
    assert_eq!((st, v[0]["errorCode"].as_str()), (404, Some("NOT_FOUND")));
    // None of them made a job.
    let (_, _, list) = t.call(&s, "GET", JOBS, None).await;
    assert_eq!(list["records"], json!([]));

    // An unknown column fails the whole job; every row stays unprocessed.
    let id = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    assert_eq!(upload(&t, &s, &id, "Name,Bogus__c\nA,1\nB,2\n").await.0, 201);
    close(&t, &s, &id).await;
    let done = finished(&t, &s, &id).await;
    assert_eq!((done["state"].as_str(), done["errorMessage"].as_str()), (Some("Failed"), Some("InvalidBatch : Field name not found : Bogus__c")));
    assert_eq!(results(&t, &s, &id, "unprocessedrecords").await, "Name,Bogus__c\n\"A\",\"1\"\n\"B\",\"2\"\n");
    assert_eq!(results(&t, &s, &id, "successfulResults").await, "\"sf__Id\",\"sf__Created\",Name,Bogus__c\n");

    // CRLF data in an LF job is refused as Salesforce refuses it; a CRLF job takes it.
    let lf = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    upload(&t, &s, &lf, "Name\r\nCR One\r\n").await;
    close(&t, &s, &lf).await;
    let done = finished(&t, &s, &lf).await;
    assert_eq!(done["errorMessage"], "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF");
    let crlf = create(&t, &s, json!({"object": "Account", "operation": "insert", "lineEnding": "CRLF", "columnDelimiter": "SEMICOLON"})).await;
    upload(&t, &s, &crlf, "Name;Description\r\nCR Two;semi\r\n").await;
    close(&t, &s, &crlf).await;
    assert_eq!(finished(&t, &s, &crlf).await["state"], "JobComplete");
    assert!(results(&t, &s, &crlf, "successfulResults").await.starts_with("\"sf__Id\";\"sf__Created\";Name;Description\r\n\""));
    assert_eq!(soql(&t, &s, "SELECT Description FROM Account WHERE Name = 'CR Two'").await["records"][0]["Description"], "semi");

    // Abort: an open job can be aborted once; a finished one not at all.
    let open = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    assert_eq!(t.call(&s, "DELETE", &format!("{JOBS}/{open}"), None).await.0, 409);
    let (st, _, v) = t.call(&s, "PATCH", &format!("{JOBS}/{open}"), Some(json!({"state": "Aborted"}))).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("Aborted")));
    let (st, _, v) = t.call(&s, "PATCH", &format!("{JOBS}/{open}"), Some(json!({"state": "Aborted"}))).await;
    assert_eq!((st, v[0]["errorCode"].as_str()), (409, Some("INVALIDJOBSTATE")));
    let (st, _, v) = t.call(&s, "PATCH", &format!("{JOBS}/{crlf}"), Some(json!({"state": "Aborted"}))).await;
    assert_eq!((st, v[0]["message"].as_str()), (409, Some("Aborting already Completed Job not allowed")));
    let (st, _, v) = t.call(&s, "PATCH", &format!("{JOBS}/{open}"), Some(json!({"state": "Closed"}))).await;
    assert_eq!((st, v[0]["errorCode"].as_str()), (400, Some("INVALIDJOBSTATE")));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn an_upload_over_the_limit_is_refused_and_stores_nothing() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.bulk_max_upload_bytes = 1024;
    let t = start_with(cfg).await;
    let s = t.login().await;
    let id = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    let big = format!("Name\n{}", "Too Big Co\n".repeat(400));
    let (st, v) = upload(&t, &s, &id, &big).await;
    assert_eq!((st, v[0]["errorCode"].as_str()), (413, Some("CLIENTINPUTERROR")), "{v}");
    assert!(v[0]["message"].as_str().unwrap().contains("1024 bytes"), "{v}");
    // The job is still open and empty: an upload within the limit is taken.
    assert_eq!(upload(&t, &s, &id, "Name\nSmall Co\n").await.0, 201);
    close(&t, &s, &id).await;
    assert_eq!(finished(&t, &s, &id).await["numberRecordsProcessed"], 1);
    assert_eq!(soql(&t, &s, "SELECT COUNT() FROM Account WHERE Name = 'Too Big Co'").await["totalSize"], 0);
    // A job closed without data fails and says why.
    let empty = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    close(&t, &s, &empty).await;
    let done = finished(&t, &s, &empty).await;
    assert_eq!(done["state"], "Failed");
    assert!(done["errorMessage"].as_str().unwrap().contains("No data"), "{done}");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn update_delete_and_hard_delete_jobs_write_like_rest() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.bulk_processing_delay_ms = 0;
    let t = start_with(cfg).await;
    let s = t.login().await;
    let mut ids = vec![];
    for n in ["One", "Two", "Three"] {
        let (_, _, v) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": n}))).await;
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let upd = create(&t, &s, json!({"object": "Account", "operation": "update"})).await;
    upload(&t, &s, &upd, &format!("Id,Name\n{},One Renamed\n003000000000000AAA,Wrong Object\n", ids[0])).await;
    close(&t, &s, &upd).await;
    assert_eq!(finished(&t, &s, &upd).await["numberRecordsFailed"], 1);
    let failed = csv_rows(&results(&t, &s, &upd, "failedResults").await);
    assert!(failed[1][1].starts_with("MALFORMED_ID:"), "{failed:?}");
    assert_eq!(soql(&t, &s, &format!("SELECT Name FROM Account WHERE Id = '{}'", ids[0])).await["records"][0]["Name"], "One Renamed");

    let del = create(&t, &s, json!({"object": "Account", "operation": "delete"})).await;
    upload(&t, &s, &del, &format!("Id\n{}\n", ids[1])).await;
    close(&t, &s, &del).await;
    finished(&t, &s, &del).await;
    let hard = create(&t, &s, json!({"object": "Account", "operation": "hardDelete"})).await;
    upload(&t, &s, &hard, &format!("Id\n{}\n", ids[2])).await;
    close(&t, &s, &hard).await;
    finished(&t, &s, &hard).await;
    let ok = csv_rows(&results(&t, &s, &hard, "successfulResults").await);
    assert_eq!(ok[1], [ids[2].as_str(), "false", ids[2].as_str()]);
    assert_eq!(soql(&t, &s, "SELECT COUNT() FROM Account").await["totalSize"], 1);
    // A soft delete goes to the recycle bin (queryAll sees it); a hard delete does not.
    let (_, _, all) = t.call(&s, "GET", "/queryAll?q=SELECT+Id+FROM+Account+WHERE+IsDeleted+=+true", None).await;
    assert_eq!(all["records"].as_array().unwrap().iter().map(|r| r["Id"].as_str().unwrap()).collect::<Vec<_>>(), [ids[1].as_str()]);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn faults_apply_to_bulk_urls_like_other_rest_urls() {
    let t = start().await;
    let s = t.login().await;
    let id = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    t.admin("PUT", &format!("/orgs/{}/faults", t.prod_org), Some(json!({"force_limit_exceeded": true}))).await;
    let (st, v) = upload(&t, &s, &id, "Name\nBlocked\n").await;
    assert_eq!((st, v[0]["errorCode"].as_str()), (403, Some("REQUEST_LIMIT_EXCEEDED")));
    t.admin("DELETE", &format!("/orgs/{}/faults", t.prod_org), None).await;
    t.admin("POST", &format!("/orgs/{}/faults/expire-tokens", t.prod_org), None).await;
    let (st, _, v) = t.call(&s, "GET", &format!("{JOBS}/{id}"), None).await;
    assert_eq!((st, v[0]["errorCode"].as_str()), (401, Some("INVALID_SESSION_ID")));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn jobs_are_listed_a_page_at_a_time() {
    let t = start().await;
    let s = t.login().await;
    let mut ids = vec![];
    for _ in 0..3 { ids.push(create(&t, &s, json!({"object": "Account", "operation": "insert"})).await); }
    let (_, _, all) = t.call(&s, "GET", JOBS, None).await;
    let listed: Vec<&str> = all["records"].as_array().unwrap().iter().map(|j| j["id"].as_str().unwrap()).collect();
    assert_eq!(listed, ids.iter().map(String::as_str).collect::<Vec<_>>(), "oldest first");
    let (_, _, rest) = t.call(&s, "GET", &format!("{JOBS}?queryLocator=1"), None).await;
    assert_eq!(rest["records"].as_array().unwrap().len(), 2);
    assert_eq!(rest["records"][0]["id"], ids[1].as_str());
    let (_, _, none) = t.call(&s, "GET", &format!("{JOBS}?jobType=Classic"), None).await;
    assert_eq!(none["records"], json!([]));
    let (st, _, bad) = t.call(&s, "GET", &format!("{JOBS}?queryLocator=abc"), None).await;
    assert_eq!((st, bad[0]["errorCode"].as_str()), (400, Some("INVALID_QUERY_LOCATOR")));
    // Bulk API 2.0 starts at v41.0.
    let (st, _, _) = t.call(&s, "GET", "/services/data/v40.0/jobs/ingest", None).await;
    assert_eq!(st, 404);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn records_written_by_a_job_are_persisted() {
    let dir = std::env::temp_dir().join(format!("sfemu-bulk2-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.persistence_path = Some(dir.join("state.sqlite"));
    let t = start_with(cfg.clone()).await;
    let s = t.login().await;
    let id = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    upload(&t, &s, &id, "Name\nKept One\nKept Two\n").await;
    close(&t, &s, &id).await;
    assert_eq!(finished(&t, &s, &id).await["numberRecordsProcessed"], 2);
    // No shutdown: the emulator is abandoned, as if killed.
    std::mem::forget(t);
    let t = start_with(cfg).await;
    let s = t.login().await;
    assert_eq!(soql(&t, &s, "SELECT COUNT() FROM Account WHERE Name LIKE 'Kept%'").await["totalSize"], 2);
    t.emu.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_job_aborted_before_processing_leaves_every_row_unprocessed() {
    let t = start().await;
    let s = t.login().await;
    let id = create(&t, &s, json!({"object": "Account", "operation": "insert"})).await;
    upload(&t, &s, &id, "\u{feff}Name,Description\nNever One,x\nNever Two,\"y, z\"\n").await;
    close(&t, &s, &id).await;
    // A byte-order mark is not part of the first column name. With a processing delay,
    // nothing is written before a poll has seen the job InProgress.
    let (st, _, v) = t.call(&s, "PATCH", &format!("{JOBS}/{id}"), Some(json!({"state": "Aborted"}))).await;
    assert_eq!((st, v["state"].as_str()), (200, Some("Aborted")));
    let done = finished(&t, &s, &id).await;
    assert_eq!((done["state"].as_str(), done["numberRecordsProcessed"].as_u64()), (Some("Aborted"), Some(0)));
    assert_eq!(results(&t, &s, &id, "unprocessedrecords").await, "Name,Description\n\"Never One\",\"x\"\n\"Never Two\",\"y, z\"\n");
    assert_eq!(results(&t, &s, &id, "successfulResults").await, "\"sf__Id\",\"sf__Created\",Name,Description\n");
    assert_eq!(soql(&t, &s, "SELECT COUNT() FROM Account WHERE Name LIKE 'Never%'").await["totalSize"], 0);
    assert_eq!(t.call(&s, "DELETE", &format!("{JOBS}/{id}"), None).await.0, 204);
    t.emu.shutdown().await;
}
