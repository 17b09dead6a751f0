//! Insight's typed Salesforce client.
//!
//! - [`ids`]: 15/18-character ids, `OrgId`, `UserId`, `RecordId`.
//! - [`environment`]: production or sandbox, API version.
//! - [`error`]: REST and OAuth error codes, one `SalesforceError`.
//! - [`hosts`]: which hosts may receive the secret and tokens; `MyDomain`.
//! - [`oauth`]: web-server flow with PKCE and state, refresh, revoke, identity.
//! - [`session`]: the current tokens, with one coalesced refresh on expiry.
//! - [`rest`]: versions, query, describe, CRUD, upsert, sObject Collections, limits.
//! - [`outbound`]: the outbound-message SOAP codec.
//!
//! Linking an org, in brief:
//!
//! ```no_run
//! # async fn link(code: &str, state: &str) -> Result<(), salesforce::SalesforceError> {
//! use salesforce::{oauth, ApiVersion, Client, ClientSecret, ConnectedApp, Environment, Session};
//! use std::sync::Arc;
//! let app = ConnectedApp {
//!     client_id: "3MVG9…".into(),
//!     client_secret: ClientSecret::new("…"),
//!     redirect_uri: "https://insight.example/salesforce/callback".parse().unwrap(),
//!     trusted_hosts: salesforce::TrustedHosts::none(),
//! };
//! let login = Environment::Sandbox.login_base(None);
//! // 1. Send the browser to `req.url`; keep `state` and the verifier in the browser session.
//! let req = oauth::authorization_request(&app, &login)?;
//! // 2. On the callback, check `state`, then exchange the code.
//! assert_eq!(state, req.state);
//! let http = salesforce::http_client();
//! let tokens = oauth::exchange_code(&http, &app, &login, code, &req.pkce_verifier).await?;
//! // 3. Use it; an expired access token is refreshed once, for all callers.
//! let session = Session::new(http, app, login, tokens, Arc::new(salesforce::session::IgnoreTokenEvents));
//! let client = Client::new(session, ApiVersion::DEFAULT);
//! let org = client.organization().await?;
//! assert_eq!(org.environment(), Environment::Sandbox);
//! # Ok(()) }
//! ```
//!
//! This crate shares no types with the emulator (`sfemu`): both are written from
//! Salesforce's documentation, so a misunderstanding in one shows up in tests.

/// Defines a string-backed enum with an `Other(String)` catch-all.
macro_rules! code_enum {
    ($(#[$doc:meta])* $name:ident { $($variant:ident => $s:literal,)* }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($variant,)*
            /// A code this crate does not know by name, kept verbatim.
            Other(String),
        }

        impl $name {
            pub fn parse(s: &str) -> Self {
                match s {
                    $($s => $name::$variant,)*
                    other => $name::Other(other.to_string()),
                }
            }
            pub fn as_str(&self) -> &str {
                match self {
                    $($name::$variant => $s,)*
                    $name::Other(s) => s,
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result { f.write_str(self.as_str()) }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> { s.serialize_str(self.as_str()) }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                Ok($name::parse(&<String as ::serde::Deserialize>::deserialize(d)?))
            }
        }
    };
}


pub mod environment;
pub mod error;
pub mod hosts;
pub mod ids;
pub mod oauth;
pub mod outbound;
pub mod rest;
pub mod secret;
pub mod session;

pub use environment::{ApiVersion, Environment};
pub use error::{ApiError, ErrorCode, OAuthErrorCode, SalesforceError};
pub use hosts::{MyDomain, MyDomainError, TrustedHosts};
pub use ids::{IdError, OrgId, RecordId, SalesforceId, UserId};
pub use oauth::{AuthorizationRequest, ConnectedApp, Identity, IdentityUrl, RefreshedTokens, Tokens};
pub use rest::Client;
pub use secret::{AccessToken, ClientSecret, PkceVerifier, RefreshToken};
pub use session::{Session, SessionObserver};

/// An HTTP client with the timeouts Insight wants for Salesforce: a dead host
/// fails fast (connect), a slow call still has room (Collections of 200 records).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(std::time::Duration::from_secs(10))
        .timeout(std::time::Duration::from_secs(120))
        .user_agent(concat!("insight-salesforce/", env!("CARGO_PKG_VERSION")))
        .build()
        .expect("reqwest client with static settings")
}
