//! Accounts: customers of a store and staff of the deployment; registration by email
//! (confirmation link) or phone (SMS code), login by password or one-time code, sessions
//! with rotating refresh tokens, password reset, profile, and staff roles per store.
//!
//! [`Accounts`] holds what every flow needs (keys, hasher, code settings, rate limiter);
//! each flow takes the store's [`TenantCx`], so a customer of store A is never found
//! through store B, and answers with [`Session`] tokens bound to that store. Messages go
//! out through [`crate::notify`], queued in the same transaction as what they announce.
//!
//! Answers never reveal whether an email or phone has an account: registration of a taken
//! address, a reset for an unknown one and a code for a stranger all answer the same.

pub mod codes;
pub mod contact;
pub mod password;
pub mod sessions;
pub mod staff;

use crate::auth::{Keys, Kind, CUSTOMER};
use crate::config::{AuthConfig, Secret};
use crate::entity::account;
use crate::error::{Error, Result};
use crate::limits::Limiter;
use crate::notify::{self, Channel, Outgoing};
use crate::tenancy::TenantCx;
use codes::{Codes, Purpose};
use contact::Contact;
use sea_orm::{ActiveModelTrait, ColumnTrait, ConnectionTrait, QueryFilter, Set, TransactionTrait};
use serde::{Deserialize, Serialize};
pub use sessions::ClientMeta;
use std::sync::Arc;
use std::time::Duration;

/// `account.kind` of customers.
pub const KIND_CUSTOMER: &str = "customer";
/// `account.kind` of staff.
pub const KIND_STAFF: &str = "staff";
/// `account.realm` of staff accounts (customers' realm is their store's id).
pub const STAFF_REALM: i64 = 0;

/// The accounts service: configuration and shared state of every flow.
#[derive(Clone, Debug)]
pub struct Accounts {
    /// Token keys.
    pub keys: Keys,
    /// `[auth]` settings.
    pub cfg: AuthConfig,
    /// Password hashing.
    pub hasher: password::Hasher,
    /// One-time codes and links.
    pub codes: Codes,
    /// Rate limits.
    pub limiter: Arc<Limiter>,
}

/// A customer or staff account as its owner (or staff) sees it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct AccountView {
    /// Account id.
    pub id: i64,
    /// `customer` or `staff`.
    pub kind: String,
    /// Email, if any.
    pub email: Option<String>,
    /// Whether the email is confirmed.
    pub email_verified: bool,
    /// Phone (E.164), if any.
    pub phone: Option<String>,
    /// Whether the phone is confirmed.
    pub phone_verified: bool,
    /// Name.
    pub name: Option<String>,
    /// Preferred language (`ru`, `en`).
    pub locale: Option<String>,
    /// Whether a password is set (phone-only accounts may have none).
    pub has_password: bool,
    /// Staff: the role in this store.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Staff: a deployment superadmin.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub superadmin: bool,
    /// Created at.
    pub created_at: chrono::DateTime<chrono::Utc>,
}

impl AccountView {
    /// The view of a row.
    pub fn of(a: &account::Model, role: Option<String>) -> AccountView {
        AccountView {
            id: a.id,
            kind: a.kind.clone(),
            email: a.email.clone(),
            email_verified: a.email_verified_at.is_some(),
            phone: a.phone.clone(),
            phone_verified: a.phone_verified_at.is_some(),
            name: a.name.clone(),
            locale: a.locale.clone(),
            has_password: a.password_hash.is_some(),
            role,
            superadmin: a.is_superadmin,
            created_at: a.created_at,
        }
    }
}

/// Tokens after a login, a registration or a refresh.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct Session {
    /// Short-lived JWT for `Authorization: Bearer`.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds the access token is valid.
    pub expires_in: u64,
    /// Opaque token for `POST /auth/refresh`; single use.
    pub refresh_token: String,
    /// Seconds the refresh token is valid.
    pub refresh_expires_in: u64,
    /// Who logged in.
    pub account: AccountView,
}

/// Request context of an auth flow: the client and how to build links back to the store.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Client address and agent.
    pub meta: ClientMeta,
    /// Language for messages (`ru`, `en`).
    pub locale: String,
    /// `https://shop.ru` (links in emails point here).
    pub base_url: String,
}

/// Registration by email.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterEmail {
    /// Email address.
    pub email: String,
    /// Password.
    pub password: String,
    /// Name (optional).
    #[serde(default)]
    pub name: Option<String>,
}

