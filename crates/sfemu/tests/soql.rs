//! SOQL over REST as Salesforce answers it: literals checked against the fields'
//! describe types, relative date literals, typed IN lists, ORDER BY a parent field,
//! and `queryAll` seeing the recycle bin.
mod common;
use common::*;
use serde_json::{json, Value};
use time::{Date, Duration, OffsetDateTime};

/// `GET {resource}?q=…` with the query form-encoded as clients send it.
async fn soql(t: &T, s: &Session, resource: &str, q: &str) -> (u16, Value) {
    let enc: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let (st, _, b) = t.call(s, "GET", &format!("/{resource}?q={enc}"), None).await;
    (st, b)
}

/// The value of `field` in each record a query returns, in order (it must run).
async fn column(t: &T, s: &Session, q: &str, field: &str) -> Vec<String> {
    let (st, b) = soql(t, s, "query", q).await;
    assert_eq!(st, 200, "{q}: {b}");
    b["records"].as_array().unwrap().iter().map(|r| r[field].as_str().unwrap_or_default().to_string()).collect()
}

/// Salesforce's body for an error it finds at the first `at` in a one-line query.
fn caret(q: &str, at: &str, msg: &str) -> String {
    let col = q.find(at).unwrap() + 1;
    format!("\n{q}\n{}^\nERROR at Row:1:Column:{col}\n{msg}", " ".repeat(col - 1))
}

fn today() -> Date { OffsetDateTime::now_utc().date() }
fn iso(d: Date) -> String { format!("{:04}-{:02}-{:02}", d.year(), d.month() as u8, d.day()) }

