//! [`TechDocsStore`] on SQLite and PostgreSQL: one row per documented entity in
//! `techdocs_builds` (`0004_techdocs.sql`). Enqueueing is an upsert whose update only fires
//! when the hash differs (or a failure is retried), so replicas that scan the same catalog
//! queue each build once; claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL.

use portico_store::{BuildOutcome, DocsBuildRecord, StoreResult, TechDocsStore};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, database_error};

const BUILD_COLUMNS: &str = "entity_ref, spec, source_hash, built_hash, state, requested_at, \
    started_at, last_built_at, duration_ms, warnings, error, lease_owner, lease_until, attempts";

fn build_from_row(row: &AnyRow) -> StoreResult<DocsBuildRecord> {
    let get = |row: &AnyRow| -> Result<DocsBuildRecord, sqlx::Error> {
        Ok(DocsBuildRecord {
            entity_ref: row.try_get("entity_ref")?,
            spec_json: row.try_get("spec")?,
            source_hash: row.try_get("source_hash")?,
            built_hash: row.try_get("built_hash")?,
            state: row.try_get("state")?,
            requested_at: row.try_get("requested_at")?,
            started_at: row.try_get("started_at")?,
            last_built_at: row.try_get("last_built_at")?,
            duration_ms: row.try_get("duration_ms")?,
            warnings_json: row.try_get("warnings")?,
            error: row.try_get("error")?,
            lease_owner: row.try_get("lease_owner")?,
            lease_until: row.try_get("lease_until")?,
            attempts: row.try_get("attempts")?,
        })
    };
    get(row).map_err(database_error)
}

impl TechDocsStore for SqlStore {
    async fn enqueue_build(
        &self,
        entity_ref: &str,
        source_hash: &str,
        spec_json: &str,
        retry: bool,
        now: i64,
    ) -> StoreResult<bool> {
        // The warnings and error of the last finished build stay until the next one ends, so
        // the reader keeps showing them while a rebuild is queued.
        let done = sqlx::query(
            "INSERT INTO techdocs_builds (entity_ref, spec, source_hash, state, requested_at) \
             VALUES ($1, $2, $3, 'queued', $4) \
             ON CONFLICT (entity_ref) DO UPDATE SET spec = excluded.spec, \
             source_hash = excluded.source_hash, state = 'queued', \
             requested_at = excluded.requested_at, lease_owner = NULL, lease_until = NULL, \
             attempts = 0 \
             WHERE techdocs_builds.source_hash <> excluded.source_hash \
             OR ($5 = 1 AND techdocs_builds.state = 'failed')",
        )
        .bind(entity_ref)
        .bind(spec_json)
        .bind(source_hash)
        .bind(now)
        .bind(i64::from(retry))
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn claim_build(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<DocsBuildRecord>> {
        let lock = self.dialect.claim_lock();
        let sql = format!(
            "UPDATE techdocs_builds SET state = 'building', lease_owner = $1, lease_until = $2, \
             started_at = $3, attempts = attempts + 1 WHERE entity_ref = \
             (SELECT entity_ref FROM techdocs_builds WHERE state = 'queued' \
              OR (state = 'building' AND (lease_until IS NULL OR lease_until < $3)) \
              ORDER BY requested_at, entity_ref LIMIT 1{lock}) RETURNING {BUILD_COLUMNS}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(database_error)?
            .as_ref()
            .map(build_from_row)
            .transpose()
    }

    async fn heartbeat_build(
        &self,
        entity_ref: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE techdocs_builds SET lease_until = $1 \
             WHERE entity_ref = $2 AND lease_owner = $3 AND state = 'building'",
        )
        .bind(now.saturating_add(lease_ms))
        .bind(entity_ref)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_build(
        &self,
        entity_ref: &str,
        owner: &str,
        outcome: BuildOutcome,
    ) -> StoreResult<bool> {
        let query = match &outcome.error {
            None => sqlx::query(
                "UPDATE techdocs_builds SET state = 'built', built_hash = source_hash, \
                 last_built_at = $1, duration_ms = $2, warnings = $3, error = NULL, \
                 lease_owner = NULL, lease_until = NULL \
                 WHERE entity_ref = $4 AND lease_owner = $5 AND state = 'building'",
            )
            .bind(outcome.now),
            Some(error) => sqlx::query(
                "UPDATE techdocs_builds SET state = 'failed', error = $1, duration_ms = $2, \
                 warnings = $3, lease_owner = NULL, lease_until = NULL \
                 WHERE entity_ref = $4 AND lease_owner = $5 AND state = 'building'",
            )
            .bind(error.clone()),
        };
        let done = query
            .bind(outcome.duration_ms)
            .bind(outcome.warnings_json)
            .bind(entity_ref)
            .bind(owner)
            .execute(&self.pool)
            .await
            .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn docs_build(&self, entity_ref: &str) -> StoreResult<Option<DocsBuildRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {BUILD_COLUMNS} FROM techdocs_builds WHERE entity_ref = $1"
        )))
        .bind(entity_ref)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .as_ref()
        .map(build_from_row)
        .transpose()
    }

    async fn docs_builds(&self) -> StoreResult<Vec<DocsBuildRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {BUILD_COLUMNS} FROM techdocs_builds ORDER BY entity_ref"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(build_from_row)
        .collect()
    }

    async fn remove_docs_build(&self, entity_ref: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM techdocs_builds WHERE entity_ref = $1")
            .bind(entity_ref)
            .execute(&self.pool)
            .await
            .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }
}
