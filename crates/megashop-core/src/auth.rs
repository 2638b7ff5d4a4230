//! Access tokens (JWT, HS256, with key ids) and the rules for who may do what in a store.
//!
//! Two kinds of people hold tokens: **customers** of one store and **staff** (a deployment
//! account with a role in a store, or a superadmin). A token always names the store it was
//! issued for (`tid`); the server accepts it only on that store's hosts. What a staff role
//! may do is decided here, in [`allows`], and nowhere else.
//!
//! Keys: the current secret signs; earlier secrets (`auth.jwt_previous_secrets`) still
//! verify the tokens they signed. Every token carries the id of its key (`kid`, derived
//! from the secret), so a rotation does not log anyone out.

use crate::config::Secret;
use crate::entity::tenant;
use crate::error::{Error, Result};
use jsonwebtoken::{decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// Staff roles in a store, most powerful first.
pub const ROLES: [&str; 4] = ["owner", "manager", "content", "support"];

/// The role name customers' tokens carry.
pub const CUSTOMER: &str = "customer";

/// Something a staff member may be allowed to do in a store.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Permission {
    /// See the catalogue as staff do (drafts, archived products).
    CatalogRead,
    /// Create, change and delete products, categories, price types, warehouses.
    CatalogWrite,
    /// Run imports and exports.
    Import,
    /// Write content: blocks, blog, pages.
    ContentWrite,
    /// See orders.
    OrdersRead,
    /// Change orders (status, items).
    OrdersWrite,
    /// See customers.
    CustomersRead,
    /// Store settings: regions, delivery methods, domains.
    Settings,
    /// Add and remove staff, change their roles.
    StaffManage,
    /// Set up integrations (plugins): their settings, credentials, schedules and runs.
    Integrations,
}

impl Permission {
    /// Every permission (for the role matrix in docs and tests).
    pub const ALL: [Permission; 10] = [
        Permission::CatalogRead,
        Permission::CatalogWrite,
        Permission::Import,
        Permission::ContentWrite,
        Permission::OrdersRead,
        Permission::OrdersWrite,
        Permission::CustomersRead,
        Permission::Settings,
        Permission::StaffManage,
        Permission::Integrations,
    ];
}

/// Whether staff `role` has `perm`. The one place the role matrix lives:
///
/// | role | may |
/// |---|---|
/// | owner | everything (the only role that sets up integrations: they hold credentials) |
/// | manager | catalogue, import/export, orders, customers (read) |
/// | content | content; catalogue (read) |
/// | support | orders and customers (read); catalogue (read) |
pub fn allows(role: &str, perm: Permission) -> bool {
    use Permission::*;
    match role {
        "owner" => true,
        "manager" => matches!(perm, CatalogRead | CatalogWrite | Import | OrdersRead | OrdersWrite | CustomersRead),
        "content" => matches!(perm, CatalogRead | ContentWrite),
        "support" => matches!(perm, CatalogRead | OrdersRead | CustomersRead),
        _ => false,
    }
}

/// Who holds a token.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Staff (tokens issued before accounts existed are staff tokens).
    #[default]
    Staff,
    /// A customer of the store.
    Customer,
}

/// What an access token says.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Claims {
    /// Who: an account id, or a label such as `cli` for tokens made by `megashop token create`.
    pub sub: String,
    /// Store id the token is valid for.
    pub tid: i64,
    /// Staff role in that store, or `customer`.
    pub role: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expires at (unix seconds).
    pub exp: i64,
    /// Token kind; only `access` is accepted by the API.
    pub typ: String,
    /// Staff or customer.
    #[serde(default)]
    pub knd: Kind,
    /// A deployment superadmin (every permission in every store).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub sa: bool,
}

impl Claims {
    /// The account id, when the subject is one.
    pub fn account_id(&self) -> Option<i64> {
        self.sub.parse().ok()
    }

    /// Whether these (verified) claims grant `perm` in store `tenant_id`.
    pub fn may(&self, tenant_id: i64, perm: Permission) -> bool {
        self.knd == Kind::Staff && self.tid == tenant_id && (self.sa || allows(&self.role, perm))
    }
}

