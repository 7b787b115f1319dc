//! A real S3-compatible server for tests: s3s-fs (from crates.io; it verifies SigV4
//! signatures) on a free port of 127.0.0.1, keeping each bucket as a folder. Killed when the
//! [`S3sServer`] is dropped, also when a test panics.
//!
//! The binary comes from `PORTICO_S3S_FS`, the CI cache `~/.cache/portico-peers/s3s-fs` (where
//! `.ci/run` installs it) or `PATH`. Without it, [`S3sServer::start`] says that the test did
//! not run and returns `None`, except under `CI=true`, where a missing peer fails the test.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// The access key every test server accepts.
pub const ACCESS_KEY: &str = "AKIDPORTICOTEST";
/// Its secret key.
pub const SECRET_KEY: &str = "portico-test-secret";

/// A running s3s-fs.
#[derive(Debug)]
pub struct S3sServer {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
}

impl Drop for S3sServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The s3s-fs binary, if installed.
pub fn binary() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("PORTICO_S3S_FS") {
        return Some(PathBuf::from(path));
    }
    let home = std::env::var("HOME").unwrap_or_default();
    let cached = Path::new(&home).join(".cache/portico-peers/s3s-fs/bin/s3s-fs");
    if cached.is_file() {
        return Some(cached);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s3s-fs"))
            .find(|candidate| candidate.is_file())
    })
}

impl S3sServer {
    /// Starts s3s-fs over the folder `objects` with `buckets` in it, and waits until it
    /// listens. `what` names the tests that need it, for the message when it is missing.
    ///
    /// # Panics
    /// Under `CI=true` when s3s-fs is not installed, and when it cannot be started.
    // Saying that a test did not run is what stderr is for here.
    #[allow(clippy::print_stderr, clippy::panic)]
    pub fn start(objects: &Path, buckets: &[&str], what: &str) -> Option<Self> {
        let Some(binary) = binary() else {
            let message = format!(
                "s3s-fs is not installed (cargo install s3s-fs@0.14.1 --features binary --locked \
                 --root ~/.cache/portico-peers/s3s-fs): {what} did not run"
            );
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
            eprintln!("\n!!!!!!!!\n!!! {message}\n!!!!!!!!\n");
            return None;
        };
        for bucket in buckets {
            if let Err(err) = std::fs::create_dir_all(objects.join(bucket)) {
                panic!("cannot create the bucket folder {bucket}: {err}");
            }
        }
        let port = match TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()) {
            Ok(address) => address.port(),
            Err(err) => panic!("no free port on 127.0.0.1: {err}"),
        };
        let child = match Command::new(&binary)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(objects)
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
        {
            Ok(child) => child,
            Err(err) => panic!("cannot start {}: {err}", binary.display()),
        };
        let server = Self {
            child,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        // The bound only keeps a broken binary from hanging the suite.
        for _ in 0..600 {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Some(server);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("s3s-fs did not listen on port {port} within 30 s");
    }
}
