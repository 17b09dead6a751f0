//! Salesforce record ids: 15-char case-sensitive ids and their 18-char
//! case-insensitive form (3-char suffix encodes which of the 15 chars are upper case).

use std::sync::atomic::{AtomicU64, Ordering};

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static COUNTER: AtomicU64 = AtomicU64::new(1);

/// The 3-char checksum suffix for a 15-char id.
pub fn suffix(id15: &str) -> String {
    let b = id15.as_bytes();
    let mut out = String::with_capacity(3);
    for chunk in 0..3 {
        let mut n = 0usize;
        for i in 0..5 {
            if b[chunk * 5 + i].is_ascii_uppercase() {
                n |= 1 << i;
            }
        }
        out.push(SUFFIX_ALPHABET[n] as char);
    }
    out
}

/// Turn a 15-char id into its 18-char form.
pub fn to18(id15: &str) -> String {
    format!("{id15}{}", suffix(id15))
}

/// Parse a 15- or 18-char id; returns the canonical 18-char form.
/// An 18-char id whose suffix disagrees with the case of its first 15 chars is
/// repaired the way Salesforce does: the suffix decides the case.
pub fn parse(id: &str) -> Option<String> {
    if !id.bytes().all(|c| c.is_ascii_alphanumeric()) {
        return None;
    }
    match id.len() {
        15 => Some(to18(id)),
        18 => {
            let (head, suf) = id.split_at(15);
            let mut fixed: Vec<u8> = head.as_bytes().to_vec();
            for (chunk, sc) in suf.bytes().enumerate() {
                let n = SUFFIX_ALPHABET.iter().position(|&x| x == sc.to_ascii_uppercase())?;
                for i in 0..5 {
                    let c = &mut fixed[chunk * 5 + i];
                    if c.is_ascii_alphabetic() {
                        *c = if n & (1 << i) != 0 { c.to_ascii_uppercase() } else { c.to_ascii_lowercase() };
                    }
                }
            }
            let head = String::from_utf8(fixed).ok()?;
            Some(to18(&head))
        }
        _ => None,
    }
}

fn base62(mut n: u64, width: usize) -> String {
    let mut v = vec![b'0'; width];
    for i in (0..width).rev() {
        v[i] = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8(v).unwrap()
}

/// A new unique 18-char id with the given 3-char key prefix.
pub fn new_id(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    // prefix(3) + instance "5g"(2) + reserved "00"(2) + counter(8) = 15
    let id15 = format!("{prefix}5g00{}", base62(n, 8));
    to18(&id15)
}

/// A deterministic id from a seed (used for org and user ids so that the
/// default configuration prints the same ids on every start).
pub fn seeded_id(prefix: &str, seed: u64) -> String {
    let id15 = format!("{prefix}Dm00{}", base62(seed, 8));
    to18(&id15)
}

/// Make sure ids generated from now on sort after (and never collide with) `id`
/// (used when records are loaded from a snapshot).
pub fn bump_past(id: &str) {
    let Some(tail) = id.get(7..15) else { return };
    let mut n: u64 = 0;
    for c in tail.bytes() {
        let Some(d) = BASE62.iter().position(|&x| x == c) else { return };
        n = n.saturating_mul(62).saturating_add(d as u64);
    }
    COUNTER.fetch_max(n + 1, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn known_suffixes() {
        // The identity sample's org id 00Di0000000bAAA (18-char form ends in "AAA" per the sample's partner URL).
        assert_eq!(suffix("001000000000000"), "AAA");
        assert_eq!(to18("00Di0000000bAAA"), "00Di0000000bAAAEA2");
        let id = new_id("001");
        assert_eq!(id.len(), 18);
        assert_eq!(parse(&id[..15]).unwrap(), id);
        assert_eq!(parse(&id.to_lowercase()).unwrap(), id);
        assert!(parse("001xyz").is_none());
    }
}