/// Registration by phone, with the SMS code sent by `POST /auth/code`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct RegisterPhone {
    /// Phone number, any usual format.
    pub phone: String,
    /// The 6-digit code.
    pub code: String,
    /// Password (optional: phone accounts may log in by code only).
    #[serde(default)]
    pub password: Option<String>,
    /// Name (optional).
    #[serde(default)]
    pub name: Option<String>,
}

/// What a code is asked for.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum CodePurpose {
    /// Register with a phone.
    Register,
    /// Log in without a password.
    Login,
    /// Reset the password.
    Reset,
}

/// `POST /auth/code`.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeRequest {
    /// Phone or email.
    pub to: String,
    /// Why.
    pub purpose: CodePurpose,
}

/// Login with a password.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordLogin {
    /// Email or phone.
    pub login: String,
    /// Password.
    pub password: String,
}

/// Login with a one-time code.
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct CodeLogin {
    /// Email or phone the code was sent to.
    pub login: String,
    /// The 6-digit code.
    pub code: String,
}

/// Set a new password with a reset link token (email) or a code (phone or email).
#[derive(Clone, Debug, Deserialize, utoipa::ToSchema)]
pub struct ResetPassword {
    /// The token from the reset link.
    #[serde(default)]
    pub token: Option<String>,
    /// Email or phone, with `code`.
    #[serde(default)]
    pub login: Option<String>,
    /// The 6-digit code, with `login`.
    #[serde(default)]
    pub code: Option<String>,
    /// The new password.
    pub password: String,
}

/// Profile changes (absent fields stay as they are).
#[derive(Clone, Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileUpdate {
    /// New name (`""` clears it).
    #[serde(default)]
    pub name: Option<String>,
    /// New email: confirmed again through a link sent to it.
    #[serde(default)]
    pub email: Option<String>,
    /// New phone: confirmed again with a code sent to it (`POST /account/phone/confirm`).
    #[serde(default)]
    pub phone: Option<String>,
    /// Preferred language.
    #[serde(default)]
    pub locale: Option<String>,
    /// New password; needs `current_password` when one is set.
    #[serde(default)]
    pub password: Option<String>,
    /// The current password.
    #[serde(default)]
    pub current_password: Option<String>,
}

impl Accounts {
    /// The service from `[auth]`, the current signing secret and a limiter.
    pub fn new(cfg: &AuthConfig, secret: &Secret, limiter: Arc<Limiter>) -> Result<Accounts> {
        Ok(Accounts {
            keys: Keys::from_secret(secret, cfg.access_token_ttl_secs).with_previous(&cfg.jwt_previous_secrets),
            cfg: cfg.clone(),
            hasher: password::Hasher::new(cfg.argon2_memory_kib, cfg.argon2_iterations)?,
            codes: Codes::new(secret, cfg),
            limiter,
        })
    }

    /// The service of a deployment: its signing secret (configured or generated into the
    /// data directory) and a limiter in Redis when `redis.url` is set, else in memory.
    pub fn from_config(cfg: &crate::config::Config) -> Result<Accounts> {
        let limiter =
            if cfg.redis.url.is_empty() { Limiter::memory() } else { Limiter::redis(cfg.redis.url.expose())? };
        Accounts::new(&cfg.auth, &cfg.jwt_secret()?, Arc::new(limiter))
    }

    fn refresh_ttl(&self) -> chrono::Duration {
        chrono::Duration::seconds(self.cfg.refresh_token_ttl_secs as i64)
    }

    fn window(&self) -> Duration {
        Duration::from_secs(self.cfg.limits.window_secs)
    }

    /// Counts a login attempt from this client and for this login.
    pub async fn limit_login(&self, cx: &TenantCx, req: &Request, login: &str) -> Result<()> {
        let l = &self.cfg.limits;
        if let Some(ip) = &req.meta.ip {
            self.limiter.hit(&format!("login:ip:{ip}"), l.login_per_ip, self.window()).await?;
        }
        self.limiter.hit(&format!("login:{}:{login}", cx.id()), l.login_per_account, self.window()).await
    }

    /// Counts a code/link request from this client and for this target.
    pub async fn limit_codes(&self, cx: &TenantCx, req: &Request, target: &str) -> Result<()> {
        let l = &self.cfg.limits;
        if let Some(ip) = &req.meta.ip {
            self.limiter.hit(&format!("codes:ip:{ip}"), l.codes_per_ip, self.window()).await?;
        }
        self.limiter.hit(&format!("codes:{}:{target}", cx.id()), l.codes_per_account, self.window()).await
    }

