-- The scaffolder: tasks (spec as JSON, status, lease of the worker running it; secrets are
-- never stored, only whether there were any) and their append-only event log.
CREATE TABLE scaffolder_tasks (
    id TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    status TEXT NOT NULL,
    created_by TEXT,
    has_secrets BIGINT NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    last_heartbeat_at BIGINT,
    lease_owner TEXT,
    lease_until BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0,
    cancel_requested BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX scaffolder_tasks_status ON scaffolder_tasks (status, created_at);
CREATE INDEX scaffolder_tasks_created_by ON scaffolder_tasks (created_by, created_at);

CREATE TABLE scaffolder_task_events (
    id BIGSERIAL PRIMARY KEY,
    task_id TEXT NOT NULL REFERENCES scaffolder_tasks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX scaffolder_task_events_task ON scaffolder_task_events (task_id, id);
