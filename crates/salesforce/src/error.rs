//! Salesforce's errors as Rust types: REST error codes, OAuth error codes, and
//! the one error type this crate returns.

use serde::{Deserialize, Serialize};
use std::fmt;

code_enum!(
    /// REST API error codes (`errorCode` in `[{"message","errorCode","fields"}]`,
    /// `statusCode` in sObject Collections results).
    ErrorCode {
        InvalidSessionId => "INVALID_SESSION_ID",
        RequestLimitExceeded => "REQUEST_LIMIT_EXCEEDED",
        InvalidField => "INVALID_FIELD",
        InvalidFieldForInsertUpdate => "INVALID_FIELD_FOR_INSERT_UPDATE",
        RequiredFieldMissing => "REQUIRED_FIELD_MISSING",
        StringTooLong => "STRING_TOO_LONG",
        DuplicateValue => "DUPLICATE_VALUE",
        DuplicateExternalId => "DUPLICATE_EXTERNAL_ID",
        NotFound => "NOT_FOUND",
        EntityIsDeleted => "ENTITY_IS_DELETED",
        MalformedId => "MALFORMED_ID",
        MalformedQuery => "MALFORMED_QUERY",
        InvalidType => "INVALID_TYPE",
        InvalidOrNullForRestrictedPicklist => "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        FieldIntegrityException => "FIELD_INTEGRITY_EXCEPTION",
        FieldCustomValidationException => "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        InsufficientAccessOrReadonly => "INSUFFICIENT_ACCESS_OR_READONLY",
        InsufficientAccessOnCrossReferenceEntity => "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
        ApiDisabledForOrg => "API_DISABLED_FOR_ORG",
        JsonParserError => "JSON_PARSER_ERROR",
        InvalidEmailAddress => "INVALID_EMAIL_ADDRESS",
        InvalidCrossReferenceKey => "INVALID_CROSS_REFERENCE_KEY",
        InvalidQueryLocator => "INVALID_QUERY_LOCATOR",
        InvalidQueryFilterOperator => "INVALID_QUERY_FILTER_OPERATOR",
        UnableToLockRow => "UNABLE_TO_LOCK_ROW",
        ServerUnavailable => "SERVER_UNAVAILABLE",
        MethodNotAllowed => "METHOD_NOT_ALLOWED",
        AllOrNoneOperationRolledBack => "ALL_OR_NONE_OPERATION_ROLLED_BACK",
        ExceededIdLimit => "EXCEEDED_ID_LIMIT",
        UnknownException => "UNKNOWN_EXCEPTION",
        InvalidIdField => "INVALID_ID_FIELD",
        InvalidInput => "INVALID_INPUT",
        NumberOutsideValidRange => "NUMBER_OUTSIDE_VALID_RANGE",
        CannotInsertUpdateActivateEntity => "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY",
        EntityIsLocked => "ENTITY_IS_LOCKED",
        DeleteFailed => "DELETE_FAILED",
        FieldFilterValidationException => "FIELD_FILTER_VALIDATION_EXCEPTION",
        InvalidOperationWithExpiredPassword => "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
    }
);

impl ErrorCode {
    /// A passing condition: the same write may succeed when tried again
    /// later (a row lock another transaction holds, the server busy, the
    /// daily limit, which frees as its 24-hour window moves).
    pub fn is_transient(&self) -> bool {
        matches!(self, ErrorCode::RequestLimitExceeded | ErrorCode::UnableToLockRow | ErrorCode::ServerUnavailable)
    }
}

code_enum!(
    /// OAuth 2.0 error codes (`error` in `{"error","error_description"}`).
    OAuthErrorCode {
        InvalidGrant => "invalid_grant",
        InvalidClient => "invalid_client",
        InvalidClientId => "invalid_client_id",
        InvalidClientCredentials => "invalid_client_credentials",
        InvalidRequest => "invalid_request",
        UnsupportedGrantType => "unsupported_grant_type",
        UnsupportedResponseType => "unsupported_response_type",
        UnsupportedTokenType => "unsupported_token_type",
        AccessDenied => "access_denied",
        RedirectUriMismatch => "redirect_uri_mismatch",
        InvalidScope => "invalid_scope",
        InactiveUser => "inactive_user",
        InactiveOrg => "inactive_org",
        RateLimitExceeded => "rate_limit_exceeded",
        InvalidToken => "invalid_token",
    }
);

