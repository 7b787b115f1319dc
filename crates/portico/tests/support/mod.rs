//! What the TechDocs tests of a real `portico serve` share: the process (stopped with SIGTERM
//! when dropped, as an operator would), its start on 127.0.0.1:0, and polling a URL until the
//! answer is the expected one.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A child process, terminated and reaped when dropped.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

/// Starts `portico serve --config <config>` in `work` on a free port; returns it and its base URL.
pub fn start_portico(config: &Path, work: &Path) -> (Killed, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_portico"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(config)
        .current_dir(work)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).unwrap();
    let base = line
        .trim()
        .strip_prefix("Portico listening on ")
        .unwrap_or_else(|| panic!("unexpected first line: {line}"))
        .to_owned();
    (Killed(child), base)
}

/// GETs `url` until `done` holds; returns the body. The deadline only keeps a broken server
/// from hanging the suite; nothing about timing is asserted.
pub async fn poll(client: &reqwest::Client, url: &str, done: impl Fn(u16, &str) -> bool) -> String {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Ok(response) = client.get(url).send().await {
            let status = response.status().as_u16();
            let body = response.text().await.unwrap_or_default();
            if done(status, &body) {
                return body;
            }
            if Instant::now() > deadline {
                panic!("{url} never got there; last answer {status}: {body}");
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
