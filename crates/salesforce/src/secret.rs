//! Secrets that must never reach a log line: their `Debug` is redacted and
//! they have no `Display` and no `Serialize`; reading one takes an explicit `expose()`.

use std::fmt;

macro_rules! secret {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self { $name(s.into()) }
            /// The secret itself, for sending to Salesforce or sealing at rest.
            pub fn expose(&self) -> &str { &self.0 }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, concat!(stringify!($name), "(<redacted {} chars>)"), self.0.len())
            }
        }
    };
}

secret!(
    /// A connected app's consumer secret.
    ClientSecret
);
secret!(
    /// An OAuth access token (a Salesforce session id).
    AccessToken
);
secret!(
    /// An OAuth refresh token: a long-lived credential for the linked user.
    RefreshToken
);
secret!(
    /// A PKCE code verifier (RFC 7636), kept server-side between authorize and token calls.
    PkceVerifier
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_contains_the_secret() {
        let s = AccessToken::new("00Dxx!AQ0AQsecretsecret");
        let d = format!("{s:?}");
        assert!(!d.contains("secret"), "{d}");
        assert!(d.contains("redacted"));
        assert_eq!(s.expose(), "00Dxx!AQ0AQsecretsecret");
    }
}
