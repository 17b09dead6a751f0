//! A survey's Salesforce integration: editing its mappings (each change
//! checked against the owner's org's describe), seeing whether it fits the
//! org its owner is linked to now, and the transition that re-validates it
//! against a new org. Only describe is read here; nothing is written to any
//! org, and describe always goes through the project owner's link.

use crate::sessions::SessionError;
use crate::SalesforceSettings;
use domain::mapping::{FieldKind, FieldSchema, ObjectSchema};
use domain::{FieldRule, Invalid, Mapping, MappingAction, MappingProblem, SObjectName, SurveyDefinition};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use store::projects::Project;
use store::Store;

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    #[error("{owner} (the project's owner) has not linked Salesforce, so mappings cannot be checked. Ask them to link Salesforce first.")]
    OwnerHasNoLink { owner: String },
    #[error("{owner}'s Salesforce link needs them to sign in to Salesforce again before mappings can be checked.")]
    OwnerNeedsReauthentication { owner: String },
    #[error("{0}")]
    Invalid(String),
    #[error("The change does not fit the org: {}", .0.iter().map(|p| p.message.as_str()).collect::<Vec<_>>().join(" "))]
    DoesNotFit(Vec<MappingProblem>),
    #[error("Someone else changed this survey's Salesforce mappings meanwhile. Reload the page and try again.")]
    Conflict,
    #[error("Salesforce answered with an error: {0}")]
    Salesforce(String),
    #[error(transparent)]
    Store(#[from] store::StoreError),
}

impl From<Invalid> for IntegrationError {
    fn from(e: Invalid) -> Self {
        IntegrationError::Invalid(e.0)
    }
}

/// Describes, cached briefly per org and object: a page of mappings asks for
/// the same few objects again and again.
#[derive(Default)]
pub struct DescribeCache {
    entries: Mutex<HashMap<DescribeKey, (Instant, Option<ObjectSchema>)>>,
}

/// An org id and a lower-cased object name.
type DescribeKey = (String, String);

const DESCRIBE_TTL: Duration = Duration::from_secs(120);

/// A mapping with what the org says about it.
#[derive(Debug, Clone)]
pub struct CheckedMapping {
    pub mapping: Mapping,
    pub schema: Option<ObjectSchema>,
    pub problems: Vec<MappingProblem>,
}

/// The integration as checked against the org the owner is linked to now.
#[derive(Debug, Clone)]
pub struct IntegrationCheck {
    pub org_id: String,
    pub org_name: String,
    pub mappings: Vec<CheckedMapping>,
    pub validated_org_id: Option<String>,
    pub version: i64,
}

impl IntegrationCheck {
    pub fn fits(&self) -> bool {
        self.mappings.iter().all(|m| m.problems.is_empty())
    }
}

fn to_schema(d: salesforce::rest::SObjectDescribe) -> ObjectSchema {
    ObjectSchema {
        name: d.name,
        label: d.label,
        key_prefix: d.key_prefix,
        createable: d.createable,
        updateable: d.updateable,
        fields: d
            .fields
            .into_iter()
            .map(|f| FieldSchema {
                kind: FieldKind::from_describe(f.field_type.as_str()),
                id_lookup: f.name == "Id",
                name: f.name,
                label: f.label,
                length: f.length,
                createable: f.createable,
                updateable: f.updateable,
                nillable: f.nillable,
                defaulted_on_create: f.defaulted_on_create,
                external_id: f.external_id,
                picklist_values: f.picklist_values.into_iter().filter(|v| v.active).map(|v| v.value).collect(),
                restricted_picklist: f.restricted_picklist,
            })
            .collect(),
    }
}

struct OwnerOrg {
    client: salesforce::Client,
    org_id: String,
    org_name: String,
}

