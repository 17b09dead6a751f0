"""simple-salesforce (unchanged, from PyPI) against sfemu over HTTPS."""
import datetime
import uuid

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceRefusedRequest,
    SalesforceResourceNotFound,
)


def uid():
    return uuid.uuid4().hex[:12]


def test_create_get_update_delete(sf):
    res = sf.Account.create({"Name": "Py Acme", "Industry": "Technology"})
    assert res["success"] is True and res["errors"] == []
    acc_id = res["id"]
    assert len(acc_id) == 18 and acc_id.startswith("001")
    rec = sf.Account.get(acc_id)
    assert rec["attributes"]["type"] == "Account"
    assert rec["attributes"]["url"].endswith(f"/sobjects/Account/{acc_id}")
    assert rec["Name"] == "Py Acme" and rec["Industry"] == "Technology"
    assert sf.Account.update(acc_id, {"Name": "Py Acme 2"}) == 204
    assert sf.Account.get(acc_id)["Name"] == "Py Acme 2"
    assert sf.Account.delete(acc_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.get(acc_id)


def test_upsert_new_and_existing(sf):
    ext = "py-" + uid()
    assert sf.Contact.upsert(f"Insight_Id__c/{ext}", {"LastName": "Upserted"}) == 201
    assert sf.Contact.upsert(f"Insight_Id__c/{ext}", {"LastName": "Upserted Again"}) in (200, 204)
    rec = sf.Contact.get_by_custom_id("Insight_Id__c", ext)
    assert rec["LastName"] == "Upserted Again"
    assert rec["Insight_Id__c"] == ext


def test_more_than_one_record_300(sf):
    ext = "dup-" + uid()
    sf.Account.create({"Name": "Dup 1", "Insight_Id__c": ext})
    sf.Account.create({"Name": "Dup 2", "Insight_Id__c": ext})
    with pytest.raises(SalesforceMoreThanOneRecord) as e:
        sf.Account.upsert(f"Insight_Id__c/{ext}", {"Name": "Dup 3"})
    assert e.value.status == 300
    assert len(e.value.content) == 2 and all("/sobjects/Account/001" in u for u in e.value.content)


def test_query_pagination(sf):
    tag = "page-" + uid()
    records = [{"attributes": {"type": "Survey_Response__c"}, "Name": f"{tag}-{i}", "Survey_Name__c": tag, "Score__c": i}
               for i in range(450)]
    for i in range(0, len(records), 200):
        res = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": records[i:i + 200]})
        assert all(r["success"] for r in res)
    soql = f"SELECT Id, Name, Score__c FROM Survey_Response__c WHERE Survey_Name__c = '{tag}' ORDER BY Score__c"
    hdr = {"Sforce-Query-Options": "batchSize=200"}
    first = sf.query(soql, headers=hdr)
    assert first["totalSize"] == 450 and first["done"] is False and len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v59.0/query/01g")
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True, headers=hdr)
    assert len(second["records"]) == 200 and second["done"] is False
    everything = sf.query_all(soql, headers=hdr)
    assert everything["totalSize"] == 450 and len(everything["records"]) == 450 and everything["done"] is True
    assert [r["Score__c"] for r in everything["records"]] == [float(i) for i in range(450)]
    count = sf.query(f"SELECT COUNT() FROM Survey_Response__c WHERE Survey_Name__c = '{tag}'")
    assert count["totalSize"] == 450 and count["records"] == []


def test_describe(sf):
    d = sf.Account.describe()
    assert d["name"] == "Account" and d["keyPrefix"] == "001"
    names = {f["name"] for f in d["fields"]}
    assert {"Id", "Name", "Industry", "Insight_Id__c"} <= names
    g = sf.describe()
    assert g["encoding"] == "UTF-8" and g["maxBatchSize"] == 200
    assert {"Account", "Contact", "Lead", "Case", "Opportunity", "Survey_Response__c"} <= {s["name"] for s in g["sobjects"]}


