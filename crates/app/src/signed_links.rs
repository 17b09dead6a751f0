//! Signed survey links: making them for a survey's owner, replacing the
//! survey's signing key, and deciding where a submitted response's embedded
//! data came from. The signing itself is `domain::signed_link`.

use domain::signed_link::{self, EXPIRES_PARAM, SIGNATURE_PARAM};
use domain::{EmbeddedProvenance, LinkKey};
use std::collections::BTreeMap;
use store::sealed::Secret;
use store::surveys::Survey;
use store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum SignedLinkError {
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A signed link's query string (`?` not included) and when it expires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedLink {
    pub query: String,
    pub expires: Option<i64>,
}

fn new_key() -> Secret {
    Secret::new(LinkKey::from_bytes(rand::random()).to_hex())
}

fn parse_key(project_id: i64, key: &Secret) -> Result<LinkKey, StoreError> {
    LinkKey::from_hex(key.expose()).map_err(|_| StoreError::Corrupt(format!("survey {project_id} signing key is not 32 bytes of hex")))
}

/// Signs `fields` (embedded data names the survey declares, with their
/// exact values) and an optional expiry (Unix seconds, after `now`).
pub async fn sign_link(store: &Store, survey: &Survey, fields: &[(String, String)], expires: Option<i64>, now: i64) -> Result<SignedLink, SignedLinkError> {
    let def = &survey.definition;
    let mut seen = std::collections::BTreeSet::new();
    for (name, _) in fields {
        if !def.embedded.iter().any(|n| n.as_str() == name) {
            let declared: Vec<&str> = def.embedded.iter().map(|n| n.as_str()).collect();
            return Err(SignedLinkError::Invalid(if declared.is_empty() {
                format!("The survey declares no embedded data field \"{name}\": declare it under Survey → Embedded data first.")
            } else {
                format!("The survey declares no embedded data field \"{name}\"; it declares {}.", declared.join(", "))
            }));
        }
        if !seen.insert(name) {
            return Err(SignedLinkError::Invalid(format!("The embedded data field \"{name}\" is given twice.")));
        }
    }
    let embedded: BTreeMap<String, String> = def.embedded_from_link(fields.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| SignedLinkError::Invalid(e.0))?;
    if let Some(at) = expires {
        if at <= now {
            return Err(SignedLinkError::Invalid("The expiry is in the past: choose a time after now, or none.".into()));
        }
    }
    let key = match store.survey_link_key(survey.project_id).await? {
        Some(k) => k,
        None => store.first_survey_link_key(survey.project_id, &new_key()).await?,
    };
    let signature = signed_link::sign(&parse_key(survey.project_id, &key)?, &embedded, expires);
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in &embedded {
        query.append_pair(k, v);
    }
    if let Some(at) = expires {
        query.append_pair(EXPIRES_PARAM, &at.to_string());
    }
    query.append_pair(SIGNATURE_PARAM, &signature);
    Ok(SignedLink { query: query.finish(), expires })
}

/// Gives the survey a new signing key and returns it, to be shown once:
/// every link signed with the old key stops being trusted.
pub async fn regenerate_key(store: &Store, project_id: i64) -> Result<Secret, StoreError> {
    let key = new_key();
    store.replace_survey_link_key(project_id, &key).await?;
    tracing::info!(project = project_id, "survey signing key replaced");
    Ok(key)
}

/// Where a submitted response's embedded data came from: a signed link only
/// when its signature matches the values actually submitted, under the
/// survey's current key, and it has not expired (`now` in Unix seconds).
pub async fn provenance(
    store: &Store,
    project_id: i64,
    embedded: &BTreeMap<String, String>,
    signature: Option<&str>,
    expires: Option<&str>,
    now: i64,
) -> Result<EmbeddedProvenance, StoreError> {
    let Some(signature) = signature else {
        return Ok(EmbeddedProvenance::Unsigned);
    };
    let checked = match store.survey_link_key(project_id).await? {
        Some(key) => signed_link::verify(&parse_key(project_id, &key)?, embedded, expires, signature, now),
        // A signature for a survey that never had a key was not made by us.
        None => Err(signed_link::LinkRejected::Tampered),
    };
    Ok(EmbeddedProvenance::of_link(Some(checked)))
}

/// Refuses signed links and signing keys to anyone but the owner, or an
/// editor the owner granted Salesforce changes: the owner's link writes into
/// the records a signed link names.
pub fn require_signer(project: &crate::projects::Project) -> Result<(), crate::AppError> {
    if crate::projects::access(project).can_sign_links() {
        Ok(())
    } else {
        Err(crate::AppError::SignersOnly { owner: project.owner_name.clone(), owner_email: project.owner_email.clone() })
    }
}

impl crate::App {
    /// Signs a link to the project's survey (see `sign_link`), for an
    /// account that may sign its links.
    pub async fn sign_link(&self, project: &crate::projects::Project, fields: &[(String, String)], expires: Option<i64>, now: i64) -> Result<SignedLink, crate::AppError> {
        require_signer(project)?;
        let survey = self.survey(project).await?;
        sign_link(&self.store, &survey, fields, expires, now).await.map_err(|e| match e {
            SignedLinkError::Invalid(m) => crate::AppError::Invalid(m),
            SignedLinkError::Store(e) => crate::AppError::Store(e),
        })
    }

    /// Gives the survey a new signing key and returns it, to be shown once.
    pub async fn regenerate_signing_key(&self, project: &crate::projects::Project) -> Result<String, crate::AppError> {
        require_signer(project)?;
        Ok(regenerate_key(&self.store, project.id).await?.expose().to_string())
    }
}
