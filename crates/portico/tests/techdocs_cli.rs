//! End-to-end tests of `portico techdocs build` and `portico techdocs serve`: the real binary
//! on the real fixture site, real HTTP on 127.0.0.1, a real file edit picked up by the watcher
//! and announced to the page over server-sent events.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../portico-techdocs/tests/fixtures/full-site")
}

#[test]
fn build_prints_warnings_and_a_summary_and_strict_fails() {
    let out = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["techdocs", "build"])
        .arg(fixture())
        .arg("--out")
        .arg(out.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stdout.starts_with("built 7 page(s) (7 rendered, ")
            && stdout.contains("with 9 warning(s) in "),
        "{stdout}"
    );
    assert!(
        stderr.contains("warning: docs/links.md:9: link to \"guide/nope.md\""),
        "{stderr}"
    );
    assert!(out.path().join("guide/blocks/index.html").is_file());

    let strict_out = out.path().join("strict");
    let output = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["techdocs", "build", "--strict"])
        .arg(fixture())
        .arg("--out")
        .arg(&strict_out)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("9 warning(s) in strict mode"));
    assert!(!strict_out.exists());

    let output = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["techdocs", "build"])
        .arg(out.path().join("no-such-site"))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no mkdocs.yml in"));
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    response
}

#[test]
fn serve_rebuilds_on_change_and_tells_the_page() {
    let site = tempfile::tempdir().unwrap();
    std::fs::write(site.path().join("mkdocs.yml"), "site_name: Live\n").unwrap();
    std::fs::create_dir(site.path().join("docs")).unwrap();
    std::fs::write(site.path().join("docs/index.md"), "# Live\n\nFirst.\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["techdocs", "serve", "--listen", "127.0.0.1:0", "--out"])
        .arg(out.path())
        .arg(site.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let _server = Server(child);
    let mut lines = BufReader::new(stdout).lines();
    let address = loop {
        let line = lines.next().expect("serve exited").unwrap();
        if let Some(rest) = line.split("http://").nth(1) {
            break rest
                .trim_end_matches(|c| c != '/')
                .trim_end_matches('/')
                .to_owned();
        }
    };
    let address = address.split('/').next().unwrap().to_owned();

    let page = get(&address, "/");
    assert!(
        page.starts_with("HTTP/1.1 200") || page.starts_with("HTTP/1.0 200"),
        "{page}"
    );
    assert!(page.contains("First.") && page.contains("new EventSource('/.portico/livereload')"));
    assert!(get(&address, "/assets/portico/techdocs.css").contains("text/css"));
    let escape = get(&address, "/%2e%2e/%2e%2e/etc/passwd");
    assert!(
        escape.contains(" 400 ") && !escape.contains("root:"),
        "{escape}"
    );

    // Subscribe like the page does, then edit the page.
    let mut events = TcpStream::connect(&address).unwrap();
    write!(
        events,
        "GET /.portico/livereload HTTP/1.1\r\nHost: {address}\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    events
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut seen = String::new();
    let mut buffer = [0_u8; 1024];
    // Wait for the response headers, so the subscription exists before the edit.
    let deadline = Instant::now() + Duration::from_secs(10);
    while !seen.contains("text/event-stream") && Instant::now() < deadline {
        if let Ok(n) = events.read(&mut buffer) {
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
    assert!(seen.contains("text/event-stream"), "{seen}");
    std::fs::write(
        site.path().join("docs/index.md"),
        "# Live\n\nSecond, edited.\n",
    )
    .unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !seen.contains("data: reload") && Instant::now() < deadline {
        if let Ok(n) = events.read(&mut buffer) {
            seen.push_str(&String::from_utf8_lossy(&buffer[..n]));
        }
    }
    assert!(seen.contains("data: reload"), "no reload event: {seen}");
    assert!(get(&address, "/").contains("Second, edited."));
}

#[test]
fn publish_puts_a_built_site_where_serve_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site");
    let build = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["techdocs", "build"])
        .arg(fixture())
        .arg("--out")
        .arg(&site)
        .output()
        .unwrap();
    assert!(build.status.success());
    let database = dir.path().join("data/portico.db");
    let publish = |entity: &str| {
        Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["techdocs", "publish", "--entity", entity, "--directory"])
            .arg(&site)
            .arg("--database")
            .arg(&database)
            .output()
            .unwrap()
    };
    let output = publish("default/Component/my-service");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        dir.path()
            .join("data/techdocs/default/component/my-service/guide/code/index.html")
            .is_file()
    );
    let output = publish("default/component");
    assert_eq!(output.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&output.stderr).contains("namespace/kind/name"));
    let output = publish("default/component/../../x");
    assert_eq!(output.status.code(), Some(1));
    // A bucket named for the local publisher is a mistake, not something to ignore.
    let output = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["techdocs", "publish", "--entity", "default/component/x"])
        .arg("--directory")
        .arg(&site)
        .args(["--storage-name", "bucket"])
        .arg("--database")
        .arg(&database)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("need --publisher-type awsS3"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
