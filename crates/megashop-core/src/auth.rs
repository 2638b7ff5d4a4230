//! Staff access tokens (JWT, HS256) and the rule for who may write a store's catalogue.
//!
//! Today tokens are issued by `megashop token create`; the accounts work will issue the
//! same claims after a login, so the server's extractor does not change.

use crate::config::Secret;
use crate::entity::tenant;
use crate::error::{Error, Result};
use jsonwebtoken::{decode, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Staff roles, most powerful first.
pub const ROLES: [&str; 3] = ["owner", "admin", "manager"];

/// What a staff token says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Who: a user id or a label such as `cli`.
    pub sub: String,
    /// Store id the token is valid for.
    pub tid: i64,
    /// Role in that store.
    pub role: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// Token kind; only `access` is accepted by the API.
    pub typ: String,
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct Keys {
    enc: EncodingKey,
    dec: DecodingKey,
    /// Default lifetime of access tokens, seconds.
    pub access_ttl_secs: u64,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("access_ttl_secs", &self.access_ttl_secs).finish_non_exhaustive()
    }
}

impl Keys {
    /// HS256 keys from a shared secret.
    pub fn from_secret(secret: &Secret, access_ttl_secs: u64) -> Keys {
        Keys {
            enc: EncodingKey::from_secret(secret.expose().as_bytes()),
            dec: DecodingKey::from_secret(secret.expose().as_bytes()),
            access_ttl_secs,
        }
    }

    /// Issues a staff access token for `store`.
    pub fn issue_staff(
        &self,
        store: &tenant::Model,
        subject: &str,
        role: &str,
        ttl_secs: Option<u64>,
    ) -> Result<String> {
        if !ROLES.contains(&role) {
            return Err(Error::invalid("role", "invalid_role", "must be owner, admin or manager"));
        }
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            tid: store.id,
            role: role.to_string(),
            iat: now,
            exp: now + ttl_secs.unwrap_or(self.access_ttl_secs) as i64,
            typ: "access".into(),
        };
        encode(&Header::new(Algorithm::HS256), &claims, &self.enc).map_err(|e| Error::Internal(format!("signing: {e}")))
    }

    /// Verifies signature and expiry (no leeway) and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "sub"]);
        match decode::<Claims>(token, &self.dec, &v) {
            Ok(data) if data.claims.typ == "access" => Ok(data.claims),
            Ok(_) => Err(Error::Unauthorized { reason: "invalid_token" }),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Err(Error::Unauthorized { reason: "token_expired" })
                }
                _ => Err(Error::Unauthorized { reason: "invalid_token" }),
            },
        }
    }
}

/// Checks that verified `claims` grant catalogue writes in store `tenant_id`.
pub fn require_staff(claims: &Claims, tenant_id: i64) -> Result<()> {
    if claims.tid != tenant_id || !ROLES.contains(&claims.role.as_str()) {
        return Err(Error::Forbidden);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store(id: i64) -> tenant::Model {
        tenant::Model {
            id,
            slug: "s".into(),
            name: "S".into(),
            default_locale: "ru".into(),
            default_currency: "RUB".into(),
            created_at: chrono::Utc::now(),
            region_strategies: String::new(),
        }
    }

    #[test]
    fn tokens_verify_and_bind_to_their_store() {
        let keys = Keys::from_secret(&Secret::new("x".repeat(32)), 60);
        let t = keys.issue_staff(&store(7), "cli", "owner", None).unwrap();
        let c = keys.verify(&t).unwrap();
        assert!(require_staff(&c, 7).is_ok());
        assert!(matches!(require_staff(&c, 8), Err(Error::Forbidden)));
        let other = Keys::from_secret(&Secret::new("y".repeat(32)), 60);
        assert_eq!(other.verify(&t).unwrap_err().code(), "invalid_token");
    }

    #[test]
    fn expired_tokens_are_rejected_with_their_own_code() {
        let keys = Keys::from_secret(&Secret::new("x".repeat(32)), 60);
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: "a".into(),
            tid: 1,
            role: "owner".into(),
            iat: now - 100,
            exp: now - 10,
            typ: "access".into(),
        };
        let t = encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(&[b'x'; 32])).unwrap();
        assert_eq!(keys.verify(&t).unwrap_err().code(), "token_expired");
    }
}
