//! Adding a response mapping by picking, not typing: first the object, from
//! the owner's org's own list (searchable, by label and API name); then how
//! each response reaches it — one record per response, upserted by an
//! external id field Insight fills with the response id, or an update of
//! the record a signed link or invitation names, or an update (or create)
//! of the record matched on a field. Only what the org offers
//! is offered; what it lacks is said, with how to add it in Salesforce.

use crate::auth::session::{CurrentAccount, SignedForm};
use crate::error::{WebError, WebResult};
use crate::pages::layout::{flash_error, page, post_form};
use crate::pages::project_frame::{self, require_edit, Tab};
use crate::state::AppState;
use app::integration::{Change, MappingOffer};
use app::projects::Project;
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::mapping::{matching_objects, ObjectSchema, ObjectSummary};
use domain::SObjectName;
use maud::{html, Markup};
use serde::Deserialize;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce/mappings/new", get(view))
        .route("/projects/{id}/salesforce/mappings", post(add))
}

#[derive(Deserialize, Default)]
struct Pick {
    #[serde(default)]
    object: String,
    #[serde(default)]
    q: String,
}

/// What was typed into the second step, kept when it is refused.
#[derive(Deserialize, Default, Clone)]
#[serde(deny_unknown_fields)]
struct MappingForm {
    object: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    key_field: String,
    #[serde(default)]
    record_id: String,
    #[serde(default)]
    match_field: String,
    #[serde(default)]
    match_source: String,
    #[serde(default)]
    when_none: String,
}

impl MappingForm {
    fn as_new(&self) -> app::integration::NewMapping<'_> {
        app::integration::NewMapping {
            object: &self.object,
            action: &self.action,
            key_field: &self.key_field,
            record_id: &self.record_id,
            match_field: &self.match_field,
            match_source: &self.match_source,
            when_none: &self.when_none,
        }
    }
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, Query(pick): Query<Pick>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let object = match pick.object.trim() {
        "" => None,
        raw => Some(SObjectName::parse(raw).map_err(|e| WebError::BadRequest(e.0))?),
    };
    let offer = state.app.mapping_offer(&project, object.as_ref()).await?;
    let form = MappingForm { object: pick.object.trim().to_string(), ..Default::default() };
    Ok(render(&who, &project, &offer, &pick.q, &form, None).into_response())
}

async fn add(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<MappingForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.require_salesforce()?;
    let mapping = app::integration::parse_mapping(&form.as_new());
    let outcome = match mapping {
        Ok(m) => state.app.change_mappings(&project, &who.account, Change::AddMapping(m)).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    let e = match outcome {
        Ok(()) => return Ok(Redirect::to(&format!("/projects/{id}/salesforce?saved=1")).into_response()),
        Err(e) => WebError::from(e),
    };
    if matches!(e, WebError::Forbidden(_) | WebError::NotFound | WebError::Internal(_)) {
        return Err(e);
    }
    // The same step again, with what was chosen and why it was refused.
    let object = SObjectName::parse(&form.object).ok();
    let offer = state.app.mapping_offer(&project, object.as_ref()).await?;
    Ok((e.status(), render(&who, &project, &offer, "", &form, Some(&e.public_message()))).into_response())
}

fn render(who: &CurrentAccount, project: &Project, offer: &MappingOffer, q: &str, form: &MappingForm, error: Option<&str>) -> Markup {
    let access = app::projects::access(project);
    let base = format!("/projects/{}/salesforce", project.id);
    page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Salesforce))
            p.muted { a href=(base) { "‹ Salesforce" } }
            h2 { "Add a response mapping" }
            (flash_error(error))
            @match &offer.picked {
                None => { (pick_object(offer, &base, q)) }
                Some(None) => {
                    div.flash.error role="alert" { (offer.org_name) " has no object " code { (form.object) } ". Pick one of its objects below." }
                    (pick_object(offer, &base, q))
                }
                Some(Some(schema)) => { (choose_action(who, offer, schema, &base, form)) }
            }
        },
    )
}

/// Step 1: the org's objects, searchable; custom ones first, since a survey
/// usually writes into an object made for it.
fn pick_object(offer: &MappingOffer, base: &str, q: &str) -> Markup {
    let shown = matching_objects(&offer.objects, q);
    let (custom, standard): (Vec<&ObjectSummary>, Vec<&ObjectSummary>) = shown.into_iter().partition(|o| o.custom);
    html! {
        div.card #pick-object {
            h3 .mt-0 { "1. Pick the Salesforce object" }
            p.muted { "The objects of " strong { (offer.org_name) } " that its Salesforce user may create or update records of." }
            form.row method="get" action={(base) "/mappings/new"} {
                input type="search" name="q" value=(q) placeholder="Search by label or API name" aria-label="Search objects" data-filter="object-picker" .max-w-18;
                button.secondary type="submit" { "Search" }
            }
            @if custom.is_empty() && standard.is_empty() {
                p #no-objects { "No object of " (offer.org_name) " matches \"" (q) "\". " a href={(base) "/mappings/new"} { "Show all" } }
            } @else {
                form method="get" action={(base) "/mappings/new"} {
                    select #object-picker name="object" size="12" required aria-label="Salesforce object" {
                        @if !custom.is_empty() {
                            optgroup label="Custom objects" { @for o in &custom { option value=(o.name) { (o.label) " (" (o.name) ")" } } }
                        }
                        @if !standard.is_empty() {
                            optgroup label="Standard objects" { @for o in &standard { option value=(o.name) { (o.label) " (" (o.name) ")" } } }
                        }
                    }
                    p { button type="submit" { "Next" } }
                }
            }
        }
    }
}

