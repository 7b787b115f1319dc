//! [`TaskStore`] on SQLite and PostgreSQL: tasks and their events in two tables
//! (`0003_scaffolder.sql`); claims use `FOR UPDATE SKIP LOCKED` on PostgreSQL so several
//! workers never take the same task.

use portico_store::{
    Heartbeat, NewTask, StoreResult, TaskEventRecord, TaskFilter, TaskRecord, TaskStore,
};
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::{SqlStore, database_error};

const TASK_COLUMNS: &str = "id, spec, status, created_by, has_secrets, created_at, \
    last_heartbeat_at, lease_owner, attempts, cancel_requested";

fn task_from_row(row: &AnyRow) -> StoreResult<TaskRecord> {
    let get = |row: &AnyRow| -> Result<TaskRecord, sqlx::Error> {
        Ok(TaskRecord {
            id: row.try_get("id")?,
            spec_json: row.try_get("spec")?,
            status: row.try_get("status")?,
            created_by: row.try_get("created_by")?,
            has_secrets: row.try_get::<i64, _>("has_secrets")? != 0,
            created_at: row.try_get("created_at")?,
            last_heartbeat_at: row.try_get("last_heartbeat_at")?,
            lease_owner: row.try_get("lease_owner")?,
            attempts: row.try_get("attempts")?,
            cancel_requested: row.try_get::<i64, _>("cancel_requested")? != 0,
        })
    };
    get(row).map_err(database_error)
}

fn to_i64(value: usize) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

