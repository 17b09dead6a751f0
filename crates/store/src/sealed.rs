//! Secrets at rest: Salesforce refresh and access tokens are sealed with an
//! AEAD (XChaCha20-Poly1305, random 192-bit nonce per value) under the key
//! from `INSIGHT_SECRET_KEY`, so a copy of the database alone reveals none.

use base64::Engine;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// A plaintext secret; its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum KeyError {
    #[error("INSIGHT_SECRET_KEY is not set. Generate one with `insight secret-key` and keep it safe: it seals the Salesforce tokens in the database.")]
    Missing,
    #[error("INSIGHT_SECRET_KEY must be 32 bytes, written as 64 hex characters or as base64; the value given decodes to {0} bytes.")]
    WrongLength(usize),
    #[error("INSIGHT_SECRET_KEY is neither hex nor base64.")]
    NotEncoded,
    #[error("INSIGHT_SECRET_KEY is not the key this database's secrets were sealed with. Start with the original key; secrets sealed under another key cannot be read.")]
    DoesNotOpenDatabase,
}

#[derive(Debug, thiserror::Error)]
#[error("a sealed value could not be opened (wrong key or damaged data)")]
pub struct OpenError;

/// Seals and opens secrets with the server's key.
#[derive(Clone)]
pub struct Sealer {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key redacted>)")
    }
}

impl Sealer {
    pub const KEY_BYTES: usize = 32;
    const NONCE_BYTES: usize = 24;

    /// Reads a key written as 64 hex characters or as base64 (standard or URL-safe).
    pub fn from_encoded_key(encoded: Option<&str>) -> Result<Sealer, KeyError> {
        let raw = encoded.map(str::trim).filter(|s| !s.is_empty()).ok_or(KeyError::Missing)?;
        let bytes = if raw.len() == 64 && raw.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(raw).map_err(|_| KeyError::NotEncoded)?
        } else {
            let engines = [
                &base64::engine::general_purpose::STANDARD,
                &base64::engine::general_purpose::URL_SAFE,
                &base64::engine::general_purpose::STANDARD_NO_PAD,
                &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ];
            engines.iter().find_map(|e| e.decode(raw).ok()).ok_or(KeyError::NotEncoded)?
        };
        if bytes.len() != Self::KEY_BYTES {
            return Err(KeyError::WrongLength(bytes.len()));
        }
        Ok(Sealer { cipher: XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| KeyError::WrongLength(bytes.len()))? })
    }

    /// A fresh random key, hex-encoded, for `insight secret-key` and the demo.
    pub fn generate_key() -> String {
        hex::encode(XChaCha20Poly1305::generate_key(&mut OsRng))
    }

    /// Nonce then ciphertext, base64: text, so both backends store it alike.
    pub fn seal(&self, secret: &Secret) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        let sealed = self.cipher.encrypt(&nonce, secret.expose().as_bytes()).expect("XChaCha20-Poly1305 sealing cannot fail");
        let mut out = nonce.to_vec();
        out.extend(sealed);
        base64::engine::general_purpose::STANDARD.encode(out)
    }

    pub fn open(&self, sealed: &str) -> Result<Secret, OpenError> {
        let bytes = base64::engine::general_purpose::STANDARD.decode(sealed).map_err(|_| OpenError)?;
        if bytes.len() < Self::NONCE_BYTES {
            return Err(OpenError);
        }
        let (nonce, body) = bytes.split_at(Self::NONCE_BYTES);
        let plain = self.cipher.decrypt(XNonce::from_slice(nonce), body).map_err(|_| OpenError)?;
        String::from_utf8(plain).map(Secret).map_err(|_| OpenError)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_only_with_its_key() {
        let a = Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap();
        let b = Sealer::from_encoded_key(Some(&Sealer::generate_key())).unwrap();
        let sealed = a.seal(&Secret::new("5Aep861TSESvWeHGp.refresh"));
        assert!(!sealed.contains("refresh"));
        assert_eq!(a.open(&sealed).unwrap().expose(), "5Aep861TSESvWeHGp.refresh");
        assert!(b.open(&sealed).is_err());
        assert_ne!(a.seal(&Secret::new("x")), a.seal(&Secret::new("x")), "a fresh nonce every time");
    }

    #[test]
    fn keys_are_checked_with_a_message_that_says_what_to_do() {
        assert_eq!(Sealer::from_encoded_key(None).unwrap_err(), KeyError::Missing);
        assert_eq!(Sealer::from_encoded_key(Some("c2hvcnQ=")).unwrap_err(), KeyError::WrongLength(5));
        assert_eq!(Sealer::from_encoded_key(Some("not a key!")).unwrap_err(), KeyError::NotEncoded);
        let b64 = base64::engine::general_purpose::STANDARD.encode([7u8; 32]);
        assert!(Sealer::from_encoded_key(Some(&b64)).is_ok());
    }

    #[test]
    fn debug_never_shows_a_secret() {
        assert!(!format!("{:?}", Secret::new("hunter2")).contains("hunter2"));
    }
}
