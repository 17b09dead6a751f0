//! Object schema: the standard objects derived from real describe samples
//! (data/standard_objects.json, made by tools/gen_schema.py), custom objects from
//! config, and the virtual Organization/User objects; plus Salesforce's full
//! describe output built from that compact schema.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::HashMap;

pub const STANDARD_JSON: &str = include_str!("../data/standard_objects.json");

fn t() -> bool { true }

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    pub label: String,
    #[serde(default = "t")]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDef {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub ftype: String,
    pub soap_type: String,
    #[serde(default)] pub length: u32,
    #[serde(default)] pub byte_length: u32,
    #[serde(default)] pub precision: u32,
    #[serde(default)] pub scale: u32,
    #[serde(default)] pub digits: u32,
    #[serde(default)] pub createable: bool,
    #[serde(default)] pub updateable: bool,
    #[serde(default)] pub nillable: bool,
    #[serde(default)] pub defaulted_on_create: bool,
    #[serde(default)] pub external_id: bool,
    #[serde(default)] pub unique: bool,
    #[serde(default)] pub id_lookup: bool,
    #[serde(default)] pub name_field: bool,
    #[serde(default)] pub calculated: bool,
    #[serde(default)] pub auto_number: bool,
    #[serde(default)] pub case_sensitive: bool,
    #[serde(default)] pub html_formatted: bool,
    #[serde(default)] pub restricted_picklist: bool,
    #[serde(default)] pub dependent_picklist: bool,
    #[serde(default = "t")] pub filterable: bool,
    #[serde(default = "t")] pub sortable: bool,
    #[serde(default = "t")] pub groupable: bool,
    #[serde(default = "t")] pub aggregatable: bool,
    #[serde(default)] pub reference_to: Vec<String>,
    #[serde(default)] pub relationship_name: Option<String>,
    #[serde(default)] pub polymorphic_foreign_key: bool,
    #[serde(default)] pub cascade_delete: bool,
    #[serde(default)] pub restricted_delete: bool,
    #[serde(default)] pub compound_field_name: Option<String>,
    #[serde(default)] pub extra_type_info: Option<String>,
    #[serde(default)] pub default_value: Option<Value>,
    #[serde(default)] pub controller_name: Option<String>,
    #[serde(default)] pub picklist_values: Vec<PicklistValue>,
    #[serde(default)] pub custom: bool,
}

