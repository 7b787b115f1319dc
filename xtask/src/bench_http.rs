//! `cargo xtask bench-http`: an HTTP-level benchmark of `portico serve` on generated catalogs.
//!
//! For each size it generates a catalog (`portico_testkit::catalog_gen`), writes an
//! `app-config.yaml` that lists it and stores the catalog in an SQLite file, then:
//! 1. starts `portico serve` once, so that the catalog is registered (time to the
//!    `Portico listening on …` line, peak RSS), and stops it with SIGTERM;
//! 2. starts it again on the populated database (cold start: time to the listening line and to
//!    the first `200` of a by-name lookup);
//! 3. puts each endpoint under load for `--duration-secs` with `--concurrency` clients (tokio
//!    tasks sharing one keep-alive `reqwest::Client`), recording every request's latency, and
//!    counts every response that is not `200`;
//! 4. reads the server's memory from `/proc/<pid>/status` (`VmRSS` idle, `VmHWM` under load,
//!    after resetting it through `/proc/<pid>/clear_refs`) and its CPU time from
//!    `/proc/<pid>/stat`;
//! 5. stops it with SIGTERM and checks that it exits 0 within a few seconds;
//! 6. starts it once more without its read-model snapshot (`data/catalog.snapshot`), so that the
//!    read model is rebuilt from the database: time to the first by-name `200` again.
//!
//! The load generator runs in this process, on the same cores as the server: a debug build of
//! it would steal far more CPU than the server uses, so a debug `cargo xtask` re-runs itself
//! as a release build first. Prints machine info and Markdown tables for BENCHMARKS.md.

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail, ensure};
use portico_testkit::catalog_gen::{
    CatalogSpec, GeneratedCatalog, ROOT_FILE, generate, write_to_dir,
};
use serde_json::Value;

use xtask::bench::{machine_info, release_binary};
use xtask::{cargo, workspace_root};

/// What the server prints on stdout, followed by its base URL, once it serves the catalog.
const LISTENING: &str = "Portico listening on ";

/// How long a SIGTERM may take to stop the server before it counts as a failure.
const SHUTDOWN_TIMEOUT: Duration = Duration::from_secs(10);

/// Refs per `POST /entities/by-refs` request.
const REFS_PER_REQUEST: usize = 100;

/// Goal: by-name lookups per second at 8 concurrent clients.
const GOAL_BY_NAME_RPS: f64 = 15_000.0;

/// Goal: p99 of the filtered by-query request at 10k entities, in milliseconds.
const GOAL_BY_QUERY_P99_MS: f64 = 5.0;

/// Options of `bench-http`.
#[derive(Debug, Clone)]
pub struct Options {
    /// Catalog sizes in entities.
    pub sizes: Vec<usize>,
    /// Run `cargo build --release -p portico` first.
    pub build: bool,
    /// Load time per endpoint.
    pub duration: Duration,
    /// Concurrent clients.
    pub concurrency: usize,
    /// `techdocs.builder` in the server's config (`external` or `local`).
    pub techdocs_builder: String,
}

