//! The notification queue against a real database (SQLite file, or PostgreSQL when
//! `MEGASHOP_TEST_PG_URL` is set) and fake SMTP and prostor-sms servers on 127.0.0.1.

use chrono::{TimeDelta, Utc};
use megashop_core::config::{Config, Secret};
use megashop_core::entity::notification_job;
use megashop_core::notify::{self, Channel, NotifyConfig, Outgoing, Senders};
use megashop_core::Error;
use megashop_test_support::fake_mail::FakeSmtp;
use megashop_test_support::fake_sms::FakeSms;
use megashop_test_support::TestDb;
use sea_orm::{ActiveModelTrait, DatabaseConnection, EntityTrait, PaginatorTrait, Set, TransactionTrait, Unchanged};
use serde_json::json;
use std::time::Duration;

const SMS_LOGIN: &str = "shop-login";
const SMS_PASSWORD: &str = "sms-s3cret";

struct Rig {
    db: TestDb,
    smtp: FakeSmtp,
    sms: FakeSms,
    cfg: NotifyConfig,
    senders: Senders,
}

impl Rig {
    async fn new() -> Rig {
        Rig::with(|_| {}).await
    }

    async fn with(tweak: impl FnOnce(&mut NotifyConfig)) -> Rig {
        let db = TestDb::new().await;
        let smtp = FakeSmtp::start().await;
        let sms = FakeSms::start(SMS_LOGIN, SMS_PASSWORD).await;
        let mut cfg = NotifyConfig::default();
        cfg.email.provider = "smtp".into();
        cfg.email.from = "Лавка <shop@megashop.test>".into();
        cfg.email.smtp.host = "127.0.0.1".into();
        cfg.email.smtp.port = smtp.port();
        cfg.email.smtp.tls = "none".into();
        cfg.sms.provider = "prostor".into();
        cfg.sms.prostor.base_url = sms.base_url();
        cfg.sms.prostor.login = SMS_LOGIN.into();
        cfg.sms.prostor.password = Secret::new(SMS_PASSWORD);
        cfg.sms.prostor.sender = Some("Megashop".into());
        tweak(&mut cfg);
        assert_eq!(cfg.validate(), vec![], "the test configuration is valid");
        let senders = Senders::from_config(&cfg).unwrap();
        Rig { db, smtp, sms, cfg, senders }
    }

    fn conn(&self) -> &DatabaseConnection {
        &self.db.conn
    }

    async fn send_due(&self) -> usize {
        notify::send_due(self.conn(), &self.senders).await.unwrap()
    }

    async fn job(&self, id: i64) -> notification_job::Model {
        notification_job::Entity::find_by_id(id).one(self.conn()).await.unwrap().expect("job row")
    }

    /// Pretends the backoff delay has passed.
    async fn make_due(&self, id: i64) {
        notification_job::ActiveModel {
            id: Unchanged(id),
            next_attempt_at: Set(Utc::now() - TimeDelta::seconds(1)),
            ..Default::default()
        }
        .update(self.conn())
        .await
        .unwrap();
    }

    async fn set_lock(&self, id: i64, until: chrono::DateTime<Utc>) {
        notification_job::ActiveModel { id: Unchanged(id), locked_until: Set(Some(until)), ..Default::default() }
            .update(self.conn())
            .await
            .unwrap();
    }
}

fn email(to: &str, template: &str, locale: &str, payload: serde_json::Value) -> Outgoing {
    Outgoing {
        tenant_id: None,
        channel: Channel::Email,
        recipient: to.into(),
        template: template.into(),
        locale: locale.into(),
        payload,
    }
}

fn sms(to: &str, template: &str, locale: &str, payload: serde_json::Value) -> Outgoing {
    Outgoing { channel: Channel::Sms, ..email(to, template, locale, payload) }
}

fn code_email(to: &str) -> Outgoing {
    email(to, "email_code", "ru", json!({"code": "482913", "store_name": "Лавка", "purpose": "login"}))
}