impl TaskStore for SqlStore {
    async fn create_task(&self, task: NewTask) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO scaffolder_tasks (id, spec, status, created_by, has_secrets, created_at) \
             VALUES ($1, $2, 'open', $3, $4, $5)",
        )
        .bind(task.id)
        .bind(task.spec_json)
        .bind(task.created_by)
        .bind(i64::from(task.has_secrets))
        .bind(task.created_at)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(())
    }

    async fn task(&self, id: &str) -> StoreResult<Option<TaskRecord>> {
        sqlx::query(AssertSqlSafe(format!(
            "SELECT {TASK_COLUMNS} FROM scaffolder_tasks WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?
        .as_ref()
        .map(task_from_row)
        .transpose()
    }

    async fn list_tasks(&self, filter: &TaskFilter) -> StoreResult<(Vec<TaskRecord>, u64)> {
        // Placeholders for the IN lists; the values are bound, never spliced.
        let mut conditions = Vec::new();
        let mut next = 1;
        let mut list = |column: &str, count: usize, conditions: &mut Vec<String>| {
            if count > 0 {
                let marks: Vec<String> = (0..count).map(|i| format!("${}", next + i)).collect();
                next += count;
                conditions.push(format!("{column} IN ({})", marks.join(", ")));
            }
        };
        list("created_by", filter.created_by.len(), &mut conditions);
        list("status", filter.status.len(), &mut conditions);
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let order = if filter.newest_first { "DESC" } else { "ASC" };
        let binds: Vec<&String> = filter.created_by.iter().chain(&filter.status).collect();
        let count_sql = format!("SELECT COUNT(*) AS n FROM scaffolder_tasks{where_clause}");
        let mut count = sqlx::query(AssertSqlSafe(count_sql));
        for value in &binds {
            count = count.bind(value.as_str());
        }
        let total: i64 = count
            .fetch_one(&self.pool)
            .await
            .and_then(|row| row.try_get("n"))
            .map_err(database_error)?;
        let sql = format!(
            "SELECT {TASK_COLUMNS} FROM scaffolder_tasks{where_clause} \
             ORDER BY created_at {order}, id {order} LIMIT ${} OFFSET ${}",
            next,
            next + 1
        );
        let mut query = sqlx::query(AssertSqlSafe(sql));
        for value in &binds {
            query = query.bind(value.as_str());
        }
        let rows = query
            .bind(to_i64(filter.limit))
            .bind(to_i64(filter.offset))
            .fetch_all(&self.pool)
            .await
            .map_err(database_error)?;
        let tasks = rows
            .iter()
            .map(task_from_row)
            .collect::<StoreResult<Vec<_>>>()?;
        Ok((tasks, u64::try_from(total).unwrap_or(0)))
    }

    async fn claim_task(
        &self,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<Option<TaskRecord>> {
        let lock = self.dialect.claim_lock();
        let sql = format!(
            "UPDATE scaffolder_tasks SET status = 'processing', lease_owner = $1, lease_until = $2, \
             last_heartbeat_at = $3, attempts = attempts + 1 WHERE id = \
             (SELECT id FROM scaffolder_tasks WHERE status = 'open' \
              OR (status = 'processing' AND (lease_until IS NULL OR lease_until < $3)) \
              ORDER BY created_at, id LIMIT 1{lock}) RETURNING {TASK_COLUMNS}"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(owner)
            .bind(now.saturating_add(lease_ms))
            .bind(now)
            .fetch_optional(&self.pool)
            .await
            .map_err(database_error)?
            .as_ref()
            .map(task_from_row)
            .transpose()
    }

    async fn heartbeat(
        &self,
        id: &str,
        owner: &str,
        now: i64,
        lease_ms: i64,
    ) -> StoreResult<Heartbeat> {
        let row = sqlx::query(
            "UPDATE scaffolder_tasks SET lease_until = $1, last_heartbeat_at = $2 \
             WHERE id = $3 AND lease_owner = $4 AND status = 'processing' RETURNING cancel_requested",
        )
        .bind(now.saturating_add(lease_ms))
        .bind(now)
        .bind(id)
        .bind(owner)
        .fetch_optional(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(match row {
            Some(row) => Heartbeat {
                owned: true,
                cancel_requested: row
                    .try_get::<i64, _>("cancel_requested")
                    .map_err(database_error)?
                    != 0,
            },
            None => Heartbeat {
                owned: false,
                cancel_requested: false,
            },
        })
    }

    async fn finish_task(
        &self,
        id: &str,
        owner: &str,
        status: &str,
        now: i64,
    ) -> StoreResult<bool> {
        let done = sqlx::query(
            "UPDATE scaffolder_tasks SET status = $1, lease_owner = NULL, lease_until = NULL, \
             last_heartbeat_at = $2 WHERE id = $3 AND lease_owner = $4 AND status = 'processing'",
        )
        .bind(status)
        .bind(now)
        .bind(id)
        .bind(owner)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn request_cancel(&self, id: &str) -> StoreResult<Option<String>> {
        sqlx::query(
            "UPDATE scaffolder_tasks SET status = 'cancelled' WHERE id = $1 AND status = 'open'",
        )
        .bind(id)
        .execute(&self.pool)
        .await
        .map_err(database_error)?;
        sqlx::query("UPDATE scaffolder_tasks SET cancel_requested = 1 WHERE id = $1 AND status = 'processing'")
            .bind(id)
            .execute(&self.pool)
            .await
            .map_err(database_error)?;
        sqlx::query("SELECT status FROM scaffolder_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await
            .map_err(database_error)?
            .map(|row| row.try_get::<String, _>("status").map_err(database_error))
            .transpose()
    }

    async fn retry_task(
        &self,
        id: &str,
        has_secrets: bool,
        body_json: &str,
        now: i64,
    ) -> StoreResult<Option<String>> {
        let mut tx = self.begin().await?;
        let Some(status) = sqlx::query("SELECT status FROM scaffolder_tasks WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *tx)
            .await
            .map_err(database_error)?
            .map(|row| row.try_get::<String, _>("status").map_err(database_error))
            .transpose()?
        else {
            return Ok(None);
        };
        if !matches!(status.as_str(), "completed" | "failed" | "cancelled") {
            return Ok(Some(status));
        }
        sqlx::query(
            "UPDATE scaffolder_tasks SET status = 'open', lease_owner = NULL, lease_until = NULL, \
             attempts = 0, cancel_requested = 0, has_secrets = $1, last_heartbeat_at = $2 \
             WHERE id = $3",
        )
        .bind(i64::from(has_secrets))
        .bind(now)
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        sqlx::query(
            "DELETE FROM scaffolder_task_events WHERE task_id = $1 \
             AND event_type IN ('completion', 'cancelled')",
        )
        .bind(id)
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        sqlx::query(
            "INSERT INTO scaffolder_task_events (task_id, event_type, body, created_at) \
             VALUES ($1, 'recovered', $2, $3)",
        )
        .bind(id)
        .bind(body_json)
        .bind(now)
        .execute(&mut *tx)
        .await
        .map_err(database_error)?;
        tx.commit().await.map_err(database_error)?;
        Ok(Some(status))
    }

    async fn append_event(
        &self,
        task_id: &str,
        event_type: &str,
        body_json: &str,
        now: i64,
    ) -> StoreResult<i64> {
        sqlx::query(
            "INSERT INTO scaffolder_task_events (task_id, event_type, body, created_at) \
             VALUES ($1, $2, $3, $4) RETURNING id",
        )
        .bind(task_id)
        .bind(event_type)
        .bind(body_json)
        .bind(now)
        .fetch_one(&self.pool)
        .await
        .and_then(|row| row.try_get::<i64, _>("id"))
        .map_err(database_error)
    }

    async fn task_events(
        &self,
        task_id: &str,
        after: Option<i64>,
    ) -> StoreResult<Vec<TaskEventRecord>> {
        let rows = sqlx::query(
            "SELECT id, task_id, event_type, body, created_at FROM scaffolder_task_events \
             WHERE task_id = $1 AND id > $2 ORDER BY id",
        )
        .bind(task_id)
        .bind(after.unwrap_or(0))
        .fetch_all(&self.pool)
        .await
        .map_err(database_error)?;
        rows.iter()
            .map(|row| {
                Ok(TaskEventRecord {
                    id: row.try_get("id")?,
                    task_id: row.try_get("task_id")?,
                    event_type: row.try_get("event_type")?,
                    body_json: row.try_get("body")?,
                    created_at: row.try_get("created_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()
            .map_err(database_error)
    }
}
