//! The TechDocs reader over HTTP: sites built by the real `portico_techdocs` builder (the
//! builder's full-site fixture and a site whose Markdown carries hostile HTML), published with
//! the real `LocalPublisher` into the test's folder, for entities the test registers.

use std::path::{Path, PathBuf};

use portico_techdocs::{BuildOptions, EntityTriplet, LocalPublisher, Publisher, build_site};

use crate::{Running, start, start_with_builds, start_with_docs};

/// Three documented components: one with the fixture site published, one whose site has
/// hostile HTML, one never built.
const DOCUMENTED: &str = r#"apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: fixture-docs
  title: Fixture Service
  description: The service whose docs are the builder fixture
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: production
  owner: team-docs
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: hostile-docs
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: service
  lifecycle: experimental
  owner: team-docs
---
apiVersion: backstage.io/v1alpha1
kind: Component
metadata:
  name: unbuilt-docs
  annotations:
    backstage.io/techdocs-ref: dir:.
spec:
  type: library
  lifecycle: experimental
  owner: team-other
"#;

const HOSTILE_PAGE: &str = r#"# Hostile page

Before the script. <script>alert('page')</script>

<img src="x" onerror="alert('img')">

<a href="javascript:alert('link')">bad link</a> and <div onclick="alert('div')">a div</div>.

After the script.
"#;

fn builder_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../portico-techdocs/tests/fixtures/full-site")
}

/// Writes [`DOCUMENTED`], builds and publishes two sites; returns the published folder.
pub(crate) fn publish_sites(files: &Path) -> PathBuf {
    std::fs::write(files.join("documented.yaml"), DOCUMENTED).unwrap();
    let work = files.join("techdocs");
    let published = work.join("published");
    let publisher = LocalPublisher::new(&published);

    let site = work.join("fixture-site");
    build_site(&builder_fixture(), &site, BuildOptions::default()).unwrap();
    publisher
        .publish(
            &EntityTriplet::new("default", "Component", "fixture-docs"),
            &site,
        )
        .unwrap();

    let source = work.join("hostile-source");
    std::fs::create_dir_all(source.join("docs")).unwrap();
    std::fs::write(
        source.join("mkdocs.yml"),
        "site_name: Hostile Docs\nnav:\n  - Home: index.md\n",
    )
    .unwrap();
    std::fs::write(source.join("docs/index.md"), HOSTILE_PAGE).unwrap();
    let site = work.join("hostile-site");
    build_site(&source, &site, BuildOptions::default()).unwrap();
    publisher
        .publish(
            &EntityTriplet::new("default", "Component", "hostile-docs"),
            &site,
        )
        .unwrap();
    published
}

async fn start_docs() -> Running {
    start_with_docs(publish_sites).await
}

/// The `href` values inside the element that starts with `open` (up to its `</nav>`).
fn hrefs_in<'a>(html: &'a str, open: &str) -> Vec<&'a str> {
    let Some(at) = html.find(open) else {
        return Vec::new();
    };
    let part = &html[at..];
    let part = &part[..part.find("</nav>").unwrap_or(part.len())];
    part.split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .collect()
}

