//! Identity and access: every request carries a [`Principal`], and every read and write asks an
//! [`Authorizer`] first. Until authentication is configured the principal is a guest and the
//! authorizer allows everything; access control then becomes a policy, not a rewrite.

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// Not signed in (local use).
    Guest,
    /// A signed-in user.
    User {
        /// The user's entity ref, e.g. `user:default/jane`.
        user_ref: String,
        /// Refs the user may act as owner for (the user and their groups).
        ownership_refs: Vec<String>,
    },
    /// Another service with a token.
    Service {
        /// The calling service.
        subject: String,
    },
}

/// The user entity a guest acts as (Backstage's guest is a user entity too).
pub const GUEST_USER_REF: &str = "user:default/guest";

impl Principal {
    /// The user entity ref records made for this caller name (a scaffolder task's
    /// `createdBy`): the user's, [`GUEST_USER_REF`] for a guest, none for a service.
    pub fn user_entity_ref(&self) -> Option<&str> {
        match self {
            Self::User { user_ref, .. } => Some(user_ref),
            Self::Guest => Some(GUEST_USER_REF),
            Self::Service { .. } => None,
        }
    }
}

/// What is being done, named like Backstage's permissions (`catalog.entity.read`, …).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Permission(pub &'static str);

impl Permission {
    /// Read entities.
    pub const CATALOG_ENTITY_READ: Self = Self("catalog.entity.read");
    /// Delete an entity.
    pub const CATALOG_ENTITY_DELETE: Self = Self("catalog.entity.delete");
    /// Ask for an entity to be refreshed.
    pub const CATALOG_ENTITY_REFRESH: Self = Self("catalog.entity.refresh");
    /// Validate an entity.
    pub const CATALOG_ENTITY_VALIDATE: Self = Self("catalog.entity.validate");
    /// Read locations.
    pub const CATALOG_LOCATION_READ: Self = Self("catalog.location.read");
    /// Register a location.
    pub const CATALOG_LOCATION_CREATE: Self = Self("catalog.location.create");
    /// Unregister a location.
    pub const CATALOG_LOCATION_DELETE: Self = Self("catalog.location.delete");
    /// Run a software template: create a scaffolder task (also retrying one).
    pub const SCAFFOLDER_TASK_CREATE: Self = Self("scaffolder.task.create");
    /// See scaffolder tasks, their logs and outputs.
    pub const SCAFFOLDER_TASK_READ: Self = Self("scaffolder.task.read");
    /// Cancel a scaffolder task.
    pub const SCAFFOLDER_TASK_CANCEL: Self = Self("scaffolder.task.cancel");
}

/// The answer to an authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Go ahead.
    Allow,
    /// Refuse.
    Deny,
}

/// Decides whether a principal may do something, optionally to one resource (an entity as JSON).
pub trait Authorizer: Send + Sync {
    /// The decision for `permission` on `resource` (or in general when `None`).
    fn authorize(
        &self,
        principal: &Principal,
        permission: Permission,
        resource: Option<&serde_json::Value>,
    ) -> Decision;
}

/// Allows everything: the policy until access control is configured.
#[derive(Debug, Default, Clone, Copy)]
pub struct AllowAll;

impl Authorizer for AllowAll {
    fn authorize(&self, _: &Principal, _: Permission, _: Option<&serde_json::Value>) -> Decision {
        Decision::Allow
    }
}