#[tokio::test]
async fn emails_and_sms_are_rendered_and_delivered() {
    let rig = Rig::new().await;
    let db = rig.conn();
    let ru_mail = notify::enqueue(db, code_email("anna@example.test")).await.unwrap();
    let link = "https://corner.test/confirm?token=Zm9vYmFy";
    let en_mail = notify::enqueue(
        db,
        email(
            "bob@example.test",
            "email_confirm",
            "en",
            json!({"link": link, "store_name": "Corner Shop", "name": "Bob"}),
        ),
    )
    .await
    .unwrap();
    let ru_sms = notify::enqueue(
        db,
        sms(
            "+79161234567",
            "phone_code",
            "ru",
            json!({"code": "735104", "store_name": "Лавка", "purpose": "register"}),
        ),
    )
    .await
    .unwrap();
    let en_sms = notify::enqueue(
        db,
        sms(
            "+447700900123",
            "phone_code",
            "en-GB",
            json!({"code": "218406", "store_name": "Corner Shop", "purpose": "login"}),
        ),
    )
    .await
    .unwrap();

    assert_eq!(rig.send_due().await, 4);

    // Russian email: subject and body decoded from whatever encoding lettre chose.
    let anna = rig.smtp.last_to("anna@example.test").expect("email to anna");
    assert_eq!(anna.from, "shop@megashop.test");
    assert!(!anna.raw.contains("Лавка"), "lettre encodes Russian text; the fake decodes it:\n{}", anna.raw);
    assert_eq!(anna.subject, "Код для входа в магазин «Лавка»");
    assert!(anna.body.contains("Код для входа в магазин «Лавка»: 482913"), "{}", anna.body);
    assert!(anna.body.contains("Никому не сообщайте этот код"), "{}", anna.body);
    assert_eq!(rig.smtp.last_code_for("anna@example.test").as_deref(), Some("482913"));

    let bob = rig.smtp.last_to("bob@example.test").expect("email to bob");
    assert_eq!(bob.subject, "Confirm your email for Corner Shop");
    assert!(bob.body.starts_with("Hello, Bob!"), "{}", bob.body);
    assert_eq!(rig.smtp.last_link_for("bob@example.test").as_deref(), Some(link));
    assert_eq!(rig.smtp.messages().len(), 2);

    // SMS: the code first, our credentials, our job id as clientId, the sender name.
    let ru = rig.sms.last_to("+79161234567").expect("SMS to the Russian number");
    assert_eq!(ru.text, "735104 — код для регистрации в «Лавка». Никому его не сообщайте.");
    assert_eq!((ru.login.as_str(), ru.password.as_str()), (SMS_LOGIN, SMS_PASSWORD));
    assert_eq!(ru.client_id, ru_sms.to_string());
    assert_eq!(ru.sender.as_deref(), Some("Megashop"));
    assert_eq!(rig.sms.last_code_for("+79161234567").as_deref(), Some("735104"));
    let en = rig.sms.last_to("+447700900123").expect("SMS to the British number");
    assert_eq!(en.text, "218406 is your Corner Shop sign-in code. Do not share it with anyone.");
    assert_eq!(en.client_id, en_sms.to_string());

    for id in [ru_mail, en_mail, ru_sms, en_sms] {
        let job = rig.job(id).await;
        assert_eq!(job.status, "sent");
        assert_eq!(job.attempts, 1);
        assert!(job.sent_at.is_some());
        assert_eq!(job.locked_until, None);
        assert_eq!(job.last_error, None);
    }
    // Nothing is sent twice.
    assert_eq!(rig.send_due().await, 0);
    assert_eq!(rig.sms.messages().len(), 2);
}

#[tokio::test]
async fn payload_with_the_code_is_wiped_after_sending() {
    let rig = Rig::new().await;
    let id = notify::enqueue(rig.conn(), code_email("anna@example.test")).await.unwrap();
    assert!(rig.job(id).await.payload.contains("482913"));
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!(job.status, "sent");
    assert_eq!(job.payload, "{}");
    // The row stays as a record of what was sent to whom.
    assert_eq!((job.recipient.as_str(), job.template.as_str()), ("anna@example.test", "email_code"));
}

#[tokio::test]
async fn temporary_smtp_failures_are_retried_with_backoff() {
    let rig = Rig::new().await;
    rig.smtp.fail_next(2, 451);
    let id = notify::enqueue(rig.conn(), code_email("anna@example.test")).await.unwrap();

    let before = Utc::now();
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("pending", 1));
    assert!(job.last_error.as_deref().unwrap_or("").contains("451"), "{:?}", job.last_error);
    assert_eq!(job.locked_until, None);
    let delay = job.next_attempt_at - before;
    assert!(delay >= TimeDelta::seconds(4) && delay <= TimeDelta::seconds(7), "first retry after {delay}");
    // Not due yet: nothing happens.
    assert_eq!(rig.send_due().await, 0);

    rig.make_due(id).await;
    let before = Utc::now();
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("pending", 2));
    let delay = job.next_attempt_at - before;
    assert!(delay >= TimeDelta::seconds(9) && delay <= TimeDelta::seconds(12), "second retry after {delay}");
    assert!(rig.smtp.messages().is_empty());

    rig.make_due(id).await;
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("sent", 3));
    assert_eq!(job.last_error, None);
    assert_eq!(rig.smtp.messages().len(), 1);
    assert_eq!(rig.smtp.last_code_for("anna@example.test").as_deref(), Some("482913"));
}

