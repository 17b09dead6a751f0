//! A survey's Salesforce integration: editing its mappings (each change
//! checked against the owner's org's describe), seeing whether it fits the
//! org its owner is linked to now, and the transition that re-validates it
//! against a new org. Only describe is read here; nothing is written to any
//! org, and describe always goes through the project owner's link.

use crate::consent::{record, require_salesforce_changes};
use crate::sessions::SessionError;
use crate::{AppError, SalesforceSettings};
use domain::mapping::{ObjectSchema, ObjectSummary};
use domain::{FieldRule, Invalid, LinkFacts, Mapping, MappingAction, MappingProblem, SObjectName, SalesforceWork, SurveyDefinition, Validation};
use store::history::Actor;
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

impl IntegrationError {
    /// A describe that failed: a revoked link needs its owner to sign in
    /// again; anything else is Salesforce's own words.
    fn from_describe(e: salesforce::SalesforceError) -> Self {
        if e.is_refresh_revoked() {
            IntegrationError::OwnerNeedsReauthentication { owner: String::from("The owner") }
        } else {
            IntegrationError::Salesforce(e.to_string())
        }
    }
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
    /// The objects each org has (global describe), by org id.
    globals: Mutex<HashMap<String, (Instant, Vec<ObjectSummary>)>>,
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

pub(crate) struct OwnerOrg {
    pub(crate) client: salesforce::Client,
    pub(crate) org_id: String,
    pub(crate) org_name: String,
    facts: LinkFacts,
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
    let facts = link.facts();
    Ok(OwnerOrg { client, org_id: link.org_id, org_name: link.org_name, facts })
}

impl DescribeCache {
    async fn describe(&self, org: &OwnerOrg, object: &str) -> Result<Option<ObjectSchema>, IntegrationError> {
        self.describe_with(&org.client, &org.org_id, object).await.map_err(IntegrationError::from_describe)
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
            Ok(d) => Some(crate::sobject::object_schema(d)),
            Err(e) if e.error_code() == Some(&salesforce::ErrorCode::NotFound) => None,
            Err(e) => return Err(e),
        };
        self.entries.lock().expect("describe cache").insert(key, (Instant::now(), schema.clone()));
        Ok(schema)
    }

    /// The object as the org describes it now, never from the cache; what
    /// it read replaces the cached describe, so deliveries see it at once.
    pub async fn refresh_with(&self, client: &salesforce::Client, org_id: &str, object: &str) -> Result<Option<ObjectSchema>, salesforce::SalesforceError> {
        self.entries.lock().expect("describe cache").remove(&(org_id.to_string(), object.to_ascii_lowercase()));
        self.describe_with(client, org_id, object).await
    }
}

impl DescribeCache {
    /// The objects a survey can write into, as the org's global describe
    /// lists them (see `domain::mapping::mappable_objects`).
    async fn mappable_objects(&self, org: &OwnerOrg) -> Result<Vec<ObjectSummary>, IntegrationError> {
        if let Some((at, objects)) = self.globals.lock().expect("describe cache").get(&org.org_id) {
            if at.elapsed() < DESCRIBE_TTL {
                return Ok(objects.clone());
            }
        }
        let global = org.client.describe_global().await.map_err(IntegrationError::from_describe)?;
        let all = global
            .sobjects
            .into_iter()
            .map(|o| ObjectSummary { name: o.name, label: o.label, custom: o.custom, createable: o.createable, updateable: o.updateable })
            .collect();
        let objects = domain::mapping::mappable_objects(all);
        self.globals.lock().expect("describe cache").insert(org.org_id.clone(), (Instant::now(), objects.clone()));
        Ok(objects)
    }
}

/// What the editor offers for a new mapping: the owner's org, its objects,
/// and (once one is picked) that object as the org describes it.
#[derive(Debug, Clone)]
pub struct MappingOffer {
    pub org_name: String,
    pub objects: Vec<ObjectSummary>,
    pub survey: SurveyDefinition,
    /// The picked object, if any; `Some(None)`: the org has no such object.
    pub picked: Option<Option<ObjectSchema>>,
}

