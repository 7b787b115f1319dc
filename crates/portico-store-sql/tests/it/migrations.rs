//! Migrations: idempotent on reopen, and a database from a newer Portico is refused with a
//! message that says what to do.

use portico_store::{CatalogStore, StoreError};
use portico_store_sql::{SCHEMA_VERSION, SqlStore};

#[tokio::test]
async fn reopening_keeps_data_and_does_not_migrate_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("data/portico.db");
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    store
        .add_location(portico_store::NewLocation {
            id: "l1".to_owned(),
            location_type: "file".to_owned(),
            target: "/x.yaml".to_owned(),
            origin: portico_store::LocationOrigin::Config,
            now: 1,
        })
        .await
        .unwrap();
    store.close().await;
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    assert_eq!(store.locations().await.unwrap().len(), 1);
    store.close().await;
}

#[tokio::test]
async fn newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portico.db");
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    store.close().await;
    {
        let url = format!("sqlite://{}", path.display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query("INSERT INTO portico_schema (version, description, applied_at) VALUES ($1, 'from the future', 0)")
            .bind(SCHEMA_VERSION + 1)
            .execute(&mut conn)
            .await
            .unwrap();
    }
    match SqlStore::open_sqlite(&path).await {
        Err(StoreError::SchemaTooNew(message)) => {
            assert!(
                message.contains(&format!("schema version {}", SCHEMA_VERSION + 1)),
                "{message}"
            );
            assert!(message.contains("upgrade Portico"), "{message}");
        }
        other => panic!("expected SchemaTooNew, got {other:?}"),
    }
}

#[tokio::test]
async fn unsupported_url_is_a_clear_error() {
    let err = SqlStore::connect("mysql://localhost/x").await.unwrap_err();
    assert!(
        err.to_string()
            .contains("use sqlite://<path> or postgres://"),
        "{err}"
    );
}

/// Versions are numbered per feature, so a database may hold a later one before an earlier one
/// exists in this binary: a known version missing from the record is applied on open.
#[tokio::test]
async fn a_missing_version_below_the_newest_is_applied() {
    use portico_store::TaskStore;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("portico.db");
    SqlStore::open_sqlite(&path).await.unwrap().close().await;
    {
        let url = format!("sqlite://{}", path.display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::raw_sql("DROP TABLE scaffolder_task_events; DROP TABLE scaffolder_tasks; DELETE FROM portico_schema WHERE version = 3; INSERT INTO portico_schema (version, description, applied_at) VALUES (1000, 'placeholder', 0)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    // Version 1000 is unknown here: refused, as a newer Portico wrote it.
    assert!(matches!(
        SqlStore::open_sqlite(&path).await,
        Err(StoreError::SchemaTooNew(_))
    ));
    {
        let url = format!("sqlite://{}", path.display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::raw_sql("DELETE FROM portico_schema WHERE version = 1000")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let store = SqlStore::open_sqlite(&path).await.unwrap();
    assert!(
        store.task("x").await.unwrap().is_none(),
        "the scaffolder tables exist again"
    );
    store.close().await;
}

/// New SQLite files get 16 KiB pages (fewer, shallower b-tree pages for entity rows); a file
/// created with another page size keeps it and opens as before.
#[tokio::test]
async fn new_sqlite_files_use_16k_pages_and_old_ones_keep_theirs() {
    async fn page_size(path: &std::path::Path) -> i64 {
        let url = format!("sqlite://{}", path.display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::query_scalar("PRAGMA page_size")
            .fetch_one(&mut conn)
            .await
            .unwrap()
    }
    let dir = tempfile::tempdir().unwrap();
    let fresh = dir.path().join("fresh.db");
    SqlStore::open_sqlite(&fresh).await.unwrap().close().await;
    assert_eq!(page_size(&fresh).await, 16384);

    let old = dir.path().join("old.db");
    {
        let url = format!("sqlite://{}?mode=rwc", old.display());
        let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
            .await
            .unwrap();
        sqlx::raw_sql("PRAGMA page_size = 4096; CREATE TABLE earlier (x INTEGER)")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    let store = SqlStore::open_sqlite(&old).await.unwrap();
    assert!(store.locations().await.unwrap().is_empty());
    store.close().await;
    assert_eq!(page_size(&old).await, 4096);
}
