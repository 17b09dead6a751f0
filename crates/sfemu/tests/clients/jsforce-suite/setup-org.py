#!/usr/bin/env python3
"""The org jsforce's tests expect, made with the emulator's configuration and public APIs.

jsforce prepares a real org by deploying test/package/JSforceTestSuite (Metadata API) and
inserting BigTable__c rows (Bulk API 1.0). Here:
  setup-org.py config            print an sfemu config (JSON): the org, its user, the
                                 connected app, UpsertTable__c / BigTable__c as in the package,
                                 BigTable__c rows as seeds
  setup-org.py seed STARTUP.jsonl  get an access token (password flow, HTTPS), create sample
                                 Accounts with Contacts and Opportunities (sObject Tree), and
                                 print the SF_* variables the suite reads, as shell exports
"""
import json, shlex, ssl, sys, urllib.parse, urllib.request

USERNAME = "jsforce-suite@sfemu.example"
PASSWORD = "jsforce-suite-password-1"
CLIENT_ID = "3MVG9sfemuJsforceSuiteClientId00000000000000000000000000000000000000000000000000"
CLIENT_SECRET = "SFEMU0JSFORCE0SUITE0SECRET000000000000000000000000000000000000000"
REDIRECT_URI = "http://localhost:4000/oauth2/callback"  # test/config/index.ts's default
BIG_TABLE_ROWS = 2200  # test/bin/org-setup inserts 4 x 550


def config():
    return {
        "orgs": [{
            "name": "JSforce Test Org",
            "users": [{"username": USERNAME, "password": PASSWORD, "first_name": "Jay",
                       "last_name": "Forsyth", "email": USERNAME}],
            "records": {"BigTable__c": [{} for _ in range(BIG_TABLE_ROWS)]},
        }],
        "connected_apps": [{"name": "JSforce Test Suite", "client_id": CLIENT_ID,
                            "client_secret": CLIENT_SECRET, "callback_urls": [REDIRECT_URI]}],
        # From test/package/JSforceTestSuite/objects/*.object
        "custom_objects": [
            {"name": "UpsertTable__c", "label": "UpsertTable", "label_plural": "UpsertTables",
             "fields": [{"name": "ExtId__c", "label": "ExtId", "type": "string", "length": 50,
                         "external_id": True, "unique": False}]},
            {"name": "BigTable__c", "label": "BigTable", "label_plural": "BigTables", "fields": []},
        ],
    }


def call(ctx, method, url, data=None, token=None, form=False):
    headers = {}
    if token:
        headers["Authorization"] = "Bearer " + token
    if data is not None:
        if form:
            data = urllib.parse.urlencode(data).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        else:
            data = json.dumps(data).encode()
            headers["Content-Type"] = "application/json"
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, context=ctx) as r:
        return json.loads(r.read() or b"null")


def seed(startup):
    events = [json.loads(l) for l in open(startup) if l.strip()]
    listening = next(e for e in events if e["event"] == "listening")
    ctx = ssl.create_default_context(cafile=listening["ca_pem_path"])
    login = listening["production_login_url"].replace(listening["http_url"], listening["https_url"])
    tok = call(ctx, "POST", login + "/services/oauth2/token", {
        "grant_type": "password", "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET,
        "username": USERNAME, "password": PASSWORD}, form=True)
    token, instance = tok["access_token"], tok["instance_url"]
    records = []
    for i, name in enumerate(["Acme Corporation", "Burlington Textiles", "Edge Communications"]):
        records.append({
            "attributes": {"type": "Account", "referenceId": f"acc{i}"},
            "Name": name,
            "Contacts": {"records": [
                {"attributes": {"type": "Contact", "referenceId": f"con{i}_{j}"},
                 "FirstName": f"First{j}", "LastName": f"Contact {i}-{j}"} for j in range(3)]},
            "Opportunities": {"records": [
                {"attributes": {"type": "Opportunity", "referenceId": f"opp{i}_{j}"},
                 "Name": f"{name} deal {j}", "StageName": "Prospecting",
                 "CloseDate": f"2026-0{j + 1}-1{i}"} for j in range(3)]},
        })
    res = call(ctx, "POST", instance + "/services/data/v59.0/composite/tree/Account",
               {"records": records}, token)
    assert not res["hasErrors"], res
    env = {
        "SF_LOGIN_URL": login, "SF_USERNAME": USERNAME, "SF_PASSWORD": PASSWORD,
        "SF_ACCESS_TOKEN": token, "SF_OAUTH2_CLIENT_ID": CLIENT_ID,
        "SF_OAUTH2_CLIENT_SECRET": CLIENT_SECRET, "SF_OAUTH2_REDIRECT_URI": REDIRECT_URI,
    }
    for k, v in env.items():
        print(f"export {k}={shlex.quote(v)}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["config"]:
        json.dump(config(), sys.stdout)
    elif sys.argv[1:2] == ["seed"] and len(sys.argv) == 3:
        seed(sys.argv[2])
    else:
        sys.exit(__doc__)
