-- The catalog: registered locations, the sources (files, URLs) they lead to, entities with
-- their processed input and stitched final form, relations by originating entity, and the
-- queue of entities to stitch.
CREATE TABLE locations (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    target TEXT NOT NULL,
    origin TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    UNIQUE (type, target)
);

CREATE TABLE sources (
    source_key TEXT PRIMARY KEY,
    location_id TEXT NOT NULL,
    parent_key TEXT,
    named_by TEXT,
    content_hash TEXT,
    errors TEXT NOT NULL DEFAULT '[]',
    next_refresh_at BIGINT NOT NULL,
    lease_owner TEXT,
    lease_until BIGINT
);
CREATE INDEX sources_due ON sources (next_refresh_at);
CREATE INDEX sources_parent ON sources (parent_key);
CREATE INDEX sources_named_by ON sources (named_by);
CREATE INDEX sources_location ON sources (location_id);

CREATE TABLE entities (
    entity_ref TEXT PRIMARY KEY,
    uid TEXT NOT NULL UNIQUE,
    source_key TEXT NOT NULL,
    location_id TEXT NOT NULL,
    input_hash TEXT NOT NULL,
    entity_json TEXT NOT NULL,
    errors TEXT NOT NULL DEFAULT '[]',
    orphan BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX entities_source ON entities (source_key);
CREATE INDEX entities_location ON entities (location_id);

-- The stitched entities as served, apart from their inputs so that writing one does not
-- rewrite the other.
CREATE TABLE final_entities (
    entity_ref TEXT PRIMARY KEY,
    uid TEXT NOT NULL,
    final_json TEXT NOT NULL,
    etag TEXT NOT NULL
);

-- Entities whose final form must be rebuilt. Kept apart from the wide entities rows so that
-- marking a much-related entity (a group owning thousands) writes a few bytes, not the row.
CREATE TABLE stitch_queue (
    entity_ref TEXT PRIMARY KEY,
    ticket BIGINT NOT NULL
);

CREATE TABLE relations (
    originating_ref TEXT NOT NULL,
    source_ref TEXT NOT NULL,
    type TEXT NOT NULL,
    target_ref TEXT NOT NULL
);
CREATE INDEX relations_originating ON relations (originating_ref);
CREATE INDEX relations_source ON relations (source_ref);