/// Runs the benchmark and prints the report.
pub fn run(options: &Options) -> anyhow::Result<()> {
    ensure!(
        !options.sizes.is_empty(),
        "--sizes must name at least one size"
    );
    ensure!(options.concurrency > 0, "--concurrency must be at least 1");
    ensure!(
        !options.duration.is_zero(),
        "--duration-secs must be at least 1"
    );
    if cfg!(debug_assertions) {
        return rerun_in_release(options);
    }
    let root = workspace_root();
    if options.build {
        xtask::bench::build_release_portico(&root, "bench-http")?;
    }
    let binary = release_binary(&root)?;
    ensure!(
        binary.is_file(),
        "{} does not exist: build it with `cargo build --release -p portico` (or drop --no-build)",
        binary.display()
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let mut results = Vec::new();
    for &size in &options.sizes {
        results.push(bench_size(&runtime, &binary, size, options)?);
    }
    report(&results, options)
}

/// A debug build of the load generator would compete with the server for the CPU far more
/// than a release build: run the same command from a release build of xtask.
fn rerun_in_release(options: &Options) -> anyhow::Result<()> {
    eprintln!(
        "bench-http: the load generator shares the CPU with the server; re-running as a release build"
    );
    let sizes: Vec<String> = options.sizes.iter().map(usize::to_string).collect();
    let mut command = Command::new(cargo());
    command
        .args([
            "run",
            "--release",
            "--quiet",
            "-p",
            "xtask",
            "--",
            "bench-http",
        ])
        .arg("--sizes")
        .arg(sizes.join(","))
        .arg("--duration-secs")
        .arg(options.duration.as_secs().to_string())
        .arg("--concurrency")
        .arg(options.concurrency.to_string())
        .arg("--techdocs-builder")
        .arg(&options.techdocs_builder)
        .current_dir(workspace_root());
    if !options.build {
        command.arg("--no-build");
    }
    let status = command.status().context("running cargo run --release")?;
    ensure!(
        status.success(),
        "bench-http (release build) failed: {status}"
    );
    Ok(())
}

/// Everything measured for one catalog size.
#[derive(Debug)]
struct SizeResult {
    entities: usize,
    components: usize,
    /// First start on an empty database: spawn → listening line, and the peak RSS then.
    first_start: Duration,
    first_start_hwm_kib: Option<u64>,
    first_stop: Stopped,
    /// Start on the populated database: spawn → listening line, → first by-name 200.
    cold_listening: Duration,
    cold_first_200: Duration,
    cold_hwm_kib: Option<u64>,
    /// Start on the populated database without the snapshot: spawn → first by-name 200.
    rebuild_first_200: Duration,
    idle_rss_kib: Option<u64>,
    load_hwm_kib: Option<u64>,
    /// `false` when `clear_refs` could not reset `VmHWM` (it then includes the cold start).
    hwm_reset: bool,
    after_load_rss_kib: Option<u64>,
    endpoints: Vec<EndpointResult>,
    stop: Stopped,
    /// Warnings and errors the server logged, and stdout lines besides the listening line.
    server_log_problems: Vec<String>,
}

/// How a SIGTERM ended the server.
#[derive(Debug)]
pub(crate) struct Stopped {
    status: Option<ExitStatus>,
    after: Duration,
    /// It did not exit within [`SHUTDOWN_TIMEOUT`] and was killed.
    killed: bool,
}

impl Stopped {
    fn ok(&self) -> bool {
        !self.killed && self.status.is_some_and(|s| s.success())
    }

    fn describe(&self) -> String {
        match (&self.status, self.killed) {
            (_, true) => format!(
                "**FAILED: still running {} s after SIGTERM, killed**",
                SHUTDOWN_TIMEOUT.as_secs()
            ),
            (Some(status), false) if status.success() => {
                format!("exit 0 in {:.2} s", self.after.as_secs_f64())
            }
            (Some(status), false) => format!(
                "**FAILED: {status} after {:.2} s**",
                self.after.as_secs_f64()
            ),
            (None, false) => "**FAILED: exit status unknown**".to_owned(),
        }
    }
}

/// One request of an endpoint's rotation.
#[derive(Debug, Clone)]
enum Req {
    Get(String),
    PostJson(String, String),
}

impl Req {
    fn build(&self, client: &reqwest::Client, base: &str) -> reqwest::RequestBuilder {
        match self {
            Self::Get(path) => client.get(format!("{base}{path}")),
            Self::PostJson(path, body) => client
                .post(format!("{base}{path}"))
                .header("content-type", "application/json")
                .body(body.clone()),
        }
    }
}

/// An endpoint to put under load: its requests, taken in turn by every client.
#[derive(Debug)]
struct Endpoint {
    name: &'static str,
    requests: Vec<Req>,
    clients: usize,
}

/// What one endpoint did under load.
#[derive(Debug)]
struct EndpointResult {
    name: &'static str,
    clients: usize,
    /// One sample response, summarised (item counts, size).
    sample: String,
    stats: LoadStats,
    server_cpu: Option<f64>,
    client_cpu: Option<f64>,
    /// Busy time of the whole machine (all processes, interrupts included).
    machine_cpu: Option<f64>,
}

impl EndpointResult {
    /// Cores busy with something else than the server and the load generator.
    fn other_cpu(&self) -> Option<f64> {
        Some((self.machine_cpu? - self.server_cpu? - self.client_cpu?).max(0.0))
    }
}

/// Other work above this many cores during a measurement earns a warning.
const OTHER_CPU_WARNING: f64 = 0.25;

/// Latencies and counts of one load run.
#[derive(Debug, Default)]
struct LoadStats {
    /// Every request's latency in microseconds, sorted.
    latencies_us: Vec<u32>,
    failures: u64,
    first_failure: Option<String>,
    bytes: u64,
    wall: Duration,
}

impl LoadStats {
    fn requests(&self) -> usize {
        self.latencies_us.len()
    }

    fn per_second(&self) -> f64 {
        self.requests() as f64 / self.wall.as_secs_f64().max(1e-9)
    }

    fn ms(&self, p: f64) -> f64 {
        f64::from(percentile(&self.latencies_us, p)) / 1000.0
    }

    fn mib_per_second(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.wall.as_secs_f64().max(1e-9)
    }
}

/// The `p`th percentile (0–100, nearest rank) of sorted values; 0 when empty.
pub(crate) fn percentile(sorted: &[u32], p: f64) -> u32 {
    let n = sorted.len();
    if n == 0 {
        return 0;
    }
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted.get(rank.clamp(1, n) - 1).copied().unwrap_or(0)
}

fn bench_size(
    runtime: &tokio::runtime::Runtime,
    binary: &Path,
    size: usize,
    options: &Options,
) -> anyhow::Result<SizeResult> {
    let dir = tempfile::Builder::new()
        .prefix("portico-bench-http-")
        .tempdir()?;
    let catalog = generate(&CatalogSpec::new(size));
    write_to_dir(&catalog, &dir.path().join("catalog"))?;
    let names = component_names(&catalog);
    ensure!(
        !names.is_empty(),
        "the generated catalog of {size} entities has no components"
    );
    let config = write_config(dir.path(), &options.techdocs_builder)?;
    let start_timeout = Duration::from_secs(120 + size as u64 / 400);

    eprintln!("bench-http: {size} entities: first start (registers the catalog)");
    let mut server = Server::spawn(binary, &config, &dir.path().join("server-1.log"))?;
    server.wait_listening(start_timeout)?;
    // The server listens at once and registers the catalog in the background; /readyz turns
    // 200 when everything is registered and queryable.
    let ready_client = reqwest::Client::builder()
        .no_proxy()
        .build()
        .context("cannot build the HTTP client")?;
    let first_start = runtime.block_on(first_ok(
        &ready_client,
        &format!("{}/readyz", server.base),
        server.spawned,
        start_timeout,
    ))?;
    let first_start_hwm_kib = proc_status_kib(server.pid, "VmHWM");
    eprintln!(
        "bench-http:   ready after {:.2} s, peak RSS {}",
        first_start.as_secs_f64(),
        fmt_mib(first_start_hwm_kib)
    );
    let first_stop = server.stop()?;
    let mut server_log_problems = server.problems();
    eprintln!("bench-http:   stopped: {}", first_stop.describe());

    eprintln!("bench-http: {size} entities: cold start on the populated database");
    let mut server = Server::spawn(binary, &config, &dir.path().join("server-2.log"))?;
    let cold_listening = server.wait_listening(start_timeout)?;
    let base = server.base.clone();
    let client = reqwest::Client::builder()
        .no_proxy()
        .tcp_nodelay(true)
        .pool_max_idle_per_host(options.concurrency.max(8))
        .timeout(Duration::from_secs(300))
        .build()
        .context("cannot build the HTTP client")?;
    let known = format!(
        "/api/catalog/entities/by-name/component/default/{}",
        names[0]
    );
    let cold_first_200 = runtime.block_on(first_ok(
        &client,
        &format!("{base}{known}"),
        server.spawned,
        start_timeout,
    ))?;
    let cold_hwm_kib = proc_status_kib(server.pid, "VmHWM");
    let idle_rss_kib = proc_status_kib(server.pid, "VmRSS");
    eprintln!(
        "bench-http:   listening after {:.2} s, first by-name 200 after {:.2} s, idle RSS {}",
        cold_listening.as_secs_f64(),
        cold_first_200.as_secs_f64(),
        fmt_mib(idle_rss_kib)
    );
    // Writing 5 to clear_refs resets VmHWM to the current RSS (Linux ≥ 4.0).
    let hwm_reset = std::fs::write(format!("/proc/{}/clear_refs", server.pid), "5").is_ok();

    let endpoints = endpoints(&names, options.concurrency);
    let clk_tck = clock_ticks_per_second();
    let mut results = Vec::new();
    runtime.block_on(async {
        // Warm-up: open the connections, fault in the read model's pages.
        let warm_up = endpoints.first().map(|e| Arc::new(e.requests.clone()));
        if let Some(requests) = warm_up {
            let _ = load(
                &client,
                &base,
                requests,
                options.concurrency,
                Duration::from_secs(1),
            )
            .await;
        }
        for endpoint in &endpoints {
            let sample = match endpoint.requests.first() {
                Some(req) => sample_response(&client, &base, req).await,
                None => "no request".to_owned(),
            };
            let server_before = proc_cpu_ticks(&server.pid.to_string());
            let client_before = proc_cpu_ticks("self");
            let machine_before = machine_busy_ticks();
            let stats = load(
                &client,
                &base,
                Arc::new(endpoint.requests.clone()),
                endpoint.clients,
                options.duration,
            )
            .await;
            let cores = |before: Option<u64>, after: Option<u64>| {
                let ticks = after?.checked_sub(before?)?;
                Some(ticks as f64 / clk_tck / stats.wall.as_secs_f64().max(1e-9))
            };
            let server_cpu = cores(server_before, proc_cpu_ticks(&server.pid.to_string()));
            let client_cpu = cores(client_before, proc_cpu_ticks("self"));
            let machine_cpu = cores(machine_before, machine_busy_ticks());
            eprintln!(
                "bench-http:   {}: {} requests, {:.0} req/s, p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms, {} failures ({sample})",
                endpoint.name,
                stats.requests(),
                stats.per_second(),
                stats.ms(50.0),
                stats.ms(99.0),
                stats.ms(100.0),
                stats.failures,
            );
            if let Some(failure) = &stats.first_failure {
                eprintln!(
                    "bench-http:   FAILURES on {}: {} requests did not return 200; first: {failure}",
                    endpoint.name, stats.failures
                );
            }
            results.push(EndpointResult {
                name: endpoint.name,
                clients: endpoint.clients,
                sample,
                stats,
                server_cpu,
                client_cpu,
                machine_cpu,
            });
        }
    });
    let load_hwm_kib = proc_status_kib(server.pid, "VmHWM");
    let after_load_rss_kib = proc_status_kib(server.pid, "VmRSS");
    if let Ok(Some(status)) = server.child.try_wait() {
        bail!("the server exited during the load ({status})");
    }
    // Stop while the client still holds idle keep-alive connections: they must not hold up
    // the graceful shutdown.
    let stop = server.stop()?;
    drop(client);
    eprintln!("bench-http:   stopped: {}", stop.describe());
    server_log_problems.extend(server.problems());

    eprintln!("bench-http: {size} entities: cold start without the read-model snapshot");
    std::fs::remove_file(dir.path().join("data").join("catalog.snapshot"))
        .context("the server wrote no read-model snapshot")?;
    let mut server = Server::spawn(binary, &config, &dir.path().join("server-3.log"))?;
    server.wait_listening(start_timeout)?;
    let rebuild_first_200 = runtime.block_on(first_ok(
        &ready_client,
        &format!("{}{known}", server.base),
        server.spawned,
        start_timeout,
    ))?;
    eprintln!(
        "bench-http:   first by-name 200 after {:.2} s (read model rebuilt)",
        rebuild_first_200.as_secs_f64()
    );
    server.stop()?;
    server_log_problems.extend(
        server
            .problems()
            .into_iter()
            .filter(|line| !line.contains("snapshot")),
    );
    Ok(SizeResult {
        entities: size,
        components: names.len(),
        first_start,
        first_start_hwm_kib,
        first_stop,
        cold_listening,
        cold_first_200,
        cold_hwm_kib,
        rebuild_first_200,
        idle_rss_kib,
        load_hwm_kib,
        hwm_reset,
        after_load_rss_kib,
        endpoints: results,
        stop,
        server_log_problems,
    })
}

/// The endpoints under load, in order; by-name first (it also serves as the warm-up).
fn endpoints(names: &[String], concurrency: usize) -> Vec<Endpoint> {
    let by_refs = (0..names.len().div_ceil(REFS_PER_REQUEST).clamp(1, 64))
        .map(|k| {
            let refs: Vec<String> = (0..REFS_PER_REQUEST)
                .map(|i| {
                    let name = &names[(k * REFS_PER_REQUEST + i) % names.len()];
                    format!("component:default/{name}")
                })
                .collect();
            Req::PostJson(
                "/api/catalog/entities/by-refs".to_owned(),
                serde_json::json!({ "entityRefs": refs }).to_string(),
            )
        })
        .collect();
    let get = |path: &str| vec![Req::Get(path.to_owned())];
    vec![
        Endpoint {
            name: "by-name `component:default/<name>`",
            requests: names
                .iter()
                .map(|n| {
                    Req::Get(format!(
                        "/api/catalog/entities/by-name/component/default/{n}"
                    ))
                })
                .collect(),
            clients: concurrency,
        },
        Endpoint {
            name: "by-query `kind=component,spec.type=service`, limit 50",
            requests: get(
                "/api/catalog/entities/by-query?filter=kind=component,spec.type=service&limit=50",
            ),
            clients: concurrency,
        },
        Endpoint {
            name: "entity-facets `spec.type`",
            requests: get("/api/catalog/entity-facets?facet=spec.type"),
            clients: concurrency,
        },
        Endpoint {
            name: "by-query full text 'pay' on `metadata.name`, limit 50",
            requests: get(
                "/api/catalog/entities/by-query?fullTextFilterTerm=pay&fullTextFilterFields=metadata.name&limit=50",
            ),
            clients: concurrency,
        },
        Endpoint {
            name: "by-refs, 100 refs (POST)",
            requests: by_refs,
            clients: concurrency,
        },
        // About 55% of the catalog per response: one client, the rate is in MiB/s.
        Endpoint {
            name: "entities `kind=component` (all, unpaged)",
            requests: get("/api/catalog/entities?filter=kind=component"),
            clients: 1,
        },
    ]
}

/// Runs `clients` tasks sending `requests` in turn for `duration` (each sends at least one).
async fn load(
    client: &reqwest::Client,
    base: &str,
    requests: Arc<Vec<Req>>,
    clients: usize,
    duration: Duration,
) -> LoadStats {
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|_| {
            let client = client.clone();
            let base = base.to_owned();
            let requests = Arc::clone(&requests);
            let next = Arc::clone(&next);
            tokio::spawn(async move {
                let mut stats = LoadStats {
                    latencies_us: Vec::with_capacity(1 << 16),
                    ..LoadStats::default()
                };
                loop {
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(req) = requests.get(k % requests.len().max(1)) else {
                        break;
                    };
                    let sent = Instant::now();
                    let outcome = send(&client, &base, req).await;
                    let elapsed = sent.elapsed();
                    stats
                        .latencies_us
                        .push(u32::try_from(elapsed.as_micros()).unwrap_or(u32::MAX));
                    match outcome {
                        Ok(bytes) => stats.bytes += bytes,
                        Err(failure) => {
                            stats.failures += 1;
                            stats.first_failure.get_or_insert(failure);
                        }
                    }
                    if Instant::now() >= deadline {
                        break;
                    }
                }
                stats
            })
        })
        .collect();
    let mut total = LoadStats::default();
    for task in tasks {
        match task.await {
            Ok(stats) => {
                total.latencies_us.extend(stats.latencies_us);
                total.failures += stats.failures;
                total.bytes += stats.bytes;
                if total.first_failure.is_none() {
                    total.first_failure = stats.first_failure;
                }
            }
            Err(err) => {
                total.failures += 1;
                total
                    .first_failure
                    .get_or_insert_with(|| format!("client task failed: {err}"));
            }
        }
    }
    total.wall = started.elapsed();
    total.latencies_us.sort_unstable();
    total
}

