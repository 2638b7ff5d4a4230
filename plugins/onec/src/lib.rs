//! The 1C plugin: the site side of the standard 1C ↔ website exchange (CommerceML).
//!
//! 1C is the HTTP client: the store owner points 1C's exchange at
//! `https://<store>/integrations/1c/exchange` and 1C pushes its catalogue, prices and stock
//! there ([`exchange`]). Files are checked and unpacked by [`files`], read by the streaming
//! CommerceML reader [`cml`], and written by [`import`] through the plugin API's catalogue
//! transaction. Order exchange (`type=sale`) answers a clear `failure` for now; it will be
//! one more module next to [`import`].

pub mod cml;
pub mod exchange;
pub mod files;
pub mod import;

use megashop_plugin::{async_trait, Capability, Integration, Manifest, PluginState};
use serde_json::json;

/// The 1C plugin (id `1c`).
#[derive(Default)]
pub struct OneC {
    tasks: exchange::Tasks,
}

impl OneC {
    /// A new instance of the plugin for the registry.
    pub fn new() -> OneC {
        OneC::default()
    }
}

#[async_trait]
impl Integration for OneC {
    fn manifest(&self) -> Manifest {
        Manifest {
            id: "1c".into(),
            name: "1С:Предприятие (CommerceML)".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            description: "Обмен с 1С по стандарту CommerceML 2/3: 1С выгружает каталог, цены и остатки на \
                          /integrations/1c/exchange. The standard 1C ↔ website exchange."
                .into(),
            capabilities: vec![Capability::Routes],
            config_schema: json!({
                "type": "object",
                "required": ["login", "password"],
                "properties": {
                    "login": {"type": "string", "title": "Login 1C sends", "minLength": 1},
                    "password": {"type": "string", "format": "password", "title": "Password 1C sends", "minLength": 8},
                    "file_limit": {"type": "integer", "minimum": 65536, "maximum": 104857600, "default": 8388608,
                                   "title": "Largest chunk of one upload, bytes (must not exceed integrations.max_body_bytes)"},
                    "max_exchange_bytes": {"type": "integer", "minimum": 1048576, "default": 2147483648u64,
                                           "title": "Most bytes the files of one exchange may take"},
                    "step_secs": {"type": "integer", "minimum": 0, "maximum": 300, "default": 20,
                                  "title": "Seconds an import request is held before answering progress (0: never held)"},
                    "zip": {"type": "boolean", "default": true, "title": "Accept zip archives"},
                    "answer_charset": {"type": "string", "enum": ["windows-1251", "utf-8"], "default": "windows-1251"},
                    "language": {"type": "string", "enum": ["ru", "en"], "default": "ru"},
                    "sku": {"type": "string", "enum": ["id", "article"], "default": "id",
                            "title": "Variant SKU: the 1C Ид, or the Артикул when unique"},
                    "price_types": {"type": "string", "default": "",
                                    "title": "1C price type = store price type code, separated by ';'"},
                    "warehouses": {"type": "string", "default": "",
                                   "title": "1C warehouse = store warehouse code, separated by ';'"},
                    "stock_warehouse": {"type": "string", "default": "",
                                        "title": "Store warehouse for totals without warehouses"},
                    "hide_missing": {"type": "boolean", "default": true,
                                     "title": "Hide products a full catalogue no longer lists"},
                    "currency": {"type": "string", "default": "RUB", "title": "Currency of price types that name none"}
                }
            }),
        }
    }

    fn routes(&self) -> Option<axum::Router<PluginState>> {
        Some(exchange::router(self.tasks.clone()))
    }
}
