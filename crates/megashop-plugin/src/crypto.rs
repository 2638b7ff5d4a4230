//! Credentials at rest: XChaCha20-Poly1305 with a random 192-bit nonce per value.
//!
//! A stored value is `v1.<key id>.<base64(nonce ‖ ciphertext)>`; the key id (first 8 hex
//! digits of the key's SHA-256) picks the key, so keys can be rotated: the current key
//! encrypts, earlier keys still decrypt. The associated data binds a value to its store
//! and plugin, so a value copied into another row does not decrypt.

use crate::error::PluginError;
use base64::Engine as _;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use megashop_core::config::{Config, Secret};
use rand::RngCore;
use sha2::{Digest, Sha256};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;
const NONCE: usize = 24;

#[derive(Clone)]
struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn new(bytes: &[u8; 32]) -> Key {
        let d = Sha256::digest(bytes);
        Key { id: d.iter().take(4).map(|b| format!("{b:02x}")).collect(), cipher: XChaCha20Poly1305::new(bytes.into()) }
    }
}

/// The keys that encrypt and decrypt integration credentials.
#[derive(Clone)]
pub struct Keyring {
    current: Key,
    previous: Vec<Key>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring").field("current", &self.current.id).field("previous", &self.previous.len()).finish()
    }
}

impl Keyring {
    /// A keyring that encrypts with `current` and also decrypts with `previous`.
    pub fn new(current: &[u8; 32], previous: &[[u8; 32]]) -> Keyring {
        let current = Key::new(current);
        let previous = previous.iter().map(Key::new).filter(|k| k.id != current.id).collect();
        Keyring { current, previous }
    }

    /// A 32-byte key derived from a secret string (HKDF-SHA256 with a fixed label), used
    /// when `[integrations] secret_key` is not set.
    pub fn derive(secret: &Secret) -> [u8; 32] {
        let hk = hkdf::Hkdf::<Sha256>::new(Some(b"megashop"), secret.expose().as_bytes());
        let mut out = [0u8; 32];
        // 32 bytes is far below HKDF-SHA256's limit (8160 bytes): this cannot fail.
        if hk.expand(b"megashop integrations credentials v1", &mut out).is_err() {
            out = Sha256::digest(
                [b"megashop integrations credentials v1".as_slice(), secret.expose().as_bytes()].concat(),
            )
            .into();
        }
        out
    }

    /// The keys of a configuration: `[integrations] secret_key` (base64), or else a key
    /// derived from the JWT signing secret. Earlier keys decrypt too:
    /// `previous_secret_keys`, keys derived from `auth.jwt_previous_secrets`, and, when
    /// an explicit key is set, the key derived from the JWT secret (so setting a key later
    /// keeps the credentials stored before readable).
    pub fn from_config(cfg: &Config) -> Result<Keyring, PluginError> {
        let decode = |s: &Secret, key: &str| -> Result<[u8; 32], PluginError> {
            B64.decode(s.expose().trim())
                .ok()
                .and_then(|v| <[u8; 32]>::try_from(v.as_slice()).ok())
                .ok_or_else(|| PluginError::Config(format!("{key} must be 32 bytes in base64")))
        };
        let jwt = cfg.jwt_secret().map_err(|e| PluginError::Config(e.to_string()))?;
        let mut previous = Vec::new();
        for (i, s) in cfg.integrations.previous_secret_keys.iter().enumerate() {
            previous.push(decode(s, &format!("integrations.previous_secret_keys.{i}"))?);
        }
        previous.extend(cfg.auth.jwt_previous_secrets.iter().map(Keyring::derive));
        let current = if cfg.integrations.secret_key.is_empty() {
            Keyring::derive(&jwt)
        } else {
            previous.push(Keyring::derive(&jwt));
            decode(&cfg.integrations.secret_key, "integrations.secret_key")?
        };
        Ok(Keyring::new(&current, &previous))
    }

    /// Encrypts `plain` for the row identified by `aad`.
    pub(crate) fn encrypt(&self, plain: &[u8], aad: &str) -> Result<String, PluginError> {
        let mut nonce = [0u8; NONCE];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let ct = self
            .current
            .cipher
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: plain, aad: aad.as_bytes() })
            .map_err(|_| PluginError::Internal("cannot encrypt credentials".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("v1.{}.{}", self.current.id, B64.encode(blob)))
    }

    /// Decrypts a value [`Keyring::encrypt`] made for the same `aad`.
    pub(crate) fn decrypt(&self, stored: &str, aad: &str) -> Result<Vec<u8>, PluginError> {
        let bad = |why: &str| PluginError::Config(format!("stored credentials cannot be decrypted: {why}"));
        let mut parts = stored.splitn(3, '.');
        let (Some("v1"), Some(kid), Some(data)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(bad("unknown format"));
        };
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == kid)
            .ok_or_else(|| bad("they were encrypted with a key that is no longer configured"))?;
        let blob = B64.decode(data).map_err(|_| bad("not base64"))?;
        if blob.len() < NONCE {
            return Err(bad("too short"));
        }
        let (nonce, ct) = blob.split_at(NONCE);
        key.cipher
            .decrypt(XNonce::from_slice(nonce), Payload { msg: ct, aad: aad.as_bytes() })
            .map_err(|_| bad("the key or the data is wrong"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_round_trip_bind_to_their_row_and_survive_rotation() {
        let old = Keyring::new(&[1; 32], &[]);
        let s = old.encrypt(b"hunter2", "integration:1:1c").unwrap();
        assert!(!s.contains("hunter2"));
        assert_eq!(old.decrypt(&s, "integration:1:1c").unwrap(), b"hunter2");
        assert!(old.decrypt(&s, "integration:2:1c").is_err(), "another row's value must not decrypt");
        let rotated = Keyring::new(&[2; 32], &[[1; 32]]);
        assert_eq!(rotated.decrypt(&s, "integration:1:1c").unwrap(), b"hunter2");
        assert!(Keyring::new(&[2; 32], &[]).decrypt(&s, "integration:1:1c").is_err());
        assert_ne!(old.encrypt(b"x", "a").unwrap(), old.encrypt(b"x", "a").unwrap(), "a nonce per value");
    }

    #[test]
    fn derived_keys_depend_on_the_secret() {
        let a = Keyring::derive(&Secret::new("a".repeat(40)));
        assert_eq!(a, Keyring::derive(&Secret::new("a".repeat(40))));
        assert_ne!(a, Keyring::derive(&Secret::new("b".repeat(40))));
    }
}