/// The objects the owner's org has for a new mapping, and the one picked,
/// described — always through the project owner's link.
pub async fn offer(store: &Store, settings: &SalesforceSettings, project: &Project, picked: Option<&SObjectName>) -> Result<MappingOffer, AppError> {
    require_salesforce_changes(project)?;
    let org = owner_org(store, settings, project).await?;
    let objects = settings.describes.mappable_objects(&org).await?;
    let picked = match picked {
        Some(object) => Some(settings.describes.describe(&org, object.as_str()).await?),
        None => None,
    };
    let survey = store.survey(project.id).await?.map(|s| s.definition).unwrap_or_default();
    Ok(MappingOffer { org_name: org.org_name, objects, survey, picked })
}

async fn check_all(settings: &SalesforceSettings, org: &OwnerOrg, mappings: &[Mapping], survey: &SurveyDefinition) -> Result<Vec<CheckedMapping>, IntegrationError> {
    let mut out = Vec::with_capacity(mappings.len());
    for (i, m) in mappings.iter().enumerate() {
        let schema = settings.describes.describe(org, m.object.as_str()).await?;
        let mut problems = m.check(schema.as_ref(), survey);
        problems.extend(domain::mapping::related_problems(mappings, i));
        out.push(CheckedMapping { mapping: m.clone(), schema, problems });
    }
    Ok(out)
}

