//! Who is signed in, and CSRF-checked forms.
//!
//! The session cookie holds a random token; the database holds its hash and
//! the session's CSRF token. Every form of a signed-in page carries that CSRF
//! token and `SignedForm` refuses a POST without it. Forms shown before
//! sign-in (sign in, sign up) use a double-submit cookie whose form half is
//! an HMAC of the cookie under a server key, so a cookie planted from a
//! sibling subdomain, with a form value of the attacker's choosing, fails.

use crate::error::WebError;
use crate::secrets;
use crate::state::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use serde::de::DeserializeOwned;
use app::accounts::Account;

pub const SESSION_COOKIE: &str = "insight_session";
pub const PRE_SESSION_CSRF_COOKIE: &str = "insight_csrf";
pub const CSRF_FIELD: &str = "csrf";

/// The signed-in account. A page that takes it redirects strangers to the
/// sign-in page and brings them back afterwards.
#[derive(Debug, Clone)]
pub struct CurrentAccount {
    pub account: Account,
    pub csrf: String,
    pub link_needs_reauthentication: bool,
    /// This browser's session token, for the notes an action leaves its next
    /// page (`crate::notes`).
    pub session: SessionToken,
    /// The page a note waits for, if any.
    pub note_path: Option<String>,
}

/// A session token; its `Debug` never shows it.
#[derive(Clone)]
pub struct SessionToken(String);

impl SessionToken {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(<redacted>)")
    }
}

impl FromRequestParts<AppState> for CurrentAccount {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let next = parts.uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| "/".into());
        let jar = CookieJar::from_headers(&parts.headers);
        let Some(token) = jar.get(SESSION_COOKIE).map(|c| c.value().to_string()) else {
            return Err(WebError::SignInRequired(next));
        };
        match state.app.session(&token).await? {
            Some(session) => Ok(CurrentAccount {
                account: session.account,
                csrf: session.csrf_token,
                link_needs_reauthentication: session.link_needs_reauthentication,
                note_path: session.note_path,
                session: SessionToken(token),
            }),
            None => Err(WebError::SignInRequired(next)),
        }
    }
}

/// The signed-in account, if any (for pages that anyone may see).
pub struct MaybeAccount(pub Option<CurrentAccount>);

impl FromRequestParts<AppState> for MaybeAccount {
    type Rejection = WebError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        match CurrentAccount::from_request_parts(parts, state).await {
            Ok(a) => Ok(MaybeAccount(Some(a))),
            Err(WebError::SignInRequired(_)) => Ok(MaybeAccount(None)),
            Err(e) => Err(e),
        }
    }
}

/// A form posted by the signed-in account, its CSRF token checked. `T` sees
/// every field but the token; a field `T` does not know is refused when `T`
/// says `deny_unknown_fields`.
pub struct SignedForm<T> {
    pub who: CurrentAccount,
    pub form: T,
}

impl<T: DeserializeOwned> FromRequest<AppState> for SignedForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let (mut parts, body) = req.into_parts();
        let who = CurrentAccount::from_request_parts(&mut parts, state).await?;
        let bytes = Bytes::from_request(Request::from_parts(parts, body), state).await?;
        let fields = parse_form(&bytes)?;
        let form = checked(fields, &who.csrf)?;
        Ok(SignedForm { who, form })
    }
}

/// A form shown before sign-in, checked against the double-submit cookie.
pub struct PreSessionForm<T> {
    pub form: T,
}

/// The CSRF token a pre-sign-in form carries for the browser holding this
/// cookie value: the cookie's HMAC under the server's form key.
pub fn pre_session_token(state: &AppState, cookie_value: &str) -> String {
    secrets::mac(&state.form_key, cookie_value)
}

/// The pre-sign-in form token for the cookie this request carries, if any.
pub fn pre_session_token_of(jar: &CookieJar, state: &AppState) -> Option<String> {
    jar.get(PRE_SESSION_CSRF_COOKIE).map(|c| pre_session_token(state, c.value()))
}

impl<T: DeserializeOwned> FromRequest<AppState> for PreSessionForm<T> {
    type Rejection = WebError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let jar = CookieJar::from_headers(req.headers());
        let expected = pre_session_token_of(&jar, state).ok_or(WebError::CsrfMismatch)?;
        let bytes = Bytes::from_request(req, state).await?;
        let form = checked(parse_form(&bytes)?, &expected)?;
        Ok(PreSessionForm { form })
    }
}

