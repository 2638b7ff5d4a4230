//! Accounts end to end over HTTP: a real server on a real database (SQLite, or PostgreSQL
//! with `MEGASHOP_TEST_PG_URL`), emails through a fake SMTP server and SMS through a fake
//! prostor-sms server on 127.0.0.1, read back the way a person reads them.

mod common;

use common::TestServer;
use megashop_core::config::Secret;
use megashop_test_support::fake_mail::FakeSmtp;
use megashop_test_support::fake_sms::FakeSms;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};
use std::time::Duration;

struct World {
    s: TestServer,
    mail: FakeSmtp,
    sms: FakeSms,
}

async fn world_with(configure: impl FnOnce(&mut megashop_core::config::Config)) -> World {
    let mail = FakeSmtp::start().await;
    let sms = FakeSms::start("shop-login", "shop-password").await;
    let (port, base) = (mail.port(), sms.base_url());
    let s = TestServer::start_with(move |c| {
        c.notify.email.provider = "smtp".into();
        c.notify.email.from = "Магазин <shop@a.test>".into();
        c.notify.email.smtp.host = "127.0.0.1".into();
        c.notify.email.smtp.port = port;
        c.notify.email.smtp.tls = "none".into();
        c.notify.sms.provider = "prostor".into();
        c.notify.sms.prostor.base_url = base;
        c.notify.sms.prostor.login = "shop-login".into();
        c.notify.sms.prostor.password = Secret::new("shop-password");
        c.notify.poll_interval_ms = 50;
        configure(c);
    })
    .await;
    World { s, mail, sms }
}

async fn world() -> World {
    world_with(|_| {}).await
}