/// Sends one request and reads its whole body; `Ok(body bytes)` for a 200.
async fn send(client: &reqwest::Client, base: &str, req: &Req) -> Result<u64, String> {
    let mut response = req
        .build(client, base)
        .send()
        .await
        .map_err(|err| format!("{req:?}: {err}"))?;
    let status = response.status();
    let mut bytes = 0u64;
    let mut head = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                bytes += chunk.len() as u64;
                if status != reqwest::StatusCode::OK && head.len() < 300 {
                    head.extend_from_slice(&chunk[..chunk.len().min(300)]);
                }
            }
            Ok(None) => break,
            Err(err) => return Err(format!("{req:?}: {status}, body failed: {err}")),
        }
    }
    if status == reqwest::StatusCode::OK {
        Ok(bytes)
    } else {
        Err(format!(
            "{req:?}: {status}: {}",
            String::from_utf8_lossy(&head).trim()
        ))
    }
}

/// One request of the endpoint, summarised for the table (`50 of 32,964, 61 KiB`).
async fn sample_response(client: &reqwest::Client, base: &str, req: &Req) -> String {
    let response = match req.build(client, base).send().await {
        Ok(response) => response,
        Err(err) => return format!("**request failed: {err}**"),
    };
    let status = response.status();
    match response.bytes().await {
        Ok(body) if status == reqwest::StatusCode::OK => describe_body(&body),
        Ok(body) => format!(
            "**{status}: {}**",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ),
        Err(err) => format!("**{status}, body failed: {err}**"),
    }
}