async fn owner_org(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<OwnerOrg, IntegrationError> {
    let owner = project.owner_name.clone();
    let link = store.link(project.owner_id).await?.ok_or(IntegrationError::OwnerHasNoLink { owner: owner.clone() })?;
    // The project's owner's link: never the link of whoever is looking.
    let client = settings.sessions.client(store, settings, project.owner_id).await.map_err(|e| match e {
        SessionError::NotLinked => IntegrationError::OwnerHasNoLink { owner: owner.clone() },
        SessionError::NeedsReauthentication => IntegrationError::OwnerNeedsReauthentication { owner: owner.clone() },
        SessionError::Store(e) => IntegrationError::Store(e),
        other => IntegrationError::Salesforce(other.to_string()),
    })?;
    Ok(OwnerOrg { client, org_id: link.org_id, org_name: link.org_name })
}

impl DescribeCache {
    async fn describe(&self, org: &OwnerOrg, object: &str) -> Result<Option<ObjectSchema>, IntegrationError> {
        self.describe_with(&org.client, &org.org_id, object).await.map_err(|e| {
            if e.is_refresh_revoked() {
                IntegrationError::OwnerNeedsReauthentication { owner: String::from("The owner") }
            } else {
                IntegrationError::Salesforce(e.to_string())
            }
        })
    }

    /// The object as the org describes it (`None`: no such object).
    pub async fn describe_with(&self, client: &salesforce::Client, org_id: &str, object: &str) -> Result<Option<ObjectSchema>, salesforce::SalesforceError> {
        let key = (org_id.to_string(), object.to_ascii_lowercase());
        if let Some((at, schema)) = self.entries.lock().expect("describe cache").get(&key) {
            if at.elapsed() < DESCRIBE_TTL {
                return Ok(schema.clone());
            }
        }
        let schema = match client.describe(object).await {
            Ok(d) => Some(to_schema(d)),
            Err(e) if e.error_code() == Some(&salesforce::ErrorCode::NotFound) => None,
            Err(e) => return Err(e),
        };
        self.entries.lock().expect("describe cache").insert(key, (Instant::now(), schema.clone()));
        Ok(schema)
    }
}

async fn check_all(settings: &SalesforceSettings, org: &OwnerOrg, mappings: &[Mapping], survey: &SurveyDefinition) -> Result<Vec<CheckedMapping>, IntegrationError> {
    let mut out = Vec::with_capacity(mappings.len());
    for m in mappings {
        let schema = settings.describes.describe(org, m.object.as_str()).await?;
        let problems = m.check(schema.as_ref(), survey);
        out.push(CheckedMapping { mapping: m.clone(), schema, problems });
    }
    Ok(out)
}

/// The project's mappings, checked against the org its owner is linked to now.
pub async fn check(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<IntegrationCheck, IntegrationError> {
    let current = load(store, settings, project).await?;
    let checked = check_all(settings, &current.org, &current.mappings, &current.survey).await?;
    Ok(current.checked(checked, current.validated_org_id.clone(), current.version))
}

/// What a check starts from: the owner's org, the survey, and the stored
/// mappings with the org they were validated against.
struct Current {
    org: OwnerOrg,
    survey: SurveyDefinition,
    mappings: Vec<Mapping>,
    validated_org_id: Option<String>,
    version: i64,
}

impl Current {
    fn checked(&self, mappings: Vec<CheckedMapping>, validated_org_id: Option<String>, version: i64) -> IntegrationCheck {
        IntegrationCheck { org_id: self.org.org_id.clone(), org_name: self.org.org_name.clone(), mappings, validated_org_id, version }
    }
}

async fn load(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<Current, IntegrationError> {
    let integration = store.integration(project.id).await?;
    let survey = store.survey(project.id).await?.map(|s| s.definition).unwrap_or_default();
    let org = owner_org(store, settings, project).await?;
    let (mappings, validated_org_id, version) = match integration {
        Some(i) => (i.mappings, i.validated_org_id, i.version),
        None => (Vec::new(), None, 0),
    };
    Ok(Current { org, survey, mappings, validated_org_id, version })
}

/// What a change to the mappings is.
pub enum Change {
    AddMapping(Mapping),
    RemoveMapping(usize),
    AddRule(usize, FieldRule),
    RemoveRule(usize, usize),
}

/// Applies a change, checks the result against the owner's org, and saves
/// it. A new mapping's object and a new rule's field must fit at once;
/// what a mapping still lacks (required fields, its upsert key) is shown
/// and holds the survey's deliveries until it is added. The survey counts
/// as validated against the org only when every mapping fits.
pub async fn change(store: &Store, settings: &SalesforceSettings, project: &Project, change: Change) -> Result<IntegrationCheck, IntegrationError> {
    let current = load(store, settings, project).await?;
    let (org, survey) = (&current.org, &current.survey);
    let mut mappings = current.mappings.clone();
    let no_such = || IntegrationError::Invalid("That mapping or rule no longer exists; reload the page.".into());
    match change {
        Change::AddMapping(m) => {
            // A new mapping has no fields yet, so only what concerns the
            // mapping itself can block it: the object, the action, and the
            // upsert key's existence. Fields still to map are shown after.
            let schema = settings.describes.describe(org, m.object.as_str()).await?;
            let key = match &m.action {
                MappingAction::Upsert { external_id_field } => Some(external_id_field.as_str()),
                _ => None,
            };
            let key_unusable = |p: &MappingProblem| {
                key.is_some_and(|k| p.field.as_deref() == Some(k)) && schema.as_ref().is_none_or(|s| s.field(key.unwrap_or("")).is_none_or(|f| !f.external_id))
            };
            let blocking: Vec<MappingProblem> = m.check(schema.as_ref(), survey).into_iter().filter(|p| p.field.is_none() || key_unusable(p)).collect();
            if !blocking.is_empty() {
                return Err(IntegrationError::DoesNotFit(blocking));
            }
            mappings.push(m);
        }
        Change::RemoveMapping(i) => {
            if i >= mappings.len() {
                return Err(no_such());
            }
            mappings.remove(i);
        }
        Change::AddRule(i, rule) => {
            let m = mappings.get_mut(i).ok_or_else(no_such)?;
            let schema = settings.describes.describe(org, m.object.as_str()).await?;
            let before: Vec<MappingProblem> = m.check(schema.as_ref(), survey);
            m.rules.push(rule.clone());
            // Refuse the rule when it brings problems of its own: a field the
            // object lacks, a type that does not fit, a picklist value unknown.
            let new: Vec<MappingProblem> = m
                .check(schema.as_ref(), survey)
                .into_iter()
                .filter(|p| !before.contains(p) && p.field.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(rule.field.as_str())))
                .collect();
            if !new.is_empty() {
                return Err(IntegrationError::DoesNotFit(new));
            }
        }
        Change::RemoveRule(i, r) => {
            let m = mappings.get_mut(i).ok_or_else(no_such)?;
            if r >= m.rules.len() {
                return Err(no_such());
            }
            m.rules.remove(r);
        }
    }
    let checked = check_all(settings, org, &mappings, survey).await?;
    let fits = checked.iter().all(|c| c.problems.is_empty());
    // A survey paused by a switch stays pinned to its old org while it is
    // remapped: only the transition, asked for explicitly, re-enables it.
    let disrupted = current.validated_org_id.as_deref().is_some_and(|v| v != org.org_id);
    let validated = if disrupted {
        current.validated_org_id.as_deref()
    } else {
        fits.then_some(org.org_id.as_str())
    };
    if !store.save_integration(project.id, &mappings, validated, current.version).await? {
        return Err(IntegrationError::Conflict);
    }
    if validated.is_some() {
        release_deliverable(store, project.owner_id).await?;
    }
    // A save bumps the version by one (a first save makes it 1).
    Ok(current.checked(checked, validated.map(str::to_string), current.version + 1))
}

/// What becomes of the deliveries held while the survey was paused.
#[derive(Debug, Clone)]
pub enum HeldDeliveries {
    /// Deliver them to the org the survey is now validated against.
    Send,
    /// Discard them, recording who chose to.
    Discard { by: String },
}

/// The transition: re-validates the survey against the org its owner is
/// linked to now, and re-enables it only when every mapping fits; then the
/// held deliveries go to that org, or are discarded with a record of who
/// chose that.
pub async fn transition(store: &Store, settings: &SalesforceSettings, project: &Project, held: HeldDeliveries) -> Result<IntegrationCheck, IntegrationError> {
    let mut checked = check(store, settings, project).await?;
    if !checked.fits() {
        return Err(IntegrationError::DoesNotFit(checked.mappings.iter().flat_map(|m| m.problems.clone()).collect()));
    }
    let mappings: Vec<Mapping> = checked.mappings.iter().map(|c| c.mapping.clone()).collect();
    if !store.save_integration(project.id, &mappings, Some(&checked.org_id), checked.version).await? {
        return Err(IntegrationError::Conflict);
    }
    tracing::info!(project = project.id, org = %checked.org_id, "survey re-validated against the owner's org");
    match held {
        HeldDeliveries::Discard { by } => {
            let note = format!("discarded by {by} on moving to {} ({})", checked.org_name, checked.org_id);
            store.discard_held(project.id, &note).await?;
        }
        HeldDeliveries::Send => {}
    }
    store.release_held(project.id).await?;
    checked.validated_org_id = Some(checked.org_id.clone());
    checked.version += 1;
    Ok(checked)
}

/// Parses the add-mapping form.
pub fn parse_mapping(object: &str, action: &str, key_field: &str, record_id_source: &str) -> Result<Mapping, Invalid> {
    let object = SObjectName::parse(object)?;
    let action = match action {
        "create" => MappingAction::Create,
        "upsert" => MappingAction::Upsert { external_id_field: domain::FieldName::parse(key_field)? },
        "update" => MappingAction::Update { record_id: domain::ValueSource::parse(record_id_source, "")? },
        other => return Err(Invalid::new(format!("\"{other}\" is not an action: use create, update or upsert."))),
    };
    Ok(Mapping { object, action, rules: Vec::new() })
}

/// Sends on their way the held deliveries of every survey the account owns
/// that may deliver again: validated against the org the account is linked
/// to now, with a link that works (after a new sign-in, or once mappings fit).
pub async fn release_deliverable(store: &Store, account_id: i64) -> Result<u64, IntegrationError> {
    let Some(link) = store.link(account_id).await? else { return Ok(0) };
    if link.needs_reauthentication() {
        return Ok(0);
    }
    let mut released = 0;
    for owned in store.integrations_owned_by(account_id).await? {
        if owned.integration.validated_org_id.as_deref() == Some(link.org_id.as_str()) {
            released += store.release_held(owned.project_id).await?;
        }
    }
    if released > 0 {
        tracing::info!(account = account_id, released, "held deliveries released");
    }
    Ok(released)
}

/// The outcome of one survey's transition in "all at once".
#[derive(Debug)]
pub struct TransitionOutcome {
    pub project_id: i64,
    pub project_name: String,
    pub result: Result<IntegrationCheck, IntegrationError>,
}

/// The surveys an account owns that are paused because its link now points
/// at another org than the one they were validated against.
pub async fn paused_surveys(store: &Store, account_id: i64) -> Result<Vec<store::integrations::OwnedIntegration>, IntegrationError> {
    let Some(link) = store.link(account_id).await? else { return Ok(Vec::new()) };
    Ok(store
        .integrations_owned_by(account_id)
        .await?
        .into_iter()
        .filter(|i| i.integration.validated_org_id.as_deref().is_some_and(|v| v != link.org_id))
        .collect())
}

/// Runs the transition of every paused survey the account owns; each one
/// re-enables only if all its mappings fit.
pub async fn transition_all(store: &Store, settings: &SalesforceSettings, account_id: i64) -> Result<Vec<TransitionOutcome>, IntegrationError> {
    let mut outcomes = Vec::new();
    for paused in paused_surveys(store, account_id).await? {
        let Some(project) = store.project_for(paused.project_id, account_id).await? else { continue };
        let result = transition(store, settings, &project, HeldDeliveries::Send).await;
        outcomes.push(TransitionOutcome { project_id: paused.project_id, project_name: paused.project_name, result });
    }
    Ok(outcomes)
}
