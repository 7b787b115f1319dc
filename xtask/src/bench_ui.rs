//! `cargo xtask bench-ui`: how long `portico serve` (release, SQLite) takes to answer the web
//! UI's main pages on generated catalogs, and how much a page weighs.
//!
//! For each size it generates a catalog, starts `portico serve` on it (reusing bench-http's
//! server handling), waits for `/readyz`, then requests each page sequentially on one
//! keep-alive connection (a warm-up, then `--iterations` timed requests) and reports p50/p99:
//! the catalog's first page, the same table filtered (facets and text), the htmx fragment of a
//! filter change, and entity pages of different components. The client and the server share
//! the machine, and the times are the whole request on loopback, so they bound the server time
//! from above. Page weight is the bytes of the HTML plus the CSS and JS it loads (the API-doc
//! renderer, loaded only on an API's definition tab, excluded).

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::{Context as _, ensure};
use portico_testkit::catalog_gen::{CatalogSpec, generate, write_to_dir};
use xtask::bench::{machine_info, release_binary};
use xtask::workspace_root;

use crate::bench_http::{Server, component_names, first_ok, percentile, write_config};

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub sizes: Vec<usize>,
    pub build: bool,
    pub iterations: usize,
}

/// Goal for every page at 100k entities.
const GOAL_P99_MS: f64 = 50.0;
/// Goal for HTML + CSS + JS of a page.
const GOAL_WEIGHT_KB: f64 = 150.0;

struct PageResult {
    name: String,
    p50_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    html_bytes: usize,
}

struct SizeResult {
    size: usize,
    pages: Vec<PageResult>,
    /// HTML + CSS + JS of the catalog page and of an entity page.
    weight_catalog: usize,
    weight_entity: usize,
}

