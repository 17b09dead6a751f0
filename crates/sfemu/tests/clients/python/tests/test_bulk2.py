"""simple-salesforce's Bulk API 2.0 client (sf.bulk2, unchanged) against sfemu's ingest jobs."""
import csv
import io
import uuid

import pytest
from simple_salesforce.exceptions import SalesforceOperationError


def uid():
    return uuid.uuid4().hex[:10]


def rows(text):
    return list(csv.DictReader(io.StringIO(text)))


def test_insert_maps_failed_rows_back(sf):
    tag = "bulk-py-" + uid()
    records = [
        {"Name": f"{tag} One", "Description": "first, with a comma"},
        {"Name": "", "Description": f"{tag} has no name"},
        {"Name": f"{tag} Three", "Description": "third\nover two lines"},
    ]
    [res] = sf.bulk2.Account.insert(records=records, wait=0.1)
    assert res["numberRecordsProcessed"] == 3
    assert res["numberRecordsFailed"] == 1
    assert res["numberRecordsTotal"] == 3
    job = res["job_id"]
    assert job.startswith("750")

    ok = rows(sf.bulk2.Account.get_successful_records(job))
    assert [r["Name"] for r in ok] == [f"{tag} One", f"{tag} Three"]
    assert all(r["sf__Created"] == "true" and r["sf__Id"].startswith("001") for r in ok)
    failed = rows(sf.bulk2.Account.get_failed_records(job))
    assert len(failed) == 1
    assert failed[0]["Description"] == f"{tag} has no name"
    assert failed[0]["sf__Error"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name"
    assert rows(sf.bulk2.Account.get_unprocessed_records(job)) == []
    every = sf.bulk2.Account.get_all_ingest_records(job)
    assert len(every["successfulRecords"]) == 2 and len(every["failedRecords"]) == 1

    found = sf.query_all(f"SELECT Id, Description FROM Account WHERE Name LIKE '{tag}%' ORDER BY Name")
    assert [r["Id"] for r in found["records"]] == [r["sf__Id"] for r in ok]
    assert found["records"][1]["Description"] == "third\nover two lines"


def test_upsert_by_external_id(sf):
    ext = "bulk-py-" + uid()
    sf.Contact.create({"LastName": "Before", "Insight_Id__c": ext + "-a"})
    [res] = sf.bulk2.Contact.upsert(
        records=[{"Insight_Id__c": ext + "-a", "LastName": "After"}, {"Insight_Id__c": ext + "-b", "LastName": "New"}],
        external_id_field="Insight_Id__c", wait=0.1)
    assert (res["numberRecordsProcessed"], res["numberRecordsFailed"]) == (2, 0)
    ok = {r["Insight_Id__c"]: r for r in rows(sf.bulk2.Contact.get_successful_records(res["job_id"]))}
    assert ok[ext + "-a"]["sf__Created"] == "false"
    assert ok[ext + "-b"]["sf__Created"] == "true"
    assert sf.Contact.get_by_custom_id("Insight_Id__c", ext + "-a")["LastName"] == "After"


def test_delete_and_a_failed_job(sf):
    ids = [sf.Account.create({"Name": "bulk-py-del-" + uid()})["id"] for _ in range(2)]
    [res] = sf.bulk2.Account.delete(records=[{"Id": i} for i in ids], wait=0.1)
    assert (res["numberRecordsProcessed"], res["numberRecordsFailed"]) == (2, 0)
    assert sf.query(f"SELECT COUNT() FROM Account WHERE Id IN ('{ids[0]}', '{ids[1]}')")["totalSize"] == 0
    # A column the object lacks fails the whole job; simple-salesforce raises with the reason.
    with pytest.raises(SalesforceOperationError, match="Field name not found : Nope__c"):
        sf.bulk2.Account.insert(records=[{"Name": "x", "Nope__c": "y"}], wait=0.1)


def test_bulk_calls_count_in_api_usage(sf, admin):
    before = admin.usage()
    sf.bulk2.Account.insert(records=[{"Name": "bulk-py-usage-" + uid()}], wait=0.1)
    after = admin.usage()
    # create, upload, close, at least one poll, the final job info
    assert after["used"] - before["used"] >= 5
    assert after["bulk_jobs_created"] == before["bulk_jobs_created"] + 1
    assert after["bulk_records_processed"] == before["bulk_records_processed"] + 1
