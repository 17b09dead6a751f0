//! An Opportunity's stage decides IsClosed, IsWon, Probability and its forecast category on
//! every kind of write, as in a Salesforce org with the standard stages.
mod common;
use common::*;
use serde_json::{json, Value};

async fn opportunity(t: &T, s: &Session, id: &str) -> Value {
    let (st, _, r) = t.call(s, "GET", &format!("/sobjects/Opportunity/{id}"), None).await;
    assert_eq!(st, 200, "{r}");
    r
}

fn derived(r: &Value) -> Value {
    json!([r["StageName"], r["IsClosed"], r["IsWon"], r["Probability"], r["ForecastCategory"], r["ForecastCategoryName"]])
}

#[tokio::test]
async fn the_stage_sets_closed_won_probability_and_forecast_category() {
    let t = start().await;
    let s = t.login().await;
    let (st, _, made) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({
        "Name": "Big Deal", "StageName": "Prospecting", "CloseDate": "2026-11-30", "Amount": 2000}))).await;
    assert_eq!(st, 201, "{made}");
    let id = made["id"].as_str().unwrap().to_string();
    let r = opportunity(&t, &s, &id).await;
    assert_eq!(derived(&r), json!(["Prospecting", false, false, 10.0, "Pipeline", "Pipeline"]));
    assert_eq!((r["ExpectedRevenue"].clone(), r["FiscalYear"].clone(), r["FiscalQuarter"].clone()), (json!(200.0), json!(2026), json!(4)));

    assert_eq!(t.call(&s, "PATCH", &format!("/sobjects/Opportunity/{id}"), Some(json!({"StageName": "Closed Won"}))).await.0, 204);
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Closed Won", true, true, 100.0, "Closed", "Closed"]));

    assert_eq!(t.call(&s, "PATCH", &format!("/sobjects/Opportunity/{id}"), Some(json!({"StageName": "Closed Lost"}))).await.0, 204);
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Closed Lost", true, false, 0.0, "Omitted", "Omitted"]));

    // SOQL sees the derived values.
    let (_, _, q) = t.call(&s, "GET", "/query?q=SELECT+Id+FROM+Opportunity+WHERE+IsClosed+=+true+AND+IsWon+=+false", None).await;
    assert_eq!(q["records"][0]["Id"], id.as_str(), "{q}");
    t.emu.shutdown().await;
}

/// Probability and ForecastCategoryName given with the stage override the stage's defaults;
/// an update that leaves the stage alone leaves them alone too.
#[tokio::test]
async fn probability_given_with_the_stage_overrides_the_stages_default() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, made) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({
        "Name": "Hopeful", "StageName": "Qualification", "CloseDate": "2026-12-15", "Probability": 40, "ForecastCategoryName": "Best Case"}))).await;
    let id = made["id"].as_str().unwrap().to_string();
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Qualification", false, false, 40.0, "BestCase", "Best Case"]));
    assert_eq!(t.call(&s, "PATCH", &format!("/sobjects/Opportunity/{id}"), Some(json!({"Name": "Still hopeful"}))).await.0, 204);
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Qualification", false, false, 40.0, "BestCase", "Best Case"]));
    assert_eq!(t.call(&s, "PATCH", &format!("/sobjects/Opportunity/{id}"), Some(json!({"StageName": "Negotiation/Review", "ForecastCategoryName": "Commit"}))).await.0, 204);
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Negotiation/Review", false, false, 90.0, "Forecast", "Commit"]));
    t.emu.shutdown().await;
}

