//! The texts of emails and SMS: minijinja templates under `templates/notify/{en,ru}/`,
//! compiled into the binary. An email template is a `<name>.subject.txt` and a
//! `<name>.body.txt`; an SMS template is a `<name>.sms.txt`.
//!
//! | template | channels | payload keys (`?` optional) |
//! | --- | --- | --- |
//! | `email_confirm` | email | `link`, `store_name`, `name?` |
//! | `email_code` | email | `code`, `store_name`, `purpose`, `minutes?` |
//! | `phone_code` | SMS | `code`, `store_name`, `purpose` |
//! | `welcome` | email, SMS | `store_name`, `name?` |
//! | `password_reset_link` | email | `link`, `store_name` |
//! | `password_changed` | email, SMS | `store_name` |
//! | `already_registered` | email, SMS | `store_name`, `link?` |
//! | `staff_invite` | email | `link`, `store_name`, `role?` (`owner`, `admin`, `manager`) |
//!
//! `purpose` is `register`, `login`, `reset` or `verify` (`verify_email` and
//! `verify_phone` read as `verify`; anything else gets a neutral "verification code"). A locale other than `ru` (or a
//! template missing in it) falls back to `en`. A missing required key is an error for
//! that message, never a panic and never an empty gap in the text.

use super::Channel;
use minijinja::{Environment, UndefinedBehavior};
use std::sync::OnceLock;

/// Locales with their own texts; anything else is sent in [`FALLBACK_LOCALE`].
pub const LOCALES: [&str; 2] = ["en", "ru"];
/// The locale used when a message's locale (or its template in that locale) is missing.
pub const FALLBACK_LOCALE: &str = "en";

/// A template name with the channels it exists for and the payload keys it needs.
#[derive(Clone, Copy, Debug)]
pub struct TemplateSpec {
    /// Name used in [`super::Outgoing::template`].
    pub name: &'static str,
    /// Channels that have a text for it.
    pub channels: &'static [Channel],
    /// Keys the payload must have.
    pub required: &'static [&'static str],
}

/// Every template Megashop can send.
pub const TEMPLATES: &[TemplateSpec] = &[
    TemplateSpec { name: "email_confirm", channels: &[Channel::Email], required: &["link", "store_name"] },
    TemplateSpec { name: "email_code", channels: &[Channel::Email], required: &["code", "store_name", "purpose"] },
    TemplateSpec { name: "phone_code", channels: &[Channel::Sms], required: &["code", "store_name", "purpose"] },
    TemplateSpec { name: "welcome", channels: &[Channel::Email, Channel::Sms], required: &["store_name"] },
    TemplateSpec { name: "password_reset_link", channels: &[Channel::Email], required: &["link", "store_name"] },
    TemplateSpec { name: "password_changed", channels: &[Channel::Email, Channel::Sms], required: &["store_name"] },
    TemplateSpec { name: "already_registered", channels: &[Channel::Email, Channel::Sms], required: &["store_name"] },
    TemplateSpec { name: "staff_invite", channels: &[Channel::Email], required: &["link", "store_name"] },
];

/// The text of one message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Content {
    /// Email subject; `None` for SMS.
    pub subject: Option<String>,
    /// Plain-text body (the whole SMS).
    pub body: String,
}

/// Why a message could not be rendered. Retrying does not help: the job fails.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// No such template, or not for this channel.
    #[error("no {channel} template named {name:?}")]
    UnknownTemplate {
        /// The requested template.
        name: String,
        /// The requested channel (`email`, `sms`).
        channel: &'static str,
    },
    /// The payload is not a JSON object or lacks a key the template needs.
    #[error("payload of template {template:?} is missing {key:?}")]
    MissingKey {
        /// The template.
        template: String,
        /// The missing key.
        key: String,
    },
    /// The payload is not a JSON object.
    #[error("payload of template {0:?} is not a JSON object")]
    BadPayload(String),
    /// minijinja failed (an undefined value used, a bad filter...).
    #[error("template {template:?} failed: {message}")]
    Template {
        /// The template file.
        template: String,
        /// minijinja's explanation.
        message: String,
    },
}

macro_rules! sources {
    ($($locale:literal => [$($file:literal),* $(,)?]),* $(,)?) => {
        &[$($(
            (
                concat!($locale, "/", $file),
                include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/notify/", $locale, "/", $file)),
            ),
        )*)*]
    };
}

