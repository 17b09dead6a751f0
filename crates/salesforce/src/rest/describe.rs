//! Describe: what objects and fields an org has, with types, lengths and picklists.
//! Mappings are type-checked against these before anything is written.

use super::{path_segment, Client};
use crate::error::SalesforceError;
use serde::Deserialize;

impl Client {
    /// GET /sobjects: every object of the org.
    pub async fn describe_global(&self) -> Result<GlobalDescribe, SalesforceError> {
        self.get_json(&self.data_path("/sobjects"), "describe global").await
    }

    /// GET /sobjects/{T}/describe: fields, types, lengths, picklists.
    pub async fn describe(&self, sobject: &str) -> Result<SObjectDescribe, SalesforceError> {
        self.get_json(&self.data_path(&format!("/sobjects/{}/describe", path_segment(sobject))), "describe").await
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GlobalDescribe {
    #[serde(default)]
    pub encoding: Option<String>,
    #[serde(default)]
    pub max_batch_size: Option<u32>,
    pub sobjects: Vec<SObjectSummary>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectSummary {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub queryable: bool,
    #[serde(default)]
    pub key_prefix: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SObjectDescribe {
    pub name: String,
    pub label: String,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub deletable: bool,
    #[serde(default)]
    pub key_prefix: Option<String>,
    pub fields: Vec<FieldDescribe>,
}

impl SObjectDescribe {
    pub fn field(&self, name: &str) -> Option<&FieldDescribe> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }
}

code_enum!(
    /// A field's `type` in describe results.
    FieldType {
        Id => "id",
        String => "string",
        TextArea => "textarea",
        Boolean => "boolean",
        Int => "int",
        Long => "long",
        Double => "double",
        Currency => "currency",
        Percent => "percent",
        Date => "date",
        DateTime => "datetime",
        Time => "time",
        Email => "email",
        Phone => "phone",
        Url => "url",
        Picklist => "picklist",
        MultiPicklist => "multipicklist",
        Combobox => "combobox",
        Reference => "reference",
        Base64 => "base64",
        EncryptedString => "encryptedstring",
        Address => "address",
        Location => "location",
        AnyType => "anyType",
    }
);

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldDescribe {
    pub name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub length: u32,
    #[serde(default)]
    pub precision: u32,
    #[serde(default)]
    pub scale: u32,
    #[serde(default)]
    pub createable: bool,
    #[serde(default)]
    pub updateable: bool,
    #[serde(default)]
    pub nillable: bool,
    #[serde(default)]
    pub defaulted_on_create: bool,
    #[serde(default)]
    pub external_id: bool,
    #[serde(default)]
    pub unique: bool,
    #[serde(default)]
    pub custom: bool,
    #[serde(default)]
    pub calculated: bool,
    #[serde(default)]
    pub restricted_picklist: bool,
    #[serde(default)]
    pub filterable: bool,
    #[serde(default)]
    pub picklist_values: Vec<PicklistValue>,
    #[serde(default)]
    pub reference_to: Vec<String>,
    #[serde(default)]
    pub relationship_name: Option<String>,
}

impl FieldDescribe {
    /// Salesforce requires a value on create when the field is createable, not nillable and not defaulted.
    pub fn is_required_on_create(&self) -> bool {
        self.createable && !self.nillable && !self.defaulted_on_create && self.field_type != FieldType::Boolean
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PicklistValue {
    pub value: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub active: bool,
    #[serde(default)]
    pub default_value: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn shared_describe_samples_parse() {
        // Real describe responses collected in shared/salesforce-samples (see SOURCES.md there).
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/salesforce-samples");
        let Ok(entries) = std::fs::read_dir(&dir) else { return };
        let mut parsed = 0;
        for e in entries.flatten() {
            let p = e.path();
            let name = p.file_name().unwrap().to_string_lossy().to_lowercase();
            if !name.ends_with(".json") {
                continue;
            }
            let text = std::fs::read_to_string(&p).unwrap();
            let v: Value = serde_json::from_str(&text).unwrap();
            if v.get("fields").is_some() {
                let d: SObjectDescribe = serde_json::from_value(v).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert!(!d.fields.is_empty());
                parsed += 1;
            } else if v.get("sobjects").is_some() {
                let g: GlobalDescribe = serde_json::from_value(v).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
                assert!(!g.sobjects.is_empty());
                parsed += 1;
            }
        }
        assert!(parsed > 0, "no describe samples found in {}", dir.display());
    }
}
