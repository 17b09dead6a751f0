//! What every handler shares.

use crate::auth::passwords::PasswordWork;
use crate::auth::throttle::SignInLimits;
use crate::rate_limit::{ClientAddress, Throttle};
use std::sync::Arc;
use std::time::Duration;
use store::{ResponseWriter, Store};

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub responses: ResponseWriter,
    pub public_url: Arc<str>,
    pub session_lifetime: Duration,
    pub salesforce: Option<Arc<app::SalesforceSettings>>,
    pub delivery_lease: Duration,
    /// Signs the CSRF tokens of forms shown before sign-in.
    pub form_key: Arc<[u8; 32]>,
    /// Every password hash and check of a request waits its turn here.
    pub passwords: Arc<PasswordWork>,
    pub sign_in_limits: Arc<SignInLimits>,
    /// Anonymous survey responses per client address.
    pub submission_limit: Arc<Throttle<ClientAddress>>,
}

impl AppState {
    pub fn new(
        store: Store,
        public_url: String,
        session_lifetime: Duration,
        salesforce: Option<app::SalesforceSettings>,
        delivery_lease: Duration,
        form_key: [u8; 32],
        limits: &crate::Limits,
    ) -> AppState {
        let responses = store.response_writer();
        AppState {
            store,
            responses,
            public_url: public_url.into(),
            session_lifetime,
            salesforce: salesforce.map(Arc::new),
            delivery_lease,
            form_key: Arc::new(form_key),
            passwords: Arc::new(PasswordWork::new(limits.password_checks_at_once, limits.password_checks_waiting)),
            sign_in_limits: Arc::new(SignInLimits::new(limits.sign_in_per_account, limits.sign_in_per_address)),
            submission_limit: Arc::new(Throttle::new(limits.submissions_per_address)),
        }
    }

    /// Forgets clients whose limits have recovered (memory stays bounded).
    pub fn forget_recovered_clients(&self) {
        self.sign_in_limits.forget_recovered();
        self.submission_limit.forget_recovered();
    }

    /// The Salesforce settings, or the error that says none are configured.
    pub fn salesforce(&self) -> Result<&app::SalesforceSettings, crate::error::WebError> {
        self.salesforce.as_deref().ok_or_else(|| {
            crate::error::WebError::Unavailable(app::link::LinkError::NotConfigured.to_string())
        })
    }

    /// True when people reach the server over HTTPS, so cookies are `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn survey_url(&self, slug: &str) -> String {
        format!("{}/s/{slug}", self.public_url)
    }
}
