//! OAuth 2.0 web-server flow with PKCE ("OAuth 2.0 Web Server Flow for Web App
//! Integration"), refresh, revoke and the identity URL.

use crate::error::SalesforceError;
use crate::hosts::TrustedHosts;
use crate::ids::{OrgId, UserId};
use crate::secret::{AccessToken, ClientSecret, PkceVerifier, RefreshToken};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

/// Scopes Insight asks for. `api` for REST, `refresh_token` so Salesforce returns a
/// refresh token (without it the token response has none), `id` for the identity URL.
pub const SCOPES: &str = "api refresh_token id";

/// The connected app registered in Salesforce for Insight.
#[derive(Debug, Clone)]
pub struct ConnectedApp {
    /// Consumer key.
    pub client_id: String,
    pub client_secret: ClientSecret,
    /// Must equal one of the connected app's callback URLs exactly.
    pub redirect_uri: Url,
    /// Hosts besides Salesforce's own that the secret and tokens may go to
    /// (the emulator in tests and demos); none in production.
    pub trusted_hosts: TrustedHosts,
}

/// Join a path onto a base URL that may itself carry a path (a My Domain host
/// never does, but a proxy or the emulator's sandbox host may), keeping that path.
pub(crate) fn endpoint(base: &Url, path: &str) -> Result<Url, SalesforceError> {
    let s = format!("{}{}", base.as_str().trim_end_matches('/'), path);
    Url::parse(&s).map_err(|e| SalesforceError::InvalidRequest(format!("{s}: {e}")))
}

fn random_urlsafe(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::rngs::OsRng.fill_bytes(&mut b);
    URL_SAFE_NO_PAD.encode(b)
}

/// What to send the browser to, and what to remember (bound to the browser session) until it returns.
#[derive(Debug, Clone)]
pub struct AuthorizationRequest {
    pub url: Url,
    /// Compare with the `state` on the callback before exchanging the code (CSRF).
    pub state: String,
    pub pkce_verifier: PkceVerifier,
}

/// PKCE S256: BASE64URL-without-padding(SHA256(verifier)) (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &PkceVerifier) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.expose().as_bytes()))
}

/// Build the authorize URL on `login_base` (login.salesforce.com, test.salesforce.com or a My Domain).
pub fn authorization_request(app: &ConnectedApp, login_base: &Url) -> Result<AuthorizationRequest, SalesforceError> {
    // 256 bits each; 32 bytes give a 43-character verifier, the RFC 7636 minimum length.
    let state = random_urlsafe(32);
    let verifier = PkceVerifier::new(random_urlsafe(32));
    let mut url = endpoint(login_base, "/services/oauth2/authorize")?;
    url.query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &app.client_id)
        .append_pair("redirect_uri", app.redirect_uri.as_str())
        .append_pair("scope", SCOPES)
        .append_pair("state", &state)
        .append_pair("code_challenge", &pkce_challenge(&verifier))
        .append_pair("code_challenge_method", "S256")
        // Always a fresh login: a cached browser session would link whoever happens to be signed in.
        .append_pair("prompt", "login");
    Ok(AuthorizationRequest { url, state, pkce_verifier: verifier })
}

/// Read the callback's query parameters: the authorization code when `state`
/// matches the one kept for this browser session, the OAuth error Salesforce
/// redirected with (e.g. `access_denied` when the user clicks Deny) otherwise.
pub fn callback_code<'a, I>(params: I, expected_state: &str) -> Result<String, SalesforceError>
where
    I: IntoIterator<Item = (&'a str, &'a str)>,
{
    let (mut code, mut state, mut error, mut description) = (None, None, None, String::new());
    for (k, v) in params {
        match k {
            "code" => code = Some(v.to_string()),
            "state" => state = Some(v.to_string()),
            "error" => error = Some(v.to_string()),
            "error_description" => description = v.to_string(),
            _ => {}
        }
    }
    // Compared in constant time; a missing state never matches.
    let state_ok = state.is_some_and(|s| {
        s.len() == expected_state.len() && s.bytes().zip(expected_state.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0
    }) && !expected_state.is_empty();
    if !state_ok {
        return Err(SalesforceError::StateMismatch);
    }
    if let Some(e) = error {
        return Err(SalesforceError::OAuth { status: 302, error: crate::error::OAuthErrorCode::parse(&e), description });
    }
    code.filter(|c| !c.is_empty()).ok_or_else(|| SalesforceError::decode("OAuth callback", "neither code nor error"))
}

/// The identity URL (`https://login.salesforce.com/id/{orgId}/{userId}`), which also names the org and user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityUrl {
    pub url: Url,
    pub org_id: OrgId,
    pub user_id: UserId,
}

