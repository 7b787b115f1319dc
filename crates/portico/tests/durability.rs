//! Durability: a real `portico` process is killed with SIGKILL in the middle of ingesting a
//! generated catalog; the database must be consistent, and processing after the restart must
//! finish the job with every entity present exactly once.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use portico_testkit::catalog_gen::{CatalogSpec, generate, write_to_dir};

fn portico() -> Command {
    Command::new(env!("CARGO_BIN_EXE_portico"))
}

/// Runs `portico <args> --database <database>` and returns its stdout; fails the test if it fails.
fn run_ok(args: &[&str], database: &Path) -> Vec<u8> {
    let output = portico()
        .args(args)
        .arg("--database")
        .arg(database)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

fn stats(database: &Path) -> serde_json::Value {
    serde_json::from_slice(&run_ok(&["catalog", "stats"], database)).unwrap()
}

#[test]
fn kill_9_during_ingestion_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let catalog = generate(&CatalogSpec::new(20_000));
    write_to_dir(&catalog, &dir.path().join("catalog")).unwrap();
    let database = dir.path().join("data/portico.db");
    let root = dir.path().join("catalog/all.yaml");

    let mut child = portico()
        .args([
            "catalog",
            "register",
            "file",
            root.to_str().unwrap(),
            "--database",
        ])
        .arg(&database)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // Kill it once it has committed some work (the write-ahead log has grown) but, for a
    // catalog this size, long before it finishes.
    let wal = dir.path().join("data/portico.db-wal");
    let started = Instant::now();
    while std::fs::metadata(&wal).map_or(0, |m| m.len()) < 2 * 1024 * 1024 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "ingestion never started"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "ingestion finished before it could be killed"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();

    let partial = stats(&database);
    let partial_count = partial["entities"].as_u64().unwrap();
    assert!(
        partial_count < 20_002,
        "the kill came after ingestion finished; nothing was tested ({partial})"
    );

    // The restart resumes: every source left due is processed.
    run_ok(&["catalog", "process"], &database);
    let complete = stats(&database);
    // The generated entities, the root Location file's entity and the registered location's
    // generated Location entity.
    assert_eq!(complete["entities"], 20_002, "{complete}");
    let kinds = &complete["kinds"];
    for (kind, count) in catalog.counts.iter() {
        assert_eq!(kinds[kind], count, "{kind}: {complete}");
    }
}