/// Summarises a catalog API response: item counts (and `null`s), facet values, an entity.
fn describe_body(body: &[u8]) -> String {
    let size = if body.len() >= 1024 * 1024 {
        format!("{:.1} MiB", body.len() as f64 / (1024.0 * 1024.0))
    } else {
        format!("{:.1} KiB", body.len() as f64 / 1024.0)
    };
    let Ok(value) = serde_json::from_slice::<Value>(body) else {
        return format!("**not JSON**, {size}");
    };
    let what = match &value {
        Value::Array(items) => format!("{} entities", thousands(items.len() as u64)),
        Value::Object(map) => {
            if let Some(Value::Array(items)) = map.get("items") {
                let nulls = items.iter().filter(|v| v.is_null()).count();
                let mut text = match map.get("totalItems").and_then(Value::as_u64) {
                    Some(total) => format!("{} of {}", items.len(), thousands(total)),
                    None => format!("{} items", items.len()),
                };
                if nulls > 0 {
                    let _ = write!(text, " (**{nulls} null**)");
                }
                text
            } else if let Some(Value::Object(facets)) = map.get("facets") {
                let parts: Vec<String> = facets
                    .iter()
                    .map(|(facet, values)| {
                        let n = values.as_array().map_or(0, Vec::len);
                        format!("{n} values of {facet}")
                    })
                    .collect();
                parts.join(", ")
            } else if let Some(name) = value.pointer("/metadata/name").and_then(Value::as_str) {
                let kind = value.get("kind").and_then(Value::as_str).unwrap_or("?");
                format!("{kind} {name}")
            } else {
                "unexpected JSON object".to_owned()
            }
        }
        _ => "unexpected JSON".to_owned(),
    };
    format!("{what}, {size}")
}

