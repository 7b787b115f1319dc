//! Compatibility with Backstage's own client: a real `portico serve` on 127.0.0.1, loaded with
//! Backstage's example catalog through `catalog.locations`, driven by the pinned npm package
//! `@backstage/catalog-client` (tests/compat/catalog-client/check.mjs) — getEntities,
//! queryEntities, getEntitiesByRefs, getEntityByRef, getEntityFacets, addLocation (dry run and
//! real), getLocationByRef, removeEntityByUid, refreshEntity, validateEntity.
//!
//! Needs Node.js and npm (on every machine of this project); the npm package is installed from
//! the lock file on first use.

// Test code: a failed unwrap is a failed test with its location.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn examples() -> PathBuf {
    repo().join("../shared/testdata/backstage-examples")
}

/// Installs the client from the lock file if it is not there yet.
fn install_client(dir: &Path) {
    if dir
        .join("node_modules/@backstage/catalog-client/package.json")
        .exists()
    {
        return;
    }
    let status = Command::new("npm")
        .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
        .current_dir(dir)
        .status()
        .expect("npm is needed for the Backstage client compatibility test");
    assert!(status.success(), "npm ci failed in {}", dir.display());
}

/// Waits until `/readyz` answers 200: the catalog is loaded and its locations registered.
fn wait_until_ready(base: &str) {
    let address = base.trim_start_matches("http://").to_owned();
    let started = std::time::Instant::now();
    loop {
        let ready = std::net::TcpStream::connect(&address)
            .ok()
            .and_then(|mut stream| {
                use std::io::{Read, Write};
                write!(
                    stream,
                    "GET /readyz HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
                )
                .ok()?;
                let mut answer = String::new();
                stream.read_to_string(&mut answer).ok()?;
                Some(answer.starts_with("HTTP/1.1 200"))
            });
        if ready == Some(true) {
            return;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "portico never became ready"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Stops the server when the test ends, also on failure.
struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

#[test]
fn backstage_catalog_client_drives_portico() {
    let client_dir = repo().join("tests/compat/catalog-client");
    install_client(&client_dir);

    let work = tempfile::tempdir().unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\ncatalog:\n  locations:\n    - type: file\n      target: {}\n    - type: file\n      target: {}\n",
            work.path().join("data").display(),
            examples().join("all.yaml").display(),
            examples().join("acme-corp.yaml").display(),
        ),
    )
    .unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config)
        .current_dir(work.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let server = Server(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("Portico listening on ")
        .unwrap_or_else(|| panic!("unexpected first line from portico serve: {line:?}"))
        .to_owned();

    wait_until_ready(&base);

    let output = Command::new("node")
        .arg("check.mjs")
        .arg(&base)
        .arg(examples().join("all-domains.yaml"))
        .current_dir(&client_dir)
        .output()
        .expect("node is needed for the Backstage client compatibility test");
    let text = String::from_utf8_lossy(&output.stdout);
    println!("{text}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    drop(server);
    assert!(
        output.status.success(),
        "the Backstage client checks failed:\n{text}"
    );
    assert!(text.contains("13 passed, 0 failed"), "{text}");
}
