//! Versioned schema migrations, one list per dialect, applied in order at connect inside a
//! transaction each; every migration not recorded yet runs, also one numbered below the newest
//! recorded (merged later from a parallel branch). A database that records a version this
//! binary does not know (written by a newer Portico) is refused rather than used.

use portico_store::{StoreError, StoreResult};
use sqlx::{AnyPool, Row};

use crate::{Dialect, database_error};

/// One migration: its version, a description and the SQL per dialect.
struct Migration {
    version: i64,
    description: &'static str,
    sqlite: &'static str,
    postgres: &'static str,
}

const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        description: "catalog: locations, sources, entities, relations",
        sqlite: include_str!("../migrations/sqlite/0001_catalog.sql"),
        postgres: include_str!("../migrations/postgres/0001_catalog.sql"),
    },
    Migration {
        version: 2,
        description: "catalog: change sequence of final entities, tombstones",
        sqlite: include_str!("../migrations/sqlite/0002_change_feed.sql"),
        postgres: include_str!("../migrations/postgres/0002_change_feed.sql"),
    },
    Migration {
        version: 3,
        description: "scaffolder: tasks and task events",
        sqlite: include_str!("../migrations/sqlite/0003_scaffolder.sql"),
        postgres: include_str!("../migrations/postgres/0003_scaffolder.sql"),
    },
    Migration {
        version: 4,
        description: "techdocs: build state and jobs",
        sqlite: include_str!("../migrations/sqlite/0004_techdocs.sql"),
        postgres: include_str!("../migrations/postgres/0004_techdocs.sql"),
    },
    Migration {
        version: 5,
        description: "catalog: tombstones are pruned after a retention period",
        sqlite: include_str!("../migrations/sqlite/0005_tombstone_pruning.sql"),
        postgres: include_str!("../migrations/postgres/0005_tombstone_pruning.sql"),
    },
    Migration {
        version: 6,
        description: "techdocs: builds per site, entities mapped to sites",
        sqlite: include_str!("../migrations/sqlite/0006_techdocs_sites.sql"),
        postgres: include_str!("../migrations/postgres/0006_techdocs_sites.sql"),
    },
];

/// The newest schema version this binary knows.
pub const SCHEMA_VERSION: i64 = 6;

/// Applies every migration the database has not seen yet.
pub(crate) async fn run(pool: &AnyPool, dialect: Dialect) -> StoreResult<()> {
    sqlx::raw_sql(
        "CREATE TABLE IF NOT EXISTS portico_schema (version BIGINT PRIMARY KEY, description TEXT NOT NULL, applied_at BIGINT NOT NULL)",
    )
    .execute(pool)
    .await
    .map_err(database_error)?;
    // Versions are numbered per feature (catalog 0002, scaffolder 0003, …), so a database may
    // have a later one before an earlier one is known: every known migration that is not
    // recorded is applied, in order, not only those above the highest.
    let applied: Vec<i64> = sqlx::query("SELECT version FROM portico_schema")
        .fetch_all(pool)
        .await
        .map_err(database_error)?
        .iter()
        .map(|row| row.try_get::<i64, _>("version"))
        .collect::<Result<_, _>>()
        .map_err(database_error)?;
    let newest = applied.iter().copied().max().unwrap_or(0);
    let unknown = applied
        .iter()
        .any(|version| MIGRATIONS.iter().all(|m| m.version != *version));
    if newest > SCHEMA_VERSION || unknown {
        return Err(StoreError::SchemaTooNew(format!(
            "the database has schema version {newest}, but this Portico knows versions up to {SCHEMA_VERSION}; it was written by a newer Portico — upgrade Portico or point it at another database"
        )));
    }
    for migration in MIGRATIONS.iter().filter(|m| !applied.contains(&m.version)) {
        let sql = match dialect {
            Dialect::Sqlite => migration.sqlite,
            Dialect::Postgres => migration.postgres,
        };
        let mut tx = pool.begin().await.map_err(database_error)?;
        sqlx::raw_sql(sql)
            .execute(&mut *tx)
            .await
            .map_err(database_error)?;
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
        // A concurrent process that migrated first makes this insert fail: the transaction rolls
        // back and the schema is already current.
        let recorded = sqlx::query(
            "INSERT INTO portico_schema (version, description, applied_at) VALUES ($1, $2, $3)",
        )
        .bind(migration.version)
        .bind(migration.description)
        .bind(now)
        .execute(&mut *tx)
        .await;
        match recorded {
            Ok(_) => tx.commit().await.map_err(database_error)?,
            Err(err) => {
                tx.rollback().await.map_err(database_error)?;
                return Err(database_error(err));
            }
        }
    }
    Ok(())
}