/// Step 2: how each response reaches the picked object — only the ways the
/// object allows, each with what it needs.
fn choose_action(who: &CurrentAccount, offer: &MappingOffer, schema: &ObjectSchema, base: &str, form: &MappingForm) -> Markup {
    let keys = schema.upsert_key_candidates();
    let can_upsert = schema.createable && schema.updateable && !keys.is_empty();
    let can_update = schema.updateable && !offer.survey.embedded.is_empty();
    let match_fields = schema.match_candidates();
    // What a match can compare: a typed text or email answer, or embedded data.
    let match_sources: Vec<(String, String)> = offer
        .survey
        .asked()
        .filter(|q| matches!(q.kind, domain::QuestionKind::Text { multiline: false } | domain::QuestionKind::Email))
        .map(|q| (format!("answer:{}", q.id), format!("Answer: {}", q.text.as_str())))
        .chain(offer.survey.embedded.iter().map(|e| (format!("embedded:{}", e.as_str()), format!("Embedded data: {}", e.as_str()))))
        .collect();
    let can_match = schema.updateable && !match_fields.is_empty() && !match_sources.is_empty();
    let chosen = match form.action.as_str() {
        "" if can_upsert => "upsert",
        "" => "update",
        other => other,
    };
    html! {
        div.card #choose-action {
            h3 .mt-0 { "2. How each response reaches " (schema.label) " " span.muted { "(" code { (schema.name) } ")" } }
            p.muted { a href={(base) "/mappings/new"} { "Pick another object" } }
            (post_form(&format!("{base}/mappings"), &who.csrf, html! {
                input type="hidden" name="object" value=(schema.name);
                fieldset #action-upsert {
                    label.inline {
                        input type="radio" name="action" value="upsert" checked[chosen == "upsert"] disabled[!can_upsert];
                        " One " (schema.label) " record per response"
                    }
                    @if can_upsert {
                        p.muted { "Insight upserts by an external id field and fills it with each response's id, so every response has its own record and a retried delivery finds the one it made." }
                        label { "External id field"
                            select name="key_field" aria-label="External id field" {
                                @for k in &keys { option value=(k.name) selected[form.key_field.eq_ignore_ascii_case(&k.name)] { (k.label) " (" (k.name) ", text " (k.length) ")" } }
                            }
                        }
                    } @else if !(schema.createable && schema.updateable) {
                        p.muted #no-upsert { "This Salesforce user may not both create and update " (schema.label) " records." }
                    } @else {
                        p.muted #no-key { (schema.label) " has no external id field that can hold a response id. In Salesforce Setup: Object Manager → "
                            (schema.label) " → Fields & Relationships → New → Text (length 24 or more), tick " em { "External ID" } " and " em { "Unique" } ", then come back here." }
                    }
                }
                fieldset #action-update {
                    label.inline {
                        input type="radio" name="action" value="update" checked[chosen == "update"] disabled[!can_update];
                        " Update the " (schema.label) " record the survey link names"
                    }
                    @if can_update {
                        p.muted { "The record id comes from embedded data, and Insight writes only where a signed link or a personal invitation put it: an id typed into a plain link never picks the record." }
                        label { "Record id from"
                            select name="record_id" aria-label="Record id from" {
                                @for e in &offer.survey.embedded {
                                    @let code = format!("embedded:{}", e.as_str());
                                    option value=(code) selected[form.record_id == code] { "Embedded data: " (e.as_str()) }
                                }
                            }
                        }
                    } @else if !schema.updateable {
                        p.muted { "This Salesforce user may not update " (schema.label) " records." }
                    } @else {
                        p.muted #no-embedded { "Declare embedded data on the survey first (e.g. " code { "record_id" } ") to carry the record's id in signed links and invitations." }
                    }
                }
                fieldset #action-match {
                    label.inline {
                        input type="radio" name="action" value="match" checked[chosen == "match"] disabled[!can_match];
                        " Update the " (schema.label) " record that matches an answer"
                    }
                    @if can_match {
                        p.muted { "Insight looks the record up by a field (for a Contact, its Email) with one query per batch of responses. When several records match, the response fails with their ids, and nothing is written." }
                        div.row {
                            label { "Match on"
                                select name="match_field" aria-label="Match on field" {
                                    @for f in &match_fields { option value=(f.name) selected[form.match_field.eq_ignore_ascii_case(&f.name)] { (f.label) " (" (f.name) ")" } }
                                }
                            }
                            label { "equal to"
                                select name="match_source" aria-label="Matched value" {
                                    @for (code, label) in &match_sources { option value=(code) selected[form.match_source == *code] { (label) } }
                                }
                            }
                            label { "When none matches"
                                select name="when_none" aria-label="When none matches" {
                                    option value="create" selected[form.when_none != "skip"] { "create one" }
                                    option value="skip" selected[form.when_none == "skip"] { "skip the response" }
                                }
                            }
                        }
                        p.muted #match-trust { "Whoever answers decides which record is updated: an answer with someone else's email updates their record. Embedded data decides only when it comes from a signed link or a personal invitation." }
                    } @else if !schema.updateable {
                        p.muted { "This Salesforce user may not update " (schema.label) " records." }
                    } @else if match_fields.is_empty() {
                        p.muted #no-match-field { (schema.label) " has no text, email or phone field that records can be looked up by." }
                    } @else {
                        p.muted #no-match-source { "Add a text or email question, or declare embedded data, to match records on." }
                    }
                }
                p { button type="submit" disabled[!can_upsert && !can_update && !can_match] { "Add mapping" } }
            }))
        }
    }
}
