//! REST wire formats: records, errors, upsert status codes, collections, composite,
//! query pagination, limits, faults.
mod common;
use common::*;
use serde_json::{json, Value};

#[tokio::test]
async fn versions_resources_and_sobject_crud() {
    let t = start().await;
    let s = t.login().await;
    let v: Value = t.http.get(format!("{}/services/data/", t.base)).send().await.unwrap().json().await.unwrap();
    let v59 = v.as_array().unwrap().iter().find(|e| e["version"] == "59.0").unwrap();
    assert_eq!(v59, &json!({"label": "Winter '24", "url": "/services/data/v59.0", "version": "59.0"}));
    let (st, _, res) = t.call(&s, "GET", "", None).await;
    assert_eq!(st, 200);
    assert_eq!(res["sobjects"], "/services/data/v59.0/sobjects");

    let (st, h, created) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Wire Co", "NumberOfEmployees": 12}))).await;
    assert_eq!(st, 201);
    assert!(h["sforce-limit-info"].to_str().unwrap().starts_with("api-usage="));
    assert_eq!(keys(&created), ["errors", "id", "success"].iter().map(|s| s.to_string()).collect());
    let id = created["id"].as_str().unwrap();
    let (st, _, rec) = t.call(&s, "GET", &format!("/sobjects/Account/{id}"), None).await;
    assert_eq!(st, 200);
    assert_eq!(rec.as_object().unwrap().keys().next().unwrap(), "attributes");
    assert_eq!(rec["attributes"], json!({"type": "Account", "url": format!("/services/data/v59.0/sobjects/Account/{id}")}));
    assert_eq!(rec["NumberOfEmployees"], 12);
    assert!(rec["CreatedDate"].as_str().unwrap().ends_with("+0000"));
    // 15-char id works too
    assert_eq!(t.call(&s, "GET", &format!("/sobjects/Account/{}", &id[..15]), None).await.0, 200);
    let (st, _, body) = t.call(&s, "PATCH", &format!("/sobjects/Account/{id}"), Some(json!({"Name": "Wire Co 2"}))).await;
    assert_eq!((st, body), (204, Value::Null));
    let (_, _, rec) = t.call(&s, "GET", &format!("/sobjects/Account/{id}?fields=Name"), None).await;
    assert_eq!(rec["Name"], "Wire Co 2");
    let (_, _, upd) = t.call(&s, "GET", &format!("/sobjects/Account/updated/?start={}&end=2100-01-01T00:00:00%2B00:00", days_ago(29, "%2B00:00")), None).await;
    assert_eq!(upd["ids"], json!([id]));
    assert_eq!(t.call(&s, "DELETE", &format!("/sobjects/Account/{id}"), None).await.0, 204);
    let (_, _, del) = t.call(&s, "GET", &format!("/sobjects/Account/deleted/?start={}&end=2100-01-01T00:00:00Z", days_ago(29, "Z")), None).await;
    assert_eq!(del["deletedRecords"][0]["id"], id);
    let (_, _, agg) = t.call(&s, "GET", "/query?q=SELECT+COUNT(Id)+FROM+Contact", None).await;
    assert_eq!(agg["records"][0], json!({"attributes": {"type": "AggregateResult"}, "expr0": 0}));
    let (st, _, body) = t.call(&s, "GET", &format!("/sobjects/Account/{id}"), None).await;
    assert_eq!(st, 404);
    assert_eq!(body, json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn error_bodies_match_salesforce() {
    let t = start().await;
    let s = t.login().await;
    let e = |code: &str, v: &Value| assert_eq!(v[0]["errorCode"], code, "{v}");
    let (st, _, b) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "x", "Bogus": 1}))).await;
    assert_eq!(st, 400);
    assert_eq!(b, json!([{"message": "No such column 'Bogus' on sobject of type Account", "errorCode": "INVALID_FIELD"}]));
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({"Name": "Deal"}))).await;
    assert_eq!(b, json!([{"message": "Required fields are missing: [StageName, CloseDate]", "errorCode": "REQUIRED_FIELD_MISSING", "fields": ["StageName", "CloseDate"]}]));
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "y".repeat(300)}))).await;
    e("STRING_TOO_LONG", &b);
    assert_eq!(b[0]["fields"], json!(["Name"]));
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "x", "AnnualRevenue": "lots"}))).await;
    e("JSON_PARSER_ERROR", &b);
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "x", "AnnualRevenue": true}))).await;
    e("INVALID_TYPE_ON_FIELD_IN_RECORD", &b);
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Survey_Response__c", Some(json!({"Name": "x", "Status__c": "Nope"}))).await;
    assert_eq!(b, json!([{"message": "Status: bad value for restricted picklist field: Nope", "errorCode": "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "fields": ["Status__c"]}]));
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "x", "CreatedDate": "2020-01-01T00:00:00Z"}))).await;
    e("INVALID_FIELD_FOR_INSERT_UPDATE", &b);
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "x", "AccountId": "001000000000000AAA"}))).await;
    assert_eq!(b, json!([{"message": "invalid cross reference id", "errorCode": "INVALID_CROSS_REFERENCE_KEY", "fields": ["AccountId"]}]));
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "x", "AccountId": "003000000000000AAA"}))).await;
    e("FIELD_INTEGRITY_EXCEPTION", &b);
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "x", "AccountId": "nonsense"}))).await;
    e("MALFORMED_ID", &b);
    let (st, _, b) = t.call(&s, "GET", "/sobjects/Account/003000000000000AAA", None).await;
    assert_eq!(st, 400);
    e("MALFORMED_ID", &b);
    let (st, _, b) = t.call(&s, "GET", "/sobjects/Account/xyz", None).await;
    assert_eq!(st, 404);
    e("NOT_FOUND", &b);
    let (st, _, b) = t.call(&s, "GET", "/sobjects/NoSuchThing__c/describe", None).await;
    assert_eq!(st, 404);
    e("NOT_FOUND", &b);
    let r = t.http.post(format!("{}/services/data/v59.0/sobjects/Account", s.instance_url)).bearer_auth(&s.token).header("content-type", "application/json").body("{bad json").send().await.unwrap();
    assert_eq!(r.status(), 400);
    e("JSON_PARSER_ERROR", &r.json().await.unwrap());
    let (_, _, _) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "A", "Insight_Id__c": "same"}))).await;
    let (_, _, b) = t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "B", "Insight_Id__c": "SAME"}))).await;
    e("DUPLICATE_VALUE", &b);
    assert!(b[0]["message"].as_str().unwrap().starts_with("duplicate value found: Insight_Id__c duplicates value on record with id: 003"));
    let (st, _, b) = t.call(&s, "GET", "/query?q=SELECT+Nope+FROM+Account", None).await;
    assert_eq!(st, 400);
    e("INVALID_FIELD", &b);
    let (_, _, b) = t.call(&s, "GET", "/query?q=SELECT+Id+FROM+Nope", None).await;
    e("INVALID_TYPE", &b);
    let (_, _, b) = t.call(&s, "GET", "/query?q=SELECT+Id+FROMM+Account", None).await;
    e("MALFORMED_QUERY", &b);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn upsert_status_codes() {
    let t = start().await;
    let s = t.login().await;
    let (st, _, b) = t.call(&s, "PATCH", "/sobjects/Contact/Insight_Id__c/u-1", Some(json!({"LastName": "One"}))).await;
    assert_eq!(st, 201);
    assert_eq!(keys(&b), ["created", "errors", "id", "success"].iter().map(|s| s.to_string()).collect());
    assert_eq!(b["created"], true);
    let (st, _, b2) = t.call(&s, "PATCH", "/sobjects/Contact/Insight_Id__c/u-1", Some(json!({"LastName": "Two"}))).await;
    assert_eq!((st, b2["created"].clone(), b2["id"].clone()), (200, json!(false), b["id"].clone()));
    // before API v46.0 an update by upsert answered 204
    let (st, _, _) = t.call(&s, "PATCH", "/services/data/v45.0/sobjects/Contact/Insight_Id__c/u-1", Some(json!({"LastName": "Three"}))).await;
    assert_eq!(st, 204);
    let (st, _, b) = t.call(&s, "PATCH", "/sobjects/Contact/Insight_Id__c/u-missing?updateOnly=true", Some(json!({"LastName": "X"}))).await;
    assert_eq!(st, 404);
    assert_eq!(b[0]["errorCode"], "NOT_FOUND");
    for n in ["a", "b"] { t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": n, "Insight_Id__c": "multi"}))).await; }
    let (st, _, b) = t.call(&s, "PATCH", "/sobjects/Account/Insight_Id__c/multi", Some(json!({"Name": "c"}))).await;
    assert_eq!(st, 300);
    assert_eq!(b.as_array().unwrap().len(), 2);
    let (st, _, b) = t.call(&s, "GET", "/sobjects/Contact/Insight_Id__c/u-1", None).await;
    assert_eq!((st, b["LastName"].clone()), (200, json!("Three")));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn collections_and_composite() {
    let t = start().await;
    let s = t.login().await;
    let recs = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Account"}, "Name": "C1"},
        {"attributes": {"type": "Account"}},
        {"attributes": {"type": "Contact"}, "LastName": "C3"},
    ]});
    let (st, _, b) = t.call(&s, "POST", "/composite/sobjects", Some(recs.clone())).await;
    assert_eq!(st, 200);
    assert_eq!(b[0]["success"], true);
    assert_eq!(b[1], json!({"success": false, "errors": [{"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]}]}));
    assert_eq!(b[2]["success"], true);
    let mut all = recs.clone();
    all["allOrNone"] = json!(true);
    let (_, _, b) = t.call(&s, "POST", "/composite/sobjects", Some(all)).await;
    assert_eq!(b[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+COUNT()+FROM+Account", None).await;
    assert_eq!(q["totalSize"], 1, "the all-or-none batch was rolled back");
    let big = json!({"records": (0..201).map(|i| json!({"attributes": {"type": "Account"}, "Name": format!("n{i}")})).collect::<Vec<_>>()});
    let (st, _, b) = t.call(&s, "POST", "/composite/sobjects", Some(big)).await;
    assert_eq!((st, b[0]["errorCode"].clone()), (400, json!("EXCEEDED_ID_LIMIT")));
    let up = json!({"allOrNone": false, "records": [
        {"attributes": {"type": "Contact"}, "Insight_Id__c": "c-1", "LastName": "A"},
        {"attributes": {"type": "Contact"}, "Insight_Id__c": "c-2", "LastName": "B"},
    ]});
    let (_, _, b) = t.call(&s, "PATCH", "/composite/sobjects/Contact/Insight_Id__c", Some(up.clone())).await;
    assert_eq!((b[0]["created"].clone(), b[1]["created"].clone()), (json!(true), json!(true)));
    let (_, _, b2) = t.call(&s, "PATCH", "/composite/sobjects/Contact/Insight_Id__c", Some(up)).await;
    assert_eq!((b2[0]["created"].clone(), b2[0]["id"].clone()), (json!(false), b[0]["id"].clone()));
    let upd = json!({"records": [{"attributes": {"type": "Contact"}, "id": b[0]["id"], "LastName": "AA"}]});
    let (_, _, b3) = t.call(&s, "PATCH", "/composite/sobjects", Some(upd)).await;
    assert_eq!(b3[0]["success"], true);

    let comp = json!({"allOrNone": true, "compositeRequest": [
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Account", "referenceId": "newAcc", "body": {"Name": "Comp"}},
        {"method": "POST", "url": "/services/data/v59.0/sobjects/Contact", "referenceId": "newCon", "body": {"LastName": "K", "AccountId": "@{newAcc.id}"}},
        {"method": "GET", "url": "/services/data/v59.0/sobjects/Contact/@{newCon.id}", "referenceId": "getCon"},
    ]});
    let (st, _, b) = t.call(&s, "POST", "/composite", Some(comp)).await;
    assert_eq!(st, 200);
    let r = b["compositeResponse"].as_array().unwrap();
    assert_eq!(r.iter().map(|x| x["httpStatusCode"].as_u64().unwrap()).collect::<Vec<_>>(), vec![201, 201, 200]);
    assert_eq!(keys(&r[0]), ["body", "httpHeaders", "httpStatusCode", "referenceId"].iter().map(|s| s.to_string()).collect());
    assert_eq!(r[2]["body"]["AccountId"], r[0]["body"]["id"]);
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+Id,Account.Name+FROM+Contact+WHERE+LastName='K'", None).await;
    assert_eq!(q["records"][0]["Account"]["Name"], "Comp");
    let tree = json!({"records": [{"attributes": {"type": "Account", "referenceId": "acc1"}, "Name": "Tree Co",
        "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "con1"}, "LastName": "Leaf"}]}}]});
    let (st, _, b) = t.call(&s, "POST", "/composite/tree/Account", Some(tree)).await;
    assert_eq!((st, b["hasErrors"].clone(), b["results"][1]["referenceId"].clone()), (201, json!(false), json!("con1")));
    let bad = json!({"records": [{"attributes": {"type": "Account", "referenceId": "acc2"}, "Name": "Tree Bad",
        "Contacts": {"records": [{"attributes": {"type": "Contact", "referenceId": "con2"}}]}}]});
    let (st, _, b) = t.call(&s, "POST", "/composite/tree/Account", Some(bad)).await;
    assert_eq!((st, b["hasErrors"].clone(), b["results"][0]["referenceId"].clone()), (400, json!(true), json!("con2")));
    assert_eq!(b["results"][0]["errors"][0]["statusCode"], "REQUIRED_FIELD_MISSING");
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+COUNT()+FROM+Account+WHERE+Name='Tree Bad'", None).await;
    assert_eq!(q["totalSize"], 0, "tree is all or nothing");
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+Id,LastName+FROM+Contact+WHERE+Account.Name='comp'", None).await;
    assert_eq!((q["totalSize"].clone(), q["records"][0]["LastName"].clone()), (json!(1), json!("K")));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn query_pagination_and_shapes() {
    let t = start().await;
    let s = t.login().await;
    for chunk in 0..3 {
        let recs: Vec<Value> = (0..200).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("L{:04}", chunk * 200 + i), "Company": "Co"})).collect();
        let (_, _, b) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"records": recs}))).await;
        assert!(b.as_array().unwrap().iter().all(|r| r["success"] == true));
    }
    let r = t.http.get(format!("{}/services/data/v59.0/query?q=SELECT+Id,LastName+FROM+Lead+ORDER+BY+LastName+DESC", s.instance_url))
        .bearer_auth(&s.token).header("Sforce-Query-Options", "batchSize=250").send().await.unwrap();
    let p1: Value = r.json().await.unwrap();
    assert_eq!(keys(&p1), ["done", "nextRecordsUrl", "records", "totalSize"].iter().map(|s| s.to_string()).collect());
    assert_eq!((p1["totalSize"].clone(), p1["done"].clone(), p1["records"].as_array().unwrap().len()), (json!(600), json!(false), 250));
    assert_eq!(p1["records"][0]["LastName"], "L0599");
    let next = p1["nextRecordsUrl"].as_str().unwrap();
    assert!(next.starts_with("/services/data/v59.0/query/01g") && next.ends_with("-250"), "{next}");
    let (_, _, p2) = t.call(&s, "GET", next, None).await;
    let (_, _, p3) = t.call(&s, "GET", p2["nextRecordsUrl"].as_str().unwrap(), None).await;
    assert_eq!((p3["done"].clone(), p3["records"].as_array().unwrap().len()), (json!(true), 100));
    assert!(p3.get("nextRecordsUrl").is_none());
    let (_, _, d) = t.call(&s, "GET", "/query?q=SELECT+Id+FROM+Lead", None).await;
    assert_eq!((d["done"].clone(), d["records"].as_array().unwrap().len()), (json!(true), 600), "default batch is 2000");
    let (_, _, o) = t.call(&s, "GET", "/query?q=SELECT+Id,+IsSandbox,+Name+FROM+Organization", None).await;
    assert_eq!(o["records"][0]["Name"], "Acme Production");
    assert_eq!(o["records"][0]["IsSandbox"], false);
    let (_, _, u) = t.call(&s, "GET", "/query?q=SELECT+Id,Username,Email+FROM+User+WHERE+Username+LIKE+'demo%25'", None).await;
    assert_eq!(u["totalSize"], 1);
    let (_, _, w) = t.call(&s, "GET", "/query?q=SELECT+Id+FROM+Lead+WHERE+(LastName+%3D+'L0001'+OR+LastName+IN+('L0002','L0003'))+AND+Company+!%3D+'x'+LIMIT+2", None).await;
    assert_eq!(w["totalSize"], 2);
    let (_, _, a) = t.call(&s, "GET", "/query?q=SELECT+COUNT()+FROM+Lead+WHERE+CreatedDate+>+2000-01-01T00:00:00Z", None).await;
    assert_eq!(a["totalSize"], 600);
    let (_, _, z) = t.call(&s, "GET", "/query?q=SELECT+COUNT()+FROM+Lead+WHERE+CreatedDate+<+2000-01-01T00:00:00Z", None).await;
    assert_eq!(z["totalSize"], 0);
    let (_, _, off) = t.call(&s, "GET", "/query?q=SELECT+LastName+FROM+Lead+ORDER+BY+LastName+LIMIT+3+OFFSET+10", None).await;
    assert_eq!(off["records"].as_array().unwrap().iter().map(|r| r["LastName"].as_str().unwrap()).collect::<Vec<_>>(), vec!["L0010", "L0011", "L0012"]);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn limits_usage_and_request_limit_exceeded() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.orgs[0].api_daily_limit = Some(5);
    let t = start_with(cfg).await;
    let s = t.login().await;
    let (st, h, l) = t.call(&s, "GET", "/limits", None).await;
    assert_eq!(st, 200);
    assert_eq!(h["sforce-limit-info"], "api-usage=1/5");
    assert_eq!(l["DailyApiRequests"], json!({"Max": 5, "Remaining": 4}));
    for _ in 0..4 { t.call(&s, "GET", "/sobjects", None).await; }
    let (st, h, b) = t.call(&s, "GET", "/sobjects", None).await;
    assert_eq!(st, 403);
    assert_eq!(h["sforce-limit-info"], "api-usage=5/5");
    assert_eq!(b, json!([{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}]));
    let u = t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await;
    assert_eq!((u["used"].clone(), u["max"].clone()), (json!(5), json!(5)));
    t.admin("POST", &format!("/orgs/{}/usage/reset", t.prod_org), None).await;
    // admin record access does not count as API calls
    let c = t.admin("POST", &format!("/orgs/{}/records/Account", t.prod_org), Some(json!({"Name": "Seed"}))).await;
    assert_eq!(c["success"], true);
    let l = t.admin("GET", &format!("/orgs/{}/records/Account", t.prod_org), None).await;
    assert_eq!((l["totalSize"].clone(), l["records"][0]["Name"].clone()), (json!(1), json!("Seed")));
    let bad = t.admin("POST", &format!("/orgs/{}/records/Account", t.prod_org), Some(json!({}))).await;
    assert_eq!(bad[0]["errorCode"], "REQUIRED_FIELD_MISSING");
    assert_eq!(t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await["used"], 0);
    // the sandbox org has its own budget
    let sb = t.sandbox_login().await;
    let (_, h, _) = t.call(&sb, "GET", "/sobjects", None).await;
    assert_eq!(h["sforce-limit-info"], "api-usage=1/100000");
    // a composite request counts once
    t.call(&s, "POST", "/composite", Some(json!({"compositeRequest": [
        {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "a"},
        {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "b"}]}))).await;
    assert_eq!(t.admin("GET", &format!("/orgs/{}/usage", t.prod_org), None).await["used"], 1);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn fault_injection() {
    let t = start().await;
    let s = t.login().await;
    let f = format!("/orgs/{}/faults", t.prod_org);
    t.admin("PUT", &f, Some(json!({"error_rate": 1.0}))).await;
    let (st, _, b) = t.call(&s, "GET", "/limits", None).await;
    assert_eq!((st, b[0]["errorCode"].clone()), (503, json!("SERVER_UNAVAILABLE")));
    t.admin("PUT", &f, Some(json!({"force_limit_exceeded": true}))).await;
    assert_eq!(t.call(&s, "GET", "/limits", None).await.0, 403);
    t.admin("PUT", &f, Some(json!({"drop_rate": 1.0}))).await;
    let r = t.http.get(format!("{}/services/data/v59.0/limits", s.instance_url)).bearer_auth(&s.token).send().await;
    let failed = match r { Err(_) => true, Ok(resp) => resp.bytes().await.is_err() };
    assert!(failed, "connection should be dropped");
    // Raw socket: not a single response byte before the connection is cut.
    {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let host = t.base.trim_start_matches("http://").to_string();
        let mut sock = tokio::net::TcpStream::connect(&host).await.unwrap();
        sock.write_all(format!("GET /services/data/v59.0/limits HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {}\r\n\r\n", s.token).as_bytes()).await.unwrap();
        let mut buf = vec![];
        let r = tokio::time::timeout(std::time::Duration::from_secs(5), sock.read_to_end(&mut buf)).await.expect("connection closed");
        assert!(buf.is_empty(), "no response bytes expected, got {:?}", String::from_utf8_lossy(&buf));
        assert!(matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset) || r.is_ok(), "{r:?}");
        assert!(r.is_err(), "expected a connection reset, got a clean close");
    }
    t.admin("PUT", &f, Some(json!({"latency_ms": 150}))).await;
    let start = std::time::Instant::now();
    assert_eq!(t.call(&s, "GET", "/limits", None).await.0, 200);
    assert!(start.elapsed().as_millis() >= 150);
    t.admin("DELETE", &f, None).await;
    // revoke all refresh tokens
    let n = t.admin("POST", &format!("/orgs/{}/faults/revoke-refresh-tokens", t.prod_org), None).await;
    assert!(n["revoked"].is_u64());
    t.emu.shutdown().await;
}

#[tokio::test]
async fn https_listener_serves_with_generated_ca() {
    let emu = sfemu::Emulator::start(sfemu::EmulatorConfig::default_demo(), "127.0.0.1:0".parse().unwrap(), Some("127.0.0.1:0".parse().unwrap())).await.unwrap();
    let pem = std::fs::read(emu.ca_pem_path().unwrap()).unwrap();
    let client = reqwest::Client::builder().add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap()).build().unwrap();
    for host in [emu.https_url().unwrap(), emu.https_url().unwrap().replace("127.0.0.1", "localhost")] {
        let v: Value = client.get(format!("{host}/services/data")).send().await.unwrap().json().await.unwrap();
        assert!(v.as_array().unwrap().len() > 10);
    }
    assert!(emu.production_login_url().starts_with("https://"));
    assert!(emu.sandbox_login_url().ends_with("/sandbox"));
    emu.shutdown().await;
}

#[tokio::test]
async fn record_browser_create_and_edit() {
    let t = start().await;
    let b = format!("{}/_emulator/orgs/{}/browser", t.base, t.prod_org);
    let r = t.http.get(&b).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("Survey Responses"));
    let r = t.http.post(format!("{b}/Account")).form(&[("Name", "Browser Co"), ("Rating", "Warm")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let loc = r.headers()["location"].to_str().unwrap().to_string();
    let r = t.http.post(format!("{}{loc}", t.base)).form(&[("Name", "Browser Co 2"), ("Rating", "Hot")]).send().await.unwrap();
    assert_eq!(r.status(), 303);
    let page = t.http.get(format!("{b}/Account")).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("Browser Co 2"));
    let bad = t.http.post(format!("{b}/Account")).form(&[("Rating", "Hot")]).send().await.unwrap().text().await.unwrap();
    assert!(bad.contains("REQUIRED_FIELD_MISSING"));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn retired_versions_answer_gone_and_versions_that_do_not_exist_not_found() {
    let t = start().await;
    let s = t.login().await;
    for v in ["v30.0", "v21.0", "v20.0", "v7.0"] {
        let (st, _, body) = t.call(&s, "GET", &format!("/services/data/{v}/sobjects/Account"), None).await;
        assert_eq!(st, 410, "{v}");
        assert_eq!(body[0]["errorCode"], "GONE");
        assert_eq!(body.as_array().unwrap().len(), 1);
    }
    for v in ["v69.0", "v99.0", "v59.5", "v59", "v6.0", "latest"] {
        let (st, _, body) = t.call(&s, "GET", &format!("/services/data/{v}/limits"), None).await;
        assert_eq!((st, body), (404, json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}])), "{v}");
    }
    for v in ["v31.0", "v68.0"] {
        assert_eq!(t.call(&s, "GET", &format!("/services/data/{v}/limits"), None).await.0, 200, "{v}");
    }
    // A retired version refuses writes too, and a composite subrequest naming one fails alone.
    let (st, _, _) = t.call(&s, "POST", "/services/data/v30.0/sobjects/Account", Some(json!({"Name": "Old Co"}))).await;
    assert_eq!(st, 410);
    let (st, _, body) = t.call(&s, "POST", "/composite", Some(json!({"compositeRequest": [
        {"method": "GET", "url": "/services/data/v30.0/limits", "referenceId": "old"},
        {"method": "GET", "url": "/services/data/v59.0/limits", "referenceId": "current"},
    ]}))).await;
    assert_eq!(st, 200);
    assert_eq!(body["compositeResponse"][0]["httpStatusCode"], 410);
    assert_eq!(body["compositeResponse"][1]["httpStatusCode"], 200);
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+COUNT()+FROM+Account+WHERE+Name+=+'Old+Co'", None).await;
    assert_eq!(q["totalSize"], 0, "nothing was created through v30.0");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn versions_list_is_exactly_what_is_served_and_each_resource_listed_exists() {
    let t = start().await;
    let s = t.login().await;
    let listed: Value = t.http.get(format!("{}/services/data", t.base)).send().await.unwrap().json().await.unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 68 - 31 + 1);
    assert_eq!(listed[0], json!({"label": "Summer '14", "url": "/services/data/v31.0", "version": "31.0"}));
    assert_eq!(listed.last().unwrap(), &json!({"label": "Winter '27", "url": "/services/data/v68.0", "version": "68.0"}));
    // The org's instance URL lists the same; an instance URL of no org does not exist.
    let at_instance: Value = t.http.get(format!("{}/services/data/", s.instance_url)).send().await.unwrap().json().await.unwrap();
    assert_eq!(at_instance.as_array().unwrap(), listed);
    let r = t.http.get(format!("{}/org/00D000000000001AAA/services/data", t.base)).send().await.unwrap();
    assert_eq!(r.status(), 404);

    for v in listed {
        let (st, _, res) = t.call(&s, "GET", v["url"].as_str().unwrap(), None).await;
        assert_eq!(st, 200, "{v}");
        assert_eq!(keys(&res), ["composite", "identity", "limits", "query", "queryAll", "sobjects"].iter().map(|k| k.to_string()).collect(), "{v}");
        assert_eq!(res["sobjects"], format!("{}/sobjects", v["url"].as_str().unwrap()));
    }
    // Every resource the current version advertises answers (query without q is the documented 400).
    let (_, _, res) = t.call(&s, "GET", "/services/data/v68.0", None).await;
    for (name, url) in res.as_object().unwrap() {
        let url = url.as_str().unwrap();
        let r = t.http.get(if url.starts_with("http") { url.to_string() } else { format!("{}{url}", s.instance_url) }).bearer_auth(&s.token).send().await.unwrap();
        let st = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        match name.as_str() {
            "query" | "queryAll" => assert_eq!((st, body[0]["errorCode"].clone()), (400, json!("MALFORMED_QUERY")), "{name}"),
            _ => assert_eq!(st, 200, "{name}: {body}"),
        }
    }
    t.emu.shutdown().await;
}

#[tokio::test]
async fn the_next_version_is_served_only_when_configured() {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.next_api_version = Some(sfemu::versions::ApiVersion::new(69));
    let t = start_with(cfg).await;
    let s = t.login().await;
    let listed: Value = t.http.get(format!("{}/services/data", t.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().last().unwrap(), &json!({"label": "Spring '27", "url": "/services/data/v69.0", "version": "69.0"}));
    assert_eq!(t.call(&s, "GET", "/services/data/v69.0/limits", None).await.0, 200);
    assert_eq!(t.call(&s, "GET", "/services/data/v70.0/limits", None).await.0, 404);
    t.emu.shutdown().await;

    // Only the release after v68.0 can be the next one; the config says why it is refused.
    let demo = include_str!("../data/demo_config.toml");
    let err = sfemu::EmulatorConfig::from_str_auto(&format!("next_api_version = \"70.0\"\n{demo}")).unwrap_err().to_string();
    assert!(err.contains("only next version is 69.0"), "{err}");
    let err = sfemu::EmulatorConfig::from_str_auto(&format!("next_api_version = \"seventy\"\n{demo}")).unwrap_err().to_string();
    assert!(err.contains("not a Salesforce API version"), "{err}");
    let ok = sfemu::EmulatorConfig::from_str_auto(&format!("next_api_version = \"69.0\"\n{demo}")).unwrap();
    assert_eq!(ok.next_api_version, Some(sfemu::versions::ApiVersion::new(69)));
}

/// Salesforce's "Get Records With a Request Body Using sObject Collections": POST
/// `/composite/sobjects/{T}` with `{"ids": [...], "fields": [...]}`, one entry per id in order,
/// `null` for an id that is not a live record; an unknown field is a 400.
#[tokio::test]
async fn collections_retrieve_with_a_request_body() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, made) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"records": [
        {"attributes": {"type": "Account"}, "Name": "Body One"}, {"attributes": {"type": "Account"}, "Name": "Body Two"}]}))).await;
    let (a, b) = (made[0]["id"].as_str().unwrap().to_string(), made[1]["id"].as_str().unwrap().to_string());
    assert_eq!(t.call(&s, "DELETE", &format!("/sobjects/Account/{b}"), None).await.0, 204);
    let (st, _, got) = t.call(&s, "POST", "/composite/sobjects/Account", Some(json!({"ids": [b, a, "001000000000000AAA"], "fields": ["Id", "Name"]}))).await;
    assert_eq!(st, 200, "{got}");
    assert_eq!(got.as_array().unwrap().len(), 3);
    assert_eq!(got[0], Value::Null, "a deleted record");
    assert_eq!(got[1]["Name"], "Body One");
    assert_eq!(got[1]["attributes"]["type"], "Account");
    assert_eq!(got[2], Value::Null);
    let (st, _, e) = t.call(&s, "POST", "/composite/sobjects/Account", Some(json!({"ids": [a], "fields": ["Id", "Bogus__c"]}))).await;
    assert_eq!(st, 400);
    assert_eq!(e[0]["errorCode"], "INVALID_FIELD");
    t.emu.shutdown().await;
}