impl IdentityUrl {
    pub fn parse(s: &str) -> Result<Self, SalesforceError> {
        // The value came from outside: errors say what is wrong, not repeat it.
        let bad = |d: String| SalesforceError::decode("identity URL", d);
        let url = Url::parse(s).map_err(|e| bad(format!("not a URL ({e})")))?;
        let segs: Vec<&str> = url.path_segments().map(|s| s.filter(|x| !x.is_empty()).collect()).unwrap_or_default();
        let n = segs.len();
        if n < 3 || segs[n - 3] != "id" {
            return Err(bad("expected …/id/{orgId}/{userId}".into()));
        }
        let org_id = OrgId::parse(segs[n - 2]).map_err(|e| bad(format!("the org id: {e}")))?;
        let user_id = UserId::parse(segs[n - 1]).map_err(|e| bad(format!("the user id: {e}")))?;
        Ok(IdentityUrl { url, org_id, user_id })
    }
}

/// Tokens from the authorization-code exchange: what a link stores.
#[derive(Debug, Clone)]
pub struct Tokens {
    pub access_token: AccessToken,
    /// Present when the `refresh_token` scope was granted.
    pub refresh_token: Option<RefreshToken>,
    /// Where REST calls go (the org's My Domain).
    pub instance_url: Url,
    pub id: IdentityUrl,
    /// Milliseconds since the Unix epoch.
    pub issued_at: u64,
    pub scope: Option<String>,
    pub token_type: String,
}

impl Tokens {
    pub fn org_id(&self) -> &OrgId {
        &self.id.org_id
    }
    pub fn user_id(&self) -> &UserId {
        &self.id.user_id
    }

    /// Fold a refresh response into the stored tokens. The refresh response never
    /// carries the refresh token (unless rotation is on) and may omit other fields:
    /// anything it omits keeps its stored value, so `instance_url` is never lost.
    /// Refuses a response naming another org or user (it would mean a mixed-up token).
    pub fn merge_refresh(&mut self, r: RefreshedTokens) -> Result<(), SalesforceError> {
        if let Some(id) = &r.id {
            if id.org_id != self.id.org_id || id.user_id != self.id.user_id {
                return Err(SalesforceError::decode(
                    "refresh response",
                    format!("identity changed from {}/{} to {}/{}", self.id.org_id, self.id.user_id, id.org_id, id.user_id),
                ));
            }
        }
        self.access_token = r.access_token;
        if let Some(rt) = r.refresh_token {
            // Refresh-token rotation: the old one is now invalid.
            self.refresh_token = Some(rt);
        }
        if let Some(u) = r.instance_url {
            self.instance_url = u;
        }
        if let Some(id) = r.id {
            self.id = id;
        }
        if let Some(t) = r.issued_at {
            self.issued_at = t;
        }
        if let Some(s) = r.scope {
            self.scope = Some(s);
        }
        if let Some(t) = r.token_type {
            self.token_type = t;
        }
        Ok(())
    }
}

/// A refresh-token response: only `access_token` is certain.
#[derive(Debug, Clone)]
pub struct RefreshedTokens {
    pub access_token: AccessToken,
    /// Only when the connected app rotates refresh tokens.
    pub refresh_token: Option<RefreshToken>,
    pub instance_url: Option<Url>,
    pub id: Option<IdentityUrl>,
    pub issued_at: Option<u64>,
    pub scope: Option<String>,
    pub token_type: Option<String>,
}

#[derive(Deserialize)]
struct RawTokenResponse {
    access_token: String,
    #[serde(default)]
    refresh_token: Option<String>,
    #[serde(default)]
    instance_url: Option<String>,
    #[serde(default)]
    id: Option<String>,
    #[serde(default)]
    issued_at: Option<String>,
    #[serde(default)]
    signature: Option<String>,
    #[serde(default)]
    scope: Option<String>,
    #[serde(default)]
    token_type: Option<String>,
}

