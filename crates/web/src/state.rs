//! What every handler shares: the use cases (`app::App`), and what is the
//! web server's own (its address, session lifetime, form key and limits).

use crate::auth::passwords::PasswordWork;
use crate::auth::throttle::SignInLimits;
use crate::rate_limit::{ClientAddress, Throttle};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct AppState {
    /// Every use case: handlers turn requests into its calls.
    pub app: app::App,
    pub public_url: Arc<str>,
    pub session_lifetime: Duration,
    /// Signs the CSRF tokens of forms shown before sign-in.
    pub form_key: Arc<[u8; 32]>,
    /// Every password hash and check of a request waits its turn here.
    pub passwords: Arc<PasswordWork>,
    pub sign_in_limits: Arc<SignInLimits>,
    /// Anonymous survey responses per client address.
    pub submission_limit: Arc<Throttle<ClientAddress>>,
}

impl AppState {
    pub fn new(app: app::App, public_url: String, session_lifetime: Duration, form_key: [u8; 32], limits: &crate::Limits) -> AppState {
        AppState {
            app,
            public_url: public_url.into(),
            session_lifetime,
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

    /// Refuses what needs Salesforce when no connected app is configured.
    pub fn require_salesforce(&self) -> Result<(), crate::error::WebError> {
        if self.app.has_salesforce() {
            Ok(())
        } else {
            Err(crate::error::WebError::Unavailable(app::link::LinkError::NotConfigured.to_string()))
        }
    }

    /// True when people reach the server over HTTPS, so cookies are `Secure`.
    pub fn is_https(&self) -> bool {
        self.public_url.starts_with("https://")
    }

    pub fn survey_url(&self, slug: &str) -> String {
        format!("{}/s/{slug}", self.public_url)
    }
}