#[tokio::test]
async fn the_index_lists_documented_entities_with_filters_and_build_time() {
    let ui = start_docs().await;
    let (status, html) = ui.get("/docs").await;
    assert_eq!(status, 200);
    assert!(html.contains("<h1>Documentation</h1>"), "{html}");
    // Inside the layout, with Docs as the current section.
    assert!(html.contains("<title>Docs · Test Portal</title>"), "{html}");
    assert!(html.contains(r#"aria-current="page""#));
    assert!(
        html.contains(r#"href="/docs/default/component/fixture-docs/""#)
            || html.contains(
                r#"href="&#x2f;docs&#x2f;default&#x2f;component&#x2f;fixture-docs&#x2f;""#
            ),
        "{html}"
    );
    assert!(html.contains("Fixture Service"), "{html}");
    assert!(html.contains("unbuilt-docs"), "{html}");
    // Entities without the annotation (the example catalog's) are not listed.
    assert!(!html.contains("artist-lookup"), "{html}");
    // The built site shows when it was built; the unbuilt one says so.
    let fixture_row = html
        .split("<tr>")
        .find(|row| row.contains("Fixture Service"))
        .unwrap();
    assert!(fixture_row.contains(" UTC</td>"), "{fixture_row}");
    let unbuilt_row = html
        .split("<tr>")
        .find(|row| row.contains("unbuilt-docs"))
        .unwrap();
    assert!(unbuilt_row.contains("Not built yet"), "{unbuilt_row}");

    // Filters: owner, kind and text.
    let (_, other) = ui.get("/docs?owner=team-other").await;
    assert!(other.contains("unbuilt-docs") && !other.contains("Fixture Service"));
    let (_, text) = ui.get("/docs?q=builder+fixture").await;
    assert!(text.contains("Fixture Service") && !text.contains("unbuilt-docs"));
    let (_, none) = ui.get("/docs?kind=api").await;
    assert!(
        none.contains("No documented entity matches these filters."),
        "{none}"
    );
}

#[tokio::test]
async fn the_index_without_techdocs_says_it_is_not_configured() {
    let ui = start(false).await;
    let (status, html) = ui.get("/docs").await;
    assert_eq!(status, 200);
    assert!(html.contains("TechDocs is not configured"), "{html}");
}

#[tokio::test]
async fn the_reader_shows_a_page_inside_the_layout_with_nav_and_toc() {
    let ui = start_docs().await;
    let (status, html) = ui.get("/docs/default/component/fixture-docs/").await;
    assert_eq!(status, 200, "{html}");
    // The portal layout around it.
    assert!(
        html.contains("<title>Fixture Docs — Docs · Test Portal</title>"),
        "{html}"
    );
    assert!(html.contains("<span>Catalog</span>"), "{html}");
    // The page's own content.
    let content_at = html.find(r#"<article class="card docs-content"#).unwrap();
    let content = &html[content_at..];
    assert!(content.contains("Fixture home"), "{content}");
    assert!(content.contains("<kbd>Ctrl</kbd>"), "{content}");
    // The site's navigation and the page's table of contents.
    let nav = hrefs_in(&html, r#"<nav class="card docs-nav""#);
    assert!(nav.iter().any(|h| h.contains("guide/markdown")), "{nav:?}");
    assert!(html.contains(r#"<aside class="docs-toc""#));
    let (_, markdown) = ui
        .get("/docs/default/component/fixture-docs/guide/markdown/")
        .await;
    let toc_at = markdown.find(r#"<aside class="docs-toc""#).unwrap();
    assert!(
        markdown[toc_at..].contains("Duplicate heading"),
        "{}",
        &markdown[toc_at..]
    );
    // The edit link from the site's repo_url and edit_uri, and the build time.
    let markdown = markdown.replace("&#x2f;", "/");
    assert!(
        markdown.contains(
            r#"<a href="https://github.com/example/fixture/edit/main/docs/guide/markdown.md" rel="noopener">Edit this page</a>"#
        ),
        "{markdown}"
    );
    assert!(markdown.contains("Last built "), "{markdown}");
}

#[tokio::test]
async fn links_between_pages_and_previous_next_resolve_in_the_reader() {
    let ui = start_docs().await;
    let page = "/docs/default/component/fixture-docs/links/";
    let (status, html) = ui.get(page).await;
    assert_eq!(status, 200, "{html}");
    let base = url::Url::parse(&ui.url(page)).unwrap();
    let content_at = html.find(r#"<article class="card docs-content"#).unwrap();
    let content = &html[content_at..];
    let link = content
        .split("href=\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .find(|href| href.contains("guide/markdown") && !href.contains('#'))
        .unwrap_or_else(|| panic!("no link to the Markdown page in {content}"));
    let target = base.join(&link.replace("&#x2f;", "/")).unwrap();
    assert!(
        target
            .path()
            .starts_with("/docs/default/component/fixture-docs/"),
        "{target}"
    );
    let (status, linked) = ui.get(target.path()).await;
    assert_eq!(status, 200, "{target}: {linked}");
    assert!(linked.contains("<h1 id=\"markdown\""), "{linked}");

    // Previous/next of the first page leads on to a page that exists.
    let (_, home) = ui.get("/docs/default/component/fixture-docs/").await;
    let footer = hrefs_in(&home, r#"<nav class="docs-footer""#);
    let next = footer
        .first()
        .unwrap_or_else(|| panic!("no footer in {home}"));
    let root = url::Url::parse(&ui.url("/docs/default/component/fixture-docs/")).unwrap();
    let (status, _) = ui.get(root.join(next).unwrap().path()).await;
    assert_eq!(status, 200, "{next}");

    // A page folder without its slash is sent to it, so relative links keep working.
    let response = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .get(ui.url("/docs/default/component/fixture-docs/links"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 308);
    assert_eq!(
        response.headers()["location"],
        "/docs/default/component/fixture-docs/links/"
    );
}

#[tokio::test]
async fn in_site_search_finds_pages() {
    let ui = start_docs().await;
    let (status, html) = ui
        .get("/docs/default/component/fixture-docs/?q=duplicate")
        .await;
    assert_eq!(status, 200);
    assert!(html.contains("for “duplicate”"), "{html}");
    assert!(
        html.contains("guide/markdown/") && !html.contains("0 results"),
        "{html}"
    );
}

#[tokio::test]
async fn a_missing_page_is_404_inside_the_layout() {
    let ui = start_docs().await;
    let (status, html) = ui
        .get("/docs/default/component/fixture-docs/no-such-page/")
        .await;
    assert_eq!(status, 404, "{html}");
    assert!(
        html.contains("<span>Catalog</span>"),
        "not in the layout: {html}"
    );
    assert!(html.contains("No page"), "{html}");
    // Nor can a path leave the site.
    let (status, html) = ui
        .get("/docs/default/component/fixture-docs/..%2F..%2Fhostile-docs/")
        .await;
    assert_ne!(status, 200, "{html}");
    assert!(!html.contains("Hostile page"), "{html}");
    // An entity that is not in the catalog.
    let (status, _) = ui.get("/docs/default/component/nobody/").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn an_unbuilt_entity_says_its_docs_are_not_built() {
    let ui = start_docs().await;
    let (status, html) = ui.get("/docs/default/component/unbuilt-docs/").await;
    assert_eq!(status, 404, "{html}");
    assert!(
        html.contains("<span>Catalog</span>"),
        "not in the layout: {html}"
    );
    assert!(html.contains("have not been built yet"), "{html}");
}

#[tokio::test]
async fn hostile_html_in_a_page_is_not_in_the_output() {
    let ui = start_docs().await;
    let (status, html) = ui.get("/docs/default/component/hostile-docs/").await;
    assert_eq!(status, 200, "{html}");
    let content_at = html.find(r#"<article class="card docs-content"#).unwrap();
    let content = &html[content_at..];
    // The harmless text stays, so the page really is the hostile one.
    assert!(content.contains("Before the script."), "{content}");
    assert!(content.contains("After the script."), "{content}");
    for bad in [
        "alert('page')",
        "onerror",
        "onclick",
        "javascript:",
        "alert(&#39;img",
    ] {
        assert!(!html.contains(bad), "{bad} in {html}");
    }
    // The only scripts are the portal's own, loaded from its static files.
    for script in html.split("<script").skip(1) {
        assert!(
            script.trim_start().starts_with("src=") || script.contains("/static/"),
            "{script}"
        );
    }
}

#[tokio::test]
async fn the_entity_page_docs_tab_links_to_the_reader() {
    let ui = start_docs().await;
    let (status, html) = ui
        .get("/catalog/default/component/fixture-docs?tab=docs")
        .await;
    assert_eq!(status, 200, "{html}");
    assert!(
        html.contains("/docs/default/component/fixture-docs/")
            || html.contains("&#x2f;docs&#x2f;default&#x2f;component&#x2f;fixture-docs&#x2f;"),
        "{html}"
    );
}

/// Waits until every build record satisfies `done`, woken by finished builds; the deadline
/// only keeps a broken builder from hanging the suite.
async fn wait_for_builds(ui: &Running, done: impl Fn(&portico_techdocs::BuildStatus) -> bool) {
    use portico_techdocs::DocsBuilds;
    let builder = ui.builder.clone().unwrap();
    let mut finished = builder.finished();
    let waiting = async {
        loop {
            let statuses = builder.statuses().await.unwrap();
            if statuses.len() == 3 && statuses.values().all(&done) {
                return;
            }
            let _ = finished.changed().await;
        }
    };
    tokio::time::timeout(std::time::Duration::from_secs(120), waiting)
        .await
        .unwrap_or_else(|_| panic!("the builds did not reach the expected state"));
}

fn row<'a>(html: &'a str, name: &str) -> &'a str {
    html.split("<tr>").find(|row| row.contains(name)).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_index_and_the_reader_show_build_states_warnings_and_errors() {
    let ui = start_with_builds(publish_sites).await;
    let builder = ui.builder.clone().unwrap();

    // The three share the catalog files' folder, which has no mkdocs.yml: one source,
    // recorded as such by the scan (no build), and said so; published sites stay readable.
    assert_eq!(builder.scan().await.unwrap(), 0);
    wait_for_builds(&ui, |s| s.state == "no-config").await;
    let (_, index) = ui.get("/docs").await;
    assert!(
        row(&index, "unbuilt-docs").contains(r#"<span class="badge">No mkdocs.yml</span>"#),
        "{index}"
    );
    let (status, page) = ui.get("/docs/default/component/fixture-docs/").await;
    assert_eq!(status, 200);
    assert!(page.contains("not built here any more"), "{page}");
    assert!(page.contains("no mkdocs.yml in"), "{page}");
    assert!(page.contains("Fixture home"), "the published site: {page}");
    let (status, unbuilt) = ui.get("/docs/default/component/unbuilt-docs/").await;
    assert_eq!(status, 404);
    assert!(
        unbuilt.contains("Nothing to build: no mkdocs.yml in"),
        "{unbuilt}"
    );

    // A site appears next to the catalog files: one build is queued for the three.
    std::fs::write(ui.files.join("mkdocs.yml"), "site_name: Shared docs\n").unwrap();
    std::fs::create_dir_all(ui.files.join("docs")).unwrap();
    std::fs::write(
        ui.files.join("docs/index.md"),
        "# Shared home\n\nSee [nothing](nope.md).\n",
    )
    .unwrap();
    assert_eq!(builder.scan().await.unwrap(), 1);
    let (_, index) = ui.get("/docs").await;
    assert!(
        row(&index, "Fixture Service").contains(r#"<span class="badge">Queued</span>"#),
        "{index}"
    );
    let (status, page) = ui.get("/docs/default/component/fixture-docs/").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("Queued: a newer version of these docs is on its way."),
        "{page}"
    );
    let (status, unbuilt) = ui.get("/docs/default/component/unbuilt-docs/").await;
    assert_eq!(status, 404);
    assert!(unbuilt.contains("A build is under way"), "{unbuilt}");

    // Built once, published for each of the three, with its warning at file:line.
    let (_stop, stop) = tokio::sync::watch::channel(false);
    tokio::spawn(std::sync::Arc::clone(&builder).run_jobs(stop));
    wait_for_builds(&ui, |s| s.state == "built").await;
    let (_, index) = ui.get("/docs").await;
    assert!(!index.contains(r#"class="badge""#), "{index}");
    assert!(row(&index, "unbuilt-docs").contains(" UTC"), "{index}");
    let (_, page) = ui.get("/docs/default/component/unbuilt-docs/").await;
    assert!(page.contains("Shared home"), "{page}");
    assert!(page.contains("1 build warning</summary>"), "{page}");
    assert!(page.contains("index.md:3: link to"), "{page}");
    assert!(!page.contains("The last build failed"), "{page}");

    // A broken config: the build fails with the reason; the last good site stays readable.
    std::fs::write(ui.files.join("mkdocs.yml"), "site_name: [unclosed\n").unwrap();
    assert_eq!(builder.scan().await.unwrap(), 1);
    wait_for_builds(&ui, |s| s.state == "failed").await;
    let (_, index) = ui.get("/docs").await;
    assert!(
        row(&index, "unbuilt-docs").contains("Build failed"),
        "{index}"
    );
    let (status, page) = ui.get("/docs/default/component/fixture-docs/").await;
    assert_eq!(status, 200);
    assert!(page.contains("The last build failed"), "{page}");
    assert!(page.contains("mkdocs.yml"), "{page}");
    assert!(page.contains("Shared home"), "the last good site: {page}");
}

/// [`publish_sites`] and 150 more documented components (owner `team-many`), unbuilt.
fn publish_many(files: &Path) -> PathBuf {
    let published = publish_sites(files);
    let many: String = (0..150)
        .map(|i| {
            format!(
                "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: many-docs-{i:03}\n  annotations:\n    backstage.io/techdocs-ref: dir:.\nspec:\n  type: service\n  lifecycle: production\n  owner: team-many\n---\n"
            )
        })
        .collect();
    std::fs::write(files.join("many.yaml"), many).unwrap();
    published
}

/// Docs rows of an index page, in order: the entity names their links end with.
fn index_rows(html: &str) -> Vec<String> {
    html.split("<tr><td><a href=\"")
        .skip(1)
        .filter_map(|row| {
            let href = row.split('"').next()?;
            let href = href.replace("&#x2f;", "/");
            Some(href.trim_end_matches('/').rsplit('/').next()?.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn the_index_pages_through_many_documented_entities_in_name_order() {
    let ui = start_with_docs(publish_many).await;
    let (status, first) = ui.get("/docs").await;
    assert_eq!(status, 200);
    let rows = index_rows(&first);
    assert_eq!(rows.len(), 100, "one page of rows: {rows:?}");
    assert_eq!(rows[..3], ["fixture-docs", "hostile-docs", "many-docs-000"]);
    assert_eq!(rows[99], "many-docs-097");
    assert!(first.contains("1–100 of 153"), "{first}");
    assert!(first.contains("page=2"), "a link to the next page: {first}");

    let (_, second) = ui.get("/docs?page=2").await;
    let rows = index_rows(&second);
    assert_eq!(rows.len(), 53, "{rows:?}");
    assert_eq!(rows[0], "many-docs-098");
    assert_eq!(rows[52], "unbuilt-docs");
    assert!(second.contains(r#"rel="prev""#) && !second.contains(r#"rel="next""#));

    // Filters hold across pages, and their links keep them.
    let (_, owned) = ui.get("/docs?owner=team-many&page=2").await;
    let rows = index_rows(&owned);
    assert_eq!(rows.len(), 50, "{rows:?}");
    assert_eq!(rows[0], "many-docs-100");
    assert!(owned.contains("101–150 of 150"), "{owned}");
    assert!(owned.contains("owner=team-many"), "{owned}");
    let (_, searched) = ui.get("/docs?q=docs-14").await;
    assert_eq!(index_rows(&searched).len(), 10, "many-docs-140 … 149");
}
