//! Sign-up that does not reveal whether an address has an account: every
//! sign-up is answered "check your inbox", and the inbox decides. A new
//! address gets a link that makes the account (the password chosen at
//! sign-up confirms it, so a stranger who signed up with someone else's
//! address cannot have them confirm an account the stranger holds the
//! password of); an address with an account is told so and pointed at
//! sign-in, and its account is left as it was.

use crate::mail::Letter;
use crate::AppError;
use domain::signup::{ConfirmationLink, CONFIRMATION_LIFETIME_MS};
use domain::{DisplayName, Email};
use rand::RngCore;
use store::accounts::Account;
use store::signups::{Confirmed, NewSignup, PendingSignup};
use store::{now_ms, Store};

/// A sign-up as the form gave it, its password already hashed.
pub struct SignupRequest<'a> {
    pub email: &'a Email,
    pub name: &'a DisplayName,
    pub password_hash: &'a str,
    /// Where to go once confirmed: a same-site path.
    pub next_path: &'a str,
}

fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

use crate::accounts::token_hash;

/// Mails about one address's sign-ups that say "you have an account" go
/// out at most once an hour, so sign-up cannot flood someone's inbox.
const EXISTING_ACCOUNT_MAIL_EVERY_MS: i64 = 3600 * 1000;

/// Starts a sign-up. The answer is the same whoever's address it is; what
/// differs goes to the address's inbox.
pub async fn begin(store: &Store, public_url: &str, request: SignupRequest<'_>) -> Result<(), AppError> {
    let email = request.email;
    if store.account_by_email(email).await?.is_some() {
        let hour = now_ms() / EXISTING_ACCOUNT_MAIL_EVERY_MS;
        let letter = Letter {
            subject: "Signing up to Insight".into(),
            text: format!(
                "Hello,\n\nSomeone, we hope you, tried to sign up to Insight with {email}. \
                 You already have an Insight account with this address, so nothing was changed.\n\n\
                 To sign in, open {public_url}/signin\n\n\
                 If it was not you, you can ignore this mail: your account and its password are as they were.\n"
            ),
        };
        let queued = store.queue_mail(&letter.to(format!("signup-existing:{email}:{hour}"), email.as_str())).await?;
        tracing::info!(queued, "sign-up for an address with an account: told the address");
        return Ok(());
    }
    let token = new_token();
    let link = format!("{public_url}/signup/confirm?token={token}");
    let name = request.name.as_str();
    let signup = NewSignup {
        email,
        name: request.name,
        password_hash: request.password_hash,
        token_hash: &token_hash(&token),
        next_path: request.next_path,
        lifetime_ms: CONFIRMATION_LIFETIME_MS,
    };
    let id = store
        .create_pending_signup(&signup, |id| {
            Letter {
                subject: "Finish signing up to Insight".into(),
                text: format!(
                    "Hello {name},\n\nSomeone, we hope you, asked to create an Insight account for {email}.\n\n\
                     To finish signing up, open this link within 24 hours and enter the password you chose:\n\n{link}\n\n\
                     If you did not sign up, ignore this mail: no account is made without this link and that password.\n"
                ),
            }
            .to(format!("signup:{id}"), email.as_str())
        })
        .await?;
    tracing::info!(signup = id, "sign-up waiting for its address to confirm it");
    Ok(())
}

/// What a followed confirmation link finds.
#[derive(Debug, Clone)]
pub enum Link {
    Usable(PendingSignup),
    Used,
    Expired,
    /// No sign-up has this token (mistyped, cut short, or guessed).
    Unknown,
}

/// Looks the link up without using it: mail scanners follow links too.
pub async fn look_up(store: &Store, token: &str) -> Result<Link, AppError> {
    let Some(pending) = store.pending_signup(&token_hash(token.trim())).await? else { return Ok(Link::Unknown) };
    Ok(match ConfirmationLink::decide(pending.confirmed_at, pending.expires_at, now_ms()) {
        ConfirmationLink::Usable => Link::Usable(pending),
        ConfirmationLink::Used => Link::Used,
        ConfirmationLink::Expired => Link::Expired,
    })
}

/// What confirming did.
#[derive(Debug, Clone)]
pub enum Confirmation {
    /// The account is made; sign it in and go on to `next_path`.
    Account { account: Account, next_path: String },
    /// Another sign-up of this address was confirmed first.
    AlreadyHasAccount,
    /// The link was used, or expired, meanwhile.
    Used,
}

/// Confirms a usable sign-up (its password checked by the caller) and makes
/// its account. Invitations to its address are on My Projects from now on:
/// they are kept by address, and the address has just proved it is theirs.
pub async fn confirm(store: &Store, pending: &PendingSignup) -> Result<Confirmation, AppError> {
    Ok(match store.confirm_signup(pending.id).await? {
        Confirmed::Account(account) => {
            tracing::info!(account = account.id, signup = pending.id, "account created");
            Confirmation::Account { account, next_path: pending.next_path.clone() }
        }
        Confirmed::EmailTaken => Confirmation::AlreadyHasAccount,
        Confirmed::NotPending => Confirmation::Used,
    })
}

/// Sign-ups are kept a week (a used or expired link still gets its clear
/// page meanwhile), then forgotten.
pub async fn sweep(store: &Store) -> Result<u64, AppError> {
    Ok(store.delete_old_signups(7 * 24 * 3600 * 1000).await?)
}

impl crate::App {
    /// Starts a sign-up; the answer is the same whoever's address it is.
    pub async fn begin_signup(&self, request: SignupRequest<'_>) -> Result<(), AppError> {
        begin(&self.store, &self.public_url, request).await
    }

    /// What a followed confirmation link finds, without using it.
    pub async fn signup_link(&self, token: &str) -> Result<Link, AppError> {
        look_up(&self.store, token).await
    }

    /// Confirms a usable sign-up and makes its account.
    pub async fn confirm_signup(&self, pending: &PendingSignup) -> Result<Confirmation, AppError> {
        confirm(&self.store, pending).await
    }
}
