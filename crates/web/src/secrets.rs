//! The web server's own secrets: the key and MACs of the pre-sign-in form
//! tokens, comparing secrets, and response ids. (Session and API tokens and
//! survey slugs are minted by `app`.)

use base64::Engine;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

/// Compares two secrets in time independent of where they differ.
pub fn equal(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A key for one purpose, derived from the server's secret key, so that
/// every process of one installation agrees on it and no purpose's key
/// reveals another's.
pub fn derive_key(secret: &str, purpose: &str) -> [u8; 32] {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(purpose.as_bytes());
    mac.finalize().into_bytes().into()
}

/// HMAC-SHA256 of `message` under `key`, URL-safe base64.
pub fn mac(key: &[u8; 32], message: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(message.as_bytes());
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes())
}

pub fn response_id() -> domain::ResponseId {
    let mut bytes = [0u8; domain::ResponseId::RANDOM_CHARS];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    domain::ResponseId::from_random(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_compare_equal_only_to_themselves() {
        let (a, b) = (app::accounts::bearer_token(), app::accounts::bearer_token());
        assert!(equal(&a, &a.clone()));
        assert!(!equal(&a, &b));
    }

    #[test]
    fn macs_depend_on_the_key_and_the_message() {
        let (k1, k2) = (derive_key("secret one", "forms"), derive_key("secret two", "forms"));
        assert_ne!(k1, derive_key("secret one", "other purpose"));
        assert_eq!(mac(&k1, "cookie"), mac(&derive_key("secret one", "forms"), "cookie"));
        assert_ne!(mac(&k1, "cookie"), mac(&k2, "cookie"));
        assert_ne!(mac(&k1, "cookie"), mac(&k1, "cookie2"));
    }
}
