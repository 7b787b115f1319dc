//! Portico's SQL storage: one implementation of the `portico-store` traits over sqlx's `Any`
//! driver, for an embedded SQLite file (the default) and PostgreSQL.
//!
//! The SQL is portable (`$n` parameters, `TEXT` and `BIGINT` columns, `RETURNING`); where the
//! dialects differ (lease claiming with `FOR UPDATE SKIP LOCKED`, connection pragmas) the code
//! branches on [`Dialect`]. Migrations are versioned per dialect and run at connect; a database
//! with a newer schema than this binary knows is refused.

mod catalog;
mod migrate;
mod tasks;
mod techdocs;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use portico_store::{StoreError, StoreResult};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use migrate::SCHEMA_VERSION;

/// Which database a [`SqlStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// An embedded SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Dialect {
    /// What a lease claim's inner `SELECT` ends with: PostgreSQL skips rows another replica is
    /// claiming; SQLite has one writer at a time, so the claiming update is atomic as it is.
    pub(crate) fn claim_lock(self) -> &'static str {
        match self {
            Self::Postgres => " FOR UPDATE SKIP LOCKED",
            Self::Sqlite => "",
        }
    }
}

/// The catalog store on SQLite or PostgreSQL.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    dialect: Dialect,
    /// Names this handle in the change sequence (`final_entities.changed_by`), so that its
    /// engine can skip its own changes when it catches up with other processes'.
    writer: std::sync::Arc<str>,
}

impl SqlStore {
    /// Opens (creating if needed) the SQLite database at `path` and migrates it.
    pub async fn open_sqlite(path: &Path) -> StoreResult<Self> {
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent).map_err(|err| {
                StoreError::Database(format!(
                    "cannot create the folder {} for the database: {err}",
                    parent.display()
                ))
            })?;
        }
        let url = format!("sqlite://{}?mode=rwc", path.display());
        Self::connect(&url).await
    }

    /// Connects to `url` (`sqlite://…` or `postgres://…`) and migrates the database.
    pub async fn connect(url: &str) -> StoreResult<Self> {
        sqlx::any::install_default_drivers();
        let dialect = if url.starts_with("sqlite:") {
            Dialect::Sqlite
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            Dialect::Postgres
        } else {
            return Err(StoreError::Database(format!(
                "unsupported database URL {url:?}; use sqlite://<path> or postgres://<user>@<host>/<db>"
            )));
        };
        let options = AnyConnectOptions::from_str(url).map_err(database_error)?;
        let pool_options = AnyPoolOptions::new()
            .acquire_timeout(Duration::from_secs(10))
            .max_connections(match dialect {
                // One writer at a time either way; a few readers.
                Dialect::Sqlite => 4,
                Dialect::Postgres => 8,
            })
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if dialect == Dialect::Sqlite {
                        // WAL lets readers proceed during a write; NORMAL is durable in WAL
                        // mode except for the last commits before a power loss (not a crash).
                        // Checkpointing every 4,000 pages instead of 1,000 writes pages that bulk
                        // ingestion updates repeatedly fewer times (BENCHMARKS.md). 16 KiB
                        // pages (set only when the file is created) hold several entity rows
                        // each, so b-trees are shallower and a first load does fewer page writes
                        // and reads: 100k entities took 38 s instead of 45 s (BENCHMARKS.md).
                        conn.execute(
                            "PRAGMA page_size = 16384; PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; \
                             PRAGMA busy_timeout = 10000; PRAGMA foreign_keys = ON; \
                             PRAGMA wal_autocheckpoint = 4000;",
                        )
                        .await?;
                    }
                    Ok(())
                })
            });
        let pool = pool_options
            .connect_with(options)
            .await
            .map_err(database_error)?;
        let store = Self {
            pool,
            dialect,
            writer: uuid::Uuid::new_v4().to_string().into(),
        };
        migrate::run(&store.pool, dialect).await?;
        Ok(store)
    }

    /// Which database this is.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    /// Closes the connections.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

pub(crate) fn database_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            StoreError::Conflict(db.message().to_owned())
        }
        _ => StoreError::Database(err.to_string()),
    }
}