#[tokio::test]
async fn sms_outage_and_missing_credit_are_retried() {
    let rig = Rig::new().await;
    let id = notify::enqueue(
        rig.conn(),
        sms("+79161234567", "phone_code", "ru", json!({"code": "735104", "store_name": "Лавка", "purpose": "login"})),
    )
    .await
    .unwrap();

    rig.sms.fail_next_with_http_500(1);
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("pending", 1));
    assert!(job.last_error.as_deref().unwrap_or("").contains("500"), "{:?}", job.last_error);

    rig.make_due(id).await;
    rig.sms.fail_next_with_no_credits(1);
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("pending", 2));
    let error = job.last_error.unwrap_or_default();
    assert!(error.contains("not enough credits"), "{error}");
    assert!(!error.contains(SMS_PASSWORD), "no secret in last_error: {error}");

    rig.make_due(id).await;
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("sent", 3));
    assert_eq!(rig.sms.calls(), 3);
    assert_eq!(rig.sms.messages().len(), 1);
}

#[tokio::test]
async fn a_job_gives_up_after_max_attempts() {
    let rig = Rig::with(|cfg| cfg.max_attempts = 2).await;
    rig.smtp.fail_next(10, 421);
    let id = notify::enqueue(rig.conn(), code_email("anna@example.test")).await.unwrap();
    assert_eq!(rig.send_due().await, 1);
    assert_eq!(rig.job(id).await.status, "pending");
    rig.make_due(id).await;
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.attempts), ("failed", 2));
    rig.make_due(id).await;
    assert_eq!(rig.send_due().await, 0, "a failed job is never tried again");
}

#[tokio::test]
async fn permanent_failures_fail_at_once() {
    let rig = Rig::new().await;
    let bad_phone = notify::enqueue(
        rig.conn(),
        sms("+7000", "phone_code", "ru", json!({"code": "735104", "store_name": "Лавка", "purpose": "login"})),
    )
    .await
    .unwrap();
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(bad_phone).await;
    assert_eq!((job.status.as_str(), job.attempts), ("failed", 1));
    assert!(job.last_error.as_deref().unwrap_or("").contains("invalid mobile phone"), "{:?}", job.last_error);
    assert_eq!(job.payload, "{}", "a given-up job keeps no code");
    assert_eq!(rig.sms.calls(), 1);
    assert!(rig.sms.messages().is_empty());

    rig.smtp.fail_next(1, 550);
    let rejected = notify::enqueue(rig.conn(), code_email("nobody@example.test")).await.unwrap();
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(rejected).await;
    assert_eq!((job.status.as_str(), job.attempts), ("failed", 1));
    assert!(job.last_error.as_deref().unwrap_or("").contains("550"), "{:?}", job.last_error);
}

#[tokio::test]
async fn a_missing_payload_key_fails_the_job_not_the_worker() {
    let rig = Rig::new().await;
    let no_code = notify::enqueue(
        rig.conn(),
        sms("+79161234567", "phone_code", "ru", json!({"store_name": "Лавка", "purpose": "login"})),
    )
    .await
    .unwrap();
    let unknown =
        notify::enqueue(rig.conn(), email("a@example.test", "no_such_template", "ru", json!({}))).await.unwrap();
    let fine = notify::enqueue(rig.conn(), code_email("anna@example.test")).await.unwrap();
    assert_eq!(rig.send_due().await, 3);

    let job = rig.job(no_code).await;
    assert_eq!((job.status.as_str(), job.attempts), ("failed", 1));
    assert!(job.last_error.as_deref().unwrap_or("").contains("\"code\""), "{:?}", job.last_error);
    let job = rig.job(unknown).await;
    assert_eq!(job.status, "failed");
    assert!(job.last_error.as_deref().unwrap_or("").contains("no_such_template"), "{:?}", job.last_error);
    assert_eq!(rig.job(fine).await.status, "sent");
    assert_eq!(rig.sms.calls(), 0);
}

#[tokio::test]
async fn a_job_whose_lock_expired_is_taken_again() {
    let rig = Rig::new().await;
    let id = notify::enqueue(rig.conn(), code_email("anna@example.test")).await.unwrap();

    // Another server holds it: left alone.
    rig.set_lock(id, Utc::now() + TimeDelta::seconds(30)).await;
    assert_eq!(rig.send_due().await, 0);
    assert!(rig.smtp.messages().is_empty());

    // That server crashed and its lease ran out: ours takes the job.
    rig.set_lock(id, Utc::now() - TimeDelta::seconds(1)).await;
    assert_eq!(rig.send_due().await, 1);
    let job = rig.job(id).await;
    assert_eq!((job.status.as_str(), job.locked_until), ("sent", None));
    assert_eq!(rig.smtp.messages().len(), 1);
}

