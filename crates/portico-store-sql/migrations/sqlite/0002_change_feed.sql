-- The change sequence of final entities: every transaction that writes or deletes final
-- entities takes the next number from catalog_state (its row lock orders writers, so numbers
-- become visible in order) and stamps the rows it wrote; deletions leave a tombstone. A reader
-- that has applied every change up to N catches up with "changes after N" (read-model
-- snapshots, replicas sharing one database). `instance` names this database, so a snapshot of
-- another database is never mistaken for one of this.
CREATE TABLE catalog_state (
    id BIGINT PRIMARY KEY,
    instance TEXT NOT NULL,
    change_seq BIGINT NOT NULL
);
INSERT INTO catalog_state (id, instance, change_seq) VALUES (1, lower(hex(randomblob(16))), 0);

ALTER TABLE final_entities ADD COLUMN change_seq BIGINT NOT NULL DEFAULT 0;
-- Which store handle wrote the row, so that a process can skip its own changes when it syncs.
ALTER TABLE final_entities ADD COLUMN changed_by TEXT NOT NULL DEFAULT '';
CREATE INDEX final_entities_change ON final_entities (change_seq);

CREATE TABLE final_entity_tombstones (
    entity_ref TEXT PRIMARY KEY,
    change_seq BIGINT NOT NULL
);
CREATE INDEX final_entity_tombstones_change ON final_entity_tombstones (change_seq);
