//! Entity providers: plugins that feed entities into the catalog from somewhere other than
//! descriptor files (an org directory, a cloud inventory, another catalog), like Backstage's
//! `EntityProvider` (`backstage.md` §3.1).
//!
//! A provider is connected once at start and then pushes mutations whenever it likes: a
//! `Full` mutation replaces everything it provided before (entities missing from it are
//! deleted), a `Delta` adds or replaces some entities and removes others.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use serde_json::Value;

/// A boxed, sendable future (object-safe async in traits).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// An error a plugin reports, or the core reports to a plugin.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginError {
    /// The plugin sent something invalid.
    #[error("{0}")]
    Input(String),
    /// The core could not apply the request.
    #[error("{0}")]
    Failed(String),
}

/// An entity handed to the catalog by a provider.
#[derive(Debug, Clone, PartialEq)]
pub struct DeferredEntity {
    /// The entity, in descriptor form (apiVersion, kind, metadata, spec).
    pub entity: Value,
    /// Where it comes from, for the `backstage.io/managed-by-location` annotation
    /// (e.g. `url:https://ldap.example.com/…`); defaults to `provider:<name>`.
    pub location_key: Option<String>,
}

/// A change a provider makes to its set of entities.
#[derive(Debug, Clone, PartialEq)]
pub enum EntityProviderMutation {
    /// The complete set: anything provided before and missing now is deleted.
    Full {
        /// Every entity the provider provides.
        entities: Vec<DeferredEntity>,
    },
    /// Some entities added or replaced, some removed.
    Delta {
        /// Entities to add or replace.
        added: Vec<DeferredEntity>,
        /// Entities to remove, by canonical ref (`kind:namespace/name`).
        removed: Vec<String>,
    },
}

/// What the catalog gives a provider to push mutations through.
pub trait EntityProviderConnection: Send + Sync {
    /// Applies a mutation; entities are validated like any descriptor, and invalid ones are
    /// reported in the returned error while the valid ones are applied.
    fn apply_mutation(
        &self,
        mutation: EntityProviderMutation,
    ) -> BoxFuture<'_, Result<(), PluginError>>;
}

/// A source of entities.
pub trait EntityProvider: Send + Sync {
    /// A name unique among providers; it identifies the provider's entities across restarts.
    fn name(&self) -> &str;

    /// Called once when the catalog starts; keep the connection to push mutations later.
    fn connect(
        &self,
        connection: Arc<dyn EntityProviderConnection>,
    ) -> BoxFuture<'_, Result<(), PluginError>>;
}