/// UpsertResult objects of a failed allOrNone upsert still say what each record would have
/// been: `created` (its external id matched nothing) and `id` (the matched record, else null).
#[tokio::test]
async fn collections_upsert_failures_carry_created_and_id() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, one) = t.call(&s, "PATCH", "/composite/sobjects/Contact/Insight_Id__c", Some(json!({"records": [
        {"attributes": {"type": "Contact"}, "LastName": "Existing", "Insight_Id__c": "up-1"}]}))).await;
    let existing = one[0]["id"].as_str().unwrap().to_string();
    let (st, _, res) = t.call(&s, "PATCH", "/composite/sobjects/Contact/Insight_Id__c", Some(json!({"allOrNone": true, "records": [
        {"attributes": {"type": "Contact"}, "LastName": "Again", "Insight_Id__c": "up-1"},
        {"attributes": {"type": "Contact"}, "LastName": "New", "Insight_Id__c": "up-2"},
        {"attributes": {"type": "Contact"}, "LastName": "Bad", "Insight_Id__c": "up-3", "OwnerId": "INVALID_OWNER"}]}))).await;
    assert_eq!(st, 200);
    assert_eq!(res[0]["created"], false);
    assert_eq!(res[0]["id"], existing.as_str());
    assert_eq!(res[0]["errors"][0]["statusCode"], "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_eq!(res[1]["created"], true);
    assert_eq!(res[1]["id"], Value::Null);
    assert_eq!(res[2]["created"], true);
    assert_eq!(res[2]["success"], false);
    assert_eq!(res[2]["errors"][0]["statusCode"], "MALFORMED_ID", "{res}");
    // Without allOrNone the bad record alone fails, and still says created.
    let (_, _, res) = t.call(&s, "PATCH", "/composite/sobjects/Contact/Insight_Id__c", Some(json!({"records": [
        {"attributes": {"type": "Contact"}, "LastName": "Bad", "Insight_Id__c": "up-4", "OwnerId": "INVALID_OWNER"}]}))).await;
    assert_eq!((res[0]["success"].clone(), res[0]["created"].clone(), res[0]["id"].clone()), (json!(false), json!(true), Value::Null));
    t.emu.shutdown().await;
}