/// Salesforce signs token responses: base64(HMAC-SHA256(key = client secret, id + issued_at)).
/// Compared in constant time.
pub fn verify_signature(secret: &ClientSecret, id: &str, issued_at: &str, signature: &str) -> Result<(), SalesforceError> {
    let sig = STANDARD.decode(signature.trim()).map_err(|_| SalesforceError::SignatureMismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes any key length");
    mac.update(id.as_bytes());
    mac.update(issued_at.as_bytes());
    mac.verify_slice(&sig).map_err(|_| SalesforceError::SignatureMismatch)
}

fn parse_url(what: &'static str, s: &str) -> Result<Url, SalesforceError> {
    Url::parse(s).map_err(|e| SalesforceError::decode(what, format!("not a URL ({e})")))
}

fn parse_issued_at(s: &str) -> Result<u64, SalesforceError> {
    s.parse().map_err(|_| SalesforceError::decode("token response", format!("issued_at is not milliseconds: {s:?}")))
}

impl RawTokenResponse {
    fn check_signature(&self, app: &ConnectedApp) -> Result<(), SalesforceError> {
        match (&self.id, &self.issued_at, &self.signature) {
            (Some(id), Some(at), Some(sig)) => verify_signature(&app.client_secret, id, at, sig),
            _ => Err(SalesforceError::decode("token response", "missing id, issued_at or signature")),
        }
    }

    fn into_tokens(self) -> Result<Tokens, SalesforceError> {
        let missing = |f: &str| SalesforceError::decode("token response", format!("missing {f}"));
        Ok(Tokens {
            instance_url: parse_url("instance_url", self.instance_url.as_deref().ok_or_else(|| missing("instance_url"))?)?,
            id: IdentityUrl::parse(self.id.as_deref().ok_or_else(|| missing("id"))?)?,
            issued_at: parse_issued_at(self.issued_at.as_deref().ok_or_else(|| missing("issued_at"))?)?,
            access_token: AccessToken::new(self.access_token),
            refresh_token: self.refresh_token.map(RefreshToken::new),
            scope: self.scope,
            token_type: self.token_type.unwrap_or_else(|| "Bearer".into()),
        })
    }

    fn into_refreshed(self) -> Result<RefreshedTokens, SalesforceError> {
        Ok(RefreshedTokens {
            instance_url: self.instance_url.as_deref().map(|s| parse_url("instance_url", s)).transpose()?,
            id: self.id.as_deref().map(IdentityUrl::parse).transpose()?,
            issued_at: self.issued_at.as_deref().map(parse_issued_at).transpose()?,
            access_token: AccessToken::new(self.access_token),
            refresh_token: self.refresh_token.map(RefreshToken::new),
            scope: self.scope,
            token_type: self.token_type,
        })
    }
}

async fn post_token(http: &reqwest::Client, login_base: &Url, form: &[(&str, &str)]) -> Result<RawTokenResponse, SalesforceError> {
    let url = endpoint(login_base, "/services/oauth2/token")?;
    let resp = http
        .post(url)
        .header(reqwest::header::ACCEPT, "application/json")
        .form(form)
        .send()
        .await
        .map_err(SalesforceError::Unreachable)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(SalesforceError::Unreachable)?;
    if !(200..300).contains(&status) {
        return Err(SalesforceError::from_oauth_response(status, &body));
    }
    serde_json::from_slice(&body).map_err(|e| SalesforceError::decode_json("token response", e))
}

/// Exchange the authorization code from the callback for tokens, proving PKCE
/// possession, and verify the response's signature.
pub async fn exchange_code(
    http: &reqwest::Client,
    app: &ConnectedApp,
    login_base: &Url,
    code: &str,
    verifier: &PkceVerifier,
) -> Result<Tokens, SalesforceError> {
    // The secret, the code and the verifier go to Salesforce only.
    app.trusted_hosts.check_login_host(login_base)?;
    let raw = post_token(
        http,
        login_base,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", &app.client_id),
            ("client_secret", app.client_secret.expose()),
            ("redirect_uri", app.redirect_uri.as_str()),
            ("code_verifier", verifier.expose()),
        ],
    )
    .await?;
    raw.check_signature(app)?;
    let tokens = raw.into_tokens()?;
    // The access token goes wherever these point: refuse a foreign instance or identity URL.
    app.trusted_hosts.check_token_hosts(login_base, &tokens.instance_url, &tokens.id.url)?;
    Ok(tokens)
}

