//! TechDocs builds end to end through a real `portico serve`: a configured catalog location
//! whose component has `backstage.io/techdocs-ref: dir:.` gets its site built and published
//! with no other step, served by `/api/techdocs` and the `/docs` reader with its build time;
//! editing a page and asking the catalog to refresh the entity publishes the new page.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

struct Server(std::process::Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status();
        let _ = self.0.wait();
    }
}

fn start_server(config: &Path, work: &Path) -> (Server, String) {
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
        .unwrap()
        .to_owned();
    (Server(child), base)
}

/// GETs `url` until its body satisfies `done`. The deadline only keeps a broken server from
/// hanging the suite; nothing about timing is asserted.
async fn poll(client: &reqwest::Client, url: &str, done: impl Fn(u16, &str) -> bool) -> String {
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

#[tokio::test(flavor = "multi_thread")]
async fn registered_docs_are_built_served_and_rebuilt_on_refresh() {
    let work = tempfile::tempdir().unwrap();
    let repo = work.path().join("repo");
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::write(
        repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec: {type: service, lifecycle: production, owner: team-a}\n",
    )
    .unwrap();
    std::fs::write(repo.join("mkdocs.yml"), "site_name: Svc handbook\n").unwrap();
    std::fs::write(repo.join("docs/index.md"), "# First edition\n").unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\ncatalog:\n  locations:\n    - type: file\n      target: {}\ntechdocs:\n  concurrency: 1\n  buildTimeout: {{minutes: 2}}\n",
            work.path().join("data").display(),
            repo.join("catalog-info.yaml").display(),
        ),
    )
    .unwrap();
    let (_server, base) = start_server(&config, work.path());
    let client = reqwest::Client::new();

    let page = format!("{base}/api/techdocs/static/docs/default/component/svc/index.html");
    poll(&client, &page, |status, body| {
        status == 200 && body.contains("First edition")
    })
    .await;
    assert!(
        work.path()
            .join("data/techdocs/default/component/svc/index.html")
            .is_file()
    );
    let reader = poll(
        &client,
        &format!("{base}/docs/default/component/svc/"),
        |s, _| s == 200,
    )
    .await;
    assert!(reader.contains("First edition"), "{reader}");
    assert!(reader.contains("Last built"), "{reader}");

    std::fs::write(repo.join("docs/index.md"), "# Second edition\n").unwrap();
    let refreshed = client
        .post(format!("{base}/api/catalog/refresh"))
        .header("content-type", "application/json")
        .body(r#"{"entityRef":"component:default/svc"}"#)
        .send()
        .await
        .unwrap();
    assert!(refreshed.status().is_success(), "{}", refreshed.status());
    poll(&client, &page, |status, body| {
        status == 200 && body.contains("Second edition")
    })
    .await;
    // The builder may still be storing that build's outcome: the first sync waits for it, the
    // second finds the site current.
    let sync_url = format!("{base}/api/techdocs/sync/default/component/svc");
    let first = client
        .get(&sync_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(first.contains("event: finish"), "{first}");
    let second = client
        .get(&sync_url)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(
        second.trim_end(),
        "event: finish\ndata: {\"updated\":false}"
    );
}
