//! The plugins this build knows: built-ins are registered in one place (the `megashop`
//! command), and the server and the engine look them up by id.

use crate::error::PluginError;
use crate::{Capability, Integration, Manifest, PluginState};
use std::collections::BTreeMap;
use std::sync::Arc;

struct Entry {
    plugin: Arc<dyn Integration>,
    manifest: Manifest,
    routes: Option<axum::Router<PluginState>>,
}

/// The registered plugins, by id.
#[derive(Default)]
pub struct Registry {
    plugins: BTreeMap<String, Entry>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.plugins.keys()).finish()
    }
}

/// Whether `id` is a valid plugin id: 1–32 characters of `a-z`, `0-9`, `-`, `_`,
/// starting with a letter or digit, and not `runs` (`/api/v1/integrations/runs/{id}`).
pub fn valid_id(id: &str) -> bool {
    id != "runs"
        && !id.is_empty()
        && id.len() <= 32
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Adds a plugin. Its manifest is checked once, here: a valid id not taken yet, a
    /// settings schema the engine understands, and routes exactly when it declares
    /// [`Capability::Routes`]. Its routes are built once, here.
    pub fn register(&mut self, plugin: Arc<dyn Integration>) -> Result<(), PluginError> {
        let manifest = plugin.manifest();
        let id = manifest.id.clone();
        let bad = |why: String| PluginError::Config(format!("plugin {id:?}: {why}"));
        if !valid_id(&id) {
            return Err(bad("the id must be 1-32 characters of a-z, 0-9, '-' and '_'".into()));
        }
        if self.plugins.contains_key(&id) {
            return Err(bad("a plugin with this id is already registered".into()));
        }
        crate::schema::check_schema(&manifest.config_schema).map_err(bad)?;
        let routes = plugin.routes();
        if routes.is_some() != manifest.can(Capability::Routes) {
            return Err(bad(
                "routes() must return a router exactly when the manifest lists the routes capability".into()
            ));
        }
        self.plugins.insert(id, Entry { plugin, manifest, routes });
        Ok(())
    }

    /// [`Registry::register`] as a builder.
    pub fn with(mut self, plugin: Arc<dyn Integration>) -> Result<Registry, PluginError> {
        self.register(plugin)?;
        Ok(self)
    }

    /// The plugin with this id.
    pub fn get(&self, id: &str) -> Option<Arc<dyn Integration>> {
        self.plugins.get(id).map(|e| e.plugin.clone())
    }

    /// The manifest of the plugin with this id (as read at registration).
    pub fn manifest(&self, id: &str) -> Option<&Manifest> {
        self.plugins.get(id).map(|e| &e.manifest)
    }

    /// The routes of the plugin with this id, if it has some.
    pub fn routes(&self, id: &str) -> Option<axum::Router<PluginState>> {
        self.plugins.get(id).and_then(|e| e.routes.clone())
    }

    /// Every plugin's manifest, by id.
    pub fn list(&self) -> Vec<Manifest> {
        self.plugins.values().map(|e| e.manifest.clone()).collect()
    }

    /// How many plugins are registered.
    pub fn len(&self) -> usize {
        self.plugins.len()
    }

    /// True when no plugin is registered.
    pub fn is_empty(&self) -> bool {
        self.plugins.is_empty()
    }
}
