//! Which Salesforce a link points at, and which REST API version it speaks.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Production or sandbox: decides the default login host.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Production,
    Sandbox,
}

impl Environment {
    /// Salesforce's login host for this environment (a My Domain URL overrides it).
    pub fn default_login_url(self) -> url::Url {
        let s = match self {
            Environment::Production => "https://login.salesforce.com",
            Environment::Sandbox => "https://test.salesforce.com",
        };
        url::Url::parse(s).expect("static URL")
    }

    /// Where a link signs in: the org's My Domain when given, else the environment's login host.
    pub fn login_base(self, my_domain: Option<&url::Url>) -> url::Url {
        my_domain.cloned().unwrap_or_else(|| self.default_login_url())
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Environment::Production => "production",
            Environment::Sandbox => "sandbox",
        }
    }
}

impl fmt::Display for Environment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a Salesforce API version (expected e.g. \"v62.0\"): {0:?}")]
pub struct ApiVersionError(String);

/// A REST API version such as `v62.0`. Accepts "62.0" and "v62.0"; displays as "v62.0".
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    major: u16,
}

impl ApiVersion {
    /// The version Insight is built and tested against.
    pub const DEFAULT: ApiVersion = ApiVersion { major: 62 };

    pub fn new(major: u16) -> Self {
        ApiVersion { major }
    }

    pub fn major(self) -> u16 {
        self.major
    }

    pub fn parse(s: &str) -> Result<Self, ApiVersionError> {
        let err = || ApiVersionError(s.to_string());
        let t = s.strip_prefix('v').unwrap_or(s);
        // Salesforce versions are always N.0 (the minor part has never been used).
        let (maj, min) = t.split_once('.').ok_or_else(err)?;
        if min != "0" || maj.is_empty() || !maj.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let major: u16 = maj.parse().map_err(|_| err())?;
        if major == 0 {
            return Err(err());
        }
        Ok(ApiVersion { major })
    }

    /// The path segment used in REST URLs: `/services/data/v62.0/`.
    pub fn path_segment(self) -> String {
        self.to_string()
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.0", self.major)
    }
}

impl FromStr for ApiVersion {
    type Err = ApiVersionError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for ApiVersion {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_string())
    }
}

impl<'de> Deserialize<'de> for ApiVersion {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_version_parses_both_spellings() {
        assert_eq!(ApiVersion::parse("v62.0").unwrap(), ApiVersion::new(62));
        assert_eq!(ApiVersion::parse("62.0").unwrap().to_string(), "v62.0");
        assert!(ApiVersion::parse("v62").is_err());
        assert!(ApiVersion::parse("v62.1").is_err());
        assert!(ApiVersion::parse("vx.0").is_err());
        assert!(ApiVersion::parse("").is_err());
    }

    #[test]
    fn sandbox_signs_in_at_test_salesforce_com() {
        assert_eq!(Environment::Sandbox.default_login_url().as_str(), "https://test.salesforce.com/");
        assert_eq!(Environment::Production.default_login_url().as_str(), "https://login.salesforce.com/");
        let my = url::Url::parse("https://acme.my.salesforce.com").unwrap();
        assert_eq!(Environment::Sandbox.login_base(Some(&my)), my);
        assert_eq!(Environment::Production.login_base(None).host_str(), Some("login.salesforce.com"));
    }
}