/// `(name, source)` of every template file.
const SOURCES: &[(&str, &str)] = sources! {
    "en" => [
        "email_confirm.subject.txt", "email_confirm.body.txt",
        "email_code.subject.txt", "email_code.body.txt",
        "phone_code.sms.txt",
        "welcome.subject.txt", "welcome.body.txt", "welcome.sms.txt",
        "password_reset_link.subject.txt", "password_reset_link.body.txt",
        "password_changed.subject.txt", "password_changed.body.txt", "password_changed.sms.txt",
        "already_registered.subject.txt", "already_registered.body.txt", "already_registered.sms.txt",
        "staff_invite.subject.txt", "staff_invite.body.txt",
    ],
    "ru" => [
        "email_confirm.subject.txt", "email_confirm.body.txt",
        "email_code.subject.txt", "email_code.body.txt",
        "phone_code.sms.txt",
        "welcome.subject.txt", "welcome.body.txt", "welcome.sms.txt",
        "password_reset_link.subject.txt", "password_reset_link.body.txt",
        "password_changed.subject.txt", "password_changed.body.txt", "password_changed.sms.txt",
        "already_registered.subject.txt", "already_registered.body.txt", "already_registered.sms.txt",
        "staff_invite.subject.txt", "staff_invite.body.txt",
    ],
};

fn env() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        env.set_trim_blocks(true);
        env.set_lstrip_blocks(true);
        for (name, source) in SOURCES {
            // A broken template is caught by the unit tests; at run time it only makes
            // its own messages fail ("no template"), never the server.
            if let Err(e) = env.add_template(name, source) {
                tracing::error!(template = name, error = %e, "notification template does not compile");
            }
        }
        env
    })
}

/// The locale whose texts are used for `locale` (`ru-RU` → `ru`, `de` → `en`).
pub fn resolve_locale(locale: &str) -> &'static str {
    let primary = locale.split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
    LOCALES.iter().copied().find(|l| *l == primary).unwrap_or(FALLBACK_LOCALE)
}

