//! [`TechDocsStore`] on SQLite and PostgreSQL: one row per site in `techdocs_sites` and one
//! per documented entity in `techdocs_entities` (`0006_techdocs_sites.sql`). Enqueueing is an
//! upsert whose update only fires when the hash differs (or a retry is asked for), so replicas
//! that scan the same catalog queue each build once; claims use `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL.

use portico_store::{
    BuildOutcome, DocsBuildRecord, DocsEntityRow, Requeue, StoreResult, TechDocsStore,
};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, database_error};

const SITE_COLUMNS: &str = "site_key, spec, source_hash, built_hash, state, requested_at, \
    started_at, last_built_at, duration_ms, warnings, error, lease_owner, lease_until, attempts";

/// [`SITE_COLUMNS`] qualified with the `s` alias (for joins).
const SITE_COLUMNS_S: &str = "s.site_key, s.spec, s.source_hash, s.built_hash, s.state, \
    s.requested_at, s.started_at, s.last_built_at, s.duration_ms, s.warnings, s.error, \
    s.lease_owner, s.lease_until, s.attempts";

fn build_from_row(row: &AnyRow) -> StoreResult<DocsBuildRecord> {
    let get = |row: &AnyRow| -> Result<DocsBuildRecord, sqlx::Error> {
        Ok(DocsBuildRecord {
            site_key: row.try_get("site_key")?,
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
        site_key: &str,
        source_hash: &str,
        spec_json: &str,
        requeue: Requeue,
        now: i64,
    ) -> StoreResult<bool> {
        let retry = match requeue {
            Requeue::IfChanged => 0_i64,
            Requeue::RetryFailed => 1,
            Requeue::Always => 2,
        };
        // The warnings and error of the last finished build stay until the next one ends, so
        // the reader keeps showing them while a rebuild is queued; a missing mkdocs.yml was
        // no build, and it is not missing any more.
        let done = sqlx::query(
            "INSERT INTO techdocs_sites (site_key, spec, source_hash, state, requested_at) \
             VALUES ($1, $2, $3, 'queued', $4) \
             ON CONFLICT (site_key) DO UPDATE SET spec = excluded.spec, \
             error = CASE WHEN techdocs_sites.state = 'no-config' THEN NULL \
             ELSE techdocs_sites.error END, \
             source_hash = excluded.source_hash, state = 'queued', \
             requested_at = excluded.requested_at, lease_owner = NULL, lease_until = NULL, \
             attempts = 0 \
             WHERE techdocs_sites.source_hash <> excluded.source_hash \
             OR ($5 >= 1 AND techdocs_sites.state IN ('failed', 'no-config')) \
             OR ($5 = 2 AND techdocs_sites.state <> 'queued')",
        )
        .bind(site_key)
        .bind(spec_json)
        .bind(source_hash)
        .bind(now)
        .bind(retry)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn record_unbuildable(
        &self,
        site_key: &str,
        source_hash: &str,
        spec_json: &str,
        state: &str,
        error: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "INSERT INTO techdocs_sites (site_key, spec, source_hash, state, requested_at, error) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (site_key) DO UPDATE SET spec = excluded.spec, \
             source_hash = excluded.source_hash, state = excluded.state, \
             requested_at = excluded.requested_at, error = excluded.error, warnings = '[]', \
             lease_owner = NULL, lease_until = NULL, attempts = 0 \
             WHERE techdocs_sites.source_hash <> excluded.source_hash \
             OR techdocs_sites.state <> excluded.state",
        )
        .bind(site_key)
        .bind(spec_json)
        .bind(source_hash)
        .bind(state)
        .bind(now)
        .bind(error)
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
            "UPDATE techdocs_sites SET state = 'building', lease_owner = $1, lease_until = $2, \
             started_at = $3, attempts = attempts + 1 WHERE site_key = \
             (SELECT site_key FROM techdocs_sites WHERE state = 'queued' \
              OR (state = 'building' AND (lease_until IS NULL OR lease_until < $3)) \
              ORDER BY requested_at, site_key LIMIT 1{lock}) RETURNING {SITE_COLUMNS}"
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
        site_key: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE techdocs_sites SET lease_until = $1 \
             WHERE site_key = $2 AND lease_owner = $3 AND state = 'building'",
        )
        .bind(now.saturating_add(lease_ms))
        .bind(site_key)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn finish_build(
        &self,
        site_key: &str,
        owner: &str,
        outcome: BuildOutcome,
    ) -> StoreResult<bool> {
        let done = match &outcome.error {
            None => sqlx::query(
                "UPDATE techdocs_sites SET state = 'built', \
                 source_hash = COALESCE($6, source_hash), \
                 built_hash = COALESCE($6, source_hash), \
                 last_built_at = $1, duration_ms = $2, warnings = $3, error = NULL, \
                 lease_owner = NULL, lease_until = NULL \
                 WHERE site_key = $4 AND lease_owner = $5 AND state = 'building'",
            )
            .bind(outcome.now)
            .bind(outcome.duration_ms)
            .bind(outcome.warnings_json)
            .bind(site_key)
            .bind(owner)
            .bind(outcome.content_hash),
            Some(error) => sqlx::query(
                "UPDATE techdocs_sites SET state = 'failed', error = $1, duration_ms = $2, \
                 warnings = $3, lease_owner = NULL, lease_until = NULL \
                 WHERE site_key = $4 AND lease_owner = $5 AND state = 'building'",
            )
            .bind(error.clone())
            .bind(outcome.duration_ms)
            .bind(outcome.warnings_json)
            .bind(site_key)
            .bind(owner),
        }
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn docs_site(&self, site_key: &str) -> StoreResult<Option<DocsBuildRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SITE_COLUMNS} FROM techdocs_sites WHERE site_key = $1"
        )))
        .bind(site_key)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .as_ref()
        .map(build_from_row)
        .transpose()
    }

    async fn docs_build(&self, entity_ref: &str) -> StoreResult<Option<DocsBuildRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {SITE_COLUMNS_S} FROM techdocs_entities e \
             JOIN techdocs_sites s ON s.site_key = e.site_key WHERE e.entity_ref = $1"
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
            "SELECT {SITE_COLUMNS} FROM techdocs_sites ORDER BY site_key"
        )))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(build_from_row)
        .collect()
    }

    async fn map_docs_entities(&self, rows: &[DocsEntityRow]) -> StoreResult<Vec<String>> {
        let mut changed = Vec::new();
        if rows.is_empty() {
            return Ok(changed);
        }
        let mut tx = self.begin().await?;
        for row in rows {
            let done = sqlx::query(
                "INSERT INTO techdocs_entities (entity_ref, site_key) VALUES ($1, $2) \
                 ON CONFLICT (entity_ref) DO UPDATE SET site_key = excluded.site_key \
                 WHERE techdocs_entities.site_key <> excluded.site_key",
            )
            .bind(&row.entity_ref)
            .bind(&row.site_key)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?;
            if done.rows_affected() == 1 {
                changed.push(row.entity_ref.clone());
            }
        }
        // A site that lost its last entity to another site is not documented any more.
        sqlx::query(
            "DELETE FROM techdocs_sites WHERE NOT EXISTS \
             (SELECT 1 FROM techdocs_entities e WHERE e.site_key = techdocs_sites.site_key)",
        )
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        tx.commit().await.map_err(database_error)?;
        Ok(changed)
    }

    async fn unmap_docs_entities(&self, entity_refs: &[String]) -> StoreResult<usize> {
        if entity_refs.is_empty() {
            return Ok(0);
        }
        let mut tx = self.begin().await?;
        let mut removed = 0;
        for entity_ref in entity_refs {
            let done = sqlx::query("DELETE FROM techdocs_entities WHERE entity_ref = $1")
                .bind(entity_ref)
                .execute(&mut *tx)
                .await
                .map_err(database_error)?;
            removed += usize::try_from(done.rows_affected()).unwrap_or(0);
        }
        sqlx::query(
            "DELETE FROM techdocs_sites WHERE NOT EXISTS \
             (SELECT 1 FROM techdocs_entities e WHERE e.site_key = techdocs_sites.site_key)",
        )
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        tx.commit().await.map_err(database_error)?;
        Ok(removed)
    }

    async fn docs_entities(&self) -> StoreResult<Vec<DocsEntityRow>> {
        sqlx::query("SELECT entity_ref, site_key FROM techdocs_entities ORDER BY entity_ref")
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?
            .iter()
            .map(|row| {
                Ok(DocsEntityRow {
                    entity_ref: row.try_get("entity_ref").map_err(database_error)?,
                    site_key: row.try_get("site_key").map_err(database_error)?,
                })
            })
            .collect()
    }

    async fn site_entities(&self, site_key: &str) -> StoreResult<Vec<String>> {
        sqlx::query(
            "SELECT entity_ref FROM techdocs_entities WHERE site_key = $1 ORDER BY entity_ref",
        )
        .bind(site_key)
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| row.try_get("entity_ref").map_err(database_error))
        .collect()
    }
}