/// Get a new access token with the refresh token. `invalid_grant` means the
/// refresh token was revoked or expired and becomes `RefreshTokenRevoked`.
/// A named instance must be a Salesforce (or trusted) host; check the identity
/// URL against the merged tokens (`TrustedHosts::check_token_hosts`), as
/// `Session` does.
pub async fn refresh(
    http: &reqwest::Client,
    app: &ConnectedApp,
    login_base: &Url,
    refresh_token: &RefreshToken,
) -> Result<RefreshedTokens, SalesforceError> {
    app.trusted_hosts.check_login_host(login_base)?;
    let raw = post_token(
        http,
        login_base,
        &[
            ("grant_type", "refresh_token"),
            ("refresh_token", refresh_token.expose()),
            ("client_id", &app.client_id),
            ("client_secret", app.client_secret.expose()),
        ],
    )
    .await
    .map_err(|e| match e {
        SalesforceError::OAuth { error: crate::error::OAuthErrorCode::InvalidGrant, description, .. } => {
            SalesforceError::RefreshTokenRevoked { description }
        }
        other => other,
    })?;
    // Salesforce signs refresh responses too; verify when the signed parts are present.
    if raw.signature.is_some() {
        raw.check_signature(app)?;
    }
    let refreshed = raw.into_refreshed()?;
    if let Some(instance) = &refreshed.instance_url {
        app.trusted_hosts.check_instance(instance)?;
    }
    Ok(refreshed)
}

/// Revoke an access or refresh token (revoking a refresh token also ends its access tokens).
pub async fn revoke(http: &reqwest::Client, login_base: &Url, token: &str) -> Result<(), SalesforceError> {
    let url = endpoint(login_base, "/services/oauth2/revoke")?;
    let resp = http.post(url).form(&[("token", token)]).send().await.map_err(SalesforceError::Unreachable)?;
    let status = resp.status().as_u16();
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = resp.bytes().await.map_err(SalesforceError::Unreachable)?;
    Err(SalesforceError::from_oauth_response(status, &body))
}

/// The signed-in user as the identity URL describes them.
#[derive(Debug, Clone, Deserialize)]
pub struct Identity {
    pub user_id: UserId,
    pub organization_id: OrgId,
    pub username: String,
    #[serde(default)]
    pub display_name: String,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub nick_name: Option<String>,
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub language: Option<String>,
    #[serde(default)]
    pub locale: Option<String>,
    #[serde(default)]
    pub timezone: Option<String>,
    #[serde(default)]
    pub urls: Option<IdentityUrls>,
}

/// Endpoint templates from the identity response; `{version}` stands for the API version.
#[derive(Debug, Clone, Deserialize)]
pub struct IdentityUrls {
    #[serde(default)]
    pub rest: Option<String>,
    #[serde(default)]
    pub sobjects: Option<String>,
    #[serde(default)]
    pub query: Option<String>,
    #[serde(default)]
    pub enterprise: Option<String>,
    #[serde(default)]
    pub partner: Option<String>,
    #[serde(default)]
    pub custom_domain: Option<String>,
}