/// The project's mappings, checked against the org its owner is linked to now.
pub async fn check(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<IntegrationCheck, IntegrationError> {
    Ok(check_with_survey(store, settings, project).await?.0)
}

/// The same check, with the survey it was made against.
pub(crate) async fn check_with_survey(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<(IntegrationCheck, SurveyDefinition), IntegrationError> {
    let current = load(store, settings, project).await?;
    let checked = check_all(settings, &current.org, &current.mappings, &current.survey).await?;
    let check = current.checked(checked, current.validated_org_id.clone(), current.version);
    Ok((check, current.survey))
}

/// What a check starts from: the owner's org, the survey, and the stored
/// mappings with the org they were validated against.
pub(crate) struct Current {
    pub(crate) org: OwnerOrg,
    pub(crate) survey: SurveyDefinition,
    pub(crate) mappings: Vec<Mapping>,
    pub(crate) validated_org_id: Option<String>,
    validation: Validation,
    pub(crate) version: i64,
}

impl Current {
    /// Where the project's work goes now: the one decision, asked here too.
    pub(crate) fn work(&self, project: &Project) -> SalesforceWork {
        SalesforceWork::decide(crate::ownership::owner_of(project), Some(self.org.facts.clone()), self.validation.clone())
    }

    fn checked(&self, mappings: Vec<CheckedMapping>, validated_org_id: Option<String>, version: i64) -> IntegrationCheck {
        IntegrationCheck { org_id: self.org.org_id.clone(), org_name: self.org.org_name.clone(), mappings, validated_org_id, version }
    }
}

pub(crate) async fn load(store: &Store, settings: &SalesforceSettings, project: &Project) -> Result<Current, IntegrationError> {
    let integration = store.integration(project.id).await?;
    let survey = store.survey(project.id).await?.map(|s| s.definition).unwrap_or_default();
    let org = owner_org(store, settings, project).await?;
    let validation = store::integrations::validation_of(integration.as_ref(), project.owner_id);
    let (mappings, validated_org_id, version) = match integration {
        Some(i) => (i.mappings, i.validated_org_id, i.version),
        None => (Vec::new(), None, 0),
    };
    Ok(Current { org, survey, mappings, validated_org_id, validation, version })
}

/// What a change to the mappings is.
pub enum Change {
    AddMapping(Mapping),
    RemoveMapping(usize),
    AddRule(usize, FieldRule),
    RemoveRule(usize, usize),
    /// Adds a part to the mapping's condition, joined as given.
    AddClause(usize, domain::mapping::Join, domain::mapping::Clause),
    /// The mapping applies to every response again.
    ClearCondition(usize),
}

impl Change {
    /// The change in words for the project's Salesforce history.
    fn describe(&self, mappings: &[Mapping], survey: &SurveyDefinition) -> String {
        let object = |i: &usize| mappings.get(*i).map(|m| m.object.as_str().to_string()).unwrap_or_else(|| "?".into());
        match self {
            Change::AddMapping(m) => format!("added a mapping: {} a {} record", action_words(&m.action, survey), m.object.as_str()),
            Change::RemoveMapping(i) => format!("removed the {} mapping", object(i)),
            Change::AddRule(i, rule) => {
                let converted = rule.convert.as_ref().map(|c| format!(", {}", c.describe())).unwrap_or_default();
                format!("mapped {}.{} from {}{converted}", object(i), rule.field.as_str(), rule.source.describe(survey))
            }
            Change::RemoveRule(i, r) => {
                let field = mappings.get(*i).and_then(|m| m.rules.get(*r)).map(|r| r.field.as_str().to_string()).unwrap_or_else(|| "?".into());
                format!("unmapped {}.{}", object(i), field)
            }
            Change::AddClause(i, join, clause) => {
                let condition = domain::mapping::Condition::adding(mappings.get(*i).and_then(|m| m.condition.as_ref()), *join, clause.clone());
                format!("made the {} mapping apply only when {}", object(i), condition.describe(survey))
            }
            Change::ClearCondition(i) => format!("made the {} mapping apply to every response", object(i)),
        }
    }
}

fn action_words(action: &MappingAction, survey: &SurveyDefinition) -> String {
    match action {
        MappingAction::Create => "create".into(),
        MappingAction::Update { record_id } => format!("update (by {})", record_id.code()),
        MappingAction::Upsert { external_id_field } => format!("upsert (by {})", external_id_field.as_str()),
        MappingAction::Match { field, source, when_none } => {
            let none = match when_none {
                domain::mapping::WhenNone::Create => "or create",
                domain::mapping::WhenNone::Skip => "or skip",
            };
            format!("update the record whose {} equals {} ({none})", field.as_str(), source.describe(survey))
        }
    }
}

/// Applies a change, checks the result against the owner's org, and saves
/// it — when the account may change what the project writes into the
/// owner's org (`domain::Access::can_change_salesforce`), and into the
/// project's Salesforce history. A new mapping's object and a new rule's field must fit at once;
/// what a mapping still lacks (required fields, its upsert key) is shown
/// and holds the survey's deliveries until it is added. The survey counts
/// as validated against the org only when every mapping fits.
pub async fn change(store: &Store, settings: &SalesforceSettings, project: &Project, by: &Actor, change: Change) -> Result<IntegrationCheck, AppError> {
    require_salesforce_changes(project)?;
    let current = load(store, settings, project).await?;
    let (org, survey) = (&current.org, &current.survey);
    let described = change.describe(&current.mappings, survey);
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
                MappingAction::Match { field, .. } => Some(field.as_str()),
                _ => None,
            };
            // The key (or the matched field) is filled at once (with the response id), so a key
            // that cannot hold it is refused now.
            let about_key = |p: &MappingProblem| key.is_some_and(|k| p.field.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(k)));
            let blocking: Vec<MappingProblem> = m.check(schema.as_ref(), survey).into_iter().filter(|p| p.field.is_none() || about_key(p)).collect();
            if !blocking.is_empty() {
                return Err(IntegrationError::DoesNotFit(blocking).into());
            }
            mappings.push(m);
        }
        Change::RemoveMapping(i) => {
            if i >= mappings.len() {
                return Err(no_such().into());
            }
            mappings.remove(i);
        }
        Change::AddRule(i, rule) => {
            let m = mappings.get_mut(i).ok_or_else(no_such)?;
            let schema = settings.describes.describe(org, m.object.as_str()).await?;
            let before: Vec<MappingProblem> = m.check(schema.as_ref(), survey);
            m.rules.push(rule.clone());
            // Refuse the rule when it brings problems of its own: a field the
            // object lacks, a type that does not fit, a picklist value unknown,
            // a lookup to a record no earlier mapping writes.
            let mut after = m.check(schema.as_ref(), survey);
            after.extend(domain::mapping::related_problems(&mappings, i));
            let new: Vec<MappingProblem> = after
                .into_iter()
                .filter(|p| !before.contains(p) && p.field.as_deref().is_some_and(|f| f.eq_ignore_ascii_case(rule.field.as_str())))
                .collect();
            if !new.is_empty() {
                return Err(IntegrationError::DoesNotFit(new).into());
            }
        }
        Change::RemoveRule(i, r) => {
            let m = mappings.get_mut(i).ok_or_else(no_such)?;
            if r >= m.rules.len() {
                return Err(no_such().into());
            }
            if m.key_rule() == Some(&m.rules[r]) {
                let key = m.rules[r].field.as_str();
                return Err(IntegrationError::Invalid(format!(
                    "{key} is the upsert key: Insight fills it with each response's id, so it stays. To upsert by another field, remove this mapping and add a new one."
                ))
                .into());
            }
            m.rules.remove(r);
        }
        Change::AddClause(i, join, clause) => {
            let m = mappings.get_mut(i).ok_or_else(no_such)?;
            let condition = domain::mapping::Condition::adding(m.condition.as_ref(), join, clause);
            let problems = condition.check(survey);
            if !problems.is_empty() {
                return Err(IntegrationError::DoesNotFit(problems).into());
            }
            m.condition = Some(condition);
        }
        Change::ClearCondition(i) => {
            mappings.get_mut(i).ok_or_else(no_such)?.condition = None;
        }
    }
    let checked = check_all(settings, org, &mappings, survey).await?;
    let fits = checked.iter().all(|c| c.problems.is_empty());
    // A survey pinned by a switch or a transfer stays pinned to the org it
    // was validated against while it is remapped: only the transition,
    // asked for explicitly, re-enables it.
    let (saved, validated) = if current.work(project).is_pinned() {
        (store.save_pinned_mappings(project.id, &mappings, current.version).await?, current.validated_org_id.clone())
    } else {
        let validated = fits.then_some(org.org_id.as_str());
        (store.save_integration(project.id, &mappings, validated, current.version).await?, validated.map(str::to_string))
    };
    if !saved {
        return Err(IntegrationError::Conflict.into());
    }
    record(store, project, by, &described).await?;
    if validated.is_some() {
        release_deliverable(store, project.owner_id).await?;
    }
    // A save bumps the version by one (a first save makes it 1).
    Ok(current.checked(checked, validated, current.version + 1))
}