/// Renders template `name` for `channel` in `locale` with `payload` (a JSON object).
pub fn render(channel: Channel, name: &str, locale: &str, payload: &serde_json::Value) -> Result<Content, RenderError> {
    let unknown = || RenderError::UnknownTemplate { name: name.to_string(), channel: channel.as_str() };
    let spec = TEMPLATES.iter().find(|t| t.name == name && t.channels.contains(&channel)).ok_or_else(unknown)?;
    let obj = payload.as_object().ok_or_else(|| RenderError::BadPayload(name.to_string()))?;
    if let Some(key) = spec.required.iter().find(|k| obj.get(**k).is_none_or(|v| v.is_null())) {
        return Err(RenderError::MissingKey { template: name.to_string(), key: (*key).to_string() });
    }
    let locale = resolve_locale(locale);
    let one = |part: &str| -> Result<String, RenderError> {
        let env = env();
        let file = [locale, FALLBACK_LOCALE]
            .iter()
            .map(|l| format!("{l}/{name}.{part}.txt"))
            .find(|f| env.get_template(f).is_ok())
            .ok_or_else(unknown)?;
        let tmpl = env.get_template(&file).map_err(|_| unknown())?;
        let text = tmpl
            .render(payload)
            .map_err(|e| RenderError::Template { template: file.clone(), message: e.to_string() })?;
        Ok(text.trim().to_string())
    };
    match channel {
        Channel::Email => {
            // A subject is one line whatever the payload holds.
            let subject = one("subject")?.split_whitespace().collect::<Vec<_>>().join(" ");
            Ok(Content { subject: Some(subject), body: one("body")? + "\n" })
        }
        Channel::Sms => Ok(Content { subject: None, body: one("sms")? }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn full_payload(purpose: &str) -> serde_json::Value {
        json!({
            "code": "123456",
            "link": "https://shop.test/confirm?t=abc",
            "store_name": "Megashop",
            "purpose": purpose,
            "name": "Анна",
            "role": "admin",
        })
    }

    #[test]
    fn every_template_renders_in_every_locale() {
        for spec in TEMPLATES {
            for &channel in spec.channels {
                for locale in LOCALES {
                    for purpose in ["register", "login", "reset", "verify"] {
                        let c = render(channel, spec.name, locale, &full_payload(purpose))
                            .unwrap_or_else(|e| panic!("{} {locale} {channel:?}: {e}", spec.name));
                        assert!(!c.body.trim().is_empty());
                        assert!(!c.body.contains("{{") && !c.body.contains("{%"), "{}", c.body);
                        assert_eq!(c.subject.is_some(), channel == Channel::Email);
                        for key in spec.required {
                            if *key != "purpose" {
                                let v = full_payload(purpose)[key].as_str().unwrap_or("").to_string();
                                assert!(c.body.contains(&v), "{} {locale}: body lacks {key}: {}", spec.name, c.body);
                            }
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn every_template_file_compiles() {
        for (name, _) in SOURCES {
            assert!(env().get_template(name).is_ok(), "{name} does not compile");
        }
    }

    #[test]
    fn sms_codes_come_first_and_fit_one_segment() {
        for purpose in ["register", "login", "reset", "verify"] {
            let p = json!({"code": "123456", "store_name": "Megashop", "purpose": purpose});
            let ru = render(Channel::Sms, "phone_code", "ru", &p).unwrap().body;
            assert!(ru.starts_with("123456 "), "{ru}");
            // Cyrillic SMS are UCS-2: 70 characters per segment.
            assert!(ru.chars().count() <= 70, "{} chars: {ru}", ru.chars().count());
            let en = render(Channel::Sms, "phone_code", "en", &p).unwrap().body;
            assert!(en.starts_with("123456 ") && en.is_ascii() && en.len() <= 160, "{en}");
        }
        for name in ["password_changed", "already_registered", "welcome"] {
            let ru = render(Channel::Sms, name, "ru", &json!({"store_name": "Megashop"})).unwrap().body;
            assert!(ru.chars().count() <= 70, "{} chars: {ru}", ru.chars().count());
        }
    }

    #[test]
    fn purposes_choose_the_wording() {
        let text = |purpose: &str| {
            render(Channel::Sms, "phone_code", "ru", &json!({"code": "1", "store_name": "S", "purpose": purpose}))
                .unwrap()
                .body
        };
        assert!(text("login").contains("для входа"));
        assert!(text("register").contains("для регистрации"));
        assert!(text("reset").contains("сброса пароля"));
        assert!(text("verify").contains("код подтверждения"));
    }

    #[test]
    fn optional_keys_may_be_missing() {
        let c = render(Channel::Email, "welcome", "ru", &json!({"store_name": "Лавка"})).unwrap();
        assert!(c.body.starts_with("Здравствуйте!\n\nСпасибо"), "{}", c.body);
        let c = render(Channel::Email, "welcome", "ru", &json!({"store_name": "Лавка", "name": "Анна"})).unwrap();
        assert!(c.body.starts_with("Анна, здравствуйте!\n\nСпасибо"), "{}", c.body);
        let c = render(Channel::Email, "email_confirm", "en", &json!({"store_name": "S", "link": "https://s.test/c"}))
            .unwrap();
        assert!(c.body.starts_with("Hello!\n\nTo confirm"), "{}", c.body);
        let c = render(Channel::Email, "already_registered", "en", &json!({"store_name": "S"})).unwrap();
        assert!(c.body.contains("Forgot password?"), "{}", c.body);
        let invite = |payload| render(Channel::Email, "staff_invite", "ru", &payload).unwrap().body;
        assert!(invite(json!({"store_name": "S", "link": "https://s.test/i", "role": "admin"}))
            .contains("как администратора"));
        assert!(invite(json!({"store_name": "S", "link": "https://s.test/i"})).contains("магазина «S». Чтобы"));
    }

    #[test]
    fn unknown_locale_falls_back_to_english() {
        let p = json!({"store_name": "Shop"});
        let c = render(Channel::Email, "password_changed", "de-DE", &p).unwrap();
        assert_eq!(c.subject.as_deref(), Some("Your Shop password was changed"));
        assert_eq!(resolve_locale("ru-RU"), "ru");
        assert_eq!(resolve_locale("RU"), "ru");
        assert_eq!(resolve_locale(""), "en");
    }

    #[test]
    fn errors_instead_of_panics() {
        let p = json!({"store_name": "Shop", "purpose": "login"});
        assert_eq!(
            render(Channel::Sms, "phone_code", "ru", &p),
            Err(RenderError::MissingKey { template: "phone_code".into(), key: "code".into() })
        );
        assert!(matches!(render(Channel::Sms, "nope", "ru", &p), Err(RenderError::UnknownTemplate { .. })));
        // email_confirm has no SMS text
        assert!(matches!(render(Channel::Sms, "email_confirm", "ru", &p), Err(RenderError::UnknownTemplate { .. })));
        assert!(matches!(render(Channel::Email, "welcome", "ru", &json!([1])), Err(RenderError::BadPayload(_))));
        let null_code = json!({"code": null, "store_name": "Shop", "purpose": "login"});
        assert!(matches!(render(Channel::Sms, "phone_code", "en", &null_code), Err(RenderError::MissingKey { .. })));
    }
}
