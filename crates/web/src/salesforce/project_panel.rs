//! A project's Salesforce panel: whose link the project uses (always its
//! original owner's), its response mappings checked against that link's org,
//! the transition that re-validates them after a switch or a transfer, and
//! the project's Salesforce history. Only the owner, or an editor the owner
//! granted Salesforce changes, may change them; others see them read-only.

use crate::auth::session::{CurrentAccount, SignedForm, EmptyForm};
use crate::error::WebResult;
use crate::pages::layout::{confirm_form, post_form, post_form_with_class, flash_error, flash_ok, page};
use crate::pages::project_frame::{self, require_edit, Tab};
use crate::state::AppState;
use crate::error::WebError;
use crate::time_fmt;
use app::integration::{Change, IntegrationCheck};
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;
use domain::{Access, FieldName, FieldRule, MappingAction, SalesforceWork, ValueSource};
use maud::{html, Markup};
use serde::Deserialize;
use app::projects::Project;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/projects/{id}/salesforce", get(view))
        .route("/projects/{id}/salesforce/mappings/{m}/delete", post(remove_mapping))
        .route("/projects/{id}/salesforce/mappings/{m}/rules", post(add_rule))
        .route("/projects/{id}/salesforce/mappings/{m}/rules/{r}/delete", post(remove_rule))
        .route("/projects/{id}/salesforce/mappings/{m}/condition", post(add_clause))
        .route("/projects/{id}/salesforce/mappings/{m}/condition/clear", post(clear_condition))
        .route("/projects/{id}/salesforce/transition", post(transition))
        .route("/projects/{id}/salesforce/retry-failed", post(retry_failed))
}

#[derive(Deserialize, Default)]
struct Shown {
    /// After a change: say what was saved (the viewer's latest entry in the
    /// project's history, so the words are never taken from the URL).
    #[serde(default)]
    saved: Option<String>,
    /// After Retry all failed: how many were put back.
    #[serde(default)]
    retried: Option<u64>,
    /// After a transition: the survey delivers again.
    #[serde(default)]
    reenabled: Option<String>,
}

async fn view(State(state): State<AppState>, who: CurrentAccount, Path(id): Path<i64>, axum::extract::Query(shown): axum::extract::Query<Shown>) -> WebResult<Markup> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    let saved = match (shown.saved, shown.retried, shown.reenabled) {
        (Some(_), _, _) => state.app.latest_change_by(&project, &who.account).await?.map(|change| format!("Saved: {change}.")),
        (_, Some(n), _) => Some(format!("{n} failed deliveries will be tried again.")),
        // The org named is the owner's, read now, never words from the URL.
        (_, _, Some(_)) => state.app.link(project.owner_id).await?.map(|l| format!("Re-enabled: the survey now delivers to {} ({}).", l.org_name, l.org_id)),
        _ => None,
    };
    let note = crate::notes::take(&state, &who, &format!("/projects/{id}/salesforce")).await?;
    let saved = saved.as_deref().or(note.as_ref().and_then(crate::notes::Note::done_text));
    let problem = note.as_ref().and_then(crate::notes::Note::problem_text);
    render(&state, &who, &project, access, problem, saved).await
}

pub(crate) async fn render(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, error: Option<&str>, ok: Option<&str>) -> WebResult<Markup> {
    render_with_import(state, who, project, access, error, ok, &Default::default(), None).await
}

/// A refused form of a mapping's card, shown again there with what was
/// typed and why it was refused.
#[derive(Debug, Clone)]
pub(crate) enum Typed {
    Rule(TypedRule),
    Clause(TypedClause),
}

/// A refused add-condition form.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypedClause {
    pub mapping: usize,
    pub join: String,
    pub subject: String,
    pub op: String,
    pub value: String,
    pub error: String,
}

/// A refused add-field form.
#[derive(Debug, Clone, Default)]
pub(crate) struct TypedRule {
    pub mapping: usize,
    pub source: String,
    pub field: String,
    pub value: String,
    pub cut: bool,
    pub error: String,
}