/// What replacing every mapping at once (an import) came to.
pub(crate) enum Replaced {
    Saved(IntegrationCheck),
    /// Some mapping does not fit the owner's org; nothing was saved.
    DoesNotFit(Vec<CheckedMapping>),
    /// The survey has mappings and the replacement was not confirmed
    /// against the version the person saw; nothing was saved.
    Unconfirmed { current: usize, version: i64 },
}

/// Replaces the project's mappings with `mappings`, all or nothing: every
/// one must fit the owner's org now, and mappings already there are
/// replaced only when `confirmed` names their version. Saved, validated and
/// recorded as `change` does.
pub(crate) async fn replace(store: &Store, settings: &SalesforceSettings, project: &Project, by: &Actor, mappings: Vec<Mapping>, confirmed: Option<i64>, described: &str) -> Result<Replaced, AppError> {
    require_salesforce_changes(project)?;
    let current = load(store, settings, project).await?;
    let checked = check_all(settings, &current.org, &mappings, &current.survey).await?;
    if checked.iter().any(|c| !c.problems.is_empty()) {
        return Ok(Replaced::DoesNotFit(checked));
    }
    if !current.mappings.is_empty() && confirmed != Some(current.version) {
        return Ok(Replaced::Unconfirmed { current: current.mappings.len(), version: current.version });
    }
    let org = &current.org;
    // A pinned survey stays pinned while remapped, as in `change`.
    let (saved, validated) = if current.work(project).is_pinned() {
        (store.save_pinned_mappings(project.id, &mappings, current.version).await?, current.validated_org_id.clone())
    } else {
        (store.save_integration(project.id, &mappings, Some(org.org_id.as_str()), current.version).await?, Some(org.org_id.clone()))
    };
    if !saved {
        return Err(IntegrationError::Conflict.into());
    }
    record(store, project, by, described).await?;
    if validated.is_some() {
        release_deliverable(store, project.owner_id).await?;
    }
    Ok(Replaced::Saved(current.checked(checked, validated, current.version + 1)))
}

