-- TechDocs builds: per documented entity, the build state (hash of the docs source last asked
-- for and last built, when, how long, warnings as a JSON list, the error of a failure) and the
-- pending job (queued, or building under a lease; attempts counts claims of the current job).
CREATE TABLE techdocs_builds (
    entity_ref TEXT PRIMARY KEY,
    spec TEXT NOT NULL,
    source_hash TEXT NOT NULL,
    built_hash TEXT,
    state TEXT NOT NULL,
    requested_at BIGINT NOT NULL,
    started_at BIGINT,
    last_built_at BIGINT,
    duration_ms BIGINT,
    warnings TEXT NOT NULL DEFAULT '[]',
    error TEXT,
    lease_owner TEXT,
    lease_until BIGINT,
    attempts BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX techdocs_builds_state ON techdocs_builds (state, requested_at);
