//! Schema changes an admin makes in Salesforce Setup, for tests of what a
//! mapping does when the org changes under it (see admin.rs for the routes):
//! delete a custom field, make a field read-only, change its type, remove a
//! picklist value, and restore an object as the org started. Changes live
//! in memory only; records keep their values, so a restored field brings
//! its data back, as undeleting a field does in Salesforce.

use crate::admin::find_org;
use crate::schema::{self, FieldDef, ObjectDef};
use crate::server::S;
use crate::state::Org;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, post, put};
use axum::{Json, Router};
use serde_json::{json, Value};

pub fn routes() -> Router<S> {
    Router::new()
        .route("/orgs/{org}/schema/{object}/fields/{field}", delete(delete_field))
        .route("/orgs/{org}/schema/{object}/fields/{field}/read-only", post(make_read_only))
        .route("/orgs/{org}/schema/{object}/fields/{field}/type", put(change_type))
        .route("/orgs/{org}/schema/{object}/fields/{field}/picklist-values/{value}", delete(remove_picklist_value))
        .route("/orgs/{org}/schema/{object}/restore", post(restore))
}

fn refused(status: StatusCode, error: String) -> Response {
    (status, Json(json!({ "error": error }))).into_response()
}

/// Changes one field of one object of the org with `change`, which may refuse.
fn change_field(s: &S, org: &str, object: &str, field: &str, change: impl FnOnce(&mut ObjectDef, usize) -> Result<Value, String>) -> Response {
    let o: std::sync::Arc<Org> = match find_org(&s.app, org) { Ok(o) => o, Err(r) => return r };
    let Some(obj) = o.object(object) else { return refused(StatusCode::NOT_FOUND, format!("no object {object} in org {}", o.id)) };
    let mut def: ObjectDef = (**obj).clone();
    let Some(i) = def.fields.iter().position(|f| f.name.eq_ignore_ascii_case(field)) else {
        return refused(StatusCode::NOT_FOUND, format!("no field {field} on {}", def.name));
    };
    match change(&mut def, i) {
        Ok(answer) => {
            o.replace_object(def);
            Json(answer).into_response()
        }
        Err(e) => refused(StatusCode::BAD_REQUEST, e),
    }
}

async fn delete_field(State(s): State<S>, Path((org, object, field)): Path<(String, String, String)>) -> Response {
    change_field(&s, &org, &object, &field, |def, i| {
        // Setup deletes custom fields only; standard fields stay.
        if !def.fields[i].custom {
            return Err(format!("{} is a standard field: Salesforce deletes only custom fields", def.fields[i].name));
        }
        let gone = def.fields.remove(i);
        Ok(json!({ "deleted": gone.name, "object": def.name }))
    })
}

async fn make_read_only(State(s): State<S>, Path((org, object, field)): Path<(String, String, String)>) -> Response {
    change_field(&s, &org, &object, &field, |def, i| {
        // Field-level security set to read-only for the profile: describe
        // says neither createable nor updateable, and writes are refused.
        let f = &mut def.fields[i];
        f.createable = false;
        f.updateable = false;
        Ok(schema::field_describe(f))
    })
}

async fn change_type(State(s): State<S>, Path((org, object, field)): Path<(String, String, String)>, Json(body): Json<Value>) -> Response {
    let Some(ftype) = body.get("type").and_then(Value::as_str).map(str::to_string) else {
        return refused(StatusCode::BAD_REQUEST, "send {\"type\": \"boolean\"} (a describe type: string, textarea, double, int, boolean, date, datetime, picklist, email, phone, url)".into());
    };
    change_field(&s, &org, &object, &field, move |def, i| {
        const TYPES: [&str; 12] = ["string", "textarea", "double", "int", "currency", "percent", "boolean", "date", "datetime", "picklist", "email", "phone"];
        if !TYPES.contains(&ftype.as_str()) && ftype != "url" {
            return Err(format!("\"{ftype}\" is not a field type the emulator can change to"));
        }
        let was: &FieldDef = &def.fields[i];
        let mut f = schema::typed_field(&was.name, &was.label, &ftype);
        f.custom = was.custom;
        f.createable = was.createable;
        f.updateable = was.updateable;
        f.nillable = was.nillable && ftype != "boolean";
        f.external_id = was.external_id;
        f.unique = was.unique;
        f.id_lookup = was.id_lookup;
        if ftype == "boolean" {
            f.defaulted_on_create = true;
            f.default_value = Some(Value::Bool(false));
        }
        def.fields[i] = f;
        Ok(schema::field_describe(&def.fields[i]))
    })
}

async fn remove_picklist_value(State(s): State<S>, Path((org, object, field, value)): Path<(String, String, String, String)>) -> Response {
    change_field(&s, &org, &object, &field, |def, i| {
        let f = &mut def.fields[i];
        let before = f.picklist_values.len();
        f.picklist_values.retain(|v| v.value != value);
        if f.picklist_values.len() == before {
            return Err(format!("\"{value}\" is not a value of the {} picklist", f.name));
        }
        Ok(schema::field_describe(f))
    })
}

async fn restore(State(s): State<S>, Path((org, object)): Path<(String, String)>) -> Response {
    let o = match find_org(&s.app, &org) { Ok(o) => o, Err(r) => return r };
    let Some(original) = o.original_object(&object) else { return refused(StatusCode::NOT_FOUND, format!("no object {object} in org {}", o.id)) };
    let def: ObjectDef = (**original).clone();
    let name = def.name.clone();
    o.replace_object(def);
    Json(json!({ "restored": name })).into_response()
}

#[cfg(test)]
mod tests {
    use crate::config::EmulatorConfig;
    use crate::state::App;
    use serde_json::json;

    #[test]
    fn a_deleted_field_is_gone_from_one_org_only_and_a_restore_brings_it_back() {
        let app = App::new(EmulatorConfig::default_demo()).unwrap();
        let (one, other) = (&app.orgs[0], &app.orgs[1]);
        let mut def = (**one.object("Survey_Response__c").unwrap()).clone();
        def.fields.retain(|f| f.name != "Score__c");
        let prefix = def.key_prefix.clone();
        one.replace_object(def);
        assert!(one.object("survey_response__c").unwrap().field("Score__c").is_none());
        assert!(one.object_by_prefix(&format!("{prefix}000000000001")).unwrap().field("Score__c").is_none());
        assert!(other.object("Survey_Response__c").unwrap().field("Score__c").is_some(), "the other org keeps its field");

        // A write naming it gets Salesforce's own answer.
        let obj = one.object("Survey_Response__c").unwrap().clone();
        let body = json!({ "Score__c": 9 }).as_object().unwrap().clone();
        let refused = crate::records::create(one, &obj, "005000000000001", &body).err().expect("refused");
        let answer = refused.rest_body().to_string();
        assert!(answer.contains("INVALID_FIELD") && answer.contains("No such column 'Score__c' on sobject of type Survey_Response__c"), "{answer}");

        one.replace_object((**one.original_object("Survey_Response__c").unwrap()).clone());
        assert!(one.object("Survey_Response__c").unwrap().field("Score__c").is_some());
    }
}