/// After a confirmed survey edit that broke a mapping: the survey no longer
/// counts as validated against any org, so its deliveries are held (never
/// failed) until the mappings fit again. A pinned survey stays pinned to the
/// org it was validated against; its transition re-checks it anyway.
pub async fn hold_after_survey_edit(store: &Store, project: &Project) -> Result<(), AppError> {
    let Some(integration) = store.integration(project.id).await? else { return Ok(()) };
    if crate::ownership::salesforce_work(store, project).await?.is_pinned() {
        return Ok(());
    }
    if !store.save_integration(project.id, &integration.mappings, None, integration.version).await? {
        return Err(IntegrationError::Conflict.into());
    }
    tracing::info!(project = project.id, "survey edit broke a mapping; deliveries held until it fits");
    Ok(())
}

/// What becomes of the deliveries held while the survey was paused.
#[derive(Debug, Clone)]
pub enum HeldDeliveries {
    /// Deliver them to the org the survey is now validated against.
    Send,
    /// Discard them, recording who chose to.
    Discard,
}

/// The transition: re-validates the survey against the org its owner is
/// linked to now, with the owner's link, and re-enables it only when every
/// mapping fits; then the held deliveries go to that org, or are discarded
/// with a record of who chose that. After a switch or a transfer this is
/// the only way a pinned survey delivers again.
pub async fn transition(store: &Store, settings: &SalesforceSettings, project: &Project, by: &Actor, held: HeldDeliveries) -> Result<IntegrationCheck, AppError> {
    require_salesforce_changes(project)?;
    let mut checked = check(store, settings, project).await?;
    if !checked.fits() {
        return Err(IntegrationError::DoesNotFit(checked.mappings.iter().flat_map(|m| m.problems.clone()).collect()).into());
    }
    let mappings: Vec<Mapping> = checked.mappings.iter().map(|c| c.mapping.clone()).collect();
    if !store.save_integration(project.id, &mappings, Some(&checked.org_id), checked.version).await? {
        return Err(IntegrationError::Conflict.into());
    }
    tracing::info!(project = project.id, org = %checked.org_id, "survey re-validated against the owner's org");
    let mut described = format!("ran the transition: validated against {} ({})", checked.org_name, checked.org_id);
    match held {
        HeldDeliveries::Discard => {
            let note = format!("discarded by {} on moving to {} ({})", by.name, checked.org_name, checked.org_id);
            let n = store.discard_held(project.id, &note).await?;
            if n > 0 {
                described.push_str(&format!("; discarded {n} held response(s)"));
            }
        }
        HeldDeliveries::Send => {}
    }
    record(store, project, by, &described).await?;
    store.release_held(project.id).await?;
    checked.validated_org_id = Some(checked.org_id.clone());
    checked.version += 1;
    Ok(checked)
}

/// Parses the add-condition form: what it reads (`answer:q1`,
/// `embedded:region`), the comparison, the value, and the join.
pub fn parse_clause(subject: &str, op: &str, value: &str, join: &str) -> Result<(domain::mapping::Join, domain::mapping::Clause), Invalid> {
    use domain::mapping::{Clause, Join, Op, Subject};
    let subject = match domain::ValueSource::parse(subject, "")? {
        domain::ValueSource::Answer { question } => Subject::Answer { question },
        domain::ValueSource::Embedded { name } => Subject::Embedded { name },
        _ => return Err(Invalid::new("A condition reads an answer or embedded data.")),
    };
    let join = match join {
        "any" | "or" => Join::Any,
        _ => Join::All,
    };
    if value.chars().count() > 255 {
        return Err(Invalid::new("A condition's value has at most 255 characters."));
    }
    Ok((join, Clause { subject, op: Op::parse(op)?, value: value.trim().to_string() }))
}

