//! TechDocs published to an S3-compatible bucket: a real `portico serve` with
//! `techdocs.publisher.type: awsS3` (Backstage's keys) against a real s3s-fs on 127.0.0.1,
//! which checks SigV4 signatures. The component's docs are built, uploaded to the bucket
//! (a generation of objects under `<namespace>/<kind>/<name>/.portico/generations/<id>/` and
//! the pointer `.portico/current.json` naming it, nothing on the local disk) and served by
//! `/api/techdocs` and the reader from S3; a rebuild publishes a new generation and switches
//! the pointer, and the old pages are no longer served. (Atomicity and the deletion of retired
//! generations are tested in `s3_publisher.rs`.)
//!
//! s3s-fs comes from crates.io (`cargo install s3s-fs@0.14.1 --features binary --locked`,
//! `.ci/run` does it). Without it the test says so and passes, except under `CI=true`.

// Test code: a failed unwrap is a failed test with its location.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::path::Path;
use std::process::Command;

const ACCESS_KEY: &str = portico_testkit::s3s::ACCESS_KEY;
const SECRET_KEY: &str = portico_testkit::s3s::SECRET_KEY;

/// A real s3s-fs with the bucket `techdocs-sites`; its objects are files under `objects`.
/// `None` (after saying so) when s3s-fs is not installed.
async fn start_s3s(objects: &Path) -> Option<(portico_testkit::s3s::S3sServer, String)> {
    let server = portico_testkit::s3s::S3sServer::start(
        objects,
        &["techdocs-sites"],
        "the S3 publisher test",
    )?;
    let endpoint = server.endpoint.clone();
    Some((server, endpoint))
}

