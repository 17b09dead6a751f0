//! How many sign-ins one account and one client address get: enough for a
//! person who mistypes, too few to guess a password.

use crate::rate_limit::{ClientAddress, RateLimit, Throttle};
use sha2::{Digest, Sha256};
use std::time::Duration;

/// Why a sign-in was refused before its password was looked at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// This address tried too many sign-ins (of any accounts).
    Address(Duration),
    /// Too many sign-ins for this email (from anywhere).
    Account(Duration),
}

impl Refused {
    pub fn wait(&self) -> Duration {
        match self {
            Refused::Address(w) | Refused::Account(w) => *w,
        }
    }
}

pub struct SignInLimits {
    /// Keyed by the email as typed (normalised and hashed): unknown emails
    /// are limited exactly like real ones, so the limit reveals no accounts,
    /// and a megabyte "email" costs 32 bytes.
    per_account: Throttle<[u8; 32]>,
    per_address: Throttle<ClientAddress>,
}

impl SignInLimits {
    pub fn new(per_account: RateLimit, per_address: RateLimit) -> SignInLimits {
        SignInLimits { per_account: Throttle::new(per_account), per_address: Throttle::new(per_address) }
    }

    /// Counts a sign-in attempt; checked before the password, so a guess
    /// past the limit learns nothing, right or wrong.
    pub fn admit(&self, client: ClientAddress, email: &str) -> Result<(), Refused> {
        self.per_address.check(&client).map_err(Refused::Address)?;
        self.per_account.check(&account_key(email)).map_err(Refused::Account)
    }

    /// Sign-ups hash a password too, so they count against the address.
    pub fn admit_address(&self, client: ClientAddress) -> Result<(), Refused> {
        self.per_address.check(&client).map_err(Refused::Address)
    }

    pub fn forget_recovered(&self) {
        self.per_account.forget_recovered();
        self.per_address.forget_recovered();
    }
}

fn account_key(email: &str) -> [u8; 32] {
    Sha256::digest(email.trim().to_lowercase().as_bytes()).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> SignInLimits {
        SignInLimits::new(RateLimit::new(2, Duration::from_secs(900), 2), RateLimit::new(3, Duration::from_secs(900), 3))
    }

    fn addr(last: u8) -> ClientAddress {
        ClientAddress::of(std::net::IpAddr::from([192, 0, 2, last]))
    }

    #[test]
    fn one_account_is_limited_from_every_address() {
        let l = limits();
        assert!(l.admit(addr(1), "ada@example.com").is_ok());
        assert!(l.admit(addr(2), "ADA@example.com ").is_ok(), "the same email however it is typed");
        assert!(matches!(l.admit(addr(3), "ada@example.com"), Err(Refused::Account(_))));
        assert!(l.admit(addr(3), "bob@example.com").is_ok(), "other accounts are not held up");
    }

    #[test]
    fn one_address_is_limited_across_accounts() {
        let l = limits();
        for email in ["a@example.com", "b@example.com", "c@example.com"] {
            assert!(l.admit(addr(1), email).is_ok());
        }
        assert!(matches!(l.admit(addr(1), "d@example.com"), Err(Refused::Address(_))));
        assert!(l.admit(addr(2), "d@example.com").is_ok(), "other addresses are not held up");
    }
}