/// The panel, its mappings-as-JSON section showing `import`.
pub(crate) async fn render_with_import(
    state: &AppState,
    who: &CurrentAccount,
    project: &Project,
    access: Access,
    error: Option<&str>,
    ok: Option<&str>,
    import: &super::mapping_json::ImportView,
    typed: Option<&Typed>,
) -> WebResult<Markup> {
    let app::integration::SalesforcePanel { work: status, survey, check, history, counts } = state.app.salesforce_panel(project).await?;
    let is_owner = project.owner_id == who.account.id;
    let base = format!("/projects/{}/salesforce", project.id);
    let backfill = state.app.backfill(project).await?;
    let mapped = check.as_ref().and_then(|c| c.as_ref().ok()).map(|c| c.mappings.len()).unwrap_or(0);
    let schema_check = state.app.schema_check(project).await?;
    let fields_checked = mapped > 0 || schema_check.drift.is_some();
    Ok(page(
        &project.name,
        Some(who),
        html! {
            (project_frame::header(project, access, Tab::Salesforce))
            h2 { "Salesforce" }
            (flash_error(error))
            (flash_ok(ok))
            div.card #project-salesforce {
                @match &status {
                    SalesforceWork::GoesToOwnersOrg { owner, link } => {
                        p data-testid="uses-link" { "Uses the Salesforce link of " strong { (owner.name) } ": "
                            (link.environment.label().to_lowercase()) " org " strong { (link.org_name) } ", " code { (link.org_id) } "." }
                    }
                    SalesforceWork::MappingsDoNotFitYet { owner, link, .. } => {
                        p data-testid="uses-link" { "Uses the Salesforce link of " strong { (owner.name) } ": "
                            (link.environment.label().to_lowercase()) " org " strong { (link.org_name) } ", " code { (link.org_id) } "." }
                        p data-testid="not-fitting" { "Responses are held — nothing is lost — until every mapping below fits " (link.org_name) "." }
                    }
                    SalesforceWork::OwnerHasNoLink { owner } => {
                        p data-testid="no-link" { strong { (owner.name) } " (" (owner.email) "), the project's owner, has not linked Salesforce. "
                            "This project's Salesforce work is held until they do — nothing is lost." }
                        @if is_owner {
                            p { a.button href={"/salesforce/link?return_to=" (base)} { "Setup Link to Salesforce Account" } }
                        } @else {
                            p.muted { "Ask " (owner.name) " to link Salesforce from any of their surveys: Tools → Salesforce → Setup Link to Salesforce Account. Your own Salesforce link is never used for this project." }
                        }
                    }
                    SalesforceWork::OwnerLinkNeedsReauthentication { owner, link } => {
                        p data-testid="needs-reauth" { "The Salesforce link of " strong { (owner.name) } " (" (link.org_name) ", " code { (link.org_id) } ") needs them to sign in to Salesforce again. "
                            "This project's Salesforce work is paused until then — nothing is lost." }
                        @if !is_owner { p.muted { "Ask " (owner.name) " (" (owner.email) ") to open Salesforce settings and sign in again." } }
                    }
                    SalesforceWork::PinnedAfterSwitch { owner, link, validated_org } => {
                        p data-testid="disrupted" { "Paused: this survey's mappings were validated against org " code { (validated_org) } ", but "
                            strong { (owner.name) } "'s link now points at " strong { (link.org_name) } " (" code { (link.org_id) } "). "
                            "Nothing is written to either org until the transition below re-validates the survey against " (link.org_name) "." }
                    }
                    SalesforceWork::PinnedAfterTransfer { owner, link, validated_org } => {
                        p data-testid="disrupted" data-reason="transfer" { "Paused: ownership of this project moved to " strong { (owner.name) } ". "
                            "Its mappings were validated against org " code { (validated_org) } " with the previous owner's link, so nothing is written to any org "
                            "until " (owner.name) " runs the transition below against their own org, " strong { (link.org_name) } " (" code { (link.org_id) } ")." }
                    }
                }
                @if !is_owner {
                    p.muted { "You are a collaborator: projects always use their owner's link, never yours, and you never see the owner's Salesforce credentials." }
                    @if access.can_change_salesforce() {
                        p data-testid="salesforce-grant" { (project.owner_name) " granted you changes to what this project writes into their Salesforce org. Every change is in the project's Salesforce history below." }
                    } @else if access.can_edit() {
                        p data-testid="read-only" { "Read-only: this project writes into the Salesforce org of " strong { (project.owner_name) } " (" (project.owner_email) "), so they decide what it writes. "
                            "To change its mappings or run its transition, ask " (project.owner_name) " to grant you " em { "may change what this project writes into my Salesforce org" } " on the project's Sharing page." }
                    }
                }
            }
            div.card #salesforce-features {
                p .m-0 { strong { "Response Mapping" } " (below): responses create or update Salesforce records. · "
                    a #trigger-link href={(base) "/trigger"} { "Trigger and Email Survey →" } " a Salesforce event emails a personal survey, and the answer lands back on the record." }
            }
            @if counts != Default::default() {
                div.card #deliveries {
                    h3 .mt-0 { "Deliveries" }
                    p {
                        span data-testid="delivered" { (counts.delivered) " delivered" } " · "
                        span data-testid="pending" { (counts.pending) " on their way"
                            @if counts.waiting_for_budget > 0 { " (" span data-testid="waiting-for-budget" { (counts.waiting_for_budget) " waiting for API budget" } ")" } } " · "
                        span data-testid="held" { (counts.held) " held" } " · "
                        span data-testid="failed" { (counts.failed) " failed" } " · "
                        span data-testid="discarded" { (counts.discarded) " discarded" }
                    }
                    p { a #delivery-log-link href={(base) "/deliveries"} { "Delivery log →" } span.muted { " every response's delivery: filter, search, retry or give up" } }
                    @if counts.failed > 0 {
                        p.muted { "Each failed response's page shows Salesforce's exact error. Fix the cause (a mapping, a field in Salesforce), then retry." }
                        @if access.can_edit() {
                            (post_form(&format!("{base}/retry-failed"), &who.csrf, html! {
                                button.secondary type="submit" { "Retry all " (counts.failed) " failed" }
                            }))
                        }
                    }
                }
            }
            @if let Some(check) = &check {
                @match check {
                    Ok(check) => { (mappings_section(who, access, &survey, check, &status, &base, counts.held, typed)) }
                    Err(e) => { div.flash.error { "Could not check the mappings: " (e.to_string()) } }
                }
            }
            @if fields_checked { (super::schema_check::section(who, &schema_check, access.can_edit(), &base)) }
            (super::backfill::section(who, access, &base, backfill.as_ref(), mapped))
            (super::mapping_json::section(who, access, &base, import))
            (history_section(&history))
        },
    ))
}

