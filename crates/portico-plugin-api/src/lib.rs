//! Portico's stable extension surface: the traits a plugin implements and the values it
//! exchanges with the core. Built-in features use the same traits as third-party plugins.
//!
//! Small on purpose: no HTTP, no SQL, no engine types — only JSON values and plain records, so
//! a plugin compiles against this crate alone.

mod access;
mod provider;
mod scaffolder;

pub use access::{AllowAll, Authorizer, Decision, GUEST_USER_REF, Permission, Principal};
pub use provider::{
    BoxFuture, DeferredEntity, EntityProvider, EntityProviderConnection, EntityProviderMutation,
    PluginError,
};
pub use scaffolder::{ActionContext, ActionLogger, ScaffolderAction, ScaffolderCatalog};