/// One key: its id and the HMAC keys.
#[derive(Clone)]
struct Key {
    kid: String,
    enc: EncodingKey,
    dec: DecodingKey,
}

impl Key {
    fn new(secret: &Secret) -> Key {
        Key {
            kid: key_id(secret),
            enc: EncodingKey::from_secret(secret.expose().as_bytes()),
            dec: DecodingKey::from_secret(secret.expose().as_bytes()),
        }
    }
}

/// The id of a signing secret: the first 16 hex digits of its SHA-256 (reveals nothing
/// useful about a 32-byte secret, and tells keys apart).
pub fn key_id(secret: &Secret) -> String {
    let d = Sha256::digest(secret.expose().as_bytes());
    d.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

/// Signing and verification keys.
#[derive(Clone)]
pub struct Keys {
    current: Key,
    previous: Vec<Key>,
    /// Default lifetime of access tokens, seconds.
    pub access_ttl_secs: u64,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys")
            .field("kid", &self.current.kid)
            .field("previous", &self.previous.len())
            .field("access_ttl_secs", &self.access_ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Keys {
    /// HS256 keys from one shared secret.
    pub fn from_secret(secret: &Secret, access_ttl_secs: u64) -> Keys {
        Keys { current: Key::new(secret), previous: Vec::new(), access_ttl_secs }
    }

    /// The current secret plus earlier ones that still verify.
    pub fn with_previous(mut self, previous: &[Secret]) -> Keys {
        self.previous = previous.iter().map(Key::new).filter(|k| k.kid != self.current.kid).collect();
        self
    }

    /// The id of the signing key.
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    fn sign(&self, claims: &Claims) -> Result<String> {
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(self.current.kid.clone());
        encode(&header, claims, &self.current.enc).map_err(|e| Error::Internal(format!("signing: {e}")))
    }

    /// Issues a staff access token for `store` (CLI tokens and staff logins).
    pub fn issue_staff(
        &self,
        store: &tenant::Model,
        subject: &str,
        role: &str,
        ttl_secs: Option<u64>,
    ) -> Result<String> {
        if !ROLES.contains(&role) {
            return Err(Error::invalid("role", "invalid_role", "must be owner, manager, content or support"));
        }
        self.issue(store.id, subject, Kind::Staff, role, false, ttl_secs)
    }

    /// Issues an access token.
    pub fn issue(
        &self,
        tenant_id: i64,
        subject: &str,
        kind: Kind,
        role: &str,
        superadmin: bool,
        ttl_secs: Option<u64>,
    ) -> Result<String> {
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            tid: tenant_id,
            role: role.to_string(),
            iat: now,
            exp: now + ttl_secs.unwrap_or(self.access_ttl_secs) as i64,
            typ: "access".into(),
            knd: kind,
            sa: superadmin,
        };
        self.sign(&claims)
    }

    /// Verifies signature (HS256 only: `alg: none` and other algorithms are refused) and
    /// expiry (no leeway) and returns the claims.
    pub fn verify(&self, token: &str) -> Result<Claims> {
        let invalid = || Error::Unauthorized { reason: "invalid_token" };
        let header = decode_header(token).map_err(|_| invalid())?;
        if header.alg != Algorithm::HS256 {
            return Err(invalid());
        }
        let key = match header.kid.as_deref() {
            Some(kid) if kid == self.current.kid => &self.current,
            Some(kid) => match self.previous.iter().find(|k| k.kid == kid) {
                Some(k) => k,
                None => return Err(invalid()),
            },
            // Tokens from before key ids: only the current key.
            None => &self.current,
        };
        let mut v = Validation::new(Algorithm::HS256);
        v.leeway = 0;
        v.set_required_spec_claims(&["exp", "sub"]);
        match decode::<Claims>(token, &key.dec, &v) {
            Ok(data) if data.claims.typ == "access" => Ok(data.claims),
            Ok(_) => Err(invalid()),
            Err(e) => match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => {
                    Err(Error::Unauthorized { reason: "token_expired" })
                }
                _ => Err(invalid()),
            },
        }
    }
}

/// Checks that verified `claims` grant `perm` in store `tenant_id`: a token of another
/// store, a customer token, or a role without the permission is [`Error::Forbidden`].
pub fn require(claims: &Claims, tenant_id: i64, perm: Permission) -> Result<()> {
    if claims.may(tenant_id, perm) {
        Ok(())
    } else {
        Err(Error::Forbidden)
    }
}

/// Checks that verified `claims` are a staff token of store `tenant_id` with any role.
pub fn require_staff(claims: &Claims, tenant_id: i64) -> Result<()> {
    if claims.knd != Kind::Staff || claims.tid != tenant_id || !(claims.sa || ROLES.contains(&claims.role.as_str())) {
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
            knd: Kind::Staff,
            sa: false,
        };
        let t = keys.sign(&claims).unwrap();
        assert_eq!(keys.verify(&t).unwrap_err().code(), "token_expired");
    }

    #[test]
    fn rotated_keys_still_verify_what_they_signed_and_unknown_key_ids_do_not() {
        let old = Secret::new("o".repeat(40));
        let new = Secret::new("n".repeat(40));
        let before = Keys::from_secret(&old, 60);
        let t = before.issue(3, "9", Kind::Customer, CUSTOMER, false, None).unwrap();
        let after = Keys::from_secret(&new, 60).with_previous(std::slice::from_ref(&old));
        let c = after.verify(&t).unwrap();
        assert_eq!((c.tid, c.knd, c.account_id()), (3, Kind::Customer, Some(9)));
        // Dropping the old secret ends its tokens.
        assert_eq!(Keys::from_secret(&new, 60).verify(&t).unwrap_err().code(), "invalid_token");
        assert_ne!(before.kid(), after.kid());
    }

    #[test]
    fn alg_none_and_tampered_tokens_are_refused() {
        use base64::Engine;
        let keys = Keys::from_secret(&Secret::new("x".repeat(32)), 60);
        let t = keys.issue_staff(&store(1), "1", "support", None).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        // Same claims, `alg: none`, no signature.
        let none = format!("{}.{}.", b64.encode(br#"{"alg":"none","typ":"JWT"}"#), parts[1]);
        assert_eq!(keys.verify(&none).unwrap_err().code(), "invalid_token");
        // Role raised in the payload, signature kept.
        let mut payload: serde_json::Value = serde_json::from_slice(&b64.decode(parts[1]).unwrap()).unwrap();
        payload["role"] = "owner".into();
        let forged = format!("{}.{}.{}", parts[0], b64.encode(payload.to_string()), parts[2]);
        assert_eq!(keys.verify(&forged).unwrap_err().code(), "invalid_token");
        assert_eq!(keys.verify("not a token").unwrap_err().code(), "invalid_token");
    }

    #[test]
    fn the_role_matrix_gives_each_role_what_it_needs_and_no_more() {
        use Permission::*;
        for p in Permission::ALL {
            assert!(allows("owner", p));
            assert!(!allows("customer", p));
            assert!(!allows("", p));
        }
        assert!(allows("manager", Import) && allows("manager", CatalogWrite) && allows("manager", OrdersWrite));
        assert!(!allows("manager", StaffManage) && !allows("manager", Settings) && !allows("manager", ContentWrite));
        for role in ["manager", "content", "support"] {
            assert!(!allows(role, Integrations), "{role} must not see integration credentials");
        }
        assert!(allows("content", ContentWrite) && !allows("content", CatalogWrite) && !allows("content", OrdersRead));
        assert!(allows("support", OrdersRead) && allows("support", CustomersRead));
        assert!(!allows("support", OrdersWrite) && !allows("support", CatalogWrite) && !allows("support", Import));
        let keys = Keys::from_secret(&Secret::new("x".repeat(32)), 60);
        let c = keys.verify(&keys.issue(5, "1", Kind::Customer, CUSTOMER, false, None).unwrap()).unwrap();
        assert!(!c.may(5, CatalogRead), "customers are not staff");
        let sa = keys.verify(&keys.issue(5, "2", Kind::Staff, "support", true, None).unwrap()).unwrap();
        assert!(sa.may(5, StaffManage) && !sa.may(6, StaffManage), "a superadmin token is still for one store");
    }
}