/// `YYYY-MM-DDThh:mm:ss` `n` days before now (UTC), with the given zone suffix.
fn days_ago(n: i64, zone: &str) -> String {
    let t = time::OffsetDateTime::now_utc() - time::Duration::days(n);
    format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{zone}", t.year(), t.month() as u8, t.day(), t.hour(), t.minute(), t.second())
}

/// Salesforce's replication rules on `updated` / `deleted`: the start must precede the end,
/// and the start may be at most 30 days back; otherwise 400 INVALID_REPLICATION_DATE.
#[tokio::test]
async fn updated_and_deleted_check_their_range() {
    let t = start().await;
    let s = t.login().await;
    for feed in ["updated", "deleted"] {
        let (a, b) = (days_ago(1, "Z"), days_ago(2, "Z"));
        for (start, end) in [(a.clone(), b.clone()), (a.clone(), a.clone()), (days_ago(31, "Z"), a.clone())] {
            let (st, _, e) = t.call(&s, "GET", &format!("/sobjects/Account/{feed}/?start={start}&end={end}"), None).await;
            assert_eq!(st, 400, "{feed} {start}..{end}: {e}");
            assert_eq!(e[0]["errorCode"], "INVALID_REPLICATION_DATE");
        }
        let (st, _, ok) = t.call(&s, "GET", &format!("/sobjects/Account/{feed}/?start={b}&end={a}"), None).await;
        assert_eq!(st, 200, "{ok}");
    }
    t.emu.shutdown().await;
}

