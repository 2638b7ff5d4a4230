//! Passwords: the policy (length, not a common one) and argon2id hashing.
//!
//! Hashes are PHC strings (`$argon2id$v=19$m=…,t=…,p=1$salt$hash`), so parameters can be
//! raised later and old hashes still verify. Hashing is CPU-bound by design (tens of ms):
//! callers run it on the blocking pool. A password is never logged or returned.

use crate::error::{Error, FieldError, Result};
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use std::collections::HashSet;
use std::sync::OnceLock;

/// Longest password accepted (argon2 takes any length; this bounds the work per request).
pub const MAX_LENGTH: usize = 128;

fn common() -> &'static HashSet<String> {
    static SET: OnceLock<HashSet<String>> = OnceLock::new();
    SET.get_or_init(|| {
        include_str!("common-passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(str::to_lowercase)
            .collect()
    })
}

/// Checks `password` against the policy; `field` names it in the error. `personal` are
/// values it must not equal (the email, its local part, the phone).
pub fn check(field: &str, password: &str, min_length: usize, personal: &[&str]) -> Result<()> {
    let n = password.chars().count();
    let lower = password.to_lowercase();
    let err = |code: &'static str, msg: String| Err(Error::Validation(vec![FieldError::new(field, code, msg)]));
    if n < min_length {
        return err("too_short", format!("must be at least {min_length} characters long"));
    }
    if n > MAX_LENGTH {
        return err("too_long", format!("must be at most {MAX_LENGTH} characters long"));
    }
    if password.trim().is_empty() {
        return err("too_short", "must not be only spaces".into());
    }
    if common().contains(&lower) {
        return err("password_too_common", "is one of the most common passwords; choose another".into());
    }
    if personal.iter().any(|p| !p.is_empty() && p.to_lowercase() == lower) {
        return err("password_personal", "must not be your email or phone".into());
    }
    Ok(())
}

/// argon2id with the configured cost.
#[derive(Clone, Debug)]
pub struct Hasher {
    params: Params,
}

impl Hasher {
    /// A hasher with `memory_kib` of memory and `iterations` passes (one lane).
    pub fn new(memory_kib: u32, iterations: u32) -> Result<Hasher> {
        let params = Params::new(memory_kib, iterations, 1, None)
            .map_err(|e| Error::invalid("auth.argon2_memory_kib", "out_of_range", e.to_string()))?;
        Ok(Hasher { params })
    }

    fn argon(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// The PHC string of `password` with a fresh random salt.
    pub fn hash(&self, password: &str) -> Result<String> {
        let salt = SaltString::generate(&mut OsRng);
        self.argon()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(format!("argon2: {e}")))
    }

    /// Whether `password` matches `phc`. With `phc` `None` (no such account, or no
    /// password set) a dummy hash is checked, so the answer takes as long either way.
    pub fn verify(&self, password: &str, phc: Option<&str>) -> bool {
        static DUMMY: OnceLock<String> = OnceLock::new();
        let dummy = DUMMY.get_or_init(|| self.hash("no account has this password").unwrap_or_default());
        let (stored, real) = match phc {
            Some(p) => (p, true),
            None => (dummy.as_str(), false),
        };
        let Ok(parsed) = PasswordHash::new(stored) else { return false };
        // Verification uses the parameters stored in the hash, so old hashes keep working.
        let ok = Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok();
        ok && real
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_refuses_short_common_and_personal_passwords() {
        let code = |r: Result<()>| match r {
            Err(Error::Validation(e)) => e[0].code,
            Ok(()) => "ok",
            Err(_) => "other",
        };
        assert_eq!(code(check("password", "short", 8, &[])), "too_short");
        assert_eq!(code(check("password", "Qwerty123", 8, &[])), "password_too_common");
        assert_eq!(code(check("password", "ЙЦУКЕНГШЩЗ", 8, &[])), "password_too_common");
        assert_eq!(code(check("password", "anna@mail.ru", 8, &["anna@mail.ru"])), "password_personal");
        assert_eq!(code(check("password", &"x".repeat(129), 8, &[])), "too_long");
        assert_eq!(code(check("password", "        ", 8, &[])), "too_short");
        assert_eq!(code(check("password", "Лес-2026-тихий", 8, &["anna@mail.ru"])), "ok");
    }

    #[test]
    fn hashes_are_argon2id_salted_and_verify_only_the_right_password() {
        let h = Hasher::new(64, 1).unwrap();
        let a = h.hash("correct horse").unwrap();
        let b = h.hash("correct horse").unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(h.verify("correct horse", Some(&a)));
        assert!(!h.verify("correct horsE", Some(&a)));
        assert!(!h.verify("correct horse", None), "no account never verifies");
        assert!(!h.verify("x", Some("not a phc string")));
        // A hash made with other parameters still verifies.
        let stronger = Hasher::new(128, 2).unwrap().hash("correct horse").unwrap();
        assert!(h.verify("correct horse", Some(&stronger)));
    }
}
