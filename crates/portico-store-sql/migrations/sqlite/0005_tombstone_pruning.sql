-- Tombstones are kept for a while, not forever: `deleted_at` (milliseconds since the epoch)
-- says when, and `tombstones_pruned_through` the highest change number whose tombstones may be
-- gone. A reader positioned before it cannot learn every deletion from the change feed and
-- reloads instead (an old read-model snapshot, a replica that was stopped for long).
ALTER TABLE final_entity_tombstones ADD COLUMN deleted_at BIGINT NOT NULL DEFAULT 0;
UPDATE final_entity_tombstones SET deleted_at = CAST(strftime('%s', 'now') AS INTEGER) * 1000;
ALTER TABLE catalog_state ADD COLUMN tombstones_pruned_through BIGINT NOT NULL DEFAULT 0;
