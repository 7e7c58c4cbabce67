//! Operator passwords: argon2id hashes in PHC format, with a rule for acceptable passwords.

use crate::error::{Error, Result};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;

/// Shortest password accepted.
pub const MIN_LENGTH: usize = 10;
/// Longest password accepted (hashing cost is bounded).
pub const MAX_LENGTH: usize = 1024;

/// Checks a new password against the rules; `field` names the form field in the error.
pub fn validate(password: &str, field: &str) -> Result<()> {
    let length = password.chars().count();
    if length < MIN_LENGTH {
        return Err(Error::invalid(
            field,
            format!("the password must have at least {MIN_LENGTH} characters"),
        ));
    }
    if length > MAX_LENGTH {
        return Err(Error::invalid(
            field,
            format!("the password must have at most {MAX_LENGTH} characters"),
        ));
    }
    Ok(())
}

/// The argon2id hash of `password` with a fresh salt.
pub fn hash(password: &str) -> Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| Error::Internal(format!("cannot encode a password salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Internal(format!("cannot hash a password: {e}")))
}

/// Whether `password` matches the stored `hash` (a malformed hash matches nothing).
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// [`hash`] on the blocking pool: argon2 is deliberately slow and would hold up an async
/// worker (every other request on it) meanwhile.
pub async fn hashed(password: &str) -> Result<String> {
    let password = password.to_string();
    off_worker(move || hash(&password)).await?
}

/// [`verify`] on the blocking pool (see [`hashed`]).
pub async fn matches(password: &str, hash: &str) -> Result<bool> {
    let (password, hash) = (password.to_string(), hash.to_string());
    off_worker(move || verify(&password, &hash)).await
}

async fn off_worker<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Internal(format!("the password work stopped: {e}")))
}

/// A hash to verify against when the user does not exist, so that a wrong user name takes
/// as long to refuse as a wrong password.
pub fn decoy() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash("decoy password, never valid").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_argon2id_salted_and_verify() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "salted");
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse battery!", &a));
        assert!(!verify("anything", "not a hash"));
    }

    #[test]
    fn short_passwords_are_refused_naming_the_field() {
        let err = validate("short", "password").unwrap_err();
        assert!(matches!(err, Error::Invalid { ref field, .. } if field == "password"));
        assert!(validate("long enough pw", "password").is_ok());
    }
}