/// "The API ignores the seconds portion of the specified dateTime value": a record changed
/// at 12:35:40 is inside 12:35:59..later (read as 12:35..later); latestDateCovered is the end
/// without its seconds, or the current minute when the end lies in the future.
#[tokio::test]
async fn replication_feeds_ignore_seconds_and_cover_no_later_than_now() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, made) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Replicated"}))).await;
    let id = made["id"].as_str().unwrap();
    let (_, _, rec) = t.call(&s, "GET", &format!("/sobjects/Account/{id}?fields=SystemModstamp"), None).await;
    let minute = rec["SystemModstamp"].as_str().unwrap()[..16].to_string();
    let before = format!("{}:00.000+0000", &days_ago(0, "Z")[..16]);
    let (st, _, upd) = t.call(&s, "GET", &format!("/sobjects/Account/updated/?start={minute}:59Z&end=2100-01-01T00:00:30Z"), None).await;
    let after = format!("{}:00.000+0000", &days_ago(0, "Z")[..16]);
    assert_eq!(st, 200, "{upd}");
    assert_eq!(upd["ids"], json!([id]), "the start's seconds are ignored");
    let covered = upd["latestDateCovered"].as_str().unwrap();
    assert!(covered == before || covered == after, "{covered}: the current minute, not the future end");
    let (start, end) = (days_ago(2, "Z"), days_ago(1, "Z"));
    for feed in ["updated", "deleted"] {
        let (_, _, past) = t.call(&s, "GET", &format!("/sobjects/Account/{feed}/?start={start}&end={end}"), None).await;
        assert_eq!(past["latestDateCovered"], format!("{}:00.000+0000", &end[..16]).as_str(), "{feed}: a past end loses only its seconds");
    }
    t.emu.shutdown().await;
}

