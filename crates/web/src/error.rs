//! How failures reach a person using the pages: one enum, one place that
//! picks the HTTP status and the words.

use crate::pages::layout;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};

#[derive(Debug, thiserror::Error)]
pub enum WebError {
    #[error("Not found")]
    NotFound,
    /// The page needs a signed-in account; carries where to come back to.
    #[error("Sign in to continue")]
    SignInRequired(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unprocessable(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Gone(String),
    #[error("{0}")]
    Unavailable(String),
    /// Salesforce answered with an error the person can read.
    #[error("{0}")]
    BadGateway(String),
    #[error("The form was sent from an old or foreign page. Reload the page and try again.")]
    CsrfMismatch,
    /// Too many of something from one client or for one account.
    #[error("{message}")]
    TooManyRequests { message: String, retry_after: std::time::Duration },
    /// Too much password work already waiting; nothing was done.
    #[error("Insight is busy with many sign-ins right now. Nothing was changed; please try again in a few seconds.")]
    Busy { retry_after: std::time::Duration },
    #[error("The request arrived too slowly and was not read to its end. Nothing was changed; please send it again.")]
    RequestTimeout,
    #[error("That request is too large (at most {} KiB).", crate::MAX_BODY_BYTES / 1024)]
    PayloadTooLarge,
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl WebError {
    pub fn status(&self) -> StatusCode {
        match self {
            WebError::NotFound => StatusCode::NOT_FOUND,
            WebError::SignInRequired(_) => StatusCode::SEE_OTHER,
            WebError::Forbidden(_) | WebError::CsrfMismatch => StatusCode::FORBIDDEN,
            WebError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            WebError::Conflict(_) => StatusCode::CONFLICT,
            WebError::Gone(_) => StatusCode::GONE,
            WebError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            WebError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            WebError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            WebError::TooManyRequests { .. } => StatusCode::TOO_MANY_REQUESTS,
            WebError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
            WebError::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            WebError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// When it is worth trying again, for a `Retry-After` header.
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            WebError::TooManyRequests { retry_after, .. } | WebError::Busy { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    /// The message a person sees; internal causes are logged, never shown.
    pub fn public_message(&self) -> String {
        match self {
            WebError::NotFound => "There is nothing here, or you do not have access to it.".into(),
            WebError::Internal(_) => {
                "Something went wrong on our side. Nothing was changed; please try again.".into()
            }
            other => other.to_string(),
        }
    }
}

/// The one table from the use cases' errors to what a person sees.
impl From<app::AppError> for WebError {
    fn from(e: app::AppError) -> Self {
        use app::integration::IntegrationError as I;
        use app::link::LinkError as L;
        use app::AppError as A;
        match e {
            A::NotFound => WebError::NotFound,
            A::Store(e) | A::Integration(I::Store(e)) | A::Link(L::Store(e)) => WebError::Internal(anyhow::Error::new(e)),
            A::OwnerOnly { .. } | A::NeedsSalesforceGrant { .. } | A::ViewOnly { .. } | A::SignersOnly { .. } | A::SurveyClosed => {
                WebError::Forbidden(e.to_string())
            }
            A::Invalid(_) => WebError::Unprocessable(e.to_string()),
            A::Conflict(_) => WebError::Conflict(e.to_string()),
            A::SurveyDeleted => WebError::Gone(e.to_string()),
            A::Integration(I::Conflict) => WebError::Conflict(e.to_string()),
            A::Integration(I::Salesforce(_)) | A::Link(L::Salesforce(_)) => WebError::BadGateway(e.to_string()),
            A::Link(L::NotConfigured) => WebError::Unavailable(e.to_string()),
            A::Link(L::NoPendingSwitch) => WebError::Conflict(e.to_string()),
            A::Link(L::NotLinked) => WebError::NotFound,
            A::Integration(_) | A::Link(_) => WebError::Unprocessable(e.to_string()),
        }
    }
}

impl From<crate::auth::passwords::Busy> for WebError {
    fn from(busy: crate::auth::passwords::Busy) -> Self {
        WebError::Busy { retry_after: busy.retry_after }
    }
}

impl From<domain::Invalid> for WebError {
    fn from(e: domain::Invalid) -> Self {
        WebError::Unprocessable(e.0)
    }
}

impl From<axum::extract::rejection::BytesRejection> for WebError {
    fn from(e: axum::extract::rejection::BytesRejection) -> Self {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            WebError::PayloadTooLarge
        } else {
            WebError::BadRequest(format!("The request body could not be read: {e}"))
        }
    }
}

impl IntoResponse for WebError {
    fn into_response(self) -> Response {
        match &self {
            WebError::SignInRequired(next) => {
                let to = format!("/signin?next={}", url::form_urlencoded::byte_serialize(next.as_bytes()).collect::<String>());
                return Redirect::to(&to).into_response();
            }
            WebError::Internal(e) => tracing::error!(error = %e, "internal error"),
            _ => {}
        }
        let status = self.status();
        let title = status.canonical_reason().unwrap_or("Error");
        let mut response = (status, layout::error_page(status.as_u16(), title, &self.public_message())).into_response();
        if let Some(wait) = self.retry_after() {
            response.headers_mut().insert(axum::http::header::RETRY_AFTER, crate::rate_limit::retry_after_secs(wait).into());
        }
        response
    }
}

pub type WebResult<T> = Result<T, WebError>;