/// IsClosed and IsWon are not createable or updateable (describe says so), so naming them is
/// Salesforce's INVALID_FIELD_FOR_INSERT_UPDATE, in REST and in sObject Collections alike.
#[tokio::test]
async fn is_closed_and_is_won_cannot_be_written() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, d) = t.call(&s, "GET", "/sobjects/Opportunity/describe", None).await;
    for name in ["IsClosed", "IsWon", "ForecastCategory"] {
        let f = d["fields"].as_array().unwrap().iter().find(|f| f["name"] == name).unwrap();
        assert_eq!((f["createable"].clone(), f["updateable"].clone()), (json!(false), json!(false)), "{name}");
    }
    let (st, _, e) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({
        "Name": "Cheat", "StageName": "Prospecting", "CloseDate": "2026-11-30", "IsWon": true}))).await;
    assert_eq!(st, 400);
    assert_eq!(e, json!([{"message": "Unable to create/update fields: IsWon. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
        "errorCode": "INVALID_FIELD_FOR_INSERT_UPDATE", "fields": ["IsWon"]}]));
    let (_, _, made) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({"Name": "Honest", "StageName": "Prospecting", "CloseDate": "2026-11-30"}))).await;
    let id = made["id"].as_str().unwrap().to_string();
    let (st, _, e) = t.call(&s, "PATCH", &format!("/sobjects/Opportunity/{id}"), Some(json!({"IsClosed": true}))).await;
    assert_eq!((st, e[0]["errorCode"].clone(), e[0]["fields"].clone()), (400, json!("INVALID_FIELD_FOR_INSERT_UPDATE"), json!(["IsClosed"])));
    let (st, _, res) = t.call(&s, "PATCH", "/composite/sobjects", Some(json!({"records": [
        {"attributes": {"type": "Opportunity"}, "Id": id, "IsClosed": true}]}))).await;
    assert_eq!(st, 200);
    assert_eq!(res[0]["errors"][0]["statusCode"], "INVALID_FIELD_FOR_INSERT_UPDATE", "{res}");
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Prospecting", false, false, 10.0, "Pipeline", "Pipeline"]));
    t.emu.shutdown().await;
}

/// Collections and composite write through the same rule.
#[tokio::test]
async fn collections_and_composite_derive_the_same_fields() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, res) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"records": [
        {"attributes": {"type": "Opportunity"}, "Name": "C1", "StageName": "Id. Decision Makers", "CloseDate": "2026-10-01"},
        {"attributes": {"type": "Opportunity"}, "Name": "C2", "StageName": "Closed Won", "CloseDate": "2026-10-01"}]}))).await;
    let a = opportunity(&t, &s, res[0]["id"].as_str().unwrap()).await;
    let b = opportunity(&t, &s, res[1]["id"].as_str().unwrap()).await;
    assert_eq!(derived(&a), json!(["Id. Decision Makers", false, false, 60.0, "Pipeline", "Pipeline"]));
    assert_eq!(derived(&b), json!(["Closed Won", true, true, 100.0, "Closed", "Closed"]));
    let (_, _, c) = t.call(&s, "POST", "/composite", Some(json!({"compositeRequest": [
        {"method": "PATCH", "url": format!("/services/data/v62.0/sobjects/Opportunity/{}", a["Id"].as_str().unwrap()), "referenceId": "move", "body": {"StageName": "Perception Analysis"}}]}))).await;
    assert_eq!(c["compositeResponse"][0]["httpStatusCode"], 204, "{c}");
    assert_eq!(opportunity(&t, &s, a["Id"].as_str().unwrap()).await["Probability"], json!(70.0));
    t.emu.shutdown().await;
}

/// The record browser's edit form posts every field; a new stage chosen there still sets
/// the stage's Probability, since only the fields the user changed are written.
#[tokio::test]
async fn a_stage_changed_in_the_record_browser_sets_its_probability() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, made) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({"Name": "Browsed", "StageName": "Prospecting", "CloseDate": "2026-11-30"}))).await;
    let id = made["id"].as_str().unwrap().to_string();
    let edit = format!("{}/_emulator/orgs/{}/browser/Opportunity/{id}", t.base, t.prod_org);
    let r = t.http.post(&edit).form(&[("Name", "Browsed"), ("StageName", "Closed Won"), ("Probability", "10.0"), ("CloseDate", "2026-11-30"), ("ForecastCategoryName", "Pipeline")])
        .send().await.unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(derived(&opportunity(&t, &s, &id).await), json!(["Closed Won", true, true, 100.0, "Closed", "Closed"]));
    t.emu.shutdown().await;
}
