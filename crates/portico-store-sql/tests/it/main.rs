//! Store tests on real databases: the conformance suite on a SQLite file, and on PostgreSQL
//! when `PORTICO_TEST_PG_URL` is set (each run creates its own database and drops it), plus
//! migration behaviour.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stderr)]

mod migrations;

use portico_store::conformance;
use portico_store_sql::SqlStore;

#[tokio::test]
async fn conformance_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    conformance::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("catalog-{n}.db"));
        async move { SqlStore::open_sqlite(&path).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn conformance_on_postgres() {
    let Some(server) = portico_testkit::pg::TestServer::from_env() else {
        eprintln!(
            "PORTICO_TEST_PG_URL is not set: the PostgreSQL conformance suite did not run (SQLite only)"
        );
        return;
    };
    let databases = std::sync::Mutex::new(Vec::new());
    conformance::run_all(|| async {
        let db = server.create_database();
        let store = SqlStore::connect(&db.url).await.unwrap();
        databases.lock().unwrap().push((db, store.clone()));
        store
    })
    .await;
    for (db, store) in databases.into_inner().unwrap() {
        store.close().await;
        drop(db);
    }
}

#[tokio::test]
async fn task_conformance_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    conformance::tasks::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("tasks-{n}.db"));
        async move { SqlStore::open_sqlite(&path).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn task_conformance_on_postgres() {
    let Some(server) = portico_testkit::pg::TestServer::from_env() else {
        eprintln!(
            "PORTICO_TEST_PG_URL is not set: the PostgreSQL task suite did not run (SQLite only)"
        );
        return;
    };
    let databases = std::sync::Mutex::new(Vec::new());
    conformance::tasks::run_all(|| async {
        let db = server.create_database();
        let store = SqlStore::connect(&db.url).await.unwrap();
        databases.lock().unwrap().push((db, store.clone()));
        store
    })
    .await;
    for (db, store) in databases.into_inner().unwrap() {
        store.close().await;
        drop(db);
    }
}

#[tokio::test]
async fn techdocs_conformance_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let counter = std::sync::atomic::AtomicUsize::new(0);
    conformance::techdocs::run_all(|| {
        let n = counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let path = dir.path().join(format!("techdocs-{n}.db"));
        async move { SqlStore::open_sqlite(&path).await.unwrap() }
    })
    .await;
}

#[tokio::test]
async fn techdocs_conformance_on_postgres() {
    let Some(server) = portico_testkit::pg::TestServer::from_env() else {
        eprintln!(
            "PORTICO_TEST_PG_URL is not set: the PostgreSQL TechDocs suite did not run (SQLite only)"
        );
        return;
    };
    let databases = std::sync::Mutex::new(Vec::new());
    conformance::techdocs::run_all(|| async {
        let db = server.create_database();
        let store = SqlStore::connect(&db.url).await.unwrap();
        databases.lock().unwrap().push((db, store.clone()));
        store
    })
    .await;
    for (db, store) in databases.into_inner().unwrap() {
        store.close().await;
        drop(db);
    }
}
