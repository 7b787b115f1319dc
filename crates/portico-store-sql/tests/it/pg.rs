//! Throwaway PostgreSQL databases for tests: created on the server named by
//! `PORTICO_TEST_PG_URL` with a unique name, and dropped afterwards.

use sqlx::{Connection, PgConnection};

/// The server to create test databases on.
pub struct TestServer {
    admin_url: String,
}

/// One test database; dropped from the server when this value is dropped, also when a test
/// panics.
pub struct TestDatabase {
    pub url: String,
    name: String,
    admin_url: String,
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let name = self.name.clone();
        // Drop cannot be async: use a short-lived runtime on its own thread.
        let done = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build();
            if let Ok(runtime) = runtime {
                runtime.block_on(async {
                    if let Ok(mut conn) = PgConnection::connect(&admin_url).await {
                        let sql = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
                        let _ = sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                            .execute(&mut conn)
                            .await;
                        let _ = conn.close().await;
                    }
                });
            }
        });
        let _ = done.join();
    }
}

impl TestServer {
    /// The server from `PORTICO_TEST_PG_URL`, if set.
    pub fn from_env() -> Option<Self> {
        let admin_url = std::env::var("PORTICO_TEST_PG_URL").ok()?;
        (!admin_url.trim().is_empty()).then_some(Self { admin_url })
    }

    /// Creates a database with a unique name.
    pub async fn create_database(&self) -> TestDatabase {
        let name = format!("portico_test_{}", uuid_like());
        let mut conn = PgConnection::connect(&self.admin_url).await.unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut conn)
            .await
            .unwrap();
        conn.close().await.unwrap();
        let url = replace_database(&self.admin_url, &name);
        TestDatabase {
            url,
            name,
            admin_url: self.admin_url.clone(),
        }
    }
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{}_{}", std::process::id(), nanos)
}

/// `postgres://user@host:port/db?x` with the database part replaced.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map(|i| scheme_end + i);
    let root = path_start.map_or(base, |i| &base[..i]);
    match query {
        Some(q) => format!("{root}/{database}?{q}"),
        None => format!("{root}/{database}"),
    }
}
