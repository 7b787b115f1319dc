//! The UI in real headless Chromium through WebDriver (chromedriver started on a free port by
//! the test, stopped after): home, filtering the catalog, an entity and its tabs, the petstore
//! OpenAPI rendered, a graph link followed, registering and unregistering a location, dark
//! mode, running a software template (form, review, the task's live log to its end), the
//! TechDocs reader (index, a page, a hostile page that must stay inert) — and axe-core on each
//! main page (no serious or critical violation).
//!
//! Needs the Debian packages `chromium` and `chromium-driver` (`.ci/run` installs them). Without
//! them the test says so loudly and passes — except in CI (`CI=true`), where it fails. A failed
//! step saves a screenshot under the target folder; with `PORTICO_UI_SCREENSHOTS=<dir>` the
//! main pages are also saved there (the README's pictures come from this).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

use crate::{Running, Worker, start_scaffolder, start_with_docs};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const AXE: &str = include_str!("../assets/axe-4.14.1.min.js");
const WAIT: Duration = Duration::from_secs(15);

/// A chromedriver process; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

async fn start_driver(log: &Path) -> Driver {
    let port = free_port();
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .arg(format!("--log-path={}", log.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + WAIT;
    loop {
        if let Ok(response) = reqwest::get(format!("{}/status", driver.url)).await
            && response.status().is_success()
        {
            return driver;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not start on port {port}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn connect(driver: &Driver, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".to_owned(), json!("chrome"));
    caps.insert(
        "goog:chromeOptions".to_owned(),
        json!({
            "binary": CHROMIUM,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--no-first-run", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-quic", "--hide-scrollbars",
                format!("--user-data-dir={}", profile.display()),
                "--window-size=1400,900",
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&driver.url)
        .await
        .unwrap()
}

fn screenshot_dir() -> Option<PathBuf> {
    std::env::var_os("PORTICO_UI_SCREENSHOTS").map(PathBuf::from)
}

/// Saves a picture of the page for the documentation, when asked to.
async fn picture(client: &Client, name: &str) {
    if let Some(dir) = screenshot_dir() {
        std::fs::create_dir_all(&dir).unwrap();
        let png = client.screenshot().await.unwrap();
        std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
    }
}

type StepResult = Result<(), String>;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            return Err(format!($($msg)+));
        }
    };
}

fn cmd<T>(result: Result<T, fantoccini::error::CmdError>, what: &str) -> Result<T, String> {
    result.map_err(|e| format!("{what}: {e}"))
}

/// Polls `script` (returning a boolean) until it is true.
async fn wait_until(client: &Client, script: &str, what: &str) -> StepResult {
    let deadline = Instant::now() + WAIT;
    loop {
        if cmd(client.execute(script, vec![]).await, what)? == Value::Bool(true) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!("timed out waiting for {what} ({script})"));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn wait_for_path(client: &Client, path: &str) -> StepResult {
    let script = format!(
        "return location.pathname + location.search === {} && document.readyState === 'complete';",
        json!(path)
    );
    wait_until(client, &script, &format!("the page {path}")).await
}

/// axe-core on the current page: no serious or critical violation (the third-party API
/// renderer is left out).
async fn accessible(client: &Client, page: &str) -> StepResult {
    let loaded = cmd(
        client
            .execute("return typeof axe !== 'undefined';", vec![])
            .await,
        "axe check",
    )?;
    if loaded != Value::Bool(true) {
        cmd(client.execute(AXE, vec![]).await, "inject axe")?;
    }
    let script = r#"
        const done = arguments[arguments.length - 1];
        axe.run({ exclude: [["rapi-doc"]] }, { resultTypes: ["violations"] }).then(r => done(
          r.violations.filter(v => v.impact === "serious" || v.impact === "critical")
            .map(v => v.id + " (" + v.impact + "): " + v.help + " at " +
                 v.nodes.slice(0, 3).map(n => n.target.join(" ")).join(", "))
        ), e => done(["axe failed: " + e]));
    "#;
    let violations = cmd(client.execute_async(script, vec![]).await, "run axe")?;
    let list = violations.as_array().cloned().unwrap_or_default();
    ensure!(
        list.is_empty(),
        "accessibility violations on {page}: {list:#?}"
    );
    Ok(())
}

async fn table_names(client: &Client) -> Result<Vec<String>, String> {
    let value = cmd(
        client
            .execute(
                "return [...document.querySelectorAll('#catalog-table td.name-cell a')].map(a => a.textContent.trim());",
                vec![],
            )
            .await,
        "table names",
    )?;
    Ok(value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default())
}

async fn home(client: &Client, ui: &Running) -> StepResult {
    cmd(client.goto(&ui.url("/")).await, "open home")?;
    let title = cmd(client.title().await, "title")?;
    ensure!(title == "Home · Test Portal", "home title was {title:?}");
    let stat = cmd(
        client
            .find(Locator::Css(".stat-grid a[href='/catalog?kind=component']"))
            .await,
        "component count",
    )?;
    let text = cmd(stat.text().await, "count text")?;
    ensure!(
        text.contains("Component"),
        "the Component tile reads {text:?}"
    );
    picture(client, "home").await;
    accessible(client, "home").await
}

async fn filter_catalog(client: &Client, ui: &Running) -> StepResult {
    cmd(client.goto(&ui.url("/catalog")).await, "open catalog")?;
    let before = table_names(client).await?;
    ensure!(
        before.contains(&"artist-lookup".to_owned()),
        "catalog lacks artist-lookup: {before:?}"
    );
    picture(client, "catalog").await;
    accessible(client, "catalog").await?;
    // Checking a facet updates the table in place (htmx) and puts the filter in the URL.
    let checkbox = cmd(
        client
            .find(Locator::Css("input[name='lifecycle'][value='production']"))
            .await,
        "production facet",
    )?;
    cmd(checkbox.click().await, "check production")?;
    wait_until(
        client,
        "return location.search.includes('lifecycle=production');",
        "the filter in the URL",
    )
    .await?;
    wait_until(
        client,
        "return ![...document.querySelectorAll('#catalog-table td.name-cell a')].some(a => a.textContent.trim() === 'artist-lookup');",
        "the table to drop experimental components",
    )
    .await?;
    let after = table_names(client).await?;
    ensure!(
        after.contains(&"playback-order".to_owned()),
        "production filter lost playback-order: {after:?}"
    );
    // The text filter narrows it further as one types.
    let input = cmd(client.find(Locator::Id("catalog-q")).await, "text filter")?;
    cmd(input.send_keys("wayback").await, "type")?;
    wait_until(
        client,
        "return location.search.includes('q=wayback');",
        "the text in the URL",
    )
    .await?;
    wait_until(
        client,
        "const n = [...document.querySelectorAll('#catalog-table td.name-cell a')].map(a => a.textContent); return n.length > 0 && n.every(t => t.includes('wayback'));",
        "only wayback components",
    )
    .await?;
    // The URL is shareable: opening it fresh shows the same table.
    let url = cmd(client.current_url().await, "url")?;
    let filtered = table_names(client).await?;
    cmd(client.goto(url.as_str()).await, "reopen")?;
    ensure!(
        table_names(client).await? == filtered,
        "the shared URL shows another table"
    );
    Ok(())
}

async fn entity_and_tabs(client: &Client, ui: &Running) -> StepResult {
    cmd(
        client.goto(&ui.url("/catalog?kind=component")).await,
        "open catalog",
    )?;
    let link = cmd(
        client.find(Locator::LinkText("artist-lookup")).await,
        "entity link",
    )?;
    cmd(link.click().await, "open entity")?;
    wait_for_path(client, "/catalog/default/component/artist-lookup").await?;
    let heading = cmd(
        cmd(client.find(Locator::Css("h1")).await, "h1")?
            .text()
            .await,
        "h1 text",
    )?;
    ensure!(heading == "artist-lookup", "entity heading {heading:?}");
    picture(client, "entity").await;
    accessible(client, "entity overview").await?;

    cmd(
        cmd(client.find(Locator::LinkText("YAML")).await, "YAML tab")?
            .click()
            .await,
        "click YAML",
    )?;
    wait_for_path(client, "/catalog/default/component/artist-lookup?tab=yaml").await?;
    let yaml = cmd(
        cmd(client.find(Locator::Id("entity-yaml")).await, "yaml")?
            .text()
            .await,
        "yaml text",
    )?;
    ensure!(
        yaml.contains("kind: Component") && yaml.contains("name: artist-lookup"),
        "YAML view: {yaml}"
    );
    accessible(client, "entity YAML").await?;

    cmd(
        cmd(
            client.find(Locator::LinkText("Dependencies")).await,
            "Dependencies tab",
        )?
        .click()
        .await,
        "click Dependencies",
    )?;
    wait_for_path(
        client,
        "/catalog/default/component/artist-lookup?tab=dependencies",
    )
    .await?;
    picture(client, "graph").await;
    accessible(client, "entity graph").await?;
    // Following a node of the graph opens that entity.
    let node = cmd(
        client
            .find(Locator::Css(
                "svg.graph a[data-ref='resource:default/artists-db']",
            ))
            .await,
        "graph node",
    )?;
    cmd(node.click().await, "click node")?;
    wait_for_path(client, "/catalog/default/resource/artists-db").await?;
    Ok(())
}

async fn openapi(client: &Client, ui: &Running) -> StepResult {
    cmd(client.goto(&ui.url("/api-docs")).await, "open APIs")?;
    accessible(client, "APIs").await?;
    cmd(
        cmd(
            client.find(Locator::LinkText("petstore")).await,
            "petstore link",
        )?
        .click()
        .await,
        "open petstore",
    )?;
    wait_for_path(client, "/catalog/default/api/petstore").await?;
    cmd(
        cmd(
            client.find(Locator::LinkText("Definition")).await,
            "Definition tab",
        )?
        .click()
        .await,
        "click Definition",
    )?;
    wait_for_path(client, "/catalog/default/api/petstore?tab=api").await?;
    wait_until(
        client,
        "const r = document.querySelector('rapi-doc'); return !!(r && r.shadowRoot && r.shadowRoot.textContent.includes('/pets/{petId}') && r.shadowRoot.textContent.includes('Swagger Petstore'));",
        "RapiDoc to render the petstore operations",
    )
    .await?;
    picture(client, "api").await;
    accessible(client, "API definition").await
}

async fn register_and_unregister(client: &Client, ui: &Running) -> StepResult {
    let file = ui.files.join("browser.yaml");
    std::fs::write(
        &file,
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: browser-made\n  description: Registered from the browser test\nspec:\n  type: website\n  lifecycle: experimental\n  owner: team-b\n",
    )
    .map_err(|e| e.to_string())?;
    cmd(client.goto(&ui.url("/catalog-import")).await, "open import")?;
    accessible(client, "register").await?;
    let input = cmd(
        client.find(Locator::Id("import-target")).await,
        "target field",
    )?;
    cmd(
        input.send_keys(file.to_str().unwrap_or_default()).await,
        "type path",
    )?;
    cmd(
        cmd(client.find(Locator::Id("import-analyze")).await, "Analyze")?
            .click()
            .await,
        "analyze",
    )?;
    let preview = cmd(
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("import-preview"))
            .await,
        "preview",
    )?;
    let text = cmd(preview.text().await, "preview text")?;
    ensure!(text.contains("browser-made"), "preview: {text}");
    picture(client, "register").await;
    accessible(client, "register preview").await?;
    cmd(
        cmd(
            client.find(Locator::Id("import-register")).await,
            "Register",
        )?
        .click()
        .await,
        "register",
    )?;
    let result = cmd(
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("import-result"))
            .await,
        "result",
    )?;
    cmd(
        cmd(
            result.find(Locator::LinkText("browser-made")).await,
            "new entity link",
        )?
        .click()
        .await,
        "open new entity",
    )?;
    wait_for_path(client, "/catalog/default/component/browser-made").await?;

    cmd(
        cmd(
            client.find(Locator::Css("a.button.danger")).await,
            "Unregister",
        )?
        .click()
        .await,
        "unregister",
    )?;
    wait_for_path(client, "/catalog/default/component/browser-made/unregister").await?;
    let list = cmd(
        cmd(
            client.find(Locator::Id("unregister-list")).await,
            "removal list",
        )?
        .text()
        .await,
        "list text",
    )?;
    ensure!(
        list.contains("browser-made"),
        "the confirmation lists {list:?}"
    );
    accessible(client, "unregister confirmation").await?;
    cmd(
        cmd(
            client.find(Locator::Id("unregister-confirm")).await,
            "confirm",
        )?
        .click()
        .await,
        "confirm",
    )?;
    let removed = cmd(
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("removed-list"))
            .await,
        "removed list",
    )?;
    let text = cmd(removed.text().await, "removed text")?;
    ensure!(
        text.contains("component:default/browser-made"),
        "removed: {text}"
    );
    cmd(
        client
            .goto(&ui.url("/catalog/default/component/browser-made"))
            .await,
        "reopen",
    )?;
    let heading = cmd(
        cmd(client.find(Locator::Css("h1")).await, "h1")?
            .text()
            .await,
        "h1 text",
    )?;
    ensure!(
        heading == "Page not found",
        "the unregistered entity still shows: {heading}"
    );
    Ok(())
}

async fn dark_mode(client: &Client, ui: &Running) -> StepResult {
    cmd(client.goto(&ui.url("/")).await, "open home")?;
    let background = "return getComputedStyle(document.body).backgroundColor;";
    let light = cmd(client.execute(background, vec![]).await, "background")?;
    ensure!(
        light == json!("rgb(245, 246, 248)"),
        "light background {light}"
    );
    cmd(
        cmd(
            client.find(Locator::Css("[data-theme-toggle]")).await,
            "theme toggle",
        )?
        .click()
        .await,
        "toggle",
    )?;
    wait_until(
        client,
        "return document.documentElement.dataset.theme === 'dark';",
        "the dark theme",
    )
    .await?;
    let dark = cmd(client.execute(background, vec![]).await, "background")?;
    ensure!(dark == json!("rgb(14, 17, 22)"), "dark background {dark}");
    // The choice survives navigation.
    cmd(client.goto(&ui.url("/catalog")).await, "open catalog")?;
    let theme = cmd(
        client
            .execute("return document.documentElement.dataset.theme;", vec![])
            .await,
        "theme",
    )?;
    ensure!(theme == json!("dark"), "theme after navigation: {theme}");
    picture(client, "catalog-dark").await;
    accessible(client, "catalog (dark)").await?;
    cmd(
        client
            .goto(&ui.url("/catalog/default/component/artist-lookup"))
            .await,
        "open entity",
    )?;
    picture(client, "entity-dark").await;
    accessible(client, "entity (dark)").await?;
    // Keyboard: "/" focuses the search box.
    cmd(
        cmd(client.find(Locator::Css("body")).await, "body")?
            .send_keys("/")
            .await,
        "press /",
    )?;
    wait_until(
        client,
        "return document.activeElement && document.activeElement.id === 'global-search';",
        "focus on search",
    )
    .await?;
    cmd(
        client
            .execute("localStorage.removeItem('portico-theme');", vec![])
            .await,
        "reset theme",
    )?;
    Ok(())
}

async fn run_template(client: &Client, ui: &Running) -> StepResult {
    cmd(client.goto(&ui.url("/create")).await, "open create")?;
    picture(client, "create").await;
    accessible(client, "create").await?;
    cmd(
        cmd(
            client
                .find(Locator::Css(
                    "a.button.primary[href='/create/templates/default/ui-demo']",
                ))
                .await,
            "choose ui-demo",
        )?
        .click()
        .await,
        "click choose",
    )?;
    wait_for_path(client, "/create/templates/default/ui-demo").await?;
    picture(client, "template-form").await;
    accessible(client, "template form").await?;
    for (id, text) in [
        ("p0-name", "browser-svc"),
        ("p0-owner", "group:default/team-a"),
        ("p0-token", "tok-BROWSER-7"),
    ] {
        let input = cmd(client.find(Locator::Id(id)).await, id)?;
        cmd(input.send_keys(text).await, id)?;
    }
    cmd(
        cmd(client.find(Locator::Id("form-next")).await, "Next")?
            .click()
            .await,
        "next",
    )?;
    let owner = cmd(
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("p1-repoUrl-owner"))
            .await,
        "the location page",
    )?;
    cmd(owner.send_keys("acme").await, "owner")?;
    let repo = cmd(client.find(Locator::Id("p1-repoUrl-repo")).await, "repo")?;
    cmd(repo.send_keys("browser-svc").await, "repo")?;
    accessible(client, "template form, second page").await?;
    cmd(
        cmd(client.find(Locator::Id("form-next")).await, "Review")?
            .click()
            .await,
        "review",
    )?;
    let create = cmd(
        client
            .wait()
            .at_most(WAIT)
            .for_element(Locator::Id("form-create"))
            .await,
        "the review",
    )?;
    let review = cmd(
        client
            .execute(
                "return [...document.querySelectorAll('.review-table')].map(t => t.textContent).join(' ');",
                vec![],
            )
            .await,
        "review text",
    )?;
    let review = review.as_str().unwrap_or_default().to_owned();
    ensure!(
        review.contains("github.com?owner=acme&repo=browser-svc") && review.contains("******"),
        "review: {review}"
    );
    ensure!(
        !review.contains("tok-BROWSER-7"),
        "the review shows the secret: {review}"
    );
    picture(client, "template-review").await;
    accessible(client, "template review").await?;
    cmd(create.click().await, "create")?;
    wait_until(
        client,
        "return location.pathname.startsWith('/create/tasks/') && document.readyState === 'complete';",
        "the task page",
    )
    .await?;
    // The page follows the task over server-sent events and reloads when it has ended.
    wait_until(
        client,
        "const s = document.getElementById('task-status'); return !!s && s.textContent.trim() === 'Completed' && !!document.getElementById('task-output');",
        "the task to complete",
    )
    .await?;
    let log = cmd(
        cmd(client.find(Locator::Id("task-log")).await, "log")?
            .text()
            .await,
        "log text",
    )?;
    ensure!(
        log.contains("Created browser-svc for group:default/team-a") && log.contains("token ***"),
        "log: {log}"
    );
    ensure!(
        !log.contains("tok-BROWSER-7"),
        "the log shows the secret: {log}"
    );
    picture(client, "task").await;
    accessible(client, "task").await?;
    cmd(client.goto(&ui.url("/create/tasks")).await, "open tasks")?;
    let table = cmd(
        cmd(client.find(Locator::Id("task-table")).await, "task table")?
            .text()
            .await,
        "table text",
    )?;
    ensure!(table.contains("UI demo service"), "task list: {table}");
    accessible(client, "task list").await
}

/// The docs index and a page in the reader, accessible; a page whose Markdown carries a script,
/// event handlers and a `javascript:` link runs none of them in the real browser.
async fn docs_reader(client: &Client, ui: &Running) -> StepResult {
    cmd(client.goto(&ui.url("/docs")).await, "open docs")?;
    let index = cmd(
        cmd(client.find(Locator::Css("main")).await, "main")?
            .text()
            .await,
        "index text",
    )?;
    ensure!(index.contains("Fixture Service"), "docs index: {index}");
    picture(client, "docs-index").await;
    accessible(client, "docs index").await?;
    cmd(
        client
            .goto(&ui.url("/docs/default/component/fixture-docs/"))
            .await,
        "open a docs page",
    )?;
    ensure!(
        cmd(client.find_all(Locator::Css("nav a")).await, "nav links")?.len() > 1,
        "the reader shows the site's navigation"
    );
    picture(client, "docs-page").await;
    accessible(client, "docs page").await?;

    // Any alert() would be recorded here instead of blocking the page.
    cmd(
        client
            .goto(&ui.url("/docs/default/component/hostile-docs/"))
            .await,
        "open the hostile page",
    )?;
    cmd(
        client
            .execute(
                "window.__alerts = []; window.alert = m => window.__alerts.push(String(m));",
                vec![],
            )
            .await,
        "watch alerts",
    )?;
    let body = cmd(
        cmd(client.find(Locator::Css("main")).await, "main")?
            .text()
            .await,
        "page text",
    )?;
    ensure!(
        body.contains("Before the script.") && body.contains("After the script."),
        "the hostile page's text is shown: {body}"
    );
    // Hover and click what carried handlers; follow the link that was `javascript:`.
    for css in ["main img", "main div", "main a"] {
        if let Ok(element) = client.find(Locator::Css(css)).await {
            let _ = element.click().await;
        }
    }
    let report = cmd(
        client
            .execute(
                "return { alerts: window.__alerts || [], \
                   scripts: [...document.querySelectorAll('main script')].length, \
                   handlers: [...document.querySelectorAll('main *')].filter(e => [...e.attributes].some(a => a.name.startsWith('on'))).length, \
                   js_links: [...document.querySelectorAll('main a')].filter(a => (a.getAttribute('href') || '').trim().toLowerCase().startsWith('javascript:')).length };",
                vec![],
            )
            .await,
        "inspect the page",
    )?;
    ensure!(
        report["alerts"].as_array().is_some_and(Vec::is_empty)
            && report["scripts"] == 0
            && report["handlers"] == 0
            && report["js_links"] == 0,
        "hostile docs content is live: {report}"
    );
    Ok(())
}

async fn run_step<F: std::future::Future<Output = StepResult>>(
    client: &Client,
    name: &str,
    step: F,
    failures: &mut Vec<String>,
) {
    if let Err(message) = step.await {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("ui-browser-failures");
        let _ = std::fs::create_dir_all(&dir);
        let shot = dir.join(format!("{name}.png"));
        if let Ok(png) = client.screenshot().await {
            let _ = std::fs::write(&shot, png);
        }
        failures.push(format!(
            "{name}: {message} (screenshot: {})",
            shot.display()
        ));
    }
}

/// Whether Chromium and chromedriver are here; without them a test says so loudly and passes,
/// except in CI (`CI=true`), where it fails.
fn browser_installed() -> bool {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return true;
    }
    let message = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver): the browser tests did not run";
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    eprintln!("\n!!!!!!!!\n!!! {message}\n!!!!!!!!\n");
    false
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn browser_journey() {
    if !browser_installed() {
        return;
    }
    let ui = start_scaffolder(Worker::Running).await;
    let work = tempfile::tempdir().unwrap();
    let driver = start_driver(&work.path().join("chromedriver.log")).await;
    let client = connect(&driver, &work.path().join("profile")).await;
    let mut failures = Vec::new();
    run_step(&client, "home", home(&client, &ui), &mut failures).await;
    run_step(
        &client,
        "filter-catalog",
        filter_catalog(&client, &ui),
        &mut failures,
    )
    .await;
    run_step(
        &client,
        "entity-tabs",
        entity_and_tabs(&client, &ui),
        &mut failures,
    )
    .await;
    run_step(&client, "openapi", openapi(&client, &ui), &mut failures).await;
    run_step(
        &client,
        "register",
        register_and_unregister(&client, &ui),
        &mut failures,
    )
    .await;
    run_step(&client, "dark-mode", dark_mode(&client, &ui), &mut failures).await;
    run_step(
        &client,
        "run-template",
        run_template(&client, &ui),
        &mut failures,
    )
    .await;
    let _ = client.close().await;
    drop(driver);
    assert!(
        failures.is_empty(),
        "browser steps failed:\n{}",
        failures.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn docs_reader_in_the_browser() {
    if !browser_installed() {
        return;
    }
    let ui = start_with_docs(crate::docs::publish_sites).await;
    let work = tempfile::tempdir().unwrap();
    let driver = start_driver(&work.path().join("chromedriver.log")).await;
    let client = connect(&driver, &work.path().join("profile")).await;
    let mut failures = Vec::new();
    run_step(&client, "docs", docs_reader(&client, &ui), &mut failures).await;
    let _ = client.close().await;
    drop(driver);
    assert!(
        failures.is_empty(),
        "browser steps failed:\n{}",
        failures.join("\n")
    );
}