impl FieldDef {
    pub fn is_required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create && self.ftype != "boolean"
    }
    pub fn is_stringish(&self) -> bool {
        matches!(self.ftype.as_str(), "string" | "textarea" | "email" | "phone" | "url" | "picklist"
            | "multipicklist" | "combobox" | "encryptedstring" | "id" | "reference")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ObjectDef {
    pub name: String,
    pub label: String,
    pub label_plural: String,
    pub key_prefix: String,
    #[serde(default = "t")] pub createable: bool,
    #[serde(default = "t")] pub updateable: bool,
    #[serde(default = "t")] pub deletable: bool,
    #[serde(default = "t")] pub queryable: bool,
    #[serde(default = "t")] pub retrieveable: bool,
    #[serde(default = "t")] pub searchable: bool,
    #[serde(default = "t")] pub triggerable: bool,
    #[serde(default = "t")] pub undeletable: bool,
    #[serde(default)] pub mergeable: bool,
    #[serde(default = "t")] pub replicateable: bool,
    #[serde(default = "t")] pub layoutable: bool,
    #[serde(default)] pub feed_enabled: bool,
    #[serde(default)] pub activateable: bool,
    #[serde(default)] pub mru_enabled: bool,
    #[serde(default)] pub custom: bool,
    pub fields: Vec<FieldDef>,
    /// lower-case field name -> index in `fields`
    #[serde(skip)]
    pub index: HashMap<String, usize>,
    /// lower-case relationship name -> index of the reference field
    #[serde(skip)]
    pub rel_index: HashMap<String, usize>,
}

impl ObjectDef {
    pub fn finish(mut self) -> Self {
        self.index = self.fields.iter().enumerate().map(|(i, f)| (f.name.to_ascii_lowercase(), i)).collect();
        self.rel_index = self.fields.iter().enumerate()
            .filter_map(|(i, f)| f.relationship_name.as_ref().map(|r| (r.to_ascii_lowercase(), i)))
            .collect();
        self
    }
    pub fn field(&self, name: &str) -> Option<&FieldDef> {
        self.index.get(&name.to_ascii_lowercase()).map(|&i| &self.fields[i])
    }
    pub fn relationship(&self, name: &str) -> Option<&FieldDef> {
        self.rel_index.get(&name.to_ascii_lowercase()).map(|&i| &self.fields[i])
    }
    pub fn name_field(&self) -> Option<&FieldDef> {
        self.fields.iter().find(|f| f.name_field)
    }
}

#[derive(Deserialize)]
struct StandardFile {
    objects: Vec<ObjectDef>,
}

/// The standard objects embedded in the binary.
pub fn standard_objects() -> Vec<ObjectDef> {
    let f: StandardFile = serde_json::from_str(STANDARD_JSON).expect("embedded schema is valid");
    f.objects.into_iter().map(ObjectDef::finish).collect()
}

/// A field of `ftype` with describe's defaults for that type (what a type
/// change in Setup leaves).
pub fn typed_field(name: &str, label: &str, ftype: &str) -> FieldDef {
    fd(name, label, ftype)
}

fn fd(name: &str, label: &str, ftype: &str) -> FieldDef {
    let soap = match ftype {
        "id" => "tns:ID", "reference" => "tns:ID", "boolean" => "xsd:boolean", "datetime" => "xsd:dateTime",
        "date" => "xsd:date", "double" | "currency" | "percent" => "xsd:double", "int" => "xsd:int",
        _ => "xsd:string",
    };
    let length = match ftype { "id" | "reference" => 18, "string" | "email" | "phone" | "url" | "picklist" => 255, "textarea" => 32768, _ => 0 };
    FieldDef {
        name: name.into(), label: label.into(), ftype: ftype.into(), soap_type: soap.into(),
        length, byte_length: length * 3, precision: 0, scale: 0, digits: 0,
        createable: false, updateable: false, nillable: true, defaulted_on_create: false,
        external_id: false, unique: false, id_lookup: false, name_field: false, calculated: false,
        auto_number: false, case_sensitive: false, html_formatted: false, restricted_picklist: false,
        dependent_picklist: false, filterable: true, sortable: ftype != "textarea", groupable: !matches!(ftype, "textarea" | "double" | "currency" | "percent" | "datetime"),
        aggregatable: true, reference_to: vec![], relationship_name: None, polymorphic_foreign_key: false,
        cascade_delete: false, restricted_delete: false, compound_field_name: None, extra_type_info: None,
        default_value: None, controller_name: None, picklist_values: vec![], custom: false,
    }
}

fn system_field(name: &str, label: &str, ftype: &str) -> FieldDef {
    let mut f = fd(name, label, ftype);
    f.nillable = false;
    f.defaulted_on_create = true;
    if name == "Id" { f.id_lookup = true; f.nillable = false; }
    if ftype == "reference" {
        f.reference_to = vec!["User".into()];
        f.relationship_name = Some(name.trim_end_matches("Id").into());
    }
    f
}

/// Declared in the config file: a custom object.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomObjectConfig {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub label_plural: Option<String>,
    /// Default: an autogenerated prefix a00, a01, ...
    #[serde(default)]
    pub key_prefix: Option<String>,
    #[serde(default)]
    pub fields: Vec<CustomFieldConfig>,
}

/// Declared in the config file: a custom field (on a custom or a standard object).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CustomFieldConfig {
    pub name: String,
    #[serde(rename = "type", default = "default_type")]
    pub ftype: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub length: Option<u32>,
    #[serde(default)]
    pub precision: Option<u32>,
    #[serde(default)]
    pub scale: Option<u32>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub case_sensitive: bool,
    #[serde(default)]
    pub picklist_values: Vec<String>,
    #[serde(default)]
    pub restricted: bool,
    #[serde(default)]
    pub reference_to: Option<String>,
    #[serde(default)]
    pub default_value: Option<Value>,
}
fn default_type() -> String { "string".into() }

