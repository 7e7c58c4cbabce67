//! Random secrets and how they are kept: session ids, API tokens, CSRF and setup tokens are
//! 32 random bytes written as hex; the database stores only their SHA-256, and secrets are
//! compared in constant time.

use rand::RngCore;
use sha2::{Digest, Sha256};

/// A fresh secret: `prefix` followed by 64 hex digits (256 random bits).
pub fn generate(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", hex::encode(bytes))
}

/// The stored form of a secret (SHA-256, hex). The secrets are random, so a fast hash is
/// enough: there is nothing to guess from a dictionary.
pub fn digest(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// Compares two secrets without revealing where they first differ.
pub fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_fresh_prefixed_and_hashed() {
        let a = generate("fb_");
        let b = generate("fb_");
        assert!(a.starts_with("fb_") && a.len() == 67);
        assert_ne!(a, b);
        assert_eq!(digest(&a), digest(&a));
        assert_ne!(digest(&a), digest(&b));
        assert!(!digest(&a).contains(&a[3..]));
    }

    #[test]
    fn comparison_needs_equal_secrets() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert!(!same("", "a"));
    }
}
