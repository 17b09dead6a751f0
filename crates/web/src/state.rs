//! What every handler shares.

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
}

impl AppState {
    pub fn new(
        store: Store,
        public_url: String,
        session_lifetime: Duration,
        salesforce: Option<app::SalesforceSettings>,
        delivery_lease: Duration,
        form_key: [u8; 32],
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
        }
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