    /// Hashes on the blocking pool (argon2 takes tens of milliseconds of CPU).
    pub async fn hash_password(&self, password: &str) -> Result<String> {
        let (h, p) = (self.hasher.clone(), password.to_string());
        tokio::task::spawn_blocking(move || h.hash(&p)).await.map_err(|e| Error::Internal(e.to_string()))?
    }

    /// Verifies on the blocking pool; `None` checks a dummy hash (same time, never true).
    pub async fn verify_password(&self, password: &str, phc: Option<&str>) -> Result<bool> {
        let (h, p, phc) = (self.hasher.clone(), password.to_string(), phc.map(str::to_string));
        tokio::task::spawn_blocking(move || h.verify(&p, phc.as_deref()))
            .await
            .map_err(|e| Error::Internal(e.to_string()))
    }

    /// Issues the tokens of a new session (customer).
    async fn open(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        a: &account::Model,
        req: &Request,
    ) -> Result<Session> {
        let refresh = sessions::start(cx, db, a.id, self.refresh_ttl(), &req.meta).await?;
        self.session(cx, a, refresh, None)
    }

    fn session(&self, cx: &TenantCx, a: &account::Model, refresh: String, role: Option<String>) -> Result<Session> {
        let (kind, role_name) = match &role {
            Some(r) => (Kind::Staff, r.as_str()),
            None => (Kind::Customer, CUSTOMER),
        };
        let access = self.keys.issue(cx.id(), &a.id.to_string(), kind, role_name, a.is_superadmin, None)?;
        Ok(Session {
            access_token: access,
            token_type: "Bearer",
            expires_in: self.keys.access_ttl_secs,
            refresh_token: refresh,
            refresh_expires_in: self.cfg.refresh_token_ttl_secs,
            account: AccountView::of(a, role),
        })
    }

    /// The customer with this email or phone in the store, if any.
    pub async fn customer_by(
        &self,
        cx: &TenantCx,
        db: &impl ConnectionTrait,
        c: &Contact,
    ) -> Result<Option<account::Model>> {
        let q = cx.select::<account::Entity>().filter(account::Column::Kind.eq(KIND_CUSTOMER));
        let q = match c {
            Contact::Email(e) => q.filter(account::Column::Email.eq(e.as_str())),
            Contact::Phone(p) => q.filter(account::Column::Phone.eq(p.as_str())),
        };
        Ok(q.filter(account::Column::Status.eq("active")).one(db).await?)
    }

    /// A customer of the store by id (active only).
    pub async fn customer(&self, cx: &TenantCx, id: i64) -> Result<account::Model> {
        cx.select::<account::Entity>()
            .filter(account::Column::Id.eq(id))
            .filter(account::Column::Kind.eq(KIND_CUSTOMER))
            .filter(account::Column::Status.eq("active"))
            .one(&cx.db)
            .await?
            .ok_or(Error::Unauthorized { reason: "invalid_token" })
    }

    fn message(cx: &TenantCx, to: &Contact, template: &str, locale: &str, payload: serde_json::Value) -> Outgoing {
        let mut payload = payload;
        if let Some(obj) = payload.as_object_mut() {
            obj.entry("store_name").or_insert_with(|| cx.tenant.name.clone().into());
        }
        Outgoing {
            tenant_id: Some(cx.id()),
            channel: to.channel(),
            recipient: to.value().to_string(),
            template: template.into(),
            locale: locale_of(locale),
            payload,
        }
    }