/// Polls `url` until it answers 200; the time since `spawned`.
pub(crate) async fn first_ok(
    client: &reqwest::Client,
    url: &str,
    spawned: Instant,
    timeout: Duration,
) -> anyhow::Result<Duration> {
    let mut last = String::new();
    while spawned.elapsed() < timeout {
        match client.get(url).send().await {
            Ok(response) if response.status() == reqwest::StatusCode::OK => {
                let at = spawned.elapsed();
                let _ = response.bytes().await;
                return Ok(at);
            }
            Ok(response) => last = format!("{}", response.status()),
            Err(err) => last = err.to_string(),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    bail!("{url} did not answer 200 within {timeout:?} (last: {last})")
}

/// A running `portico serve`; killed if dropped while running.
#[derive(Debug)]
pub(crate) struct Server {
    child: Child,
    pid: u32,
    pub(crate) spawned: Instant,
    pub(crate) base: String,
    lines: mpsc::Receiver<String>,
    reader: Option<JoinHandle<()>>,
    log: PathBuf,
    /// Stdout lines other than the listening line.
    extra_stdout: Vec<String>,
}

impl Server {
    pub(crate) fn spawn(binary: &Path, config: &Path, log: &Path) -> anyhow::Result<Self> {
        let stderr =
            File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let spawned = Instant::now();
        let mut child = Command::new(binary)
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(config)
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .with_context(|| format!("cannot start {}", binary.display()))?;
        let pid = child.id();
        let stdout = child.stdout.take().context("no stdout pipe")?;
        let (tx, lines) = mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Self {
            child,
            pid,
            spawned,
            base: String::new(),
            lines,
            reader: Some(reader),
            log: log.to_owned(),
            extra_stdout: Vec::new(),
        })
    }

    /// Waits for the listening line; the time since the spawn.
    pub(crate) fn wait_listening(&mut self, timeout: Duration) -> anyhow::Result<Duration> {
        loop {
            let left = timeout.saturating_sub(self.spawned.elapsed());
            match self.lines.recv_timeout(left) {
                Ok(line) => match line.strip_prefix(LISTENING) {
                    Some(base) => {
                        let at = self.spawned.elapsed();
                        self.base = base.trim().to_owned();
                        return Ok(at);
                    }
                    None => self.extra_stdout.push(line),
                },
                Err(mpsc::RecvTimeoutError::Timeout) => {
                    bail!(
                        "portico serve printed no listening line within {timeout:?}; its log:\n{}",
                        self.log_tail()
                    )
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    bail!(
                        "portico serve exited ({status}) before listening; its log:\n{}",
                        self.log_tail()
                    )
                }
            }
        }
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends SIGTERM and waits up to [`SHUTDOWN_TIMEOUT`] for the exit (then kills it).
    pub(crate) fn stop(&mut self) -> anyhow::Result<Stopped> {
        let sent = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.pid.to_string()])
            .status()
            .context("running kill -TERM")?;
        ensure!(
            status.success(),
            "kill -TERM {} failed ({status})",
            self.pid
        );
        let stopped = loop {
            if let Some(status) = self.child.try_wait()? {
                break Stopped {
                    status: Some(status),
                    after: sent.elapsed(),
                    killed: false,
                };
            }
            if sent.elapsed() > SHUTDOWN_TIMEOUT {
                let _ = self.child.kill();
                let status = self.child.wait().ok();
                break Stopped {
                    status,
                    after: sent.elapsed(),
                    killed: true,
                };
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        if let Some(reader) = self.reader.take() {
            let _ = reader.join();
        }
        self.extra_stdout.extend(self.lines.try_iter());
        Ok(stopped)
    }

    /// Warnings and errors of the log, and unexpected stdout lines.
    fn problems(&self) -> Vec<String> {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let mut problems: Vec<String> = log
            .lines()
            .filter(|l| l.contains(" WARN ") || l.contains("ERROR") || l.contains("panicked"))
            .map(str::to_owned)
            .collect();
        problems.extend(
            self.extra_stdout
                .iter()
                .map(|line| format!("unexpected stdout line: {line}")),
        );
        problems
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `metadata.name` of every `Component`, in file order (the generator writes `kind:` at column
/// 0 and the name as the first `  name:` line after it).
pub(crate) fn component_names(catalog: &GeneratedCatalog) -> Vec<String> {
    let mut names = Vec::with_capacity(catalog.counts.components);
    for file in &catalog.files {
        let mut in_component = false;
        for line in file.contents.lines() {
            if let Some(kind) = line.strip_prefix("kind: ") {
                in_component = kind.trim() == "Component";
            } else if in_component && let Some(name) = line.strip_prefix("  name: ") {
                names.push(name.trim().trim_matches(['\'', '"']).to_owned());
                in_component = false;
            }
        }
    }
    names
}

/// Writes `app-config.yaml`: the catalog as a file location, SQLite under `<dir>/data`, and
/// `techdocs.builder` (`external` unless asked: the generated entities name docs folders that
/// have no `mkdocs.yml`, and the benchmark measures the catalog, not builds).
pub(crate) fn write_config(dir: &Path, techdocs_builder: &str) -> anyhow::Result<PathBuf> {
    let data = dir.join("data");
    std::fs::create_dir_all(&data)?;
    // JSON strings are YAML strings: any path is quoted correctly.
    let quote = |path: &Path| Value::from(path.to_string_lossy()).to_string();
    let text = format!(
        "backend:\n  database:\n    client: better-sqlite3\n    connection:\n      directory: {}\n\
         catalog:\n  locations:\n    - type: file\n      target: {}\n\
         techdocs:\n  builder: {techdocs_builder}\n",
        quote(&data),
        quote(&dir.join("catalog").join(ROOT_FILE)),
    );
    let path = dir.join("app-config.yaml");
    std::fs::write(&path, text)?;
    Ok(path)
}

/// A `/proc/<pid>/status` field in KiB (`VmRSS`, `VmHWM`).
pub(crate) fn proc_status_kib(pid: u32, key: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&text, key)
}

fn parse_status_kib(text: &str, key: &str) -> Option<u64> {
    text.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        (k == key)
            .then(|| v.trim().trim_end_matches("kB").trim().parse().ok())
            .flatten()
    })
}

/// User + system CPU time of a process (`"self"` or a pid), in clock ticks.
fn proc_cpu_ticks(pid: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_stat_ticks(&text)
}

/// Busy clock ticks of all CPUs together, from the `cpu` line of `/proc/stat`.
fn machine_busy_ticks() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/stat").ok()?;
    parse_machine_busy(&text)
}

/// `user nice system idle iowait irq softirq steal …`: everything but idle and iowait (guest
/// time is already counted in user).
fn parse_machine_busy(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("cpu "))?;
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .take(8)
        .map(str::parse)
        .collect::<Result<_, _>>()
        .ok()?;
    let (&idle, &iowait) = (fields.get(3)?, fields.get(4)?);
    Some(fields.iter().sum::<u64>() - idle - iowait)
}