pub fn custom_field(c: &CustomFieldConfig) -> FieldDef {
    let mut f = fd(&c.name, c.label.as_deref().unwrap_or(c.name.trim_end_matches("__c")), &c.ftype);
    f.custom = true;
    f.createable = true;
    f.updateable = true;
    f.nillable = !c.required && c.ftype != "boolean";
    f.external_id = c.external_id;
    f.unique = c.unique;
    f.case_sensitive = c.case_sensitive;
    f.id_lookup = c.external_id || c.unique;
    if let Some(l) = c.length { f.length = l; f.byte_length = l * 3; }
    if matches!(c.ftype.as_str(), "double" | "currency" | "percent") {
        f.precision = c.precision.unwrap_or(18);
        f.scale = c.scale.unwrap_or(0);
    }
    if c.ftype == "int" { f.digits = c.precision.unwrap_or(9); }
    if c.ftype == "boolean" { f.defaulted_on_create = true; f.default_value = Some(c.default_value.clone().unwrap_or(Value::Bool(false))); }
    else { f.default_value = c.default_value.clone(); if f.default_value.is_some() { f.defaulted_on_create = true; } }
    f.restricted_picklist = c.restricted;
    f.picklist_values = c.picklist_values.iter().map(|v| PicklistValue { value: v.clone(), label: v.clone(), active: true, default_value: false }).collect();
    if let Some(r) = &c.reference_to {
        f.reference_to = vec![r.clone()];
        f.relationship_name = Some(c.name.trim_end_matches("__c").to_string() + "__r");
    }
    f
}

pub fn custom_object(c: &CustomObjectConfig, prefix: String) -> ObjectDef {
    let label = c.label.clone().unwrap_or_else(|| c.name.trim_end_matches("__c").replace('_', " "));
    let mut fields = vec![
        system_field("Id", "Record ID", "id"),
        system_field("OwnerId", "Owner ID", "reference"),
        system_field("IsDeleted", "Deleted", "boolean"),
    ];
    let mut name = fd("Name", &format!("{label} Name"), "string");
    name.length = 80; name.byte_length = 240; name.createable = true; name.updateable = true;
    name.name_field = true; name.id_lookup = true; name.nillable = true;
    fields[1].createable = true; fields[1].updateable = true;
    fields.push(name);
    for (n, l, ty) in [("CreatedDate", "Created Date", "datetime"), ("CreatedById", "Created By ID", "reference"),
        ("LastModifiedDate", "Last Modified Date", "datetime"), ("LastModifiedById", "Last Modified By ID", "reference"),
        ("SystemModstamp", "System Modstamp", "datetime")] {
        fields.push(system_field(n, l, ty));
    }
    fields.extend(c.fields.iter().map(custom_field));
    ObjectDef {
        name: c.name.clone(), label: label.clone(), label_plural: c.label_plural.clone().unwrap_or(format!("{label}s")),
        key_prefix: c.key_prefix.clone().unwrap_or(prefix), createable: true, updateable: true, deletable: true,
        queryable: true, retrieveable: true, searchable: true, triggerable: true, undeletable: true, mergeable: false,
        replicateable: true, layoutable: true, feed_enabled: false, activateable: false, mru_enabled: true, custom: true,
        fields, index: HashMap::new(), rel_index: HashMap::new(),
    }.finish()
}

/// The Organization and User objects: queryable, read-only, materialized from org state.
pub fn virtual_objects() -> Vec<ObjectDef> {
    let org_fields = vec![
        system_field("Id", "Organization ID", "id"),
        { let mut f = fd("Name", "Name", "string"); f.name_field = true; f.length = 80; f },
        fd("IsSandbox", "Is Sandbox", "boolean"),
        fd("OrganizationType", "Edition", "picklist"),
        fd("InstanceName", "Instance Name", "string"),
        fd("NamespacePrefix", "Namespace Prefix", "string"),
        fd("PrimaryContact", "Primary Contact", "string"),
        fd("Country", "Country", "string"),
        fd("LanguageLocaleKey", "Locale", "picklist"),
        fd("TimeZoneSidKey", "Time Zone", "picklist"),
        fd("DefaultLocaleSidKey", "Default Locale", "picklist"),
        fd("TrialExpirationDate", "Trial Expiration Date", "datetime"),
        system_field("CreatedDate", "Created Date", "datetime"),
        system_field("LastModifiedDate", "Last Modified Date", "datetime"),
        system_field("SystemModstamp", "System Modstamp", "datetime"),
    ];
    let user_fields = vec![
        system_field("Id", "User ID", "id"),
        { let mut f = fd("Username", "Username", "string"); f.length = 80; f.unique = true; f.id_lookup = true; f },
        fd("FirstName", "First Name", "string"),
        fd("LastName", "Last Name", "string"),
        { let mut f = fd("Name", "Full Name", "string"); f.name_field = true; f.length = 121; f },
        fd("Email", "Email", "email"),
        fd("Alias", "Alias", "string"),
        fd("IsActive", "Active", "boolean"),
        fd("UserType", "User Type", "picklist"),
        fd("TimeZoneSidKey", "Time Zone", "picklist"),
        fd("LanguageLocaleKey", "Language", "picklist"),
        fd("LocaleSidKey", "Locale", "picklist"),
        { let mut f = fd("CompanyName", "Company Name", "string"); f.length = 80; f },
        system_field("CreatedDate", "Created Date", "datetime"),
        system_field("LastModifiedDate", "Last Modified Date", "datetime"),
        system_field("SystemModstamp", "System Modstamp", "datetime"),
    ];
    let mk = |name: &str, label: &str, plural: &str, prefix: &str, fields: Vec<FieldDef>| ObjectDef {
        name: name.into(), label: label.into(), label_plural: plural.into(), key_prefix: prefix.into(),
        createable: false, updateable: false, deletable: false, queryable: true, retrieveable: true,
        searchable: false, triggerable: false, undeletable: false, mergeable: false, replicateable: false,
        layoutable: false, feed_enabled: false, activateable: false, mru_enabled: false, custom: false,
        fields, index: HashMap::new(), rel_index: HashMap::new(),
    }.finish();
    vec![
        mk("Organization", "Organization", "Organizations", "00D", org_fields),
        mk("User", "User", "Users", "005", user_fields),
    ]
}