#[tokio::test]
async fn a_job_rolled_back_with_its_transaction_is_never_sent() {
    let rig = Rig::new().await;
    let txn = rig.conn().begin().await.unwrap();
    notify::enqueue(&txn, code_email("ghost@example.test")).await.unwrap();
    // Not visible to the worker before the commit...
    assert_eq!(rig.send_due().await, 0);
    txn.rollback().await.unwrap();
    // ...nor after the rollback.
    assert_eq!(rig.send_due().await, 0);
    assert_eq!(notification_job::Entity::find().count(rig.conn()).await.unwrap(), 0);
    assert!(rig.smtp.messages().is_empty());

    // The same, committed, is sent.
    let txn = rig.conn().begin().await.unwrap();
    notify::enqueue(&txn, code_email("real@example.test")).await.unwrap();
    txn.commit().await.unwrap();
    assert_eq!(rig.send_due().await, 1);
    assert_eq!(rig.smtp.last_code_for("real@example.test").as_deref(), Some("482913"));
    assert!(rig.smtp.last_to("ghost@example.test").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_workers_send_each_job_once() {
    let rig = Rig::with(|cfg| cfg.batch = 3).await;
    for i in 0..12 {
        notify::enqueue(rig.conn(), code_email(&format!("user{i}@example.test"))).await.unwrap();
    }
    let mut total = 0;
    loop {
        let (a, b, c) = tokio::join!(
            notify::send_due(rig.conn(), &rig.senders),
            notify::send_due(rig.conn(), &rig.senders),
            notify::send_due(rig.conn(), &rig.senders),
        );
        let round = a.unwrap() + b.unwrap() + c.unwrap();
        if round == 0 {
            break;
        }
        total += round;
    }
    assert_eq!(total, 12);
    let mut to: Vec<String> = rig.smtp.messages().into_iter().flat_map(|m| m.to).collect();
    to.sort();
    to.dedup();
    assert_eq!(to.len(), 12);
    assert_eq!(rig.smtp.messages().len(), 12, "no job was sent twice");
}

#[tokio::test]
async fn the_worker_sends_and_stops_on_shutdown() {
    let rig = Rig::with(|cfg| cfg.poll_interval_ms = 50).await;
    let (stop, shutdown) = tokio::sync::watch::channel(false);
    let worker = tokio::spawn(notify::run_worker(rig.conn().clone(), rig.cfg.clone(), shutdown));
    notify::enqueue(rig.conn(), code_email("anna@example.test")).await.unwrap();
    let mut waited = Duration::ZERO;
    while rig.smtp.messages().is_empty() {
        assert!(waited < Duration::from_secs(5), "the worker did not send the email");
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += Duration::from_millis(20);
    }
    stop.send(true).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(2), worker).await.expect("worker stops").unwrap();
    assert!(result.is_ok());
}

#[tokio::test]
async fn configuration_problems_are_listed_by_key() {
    let mut cfg = Config::default();
    cfg.notify.email.provider = "smtp".into();
    cfg.notify.sms.provider = "carrier-pigeon".into();
    let Err(Error::Config(errs)) = cfg.validate() else { panic!("an SMTP provider without a host is invalid") };
    let keys: Vec<&str> = errs.iter().map(|e| e.field.as_str()).collect();
    assert!(keys.contains(&"notify.email.smtp.host"), "{keys:?}");
    assert!(keys.contains(&"notify.sms.provider"), "{keys:?}");
    assert!(Senders::from_config(&cfg.notify).is_err());

    cfg.notify.email.smtp.host = "smtp.example.test".into();
    cfg.notify.sms.provider = "log".into();
    assert!(cfg.validate().is_ok());
}

#[tokio::test]
async fn the_log_provider_needs_no_setup() {
    let db = TestDb::new().await;
    let senders = Senders::from_config(&NotifyConfig::default()).unwrap();
    let mail = notify::enqueue(&db.conn, code_email("anna@example.test")).await.unwrap();
    let text = notify::enqueue(
        &db.conn,
        sms("+79161234567", "phone_code", "ru", json!({"code": "735104", "store_name": "Лавка", "purpose": "login"})),
    )
    .await
    .unwrap();
    assert_eq!(notify::send_due(&db.conn, &senders).await.unwrap(), 2);
    for id in [mail, text] {
        let job = notification_job::Entity::find_by_id(id).one(&db.conn).await.unwrap().unwrap();
        assert_eq!((job.status.as_str(), job.payload.as_str()), ("sent", "{}"));
    }
}
