//! Signed survey links: an HMAC-SHA256, under a per-survey key, over a
//! canonical encoding of the link's embedded data and its optional expiry.
//! A respondent can still edit the link, but no longer without the edit
//! showing. The algorithm is documented for other systems in
//! `docs/signed-links.md`, whose worked example a test below checks.

use crate::Invalid;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::collections::BTreeMap;

/// Query parameters of a signed link. Embedded data names start with a
/// letter, so names starting with `_` never clash with them.
pub const SIGNATURE_PARAM: &str = "_sig";
pub const EXPIRES_PARAM: &str = "_expires";

/// A survey's key for signing its links: 32 random bytes, shown to people
/// as 64 hex characters. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct LinkKey([u8; LinkKey::BYTES]);

impl LinkKey {
    pub const BYTES: usize = 32;

    pub fn from_bytes(bytes: [u8; LinkKey::BYTES]) -> LinkKey {
        LinkKey(bytes)
    }

    pub fn from_hex(hex_key: &str) -> Result<LinkKey, Invalid> {
        let bytes = hex::decode(hex_key.trim()).map_err(|_| Invalid::new("A signing key is 64 hex characters."))?;
        let bytes: [u8; LinkKey::BYTES] = bytes.try_into().map_err(|_| Invalid::new("A signing key is 64 hex characters."))?;
        Ok(LinkKey(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    fn mac(&self) -> Hmac<Sha256> {
        Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes a key of any length")
    }
}

impl std::fmt::Debug for LinkKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkKey(<redacted>)")
    }
}

/// Every byte but RFC 3986's unreserved ones (`A-Z a-z 0-9 - . _ ~`) is encoded.
const UNRESERVED_COMPLEMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');

/// RFC 3986 percent-encoding of every byte but the unreserved ones: what
/// Python's `urllib.parse.quote(v, safe="")` and JavaScript's
/// `encodeURIComponent` (plus `!'()*`) produce.
fn encode(value: &str) -> String {
    percent_encoding::utf8_percent_encode(value, UNRESERVED_COMPLEMENT).to_string()
}

/// The bytes that are signed: `name=value` pairs sorted by name (bytewise),
/// values percent-encoded, joined by `&`, then `&_expires=<unix seconds>`
/// when the link expires. The encoding is injective, so two different sets
/// of data never share a signature.
pub fn canonical_message(embedded: &BTreeMap<String, String>, expires: Option<i64>) -> String {
    let mut parts: Vec<String> = embedded.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect();
    if let Some(at) = expires {
        parts.push(format!("{EXPIRES_PARAM}={at}"));
    }
    parts.join("&")
}

/// The signature of a link, as lower-case hex.
pub fn sign(key: &LinkKey, embedded: &BTreeMap<String, String>, expires: Option<i64>) -> String {
    let mut mac = key.mac();
    mac.update(canonical_message(embedded, expires).as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Why a link's signature was not trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkRejected {
    /// The signature does not match the data (edited, or signed under
    /// another key, e.g. before the key was regenerated).
    Tampered,
    /// The link expired before the response was submitted.
    Expired,
}

/// Checks a link's signature over the data actually submitted, in constant
/// time, and its expiry against `now` (Unix seconds). `expires` is the raw
/// parameter: one that is not a number cannot have been signed.
pub fn verify(key: &LinkKey, embedded: &BTreeMap<String, String>, expires: Option<&str>, signature: &str, now: i64) -> Result<(), LinkRejected> {
    let expires = match expires.map(|e| e.parse::<i64>()) {
        None => None,
        Some(Ok(at)) => Some(at),
        Some(Err(_)) => return Err(LinkRejected::Tampered),
    };
    let given = hex::decode(signature.trim()).map_err(|_| LinkRejected::Tampered)?;
    let mut mac = key.mac();
    mac.update(canonical_message(embedded, expires).as_bytes());
    mac.verify_slice(&given).map_err(|_| LinkRejected::Tampered)?;
    match expires {
        Some(at) if now > at => Err(LinkRejected::Expired),
        _ => Ok(()),
    }
}

/// Where a response's embedded data came from, which decides whether a
/// value in it may pick the record a mapping writes. A personal invitation
/// is the other trusted source: Insight filled its embedded data itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EmbeddedProvenance {
    /// The plain survey link: the respondent can edit every value.
    #[default]
    Unsigned,
    /// A signed link whose signature matched the submitted data.
    SignedLink,
    /// A signature came with the data but did not match it.
    TamperedLink,
    /// A signed link that had expired when the response was submitted.
    ExpiredLink,
    /// A personal invitation a trigger sent: Insight filled the embedded
    /// data from the Salesforce notification; the respondent never saw it.
    Invitation,
}

impl EmbeddedProvenance {
    pub fn as_str(self) -> &'static str {
        match self {
            EmbeddedProvenance::Unsigned => "unsigned",
            EmbeddedProvenance::SignedLink => "signed_link",
            EmbeddedProvenance::TamperedLink => "tampered_link",
            EmbeddedProvenance::ExpiredLink => "expired_link",
            EmbeddedProvenance::Invitation => "invitation",
        }
    }

