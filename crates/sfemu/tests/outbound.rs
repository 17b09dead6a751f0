//! Outbound messages as a listener sees them: when rules fire (record-triggered Flow
//! semantics), batching, retries that keep notification ids, replayed duplicates, and
//! the record browser firing rules when a person closes a Case.

mod common;

use common::*;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

const ACK: &str = r#"<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>true</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#;

/// A listener that answers request n (from 0) with `answer(n)` and keeps every body.
async fn listener(answer: fn(usize) -> (u16, &'static str)) -> (String, Arc<Mutex<Vec<String>>>) {
    let got = Arc::new(Mutex::new(Vec::<String>::new()));
    let g = got.clone();
    let app = axum::Router::new().route("/listener", axum::routing::post(move |body: String| {
        let g = g.clone();
        async move {
            let n = { let mut v = g.lock(); v.push(body); v.len() - 1 };
            let (status, text) = answer(n);
            (axum::http::StatusCode::from_u16(status).unwrap(), [("content-type", "text/xml; charset=utf-8")], text)
        }
    }));
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/listener", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (url, got)
}

fn always_ack(_: usize) -> (u16, &'static str) { (200, ACK) }

async fn fast_emulator() -> T {
    let mut cfg = sfemu::EmulatorConfig::default_demo();
    cfg.time_scale = 0.001; // 15 s first retry -> 15 ms
    start_with(cfg).await
}

/// The notification ids (`<Id>04l…</Id>` directly in `<Notification>`) of an envelope, in order.
fn notification_ids(env: &str) -> Vec<String> {
    env.split("<Notification>").skip(1).map(|n| {
        let start = n.find("<Id>").unwrap() + 4;
        n[start..start + n[start..].find("</Id>").unwrap()].to_string()
    }).collect()
}

/// What arrived once the worker had time for several rounds (it polls every 20 ms and
/// retries after 15 ms here), to check that nothing more was sent.
async fn quiet(got: &Arc<Mutex<Vec<String>>>) -> Vec<String> {
    tokio::time::sleep(Duration::from_millis(400)).await;
    got.lock().clone()
}

async fn outbound(t: &T) -> Value {
    t.admin("GET", &format!("/orgs/{}/outbound", t.prod_org), None).await
}

/// Wait until `got` holds `n` bodies (or fail after 10 s), then a little longer to catch extras.
async fn wait_for(got: &Arc<Mutex<Vec<String>>>, n: usize) -> Vec<String> {
    for _ in 0..500 {
        if got.lock().len() >= n { break; }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    tokio::time::sleep(Duration::from_millis(150)).await;
    got.lock().clone()
}

async fn add_rule(t: &T, rule: Value) -> Value {
    t.admin("POST", &format!("/orgs/{}/outbound/rules", t.prod_org), Some(rule)).await
}

// ------------------------------------------------------------------ when rules fire

#[tokio::test]
async fn closing_a_case_fires_once_and_editing_the_closed_case_does_not() {
    let (url, got) = listener(always_ack).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    let rule = add_rule(&t, json!({"object": "Case", "field": "Status", "value": "Closed", "fields": ["Status", "Subject"], "endpoint_url": url})).await;
    assert_eq!(rule["fire"], "only_when_updated_to_meet", "the default for new rules");
    let (_, _, c) = t.call(&s, "POST", "/sobjects/Case", Some(json!({"Subject": "Printer on fire"}))).await;
    let case = format!("/sobjects/Case/{}", c["id"].as_str().unwrap());
    t.call(&s, "PATCH", &case, Some(json!({"Status": "Working"}))).await;
    assert!(quiet(&got).await.is_empty(), "an open case fires nothing");

    t.call(&s, "PATCH", &case, Some(json!({"Status": "Closed"}))).await;
    let bodies = wait_for(&got, 1).await;
    assert_eq!(bodies.len(), 1);
    assert!(bodies[0].contains("<sf:Status>Closed</sf:Status>"));

    t.call(&s, "PATCH", &case, Some(json!({"Subject": "Printer replaced"}))).await;
    assert_eq!(quiet(&got).await.len(), 1, "editing the already-closed case does not fire");

    // Reopened and closed again: it comes to meet the criterion once more.
    t.call(&s, "PATCH", &case, Some(json!({"Status": "Working"}))).await;
    t.call(&s, "PATCH", &case, Some(json!({"Status": "Closed"}))).await;
    assert_eq!(wait_for(&got, 2).await.len(), 2);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn an_every_time_rule_fires_on_each_save_that_meets_the_criterion() {
    let (url, got) = listener(always_ack).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    add_rule(&t, json!({"object": "Case", "field": "Status", "value": "Closed", "fire": "every_time", "fields": ["Subject"], "endpoint_url": url})).await;
    let (_, _, c) = t.call(&s, "POST", "/sobjects/Case", Some(json!({"Subject": "a", "Status": "Closed"}))).await;
    let case = format!("/sobjects/Case/{}", c["id"].as_str().unwrap());
    wait_for(&got, 1).await;
    t.call(&s, "PATCH", &case, Some(json!({"Subject": "b"}))).await;
    let bodies = wait_for(&got, 2).await;
    assert_eq!(bodies.len(), 2, "created closed, then edited while closed");
    assert!(bodies[1].contains("<sf:Subject>b</sf:Subject>"));
    t.emu.shutdown().await;
}

// ------------------------------------------------------------------ batching and retries

#[tokio::test]
async fn notifications_pending_together_go_out_in_envelopes_of_up_to_a_hundred() {
    let (url, got) = listener(always_ack).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    add_rule(&t, json!({"object": "Contact", "fields": ["LastName"], "endpoint_url": url})).await;
    let records: Vec<Value> = (0..150).map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("Batch {i}")})).collect();
    let (st, _, r) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"allOrNone": true, "records": records}))).await;
    assert_eq!(st, 200, "{r}");
    let bodies = wait_for(&got, 2).await;
    let sizes: Vec<usize> = bodies.iter().map(|b| notification_ids(b).len()).collect();
    assert_eq!(sizes, [100, 50]);
    let mut ids: Vec<String> = bodies.iter().flat_map(|b| notification_ids(b)).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), 150, "one notification id per record");
    assert_eq!(outbound(&t).await["delivered"], 150);
    t.emu.shutdown().await;
}

