//! Localized messages (Fluent). English and Russian ship in `locales/`: `errors.ftl`
//! (API and CLI errors) and `storefront.ftl` (the server-rendered shop pages). Russian
//! plural forms are real Fluent plurals, not string concatenation.

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::sync::OnceLock;
use unic_langid::{langid, LanguageIdentifier};

/// A supported UI/API language.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Locale {
    /// English.
    En,
    /// Russian.
    Ru,
}

impl Locale {
    /// The BCP 47 tag (`en`, `ru`).
    pub fn tag(self) -> &'static str {
        match self {
            Locale::En => "en",
            Locale::Ru => "ru",
        }
    }

    /// Parses a tag such as `ru`, `ru-RU`, `en_US` (case-insensitive).
    pub fn parse(tag: &str) -> Option<Locale> {
        let primary = tag.trim().split(['-', '_']).next().unwrap_or("").to_ascii_lowercase();
        match primary.as_str() {
            "en" => Some(Locale::En),
            "ru" => Some(Locale::Ru),
            _ => None,
        }
    }

    /// Picks the best supported locale from an `Accept-Language` header value
    /// (honours q-values), or `None` when nothing in it is supported.
    pub fn from_accept_language(header: &str) -> Option<Locale> {
        let mut best: Option<(f32, Locale)> = None;
        for part in header.split(',') {
            let mut it = part.split(';');
            let tag = it.next().unwrap_or("");
            let q = it.find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse::<f32>().ok())).unwrap_or(1.0);
            if let Some(loc) = Locale::parse(tag) {
                if q > 0.0 && best.is_none_or(|(bq, _)| q > bq) {
                    best = Some((q, loc));
                }
            }
        }
        best.map(|(_, l)| l)
    }
}

/// The compiled-in `.ftl` sources of each language, in the same order.
struct Sources {
    en: [&'static str; 3],
    ru: [&'static str; 3],
}

const CATALOGUES: Sources = Sources {
    en: [
        include_str!("../../../locales/en/errors.ftl"),
        include_str!("../../../locales/en/storefront.ftl"),
        include_str!("../../../locales/en/import.ftl"),
    ],
    ru: [
        include_str!("../../../locales/ru/errors.ftl"),
        include_str!("../../../locales/ru/storefront.ftl"),
        include_str!("../../../locales/ru/import.ftl"),
    ],
};

struct Bundles {
    en: FluentBundle<FluentResource>,
    ru: FluentBundle<FluentResource>,
}

fn bundle(lang: LanguageIdentifier, sources: &[&str]) -> FluentBundle<FluentResource> {
    let mut bundle = FluentBundle::new_concurrent(vec![lang]);
    bundle.set_use_isolating(false);
    for src in sources {
        // The catalogues are compiled in; a syntax error is caught by the unit test below.
        let res = FluentResource::try_new((*src).to_string()).unwrap_or_else(|(res, _)| res);
        let _ = bundle.add_resource(res);
    }
    bundle
}

fn bundles() -> &'static Bundles {
    static B: OnceLock<Bundles> = OnceLock::new();
    B.get_or_init(|| Bundles { en: bundle(langid!("en"), &CATALOGUES.en), ru: bundle(langid!("ru"), &CATALOGUES.ru) })
}

/// Renders message `id` in `locale` with `args`; falls back to English, then to the id.
pub fn message(locale: Locale, id: &str, args: &[(&str, String)]) -> String {
    let b = bundles();
    let order = match locale {
        Locale::Ru => [&b.ru, &b.en],
        Locale::En => [&b.en, &b.en],
    };
    let mut fargs = FluentArgs::new();
    for (k, v) in args {
        if *k == "entity" {
            // Entity names are translated too: `price_type` → "price type" / «тип цен».
            let name = message(locale, &format!("entity-{}", v.replace('_', "-")), &[]);
            if !name.starts_with("entity-") {
                fargs.set(*k, FluentValue::from(name));
                continue;
            }
        }
        match v.parse::<i64>() {
            Ok(n) => fargs.set(*k, FluentValue::from(n)),
            Err(_) => fargs.set(*k, FluentValue::from(v.as_str())),
        }
    }
    for bundle in order {
        if let Some(pattern) = bundle.get_message(id).and_then(|m| m.value()) {
            let mut errors = vec![];
            return bundle.format_pattern(pattern, Some(&fargs), &mut errors).into_owned();
        }
    }
    id.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalogues_parse_and_have_the_same_ids() {
        let ids = |src: &str| {
            let mut v: Vec<String> = src
                .lines()
                .filter(|l| !l.starts_with([' ', '#', '\t']) && l.contains(" ="))
                .map(|l| l.split(" =").next().unwrap_or("").to_string())
                .collect();
            v.sort();
            v
        };
        // errors.ftl, then storefront.ftl: each file on its own, so a message cannot
        // hide in the other file of the other language.
        for (en, ru) in CATALOGUES.en.iter().zip(CATALOGUES.ru) {
            for src in [en, &ru] {
                let parsed = FluentResource::try_new(src.to_string());
                assert!(parsed.is_ok(), "syntax errors: {:?}", parsed.err().map(|(_, e)| e));
            }
            assert!(!ids(en).is_empty());
            assert_eq!(ids(en), ids(ru));
        }
    }

    #[test]
    fn storefront_plurals_follow_cldr() {
        let m = |l, n: u64| message(l, "sf-found", &[("count", n.to_string())]);
        assert_eq!(m(Locale::Ru, 1), "Найдено 1 товар");
        assert_eq!(m(Locale::Ru, 2), "Найдено 2 товара");
        assert_eq!(m(Locale::Ru, 5), "Найдено 5 товаров");
        assert_eq!(m(Locale::Ru, 11), "Найдено 11 товаров");
        assert_eq!(m(Locale::Ru, 21), "Найдено 21 товар");
        assert_eq!(m(Locale::Ru, 22), "Найдено 22 товара");
        assert_eq!(m(Locale::Ru, 0), "Найдено 0 товаров");
        assert_eq!(m(Locale::En, 1), "1 product found");
        assert_eq!(m(Locale::En, 21), "21 products found");
    }

    #[test]
    fn russian_plurals_follow_cldr() {
        let m = |n: &str| message(Locale::Ru, "validation-failed", &[("count", n.to_string())]);
        assert!(m("1").contains("1 поле"), "{}", m("1"));
        assert!(m("3").contains("3 поля"), "{}", m("3"));
        assert!(m("5").contains("5 полей"), "{}", m("5"));
        assert!(m("21").contains("21 поле"), "{}", m("21"));
    }

    #[test]
    fn accept_language_negotiation() {
        assert_eq!(Locale::from_accept_language("ru-RU,ru;q=0.9,en;q=0.8"), Some(Locale::Ru));
        assert_eq!(Locale::from_accept_language("de, en;q=0.5, ru;q=0.4"), Some(Locale::En));
        assert_eq!(Locale::from_accept_language("de"), None);
        assert_eq!(Locale::from_accept_language("ru;q=0"), None);
    }
}
