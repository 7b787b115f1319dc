//! TechDocs builds end to end through a real `portico serve`: a configured catalog location
//! whose component has `backstage.io/techdocs-ref: dir:.` gets its site built and published
//! with no other step, served by `/api/techdocs` and the `/docs` reader with its build time;
//! editing a page and asking the catalog to refresh the entity publishes the new page.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

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
    let (_server, base) = support::start_portico(&config, work.path());
    let client = reqwest::Client::new();

    let page = format!("{base}/api/techdocs/static/docs/default/component/svc/index.html");
    support::poll(&client, &page, |status, body| {
        status == 200 && body.contains("First edition")
    })
    .await;
    assert!(
        work.path()
            .join("data/techdocs/default/component/svc/index.html")
            .is_file()
    );
    let reader = support::poll(
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
    support::poll(&client, &page, |status, body| {
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
