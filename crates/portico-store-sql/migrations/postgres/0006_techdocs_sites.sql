-- TechDocs builds per site: one row per docs source (a folder, a repository tree URL) with its
-- build state and pending job, built once however many entities share it; techdocs_entities
-- maps each documented entity to its site. Replaces the per-entity techdocs_builds table (its
-- rows are build history only: every site is built again once, published sites stay).
DROP TABLE techdocs_builds;
CREATE TABLE techdocs_sites (
    site_key TEXT PRIMARY KEY,
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
CREATE INDEX techdocs_sites_state ON techdocs_sites (state, requested_at);
CREATE TABLE techdocs_entities (
    entity_ref TEXT PRIMARY KEY,
    site_key TEXT NOT NULL
);
CREATE INDEX techdocs_entities_site ON techdocs_entities (site_key);