/// Updating a deleted record (in the recycle bin) is 404 ENTITY_IS_DELETED, not NOT_FOUND.
#[tokio::test]
async fn updating_a_deleted_record_is_entity_is_deleted() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, made) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Gone Soon"}))).await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(t.call(&s, "DELETE", &format!("/sobjects/Account/{id}"), None).await.0, 204);
    let (st, _, e) = t.call(&s, "PATCH", &format!("/sobjects/Account/{id}"), Some(json!({"Name": "Back?"}))).await;
    assert_eq!(st, 404);
    assert_eq!(e, json!([{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]));
    let (st, _, e) = t.call(&s, "PATCH", "/sobjects/Account/001000000000000AAA", Some(json!({"Name": "Never was"}))).await;
    assert_eq!((st, e[0]["errorCode"].clone()), (404, json!("NOT_FOUND")));
    t.emu.shutdown().await;
}

/// A path under an sObject that does not exist answers Salesforce's 404 NOT_FOUND "The
/// requested resource does not exist" — not an external-id lookup on a field named
/// `describe`, nor a 405.
#[tokio::test]
async fn unknown_sobject_sub_paths_are_not_found() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, made) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Paths"}))).await;
    let id = made["id"].as_str().unwrap().to_string();
    let not_found = json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]);
    for p in ["/sobjects/Account/describe/layouts".to_string(), "/sobjects/Account/describe/foo".into(), "/sobjects/Account/updated/x".into(),
              "/sobjects/Account/listviews/recent".into(), format!("/sobjects/Account/{id}/Contacts"), "/sobjects/Account/a/b/c".into()] {
        let (st, _, body) = t.call(&s, "GET", &p, None).await;
        assert_eq!((st, body), (404, not_found.clone()), "{p}");
    }
    // An unknown external id field keeps Salesforce's own message for that case.
    let (st, _, body) = t.call(&s, "GET", "/sobjects/Account/Bogus__c/x", None).await;
    assert_eq!(st, 404);
    assert_eq!(body[0]["message"], "Provided external ID field does not exist or is not accessible: Bogus__c");
    t.emu.shutdown().await;
}