/// Every change to what the project writes into Salesforce: who, what, when.
fn history_section(history: &[app::sharing::HistoryEntry]) -> Markup {
    html! {
        div.card #salesforce-history {
            h3 .mt-0 { "Salesforce history" }
            @if history.is_empty() {
                p.muted { "No changes yet." }
            } @else {
                table {
                    thead { tr { th { "When" } th { "Who" } th { "Change" } } }
                    tbody {
                        @for h in history {
                            tr data-by-owner=(h.by_owner) {
                                td { (time_fmt::short(h.created_at)) }
                                td { (h.actor_name) " (" (h.actor_email) ")" @if !h.by_owner { " " span.badge { "collaborator" } } }
                                td { (h.change) }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn action_label(action: &MappingAction) -> String {
    match action {
        MappingAction::Create => "Create a".into(),
        MappingAction::Update { record_id } => format!("Update (the record named by {}) a", record_id.code()),
        MappingAction::Upsert { external_id_field } => format!("Upsert (by {}) a", external_id_field.as_str()),
        MappingAction::Match { field, when_none: domain::mapping::WhenNone::Create, .. } => format!("Update (matched on {}, or create) a", field.as_str()),
        MappingAction::Match { field, when_none: domain::mapping::WhenNone::Skip, .. } => format!("Update (matched on {}) a", field.as_str()),
    }
}

fn mappings_section(
    who: &CurrentAccount,
    access: Access,
    survey: &domain::SurveyDefinition,
    check: &IntegrationCheck,
    status: &SalesforceWork,
    base: &str,
    held: i64,
    typed: Option<&Typed>,
) -> Markup {
    // The server refuses changes all the same; the page only says so early.
    let editable = access.can_change_salesforce();
    let sources = value_sources(survey);
    let disrupted = status.is_pinned();
    let typed_rule = match typed {
        Some(Typed::Rule(t)) => Some(t),
        _ => None,
    };
    let typed_clause = match typed {
        Some(Typed::Clause(t)) => Some(t),
        _ => None,
    };
    html! {
        h2 { "Response mapping" }
        p.muted { "Each completed response creates or updates records in " strong { (check.org_name) } " (" code { (check.org_id) } "). "
            "Every mapping is checked against that org's metadata." }
        @if check.mappings.is_empty() { p.muted #no-mappings { "No mappings yet: responses stay in Insight only." } }
        @if editable && !check.mappings.is_empty() {
            p #dry-run-link { a.button.secondary href={(base) "/dry-run"} { "Test with a sample response" } " "
                span.muted { "shows the records a response would write, field by field, without writing anything." } }
        }
        @for (i, c) in check.mappings.iter().enumerate() {
            @let key_rule = c.mapping.key_rule();
            div.card.mapping data-mapping=(i) {
                div.row .spread {
                    h3 .m-0 { (action_label(&c.mapping.action)) " " code { (c.mapping.object.as_str()) } " record"
                        @if let Some(s) = &c.schema { span.muted { " (" (s.label) ")" } } }
                    @if editable {
                        (confirm_form(&format!("{base}/mappings/{i}/delete"), &who.csrf, &format!("Remove the {} mapping? Responses will no longer be written to {}.", c.mapping.object.as_str(), c.mapping.object.as_str()), html! {
                            button.small.danger type="submit" { "Remove mapping" }
                        }))
                    }
                }
                @if c.problems.is_empty() {
                    p.badge.published data-testid="mapping-fits" { "Fits " (check.org_name) }
                } @else {
                    ul.field-error data-testid="mapping-problems" { @for p in &c.problems { li { (p.message) } } }
                }
                (condition_section(who, survey, c.mapping.condition.as_ref(), editable, &format!("{base}/mappings/{i}/condition"), typed_clause.filter(|t| t.mapping == i)))
                table {
                    thead { tr { th { "Salesforce field" } th { "Value" } @if editable { th {} } } }
                    tbody {
                        @for (r, rule) in c.mapping.rules.iter().enumerate() {
                            @let field = c.schema.as_ref().and_then(|s| s.field(rule.field.as_str()));
                            tr data-rule=(rule.field.as_str()) {
                                td {
                                    @if let Some(f) = field { (f.label) " " }
                                    code { (rule.field.as_str()) }
                                    @if let Some(f) = field { span.muted { " " (f.kind.label()) } }
                                }
                                @if key_rule == Some(rule) {
                                    td data-testid="upsert-key" { "Filled by Insight with each response's id " span.badge { "upsert key" } }
                                    @if editable { td {} }
                                } @else {
                                    td { (rule.source.describe(survey)) @if let Some(c) = &rule.convert { ", " span data-testid="convert" { (c.describe()) } } }
                                    @if editable {
                                        td { (confirm_form(&format!("{base}/mappings/{i}/rules/{r}/delete"), &who.csrf, &format!("Stop writing {}?", rule.field.as_str()), html! {
                                            button.small.secondary type="submit" { "Remove" } })) }
                                    }
                                }
                            }
                        }
                    }
                }
                @if editable {
                    @match (&c.schema, access.can_see_org_schema()) {
                        (Some(schema), true) => {
                            // A lookup may point to the record an earlier mapping writes.
                            @let mut offered = sources.clone();
                            @let earlier: Vec<&domain::SObjectName> = check.mappings[..i].iter().map(|e| &e.mapping.object).collect();
                            @for object in &earlier {
                                @let _ = offered.push((ValueSource::RecordOf { object: (*object).clone() }, format!("The {} record written for the response", object.as_str())));
                            }
                            (add_rule_form(who, survey, &c.mapping, schema, &offered, &format!("{base}/mappings/{i}/rules"), typed_rule.filter(|t| t.mapping == i)))
                        }
                        _ => { p.muted { "The org has no " code { (c.mapping.object.as_str()) } " object, so no field can be added." } }
                    }
                }
            }
        }
        @if editable && !check.mappings.is_empty() { (compatibility()) }
        @if editable && !disrupted {
            div.card #add-mapping {
                h3 .mt-0 { "Add a mapping" }
                p { "Pick an object of " (check.org_name) ", then how each response reaches it. " }
                p { a.button href={(base) "/mappings/new"} { "Add a mapping" } }
            }
        }
        @if disrupted && editable {
            div.card #transition {
                h3 .mt-0 { "Transition to " (check.org_name) }
                @if check.fits() {
                    p { "Every mapping fits " (check.org_name) ". Re-enable the survey to deliver to it." }
                    @if held > 0 {
                        p { strong { (held) " response(s)" } " arrived while the survey was paused and are held." }
                    }
                    div.row {
                        (post_form(&format!("{base}/transition"), &who.csrf, html! {
                            input type="hidden" name="held" value="send";
                            button type="submit" { "Re-enable with " (check.org_name) @if held > 0 { " and send the held responses" } }
                        }))
                        @if held > 0 {
                            (post_form(&format!("{base}/transition"), &who.csrf, html! {
                                input type="hidden" name="held" value="discard";
                                button.secondary type="submit" { "Re-enable and discard the held responses" }
                            }))
                        }
                    }
                } @else {
                    p { "Fix what does not fit above (remove or remap fields), then re-enable. The survey stays paused until everything fits." }
                }
            }
        }
    }
}

/// Where a field's value can come from: the survey's questions and embedded
/// data, the response's own id and times, or a fixed value.
fn value_sources(survey: &domain::SurveyDefinition) -> Vec<(ValueSource, String)> {
    survey
        .asked()
        .map(|q| (ValueSource::Answer { question: q.id.clone() }, format!("Answer: {}", q.text.as_str())))
        .chain(survey.embedded.iter().map(|e| (ValueSource::Embedded { name: e.clone() }, format!("Embedded data: {}", e.as_str()))))
        .chain([
            (ValueSource::ResponseId, "Response id".to_string()),
            (ValueSource::StartedAt, "Response start time".into()),
            (ValueSource::FinishedAt, "Response finish time".into()),
            (ValueSource::Static { value: String::new() }, "A fixed value (below)".into()),
        ])
        .collect()
}

/// Adds a field to a mapping: the value first, then the field, picked from
/// the object's describe by label. Each field says, for each value, why it
/// cannot take it (the script greys those out; the server refuses them
/// with the same words).
fn add_rule_form(
    who: &CurrentAccount,
    survey: &domain::SurveyDefinition,
    mapping: &domain::Mapping,
    schema: &domain::ObjectSchema,
    sources: &[(ValueSource, String)],
    action: &str,
    typed: Option<&TypedRule>,
) -> Markup {
    let picked_source = |code: &str| typed.is_some_and(|t| t.source == code);
    let creates = !matches!(mapping.action, MappingAction::Update { .. });
    let fields: Vec<&domain::mapping::FieldSchema> = schema
        .writable_fields(&mapping.action)
        .into_iter()
        .filter(|f| !mapping.rules.iter().any(|r| r.field.as_str().eq_ignore_ascii_case(&f.name)))
        .collect();
    // A 0–10 score may go in as its NPS group too.
    let scores: Vec<(ValueSource, String)> = survey
        .asked()
        .filter(|q| q.kind == domain::QuestionKind::Nps)
        .map(|q| (ValueSource::Answer { question: q.id.clone() }, format!("NPS group of: {}", q.text.as_str())))
        .collect();
    html! {
        @if fields.is_empty() {
            p.muted { "Every field of " (schema.label) " this mapping can set is mapped." }
        } @else {
            (post_form_with_class("row add-rule", action, &who.csrf, html! {
                select name="source" aria-label="Value" .max-w-18 {
                    @for (source, label) in sources { option value=(source.code()) selected[picked_source(&source.code())] { (label) } }
                    @for (source, label) in &scores {
                        @let code = format!("nps_group:{}", source.code().trim_start_matches("answer:"));
                        option value=(code) selected[picked_source(&code)] { (label) }
                    }
                }
                span.muted { "→" }
                select name="field" aria-label="Salesforce field" .max-w-18 {
                    @for f in &fields {
                        @let refuses: serde_json::Map<String, serde_json::Value> = sources
                            .iter()
                            .filter(|(s, _)| !matches!(s, ValueSource::Static { .. }))
                            .filter_map(|(s, _)| f.refuses(s, survey).map(|why| (s.code(), serde_json::Value::String(why))))
                            .chain(scores.iter().filter_map(|(s, _)| {
                                f.refuses_nps_group(s, survey).map(|why| (format!("nps_group:{}", s.code().trim_start_matches("answer:")), serde_json::Value::String(why)))
                            }))
                            .collect();
                        option value=(f.name) data-refuses=(serde_json::Value::Object(refuses).to_string()) selected[typed.is_some_and(|t| t.field.eq_ignore_ascii_case(&f.name))] {
                            (f.label) " · " (f.name) " (" (f.kind.label()) ")" @if creates && f.required_on_create() { " · required" }
                        }
                    }
                }
                input type="text" name="value" placeholder="fixed value" .max-w-10 aria-label="Fixed value" value=[typed.map(|t| t.value.as_str())];
                label.inline title="Text longer than the field holds is cut; without this, such a rule is refused." {
                    input type="checkbox" name="cut" value="on" checked[typed.is_some_and(|t| t.cut)]; " cut to fit"
                }
                button.secondary type="submit" { "Add field" }
            }))
            @if let Some(t) = typed { p.field-error role="alert" data-testid="rule-error" { (t.error) } }
        }
    }
}

/// When the mapping applies: its condition in words, and the form that adds
/// a part to it (joined with "and" or "or") or clears it.
fn condition_section(
    who: &CurrentAccount,
    survey: &domain::SurveyDefinition,
    condition: Option<&domain::mapping::Condition>,
    editable: bool,
    action: &str,
    typed: Option<&TypedClause>,
) -> Markup {
    let has_clauses = condition.is_some_and(|c| !c.clauses.is_empty());
    let was = |what: fn(&TypedClause) -> &str, value: &str| typed.is_some_and(|t| what(t) == value);
    html! {
        div.condition {
            @match condition {
                Some(c) if !c.clauses.is_empty() => {
                    p data-testid="condition" { "Applies only when " strong { (c.describe(survey)) } ". Other responses are skipped for this mapping (logged, not failed)." }
                    @if editable {
                        (confirm_form(&format!("{action}/clear"), &who.csrf, "Apply this mapping to every response?", html! {
                            button.small.secondary type="submit" { "Apply to every response" } }))
                    }
                }
                _ => { p.muted { "Applies to every response." } }
            }
            @if editable && (survey.asked().next().is_some() || !survey.embedded.is_empty()) {
                (post_form_with_class("row add-condition", action, &who.csrf, html! {
                    @if has_clauses {
                        select name="join" aria-label="Join" { option value="all" { "and" } option value="any" selected[was(|t| t.join.as_str(), "any")] { "or" } }
                    } @else {
                        span.muted { "Only when" }
                        input type="hidden" name="join" value="all";
                    }
                    select name="subject" aria-label="Condition on" .max-w-18 {
                        @for q in survey.asked() {
                            @let code = format!("answer:{}", q.id);
                            option value=(code) selected[was(|t| t.subject.as_str(), &code)] { (q.text.as_str()) }
                        }
                        @for e in &survey.embedded {
                            @let code = format!("embedded:{}", e.as_str());
                            option value=(code) selected[was(|t| t.subject.as_str(), &code)] { "Embedded data: " (e.as_str()) }
                        }
                    }
                    select name="op" aria-label="Comparison" {
                        @for op in domain::mapping::Op::ALL { option value=(op.code()) selected[was(|t| t.op.as_str(), op.code())] { (op.code()) } }
                    }
                    input type="text" name="value" placeholder="value" .max-w-10 aria-label="Condition value" value=[typed.map(|t| t.value.as_str())];
                    button.secondary type="submit" { @if has_clauses { "Add to condition" } @else { "Add condition" } }
                }))
                @if let Some(t) = typed { p.field-error role="alert" data-testid="condition-error" { (t.error) } }
            }
        }
    }
}

/// Which answers fit which kinds of Salesforce field: the check's own
/// verdicts (`domain::mapping::compatibility_table`).
fn compatibility() -> Markup {
    html! {
        details.card #compatibility {
            summary { "Which answers fit which Salesforce fields" }
            table {
                thead { tr { th { "Value" } th { "Fits fields of type" } } }
                tbody {
                    @for row in domain::mapping::compatibility_table() {
                        tr { td { (row.value) } td { (row.fits.join(", ")) } }
                    }
                }
            }
            p.muted { "A typed answer longer than a text field holds is refused, unless its rule is set to cut it to fit. A choice goes into a picklist as it is when it is one of the picklist's values; otherwise the editor asks what each choice becomes. A 0–10 score can go in as its NPS group." }
        }
    }
}

/// The panel again with why a change was refused (a refusal of access is an
/// error page, not the panel).
pub(crate) async fn refused_with(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, e: app::AppError) -> WebResult<Response> {
    refused(state, who, project, access, e).await
}

async fn refused(state: &AppState, who: &CurrentAccount, project: &Project, access: Access, e: app::AppError) -> WebResult<Response> {
    let e = WebError::from(e);
    if matches!(e, WebError::Forbidden(_) | WebError::NotFound | WebError::Internal(_)) {
        return Err(e);
    }
    Ok((e.status(), render(state, who, project, access, Some(&e.public_message()), None).await?).into_response())
}

async fn apply(state: &AppState, who: &CurrentAccount, id: i64, change: Result<Change, domain::Invalid>) -> WebResult<Response> {
    let (project, access) = project_frame::load(state, id, who).await?;
    require_edit(&project)?;
    state.require_salesforce()?;
    let outcome = match change {
        Ok(change) => state.app.change_mappings(&project, &who.account, change).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/salesforce?saved=1")).into_response()),
        Err(e) => refused(state, who, &project, access, e).await,
    }
}

async fn remove_mapping(State(state): State<AppState>, Path((id, m)): Path<(i64, usize)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    apply(&state, &who, id, Ok(Change::RemoveMapping(m))).await
}

#[derive(Deserialize)]
struct RuleForm {
    field: String,
    source: String,
    #[serde(default)]
    value: String,
    /// "Cut to fit": text longer than the field is cut.
    #[serde(default)]
    cut: Option<String>,
    /// The recoding step's answers, `to_0`, `to_1`, …; nothing else.
    #[serde(flatten)]
    to: std::collections::BTreeMap<String, String>,
}

impl RuleForm {
    /// The recoding answers by index; any other field is refused.
    fn recoded(&self) -> Result<std::collections::BTreeMap<usize, String>, WebError> {
        self.to
            .iter()
            .map(|(k, v)| match k.strip_prefix("to_").and_then(|i| i.parse::<usize>().ok()).filter(|i| *i < domain::survey::ChoiceList::MAX) {
                Some(i) => Ok((i, v.clone())),
                None => Err(WebError::BadRequest(format!("The form has a field \"{k}\" it should not have."))),
            })
            .collect()
    }
}

async fn add_rule(State(state): State<AppState>, Path((id, m)): Path<(i64, usize)>, SignedForm { who, form }: SignedForm<RuleForm>) -> WebResult<Response> {
    let recoded = form.recoded()?;
    // "NPS group of q1" is the answer to q1, converted.
    let (source_code, nps) = match form.source.strip_prefix("nps_group:") {
        Some(q) => (format!("answer:{q}"), true),
        None => (form.source.clone(), false),
    };
    let cut = form.cut.as_deref().is_some_and(|c| !c.is_empty());
    let parsed = (|| -> Result<FieldRule, domain::Invalid> {
        let mut rule = FieldRule::new(FieldName::parse(&form.field)?, ValueSource::parse(&source_code, &form.value)?);
        rule.convert = match (nps, cut) {
            (true, _) => Some(domain::mapping::Convert::nps_groups()),
            (false, true) => Some(domain::mapping::Convert::CutToFit),
            (false, false) => None,
        };
        Ok(rule)
    })();
    let mut rule = match parsed {
        Ok(rule) => rule,
        Err(e) => return apply(&state, &who, id, Err(e)).await,
    };
    // A choice (or an NPS group) into a field that lacks it asks first what
    // each becomes; that step posts here again with its answers.
    if matches!(rule.source, ValueSource::Answer { .. }) {
        let (project, _) = project_frame::load(&state, id, &who).await?;
        require_edit(&project)?;
        if let Some((field, recoding)) = state.app.recoding(&project, m, &rule, nps).await? {
            let typed = super::recode::Typed { field: &form.field, source: &form.source, value: &form.value, cut };
            if recoded.is_empty() {
                return Ok(super::recode::step(&who, &project, m, &field, &recoding, &typed, None).into_response());
            }
            match super::recode::conversion(&recoding, &recoded) {
                Ok(convert) => rule.convert = Some(convert),
                Err(e) => {
                    let page = super::recode::step(&who, &project, m, &field, &recoding, &typed, Some(&e.0));
                    return Ok((axum::http::StatusCode::UNPROCESSABLE_ENTITY, page).into_response());
                }
            }
        }
    }
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.require_salesforce()?;
    match state.app.change_mappings(&project, &who.account, Change::AddRule(m, rule)).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}/salesforce?saved=1")).into_response()),
        Err(e) => {
            let e = WebError::from(e);
            if matches!(e, WebError::Forbidden(_) | WebError::NotFound | WebError::Internal(_)) {
                return Err(e);
            }
            let typed = Typed::Rule(TypedRule { mapping: m, source: form.source.clone(), field: form.field.clone(), value: form.value.clone(), cut, error: e.public_message() });
            let page = render_with_import(&state, &who, &project, access, Some("The field was not added: see why beside it below."), None, &Default::default(), Some(&typed)).await?;
            Ok((e.status(), page).into_response())
        }
    }
}

async fn remove_rule(State(state): State<AppState>, Path((id, m, r)): Path<(i64, usize, usize)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    apply(&state, &who, id, Ok(Change::RemoveRule(m, r))).await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ClauseForm {
    subject: String,
    op: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    join: String,
}

async fn add_clause(State(state): State<AppState>, Path((id, m)): Path<(i64, usize)>, SignedForm { who, form }: SignedForm<ClauseForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.require_salesforce()?;
    let outcome = match app::integration::parse_clause(&form.subject, &form.op, &form.value, &form.join) {
        Ok((join, clause)) => state.app.change_mappings(&project, &who.account, Change::AddClause(m, join, clause)).await.map(|_| ()),
        Err(e) => Err(e.into()),
    };
    match outcome {
        Ok(()) => Ok(Redirect::to(&format!("/projects/{id}/salesforce?saved=1")).into_response()),
        Err(e) => {
            let e = WebError::from(e);
            if matches!(e, WebError::Forbidden(_) | WebError::NotFound | WebError::Internal(_)) {
                return Err(e);
            }
            let typed = Typed::Clause(TypedClause { mapping: m, join: form.join.clone(), subject: form.subject.clone(), op: form.op.clone(), value: form.value.clone(), error: e.public_message() });
            let page = render_with_import(&state, &who, &project, access, Some("The condition was not changed: see why beside it below."), None, &Default::default(), Some(&typed)).await?;
            Ok((e.status(), page).into_response())
        }
    }
}

async fn clear_condition(State(state): State<AppState>, Path((id, m)): Path<(i64, usize)>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    apply(&state, &who, id, Ok(Change::ClearCondition(m))).await
}

async fn retry_failed(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, .. }: SignedForm<EmptyForm>) -> WebResult<Response> {
    let (project, _) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    let n = state.app.retry_failed(&project).await?;
    Ok(Redirect::to(&format!("/projects/{id}/salesforce?retried={n}")).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TransitionForm {
    #[serde(default)]
    held: String,
}

async fn transition(State(state): State<AppState>, Path(id): Path<i64>, SignedForm { who, form }: SignedForm<TransitionForm>) -> WebResult<Response> {
    let (project, access) = project_frame::load(&state, id, &who).await?;
    require_edit(&project)?;
    state.require_salesforce()?;
    let held = match form.held.as_str() {
        "discard" => app::integration::HeldDeliveries::Discard,
        _ => app::integration::HeldDeliveries::Send,
    };
    match state.app.transition(&project, &who.account, held).await {
        Ok(_) => Ok(Redirect::to(&format!("/projects/{id}/salesforce?reenabled=1")).into_response()),
        Err(e) => refused(&state, &who, &project, access, e).await,
    }
}