/// The add-mapping form, as typed.
#[derive(Debug, Clone, Default)]
pub struct NewMapping<'a> {
    pub object: &'a str,
    pub action: &'a str,
    /// An upsert's external id field.
    pub key_field: &'a str,
    /// An update's record id (`embedded:case_id`).
    pub record_id: &'a str,
    /// A match's field, what it matches (`answer:q2`), and `create` or `skip`.
    pub match_field: &'a str,
    pub match_source: &'a str,
    pub when_none: &'a str,
}

/// Parses the add-mapping form.
pub fn parse_mapping(form: &NewMapping) -> Result<Mapping, Invalid> {
    let object = SObjectName::parse(form.object)?;
    let action = match form.action {
        "create" => MappingAction::Create,
        "upsert" => {
            if form.key_field.trim().is_empty() {
                return Err(Invalid::new("Pick the external id field that holds each response's id."));
            }
            MappingAction::Upsert { external_id_field: domain::FieldName::parse(form.key_field)? }
        }
        "update" => {
            if form.record_id.trim().is_empty() {
                return Err(Invalid::new("Pick the embedded data that names the record to update."));
            }
            MappingAction::Update { record_id: domain::ValueSource::parse(form.record_id, "")? }
        }
        "match" => {
            if form.match_field.trim().is_empty() {
                return Err(Invalid::new("Pick the field records are matched on (for a Contact, Email)."));
            }
            if form.match_source.trim().is_empty() {
                return Err(Invalid::new("Pick the answer or embedded data whose value is matched."));
            }
            let when_none = match form.when_none {
                "skip" => domain::mapping::WhenNone::Skip,
                "" | "create" => domain::mapping::WhenNone::Create,
                other => return Err(Invalid::new(format!("\"{other}\" is not a choice: when no record matches, create one or skip the response."))),
            };
            MappingAction::Match { field: domain::FieldName::parse(form.match_field)?, source: domain::ValueSource::parse(form.match_source, "")?, when_none }
        }
        other => return Err(Invalid::new(format!("\"{other}\" is not an action: use upsert, update or match."))),
    };
    // The upsert key is Insight's: it holds the response id, so each
    // response has its own record and a retry finds the one it made.
    let rules = match &action {
        MappingAction::Upsert { external_id_field } => vec![FieldRule { field: external_id_field.clone(), source: domain::ValueSource::ResponseId, convert: None }],
        _ => Vec::new(),
    };
    Ok(Mapping { object, action, rules, condition: None })
}

/// Where each Salesforce-integrated survey an account owns stands, decided
/// with its link as it is now.
async fn owned_work(store: &Store, account_id: i64) -> Result<Vec<(store::integrations::OwnedIntegration, SalesforceWork)>, IntegrationError> {
    let facts = store.link(account_id).await?.map(|l| l.facts());
    Ok(owned_work_with(store, account_id, facts).await?)
}

/// Where each Salesforce-integrated survey an account owns would stand with
/// its link pointing at `link` (the link as it is, or as a switch would make it).
pub(crate) async fn owned_work_with(
    store: &Store,
    account_id: i64,
    link: Option<LinkFacts>,
) -> store::Result<Vec<(store::integrations::OwnedIntegration, SalesforceWork)>> {
    let Some(account) = store.account(account_id).await? else { return Ok(Vec::new()) };
    let owner = domain::Owner { name: account.name, email: account.email };
    Ok(store
        .integrations_owned_by(account_id)
        .await?
        .into_iter()
        .map(|owned| {
            let work = SalesforceWork::decide(owner.clone(), link.clone(), owned.integration.validation(account_id));
            (owned, work)
        })
        .collect())
}

