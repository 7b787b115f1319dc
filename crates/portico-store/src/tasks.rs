//! Storage of scaffolder tasks: the task (its spec as JSON, status, lease) and its append-only
//! event log (step logs, completion), like Backstage's `tasks` and `task_events` tables.
//!
//! Tasks are claimed as leases, so a crash only delays work: a `processing` task whose lease
//! expired is claimable again and the claimer decides to resume or fail it (`attempts` counts
//! claims). Secrets are never stored: the record only says whether the task had any. A finished
//! task can be re-opened under its own id (retry), with its old end removed from the log.

use std::future::Future;

use crate::StoreResult;

/// A task to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    /// Unique id (a UUID).
    pub id: String,
    /// The task spec as JSON text (template, values, user — never secrets).
    pub spec_json: String,
    /// Who created it (`user:default/jane`).
    pub created_by: Option<String>,
    /// Whether secrets came with it (they are kept in memory only).
    pub has_secrets: bool,
    /// Milliseconds since the epoch.
    pub created_at: i64,
}

/// A stored task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskRecord {
    /// Unique id.
    pub id: String,
    /// The spec as JSON text.
    pub spec_json: String,
    /// `open`, `processing`, `completed`, `failed` or `cancelled`.
    pub status: String,
    /// Who created it.
    pub created_by: Option<String>,
    /// Whether secrets came with it.
    pub has_secrets: bool,
    /// When it was created (ms).
    pub created_at: i64,
    /// The last heartbeat of the worker running it (ms).
    pub last_heartbeat_at: Option<i64>,
    /// The worker holding it.
    pub lease_owner: Option<String>,
    /// How many times it was claimed.
    pub attempts: i64,
    /// Whether a cancel was asked for while it ran.
    pub cancel_requested: bool,
}

/// One event of a task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskEventRecord {
    /// Increasing id (per database), for `after=` paging.
    pub id: i64,
    /// The task.
    pub task_id: String,
    /// `log`, `completion`, `cancelled` or `recovered`.
    pub event_type: String,
    /// The body as JSON text.
    pub body_json: String,
    /// When (ms).
    pub created_at: i64,
}

/// Which tasks to list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TaskFilter {
    /// Only tasks created by one of these (any when empty).
    pub created_by: Vec<String>,
    /// Only tasks in one of these statuses (any when empty).
    pub status: Vec<String>,
    /// Newest first when true.
    pub newest_first: bool,
    /// At most this many.
    pub limit: usize,
    /// Skip this many.
    pub offset: usize,
}

/// What a heartbeat learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Heartbeat {
    /// The lease is still the caller's (false: another worker took the task over).
    pub owned: bool,
    /// A cancel was asked for.
    pub cancel_requested: bool,
}

/// The scaffolder's task storage. Every method is one transaction.
pub trait TaskStore: Send + Sync + 'static {
    /// Stores a new `open` task.
    fn create_task(&self, task: NewTask) -> impl Future<Output = StoreResult<()>> + Send;

    /// One task.
    fn task(&self, id: &str) -> impl Future<Output = StoreResult<Option<TaskRecord>>> + Send;

    /// Tasks matching `filter`, and how many match in all.
    fn list_tasks(
        &self,
        filter: &TaskFilter,
    ) -> impl Future<Output = StoreResult<(Vec<TaskRecord>, u64)>> + Send;

    /// Claims the oldest `open` task, or a `processing` one whose lease expired before `now`;
    /// it becomes `processing`, leased to `owner` until `now + lease_ms`, `attempts` + 1.
    fn claim_task(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<Option<TaskRecord>>> + Send;

    /// Extends `owner`'s lease on a processing task.
    fn heartbeat(
        &self,
        id: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> impl Future<Output = StoreResult<Heartbeat>> + Send;

    /// Ends a task `owner` holds with a final status; false when the lease was lost.
    fn finish_task(
        &self,
        id: &str,
        owner: &str,
        status: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Cancels an `open` task at once (returns `cancelled`), or marks a `processing` one for its
    /// worker (returns `processing`); `None` when there is no such task; a finished task keeps
    /// its status (returned).
    fn request_cancel(&self, id: &str) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// Re-opens a finished task (`completed`, `failed` or `cancelled`) under its own id, like
    /// Backstage's `retryTask`: it becomes `open` with no lease, `attempts` and the cancel
    /// request reset and `has_secrets` as given; its `completion` and `cancelled` events are
    /// deleted (readers replaying the log must not see the old end) and a `recovered` event
    /// with `body_json` is appended. Returns the status the task had — a task that was not
    /// finished is left alone — or `None` when there is no such task.
    fn retry_task(
        &self,
        id: &str,
        has_secrets: bool,
        body_json: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<Option<String>>> + Send;

    /// Appends an event; returns its id.
    fn append_event(
        &self,
        task_id: &str,
        event_type: &str,
        body_json: &str,
        now: i64,
    ) -> impl Future<Output = StoreResult<i64>> + Send;

    /// The task's events with an id above `after`, oldest first.
    fn task_events(
        &self,
        task_id: &str,
        after: Option<i64>,
    ) -> impl Future<Output = StoreResult<Vec<TaskEventRecord>>> + Send;
}
