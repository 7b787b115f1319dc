//! Throwaway PostgreSQL databases for tests, on the server named by `PORTICO_TEST_PG_URL`
//! (CI sets it to this machine's server). Each [`TestDatabase`] has a unique name and is dropped
//! from the server when the value is dropped, also when a test panics.
//!
//! Uses the `psql` client, which comes with the server, so that tests of any crate can make
//! databases without a database driver of their own.

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The server to create test databases on.
#[derive(Debug, Clone)]
pub struct TestServer {
    admin_url: String,
}

/// One test database; dropped from the server on drop.
#[derive(Debug)]
pub struct TestDatabase {
    /// Connection URL of the database.
    pub url: String,
    name: String,
    admin_url: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl TestServer {
    /// The server from `PORTICO_TEST_PG_URL`, if set and not empty.
    pub fn from_env() -> Option<Self> {
        let admin_url = std::env::var("PORTICO_TEST_PG_URL").ok()?;
        (!admin_url.trim().is_empty()).then_some(Self { admin_url })
    }

    /// Creates a database with a unique name.
    ///
    /// # Panics
    /// When `psql` fails: the test cannot run without its database.
    #[allow(clippy::panic)]
    pub fn create_database(&self) -> TestDatabase {
        let name = format!(
            "portico_test_{}_{}_{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis()),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        if let Err(err) = psql(&self.admin_url, &format!("CREATE DATABASE {name}")) {
            panic!("cannot create a test database on PORTICO_TEST_PG_URL: {err}");
        }
        TestDatabase {
            url: replace_database(&self.admin_url, &name),
            name,
            admin_url: self.admin_url.clone(),
        }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Best effort: a failure here must not hide the test's own result.
        let _ = psql(
            &self.admin_url,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

fn psql(url: &str, sql: &str) -> Result<(), String> {
    let output = Command::new("psql")
        .arg(url)
        .args(["-v", "ON_ERROR_STOP=1", "-q", "-c", sql])
        .output()
        .map_err(|err| format!("cannot run psql: {err}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&output.stderr).into_owned())
    }
}

/// `postgres://user@host:port/db?x` with the database part replaced.
fn replace_database(url: &str, database: &str) -> String {
    let (base, query) = url
        .split_once('?')
        .map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let root = base[scheme_end..]
        .find('/')
        .map_or(base, |i| &base[..scheme_end + i]);
    match query {
        Some(q) => format!("{root}/{database}?{q}"),
        None => format!("{root}/{database}"),
    }
}

#[cfg(test)]
mod tests {
    use super::replace_database;

    #[test]
    fn replaces_the_database_of_a_url() {
        assert_eq!(
            replace_database("postgres://postgres@127.0.0.1:5432/postgres", "t1"),
            "postgres://postgres@127.0.0.1:5432/t1"
        );
        assert_eq!(
            replace_database("postgres://u:p@h/db?sslmode=disable", "t2"),
            "postgres://u:p@h/t2?sslmode=disable"
        );
        assert_eq!(replace_database("postgres://h", "t3"), "postgres://h/t3");
    }
}
