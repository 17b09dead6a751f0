//! Persistence in a SQLite file: records and tokens survive a restart, and writes are
//! durable as soon as they are acknowledged (no shutdown needed).
mod common;
use common::*;
use serde_json::{json, Value};

fn temp_db(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("sfemu-sqlite-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir.join("state.sqlite")
}

fn cfg(path: &std::path::Path) -> sfemu::EmulatorConfig {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.persistence_path = Some(path.to_path_buf());
    cfg
}

async fn refresh(t: &T, rt: &str) -> reqwest::Response {
    t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[
        ("grant_type", "refresh_token"), ("client_id", &t.client_id), ("client_secret", &t.client_secret), ("refresh_token", rt),
    ]).send().await.unwrap()
}

/// Web server flow (login, consent) asking for a refresh token, as Insight links an org.
async fn link(t: &T) -> Value {
    let browser = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).cookie_store(true).build().unwrap();
    let redirect = "http://localhost:9/cb";
    let auth = format!("{}/services/oauth2/authorize", t.base);
    let q = serde_urlencoded::to_string([("response_type", "code"), ("client_id", t.client_id.as_str()), ("redirect_uri", redirect), ("scope", "api refresh_token")]).unwrap();
    let consent = browser_login(&browser, &t.base, &format!("{auth}?{q}"), "demo@acme.example", "demo-password-1").await;
    let mut f = form_fields(&consent.text().await.unwrap());
    f.push(("action".into(), "allow".into()));
    let done = browser.post(&auth).form(&f).send().await.unwrap();
    assert_eq!(done.status(), 302);
    let loc = url::Url::parse(done.headers()["location"].to_str().unwrap()).unwrap();
    let code = loc.query_pairs().find(|(k, _)| k == "code").map(|(_, v)| v.into_owned()).expect("code in redirect");
    let r = t.http.post(format!("{}/services/oauth2/token", t.base)).form(&[
        ("grant_type", "authorization_code"), ("code", &code), ("client_id", &t.client_id), ("client_secret", &t.client_secret), ("redirect_uri", redirect),
    ]).send().await.unwrap();
    assert_eq!(r.status(), 200);
    r.json().await.unwrap()
}

