//! The action registry and the built-in actions. Plugins add theirs with
//! [`ActionRegistry::register`]; the runner looks every step's action up here before a task
//! starts, so an unknown action fails early with its name.

mod catalog;
mod debug;
mod fetch;
mod fs;
mod input;
mod publish_change;
mod publish_forge;
mod publish_git;

use std::collections::BTreeMap;
use std::sync::Arc;

use portico_plugin_api::ScaffolderAction;
use serde_json::{Value, json};

pub use publish_git::GitOptions;

use crate::forge::PublishSettings;

/// The actions a runner can call, by id.
#[derive(Clone, Default)]
pub struct ActionRegistry {
    actions: BTreeMap<String, Arc<dyn ScaffolderAction>>,
}

impl std::fmt::Debug for ActionRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.actions.keys()).finish()
    }
}

impl ActionRegistry {
    /// An empty registry.
    pub fn new() -> Self {
        Self::default()
    }

    /// Every built-in action with default settings: no integrations and no forge API client,
    /// so `publish:github` and `publish:gitlab` are listed but fail with a clear message.
    pub fn builtin() -> Self {
        Self::builtin_with(PublishSettings::default())
    }

    /// Every built-in action: fetch:*, fs:*, debug:*, catalog:*, publish:git, publish:github,
    /// publish:gitlab, publish:github:pull-request and publish:gitlab:merge-request, the
    /// publish and fetch actions configured with `settings`.
    pub fn builtin_with(settings: PublishSettings) -> Self {
        let settings = Arc::new(settings);
        let mut registry = Self::new();
        registry.register(Arc::new(fetch::FetchPlain(Arc::clone(&settings))));
        registry.register(Arc::new(fetch::FetchPlainFile(Arc::clone(&settings))));
        registry.register(Arc::new(fetch::FetchTemplate(Arc::clone(&settings))));
        registry.register(Arc::new(fetch::FetchTemplateFile(Arc::clone(&settings))));
        registry.register(Arc::new(fs::FsDelete));
        registry.register(Arc::new(fs::FsRename));
        registry.register(Arc::new(debug::DebugLog));
        registry.register(Arc::new(debug::DebugWait));
        registry.register(Arc::new(catalog::CatalogWrite));
        registry.register(Arc::new(catalog::CatalogFetch));
        registry.register(Arc::new(catalog::CatalogRegister));
        registry.register(Arc::new(publish_git::PublishGit::new(settings.git.clone())));
        registry.register(Arc::new(publish_forge::PublishForge::new(
            publish_forge::Forge::GitHub,
            Arc::clone(&settings),
        )));
        registry.register(Arc::new(publish_forge::PublishForge::new(
            publish_forge::Forge::GitLab,
            Arc::clone(&settings),
        )));
        registry.register(Arc::new(publish_change::PublishChange::new(
            publish_forge::Forge::GitHub,
            Arc::clone(&settings),
        )));
        registry.register(Arc::new(publish_change::PublishChange::new(
            publish_forge::Forge::GitLab,
            settings,
        )));
        registry
    }

    /// Adds (or replaces) an action.
    pub fn register(&mut self, action: Arc<dyn ScaffolderAction>) {
        self.actions.insert(action.id().to_owned(), action);
    }

    /// The action with this id.
    pub fn get(&self, id: &str) -> Option<&Arc<dyn ScaffolderAction>> {
        self.actions.get(id)
    }

    /// The ids, sorted.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.actions.keys().map(String::as_str)
    }

    /// Backstage's `GET /v2/actions` body: `[{id, description, examples, schema: {input, output}}]`
    /// sorted by id.
    pub fn list(&self) -> Value {
        Value::Array(
            self.actions
                .values()
                .map(|action| {
                    json!({
                        "id": action.id(),
                        "description": action.description(),
                        "examples": [],
                        "schema": {"input": action.input_schema(), "output": action.output_schema()},
                    })
                })
                .collect(),
        )
    }
}