// ---------------------------------------------------------------- describe output

pub fn field_describe(f: &FieldDef) -> Value {
    let pl: Vec<Value> = f.picklist_values.iter().map(|p| json!({
        "active": p.active, "defaultValue": p.default_value, "label": p.label, "validFor": null, "value": p.value,
    })).collect();
    json!({
        "aggregatable": f.aggregatable, "aiPredictionField": false, "autoNumber": f.auto_number,
        "byteLength": f.byte_length, "calculated": f.calculated, "calculatedFormula": null,
        "cascadeDelete": f.cascade_delete, "caseSensitive": f.case_sensitive,
        "compoundFieldName": f.compound_field_name, "controllerName": f.controller_name,
        "createable": f.createable, "custom": f.custom, "defaultValue": f.default_value,
        "defaultValueFormula": null, "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": f.dependent_picklist, "deprecatedAndHidden": false, "digits": f.digits,
        "displayLocationInDecimal": false, "encrypted": false, "externalId": f.external_id,
        "extraTypeInfo": f.extra_type_info, "filterable": f.filterable, "filteredLookupInfo": null,
        "formulaTreatNullNumberAsZero": false, "groupable": f.groupable, "highScaleNumber": false,
        "htmlFormatted": f.html_formatted, "idLookup": f.id_lookup, "inlineHelpText": null,
        "label": f.label, "length": f.length, "mask": null, "maskType": null, "name": f.name,
        "nameField": f.name_field, "namePointing": false, "nillable": f.nillable, "permissionable": f.custom && f.nillable,
        "picklistValues": pl, "polymorphicForeignKey": f.polymorphic_foreign_key, "precision": f.precision,
        "queryByDistance": false, "referenceTargetField": null, "referenceTo": f.reference_to,
        "relationshipName": f.relationship_name, "relationshipOrder": null,
        "restrictedDelete": f.restricted_delete, "restrictedPicklist": f.restricted_picklist,
        "scale": f.scale, "searchPrefilterable": false, "soapType": f.soap_type, "sortable": f.sortable,
        "type": f.ftype, "unique": f.unique, "updateable": f.updateable, "writeRequiresMasterRead": false,
    })
}

fn object_urls(o: &ObjectDef, version: &str, ui_base: &str, full: bool) -> Value {
    let b = format!("/services/data/v{version}/sobjects/{}", o.name);
    let mut m = Map::new();
    m.insert("compactLayouts".into(), json!(format!("{b}/describe/compactLayouts")));
    m.insert("rowTemplate".into(), json!(format!("{b}/{{ID}}")));
    m.insert("approvalLayouts".into(), json!(format!("{b}/describe/approvalLayouts")));
    if o.name == "Case" {
        m.insert("caseArticleSuggestions".into(), json!(format!("{b}/suggestedArticles")));
        m.insert("caseRowArticleSuggestions".into(), json!(format!("{b}/{{ID}}/suggestedArticles")));
    }
    if full {
        m.insert("uiDetailTemplate".into(), json!(format!("{ui_base}/{{ID}}")));
        m.insert("uiEditTemplate".into(), json!(format!("{ui_base}/{{ID}}/e")));
    }
    m.insert("defaultValues".into(), json!(format!("{b}/defaultValues?recordTypeId&fields")));
    m.insert("listviews".into(), json!(format!("{b}/listviews")));
    m.insert("describe".into(), json!(format!("{b}/describe")));
    if full {
        m.insert("uiNewRecord".into(), json!(format!("{ui_base}/{}/e", o.key_prefix)));
    }
    m.insert("quickActions".into(), json!(format!("{b}/quickActions")));
    m.insert("layouts".into(), json!(format!("{b}/describe/layouts")));
    m.insert("sobject".into(), json!(b));
    Value::Object(m)
}