/// GET the identity URL with the access token.
pub async fn identity(http: &reqwest::Client, id_url: &IdentityUrl, access_token: &AccessToken) -> Result<Identity, SalesforceError> {
    let resp = http
        .get(id_url.url.clone())
        .bearer_auth(access_token.expose())
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(SalesforceError::Unreachable)?;
    let status = resp.status().as_u16();
    let body = resp.bytes().await.map_err(SalesforceError::Unreachable)?;
    // The identity service answers a bad or expired token with 403 "Bad_OAuth_Token" (plain text).
    if status == 401 || (status == 403 && body.starts_with(b"Bad_OAuth_Token")) {
        return Err(SalesforceError::SessionExpired);
    }
    if !(200..300).contains(&status) {
        return Err(SalesforceError::from_rest_response(status, &body));
    }
    let ident: Identity = serde_json::from_slice(&body).map_err(|e| SalesforceError::decode_json("identity response", e))?;
    if ident.organization_id != id_url.org_id || ident.user_id != id_url.user_id {
        return Err(SalesforceError::decode("identity response", "org or user differs from the identity URL"));
    }
    Ok(ident)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app() -> ConnectedApp {
        ConnectedApp {
            client_id: "3MVG9client".into(),
            client_secret: ClientSecret::new("s3cr3t"),
            redirect_uri: Url::parse("https://insight.example/salesforce/callback").unwrap(),
            trusted_hosts: TrustedHosts::none(),
        }
    }

    #[test]
    fn pkce_challenge_matches_rfc_7636_appendix_b() {
        let v = PkceVerifier::new("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
        assert_eq!(pkce_challenge(&v), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    }

    #[test]
    fn authorization_url_always_forces_login_and_uses_pkce() {
        let base = Url::parse("https://test.salesforce.com").unwrap();
        let req = authorization_request(&app(), &base).unwrap();
        assert_eq!(req.url.host_str(), Some("test.salesforce.com"));
        assert_eq!(req.url.path(), "/services/oauth2/authorize");
        let q: std::collections::HashMap<_, _> = req.url.query_pairs().into_owned().collect();
        assert_eq!(q["response_type"], "code");
        assert_eq!(q["client_id"], "3MVG9client");
        assert_eq!(q["redirect_uri"], "https://insight.example/salesforce/callback");
        assert_eq!(q["prompt"], "login");
        assert_eq!(q["scope"], "api refresh_token id");
        assert_eq!(q["code_challenge_method"], "S256");
        assert_eq!(q["code_challenge"], pkce_challenge(&req.pkce_verifier));
        assert_eq!(q["state"], req.state);
        assert!(req.state.len() >= 22, "≥128 bits of state");
        assert!(req.pkce_verifier.expose().len() >= 43);
        let again = authorization_request(&app(), &base).unwrap();
        assert_ne!(again.state, req.state);
        assert_ne!(again.pkce_verifier, req.pkce_verifier);
    }

    #[test]
    fn callback_yields_the_code_only_for_the_right_state() {
        assert_eq!(callback_code([("code", "aPrx1"), ("state", "s1")], "s1").unwrap(), "aPrx1");
        assert!(matches!(callback_code([("code", "aPrx1"), ("state", "s2")], "s1"), Err(SalesforceError::StateMismatch)));
        assert!(matches!(callback_code([("code", "aPrx1")], "s1"), Err(SalesforceError::StateMismatch)));
        assert!(matches!(callback_code([("code", "aPrx1"), ("state", "")], ""), Err(SalesforceError::StateMismatch)));
        let denied = callback_code([("error", "access_denied"), ("error_description", "end-user denied authorization"), ("state", "s1")], "s1");
        assert!(matches!(denied, Err(SalesforceError::OAuth { error: crate::error::OAuthErrorCode::AccessDenied, .. })));
    }

    #[test]
    fn login_base_with_a_path_keeps_it() {
        let base = Url::parse("http://127.0.0.1:9/sandbox/").unwrap();
        assert_eq!(endpoint(&base, "/services/oauth2/token").unwrap().as_str(), "http://127.0.0.1:9/sandbox/services/oauth2/token");
    }

    fn sign(secret: &str, msg: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(msg.as_bytes());
        STANDARD.encode(mac.finalize().into_bytes())
    }

    #[test]
    fn signature_is_hmac_of_id_and_issued_at_under_the_client_secret() {
        let id = "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P";
        let at = "1278448832702";
        let sig = sign("s3cr3t", &format!("{id}{at}"));
        assert!(verify_signature(&ClientSecret::new("s3cr3t"), id, at, &sig).is_ok());
        assert!(matches!(verify_signature(&ClientSecret::new("other"), id, at, &sig), Err(SalesforceError::SignatureMismatch)));
        assert!(matches!(verify_signature(&ClientSecret::new("s3cr3t"), id, "1278448832703", &sig), Err(SalesforceError::SignatureMismatch)));
        assert!(matches!(verify_signature(&ClientSecret::new("s3cr3t"), id, at, "not base64!"), Err(SalesforceError::SignatureMismatch)));
    }

    #[test]
    fn documented_token_response_parses_and_names_org_and_user() {
        // Field set from "OAuth 2.0 Web Server Flow": the token response.
        let id = "https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P";
        let at = "1278448832702";
        let body = serde_json::json!({
            "id": id, "issued_at": at, "refresh_token": "5Aep8614iLM.Dq661ePDmPEgaAW9Oh_L3JKkDpB4xReb54_pZebnUG0h6Sb4KUVDpNtWEofWM39yg==",
            "instance_url": "https://yourInstance.salesforce.com/", "signature": sign("s3cr3t", &format!("{id}{at}")),
            "access_token": "00Dx0000000BV7z!AR8AQP0jITN80ESEsj5EbaZTFG0RNBaT1cyWk7TrqoDjoNIWQ2ME_sTZzBjfmOE6zMHq6y8PIW4eWze9JksNEkWUl.Cju7m4",
            "token_type": "Bearer", "scope": "id api refresh_token"
        });
        let raw: RawTokenResponse = serde_json::from_value(body).unwrap();
        raw.check_signature(&app()).unwrap();
        let t = raw.into_tokens().unwrap();
        assert_eq!(t.org_id().to_15(), "00Dx0000000BV7z");
        assert_eq!(t.user_id().to_15(), "005x00000012Q9P");
        assert_eq!(t.issued_at, 1278448832702);
        assert!(t.refresh_token.is_some());
        assert!(!format!("{t:?}").contains("AR8AQP0jITN80"), "Debug must not print the access token");
    }

    fn stored() -> Tokens {
        Tokens {
            access_token: AccessToken::new("old"),
            refresh_token: Some(RefreshToken::new("rt")),
            instance_url: Url::parse("https://acme.my.salesforce.com").unwrap(),
            id: IdentityUrl::parse("https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P").unwrap(),
            issued_at: 1,
            scope: Some("api refresh_token id".into()),
            token_type: "Bearer".into(),
        }
    }

    #[test]
    fn merge_refresh_keeps_instance_url_and_refresh_token_when_omitted() {
        let mut t = stored();
        t.merge_refresh(RefreshedTokens {
            access_token: AccessToken::new("new"),
            refresh_token: None, instance_url: None, id: None, issued_at: Some(2), scope: None, token_type: None,
        })
        .unwrap();
        assert_eq!(t.access_token.expose(), "new");
        assert_eq!(t.instance_url.as_str(), "https://acme.my.salesforce.com/");
        assert_eq!(t.refresh_token.as_ref().unwrap().expose(), "rt");
        assert_eq!(t.issued_at, 2);
    }

    #[test]
    fn merge_refresh_takes_a_rotated_refresh_token_and_a_moved_instance() {
        let mut t = stored();
        t.merge_refresh(RefreshedTokens {
            access_token: AccessToken::new("new"),
            refresh_token: Some(RefreshToken::new("rt2")),
            instance_url: Some(Url::parse("https://acme2.my.salesforce.com").unwrap()),
            id: None, issued_at: None, scope: None, token_type: None,
        })
        .unwrap();
        assert_eq!(t.refresh_token.unwrap().expose(), "rt2");
        assert_eq!(t.instance_url.host_str(), Some("acme2.my.salesforce.com"));
    }

    #[test]
    fn merge_refresh_refuses_another_org() {
        let mut t = stored();
        let err = t.merge_refresh(RefreshedTokens {
            access_token: AccessToken::new("new"), refresh_token: None, instance_url: None,
            id: Some(IdentityUrl::parse("https://login.salesforce.com/id/00Dx0000000XXXX/005x00000012Q9P").unwrap()),
            issued_at: None, scope: None, token_type: None,
        });
        assert!(err.is_err());
        assert_eq!(t.access_token.expose(), "old");
    }

    #[test]
    fn shared_identity_sample_parses() {
        // shared/salesforce-samples/swiftlysalesforce__identity.json; its ids were
        // anonymised upstream into invalid ids, so valid ones are put back first.
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/salesforce-samples/swiftlysalesforce__identity.json");
        let Ok(text) = std::fs::read_to_string(&p) else { return };
        let org = OrgId::parse("00Di0000000bAAA").unwrap();
        let user = UserId::parse("005i00000016AAA").unwrap();
        let text = text.replace("00Di0000000bAAAAAAA", org.as_str()).replace("005i00000016AAAAAA", user.as_str());
        let ident: Identity = serde_json::from_str(&text).unwrap();
        assert_eq!(ident.username, "john@playground.com");
        assert_eq!(ident.display_name, "John Smith");
        assert_eq!(ident.organization_id, org);
        assert_eq!(ident.user_id, user);
        assert!(ident.urls.unwrap().rest.unwrap().contains("{version}"));
    }

    #[test]
    fn identity_url_must_name_an_org_and_a_user() {
        assert!(IdentityUrl::parse("https://login.salesforce.com/id/00Dx0000000BV7z/005x00000012Q9P").is_ok());
        assert!(IdentityUrl::parse("https://login.salesforce.com/id/005x00000012Q9P/00Dx0000000BV7z").is_err());
        assert!(IdentityUrl::parse("https://login.salesforce.com/00Dx0000000BV7z/005x00000012Q9P").is_err());
    }
}