/// Sends on their way the held deliveries of every survey the account owns
/// that may deliver again (after a new sign-in, or once mappings fit).
pub async fn release_deliverable(store: &Store, account_id: i64) -> Result<u64, IntegrationError> {
    let mut released = 0;
    for (owned, work) in owned_work(store, account_id).await? {
        if work.may_deliver() {
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
    pub result: Result<IntegrationCheck, AppError>,
}

/// The surveys an account owns that are pinned until their transition: its
/// link now points at another org than the one they were validated against,
/// or they came to it by a transfer.
pub async fn paused_surveys(store: &Store, account_id: i64) -> Result<Vec<store::integrations::OwnedIntegration>, IntegrationError> {
    Ok(owned_work(store, account_id).await?.into_iter().filter(|(_, work)| work.is_pinned()).map(|(owned, _)| owned).collect())
}

/// Runs the transition of every paused survey the account owns; each one
/// re-enables only if all its mappings fit.
pub async fn transition_all(store: &Store, settings: &SalesforceSettings, by: &Actor) -> Result<Vec<TransitionOutcome>, IntegrationError> {
    let mut outcomes = Vec::new();
    for paused in paused_surveys(store, by.account_id).await? {
        let Some(project) = store.project_for(paused.project_id, by.account_id).await? else { continue };
        let result = transition(store, settings, &project, by, HeldDeliveries::Send).await;
        outcomes.push(TransitionOutcome { project_id: paused.project_id, project_name: paused.project_name, result });
    }
    Ok(outcomes)
}

/// A project's Salesforce panel: where its work goes (the one decision), the
/// survey, its mappings checked against the owner's org when there is one to
/// check against, its Salesforce history, and its deliveries so far.
#[derive(Debug)]
pub struct SalesforcePanel {
    pub work: SalesforceWork,
    pub survey: SurveyDefinition,
    /// `None` without a connected app, or when the owner has no org to check against.
    pub check: Option<Result<IntegrationCheck, IntegrationError>>,
    pub history: Vec<store::history::HistoryEntry>,
    pub counts: store::deliveries::DeliveryCounts,
}

impl crate::App {
    pub async fn salesforce_panel(&self, project: &Project) -> Result<SalesforcePanel, AppError> {
        let work = crate::ownership::salesforce_work(&self.store, project).await?;
        let survey = self.store.survey(project.id).await?.map(|s| s.definition).unwrap_or_default();
        let check = match (&self.salesforce, work.owner_org()) {
            (Some(settings), Some(_)) => Some(check(&self.store, settings, project).await),
            _ => None,
        };
        let history = crate::consent::history(&self.store, project).await?;
        let counts = self.store.delivery_counts(project.id).await?;
        Ok(SalesforcePanel { work, survey, check, history, counts })
    }

    /// Does a new rule for mapping `mapping` need a recoding first (see
    /// `domain::mapping::recoding_for`)? The field, and what to recode.
    pub async fn recoding(&self, project: &Project, mapping: usize, rule: &FieldRule, nps: bool) -> Result<Option<(domain::mapping::FieldSchema, domain::mapping::Recoding)>, AppError> {
        let settings = self.settings()?;
        let current = load(&self.store, settings, project).await?;
        let Some(m) = current.mappings.get(mapping) else { return Ok(None) };
        let schema = settings.describes.describe(&current.org, m.object.as_str()).await?;
        let field = schema.and_then(|s| s.field(rule.field.as_str()).cloned());
        Ok(field.and_then(|f| domain::mapping::recoding_for(&rule.source, nps, &f, &current.survey).map(|r| (f, r))))
    }

    /// What the editor offers for a new mapping (see `offer`).
    pub async fn mapping_offer(&self, project: &Project, picked: Option<&SObjectName>) -> Result<MappingOffer, AppError> {
        offer(&self.store, self.settings()?, project, picked).await
    }

    /// Changes the project's mappings (see `change`).
    pub async fn change_mappings(&self, project: &Project, by: &crate::accounts::Account, change: Change) -> Result<IntegrationCheck, AppError> {
        self::change(&self.store, self.settings()?, project, &crate::consent::actor(by), change).await
    }

    /// Runs the project's transition (see `transition`).
    pub async fn transition(&self, project: &Project, by: &crate::accounts::Account, held: HeldDeliveries) -> Result<IntegrationCheck, AppError> {
        transition(&self.store, self.settings()?, project, &crate::consent::actor(by), held).await
    }

    /// Runs the transition of every paused survey the account owns.
    pub async fn transition_all(&self, by: &crate::accounts::Account) -> Result<Vec<TransitionOutcome>, AppError> {
        Ok(transition_all(&self.store, self.settings()?, &crate::consent::actor(by)).await?)
    }
}