/// One entry of the global describe (`GET /sobjects/`) and the `objectDescribe` of `GET /sobjects/T/`.
pub fn global_entry(o: &ObjectDef, version: &str) -> Value {
    json!({
        "activateable": o.activateable, "createable": o.createable, "custom": o.custom,
        "customSetting": false, "deepCloneable": false, "deletable": o.deletable, "deprecatedAndHidden": false,
        "feedEnabled": o.feed_enabled, "hasSubtypes": false, "isInterface": false, "isSubtype": false,
        "keyPrefix": o.key_prefix, "label": o.label, "labelPlural": o.label_plural, "layoutable": o.layoutable,
        "mergeable": o.mergeable, "mruEnabled": o.mru_enabled, "name": o.name, "queryable": o.queryable,
        "replicateable": o.replicateable, "retrieveable": o.retrieveable, "searchable": o.searchable,
        "triggerable": o.triggerable, "undeletable": o.undeletable, "updateable": o.updateable,
        "urls": object_urls(o, version, "", false),
    })
}

/// Name of the child relationship from a parent to `child` (Contacts, Opportunities, Survey_Responses__r).
pub fn child_relationship_name(child: &ObjectDef) -> String {
    if child.custom { format!("{}__r", child.label_plural.replace(' ', "_")) } else { child.label_plural.replace(' ', "") }
}

/// Full `GET /sobjects/T/describe` body.
pub fn object_describe(o: &ObjectDef, version: &str, ui_base: &str, all: &[std::sync::Arc<ObjectDef>]) -> Value {
    let child: Vec<Value> = all.iter().flat_map(|other| {
        other.fields.iter().filter(|f| f.reference_to.iter().any(|r| r == &o.name) && f.relationship_name.is_some())
            .map(move |f| json!({
                "cascadeDelete": f.cascade_delete, "childSObject": other.name, "deprecatedAndHidden": false,
                "field": f.name, "junctionIdListNames": [], "junctionReferenceTo": [],
                "relationshipName": child_relationship_name(other),
                "restrictedDelete": f.restricted_delete,
            }))
    }).collect();
    let master_rt = format!("{}AAA", "012000000000000");
    json!({
        "actionOverrides": [], "activateable": o.activateable, "childRelationships": child,
        "compactLayoutable": o.layoutable, "createable": o.createable, "custom": o.custom, "customSetting": false,
        "deepCloneable": false, "defaultImplementation": null, "deletable": o.deletable, "deprecatedAndHidden": false,
        "extendedBy": null, "extendsInterfaces": null, "feedEnabled": o.feed_enabled,
        "fields": o.fields.iter().map(field_describe).collect::<Vec<_>>(),
        "hasSubtypes": false, "implementedBy": null, "implementsInterfaces": null, "isInterface": false,
        "isSubtype": false, "keyPrefix": o.key_prefix, "label": o.label, "labelPlural": o.label_plural,
        "layoutable": o.layoutable, "listviewable": null, "lookupLayoutable": null, "mergeable": o.mergeable,
        "mruEnabled": o.mru_enabled, "name": o.name, "namedLayoutInfos": [], "networkScopeFieldName": null,
        "queryable": o.queryable,
        "recordTypeInfos": [{
            "active": true, "available": true, "defaultRecordTypeMapping": true, "developerName": "Master",
            "master": true, "name": "Master", "recordTypeId": master_rt,
            "urls": {"layout": format!("/services/data/v{version}/sobjects/{}/describe/layouts/{master_rt}", o.name)}
        }],
        "replicateable": o.replicateable, "retrieveable": o.retrieveable, "searchLayoutable": o.searchable,
        "searchable": o.searchable, "supportedScopes": [{"label": "All", "name": "everything"}],
        "triggerable": o.triggerable, "undeletable": o.undeletable, "updateable": o.updateable,
        "urls": object_urls(o, version, ui_base, true),
    })
}