    /// The provenance a submission earns: a signed link only when the
    /// signature checks out.
    pub fn of_link(signature: Option<Result<(), LinkRejected>>) -> EmbeddedProvenance {
        match signature {
            None => EmbeddedProvenance::Unsigned,
            Some(Ok(())) => EmbeddedProvenance::SignedLink,
            Some(Err(LinkRejected::Tampered)) => EmbeddedProvenance::TamperedLink,
            Some(Err(LinkRejected::Expired)) => EmbeddedProvenance::ExpiredLink,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            EmbeddedProvenance::Unsigned => "Unsigned survey link",
            EmbeddedProvenance::SignedLink => "Signed survey link",
            EmbeddedProvenance::TamperedLink => "Signed survey link, edited after signing",
            EmbeddedProvenance::ExpiredLink => "Signed survey link, expired",
            EmbeddedProvenance::Invitation => "Personal invitation (Trigger and Email Survey)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn key() -> LinkKey {
        LinkKey::from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f").unwrap()
    }

    #[test]
    fn the_message_sorts_names_and_encodes_values_exactly() {
        let d = data(&[("zeta", "a b&c=d"), ("account_id", "001000000000001AAA"), ("note", "é~*")]);
        assert_eq!(canonical_message(&d, None), "account_id=001000000000001AAA&note=%C3%A9~%2A&zeta=a%20b%26c%3Dd");
        assert_eq!(canonical_message(&d, Some(1_800_000_000)), "account_id=001000000000001AAA&note=%C3%A9~%2A&zeta=a%20b%26c%3Dd&_expires=1800000000");
        assert_eq!(canonical_message(&BTreeMap::new(), None), "");
    }

    #[test]
    fn values_that_differ_never_share_a_message() {
        // Without encoding, `a=1&b=2` could be one value or two.
        assert_ne!(canonical_message(&data(&[("a", "1&b=2")]), None), canonical_message(&data(&[("a", "1"), ("b", "2")]), None));
        assert_ne!(canonical_message(&data(&[("a", "")]), None), canonical_message(&BTreeMap::new(), None));
    }

    #[test]
    fn verification_as_a_table() {
        let d = data(&[("account_id", "001000000000001AAA")]);
        let sig = sign(&key(), &d, Some(1000));
        let other_key = LinkKey::from_bytes([9; 32]);
        // (story, key, submitted data, expiry parameter, signature, now, expected)
        type Case<'a> = (&'a str, LinkKey, BTreeMap<String, String>, Option<&'a str>, String, i64, Result<(), LinkRejected>);
        let cases: Vec<Case> = vec![
            ("as signed, before expiry", key(), d.clone(), Some("1000"), sig.clone(), 999, Ok(())),
            ("as signed, at the last second", key(), d.clone(), Some("1000"), sig.clone(), 1000, Ok(())),
            ("after expiry", key(), d.clone(), Some("1000"), sig.clone(), 1001, Err(LinkRejected::Expired)),
            ("a value edited", key(), data(&[("account_id", "001000000000002AAA")]), Some("1000"), sig.clone(), 0, Err(LinkRejected::Tampered)),
            ("a field added", key(), data(&[("account_id", "001000000000001AAA"), ("x", "")]), Some("1000"), sig.clone(), 0, Err(LinkRejected::Tampered)),
            ("expiry pushed back", key(), d.clone(), Some("99999"), sig.clone(), 0, Err(LinkRejected::Tampered)),
            ("expiry removed", key(), d.clone(), None, sig.clone(), 0, Err(LinkRejected::Tampered)),
            ("expiry not a number", key(), d.clone(), Some("soon"), sig.clone(), 0, Err(LinkRejected::Tampered)),
            ("another key", other_key, d.clone(), Some("1000"), sig.clone(), 0, Err(LinkRejected::Tampered)),
            ("signature not hex", key(), d.clone(), Some("1000"), "zz".into(), 0, Err(LinkRejected::Tampered)),
            ("signature cut short", key(), d.clone(), Some("1000"), sig[..32].to_string(), 0, Err(LinkRejected::Tampered)),
        ];
        for (story, k, embedded, expires, signature, now, expected) in cases {
            assert_eq!(verify(&k, &embedded, expires, &signature, now), expected, "{story}");
        }
    }

    #[test]
    fn provenance_follows_the_check() {
        assert_eq!(EmbeddedProvenance::of_link(None), EmbeddedProvenance::Unsigned);
        assert_eq!(EmbeddedProvenance::of_link(Some(Ok(()))), EmbeddedProvenance::SignedLink);
        assert_eq!(EmbeddedProvenance::of_link(Some(Err(LinkRejected::Expired))), EmbeddedProvenance::ExpiredLink);
    }

    #[test]
    fn keys_parse_from_hex_and_never_show_in_debug() {
        assert_eq!(key().to_hex(), "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        assert!(LinkKey::from_hex("abcd").is_err());
        assert!(!format!("{:?}", key()).contains("0001"));
    }

    /// The worked example in docs/signed-links.md is what this code computes.
    #[test]
    fn the_documented_example_matches_the_code() {
        let doc = include_str!("../../../docs/signed-links.md");
        let value = |label: &str| -> String {
            let line = doc.lines().find(|l| l.trim_start().starts_with(label)).unwrap_or_else(|| panic!("the doc has no line {label}"));
            line.trim_start()[label.len()..].trim().trim_matches('`').to_string()
        };
        let key = LinkKey::from_hex(&value("- Key:")).unwrap();
        let embedded = data(&[("account_id", &value("- account_id:")), ("contact_name", &value("- contact_name:"))]);
        let expires: i64 = value("- Expires:").parse().unwrap();
        assert_eq!(canonical_message(&embedded, Some(expires)), value("- Message:"));
        assert_eq!(sign(&key, &embedded, Some(expires)), value("- Signature:"));
    }
}