#[tokio::test]
async fn records_and_refresh_tokens_survive_restart() {
    let path = temp_db("restart");
    let t = start_with(cfg(&path)).await;
    let linked = link(&t).await;
    let rt = linked["refresh_token"].as_str().expect("refresh token").to_string();
    let s = Session { token: linked["access_token"].as_str().unwrap().into(), instance_url: linked["instance_url"].as_str().unwrap().into(), body: linked.clone() };
    let (st, _, c) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "Kept", "Insight_Id__c": "keep-1"}))).await;
    assert_eq!(st, 201);
    let (st, _, gone) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Deleted later"}))).await;
    assert_eq!(st, 201);
    let recs: Vec<Value> = (0..150).map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("bulk {i}")})).collect();
    let (st, _, b) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"allOrNone": false, "records": recs}))).await;
    assert_eq!((st, b.as_array().unwrap().len()), (200, 150));
    let (st, _, _) = t.call(&s, "PATCH", &format!("/sobjects/Contact/{}", c["id"].as_str().unwrap()), Some(json!({"FirstName": "Still"}))).await;
    assert_eq!(st, 204);
    let (st, _, _) = t.call(&s, "DELETE", &format!("/sobjects/Account/{}", gone["id"].as_str().unwrap()), None).await;
    assert_eq!(st, 204);
    // allOrNone failure: nothing of it may reach the file.
    let (_, _, b) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Account"}, "Name": "rolled back"}, {"attributes": {"type": "Account"}}]}))).await;
    assert_eq!(b[0]["success"], false);
    let saved = t.admin("POST", "/save", None).await;
    assert_eq!(saved["saved"], path.display().to_string());
    t.emu.shutdown().await;

    let t = start_with(cfg(&path)).await;
    // The access token from before the restart still works (on the new port); the refresh token too.
    let s = Session { instance_url: format!("{}/org/{}", t.base, t.prod_org), ..s };
    let (st, _, r) = t.call(&s, "GET", "/sobjects/Contact/Insight_Id__c/keep-1", None).await;
    assert_eq!((st, r["Id"].clone(), r["Name"].clone()), (200, c["id"].clone(), json!("Still Kept")));
    let r = refresh(&t, &rt).await;
    assert_eq!(r.status(), 200, "refresh token kept across restarts");
    let fresh: Value = r.json().await.unwrap();
    let s2 = Session { token: fresh["access_token"].as_str().unwrap().into(), instance_url: fresh["instance_url"].as_str().unwrap().into(), body: fresh };
    let (_, _, q) = t.call(&s2, "GET", "/query?q=SELECT+COUNT()+FROM+Account", None).await;
    assert_eq!(q["totalSize"], 150, "bulk kept, deleted and rolled-back records absent");
    let (_, _, b) = t.call(&s2, "POST", "/sobjects/Contact", Some(json!({"LastName": "Dup", "Insight_Id__c": "keep-1"}))).await;
    assert_eq!(b[0]["errorCode"], "DUPLICATE_VALUE", "indexes rebuilt");
    let (_, _, n) = t.call(&s2, "POST", "/sobjects/Contact", Some(json!({"LastName": "New"}))).await;
    assert_ne!(n["id"], c["id"], "ids continue after the restored ones");
    // Consent is remembered: a second authorize with the session needs no approval page.
    assert!(t.emu.app().approvals.lock().len() == 1);
    // Reset wipes the org in the file too.
    t.admin("POST", &format!("/orgs/{}/reset", t.prod_org), None).await;
    t.emu.shutdown().await;
    let t = start_with(cfg(&path)).await;
    let s3 = t.login().await;
    let (_, _, q) = t.call(&s3, "GET", "/query?q=SELECT+COUNT()+FROM+Contact", None).await;
    assert_eq!(q["totalSize"], 0);
    t.emu.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn acknowledged_writes_survive_without_shutdown() {
    let path = temp_db("kill");
    let t = start_with(cfg(&path)).await;
    let linked = link(&t).await;
    let rt = linked["refresh_token"].as_str().unwrap().to_string();
    let s = t.login().await;
    let (st, _, a) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Acked"}))).await;
    assert_eq!(st, 201);
    let (st, _, _) = t.call(&s, "PATCH", "/sobjects/Contact/Insight_Id__c/up-1", Some(json!({"LastName": "Upserted"}))).await;
    assert_eq!(st, 201);
    let (st, _, _) = t.call(&s, "POST", "/composite", Some(json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "acc", "body": {"Name": "Composite parent"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact", "referenceId": "con", "body": {"LastName": "Child", "AccountId": "@{acc.id}"}},
    ]}))).await;
    assert_eq!(st, 200);
    // Concurrent writers share commits; each must still be stored before its answer.
    let s = std::sync::Arc::new(s);
    let mut tasks = vec![];
    for w in 0..8 {
        let (http, s) = (t.http.clone(), s.clone());
        tasks.push(tokio::spawn(async move {
            for i in 0..25 {
                let r = http.post(format!("{}/services/data/v59.0/sobjects/Lead", s.instance_url)).bearer_auth(&s.token)
                    .json(&json!({"LastName": format!("w{w}-{i}"), "Company": "C"})).send().await.unwrap();
                assert_eq!(r.status(), 201);
            }
            let recs: Vec<Value> = (0..50).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("c{w}-{i}"), "Company": "C"})).collect();
            let r = http.post(format!("{}/services/data/v59.0/composite/sobjects", s.instance_url)).bearer_auth(&s.token)
                .json(&json!({"records": recs})).send().await.unwrap();
            assert_eq!(r.status(), 200);
        }));
    }
    for x in tasks { x.await.unwrap(); }
    // No shutdown, no save: the emulator is simply abandoned (as if killed).
    std::mem::forget(t);
    let t = start_with(cfg(&path)).await;
    assert_eq!(refresh(&t, &rt).await.status(), 200, "refresh token written when issued");
    let s = t.login().await;
    let (st, _, r) = t.call(&s, "GET", &format!("/sobjects/Account/{}", a["id"].as_str().unwrap()), None).await;
    assert_eq!((st, r["Name"].clone()), (200, json!("Acked")));
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+LastName,+Account.Name+FROM+Contact+ORDER+BY+LastName", None).await;
    let names: Vec<&str> = q["records"].as_array().unwrap().iter().map(|r| r["LastName"].as_str().unwrap()).collect();
    assert_eq!(names, ["Child", "Upserted"]);
    assert_eq!(q["records"][0]["Account"]["Name"], "Composite parent");
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+COUNT()+FROM+Lead", None).await;
    assert_eq!(q["totalSize"], 8 * 75);
    t.emu.shutdown().await;
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