/// Fields 14 and 15 (utime, stime) of `/proc/<pid>/stat`, counted after the `)` that ends the
/// command name (which may hold spaces).
fn parse_stat_ticks(text: &str) -> Option<u64> {
    let (_, rest) = text.rsplit_once(')')?;
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn clock_ticks_per_second() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

fn fmt_mib(kib: Option<u64>) -> String {
    kib.map_or_else(
        || "?".to_owned(),
        |k| format!("{:.0} MiB", k as f64 / 1024.0),
    )
}

fn fmt_cores(cores: Option<f64>) -> String {
    cores.map_or_else(|| "?".to_owned(), |c| format!("{c:.2}"))
}

/// `12345` → `12,345`.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn report(results: &[SizeResult], options: &Options) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", machine_info())?;
    writeln!(out)?;
    writeln!(
        out,
        "`portico serve` (release) with an app-config.yaml listing a generated catalog, SQLite. \
         The load generator (this process: release build, tokio, one keep-alive reqwest::Client) \
         runs on the same {} cores as the server, so every figure is a lower bound for the server \
         alone; the CPU columns show how the cores were shared (other: the rest of the machine's busy time, \
         from /proc/stat). {} s per endpoint, {} concurrent \
         clients (1 for the unpaged list), responses read in full; a failure is any response \
         that is not 200.",
        std::thread::available_parallelism().map_or(0, usize::from),
        options.duration.as_secs(),
        options.concurrency,
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "| Entities | Endpoint | Clients | Requests | req/s | p50 ms | p99 ms | max ms | MiB/s | Server CPU, cores | Load gen CPU, cores | Other CPU, cores | Failures | Sample response |"
    )?;
    writeln!(
        out,
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )?;
    for size in results {
        for e in &size.endpoints {
            let s = &e.stats;
            let failures = if s.failures > 0 {
                format!("**{}**", s.failures)
            } else {
                "0".to_owned()
            };
            writeln!(
                out,
                "| {} | {} | {} | {} | {} | {:.3} | {:.3} | {:.2} | {:.1} | {} | {} | {} | {failures} | {} |",
                size.entities,
                e.name,
                e.clients,
                thousands(s.requests() as u64),
                thousands(s.per_second().round() as u64),
                s.ms(50.0),
                s.ms(99.0),
                s.ms(100.0),
                s.mib_per_second(),
                fmt_cores(e.server_cpu),
                fmt_cores(e.client_cpu),
                fmt_cores(e.other_cpu()),
                e.sample,
            )?;
        }
    }
    writeln!(out)?;
    writeln!(
        out,
        "| Entities | Components | First start (register all) → ready, s | Its peak RSS | Cold start → listening, s | → first by-name 200, s | → first 200 without snapshot (rebuild), s | Cold start peak RSS | Idle RSS | Peak RSS under load | RSS after load | SIGTERM after first start | SIGTERM after load |"
    )?;
    writeln!(
        out,
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|"
    )?;
    for size in results {
        let load_peak = if size.hwm_reset {
            fmt_mib(size.load_hwm_kib)
        } else {
            format!("{} (incl. start-up)", fmt_mib(size.load_hwm_kib))
        };
        writeln!(
            out,
            "| {} | {} | {:.2} | {} | {:.2} | {:.2} | {:.2} | {} | {} | {load_peak} | {} | {} | {} |",
            size.entities,
            thousands(size.components as u64),
            size.first_start.as_secs_f64(),
            fmt_mib(size.first_start_hwm_kib),
            size.cold_listening.as_secs_f64(),
            size.cold_first_200.as_secs_f64(),
            size.rebuild_first_200.as_secs_f64(),
            fmt_mib(size.cold_hwm_kib),
            fmt_mib(size.idle_rss_kib),
            fmt_mib(size.after_load_rss_kib),
            size.first_stop.describe(),
            size.stop.describe(),
        )?;
    }
    writeln!(out)?;
    writeln!(out, "Goals:")?;
    writeln!(out)?;
    for size in results {
        let endpoint = |prefix: &str| size.endpoints.iter().find(|e| e.name.starts_with(prefix));
        if let Some(e) = endpoint("by-name") {
            let rps = e.stats.per_second();
            writeln!(
                out,
                "- by-name ≥ {} req/s at 8 clients — {} entities, {} clients: {} req/s: **{}**",
                thousands(GOAL_BY_NAME_RPS as u64),
                size.entities,
                e.clients,
                thousands(rps.round() as u64),
                if e.clients != 8 {
                    "not comparable (not 8 clients)"
                } else if rps >= GOAL_BY_NAME_RPS {
                    "met"
                } else {
                    "missed"
                }
            )?;
        }
        if size.entities == 10_000
            && let Some(e) = endpoint("by-query `kind")
        {
            let p99 = e.stats.ms(99.0);
            writeln!(
                out,
                "- by-query p99 < {GOAL_BY_QUERY_P99_MS} ms at 10k — {p99:.3} ms: **{}**",
                if p99 < GOAL_BY_QUERY_P99_MS {
                    "met"
                } else {
                    "missed"
                }
            )?;
        }
    }

    let failures: u64 = results
        .iter()
        .flat_map(|s| &s.endpoints)
        .map(|e| e.stats.failures)
        .sum();
    let bad_stops = results
        .iter()
        .flat_map(|s| [&s.first_stop, &s.stop])
        .filter(|s| !s.ok())
        .count();
    let busy: Vec<String> = results
        .iter()
        .flat_map(|s| s.endpoints.iter().map(move |e| (s.entities, e)))
        .filter(|(_, e)| e.other_cpu().is_some_and(|c| c > OTHER_CPU_WARNING))
        .map(|(entities, e)| format!("{entities} {}", e.name))
        .collect();
    if !busy.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "**Warning: other processes used more than {OTHER_CPU_WARNING} cores during {} \
             measurement(s)** ({}); those figures understate the server.",
            busy.len(),
            busy.join("; ")
        )?;
    }
    let problems: Vec<&String> = results
        .iter()
        .flat_map(|s| &s.server_log_problems)
        .collect();
    if !problems.is_empty() {
        writeln!(out)?;
        writeln!(
            out,
            "Server log: {} warning/error line(s); the first ones:",
            problems.len()
        )?;
        writeln!(out)?;
        for line in problems.iter().take(10) {
            writeln!(out, "    {line}")?;
        }
    }
    if failures > 0 {
        writeln!(out)?;
        writeln!(
            out,
            "**FAILURES: {failures} request(s) did not return 200.**"
        )?;
        for e in results.iter().flat_map(|s| &s.endpoints) {
            if let Some(first) = &e.stats.first_failure {
                writeln!(
                    out,
                    "- {}: {} failed; first: {first}",
                    e.name, e.stats.failures
                )?;
            }
        }
    }
    out.flush()?;
    drop(out);
    ensure!(failures == 0, "{failures} request(s) did not return 200");
    ensure!(
        bad_stops == 0,
        "{bad_stops} SIGTERM shutdown(s) did not end with exit 0 in time"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use portico_testkit::catalog_gen::{CatalogSpec, generate};

    use super::{
        component_names, describe_body, parse_machine_busy, parse_stat_ticks, parse_status_kib,
        percentile, thousands,
    };

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50.0), 0);
        let values: Vec<u32> = (1..=100).collect();
        assert_eq!(percentile(&values, 50.0), 50);
        assert_eq!(percentile(&values, 99.0), 99);
        assert_eq!(percentile(&values, 100.0), 100);
        assert_eq!(percentile(&values, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
    }

    #[test]
    fn finds_every_component_name() {
        let catalog = generate(&CatalogSpec::new(1_000));
        let names = component_names(&catalog);
        assert_eq!(names.len(), catalog.counts.components);
        let mut unique = names.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), names.len());
        assert!(names.iter().all(|n| !n.is_empty() && !n.contains(' ')));
    }

    #[test]
    fn reads_proc_files() {
        let status = "Name:\tportico\nVmHWM:\t  123456 kB\nVmRSS:\t   65432 kB\n";
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(65_432));
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(123_456));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
        let stat = "4242 (tokio worker) S 1 4242 4242 0 -1 4194560 500 0 0 0 150 25 0 0 20 0 3 0";
        assert_eq!(parse_stat_ticks(stat), Some(175));
        let machine = "cpu  100 5 50 1000 20 3 7 2 0 0\ncpu0 50 2 25 500 10 1 3 1 0 0\n";
        assert_eq!(parse_machine_busy(machine), Some(167));
    }

    #[test]
    fn describes_responses() {
        assert_eq!(describe_body(b"[{},{}]"), "2 entities, 0.0 KiB");
        assert_eq!(
            describe_body(br#"{"items":[{},null],"totalItems":32964}"#),
            "2 of 32,964 (**1 null**), 0.0 KiB"
        );
        assert_eq!(
            describe_body(br#"{"facets":{"spec.type":[{"value":"a","count":1}]}}"#),
            "1 values of spec.type, 0.0 KiB"
        );
        assert_eq!(
            describe_body(br#"{"kind":"Component","metadata":{"name":"pay"}}"#),
            "Component pay, 0.0 KiB"
        );
        assert!(describe_body(b"<html>").starts_with("**not JSON**"));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000), "1,000");
        assert_eq!(thousands(15_000_000), "15,000,000");
    }
}