#[tokio::test(flavor = "multi_thread")]
async fn sites_are_published_to_and_served_from_s3() {
    let work = tempfile::tempdir().unwrap();
    let objects = work.path().join("s3");
    let Some((_s3, endpoint)) = start_s3s(&objects).await else {
        return;
    };
    let client = reqwest::Client::new();

    let repo = work.path().join("repo");
    std::fs::create_dir_all(repo.join("docs/guide")).unwrap();
    std::fs::write(
        repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec: {type: service, lifecycle: production, owner: team-a}\n",
    )
    .unwrap();
    std::fs::write(repo.join("mkdocs.yml"), "site_name: Svc in S3\n").unwrap();
    std::fs::write(repo.join("docs/index.md"), "# Stored in a bucket\n").unwrap();
    std::fs::write(repo.join("docs/guide/old.md"), "# Old guide\n").unwrap();
    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\n\
             catalog:\n  locations:\n    - type: file\n      target: {}\n\
             techdocs:\n  concurrency: 1\n  publisher:\n    type: awsS3\n    awsS3:\n      \
             bucketName: techdocs-sites\n      region: us-east-1\n      endpoint: {endpoint}\n      \
             s3ForcePathStyle: true\n      credentials:\n        accessKeyId: {ACCESS_KEY}\n        \
             secretAccessKey: {SECRET_KEY}\n",
            work.path().join("data").display(),
            repo.join("catalog-info.yaml").display(),
        ),
    )
    .unwrap();
    let (_server, base) = support::start_portico(&config, work.path());

    let page = format!("{base}/api/techdocs/static/docs/default/component/svc/index.html");
    support::poll(&client, &page, |status, body| {
        status == 200 && body.contains("Stored in a bucket")
    })
    .await;
    let entity_dir = objects.join("techdocs-sites/default/component/svc");
    let generation = |pointer: &str| {
        let pointer: serde_json::Value = serde_json::from_str(pointer).unwrap();
        pointer["generation"].as_str().unwrap().to_owned()
    };
    let first =
        generation(&std::fs::read_to_string(entity_dir.join(".portico/current.json")).unwrap());
    let bucket = entity_dir.join(".portico/generations").join(&first);
    assert!(bucket.join("index.html").is_file(), "the page is an object");
    assert!(bucket.join("techdocs_metadata.json").is_file());
    assert!(bucket.join("guide/old/index.html").is_file());
    assert!(
        !work.path().join("data/techdocs").exists(),
        "nothing is published on the local disk"
    );
    let unsigned = client
        .get(format!(
            "{endpoint}/techdocs-sites/default/component/svc/.portico/current.json"
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(unsigned, 403, "the bucket needs signed requests");
    let metadata = support::poll(
        &client,
        &format!("{base}/api/techdocs/metadata/techdocs/default/component/svc"),
        |status, _| status == 200,
    )
    .await;
    assert!(metadata.contains("Svc in S3"), "{metadata}");
    let reader = support::poll(
        &client,
        &format!("{base}/docs/default/component/svc/guide/old/"),
        |status, _| status == 200,
    )
    .await;
    assert!(reader.contains("Old guide"), "{reader}");

    // A rebuild without the old page: its objects go.
    std::fs::remove_file(repo.join("docs/guide/old.md")).unwrap();
    std::fs::write(repo.join("docs/index.md"), "# Stored again\n").unwrap();
    let sync = client
        .get(format!("{base}/api/techdocs/sync/default/component/svc"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(sync.contains(r#""updated":true"#), "{sync}");
    let again = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(again.contains("Stored again"), "{again}");
    let second =
        generation(&std::fs::read_to_string(entity_dir.join(".portico/current.json")).unwrap());
    assert_ne!(first, second, "a new generation");
    let gone = client
        .get(format!(
            "{base}/api/techdocs/static/docs/default/component/svc/guide/old/index.html"
        ))
        .send()
        .await
        .unwrap()
        .status()
        .as_u16();
    assert_eq!(gone, 404, "the old page is not part of the new site");
}

/// `portico techdocs publish` to the bucket, once with techdocs-cli's flags and once with the
/// app-config `portico serve` reads (`techdocs.builder: external`): serve answers each version.
#[tokio::test(flavor = "multi_thread")]
async fn the_cli_publishes_to_the_bucket_serve_reads() {
    let work = tempfile::tempdir().unwrap();
    let objects = work.path().join("s3");
    let Some((_s3, endpoint)) = start_s3s(&objects).await else {
        return;
    };
    let repo = work.path().join("repo");
    std::fs::create_dir_all(repo.join("docs")).unwrap();
    std::fs::write(
        repo.join("catalog-info.yaml"),
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: svc\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec: {type: service, lifecycle: production, owner: team-a}\n",
    )
    .unwrap();
    std::fs::write(repo.join("mkdocs.yml"), "site_name: Published by CI\n").unwrap();
    let build = |text: &str| {
        std::fs::write(repo.join("docs/index.md"), text).unwrap();
        let output = Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["techdocs", "build"])
            .arg(&repo)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    let publish = |args: &[&str]| {
        let output = Command::new(env!("CARGO_BIN_EXE_portico"))
            .args(["techdocs", "publish", "--entity", "default/Component/svc"])
            .arg("--directory")
            .arg(repo.join("site"))
            .args(args)
            .env("AWS_ACCESS_KEY_ID", ACCESS_KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
            .current_dir(work.path())
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };

    build("# First from CI\n");
    let said = publish(&[
        "--publisher-type",
        "awsS3",
        "--storage-name",
        "techdocs-sites",
        "--awsEndpoint",
        &endpoint,
        "--awsS3ForcePathStyle",
    ]);
    assert!(said.contains("to s3://techdocs-sites"), "{said}");
    assert!(
        objects
            .join("techdocs-sites/default/component/svc/.portico/current.json")
            .is_file()
    );
    assert!(
        !work.path().join("data").exists(),
        "nothing is published on the local disk"
    );

    let config = work.path().join("app-config.yaml");
    std::fs::write(
        &config,
        format!(
            "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\n\
             catalog:\n  locations:\n    - type: file\n      target: {}\n\
             techdocs:\n  builder: external\n  publisher:\n    type: awsS3\n    awsS3:\n      \
             bucketName: techdocs-sites\n      endpoint: {endpoint}\n      \
             s3ForcePathStyle: true\n      credentials:\n        accessKeyId: {ACCESS_KEY}\n        \
             secretAccessKey: {SECRET_KEY}\n",
            work.path().join("served").display(),
            repo.join("catalog-info.yaml").display(),
        ),
    )
    .unwrap();
    let (_server, base) = support::start_portico(&config, work.path());
    let client = reqwest::Client::new();
    let page = format!("{base}/api/techdocs/static/docs/default/component/svc/index.html");
    let first = support::poll(&client, &page, |status, _| status == 200).await;
    assert!(first.contains("First from CI"), "{first}");

    build("# Second from CI\n");
    let said = publish(&["--config", config.to_str().unwrap()]);
    assert!(said.contains("to s3://techdocs-sites"), "{said}");
    let second = client
        .get(&page)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(second.contains("Second from CI"), "{second}");
    let reader = support::poll(
        &client,
        &format!("{base}/docs/default/component/svc/"),
        |status, _| status == 200,
    )
    .await;
    assert!(reader.contains("Second from CI"), "{reader}");
}