/// The `sfemu` binary killed with SIGKILL keeps what it acknowledged.
#[test]
fn sigkill_keeps_acknowledged_writes() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let path = temp_db("sigkill");
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let mut c = sfemu::EmulatorConfig::default_demo();
    c.persistence_path = Some(path.clone());
    let conf = path.with_extension("json-config");
    std::fs::write(&conf, serde_json::to_string(&c).unwrap()).unwrap();
    let start = || {
        let mut child = Command::new(env!("CARGO_BIN_EXE_sfemu")).args(["--json", "--config", conf.to_str().unwrap()])
            .stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
        let mut r = BufReader::new(child.stdout.take().unwrap());
        let mut http = String::new();
        loop {
            let mut l = String::new();
            assert!(r.read_line(&mut l).unwrap() > 0, "sfemu exited");
            let v: Value = serde_json::from_str(&l).unwrap();
            if v["event"] == "listening" { http = v["http_url"].as_str().unwrap().to_string(); }
            if v["event"] == "ready" { break; }
        }
        (child, http)
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let token = |http: &str| {
        let http = http.to_string();
        rt.block_on(async move {
            let v: Value = reqwest::Client::new().post(format!("{http}/services/oauth2/token")).form(&[("grant_type", "password"),
                ("client_id", c.connected_apps[0].client_id.as_str()), ("client_secret", c.connected_apps[0].client_secret.as_str()),
                ("username", "demo@acme.example"), ("password", "demo-password-1")]).send().await.unwrap().json().await.unwrap();
            v["access_token"].as_str().unwrap().to_string()
        })
    };
    let (mut child, http) = start();
    let tok = token(&http);
    let id = rt.block_on(async {
        let v: Value = reqwest::Client::new().post(format!("{http}/services/data/v59.0/sobjects/Account")).bearer_auth(&tok)
            .json(&json!({"Name": "Before SIGKILL"})).send().await.unwrap().json().await.unwrap();
        v["id"].as_str().unwrap().to_string()
    });
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let (mut child, http) = start();
    let got = rt.block_on(async {
        reqwest::Client::new().get(format!("{http}/services/data/v59.0/sobjects/Account/{id}")).bearer_auth(&tok).send().await.unwrap()
            .json::<Value>().await.unwrap()
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(got["Name"], "Before SIGKILL", "{got}");
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

#[tokio::test]
async fn json_snapshot_is_imported_once() {
    let dir = std::env::temp_dir().join(format!("sfemu-sqlite-{}-import", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let json_path = dir.join("old.json");
    let app = sfemu::state::App::new(sfemu::EmulatorConfig::default_demo()).unwrap();
    let org = app.orgs[0].id.clone();
    std::fs::write(&json_path, json!({"orgs": {org.clone(): {"Account": [{"Id": "001000000000001AAA", "Name": "From JSON"}]}}}).to_string()).unwrap();
    let t = start_with(cfg(&json_path)).await;
    let s = t.login().await;
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+Id,+Name+FROM+Account", None).await;
    assert_eq!(q["records"][0]["Name"], "From JSON");
    t.emu.shutdown().await;
    assert!(dir.join("old.sqlite").exists());
    // A non-SQLite file under a database name is refused, not overwritten.
    let bad = dir.join("bad.db");
    std::fs::write(&bad, "{\"orgs\": {}}").unwrap();
    let err = sfemu::Emulator::start(cfg(&bad), "127.0.0.1:0".parse().unwrap(), None).await.err().expect("refused");
    assert!(err.to_string().contains("not a SQLite database"), "{err}");
    let _ = std::fs::remove_dir_all(dir);
}
