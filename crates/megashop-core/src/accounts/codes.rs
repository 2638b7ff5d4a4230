//! One-time secrets: 6-digit codes (SMS, email) and link tokens (email confirmation,
//! password reset, staff invitations).
//!
//! Only a keyed hash is stored: HMAC-SHA256 under a key derived from the deployment's
//! signing secret for codes (a million possible codes would otherwise be guessed from a
//! stolen table), SHA-256 for 256-bit link tokens. A code expires (5 minutes by default),
//! is used once, and locks after a few wrong tries; asking for a new one voids the old.
//! Every code belongs to the store it was asked for (staff codes too: to the store whose
//! host they were asked on), and is found only through that store's [`TenantCx`].

use crate::entity::verification_code;
use crate::error::{Error, Result};
use crate::tenancy::TenantCx;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::Rng;
use sea_orm::sea_query::Expr;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, QueryOrder, Set};
use sha2::{Digest, Sha256};

/// What a code or link is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// Confirm an email address (registration or a changed address).
    VerifyEmail,
    /// Confirm a changed phone number.
    VerifyPhone,
    /// Register with a phone number.
    Register,
    /// Log in without a password.
    Login,
    /// Reset a forgotten password.
    Reset,
    /// Set the password of a staff account someone invited.
    Invite,
    /// Reset a staff member's forgotten password.
    StaffReset,
}

impl Purpose {
    /// The name stored in `verification_code.purpose` and passed to templates.
    pub fn as_str(self) -> &'static str {
        match self {
            Purpose::VerifyEmail => "verify_email",
            Purpose::VerifyPhone => "verify_phone",
            Purpose::Register => "register",
            Purpose::Login => "login",
            Purpose::Reset => "reset",
            Purpose::Invite => "invite",
            Purpose::StaffReset => "staff_reset",
        }
    }
}

/// Where codes are kept and how they are checked.
#[derive(Clone)]
pub struct Codes {
    pepper: Vec<u8>,
    /// Lifetime of a code.
    pub code_ttl: chrono::Duration,
    /// Lifetime of a link.
    pub link_ttl: chrono::Duration,
    /// Wrong tries before a code locks.
    pub max_attempts: u32,
}

impl std::fmt::Debug for Codes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Codes").field("max_attempts", &self.max_attempts).finish_non_exhaustive()
    }
}

fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Codes {
    /// Codes keyed by `secret` (the JWT signing secret; a separate key is derived from it).
    pub fn new(secret: &crate::config::Secret, cfg: &crate::config::AuthConfig) -> Codes {
        let mut h = Sha256::new();
        h.update(b"megashop verification codes\0");
        h.update(secret.expose().as_bytes());
        Codes {
            pepper: h.finalize().to_vec(),
            code_ttl: chrono::Duration::seconds(cfg.code_ttl_secs as i64),
            link_ttl: chrono::Duration::seconds(cfg.link_ttl_secs as i64),
            max_attempts: cfg.code_max_attempts,
        }
    }

    fn code_hash(&self, purpose: Purpose, target: &str, code: &str) -> String {
        // HMAC accepts keys of any length, so this cannot fail.
        let mut mac = match <Hmac<Sha256> as Mac>::new_from_slice(&self.pepper) {
            Ok(m) => m,
            Err(_) => return String::new(),
        };
        mac.update(purpose.as_str().as_bytes());
        mac.update(b"\0");
        mac.update(target.as_bytes());
        mac.update(b"\0");
        mac.update(code.as_bytes());
        hex(&mac.finalize().into_bytes())
    }

    /// The stored form of a link token.
    pub fn link_hash(token: &str) -> String {
        hex(&Sha256::digest(token.as_bytes()))
    }

    /// Voids unused codes of `purpose` for `target` in the store.
    async fn void(&self, cx: &TenantCx, db: &impl ConnectionTrait, purpose: Purpose, target: &str) -> Result<()> {
        cx.update_many::<verification_code::Entity>()
            .col_expr(verification_code::Column::UsedAt, Expr::value(chrono::Utc::now()))
            .filter(verification_code::Column::Target.eq(target))
            .filter(verification_code::Column::Purpose.eq(purpose.as_str()))
            .filter(verification_code::Column::UsedAt.is_null())
            .exec(db)
            .await?;
        Ok(())
    }

    /// Issues a 6-digit code for `target` (an E.164 phone or an email) of `account` (when
    /// one is known), voiding earlier unused ones; returns the code to send. Run it in the
    /// transaction that queues the message.
    pub async fn issue_code(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        account: Option<i64>,
        purpose: Purpose,
        channel: crate::notify::Channel,
        target: &str,
    ) -> Result<String> {
        self.void(cx, db, purpose, target).await?;
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
        let hash = self.code_hash(purpose, target, &code);
        self.insert(cx, db, account, purpose, channel, target, hash, self.code_ttl).await?;
        Ok(code)
    }

    /// Issues a link token (43 URL-safe characters) for `target`, voiding earlier ones.
    pub async fn issue_link(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        account: Option<i64>,
        purpose: Purpose,
        target: &str,
    ) -> Result<String> {
        self.void(cx, db, purpose, target).await?;
        let bytes: [u8; 32] = rand::thread_rng().gen();
        let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
        let hash = Self::link_hash(&token);
        self.insert(cx, db, account, purpose, crate::notify::Channel::Email, target, hash, self.link_ttl).await?;
        Ok(token)
    }

    #[allow(clippy::too_many_arguments)]
    async fn insert(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        account: Option<i64>,
        purpose: Purpose,
        channel: crate::notify::Channel,
        target: &str,
        hash: String,
        ttl: chrono::Duration,
    ) -> Result<()> {
        let now = chrono::Utc::now();
        verification_code::ActiveModel {
            tenant_id: Set(Some(cx.id())),
            account_id: Set(account),
            purpose: Set(purpose.as_str().into()),
            channel: Set(channel.as_str().into()),
            target: Set(target.into()),
            secret_hash: Set(hash),
            attempts: Set(0),
            created_at: Set(now),
            expires_at: Set(now + ttl),
            ..Default::default()
        }
        .insert(db)
        .await?;
        Ok(())
    }

    /// Checks `code` for `target` and uses it up. Wrong codes count (on `db` directly, so
    /// the count survives the caller's rollback): `code_invalid`, then `code_locked`;
    /// `code_expired` after its lifetime. All are 401s that say nothing about accounts.
    pub async fn check_code(
        &self,
        cx: &TenantCx,
        purpose: Purpose,
        target: &str,
        code: &str,
    ) -> Result<verification_code::Model> {
        let db = &cx.db;
        let invalid = Error::Unauthorized { reason: "code_invalid" };
        let row = cx
            .select::<verification_code::Entity>()
            .filter(verification_code::Column::Target.eq(target))
            .filter(verification_code::Column::Purpose.eq(purpose.as_str()))
            .filter(verification_code::Column::UsedAt.is_null())
            .order_by_desc(verification_code::Column::Id)
            .one(db)
            .await?;
        let Some(row) = row else { return Err(invalid) };
        if row.attempts as u32 >= self.max_attempts {
            return Err(Error::Unauthorized { reason: "code_locked" });
        }
        if row.expires_at <= chrono::Utc::now() {
            return Err(Error::Unauthorized { reason: "code_expired" });
        }
        let given = code.trim();
        let ok = given.len() == 6
            && given.bytes().all(|b| b.is_ascii_digit())
            && ct_eq(self.code_hash(purpose, target, given).as_bytes(), row.secret_hash.as_bytes());
        if !ok {
            cx.update_many::<verification_code::Entity>()
                .col_expr(verification_code::Column::Attempts, Expr::col(verification_code::Column::Attempts).add(1))
                .filter(verification_code::Column::Id.eq(row.id))
                .exec(db)
                .await?;
            if row.attempts as u32 + 1 >= self.max_attempts {
                return Err(Error::Unauthorized { reason: "code_locked" });
            }
            return Err(invalid);
        }
        used(cx, db, row).await
    }

    /// The unused, unexpired link `token` of `purpose`, without using it up (to check the
    /// rest of a request first); `link_invalid` otherwise.
    pub async fn peek_link(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        purpose: Purpose,
        token: &str,
    ) -> Result<verification_code::Model> {
        let invalid = || Error::Unauthorized { reason: "link_invalid" };
        if token.len() > 100 {
            return Err(invalid());
        }
        let row = cx
            .select::<verification_code::Entity>()
            .filter(verification_code::Column::SecretHash.eq(Self::link_hash(token.trim())))
            .filter(verification_code::Column::Purpose.eq(purpose.as_str()))
            .one(db)
            .await?
            .ok_or_else(invalid)?;
        if row.used_at.is_some() || row.expires_at <= chrono::Utc::now() {
            return Err(invalid());
        }
        Ok(row)
    }

    /// Uses up a row [`Codes::peek_link`] returned; `link_invalid` if someone was first.
    pub async fn consume(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        row: verification_code::Model,
    ) -> Result<verification_code::Model> {
        used(cx, db, row).await.map_err(|_| Error::Unauthorized { reason: "link_invalid" })
    }

    /// Finds the unused, unexpired link `token` of `purpose` and uses it up; `link_invalid`
    /// otherwise.
    pub async fn take_link(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        purpose: Purpose,
        token: &str,
    ) -> Result<verification_code::Model> {
        let row = self.peek_link(cx, db, purpose, token).await?;
        self.consume(cx, db, row).await
    }
}

/// Marks `row` used, exactly once even under concurrent requests.
async fn used(
    cx: &TenantCx,
    db: &impl ConnectionTrait,
    row: verification_code::Model,
) -> Result<verification_code::Model> {
    let res = cx
        .update_many::<verification_code::Entity>()
        .col_expr(verification_code::Column::UsedAt, Expr::value(chrono::Utc::now()))
        .filter(verification_code::Column::Id.eq(row.id))
        .filter(verification_code::Column::UsedAt.is_null())
        .exec(db)
        .await?;
    if res.rows_affected != 1 {
        return Err(Error::Unauthorized { reason: "code_invalid" });
    }
    Ok(row)
}
