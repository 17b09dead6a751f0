#!/usr/bin/env python3
"""Derive sfemu's compact standard-object schema from real Salesforce describe samples.

Usage: python3 crates/sfemu/tools/gen_schema.py [SAMPLES_DIR] > crates/sfemu/data/standard_objects.json

SAMPLES_DIR defaults to ../shared/salesforce-samples relative to the repo root
(see SOURCES.md there). Only standard (non-custom) fields are kept; org-specific
custom fields (NPSP etc.) are dropped. Values equal to the per-key default below
are omitted so the JSON stays small; src/schema.rs applies the same defaults.
"""
import json, os, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
SAMPLES = sys.argv[1] if len(sys.argv) > 1 else next(
    p for p in (os.path.join(ROOT, "..", "shared", "salesforce-samples"),
                "/work/shared/salesforce-samples") if os.path.isdir(p))

SOURCES = {
    "Account": "cumulusci__account.describe.v48.json",
    "Contact": "cumulusci__contact.describe.v48.json",
    "Case": "cumulusci__case.describe.v48.json",
    "Opportunity": "cumulusci__opportunity.describe.v48.json",
    "Lead": "cumulusci__lead.describe.v59.vcr-cassette.yaml",
}

# Field keys we keep, with the default that is omitted from the compact form.
FIELD_KEYS = {
    "name": None, "label": None, "type": None, "soapType": None,
    "length": 0, "byteLength": 0, "precision": 0, "scale": 0, "digits": 0,
    "createable": False, "updateable": False, "nillable": False,
    "defaultedOnCreate": False, "externalId": False, "unique": False,
    "idLookup": False, "nameField": False, "calculated": False, "autoNumber": False,
    "caseSensitive": False, "htmlFormatted": False, "restrictedPicklist": False,
    "dependentPicklist": False, "filterable": True, "sortable": True, "groupable": True,
    "aggregatable": True, "referenceTo": [], "relationshipName": None,
    "polymorphicForeignKey": False, "cascadeDelete": False, "restrictedDelete": False,
    "compoundFieldName": None, "extraTypeInfo": None, "defaultValue": None,
    "controllerName": None,
}
OBJECT_KEYS = ["name", "label", "labelPlural", "keyPrefix", "createable", "updateable",
               "deletable", "queryable", "retrieveable", "searchable", "triggerable",
               "undeletable", "mergeable", "replicateable", "layoutable", "feedEnabled",
               "activateable", "mruEnabled"]


def load(fname):
    path = os.path.join(SAMPLES, fname)
    if fname.endswith(".yaml"):
        import yaml
        return json.loads(yaml.safe_load(open(path))["response"]["body"]["string"])
    return json.load(open(path))


def compact_field(f):
    out = {}
    for k, default in FIELD_KEYS.items():
        v = f.get(k, default)
        if k == "picklistValues":
            continue
        if default is None and k in ("name", "label", "type", "soapType"):
            out[k] = v
        elif v != default:
            out[k] = v
    pv = [{"value": p["value"], "label": p["label"], "active": p["active"],
           **({"defaultValue": True} if p.get("defaultValue") else {})}
          for p in f.get("picklistValues", [])]
    if pv:
        out["picklistValues"] = pv
    return out


objects = []
for name, fname in SOURCES.items():
    d = load(fname)
    obj = {k: d[k] for k in OBJECT_KEYS}
    obj["source"] = fname
    obj["fields"] = [compact_field(f) for f in d["fields"] if not f.get("custom") and not f["name"].endswith("__c")]
    objects.append(obj)

json.dump({"generatedFrom": "shared/salesforce-samples (see SOURCES.md)", "objects": objects},
          sys.stdout, indent=1, sort_keys=False)
sys.stdout.write("\n")