/// A form with nothing but its CSRF token (sign out, delete, publish…).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmptyForm {}

/// A same-site path to go on to after an action, or `fallback`: a `next`
/// or `return_to` taken from a request must never lead to another host.
pub fn same_site_path(to: Option<&str>, fallback: &str) -> String {
    to.and_then(local_path).unwrap_or_else(|| fallback.to_string())
}

/// `raw` as a path (with its query) on this site, or `None`. Browsers forgive
/// a lot — they drop tabs and newlines, read `\` as `/`, and some decode
/// `%2F` — so anything a browser could turn into `//host` is refused before
/// the URL parser, which then must agree the result stays on this origin.
fn local_path(raw: &str) -> Option<String> {
    let decoded = percent_encoding::percent_decode_str(raw).decode_utf8().ok()?;
    for text in [raw, decoded.as_ref()] {
        if !text.starts_with('/') || text.starts_with("//") || text.chars().any(|c| c == '\\' || c.is_control() || c.is_whitespace()) {
            return None;
        }
    }
    // Any fixed origin does: only whether the join leaves it matters.
    let base = url::Url::parse("http://this-site.invalid/").expect("a valid base URL");
    let joined = base.join(raw).ok()?;
    (joined.origin() == base.origin()).then(|| joined[url::Position::BeforePath..].to_string())
}

pub fn parse_form(bytes: &[u8]) -> Result<Vec<(String, String)>, WebError> {
    serde_urlencoded::from_bytes::<Vec<(String, String)>>(bytes)
        .map_err(|e| WebError::BadRequest(format!("The form could not be read: {e}")))
}

fn checked<T: DeserializeOwned>(mut fields: Vec<(String, String)>, expected: &str) -> Result<T, WebError> {
    let sent = fields.iter().position(|(k, _)| k == CSRF_FIELD).map(|i| fields.remove(i).1);
    match sent {
        Some(token) if secrets::equal(&token, expected) => {}
        _ => return Err(WebError::CsrfMismatch),
    }
    let encoded = serde_urlencoded::to_string(&fields).map_err(|e| WebError::BadRequest(e.to_string()))?;
    serde_urlencoded::from_str::<T>(&encoded).map_err(|e| WebError::Unprocessable(format!("The form is not as expected: {e}.")))
}

pub fn session_cookie(token: String, state: &AppState) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(state.is_https())
        .same_site(SameSite::Lax)
        .max_age(time::Duration::seconds(state.session_lifetime.as_secs() as i64))
        .build()
}

pub fn pre_session_cookie(token: String, state: &AppState) -> Cookie<'static> {
    Cookie::build((PRE_SESSION_CSRF_COOKIE, token))
        .path("/")
        .http_only(true)
        .secure(state.is_https())
        .same_site(SameSite::Strict)
        .build()
}

#[cfg(test)]
mod tests {
    use super::same_site_path;

    #[test]
    fn next_stays_on_this_site() {
        for (next, expected) in [
            ("/projects/3", "/projects/3"),
            ("/projects/3/responses?before=20", "/projects/3/responses?before=20"),
            ("/salesforce", "/salesforce"),
            ("/a/../projects", "/projects"),
        ] {
            assert_eq!(same_site_path(Some(next), "/fallback"), expected, "{next:?}");
        }
    }

    #[test]
    fn next_never_leads_to_another_host() {
        let tricks = [
            "//evil.example",
            "//evil.example/path",
            "/\\evil.example",
            "\\/evil.example",
            "/%09/evil.example",
            "/\t/evil.example",
            "\t//evil.example",
            "/%2F%2Fevil.example",
            "/%2f/evil.example",
            "/%5Cevil.example",
            "/%5C%5Cevil.example",
            "https://evil.example",
            "http:evil.example",
            "javascript:alert(1)",
            "JaVaScRiPt:alert(1)",
            "%0d%0a",
            "/%0d%0aSet-Cookie:x=1",
            "/projects\r\nSet-Cookie: x=1",
            "/projects\n",
            "%2F%2Fevil.example",
            "evil.example",
            "",
            "/%FF",
        ];
        for trick in tricks {
            assert_eq!(same_site_path(Some(trick), "/fallback"), "/fallback", "{trick:?} was let through");
        }
        assert_eq!(same_site_path(None, "/fallback"), "/fallback");
    }
}
