//! REST API versions: which the emulator serves, which Salesforce has retired, and how a
//! version segment (`v59.0`) of a request path is answered.
//!
//! Salesforce's end-of-life table (https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/api_rest_eol.htm
//! and the retirement article https://help.salesforce.com/s/articleView?id=000354473&type=1):
//! 7.0 through 20.0 were retired in Summer '22, 21.0 through 30.0 in Summer '25; a request
//! to a retired version "returns 410: GONE"; 31.0 onwards are served.

use crate::records::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::fmt;

/// The oldest version Salesforce still serves (v31.0, Summer '14).
pub const OLDEST_SERVED: u32 = 31;
/// The newest released version the emulator serves (v68.0, Winter '27).
pub const LATEST: u32 = 68;
/// Versions 7.0 through this one are retired (REST started at v20.0; SOAP at v7.0).
pub const RETIRED_THROUGH: u32 = 30;
const OLDEST_RETIRED: u32 = 7;

/// A REST API version such as 59.0 (Salesforce versions are always `N.0`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ApiVersion(u32);

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("not a Salesforce API version (expected e.g. \"59.0\"): {0:?}")]
pub struct BadVersion(String);

impl ApiVersion {
    pub const fn new(major: u32) -> Self {
        ApiVersion(major)
    }
    pub fn major(self) -> u32 {
        self.0
    }
    /// Parse "59.0" or "v59.0".
    pub fn parse(s: &str) -> Result<Self, BadVersion> {
        let digits = s.strip_prefix('v').unwrap_or(s);
        match digits.split_once('.') {
            Some((maj, "0")) if !maj.is_empty() && maj.bytes().all(|b| b.is_ascii_digit()) => {
                maj.parse().map(ApiVersion).map_err(|_| BadVersion(s.to_string()))
            }
            _ => Err(BadVersion(s.to_string())),
        }
    }
    /// The release a version shipped in: three a year since v20.0 (Winter '11).
    pub fn label(self) -> String {
        let n = self.0.saturating_sub(20);
        let season = ["Winter", "Spring", "Summer"][(n % 3) as usize];
        format!("{season} '{:02}", 11 + n / 3)
    }
    pub fn is_retired(self) -> bool {
        (OLDEST_RETIRED..=RETIRED_THROUGH).contains(&self.0)
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.0", self.0)
    }
}

impl TryFrom<String> for ApiVersion {
    type Error = BadVersion;
    fn try_from(s: String) -> Result<Self, BadVersion> {
        ApiVersion::parse(&s)
    }
}

impl From<ApiVersion> for String {
    fn from(v: ApiVersion) -> String {
        v.to_string()
    }
}

/// The versions one emulator serves: v31.0 through v68.0, plus the next release when the
/// configuration names it (a sandbox on the preview instance sees it before production).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServedVersions {
    newest: ApiVersion,
}

impl ServedVersions {
    /// `next` must be the release after [`LATEST`]; anything else is a configuration error.
    pub fn new(next: Option<ApiVersion>) -> Result<Self, String> {
        match next {
            None => Ok(ServedVersions { newest: ApiVersion(LATEST) }),
            Some(v) if v.0 == LATEST + 1 => Ok(ServedVersions { newest: v }),
            Some(v) => Err(format!(
                "next_api_version {v}: the emulator serves through {}.0 ({}), so the only next version is {}.0",
                LATEST,
                ApiVersion(LATEST).label(),
                LATEST + 1
            )),
        }
    }

    pub fn newest(&self) -> ApiVersion {
        self.newest
    }

    pub fn iter(&self) -> impl Iterator<Item = ApiVersion> {
        (OLDEST_SERVED..=self.newest.0).map(ApiVersion)
    }

    /// `GET /services/data`: every served version, oldest first, as Salesforce lists them.
    pub fn listing(&self) -> Value {
        Value::Array(
            self.iter()
                .map(|v| json!({"label": v.label(), "url": format!("/services/data/v{v}"), "version": v.to_string()}))
                .collect(),
        )
    }

    /// Answer a request path's version segment (`v59.0`): a served version, 410 GONE for
    /// a retired one, 404 NOT_FOUND for anything that is not a version Salesforce serves
    /// (a future version, `v59.5`, `latest`), as for any path that does not exist.
    pub fn resolve(&self, segment: &str) -> Result<ApiVersion, ApiError> {
        let v = segment
            .strip_prefix('v')
            .and_then(|_| ApiVersion::parse(segment).ok())
            .ok_or_else(ApiError::not_found)?;
        if v.is_retired() {
            // errorCode GONE: as in a real org's answer to a retired version
            // (https://github.com/restforce/restforce/issues/941). Salesforce does not document
            // the message; this is the 410 row of https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/errorcodes.htm
            return Err(ApiError::new(
                410,
                "GONE",
                "The requested resource has been retired or removed. Delete or update any references to the resource.",
            ));
        }
        if v.0 < OLDEST_SERVED || v > self.newest {
            return Err(ApiError::not_found());
        }
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_the_release_calendar() {
        assert_eq!(ApiVersion::new(31).label(), "Summer '14");
        assert_eq!(ApiVersion::new(59).label(), "Winter '24");
        assert_eq!(ApiVersion::new(68).label(), "Winter '27");
        assert_eq!(ApiVersion::new(69).label(), "Spring '27");
    }

    #[test]
    fn parse_accepts_only_whole_versions() {
        assert_eq!(ApiVersion::parse("v59.0"), Ok(ApiVersion::new(59)));
        assert_eq!(ApiVersion::parse("59.0"), Ok(ApiVersion::new(59)));
        for bad in ["v59", "v59.5", "59", "v.0", "v+5.0", "latest", ""] {
            assert!(ApiVersion::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn resolve_table() {
        let served = ServedVersions::new(None).unwrap();
        let status = |s: &str| served.resolve(s).map(|v| v.major()).map_err(|e| (e.status, e.code));
        assert_eq!(status("v31.0"), Ok(31));
        assert_eq!(status("v68.0"), Ok(68));
        assert_eq!(status("v30.0"), Err((410, "GONE")));
        assert_eq!(status("v7.0"), Err((410, "GONE")));
        assert_eq!(status("v6.0"), Err((404, "NOT_FOUND")));
        assert_eq!(status("v69.0"), Err((404, "NOT_FOUND")));
        assert_eq!(status("59.0"), Err((404, "NOT_FOUND")));
        assert_eq!(status("v59.1"), Err((404, "NOT_FOUND")));
        let with_next = ServedVersions::new(Some(ApiVersion::new(69))).unwrap();
        assert_eq!(with_next.resolve("v69.0").map(|v| v.major()).ok(), Some(69));
        assert_eq!(with_next.resolve("v70.0").unwrap_err().status, 404);
    }

    #[test]
    fn only_the_release_after_the_latest_can_be_the_next() {
        assert!(ServedVersions::new(Some(ApiVersion::new(70))).unwrap_err().contains("only next version is 69.0"));
        assert!(ServedVersions::new(Some(ApiVersion::new(60))).is_err());
    }
}