/// Resources under a served version that the emulator does not answer — whole API families
/// (Tooling, SOSL, Apex-style paths), composite forms it lacks, or nonsense — are Salesforce's
/// 404 NOT_FOUND "The requested resource does not exist", whatever the method.
#[tokio::test]
async fn unknown_resources_under_a_version_are_not_found() {
    let t = start().await;
    let s = t.login().await;
    let not_found = json!([{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}]);
    for (method, p) in [("GET", "/tooling/query?q=SELECT+Id+FROM+ApexClass"), ("GET", "/search?q=FIND+%7Bacme%7D"), ("POST", "/composite/batch"),
                        ("POST", "/composite/graph"), ("GET", "/jobs/query"), ("GET", "/recent"), ("GET", "/no/such/thing"), ("DELETE", "/wave")] {
        let (st, _, body) = t.call(&s, method, p, if method == "POST" { Some(json!({})) } else { None }).await;
        assert_eq!((st, body), (404, not_found.clone()), "{method} {p}");
    }
    t.emu.shutdown().await;
}

/// Insight's own client speaks v62.0 (`salesforce::ApiVersion::DEFAULT`): it must stay served.
#[tokio::test]
async fn the_version_insight_uses_is_served() {
    let t = start().await;
    let s = t.login().await;
    let (st, _, res) = t.call(&s, "GET", "/services/data/v62.0", None).await;
    assert_eq!(st, 200);
    assert_eq!(res["sobjects"], "/services/data/v62.0/sobjects");
    assert_eq!(t.call(&s, "GET", "/services/data/v62.0/query?q=SELECT+Id+FROM+Account", None).await.0, 200);
    t.emu.shutdown().await;
}