#[tokio::test]
async fn queries_that_salesforce_refuses_answer_400_with_its_code_and_message() {
    let t = start().await;
    let s = t.login().await;
    let filter = |f: &str, ty: &str, quoted: bool| format!("value of filter criterion for field '{f}' must be of type {ty} and should {}be enclosed in quotes", if quoted { "" } else { "not " });
    let cases: Vec<(&str, &str, &str, String)> = vec![
        ("SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-01'", "CloseDate", "INVALID_FIELD", filter("CloseDate", "date", false)),
        ("SELECT Id FROM Opportunity WHERE CloseDate > 2024-01-01T00:00:00Z", "CloseDate", "INVALID_FIELD", filter("CloseDate", "date", false)),
        ("SELECT Id FROM Account WHERE CreatedDate < '2024-01-01T00:00:00Z'", "CreatedDate", "INVALID_FIELD", filter("CreatedDate", "dateTime", false)),
        ("SELECT Id FROM Account WHERE Name = 5", "Name", "INVALID_FIELD", filter("Name", "string", true)),
        ("SELECT Id FROM Account WHERE IsDeleted = 'false'", "IsDeleted", "INVALID_FIELD", filter("IsDeleted", "boolean", false)),
        ("SELECT Id FROM Survey_Response__c WHERE Score__c >= '3'", "Score__c", "INVALID_FIELD", filter("Score__c", "double", false)),
        ("SELECT Id FROM Account WHERE Id = 'abc'", "Id =", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc".into()),
        ("SELECT Id FROM Contact WHERE AccountId != 'not an id'", "AccountId", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: not an id".into()),
        ("SELECT Id FROM Account WHERE Id = 5", "Id =", "INVALID_FIELD", filter("Id", "id", true)),
        ("SELECT Id FROM Account WHERE Description = 'x'", "Description", "INVALID_FIELD", "field 'Description' can not be filtered in a query call".into()),
        ("SELECT Id FROM Survey_Response__c WHERE Comment__c != null", "Comment__c", "INVALID_FIELD", "field 'Comment__c' can not be filtered in a query call".into()),
        ("SELECT Id FROM Account ORDER BY Description", "Description", "INVALID_FIELD", "field 'Description' can not be sorted in a query call".into()),
        ("SELECT Id FROM Account WHERE NumberOfEmployees LIKE '1%'", "NumberOfEmployees", "INVALID_QUERY_FILTER_OPERATOR", "invalid operator on int field".into()),
    ];
    for (q, at, code, msg) in cases {
        let (st, b) = soql(&t, &s, "query", q).await;
        assert_eq!((st, b), (400, json!([{"message": caret(q, at, &msg), "errorCode": code}])), "{q}");
    }
    // A field selected twice: the SOQL reference shows the bare message, no caret.
    for (q, key) in [("SELECT Id, Name, Name FROM Account", "Name"), ("SELECT Id, name, NAME FROM Account", "Name"),
        ("SELECT Id, Account.Name, account.name FROM Contact", "Account.Name")] {
        let (st, b) = soql(&t, &s, "query", q).await;
        assert_eq!((st, b), (400, json!([{"message": format!("duplicate field selected: {key}"), "errorCode": "INVALID_FIELD"}])), "{q}");
    }
    // queryAll checks the same way.
    let (st, b) = soql(&t, &s, "queryAll", "SELECT Id FROM Account WHERE Name = 5").await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (400, Some("INVALID_FIELD")));
    t.emu.shutdown().await;
}

/// The queries Insight sends into an org stay valid under the checks.
#[tokio::test]
async fn the_queries_insight_sends_still_run() {
    let t = start().await;
    let s = t.login().await;
    for q in [
        "SELECT Id, Name, IsSandbox, OrganizationType, InstanceName FROM Organization",
        "SELECT Id, SuppliedEmail, SuppliedName, Status, CaseNumber FROM Case WHERE Id IN ('500000000000001AAA', '500000000000002AAA')",
        "SELECT Id, ContactId, Status, CaseNumber, Contact.Name, Contact.Email FROM Case WHERE Id IN ('500000000000001AAA')",
        "SELECT Id, Email FROM Contact WHERE Email IN ('a@example.com','o\\'brien@example.com')",
        "SELECT Id FROM Contact WHERE Email = 'bench@example.com'",
        "SELECT Id, External_Id__c FROM Survey_Response__c WHERE Survey_Name__c = 'Paging'",
        "SELECT Id FROM Survey_Response__c WHERE Survey_Name__c != null",
    ] {
        let (st, b) = soql(&t, &s, "query", q).await;
        assert_eq!(st, 200, "{q}: {b}");
    }
    t.emu.shutdown().await;
}

#[tokio::test]
async fn date_literals_name_whole_utc_days_of_date_fields() {
    let t = start().await;
    let s = t.login().await;
    let day = today();
    let month_start = day.replace_day(1).unwrap();
    let week_start = day - Duration::days(day.weekday().number_days_from_sunday() as i64);
    let year_start = day.replace_ordinal(1).unwrap();
    let named = [
        ("yesterday", day - Duration::days(1)),
        ("today", day),
        ("tomorrow", day + Duration::days(1)),
        ("in-40", day + Duration::days(40)),
        ("month-start", month_start),
        ("before-month", month_start - Duration::days(1)),
        ("week-start", week_start),
        ("before-week", week_start - Duration::days(1)),
        ("year-start", year_start),
        ("before-year", year_start - Duration::days(1)),
    ];
    let tag = "DL";
    for (name, d) in named {
        let (st, _, b) = t.call(&s, "POST", "/sobjects/Opportunity", Some(json!({"Name": format!("{tag} {name}"), "StageName": "Prospecting", "CloseDate": iso(d)}))).await;
        assert_eq!(st, 201, "{b}");
    }
    let expect = |pred: &dyn Fn(Date) -> bool| -> Vec<String> {
        let mut v: Vec<(Date, &str)> = named.iter().filter(|(_, d)| pred(*d)).map(|(n, d)| (*d, *n)).collect();
        v.sort();
        v.into_iter().map(|(_, n)| format!("{tag} {n}")).collect()
    };
    let q = |w: &str| format!("SELECT Name FROM Opportunity WHERE Name LIKE '{tag} %' AND CloseDate {w} ORDER BY CloseDate, Name");
    let in_days = |a: Date, b: Date| move |d: Date| d >= a && d < b;
    let next_month = if month_start.month() == time::Month::December {
        Date::from_calendar_date(month_start.year() + 1, time::Month::January, 1).unwrap()
    } else {
        month_start.replace_month(month_start.month().next()).unwrap()
    };
    let last_month = (month_start - Duration::days(1)).replace_day(1).unwrap();
    let next_year = Date::from_calendar_date(day.year() + 1, time::Month::January, 1).unwrap();
    let last_year = Date::from_calendar_date(day.year() - 1, time::Month::January, 1).unwrap();
    let listed = format!("IN ({}, {})", iso(day), iso(day + Duration::days(40)));
    let cases: Vec<(&str, Box<dyn Fn(Date) -> bool>)> = vec![
        ("= TODAY", Box::new(move |d| d == day)),
        ("!= TODAY", Box::new(move |d| d != day)),
        ("< TODAY", Box::new(move |d| d < day)),
        ("<= TODAY", Box::new(move |d| d <= day)),
        ("> TODAY", Box::new(move |d| d > day)),
        (">= TODAY", Box::new(move |d| d >= day)),
        ("= YESTERDAY", Box::new(move |d| d == day - Duration::days(1))),
        ("= TOMORROW", Box::new(move |d| d == day + Duration::days(1))),
        ("= LAST_N_DAYS:1", Box::new(in_days(day - Duration::days(1), day + Duration::days(1)))),
        ("= NEXT_N_DAYS:40", Box::new(in_days(day + Duration::days(1), day + Duration::days(41)))),
        ("= THIS_WEEK", Box::new(in_days(week_start, week_start + Duration::weeks(1)))),
        ("= LAST_WEEK", Box::new(in_days(week_start - Duration::weeks(1), week_start))),
        ("= THIS_MONTH", Box::new(in_days(month_start, next_month))),
        ("< THIS_MONTH", Box::new(move |d| d < month_start)),
        (">= THIS_MONTH", Box::new(move |d| d >= month_start)),
        ("> THIS_MONTH", Box::new(move |d| d >= next_month)),
        ("<= THIS_MONTH", Box::new(move |d| d < next_month)),
        ("= LAST_MONTH", Box::new(in_days(last_month, month_start))),
        ("= LAST_N_MONTHS:1", Box::new(in_days(last_month, month_start))),
        ("= NEXT_N_WEEKS:1", Box::new(in_days(week_start + Duration::weeks(1), week_start + Duration::weeks(2)))),
        ("= LAST_N_WEEKS:1", Box::new(in_days(week_start - Duration::weeks(1), week_start))),
        ("= THIS_QUARTER", Box::new(move |d: Date| d.year() == day.year() && (d.month() as u8 - 1) / 3 == (day.month() as u8 - 1) / 3)),
        ("= THIS_YEAR", Box::new(in_days(year_start, next_year))),
        ("= LAST_YEAR", Box::new(in_days(last_year, year_start))),
        ("IN (TODAY, TOMORROW)", Box::new(in_days(day, day + Duration::days(2)))),
        ("NOT IN (TODAY)", Box::new(move |d| d != day)),
        (listed.as_str(), Box::new(move |d| d == day || d == day + Duration::days(40))),
    ];
    for (w, pred) in &cases {
        assert_eq!(column(&t, &s, &q(w), "Name").await, expect(pred.as_ref()), "CloseDate {w}");
    }
    t.emu.shutdown().await;
}

#[tokio::test]
async fn date_literals_compare_a_datetime_by_its_utc_day() {
    let t = start().await;
    let s = t.login().await;
    let day = today();
    let at = |d: Date, hms: &str| format!("{}T{hms}Z", iso(d));
    for (name, when) in [
        ("last second of yesterday", at(day - Duration::days(1), "23:59:59")),
        ("midnight today", at(day, "00:00:00")),
        ("late today", at(day, "23:59:59")),
        ("midnight tomorrow", at(day + Duration::days(1), "00:00:00")),
    ] {
        let (st, _, b) = t.call(&s, "POST", "/sobjects/Survey_Response__c", Some(json!({"Name": name, "Survey_Name__c": "DT", "Responded_At__c": when}))).await;
        assert_eq!(st, 201, "{b}");
    }
    let q = |w: &str| format!("SELECT Name FROM Survey_Response__c WHERE Survey_Name__c = 'DT' AND Responded_At__c {w} ORDER BY Responded_At__c");
    assert_eq!(column(&t, &s, &q("= TODAY"), "Name").await, ["midnight today", "late today"]);
    assert_eq!(column(&t, &s, &q("< TODAY"), "Name").await, ["last second of yesterday"]);
    assert_eq!(column(&t, &s, &q("> TODAY"), "Name").await, ["midnight tomorrow"]);
    assert_eq!(column(&t, &s, &q("= LAST_N_DAYS:1"), "Name").await, ["last second of yesterday", "midnight today", "late today"]);
    assert_eq!(column(&t, &s, &q("= NEXT_N_DAYS:1"), "Name").await, ["midnight tomorrow"]);
    // A datetime literal compares to the second, with its offset.
    let noon = format!("{}T12:00:00+02:00", iso(day));
    assert_eq!(column(&t, &s, &q(&format!("> {noon}")), "Name").await, ["late today", "midnight tomorrow"]);
    // A date (without time) against a datetime field is a type misfit.
    let (st, b) = soql(&t, &s, "query", &q(&format!("> {}", iso(day)))).await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (400, Some("INVALID_FIELD")));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn in_and_not_in_take_typed_values_and_check_each() {
    let t = start().await;
    let s = t.login().await;
    let mut ids = vec![];
    for (name, employees, industry) in [("IN one", 10, "Banking"), ("IN two", 20, "Energy"), ("IN three", 30, "")] {
        let mut body = json!({"Name": name, "NumberOfEmployees": employees});
        if !industry.is_empty() { body["Industry"] = json!(industry); }
        let (_, _, b) = t.call(&s, "POST", "/sobjects/Account", Some(body)).await;
        ids.push(b["id"].as_str().unwrap().to_string());
    }
    let q = |w: &str| format!("SELECT Name FROM Account WHERE Name LIKE 'IN %' AND {w} ORDER BY NumberOfEmployees");
    assert_eq!(column(&t, &s, &q("NumberOfEmployees IN (10, 30)"), "Name").await, ["IN one", "IN three"]);
    assert_eq!(column(&t, &s, &q("NumberOfEmployees NOT IN (10, 30)"), "Name").await, ["IN two"]);
    assert_eq!(column(&t, &s, &q("Industry IN ('banking', 'Energy')"), "Name").await, ["IN one", "IN two"], "text compares without case");
    assert_eq!(column(&t, &s, &q("Industry NOT IN ('Banking')"), "Name").await, ["IN two", "IN three"], "null is not in the list");
    assert_eq!(column(&t, &s, &q("Industry IN (null, 'Energy')"), "Name").await, ["IN two", "IN three"]);
    // Ids in either length; the 15-character form is the 18's prefix.
    let list = format!("Id IN ('{}', '{}')", &ids[0][..15], ids[2]);
    assert_eq!(column(&t, &s, &q(&list), "Name").await, ["IN one", "IN three"]);
    // Every value in the list is checked, not only the first.
    let bad = "SELECT Name FROM Account WHERE NumberOfEmployees IN (10, '20')";
    let (st, b) = soql(&t, &s, "query", bad).await;
    assert_eq!((st, b), (400, json!([{"errorCode": "INVALID_FIELD", "message": caret(bad, "NumberOfEmployees",
        "value of filter criterion for field 'NumberOfEmployees' must be of type integer and should not be enclosed in quotes")}])));
    let bad = format!("SELECT Name FROM Account WHERE Id NOT IN ('{}', '001')", ids[0]);
    let (st, b) = soql(&t, &s, "query", &bad).await;
    assert_eq!((st, b), (400, json!([{"errorCode": "INVALID_QUERY_FILTER_OPERATOR", "message": caret(&bad, "Id NOT", "invalid ID field: 001")}])));
    t.emu.shutdown().await;
}

#[tokio::test]
async fn order_by_a_parent_field_sorts_by_the_parent_record() {
    let t = start().await;
    let s = t.login().await;
    for (company, person) in [(Some("Zeta"), "P1"), (Some("alpha"), "P2"), (None, "P3"), (Some("Mid"), "P4")] {
        let mut c = json!({"LastName": person, "Department": "OB"});
        if let Some(company) = company {
            let (_, _, a) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": company}))).await;
            c["AccountId"] = a["id"].clone();
        }
        t.call(&s, "POST", "/sobjects/Contact", Some(c)).await;
    }
    let q = |order: &str| format!("SELECT LastName, Account.Name FROM Contact WHERE Department = 'OB' ORDER BY {order}");
    assert_eq!(column(&t, &s, &q("Account.Name"), "LastName").await, ["P3", "P2", "P4", "P1"], "ASC puts nulls first");
    assert_eq!(column(&t, &s, &q("Account.Name DESC"), "LastName").await, ["P1", "P4", "P2", "P3"], "DESC puts nulls last");
    assert_eq!(column(&t, &s, &q("Account.Name NULLS LAST"), "LastName").await, ["P2", "P4", "P1", "P3"]);
    let (_, b) = soql(&t, &s, "query", &q("account.name DESC")).await;
    assert_eq!(b["records"][0]["Account"]["Name"], "Zeta");
    assert_eq!(b["records"][3]["Account"], Value::Null);
    // The parent's field is checked as the object's own would be.
    let bad = "SELECT Id FROM Contact ORDER BY Account.Description";
    let (st, b) = soql(&t, &s, "query", bad).await;
    assert_eq!((st, b[0]["errorCode"].as_str()), (400, Some("INVALID_FIELD")));
    assert!(b[0]["message"].as_str().unwrap().ends_with("field 'Description' can not be sorted in a query call"), "{b}");
    let bad = "SELECT Id FROM Contact ORDER BY Account.Nope";
    assert_eq!(soql(&t, &s, "query", bad).await.1[0]["errorCode"], "INVALID_FIELD");
    t.emu.shutdown().await;
}

#[tokio::test]
async fn query_all_returns_a_deleted_record_that_query_no_longer_does() {
    let t = start().await;
    let s = t.login().await;
    let (_, _, kept) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Bin Co"}))).await;
    let (_, _, gone) = t.call(&s, "POST", "/sobjects/Account", Some(json!({"Name": "Bin Co"}))).await;
    let gone = gone["id"].as_str().unwrap();
    assert_eq!(t.call(&s, "DELETE", &format!("/sobjects/Account/{gone}"), None).await.0, 204);
    let q = "SELECT Id, IsDeleted FROM Account WHERE Name = 'Bin Co' ORDER BY IsDeleted";
    let (_, live) = soql(&t, &s, "query", q).await;
    assert_eq!(live["records"].as_array().unwrap().iter().map(|r| r["Id"].clone()).collect::<Vec<_>>(), vec![kept["id"].clone()]);
    let (_, live_deleted) = soql(&t, &s, "query", "SELECT Id FROM Account WHERE IsDeleted = true").await;
    assert_eq!(live_deleted["totalSize"], 0, "query never sees the recycle bin");
    let (st, all) = soql(&t, &s, "queryAll", q).await;
    assert_eq!((st, all["totalSize"].clone()), (200, json!(2)));
    assert_eq!((&all["records"][0]["IsDeleted"], &all["records"][1]["Id"], &all["records"][1]["IsDeleted"]), (&json!(false), &json!(gone), &json!(true)));
    assert_eq!(all["records"][1]["attributes"]["url"], format!("/services/data/v59.0/sobjects/Account/{gone}"));
    let (_, deleted_only) = soql(&t, &s, "queryAll", "SELECT Id FROM Account WHERE IsDeleted = true").await;
    assert_eq!(deleted_only["records"].as_array().unwrap().iter().map(|r| r["Id"].clone()).collect::<Vec<_>>(), vec![json!(gone)]);
    let (_, counted) = soql(&t, &s, "queryAll", "SELECT COUNT() FROM Account WHERE Name = 'Bin Co'").await;
    assert_eq!(counted["totalSize"], 2);
    // Once the org is reset (the emulator's purge) the deleted record is gone for queryAll too.
    t.admin("POST", &format!("/orgs/{}/reset", t.prod_org), None).await;
    let (_, purged) = soql(&t, &s, "queryAll", q).await;
    assert_eq!(purged["totalSize"], 0);
    t.emu.shutdown().await;
}

/// "Although the nextRecordsUrl has query in the URL, it still provides the remaining
/// results from the initial QueryAll request", deleted records included (REST API, QueryAll).
#[tokio::test]
async fn query_all_pages_keep_the_deleted_records_on_later_pages() {
    let t = start().await;
    let s = t.login().await;
    let recs: Vec<Value> = (0..200).map(|i| json!({"attributes": {"type": "Lead"}, "LastName": format!("QA{i:03}"), "Company": "Bin"})).collect();
    let (_, _, made) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"records": recs}))).await;
    let (_, _, more) = t.call(&s, "POST", "/composite/sobjects", Some(json!({"records": [
        {"attributes": {"type": "Lead"}, "LastName": "QA200", "Company": "Bin"}, {"attributes": {"type": "Lead"}, "LastName": "QA201", "Company": "Bin"}]}))).await;
    let deleted: Vec<&str> = more.as_array().unwrap().iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(made.as_array().unwrap().len(), 200);
    let (st, _, _) = t.call(&s, "DELETE", &format!("/composite/sobjects?ids={}", deleted.join(",")), None).await;
    assert_eq!(st, 200);
    let q: String = url::form_urlencoded::byte_serialize(b"SELECT LastName, IsDeleted FROM Lead WHERE Company = 'Bin' ORDER BY LastName").collect();
    let first: Value = t.http.get(format!("{}/services/data/v59.0/queryAll?q={q}", s.instance_url))
        .bearer_auth(&s.token).header("Sforce-Query-Options", "batchSize=200").send().await.unwrap().json().await.unwrap();
    assert_eq!((first["totalSize"].clone(), first["done"].clone()), (json!(202), json!(false)));
    let next = first["nextRecordsUrl"].as_str().unwrap();
    assert!(next.starts_with("/services/data/v59.0/query/01g"), "{next}");
    let (st, _, rest) = t.call(&s, "GET", next, None).await;
    assert_eq!(st, 200);
    assert_eq!(rest["records"], json!([
        {"attributes": {"type": "Lead", "url": format!("/services/data/v59.0/sobjects/Lead/{}", deleted[0])}, "LastName": "QA200", "IsDeleted": true},
        {"attributes": {"type": "Lead", "url": format!("/services/data/v59.0/sobjects/Lead/{}", deleted[1])}, "LastName": "QA201", "IsDeleted": true},
    ]));
    assert_eq!(rest["done"], true);
    t.emu.shutdown().await;
}