/// One entry of a REST error body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiError {
    #[serde(default)]
    pub message: String,
    /// `errorCode` in REST error bodies; Collections results spell it `statusCode`.
    #[serde(rename = "errorCode", alias = "statusCode")]
    pub error_code: ErrorCode,
    #[serde(default)]
    pub fields: Vec<String>,
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error_code, self.message)?;
        if !self.fields.is_empty() {
            write!(f, " (fields: {})", self.fields.join(", "))?;
        }
        Ok(())
    }
}

/// Parse a REST error body (`[{"message","errorCode","fields"}]`). Salesforce
/// sometimes answers with a single object instead of an array; both are accepted.
pub fn parse_api_errors(body: &[u8]) -> Option<Vec<ApiError>> {
    if let Ok(v) = serde_json::from_slice::<Vec<ApiError>>(body) {
        return Some(v);
    }
    serde_json::from_slice::<ApiError>(body).ok().map(|e| vec![e])
}

/// The OAuth error body `{"error","error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OAuthErrorBody {
    pub error: OAuthErrorCode,
    #[serde(default)]
    pub error_description: String,
}

fn join_errors(errors: &[ApiError]) -> String {
    errors.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// Everything that can go wrong talking to Salesforce.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SalesforceError {
    /// No answer: connection refused, reset, DNS, timeout. Worth retrying later.
    #[error("Salesforce unreachable: {0}")]
    Unreachable(#[source] reqwest::Error),
    /// Salesforce answered a REST call with an error status.
    #[error("Salesforce API error (HTTP {status}): {}", join_errors(.errors))]
    Api { status: u16, errors: Vec<ApiError> },
    /// Salesforce answered an OAuth call with an error.
    #[error("Salesforce OAuth error (HTTP {status}): {error}: {description}")]
    OAuth { status: u16, error: OAuthErrorCode, description: String },
    /// The access token is no longer accepted and could not be (or was just) refreshed.
    #[error("Salesforce session expired or invalid")]
    SessionExpired,
    /// The refresh token was revoked or expired: the user must link Salesforce again.
    #[error("Salesforce refresh token revoked or expired ({description}); sign in to Salesforce again")]
    RefreshTokenRevoked { description: String },
    /// A refresh attempted by a concurrent call failed for a passing reason (the
    /// caller that sent it got the original error); try again later.
    #[error("refreshing the Salesforce session failed: {reason}")]
    RefreshFailed { reason: String },
    /// The callback's `state` is not the one this browser session started with (CSRF or a stale tab).
    #[error("OAuth state does not match this sign-in")]
    StateMismatch,
    /// The token response's signature does not match HMAC-SHA256(id + issued_at) under our client secret.
    #[error("token response signature does not verify: not from Salesforce for this connected app")]
    SignatureMismatch,
    /// An upsert by external id matched more than one record (HTTP 300).
    #[error("external id matches {} records", .matches.len())]
    AmbiguousExternalId { matches: Vec<String> },
    /// A response that does not have the documented shape.
    #[error("unexpected response from Salesforce ({what}): {detail}")]
    Decode { what: &'static str, detail: String },
    /// A Bulk API 2.0 ingest job did not finish in the time given; it was
    /// aborted (what it had written stays, so its rows are sent again as
    /// upserts or updates, never as creates).
    #[error("the Bulk API job {job_id} had not finished after {waited_secs} s ({state}); it was aborted")]
    BulkJobUnfinished { job_id: String, state: String, waited_secs: u64 },
    /// Salesforce failed a Bulk API 2.0 ingest job as a whole.
    #[error("Salesforce failed the Bulk API job {job_id}: {message}")]
    BulkJobFailed { job_id: String, message: String },
    /// Caller input this crate refuses before sending (e.g. a URL that cannot be joined).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A login host, instance or identity URL that is not Salesforce's (nor
    /// configured as trusted): nothing was sent there.
    #[error("{host} is not a Salesforce host, so Insight sent nothing there (it was named as the {what})")]
    UntrustedHost { what: &'static str, host: String },
}

/// Longest Salesforce `error_description` or REST `message` kept: enough for
/// any message Salesforce writes, too short to carry a page.
pub const MAX_MESSAGE_CHARS: usize = 500;

/// `s` cut to `max` characters (an ellipsis marks the cut).
pub(crate) fn bounded(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// A body that is not Salesforce's documented error shape is never quoted
/// (it may be a proxy's page, or anything a foreign host sends): only its status.
fn unshaped_body(status: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("error");
    format!("HTTP {status} {reason}, without a Salesforce error body")
}

/// What a body that should have been JSON was, without quoting it: serde's
/// messages may repeat the body's own strings (`invalid type: string "…"`).
pub(crate) fn json_problem(e: &serde_json::Error) -> String {
    use serde_json::error::Category;
    let what = match e.classify() {
        Category::Io => "could not be read",
        Category::Syntax => "is not JSON",
        Category::Eof => "ends too early",
        // "missing field `x`" names our own field, not the body's content.
        Category::Data if e.to_string().starts_with("missing field") => return bounded(&e.to_string(), 120),
        Category::Data => "does not have the documented shape",
    };
    format!("the body {what} (line {}, column {})", e.line(), e.column())
}

impl SalesforceError {
    pub(crate) fn decode(what: &'static str, detail: impl fmt::Display) -> Self {
        SalesforceError::Decode { what, detail: bounded(&detail.to_string(), MAX_MESSAGE_CHARS) }
    }

    /// A body that is not the JSON expected, described without quoting it.
    pub(crate) fn decode_json(what: &'static str, e: serde_json::Error) -> Self {
        SalesforceError::Decode { what, detail: json_problem(&e) }
    }

    /// Build an error from a non-success REST response.
    pub(crate) fn from_rest_response(status: u16, body: &[u8]) -> Self {
        match parse_api_errors(body) {
            Some(errors) => SalesforceError::Api {
                status,
                errors: errors.into_iter().map(|e| ApiError { message: bounded(&e.message, MAX_MESSAGE_CHARS), ..e }).collect(),
            },
            None => SalesforceError::Api {
                status,
                errors: vec![ApiError {
                    message: unshaped_body(status),
                    error_code: ErrorCode::Other(format!("HTTP_{status}")),
                    fields: vec![],
                }],
            },
        }
    }

    /// Build an error from a non-success OAuth response.
    pub(crate) fn from_oauth_response(status: u16, body: &[u8]) -> Self {
        match serde_json::from_slice::<OAuthErrorBody>(body) {
            Ok(b) => SalesforceError::OAuth {
                status,
                error: match b.error {
                    OAuthErrorCode::Other(code) => OAuthErrorCode::Other(bounded(&code, 60)),
                    known => known,
                },
                description: bounded(&b.error_description, MAX_MESSAGE_CHARS),
            },
            Err(_) => SalesforceError::OAuth { status, error: OAuthErrorCode::Other(format!("HTTP_{status}")), description: unshaped_body(status) },
        }
    }

    /// The error as a log line may carry it: a refused call's status and
    /// codes, not its messages, which can quote the values sent (a
    /// respondent's answers).
    pub fn for_log(&self) -> String {
        match self {
            SalesforceError::Api { status, errors } => {
                let codes: Vec<String> = errors.iter().map(|e| e.error_code.to_string()).collect();
                format!("Salesforce API error (HTTP {status}): {}", codes.join(", "))
            }
            other => other.to_string(),
        }
    }

    /// The first REST error code, if this is a REST error.
    pub fn error_code(&self) -> Option<&ErrorCode> {
        match self {
            SalesforceError::Api { errors, .. } => errors.first().map(|e| &e.error_code),
            _ => None,
        }
    }

    /// The access token is not accepted (401 / INVALID_SESSION_ID): refresh and retry.
    pub fn is_session_expired(&self) -> bool {
        match self {
            SalesforceError::SessionExpired => true,
            SalesforceError::Api { status, errors } => {
                *status == 401 || errors.iter().any(|e| e.error_code == ErrorCode::InvalidSessionId)
            }
            _ => false,
        }
    }

    /// Salesforce refused the call because the org's daily API limit is used up.
    pub fn is_limit_exceeded(&self) -> bool {
        matches!(self, SalesforceError::Api { errors, .. } if errors.iter().any(|e| e.error_code == ErrorCode::RequestLimitExceeded))
    }

    /// The refresh token no longer works: only a new sign-in helps.
    pub fn is_refresh_revoked(&self) -> bool {
        matches!(self, SalesforceError::RefreshTokenRevoked { .. })
    }

    /// Trying the same call again later may succeed (network trouble, overload, limits, row locks).
    /// A timed-out create may still have been written: retry writes as upserts by external id.
    pub fn is_retryable(&self) -> bool {
        match self {
            SalesforceError::Unreachable(_) | SalesforceError::RefreshFailed { .. } | SalesforceError::BulkJobUnfinished { .. } => true,
            SalesforceError::Api { status, errors } => {
                *status >= 500
                    || errors.iter().any(|e| e.error_code.is_transient())
            }
            SalesforceError::OAuth { status, error, .. } => *status >= 500 || *error == OAuthErrorCode::RateLimitExceeded,
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documented_rest_error_body_parses_into_codes() {
        // Shape from the REST API Developer Guide ("Status Codes and Error Responses").
        let body = br#"[{"message":"The requested resource does not exist","errorCode":"NOT_FOUND"}]"#;
        let e = SalesforceError::from_rest_response(404, body);
        assert_eq!(e.error_code(), Some(&ErrorCode::NotFound));
        let body = br#"[{"message":"Required fields are missing: [LastName]","errorCode":"REQUIRED_FIELD_MISSING","fields":["LastName"]}]"#;
        match SalesforceError::from_rest_response(400, body) {
            SalesforceError::Api { status: 400, errors } => {
                assert_eq!(errors[0].error_code, ErrorCode::RequiredFieldMissing);
                assert_eq!(errors[0].fields, vec!["LastName".to_string()]);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expired_session_is_recognised() {
        let body = br#"[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]"#;
        let e = SalesforceError::from_rest_response(401, body);
        assert!(e.is_session_expired());
        assert!(!e.is_retryable());
    }

    #[test]
    fn unknown_codes_are_kept_verbatim() {
        let body = br#"[{"message":"x","errorCode":"SOME_NEW_CODE"}]"#;
        let e = SalesforceError::from_rest_response(400, body);
        assert_eq!(e.error_code(), Some(&ErrorCode::Other("SOME_NEW_CODE".into())));
        assert_eq!(ErrorCode::parse("SOME_NEW_CODE").as_str(), "SOME_NEW_CODE");
    }

    #[test]
    fn known_codes_round_trip_through_their_names() {
        for name in ["INVALID_SESSION_ID", "STRING_TOO_LONG", "DUPLICATE_VALUE", "MALFORMED_ID", "INVALID_TYPE",
            "FIELD_INTEGRITY_EXCEPTION", "INSUFFICIENT_ACCESS_OR_READONLY", "API_DISABLED_FOR_ORG", "JSON_PARSER_ERROR"] {
            let code = ErrorCode::parse(name);
            assert!(!matches!(code, ErrorCode::Other(_)), "{name} is known");
            assert_eq!(code.as_str(), name);
            assert_eq!(serde_json::to_value(&code).unwrap(), serde_json::json!(name));
        }
        for name in ["invalid_grant", "invalid_client", "invalid_request", "unsupported_grant_type", "access_denied"] {
            assert!(!matches!(OAuthErrorCode::parse(name), OAuthErrorCode::Other(_)), "{name} is known");
        }
    }

    #[test]
    fn collections_spell_the_code_status_code() {
        let e: ApiError = serde_json::from_str(r#"{"statusCode":"MALFORMED_ID","message":"malformed id 001xx","fields":["Id"]}"#).unwrap();
        assert_eq!(e.error_code, ErrorCode::MalformedId);
    }

    #[test]
    fn limit_exceeded_and_server_errors_are_retryable() {
        let body = br#"[{"message":"TotalRequests Limit exceeded.","errorCode":"REQUEST_LIMIT_EXCEEDED"}]"#;
        assert!(SalesforceError::from_rest_response(403, body).is_retryable());
        assert!(SalesforceError::from_rest_response(503, b"<html>down</html>").is_retryable());
        let body = br#"[{"message":"bad","errorCode":"INVALID_FIELD"}]"#;
        assert!(!SalesforceError::from_rest_response(400, body).is_retryable());
    }

    #[test]
    fn documented_oauth_error_body_parses() {
        // From "OAuth 2.0 Refresh Token Flow": an expired or revoked refresh token.
        let body = br#"{"error":"invalid_grant","error_description":"expired access/refresh token"}"#;
        match SalesforceError::from_oauth_response(400, body) {
            SalesforceError::OAuth { error, description, .. } => {
                assert_eq!(error, OAuthErrorCode::InvalidGrant);
                assert_eq!(description, "expired access/refresh token");
            }
            other => panic!("{other:?}"),
        }
        let body = br#"{"error":"unsupported_grant_type","error_description":"grant type not supported"}"#;
        assert!(matches!(SalesforceError::from_oauth_response(400, body),
            SalesforceError::OAuth { error: OAuthErrorCode::UnsupportedGrantType, .. }));
    }

    #[test]
    fn non_json_error_bodies_still_produce_an_error() {
        let e = SalesforceError::from_oauth_response(502, b"Bad Gateway");
        assert!(e.is_retryable());
        assert!(e.to_string().contains("Bad Gateway"));
    }

    #[test]
    fn an_unshaped_error_body_is_never_quoted() {
        let body = b"<html>MARKER-7f3a secret page</html>";
        for e in [SalesforceError::from_oauth_response(400, body), SalesforceError::from_rest_response(500, body)] {
            let shown = e.to_string();
            assert!(!shown.contains("MARKER-7f3a"), "{shown}");
            assert!(shown.contains("HTTP 4") || shown.contains("HTTP 5"), "{shown}");
        }
    }

    #[test]
    fn salesforce_messages_are_kept_but_bounded() {
        let long = "x".repeat(5000);
        let body = serde_json::json!({"error": "invalid_grant", "error_description": long}).to_string();
        let SalesforceError::OAuth { description, .. } = SalesforceError::from_oauth_response(400, body.as_bytes()) else { panic!() };
        assert_eq!(description.chars().count(), MAX_MESSAGE_CHARS + 1, "cut, with an ellipsis");
        let body = serde_json::json!([{"message": long, "errorCode": "INVALID_FIELD"}]).to_string();
        let SalesforceError::Api { errors, .. } = SalesforceError::from_rest_response(400, body.as_bytes()) else { panic!() };
        assert!(errors[0].message.chars().count() <= MAX_MESSAGE_CHARS + 1);
        assert_eq!(bounded("héllo", 2), "hé…");
    }

    #[test]
    fn json_problems_do_not_repeat_the_body() {
        let e = serde_json::from_str::<Vec<u32>>(r#"["MARKER-7f3a"]"#).unwrap_err();
        assert!(!json_problem(&e).contains("MARKER"), "{}", json_problem(&e));
        let e = serde_json::from_str::<OAuthErrorBody>("{}").unwrap_err();
        assert!(json_problem(&e).contains("missing field"));
    }
}