    /// Registers a customer by email: the account waits for the confirmation link sent to
    /// the address. A taken address gets a note instead ("you already have an account");
    /// the answer is the same either way.
    pub async fn register_email(&self, cx: &TenantCx, req: &Request, body: RegisterEmail) -> Result<()> {
        let mut p = crate::error::Problems::default();
        let email = p.absorb(contact::email("email", &body.email))?;
        let personal = [email.as_deref().unwrap_or("")];
        p.absorb(password::check("password", &body.password, self.cfg.password_min_length, &personal))?;
        let name = clean_name(&mut p, body.name.as_deref());
        p.finish()?;
        let email = email.unwrap_or_default();
        self.limit_codes(cx, req, &email).await?;
        // Hashed whether or not the address is taken: both answers take as long.
        let hash = self.hash_password(&body.password).await?;
        let to = Contact::Email(email.clone());
        let txn = cx.db.begin().await?;
        if self.customer_by(cx, &txn, &to).await?.is_some() {
            let link = format!("{}/account/login", req.base_url);
            notify::enqueue(
                &txn,
                Self::message(cx, &to, "already_registered", &req.locale, serde_json::json!({ "link": link })),
            )
            .await?;
        } else {
            let a = new_account(cx, Some(email.clone()), None, name, Some(hash), &req.locale).insert(&txn).await?;
            self.send_email_confirmation(cx, &txn, req, &a, &email).await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Queues the confirmation link for `email` of account `a` (in the caller's transaction).
    async fn send_email_confirmation(
        &self,
        cx: &TenantCx,
        txn: &impl ConnectionTrait,
        req: &Request,
        a: &account::Model,
        email: &str,
    ) -> Result<()> {
        let token = self.codes.issue_link(cx, txn, Some(a.id), Purpose::VerifyEmail, email).await?;
        let link = format!("{}/account/confirm?token={token}", req.base_url);
        let to = Contact::Email(email.to_string());
        let payload = serde_json::json!({ "link": link, "name": a.name });
        notify::enqueue(txn, Self::message(cx, &to, "email_confirm", &req.locale, payload)).await?;
        Ok(())
    }

    /// Confirms an email with the token from the link; logs the customer in.
    pub async fn confirm_email(&self, cx: &TenantCx, req: &Request, token: &str) -> Result<Session> {
        let txn = cx.db.begin().await?;
        let code = self.codes.take_link(cx, &txn, Purpose::VerifyEmail, token).await?;
        let a = match code.account_id {
            Some(id) => cx.select::<account::Entity>().filter(account::Column::Id.eq(id)).one(&txn).await?,
            None => None,
        };
        let Some(a) = a.filter(|a| a.status == "active") else {
            return Err(Error::Unauthorized { reason: "link_invalid" });
        };
        let first = a.email_verified_at.is_none() && a.phone_verified_at.is_none();
        let mut am: account::ActiveModel = a.clone().into();
        am.email = Set(Some(code.target.clone()));
        am.email_verified_at = Set(Some(chrono::Utc::now()));
        am.updated_at = Set(chrono::Utc::now());
        let a = match am.update(&txn).await {
            Ok(a) => a,
            // The address was taken by another account in the meantime.
            Err(e) if is_unique_violation(&e) => return Err(Error::Unauthorized { reason: "link_invalid" }),
            Err(e) => return Err(e.into()),
        };
        if first {
            let to = Contact::Email(code.target.clone());
            notify::enqueue(
                &txn,
                Self::message(cx, &to, "welcome", &req.locale, serde_json::json!({ "name": a.name })),
            )
            .await?;
        }
        let s = self.open(cx, &txn, &a, req).await?;
        txn.commit().await?;
        Ok(s)
    }

    /// Sends a one-time code (SMS for a phone, email for an address) for registration,
    /// login or a password reset. Answers the same whether or not an account exists; sends
    /// nothing where nothing can follow (a login code for a stranger).
    pub async fn request_code(&self, cx: &TenantCx, req: &Request, body: CodeRequest) -> Result<()> {
        let to = Contact::parse("to", &body.to)?;
        if body.purpose == CodePurpose::Register && matches!(to, Contact::Email(_)) {
            return Err(Error::invalid("to", "phone_required", "registration by code needs a phone number"));
        }
        self.limit_codes(cx, req, to.value()).await?;
        let txn = cx.db.begin().await?;
        let existing = self.customer_by(cx, &txn, &to).await?;
        let (purpose, account) = match body.purpose {
            // An existing phone gets a code too: registering with it simply logs in.
            CodePurpose::Register => (Purpose::Register, existing.as_ref().map(|a| a.id)),
            CodePurpose::Login | CodePurpose::Reset if existing.is_none() => {
                txn.commit().await?;
                return Ok(());
            }
            CodePurpose::Login => (Purpose::Login, existing.as_ref().map(|a| a.id)),
            CodePurpose::Reset => (Purpose::Reset, existing.as_ref().map(|a| a.id)),
        };
        let code = self.codes.issue_code(cx, &txn, account, purpose, to.channel(), to.value()).await?;
        let template = match to {
            Contact::Phone(_) => "phone_code",
            Contact::Email(_) => "email_code",
        };
        notify::enqueue(
            &txn,
            Self::message(
                cx,
                &to,
                template,
                &req.locale,
                serde_json::json!({ "code": code, "purpose": purpose.as_str() }),
            ),
        )
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Registers (or, for a phone that has an account, logs in) with the SMS code.
    pub async fn register_phone(&self, cx: &TenantCx, req: &Request, body: RegisterPhone) -> Result<(Session, bool)> {
        let phone = contact::phone("phone", &body.phone)?;
        let mut p = crate::error::Problems::default();
        if let Some(pw) = &body.password {
            p.absorb(password::check("password", pw, self.cfg.password_min_length, &[&phone]))?;
        }
        let name = clean_name(&mut p, body.name.as_deref());
        p.finish()?;
        self.limit_login(cx, req, &phone).await?;
        self.codes.check_code(cx, Purpose::Register, &phone, &body.code).await?;
        let hash = match &body.password {
            Some(pw) => Some(self.hash_password(pw).await?),
            None => None,
        };
        let to = Contact::Phone(phone.clone());
        let txn = cx.db.begin().await?;
        if let Some(a) = self.customer_by(cx, &txn, &to).await? {
            let a = verified_phone(&txn, a).await?;
            let s = self.open(cx, &txn, &a, req).await?;
            txn.commit().await?;
            return Ok((s, false));
        }
        let mut am = new_account(cx, None, Some(phone.clone()), name, hash, &req.locale);
        am.phone_verified_at = Set(Some(chrono::Utc::now()));
        let a = am.insert(&txn).await?;
        notify::enqueue(&txn, Self::message(cx, &to, "welcome", &req.locale, serde_json::json!({ "name": a.name })))
            .await?;
        let s = self.open(cx, &txn, &a, req).await?;
        txn.commit().await?;
        Ok((s, true))
    }

    /// Logs a customer in with email or phone and password.
    pub async fn login_password(&self, cx: &TenantCx, req: &Request, body: PasswordLogin) -> Result<Session> {
        let bad = || Error::Unauthorized { reason: "invalid_credentials" };
        let login = Contact::parse("login", &body.login).map_err(|_| bad())?;
        self.limit_login(cx, req, login.value()).await?;
        if body.password.chars().count() > password::MAX_LENGTH {
            return Err(bad());
        }
        let a = self.customer_by(cx, &cx.db, &login).await?;
        let ok = self.verify_password(&body.password, a.as_ref().and_then(|a| a.password_hash.as_deref())).await?;
        let a = a.filter(|_| ok).ok_or_else(bad)?;
        let verified = match login {
            Contact::Email(_) => a.email_verified_at.is_some(),
            Contact::Phone(_) => a.phone_verified_at.is_some(),
        };
        if !verified {
            return Err(Error::Unauthorized { reason: "not_verified" });
        }
        let txn = cx.db.begin().await?;
        let s = self.open(cx, &txn, &a, req).await?;
        txn.commit().await?;
        Ok(s)
    }

    /// Logs a customer in with a one-time code sent to the email or phone.
    pub async fn login_code(&self, cx: &TenantCx, req: &Request, body: CodeLogin) -> Result<Session> {
        let login = Contact::parse("login", &body.login)?;
        self.limit_login(cx, req, login.value()).await?;
        self.codes.check_code(cx, Purpose::Login, login.value(), &body.code).await?;
        let txn = cx.db.begin().await?;
        let a = self.customer_by(cx, &txn, &login).await?.ok_or(Error::Unauthorized { reason: "code_invalid" })?;
        // The code proves the contact.
        let a = match login {
            Contact::Phone(_) => verified_phone(&txn, a).await?,
            Contact::Email(_) if a.email_verified_at.is_none() => {
                let mut am: account::ActiveModel = a.into();
                am.email_verified_at = Set(Some(chrono::Utc::now()));
                am.update(&txn).await?
            }
            Contact::Email(_) => a,
        };
        let s = self.open(cx, &txn, &a, req).await?;
        txn.commit().await?;
        Ok(s)
    }

    /// Exchanges a refresh token for new tokens (customers and staff).
    pub async fn refresh(&self, cx: &TenantCx, req: &Request, token: &str) -> Result<Session> {
        let (row, next) = sessions::rotate(cx, token, self.refresh_ttl(), &req.meta).await?;
        let a = active_by_id(&cx.db, row.account_id).await?;
        let Some(a) = a else {
            sessions::revoke_family(cx, &row.family).await?;
            return Err(Error::Unauthorized { reason: "invalid_refresh" });
        };
        if a.kind == KIND_STAFF {
            // The role is read again: a removed role ends the session.
            match staff::role_in(cx, &a).await? {
                Some(role) => return self.session(cx, &a, next, Some(role)),
                None => {
                    sessions::revoke_family(cx, &row.family).await?;
                    return Err(Error::Unauthorized { reason: "invalid_refresh" });
                }
            }
        }
        if a.tenant_id != Some(cx.id()) {
            return Err(Error::Unauthorized { reason: "invalid_refresh" });
        }
        self.session(cx, &a, next, None)
    }

    /// Starts a password reset: a link to an email, a code to a phone. Same answer for
    /// unknown addresses (nothing is sent to them).
    pub async fn request_reset(&self, cx: &TenantCx, req: &Request, login: &str) -> Result<()> {
        let to = Contact::parse("login", login)?;
        if matches!(to, Contact::Phone(_)) {
            return self.request_code(cx, req, CodeRequest { to: login.into(), purpose: CodePurpose::Reset }).await;
        }
        self.limit_codes(cx, req, to.value()).await?;
        let txn = cx.db.begin().await?;
        if let Some(a) = self.customer_by(cx, &txn, &to).await? {
            let token = self.codes.issue_link(cx, &txn, Some(a.id), Purpose::Reset, to.value()).await?;
            let link = format!("{}/account/reset?token={token}", req.base_url);
            notify::enqueue(
                &txn,
                Self::message(cx, &to, "password_reset_link", &req.locale, serde_json::json!({ "link": link })),
            )
            .await?;
        }
        txn.commit().await?;
        Ok(())
    }

    /// Sets a new password with a reset link token or a reset code; ends every session
    /// and tells the owner.
    pub async fn reset_password(&self, cx: &TenantCx, req: &Request, body: ResetPassword) -> Result<()> {
        // The new password is checked before the link or code is used up, so a refused
        // password can be corrected with the same link.
        let account_of = |code: &crate::entity::verification_code::Model| code.account_id;
        let (code, contact) = match (&body.token, &body.login, &body.code) {
            (Some(t), _, _) => {
                let row = self.codes.peek_link(cx, &cx.db, Purpose::Reset, t).await?;
                let c = Contact::Email(row.target.clone());
                password::check("password", &body.password, self.cfg.password_min_length, &[&row.target])?;
                (self.codes.consume(cx, &cx.db, row).await?, c)
            }
            (None, Some(login), Some(code)) => {
                let to = Contact::parse("login", login)?;
                password::check("password", &body.password, self.cfg.password_min_length, &[to.value()])?;
                self.limit_login(cx, req, to.value()).await?;
                (self.codes.check_code(cx, Purpose::Reset, to.value(), code).await?, to)
            }
            _ => return Err(Error::invalid("token", "required", "give the link token, or login and code")),
        };
        let a = match account_of(&code) {
            Some(id) => cx.select::<account::Entity>().filter(account::Column::Id.eq(id)).one(&cx.db).await?,
            None => None,
        };
        let a = a.filter(|a| a.status == "active").ok_or(Error::Unauthorized { reason: "link_invalid" })?;
        let hash = self.hash_password(&body.password).await?;
        let txn = cx.db.begin().await?;
        let mut am: account::ActiveModel = a.clone().into();
        am.password_hash = Set(Some(hash));
        am.updated_at = Set(chrono::Utc::now());
        // The reset proves the contact it went to.
        match contact {
            Contact::Email(_) if a.email_verified_at.is_none() => am.email_verified_at = Set(Some(chrono::Utc::now())),
            Contact::Phone(_) if a.phone_verified_at.is_none() => am.phone_verified_at = Set(Some(chrono::Utc::now())),
            _ => {}
        }
        am.update(&txn).await?;
        sessions::revoke_all(cx, &txn, a.id).await?;
        notify::enqueue(&txn, Self::message(cx, &contact, "password_changed", &req.locale, serde_json::json!({})))
            .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Updates the profile of customer `id`. A changed email or phone is stored unconfirmed
    /// and a link or code goes to it; a new password needs the current one (if any) and
    /// ends the other sessions.
    pub async fn update_profile(
        &self,
        cx: &TenantCx,
        req: &Request,
        id: i64,
        body: ProfileUpdate,
    ) -> Result<AccountView> {
        let a = self.customer(cx, id).await?;
        let mut p = crate::error::Problems::default();
        let email = match body.email.as_deref() {
            Some(e) => p.absorb(contact::email("email", e))?,
            None => None,
        };
        let phone = match body.phone.as_deref() {
            Some(ph) => p.absorb(contact::phone("phone", ph))?,
            None => None,
        };
        let name = match body.name.as_deref() {
            Some("") => Some(None),
            Some(n) => Some(clean_name(&mut p, Some(n))),
            None => None,
        };
        if let Some(l) = &body.locale {
            if !matches!(l.as_str(), "ru" | "en") {
                p.push("locale", "invalid_locale", "must be ru or en");
            }
        }
        if let Some(pw) = &body.password {
            let personal: Vec<&str> = [a.email.as_deref(), a.phone.as_deref()].into_iter().flatten().collect();
            p.absorb(password::check("password", pw, self.cfg.password_min_length, &personal))?;
        }
        p.finish()?;
        let mut new_hash = None;
        if let Some(pw) = &body.password {
            if a.password_hash.is_some() {
                let current = body.current_password.as_deref().unwrap_or("");
                self.limit_login(cx, req, &format!("account:{}", a.id)).await?;
                if !self.verify_password(current, a.password_hash.as_deref()).await? {
                    return Err(Error::invalid("current_password", "wrong_password", "is not your current password"));
                }
            }
            new_hash = Some(self.hash_password(pw).await?);
        }
        let txn = cx.db.begin().await?;
        let mut am: account::ActiveModel = a.clone().into();
        if let Some(n) = name {
            am.name = Set(n);
        }
        if let Some(l) = &body.locale {
            am.locale = Set(Some(l.clone()));
        }
        if let Some(e) = email.filter(|e| a.email.as_deref() != Some(e.as_str())) {
            self.taken(cx, &txn, &Contact::Email(e.clone()), a.id).await?;
            // Unconfirmed until the link sent to the new address is opened.
            self.send_email_confirmation(cx, &txn, req, &a, &e).await?;
            if a.email.is_none() || a.email_verified_at.is_none() {
                am.email = Set(Some(e));
                am.email_verified_at = Set(None);
            }
        }
        if let Some(ph) = phone.filter(|ph| a.phone.as_deref() != Some(ph.as_str())) {
            self.taken(cx, &txn, &Contact::Phone(ph.clone()), a.id).await?;
            am.phone = Set(Some(ph.clone()));
            am.phone_verified_at = Set(None);
            let code = self.codes.issue_code(cx, &txn, Some(a.id), Purpose::VerifyPhone, Channel::Sms, &ph).await?;
            let to = Contact::Phone(ph);
            notify::enqueue(
                &txn,
                Self::message(
                    cx,
                    &to,
                    "phone_code",
                    &req.locale,
                    serde_json::json!({ "code": code, "purpose": "verify" }),
                ),
            )
            .await?;
        }
        if let Some(h) = new_hash {
            am.password_hash = Set(Some(h));
            sessions::revoke_all(cx, &txn, a.id).await?;
            let to = match (&a.email, &a.phone) {
                (Some(e), _) => Contact::Email(e.clone()),
                (None, Some(p)) => Contact::Phone(p.clone()),
                (None, None) => Contact::Email(String::new()),
            };
            if !to.value().is_empty() {
                notify::enqueue(&txn, Self::message(cx, &to, "password_changed", &req.locale, serde_json::json!({})))
                    .await?;
            }
        }
        am.updated_at = Set(chrono::Utc::now());
        let a = match am.update(&txn).await {
            Ok(a) => a,
            Err(e) if is_unique_violation(&e) => {
                return Err(Error::Validation(vec![crate::error::FieldError::new(
                    "email",
                    "contact_taken",
                    "is used by another account",
                )]))
            }
            Err(e) => return Err(e.into()),
        };
        txn.commit().await?;
        Ok(AccountView::of(&a, None))
    }

    /// Fails with `contact_taken` when another account of the store has `c`.
    async fn taken(&self, cx: &TenantCx, db: &impl ConnectionTrait, c: &Contact, me: i64) -> Result<()> {
        if let Some(other) = self.customer_by(cx, db, c).await? {
            if other.id != me {
                let field = match c {
                    Contact::Email(_) => "email",
                    Contact::Phone(_) => "phone",
                };
                return Err(Error::invalid(field, "contact_taken", "is used by another account"));
            }
        }
        Ok(())
    }

    /// Confirms a changed phone with the code sent to it.
    pub async fn confirm_phone(&self, cx: &TenantCx, req: &Request, id: i64, code: &str) -> Result<AccountView> {
        let a = self.customer(cx, id).await?;
        let phone = a.phone.clone().ok_or_else(|| Error::invalid("phone", "required", "the account has no phone"))?;
        self.limit_login(cx, req, &phone).await?;
        self.codes.check_code(cx, Purpose::VerifyPhone, &phone, code).await?;
        let a = verified_phone(&cx.db, a).await?;
        Ok(AccountView::of(&a, None))
    }

    /// Deletes customer `id`: personal data erased (email, phone, name, password), the row
    /// kept anonymous so orders still point at it; every session ends.
    pub async fn delete_account(&self, cx: &TenantCx, id: i64) -> Result<()> {
        let a = self.customer(cx, id).await?;
        let txn = cx.db.begin().await?;
        let now = chrono::Utc::now();
        let mut am: account::ActiveModel = a.clone().into();
        am.email = Set(None);
        am.email_verified_at = Set(None);
        am.phone = Set(None);
        am.phone_verified_at = Set(None);
        am.name = Set(None);
        am.password_hash = Set(None);
        am.status = Set("deleted".into());
        am.deleted_at = Set(Some(now));
        am.updated_at = Set(now);
        am.update(&txn).await?;
        sessions::revoke_all(cx, &txn, a.id).await?;
        cx.delete_where::<crate::entity::verification_code::Entity>(
            crate::entity::verification_code::Column::AccountId.eq(a.id),
        )
        .exec(&txn)
        .await?;
        txn.commit().await?;
        Ok(())
    }

    /// Ends every session of customer `id` in the store; returns how many.
    pub async fn logout_all(&self, cx: &TenantCx, id: i64) -> Result<u64> {
        sessions::revoke_all(cx, &cx.db, id).await
    }
}

/// A new active customer row of the store (not inserted).
fn new_account(
    cx: &TenantCx,
    email: Option<String>,
    phone: Option<String>,
    name: Option<String>,
    hash: Option<String>,
    locale: &str,
) -> account::ActiveModel {
    let now = chrono::Utc::now();
    account::ActiveModel {
        tenant_id: Set(Some(cx.id())),
        realm: Set(cx.id()),
        kind: Set(KIND_CUSTOMER.into()),
        email: Set(email),
        phone: Set(phone),
        name: Set(name),
        password_hash: Set(hash),
        locale: Set(Some(locale_of(locale))),
        is_superadmin: Set(false),
        status: Set("active".into()),
        created_at: Set(now),
        updated_at: Set(now),
        ..Default::default()
    }
}

async fn verified_phone(db: &impl ConnectionTrait, a: account::Model) -> Result<account::Model> {
    if a.phone_verified_at.is_some() {
        return Ok(a);
    }
    let mut am: account::ActiveModel = a.into();
    am.phone_verified_at = Set(Some(chrono::Utc::now()));
    am.updated_at = Set(chrono::Utc::now());
    Ok(am.update(db).await?)
}

/// A trimmed name of at most 200 characters, or a problem.
fn clean_name(p: &mut crate::error::Problems, name: Option<&str>) -> Option<String> {
    let n = name?.trim();
    if n.is_empty() {
        return None;
    }
    if n.chars().count() > 200 || n.chars().any(char::is_control) {
        p.push("name", "invalid_name", "must be at most 200 characters, without control characters");
        return None;
    }
    Some(n.to_string())
}

/// `ru` or `en` (anything else: `ru`, the first-class locale).
pub fn locale_of(l: &str) -> String {
    match l {
        "en" => "en".into(),
        _ => "ru".into(),
    }
}

/// Whether a database error is a unique-key violation.
pub(crate) fn is_unique_violation(e: &sea_orm::DbErr) -> bool {
    matches!(e.sql_err(), Some(sea_orm::SqlErr::UniqueConstraintViolation(_)))
}

/// An active account by id. Not tenant-scoped: used only with ids read through the
/// store (its own sessions), and staff accounts are the deployment's, not a store's.
async fn active_by_id(db: &impl ConnectionTrait, id: i64) -> Result<Option<account::Model>> {
    use sea_orm::EntityTrait;
    Ok(account::Entity::find_by_id(id).filter(account::Column::Status.eq("active")).one(db).await?)
}
