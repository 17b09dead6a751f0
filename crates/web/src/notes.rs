//! What an action did, shown once on the page it redirects to, so that every
//! POST ends in a redirect and a reload never repeats it: the action leaves
//! its session a note for that page (sealed in the database, since a note may
//! carry a secret shown once), and the page takes it as it renders.

use crate::auth::session::CurrentAccount;
use crate::error::WebResult;
use crate::state::AppState;
use axum::response::{IntoResponse, Redirect, Response};
use serde::{Deserialize, Serialize};

/// One note. Its `Debug` never shows a link or a key.
#[derive(Serialize, Deserialize, Clone, PartialEq, Eq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Note {
    /// What was done, in a sentence.
    Done { text: String },
    /// What went wrong outside the person's input (Salesforce refused, a
    /// survey stayed paused), in a sentence they can act on.
    Problem { text: String },
    /// Both: a partial outcome.
    Mixed { done: String, problem: String },
    /// A signed link, shown for copying.
    SignedLink { url: String, expires: Option<i64> },
    /// A new signing key, shown this once.
    SigningKey { key: String },
}

impl std::fmt::Debug for Note {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Note::Done { text } => write!(f, "Done({text:?})"),
            Note::Problem { text } => write!(f, "Problem({text:?})"),
            Note::Mixed { done, problem } => write!(f, "Mixed({done:?}, {problem:?})"),
            Note::SignedLink { .. } => f.write_str("SignedLink(<redacted>)"),
            Note::SigningKey { .. } => f.write_str("SigningKey(<redacted>)"),
        }
    }
}

impl Note {
    pub fn done(text: impl Into<String>) -> Note {
        Note::Done { text: text.into() }
    }

    pub fn problem(text: impl Into<String>) -> Note {
        Note::Problem { text: text.into() }
    }

    /// The sentence saying what was done, if any.
    pub fn done_text(&self) -> Option<&str> {
        match self {
            Note::Done { text } | Note::Mixed { done: text, .. } => Some(text),
            _ => None,
        }
    }

    /// The sentence saying what went wrong, if any.
    pub fn problem_text(&self) -> Option<&str> {
        match self {
            Note::Problem { text } | Note::Mixed { problem: text, .. } => Some(text),
            _ => None,
        }
    }

    /// A link or a key: the page showing it must not be cached.
    pub fn holds_secret(&self) -> bool {
        matches!(self, Note::SignedLink { .. } | Note::SigningKey { .. })
    }
}

/// Leaves `note` for the signed-in session's next visit to `path` and
/// redirects there (303 See Other).
pub async fn redirect_with(state: &AppState, who: &CurrentAccount, path: &str, note: Note) -> WebResult<Response> {
    let json = serde_json::to_string(&note).expect("a note serializes");
    state.app.leave_session_note(who.session.expose(), path, &json).await?;
    Ok(Redirect::to(path).into_response())
}

/// The note waiting for `path` (this page), once; nothing is looked up when
/// the session has no note for it.
pub async fn take(state: &AppState, who: &CurrentAccount, path: &str) -> WebResult<Option<Note>> {
    if who.note_path.as_deref() != Some(path) {
        return Ok(None);
    }
    let Some(json) = state.app.take_session_note(who.session.expose(), path).await? else {
        return Ok(None);
    };
    // A note this version cannot read (written by another) is dropped.
    Ok(serde_json::from_str(&json).ok())
}

#[cfg(test)]
mod tests {
    use super::Note;

    #[test]
    fn debug_never_shows_a_link_or_a_key() {
        let key = Note::SigningKey { key: "k3y-s3cret".into() };
        let link = Note::SignedLink { url: "https://x/s/a?sig=s1gnature".into(), expires: None };
        assert!(!format!("{key:?}").contains("s3cret"));
        assert!(!format!("{link:?}").contains("s1gnature"));
        assert!(format!("{:?}", Note::done("Saved.")).contains("Saved."));
    }

    #[test]
    fn a_note_reads_back_as_written() {
        for note in [
            Note::done("Offered."),
            Note::problem("Salesforce refused."),
            Note::Mixed { done: "a".into(), problem: "b".into() },
            Note::SignedLink { url: "u".into(), expires: Some(5) },
            Note::SigningKey { key: "k".into() },
        ] {
            let json = serde_json::to_string(&note).unwrap();
            assert_eq!(serde_json::from_str::<Note>(&json).unwrap(), note);
        }
    }
}