/// Waits (up to 10 s) for `f` to return something: messages go out from a worker.
async fn eventually<T>(what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    for _ in 0..500 {
        if let Some(v) = f() {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {what}");
}

fn token_of(link: &str) -> String {
    link.split("token=").nth(1).expect("a token in the link").split('&').next().unwrap().to_string()
}

impl World {
    async fn anon(&self, host: &str, path: &str, body: Value) -> common::Resp {
        self.s.call(Method::POST, host, path, None, Some(body)).await
    }

    async fn get_as(&self, host: &str, path: &str, token: &str) -> common::Resp {
        self.s.call(Method::GET, host, path, Some(token), None).await
    }

    /// Registers `email` and confirms it through the mailed link; returns the session.
    async fn customer(&self, host: &str, email: &str, password: &str) -> Value {
        let r = self.anon(host, "/api/v1/auth/register", json!({"email": email, "password": password})).await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
        let link = eventually("the confirmation email", || self.mail.last_link_for(email)).await;
        let r = self.anon(host, "/api/v1/auth/confirm-email", json!({"token": token_of(&link)})).await;
        assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
        r.body
    }
}

#[tokio::test]
async fn a_customer_registers_by_email_confirms_logs_in_refreshes_and_logs_out() {
    let w = world().await;
    w.s.store("a", "a.test").await;

    let r = w
        .anon(
            "a.test",
            "/api/v1/auth/register",
            json!({"email": " Anna@Mail.RU ", "password": "Лес-2026-тихий", "name": "Анна"}),
        )
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::ACCEPTED, Some("sent")), "{:?}", r.body);
    // Not confirmed yet: the password alone does not let her in.
    let r =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "anna@mail.ru", "password": "Лес-2026-тихий"})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "not_verified"));

    // The store's language is Russian: so is the letter.
    let mail = eventually("the confirmation email", || w.mail.last_to("anna@mail.ru")).await;
    assert!(mail.subject.contains("Подтвердите") || mail.body.contains("подтверд"), "{} / {}", mail.subject, mail.body);
    let link = w.mail.last_link_for("anna@mail.ru").unwrap();
    assert!(link.starts_with("https://a.test/account/confirm?token="), "{link}");
    let s = w.anon("a.test", "/api/v1/auth/confirm-email", json!({"token": token_of(&link)})).await;
    assert_eq!(s.status, StatusCode::OK, "{:?}", s.body);
    assert_eq!(s.body["account"]["email"], "anna@mail.ru");
    assert_eq!(s.body["account"]["email_verified"], true);
    assert_eq!(s.body["account"]["name"], "Анна");
    assert_eq!(s.body["token_type"], "Bearer");
    assert!(s.body["expires_in"].as_u64().unwrap() <= 900);
    // A link works once.
    let again = w.anon("a.test", "/api/v1/auth/confirm-email", json!({"token": token_of(&link)})).await;
    assert_eq!((again.status, again.code()), (StatusCode::UNAUTHORIZED, "link_invalid"));
    // And a welcome note follows.
    eventually("the welcome email", || {
        w.mail.messages().iter().filter(|m| m.to.iter().any(|t| t == "anna@mail.ru")).nth(1).cloned()
    })
    .await;

    let access = s.body["access_token"].as_str().unwrap().to_string();
    let me = w.get_as("a.test", "/api/v1/account", &access).await;
    assert_eq!((me.status, me.body["email"].as_str()), (StatusCode::OK, Some("anna@mail.ru")));
    assert!(me.body.get("password_hash").is_none());

    let login =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "ANNA@mail.ru", "password": "Лес-2026-тихий"})).await;
    assert_eq!(login.status, StatusCode::OK, "{:?}", login.body);
    let wrong =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "anna@mail.ru", "password": "Лес-2026-тихиЙ"})).await;
    assert_eq!((wrong.status, wrong.code()), (StatusCode::UNAUTHORIZED, "invalid_credentials"));
    let nobody =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "nobody@mail.ru", "password": "Лес-2026-тихий"})).await;
    assert_eq!((nobody.status, nobody.code()), (StatusCode::UNAUTHORIZED, "invalid_credentials"), "same answer");

    // Refresh rotates; the used token presented again ends the whole session family.
    let r1 = login.body["refresh_token"].as_str().unwrap().to_string();
    let next = w.anon("a.test", "/api/v1/auth/refresh", json!({"refresh_token": r1})).await;
    assert_eq!(next.status, StatusCode::OK, "{:?}", next.body);
    let r2 = next.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(r1, r2);
    let reuse = w.anon("a.test", "/api/v1/auth/refresh", json!({"refresh_token": r1})).await;
    assert_eq!((reuse.status, reuse.code()), (StatusCode::UNAUTHORIZED, "refresh_reused"));
    let after = w.anon("a.test", "/api/v1/auth/refresh", json!({"refresh_token": r2})).await;
    assert_eq!((after.status, after.code()), (StatusCode::UNAUTHORIZED, "invalid_refresh"), "the family is revoked");

    // Logout ends one session; logout-all ends the others.
    let other =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "anna@mail.ru", "password": "Лес-2026-тихий"})).await;
    let third =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "anna@mail.ru", "password": "Лес-2026-тихий"})).await;
    let out = w.anon("a.test", "/api/v1/auth/logout", json!({"refresh_token": other.body["refresh_token"]})).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT);
    let r = w.anon("a.test", "/api/v1/auth/refresh", json!({"refresh_token": other.body["refresh_token"]})).await;
    assert_eq!(r.code(), "invalid_refresh");
    let all =
        w.s.call(
            Method::POST,
            "a.test",
            "/api/v1/auth/logout-all",
            Some(third.body["access_token"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(all.status, StatusCode::NO_CONTENT);
    let r = w.anon("a.test", "/api/v1/auth/refresh", json!({"refresh_token": third.body["refresh_token"]})).await;
    assert_eq!(r.code(), "invalid_refresh");
    w.s.stop().await;
}

#[tokio::test]
async fn registering_a_taken_email_answers_the_same_and_tells_the_owner_instead() {
    let w = world().await;
    w.s.store("a", "a.test").await;
    w.customer("a.test", "boris@mail.ru", "Гора-у-реки-7").await;
    let before = w.mail.messages().len();
    let r = w
        .anon("a.test", "/api/v1/auth/register", json!({"email": "boris@mail.ru", "password": "Другой-пароль-1"}))
        .await;
    assert_eq!((r.status, r.body["status"].as_str()), (StatusCode::ACCEPTED, Some("sent")));
    let note = eventually("the note", || w.mail.messages().get(before).cloned()).await;
    assert!(note.to.iter().any(|t| t == "boris@mail.ru"));
    assert!(!note.body.contains("confirm?token="), "no confirmation link for a taken address");
    // The password was not changed by the second attempt.
    let r =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "boris@mail.ru", "password": "Гора-у-реки-7"})).await;
    assert_eq!(r.status, StatusCode::OK);

    // Bad input: every field at once, localized.
    let r =
        w.s.raw(
            Method::POST,
            "a.test",
            "/api/v1/auth/register",
            None,
            Some(json!({"email": "boris", "password": "qwerty123"}).to_string()),
            &[("accept-language", "ru")],
        )
        .await;
    assert_eq!((r.status, r.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    let fields: Vec<(&str, &str)> = r.body["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap(), f["code"].as_str().unwrap()))
        .collect();
    assert_eq!(fields, vec![("email", "invalid_email"), ("password", "password_too_common")]);
    assert!(r.body["error"]["message"].as_str().unwrap().contains("поля"), "{:?}", r.body);
    w.s.stop().await;
}

#[tokio::test]
async fn a_customer_registers_by_phone_with_the_sms_code_and_codes_lock_after_five_wrong_tries() {
    let w = world().await;
    w.s.store("a", "a.test").await;
    let r = w.anon("a.test", "/api/v1/auth/code", json!({"to": "8 (916) 123-45-67", "purpose": "register"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{:?}", r.body);
    let sms = eventually("the SMS", || w.sms.last_to("+79161234567")).await;
    assert_eq!((sms.login.as_str(), sms.password.as_str()), ("shop-login", "shop-password"));
    let code = w.sms.last_code_for("+79161234567").unwrap();
    assert!(sms.text.starts_with(&code) || sms.text.contains(&code), "{}", sms.text);

    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = w.anon("a.test", "/api/v1/auth/register/phone", json!({"phone": "+7 916 123-45-67", "code": wrong})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "code_invalid"));
    let r = w
        .anon("a.test", "/api/v1/auth/register/phone", json!({"phone": "+79161234567", "code": code, "name": "Пётр"}))
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{:?}", r.body);
    assert_eq!(r.body["account"]["phone"], "+79161234567");
    assert_eq!(r.body["account"]["phone_verified"], true);
    assert_eq!(r.body["account"]["has_password"], false);
    // Used once.
    let r = w.anon("a.test", "/api/v1/auth/register/phone", json!({"phone": "+79161234567", "code": code})).await;
    assert_eq!(r.code(), "code_invalid");

    // Login by code; five wrong tries lock the code, even the right one afterwards.
    let r = w.anon("a.test", "/api/v1/auth/code", json!({"to": "+79161234567", "purpose": "login"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let code = eventually("the login SMS", || w.sms.last_code_for("+79161234567").filter(|c| *c != code)).await;
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let mut codes = vec![];
    for _ in 0..5 {
        codes.push(
            w.anon("a.test", "/api/v1/auth/login/code", json!({"login": "89161234567", "code": wrong}))
                .await
                .code()
                .to_string(),
        );
    }
    assert_eq!(codes, ["code_invalid", "code_invalid", "code_invalid", "code_invalid", "code_locked"]);
    let r = w.anon("a.test", "/api/v1/auth/login/code", json!({"login": "89161234567", "code": code})).await;
    assert_eq!((r.status, r.code()), (StatusCode::UNAUTHORIZED, "code_locked"));

    // A login code for a stranger: same answer, no SMS.
    let calls = w.sms.calls();
    let r = w.anon("a.test", "/api/v1/auth/code", json!({"to": "+79990000000", "purpose": "login"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(w.sms.calls(), calls);
    w.s.stop().await;
}

#[tokio::test]
async fn password_reset_by_link_and_by_sms_code_ends_every_session_and_is_announced() {
    let w = world().await;
    w.s.store("a", "a.test").await;
    let s = w.customer("a.test", "vera@mail.ru", "Старый-пароль-1").await;
    let r = w.anon("a.test", "/api/v1/auth/password/forgot", json!({"login": "vera@mail.ru"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let link =
        eventually("the reset link", || w.mail.last_link_for("vera@mail.ru").filter(|l| l.contains("/account/reset")))
            .await;
    let r = w
        .anon("a.test", "/api/v1/auth/password/reset", json!({"token": token_of(&link), "password": "123456789"}))
        .await;
    assert_eq!(r.code(), "validation_failed", "a common password is refused and the link kept");
    let r = w
        .anon("a.test", "/api/v1/auth/password/reset", json!({"token": token_of(&link), "password": "Новый-пароль-2"}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r = w.anon("a.test", "/api/v1/auth/refresh", json!({"refresh_token": s["refresh_token"]})).await;
    assert_eq!(r.code(), "invalid_refresh", "sessions end with the reset");
    let r =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "vera@mail.ru", "password": "Старый-пароль-1"})).await;
    assert_eq!(r.code(), "invalid_credentials");
    let r =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "vera@mail.ru", "password": "Новый-пароль-2"})).await;
    assert_eq!(r.status, StatusCode::OK);
    // Confirmation, welcome, reset link, and "your password was changed".
    let changed = eventually("the password-changed email", || {
        let all: Vec<_> = w.mail.messages().into_iter().filter(|m| m.to.iter().any(|t| t == "vera@mail.ru")).collect();
        (all.len() >= 4).then(|| all[3].clone())
    })
    .await;
    assert!(
        megashop_test_support::fake_mail::first_link(&changed.body).is_none_or(|l| !l.contains("token=")),
        "no live link in it"
    );

    // By SMS code: a phone account.
    w.anon("a.test", "/api/v1/auth/code", json!({"to": "+79160000001", "purpose": "register"})).await;
    let code = eventually("the SMS", || w.sms.last_code_for("+79160000001")).await;
    let r = w
        .anon(
            "a.test",
            "/api/v1/auth/register/phone",
            json!({"phone": "+79160000001", "code": code, "password": "Первый-пароль-3"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED);
    let r = w.anon("a.test", "/api/v1/auth/password/forgot", json!({"login": "+79160000001"})).await;
    assert_eq!(r.status, StatusCode::ACCEPTED);
    let reset = eventually("the reset SMS", || w.sms.last_code_for("+79160000001").filter(|c| *c != code)).await;
    let r = w
        .anon(
            "a.test",
            "/api/v1/auth/password/reset",
            json!({"login": "+79160000001", "code": reset, "password": "Второй-пароль-4"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{:?}", r.body);
    let r =
        w.anon("a.test", "/api/v1/auth/login", json!({"login": "+79160000001", "password": "Второй-пароль-4"})).await;
    assert_eq!(r.status, StatusCode::OK);
    eventually("the password-changed SMS", || {
        let n = w.sms.messages().iter().filter(|m| m.phone == "+79160000001").count();
        (n >= 3).then_some(())
    })
    .await;
    w.s.stop().await;
}

#[tokio::test]
async fn the_profile_changes_re_verify_contacts_and_a_deleted_account_is_anonymised() {
    let w = world().await;
    w.s.store("a", "a.test").await;
    let s = w.customer("a.test", "gleb@mail.ru", "Сосны-и-ели-5").await;
    let t = s["access_token"].as_str().unwrap().to_string();
    let r = w.s.patch("a.test", "/api/v1/account", &t, json!({"name": "Глеб", "phone": "8 916 555-44-33"})).await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    assert_eq!(
        (r.body["name"].as_str(), r.body["phone"].as_str(), r.body["phone_verified"].as_bool()),
        (Some("Глеб"), Some("+79165554433"), Some(false))
    );
    let code = eventually("the SMS", || w.sms.last_code_for("+79165554433")).await;
    let r = w.s.post("a.test", "/api/v1/account/phone/confirm", &t, json!({"code": code})).await;
    assert_eq!((r.status, r.body["phone_verified"].as_bool()), (StatusCode::OK, Some(true)), "{:?}", r.body);

    // A new email stays pending until its link is opened; the old one keeps working.
    let r = w.s.patch("a.test", "/api/v1/account", &t, json!({"email": "gleb.new@mail.ru"})).await;
    assert_eq!((r.status, r.body["email"].as_str()), (StatusCode::OK, Some("gleb@mail.ru")));
    let link = eventually("the link", || w.mail.last_link_for("gleb.new@mail.ru")).await;
    let r = w.anon("a.test", "/api/v1/auth/confirm-email", json!({"token": token_of(&link)})).await;
    assert_eq!((r.status, r.body["account"]["email"].as_str()), (StatusCode::OK, Some("gleb.new@mail.ru")));

    // A new password needs the current one.
    let r =
        w.s.patch("a.test", "/api/v1/account", &t, json!({"password": "Новый-пароль-6", "current_password": "не тот"}))
            .await;
    assert_eq!(
        (r.status, r.body["error"]["details"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("wrong_password"))
    );
    let r =
        w.s.patch(
            "a.test",
            "/api/v1/account",
            &t,
            json!({"password": "Новый-пароль-6", "current_password": "Сосны-и-ели-5"}),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{:?}", r.body);
    let r = w.s.patch("a.test", "/api/v1/account", &t, json!({"role": "owner"})).await;
    assert_eq!(
        (r.status, r.code()),
        (StatusCode::BAD_REQUEST, "invalid_json"),
        "unknown fields are refused: {:?}",
        r.body
    );

    let r = w.s.delete("a.test", "/api/v1/account", &t).await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let r = w.get_as("a.test", "/api/v1/account", &t).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "the access token's account is gone");
    let r = w
        .anon("a.test", "/api/v1/auth/login", json!({"login": "gleb.new@mail.ru", "password": "Новый-пароль-6"}))
        .await;
    assert_eq!(r.code(), "invalid_credentials");
    use sea_orm::EntityTrait;
    let row = megashop_core::entity::account::Entity::find_by_id(s["account"]["id"].as_i64().unwrap())
        .one(&w.s.db.conn)
        .await
        .unwrap()
        .expect("the row stays for the orders that point at it");
    assert_eq!(row.status, "deleted");
    assert!(row.email.is_none() && row.phone.is_none() && row.name.is_none() && row.password_hash.is_none(), "{row:?}");
    w.s.stop().await;
}