def test_limits_and_usage_counting(sf, admin):
    admin.reset_usage()
    lim = sf.limits()
    assert lim["DailyApiRequests"]["Max"] >= lim["DailyApiRequests"]["Remaining"]
    sf.query("SELECT Id FROM Account LIMIT 1")
    sf.query("SELECT Id FROM Contact LIMIT 1")
    assert admin.usage()["used"] == 3
    assert sf.api_usage["api-usage"].used == 3


def test_request_limit_exceeded(sf, admin):
    u = admin.usage()
    admin.set_usage(used=u["max"])
    try:
        with pytest.raises(SalesforceRefusedRequest) as e:
            sf.query("SELECT Id FROM Account")
        assert e.value.content[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
        assert e.value.content[0]["message"] == "TotalRequests Limit exceeded."
    finally:
        admin.reset_usage()


def test_is_sandbox(sf, sandbox_sf):
    assert sf.is_sandbox() is False
    assert sandbox_sf.is_sandbox() is True
    org = sandbox_sf.query("SELECT Id, IsSandbox, Name FROM Organization")["records"][0]
    assert org["Name"] == "Acme Sandbox" and org["Id"].startswith("00D")


def test_orgs_are_isolated(sf, sandbox_sf):
    name = "only-prod-" + uid()
    sf.Account.create({"Name": name})
    assert sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["totalSize"] == 1
    assert sandbox_sf.query(f"SELECT Id FROM Account WHERE Name = '{name}'")["totalSize"] == 0


def test_malformed_request_400(sf):
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Account.create({"NoSuchField__c": "x", "Name": "x"})
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Contact.create({"FirstName": "No last name"})
    assert e.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert e.value.content[0]["fields"] == ["LastName"]
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Account.create({"Name": "x" * 256})
    assert e.value.content[0]["errorCode"] == "STRING_TOO_LONG"
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Survey_Response__c.create({"Name": "x", "Status__c": "Bogus"})
    assert e.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.query("SELECT Nope FROM Account")
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD"
    ext = "uniq-" + uid()
    sf.Contact.create({"LastName": "U1", "Insight_Id__c": ext})
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Contact.create({"LastName": "U2", "Insight_Id__c": ext})
    assert e.value.content[0]["errorCode"] == "DUPLICATE_VALUE"


def test_expired_session_401(prod_token):
    bad = Salesforce(instance_url=prod_token["instance_url"], session_id="00Dxx!bogus", version="59.0")
    with pytest.raises(SalesforceExpiredSession) as e:
        bad.query("SELECT Id FROM Account")
    assert e.value.content == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def test_not_found_404(sf):
    with pytest.raises(SalesforceResourceNotFound) as e:
        sf.Account.get("001000000000000AAA")
    assert e.value.content[0]["errorCode"] == "NOT_FOUND"


def test_composite_reference_to_a_failed_record_halts_only_what_depends_on_it(sf):
    """A collection item that failed has no id: a later subrequest naming it
    does not resolve, and the rest stand (allOrNone false)."""
    tag = "pyc-" + uid()
    res = sf.restful("composite", method="POST", json={
        "allOrNone": False,
        "collateSubrequests": False,
        "compositeRequest": [
            {"method": "POST", "url": "/services/data/v59.0/composite/sobjects", "referenceId": "contacts",
             "body": {"allOrNone": False, "records": [
                 {"attributes": {"type": "Contact"}, "LastName": tag},
                 {"attributes": {"type": "Contact"}, "FirstName": "no last name"},
             ]}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Survey_Response__c", "referenceId": "good",
             "body": {"Survey_Name__c": tag, "Contact__c": "@{contacts[0].id}"}},
            {"method": "POST", "url": "/services/data/v59.0/sobjects/Survey_Response__c", "referenceId": "bad",
             "body": {"Survey_Name__c": tag, "Contact__c": "@{contacts[1].id}"}},
        ],
    })
    statuses = [r["httpStatusCode"] for r in res["compositeResponse"]]
    assert statuses == [200, 201, 400]
    contacts = res["compositeResponse"][0]["body"]
    assert contacts[0]["success"] is True and contacts[1]["success"] is False
    assert contacts[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert res["compositeResponse"][2]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    rows = sf.query(f"SELECT Contact__c FROM Survey_Response__c WHERE Survey_Name__c = '{tag}'")["records"]
    assert [r["Contact__c"] for r in rows] == [contacts[0]["id"]]


def test_query_all_returns_deleted_records_that_query_does_not(sf):
    """simple-salesforce's include_deleted=True goes to /queryAll, which still sees
    what is in the recycle bin, IsDeleted = true; /query never does."""
    tag = "bin-" + uid()
    kept = sf.Account.create({"Name": tag})["id"]
    gone = sf.Account.create({"Name": tag})["id"]
    assert sf.Account.delete(gone) == 204
    soql = f"SELECT Id, IsDeleted FROM Account WHERE Name = '{tag}' ORDER BY IsDeleted"
    live = sf.query_all(soql)
    assert [r["Id"] for r in live["records"]] == [kept]
    everything = sf.query_all(soql, include_deleted=True)
    assert [(r["Id"], r["IsDeleted"]) for r in everything["records"]] == [(kept, False), (gone, True)]
    deleted = sf.query(f"SELECT Id FROM Account WHERE Name = '{tag}' AND IsDeleted = true", include_deleted=True)
    assert [r["Id"] for r in deleted["records"]] == [gone]


@pytest.mark.parametrize("soql, code, says", [
    ("SELECT Id FROM Opportunity WHERE CloseDate = '2024-01-01'", "INVALID_FIELD",
     "value of filter criterion for field 'CloseDate' must be of type date and should not be enclosed in quotes"),
    ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD",
     "value of filter criterion for field 'Name' must be of type string and should be enclosed in quotes"),
    ("SELECT Id FROM Account WHERE IsDeleted = 'false'", "INVALID_FIELD",
     "value of filter criterion for field 'IsDeleted' must be of type boolean and should not be enclosed in quotes"),
    ("SELECT Id FROM Account WHERE Id IN ('001000000000001AAA', 'abc')", "INVALID_QUERY_FILTER_OPERATOR", "invalid ID field: abc"),
    ("SELECT Id, Name, Name FROM Account", "INVALID_FIELD", "duplicate field selected: Name"),
    ("SELECT Id FROM Account WHERE Description = 'x'", "INVALID_FIELD", "field 'Description' can not be filtered in a query call"),
    ("SELECT Id FROM Account ORDER BY Description", "INVALID_FIELD", "field 'Description' can not be sorted in a query call"),
])
def test_a_query_salesforce_refuses_raises_malformed_request(sf, soql, code, says):
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.query(soql)
    assert e.value.status == 400
    [error] = e.value.content
    assert error["errorCode"] == code
    assert error["message"].endswith(says), error["message"]


def test_date_literals_and_typed_in_lists(sf):
    """Relative date literals name whole UTC days; = is inside the range, < before it."""
    tag = "dates-" + uid()
    day = datetime.datetime.now(datetime.timezone.utc).date()
    for offset in (-1, 0, 1, 40):
        sf.Opportunity.create({"Name": f"{tag}{offset}", "StageName": "Prospecting",
                               "CloseDate": (day + datetime.timedelta(days=offset)).isoformat()})

    def names(where):
        rows = sf.query_all(f"SELECT Name FROM Opportunity WHERE Name LIKE '{tag}%' AND {where} ORDER BY CloseDate")["records"]
        return [r["Name"][len(tag):] for r in rows]

    assert names("CloseDate = TODAY") == ["0"]
    assert names("CloseDate < TODAY") == ["-1"]
    assert names("CloseDate >= TOMORROW") == ["1", "40"]
    assert names("CloseDate = LAST_N_DAYS:1") == ["-1", "0"]
    assert names("CloseDate = NEXT_N_DAYS:30") == ["1"]
    assert names(f"CloseDate IN ({day.isoformat()}, {(day + datetime.timedelta(days=40)).isoformat()})") == ["0", "40"]
    assert names("CloseDate NOT IN (TODAY)") == ["-1", "1", "40"]


def test_retrieve_many_by_query_string_and_by_body(sf):
    """sObject Collections retrieve: GET ?ids=&fields= and the POST form with {"ids", "fields"}
    answer alike, one entry per id in order, null for an id that is not a live record."""
    tag = "ret-" + uid()
    a = sf.Account.create({"Name": f"{tag}-a", "Industry": "Energy"})["id"]
    b = sf.Account.create({"Name": f"{tag}-b"})["id"]
    gone = sf.Account.create({"Name": f"{tag}-gone"})["id"]
    sf.Account.delete(gone)
    by_get = sf.restful("composite/sobjects/Account", params={"ids": f"{b},{gone},{a}", "fields": "Id,Name,Industry"})
    by_post = sf.restful("composite/sobjects/Account", method="POST", json={"ids": [b, gone, a], "fields": ["Id", "Name", "Industry"]})
    assert by_get == by_post
    assert [r and r["Name"] for r in by_post] == [f"{tag}-b", None, f"{tag}-a"]
    assert by_post[2]["Industry"] == "Energy" and by_post[2]["attributes"]["type"] == "Account"
    assert set(by_post[0]) == {"attributes", "Id", "Name", "Industry"}
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.restful("composite/sobjects/Account", method="POST", json={"ids": [a], "fields": ["Id", "Bogus__c"]})
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD"


def test_a_retired_api_version_answers_410_gone(prod_token, sf):
    """v30.0 and older were retired in Summer '25: every resource answers 410 GONE."""
    acc = sf.Account.create({"Name": "Py Old Version " + uid()})["id"]
    old = Salesforce(instance_url=prod_token["instance_url"], session_id=prod_token["access_token"], version="30.0")
    with pytest.raises(SalesforceGeneralError) as e:
        old.Account.get(acc)
    assert e.value.status == 410
    [error] = e.value.content
    assert error["errorCode"] == "GONE" and error["message"]
    with pytest.raises(SalesforceGeneralError) as e:
        old.query("SELECT Id FROM Account LIMIT 1")
    assert e.value.status == 410
    # The list of versions leaves it out and starts at v31.0.
    versions = sf.session.get(f"{prod_token['instance_url']}/services/data").json()
    assert versions[0]["version"] == "31.0" and "30.0" not in {v["version"] for v in versions}


def test_opportunity_stage_sets_closed_won_probability_and_forecast(sf):
    tag = "opp-" + uid()
    made = sf.Opportunity.create({"Name": tag, "StageName": "Value Proposition", "CloseDate": "2026-06-30", "Amount": 1000})
    opp = made["id"]

    def derived():
        r = sf.Opportunity.get(opp)
        return [r["IsClosed"], r["IsWon"], r["Probability"], r["ForecastCategory"], r["ForecastCategoryName"]]

    assert derived() == [False, False, 50.0, "Pipeline", "Pipeline"]
    assert sf.Opportunity.get(opp)["ExpectedRevenue"] == 500.0
    sf.Opportunity.update(opp, {"StageName": "Closed Won"})
    assert derived() == [True, True, 100.0, "Closed", "Closed"]
    sf.Opportunity.update(opp, {"StageName": "Negotiation/Review", "Probability": 80, "ForecastCategoryName": "Commit"})
    assert derived() == [False, False, 80.0, "Forecast", "Commit"]
    with pytest.raises(SalesforceMalformedRequest) as e:
        sf.Opportunity.update(opp, {"IsWon": True})
    assert e.value.content[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert e.value.content[0]["fields"] == ["IsWon"]