#[tokio::test]
async fn a_listener_that_does_not_acknowledge_gets_the_same_notification_ids_again() {
    fn answer(n: usize) -> (u16, &'static str) {
        match n {
            0 => (200, r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><notificationsResponse xmlns="http://soap.sforce.com/2005/09/outbound"><Ack>false</Ack></notificationsResponse></soapenv:Body></soapenv:Envelope>"#),
            1 => (200, "<html>OK</html>"),
            2 => (500, r#"<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body><soapenv:Fault><faultcode>soapenv:Server</faultcode><faultstring>busy</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>"#),
            _ => (200, ACK),
        }
    }
    let (url, got) = listener(answer).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    add_rule(&t, json!({"object": "Contact", "fields": ["LastName"], "endpoint_url": url})).await;
    let records: Vec<Value> = (0..3).map(|i| json!({"attributes": {"type": "Contact"}, "LastName": format!("Retry {i}")})).collect();
    t.call(&s, "POST", "/composite/sobjects", Some(json!({"records": records}))).await;
    let bodies = wait_for(&got, 4).await;
    assert_eq!(bodies.len(), 4, "Ack false, a 200 without Ack and a fault are all retried; the Ack ends it");
    let first = notification_ids(&bodies[0]);
    assert_eq!(first.len(), 3);
    for b in &bodies[1..] {
        assert_eq!(notification_ids(b), first, "every retry carries the same notification ids");
    }
    let o = outbound(&t).await;
    assert_eq!(o["delivered"], 3);
    assert!(o["messages"].as_array().unwrap().iter().all(|m| m["attempts"] == 4 && m["delivered_with"].as_array().unwrap().len() == 3));
    t.emu.shutdown().await;
}

// ------------------------------------------------------------------ replay

#[tokio::test]
async fn replaying_a_delivered_message_sends_the_same_envelope_again() {
    let (url, got) = listener(always_ack).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    add_rule(&t, json!({"object": "Contact", "fields": ["LastName", "Email"], "endpoint_url": url, "include_session_id": true})).await;
    t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "Twice", "Email": "twice@example.com"}))).await;
    let first = wait_for(&got, 1).await;
    let id = notification_ids(&first[0]).remove(0);

    let r = t.admin("POST", &format!("/orgs/{}/outbound/messages/{id}/replay", t.prod_org), None).await;
    assert_eq!(r["notification_ids"], json!([id]));
    assert_eq!(r["acknowledged"], true);
    let bodies = got.lock().clone();
    assert_eq!(bodies.len(), 2, "the replay is sent before the admin call answers");
    assert_eq!(bodies[1], bodies[0], "the same envelope, byte for byte (same notification id, fields and session)");
    let m = &outbound(&t).await["messages"][0];
    assert_eq!((m["status"].as_str(), m["replays"].as_u64()), (Some("delivered"), Some(1)));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn only_a_delivered_message_can_be_replayed() {
    fn refuse(_: usize) -> (u16, &'static str) { (503, "down") }
    let (url, got) = listener(refuse).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    add_rule(&t, json!({"object": "Contact", "endpoint_url": url})).await;
    t.call(&s, "POST", "/sobjects/Contact", Some(json!({"LastName": "Pending"}))).await;
    wait_for(&got, 1).await;
    let pending = outbound(&t).await["messages"][0]["id"].as_str().unwrap().to_string();
    let replay = |id: String| {
        let (http, base, org) = (t.http.clone(), t.base.clone(), t.prod_org.clone());
        async move { http.post(format!("{base}/_emulator/orgs/{org}/outbound/messages/{id}/replay")).send().await.unwrap().status().as_u16() }
    };
    assert_eq!(replay(pending).await, 409);
    assert_eq!(replay("04l000000000000AAA".into()).await, 404);
    t.emu.shutdown().await;
}

// ------------------------------------------------------------------ the record browser

/// The fields a browser would submit from an edit form: inputs, selected options, textareas.
fn form_values(html: &str) -> Vec<(String, String)> {
    fn attr(tag: &str, name: &str) -> Option<String> {
        let key = format!("{name}=\"");
        let i = tag.find(&key)? + key.len();
        Some(unescape(&tag[i..i + tag[i..].find('"')?]))
    }
    fn unescape(s: &str) -> String {
        s.replace("&quot;", "\"").replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
    }
    let form = &html[html.find("<form").unwrap()..html.find("</form>").unwrap()];
    let mut out = vec![];
    for part in form.split('<').skip(1) {
        let tag = &part[..part.find('>').unwrap_or(part.len())];
        if tag.starts_with("input ") {
            out.push((attr(tag, "name").unwrap(), attr(tag, "value").unwrap_or_default()));
        } else if tag.starts_with("textarea ") {
            out.push((attr(tag, "name").unwrap(), unescape(&part[part.find('>').unwrap() + 1..])));
        } else if tag.starts_with("select ") {
            out.push((attr(tag, "name").unwrap(), String::new()));
        } else if tag.starts_with("option ") && tag.contains(" selected") {
            out.last_mut().unwrap().1 = attr(tag, "value").unwrap_or_default();
        }
    }
    out
}

#[tokio::test]
async fn closing_a_case_in_the_record_browser_saves_it_and_fires_the_rule() {
    let (url, got) = listener(always_ack).await;
    let t = fast_emulator().await;
    let s = t.login().await;
    add_rule(&t, json!({"object": "Case", "field": "Status", "value": "Closed", "fields": ["Status", "Subject"], "endpoint_url": url})).await;
    let (_, _, c) = t.call(&s, "POST", "/sobjects/Case", Some(json!({"Subject": "Broken <chair> & desk", "Origin": "Web"}))).await;
    let id = c["id"].as_str().unwrap().to_string();
    let page = format!("{}/_emulator/orgs/{}/browser/Case/{id}", t.base, t.prod_org);

    let save = |change: (&'static str, &'static str)| {
        let (http, page) = (t.http.clone(), page.clone());
        async move {
            let html = http.get(&page).send().await.unwrap().text().await.unwrap();
            assert!(html.contains("<select name=\"Status\">"), "Status is a picklist");
            let mut form = form_values(&html);
            form.iter_mut().find(|(k, _)| k == change.0).unwrap().1 = change.1.to_string();
            let r = http.post(&page).form(&form).send().await.unwrap();
            assert_eq!(r.status(), 303, "saved and redirected back to the record");
        }
    };
    save(("Status", "Closed")).await;
    let (_, _, rec) = t.call(&s, "GET", &format!("/sobjects/Case/{id}"), None).await;
    assert_eq!((rec["Status"].as_str(), rec["Subject"].as_str(), rec["Origin"].as_str()), (Some("Closed"), Some("Broken <chair> & desk"), Some("Web")), "other fields survive the form");
    let bodies = wait_for(&got, 1).await;
    assert_eq!(bodies.len(), 1, "closing in the browser fires the rule");
    assert!(bodies[0].contains("<sf:Status>Closed</sf:Status>") && bodies[0].contains("<sf:Subject>Broken &lt;chair&gt; &amp; desk</sf:Subject>"));

    save(("Subject", "Chair replaced")).await;
    assert_eq!(quiet(&got).await.len(), 1, "saving the closed case again does not fire");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn a_case_gets_its_case_number_as_salesforce_numbers_it() {
    let t = fast_emulator().await;
    let s = t.login().await;
    let mut numbers = Vec::new();
    for subject in ["first", "second"] {
        let (_, _, c) = t.call(&s, "POST", "/sobjects/Case", Some(json!({"Subject": subject}))).await;
        let (_, _, got) = t.call(&s, "GET", &format!("/sobjects/Case/{}", c["id"].as_str().unwrap()), None).await;
        numbers.push(got["CaseNumber"].as_str().unwrap_or_else(|| panic!("no CaseNumber: {got}")).to_string());
    }
    assert_eq!(numbers, ["00001001", "00001002"], "auto-numbered in order");
    // Salesforce numbers it: a client cannot set it.
    let (status, _, _) = t.call(&s, "POST", "/sobjects/Case", Some(json!({"Subject": "x", "CaseNumber": "42"}))).await;
    assert_eq!(status, 400);
}