pub fn run(options: &Options) -> anyhow::Result<()> {
    let root = workspace_root();
    if options.build {
        xtask::bench::build_release_portico(&root, "bench-ui")?;
    }
    let binary = release_binary(&root)?;
    ensure!(
        binary.exists(),
        "{} is missing; build it or drop --no-build",
        binary.display()
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start tokio")?;
    let mut results = Vec::new();
    for &size in &options.sizes {
        results.push(bench_size(&runtime, &binary, size, options)?);
    }
    report(&results, options);
    Ok(())
}

fn bench_size(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    size: usize,
    options: &Options,
) -> anyhow::Result<SizeResult> {
    let dir = tempfile::Builder::new()
        .prefix("portico-bench-ui-")
        .tempdir()?;
    let catalog = generate(&CatalogSpec::new(size));
    write_to_dir(&catalog, &dir.path().join("catalog"))?;
    let names = component_names(&catalog);
    ensure!(
        names.len() >= 10,
        "the generated catalog has too few components"
    );
    let config = write_config(dir.path(), "external")?;
    let timeout = Duration::from_secs(120 + size as u64 / 400);
    eprintln!("bench-ui: {size} entities: starting portico serve");
    let mut server = Server::spawn(binary, &config, &dir.path().join("server.log"))?;
    server.wait_listening(timeout)?;
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(1)
        .build()
        .context("cannot build the HTTP client")?;
    let ready = runtime.block_on(first_ok(
        &client,
        &format!("{}/readyz", server.base),
        server.spawned,
        timeout,
    ))?;
    eprintln!("bench-ui:   ready after {:.1} s", ready.as_secs_f64());

    // A filter that matches a good part of the catalog, from values the generator uses.
    let base = server.base.clone();
    let step = names.len() / 10;
    let entity_paths: Vec<String> = (0..10)
        .map(|i| format!("/catalog/default/component/{}", names[i * step]))
        .collect();
    let pages: Vec<(&str, Vec<String>, bool)> = vec![
        ("catalog, first page", vec!["/catalog".to_owned()], false),
        (
            "catalog, filtered (lifecycle + text)",
            vec!["/catalog?kind=component&lifecycle=production&q=service".to_owned()],
            false,
        ),
        (
            "catalog, htmx fragment (filter change)",
            vec!["/catalog?kind=component&lifecycle=experimental&sort=owner".to_owned()],
            true,
        ),
        ("entity page (overview)", entity_paths.clone(), false),
        (
            "entity page (dependencies graph, 2 hops)",
            entity_paths
                .iter()
                .map(|p| format!("{p}?tab=dependencies&hops=2"))
                .collect(),
            false,
        ),
        ("home", vec!["/".to_owned()], false),
    ];
    let mut results = Vec::new();
    for (name, paths, fragment) in pages {
        let result = runtime.block_on(time_page(
            &client,
            &base,
            name,
            &paths,
            fragment,
            options.iterations,
        ))?;
        eprintln!(
            "bench-ui:   {name}: p50 {:.2} ms, p99 {:.2} ms",
            result.p50_ms, result.p99_ms
        );
        results.push(result);
    }
    let assets = runtime.block_on(asset_bytes(&client, &base))?;
    let weight_catalog = results[0].html_bytes + assets;
    let weight_entity = results[3].html_bytes + assets;
    server.stop()?;
    Ok(SizeResult {
        size,
        pages: results,
        weight_catalog,
        weight_entity,
    })
}

async fn time_page(
    client: &reqwest::Client,
    base: &str,
    name: &str,
    paths: &[String],
    fragment: bool,
    iterations: usize,
) -> anyhow::Result<PageResult> {
    let get = |path: &str| {
        let mut request = client.get(format!("{base}{path}"));
        if fragment {
            request = request
                .header("HX-Request", "true")
                .header("HX-Target", "catalog-view");
        }
        request.send()
    };
    let mut html_bytes = 0;
    for path in paths {
        let response = get(path).await?;
        ensure!(
            response.status().is_success(),
            "{path} answered {}",
            response.status()
        );
        html_bytes = response.bytes().await?.len();
    }
    let mut micros: Vec<u32> = Vec::with_capacity(iterations);
    for i in 0..iterations {
        let path = &paths[i % paths.len()];
        let started = Instant::now();
        let response = get(path).await?;
        let status = response.status();
        let _ = response.bytes().await?;
        micros.push(started.elapsed().as_micros() as u32);
        ensure!(status.is_success(), "{path} answered {status}");
    }
    micros.sort_unstable();
    let ms = |us: u32| f64::from(us) / 1000.0;
    Ok(PageResult {
        name: name.to_owned(),
        p50_ms: ms(percentile(&micros, 50.0)),
        p99_ms: ms(percentile(&micros, 99.0)),
        max_ms: ms(micros.last().copied().unwrap_or(0)),
        html_bytes,
    })
}

/// Bytes of the CSS and JS every page loads.
async fn asset_bytes(client: &reqwest::Client, base: &str) -> anyhow::Result<usize> {
    let mut total = 0;
    for asset in [
        "/static/app.css",
        "/static/app.js",
        "/static/vendor/htmx-2.0.11.min.js",
    ] {
        let response = client.get(format!("{base}{asset}")).send().await?;
        ensure!(
            response.status().is_success(),
            "{asset} answered {}",
            response.status()
        );
        total += response.bytes().await?.len();
    }
    Ok(total)
}

#[allow(clippy::print_stdout)]
fn report(results: &[SizeResult], options: &Options) {
    let kb = |bytes: usize| bytes as f64 / 1024.0;
    println!("{}", machine_info());
    println!();
    println!(
        "Sequential requests on one keep-alive connection, {} timed per page (after a warm-up).",
        options.iterations
    );
    println!();
    println!("| Entities | Page | p50 ms | p99 ms | max ms | HTML KB |");
    println!("|---:|---|---:|---:|---:|---:|");
    for size in results {
        for page in &size.pages {
            println!(
                "| {} | {} | {:.2} | {:.2} | {:.2} | {:.1} |",
                size.size,
                page.name,
                page.p50_ms,
                page.p99_ms,
                page.max_ms,
                kb(page.html_bytes)
            );
        }
    }
    println!();
    println!("| Entities | Page weight: catalog KB | entity KB |");
    println!("|---:|---:|---:|");
    for size in results {
        println!(
            "| {} | {:.1} | {:.1} |",
            size.size,
            kb(size.weight_catalog),
            kb(size.weight_entity)
        );
    }
    if let Some(largest) = results.iter().max_by_key(|r| r.size) {
        let worst = largest.pages.iter().map(|p| p.p99_ms).fold(0.0, f64::max);
        let heaviest = kb(largest.weight_catalog.max(largest.weight_entity));
        println!();
        println!(
            "Goals at {}: p99 < {GOAL_P99_MS} ms ({}), weight < {GOAL_WEIGHT_KB} KB ({}).",
            largest.size,
            if worst < GOAL_P99_MS {
                "met"
            } else {
                "NOT met"
            },
            if heaviest < GOAL_WEIGHT_KB {
                "met"
            } else {
                "NOT met"
            },
        );
    }
}
